/*
 * The upload probe: not one of the contract's six stages, but run the same
 * way, by reeld when a video is uploaded (docs/worker.md "The probe").
 */
#ifndef REEL_PROBE_H
#define REEL_PROBE_H

#include "stage.h"

enum stage_result probe_run(struct stage_ctx *ctx);

#endif

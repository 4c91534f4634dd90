/*
 * The rendering stage: plan.json, grade.cube and the source video in,
 * <job_dir>/output.mp4 (H.264 + AAC, faststart), <job_dir>/contact.png and
 * the style-match report <job_dir>/report.json out
 * (docs/stages/rendering.md, docs/stages/report.md).
 *
 * Guarantees: the source's video is decoded once, front to back, seeking
 * forward only over gaps no segment needs (its audio is also read by the
 * limiter's calibration, render_peak.h); memory does not grow with the
 * length of the source or the output. Both files are written under temporary
 * names in job_dir and renamed only when both are complete (contact.png
 * first, output.mp4 last), so a failed run leaves neither a partial file
 * nor a temporary one; a killed run may leave the temporary names, which
 * the next run removes first. A missing plan, grade or source is
 * STAGE_E_NOINPUT; a truncated or damaged source, or a plan that breaks
 * the contract, STAGE_E_DATA. Prefix rendering_.
 */
#ifndef REEL_RENDERING_H
#define REEL_RENDERING_H

#include "stage.h"

#define RENDERING_OUTPUT "output.mp4"
#define RENDERING_CONTACT "contact.png"
/* Temporary names, next to the final ones. */
#define RENDERING_OUTPUT_PART ".output.mp4.part"
#define RENDERING_CONTACT_PART ".contact.png.part"

extern const struct stage_ops stage_rendering_ops;

enum stage_result rendering_run(struct stage_ctx *ctx);

#endif

/*
 * The motion_analysis stage: the global camera motion of the template and
 * the source, frame pair by frame pair on the gray motion proxy that
 * video_analysis wrote while decoding (proxy.h, motion.h); the camera
 * class of each shot that video_analysis found; and the Style DNA figures
 * motion_intensity and zoom_usage. Writes <job_dir>/motion_analysis.json
 * atomically, then deletes the proxies; the format is documented in
 * docs/stages/motion_analysis.md.
 *
 * Nothing is decoded here: frames stream from the proxy file, read by up
 * to MA_THREADS_MAX threads (the same file as both inputs is read once).
 * Memory grows only by one struct motion_sample per frame. Prefix ma_.
 */
#ifndef REEL_MOTION_ANALYSIS_H
#define REEL_MOTION_ANALYSIS_H

#include "stage.h"

#define MA_ARTIFACT "motion_analysis.json"
#define MA_VERSION 1
/* Mean image speed (frame widths per second) that makes intensity 100. */
#define MA_SPEED_FULL 0.5

extern const struct stage_ops stage_motion_analysis_ops;

enum stage_result motion_analysis_run(struct stage_ctx *ctx);

#endif

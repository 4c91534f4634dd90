/*
 * The limiter ceiling that keeps the output's true peak under the plan's
 * limit after AAC coding.
 *
 * The limiter alone is exact, but AAC coding adds quantisation noise that
 * raises the decoded true peak of loud, dense audio: by up to 3 dB with
 * FFmpeg's encoder at 128 kbit/s on pink noise driven 20 dB into the
 * limiter. So before the render, the output's audio is made once or more
 * in an audio-only pass (same timeline, gain and limiter, same encoder
 * settings), encoded, decoded again and measured with libebur128; while
 * the measured peak is over the limit less RPEAK_SAFETY_DB, the ceiling
 * drops by the excess and the pass runs again (at most RPEAK_PASSES).
 * The main pass then uses the last ceiling.
 *
 * The same passes land the loudness. The plan's gain comes from the
 * loudness of the whole source, but the output keeps only some of it (a
 * quiet half, say), and the limiter takes some off: so each pass also
 * measures the coded output's integrated loudness, and when it misses the
 * plan's target by more than RPEAK_LOUDNESS_TOL_LU, the gain moves by the
 * miss, within RPEAK_GAIN_FIX_DB of the plan's, and the pass runs again.
 * A pass demuxes only the
 * source's audio packets, seeking over gaps, so it costs a few per cent
 * of the render. Prefix rpeak_.
 */
#ifndef REEL_RENDER_PEAK_H
#define REEL_RENDER_PEAK_H

#include "render_plan.h"
#include "stage.h"

/* The first pass's ceiling sits this far under the plan's limit. */
#define RPEAK_FIRST_MARGIN_DB 0.5
/* Room for what the main pass may do differently (its seeks). */
#define RPEAK_SAFETY_DB 0.2
#define RPEAK_PASSES 4
#define RPEAK_LOUDNESS_TOL_LU 0.5
/* No more than this boost or cut on the plan's gain: audio that
 * quiet is mostly noise, and a boost would raise it. */
#define RPEAK_GAIN_FIX_DB 12.0

/*
 * Finds the ceiling for plan p's audio from stream aidx of source, whose
 * stream vidx sets the time origin, reporting progress from 0 to share,
 * and sets p->gain_db to the gain that lands p->target_lufs. *passes
 * tells how many passes ran.
 */
enum stage_result rpeak_calibrate(struct stage_ctx *ctx, struct rplan *p,
    const char *source, int vidx, int aidx, double share, double *ceiling_db,
    int *passes);

#endif

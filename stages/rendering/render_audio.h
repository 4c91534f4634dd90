/*
 * The audio of the output: the source audio of each segment laid on the
 * output timeline at exactly the instants where the video cuts (the
 * segments' frame ranges converted to samples), with the transitions'
 * fades and cross-fades, a 10 ms cross-fade at hard cuts, the plan's gain,
 * a true-peak limiter, 48 kHz stereo, to a sink (the AAC encoder, or
 * render_peak.c's probe).
 *
 * Source times are seconds from the video stream's start, so the file's
 * own A/V offset is kept. Decoded audio is placed by its timestamps: at
 * the start, after a seek, and after a jump of over RAUD_JUMP_S, else
 * sample after sample. Source audio that is missing (a shorter audio
 * track) is silence. Memory holds the overlap of one transition at most.
 * Prefix raud_.
 */
#ifndef REEL_RENDER_AUDIO_H
#define REEL_RENDER_AUDIO_H

#include <stdbool.h>

#include <libavcodec/avcodec.h>

#include "render_plan.h"
#include "stage.h"

#define RAUD_JUMP_S 0.1

/* Takes n frames of finished interleaved stereo audio. */
typedef enum stage_result (*raud_sink_fn)(void *arg, const float *x, int n);

struct raud;

/*
 * Audio for plan p, limited to ceiling_db (dBTP), into sink; from a
 * stream with time base tb whose time origin_s (in its own seconds) is
 * source time 0.
 */
enum stage_result raud_new(struct stage_ctx *ctx, const struct rplan *p,
    double ceiling_db, raud_sink_fn sink, void *arg, AVRational tb,
    double origin_s, struct raud **out);
/* Takes one decoded source frame. */
enum stage_result raud_frame(struct raud *a, const AVFrame *f);
/* The demuxer jumped: the next frame is placed by its timestamp. */
void raud_seek(struct raud *a);
/* Source time from which audio is still needed; INFINITY when none. */
double raud_next_need(const struct raud *a);
/* Source time up to which audio has arrived. */
double raud_position(const struct raud *a);
bool raud_done(const struct raud *a);
/*
 * The source ended: what was never delivered is silence, the limiter is
 * drained, and exactly the plan's number of samples has gone to the sink.
 */
enum stage_result raud_finish(struct raud *a);
/* The lowest limiter gain applied, dB (0 when it never acted). */
double raud_limited_db(const struct raud *a);
void raud_free(struct raud *a);

#endif

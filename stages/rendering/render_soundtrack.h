/*
 * The template's music as the output's soundtrack (config.soundtrack =
 * template, docs/stages/rendering.md "Soundtrack"): the template's audio
 * from its time 0 (the start of its video, as audio_analysis counts it)
 * to the output's end, at its own loudness, through the same timeline,
 * limiter and calibration as the source's audio (render_audio.h,
 * render_peak.h), fading out over the last second when the output ends
 * before the music does, and silent after the music when it ends first.
 *
 * Guarantees: the template is read front to back once (after the
 * limiter's calibration passes), interleaved with the source's video by
 * rsnd_pump(), so memory does not grow with the length. Packets the
 * decoder refuses are skipped (the template was analysed whole already).
 * Prefix rsnd_.
 */
#ifndef REEL_RENDER_SOUNDTRACK_H
#define REEL_RENDER_SOUNDTRACK_H

#include "render_audio.h"
#include "render_plan.h"
#include "stage.h"

struct rsnd;

/*
 * Opens path (the template) for plan p and calibrates the limiter,
 * reporting progress from 0 to share. Audio goes to sink once
 * rsnd_pump() runs.
 */
enum stage_result rsnd_open(struct stage_ctx *ctx, const char *path,
    const struct rplan *p, double share, raud_sink_fn sink, void *arg,
    struct rsnd **out);
/* Makes the soundtrack's output final up to output time t, s. */
enum stage_result rsnd_pump(struct rsnd *s, double t);
/* Makes the rest, to the output's end. */
enum stage_result rsnd_finish(struct rsnd *s);
void rsnd_free(struct rsnd *s);

#endif

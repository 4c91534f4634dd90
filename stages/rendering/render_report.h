/*
 * The style-match report (<job_dir>/report.json, docs/stages/report.md):
 * how close the rendered output came to the template, measured on the
 * frames and samples handed to the encoder, so it costs no second decode.
 *
 * What it measures as the render goes:
 * - colour: the output's CIELAB statistics (the same summary video_analysis
 *   makes), compared with the template's and the source's from plan.json's
 *   "reference": CIE76 and CIEDE2000 distances of the means and the L*
 *   histogram distance, before (source) and after (output);
 * - cuts: ffmpeg's scene score (the select filter's formula on the luma
 *   plane) between consecutive frames; a score over RREP_SCENE_THRESHOLD
 *   is a delivered cut. Shot lengths planned, delivered and the
 *   template's are compared as distributions;
 * - audio: integrated loudness and true peak (libebur128), and beats found
 *   by aubio's tracker, an algorithm independent of reel's own; a planned
 *   cut within RREP_BEAT_TOLERANCE_S of one is on a beat.
 * Guarantees: memory is fixed apart from the lists of cut and beat times,
 * which grow with the output's length; rrep_write() writes the file
 * atomically. Prefix rrep_.
 */
#ifndef REEL_RENDER_REPORT_H
#define REEL_RENDER_REPORT_H

#include <stdint.h>

#include <libavutil/frame.h>

#include "render_plan.h"
#include "stage.h"

#define RREP_FILE "report.json"
#define RREP_VERSION 1
/* What `ffmpeg -vf select='gt(scene,0.3)'` counts as a cut. */
#define RREP_SCENE_THRESHOLD 0.3
#define RREP_BEAT_TOLERANCE_S 0.07

struct rrep;

/* What the render's own decode of the source lost and did. */
struct rrep_decode {
	int64_t packets, bad, seeks;
};

/*
 * Starts a report for plan p, whose JSON at plan_path gives the reference
 * statistics (a plan without them gives nulls in the report).
 */
enum stage_result rrep_new(struct stage_ctx *ctx, const char *plan_path,
    const struct rplan *p, struct rrep **out);
/* Takes output frame n as it goes to the encoder. */
enum stage_result rrep_video(struct rrep *r, const AVFrame *f, int64_t n);
/* Takes n frames of interleaved stereo audio as they go to the encoder. */
enum stage_result rrep_audio(struct rrep *r, const float *x, int n);
/* Writes <job_dir>/report.json. */
enum stage_result rrep_write(struct rrep *r, const struct rrep_decode *d);
void rrep_free(struct rrep *r);

#endif

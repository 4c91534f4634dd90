/*
 * The video_analysis stage: decodes the template and the source once each
 * (the same file only once), streaming, into a 256 px planar RGB proxy
 * and a 320 px gray one; measures per-frame features for shot detection
 * (shots.h) and samples colour statistics (colour.h) ten times a second,
 * on a second thread that follows the decoding; writes each input's gray
 * frames to its motion proxy file for motion_analysis (proxy.h); then
 * writes <job_dir>/video_analysis.json atomically: geometry, frame rate,
 * shots with their transitions and CIELAB statistics, whole-video colour
 * and the motion proxy's name. The format is documented in
 * docs/stages/video_analysis.md.
 *
 * Memory grows only by one struct shot_frame per frame and one colour
 * sample per 0.1 s; frames themselves are kept in fixed rings and a queue
 * of 8, and the motion proxy streams to its file. The frame feature
 * functions below are pure, for tests. Prefix va_.
 */
#ifndef REEL_VIDEO_ANALYSIS_H
#define REEL_VIDEO_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "shots.h"
#include "stage.h"

#define VA_ARTIFACT "video_analysis.json"
#define VA_VERSION 1
/* Longer side of the analysis proxy, px. */
#define VA_PROXY_SIZE 256
/* Seconds between colour samples. */
#define VA_COLOUR_STEP 0.1

extern const struct stage_ops stage_video_analysis_ops;

enum stage_result video_analysis_run(struct stage_ctx *ctx);

/*
 * Content score: weighted mean of the mean absolute frame differences of
 * hue, saturation, value and an edge map (PySceneDetect's order), with
 * hue differences taken around the colour wheel when hue_wrap is set.
 */
struct va_score_params {
	double weights[4];
	bool hue_wrap;
};

void va_score_params_default(struct va_score_params *sp);

/* Edge thresholds never drop below these (Sobel L1 units). */
#define VA_EDGE_LOW_MIN 8
#define VA_EDGE_HIGH_MIN 16

/* Hue (0..179), saturation, value (OpenCV's 8-bit HSV) and edge planes. */
struct va_planes {
	int width, height;
	uint8_t *plane[4]; /* H, S, V, edges (0 or 255) */
	int16_t *grad;	   /* scratch for the edge detector */
	uint8_t *work;
};

/* A planar RGB picture: planes R, G and B, each with its line size. */
struct va_rgb {
	const uint8_t *p[3];
	int ls[3];
	int width, height;
};

int va_planes_alloc(struct va_planes *p, int width, int height);
void va_planes_free(struct va_planes *p);
/* Fills every plane from a picture of the planes' size. */
void va_planes_fill(struct va_planes *p, const struct va_rgb *im);
double va_content_score(const struct va_planes *a, const struct va_planes *b,
    const struct va_score_params *sp);
/* Mean, deviation and black/white shares of BT.709 luma, into f. */
void va_luma_stats(const struct va_rgb *im, struct shot_frame *f);
/* Mean R, G, B of each cell of a SHOTS_GRID_SIDE square grid. */
void va_grid(const struct va_rgb *im, float grid[SHOTS_GRID]);

/* Called with the fraction of one file decoded, 0..1. */
typedef void (*va_progress_fn)(void *arg, double fraction);

/*
 * Analyses one video file into *out, the JSON object documented for
 * "template" and "source". fn may be NULL.
 */
enum stage_result video_analysis_file(struct stage_ctx *ctx, const char *path,
    va_progress_fn fn, void *arg, json_t **out);

#endif

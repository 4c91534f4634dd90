/*
 * How visible a jump cut inside a shot would be: the "looks" of a shot.
 * A jump joins the frame just before time t to the frame k seconds later,
 * optionally with a punch-in (a centred crop of 1/z of the frame, scaled
 * up) on one side. What makes ffmpeg's scene score call it a cut is the
 * mean absolute luma difference across the join, less the difference
 * between the two frames before it (the score is the smaller of the two
 * over 100). motion_analysis measures both on the gray proxy for a grid of
 * join times, skips and scales; style_application picks, per shot, the
 * smallest change that is visible, and checks every planned jump.
 *
 * Levels are 8-bit luma levels; ffmpeg's scene score is levels / 100.
 * Pure functions on pixel buffers and arrays. Prefix looks_.
 */
#ifndef REEL_LOOKS_H
#define REEL_LOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "recut.h"

/* Join times are measured every LOOKS_STEP_S from the shot's start. */
#define LOOKS_STEP_S 0.25
/* The frame before the join's "calm" difference, s (a frame at 25 fps). */
#define LOOKS_CALM_S 0.04
/* Skips measured, s, ascending. */
#define LOOKS_NSKIPS 6
extern const double looks_skips[LOOKS_NSKIPS];
/* Scales: 1 (no punch-in) then the punch-ins, ascending. */
#define LOOKS_NZOOMS 4
extern const double looks_zooms[LOOKS_NZOOMS];
/*
 * A join is planned only when it clears this many levels on the proxy
 * (ffmpeg's cut is 30 at the output): encoding softens differences, a
 * 2x punch-in measured 40.0 and 39.5 here scored 0.336 and 0.338 after
 * x264 CRF 23 (docs/stages/style_application.md), so 36 keeps a margin.
 */
#define LOOKS_VISIBLE 36.0
/* A change is a shot's rule when this share of its join times clear it. */
#define LOOKS_SHARE 0.8
/* Cost of a punch-in of scale z, in seconds of skip: 4 (z - 1). */
#define LOOKS_ZOOM_COST_S 4.0

/*
 * The looks of one shot: npoints join times start_s + i * LOOKS_STEP_S;
 * calm[i] the difference between the join's frame and the one
 * LOOKS_CALM_S before it; diff[(i * LOOKS_NSKIPS + j) * LOOKS_NZOOMS + z]
 * the difference across a join skipping looks_skips[j] with the scale
 * looks_zooms[z] on one side (the smaller of punching in and out), NAN
 * where the skip leaves the shot.
 */
struct looks_shot {
	double start_s;
	size_t npoints;
	float *calm;
	float *diff;
};

/* A change chosen for a shot's jumps. */
struct looks_rule {
	double skip_s; /* the least skip */
	double zoom;   /* 1: whole frames only, else alternate with it */
	double share;  /* of its join times that clear LOOKS_VISIBLE */
};

/*
 * dst (dw x dh) samples the centred 1/z of src (w x h) bilinearly, every
 * pixel of dst covering (w / z) / dw of src: z 1 with dw = w / 2 takes
 * every other pixel.
 */
void looks_sample(const uint8_t *src, int w, int h, double z, uint8_t *dst,
    int dw, int dh);
/* Mean absolute difference of n bytes, levels. */
double looks_mad(const uint8_t *a, const uint8_t *b, size_t n);

/* Allocates npoints of calm and diff (diff all NAN); -1 out of memory. */
int looks_shot_init(struct looks_shot *s, double start_s, size_t npoints);
void looks_shot_free(struct looks_shot *s);

/*
 * What the scene score would see, in levels, for a jump from the frame
 * before a_s to the frame at b_s with a scale change zoom (1: none): the
 * nearest measured join time, the longest measured skip not over b_s -
 * a_s, the largest measured scale not over zoom. NAN when nothing
 * measured applies (a skip shorter than the least measured).
 */
double looks_score(const struct looks_shot *s, double a_s, double b_s,
    double zoom);
/*
 * The cheapest change (skip + LOOKS_ZOOM_COST_S (zoom - 1)) that clears
 * LOOKS_VISIBLE at LOOKS_SHARE of the join times where it was measured.
 * Returns false when none does; *r then has the best share found.
 */
bool looks_choose(const struct looks_shot *s, struct looks_rule *r);

/*
 * Makes every jump of a plan visible: inside each source shot (of shots,
 * with looks[k] for shots[k], NULL when not measured) the pieces
 * alternate between the whole frame and punch-in zoom[k] (1: none),
 * starting whole; a jump that would not clear LOOKS_VISIBLE takes a
 * larger punch-in on its punched side when one clears it on both of that
 * piece's jumps, else its two pieces become one (the skipped stretch
 * kept). Cuts between shots are left alone. Returns the pieces joined
 * (the timeline and counts are recomputed).
 */
size_t looks_verify(struct recut_plan *plan, const struct recut_shot *shots,
    const struct looks_shot *const *looks, const double *zoom,
    size_t nshots);

#endif

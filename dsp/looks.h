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

/*
 * A framing of the picture: the window 1/zoom of the frame, placed at x,
 * y in the room the zoom leaves (0 left or top, 0.5 centred, 1 right or
 * bottom), scaled up to the whole frame (plan.md's zoom, zoom_x, zoom_y).
 */
struct looks_view {
	double zoom, x, y;
};
/*
 * View 0 is the whole frame; then, for each scale 1.25, 1.5 and 2, the
 * window centred, at the left, right, top and bottom edge. An off-centre
 * punch-in moves the subject as well as enlarging it: on a figure before
 * a flat backdrop a 1.5x punch-in to the side scored 0.55, a centred 2x
 * one 0.34 (docs/stages/style_application.md).
 */
#define LOOKS_NVIEWS 16
extern const struct looks_view looks_views[LOOKS_NVIEWS];
/*
 * A join is planned only when it clears this many levels on the proxy
 * (ffmpeg's cut is 30 at the output): the grade and the encode change
 * differences, rendered jumps scored 0.77 to 0.84 of the proxy's figure
 * over 100 (docs/stages/style_application.md), so 38 gives about 0.3.
 */
#define LOOKS_VISIBLE 38.0
/* A change is a shot's rule when this share of its join times clear it. */
#define LOOKS_SHARE 0.8
/*
 * A jump that does not show where it was planned may move this far, in
 * LOOKS_STEP_S steps, its two pieces giving and taking the same time: on
 * a moving picture the change across a join comes and goes.
 */
#define LOOKS_SHIFT_S 0.5
/* A cut on a beat is where the plan put it, to the millisecond. */
#define LOOKS_BEAT_TOL_S 0.0015
/* Whole beats a jump on the beats may move, each way. */
#define LOOKS_BEAT_MOVES 2
/*
 * Cost of a punch-in of scale z, in seconds of skip: 4 (z - 1), and 0.5
 * more off-centre. A skip costs material, a punch-in sharpness.
 */
#define LOOKS_ZOOM_COST_S 4.0
#define LOOKS_OFFCENTRE_COST_S 0.5

/*
 * The looks of one shot: npoints join times start_s + i * LOOKS_STEP_S;
 * calm[i] the difference between the join's frame and the one
 * LOOKS_CALM_S before it; diff[(i * LOOKS_NSKIPS + j) * LOOKS_NVIEWS + v]
 * the difference across a join skipping looks_skips[j] with view v on one
 * side and the whole frame on the other (the smaller of the two ways
 * round), NAN where the skip leaves the shot.
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
	size_t view;   /* 0: whole frames only, else alternate with it */
	double share;  /* of its join times that clear LOOKS_VISIBLE */
};

/*
 * dst (dw x dh) holds every (w / dw)-th pixel of view v of src (w x h)
 * rendered at w x h (bilinear): a subset of the view's pixels, so that
 * the mean difference of two such samples estimates the one at w x h
 * without the texture that averaging down would smooth away.
 */
void looks_sample(const uint8_t *src, int w, int h, const struct looks_view *v,
    uint8_t *dst, int dw, int dh);
/* Mean absolute difference of n bytes, levels. */
double looks_mad(const uint8_t *a, const uint8_t *b, size_t n);

/* Allocates npoints of calm and diff (diff all NAN); -1 out of memory. */
int looks_shot_init(struct looks_shot *s, double start_s, size_t npoints);
void looks_shot_free(struct looks_shot *s);

/* The view nearest to a framing (0 for zoom 1). */
size_t looks_view_of(double zoom, double x, double y);

/*
 * What the scene score would see, in levels, for a jump from the frame
 * before a_s to the frame at b_s with view v on one side: the nearest
 * measured join time, the longest measured skip not over b_s - a_s. NAN
 * when nothing measured applies (a skip shorter than the least measured).
 */
double looks_score(
    const struct looks_shot *s, double a_s, double b_s, size_t v);
/*
 * The cheapest change (skip + the view's cost) that clears LOOKS_VISIBLE
 * at LOOKS_SHARE of the join times where it was measured. Failing that,
 * the least skip at which LOOKS_SHARE of the join times have a visible
 * jump within LOOKS_SHIFT_S with some view (looks_verify finds it), with
 * the view visible most often. Returns false when neither exists; *r then
 * has the best share found.
 */
bool looks_choose(const struct looks_shot *s, struct looks_rule *r);

/*
 * Makes every jump of a plan visible: inside each source shot (of shots,
 * with looks[k] for shots[k], NULL when not measured) the pieces
 * alternate between the whole frame and view[k] (0: whole throughout),
 * starting whole; a jump that would not clear LOOKS_VISIBLE takes, on its
 * punched side, the cheapest other view that clears it on both of that
 * piece's jumps; else a jump on the source's beats (beats, ascending;
 * NULL, 0 without music) moves by whole beats within LOOKS_SHIFT_S, both
 * sides together, and stays on the beat; else it moves by up to
 * LOOKS_SHIFT_S, nearest first, as far as min_len_s and the shot allow (a
 * cut so moved is off the beat);
 * else its two pieces become one (the skipped stretch kept). Cuts
 * between shots are left alone. Returns the pieces joined (the timeline
 * and counts are recomputed).
 */
size_t looks_verify(struct recut_plan *plan, const struct recut_shot *shots,
    const struct looks_shot *const *looks, const size_t *view, size_t nshots,
    const double *beats, size_t nbeats);

#endif

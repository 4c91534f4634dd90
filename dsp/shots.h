/*
 * Shot boundaries from per-frame features (media-algorithms.md 2.1, 2.4):
 * hard cuts by an adaptive content detector in the manner of PySceneDetect's
 * AdaptiveDetector with flash suppression and a minimum shot length; fades
 * through black or white from the mean-luma ramps around a run of dark (or
 * bright) frames; dissolves from a linear-blend test on thumbnails and a
 * projection of coarse block means onto the line between the two shots.
 *
 * Pure functions: no I/O and no libav. The caller (video_analysis.c) fills
 * one struct shot_frame per decoded frame; everything here works on that
 * array, so tests can feed synthetic series. Prefix shots_.
 */
#ifndef REEL_SHOTS_H
#define REEL_SHOTS_H

#include <stdbool.h>
#include <stddef.h>

/* Block means: a 4 x 4 grid of the frame, R, G and B each (0..255). */
#define SHOTS_GRID_SIDE 4
#define SHOTS_GRID (SHOTS_GRID_SIDE * SHOTS_GRID_SIDE * 3)
/*
 * Content scores against frames t-2 .. t-7: flashes of up to 6 frames
 * (0.125 s is 3 frames at 25 or 30 fps, 6 at 50 or 60).
 */
#define SHOTS_SKIPS 6
/* Half-widths, in frames, of the linear-blend test (shots_scales). */
#define SHOTS_SCALES 11

extern const int shots_scales[SHOTS_SCALES];

/*
 * The features of one frame. Unavailable values (no earlier frame, a scale
 * reaching past either end of the video) are negative.
 */
struct shot_frame {
	double t; /* seconds, strictly increasing */
	/* Content score against the previous frame (0 for the first). */
	float score;
	/* skip[k]: content score against frame t - (k + 2). */
	float skip[SHOTS_SKIPS];
	float luma;	/* mean luma, full range 0..255 */
	float luma_std; /* its standard deviation */
	float black;	/* fraction of pixels at or below 10% luma */
	float white;	/* fraction of pixels at or above 90% luma */
	float grid[SHOTS_GRID];
	/*
	 * Linear-blend test at half-width h = shots_scales[k], on thumbnails:
	 * lin_dist = mean |F(t-h) - F(t+h)|, lin_res = mean |F(t) -
	 * (F(t-h) + F(t+h)) / 2|. A cross-fade through t gives res << dist.
	 */
	float lin_dist[SHOTS_SCALES];
	float lin_res[SHOTS_SCALES];
	/*
	 * Correlation of the luma of F(t-h) and F(t+h), floored at 0 (0 too
	 * when either is flat): near 1 when both ends show one scene, so a
	 * smooth change between them is light, not a dissolve.
	 */
	float lin_same[SHOTS_SCALES];
};

enum shot_kind {
	SHOT_NONE = 0, /* the first shot has no transition in */
	SHOT_CUT,
	SHOT_FADE,
	SHOT_DISSOLVE,
};

enum shot_easing {
	SHOT_EASE_NONE = 0, /* cuts */
	SHOT_EASE_LINEAR,
	SHOT_EASE_IN,
	SHOT_EASE_OUT,
	SHOT_EASE_IN_OUT,
};

/*
 * A boundary between two shots. at is the first frame of the new shot.
 * start is the last frame showing only the old shot and end the first
 * showing only the new one (both equal to at for a cut); the transition
 * lasts t[end] - t[start].
 */
struct shot_transition {
	enum shot_kind kind;
	size_t at;
	size_t start;
	size_t end;
	enum shot_easing easing;
	bool white;	 /* a fade through white rather than black */
	double strength; /* cut: content score; else the change it made */
};

struct shots_params {
	/* Hard cuts (2.1). */
	double adaptive_threshold; /* score / mean of the window around it */
	int window;		   /* frames each side in that mean */
	double min_content;	   /* smallest content score of a cut */
	double min_shot_s;	   /* shortest shot */
	double flash_max_s;	   /* longest flash (and SHOTS_SKIPS frames) */
	double flash_ratio;	   /* same shot after the flash: score below */
	/* Fades (2.4). */
	double dark_fraction; /* share of pixels at <= 10% (>= 90%) luma */
	double dark_luma;     /* or a mean luma within this of the end */
	double ramp_step;     /* luma change per frame that still ramps */
	int ramp_min;	      /* frames of ramp on at least one side */
	double ramp_depth;    /* luma the ramp must cover */
	/* Dissolves (2.4). */
	double dissolve_min_s;
	double dissolve_max_s;
	double lin_min_dist;  /* thumbnail distance that counts as a change */
	double lin_max_ratio; /* res / dist below this is a blend */
	double grid_min_rms;  /* block-mean change between the two shots */
	double same_max;      /* lin_same at or above this: one scene */
	double straightness;  /* chord / path of block means, 0..1 */
};

void shots_params_default(struct shots_params *p);

/* Median interval between frames, s; 0 with fewer than two frames. */
double shots_frame_interval(const struct shot_frame *f, size_t n);
/*
 * AdaptiveDetector's ratio at frame i: its score over the mean score of
 * the window frames either side, capped at 255 (255 when that mean is 0
 * and the score reaches min_content).
 */
double shots_adaptive_ratio(const struct shot_frame *f, size_t n, size_t i,
    const struct shots_params *p);
/*
 * True when frame i enters or leaves a flash: a burst of 1..SHOTS_SKIPS
 * frames lasting at most flash_max_s, after which the shot goes on.
 */
bool shots_is_flash(const struct shot_frame *f, size_t n, size_t i,
    const struct shots_params *p);
/*
 * Frames that pass the adaptive test and are not flashes, in order, into
 * out (room for n). No minimum shot length yet: shots_detect applies it.
 */
size_t shots_cut_candidates(const struct shot_frame *f, size_t n,
    const struct shots_params *p, size_t *out);
/* Fades through black or white, in order of at; at most max. */
size_t shots_fades(const struct shot_frame *f, size_t n,
    const struct shots_params *p, struct shot_transition *out, size_t max);
/* Dissolves, in order of at; at most max. */
size_t shots_dissolves(const struct shot_frame *f, size_t n,
    const struct shots_params *p, struct shot_transition *out, size_t max);
/*
 * Which curve a progress series a(t) (a rising within 0..1, t increasing)
 * follows best: linear, ease-in (u^2), ease-out, ease-in-out (smoothstep).
 * The ends need not reach 0 and 1: each curve is fitted over the stretch
 * between a's first and last values, so trimmed transitions classify
 * right. A curve must beat the straight line clearly (30% less squared
 * error) to be chosen.
 */
enum shot_easing shots_easing(const double *t, const double *a, size_t n);
/*
 * All boundaries in order: gradual transitions first (a fade wins over a
 * dissolve it overlaps), then the cuts that fall outside them and leave
 * every shot at least min_shot_s long. *out is allocated (free() it) and
 * may be NULL when *count is 0. Returns -1 only when out of memory.
 */
int shots_detect(const struct shot_frame *f, size_t n,
    const struct shots_params *p, struct shot_transition **out, size_t *count);

/*
 * Where the picture starts: the first frame after an opening on flat
 * black or white and after the fade up out of it (luma still moving away
 * from the flat end by more than ramp_step a frame, for at most
 * SHOTS_OPENING_FADE_MAX_S); frame 0 when the video opens on its picture
 * or is flat throughout. Re-cut from inside the opening, the output would
 * start with a cut out of black or a flash of the fade.
 */
#define SHOTS_OPENING_FADE_MAX_S 1.0
size_t shots_picture_start(
    const struct shot_frame *f, size_t n, const struct shots_params *p);

const char *shots_kind_name(enum shot_kind kind);
const char *shots_easing_name(enum shot_easing easing);

#endif

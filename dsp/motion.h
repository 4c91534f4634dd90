/*
 * Global camera motion between consecutive gray proxy frames, and the
 * camera class of a shot (media-algorithms.md 6). Pure functions on pixel
 * buffers and arrays: no libav, no I/O.
 *
 * Conventions: coordinates are proxy pixels with y down, measured from the
 * frame centre. A fitted motion_model describes how the picture content
 * moved from the earlier frame to the later one: a point u goes to
 * u + [a -b; b a] u + t. A motion_sample turns that into what the camera
 * did: panning right (tx > 0) moves the content left, zooming in (vz > 0)
 * magnifies it, and rolling clockwise (vr > 0) turns it counter-clockwise.
 *
 * Guarantees: results are deterministic (the random sampling has a fixed
 * seed); an estimator's memory is fixed when it is made; pushing a frame
 * never fails. Prefix motion_.
 */
#ifndef REEL_MOTION_H
#define REEL_MOTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pyramid depth: the coarsest level is searched +-8 px, i.e. +-32 px. */
#define MOTION_LEVELS_MAX 3
/* A block vector is an inlier when the model predicts it this well, px. */
#define MOTION_INLIER_PX 1.0
/* A pair is reliable with at least this many inlier blocks... */
#define MOTION_MIN_INLIERS 8
/* ...making at least this share of the textured blocks... */
#define MOTION_MIN_INLIER_SHARE 0.4
/*
 * ...whose mean absolute difference after matching is at most this (gray
 * levels per pixel): two different pictures (a cut) match far worse.
 */
#define MOTION_MAX_MATCH_ERR 20.0

/*
 * Camera classification thresholds. Speeds are in frame widths per second
 * (fw/s) on both axes, zoom in natural-log scale per second.
 */
#define MOTION_PAN_MIN 0.04	   /* sustained pan or tilt, fw/s */
#define MOTION_ZOOM_MIN 0.03	   /* sustained zoom, ln scale / s */
#define MOTION_SHAKE_MIN 0.003	   /* handheld jitter, RMS in fw */
#define MOTION_SMOOTH_S 0.5	   /* half the jitter low-pass window */
#define MOTION_SEGMENT_S 0.5	   /* sustain test segments */
#define MOTION_SUSTAINED_SHARE 0.5 /* share of segments that must agree */
#define MOTION_MIN_RELIABLE_S 0.2  /* less measured time: class unknown */

/* A block's displacement from the earlier frame to the later one. */
struct motion_vec {
	double x, y;   /* block centre, px from the frame centre */
	double dx, dy; /* displacement of the content, px */
	double weight; /* confidence, > 0 */
	bool inlier;   /* set by motion_fit() */
};

/* Content displacement d(u) = [a -b; b a] u + t, u from the centre. */
struct motion_model {
	double a, b, tx, ty;
};

struct motion_fit {
	struct motion_model m;
	size_t n, inliers;
	double inlier_share; /* weighted share of the n vectors */
	double rms;	     /* residual RMS of the inliers, px */
};

/*
 * Fits the similarity model to n vectors robustly: RANSAC on two-point
 * samples (MSAC cost), least squares on the consensus, then Huber IRLS.
 * Marks v[i].inlier (residual <= thresh px). Returns 0, or -1 when fewer
 * than 3 vectors or no non-degenerate sample exist.
 */
int motion_fit(
    struct motion_vec *v, size_t n, double thresh, struct motion_fit *out);
/* Magnification (> 1: content grows) and rotation (rad, clockwise). */
double motion_scale(const struct motion_model *m);
double motion_angle(const struct motion_model *m);
/* Mean displacement length over a width x height frame, px. */
double motion_mean_disp(const struct motion_model *m, int width, int height);

/* The motion between two consecutive frames. */
struct motion_pair {
	struct motion_fit fit; /* at proxy resolution; zero when failed */
	size_t blocks;	       /* blocks on the finest level */
	size_t textured;       /* of which had texture and a match */
	double match_err;      /* mean abs difference of inliers, levels */
	double mean_disp;      /* mean displacement over the frame, px */
	bool reliable;	       /* the fit describes camera motion */
};

struct motion_est;

/* Frames smaller than this on either side cannot be measured, px. */
#define MOTION_MIN_SIDE 18

/* An estimator for frames of this size; NULL when too small or no memory. */
struct motion_est *motion_est_new(int width, int height);
void motion_est_free(struct motion_est *e);
/*
 * Feeds the next gray frame. Returns 0 for the first frame, else 1 with
 * the motion from the previous frame to this one in *out.
 */
int motion_est_push(struct motion_est *e, const uint8_t *gray, int linesize,
    struct motion_pair *out);

/* One frame pair in camera terms, per second. */
struct motion_sample {
	double t, dt; /* start of the pair and its length, s */
	float vx, vy; /* camera translation, frame widths / s */
	float vz;     /* zoom rate, d ln(scale) / dt; > 0 zooming in */
	float vr;     /* camera roll, rad / s, > 0 clockwise */
	float speed;  /* mean image motion, frame widths / s */
	bool reliable;
};

/* Converts a pair measured on a proxy width px wide. */
void motion_sample_of(const struct motion_pair *p, int width, double t,
    double dt, struct motion_sample *out);

enum motion_camera {
	MOTION_UNKNOWN,
	MOTION_STATIC,
	MOTION_PAN,
	MOTION_TILT,
	MOTION_ZOOM,
	MOTION_HANDHELD,
};

const char *motion_camera_name(enum motion_camera c);

/* What a shot's camera did; means are over its reliable time. */
struct motion_shot {
	enum motion_camera camera;
	double vx, vy, vz, vr; /* mean velocities, as in motion_sample */
	double speed;	       /* mean image motion, fw / s */
	double shake;	       /* RMS of the trajectory above ~1 Hz, fw */
	double reliable_s;     /* seconds of reliable pairs */
	double duration_s;     /* seconds of all pairs */
};

/*
 * Classifies the n samples of one shot (in time order). Returns 0, or -1
 * when out of memory.
 */
int motion_classify(
    const struct motion_sample *s, size_t n, struct motion_shot *out);

#endif

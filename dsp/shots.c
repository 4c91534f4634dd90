/*
 * Shot boundary detection on per-frame feature arrays (see shots.h).
 *
 * Order of decisions: fades first (a run of dark or bright frames with a
 * luma ramp on at least one side), then dissolves (a linear blend between
 * two steady states, checked on thumbnails and on block means), then hard
 * cuts outside those intervals. Cuts come from the adaptive ratio (of the
 * scores, or of the block-mean steps, which grain does not move), lose
 * flashes (the frame after a burst of up to flash_max_s matches the one
 * before it)
 * and then a minimum shot length, the earlier cut winning. Every function
 * is deterministic; only shots_detect() and shots_frame_interval()
 * allocate, and both free what they take.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shots.h"

const int shots_scales[SHOTS_SCALES] = {2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64};

/* Largest half-width of a projection window (the last scale). */
#define SHOTS_MAX_HALF 64
/* Progress along a dissolve counts as "still the old/new shot" here. */
#define SHOTS_A_LO 0.03
#define SHOTS_A_HI 0.97
/* Around a dissolve, progress may move this fraction of its rate... */
#define SHOTS_PLATEAU_RATE 0.25
/* ...and block means change at this fraction of its speed. */
#define SHOTS_MOTION_RATE 0.9
/* Points used to classify easing; longer ramps are subsampled. */
#define SHOTS_EASE_POINTS 64

static int shots_cmp_double(const void *a, const void *b);
static bool shots_dark(
    const struct shot_frame *f, const struct shots_params *p, bool white);
static double shots_toward(
    const struct shot_frame *f, size_t from, size_t to, bool white);
static size_t shots_opening_end(const struct shot_frame *f, size_t n,
    const struct shots_params *p, bool white);
static double shots_ease_model(enum shot_easing e, double u);
static double shots_ease_inverse(enum shot_easing e, double a);
static double shots_ease_sse(
    enum shot_easing e, const double *t, const double *a, size_t n);
static enum shot_easing shots_ramp_easing(
    const struct shot_frame *f, size_t s, size_t e);
static bool shots_fade_at(const struct shot_frame *f, size_t n,
    const struct shots_params *p, size_t b0, size_t b1, bool white,
    struct shot_transition *tr);
static size_t shots_fades_of(const struct shot_frame *f, size_t n,
    const struct shots_params *p, bool white, struct shot_transition *out,
    size_t max);
static double shots_score_of(const struct shot_frame *f, size_t j);
static double shots_window_mean(const struct shot_frame *f, size_t n, size_t i,
    const struct shots_params *p,
    double (*value)(const struct shot_frame *, size_t));
static double shots_grid_step(const struct shot_frame *f, size_t i);
static double shots_grid_ratio(const struct shot_frame *f, size_t n, size_t i,
    const struct shots_params *p);
static bool shots_blend_evidence(
    const struct shot_frame *f, const struct shots_params *p, int hmax);
static double shots_grid_dist(
    const struct shot_frame *a, const struct shot_frame *b);
static bool shots_project(
    const struct shot_frame *f, size_t lo, size_t hi, double *a);
static double shots_mean_step(
    const struct shot_frame *f, size_t from, size_t to);
static bool shots_plateaus(const struct shot_frame *f, size_t lo,
    const double *a, size_t s, size_t e, size_t w);
static bool shots_dissolve_shape(const struct shot_frame *f,
    const struct shots_params *p, size_t s, size_t e);
static void shots_dissolve_extend(const struct shot_frame *f, size_t lo,
    const double *a, enum shot_easing easing, size_t *s, size_t *e, size_t w);
static void shots_dissolve_fill(const struct shot_frame *f, size_t lo,
    const double *a, size_t s, size_t e, size_t w, struct shot_transition *tr);
static bool shots_dissolve_window(const struct shot_frame *f, size_t n,
    const struct shots_params *p, size_t c, int k, struct shot_transition *tr);
static bool shots_dissolve_at(const struct shot_frame *f, size_t n,
    const struct shots_params *p, size_t c, struct shot_transition *tr);
static int shots_cmp_at(const void *a, const void *b);
static size_t shots_merge_gradual(
    struct shot_transition *g, size_t nf, size_t nd);
static bool shots_early_cut_alone(const struct shot_frame *f,
    const struct shots_params *p, const size_t *cuts, size_t nc, size_t ci);
static bool shots_cut_allowed(const struct shot_frame *f,
    const struct shots_params *p, const size_t *cuts, size_t nc, size_t ci,
    size_t prev, const struct shot_transition *next);
static size_t shots_assemble(const struct shot_frame *f,
    const struct shots_params *p, const struct shot_transition *g, size_t ng,
    const size_t *cuts, size_t nc, struct shot_transition *out);

void
shots_params_default(struct shots_params *p)
{
	memset(p, 0, sizeof(*p));
	p->adaptive_threshold = 3.0;
	p->window = 2;
	p->min_content = 15.0;
	p->min_shot_s = 0.6;
	p->flash_max_s = 0.125;
	p->flash_ratio = 0.33;
	p->dark_fraction = 0.98;
	p->dark_luma = 12.0;
	p->ramp_step = 0.5;
	p->ramp_min = 3;
	p->ramp_depth = 16.0;
	p->dissolve_min_s = 0.12;
	p->dissolve_max_s = 2.5;
	p->lin_min_dist = 10.0;
	p->lin_max_ratio = 0.25;
	p->grid_min_rms = 6.0;
	p->straightness = 0.7;
	p->same_max = 0.9;
}

static int
shots_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
shots_frame_interval(const struct shot_frame *f, size_t n)
{
	double *d, m;
	size_t i;

	if (n < 2)
		return 0.0;
	d = malloc((n - 1) * sizeof(*d));
	/* Without memory, the mean interval is the next best thing. */
	if (d == NULL)
		return (f[n - 1].t - f[0].t) / (double)(n - 1);
	for (i = 0; i + 1 < n; i++)
		d[i] = f[i + 1].t - f[i].t;
	qsort(d, n - 1, sizeof(*d), shots_cmp_double);
	m = d[(n - 1) / 2];
	free(d);
	return m;
}

/* Frame j's content score, for shots_window_mean(). */
static double
shots_score_of(const struct shot_frame *f, size_t j)
{
	return f[j].score;
}

/*
 * The mean of value() over the window frames either side of frame i
 * (frame 0 has no step into it); -1 when fewer than window of them exist.
 */
static double
shots_window_mean(const struct shot_frame *f, size_t n, size_t i,
    const struct shots_params *p,
    double (*value)(const struct shot_frame *, size_t))
{
	double sum = 0.0;
	size_t j, lo, hi;
	int count = 0;

	lo = i > (size_t)p->window ? i - (size_t)p->window : 1;
	hi = i + (size_t)p->window < n ? i + (size_t)p->window : n - 1;
	for (j = lo; j <= hi; j++) {
		if (j != i) {
			sum += value(f, j);
			count++;
		}
	}
	return count < p->window ? -1.0 : sum / count;
}

double
shots_adaptive_ratio(const struct shot_frame *f, size_t n, size_t i,
    const struct shots_params *p)
{
	double avg = shots_window_mean(f, n, i, p, shots_score_of);

	if (avg < 0.0)
		return 0.0;
	if (avg < 1e-5)
		return f[i].score >= p->min_content ? 255.0 : 0.0;
	return fmin(f[i].score / avg, 255.0);
}

bool
shots_is_flash(const struct shot_frame *f, size_t n, size_t i,
    const struct shots_params *p)
{
	double limit = p->flash_ratio * f[i].score;
	size_t len;
	float s;

	for (len = 1; len <= SHOTS_SKIPS; len++) {
		/* i enters the flash: frame i + len is back to frame i - 1. */
		if (i + len < n && f[i + len].t - f[i].t <= p->flash_max_s) {
			s = f[i + len].skip[len - 1];
			if (s >= 0.0f && s < limit)
				return true;
		}
		/* i leaves the flash: frame i matches frame i - len - 1. */
		if (i >= len && f[i].t - f[i - len].t <= p->flash_max_s) {
			s = f[i].skip[len - 1];
			if (s >= 0.0f && s < limit)
				return true;
		}
	}
	return false;
}

/* RMS change of the block means from frame i - 1 to frame i. */
static double
shots_grid_step(const struct shot_frame *f, size_t i)
{
	return shots_grid_dist(&f[i - 1], &f[i]) / sqrt((double)SHOTS_GRID);
}

/*
 * The adaptive ratio of the block-mean steps at frame i, over the window
 * of shots_adaptive_ratio(); 0 when the step is below grid_min_rms. Block
 * means average zero-mean grain away, so this ratio stays high at a cut
 * into a grainy shot, where the score ratio drops because the new shot's
 * own high scores fill half the window.
 */
static double
shots_grid_ratio(const struct shot_frame *f, size_t n, size_t i,
    const struct shots_params *p)
{
	double step = shots_grid_step(f, i), avg;

	if (step < p->grid_min_rms)
		return 0.0;
	avg = shots_window_mean(f, n, i, p, shots_grid_step);
	if (avg < 0.0)
		return 0.0;
	return avg < 1e-5 ? 255.0 : fmin(step / avg, 255.0);
}

size_t
shots_cut_candidates(const struct shot_frame *f, size_t n,
    const struct shots_params *p, size_t *out)
{
	size_t i, k = 0;

	for (i = 1; i < n; i++) {
		if (f[i].score < p->min_content)
			continue;
		if (shots_adaptive_ratio(f, n, i, p) < p->adaptive_threshold &&
		    shots_grid_ratio(f, n, i, p) < p->adaptive_threshold)
			continue;
		if (shots_is_flash(f, n, i, p))
			continue;
		out[k++] = i;
	}
	return k;
}

static bool
shots_dark(const struct shot_frame *f, const struct shots_params *p, bool white)
{
	if (white)
		return f->white >= p->dark_fraction ||
		       f->luma >= 255.0 - p->dark_luma;
	return f->black >= p->dark_fraction || f->luma <= p->dark_luma;
}

/* Luma change from frame from to frame to, positive towards the dark end. */
static double
shots_toward(const struct shot_frame *f, size_t from, size_t to, bool white)
{
	double d = f[from].luma - f[to].luma;

	return white ? -d : d;
}

static double
shots_ease_model(enum shot_easing e, double u)
{
	switch (e) {
	case SHOT_EASE_IN:
		return u * u;
	case SHOT_EASE_OUT:
		return 1.0 - (1.0 - u) * (1.0 - u);
	case SHOT_EASE_IN_OUT:
		return u * u * (3.0 - 2.0 * u);
	default:
		return u;
	}
}

/* The u in 0..1 where curve e reaches a (curves are increasing). */
static double
shots_ease_inverse(enum shot_easing e, double a)
{
	double lo = 0.0, hi = 1.0, mid;
	int i;

	for (i = 0; i < 40; i++) {
		mid = (lo + hi) / 2.0;
		if (shots_ease_model(e, mid) < a)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2.0;
}

/* Squared error of a(t) against the part of curve e between a's ends. */
static double
shots_ease_sse(enum shot_easing e, const double *t, const double *a, size_t n)
{
	double u0 = shots_ease_inverse(e, a[0]);
	double u1 = shots_ease_inverse(e, a[n - 1]);
	double span = t[n - 1] - t[0], sse = 0.0, u, d;
	size_t i;

	for (i = 0; i < n; i++) {
		u = u0 + (t[i] - t[0]) / span * (u1 - u0);
		d = a[i] - shots_ease_model(e, u);
		sse += d * d;
	}
	return sse;
}

enum shot_easing
shots_easing(const double *t, const double *a, size_t n)
{
	enum shot_easing e, pick = SHOT_EASE_LINEAR;
	double best, sse;

	if (n < 3 || t[n - 1] <= t[0] || a[n - 1] <= a[0])
		return SHOT_EASE_LINEAR;
	best = 0.7 * shots_ease_sse(SHOT_EASE_LINEAR, t, a, n);
	for (e = SHOT_EASE_IN; e <= SHOT_EASE_IN_OUT; e++) {
		sse = shots_ease_sse(e, t, a, n);
		if (sse < best) {
			best = sse;
			pick = e;
		}
	}
	return pick;
}

/* Easing of the luma ramp from frame s to frame e (either direction). */
static enum shot_easing
shots_ramp_easing(const struct shot_frame *f, size_t s, size_t e)
{
	double u[SHOTS_EASE_POINTS], a[SHOTS_EASE_POINTS];
	double span = f[e].t - f[s].t, depth = f[e].luma - f[s].luma;
	size_t i, k, m = e - s + 1;

	if (m > SHOTS_EASE_POINTS)
		m = SHOTS_EASE_POINTS;
	if (span <= 0.0 || depth == 0.0 || m < 3)
		return SHOT_EASE_LINEAR;
	for (i = 0; i < m; i++) {
		k = s + i * (e - s) / (m - 1);
		u[i] = (f[k].t - f[s].t) / span;
		a[i] = (f[k].luma - f[s].luma) / depth;
	}
	return shots_easing(u, a, m);
}

/* A fade around the dark run b0..b1, which touches neither end. */
static bool
shots_fade_at(const struct shot_frame *f, size_t n,
    const struct shots_params *p, size_t b0, size_t b1, bool white,
    struct shot_transition *tr)
{
	size_t s = b0, e = b1;
	bool out_ok, in_ok;

	while (s > 0 && shots_toward(f, s - 1, s, white) > p->ramp_step)
		s--;
	while (e + 1 < n && shots_toward(f, e + 1, e, white) > p->ramp_step)
		e++;
	out_ok = b0 - s >= (size_t)p->ramp_min &&
		 fabs(f[s].luma - f[b0].luma) >= p->ramp_depth;
	in_ok = e - b1 >= (size_t)p->ramp_min &&
		fabs(f[e].luma - f[b1].luma) >= p->ramp_depth;
	if (!out_ok && !in_ok)
		return false;
	memset(tr, 0, sizeof(*tr));
	tr->kind = SHOT_FADE;
	tr->white = white;
	tr->start = s < b0 - 1 ? s : b0 - 1;
	tr->end = e > b1 + 1 ? e : b1 + 1;
	/* Like dissolves, the boundary is the middle of the interval. */
	tr->at = (tr->start + tr->end + 1) / 2;
	tr->strength =
	    fmax(fabs(f[s].luma - f[b0].luma), fabs(f[e].luma - f[b1].luma));
	tr->easing = b0 - s >= e - b1 ? shots_ramp_easing(f, s, b0)
				      : shots_ramp_easing(f, b1, e);
	return true;
}

static size_t
shots_fades_of(const struct shot_frame *f, size_t n,
    const struct shots_params *p, bool white, struct shot_transition *out,
    size_t max)
{
	size_t i = 0, b0, count = 0;

	while (i < n && count < max) {
		if (!shots_dark(&f[i], p, white)) {
			i++;
			continue;
		}
		b0 = i;
		while (i < n && shots_dark(&f[i], p, white))
			i++;
		/* A dark run at either end opens or closes the video. */
		if (b0 == 0 || i == n)
			continue;
		if (shots_fade_at(f, n, p, b0, i - 1, white, &out[count]))
			count++;
	}
	return count;
}

size_t
shots_fades(const struct shot_frame *f, size_t n, const struct shots_params *p,
    struct shot_transition *out, size_t max)
{
	size_t count;

	count = shots_fades_of(f, n, p, false, out, max);
	count += shots_fades_of(f, n, p, true, out + count, max - count);
	qsort(out, count, sizeof(*out), shots_cmp_at);
	return count;
}

static bool
shots_blend_evidence(
    const struct shot_frame *f, const struct shots_params *p, int hmax)
{
	int k;

	for (k = 0; k < SHOTS_SCALES && shots_scales[k] <= hmax; k++) {
		if (f->lin_dist[k] >= p->lin_min_dist &&
		    f->lin_res[k] >= 0.0f &&
		    f->lin_res[k] <= p->lin_max_ratio * f->lin_dist[k])
			return true;
	}
	return false;
}

/* Euclidean distance between two frames' block means. */
static double
shots_grid_dist(const struct shot_frame *a, const struct shot_frame *b)
{
	double d, sum = 0.0;
	int k;

	for (k = 0; k < SHOTS_GRID; k++) {
		d = (double)b->grid[k] - a->grid[k];
		sum += d * d;
	}
	return sqrt(sum);
}

/*
 * Progress a(t) of frames lo..hi along the line from lo's block means to
 * hi's (0 at lo, 1 at hi): for a cross-fade it is the mixing weight.
 */
static bool
shots_project(const struct shot_frame *f, size_t lo, size_t hi, double *a)
{
	double d[SHOTS_GRID], dd = 0.0, dot;
	size_t t;
	int k;

	for (k = 0; k < SHOTS_GRID; k++) {
		d[k] = (double)f[hi].grid[k] - f[lo].grid[k];
		dd += d[k] * d[k];
	}
	if (dd <= 0.0)
		return false;
	for (t = lo; t <= hi; t++) {
		dot = 0.0;
		for (k = 0; k < SHOTS_GRID; k++)
			dot += ((double)f[t].grid[k] - f[lo].grid[k]) * d[k];
		a[t - lo] = dot / dd;
	}
	return true;
}

/* Mean block-mean step of frames from..to (from < to). */
static double
shots_mean_step(const struct shot_frame *f, size_t from, size_t to)
{
	double sum = 0.0;
	size_t i;

	for (i = from + 1; i <= to; i++)
		sum += shots_grid_dist(&f[i - 1], &f[i]);
	return sum / (double)(to - from);
}

/*
 * Frames lo..lo+s and lo+e..lo+w (a[] indices s, e, w) must be two steady
 * shots around the blend: along the line from one to the other they stand
 * nearly still, and overall they change more slowly than the blend does.
 * One long motion fails one or the other: along a straight path progress
 * keeps moving, and on a curved one every step outruns the chord.
 */
static bool
shots_plateaus(const struct shot_frame *f, size_t lo, const double *a, size_t s,
    size_t e, size_t w)
{
	double rate = (a[e] - a[s]) / (double)(e - s), left = 0.0, right = 0.0,
	       speed;
	size_t i;

	if (s < 2 || w - e < 2 || rate <= 0.0)
		return false;
	for (i = 1; i <= s; i++)
		left += fabs(a[i] - a[i - 1]);
	for (i = e + 1; i <= w; i++)
		right += fabs(a[i] - a[i - 1]);
	if (left / (double)s > SHOTS_PLATEAU_RATE * rate ||
	    right / (double)(w - e) > SHOTS_PLATEAU_RATE * rate)
		return false;
	speed = shots_grid_dist(&f[lo + s], &f[lo + e]) / (double)(e - s);
	return shots_mean_step(f, lo, lo + s) < SHOTS_MOTION_RATE * speed &&
	       shots_mean_step(f, lo + e, lo + w) < SHOTS_MOTION_RATE * speed;
}

/* The blend from frame s to frame e: long enough, big, straight, even. */
static bool
shots_dissolve_shape(const struct shot_frame *f, const struct shots_params *p,
    size_t s, size_t e)
{
	double span = f[e].t - f[s].t, chord, path = 0.0, step, big = 0.0;
	size_t t;

	if (e - s < 3 || span < p->dissolve_min_s || span > p->dissolve_max_s)
		return false;
	/* A dark or bright end is a fade's business. */
	if (shots_dark(&f[s], p, false) || shots_dark(&f[e], p, false) ||
	    shots_dark(&f[s], p, true) || shots_dark(&f[e], p, true))
		return false;
	chord = shots_grid_dist(&f[s], &f[e]);
	if (chord / sqrt((double)SHOTS_GRID) < p->grid_min_rms)
		return false;
	for (t = s + 1; t <= e; t++) {
		step = shots_grid_dist(&f[t - 1], &f[t]);
		path += step;
		big = fmax(big, step);
	}
	/* One step carrying half the change is a cut, not a blend. */
	return chord >= p->straightness * path && big <= 0.5 * chord;
}

/*
 * The thresholds cut the slow ends of an eased blend short: each end moves
 * out one frame at a time while the fitted curve reaches 0 (or 1) at least
 * three quarters of the way to that frame, staying inside the window
 * 0..w. Linear blends keep their ends, where the gap is noise.
 */
static void
shots_dissolve_extend(const struct shot_frame *f, size_t lo, const double *a,
    enum shot_easing easing, size_t *s, size_t *e, size_t w)
{
	double u0 = shots_ease_inverse(easing, a[*s]);
	double u1 = shots_ease_inverse(easing, a[*e]);
	double span = (f[lo + *e].t - f[lo + *s].t) / (u1 - u0);
	double t0 = f[lo + *s].t - u0 * span;
	double t1 = f[lo + *e].t + (1.0 - u1) * span;

	while (*s > 0 && t0 <= 0.75 * f[lo + *s - 1].t + 0.25 * f[lo + *s].t)
		(*s)--;
	while (*e < w && t1 >= 0.75 * f[lo + *e + 1].t + 0.25 * f[lo + *e].t)
		(*e)++;
}

/* Fills tr for the blend from lo+s to lo+e, progress a[] from lo. */
static void
shots_dissolve_fill(const struct shot_frame *f, size_t lo, const double *a,
    size_t s, size_t e, size_t w, struct shot_transition *tr)
{
	double t[SHOTS_EASE_POINTS], v[SHOTS_EASE_POINTS];
	size_t i, k,
	    m = e - s + 1 < SHOTS_EASE_POINTS ? e - s + 1 : SHOTS_EASE_POINTS;

	for (i = 0; i < m; i++) {
		k = s + i * (e - s) / (m - 1);
		t[i] = f[lo + k].t;
		v[i] = a[k];
	}
	memset(tr, 0, sizeof(*tr));
	tr->kind = SHOT_DISSOLVE;
	tr->easing = shots_easing(t, v, m);
	tr->strength =
	    shots_grid_dist(&f[lo + s], &f[lo + e]) / sqrt((double)SHOTS_GRID);
	if (tr->easing != SHOT_EASE_LINEAR)
		shots_dissolve_extend(f, lo, a, tr->easing, &s, &e, w);
	tr->start = lo + s;
	tr->end = lo + e;
	tr->at = (tr->start + tr->end + 1) / 2;
}

/*
 * The window of half-width shots_scales[sk] around c: both ends must show
 * different scenes, progress must cross from 0 to 1 inside it with still
 * stretches either side, and the frames between must look like a blend.
 */
static bool
shots_dissolve_window(const struct shot_frame *f, size_t n,
    const struct shots_params *p, size_t c, int sk, struct shot_transition *tr)
{
	double a[2 * SHOTS_MAX_HALF + 1];
	size_t h = (size_t)shots_scales[sk], lo = c - h, s = h, e = h;

	if (c < h || c + h >= n || f[c].lin_same[sk] >= p->same_max ||
	    !shots_project(f, lo, c + h, a))
		return false;
	if (a[h] <= SHOTS_A_LO || a[h] >= SHOTS_A_HI)
		return false;
	while (s > 0 && a[s] > SHOTS_A_LO)
		s--;
	while (e < 2 * h && a[e] < SHOTS_A_HI)
		e++;
	if (!shots_plateaus(f, lo, a, s, e, 2 * h) ||
	    !shots_dissolve_shape(f, p, lo + s, lo + e))
		return false;
	shots_dissolve_fill(f, lo, a, s, e, 2 * h, tr);
	return true;
}

/* Tries windows from narrow to wide until one frames the whole blend. */
static bool
shots_dissolve_at(const struct shot_frame *f, size_t n,
    const struct shots_params *p, size_t c, struct shot_transition *tr)
{
	int k;

	for (k = 0; k < SHOTS_SCALES; k++) {
		if (shots_dissolve_window(f, n, p, c, k, tr))
			return true;
	}
	return false;
}

size_t
shots_dissolves(const struct shot_frame *f, size_t n,
    const struct shots_params *p, struct shot_transition *out, size_t max)
{
	double dt = shots_frame_interval(f, n);
	size_t i = 0, r0, count = 0, next;
	int hmax;

	if (dt <= 0.0)
		return 0;
	hmax = (int)lround(p->dissolve_max_s / dt / 2.0);
	hmax = hmax < 2 ? 2 : hmax;
	while (i < n && count < max) {
		if (!shots_blend_evidence(&f[i], p, hmax)) {
			i++;
			continue;
		}
		r0 = i;
		while (i < n && shots_blend_evidence(&f[i], p, hmax))
			i++;
		next = i;
		if (shots_dissolve_at(f, n, p, (r0 + i - 1) / 2, &out[count])) {
			if (out[count].end + 1 > next)
				next = out[count].end + 1;
			count++;
		}
		i = next;
	}
	return count;
}

static int
shots_cmp_at(const void *a, const void *b)
{
	const struct shot_transition *x = a, *y = b;

	return (x->at > y->at) - (x->at < y->at);
}

/*
 * Fades g[0..nf) and dissolves g[nf..nf+nd), each in order, into one
 * ordered list without overlaps: a fade overlapping an earlier fade goes,
 * and a dissolve overlapping any fade goes (the fade explains it better).
 */
static size_t
shots_merge_gradual(struct shot_transition *g, size_t nf, size_t nd)
{
	size_t i, k = 0, fi = 0, kf;

	for (i = 0; i < nf; i++) {
		if (k == 0 || g[i].start > g[k - 1].end)
			g[k++] = g[i];
	}
	kf = k;
	for (i = nf; i < nf + nd; i++) {
		while (fi < kf && g[fi].end < g[i].start)
			fi++;
		if (fi < kf && g[fi].start <= g[i].end)
			continue;
		g[k++] = g[i];
	}
	qsort(g, k, sizeof(*g), shots_cmp_at);
	return k;
}

/*
 * A clip cut from a longer programme opens inside a shot, so its first
 * shot may be short. The start is no event of the flash filter, but a
 * flash is two candidates close together: an early cut must stand alone,
 * no other candidate within min_shot_s on either side, and the video must
 * not open on black or white.
 */
static bool
shots_early_cut_alone(const struct shot_frame *f, const struct shots_params *p,
    const size_t *cuts, size_t nc, size_t ci)
{
	double t = f[cuts[ci]].t;

	/* Out of a black (or white) opening is no cut: the picture starts. */
	if (shots_dark(&f[0], p, false) || shots_dark(&f[0], p, true))
		return false;
	return (ci == 0 || t - f[cuts[ci - 1]].t >= p->min_shot_s) &&
	       (ci + 1 == nc || f[cuts[ci + 1]].t - t >= p->min_shot_s);
}

/*
 * A cut at cuts[ci] must stay clear of gradual transitions (by the
 * detector's window) and leave min_shot_s to the previous boundary prev
 * (the start, prev 0, only when it is not alone) and to the next gradual
 * one.
 */
static bool
shots_cut_allowed(const struct shot_frame *f, const struct shots_params *p,
    const size_t *cuts, size_t nc, size_t ci, size_t prev,
    const struct shot_transition *next)
{
	size_t w = (size_t)p->window, i = cuts[ci];

	if (f[i].t - f[prev].t < p->min_shot_s &&
	    (prev > 0 || !shots_early_cut_alone(f, p, cuts, nc, ci)))
		return false;
	if (next == NULL)
		return true;
	if (i + w >= next->start && i <= next->end + w)
		return false;
	return f[next->at].t - f[i].t >= p->min_shot_s;
}

static size_t
shots_assemble(const struct shot_frame *f, const struct shots_params *p,
    const struct shot_transition *g, size_t ng, const size_t *cuts, size_t nc,
    struct shot_transition *out)
{
	size_t gi = 0, ci, k = 0, prev = 0, w = (size_t)p->window;

	for (ci = 0; ci < nc; ci++) {
		while (gi < ng && g[gi].at <= cuts[ci]) {
			out[k++] = g[gi];
			prev = g[gi++].at;
		}
		/* Still inside the gradual transition just passed. */
		if (k > 0 && out[k - 1].kind != SHOT_CUT &&
		    cuts[ci] <= out[k - 1].end + w)
			continue;
		if (!shots_cut_allowed(
			f, p, cuts, nc, ci, prev, gi < ng ? &g[gi] : NULL))
			continue;
		memset(&out[k], 0, sizeof(out[k]));
		out[k].kind = SHOT_CUT;
		out[k].at = out[k].start = out[k].end = cuts[ci];
		out[k].strength = f[cuts[ci]].score;
		prev = out[k++].at;
	}
	while (gi < ng)
		out[k++] = g[gi++];
	return k;
}

int
shots_detect(const struct shot_frame *f, size_t n, const struct shots_params *p,
    struct shot_transition **out, size_t *count)
{
	struct shot_transition *g = NULL, *all = NULL;
	size_t *cuts = NULL, nf, nd, ng, nc;

	*out = NULL;
	*count = 0;
	if (n < 2)
		return 0;
	g = calloc(n, sizeof(*g));
	all = calloc(n, sizeof(*all));
	cuts = calloc(n, sizeof(*cuts));
	if (g == NULL || all == NULL || cuts == NULL) {
		free(g);
		free(all);
		free(cuts);
		return -1;
	}
	nf = shots_fades(f, n, p, g, n);
	nd = shots_dissolves(f, n, p, g + nf, n - nf);
	ng = shots_merge_gradual(g, nf, nd);
	nc = shots_cut_candidates(f, n, p, cuts);
	*count = shots_assemble(f, p, g, ng, cuts, nc, all);
	free(g);
	free(cuts);
	*out = all;
	return 0;
}

static size_t
shots_opening_end(const struct shot_frame *f, size_t n,
    const struct shots_params *p, bool white)
{
	size_t i = 0;

	while (i < n && shots_dark(&f[i], p, white))
		i++;
	return i;
}

size_t
shots_picture_start(
    const struct shot_frame *f, size_t n, const struct shots_params *p)
{
	size_t black = shots_opening_end(f, n, p, false);
	size_t white = shots_opening_end(f, n, p, true);
	bool from_white = white > black;
	size_t i = from_white ? white : black;
	double limit;

	if (i == 0 || i == n)
		return 0;
	limit = f[i].t + SHOTS_OPENING_FADE_MAX_S;
	while (i + 1 < n && f[i + 1].t <= limit &&
	       shots_toward(f, i + 1, i, from_white) > p->ramp_step)
		i++;
	return i;
}

const char *
shots_kind_name(enum shot_kind kind)
{
	switch (kind) {
	case SHOT_CUT:
		return "cut";
	case SHOT_FADE:
		return "fade";
	case SHOT_DISSOLVE:
		return "dissolve";
	default:
		return "none";
	}
}

const char *
shots_easing_name(enum shot_easing easing)
{
	switch (easing) {
	case SHOT_EASE_LINEAR:
		return "linear";
	case SHOT_EASE_IN:
		return "ease-in";
	case SHOT_EASE_OUT:
		return "ease-out";
	case SHOT_EASE_IN_OUT:
		return "ease-in-out";
	default:
		return "none";
	}
}

/*
 * Tests for dsp/shots.c on synthetic per-frame feature series: 25 fps
 * frames with a small deterministic noise floor, shots as constant block
 * means, cuts as score spikes, fades as luma ramps around dark runs and
 * dissolves as linear (or eased) blends of block means. The blend-test
 * features are computed from the block means the way video_analysis.c
 * computes them from thumbnails. Every expectation is exact or within a
 * frame, so a detector change that moves a boundary fails here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "shots.h"

#define FPS 25.0

static struct shots_params P;

/* Deterministic noise in [-1, 1]. */
static double
noise(size_t i, int salt)
{
	unsigned x = (unsigned)(i * 2654435761u) ^ (unsigned)(salt * 40503);

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return (double)(x % 2001) / 1000.0 - 1.0;
}

/* A shot's block means: a pattern that differs per id. */
static void
pattern(int id, float grid[SHOTS_GRID])
{
	int k;

	for (k = 0; k < SHOTS_GRID; k++)
		grid[k] =
		    (float)(40.0 +
			    170.0 * (0.5 + 0.5 * sin(k * 0.7 + id * 2.3)));
}

/* n frames of one steady shot (id 0) with a low noisy content score. */
static struct shot_frame *
frames_new(size_t n)
{
	struct shot_frame *f = calloc(n, sizeof(*f));
	size_t i;
	int k;

	ck_assert_ptr_nonnull(f);
	for (i = 0; i < n; i++) {
		f[i].t = i / FPS;
		f[i].score = i == 0 ? 0.0f : (float)(3.0 + noise(i, 1));
		for (k = 0; k < SHOTS_SKIPS; k++)
			f[i].skip[k] = i >= (size_t)k + 2
					   ? (float)(4.0 + noise(i, 2 + k))
					   : -1.0f;
		f[i].luma = 120.0f;
		f[i].luma_std = 50.0f;
		pattern(0, f[i].grid);
		for (k = 0; k < SHOTS_SCALES; k++)
			f[i].lin_dist[k] = f[i].lin_res[k] = f[i].lin_same[k] =
			    -1.0f;
	}
	return f;
}

/* Frames from..n-1 show shot id, entered by a hard cut at from. */
static void
cut_to(struct shot_frame *f, size_t n, size_t from, int id)
{
	size_t i;
	int k;

	for (i = from; i < n; i++)
		pattern(id, f[i].grid);
	f[from].score = 60.0f;
	/* Frames just after the cut differ from those just before it. */
	for (i = from; i < from + SHOTS_SKIPS + 1 && i < n; i++)
		for (k = 0; k < SHOTS_SKIPS; k++)
			if (i < from + (size_t)k + 2)
				f[i].skip[k] = 60.0f;
}

/* The blend-test features, from block means instead of thumbnails. */
static void
blend_features(struct shot_frame *f, size_t n)
{
	double d, r, sa, sb, saa, sbb, sab, va, vb, cov, m = SHOTS_GRID;
	size_t c, h;
	int k, j;

	for (c = 0; c < n; c++) {
		for (k = 0; k < SHOTS_SCALES; k++) {
			h = (size_t)shots_scales[k];
			if (c < h || c + h >= n)
				continue;
			d = r = sa = sb = saa = sbb = sab = 0.0;
			for (j = 0; j < SHOTS_GRID; j++) {
				double a = f[c - h].grid[j],
				       b = f[c + h].grid[j], x = f[c].grid[j];
				d += fabs(a - b);
				r += fabs(x - (a + b) / 2.0);
				sa += a;
				sb += b;
				saa += a * a;
				sbb += b * b;
				sab += a * b;
			}
			va = saa / m - (sa / m) * (sa / m);
			vb = sbb / m - (sb / m) * (sb / m);
			cov = sab / m - (sa / m) * (sb / m);
			f[c].lin_dist[k] = (float)(d / m);
			f[c].lin_res[k] = (float)(r / m);
			f[c].lin_same[k] = va < 1.0 || vb < 1.0 || cov <= 0.0
					       ? 0.0f
					       : (float)(cov / sqrt(va * vb));
		}
	}
}

/* Shot a blends into shot b over frames s..e with progress curve. */
static void
blend(struct shot_frame *f, size_t n, size_t s, size_t e, int a, int b,
    double (*curve)(double))
{
	float ga[SHOTS_GRID], gb[SHOTS_GRID];
	double w;
	size_t i;
	int k;

	pattern(a, ga);
	pattern(b, gb);
	for (i = s; i < n; i++) {
		w = i >= e ? 1.0 : curve((double)(i - s) / (double)(e - s));
		for (k = 0; k < SHOTS_GRID; k++)
			f[i].grid[k] = (float)((1.0 - w) * ga[k] + w * gb[k] +
					       0.3 * noise(i, 100 + k));
		if (i > s && i <= e)
			f[i].score = 8.0f;
	}
}

static double
linear(double u)
{
	return u;
}

static double
smooth(double u)
{
	return u * u * (3.0 - 2.0 * u);
}

static void
detect(const struct shot_frame *f, size_t n, struct shot_transition **tr,
    size_t *count)
{
	ck_assert_int_eq(shots_detect(f, n, &P, tr, count), 0);
}

static void
setup(void)
{
	shots_params_default(&P);
}

START_TEST(test_frame_interval_median)
{
	struct shot_frame f[6];
	double t[6] = {0.0, 0.04, 0.08, 0.16, 0.20, 0.24};
	int i;

	memset(f, 0, sizeof(f));
	for (i = 0; i < 6; i++)
		f[i].t = t[i];
	/* Five intervals, one doubled by a dropped frame: median 0.04. */
	ck_assert_double_eq_tol(shots_frame_interval(f, 6), 0.04, 1e-9);
	ck_assert_double_eq(shots_frame_interval(f, 1), 0.0);
}
END_TEST

START_TEST(test_adaptive_ratio)
{
	struct shot_frame *f = frames_new(20);
	size_t i;

	f[10].score = 40.0f;
	ck_assert_double_gt(shots_adaptive_ratio(f, 20, 10, &P), 9.0);
	ck_assert_double_lt(shots_adaptive_ratio(f, 20, 9, &P), 3.0);
	/* A still picture: any change at all is infinitely unusual. */
	for (i = 1; i < 20; i++)
		f[i].score = 0.0f;
	f[10].score = 20.0f;
	ck_assert_double_eq(shots_adaptive_ratio(f, 20, 10, &P), 255.0);
	f[10].score = 10.0f;
	ck_assert_double_eq(shots_adaptive_ratio(f, 20, 10, &P), 0.0);
	free(f);
}
END_TEST

/*
 * From frame `from` on, temporal grain: every frame scores about 35
 * against any earlier one, while the block means move by 1-2 levels.
 */
static void
grain_from(struct shot_frame *f, size_t n, size_t from)
{
	size_t i;
	int k;

	for (i = from; i < n; i++) {
		f[i].score = (float)(35.0 + 3.0 * noise(i, 30));
		for (k = 0; k < SHOTS_SKIPS; k++)
			f[i].skip[k] = (float)(35.0 + 3.0 * noise(i, 31 + k));
		for (k = 0; k < SHOTS_GRID; k++)
			f[i].grid[k] += (float)(noise(i, 200 + k));
	}
}

/*
 * A cut into a grainy shot scores under 3x the mean of its window, half
 * of which is grain; the block means still jump, so it is a cut. Grain
 * switching on over the same picture is not.
 */
START_TEST(test_cut_into_grain)
{
	const size_t n = 120;
	struct shot_frame *f = frames_new(n);
	struct shot_transition *tr;
	size_t count;

	cut_to(f, n, 60, 1);
	grain_from(f, n, 61);
	f[60].score = 45.0f;
	ck_assert_double_lt(shots_adaptive_ratio(f, n, 60, &P), 3.0);
	detect(f, n, &tr, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(tr[0].kind, SHOT_CUT);
	ck_assert_uint_eq(tr[0].at, 60);
	free(tr);
	free(f);

	f = frames_new(n);
	grain_from(f, n, 60);
	f[60].score = 45.0f;
	detect(f, n, &tr, &count);
	ck_assert_uint_eq(count, 0);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_known_cuts)
{
	const size_t n = 400, truth[] = {40, 95, 150, 262, 330};
	struct shot_frame *f = frames_new(n);
	struct shot_transition *tr;
	size_t count, i;

	for (i = 0; i < 5; i++)
		cut_to(f, n, truth[i], (int)i + 1);
	detect(f, n, &tr, &count);
	ck_assert_uint_eq(count, 5);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(tr[i].kind, SHOT_CUT);
		ck_assert_uint_eq(tr[i].at, truth[i]);
		ck_assert_uint_eq(tr[i].start, truth[i]);
		ck_assert_uint_eq(tr[i].end, truth[i]);
	}
	free(tr);
	free(f);
}
END_TEST

/* Detects on f (200 frames, then freed): the cuts are at want[0..n-1]. */
static void
expect_cuts(struct shot_frame *f, const size_t *want, size_t n)
{
	struct shot_transition *tr;
	size_t count, i;

	detect(f, 200, &tr, &count);
	ck_assert_uint_eq(count, n);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(tr[i].at, want[i]);
	free(tr);
	free(f);
}

START_TEST(test_min_shot_length)
{
	static const size_t early[] = {10, 60}, later[] = {60};
	struct shot_frame *f = frames_new(200);

	/*
	 * 0.4 s after the start, alone: a clip that opens inside a shot.
	 * Then 8 frames = 0.32 s apart: the second cut would make a short
	 * shot.
	 */
	cut_to(f, 200, 10, 3);
	cut_to(f, 200, 60, 1);
	cut_to(f, 200, 68, 2);
	expect_cuts(f, early, 2);
	/* Out of two black frames: the picture starts, no cut. */
	f = frames_new(200);
	f[0].black = f[1].black = 1.0f;
	f[0].luma = f[1].luma = 0.0f;
	cut_to(f, 200, 2, 3);
	cut_to(f, 200, 60, 1);
	expect_cuts(f, later, 1);
	/* A flash in the first 0.6 s is two candidates: neither is a cut. */
	f = frames_new(200);
	cut_to(f, 200, 4, 3);
	cut_to(f, 200, 8, 0);
	cut_to(f, 200, 60, 1);
	expect_cuts(f, later, 1);
}
END_TEST

/*
 * Frames s..s+len-1 are a white burst inside one shot: scores jump into and
 * out of it, scores across it (before against after) stay low, and scores
 * between a burst frame and a shot frame are high.
 */
static void
flash(struct shot_frame *f, size_t n, size_t s, size_t len)
{
	size_t i, j;
	bool in_i, in_j;
	int k;

	for (i = s; i < n && i <= s + len + SHOTS_SKIPS; i++) {
		f[i].score = i > s && i < s + len ? 0.5f : f[i].score;
		for (k = 0; k < SHOTS_SKIPS && i >= (size_t)k + 2; k++) {
			j = i - (size_t)k - 2;
			in_i = i >= s && i < s + len;
			in_j = j >= s && j < s + len;
			if (in_i != in_j)
				f[i].skip[k] = 80.0f;
		}
	}
	f[s].score = 80.0f;
	f[s + len].score = 80.0f;
}

START_TEST(test_flash_is_not_a_cut)
{
	struct shot_frame *f;
	struct shot_transition *tr;
	size_t count, len;

	for (len = 1; len <= 3; len++) {
		f = frames_new(120);
		flash(f, 120, 50, len);
		ck_assert(shots_is_flash(f, 120, 50, &P));
		ck_assert(shots_is_flash(f, 120, 50 + len, &P));
		detect(f, 120, &tr, &count);
		ck_assert_msg(
		    count == 0, "%zu-frame flash gave %zu cuts", len, count);
		free(tr);
		free(f);
	}
	/* The same burst with a different shot after it: a real cut. */
	f = frames_new(120);
	flash(f, 120, 50, 3);
	cut_to(f, 120, 53, 4);
	detect(f, 120, &tr, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(tr[0].kind, SHOT_CUT);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_flash_is_timed_not_counted)
{
	struct shot_frame *f = frames_new(300);
	struct shot_transition *tr;
	size_t count, i;

	/* At 60 fps a 5-frame flash lasts 83 ms: still a flash. */
	for (i = 0; i < 300; i++)
		f[i].t = i / 60.0;
	flash(f, 300, 100, 5);
	detect(f, 300, &tr, &count);
	ck_assert_uint_eq(count, 0);
	free(tr);
	/* At 25 fps the same 5 frames last 0.2 s: no longer a flash. */
	for (i = 0; i < 300; i++)
		f[i].t = i / FPS;
	ck_assert(!shots_is_flash(f, 300, 100, &P));
	ck_assert(!shots_is_flash(f, 300, 105, &P));
	free(f);
}
END_TEST

START_TEST(test_fast_pan_has_no_cut)
{
	struct shot_frame *f = frames_new(100);
	struct shot_transition *tr;
	size_t count, i;

	/* High, steady scores: every frame differs, none stands out. */
	for (i = 1; i < 100; i++)
		f[i].score = (float)(45.0 + 6.0 * noise(i, 9));
	detect(f, 100, &tr, &count);
	ck_assert_uint_eq(count, 0);
	free(tr);
	free(f);
}
END_TEST

/* A ramp of len frames from luma a to luma b, starting at frame s. */
static void
ramp(struct shot_frame *f, size_t s, size_t len, double a, double b)
{
	size_t i;

	for (i = 0; i <= len; i++)
		f[s + i].luma = (float)(a + (b - a) * (double)i / (double)len);
}

static void
dark(struct shot_frame *f, size_t s, size_t e, bool white)
{
	size_t i;

	for (i = s; i <= e; i++) {
		f[i].luma = white ? 250.0f : 3.0f;
		f[i].black = white ? 0.0f : 1.0f;
		f[i].white = white ? 1.0f : 0.0f;
		/* Dark frames make HSV noisy: spikes the fade must absorb. */
		f[i].score = 40.0f;
	}
}

START_TEST(test_fade_through_black)
{
	struct shot_frame *f = frames_new(200);
	struct shot_transition *tr;
	size_t count;

	/* Fade out over frames 60..72, black 72..74, fade in 74..86. */
	ramp(f, 60, 12, 120.0, 3.0);
	dark(f, 72, 74, false);
	ramp(f, 74, 12, 3.0, 120.0);
	cut_to(f, 200, 73, 1);
	dark(f, 72, 74, false);
	detect(f, 200, &tr, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(tr[0].kind, SHOT_FADE);
	ck_assert(!tr[0].white);
	ck_assert_uint_eq(tr[0].start, 60);
	ck_assert_uint_eq(tr[0].end, 86);
	ck_assert_uint_eq(tr[0].at, 73);
	ck_assert_int_eq(tr[0].easing, SHOT_EASE_LINEAR);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_fade_through_white_one_sided)
{
	struct shot_frame *f = frames_new(200);
	struct shot_transition *tr;
	size_t count;

	/* Fade up to white over 20 frames, then a hard cut out of it. */
	ramp(f, 80, 20, 120.0, 250.0);
	dark(f, 100, 103, true);
	cut_to(f, 200, 104, 2);
	detect(f, 200, &tr, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(tr[0].kind, SHOT_FADE);
	ck_assert(tr[0].white);
	ck_assert_uint_eq(tr[0].start, 80);
	ck_assert_uint_eq(tr[0].end, 104);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_black_ends_are_not_transitions)
{
	struct shot_frame *f = frames_new(200);
	struct shot_transition *tr;
	size_t count;

	/* Opens on black and fades in; fades out to black at the end. */
	dark(f, 0, 9, false);
	ramp(f, 9, 12, 3.0, 120.0);
	ramp(f, 170, 15, 120.0, 3.0);
	dark(f, 185, 199, false);
	detect(f, 200, &tr, &count);
	ck_assert_uint_eq(count, 0);
	free(tr);
	free(f);
}
END_TEST

/*
 * The picture starts after an opening on black or white and the fade up
 * out of it, at most SHOTS_OPENING_FADE_MAX_S into the fade; at frame 0
 * when the video opens on its picture or shows nothing else.
 */
START_TEST(test_picture_start_after_the_fade_up)
{
	struct shot_frame *f = frames_new(200);
	size_t cap = (size_t)(SHOTS_OPENING_FADE_MAX_S * FPS);

	ck_assert_uint_eq(shots_picture_start(f, 200, &P), 0);
	dark(f, 0, 9, false);
	ck_assert_uint_eq(shots_picture_start(f, 200, &P), 10);
	ramp(f, 9, 12, 3.0, 120.0);
	ck_assert_uint_eq(shots_picture_start(f, 200, &P), 21);
	/* A slow fade: frame 16 is the first over dark_luma (12.2). */
	ramp(f, 9, 150, 3.0, 200.0);
	ck_assert_uint_eq(shots_picture_start(f, 200, &P), 16 + cap);
	free(f);
	f = frames_new(200);
	dark(f, 0, 5, true);
	ramp(f, 5, 10, 250.0, 120.0);
	ck_assert_uint_eq(shots_picture_start(f, 200, &P), 15);
	dark(f, 0, 199, false);
	ck_assert_uint_eq(shots_picture_start(f, 200, &P), 0);
	free(f);
}
END_TEST

START_TEST(test_dip_without_ramp_is_cuts)
{
	struct shot_frame *f = frames_new(200);
	struct shot_transition *tr;
	size_t count, i;

	/* Cut to 20 frames of black and cut out again: two cuts. */
	cut_to(f, 200, 60, 1);
	dark(f, 60, 79, false);
	for (i = 61; i < 80; i++)
		f[i].score = 0.5f;
	cut_to(f, 200, 80, 2);
	detect(f, 200, &tr, &count);
	ck_assert_uint_eq(count, 2);
	ck_assert_int_eq(tr[0].kind, SHOT_CUT);
	ck_assert_int_eq(tr[1].kind, SHOT_CUT);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_dissolve_linear)
{
	struct shot_frame *f = frames_new(250);
	struct shot_transition *tr;
	size_t count;

	blend(f, 250, 100, 125, 0, 1, linear);
	blend_features(f, 250);
	detect(f, 250, &tr, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(tr[0].kind, SHOT_DISSOLVE);
	ck_assert_uint_le(tr[0].start, 101);
	ck_assert_uint_ge(tr[0].start, 99);
	ck_assert_uint_le(tr[0].end, 126);
	ck_assert_uint_ge(tr[0].end, 124);
	ck_assert_uint_eq(tr[0].at, (tr[0].start + tr[0].end + 1) / 2);
	ck_assert_int_eq(tr[0].easing, SHOT_EASE_LINEAR);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_dissolve_eased)
{
	struct shot_frame *f = frames_new(250);
	struct shot_transition *tr;
	size_t count;

	/* 1.6 s smoothstep cross-fade. */
	blend(f, 250, 80, 120, 0, 3, smooth);
	blend_features(f, 250);
	detect(f, 250, &tr, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(tr[0].kind, SHOT_DISSOLVE);
	ck_assert_int_eq(tr[0].easing, SHOT_EASE_IN_OUT);
	/* Eased ends are slow: allow three frames at each. */
	ck_assert_uint_le(tr[0].start, 83);
	ck_assert_uint_ge(tr[0].end, 117);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_motion_is_not_a_dissolve)
{
	struct shot_frame *f = frames_new(250);
	struct shot_transition *tr;
	size_t count, i;
	int k;

	/* Block means drifting like a pan over a varied scene. */
	for (i = 0; i < 250; i++)
		for (k = 0; k < SHOTS_GRID; k++)
			f[i].grid[k] =
			    (float)(128.0 +
				    90.0 * sin(k * 0.9 + (double)i * 0.15));
	blend_features(f, 250);
	detect(f, 250, &tr, &count);
	ck_assert_uint_eq(count, 0);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_lighting_change_is_not_a_dissolve)
{
	struct shot_frame *f = frames_new(250);
	struct shot_transition *tr;
	size_t count, i;
	double w;
	int k;

	/* One scene brightening by a third over 1.2 s. */
	for (i = 100; i < 250; i++) {
		w = i >= 130 ? 1.0 : (double)(i - 100) / 30.0;
		for (k = 0; k < SHOTS_GRID; k++)
			f[i].grid[k] = (float)(f[0].grid[k] * (1.0 + w / 3.0));
	}
	blend_features(f, 250);
	detect(f, 250, &tr, &count);
	ck_assert_uint_eq(count, 0);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_easing_classes)
{
	double u[21], a[4][21];
	int i;

	for (i = 0; i <= 20; i++) {
		u[i] = i / 20.0;
		a[0][i] = u[i];
		a[1][i] = u[i] * u[i];
		a[2][i] = 1.0 - (1.0 - u[i]) * (1.0 - u[i]);
		a[3][i] = smooth(u[i]);
	}
	ck_assert_int_eq(shots_easing(u, a[0], 21), SHOT_EASE_LINEAR);
	ck_assert_int_eq(shots_easing(u, a[1], 21), SHOT_EASE_IN);
	ck_assert_int_eq(shots_easing(u, a[2], 21), SHOT_EASE_OUT);
	ck_assert_int_eq(shots_easing(u, a[3], 21), SHOT_EASE_IN_OUT);
	ck_assert_int_eq(shots_easing(u, a[3], 2), SHOT_EASE_LINEAR);
	ck_assert_str_eq(shots_easing_name(SHOT_EASE_IN_OUT), "ease-in-out");
	ck_assert_str_eq(shots_kind_name(SHOT_DISSOLVE), "dissolve");
	ck_assert_str_eq(shots_kind_name(SHOT_NONE), "none");
}
END_TEST

START_TEST(test_mixed_sequence_in_order)
{
	const size_t n = 500;
	struct shot_frame *f = frames_new(n);
	struct shot_transition *tr;
	size_t count;

	cut_to(f, n, 60, 1);
	blend(f, n, 150, 175, 1, 2, linear);
	ramp(f, 280, 10, 120.0, 3.0);
	dark(f, 290, 292, false);
	ramp(f, 292, 10, 3.0, 120.0);
	cut_to(f, n, 291, 3);
	dark(f, 290, 292, false);
	cut_to(f, n, 400, 4);
	blend_features(f, n);
	detect(f, n, &tr, &count);
	ck_assert_uint_eq(count, 4);
	ck_assert_int_eq(tr[0].kind, SHOT_CUT);
	ck_assert_uint_eq(tr[0].at, 60);
	ck_assert_int_eq(tr[1].kind, SHOT_DISSOLVE);
	ck_assert_int_eq(tr[2].kind, SHOT_FADE);
	ck_assert_uint_eq(tr[2].start, 280);
	ck_assert_uint_eq(tr[2].end, 302);
	ck_assert_int_eq(tr[3].kind, SHOT_CUT);
	ck_assert_uint_eq(tr[3].at, 400);
	free(tr);
	free(f);
}
END_TEST

START_TEST(test_short_input)
{
	struct shot_frame *f = frames_new(1);
	struct shot_transition *tr = NULL;
	size_t count = 7;

	detect(f, 1, &tr, &count);
	ck_assert_uint_eq(count, 0);
	ck_assert_ptr_null(tr);
	free(f);
}
END_TEST

static Suite *
dsp_shots_suite(void)
{
	Suite *s = suite_create("dsp_shots");
	TCase *tc = tcase_create("cuts");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_frame_interval_median);
	tcase_add_test(tc, test_adaptive_ratio);
	tcase_add_test(tc, test_known_cuts);
	tcase_add_test(tc, test_cut_into_grain);
	tcase_add_test(tc, test_min_shot_length);
	tcase_add_test(tc, test_flash_is_not_a_cut);
	tcase_add_test(tc, test_flash_is_timed_not_counted);
	tcase_add_test(tc, test_fast_pan_has_no_cut);
	tcase_add_test(tc, test_short_input);
	suite_add_tcase(s, tc);
	tc = tcase_create("gradual");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_fade_through_black);
	tcase_add_test(tc, test_fade_through_white_one_sided);
	tcase_add_test(tc, test_black_ends_are_not_transitions);
	tcase_add_test(tc, test_picture_start_after_the_fade_up);
	tcase_add_test(tc, test_dip_without_ramp_is_cuts);
	tcase_add_test(tc, test_dissolve_linear);
	tcase_add_test(tc, test_dissolve_eased);
	tcase_add_test(tc, test_motion_is_not_a_dissolve);
	tcase_add_test(tc, test_lighting_change_is_not_a_dissolve);
	tcase_add_test(tc, test_easing_classes);
	tcase_add_test(tc, test_mixed_sequence_in_order);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dsp_shots_suite)

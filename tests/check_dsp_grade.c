/*
 * Tests for dsp/grade.c on synthetic pictures, measured with dsp/colour.c
 * as video_analysis measures frames: the colour transfer's LUT is the
 * identity for equal statistics; graded through the LUT (trilinear, 8-bit
 * like a decoded frame), a picture's mean CIELAB moves to another grade's
 * (the CIE76 distance falls by 70 % or more, to under 2); the strength
 * blends linearly between
 * no change and the full transfer; the color_grade measurements read 0
 * for the references and take the sign of each cast and of contrast,
 * shadows and highlights, staying in range; pooled statistics are those
 * of the mixture; greys stay neutral between neutral grades, the grey ramp
 * stays monotone without bands, a skin tone unclipped. The .cube file the stage
 * writes is tested in check_stage_style.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "colour.h"
#include "grade.h"

#define N33 (GRADE_LUT_SIZE * GRADE_LUT_SIZE * GRADE_LUT_SIZE)

/* CIE76: the Euclidean distance of two CIELAB colours. */
static double
dist3(const double a[3], const double b[3])
{
	return hypot(hypot(a[0] - b[0], a[1] - b[1]), a[2] - b[2]);
}

/* Statistics of a packed RGB24 image, measured as video_analysis does. */
static void
stats_of(const uint8_t *rgb, int w, int h, struct grade_stats *s)
{
	struct colour_frame f;
	struct colour_acc acc;
	int i;

	ck_assert_int_eq(colour_frame_measure(rgb, w, h, w * 3, 1, &f), 0);
	colour_acc_init(&acc);
	colour_acc_add(&acc, &f);
	memset(s, 0, sizeof(*s));
	colour_acc_mean(&acc, s->mean);
	colour_acc_std(&acc, s->std);
	for (i = 0; i < GRADE_PCT_N; i++)
		s->pct[i] = colour_acc_percentile(&acc, grade_pct_levels[i]);
	s->chroma = colour_acc_chroma(&acc);
	s->saturation = colour_acc_saturation(&acc);
	s->nhist = 64;
	ck_assert_int_eq(colour_acc_hist(&acc, s->hist, 64), 0);
}

/*
 * A test picture: smooth gradients with saturated patches, so it has
 * both natural-looking ramps and colours on the gamut surface. gain and
 * lift grade it (per channel multiply, then add).
 */
static uint8_t *
picture(int w, int h, const double gain[3], const double lift[3], int seed)
{
	uint8_t *p = calloc((size_t)w * h, 3);
	double v[3];
	int x, y, c;

	ck_assert_ptr_nonnull(p);
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++) {
			v[0] = 0.5 + 0.45 * sin(0.05 * x + seed);
			v[1] = (double)y / h;
			v[2] = 0.5 + 0.45 * cos(0.07 * (x + y) + 2 * seed);
			if ((x / 20 + y / 15 + seed) % 5 == 0) {
				v[0] = (x / 20) % 2;
				v[1] = (y / 15) % 2;
				v[2] = 1.0 - v[0];
			}
			for (c = 0; c < 3; c++) {
				v[c] = v[c] * gain[c] + lift[c];
				v[c] = v[c] < 0 ? 0 : v[c] > 1 ? 1 : v[c];
				p[((size_t)y * w + x) * 3 + c] =
				    (uint8_t)lround(v[c] * 255.0);
			}
		}
	}
	return p;
}

/* Trilinear lookup in a LUT laid out red fastest. */
static void
lut_apply(const float *lut, int n, const double in[3], double out[3])
{
	double f[3], w;
	int i0[3], c, k, d, idx;

	for (c = 0; c < 3; c++) {
		f[c] = in[c] * (n - 1);
		i0[c] = (int)f[c] >= n - 1 ? n - 2 : (int)f[c];
		f[c] -= i0[c];
	}
	out[0] = out[1] = out[2] = 0.0;
	for (k = 0; k < 8; k++) {
		w = 1.0;
		idx = 0;
		for (d = 2; d >= 0; d--) {
			int bit = (k >> d) & 1;

			w *= bit ? f[d] : 1.0 - f[d];
			idx = idx * n + i0[d] + bit;
		}
		for (c = 0; c < 3; c++)
			out[c] += w * lut[idx * 3 + c];
	}
}

/* The picture graded through the LUT, 8-bit like a decoded frame. */
static uint8_t *
graded(const uint8_t *rgb, int w, int h, const float *lut)
{
	uint8_t *p = calloc((size_t)w * h, 3);
	double in[3], out[3];
	size_t i;
	int c;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < (size_t)w * h; i++) {
		for (c = 0; c < 3; c++)
			in[c] = rgb[i * 3 + c] / 255.0;
		lut_apply(lut, GRADE_LUT_SIZE, in, out);
		for (c = 0; c < 3; c++)
			p[i * 3 + c] = (uint8_t)lround(out[c] * 255.0);
	}
	return p;
}

START_TEST(test_lut_identity_for_equal_stats)
{
	const double one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
	uint8_t *img = picture(160, 90, one, zero, 1);
	struct grade_stats s;
	struct grade_transfer t;
	float *lut;
	double dev = 0.0;
	int i;

	stats_of(img, 160, 90, &s);
	grade_transfer_init(&t, &s, &s, 1.0);
	lut = grade_lut_build(&t, GRADE_LUT_SIZE);
	ck_assert_ptr_nonnull(lut);
	for (i = 0; i < N33 * 3; i++) {
		double want = (double)((i / 3) / (int)pow(33, i % 3) % 33) / 32;

		dev = fmax(dev, fabs(lut[i] - want));
	}
	printf("identity LUT: max deviation %.2e\n", dev);
	ck_assert_double_lt(dev, 1e-3);
	free(lut);
	free(img);
}
END_TEST

START_TEST(test_transfer_moves_mean_lab)
{
	const double one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
	const double warm[3] = {1.1, 0.92, 0.7}, lift[3] = {0.06, 0.03, 0.0};
	const double cool[3] = {0.8, 0.95, 1.1}, dim[3] = {0, 0, 0.02};
	const double *gains[2] = {warm, cool}, *lifts[2] = {lift, dim};
	uint8_t *src = picture(160, 90, one, zero, 1), *tpl, *out;
	struct grade_stats ss, ts, os;
	struct grade_transfer t;
	double before, after;
	float *lut;
	int k;

	stats_of(src, 160, 90, &ss);
	for (k = 0; k < 2; k++) {
		/* Other content, another grade. */
		tpl = picture(160, 90, gains[k], lifts[k], 3);
		stats_of(tpl, 160, 90, &ts);
		grade_transfer_init(&t, &ss, &ts, 1.0);
		lut = grade_lut_build(&t, GRADE_LUT_SIZE);
		out = graded(src, 160, 90, lut);
		stats_of(out, 160, 90, &os);
		before = dist3(ss.mean, ts.mean);
		after = dist3(os.mean, ts.mean);
		printf("transfer %d: CIE76 to template %.2f -> %.2f (%.0f%%)\n",
		    k, before, after, 100.0 * (1.0 - after / before));
		ck_assert_double_gt(before, 5.0);
		ck_assert_double_le(after, 0.3 * before);
		ck_assert_double_lt(after, 2.0);
		free(lut);
		free(out);
		free(tpl);
	}
	free(src);
}
END_TEST

START_TEST(test_transfer_strength_blends)
{
	const double one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
	const double warm[3] = {1.1, 0.92, 0.7};
	uint8_t *src = picture(80, 45, one, zero, 1);
	uint8_t *tpl = picture(80, 45, warm, zero, 2);
	struct grade_stats ss, ts;
	struct grade_transfer t;
	const double grey[3] = {0.5, 0.5, 0.5};
	double full[3], half[3], none[3];
	int c;

	stats_of(src, 80, 45, &ss);
	stats_of(tpl, 80, 45, &ts);
	grade_transfer_init(&t, &ss, &ts, 1.0);
	grade_transfer_rgb(&t, grey, full);
	t.strength = 0.5;
	grade_transfer_rgb(&t, grey, half);
	t.strength = 0.0;
	grade_transfer_rgb(&t, grey, none);
	for (c = 0; c < 3; c++) {
		ck_assert_double_eq_tol(none[c], 0.5, 1e-12);
		ck_assert_double_eq_tol(half[c], (full[c] + 0.5) / 2, 1e-9);
	}
	/* A warm template turns grey warm: red over blue. */
	ck_assert_double_gt(full[0], full[2]);
	free(src);
	free(tpl);
}
END_TEST

static void
look_of(double l, double a, double b, double sl, double chroma, double p5,
    double p95, struct grade_look *g)
{
	struct grade_stats s;

	memset(&s, 0, sizeof(s));
	s.mean[0] = l;
	s.mean[1] = a;
	s.mean[2] = b;
	s.std[0] = sl;
	s.chroma = chroma;
	s.pct[0] = p5;
	s.pct[4] = p95;
	grade_look_measure(&s, g);
}

START_TEST(test_colour_grade_signs)
{
	const double neutral[3] = {50, 0, 0};
	struct grade_look g;

	ck_assert_double_eq_tol(grade_cct(neutral), 6504, 10);
	/* The references read 0. */
	look_of(50, 0, 0, 20, 25, 15, 85, &g);
	ck_assert_double_eq_tol(g.temperature, 0, 0.5);
	ck_assert_double_eq_tol(g.tint, 0, 1e-9);
	ck_assert_double_eq_tol(g.saturation, 0, 1e-9);
	ck_assert_double_eq_tol(g.contrast, 0, 1e-9);
	ck_assert_double_eq_tol(g.highlights, 0, 1e-9);
	ck_assert_double_eq_tol(g.shadows, 0, 1e-9);
	/* Warm (yellow-orange) and cool (blue) casts. */
	look_of(50, 5, 20, 20, 25, 15, 85, &g);
	ck_assert_double_gt(g.temperature, 10);
	look_of(50, -2, -20, 20, 25, 15, 85, &g);
	ck_assert_double_lt(g.temperature, -10);
	/* Green and magenta. */
	look_of(50, -8, 0, 20, 25, 15, 85, &g);
	ck_assert_double_lt(g.tint, 0);
	look_of(50, 8, 0, 20, 25, 15, 85, &g);
	ck_assert_double_gt(g.tint, 0);
	/* Desaturated, grey, vivid. */
	look_of(50, 0, 0, 20, 8, 15, 85, &g);
	ck_assert_double_lt(g.saturation, 0);
	look_of(50, 0, 0, 20, 0, 15, 85, &g);
	ck_assert_double_eq_tol(g.saturation, -100, 1e-9);
	look_of(50, 0, 0, 20, 45, 15, 85, &g);
	ck_assert_double_gt(g.saturation, 0);
	/* Flat and punchy; crushed and lifted; dull and bright. */
	look_of(50, 0, 0, 10, 25, 15, 85, &g);
	ck_assert_double_lt(g.contrast, 0);
	look_of(50, 0, 0, 30, 25, 2, 98, &g);
	ck_assert_double_gt(g.contrast, 0);
	ck_assert_double_lt(g.shadows, 0);
	ck_assert_double_gt(g.highlights, 0);
	look_of(50, 0, 0, 20, 25, 25, 70, &g);
	ck_assert_double_gt(g.shadows, 0);
	ck_assert_double_lt(g.highlights, 0);
	/* Everything stays in range. */
	look_of(100, 120, 120, 80, 200, 100, 100, &g);
	ck_assert(fabs(g.temperature) <= 100 && fabs(g.tint) <= 100 &&
		  g.saturation <= 100 && g.contrast <= 100 &&
		  g.highlights <= 100 && g.shadows <= 100);
}
END_TEST

/*
 * Pooling two shots' statistics, weighted by their pixel counts, gives
 * the statistics of the two measured as one picture (to the float rounding of
 * a frame's sums), percentiles within a histogram bin. One part is copied,
 * parts without weight are ignored, and nothing gives -1.
 */
START_TEST(test_pool_is_the_mixture)
{
	static const double g1[3] = {1.0, 0.9, 0.7}, l1[3] = {0.1, 0, 0};
	static const double g2[3] = {0.5, 0.6, 0.9}, l2[3] = {0, 0.05, 0.1};
	int w = 160, h1 = 90, h2 = 30;
	uint8_t *a = picture(w, h1, g1, l1, 1), *b = picture(w, h2, g2, l2, 2);
	uint8_t *both = malloc((size_t)w * (h1 + h2) * 3);
	struct grade_stats sa, sb, sboth, pooled;
	struct grade_pool pool;
	int i;

	ck_assert_ptr_nonnull(both);
	memcpy(both, a, (size_t)w * h1 * 3);
	memcpy(both + (size_t)w * h1 * 3, b, (size_t)w * h2 * 3);
	stats_of(a, w, h1, &sa);
	stats_of(b, w, h2, &sb);
	stats_of(both, w, h1 + h2, &sboth);
	grade_pool_init(&pool);
	ck_assert_int_eq(grade_pool_result(&pool, &pooled), -1);
	grade_pool_add(&pool, &sb, 0.0);
	grade_pool_add(&pool, &sa, h1);
	ck_assert_int_eq(grade_pool_result(&pool, &pooled), 0);
	ck_assert_mem_eq(&pooled, &sa, sizeof(sa));
	grade_pool_add(&pool, &sb, h2);
	ck_assert_int_eq(grade_pool_result(&pool, &pooled), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_double_eq_tol(pooled.mean[i], sboth.mean[i], 1e-3);
		ck_assert_double_eq_tol(pooled.std[i], sboth.std[i], 1e-2);
	}
	ck_assert_double_eq_tol(pooled.chroma, sboth.chroma, 1e-3);
	ck_assert_double_eq_tol(pooled.saturation, sboth.saturation, 1e-5);
	ck_assert_int_eq(pooled.nhist, 64);
	for (i = 0; i < 64; i++)
		ck_assert_double_eq_tol(pooled.hist[i], sboth.hist[i], 1e-9);
	for (i = 0; i < GRADE_PCT_N; i++)
		ck_assert_double_eq_tol(
		    pooled.pct[i], sboth.pct[i], 100.0 / 64);
	free(a);
	free(b);
	free(both);
}
END_TEST

/* Statistics of a normal L* distribution, a*, b* about their means. */
static void
normal_stats(
    double l, double sl, double a, double b, double sc, struct grade_stats *s)
{
	static const double z[GRADE_PCT_N] = {-1.645, -0.674, 0, 0.674, 1.645};
	int i;

	memset(s, 0, sizeof(*s));
	s->mean[0] = l, s->mean[1] = a, s->mean[2] = b;
	s->std[0] = sl, s->std[1] = s->std[2] = sc;
	for (i = 0; i < GRADE_PCT_N; i++)
		s->pct[i] = fmin(100, fmax(0, l + z[i] * sl));
	s->chroma = hypot(a, b) + sc;
	s->saturation = 0.25;
}

/*
 * The grey ramp through the LUT as a frame is graded: returns the largest
 * chroma on it from L* 5 up, and checks that L* never falls as the input rises
 * and that no step is a band (over four times the mean step, and a visible 1.5
 * L*).
 */
static double
grey_ramp(const float *lut, const char *what)
{
	double in[3], out[3], lab[3], prev = -1.0, first = 0.0, step;
	double worst = 0.0, fall = 0.0, chroma = 0.0, at = 0.0;
	int v;

	for (v = 0; v < 256; v++) {
		in[0] = in[1] = in[2] = v / 255.0;
		lut_apply(lut, GRADE_LUT_SIZE, in, out);
		grade_srgb_to_lab(out, lab);
		/* Under L* 5 a hue is not seen (and trilinear mixes in the
		 * crushed neighbours). */
		if (lab[0] >= 5.0 && hypot(lab[1], lab[2]) > chroma) {
			chroma = hypot(lab[1], lab[2]);
			at = lab[0];
		}
		if (v == 0)
			first = lab[0];
		else {
			step = lab[0] - prev;
			fall = fmax(fall, -step);
			worst = fmax(worst, step);
		}
		prev = lab[0];
	}
	step = (prev - first) / 255.0;
	printf("%s: grey ramp L* %.1f..%.1f, largest step %.2f (mean %.2f), "
	       "largest fall %.2f, chroma up to %.2f (at L* %.1f)\n",
	    what, first, prev, worst, step, fall, chroma, at);
	ck_assert_msg(fall < 0.5, "%s: L* falls by %.2f", what, fall);
	ck_assert_msg(worst <= fmax(4.0 * step, 1.5), "%s: a band of %.2f L*",
	    what, worst);
	return chroma;
}

/*
 * Item 7 of issue 11 on the transfer itself: a neutral template keeps a
 * neutral source's greys neutral; every grade, a flat narrow source's
 * too, keeps the grey ramp monotone and free of bands; a skin tone under
 * a warm grade stays inside the gamut, not clipped.
 */
START_TEST(test_grade_neutral_smooth_unclipped)
{
	static const double skin[3] = {224 / 255.0, 172 / 255.0, 140 / 255.0};
	struct grade_stats src, tpl;
	struct grade_transfer t;
	double out[3];
	float *lut;
	int c;

	normal_stats(55, 18, 0, 0, 12, &src);
	normal_stats(42, 24, 0, 0, 14, &tpl);
	grade_transfer_init(&t, &src, &tpl, 1.0);
	lut = grade_lut_build(&t, GRADE_LUT_SIZE);
	ck_assert_double_lt(grey_ramp(lut, "neutral to neutral"), 1.0);
	free(lut);
	normal_stats(60, 20, 2, 4, 12, &src);
	normal_stats(58, 18, 8, 22, 16, &tpl);
	grade_transfer_init(&t, &src, &tpl, 1.0);
	lut = grade_lut_build(&t, GRADE_LUT_SIZE);
	(void)grey_ramp(lut, "warm grade");
	grade_transfer_rgb(&t, skin, out);
	for (c = 0; c < 3; c++) {
		ck_assert_double_gt(out[c], 0.02);
		ck_assert_double_lt(out[c], 0.98);
	}
	free(lut);
	/* A flat card (std under the model's grid) towards a contrasty one. */
	normal_stats(75, 2, -50, 17, 3, &src);
	normal_stats(64, 22, -64, 62, 20, &tpl);
	grade_transfer_init(&t, &src, &tpl, 1.0);
	lut = grade_lut_build(&t, GRADE_LUT_SIZE);
	(void)grey_ramp(lut, "flat card to green screen");
	free(lut);
}
END_TEST

static Suite *
dsp_grade_suite(void)
{
	Suite *s = suite_create("dsp_grade");
	TCase *tc = tcase_create("grade");

	tcase_add_test(tc, test_lut_identity_for_equal_stats);
	tcase_add_test(tc, test_transfer_moves_mean_lab);
	tcase_add_test(tc, test_transfer_strength_blends);
	tcase_add_test(tc, test_colour_grade_signs);
	tcase_add_test(tc, test_pool_is_the_mixture);
	tcase_add_test(tc, test_grade_neutral_smooth_unclipped);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dsp_grade_suite)

/*
 * Tests for dsp/motion.c on synthetic data: the robust similarity fit on
 * vector fields with noise, scattered outliers and a coherent foreground
 * (known translation, zoom and rotation recovered, degenerate input
 * refused); the estimator on frames rendered from a continuous texture
 * under a known similarity (fast, sub-pixel, a cut and a flat picture
 * unreliable); the camera classifier on per-pair series (steady, swaying,
 * nothing measured). No media and no libav: the stage on generated media
 * is tested in check_stage_motion.c. Measured figures are printed.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "motion.h"

/* The frame the vectors and rendered pictures cover, px. */
#define W 320
#define H 180
#define DEG (M_PI / 180.0)

/* Figures reach the log even when a test then fails. */
static void
line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* ---- the fit ---- */

static uint32_t rng_state;

static double
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return (rng_state & 0xffffff) / (double)0x1000000;
}

/* A model from translation, magnification and clockwise rotation. */
static struct motion_model
model(double tx, double ty, double s, double theta)
{
	struct motion_model m = {s * cos(theta) - 1.0, s * sin(theta), tx, ty};

	return m;
}

/* n vectors on a grid over W x H following m, with noise of +-jitter. */
static size_t
field(struct motion_vec *v, const struct motion_model *m, double jitter)
{
	size_t n = 0;
	int i, j;

	for (j = 0; j < 10; j++) {
		for (i = 0; i < 20; i++, n++) {
			v[n].x = (i + 0.5) * W / 20.0 - W / 2.0;
			v[n].y = (j + 0.5) * H / 10.0 - H / 2.0;
			v[n].dx = m->a * v[n].x - m->b * v[n].y + m->tx +
				  jitter * (2.0 * rnd() - 1.0);
			v[n].dy = m->b * v[n].x + m->a * v[n].y + m->ty +
				  jitter * (2.0 * rnd() - 1.0);
			v[n].weight = 1.0;
		}
	}
	return n;
}

static void
check_model(const struct motion_model *got, const struct motion_model *want,
    double t_tol, double s_tol, double deg_tol)
{
	printf("check_dsp_motion: fit tx %+.4f (%+.4f) ty %+.4f (%+.4f) "
	       "s %.5f (%.5f) rot %+.4f deg (%+.4f)\n",
	    got->tx, want->tx, got->ty, want->ty, motion_scale(got),
	    motion_scale(want), motion_angle(got) / DEG,
	    motion_angle(want) / DEG);
	ck_assert_double_eq_tol(got->tx, want->tx, t_tol);
	ck_assert_double_eq_tol(got->ty, want->ty, t_tol);
	ck_assert_double_eq_tol(motion_scale(got), motion_scale(want), s_tol);
	ck_assert_double_eq_tol(
	    motion_angle(got) / DEG, motion_angle(want) / DEG, deg_tol);
}

START_TEST(test_fit_exact)
{
	struct motion_vec v[200];
	struct motion_model m = model(3.2, -1.7, 1.012, -0.8 * DEG);
	struct motion_fit fit;
	size_t n = field(v, &m, 0.0);

	ck_assert_int_eq(motion_fit(v, n, MOTION_INLIER_PX, &fit), 0);
	check_model(&fit.m, &m, 1e-9, 1e-9, 1e-7);
	ck_assert_uint_eq(fit.inliers, n);
	ck_assert_double_eq_tol(fit.inlier_share, 1.0, 1e-12);
	ck_assert_double_eq_tol(fit.rms, 0.0, 1e-9);
}
END_TEST

/* A third of the vectors are random: noise must not pull the estimate. */
START_TEST(test_fit_scattered_outliers)
{
	struct motion_vec v[200];
	struct motion_model m = model(-5.5, 2.25, 0.985, 1.5 * DEG);
	struct motion_fit fit;
	size_t n, i, bad = 0;

	rng_state = 12345;
	n = field(v, &m, 0.25);
	for (i = 0; i < n; i += 3, bad++) {
		v[i].dx = 40.0 * rnd() - 20.0;
		v[i].dy = 40.0 * rnd() - 20.0;
	}
	ck_assert_int_eq(motion_fit(v, n, MOTION_INLIER_PX, &fit), 0);
	check_model(&fit.m, &m, 0.05, 0.0005, 0.03);
	printf("check_dsp_motion: fit inliers %zu of %zu (%zu outliers), "
	       "rms %.3f px\n",
	    fit.inliers, n, bad, fit.rms);
	ck_assert_uint_ge(fit.inliers, n - bad - 2);
	ck_assert_uint_le(fit.inliers, n - bad + 4);
	ck_assert_double_lt(fit.rms, 0.3);
	for (i = 0; i < n; i += 3)
		ck_assert_msg(!v[i].inlier || hypot(v[i].dx, v[i].dy) < 25.0,
		    "outlier %zu kept", i);
}
END_TEST

/*
 * 45 % of the frame is one object moving its own way, coherently: least
 * squares would average the two; the camera is the larger set.
 */
START_TEST(test_fit_foreground_object)
{
	struct motion_vec v[200];
	struct motion_model m = model(1.5, 0.5, 1.0, 0.0);
	struct motion_fit fit;
	size_t n, i, obj = 0;

	rng_state = 777;
	n = field(v, &m, 0.1);
	for (i = 0; i < n; i++) {
		if (v[i].x < -W / 2.0 + 0.45 * W) {
			v[i].dx = -6.0 + 0.1 * (2.0 * rnd() - 1.0);
			v[i].dy = 3.0 + 0.1 * (2.0 * rnd() - 1.0);
			obj++;
		}
	}
	ck_assert_uint_ge(obj, 80);
	ck_assert_int_eq(motion_fit(v, n, MOTION_INLIER_PX, &fit), 0);
	check_model(&fit.m, &m, 0.05, 0.0005, 0.03);
	ck_assert_uint_eq(fit.inliers, n - obj);
}
END_TEST

START_TEST(test_fit_degenerate)
{
	struct motion_vec v[3] = {{0, 0, 1, 1, 1, false},
	    {1, 0, 1, 1, 1, false}, {0, 1, 1, 1, 1, false}};
	struct motion_fit fit;

	ck_assert_int_eq(motion_fit(v, 2, MOTION_INLIER_PX, &fit), -1);
	/* All three within a few pixels: zoom and roll are unknowable. */
	ck_assert_int_eq(motion_fit(v, 3, MOTION_INLIER_PX, &fit), -1);
}
END_TEST

/* ---- the estimator on rendered frames ---- */

static double
lattice(int i, int j, uint32_t seed)
{
	uint32_t h = (uint32_t)i * 374761393u + (uint32_t)j * 668265263u +
		     seed * 2246822519u;

	h = (h ^ (h >> 13)) * 1274126177u;
	return ((h ^ (h >> 16)) & 0xff) / 255.0;
}

/* Value noise with smoothstep interpolation, period px. */
static double
noise(double x, double y, double period, uint32_t seed)
{
	double fx = x / period, fy = y / period;
	int i = (int)floor(fx), j = (int)floor(fy);
	double u = fx - i, v = fy - j;

	u = u * u * (3.0 - 2.0 * u);
	v = v * v * (3.0 - 2.0 * v);
	return (1 - v) * ((1 - u) * lattice(i, j, seed) +
			     u * lattice(i + 1, j, seed)) +
	       v * ((1 - u) * lattice(i, j + 1, seed) +
		       u * lattice(i + 1, j + 1, seed));
}

static double
texture(double x, double y, uint32_t seed)
{
	return 40.0 + 120.0 * noise(x, y, 5.0, seed) +
	       80.0 * noise(x, y, 23.0, seed + 1);
}

/*
 * Renders the texture as seen after the content moved by m: pixel p shows
 * the point q with p - c = (I + M)(q - c) + t.
 */
static void
render(uint8_t *img, const struct motion_model *m, uint32_t seed)
{
	double a = 1.0 + m->a, b = m->b, det = a * a + b * b, px, py;
	int x, y;

	for (y = 0; y < H; y++) {
		for (x = 0; x < W; x++) {
			px = x + 0.5 - W / 2.0 - m->tx;
			py = y + 0.5 - H / 2.0 - m->ty;
			img[y * W + x] = (uint8_t)lrint(
			    texture((a * px + b * py) / det + W / 2.0,
				(-b * px + a * py) / det + H / 2.0, seed));
		}
	}
}

static void
estimate(const struct motion_model *m, uint32_t seed_b, struct motion_pair *p)
{
	static uint8_t a[W * H], b[W * H];
	const struct motion_model none = {0.0, 0.0, 0.0, 0.0};
	struct motion_est *e = motion_est_new(W, H);

	ck_assert_ptr_nonnull(e);
	render(a, &none, 1);
	render(b, m, seed_b);
	ck_assert_int_eq(motion_est_push(e, a, W, p), 0);
	ck_assert_int_eq(motion_est_push(e, b, W, p), 1);
	motion_est_free(e);
	printf("check_dsp_motion: estimator: %zu of %zu blocks textured, "
	       "%zu inliers, rms %.3f px, match error %.2f, %s\n",
	    p->textured, p->blocks, p->fit.inliers, p->fit.rms, p->match_err,
	    p->reliable ? "reliable" : "unreliable");
}

START_TEST(test_estimator_similarity)
{
	struct motion_model m = model(3.3, -1.4, 1.01, 0.3 * DEG);
	struct motion_pair p;

	estimate(&m, 1, &p);
	ck_assert(p.reliable);
	check_model(&p.fit.m, &m, 0.05, 0.0005, 0.02);
	ck_assert_double_gt(p.fit.inlier_share, 0.9);
}
END_TEST

/* 14 px per frame: beyond the fine searches, found by the coarse level. */
START_TEST(test_estimator_fast_translation)
{
	struct motion_model m = model(-14.0, 6.5, 1.0, 0.0);
	struct motion_pair p;

	estimate(&m, 1, &p);
	ck_assert(p.reliable);
	check_model(&p.fit.m, &m, 0.05, 0.0005, 0.02);
}
END_TEST

START_TEST(test_estimator_subpixel_zoom_out)
{
	struct motion_model m = model(0.25, 0.4, 0.996, 0.0);
	struct motion_pair p;

	estimate(&m, 1, &p);
	ck_assert(p.reliable);
	check_model(&p.fit.m, &m, 0.03, 0.0003, 0.02);
}
END_TEST

/* Two unrelated pictures (a cut) are not motion. */
START_TEST(test_estimator_cut_unreliable)
{
	struct motion_model m = model(0.0, 0.0, 1.0, 0.0);
	struct motion_pair p;

	estimate(&m, 99, &p);
	ck_assert(!p.reliable);
}
END_TEST

START_TEST(test_estimator_flat_unreliable)
{
	static uint8_t flat[W * H];
	struct motion_est *e = motion_est_new(W, H);
	struct motion_pair p;

	memset(flat, 90, sizeof(flat));
	ck_assert_int_eq(motion_est_push(e, flat, W, &p), 0);
	ck_assert_int_eq(motion_est_push(e, flat, W, &p), 1);
	ck_assert_uint_eq(p.textured, 0);
	ck_assert(!p.reliable);
	motion_est_free(e);
	ck_assert_ptr_null(motion_est_new(MOTION_MIN_SIDE - 1, 100));
	ck_assert_ptr_null(motion_est_new(100, MOTION_MIN_SIDE - 1));
}
END_TEST

/* ---- the classifier ---- */

enum wave { STEADY, SHAKE };

/* 3 s at 25 fps: a steady velocity, or a 2.3 Hz sway of amplitude v. */
static void
series(struct motion_sample *s, enum wave w, double vx, double vy, double vz)
{
	double f = 2.0 * M_PI * 2.3, k;
	int i;

	for (i = 0; i < 75; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].t = i * 0.04;
		s[i].dt = 0.04;
		s[i].reliable = true;
		/* A sway x = v sin(ft) moves at v f cos(ft). */
		k = w == SHAKE ? f * cos(f * (s[i].t + 0.02)) : 1.0;
		s[i].vx = (float)(vx * k);
		s[i].vy = (float)(vy * k);
		s[i].vz = (float)(vz * k);
		s[i].speed = (float)hypot(s[i].vx, s[i].vy);
	}
}

static enum motion_camera
class_of(enum wave w, double vx, double vy, double vz)
{
	struct motion_sample s[75];
	struct motion_shot o;

	series(s, w, vx, vy, vz);
	ck_assert_int_eq(motion_classify(s, 75, &o), 0);
	ck_assert_double_eq_tol(o.duration_s, 3.0, 1e-9);
	return o.camera;
}

START_TEST(test_classify_series)
{
	struct motion_sample s[75];
	struct motion_shot o;
	int i;

	ck_assert_int_eq(class_of(STEADY, 0.0, 0.0, 0.0), MOTION_STATIC);
	ck_assert_int_eq(class_of(STEADY, 0.1, 0.01, 0.0), MOTION_PAN);
	ck_assert_int_eq(class_of(STEADY, -0.1, 0.0, 0.0), MOTION_PAN);
	ck_assert_int_eq(class_of(STEADY, 0.02, 0.0, 0.0), MOTION_STATIC);
	ck_assert_int_eq(class_of(STEADY, 0.03, -0.08, 0.0), MOTION_TILT);
	ck_assert_int_eq(class_of(STEADY, 0.0, 0.0, 0.1), MOTION_ZOOM);
	ck_assert_int_eq(class_of(STEADY, 0.0, 0.0, -0.1), MOTION_ZOOM);
	/* A pan faster than the zoom moves the frame edge is a pan. */
	ck_assert_int_eq(class_of(STEADY, 0.2, 0.0, 0.1), MOTION_PAN);
	/* 1 % of the width each way, back and forth: handheld. */
	ck_assert_int_eq(class_of(SHAKE, 0.01, 0.005, 0.0), MOTION_HANDHELD);
	ck_assert_int_eq(class_of(SHAKE, 0.001, 0.0, 0.0), MOTION_STATIC);
	/* Nothing measured. */
	series(s, STEADY, 0.3, 0.0, 0.0);
	for (i = 0; i < 75; i++)
		s[i].reliable = i < 4;
	ck_assert_int_eq(motion_classify(s, 75, &o), 0);
	ck_assert_int_eq(o.camera, MOTION_UNKNOWN);
	ck_assert_str_eq(motion_camera_name(o.camera), "unknown");
	ck_assert_int_eq(motion_classify(s, 0, &o), 0);
	ck_assert_int_eq(o.camera, MOTION_UNKNOWN);
}
END_TEST

static Suite *
dsp_motion_suite(void)
{
	Suite *s = suite_create("dsp_motion");
	TCase *tc;

	tc = tcase_create("fit");
	tcase_add_checked_fixture(tc, line_buffered, NULL);
	tcase_add_test(tc, test_fit_exact);
	tcase_add_test(tc, test_fit_scattered_outliers);
	tcase_add_test(tc, test_fit_foreground_object);
	tcase_add_test(tc, test_fit_degenerate);
	suite_add_tcase(s, tc);
	tc = tcase_create("estimator");
	tcase_add_checked_fixture(tc, line_buffered, NULL);
	tcase_add_test(tc, test_estimator_similarity);
	tcase_add_test(tc, test_estimator_fast_translation);
	tcase_add_test(tc, test_estimator_subpixel_zoom_out);
	tcase_add_test(tc, test_estimator_cut_unreliable);
	tcase_add_test(tc, test_estimator_flat_unreliable);
	suite_add_tcase(s, tc);
	tc = tcase_create("classify");
	tcase_add_test(tc, test_classify_series);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dsp_motion_suite)

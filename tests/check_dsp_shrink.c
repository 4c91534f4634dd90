/*
 * Unit tests for dsp/shrink.c: box averages against a plain reference in
 * doubles over the same boxes (and the same rows, when every second row
 * is summed), and the YUV matrix against its definition.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "shrink.h"

/* The reference average of the box of output (x, y), rows as summed. */
static double
box_mean(
    const uint8_t *src, int sls, const struct shrink_plane *p, int x, int y)
{
	int r0 = (int)((int64_t)y * p->sh / p->dh);
	int r1 = (int)((int64_t)(y + 1) * p->sh / p->dh);
	int c0 = (int)((int64_t)x * p->sw / p->dw);
	int c1 = (int)((int64_t)(x + 1) * p->sw / p->dw);
	int step = p->rows >= SHRINK_SPARSE_ROWS ? 2 : 1, r, c;
	double sum = 0;
	int n = 0;

	for (r = r0; r < r1; r += step) {
		for (c = c0; c < c1; c++, n++)
			sum += src[r * sls + c];
	}
	return sum / n;
}

/* Shrinks sw x sh of pixel(x, y) and compares every output pixel. */
static double
shrink_max_error(int sw, int sh, int dw, int dh, int (*pixel)(int, int))
{
	struct shrink_plane p;
	int sls = sw + 13, x, y;
	uint8_t *src = malloc((size_t)sls * sh), *dst = malloc((size_t)dw * dh);
	double err = 0, e;

	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(dst);
	for (y = 0; y < sh; y++) {
		for (x = 0; x < sls; x++)
			src[y * sls + x] = (uint8_t)(x < sw ? pixel(x, y) : 0);
	}
	ck_assert_int_eq(shrink_plane_init(&p, sw, sh, dw, dh), 0);
	shrink_plane_run(&p, src, sls, dst, dw);
	for (y = 0; y < dh; y++) {
		for (x = 0; x < dw; x++) {
			e = fabs(
			    dst[y * dw + x] - box_mean(src, sls, &p, x, y));
			err = e > err ? e : err;
		}
	}
	shrink_plane_free(&p);
	free(src);
	free(dst);
	return err;
}

static int
pixel_flat(int x, int y)
{
	(void)x;
	(void)y;
	return 77;
}

static int
pixel_noise(int x, int y)
{
	return (int)(((unsigned)x * 2654435761u ^ (unsigned)y * 40503u) >> 7) &
	       255;
}

static int
pixel_ramp(int x, int y)
{
	return (x / 8 + y / 5) & 255;
}

/* Smooth and below 256 everywhere on 1920 x 1080. */
static int
pixel_smooth(int x, int y)
{
	return x / 16 + y / 10;
}

START_TEST(test_shrink_flat_stays_flat)
{
	ck_assert_double_eq(
	    shrink_max_error(1920, 1080, 256, 144, pixel_flat), 0);
	ck_assert_double_eq(
	    shrink_max_error(643, 361, 256, 143, pixel_flat), 0);
	ck_assert_double_eq(
	    shrink_max_error(300, 200, 256, 144, pixel_flat), 0);
}
END_TEST

/* Rounded to the nearest level: at most half a level from the mean. */
START_TEST(test_shrink_matches_box_means)
{
	ck_assert_double_le(
	    shrink_max_error(1920, 1080, 256, 144, pixel_noise), 0.5001);
	ck_assert_double_le(
	    shrink_max_error(960, 540, 256, 144, pixel_noise), 0.5001);
	ck_assert_double_le(
	    shrink_max_error(3026, 1386, 256, 117, pixel_noise), 0.5001);
	ck_assert_double_le(
	    shrink_max_error(257, 145, 256, 144, pixel_ramp), 0.5001);
	ck_assert_double_le(
	    shrink_max_error(7680, 4320, 256, 144, pixel_ramp), 0.5001);
}
END_TEST

/* Every second row of a smooth picture: within a level of all rows. */
START_TEST(test_shrink_sparse_rows_on_smooth_content)
{
	struct shrink_plane p;
	int sw = 1920, sh = 1080, dw = 256, dh = 144, x, y, r, c, r0, r1;
	uint8_t *src = malloc((size_t)sw * sh), dst[256 * 144];
	double sum;

	ck_assert_ptr_nonnull(src);
	for (y = 0; y < sh; y++) {
		for (x = 0; x < sw; x++)
			src[y * sw + x] = (uint8_t)pixel_smooth(x, y);
	}
	ck_assert_int_eq(shrink_plane_init(&p, sw, sh, dw, dh), 0);
	ck_assert_int_ge(p.rows, SHRINK_SPARSE_ROWS);
	shrink_plane_run(&p, src, sw, dst, dw);
	for (y = 0; y < dh; y++) {
		r0 = y * sh / dh;
		r1 = (y + 1) * sh / dh;
		for (x = 0; x < dw; x++) {
			sum = 0;
			for (r = r0; r < r1; r++) {
				for (c = x * sw / dw; c < (x + 1) * sw / dw;
				     c++)
					sum += src[r * sw + c];
			}
			sum /= (double)(r1 - r0) *
			       ((x + 1) * sw / dw - x * sw / dw);
			ck_assert_double_le(fabs(dst[y * dw + x] - sum), 1.0);
		}
	}
	shrink_plane_free(&p);
	free(src);
}
END_TEST

START_TEST(test_shrink_refuses_growth_and_deep_boxes)
{
	struct shrink_plane p;

	ck_assert(!shrink_possible(160, 90, 256, 144));
	ck_assert(!shrink_possible(320, 90, 256, 144));
	ck_assert(!shrink_possible(256, 144, 0, 0));
	ck_assert(shrink_possible(256, 144, 256, 144));
	ck_assert(shrink_possible(256, 144 * SHRINK_ROWS_MAX, 256, 144));
	ck_assert(!shrink_possible(256, 144 * SHRINK_ROWS_MAX + 1, 256, 144));
	ck_assert_int_eq(shrink_plane_init(&p, 160, 90, 256, 144), -1);
	ck_assert_ptr_null(p.acc);
}
END_TEST

/* R, G, B of Y'CbCr by the definition (ITU-R BT.601 / BT.709 form). */
static void
rgb_reference(
    double kr, double kb, bool full, int y, int u, int v, double out[3])
{
	double kg = 1 - kr - kb, l, cb, cr;
	int i;

	l = full ? y : (y - 16) * 255.0 / 219.0;
	cb = (u - 128) * (full ? 1.0 : 255.0 / 224.0);
	cr = (v - 128) * (full ? 1.0 : 255.0 / 224.0);
	out[0] = l + 2 * (1 - kr) * cr;
	out[2] = l + 2 * (1 - kb) * cb;
	out[1] = (l - kr * out[0] - kb * out[2]) / kg;
	for (i = 0; i < 3; i++)
		out[i] = out[i] < 0 ? 0 : out[i] > 255 ? 255 : out[i];
}

START_TEST(test_shrink_matrix_matches_definition)
{
	static const double k[2][2] = {{0.2126, 0.0722}, {0.299, 0.114}};
	struct shrink_matrix m;
	uint8_t y[256], u[256], v[256], g[256], b[256], r[256];
	double want[3];
	int i, j, full;

	for (i = 0; i < 256; i++) {
		y[i] = (uint8_t)i;
		u[i] = (uint8_t)((i * 37) & 255);
		v[i] = (uint8_t)((i * 91 + 40) & 255);
	}
	for (j = 0; j < 2; j++) {
		for (full = 0; full < 2; full++) {
			shrink_matrix_init(&m, k[j][0], k[j][1], full);
			shrink_yuv_row(&m, y, u, v, g, b, r, 256);
			for (i = 0; i < 256; i++) {
				rgb_reference(k[j][0], k[j][1], full, y[i],
				    u[i], v[i], want);
				ck_assert_double_le(fabs(r[i] - want[0]), 0.51);
				ck_assert_double_le(fabs(g[i] - want[1]), 0.51);
				ck_assert_double_le(fabs(b[i] - want[2]), 0.51);
			}
		}
	}
}
END_TEST

/* Neutral stays neutral, and limited black and white reach 0 and 255. */
START_TEST(test_shrink_matrix_greys)
{
	struct shrink_matrix m;
	uint8_t y[3] = {16, 126, 235}, c[3] = {128, 128, 128}, g[3], b[3], r[3];
	int i;

	shrink_matrix_init(&m, 0.2126, 0.0722, false);
	shrink_yuv_row(&m, y, c, c, g, b, r, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i], g[i]);
		ck_assert_int_eq(b[i], g[i]);
	}
	ck_assert_int_eq(g[0], 0);
	ck_assert_int_eq(g[2], 255);
}
END_TEST

static Suite *
dsp_shrink_suite(void)
{
	Suite *s = suite_create("dsp_shrink");
	TCase *tc = tcase_create("shrink");

	tcase_add_test(tc, test_shrink_flat_stays_flat);
	tcase_add_test(tc, test_shrink_matches_box_means);
	tcase_add_test(tc, test_shrink_sparse_rows_on_smooth_content);
	tcase_add_test(tc, test_shrink_refuses_growth_and_deep_boxes);
	tcase_add_test(tc, test_shrink_matrix_matches_definition);
	tcase_add_test(tc, test_shrink_matrix_greys);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dsp_shrink_suite)

/*
 * Tests for dsp/colour.c on small synthetic pictures: sRGB to CIELAB for
 * red and white against published values; the accumulator's mean,
 * deviation, percentiles and L* histogram of a half black, half white
 * picture; a histogram of bins that do not divide COLOUR_HIST_BINS and
 * a frame of more than COLOUR_FRAME_MAX_PIXELS samples are refused; the
 * planar summary of a picture equals the packed one, byte for byte;
 * CIEDE2000 against the published pairs of Sharma, Wu and Dalal (2005);
 * the histogram distance of shifted histograms is the shift.
 */
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "colour.h"

/* The planar summary of a picture equals the packed one. */
static void
check_planes_agree(void)
{
	uint8_t px[16 * 8 * 3], pl[3][16 * 8];
	const uint8_t *planes[3] = {pl[0], pl[1], pl[2]};
	const int ls[3] = {16, 16, 16};
	struct colour_frame a, b;
	int i, c;

	for (i = 0; i < 16 * 8; i++)
		for (c = 0; c < 3; c++)
			px[3 * i + c] = pl[c][i] = (uint8_t)(i * (7 + 5 * c));
	ck_assert_int_eq(colour_frame_measure(px, 16, 8, 48, 2, &a), 0);
	ck_assert_int_eq(
	    colour_frame_measure_planes(planes, ls, 16, 8, 2, &b), 0);
	ck_assert_int_eq(a.n, 32);
	ck_assert_mem_eq(&a, &b, sizeof(a));
}

START_TEST(test_colour_conversions)
{
	struct colour_frame f;
	struct colour_acc acc;
	uint8_t px[4 * 2 * 3];
	double lab[3], h[4];
	int i;

	colour_rgb8_to_lab(255, 0, 0, lab);
	ck_assert_double_eq_tol(lab[0], 53.24, 0.01);
	ck_assert_double_eq_tol(lab[1], 80.09, 0.01);
	ck_assert_double_eq_tol(lab[2], 67.20, 0.01);
	colour_rgb8_to_lab(255, 255, 255, lab);
	ck_assert_double_eq_tol(lab[0], 100.0, 0.01);
	ck_assert_double_eq_tol(lab[1], 0.0, 0.01);
	ck_assert_double_eq_tol(lab[2], 0.0, 0.01);
	/* Half black, half white: L* 0 and 100, deviation 50. */
	for (i = 0; i < 8; i++)
		memset(px + 3 * i, i < 4 ? 0 : 255, 3);
	ck_assert_int_eq(colour_frame_measure(px, 4, 2, 12, 1, &f), 0);
	colour_acc_init(&acc);
	colour_acc_add(&acc, &f);
	colour_acc_add(&acc, &f);
	colour_acc_mean(&acc, lab);
	ck_assert_double_eq_tol(lab[0], 50.0, 0.01);
	colour_acc_std(&acc, lab);
	ck_assert_double_eq_tol(lab[0], 50.0, 0.01);
	ck_assert_double_lt(colour_acc_percentile(&acc, 25.0), 1.0);
	ck_assert_double_gt(colour_acc_percentile(&acc, 75.0), 99.0);
	ck_assert_int_eq(colour_acc_hist(&acc, h, 4), 0);
	ck_assert_double_eq_tol(h[0], 0.5, 1e-9);
	ck_assert_double_eq_tol(h[3], 0.5, 1e-9);
	ck_assert_int_eq(colour_acc_hist(&acc, h, 3), -1);
	ck_assert_int_eq(colour_frame_measure(px, 300, 300, 900, 1, &f), -1);
	check_planes_agree();
}
END_TEST

/* Pairs 1, 2, 7, 17, 18, 25 and 34 of Sharma, Wu and Dalal's table. */
START_TEST(test_colour_differences)
{
	static const double pairs[][7] = {
	    {50, 2.6772, -79.7751, 50, 0, -82.7485, 2.0425},
	    {50, 3.1571, -77.2803, 50, 0, -82.7485, 2.8615},
	    {50, 0, 0, 50, -1, 2, 2.3669},
	    {50, 2.5, 0, 73, 25, -18, 27.1492},
	    {50, 2.5, 0, 61, -5, 29, 22.8977},
	    {60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644},
	    {22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373},
	};
	const double a[3] = {50, 0, 0}, b[3] = {53, 4, 0};
	double p[8] = {0}, q[8] = {0};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		ck_assert_double_eq_tol(
		    colour_ciede2000(pairs[i], pairs[i] + 3), pairs[i][6],
		    1e-4);
		ck_assert_double_eq_tol(
		    colour_ciede2000(pairs[i] + 3, pairs[i]), pairs[i][6],
		    1e-4);
	}
	ck_assert_double_eq_tol(colour_cie76(a, b), 5.0, 1e-12);
	ck_assert_double_eq_tol(colour_ciede2000(a, a), 0.0, 1e-12);
	/* All of p in bin 1, all of q in bin 3: two bins of 12.5 L*. */
	p[1] = q[3] = 1.0;
	ck_assert_double_eq_tol(colour_hist_distance(p, q, 8), 25.0, 1e-9);
	ck_assert_double_eq_tol(colour_hist_distance(p, p, 8), 0.0, 1e-12);
}
END_TEST

static Suite *
dsp_colour_suite(void)
{
	Suite *s = suite_create("dsp_colour");
	TCase *tc = tcase_create("colour");

	tcase_add_test(tc, test_colour_conversions);
	tcase_add_test(tc, test_colour_differences);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dsp_colour_suite)

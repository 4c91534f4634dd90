/*
 * Tests for dsp/looks.c: sampling a centred punch-in, the mean absolute
 * difference, the score a join gets from a shot's looks (the nearest join
 * time, the longest measured skip, the calm difference before the join
 * taken off as ffmpeg's scene score does), the rule a shot's looks give
 * (a static textured shot punches in, a flat one has no visible change),
 * and the check of a plan: alternating punch-ins, another framing where
 * the planned one does not show, pieces joined where nothing shows.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "looks.h"

#define W 64
#define H 36

/* A static texture: hashed noise, the same in every frame. */
static void
texture(uint8_t *px)
{
	uint32_t v = 12345;
	int i;

	for (i = 0; i < W * H; i++) {
		v = v * 1103515245u + 12345u;
		px[i] = (uint8_t)(v >> 24);
	}
}

/*
 * The looks of a shot of dur seconds showing the same picture px all
 * along, measured as motion_analysis does (half-size samples).
 */
static void
still_shot_looks(const uint8_t *px, double dur, struct looks_shot *ls)
{
	size_t n = (size_t)((dur - looks_skips[0]) / LOOKS_STEP_S) + 1, i, j, z;
	uint8_t s[LOOKS_NVIEWS][(W / 2) * (H / 2)];

	ck_assert_int_eq(looks_shot_init(ls, 0.0, n), 0);
	for (z = 0; z < LOOKS_NVIEWS; z++)
		looks_sample(px, W, H, &looks_views[z], s[z], W / 2, H / 2);
	for (i = 0; i < n; i++) {
		ls->calm[i] = 0.0f;
		for (j = 0; j < LOOKS_NSKIPS; j++) {
			if (i * LOOKS_STEP_S + looks_skips[j] >= dur)
				break;
			for (z = 0; z < LOOKS_NVIEWS; z++)
				ls->diff[(i * LOOKS_NSKIPS + j) * LOOKS_NVIEWS +
					 z] =
				    (float)looks_mad(s[0], s[z], sizeof(s[0]));
		}
	}
}

START_TEST(test_sample_whole_and_punch_in)
{
	uint8_t src[W * H], dst[W * H], quarter[(W / 2) * (H / 2)];
	const struct looks_view whole = {1.0, 0.5, 0.5}, mid = {2.0, 0.5, 0.5},
				left = {2.0, 0.0, 0.5}, right = {2.0, 1.0, 0.5};
	int x, y;

	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			src[y * W + x] = (uint8_t)(x * 4);
	looks_sample(src, W, H, &whole, dst, W, H);
	ck_assert_int_eq(memcmp(src, dst, sizeof(src)), 0);
	/* 2x: the middle half, each source pixel twice as wide. */
	looks_sample(src, W, H, &mid, dst, W, H);
	ck_assert_int_le(abs(dst[0] - 16 * 4), 2);
	ck_assert_int_le(abs(dst[W - 1] - 47 * 4), 2);
	ck_assert_int_le(abs(dst[2] - dst[0] - 4), 1);
	/* At the left edge, the left half; at the right, the right half. */
	looks_sample(src, W, H, &left, dst, W, H);
	ck_assert_int_le(dst[0], 2);
	ck_assert_int_le(abs(dst[W - 1] - 31 * 4), 2);
	looks_sample(src, W, H, &right, dst, W, H);
	ck_assert_int_le(abs(dst[0] - 32 * 4), 2);
	ck_assert_int_le(abs(dst[W - 1] - 63 * 4), 2);
	/* Half size at scale 1 takes every other pixel. */
	looks_sample(src, W, H, &whole, quarter, W / 2, H / 2);
	ck_assert_int_eq(quarter[0], 0);
	ck_assert_int_eq(quarter[1], 8);
	ck_assert_int_eq(quarter[W / 2 + 1], 8);
	ck_assert_double_eq(looks_mad(src, src, sizeof(src)), 0.0);
	memset(dst, 0, sizeof(dst));
	ck_assert_double_eq_tol(
	    looks_mad(src, dst, sizeof(src)), 31.5 * 4.0, 1e-9);
	/* Framings map back to their views. */
	ck_assert_uint_eq(looks_view_of(1.0, 0.0, 0.0), 0);
	ck_assert_double_eq(
	    looks_views[looks_view_of(1.5, 0.0, 0.5)].zoom, 1.5);
	ck_assert_double_eq(looks_views[looks_view_of(1.5, 0.0, 0.5)].x, 0.0);
}
END_TEST

START_TEST(test_score_lookup)
{
	struct looks_shot ls;
	size_t i, j, v;

	ck_assert_int_eq(looks_shot_init(&ls, 10.0, 8), 0);
	for (i = 0; i < 8; i++) {
		ls.calm[i] = 5.0f;
		for (j = 0; j < LOOKS_NSKIPS; j++)
			for (v = 0; v < LOOKS_NVIEWS; v++)
				ls.diff[(i * LOOKS_NSKIPS + j) * LOOKS_NVIEWS +
					v] = (float)(100 * i + 10 * j + v + 20);
	}
	/* Point 2 (10.5 s), skip 0.5 s (index 1), view 1: 231 - 5. */
	ck_assert_double_eq_tol(looks_score(&ls, 10.55, 11.05, 1), 226.0, 1e-4);
	/* A 0.8 s skip counts as 0.5 s. */
	ck_assert_double_eq_tol(looks_score(&ls, 10.5, 11.3, 1), 226.0, 1e-4);
	/* Past the last point: the last one. */
	ck_assert_double_eq_tol(
	    looks_score(&ls, 30.0, 34.5, 3), 700.0 + 50.0 + 3.0 + 15.0, 1e-4);
	/* Under the least skip, nothing is known. */
	ck_assert(isnan(looks_score(&ls, 10.0, 10.1, 0)));
	/* A join that differs less than the frames before it moved. */
	ls.calm[0] = 30.0f;
	ls.diff[0] = 20.0f;
	ck_assert_double_eq_tol(looks_score(&ls, 10.0, 10.25, 0), 10.0, 1e-4);
	/* Unmeasured (the skip leaves the shot): the next shorter skip. */
	ls.diff[(7 * LOOKS_NSKIPS + 5) * LOOKS_NVIEWS] = NAN;
	ck_assert_double_eq_tol(
	    looks_score(&ls, 11.75, 16.0, 0), 700.0 + 40.0 + 20.0 - 5.0, 1e-4);
	looks_shot_free(&ls);
}
END_TEST

START_TEST(test_static_texture_punches_in)
{
	uint8_t px[W * H];
	struct looks_shot ls;
	struct looks_rule r;

	texture(px);
	still_shot_looks(px, 20.0, &ls);
	/* No skip changes a still picture; the least punch-in does. */
	ck_assert(looks_choose(&ls, &r));
	ck_assert_double_eq(r.skip_s, looks_skips[0]);
	ck_assert_double_eq(looks_views[r.view].zoom, 1.25);
	ck_assert_double_eq(looks_views[r.view].x, 0.5);
	ck_assert_double_eq(r.share, 1.0);
	ck_assert_double_ge(looks_score(&ls, 3.0, 3.25, r.view), LOOKS_VISIBLE);
	ck_assert_double_lt(looks_score(&ls, 3.0, 7.0, 0), LOOKS_VISIBLE);
	looks_shot_free(&ls);
}
END_TEST

/*
 * A jump visible at every other join time only, and only with one view:
 * no change shows at 80% of the times, but one does within the shift.
 */
START_TEST(test_sometimes_visible_shot_is_cut)
{
	struct looks_shot ls;
	struct looks_rule r;
	size_t i, k;

	ck_assert_int_eq(looks_shot_init(&ls, 0.0, 40), 0);
	for (i = 0; i < ls.npoints; i++) {
		for (k = 0; k < LOOKS_NSKIPS * LOOKS_NVIEWS; k++)
			ls.diff[i * LOOKS_NSKIPS * LOOKS_NVIEWS + k] = 10.0f;
		if (i % 2 == 0)
			ls.diff[i * LOOKS_NSKIPS * LOOKS_NVIEWS + 3] = 50.0f;
	}
	ck_assert(looks_choose(&ls, &r));
	ck_assert_double_eq(r.skip_s, looks_skips[0]);
	ck_assert_uint_eq(r.view, 3);
	ck_assert_double_eq(r.share, 1.0);
	/* Visible nowhere near: no rule. */
	for (i = 0; i < ls.npoints; i++)
		ls.diff[i * LOOKS_NSKIPS * LOOKS_NVIEWS + 3] =
		    i < 10 ? 50.0f : 10.0f;
	ck_assert(!looks_choose(&ls, &r));
	ck_assert_double_lt(r.share, LOOKS_SHARE);
	looks_shot_free(&ls);
}
END_TEST

START_TEST(test_flat_shot_has_no_visible_change)
{
	uint8_t px[W * H];
	struct looks_shot ls;
	struct looks_rule r;

	memset(px, 128, sizeof(px));
	still_shot_looks(px, 10.0, &ls);
	ck_assert(!looks_choose(&ls, &r));
	ck_assert_double_eq(r.share, 0.0);
	looks_shot_free(&ls);
	/* Nothing measured: no rule either. */
	ck_assert(!looks_choose(NULL, &r));
}
END_TEST

/* A plan of n pieces of one shot: 2 s each, gaps of 0.5 s. */
static void
pieces(struct recut_plan *pl, size_t n)
{
	size_t i;

	memset(pl, 0, sizeof(*pl));
	pl->seg = calloc(n, sizeof(*pl->seg));
	ck_assert_ptr_nonnull(pl->seg);
	for (i = 0; i < n; i++) {
		pl->seg[i].src_start_s = 2.5 * (double)i;
		pl->seg[i].src_end_s = 2.5 * (double)i + 2.0;
		pl->seg[i].zoom = 1.0;
		pl->seg[i].zoom_x = pl->seg[i].zoom_y = 0.5;
		pl->seg[i].in.kind = i == 0 ? RECUT_NONE : RECUT_CUT;
	}
	pl->n = n;
	pl->min_len_s = 0.2;
	pl->duration_s = recut_timeline(pl->seg, n);
}

/* Sets every skip's difference at the join time t for scale index z. */
static void
set_join(struct looks_shot *ls, double t, size_t z, float v)
{
	size_t i = (size_t)lround(t / LOOKS_STEP_S), j;

	for (j = 0; j < LOOKS_NSKIPS; j++)
		ls->diff[(i * LOOKS_NSKIPS + j) * LOOKS_NVIEWS + z] = v;
}

START_TEST(test_verify_reframes_or_joins)
{
	struct recut_shot shot = {0.0, 20.0, 0.5, true, false};
	const struct looks_shot *lp[1];
	struct looks_shot ls;
	struct recut_plan pl;
	size_t i, v, view = 1, side = looks_view_of(1.5, 0.0, 0.5);
	double t;

	ck_assert_int_eq(looks_shot_init(&ls, 0.0, 80), 0);
	for (i = 0; i < ls.npoints; i++) {
		ls.calm[i] = 2.0f;
		for (v = 0; v < LOOKS_NSKIPS * LOOKS_NVIEWS; v++)
			ls.diff[i * LOOKS_NSKIPS * LOOKS_NVIEWS + v] = 50.0f;
	}
	/*
	 * Join 2 (at 4.5 s) shows only with 1.5x to the left (or dearer
	 * views); join 4 (at 9.5 s) shows nothing, nor does anything near.
	 */
	for (v = 1; v < LOOKS_NVIEWS; v++) {
		if (looks_views[v].zoom < 1.5 ||
		    (looks_views[v].zoom == 1.5 && v < side))
			set_join(&ls, 4.5, v, 20.0f);
	}
	for (v = 0; v < LOOKS_NVIEWS; v++)
		for (t = 9.5 - LOOKS_SHIFT_S; t < 9.5 + LOOKS_SHIFT_S + 0.01;
		     t += LOOKS_STEP_S)
			set_join(&ls, t, v, 10.0f);
	lp[0] = &ls;
	pieces(&pl, 6);
	pl.seg[3].zoom = 7.0; /* whatever was there is reset */
	ck_assert_uint_eq(looks_verify(&pl, &shot, lp, &view, 1, NULL, 0), 1);
	ck_assert_uint_eq(pl.n, 5);
	ck_assert_double_eq(pl.seg[0].zoom, 1.0);
	ck_assert_double_eq(pl.seg[1].zoom, 1.5);
	ck_assert_double_eq(pl.seg[1].zoom_x, 0.0);
	ck_assert_double_eq(pl.seg[1].zoom_y, 0.5);
	ck_assert_double_eq(pl.seg[2].zoom, 1.0);
	ck_assert_double_eq(pl.seg[3].zoom, 1.25);
	ck_assert_double_eq(pl.seg[3].zoom_x, 0.5);
	/* Pieces 4 and 5 are one, the skipped 0.5 s kept. */
	ck_assert_double_eq(pl.seg[3].src_start_s, 7.5);
	ck_assert_double_eq(pl.seg[3].src_end_s, 12.0);
	ck_assert_double_eq(pl.seg[4].zoom, 1.0);
	ck_assert_double_eq(pl.duration_s, 12.5);
	for (i = 1; i < pl.n; i++)
		ck_assert_double_ge(
		    looks_score(&ls, pl.seg[i - 1].src_end_s,
			pl.seg[i].src_start_s,
			looks_view_of(fmax(pl.seg[i - 1].zoom, pl.seg[i].zoom),
			    pl.seg[i - 1].zoom > 1.0 ? pl.seg[i - 1].zoom_x
						     : pl.seg[i].zoom_x,
			    0.5)),
		    LOOKS_VISIBLE);
	recut_plan_free(&pl);
	/* A shot without looks is left as it is. */
	lp[0] = NULL;
	pieces(&pl, 3);
	ck_assert_uint_eq(looks_verify(&pl, &shot, lp, &view, 1, NULL, 0), 0);
	ck_assert_uint_eq(pl.n, 3);
	ck_assert_double_eq(pl.seg[1].zoom, 1.25);
	recut_plan_free(&pl);
	looks_shot_free(&ls);
}
END_TEST

START_TEST(test_verify_moves_a_jump)
{
	struct recut_shot shot = {0.0, 20.0, 0.5, true, false};
	const struct looks_shot *lp[1];
	struct looks_shot ls;
	struct recut_plan pl;
	size_t i, v, view = 1;

	ck_assert_int_eq(looks_shot_init(&ls, 0.0, 80), 0);
	for (i = 0; i < ls.npoints * LOOKS_NSKIPS * LOOKS_NVIEWS; i++)
		ls.diff[i] = 50.0f;
	/* Nothing shows at 4.5 s or 4.75 s: the jump moves back 0.25 s. */
	for (v = 0; v < LOOKS_NVIEWS; v++) {
		set_join(&ls, 4.5, v, 10.0f);
		set_join(&ls, 4.75, v, 10.0f);
	}
	lp[0] = &ls;
	pieces(&pl, 4);
	pl.seg[1].end_on_beat = pl.seg[2].start_on_beat = true;
	ck_assert_uint_eq(looks_verify(&pl, &shot, lp, &view, 1, NULL, 0), 0);
	ck_assert_uint_eq(pl.n, 4);
	ck_assert_double_eq_tol(pl.seg[1].src_end_s, 4.25, 1e-9);
	ck_assert_double_eq_tol(pl.seg[2].src_start_s, 4.75, 1e-9);
	ck_assert(!pl.seg[1].end_on_beat && !pl.seg[2].start_on_beat);
	/* The output keeps its length: one piece gave what the other took. */
	ck_assert_double_eq_tol(pl.duration_s, 8.0, 1e-9);
	recut_plan_free(&pl);
	looks_shot_free(&ls);
}
END_TEST

/*
 * A jump on the beats that does not show moves by a whole beat (both
 * sides) and stays on the beat, before any move off it.
 */
START_TEST(test_verify_keeps_a_jump_on_the_beat)
{
	struct recut_shot shot = {0.0, 20.0, 0.5, true, false};
	const struct looks_shot *lp[1];
	double beats[40];
	struct looks_shot ls;
	struct recut_plan pl;
	size_t i, v, view = 1;

	/* 125 BPM: 0.48 s a beat; the pieces end and start on beats. */
	for (i = 0; i < 40; i++)
		beats[i] = 0.48 * (double)i;
	ck_assert_int_eq(looks_shot_init(&ls, 0.0, 80), 0);
	for (i = 0; i < ls.npoints * LOOKS_NSKIPS * LOOKS_NVIEWS; i++)
		ls.diff[i] = 50.0f;
	/* Nothing shows at 4.32 s (nearest join time 4.25) nor 4.5 s. */
	for (v = 0; v < LOOKS_NVIEWS; v++) {
		set_join(&ls, 4.25, v, 10.0f);
		set_join(&ls, 4.5, v, 10.0f);
	}
	lp[0] = &ls;
	pieces(&pl, 3);
	pl.seg[0].src_end_s = beats[4];
	pl.seg[1].src_start_s = beats[5];
	pl.seg[1].src_end_s = beats[9];
	pl.seg[2].src_start_s = beats[11];
	pl.seg[2].src_end_s = beats[15];
	for (i = 0; i < 3; i++)
		pl.seg[i].start_on_beat = pl.seg[i].end_on_beat = true;
	pl.duration_s = recut_timeline(pl.seg, pl.n);
	ck_assert_uint_eq(looks_verify(&pl, &shot, lp, &view, 1, beats, 40), 0);
	ck_assert_uint_eq(pl.n, 3);
	/* The second join, 4.32 -> 5.28, went one beat on (or back). */
	ck_assert(fabs(pl.seg[1].src_end_s - beats[10]) < 1e-9 ||
		  fabs(pl.seg[1].src_end_s - beats[8]) < 1e-9);
	ck_assert(pl.seg[1].end_on_beat && pl.seg[2].start_on_beat);
	ck_assert_uint_eq(pl.cuts_on_beats, 2);
	recut_plan_free(&pl);
	looks_shot_free(&ls);
}
END_TEST

START_TEST(test_verify_leaves_source_cuts)
{
	struct recut_shot shots[2] = {
	    {0.0, 2.2, 0.5, false, false}, {2.2, 20.0, 0.5, false, false}};
	const struct looks_shot *lp[2];
	struct looks_shot a, b;
	struct recut_plan pl;
	size_t view[2] = {0, 0};

	ck_assert_int_eq(looks_shot_init(&a, 0.0, 8), 0);
	ck_assert_int_eq(looks_shot_init(&b, 2.2, 8), 0);
	lp[0] = &a;
	lp[1] = &b;
	/* Everything unmeasured (NAN): the cut between shots stays. */
	pieces(&pl, 2);
	pl.seg[1].src_start_s = 2.5;
	ck_assert_uint_eq(looks_verify(&pl, shots, lp, view, 2, NULL, 0), 0);
	ck_assert_uint_eq(pl.n, 2);
	recut_plan_free(&pl);
	looks_shot_free(&a);
	looks_shot_free(&b);
}
END_TEST

static Suite *
dsp_looks_suite(void)
{
	Suite *s = suite_create("dsp_looks");
	TCase *tc = tcase_create("looks");

	tcase_add_test(tc, test_sample_whole_and_punch_in);
	tcase_add_test(tc, test_score_lookup);
	tcase_add_test(tc, test_static_texture_punches_in);
	tcase_add_test(tc, test_sometimes_visible_shot_is_cut);
	tcase_add_test(tc, test_flat_shot_has_no_visible_change);
	tcase_add_test(tc, test_verify_reframes_or_joins);
	tcase_add_test(tc, test_verify_moves_a_jump);
	tcase_add_test(tc, test_verify_keeps_a_jump_on_the_beat);
	tcase_add_test(tc, test_verify_leaves_source_cuts);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dsp_looks_suite)

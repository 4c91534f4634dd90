/*
 * Tests for dsp/recut.c on hand-made shot lists, rhythms and beat grids:
 * every plan keeps the plan.md and recut.h rules (segments inside one
 * source shot, in source order, no overlap, at least two frames and the
 * minimum length, visible jumps within a shot, the output timeline); the
 * re-cut reaches the template's cut frequency within 10 %, follows a varied
 * rhythm, drops a fast source's short shots, snaps cut points to beats
 * within a period, lays out dissolves as plan.md says, takes the
 * template's transitions in turn and refuses a source with nothing usable.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "recut.h"

/* The plan.md and recut.h rules, for any plan. */
static void
check_segments(const struct recut_plan *pl, const struct recut_shot *sh,
    size_t nsh, double fps)
{
	size_t i, k, shot_prev = SIZE_MAX;
	double out = 0.0, len;

	ck_assert_uint_gt(pl->n, 0);
	ck_assert_int_eq(pl->seg[0].in.kind, RECUT_NONE);
	for (i = 0; i < pl->n; i++) {
		const struct recut_segment *s = &pl->seg[i];

		len = s->src_end_s - s->src_start_s;
		ck_assert_double_ge(len, 2.0 / fps - 1e-9);
		ck_assert_double_ge(len, pl->min_len_s - 1e-9);
		for (k = 0; k < nsh; k++) {
			if (s->src_start_s >= sh[k].start_s - 1e-9 &&
			    s->src_end_s <= sh[k].end_s + 1e-9)
				break;
		}
		ck_assert_msg(k < nsh, "segment %zu spans a source cut", i);
		if (i > 0) {
			const struct recut_segment *p = &pl->seg[i - 1];

			ck_assert_double_gt(s->src_start_s, p->src_start_s);
			ck_assert_double_ge(
			    s->src_start_s, p->src_end_s - 1e-9);
			if (k == shot_prev)
				ck_assert_double_ge(
				    s->src_start_s - p->src_end_s,
				    sh[k].min_gap_s - 1e-9);
			ck_assert_int_ne(s->in.kind, RECUT_NONE);
			out += p->src_end_s - p->src_start_s;
			if (s->in.kind == RECUT_DISSOLVE)
				out -= s->in.duration_s;
		}
		ck_assert_double_eq_tol(s->out_start_s, out, 1e-9);
		shot_prev = k;
	}
	ck_assert_double_eq_tol(pl->duration_s,
	    out + pl->seg[pl->n - 1].src_end_s - pl->seg[pl->n - 1].src_start_s,
	    1e-9);
}

START_TEST(test_recut_six_second_shots)
{
	double pattern[10];
	struct recut_shot sh = {0.0, 60.0, 2.0, false, false};
	struct recut_params p;
	struct recut_plan pl;
	double cf = 60.0 * 9 / 60.0;
	int i;

	for (i = 0; i < 10; i++)
		pattern[i] = 6.0;
	memset(&p, 0, sizeof(p));
	p.pattern = pattern;
	p.npattern = 10;
	p.cut_frequency = cf;
	p.frame_rate = 25.0;
	ck_assert_int_eq(recut_plan_build(&sh, 1, &p, &pl), 0);
	printf("6 s shots on 60 s: %zu segments, %.2f s, %.2f cuts/min "
	       "(template %.2f)\n",
	    pl.n, pl.duration_s, pl.cut_frequency, cf);
	ck_assert_uint_ge(pl.n, 7);
	ck_assert_uint_le(pl.n, 11);
	ck_assert_double_eq_tol(pl.cut_frequency, cf, 0.1 * cf);
	ck_assert(!pl.beat_snapped);
	check_segments(&pl, &sh, 1, 25.0);
	recut_plan_free(&pl);
}
END_TEST

START_TEST(test_recut_follows_varied_rhythm)
{
	/* 12 s template: 1, 3, 1, 3, 1, 3 s shots; source: three shots. */
	const double pattern[6] = {1, 3, 1, 3, 1, 3};
	struct recut_shot sh[3] = {{0.0, 20.0, 1.0, false, false},
	    {20.0, 24.0, 1.0, false, false}, {24.0, 45.0, 1.5, false, false}};
	struct recut_params p;
	struct recut_plan pl;
	double cf = 60.0 * 5 / 12.0, shortest = 1e9, longest = 0.0, len;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.pattern = pattern;
	p.npattern = 6;
	p.cut_frequency = cf;
	p.frame_rate = 30.0;
	ck_assert_int_eq(recut_plan_build(sh, 3, &p, &pl), 0);
	check_segments(&pl, sh, 3, 30.0);
	for (i = 0; i < pl.n; i++) {
		len = pl.seg[i].src_end_s - pl.seg[i].src_start_s;
		shortest = fmin(shortest, len);
		longest = fmax(longest, len);
	}
	printf("varied rhythm: %zu segments, %.2f cuts/min (template %.2f), "
	       "lengths %.2f..%.2f\n",
	    pl.n, pl.cut_frequency, cf, shortest, longest);
	ck_assert_double_eq_tol(pl.cut_frequency, cf, 0.1 * cf);
	/* Short and long shots alternate as in the template. */
	ck_assert_double_gt(longest / shortest, 2.0);
	recut_plan_free(&pl);
}
END_TEST

START_TEST(test_recut_fast_source_drops_short_shots)
{
	/* Source cut every 1 s except two 6 s shots; template 4 s shots. */
	struct recut_shot sh[30];
	const double pattern[5] = {4, 4, 4, 4, 4};
	struct recut_params p;
	struct recut_plan pl;
	double t = 0.0, own;
	size_t i, n = 0;

	for (i = 0; i < 30; i++) {
		double len = i == 10 || i == 20 ? 6.0 : 1.0;

		sh[n++] = (struct recut_shot){t, t + len, 1.0, false, false};
		t += len;
	}
	own = 60.0 * 29 / t;
	memset(&p, 0, sizeof(p));
	p.pattern = pattern;
	p.npattern = 5;
	p.cut_frequency = 60.0 * 4 / 20.0;
	p.frame_rate = 25.0;
	ck_assert_int_eq(recut_plan_build(sh, n, &p, &pl), 0);
	check_segments(&pl, sh, n, 25.0);
	printf("fast source: own %.1f cuts/min, output %.1f, template %.1f\n",
	    own, pl.cut_frequency, p.cut_frequency);
	ck_assert_double_lt(pl.cut_frequency, own / 2);
	recut_plan_free(&pl);
}
END_TEST

START_TEST(test_recut_snaps_to_beats)
{
	const double pattern[4] = {2.2, 2.2, 2.2, 2.2};
	struct recut_shot sh[2] = {
	    {0.0, 17.3, 1.0, false, false}, {17.3, 40.0, 1.0, false, false}};
	struct recut_params p;
	struct recut_plan free_cut, snapped;
	double beats[100], period = 0.5;
	size_t i, n = 0, on = 0;

	for (i = 0; i < 80; i++)
		beats[n++] = 0.13 + i * period;
	memset(&p, 0, sizeof(p));
	p.pattern = pattern;
	p.npattern = 4;
	p.cut_frequency = 60.0 * 3 / 8.8;
	p.frame_rate = 25.0;
	ck_assert_int_eq(recut_plan_build(sh, 2, &p, &free_cut), 0);
	p.beats = beats;
	p.nbeats = n;
	ck_assert_int_eq(recut_plan_build(sh, 2, &p, &snapped), 0);
	ck_assert(snapped.beat_snapped);
	check_segments(&snapped, sh, 2, 25.0);
	ck_assert_uint_eq(free_cut.n, snapped.n);
	for (i = 0; i < snapped.n; i++) {
		const struct recut_segment *a = &free_cut.seg[i];
		const struct recut_segment *b = &snapped.seg[i];
		double s = recut_snap(b->src_start_s, beats, n, -1, 1e9, 1e-9);
		double e = recut_snap(b->src_end_s, beats, n, -1, 1e9, 1e-9);

		ck_assert_double_le(
		    fabs(a->src_start_s - b->src_start_s), period);
		ck_assert_double_le(fabs(a->src_end_s - b->src_end_s), period);
		on += (s == b->src_start_s) + (e == b->src_end_s);
	}
	printf(
	    "beat snap: %zu of %zu cut points on a beat\n", on, 2 * snapped.n);
	ck_assert_uint_ge(on, 2 * snapped.n - 2);
	recut_plan_free(&free_cut);
	recut_plan_free(&snapped);
}
END_TEST

/* Whether t is one of the n beats. */
static bool
on_beat(double t, const double *beats, size_t n)
{
	size_t i;

	for (i = 0; i < n && beats[i] != t; i++)
		;
	return i < n;
}

START_TEST(test_recut_static_shot_punches_in)
{
	/* A 30 s static take re-cut every 0.96 s: jumps cannot show by
	 * skipping, so the framing alternates and nothing is skipped. */
	const double pattern[1] = {0.96};
	struct recut_shot sh[2] = {
	    {0.0, 30.0, 0.0, true, false}, {30.0, 40.0, 2.0, false, false}};
	struct recut_params p;
	struct recut_plan pl;
	size_t i, in_take = 0;
	double kept = 0.0;

	memset(&p, 0, sizeof(p));
	p.pattern = pattern;
	p.npattern = 1;
	p.cut_frequency = 60.0 / 0.96;
	p.frame_rate = 25.0;
	p.punch_in = 1.25;
	ck_assert_int_eq(recut_plan_build(sh, 2, &p, &pl), 0);
	check_segments(&pl, sh, 2, 25.0);
	for (i = 0; i < pl.n; i++) {
		const struct recut_segment *s = &pl.seg[i];

		if (s->src_start_s >= 30.0) {
			ck_assert_double_eq(s->zoom, 1.0);
			continue;
		}
		/* Whole, punch-in, whole, ... from the take's start. */
		ck_assert_double_eq(s->zoom, in_take % 2 == 1 ? 1.25 : 1.0);
		in_take++;
		kept += s->src_end_s - s->src_start_s;
	}
	printf("static take: %zu segments, %.1f of 30 s kept, %.1f cuts/min "
	       "(template %.1f)\n",
	    in_take, kept, pl.cut_frequency, p.cut_frequency);
	ck_assert_double_ge(kept, 27.0);
	ck_assert_double_eq_tol(
	    pl.cut_frequency, p.cut_frequency, 0.1 * p.cut_frequency);
	recut_plan_free(&pl);
}
END_TEST

START_TEST(test_recut_snaps_each_cut)
{
	/* 130 BPM with a 6 s break: cuts in the break cannot snap, the
	 * others still do (not one blocks another), and snapping keeps the
	 * plan's rate. */
	const double pattern[1] = {0.96}, period = 60.0 / 130.0;
	struct recut_shot sh[3] = {{0.0, 10.0, 4.0, true, false},
	    {10.0, 20.0, 4.0, true, false}, {20.0, 30.0, 1.0, false, false}};
	struct recut_params p;
	struct recut_plan pl, free_cut;
	double beats[100], t;
	size_t i, n = 0, on = 0, clear = 0, clear_on = 0;

	for (t = 0.05; t < 30.0; t += period) {
		if (t < 10.0 || t >= 16.0)
			beats[n++] = t;
	}
	memset(&p, 0, sizeof(p));
	p.pattern = pattern;
	p.npattern = 1;
	p.cut_frequency = 60.0 / 0.96;
	p.frame_rate = 25.0;
	p.punch_in = 1.25;
	p.beats = beats;
	p.nbeats = n;
	ck_assert_int_eq(recut_plan_build(sh, 3, &p, &pl), 0);
	check_segments(&pl, sh, 3, 25.0);
	for (i = 1; i < pl.n; i++) {
		double a = pl.seg[i - 1].src_end_s, b = pl.seg[i].src_start_s;

		on += on_beat(a, beats, n) && on_beat(b, beats, n);
		if (a < 10.0 - period || b > 16.0 + period) {
			clear++;
			clear_on +=
			    on_beat(a, beats, n) && on_beat(b, beats, n);
		}
	}
	printf("beats with a break: %zu of %zu cuts on a beat (%zu of %zu "
	       "away from the break), %.1f cuts/min (template %.1f)\n",
	    on, pl.n - 1, clear_on, clear, pl.cut_frequency, p.cut_frequency);
	ck_assert_uint_eq(pl.cuts_on_beats, on);
	ck_assert_uint_lt(on, pl.n - 1);
	ck_assert_uint_gt(clear_on, 0);
	ck_assert(pl.beat_snapped == (2 * on > pl.n - 1));
	/* Snapping keeps the rhythm of the unsnapped plan. */
	p.beats = NULL;
	p.nbeats = 0;
	ck_assert_int_eq(recut_plan_build(sh, 3, &p, &free_cut), 0);
	ck_assert_double_eq_tol(
	    pl.cut_frequency, free_cut.cut_frequency, 0.1 * pl.cut_frequency);
	recut_plan_free(&free_cut);
	recut_plan_free(&pl);
}
END_TEST

START_TEST(test_recut_snap_and_period)
{
	const double beats[5] = {1.0, 1.5, 2.0, 2.5, 3.1};

	ck_assert_double_eq(recut_snap(1.6, beats, 5, 0, 10, 0.25), 1.5);
	ck_assert_double_eq(recut_snap(1.6, beats, 5, 1.7, 10, 0.5), 2.0);
	ck_assert_double_eq(recut_snap(1.6, beats, 5, 0, 10, 0.05), 1.6);
	ck_assert_double_eq(recut_snap(9.0, beats, 5, 0, 10, 1.0), 9.0);
	ck_assert_double_eq(recut_beat_period(beats, 5), 0.5);
	ck_assert_double_eq(recut_beat_period(beats, 1), 0.0);
}
END_TEST

START_TEST(test_dissolve_overlap_arithmetic)
{
	struct recut_segment s[4] = {
	    {0.0, 2.5, 0, {RECUT_NONE, 0}, 1.0, false, false, 0.5, 0.5},
	    {3.1, 5.0, 0, {RECUT_CUT, 0}, 1.0, false, false, 0.5, 0.5},
	    {6.0, 9.0, 0, {RECUT_DISSOLVE, 0.25}, 1.0, false, false, 0.5, 0.5},
	    {9.5, 11.0, 0, {RECUT_FADE, 0.5}, 1.0, false, false, 0.5, 0.5},
	};
	double d = recut_timeline(s, 4);

	/* plan.md's example, then a fade: no overlap. */
	ck_assert_double_eq_tol(s[0].out_start_s, 0.0, 1e-12);
	ck_assert_double_eq_tol(s[1].out_start_s, 2.5, 1e-12);
	ck_assert_double_eq_tol(s[2].out_start_s, 4.15, 1e-12);
	ck_assert_double_eq_tol(s[3].out_start_s, 7.15, 1e-12);
	ck_assert_double_eq_tol(d, 8.65, 1e-12);
	ck_assert_double_eq_tol(
	    recut_cut_frequency(4, d), 60.0 * 3 / 8.65, 1e-12);
}
END_TEST

START_TEST(test_recut_transitions_follow_template)
{
	const double pattern[4] = {3, 3, 3, 3};
	const struct recut_transition tr[3] = {
	    {RECUT_DISSOLVE, 0.5}, {RECUT_CUT, 0}, {RECUT_FADE, 0.4}};
	struct recut_shot sh = {0.0, 60.0, 1.0, false, false};
	struct recut_params p;
	struct recut_plan pl;
	size_t i, count[4] = {0, 0, 0, 0};

	memset(&p, 0, sizeof(p));
	p.pattern = pattern;
	p.npattern = 4;
	p.transitions = tr;
	p.ntransitions = 3;
	p.cut_frequency = 60.0 * 3 / 12.0;
	p.frame_rate = 30.0;
	ck_assert_int_eq(recut_plan_build(&sh, 1, &p, &pl), 0);
	check_segments(&pl, &sh, 1, 30.0);
	for (i = 1; i < pl.n; i++) {
		ck_assert_int_eq(pl.seg[i].in.kind, tr[(i - 1) % 3].kind);
		ck_assert_double_eq_tol(
		    pl.seg[i].in.duration_s, tr[(i - 1) % 3].duration_s, 1e-9);
		count[pl.seg[i].in.kind]++;
	}
	/* Dissolves need room on both sides. */
	ck_assert_double_ge(pl.min_len_s, 2 * 0.5);
	ck_assert_uint_ge(count[RECUT_DISSOLVE], 2);
	ck_assert_uint_ge(count[RECUT_FADE], 2);
	recut_plan_free(&pl);
}
END_TEST

START_TEST(test_recut_refuses_nothing_usable)
{
	const double pattern[1] = {2};
	struct recut_shot sh = {0.0, 0.05, 1.0, false, false};
	struct recut_params p;
	struct recut_plan pl;

	memset(&p, 0, sizeof(p));
	p.pattern = pattern;
	p.npattern = 1;
	p.cut_frequency = 10;
	p.frame_rate = 25;
	ck_assert_int_eq(recut_plan_build(&sh, 1, &p, &pl), -1);
	ck_assert_uint_eq(pl.n, 0);
}
END_TEST

/* Ten 2 s pieces, 3 s apart in the source, joined by cuts. */
static void
ten_pieces(struct recut_plan *pl, double min_len)
{
	memset(pl, 0, sizeof(*pl));
	pl->seg = calloc(10, sizeof(*pl->seg));
	ck_assert_ptr_nonnull(pl->seg);
	for (size_t i = 0; i < 10; i++) {
		pl->seg[i].src_start_s = 3.0 * i;
		pl->seg[i].src_end_s = 3.0 * i + 2.0;
		pl->seg[i].in.kind = i == 0 ? RECUT_NONE : RECUT_CUT;
	}
	pl->n = 10;
	pl->min_len_s = min_len;
	pl->duration_s = recut_timeline(pl->seg, pl->n);
}

/*
 * recut_plan_fit: 20 s to 9 s takes the five pieces 0, 2, 5, 7, 9 and
 * trims the last by 1 s; when the last cannot give that much, every piece
 * gives in proportion; a plan shorter than asked is left alone.
 */
START_TEST(test_recut_fit_duration)
{
	static const size_t kept[] = {0, 2, 5, 7, 9};
	struct recut_plan pl;

	ten_pieces(&pl, 0.5);
	ck_assert_int_eq(recut_plan_fit(&pl, 9.0), 0);
	ck_assert_uint_eq(pl.n, 5);
	ck_assert_double_eq_tol(pl.duration_s, 9.0, 1e-9);
	for (size_t i = 0; i < 5; i++)
		ck_assert_double_eq(pl.seg[i].src_start_s, 3.0 * kept[i]);
	ck_assert_int_eq(pl.seg[0].in.kind, RECUT_NONE);
	ck_assert_double_eq_tol(pl.seg[4].src_end_s, 28.0, 1e-9);
	ck_assert_double_eq_tol(pl.cut_frequency, 60.0 * 4 / 9.0, 1e-9);
	recut_plan_free(&pl);
	ten_pieces(&pl, 1.8);
	ck_assert_int_eq(recut_plan_fit(&pl, 9.0), 0);
	ck_assert_uint_eq(pl.n, 5);
	ck_assert_double_eq_tol(pl.duration_s, 9.0, 1e-9);
	for (size_t i = 0; i < 5; i++)
		ck_assert_double_eq_tol(
		    pl.seg[i].src_end_s - pl.seg[i].src_start_s, 1.8, 1e-9);
	recut_plan_free(&pl);
	ten_pieces(&pl, 0.5);
	ck_assert_int_eq(recut_plan_fit(&pl, 30.0), 0);
	ck_assert_uint_eq(pl.n, 10);
	ck_assert_double_eq(pl.duration_s, 20.0);
	recut_plan_free(&pl);
}
END_TEST

static Suite *
dsp_recut_suite(void)
{
	Suite *s = suite_create("dsp_recut");
	TCase *tc = tcase_create("recut");

	tcase_add_test(tc, test_recut_six_second_shots);
	tcase_add_test(tc, test_recut_follows_varied_rhythm);
	tcase_add_test(tc, test_recut_fast_source_drops_short_shots);
	tcase_add_test(tc, test_recut_snaps_to_beats);
	tcase_add_test(tc, test_recut_snap_and_period);
	tcase_add_test(tc, test_recut_static_shot_punches_in);
	tcase_add_test(tc, test_recut_snaps_each_cut);
	tcase_add_test(tc, test_dissolve_overlap_arithmetic);
	tcase_add_test(tc, test_recut_transitions_follow_template);
	tcase_add_test(tc, test_recut_refuses_nothing_usable);
	tcase_add_test(tc, test_recut_fit_duration);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dsp_recut_suite)

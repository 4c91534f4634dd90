/*
 * Edit planning (recut.h).
 *
 * A source shot of usable length U with jump gap g gives n pieces whose
 * targets are the next n lengths of the template's sequence scaled to a
 * mean length lbar; n is the most pieces that fit at no less than 3/4 of
 * their targets. Pieces are squeezed to fit, never stretched (that would
 * slow the rhythm): room left over widens the jumps. The output cut
 * frequency depends on lbar in steps (n is whole, the ends count), so lbar
 * is chosen by scanning a range around the nominal 60 / cut_frequency;
 * plans within RECUT_SCAN_TIE of the best frequency count as equal and the
 * one keeping the most material wins. A source cut faster than the
 * template cannot give longer shots (its cuts are visible), so its
 * shortest pieces are dropped, as few as bring it into the same band.
 * Beat snapping moves piece lengths, so every candidate is measured after
 * snapping: the rate chosen is the rate of the plan that is emitted.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recut.h"

/* lbar candidates: RECUT_SCAN_STEPS from nominal / SPAN to nominal * SPAN. */
#define RECUT_SCAN_STEPS 161
#define RECUT_SCAN_SPAN 4.0
/*
 * Plans whose cut frequency is within this relative error of the best
 * one count as equal, and the one keeping the most material wins.
 */
#define RECUT_SCAN_TIE 0.05
/*
 * Only plans keeping at least this share of the most material any
 * candidate keeps compete: snapped to a beat grid, a two-segment plan can
 * hit the rate exactly and would otherwise beat a whole re-cut 10% off.
 */
#define RECUT_KEEP_MIN 0.5
/* Pieces shrink to no less than this share of their target lengths. */
#define RECUT_FIT_MIN 0.75
/* A mean length no shot reaches: one piece per shot. */
#define RECUT_NO_CUTS 1e9

struct recut_piece {
	double s, e;
	size_t shot;
	bool s_on_beat, e_on_beat;
};

struct recut_len {
	double len;
	size_t idx;
	/* Relative rate error once the pieces before this one are dropped. */
	double err;
};

struct recut_work {
	const struct recut_shot *shots;
	size_t nshots;
	const struct recut_params *p;
	double min_len;
	double overlap; /* mean output overlap per join (dissolves) */
	double pmean;	/* mean template shot length */
	struct recut_piece *pc;
	struct recut_len *order;
	size_t n, cap;
};

static double recut_target(const struct recut_work *w, double lbar, size_t j);
static size_t recut_shot_count(const struct recut_work *w,
    const struct recut_shot *sh, double lbar, size_t j);
static void recut_shot_fill(
    struct recut_work *w, size_t i, double lbar, size_t j, size_t cnt);
static void recut_fill(struct recut_work *w, double lbar);
static double recut_total(const struct recut_work *w);
static double recut_rate(const struct recut_work *w, size_t n, double total);
static int recut_len_cmp(const void *a, const void *b);
static void recut_drop(struct recut_work *w);
static double recut_choose(struct recut_work *w);
static void recut_snap_pieces(struct recut_work *w);
static void recut_arrange(struct recut_work *w, double lbar);
static double recut_join(const struct recut_work *w, size_t i, double a,
    double b, enum recut_kind *kind);
static double recut_zoom(const struct recut_work *w, size_t i);
static int recut_emit(const struct recut_work *w, struct recut_plan *out);
static void recut_transition_needs(struct recut_work *w);
static int recut_work_init(struct recut_work *w, const struct recut_shot *shots,
    size_t nshots, const struct recut_params *p);

const char *
recut_kind_name(enum recut_kind kind)
{
	switch (kind) {
	case RECUT_CUT:
		return "cut";
	case RECUT_FADE:
		return "fade";
	case RECUT_DISSOLVE:
		return "dissolve";
	case RECUT_NONE:
		break;
	}
	return "none";
}

int
recut_kind_parse(const char *name, enum recut_kind *out)
{
	static const enum recut_kind kinds[] = {
	    RECUT_NONE, RECUT_CUT, RECUT_FADE, RECUT_DISSOLVE};
	size_t i;

	for (i = 0; name != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(name, recut_kind_name(kinds[i])) == 0) {
			*out = kinds[i];
			return 0;
		}
	}
	return -1;
}

/* Index of the first beat at or after t (nbeats when none). */
static size_t
recut_beat_from(double t, const double *beats, size_t nbeats)
{
	size_t a = 0, b = nbeats, m;

	while (a < b) {
		m = a + (b - a) / 2;
		if (beats[m] < t)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

double
recut_snap(double t, const double *beats, size_t nbeats, double lo, double hi,
    double max_dist)
{
	double best = t, dist = max_dist;
	size_t a;

	for (a = recut_beat_from(lo, beats, nbeats);
	     a < nbeats && beats[a] <= hi; a++) {
		if (fabs(beats[a] - t) <= dist) {
			dist = fabs(beats[a] - t);
			best = beats[a];
		}
	}
	return best;
}

static int
recut_double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
recut_beat_period(const double *beats, size_t nbeats)
{
	double *d, period;
	size_t i;

	if (nbeats < 2 || (d = calloc(nbeats - 1, sizeof(*d))) == NULL)
		return 0.0;
	for (i = 0; i + 1 < nbeats; i++)
		d[i] = beats[i + 1] - beats[i];
	qsort(d, nbeats - 1, sizeof(*d), recut_double_cmp);
	period = d[(nbeats - 1) / 2];
	free(d);
	return period;
}

double
recut_timeline(struct recut_segment *seg, size_t n)
{
	double out = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0 && seg[i].in.kind == RECUT_DISSOLVE)
			out -= seg[i].in.duration_s;
		seg[i].out_start_s = out;
		out += seg[i].src_end_s - seg[i].src_start_s;
	}
	return n > 0 ? out : 0.0;
}

double
recut_cut_frequency(size_t n, double duration_s)
{
	if (n < 2 || !(duration_s > 0.0))
		return 0.0;
	return 60.0 * (double)(n - 1) / duration_s;
}

static double
recut_target(const struct recut_work *w, double lbar, size_t j)
{
	return lbar * w->p->pattern[j % w->p->npattern] / w->pmean;
}

/*
 * The most pieces that fit the shot at no less than RECUT_FIT_MIN of
 * their target lengths, or one squeezed piece when not even one fits;
 * 0 when the shot is shorter than min_len.
 */
static size_t
recut_shot_count(const struct recut_work *w, const struct recut_shot *sh,
    double lbar, size_t j)
{
	double u = sh->end_s - sh->start_s, sum = 0.0, avail;
	size_t n;

	if (u < w->min_len)
		return 0;
	if (sh->single)
		return 1;
	for (n = 1;; n++) {
		sum += fmax(recut_target(w, lbar, j + n - 1), w->min_len);
		avail = u - (double)(n - 1) * sh->min_gap_s;
		if (avail < RECUT_FIT_MIN * sum ||
		    avail < (double)n * w->min_len)
			return n > 1 ? n - 1 : 1;
	}
}

/*
 * A shot too short for its targets squeezes them: each piece gets min_len
 * plus a share of the rest in proportion to its target. A longer one keeps
 * them at their targets and widens the jumps instead, since stretching
 * pieces would slow the rhythm; what is left after a single piece is not
 * used.
 */
static void
recut_shot_fill(
    struct recut_work *w, size_t i, double lbar, size_t j, size_t cnt)
{
	const struct recut_shot *sh = &w->shots[i];
	double sum = 0.0, avail, spare, gap = sh->min_gap_s, t = sh->start_s;
	double len[2];
	size_t k;

	for (k = 0; k < cnt; k++)
		sum += fmax(recut_target(w, lbar, j + k), w->min_len);
	avail = sh->end_s - sh->start_s - (double)(cnt - 1) * gap;
	spare = avail - (double)cnt * w->min_len;
	if (avail > sum && cnt > 1)
		gap += (avail - sum) / (double)(cnt - 1);
	for (k = 0; k < cnt && w->n < w->cap; k++) {
		len[0] = fmax(recut_target(w, lbar, j + k), w->min_len);
		len[1] = w->min_len + spare * len[0] / sum;
		w->pc[w->n].s = t;
		w->pc[w->n].e = avail > sum ? t + len[0] : t + len[1];
		if (k + 1 == cnt && (avail <= sum || cnt > 1))
			w->pc[w->n].e = sh->end_s;
		w->pc[w->n].shot = i;
		w->pc[w->n].s_on_beat = w->pc[w->n].e_on_beat = false;
		w->n++;
		t += (avail > sum ? len[0] : len[1]) + gap;
	}
}

static void
recut_fill(struct recut_work *w, double lbar)
{
	size_t i, j = 0, cnt;

	w->n = 0;
	for (i = 0; i < w->nshots; i++) {
		cnt = recut_shot_count(w, &w->shots[i], lbar, j);
		if (cnt == 0)
			continue;
		recut_shot_fill(w, i, lbar, j, cnt);
		j += cnt;
	}
}

static double
recut_total(const struct recut_work *w)
{
	double total = 0.0;
	size_t i;

	for (i = 0; i < w->n; i++)
		total += w->pc[i].e - w->pc[i].s;
	return total;
}

/* Output cut frequency of n pieces of this total source length. */
static double
recut_rate(const struct recut_work *w, size_t n, double total)
{
	if (n < 2)
		return 0.0;
	return recut_cut_frequency(n, total - (double)(n - 1) * w->overlap);
}

static int
recut_len_cmp(const void *a, const void *b)
{
	const struct recut_len *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Drops the fewest shortest pieces that bring the rate within
 * RECUT_SCAN_TIE of the best that dropping can reach.
 */
static void
recut_drop(struct recut_work *w)
{
	double target = w->p->cut_frequency, total = recut_total(w), best;
	size_t m, pick, i, k;

	if (recut_rate(w, w->n, total) <= target)
		return;
	for (i = 0; i < w->n; i++) {
		w->order[i].len = w->pc[i].e - w->pc[i].s;
		w->order[i].idx = i;
	}
	qsort(w->order, w->n, sizeof(*w->order), recut_len_cmp);
	for (m = 0; m < w->n; m++) {
		w->order[m].err =
		    fabs(recut_rate(w, w->n - m, total) - target) /
		    fmax(target, 1e-9);
		total -= w->order[m].len;
	}
	for (best = HUGE_VAL, m = 0; m < w->n; m++)
		best = fmin(best, w->order[m].err);
	for (pick = 0; w->order[pick].err > best + RECUT_SCAN_TIE; pick++)
		;
	for (m = 0; m < pick; m++)
		w->pc[w->order[m].idx].shot = SIZE_MAX;
	for (i = k = 0; i < w->n; i++) {
		if (w->pc[i].shot != SIZE_MAX)
			w->pc[k++] = w->pc[i];
	}
	w->n = k;
}

/*
 * The mean length whose plan reaches the template's cut frequency best;
 * among equally good ones the plan keeping the most material, then the
 * one closest to the nominal length.
 */
static double
recut_choose(struct recut_work *w)
{
	double target = w->p->cut_frequency, nominal, lbar, best = HUGE_VAL;
	double err[RECUT_SCAN_STEPS], kept[RECUT_SCAN_STEPS], pick = 0.0;
	double most = -1.0, dev, total, floor = 0.0;
	int s, chosen = RECUT_SCAN_STEPS / 2;

	if (!(target > 0.0))
		return RECUT_NO_CUTS;
	nominal = 60.0 / target + w->overlap;
	for (s = 0; s < RECUT_SCAN_STEPS; s++) {
		lbar = nominal * pow(RECUT_SCAN_SPAN,
				     2.0 * s / (RECUT_SCAN_STEPS - 1) - 1.0);
		recut_arrange(w, lbar);
		total = recut_total(w);
		kept[s] =
		    total - (double)(w->n > 0 ? w->n - 1 : 0) * w->overlap;
		err[s] = w->n > 0 ? fabs(recut_rate(w, w->n, total) - target) /
					target
				  : HUGE_VAL;
		floor = fmax(floor, RECUT_KEEP_MIN * kept[s]);
	}
	for (s = 0; s < RECUT_SCAN_STEPS; s++)
		best = kept[s] >= floor && err[s] < best ? err[s] : best;
	for (s = 0; s < RECUT_SCAN_STEPS; s++) {
		dev = fabs(2.0 * s / (RECUT_SCAN_STEPS - 1) - 1.0);
		if (kept[s] < floor || err[s] > best + RECUT_SCAN_TIE)
			continue;
		if (kept[s] > most + 1e-9 ||
		    (kept[s] > most - 1e-9 && dev < pick)) {
			most = kept[s];
			pick = dev;
			chosen = s;
		}
	}
	return nominal * pow(RECUT_SCAN_SPAN,
			     2.0 * chosen / (RECUT_SCAN_STEPS - 1) - 1.0);
}

/* Whether t is one of the beats (where recut_snap put it). */
static bool
recut_is_beat(double t, const double *beats, size_t nbeats)
{
	size_t a = recut_beat_from(t, beats, nbeats);

	return a < nbeats && beats[a] == t;
}

/*
 * Each cut snaps on its own: a piece's start moves to the nearest beat
 * that keeps the jump gap after the previous piece as snapped, its end to
 * the nearest beat that leaves the next piece's unsnapped start its jump
 * gap (or stays inside the shot); within half a period, so that lengths
 * stay near their targets, or a period at a shot's edges, where the beat
 * can lie on one side only. The unsnapped position always
 * meets every guarantee of recut.h, so a cut whose beat lies outside its
 * window keeps it, and no cut stops another from snapping. Both sides of
 * a cut on a beat keep the music's pulse across it.
 */
static void
recut_snap_pieces(struct recut_work *w)
{
	const double *bt = w->p->beats;
	size_t nb = w->p->nbeats, i;
	double period = recut_beat_period(bt, nb), prev = -HUGE_VAL, lo, hi;

	for (i = 0; i < w->n; i++) {
		struct recut_piece *pc = &w->pc[i];
		const struct recut_shot *sh = &w->shots[pc->shot];
		bool first = i == 0 || w->pc[i - 1].shot != pc->shot;
		bool last = i + 1 == w->n || w->pc[i + 1].shot != pc->shot;

		lo = first ? sh->start_s : prev + sh->min_gap_s;
		hi = pc->e - w->min_len;
		pc->s = recut_snap(
		    pc->s, bt, nb, lo, hi, first ? period : period / 2.0);
		lo = pc->s + w->min_len;
		hi = last ? sh->end_s : w->pc[i + 1].s - sh->min_gap_s;
		pc->e = recut_snap(
		    pc->e, bt, nb, lo, hi, last ? period : period / 2.0);
		pc->s_on_beat = recut_is_beat(pc->s, bt, nb);
		pc->e_on_beat = recut_is_beat(pc->e, bt, nb);
		prev = pc->e;
	}
}

/* The pieces of a plan for mean length lbar, snapped to the beats. */
static void
recut_arrange(struct recut_work *w, double lbar)
{
	recut_fill(w, lbar);
	recut_drop(w);
	if (w->p->nbeats >= 2)
		recut_snap_pieces(w);
}

/*
 * The transition into piece i: the template's sequence, cycled, with the
 * duration capped so that neighbouring transitions never meet; one too
 * short to show becomes a cut.
 */
static double
recut_join(const struct recut_work *w, size_t i, double a, double b,
    enum recut_kind *kind)
{
	const struct recut_params *p = w->p;
	double frame = 1.0 / p->frame_rate, d;

	if (p->ntransitions == 0) {
		*kind = RECUT_CUT;
		return 0.0;
	}
	*kind = p->transitions[(i - 1) % p->ntransitions].kind;
	d = p->transitions[(i - 1) % p->ntransitions].duration_s;
	if (*kind != RECUT_FADE && *kind != RECUT_DISSOLVE) {
		*kind = RECUT_CUT;
		return 0.0;
	}
	d = fmin(d, fmin(a, b) / 2.0 - frame);
	if (d < 2.0 * frame) {
		*kind = RECUT_CUT;
		return 0.0;
	}
	return d;
}

/*
 * A punch-in shot's pieces alternate between the whole frame and the
 * punch-in, starting whole, so each jump inside it changes the framing;
 * every other piece is whole.
 */
static double
recut_zoom(const struct recut_work *w, size_t i)
{
	size_t k = 0;

	if (!w->shots[w->pc[i].shot].punch_in)
		return 1.0;
	while (k < i && w->pc[i - k - 1].shot == w->pc[i].shot)
		k++;
	return k % 2 == 1 ? fmax(w->p->punch_in, 1.0) : 1.0;
}

static int
recut_emit(const struct recut_work *w, struct recut_plan *out)
{
	struct recut_segment *seg;
	size_t i;

	if ((seg = calloc(w->n, sizeof(*seg))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < w->n; i++) {
		seg[i].src_start_s = w->pc[i].s;
		seg[i].src_end_s = w->pc[i].e;
		seg[i].zoom = recut_zoom(w, i);
		seg[i].zoom_x = seg[i].zoom_y = 0.5;
		seg[i].start_on_beat = w->pc[i].s_on_beat;
		seg[i].end_on_beat = w->pc[i].e_on_beat;
		if (i == 0)
			continue;
		seg[i].in.duration_s =
		    recut_join(w, i, w->pc[i - 1].e - w->pc[i - 1].s,
			w->pc[i].e - w->pc[i].s, &seg[i].in.kind);
		out->cuts_on_beats +=
		    w->pc[i - 1].e_on_beat && w->pc[i].s_on_beat;
	}
	out->beat_snapped = 2 * out->cuts_on_beats > w->n - 1;
	out->seg = seg;
	out->n = w->n;
	out->duration_s = recut_timeline(seg, w->n);
	out->cut_frequency = recut_cut_frequency(w->n, out->duration_s);
	out->min_len_s = w->min_len;
	return 0;
}

/* Mean overlap per join and the shortest piece the transitions allow. */
static void
recut_transition_needs(struct recut_work *w)
{
	const struct recut_params *p = w->p;
	double dmax = 0.0;
	size_t i;

	for (i = 0; i < p->ntransitions; i++) {
		if (p->transitions[i].kind == RECUT_DISSOLVE)
			w->overlap += p->transitions[i].duration_s /
				      (double)p->ntransitions;
		if (p->transitions[i].kind == RECUT_FADE ||
		    p->transitions[i].kind == RECUT_DISSOLVE)
			dmax = fmax(dmax, p->transitions[i].duration_s);
	}
	/* Two frames of their own besides both transitions (recut_join). */
	w->min_len = 2.0 * dmax + 4.0 / p->frame_rate;
}

static int
recut_work_init(struct recut_work *w, const struct recut_shot *shots,
    size_t nshots, const struct recut_params *p)
{
	double span;
	size_t i;

	memset(w, 0, sizeof(*w));
	errno = EINVAL;
	if (p->npattern == 0 || !(p->frame_rate > 0.0))
		return -1;
	w->shots = shots;
	w->nshots = nshots;
	w->p = p;
	for (i = 0; i < p->npattern; i++)
		w->pmean += p->pattern[i] / (double)p->npattern;
	recut_transition_needs(w);
	for (i = 0; i < nshots; i++) {
		span = shots[i].end_s - shots[i].start_s;
		if (span >= w->min_len)
			w->cap += (size_t)(span / w->min_len) + 1;
	}
	if (!(w->pmean > 0.0) || w->cap == 0)
		return -1;
	w->pc = calloc(w->cap, sizeof(*w->pc));
	w->order = calloc(w->cap, sizeof(*w->order));
	if (w->pc == NULL || w->order == NULL) {
		free(w->pc);
		free(w->order);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
recut_plan_build(const struct recut_shot *shots, size_t nshots,
    const struct recut_params *p, struct recut_plan *out)
{
	struct recut_work w;
	int rc;

	memset(out, 0, sizeof(*out));
	if (recut_work_init(&w, shots, nshots, p) == -1)
		return -1;
	recut_arrange(&w, recut_choose(&w));
	if (w.n == 0) {
		errno = EINVAL;
		rc = -1;
	} else
		rc = recut_emit(&w, out);
	free(w.pc);
	free(w.order);
	return rc;
}

/* Segments pick[0..k) of plan->seg, spread evenly, first and last kept. */
static void
recut_spread(
    const struct recut_plan *plan, size_t k, struct recut_segment *pick)
{
	size_t j;

	for (j = 0; j < k; j++)
		pick[j] = plan->seg[k > 1 ? (j * (plan->n - 1) + (k - 1) / 2) /
						(k - 1)
					  : 0];
	pick[0].in = (struct recut_transition){RECUT_NONE, 0.0};
}

/*
 * Shortens the picked segments by excess seconds: the last one alone when
 * it can give that much and keep min_len (the cuts before it keep their
 * beats), else each in proportion to what it can give.
 */
static void
recut_trim(struct recut_segment *pick, size_t k, double excess, double min_len)
{
	double slack = 0.0, give,
	       last = pick[k - 1].src_end_s - pick[k - 1].src_start_s - min_len;
	size_t j;

	if (last >= excess) {
		pick[k - 1].src_end_s -= excess;
		pick[k - 1].end_on_beat = false;
		return;
	}
	for (j = 0; j < k; j++)
		slack += fmax(
		    0.0, pick[j].src_end_s - pick[j].src_start_s - min_len);
	for (j = 0; slack > 0.0 && j < k; j++) {
		give = fmax(
		    0.0, pick[j].src_end_s - pick[j].src_start_s - min_len);
		pick[j].src_end_s -= give * fmin(1.0, excess / slack);
		pick[j].end_on_beat = pick[j].end_on_beat && give == 0.0;
	}
}

int
recut_plan_fit(struct recut_plan *plan, double target_s)
{
	struct recut_segment *pick;
	double dur = plan->duration_s;
	size_t k;

	if (plan->n == 0 || !(plan->duration_s > target_s))
		return 0;
	if ((pick = calloc(plan->n, sizeof(*pick))) == NULL)
		return -1;
	/* The fewest spread segments that reach the target. */
	for (k = 1; k <= plan->n; k++) {
		recut_spread(plan, k, pick);
		if ((dur = recut_timeline(pick, k)) >= target_s)
			break;
	}
	recut_trim(pick, k, dur - target_s, plan->min_len_s);
	memcpy(plan->seg, pick, k * sizeof(*pick));
	free(pick);
	plan->n = k;
	plan->duration_s = recut_timeline(plan->seg, k);
	plan->cut_frequency = recut_cut_frequency(k, plan->duration_s);
	plan->cuts_on_beats = 0;
	for (size_t j = 1; j < k; j++)
		plan->cuts_on_beats +=
		    plan->seg[j - 1].end_on_beat && plan->seg[j].start_on_beat;
	plan->beat_snapped = 2 * plan->cuts_on_beats > k - 1;
	return 0;
}

/* Within a millisecond: the plan's times are whole milliseconds. */
#define RECUT_ON_BEAT_S 0.0005

static bool
recut_on_beat(double t, const double *beats, size_t nbeats)
{
	size_t a = recut_beat_from(t - RECUT_ON_BEAT_S, beats, nbeats);

	return a < nbeats && beats[a] <= t + RECUT_ON_BEAT_S;
}

/* Cut i is on a beat (both its sides, as recut_plan_fit counts them). */
static void
recut_mark_cut(struct recut_plan *plan, size_t i, bool on)
{
	plan->seg[i - 1].end_on_beat = on;
	plan->seg[i].start_on_beat = on;
	plan->cuts_on_beats += on;
}

/* The shot holding a segment that starts at t (the last one before it). */
static const struct recut_shot *
recut_shot_of(const struct recut_shot *shots, size_t nshots, double t)
{
	size_t k = 0;

	while (k + 1 < nshots && shots[k + 1].start_s <= t + 1e-6)
		k++;
	return &shots[k];
}

/* The furthest the segment before cut i may end in the source. */
static double
recut_end_limit(const struct recut_plan *plan, size_t i,
    const struct recut_shot *shots, size_t nshots)
{
	const struct recut_segment *prev = &plan->seg[i - 1],
				   *next = &plan->seg[i];
	const struct recut_shot *sh =
	    recut_shot_of(shots, nshots, prev->src_start_s);
	double limit = fmin(sh->end_s, next->src_start_s);

	if (recut_shot_of(shots, nshots, next->src_start_s) == sh)
		limit = fmin(limit, next->src_start_s - sh->min_gap_s);
	return limit;
}

void
recut_snap_output(struct recut_plan *plan, const struct recut_shot *shots,
    size_t nshots, const double *beats, size_t nbeats)
{
	double half = recut_beat_period(beats, nbeats) / 2.0, t, b, end;
	size_t i;

	plan->cuts_on_beats = 0;
	for (i = 0; i < plan->n; i++)
		plan->seg[i].start_on_beat = plan->seg[i].end_on_beat = false;
	for (i = 1; half > 0.0 && nshots > 0 && i < plan->n; i++) {
		recut_timeline(plan->seg, plan->n);
		t = plan->seg[i].out_start_s;
		if (plan->seg[i].in.kind == RECUT_DISSOLVE)
			t += plan->seg[i].in.duration_s / 2.0;
		b = recut_snap(t, beats, nbeats, t - half, t + half, half);
		end = plan->seg[i - 1].src_end_s + (b - t);
		if (fabs(b - t) < RECUT_ON_BEAT_S)
			/* On a beat already, or none near. */
			recut_mark_cut(
			    plan, i, recut_on_beat(t, beats, nbeats));
		else if (end <= recut_end_limit(plan, i, shots, nshots) &&
			 end - plan->seg[i - 1].src_start_s >=
			     plan->min_len_s) {
			plan->seg[i - 1].src_end_s = end;
			recut_mark_cut(plan, i, true);
		}
	}
	plan->duration_s = recut_timeline(plan->seg, plan->n);
	plan->cut_frequency = recut_cut_frequency(plan->n, plan->duration_s);
	plan->beat_snapped = 2 * plan->cuts_on_beats > plan->n - 1;
}

void
recut_plan_free(struct recut_plan *plan)
{
	free(plan->seg);
	memset(plan, 0, sizeof(*plan));
}

/*
 * The looks of a shot (looks.h): how much a jump cut changes the picture.
 *
 * The scene score ffmpeg's select filter gives a frame is the smaller of
 * its mean absolute difference to the frame before and the change of that
 * difference from the one before: a cut moves every pixel once, a pan
 * moves them all the time. So a jump is visible when the join's
 * difference exceeds the calm one before it by the threshold.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "looks.h"

const double looks_skips[LOOKS_NSKIPS] = {0.25, 0.5, 1.0, 2.0, 3.0, 4.0};
#define LOOKS_VIEWS_AT(z)                                           \
	{z, 0.5, 0.5}, {z, 0.0, 0.5}, {z, 1.0, 0.5}, {z, 0.5, 0.0}, \
	{                                                           \
		z, 0.5, 1.0                                         \
	}
const struct looks_view looks_views[LOOKS_NVIEWS] = {{1.0, 0.5, 0.5},
    LOOKS_VIEWS_AT(1.25), LOOKS_VIEWS_AT(1.5), LOOKS_VIEWS_AT(2.0)};

/* Slack for times and scales that were rounded on their way. */
#define LOOKS_EPS 1e-6

void
looks_sample(const uint8_t *src, int w, int h, const struct looks_view *v,
    uint8_t *dst, int dw, int dh)
{
	double cw = w / v->zoom, ch = h / v->zoom;
	double x0 = (w - cw) * v->x, y0 = (h - ch) * v->y;
	double kx = (double)w / dw, ky = (double)h / dh, fx, fy, p;
	int x, y, ix, iy, ix1, iy1;

	for (y = 0; y < dh; y++) {
		fy = fmin(
		    fmax(y0 + (y * ky + 0.5) / v->zoom - 0.5, 0.0), h - 1.0);
		iy = (int)fy;
		iy1 = iy + 1 < h ? iy + 1 : iy;
		fy -= iy;
		for (x = 0; x < dw; x++) {
			fx =
			    fmin(fmax(x0 + (x * kx + 0.5) / v->zoom - 0.5, 0.0),
				w - 1.0);
			ix = (int)fx;
			ix1 = ix + 1 < w ? ix + 1 : ix;
			fx -= ix;
			p = (1.0 - fy) * ((1.0 - fx) * src[iy * w + ix] +
					     fx * src[iy * w + ix1]) +
			    fy * ((1.0 - fx) * src[iy1 * w + ix] +
				     fx * src[iy1 * w + ix1]);
			dst[y * dw + x] = (uint8_t)lround(p);
		}
	}
}

double
looks_mad(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t sad = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sad += (uint64_t)abs((int)a[i] - (int)b[i]);
	return n > 0 ? (double)sad / (double)n : 0.0;
}

int
looks_shot_init(struct looks_shot *s, double start_s, size_t npoints)
{
	size_t i, nd = npoints * LOOKS_NSKIPS * LOOKS_NVIEWS;

	memset(s, 0, sizeof(*s));
	s->start_s = start_s;
	if (npoints == 0)
		return 0;
	s->calm = calloc(npoints, sizeof(*s->calm));
	s->diff = calloc(nd, sizeof(*s->diff));
	if (s->calm == NULL || s->diff == NULL) {
		looks_shot_free(s);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < nd; i++)
		s->diff[i] = NAN;
	s->npoints = npoints;
	return 0;
}

void
looks_shot_free(struct looks_shot *s)
{
	free(s->calm);
	free(s->diff);
	s->calm = s->diff = NULL;
	s->npoints = 0;
}

/* The scene score's view of a join of difference d after calm c. */
static double
looks_seen(double d, double c)
{
	if (!isfinite(c))
		c = 0.0;
	return fmin(d, fabs(d - c));
}

static double
looks_at(const struct looks_shot *s, size_t i, size_t j, size_t v)
{
	return s->diff[(i * LOOKS_NSKIPS + j) * LOOKS_NVIEWS + v];
}

/* What a view costs on top of the skip, in seconds of skip. */
static double
looks_view_cost(size_t v)
{
	const struct looks_view *w = &looks_views[v];
	bool centred = w->x == 0.5 && w->y == 0.5;

	return LOOKS_ZOOM_COST_S * (w->zoom - 1.0) +
	       (centred ? 0.0 : LOOKS_OFFCENTRE_COST_S);
}

size_t
looks_view_of(double zoom, double x, double y)
{
	double d, best = HUGE_VAL;
	size_t v, pick = 0;

	if (!(zoom > 1.0 + LOOKS_EPS))
		return 0;
	for (v = 1; v < LOOKS_NVIEWS; v++) {
		d = fabs(looks_views[v].zoom - zoom) +
		    fabs(looks_views[v].x - x) + fabs(looks_views[v].y - y);
		if (d < best) {
			best = d;
			pick = v;
		}
	}
	return pick;
}

double
looks_score(const struct looks_shot *s, double a_s, double b_s, size_t v)
{
	size_t j = LOOKS_NSKIPS, i;
	double pos, d;

	while (j > 0 && looks_skips[j - 1] > b_s - a_s + LOOKS_EPS)
		j--;
	if (s == NULL || s->npoints == 0 || j == 0 || v >= LOOKS_NVIEWS)
		return NAN;
	pos = round((a_s - s->start_s) / LOOKS_STEP_S);
	i = pos <= 0.0 ? 0 : (size_t)fmin(pos, (double)(s->npoints - 1));
	/* Near the shot's end the grid point may lack the skip: step back. */
	for (; j > 0; j--) {
		d = looks_at(s, i, j - 1, v);
		if (isfinite(d))
			return looks_seen(d, s->calm[i]);
	}
	return NAN;
}

/* Share of the measured join times at which skip j, view v is visible. */
static double
looks_share(const struct looks_shot *s, size_t j, size_t v)
{
	size_t i, measured = 0, seen = 0;
	double d;

	for (i = 0; i < s->npoints; i++) {
		d = looks_at(s, i, j, v);
		if (!isfinite(d))
			continue;
		measured++;
		seen += looks_seen(d, s->calm[i]) >= LOOKS_VISIBLE;
	}
	return measured > 0 ? (double)seen / (double)measured : 0.0;
}

/* Whether some view shows a jump of skip j at point i. */
static bool
looks_any(const struct looks_shot *s, size_t i, size_t j)
{
	size_t v;

	for (v = 0; v < LOOKS_NVIEWS; v++) {
		if (looks_seen(looks_at(s, i, j, v), s->calm[i]) >=
		    LOOKS_VISIBLE)
			return true;
	}
	return false;
}

/*
 * Share of the measured join times with a visible jump of skip j within
 * LOOKS_SHIFT_S, some view or other.
 */
static double
looks_reach(const struct looks_shot *s, size_t j)
{
	size_t k = (size_t)(LOOKS_SHIFT_S / LOOKS_STEP_S + 0.5), i, a,
	       measured = 0, seen = 0;
	bool ok;

	for (i = 0; i < s->npoints; i++) {
		if (!isfinite(looks_at(s, i, j, 0)))
			continue;
		measured++;
		ok = false;
		for (a = i > k ? i - k : 0; !ok && a <= i + k && a < s->npoints;
		     a++)
			ok = isfinite(looks_at(s, a, j, 0)) &&
			     looks_any(s, a, j);
		seen += ok;
	}
	return measured > 0 ? (double)seen / (double)measured : 0.0;
}

/* The least skip whose jumps a shift and a reframe can make visible. */
static bool
looks_choose_reach(const struct looks_shot *s, struct looks_rule *r)
{
	double reach, share, best;
	size_t j, v;

	for (j = 0; j < LOOKS_NSKIPS; j++) {
		if ((reach = looks_reach(s, j)) < LOOKS_SHARE) {
			r->share = fmax(r->share, reach);
			continue;
		}
		*r = (struct looks_rule){looks_skips[j], 0, reach};
		for (best = -1.0, v = 0; v < LOOKS_NVIEWS; v++) {
			if ((share = looks_share(s, j, v)) > best) {
				best = share;
				r->view = v;
			}
		}
		return true;
	}
	return false;
}

bool
looks_choose(const struct looks_shot *s, struct looks_rule *r)
{
	double cost, best_cost = HUGE_VAL, share;
	bool found = false;
	size_t j, v;

	*r = (struct looks_rule){looks_skips[LOOKS_NSKIPS - 1], 0, 0.0};
	for (j = 0; s != NULL && j < LOOKS_NSKIPS; j++) {
		for (v = 0; v < LOOKS_NVIEWS; v++) {
			share = looks_share(s, j, v);
			cost = looks_skips[j] + looks_view_cost(v);
			if (share >= LOOKS_SHARE && cost < best_cost) {
				best_cost = cost;
				*r = (struct looks_rule){
				    looks_skips[j], v, share};
				found = true;
			} else if (!found && share > r->share) {
				*r = (struct looks_rule){
				    looks_skips[j], v, share};
			}
		}
	}
	return found || (s != NULL && looks_choose_reach(s, r));
}

/* ---- checking a plan ---- */

struct looks_plan {
	struct recut_plan *plan;
	const struct recut_shot *shots;
	const struct looks_shot *const *looks;
	const size_t *view; /* of each shot */
	size_t nshots;
	size_t *shot; /* of each segment */
	size_t *seg_view;
	const double *beats; /* the source's, ascending; NULL without music */
	size_t nbeats;
};

static size_t
looks_shot_of(const struct looks_plan *lp, double t)
{
	size_t k = 0;

	while (k + 1 < lp->nshots && lp->shots[k + 1].start_s <= t + 1e-6)
		k++;
	return k;
}

static void
looks_set_view(struct looks_plan *lp, size_t i, size_t v)
{
	lp->seg_view[i] = v;
	lp->plan->seg[i].zoom = looks_views[v].zoom;
	lp->plan->seg[i].zoom_x = looks_views[v].x;
	lp->plan->seg[i].zoom_y = looks_views[v].y;
}

/*
 * From segment i on, the pieces of its shot alternate whole and punched,
 * the first of the shot whole.
 */
static void
looks_alternate_from(struct looks_plan *lp, size_t i)
{
	size_t v;

	for (; i < lp->plan->n; i++) {
		v = lp->view[lp->shot[i]];
		if (i == 0 || lp->shot[i] != lp->shot[i - 1] ||
		    lp->seg_view[i - 1] != 0)
			v = 0;
		looks_set_view(lp, i, v);
	}
}

/* Whether the join into segment b (from b - 1, same shot) is visible. */
static bool
looks_join_ok(const struct looks_plan *lp, size_t b)
{
	const struct recut_segment *x = &lp->plan->seg[b - 1],
				   *y = &lp->plan->seg[b];
	const struct looks_shot *s = lp->looks[lp->shot[b]];
	size_t vx = lp->seg_view[b - 1], vy = lp->seg_view[b];

	if (s == NULL || lp->shot[b - 1] != lp->shot[b])
		return true;
	/* Two punch-ins were not measured against each other. */
	if (vx != 0 && vy != 0)
		return false;
	return looks_score(s, x->src_end_s, y->src_start_s, vx + vy) >=
	       LOOKS_VISIBLE;
}

/*
 * The cheapest other view on segment p that makes its joins visible (the
 * one into it and the one out of it); false, p untouched, if none.
 */
static bool
looks_reframe(struct looks_plan *lp, size_t p)
{
	size_t was = lp->seg_view[p], v, pick = 0;
	double best = HUGE_VAL;

	for (v = 1; v < LOOKS_NVIEWS; v++) {
		if (v == was || looks_view_cost(v) >= best)
			continue;
		looks_set_view(lp, p, v);
		if ((p == 0 || looks_join_ok(lp, p)) &&
		    (p + 1 == lp->plan->n || looks_join_ok(lp, p + 1))) {
			best = looks_view_cost(v);
			pick = v;
		}
	}
	looks_set_view(lp, p, pick != 0 ? pick : was);
	return pick != 0;
}

/* The segment a failed join reframes: its punched side, else the later. */
static size_t
looks_side(const struct looks_plan *lp, size_t b)
{
	return lp->seg_view[b - 1] != 0 && lp->seg_view[b] == 0 ? b - 1 : b;
}

/* The beat at t (where the plan snapped a cut, to the ms), or SIZE_MAX. */
static size_t
looks_beat_at(const struct looks_plan *lp, double t)
{
	size_t lo = 0, hi = lp->nbeats;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (lp->beats[mid] < t - LOOKS_BEAT_TOL_S)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < lp->nbeats && lp->beats[lo] <= t + LOOKS_BEAT_TOL_S
		   ? lo
		   : SIZE_MAX;
}

/* Ends of b - 1 and start of b moved to the given times, if they fit. */
static bool
looks_move_to(struct looks_plan *lp, size_t b, double end_s, double start_s)
{
	struct recut_segment *x = &lp->plan->seg[b - 1], *y = &lp->plan->seg[b];
	const struct recut_shot *sh = &lp->shots[lp->shot[b]];
	double min = lp->plan->min_len_s;

	if (end_s - x->src_start_s < min - LOOKS_EPS ||
	    y->src_end_s - start_s < min - LOOKS_EPS ||
	    end_s > sh->end_s + LOOKS_EPS ||
	    start_s < sh->start_s - LOOKS_EPS || start_s < end_s)
		return false;
	x->src_end_s = end_s;
	y->src_start_s = start_s;
	return true;
}

/*
 * Moves the join into b by d (b - 1 ends later, b starts later) when both
 * keep min_len_s and stay in their shot; false, untouched, otherwise.
 */
static bool
looks_move(struct looks_plan *lp, size_t b, double d)
{
	return looks_move_to(lp, b, lp->plan->seg[b - 1].src_end_s + d,
	    lp->plan->seg[b].src_start_s + d);
}

/*
 * A jump on the beats that does not show moves first by whole beats, both
 * sides together, nearest first, within LOOKS_SHIFT_S: it stays on the
 * music. False, untouched, when no such move shows.
 */
static bool
looks_shift_on_beat(struct looks_plan *lp, size_t b)
{
	struct recut_segment *x = &lp->plan->seg[b - 1], *y = &lp->plan->seg[b];
	double end0 = x->src_end_s, start0 = y->src_start_s;
	size_t jx, jy, k;
	int sign;

	if (!x->end_on_beat || !y->start_on_beat ||
	    (jx = looks_beat_at(lp, end0)) == SIZE_MAX ||
	    (jy = looks_beat_at(lp, start0)) == SIZE_MAX)
		return false;
	for (k = 1; k <= LOOKS_BEAT_MOVES; k++) {
		for (sign = 1; sign >= -1; sign -= 2) {
			size_t ix = sign > 0 ? jx + k : jx - k;
			size_t iy = sign > 0 ? jy + k : jy - k;

			if ((sign < 0 && (jx < k || jy < k)) ||
			    ix >= lp->nbeats || iy >= lp->nbeats ||
			    fabs(lp->beats[ix] - end0) > LOOKS_SHIFT_S ||
			    !looks_move_to(lp, b, lp->beats[ix], lp->beats[iy]))
				continue;
			if (looks_join_ok(lp, b) ||
			    looks_reframe(lp, looks_side(lp, b)))
				return true;
			(void)looks_move_to(lp, b, end0, start0);
		}
	}
	return false;
}

/*
 * The nearest move of the join into b within LOOKS_SHIFT_S at which it
 * shows, reframed or not; false, untouched, if none.
 */
static bool
looks_shift(struct looks_plan *lp, size_t b)
{
	struct recut_segment *x = &lp->plan->seg[b - 1], *y = &lp->plan->seg[b];
	size_t k, n = (size_t)(LOOKS_SHIFT_S / LOOKS_STEP_S + 0.5);
	double d;
	int sign;

	for (k = 1; k <= n; k++) {
		for (sign = 1; sign >= -1; sign -= 2) {
			d = sign * (double)k * LOOKS_STEP_S;
			if (!looks_move(lp, b, d))
				continue;
			if (looks_join_ok(lp, b) ||
			    looks_reframe(lp, looks_side(lp, b))) {
				x->end_on_beat = y->start_on_beat = false;
				return true;
			}
			(void)looks_move(lp, b, -d);
		}
	}
	return false;
}

/* Segment b joins segment b - 1: the skipped stretch between is kept. */
static void
looks_merge(struct looks_plan *lp, size_t b)
{
	struct recut_plan *pl = lp->plan;
	size_t rest = pl->n - b - 1;

	pl->seg[b - 1].src_end_s = pl->seg[b].src_end_s;
	pl->seg[b - 1].end_on_beat = pl->seg[b].end_on_beat;
	memmove(&pl->seg[b], &pl->seg[b + 1], rest * sizeof(*pl->seg));
	memmove(&lp->shot[b], &lp->shot[b + 1], rest * sizeof(*lp->shot));
	memmove(&lp->seg_view[b], &lp->seg_view[b + 1],
	    rest * sizeof(*lp->seg_view));
	pl->n--;
	/* The pieces after it keep alternating, so each jump changes. */
	if (b < pl->n && lp->shot[b] == lp->shot[b - 1])
		looks_alternate_from(lp, b);
}

static void
looks_recount(struct recut_plan *pl)
{
	size_t i;

	pl->cuts_on_beats = 0;
	for (i = 1; i < pl->n; i++)
		pl->cuts_on_beats +=
		    pl->seg[i - 1].end_on_beat && pl->seg[i].start_on_beat;
	pl->beat_snapped = pl->n > 1 && 2 * pl->cuts_on_beats > pl->n - 1;
	pl->duration_s = recut_timeline(pl->seg, pl->n);
	pl->cut_frequency = recut_cut_frequency(pl->n, pl->duration_s);
}

size_t
looks_verify(struct recut_plan *plan, const struct recut_shot *shots,
    const struct looks_shot *const *looks, const size_t *view, size_t nshots,
    const double *beats, size_t nbeats)
{
	struct looks_plan lp = {
	    plan, shots, looks, view, nshots, NULL, NULL, beats, nbeats};
	size_t b, merged = 0;

	if (plan->n == 0 || nshots == 0)
		return 0;
	lp.shot = calloc(plan->n, sizeof(*lp.shot));
	lp.seg_view = calloc(plan->n, sizeof(*lp.seg_view));
	if (lp.shot == NULL || lp.seg_view == NULL) {
		free(lp.shot);
		free(lp.seg_view);
		return 0;
	}
	for (b = 0; b < plan->n; b++)
		lp.shot[b] = looks_shot_of(&lp, plan->seg[b].src_start_s);
	looks_alternate_from(&lp, 0);
	for (b = 1; b < plan->n;) {
		if (looks_join_ok(&lp, b) ||
		    looks_reframe(&lp, looks_side(&lp, b)) ||
		    looks_shift_on_beat(&lp, b) || looks_shift(&lp, b)) {
			b++;
			continue;
		}
		looks_merge(&lp, b);
		merged++;
	}
	free(lp.shot);
	free(lp.seg_view);
	looks_recount(plan);
	return merged;
}

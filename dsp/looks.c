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
const double looks_zooms[LOOKS_NZOOMS] = {1.0, 1.25, 1.5, 2.0};

/* Slack for times and scales that were rounded on their way. */
#define LOOKS_EPS 1e-6

void
looks_sample(const uint8_t *src, int w, int h, double z, uint8_t *dst,
    int dw, int dh)
{
	double cw = w / z, ch = h / z, x0 = (w - cw) / 2.0, y0 = (h - ch) / 2.0;
	double sx = cw / dw, sy = ch / dh, fx, fy, v;
	int x, y, ix, iy, ix1, iy1;

	for (y = 0; y < dh; y++) {
		fy = fmin(fmax(y0 + (y + 0.5) * sy - 0.5, 0.0), h - 1.0);
		iy = (int)fy;
		iy1 = iy + 1 < h ? iy + 1 : iy;
		fy -= iy;
		for (x = 0; x < dw; x++) {
			fx = fmin(
			    fmax(x0 + (x + 0.5) * sx - 0.5, 0.0), w - 1.0);
			ix = (int)fx;
			ix1 = ix + 1 < w ? ix + 1 : ix;
			fx -= ix;
			v = (1.0 - fy) * ((1.0 - fx) * src[iy * w + ix] +
					     fx * src[iy * w + ix1]) +
			    fy * ((1.0 - fx) * src[iy1 * w + ix] +
				     fx * src[iy1 * w + ix1]);
			dst[y * dw + x] = (uint8_t)lround(v);
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
	size_t i, nd = npoints * LOOKS_NSKIPS * LOOKS_NZOOMS;

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
looks_at(const struct looks_shot *s, size_t i, size_t j, size_t z)
{
	return s->diff[(i * LOOKS_NSKIPS + j) * LOOKS_NZOOMS + z];
}

/* Index of the largest of v[0..n) not over x; n when none is. */
static size_t
looks_floor(const double *v, size_t n, double x)
{
	size_t k = n;

	while (k > 0 && v[k - 1] > x + LOOKS_EPS)
		k--;
	return k > 0 ? k - 1 : n;
}

double
looks_score(
    const struct looks_shot *s, double a_s, double b_s, double zoom)
{
	size_t j = looks_floor(looks_skips, LOOKS_NSKIPS, b_s - a_s);
	size_t z = looks_floor(looks_zooms, LOOKS_NZOOMS, zoom), i;
	double pos, d;

	if (s == NULL || s->npoints == 0 || j == LOOKS_NSKIPS ||
	    z == LOOKS_NZOOMS)
		return NAN;
	pos = round((a_s - s->start_s) / LOOKS_STEP_S);
	i = pos <= 0.0 ? 0 : (size_t)fmin(pos, (double)(s->npoints - 1));
	/* Near the shot's end the grid point may lack the skip: step back. */
	for (;; j--) {
		d = looks_at(s, i, j, z);
		if (isfinite(d))
			return looks_seen(d, s->calm[i]);
		if (j == 0)
			break;
	}
	return NAN;
}

/* Share of the measured join times at which skip j, scale z is visible. */
static double
looks_share(const struct looks_shot *s, size_t j, size_t z)
{
	size_t i, measured = 0, seen = 0;
	double d;

	for (i = 0; i < s->npoints; i++) {
		d = looks_at(s, i, j, z);
		if (!isfinite(d))
			continue;
		measured++;
		seen += looks_seen(d, s->calm[i]) >= LOOKS_VISIBLE;
	}
	return measured > 0 ? (double)seen / (double)measured : 0.0;
}

bool
looks_choose(const struct looks_shot *s, struct looks_rule *r)
{
	double cost, best_cost = HUGE_VAL, share;
	bool found = false;
	size_t j, z;

	*r = (struct looks_rule){looks_skips[LOOKS_NSKIPS - 1], 1.0, 0.0};
	for (j = 0; s != NULL && j < LOOKS_NSKIPS; j++) {
		for (z = 0; z < LOOKS_NZOOMS; z++) {
			share = looks_share(s, j, z);
			cost = looks_skips[j] +
			       LOOKS_ZOOM_COST_S * (looks_zooms[z] - 1.0);
			if (share >= LOOKS_SHARE && cost < best_cost) {
				best_cost = cost;
				*r = (struct looks_rule){
				    looks_skips[j], looks_zooms[z], share};
				found = true;
			} else if (!found && share > r->share) {
				*r = (struct looks_rule){
				    looks_skips[j], looks_zooms[z], share};
			}
		}
	}
	return found;
}

/* ---- checking a plan ---- */

struct looks_plan {
	struct recut_plan *plan;
	const struct recut_shot *shots;
	const struct looks_shot *const *looks;
	const double *zoom;
	size_t nshots;
	size_t *shot; /* of each segment */
};

static size_t
looks_shot_of(const struct looks_plan *lp, double t)
{
	size_t k = 0;

	while (k + 1 < lp->nshots && lp->shots[k + 1].start_s <= t + 1e-6)
		k++;
	return k;
}

/*
 * From segment i on, the pieces of its shot alternate whole and punched,
 * the first of the shot whole.
 */
static void
looks_alternate_from(struct looks_plan *lp, size_t i)
{
	struct recut_segment *seg = lp->plan->seg;
	double z;

	for (; i < lp->plan->n; i++) {
		z = lp->zoom[lp->shot[i]];
		if (i == 0 || lp->shot[i] != lp->shot[i - 1])
			seg[i].zoom = 1.0;
		else
			seg[i].zoom = seg[i - 1].zoom > 1.0 || !(z > 1.0) ? 1.0 : z;
	}
}

/* Whether the join into segment b (from b - 1, same shot) is visible. */
static bool
looks_join_ok(const struct looks_plan *lp, size_t b)
{
	const struct recut_segment *x = &lp->plan->seg[b - 1],
				   *y = &lp->plan->seg[b];
	const struct looks_shot *s = lp->looks[lp->shot[b]];
	double ratio = fmax(x->zoom, y->zoom) / fmin(x->zoom, y->zoom);

	if (s == NULL || lp->shot[b - 1] != lp->shot[b])
		return true;
	return looks_score(s, x->src_end_s, y->src_start_s, ratio) >=
	       LOOKS_VISIBLE;
}

/*
 * The least larger punch-in on segment p that makes its joins visible
 * (the one into it and the one out of it); false, p untouched, if none.
 */
static bool
looks_punch_more(struct looks_plan *lp, size_t p)
{
	struct recut_segment *seg = lp->plan->seg;
	double was = seg[p].zoom;
	size_t z;

	for (z = 1; z < LOOKS_NZOOMS; z++) {
		if (looks_zooms[z] <= was + LOOKS_EPS)
			continue;
		seg[p].zoom = looks_zooms[z];
		if ((p == 0 || looks_join_ok(lp, p)) &&
		    (p + 1 == lp->plan->n || looks_join_ok(lp, p + 1)))
			return true;
	}
	seg[p].zoom = was;
	return false;
}

/* Segment b joins segment b - 1: the skipped stretch between is kept. */
static void
looks_merge(struct looks_plan *lp, size_t b)
{
	struct recut_plan *pl = lp->plan;

	pl->seg[b - 1].src_end_s = pl->seg[b].src_end_s;
	pl->seg[b - 1].end_on_beat = pl->seg[b].end_on_beat;
	memmove(&pl->seg[b], &pl->seg[b + 1],
	    (pl->n - b - 1) * sizeof(*pl->seg));
	memmove(&lp->shot[b], &lp->shot[b + 1],
	    (pl->n - b - 1) * sizeof(*lp->shot));
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
    const struct looks_shot *const *looks, const double *zoom,
    size_t nshots)
{
	struct looks_plan lp = {plan, shots, looks, zoom, nshots, NULL};
	size_t b, merged = 0;

	if (plan->n == 0 || nshots == 0 ||
	    (lp.shot = calloc(plan->n, sizeof(*lp.shot))) == NULL)
		return 0;
	for (b = 0; b < plan->n; b++)
		lp.shot[b] = looks_shot_of(&lp, plan->seg[b].src_start_s);
	looks_alternate_from(&lp, 0);
	for (b = 1; b < plan->n;) {
		if (looks_join_ok(&lp, b) ||
		    looks_punch_more(&lp, plan->seg[b - 1].zoom > 1.0 &&
					      plan->seg[b].zoom <= 1.0
					  ? b - 1
					  : b)) {
			b++;
			continue;
		}
		looks_merge(&lp, b);
		merged++;
	}
	free(lp.shot);
	looks_recount(plan);
	return merged;
}

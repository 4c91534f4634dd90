/*
 * Colour-grade maths (grade.h; media-algorithms.md 3.2-3.4).
 *
 * The forward conversion is colour.h's, so statistics, color_grade and
 * the transfer all live in the same CIELAB that video_analysis measured
 * and that the acceptance test measures. The transfer works on L*, a*, b*
 * directly rather than in Reinhard's lalphabeta: the goal is the
 * template's CIELAB moments, and transferring in the space of the goal
 * makes the means match by construction instead of approximately.
 *
 * What construction cannot see is clipping: a saturated source pushed
 * further out of gamut comes back short of the template's means. So the
 * source's colours are modelled from what video_analysis measured (a
 * maximum-entropy distribution over the sRGB cube with its histogram and
 * moments) and the offsets are corrected until the model lands on the
 * template. The limits below keep the curve and the chroma scale gentle
 * enough that the model's errors stay small.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "colour.h"
#include "grade.h"

/* D65 white of colour.c's matrix (the sums of its rows). */
#define GRADE_XN 0.95047
#define GRADE_YN 1.0
#define GRADE_ZN 1.08883

/*
 * color_grade presentation (media-algorithms.md 3.2; starting values of
 * the reference, documented in docs/stages/style_extraction.md).
 */
#define GRADE_MIRED_FULL 150.0 /* mired shift that reads 100 */
#define GRADE_TINT_GAIN 4.0    /* per unit of mean a* */
#define GRADE_CHROMA_REF 25.0  /* mean C*ab that reads 0 */
#define GRADE_SIGMA_REF 20.0   /* std of L* that reads 0 */
#define GRADE_HIGH_REF 85.0    /* P95 of L* that reads 0 */
#define GRADE_SHADOW_REF 15.0  /* P5 of L* that reads 0 */
#define GRADE_ZONE_FULL 15.0   /* L* distance that reads 100 */

/* Transfer limits (media-algorithms.md 3.3, 3.6). */
#define GRADE_CHROMA_MAX 1.25
#define GRADE_SLOPE_MAX 1.5
#define GRADE_KNOT_GAP 0.5 /* L*: closer percentiles merge */
#define GRADE_OFFSET_MAX 15.0
/* L* over which a colour cast fades in from black (and out to white). */
#define GRADE_NEUTRAL_RAMP 15.0
/* The cast is at most this many times its mean (dark or bright video). */
#define GRADE_SHIFT_GAIN_MAX 2.0
/*
 * Clipping correction: rounds of simulation; the source model's sRGB grid
 * points per axis, features, Newton rounds, step and lambda limits.
 */
#define GRADE_SIM_ROUNDS 4
#define GRADE_SIM_GRID 17
#define GRADE_SIM_N (GRADE_SIM_GRID * GRADE_SIM_GRID * GRADE_SIM_GRID)
#define GRADE_FEAT 6
#define GRADE_FIT_ROUNDS 40
#define GRADE_FIT_STEP 4.0
#define GRADE_FIT_LAMBDA 60.0
#define GRADE_SIM_CORRECTION_MAX 25.0
/*
 * A source whose L*, a* and b* all spread less than this is narrower than
 * the model's grid (a step of 1/16 in sRGB moves L* by about 6): it is
 * modelled by its mean and one standard deviation each way instead.
 */
#define GRADE_NARROW_STD 6.0

const double grade_pct_levels[GRADE_PCT_N] = {5.0, 25.0, 50.0, 75.0, 95.0};

static double grade_clamp(double v, double lo, double hi);
static double grade_lab_finv(double f);
static double grade_linear_to_srgb(double v);
static void grade_lab_to_xyz(const double lab[3], double xyz[3]);
static void grade_knots(struct grade_transfer *t, const struct grade_stats *src,
    const struct grade_stats *tpl);
static void grade_limit(struct grade_transfer *t, int mid);
static void grade_slopes(struct grade_transfer *t);
static double grade_offset(const struct grade_transfer *t,
    const struct grade_stats *src, const struct grade_stats *tpl);
static double grade_weight(double l);
static void grade_lab_to_linear(const double lab[3], double lin[3]);
static void grade_correct(struct grade_transfer *t,
    const struct grade_stats *src, const struct grade_stats *tpl, double w);
static double grade_mean_weight(
    const struct grade_transfer *t, const struct grade_stats *src);

static double
grade_clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void
grade_srgb_to_lab(const double rgb[3], double lab[3])
{
	double lin[3], xyz[3];
	int c;

	for (c = 0; c < 3; c++)
		lin[c] = colour_srgb_to_linear(rgb[c]);
	colour_linear_to_xyz(lin, xyz);
	colour_xyz_to_lab(xyz, lab);
}

/* Inverse of the CIELAB companding function (CIE 15). */
static double
grade_lab_finv(double f)
{
	const double d = 6.0 / 29.0;

	if (f > d)
		return f * f * f;
	return 3.0 * d * d * (f - 4.0 / 29.0);
}

static double
grade_linear_to_srgb(double v)
{
	if (v <= 0.0031308)
		return 12.92 * v;
	return 1.055 * pow(v, 1.0 / 2.4) - 0.055;
}

static void
grade_lab_to_xyz(const double lab[3], double xyz[3])
{
	double fy = (lab[0] + 16.0) / 116.0;

	xyz[0] = GRADE_XN * grade_lab_finv(fy + lab[1] / 500.0);
	xyz[1] = GRADE_YN * grade_lab_finv(fy);
	xyz[2] = GRADE_ZN * grade_lab_finv(fy - lab[2] / 200.0);
}

/* CIELAB to linear sRGB, unclipped. */
static void
grade_lab_to_linear(const double lab[3], double lin[3])
{
	double xyz[3];

	grade_lab_to_xyz(lab, xyz);
	/* The exact inverse of colour_linear_to_xyz's matrix. */
	lin[0] = 3.2404542 * xyz[0] - 1.5371385 * xyz[1] - 0.4985314 * xyz[2];
	lin[1] = -0.9692660 * xyz[0] + 1.8760108 * xyz[1] + 0.0415560 * xyz[2];
	lin[2] = 0.0556434 * xyz[0] - 0.2040259 * xyz[1] + 1.0572252 * xyz[2];
}

void
grade_lab_to_srgb(const double lab[3], double rgb[3])
{
	double lin[3];
	int c;

	grade_lab_to_linear(lab, lin);
	/* Clipping in linear light keeps the hue of mild excursions. */
	for (c = 0; c < 3; c++)
		rgb[c] = grade_linear_to_srgb(grade_clamp(lin[c], 0.0, 1.0));
}

double
grade_cct(const double lab[3])
{
	double l[3] = {grade_clamp(lab[0], 10.0, 100.0), lab[1], lab[2]};
	double xyz[3], sum, x, y, n, cct;

	/*
	 * Very dark means would magnify a* and b* into extreme
	 * chromaticities; below L* 10 they are read as at L* 10.
	 */
	grade_lab_to_xyz(l, xyz);
	sum = xyz[0] + xyz[1] + xyz[2];
	if (!(sum > 0.0))
		return 6504.0;
	x = xyz[0] / sum;
	y = xyz[1] / sum;
	/* Bluer than the formula's pole: as cool as the scale goes. */
	if (y <= 0.1858 + 1e-6)
		return 40000.0;
	/* Below n = -1.28 (about 1600 K) the cubic turns back. */
	n = fmax((x - 0.3320) / (0.1858 - y), -1.28);
	cct = ((449.0 * n + 3525.0) * n + 6823.3) * n + 5520.33;
	return grade_clamp(cct, 1000.0, 40000.0);
}

void
grade_look_measure(const struct grade_stats *s, struct grade_look *out)
{
	const double neutral[3] = {50.0, 0.0, 0.0};
	double mired = 1e6 / grade_cct(s->mean) - 1e6 / grade_cct(neutral);

	/* More mired is a lower colour temperature: warmer. */
	out->temperature =
	    grade_clamp(100.0 * mired / GRADE_MIRED_FULL, -100.0, 100.0);
	out->tint = grade_clamp(GRADE_TINT_GAIN * s->mean[1], -100.0, 100.0);
	out->saturation = grade_clamp(
	    100.0 * (s->chroma / GRADE_CHROMA_REF - 1.0), -100.0, 100.0);
	out->contrast = grade_clamp(
	    100.0 * (s->std[0] / GRADE_SIGMA_REF - 1.0), -100.0, 100.0);
	out->highlights =
	    grade_clamp(100.0 * (s->pct[4] - GRADE_HIGH_REF) / GRADE_ZONE_FULL,
		-100.0, 100.0);
	out->shadows = grade_clamp(
	    100.0 * (s->pct[0] - GRADE_SHADOW_REF) / GRADE_ZONE_FULL, -100.0,
	    100.0);
}

/* ---- pooling ---- */

void
grade_pool_init(struct grade_pool *p)
{
	memset(p, 0, sizeof(*p));
}

void
grade_pool_add(struct grade_pool *p, const struct grade_stats *s, double weight)
{
	int i;

	if (!(weight > 0.0))
		return;
	if (p->nparts++ == 0) {
		p->only = *s;
		p->nhist = s->nhist;
	}
	if (s->nhist == 0 || s->nhist != p->nhist)
		p->nhist = -1;
	p->w += weight;
	for (i = 0; i < 3; i++) {
		p->mean[i] += weight * s->mean[i];
		p->square[i] +=
		    weight * (s->std[i] * s->std[i] + s->mean[i] * s->mean[i]);
	}
	p->chroma += weight * s->chroma;
	p->saturation += weight * s->saturation;
	for (i = 0; i < GRADE_PCT_N; i++)
		p->pct[i] += weight * s->pct[i];
	for (i = 0; p->nhist > 0 && i < s->nhist; i++)
		p->hist[i] += weight * s->hist[i];
}

/* L* below which a fraction q of the histogram lies, linear in a bin. */
static double
grade_hist_quantile(const double *hist, int n, double q)
{
	double below = 0.0, width = 100.0 / n;
	int i;

	for (i = 0; i < n; i++) {
		if (hist[i] > 0.0 && below + hist[i] >= q)
			return width * (i + (q - below) / hist[i]);
		below += hist[i];
	}
	return 100.0;
}

int
grade_pool_result(const struct grade_pool *p, struct grade_stats *out)
{
	int i;

	if (p->nparts == 0)
		return -1;
	if (p->nparts == 1) {
		*out = p->only;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	for (i = 0; i < 3; i++) {
		out->mean[i] = p->mean[i] / p->w;
		out->std[i] = sqrt(fmax(
		    0.0, p->square[i] / p->w - out->mean[i] * out->mean[i]));
	}
	out->chroma = p->chroma / p->w;
	out->saturation = p->saturation / p->w;
	out->nhist = p->nhist > 0 ? p->nhist : 0;
	for (i = 0; i < out->nhist; i++)
		out->hist[i] = p->hist[i] / p->w;
	for (i = 0; i < GRADE_PCT_N; i++) {
		out->pct[i] = out->nhist > 0
				  ? grade_hist_quantile(out->hist, out->nhist,
					grade_pct_levels[i] / 100.0)
				  : p->pct[i] / p->w;
	}
	return 0;
}

/*
 * Source percentile -> template percentile. Percentiles whose source
 * values lie within GRADE_KNOT_GAP of the first of their run are one knot
 * (a flat stretch of the histogram says nothing about the curve there),
 * and the run keeps the mapping of its level nearest the median: a flat
 * card's five percentiles are one knot that maps its median to the
 * template's median, not its 5th percentile to the template's shadows.
 */
static void
grade_knots(struct grade_transfer *t, const struct grade_stats *src,
    const struct grade_stats *tpl)
{
	double lasty = -1.0;
	int i = 0, j, k, n = 0, mid = 0;

	while (i < GRADE_PCT_N) {
		for (j = i + 1; j < GRADE_PCT_N &&
				src->pct[j] - src->pct[i] < GRADE_KNOT_GAP;
		     j++)
			;
		for (k = i; k + 1 < j && fabs(grade_pct_levels[k + 1] - 50.0) <
					     fabs(grade_pct_levels[k] - 50.0);
		     k++)
			;
		if (grade_pct_levels[k] <= 50.0)
			mid = n;
		t->kx[n] = src->pct[k];
		/* Percentiles rise; keep the curve monotone anyway. */
		t->ky[n] = tpl->pct[k] < lasty ? lasty : tpl->pct[k];
		lasty = t->ky[n++];
		i = j;
	}
	t->nknots = n;
	grade_limit(t, mid);
}

/*
 * Keeps the median's mapping and walks out from it, holding each
 * segment's slope within 1 / GRADE_SLOPE_MAX..GRADE_SLOPE_MAX, like the std
 * ratio of a* and b*. Matching the quantiles of a narrow source to a wide
 * template exactly would stretch a few L* units six-fold, and with them
 * every difference between the statistics and the pixels they summarise.
 */
static void
grade_limit(struct grade_transfer *t, int mid)
{
	double y[GRADE_KNOTS], slope;
	int i;

	memcpy(y, t->ky, sizeof(y));
	for (i = mid + 1; i < t->nknots; i++) {
		slope = (y[i] - y[i - 1]) / (t->kx[i] - t->kx[i - 1]);
		t->ky[i] =
		    t->ky[i - 1] +
		    grade_clamp(slope, 1.0 / GRADE_SLOPE_MAX, GRADE_SLOPE_MAX) *
			(t->kx[i] - t->kx[i - 1]);
	}
	for (i = mid - 1; i >= 0; i--) {
		slope = (y[i + 1] - y[i]) / (t->kx[i + 1] - t->kx[i]);
		t->ky[i] =
		    t->ky[i + 1] -
		    grade_clamp(slope, 1.0 / GRADE_SLOPE_MAX, GRADE_SLOPE_MAX) *
			(t->kx[i + 1] - t->kx[i]);
	}
}

/*
 * Fritsch-Carlson slopes (a monotone cubic: no overshoot between
 * percentiles). The end slopes are the end secants, and the curve
 * continues straight with them beyond the outer percentiles.
 */
static void
grade_slopes(struct grade_transfer *t)
{
	double d[GRADE_KNOTS], h[GRADE_KNOTS];
	int i, n = t->nknots;

	for (i = 0; i + 1 < n; i++) {
		h[i] = t->kx[i + 1] - t->kx[i];
		d[i] = (t->ky[i + 1] - t->ky[i]) / h[i];
	}
	for (i = 1; i + 1 < n; i++) {
		double w1 = 2.0 * h[i] + h[i - 1], w2 = h[i] + 2.0 * h[i - 1];

		if (d[i - 1] * d[i] <= 0.0)
			t->kd[i] = 0.0;
		else
			t->kd[i] = (w1 + w2) / (w1 / d[i - 1] + w2 / d[i]);
	}
	if (n == 1) {
		t->kd[0] = t->kl;
		return;
	}
	t->kd[0] = d[0];
	t->kd[n - 1] = d[n - 2];
}

double
grade_tone(const struct grade_transfer *t, double l)
{
	int i, n = t->nknots;
	double h, u, u2, u3;

	if (l <= t->kx[0])
		return t->ky[0] + (l - t->kx[0]) * t->kd[0];
	if (l >= t->kx[n - 1])
		return t->ky[n - 1] + (l - t->kx[n - 1]) * t->kd[n - 1];
	for (i = 0; i + 2 < n && l > t->kx[i + 1]; i++)
		;
	h = t->kx[i + 1] - t->kx[i];
	u = (l - t->kx[i]) / h;
	u2 = u * u;
	u3 = u2 * u;
	return (2 * u3 - 3 * u2 + 1) * t->ky[i] +
	       (u3 - 2 * u2 + u) * h * t->kd[i] +
	       (-2 * u3 + 3 * u2) * t->ky[i + 1] + (u3 - u2) * h * t->kd[i + 1];
}

/*
 * The curve moves the L* mean by its mean effect over the source's
 * histogram; whatever the template's mean still needs is added as an
 * offset. Measured against the histogram's own mean, so binning cancels
 * and equal statistics give exactly 0.
 */
static double
grade_offset(const struct grade_transfer *t, const struct grade_stats *src,
    const struct grade_stats *tpl)
{
	double moved = 0.0, w = 0.0, c, out;
	int i;

	for (i = 0; i < src->nhist; i++) {
		c = (i + 0.5) * 100.0 / src->nhist;
		out = grade_clamp(grade_tone(t, c), 0.0, 100.0);
		moved += src->hist[i] * (out - c);
		w += src->hist[i];
	}
	if (!(w > 0.0))
		return 0.0;
	return grade_clamp(tpl->mean[0] - src->mean[0] - moved / w,
	    -GRADE_OFFSET_MAX, GRADE_OFFSET_MAX);
}

/*
 * How much of the colour cast a lightness gets: none at black and white
 * (any chroma there is out of gamut and would clip to a stray hue), all
 * of it from GRADE_NEUTRAL_RAMP inside either end (smoothstep between).
 */
static double
grade_weight(double l)
{
	double u = grade_clamp(l / GRADE_NEUTRAL_RAMP, 0.0, 1.0);
	double v = grade_clamp((100.0 - l) / GRADE_NEUTRAL_RAMP, 0.0, 1.0);

	return u * u * (3.0 - 2.0 * u) * v * v * (3.0 - 2.0 * v);
}

/* Mean of grade_weight over the source's pixels after the L* mapping. */
static double
grade_mean_weight(const struct grade_transfer *t, const struct grade_stats *src)
{
	double w = 0.0, n = 0.0, c;
	int i;

	for (i = 0; i < src->nhist; i++) {
		c = (i + 0.5) * 100.0 / src->nhist;
		w += src->hist[i] *
		     grade_weight(grade_clamp(
			 grade_tone(t, c) + t->l_offset, 0.0, 100.0));
		n += src->hist[i];
	}
	return n > 0.0 ? w / n : 1.0;
}

void
grade_transfer_init(struct grade_transfer *t, const struct grade_stats *src,
    const struct grade_stats *tpl, double strength)
{
	double w, cap;
	int c;

	t->strength = grade_clamp(strength, 0.0, 1.0);
	for (c = 0; c < 3; c++) {
		cap = c == 0 ? GRADE_SLOPE_MAX : GRADE_CHROMA_MAX;
		t->k[c] =
		    src->std[c] > 1e-6
			? grade_clamp(tpl->std[c] / src->std[c], 1.0 / cap, cap)
			: 1.0;
	}
	t->kl = t->k[0];
	grade_knots(t, src, tpl);
	grade_slopes(t);
	t->l_offset = grade_offset(t, src, tpl);
	/*
	 * Chroma scales about neutral, so grey stays grey; the cast then
	 * makes up the difference of the means, scaled up by the share of
	 * pixels that receive it.
	 */
	w = fmax(grade_mean_weight(t, src), 1.0 / GRADE_SHIFT_GAIN_MAX);
	t->shift[0] = 0.0;
	for (c = 1; c < 3; c++)
		t->shift[c] = (tpl->mean[c] - t->k[c] * src->mean[c]) / w;
	grade_correct(t, src, tpl, w);
}

/*
 * The source's colours, as a maximum-entropy distribution over the sRGB
 * cube (a GRADE_SIM_GRID^3 grid, which includes the gamut surface where
 * clipping happens) that has the source's L* histogram and its measured
 * moments: a* and b* means and second moments, mean chroma and mean HSV
 * saturation. Such a distribution is g(L*) exp(lambda . f(colour)); g is
 * set bin by bin to match the histogram and lambda by Newton steps on the
 * moments. Chroma and saturation are what put test patterns on the
 * surface of the cube and natural footage inside it.
 */
struct grade_sample {
	double rgb[GRADE_SIM_N][3];
	double lab[GRADE_SIM_N][3];
	double f[GRADE_SIM_N][GRADE_FEAT];
	int bin[GRADE_SIM_N];
	double w[GRADE_SIM_N];
};

static void
grade_features(const double rgb[3], const double lab[3], double f[])
{
	double mx = fmax(fmax(rgb[0], rgb[1]), rgb[2]);
	double mn = fmin(fmin(rgb[0], rgb[1]), rgb[2]);

	f[0] = lab[1] / 100.0;
	f[1] = lab[2] / 100.0;
	f[2] = f[0] * f[0];
	f[3] = f[1] * f[1];
	f[4] = hypot(lab[1], lab[2]) / 100.0;
	f[5] = mx > 0.0 ? (mx - mn) / mx : 0.0;
}

static void
grade_sample_init(struct grade_sample *s, const struct grade_stats *src)
{
	int i, bin;

	for (i = 0; i < GRADE_SIM_N; i++) {
		s->rgb[i][0] =
		    (double)(i % GRADE_SIM_GRID) / (GRADE_SIM_GRID - 1);
		s->rgb[i][1] = (double)(i / GRADE_SIM_GRID % GRADE_SIM_GRID) /
			       (GRADE_SIM_GRID - 1);
		s->rgb[i][2] = (double)(i / (GRADE_SIM_GRID * GRADE_SIM_GRID)) /
			       (GRADE_SIM_GRID - 1);
		grade_srgb_to_lab(s->rgb[i], s->lab[i]);
		grade_features(s->rgb[i], s->lab[i], s->f[i]);
		bin = (int)(s->lab[i][0] * src->nhist / 100.0);
		s->bin[i] = bin < 0		? 0
			    : bin >= src->nhist ? src->nhist - 1
						: bin;
	}
}

/* Weights for lambda, each L* bin scaled to its share of the histogram. */
static void
grade_sample_weights(struct grade_sample *s, const struct grade_stats *src,
    const double lam[GRADE_FEAT])
{
	double z[GRADE_HIST_MAX], e, top = -HUGE_VAL;
	int i, k;

	memset(z, 0, sizeof(z));
	for (i = 0; i < GRADE_SIM_N; i++) {
		for (e = 0.0, k = 0; k < GRADE_FEAT; k++)
			e += lam[k] * s->f[i][k];
		s->w[i] = e;
		top = fmax(top, e);
	}
	for (i = 0; i < GRADE_SIM_N; i++) {
		s->w[i] = exp(s->w[i] - top);
		z[s->bin[i]] += s->w[i];
	}
	for (i = 0; i < GRADE_SIM_N; i++) {
		s->w[i] = z[s->bin[i]] > 0.0
			      ? s->w[i] * src->hist[s->bin[i]] / z[s->bin[i]]
			      : 0.0;
	}
}

/* Solves a x = b (n x n, partial pivoting); -1 when singular. */
static int
grade_solve(double a[GRADE_FEAT][GRADE_FEAT], double b[GRADE_FEAT], int n)
{
	double t;
	int i, j, k, p;

	for (k = 0; k < n; k++) {
		for (p = k, i = k + 1; i < n; i++)
			p = fabs(a[i][k]) > fabs(a[p][k]) ? i : p;
		if (fabs(a[p][k]) < 1e-12)
			return -1;
		for (j = 0; j < n; j++) {
			t = a[k][j];
			a[k][j] = a[p][j];
			a[p][j] = t;
		}
		t = b[k];
		b[k] = b[p];
		b[p] = t;
		for (i = k + 1; i < n; i++) {
			t = a[i][k] / a[k][k];
			for (j = k; j < n; j++)
				a[i][j] -= t * a[k][j];
			b[i] -= t * b[k];
		}
	}
	for (k = n - 1; k >= 0; k--) {
		for (j = k + 1; j < n; j++)
			b[k] -= a[k][j] * b[j];
		b[k] /= a[k][k];
	}
	return 0;
}

/* One Newton step of lambda towards the moments m. */
static int
grade_fit_step(const struct grade_sample *s, const double m[GRADE_FEAT],
    double lam[GRADE_FEAT])
{
	double e[GRADE_FEAT] = {0}, cov[GRADE_FEAT][GRADE_FEAT], n = 0.0, big;
	int i, j, k;

	memset(cov, 0, sizeof(cov));
	for (i = 0; i < GRADE_SIM_N; i++) {
		n += s->w[i];
		for (j = 0; j < GRADE_FEAT; j++) {
			e[j] += s->w[i] * s->f[i][j];
			for (k = 0; k < GRADE_FEAT; k++)
				cov[j][k] += s->w[i] * s->f[i][j] * s->f[i][k];
		}
	}
	if (!(n > 0.0))
		return -1;
	for (j = 0; j < GRADE_FEAT; j++) {
		for (k = 0; k < GRADE_FEAT; k++)
			cov[j][k] = cov[j][k] / n - e[j] * e[k] / (n * n);
		cov[j][j] += 1e-6;
	}
	for (j = 0; j < GRADE_FEAT; j++)
		e[j] = m[j] - e[j] / n;
	if (grade_solve(cov, e, GRADE_FEAT) == -1)
		return -1;
	/* Damped: moments a grid cannot reach must not blow lambda up. */
	for (big = 0.0, j = 0; j < GRADE_FEAT; j++)
		big = fmax(big, fabs(e[j]));
	for (j = 0; j < GRADE_FEAT; j++) {
		lam[j] +=
		    e[j] * (big > GRADE_FIT_STEP ? GRADE_FIT_STEP / big : 1.0);
		lam[j] =
		    grade_clamp(lam[j], -GRADE_FIT_LAMBDA, GRADE_FIT_LAMBDA);
	}
	return 0;
}

static void
grade_sample_fit(struct grade_sample *s, const struct grade_stats *src)
{
	double lam[GRADE_FEAT] = {0}, m[GRADE_FEAT];
	int round;

	m[0] = src->mean[1] / 100.0;
	m[1] = src->mean[2] / 100.0;
	m[2] = (src->mean[1] * src->mean[1] + src->std[1] * src->std[1]) / 1e4;
	m[3] = (src->mean[2] * src->mean[2] + src->std[2] * src->std[2]) / 1e4;
	m[4] = src->chroma / 100.0;
	m[5] = src->saturation;
	for (round = 0; round < GRADE_FIT_ROUNDS; round++) {
		grade_sample_weights(s, src, lam);
		if (grade_fit_step(s, m, lam) == -1)
			break;
	}
	grade_sample_weights(s, src, lam);
}

/*
 * Weighted mean CIELAB of the sample before and after the transfer;
 * -1 when the sample has no weight.
 */
static int
grade_simulate(const struct grade_transfer *t, const struct grade_sample *s,
    double in[3], double out[3])
{
	struct grade_transfer full = *t;
	double o[3], n = 0.0;
	int i, c;

	full.strength = 1.0;
	memset(in, 0, 3 * sizeof(*in));
	memset(out, 0, 3 * sizeof(*out));
	for (i = 0; i < GRADE_SIM_N; i++) {
		if (!(s->w[i] > 0.0))
			continue;
		grade_transfer_rgb(&full, s->rgb[i], o);
		grade_srgb_to_lab(o, o);
		for (c = 0; c < 3; c++) {
			in[c] += s->w[i] * s->lab[i][c];
			out[c] += s->w[i] * o[c];
		}
		n += s->w[i];
	}
	if (!(n > 0.0))
		return -1;
	for (c = 0; c < 3; c++) {
		in[c] /= n;
		out[c] /= n;
	}
	return 0;
}

/*
 * Colours pushed out of gamut clip back, and the means fall short of the
 * template's. The offsets are corrected until the simulated mean shift is
 * the wanted one (template mean minus source mean). Working on the shift,
 * not on absolute means, keeps equal statistics an exact identity. Without
 * a histogram, or memory, there is no model and no correction.
 */
/* Seven points: the mean, and one standard deviation each way per axis. */
static void
grade_sample_narrow(struct grade_sample *s, const struct grade_stats *src)
{
	double lab[3];
	int i, c;

	memset(s->w, 0, sizeof(s->w));
	for (i = 0; i < 7; i++) {
		for (c = 0; c < 3; c++)
			lab[c] = src->mean[c];
		if (i > 0)
			lab[(i - 1) / 2] +=
			    (i % 2 ? 1.0 : -1.0) * src->std[(i - 1) / 2];
		grade_lab_to_srgb(lab, s->rgb[i]);
		grade_srgb_to_lab(s->rgb[i], s->lab[i]);
		s->w[i] = 1.0;
	}
}

static bool
grade_narrow(const struct grade_stats *src)
{
	return src->std[0] < GRADE_NARROW_STD &&
	       src->std[1] < GRADE_NARROW_STD && src->std[2] < GRADE_NARROW_STD;
}

/*
 * How far the simulated mean lands from the wanted one (CIE76), or
 * INFINITY when the sample has no weight.
 */
static double
grade_miss(const struct grade_transfer *t, const struct grade_sample *s,
    const struct grade_stats *src, const struct grade_stats *tpl,
    double resid[3])
{
	double in[3], out[3];
	int c;

	if (grade_simulate(t, s, in, out) == -1)
		return INFINITY;
	for (c = 0; c < 3; c++)
		resid[c] = (tpl->mean[c] - src->mean[c]) - (out[c] - in[c]);
	return sqrt(
	    resid[0] * resid[0] + resid[1] * resid[1] + resid[2] * resid[2]);
}

/* Moves the offsets by the residual, within the correction's bounds. */
static void
grade_nudge(struct grade_transfer *t, const double resid[3], double w,
    const double base[3])
{
	int c;

	t->l_offset = grade_clamp(t->l_offset + resid[0],
	    base[0] - GRADE_SIM_CORRECTION_MAX,
	    base[0] + GRADE_SIM_CORRECTION_MAX);
	for (c = 1; c < 3; c++)
		t->shift[c] = grade_clamp(t->shift[c] + resid[c] / w,
		    base[c] - GRADE_SIM_CORRECTION_MAX,
		    base[c] + GRADE_SIM_CORRECTION_MAX);
}

/*
 * Colours pushed out of gamut clip back, and the means fall short of the
 * template's. The offsets are corrected until the simulated mean shift is
 * the wanted one (template mean minus source mean). Working on the shift,
 * not on absolute means, keeps equal statistics an exact identity. When
 * the wanted means lie outside what the gamut allows, chasing one channel
 * can cost another more (a flat mint card graded towards a saturated
 * green lost 32 L* for 30 b*), so the round whose simulated means land
 * nearest the wanted ones is kept, the uncorrected transfer included.
 * Without a histogram, or memory, there is no model and no correction.
 */
static void
grade_correct(struct grade_transfer *t, const struct grade_stats *src,
    const struct grade_stats *tpl, double w)
{
	struct grade_transfer best = *t;
	struct grade_sample *s;
	double resid[3], base[3], miss, best_miss = INFINITY;
	int round;

	if (src->nhist == 0 || (s = malloc(sizeof(*s))) == NULL)
		return;
	if (grade_narrow(src)) {
		grade_sample_narrow(s, src);
	} else {
		grade_sample_init(s, src);
		grade_sample_fit(s, src);
	}
	base[0] = t->l_offset;
	base[1] = t->shift[1];
	base[2] = t->shift[2];
	for (round = 0; round <= GRADE_SIM_ROUNDS; round++) {
		miss = grade_miss(t, s, src, tpl, resid);
		if (!isfinite(miss))
			break;
		if (miss < best_miss) {
			best_miss = miss;
			best = *t;
		}
		if (round < GRADE_SIM_ROUNDS)
			grade_nudge(t, resid, w, base);
	}
	free(s);
	*t = best;
}

void
grade_transfer_lab(
    const struct grade_transfer *t, const double in[3], double out[3])
{
	double w;
	int c;

	out[0] = grade_clamp(grade_tone(t, in[0]) + t->l_offset, 0.0, 100.0);
	w = grade_weight(out[0]);
	for (c = 1; c < 3; c++)
		out[c] = in[c] * t->k[c] + t->shift[c] * w;
}

void
grade_transfer_rgb(
    const struct grade_transfer *t, const double in[3], double out[3])
{
	double lab[3], mapped[3], rgb[3];
	int c;

	grade_srgb_to_lab(in, lab);
	grade_transfer_lab(t, lab, mapped);
	grade_lab_to_srgb(mapped, rgb);
	for (c = 0; c < 3; c++)
		out[c] = grade_clamp(
		    in[c] + t->strength * (rgb[c] - in[c]), 0.0, 1.0);
}

float *
grade_lut_build(const struct grade_transfer *t, int size)
{
	double in[3], out[3];
	float *lut, *p;
	int r, g, b, c;

	if (size < 2 || (lut = calloc((size_t)size * size * size * 3,
			     sizeof(*lut))) == NULL)
		return NULL;
	p = lut;
	for (b = 0; b < size; b++) {
		for (g = 0; g < size; g++) {
			for (r = 0; r < size; r++) {
				in[0] = (double)r / (size - 1);
				in[1] = (double)g / (size - 1);
				in[2] = (double)b / (size - 1);
				grade_transfer_rgb(t, in, out);
				for (c = 0; c < 3; c++)
					*p++ = (float)out[c];
			}
		}
	}
	return lut;
}

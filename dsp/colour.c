/*
 * Colour conversions and grade statistics (media-algorithms.md 3.1-3.2).
 * Decoded 8-bit values are taken as sRGB: its transfer function is an
 * adequate stand-in for BT.709 display gamma when the goal is statistics,
 * and both share primaries and the D65 white. Percentiles come from a
 * fixed L* histogram, so they are exact to within one bin (0.78 L*), and
 * every accumulator is a fixed-size struct whatever the video length.
 *
 * Frame summaries run on millions of pixels, so they take the companding
 * function from a table with linear interpolation (COLOUR_F_STEPS steps
 * per unit: at most 4e-6 off, so 0.004 in a* at worst, near black), and
 * 8-bit decoding and reciprocals from tables too; the single-colour
 * conversions above them stay exact.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "colour.h"

/* D65 reference white, Y normalised to 1 (CIE 15, 2 degree observer). */
#define COLOUR_XN 0.95047
#define COLOUR_YN 1.0
#define COLOUR_ZN 1.08883
/*
 * Table steps per unit of X/Xn, Y/Yn and Z/Zn; the table covers 0 to 1.25
 * (8-bit sRGB white reaches 1.0001).
 */
#define COLOUR_F_STEPS 4096
#define COLOUR_F_SIZE (COLOUR_F_STEPS + COLOUR_F_STEPS / 4 + 2)

/* Built once, by colour_tables_init(); read-only after. */
static struct {
	double lin[256]; /* decoded 8-bit value to linear light */
	double inv[256]; /* 1 / v, for HSV saturation; 0 for 0 */
	float f[COLOUR_F_SIZE];
} colour_tab;
static pthread_once_t colour_tab_once = PTHREAD_ONCE_INIT;

static double colour_lab_f(double t);
static void colour_lab_from_linear(const double lin[3], double lab[3]);
static int colour_hist_bin(double l);
static void colour_tables_init(void);
static double colour_lab_f_fast(double t);
static int colour_measure(const uint8_t *const plane[3], const int linesize[3],
    int bpp, int width, int height, int step, struct colour_frame *out);

double
colour_srgb_to_linear(double v)
{
	if (v <= 0.04045)
		return v / 12.92;
	return pow((v + 0.055) / 1.055, 2.4);
}

void
colour_linear_to_xyz(const double rgb[3], double xyz[3])
{
	xyz[0] = 0.4124564 * rgb[0] + 0.3575761 * rgb[1] + 0.1804375 * rgb[2];
	xyz[1] = 0.2126729 * rgb[0] + 0.7151522 * rgb[1] + 0.0721750 * rgb[2];
	xyz[2] = 0.0193339 * rgb[0] + 0.1191920 * rgb[1] + 0.9503041 * rgb[2];
}

/* The CIELAB companding function, linear near black (CIE 15). */
static double
colour_lab_f(double t)
{
	const double d = 6.0 / 29.0;

	if (t > d * d * d)
		return cbrt(t);
	return t / (3.0 * d * d) + 4.0 / 29.0;
}

void
colour_xyz_to_lab(const double xyz[3], double lab[3])
{
	double fx = colour_lab_f(xyz[0] / COLOUR_XN);
	double fy = colour_lab_f(xyz[1] / COLOUR_YN);
	double fz = colour_lab_f(xyz[2] / COLOUR_ZN);

	lab[0] = 116.0 * fy - 16.0;
	lab[1] = 500.0 * (fx - fy);
	lab[2] = 200.0 * (fy - fz);
}

static void
colour_lab_from_linear(const double lin[3], double lab[3])
{
	double xyz[3];

	colour_linear_to_xyz(lin, xyz);
	colour_xyz_to_lab(xyz, lab);
}

void
colour_rgb8_to_lab(uint8_t r, uint8_t g, uint8_t b, double lab[3])
{
	double lin[3];

	lin[0] = colour_srgb_to_linear(r / 255.0);
	lin[1] = colour_srgb_to_linear(g / 255.0);
	lin[2] = colour_srgb_to_linear(b / 255.0);
	colour_lab_from_linear(lin, lab);
}

static int
colour_hist_bin(double l)
{
	int bin = (int)(l * COLOUR_HIST_BINS / 100.0);

	if (bin < 0)
		return 0;
	return bin >= COLOUR_HIST_BINS ? COLOUR_HIST_BINS - 1 : bin;
}

/* Sums of one frame, in double until they are divided down. */
struct colour_sums {
	double n, sum[3], sumsq[3], chroma, sat;
};

static void
colour_tables_init(void)
{
	int i;

	for (i = 0; i < 256; i++) {
		colour_tab.lin[i] = colour_srgb_to_linear(i / 255.0);
		colour_tab.inv[i] = i > 0 ? 1.0 / i : 0.0;
	}
	for (i = 0; i < COLOUR_F_SIZE; i++)
		colour_tab.f[i] =
		    (float)colour_lab_f((double)i / COLOUR_F_STEPS);
}

static double
colour_lab_f_fast(double t)
{
	double x = t * COLOUR_F_STEPS;
	int i;

	if (!(x >= 0.0 && x < COLOUR_F_SIZE - 1))
		return colour_lab_f(t);
	i = (int)x;
	return colour_tab.f[i] +
	       (x - i) * (colour_tab.f[i + 1] - colour_tab.f[i]);
}

static void
colour_pixel(const uint8_t p[3], struct colour_frame *f, struct colour_sums *s)
{
	double r = colour_tab.lin[p[0]], g = colour_tab.lin[p[1]];
	double b = colour_tab.lin[p[2]], fx, fy, fz, lab[3];
	int mx = p[0], mn = p[0], c;

	/* colour_linear_to_xyz's rows, over the white point. */
	fx = colour_lab_f_fast(
	    (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / COLOUR_XN);
	fy = colour_lab_f_fast(
	    (0.2126729 * r + 0.7151522 * g + 0.0721750 * b) / COLOUR_YN);
	fz = colour_lab_f_fast(
	    (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / COLOUR_ZN);
	lab[0] = 116.0 * fy - 16.0;
	lab[1] = 500.0 * (fx - fy);
	lab[2] = 200.0 * (fy - fz);
	for (c = 0; c < 3; c++) {
		s->sum[c] += lab[c];
		s->sumsq[c] += lab[c] * lab[c];
	}
	s->chroma += sqrt(lab[1] * lab[1] + lab[2] * lab[2]);
	for (c = 1; c < 3; c++) {
		mx = p[c] > mx ? p[c] : mx;
		mn = p[c] < mn ? p[c] : mn;
	}
	s->sat += (mx - mn) * colour_tab.inv[mx];
	f->hist[colour_hist_bin(lab[0])]++;
	s->n++;
}

/* R, G and B at plane[c] + y * linesize[c] + x * bpp. */
static int
colour_measure(const uint8_t *const plane[3], const int linesize[3], int bpp,
    int width, int height, int step, struct colour_frame *out)
{
	struct colour_sums s;
	uint8_t px[3];
	size_t at;
	int x, y, c;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (step < 1 || width < 1 || height < 1 ||
	    (double)((width + step - 1) / step) * ((height + step - 1) / step) >
		COLOUR_FRAME_MAX_PIXELS)
		return -1;
	(void)pthread_once(&colour_tab_once, colour_tables_init);
	for (y = 0; y < height; y += step) {
		for (x = 0; x < width; x += step) {
			for (c = 0; c < 3; c++) {
				at = (size_t)y * linesize[c] + (size_t)x * bpp;
				px[c] = plane[c][at];
			}
			colour_pixel(px, out, &s);
		}
	}
	out->n = (uint32_t)s.n;
	for (c = 0; c < 3; c++) {
		out->mean[c] = (float)(s.sum[c] / s.n);
		out->meansq[c] = (float)(s.sumsq[c] / s.n);
	}
	out->chroma = (float)(s.chroma / s.n);
	out->sat = (float)(s.sat / s.n);
	return 0;
}

int
colour_frame_measure(const uint8_t *rgb, int width, int height, int linesize,
    int step, struct colour_frame *out)
{
	const uint8_t *plane[3] = {rgb, rgb + 1, rgb + 2};
	const int ls[3] = {linesize, linesize, linesize};

	return colour_measure(plane, ls, 3, width, height, step, out);
}

int
colour_frame_measure_planes(const uint8_t *const rgb[3], const int linesize[3],
    int width, int height, int step, struct colour_frame *out)
{
	return colour_measure(rgb, linesize, 1, width, height, step, out);
}

void
colour_acc_init(struct colour_acc *acc)
{
	memset(acc, 0, sizeof(*acc));
}

void
colour_acc_add(struct colour_acc *acc, const struct colour_frame *f)
{
	int c;

	acc->n += f->n;
	for (c = 0; c < 3; c++) {
		acc->sum[c] += (double)f->mean[c] * f->n;
		acc->sumsq[c] += (double)f->meansq[c] * f->n;
	}
	acc->chroma += (double)f->chroma * f->n;
	acc->sat += (double)f->sat * f->n;
	for (c = 0; c < COLOUR_HIST_BINS; c++)
		acc->hist[c] += f->hist[c];
}

void
colour_acc_merge(struct colour_acc *acc, const struct colour_acc *more)
{
	int c;

	acc->n += more->n;
	for (c = 0; c < 3; c++) {
		acc->sum[c] += more->sum[c];
		acc->sumsq[c] += more->sumsq[c];
	}
	acc->chroma += more->chroma;
	acc->sat += more->sat;
	for (c = 0; c < COLOUR_HIST_BINS; c++)
		acc->hist[c] += more->hist[c];
}

void
colour_acc_mean(const struct colour_acc *acc, double mean[3])
{
	int c;

	for (c = 0; c < 3; c++)
		mean[c] = acc->n > 0 ? acc->sum[c] / acc->n : 0.0;
}

void
colour_acc_std(const struct colour_acc *acc, double std[3])
{
	double m, var;
	int c;

	for (c = 0; c < 3; c++) {
		std[c] = 0.0;
		if (acc->n <= 0)
			continue;
		m = acc->sum[c] / acc->n;
		/* Rounding can leave a flat channel a hair below zero. */
		var = acc->sumsq[c] / acc->n - m * m;
		std[c] = var > 0.0 ? sqrt(var) : 0.0;
	}
}

double
colour_acc_chroma(const struct colour_acc *acc)
{
	return acc->n > 0 ? acc->chroma / acc->n : 0.0;
}

double
colour_acc_saturation(const struct colour_acc *acc)
{
	return acc->n > 0 ? acc->sat / acc->n : 0.0;
}

double
colour_acc_percentile(const struct colour_acc *acc, double p)
{
	const double width = 100.0 / COLOUR_HIST_BINS;
	double total = 0.0, target, cum = 0.0;
	int i;

	for (i = 0; i < COLOUR_HIST_BINS; i++)
		total += (double)acc->hist[i];
	if (total <= 0.0)
		return 0.0;
	p = p < 0.0 ? 0.0 : p > 100.0 ? 100.0 : p;
	target = p / 100.0 * total;
	for (i = 0; i < COLOUR_HIST_BINS; i++) {
		if (acc->hist[i] > 0 && cum + (double)acc->hist[i] >= target)
			return (i + (target - cum) / (double)acc->hist[i]) *
			       width;
		cum += (double)acc->hist[i];
	}
	return 100.0;
}

int
colour_acc_hist(const struct colour_acc *acc, double *out, int bins)
{
	double total = 0.0;
	int i, per;

	if (bins < 1 || COLOUR_HIST_BINS % bins != 0)
		return -1;
	per = COLOUR_HIST_BINS / bins;
	for (i = 0; i < bins; i++)
		out[i] = 0.0;
	for (i = 0; i < COLOUR_HIST_BINS; i++) {
		out[i / per] += (double)acc->hist[i];
		total += (double)acc->hist[i];
	}
	for (i = 0; total > 0.0 && i < bins; i++)
		out[i] /= total;
	return 0;
}

double
colour_cie76(const double a[3], const double b[3])
{
	return sqrt((a[0] - b[0]) * (a[0] - b[0]) +
		    (a[1] - b[1]) * (a[1] - b[1]) +
		    (a[2] - b[2]) * (a[2] - b[2]));
}

/* Hue angle in degrees, 0..360, of (a', b); 0 for a neutral colour. */
static double
colour_hue_deg(double ap, double b)
{
	double h;

	if (ap == 0.0 && b == 0.0)
		return 0.0;
	h = atan2(b, ap) * 180.0 / M_PI;
	return h < 0.0 ? h + 360.0 : h;
}

static double
colour_rad(double deg)
{
	return deg * M_PI / 180.0;
}

/* Hue difference and mean hue, with the CIEDE2000 rules for the wrap. */
static void
colour_hue_terms(double h1, double h2, double c1c2, double *dh, double *hbar)
{
	double d = h2 - h1, s = h1 + h2;

	if (c1c2 == 0.0) {
		*dh = 0.0;
		*hbar = s;
		return;
	}
	*dh = d > 180.0 ? d - 360.0 : d < -180.0 ? d + 360.0 : d;
	if (fabs(d) <= 180.0)
		*hbar = s / 2.0;
	else
		*hbar = s < 360.0 ? (s + 360.0) / 2.0 : (s - 360.0) / 2.0;
}

/*
 * Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula",
 * with kL = kC = kH = 1.
 */
double
colour_ciede2000(const double a[3], const double b[3])
{
	double c1 = hypot(a[1], a[2]), c2 = hypot(b[1], b[2]);
	double cbar7 = pow((c1 + c2) / 2.0, 7.0);
	double g = 0.5 * (1.0 - sqrt(cbar7 / (cbar7 + pow(25.0, 7.0))));
	double a1 = (1.0 + g) * a[1], a2 = (1.0 + g) * b[1];
	double c1p = hypot(a1, a[2]), c2p = hypot(a2, b[2]);
	double h1 = colour_hue_deg(a1, a[2]), h2 = colour_hue_deg(a2, b[2]);
	double dh, hbar, dl = b[0] - a[0], dc = c2p - c1p, dhh, lbar, cbar, t;
	double sl, sc, sh, rt, lb50;

	colour_hue_terms(h1, h2, c1p * c2p, &dh, &hbar);
	dhh = 2.0 * sqrt(c1p * c2p) * sin(colour_rad(dh / 2.0));
	lbar = (a[0] + b[0]) / 2.0;
	cbar = (c1p + c2p) / 2.0;
	t = 1.0 - 0.17 * cos(colour_rad(hbar - 30.0)) +
	    0.24 * cos(colour_rad(2.0 * hbar)) +
	    0.32 * cos(colour_rad(3.0 * hbar + 6.0)) -
	    0.20 * cos(colour_rad(4.0 * hbar - 63.0));
	lb50 = (lbar - 50.0) * (lbar - 50.0);
	sl = 1.0 + 0.015 * lb50 / sqrt(20.0 + lb50);
	sc = 1.0 + 0.045 * cbar;
	sh = 1.0 + 0.015 * cbar * t;
	rt = -2.0 * sqrt(pow(cbar, 7.0) / (pow(cbar, 7.0) + pow(25.0, 7.0))) *
	     sin(colour_rad(60.0 * exp(-((hbar - 275.0) / 25.0) *
				       ((hbar - 275.0) / 25.0))));
	return sqrt((dl / sl) * (dl / sl) + (dc / sc) * (dc / sc) +
		    (dhh / sh) * (dhh / sh) + rt * (dc / sc) * (dhh / sh));
}

double
colour_hist_distance(const double *p, const double *q, int n)
{
	double cp = 0.0, cq = 0.0, sum = 0.0;
	int i;

	for (i = 0; i < n; i++) {
		cp += p[i];
		cq += q[i];
		sum += fabs(cp - cq);
	}
	return n > 0 ? sum * 100.0 / n : 0.0;
}

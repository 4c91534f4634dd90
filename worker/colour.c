/*
 * Colour conversions and grade statistics (media-algorithms.md 3.1-3.2).
 * Decoded 8-bit values are taken as sRGB: its transfer function is an
 * adequate stand-in for BT.709 display gamma when the goal is statistics,
 * and both share primaries and the D65 white. Percentiles come from a
 * fixed L* histogram, so they are exact to within one bin (0.78 L*), and
 * every accumulator is a fixed-size struct whatever the video length.
 */
#include <math.h>
#include <string.h>

#include "colour.h"

/* D65 reference white, Y normalised to 1 (CIE 15, 2 degree observer). */
#define COLOUR_XN 0.95047
#define COLOUR_YN 1.0
#define COLOUR_ZN 1.08883

static double colour_lab_f(double t);
static void colour_lab_from_linear(const double lin[3], double lab[3]);
static int colour_hist_bin(double l);

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
colour_pixel(const uint8_t *p, const double lut[256], struct colour_frame *f,
    struct colour_sums *s)
{
	double lin[3] = {lut[p[0]], lut[p[1]], lut[p[2]]}, lab[3];
	int mx = p[0], mn = p[0], c;

	colour_lab_from_linear(lin, lab);
	for (c = 0; c < 3; c++) {
		s->sum[c] += lab[c];
		s->sumsq[c] += lab[c] * lab[c];
	}
	s->chroma += hypot(lab[1], lab[2]);
	for (c = 1; c < 3; c++) {
		mx = p[c] > mx ? p[c] : mx;
		mn = p[c] < mn ? p[c] : mn;
	}
	if (mx > 0)
		s->sat += (double)(mx - mn) / mx;
	f->hist[colour_hist_bin(lab[0])]++;
	s->n++;
}

int
colour_frame_measure(const uint8_t *rgb, int width, int height, int linesize,
    int step, struct colour_frame *out)
{
	struct colour_sums s;
	double lut[256];
	int x, y, c;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (step < 1 || width < 1 || height < 1 ||
	    (double)((width + step - 1) / step) * ((height + step - 1) / step) >
		COLOUR_FRAME_MAX_PIXELS)
		return -1;
	for (x = 0; x < 256; x++)
		lut[x] = colour_srgb_to_linear(x / 255.0);
	for (y = 0; y < height; y += step) {
		for (x = 0; x < width; x += step)
			colour_pixel(
			    rgb + (size_t)y * linesize + 3 * x, lut, out, &s);
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

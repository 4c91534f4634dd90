/*
 * Colour science for the analysis stages: 8-bit sRGB (BT.709 primaries,
 * D65 white) to linear light, CIE XYZ and CIELAB, and the statistics that
 * describe a grade. A frame is summarised once into a small fixed-size
 * record (Lab moments, mean chroma and HSV saturation, an L* histogram);
 * records add up into per-shot or whole-video accumulators, from which
 * means, standard deviations, percentiles and a normalised histogram are
 * read. Accumulating never allocates, so statistics over any length of
 * video cost the same memory. Prefix colour_.
 */
#ifndef REEL_COLOUR_H
#define REEL_COLOUR_H

#include <stddef.h>
#include <stdint.h>

/* L* histogram resolution: 128 bins over 0..100 (0.78 L* per bin). */
#define COLOUR_HIST_BINS 128
/* Largest pixel count one colour_frame can hold (uint16_t bins). */
#define COLOUR_FRAME_MAX_PIXELS 65535

/* The colour summary of one frame. Means are over its sampled pixels. */
struct colour_frame {
	uint32_t n;	 /* pixels sampled */
	float mean[3];	 /* L*, a*, b* */
	float meansq[3]; /* mean of squares of L*, a*, b* */
	float chroma;	 /* mean C*ab = sqrt(a*^2 + b*^2) */
	float sat;	 /* mean HSV saturation, 0..1 */
	uint16_t hist[COLOUR_HIST_BINS];
};

/* Frames added together; weight is the pixel count. */
struct colour_acc {
	double n;
	double sum[3];
	double sumsq[3];
	double chroma;
	double sat;
	uint64_t hist[COLOUR_HIST_BINS];
};

/* sRGB transfer function, decoded value v in 0..1 to linear light. */
double colour_srgb_to_linear(double v);
/* Linear sRGB to CIE XYZ (D65, Y of white = 1). */
void colour_linear_to_xyz(const double rgb[3], double xyz[3]);
/* CIE XYZ to CIELAB relative to D65. */
void colour_xyz_to_lab(const double xyz[3], double lab[3]);
/* 8-bit sRGB straight to CIELAB (D65). */
void colour_rgb8_to_lab(uint8_t r, uint8_t g, uint8_t b, double lab[3]);

/*
 * Summarises packed RGB24 pixels: every step-th pixel of every step-th
 * row. The sampled count must not exceed COLOUR_FRAME_MAX_PIXELS; returns
 * -1 (and leaves out zeroed) if it would.
 */
int colour_frame_measure(const uint8_t *rgb, int width, int height,
    int linesize, int step, struct colour_frame *out);
/* The same for planar RGB: planes R, G, B, each with its line size. */
int colour_frame_measure_planes(const uint8_t *const rgb[3],
    const int linesize[3], int width, int height, int step,
    struct colour_frame *out);

void colour_acc_init(struct colour_acc *acc);
void colour_acc_add(struct colour_acc *acc, const struct colour_frame *f);
void colour_acc_merge(struct colour_acc *acc, const struct colour_acc *more);
/* Per-channel L*, a*, b* mean and standard deviation; 0 when empty. */
void colour_acc_mean(const struct colour_acc *acc, double mean[3]);
void colour_acc_std(const struct colour_acc *acc, double std[3]);
double colour_acc_chroma(const struct colour_acc *acc);
double colour_acc_saturation(const struct colour_acc *acc);
/* The p-th percentile (0..100) of L*, interpolated inside its bin. */
double colour_acc_percentile(const struct colour_acc *acc, double p);
/*
 * The L* histogram as fractions summing to 1 (all 0 when empty), merged
 * into bins bins; bins must divide COLOUR_HIST_BINS.
 */
int colour_acc_hist(const struct colour_acc *acc, double *out, int bins);

/* Colour differences of two CIELAB colours: Euclidean, and CIE 2000. */
double colour_cie76(const double a[3], const double b[3]);
double colour_ciede2000(const double a[3], const double b[3]);
/*
 * The earth mover's distance between two L* histograms of n equal bins
 * over 0..100 (each summing to 1), in L* units: how far, on average, the
 * lightness of one must move to become the other.
 */
double colour_hist_distance(const double *p, const double *q, int n);

#endif

/*
 * Colour-grade maths for style_extraction and style_application: the
 * StyleJSON color_grade presentation of a video's CIELAB statistics, and a
 * statistics transfer baked into a 3D LUT and written as a standard .cube
 * file. The transfer (media-algorithms.md 3.3, Reinhard's mean/std idea
 * done in CIELAB): L* through a monotone tone curve that maps the
 * source's percentiles towards the template's, plus an offset that lands
 * the L* mean; a* and b* scaled about neutral by the std ratio, plus the
 * colour cast that lands their means. Offsets are then corrected for
 * gamut clipping by simulating the transfer on a model of the source's
 * colours. Pure functions, no I/O except the .cube printer, which writes
 * to a stream it is given.
 *
 * Guarantees: the transfer with equal source and template statistics is
 * the identity (to rounding); L*, a* and b* means after transfer are the
 * template's when the source's pixels are like the model built from its
 * statistics (clipping included); black and white stay neutral; tone
 * curve slopes and chroma scales are bounded; LUT values are clamped to
 * 0..1 and laid out red fastest, as .cube wants. Prefix grade_.
 */
#ifndef REEL_GRADE_H
#define REEL_GRADE_H

#define GRADE_LUT_SIZE 33
/* L* percentiles kept per video: 5, 25, 50, 75 and 95 %. */
#define GRADE_PCT_N 5
/* Largest L* histogram (bins over 0..100) a statistics record holds. */
#define GRADE_HIST_MAX 128
/* Tone-curve knots: the percentiles, after merging flat stretches. */
#define GRADE_KNOTS GRADE_PCT_N

extern const double grade_pct_levels[GRADE_PCT_N];

/* What video_analysis measures for a video (or a shot). */
struct grade_stats {
	double mean[3];		     /* L*, a*, b* */
	double std[3];		     /* their standard deviations */
	double pct[GRADE_PCT_N];     /* L* at grade_pct_levels */
	double chroma;		     /* mean C*ab */
	double saturation;	     /* mean HSV saturation, 0..1 */
	int nhist;		     /* 0 when no histogram is known */
	double hist[GRADE_HIST_MAX]; /* L* fractions, equal bins on 0..100 */
};

/* StyleJSON color_grade, each -100..100, 0 = neutral. */
struct grade_look {
	double temperature;
	double tint;
	double saturation;
	double contrast;
	double highlights;
	double shadows;
};

/* sRGB (encoded, 0..1) to CIELAB (D65), as video_analysis measures. */
void grade_srgb_to_lab(const double rgb[3], double lab[3]);
/* CIELAB to sRGB, clipped to the gamut in linear light. */
void grade_lab_to_srgb(const double lab[3], double rgb[3]);
/*
 * Correlated colour temperature, K, of the chromaticity of a CIELAB
 * colour (McCamy's cubic), clamped to 1000..40000. a* = b* = 0 gives the
 * D65 white, about 6505 K.
 */
double grade_cct(const double lab[3]);
void grade_look_measure(const struct grade_stats *s, struct grade_look *out);

/*
 * Statistics of a mixture of parts (the shots an edit keeps), each part
 * weighted (its kept duration): means, and standard deviations by the law
 * of total variance; the histograms add up, and the percentiles are read
 * from the sum when every part has a histogram of one size, else the
 * weighted mean of the parts' percentiles. A single part is copied.
 */
struct grade_pool {
	double w, mean[3], square[3], chroma, saturation;
	double pct[GRADE_PCT_N], hist[GRADE_HIST_MAX];
	int nhist; /* -1 once parts disagree or one has none */
	size_t nparts;
	struct grade_stats only;
};

void grade_pool_init(struct grade_pool *p);
void grade_pool_add(
    struct grade_pool *p, const struct grade_stats *s, double weight);
/* -1 when nothing of weight was added. */
int grade_pool_result(const struct grade_pool *p, struct grade_stats *out);

/* A transfer from one set of statistics to another. */
struct grade_transfer {
	double strength; /* 0 = identity .. 1 = full transfer, blended in RGB */
	/*
	 * a*, b*: x' = x * k + shift * w(L*'), where w fades the cast out
	 * towards black and white. k[0] is the L* std ratio.
	 */
	double k[3], shift[3];
	/*
	 * L*' = tone(L*) + l_offset, clamped to 0..100: a monotone cubic
	 * through (kx, ky) with slopes kd, straight beyond the outer knots;
	 * with a single knot (a flat histogram), a line of slope kl.
	 */
	int nknots;
	double kx[GRADE_KNOTS], ky[GRADE_KNOTS], kd[GRADE_KNOTS];
	double kl;
	double l_offset;
};

void grade_transfer_init(struct grade_transfer *t,
    const struct grade_stats *src, const struct grade_stats *tpl,
    double strength);
/* The L* tone curve alone (no offset), for tests and prediction. */
double grade_tone(const struct grade_transfer *t, double l);
/* Full-strength transfer of one CIELAB colour. */
void grade_transfer_lab(
    const struct grade_transfer *t, const double in[3], double out[3]);
/* The transfer of one sRGB colour at the transfer's strength. */
void grade_transfer_rgb(
    const struct grade_transfer *t, const double in[3], double out[3]);
/*
 * A size^3 LUT of RGB triples, red fastest, then green, then blue:
 * entry (r, g, b) is at ((b * size + g) * size + r) * 3. NULL when out of
 * memory or size < 2; free() it.
 */
float *grade_lut_build(const struct grade_transfer *t, int size);

#endif

/*
 * True-peak limiter (see limiter.h). For input sample i the detector
 * works on sample d = i - LIM_HALF, whose interpolation window then lies
 * wholly in the past; the gain computed at d belongs to sample
 * m = d - L + 1, L being the look-ahead. Everything lives in power-of-two
 * rings indexed by absolute sample number.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "limiter.h"

#define LIM_PHASES 4
#define LIM_TAPS 12
#define LIM_HALF (LIM_TAPS / 2) /* taps after the sample */
/* Holds the look-ahead and the taps at rates up to 192 kHz. */
#define LIM_RING 1024
#define LIM_MAX_CHANNELS 8

struct lim {
	int ch, look;
	double ceiling, rel, minimum;
	float h[LIM_PHASES - 1][LIM_TAPS];
	float *x;     /* LIM_RING frames, interleaved */
	double *need; /* gain needed per sample */
	double *rel_g;
	int64_t *dq; /* sliding-minimum deque of sample numbers */
	int dq_head, dq_len;
	double sum, r_prev, p_prev;
	int64_t n; /* input frames so far */
};

static double
lim_sinc(double t)
{
	return fabs(t) < 1e-12 ? 1.0 : sin(M_PI * t) / (M_PI * t);
}

/* Phase q/4 of a Hann-windowed sinc, taps k = -5..6, unity DC gain. */
static void
lim_design(struct lim *l)
{
	double w = LIM_HALF + 0.5, t, sum;
	int q, k;

	for (q = 1; q < LIM_PHASES; q++) {
		sum = 0.0;
		for (k = 0; k < LIM_TAPS; k++) {
			t = (k - (LIM_HALF - 1)) - q / (double)LIM_PHASES;
			l->h[q - 1][k] = (float)(lim_sinc(t) * 0.5 *
						 (1.0 + cos(M_PI * t / w)));
			sum += l->h[q - 1][k];
		}
		for (k = 0; k < LIM_TAPS; k++)
			l->h[q - 1][k] = (float)(l->h[q - 1][k] / sum);
	}
}

struct lim *
lim_new(int rate, int channels, double ceiling_db)
{
	struct lim *l;
	int look = (int)lround(rate * LIM_LOOKAHEAD_S), i;

	if (rate < 8000 || channels < 1 || channels > LIM_MAX_CHANNELS ||
	    look < 1 || look + LIM_TAPS >= LIM_RING)
		return NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->ch = channels;
	l->look = look;
	l->ceiling = pow(10.0, ceiling_db / 20.0);
	l->rel = 1.0 - exp(-1.0 / (LIM_RELEASE_S * rate));
	l->minimum = 1.0;
	l->r_prev = 1.0;
	l->sum = look;
	l->x = calloc((size_t)LIM_RING * channels, sizeof(*l->x));
	l->need = calloc(LIM_RING, sizeof(*l->need));
	l->rel_g = calloc(LIM_RING, sizeof(*l->rel_g));
	l->dq = calloc(LIM_RING, sizeof(*l->dq));
	if (l->x == NULL || l->need == NULL || l->rel_g == NULL ||
	    l->dq == NULL) {
		lim_free(l);
		return NULL;
	}
	for (i = 0; i < LIM_RING; i++)
		l->rel_g[i] = 1.0;
	lim_design(l);
	return l;
}

int
lim_latency(const struct lim *l)
{
	return l->look - 1 + LIM_HALF;
}

double
lim_min_gain(const struct lim *l)
{
	return l->minimum;
}

/* The highest sample or interpolated value from d to d + 1, any channel. */
static double
lim_peak(const struct lim *l, int64_t d)
{
	double peak = 0.0, v;
	int c, q, k;

	for (c = 0; c < l->ch; c++) {
		v = fabs(l->x[(d & (LIM_RING - 1)) * l->ch + c]);
		peak = v > peak ? v : peak;
		for (q = 0; q < LIM_PHASES - 1; q++) {
			v = 0.0;
			for (k = 0; k < LIM_TAPS; k++) {
				int64_t j = d + k - (LIM_HALF - 1);

				v += l->h[q][k] *
				     l->x[(j & (LIM_RING - 1)) * l->ch + c];
			}
			v = fabs(v);
			peak = v > peak ? v : peak;
		}
	}
	return peak;
}

/* Pushes the gain sample d needs; returns the sliding minimum. */
static double
lim_window_min(struct lim *l, int64_t d, double need)
{
	int tail;

	l->need[d & (LIM_RING - 1)] = need;
	while (l->dq_len > 0) {
		tail = (l->dq_head + l->dq_len - 1) & (LIM_RING - 1);
		if (l->need[l->dq[tail] & (LIM_RING - 1)] < need)
			break;
		l->dq_len--;
	}
	l->dq[(l->dq_head + l->dq_len++) & (LIM_RING - 1)] = d;
	if (l->dq[l->dq_head] <= d - l->look) {
		l->dq_head = (l->dq_head + 1) & (LIM_RING - 1);
		l->dq_len--;
	}
	return l->need[l->dq[l->dq_head] & (LIM_RING - 1)];
}

/* The gain for sample d - look + 1, from the detector at sample d. */
static double
lim_gain(struct lim *l, int64_t d)
{
	double p = lim_peak(l, d), both = p > l->p_prev ? p : l->p_prev;
	double need = both > l->ceiling ? l->ceiling / both : 1.0;
	double mn = lim_window_min(l, d, need), r;

	l->p_prev = p;
	r = mn < l->r_prev ? mn : l->r_prev + (mn - l->r_prev) * l->rel;
	l->r_prev = r;
	l->sum += r - l->rel_g[(d - l->look) & (LIM_RING - 1)];
	l->rel_g[d & (LIM_RING - 1)] = r;
	return l->sum / l->look;
}

void
lim_process(struct lim *l, float *x, int n)
{
	int64_t d, m;
	double g;
	float *slot;
	int i, c;

	for (i = 0; i < n; i++, l->n++) {
		slot = l->x + (l->n & (LIM_RING - 1)) * l->ch;
		for (c = 0; c < l->ch; c++)
			slot[c] = x[i * l->ch + c];
		d = l->n - LIM_HALF;
		m = d - l->look + 1;
		g = lim_gain(l, d);
		g = g > 1.0 ? 1.0 : g;
		l->minimum = g < l->minimum ? g : l->minimum;
		for (c = 0; c < l->ch; c++)
			x[i * l->ch + c] =
			    m < 0 ? 0.0f
				  : (float)(l->x[(m & (LIM_RING - 1)) * l->ch +
						 c] *
					    g);
	}
}

void
lim_free(struct lim *l)
{
	if (l == NULL)
		return;
	free(l->x);
	free(l->need);
	free(l->rel_g);
	free(l->dq);
	free(l);
}

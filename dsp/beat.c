/*
 * Rhythm analysis on float arrays. The onset front end follows Ellis's
 * MIREX-06 one (log mel spectrum, first difference, half-wave rectified,
 * summed over bands) at 22.05 kHz with a 23 ms window and a 5.8 ms hop, and
 * keeps the same flux split into bass, mid and treble plus band levels for
 * the per-band beats. The tempo is an autocorrelation peak of the flux or
 * the level, chosen by comb periodicity and a log-Gaussian prior within
 * 60-200 BPM and moved by octaves from the metrical accents, with a
 * confidence that discounts the noise floor at this length and unclear
 * choices (docs/stages/audio_analysis.md, "Tempo"). Beats follow
 * librosa's reading of Ellis (2007): dynamic programming with tightness
 * 100. Memory is a few floats per frame.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "beat.h"

#define BEAT_FLOOR_DB (-100.0f)
#define BEAT_TIGHTNESS 100.0
/* Window of the moving mean removed before autocorrelation, s. */
#define BEAT_DETREND_S 3.0
/* Tempo prior: log-Gaussian centred here, one octave wide. */
#define BEAT_PRIOR_BPM 120.0
/* Octave moves may reach this far (1%) past the ends of the range. */
#define BEAT_RANGE_TOL 1.01
/* A candidate beat lag is an autocorrelation peak above this. */
#define BEAT_PEAK_MIN 0.05
/* Comb periodicity: the lag and its multiples up to this one. */
#define BEAT_COMB_K 4
/*
 * Octave decisions (beat_octave): go slower below this balance at the
 * beat, faster at this balance at the half beat; a balance this far from
 * its threshold is a clear decision.
 */
#define BEAT_SLOWER 0.5
#define BEAT_FASTER 0.6
#define BEAT_CLARITY_SPAN 0.15
/*
 * A rival level (one that is not an octave of the best: more than this,
 * in octaves (3%), from a power of two of it) whose score comes within
 * BEAT_RIVAL_SPAN of the best's makes the tempo unclear in proportion.
 */
#define BEAT_OCTAVE_TOL 0.043
#define BEAT_RIVAL_SPAN 0.10
/*
 * Noise floor of the periodicity: an autocorrelation of noise over N
 * frames has a standard error of about 1 / sqrt(N / 7), the smoothed
 * envelope being correlated over about 7 frames (35 ms); the floor is
 * BEAT_Z of them.
 */
#define BEAT_CORR_FRAMES 7.0
#define BEAT_Z 3.0
/* Below this confidence of its own, the flux leaves the beats to the level. */
#define BEAT_FLUX_MIN 0.2
/* The level's rise that marks a beat: over this many frames (23 ms). */
#define BEAT_RISE_FRAMES 4
/*
 * Per-band onsets: search window around a beat, median window, the level
 * after the onset that prominence compares, prominence range.
 */
#define BEAT_HIT_S 0.070
#define BEAT_MEDIAN_S 0.5
#define BEAT_SPAN_S 0.05
#define BEAT_PROMINENCE_DB 30.0
#define BEAT_HIT_MIN 0.1

/* flux, speech_db, total_db, and band_flux and band_db per band */
#define BEAT_NARRAYS (3 + 2 * BEAT_NBANDS)

struct beat_onset {
	struct beat_env env;
	size_t cap;
	float buf[BEAT_WIN];
	size_t fill;
	float window[BEAT_WIN];
	float cosv[BEAT_WIN / 2], sinv[BEAT_WIN / 2];
	/* Mel band b covers FFT bins [edge[b], edge[b + 1]). */
	int edge[BEAT_NMEL + 1];
	int nmel;
	unsigned char group[BEAT_NMEL];
	bool speech[BEAT_NMEL];
	float prev[BEAT_NMEL];
};

static double
beat_hz_to_mel(double hz)
{
	return 2595.0 * log10(1.0 + hz / 700.0);
}

static double
beat_mel_to_hz(double mel)
{
	return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
}

/* Bands narrower than one bin merge into the next, so nmel <= BEAT_NMEL. */
static void
beat_mel_setup(struct beat_onset *o)
{
	const double binhz = (double)BEAT_RATE / BEAT_WIN;
	const double top = beat_hz_to_mel(BEAT_RATE / 2.0);
	double centre;
	int i, bin;

	o->edge[0] = 1; /* DC carries no onsets */
	o->nmel = 0;
	for (i = 1; i <= BEAT_NMEL; i++) {
		bin = (int)lround(beat_mel_to_hz(top * i / BEAT_NMEL) / binhz);
		if (i == BEAT_NMEL)
			bin = BEAT_WIN / 2 + 1;
		if (bin <= o->edge[o->nmel])
			continue;
		o->edge[++o->nmel] = bin;
	}
	for (i = 0; i < o->nmel; i++) {
		centre = (o->edge[i] + o->edge[i + 1] - 1) * binhz / 2.0;
		o->group[i] = centre < 200.0	? BEAT_BASS
			      : centre < 2000.0 ? BEAT_MID
						: BEAT_TREBLE;
		o->speech[i] = centre >= 300.0 && centre < 3400.0;
		o->prev[i] = BEAT_FLOOR_DB;
	}
}

struct beat_onset *
beat_onset_new(void)
{
	struct beat_onset *o = calloc(1, sizeof(*o));
	int i;

	if (o == NULL)
		return NULL;
	o->env.fps = (double)BEAT_RATE / BEAT_HOP;
	o->env.t0 = (BEAT_HOP - BEAT_WIN / 2.0) / BEAT_RATE;
	/* The first frame ends one hop in: the stream starts after silence. */
	o->fill = BEAT_WIN - BEAT_HOP;
	for (i = 0; i < BEAT_WIN; i++)
		o->window[i] =
		    (float)(0.5 - 0.5 * cos(2 * M_PI * i / BEAT_WIN));
	for (i = 0; i < BEAT_WIN / 2; i++) {
		o->cosv[i] = (float)cos(2 * M_PI * i / BEAT_WIN);
		o->sinv[i] = (float)sin(2 * M_PI * i / BEAT_WIN);
	}
	beat_mel_setup(o);
	return o;
}

static float **
beat_env_array(struct beat_env *e, int i)
{
	if (i == 0)
		return &e->flux;
	if (i == 1)
		return &e->speech_db;
	if (i == 2)
		return &e->total_db;
	i -= 3;
	return i < BEAT_NBANDS ? &e->band_flux[i]
			       : &e->band_db[i - BEAT_NBANDS];
}

void
beat_onset_free(struct beat_onset *o)
{
	int i;

	if (o == NULL)
		return;
	for (i = 0; i < BEAT_NARRAYS; i++)
		free(*beat_env_array(&o->env, i));
	free(o);
}

const struct beat_env *
beat_onset_env(const struct beat_onset *o)
{
	return &o->env;
}

static int
beat_env_grow(struct beat_onset *o)
{
	size_t cap = o->cap < 1024 ? 1024 : o->cap * 2;
	float **a, *p;
	int i;

	for (i = 0; i < BEAT_NARRAYS; i++) {
		a = beat_env_array(&o->env, i);
		if ((p = realloc(*a, cap * sizeof(*p))) == NULL)
			return -1;
		*a = p;
	}
	o->cap = cap;
	return 0;
}

/* In-place radix-2 FFT of BEAT_WIN points (forward, unscaled). */
static void
beat_fft(const struct beat_onset *o, float *re, float *im)
{
	int i, j, k, len, half, step;
	float t, wr, wi, vr, vi;

	for (i = 1, j = 0; i < BEAT_WIN; i++) {
		for (k = BEAT_WIN >> 1; j & k; k >>= 1)
			j ^= k;
		j |= k;
		if (i < j) {
			t = re[i], re[i] = re[j], re[j] = t;
			t = im[i], im[i] = im[j], im[j] = t;
		}
	}
	for (len = 2; len <= BEAT_WIN; len <<= 1) {
		half = len >> 1;
		step = BEAT_WIN / len;
		for (i = 0; i < BEAT_WIN; i += len) {
			for (j = 0; j < half; j++) {
				wr = o->cosv[j * step];
				wi = -o->sinv[j * step];
				k = i + j + half;
				vr = re[k] * wr - im[k] * wi;
				vi = re[k] * wi + im[k] * wr;
				re[k] = re[i + j] - vr;
				im[k] = im[i + j] - vi;
				re[i + j] += vr;
				im[i + j] += vi;
			}
		}
	}
}

static float
beat_db(double power)
{
	float db = (float)(10.0 * log10(power + 1e-30));

	return db < BEAT_FLOOR_DB ? BEAT_FLOOR_DB : db;
}

/* Mel band powers of the current window, 0 dB = a full-scale sine. */
static void
beat_band_powers(const struct beat_onset *o, double *pw)
{
	const double norm = 1.0 / ((BEAT_WIN / 4.0) * (BEAT_WIN / 4.0));
	float re[BEAT_WIN], im[BEAT_WIN];
	int b, k;

	for (k = 0; k < BEAT_WIN; k++) {
		re[k] = o->buf[k] * o->window[k];
		im[k] = 0.0f;
	}
	beat_fft(o, re, im);
	for (b = 0; b < o->nmel; b++) {
		pw[b] = 0.0;
		for (k = o->edge[b]; k < o->edge[b + 1]; k++)
			pw[b] +=
			    ((double)re[k] * re[k] + (double)im[k] * im[k]) *
			    norm;
	}
}

static void
beat_frame(struct beat_onset *o)
{
	double pw[BEAT_NMEL], gpow[BEAT_NBANDS] = {0}, speech = 0, total = 0;
	double rise, flux = 0, gflux[BEAT_NBANDS] = {0};
	int gcount[BEAT_NBANDS] = {0}, b, g;
	size_t n = o->env.n;
	float level;

	beat_band_powers(o, pw);
	for (b = 0; b < o->nmel; b++) {
		level = beat_db(pw[b]);
		rise = level > o->prev[b] ? level - o->prev[b] : 0.0;
		o->prev[b] = level;
		g = o->group[b];
		flux += rise;
		gflux[g] += rise;
		gcount[g]++;
		gpow[g] += pw[b];
		speech += o->speech[b] ? pw[b] : 0.0;
		total += pw[b];
	}
	o->env.flux[n] = (float)(flux / o->nmel);
	for (g = 0; g < BEAT_NBANDS; g++) {
		o->env.band_flux[g][n] =
		    gcount[g] > 0 ? (float)(gflux[g] / gcount[g]) : 0.0f;
		o->env.band_db[g][n] = beat_db(gpow[g]);
	}
	o->env.speech_db[n] = beat_db(speech);
	o->env.total_db[n] = beat_db(total);
	o->env.n++;
}

int
beat_onset_add(struct beat_onset *o, const float *x, size_t n)
{
	size_t take;

	while (n > 0) {
		take = BEAT_WIN - o->fill;
		if (take > n)
			take = n;
		memcpy(o->buf + o->fill, x, take * sizeof(*x));
		o->fill += take;
		x += take;
		n -= take;
		if (o->fill < BEAT_WIN)
			break;
		if (o->env.n == o->cap && beat_env_grow(o) < 0)
			return -1;
		beat_frame(o);
		memmove(o->buf, o->buf + BEAT_HOP,
		    (BEAT_WIN - BEAT_HOP) * sizeof(*o->buf));
		o->fill -= BEAT_HOP;
	}
	return 0;
}

/*
 * x minus its centred moving mean over w frames, then smoothed by a 7-tap
 * Hann window (35 ms): at a 5.8 ms hop, frame-to-frame noise in the flux
 * would otherwise swamp the periodicity of sparse onsets.
 */
static double *
beat_detrend(const float *x, size_t n, size_t w)
{
	static const double hann[7] = {
	    0.0366, 0.125, 0.2134, 0.25, 0.2134, 0.125, 0.0366};
	double *sum = malloc((n + 1) * sizeof(*sum));
	double *y = malloc(n * sizeof(*y));
	size_t i, k, lo, hi;

	if (sum == NULL || y == NULL) {
		free(sum);
		free(y);
		return NULL;
	}
	sum[0] = 0.0;
	for (i = 0; i < n; i++)
		sum[i + 1] = sum[i] + x[i];
	for (i = 0; i < n; i++) {
		y[i] = 0.0;
		for (k = 0; k < 7; k++) {
			if (i + k >= 3 && i + k - 3 < n)
				y[i] += hann[k] * x[i + k - 3];
		}
		lo = i > w / 2 ? i - w / 2 : 0;
		hi = i + w / 2 + 1 < n ? i + w / 2 + 1 : n;
		y[i] -= (sum[hi] - sum[lo]) / (double)(hi - lo);
	}
	free(sum);
	return y;
}

/* Unbiased autocorrelation r[0..lmax], normalised so r[0] = 1. */
static int
beat_autocorr(const double *y, size_t n, size_t lmax, double *r)
{
	size_t i, l;
	double s;

	for (l = 0; l <= lmax; l++) {
		s = 0.0;
		for (i = 0; i + l < n; i++)
			s += y[i] * y[i + l];
		r[l] = s / (double)(n - l);
	}
	if (!(r[0] > 1e-12))
		return -1;
	for (l = lmax + 1; l-- > 0;)
		r[l] /= r[0];
	return 0;
}

/* Standard deviation of x (n - 1 in the denominator). */
static double
beat_stddev(const float *x, size_t n)
{
	double mean = 0.0, var = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		mean += x[i];
	mean /= (double)n;
	for (i = 0; i < n; i++)
		var += (x[i] - mean) * (x[i] - mean);
	return sqrt(var / (double)(n > 1 ? n - 1 : 1));
}

/* Envelope over its standard deviation, smoothed by a P/32 Gaussian. */
static double *
beat_local_score(const float *flux, size_t n, double period, double sd)
{
	long k, half = lround(period), i;
	double s, *g, *out;

	out = malloc(n * sizeof(*out));
	g = malloc((size_t)(2 * half + 1) * sizeof(*g));
	if (out == NULL || g == NULL) {
		free(out);
		free(g);
		return NULL;
	}
	for (k = -half; k <= half; k++)
		g[k + half] = exp(-0.5 * pow(k * 32.0 / period, 2.0));
	for (i = 0; i < (long)n; i++) {
		s = 0.0;
		for (k = -half; k <= half; k++) {
			if (i - k >= 0 && i - k < (long)n)
				s += g[k + half] * flux[i - k];
		}
		out[i] = s / sd;
	}
	free(g);
	return out;
}

struct beat_dp {
	double *cum;
	long *back;
	/* Transition weights -a ln(d / P)^2 for d in [lo, hi]. */
	double *txwt;
	long lo, hi;
};

static int
beat_dp_alloc(struct beat_dp *dp, size_t n, double period)
{
	long d;

	dp->lo = lround(period / 2.0) > 1 ? lround(period / 2.0) : 1;
	dp->hi = lround(2.0 * period);
	dp->cum = malloc(n * sizeof(*dp->cum));
	dp->back = malloc(n * sizeof(*dp->back));
	dp->txwt = malloc((size_t)(dp->hi + 1) * sizeof(*dp->txwt));
	if (dp->cum == NULL || dp->back == NULL || dp->txwt == NULL)
		return -1;
	for (d = dp->lo; d <= dp->hi; d++)
		dp->txwt[d] = -BEAT_TIGHTNESS * pow(log(d / period), 2.0);
	return 0;
}

static void
beat_dp_free(struct beat_dp *dp)
{
	free(dp->cum);
	free(dp->back);
	free(dp->txwt);
}

/*
 * C(t) = O(t) + max over d in [P/2, 2P] of C(t - d) - a ln(d / P)^2; a
 * predecessor before the start counts as C = 0. Frames before the first
 * onset worth 1% of the strongest have no predecessor.
 */
static void
beat_dp_run(const double *ls, size_t n, struct beat_dp *dp)
{
	double best, s, thresh = 0.0;
	long d, t, arg;
	bool first = true;

	for (t = 0; t < (long)n; t++)
		thresh = ls[t] > thresh ? ls[t] : thresh;
	thresh *= 0.01;
	for (t = 0; t < (long)n; t++) {
		best = -INFINITY;
		arg = -1;
		for (d = dp->lo; d <= dp->hi; d++) {
			s = dp->txwt[d] + (t - d >= 0 ? dp->cum[t - d] : 0.0);
			if (s > best) {
				best = s;
				arg = t - d;
			}
		}
		dp->cum[t] = ls[t] + best;
		if (first && ls[t] < thresh) {
			dp->back[t] = -1;
		} else {
			dp->back[t] = arg;
			first = false;
		}
	}
}

static int
beat_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The last local maximum of C above half the median of its maxima. */
static long
beat_last(const double *cum, size_t n)
{
	double *peaks = malloc(n * sizeof(*peaks)), med;
	size_t i, np = 0;
	long last = -1;

	if (peaks == NULL || n < 3) {
		free(peaks);
		return n > 0 ? (long)n - 1 : -1;
	}
	for (i = 1; i + 1 < n; i++) {
		if (cum[i] > cum[i - 1] && cum[i] >= cum[i + 1])
			peaks[np++] = cum[i];
	}
	qsort(peaks, np, sizeof(*peaks), beat_cmp_double);
	med = np > 0 ? peaks[np / 2] : 0.0;
	free(peaks);
	for (i = 1; i + 1 < n; i++) {
		if (cum[i] > cum[i - 1] && cum[i] >= cum[i + 1] &&
		    cum[i] > 0.5 * med)
			last = (long)i;
	}
	return last >= 0 ? last : (long)n - 1;
}

/* Drops leading and trailing beats whose smoothed score is weak. */
static void
beat_trim(const double *ls, size_t *beats, size_t *nb)
{
	size_t i, lo = 0, hi = *nb;
	double *sm, sq = 0.0, thr;

	if (*nb == 0 || (sm = malloc(*nb * sizeof(*sm))) == NULL)
		return;
	for (i = 0; i < *nb; i++) {
		sm[i] = ls[beats[i]];
		sm[i] += i > 0 ? 0.5 * ls[beats[i - 1]] : 0.0;
		sm[i] += i + 1 < *nb ? 0.5 * ls[beats[i + 1]] : 0.0;
		sq += sm[i] * sm[i];
	}
	thr = 0.5 * sqrt(sq / *nb);
	while (lo < hi && sm[lo] <= thr)
		lo++;
	while (hi > lo && sm[hi - 1] <= thr)
		hi--;
	memmove(beats, beats + lo, (hi - lo) * sizeof(*beats));
	*nb = hi - lo;
	free(sm);
}

static size_t
beat_backtrack(const struct beat_dp *dp, size_t n, size_t *beats)
{
	long b = beat_last(dp->cum, n);
	size_t nb = 0, i;

	for (; b >= 0; b = dp->back[b])
		beats[nb++] = (size_t)b;
	for (i = 0; i < nb / 2; i++) {
		b = (long)beats[i];
		beats[i] = beats[nb - 1 - i];
		beats[nb - 1 - i] = (size_t)b;
	}
	return nb;
}

int
beat_track(
    const float *flux, size_t n, double period, size_t **beats, size_t *nbeats)
{
	struct beat_dp dp = {NULL, NULL, NULL, 0, 0};
	double *ls, sd;
	int rc = -1;

	*beats = NULL;
	*nbeats = 0;
	if (n < 3 || !(period >= 2.0) || !((sd = beat_stddev(flux, n)) > 0.0))
		return 0;
	if ((ls = beat_local_score(flux, n, period, sd)) == NULL)
		return -1;
	*beats = malloc(n * sizeof(**beats));
	if (beat_dp_alloc(&dp, n, period) == 0 && *beats != NULL) {
		beat_dp_run(ls, n, &dp);
		*nbeats = beat_backtrack(&dp, n, *beats);
		beat_trim(ls, *beats, nbeats);
		rc = 0;
	} else {
		free(*beats);
		*beats = NULL;
	}
	free(ls);
	beat_dp_free(&dp);
	return rc;
}

/*
 * Selection with a three-way partition, so that long runs of one value
 * (the level floor in silence) stay linear: afterwards s[k] is the k-th
 * smallest.
 */
static void
beat_select(float *s, long n, long k)
{
	long lo = 0, hi = n - 1, lt, gt, i;
	float pivot, t;

	while (lo < hi) {
		pivot = s[lo + (hi - lo) / 2];
		for (lt = i = lo, gt = hi; i <= gt;) {
			if (s[i] < pivot) {
				t = s[lt], s[lt++] = s[i], s[i++] = t;
			} else if (s[i] > pivot) {
				t = s[gt], s[gt--] = s[i], s[i] = t;
			} else {
				i++;
			}
		}
		if (k < lt)
			hi = lt - 1;
		else if (k > gt)
			lo = gt + 1;
		else
			return;
	}
}

int
beat_quantile(const float *x, size_t n, double q, double *out)
{
	size_t k = (size_t)(q * (double)(n - 1));
	float *s;

	*out = 0.0;
	if (n == 0)
		return 0;
	if ((s = malloc(n * sizeof(*s))) == NULL)
		return -1;
	memcpy(s, x, n * sizeof(*s));
	beat_select(s, (long)n, (long)k);
	*out = s[k];
	free(s);
	return 0;
}

/* Highest frame of x in [lo, hi]. */
static size_t
beat_argmax(const float *x, size_t lo, size_t hi)
{
	size_t i, best = lo;

	for (i = lo; i <= hi; i++)
		best = x[i] > x[best] ? i : best;
	return best;
}

/* Log-Gaussian tempo prior: 120 BPM, one octave standard deviation. */
static double
beat_prior(double bpm)
{
	double o = log2(bpm / BEAT_PRIOR_BPM);

	return exp(-0.5 * o * o);
}

/*
 * The evidence for the tempo: two envelopes whose periodicity can carry a
 * pulse (onset flux for attacks, overall level for pulses that swell
 * rather than strike, such as pumping synth bass), and their
 * autocorrelations; plus the bass and mid flux (kick and snare) for the
 * metrical accents.
 */
enum { BEAT_SRC_FLUX, BEAT_SRC_LEVEL, BEAT_NSRC };

struct beat_ac {
	double *y[BEAT_NSRC]; /* detrended, smoothed envelopes */
	double *r[BEAT_NSRC]; /* their autocorrelations; NULL if constant */
	/* The views of the accents, detrended, maxima within 2 frames: */
	double *flux;	/* full-band flux */
	double *low;	/* bass plus mid flux */
	double *loud;	/* loudness 2^(level / 10 dB) */
	size_t n, lmax; /* frames; longest lag */
	double lo, hi;	/* beat lags of BEAT_RANGE_MAX, _MIN BPM */
	double fps;
};

/* Largest r within 3% of lag l; NAN when that reaches past lmax. */
static double
beat_r_near(const struct beat_ac *ac, int s, double l)
{
	size_t c = (size_t)lround(l), tol = c / 30 > 1 ? c / 30 : 1, i;
	double m;

	if (ac->r[s] == NULL || c < tol + 1 || c + tol > ac->lmax)
		return NAN;
	for (m = ac->r[s][c - tol], i = c - tol + 1; i <= c + tol; i++)
		m = ac->r[s][i] > m ? ac->r[s][i] : m;
	return m;
}

/*
 * Comb periodicity of a beat lag: the mean autocorrelation at the lag and
 * its multiples up to four (a bar), as far as the audio reaches. A
 * subdivision of a bar scores high; a period that drifts across the bar
 * does not.
 */
static double
beat_comb(const struct beat_ac *ac, int s, double l)
{
	double sum = 0.0, v;
	int k;

	for (k = 1; k <= BEAT_COMB_K; k++) {
		if (isnan(v = beat_r_near(ac, s, k * l)))
			break;
		sum += v > 0.0 ? v : 0.0;
	}
	return k > 1 ? sum / (k - 1) : 0.0;
}

/*
 * Mean of y at ph + k l, k even, odd or any; y is the maximum within 2
 * frames (beat_max5), so a pulse a frame or two off still counts.
 */
static double
beat_pulses(const double *y, size_t n, double l, double ph, int parity)
{
	double sum = 0.0;
	long k, c;
	int count = 0;

	for (k = 0; (c = lround(ph + k * l)) < (long)n; k++) {
		if (parity < 0 || (k & 1) == parity) {
			sum += y[c];
			count++;
		}
	}
	return count > 0 ? sum / count : 0.0;
}

/* The maximum of y within 2 frames of each frame, in a new array. */
static double *
beat_max5(const double *y, size_t n)
{
	double *m = y != NULL ? malloc((n + 1) * sizeof(*m)) : NULL;
	size_t i, j, lo, hi;

	for (i = 0; m != NULL && i < n; i++) {
		lo = i > 2 ? i - 2 : 0;
		hi = i + 2 < n ? i + 2 : n - 1;
		for (m[i] = y[lo], j = lo + 1; j <= hi; j++)
			m[i] = y[j] > m[i] ? y[j] : m[i];
	}
	return m;
}

/*
 * Metrical accent at lag l on one envelope: with the pulse train at its
 * best phase, the weaker of the even and the odd pulses over the stronger,
 * 0..1. Near 1, every pulse is a beat; near 0, every other pulse is an
 * off-beat, so l is a subdivision of the beat.
 */
static double
beat_balance1(const double *y, size_t n, double l)
{
	double best = -HUGE_VAL, ph = 0.0, p, v, even, odd;

	for (p = 0.0; p < l; p += 1.0) {
		if ((v = beat_pulses(y, n, l, p, -1)) > best) {
			best = v;
			ph = p;
		}
	}
	even = beat_pulses(y, n, l, ph, 0);
	odd = beat_pulses(y, n, l, ph, 1);
	if (!(fmax(even, odd) > 0.0))
		return 0.0;
	v = fmin(even, odd) / fmax(even, odd);
	return v > 0.0 ? v : 0.0;
}

/*
 * The balance an octave decision reads, from three views of the pulses:
 * the full-band flux and the bass and mid flux (kick and snare) say
 * whether a pulse is there, the loudness how strong it is. Going slower
 * needs the pulses to alternate in both senses: kick and snare often
 * differ in loudness, and over 8th-note hi-hats the full band is balanced
 * at the 8ths while bass and mid are not. Going faster needs the half
 * beats present in the flux and about as loud: weaker half beats rise as
 * far in dB as the beats but are less loud. When only the level carries
 * the pulse (a pumping bass without attacks), the loudness decides alone.
 */
static double
beat_balance(const struct beat_ac *ac, double l, bool level, bool faster)
{
	double f, b, v = beat_balance1(ac->loud, ac->n, l);

	if (level)
		return v;
	f = beat_balance1(ac->flux, ac->n, l);
	b = beat_balance1(ac->low, ac->n, l);
	return faster ? fmin(fmax(f, b), v) : fmax(fmin(f, b), v);
}

/* Prior times comb periodicity of lag l on source s; 0 unless a peak. */
static double
beat_score(const struct beat_ac *ac, int s, size_t l)
{
	const double *r = ac->r[s];

	if (r == NULL || !(r[l] > BEAT_PEAK_MIN) || r[l] <= r[l - 1] ||
	    r[l] < r[l + 1])
		return 0.0;
	return beat_prior(60.0 * ac->fps / l) * beat_comb(ac, s, l);
}

/*
 * The starting level: the peak of either autocorrelation within the prior
 * range that maximises prior times comb periodicity; 0 when there is none.
 * *rival is the best score over the best's, counting only lags that are
 * not octaves of it (more than 3% from every power of two): a rival as
 * good as the best (a 3:2 or 4:3 confusion) makes the tempo unclear.
 */
static double
beat_base_level(const struct beat_ac *ac, double *rival)
{
	double best = 0.0, second = 0.0, v, lag = 0.0, o;
	size_t l;
	int s;

	for (l = (size_t)ceil(ac->lo); l <= ac->hi && l + 1 <= ac->lmax; l++) {
		for (s = 0; s < BEAT_NSRC; s++) {
			if ((v = beat_score(ac, s, l)) > best) {
				best = v;
				lag = (double)l;
			}
		}
	}
	for (l = (size_t)ceil(ac->lo);
	     lag > 0.0 && l <= ac->hi && l + 1 <= ac->lmax; l++) {
		o = log2(l / lag);
		if (fabs(o - round(o)) < BEAT_OCTAVE_TOL)
			continue;
		for (s = 0; s < BEAT_NSRC; s++)
			second = fmax(second, beat_score(ac, s, l));
	}
	*rival = best > 0.0 ? second / best : 0.0;
	return lag;
}

/* How far a balance lies from the threshold it was compared with, 0..1. */
static double
beat_clarity(double balance, double threshold)
{
	double c = fabs(balance - threshold) / BEAT_CLARITY_SPAN;

	return c < 1.0 ? c : 1.0;
}

/*
 * Octave decisions from the metrical accents, each weighed by the prior
 * odds of the two levels. Slower: when the pulses at l alternate (balance
 * under BEAT_SLOWER times prior(2l) / prior(l)), l is a subdivision; take
 * 2l if it is no slower than BEAT_RANGE_MIN and fits twice into the audio.
 * Faster: when the half beats are there and about as loud (balance at l/2
 * at least BEAT_FASTER times prior(l) / prior(l/2)), take l/2 if it is no
 * faster than BEAT_RANGE_MAX. The slower balance is never below the
 * faster one and BEAT_FASTER > BEAT_SLOWER, so no move is ever undone.
 * *clarity is the least clarity of the decisions made or declined.
 */
static double
beat_octave(const struct beat_ac *ac, double l, bool level, double *clarity)
{
	double b, th;
	int i;

	*clarity = 1.0;
	for (i = 0; i < 4; i++) {
		if (2.0 * l <= BEAT_RANGE_TOL * ac->hi && 2.0 * l <= ac->lmax) {
			b = beat_balance(ac, l, level, false);
			th = BEAT_SLOWER * beat_prior(30.0 * ac->fps / l) /
			     beat_prior(60.0 * ac->fps / l);
			*clarity = fmin(*clarity, beat_clarity(b, th));
			if (b < th) {
				l *= 2.0;
				continue;
			}
		}
		if (l / 2.0 >= ac->lo / BEAT_RANGE_TOL) {
			b = beat_balance(ac, l / 2.0, level, true);
			th = BEAT_FASTER * beat_prior(60.0 * ac->fps / l) /
			     beat_prior(120.0 * ac->fps / l);
			*clarity = fmin(*clarity, beat_clarity(b, th));
			if (b >= th) {
				l /= 2.0;
				continue;
			}
		}
		break;
	}
	return l;
}

/*
 * The peak of r within 3% of lag l, interpolated to a fraction of a frame;
 * 0 when that reaches past lmax.
 */
static double
beat_peak_at(const struct beat_ac *ac, int s, double l)
{
	size_t c = (size_t)lround(l), tol = c / 30 > 1 ? c / 30 : 1, i, best;
	const double *r = ac->r[s];
	double den, delta = 0.0;

	if (r == NULL || c + tol + 1 > ac->lmax + 1 || c < tol + 1)
		return 0.0;
	for (best = c - tol, i = c - tol + 1; i <= c + tol; i++)
		best = r[i] > r[best] ? i : best;
	den = r[best - 1] - 2.0 * r[best] + r[best + 1];
	if (den < 0.0)
		delta = 0.5 * (r[best - 1] - r[best + 1]) / den;
	return best + (fabs(delta) <= 0.5 ? delta : 0.0);
}

/*
 * The period from the peaks at l and its multiples up to BEAT_COMB_K: the
 * least-squares slope through them, so that a bar-long lag sets it to a
 * fraction of a frame per beat.
 */
static double
beat_refine(const struct beat_ac *ac, int s, double l)
{
	double kp = 0.0, kk = 0.0, p;
	int k;

	for (k = 1; k <= BEAT_COMB_K; k++) {
		if ((p = beat_peak_at(ac, s, k * l)) == 0.0)
			break;
		kp += k * p;
		kk += (double)k * k;
	}
	return kk > 0.0 ? kp / kk : l;
}

/* BEAT_Z standard errors of an autocorrelation of noise at lag l. */
static double
beat_noise(const struct beat_ac *ac, double l)
{
	double z = BEAT_Z / sqrt((ac->n - l) / BEAT_CORR_FRAMES);

	return z < 0.99 ? z : 0.99;
}

/*
 * Whether only the level carries the pulse at lag l: it is the more
 * periodic, and the flux's own confidence is under BEAT_FLUX_MIN.
 */
static bool
beat_level_only(const struct beat_ac *ac, double l)
{
	double f = beat_comb(ac, BEAT_SRC_FLUX, l), noise = beat_noise(ac, l);

	return beat_comb(ac, BEAT_SRC_LEVEL, l) > f &&
	       (f - noise) / (1.0 - noise) < BEAT_FLUX_MIN;
}

static void
beat_tempo_pick(const struct beat_ac *ac, struct beat_tempo *out)
{
	double rival, l = beat_base_level(ac, &rival), clarity, comb[BEAT_NSRC];
	double noise;
	bool level;
	int s;

	if (l == 0.0)
		return;
	level = beat_level_only(ac, l);
	l = beat_octave(ac, l, level, &clarity);
	clarity = fmin(clarity, (1.0 - rival) / BEAT_RIVAL_SPAN);
	for (s = 0; s < BEAT_NSRC; s++)
		comb[s] = beat_comb(ac, s, l);
	s = comb[BEAT_SRC_LEVEL] > comb[BEAT_SRC_FLUX] ? BEAT_SRC_LEVEL
						       : BEAT_SRC_FLUX;
	noise = beat_noise(ac, l);
	out->period = beat_refine(ac, s, l);
	out->bpm = 60.0 * ac->fps / out->period;
	out->periodicity = comb[s] < 1.0 ? comb[s] : 1.0;
	out->floor = noise;
	out->clarity = clarity;
	/* Beats follow the flux unless only the level is periodic. */
	out->level = beat_level_only(ac, l);
	out->strength = (out->periodicity - noise) / (1.0 - noise) * clarity;
	out->strength = out->strength > 0.0 ? out->strength : 0.0;
}

/* Normalised autocorrelation of y; *r NULL if y is constant. */
static int
beat_ac_of(const double *y, size_t n, size_t lmax, double **r)
{
	if ((*r = malloc((lmax + 2) * sizeof(**r))) == NULL)
		return -1;
	if (beat_autocorr(y, n, lmax + 1, *r) < 0) {
		free(*r);
		*r = NULL;
	}
	return 0;
}

static void
beat_ac_free(struct beat_ac *ac)
{
	int s;

	for (s = 0; s < BEAT_NSRC; s++) {
		free(ac->y[s]);
		free(ac->r[s]);
	}
	free(ac->flux);
	free(ac->low);
	free(ac->loud);
}

/* x detrended, then its maxima within 2 frames. */
static double *
beat_view(const float *x, size_t n, size_t w)
{
	double *y = beat_detrend(x, n, w), *m = beat_max5(y, n);

	free(y);
	return m;
}

static int
beat_ac_init(const struct beat_env *e, struct beat_ac *ac)
{
	size_t i, w = (size_t)(BEAT_DETREND_S * e->fps);
	float *x;
	int s, rc = 0;

	if ((x = calloc(e->n + 1, sizeof(*x))) == NULL)
		return -1;
	ac->y[BEAT_SRC_FLUX] = beat_detrend(e->flux, e->n, w);
	ac->y[BEAT_SRC_LEVEL] = beat_detrend(e->total_db, e->n, w);
	ac->flux = beat_max5(ac->y[BEAT_SRC_FLUX], e->n);
	for (i = 0; i < e->n; i++)
		x[i] = 0.5f *
		       (e->band_flux[BEAT_BASS][i] + e->band_flux[BEAT_MID][i]);
	ac->low = beat_view(x, e->n, w);
	/* Loudness doubles every 10 dB (Stevens), 0 dB = a full-scale sine. */
	for (i = 0; i < e->n; i++)
		x[i] = (float)exp2(e->total_db[i] / 10.0);
	ac->loud = beat_view(x, e->n, w);
	free(x);
	if (ac->y[0] == NULL || ac->y[1] == NULL || ac->flux == NULL ||
	    ac->low == NULL || ac->loud == NULL)
		return -1;
	for (s = 0; s < BEAT_NSRC && rc == 0; s++)
		rc = beat_ac_of(ac->y[s], e->n, ac->lmax, &ac->r[s]);
	return rc;
}

int
beat_tempo(const struct beat_env *e, struct beat_tempo *out)
{
	struct beat_ac ac;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&ac, 0, sizeof(ac));
	ac.n = e->n;
	ac.fps = e->fps;
	ac.lo = 60.0 * e->fps / BEAT_RANGE_MAX;
	ac.hi = 60.0 * e->fps / BEAT_RANGE_MIN;
	ac.lmax = (size_t)ceil(60.0 * e->fps / BEAT_MIN_BPM);
	ac.lmax = ac.lmax > e->n / 2 ? e->n / 2 : ac.lmax;
	if (ac.lo < 2.0 || (double)ac.lmax < ceil(ac.lo) + 3.0)
		return 0;
	rc = beat_ac_init(e, &ac);
	if (rc == 0)
		beat_tempo_pick(&ac, out);
	beat_ac_free(&ac);
	return rc;
}

int
beat_track_env(
    const struct beat_env *e, const struct beat_tempo *tp, float **out)
{
	size_t i, w = (size_t)(BEAT_DETREND_S * e->fps);
	double *y, rise;

	if ((*out = malloc((e->n + 1) * sizeof(**out))) == NULL)
		return -1;
	if (!tp->level) {
		memcpy(*out, e->flux, e->n * sizeof(**out));
		return 0;
	}
	if ((y = beat_detrend(e->total_db, e->n, w)) == NULL) {
		free(*out);
		*out = NULL;
		return -1;
	}
	for (i = 0; i < e->n; i++) {
		rise = i + BEAT_RISE_FRAMES < e->n
			   ? y[i + BEAT_RISE_FRAMES] - y[i]
			   : 0.0;
		(*out)[i] = rise > 0.0 ? (float)rise : 0.0f;
	}
	free(y);
	return 0;
}

double
beat_period_fit(const size_t *beats, size_t nbeats, double period)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, x = 0, den;
	size_t i;
	long step;

	if (nbeats < 4 || !(period > 0.0))
		return 0.0;
	for (i = 0; i < nbeats; i++) {
		if (i > 0) {
			step = lround((beats[i] - beats[i - 1]) / period);
			x += step > 1 ? step : 1;
		}
		sx += x;
		sy += beats[i];
		sxx += x * x;
		sxy += x * beats[i];
	}
	den = nbeats * sxx - sx * sx;
	return den > 0.0 ? (nbeats * sxy - sx * sy) / den : 0.0;
}

double
beat_onset_ratio(
    const float *flux, size_t n, const size_t *beats, size_t nbeats)
{
	double all = 0.0, at = 0.0;
	size_t i, k, lo, hi, cnt = 0;

	for (i = 0; i < n; i++)
		all += flux[i];
	for (i = 0; i < nbeats; i++) {
		lo = beats[i] > 2 ? beats[i] - 2 : 0;
		hi = beats[i] + 2 < n ? beats[i] + 2 : n - 1;
		for (k = lo; k <= hi; k++, cnt++)
			at += flux[k];
	}
	if (cnt == 0 || !(all > 0.0))
		return 0.0;
	return (at / cnt) / (all / n);
}

/* Loudness of band g after an onset at frame k against the loudest band. */
static double
beat_prominence(const struct beat_env *e, size_t k, size_t span, int g)
{
	size_t hi = k + span < e->n ? k + span : e->n - 1;
	double lv[BEAT_NBANDS], top = BEAT_FLOOR_DB, p;
	int b;

	for (b = 0; b < BEAT_NBANDS; b++) {
		lv[b] = e->band_db[b][beat_argmax(e->band_db[b], k, hi)];
		top = lv[b] > top ? lv[b] : top;
	}
	p = 1.0 + (lv[g] - top) / BEAT_PROMINENCE_DB;
	return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

/* Height of the peak of x at k above the median of its neighbourhood. */
static int
beat_peak_height(const float *x, size_t n, size_t k, size_t w, double *out)
{
	size_t lo = k > w ? k - w : 0, hi = k + w < n ? k + w : n - 1;
	double med;

	*out = 0.0;
	if ((k > 0 && x[k - 1] > x[k]) || (k + 1 < n && x[k + 1] > x[k]))
		return 0;
	if (beat_quantile(x + lo, hi - lo + 1, 0.5, &med) < 0)
		return -1;
	*out = x[k] > med ? x[k] - med : 0.0;
	return 0;
}

struct beat_hitter {
	const struct beat_env *env;
	size_t win, medwin, span;
	double p99[BEAT_NBANDS];
};

static int
beat_hit_at(const struct beat_hitter *h, size_t beat, int g, double *conf)
{
	const float *x = h->env->band_flux[g];
	size_t n = h->env->n, k;
	size_t lo = beat > h->win ? beat - h->win : 0;
	size_t hi = beat + h->win < n ? beat + h->win : n - 1;
	double height;

	*conf = 0.0;
	if (!(h->p99[g] > 0.0))
		return 0;
	k = beat_argmax(x, lo, hi);
	if (beat_peak_height(x, n, k, h->medwin, &height) < 0)
		return -1;
	height = height / h->p99[g] > 1.0 ? 1.0 : height / h->p99[g];
	*conf = height * beat_prominence(h->env, k, h->span, g);
	return 0;
}

int
beat_band_hits(const struct beat_env *env, const size_t *beats, size_t nbeats,
    struct beat_hit **hits, size_t *nhits)
{
	struct beat_hitter h = {env, (size_t)lround(BEAT_HIT_S * env->fps),
	    (size_t)lround(BEAT_MEDIAN_S * env->fps),
	    (size_t)lround(BEAT_SPAN_S * env->fps), {0}};
	double conf;
	size_t i;
	int g;

	*nhits = 0;
	if ((*hits = malloc((nbeats * BEAT_NBANDS + 1) * sizeof(**hits))) ==
	    NULL)
		return -1;
	for (g = 0; g < BEAT_NBANDS; g++) {
		if (beat_quantile(env->band_flux[g], env->n, 0.99, &h.p99[g]) <
		    0)
			goto fail;
	}
	for (i = 0; i < nbeats && env->n > 0; i++) {
		for (g = 0; g < BEAT_NBANDS; g++) {
			if (beat_hit_at(&h, beats[i], g, &conf) < 0)
				goto fail;
			if (conf >= BEAT_HIT_MIN)
				(*hits)[(*nhits)++] = (struct beat_hit){
				    i, (enum beat_band)g, conf};
		}
	}
	return 0;
fail:
	free(*hits);
	*hits = NULL;
	*nhits = 0;
	return -1;
}

const char *
beat_band_name(enum beat_band band)
{
	static const char *const names[BEAT_NBANDS] = {"bass", "mid", "treble"};

	return band < BEAT_NBANDS ? names[band] : "?";
}

/*
 * The audio_analysis stage. Each given input (template, source) is decoded
 * once: the native layout at the native rate feeds libebur128 and the peak
 * and crest statistics, a 22.05 kHz mono downmix feeds the onset envelope.
 * What stays in memory is per-frame envelopes (a few floats per 5.8 ms)
 * and per-block crest values, never the audio. Rhythm is decided at the
 * end: tempo, beats, beats per band, music or not, speech or not. The
 * artifact is written with a temporary file and rename(), so a reader
 * sees the old file or the complete new one. A file with no audio stream
 * is a result (nulls), not a failure; corrupt audio is STAGE_E_DATA.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <ebur128.h>

#include "audio_analysis.h"
#include "av_audio.h"
#include "beat.h"

const struct stage_ops stage_audio_analysis_ops = {
    "audio_analysis", audio_analysis_run};

/* Loudness polls every 100 ms, the rate EBU Tech 3341 asks of a meter. */
#define AA_POLL_S 0.1
/* Short-term crest: 400 ms blocks, those under -70 dBFS RMS ignored. */
#define AA_BLOCK_S 0.4
#define AA_SILENT_RMS 3.1623e-4
/*
 * Compression estimate: a compressor of ratio R squeezes level excursions
 * above its threshold R times, so R = reference crest / measured crest.
 * The reference is the 400 ms crest of unprocessed programme, taken as
 * 14 dB (an estimate: Gaussian noise gives 12 dB, dry speech and acoustic
 * music a little more).
 */
#define AA_CREST_REF_DB 14.0
#define AA_RATIO_MAX 20.0
/* Music: see aa_is_music(). */
#define AA_MUSIC_STRENGTH 0.2
#define AA_MUSIC_BEATS 4
#define AA_MUSIC_COVERAGE 0.5
#define AA_MUSIC_ONSET_RATIO 1.5
/* Speech: see aa_speech(). */
#define AA_SPEECH_ACTIVE 0.2
#define AA_SPEECH_SHARE_DB (-6.0)
#define AA_SPEECH_DEPTH_DB 15.0
#define AA_SYLLABLE_DB 6.0
#define AA_SPEECH_MIN_RATE 2.0
#define AA_SPEECH_MAX_RATE 10.0

struct aa_loudness {
	ebur128_state *st;
	int channels;
	size_t poll, since_poll;
	double max_m, max_s;
	/* Per channel: the whole file so far, and the current block. */
	double *sumsq, *peak, *bsumsq, *bpeak;
	size_t block, in_block, total;
	double *crests;
	size_t ncrests, cap;
};

static int
aa_ebur128_other(enum AVChannel ch)
{
	switch (ch) {
	case AV_CHAN_FRONT_LEFT_OF_CENTER:
		return EBUR128_MpSC;
	case AV_CHAN_FRONT_RIGHT_OF_CENTER:
		return EBUR128_MmSC;
	case AV_CHAN_WIDE_LEFT:
		return EBUR128_Mp060;
	case AV_CHAN_WIDE_RIGHT:
		return EBUR128_Mm060;
	case AV_CHAN_BACK_CENTER:
		return EBUR128_Mp180;
	case AV_CHAN_TOP_FRONT_LEFT:
		return EBUR128_Up030;
	case AV_CHAN_TOP_FRONT_RIGHT:
		return EBUR128_Um030;
	case AV_CHAN_TOP_FRONT_CENTER:
		return EBUR128_Up000;
	case AV_CHAN_TOP_CENTER:
		return EBUR128_Tp000;
	case AV_CHAN_TOP_SIDE_LEFT:
		return EBUR128_Up090;
	case AV_CHAN_TOP_SIDE_RIGHT:
		return EBUR128_Um090;
	case AV_CHAN_TOP_BACK_LEFT:
		return EBUR128_Up135;
	case AV_CHAN_TOP_BACK_RIGHT:
		return EBUR128_Um135;
	case AV_CHAN_TOP_BACK_CENTER:
		return EBUR128_Up180;
	default:
		return EBUR128_CENTER;
	}
}

int
aa_ebur128_channel(const AVChannelLayout *layout, int i)
{
	enum AVChannel ch = av_channel_layout_channel_from_index(layout, i);
	bool sides = av_channel_layout_index_from_channel(
			 layout, AV_CHAN_SIDE_LEFT) >= 0;

	switch (ch) {
	case AV_CHAN_FRONT_LEFT:
	case AV_CHAN_STEREO_LEFT:
		return EBUR128_LEFT;
	case AV_CHAN_FRONT_RIGHT:
	case AV_CHAN_STEREO_RIGHT:
		return EBUR128_RIGHT;
	case AV_CHAN_FRONT_CENTER:
		return EBUR128_CENTER;
	case AV_CHAN_LOW_FREQUENCY:
	case AV_CHAN_LOW_FREQUENCY_2:
		return EBUR128_UNUSED;
	case AV_CHAN_SIDE_LEFT:
		return EBUR128_LEFT_SURROUND;
	case AV_CHAN_SIDE_RIGHT:
		return EBUR128_RIGHT_SURROUND;
	case AV_CHAN_BACK_LEFT:
		return sides ? EBUR128_Mp135 : EBUR128_LEFT_SURROUND;
	case AV_CHAN_BACK_RIGHT:
		return sides ? EBUR128_Mm135 : EBUR128_RIGHT_SURROUND;
	default:
		return aa_ebur128_other(ch);
	}
}

struct aa_loudness *
aa_loudness_new(const AVChannelLayout *layout, int rate)
{
	struct aa_loudness *l = calloc(1, sizeof(*l));
	size_t c, n = (size_t)layout->nb_channels;
	int err = 0;

	if (l == NULL)
		return NULL;
	l->channels = layout->nb_channels;
	l->poll = (size_t)lround(AA_POLL_S * rate);
	l->block = (size_t)lround(AA_BLOCK_S * rate);
	l->max_m = l->max_s = -HUGE_VAL;
	l->sumsq = calloc(4 * n, sizeof(double));
	l->st = ebur128_init((unsigned)n, (unsigned long)rate,
	    EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK);
	if (l->sumsq == NULL || l->st == NULL || l->poll == 0) {
		aa_loudness_free(l);
		return NULL;
	}
	l->peak = l->sumsq + n;
	l->bsumsq = l->peak + n;
	l->bpeak = l->bsumsq + n;
	for (c = 0; c < n && err == EBUR128_SUCCESS; c++)
		err = ebur128_set_channel(
		    l->st, (unsigned)c, aa_ebur128_channel(layout, (int)c));
	if (err != EBUR128_SUCCESS) {
		aa_loudness_free(l);
		return NULL;
	}
	return l;
}

void
aa_loudness_free(struct aa_loudness *l)
{
	if (l == NULL)
		return;
	if (l->st != NULL)
		ebur128_destroy(&l->st);
	free(l->sumsq);
	free(l->crests);
	free(l);
}

double
aa_loudness_momentary(const struct aa_loudness *l)
{
	double m = -HUGE_VAL;

	ebur128_loudness_momentary(l->st, &m);
	return m;
}

static void
aa_loudness_poll(struct aa_loudness *l)
{
	double v;

	if (ebur128_loudness_momentary(l->st, &v) == EBUR128_SUCCESS &&
	    v > l->max_m)
		l->max_m = v;
	if (ebur128_loudness_shortterm(l->st, &v) == EBUR128_SUCCESS &&
	    v > l->max_s)
		l->max_s = v;
}

/* Crest of the block's loudest channel; folds the block into the file. */
static int
aa_block_end(struct aa_loudness *l)
{
	double *p, rms;
	int c, loud = 0;

	for (c = 0; c < l->channels; c++) {
		loud = l->bsumsq[c] > l->bsumsq[loud] ? c : loud;
		l->sumsq[c] += l->bsumsq[c];
		l->peak[c] = fmax(l->peak[c], l->bpeak[c]);
	}
	rms = sqrt(l->bsumsq[loud] / (double)l->in_block);
	if (rms >= AA_SILENT_RMS) {
		if (l->ncrests == l->cap) {
			l->cap = l->cap < 64 ? 64 : 2 * l->cap;
			p = realloc(l->crests, l->cap * sizeof(*p));
			if (p == NULL)
				return -1;
			l->crests = p;
		}
		l->crests[l->ncrests++] = 20.0 * log10(l->bpeak[loud] / rms);
	}
	memset(l->bsumsq, 0, (size_t)l->channels * sizeof(double));
	memset(l->bpeak, 0, (size_t)l->channels * sizeof(double));
	l->in_block = 0;
	return 0;
}

static void
aa_block_add(struct aa_loudness *l, const float *x, size_t frames)
{
	size_t i;
	double v;
	int c;

	for (i = 0; i < frames; i++) {
		for (c = 0; c < l->channels; c++) {
			v = x[i * (size_t)l->channels + (size_t)c];
			l->bsumsq[c] += v * v;
			l->bpeak[c] = fmax(l->bpeak[c], fabs(v));
		}
	}
	l->in_block += frames;
	l->total += frames;
}

int
aa_loudness_add(struct aa_loudness *l, const float *x, size_t frames)
{
	size_t n;

	while (frames > 0) {
		n = l->poll - l->since_poll;
		n = n < l->block - l->in_block ? n : l->block - l->in_block;
		n = n < frames ? n : frames;
		if (ebur128_add_frames_float(l->st, x, n) != EBUR128_SUCCESS)
			return -1;
		aa_block_add(l, x, n);
		if ((l->since_poll += n) == l->poll) {
			aa_loudness_poll(l);
			l->since_poll = 0;
		}
		if (l->in_block == l->block && aa_block_end(l) < 0)
			return -1;
		x += n * (size_t)l->channels;
		frames -= n;
	}
	return 0;
}

static double
aa_finite(double v)
{
	return isfinite(v) ? v : NAN;
}

static double
aa_db(double linear)
{
	return linear > 0.0 ? 20.0 * log10(linear) : NAN;
}

static void
aa_levels_r128(const struct aa_loudness *l, struct aa_levels *out)
{
	double v, tp = 0.0;
	int c;

	out->integrated_lufs = NAN;
	if (ebur128_loudness_global(l->st, &v) == EBUR128_SUCCESS)
		out->integrated_lufs = aa_finite(v);
	out->loudness_range_lu = NAN;
	if (!isnan(out->integrated_lufs) &&
	    ebur128_loudness_range(l->st, &v) == EBUR128_SUCCESS)
		out->loudness_range_lu = aa_finite(v);
	for (c = 0; c < l->channels; c++) {
		if (ebur128_true_peak(l->st, (unsigned)c, &v) ==
			EBUR128_SUCCESS &&
		    v > tp)
			tp = v;
	}
	out->true_peak_dbtp = aa_db(tp);
	out->max_momentary_lufs = aa_finite(l->max_m);
	out->max_short_term_lufs = aa_finite(l->max_s);
}

/* Peak and crest over the whole file, the open block included. */
static void
aa_levels_crest(const struct aa_loudness *l, struct aa_levels *out)
{
	double peak = 0.0, sq, best_sq = -1.0, best_peak = 0.0, rms;
	int c;

	for (c = 0; c < l->channels; c++) {
		sq = l->sumsq[c] + l->bsumsq[c];
		peak = fmax(peak, fmax(l->peak[c], l->bpeak[c]));
		if (sq > best_sq) {
			best_sq = sq;
			best_peak = fmax(l->peak[c], l->bpeak[c]);
		}
	}
	out->sample_peak_dbfs = aa_db(peak);
	out->crest_factor_db = NAN;
	if (l->total > 0) {
		rms = sqrt(best_sq / (double)l->total);
		if (rms >= AA_SILENT_RMS)
			out->crest_factor_db = aa_db(best_peak / rms);
	}
}

static int
aa_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
aa_loudness_result(struct aa_loudness *l, struct aa_levels *out)
{
	double r;

	aa_levels_r128(l, out);
	aa_levels_crest(l, out);
	out->short_term_crest_db = NAN;
	if (l->ncrests > 0) {
		qsort(l->crests, l->ncrests, sizeof(*l->crests), aa_cmp_double);
		out->short_term_crest_db = l->crests[l->ncrests / 2];
	}
	out->plr_db = out->true_peak_dbtp - out->integrated_lufs;
	out->compression_ratio = NAN;
	if (out->short_term_crest_db > 0.0) {
		r = AA_CREST_REF_DB / out->short_term_crest_db;
		out->compression_ratio = r < 1.0	    ? 1.0
					 : r > AA_RATIO_MAX ? AA_RATIO_MAX
							    : r;
	}
}

/* Frames within 40 dB of the loud ones (95th percentile), above -70 dB. */
struct aa_activity {
	double top, thresh;
	size_t count, first, last;
};

static int
aa_activity(const struct beat_env *e, struct aa_activity *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (beat_quantile(e->total_db, e->n, 0.95, &a->top) < 0)
		return -1;
	a->thresh = fmax(a->top - 40.0, -70.0);
	for (i = 0; i < e->n; i++) {
		if (e->total_db[i] > a->thresh) {
			a->first = a->count++ == 0 ? i : a->first;
			a->last = i;
		}
	}
	return 0;
}

/*
 * Syllable-like onsets per second of active audio: the speech band level
 * (smoothed over 29 ms) rising 6 dB above its last dip, counted again only
 * after it has fallen 6 dB from its peak.
 */
static double
aa_syllable_rate(const float *x, size_t n, double fps, size_t active)
{
	double lo = INFINITY, hi = -INFINITY, v;
	size_t i, k, count = 0;
	bool rising = true;

	for (i = 2; i + 2 < n; i++) {
		for (v = 0.0, k = i - 2; k <= i + 2; k++)
			v += x[k] / 5.0;
		if (rising) {
			lo = fmin(lo, v);
			if (v >= lo + AA_SYLLABLE_DB) {
				count++;
				rising = false;
				hi = v;
			}
		} else {
			hi = fmax(hi, v);
			if (v <= hi - AA_SYLLABLE_DB) {
				rising = true;
				lo = v;
			}
		}
	}
	return active > 0 ? count * fps / (double)active : 0.0;
}

/*
 * Speech: active audio for at least a fifth of the time and two seconds;
 * the 300-3400 Hz band carrying at least a quarter of its power (median);
 * that band swinging 15 dB or more (10th to 90th percentile, floored 50 dB
 * under the loud frames); and 2 to 10 syllable-like onsets per second.
 * Music masks all of this, so the caller asks only without music.
 */
static int
aa_speech(const struct beat_env *e, const struct aa_activity *a, bool *out)
{
	double p10, p90, share, rate;
	float *d;
	size_t i, m = 0;

	*out = false;
	if (e->n < (size_t)(2.0 * e->fps) || a->count < AA_SPEECH_ACTIVE * e->n)
		return 0;
	if ((d = malloc(a->count * sizeof(*d))) == NULL)
		return -1;
	for (i = 0; i < e->n; i++) {
		if (e->total_db[i] > a->thresh)
			d[m++] = e->speech_db[i] - e->total_db[i];
	}
	if (beat_quantile(d, m, 0.5, &share) < 0 ||
	    beat_quantile(e->speech_db, e->n, 0.1, &p10) < 0 ||
	    beat_quantile(e->speech_db, e->n, 0.9, &p90) < 0) {
		free(d);
		return -1;
	}
	free(d);
	rate = aa_syllable_rate(e->speech_db, e->n, e->fps, a->count);
	*out = share >= AA_SPEECH_SHARE_DB &&
	       p90 - fmax(p10, a->top - 50.0) >= AA_SPEECH_DEPTH_DB &&
	       rate >= AA_SPEECH_MIN_RATE && rate <= AA_SPEECH_MAX_RATE;
	return 0;
}

/*
 * Music: the tempo is confident (beat_tempo's strength, which already
 * discounts what noise reaches at this length and unclear octaves, at
 * least AA_MUSIC_STRENGTH), the tracker finds at least four beats, they
 * span at least half the time from the first sound to the last, and they
 * sit on onsets (the tracked envelope at the beats 1.5 times its mean).
 */
static bool
aa_is_music(const struct beat_env *e, const float *track,
    const struct aa_activity *a, const struct beat_tempo *tp,
    const size_t *beats, size_t nb)
{
	double span;

	if (tp->strength < AA_MUSIC_STRENGTH || nb < AA_MUSIC_BEATS ||
	    a->count == 0)
		return false;
	span = (double)(a->last - a->first + 1);
	if ((double)(beats[nb - 1] - beats[0]) + tp->period <
	    AA_MUSIC_COVERAGE * span)
		return false;
	return beat_onset_ratio(track, e->n, beats, nb) >= AA_MUSIC_ONSET_RATIO;
}

/*
 * Beats, beats per band and the tempo. Beats on the flux refine the period
 * by least squares when they agree with it within 5%; beats on the level
 * rise are too loose for that, and the autocorrelation's period stays.
 */
static int
aa_rhythm_beats(const struct beat_env *e, const size_t *beats, size_t nb,
    const struct beat_tempo *tp, struct aa_rhythm *out)
{
	struct beat_hit *hits;
	double period = tp->period, fit = beat_period_fit(beats, nb, period);
	size_t i, nh;

	if (!tp->level && fabs(fit - period) < 0.05 * period)
		period = fit;
	out->tempo_bpm = 60.0 * e->fps / period;
	out->beats_s = malloc(nb * sizeof(*out->beats_s));
	if (out->beats_s == NULL ||
	    beat_band_hits(e, beats, nb, &hits, &nh) < 0)
		return -1;
	out->nbeats = nb;
	for (i = 0; i < nb; i++)
		out->beats_s[i] = fmax(0.0, e->t0 + beats[i] / e->fps);
	out->band_beats = malloc((nh + 1) * sizeof(*out->band_beats));
	if (out->band_beats == NULL) {
		free(hits);
		return -1;
	}
	for (i = 0; i < nh; i++)
		out->band_beats[i] =
		    (struct aa_band_beat){out->beats_s[hits[i].beat],
			hits[i].band, hits[i].confidence};
	out->nband_beats = nh;
	free(hits);
	return 0;
}

int
aa_rhythm_analyse(const struct beat_env *e, struct aa_rhythm *out)
{
	struct aa_activity act;
	struct beat_tempo tp;
	size_t *beats = NULL, nb = 0;
	float *track;
	int rc;

	memset(out, 0, sizeof(*out));
	out->tempo_bpm = NAN;
	if (beat_tempo(e, &tp) < 0 || aa_activity(e, &act) < 0 ||
	    beat_track_env(e, &tp, &track) < 0)
		return -1;
	out->tempo_confidence = tp.strength;
	if (tp.period > 0.0 &&
	    beat_track(track, e->n, tp.period, &beats, &nb) < 0) {
		free(track);
		return -1;
	}
	out->music = aa_is_music(e, track, &act, &tp, beats, nb);
	if (out->music)
		rc = aa_rhythm_beats(e, beats, nb, &tp, out);
	else
		rc = aa_speech(e, &act, &out->speech);
	free(beats);
	free(track);
	if (rc < 0)
		aa_rhythm_free(out);
	return rc;
}

void
aa_rhythm_free(struct aa_rhythm *r)
{
	free(r->beats_s);
	free(r->band_beats);
	r->beats_s = NULL;
	r->band_beats = NULL;
	r->nbeats = r->nband_beats = 0;
}

void
aa_result_free(struct aa_result *r)
{
	aa_rhythm_free(&r->rhythm);
}

/* One decode of one input: what the two consumers and progress share. */
struct aa_job {
	struct stage_ctx *ctx;
	struct ava_stream *s;
	struct aa_loudness *loud;
	struct beat_onset *onset;
	/* This input's share of the stage's progress. */
	double base, span;
};

static enum stage_result
aa_on_native(void *arg, const float *x, int frames)
{
	struct aa_job *j = arg;

	if (aa_loudness_add(j->loud, x, (size_t)frames) < 0)
		return stage_fail(j->ctx, STAGE_E_TEMP,
		    "loudness measurement failed: out of memory");
	stage_progress(j->ctx, j->base + j->span * ava_fraction(j->s));
	return STAGE_OK;
}

static enum stage_result
aa_on_mono(void *arg, const float *x, int frames)
{
	struct aa_job *j = arg;

	if (beat_onset_add(j->onset, x, (size_t)frames) < 0)
		return stage_fail(j->ctx, STAGE_E_TEMP,
		    "onset analysis failed: out of memory");
	return STAGE_OK;
}

static void
aa_result_none(struct aa_result *out)
{
	struct aa_levels *lv = &out->levels;

	memset(out, 0, sizeof(*out));
	out->duration_s = NAN;
	lv->integrated_lufs = lv->loudness_range_lu = NAN;
	lv->true_peak_dbtp = lv->sample_peak_dbfs = NAN;
	lv->max_momentary_lufs = lv->max_short_term_lufs = NAN;
	lv->crest_factor_db = lv->short_term_crest_db = NAN;
	lv->plr_db = lv->compression_ratio = NAN;
	out->rhythm.tempo_bpm = NAN;
	out->rhythm.tempo_confidence = NAN;
}

static enum stage_result
aa_analyse_stream(struct aa_job *j, struct aa_result *out)
{
	const struct ava_info *info = ava_info(j->s);
	struct ava_output outs[2] = {
	    {0, false, aa_on_native, j}, {BEAT_RATE, true, aa_on_mono, j}};
	enum stage_result rc;

	aa_result_none(out);
	j->loud = aa_loudness_new(&info->layout, info->rate);
	j->onset = beat_onset_new();
	if (j->loud == NULL || j->onset == NULL)
		rc = stage_fail(j->ctx, STAGE_E_TEMP,
		    "cannot set up the analysis of %d channels at %d Hz",
		    info->channels, info->rate);
	else
		rc = ava_run(j->ctx, j->s, outs, 2);
	if (rc == STAGE_OK) {
		out->has_audio = true;
		out->sample_rate = info->rate;
		out->channels = info->channels;
		out->duration_s = ava_decoded_s(j->s);
		out->decode = *ava_losses(j->s);
		aa_loudness_result(j->loud, &out->levels);
		if (aa_rhythm_analyse(beat_onset_env(j->onset), &out->rhythm) <
		    0)
			rc = stage_fail(j->ctx, STAGE_E_TEMP,
			    "rhythm analysis failed: out of memory");
	}
	aa_loudness_free(j->loud);
	beat_onset_free(j->onset);
	return rc;
}

enum stage_result
aa_analyse_file(struct stage_ctx *ctx, const char *path, struct aa_result *out)
{
	struct aa_job j = {ctx, NULL, NULL, NULL, 0.0, 1.0};
	enum stage_result rc;

	aa_result_none(out);
	if ((rc = ava_open(ctx, path, &j.s)) != STAGE_OK || j.s == NULL)
		return rc;
	rc = aa_analyse_stream(&j, out);
	ava_close(j.s);
	return rc;
}

/* A number rounded to 1/scale, or null for NAN and infinities. */
static json_t *
aa_num(double v, double scale)
{
	return isfinite(v) ? json_real(round(v * scale) / scale) : json_null();
}

static json_t *
aa_json_rhythm(const struct aa_rhythm *r)
{
	json_t *a = json_array(), *b = json_array();
	size_t i;

	for (i = 0; a != NULL && i < r->nbeats; i++)
		json_array_append_new(a, aa_num(r->beats_s[i], 1e3));
	for (i = 0; b != NULL && i < r->nband_beats; i++)
		json_array_append_new(
		    b, json_pack("{s:o, s:s, s:o}", "t_s",
			   aa_num(r->band_beats[i].t_s, 1e3), "band",
			   beat_band_name(r->band_beats[i].band), "confidence",
			   aa_num(r->band_beats[i].confidence, 1e3)));
	return json_pack("{s:b, s:o, s:o, s:o, s:o, s:b}", "music", r->music,
	    "tempo_bpm", aa_num(r->tempo_bpm, 1e2), "tempo_confidence",
	    aa_num(r->tempo_confidence, 1e3), "beats_s", a, "band_beats", b,
	    "speech", r->speech);
}

static json_t *
aa_json_levels(const struct aa_levels *l)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "integrated_lufs", aa_num(l->integrated_lufs, 1e2),
	    "loudness_range_lu", aa_num(l->loudness_range_lu, 1e2),
	    "true_peak_dbtp", aa_num(l->true_peak_dbtp, 1e2),
	    "sample_peak_dbfs", aa_num(l->sample_peak_dbfs, 1e2),
	    "max_momentary_lufs", aa_num(l->max_momentary_lufs, 1e2),
	    "max_short_term_lufs", aa_num(l->max_short_term_lufs, 1e2),
	    "crest_factor_db", aa_num(l->crest_factor_db, 1e2),
	    "short_term_crest_db", aa_num(l->short_term_crest_db, 1e2),
	    "plr_db", aa_num(l->plr_db, 1e2), "compression_ratio",
	    aa_num(l->compression_ratio, 1e2));
}

json_t *
aa_result_json(const struct aa_result *r)
{
	json_t *o = json_pack("{s:b, s:o, s:i, s:o}", "has_audio", r->has_audio,
	    "sample_rate",
	    r->has_audio ? json_integer(r->sample_rate) : json_null(),
	    "channels", r->channels, "duration_s", aa_num(r->duration_s, 1e3));

	if (o == NULL ||
	    json_object_set_new(o, "decode",
		r->has_audio ? avh_losses_json(&r->decode) : json_null()) < 0 ||
	    json_object_update_new(o, aa_json_levels(&r->levels)) < 0 ||
	    json_object_update_new(o, aa_json_rhythm(&r->rhythm)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct aa_inputs {
	const char *key[2];
	const char *path[2];
	struct ava_stream *s[2];
	double weight[2];
	/* Template and source are one file: analysed once, copied. */
	bool same;
};

/* Opens every input first: progress is shared out by their durations. */
static enum stage_result
aa_open_all(struct stage_ctx *ctx, struct aa_inputs *in)
{
	enum stage_result rc;
	bool known = true;
	int i;

	for (i = 0; i < 2; i++) {
		if (in->path[i] == NULL)
			continue;
		if ((rc = ava_open(ctx, in->path[i], &in->s[i])) != STAGE_OK)
			return rc;
		in->weight[i] =
		    in->s[i] != NULL ? ava_info(in->s[i])->duration_s : 0.0;
		known = known && (in->s[i] == NULL || in->weight[i] > 0.0);
	}
	for (i = 0; i < 2 && !known; i++)
		in->weight[i] = in->s[i] != NULL ? 1.0 : 0.0;
	return STAGE_OK;
}

static enum stage_result
aa_analyse_input(struct stage_ctx *ctx, struct aa_inputs *in, int i,
    double base, double total, json_t **out)
{
	struct aa_job j = {
	    ctx, in->s[i], NULL, NULL, base / total, in->weight[i] / total};
	struct aa_result r;
	enum stage_result rc = STAGE_OK;

	aa_result_none(&r);
	if (j.s != NULL)
		rc = aa_analyse_stream(&j, &r);
	if (rc == STAGE_OK && (*out = aa_result_json(&r)) == NULL)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	aa_result_free(&r);
	return rc;
}

static enum stage_result
aa_run_inputs(struct stage_ctx *ctx, struct aa_inputs *in, json_t *root)
{
	double base = 0.0, total = in->weight[0] + in->weight[1];
	enum stage_result rc;
	json_t *obj;
	int i;

	for (i = 0; i < 2; i++) {
		obj = json_null();
		if (i == 1 && in->same)
			obj = json_deep_copy(json_object_get(root, in->key[0]));
		else if (in->path[i] != NULL &&
			 (rc = aa_analyse_input(ctx, in, i, base,
			      total > 0.0 ? total : 1.0, &obj)) != STAGE_OK)
			return rc;
		if (json_object_set_new(root, in->key[i], obj) < 0)
			return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
		base += in->weight[i];
	}
	return STAGE_OK;
}

enum stage_result
audio_analysis_run(struct stage_ctx *ctx)
{
	struct aa_inputs in = {{"template", "source"},
	    {ctx->template_path, ctx->source}, {NULL, NULL}, {0.0, 0.0}, false};
	enum stage_result rc;
	json_t *root;

	if (in.path[0] == NULL && in.path[1] == NULL)
		return stage_fail(ctx, STAGE_E_NOINPUT,
		    "the job has neither a template nor a source");
	if (in.path[0] != NULL && in.path[1] != NULL &&
	    stage_same_file(in.path[0], in.path[1])) {
		in.same = true;
		in.path[1] = NULL;
	}
	root = json_pack("{s:i}", "version", AA_VERSION);
	rc = root == NULL ? stage_fail(ctx, STAGE_E_TEMP, "out of memory")
			  : aa_open_all(ctx, &in);
	if (rc == STAGE_OK)
		rc = aa_run_inputs(ctx, &in, root);
	if (rc == STAGE_OK)
		rc = stage_write_json(ctx, AA_ARTIFACT, root);
	if (rc == STAGE_OK)
		stage_progress(ctx, 1.0);
	ava_close(in.s[0]);
	ava_close(in.s[1]);
	json_decref(root);
	return rc;
}

/*
 * Output audio (see render_audio.h).
 *
 * Each segment is a range of source samples (counted at the output rate
 * from source time 0) mapped one to one onto output samples, with a linear
 * ramp in and a ramp out. Ranges are filled in source order as resampled
 * audio arrives and summed into an accumulator that starts at the first
 * output sample not yet final. An output sample is final once no range
 * still to be filled can reach it: the accumulator is flushed up to the
 * least position any unfinished range will write next. It is then scaled
 * by the plan's gain, limited and handed to the sink. A dissolve keeps its
 * overlap in the accumulator until the incoming segment arrives; nothing else
 * stays.
 *
 * Ramps: a cut extends the outgoing range RPLAN_CUT_XFADE_S past the cut,
 * fading out while the incoming one fades in (from source samples that
 * follow the outgoing segment, or silence where the source has none); a
 * fade ramps over the same frames as the video; a dissolve cross-fades
 * over the overlap. Ramps sum to one, so a cut between adjacent source
 * samples leaves the audio untouched.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

#include "av.h"
#include "limiter.h"
#include "render_audio.h"

#define RAUD_CH 2
#define RAUD_CHUNK 4096

struct raud_range {
	int64_t j0, j1; /* source samples [j0, j1) */
	int64_t jdone;	/* the next source sample to add */
	int64_t k0;	/* output sample of j0 */
	int64_t in0, in_len, out0, out_len;
	bool done;
};

struct raud {
	struct stage_ctx *ctx;
	raud_sink_fn sink;
	void *sink_arg;
	int rate;
	int64_t total; /* output samples */
	struct raud_range *r;
	int nr, first;
	float gain;
	struct lim *lim;
	int64_t lim_skip; /* limiter output still to drop (its delay) */
	int64_t sunk;	  /* frames handed to the sink */
	/* Decoding side. */
	AVRational tb;
	double origin;
	SwrContext *swr;
	AVChannelLayout in_layout;
	int in_rate, in_fmt;
	bool anchored;
	double anchor_t;
	int64_t anchor_in; /* input samples since the anchor */
	int64_t jpos;	   /* source sample of the next resampled one */
	float *cbuf;
	int ccap;
	/* Output samples [base, base + len) not yet final. */
	float *acc;
	int64_t base, len, cap;
	float chunk[RAUD_CHUNK * RAUD_CH];
};

static int64_t
raud_samples(const struct raud *a, const struct rplan *p, int64_t frames)
{
	return av_rescale(frames, (int64_t)a->rate * p->fps.den, p->fps.num);
}

static void
raud_ramps(struct raud *a, const struct rplan *p, int i, struct raud_range *r)
{
	const struct rplan_seg *s = &p->segs[i];
	const struct rplan_seg *n = i + 1 < p->nsegs ? s + 1 : NULL;
	int64_t x = llround(RPLAN_CUT_XFADE_S * a->rate);

	r->in0 = s->k0;
	if (s->tin == RPLAN_CUT)
		r->in_len = x;
	else if (s->tin == RPLAN_FADE)
		r->in_len = raud_samples(a, p, s->f0 + s->fade_in) - s->k0;
	else if (s->tin == RPLAN_DISSOLVE)
		r->in_len = s[-1].k1 - s->k0;
	r->out0 = s->k1;
	if (n != NULL && n->tin == RPLAN_CUT)
		r->out_len = x;
	else if (n != NULL && n->tin == RPLAN_FADE) {
		r->out0 = raud_samples(a, p, s->f1 - s->fade_out);
		r->out_len = s->k1 - r->out0;
	} else if (n != NULL && n->tin == RPLAN_DISSOLVE) {
		r->out0 = n->k0;
		r->out_len = s->k1 - n->k0;
	} else if (n == NULL && s->fade_out > 0) {
		/* Music cut to the output's length fades out. */
		r->out0 = raud_samples(a, p, s->f1 - s->fade_out);
		r->out_len = s->k1 - r->out0;
	}
}

static enum stage_result
raud_ranges(struct raud *a, const struct rplan *p)
{
	struct raud_range *r;
	int i;

	if ((a->r = calloc((size_t)p->nsegs, sizeof(*a->r))) == NULL)
		return stage_fail(a->ctx, STAGE_E_TEMP, "out of memory");
	a->nr = p->nsegs;
	for (i = 0; i < p->nsegs; i++) {
		const struct rplan_seg *s = &p->segs[i];

		r = &a->r[i];
		raud_ramps(a, p, i, r);
		r->k0 = s->k0;
		r->j0 =
		    s->k0 + llround((s->src_start - s->out_start) * a->rate);
		r->j1 = r->j0 + (s->k1 - s->k0);
		if (i + 1 < p->nsegs && s[1].tin == RPLAN_CUT)
			r->j1 += r->out_len;
		r->jdone = r->j0;
	}
	return STAGE_OK;
}

enum stage_result
raud_new(struct stage_ctx *ctx, const struct rplan *p, double ceiling_db,
    raud_sink_fn sink, void *arg, AVRational tb, double origin_s,
    struct raud **out)
{
	struct raud *a = calloc(1, sizeof(*a));
	enum stage_result rc;

	*out = NULL;
	if (a == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	a->ctx = ctx;
	a->sink = sink;
	a->sink_arg = arg;
	a->rate = p->audio_rate;
	a->total = p->nsamples;
	a->gain = (float)pow(10.0, p->gain_db / 20.0);
	a->tb = tb;
	a->origin = origin_s;
	a->in_fmt = -1;
	a->lim = lim_new(a->rate, RAUD_CH, ceiling_db);
	if (a->lim == NULL)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	else
		rc = raud_ranges(a, p);
	if (rc != STAGE_OK) {
		raud_free(a);
		return rc;
	}
	a->lim_skip = lim_latency(a->lim);
	*out = a;
	return STAGE_OK;
}

static float
raud_gain(const struct raud_range *r, int64_t k)
{
	double g = 1.0;

	if (r->in_len > 0 && k < r->in0 + r->in_len)
		g *= (k - r->in0 + 0.5) / r->in_len;
	if (r->out_len > 0 && k >= r->out0)
		g *= (r->out0 + r->out_len - k - 0.5) / r->out_len;
	return g < 0.0 ? 0.0f : g > 1.0 ? 1.0f : (float)g;
}

static enum stage_result
raud_reserve(struct raud *a, int64_t len)
{
	int64_t cap = a->cap > 0 ? a->cap : RAUD_CHUNK;
	float *p;

	if (len <= a->cap)
		return STAGE_OK;
	while (cap < len)
		cap *= 2;
	p = realloc(a->acc, (size_t)cap * RAUD_CH * sizeof(*p));
	if (p == NULL)
		return stage_fail(a->ctx, STAGE_E_TEMP, "out of memory");
	memset(p + a->cap * RAUD_CH, 0,
	    (size_t)(cap - a->cap) * RAUD_CH * sizeof(*p));
	a->acc = p;
	a->cap = cap;
	return STAGE_OK;
}

/* Adds source samples [j, j + n) to range r. */
static enum stage_result
raud_add(
    struct raud *a, struct raud_range *r, const float *x, int64_t j, int64_t n)
{
	int64_t lo = j > r->jdone ? j : r->jdone, hi = j + n, s, k, end;
	enum stage_result rc;
	float g, *o;

	/* Never behind what is final, never past the output's end. */
	lo = lo > r->j0 + (a->base - r->k0) ? lo : r->j0 + (a->base - r->k0);
	hi = hi < r->j1 ? hi : r->j1;
	hi = hi < r->j0 + (a->total - r->k0) ? hi : r->j0 + (a->total - r->k0);
	if (hi > lo) {
		end = r->k0 + (hi - r->j0) - a->base;
		if ((rc = raud_reserve(a, end)) != STAGE_OK)
			return rc;
		for (s = lo; s < hi; s++) {
			k = r->k0 + (s - r->j0);
			g = raud_gain(r, k);
			o = a->acc + (k - a->base) * RAUD_CH;
			o[0] += g * x[(s - j) * RAUD_CH];
			o[1] += g * x[(s - j) * RAUD_CH + 1];
		}
		a->len = end > a->len ? end : a->len;
		r->jdone = hi;
	}
	if (j + n >= r->j1 || r->k0 + (r->jdone - r->j0) >= a->total)
		r->done = true;
	return STAGE_OK;
}

/* Gain, limiter and sink for n final frames in a->chunk. */
static enum stage_result
raud_emit(struct raud *a, int n)
{
	int i, skip;

	for (i = 0; i < n * RAUD_CH; i++)
		a->chunk[i] *= a->gain;
	lim_process(a->lim, a->chunk, n);
	skip = a->lim_skip < n ? (int)a->lim_skip : n;
	a->lim_skip -= skip;
	a->sunk += n - skip;
	return a->sink(a->sink_arg, a->chunk + skip * RAUD_CH, n - skip);
}

/* Flushes the accumulator up to output sample upto. */
static enum stage_result
raud_flush(struct raud *a, int64_t upto)
{
	enum stage_result rc = STAGE_OK;
	int64_t n, have;

	while (rc == STAGE_OK && a->base < upto) {
		n = upto - a->base < RAUD_CHUNK ? upto - a->base : RAUD_CHUNK;
		have = a->len < n ? a->len : n;
		memset(a->chunk, 0, sizeof(a->chunk));
		if (have > 0) {
			memcpy(a->chunk, a->acc,
			    (size_t)have * RAUD_CH * sizeof(float));
			memmove(a->acc, a->acc + have * RAUD_CH,
			    (size_t)(a->len - have) * RAUD_CH * sizeof(float));
			memset(a->acc + (a->len - have) * RAUD_CH, 0,
			    (size_t)have * RAUD_CH * sizeof(float));
			a->len -= have;
		}
		a->base += n;
		rc = raud_emit(a, (int)n);
	}
	return rc;
}

/* The first output sample an unfinished range may still write. */
static int64_t
raud_final(const struct raud *a)
{
	int64_t lim = a->total, k;
	int i;

	for (i = a->first; i < a->nr && a->r[i].k0 < lim; i++) {
		if (a->r[i].done)
			continue;
		k = a->r[i].k0 + (a->r[i].jdone - a->r[i].j0);
		lim = k < lim ? k : lim;
	}
	return lim;
}

/* Hands resampled source samples [j, j + n) to the ranges they touch. */
static enum stage_result
raud_deliver(struct raud *a, const float *x, int64_t j, int64_t n)
{
	enum stage_result rc = STAGE_OK;
	int i;

	for (i = a->first; i < a->nr && a->r[i].j0 < j + n; i++) {
		if (!a->r[i].done &&
		    (rc = raud_add(a, &a->r[i], x, j, n)) != STAGE_OK)
			return rc;
	}
	while (a->first < a->nr && a->r[a->first].done)
		a->first++;
	return raud_flush(a, raud_final(a));
}

static enum stage_result
raud_reserve_conv(struct raud *a, int frames)
{
	float *p;

	if (frames <= a->ccap)
		return STAGE_OK;
	p = realloc(a->cbuf, (size_t)frames * RAUD_CH * sizeof(*p));
	if (p == NULL)
		return stage_fail(a->ctx, STAGE_E_TEMP, "out of memory");
	a->cbuf = p;
	a->ccap = frames;
	return STAGE_OK;
}

/*
 * Resamples n input frames and delivers the result; with in NULL, drains
 * what the resampler still holds.
 */
static enum stage_result
raud_convert(struct raud *a, const uint8_t **in, int n)
{
	enum stage_result rc;
	int got;

	do {
		rc = raud_reserve_conv(a, swr_get_out_samples(a->swr, n) + 1);
		if (rc != STAGE_OK)
			return rc;
		got = swr_convert(a->swr, (uint8_t **)&a->cbuf, a->ccap, in, n);
		if (got < 0)
			return avh_fail(a->ctx, got, "cannot resample audio");
		if (got > 0 &&
		    (rc = raud_deliver(a, a->cbuf, a->jpos, got)) != STAGE_OK)
			return rc;
		a->jpos += got;
	} while (in == NULL && got > 0);
	return STAGE_OK;
}

static enum stage_result
raud_configure(struct raud *a, const AVFrame *f)
{
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO, in = {0};
	int err;

	swr_free(&a->swr);
	av_channel_layout_uninit(&a->in_layout);
	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
		av_channel_layout_default(&in, f->ch_layout.nb_channels);
	else if ((err = av_channel_layout_copy(&in, &f->ch_layout)) < 0)
		return avh_fail(a->ctx, err, "cannot read the audio layout");
	err = av_channel_layout_copy(&a->in_layout, &f->ch_layout);
	if (err >= 0)
		err = swr_alloc_set_opts2(&a->swr, &stereo, AV_SAMPLE_FMT_FLT,
		    a->rate, &in, f->format, f->sample_rate, 0, NULL);
	if (err >= 0)
		err = swr_init(a->swr);
	av_channel_layout_uninit(&in);
	if (err < 0)
		return avh_fail(a->ctx, err, "cannot resample audio");
	a->in_rate = f->sample_rate;
	a->in_fmt = f->format;
	return STAGE_OK;
}

/* Drains the resampler of what it holds at the current position. */
static enum stage_result
raud_drain(struct raud *a)
{
	if (a->swr == NULL || !a->anchored)
		return STAGE_OK;
	return raud_convert(a, NULL, 0);
}

static enum stage_result
raud_place(struct raud *a, const AVFrame *f)
{
	int64_t ts = f->best_effort_timestamp;
	double t = ts == AV_NOPTS_VALUE ? NAN : ts * av_q2d(a->tb) - a->origin;
	bool changed = a->swr == NULL || f->format != a->in_fmt ||
		       f->sample_rate != a->in_rate ||
		       av_channel_layout_compare(&f->ch_layout, &a->in_layout);
	enum stage_result rc;

	if (!changed && a->anchored &&
	    (isnan(t) ||
		fabs(t - a->anchor_t - (double)a->anchor_in / a->in_rate) <=
		    RAUD_JUMP_S))
		return STAGE_OK;
	if ((rc = raud_drain(a)) != STAGE_OK)
		return rc;
	if (changed && (rc = raud_configure(a, f)) != STAGE_OK)
		return rc;
	if (!isnan(t) || !a->anchored) {
		a->anchor_t = isnan(t) ? 0.0 : t;
		a->jpos = llround(a->anchor_t * a->rate);
	} else
		a->anchor_t = (double)a->jpos / a->rate;
	a->anchor_in = 0;
	a->anchored = true;
	return STAGE_OK;
}

enum stage_result
raud_frame(struct raud *a, const AVFrame *f)
{
	enum stage_result rc;

	if (f->nb_samples <= 0 || f->sample_rate <= 0 ||
	    f->ch_layout.nb_channels <= 0)
		return stage_fail(a->ctx, STAGE_E_DATA,
		    "the source audio has an empty frame");
	if ((rc = raud_place(a, f)) != STAGE_OK)
		return rc;
	rc = raud_convert(a, (const uint8_t **)f->extended_data, f->nb_samples);
	a->anchor_in += f->nb_samples;
	return rc;
}

void
raud_seek(struct raud *a)
{
	swr_free(&a->swr);
	a->anchored = false;
}

double
raud_next_need(const struct raud *a)
{
	const struct raud_range *r;

	if (a->first >= a->nr)
		return INFINITY;
	r = &a->r[a->first];
	return (double)(r->jdone > r->j0 ? r->jdone : r->j0) / a->rate;
}

double
raud_position(const struct raud *a)
{
	return a->anchored ? (double)a->jpos / a->rate : -INFINITY;
}

bool
raud_done(const struct raud *a)
{
	return a->first >= a->nr;
}

enum stage_result
raud_finish(struct raud *a)
{
	enum stage_result rc = raud_drain(a);
	int64_t tail;
	int n;

	for (; rc == STAGE_OK && a->first < a->nr; a->first++)
		a->r[a->first].done = true;
	if (rc == STAGE_OK)
		rc = raud_flush(a, a->total);
	/* Silence pushes the limiter's delayed samples out. */
	for (tail = a->lim_skip + (a->total - a->sunk);
	     rc == STAGE_OK && tail > 0; tail -= n) {
		n = tail < RAUD_CHUNK ? (int)tail : RAUD_CHUNK;
		memset(a->chunk, 0, sizeof(a->chunk));
		rc = raud_emit(a, n);
	}
	return rc;
}

double
raud_limited_db(const struct raud *a)
{
	return 20.0 * log10(lim_min_gain(a->lim));
}

void
raud_free(struct raud *a)
{
	if (a == NULL)
		return;
	swr_free(&a->swr);
	av_channel_layout_uninit(&a->in_layout);
	lim_free(a->lim);
	free(a->r);
	free(a->acc);
	free(a->cbuf);
	free(a);
}

/*
 * Streaming audio decode for the analysis stages. One demux and decode
 * pass feeds every consumer through its own SwrContext, so a stage that
 * needs the native layout (loudness) and a mono downmix (rhythm) still
 * reads the file once. The decoder may change format mid-stream (an AAC
 * stream that turns out to be HE-AAC, a layout switch): the affected
 * converter is drained and rebuilt for the new input while its output stays
 * what the consumer asked for. A packet the decoder rejects is skipped and
 * counted, as FFmpeg's own tools do (an AC-3 stream cut mid-frame starts
 * with one); the run fails when too many are lost (avh_losses), because
 * an analysis of half a file would be silently wrong. A skipped packet's
 * samples are missing, so what follows comes that much earlier: at most
 * AVH_LOST_SHARE of the duration.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswresample/swresample.h>

#include "av.h"
#include "av_audio.h"

struct ava_stream {
	AVFormatContext *fmt;
	AVCodecContext *dec;
	int index;
	struct ava_info info;
	/* Declared duration of the file, when not a bitrate guess; else 0. */
	double declared_s;
	/* Where the packets of all streams end so far, s. */
	double end_s;
	double decoded_s;
	struct avh_losses losses;
	int read_errors; /* in a row */
	char name[128];
};

/* Read errors in a row that end the run: the file is unreadable there. */
#define AVA_READ_ERRORS_MAX 32

/* One consumer: its resampler and output buffer. */
struct ava_conv {
	const struct ava_output *out;
	SwrContext *swr;
	AVChannelLayout layout; /* output */
	int rate;		/* output */
	/* The input format swr is configured for, as the decoder gave it. */
	AVChannelLayout src_layout;
	int src_rate;
	int src_fmt;
	float *buf;
	int cap; /* frames */
};

/* Unspecified orders get the default layout for their channel count. */
static int
ava_layout_of(AVChannelLayout *dst, const AVChannelLayout *src)
{
	if (src->order == AV_CHANNEL_ORDER_UNSPEC) {
		av_channel_layout_default(dst, src->nb_channels);
		return 0;
	}
	return av_channel_layout_copy(dst, src);
}

/*
 * The stream's declared duration serves progress; the file's, unless it is
 * a bitrate guess, serves the truncation check, which compares it with
 * where the packets of every stream end: an audio track that is merely
 * shorter than the video is not a truncated file.
 */
static void
ava_durations(struct ava_stream *s, const AVStream *st)
{
	const AVFormatContext *fmt = s->fmt;

	if (fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
		return;
	if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
		s->declared_s = fmt->duration / (double)AV_TIME_BASE;
	if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
		s->info.duration_s = st->duration * av_q2d(st->time_base);
	else
		s->info.duration_s = s->declared_s;
}

/* Notes where a packet of any stream ends, relative to the file start. */
static void
ava_note_end(struct ava_stream *s, const AVPacket *pkt)
{
	const AVStream *st = s->fmt->streams[pkt->stream_index];
	int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
	double end;

	if (ts == AV_NOPTS_VALUE)
		return;
	end = (ts + pkt->duration) * av_q2d(st->time_base);
	if (s->fmt->start_time != AV_NOPTS_VALUE)
		end -= s->fmt->start_time / (double)AV_TIME_BASE;
	s->end_s = fmax(s->end_s, end);
}

static enum stage_result
ava_setup(struct stage_ctx *ctx, struct ava_stream *s)
{
	const AVStream *st = s->fmt->streams[s->index];
	enum stage_result rc;

	rc = avh_open_decoder(ctx, s->fmt, s->index, 0, &s->dec);
	if (rc != STAGE_OK)
		return rc;
	if (s->dec->sample_rate <= 0 || s->dec->ch_layout.nb_channels <= 0)
		return stage_fail(ctx, STAGE_E_DATA,
		    "audio of %s has no sample rate or channel count", s->name);
	if (ava_layout_of(&s->info.layout, &s->dec->ch_layout) < 0)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	s->info.rate = s->dec->sample_rate;
	s->info.channels = s->info.layout.nb_channels;
	ava_durations(s, st);
	return STAGE_OK;
}

enum stage_result
ava_open(struct stage_ctx *ctx, const char *path, struct ava_stream **out)
{
	struct ava_stream *s;
	const char *base = strrchr(path, '/');
	enum stage_result rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	snprintf(
	    s->name, sizeof(s->name), "%s", base != NULL ? base + 1 : path);
	rc = avh_open_input(ctx, path, &s->fmt);
	if (rc == STAGE_OK) {
		s->index = avh_audio_stream(s->fmt);
		if (s->index < 0) {
			ava_close(s);
			return STAGE_OK;
		}
		rc = ava_setup(ctx, s);
	}
	if (rc != STAGE_OK) {
		ava_close(s);
		return rc;
	}
	*out = s;
	return STAGE_OK;
}

const struct ava_info *
ava_info(const struct ava_stream *s)
{
	return &s->info;
}

const struct avh_losses *
ava_losses(const struct ava_stream *s)
{
	return &s->losses;
}

double
ava_decoded_s(const struct ava_stream *s)
{
	return s->decoded_s;
}

double
ava_fraction(const struct ava_stream *s)
{
	int64_t size, pos;
	double f = 0.0;

	if (s->info.duration_s > 0.0)
		f = s->decoded_s / s->info.duration_s;
	else if (s->fmt->pb != NULL && (size = avio_size(s->fmt->pb)) > 0 &&
		 (pos = avio_tell(s->fmt->pb)) >= 0)
		f = (double)pos / (double)size;
	return f < 0.0 ? 0.0 : f > 1.0 ? 1.0 : f;
}

void
ava_close(struct ava_stream *s)
{
	if (s == NULL)
		return;
	avcodec_free_context(&s->dec);
	avformat_close_input(&s->fmt);
	av_channel_layout_uninit(&s->info.layout);
	free(s);
}

static enum stage_result
ava_reserve(struct stage_ctx *ctx, struct ava_conv *c, int frames)
{
	float *p;

	if (frames <= c->cap)
		return STAGE_OK;
	p = realloc(c->buf,
	    (size_t)frames * (size_t)c->layout.nb_channels * sizeof(*p));
	if (p == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	c->buf = p;
	c->cap = frames;
	return STAGE_OK;
}

/* Converts n input frames (NULL, 0 drains) and hands the result on. */
static enum stage_result
ava_push(struct stage_ctx *ctx, const struct ava_stream *s, struct ava_conv *c,
    const uint8_t **in, int n)
{
	enum stage_result rc;
	int got, want;

	do {
		want = swr_get_out_samples(c->swr, n);
		if (want < 0)
			return avh_fail(
			    ctx, want, "cannot convert audio of %s", s->name);
		if ((rc = ava_reserve(ctx, c, want + 1)) != STAGE_OK)
			return rc;
		got = swr_convert(c->swr, (uint8_t **)&c->buf, c->cap, in, n);
		if (got < 0)
			return avh_fail(
			    ctx, got, "cannot convert audio of %s", s->name);
		if (got > 0 &&
		    (rc = c->out->fn(c->out->arg, c->buf, got)) != STAGE_OK)
			return rc;
		/* Only a drain can leave more behind. */
	} while (in == NULL && got > 0);
	return STAGE_OK;
}

static enum stage_result
ava_configure(struct stage_ctx *ctx, const struct ava_stream *s,
    struct ava_conv *c, const AVFrame *f)
{
	AVChannelLayout in = {0};
	int err;

	swr_free(&c->swr);
	av_channel_layout_uninit(&c->src_layout);
	err = av_channel_layout_copy(&c->src_layout, &f->ch_layout);
	if (err >= 0)
		err = ava_layout_of(&in, &f->ch_layout);
	if (err >= 0)
		err =
		    swr_alloc_set_opts2(&c->swr, &c->layout, AV_SAMPLE_FMT_FLT,
			c->rate, &in, f->format, f->sample_rate, 0, NULL);
	if (err >= 0)
		err = swr_init(c->swr);
	av_channel_layout_uninit(&in);
	if (err < 0)
		return avh_fail(
		    ctx, err, "cannot convert audio of %s", s->name);
	c->src_rate = f->sample_rate;
	c->src_fmt = f->format;
	return STAGE_OK;
}

static enum stage_result
ava_feed(struct stage_ctx *ctx, const struct ava_stream *s, struct ava_conv *c,
    const AVFrame *f)
{
	enum stage_result rc;

	if (c->swr == NULL || f->format != c->src_fmt ||
	    f->sample_rate != c->src_rate ||
	    av_channel_layout_compare(&f->ch_layout, &c->src_layout) != 0) {
		if (c->swr != NULL &&
		    (rc = ava_push(ctx, s, c, NULL, 0)) != STAGE_OK)
			return rc;
		if ((rc = ava_configure(ctx, s, c, f)) != STAGE_OK)
			return rc;
	}
	return ava_push(
	    ctx, s, c, (const uint8_t **)f->extended_data, f->nb_samples);
}

static enum stage_result
ava_receive(struct stage_ctx *ctx, struct ava_stream *s, struct ava_conv *convs,
    int n, AVFrame *f)
{
	enum stage_result rc = STAGE_OK;
	int err, i;

	for (;;) {
		err = avcodec_receive_frame(s->dec, f);
		if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
			return STAGE_OK;
		if (err == AVERROR_INVALIDDATA) {
			avh_losses_add(&s->losses, s->decoded_s);
			continue;
		}
		if (err < 0)
			return avh_fail(ctx, err,
			    "audio of %s is corrupt at %.2f s", s->name,
			    s->decoded_s);
		if (f->sample_rate <= 0 || f->ch_layout.nb_channels <= 0)
			rc = stage_fail(ctx, STAGE_E_DATA,
			    "audio of %s has an empty frame format at %.2f s",
			    s->name, s->decoded_s);
		for (i = 0; i < n && rc == STAGE_OK; i++)
			rc = ava_feed(ctx, s, &convs[i], f);
		if (rc == STAGE_OK)
			s->decoded_s += (double)f->nb_samples / f->sample_rate;
		av_frame_unref(f);
		if (rc != STAGE_OK)
			return rc;
	}
}

/* Sends one packet (NULL flushes) and delivers what it decodes to. */
static enum stage_result
ava_decode(struct stage_ctx *ctx, struct ava_stream *s, struct ava_conv *convs,
    int n, const AVPacket *pkt, AVFrame *f)
{
	int err;

	if (pkt != NULL)
		avh_losses_packet(&s->losses, s->fmt, pkt);
	err = avcodec_send_packet(s->dec, pkt);
	if (err == AVERROR_INVALIDDATA)
		avh_losses_add(&s->losses, s->decoded_s);
	else if (err < 0 && err != AVERROR_EOF)
		return avh_fail(ctx, err, "audio of %s is corrupt at %.2f s",
		    s->name, s->decoded_s);
	return ava_receive(ctx, s, convs, n, f);
}

/*
 * The next packet. A damaged stretch the demuxer cannot read is a loss
 * and reading goes on past it, unless it goes on for
 * AVA_READ_ERRORS_MAX reads in a row or is not bad data.
 */
static int
ava_read(struct ava_stream *s, AVPacket *pkt)
{
	int err;

	while ((err = av_read_frame(s->fmt, pkt)) == AVERROR_INVALIDDATA &&
	       ++s->read_errors < AVA_READ_ERRORS_MAX)
		avh_losses_add(&s->losses, s->decoded_s);
	if (err >= 0)
		s->read_errors = 0;
	return err;
}

static enum stage_result
ava_demux(struct stage_ctx *ctx, struct ava_stream *s, struct ava_conv *convs,
    int n, AVPacket *pkt, AVFrame *f)
{
	enum stage_result rc = STAGE_OK;
	int err = 0;

	while (rc == STAGE_OK && (err = ava_read(s, pkt)) >= 0) {
		ava_note_end(s, pkt);
		if (pkt->stream_index == s->index)
			rc = ava_decode(ctx, s, convs, n, pkt, f);
		av_packet_unref(pkt);
	}
	if (rc != STAGE_OK)
		return rc;
	if (err != AVERROR_EOF)
		return avh_fail(ctx, err, "cannot read %s at %.2f s", s->name,
		    s->decoded_s);
	return ava_decode(ctx, s, convs, n, NULL, f);
}

static enum stage_result
ava_finish(struct stage_ctx *ctx, const struct ava_stream *s,
    struct ava_conv *convs, int n)
{
	enum stage_result rc = STAGE_OK;
	double want = s->declared_s, got = s->end_s;
	char where[160];
	int i;

	for (i = 0; i < n && rc == STAGE_OK; i++) {
		if (convs[i].swr != NULL)
			rc = ava_push(ctx, s, &convs[i], NULL, 0);
	}
	if (rc == STAGE_OK && avh_losses_too_many(&s->losses)) {
		avh_losses_where(&s->losses, where, sizeof(where));
		rc = stage_fail(ctx, STAGE_E_DATA,
		    "audio of %s is damaged: %lld of %lld packets could not be "
		    "decoded (%s)",
		    s->name, (long long)s->losses.lost,
		    (long long)s->losses.packets, where);
	}
	if (rc == STAGE_OK && want > 0 && want - got > fmax(0.5, 0.02 * want))
		rc = stage_fail(ctx, STAGE_E_DATA,
		    "%s is truncated: its data ends at %.2f s of %.2f s",
		    s->name, got, want);
	return rc;
}

static void
ava_convs_free(struct ava_conv *convs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		swr_free(&convs[i].swr);
		av_channel_layout_uninit(&convs[i].layout);
		av_channel_layout_uninit(&convs[i].src_layout);
		free(convs[i].buf);
	}
	free(convs);
}

static struct ava_conv *
ava_convs_new(const struct ava_stream *s, const struct ava_output *outs, int n)
{
	struct ava_conv *convs = calloc((size_t)n, sizeof(*convs));
	AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
	int i, err = 0;

	if (convs == NULL)
		return NULL;
	for (i = 0; i < n && err >= 0; i++) {
		convs[i].out = &outs[i];
		convs[i].rate = outs[i].rate > 0 ? outs[i].rate : s->info.rate;
		err = av_channel_layout_copy(
		    &convs[i].layout, outs[i].mono ? &mono : &s->info.layout);
	}
	if (err < 0) {
		ava_convs_free(convs, n);
		return NULL;
	}
	return convs;
}

enum stage_result
ava_run(struct stage_ctx *ctx, struct ava_stream *s,
    const struct ava_output *outs, int nouts)
{
	struct ava_conv *convs = ava_convs_new(s, outs, nouts);
	AVPacket *pkt = av_packet_alloc();
	AVFrame *f = av_frame_alloc();
	enum stage_result rc;

	if (convs == NULL || pkt == NULL || f == NULL)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	else
		rc = ava_demux(ctx, s, convs, nouts, pkt, f);
	if (rc == STAGE_OK)
		rc = ava_finish(ctx, s, convs, nouts);
	if (convs != NULL)
		ava_convs_free(convs, nouts);
	av_packet_free(&pkt);
	av_frame_free(&f);
	return rc;
}

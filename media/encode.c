/*
 * Encoders and MP4 muxer (see encode.h). libx264 gets the plan's preset
 * and CRF, one frame thread per core and a look-ahead of at most
 * ENC_LOOKAHEAD_MAX frames (the memory bound);
 * AAC-LC gets 1024-sample planar frames cut from whatever chunks arrive.
 * Every packet is rescaled from its encoder's time base to its stream's and
 * handed to av_interleaved_write_frame(), which orders the two streams by
 * time. The mov muxer's faststart pass rewrites the file in place at
 * av_write_trailer(), moving the index in front of the media data.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "av.h"
#include "encode.h"

/*
 * x264 keeps about 10 MB per look-ahead frame at 1080x1920: the cap keeps
 * faster presets (20 frames and up) within the memory budget, at a small
 * cost in rate control (docs/stages/rendering.md).
 */
#define ENC_LOOKAHEAD_MAX 10
#define ENC_THREADS_MAX 16

struct enc_stream {
	AVCodecContext *c;
	AVStream *st;
};

struct enc {
	struct stage_ctx *ctx;
	AVFormatContext *oc;
	AVPacket *pkt;
	struct enc_stream v, a;
	AVFrame *aframe; /* the AAC frame being filled */
	int afill;
	int64_t asent; /* samples sent to the encoder */
};

static enum stage_result
enc_err(struct enc *e, enum stage_result code, int averr, const char *what)
{
	avh_fail(e->ctx, averr, "%s", what);
	return averr == AVERROR(ENOMEM) ? STAGE_E_TEMP : code;
}

/* A stream for the open encoder of s. */
static enum stage_result
enc_add(struct enc *e, struct enc_stream *s)
{
	int err;

	if ((s->st = avformat_new_stream(e->oc, NULL)) == NULL)
		return stage_fail(e->ctx, STAGE_E_TEMP, "out of memory");
	if ((err = avcodec_parameters_from_context(s->st->codecpar, s->c)) < 0)
		return enc_err(e, STAGE_E_SOFTWARE, err, s->c->codec->name);
	s->st->time_base = s->c->time_base;
	return STAGE_OK;
}

/*
 * One x264 thread per core, not x264's 1.5 per core: each thread holds
 * frames in flight, and on two cores the extra one bought no speed.
 */
static int
enc_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > ENC_THREADS_MAX ? ENC_THREADS_MAX : (int)n;
}

/* Presets whose own look-ahead is within ENC_LOOKAHEAD_MAX. */
static bool
enc_fast_preset(const char *preset)
{
	return strcmp(preset, "ultrafast") == 0 ||
	       strcmp(preset, "superfast") == 0 ||
	       strcmp(preset, "veryfast") == 0;
}

static void
enc_video_params(AVCodecContext *c, const struct enc_video_cfg *v)
{
	c->width = v->width;
	c->height = v->height;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->time_base = av_inv_q(v->rate);
	c->framerate = v->rate;
	c->sample_aspect_ratio = (AVRational){1, 1};
	c->color_range = AVCOL_RANGE_MPEG;
	c->color_primaries = AVCOL_PRI_BT709;
	c->color_trc = AVCOL_TRC_BT709;
	c->colorspace = AVCOL_SPC_BT709;
	c->chroma_sample_location = AVCHROMA_LOC_LEFT;
	c->thread_count = enc_threads();
}

static enum stage_result
enc_open_video(struct enc *e, const struct enc_video_cfg *v)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	AVDictionary *opts = NULL;
	AVCodecContext *c;
	enum stage_result rc;
	int err;

	if (codec == NULL)
		return stage_fail(e->ctx, STAGE_E_SOFTWARE,
		    "the libx264 encoder is not available");
	if ((c = e->v.c = avcodec_alloc_context3(codec)) == NULL)
		return stage_fail(e->ctx, STAGE_E_TEMP, "out of memory");
	enc_video_params(c, v);
	av_dict_set(&opts, "preset", v->preset, 0);
	av_dict_set_int(&opts, "crf", v->crf, 0);
	if (!enc_fast_preset(v->preset))
		av_dict_set_int(&opts, "rc-lookahead", ENC_LOOKAHEAD_MAX, 0);
	/* The threaded look-ahead's buffer frames: 30 MB at 1080x1920. */
	av_dict_set(&opts, "x264-params", "sync-lookahead=0", 0);
	if (e->oc->oformat->flags & AVFMT_GLOBALHEADER)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	if ((err = avcodec_open2(c, codec, &opts)) < 0)
		rc = enc_err(e, STAGE_E_SOFTWARE, err, codec->name);
	else
		rc = enc_add(e, &e->v);
	av_dict_free(&opts);
	if (rc == STAGE_OK) {
		e->v.st->avg_frame_rate = v->rate;
		e->v.st->sample_aspect_ratio = c->sample_aspect_ratio;
	}
	return rc;
}

enum stage_result
enc_aac_open(struct stage_ctx *ctx, const struct enc_audio_cfg *a,
    bool global_header, AVCodecContext **out)
{
	const AVCodec *codec = avcodec_find_encoder_by_name("aac");
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	AVCodecContext *c;
	int err;

	*out = NULL;
	if (codec == NULL)
		return stage_fail(
		    ctx, STAGE_E_SOFTWARE, "the aac encoder is not available");
	if ((c = avcodec_alloc_context3(codec)) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	c->sample_fmt = AV_SAMPLE_FMT_FLTP;
	c->sample_rate = a->rate;
	c->bit_rate = a->bit_rate;
	c->time_base = (AVRational){1, a->rate};
	if (global_header)
		c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	err = av_channel_layout_copy(&c->ch_layout, &stereo);
	if (err >= 0)
		err = avcodec_open2(c, codec, NULL);
	if (err < 0) {
		avcodec_free_context(&c);
		avh_fail(ctx, err, "cannot open the aac encoder");
		return err == AVERROR(ENOMEM) ? STAGE_E_TEMP : STAGE_E_SOFTWARE;
	}
	*out = c;
	return STAGE_OK;
}

enum stage_result
enc_aac_frame(struct stage_ctx *ctx, const AVCodecContext *c, AVFrame **out)
{
	AVFrame *f = av_frame_alloc();

	*out = NULL;
	if (f == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	f->format = AV_SAMPLE_FMT_FLTP;
	f->sample_rate = c->sample_rate;
	f->nb_samples = c->frame_size > 0 ? c->frame_size : 1024;
	if (av_channel_layout_copy(&f->ch_layout, &c->ch_layout) < 0 ||
	    av_frame_get_buffer(f, 0) < 0) {
		av_frame_free(&f);
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	}
	*out = f;
	return STAGE_OK;
}

static enum stage_result
enc_open_audio(struct enc *e, const struct enc_audio_cfg *a)
{
	enum stage_result rc;

	rc = enc_aac_open(e->ctx, a,
	    (e->oc->oformat->flags & AVFMT_GLOBALHEADER) != 0, &e->a.c);
	if (rc == STAGE_OK)
		rc = enc_add(e, &e->a);
	if (rc == STAGE_OK)
		rc = enc_aac_frame(e->ctx, e->a.c, &e->aframe);
	return rc;
}

static enum stage_result
enc_start(struct enc *e, const char *path)
{
	AVDictionary *opts = NULL;
	int err;

	if ((err = avio_open(&e->oc->pb, path, AVIO_FLAG_WRITE)) < 0)
		return enc_err(e, STAGE_E_IO, err, "cannot create the output");
	av_dict_set(&opts, "movflags", "+faststart", 0);
	err = avformat_write_header(e->oc, &opts);
	av_dict_free(&opts);
	if (err < 0)
		return enc_err(e, STAGE_E_IO, err, "cannot write the output");
	return STAGE_OK;
}

enum stage_result
enc_open(struct stage_ctx *ctx, const char *path, const struct enc_video_cfg *v,
    const struct enc_audio_cfg *a, struct enc **out)
{
	struct enc *e = calloc(1, sizeof(*e));
	enum stage_result rc;
	int err;

	*out = NULL;
	if (e == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	e->ctx = ctx;
	err = avformat_alloc_output_context2(&e->oc, NULL, "mp4", path);
	if (err < 0)
		rc = enc_err(e, STAGE_E_SOFTWARE, err, "cannot set up MP4");
	else if ((e->pkt = av_packet_alloc()) == NULL)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	else
		rc = enc_open_video(e, v);
	if (rc == STAGE_OK && a != NULL)
		rc = enc_open_audio(e, a);
	if (rc == STAGE_OK)
		rc = enc_start(e, path);
	if (rc != STAGE_OK) {
		enc_free(e);
		return rc;
	}
	*out = e;
	return STAGE_OK;
}

/* Writes every packet the encoder has ready. */
static enum stage_result
enc_drain(struct enc *e, struct enc_stream *s)
{
	int err;

	for (;;) {
		err = avcodec_receive_packet(s->c, e->pkt);
		if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
			return STAGE_OK;
		if (err < 0)
			return enc_err(
			    e, STAGE_E_SOFTWARE, err, s->c->codec->name);
		av_packet_rescale_ts(e->pkt, s->c->time_base, s->st->time_base);
		e->pkt->stream_index = s->st->index;
		err = av_interleaved_write_frame(e->oc, e->pkt);
		if (err < 0)
			return enc_err(
			    e, STAGE_E_IO, err, "cannot write the output");
	}
}

static enum stage_result
enc_send(struct enc *e, struct enc_stream *s, const AVFrame *f)
{
	int err = avcodec_send_frame(s->c, f);

	if (err < 0)
		return enc_err(e, STAGE_E_SOFTWARE, err, s->c->codec->name);
	return enc_drain(e, s);
}

enum stage_result
enc_video(struct enc *e, const AVFrame *f, int64_t index)
{
	AVFrame *ref = av_frame_clone(f);
	enum stage_result rc;

	if (ref == NULL)
		return stage_fail(e->ctx, STAGE_E_TEMP, "out of memory");
	ref->pts = index;
	ref->pict_type = AV_PICTURE_TYPE_NONE;
	rc = enc_send(e, &e->v, ref);
	av_frame_free(&ref);
	return rc;
}

static enum stage_result
enc_audio_frame(struct enc *e)
{
	enum stage_result rc;

	e->aframe->nb_samples = e->afill;
	e->aframe->pts = e->asent;
	rc = enc_send(e, &e->a, e->aframe);
	e->asent += e->afill;
	e->afill = 0;
	e->aframe->nb_samples =
	    e->a.c->frame_size > 0 ? e->a.c->frame_size : 1024;
	if (rc == STAGE_OK && av_frame_make_writable(e->aframe) < 0)
		rc = stage_fail(e->ctx, STAGE_E_TEMP, "out of memory");
	return rc;
}

enum stage_result
enc_audio(struct enc *e, const float *x, int n)
{
	enum stage_result rc;
	float *l, *r;
	int i;

	if (e->a.c == NULL)
		return STAGE_OK;
	for (i = 0; i < n; i++) {
		l = (float *)e->aframe->data[0];
		r = (float *)e->aframe->data[1];
		l[e->afill] = x[2 * i];
		r[e->afill] = x[2 * i + 1];
		if (++e->afill == e->aframe->nb_samples &&
		    (rc = enc_audio_frame(e)) != STAGE_OK)
			return rc;
	}
	return STAGE_OK;
}

enum stage_result
enc_finish(struct enc *e)
{
	enum stage_result rc = STAGE_OK;
	int err;

	if (e->a.c != NULL && e->afill > 0)
		rc = enc_audio_frame(e);
	if (rc == STAGE_OK && e->a.c != NULL)
		rc = enc_send(e, &e->a, NULL);
	if (rc == STAGE_OK)
		rc = enc_send(e, &e->v, NULL);
	if (rc != STAGE_OK)
		return rc;
	err = av_write_trailer(e->oc);
	if (err < 0)
		return enc_err(e, STAGE_E_IO, err, "cannot finish the output");
	if ((err = avio_closep(&e->oc->pb)) < 0)
		return enc_err(e, STAGE_E_IO, err, "cannot close the output");
	return STAGE_OK;
}

void
enc_free(struct enc *e)
{
	if (e == NULL)
		return;
	if (e->oc != NULL && e->oc->pb != NULL)
		avio_closep(&e->oc->pb);
	avformat_free_context(e->oc);
	avcodec_free_context(&e->v.c);
	avcodec_free_context(&e->a.c);
	av_frame_free(&e->aframe);
	av_packet_free(&e->pkt);
	free(e);
}

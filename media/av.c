/*
 * libav helpers. Every libav failure a stage meets goes through avh_fail,
 * so causes read the same everywhere and exit codes follow one mapping:
 * corrupt or unsupported media is the job's fault (EX_DATAERR), a missing
 * file is EX_NOINPUT, memory is temporary, anything else is I/O.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/common.h>
#include <libavutil/cpu.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>

#include "av.h"

enum stage_result
avh_result(int averr)
{
	switch (averr) {
	case AVERROR(ENOENT):
		return STAGE_E_NOINPUT;
	case AVERROR(ENOMEM):
		return STAGE_E_TEMP;
	case AVERROR(EIO):
		return STAGE_E_IO;
	default:
		return STAGE_E_DATA;
	}
}

enum stage_result
avh_fail(struct stage_ctx *ctx, int averr, const char *fmt, ...)
{
	char what[256], text[AV_ERROR_MAX_STRING_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	av_strerror(averr, text, sizeof(text));
	snprintf(ctx->error, sizeof(ctx->error), "%s: %s", what, text);
	return avh_result(averr);
}

enum stage_result
avh_open_input(struct stage_ctx *ctx, const char *path, AVFormatContext **out)
{
	AVFormatContext *fmt = NULL;
	const char *base = strrchr(path, '/');
	int err;

	base = base != NULL ? base + 1 : path;
	err = avformat_open_input(&fmt, path, NULL, NULL);
	if (err < 0)
		return avh_fail(ctx, err, "cannot open %s", base);
	err = avformat_find_stream_info(fmt, NULL);
	if (err < 0) {
		avformat_close_input(&fmt);
		return avh_fail(ctx, err, "cannot read streams of %s", base);
	}
	*out = fmt;
	return STAGE_OK;
}

void
avh_losses_add(struct avh_losses *l, double t)
{
	double *r;
	int i;

	l->lost++;
	/* Packets come in decode order: a range may grow either way. */
	for (i = 0; i < l->nranges; i++) {
		r = l->range[i];
		if (t >= r[0] - AVH_LOST_MERGE_S &&
		    t <= r[1] + AVH_LOST_MERGE_S) {
			r[0] = fmin(r[0], t);
			r[1] = fmax(r[1], t);
			return;
		}
	}
	if (l->nranges == AVH_LOST_RANGES) {
		l->more = true;
		return;
	}
	l->range[l->nranges][0] = t;
	l->range[l->nranges][1] = t;
	l->nranges++;
}

/* The duration a packet stands for in the cadence. */
static int64_t
avh_cadence_step(const struct avh_losses *l, const AVPacket *pkt)
{
	return pkt->duration > 0 ? pkt->duration : l->min_step;
}

/* Packets missing just before one at dts, by the cadence. */
static int64_t
avh_cadence_missing(const struct avh_losses *l, int64_t dts, double tb)
{
	int64_t late = dts - l->expect_dts;

	if (l->step <= 0 || l->steady < AVH_CADENCE_STEADY ||
	    late < l->step - l->step / 10 || (double)late * tb > AVH_GAP_MAX_S)
		return 0;
	return (late + l->step / 2) / l->step;
}

/* Moves the cadence on to pkt, which has a decode timestamp. */
static void
avh_cadence_next(struct avh_losses *l, const AVPacket *pkt, int64_t missing)
{
	int64_t late = pkt->dts - l->expect_dts;
	int64_t gap = pkt->dts - l->last_dts;

	if (l->seen && gap > 0 && (l->min_step == 0 || gap < l->min_step))
		l->min_step = gap;
	if (l->seen && missing == 0 && l->step > 0 &&
	    llabs(late) <= l->step / 10)
		l->steady++;
	else
		l->steady = 0;
	l->step = avh_cadence_step(l, pkt);
	l->last_dts = pkt->dts;
	l->expect_dts = pkt->dts + l->step;
	l->seen = true;
}

void
avh_losses_packet(
    struct avh_losses *l, const AVFormatContext *fmt, const AVPacket *pkt)
{
	const AVStream *st = fmt->streams[pkt->stream_index];
	int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
	double tb = av_q2d(st->time_base);
	int64_t missing = 0, k;

	l->packets++;
	if ((fmt->iformat->flags & AVFMT_TS_DISCONT) == 0)
		return;
	if (pkt->dts == AV_NOPTS_VALUE) {
		/* A field without its own timestamp still takes time. */
		if (l->seen)
			l->expect_dts += avh_cadence_step(l, pkt);
		return;
	}
	if (l->seen)
		missing = avh_cadence_missing(l, pkt->dts, tb);
	for (k = 0; k < missing; k++)
		avh_losses_add(
		    l, fmax(0.0,
			   (double)(l->expect_dts + k * l->step - start) * tb));
	l->packets += missing;
	avh_cadence_next(l, pkt, missing);
}

json_t *
avh_losses_json(const struct avh_losses *l)
{
	json_t *ranges = json_array();
	int i;

	for (i = 0; ranges != NULL && i < l->nranges; i++)
		if (json_array_append_new(ranges,
			json_pack("[f, f]", l->range[i][0], l->range[i][1])) ==
		    -1) {
			json_decref(ranges);
			ranges = NULL;
		}
	return json_pack("{s:I, s:I, s:o*, s:b}", "packets",
	    (json_int_t)l->packets, "packets_lost", (json_int_t)l->lost,
	    "lost_ranges_s", ranges, "more_ranges", l->more);
}

bool
avh_losses_too_many(const struct avh_losses *l)
{
	return l->lost > AVH_LOST_MIN &&
	       (double)l->lost > AVH_LOST_SHARE * (double)l->packets;
}

void
avh_losses_where(const struct avh_losses *l, char *buf, size_t size)
{
	size_t len;
	int i;

	len = (size_t)snprintf(buf, size, "at");
	for (i = 0; i < l->nranges && len < size; i++) {
		if (l->range[i][1] - l->range[i][0] < 0.005)
			len += (size_t)snprintf(buf + len, size - len,
			    "%s %.2f s", i > 0 ? "," : "", l->range[i][0]);
		else
			len += (size_t)snprintf(buf + len, size - len,
			    "%s %.2f-%.2f s", i > 0 ? "," : "", l->range[i][0],
			    l->range[i][1]);
	}
	if (l->more && len < size)
		(void)snprintf(buf + len, size - len, ", ...");
}

int
avh_audio_stream(AVFormatContext *fmt)
{
	const AVCodec *dec = NULL;
	int video =
	    av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	int idx = av_find_best_stream(
	    fmt, AVMEDIA_TYPE_AUDIO, -1, video >= 0 ? video : -1, &dec, 0);

	return idx >= 0 && dec != NULL ? idx : -1;
}

/* FFmpeg caps its own automatic count at 16 too. */
#define AVH_MAX_DECODER_THREADS 16

/* 0 leaves the count to FFmpeg, which uses one thread on one core. */
static int
avh_decoder_threads(int busy_threads)
{
	int cores = av_cpu_count();

	if (busy_threads <= 0 || cores < 2)
		return 0;
	return FFMIN(cores + 1 + busy_threads, AVH_MAX_DECODER_THREADS);
}

enum stage_result
avh_open_decoder(struct stage_ctx *ctx, const AVFormatContext *fmt,
    int stream_index, int busy_threads, AVCodecContext **out)
{
	const AVStream *st = fmt->streams[stream_index];
	const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
	AVCodecContext *dec;
	int err;

	if (codec == NULL)
		return stage_fail(ctx, STAGE_E_DATA, "no decoder for codec %s",
		    avcodec_get_name(st->codecpar->codec_id));
	dec = avcodec_alloc_context3(codec);
	if (dec == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	err = avcodec_parameters_to_context(dec, st->codecpar);
	if (err >= 0) {
		dec->thread_count = avh_decoder_threads(busy_threads);
		dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
		dec->pkt_timebase = st->time_base;
		err = avcodec_open2(dec, codec, NULL);
	}
	if (err < 0) {
		avcodec_free_context(&dec);
		return avh_fail(
		    ctx, err, "cannot open %s decoder", codec->name);
	}
	*out = dec;
	return STAGE_OK;
}

struct avh_matrix
avh_frame_matrix(const AVFrame *f)
{
	struct avh_matrix m = {0.299, 0.114, SWS_CS_ITU601, "bt601", false};
	const struct avh_matrix bt709 = {
	    0.2126, 0.0722, SWS_CS_ITU709, "bt709", false};

	switch (f->colorspace) {
	case AVCOL_SPC_BT709:
		m = bt709;
		break;
	case AVCOL_SPC_FCC:
		m = (struct avh_matrix){0.30, 0.11, SWS_CS_FCC, "fcc", false};
		break;
	case AVCOL_SPC_SMPTE240M:
		m = (struct avh_matrix){
		    0.212, 0.087, SWS_CS_SMPTE240M, "smpte240m", false};
		break;
	case AVCOL_SPC_BT2020_NCL:
	case AVCOL_SPC_BT2020_CL:
		m = (struct avh_matrix){
		    0.2627, 0.0593, SWS_CS_BT2020, "bt2020", false};
		break;
	case AVCOL_SPC_BT470BG:
	case AVCOL_SPC_SMPTE170M:
		break;
	default:
		if (f->width >= 1280 || f->height > 576)
			m = bt709;
	}
	m.full = f->color_range == AVCOL_RANGE_JPEG ||
		 f->format == AV_PIX_FMT_YUVJ420P ||
		 f->format == AV_PIX_FMT_YUVJ422P ||
		 f->format == AV_PIX_FMT_YUVJ444P ||
		 f->format == AV_PIX_FMT_YUVJ440P ||
		 f->format == AV_PIX_FMT_YUVJ411P;
	return m;
}

int
avh_rotation(const AVStream *st)
{
	const uint8_t *sd;
	size_t size = 0;
	double theta;

	sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
	if (sd == NULL || size < 9 * sizeof(int32_t))
		return 0;
	theta = -av_display_rotation_get((const int32_t *)sd);
	if (isnan(theta))
		return 0;
	theta = fmod(round(theta / 90.0) * 90.0, 360.0);
	return (int)(theta < 0.0 ? theta + 360.0 : theta);
}

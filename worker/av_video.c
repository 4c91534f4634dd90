/*
 * Streaming video decode into analysis proxies (see av_video.h).
 *
 * One SwsContext scales each decoded frame to the proxy size in coded
 * orientation with the frame's own matrix and range (media-algorithms.md
 * 1.1: a wrong matrix silently shifts every colour statistic); a plain
 * copy then turns it upright. The scaler is rebuilt only when a frame's
 * size, format, matrix or range changes.
 *
 * Damage policy, checked when the stream ends: a file fails as STAGE_E_DATA
 * when more than AVV_BAD_MIN packets or frames, and more than AVV_BAD_SHARE
 * of the packets, failed to read or decode or came out flagged corrupt; or
 * when the last frame ends more than max(2 frames, AVV_SHORT_SHARE of the
 * duration) before the declared duration of the stream. A run of
 * AVV_READ_ERRORS_MAX read errors in a row fails at once.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "av.h"
#include "av_video.h"

#define AVV_BAD_MIN 2
#define AVV_BAD_SHARE 0.01
#define AVV_SHORT_SHARE 0.02
#define AVV_READ_ERRORS_MAX 32
/* Frame interval assumed when the container declares no rate. */
#define AVV_DEFAULT_STEP (1.0 / 25.0)
#define AVV_SWS_FLAGS (SWS_AREA | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)

struct avv {
	struct stage_ctx *ctx;
	const char *name; /* the file's base name, for messages */
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
	struct SwsContext *sws;
	int stream;
	double tb;
	struct avv_info info;
	/* The proxy, and its coded-orientation version when rotated. */
	uint8_t *out[4];
	int out_ls[4];
	uint8_t *tmp[4];
	int tmp_ls[4];
	int cw, ch;
	/* What the scaler was built for. */
	int src_w, src_h, src_fmt, src_cs, src_full;
	int64_t first_pts;
	double last_t, step;
	int64_t frames, packets, bad;
	int read_errors;
	bool flushed;
	bool ended; /* the stream ended soundly */
	enum stage_result err;
};

static int avv_fail(struct avv *v, enum stage_result code, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));
static int avv_fail_av(struct avv *v, int averr, const char *what);
static bool avv_format_ok(enum AVPixelFormat f);
static double avv_tag_duration(const AVStream *st);
static void avv_read_duration(struct avv *v, const AVStream *st);
static void avv_read_info(struct avv *v, AVStream *st);
static int avv_even(double x);
static enum stage_result avv_setup_proxy(
    struct avv *v, int size, enum AVPixelFormat pix_fmt);
static enum stage_result avv_pick_stream(struct avv *v);
static int avv_matrix(const AVFrame *f);
static const char *avv_matrix_name(int cs);
static bool avv_full_range(const AVFrame *f);
static int avv_sws_update(struct avv *v, const AVFrame *f);
static void avv_rotate_plane(const uint8_t *src, int sls, int cw, int ch,
    uint8_t *dst, int dls, int bpp, int rotation);
static int avv_convert(struct avv *v, const AVFrame *f);
static double avv_time(struct avv *v, const AVFrame *f);
static int avv_emit(struct avv *v, struct avv_frame *out);
static int avv_send(struct avv *v, const AVPacket *pkt);
static int avv_feed(struct avv *v);
static int avv_end(struct avv *v);

static int
avv_fail(struct avv *v, enum stage_result code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->ctx->error, sizeof(v->ctx->error), fmt, ap);
	va_end(ap);
	v->err = code;
	return -1;
}

static int
avv_fail_av(struct avv *v, int averr, const char *what)
{
	v->err = avh_fail(v->ctx, averr, "%s: %s", v->name, what);
	return -1;
}

/* Rotation by copying needs whole pixels in every plane. */
static bool
avv_format_ok(enum AVPixelFormat f)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f);
	const uint64_t bad = AV_PIX_FMT_FLAG_BITSTREAM |
			     AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_PAL;

	return d != NULL && d->log2_chroma_w == 0 && d->log2_chroma_h == 0 &&
	       (d->flags & bad) == 0 && sws_isSupportedOutput(f) > 0;
}

/* Matroska keeps a stream's duration only as a "DURATION" tag. */
static double
avv_tag_duration(const AVStream *st)
{
	const AVDictionaryEntry *e;
	double s;
	int h, m;

	e = av_dict_get(st->metadata, "DURATION", NULL, 0);
	if (e == NULL || sscanf(e->value, "%d:%d:%lf", &h, &m, &s) != 3)
		return 0.0;
	return h * 3600.0 + m * 60.0 + s;
}

/*
 * Only durations that belong to this stream are trusted: the container's
 * covers every stream (a longer audio track would look like truncated
 * video), and a bitrate estimate is a guess.
 */
static void
avv_read_duration(struct avv *v, const AVStream *st)
{
	const AVFormatContext *fmt = v->fmt;

	if (fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
		return;
	if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
		v->info.duration_s = st->duration * v->tb;
		return;
	}
	v->info.duration_s = avv_tag_duration(st);
	if (v->info.duration_s <= 0.0 && fmt->nb_streams == 1 &&
	    fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
		v->info.duration_s = fmt->duration / (double)AV_TIME_BASE;
}

static void
avv_read_info(struct avv *v, AVStream *st)
{
	struct avv_info *in = &v->info;
	AVRational r = st->avg_frame_rate;

	in->width = st->codecpar->width;
	in->height = st->codecpar->height;
	in->sar = av_guess_sample_aspect_ratio(v->fmt, st, NULL);
	if (in->sar.num <= 0 || in->sar.den <= 0)
		in->sar = (AVRational){1, 1};
	in->rotation = avh_rotation(st);
	in->display_width = (int)lrint(in->width * av_q2d(in->sar));
	in->display_height = in->height;
	if (in->rotation == 90 || in->rotation == 270) {
		in->display_width = in->height;
		in->display_height = (int)lrint(in->width * av_q2d(in->sar));
	}
	if (r.num <= 0 || r.den <= 0)
		r = st->r_frame_rate;
	in->fps_declared = r.num > 0 && r.den > 0 ? av_q2d(r) : 0.0;
	in->frames_declared = st->nb_frames > 0 ? st->nb_frames : 0;
	in->codec = avcodec_get_name(st->codecpar->codec_id);
	in->format = v->fmt->iformat->name;
	in->bit_rate = st->codecpar->bit_rate > 0 ? st->codecpar->bit_rate
						  : v->fmt->bit_rate;
	in->matrix = "unknown";
	in->range = "unknown";
	avv_read_duration(v, st);
	v->step = in->fps_declared > 0.0 && in->fps_declared < 1000.0
		      ? 1.0 / in->fps_declared
		      : AVV_DEFAULT_STEP;
}

static int
avv_even(double x)
{
	int e = 2 * (int)lrint(x / 2.0);

	return e < 2 ? 2 : e;
}

static enum stage_result
avv_setup_proxy(struct avv *v, int size, enum AVPixelFormat pix_fmt)
{
	struct avv_info *in = &v->info;
	int dw = in->display_width, dh = in->display_height;
	int side = dw > dh ? dw : dh;

	if (dw < 1 || dh < 1)
		return stage_fail(v->ctx, STAGE_E_DATA,
		    "%s: video has no frame size", v->name);
	side = avv_even(size < side ? size : side);
	in->proxy_width = dw >= dh ? side : avv_even((double)side * dw / dh);
	in->proxy_height = dw >= dh ? avv_even((double)side * dh / dw) : side;
	in->proxy_format = pix_fmt;
	v->cw = in->proxy_width;
	v->ch = in->proxy_height;
	if (in->rotation == 90 || in->rotation == 270) {
		v->cw = in->proxy_height;
		v->ch = in->proxy_width;
	}
	if (av_image_alloc(v->out, v->out_ls, in->proxy_width, in->proxy_height,
		pix_fmt, 32) < 0 ||
	    (in->rotation != 0 && av_image_alloc(v->tmp, v->tmp_ls, v->cw,
				      v->ch, pix_fmt, 32) < 0))
		return stage_fail(v->ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

static enum stage_result
avv_pick_stream(struct avv *v)
{
	unsigned i;
	int idx;

	idx = av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (idx < 0)
		return stage_fail(
		    v->ctx, STAGE_E_DATA, "%s has no video stream", v->name);
	v->stream = idx;
	for (i = 0; i < v->fmt->nb_streams; i++) {
		if ((int)i != idx)
			v->fmt->streams[i]->discard = AVDISCARD_ALL;
	}
	v->tb = av_q2d(v->fmt->streams[idx]->time_base);
	avv_read_info(v, v->fmt->streams[idx]);
	return STAGE_OK;
}

enum stage_result
avv_open(struct stage_ctx *ctx, const char *path, int proxy_size,
    enum AVPixelFormat pix_fmt, struct avv **out)
{
	struct avv *v;
	enum stage_result rc;
	const char *base = strrchr(path, '/');

	*out = NULL;
	if (!avv_format_ok(pix_fmt) || proxy_size < 2)
		return stage_fail(ctx, STAGE_E_SOFTWARE,
		    "cannot make %d px proxies in %s", proxy_size,
		    av_get_pix_fmt_name(pix_fmt));
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	v->ctx = ctx;
	v->name = base != NULL ? base + 1 : path;
	v->first_pts = AV_NOPTS_VALUE;
	rc = avh_open_input(ctx, path, &v->fmt);
	if (rc == STAGE_OK)
		rc = avv_pick_stream(v);
	if (rc == STAGE_OK)
		rc = avh_open_decoder(ctx, v->fmt, v->stream, &v->dec);
	if (rc == STAGE_OK)
		rc = avv_setup_proxy(v, proxy_size, pix_fmt);
	if (rc == STAGE_OK && ((v->pkt = av_packet_alloc()) == NULL ||
				  (v->frame = av_frame_alloc()) == NULL))
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	if (rc != STAGE_OK) {
		avv_close(v);
		return rc;
	}
	*out = v;
	return STAGE_OK;
}

const struct avv_info *
avv_info(const struct avv *v)
{
	return &v->info;
}

enum stage_result
avv_error(const struct avv *v)
{
	return v->err;
}

static int
avv_matrix(const AVFrame *f)
{
	switch (f->colorspace) {
	case AVCOL_SPC_BT709:
		return SWS_CS_ITU709;
	case AVCOL_SPC_FCC:
		return SWS_CS_FCC;
	case AVCOL_SPC_SMPTE240M:
		return SWS_CS_SMPTE240M;
	case AVCOL_SPC_BT2020_NCL:
	case AVCOL_SPC_BT2020_CL:
		return SWS_CS_BT2020;
	case AVCOL_SPC_BT470BG:
	case AVCOL_SPC_SMPTE170M:
		return SWS_CS_ITU601;
	default:
		/* Untagged: HD is BT.709 by convention, SD BT.601. */
		return f->width >= 1280 || f->height > 576 ? SWS_CS_ITU709
							   : SWS_CS_ITU601;
	}
}

static const char *
avv_matrix_name(int cs)
{
	switch (cs) {
	case SWS_CS_ITU709:
		return "bt709";
	case SWS_CS_FCC:
		return "fcc";
	case SWS_CS_SMPTE240M:
		return "smpte240m";
	case SWS_CS_BT2020:
		return "bt2020";
	default:
		return "bt601";
	}
}

static bool
avv_full_range(const AVFrame *f)
{
	switch (f->format) {
	case AV_PIX_FMT_YUVJ420P:
	case AV_PIX_FMT_YUVJ422P:
	case AV_PIX_FMT_YUVJ444P:
	case AV_PIX_FMT_YUVJ440P:
	case AV_PIX_FMT_YUVJ411P:
		return true;
	default:
		return f->color_range == AVCOL_RANGE_JPEG;
	}
}

static int
avv_sws_update(struct avv *v, const AVFrame *f)
{
	int cs = avv_matrix(f), full = avv_full_range(f);
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
	const int *coef;

	if (v->sws != NULL && f->width == v->src_w && f->height == v->src_h &&
	    f->format == v->src_fmt && cs == v->src_cs && full == v->src_full)
		return 0;
	v->sws =
	    sws_getCachedContext(v->sws, f->width, f->height, f->format, v->cw,
		v->ch, v->info.proxy_format, AVV_SWS_FLAGS, NULL, NULL, NULL);
	if (v->sws == NULL)
		return avv_fail(v, STAGE_E_DATA, "%s: cannot convert %s frames",
		    v->name, av_get_pix_fmt_name(f->format));
	coef = sws_getCoefficients(cs);
	/* swscale ignores the matrix for RGB input, and so do we. */
	(void)sws_setColorspaceDetails(
	    v->sws, coef, full, coef, 1, 0, 1 << 16, 1 << 16);
	v->src_w = f->width;
	v->src_h = f->height;
	v->src_fmt = f->format;
	v->src_cs = cs;
	v->src_full = full;
	v->info.matrix = d != NULL && (d->flags & AV_PIX_FMT_FLAG_RGB)
			     ? "rgb"
			     : avv_matrix_name(cs);
	v->info.range = full ? "full" : "limited";
	return 0;
}

/*
 * Turns a plane of cw x ch pixels of bpp bytes by rotation degrees
 * clockwise: each output pixel (x, y) reads base + x * sx + y * sy.
 */
static void
avv_rotate_plane(const uint8_t *src, int sls, int cw, int ch, uint8_t *dst,
    int dls, int bpp, int rotation)
{
	ptrdiff_t base, sx, sy;
	int w = rotation == 180 ? cw : ch, h = rotation == 180 ? ch : cw;
	int x, y;

	if (rotation == 90) {
		base = (ptrdiff_t)(ch - 1) * sls;
		sx = -sls;
		sy = bpp;
	} else if (rotation == 180) {
		base = (ptrdiff_t)(ch - 1) * sls + (ptrdiff_t)(cw - 1) * bpp;
		sx = -bpp;
		sy = -sls;
	} else {
		base = (ptrdiff_t)(cw - 1) * bpp;
		sx = sls;
		sy = -bpp;
	}
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++)
			memcpy(dst + (ptrdiff_t)y * dls + (ptrdiff_t)x * bpp,
			    src + base + x * sx + y * sy, (size_t)bpp);
	}
}

static int
avv_convert(struct avv *v, const AVFrame *f)
{
	enum AVPixelFormat pf = v->info.proxy_format;
	bool turn = v->info.rotation != 0;
	int p, planes = av_pix_fmt_count_planes(pf);

	if (avv_sws_update(v, f) < 0)
		return -1;
	if (sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0,
		f->height, turn ? v->tmp : v->out,
		turn ? v->tmp_ls : v->out_ls) < 0)
		return avv_fail(
		    v, STAGE_E_DATA, "%s: cannot scale a frame", v->name);
	for (p = 0; turn && p < planes; p++)
		avv_rotate_plane(v->tmp[p], v->tmp_ls[p], v->cw, v->ch,
		    v->out[p], v->out_ls[p], av_image_get_linesize(pf, 1, p),
		    v->info.rotation);
	return 0;
}

/*
 * Seconds since the first frame. A missing timestamp continues from the
 * last one, and one that does not move forward is pushed one interval on,
 * so consumers can rely on strictly increasing times.
 */
static double
avv_time(struct avv *v, const AVFrame *f)
{
	int64_t ts = f->best_effort_timestamp;
	const AVStream *st = v->fmt->streams[v->stream];
	double t;

	if (ts != AV_NOPTS_VALUE && v->first_pts == AV_NOPTS_VALUE) {
		v->first_pts = ts;
		v->info.start_s = st->start_time != AV_NOPTS_VALUE
				      ? (ts - st->start_time) * v->tb
				      : ts * v->tb;
	}
	if (ts == AV_NOPTS_VALUE)
		t = v->frames == 0 ? 0.0 : v->last_t + v->step;
	else
		t = (ts - v->first_pts) * v->tb;
	if (v->frames > 0 && t <= v->last_t)
		t = v->last_t + v->step;
	else if (v->frames > 0 && ts != AV_NOPTS_VALUE)
		v->step = t - v->last_t;
	v->last_t = t;
	return t;
}

static int
avv_emit(struct avv *v, struct avv_frame *out)
{
	const struct avv_info *in = &v->info;
	int rc, p;

	if (v->frame->decode_error_flags != 0 ||
	    (v->frame->flags & AV_FRAME_FLAG_CORRUPT) != 0)
		v->bad++;
	out->t = avv_time(v, v->frame);
	rc = avv_convert(v, v->frame);
	av_frame_unref(v->frame);
	if (rc < 0)
		return -1;
	for (p = 0; p < 4; p++) {
		out->data[p] = v->out[p];
		out->linesize[p] = v->out_ls[p];
	}
	out->width = in->proxy_width;
	out->height = in->proxy_height;
	out->format = in->proxy_format;
	out->index = v->frames++;
	return 1;
}

static int
avv_send(struct avv *v, const AVPacket *pkt)
{
	int err;

	if (pkt == NULL) {
		/* Flushed, yet the decoder asks for more: it is stuck. */
		if (v->flushed)
			return avv_fail(v, STAGE_E_SOFTWARE,
			    "%s: decoder wants input after the end", v->name);
		v->flushed = true;
	} else
		v->packets++;
	err = avcodec_send_packet(v->dec, pkt);
	if (err == AVERROR_INVALIDDATA) {
		v->bad++;
		return 0;
	}
	if (err < 0 && err != AVERROR_EOF)
		return avv_fail_av(v, err, "cannot decode video");
	return 0;
}

static int
avv_feed(struct avv *v)
{
	int err;

	for (;;) {
		err = av_read_frame(v->fmt, v->pkt);
		if (err == AVERROR_EOF)
			return avv_send(v, NULL);
		if (err < 0) {
			v->bad++;
			if (++v->read_errors >= AVV_READ_ERRORS_MAX)
				return avv_fail_av(v, err, "cannot read video");
			continue;
		}
		v->read_errors = 0;
		if (v->pkt->stream_index == v->stream)
			break;
		av_packet_unref(v->pkt);
	}
	if ((v->pkt->flags & AV_PKT_FLAG_CORRUPT) != 0)
		v->bad++;
	err = avv_send(v, v->pkt);
	av_packet_unref(v->pkt);
	return err;
}

/* End of stream: sound, or damaged past the thresholds. */
static int
avv_end(struct avv *v)
{
	const struct avv_info *in = &v->info;
	double covered, slack;

	if (v->frames == 0)
		return avv_fail(v, STAGE_E_DATA,
		    "%s: no video frame could be decoded", v->name);
	if (v->bad > AVV_BAD_MIN && v->bad > AVV_BAD_SHARE * v->packets)
		return avv_fail(v, STAGE_E_DATA,
		    "%s is damaged: %lld of %lld video packets failed to "
		    "decode",
		    v->name, (long long)v->bad, (long long)v->packets);
	covered = in->start_s + v->last_t + v->step;
	slack = fmax(2.0 * v->step, AVV_SHORT_SHARE * in->duration_s);
	if (in->duration_s > 0.0 && in->duration_s - covered > slack)
		return avv_fail(v, STAGE_E_DATA,
		    "%s is truncated or damaged: its video ends at %.2f s of "
		    "%.2f s",
		    v->name, covered, in->duration_s);
	v->ended = true;
	return 0;
}

int
avv_next(struct avv *v, struct avv_frame *out)
{
	int err;

	if (v->err != STAGE_OK)
		return -1;
	for (;;) {
		err = avcodec_receive_frame(v->dec, v->frame);
		if (err == 0)
			return avv_emit(v, out);
		if (err == AVERROR_EOF)
			return avv_end(v);
		if (err == AVERROR_INVALIDDATA) {
			v->bad++;
			continue;
		}
		if (err != AVERROR(EAGAIN))
			return avv_fail_av(v, err, "cannot decode video");
		if (avv_feed(v) < 0)
			return -1;
	}
}

double
avv_progress(const struct avv *v)
{
	int64_t pos, size;
	double f;

	if (v->ended)
		return 1.0;
	if (v->frames == 0)
		return 0.0;
	if (v->info.duration_s > 0.0) {
		/* The last frame is done to its end. */
		f = (v->info.start_s + v->last_t + v->step) /
		    v->info.duration_s;
		return f < 0.0 ? 0.0 : f > 1.0 ? 1.0 : f;
	}
	if (v->fmt->pb == NULL)
		return 0.0;
	size = avio_size(v->fmt->pb);
	pos = avio_tell(v->fmt->pb);
	if (size <= 0 || pos <= 0)
		return 0.0;
	return pos >= size ? 1.0 : (double)pos / (double)size;
}

void
avv_close(struct avv *v)
{
	if (v == NULL)
		return;
	sws_freeContext(v->sws);
	av_freep(&v->out[0]);
	av_freep(&v->tmp[0]);
	av_frame_free(&v->frame);
	av_packet_free(&v->pkt);
	avcodec_free_context(&v->dec);
	avformat_close_input(&v->fmt);
	free(v);
}

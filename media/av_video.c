/*
 * Streaming video decode into analysis proxies (see av_video.h).
 *
 * The direct path (avv_direct()): when proxy 0 is planar RGB and every
 * other proxy is gray of its size, swscale scales each YUV frame once,
 * straight to proxy 0 with the frame's matrix and range, and a gray proxy
 * is the luma of those values under the same matrix. Otherwise:
 *
 * Each decoded frame is scaled once, in coded orientation, to a 4:4:4
 * base picture the size of the largest proxy, keeping the frame's own
 * family (YUV, RGB or gray) and range: that one big reduction is the only
 * pass over the full-size frame, and it stays on swscale's fast paths
 * (a range conversion or RGB output at full size would leave them). Each
 * proxy is then made from the small base with the frame's matrix and
 * range (media-algorithms.md 1.1: a wrong matrix silently shifts every
 * colour statistic), a gray proxy of the base's size straight from its
 * luma through a range table; a plain copy turns it upright. Packed RGB
 * proxies are made planar and interleaved after: swscale's packed RGB
 * output with full chroma is several times slower than the two steps.
 * The scalers are rebuilt only when a frame's size, format, matrix or
 * range changes.
 *
 * Damage policy, checked when the stream ends: packets that fail to read
 * or decode, and frames the decoder flags as damaged, are skipped and
 * counted (avh_losses: the file fails when too many are lost); the
 * demuxer's own corrupt flag is not a loss, because the decoder may still
 * decode the packet whole (MPEG-TS marks PES length mismatches so). A file
 * also fails when the last frame ends more than max(2 frames, AVV_SHORT_SHARE
 * of the duration) before the declared duration of the stream. A run of
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
#include "shrink.h"

#define AVV_SHORT_SHARE 0.02
#define AVV_READ_ERRORS_MAX 32
/* Frame interval assumed when the container declares no rate. */
#define AVV_DEFAULT_STEP (1.0 / 25.0)
#define AVV_BASE_FLAGS (SWS_AREA | SWS_ACCURATE_RND)
#define AVV_SWS_FLAGS (SWS_AREA | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT)
/*
 * The caller's scaling keeps a core busy beside the decoder. On the 2-core
 * bench VM video_analysis of a 1080p template took 2.08-2.18 s with
 * FFmpeg's 3 threads, 1.98-2.01 s with 4, 2.01 s with 5, 2.06 s with 6.
 */
#define AVV_BUSY_THREADS 1

/* One proxy, and its coded-orientation version when rotated. */
struct avv_proxy {
	enum AVPixelFormat fmt;
	int w, h;		/* upright */
	int cw, ch;		/* coded orientation */
	struct SwsContext *sws; /* from the base; NULL: luma via the table */
	/* For RGB24: what swscale makes, planar, before interleaving. */
	uint8_t *gbr[4];
	int gbr_ls[4];
	uint8_t *out[4];
	int out_ls[4];
	uint8_t *tmp[4];
	int tmp_ls[4];
};

struct avv {
	struct stage_ctx *ctx;
	const char *name; /* the file's base name, for messages */
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
	struct SwsContext *sws; /* frame to base */
	int stream;
	double tb;
	struct avv_info info;
	struct avv_proxy px[AVV_PROXIES_MAX];
	int nproxies;
	/* The base picture: coded orientation, 4:4:4, the frame's range. */
	enum AVPixelFormat base_fmt;
	int bw, bh;
	uint8_t *base[4];
	int base_ls[4];
	uint8_t luma_full[256]; /* base luma to full range */
	/* What the scalers were built for. */
	int src_w, src_h, src_fmt, src_cs, src_full;
	/* The direct path (avv_direct()), and its luma weights. */
	bool direct;
	uint32_t wr, wg, wb;
	/* The direct path by shrink.h instead of swscale (avv_shrinkable()). */
	bool shrink;
	struct shrink_plane shrink_luma, shrink_chroma;
	struct shrink_matrix shrink_matrix;
	uint8_t *small[4]; /* the frame's Y, Cb and Cr at proxy 0's size */
	int small_ls[4];
	int64_t first_pts;
	double last_t, step;
	int64_t frames;
	struct avh_losses losses;
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
static bool avv_table_luma(const struct avv *v, const struct avv_proxy *p);
static enum stage_result avv_pick_stream(struct avv *v);
static enum AVPixelFormat avv_base_format(enum AVPixelFormat src);
static int avv_base_alloc(struct avv *v, enum AVPixelFormat fmt);
static void avv_luma_table(struct avv *v, bool full);
static int avv_proxy_sws(struct avv *v, struct avv_proxy *p, int cs, int full);
static bool avv_direct(const struct avv *v, const AVFrame *f);
static bool avv_shrinkable(const struct avv *v, const AVFrame *f);
static void avv_shrink_free(struct avv *v);
static int avv_shrink_setup(
    struct avv *v, const AVFrame *f, const struct avh_matrix *m);
static int avv_direct_setup(
    struct avv *v, const AVFrame *f, const struct avh_matrix *m);
static int avv_base_sws(
    struct avv *v, const AVFrame *f, const struct avh_matrix *m);
static int avv_sws_update(struct avv *v, const AVFrame *f);
static void avv_luma_copy(const struct avv *v, uint8_t *dst, int dls);
static void avv_rotate_plane(const uint8_t *src, int sls, int cw, int ch,
    uint8_t *dst, int dls, int bpp, int rotation);
static void avv_interleave(const struct avv_proxy *p, uint8_t *dst, int dls);
static int avv_scale(struct avv *v, struct SwsContext *sws,
    uint8_t *const src[], const int sls[], int h, uint8_t *const dst[],
    const int dls[]);
static void avv_turn(const struct avv *v, struct avv_proxy *p);
static void avv_luma_of_rgb(const struct avv *v, uint8_t *const rgb[4],
    const int ls[4], uint8_t *dst, int dls);
static void avv_shrink(
    struct avv *v, const AVFrame *f, uint8_t *const rgb[4], const int ls[4]);
static int avv_convert_direct(struct avv *v, const AVFrame *f, bool turn);
static int avv_make_proxy(struct avv *v, struct avv_proxy *p, bool turn);
static int avv_convert(struct avv *v, const AVFrame *f);
static double avv_time(struct avv *v, const AVFrame *f);
static void avv_lost(struct avv *v, const AVPacket *pkt);
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
 * video), and a bitrate estimate is a guess. A streaming container's is
 * read off the last timestamps of a capture that may stop anywhere, even
 * inside a frame: it tells no truncation.
 */
static void
avv_read_duration(struct avv *v, const AVStream *st)
{
	const AVFormatContext *fmt = v->fmt;

	if (fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
		return;
	v->info.duration_estimated =
	    (fmt->iformat->flags & AVFMT_TS_DISCONT) != 0 &&
	    fmt->duration_estimation_method == AVFMT_DURATION_FROM_PTS;
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

/* Proxy number v->nproxies: its size, buffers and place in the info. */
static enum stage_result
avv_setup_proxy(struct avv *v, int size, enum AVPixelFormat pix_fmt)
{
	struct avv_info *in = &v->info;
	struct avv_proxy *p = &v->px[v->nproxies];
	int dw = in->display_width, dh = in->display_height;
	int side = dw > dh ? dw : dh;

	if (dw < 1 || dh < 1)
		return stage_fail(v->ctx, STAGE_E_DATA,
		    "%s: video has no frame size", v->name);
	side = avv_even(size < side ? size : side);
	p->fmt = pix_fmt;
	p->w = dw >= dh ? side : avv_even((double)side * dw / dh);
	p->h = dw >= dh ? avv_even((double)side * dh / dw) : side;
	p->cw = in->rotation == 90 || in->rotation == 270 ? p->h : p->w;
	p->ch = in->rotation == 90 || in->rotation == 270 ? p->w : p->h;
	if (av_image_alloc(p->out, p->out_ls, p->w, p->h, pix_fmt, 32) < 0 ||
	    (pix_fmt == AV_PIX_FMT_RGB24 &&
		av_image_alloc(p->gbr, p->gbr_ls, p->cw, p->ch, AV_PIX_FMT_GBRP,
		    32) < 0) ||
	    (in->rotation != 0 && av_image_alloc(p->tmp, p->tmp_ls, p->cw,
				      p->ch, pix_fmt, 32) < 0))
		return stage_fail(v->ctx, STAGE_E_TEMP, "out of memory");
	if (v->nproxies++ == 0) {
		in->proxy_width = p->w;
		in->proxy_height = p->h;
		in->proxy_format = pix_fmt;
	}
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
		rc = avh_open_decoder(
		    ctx, v->fmt, v->stream, AVV_BUSY_THREADS, &v->dec);
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

int
avv_add_proxy(struct avv *v, int proxy_size, enum AVPixelFormat pix_fmt,
    int *width, int *height)
{
	if (v->nproxies == AVV_PROXIES_MAX || v->sws != NULL ||
	    !avv_format_ok(pix_fmt) || proxy_size < 2) {
		(void)stage_fail(v->ctx, STAGE_E_SOFTWARE,
		    "cannot add a %d px proxy in %s", proxy_size,
		    av_get_pix_fmt_name(pix_fmt));
		return -1;
	}
	if (avv_setup_proxy(v, proxy_size, pix_fmt) != STAGE_OK)
		return -1;
	*width = v->px[v->nproxies - 1].w;
	*height = v->px[v->nproxies - 1].h;
	return v->nproxies - 1;
}

const struct avv_info *
avv_info(const struct avv *v)
{
	return &v->info;
}

const struct avh_losses *
avv_losses(const struct avv *v)
{
	return &v->losses;
}

enum stage_result
avv_error(const struct avv *v)
{
	return v->err;
}

/*
 * The base keeps the frame's family so the big reduction needs no matrix:
 * 4:4:4 YUV for YUV, planar RGB for RGB, palette and Bayer, gray for gray.
 */
static enum AVPixelFormat
avv_base_format(enum AVPixelFormat src)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(src);
	const uint64_t rgb =
	    AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BAYER;

	if (d != NULL && (d->flags & rgb) != 0)
		return AV_PIX_FMT_GBRP;
	if (d != NULL && d->nb_components <= 2)
		return AV_PIX_FMT_GRAY8;
	return AV_PIX_FMT_YUV444P;
}

/* The base is as large as the largest proxy. */
static int
avv_base_alloc(struct avv *v, enum AVPixelFormat fmt)
{
	int i, bw = 0, bh = 0;

	for (i = 0; i < v->nproxies; i++) {
		if (v->px[i].cw * v->px[i].ch > bw * bh) {
			bw = v->px[i].cw;
			bh = v->px[i].ch;
		}
	}
	if (v->base[0] != NULL && fmt == v->base_fmt)
		return 0;
	av_freep(&v->base[0]);
	v->base_fmt = fmt;
	v->bw = bw;
	v->bh = bh;
	if (av_image_alloc(v->base, v->base_ls, bw, bh, fmt, 32) < 0)
		return avv_fail(v, STAGE_E_TEMP, "out of memory");
	return 0;
}

static void
avv_luma_table(struct avv *v, bool full)
{
	long y;
	int i;

	for (i = 0; i < 256; i++) {
		y = full ? i : lrint((i - 16) * 255.0 / 219.0);
		v->luma_full[i] = (uint8_t)(y < 0 ? 0 : y > 255 ? 255 : y);
	}
}

/* A gray proxy of the base's size is its luma, range-expanded. */
static bool
avv_table_luma(const struct avv *v, const struct avv_proxy *p)
{
	return p->fmt == AV_PIX_FMT_GRAY8 && p->cw == v->bw && p->ch == v->bh &&
	       (v->base_fmt == AV_PIX_FMT_YUV444P ||
		   v->base_fmt == AV_PIX_FMT_GRAY8);
}

static int
avv_proxy_sws(struct avv *v, struct avv_proxy *p, int cs, int full)
{
	const int *coef = sws_getCoefficients(cs);

	if (avv_table_luma(v, p)) {
		sws_freeContext(p->sws);
		p->sws = NULL;
		return 0;
	}
	p->sws = sws_getCachedContext(p->sws, v->bw, v->bh, v->base_fmt, p->cw,
	    p->ch, p->gbr[0] != NULL ? AV_PIX_FMT_GBRP : p->fmt, AVV_SWS_FLAGS,
	    NULL, NULL, NULL);
	if (p->sws == NULL)
		return avv_fail(v, STAGE_E_DATA, "%s: cannot make %s proxies",
		    v->name, av_get_pix_fmt_name(p->fmt));
	/* swscale ignores the matrix for RGB input, and so do we. */
	(void)sws_setColorspaceDetails(
	    p->sws, coef, full, coef, 1, 0, 1 << 16, 1 << 16);
	return 0;
}

/*
 * The direct path: proxy 0 straight from the frame, when it is planar RGB
 * and every other proxy is gray of its size (video_analysis's pair).
 * swscale's planar RGB output at the small size is its cheapest path from
 * YUV, cheaper than the base and a conversion after it, and a gray proxy
 * is then the luma of those values under the frame's own matrix.
 */
static bool
avv_direct(const struct avv *v, const AVFrame *f)
{
	const struct avv_proxy *p0 = &v->px[0];
	int i;

	if (p0->fmt != AV_PIX_FMT_GBRP ||
	    avv_base_format(f->format) != AV_PIX_FMT_YUV444P)
		return false;
	for (i = 1; i < v->nproxies; i++) {
		if (v->px[i].fmt != AV_PIX_FMT_GRAY8 || v->px[i].cw != p0->cw ||
		    v->px[i].ch != p0->ch)
			return false;
	}
	return true;
}

/*
 * Whether the direct path can skip swscale: 8-bit planar YUV, one
 * component per plane, every plane shrinking to proxy 0's size.
 */
static bool
avv_shrinkable(const struct avv *v, const AVFrame *f)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
	int i;

	if (d == NULL || d->nb_components < 3 ||
	    (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_BE)) != 0)
		return false;
	for (i = 0; i < 3; i++) {
		if (d->comp[i].plane != i || d->comp[i].step != 1 ||
		    d->comp[i].depth != 8 || d->comp[i].shift != 0 ||
		    d->comp[i].offset != 0)
			return false;
	}
	return shrink_possible(f->width, f->height, v->px[0].cw, v->px[0].ch) &&
	       shrink_possible(AV_CEIL_RSHIFT(f->width, d->log2_chroma_w),
		   AV_CEIL_RSHIFT(f->height, d->log2_chroma_h), v->px[0].cw,
		   v->px[0].ch);
}

static void
avv_shrink_free(struct avv *v)
{
	shrink_plane_free(&v->shrink_luma);
	shrink_plane_free(&v->shrink_chroma);
	av_freep(&v->small[0]);
	v->shrink = false;
}

static int
avv_shrink_setup(struct avv *v, const AVFrame *f, const struct avh_matrix *m)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
	int dw = v->px[0].cw, dh = v->px[0].ch;

	avv_shrink_free(v);
	if (shrink_plane_init(&v->shrink_luma, f->width, f->height, dw, dh) <
		0 ||
	    shrink_plane_init(&v->shrink_chroma,
		AV_CEIL_RSHIFT(f->width, d->log2_chroma_w),
		AV_CEIL_RSHIFT(f->height, d->log2_chroma_h), dw, dh) < 0 ||
	    av_image_alloc(
		v->small, v->small_ls, dw, dh, AV_PIX_FMT_YUV444P, 32) < 0) {
		avv_shrink_free(v);
		return avv_fail(v, STAGE_E_TEMP, "out of memory");
	}
	shrink_matrix_init(&v->shrink_matrix, m->kr, m->kb, m->full);
	sws_freeContext(v->sws);
	v->sws = NULL;
	v->shrink = true;
	return 0;
}

static int
avv_direct_setup(struct avv *v, const AVFrame *f, const struct avh_matrix *m)
{
	const int *coef = sws_getCoefficients(m->sws_cs);

	/* Luma weights in 1/32768ths; they sum to one exactly. */
	v->wr = (uint32_t)lrint(m->kr * 32768.0);
	v->wb = (uint32_t)lrint(m->kb * 32768.0);
	v->wg = 32768 - v->wr - v->wb;
	if (avv_shrinkable(v, f))
		return avv_shrink_setup(v, f, m);
	avv_shrink_free(v);
	v->sws = sws_getCachedContext(v->sws, f->width, f->height, f->format,
	    v->px[0].cw, v->px[0].ch, AV_PIX_FMT_GBRP, AVV_SWS_FLAGS, NULL,
	    NULL, NULL);
	if (v->sws == NULL)
		return avv_fail(v, STAGE_E_DATA, "%s: cannot convert %s frames",
		    v->name, av_get_pix_fmt_name(f->format));
	(void)sws_setColorspaceDetails(
	    v->sws, coef, m->full, coef, 1, 0, 1 << 16, 1 << 16);
	return 0;
}

static int
avv_base_sws(struct avv *v, const AVFrame *f, const struct avh_matrix *m)
{
	const int *coef = sws_getCoefficients(m->sws_cs);
	int i;

	if (avv_base_alloc(v, avv_base_format(f->format)) < 0)
		return -1;
	v->sws = sws_getCachedContext(v->sws, f->width, f->height, f->format,
	    v->bw, v->bh, v->base_fmt, AVV_BASE_FLAGS, NULL, NULL, NULL);
	if (v->sws == NULL)
		return avv_fail(v, STAGE_E_DATA, "%s: cannot convert %s frames",
		    v->name, av_get_pix_fmt_name(f->format));
	/* Same matrix and range out as in: no conversion at full size. */
	(void)sws_setColorspaceDetails(
	    v->sws, coef, m->full, coef, m->full, 0, 1 << 16, 1 << 16);
	avv_luma_table(v, m->full);
	for (i = 0; i < v->nproxies; i++) {
		if (avv_proxy_sws(v, &v->px[i], m->sws_cs, m->full) < 0)
			return -1;
	}
	return 0;
}

static int
avv_sws_update(struct avv *v, const AVFrame *f)
{
	struct avh_matrix m = avh_frame_matrix(f);
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);

	if ((v->sws != NULL || v->shrink) && f->width == v->src_w &&
	    f->height == v->src_h && f->format == v->src_fmt &&
	    m.sws_cs == v->src_cs && m.full == v->src_full)
		return 0;
	v->direct = avv_direct(v, f);
	if (!v->direct)
		avv_shrink_free(v);
	if ((v->direct ? avv_direct_setup(v, f, &m) : avv_base_sws(v, f, &m)) <
	    0)
		return -1;
	v->src_w = f->width;
	v->src_h = f->height;
	v->src_fmt = f->format;
	v->src_cs = m.sws_cs;
	v->src_full = m.full;
	v->info.matrix =
	    d != NULL && (d->flags & AV_PIX_FMT_FLAG_RGB) ? "rgb" : m.name;
	v->info.range = m.full ? "full" : "limited";
	return 0;
}

static void
avv_luma_copy(const struct avv *v, uint8_t *dst, int dls)
{
	const uint8_t *src;
	uint8_t *row;
	int x, y;

	for (y = 0; y < v->bh; y++) {
		src = v->base[0] + (size_t)y * v->base_ls[0];
		row = dst + (size_t)y * dls;
		for (x = 0; x < v->bw; x++)
			row[x] = v->luma_full[src[x]];
	}
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

/* GBRP planes (G, B, R) to packed RGB24. */
static void
avv_interleave(const struct avv_proxy *p, uint8_t *dst, int dls)
{
	const uint8_t *g, *b, *r;
	uint8_t *o;
	int x, y;

	for (y = 0; y < p->ch; y++) {
		g = p->gbr[0] + (size_t)y * p->gbr_ls[0];
		b = p->gbr[1] + (size_t)y * p->gbr_ls[1];
		r = p->gbr[2] + (size_t)y * p->gbr_ls[2];
		o = dst + (size_t)y * dls;
		for (x = 0; x < p->cw; x++, o += 3) {
			o[0] = r[x];
			o[1] = g[x];
			o[2] = b[x];
		}
	}
}

/* One sws_scale() of a whole picture of h rows; -1 with the error set. */
static int
avv_scale(struct avv *v, struct SwsContext *sws, uint8_t *const src[],
    const int sls[], int h, uint8_t *const dst[], const int dls[])
{
	if (sws_scale(sws, (const uint8_t *const *)src, sls, 0, h, dst, dls) <
	    0)
		return avv_fail(
		    v, STAGE_E_DATA, "%s: cannot scale a frame", v->name);
	return 0;
}

/* A proxy made in coded orientation (in tmp), turned upright into out. */
static void
avv_turn(const struct avv *v, struct avv_proxy *p)
{
	int i;

	for (i = 0; i < av_pix_fmt_count_planes(p->fmt); i++)
		avv_rotate_plane(p->tmp[i], p->tmp_ls[i], p->cw, p->ch,
		    p->out[i], p->out_ls[i],
		    av_image_get_linesize(p->fmt, 1, i), v->info.rotation);
}

/* A gray proxy from proxy 0's planar RGB (G, B, R), full range. */
static void
avv_luma_of_rgb(const struct avv *v, uint8_t *const rgb[4], const int ls[4],
    uint8_t *dst, int dls)
{
	const uint8_t *g, *b, *r;
	uint8_t *row;
	int x, y;

	for (y = 0; y < v->px[0].ch; y++) {
		g = rgb[0] + (size_t)y * ls[0];
		b = rgb[1] + (size_t)y * ls[1];
		r = rgb[2] + (size_t)y * ls[2];
		row = dst + (size_t)y * dls;
		for (x = 0; x < v->px[0].cw; x++)
			row[x] = (uint8_t)((v->wr * r[x] + v->wg * g[x] +
					       v->wb * b[x] + 16384) >>
					   15);
	}
}

/* Proxy 0's planar RGB (G, B, R) by shrink.h. */
static void
avv_shrink(
    struct avv *v, const AVFrame *f, uint8_t *const rgb[4], const int ls[4])
{
	int i, y;

	shrink_plane_run(&v->shrink_luma, f->data[0], f->linesize[0],
	    v->small[0], v->small_ls[0]);
	for (i = 1; i < 3; i++)
		shrink_plane_run(&v->shrink_chroma, f->data[i], f->linesize[i],
		    v->small[i], v->small_ls[i]);
	for (y = 0; y < v->px[0].ch; y++)
		shrink_yuv_row(&v->shrink_matrix,
		    v->small[0] + (size_t)y * v->small_ls[0],
		    v->small[1] + (size_t)y * v->small_ls[1],
		    v->small[2] + (size_t)y * v->small_ls[2],
		    rgb[0] + (size_t)y * ls[0], rgb[1] + (size_t)y * ls[1],
		    rgb[2] + (size_t)y * ls[2], v->px[0].cw);
}

/* Every proxy by the direct path (see avv_direct()). */
static int
avv_convert_direct(struct avv *v, const AVFrame *f, bool turn)
{
	struct avv_proxy *p0 = &v->px[0], *p;
	uint8_t **rgb = turn ? p0->tmp : p0->out;
	int *rgb_ls = turn ? p0->tmp_ls : p0->out_ls, i;

	if (v->shrink)
		avv_shrink(v, f, rgb, rgb_ls);
	else if (avv_scale(v, v->sws, f->data, f->linesize, f->height, rgb,
		     rgb_ls) < 0)
		return -1;
	for (i = 1; i < v->nproxies; i++) {
		p = &v->px[i];
		avv_luma_of_rgb(v, rgb, rgb_ls, turn ? p->tmp[0] : p->out[0],
		    turn ? p->tmp_ls[0] : p->out_ls[0]);
	}
	for (i = 0; turn && i < v->nproxies; i++)
		avv_turn(v, &v->px[i]);
	return 0;
}

/* One proxy from the base, in coded orientation, then turned upright. */
static int
avv_make_proxy(struct avv *v, struct avv_proxy *p, bool turn)
{
	uint8_t **dst = turn ? p->tmp : p->out;
	int *dls = turn ? p->tmp_ls : p->out_ls;

	if (p->sws == NULL)
		avv_luma_copy(v, dst[0], dls[0]);
	else if (avv_scale(v, p->sws, v->base, v->base_ls, v->bh,
		     p->gbr[0] != NULL ? p->gbr : dst,
		     p->gbr[0] != NULL ? p->gbr_ls : dls) < 0)
		return -1;
	if (p->gbr[0] != NULL)
		avv_interleave(p, dst[0], dls[0]);
	if (turn)
		avv_turn(v, p);
	return 0;
}

static int
avv_convert(struct avv *v, const AVFrame *f)
{
	bool turn = v->info.rotation != 0;
	int i;

	if (avv_sws_update(v, f) < 0)
		return -1;
	if (v->direct)
		return avv_convert_direct(v, f, turn);
	if (avv_scale(v, v->sws, f->data, f->linesize, f->height, v->base,
		v->base_ls) < 0)
		return -1;
	for (i = 0; i < v->nproxies; i++) {
		if (avv_make_proxy(v, &v->px[i], turn) < 0)
			return -1;
	}
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

/*
 * A lost packet or frame: at pkt's time when it has one (seconds from the
 * first frame, or from the stream's start before any frame), else just
 * after the last frame given out.
 */
static void
avv_lost(struct avv *v, const AVPacket *pkt)
{
	const AVStream *st = v->fmt->streams[v->stream];
	int64_t ts = pkt == NULL		  ? AV_NOPTS_VALUE
		     : pkt->pts != AV_NOPTS_VALUE ? pkt->pts
						  : pkt->dts;
	int64_t base = v->first_pts != AV_NOPTS_VALUE	  ? v->first_pts
		       : st->start_time != AV_NOPTS_VALUE ? st->start_time
							  : 0;

	if (ts != AV_NOPTS_VALUE)
		avh_losses_add(&v->losses, fmax(0.0, (ts - base) * v->tb));
	else
		avh_losses_add(
		    &v->losses, v->frames > 0 ? v->last_t + v->step : 0.0);
}

static int
avv_emit(struct avv *v, struct avv_frame *out)
{
	struct avv_image *im;
	int rc, i, p;

	out->t = avv_time(v, v->frame);
	if (v->frame->decode_error_flags != 0 ||
	    (v->frame->flags & AV_FRAME_FLAG_CORRUPT) != 0)
		avh_losses_add(&v->losses, out->t);
	rc = avv_convert(v, v->frame);
	av_frame_unref(v->frame);
	if (rc < 0)
		return -1;
	memset(out->proxy, 0, sizeof(out->proxy));
	for (i = 0; i < v->nproxies; i++) {
		im = &out->proxy[i];
		for (p = 0; p < 4; p++) {
			im->data[p] = v->px[i].out[p];
			im->linesize[p] = v->px[i].out_ls[p];
		}
		im->width = v->px[i].w;
		im->height = v->px[i].h;
		im->format = v->px[i].fmt;
	}
	memcpy(out->data, out->proxy[0].data, sizeof(out->data));
	memcpy(out->linesize, out->proxy[0].linesize, sizeof(out->linesize));
	out->width = out->proxy[0].width;
	out->height = out->proxy[0].height;
	out->format = out->proxy[0].format;
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
		avh_losses_packet(&v->losses, v->fmt, pkt);
	err = avcodec_send_packet(v->dec, pkt);
	if (err == AVERROR_INVALIDDATA) {
		avv_lost(v, pkt);
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
			avv_lost(v, NULL);
			if (++v->read_errors >= AVV_READ_ERRORS_MAX)
				return avv_fail_av(v, err, "cannot read video");
			continue;
		}
		v->read_errors = 0;
		if (v->pkt->stream_index == v->stream)
			break;
		av_packet_unref(v->pkt);
	}
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
	char where[160];

	if (v->frames == 0)
		return avv_fail(v, STAGE_E_DATA,
		    "%s: no video frame could be decoded", v->name);
	if (avh_losses_too_many(&v->losses)) {
		avh_losses_where(&v->losses, where, sizeof(where));
		return avv_fail(v, STAGE_E_DATA,
		    "%s is damaged: %lld of %lld video packets could not be "
		    "decoded (%s)",
		    v->name, (long long)v->losses.lost,
		    (long long)v->losses.packets, where);
	}
	covered = in->start_s + v->last_t + v->step;
	slack = fmax(2.0 * v->step, AVV_SHORT_SHARE * in->duration_s);
	if (in->duration_s > 0.0 && !in->duration_estimated &&
	    in->duration_s - covered > slack)
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
			avv_lost(v, NULL);
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
	int i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nproxies; i++) {
		sws_freeContext(v->px[i].sws);
		av_freep(&v->px[i].gbr[0]);
		av_freep(&v->px[i].out[0]);
		av_freep(&v->px[i].tmp[0]);
	}
	sws_freeContext(v->sws);
	avv_shrink_free(v);
	av_freep(&v->base[0]);
	av_frame_free(&v->frame);
	av_packet_free(&v->pkt);
	avcodec_free_context(&v->dec);
	avformat_close_input(&v->fmt);
	free(v);
}

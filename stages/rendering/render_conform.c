/*
 * Conform (see render_conform.h). Per input geometry (size and pixel
 * format) the crop region is mapped onto the coded frame once and the
 * scalers are built once; per frame the work is: an optional format
 * conversion (sources that are not 8-bit 4:2:0), the grade on the cropped
 * pixels, one threaded swscale pass, and a blocked copy that turns the
 * picture upright and places it in the frame.
 *
 * The grade is skipped only when it cannot change anything: an identity
 * LUT on a source that is already BT.709 limited-range 4:2:0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "av.h"
#include "render_conform.h"

/* How far the plan's crop region may overrun the source (rounding). */
#define RCONF_SLACK_PX 2.0
#define RCONF_TILE 32
#define RCONF_ALIGN 64

struct rconf {
	struct stage_ctx *ctx;
	const struct rplan *p;
	struct rlut *lut;
	bool lut_identity;
	int rotation;
	AVRational sar;
	int threads;
	/* Where the picture goes in the upright output, and whether the
	 * frame around it must be black. */
	int tx, ty, tw, th;
	bool padded;
	/* Per input geometry and zoom. */
	int in_w, in_h, in_fmt;
	double zoom, zoom_x, zoom_y;
	int rx, ry, rw, rh; /* coded crop region, even */
	int sw, sh;	    /* scaled size, coded orientation */
	struct avh_matrix mat;
	bool mat_set;
	struct SwsContext *pre, *scale;
	/* Tags of the source converted to 8-bit 4:2:0, when it was not. */
	enum AVColorSpace pre_cs;
	enum AVColorRange pre_range;
	AVFrame *work;	 /* the graded crop, when it is scaled next */
	AVFrame *scaled; /* the scaled picture, when it is turned or padded */
	/* fill: the backdrop's cover region, shrunk (the blur) and grown. */
	int bx, by, bw, bh;
	struct SwsContext *shrink, *grow;
	AVFrame *small, *backdrop;
};

/* The upright target rectangle inside the output frame. */
static void
rconf_target(struct rconf *c)
{
	const struct rplan *p = c->p;

	c->tx = 0;
	c->ty = 0;
	c->tw = p->width;
	c->th = p->height;
	if (p->conform == RPLAN_CONFORM_PAD ||
	    p->conform == RPLAN_CONFORM_FILL) {
		c->tx = p->cx & ~1;
		c->ty = p->cy & ~1;
		c->tw = p->cw & ~1;
		c->th = p->ch & ~1;
	}
	c->padded =
	    c->tx != 0 || c->ty != 0 || c->tw != p->width || c->th != p->height;
}

static int
rconf_even(double v, int lo, int hi)
{
	long e = 2 * lround(v / 2.0);

	return e < lo ? lo : e > hi ? hi : (int)e;
}

/*
 * Maps the upright region (x, y, w, h), on a display of cdw x cdh before
 * the turn, onto coded pixels of a w x h frame.
 */
static void
rconf_map(
    struct rconf *c, const double u[4], double cdw, double cdh, int w, int h)
{
	double x = u[0], y = u[1], rw = u[2], rh = u[3], xc, yc, wc, hc;
	double sx = av_q2d(c->sar);
	int we = w & ~1, he = h & ~1;

	xc = x, yc = y, wc = rw, hc = rh;
	if (c->rotation == 90)
		xc = y, yc = cdh - (x + rw), wc = rh, hc = rw;
	else if (c->rotation == 180)
		xc = cdw - (x + rw), yc = cdh - (y + rh);
	else if (c->rotation == 270)
		xc = cdw - (y + rh), yc = x, wc = rh, hc = rw;
	c->rx = rconf_even(xc / sx, 0, we - 2);
	c->ry = rconf_even(yc, 0, he - 2);
	c->rw = rconf_even((xc + wc) / sx, c->rx + 2, we) - c->rx;
	c->rh = rconf_even(yc + hc, c->ry + 2, he) - c->ry;
}

/* A punch-in: 1/zoom of the upright region u, at x, y of the room left. */
static void
rconf_punch_in(double u[4], double zoom, double x, double y)
{
	u[0] += u[2] * (1.0 - 1.0 / zoom) * x;
	u[1] += u[3] * (1.0 - 1.0 / zoom) * y;
	u[2] /= zoom;
	u[3] /= zoom;
}

/* The crop region on a w x h coded frame; fails if outside the source. */
static enum stage_result
rconf_region(struct rconf *c, int w, int h)
{
	const struct rplan *p = c->p;
	bool turned = c->rotation == 90 || c->rotation == 270;
	double cdw = w * av_q2d(c->sar), cdh = h;
	double dw = turned ? cdh : cdw, dh = turned ? cdw : cdh;
	double u[4] = {0.0, 0.0, dw, dh}, kx = 1.0, ky = 1.0;

	if (p->conform == RPLAN_CONFORM_CROP) {
		if (p->src_display_w > 0 && p->src_display_h > 0) {
			kx = dw / p->src_display_w;
			ky = dh / p->src_display_h;
		}
		u[0] = p->cx * kx, u[1] = p->cy * ky;
		u[2] = p->cw * kx, u[3] = p->ch * ky;
		if (u[0] + u[2] > dw + RCONF_SLACK_PX ||
		    u[1] + u[3] > dh + RCONF_SLACK_PX)
			return stage_fail(c->ctx, STAGE_E_DATA,
			    "plan.json: crop region %d,%d %dx%d is outside the "
			    "%.0fx%.0f source",
			    p->cx, p->cy, p->cw, p->ch, dw, dh);
	}
	rconf_punch_in(u, c->zoom, c->zoom_x, c->zoom_y);
	rconf_map(c, u, cdw, cdh, w, h);
	c->sw = turned ? c->th : c->tw;
	c->sh = turned ? c->tw : c->th;
	return STAGE_OK;
}

static bool
rconf_native(int fmt)
{
	return fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_YUVJ420P;
}

static struct SwsContext *
rconf_sws(int sw, int sh, int sfmt, int dw, int dh, int threads)
{
	struct SwsContext *s = sws_alloc_context();

	if (s == NULL)
		return NULL;
	if (av_opt_set_int(s, "srcw", sw, 0) < 0 ||
	    av_opt_set_int(s, "srch", sh, 0) < 0 ||
	    av_opt_set_int(s, "src_format", sfmt, 0) < 0 ||
	    av_opt_set_int(s, "dstw", dw, 0) < 0 ||
	    av_opt_set_int(s, "dsth", dh, 0) < 0 ||
	    av_opt_set_int(s, "dst_format", AV_PIX_FMT_YUV420P, 0) < 0 ||
	    av_opt_set_int(s, "sws_flags", SWS_BICUBIC, 0) < 0 ||
	    av_opt_set_int(s, "threads", threads, 0) < 0 ||
	    sws_init_context(s, NULL, NULL) < 0) {
		sws_freeContext(s);
		return NULL;
	}
	return s;
}

/*
 * Non-native sources become 8-bit 4:2:0 with their matrix and range kept
 * (RGB ones become BT.709 full range), so the grade sees the same values.
 */
static enum stage_result
rconf_setup_pre(struct rconf *c, const AVFrame *in)
{
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(in->format);
	struct avh_matrix m = avh_frame_matrix(in);
	const int *coef = sws_getCoefficients(m.sws_cs);
	bool rgb = d != NULL && (d->flags & AV_PIX_FMT_FLAG_RGB) != 0;

	c->pre = rconf_sws(in->width, in->height, in->format, in->width,
	    in->height, c->threads);
	if (c->pre == NULL)
		return stage_fail(c->ctx, STAGE_E_DATA,
		    "cannot convert %s source frames",
		    av_get_pix_fmt_name(in->format));
	if (rgb)
		(void)sws_setColorspaceDetails(c->pre, coef, 1,
		    sws_getCoefficients(SWS_CS_ITU709), 1, 0, 1 << 16, 1 << 16);
	else
		(void)sws_setColorspaceDetails(
		    c->pre, coef, m.full, coef, m.full, 0, 1 << 16, 1 << 16);
	c->pre_cs = rgb ? AVCOL_SPC_BT709 : in->colorspace;
	c->pre_range = rgb || m.full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
	return STAGE_OK;
}

static AVFrame *
rconf_alloc(int w, int h)
{
	AVFrame *f = av_frame_alloc();

	if (f == NULL)
		return NULL;
	f->format = AV_PIX_FMT_YUV420P;
	f->width = w;
	f->height = h;
	if (av_frame_get_buffer(f, RCONF_ALIGN) < 0)
		av_frame_free(&f);
	return f;
}

static void
rconf_drop_geometry(struct rconf *c)
{
	sws_freeContext(c->pre);
	sws_freeContext(c->scale);
	c->pre = c->scale = NULL;
	av_frame_free(&c->work);
	av_frame_free(&c->scaled);
}

static enum stage_result
rconf_setup(struct rconf *c, const AVFrame *in)
{
	enum stage_result rc;

	rconf_drop_geometry(c);
	c->in_w = c->in_h = c->in_fmt = -1;
	if (in->width < 2 || in->height < 2)
		return stage_fail(c->ctx, STAGE_E_DATA, "empty video frame");
	if ((rc = rconf_region(c, in->width, in->height)) != STAGE_OK)
		return rc;
	if (!rconf_native(in->format) &&
	    (rc = rconf_setup_pre(c, in)) != STAGE_OK)
		return rc;
	if ((c->rw != c->sw || c->rh != c->sh) &&
	    (c->scale = rconf_sws(c->rw, c->rh, AV_PIX_FMT_YUV420P, c->sw,
		 c->sh, c->threads)) == NULL)
		return stage_fail(
		    c->ctx, STAGE_E_TEMP, "cannot set up scaling");
	c->work = rconf_alloc(c->rw, c->rh);
	c->scaled = rconf_alloc(c->sw, c->sh);
	if (c->work == NULL || c->scaled == NULL)
		return stage_fail(c->ctx, STAGE_E_TEMP, "out of memory");
	c->in_w = in->width;
	c->in_h = in->height;
	c->in_fmt = in->format;
	return STAGE_OK;
}

enum stage_result
rconf_new(struct stage_ctx *ctx, const struct rplan *p, struct rlut *lut,
    const AVStream *st, AVRational sar, struct rconf **out)
{
	struct rconf *c = calloc(1, sizeof(*c));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	enum stage_result rc = STAGE_OK;

	*out = NULL;
	if (c == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	c->ctx = ctx;
	c->p = p;
	c->lut = lut;
	c->lut_identity = rlut_identity(lut);
	c->rotation = avh_rotation(st);
	c->sar = sar.num > 0 && sar.den > 0 ? sar : (AVRational){1, 1};
	c->threads = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
	c->in_w = c->in_h = c->in_fmt = -1;
	c->zoom = 1.0;
	c->zoom_x = c->zoom_y = 0.5;
	rconf_target(c);
	/* Checks the crop region against the declared picture now, so a bad
	 * plan fails before any decoding. */
	if (st->codecpar->width > 0 && st->codecpar->height > 0)
		rc = rconf_region(c, st->codecpar->width, st->codecpar->height);
	if (rc != STAGE_OK) {
		rconf_free(c);
		return rc;
	}
	*out = c;
	return STAGE_OK;
}

/* A reference to the crop region of f, without copying pixels. */
static AVFrame *
rconf_crop(const struct rconf *c, const AVFrame *f)
{
	AVFrame *r = av_frame_clone(f);

	if (r == NULL)
		return NULL;
	r->crop_left = (size_t)c->rx;
	r->crop_top = (size_t)c->ry;
	r->crop_right = (size_t)(f->width - c->rx - c->rw);
	r->crop_bottom = (size_t)(f->height - c->ry - c->rh);
	if (av_frame_apply_cropping(r, AV_FRAME_CROP_UNALIGNED) < 0)
		av_frame_free(&r);
	return r;
}

static void
rconf_grade(
    struct rconf *c, struct avh_matrix m, const AVFrame *src, AVFrame *dst)
{
	if (!c->mat_set || m.kr != c->mat.kr || m.kb != c->mat.kb ||
	    m.full != c->mat.full) {
		rlut_set_source(c->lut, m.kr, m.kb, m.full);
		c->mat = m;
		c->mat_set = true;
	}
	rlut_apply(c->lut, (const uint8_t *const *)src->data, src->linesize,
	    dst->data, dst->linesize, c->rw, c->rh);
}

/* Copies or turns a plane of w x h into dst, tile by tile for the cache. */
static void
rconf_turn_plane(const uint8_t *src, int sls, int w, int h, uint8_t *dst,
    int dls, int rotation)
{
	int ow = rotation == 180 || rotation == 0 ? w : h;
	int oh = rotation == 180 || rotation == 0 ? h : w;
	int bx, by, x, y;

	for (by = 0; by < oh; by += RCONF_TILE)
		for (bx = 0; bx < ow; bx += RCONF_TILE)
			for (y = by; y < oh && y < by + RCONF_TILE; y++) {
				uint8_t *o = dst + (ptrdiff_t)y * dls;

				for (x = bx; x < ow && x < bx + RCONF_TILE;
				     x++) {
					int sx = x, sy = y;

					if (rotation == 90)
						sx = y, sy = h - 1 - x;
					else if (rotation == 180)
						sx = w - 1 - x, sy = h - 1 - y;
					else if (rotation == 270)
						sx = w - 1 - y, sy = x;
					o[x] = src[(ptrdiff_t)sy * sls + sx];
				}
			}
}

/* Black around the target rectangle of one plane (sub = chroma shift). */
static void
rconf_bars(AVFrame *f, int plane, int sub, int tx, int ty, int tw, int th)
{
	int w = f->width >> sub, h = f->height >> sub, y;
	uint8_t black = plane == 0 ? 16 : 128;
	uint8_t *row;

	tx >>= sub, ty >>= sub, tw >>= sub, th >>= sub;
	for (y = 0; y < h; y++) {
		row = f->data[plane] + (ptrdiff_t)y * f->linesize[plane];
		if (y < ty || y >= ty + th) {
			memset(row, black, (size_t)w);
			continue;
		}
		memset(row, black, (size_t)tx);
		memset(row + tx + tw, black, (size_t)(w - tx - tw));
	}
}

static void
rconf_place(const struct rconf *c, const AVFrame *s, AVFrame *out)
{
	int p, sub;

	for (p = 0; p < 3; p++) {
		sub = p == 0 ? 0 : 1;
		if (c->padded)
			rconf_bars(out, p, sub, c->tx, c->ty, c->tw, c->th);
		rconf_turn_plane(s->data[p], s->linesize[p], c->sw >> sub,
		    c->sh >> sub,
		    out->data[p] +
			(ptrdiff_t)(c->ty >> sub) * out->linesize[p] +
			(c->tx >> sub),
		    out->linesize[p], c->rotation);
	}
}

static void
rconf_tag(AVFrame *f)
{
	f->color_range = AVCOL_RANGE_MPEG;
	f->color_primaries = AVCOL_PRI_BT709;
	f->color_trc = AVCOL_TRC_BT709;
	f->colorspace = AVCOL_SPC_BT709;
	f->chroma_location = AVCHROMA_LOC_LEFT;
	f->sample_aspect_ratio = (AVRational){1, 1};
	f->pts = AV_NOPTS_VALUE;
}

/*
 * The graded crop region: a fresh frame when it is the output (last),
 * else the private work frame. A source that is already BT.709 limited
 * range under an identity LUT is passed through uncopied.
 */
static enum stage_result
rconf_graded(struct rconf *c, const AVFrame *src, bool last, AVFrame **g)
{
	struct avh_matrix m = avh_frame_matrix(src);
	AVFrame *reg = rconf_crop(c, src);

	*g = NULL;
	if (reg == NULL)
		return stage_fail(c->ctx, STAGE_E_TEMP, "cannot crop a frame");
	if (c->lut_identity && !m.full && m.kr == 0.2126 && m.kb == 0.0722) {
		*g = reg;
		return STAGE_OK;
	}
	*g = last ? rconf_alloc(c->rw, c->rh) : av_frame_clone(c->work);
	if (*g == NULL) {
		av_frame_free(&reg);
		return stage_fail(c->ctx, STAGE_E_TEMP, "out of memory");
	}
	rconf_grade(c, m, reg, *g);
	av_frame_free(&reg);
	return STAGE_OK;
}

/*
 * The source as 8-bit 4:2:0: in itself, or a fresh conversion (fresh, as
 * it may pass through to the output uncopied).
 */
static enum stage_result
rconf_convert(struct rconf *c, const AVFrame *in, AVFrame **src)
{
	int err;

	*src = c->pre == NULL ? av_frame_clone(in)
			      : rconf_alloc(in->width, in->height);
	if (*src == NULL)
		return stage_fail(c->ctx, STAGE_E_TEMP, "out of memory");
	if (c->pre == NULL)
		return STAGE_OK;
	(*src)->colorspace = c->pre_cs;
	(*src)->color_range = c->pre_range;
	if ((err = sws_scale_frame(c->pre, *src, in)) < 0) {
		av_frame_free(src);
		return avh_fail(c->ctx, err, "cannot convert a source frame");
	}
	return STAGE_OK;
}

/* g at the target size: itself, or scaled into a frame of its own. */
static enum stage_result
rconf_scale(struct rconf *c, AVFrame **g, bool placed)
{
	enum stage_result rc = STAGE_OK;
	AVFrame *s;
	int err;

	if (c->rw == c->sw && c->rh == c->sh)
		return STAGE_OK;
	s = placed ? av_frame_clone(c->scaled) : rconf_alloc(c->sw, c->sh);
	if (s == NULL)
		rc = stage_fail(c->ctx, STAGE_E_TEMP, "out of memory");
	else if ((err = sws_scale_frame(c->scale, s, *g)) < 0)
		rc = avh_fail(c->ctx, err, "cannot scale a frame");
	av_frame_free(g);
	if (rc != STAGE_OK)
		av_frame_free(&s);
	*g = s;
	return rc;
}

/*
 * fill's backdrop is the placed picture's centre at the output's ratio,
 * shrunk to 1/RCONF_FILL_SHRINK and grown back (a wide blur for the cost
 * of two small scales), then dimmed and desaturated so that the picture
 * stays what the eye reads.
 */
#define RCONF_FILL_SHRINK 24
#define RCONF_FILL_LUMA 0.5
#define RCONF_FILL_CHROMA 0.6

static enum stage_result
rconf_backdrop_setup(struct rconf *c)
{
	const struct rplan *p = c->p;
	int sw = p->width / RCONF_FILL_SHRINK,
	    sh = p->height / RCONF_FILL_SHRINK;

	if ((double)c->tw / c->th < (double)p->width / p->height) {
		c->bw = c->tw;
		c->bh =
		    rconf_even((double)c->tw * p->height / p->width, 2, c->th);
	} else {
		c->bh = c->th;
		c->bw =
		    rconf_even((double)c->th * p->width / p->height, 2, c->tw);
	}
	c->bx = (c->tx + (c->tw - c->bw) / 2) & ~1;
	c->by = (c->ty + (c->th - c->bh) / 2) & ~1;
	sw = sw < 2 ? 2 : sw & ~1;
	sh = sh < 2 ? 2 : sh & ~1;
	c->shrink = sws_getContext(c->bw, c->bh, AV_PIX_FMT_YUV420P, sw, sh,
	    AV_PIX_FMT_YUV420P, SWS_AREA, NULL, NULL, NULL);
	c->grow = sws_getContext(sw, sh, AV_PIX_FMT_YUV420P, p->width,
	    p->height, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
	c->small = rconf_alloc(sw, sh);
	c->backdrop = rconf_alloc(p->width, p->height);
	if (c->shrink == NULL || c->grow == NULL || c->small == NULL ||
	    c->backdrop == NULL)
		return stage_fail(
		    c->ctx, STAGE_E_TEMP, "cannot set up the fill backdrop");
	return STAGE_OK;
}

static void
rconf_dim(AVFrame *f)
{
	for (int p = 0; p < 3; p++) {
		int sub = p == 0 ? 0 : 1, w = f->width >> sub;
		int h = f->height >> sub, mid = p == 0 ? 16 : 128;
		double k = p == 0 ? RCONF_FILL_LUMA : RCONF_FILL_CHROMA;

		for (int y = 0; y < h; y++) {
			uint8_t *row =
			    f->data[p] + (ptrdiff_t)y * f->linesize[p];

			for (int x = 0; x < w; x++)
				row[x] =
				    (uint8_t)lround(mid + (row[x] - mid) * k);
		}
	}
}

/* The backdrop into out wherever the placed picture is not. */
static void
rconf_backdrop_copy(const struct rconf *c, const AVFrame *b, AVFrame *out)
{
	for (int p = 0; p < 3; p++) {
		int sub = p == 0 ? 0 : 1, w = out->width >> sub;
		int h = out->height >> sub, tx = c->tx >> sub,
		    ty = c->ty >> sub;
		int tw = c->tw >> sub, th = c->th >> sub;

		for (int y = 0; y < h; y++) {
			uint8_t *d =
			    out->data[p] + (ptrdiff_t)y * out->linesize[p];
			const uint8_t *s =
			    b->data[p] + (ptrdiff_t)y * b->linesize[p];

			if (y < ty || y >= ty + th) {
				memcpy(d, s, (size_t)w);
				continue;
			}
			memcpy(d, s, (size_t)tx);
			memcpy(d + tx + tw, s + tx + tw, (size_t)(w - tx - tw));
		}
	}
}

static enum stage_result
rconf_backdrop(struct rconf *c, AVFrame *out)
{
	const uint8_t *src[4] = {NULL};
	int stride[4] = {0};
	enum stage_result rc;

	if (c->shrink == NULL && (rc = rconf_backdrop_setup(c)) != STAGE_OK)
		return rc;
	for (int p = 0; p < 3; p++) {
		int sub = p == 0 ? 0 : 1;

		src[p] = out->data[p] +
			 (ptrdiff_t)(c->by >> sub) * out->linesize[p] +
			 (c->bx >> sub);
		stride[p] = out->linesize[p];
	}
	sws_scale(c->shrink, src, stride, 0, c->bh, c->small->data,
	    c->small->linesize);
	sws_scale(c->grow, (const uint8_t *const *)c->small->data,
	    c->small->linesize, 0, c->small->height, c->backdrop->data,
	    c->backdrop->linesize);
	rconf_dim(c->backdrop);
	rconf_backdrop_copy(c, c->backdrop, out);
	return STAGE_OK;
}

enum stage_result
rconf_render(struct rconf *c, const AVFrame *in, double zoom, double x,
    double y, AVFrame **out)
{
	bool placed = c->rotation != 0 || c->padded;
	AVFrame *src = NULL, *g = NULL;
	enum stage_result rc = STAGE_OK;

	*out = NULL;
	/* A new zoom is a new crop region: set up again (once a segment). */
	if (zoom != c->zoom || x != c->zoom_x || y != c->zoom_y)
		c->in_w = -1;
	c->zoom = zoom;
	c->zoom_x = x;
	c->zoom_y = y;
	if ((in->width != c->in_w || in->height != c->in_h ||
		in->format != c->in_fmt) &&
	    (rc = rconf_setup(c, in)) != STAGE_OK)
		return rc;
	if ((rc = rconf_convert(c, in, &src)) != STAGE_OK)
		return rc;
	rc = rconf_graded(
	    c, src, c->rw == c->sw && c->rh == c->sh && !placed, &g);
	av_frame_free(&src);
	if (rc == STAGE_OK)
		rc = rconf_scale(c, &g, placed);
	if (rc == STAGE_OK && placed) {
		*out = rconf_alloc(c->p->width, c->p->height);
		if (*out == NULL)
			rc = stage_fail(c->ctx, STAGE_E_TEMP, "out of memory");
		else
			rconf_place(c, g, *out);
		av_frame_free(&g);
		if (*out != NULL && c->p->conform == RPLAN_CONFORM_FILL &&
		    (rc = rconf_backdrop(c, *out)) != STAGE_OK)
			av_frame_free(out);
	} else if (rc == STAGE_OK)
		*out = g;
	if (*out != NULL)
		rconf_tag(*out);
	return rc;
}

void
rconf_free(struct rconf *c)
{
	if (c == NULL)
		return;
	rconf_drop_geometry(c);
	sws_freeContext(c->shrink);
	sws_freeContext(c->grow);
	av_frame_free(&c->small);
	av_frame_free(&c->backdrop);
	free(c);
}

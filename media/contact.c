/*
 * The contact sheet (see contact.h). Tiles are scaled with swscale (area
 * averaging, the frame's own matrix and range) in coded orientation, then
 * turned upright pixel by pixel (tiles are small). A file row seeks to
 * the keyframe before each column's time and decodes forward to the first
 * frame at or after it; where the file cannot seek it decodes on from
 * where it is, which works because the times increase. The output row is
 * filled by the caller with frames it already has.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "av.h"
#include "contact.h"

#define CONTACT_W (CONTACT_COLS * CONTACT_TILE_W)
#define CONTACT_EMPTY 0x20
#define CONTACT_DEFAULT_H 180

static const uint8_t contact_colours[CONTACT_ROWS][3] = {
    {0x42, 0x85, 0xF4}, /* template: blue */
    {0xFB, 0x8C, 0x00}, /* source: orange */
    {0x34, 0xA8, 0x53}, /* output: green */
};

struct contact {
	int h[CONTACT_ROWS];
	uint8_t *rows[CONTACT_ROWS]; /* RGB24, CONTACT_W x h */
};

/* One file being read for a row. */
struct contact_src {
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame, *last;
	bool have_last;
	int vidx;
	double tb, origin;
};

struct contact *
contact_new(void)
{
	return calloc(1, sizeof(struct contact));
}

double
contact_fraction(int col)
{
	return (col + 0.5) / CONTACT_COLS;
}

static int
contact_even(double v, int lo, int hi)
{
	long e = 2 * lround(v / 2.0);

	return e < lo ? lo : e > hi ? hi : (int)e;
}

static enum stage_result
contact_row_alloc(struct stage_ctx *ctx, struct contact *c, int row, int h)
{
	c->h[row] = h;
	c->rows[row] = malloc((size_t)CONTACT_W * 3 * h);
	if (c->rows[row] == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	memset(c->rows[row], CONTACT_EMPTY, (size_t)CONTACT_W * 3 * h);
	return STAGE_OK;
}

/* Scales f to cw x ch RGB24 in buf. */
static enum stage_result
contact_scale(
    struct stage_ctx *ctx, const AVFrame *f, uint8_t *buf, int cw, int ch)
{
	struct avh_matrix m = avh_frame_matrix(f);
	struct SwsContext *s;
	uint8_t *dst[4] = {buf, NULL, NULL, NULL};
	int ls[4] = {3 * cw, 0, 0, 0}, err;

	s = sws_getContext(f->width, f->height, f->format, cw, ch,
	    AV_PIX_FMT_RGB24, SWS_AREA | SWS_ACCURATE_RND, NULL, NULL, NULL);
	if (s == NULL)
		return stage_fail(ctx, STAGE_E_DATA,
		    "cannot scale a frame for the contact sheet");
	(void)sws_setColorspaceDetails(s, sws_getCoefficients(m.sws_cs), m.full,
	    sws_getCoefficients(SWS_CS_ITU709), 1, 0, 1 << 16, 1 << 16);
	err = sws_scale(s, (const uint8_t *const *)f->data, f->linesize, 0,
	    f->height, dst, ls);
	sws_freeContext(s);
	if (err < 0)
		return avh_fail(ctx, err, "cannot scale a contact sheet tile");
	return STAGE_OK;
}

/* Turns the cw x ch RGB24 tile upright into column col of the row. */
static void
contact_turn(struct contact *c, int row, int col, const uint8_t *buf, int cw,
    int ch, int rotation)
{
	int tw = CONTACT_TILE_W, th = c->h[row], x, y, sx, sy;
	uint8_t *o;

	for (y = 0; y < th; y++) {
		o = c->rows[row] +
		    ((size_t)y * CONTACT_W + (size_t)col * tw) * 3;
		for (x = 0; x < tw; x++, o += 3) {
			sx = x, sy = y;
			if (rotation == 90)
				sx = y, sy = ch - 1 - x;
			else if (rotation == 180)
				sx = cw - 1 - x, sy = ch - 1 - y;
			else if (rotation == 270)
				sx = cw - 1 - y, sy = x;
			memcpy(o, buf + ((size_t)sy * cw + sx) * 3, 3);
		}
	}
}

enum stage_result
contact_put(struct stage_ctx *ctx, struct contact *c, int row, int col,
    const AVFrame *f, int rotation, AVRational sar)
{
	bool turned = rotation == 90 || rotation == 270;
	double dw = f->width * (sar.num > 0 && sar.den > 0 ? av_q2d(sar) : 1.0);
	double dh = f->height;
	enum stage_result rc;
	uint8_t *buf;
	int cw, ch;

	if (row < 0 || row >= CONTACT_ROWS || col < 0 || col >= CONTACT_COLS ||
	    f->width < 1 || f->height < 1)
		return stage_fail(ctx, STAGE_E_SOFTWARE, "bad contact tile");
	if (c->rows[row] == NULL &&
	    (rc = contact_row_alloc(ctx, c, row,
		 contact_even(CONTACT_TILE_W * (turned ? dw / dh : dh / dw), 2,
		     CONTACT_TILE_H_MAX))) != STAGE_OK)
		return rc;
	cw = turned ? c->h[row] : CONTACT_TILE_W;
	ch = turned ? CONTACT_TILE_W : c->h[row];
	if ((buf = malloc((size_t)cw * ch * 3)) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	rc = contact_scale(ctx, f, buf, cw, ch);
	if (rc == STAGE_OK)
		contact_turn(c, row, col, buf, cw, ch, rotation);
	free(buf);
	return rc;
}

static void
contact_src_close(struct contact_src *s)
{
	av_frame_free(&s->frame);
	av_frame_free(&s->last);
	av_packet_free(&s->pkt);
	avcodec_free_context(&s->dec);
	avformat_close_input(&s->fmt);
}

static enum stage_result
contact_src_open(struct stage_ctx *ctx, const char *path, struct contact_src *s)
{
	const AVStream *st;
	enum stage_result rc;
	unsigned i;

	if ((rc = avh_open_input(ctx, path, &s->fmt)) != STAGE_OK)
		return rc;
	s->vidx =
	    av_find_best_stream(s->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (s->vidx < 0)
		return stage_fail(
		    ctx, STAGE_E_DATA, "%s has no video stream", path);
	for (i = 0; i < s->fmt->nb_streams; i++) {
		if ((int)i != s->vidx)
			s->fmt->streams[i]->discard = AVDISCARD_ALL;
	}
	st = s->fmt->streams[s->vidx];
	s->tb = av_q2d(st->time_base);
	s->origin =
	    st->start_time != AV_NOPTS_VALUE ? st->start_time * s->tb : 0.0;
	if ((rc = avh_open_decoder(ctx, s->fmt, s->vidx, 0, &s->dec)) !=
	    STAGE_OK)
		return rc;
	if ((s->pkt = av_packet_alloc()) == NULL ||
	    (s->frame = av_frame_alloc()) == NULL ||
	    (s->last = av_frame_alloc()) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

/* Feeds the decoder one packet of the video stream, or the end. */
static void
contact_feed(struct contact_src *s)
{
	int err;

	for (;;) {
		err = av_read_frame(s->fmt, s->pkt);
		if (err < 0) {
			(void)avcodec_send_packet(s->dec, NULL);
			return;
		}
		if (s->pkt->stream_index == s->vidx)
			break;
		av_packet_unref(s->pkt);
	}
	/* A damaged packet only costs this tile its exact frame. */
	(void)avcodec_send_packet(s->dec, s->pkt);
	av_packet_unref(s->pkt);
}

/* Decodes to the first frame at or after t (else the last one) in s->last. */
static enum stage_result
contact_grab(struct stage_ctx *ctx, struct contact_src *s, double t)
{
	int64_t ts;
	int err;

	for (;;) {
		err = avcodec_receive_frame(s->dec, s->frame);
		if (err == 0) {
			ts = s->frame->best_effort_timestamp;
			av_frame_unref(s->last);
			av_frame_move_ref(s->last, s->frame);
			s->have_last = true;
			if (ts == AV_NOPTS_VALUE || ts * s->tb - s->origin >= t)
				return STAGE_OK;
		} else if (err == AVERROR_EOF)
			break;
		else if (err == AVERROR(EAGAIN))
			contact_feed(s);
		else if (err != AVERROR_INVALIDDATA)
			return avh_fail(ctx, err,
			    "cannot decode a contact "
			    "sheet frame");
	}
	if (!s->have_last)
		return stage_fail(ctx, STAGE_E_DATA,
		    "no frame for the contact sheet decodes");
	return STAGE_OK;
}

static double
contact_duration(const struct contact_src *s, double hint)
{
	const AVStream *st = s->fmt->streams[s->vidx];

	if (hint > 0.0)
		return hint;
	if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
		return st->duration * s->tb;
	if (s->fmt->duration != AV_NOPTS_VALUE && s->fmt->duration > 0)
		return s->fmt->duration / (double)AV_TIME_BASE;
	return 0.0;
}

static enum stage_result
contact_fill(struct stage_ctx *ctx, struct contact *c, int row,
    struct contact_src *s, double dur)
{
	AVStream *st = s->fmt->streams[s->vidx];
	AVRational sar = av_guess_sample_aspect_ratio(s->fmt, st, NULL);
	enum stage_result rc = STAGE_OK;
	double t;
	int col;

	for (col = 0; col < CONTACT_COLS && rc == STAGE_OK; col++) {
		t = contact_fraction(col) * dur;
		if (av_seek_frame(s->fmt, s->vidx,
			(int64_t)llround((t + s->origin) / s->tb),
			AVSEEK_FLAG_BACKWARD) >= 0)
			avcodec_flush_buffers(s->dec);
		rc = contact_grab(ctx, s, t);
		if (rc == STAGE_OK)
			rc = contact_put(
			    ctx, c, row, col, s->last, avh_rotation(st), sar);
	}
	return rc;
}

enum stage_result
contact_put_file(struct stage_ctx *ctx, struct contact *c, int row,
    const char *path, double duration_s)
{
	struct contact_src s = {0};
	enum stage_result rc;
	double dur;

	rc = contact_src_open(ctx, path, &s);
	if (rc == STAGE_OK) {
		dur = contact_duration(&s, duration_s);
		if (dur <= 0.0)
			rc = stage_fail(ctx, STAGE_E_DATA,
			    "cannot tell the duration of %s", path);
		else
			rc = contact_fill(ctx, c, row, &s, dur);
	}
	contact_src_close(&s);
	return rc;
}

/* The sheet's size; a row that got no frame counts at the default height. */
static void
contact_size(const struct contact *c, int *width, int *height)
{
	int r;

	*width = CONTACT_W;
	*height = 0;
	for (r = 0; r < CONTACT_ROWS; r++)
		*height +=
		    CONTACT_BAR_H + (c->h[r] > 0 ? c->h[r] : CONTACT_DEFAULT_H);
}

/* Draws the sheet into an RGB24 frame. */
static void
contact_draw(const struct contact *c, AVFrame *f)
{
	int r, y = 0, i, x, h;
	uint8_t *line;

	for (r = 0; r < CONTACT_ROWS; r++) {
		for (i = 0; i < CONTACT_BAR_H; i++, y++) {
			line = f->data[0] + (ptrdiff_t)y * f->linesize[0];
			for (x = 0; x < CONTACT_W; x++)
				memcpy(line + 3 * x, contact_colours[r], 3);
		}
		h = c->h[r] > 0 ? c->h[r] : CONTACT_DEFAULT_H;
		for (i = 0; i < h; i++, y++) {
			line = f->data[0] + (ptrdiff_t)y * f->linesize[0];
			if (c->rows[r] != NULL)
				memcpy(line,
				    c->rows[r] + (size_t)i * CONTACT_W * 3,
				    (size_t)CONTACT_W * 3);
			else
				memset(
				    line, CONTACT_EMPTY, (size_t)CONTACT_W * 3);
		}
	}
}

static enum stage_result
contact_save(struct stage_ctx *ctx, const AVPacket *pkt, const char *path)
{
	FILE *fp = fopen(path, "wb");
	bool ok;

	if (fp == NULL)
		return stage_fail(ctx, STAGE_E_IO, "cannot create %s: %s", path,
		    strerror(errno));
	ok = fwrite(pkt->data, 1, (size_t)pkt->size, fp) == (size_t)pkt->size;
	ok = fclose(fp) == 0 && ok;
	if (!ok)
		return stage_fail(ctx, STAGE_E_IO, "cannot write %s: %s", path,
		    strerror(errno));
	return STAGE_OK;
}

static enum stage_result
contact_encode(struct stage_ctx *ctx, AVCodecContext *enc, const AVFrame *f,
    const char *path)
{
	AVPacket *pkt = av_packet_alloc();
	enum stage_result rc;
	int err;

	if (pkt == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	err = avcodec_send_frame(enc, f);
	if (err >= 0)
		err = avcodec_send_frame(enc, NULL);
	if (err >= 0)
		err = avcodec_receive_packet(enc, pkt);
	if (err < 0)
		rc = avh_fail(ctx, err, "cannot encode the contact sheet");
	else
		rc = contact_save(ctx, pkt, path);
	av_packet_free(&pkt);
	return rc;
}

enum stage_result
contact_write(struct stage_ctx *ctx, const struct contact *c, const char *path)
{
	const AVCodec *png = avcodec_find_encoder(AV_CODEC_ID_PNG);
	AVCodecContext *enc = NULL;
	AVFrame *f = av_frame_alloc();
	enum stage_result rc = STAGE_OK;
	int err;

	if (png == NULL || f == NULL ||
	    (enc = avcodec_alloc_context3(png)) == NULL)
		rc = stage_fail(ctx, STAGE_E_SOFTWARE, "no PNG encoder");
	if (rc == STAGE_OK) {
		contact_size(c, &enc->width, &enc->height);
		enc->pix_fmt = AV_PIX_FMT_RGB24;
		enc->time_base = (AVRational){1, 1};
		f->format = AV_PIX_FMT_RGB24;
		f->width = enc->width;
		f->height = enc->height;
		if ((err = avcodec_open2(enc, png, NULL)) < 0)
			rc = avh_fail(ctx, err, "cannot open the PNG encoder");
		else if (av_frame_get_buffer(f, 0) < 0)
			rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	}
	if (rc == STAGE_OK) {
		contact_draw(c, f);
		rc = contact_encode(ctx, enc, f, path);
	}
	avcodec_free_context(&enc);
	av_frame_free(&f);
	return rc;
}

void
contact_free(struct contact *c)
{
	int r;

	if (c == NULL)
		return;
	for (r = 0; r < CONTACT_ROWS; r++)
		free(c->rows[r]);
	free(c);
}

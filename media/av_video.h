/*
 * Streaming video decode for the analysis stages: the best video stream of
 * a file, decoded once front to back with decoder threads on, each frame
 * handed out as one or more small analysis proxies in the callers' pixel
 * formats (one decode can feed a colour proxy and a gray one).
 *
 * Guarantees:
 * - The proxy is upright and has square pixels: the stream's sample aspect
 *   ratio and its display-matrix rotation are applied, the way the ffmpeg
 *   program displays the file. Its size is fixed for the whole stream.
 * - Colours are converted with the stream's own YUV matrix (BT.601, BT.709,
 *   BT.2020, ...; unspecified means BT.709 from 1280 wide or over 576 high,
 *   else BT.601) and range; YUV and gray proxies come out full range.
 * - Timestamps are seconds from the first decoded frame, taken from
 *   best_effort_timestamp (so variable frame rate is exact) and made
 *   strictly increasing.
 * - Every proxy of a frame comes from the same decoded picture.
 * - avv_next() reports the end of the stream only when the stream decoded
 *   soundly: damaged packets and truncated files fail as STAGE_E_DATA
 *   (thresholds in av_video.c). Memory does not grow with the file.
 * Prefix avv_.
 */
#ifndef REEL_AV_VIDEO_H
#define REEL_AV_VIDEO_H

#include <stdbool.h>
#include <stdint.h>

#include <libavutil/pixfmt.h>
#include <libavutil/rational.h>

#include "stage.h"

struct avh_losses;

struct avv_info {
	int width, height; /* coded frame size */
	AVRational sar;	   /* sample aspect ratio; 1:1 if unset */
	int rotation;	   /* clockwise degrees to display */
	int display_width, display_height; /* upright, square pixels */
	double duration_s;		   /* declared, 0 when unknown */
	/* duration_s is where a stream cut anywhere ends (MPEG-TS). */
	bool duration_estimated;
	double fps_declared;	 /* container's rate, 0 if unknown */
	int64_t frames_declared; /* 0 when unknown */
	double start_s;		 /* first frame's time in the file */
	const char *codec;	 /* codec name, e.g. "h264" */
	const char *format;	 /* demuxer name, e.g. "mov,mp4,..." */
	int64_t bit_rate;	 /* bit/s of the stream or file, or 0 */
	/* What the last converted frame used, e.g. "bt709" and "limited". */
	const char *matrix;
	const char *range;
	/* Proxy 0, the one avv_open() asked for. */
	int proxy_width, proxy_height;
	enum AVPixelFormat proxy_format;
};

/* Proxies per decode: avv_open()'s and avv_add_proxy()'s. */
#define AVV_PROXIES_MAX 2

/* One proxy picture. */
struct avv_image {
	const uint8_t *data[4];
	int linesize[4];
	int width, height;
	enum AVPixelFormat format;
};

/*
 * One decoded frame; the planes stay valid until the next avv_next().
 * data .. format repeat proxy[0] for callers that asked for one proxy.
 */
struct avv_frame {
	const uint8_t *data[4];
	int linesize[4];
	int width, height;
	enum AVPixelFormat format;
	double t;      /* seconds from the first frame */
	int64_t index; /* 0-based */
	struct avv_image proxy[AVV_PROXIES_MAX];
};

struct avv;

/*
 * Opens path and its best video stream. The proxy's longer display side
 * is proxy_size pixels (never more than the video's own, always even);
 * pix_fmt may be any format without chroma subsampling (RGB24, GRAY8,
 * YUV444P, ...). On failure ctx->error says why.
 */
enum stage_result avv_open(struct stage_ctx *ctx, const char *path,
    int proxy_size, enum AVPixelFormat pix_fmt, struct avv **out);
/*
 * Adds another proxy under the same rules, before the first avv_next().
 * Returns its number in avv_frame.proxy and sets *width and *height, or
 * returns -1 with ctx->error set.
 */
int avv_add_proxy(struct avv *v, int proxy_size, enum AVPixelFormat pix_fmt,
    int *width, int *height);
const struct avv_info *avv_info(const struct avv *v);
/*
 * The next frame: 1 with *out filled, 0 at a sound end of stream, -1 on
 * failure (ctx->error set, code from avv_error()).
 */
int avv_next(struct avv *v, struct avv_frame *out);
enum stage_result avv_error(const struct avv *v);
/* The packets read and lost so far (see av.h, avh_losses). */
const struct avh_losses *avv_losses(const struct avv *v);
/* Fraction of the file decoded so far, 0..1. */
double avv_progress(const struct avv *v);
void avv_close(struct avv *v);

#endif

/*
 * libav helpers shared by the stages: opening inputs and decoders, and the
 * one place that turns an AVERROR into a stage result and a readable cause.
 * Prefix avh_ (FFmpeg owns av_).
 */
#ifndef REEL_AV_H
#define REEL_AV_H

#include <stdbool.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "stage.h"

/* Maps an AVERROR to a stage result: bad data, missing file, memory, I/O. */
enum stage_result avh_result(int averr);
/*
 * Sets ctx->error to "<what>: <FFmpeg's text>" and returns avh_result().
 * what is printf-style.
 */
enum stage_result avh_fail(struct stage_ctx *ctx, int averr, const char *fmt,
    ...) __attribute__((__format__(__printf__, 3, 4)));
/* Opens path for demuxing and reads stream info. */
enum stage_result avh_open_input(
    struct stage_ctx *ctx, const char *path, AVFormatContext **out);
/*
 * Opens a decoder for one stream with frame threads on. FFmpeg's automatic
 * count (cores + 1 on two or more cores) suits a caller that does nothing
 * else; busy_threads adds one decoder thread per thread of the caller's
 * own that keeps a core busy beside it, so the decoder still has work
 * queued when that thread runs. The caller frees it with
 * avcodec_free_context().
 */
enum stage_result avh_open_decoder(struct stage_ctx *ctx,
    const AVFormatContext *fmt, int stream_index, int busy_threads,
    AVCodecContext **out);

/*
 * Clockwise degrees (0, 90, 180 or 270) to turn a stream's frames upright,
 * as the ffmpeg program does from the display matrix; 0 without one.
 */
int avh_rotation(const AVStream *st);

/* A frame's YUV matrix: luma weights, swscale's constant, name, range. */
struct avh_matrix {
	double kr, kb;
	int sws_cs;	  /* SWS_CS_* */
	const char *name; /* "bt709", "bt601", ... */
	bool full;	  /* full range */
};
/*
 * The matrix a frame was coded with: its tag, else BT.709 from 1280 wide
 * or over 576 high and BT.601 below (the usual convention for untagged
 * video), and its range.
 */
struct avh_matrix avh_frame_matrix(const AVFrame *f);

#endif

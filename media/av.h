/*
 * libav helpers shared by the stages: opening inputs and decoders, and the
 * one place that turns an AVERROR into a stage result and a readable cause.
 * Prefix avh_ (FFmpeg owns av_).
 */
#ifndef REEL_AV_H
#define REEL_AV_H

#include <stdbool.h>

#include <jansson.h>
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
 * The packets of one stream that failed to read or decode, and where.
 * FFmpeg's own tools skip such packets, and so do the stages: a stream
 * fails only when more than AVH_LOST_MIN packets, and more than
 * AVH_LOST_SHARE of all its packets, are lost (docs/stages/
 * video_analysis.md, "Damaged input"). Losses within AVH_LOST_MERGE_S of
 * each other make one time range; the first AVH_LOST_RANGES are kept.
 */
#define AVH_LOST_MIN 2
#define AVH_LOST_SHARE 0.01
#define AVH_LOST_RANGES 4
#define AVH_LOST_MERGE_S 1.0
/* A longer gap in a streaming container is a discontinuity, not a loss. */
#define AVH_GAP_MAX_S 5.0
#define AVH_CADENCE_STEADY 2

struct avh_losses {
	int64_t packets; /* of the stream, read or found missing */
	int64_t lost;
	int nranges;
	double range[AVH_LOST_RANGES][2]; /* s from the stream's start */
	bool more;			  /* ranges beyond the kept ones */
	/* The decode timestamp cadence, for avh_losses_packet(). */
	bool seen;
	int64_t expect_dts, last_dts, step, min_step;
	int steady;
};

/*
 * Counts one packet read from the stream. A streaming container
 * (AVFMT_TS_DISCONT: MPEG-TS, MPEG-PS, Ogg, ...) drops a packet it cannot
 * parse without a word, so there a packet whose decode timestamp comes n
 * steps after the one its predecessors' durations predict counts n
 * packets lost; the step is the last packet's duration, else the shortest
 * gap seen. Only once AVH_CADENCE_STEADY packets in a row came on time:
 * a stream cut from a longer one starts with frames missing by design.
 */
void avh_losses_packet(
    struct avh_losses *l, const AVFormatContext *fmt, const AVPacket *pkt);
/* One packet (or frame) lost at t seconds. */
void avh_losses_add(struct avh_losses *l, double t);
bool avh_losses_too_many(const struct avh_losses *l);
/* The artifacts' record: {packets, packets_lost, lost_ranges_s, more_ranges}.
 */
json_t *avh_losses_json(const struct avh_losses *l);
/* "at 0.00 s, 12.40-12.90 s" (and ", ..." when more were lost). */
void avh_losses_where(const struct avh_losses *l, char *buf, size_t size);

/*
 * The audio stream the stages use: the one av_find_best_stream() pairs
 * with the best video stream, among those FFmpeg has a decoder for. An
 * audio stream no decoder reads counts as no audio. -1 when none.
 */
int avh_audio_stream(AVFormatContext *fmt);

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

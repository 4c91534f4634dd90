/*
 * The output file: H.264 (libx264) and AAC (FFmpeg's native encoder) in
 * MP4 with the moov atom in front (movflags +faststart), colour tagged
 * BT.709 limited range, square pixels, constant frame rate.
 *
 * Guarantees: frames and samples go in as the timeline makes them and are
 * muxed interleaved, so nothing here grows with the length of the video
 * beyond the encoders' own look-ahead; audio arrives in any chunk size and
 * leaves in AAC frames, the last one short. The file at path is complete
 * only after enc_finish() returned STAGE_OK; the caller owns its name and
 * removes it on failure. Encoder failures are STAGE_E_SOFTWARE, write
 * failures STAGE_E_IO. Prefix enc_.
 */
#ifndef REEL_ENCODE_H
#define REEL_ENCODE_H

#include <stdbool.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/rational.h>

#include "stage.h"

struct enc_video_cfg {
	int width, height;
	AVRational rate;
	const char *preset; /* x264 preset */
	int crf;
};

struct enc_audio_cfg {
	int rate; /* Hz; stereo */
	int bit_rate;
};

struct enc;

/* Opens path for writing (MP4 whatever its name); audio may be NULL. */
enum stage_result enc_open(struct stage_ctx *ctx, const char *path,
    const struct enc_video_cfg *v, const struct enc_audio_cfg *a,
    struct enc **out);
/* Encodes f (yuv420p, the configured size) as output frame index. */
enum stage_result enc_video(struct enc *e, const AVFrame *f, int64_t index);
/* Encodes n frames of interleaved stereo float. */
enum stage_result enc_audio(struct enc *e, const float *x, int n);
/* Drains the encoders and writes the index; the file is then complete. */
enum stage_result enc_finish(struct enc *e);
/* Closes everything (after enc_finish or instead of it). */
void enc_free(struct enc *e);

/*
 * FFmpeg's AAC encoder set up exactly as the output uses it, for probes
 * that must predict the output bit for bit; and an empty planar frame of
 * its frame size.
 */
enum stage_result enc_aac_open(struct stage_ctx *ctx,
    const struct enc_audio_cfg *a, bool global_header, AVCodecContext **out);
enum stage_result enc_aac_frame(
    struct stage_ctx *ctx, const AVCodecContext *c, AVFrame **out);

#endif

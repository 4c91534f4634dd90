/*
 * Streaming audio decode: the audio stream of a file (avh_audio_stream()),
 * decoded once and handed to any number of consumers in chunks, each converted
 * by libswresample to interleaved float at the rate it asked for, in the
 * source's channel layout or downmixed to mono. Nothing holds more than
 * one decoded frame per consumer, so memory does not grow with the file.
 * A file without audio is not an error: ava_open() says so by returning
 * STAGE_OK with no stream. Damaged or truncated media fails as STAGE_E_DATA
 * with the file name and, where known, the time of the damage.
 * Prefix ava_.
 */
#ifndef REEL_AV_AUDIO_H
#define REEL_AV_AUDIO_H

#include <stdbool.h>

#include <libavutil/channel_layout.h>

#include "stage.h"

struct avh_losses;

/* What the decoder reports before any audio is delivered. */
struct ava_info {
	int rate; /* native sample rate, Hz */
	int channels;
	/* Native layout; an unspecified order is replaced by the default one
	 * for the channel count, which is what libswresample assumes too. */
	AVChannelLayout layout;
	/* Declared duration of the stream (or file), s; 0 when unknown. */
	double duration_s;
};

/*
 * Receives nframes frames of interleaved float. Returning anything but
 * STAGE_OK stops the decode with that result (the consumer sets ctx->error).
 */
typedef enum stage_result (*ava_chunk_fn)(
    void *arg, const float *samples, int nframes);

struct ava_output {
	int rate;  /* output rate, Hz; 0 for the native rate */
	bool mono; /* downmix to one channel, else keep the native layout */
	ava_chunk_fn fn;
	void *arg;
};

struct ava_stream;

/*
 * Opens path and its first audio stream. On STAGE_OK, *out is the stream,
 * or NULL when the file has no audio stream at all.
 */
enum stage_result ava_open(
    struct stage_ctx *ctx, const char *path, struct ava_stream **out);
const struct ava_info *ava_info(const struct ava_stream *s);
/*
 * Decodes the whole stream once, feeding every output, then flushes the
 * resamplers. Packets that fail to decode are skipped and counted; fails
 * as STAGE_E_DATA when too many are lost (av.h, avh_losses), and when the
 * packets of all streams end well before the file's declared
 * duration (a truncated file).
 */
enum stage_result ava_run(struct stage_ctx *ctx, struct ava_stream *s,
    const struct ava_output *outs, int nouts);
/* The packets read and lost so far. */
const struct avh_losses *ava_losses(const struct ava_stream *s);
/* Seconds of audio decoded so far. */
double ava_decoded_s(const struct ava_stream *s);
/* How far the decode is, 0..1: by declared duration, else by bytes read. */
double ava_fraction(const struct ava_stream *s);
void ava_close(struct ava_stream *s);

#endif

/*
 * The template's music as the soundtrack (see render_soundtrack.h).
 */
#include <math.h>
#include <stdlib.h>

#include <libavformat/avformat.h>

#include "av.h"
#include "log.h"
#include "render_peak.h"
#include "render_soundtrack.h"

struct rsnd {
	struct stage_ctx *ctx;
	struct rplan track;
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
	int aidx, vidx; /* vidx sets the time origin (the audio's if none) */
	bool eof;
	int64_t refused; /* packets the decoder refused */
	struct raud *aud;
};

/* The template's audio stream and decoder, and its time origin. */
static enum stage_result
rsnd_streams(struct rsnd *s, double *origin)
{
	const AVStream *st;

	s->vidx =
	    av_find_best_stream(s->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	s->aidx = avh_audio_stream(s->fmt);
	if (s->aidx < 0)
		return stage_fail(s->ctx, STAGE_E_DATA,
		    "plan.json takes the template's audio, but the template "
		    "has none");
	for (unsigned i = 0; i < s->fmt->nb_streams; i++) {
		if ((int)i != s->aidx)
			s->fmt->streams[i]->discard = AVDISCARD_ALL;
	}
	if (s->vidx < 0)
		s->vidx = s->aidx;
	st = s->fmt->streams[s->vidx];
	*origin = st->start_time != AV_NOPTS_VALUE
		      ? st->start_time * av_q2d(st->time_base)
		      : 0.0;
	return avh_open_decoder(s->ctx, s->fmt, s->aidx, 0, &s->dec);
}

enum stage_result
rsnd_open(struct stage_ctx *ctx, const char *path, const struct rplan *p,
    double share, raud_sink_fn sink, void *arg, struct rsnd **out)
{
	struct rsnd *s = calloc(1, sizeof(*s));
	int passes;
	double origin = 0.0, ceiling = 0.0;
	enum stage_result rc;

	if ((*out = s) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	s->ctx = ctx;
	if ((rc = rplan_soundtrack(ctx, p, &s->track)) != STAGE_OK ||
	    (rc = avh_open_input(ctx, path, &s->fmt)) != STAGE_OK ||
	    (rc = rsnd_streams(s, &origin)) != STAGE_OK)
		return rc;
	rc = rpeak_calibrate(
	    ctx, &s->track, path, s->vidx, s->aidx, share, &ceiling, &passes);
	if (rc == STAGE_OK && ((s->pkt = av_packet_alloc()) == NULL ||
				  (s->frame = av_frame_alloc()) == NULL))
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	if (rc == STAGE_OK)
		rc = raud_new(ctx, &s->track, ceiling, sink, arg,
		    s->fmt->streams[s->aidx]->time_base, origin, &s->aud);
	return rc;
}

/* Hands the decoder's frames to the timeline. */
static enum stage_result
rsnd_frames(struct rsnd *s)
{
	enum stage_result rc;

	while (avcodec_receive_frame(s->dec, s->frame) == 0) {
		rc = raud_frame(s->aud, s->frame);
		av_frame_unref(s->frame);
		if (rc != STAGE_OK)
			return rc;
	}
	return STAGE_OK;
}

/* One packet of the template's audio, or the decoder drained at its end. */
static enum stage_result
rsnd_step(struct rsnd *s)
{
	int err = av_read_frame(s->fmt, s->pkt);

	if (err == AVERROR_EOF || err == AVERROR(EIO)) {
		s->eof = true;
		avcodec_send_packet(s->dec, NULL);
		return rsnd_frames(s);
	}
	if (err < 0)
		return STAGE_OK;
	if (s->pkt->stream_index == s->aidx &&
	    avcodec_send_packet(s->dec, s->pkt) < 0)
		s->refused++;
	av_packet_unref(s->pkt);
	return rsnd_frames(s);
}

enum stage_result
rsnd_pump(struct rsnd *s, double t)
{
	enum stage_result rc = STAGE_OK;

	while (rc == STAGE_OK && !s->eof && !raud_done(s->aud) &&
	       raud_position(s->aud) < t)
		rc = rsnd_step(s);
	return rc;
}

enum stage_result
rsnd_finish(struct rsnd *s)
{
	enum stage_result rc = rsnd_pump(s, INFINITY);

	if (s->refused > 0)
		log_warnx("soundtrack: the decoder refused %lld packets of the "
			  "template's audio",
		    (long long)s->refused);
	return rc == STAGE_OK ? raud_finish(s->aud) : rc;
}

void
rsnd_free(struct rsnd *s)
{
	if (s == NULL)
		return;
	raud_free(s->aud);
	av_frame_free(&s->frame);
	av_packet_free(&s->pkt);
	avcodec_free_context(&s->dec);
	avformat_close_input(&s->fmt);
	rplan_free(&s->track);
	free(s);
}

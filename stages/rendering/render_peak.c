/*
 * Limiter calibration (see render_peak.h). The probe is the output's AAC
 * encoder (encode.c's own set-up, so its packets are the output's) feeding
 * FFmpeg's AAC decoder and a true-peak meter.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ebur128.h>
#include <libavformat/avformat.h>

#include "av.h"
#include "encode.h"
#include "log.h"
#include "render_audio.h"
#include "render_peak.h"

#define RPEAK_SEEK_GAIN_S 2.0
#define RPEAK_CH 2

struct rpeak_probe {
	struct stage_ctx *ctx;
	AVCodecContext *enc, *dec;
	AVFrame *in, *out;
	AVPacket *pkt;
	int fill;
	int64_t pts;
	ebur128_state *meter;
	float *buf; /* a decoded frame, interleaved */
	int cap;
};

/* The source's audio, for repeated passes. */
struct rpeak_src {
	struct stage_ctx *ctx;
	const struct rplan *p;
	double share; /* of the stage's progress, over all passes */
	int pass;
	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVPacket *pkt;
	AVFrame *frame;
	int aidx;
	double origin;
	double seek_floor; /* source time of the last jump in this pass */
};

static void
rpeak_probe_free(struct rpeak_probe *pr)
{
	avcodec_free_context(&pr->enc);
	avcodec_free_context(&pr->dec);
	av_frame_free(&pr->in);
	av_frame_free(&pr->out);
	av_packet_free(&pr->pkt);
	if (pr->meter != NULL)
		ebur128_destroy(&pr->meter);
	free(pr->buf);
}

static enum stage_result
rpeak_decoder(struct rpeak_probe *pr)
{
	const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_AAC);
	AVCodecParameters *par = avcodec_parameters_alloc();
	int err = AVERROR(ENOMEM);

	if (codec == NULL || par == NULL) {
		avcodec_parameters_free(&par);
		return stage_fail(pr->ctx, STAGE_E_SOFTWARE, "no aac decoder");
	}
	if ((pr->dec = avcodec_alloc_context3(codec)) != NULL &&
	    (err = avcodec_parameters_from_context(par, pr->enc)) >= 0 &&
	    (err = avcodec_parameters_to_context(pr->dec, par)) >= 0)
		err = avcodec_open2(pr->dec, codec, NULL);
	avcodec_parameters_free(&par);
	if (err < 0)
		return avh_fail(pr->ctx, err, "cannot open the aac decoder");
	return STAGE_OK;
}

static enum stage_result
rpeak_probe_init(
    struct stage_ctx *ctx, const struct rplan *p, struct rpeak_probe *pr)
{
	struct enc_audio_cfg cfg = {p->audio_rate, p->audio_bitrate};
	enum stage_result rc;

	memset(pr, 0, sizeof(*pr));
	pr->ctx = ctx;
	if ((rc = enc_aac_open(ctx, &cfg, true, &pr->enc)) != STAGE_OK ||
	    (rc = enc_aac_frame(ctx, pr->enc, &pr->in)) != STAGE_OK ||
	    (rc = rpeak_decoder(pr)) != STAGE_OK)
		return rc;
	pr->out = av_frame_alloc();
	pr->pkt = av_packet_alloc();
	pr->meter = ebur128_init(RPEAK_CH, (unsigned long)p->audio_rate,
	    EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_I);
	if (pr->out == NULL || pr->pkt == NULL || pr->meter == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

/* Meters one decoded planar frame. */
static enum stage_result
rpeak_meter(struct rpeak_probe *pr, const AVFrame *f)
{
	const float *l = (const float *)f->extended_data[0];
	const float *r =
	    (const float *)
		f->extended_data[f->ch_layout.nb_channels > 1 ? 1 : 0];
	float *p;
	int i;

	if (f->format != AV_SAMPLE_FMT_FLTP)
		return stage_fail(pr->ctx, STAGE_E_SOFTWARE,
		    "the aac decoder gave an unexpected format");
	if (f->nb_samples > pr->cap) {
		if ((p = realloc(pr->buf, (size_t)f->nb_samples * RPEAK_CH *
					      sizeof(*p))) == NULL)
			return stage_fail(
			    pr->ctx, STAGE_E_TEMP, "out of memory");
		pr->buf = p;
		pr->cap = f->nb_samples;
	}
	for (i = 0; i < f->nb_samples; i++) {
		pr->buf[2 * i] = l[i];
		pr->buf[2 * i + 1] = r[i];
	}
	if (ebur128_add_frames_float(
		pr->meter, pr->buf, (size_t)f->nb_samples) != 0)
		return stage_fail(pr->ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

/* Sends a frame (NULL drains) through encoder, decoder and meter. */
static enum stage_result
rpeak_code(struct rpeak_probe *pr, const AVFrame *f)
{
	enum stage_result rc = STAGE_OK;
	int err = avcodec_send_frame(pr->enc, f);

	while (err >= 0 && rc == STAGE_OK &&
	       (err = avcodec_receive_packet(pr->enc, pr->pkt)) >= 0) {
		err = avcodec_send_packet(pr->dec, pr->pkt);
		av_packet_unref(pr->pkt);
		while (err >= 0 && rc == STAGE_OK &&
		       (err = avcodec_receive_frame(pr->dec, pr->out)) >= 0) {
			rc = rpeak_meter(pr, pr->out);
			av_frame_unref(pr->out);
		}
		if (err == AVERROR(EAGAIN))
			err = 0;
	}
	if (rc == STAGE_OK && err < 0 && err != AVERROR(EAGAIN) &&
	    err != AVERROR_EOF)
		rc = avh_fail(pr->ctx, err, "cannot code the audio probe");
	return rc;
}

static enum stage_result
rpeak_flush_frame(struct rpeak_probe *pr)
{
	enum stage_result rc;

	pr->in->nb_samples = pr->fill;
	pr->in->pts = pr->pts;
	rc = rpeak_code(pr, pr->in);
	pr->pts += pr->fill;
	pr->fill = 0;
	pr->in->nb_samples =
	    pr->enc->frame_size > 0 ? pr->enc->frame_size : 1024;
	if (rc == STAGE_OK && av_frame_make_writable(pr->in) < 0)
		rc = stage_fail(pr->ctx, STAGE_E_TEMP, "out of memory");
	return rc;
}

static enum stage_result
rpeak_sink(void *arg, const float *x, int n)
{
	struct rpeak_probe *pr = arg;
	enum stage_result rc;
	int i;

	for (i = 0; i < n; i++) {
		((float *)pr->in->data[0])[pr->fill] = x[2 * i];
		((float *)pr->in->data[1])[pr->fill] = x[2 * i + 1];
		if (++pr->fill == pr->in->nb_samples &&
		    (rc = rpeak_flush_frame(pr)) != STAGE_OK)
			return rc;
	}
	return STAGE_OK;
}

/* What a pass measured of the coded output. */
struct rpeak_measure {
	double tp_db; /* true peak, dBTP */
	double lufs;  /* integrated loudness; -inf when all is gated out */
};

/* Drains the probe and reads its meter. */
static enum stage_result
rpeak_probe_end(struct rpeak_probe *pr, struct rpeak_measure *m)
{
	enum stage_result rc = STAGE_OK;
	double tp, peak = 0.0;
	int err, c;

	if (pr->fill > 0)
		rc = rpeak_flush_frame(pr);
	if (rc == STAGE_OK)
		rc = rpeak_code(pr, NULL);
	if (rc == STAGE_OK && (err = avcodec_send_packet(pr->dec, NULL)) >= 0)
		while (rc == STAGE_OK &&
		       avcodec_receive_frame(pr->dec, pr->out) >= 0) {
			rc = rpeak_meter(pr, pr->out);
			av_frame_unref(pr->out);
		}
	for (c = 0; rc == STAGE_OK && c < RPEAK_CH; c++) {
		if (ebur128_true_peak(pr->meter, (unsigned)c, &tp) == 0)
			peak = fmax(peak, tp);
	}
	m->tp_db = peak > 0.0 ? 20.0 * log10(peak) : -HUGE_VAL;
	if (rc == STAGE_OK && ebur128_loudness_global(pr->meter, &m->lufs) != 0)
		m->lufs = -HUGE_VAL;
	return rc;
}

static void
rpeak_src_close(struct rpeak_src *s)
{
	av_frame_free(&s->frame);
	av_packet_free(&s->pkt);
	avcodec_free_context(&s->dec);
	avformat_close_input(&s->fmt);
}

static enum stage_result
rpeak_src_open(struct stage_ctx *ctx, const char *source, int vidx, int aidx,
    struct rpeak_src *s)
{
	const AVStream *vst;
	enum stage_result rc;
	unsigned i;

	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	s->aidx = aidx;
	if ((rc = avh_open_input(ctx, source, &s->fmt)) != STAGE_OK)
		return rc;
	if ((unsigned)aidx >= s->fmt->nb_streams ||
	    (unsigned)vidx >= s->fmt->nb_streams)
		return stage_fail(ctx, STAGE_E_DATA, "the source changed");
	for (i = 0; i < s->fmt->nb_streams; i++) {
		if ((int)i != aidx)
			s->fmt->streams[i]->discard = AVDISCARD_ALL;
	}
	vst = s->fmt->streams[vidx];
	s->origin = vst->start_time != AV_NOPTS_VALUE
			? vst->start_time * av_q2d(vst->time_base)
			: 0.0;
	if ((rc = avh_open_decoder(ctx, s->fmt, aidx, 0, &s->dec)) != STAGE_OK)
		return rc;
	if ((s->pkt = av_packet_alloc()) == NULL ||
	    (s->frame = av_frame_alloc()) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

/* Seeks over a gap no range needs. */
static void
rpeak_maybe_seek(struct rpeak_src *s, struct raud *a)
{
	AVStream *st = s->fmt->streams[s->aidx];
	double tb = av_q2d(st->time_base);
	double need = raud_next_need(a);
	double pos = fmax(raud_position(a), s->seek_floor);
	const AVIndexEntry *ie;

	if (isinf(need) || need - pos < RPEAK_SEEK_GAIN_S)
		return;
	ie = avformat_index_get_entry_from_timestamp(
	    st, llround((need + s->origin) / tb), AVSEEK_FLAG_BACKWARD);
	if (ie == NULL ||
	    ie->timestamp * tb - s->origin - pos < RPEAK_SEEK_GAIN_S)
		return;
	if (av_seek_frame(
		s->fmt, s->aidx, ie->timestamp, AVSEEK_FLAG_BACKWARD) < 0)
		return;
	/* Never the same jump twice, even when nothing decoded since. */
	s->seek_floor = ie->timestamp * tb - s->origin;
	avcodec_flush_buffers(s->dec);
	raud_seek(a);
}

/* Sends a packet (NULL drains) and hands the frames on. */
static enum stage_result
rpeak_decode(struct rpeak_src *s, struct raud *a, const AVPacket *pkt)
{
	enum stage_result rc = STAGE_OK;
	int err = avcodec_send_packet(s->dec, pkt);

	/* Damage is the main pass's to judge; here it is only skipped. */
	if (err == AVERROR(ENOMEM))
		return avh_fail(s->ctx, err, "cannot decode the source audio");
	while (rc == STAGE_OK) {
		err = avcodec_receive_frame(s->dec, s->frame);
		if (err == AVERROR(ENOMEM))
			return avh_fail(
			    s->ctx, err, "cannot decode the source audio");
		if (err < 0)
			break;
		rc = raud_frame(a, s->frame);
		av_frame_unref(s->frame);
	}
	return rc;
}

static void
rpeak_progress(const struct rpeak_src *s, const struct raud *a)
{
	double end = s->p->segs[s->p->nsegs - 1].src_end;
	double f = fmin(1.0, fmax(0.0, raud_position(a)) / end);

	stage_progress(s->ctx, s->share * (s->pass + f) / RPEAK_PASSES);
}

static enum stage_result
rpeak_feed(struct rpeak_src *s, struct raud *a)
{
	enum stage_result rc = STAGE_OK;
	int err;

	while (rc == STAGE_OK && !raud_done(a)) {
		rpeak_maybe_seek(s, a);
		rpeak_progress(s, a);
		err = av_read_frame(s->fmt, s->pkt);
		if (err == AVERROR_EOF)
			return rpeak_decode(s, a, NULL);
		if (err < 0)
			return avh_fail(s->ctx, err, "cannot read the source");
		if (s->pkt->stream_index == s->aidx)
			rc = rpeak_decode(s, a, s->pkt);
		av_packet_unref(s->pkt);
	}
	return rc;
}

/* One pass at ceiling: what the output would decode to. */
static enum stage_result
rpeak_pass(struct rpeak_src *s, const struct rplan *p, double ceiling,
    struct rpeak_measure *m)
{
	const AVStream *st = s->fmt->streams[s->aidx];
	struct rpeak_probe pr;
	struct raud *a = NULL;
	enum stage_result rc;

	if (av_seek_frame(s->fmt, s->aidx,
		st->start_time != AV_NOPTS_VALUE ? st->start_time : 0,
		AVSEEK_FLAG_BACKWARD) >= 0)
		avcodec_flush_buffers(s->dec);
	s->seek_floor = 0.0;
	rc = rpeak_probe_init(s->ctx, p, &pr);
	if (rc == STAGE_OK)
		rc = raud_new(s->ctx, p, ceiling, rpeak_sink, &pr,
		    st->time_base, s->origin, &a);
	if (rc == STAGE_OK)
		rc = rpeak_feed(s, a);
	if (rc == STAGE_OK)
		rc = raud_finish(a);
	if (rc == STAGE_OK)
		rc = rpeak_probe_end(&pr, m);
	raud_free(a);
	rpeak_probe_free(&pr);
	return rc;
}

/*
 * The change of gain that lands the target, 0 within the tolerance, when
 * nothing is measurable, or when the plan's gain already moved as far as
 * it may.
 */
static double
rpeak_gain_fix(const struct rplan *p, double planned, double lufs)
{
	double miss = p->target_lufs - lufs, gain;

	if (!isfinite(p->target_lufs) || !isfinite(lufs) ||
	    fabs(miss) <= RPEAK_LOUDNESS_TOL_LU)
		return 0.0;
	gain = fmin(fmax(p->gain_db + miss, planned - RPEAK_GAIN_FIX_DB),
	    planned + RPEAK_GAIN_FIX_DB);
	gain = fmin(fmax(gain, -RPLAN_GAIN_MAX_DB), RPLAN_GAIN_MAX_DB);
	return gain - p->gain_db;
}

enum stage_result
rpeak_calibrate(struct stage_ctx *ctx, struct rplan *p, const char *source,
    int vidx, int aidx, double share, double *ceiling_db, int *passes)
{
	double target = p->tp_limit_db - RPEAK_SAFETY_DB, planned = p->gain_db;
	double fix = 0.0;
	struct rpeak_measure m = {0.0, -HUGE_VAL};
	struct rpeak_src s;
	enum stage_result rc;

	*ceiling_db = p->tp_limit_db - RPEAK_FIRST_MARGIN_DB;
	*passes = 0;
	rc = rpeak_src_open(ctx, source, vidx, aidx, &s);
	s.p = p;
	s.share = share;
	while (rc == STAGE_OK && *passes < RPEAK_PASSES) {
		s.pass = *passes;
		rc = rpeak_pass(&s, p, *ceiling_db, &m);
		(*passes)++;
		if (rc != STAGE_OK)
			break;
		fix = *passes < RPEAK_PASSES
			  ? rpeak_gain_fix(p, planned, m.lufs)
			  : 0.0;
		if (m.tp_db <= target && fix == 0.0)
			break;
		/* The excess, and a little more each time it recurs. */
		if (m.tp_db > target)
			*ceiling_db -= m.tp_db - target + 0.1 * *passes;
		p->gain_db += fix;
	}
	if (rc == STAGE_OK)
		log_info(
		    "audio: gain %+.2f dB (planned %+.2f), limiter ceiling "
		    "%.2f dBTP after %d pass(es), coded %.2f LUFS, true "
		    "peak %.2f dBTP",
		    p->gain_db, planned, *ceiling_db, *passes, m.lufs, m.tp_db);
	rpeak_src_close(&s);
	return rc;
}

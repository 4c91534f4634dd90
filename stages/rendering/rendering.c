/*
 * The rendering stage (see rendering.h and docs/stages/rendering.md).
 *
 * One demux loop feeds the video decoder (then render_video.c) and the
 * audio decoder (then render_audio.c); both write to one encoder and
 * muxer (encode.c) as the timeline advances. Before each packet the loop
 * asks both sides for the earliest source time they still need; when the
 * keyframe before it lies more than RENDER_SEEK_GAIN_S ahead of where the
 * decode is, it seeks there instead of decoding the gap.
 *
 * Damage policy (as in av_video.c): the source fails as STAGE_E_DATA when
 * more than RENDER_BAD_MIN packets, and more than RENDER_BAD_SHARE of
 * them, failed to read or decode or came out of the decoder flagged
 * corrupt (checked at the end, and as soon as RENDER_BAD_EARLY are bad);
 * the demuxer's own corrupt flag is no loss, as in av_video.c: MPEG-TS
 * sets it on packets the decoder decodes whole. It also fails when
 * RENDER_READ_ERRORS_MAX reads fail in a row, or when its video ends
 * before the last frame the plan uses (render_video.c).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "av.h"
#include "contact.h"
#include "encode.h"
#include "log.h"
#include "render_audio.h"
#include "render_conform.h"
#include "render_lut.h"
#include "render_peak.h"
#include "render_plan.h"
#include "render_report.h"
#include "render_soundtrack.h"
#include "render_video.h"
#include "rendering.h"
#include "util.h"

const struct stage_ops stage_rendering_ops = {"rendering", rendering_run};

#define RENDER_SEEK_GAIN_S 2.0
#define RENDER_BAD_MIN 2
/* Past this many bad packets (and the share) the render stops early. */
#define RENDER_BAD_EARLY 50
#define RENDER_BAD_SHARE 0.01
#define RENDER_READ_ERRORS_MAX 32
/*
 * Progress: the limiter calibration up to the first fraction, the render
 * up to the second, the contact sheet the rest.
 */
#define RENDER_CALIBRATE_SHARE 0.03
#define RENDER_VIDEO_SHARE 0.95
#define RENDER_DEFAULT_STEP (1.0 / 25.0)
/* The template's music is decoded this far ahead of the video. */
#define RENDER_SOUNDTRACK_LEAD_S 0.5

struct render {
	struct stage_ctx *ctx;
	struct rplan plan;
	struct rlut *lut;
	const char *source, *template_path;
	AVFormatContext *fmt;
	AVCodecContext *vdec, *adec;
	int vidx, aidx;
	double vtb, origin, step, last_t;
	struct rconf *conf;
	struct enc *enc;
	struct rvid *vid;
	struct raud *aud;
	struct rsnd *track; /* the template's music, when the plan says so */
	struct contact *sheet;
	struct rrep *report;
	int64_t tap_at[CONTACT_COLS];
	AVPacket *pkt;
	AVFrame *frame;
	int64_t packets, bad, seeks;
	double seek_floor; /* source time of the last jump */
	/* A jump led to no picture (false keyframe flags): decode through. */
	bool decode_through;
	int read_errors;
	bool committed;
	char out_part[PATH_MAX], out_path[PATH_MAX];
	char sheet_part[PATH_MAX], sheet_path[PATH_MAX];
	char report_path[PATH_MAX];
	int64_t t0;
	double render_s; /* demux to the end of encoding */
};

static void
render_paths(struct render *r)
{
	const char *d = r->ctx->job_dir;

	snprintf(r->out_part, sizeof(r->out_part), "%s/%s", d,
	    RENDERING_OUTPUT_PART);
	snprintf(
	    r->out_path, sizeof(r->out_path), "%s/%s", d, RENDERING_OUTPUT);
	snprintf(r->sheet_part, sizeof(r->sheet_part), "%s/%s", d,
	    RENDERING_CONTACT_PART);
	snprintf(r->sheet_path, sizeof(r->sheet_path), "%s/%s", d,
	    RENDERING_CONTACT);
	snprintf(r->report_path, sizeof(r->report_path), "%s/%s", d, RREP_FILE);
	/* Left by a run that was killed. */
	(void)unlink(r->out_part);
	(void)unlink(r->sheet_part);
}

static enum stage_result
render_inputs(struct render *r)
{
	char path[PATH_MAX];
	enum stage_result rc;

	snprintf(path, sizeof(path), "%s/%s", r->ctx->job_dir, RPLAN_FILE);
	if ((rc = rplan_load(r->ctx, path, &r->plan)) != STAGE_OK)
		return rc;
	snprintf(
	    path, sizeof(path), "%s/%s", r->ctx->job_dir, r->plan.lut_file);
	if ((rc = rlut_load(r->ctx, path, &r->lut)) != STAGE_OK)
		return rc;
	r->source = r->ctx->source != NULL ? r->ctx->source : r->plan.source;
	r->template_path = r->plan.template_path[0] != '\0'
			       ? r->plan.template_path
			       : r->ctx->template_path;
	if (r->source == NULL || r->source[0] == '\0')
		return stage_fail(
		    r->ctx, STAGE_E_NOINPUT, "the job has no source video");
	return STAGE_OK;
}

static enum stage_result
render_streams(struct render *r)
{
	const AVStream *vst;
	unsigned i;

	r->vidx =
	    av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (r->vidx < 0)
		return stage_fail(
		    r->ctx, STAGE_E_DATA, "the source has no video stream");
	r->aidx = -1;
	if (r->plan.audio && !r->plan.template_soundtrack) {
		r->aidx = avh_audio_stream(r->fmt);
		if (r->aidx < 0)
			return stage_fail(r->ctx, STAGE_E_DATA,
			    "plan.json has audio but the source has none");
	}
	for (i = 0; i < r->fmt->nb_streams; i++) {
		if ((int)i != r->vidx && (int)i != r->aidx)
			r->fmt->streams[i]->discard = AVDISCARD_ALL;
	}
	vst = r->fmt->streams[r->vidx];
	r->vtb = av_q2d(vst->time_base);
	r->origin =
	    vst->start_time != AV_NOPTS_VALUE ? vst->start_time * r->vtb : 0.0;
	r->step = vst->avg_frame_rate.num > 0 && vst->avg_frame_rate.den > 0
		      ? 1.0 / av_q2d(vst->avg_frame_rate)
		      : RENDER_DEFAULT_STEP;
	r->last_t = -INFINITY;
	return STAGE_OK;
}

static enum stage_result
render_tap(void *arg, const AVFrame *f, int64_t n)
{
	struct render *r = arg;
	enum stage_result rc = rrep_video(r->report, f, n);
	int k;

	for (k = 0; rc == STAGE_OK && k < CONTACT_COLS; k++) {
		if (r->tap_at[k] == n)
			return contact_put(r->ctx, r->sheet, CONTACT_OUTPUT, k,
			    f, 0, (AVRational){1, 1});
	}
	return rc;
}

static enum stage_result
render_sink(void *arg, const float *x, int n)
{
	struct render *r = arg;
	enum stage_result rc = rrep_audio(r->report, x, n);

	return rc == STAGE_OK ? enc_audio(r->enc, x, n) : rc;
}

static enum stage_result
render_soundtrack(struct render *r)
{
	if (r->template_path == NULL || r->template_path[0] == '\0')
		return stage_fail(r->ctx, STAGE_E_NOINPUT,
		    "plan.json takes the template's audio but names no "
		    "template");
	return rsnd_open(r->ctx, r->template_path, &r->plan,
	    RENDER_CALIBRATE_SHARE, render_sink, r, &r->track);
}

static enum stage_result
render_output(struct render *r)
{
	const struct rplan *p = &r->plan;
	struct enc_video_cfg v = {
	    p->width, p->height, p->fps, p->preset, p->crf};
	struct enc_audio_cfg a = {p->audio_rate, p->audio_bitrate};
	enum stage_result rc = STAGE_OK;
	char plan_path[PATH_MAX];
	double ceiling;
	int k, passes;

	snprintf(
	    plan_path, sizeof(plan_path), "%s/%s", r->ctx->job_dir, RPLAN_FILE);
	if (r->aidx >= 0) {
		rc = rpeak_calibrate(r->ctx, &r->plan, r->source, r->vidx,
		    r->aidx, RENDER_CALIBRATE_SHARE, &ceiling, &passes);
		stage_progress(r->ctx, RENDER_CALIBRATE_SHARE);
	}
	if (rc == STAGE_OK)
		rc = enc_open(
		    r->ctx, r->out_part, &v, p->audio ? &a : NULL, &r->enc);
	if (rc == STAGE_OK)
		rc = rvid_new(r->ctx, p, r->conf, r->enc, &r->vid);
	if (rc == STAGE_OK)
		rc = rrep_new(r->ctx, plan_path, p, &r->report);
	if (rc == STAGE_OK && p->template_soundtrack)
		rc = render_soundtrack(r);
	if (rc == STAGE_OK && r->aidx >= 0)
		rc = raud_new(r->ctx, p, ceiling, render_sink, r,
		    r->fmt->streams[r->aidx]->time_base, r->origin, &r->aud);
	if (rc == STAGE_OK && (r->sheet = contact_new()) == NULL)
		rc = stage_fail(r->ctx, STAGE_E_TEMP, "out of memory");
	if (rc != STAGE_OK)
		return rc;
	for (k = 0; k < CONTACT_COLS; k++)
		r->tap_at[k] = (int64_t)(contact_fraction(k) * p->nframes);
	rvid_set_tap(r->vid, render_tap, r);
	return STAGE_OK;
}

static enum stage_result
render_prepare(struct render *r)
{
	AVStream *vst;
	enum stage_result rc;

	render_paths(r);
	if ((rc = render_inputs(r)) != STAGE_OK ||
	    (rc = avh_open_input(r->ctx, r->source, &r->fmt)) != STAGE_OK ||
	    (rc = render_streams(r)) != STAGE_OK ||
	    (rc = avh_open_decoder(r->ctx, r->fmt, r->vidx, 0, &r->vdec)) !=
		STAGE_OK)
		return rc;
	if (r->aidx >= 0 && (rc = avh_open_decoder(r->ctx, r->fmt, r->aidx, 0,
				 &r->adec)) != STAGE_OK)
		return rc;
	vst = r->fmt->streams[r->vidx];
	rc = rconf_new(r->ctx, &r->plan, r->lut, vst,
	    av_guess_sample_aspect_ratio(r->fmt, vst, NULL), &r->conf);
	if (rc != STAGE_OK)
		return rc;
	if ((r->pkt = av_packet_alloc()) == NULL ||
	    (r->frame = av_frame_alloc()) == NULL)
		return stage_fail(r->ctx, STAGE_E_TEMP, "out of memory");
	return render_output(r);
}

static bool
render_done(const struct render *r)
{
	return rvid_done(r->vid) && (r->aud == NULL || raud_done(r->aud));
}

/* Seeks over a gap no one needs, when a keyframe lets it skip enough. */
/* Moves the demuxer to the video timestamp ts and resets the decode. */
static bool
render_jump(struct render *r, int64_t ts)
{
	if (av_seek_frame(r->fmt, r->vidx, ts, AVSEEK_FLAG_BACKWARD) < 0)
		return false;
	avcodec_flush_buffers(r->vdec);
	if (r->adec != NULL)
		avcodec_flush_buffers(r->adec);
	rvid_seek(r->vid);
	if (r->aud != NULL)
		raud_seek(r->aud);
	r->last_t = -INFINITY;
	r->seeks++;
	return true;
}

static void
render_maybe_seek(struct render *r)
{
	AVStream *vst = r->fmt->streams[r->vidx];
	const AVIndexEntry *ie;
	double need = rvid_next_need(r->vid), pos = rvid_position(r->vid);

	if (r->aud != NULL) {
		need = fmin(need, raud_next_need(r->aud));
		pos = fmax(pos, raud_position(r->aud));
	}
	/* The demuxer is at least where it last jumped to, even when
	 * nothing decoded since (damage): no jump is ever made twice. */
	pos = fmax(pos, r->seek_floor);
	if (r->decode_through || isinf(need) || need - pos < RENDER_SEEK_GAIN_S)
		return;
	ie = avformat_index_get_entry_from_timestamp(
	    vst, llround((need + r->origin) / r->vtb), AVSEEK_FLAG_BACKWARD);
	if (ie == NULL ||
	    ie->timestamp * r->vtb - r->origin - pos < RENDER_SEEK_GAIN_S)
		return;
	if (render_jump(r, ie->timestamp))
		r->seek_floor = ie->timestamp * r->vtb - r->origin;
}

/*
 * An index that flags frames as keyframes that are not (a corpus MP4
 * does) makes a jump land where nothing decodes to the end: the render
 * then goes back to the start, whose first frame is a true keyframe, and
 * decodes through without jumping again.
 */
static bool
render_retry_through(struct render *r)
{
	const AVStream *vst = r->fmt->streams[r->vidx];

	if (r->seeks == 0 || r->decode_through || rvid_done(r->vid))
		return false;
	log_warnx("the source's jump to %.2f s decoded nothing; decoding it "
		  "through from the start",
	    r->seek_floor);
	r->decode_through = true;
	return render_jump(
	    r, vst->start_time != AV_NOPTS_VALUE ? vst->start_time : 0);
}

/* Source time of a decoded video frame; NAN to skip it (not after the
 * previous one). */
static double
render_time(struct render *r, const AVFrame *f)
{
	int64_t ts = f->best_effort_timestamp;
	double t;

	if (ts == AV_NOPTS_VALUE)
		t = isinf(r->last_t) ? 0.0 : r->last_t + r->step;
	else
		t = ts * r->vtb - r->origin;
	if (!isinf(r->last_t) && t <= r->last_t)
		return NAN;
	if (!isinf(r->last_t) && t - r->last_t < 1.0)
		r->step = t - r->last_t;
	r->last_t = t;
	return t;
}

/*
 * Output frames done, or source decoded up to t where the last segment
 * ends, whichever is further: the second keeps progress moving while
 * the decode crosses a gap it cannot seek over.
 */
static void
render_progress(struct render *r, double t)
{
	const struct rplan *p = &r->plan;
	double f = (double)rvid_emitted(r->vid) / (double)p->nframes;

	if (!isnan(t))
		f = fmax(f, t / p->segs[p->nsegs - 1].src_end);
	f = fmin(f, 1.0);
	stage_progress(
	    r->ctx, RENDER_CALIBRATE_SHARE +
			(RENDER_VIDEO_SHARE - RENDER_CALIBRATE_SHARE) * f);
}

/*
 * A decoder's refusal of damaged data counts against the source (and the
 * decode goes on with the next packet); running out of memory does not.
 */
static enum stage_result
render_decode_error(struct render *r, int err)
{
	if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
		return STAGE_OK;
	if (err == AVERROR(ENOMEM))
		return avh_fail(r->ctx, err, "cannot decode the source");
	r->bad++;
	return STAGE_OK;
}

/* Fails once more than min packets, and RENDER_BAD_SHARE, were bad. */
static enum stage_result
render_damage(struct render *r, int64_t min)
{
	if (r->bad <= min || r->bad <= RENDER_BAD_SHARE * (double)r->packets)
		return STAGE_OK;
	return stage_fail(r->ctx, STAGE_E_DATA,
	    "the source is damaged: %lld of its first %lld packets failed to "
	    "decode",
	    (long long)r->bad, (long long)r->packets);
}

static enum stage_result
render_video_frames(struct render *r)
{
	enum stage_result rc = STAGE_OK;
	double t;
	int err;

	for (;;) {
		err = avcodec_receive_frame(r->vdec, r->frame);
		if (err < 0)
			return render_decode_error(r, err);
		if (r->frame->decode_error_flags != 0 ||
		    (r->frame->flags & AV_FRAME_FLAG_CORRUPT) != 0)
			r->bad++;
		t = render_time(r, r->frame);
		if (!isnan(t))
			rc = rvid_frame(r->vid, r->frame, t);
		av_frame_unref(r->frame);
		if (rc != STAGE_OK)
			return rc;
		render_progress(r, t);
	}
}

static enum stage_result
render_audio_frames(struct render *r)
{
	enum stage_result rc;
	int err;

	for (;;) {
		err = avcodec_receive_frame(r->adec, r->frame);
		if (err < 0)
			return render_decode_error(r, err);
		rc = raud_frame(r->aud, r->frame);
		av_frame_unref(r->frame);
		if (rc != STAGE_OK)
			return rc;
	}
}

/* Sends a packet (NULL drains) to one decoder and takes its frames. */
static enum stage_result
render_decode(struct render *r, bool video, const AVPacket *pkt)
{
	AVCodecContext *dec = video ? r->vdec : r->adec;
	int err = avcodec_send_packet(dec, pkt);
	enum stage_result rc = STAGE_OK;

	if (err < 0)
		rc = render_decode_error(r, err);
	if (rc == STAGE_OK)
		rc = video ? render_video_frames(r) : render_audio_frames(r);
	return rc == STAGE_OK ? render_damage(r, RENDER_BAD_EARLY) : rc;
}

static enum stage_result
render_packet(struct render *r)
{
	bool video = r->pkt->stream_index == r->vidx;

	if (video ? rvid_done(r->vid)
		  : r->aud == NULL || r->pkt->stream_index != r->aidx ||
			raud_done(r->aud))
		return STAGE_OK;
	r->packets++;
	return render_decode(r, video, r->pkt);
}

static enum stage_result
render_drain(struct render *r)
{
	enum stage_result rc = STAGE_OK;

	if (!rvid_done(r->vid))
		rc = render_decode(r, true, NULL);
	if (rc == STAGE_OK && r->aud != NULL && !raud_done(r->aud))
		rc = render_decode(r, false, NULL);
	return rc;
}

static enum stage_result
render_loop(struct render *r)
{
	enum stage_result rc;
	int err;

	while (!render_done(r)) {
		render_maybe_seek(r);
		err = av_read_frame(r->fmt, r->pkt);
		if (err == AVERROR_EOF) {
			rc = render_drain(r);
			if (rc != STAGE_OK || !render_retry_through(r))
				return rc;
			continue;
		}
		if (err < 0) {
			r->bad++;
			if (++r->read_errors >= RENDER_READ_ERRORS_MAX)
				return avh_fail(
				    r->ctx, err, "cannot read the source");
			continue;
		}
		r->read_errors = 0;
		rc = render_packet(r);
		av_packet_unref(r->pkt);
		if (rc == STAGE_OK && r->track != NULL)
			rc = rsnd_pump(r->track,
			    rplan_frame_time(&r->plan, rvid_emitted(r->vid)) +
				RENDER_SOUNDTRACK_LEAD_S);
		if (rc != STAGE_OK)
			return rc;
	}
	return STAGE_OK;
}

static enum stage_result
render_end(struct render *r)
{
	enum stage_result rc = rvid_finish(r->vid, r->step);

	if (rc == STAGE_OK && r->aud != NULL)
		rc = raud_finish(r->aud);
	if (rc == STAGE_OK && r->track != NULL)
		rc = rsnd_finish(r->track);
	if (rc == STAGE_OK)
		rc = render_damage(r, RENDER_BAD_MIN);
	if (rc == STAGE_OK)
		rc = enc_finish(r->enc);
	r->render_s = (clock_monotonic_us() - r->t0) / 1e6;
	if (rc == STAGE_OK)
		rc = rrep_write(r->report,
		    &(struct rrep_decode){r->packets, r->bad, r->seeks});
	return rc;
}

/* A row that cannot be read stays grey: the video itself is fine. */
static void
render_sheet_row(struct render *r, int row, const char *path, double dur)
{
	enum stage_result rc;

	if (path == NULL || path[0] == '\0') {
		log_warnx("contact sheet: no %s video",
		    row == CONTACT_TEMPLATE ? "template" : "source");
		return;
	}
	rc = contact_put_file(r->ctx, r->sheet, row, path, dur);
	if (rc != STAGE_OK) {
		log_warnx("contact sheet: %s", r->ctx->error);
		r->ctx->error[0] = '\0';
	}
}

static enum stage_result
render_sheet(struct render *r)
{
	render_sheet_row(
	    r, CONTACT_TEMPLATE, r->template_path, r->plan.template_duration);
	stage_progress(r->ctx, (1.0 + RENDER_VIDEO_SHARE) / 2.0);
	render_sheet_row(r, CONTACT_SOURCE, r->source, r->plan.source_duration);
	return contact_write(r->ctx, r->sheet, r->sheet_part);
}

static enum stage_result
render_commit(struct render *r)
{
	if (rename(r->sheet_part, r->sheet_path) != 0)
		return stage_fail(r->ctx, STAGE_E_IO, "cannot rename %s: %s",
		    r->sheet_part, strerror(errno));
	if (rename(r->out_part, r->out_path) != 0) {
		(void)unlink(r->sheet_path);
		return stage_fail(r->ctx, STAGE_E_IO, "cannot rename %s: %s",
		    r->out_part, strerror(errno));
	}
	r->committed = true;
	return STAGE_OK;
}

static void
render_report(struct render *r)
{
	double s = r->render_s, fps = s > 0.0 ? rvid_emitted(r->vid) / s : 0.0;

	log_info("rendered %lld frames (%lld conformed) in %.2f s, %.1f "
		 "frames/s, %lld seeks, limiter %.1f dB",
	    (long long)rvid_emitted(r->vid), (long long)rvid_rendered(r->vid),
	    s, fps, (long long)r->seeks,
	    r->aud != NULL ? raud_limited_db(r->aud) : 0.0);
	r->ctx->result = json_pack("{s:s, s:s, s:s, s:I, s:f, s:f, s:f, s:I}",
	    "output", RENDERING_OUTPUT, "contact", RENDERING_CONTACT, "report",
	    RREP_FILE, "frames", (json_int_t)rvid_emitted(r->vid), "duration_s",
	    (double)r->plan.nframes * r->plan.fps.den / r->plan.fps.num,
	    "render_s", s, "frames_per_s", fps, "seeks", (json_int_t)r->seeks);
}

static void
render_close(struct render *r)
{
	contact_free(r->sheet);
	rrep_free(r->report);
	rsnd_free(r->track);
	raud_free(r->aud);
	rvid_free(r->vid);
	enc_free(r->enc);
	rconf_free(r->conf);
	av_frame_free(&r->frame);
	av_packet_free(&r->pkt);
	avcodec_free_context(&r->vdec);
	avcodec_free_context(&r->adec);
	avformat_close_input(&r->fmt);
	rlut_free(r->lut);
	rplan_free(&r->plan);
	if (!r->committed) {
		(void)unlink(r->out_part);
		(void)unlink(r->sheet_part);
		(void)unlink(r->report_path);
	}
}

enum stage_result
rendering_run(struct stage_ctx *ctx)
{
	struct render r;
	enum stage_result rc;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.t0 = clock_monotonic_us();
	rc = render_prepare(&r);
	if (rc == STAGE_OK)
		rc = render_loop(&r);
	if (rc == STAGE_OK)
		rc = render_end(&r);
	if (rc == STAGE_OK)
		rc = render_sheet(&r);
	if (rc == STAGE_OK)
		rc = render_commit(&r);
	if (rc == STAGE_OK) {
		render_report(&r);
		stage_progress(ctx, 1.0);
	}
	render_close(&r);
	return rc;
}

/*
 * The motion_analysis stage (see motion_analysis.h).
 *
 * Shots come from video_analysis.json. Pairs of frames that straddle a shot
 * boundary or overlap a transition are not camera motion and are marked
 * unreliable before any figure is made; so are pairs whose fit fails
 * (motion.h), which also catches cuts when the shot list is missing. When
 * the artifact is missing or has no shots for an input, the whole video is
 * one shot and the artifact says why.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "av_video.h"
#include "motion.h"
#include "motion_analysis.h"
#include "util.h"

#define MA_VA_ARTIFACT "video_analysis.json"
/* Frame times in both artifacts agree to better than this, s. */
#define MA_EPS 1e-3
/* Frame interval assumed when a file has one frame and no rate. */
#define MA_DEFAULT_DT 0.04

const struct stage_ops stage_motion_analysis_ops = {
    "motion_analysis", motion_analysis_run};

struct ma_span {
	double t0, t1;
};

/* The shots of one input; n == 0 means the whole video, for note. */
struct ma_shots {
	struct ma_span *shot;
	size_t n;
	struct ma_span *skip; /* transitions: no camera motion inside */
	size_t nskip;
	char note[256];
};

struct ma_state {
	struct stage_ctx *ctx;
	const struct ma_shots *sh;
	struct motion_est *est;
	struct motion_sample *s;
	size_t n, cap, reliable;
	int64_t frames;
	double t_prev, t_last, dt_last;
	int width, height;
	double fps_declared;
};

struct ma_progress {
	struct stage_ctx *ctx;
	double base, weight;
};

/* Shots counted for zoom_usage. */
struct ma_tally {
	size_t known, moving;
};

static bool
ma_number(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

/* video_analysis.json, or NULL with the reason in note. */
static json_t *
ma_va_load(const struct stage_ctx *ctx, char *note, size_t size)
{
	char path[PATH_MAX];
	json_error_t err;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/%s", ctx->job_dir, MA_VA_ARTIFACT);
	if (access(path, F_OK) == -1) {
		snprintf(note, size, "%s is missing", MA_VA_ARTIFACT);
		return NULL;
	}
	if ((doc = json_load_file(path, 0, &err)) == NULL)
		snprintf(note, size, "%s cannot be read: %s", MA_VA_ARTIFACT,
		    err.text);
	return doc;
}

static void
ma_shots_free(struct ma_shots *sh)
{
	free(sh->shot);
	free(sh->skip);
	sh->shot = sh->skip = NULL;
	sh->n = sh->nskip = 0;
}

/* Shot i, with the transition into it; false when malformed. */
static bool
ma_shot_parse(const json_t *e, size_t i, struct ma_shots *sh)
{
	const json_t *tr = json_object_get(e, "transition_in");
	double t0, t1;

	if (!ma_number(e, "start_s", &t0) || !ma_number(e, "end_s", &t1) ||
	    t1 < t0 || (i > 0 && t0 < sh->shot[i - 1].t0))
		return false;
	sh->shot[i] = (struct ma_span){t0, t1};
	if (i > 0 && ma_number(tr, "start_s", &t0) &&
	    ma_number(tr, "end_s", &t1) && t1 >= t0)
		sh->skip[sh->nskip++] = (struct ma_span){t0, t1};
	return true;
}

/* Returns -1 when out of memory; a shot list it cannot use sets note. */
static int
ma_shots_parse(const json_t *doc, const char *role, struct ma_shots *sh)
{
	const json_t *arr =
	    json_object_get(json_object_get(doc, role), "shots");
	const json_t *e;
	size_t i, n = json_array_size(arr);

	if (n == 0) {
		snprintf(sh->note, sizeof(sh->note),
		    "%s has no shots for the %s", MA_VA_ARTIFACT, role);
		return 0;
	}
	sh->shot = calloc(n, sizeof(*sh->shot));
	sh->skip = calloc(n, sizeof(*sh->skip));
	if (sh->shot == NULL || sh->skip == NULL) {
		ma_shots_free(sh);
		return -1;
	}
	json_array_foreach(arr, i, e)
	{
		if (!ma_shot_parse(e, i, sh)) {
			ma_shots_free(sh);
			snprintf(sh->note, sizeof(sh->note),
			    "%s: the %s's shot %zu has no valid start_s and "
			    "end_s",
			    MA_VA_ARTIFACT, role, i);
			return 0;
		}
	}
	sh->n = n;
	return 0;
}

/* False when the pair t0..t1 straddles a cut or overlaps a transition. */
static bool
ma_pair_clear(const struct ma_shots *sh, double t0, double t1)
{
	double b;
	size_t i;

	for (i = 1; i < sh->n; i++) {
		b = sh->shot[i].t0;
		if (t0 + MA_EPS < b && b < t1 + MA_EPS)
			return false;
	}
	for (i = 0; i < sh->nskip; i++) {
		if (t0 < sh->skip[i].t1 - MA_EPS &&
		    t1 > sh->skip[i].t0 + MA_EPS)
			return false;
	}
	return true;
}

static int
ma_append(struct ma_state *st, const struct motion_sample *smp)
{
	struct motion_sample *s;
	size_t cap;

	if (st->n == st->cap) {
		cap = st->cap > 0 ? 2 * st->cap : 1024;
		if ((s = reallocarray(st->s, cap, sizeof(*s))) == NULL)
			return -1;
		st->s = s;
		st->cap = cap;
	}
	st->s[st->n++] = *smp;
	st->reliable += smp->reliable;
	return 0;
}

static enum stage_result
ma_frame(struct ma_state *st, const struct avv_frame *fr)
{
	struct motion_pair p;
	struct motion_sample smp;
	double dt = fr->t - st->t_prev;

	if (motion_est_push(st->est, fr->data[0], fr->linesize[0], &p) == 1) {
		motion_sample_of(&p, fr->width, st->t_prev, dt, &smp);
		if (!ma_pair_clear(st->sh, st->t_prev, fr->t))
			smp.reliable = false;
		if (ma_append(st, &smp) == -1)
			return stage_fail(st->ctx, STAGE_E_TEMP,
			    "out of memory after %lld frames",
			    (long long)st->frames);
		st->dt_last = dt;
	}
	st->t_prev = st->t_last = fr->t;
	st->frames++;
	return STAGE_OK;
}

static enum stage_result
ma_start(struct ma_state *st, const struct avv_info *in, const char *path)
{
	st->width = in->proxy_width;
	st->height = in->proxy_height;
	st->fps_declared = in->fps_declared;
	if (st->width < MOTION_MIN_SIDE || st->height < MOTION_MIN_SIDE)
		return stage_fail(st->ctx, STAGE_E_DATA,
		    "%s: a %dx%d video is too small to measure motion", path,
		    in->display_width, in->display_height);
	if ((st->est = motion_est_new(st->width, st->height)) == NULL)
		return stage_fail(st->ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

/* Decodes path once and measures every frame pair into st. */
static enum stage_result
ma_decode(struct ma_state *st, const char *path, const struct ma_progress *pg)
{
	struct avv *v;
	struct avv_frame fr;
	enum stage_result rc;
	int got = 0;

	rc = avv_open(st->ctx, path, MA_PROXY_SIZE, AV_PIX_FMT_GRAY8, &v);
	if (rc != STAGE_OK)
		return rc;
	rc = ma_start(st, avv_info(v), path);
	while (rc == STAGE_OK && (got = avv_next(v, &fr)) > 0) {
		rc = ma_frame(st, &fr);
		stage_progress(
		    pg->ctx, pg->base + pg->weight * avv_progress(v));
	}
	if (rc == STAGE_OK && got < 0)
		rc = avv_error(v);
	motion_est_free(st->est);
	st->est = NULL;
	avv_close(v);
	return rc;
}

/* A number rounded to a multiple of unit; never -0. */
static json_t *
ma_num(double v, double unit)
{
	return json_real(round(v / unit) * unit + 0.0);
}

static json_t *
ma_num_if(bool known, double v, double unit)
{
	return known ? ma_num(v, unit) : json_null();
}

static json_t *
ma_shot_json(
    const struct ma_span *sp, const struct motion_shot *o, double aspect)
{
	bool k = o->camera != MOTION_UNKNOWN;
	double share =
	    o->duration_s > 0.0 ? o->reliable_s / o->duration_s : 0.0;

	return json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "start_s", ma_num(sp->t0, 1e-3), "end_s", ma_num(sp->t1, 1e-3),
	    "camera", motion_camera_name(o->camera), "tx_fw_per_s",
	    ma_num_if(k, o->vx, 1e-4), "ty_fh_per_s",
	    ma_num_if(k, o->vy * aspect, 1e-4), "zoom_per_s",
	    ma_num_if(k, o->vz, 1e-4), "rotation_deg_per_s",
	    ma_num_if(k, o->vr * 180.0 / M_PI, 1e-3), "shake",
	    ma_num_if(k, o->shake, 1e-4), "speed_fw_per_s",
	    ma_num_if(k, o->speed, 1e-4), "reliable_share",
	    ma_num(share, 1e-3));
}

/* Samples [*lo, return) start inside shot i (the last takes the rest). */
static size_t
ma_shot_end(const struct ma_state *st, const struct ma_span *shots, size_t n,
    size_t i, size_t lo)
{
	size_t hi = lo;

	if (i + 1 == n)
		return st->n;
	while (hi < st->n && st->s[hi].t + MA_EPS < shots[i + 1].t0)
		hi++;
	return hi;
}

static json_t *
ma_shots_json(const struct ma_state *st, const struct ma_span *shots, size_t n,
    struct ma_tally *tally)
{
	struct motion_shot o;
	json_t *arr = json_array();
	size_t i, lo = 0, hi;
	double aspect = (double)st->width / st->height;

	for (i = 0; arr != NULL && i < n; i++, lo = hi) {
		hi = ma_shot_end(st, shots, n, i, lo);
		if (motion_classify(st->s + lo, hi - lo, &o) == -1 ||
		    json_array_append_new(
			arr, ma_shot_json(&shots[i], &o, aspect)) == -1) {
			json_decref(arr);
			return NULL;
		}
		tally->known += o.camera != MOTION_UNKNOWN;
		tally->moving += o.camera == MOTION_PAN ||
				 o.camera == MOTION_TILT ||
				 o.camera == MOTION_ZOOM;
	}
	return arr;
}

/* Means of speed and zoom over the reliable pairs starting in second k. */
static json_t *
ma_second_json(const struct ma_state *st, size_t k, size_t *i)
{
	double dt = 0.0, speed = 0.0, zoom = 0.0;
	const struct motion_sample *s;

	for (; *i < st->n && floor(st->s[*i].t + 1e-9) <= (double)k; (*i)++) {
		s = &st->s[*i];
		if (!s->reliable)
			continue;
		dt += s->dt;
		speed += s->speed * s->dt;
		zoom += s->vz * s->dt;
	}
	return json_pack("{s:I, s:o, s:o}", "t_s", (json_int_t)k, "speed",
	    ma_num_if(dt > 0.0, speed / dt, 1e-4), "zoom",
	    ma_num_if(dt > 0.0, zoom / dt, 1e-4));
}

static json_t *
ma_per_second(const struct ma_state *st, double duration)
{
	size_t k, i = 0, nsec = (size_t)ceil(duration - 1e-6);
	json_t *arr = json_array();

	for (k = 0; arr != NULL && k < nsec; k++) {
		if (json_array_append_new(arr, ma_second_json(st, k, &i)) ==
		    -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static double
ma_mean_speed(const struct ma_state *st)
{
	double dt = 0.0, sum = 0.0;
	size_t i;

	for (i = 0; i < st->n; i++) {
		if (!st->s[i].reliable)
			continue;
		dt += st->s[i].dt;
		sum += st->s[i].speed * st->s[i].dt;
	}
	return dt > 0.0 ? sum / dt : 0.0;
}

static double
ma_fps(const struct ma_state *st)
{
	if (st->frames >= 2 && st->t_last > 0.0)
		return (double)(st->frames - 1) / st->t_last;
	return st->fps_declared;
}

static json_t *
ma_figures(
    const struct ma_state *st, const struct ma_tally *tally, double duration)
{
	double speed = ma_mean_speed(st);
	double usage =
	    tally->known > 0 ? 100.0 * tally->moving / tally->known : 0.0;

	return json_pack("{s:I, s:o, s:o, s:{s:i, s:i}, s:I, s:I, s:o, s:o, "
			 "s:o}",
	    "frames_analysed", (json_int_t)st->frames, "fps",
	    ma_num(ma_fps(st), 1e-3), "duration_s", ma_num(duration, 1e-3),
	    "proxy", "width", st->width, "height", st->height, "pairs_reliable",
	    (json_int_t)st->reliable, "pairs_unreliable",
	    (json_int_t)(st->n - st->reliable), "motion_intensity",
	    ma_num(100.0 * fmin(1.0, speed / MA_SPEED_FULL), 0.1), "zoom_usage",
	    ma_num(usage, 0.1), "mean_speed_fw_per_s", ma_num(speed, 1e-4));
}

/* The artifact's object for one input. */
static json_t *
ma_report(const struct ma_state *st, const struct ma_shots *sh)
{
	double dt = st->dt_last > 0.0	     ? st->dt_last
		    : st->fps_declared > 0.0 ? 1.0 / st->fps_declared
					     : MA_DEFAULT_DT;
	double duration = st->t_last + dt;
	struct ma_span whole = {0.0, duration};
	struct ma_tally tally = {0, 0};
	json_t *o, *shots;

	shots = sh->n > 0 ? ma_shots_json(st, sh->shot, sh->n, &tally)
			  : ma_shots_json(st, &whole, 1, &tally);
	o = ma_figures(st, &tally, duration);
	if (o == NULL || shots == NULL ||
	    json_object_set_new(o, "shots_from",
		json_string(sh->n > 0 ? "video_analysis" : "whole_video")) ==
		-1 ||
	    (sh->n == 0 && json_object_set_new(
			       o, "shots_note", json_string(sh->note)) == -1) ||
	    json_object_set_new(o, "shots", shots) == -1 ||
	    json_object_set_new(o, "per_second", ma_per_second(st, duration)) ==
		-1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Analyses one input; va is video_analysis.json, or NULL for va_note. */
static enum stage_result
ma_analyse(struct stage_ctx *ctx, const char *path, const json_t *va,
    const char *va_note, const char *role, const struct ma_progress *pg,
    json_t **out)
{
	struct ma_shots sh;
	struct ma_state st;
	enum stage_result rc;

	memset(&sh, 0, sizeof(sh));
	memset(&st, 0, sizeof(st));
	if (va == NULL)
		(void)str_copy(sh.note, va_note, sizeof(sh.note));
	else if (ma_shots_parse(va, role, &sh) == -1)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	st.ctx = ctx;
	st.sh = &sh;
	rc = ma_decode(&st, path, pg);
	if (rc == STAGE_OK && (*out = ma_report(&st, &sh)) == NULL)
		rc = stage_fail(
		    ctx, STAGE_E_TEMP, "out of memory building the analysis");
	free(st.s);
	ma_shots_free(&sh);
	return rc;
}

/* What reeld is told: the Style DNA figures per input. */
static json_t *
ma_summary_of(const json_t *r)
{
	if (r == NULL)
		return json_null();
	return json_pack("{s:O, s:O, s:I}", "motion_intensity",
	    json_object_get(r, "motion_intensity"), "zoom_usage",
	    json_object_get(r, "zoom_usage"), "shot_count",
	    (json_int_t)json_array_size(json_object_get(r, "shots")));
}

static enum stage_result
ma_run_inputs(struct stage_ctx *ctx, const json_t *va, const char *va_note,
    json_t **jt, json_t **js)
{
	const char *tpl = ctx->template_path, *src = ctx->source;
	bool same = tpl != NULL && src != NULL && stage_same_file(tpl, src);
	double w = tpl != NULL && src != NULL && !same ? 0.5 : 1.0;
	struct ma_progress pt = {ctx, 0.0, w}, ps = {ctx, 1.0 - w, w};
	enum stage_result rc = STAGE_OK;

	if (tpl != NULL)
		rc = ma_analyse(ctx, tpl, va, va_note, "template", &pt, jt);
	if (rc != STAGE_OK || src == NULL)
		return rc;
	if (same) {
		*js = json_incref(*jt);
		return STAGE_OK;
	}
	return ma_analyse(ctx, src, va, va_note, "source", &ps, js);
}

enum stage_result
motion_analysis_run(struct stage_ctx *ctx)
{
	json_t *va, *jt = NULL, *js = NULL, *doc;
	enum stage_result rc;
	char note[256] = "";

	if (ctx->template_path == NULL && ctx->source == NULL)
		return stage_fail(ctx, STAGE_E_NOINPUT,
		    "the job has neither a template nor a source video");
	va = ma_va_load(ctx, note, sizeof(note));
	rc = ma_run_inputs(ctx, va, note, &jt, &js);
	json_decref(va);
	if (rc != STAGE_OK) {
		json_decref(jt);
		return rc;
	}
	doc = json_pack("{s:i, s:o, s:o}", "version", MA_VERSION, "template",
	    jt != NULL ? jt : json_null(), "source",
	    js != NULL ? js : json_null());
	if (doc == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	rc = stage_write_json(ctx, MA_ARTIFACT, doc);
	if (rc == STAGE_OK)
		ctx->result = json_pack("{s:o, s:o}", "template",
		    ma_summary_of(jt), "source", ma_summary_of(js));
	json_decref(doc);
	stage_progress(ctx, 1.0);
	return rc;
}

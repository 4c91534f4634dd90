/*
 * plan.json for rendering: parsing, contract checks and the frame and
 * sample timeline (see render_plan.h). A plan is the product of our own
 * style_application, so every broken rule is reported with the segment and
 * the numbers involved rather than repaired: a repaired plan would render
 * something nobody planned.
 *
 * Frames: output frame n (time n / fps) belongs to segment i when its time
 * lies in [out_start, out_end) of i, with a tolerance of 1 us for decimal
 * rounding in the JSON. Where no dissolve joins two segments the boundary
 * frame is the incoming segment's first, so the two ranges touch exactly.
 * Audio samples cut at the same instants as frames: a segment's samples
 * are [f0, f1) converted to the audio rate.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libavutil/mathematics.h>

#include "render_plan.h"

#define RPLAN_EPS 1e-6
#define RPLAN_MAX_SIDE 8192
#define RPLAN_MAX_SEGS 100000

static const char *const rplan_presets[] = {"ultrafast", "superfast",
    "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
    "placebo", NULL};

static enum stage_result rplan_bad(struct stage_ctx *ctx, const char *fmt, ...)
    __attribute__((__format__(__printf__, 2, 3)));

static enum stage_result
rplan_bad(struct stage_ctx *ctx, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(ctx->error, sizeof(ctx->error), "%s: %s", RPLAN_FILE, what);
	return STAGE_E_DATA;
}

int
rplan_quality(const char *quality, const char **preset, int *crf)
{
	if (strcmp(quality, "low") == 0) {
		*preset = "veryfast";
		*crf = 28;
	} else if (strcmp(quality, "medium") == 0) {
		*preset = "veryfast";
		*crf = 23;
	} else if (strcmp(quality, "high") == 0) {
		*preset = "faster";
		*crf = 20;
	} else
		return -1;
	return 0;
}

enum stage_result
rplan_soundtrack(
    struct stage_ctx *ctx, const struct rplan *p, struct rplan *track)
{
	struct rplan_seg *s = calloc(1, sizeof(*s));
	int64_t fade =
	    llround(RPLAN_SOUNDTRACK_FADE_S * p->fps.num / p->fps.den);

	if (s == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	*track = *p;
	s->src_end = rplan_frame_time(p, p->nframes);
	s->tin = RPLAN_NONE;
	s->f1 = p->nframes;
	s->k1 = p->nsamples;
	s->fade_out = fade < p->nframes / 2 ? fade : p->nframes / 2;
	track->segs = s;
	track->nsegs = 1;
	track->gain_db = 0.0;
	return STAGE_OK;
}

double
rplan_frame_time(const struct rplan *p, int64_t n)
{
	return (double)n * p->fps.den / p->fps.num;
}

double
rplan_source_time(const struct rplan *p, int i, double t)
{
	return p->segs[i].src_start + (t - p->segs[i].out_start);
}

/* The first output frame at or after time t. */
static int64_t
rplan_frame_at(const struct rplan *p, double t)
{
	return (int64_t)ceil(t * p->fps.num / p->fps.den - RPLAN_EPS);
}

static int64_t
rplan_sample_of(const struct rplan *p, int64_t frame)
{
	return av_rescale(
	    frame, (int64_t)p->audio_rate * p->fps.den, p->fps.num);
}

static double
rplan_num(const json_t *o, const char *key, double def)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : def;
}

static void
rplan_str(const json_t *o, const char *key, char *dst, size_t size)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		snprintf(dst, size, "%s", json_string_value(v));
}

static enum stage_result
rplan_trans(struct stage_ctx *ctx, const json_t *t, int i, struct rplan_seg *s)
{
	const char *type = json_string_value(json_object_get(t, "type"));

	s->tin_s = rplan_num(t, "duration_s", 0.0);
	if (type == NULL || strcmp(type, "none") == 0)
		s->tin = RPLAN_NONE;
	else if (strcmp(type, "cut") == 0)
		s->tin = RPLAN_CUT;
	else if (strcmp(type, "fade") == 0)
		s->tin = RPLAN_FADE;
	else if (strcmp(type, "dissolve") == 0)
		s->tin = RPLAN_DISSOLVE;
	else
		return rplan_bad(
		    ctx, "segment %d: unknown transition \"%s\"", i, type);
	if (!isfinite(s->tin_s) || s->tin_s < 0.0 ||
	    ((s->tin == RPLAN_FADE || s->tin == RPLAN_DISSOLVE) &&
		s->tin_s <= 0.0))
		return rplan_bad(ctx, "segment %d: bad transition duration", i);
	if (i == 0 && s->tin == RPLAN_DISSOLVE)
		return rplan_bad(ctx, "segment 0 cannot dissolve from nothing");
	if (i > 0 && s->tin == RPLAN_NONE)
		s->tin = RPLAN_CUT;
	return STAGE_OK;
}

static enum stage_result
rplan_segment(struct stage_ctx *ctx, const json_t *o, int i, struct rplan *p)
{
	struct rplan_seg *s = &p->segs[i];
	enum stage_result rc;

	if (!json_is_object(o))
		return rplan_bad(ctx, "segment %d is not an object", i);
	s->src_start = rplan_num(o, "src_start_s", NAN);
	s->src_end = rplan_num(o, "src_end_s", NAN);
	s->out_start = rplan_num(o, "out_start_s", NAN);
	if (!isfinite(s->src_start) || !isfinite(s->src_end) ||
	    !isfinite(s->out_start) || s->src_start < 0.0 ||
	    s->src_end <= s->src_start || s->out_start < -RPLAN_EPS)
		return rplan_bad(ctx, "segment %d has bad times", i);
	/* Plans written before punch-ins have no zoom: the whole region. */
	s->zoom = rplan_num(o, "zoom", 1.0);
	if (!(s->zoom >= 1.0 && s->zoom <= RPLAN_ZOOM_MAX))
		return rplan_bad(ctx, "segment %d: zoom %g is not within 1..%g",
		    i, s->zoom, RPLAN_ZOOM_MAX);
	s->zoom_x = rplan_num(o, "zoom_x", 0.5);
	s->zoom_y = rplan_num(o, "zoom_y", 0.5);
	if (!(s->zoom_x >= 0.0 && s->zoom_x <= 1.0 && s->zoom_y >= 0.0 &&
		s->zoom_y <= 1.0))
		return rplan_bad(ctx,
		    "segment %d: zoom_x %g, zoom_y %g are not within 0..1", i,
		    s->zoom_x, s->zoom_y);
	if ((rc = rplan_trans(
		 ctx, json_object_get(o, "transition_in"), i, s)) != STAGE_OK)
		return rc;
	if (i > 0 && s->src_start < p->segs[i - 1].src_end - RPLAN_EPS)
		return rplan_bad(ctx,
		    "segment %d starts at %.3f s, inside segment %d (to %.3f "
		    "s)",
		    i, s->src_start, i - 1, p->segs[i - 1].src_end);
	return STAGE_OK;
}

/* out_start follows from the previous segment and the transition. */
static enum stage_result
rplan_check_join(struct stage_ctx *ctx, const struct rplan *p, int i)
{
	const struct rplan_seg *a = &p->segs[i - 1], *b = &p->segs[i];
	double end = a->out_start + (a->src_end - a->src_start);
	double want = b->tin == RPLAN_DISSOLVE ? end - b->tin_s : end;
	double tol = fmax(1e-3, 0.5 * p->fps.den / p->fps.num);

	if (fabs(b->out_start - want) > tol)
		return rplan_bad(ctx,
		    "segment %d starts at %.4f s in the output, expected %.4f "
		    "s",
		    i, b->out_start, want);
	return STAGE_OK;
}

static enum stage_result
rplan_segments(struct stage_ctx *ctx, const json_t *arr, struct rplan *p)
{
	size_t n = json_array_size(arr), i;
	enum stage_result rc;

	if (!json_is_array(arr) || n == 0 || n > RPLAN_MAX_SEGS)
		return rplan_bad(ctx,
		    "edit.segments must list 1 to %d segments", RPLAN_MAX_SEGS);
	if ((p->segs = calloc(n, sizeof(*p->segs))) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	p->nsegs = (int)n;
	for (i = 0; i < n; i++) {
		rc = rplan_segment(ctx, json_array_get(arr, i), (int)i, p);
		if (rc == STAGE_OK && i > 0)
			rc = rplan_check_join(ctx, p, (int)i);
		if (rc != STAGE_OK)
			return rc;
	}
	if (fabs(p->segs[0].out_start) > 1e-3)
		return rplan_bad(ctx, "segment 0 must start the output at 0 s");
	return STAGE_OK;
}

/* A dissolve's overlap: bounded, and never touching a third segment. */
static enum stage_result
rplan_check_overlap(struct stage_ctx *ctx, const struct rplan *p, int i)
{
	const struct rplan_seg *s = &p->segs[i], *prev = &p->segs[i - 1];
	int64_t over = prev->f1 - s->f0;

	if (over > RPLAN_DISSOLVE_MAX_FRAMES ||
	    s->tin_s > RPLAN_DISSOLVE_MAX_S + RPLAN_EPS)
		return rplan_bad(ctx,
		    "segment %d: a dissolve of %.3f s (%lld frames) is over "
		    "the limit of %.1f s and %d frames",
		    i, s->tin_s, (long long)over, RPLAN_DISSOLVE_MAX_S,
		    RPLAN_DISSOLVE_MAX_FRAMES);
	if (s->f0 <= prev->f0 || s->f1 <= prev->f1 ||
	    (i >= 2 && p->segs[i - 2].f1 > s->f0))
		return rplan_bad(ctx,
		    "segment %d: its dissolve is longer than a segment it "
		    "joins",
		    i);
	return STAGE_OK;
}

static void
rplan_fades(struct rplan *p)
{
	int64_t k;
	int i;

	for (i = 0; i < p->nsegs; i++) {
		struct rplan_seg *s = &p->segs[i];

		if (s->tin != RPLAN_FADE)
			continue;
		k = llround(s->tin_s / 2.0 * p->fps.num / p->fps.den);
		k = k < 1 ? 1 : k;
		s->fade_in = k < s->f1 - s->f0 ? k : s->f1 - s->f0;
		if (i > 0) {
			struct rplan_seg *a = &p->segs[i - 1];

			a->fade_out = k < a->f1 - a->f0 ? k : a->f1 - a->f0;
		}
	}
}

static enum stage_result
rplan_timeline(struct stage_ctx *ctx, struct rplan *p)
{
	struct rplan_seg *s, *last = &p->segs[p->nsegs - 1];
	double tol = fmax(1e-3, 0.5 * p->fps.den / p->fps.num);
	enum stage_result rc;
	int i;

	for (i = 0; i < p->nsegs; i++)
		p->segs[i].f0 =
		    i == 0 ? 0 : rplan_frame_at(p, p->segs[i].out_start);
	for (i = 0; i < p->nsegs; i++) {
		s = &p->segs[i];
		if (i + 1 < p->nsegs && s[1].tin != RPLAN_DISSOLVE)
			s->f1 = s[1].f0;
		else
			s->f1 = rplan_frame_at(
			    p, s->out_start + (s->src_end - s->src_start));
		if (s->f1 <= s->f0)
			return rplan_bad(ctx,
			    "segment %d is shorter than one output frame", i);
		if (i > 0 && s->tin == RPLAN_DISSOLVE && s[-1].f1 <= s->f0) {
			/* Shorter than a frame: no frame would blend. */
			s->tin = RPLAN_CUT;
			s[-1].f1 = s->f0;
			s[-1].k1 = rplan_sample_of(p, s->f0);
		}
		if (i > 0 && s->tin == RPLAN_DISSOLVE &&
		    (rc = rplan_check_overlap(ctx, p, i)) != STAGE_OK)
			return rc;
		s->k0 = rplan_sample_of(p, s->f0);
		s->k1 = rplan_sample_of(p, s->f1);
	}
	if (fabs(last->out_start + (last->src_end - last->src_start) -
		 p->duration) > tol)
		return rplan_bad(ctx,
		    "output.duration_s %.4f s is not the end of the last "
		    "segment",
		    p->duration);
	p->nframes = last->f1;
	p->nsamples = rplan_sample_of(p, p->nframes);
	rplan_fades(p);
	return STAGE_OK;
}

static enum stage_result
rplan_conform(struct stage_ctx *ctx, const json_t *c, struct rplan *p)
{
	const char *mode = json_string_value(json_object_get(c, "mode"));

	p->cx = (int)rplan_num(c, "x", 0);
	p->cy = (int)rplan_num(c, "y", 0);
	p->cw = (int)rplan_num(c, "w", p->width);
	p->ch = (int)rplan_num(c, "h", p->height);
	if (mode == NULL || strcmp(mode, "none") == 0)
		p->conform = RPLAN_CONFORM_NONE;
	else if (strcmp(mode, "crop") == 0)
		p->conform = RPLAN_CONFORM_CROP;
	else if (strcmp(mode, "pad") == 0)
		p->conform = RPLAN_CONFORM_PAD;
	else if (strcmp(mode, "fill") == 0)
		p->conform = RPLAN_CONFORM_FILL;
	else
		return rplan_bad(ctx, "unknown conform mode \"%s\"", mode);
	if (p->cx < 0 || p->cy < 0 || p->cw < 2 || p->ch < 2)
		return rplan_bad(ctx, "conform region %d,%d %dx%d is empty",
		    p->cx, p->cy, p->cw, p->ch);
	if ((p->conform == RPLAN_CONFORM_PAD ||
		p->conform == RPLAN_CONFORM_FILL) &&
	    (p->cx + p->cw > p->width || p->cy + p->ch > p->height))
		return rplan_bad(ctx,
		    "pad region %d,%d %dx%d is outside the %dx%d frame", p->cx,
		    p->cy, p->cw, p->ch, p->width, p->height);
	return STAGE_OK;
}

static enum stage_result
rplan_output(struct stage_ctx *ctx, const json_t *o, struct rplan *p)
{
	const json_t *fr = json_object_get(o, "frame_rate");
	double num = rplan_num(fr, "num", 0), den = rplan_num(fr, "den", 1);

	p->width = (int)rplan_num(o, "width", 0);
	p->height = (int)rplan_num(o, "height", 0);
	p->duration = rplan_num(o, "duration_s", NAN);
	if (p->width < 2 || p->height < 2 || p->width > RPLAN_MAX_SIDE ||
	    p->height > RPLAN_MAX_SIDE || p->width % 2 != 0 ||
	    p->height % 2 != 0)
		return rplan_bad(ctx,
		    "output size %dx%d is not even or out of "
		    "range",
		    p->width, p->height);
	if (num < 1 || den < 1 || num > 1e6 || den > 1e6 || num / den > 240.0 ||
	    num / den < 1.0 || num != floor(num) || den != floor(den))
		return rplan_bad(ctx, "bad output frame rate %g/%g", num, den);
	p->fps = av_make_q((int)num, (int)den);
	if (!isfinite(p->duration) || p->duration <= 0.0)
		return rplan_bad(ctx, "bad output duration");
	return rplan_conform(ctx, json_object_get(o, "conform"), p);
}

static enum stage_result
rplan_audio(struct stage_ctx *ctx, const json_t *a, struct rplan *p)
{
	const char *track = json_string_value(json_object_get(a, "soundtrack"));

	p->audio = json_is_true(json_object_get(a, "present"));
	if (track != NULL && strcmp(track, "template") != 0 &&
	    strcmp(track, "source") != 0)
		return rplan_bad(ctx, "unknown audio.soundtrack \"%s\"", track);
	p->template_soundtrack =
	    p->audio && track != NULL && strcmp(track, "template") == 0;
	p->gain_db = rplan_num(a, "gain_db", 0.0);
	p->tp_limit_db = rplan_num(a, "true_peak_limit_dbtp", -1.0);
	p->target_lufs = rplan_num(a, "target_lufs", NAN);
	if (!isfinite(p->gain_db) || fabs(p->gain_db) > RPLAN_GAIN_MAX_DB)
		return rplan_bad(
		    ctx, "audio.gain_db %g is out of range", p->gain_db);
	if (!isfinite(p->tp_limit_db) || p->tp_limit_db > 0.0 ||
	    p->tp_limit_db < -30.0)
		return rplan_bad(ctx,
		    "audio.true_peak_limit_dbtp %g is out "
		    "of range",
		    p->tp_limit_db);
	return STAGE_OK;
}

static bool
rplan_preset_ok(const char *preset)
{
	int i;

	for (i = 0; rplan_presets[i] != NULL; i++) {
		if (strcmp(rplan_presets[i], preset) == 0)
			return true;
	}
	return false;
}

/* An explicit preset and CRF win; otherwise quality decides. */
static enum stage_result
rplan_encode(struct stage_ctx *ctx, const json_t *e, struct rplan *p)
{
	const char *preset;
	int crf;

	snprintf(p->quality, sizeof(p->quality), "medium");
	rplan_str(e, "quality", p->quality, sizeof(p->quality));
	if (rplan_quality(p->quality, &preset, &crf) < 0)
		return rplan_bad(ctx, "unknown quality \"%s\"", p->quality);
	snprintf(p->preset, sizeof(p->preset), "%s", preset);
	rplan_str(e, "preset", p->preset, sizeof(p->preset));
	p->crf = (int)rplan_num(e, "crf", crf);
	p->audio_bitrate = (int)rplan_num(e, "audio_bitrate", 128000);
	p->audio_rate = (int)rplan_num(e, "audio_rate", 48000);
	if (!rplan_preset_ok(p->preset))
		return rplan_bad(ctx, "unknown x264 preset \"%s\"", p->preset);
	if (p->crf < 0 || p->crf > 51)
		return rplan_bad(ctx, "crf %d is out of 0..51", p->crf);
	if (p->audio_bitrate < 16000 || p->audio_bitrate > 512000)
		return rplan_bad(
		    ctx, "audio_bitrate %d is out of range", p->audio_bitrate);
	if (p->audio_rate != 48000 && p->audio_rate != 44100)
		return rplan_bad(
		    ctx, "audio_rate %d is not 48000 or 44100", p->audio_rate);
	return STAGE_OK;
}

static enum stage_result
rplan_parse(struct stage_ctx *ctx, const json_t *root, struct rplan *p)
{
	const json_t *src = json_object_get(root, "source");
	const json_t *tpl = json_object_get(root, "template");
	enum stage_result rc;

	if (!json_is_object(root) ||
	    rplan_num(root, "version", 0) != RPLAN_VERSION)
		return rplan_bad(ctx, "not a version %d plan", RPLAN_VERSION);
	rplan_str(src, "path", p->source, sizeof(p->source));
	rplan_str(tpl, "path", p->template_path, sizeof(p->template_path));
	p->source_duration = rplan_num(src, "duration_s", 0.0);
	p->template_duration = rplan_num(tpl, "duration_s", 0.0);
	p->src_display_w = (int)rplan_num(src, "display_width", 0);
	p->src_display_h = (int)rplan_num(src, "display_height", 0);
	snprintf(p->lut_file, sizeof(p->lut_file), "grade.cube");
	rplan_str(json_object_get(root, "grade"), "lut_file", p->lut_file,
	    sizeof(p->lut_file));
	if (strchr(p->lut_file, '/') != NULL || p->lut_file[0] == '.')
		return rplan_bad(ctx, "grade.lut_file must name a file in the "
				      "job directory");
	if ((rc = rplan_output(ctx, json_object_get(root, "output"), p)) !=
		STAGE_OK ||
	    (rc = rplan_audio(ctx, json_object_get(root, "audio"), p)) !=
		STAGE_OK ||
	    (rc = rplan_encode(ctx, json_object_get(root, "encode"), p)) !=
		STAGE_OK)
		return rc;
	rc = rplan_segments(
	    ctx, json_object_get(json_object_get(root, "edit"), "segments"), p);
	return rc == STAGE_OK ? rplan_timeline(ctx, p) : rc;
}

enum stage_result
rplan_load(struct stage_ctx *ctx, const char *path, struct rplan *p)
{
	json_error_t err;
	json_t *root;
	enum stage_result rc;

	memset(p, 0, sizeof(*p));
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		if (access(path, F_OK) != 0)
			return stage_fail(ctx, STAGE_E_NOINPUT,
			    "%s is missing: style_application has not run",
			    RPLAN_FILE);
		return rplan_bad(ctx, "line %d: %s", err.line, err.text);
	}
	rc = rplan_parse(ctx, root, p);
	json_decref(root);
	if (rc != STAGE_OK)
		rplan_free(p);
	return rc;
}

void
rplan_free(struct rplan *p)
{
	free(p->segs);
	p->segs = NULL;
	p->nsegs = 0;
}

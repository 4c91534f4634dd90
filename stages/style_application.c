/*
 * The style_application stage (style_application.h,
 * docs/stages/style_application.md).
 *
 * The template side comes from style.json alone (its StyleJSON fields and
 * its "analysis" object), so a style extracted once can be applied to any
 * source; the source side comes from the three analysis artifacts.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grade.h"
#include "log.h"
#include "looks.h"
#include "recut.h"
#include "style_application.h"
#include "style_extraction.h"

/* Encode settings per config quality (docs/stages/style_application.md). */
static const struct {
	const char *name;
	const char *preset;
	int crf;
	int audio_bitrate;
} sa_quality[] = {
    {"low", "veryfast", 28, 96000},
    {"medium", "veryfast", 23, 128000},
    {"high", "faster", 20, 192000},
};
#define SA_QUALITY_DEFAULT 1
#define SA_AUDIO_RATE 48000

/* config duration: as long as the source allows, the template's, or s. */
enum sa_duration { SA_DURATION_SOURCE, SA_DURATION_TEMPLATE, SA_DURATION_S };
#define SA_DURATION_MIN_S 1.0
#define SA_DURATION_MAX_S 3600.0

struct sa_config {
	size_t quality;
	enum sa_conform_mode conform;
	double strength;
	enum sa_duration duration;
	double duration_s;
	bool template_soundtrack;
};

/* The template side, from style.json. */
struct sa_style {
	int rw, rh;
	const char *aspect;
	int fr_num, fr_den;
	double cut_frequency, duration_s, lufs;
	struct grade_stats colour;
	double *pattern;
	size_t npattern;
	struct recut_transition *trans;
	size_t ntrans;
};

struct sa_input {
	json_t *style, *va, *aa, *ma;
	struct sa_style t;
	struct style_video v;
	struct style_audio a;
	struct style_audio ta; /* the template's, for soundtrack=template */
	/* The output plays the template's audio (config and template allow). */
	bool template_audio;
	/* The colour of the source's shots that the edit keeps. */
	struct grade_stats kept;
	/*
	 * The source shots' looks (NULL where motion_analysis measured none),
	 * the rule each gives its jumps, whether it found one, and its
	 * punch-in (a view of looks.h, 0: none).
	 */
	struct looks_shot *looks;
	const struct looks_shot **lookp;
	struct looks_rule *rule;
	bool *rule_ok;
	size_t *view;
};

const struct stage_ops stage_style_application_ops = {
    "style_application", style_application_run};

/* ---- pure pieces ---- */

const char *
sa_conform_name(enum sa_conform_mode mode)
{
	switch (mode) {
	case SA_CONFORM_PAD:
		return "pad";
	case SA_CONFORM_NONE:
		return "none";
	case SA_CONFORM_FILL:
		return "fill";
	case SA_CONFORM_AUTO:
		return "auto";
	case SA_CONFORM_CROP:
		break;
	}
	return "crop";
}

/* Rounded to an even number, at least 2. */
static int
sa_even(double v)
{
	long n = lround(v / 2.0) * 2;

	return n < 2 ? 2 : (int)n;
}

/* Even and at most limit (itself made even, downwards). */
static int
sa_even_within(double v, int limit)
{
	int n = sa_even(v), top = limit & ~1;

	return n > top && top >= 2 ? top : n;
}

int
sa_geometry(int sw, int sh, int rw, int rh, enum sa_conform_mode mode,
    struct sa_geometry *g)
{
	double r, s;
	int shortside;

	if (sw < 2 || sh < 2 || rw < 1 || rh < 1)
		return -1;
	r = (double)rw / rh;
	shortside = (sw < sh ? sw : sh) & ~1;
	g->mode = mode;
	g->width = r >= 1.0 ? sa_even(shortside * r) : shortside;
	g->height = r >= 1.0 ? shortside : sa_even(shortside / r);
	g->x = g->y = 0;
	if (mode == SA_CONFORM_NONE) {
		g->w = g->width;
		g->h = g->height;
	} else if (mode == SA_CONFORM_CROP || mode == SA_CONFORM_AUTO) {
		g->mode = SA_CONFORM_CROP;
		g->w =
		    (double)sw / sh > r ? sa_even_within(sh * r, sw) : sw & ~1;
		g->h =
		    (double)sw / sh > r ? sh & ~1 : sa_even_within(sw / r, sh);
		g->x = ((sw - g->w) / 2) & ~1;
		g->y = ((sh - g->h) / 2) & ~1;
		if (mode == SA_CONFORM_AUTO &&
		    (double)g->w * g->h < SA_CROP_KEEP_MIN * sw * sh)
			return sa_geometry(sw, sh, rw, rh, SA_CONFORM_FILL, g);
	} else {
		s = fmin((double)g->width / sw, (double)g->height / sh);
		g->w = sa_even_within(sw * s, g->width);
		g->h = sa_even_within(sh * s, g->height);
		g->x = ((g->width - g->w) / 2) & ~1;
		g->y = ((g->height - g->h) / 2) & ~1;
	}
	return 0;
}

bool
sa_punch_in(double speed)
{
	return !(speed * SA_GAP_MAX_S >= SA_VISIBLE_SHIFT);
}

double
sa_jump_gap(double speed)
{
	if (!(speed > 0.0))
		return isnan(speed) ? SA_GAP_UNKNOWN_S : SA_GAP_MAX_S;
	return fmin(fmax(SA_VISIBLE_SHIFT / speed, SA_GAP_MIN_S), SA_GAP_MAX_S);
}

/* ---- config ---- */

static enum stage_result
sa_config_duration(struct stage_ctx *ctx, struct sa_config *c)
{
	const char *d = stage_config(ctx, "duration");
	char *end;

	/* The template's music lasts the template: so does the output. */
	c->duration = d == NULL && c->template_soundtrack ? SA_DURATION_TEMPLATE
							  : SA_DURATION_SOURCE;
	c->duration_s = 0.0;
	if (d == NULL || strcmp(d, "source") == 0)
		return STAGE_OK;
	if (strcmp(d, "template") == 0) {
		c->duration = SA_DURATION_TEMPLATE;
		return STAGE_OK;
	}
	errno = 0;
	c->duration_s = strtod(d, &end);
	if (errno != 0 || end == d || *end != '\0' ||
	    !(c->duration_s >= SA_DURATION_MIN_S &&
		c->duration_s <= SA_DURATION_MAX_S))
		return stage_fail(ctx, STAGE_E_USAGE,
		    "config duration=%s: expected source, template or a "
		    "number of seconds from %g to %g",
		    d, SA_DURATION_MIN_S, SA_DURATION_MAX_S);
	c->duration = SA_DURATION_S;
	return STAGE_OK;
}

static enum stage_result
sa_config_parse(struct stage_ctx *ctx, struct sa_config *c)
{
	const char *q = stage_config(ctx, "quality");
	const char *m = stage_config(ctx, "conform");
	const char *s = stage_config(ctx, "grade_strength");
	const char *t = stage_config(ctx, "soundtrack");
	char *end;
	size_t i;

	c->quality = SA_QUALITY_DEFAULT;
	c->conform = SA_CONFORM_AUTO;
	c->strength = 1.0;
	for (i = 0; q != NULL && i < sizeof(sa_quality) / sizeof(sa_quality[0]);
	     i++) {
		if (strcmp(q, sa_quality[i].name) == 0)
			break;
	}
	if (q != NULL &&
	    (c->quality = i) == sizeof(sa_quality) / sizeof(sa_quality[0]))
		return stage_fail(ctx, STAGE_E_USAGE,
		    "config quality=%s: expected low, medium or high", q);
	for (i = SA_CONFORM_CROP; m != NULL && i <= SA_CONFORM_AUTO; i++) {
		if (strcmp(m, sa_conform_name((enum sa_conform_mode)i)) == 0)
			break;
	}
	if (m != NULL && i > SA_CONFORM_AUTO)
		return stage_fail(ctx, STAGE_E_USAGE,
		    "config conform=%s: expected auto, crop, fill, pad or "
		    "none",
		    m);
	if (m != NULL)
		c->conform = (enum sa_conform_mode)i;
	if (s != NULL) {
		errno = 0;
		c->strength = strtod(s, &end);
		if (errno != 0 || end == s || *end != '\0' ||
		    !(c->strength >= 0.0 && c->strength <= 1.0))
			return stage_fail(ctx, STAGE_E_USAGE,
			    "config grade_strength=%s: expected a number "
			    "from 0 to 1",
			    s);
	}
	if (t != NULL && strcmp(t, "template") != 0 && strcmp(t, "source") != 0)
		return stage_fail(ctx, STAGE_E_USAGE,
		    "config soundtrack=%s: expected source or template", t);
	c->template_soundtrack = t != NULL && strcmp(t, "template") == 0;
	return sa_config_duration(ctx, c);
}

/* ---- the template side, from style.json ---- */

static int
sa_ratio_parse(const char *s, int *w, int *h)
{
	char tail;

	if (s == NULL || sscanf(s, "%d:%d%c", w, h, &tail) != 2 || *w < 1 ||
	    *h < 1)
		return -1;
	return 0;
}

/*
 * An output above SA_MAX_FPS plays nowhere and costs frames for nothing
 * (a Matroska test clip times 30 frames at 1 ms steps: 500 fps): such a
 * rate is divided by the least whole n that brings it within, so every
 * n-th frame time of the template stays one.
 */
#define SA_MAX_FPS 120.0

static void
sa_frame_rate_cap(struct sa_style *t)
{
	double n = ceil((double)t->fr_num / t->fr_den / SA_MAX_FPS);

	if (n > 1.0)
		t->fr_den *= (int)n;
}

static int
sa_frame_rate_parse(const json_t *style, const json_t *an, struct sa_style *t)
{
	const json_t *fr =
	    json_object_get(json_object_get(an, "video"), "frame_rate");
	double num, den, fps;

	if (style_num(fr, "num", &num) && style_num(fr, "den", &den) &&
	    num >= 1.0 && den >= 1.0 && num / den <= 1000.0) {
		t->fr_num = (int)num;
		t->fr_den = (int)den;
		sa_frame_rate_cap(t);
		return 0;
	}
	if (!style_num(style, "frame_rate", &fps) || fps < 1.0 || fps > 1000.0)
		return -1;
	t->fr_num = (int)lround(fps);
	t->fr_den = 1;
	sa_frame_rate_cap(t);
	return 0;
}

/* Template shot lengths and the transitions between them, in order. */
static int
sa_pattern_parse(const json_t *shots, struct sa_style *t)
{
	size_t i, n = json_array_size(shots);
	double a, b, ms;
	const json_t *e, *tr;

	if (n == 0 || (t->pattern = calloc(n, sizeof(*t->pattern))) == NULL ||
	    (t->trans = calloc(n, sizeof(*t->trans))) == NULL)
		return -1;
	json_array_foreach(shots, i, e)
	{
		tr = json_object_get(e, "transition_in");
		if (!style_num(e, "start_s", &a) ||
		    !style_num(e, "end_s", &b) || !(b > a))
			return -1;
		t->pattern[t->npattern++] = b - a;
		if (i == 0)
			continue;
		if (recut_kind_parse(
			json_string_value(json_object_get(tr, "type")),
			&t->trans[t->ntrans].kind) == -1 ||
		    !style_num(tr, "duration_ms", &ms) || ms < 0.0)
			return -1;
		t->trans[t->ntrans++].duration_s = ms / 1000.0;
	}
	return 0;
}

static enum stage_result
sa_style_parse(struct stage_ctx *ctx, const json_t *style, struct sa_style *t)
{
	const json_t *an = json_object_get(style, "analysis");
	const char *ver = json_string_value(json_object_get(style, "version"));
	const json_t *aver = json_object_get(an, "version");

	if (ver == NULL || strcmp(ver, "1.0") != 0 || !json_is_integer(aver) ||
	    json_integer_value(aver) != STYLE_ANALYSIS_VERSION)
		return stage_fail(ctx, STAGE_E_DATA,
		    "%s is not StyleJSON 1.0 with analysis version %d",
		    STYLE_ARTIFACT, STYLE_ANALYSIS_VERSION);
	t->aspect = json_string_value(json_object_get(style, "aspect_ratio"));
	if (sa_ratio_parse(t->aspect, &t->rw, &t->rh) == -1)
		return stage_fail(
		    ctx, STAGE_E_DATA, "%s: bad aspect_ratio", STYLE_ARTIFACT);
	if (sa_frame_rate_parse(style, an, t) == -1)
		return stage_fail(
		    ctx, STAGE_E_DATA, "%s: bad frame_rate", STYLE_ARTIFACT);
	if (!style_num(style, "cut_frequency", &t->cut_frequency) ||
	    t->cut_frequency < 0.0 ||
	    !style_num(style, "source_duration_seconds", &t->duration_s))
		return stage_fail(ctx, STAGE_E_DATA,
		    "%s: bad cut_frequency or source_duration_seconds",
		    STYLE_ARTIFACT);
	if (style_stats_parse(json_object_get(an, "colour"), &t->colour) == -1)
		return stage_fail(ctx, STAGE_E_DATA,
		    "%s: analysis.colour is malformed", STYLE_ARTIFACT);
	if (sa_pattern_parse(json_object_get(an, "shots"), t) == -1)
		return stage_fail(ctx, STAGE_E_DATA,
		    "%s: analysis.shots is malformed", STYLE_ARTIFACT);
	if (!style_num(
		json_object_get(an, "audio"), "integrated_lufs", &t->lufs))
		t->lufs = NAN;
	return STAGE_OK;
}

/* ---- the source's looks (looks.h) ---- */

/* Whether the artifact's grid is the one this build measures on. */
static bool
sa_looks_grid_ok(const json_t *grid)
{
	const json_t *skips = json_object_get(grid, "skips_s"),
		     *views = json_object_get(grid, "views"), *e;
	double step, z, x, y;
	size_t i;

	if (!style_num(grid, "step_s", &step) ||
	    fabs(step - LOOKS_STEP_S) > 1e-9 ||
	    json_array_size(skips) != LOOKS_NSKIPS ||
	    json_array_size(views) != LOOKS_NVIEWS)
		return false;
	for (i = 0; i < LOOKS_NSKIPS; i++) {
		if (fabs(json_number_value(json_array_get(skips, i)) -
			 looks_skips[i]) > 1e-9)
			return false;
	}
	for (i = 0; i < LOOKS_NVIEWS; i++) {
		e = json_array_get(views, i);
		if (!style_num(e, "zoom", &z) || !style_num(e, "x", &x) ||
		    !style_num(e, "y", &y) ||
		    fabs(z - looks_views[i].zoom) > 1e-9 ||
		    fabs(x - looks_views[i].x) > 1e-9 ||
		    fabs(y - looks_views[i].y) > 1e-9)
			return false;
	}
	return true;
}

static float
sa_level(const json_t *v)
{
	return json_is_number(v) ? (float)json_number_value(v) : NAN;
}

/* One shot's looks; false when absent or malformed (not an error). */
static bool
sa_looks_shot(const json_t *o, double start_s, struct looks_shot *ls)
{
	const json_t *calm = json_object_get(o, "calm"),
		     *diff = json_object_get(o, "diff"), *row;
	size_t i, k, n = json_array_size(calm),
		     per = LOOKS_NSKIPS * LOOKS_NVIEWS;

	if (!json_is_array(calm) || json_array_size(diff) != n ||
	    looks_shot_init(ls, start_s, n) == -1)
		return false;
	for (i = 0; i < n; i++) {
		row = json_array_get(diff, i);
		if (json_array_size(row) != per) {
			looks_shot_free(ls);
			return false;
		}
		ls->calm[i] = sa_level(json_array_get(calm, i));
		for (k = 0; k < per; k++)
			ls->diff[i * per + k] =
			    sa_level(json_array_get(row, k));
	}
	return true;
}

/* The motion_analysis shot that starts where video_analysis's shot does. */
static const json_t *
sa_motion_shot(const json_t *shots, double start_s)
{
	const json_t *e;
	double t;
	size_t i;

	json_array_foreach(shots, i, e)
	{
		if (style_num(e, "start_s", &t) && fabs(t - start_s) < 1e-3)
			return e;
	}
	return NULL;
}

/*
 * Each source shot's looks and the rule they give its jumps: the least
 * change that is visible (looks_choose). A shot without looks (an
 * artifact from before they were measured) keeps the speed rule.
 */
static int
sa_looks_parse(const json_t *mo, struct sa_input *in)
{
	const json_t *shots = json_object_get(mo, "shots"), *e;
	bool grid = sa_looks_grid_ok(json_object_get(mo, "looks_grid"));
	size_t n = in->v.nshots, k;

	in->looks = calloc(n > 0 ? n : 1, sizeof(*in->looks));
	in->lookp = calloc(n > 0 ? n : 1, sizeof(*in->lookp));
	in->rule = calloc(n > 0 ? n : 1, sizeof(*in->rule));
	in->rule_ok = calloc(n > 0 ? n : 1, sizeof(*in->rule_ok));
	in->view = calloc(n > 0 ? n : 1, sizeof(*in->view));
	if (in->looks == NULL || in->lookp == NULL || in->rule == NULL ||
	    in->rule_ok == NULL || in->view == NULL)
		return -1;
	for (k = 0; k < n; k++) {
		e = sa_motion_shot(shots, in->v.shots[k].start_s);
		in->view[k] = sa_punch_in(in->v.shots[k].speed)
				  ? looks_view_of(SA_PUNCH_IN, 0.5, 0.5)
				  : 0;
		if (!grid || e == NULL ||
		    !sa_looks_shot(json_object_get(e, "looks"),
			in->v.shots[k].start_s, &in->looks[k]) ||
		    in->looks[k].npoints == 0)
			continue;
		in->lookp[k] = &in->looks[k];
		in->rule_ok[k] = looks_choose(in->lookp[k], &in->rule[k]);
		in->view[k] = in->rule_ok[k] ? in->rule[k].view : 0;
	}
	return 0;
}

static void
sa_looks_free(struct sa_input *in)
{
	size_t k;

	for (k = 0; in->looks != NULL && k < in->v.nshots; k++)
		looks_shot_free(&in->looks[k]);
	free(in->looks);
	free(in->lookp);
	free(in->rule);
	free(in->rule_ok);
	free(in->view);
}

/* ---- the source side ---- */

static enum stage_result
sa_source_parse(struct stage_ctx *ctx, struct sa_input *in)
{
	const json_t *vo = style_role(in->va, "source");
	const json_t *ao = style_role(in->aa, "source");
	const json_t *mo = style_role(in->ma, "source");
	char err[256];

	if (vo == NULL || ao == NULL || mo == NULL)
		return stage_fail(ctx, STAGE_E_NOINPUT,
		    "%s has no source analysis (a template-only job ends at "
		    "style_extraction)",
		    vo == NULL	 ? STYLE_VA_ARTIFACT
		    : ao == NULL ? STYLE_AA_ARTIFACT
				 : STYLE_MA_ARTIFACT);
	if (style_video_parse(vo, &in->v, err, sizeof(err)) == -1)
		return stage_fail(ctx, STAGE_E_DATA, "%s, source: %s",
		    STYLE_VA_ARTIFACT, err);
	if (style_motion_parse(mo, &in->v, err, sizeof(err)) == -1)
		return stage_fail(ctx, STAGE_E_DATA, "%s, source: %s",
		    STYLE_MA_ARTIFACT, err);
	if (style_audio_parse(ao, &in->a, err, sizeof(err)) == -1)
		return stage_fail(ctx, STAGE_E_DATA, "%s, source: %s",
		    STYLE_AA_ARTIFACT, err);
	ao = style_role(in->aa, "template");
	if (ao != NULL &&
	    style_audio_parse(ao, &in->ta, err, sizeof(err)) == -1)
		return stage_fail(ctx, STAGE_E_DATA, "%s, template: %s",
		    STYLE_AA_ARTIFACT, err);
	if (sa_looks_parse(mo, in) == -1)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

/* Dissolves no longer than rendering blends (style_application.h). */
static void
sa_cap_dissolves(struct sa_style *t)
{
	double cap = fmin(SA_DISSOLVE_MAX_S,
	    SA_DISSOLVE_MAX_FRAMES * (double)t->fr_den / t->fr_num);
	size_t i;

	for (i = 0; i < t->ntrans; i++) {
		if (t->trans[i].kind == RECUT_DISSOLVE)
			t->trans[i].duration_s =
			    fmin(t->trans[i].duration_s, cap);
	}
}

static enum stage_result
sa_load(struct stage_ctx *ctx, struct sa_input *in)
{
	enum stage_result rc;

	if ((rc = style_load(ctx, STYLE_ARTIFACT, &in->style)) != STAGE_OK ||
	    (rc = sa_style_parse(ctx, in->style, &in->t)) != STAGE_OK ||
	    (rc = style_load_analysis(ctx, STYLE_VA_ARTIFACT, &in->va)) !=
		STAGE_OK ||
	    (rc = style_load_analysis(ctx, STYLE_AA_ARTIFACT, &in->aa)) !=
		STAGE_OK ||
	    (rc = style_load_analysis(ctx, STYLE_MA_ARTIFACT, &in->ma)) !=
		STAGE_OK)
		return rc;
	sa_cap_dissolves(&in->t);
	return sa_source_parse(ctx, in);
}

static void
sa_input_free(struct sa_input *in)
{
	free(in->t.pattern);
	free(in->t.trans);
	sa_looks_free(in);
	style_video_free(&in->v);
	style_audio_free(&in->a);
	style_audio_free(&in->ta);
	json_decref(in->style);
	json_decref(in->va);
	json_decref(in->aa);
	json_decref(in->ma);
}

/* ---- colour ---- */

int
sa_cube_print(FILE *f, const char *title, const float *lut, int size)
{
	size_t i, n = (size_t)size * size * size;

	fprintf(f, "TITLE \"%s\"\n", title);
	fprintf(f, "LUT_3D_SIZE %d\n", size);
	fprintf(f, "DOMAIN_MIN 0.0 0.0 0.0\nDOMAIN_MAX 1.0 1.0 1.0\n");
	for (i = 0; i < n; i++) {
		fprintf(f, "%.6f %.6f %.6f\n", lut[3 * i], lut[3 * i + 1],
		    lut[3 * i + 2]);
	}
	return ferror(f) ? -1 : 0;
}

static int
sa_emit_cube(FILE *f, const void *lut)
{
	return sa_cube_print(f, "reel grade", lut, GRADE_LUT_SIZE);
}

static enum stage_result
sa_grade(struct stage_ctx *ctx, const struct sa_input *in, double strength)
{
	struct grade_transfer t;
	enum stage_result rc;
	float *lut;

	grade_transfer_init(&t, &in->kept, &in->t.colour, strength);
	if ((lut = grade_lut_build(&t, GRADE_LUT_SIZE)) == NULL)
		return stage_fail(
		    ctx, STAGE_E_TEMP, "out of memory building the LUT");
	rc = stage_write_file(ctx, SA_LUT_ARTIFACT, sa_emit_cube, lut);
	free(lut);
	return rc;
}

/* ---- edit ---- */

/*
 * The usable stretch of each source shot: a gradual transition of the
 * source is a mixture of two shots, so it is left out on both sides, and
 * the video's black (or white) opening too.
 */
static struct recut_shot *
sa_shots(const struct sa_input *in)
{
	const struct style_video *v = &in->v;
	struct recut_shot *rs = calloc(v->nshots, sizeof(*rs));
	size_t i;

	for (i = 0; rs != NULL && i < v->nshots; i++) {
		const struct style_shot *sh = &v->shots[i];

		rs[i].start_s = sh->start_s;
		rs[i].end_s = sh->end_s;
		if (sh->kind == RECUT_FADE || sh->kind == RECUT_DISSOLVE)
			rs[i].start_s = fmax(sh->start_s, sh->tr_end_s);
		/* An opening on black would show as a cut out of black. */
		rs[i].start_s = fmax(rs[i].start_s, v->picture_start_s);
		if (i + 1 < v->nshots &&
		    (v->shots[i + 1].kind == RECUT_FADE ||
			v->shots[i + 1].kind == RECUT_DISSOLVE))
			rs[i].end_s =
			    fmin(sh->end_s, v->shots[i + 1].tr_start_s);
		rs[i].end_s = fmax(rs[i].end_s, rs[i].start_s);
		rs[i].min_gap_s = sa_jump_gap(sh->speed);
		rs[i].punch_in = sa_punch_in(sh->speed);
		if (in->lookp[i] == NULL)
			continue;
		/* What was measured wins over what the speed suggests. */
		rs[i].min_gap_s = in->rule[i].skip_s;
		rs[i].punch_in = in->view[i] != 0;
		rs[i].single = !in->rule_ok[i];
	}
	return rs;
}

/*
 * Times go to the plan in whole milliseconds; the timeline is computed
 * again from the rounded values so that out_start_s adds up exactly.
 */
static void
sa_quantise(struct recut_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		plan->seg[i].src_start_s =
		    round(plan->seg[i].src_start_s * 1e3) / 1e3;
		plan->seg[i].src_end_s =
		    round(plan->seg[i].src_end_s * 1e3) / 1e3;
		plan->seg[i].in.duration_s =
		    round(plan->seg[i].in.duration_s * 1e3) / 1e3;
	}
	plan->duration_s = recut_timeline(plan->seg, plan->n);
	plan->cut_frequency = recut_cut_frequency(plan->n, plan->duration_s);
}

/* The longest usable stretch of the source's shots, s. */
static double
sa_longest(const struct recut_shot *rs, size_t n)
{
	double best = 0.0;
	size_t i;

	for (i = 0; i < n; i++)
		best = fmax(best, rs[i].end_s - rs[i].start_s);
	return best;
}

/* One rule that gave way, for plan.json's edit.relaxed. */
static int sa_relaxed(json_t *relaxed, const char *rule, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static int
sa_relaxed(json_t *relaxed, const char *rule, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return json_array_append_new(
	    relaxed, json_pack("{s:s, s:s}", "rule", rule, "why", why));
}

/*
 * Transitions no longer than the longest source shot allows on both ends
 * of a segment (recut's min_len: 2 d + 4 frames); shorter than two frames
 * they become cuts. Returns the longest duration kept.
 */
static double
sa_fit_transitions(
    const struct recut_params *p, double longest, struct recut_transition *out)
{
	double frame = 1.0 / p->frame_rate;
	double dmax = fmax(0.0, (longest - 4.0 * frame) / 2.0);
	size_t i;

	for (i = 0; i < p->ntransitions; i++) {
		out[i] = p->transitions[i];
		out[i].duration_s = fmin(out[i].duration_s, dmax);
		if (out[i].kind != RECUT_CUT && out[i].duration_s < 2.0 * frame)
			out[i] = (struct recut_transition){RECUT_CUT, 0.0};
	}
	return dmax;
}

/*
 * A source shorter than any segment recut allows (four frames) is the
 * whole plan: one segment, no transition.
 */
static int
sa_whole(double start_s, double end_s, json_t *relaxed, struct recut_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	if (!(end_s > start_s)) {
		errno = EINVAL;
		return -1;
	}
	if ((plan->seg = calloc(1, sizeof(*plan->seg))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	plan->seg[0].src_start_s = start_s;
	plan->seg[0].src_end_s = end_s;
	plan->seg[0].zoom = 1.0;
	plan->seg[0].zoom_x = plan->seg[0].zoom_y = 0.5;
	plan->n = 1;
	plan->duration_s = end_s - start_s;
	plan->min_len_s = end_s - start_s;
	return sa_relaxed(relaxed, "minimum_segment",
	    "the source (%.3f s) is shorter than a segment of four frames; "
	    "it is used whole",
	    end_s - start_s);
}

/*
 * The closest plan the rules allow (docs/stages/plan.md, "When the rules
 * give way"): the template's transitions shortened to what the source's
 * shots hold, then the source cut as one shot. Each step is recorded.
 */
static int
sa_build(struct recut_shot *rs, size_t n, struct recut_params *p,
    json_t *relaxed, struct recut_plan *plan)
{
	double longest = sa_longest(rs, n), dmax;
	struct recut_transition *fit = NULL;
	struct recut_shot whole;
	int rc;

	if ((rc = recut_plan_build(rs, n, p, plan)) == 0 || errno == ENOMEM)
		return rc;
	if (p->ntransitions > 0 &&
	    (fit = calloc(p->ntransitions, sizeof(*fit))) != NULL) {
		dmax = sa_fit_transitions(p, longest, fit);
		p->transitions = fit;
		if ((rc = recut_plan_build(rs, n, p, plan)) == 0)
			rc = sa_relaxed(relaxed, "transition_duration",
			    "the source's longest shot (%.2f s) cannot hold "
			    "the "
			    "template's transitions on both ends; they are "
			    "shortened to %.2f s at most",
			    longest, dmax);
	}
	if (rc != 0 && errno != ENOMEM && n > 0) {
		whole = (struct recut_shot){rs[0].start_s, rs[n - 1].end_s,
		    rs[0].min_gap_s, rs[0].punch_in, false};
		p->ntransitions = 0;
		if ((rc = recut_plan_build(&whole, 1, p, plan)) == 0)
			rc = sa_relaxed(relaxed, "shot_boundaries",
			    "no source shot (the longest is %.2f s) is long "
			    "enough for a segment with the template's "
			    "transitions; the source is cut as one shot, "
			    "with cuts",
			    longest);
	}
	if (rc != 0 && errno != ENOMEM && n > 0)
		rc = sa_whole(rs[0].start_s, rs[n - 1].end_s, relaxed, plan);
	free(fit);
	return rc;
}

static enum stage_result
sa_edit(struct stage_ctx *ctx, const struct sa_input *in, double rate,
    json_t *relaxed, struct recut_plan *plan)
{
	struct recut_shot *rs = sa_shots(in);
	struct recut_params p;
	int rc;

	if (rs == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	memset(&p, 0, sizeof(p));
	p.pattern = in->t.pattern;
	p.npattern = in->t.npattern;
	p.transitions = in->t.trans;
	p.ntransitions = in->t.ntrans;
	p.cut_frequency = rate;
	if (in->a.music && !in->template_audio) {
		p.beats = in->a.beats;
		p.nbeats = in->a.nbeats;
	}
	p.frame_rate = (double)in->t.fr_num / in->t.fr_den;
	p.punch_in = SA_PUNCH_IN;
	rc = sa_build(rs, in->v.nshots, &p, relaxed, plan);
	free(rs);
	if (rc == -1 && errno == ENOMEM)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	if (rc == -1)
		return stage_fail(ctx, STAGE_E_DATA,
		    "the source (%.3f s) has no frame to render",
		    in->v.duration_s);
	sa_quantise(plan);
	return STAGE_OK;
}

/* ---- plan.json ---- */

static json_t *
sa_segments_json(const struct recut_plan *plan)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < plan->n; i++) {
		const struct recut_segment *s = &plan->seg[i];

		json_t *e = json_pack("{s:f, s:f, s:f, s:{s:s, s:f}, s:f}",
		    "src_start_s", s->src_start_s, "src_end_s", s->src_end_s,
		    "out_start_s", s->out_start_s, "transition_in", "type",
		    recut_kind_name(s->in.kind), "duration_s", s->in.duration_s,
		    "zoom", s->zoom);

		/* A punch-in off the centre says where its window sits. */
		if (e != NULL && s->zoom > 1.0 &&
		    (s->zoom_x != 0.5 || s->zoom_y != 0.5) &&
		    (json_object_set_new(e, "zoom_x", json_real(s->zoom_x)) ==
			    -1 ||
			json_object_set_new(
			    e, "zoom_y", json_real(s->zoom_y)) == -1)) {
			json_decref(e);
			e = NULL;
		}
		if (json_array_append_new(arr, e) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *
sa_audio_json(const struct sa_input *in)
{
	double src = in->a.has_audio ? in->a.lufs : NAN, tpl = in->t.lufs;
	double gain = isfinite(src) && isfinite(tpl) ? tpl - src : 0.0;

	/* The template's own music is at the template's loudness. */
	if (in->template_audio) {
		src = tpl;
		gain = 0.0;
	}
	return json_pack("{s:b, s:s, s:o, s:o, s:o, s:f}", "present",
	    in->a.has_audio || in->template_audio, "soundtrack",
	    in->template_audio ? "template" : "source", "gain_db",
	    style_real(gain, 0.01), "source_lufs", style_real(src, 0.01),
	    "target_lufs", style_real(tpl, 0.01), "true_peak_limit_dbtp",
	    SA_TRUE_PEAK_DBTP);
}

static json_t *
sa_output_json(const struct sa_input *in, const struct sa_geometry *g,
    const struct recut_plan *plan)
{
	return json_pack("{s:i, s:i, s:{s:i, s:i}, s:s, s:{s:s, s:i, s:i, "
			 "s:i, s:i}, s:o}",
	    "width", g->width, "height", g->height, "frame_rate", "num",
	    in->t.fr_num, "den", in->t.fr_den, "aspect_ratio", in->t.aspect,
	    "conform", "mode", sa_conform_name(g->mode), "x", g->x, "y", g->y,
	    "w", g->w, "h", g->h, "duration_s",
	    style_real(plan->duration_s, 1e-3));
}

static json_t *
sa_plan_json(const struct stage_ctx *ctx, const struct sa_input *in,
    const struct sa_config *c, const struct sa_geometry *g,
    const struct recut_plan *plan, json_t *relaxed)
{
	const char *tpath =
	    ctx->template_path != NULL ? ctx->template_path : ctx->source;

	return json_pack("{s:i, s:{s:o, s:o, s:b, s:i, s:i}, s:{s:o, s:o}, "
			 "s:o, s:{s:s, s:i, s:s, s:o}, s:{s:o, s:b, s:I, s:I, "
			 "s:o, s:O}, "
			 "s:o, s:{s:s, s:s, s:s, s:i, s:s, s:i, s:i}}",
	    "version", SA_PLAN_VERSION, "source", "path",
	    ctx->source != NULL ? json_string(ctx->source) : json_null(),
	    "duration_s", style_real(in->v.duration_s, 1e-3), "has_audio",
	    in->a.has_audio, "display_width", in->v.display_width,
	    "display_height", in->v.display_height, "template", "path",
	    tpath != NULL ? json_string(tpath) : json_null(), "duration_s",
	    style_real(in->t.duration_s, 1e-3), "output",
	    sa_output_json(in, g, plan), "grade", "lut_file", SA_LUT_ARTIFACT,
	    "lut_size", GRADE_LUT_SIZE, "method", "reinhard-lab+tone-curve",
	    "strength", style_real(c->strength, 1e-3), "edit",
	    "target_cut_frequency", style_real(in->t.cut_frequency, 1e-3),
	    "beat_snapped", plan->beat_snapped, "cuts",
	    (json_int_t)(plan->n > 0 ? plan->n - 1 : 0), "cuts_on_beats",
	    (json_int_t)plan->cuts_on_beats, "segments", sa_segments_json(plan),
	    "relaxed", relaxed, "audio", sa_audio_json(in), "encode", "quality",
	    sa_quality[c->quality].name, "video_codec", "libx264", "preset",
	    sa_quality[c->quality].preset, "crf", sa_quality[c->quality].crf,
	    "audio_codec", "aac", "audio_bitrate",
	    sa_quality[c->quality].audio_bitrate, "audio_rate", SA_AUDIO_RATE);
}

/*
 * What rendering's style-match report compares the output with: the
 * colour statistics of both videos, the template's shot lengths and
 * whether the output's soundtrack has music.
 */
static json_t *
sa_reference_json(const struct sa_input *in)
{
	json_t *lengths = json_array();

	for (size_t i = 0; lengths != NULL && i < in->t.npattern; i++)
		json_array_append_new(
		    lengths, style_real(in->t.pattern[i], 1e-3));
	return json_pack("{s:{s:o, s:o}, s:{s:o}, s:b}", "template", "colour",
	    style_stats_json(&in->t.colour), "shot_lengths_s", lengths,
	    "source", "colour", style_stats_json(&in->kept), "soundtrack_music",
	    in->template_audio ? in->ta.music : in->a.has_audio && in->a.music);
}

/*
 * config duration: a plan longer than asked is shortened (recut.h); one
 * that the source cannot make as long says so in edit.relaxed. Returns
 * the target, or NAN for duration=source.
 */
static double
sa_fit_duration(const struct sa_input *in, const struct sa_config *c,
    json_t *relaxed, struct recut_plan *plan)
{
	double target = c->duration == SA_DURATION_S	      ? c->duration_s
			: c->duration == SA_DURATION_TEMPLATE ? in->t.duration_s
							      : NAN;

	if (!isfinite(target))
		return NAN;
	if (recut_plan_fit(plan, target) == -1)
		return -1.0;
	sa_quantise(plan);
	if (plan->duration_s < target - 0.0005 &&
	    sa_relaxed(relaxed, "duration",
		"%.3f s were asked; the source gives %.3f s at the "
		"template's rhythm, and no material is repeated",
		target, plan->duration_s) == -1)
		return -1.0;
	return target;
}

/*
 * config soundtrack=template: the template's audio, when it has some
 * (else the source's stays, and edit.relaxed says why).
 */
static int
sa_soundtrack(struct sa_input *in, const struct sa_config *c, json_t *relaxed)
{
	in->template_audio = c->template_soundtrack && in->ta.has_audio;
	if (c->template_soundtrack && !in->ta.has_audio)
		return sa_relaxed(relaxed, "soundtrack",
		    "the template has no audio; the source's is kept");
	return 0;
}

/*
 * With the template's music the cuts land on its beats, once the plan has
 * its length (dropping segments would move them off again). The snap
 * moves the end, so the length is fitted again, and when that drops a
 * segment, the cuts snapped once more.
 */
static enum stage_result
sa_snap_to_soundtrack(struct stage_ctx *ctx, const struct sa_input *in,
    double target, struct recut_plan *plan)
{
	struct recut_shot *rs;
	size_t n;

	if (!in->template_audio || !in->ta.music)
		return STAGE_OK;
	if ((rs = sa_shots(in)) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	recut_snap_output(plan, rs, in->v.nshots, in->ta.beats, in->ta.nbeats);
	n = plan->n;
	if (isfinite(target) && recut_plan_fit(plan, target) == -1) {
		free(rs);
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	}
	if (plan->n != n)
		recut_snap_output(
		    plan, rs, in->v.nshots, in->ta.beats, in->ta.nbeats);
	free(rs);
	sa_quantise(plan);
	return STAGE_OK;
}

/*
 * Every jump inside a shot made visible (looks_verify); returns the
 * pieces joined, or SIZE_MAX when memory runs out.
 */
static size_t
sa_visible(const struct sa_input *in, struct recut_plan *plan)
{
	struct recut_shot *rs = sa_shots(in);
	size_t merged;

	if (rs == NULL)
		return SIZE_MAX;
	merged = looks_verify(plan, rs, in->lookp, in->view, in->v.nshots,
	    in->a.music && !in->template_audio ? in->a.beats : NULL,
	    in->a.music && !in->template_audio ? in->a.nbeats : 0);
	free(rs);
	return merged;
}

/*
 * The plan at the template's rate, its jumps checked. Jumps joined at the
 * check lower the rate, so when some were, the plan is made once more
 * asking for as much more, and the one nearer the template's rate is
 * kept (the other's relaxed rules are the same and dropped).
 */
static enum stage_result
sa_edit_visible(struct stage_ctx *ctx, const struct sa_input *in,
    json_t *relaxed, struct recut_plan *plan, size_t *merged)
{
	double want = in->t.cut_frequency, got;
	struct recut_plan again;
	enum stage_result rc;
	json_t *scratch;
	size_t more;

	if ((rc = sa_edit(ctx, in, want, relaxed, plan)) != STAGE_OK)
		return rc;
	if ((*merged = sa_visible(in, plan)) == SIZE_MAX)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	got = plan->cut_frequency;
	if (*merged == 0 || !(got > 0.0) || !(want > got))
		return STAGE_OK;
	if ((scratch = json_array()) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	memset(&again, 0, sizeof(again));
	rc = sa_edit(
	    ctx, in, fmin(want * want / got, 2.0 * want), scratch, &again);
	json_decref(scratch);
	if (rc == STAGE_OK && (more = sa_visible(in, &again)) == SIZE_MAX)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	if (rc == STAGE_OK &&
	    fabs(again.cut_frequency - want) < fabs(got - want)) {
		recut_plan_free(plan);
		*plan = again;
		*merged = more;
		return STAGE_OK;
	}
	recut_plan_free(&again);
	return rc;
}

/*
 * edit.relaxed's visible_cuts: the shots where no change measured makes a
 * jump visible (one piece each), and the jumps joined up at the check.
 */
static int
sa_visible_relaxed(const struct sa_input *in, size_t merged, json_t *relaxed)
{
	size_t k, single = 0, first = 0;

	for (k = 0; k < in->v.nshots; k++) {
		if (in->lookp[k] != NULL && !in->rule_ok[k] && single++ == 0)
			first = k;
	}
	if (single == 0 && merged == 0)
		return 0;
	if (single == 0)
		return sa_relaxed(relaxed, "visible_cuts",
		    "%zu planned jump%s inside a shot would change the picture "
		    "by less than %.0f luma levels; %s pieces are one",
		    merged, merged == 1 ? "" : "s", LOOKS_VISIBLE,
		    merged == 1 ? "its" : "their");
	return sa_relaxed(relaxed, "visible_cuts",
	    "in %zu source shot%s (the first at %.2f s) no skip up to %.0f s "
	    "or punch-in up to %.2gx changes the picture by %.0f luma levels "
	    "at %.0f%% of the join times (best %.0f%%), so %s not cut; %zu "
	    "more jump%s joined",
	    single, single == 1 ? "" : "s", in->v.shots[first].start_s,
	    looks_skips[LOOKS_NSKIPS - 1], looks_views[LOOKS_NVIEWS - 1].zoom,
	    LOOKS_VISIBLE, 100.0 * LOOKS_SHARE, 100.0 * in->rule[first].share,
	    single == 1 ? "it is" : "they are", merged, merged == 1 ? "" : "s");
}

/*
 * The edit: planned, fitted to config duration, snapped to the music,
 * every jump visible. The check comes after each step that moves or
 * drops pieces; joining pieces lengthens the plan, so it is fitted again.
 */
static enum stage_result
sa_edit_fitted(struct stage_ctx *ctx, const struct sa_input *in,
    const struct sa_config *c, json_t *relaxed, struct recut_plan *plan,
    double *target)
{
	enum stage_result rc;
	size_t merged, more;
	int round;

	if ((rc = sa_edit_visible(ctx, in, relaxed, plan, &merged)) != STAGE_OK)
		return rc;
	if ((*target = sa_fit_duration(in, c, relaxed, plan)) == -1.0)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	if ((rc = sa_snap_to_soundtrack(ctx, in, *target, plan)) != STAGE_OK)
		return rc;
	for (round = 0; round < 3; round++) {
		if ((more = sa_visible(in, plan)) == SIZE_MAX ||
		    (isfinite(*target) && recut_plan_fit(plan, *target) == -1))
			return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
		merged += more;
		if (more == 0)
			break;
	}
	sa_quantise(plan);
	if (sa_visible_relaxed(in, merged, relaxed) == -1)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

/*
 * The grade maps the colour of what the output shows: the source's shots
 * that the edit keeps, each weighted by its kept duration, not the whole
 * source (a bright opening the edit drops would skew the cast).
 */
static void
sa_kept_colour(struct sa_input *in, const struct recut_plan *plan)
{
	struct grade_pool pool;
	size_t i, k = 0;

	grade_pool_init(&pool);
	for (i = 0; i < plan->n; i++) {
		const struct recut_segment *sg = &plan->seg[i];

		while (k + 1 < in->v.nshots &&
		       in->v.shots[k + 1].start_s <= sg->src_start_s)
			k++;
		grade_pool_add(&pool, &in->v.shots[k].colour,
		    sg->src_end_s - sg->src_start_s);
	}
	if (grade_pool_result(&pool, &in->kept) == -1)
		in->kept = in->v.colour;
}

/* ---- the stage ---- */

static enum stage_result
sa_plan(struct stage_ctx *ctx, struct sa_input *in, const struct sa_config *c)
{
	struct recut_plan plan;
	struct sa_geometry g;
	enum stage_result rc;
	double target;
	json_t *doc, *relaxed = json_array();

	if (sa_geometry(in->v.display_width, in->v.display_height, in->t.rw,
		in->t.rh, c->conform, &g) == -1)
		return stage_fail(ctx, STAGE_E_DATA,
		    "cannot conform %dx%d to %s", in->v.display_width,
		    in->v.display_height, in->t.aspect);
	if (relaxed == NULL || sa_soundtrack(in, c, relaxed) == -1) {
		json_decref(relaxed);
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	}
	memset(&plan, 0, sizeof(plan));
	if ((rc = sa_edit_fitted(ctx, in, c, relaxed, &plan, &target)) !=
	    STAGE_OK) {
		json_decref(relaxed);
		recut_plan_free(&plan);
		return rc;
	}
	sa_kept_colour(in, &plan);
	stage_progress(ctx, 0.6);
	doc = sa_plan_json(ctx, in, c, &g, &plan, relaxed);
	if (doc != NULL &&
	    (json_object_set_new(doc, "reference", sa_reference_json(in)) ==
		    -1 ||
		json_object_set_new(json_object_get(doc, "edit"),
		    "target_duration_s", style_real(target, 1e-3)) == -1)) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc == NULL)
		rc = stage_fail(
		    ctx, STAGE_E_TEMP, "out of memory building the plan");
	else
		rc = stage_write_json(ctx, SA_PLAN_ARTIFACT, doc);
	json_decref(doc);
	json_decref(relaxed);
	recut_plan_free(&plan);
	return rc;
}

enum stage_result
style_application_run(struct stage_ctx *ctx)
{
	struct sa_input in;
	struct sa_config c = {0};
	enum stage_result rc;

	memset(&in, 0, sizeof(in));
	stage_progress(ctx, 0.0);
	if ((rc = sa_config_parse(ctx, &c)) != STAGE_OK)
		return rc;
	rc = sa_load(ctx, &in);
	if (rc == STAGE_OK) {
		stage_progress(ctx, 0.2);
		rc = sa_plan(ctx, &in, &c);
	}
	if (rc == STAGE_OK) {
		stage_progress(ctx, 0.8);
		rc = sa_grade(ctx, &in, c.strength);
	}
	sa_input_free(&in);
	if (rc == STAGE_OK)
		stage_progress(ctx, 1.0);
	return rc;
}

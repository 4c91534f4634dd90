/*
 * The style_extraction stage (style_extraction.h,
 * docs/stages/style_extraction.md), and the artifact readers and atomic
 * writer that style_application shares.
 *
 * The style describes the template. A job without a template uses its
 * source as its own template (docs/jobs.md), so when the artifacts have
 * no "template" object the "source" one is described instead, and
 * analysis.role says which.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "style_extraction.h"
#include "util.h"

/* Shots of the two analyses match when their starts are this close. */
#define SE_SHOT_MATCH_S 0.005
/* Template length that earns full length confidence (seed docs). */
#define SE_GOOD_LENGTH_S 30.0
/* Beyond this, mixed styles average out (seed docs: "under 10 minutes"). */
#define SE_LONG_LENGTH_S 600.0
/* Shot-mean spread (CIE76) at which grade consistency reads 0.5. */
#define SE_SPREAD_HALF 10.0
/* Cuts at which rhythm confidence reads 0.5. */
#define SE_CUTS_HALF 2.0
/* normalization_level: 0 at this integrated loudness, 1 at 0 LUFS. */
#define SE_LEVEL_FLOOR_LUFS -50.0

/* Weights of the confidence components (docs: extraction_confidence). */
#define SE_W_LENGTH 0.25
#define SE_W_CUTS 0.20
#define SE_W_GRADE 0.25
#define SE_W_AUDIO 0.15
#define SE_W_MOTION 0.15

/* Everything the stage read, and what it keeps alive. */
struct se_input {
	json_t *va, *aa, *ma;
	const char *role;
	struct style_video v;
	struct style_audio a;
};

/* Shot-length distribution (media-algorithms.md 2.5). */
struct se_lengths {
	double mean, median, std, cv, min, max, mu, sigma;
};

struct se_confidence {
	double length, cuts, grade, audio, motion, total; /* NAN: not used */
};

static const char *const se_pct_keys[GRADE_PCT_N] = {
    "p5", "p25", "p50", "p75", "p95"};

static const struct {
	const char *name;
	int w, h;
} se_ratios[] = {
    {"16:9", 16, 9},
    {"9:16", 9, 16},
    {"1:1", 1, 1},
    {"4:3", 4, 3},
    {"3:4", 3, 4},
    {"3:2", 3, 2},
    {"2:3", 2, 3},
    {"4:5", 4, 5},
    {"5:4", 5, 4},
    {"2:1", 2, 1},
    {"1:2", 1, 2},
    {"21:9", 21, 9},
    {"9:21", 9, 21},
};

const struct stage_ops stage_style_extraction_ops = {
    "style_extraction", style_extraction_run};

static int se_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

/* ---- small JSON helpers ---- */

static int
se_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static double
se_clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

json_t *
style_real(double v, double unit)
{
	if (!isfinite(v))
		return json_null();
	return json_real(round(v / unit) * unit);
}

bool
style_num(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

static double
se_num_nan(const json_t *o, const char *key)
{
	double v;

	return style_num(o, key, &v) ? v : NAN;
}

static bool
se_vec3(const json_t *o, const char *key, double v[3])
{
	const json_t *a = json_object_get(o, key);
	size_t i;

	if (!json_is_array(a) || json_array_size(a) != 3)
		return false;
	for (i = 0; i < 3; i++) {
		if (!json_is_number(json_array_get(a, i)))
			return false;
		v[i] = json_number_value(json_array_get(a, i));
	}
	return true;
}

static void
se_copy_str(
    const json_t *o, const char *key, char *dst, size_t size, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (s == NULL || str_copy(dst, s, size) == -1)
		str_copy(dst, dflt, size);
}

/* ---- colour statistics ---- */

static int
se_hist_parse(const json_t *h, struct grade_stats *s)
{
	const json_t *vals = json_object_get(h, "values");
	const json_t *range = json_object_get(h, "range");
	size_t i, n = json_array_size(vals);

	if (h == NULL)
		return 0;
	if (n == 0 || n > GRADE_HIST_MAX)
		return -1;
	if (range != NULL &&
	    (json_array_size(range) != 2 ||
		json_number_value(json_array_get(range, 0)) != 0.0 ||
		json_number_value(json_array_get(range, 1)) != 100.0))
		return -1;
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(vals, i);

		if (!json_is_number(e) || json_number_value(e) < 0.0)
			return -1;
		s->hist[i] = json_number_value(e);
	}
	s->nhist = (int)n;
	return 0;
}

int
style_stats_parse(const json_t *c, struct grade_stats *s)
{
	const json_t *p = json_object_get(c, "luma_percentiles");
	int i;

	memset(s, 0, sizeof(*s));
	if (!se_vec3(c, "lab_mean", s->mean) ||
	    !se_vec3(c, "lab_std", s->std) ||
	    !style_num(c, "chroma", &s->chroma) ||
	    !style_num(c, "saturation", &s->saturation))
		return -1;
	for (i = 0; i < GRADE_PCT_N; i++) {
		if (!style_num(p, se_pct_keys[i], &s->pct[i]) ||
		    (i > 0 && s->pct[i] < s->pct[i - 1]))
			return -1;
	}
	return se_hist_parse(json_object_get(c, "luma_histogram"), s);
}

static json_t *
se_vec3_json(const double v[3])
{
	return json_pack("[ooo]", style_real(v[0], 1e-4),
	    style_real(v[1], 1e-4), style_real(v[2], 1e-4));
}

static json_t *
se_hist_json(const struct grade_stats *s)
{
	json_t *vals = json_array();
	int i;

	for (i = 0; vals != NULL && i < s->nhist; i++) {
		if (json_array_append_new(vals, style_real(s->hist[i], 1e-6)) ==
		    -1) {
			json_decref(vals);
			return NULL;
		}
	}
	return json_pack("{s:i, s:[ii], s:o}", "bins", s->nhist, "range", 0,
	    100, "values", vals);
}

json_t *
style_stats_json(const struct grade_stats *s)
{
	json_t *pct = json_object(), *o;
	int i;

	for (i = 0; pct != NULL && i < GRADE_PCT_N; i++) {
		if (json_object_set_new(pct, se_pct_keys[i],
			style_real(s->pct[i], 1e-4)) == -1) {
			json_decref(pct);
			return NULL;
		}
	}
	o = json_pack("{s:o, s:o, s:o, s:o, s:o}", "lab_mean",
	    se_vec3_json(s->mean), "lab_std", se_vec3_json(s->std),
	    "luma_percentiles", pct, "chroma", style_real(s->chroma, 1e-4),
	    "saturation", style_real(s->saturation, 1e-4));
	if (o != NULL && s->nhist > 0 &&
	    json_object_set_new(o, "luma_histogram", se_hist_json(s)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- artifacts ---- */

enum stage_result
style_load(struct stage_ctx *ctx, const char *name, json_t **out)
{
	char path[PATH_MAX];
	json_error_t jerr;
	FILE *f;

	*out = NULL;
	if (snprintf(path, sizeof(path), "%s/%s", ctx->job_dir, name) >=
	    (int)sizeof(path))
		return stage_fail(
		    ctx, STAGE_E_SOFTWARE, "job directory path too long");
	if ((f = fopen(path, "r")) == NULL) {
		return stage_fail(ctx,
		    errno == ENOENT ? STAGE_E_NOINPUT : STAGE_E_IO,
		    "cannot read %s (%s): %s", name,
		    errno == ENOENT ? "the earlier stage has not written it"
				    : "unreadable",
		    strerror(errno));
	}
	*out = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (*out == NULL)
		return stage_fail(ctx, STAGE_E_DATA,
		    "%s is malformed: line %d: %s", name, jerr.line, jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return stage_fail(
		    ctx, STAGE_E_DATA, "%s is not a JSON object", name);
	}
	return STAGE_OK;
}

enum stage_result
style_load_analysis(struct stage_ctx *ctx, const char *name, json_t **out)
{
	enum stage_result rc = style_load(ctx, name, out);
	const json_t *ver;
	json_int_t v = 0;

	if (rc != STAGE_OK)
		return rc;
	ver = json_object_get(*out, "version");
	if (json_is_integer(ver) &&
	    (v = json_integer_value(ver)) == STYLE_INPUT_VERSION)
		return STAGE_OK;
	rc = json_is_integer(ver)
		 ? stage_fail(ctx, STAGE_E_DATA,
		       "%s has version %" JSON_INTEGER_FORMAT ", expected %d",
		       name, v, STYLE_INPUT_VERSION)
		 : stage_fail(ctx, STAGE_E_DATA,
		       "%s has no integer version (expected %d)", name,
		       STYLE_INPUT_VERSION);
	json_decref(*out);
	*out = NULL;
	return rc;
}

const json_t *
style_role(const json_t *doc, const char *role)
{
	const json_t *o = json_object_get(doc, role);

	return json_is_object(o) ? o : NULL;
}

/* ---- video ---- */

static int
se_transition_parse(
    const json_t *tr, size_t i, struct style_shot *sh, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(tr, "type"));

	if (recut_kind_parse(type, &sh->kind) == -1 ||
	    (i > 0 && sh->kind == RECUT_NONE))
		return se_err(
		    err, errlen, "shot %zu has no valid transition_in.type", i);
	if (i == 0)
		sh->kind = RECUT_NONE;
	if (!style_num(tr, "duration_ms", &sh->tr_ms) || sh->tr_ms < 0.0)
		return se_err(err, errlen,
		    "shot %zu has no valid transition_in.duration_ms", i);
	if (!style_num(tr, "start_s", &sh->tr_start_s) ||
	    !style_num(tr, "end_s", &sh->tr_end_s) ||
	    sh->tr_end_s < sh->tr_start_s)
		sh->tr_start_s = sh->tr_end_s = sh->start_s;
	se_copy_str(tr, "easing", sh->easing, sizeof(sh->easing), "none");
	return 0;
}

static int
se_shot_parse(
    const json_t *e, size_t i, struct style_video *v, char *err, size_t errlen)
{
	struct style_shot *sh = &v->shots[i];

	sh->speed = NAN;
	if (!style_num(e, "start_s", &sh->start_s) ||
	    !style_num(e, "end_s", &sh->end_s) || sh->end_s < sh->start_s ||
	    (i > 0 && sh->start_s < v->shots[i - 1].start_s))
		return se_err(
		    err, errlen, "shot %zu has no valid start_s/end_s", i);
	if (style_stats_parse(json_object_get(e, "colour"), &sh->colour) == -1)
		return se_err(
		    err, errlen, "shot %zu has no valid colour statistics", i);
	return se_transition_parse(
	    json_object_get(e, "transition_in"), i, sh, err, errlen);
}

int
style_video_parse(
    const json_t *o, struct style_video *v, char *err, size_t errlen)
{
	const json_t *shots = json_object_get(o, "shots"), *e;
	double w, h;
	size_t i, n = json_array_size(shots);

	memset(v, 0, sizeof(*v));
	v->motion_intensity = v->zoom_usage = v->reliable_share = NAN;
	if (!style_num(o, "display_width", &w) ||
	    !style_num(o, "display_height", &h) || w < 2 || h < 2 ||
	    w > 65536 || h > 65536)
		return se_err(err, errlen, "no valid display size");
	v->display_width = (int)w;
	v->display_height = (int)h;
	if (!style_num(o, "fps", &v->fps) || !(v->fps > 0.0) ||
	    !style_num(o, "duration_s", &v->duration_s) ||
	    !(v->duration_s > 0.0))
		return se_err(err, errlen, "no valid fps and duration_s");
	if (n == 0)
		return se_err(err, errlen, "no shots");
	/* Older analyses have no picture_start_s: the picture starts at 0. */
	if (!style_num(o, "picture_start_s", &v->picture_start_s))
		v->picture_start_s = 0.0;
	if (style_stats_parse(json_object_get(o, "global"), &v->colour) == -1)
		return se_err(err, errlen, "no valid global colour statistics");
	if ((v->shots = calloc(n, sizeof(*v->shots))) == NULL)
		return se_err(err, errlen, "out of memory");
	json_array_foreach(shots, i, e)
	{
		if (se_shot_parse(e, i, v, err, errlen) == -1) {
			style_video_free(v);
			return -1;
		}
	}
	v->nshots = n;
	return 0;
}

void
style_video_free(struct style_video *v)
{
	free(v->shots);
	v->shots = NULL;
	v->nshots = 0;
}

/* Camera class and speed of the video shot starting where e starts. */
static void
se_motion_shot(const json_t *e, struct style_video *v)
{
	double t;
	size_t i;

	if (!style_num(e, "start_s", &t))
		return;
	for (i = 0; i < v->nshots; i++) {
		if (fabs(v->shots[i].start_s - t) > SE_SHOT_MATCH_S)
			continue;
		se_copy_str(e, "camera", v->shots[i].camera,
		    sizeof(v->shots[i].camera), "");
		v->shots[i].speed = se_num_nan(e, "speed_fw_per_s");
		return;
	}
}

int
style_motion_parse(
    const json_t *o, struct style_video *v, char *err, size_t errlen)
{
	const json_t *e;
	double good, bad;
	size_t i;

	if (!style_num(o, "motion_intensity", &v->motion_intensity) ||
	    !style_num(o, "zoom_usage", &v->zoom_usage) ||
	    v->motion_intensity < 0.0 || v->motion_intensity > 100.0 ||
	    v->zoom_usage < 0.0 || v->zoom_usage > 100.0)
		return se_err(
		    err, errlen, "no valid motion_intensity and zoom_usage");
	if (style_num(o, "pairs_reliable", &good) &&
	    style_num(o, "pairs_unreliable", &bad) && good + bad > 0.0)
		v->reliable_share = good / (good + bad);
	json_array_foreach(json_object_get(o, "shots"), i, e)
	    se_motion_shot(e, v);
	return 0;
}

/* ---- audio ---- */

static int
se_beats_parse(
    const json_t *arr, struct style_audio *a, char *err, size_t errlen)
{
	const json_t *e;
	size_t i, n = json_array_size(arr);

	if (n == 0)
		return 0;
	if ((a->beats = calloc(n, sizeof(*a->beats))) == NULL)
		return se_err(err, errlen, "out of memory");
	json_array_foreach(arr, i, e)
	{
		if (!json_is_number(e) ||
		    (i > 0 && json_number_value(e) <= a->beats[i - 1]))
			return se_err(err, errlen,
			    "beats_s is not an ascending list of times");
		a->beats[i] = json_number_value(e);
	}
	a->nbeats = n;
	return 0;
}

static int
se_band_beats_parse(
    const json_t *arr, struct style_audio *a, char *err, size_t errlen)
{
	const json_t *e;
	size_t i, n = json_array_size(arr);

	if (n == 0)
		return 0;
	if ((a->band_beats = calloc(n, sizeof(*a->band_beats))) == NULL)
		return se_err(err, errlen, "out of memory");
	json_array_foreach(arr, i, e)
	{
		struct style_band_beat *b = &a->band_beats[i];

		if (!style_num(e, "t_s", &b->t_s) ||
		    !style_num(e, "confidence", &b->confidence) ||
		    !json_is_string(json_object_get(e, "band")))
			return se_err(
			    err, errlen, "band_beats[%zu] is malformed", i);
		se_copy_str(e, "band", b->band, sizeof(b->band), "");
		b->confidence = se_clamp(b->confidence, 0.0, 1.0);
	}
	a->nband_beats = n;
	return 0;
}

int
style_audio_parse(
    const json_t *o, struct style_audio *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (!json_is_boolean(json_object_get(o, "has_audio")))
		return se_err(err, errlen, "no has_audio");
	a->has_audio = json_is_true(json_object_get(o, "has_audio"));
	a->music = json_is_true(json_object_get(o, "music"));
	a->speech = json_is_true(json_object_get(o, "speech"));
	a->lufs = se_num_nan(o, "integrated_lufs");
	a->lra = se_num_nan(o, "loudness_range_lu");
	a->true_peak = se_num_nan(o, "true_peak_dbtp");
	a->tempo_bpm = se_num_nan(o, "tempo_bpm");
	a->tempo_confidence = se_num_nan(o, "tempo_confidence");
	a->compression_ratio = se_num_nan(o, "compression_ratio");
	if (se_beats_parse(json_object_get(o, "beats_s"), a, err, errlen) ==
		-1 ||
	    se_band_beats_parse(
		json_object_get(o, "band_beats"), a, err, errlen) == -1) {
		style_audio_free(a);
		return -1;
	}
	return 0;
}

void
style_audio_free(struct style_audio *a)
{
	free(a->beats);
	free(a->band_beats);
	a->beats = NULL;
	a->band_beats = NULL;
	a->nbeats = a->nband_beats = 0;
}

/* ---- the StyleJSON values ---- */

static const char *
se_aspect(int w, int h)
{
	double r = log((double)w / h), d, best = HUGE_VAL;
	size_t i, pick = 0;

	for (i = 0; i < sizeof(se_ratios) / sizeof(se_ratios[0]); i++) {
		d = fabs(r - log((double)se_ratios[i].w / se_ratios[i].h));
		if (d < best - 1e-12) {
			best = d;
			pick = i;
		}
	}
	return se_ratios[pick].name;
}

/* NTSC rates stay exact (30000/1001); others round to whole frames. */
static void
se_frame_rate(double fps, int *num, int *den)
{
	static const int ntsc[] = {24, 30, 48, 60, 120};
	size_t i;

	for (i = 0; i < sizeof(ntsc) / sizeof(ntsc[0]); i++) {
		if (fabs(fps - ntsc[i] * 1000.0 / 1001.0) < ntsc[i] * 5e-4) {
			*num = ntsc[i] * 1000;
			*den = 1001;
			return;
		}
	}
	*num = fps < 1.0 ? 1 : (int)lround(fps);
	*den = 1;
}

static json_t *
se_color_grade(const struct grade_stats *s)
{
	struct grade_look g;

	grade_look_measure(s, &g);
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "temperature",
	    style_real(g.temperature, 0.1), "tint", style_real(g.tint, 0.1),
	    "saturation", style_real(g.saturation, 0.1), "contrast",
	    style_real(g.contrast, 0.1), "highlights",
	    style_real(g.highlights, 0.1), "shadows",
	    style_real(g.shadows, 0.1));
}

static int
se_double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n values, sorted in place; 0 for none. */
static double
se_median(double *x, size_t n)
{
	if (n == 0)
		return 0.0;
	qsort(x, n, sizeof(*x), se_double_cmp);
	return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2.0;
}

/* The most common easing of the transitions of one kind. */
static const char *
se_easing(const struct style_video *v, enum recut_kind kind)
{
	static const char *const names[] = {
	    "linear", "ease-in", "ease-out", "ease-in-out"};
	size_t i, k, count[4] = {0, 0, 0, 0}, best = 0;
	const char *pick = "none";

	for (i = 1; i < v->nshots; i++) {
		for (k = 0; k < 4 && v->shots[i].kind == kind; k++)
			count[k] += strcmp(v->shots[i].easing, names[k]) == 0;
	}
	for (k = 0; k < 4; k++) {
		if (count[k] > best) {
			best = count[k];
			pick = names[k];
		}
	}
	return pick;
}

/* StyleJSON transition object for one kind: median duration. */
static json_t *
se_transition_json(const struct style_video *v, enum recut_kind kind)
{
	double *ms = calloc(v->nshots, sizeof(*ms)), med;
	size_t i, n = 0;

	if (ms == NULL)
		return NULL;
	for (i = 1; i < v->nshots; i++) {
		if (v->shots[i].kind == kind)
			ms[n++] = v->shots[i].tr_ms;
	}
	med = kind == RECUT_CUT ? 0.0 : se_median(ms, n);
	free(ms);
	return json_pack("{s:s, s:I, s:s}", "type", recut_kind_name(kind),
	    "duration_ms", (json_int_t)llround(med), "easing",
	    se_easing(v, kind));
}

/*
 * Primary and secondary transition: the most and second most frequent
 * kind (ties in the order cut, fade, dissolve). With no transition at all
 * the primary is a plain cut.
 */
static int
se_transitions(
    const struct style_video *v, json_t **primary, json_t **secondary)
{
	static const enum recut_kind kinds[] = {
	    RECUT_CUT, RECUT_FADE, RECUT_DISSOLVE};
	size_t count[3] = {0, 0, 0}, i, k, first = 0, second = 3;

	for (i = 1; i < v->nshots; i++) {
		for (k = 0; k < 3; k++)
			count[k] += v->shots[i].kind == kinds[k];
	}
	for (k = 1; k < 3; k++) {
		if (count[k] > count[first])
			first = k;
	}
	for (k = 0; k < 3; k++) {
		if (k != first && count[k] > 0 &&
		    (second == 3 || count[k] > count[second]))
			second = k;
	}
	*primary = se_transition_json(v, kinds[first]);
	*secondary =
	    second < 3 ? se_transition_json(v, kinds[second]) : json_null();
	return *primary != NULL && *secondary != NULL ? 0 : -1;
}

/*
 * How much the beats are carried by the bass: mean bass confidence per
 * beat minus the mean of mid and treble, as 0..100 (see the docs).
 */
static double
se_bass_boost(const struct style_audio *a)
{
	double bass = 0.0, other = 0.0;
	size_t i;

	if (a->nbeats == 0)
		return 0.0;
	for (i = 0; i < a->nband_beats; i++) {
		if (strcmp(a->band_beats[i].band, "bass") == 0)
			bass += a->band_beats[i].confidence;
		else
			other += a->band_beats[i].confidence / 2.0;
	}
	return se_clamp(100.0 * (bass - other) / (double)a->nbeats, 0.0, 100.0);
}

static json_t *
se_audio_style(const struct style_audio *a)
{
	double level = 0.0, ratio = 1.0, bass = 0.0;

	if (a->has_audio) {
		if (isfinite(a->lufs))
			level = se_clamp(
			    1.0 - a->lufs / SE_LEVEL_FLOOR_LUFS, 0.0, 1.0);
		if (isfinite(a->compression_ratio))
			ratio = a->compression_ratio;
		bass = se_bass_boost(a);
	}
	return json_pack("{s:o, s:o, s:o, s:b}", "normalization_level",
	    style_real(level, 1e-3), "compression_ratio",
	    style_real(ratio, 0.01), "bass_boost", style_real(bass, 0.1),
	    "enhance_speech", a->has_audio && a->speech);
}

static json_t *
se_detected_beats(const struct style_audio *a)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < a->nband_beats; i++) {
		const struct style_band_beat *b = &a->band_beats[i];

		if (json_array_append_new(
			arr, json_pack("{s:I, s:o, s:s}", "timestamp_ms",
				 (json_int_t)llround(b->t_s * 1000.0),
				 "confidence", style_real(b->confidence, 1e-3),
				 "frequency", b->band)) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- statistics for the analysis object and the confidence ---- */

static int
se_lengths(const struct style_video *v, struct se_lengths *l)
{
	double *x = calloc(v->nshots, sizeof(*x)), n = (double)v->nshots;
	double s = 0.0, ss = 0.0, ls = 0.0, lss = 0.0, d;
	size_t i;

	if (x == NULL)
		return -1;
	l->min = HUGE_VAL;
	l->max = 0.0;
	for (i = 0; i < v->nshots; i++) {
		d = fmax(v->shots[i].end_s - v->shots[i].start_s, 1e-3);
		x[i] = d;
		s += d;
		ss += d * d;
		ls += log(d);
		lss += log(d) * log(d);
		l->min = fmin(l->min, d);
		l->max = fmax(l->max, d);
	}
	l->mean = s / n;
	l->std = sqrt(fmax(ss / n - l->mean * l->mean, 0.0));
	l->cv = l->std / l->mean;
	l->mu = ls / n;
	l->sigma = sqrt(fmax(lss / n - l->mu * l->mu, 0.0));
	l->median = se_median(x, v->nshots);
	free(x);
	return 0;
}

/* Duration-weighted RMS CIE76 distance of shot means from their mean. */
static double
se_shot_spread(const struct style_video *v)
{
	double mean[3] = {0, 0, 0}, w, total = 0.0, acc = 0.0, d2;
	size_t i;
	int c;

	for (i = 0; i < v->nshots; i++) {
		w = v->shots[i].end_s - v->shots[i].start_s;
		total += w;
		for (c = 0; c < 3; c++)
			mean[c] += w * v->shots[i].colour.mean[c];
	}
	if (!(total > 0.0))
		return 0.0;
	for (c = 0; c < 3; c++)
		mean[c] /= total;
	for (i = 0; i < v->nshots; i++) {
		w = v->shots[i].end_s - v->shots[i].start_s;
		for (d2 = 0.0, c = 0; c < 3; c++)
			d2 += pow(v->shots[i].colour.mean[c] - mean[c], 2.0);
		acc += w * d2;
	}
	return sqrt(acc / total);
}

/* extraction_confidence (docs/stages/style_extraction.md). */
static void
se_confidence(const struct se_input *in, double spread, struct se_confidence *c)
{
	const double w[5] = {
	    SE_W_LENGTH, SE_W_CUTS, SE_W_GRADE, SE_W_AUDIO, SE_W_MOTION};
	double d = in->v.duration_s, cuts = (double)in->v.nshots - 1.0;
	double x[5], sum = 0.0, wsum = 0.0;
	int i;

	c->length = fmin(1.0, d / SE_GOOD_LENGTH_S) *
		    (d > SE_LONG_LENGTH_S ? sqrt(SE_LONG_LENGTH_S / d) : 1.0);
	c->cuts = cuts / (cuts + SE_CUTS_HALF);
	c->grade = 1.0 / (1.0 + pow(spread / SE_SPREAD_HALF, 2.0));
	c->audio = NAN;
	if (in->a.has_audio && isfinite(in->a.tempo_confidence))
		c->audio = in->a.music ? in->a.tempo_confidence
				       : 1.0 - in->a.tempo_confidence;
	c->motion = in->v.reliable_share;
	x[0] = c->length;
	x[1] = c->cuts;
	x[2] = c->grade;
	x[3] = c->audio;
	x[4] = c->motion;
	for (i = 0; i < 5; i++) {
		if (!isfinite(x[i]))
			continue;
		sum += w[i] * se_clamp(x[i], 0.0, 1.0);
		wsum += w[i];
	}
	c->total = sum / wsum;
}

/* ---- the analysis object ---- */

static json_t *
se_shots_json(const struct style_video *v)
{
	json_t *arr = json_array(), *cam;
	size_t i;

	for (i = 0; arr != NULL && i < v->nshots; i++) {
		const struct style_shot *sh = &v->shots[i];

		cam =
		    sh->camera[0] != '\0' && strcmp(sh->camera, "unknown") != 0
			? json_string(sh->camera)
			: json_null();
		if (json_array_append_new(arr,
			json_pack("{s:o, s:o, s:{s:s, s:I}, s:o}", "start_s",
			    style_real(sh->start_s, 1e-3), "end_s",
			    style_real(sh->end_s, 1e-3), "transition_in",
			    "type", recut_kind_name(sh->kind), "duration_ms",
			    (json_int_t)llround(sh->tr_ms), "camera", cam)) ==
		    -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *
se_lengths_json(const struct style_video *v)
{
	struct se_lengths l;

	if (se_lengths(v, &l) == -1)
		return NULL;
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "count", (json_int_t)v->nshots, "mean_s", style_real(l.mean, 1e-3),
	    "median_s", style_real(l.median, 1e-3), "std_s",
	    style_real(l.std, 1e-3), "cv", style_real(l.cv, 1e-4), "min_s",
	    style_real(l.min, 1e-3), "max_s", style_real(l.max, 1e-3),
	    "lognormal_mu", style_real(l.mu, 1e-4), "lognormal_sigma",
	    style_real(l.sigma, 1e-4));
}

static json_t *
se_beats_json(const struct style_audio *a)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < a->nbeats; i++) {
		if (json_array_append_new(arr, style_real(a->beats[i], 1e-3)) ==
		    -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *
se_audio_json(const struct style_audio *a)
{
	return json_pack("{s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "has_audio", a->has_audio, "music", a->music, "integrated_lufs",
	    style_real(a->lufs, 0.01), "loudness_range_lu",
	    style_real(a->lra, 0.01), "true_peak_dbtp",
	    style_real(a->true_peak, 0.01), "tempo_bpm",
	    style_real(a->music ? a->tempo_bpm : NAN, 0.01), "tempo_confidence",
	    style_real(a->tempo_confidence, 1e-3), "beats_s", se_beats_json(a));
}

static json_t *
se_colour_json(const struct style_video *v, double spread)
{
	json_t *o = style_stats_json(&v->colour);

	if (o == NULL ||
	    json_object_set_new(
		o, "cct_k", style_real(grade_cct(v->colour.mean), 1.0)) == -1 ||
	    json_object_set_new(
		o, "shot_lab_spread", style_real(spread, 1e-3)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* What decoding the template skipped, from the analysis artifacts. */
static json_t *
se_decode_json(const struct se_input *in)
{
	return json_pack("{s:O?, s:O?}", "video",
	    json_object_get(style_role(in->va, in->role), "decode"), "audio",
	    json_object_get(style_role(in->aa, in->role), "decode"));
}

static json_t *
se_analysis(
    const struct se_input *in, double spread, const struct se_confidence *c)
{
	const struct style_video *v = &in->v;
	int num, den;

	se_frame_rate(v->fps, &num, &den);
	return json_pack("{s:i, s:s, s:{s:i, s:i, s:o, s:{s:i, s:i}, s:o}, "
			 "s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o}, "
			 "s:{s:o, s:o, s:o, s:o, s:o}, s:o}",
	    "version", STYLE_ANALYSIS_VERSION, "role", in->role, "video",
	    "display_width", v->display_width, "display_height",
	    v->display_height, "fps", style_real(v->fps, 1e-4), "frame_rate",
	    "num", num, "den", den, "duration_s",
	    style_real(v->duration_s, 1e-3), "shots", se_shots_json(v),
	    "shot_lengths", se_lengths_json(v), "colour",
	    se_colour_json(v, spread), "audio", se_audio_json(&in->a), "motion",
	    "motion_intensity", style_real(v->motion_intensity, 0.1),
	    "zoom_usage", style_real(v->zoom_usage, 0.1), "reliable_share",
	    style_real(v->reliable_share, 1e-3), "confidence", "length",
	    style_real(c->length, 1e-3), "cuts", style_real(c->cuts, 1e-3),
	    "grade", style_real(c->grade, 1e-3), "audio",
	    style_real(c->audio, 1e-3), "motion", style_real(c->motion, 1e-3),
	    "decode", se_decode_json(in));
}

/* ---- StyleJSON ---- */

static json_t *
se_style(const struct se_input *in)
{
	const struct style_video *v = &in->v;
	double spread = se_shot_spread(v);
	struct se_confidence c;
	char created[UTIL_ISO_SIZE];
	json_t *primary, *secondary;

	if (se_transitions(v, &primary, &secondary) == -1) {
		json_decref(primary);
		json_decref(secondary);
		return NULL;
	}
	se_confidence(in, spread, &c);
	time_iso8601(clock_realtime_ms(), created);
	return json_pack("{s:s, s:o, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:b, s:o, s:o, s:o, s:[], s:s, s:o, s:o, s:o}",
	    "version", "1.0", "color_grade", se_color_grade(&v->colour),
	    "aspect_ratio", se_aspect(v->display_width, v->display_height),
	    "frame_rate", (int)lround(v->fps), "audio_style",
	    se_audio_style(&in->a), "cut_frequency",
	    style_real(60.0 * (double)(v->nshots - 1) / v->duration_s, 1e-3),
	    "motion_intensity", style_real(v->motion_intensity, 0.1),
	    "zoom_usage", style_real(v->zoom_usage, 0.1), "primary_transition",
	    primary, "secondary_transition", secondary, "use_subtitles", 0,
	    "detected_beats", se_detected_beats(&in->a), "tempo_bpm",
	    style_real(in->a.music ? in->a.tempo_bpm : NAN, 0.01),
	    "music_genre", json_null(), "text_overlays", "created_at", created,
	    "source_duration_seconds", style_real(v->duration_s, 1e-3),
	    "extraction_confidence", style_real(c.total, 1e-3), "analysis",
	    se_analysis(in, spread, &c));
}

/* ---- the stage ---- */

static enum stage_result
se_parse(struct stage_ctx *ctx, struct se_input *in)
{
	const json_t *vo = style_role(in->va, in->role);
	const json_t *ao = style_role(in->aa, in->role);
	const json_t *mo = style_role(in->ma, in->role);
	char err[256];

	if (ao == NULL || mo == NULL)
		return stage_fail(ctx, STAGE_E_DATA, "%s has no %s analysis",
		    ao == NULL ? STYLE_AA_ARTIFACT : STYLE_MA_ARTIFACT,
		    in->role);
	if (style_video_parse(vo, &in->v, err, sizeof(err)) == -1)
		return stage_fail(ctx, STAGE_E_DATA, "%s, %s: %s",
		    STYLE_VA_ARTIFACT, in->role, err);
	if (style_motion_parse(mo, &in->v, err, sizeof(err)) == -1)
		return stage_fail(ctx, STAGE_E_DATA, "%s, %s: %s",
		    STYLE_MA_ARTIFACT, in->role, err);
	if (style_audio_parse(ao, &in->a, err, sizeof(err)) == -1)
		return stage_fail(ctx, STAGE_E_DATA, "%s, %s: %s",
		    STYLE_AA_ARTIFACT, in->role, err);
	return STAGE_OK;
}

static enum stage_result
se_load(struct stage_ctx *ctx, struct se_input *in)
{
	enum stage_result rc;

	if ((rc = style_load_analysis(ctx, STYLE_VA_ARTIFACT, &in->va)) !=
		STAGE_OK ||
	    (rc = style_load_analysis(ctx, STYLE_AA_ARTIFACT, &in->aa)) !=
		STAGE_OK ||
	    (rc = style_load_analysis(ctx, STYLE_MA_ARTIFACT, &in->ma)) !=
		STAGE_OK)
		return rc;
	in->role = style_role(in->va, "template") != NULL ? "template"
		   : style_role(in->va, "source") != NULL ? "source"
							  : NULL;
	if (in->role == NULL)
		return stage_fail(ctx, STAGE_E_DATA,
		    "%s has neither a template nor a source analysis",
		    STYLE_VA_ARTIFACT);
	return se_parse(ctx, in);
}

static void
se_input_free(struct se_input *in)
{
	style_video_free(&in->v);
	style_audio_free(&in->a);
	json_decref(in->va);
	json_decref(in->aa);
	json_decref(in->ma);
}

enum stage_result
style_extraction_run(struct stage_ctx *ctx)
{
	struct se_input in;
	enum stage_result rc;
	json_t *style = NULL;

	memset(&in, 0, sizeof(in));
	stage_progress(ctx, 0.0);
	rc = se_load(ctx, &in);
	if (rc == STAGE_OK) {
		stage_progress(ctx, 0.5);
		if ((style = se_style(&in)) == NULL)
			rc = stage_fail(ctx, STAGE_E_TEMP,
			    "out of memory building the style");
	}
	if (rc == STAGE_OK)
		rc = stage_write_json(ctx, STYLE_ARTIFACT, style);
	json_decref(style);
	se_input_free(&in);
	if (rc == STAGE_OK)
		stage_progress(ctx, 1.0);
	return rc;
}

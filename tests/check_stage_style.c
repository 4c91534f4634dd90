/*
 * Tests for style_extraction and style_application; their pure modules
 * have their own suites, check_dsp_grade.c (grade.c) and check_dsp_recut.c
 * (recut.c).
 *
 * Unit tests of style_application.c: the .cube file it writes
 * (sa_cube_print) parses back with 33^3 rows, red fastest; the output
 * geometry keeps the source's resolution class, and the jump gap follows
 * the measured motion.
 *
 * Stage tests run both stages on hand-written analysis artifacts in the
 * real formats and check every StyleJSON field and every plan.md rule.
 * One end-to-end test makes media with the ffmpeg program, runs all five
 * stages, applies the LUT and the edit with ffmpeg, and measures: the mean
 * CIELAB distance to the template must fall by 70% or more, and the cut
 * frequency seen by ffmpeg's scene score must be within 20% of the
 * template's.
 */
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "audio_analysis.h"
#include "check_main.h"
#include "looks.h"
#include "media.h"
#include "grade.h"
#include "motion_analysis.h"
#include "msg.h"
#include "style_application.h"
#include "style_extraction.h"
#include "util.h"
#include "video_analysis.h"
#include "worker.h"

#define N33 (GRADE_LUT_SIZE * GRADE_LUT_SIZE * GRADE_LUT_SIZE)

static char dir[64];

static void
setup_dir(void)
{
	str_copy(dir, "/tmp/check_stage_style.XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown_dir(void)
{
	remove_tree(dir);
}

/* Each stage test starts from an empty job directory. */
static void
empty_dir(void)
{
	remove_tree(dir);
	ck_assert_int_eq(mkdir_p(dir, 0700), 0);
}

static void
quiet(void)
{
	av_log_set_level(AV_LOG_QUIET);
}

static double
dist3(const double a[3], const double b[3])
{
	return sqrt(
	    pow(a[0] - b[0], 2) + pow(a[1] - b[1], 2) + pow(a[2] - b[2], 2));
}

/*
 * Parses a .cube file back: TITLE, LUT_3D_SIZE 33, DOMAIN_MIN 0 0 0,
 * DOMAIN_MAX 1 1 1 and then exactly 33^3 rows of three values in 0..1.
 */
static float *
cube_parse(const char *path)
{
	char line[256];
	float *lut = xcalloc(N33, 3 * sizeof(float)), r, g, b;
	int size = 0, rows = 0, title = 0, dmin = 0, dmax = 0;
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "TITLE \"", 7) == 0)
			title++;
		else if (sscanf(line, "LUT_3D_SIZE %d", &size) == 1)
			continue;
		else if (strcmp(line, "DOMAIN_MIN 0.0 0.0 0.0\n") == 0)
			dmin++;
		else if (strcmp(line, "DOMAIN_MAX 1.0 1.0 1.0\n") == 0)
			dmax++;
		else {
			ck_assert_int_eq(
			    sscanf(line, "%f %f %f", &r, &g, &b), 3);
			ck_assert_int_lt(rows, N33);
			ck_assert(r >= 0 && r <= 1 && g >= 0 && g <= 1 &&
				  b >= 0 && b <= 1);
			lut[rows * 3] = r;
			lut[rows * 3 + 1] = g;
			lut[rows * 3 + 2] = b;
			rows++;
		}
	}
	fclose(f);
	ck_assert_int_eq(title, 1);
	ck_assert_int_eq(size, GRADE_LUT_SIZE);
	ck_assert_int_eq(dmin, 1);
	ck_assert_int_eq(dmax, 1);
	ck_assert_int_eq(rows, N33);
	return lut;
}

/* ---- the .cube file ---- */

START_TEST(test_cube_file_parses_back)
{
	char path[128];
	struct grade_stats s;
	struct grade_transfer t;
	float *lut, *back;
	FILE *f;
	int i;

	memset(&s, 0, sizeof(s));
	s.mean[0] = 50;
	s.std[0] = s.std[1] = s.std[2] = 20;
	for (i = 0; i < GRADE_PCT_N; i++)
		s.pct[i] = 10 + 20 * i;
	grade_transfer_init(&t, &s, &s, 1.0);
	lut = grade_lut_build(&t, GRADE_LUT_SIZE);
	snprintf(path, sizeof(path), "%s/t.cube", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(sa_cube_print(f, "test", lut, GRADE_LUT_SIZE), 0);
	fclose(f);
	back = cube_parse(path);
	/* Red fastest: row 1 is (1/32, 0, 0), row 33 is (0, 1/32, 0). */
	ck_assert_double_eq_tol(back[3], 1.0 / 32, 1e-5);
	ck_assert_double_eq_tol(back[4], 0.0, 1e-5);
	ck_assert_double_eq_tol(back[33 * 3 + 1], 1.0 / 32, 1e-5);
	ck_assert_double_eq_tol(back[33 * 33 * 3 + 2], 1.0 / 32, 1e-5);
	for (i = 0; i < N33 * 3; i++)
		ck_assert_double_eq_tol(back[i], lut[i], 1e-6);
	free(lut);
	free(back);
}
END_TEST

/* ---- output geometry ---- */

START_TEST(test_geometry_and_gaps)
{
	struct sa_geometry g;

	/* media-algorithms.md 8.6: 9:16 template on a 1920x1080 source. */
	ck_assert_int_eq(
	    sa_geometry(1920, 1080, 9, 16, SA_CONFORM_CROP, &g), 0);
	ck_assert_int_eq(g.width, 1080);
	ck_assert_int_eq(g.height, 1920);
	ck_assert_int_eq(g.h, 1080);
	ck_assert_int_eq(g.w, 608);
	ck_assert_int_eq(g.x, 656);
	ck_assert_int_eq(g.y, 0);
	ck_assert_int_eq(sa_geometry(1920, 1080, 9, 16, SA_CONFORM_PAD, &g), 0);
	ck_assert_int_eq(g.w, 1080);
	ck_assert_int_eq(g.h, 608);
	ck_assert_int_eq(g.x, 0);
	ck_assert_int_eq(g.y, 656);
	ck_assert_int_eq(sa_geometry(640, 360, 16, 9, SA_CONFORM_CROP, &g), 0);
	ck_assert(g.width == 640 && g.height == 360 && g.x == 0 && g.y == 0 &&
		  g.w == 640 && g.h == 360);
	ck_assert_int_eq(sa_geometry(1080, 1920, 1, 1, SA_CONFORM_CROP, &g), 0);
	ck_assert(g.width == 1080 && g.height == 1080 && g.w == 1080 &&
		  g.h == 1080 && g.y == 420);
	/*
	 * auto: a portrait clip in 16:9 would keep 32% as a crop: fill; 16:9
	 * in 1:1 keeps 56%: crop; 16:9 in 4:5 keeps 45%: fill.
	 */
	ck_assert_int_eq(
	    sa_geometry(1080, 1920, 16, 9, SA_CONFORM_AUTO, &g), 0);
	ck_assert(g.mode == SA_CONFORM_FILL && g.width == 1920 &&
		  g.height == 1080 && g.h == 1080 && g.w == 608 && g.x == 656);
	ck_assert_int_eq(sa_geometry(1920, 1080, 1, 1, SA_CONFORM_AUTO, &g), 0);
	ck_assert(g.mode == SA_CONFORM_CROP && g.w == 1080 && g.x == 420);
	ck_assert_int_eq(sa_geometry(1920, 1080, 4, 5, SA_CONFORM_AUTO, &g), 0);
	ck_assert(g.mode == SA_CONFORM_FILL);
	ck_assert_int_eq(sa_geometry(321, 181, 4, 3, SA_CONFORM_NONE, &g), 0);
	ck_assert(g.width % 2 == 0 && g.height % 2 == 0 && g.w == g.width);
	ck_assert_int_eq(sa_geometry(0, 180, 16, 9, SA_CONFORM_CROP, &g), -1);
	/* Too slow (or unmeasured) to show a jump by skipping: punch in. */
	ck_assert(sa_punch_in(NAN) && sa_punch_in(0.0) && sa_punch_in(0.1));
	ck_assert(!sa_punch_in(SA_VISIBLE_SHIFT / SA_GAP_MAX_S));
	ck_assert_double_eq(sa_jump_gap(NAN), SA_GAP_UNKNOWN_S);
	ck_assert_double_eq(sa_jump_gap(0.0), SA_GAP_MAX_S);
	ck_assert_double_eq(sa_jump_gap(10.0), SA_GAP_MIN_S);
	ck_assert_double_eq_tol(
	    sa_jump_gap(0.2), SA_VISIBLE_SHIFT / 0.2, 1e-12);
}
END_TEST

/* ---- hand-written artifacts ---- */

struct t_side {
	int w, h;
	double fps, dur;
	size_t nshots;
	const double *starts;
	const char *const *types; /* NULL: all cuts */
	const double *tr_ms;
	double lab[3], std[3], chroma, sat;
	/* audio */
	bool has_audio, music, speech;
	double lufs, bpm;
	/* motion */
	const char *camera;
	double speed;
};

static json_t *
t_colour(const struct t_side *s, double dl, bool hist)
{
	static const double z[5] = {-1.645, -0.674, 0, 0.674, 1.645};
	double p[5], v[64], sum = 0.0, x;
	json_t *o, *vals;
	int i;

	for (i = 0; i < 5; i++)
		p[i] = fmin(100, fmax(0, s->lab[0] + dl + z[i] * s->std[0]));
	o = json_pack("{s:[fff], s:[fff], s:{s:f, s:f, s:f, s:f, s:f}, "
		      "s:f, s:f}",
	    "lab_mean", s->lab[0] + dl, s->lab[1], s->lab[2], "lab_std",
	    s->std[0], s->std[1], s->std[2], "luma_percentiles", "p5", p[0],
	    "p25", p[1], "p50", p[2], "p75", p[3], "p95", p[4], "saturation",
	    s->sat, "chroma", s->chroma);
	if (!hist)
		return o;
	for (i = 0; i < 64; i++) {
		x = ((i + 0.5) * 100.0 / 64 - s->lab[0]) / s->std[0];
		v[i] = exp(-0.5 * x * x);
		sum += v[i];
	}
	vals = json_array();
	for (i = 0; i < 64; i++)
		json_array_append_new(vals, json_real(v[i] / sum));
	json_object_set_new(o, "luma_histogram",
	    json_pack("{s:i, s:[ii], s:o}", "bins", 64, "range", 0, 100,
		"values", vals));
	return o;
}

static json_t *
t_transition(const struct t_side *s, size_t i)
{
	const char *type = s->types != NULL ? s->types[i] : "cut";
	double ms = s->tr_ms != NULL ? s->tr_ms[i] : 0.0, t = s->starts[i];
	json_t *o;

	if (i == 0)
		return json_pack(
		    "{s:s, s:i}", "type", "none", "duration_ms", 0);
	o = json_pack("{s:s, s:I, s:f, s:f, s:f}", "type", type, "duration_ms",
	    (json_int_t)ms, "start_s", t - ms / 2000.0, "end_s",
	    t + ms / 2000.0, "strength", 40.0);
	if (strcmp(type, "cut") != 0)
		json_object_set_new(o, "easing", json_string("linear"));
	return o;
}

/* A video_analysis object in the stage's format. */
static json_t *
t_video(const struct t_side *s)
{
	json_t *shots = json_array(), *o;
	double end;
	size_t i;

	for (i = 0; i < s->nshots; i++) {
		end = i + 1 < s->nshots ? s->starts[i + 1] : s->dur;
		json_array_append_new(shots,
		    json_pack("{s:I, s:f, s:f, s:f, s:I, s:I, s:o, s:o, s:I}",
			"index", (json_int_t)i, "start_s", s->starts[i],
			"end_s", end, "duration_s", end - s->starts[i],
			"start_frame", (json_int_t)(s->starts[i] * s->fps),
			"frame_count",
			(json_int_t)((end - s->starts[i]) * s->fps),
			"transition_in", t_transition(s, i), "colour",
			t_colour(s, (double)(i % 3) - 1.0, false),
			"colour_samples", (json_int_t)10));
	}
	o = json_pack("{s:i, s:i, s:s, s:i, s:i, s:i, s:f, s:s, s:f, s:f, "
		      "s:f, s:b, s:f, s:I, s:s, s:I, s:o, s:o}",
	    "width", s->w, "height", s->h, "sar", "1:1", "rotation", 0,
	    "display_width", s->w, "display_height", s->h, "display_aspect",
	    (double)s->w / s->h, "aspect_ratio", "16:9", "fps", s->fps,
	    "fps_mean", s->fps, "fps_declared", s->fps, "vfr", 0, "duration_s",
	    s->dur, "frame_count", (json_int_t)(s->dur * s->fps), "codec",
	    "h264", "shot_count", (json_int_t)s->nshots, "shots", shots,
	    "global", t_colour(s, 0.0, true));
	return o;
}

/* An audio_analysis object in the stage's format. */
static json_t *
t_audio(const struct t_side *s)
{
	json_t *beats = json_array(), *bands = json_array();
	double t, period = s->music ? 60.0 / s->bpm : 0.0;

	for (t = 0.0; s->music && t < s->dur; t += period) {
		json_array_append_new(beats, json_real(t));
		json_array_append_new(
		    bands, json_pack("{s:f, s:s, s:f}", "t_s", t, "band",
			       "bass", "confidence", 1.0));
		json_array_append_new(
		    bands, json_pack("{s:f, s:s, s:f}", "t_s", t, "band", "mid",
			       "confidence", 0.6));
	}
	if (!s->has_audio)
		return json_pack(
		    "{s:b, s:n, s:i, s:n, s:n, s:n, s:n, s:n, s:n, "
		    "s:b, s:n, s:n, s:o, s:o, s:b}",
		    "has_audio", 0, "sample_rate", "channels", 0, "duration_s",
		    "integrated_lufs", "loudness_range_lu", "true_peak_dbtp",
		    "compression_ratio", "plr_db", "music", 0, "tempo_bpm",
		    "tempo_confidence", "beats_s", beats, "band_beats", bands,
		    "speech", 0);
	return json_pack("{s:b, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, "
			 "s:b, s:o, s:f, s:o, s:o, s:b}",
	    "has_audio", 1, "sample_rate", 48000, "channels", 2, "duration_s",
	    s->dur, "integrated_lufs", s->lufs, "loudness_range_lu", 4.0,
	    "true_peak_dbtp", s->lufs + 14.0, "compression_ratio", 1.4,
	    "plr_db", 14.0, "music", s->music, "tempo_bpm",
	    s->music ? json_real(s->bpm) : json_null(), "tempo_confidence",
	    s->music ? 0.9 : 0.05, "beats_s", beats, "band_beats", bands,
	    "speech", s->speech);
}

/* A motion_analysis object in the stage's format. */
static json_t *
t_motion(const struct t_side *s)
{
	json_t *shots = json_array();
	double end;
	size_t i;

	for (i = 0; i < s->nshots; i++) {
		end = i + 1 < s->nshots ? s->starts[i + 1] : s->dur;
		json_array_append_new(shots,
		    json_pack("{s:f, s:f, s:s, s:f, s:f, s:f, s:f, s:f, s:f, "
			      "s:f}",
			"start_s", s->starts[i], "end_s", end, "camera",
			s->camera, "tx_fw_per_s", s->speed, "ty_fh_per_s", 0.0,
			"zoom_per_s", 0.0, "rotation_deg_per_s", 0.0, "shake",
			0.001, "speed_fw_per_s", s->speed, "reliable_share",
			0.9));
	}
	return json_pack("{s:I, s:f, s:f, s:{s:i, s:i}, s:I, s:I, s:f, s:f, "
			 "s:f, s:s, s:o, s:[]}",
	    "frames_analysed", (json_int_t)(s->dur * s->fps), "fps", s->fps,
	    "duration_s", s->dur, "proxy", "width", 320, "height", 180,
	    "pairs_reliable", (json_int_t)(s->dur * s->fps * 0.9),
	    "pairs_unreliable", (json_int_t)(s->dur * s->fps * 0.1),
	    "motion_intensity", 100 * fmin(1, s->speed / 0.5), "zoom_usage",
	    strcmp(s->camera, "pan") == 0 ? 100.0 : 0.0, "mean_speed_fw_per_s",
	    s->speed, "shots_from", "video_analysis", "shots", shots,
	    "per_second");
}

static void
t_write(const char *name, json_t *tpl, json_t *src)
{
	char path[256];
	json_t *doc = json_pack("{s:i, s:o, s:o}", "version", 1, "template",
	    tpl != NULL ? tpl : json_null(), "source",
	    src != NULL ? src : json_null());

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
	json_decref(doc);
}

static void
t_artifacts(const struct t_side *tpl, const struct t_side *src)
{
	t_write(STYLE_VA_ARTIFACT, tpl != NULL ? t_video(tpl) : NULL,
	    src != NULL ? t_video(src) : NULL);
	t_write(STYLE_AA_ARTIFACT, tpl != NULL ? t_audio(tpl) : NULL,
	    src != NULL ? t_audio(src) : NULL);
	t_write(STYLE_MA_ARTIFACT, tpl != NULL ? t_motion(tpl) : NULL,
	    src != NULL ? t_motion(src) : NULL);
}

static const double tpl_starts[6] = {0, 2, 4.5, 6, 8.5, 10};
static const char *const tpl_types[6] = {
    "none", "cut", "dissolve", "cut", "fade", "cut"};
static const double tpl_ms[6] = {0, 0, 400, 0, 600, 0};
static const double src_starts[3] = {0, 14, 22};

/* A warm, punchy 12 s template at 30 fps with 120 BPM music. */
static void
t_template(struct t_side *s)
{
	memset(s, 0, sizeof(*s));
	*s = (struct t_side){
	    1280,
	    720,
	    30.0,
	    12.0,
	    6,
	    tpl_starts,
	    tpl_types,
	    tpl_ms,
	    {55, 12, 25},
	    {24, 18, 22},
	    35,
	    0.5,
	    true,
	    true,
	    false,
	    -14.0,
	    120.0,
	    "pan",
	    0.2,
	};
}

/* A neutral 30 s source at 25 fps, quieter, with 100 BPM music. */
static void
t_source(struct t_side *s)
{
	memset(s, 0, sizeof(*s));
	*s = (struct t_side){
	    1920,
	    1080,
	    25.0,
	    30.0,
	    3,
	    src_starts,
	    NULL,
	    NULL,
	    {50, 0, 2},
	    {18, 10, 12},
	    15,
	    0.3,
	    true,
	    true,
	    false,
	    -24.0,
	    100.0,
	    "pan",
	    0.25,
	};
}

static enum stage_result
run_stage(
    const struct stage_ops *ops, const char *const *kv, struct stage_ctx *ctx)
{
	struct msg_config cfg;
	enum stage_result rc;

	memset(&cfg, 0, sizeof(cfg));
	for (; kv != NULL && kv[0] != NULL; kv += 2, cfg.count++) {
		str_copy(cfg.kv[cfg.count].key, kv[0], sizeof(cfg.kv[0].key));
		str_copy(
		    cfg.kv[cfg.count].value, kv[1], sizeof(cfg.kv[0].value));
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->job_id = "job_0123456789ab";
	ctx->stage = ops->name;
	ctx->job_dir = dir;
	ctx->source = "/videos/src.mp4";
	ctx->template_path = "/videos/tpl.mp4";
	ctx->skeleton = worker_skel_new(-1, 0, &cfg);
	rc = ops->run(ctx);
	/* Neither style stage has a result for reeld. */
	ck_assert_ptr_null(ctx->result);
	worker_skel_free(ctx->skeleton);
	ctx->skeleton = NULL;
	return rc;
}

static json_t *
t_load(const char *name)
{
	char path[256];
	json_error_t err;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	doc = json_load_file(path, 0, &err);
	ck_assert_msg(doc != NULL, "%s: %s", name, err.text);
	return doc;
}

/* No temporary file of an atomic write is left behind. */
static void
no_temp_files(void)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		ck_assert_msg(e->d_name[0] != '.' ||
				  strcmp(e->d_name, ".") == 0 ||
				  strcmp(e->d_name, "..") == 0,
		    "left behind: %s", e->d_name);
	}
	closedir(d);
}

static void
in_range(const json_t *o, const char *key, double lo, double hi)
{
	double v = media_json_num(o, key);

	ck_assert_msg(
	    v >= lo && v <= hi, "%s = %g not in %g..%g", key, v, lo, hi);
}

static void
check_transition(const json_t *t)
{
	const char *type = json_string_value(json_object_get(t, "type"));

	ck_assert_ptr_nonnull(type);
	ck_assert(strcmp(type, "cut") == 0 || strcmp(type, "fade") == 0 ||
		  strcmp(type, "dissolve") == 0);
	ck_assert(json_is_integer(json_object_get(t, "duration_ms")));
	ck_assert_int_ge(
	    json_integer_value(json_object_get(t, "duration_ms")), 0);
	ck_assert(json_is_string(json_object_get(t, "easing")));
}

/* Every documented StyleJSON field, with its type and range. */
static void
check_style(const json_t *s)
{
	static const char *const grade[6] = {"temperature", "tint",
	    "saturation", "contrast", "highlights", "shadows"};
	static const char *const aspects[] = {"16:9", "9:16", "1:1", "4:3",
	    "3:4", "3:2", "2:3", "4:5", "5:4", "2:1", "1:2", "21:9", "9:21"};
	const json_t *cg = json_object_get(s, "color_grade"), *a, *e;
	const char *asp, *created;
	size_t i, ok = 0;
	int y, mo, d, h, mi, se;

	ck_assert_str_eq(
	    json_string_value(json_object_get(s, "version")), "1.0");
	for (i = 0; i < 6; i++)
		in_range(cg, grade[i], -100, 100);
	asp = json_string_value(json_object_get(s, "aspect_ratio"));
	for (i = 0; asp != NULL && i < sizeof(aspects) / sizeof(*aspects); i++)
		ok += strcmp(asp, aspects[i]) == 0;
	ck_assert_uint_eq(ok, 1);
	ck_assert(json_is_integer(json_object_get(s, "frame_rate")));
	ck_assert_int_gt(
	    json_integer_value(json_object_get(s, "frame_rate")), 0);
	a = json_object_get(s, "audio_style");
	in_range(a, "normalization_level", 0, 1);
	in_range(a, "compression_ratio", 1, 100);
	in_range(a, "bass_boost", 0, 100);
	ck_assert(json_is_boolean(json_object_get(a, "enhance_speech")));
	in_range(s, "cut_frequency", 0, 1e6);
	in_range(s, "motion_intensity", 0, 100);
	in_range(s, "zoom_usage", 0, 100);
	check_transition(json_object_get(s, "primary_transition"));
	e = json_object_get(s, "secondary_transition");
	ck_assert(json_is_null(e) || json_is_object(e));
	if (json_is_object(e))
		check_transition(e);
	ck_assert(json_is_false(json_object_get(s, "use_subtitles")));
	ck_assert(json_is_array(json_object_get(s, "detected_beats")));
	json_array_foreach(json_object_get(s, "detected_beats"), i, e)
	{
		const char *f =
		    json_string_value(json_object_get(e, "frequency"));

		in_range(e, "timestamp_ms", 0, 1e9);
		in_range(e, "confidence", 0, 1);
		ck_assert(f != NULL &&
			  (strcmp(f, "bass") == 0 || strcmp(f, "mid") == 0 ||
			      strcmp(f, "treble") == 0));
	}
	e = json_object_get(s, "tempo_bpm");
	ck_assert(json_is_null(e) || json_number_value(e) > 0);
	ck_assert(json_is_null(json_object_get(s, "music_genre")));
	ck_assert(json_is_array(json_object_get(s, "text_overlays")));
	ck_assert_uint_eq(
	    json_array_size(json_object_get(s, "text_overlays")), 0);
	created = json_string_value(json_object_get(s, "created_at"));
	ck_assert_ptr_nonnull(created);
	ck_assert_int_eq(sscanf(created, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d,
			     &h, &mi, &se),
	    6);
	ck_assert(created[strlen(created) - 1] == 'Z');
	in_range(s, "source_duration_seconds", 1e-3, 1e9);
	in_range(s, "extraction_confidence", 0, 1);
	ck_assert(json_is_object(json_object_get(s, "analysis")));
}

START_TEST(test_extraction_fields)
{
	struct t_side tpl, src;
	struct stage_ctx ctx;
	json_t *s, *an;
	enum stage_result rc;

	t_template(&tpl);
	t_source(&src);
	t_artifacts(&tpl, &src);
	rc = run_stage(&stage_style_extraction_ops, NULL, &ctx);
	ck_assert_msg(rc == STAGE_OK, "%d %s", rc, ctx.error);
	no_temp_files();
	s = t_load(STYLE_ARTIFACT);
	check_style(s);
	/* The template's measurements, not the source's. */
	ck_assert_str_eq(
	    json_string_value(json_object_get(s, "aspect_ratio")), "16:9");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(s, "frame_rate")), 30);
	ck_assert_double_eq_tol(media_json_num(s, "cut_frequency"), 25.0, 1e-3);
	ck_assert_double_eq_tol(media_json_num(s, "tempo_bpm"), 120.0, 1e-6);
	ck_assert_double_eq_tol(
	    media_json_num(s, "source_duration_seconds"), 12.0, 1e-6);
	ck_assert_uint_eq(
	    json_array_size(json_object_get(s, "detected_beats")), 48);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(s, "primary_transition"), "type")),
	    "cut");
	/* 3 cuts, 1 dissolve, 1 fade: the tie goes to fade (documented). */
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_object_get(s, "secondary_transition"), "type")),
	    "fade");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_object_get(s, "secondary_transition"), "duration_ms")),
	    600);
	/* Warm and vivid template. */
	ck_assert_double_gt(
	    media_json_num(json_object_get(s, "color_grade"), "temperature"),
	    0);
	ck_assert_double_gt(
	    media_json_num(json_object_get(s, "color_grade"), "saturation"), 0);
	ck_assert_double_gt(
	    media_json_num(json_object_get(s, "audio_style"), "bass_boost"), 0);
	an = json_object_get(s, "analysis");
	ck_assert_str_eq(
	    json_string_value(json_object_get(an, "role")), "template");
	ck_assert_uint_eq(json_array_size(json_object_get(an, "shots")), 6);
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(an, "shots"), 0), "camera")),
	    "pan");
	ck_assert_double_eq_tol(
	    media_json_num(json_object_get(an, "audio"), "integrated_lufs"),
	    -14.0, 1e-9);
	ck_assert_double_eq_tol(
	    media_json_num(json_object_get(an, "shot_lengths"), "mean_s"), 2.0,
	    1e-3);
	ck_assert_uint_eq(json_array_size(json_object_get(
			      json_object_get(json_object_get(an, "colour"),
				  "luma_histogram"),
			      "values")),
	    64);
	json_decref(s);
}
END_TEST

START_TEST(test_extraction_without_music_or_audio)
{
	struct t_side tpl;
	struct stage_ctx ctx;
	json_t *s, *a;

	/* Template-only job: no source anywhere; speech without music. */
	t_template(&tpl);
	tpl.music = false;
	tpl.speech = true;
	t_artifacts(&tpl, NULL);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	s = t_load(STYLE_ARTIFACT);
	check_style(s);
	ck_assert(json_is_null(json_object_get(s, "tempo_bpm")));
	ck_assert_uint_eq(
	    json_array_size(json_object_get(s, "detected_beats")), 0);
	a = json_object_get(s, "audio_style");
	ck_assert(json_is_true(json_object_get(a, "enhance_speech")));
	ck_assert_double_eq(media_json_num(a, "bass_boost"), 0.0);
	json_decref(s);
	/* No audio stream at all. */
	tpl.has_audio = false;
	tpl.speech = false;
	t_artifacts(&tpl, NULL);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	s = t_load(STYLE_ARTIFACT);
	check_style(s);
	a = json_object_get(s, "audio_style");
	ck_assert_double_eq(media_json_num(a, "normalization_level"), 0.0);
	ck_assert_double_eq(media_json_num(a, "compression_ratio"), 1.0);
	ck_assert(json_is_false(json_object_get(a, "enhance_speech")));
	ck_assert(json_is_null(json_object_get(
	    json_object_get(json_object_get(s, "analysis"), "audio"),
	    "integrated_lufs")));
	json_decref(s);
}
END_TEST

START_TEST(test_extraction_uses_source_without_template)
{
	struct t_side src;
	struct stage_ctx ctx;
	json_t *s;

	t_source(&src);
	t_artifacts(NULL, &src);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	s = t_load(STYLE_ARTIFACT);
	check_style(s);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(s, "analysis"), "role")),
	    "source");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(s, "frame_rate")), 25);
	json_decref(s);
}
END_TEST

static void
write_text(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

START_TEST(test_extraction_bad_inputs)
{
	struct t_side tpl;
	struct stage_ctx ctx;
	char path[256];

	t_template(&tpl);
	t_artifacts(&tpl, NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, STYLE_MA_ARTIFACT);
	unlink(path);
	ck_assert_int_eq(run_stage(&stage_style_extraction_ops, NULL, &ctx),
	    STAGE_E_NOINPUT);
	ck_assert_ptr_nonnull(strstr(ctx.error, STYLE_MA_ARTIFACT));
	write_text(STYLE_MA_ARTIFACT, "{\"version\": 1, \"template\": ");
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_E_DATA);
	ck_assert_ptr_nonnull(strstr(ctx.error, "malformed"));
	write_text(STYLE_MA_ARTIFACT, "{\"version\": 2, \"template\": {}}");
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_E_DATA);
	ck_assert_ptr_nonnull(strstr(ctx.error, "version"));
	write_text(STYLE_MA_ARTIFACT,
	    "{\"version\": 1, \"template\": {\"shots\": []}}");
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_E_DATA);
	ck_assert_ptr_nonnull(strstr(ctx.error, "motion_intensity"));
	t_artifacts(&tpl, NULL);
	write_text(STYLE_VA_ARTIFACT,
	    "{\"version\": 1, \"template\": {\"display_width\": 640}}");
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_E_DATA);
	write_text(STYLE_VA_ARTIFACT,
	    "{\"version\": 1, \"template\": null, \"source\": null}");
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_E_DATA);
	no_temp_files();
}
END_TEST

/* Every rule of docs/stages/plan.md. */
static void
check_plan(const json_t *p, const char *quality)
{
	const json_t *src = json_object_get(p, "source");
	const json_t *out = json_object_get(p, "output");
	const json_t *fr = json_object_get(out, "frame_rate");
	const json_t *cf = json_object_get(out, "conform");
	const json_t *ed = json_object_get(p, "edit"), *e, *prev = NULL;
	const json_t *au = json_object_get(p, "audio");
	const json_t *en = json_object_get(p, "encode");
	const char *mode = json_string_value(json_object_get(cf, "mode"));
	double fps, end = 0.0, o, len, d, sw, sh;
	int w, h;
	size_t i;

	ck_assert_int_eq(json_integer_value(json_object_get(p, "version")), 1);
	ck_assert(json_is_string(json_object_get(src, "path")));
	in_range(src, "duration_s", 0.001, 1e9);
	ck_assert(json_is_boolean(json_object_get(src, "has_audio")));
	sw = media_json_num(src, "display_width");
	sh = media_json_num(src, "display_height");
	in_range(json_object_get(p, "template"), "duration_s", 0.001, 1e9);
	w = (int)media_json_num(out, "width");
	h = (int)media_json_num(out, "height");
	ck_assert(w > 0 && h > 0 && w % 2 == 0 && h % 2 == 0);
	fps = media_json_num(fr, "num") / media_json_num(fr, "den");
	ck_assert_double_gt(fps, 0);
	ck_assert(json_is_string(json_object_get(out, "aspect_ratio")));
	ck_assert_ptr_nonnull(mode);
	if (strcmp(mode, "crop") == 0) {
		ck_assert_double_le(
		    media_json_num(cf, "x") + media_json_num(cf, "w"), sw);
		ck_assert_double_le(
		    media_json_num(cf, "y") + media_json_num(cf, "h"), sh);
	} else {
		ck_assert(
		    strcmp(mode, "pad") == 0 || strcmp(mode, "none") == 0);
		ck_assert_double_le(
		    media_json_num(cf, "x") + media_json_num(cf, "w"), w);
		ck_assert_double_le(
		    media_json_num(cf, "y") + media_json_num(cf, "h"), h);
	}
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(p, "grade"), "lut_file")),
	    "grade.cube");
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(p, "grade"), "lut_size")),
	    33);
	in_range(json_object_get(p, "grade"), "strength", 0, 1);
	in_range(ed, "target_cut_frequency", 0, 1e6);
	ck_assert(json_is_boolean(json_object_get(ed, "beat_snapped")));
	ck_assert_uint_gt(json_array_size(json_object_get(ed, "segments")), 0);
	json_array_foreach(json_object_get(ed, "segments"), i, e)
	{
		const json_t *tr = json_object_get(e, "transition_in");
		const char *type =
		    json_string_value(json_object_get(tr, "type"));

		len = media_json_num(e, "src_end_s") -
		      media_json_num(e, "src_start_s");
		ck_assert_double_ge(len, 2.0 / fps - 1e-6);
		d = media_json_num(tr, "duration_s");
		o = media_json_num(e, "out_start_s");
		ck_assert_ptr_nonnull(type);
		if (i == 0) {
			ck_assert_str_eq(type, "none");
			ck_assert_double_eq(o, 0.0);
		} else {
			ck_assert_double_gt(media_json_num(e, "src_start_s"),
			    media_json_num(prev, "src_start_s"));
			ck_assert_double_ge(media_json_num(e, "src_start_s"),
			    media_json_num(prev, "src_end_s"));
			ck_assert(strcmp(type, "cut") == 0 ||
				  strcmp(type, "fade") == 0 ||
				  strcmp(type, "dissolve") == 0);
			ck_assert_double_eq_tol(o,
			    end - (strcmp(type, "dissolve") == 0 ? d : 0.0),
			    1e-6);
		}
		end = o + len;
		prev = e;
	}
	ck_assert_double_eq_tol(media_json_num(out, "duration_s"), end, 1e-3);
	ck_assert(json_is_boolean(json_object_get(au, "present")));
	ck_assert(json_is_number(json_object_get(au, "gain_db")));
	ck_assert_double_eq(media_json_num(au, "true_peak_limit_dbtp"), -1.0);
	ck_assert_str_eq(
	    json_string_value(json_object_get(en, "quality")), quality);
	ck_assert_str_eq(
	    json_string_value(json_object_get(en, "video_codec")), "libx264");
	ck_assert_str_eq(
	    json_string_value(json_object_get(en, "audio_codec")), "aac");
	ck_assert(json_is_string(json_object_get(en, "preset")));
	in_range(en, "crf", 0, 51);
	in_range(en, "audio_bitrate", 32000, 512000);
	in_range(en, "audio_rate", 8000, 192000);
}

START_TEST(test_application_plan)
{
	struct t_side tpl, src;
	struct stage_ctx ctx;
	enum stage_result rc;
	json_t *p, *out;
	float *lut;
	char path[256];

	t_template(&tpl);
	t_source(&src);
	t_artifacts(&tpl, &src);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	rc = run_stage(&stage_style_application_ops, NULL, &ctx);
	ck_assert_msg(rc == STAGE_OK, "%d %s", rc, ctx.error);
	no_temp_files();
	p = t_load(SA_PLAN_ARTIFACT);
	check_plan(p, "medium");
	out = json_object_get(p, "output");
	/* 1080p source, 16:9 template at 30 fps. */
	ck_assert_int_eq(media_json_num(out, "width"), 1920);
	ck_assert_int_eq(media_json_num(out, "height"), 1080);
	ck_assert_int_eq(
	    media_json_num(json_object_get(out, "frame_rate"), "num"), 30);
	ck_assert_int_eq(
	    media_json_num(json_object_get(out, "frame_rate"), "den"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(out, "conform"), "mode")),
	    "crop");
	ck_assert_double_eq_tol(
	    media_json_num(json_object_get(p, "audio"), "gain_db"), 10.0, 1e-9);
	ck_assert_double_eq_tol(
	    media_json_num(json_object_get(p, "audio"), "source_lufs"), -24.0,
	    1e-9);
	ck_assert_double_eq_tol(
	    media_json_num(json_object_get(p, "audio"), "target_lufs"), -14.0,
	    1e-9);
	ck_assert(json_is_true(
	    json_object_get(json_object_get(p, "edit"), "beat_snapped")));
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(p, "encode"), "preset")),
	    "veryfast");
	ck_assert_int_eq(
	    media_json_num(json_object_get(p, "encode"), "crf"), 23);
	snprintf(path, sizeof(path), "%s/%s", dir, SA_LUT_ARTIFACT);
	lut = cube_parse(path);
	/* A warmer template: mid grey comes out warmer. */
	ck_assert_float_gt(lut[(16 * 33 * 33 + 16 * 33 + 16) * 3],
	    lut[(16 * 33 * 33 + 16 * 33 + 16) * 3 + 2]);
	free(lut);
	json_decref(p);
}
END_TEST

START_TEST(test_application_config)
{
	static const char *const kv[] = {
	    "quality", "high", "conform", "pad", "grade_strength", "0.5", NULL};
	static const char *const bad_conform[] = {"conform", "fit", NULL};
	static const char *const bad_strength[] = {"grade_strength", "2", NULL};
	struct t_side tpl, src;
	struct stage_ctx ctx;
	json_t *p, *cf;

	t_template(&tpl);
	tpl.w = 1080;
	tpl.h = 1920;
	tpl.fps = 29.97003;
	t_source(&src);
	src.has_audio = false;
	src.music = false;
	t_artifacts(&tpl, &src);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, kv, &ctx), STAGE_OK);
	p = t_load(SA_PLAN_ARTIFACT);
	check_plan(p, "high");
	cf = json_object_get(json_object_get(p, "output"), "conform");
	/* 9:16 letterboxed: the whole 1920x1080 frame inside 1080x1920. */
	ck_assert_int_eq(
	    media_json_num(json_object_get(p, "output"), "width"), 1080);
	ck_assert_int_eq(
	    media_json_num(json_object_get(p, "output"), "height"), 1920);
	ck_assert_str_eq(json_string_value(json_object_get(cf, "mode")), "pad");
	ck_assert_int_eq(media_json_num(cf, "w"), 1080);
	ck_assert_int_eq(media_json_num(cf, "h"), 608);
	ck_assert_int_eq(
	    media_json_num(
		json_object_get(json_object_get(p, "output"), "frame_rate"),
		"num"),
	    30000);
	ck_assert_int_eq(
	    media_json_num(
		json_object_get(json_object_get(p, "output"), "frame_rate"),
		"den"),
	    1001);
	ck_assert_double_eq(
	    media_json_num(json_object_get(p, "grade"), "strength"), 0.5);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(p, "encode"), "preset")),
	    "faster");
	ck_assert(json_is_false(
	    json_object_get(json_object_get(p, "audio"), "present")));
	ck_assert_double_eq(
	    media_json_num(json_object_get(p, "audio"), "gain_db"), 0.0);
	ck_assert(json_is_false(
	    json_object_get(json_object_get(p, "edit"), "beat_snapped")));
	json_decref(p);
	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, bad_conform, &ctx),
	    STAGE_E_USAGE);
	ck_assert_ptr_nonnull(strstr(ctx.error, "conform"));
	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, bad_strength, &ctx),
	    STAGE_E_USAGE);
}
END_TEST

/* The rules plan.json says gave way, as "rule" strings. */
static bool
plan_relaxed(const json_t *plan, const char *rule)
{
	const json_t *e;
	size_t i;

	json_array_foreach(
	    json_object_get(json_object_get(plan, "edit"), "relaxed"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "rule")),
			rule) == 0)
			return true;
	}
	return false;
}

/* The plan's output duration under config duration=value. */
static double
duration_of(const char *value, json_t **plan)
{
	const char *const kv[] = {"duration", value, NULL};
	struct stage_ctx ctx;

	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, kv, &ctx), STAGE_OK);
	*plan = t_load(SA_PLAN_ARTIFACT);
	return media_json_num(json_object_get(*plan, "output"), "duration_s");
}

/*
 * config duration: a number shortens the plan to it exactly, keeping the
 * first and the last segment; template asks for the template's length,
 * and a source too short for it says so in edit.relaxed; out of range is
 * a usage error.
 */
START_TEST(test_application_duration)
{
	static const char *const bad[] = {"0.5", "1e9", "long", "", NULL};
	struct t_side tpl, src;
	struct stage_ctx ctx;
	json_t *full, *p, *fs, *ps;
	double d;

	t_template(&tpl);
	t_source(&src);
	t_artifacts(&tpl, &src);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	d = duration_of("source", &full);
	ck_assert_double_gt(d, 8.0);
	ck_assert_double_eq_tol(duration_of("6", &p), 6.0, 1e-3);
	fs = json_object_get(json_object_get(full, "edit"), "segments");
	ps = json_object_get(json_object_get(p, "edit"), "segments");
	ck_assert_uint_lt(json_array_size(ps), json_array_size(fs));
	ck_assert_double_eq(
	    media_json_num(json_array_get(ps, 0), "src_start_s"),
	    media_json_num(json_array_get(fs, 0), "src_start_s"));
	ck_assert_double_eq(
	    media_json_num(
		json_array_get(ps, json_array_size(ps) - 1), "src_start_s"),
	    media_json_num(
		json_array_get(fs, json_array_size(fs) - 1), "src_start_s"));
	ck_assert_double_eq(
	    media_json_num(json_object_get(p, "edit"), "target_duration_s"),
	    6.0);
	check_plan(p, "medium");
	json_decref(p);
	ck_assert_double_eq_tol(duration_of("3600", &p), d, 1e-3);
	ck_assert(plan_relaxed(p, "duration"));
	json_decref(p);
	json_decref(full);
	for (size_t i = 0; bad[i] != NULL; i++) {
		const char *const kv[] = {"duration", bad[i], NULL};

		ck_assert_int_eq(
		    run_stage(&stage_style_application_ops, kv, &ctx),
		    STAGE_E_USAGE);
		ck_assert_ptr_nonnull(strstr(ctx.error, "duration"));
	}
}
END_TEST

/*
 * Cuts of a plan whose output time (a dissolve's middle) is on a multiple
 * of period, s.
 */
static size_t
cuts_on_grid(const json_t *segs, double period)
{
	const json_t *seg, *tr;
	size_t i, on = 0;
	double t, r;

	for (i = 1; i < json_array_size(segs); i++) {
		seg = json_array_get(segs, i);
		tr = json_object_get(seg, "transition_in");
		t = media_json_num(seg, "out_start_s");
		if (strcmp(json_string_value(json_object_get(tr, "type")),
			"dissolve") == 0)
			t += media_json_num(tr, "duration_s") / 2.0;
		r = fmod(t + 0.001, period);
		on += r <= 0.002;
	}
	return on;
}

/*
 * config soundtrack=template: the template's audio at its own loudness,
 * as long as the template by default, the cuts on the template's beats
 * (120 BPM: every 0.5 s of output time) rather than the source's; a
 * template without audio keeps the source's, saying why.
 */
START_TEST(test_application_template_soundtrack)
{
	static const char *const kv[] = {"soundtrack", "template", NULL};
	static const char *const bad[] = {"soundtrack", "music", NULL};
	struct t_side tpl, src;
	struct stage_ctx ctx;
	const json_t *a, *ed;
	json_t *p;
	size_t on;

	t_template(&tpl);
	t_source(&src);
	t_artifacts(&tpl, &src);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, kv, &ctx), STAGE_OK);
	p = t_load(SA_PLAN_ARTIFACT);
	check_plan(p, "medium");
	a = json_object_get(p, "audio");
	ed = json_object_get(p, "edit");
	ck_assert_str_eq(
	    json_string_value(json_object_get(a, "soundtrack")), "template");
	ck_assert(json_is_true(json_object_get(a, "present")));
	ck_assert_double_eq(media_json_num(a, "gain_db"), 0.0);
	ck_assert_double_eq(media_json_num(a, "target_lufs"), -14.0);
	ck_assert_double_le(
	    media_json_num(json_object_get(p, "output"), "duration_s"),
	    12.0005);
	on = cuts_on_grid(json_object_get(ed, "segments"), 0.5);
	printf("template soundtrack: %zu of %zu cuts on the template's beats\n",
	    on, json_array_size(json_object_get(ed, "segments")) - 1);
	ck_assert_uint_eq(on, (size_t)media_json_num(ed, "cuts_on_beats"));
	ck_assert(json_is_true(json_object_get(ed, "beat_snapped")));
	json_decref(p);
	tpl.has_audio = tpl.music = false;
	t_artifacts(&tpl, &src);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, kv, &ctx), STAGE_OK);
	p = t_load(SA_PLAN_ARTIFACT);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(p, "audio"), "soundtrack")),
	    "source");
	ck_assert(plan_relaxed(p, "soundtrack"));
	json_decref(p);
	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, bad, &ctx), STAGE_E_USAGE);
}
END_TEST

/*
 * Adds looks (motion_analysis.md) to the source's shots of the written
 * motion_analysis.json: each shot's level(shot, skip, view) at every join
 * time.
 */
static void
t_looks(double (*level)(size_t, size_t, size_t))
{
	json_t *doc = t_load(STYLE_MA_ARTIFACT), *skips = json_array(),
	       *views = json_array(), *sh, *calm, *diff, *row;
	json_t *src = json_object_get(doc, "source");
	double t0, t1;
	size_t i, j, v, k, n;
	char path[256];

	for (j = 0; j < LOOKS_NSKIPS; j++)
		json_array_append_new(skips, json_real(looks_skips[j]));
	for (v = 0; v < LOOKS_NVIEWS; v++)
		json_array_append_new(views,
		    json_pack("{s:f, s:f, s:f}", "zoom", looks_views[v].zoom,
			"x", looks_views[v].x, "y", looks_views[v].y));
	json_object_set_new(src, "looks_grid",
	    json_pack("{s:f, s:f, s:o, s:o}", "step_s", LOOKS_STEP_S, "calm_s",
		LOOKS_CALM_S, "skips_s", skips, "views", views));
	json_array_foreach(json_object_get(src, "shots"), k, sh)
	{
		t0 = media_json_num(sh, "start_s");
		t1 = media_json_num(sh, "end_s");
		n = (size_t)((t1 - t0 - looks_skips[0]) / LOOKS_STEP_S) + 1;
		calm = json_array();
		diff = json_array();
		for (i = 0; i < n; i++) {
			json_array_append_new(calm, json_real(1.0));
			row = json_array();
			for (j = 0; j < LOOKS_NSKIPS; j++)
				for (v = 0; v < LOOKS_NVIEWS; v++)
					json_array_append_new(
					    row, t0 + i * LOOKS_STEP_S +
							     looks_skips[j] <
							 t1
						     ? json_real(level(k, j, v))
						     : json_null());
			json_array_append_new(diff, row);
		}
		json_object_set_new(sh, "looks",
		    json_pack("{s:o, s:o}", "calm", calm, "diff", diff));
	}
	snprintf(path, sizeof(path), "%s/%s", dir, STYLE_MA_ARTIFACT);
	ck_assert_int_eq(json_dump_file(doc, path, 0), 0);
	json_decref(doc);
}

/*
 * Shot 0 (0-14 s) changes only with a 1.5x punch-in to the left, shot 1
 * (14-22 s) never, shot 2 (22-30 s) by skipping 1 s or more.
 */
static double
t_level(size_t shot_i, size_t skip, size_t view)
{
	const struct looks_view *v = &looks_views[view];

	if (shot_i == 0)
		return v->zoom == 1.5 && v->x == 0.0 ? 60.0 : 5.0;
	if (shot_i == 2)
		return looks_skips[skip] >= 1.0 && view == 0 ? 50.0 : 5.0;
	return 5.0;
}

/*
 * Every jump inside a shot is one the looks say is visible: the least
 * change that shows, alternating with the whole frame; a shot where
 * nothing shows is not cut and edit.relaxed says so.
 */
START_TEST(test_application_visible_cuts)
{
	struct t_side tpl, src;
	struct stage_ctx ctx;
	const json_t *segs, *a, *b;
	json_t *p;
	size_t i, in_shot0 = 0, in_shot1 = 0, in_shot2 = 0;
	double gap;

	t_template(&tpl);
	t_source(&src);
	src.music = false;
	t_artifacts(&tpl, &src);
	t_looks(t_level);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, NULL, &ctx), STAGE_OK);
	p = t_load(SA_PLAN_ARTIFACT);
	check_plan(p, "medium");
	ck_assert(plan_relaxed(p, "visible_cuts"));
	segs = json_object_get(json_object_get(p, "edit"), "segments");
	ck_assert_uint_gt(json_array_size(segs), 6);
	for (i = 0; i < json_array_size(segs); i++) {
		b = json_array_get(segs, i);
		in_shot0 += media_json_num(b, "src_start_s") < 14.0;
		in_shot1 += media_json_num(b, "src_start_s") >= 14.0 &&
			    media_json_num(b, "src_start_s") < 22.0;
		in_shot2 += media_json_num(b, "src_start_s") >= 22.0;
		if (i == 0)
			continue;
		a = json_array_get(segs, i - 1);
		gap = media_json_num(b, "src_start_s") -
		      media_json_num(a, "src_end_s");
		if (media_json_num(b, "src_start_s") < 14.0) {
			/* Whole, 1.5x at the left edge, whole, ... */
			ck_assert_double_eq(media_json_num(a, "zoom") +
						media_json_num(b, "zoom"),
			    2.5);
			if (media_json_num(b, "zoom") > 1.0)
				ck_assert_double_eq(
				    media_json_num(b, "zoom_x"), 0.0);
		} else if (media_json_num(a, "src_start_s") >= 22.0) {
			ck_assert_double_ge(gap, 1.0 - 1e-3);
			ck_assert_double_eq(media_json_num(b, "zoom"), 1.0);
		}
	}
	ck_assert_uint_ge(in_shot0, 3);
	ck_assert_uint_le(in_shot1, 1);
	ck_assert_uint_ge(in_shot2, 2);
	json_decref(p);
}
END_TEST

/* Writes the pair's artifacts, runs extraction and application: the plan. */
static json_t *
plan_of(const struct t_side *tpl, const struct t_side *src)
{
	struct stage_ctx ctx;

	t_artifacts(tpl, src);
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, NULL, &ctx), STAGE_OK);
	return t_load(SA_PLAN_ARTIFACT);
}

/* A template timed at 500 fps renders at 100: the least divisor to 120. */
START_TEST(test_application_caps_frame_rate)
{
	struct t_side tpl, src;
	const json_t *fr;
	json_t *p;

	t_template(&tpl);
	tpl.fps = 500.0;
	t_source(&src);
	p = plan_of(&tpl, &src);
	fr = json_object_get(json_object_get(p, "output"), "frame_rate");
	ck_assert_double_eq_tol(
	    media_json_num(fr, "num") / media_json_num(fr, "den"), 100.0, 1e-9);
	json_decref(p);
}
END_TEST

START_TEST(test_application_caps_dissolves)
{
	static const char *const types[6] = {
	    "none", "dissolve", "dissolve", "dissolve", "dissolve", "dissolve"};
	static const double ms[6] = {0, 1500, 1500, 1500, 1500, 1500};
	struct t_side tpl, src;
	json_t *p, *e;
	size_t i, n = 0;

	t_template(&tpl);
	tpl.types = types;
	tpl.tr_ms = ms;
	t_source(&src);
	p = plan_of(&tpl, &src);
	check_plan(p, "medium");
	json_array_foreach(
	    json_object_get(json_object_get(p, "edit"), "segments"), i, e)
	{
		const json_t *tr = json_object_get(e, "transition_in");

		if (i == 0)
			continue;
		ck_assert_str_eq(
		    json_string_value(json_object_get(tr, "type")), "dissolve");
		/* 30 frames at the template's 30 fps. */
		ck_assert_double_le(
		    media_json_num(tr, "duration_s"), 1.0 + 1e-9);
		n++;
	}
	ck_assert_uint_gt(n, 0);
	json_decref(p);
}
END_TEST

static size_t
plan_segments(const json_t *plan)
{
	return json_array_size(
	    json_object_get(json_object_get(plan, "edit"), "segments"));
}

/*
 * A legal pair always gives a plan: source shots too short for the
 * template's 2 s fades get shorter fades; shots too short for any
 * segment (a cut every 3 frames) make the source one shot. plan.json
 * says which rule gave way.
 */
START_TEST(test_application_relaxes_rules)
{
	static const char *const fades[6] = {
	    "none", "fade", "fade", "fade", "fade", "fade"};
	static const double ms[6] = {0, 2000, 2000, 2000, 2000, 2000};
	static const double short_starts[20] = {0.0, 1.5, 3.0, 4.5, 6.0, 7.5,
	    9.0, 10.5, 12.0, 13.5, 15.0, 16.5, 18.0, 19.5, 21.0, 22.5, 24.0,
	    25.5, 27.0, 28.5};
	static double tiny_starts[100];
	struct t_side tpl, src;
	json_t *p;
	size_t i;

	t_template(&tpl);
	tpl.types = fades;
	tpl.tr_ms = ms;
	t_source(&src);
	src.nshots = 20;
	src.starts = short_starts;
	p = plan_of(&tpl, &src);
	ck_assert(plan_relaxed(p, "transition_duration"));
	ck_assert(!plan_relaxed(p, "shot_boundaries"));
	ck_assert_uint_gt(plan_segments(p), 1);
	json_decref(p);
	for (i = 0; i < 100; i++)
		tiny_starts[i] = (double)i * 0.12;
	src.nshots = 100;
	src.starts = tiny_starts;
	src.dur = 12.0;
	p = plan_of(&tpl, &src);
	ck_assert(plan_relaxed(p, "shot_boundaries"));
	json_decref(p);
	/* Three frames in all. */
	src.nshots = 1;
	src.dur = 0.1;
	p = plan_of(&tpl, &src);
	ck_assert(plan_relaxed(p, "minimum_segment"));
	ck_assert_uint_eq(plan_segments(p), 1);
	json_decref(p);
}
END_TEST

START_TEST(test_application_needs_inputs)
{
	struct t_side tpl;
	struct stage_ctx ctx;

	t_template(&tpl);
	t_artifacts(&tpl, NULL);
	ck_assert_int_eq(run_stage(&stage_style_application_ops, NULL, &ctx),
	    STAGE_E_NOINPUT);
	ck_assert_ptr_nonnull(strstr(ctx.error, STYLE_ARTIFACT));
	ck_assert_int_eq(
	    run_stage(&stage_style_extraction_ops, NULL, &ctx), STAGE_OK);
	ck_assert_int_eq(run_stage(&stage_style_application_ops, NULL, &ctx),
	    STAGE_E_NOINPUT);
	ck_assert_ptr_nonnull(strstr(ctx.error, "no source"));
	write_text(STYLE_ARTIFACT, "{\"version\": \"0.9\"}");
	ck_assert_int_eq(
	    run_stage(&stage_style_application_ops, NULL, &ctx), STAGE_E_DATA);
	no_temp_files();
}
END_TEST

/* ---- end to end, with media ---- */

/* Runs argv (NULL-terminated); the test fails unless it exits 0. */
static void
run_prog(const char *const argv[])
{
	int status, fd;
	pid_t pid;

	if ((pid = fork()) == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "%s %s ... failed", argv[0], argv[1]);
}

static void
ffmpeg_graph(const char *graph, const char *out)
{
	const char *argv[] = {"ffmpeg", "-nostdin", "-y", "-filter_complex",
	    graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset",
	    "veryfast", "-crf", "18", "-c:a", "aac", out, NULL};

	run_prog(argv);
}

/* Cuts per minute that ffmpeg's scene score (> 0.3) finds in path. */
static double
scene_rate(const char *path, double duration)
{
	char filter[512], log[256], line[256];
	const char *argv[] = {"ffmpeg", "-nostdin", "-i", path, "-an", "-vf",
	    filter, "-f", "null", "-", NULL};
	int cuts = 0;
	FILE *f;

	snprintf(log, sizeof(log), "%s/scenes.txt", dir);
	snprintf(filter, sizeof(filter),
	    "select='gt(scene,0.3)',metadata=print:file=%s", log);
	run_prog(argv);
	ck_assert_ptr_nonnull(f = fopen(log, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		cuts += strstr(line, "pts_time") != NULL;
	fclose(f);
	return 60.0 * cuts / duration;
}

/*
 * Renders the plan's edit and LUT with ffmpeg (cuts only), a punch-in as
 * rendering does it: the centred 1/zoom of the picture, scaled up.
 */
static void
render_edit(const json_t *plan, const char *src, const char *out)
{
	const json_t *segs = json_object_get(
			 json_object_get(plan, "edit"), "segments"),
		     *e;
	const json_t *o = json_object_get(plan, "output");
	char *graph = xcalloc(1, 16384), part[512];
	const char *argv[] = {"ffmpeg", "-nostdin", "-y", "-i", src,
	    "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264",
	    "-preset", "veryfast", "-crf", "18", out, NULL};
	size_t i, n = json_array_size(segs);

	json_array_foreach(segs, i, e)
	{
		ck_assert_str_eq(
		    json_string_value(json_object_get(
			json_object_get(e, "transition_in"), "type")),
		    i == 0 ? "none" : "cut");
		snprintf(part, sizeof(part),
		    "[0:v]trim=%.3f:%.3f,setpts=PTS-STARTPTS,format=rgb24,"
		    "lut3d=file=%s/grade.cube,crop=trunc(iw/%.4f/2)*2:"
		    "trunc(ih/%.4f/2)*2,scale=%d:%d,setsar=1,fps=%d/%d,"
		    "format=yuv420p[s%zu];",
		    media_json_num(e, "src_start_s"),
		    media_json_num(e, "src_end_s"), dir,
		    media_json_num(e, "zoom"), media_json_num(e, "zoom"),
		    (int)media_json_num(o, "width"),
		    (int)media_json_num(o, "height"),
		    (int)media_json_num(
			json_object_get(o, "frame_rate"), "num"),
		    (int)media_json_num(
			json_object_get(o, "frame_rate"), "den"),
		    i);
		strcat(graph, part);
	}
	for (i = 0; i < n; i++) {
		snprintf(part, sizeof(part), "[s%zu]", i);
		strcat(graph, part);
	}
	snprintf(part, sizeof(part), "concat=n=%zu:v=1:a=0[v]", n);
	strcat(graph, part);
	run_prog(argv);
	free(graph);
}

static void
lab_mean_of(const char *path, double lab[3])
{
	struct stage_ctx ctx;
	json_t *o;

	memset(&ctx, 0, sizeof(ctx));
	ctx.job_dir = dir;
	ck_assert_int_eq(
	    video_analysis_file(&ctx, path, NULL, NULL, &o), STAGE_OK);
	ck_assert_int_eq(json_unpack(json_object_get(o, "global"), "{s:[FFF]}",
			     "lab_mean", &lab[0], &lab[1], &lab[2]),
	    0);
	json_decref(o);
}

/* Template: six 2 s shots of different sources, graded warm, 120 BPM. */
static void
e2e_template(const char *tpl)
{
	ffmpeg_graph("testsrc2=s=320x180:r=30:d=2[a];"
		     "smptehdbars=s=320x180:r=30:d=2[b];"
		     "mandelbrot=s=320x180:r=30,trim=duration=2,"
		     "setpts=PTS-STARTPTS[c];"
		     "rgbtestsrc=s=320x180:r=30:d=2[d];"
		     "testsrc2=s=320x180:r=30:d=2,hue=h=180,negate[e];"
		     "cellauto=s=320x180:r=30:rule=110:seed=7,trim=duration=2,"
		     "setpts=PTS-STARTPTS[f];"
		     "[a][b][c][d][e][f]concat=n=6:v=1:a=0,format=yuv420p,"
		     "eq=saturation=1.3,colorbalance=rm=0.15:bm=-0.15,"
		     "format=yuv420p[v];"
		     "aevalsrc='0.5*exp(-40*mod(t,0.5))*sin(2*PI*150*t)':"
		     "s=44100:d=12[a]",
	    tpl);
}

/*
 * Source: a 14 s pan across a strip of four pictures (as a camera sweeps
 * a scene), then an 8 s zoom; desaturated, quieter, 100 BPM.
 */
static void
e2e_source(const char *src)
{
	char tex[128], graph[1024];
	const char *argv[] = {"ffmpeg", "-nostdin", "-y", "-filter_complex",
	    "mandelbrot=s=480x180:start_scale=2[a];"
	    "testsrc2=s=480x180[b];smptehdbars=s=480x180[c];"
	    "mandelbrot=s=480x180:start_scale=0.4,hue=h=120[d];"
	    "[a][b][c][d]hstack=4[v]",
	    "-map", "[v]", "-frames:v", "1", tex, NULL};

	snprintf(tex, sizeof(tex), "%s/tex.png", dir);
	run_prog(argv);
	snprintf(graph, sizeof(graph),
	    "movie=%s,loop=-1:1:0,fps=25,crop=320:180:x='t*100':y=0,"
	    "trim=duration=14,setpts=PTS-STARTPTS,format=yuv420p[p];"
	    "mandelbrot=s=320x180:r=25,trim=duration=8,setpts=PTS-STARTPTS,"
	    "format=yuv420p[m];[p][m]concat=n=2:v=1:a=0,eq=saturation=0.7,"
	    "format=yuv420p[v];"
	    "aevalsrc='0.1*exp(-40*mod(t,0.6))*sin(2*PI*120*t)':s=48000:"
	    "d=22[a]",
	    tex);
	ffmpeg_graph(graph, src);
}

/* The five stages up to the plan, as reeld would run them. */
/* style.json carries what decoding the template's video and audio read. */
static void
e2e_decode_recorded(void)
{
	json_t *style = t_load("style.json");
	const json_t *d =
	    json_object_get(json_object_get(style, "analysis"), "decode");
	const char *kind[] = {"video", "audio"};
	const json_t *k;
	size_t i;

	for (i = 0; i < 2; i++) {
		k = json_object_get(d, kind[i]);
		ck_assert_msg(json_is_object(k), "no decode.%s", kind[i]);
		ck_assert_int_gt(
		    json_integer_value(json_object_get(k, "packets")), 10);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(k, "packets_lost")), 0);
	}
	json_decref(style);
}

static void
e2e_stages(const char *tpl, const char *src)
{
	static const struct stage_ops *const ops[5] = {
	    &stage_video_analysis_ops, &stage_audio_analysis_ops,
	    &stage_motion_analysis_ops, &stage_style_extraction_ops,
	    &stage_style_application_ops};
	struct stage_ctx ctx;
	enum stage_result rc;
	size_t i;

	for (i = 0; i < 5; i++) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.job_id = "job_0123456789ab";
		ctx.stage = ops[i]->name;
		ctx.job_dir = dir;
		ctx.source = src;
		ctx.template_path = tpl;
		rc = ops[i]->run(&ctx);
		json_decref(ctx.result);
		ck_assert_msg(
		    rc == STAGE_OK, "%s: %d %s", ops[i]->name, rc, ctx.error);
	}
	e2e_decode_recorded();
}

/* The LUT alone on the whole source moves its mean CIELAB 70% or more. */
static void
e2e_colour(const char *tpl, const char *src)
{
	char graph[256], graded_path[128];
	double tl[3], sl[3], ol[3], before, after;
	const char *argv[] = {"ffmpeg", "-nostdin", "-y", "-i", src, "-vf",
	    graph, "-an", "-c:v", "libx264", "-crf", "16", graded_path, NULL};

	snprintf(graph, sizeof(graph),
	    "format=rgb24,lut3d=file=%s/grade.cube,format=yuv420p", dir);
	snprintf(graded_path, sizeof(graded_path), "%s/graded.mp4", dir);
	run_prog(argv);
	lab_mean_of(tpl, tl);
	lab_mean_of(src, sl);
	lab_mean_of(graded_path, ol);
	before = dist3(sl, tl);
	after = dist3(ol, tl);
	printf("end to end: mean Lab distance to template %.2f -> %.2f "
	       "(%.0f%% less)\n",
	    before, after, 100.0 * (1.0 - after / before));
	ck_assert_double_gt(before, 5.0);
	ck_assert_double_le(after, 0.3 * before);
}

/* The edit's cut frequency, as ffmpeg's scene score sees it, within 20%. */
static void
e2e_rhythm(const char *tpl, const char *src)
{
	char out[128];
	double tpl_rate, out_rate, dur;
	json_t *plan = t_load(SA_PLAN_ARTIFACT);

	snprintf(out, sizeof(out), "%s/out.mp4", dir);
	check_plan(plan, "medium");
	render_edit(plan, src, out);
	dur = media_json_num(json_object_get(plan, "output"), "duration_s");
	tpl_rate = scene_rate(tpl, 12.0);
	out_rate = scene_rate(out, dur);
	printf("end to end: scene cuts %.1f/min in the template, %.1f/min in "
	       "%.1f s of output (%zu segments)\n",
	    tpl_rate, out_rate, dur,
	    json_array_size(
		json_object_get(json_object_get(plan, "edit"), "segments")));
	ck_assert_double_gt(tpl_rate, 0);
	ck_assert_double_le(fabs(out_rate - tpl_rate), 0.2 * tpl_rate);
	json_decref(plan);
}

START_TEST(test_end_to_end_media)
{
	char tpl[128], src[128];

	snprintf(tpl, sizeof(tpl), "%s/tpl.mp4", dir);
	snprintf(src, sizeof(src), "%s/src.mp4", dir);
	e2e_template(tpl);
	e2e_source(src);
	e2e_stages(tpl, src);
	e2e_colour(tpl, src);
	e2e_rhythm(tpl, src);
}
END_TEST

static Suite *
stage_style_suite(void)
{
	Suite *s = suite_create("stage_style");
	TCase *tc;

	tc = tcase_create("cube");
	tcase_add_unchecked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_test(tc, test_cube_file_parses_back);
	suite_add_tcase(s, tc);
	tc = tcase_create("geometry");
	tcase_add_test(tc, test_geometry_and_gaps);
	suite_add_tcase(s, tc);
	tc = tcase_create("stages");
	tcase_add_unchecked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_checked_fixture(tc, empty_dir, NULL);
	tcase_add_test(tc, test_extraction_fields);
	tcase_add_test(tc, test_extraction_without_music_or_audio);
	tcase_add_test(tc, test_extraction_uses_source_without_template);
	tcase_add_test(tc, test_extraction_bad_inputs);
	tcase_add_test(tc, test_application_plan);
	tcase_add_test(tc, test_application_config);
	tcase_add_test(tc, test_application_duration);
	tcase_add_test(tc, test_application_template_soundtrack);
	tcase_add_test(tc, test_application_caps_frame_rate);
	tcase_add_test(tc, test_application_caps_dissolves);
	tcase_add_test(tc, test_application_relaxes_rules);
	tcase_add_test(tc, test_application_visible_cuts);
	tcase_add_test(tc, test_application_needs_inputs);
	suite_add_tcase(s, tc);
	tc = tcase_create("media");
	tcase_add_unchecked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_end_to_end_media);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stage_style_suite)

/*
 * Tests for the motion_analysis stage. The pure dsp/motion.c (fit,
 * estimator, classifier on synthetic data) is tested in check_dsp_motion.c.
 *
 * Media made at test time by the ffmpeg program (320x180,
 * 25 fps, 3-4 s) from one still noise texture, moved by crop expressions
 * (media-algorithms.md 6.4), plus lavfi's mandelbrot zoom. The real
 * video_analysis stage writes the motion proxies first; its shot list is
 * then removed, so each test chooses its shots. Each camera class must
 * come out right, pan, tilt and zoom rates within 5 %, intensity must
 * order static < slow pan < pan < fast pan; shots come from a
 * video_analysis.json the test writes, or the whole video is one shot. A
 * missing proxy fails with STAGE_E_NOINPUT, a truncated one with
 * STAGE_E_DATA; the stage deletes the proxies once its artifact is
 * written, and a run that finished stands when it is run again. Measured
 * figures are printed.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libavutil/log.h>

#include "check_main.h"
#include "media.h"
#include "looks.h"
#include "motion.h"
#include "motion_analysis.h"
#include "proxy.h"
#include "util.h"
#include "video_analysis.h"

#define W 320
/* Bytes of one frame of a 320x180 clip's proxy. */
#define PROXY_FRAME (PROXY_SIZE * (PROXY_SIZE * 9 / 16))
#define H 180
#define ENC                                                                 \
	"-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", \
	    "yuv420p"
#define LOOP "loop=loop=-1:size=1,fps=25,"

static bool
exists(const char *name)
{
	char path[256];

	media_path(path, sizeof(path), name);
	return access(path, F_OK) == 0;
}

/* A 1280x720 still of smooth gray noise at two scales: no repeats. */
static void
make_texture(void)
{
	const char *args[] = {"-f", "lavfi", "-i",
	    "color=gray:s=320x180,noise=alls=100:allf=u:all_seed=11,"
	    "scale=1280:720:flags=bicubic",
	    "-f", "lavfi", "-i",
	    "color=gray:s=64x36,noise=alls=100:allf=u:all_seed=12,"
	    "scale=1280:720:flags=bicubic",
	    "-filter_complex", "[0][1]blend=all_mode=average,format=gray",
	    "-frames:v", "1", NULL};

	if (!exists("tex.pgm"))
		media_gen("tex.pgm", args);
}

/* A clip of seconds s from the texture through filter vf. */
static void
make_clip(const char *name, const char *vf, const char *seconds)
{
	char tex[256];
	const char *args[] = {"-i", tex, "-vf", vf, ENC, "-t", seconds, NULL};

	if (exists(name))
		return;
	make_texture();
	media_path(tex, sizeof(tex), "tex.pgm");
	media_gen(name, args);
}

static void
make_mandelbrot(void)
{
	const char *args[] = {"-f", "lavfi", "-i", "mandelbrot=s=320x180:r=25",
	    ENC, "-t", "3", NULL};

	if (!exists("mandel.mp4"))
		media_gen("mandel.mp4", args);
}

/* The named clip of section 6.4, made on first use. */
static void
media(const char *name)
{
	static const struct {
		const char *name, *vf, *seconds;
	} clips[] = {
	    {"static.mp4",
		LOOP "crop=320:180:480:270,noise=alls=6:allf=t:all_seed=13",
		"3"},
	    {"slowpan.mp4", LOOP "crop=320:180:x='100+t*40':y=100", "3"},
	    {"pan.mp4", LOOP "crop=320:180:x='100+t*100':y=100", "3"},
	    {"fastpan.mp4", LOOP "crop=320:180:x='20+t*200':y=100", "3"},
	    {"tilt.mp4", LOOP "crop=320:180:x=400:y='50+t*60'", "3"},
	    {"portrait.mp4", LOOP "crop=180:320:x='100+t*60':y=100", "3"},
	    {"handheld.mp4",
		LOOP "crop=320:180:x='480+6*sin(2*PI*2.3*t)+"
		     "3*sin(2*PI*5.1*t)':y='270+4*sin(2*PI*3.7*t)'",
		"3"},
	    {"zoom.mp4",
		LOOP "zoompan=z='1+0.004*on':x='iw/2-iw/zoom/2':"
		     "y='ih/2-ih/zoom/2':d=1:s=320x180:fps=25",
		"3"},
	    /* A pan, a hard cut at 2 s to elsewhere, then a tilt. */
	    {"cut.mp4",
		LOOP "crop=320:180:x='if(lt(t,2),t*100,900)':"
		     "y='if(lt(t,2),0,200+(t-2)*60)'",
		"4"},
	};
	size_t i;

	if (strcmp(name, "mandel.mp4") == 0) {
		make_mandelbrot();
		return;
	}
	for (i = 0; i < sizeof(clips) / sizeof(clips[0]); i++) {
		if (strcmp(clips[i].name, name) == 0) {
			make_clip(name, clips[i].vf, clips[i].seconds);
			return;
		}
	}
	ck_abort_msg("no recipe for %s", name);
}

static void
setup_dir(void)
{
	media_setup("check_stage_motion");
}

static void
teardown_dir(void)
{
	media_teardown();
}

static void
quiet(void)
{
	/* Damaged media make libav chatty; the tests check the results. */
	av_log_set_level(AV_LOG_QUIET);
	/* Figures reach the log even when a test then fails. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* A fresh job directory, name under the media directory. */
static void
job_dir(char *buf, size_t size, const char *name)
{
	media_path(buf, size, name);
	remove_tree(buf);
	ck_assert_int_eq(mkdir(buf, 0755), 0);
}

static void
job_ctx(struct stage_ctx *ctx, const char *job, const char *tpl,
    const char *src, const char *stage)
{
	static char tp[256], sp[256];

	memset(ctx, 0, sizeof(*ctx));
	ctx->job_id = "job_0123456789ab";
	ctx->stage = stage;
	ctx->job_dir = job;
	if (tpl != NULL) {
		media_path(tp, sizeof(tp), tpl);
		ctx->template_path = tp;
	}
	if (src != NULL) {
		media_path(sp, sizeof(sp), src);
		ctx->source = sp;
	}
}

static enum stage_result
run(struct stage_ctx *ctx, const char *job, const char *tpl, const char *src)
{
	job_ctx(ctx, job, tpl, src, "motion_analysis");
	return stage_motion_analysis_ops.run(ctx);
}

static void
remove_file(const char *job, const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", job, name);
	ck_assert_int_eq(unlink(path), 0);
}

/*
 * The real video_analysis stage, for the motion proxies it writes; its
 * shot list is removed, so each test chooses the shots it gives.
 */
static void
proxies(const char *job, const char *tpl, const char *src)
{
	struct stage_ctx ctx;
	enum stage_result rc;

	job_ctx(&ctx, job, tpl, src, "video_analysis");
	rc = stage_video_analysis_ops.run(&ctx);
	ck_assert_msg(rc == STAGE_OK, "video_analysis: %d %s", rc, ctx.error);
	json_decref(ctx.result);
	remove_file(job, VA_ARTIFACT);
}

static json_t *
artifact(const char *job)
{
	char path[300];
	json_error_t err;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/%s", job, MA_ARTIFACT);
	doc = json_load_file(path, 0, &err);
	ck_assert_msg(doc != NULL, "%s: %s", path, err.text);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(doc, "version")), MA_VERSION);
	return doc;
}

/* Runs the stage on one clip as the source; returns the whole artifact. */
static json_t *
analyse(const char *clip)
{
	struct stage_ctx ctx;
	enum stage_result rc;
	char job[256];

	media(clip);
	job_dir(job, sizeof(job), "job");
	proxies(job, NULL, clip);
	rc = run(&ctx, job, NULL, clip);
	ck_assert_msg(rc == STAGE_OK, "%s: %d %s", clip, rc, ctx.error);
	json_decref(ctx.result);
	return artifact(job);
}

static const json_t *
shot(const json_t *o, size_t i)
{
	const json_t *s = json_array_get(json_object_get(o, "shots"), i);

	ck_assert_msg(s != NULL, "no shot %zu", i);
	return s;
}

static void
print_result(const char *clip, const json_t *o)
{
	const json_t *s = shot(o, 0);

	printf("check_stage_motion: %-12s %-8s tx %+.4f fw/s ty %+.4f fh/s "
	       "zoom %+.4f /s rot %+.3f deg/s shake %.4f | speed %.4f fw/s "
	       "intensity %.1f zoom_usage %.1f reliable %d/%d\n",
	    clip, media_json_str(s, "camera"), media_json_num(s, "tx_fw_per_s"),
	    media_json_num(s, "ty_fh_per_s"), media_json_num(s, "zoom_per_s"),
	    media_json_num(s, "rotation_deg_per_s"), media_json_num(s, "shake"),
	    media_json_num(o, "mean_speed_fw_per_s"),
	    media_json_num(o, "motion_intensity"),
	    media_json_num(o, "zoom_usage"),
	    (int)media_json_num(o, "pairs_reliable"),
	    (int)(media_json_num(o, "pairs_reliable") +
		  media_json_num(o, "pairs_unreliable")));
}

/* Analyses a one-shot clip and checks its class; returns the artifact. */
static json_t *
classify(const char *clip, const char *camera)
{
	json_t *doc = analyse(clip);
	const json_t *o = json_object_get(doc, "source");

	print_result(clip, o);
	ck_assert_str_eq(media_json_str(o, "shots_from"), "whole_video");
	ck_assert_uint_eq(json_array_size(json_object_get(o, "shots")), 1);
	ck_assert_msg(strcmp(media_json_str(shot(o, 0), "camera"), camera) == 0,
	    "%s: camera %s, want %s", clip,
	    media_json_str(shot(o, 0), "camera"), camera);
	/* Every pair of a one-shot clip without cuts measures. */
	ck_assert_double_eq(media_json_num(o, "pairs_unreliable"), 0);
	ck_assert_double_eq(media_json_num(o, "frames_analysed"), 75);
	ck_assert_double_eq_tol(media_json_num(o, "fps"), 25.0, 0.01);
	ck_assert_uint_eq(json_array_size(json_object_get(o, "per_second")), 3);
	return doc;
}

static void
near_rel(double got, double want, double rel, const char *what)
{
	ck_assert_msg(fabs(got - want) <= rel * fabs(want),
	    "%s: %.5f, want %.5f within %.0f %%", what, got, want, rel * 100.0);
}

/* ---- the stage on generated media ---- */

/* A still, then pans of 40, 100 and 200 px/s: intensity must order them. */
START_TEST(test_static_and_pans)
{
	static const struct {
		const char *clip, *camera;
		double px_per_s;
	} clips[] = {{"static.mp4", "static", 0}, {"slowpan.mp4", "pan", 40},
	    {"pan.mp4", "pan", 100}, {"fastpan.mp4", "pan", 200}};
	const json_t *o, *s;
	json_t *doc;
	double v[4];
	size_t i;

	for (i = 0; i < 4; i++) {
		doc = classify(clips[i].clip, clips[i].camera);
		o = json_object_get(doc, "source");
		s = shot(o, 0);
		v[i] = media_json_num(o, "motion_intensity");
		ck_assert_double_lt(
		    fabs(media_json_num(s, "ty_fh_per_s")), 0.01);
		ck_assert_double_lt(
		    fabs(media_json_num(s, "zoom_per_s")), 0.01);
		ck_assert_double_eq(
		    media_json_num(o, "zoom_usage"), i > 0 ? 100.0 : 0.0);
		/* The crop moves right: the camera pans right. */
		if (i > 0)
			near_rel(media_json_num(s, "tx_fw_per_s"),
			    clips[i].px_per_s / W, 0.05, "pan speed");
		json_decref(doc);
	}
	ck_assert_double_lt(v[0], 5.0);
	ck_assert_double_lt(v[0], v[1]);
	ck_assert_double_lt(v[1], v[2]);
	ck_assert_double_lt(v[2], v[3]);
	near_rel(
	    v[2], 100.0 * (100.0 / W) / MA_SPEED_FULL, 0.05, "pan intensity");
	/* 200 px/s of 320 is past the 0.5 fw/s that saturates. */
	ck_assert_double_eq(v[3], 100.0);
}
END_TEST

/* The mean difference across one join of a shot's looks, levels. */
static double
look(const json_t *shot_o, size_t i, size_t skip, size_t view)
{
	const json_t *row = json_array_get(
	    json_object_get(json_object_get(shot_o, "looks"), "diff"), i);
	const json_t *v = json_array_get(row, skip * LOOKS_NVIEWS + view);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/*
 * Looks: on a still texture no skip changes the picture, a punch-in does;
 * on a pan the skip does; skips past the clip's end are not measured.
 */
START_TEST(test_looks)
{
	json_t *still = analyse("static.mp4"), *pan = analyse("pan.mp4");
	const json_t *so = json_object_get(still, "source"), *s = shot(so, 0);
	const json_t *grid = json_object_get(so, "looks_grid");
	size_t centre = looks_view_of(1.25, 0.5, 0.5), v;
	double skip, punch, moved, best;

	ck_assert_double_eq(media_json_num(grid, "step_s"), LOOKS_STEP_S);
	ck_assert_uint_eq(
	    json_array_size(json_object_get(grid, "views")), LOOKS_NVIEWS);
	/* 3 s: join times 0 .. 2.75 s, every 0.25 s. */
	ck_assert_uint_eq(json_array_size(json_object_get(
			      json_object_get(s, "looks"), "calm")),
	    12);
	skip = look(s, 4, 2, 0);
	punch = look(s, 4, 0, centre);
	moved = look(shot(json_object_get(pan, "source"), 0), 4, 2, 0);
	printf("check_stage_motion: looks at 1 s: still, 1 s skip %.1f, "
	       "1.25x punch-in %.1f; pan 100 px/s, 1 s skip %.1f\n",
	    skip, punch, moved);
	ck_assert_double_lt(skip, 10.0);
	ck_assert_double_gt(punch, 5.0 * skip);
	ck_assert_double_gt(moved, 3.0 * skip);
	/* Larger or off-centre punch-ins change this soft texture more. */
	for (best = 0.0, v = 1; v < LOOKS_NVIEWS; v++)
		best = fmax(best, look(s, 4, 0, v));
	ck_assert_double_gt(best, punch);
	/* A 4 s skip from 1 s leaves the 3 s clip. */
	ck_assert(isnan(look(s, 4, LOOKS_NSKIPS - 1, 0)));
	json_decref(still);
	json_decref(pan);
}
END_TEST

START_TEST(test_tilt)
{
	json_t *doc = classify("tilt.mp4", "tilt");
	const json_t *s = shot(json_object_get(doc, "source"), 0);

	/* The crop moves down 60 px/s of 180: the camera tilts down. */
	near_rel(
	    media_json_num(s, "ty_fh_per_s"), 60.0 / H, 0.05, "tilt speed");
	ck_assert_double_lt(fabs(media_json_num(s, "tx_fw_per_s")), 0.01);
	json_decref(doc);
}
END_TEST

/* A 9:16 clip: speeds are fractions of its own width and height. */
START_TEST(test_portrait_pan)
{
	json_t *doc = classify("portrait.mp4", "pan");
	const json_t *o = json_object_get(doc, "source");

	ck_assert_double_eq(
	    media_json_num(json_object_get(o, "proxy"), "width"),
	    PROXY_SIZE * 9 / 16);
	ck_assert_double_eq(
	    media_json_num(json_object_get(o, "proxy"), "height"), PROXY_SIZE);
	near_rel(media_json_num(shot(o, 0), "tx_fw_per_s"), 60.0 / 180.0, 0.05,
	    "portrait pan speed");
	json_decref(doc);
}
END_TEST

START_TEST(test_handheld)
{
	json_t *doc = classify("handheld.mp4", "handheld");
	const json_t *o = json_object_get(doc, "source");
	const json_t *s = shot(o, 0);

	ck_assert_double_gt(media_json_num(s, "shake"), 3.0 * MOTION_SHAKE_MIN);
	ck_assert_double_lt(
	    fabs(media_json_num(s, "tx_fw_per_s")), MOTION_PAN_MIN / 2);
	ck_assert_double_eq(media_json_num(o, "zoom_usage"), 0.0);
	json_decref(doc);
}
END_TEST

START_TEST(test_zoompan)
{
	json_t *doc = classify("zoom.mp4", "zoom");
	const json_t *s = shot(json_object_get(doc, "source"), 0);

	/* zoom 1 + 0.004 n over 74 pairs: ln(1.296) / 2.96 s. */
	near_rel(media_json_num(s, "zoom_per_s"), log(1.0 + 0.004 * 74) / 2.96,
	    0.05, "zoompan rate");
	json_decref(doc);
}
END_TEST

START_TEST(test_mandelbrot_zoom)
{
	json_t *doc = classify("mandel.mp4", "zoom");
	const json_t *s = shot(json_object_get(doc, "source"), 0);

	/* Scale 3 to 0.3 over 400 frames: ln 10 / 400 per frame, zooming in. */
	near_rel(media_json_num(s, "zoom_per_s"), log(10.0) / 400.0 * 25.0,
	    0.05, "mandelbrot rate");
	json_decref(doc);
}
END_TEST

static void
write_file(const char *job, const char *name, const char *text)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", job, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* As video_analysis writes it (fields this stage ignores left out). */
static const char va_two_shots[] =
    "{\"version\": 1, \"template\": null, \"source\": {\"shot_count\": 2,"
    " \"shots\": ["
    "{\"index\": 0, \"start_s\": 0.0, \"end_s\": 2.0,"
    " \"transition_in\": {\"type\": \"none\", \"duration_ms\": 0}},"
    "{\"index\": 1, \"start_s\": 2.0, \"end_s\": 4.0,"
    " \"transition_in\": {\"type\": \"cut\", \"duration_ms\": 40,"
    " \"start_s\": 1.96, \"end_s\": 2.0, \"strength\": 40.0}}]}}";

START_TEST(test_shots_from_video_analysis)
{
	struct stage_ctx ctx;
	char job[256];
	json_t *doc;
	const json_t *o;

	media("cut.mp4");
	job_dir(job, sizeof(job), "job-shots");
	proxies(job, NULL, "cut.mp4");
	write_file(job, "video_analysis.json", va_two_shots);
	ck_assert_int_eq(run(&ctx, job, NULL, "cut.mp4"), STAGE_OK);
	json_decref(ctx.result);
	doc = artifact(job);
	o = json_object_get(doc, "source");
	print_result("cut.mp4", o);
	printf("check_stage_motion: cut.mp4 shot 1: %s ty %+.4f fh/s\n",
	    media_json_str(shot(o, 1), "camera"),
	    media_json_num(shot(o, 1), "ty_fh_per_s"));
	ck_assert_str_eq(media_json_str(o, "shots_from"), "video_analysis");
	ck_assert_ptr_null(json_object_get(o, "shots_note"));
	ck_assert_uint_eq(json_array_size(json_object_get(o, "shots")), 2);
	ck_assert_str_eq(media_json_str(shot(o, 0), "camera"), "pan");
	ck_assert_str_eq(media_json_str(shot(o, 1), "camera"), "tilt");
	ck_assert_double_eq(media_json_num(shot(o, 1), "start_s"), 2.0);
	near_rel(
	    media_json_num(shot(o, 0), "tx_fw_per_s"), 100.0 / W, 0.05, "pan");
	near_rel(
	    media_json_num(shot(o, 1), "ty_fh_per_s"), 60.0 / H, 0.05, "tilt");
	/* Only the pair across the cut is not motion. */
	ck_assert_double_eq(media_json_num(o, "pairs_unreliable"), 1);
	ck_assert_double_eq(media_json_num(o, "zoom_usage"), 100.0);
	ck_assert_uint_eq(json_array_size(json_object_get(o, "per_second")), 4);
	ck_assert(json_is_null(json_object_get(doc, "template")));
	json_decref(doc);
}
END_TEST

/* Without shots the cut is still caught: its pair fails the fit. */
START_TEST(test_whole_video_when_no_shots)
{
	static const char *const bad[] = {
	    NULL, "{\"version\": 1, \"source\": {\"shots\": []}}", "{oops"};
	static const char *const why[] = {"video_analysis.json is missing",
	    "has no shots for the source", "cannot be read"};
	struct stage_ctx ctx;
	char job[256];
	json_t *doc;
	const json_t *o;
	size_t i;

	media("cut.mp4");
	for (i = 0; i < 3; i++) {
		job_dir(job, sizeof(job), "job-whole");
		proxies(job, NULL, "cut.mp4");
		if (bad[i] != NULL)
			write_file(job, "video_analysis.json", bad[i]);
		ck_assert_int_eq(run(&ctx, job, NULL, "cut.mp4"), STAGE_OK);
		json_decref(ctx.result);
		doc = artifact(job);
		o = json_object_get(doc, "source");
		ck_assert_str_eq(
		    media_json_str(o, "shots_from"), "whole_video");
		ck_assert_msg(
		    strstr(media_json_str(o, "shots_note"), why[i]) != NULL,
		    "note \"%s\" lacks \"%s\"", media_json_str(o, "shots_note"),
		    why[i]);
		ck_assert_uint_eq(
		    json_array_size(json_object_get(o, "shots")), 1);
		ck_assert_double_eq(media_json_num(shot(o, 0), "end_s"), 4.0);
		ck_assert_double_eq(media_json_num(o, "pairs_unreliable"), 1);
		json_decref(doc);
	}
}
END_TEST

static size_t
dir_entries(const char *path)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	ck_assert_ptr_nonnull(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.' || strlen(de->d_name) > 2;
	closedir(d);
	return n;
}

/* The same file as template and source: analysed once, written twice. */
START_TEST(test_template_and_source)
{
	struct stage_ctx ctx;
	char job[256];
	json_t *doc;
	const json_t *r;

	media("pan.mp4");
	job_dir(job, sizeof(job), "job-both");
	proxies(job, "pan.mp4", "pan.mp4");
	ck_assert_int_eq(run(&ctx, job, "pan.mp4", "pan.mp4"), STAGE_OK);
	doc = artifact(job);
	ck_assert(json_equal(
	    json_object_get(doc, "template"), json_object_get(doc, "source")));
	ck_assert_str_eq(
	    media_json_str(shot(json_object_get(doc, "template"), 0), "camera"),
	    "pan");
	/* The summary for reeld carries the Style DNA figures. */
	r = json_object_get(ctx.result, "template");
	ck_assert_double_eq(media_json_num(r, "motion_intensity"),
	    media_json_num(json_object_get(doc, "source"), "motion_intensity"));
	ck_assert_double_eq(media_json_num(r, "shot_count"), 1);
	/* Only the artifact: no temporary file, and the proxy is spent. */
	ck_assert_uint_eq(dir_entries(job), 1);
	json_decref(ctx.result);
	json_decref(doc);

	media("static.mp4");
	proxies(job, "static.mp4", "pan.mp4");
	ck_assert_int_eq(run(&ctx, job, "static.mp4", "pan.mp4"), STAGE_OK);
	json_decref(ctx.result);
	doc = artifact(job);
	ck_assert_str_eq(
	    media_json_str(shot(json_object_get(doc, "template"), 0), "camera"),
	    "static");
	ck_assert_str_eq(
	    media_json_str(shot(json_object_get(doc, "source"), 0), "camera"),
	    "pan");
	json_decref(doc);
}
END_TEST

/* Cuts the named file of the job directory to keep bytes. */
static void
cut_file(const char *job, const char *name, off_t keep)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", job, name);
	ck_assert_int_eq(truncate(path, keep), 0);
}

START_TEST(test_missing_or_truncated_proxy)
{
	struct stage_ctx ctx;
	enum stage_result rc;
	char job[256], path[300];

	media("pan.mp4");
	job_dir(job, sizeof(job), "job-proxy");
	rc = run(&ctx, job, NULL, "pan.mp4");
	printf("check_stage_motion: no proxy: %d \"%s\"\n", rc, ctx.error);
	ck_assert_int_eq(rc, STAGE_E_NOINPUT);
	ck_assert_ptr_nonnull(strstr(ctx.error, "proxy-source.gray"));
	ck_assert_ptr_null(ctx.result);
	/* Cut mid-frame, then cut to whole frames without the trailer. */
	proxies(job, NULL, "pan.mp4");
	cut_file(job, "proxy-source.gray",
	    PROXY_HEADER_SIZE + 40 * (8 + PROXY_FRAME) + 100);
	rc = run(&ctx, job, NULL, "pan.mp4");
	printf("check_stage_motion: cut proxy: %d \"%s\"\n", rc, ctx.error);
	ck_assert_int_eq(rc, STAGE_E_DATA);
	ck_assert_ptr_nonnull(strstr(ctx.error, "proxy-source.gray"));
	ck_assert_ptr_nonnull(strstr(ctx.error, "truncated"));
	cut_file(job, "proxy-source.gray",
	    PROXY_HEADER_SIZE + 40 * (8 + PROXY_FRAME));
	ck_assert_int_eq(run(&ctx, job, NULL, "pan.mp4"), STAGE_E_DATA);
	ck_assert_ptr_nonnull(strstr(ctx.error, "truncated"));
	snprintf(path, sizeof(path), "%s/%s", job, MA_ARTIFACT);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/*
 * A run killed after it wrote its artifact and deleted the proxies is run
 * again after a restart: the artifact stands, made from those proxies. A
 * new video_analysis run's proxies are another matter.
 */
START_TEST(test_finished_run_stands)
{
	struct stage_ctx ctx;
	char job[256];
	json_t *first, *again;

	media("pan.mp4");
	job_dir(job, sizeof(job), "job-again");
	job_ctx(&ctx, job, NULL, "pan.mp4", "video_analysis");
	ck_assert_int_eq(stage_video_analysis_ops.run(&ctx), STAGE_OK);
	json_decref(ctx.result);
	ck_assert_int_eq(run(&ctx, job, NULL, "pan.mp4"), STAGE_OK);
	first = ctx.result;
	ck_assert_int_eq(run(&ctx, job, NULL, "pan.mp4"), STAGE_OK);
	again = ctx.result;
	ck_assert(json_equal(first, again));
	json_decref(first);
	json_decref(again);
	/* video_analysis ran again: its proxy is gone, nothing stands. */
	job_ctx(&ctx, job, NULL, "pan.mp4", "video_analysis");
	ck_assert_int_eq(stage_video_analysis_ops.run(&ctx), STAGE_OK);
	json_decref(ctx.result);
	remove_file(job, "proxy-source.gray");
	ck_assert_int_eq(run(&ctx, job, NULL, "pan.mp4"), STAGE_E_NOINPUT);
}
END_TEST

START_TEST(test_no_input)
{
	struct stage_ctx ctx;
	char job[256];

	job_dir(job, sizeof(job), "job-none");
	ck_assert_int_eq(run(&ctx, job, NULL, NULL), STAGE_E_NOINPUT);
	ck_assert_str_ne(ctx.error, "");
	ck_assert_str_eq(stage_motion_analysis_ops.name, "motion_analysis");
}
END_TEST

static Suite *
stage_motion_suite(void)
{
	Suite *s = suite_create("stage_motion");
	TCase *tc;

	tc = tcase_create("stage");
	tcase_add_unchecked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_static_and_pans);
	tcase_add_test(tc, test_looks);
	tcase_add_test(tc, test_tilt);
	tcase_add_test(tc, test_portrait_pan);
	tcase_add_test(tc, test_handheld);
	tcase_add_test(tc, test_zoompan);
	tcase_add_test(tc, test_mandelbrot_zoom);
	tcase_add_test(tc, test_shots_from_video_analysis);
	tcase_add_test(tc, test_whole_video_when_no_shots);
	tcase_add_test(tc, test_template_and_source);
	tcase_add_test(tc, test_missing_or_truncated_proxy);
	tcase_add_test(tc, test_finished_run_stands);
	tcase_add_test(tc, test_no_input);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stage_motion_suite)

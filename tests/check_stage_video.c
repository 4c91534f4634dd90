/*
 * End-to-end tests for the video_analysis stage and av_video.c; the pure
 * colour.c is tested in check_dsp_colour.c.
 *
 * Media are made at test time by the ffmpeg program from lavfi sources
 * (media-algorithms.md 2.6), 320x180 at 25 fps unless a test needs other
 * geometry, in one temporary directory per run. Each test makes its own
 * files and asserts measured results: cut precision and recall at +-1
 * frame, no cut on a flash or a fast pan, fade and dissolve type, timing
 * and duration within 2 frames, CIELAB of flat colours within 2, display
 * geometry under rotation and anamorphic SAR, frame rate under variable
 * timing, and STAGE_E_DATA for truncated or damaged files. The stage also
 * leaves the motion proxy of each input (frames, times, size) and nothing
 * else; one decode can hand out a colour and a gray proxy. HSV, the edge
 * plane and the content score of video_analysis.c match their plain
 * definitions.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "av_video.h"
#include "av.h"
#include "check_main.h"
#include "media.h"
#include "proxy.h"
#include "util.h"
#include "video_analysis.h"

#define S320 "320x180"
#define ENC "-c:v", "libx264", "-preset", "veryfast", "-crf", "18"
/* Two frames at 25 fps, the tolerance for gradual transitions. */
#define TWO_FRAMES 0.081

static enum stage_result
analyse(const char *name, json_t **out, struct stage_ctx *ctx)
{
	char path[256];

	media_path(path, sizeof(path), name);
	memset(ctx, 0, sizeof(*ctx));
	return video_analysis_file(ctx, path, NULL, NULL, out);
}

static json_t *
analyse_ok(const char *name)
{
	struct stage_ctx ctx;
	json_t *o = NULL;
	enum stage_result rc = analyse(name, &o, &ctx);

	ck_assert_msg(rc == STAGE_OK, "%s: %d %s", name, rc, ctx.error);
	ck_assert_ptr_nonnull(o);
	return o;
}

static json_t *
shot(const json_t *o, size_t i)
{
	json_t *s = json_array_get(json_object_get(o, "shots"), i);

	ck_assert_ptr_nonnull(s);
	return s;
}

static json_t *
transition_in(const json_t *o, size_t i)
{
	return json_object_get(shot(o, i), "transition_in");
}

static size_t
shot_count(const json_t *o)
{
	size_t n = json_array_size(json_object_get(o, "shots"));

	ck_assert_uint_eq(n, (size_t)media_json_num(o, "shot_count"));
	return n;
}

static void
setup_dir(void)
{
	media_setup("check_stage_video");
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
}

/*
 * Segments of whole frames: cuts fall exactly on frame boundaries. The
 * random sources are seeded, so every run measures the same clip; the
 * gradients need explicit colours too ("random" ignores the seed). The
 * first gradient is near the grainy blue after it: that cut scores only
 * 1.3x the grain's own frame-to-frame score.
 */
static const char *const cut_segments[] = {
    "testsrc2=s=" S320 ":r=25:d=1.2",
    "smptehdbars=s=" S320 ":r=25:d=0.8",
    "mandelbrot=s=" S320 ":r=25,trim=duration=1.6,setpts=PTS-STARTPTS",
    "gradients=s=" S320 ":r=25:d=1.4:speed=0.05:seed=100:c0=0x254a94:"
    "c1=0x75a3ad",
    "color=c=0x3060a0:s=" S320 ":r=25:d=1.0,noise=alls=20:allf=t:all_seed=7",
    "life=s=" S320 ":r=25:mold=10:ratio=0.3:seed=7:death_color=#204010:"
    "life_color=#e0c080,trim=duration=1.2,setpts=PTS-STARTPTS",
    "cellauto=s=" S320 ":r=25:rule=30:seed=7,trim=duration=0.88,"
    "setpts=PTS-STARTPTS",
    "testsrc2=s=" S320 ":r=25:d=1.52,hue=h=120",
    "rgbtestsrc=s=" S320 ":r=25:d=0.72",
    "testsrc2=s=" S320 ":r=25:d=1.12,hue=h=180,negate",
    "gradients=s=" S320 ":r=25:d=1.32:speed=0.02:c0=red:c1=yellow:seed=7",
    "mandelbrot=s=" S320 ":r=25:start_scale=1:end_scale=0.5,"
    "trim=duration=1.0,setpts=PTS-STARTPTS,hue=h=90",
};
static const size_t cut_frames[] = {
    30, 50, 90, 125, 150, 180, 202, 240, 258, 286, 319};
#define NSEG (sizeof(cut_segments) / sizeof(cut_segments[0]))
#define NCUT (sizeof(cut_frames) / sizeof(cut_frames[0]))

static void
make_cuts(void)
{
	char graph[4096] = "", part[512];
	const char *args[] = {
	    "-filter_complex", graph, "-map", "[v]", ENC, NULL};
	size_t i;

	for (i = 0; i < NSEG; i++) {
		snprintf(part, sizeof(part),
		    "%s,format=yuv420p,setsar=1[s%zu];", cut_segments[i], i);
		strcat(graph, part);
	}
	for (i = 0; i < NSEG; i++) {
		snprintf(part, sizeof(part), "[s%zu]", i);
		strcat(graph, part);
	}
	snprintf(part, sizeof(part), "concat=n=%zu:v=1:a=0[v]", NSEG);
	strcat(graph, part);
	media_gen("cuts.mp4", args);
}

START_TEST(test_cuts_precision_recall)
{
	bool used[NCUT] = {false};
	size_t i, j, n, hits = 0, detected = 0, at;
	double precision, recall;
	json_t *o;

	make_cuts();
	o = analyse_ok("cuts.mp4");
	n = shot_count(o);
	for (i = 1; i < n; i++) {
		if (strcmp(media_json_str(transition_in(o, i), "type"),
			"cut") != 0)
			continue;
		detected++;
		at = (size_t)media_json_num(shot(o, i), "start_frame");
		for (j = 0; j < NCUT; j++) {
			if (!used[j] && at + 1 >= cut_frames[j] &&
			    at <= cut_frames[j] + 1) {
				used[j] = true;
				hits++;
				break;
			}
		}
	}
	precision = detected > 0 ? (double)hits / detected : 0.0;
	recall = (double)hits / NCUT;
	printf("video_analysis cuts: %zu true, %zu detected, precision %.3f, "
	       "recall %.3f (+-1 frame)\n",
	    NCUT, detected, precision, recall);
	ck_assert_double_ge(precision, 0.95);
	ck_assert_double_ge(recall, 0.95);
	ck_assert_uint_eq(n, detected + 1);
	json_decref(o);
}
END_TEST

START_TEST(test_flash_is_not_a_cut)
{
	const char *args[] = {"-filter_complex",
	    "testsrc2=s=" S320 ":r=25:d=6,format=yuv420p,setsar=1,split[x][y];"
	    "[x]trim=0:3,setpts=PTS-STARTPTS[p1];"
	    "[y]trim=3.08:6,setpts=PTS-STARTPTS[p2];"
	    "color=c=white:s=" S320 ":r=25:d=0.08,format=yuv420p,setsar=1[f];"
	    "[p1][f][p2]concat=n=3:v=1:a=0[v]",
	    "-map", "[v]", ENC, NULL};
	json_t *o;

	media_gen("flash.mp4", args);
	o = analyse_ok("flash.mp4");
	ck_assert_uint_eq(shot_count(o), 1);
	ck_assert_int_eq((int)media_json_num(o, "frame_count"), 150);
	json_decref(o);
}
END_TEST

START_TEST(test_fast_pan_is_not_a_cut)
{
	const char *tex[] = {"-f", "lavfi", "-i", "mandelbrot=s=1280x360",
	    "-frames:v", "1", NULL};
	char png[256];
	const char *args[] = {"-loop", "1", "-framerate", "25", "-i", png,
	    "-vf", "crop=320:180:x='min(t*240,950)':y=90,format=yuv420p", "-t",
	    "4", ENC, NULL};
	json_t *o;

	media_gen("tex.png", tex);
	media_path(png, sizeof(png), "tex.png");
	media_gen("pan.mp4", args);
	o = analyse_ok("pan.mp4");
	ck_assert_uint_eq(shot_count(o), 1);
	json_decref(o);
}
END_TEST

/*
 * A video that opens on 0.4 s of black and cuts to its picture: one shot
 * (the opening is no cut), whose picture starts at 0.4 s; one that fades
 * up out of the black over 0.32 s starts it where the fade ends; a video
 * that opens on its picture starts it at 0.
 */
START_TEST(test_black_opening)
{
	const char *args[] = {"-filter_complex",
	    "color=c=black:s=" S320 ":r=25:d=0.4,format=yuv420p,setsar=1[a];"
	    "testsrc2=s=" S320 ":r=25:d=2,format=yuv420p,setsar=1[b];"
	    "[a][b]concat=n=2:v=1:a=0[v]",
	    "-map", "[v]", ENC, NULL};
	const char *fade[] = {"-filter_complex",
	    "color=c=black:s=" S320 ":r=25:d=0.4,format=yuv420p,setsar=1[a];"
	    "testsrc2=s=" S320 ":r=25:d=2,fade=in:d=0.32,format=yuv420p,"
	    "setsar=1[b];[a][b]concat=n=2:v=1:a=0[v]",
	    "-map", "[v]", ENC, NULL};
	const char *plain[] = {
	    "-f", "lavfi", "-i", "testsrc2=s=" S320 ":r=25:d=1", ENC, NULL};
	json_t *o;

	media_gen("black_open.mp4", args);
	o = analyse_ok("black_open.mp4");
	ck_assert_uint_eq(shot_count(o), 1);
	ck_assert_double_eq_tol(
	    media_json_num(o, "picture_start_s"), 0.4, TWO_FRAMES);
	json_decref(o);
	media_gen("fade_open.mp4", fade);
	o = analyse_ok("fade_open.mp4");
	ck_assert_double_eq_tol(
	    media_json_num(o, "picture_start_s"), 0.72, TWO_FRAMES);
	json_decref(o);
	media_gen("open_plain.mp4", plain);
	o = analyse_ok("open_plain.mp4");
	ck_assert_double_eq(media_json_num(o, "picture_start_s"), 0.0);
	json_decref(o);
}
END_TEST

START_TEST(test_fade_through_black)
{
	const char *args[] = {"-filter_complex",
	    "testsrc2=s=" S320 ":r=25:d=3,fade=t=out:st=2.5:d=0.5,"
	    "format=yuv420p,setsar=1[a];"
	    "smptehdbars=s=" S320 ":r=25:d=3,fade=t=in:st=0:d=0.5,"
	    "format=yuv420p,setsar=1[b];[a][b]concat=n=2:v=1:a=0[v]",
	    "-map", "[v]", ENC, NULL};
	json_t *o, *t;

	media_gen("fade.mp4", args);
	o = analyse_ok("fade.mp4");
	ck_assert_uint_eq(shot_count(o), 2);
	t = transition_in(o, 1);
	ck_assert_str_eq(media_json_str(t, "type"), "fade");
	ck_assert_str_eq(media_json_str(t, "colour"), "black");
	ck_assert_double_eq_tol(media_json_num(t, "duration_ms"), 1000.0, 80.0);
	ck_assert_double_eq_tol(media_json_num(t, "start_s"), 2.5, TWO_FRAMES);
	ck_assert_double_eq_tol(
	    media_json_num(shot(o, 1), "start_s"), 3.0, TWO_FRAMES);
	ck_assert_str_eq(media_json_str(transition_in(o, 0), "type"), "none");
	json_decref(o);
}
END_TEST

START_TEST(test_dissolve_and_fade_black)
{
	const char *args[] = {"-filter_complex",
	    "testsrc2=s=" S320 ":r=25:d=4,format=yuv420p,setsar=1[a];"
	    "mandelbrot=s=" S320 ":r=25,trim=duration=4,setpts=PTS-STARTPTS,"
	    "format=yuv420p,setsar=1[b];"
	    "smptehdbars=s=" S320 ":r=25:d=4,format=yuv420p,setsar=1[c];"
	    "[a][b]xfade=transition=fade:duration=1:offset=3[ab];"
	    "[ab][c]xfade=transition=fadeblack:duration=1:offset=6[v]",
	    "-map", "[v]", ENC, NULL};
	json_t *o, *t;

	media_gen("dissolve.mp4", args);
	o = analyse_ok("dissolve.mp4");
	ck_assert_uint_eq(shot_count(o), 3);
	t = transition_in(o, 1);
	ck_assert_str_eq(media_json_str(t, "type"), "dissolve");
	ck_assert_str_eq(media_json_str(t, "easing"), "linear");
	ck_assert_double_eq_tol(media_json_num(t, "duration_ms"), 1000.0, 80.0);
	ck_assert_double_eq_tol(media_json_num(t, "start_s"), 3.0, TWO_FRAMES);
	t = transition_in(o, 2);
	ck_assert_str_eq(media_json_str(t, "type"), "fade");
	ck_assert_double_eq_tol(media_json_num(t, "duration_ms"), 1000.0, 80.0);
	ck_assert_double_eq_tol(
	    media_json_num(shot(o, 2), "start_s"), 6.5, TWO_FRAMES);
	json_decref(o);
}
END_TEST

START_TEST(test_short_dissolve)
{
	const char *args[] = {"-filter_complex",
	    "smptehdbars=s=" S320 ":r=25:d=3,format=yuv420p,setsar=1[a];"
	    "testsrc2=s=" S320 ":r=25:d=3,format=yuv420p,setsar=1[b];"
	    "[a][b]xfade=transition=fade:duration=0.4:offset=2.5[v]",
	    "-map", "[v]", ENC, NULL};
	json_t *o, *t;

	media_gen("short.mp4", args);
	o = analyse_ok("short.mp4");
	ck_assert_uint_eq(shot_count(o), 2);
	t = transition_in(o, 1);
	ck_assert_str_eq(media_json_str(t, "type"), "dissolve");
	ck_assert_double_eq_tol(media_json_num(t, "duration_ms"), 400.0, 80.0);
	ck_assert_double_eq_tol(media_json_num(t, "start_s"), 2.5, TWO_FRAMES);
	json_decref(o);
}
END_TEST

/* A flat colour clip; extra1 and extra2 are more options, or NULL. */
static void
make_flat(const char *out, const char *colour, const char *vf,
    const char *extra1, const char *extra2)
{
	char src[128];
	const char *args[] = {
	    "-f", "lavfi", "-i", src, "-vf", vf, ENC, extra1, extra2, NULL};

	snprintf(src, sizeof(src), "color=c=%s:s=" S320 ":r=25:d=1", colour);
	media_gen(out, args);
}

static void
check_lab(const char *name, double l, double a, double b)
{
	json_t *o = analyse_ok(name), *g = json_object_get(o, "global");
	json_t *mean = json_object_get(g, "lab_mean");
	json_t *std = json_object_get(g, "lab_std");
	json_t *pct = json_object_get(g, "luma_percentiles");
	const double ref[3] = {l, a, b};
	int c;

	for (c = 0; c < 3; c++) {
		ck_assert_msg(fabs(json_number_value(json_array_get(mean, c)) -
				   ref[c]) <= 2.0,
		    "%s: channel %d is %.2f, want %.2f", name, c,
		    json_number_value(json_array_get(mean, c)), ref[c]);
		ck_assert_double_lt(
		    json_number_value(json_array_get(std, c)), 1.0);
	}
	ck_assert_double_eq_tol(media_json_num(pct, "p5"), l, 2.0);
	ck_assert_double_eq_tol(media_json_num(pct, "p95"), l, 2.0);
	/* The shot agrees with the whole video. */
	ck_assert_double_eq_tol(
	    json_number_value(json_array_get(
		json_object_get(
		    json_object_get(shot(o, 0), "colour"), "lab_mean"),
		0)),
	    json_number_value(json_array_get(mean, 0)), 1e-6);
	json_decref(o);
}

START_TEST(test_flat_colours_lab)
{
	json_t *o;

	make_flat("red.mp4", "red", "format=yuv420p", NULL, NULL);
	make_flat("blue.mp4", "blue", "format=yuv420p", NULL, NULL);
	make_flat("grey.mp4", "0x808080", "format=yuv420p", NULL, NULL);
	check_lab("red.mp4", 53.24, 80.09, 67.20);
	check_lab("blue.mp4", 32.30, 79.19, -107.86);
	check_lab("grey.mp4", 53.59, 0.0, 0.0);
	o = analyse_ok("grey.mp4");
	ck_assert_double_lt(
	    media_json_num(json_object_get(o, "global"), "saturation"), 0.02);
	ck_assert_str_eq(media_json_str(o, "colour_matrix"), "bt601");
	json_decref(o);
	o = analyse_ok("red.mp4");
	ck_assert_double_gt(
	    media_json_num(json_object_get(o, "global"), "saturation"), 0.97);
	json_decref(o);
}
END_TEST

START_TEST(test_matrix_and_range_honoured)
{
	json_t *o;

	/* Decoded as BT.601 this red would read L* 48.7. */
	make_flat("red709.mp4", "red",
	    "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
	    "-colorspace", "bt709");
	make_flat("redfull.mp4", "red", "scale=out_range=pc,format=yuvj420p",
	    "-color_range", "pc");
	check_lab("red709.mp4", 53.24, 80.09, 67.20);
	check_lab("redfull.mp4", 53.24, 80.09, 67.20);
	o = analyse_ok("red709.mp4");
	ck_assert_str_eq(media_json_str(o, "colour_matrix"), "bt709");
	ck_assert_str_eq(media_json_str(o, "colour_range"), "limited");
	json_decref(o);
	o = analyse_ok("redfull.mp4");
	ck_assert_str_eq(media_json_str(o, "colour_range"), "full");
	json_decref(o);
}
END_TEST

/* Left half red, right half blue, tagged to be shown turned 90 degrees. */
static void
make_rotated(const char *out, const char *size)
{
	char graph[256], in[256];
	const char *enc[] = {"-filter_complex", graph, "-t", "0.2", ENC, NULL};
	const char *tag[] = {
	    "-i", in, "-c", "copy", "-metadata:s:v:0", "rotate=90", NULL};
	int w, h;

	ck_assert_int_eq(sscanf(size, "%dx%d", &w, &h), 2);
	snprintf(graph, sizeof(graph),
	    "color=c=red:s=%dx%d:r=25[l];color=c=blue:s=%dx%d:r=25[r];"
	    "[l][r]hstack,format=yuv420p",
	    w / 2, h, w / 2, h);
	media_gen("plain.mp4", enc);
	media_path(in, sizeof(in), "plain.mp4");
	media_gen(out, tag);
}

START_TEST(test_rotation_gives_portrait)
{
	struct stage_ctx ctx;
	struct avv_frame fr;
	struct avv *v;
	char path[256];
	json_t *o;
	const uint8_t *top, *bottom;

	make_rotated("rot.mp4", S320);
	o = analyse_ok("rot.mp4");
	ck_assert_int_eq((int)media_json_num(o, "width"), 320);
	ck_assert_int_eq((int)media_json_num(o, "display_width"), 180);
	ck_assert_int_eq((int)media_json_num(o, "display_height"), 320);
	ck_assert_str_eq(media_json_str(o, "aspect_ratio"), "9:16");
	ck_assert(media_json_num(o, "rotation") == 90 ||
		  media_json_num(o, "rotation") == 270);
	json_decref(o);
	/* Upright as the ffmpeg program shows it: the right half on top. */
	memset(&ctx, 0, sizeof(ctx));
	media_path(path, sizeof(path), "rot.mp4");
	ck_assert_int_eq(
	    avv_open(&ctx, path, 256, AV_PIX_FMT_RGB24, &v), STAGE_OK);
	ck_assert_int_eq(avv_next(v, &fr), 1);
	ck_assert_int_eq(fr.width, 144);
	ck_assert_int_eq(fr.height, 256);
	top = fr.data[0] + 10 * fr.linesize[0] + 3 * 72;
	bottom = fr.data[0] + 245 * fr.linesize[0] + 3 * 72;
	ck_assert_msg(top[2] > 200 && top[0] < 50, "top is %d,%d,%d", top[0],
	    top[1], top[2]);
	ck_assert_msg(bottom[0] > 200 && bottom[2] < 50, "bottom is %d,%d,%d",
	    bottom[0], bottom[1], bottom[2]);
	avv_close(v);
	/* The brief's case: a 1920x1080 file tagged rotate=90 is 9:16. */
	make_rotated("rothd.mp4", "1920x1080");
	o = analyse_ok("rothd.mp4");
	ck_assert_str_eq(media_json_str(o, "aspect_ratio"), "9:16");
	ck_assert_str_eq(media_json_str(o, "colour_matrix"), "bt709");
	json_decref(o);
}
END_TEST

START_TEST(test_anamorphic_sar)
{
	const char *args[] = {"-f", "lavfi", "-i",
	    "testsrc2=s=480x360:r=25:d=1", "-vf", "setsar=4/3,format=yuv420p",
	    ENC, NULL};
	json_t *o, *proxy;

	media_gen("ana.mp4", args);
	o = analyse_ok("ana.mp4");
	ck_assert_str_eq(media_json_str(o, "sar"), "4:3");
	ck_assert_int_eq((int)media_json_num(o, "display_width"), 640);
	ck_assert_int_eq((int)media_json_num(o, "display_height"), 360);
	ck_assert_str_eq(media_json_str(o, "aspect_ratio"), "16:9");
	ck_assert_double_eq_tol(
	    media_json_num(o, "display_aspect"), 16.0 / 9.0, 1e-6);
	proxy = json_object_get(o, "proxy");
	ck_assert_int_eq((int)media_json_num(proxy, "width"), 256);
	ck_assert_int_eq((int)media_json_num(proxy, "height"), 144);
	ck_assert(json_is_false(json_object_get(o, "vfr")));
	json_decref(o);
}
END_TEST

START_TEST(test_variable_frame_rate)
{
	/* Every fifth frame dropped, timestamps kept: 80 frames in 4 s. */
	const char *args[] = {"-f", "lavfi", "-i",
	    "testsrc2=s=" S320 ":r=25:d=4,select='not(eq(mod(n\\,5)\\,2))'",
	    "-fps_mode", "vfr", ENC, NULL};
	json_t *o;

	media_gen("vfr.mp4", args);
	o = analyse_ok("vfr.mp4");
	ck_assert_int_eq((int)media_json_num(o, "frame_count"), 80);
	ck_assert_double_eq_tol(media_json_num(o, "fps"), 25.0, 0.05);
	ck_assert_double_eq_tol(media_json_num(o, "fps_mean"), 20.0, 0.5);
	ck_assert_double_eq_tol(media_json_num(o, "duration_s"), 4.0, 0.05);
	ck_assert(json_is_true(json_object_get(o, "vfr")));
	ck_assert_uint_eq(shot_count(o), 1);
	json_decref(o);
}
END_TEST

static void
expect_data_error(const char *name, const char *words)
{
	struct stage_ctx ctx;
	json_t *o = NULL;

	ck_assert_int_eq(analyse(name, &o, &ctx), STAGE_E_DATA);
	ck_assert_ptr_null(o);
	ck_assert_msg(strstr(ctx.error, name) != NULL, "%s", ctx.error);
	ck_assert_msg(words == NULL || strstr(ctx.error, words) != NULL,
	    "%s: %s", name, ctx.error);
}

START_TEST(test_truncated_and_damaged)
{
	const char *fast[] = {"-f", "lavfi", "-i",
	    "testsrc2=s=" S320 ":r=25:d=4", ENC, "-movflags", "+faststart",
	    NULL};
	const char *mkv[] = {
	    "-f", "lavfi", "-i", "testsrc2=s=" S320 ":r=25:d=4", ENC, NULL};
	json_t *o;

	media_gen("fast.mp4", fast);
	media_gen("whole.mkv", mkv);
	media_gen("moovend.mp4", mkv);
	o = analyse_ok("whole.mkv");
	json_decref(o);
	media_damage("fast.mp4", "fasttrunc.mp4", 0.5, 0.0);
	media_damage("whole.mkv", "trunc.mkv", 0.5, 0.0);
	media_damage("moovend.mp4", "nomoov.mp4", 0.5, 0.0);
	media_damage("whole.mkv", "garbled.mkv", 0.4, 0.6);
	media_damage("moovend.mp4", "garbled.mp4", 0.4, 0.6);
	expect_data_error("fasttrunc.mp4", "truncated");
	expect_data_error("trunc.mkv", "truncated");
	expect_data_error("nomoov.mp4", NULL);
	expect_data_error("garbled.mkv", NULL);
	expect_data_error("garbled.mp4", NULL);
}
END_TEST

/* The decode's record of what it skipped. */
static json_int_t
lost_packets(const json_t *o, json_int_t *packets)
{
	const json_t *d = json_object_get(o, "decode");

	ck_assert_msg(json_is_object(d), "no decode object");
	*packets = json_integer_value(json_object_get(d, "packets"));
	return json_integer_value(json_object_get(d, "packets_lost"));
}

/*
 * Garbled bytes in a broadcast stream cost a packet or two, which players
 * skip: the analysis goes on and counts them. Whether the demuxer drops a
 * damaged packet or the decoder flags it, no frame goes missing uncounted;
 * bytes that decode, damaged but unflagged, cost no frame at all.
 */
START_TEST(test_isolated_damage_is_skipped)
{
	const char *ts[] = {"-f", "lavfi", "-i", "testsrc2=s=" S320 ":r=25:d=8",
	    ENC, "-g", "50", NULL};
	const double at[] = {0.3, 0.5, 0.7};
	json_int_t lost, packets;
	json_t *o;
	size_t i;

	media_gen("clean.ts", ts);
	o = analyse_ok("clean.ts");
	lost = lost_packets(o, &packets);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(packets, 200);
	json_decref(o);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		media_damage("clean.ts", "speck.ts", at[i], at[i] + 0.001);
		o = analyse_ok("speck.ts");
		lost = lost_packets(o, &packets);
		ck_assert_int_le(lost, AVH_LOST_MIN);
		ck_assert_int_eq(packets, 200);
		ck_assert_int_ge(
		    (json_int_t)media_json_num(o, "frame_count") + lost, 200);
		json_decref(o);
	}
}
END_TEST

/*
 * A packet missing from a broadcast stream leaves a gap in its
 * timestamps, and counts as lost where it was; an indexed container's
 * timestamps are its own, and a gap there is just a longer frame.
 * Garbling a fifth of an MP4, whose index keeps every packet, loses far
 * more than the documented share: that fails, naming the count and where.
 */
START_TEST(test_missing_packets_are_counted)
{
	const char *gap[] = {"-f", "lavfi", "-i",
	    "testsrc2=s=" S320 ":r=25:d=8", "-vf", "select=not(eq(n\\,100))",
	    "-fps_mode", "passthrough", ENC, "-g", "50", NULL};
	const char *mp4[] = {"-f", "lavfi", "-i",
	    "testsrc2=s=" S320 ":r=25:d=8", ENC, "-g", "50", NULL};
	const json_t *range;
	json_int_t lost, packets;
	json_t *o;

	media_gen("gap.ts", gap);
	o = analyse_ok("gap.ts");
	lost = lost_packets(o, &packets);
	ck_assert_int_eq(lost, 1);
	ck_assert_int_eq(packets, 200);
	range = json_array_get(
	    json_object_get(json_object_get(o, "decode"), "lost_ranges_s"), 0);
	ck_assert_double_eq_tol(
	    json_number_value(json_array_get(range, 0)), 4.0, 0.05);
	json_decref(o);
	media_gen("gap.mp4", gap);
	o = analyse_ok("gap.mp4");
	lost = lost_packets(o, &packets);
	ck_assert_int_eq(lost, 0);
	ck_assert_int_eq(packets, 199);
	json_decref(o);
	media_gen("clean.mp4", mp4);
	media_damage("clean.mp4", "ruined.mp4", 0.3, 0.5);
	expect_data_error(
	    "ruined.mp4", "of 200 video packets could not be decoded (at ");
}
END_TEST

/*
 * A broadcast capture that stops inside its last frames: the duration
 * MPEG-TS estimates from the last timestamps (1.36 s) is no declared
 * length, and the file is no truncated one (the packets stop at 1.08 s).
 */
START_TEST(test_capture_end_is_no_truncation)
{
	char dir[1024], path[1100], why[1200];
	struct stage_ctx ctx;
	json_t *o = NULL;
	enum stage_result rc;

	media_samples_dir(dir, sizeof(dir), "real-media");
	snprintf(path, sizeof(path), "%s/video/tsd_h264_1080i_3xeac3_dvbsub.ts",
	    dir);
	if (access(path, R_OK) != 0) {
		snprintf(why, sizeof(why), "no corpus: %s: %s", path,
		    strerror(errno));
		(void)media_samples_skip(why);
		return;
	}
	memset(&ctx, 0, sizeof(ctx));
	rc = video_analysis_file(&ctx, path, NULL, NULL, &o);
	ck_assert_msg(rc == STAGE_OK, "%d %s", rc, ctx.error);
	ck_assert_double_ge(media_json_num(o, "frame_count"), 1);
	/* Its one decodable frame lasts a frame of the declared 25 fps. */
	ck_assert_double_eq_tol(media_json_num(o, "duration_s"), 0.04, 1e-6);
	json_decref(o);
}
END_TEST

/*
 * The corpus files whose manifest states their cuts (derived.cuts_s,
 * checked by eye by the corpus builder): every stated cut is found within
 * a frame, and no other. A clip cut from a broadcast opens inside a shot,
 * so its first shot may be shorter than the detector's minimum.
 */
static void
check_cut_truth(const char *dir, const json_t *entry)
{
	const json_t *cuts =
	    json_object_get(json_object_get(entry, "derived"), "cuts_s");
	const char *file = json_string_value(json_object_get(entry, "file"));
	char path[1400];
	struct stage_ctx ctx;
	json_t *o = NULL;
	size_t i, n;
	double dt;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_msg(
	    video_analysis_file(&ctx, path, NULL, NULL, &o) == STAGE_OK,
	    "%s: %s", file, ctx.error);
	dt = 1.0 / media_json_num(o, "fps");
	n = shot_count(o);
	ck_assert_msg(n == json_array_size(cuts) + 1,
	    "%s: %zu shots, %zu cuts stated", file, n, json_array_size(cuts));
	for (i = 1; i < n; i++) {
		double got = media_json_num(shot(o, i), "start_s");
		double want = json_number_value(json_array_get(cuts, i - 1));

		ck_assert_msg(fabs(got - want) <= dt + 1e-6,
		    "%s: cut %zu at %.3f s, stated %.3f s", file, i, got, want);
	}
	json_decref(o);
}

START_TEST(test_corpus_cut_truth)
{
	char dir[1024], path[1100], why[1200];
	const json_t *e;
	json_error_t err;
	json_t *m;
	size_t i, checked = 0;

	media_samples_dir(dir, sizeof(dir), "real-media");
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	if ((m = json_load_file(path, 0, &err)) == NULL) {
		snprintf(why, sizeof(why), "no corpus: %s: %s", path, err.text);
		(void)media_samples_skip(why);
		return;
	}
	json_array_foreach(json_object_get(m, "files"), i, e)
	{
		if (json_is_array(json_object_get(
			json_object_get(e, "derived"), "cuts_s"))) {
			check_cut_truth(dir, e);
			checked++;
		}
	}
	ck_assert_uint_ge(checked, 2);
	json_decref(m);
}
END_TEST

static void
progress(void *arg, double fraction)
{
	double *last = arg;

	ck_assert_double_ge(fraction, last[0]);
	ck_assert_double_le(fraction, 1.0);
	last[0] = fraction;
	last[1] += 1.0;
}

START_TEST(test_progress_moves_forward)
{
	const char *args[] = {
	    "-f", "lavfi", "-i", "testsrc2=s=" S320 ":r=25:d=2", ENC, NULL};
	struct stage_ctx ctx;
	double last[2] = {0.0, 0.0};
	char path[256];
	json_t *o = NULL;

	media_gen("prog.mp4", args);
	media_path(path, sizeof(path), "prog.mp4");
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_int_eq(
	    video_analysis_file(&ctx, path, progress, last, &o), STAGE_OK);
	ck_assert_double_ge(last[1], 50.0);
	ck_assert_double_gt(last[0], 0.95);
	json_decref(o);
}
END_TEST

static json_t *
run_stage(struct stage_ctx *ctx, const char *tpl, const char *src,
    enum stage_result want)
{
	char tp[256], sp[256], out[256];
	json_error_t err;
	json_t *doc;

	media_path(tp, sizeof(tp), tpl != NULL ? tpl : "");
	media_path(sp, sizeof(sp), src != NULL ? src : "");
	memset(ctx, 0, sizeof(*ctx));
	ctx->job_id = "job_000000000001";
	ctx->stage = "video_analysis";
	ctx->job_dir = media_dir();
	ctx->template_path = tpl != NULL ? tp : NULL;
	ctx->source = src != NULL ? sp : NULL;
	ck_assert_int_eq(stage_video_analysis_ops.run(ctx), want);
	if (want != STAGE_OK)
		return NULL;
	media_path(out, sizeof(out), VA_ARTIFACT);
	doc = json_load_file(out, 0, &err);
	ck_assert_msg(doc != NULL, "%s: %s", out, err.text);
	ck_assert_int_eq((int)media_json_num(doc, "version"), VA_VERSION);
	return doc;
}

/* Files of the media directory whose name starts with a dot. */
static int
dot_files(void)
{
	struct dirent *de;
	DIR *d = opendir(media_dir());
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		     strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* The motion proxy name, as o's motion_proxy says: frames at 25 fps. */
static void
check_proxy(
    struct stage_ctx *ctx, const char *name, const json_t *o, int frames)
{
	const json_t *mp = json_object_get(o, "motion_proxy");
	struct proxy_reader *r;
	const struct proxy_info *in;
	uint8_t *gray;
	double t;

	ck_assert_str_eq(media_json_str(mp, "file"), name);
	ck_assert_int_eq(proxy_open(ctx, name, &r), STAGE_OK);
	in = proxy_reader_info(r);
	/* The 320x180 clip, its longer side PROXY_SIZE. */
	ck_assert_int_eq(in->width, PROXY_SIZE);
	ck_assert_int_eq(in->height, PROXY_SIZE * 9 / 16);
	ck_assert_int_eq(in->frames, frames);
	ck_assert_int_eq((int)media_json_num(mp, "frames"), frames);
	ck_assert_str_eq(in->id, media_json_str(mp, "id"));
	ck_assert_double_eq_tol(in->fps_declared, 25.0, 1e-6);
	ck_assert_ptr_nonnull(gray = malloc((size_t)in->width * in->height));
	ck_assert_int_eq(proxy_read(r, frames - 1, gray, &t), 0);
	ck_assert_double_eq_tol(t, (frames - 1) * 0.04, 1e-6);
	ck_assert_int_eq(proxy_read(r, frames, gray, &t), -1);
	free(gray);
	proxy_close(r);
}

START_TEST(test_stage_writes_artifact)
{
	const char *args[] = {
	    "-f", "lavfi", "-i", "testsrc2=s=" S320 ":r=25:d=1", ENC, NULL};
	struct stage_ctx ctx;
	json_t *doc, *tpl, *src;
	char tmp[256];
	struct stat sb;

	ck_assert_str_eq(stage_video_analysis_ops.name, "video_analysis");
	media_gen("one.mp4", args);
	/* The same file as template and source: analysed once, both set. */
	doc = run_stage(&ctx, "one.mp4", "one.mp4", STAGE_OK);
	tpl = json_object_get(doc, "template");
	src = json_object_get(doc, "source");
	ck_assert(json_is_object(tpl));
	ck_assert(json_equal(tpl, src));
	ck_assert_int_eq((int)media_json_num(tpl, "frame_count"), 25);
	ck_assert_ptr_nonnull(ctx.result);
	ck_assert_int_eq((int)media_json_num(
			     json_object_get(ctx.result, "template"), "width"),
	    320);
	json_decref(ctx.result);
	check_proxy(&ctx, "proxy-template.gray", tpl, 25);
	json_decref(doc);
	snprintf(tmp, sizeof(tmp), "%s/%s.%ld.tmp", media_dir(), VA_ARTIFACT,
	    (long)getpid());
	ck_assert_int_eq(stat(tmp, &sb), -1);
	/* One file as both inputs: one proxy. */
	media_path(tmp, sizeof(tmp), "proxy-source.gray");
	ck_assert_int_eq(stat(tmp, &sb), -1);
	/* Template only: source is null. */
	doc = run_stage(&ctx, "one.mp4", NULL, STAGE_OK);
	ck_assert(json_is_null(json_object_get(doc, "source")));
	ck_assert(json_is_object(json_object_get(doc, "template")));
	json_decref(ctx.result);
	json_decref(doc);
	run_stage(&ctx, NULL, NULL, STAGE_E_NOINPUT);
	run_stage(&ctx, "missing.mp4", NULL, STAGE_E_NOINPUT);
	ck_assert_msg(
	    strstr(ctx.error, "missing.mp4") != NULL, "%s", ctx.error);
	/* A failed run leaves no proxy, not even a temporary one. */
	media_path(tmp, sizeof(tmp), "proxy-template.gray");
	ck_assert_int_eq(unlink(tmp), 0);
	run_stage(&ctx, "one.mp4", "missing.mp4", STAGE_E_NOINPUT);
	ck_assert_int_eq(stat(tmp, &sb), -1);
	ck_assert_int_eq(dot_files(), 0);
}
END_TEST

START_TEST(test_gray_proxy_full_range)
{
	const char *args[] = {"-filter_complex",
	    "color=c=black:s=160x180:r=25:d=0.2[l];"
	    "color=c=white:s=160x180:r=25:d=0.2[r];[l][r]hstack,"
	    "format=yuv420p",
	    ENC, NULL};
	struct stage_ctx ctx;
	struct avv_frame fr;
	struct avv *v;
	char path[256];
	int n = 0;

	media_gen("bw.mp4", args);
	media_path(path, sizeof(path), "bw.mp4");
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_int_eq(
	    avv_open(&ctx, path, 160, AV_PIX_FMT_GRAY8, &v), STAGE_OK);
	ck_assert_int_eq(avv_info(v)->proxy_width, 160);
	ck_assert_int_eq(avv_info(v)->proxy_height, 90);
	while (avv_next(v, &fr) == 1) {
		/* Limited-range 16 and 235 come out as 0 and 255. */
		ck_assert_int_le(fr.data[0][45 * fr.linesize[0] + 20], 3);
		ck_assert_int_ge(fr.data[0][45 * fr.linesize[0] + 140], 252);
		ck_assert_double_eq_tol(fr.t, n * 0.04, 1e-6);
		ck_assert_int_eq(fr.index, n++);
	}
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(avv_error(v), STAGE_OK);
	ck_assert_double_eq(avv_progress(v), 1.0);
	avv_close(v);
	ck_assert_int_eq(avv_open(&ctx, path, 160, AV_PIX_FMT_YUV420P, &v),
	    STAGE_E_SOFTWARE);
}
END_TEST

/* One decode, two proxies: planar colour at 80 px and gray at 160 px. */
START_TEST(test_two_proxies)
{
	const char *args[] = {"-filter_complex",
	    "color=c=red:s=160x180:r=25:d=0.2[l];"
	    "color=c=white:s=160x180:r=25:d=0.2[r];[l][r]hstack,"
	    "format=yuv420p",
	    ENC, NULL};
	struct stage_ctx ctx;
	struct avv_frame fr;
	struct avv *v;
	char path[256];
	int w, h, n = 0;

	media_gen("rw.mp4", args);
	media_path(path, sizeof(path), "rw.mp4");
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_int_eq(
	    avv_open(&ctx, path, 80, AV_PIX_FMT_GBRP, &v), STAGE_OK);
	ck_assert_int_eq(avv_add_proxy(v, 160, AV_PIX_FMT_GRAY8, &w, &h), 1);
	ck_assert_int_eq(w, 160);
	ck_assert_int_eq(h, 90);
	while (avv_next(v, &fr) == 1) {
		n++;
		ck_assert_int_eq(fr.proxy[0].width, 80);
		ck_assert_int_eq(fr.proxy[1].width, 160);
		ck_assert_ptr_eq(fr.data[0], fr.proxy[0].data[0]);
		/* GBRP: red on the left is R (plane 2) high, G low. */
		ck_assert_int_ge(fr.data[2][22 * fr.linesize[2] + 10], 240);
		ck_assert_int_le(fr.data[0][22 * fr.linesize[0] + 10], 15);
		ck_assert_int_ge(fr.data[0][22 * fr.linesize[0] + 70], 240);
		/*
		 * The stored luma, full range: the ffmpeg program encodes
		 * untagged red with BT.601, 0.299 * 255 = 76.
		 */
		ck_assert_int_le(
		    abs(fr.proxy[1].data[0][45 * 160 + 20] - 76), 4);
		ck_assert_int_ge(fr.proxy[1].data[0][45 * 160 + 140], 252);
	}
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(avv_add_proxy(v, 40, AV_PIX_FMT_GRAY8, &w, &h), -1);
	avv_close(v);
}
END_TEST

/*
 * The direct path: planar colour and gray of one size, the gray being the
 * colour's BT.601 luma (untagged SD), also when the file is rotated.
 */
START_TEST(test_same_size_proxies)
{
	struct stage_ctx ctx;
	struct avv_frame fr;
	struct avv *v;
	const uint8_t *g, *b, *r, *y;
	char path[256];
	int w, h, n = 0, i;
	long luma;

	make_rotated("rotpair.mp4", S320);
	media_path(path, sizeof(path), "rotpair.mp4");
	memset(&ctx, 0, sizeof(ctx));
	ck_assert_int_eq(
	    avv_open(&ctx, path, 160, AV_PIX_FMT_GBRP, &v), STAGE_OK);
	ck_assert_int_eq(avv_add_proxy(v, 160, AV_PIX_FMT_GRAY8, &w, &h), 1);
	ck_assert_int_eq(w, 90);
	ck_assert_int_eq(h, 160);
	while (avv_next(v, &fr) == 1) {
		n++;
		ck_assert_int_eq(fr.proxy[0].width, 90);
		ck_assert_int_eq(fr.proxy[0].height, 160);
		/* Upright as the ffmpeg program shows it: blue on top. */
		ck_assert_int_ge(fr.data[1][20 * fr.linesize[1] + 45], 240);
		ck_assert_int_ge(fr.data[2][140 * fr.linesize[2] + 45], 240);
		for (i = 0; i < 160; i += 7) {
			g = fr.data[0] + i * fr.linesize[0];
			b = fr.data[1] + i * fr.linesize[1];
			r = fr.data[2] + i * fr.linesize[2];
			y = fr.proxy[1].data[0] + i * fr.proxy[1].linesize[0];
			luma = lrint(
			    0.299 * r[45] + 0.587 * g[45] + 0.114 * b[45]);
			ck_assert_int_le(labs(y[45] - luma), 1);
		}
		ck_assert_int_le(
		    abs(fr.proxy[1].data[0][140 * 90 + 45] - 76), 4);
	}
	ck_assert_int_eq(n, 5);
	avv_close(v);
}
END_TEST

/*
 * The 8-bit HSV of video_analysis.c from its definition in doubles: hue
 * and saturation quotients rounded to nearest, halves away from zero.
 */
static void
hsv_reference(int r, int g, int b, int out[3])
{
	int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
	int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
	int d = mx - mn, num, base, q;

	num = mx == r ? g - b : mx == g ? b - r : r - g;
	base = mx == r ? 0 : mx == g ? 60 : 120;
	q = d == 0 ? 0 : (int)floor(30.0 * abs(num) / d + 0.5);
	q = base + (num < 0 ? -q : q);
	out[0] = d == 0 ? 0 : q < 0 ? q + 180 : q;
	out[1] = mx == 0 ? 0 : (int)floor(255.0 * d / mx + 0.5);
	out[2] = mx;
}

/*
 * Every 8-bit colour: per value of R, a picture of G down and B across,
 * 259 wide so that rows are not a power of two long.
 */
#define HSV_W 259
START_TEST(test_hsv_every_colour)
{
	static uint8_t red[HSV_W * 256], green[HSV_W * 256], blue[HSV_W * 256];
	struct va_rgb im = {
	    {red, green, blue}, {HSV_W, HSV_W, HSV_W}, HSV_W, 256};
	struct va_planes p;
	int r, i, want[3], wrong = 0;

	ck_assert_int_eq(va_planes_alloc(&p, HSV_W, 256), 0);
	for (i = 0; i < HSV_W * 256; i++) {
		green[i] = (uint8_t)(i / HSV_W);
		blue[i] = (uint8_t)(i % HSV_W % 256);
	}
	for (r = 0; r < 256; r++) {
		memset(red, r, sizeof(red));
		va_planes_fill(&p, &im);
		for (i = 0; i < HSV_W * 256; i++) {
			hsv_reference(r, green[i], blue[i], want);
			wrong += p.plane[0][i] != want[0] ||
				 p.plane[1][i] != want[1] ||
				 p.plane[2][i] != want[2];
		}
	}
	ck_assert_int_eq(wrong, 0);
	va_planes_free(&p);
}
END_TEST

/* xorshift32: the same pictures on every run. */
static uint32_t
next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/*
 * A picture of flat blocks, ramps and noise, so that the edge detector
 * meets flat runs, strong and weak edges, and every threshold.
 */
static void
random_picture(uint8_t *rgb[3], int w, int h, uint32_t seed)
{
	int x, y, c, v;

	for (c = 0; c < 3; c++) {
		for (y = 0; y < h; y++) {
			for (x = 0; x < w; x++) {
				v = (int)((x / 7 * 37 + y / 5 * 91 + c * 50) %
					  256);
				if ((x / 11 + y / 9) % 3 == 0)
					v = (x * 3 + y * 2) % 256;
				if ((x / 13 + y / 6) % 4 == 1)
					v = (int)(next_random(&seed) % 256);
				rgb[c][(size_t)y * w + x] = (uint8_t)v;
			}
		}
	}
}

/* Sobel L1 at (x, y) of v, sign-coded as va_planes_fill() keeps it. */
static int
sobel_reference(const uint8_t *v, int w, int x, int y)
{
#define V(dx, dy) v[(size_t)(y + (dy)) * w + x + (dx)]
	int gx = V(1, -1) + 2 * V(1, 0) + V(1, 1) - V(-1, -1) - 2 * V(-1, 0) -
		 V(-1, 1);
	int gy = V(-1, 1) + 2 * V(0, 1) + V(1, 1) - V(-1, -1) - 2 * V(0, -1) -
		 V(1, -1);
#undef V
	return abs(gx) >= abs(gy) ? abs(gx) + abs(gy) : -(abs(gx) + abs(gy));
}

/*
 * The edge plane by its definition (video_analysis.c): Sobel of V, ridge
 * test across the dominant gradient, hysteresis over 8 neighbours, square
 * dilation; thresholds from the median of V.
 */
static void
edges_reference(const uint8_t *v, int w, int h, uint8_t *out)
{
	size_t n = (size_t)w * h, i, cum = 0, count[256] = {0};
	int *g = calloc(n, sizeof(*g));
	uint8_t *ridge = calloc(n, 1), *edge = calloc(n, 1);
	int med = 255, low, high, k, r, x, y, dx, dy, m, m1, m2;

	ck_assert(g != NULL && ridge != NULL && edge != NULL);
	for (i = 0; i < n; i++)
		count[v[i]]++;
	for (k = 0; k < 256 && med == 255; k++) {
		cum += count[k];
		if (2 * cum >= n)
			med = k;
	}
	low = (int)(2.0 * med / 3.0);
	high = (int)(4.0 * med / 3.0);
	low = low < VA_EDGE_LOW_MIN ? VA_EDGE_LOW_MIN : low;
	high = high > 255		 ? 255
	       : high < VA_EDGE_HIGH_MIN ? VA_EDGE_HIGH_MIN
					 : high;
	for (y = 1; y + 1 < h; y++)
		for (x = 1; x + 1 < w; x++)
			g[(size_t)y * w + x] = sobel_reference(v, w, x, y);
	for (y = 1; y + 1 < h; y++) {
		for (x = 1; x + 1 < w; x++) {
			i = (size_t)y * w + x;
			m = abs(g[i]);
			m1 = abs(g[i] > 0 ? g[i - 1] : g[i - w]);
			m2 = abs(g[i] > 0 ? g[i + 1] : g[i + w]);
			if (m >= low && m > m1 && m >= m2)
				ridge[i] = m >= high ? 2 : 1;
		}
	}
	for (y = 1; y + 1 < h; y++) {
		for (x = 1; x + 1 < w; x++) {
			i = (size_t)y * w + x;
			for (dy = -1; dy <= 1 && ridge[i] == 1; dy++)
				for (dx = -1; dx <= 1; dx++)
					edge[i] |= ridge[i + dy * w + dx] == 2;
			edge[i] |= ridge[i] == 2;
		}
	}
	k = 4 + (int)lrint(sqrt((double)w * h) / 192.0);
	r = (k % 2 == 0 ? k + 1 : k) / 2;
	for (y = 0; y < h; y++) {
		for (x = 0; x < w; x++) {
			m = 0;
			for (dy = -r; dy <= r; dy++)
				for (dx = -r; dx <= r; dx++)
					m |=
					    y + dy >= 0 && y + dy < h &&
					    x + dx >= 0 && x + dx < w &&
					    edge[(size_t)(y + dy) * w + x + dx];
			out[(size_t)y * w + x] = m ? 255 : 0;
		}
	}
	free(g);
	free(ridge);
	free(edge);
}

/* Mean absolute difference of two planes, around the hue wheel if asked. */
static double
plane_diff_reference(const uint8_t *a, const uint8_t *b, size_t n, bool wrap)
{
	double sum = 0.0;
	int d;
	size_t i;

	for (i = 0; i < n; i++) {
		d = abs(a[i] - b[i]);
		sum += wrap && 180 - d < d ? 180 - d : d;
	}
	return sum / (double)n;
}

/*
 * The vectorised edge detector and content score against their plain
 * definitions, on sizes that leave every kind of row tail.
 */
START_TEST(test_edges_and_score_match_definition)
{
	static const int size[][2] = {
	    {256, 144}, {259, 37}, {37, 23}, {17, 9}, {3, 3}, {320, 180}};
	struct va_score_params sp;
	struct va_planes p[2];
	uint8_t *rgb[2][3], *want;
	double score, diff;
	int s, w, h, c, f;
	size_t n;

	va_score_params_default(&sp);
	for (s = 0; s < (int)(sizeof(size) / sizeof(size[0])); s++) {
		w = size[s][0];
		h = size[s][1];
		n = (size_t)w * h;
		want = malloc(n);
		ck_assert(want != NULL);
		for (f = 0; f < 2; f++) {
			for (c = 0; c < 3; c++) {
				rgb[f][c] = malloc(n);
				ck_assert(rgb[f][c] != NULL);
			}
			random_picture(rgb[f], w, h, (uint32_t)(s * 2 + f + 1));
			ck_assert_int_eq(va_planes_alloc(&p[f], w, h), 0);
			va_planes_fill(&p[f],
			    &(struct va_rgb){{rgb[f][0], rgb[f][1], rgb[f][2]},
				{w, w, w}, w, h});
			edges_reference(p[f].plane[2], w, h, want);
			ck_assert_msg(memcmp(want, p[f].plane[3], n) == 0,
			    "edges of %dx%d picture %d differ", w, h, f);
		}
		score = diff = 0.0;
		for (c = 0; c < 4; c++) {
			diff += sp.weights[c] *
				plane_diff_reference(p[0].plane[c],
				    p[1].plane[c], n, c == 0 && sp.hue_wrap);
			score += fabs(sp.weights[c]);
		}
		ck_assert_double_eq_tol(
		    va_content_score(&p[0], &p[1], &sp), diff / score, 1e-9);
		for (f = 0; f < 2; f++) {
			va_planes_free(&p[f]);
			for (c = 0; c < 3; c++)
				free(rgb[f][c]);
		}
		free(want);
	}
}
END_TEST

static Suite *
stage_video_suite(void)
{
	Suite *s = suite_create("stage_video");
	TCase *tc;

	tc = tcase_create("colour");
	tcase_add_test(tc, test_hsv_every_colour);
	tcase_add_test(tc, test_edges_and_score_match_definition);
	suite_add_tcase(s, tc);
	tc = tcase_create("shots");
	tcase_add_unchecked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cuts_precision_recall);
	tcase_add_test(tc, test_flash_is_not_a_cut);
	tcase_add_test(tc, test_fast_pan_is_not_a_cut);
	tcase_add_test(tc, test_black_opening);
	tcase_add_test(tc, test_fade_through_black);
	tcase_add_test(tc, test_dissolve_and_fade_black);
	tcase_add_test(tc, test_short_dissolve);
	suite_add_tcase(s, tc);
	tc = tcase_create("media");
	tcase_add_unchecked_fixture(tc, setup_dir, teardown_dir);
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_flat_colours_lab);
	tcase_add_test(tc, test_matrix_and_range_honoured);
	tcase_add_test(tc, test_rotation_gives_portrait);
	tcase_add_test(tc, test_anamorphic_sar);
	tcase_add_test(tc, test_variable_frame_rate);
	tcase_add_test(tc, test_truncated_and_damaged);
	tcase_add_test(tc, test_isolated_damage_is_skipped);
	tcase_add_test(tc, test_missing_packets_are_counted);
	tcase_add_test(tc, test_capture_end_is_no_truncation);
	tcase_add_test(tc, test_corpus_cut_truth);
	tcase_add_test(tc, test_progress_moves_forward);
	tcase_add_test(tc, test_stage_writes_artifact);
	tcase_add_test(tc, test_gray_proxy_full_range);
	tcase_add_test(tc, test_two_proxies);
	tcase_add_test(tc, test_same_size_proxies);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stage_video_suite)

/*
 * Tests for stages/probe.c, called through the stage table the way
 * the skeleton calls it (no socket: progress goes nowhere). The media are
 * made once per run with the ffmpeg program from lavfi sources: 2 s of
 * 320x180 testsrc2 at 25 fps with a 440 Hz sine, in every supported
 * container (the contract's five, and flv, 3gp and MPEG-TS), plus the
 * files the probe must refuse: truncated (with and without a whole
 * header), text, a still image, a playlist, audio only, and a valid
 * header over garbage data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "check_main.h"
#include "media.h"
#include "util.h"
#include "worker.h"

#define VIDEO_IN "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2"
#define AUDIO_IN "-f", "lavfi", "-i", "sine=frequency=440:duration=2"
#define X264 "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"

/* Optional encoders: NULL or "" when this ffmpeg lacks them. */
static const char *webm_codec;
static bool have_hevc;

static uint8_t *
slurp(const char *name, size_t *len)
{
	char path[256];
	uint8_t *buf;
	FILE *f;
	long n;

	media_path(path, sizeof(path), name);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xcalloc(1, (size_t)n);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
spill(const char *name, const void *buf, size_t len)
{
	char path[256];
	FILE *f;

	media_path(path, sizeof(path), name);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* A faststart mp4 whose mdat payload is replaced by pseudo-random bytes. */
static void
make_garbage(void)
{
	uint32_t x = 2463534242u;
	uint8_t *buf;
	size_t len, i, at = 0;

	buf = slurp("fast.mp4", &len);
	for (i = 4; i + 4 <= len; i++) {
		if (memcmp(buf + i, "mdat", 4) == 0) {
			at = i + 4;
			break;
		}
	}
	ck_assert_uint_gt(at, 0);
	for (i = at; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	spill("garbage.mp4", buf, len);
	free(buf);
}

static void
make_webm(void)
{
	const char *vp9[] = {VIDEO_IN, AUDIO_IN, "-c:v", "libvpx-vp9",
	    "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus", NULL};
	const char *vp8[] = {VIDEO_IN, AUDIO_IN, "-c:v", "libvpx", "-deadline",
	    "realtime", "-c:a", "libvorbis", NULL};

	const char *live[] = {
	    "-i", NULL, "-c", "copy", "-live", "1", "-f", "webm", NULL};
	char src[256];

	if (media_ffmpeg("a.webm", vp9))
		webm_codec = "vp9";
	else if (media_ffmpeg("a.webm", vp8))
		webm_codec = "vp8";
	else
		return;
	/* As a browser's MediaRecorder writes it: no duration, no cues. */
	media_path(src, sizeof(src), "a.webm");
	live[1] = src;
	media_gen("live.webm", live);
}

static void
make_derived(void)
{
	const char *rot[] = {
	    "-i", NULL, "-c", "copy", "-metadata:s:v:0", "rotate=90", NULL};
	const char *text = "This is not a video.\n";
	const char *playlist = "#EXTM3U\n#EXTINF:2.0,\na.mp4\n#EXT-X-ENDLIST\n";
	char src[256];
	uint8_t *buf;
	size_t len;

	media_path(src, sizeof(src), "a.mp4");
	rot[1] = src;
	media_gen("rot.mp4", rot);
	buf = slurp("a.mp4", &len);
	ck_assert_uint_gt(len, 3072);
	spill("trunc.mp4", buf, 3072);
	free(buf);
	buf = slurp("fast.mp4", &len);
	spill("fasttrunc.mp4", buf, len / 4);
	free(buf);
	buf = slurp("a.mkv", &len);
	spill("trunc.mkv", buf, len / 2);
	free(buf);
	make_garbage();
	spill("notes.txt", text, strlen(text));
	spill("text.mp4", text, strlen(text));
	spill("list.m3u8", playlist, strlen(playlist));
}

static void
setup_media(void)
{
	/* The failures below are expected; libav need not describe them. */
	av_log_set_level(AV_LOG_QUIET);
	const char *mp4[] = {VIDEO_IN, AUDIO_IN, X264, "-c:a", "aac", NULL};
	const char *avi[] = {
	    VIDEO_IN, AUDIO_IN, "-c:v", "mpeg4", "-c:a", "pcm_s16le", NULL};
	const char *silent[] = {VIDEO_IN, X264, NULL};
	const char *fast[] = {VIDEO_IN, X264, "-movflags", "+faststart", NULL};
	const char *flv[] = {VIDEO_IN, "-c:v", "flv", NULL};
	const char *tgp[] = {VIDEO_IN, X264, "-f", "3gp", NULL};
	const char *ts[] = {VIDEO_IN, AUDIO_IN, X264, "-c:a", "aac", NULL};
	const char *png[] = {VIDEO_IN, "-frames:v", "1", NULL};
	const char *audio[] = {AUDIO_IN, "-c:a", "aac", NULL};
	const char *hevc[] = {VIDEO_IN, "-c:v", "libx265", "-preset",
	    "ultrafast", "-x265-params", "log-level=none", NULL};

	media_setup("check_stage_probe");
	media_gen("a.mp4", mp4);
	media_gen("a.mov", mp4);
	media_gen("a.mkv", mp4);
	media_gen("a.avi", avi);
	media_gen("silent.mp4", silent);
	media_gen("fast.mp4", fast);
	media_gen("a.flv", flv);
	media_gen("a.3gp", tgp);
	media_gen("a.ts", ts);
	media_gen("still.png", png);
	media_gen("audio.mp4", audio);
	have_hevc = media_ffmpeg("hevc.mp4", hevc);
	make_webm();
	make_derived();
}

static void
teardown_media(void)
{
	media_teardown();
}

/* Probes the file at path (NULL: none). */
static enum stage_result
probe_path(const char *path, struct stage_ctx *ctx)
{
	const struct stage_ops *ops = stage_find("probe");

	ck_assert_ptr_nonnull(ops);
	ck_assert_ptr_nonnull(ops->run);
	memset(ctx, 0, sizeof(*ctx));
	ctx->job_id = "vid_0123456789ab";
	ctx->stage = "probe";
	ctx->job_dir = media_dir();
	ctx->source = path;
	return ops->run(ctx);
}

/* Probes the generated file name (NULL: none). */
static enum stage_result
probe(const char *name, struct stage_ctx *ctx)
{
	static char path[256];

	if (name != NULL)
		media_path(path, sizeof(path), name);
	return probe_path(name != NULL ? path : NULL, ctx);
}

static json_int_t
int_field(const json_t *r, const char *key)
{
	const json_t *v = json_object_get(r, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

static double
real_field(const json_t *r, const char *key)
{
	const json_t *v = json_object_get(r, key);

	ck_assert_msg(json_is_real(v), "%s is not a float", key);
	return json_real_value(v);
}

static const char *
str_field(const json_t *r, const char *key)
{
	const json_t *v = json_object_get(r, key);

	ck_assert_msg(json_is_string(v), "%s is not a string", key);
	return json_string_value(v);
}

/* Probes name and checks every field against what setup made. */
static json_t *
probe_ok(
    const char *name, const char *codec, const char *format, bool has_audio)
{
	struct stage_ctx ctx;
	enum stage_result code;
	json_t *r;

	code = probe(name, &ctx);
	ck_assert_msg(code == STAGE_OK, "%s: %d %s", name, code, ctx.error);
	r = ctx.result;
	ck_assert(json_is_object(r));
	ck_assert_uint_eq(json_object_size(r), 9);
	ck_assert_int_eq(int_field(r, "width"), 320);
	ck_assert_int_eq(int_field(r, "height"), 180);
	ck_assert_double_eq_tol(real_field(r, "duration_seconds"), 2.0, 0.1);
	ck_assert_double_eq_tol(real_field(r, "frame_rate"), 25.0, 0.001);
	ck_assert_str_eq(str_field(r, "codec"), codec);
	ck_assert_str_eq(str_field(r, "format"), format);
	ck_assert_int_gt(int_field(r, "bitrate_kbps"), 0);
	ck_assert(json_is_boolean(json_object_get(r, "has_audio")));
	ck_assert(
	    json_boolean_value(json_object_get(r, "has_audio")) == has_audio);
	return r;
}

static void
probe_fails(const char *name, enum stage_result want, const char *reason)
{
	struct stage_ctx ctx;
	enum stage_result code;

	code = probe(name, &ctx);
	ck_assert_msg(code == want, "%s: got %d (%s), want %d",
	    name != NULL ? name : "(none)", code, ctx.error, want);
	ck_assert_ptr_null(ctx.result);
	ck_assert_msg(strstr(ctx.error, reason) != NULL,
	    "%s: \"%s\" does not say \"%s\"", name != NULL ? name : "(none)",
	    ctx.error, reason);
}

START_TEST(test_mp4)
{
	json_t *r = probe_ok("a.mp4", "h264", "mp4", true);

	ck_assert_int_eq(int_field(r, "rotation"), 0);
	json_decref(r);
}
END_TEST

START_TEST(test_mov)
{
	json_decref(probe_ok("a.mov", "h264", "mov", true));
}
END_TEST

START_TEST(test_mkv)
{
	json_decref(probe_ok("a.mkv", "h264", "mkv", true));
}
END_TEST

START_TEST(test_webm)
{
	if (webm_codec == NULL) {
		fprintf(stderr, "check_stage_probe: no libvpx encoder in this "
				"ffmpeg, webm not tested\n");
		return;
	}
	json_decref(probe_ok("a.webm", webm_codec, "webm", true));
}
END_TEST

START_TEST(test_avi)
{
	json_decref(probe_ok("a.avi", "mpeg4", "avi", true));
}
END_TEST

START_TEST(test_video_only)
{
	json_decref(probe_ok("silent.mp4", "h264", "mp4", false));
}
END_TEST

START_TEST(test_hevc_is_h265)
{
	if (!have_hevc) {
		fprintf(stderr, "check_stage_probe: no libx265 encoder in this "
				"ffmpeg, h265 not tested\n");
		return;
	}
	json_decref(probe_ok("hevc.mp4", "h265", "mp4", false));
}
END_TEST

/* Coded size stays; rotation is the display matrix's, counterclockwise. */
START_TEST(test_rotation)
{
	json_t *r = probe_ok("rot.mp4", "h264", "mp4", true);

	ck_assert_int_eq(int_field(r, "rotation"), 90);
	json_decref(r);
}
END_TEST

START_TEST(test_webm_without_duration)
{
	if (webm_codec == NULL)
		return;
	json_decref(probe_ok("live.webm", webm_codec, "webm", true));
}
END_TEST

START_TEST(test_truncated)
{
	probe_fails(
	    "trunc.mp4", STAGE_E_DATA, "trunc.mp4 is corrupt or truncated");
}
END_TEST

/* The header is whole and the first frames decode; the end is missing. */
START_TEST(test_truncated_after_header)
{
	probe_fails(
	    "fasttrunc.mp4", STAGE_E_DATA, "truncated: the video stops at 0.");
	probe_fails("trunc.mkv", STAGE_E_DATA, "truncated: the video stops");
}
END_TEST

START_TEST(test_garbage_data)
{
	probe_fails(
	    "garbage.mp4", STAGE_E_DATA, "cannot decode the h264 video");
}
END_TEST

START_TEST(test_text)
{
	probe_fails("notes.txt", STAGE_E_DATA, "not a recognised media file");
	probe_fails("text.mp4", STAGE_E_DATA, "not a recognised media file");
}
END_TEST

/* Beyond the contract's five: what phones, cameras and players make. */
START_TEST(test_other_containers)
{
	json_decref(probe_ok("a.flv", "flv1", "flv", false));
	json_decref(probe_ok("a.3gp", "h264", "3gp", false));
	json_decref(probe_ok("a.ts", "h264", "mpegts", true));
}
END_TEST

START_TEST(test_still_image)
{
	probe_fails("still.png", STAGE_E_DATA, "still.png is a still image");
}
END_TEST

/* A playlist could make the worker read other files: never opened. */
START_TEST(test_playlist)
{
	probe_fails("list.m3u8", STAGE_E_DATA, "not a recognised media file");
}
END_TEST

START_TEST(test_audio_only)
{
	probe_fails("audio.mp4", STAGE_E_DATA, "no video stream");
}
END_TEST

START_TEST(test_missing)
{
	probe_fails("nothing.mp4", STAGE_E_NOINPUT, "nothing.mp4");
	probe_fails(NULL, STAGE_E_NOINPUT, "no video to probe");
}
END_TEST

/*
 * A broadcast capture of five programmes, each on its own clock: the
 * container spans 72054 s between them, the video's programme 1.3 s.
 */
START_TEST(test_programmes_keep_their_clocks)
{
	char dir[1024], path[1100], why[1200];
	struct stage_ctx ctx;
	enum stage_result code;

	media_samples_dir(dir, sizeof(dir), "real-media");
	snprintf(path, sizeof(path), "%s/video/tsd_mpts_5_programs.ts", dir);
	if (access(path, R_OK) != 0) {
		snprintf(why, sizeof(why), "no corpus: %s: %s", path,
		    strerror(errno));
		(void)media_samples_skip(why);
		return;
	}
	code = probe_path(path, &ctx);
	ck_assert_msg(code == STAGE_OK, "%d %s", code, ctx.error);
	ck_assert_double_eq_tol(
	    real_field(ctx.result, "duration_seconds"), 1.3, 0.2);
	json_decref(ctx.result);
}
END_TEST

static Suite *
stage_probe_suite(void)
{
	Suite *s = suite_create("stage_probe");
	TCase *tc = tcase_create("probe");

	tcase_add_unchecked_fixture(tc, setup_media, teardown_media);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_mp4);
	tcase_add_test(tc, test_mov);
	tcase_add_test(tc, test_mkv);
	tcase_add_test(tc, test_webm);
	tcase_add_test(tc, test_avi);
	tcase_add_test(tc, test_video_only);
	tcase_add_test(tc, test_hevc_is_h265);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_webm_without_duration);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_truncated_after_header);
	tcase_add_test(tc, test_garbage_data);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_other_containers);
	tcase_add_test(tc, test_still_image);
	tcase_add_test(tc, test_playlist);
	tcase_add_test(tc, test_audio_only);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_programmes_keep_their_clocks);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stage_probe_suite)

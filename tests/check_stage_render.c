/*
 * Tests for the rendering stage (stages/rendering/rendering.c, render_*.c,
 * media/encode.c, dsp/limiter.c, media/contact.c), run as the skeleton runs it
 * but without a socket. Each test writes a plan.json and a grade.cube by hand
 * in its own job directory and renders media made once per run by the ffmpeg
 * program: testsrc2 with a steady 440 Hz tone (-20 dBFS, 44.1 kHz, so the
 * audio is resampled), a red-then-blue clip whose tone starts with the
 * blue half (transitions and A/V sync), and a clip without audio. The
 * output is then measured through libavformat, av_video.h (mean colour of
 * each frame) and av_audio.h + libebur128 (loudness, true peak, level per
 * 10 ms), and the file layout is read box by box (faststart).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ebur128.h>
#include <jansson.h>
#include <libavformat/avformat.h>
#include <libavutil/log.h>

#include "av_audio.h"
#include "av_video.h"
#include "check_main.h"
#include "media.h"
#include "contact.h"
#include "limiter.h"
#include "render_peak.h"
#include "render_plan.h"
#include "rendering.h"
#include "util.h"

#define X264 "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"
#define GOP "-g", "25"
#define TONE(amp, gate)                                       \
	"aevalsrc=exprs=" amp "*sin(2*PI*440*t)" gate "|" amp \
	"*sin(2*PI*440*t)" gate ":s=44100:d=8"
#define MAX_FRAMES 600
#define MAX_WINDOWS 2000

static char src_mp4[128], rb_mp4[128], silent_mp4[128], noise_mp4[128];
static char bw_mp4[128];

struct seg {
	double s0, s1, out;
	const char *type;
	double d;
};

struct rgb {
	double r, g, b, t;
};

struct loud {
	ebur128_state *st;
	double rms[MAX_WINDOWS]; /* per 10 ms, mean over channels */
	size_t nwin;
	double acc;
	int in_win, win, channels;
	int64_t frames;
};

struct probe {
	int vcodec, acodec; /* AVCodecID, 0 when absent */
	int width, height;
	AVRational fps, sar;
	double vdur, adur;
	int color_space, arate, achannels;
};

static void
path_in(char *buf, size_t size, const char *job, const char *name)
{
	snprintf(buf, size, "%s/%s/%s", media_dir(), job, name);
}

/* The plan.json write_job made for job, to amend; path is kept for saving. */
static json_t *
load_plan(const char *job, char *path, size_t size)
{
	json_t *plan;

	path_in(path, size, job, "plan.json");
	plan = json_load_file(path, 0, NULL);
	ck_assert_ptr_nonnull(plan);
	return plan;
}

static void
save_plan(json_t *plan, const char *path)
{
	ck_assert_int_eq(json_dump_file(plan, path, 0), 0);
	json_decref(plan);
}

/* The output file of a job, in a static buffer. */
static const char *
path_in_out(const char *job)
{
	static char buf[256];

	path_in(buf, sizeof(buf), job, RENDERING_OUTPUT);
	return buf;
}

static void
setup_media(void)
{
	const char *src[] = {"-f", "lavfi", "-i",
	    "testsrc2=size=320x180:rate=25:duration=8", "-f", "lavfi", "-i",
	    TONE("0.1", ""), X264, GOP, "-c:a", "aac", "-b:a", "192k", NULL};
	const char *rb[] = {"-f", "lavfi", "-i",
	    "color=c=red:s=320x180:r=25:d=4[a];"
	    "color=c=blue:s=320x180:r=25:d=4[b];[a][b]concat=n=2:v=1:a=0",
	    "-f", "lavfi", "-i", TONE("0.2", "*gte(t\\,4)"), X264, GOP, "-c:a",
	    "aac", NULL};
	const char *silent[] = {"-f", "lavfi", "-i",
	    "testsrc2=size=320x180:rate=25:duration=6", X264, NULL};
	const char *noise[] = {"-f", "lavfi", "-i",
	    "testsrc2=size=160x90:rate=25:duration=4", "-f", "lavfi", "-i",
	    "anoisesrc=d=4:c=pink:r=48000:a=0.3:seed=1", X264, "-c:a", "aac",
	    "-b:a", "256k", "-ac", "2", NULL};
	const char *bw[] = {"-f", "lavfi", "-i",
	    "color=c=black:s=320x180:r=25:d=2[a];"
	    "color=c=white:s=320x180:r=25:d=2[b];"
	    "color=c=black:s=320x180:r=25:d=2[c];"
	    "color=c=white:s=320x180:r=25:d=2[d];"
	    "[a][b][c][d]concat=n=4:v=1:a=0",
	    "-f", "lavfi", "-i", TONE("0.2", ""), X264, GOP, "-c:a", "aac",
	    NULL};
	const char *faststart[] = {
	    "-i", src_mp4, "-c", "copy", "-movflags", "+faststart", NULL};

	av_log_set_level(AV_LOG_QUIET);
	media_setup("check_stage_render");
	media_path(src_mp4, sizeof(src_mp4), "src.mp4");
	media_path(rb_mp4, sizeof(rb_mp4), "rb.mp4");
	media_path(silent_mp4, sizeof(silent_mp4), "silent.mp4");
	media_path(noise_mp4, sizeof(noise_mp4), "noise.mp4");
	media_path(bw_mp4, sizeof(bw_mp4), "bw.mp4");
	media_gen("src.mp4", src);
	media_gen("rb.mp4", rb);
	media_gen("silent.mp4", silent);
	media_gen("noise.mp4", noise);
	media_gen("bw.mp4", bw);
	media_gen("fast.mp4", faststart);
	media_damage("fast.mp4", "trunc_fast.mp4", 0.5, 0.0);
	media_damage("src.mp4", "trunc_end.mp4", 0.5, 0.0);
	media_damage("src.mp4", "garbled.mp4", 0.3, 0.6);
}

static void
teardown_media(void)
{
	media_teardown();
}

static void
quiet(void)
{
	av_log_set_level(AV_LOG_QUIET);
}

/* Identity, red and blue swapped, or red raised by 0.2. */
enum cube { CUBE_IDENTITY, CUBE_SWAP_RB, CUBE_RED_UP };

static void
write_cube(const char *job, enum cube kind, int n)
{
	char path[256];
	double r, g, b;
	int i, j, k;
	FILE *f;

	path_in(path, sizeof(path), job, "grade.cube");
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "# test grade\nTITLE \"test\"\nLUT_3D_SIZE %d\n", n);
	for (k = 0; k < n; k++)
		for (j = 0; j < n; j++)
			for (i = 0; i < n; i++) {
				r = i / (n - 1.0), g = j / (n - 1.0);
				b = k / (n - 1.0);
				if (kind == CUBE_SWAP_RB)
					fprintf(f, "%.6f %.6f %.6f\n", b, g, r);
				else if (kind == CUBE_RED_UP)
					fprintf(f, "%.6f %.6f %.6f\n",
					    fmin(1.0, r + 0.2), g, b);
				else
					fprintf(f, "%.6f %.6f %.6f\n", r, g, b);
			}
	ck_assert_int_eq(fclose(f), 0);
}

struct plan_opts {
	const char *source;
	int width, height, fps;
	const char *mode; /* conform */
	int cx, cy, cw, ch;
	bool audio;
	double gain;
	const char *quality;
	int audio_bitrate;
	double target_lufs; /* NAN: the plan names none */
};

static const struct plan_opts plan_default = {
    NULL, 320, 180, 30, "none", 0, 0, 320, 180, true, 0.0, "low", 192000, NAN};

static double
plan_duration(const struct seg *segs, int n)
{
	return segs[n - 1].out + (segs[n - 1].s1 - segs[n - 1].s0);
}

static json_t *
plan_segments(const struct seg *segs, int n)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(
		    a, json_pack("{s:f, s:f, s:f, s:{s:s, s:f}}", "src_start_s",
			   segs[i].s0, "src_end_s", segs[i].s1, "out_start_s",
			   segs[i].out, "transition_in", "type", segs[i].type,
			   "duration_s", segs[i].d));
	return a;
}

/* Makes job dir job with a plan and (unless cube < 0) a 33^3 grade. */
static void
write_job(const char *job, const struct plan_opts *o, const struct seg *segs,
    int n, int cube)
{
	char path[256];
	json_t *plan;

	snprintf(path, sizeof(path), "%s/%s", media_dir(), job);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	plan = json_pack("{s:i, s:{s:s, s:f, s:b, s:i, s:i}, s:{s:s, s:f}, "
			 "s:{s:i, s:i, s:{s:i, s:i}, s:{s:s, s:i, s:i, s:i, "
			 "s:i}, s:f}, s:{s:s}, s:{s:o}, s:{s:b, s:f, s:f}, "
			 "s:{s:s, s:i, s:i}}",
	    "version", 1, "source", "path", o->source, "duration_s", 8.0,
	    "has_audio", o->audio, "display_width", 320, "display_height", 180,
	    "template", "path", src_mp4, "duration_s", 8.0, "output", "width",
	    o->width, "height", o->height, "frame_rate", "num", o->fps, "den",
	    1, "conform", "mode", o->mode, "x", o->cx, "y", o->cy, "w", o->cw,
	    "h", o->ch, "duration_s", plan_duration(segs, n), "grade",
	    "lut_file", "grade.cube", "edit", "segments",
	    plan_segments(segs, n), "audio", "present", o->audio, "gain_db",
	    o->gain, "true_peak_limit_dbtp", -1.0, "encode", "quality",
	    o->quality, "audio_bitrate", 192000, "audio_rate", 48000);
	ck_assert_ptr_nonnull(plan);
	if (isfinite(o->target_lufs))
		json_object_set_new(json_object_get(plan, "audio"),
		    "target_lufs", json_real(o->target_lufs));
	path_in(path, sizeof(path), job, "plan.json");
	ck_assert_int_eq(json_dump_file(plan, path, JSON_INDENT(2)), 0);
	json_decref(plan);
	if (cube >= 0)
		write_cube(job, (enum cube)cube, 33);
}

static enum stage_result
run_stage(const char *job, const char *source, struct stage_ctx *ctx)
{
	static char jd[256];

	snprintf(jd, sizeof(jd), "%s/%s", media_dir(), job);
	memset(ctx, 0, sizeof(*ctx));
	ctx->job_id = job;
	ctx->stage = "rendering";
	ctx->job_dir = jd;
	ctx->source = source;
	return stage_rendering_ops.run(ctx);
}

/* Renders and checks success; prints the speed. */
static void
render_ok(const char *job, const char *source)
{
	struct stage_ctx ctx;
	enum stage_result rc = run_stage(job, source, &ctx);

	ck_assert_msg(rc == STAGE_OK, "%s: %d %s", job, rc, ctx.error);
	ck_assert_ptr_nonnull(ctx.result);
	printf("render %-10s %4lld frames in %.2f s: %.1f frames/s, %lld "
	       "seeks\n",
	    job,
	    (long long)json_integer_value(
		json_object_get(ctx.result, "frames")),
	    json_real_value(json_object_get(ctx.result, "render_s")),
	    json_real_value(json_object_get(ctx.result, "frames_per_s")),
	    (long long)json_integer_value(
		json_object_get(ctx.result, "seeks")));
	json_decref(ctx.result);
}

static void
probe_file(const char *path, struct probe *p)
{
	AVFormatContext *fmt = NULL;
	unsigned i;

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(avformat_open_input(&fmt, path, NULL, NULL), 0);
	ck_assert_int_ge(avformat_find_stream_info(fmt, NULL), 0);
	for (i = 0; i < fmt->nb_streams; i++) {
		const AVStream *st = fmt->streams[i];
		const AVCodecParameters *cp = st->codecpar;
		double d = st->duration * av_q2d(st->time_base);

		if (cp->codec_type == AVMEDIA_TYPE_VIDEO) {
			p->vcodec = cp->codec_id;
			p->width = cp->width;
			p->height = cp->height;
			p->fps = st->r_frame_rate;
			p->sar = cp->sample_aspect_ratio;
			p->color_space = cp->color_space;
			p->vdur = d;
		} else if (cp->codec_type == AVMEDIA_TYPE_AUDIO) {
			p->acodec = cp->codec_id;
			p->arate = cp->sample_rate;
			p->achannels = cp->ch_layout.nb_channels;
			p->adur = d;
		}
	}
	avformat_close_input(&fmt);
}

/* Offsets of the top-level moov and mdat boxes (-1 when absent). */
static void
box_order(const char *path, long *moov, long *mdat)
{
	unsigned char h[16];
	uint64_t size;
	long at = 0;
	FILE *f = fopen(path, "rb");

	ck_assert_ptr_nonnull(f);
	*moov = *mdat = -1;
	while (fseek(f, at, SEEK_SET) == 0 && fread(h, 1, 8, f) == 8) {
		size = (uint64_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
		if (size == 1 && fread(h + 8, 1, 8, f) == 8) {
			size = 0;
			for (int i = 8; i < 16; i++)
				size = size << 8 | h[i];
		}
		if (memcmp(h + 4, "moov", 4) == 0)
			*moov = at;
		if (memcmp(h + 4, "mdat", 4) == 0)
			*mdat = at;
		if (size < 8)
			break;
		at += (long)size;
	}
	fclose(f);
}

/* Mean colour of rows [y0, y1) (fractions of the height) of every frame. */
static int
frame_means(const char *path, double y0, double y1, struct rgb *out)
{
	struct stage_ctx ctx;
	struct avv_frame f;
	struct avv *v;
	int n = 0, x, y, rows, r;

	memset(&ctx, 0, sizeof(ctx));
	ck_assert_int_eq(avv_open(&ctx, path, 640, AV_PIX_FMT_RGB24, &v), 0);
	while ((r = avv_next(v, &f)) == 1 && n < MAX_FRAMES) {
		double s[3] = {0, 0, 0};
		int ya = (int)(y0 * f.height), yb = (int)(y1 * f.height);

		for (y = ya; y < yb; y++)
			for (x = 0; x < f.width; x++) {
				const uint8_t *p =
				    f.data[0] + y * f.linesize[0] + 3 * x;

				s[0] += p[0], s[1] += p[1], s[2] += p[2];
			}
		rows = (yb - ya) * f.width;
		out[n++] =
		    (struct rgb){s[0] / rows, s[1] / rows, s[2] / rows, f.t};
	}
	ck_assert_msg(r == 0, "decoding %s: %s", path, ctx.error);
	avv_close(v);
	return n;
}

static enum stage_result
loud_chunk(void *arg, const float *x, int n)
{
	struct loud *l = arg;
	int i, c;

	ck_assert_int_eq(ebur128_add_frames_float(l->st, x, (size_t)n), 0);
	for (i = 0; i < n; i++) {
		for (c = 0; c < l->channels; c++)
			l->acc += (double)x[i * l->channels + c] *
				  x[i * l->channels + c];
		if (++l->in_win == l->win) {
			if (l->nwin < MAX_WINDOWS)
				l->rms[l->nwin++] =
				    sqrt(l->acc / (l->win * l->channels));
			l->acc = 0.0;
			l->in_win = 0;
		}
	}
	l->frames += n;
	return STAGE_OK;
}

/* Decodes the audio of path into loudness, true peak and 10 ms levels. */
static void
measure_audio(const char *path, struct loud *l, double *lufs, double *tp_db)
{
	struct stage_ctx ctx;
	struct ava_stream *s;
	struct ava_output out = {0, false, loud_chunk, l};
	double tp, peak = 0.0;
	int c;

	memset(&ctx, 0, sizeof(ctx));
	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(ava_open(&ctx, path, &s), STAGE_OK);
	ck_assert_ptr_nonnull(s);
	l->channels = ava_info(s)->channels;
	l->win = ava_info(s)->rate / 100;
	l->st = ebur128_init((unsigned)l->channels,
	    (unsigned long)ava_info(s)->rate,
	    EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
	ck_assert_ptr_nonnull(l->st);
	ck_assert_int_eq(ava_run(&ctx, s, &out, 1), STAGE_OK);
	ck_assert_int_eq(ebur128_loudness_global(l->st, lufs), 0);
	for (c = 0; c < l->channels; c++) {
		ck_assert_int_eq(ebur128_true_peak(l->st, (unsigned)c, &tp), 0);
		peak = fmax(peak, tp);
	}
	*tp_db = 20.0 * log10(peak);
	ebur128_destroy(&l->st);
	ava_close(s);
}

static void
contact_dims(const char *job, int *w, int *h)
{
	char path[256];
	struct probe p;

	path_in(path, sizeof(path), job, RENDERING_CONTACT);
	probe_file(path, &p);
	*w = p.width;
	*h = p.height;
}

/* The job directory holds exactly the given names (NULL-terminated). */
static void
dir_holds(const char *job, const char *const names[])
{
	char path[256];
	struct dirent *e;
	int found = 0, want = 0, i;
	DIR *d;

	while (names[want] != NULL)
		want++;
	snprintf(path, sizeof(path), "%s/%s", media_dir(), job);
	ck_assert_ptr_nonnull(d = opendir(path));
	while ((e = readdir(d)) != NULL) {
		bool known = false;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		for (i = 0; i < want; i++)
			known = known || strcmp(names[i], e->d_name) == 0;
		ck_assert_msg(known, "%s: unexpected file %s", job, e->d_name);
		found++;
	}
	closedir(d);
	ck_assert_int_eq(found, want);
}

static const char *const job_ok_files[] = {"plan.json", "grade.cube",
    RENDERING_OUTPUT, RENDERING_CONTACT, "report.json", NULL};
static const char *const job_failed_files[] = {"plan.json", "grade.cube", NULL};

START_TEST(test_basic_output)
{
	const struct seg segs[] = {{0.0, 2.0, 0.0, "none", 0.0},
	    {2.5, 4.5, 2.0, "cut", 0.0}, {5.0, 7.0, 4.0, "fade", 0.4}};
	struct plan_opts o = plan_default;
	char out[256];
	struct probe p;
	long moov, mdat;
	int w, h;

	o.source = src_mp4;
	write_job("basic", &o, segs, 3, CUBE_IDENTITY);
	render_ok("basic", src_mp4);
	dir_holds("basic", job_ok_files);
	path_in(out, sizeof(out), "basic", RENDERING_OUTPUT);
	probe_file(out, &p);
	ck_assert_int_eq(p.vcodec, AV_CODEC_ID_H264);
	ck_assert_int_eq(p.acodec, AV_CODEC_ID_AAC);
	ck_assert_int_eq(p.width, 320);
	ck_assert_int_eq(p.height, 180);
	ck_assert_int_eq(p.fps.num, 30);
	ck_assert_int_eq(p.fps.den, 1);
	ck_assert_int_eq(p.color_space, AVCOL_SPC_BT709);
	ck_assert_int_eq(p.arate, 48000);
	ck_assert_int_eq(p.achannels, 2);
	ck_assert_double_eq_tol(p.vdur, 6.0, 1.0 / 30);
	ck_assert_double_eq_tol(p.adur, p.vdur, 1.0 / 30);
	box_order(out, &moov, &mdat);
	ck_assert_int_ge(moov, 0);
	ck_assert_int_gt(mdat, moov);
	contact_dims("basic", &w, &h);
	ck_assert_int_eq(w, CONTACT_COLS * CONTACT_TILE_W);
	ck_assert_int_eq(h, 3 * (CONTACT_BAR_H + 180));
}
END_TEST

/* 16:9 at 25 fps becomes 9:16 at 30 fps by cropping the middle. */
START_TEST(test_conform_crop)
{
	const struct seg segs[] = {{0.0, 3.0, 0.0, "none", 0.0}};
	struct plan_opts o = plan_default;
	struct rgb m[MAX_FRAMES];
	char out[256];
	struct probe p;
	int w, h, n;

	o.source = src_mp4;
	o.width = 180, o.height = 320, o.mode = "crop";
	o.cx = 109, o.cy = 0, o.cw = 102, o.ch = 180;
	write_job("crop", &o, segs, 1, CUBE_IDENTITY);
	render_ok("crop", src_mp4);
	path_in(out, sizeof(out), "crop", RENDERING_OUTPUT);
	probe_file(out, &p);
	ck_assert_int_eq(p.width, 180);
	ck_assert_int_eq(p.height, 320);
	ck_assert_int_eq(p.fps.num, 30);
	ck_assert_int_eq(p.fps.den, 1);
	ck_assert(p.sar.num == 0 || p.sar.num == p.sar.den);
	n = frame_means(out, 0.0, 1.0, m);
	ck_assert_int_eq(n, 90);
	ck_assert_double_eq_tol(m[n - 1].t, 89.0 / 30, 1e-3);
	contact_dims("crop", &w, &h);
	ck_assert_int_eq(h, 2 * (CONTACT_BAR_H + 180) + CONTACT_BAR_H + 568);
}
END_TEST

static double
channel(const struct rgb *c, int k)
{
	return k == 0 ? c->r : k == 1 ? c->g : c->b;
}

/* Sets edit.segments[i].zoom of job's plan.json. */
static void
plan_set_zoom(const char *job, int i, double zoom)
{
	char path[256];
	json_t *plan, *seg;

	path_in(path, sizeof(path), job, "plan.json");
	ck_assert_ptr_nonnull(plan = json_load_file(path, 0, NULL));
	seg = json_array_get(
	    json_object_get(json_object_get(plan, "edit"), "segments"),
	    (size_t)i);
	ck_assert_int_eq(json_object_set_new(seg, "zoom", json_real(zoom)), 0);
	ck_assert_int_eq(json_dump_file(plan, path, JSON_INDENT(2)), 0);
	json_decref(plan);
}

/*
 * A punch-in shows the centred 1/zoom of the picture, as ffmpeg's crop
 * and scale of the same source frames do, and only in its own segment: a
 * jump with no skip between the whole frame and a 1.25 punch-in.
 */
START_TEST(test_punch_in)
{
	const struct seg segs[] = {
	    {0.0, 1.0, 0.0, "none", 0.0}, {1.0, 2.0, 1.0, "cut", 0.0}};
	const char *ref_args[] = {"-i", src_mp4, "-t", "2", "-vf",
	    "crop=256:144,scale=320:180", X264, NULL};
	static struct rgb out[5][MAX_FRAMES], ref[5][MAX_FRAMES];
	struct plan_opts o = plan_default;
	char path[256], ref_mp4[256];
	double worst = 0.0, whole = 0.0, d;
	int b, i, k, n = 0, nr = 0;

	o.source = src_mp4;
	o.fps = 25;
	write_job("punch", &o, segs, 2, CUBE_IDENTITY);
	plan_set_zoom("punch", 1, 1.25);
	render_ok("punch", src_mp4);
	media_gen("punch_ref.mp4", ref_args);
	media_path(ref_mp4, sizeof(ref_mp4), "punch_ref.mp4");
	path_in(path, sizeof(path), "punch", RENDERING_OUTPUT);
	for (b = 0; b < 5; b++) {
		n = frame_means(path, b / 5.0, (b + 1) / 5.0, out[b]);
		nr = frame_means(ref_mp4, b / 5.0, (b + 1) / 5.0, ref[b]);
	}
	ck_assert_int_eq(n, 50);
	ck_assert_int_eq(nr, 50);
	for (i = 0; i < n; i++)
		for (b = 0; b < 5; b++)
			for (k = 0; k < 3; k++) {
				d = fabs(channel(&out[b][i], k) -
					 channel(&ref[b][i], k));
				if (i >= 25)
					worst = fmax(worst, d);
				else
					whole = fmax(whole, d);
			}
	printf("punch-in: band means within %.1f of ffmpeg's crop, the "
	       "whole frame %.1f away\n",
	    worst, whole);
	ck_assert_double_le(worst, 4.0);
	ck_assert_double_ge(whole, 10.0);
}
END_TEST

/*
 * The whole 16:9 source placed in a 9:16 frame with conform mode: the
 * band above the picture into top, the picture's middle into mid.
 */
static int
render_placed(const char *mode, struct rgb *top, struct rgb *mid)
{
	const struct seg segs[] = {{0.0, 2.0, 0.0, "none", 0.0}};
	struct plan_opts o = plan_default;
	char out[256];
	int n;

	o.source = src_mp4;
	o.width = 180, o.height = 320, o.mode = mode;
	o.cx = 0, o.cy = 109, o.cw = 180, o.ch = 102;
	write_job(mode, &o, segs, 1, CUBE_IDENTITY);
	render_ok(mode, src_mp4);
	path_in(out, sizeof(out), mode, RENDERING_OUTPUT);
	n = frame_means(out, 0.0, 0.3, top);
	ck_assert_int_eq(frame_means(out, 0.4, 0.6, mid), n);
	ck_assert_int_gt(n, 0);
	return n;
}

/* pad: black above and below the picture. */
START_TEST(test_conform_pad)
{
	struct rgb top[MAX_FRAMES], mid[MAX_FRAMES];
	int n = render_placed("pad", top, mid);

	for (int i = 0; i < n; i++) {
		ck_assert_double_lt(top[i].r + top[i].g + top[i].b, 10.0);
		ck_assert_double_gt(mid[i].r + mid[i].g + mid[i].b, 150.0);
	}
}
END_TEST

/*
 * fill: the same placement, over the picture itself blurred and dimmed:
 * above and below it is neither black nor as bright as the picture.
 */
START_TEST(test_conform_fill)
{
	struct rgb top[MAX_FRAMES], mid[MAX_FRAMES];
	int n = render_placed("fill", top, mid);
	double t, m;

	for (int i = 0; i < n; i++) {
		t = top[i].r + top[i].g + top[i].b;
		m = mid[i].r + mid[i].g + mid[i].b;
		ck_assert_double_gt(t, 40.0);
		ck_assert_double_lt(t, 0.8 * m);
	}
	printf("fill: band above the picture %.0f (sum of RGB means), the "
	       "picture %.0f\n",
	    top[0].r + top[0].g + top[0].b, mid[0].r + mid[0].g + mid[0].b);
}
END_TEST

/* Swapping red and blue swaps the mean red and blue of every frame. */
START_TEST(test_lut_applied)
{
	const struct seg segs[] = {{1.0, 3.0, 0.0, "none", 0.0}};
	struct plan_opts o = plan_default;
	struct rgb id[MAX_FRAMES], sw[MAX_FRAMES], up[MAX_FRAMES];
	char out[256];
	int n, i;

	o.source = src_mp4;
	o.fps = 25;
	o.quality = "high";
	write_job("lut_id", &o, segs, 1, CUBE_IDENTITY);
	write_job("lut_swap", &o, segs, 1, CUBE_SWAP_RB);
	write_job("lut_red", &o, segs, 1, CUBE_RED_UP);
	render_ok("lut_id", src_mp4);
	render_ok("lut_swap", src_mp4);
	render_ok("lut_red", src_mp4);
	path_in(out, sizeof(out), "lut_id", RENDERING_OUTPUT);
	n = frame_means(out, 0.0, 1.0, id);
	path_in(out, sizeof(out), "lut_swap", RENDERING_OUTPUT);
	ck_assert_int_eq(frame_means(out, 0.0, 1.0, sw), n);
	path_in(out, sizeof(out), "lut_red", RENDERING_OUTPUT);
	ck_assert_int_eq(frame_means(out, 0.0, 1.0, up), n);
	ck_assert_int_eq(n, 50);
	for (i = 0; i < n; i++) {
		ck_assert_double_eq_tol(sw[i].r, id[i].b, 4.0);
		ck_assert_double_eq_tol(sw[i].b, id[i].r, 4.0);
		ck_assert_double_eq_tol(sw[i].g, id[i].g, 3.0);
		ck_assert_double_gt(up[i].r, id[i].r + 15.0);
		ck_assert_double_eq_tol(up[i].b, id[i].b, 4.0);
	}
}
END_TEST

/* Index of the first frame that is more blue than red. */
static int
first_blue(const struct rgb *m, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (m[i].b > m[i].r)
			return i;
	}
	return -1;
}

/* Time of the first 10 ms window over half the level at ref_s. */
static double
onset_s(const struct loud *l, double ref_s)
{
	double half = 0.5 * l->rms[(size_t)(ref_s * 100)];
	size_t i;

	for (i = 0; i < l->nwin; i++) {
		if (l->rms[i] > half)
			return i / 100.0;
	}
	return -1.0;
}

/*
 * Red then blue, joined by a cut across a 3.5 s gap that the stage seeks
 * over: the first blue frame and the tone (which starts with the blue
 * half of the source) both start at 1.0 s in the output.
 */
START_TEST(test_cut_sync_and_seek)
{
	const struct seg segs[] = {
	    {0.5, 1.5, 0.0, "none", 0.0}, {5.0, 7.0, 1.0, "cut", 0.0}};
	struct plan_opts o = plan_default;
	struct rgb m[MAX_FRAMES];
	struct stage_ctx ctx;
	struct loud l;
	char out[256];
	double lufs, tp;
	struct probe p;
	int n;

	o.source = rb_mp4;
	write_job("sync", &o, segs, 2, CUBE_IDENTITY);
	ck_assert_int_eq(run_stage("sync", rb_mp4, &ctx), STAGE_OK);
	ck_assert_int_ge(
	    json_integer_value(json_object_get(ctx.result, "seeks")), 1);
	json_decref(ctx.result);
	path_in(out, sizeof(out), "sync", RENDERING_OUTPUT);
	n = frame_means(out, 0.0, 1.0, m);
	ck_assert_int_eq(n, 90);
	ck_assert_int_eq(first_blue(m, n), 30);
	ck_assert_double_gt(m[29].r, 200.0);
	ck_assert_double_gt(m[30].b, 200.0);
	measure_audio(out, &l, &lufs, &tp);
	printf("sync: first blue frame at %.3f s, tone at %.3f s\n",
	    m[first_blue(m, n)].t, onset_s(&l, 2.0));
	ck_assert_double_eq_tol(onset_s(&l, 2.0), 1.0, 1.0 / 30);
	ck_assert_double_lt(l.rms[50], 1e-3);
	probe_file(out, &p);
	ck_assert_double_eq_tol(p.adur, p.vdur, 1.0 / 30);
	ck_assert_double_eq_tol((double)l.frames / 48000, 3.0, 1.0 / 30);
}
END_TEST

/*
 * The style-match report on black and white shots cut together: plan.json
 * is given a reference (a mid-grey template, a dark reddish source), and
 * the report's figures are checked against what the output is: three
 * cuts, half black and half white, and the loudness and peak this suite
 * measures on the decoded file.
 */
START_TEST(test_report_figures)
{
	const struct seg segs[] = {{0.5, 1.5, 0.0, "none", 0.0},
	    {2.5, 3.5, 1.0, "cut", 0.0}, {4.5, 5.5, 2.0, "cut", 0.0},
	    {6.5, 7.5, 3.0, "cut", 0.0}};
	struct plan_opts o = plan_default;
	char path[256];
	json_t *plan, *rep, *col;
	struct loud l;
	double lufs, tp;

	o.source = bw_mp4;
	write_job("report", &o, segs, 4, CUBE_IDENTITY);
	plan = load_plan("report", path, sizeof(path));
	json_object_set_new(plan, "reference",
	    json_pack("{s:{s:{s:[f,f,f]}, s:[f,f]}, s:{s:{s:[f,f,f]}}, s:b}",
		"template", "colour", "lab_mean", 50.0, 0.0, 0.0,
		"shot_lengths_s", 1.0, 2.0, "source", "colour", "lab_mean",
		30.0, 20.0, 10.0, "soundtrack_music", 0));
	save_plan(plan, path);
	render_ok("report", bw_mp4);
	path_in(path, sizeof(path), "report", "report.json");
	rep = json_load_file(path, 0, NULL);
	ck_assert_ptr_nonnull(rep);
	col = json_object_get(rep, "colour");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(rep, "frames")), 120);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(rep, "cuts"), "delivered")),
	    3);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(rep, "transitions"), "cut")),
	    3);
	ck_assert_double_eq_tol(
	    json_number_value(
		json_array_get(json_object_get(col, "output_lab_mean"), 0)),
	    50.0, 1.0);
	ck_assert_double_gt(json_number_value(json_object_get(
				json_object_get(col, "cie76"), "reduction")),
	    0.9);
	measure_audio(path_in_out("report"), &l, &lufs, &tp);
	ck_assert_double_eq_tol(
	    json_number_value(json_object_get(
		json_object_get(rep, "loudness"), "integrated_lufs")),
	    lufs, 0.5);
	ck_assert_double_le(
	    json_number_value(json_object_get(
		json_object_get(rep, "loudness"), "true_peak_dbtp")),
	    -1.0 + 0.01);
	ck_assert(json_is_false(json_object_get(
	    json_object_get(rep, "beats"), "soundtrack_music")));
	ck_assert_int_gt(json_integer_value(json_object_get(
			     json_object_get(rep, "decode"), "packets")),
	    0);
	json_decref(rep);
}
END_TEST

/*
 * soundtrack=template: the output's audio is the template's from its time
 * 0 (rb.mp4: silence, then the tone from 4 s), not the source's steady
 * tone, across the cut, and fades out over the last second.
 */
START_TEST(test_template_soundtrack)
{
	const struct seg segs[] = {
	    {0.5, 3.5, 0.0, "none", 0.0}, {4.5, 7.5, 3.0, "cut", 0.0}};
	struct plan_opts o = plan_default;
	char path[256];
	json_t *plan;
	struct loud l;
	double lufs, tp;

	o.source = bw_mp4;
	write_job("soundtrack", &o, segs, 2, CUBE_IDENTITY);
	plan = load_plan("soundtrack", path, sizeof(path));
	json_object_set_new(
	    json_object_get(plan, "template"), "path", json_string(rb_mp4));
	json_object_set_new(json_object_get(plan, "audio"), "soundtrack",
	    json_string("template"));
	save_plan(plan, path);
	render_ok("soundtrack", bw_mp4);
	measure_audio(path_in_out("soundtrack"), &l, &lufs, &tp);
	printf("template soundtrack: tone from %.2f s, level %.4f at 2 s, "
	       "%.4f at 4.5 s, %.4f at 5.95 s\n",
	    onset_s(&l, 4.5), l.rms[200], l.rms[450], l.rms[595]);
	ck_assert_double_eq_tol((double)l.frames / 48000, 6.0, 1.0 / 30);
	ck_assert_double_lt(l.rms[200], 1e-3);
	ck_assert_double_eq_tol(onset_s(&l, 4.5), 4.0, 0.03);
	ck_assert_double_lt(l.rms[595], 0.2 * l.rms[450]);
	ck_assert_double_le(tp, -1.0);
}
END_TEST

/* Through black: the frames at the cut are black, sound dips to nothing. */
START_TEST(test_fade_through_black)
{
	const struct seg segs[] = {
	    {0.5, 3.0, 0.0, "none", 0.0}, {4.5, 7.0, 2.5, "fade", 0.6}};
	struct plan_opts o = plan_default;
	struct rgb m[MAX_FRAMES];
	struct loud l;
	char out[256];
	double lufs, tp;
	int n;

	o.source = rb_mp4;
	write_job("fade", &o, segs, 2, CUBE_IDENTITY);
	render_ok("fade", rb_mp4);
	path_in(out, sizeof(out), "fade", RENDERING_OUTPUT);
	n = frame_means(out, 0.0, 1.0, m);
	ck_assert_int_eq(n, 150);
	/* 0.3 s (9 frames) out of red into black, then into blue. */
	ck_assert_double_lt(m[74].r + m[74].g + m[74].b, 12.0);
	ck_assert_double_lt(m[75].r + m[75].g + m[75].b, 12.0);
	ck_assert_double_gt(m[70].r, 40.0);
	ck_assert_double_lt(m[70].r, 200.0);
	ck_assert_double_gt(m[66].r, 200.0);
	ck_assert_double_gt(m[84].b, 200.0);
	measure_audio(out, &l, &lufs, &tp);
	/* The tone fades in over 0.3 s from 2.5 s. */
	ck_assert_double_lt(l.rms[251], 0.2 * l.rms[400]);
	ck_assert_double_gt(l.rms[400], 0.05);
}
END_TEST

/* A 0.8 s dissolve: halfway, half red and half blue; sound cross-fades. */
START_TEST(test_dissolve_blends)
{
	const struct seg segs[] = {
	    {0.5, 3.0, 0.0, "none", 0.0}, {4.5, 7.0, 1.7, "dissolve", 0.8}};
	struct plan_opts o = plan_default;
	struct rgb m[MAX_FRAMES];
	struct loud l;
	char out[256];
	double lufs, tp;
	struct probe p;
	int n;

	o.source = rb_mp4;
	write_job("dissolve", &o, segs, 2, CUBE_IDENTITY);
	render_ok("dissolve", rb_mp4);
	path_in(out, sizeof(out), "dissolve", RENDERING_OUTPUT);
	probe_file(out, &p);
	ck_assert_double_eq_tol(p.vdur, 4.2, 1.0 / 30);
	n = frame_means(out, 0.0, 1.0, m);
	ck_assert_int_eq(n, 126);
	/* Overlap: frames 51..74; 63 is in the middle. */
	ck_assert_double_gt(m[50].r, 200.0);
	ck_assert_double_lt(m[50].b, 30.0);
	ck_assert_double_eq_tol(m[63].r, 128.0, 30.0);
	ck_assert_double_eq_tol(m[63].b, 128.0, 30.0);
	ck_assert_double_gt(m[56].r, m[56].b);
	ck_assert_double_lt(m[70].r, m[70].b);
	ck_assert_double_gt(m[75].b, 200.0);
	measure_audio(out, &l, &lufs, &tp);
	ck_assert_double_lt(l.rms[172], 0.25 * l.rms[300]);
	ck_assert_double_eq_tol(
	    l.rms[210], 0.5 * l.rms[300], 0.15 * l.rms[300]);
	ck_assert_double_gt(l.rms[246], 0.8 * l.rms[300]);
}
END_TEST

/* Renders 5 s of the tone source by plan o as job; its loudness, peak. */
static void
render_tone(
    const char *job, const struct plan_opts *o, double *lufs, double *tp)
{
	const struct seg segs[] = {{0.5, 5.5, 0.0, "none", 0.0}};
	struct plan_opts t = *o;
	struct loud l;
	char out[256];

	t.source = src_mp4;
	t.width = 160, t.height = 90;
	write_job(job, &t, segs, 1, CUBE_IDENTITY);
	render_ok(job, src_mp4);
	path_in(out, sizeof(out), job, RENDERING_OUTPUT);
	measure_audio(out, &l, lufs, tp);
	printf("%s: %.2f LUFS, true peak %.2f dBTP\n", job, *lufs, *tp);
}

/* +6 dB moves the loudness by 6 dB; +20 dB stays under -1 dBTP. */
START_TEST(test_gain_and_limiter)
{
	struct plan_opts o = plan_default;
	double l0, l6, l20, tp0, tp6, tp20;
	const char *jobs[] = {"gain0", "gain6", "gain20"};
	const double gains[] = {0.0, 6.0, 20.0};
	double *lu[] = {&l0, &l6, &l20}, *tp[] = {&tp0, &tp6, &tp20};
	int i;

	for (i = 0; i < 3; i++) {
		o.gain = gains[i];
		render_tone(jobs[i], &o, lu[i], tp[i]);
	}
	ck_assert_double_eq_tol(l6 - l0, 6.0, 1.0);
	ck_assert_double_eq_tol(tp6 - tp0, 6.0, 1.0);
	ck_assert_double_le(tp20, -1.0);
	ck_assert_double_gt(l20 - l0, 15.0);
}
END_TEST

/*
 * The plan's gain is a guess from the whole source: the render lands the
 * plan's target loudness itself (the source is at -20.7 LUFS), within
 * RPEAK_GAIN_FIX_DB of the planned gain.
 */
START_TEST(test_loudness_target)
{
	const char *jobs[] = {"lufs30", "lufs12", "lufs45"};
	const double targets[] = {-30.0, -12.0, -45.0};
	const double want[] = {-30.0, -12.0, -20.7 - RPEAK_GAIN_FIX_DB};
	struct plan_opts o = plan_default;
	double lufs, tp;
	int i;

	for (i = 0; i < 3; i++) {
		o.target_lufs = targets[i];
		render_tone(jobs[i], &o, &lufs, &tp);
		ck_assert_double_eq_tol(lufs, want[i], RPEAK_LOUDNESS_TOL_LU);
		ck_assert_double_le(tp, -1.0);
	}
}
END_TEST

/*
 * The worst case for AAC overshoot: pink noise driven 20 dB into the
 * limiter, at 128 kbit/s, still decodes under -1 dBTP.
 */
START_TEST(test_limiter_noise)
{
	const struct seg segs[] = {{0.2, 3.8, 0.0, "none", 0.0}};
	struct plan_opts o = plan_default;
	double lufs, tp;
	struct loud l;
	char out[256];

	o.source = noise_mp4;
	o.width = 160, o.height = 90, o.gain = 20.0;
	o.audio_bitrate = 128000;
	write_job("noise20", &o, segs, 1, CUBE_IDENTITY);
	render_ok("noise20", noise_mp4);
	path_in(out, sizeof(out), "noise20", RENDERING_OUTPUT);
	measure_audio(out, &l, &lufs, &tp);
	printf("pink noise +20 dB: %.2f LUFS, true peak %.2f dBTP\n", lufs, tp);
	ck_assert_double_le(tp, -1.0);
	ck_assert_double_gt(lufs, -12.0);
}
END_TEST

START_TEST(test_video_only)
{
	const struct seg segs[] = {
	    {0.0, 2.0, 0.0, "none", 0.0}, {3.0, 5.0, 2.0, "cut", 0.0}};
	struct plan_opts o = plan_default;
	char out[256];
	struct probe p;

	o.source = silent_mp4;
	o.audio = false;
	write_job("silent", &o, segs, 2, CUBE_RED_UP);
	render_ok("silent", silent_mp4);
	path_in(out, sizeof(out), "silent", RENDERING_OUTPUT);
	probe_file(out, &p);
	ck_assert_int_eq(p.vcodec, AV_CODEC_ID_H264);
	ck_assert_int_eq(p.acodec, 0);
	ck_assert_double_eq_tol(p.vdur, 4.0, 1.0 / 30);
}
END_TEST

/*
 * Cut short (index in front or at the end) or garbled in the middle: no
 * output at all.
 */
START_TEST(test_damaged_source)
{
	const struct seg segs[] = {
	    {0.0, 2.0, 0.0, "none", 0.0}, {5.0, 7.5, 2.0, "cut", 0.0}};
	const char *names[] = {
	    "garbled.mp4", "trunc_fast.mp4", "trunc_end.mp4"};
	const char *jobs[] = {"garbled", "trunc_fast", "trunc_end"};
	struct plan_opts o = plan_default;
	struct stage_ctx ctx;
	char src[256];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(src, sizeof(src), "%s/%s", media_dir(), names[i]);
		o.source = src;
		write_job(jobs[i], &o, segs, 2, CUBE_IDENTITY);
		ck_assert_int_eq(run_stage(jobs[i], src, &ctx), STAGE_E_DATA);
		ck_assert_str_ne(ctx.error, "");
		printf("%s: %s\n", jobs[i], ctx.error);
		ck_assert_ptr_nonnull(strstr(ctx.error, i == 0	 ? "damaged"
							: i == 1 ? "truncated"
								 : "mp4"));
		dir_holds(jobs[i], job_failed_files);
	}
	ck_assert_ptr_nonnull(strstr(ctx.error, "trunc_end.mp4"));
}
END_TEST

START_TEST(test_missing_inputs)
{
	const struct seg segs[] = {{0.0, 2.0, 0.0, "none", 0.0}};
	const char *only_plan[] = {"plan.json", NULL};
	struct plan_opts o = plan_default;
	struct stage_ctx ctx;
	char path[256];

	snprintf(path, sizeof(path), "%s/empty", media_dir());
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(run_stage("empty", src_mp4, &ctx), STAGE_E_NOINPUT);
	ck_assert_ptr_nonnull(strstr(ctx.error, "plan.json"));
	o.source = src_mp4;
	write_job("nograde", &o, segs, 1, -1);
	ck_assert_int_eq(run_stage("nograde", src_mp4, &ctx), STAGE_E_NOINPUT);
	ck_assert_ptr_nonnull(strstr(ctx.error, "grade.cube"));
	dir_holds("nograde", only_plan);
	write_job("nosource", &o, segs, 1, CUBE_IDENTITY);
	snprintf(path, sizeof(path), "%s/gone.mp4", media_dir());
	ck_assert_int_eq(run_stage("nosource", path, &ctx), STAGE_E_NOINPUT);
	dir_holds("nosource", job_failed_files);
}
END_TEST

START_TEST(test_bad_plans)
{
	const struct seg overlap[] = {
	    {0.0, 3.0, 0.0, "none", 0.0}, {2.0, 4.0, 3.0, "cut", 0.0}};
	const struct seg long_dissolve[] = {
	    {0.0, 3.0, 0.0, "none", 0.0}, {3.5, 7.0, 0.5, "dissolve", 2.5}};
	const struct seg gap[] = {
	    {0.0, 2.0, 0.0, "none", 0.0}, {3.0, 5.0, 2.5, "cut", 0.0}};
	struct plan_opts o = plan_default;
	struct stage_ctx ctx;

	o.source = src_mp4;
	write_job("overlap", &o, overlap, 2, CUBE_IDENTITY);
	ck_assert_int_eq(run_stage("overlap", src_mp4, &ctx), STAGE_E_DATA);
	ck_assert_ptr_nonnull(strstr(ctx.error, "inside segment 0"));
	write_job("longdiss", &o, long_dissolve, 2, CUBE_IDENTITY);
	ck_assert_int_eq(run_stage("longdiss", src_mp4, &ctx), STAGE_E_DATA);
	ck_assert_ptr_nonnull(strstr(ctx.error, "dissolve"));
	write_job("gap", &o, gap, 2, CUBE_IDENTITY);
	ck_assert_int_eq(run_stage("gap", src_mp4, &ctx), STAGE_E_DATA);
	ck_assert_ptr_nonnull(strstr(ctx.error, "segment 1 starts"));
	write_job("zoomout", &o, overlap, 1, CUBE_IDENTITY);
	plan_set_zoom("zoomout", 0, 0.8);
	ck_assert_int_eq(run_stage("zoomout", src_mp4, &ctx), STAGE_E_DATA);
	ck_assert_ptr_nonnull(strstr(ctx.error, "zoom 0.8"));
	dir_holds("gap", job_failed_files);
}
END_TEST

/* The documented quality table (docs/stages/rendering.md). */
START_TEST(test_quality_table)
{
	const char *preset;
	int crf;

	ck_assert_int_eq(rplan_quality("low", &preset, &crf), 0);
	ck_assert_str_eq(preset, "veryfast");
	ck_assert_int_eq(crf, 28);
	ck_assert_int_eq(rplan_quality("medium", &preset, &crf), 0);
	ck_assert_str_eq(preset, "veryfast");
	ck_assert_int_eq(crf, 23);
	ck_assert_int_eq(rplan_quality("high", &preset, &crf), 0);
	ck_assert_str_eq(preset, "faster");
	ck_assert_int_eq(crf, 20);
	ck_assert_int_eq(rplan_quality("ultra", &preset, &crf), -1);
}
END_TEST

/*
 * The limiter alone: noise 20 dB over a -3 dBTP ceiling comes out with no
 * sample or 4x-interpolated peak above it; a quiet tone passes untouched,
 * only delayed.
 */
START_TEST(test_limiter_exact)
{
	enum { RATE = 48000, N = RATE * 3 };
	float *x = xcalloc(2 * N, sizeof(float)), *y = xcalloc(2 * N, 4);
	struct lim *l = lim_new(RATE, 2, -3.0);
	double b = 0.0, peak = 0.0, tp, tpmax = 0.0;
	uint32_t seed = 12345u;
	ebur128_state *st;
	int i, lat, c;

	ck_assert_ptr_nonnull(l);
	lat = lim_latency(l);
	for (i = 0; i < N; i++) {
		seed = seed * 1664525u + 1013904223u;
		b = 0.97 * b + ((seed >> 8) / 16777216.0 - 0.5);
		x[2 * i] = (float)(3.0 * b);
		x[2 * i + 1] = (float)(-2.0 * b);
	}
	lim_process(l, x, N);
	for (i = lat; i < N; i++)
		peak = fmax(peak, fmax(fabs(x[2 * i]), fabs(x[2 * i + 1])));
	ck_assert_double_le(20.0 * log10(peak), -3.0 + 1e-3);
	st = ebur128_init(2, RATE, EBUR128_MODE_TRUE_PEAK);
	ck_assert_int_eq(ebur128_add_frames_float(st, x + 2 * lat, N - lat), 0);
	for (c = 0; c < 2; c++) {
		ck_assert_int_eq(ebur128_true_peak(st, (unsigned)c, &tp), 0);
		tpmax = fmax(tpmax, tp);
	}
	ebur128_destroy(&st);
	ck_assert_double_le(20.0 * log10(tpmax), -3.0 + 0.05);
	lim_free(l);
	l = lim_new(RATE, 2, -3.0);
	for (i = 0; i < N; i++)
		y[2 * i] = y[2 * i + 1] =
		    (float)(0.3 * sin(2 * M_PI * 440.0 * i / RATE));
	memcpy(x, y, sizeof(float) * 2 * N);
	lim_process(l, x, N);
	for (i = lat; i < N; i++)
		ck_assert_float_eq(x[2 * i], y[2 * (i - lat)]);
	ck_assert_double_eq(lim_min_gain(l), 1.0);
	lim_free(l);
	free(x);
	free(y);
}
END_TEST

static Suite *
stage_render_suite(void)
{
	Suite *s = suite_create("stage_render");
	TCase *tc = tcase_create("units");

	tcase_add_test(tc, test_quality_table);
	tcase_add_test(tc, test_limiter_exact);
	suite_add_tcase(s, tc);
	tc = tcase_create("render");

	tcase_add_unchecked_fixture(tc, setup_media, teardown_media);
	tcase_add_checked_fixture(tc, quiet, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_basic_output);
	tcase_add_test(tc, test_punch_in);
	tcase_add_test(tc, test_conform_crop);
	tcase_add_test(tc, test_conform_pad);
	tcase_add_test(tc, test_conform_fill);
	tcase_add_test(tc, test_lut_applied);
	tcase_add_test(tc, test_cut_sync_and_seek);
	tcase_add_test(tc, test_report_figures);
	tcase_add_test(tc, test_template_soundtrack);
	tcase_add_test(tc, test_fade_through_black);
	tcase_add_test(tc, test_dissolve_blends);
	tcase_add_test(tc, test_gain_and_limiter);
	tcase_add_test(tc, test_loudness_target);
	tcase_add_test(tc, test_limiter_noise);
	tcase_add_test(tc, test_video_only);
	tcase_add_test(tc, test_damaged_source);
	tcase_add_test(tc, test_missing_inputs);
	tcase_add_test(tc, test_bad_plans);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stage_render_suite)

/*
 * Style fidelity on real pairs. Runs full jobs (template + source) from the
 * shared real-media corpus through a real reeld and reel-worker, then
 * measures each output independently of reel's own code, with the ffmpeg
 * program and aubio:
 *  - colour: mean CIELAB (D65) of template, source and output from 160x90
 *    rgb24 frames at 5 fps, leaving out frames that are flat black or
 *    white as video_analysis does (a title card has no grade; every
 *    frame's figure is printed too); CIE76 and CIEDE2000 distance of the
 *    source's and of the output's mean to the template's, and the
 *    reduction; also
 *    against the source's shots that the plan keeps, ungraded, which
 *    tells the grade from what the edit picked;
 *  - cut rate: cuts per minute by ffmpeg's scene score > 0.3, of the
 *    output and of the template, against style.json's cut_frequency and
 *    the plan's; and how many planned cuts the scene score sees;
 *  - cuts on beats: how many of the output's detected cuts, and of the
 *    plan's cuts, lie within BEAT_TOL_S of a beat that aubio's tracker
 *    finds in the output's audio (n/a when reel found no music in the
 *    source); the plan's own beats (the source's beats_s mapped through
 *    the segments) as reel's own check, in the details;
 *  - loudness: integrated loudness and true peak (ffmpeg ebur128) of the
 *    output against the plan's target_lufs and true_peak_limit_dbtp;
 *  - the job's wall time, from submission to its end.
 * It prints each pair's figures, then one Markdown table for the README.
 * usage: bench/quality [BUILD_DIR]     (from the repository's top)
 *   REEL_QUALITY_KEEP=1 keeps the temporary directory and its jobs;
 *   REEL_QUALITY_ONLY=TEXT runs the pairs whose name holds TEXT.
 *   The corpus is $REEL_SAMPLES/real-media, else ../shared/testdata/
 *   real-media; without it the bench says so and exits 0.
 */
#include <aubio/aubio.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_reeld.h"
#include "util.h"

extern char **environ;

/* reel's default encode, so the figures are what a user gets. */
#define QUALITY "medium"
/* A cut is on a beat within this: a frame at 25 fps, plus a little. */
#define BEAT_TOL_S 0.050
/* A planned cut counts as found by a detected one this close. */
#define FOUND_TOL_S 0.100
#define SCENE_THRESHOLD "0.3"
#define MAX_TIMES 4096
#define POLL_MS 50
#define AUBIO_RATE 44100
#define AUBIO_HOP 512
#define FRAME_PIXELS (160 * 90)
/* video_analysis's rule: a frame this share black or white has no grade. */
#define FLAT_SHARE 0.98

struct pair {
	const char *name; /* the label in the table */
	const char *tpl;  /* paths under real-media/ */
	const char *src;
	const char *music; /* NULL, or audio to put under src's picture */
	const char *why;   /* what the pair exercises */
};

/*
 * Real picture content, 10 s or longer, from different cameras, grades
 * and aspects. No video file of the corpus carries music (reel's
 * audio_analysis and aubio agree: BBB's and Sintel's excerpts are quiet
 * birds and speech), so the last pair puts a corpus music file under a
 * corpus video, stream-copied into a temporary file.
 */
static const struct pair pairs[] = {
    {"TV talk show -> green screen", "cuts/tsd_talkshow_5cuts.ts",
	"video/ae_man-on-green-screen.mp4", NULL,
	"5-cut template on one static shot"},
    {"BBB -> TV talk show", "video/mb_missing-keyframe-labels.ts",
	"cuts/tsd_talkshow_5cuts.ts", NULL,
	"animation's grade on broadcast TV"},
    {"Sintel 2.35:1 -> DivX camera", "video/mux_sintel-captions.ts",
	"video/los_test_msmpeg4v2.avi", NULL, "cross-aspect, silent source"},
    {"DivX camera -> BBB", "video/los_test_msmpeg4v2.avi",
	"video/mb_missing-keyframe-labels.ts", NULL, "template without audio"},
    {"green screen -> speech card", "video/ae_man-on-green-screen.mp4",
	"video/ae_example.mp4", NULL, "42 s flat-colour source, speech"},
    {"HEVC test card -> Sintel", "video/mb_video-h265.mp4",
	"video/mux_sintel-captions.ts", NULL,
	"full-range 1080p template, 2.35:1 source"},
    {"Sintel 2.35:1 -> TV talk show", "video/mux_sintel-captions.ts",
	"cuts/tsd_talkshow_5cuts.ts", NULL, "cross-aspect, source with cuts"},
    {"TV talk show -> BBB", "cuts/tsd_talkshow_5cuts.ts",
	"video/mb_missing-keyframe-labels.ts", NULL,
	"more cuts than the source"},
    {"TV talk show -> DivX camera + jazz", "cuts/tsd_talkshow_5cuts.ts",
	"video/los_test_msmpeg4v2.avi", "music/lib_vibe_ace.ogg",
	"music source: jump cuts on beats"},
    {"TV talk show -> BBB + jazz", "cuts/tsd_talkshow_5cuts.ts",
	"video/mb_missing-keyframe-labels.ts", "music/lib_vibe_ace.ogg",
	"music source, animation"},
    {"TV show (1 cut) -> TV talk show + jazz", "cuts/mb_tvshow_1cut_hevc.ts",
	"cuts/tsd_talkshow_5cuts.ts", "music/lib_vibe_ace.ogg",
	"music source with camera changes"},
};
#define NPAIRS (sizeof(pairs) / sizeof(pairs[0]))

struct lab {
	double l, a, b;
};

struct times {
	int n;
	double t[MAX_TIMES];
};

/* What one pair measured; NAN where a figure does not exist. */
struct row {
	bool ran;
	double wall;
	/* Means over the frames that carry a grade, and over every frame. */
	struct lab tpl, src, cut, out, tpl_all, src_all, out_all;
	double de76_before, de76_cut, de76_after, de00_before, de00_after;
	double de76_all_before, de76_all_after;
	double cpm_out, cpm_tpl_scene, cpm_tpl_style, cpm_plan, cpm_target;
	int cuts_out, cuts_planned, cuts_found;
	bool src_audio, src_music;
	/* cuts within BEAT_TOL_S of a beat: seen (detected) or planned */
	int seen_on_aubio, planned_on_aubio, planned_on_plan;
	double aubio_bpm, aubio_conf, aubio_src_bpm;
	double lufs, tp, target_lufs, tp_limit;
	int width, height;
	double out_dur;
};

static char dir[] = "/tmp/reel-quality.XXXXXX";
static char state_dir[256];

/*
 * Runs a shell command and returns its standard output. Paths go into the
 * command in single quotes, so they must not hold one.
 */
static FILE *__attribute__((format(printf, 1, 2))) command(const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	FILE *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		bench_die("command too long", fmt);
	p = popen(cmd, "r");
	if (p == NULL)
		bench_die("cannot run", cmd);
	return p;
}

static void
check_path(const char *path)
{
	if (strchr(path, '\'') != NULL)
		bench_die("a path holds a quote", path);
}

/* ---- colour ---- */

static double
srgb_linear(double c)
{
	c /= 255.0;
	return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double
lab_f(double t)
{
	return t > 216.0 / 24389.0 ? cbrt(t) : (24389.0 / 27.0 * t + 16) / 116;
}

/* One sRGB pixel to CIELAB, D65 white (IEC 61966-2-1 matrix). */
static struct lab
pixel_lab(const unsigned char px[3])
{
	double r = srgb_linear(px[0]), g = srgb_linear(px[1]);
	double b = srgb_linear(px[2]);
	double x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
	double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
	double z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;

	return (struct lab){116 * lab_f(y) - 16, 500 * (lab_f(x) - lab_f(y)),
	    200 * (lab_f(y) - lab_f(z))};
}

/*
 * The YCbCr matrix to decode a file with. ffmpeg takes an untagged file
 * as BT.601 whatever its size, while players (and reel) take HD as
 * BT.709; reel's output is tagged BT.709. Decoding an untagged HD
 * template as BT.601 would add a distance that no grade can remove.
 */
static const char *
matrix_of(const char *path)
{
	char line[256], cs[64] = "";
	int w = 0, h = 0;
	FILE *p = command("ffprobe -v error -select_streams v:0 -show_entries "
			  "stream=width,height,color_space -of csv=p=0 '%s'",
	    path);

	if (fgets(line, sizeof(line), p) != NULL)
		sscanf(line, "%d,%d,%63[^,\n]", &w, &h, cs);
	pclose(p);
	if (strcmp(cs, "bt709") == 0)
		return "bt709";
	if (strcmp(cs, "bt470bg") == 0 || strcmp(cs, "smpte170m") == 0)
		return "bt601";
	if (strcmp(cs, "fcc") == 0 || strcmp(cs, "smpte240m") == 0)
		return cs[0] == 'f' ? "fcc" : "smpte240m";
	if (strncmp(cs, "bt2020", 6) == 0)
		return "bt2020";
	return w >= 1280 || h > 576 ? "bt709" : "bt601";
}

/* Luma as video_analysis measures it for its flat-frame rule. */
static int
pixel_luma(const unsigned char px[3])
{
	return (54 * px[0] + 183 * px[1] + 19 * px[2] + 128) >> 8;
}

/* Sums of one 160x90 frame; true when it is all but flat black or white. */
static bool
frame_lab(const unsigned char *frame, double sum[3])
{
	int i, dark = 0, bright = 0, l;

	for (i = 0; i < FRAME_PIXELS; i++) {
		struct lab c = pixel_lab(frame + 3 * i);

		sum[0] += c.l;
		sum[1] += c.a;
		sum[2] += c.b;
		l = pixel_luma(frame + 3 * i);
		dark += l <= 25;
		bright += l >= 230;
	}
	return dark >= FLAT_SHARE * FRAME_PIXELS ||
	       bright >= FLAT_SHARE * FRAME_PIXELS;
}

static struct lab
lab_of(const double sum[3], double n)
{
	return (struct lab){sum[0] / n, sum[1] / n, sum[2] / n};
}

/*
 * The mean CIELAB of 160x90 frames at 5 fps, after the filters pre (a
 * chain ending in a comma, or ""): over the frames that are not flat black
 * or white (all frames when none is), the frames a grade can be judged
 * on, and over every frame into *all.
 */
static struct lab
mean_lab(const char *path, const char *pre, struct lab *all)
{
	static unsigned char frame[3 * FRAME_PIXELS];
	double sum[3] = {0, 0, 0}, kept[3] = {0, 0, 0}, n = 0, nkept = 0;
	FILE *p = command("ffmpeg -v error -i '%s' -an -sn -dn -vf \"%sfps=5,"
			  "scale=160:90:in_color_matrix=%s,format=rgb24\" "
			  "-f rawvideo -",
	    path, pre, matrix_of(path));

	while (fread(frame, 1, sizeof(frame), p) == sizeof(frame)) {
		double f[3] = {0, 0, 0};
		bool flat = frame_lab(frame, f);
		int j;

		for (j = 0; j < 3; j++) {
			sum[j] += f[j];
			kept[j] += flat ? 0 : f[j];
		}
		n += FRAME_PIXELS;
		nkept += flat ? 0 : FRAME_PIXELS;
	}
	if (pclose(p) != 0 || n < FRAME_PIXELS)
		bench_die("cannot decode frames of", path);
	*all = lab_of(sum, n);
	return nkept > 0 ? lab_of(kept, nkept) : *all;
}

static double
cie76(struct lab x, struct lab y)
{
	return sqrt((x.l - y.l) * (x.l - y.l) + (x.a - y.a) * (x.a - y.a) +
		    (x.b - y.b) * (x.b - y.b));
}

static double
hue_deg(double b, double a)
{
	double h;

	if (a == 0 && b == 0)
		return 0;
	h = atan2(b, a) * 180 / M_PI;
	return h < 0 ? h + 360 : h;
}

/* CIEDE2000 (Sharma, Wu and Dalal 2005), kL = kC = kH = 1. */
static double
ciede2000(struct lab x, struct lab y)
{
	double rad = M_PI / 180, c7, g, a1, a2, c1, c2, h1, h2, dh, hbar;
	double cbar, lbar, t, sl, sc, sh, rt, dl, dc, dhh;

	cbar = (hypot(x.a, x.b) + hypot(y.a, y.b)) / 2;
	c7 = pow(cbar, 7);
	g = 0.5 * (1 - sqrt(c7 / (c7 + pow(25, 7))));
	a1 = (1 + g) * x.a;
	a2 = (1 + g) * y.a;
	c1 = hypot(a1, x.b);
	c2 = hypot(a2, y.b);
	h1 = hue_deg(x.b, a1);
	h2 = hue_deg(y.b, a2);
	dh = h2 - h1;
	if (c1 * c2 == 0)
		dh = 0;
	else if (dh > 180)
		dh -= 360;
	else if (dh < -180)
		dh += 360;
	hbar = h1 + h2;
	if (c1 * c2 != 0) {
		if (fabs(h1 - h2) <= 180)
			hbar /= 2;
		else
			hbar = hbar < 360 ? (hbar + 360) / 2 : (hbar - 360) / 2;
	}
	dl = y.l - x.l;
	dc = c2 - c1;
	dhh = 2 * sqrt(c1 * c2) * sin(dh / 2 * rad);
	lbar = (x.l + y.l) / 2;
	cbar = (c1 + c2) / 2;
	t = 1 - 0.17 * cos((hbar - 30) * rad) + 0.24 * cos(2 * hbar * rad) +
	    0.32 * cos((3 * hbar + 6) * rad) -
	    0.20 * cos((4 * hbar - 63) * rad);
	sl = 1 + 0.015 * (lbar - 50) * (lbar - 50) /
		     sqrt(20 + (lbar - 50) * (lbar - 50));
	sc = 1 + 0.045 * cbar;
	sh = 1 + 0.015 * cbar * t;
	c7 = pow(cbar, 7);
	rt = -2 * sqrt(c7 / (c7 + pow(25, 7))) *
	     sin(60 * exp(-pow((hbar - 275) / 25, 2)) * rad);
	return sqrt(pow(dl / sl, 2) + pow(dc / sc, 2) + pow(dhh / sh, 2) +
		    rt * (dc / sc) * (dhh / sh));
}

/* ---- cuts, loudness, beats ---- */

static double
duration_of(const char *path)
{
	double d = NAN;
	FILE *p = command("ffprobe -v error -show_entries format=duration "
			  "-of csv=p=0 '%s'",
	    path);

	if (fscanf(p, "%lf", &d) != 1)
		d = NAN;
	pclose(p);
	return d;
}

/*
 * The times of frames whose scene score is over the threshold, from
 * ffmpeg's metadata filter ("frame:N pts:P pts_time:T" lines).
 */
static void
scene_cuts(const char *path, struct times *cuts)
{
	char line[512];
	const char *s;
	FILE *p = command("ffmpeg -v error -i '%s' -an -sn -dn -vf "
			  "\"select='gt(scene," SCENE_THRESHOLD
			  ")',metadata=print:file=-\" -f null -",
	    path);

	cuts->n = 0;
	while (fgets(line, sizeof(line), p) != NULL) {
		s = strstr(line, "pts_time:");
		if (s != NULL && cuts->n < MAX_TIMES)
			cuts->t[cuts->n++] = atof(s + 9);
	}
	if (pclose(p) != 0)
		bench_die("scene detection failed on", path);
}

static double
cuts_per_min(const char *path, int *count)
{
	static struct times cuts;

	scene_cuts(path, &cuts);
	if (count != NULL)
		*count = cuts.n;
	return 60.0 * cuts.n / duration_of(path);
}

/*
 * Integrated loudness and true peak from the summary ebur128 prints at the
 * end; its per-frame lines begin with the filter's name, the summary's
 * with spaces.
 */
static void
loudness(const char *path, double *lufs, double *tp)
{
	char line[512], key[32];
	double v;
	FILE *p = command("ffmpeg -hide_banner -nostats -i '%s' -vn -sn -dn "
			  "-af ebur128=peak=true -f null - 2>&1",
	    path);

	*lufs = *tp = NAN;
	while (fgets(line, sizeof(line), p) != NULL) {
		if (line[0] != ' ' || sscanf(line, " %31s %lf", key, &v) != 2)
			continue;
		if (strcmp(key, "I:") == 0)
			*lufs = v;
		else if (strcmp(key, "Peak:") == 0)
			*tp = v;
	}
	pclose(p);
}

/* Beat times of the file's audio by aubio's tempo tracker (mono 44.1k). */
static void
aubio_beats(const char *path, struct times *beats, double *bpm, double *conf)
{
	aubio_tempo_t *tempo =
	    new_aubio_tempo("default", 2 * AUBIO_HOP, AUBIO_HOP, AUBIO_RATE);
	fvec_t *in = new_fvec(AUBIO_HOP), *out = new_fvec(1);
	float buf[AUBIO_HOP];
	FILE *p = command("ffmpeg -v error -i '%s' -vn -sn -dn -ac 1 -ar %d "
			  "-f f32le -",
	    path, AUBIO_RATE);

	beats->n = 0;
	while (fread(buf, sizeof(float), AUBIO_HOP, p) == AUBIO_HOP) {
		for (int i = 0; i < AUBIO_HOP; i++)
			fvec_set_sample(in, buf[i], (uint_t)i);
		aubio_tempo_do(tempo, in, out);
		if (fvec_get_sample(out, 0) != 0 && beats->n < MAX_TIMES)
			beats->t[beats->n++] = aubio_tempo_get_last_s(tempo);
	}
	pclose(p);
	*bpm = aubio_tempo_get_bpm(tempo);
	*conf = aubio_tempo_get_confidence(tempo);
	del_fvec(in);
	del_fvec(out);
	del_aubio_tempo(tempo);
}

static bool
near_any(double t, const struct times *set, double tol)
{
	for (int i = 0; i < set->n; i++) {
		if (fabs(set->t[i] - t) <= tol)
			return true;
	}
	return false;
}

/* How many of the cuts lie within tol of a beat. */
static int
count_on(const struct times *cuts, const struct times *beats, double tol)
{
	int on = 0;

	for (int i = 0; i < cuts->n; i++)
		on += near_any(cuts->t[i], beats, tol);
	return on;
}

/* ---- the job's artifacts ---- */

static json_t *
load_json(const char *job, const char *name)
{
	char path[512];
	json_error_t err;
	json_t *j;

	snprintf(path, sizeof(path), "%s/jobs/%s/%s", state_dir, job, name);
	j = json_load_file(path, 0, &err);
	if (j == NULL)
		bench_die(path, err.text);
	return j;
}

static double
num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/*
 * The planned cuts in output time (a dissolve's at its middle), and the
 * source's beats mapped through the segments that show them.
 */
static void
plan_times(const json_t *segs, const json_t *beats_s, struct times *cuts,
    struct times *beats)
{
	const json_t *seg, *b;
	size_t i, k;

	cuts->n = beats->n = 0;
	json_array_foreach(segs, i, seg)
	{
		double s0 = num(seg, "src_start_s"), s1 = num(seg, "src_end_s");
		double o = num(seg, "out_start_s");
		const json_t *tr = json_object_get(seg, "transition_in");

		if (i > 0 && cuts->n < MAX_TIMES)
			cuts->t[cuts->n++] = o + num(tr, "duration_s") / 2;
		json_array_foreach(beats_s, k, b)
		{
			double t = json_number_value(b);

			if (t >= s0 && t < s1 && beats->n < MAX_TIMES)
				beats->t[beats->n++] = o + (t - s0);
		}
	}
}

/*
 * The filters that pick from the source what the plan shows, ungraded:
 * its segments (times from the first frame) and its crop of the upright,
 * square-pixel frame. The output's colour is compared with these shots
 * too, because an edit that keeps a brighter part of the source moves
 * the mean without any grade.
 */
static void
plan_filter(const json_t *plan, char *buf, size_t size)
{
	const json_t *conform =
	    json_object_get(json_object_get(plan, "output"), "conform");
	const json_t *segs =
	    json_object_get(json_object_get(plan, "edit"), "segments");
	const json_t *seg;
	size_t i, n;

	n = (size_t)snprintf(buf, size, "setpts=PTS-STARTPTS,select='");
	json_array_foreach(segs, i, seg)
	{
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0,
		    "%sbetween(t,%.3f,%.3f)", i > 0 ? "+" : "",
		    num(seg, "src_start_s"), num(seg, "src_end_s"));
	}
	n += (size_t)snprintf(
	    buf + n, n < size ? size - n : 0, "',scale='iw*sar':ih,setsar=1,");
	if (strcmp(json_string_value(json_object_get(conform, "mode")),
		"crop") == 0)
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0,
		    "crop=%d:%d:%d:%d,", (int)num(conform, "w"),
		    (int)num(conform, "h"), (int)num(conform, "x"),
		    (int)num(conform, "y"));
	if (n >= size)
		bench_die("too many segments", NULL);
}

/* Figures from plan.json, style.json and audio_analysis.json. */
static void
read_plan(const char *job, struct row *r, struct times *planned,
    struct times *plan_beats, char *filter, size_t size)
{
	json_t *plan = load_json(job, "plan.json");
	json_t *style = load_json(job, "style.json");
	json_t *aa = load_json(job, "audio_analysis.json");
	const json_t *edit = json_object_get(plan, "edit");
	const json_t *out = json_object_get(plan, "output");
	const json_t *audio = json_object_get(plan, "audio");
	const json_t *src = json_object_get(aa, "source");
	const json_t *segs = json_object_get(edit, "segments");

	r->width = (int)json_integer_value(json_object_get(out, "width"));
	r->height = (int)json_integer_value(json_object_get(out, "height"));
	r->out_dur = num(out, "duration_s");
	r->cpm_target = num(edit, "target_cut_frequency");
	r->cpm_plan = 60.0 * (double)(json_array_size(segs) - 1) / r->out_dur;
	r->cpm_tpl_style = num(style, "cut_frequency");
	r->src_audio = json_is_true(json_object_get(audio, "present"));
	r->target_lufs = num(audio, "target_lufs");
	r->tp_limit = num(audio, "true_peak_limit_dbtp");
	r->src_music = json_is_true(json_object_get(src, "music"));
	plan_times(segs, json_object_get(src, "beats_s"), planned, plan_beats);
	plan_filter(plan, filter, size);
	json_decref(plan);
	json_decref(style);
	json_decref(aa);
}

/* ---- reeld ---- */

static void
submit(const char *src_id, const char *tpl_id, char job[REEL_ID_SIZE])
{
	struct msg req;
	json_t *data;

	msg_init(&req, MSG_SUBMIT);
	str_copy(req.u.submit.video_id, src_id, REEL_ID_SIZE);
	str_copy(req.u.submit.template_id, tpl_id, REEL_ID_SIZE);
	str_copy(req.u.submit.config.kv[0].key, "quality", MSG_CONFIG_KEY_SIZE);
	str_copy(
	    req.u.submit.config.kv[0].value, QUALITY, MSG_CONFIG_VALUE_SIZE);
	req.u.submit.config.count = 1;
	data = bench_call(&req);
	str_copy(job, json_string_value(json_object_get(data, "job_id")),
	    REEL_ID_SIZE);
	json_decref(data);
}

/* Polls the job to its end; dies unless it completed. */
static void
wait_job(const char *job)
{
	enum job_status status;
	json_t *data = bench_wait(job, POLL_MS, &status);

	if (status != JOB_COMPLETED)
		bench_die("job did not complete",
		    json_string_value(json_object_get(
			json_object_get(data, "error"), "message")));
	json_decref(data);
}

/* ---- one pair ---- */

static double
reduction(double before, double after)
{
	return 100 * (1 - after / before);
}

static void
measure_colour(const char *tpl, const char *src, const char *out,
    const char *shots, struct row *r)
{
	struct lab cut_all;

	r->tpl = mean_lab(tpl, "", &r->tpl_all);
	r->src = mean_lab(src, "", &r->src_all);
	r->cut = mean_lab(src, shots, &cut_all);
	r->out = mean_lab(out, "", &r->out_all);
	r->de76_all_before = cie76(r->src_all, r->tpl_all);
	r->de76_all_after = cie76(r->out_all, r->tpl_all);
	r->de76_before = cie76(r->src, r->tpl);
	r->de76_cut = cie76(r->cut, r->tpl);
	r->de76_after = cie76(r->out, r->tpl);
	r->de00_before = ciede2000(r->src, r->tpl);
	r->de00_after = ciede2000(r->out, r->tpl);
}

static void
measure_cuts(const char *tpl, const char *out, const struct times *planned,
    struct times *cuts, struct row *r)
{
	scene_cuts(out, cuts);
	r->cuts_out = cuts->n;
	r->cpm_out = 60.0 * cuts->n / duration_of(out);
	r->cpm_tpl_scene = cuts_per_min(tpl, NULL);
	r->cuts_planned = planned->n;
	r->cuts_found = 0;
	for (int i = 0; i < planned->n; i++)
		r->cuts_found += near_any(planned->t[i], cuts, FOUND_TOL_S);
}

/*
 * Loudness of the output, and its cuts against the beats aubio finds in
 * its audio (and, for reel's own consistency, the plan's beats).
 */
static void
measure_audio(const char *src, const char *out, const struct times *cuts,
    const struct times *planned, const struct times *plan_beats, struct row *r)
{
	static struct times beats;
	double conf;

	r->lufs = r->tp = NAN;
	r->aubio_bpm = r->aubio_conf = r->aubio_src_bpm = NAN;
	if (!r->src_audio)
		return;
	loudness(out, &r->lufs, &r->tp);
	aubio_beats(src, &beats, &r->aubio_src_bpm, &conf);
	aubio_beats(out, &beats, &r->aubio_bpm, &r->aubio_conf);
	r->seen_on_aubio = count_on(cuts, &beats, BEAT_TOL_S);
	r->planned_on_aubio = count_on(planned, &beats, BEAT_TOL_S);
	r->planned_on_plan = count_on(planned, plan_beats, BEAT_TOL_S);
}

static void
print_colour(const struct row *r)
{
	printf("  mean Lab: template %.1f %.1f %.1f, source %.1f %.1f %.1f "
	       "(the plan's shots %.1f %.1f %.1f), output %.1f %.1f %.1f\n",
	    r->tpl.l, r->tpl.a, r->tpl.b, r->src.l, r->src.a, r->src.b,
	    r->cut.l, r->cut.a, r->cut.b, r->out.l, r->out.a, r->out.b);
	printf("  to template: CIE76 source %.2f (its shots %.2f) -> output "
	       "%.2f: %.0f%% less (%.0f%% on the same shots); CIEDE2000 %.2f "
	       "-> %.2f\n",
	    r->de76_before, r->de76_cut, r->de76_after,
	    reduction(r->de76_before, r->de76_after),
	    reduction(r->de76_cut, r->de76_after), r->de00_before,
	    r->de00_after);
	printf("  every frame, flat black and white ones too: template %.1f "
	       "%.1f %.1f, output %.1f %.1f %.1f; CIE76 %.2f -> %.2f: %.0f%% "
	       "less\n",
	    r->tpl_all.l, r->tpl_all.a, r->tpl_all.b, r->out_all.l,
	    r->out_all.a, r->out_all.b, r->de76_all_before, r->de76_all_after,
	    reduction(r->de76_all_before, r->de76_all_after));
}

static void
print_details(const struct row *r)
{
	printf("  job %.1f s; output %dx%d, %.2f s\n", r->wall, r->width,
	    r->height, r->out_dur);
	print_colour(r);
	printf("  cuts/min: output %.1f (%d by scene > %s), template %.1f "
	       "(scene) %.1f (style.json), plan %.1f (target %.1f); planned "
	       "cuts found %d/%d\n",
	    r->cpm_out, r->cuts_out, SCENE_THRESHOLD, r->cpm_tpl_scene,
	    r->cpm_tpl_style, r->cpm_plan, r->cpm_target, r->cuts_found,
	    r->cuts_planned);
	printf("  source audio %s, music %s (reel); aubio: source %.1f BPM, "
	       "output %.1f BPM (confidence %.2f)\n",
	    r->src_audio ? "yes" : "no", r->src_music ? "yes" : "no",
	    r->aubio_src_bpm, r->aubio_bpm, r->aubio_conf);
	printf("  cuts within %.0f ms of an aubio beat: seen %d/%d, planned "
	       "%d/%d; planned cuts on the plan's beats %d/%d\n",
	    BEAT_TOL_S * 1000, r->seen_on_aubio, r->cuts_out,
	    r->planned_on_aubio, r->cuts_planned, r->planned_on_plan,
	    r->cuts_planned);
	printf("  loudness: output %.1f LUFS (target %.1f), true peak %.1f "
	       "dBTP (limit %.1f)\n",
	    r->lufs, r->target_lufs, r->tp, r->tp_limit);
}

static void
corpus_path(const char *corpus, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", corpus, rel);
	check_path(buf);
}

/*
 * The source of a music pair: src's picture and music's audio, both
 * stream-copied (nothing re-encoded), as long as the shorter.
 */
static void
mux_music(const char *src, const char *music, char *buf, size_t size)
{
	static int n;
	FILE *p;

	snprintf(buf, size, "%s/muxed-%d.mkv", dir, n++);
	p = command("ffmpeg -v error -y -i '%s' -i '%s' -map 0:v:0 -map 1:a:0 "
		    "-c copy -shortest '%s'",
	    src, music, buf);
	if (pclose(p) != 0)
		bench_die("cannot mux", music);
}

static void
run_pair(const char *corpus, const struct pair *p, struct row *r)
{
	static struct times planned, plan_beats, cuts;
	static char shots[12288];
	char tpl[512], src[512], music[512], muxed[512], out[512];
	char tpl_id[REEL_ID_SIZE], src_id[REEL_ID_SIZE], job[REEL_ID_SIZE];
	int64_t t0;

	corpus_path(corpus, p->tpl, tpl, sizeof(tpl));
	corpus_path(corpus, p->src, src, sizeof(src));
	if (p->music != NULL) {
		corpus_path(corpus, p->music, music, sizeof(music));
		mux_music(src, music, muxed, sizeof(muxed));
		str_copy(src, muxed, sizeof(src));
	}
	bench_upload(tpl, tpl_id);
	bench_upload(src, src_id);
	t0 = clock_monotonic_us();
	submit(src_id, tpl_id, job);
	wait_job(job);
	r->wall = (clock_monotonic_us() - t0) / 1e6;
	snprintf(out, sizeof(out), "%s/jobs/%s/output.mp4", state_dir, job);
	read_plan(job, r, &planned, &plan_beats, shots, sizeof(shots));
	measure_colour(tpl, src, out, shots, r);
	measure_cuts(tpl, out, &planned, &cuts, r);
	measure_audio(src, out, &cuts, &planned, &plan_beats, r);
}

/* ---- the table ---- */

/* A figure to 0.1, or "n/a" where it does not exist. */
static const char *
fmt1(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "n/a");
	else
		snprintf(buf, size, "%.1f", v);
	return buf;
}

static void
print_source(const struct pair *p)
{
	if (p->music != NULL)
		printf("`%s` → `%s` + `%s`", p->tpl, p->src, p->music);
	else
		printf("`%s` → `%s`", p->tpl, p->src);
}

static void
print_colour_cells(const struct row *r)
{
	printf(" %.1f → %.1f | **%.0f%%** (%.0f%%) | %.0f%% | %.1f → %.1f |",
	    r->de76_before, r->de76_after,
	    reduction(r->de76_before, r->de76_after),
	    reduction(r->de76_cut, r->de76_after),
	    reduction(r->de76_all_before, r->de76_all_after), r->de00_before,
	    r->de00_after);
}

static void
print_cut_cells(const struct row *r)
{
	printf(" %.1f | %.1f / %.1f | %.1f (%d/%d seen) |", r->cpm_out,
	    r->cpm_tpl_scene, r->cpm_tpl_style, r->cpm_plan, r->cuts_found,
	    r->cuts_planned);
	if (r->cuts_out == 0 && r->cpm_tpl_scene == 0)
		printf(" both 0 |");
	else if (r->cpm_tpl_scene == 0)
		printf(" n/a (template 0) |");
	else
		printf(" **%.2f** |", r->cpm_out / r->cpm_tpl_scene);
	if (!r->src_audio)
		printf(" n/a (no audio) |");
	else if (!r->src_music)
		printf(" n/a (no music) |");
	else
		printf(" seen %d/%d, planned %d/%d |", r->seen_on_aubio,
		    r->cuts_out, r->planned_on_aubio, r->cuts_planned);
}

static void
print_row(const struct pair *p, const struct row *r)
{
	char a[32], b[32], c[32];

	printf("| %s | ", p->name);
	print_source(p);
	printf(" |");
	print_colour_cells(r);
	print_cut_cells(r);
	printf(" %s / %s | %s / %.1f | %.1f s |\n", fmt1(a, sizeof(a), r->lufs),
	    fmt1(b, sizeof(b), r->target_lufs), fmt1(c, sizeof(c), r->tp),
	    r->tp_limit, r->wall);
}

static void
print_table(const struct row *rows)
{
	printf(
	    "\n| pair | template → source | CIE76 to the template, source "
	    "→ output | colour reduction (on the plan's shots) | every frame "
	    "| CIEDE2000 | output cuts/min (scene > %s) | template cuts/min "
	    "(scene / "
	    "style.json) | planned cuts/min (planned cuts seen) | output / "
	    "template | cuts on aubio beats ±%.0f ms | loudness "
	    "LUFS (output / target) | true peak dBTP (output / limit) | job "
	    "wall time |\n",
	    SCENE_THRESHOLD, BEAT_TOL_S * 1000);
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < NPAIRS; i++) {
		if (rows[i].ran)
			print_row(&pairs[i], &rows[i]);
	}
}

/* ---- main ---- */

/* $REEL_SAMPLES/real-media, else ../shared/testdata/real-media. */
static bool
find_corpus(char *buf, size_t size)
{
	const char *env = getenv("REEL_SAMPLES");
	char manifest[600];
	struct stat st;

	if (env != NULL && *env != '\0')
		snprintf(buf, size, "%s/real-media", env);
	else
		snprintf(buf, size, "../shared/testdata/real-media");
	snprintf(manifest, sizeof(manifest), "%s/MANIFEST.md", buf);
	return stat(manifest, &st) == 0;
}

static void
make_dirs(char *run_dir, size_t size)
{
	if (mkdtemp(dir) == NULL)
		bench_die("mkdtemp", NULL);
	/*
	 * reeld run as root starts workers as another user, who must reach
	 * the state directory inside.
	 */
	if (chmod(dir, 0755) != 0)
		bench_die("chmod", dir);
	snprintf(run_dir, size, "%s/run", dir);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
}

int
main(int argc, char **argv)
{
	const char *bin = argc > 1 ? argv[1] : "build";
	const char *only = getenv("REEL_QUALITY_ONLY");
	static struct row rows[NPAIRS];
	char corpus[512], run_dir[256], log[512];

	if (!find_corpus(corpus, sizeof(corpus))) {
		printf("bench/quality: no corpus at %s (set REEL_SAMPLES); "
		       "nothing to measure\n",
		    corpus);
		return 0;
	}
	make_dirs(run_dir, sizeof(run_dir));
	snprintf(log, sizeof(log), "%s/reeld.log", dir);
	bench_reeld_start(bin, "reel-worker", run_dir, state_dir, log, NULL);
	printf("corpus %s, quality=%s, %zu pairs\n", corpus, QUALITY, NPAIRS);
	for (size_t i = 0; i < NPAIRS; i++) {
		if (only != NULL && strstr(pairs[i].name, only) == NULL)
			continue;
		rows[i].ran = true;
		printf("\n[%zu/%zu] %s: %s -> %s (%s)\n", i + 1, NPAIRS,
		    pairs[i].name, pairs[i].tpl, pairs[i].src, pairs[i].why);
		fflush(stdout);
		run_pair(corpus, &pairs[i], &rows[i]);
		print_details(&rows[i]);
		fflush(stdout);
	}
	print_table(rows);
	bench_reeld_stop();
	/* REEL_QUALITY_KEEP=1 keeps the jobs' artifacts to look into. */
	if (getenv("REEL_QUALITY_KEEP") == NULL)
		remove_tree(dir);
	else
		printf("\nkept %s\n", dir);
	return 0;
}

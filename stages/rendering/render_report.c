/*
 * The style-match report (see render_report.h and docs/stages/report.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <aubio/aubio.h>
#include <ebur128.h>

#include "colour.h"
#include "recut.h"
#include "render_report.h"

/* Colour samples per frame, a grid over the picture (about 128 x 128). */
#define RREP_COLOUR_SAMPLES 16384
/* video_analysis's flat frames: this share of luma at or beyond these. */
#define RREP_FLAT_SHARE 0.98
#define RREP_BLACK_LUMA 25
#define RREP_WHITE_LUMA 230
/* aubio's tracker: window and hop at the output rate. */
#define RREP_BEAT_WIN 1024
#define RREP_BEAT_HOP 512

/* A growing list of times, s. */
struct rrep_times {
	double *t;
	size_t n, cap;
};

/* Statistics a plan's reference gives for one video. */
struct rrep_ref {
	bool known;
	double lab[3];
	int nhist;
	double hist[COLOUR_HIST_BINS];
};

struct rrep {
	struct stage_ctx *ctx;
	const struct rplan *plan;
	struct rrep_ref tpl, src;
	double *tpl_shots;
	size_t ntpl_shots;
	double target_cut_frequency;
	double target_lufs;
	bool soundtrack_music;
	/*
	 * Colour: the frames video_analysis would pool (not flat black or
	 * white, not inside a fade or dissolve), and all of them, for an
	 * output that has no other.
	 */
	struct colour_acc acc, acc_all;
	uint8_t *rgb;
	int64_t frames, frames_measured, frames_all;
	int seg; /* the segment of the last frame taken */
	/* Scene score: the previous frame's luma and mean difference. */
	uint8_t *prev_luma;
	int pw, ph;
	double prev_mafd;
	struct rrep_times cuts;
	/* Audio. */
	ebur128_state *meter;
	aubio_tempo_t *tempo;
	fvec_t *hop, *beat;
	uint_t hop_fill;
	int64_t samples;
	struct rrep_times beats;
};

static int
rrep_times_add(struct rrep_times *l, double t)
{
	double *p;

	if (l->n == l->cap) {
		p = realloc(l->t, (l->cap ? l->cap * 2 : 64) * sizeof(*p));
		if (p == NULL)
			return -1;
		l->t = p;
		l->cap = l->cap ? l->cap * 2 : 64;
	}
	l->t[l->n++] = t;
	return 0;
}

/* ---- the reference, from plan.json ---- */

static void
rrep_ref_parse(const json_t *colour, struct rrep_ref *ref)
{
	const json_t *mean = json_object_get(colour, "lab_mean");
	const json_t *hist = json_object_get(colour, "luma_histogram");
	const json_t *vals = json_object_get(hist, "values");
	size_t i, n = json_array_size(vals);

	ref->known = json_array_size(mean) == 3;
	for (i = 0; ref->known && i < 3; i++) {
		ref->lab[i] = json_number_value(json_array_get(mean, i));
		ref->known = json_is_number(json_array_get(mean, i));
	}
	ref->nhist = 0;
	if (n < 1 || n > COLOUR_HIST_BINS || COLOUR_HIST_BINS % n != 0)
		return;
	for (i = 0; i < n; i++)
		ref->hist[i] = json_number_value(json_array_get(vals, i));
	ref->nhist = (int)n;
}

static int
rrep_ref_shots(struct rrep *r, const json_t *lengths)
{
	size_t i, n = json_array_size(lengths);

	if (n == 0)
		return 0;
	if ((r->tpl_shots = calloc(n, sizeof(double))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		r->tpl_shots[i] = json_number_value(json_array_get(lengths, i));
	r->ntpl_shots = n;
	return 0;
}

static enum stage_result
rrep_reference(struct rrep *r, const char *plan_path)
{
	json_error_t jerr;
	json_t *doc = json_load_file(plan_path, 0, &jerr);
	const json_t *ref, *tpl, *src, *a;
	int rc;

	if (doc == NULL)
		return stage_fail(r->ctx, STAGE_E_NOINPUT, "cannot read %s: %s",
		    plan_path, jerr.text);
	ref = json_object_get(doc, "reference");
	tpl = json_object_get(ref, "template");
	src = json_object_get(ref, "source");
	a = json_object_get(doc, "audio");
	rrep_ref_parse(json_object_get(tpl, "colour"), &r->tpl);
	rrep_ref_parse(json_object_get(src, "colour"), &r->src);
	r->soundtrack_music =
	    json_is_true(json_object_get(ref, "soundtrack_music"));
	r->target_cut_frequency = json_number_value(json_object_get(
	    json_object_get(doc, "edit"), "target_cut_frequency"));
	r->target_lufs =
	    json_is_number(json_object_get(a, "target_lufs"))
		? json_number_value(json_object_get(a, "target_lufs"))
		: NAN;
	rc = rrep_ref_shots(r, json_object_get(tpl, "shot_lengths_s"));
	json_decref(doc);
	return rc == 0 ? STAGE_OK
		       : stage_fail(r->ctx, STAGE_E_TEMP, "out of memory");
}

/* ---- set-up ---- */

static enum stage_result
rrep_audio_new(struct rrep *r)
{
	uint_t rate = (uint_t)r->plan->audio_rate;

	r->meter =
	    ebur128_init(2, rate, EBUR128_MODE_I | EBUR128_MODE_TRUE_PEAK);
	r->tempo =
	    new_aubio_tempo("default", RREP_BEAT_WIN, RREP_BEAT_HOP, rate);
	r->hop = new_fvec(RREP_BEAT_HOP);
	r->beat = new_fvec(1);
	if (r->meter == NULL || r->tempo == NULL || r->hop == NULL ||
	    r->beat == NULL)
		return stage_fail(r->ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

enum stage_result
rrep_new(struct stage_ctx *ctx, const char *plan_path, const struct rplan *p,
    struct rrep **out)
{
	struct rrep *r = calloc(1, sizeof(*r));
	enum stage_result rc;

	*out = r;
	if (r == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	r->ctx = ctx;
	r->plan = p;
	colour_acc_init(&r->acc);
	colour_acc_init(&r->acc_all);
	if ((r->rgb = malloc(3 * RREP_COLOUR_SAMPLES)) == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	if ((rc = rrep_reference(r, plan_path)) != STAGE_OK)
		return rc;
	return p->audio ? rrep_audio_new(r) : STAGE_OK;
}

/* ---- video ---- */

static uint8_t
rrep_clip8(double v)
{
	return v <= 0.0 ? 0 : v >= 255.0 ? 255 : (uint8_t)lrint(v);
}

/* Limited-range BT.709 Y'CbCr, as the encoder is told, to 8-bit R'G'B'. */
static void
rrep_yuv_to_rgb(int y, int cb, int cr, uint8_t *rgb)
{
	double yy = (y - 16) * (255.0 / 219.0);
	double u = (cb - 128) * (255.0 / 224.0),
	       v = (cr - 128) * (255.0 / 224.0);

	rgb[0] = rrep_clip8(yy + 1.5748 * v);
	rgb[1] = rrep_clip8(yy - 0.187324 * u - 0.468124 * v);
	rgb[2] = rrep_clip8(yy + 1.8556 * u);
}

/*
 * Whether output frame n is a mixture (a fade ramp or a dissolve's
 * overlap), which video_analysis leaves out of a shot's colour.
 */
static bool
rrep_in_transition(struct rrep *r, int64_t n)
{
	const struct rplan *p = r->plan;
	const struct rplan_seg *s;

	while (r->seg + 1 < p->nsegs && n >= p->segs[r->seg].f1)
		r->seg++;
	s = &p->segs[r->seg];
	return n - s->f0 < s->fade_in || s->f1 - 1 - n < s->fade_out ||
	       (s->tin == RPLAN_DISSOLVE && n < s[-1].f1) ||
	       (r->seg + 1 < p->nsegs && s[1].tin == RPLAN_DISSOLVE &&
		   n >= s[1].f0);
}

/*
 * A grid of pixels to R'G'B'; returns whether the frame is flat (at least
 * RREP_FLAT_SHARE black or white, as video_analysis counts them).
 */
static bool
rrep_grid(struct rrep *r, const AVFrame *f, int step, int gw, int gh)
{
	int x, y, sx, sy, yv, flat_black = 0, flat_white = 0;

	for (y = 0; y < gh; y++) {
		sy = y * step + step / 2;
		for (x = 0; x < gw; x++) {
			sx = x * step + step / 2;
			yv = f->data[0][sy * f->linesize[0] + sx];
			flat_black += (yv - 16) * 255 <= RREP_BLACK_LUMA * 219;
			flat_white += (yv - 16) * 255 >= RREP_WHITE_LUMA * 219;
			rrep_yuv_to_rgb(yv,
			    f->data[1][(sy / 2) * f->linesize[1] + sx / 2],
			    f->data[2][(sy / 2) * f->linesize[2] + sx / 2],
			    r->rgb + 3 * ((size_t)y * gw + x));
		}
	}
	return flat_black >= RREP_FLAT_SHARE * gw * gh ||
	       flat_white >= RREP_FLAT_SHARE * gw * gh;
}

/* The frame's colour, in the same summary video_analysis makes. */
static void
rrep_colour(struct rrep *r, const AVFrame *f, int64_t n)
{
	int step =
	    (int)ceil(sqrt((double)f->width * f->height / RREP_COLOUR_SAMPLES));
	int gw, gh;
	struct colour_frame cf;
	bool flat;

	step = step < 1 ? 1 : step;
	gw = f->width / step;
	gh = f->height / step;
	if (gw < 1 || gh < 1)
		return;
	flat = rrep_grid(r, f, step, gw, gh);
	if (colour_frame_measure(r->rgb, gw, gh, gw * 3, 1, &cf) != 0)
		return;
	colour_acc_add(&r->acc_all, &cf);
	r->frames_all++;
	if (!flat && !rrep_in_transition(r, n)) {
		colour_acc_add(&r->acc, &cf);
		r->frames_measured++;
	}
}

/*
 * The select filter's scene score against the previous frame: the mean
 * absolute luma difference, or its change from the difference before
 * when that is smaller (a pan moves every pixel, a cut moves it once),
 * over 100.
 */
static double
rrep_scene_score(struct rrep *r, const AVFrame *f)
{
	uint64_t sad = 0;
	double mafd, score;
	int x, y;

	for (y = 0; y < f->height; y++) {
		const uint8_t *a = f->data[0] + y * f->linesize[0];
		const uint8_t *b = r->prev_luma + (size_t)y * f->width;

		for (x = 0; x < f->width; x++)
			sad += (uint64_t)abs(a[x] - b[x]);
	}
	mafd = (double)sad / ((double)f->width * f->height);
	score = fmin(mafd, fabs(mafd - r->prev_mafd)) / 100.0;
	r->prev_mafd = mafd;
	return score;
}

/* Scores frame f, then keeps its luma for the next; -1 out of memory. */
static int
rrep_scene(struct rrep *r, const AVFrame *f, double *score)
{
	int y;

	*score = 0.0;
	if (r->prev_luma != NULL && r->pw == f->width && r->ph == f->height) {
		*score = rrep_scene_score(r, f);
	} else {
		free(r->prev_luma);
		r->prev_luma = malloc((size_t)f->width * f->height);
		r->pw = f->width;
		r->ph = f->height;
		r->prev_mafd = 0.0;
		if (r->prev_luma == NULL)
			return -1;
	}
	for (y = 0; y < f->height; y++)
		memcpy(r->prev_luma + (size_t)y * f->width,
		    f->data[0] + y * f->linesize[0], (size_t)f->width);
	return 0;
}

enum stage_result
rrep_video(struct rrep *r, const AVFrame *f, int64_t n)
{
	double score;

	r->frames++;
	if (f->format != AV_PIX_FMT_YUV420P)
		return STAGE_OK;
	rrep_colour(r, f, n);
	if (rrep_scene(r, f, &score) == -1 ||
	    (score > RREP_SCENE_THRESHOLD &&
		rrep_times_add(&r->cuts, rplan_frame_time(r->plan, n)) == -1))
		return stage_fail(r->ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

/* ---- audio ---- */

static enum stage_result
rrep_beat_hop(struct rrep *r)
{
	aubio_tempo_do(r->tempo, r->hop, r->beat);
	r->hop_fill = 0;
	if (r->beat->data[0] != 0.0f &&
	    rrep_times_add(&r->beats, aubio_tempo_get_last_s(r->tempo)) == -1)
		return stage_fail(r->ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

enum stage_result
rrep_audio(struct rrep *r, const float *x, int n)
{
	enum stage_result rc;
	int i;

	if (r->meter == NULL || n <= 0)
		return STAGE_OK;
	if (ebur128_add_frames_float(r->meter, x, (size_t)n) != 0)
		return stage_fail(r->ctx, STAGE_E_TEMP, "out of memory");
	for (i = 0; i < n; i++) {
		r->hop->data[r->hop_fill++] = 0.5f * (x[2 * i] + x[2 * i + 1]);
		if (r->hop_fill == RREP_BEAT_HOP &&
		    (rc = rrep_beat_hop(r)) != STAGE_OK)
			return rc;
	}
	r->samples += n;
	return STAGE_OK;
}

/* ---- the figures ---- */

static json_t *
rrep_num(double v, double unit)
{
	return isfinite(v) ? json_real(round(v / unit) * unit) : json_null();
}

static json_t *
rrep_vec3(const double v[3])
{
	return json_pack("[o, o, o]", rrep_num(v[0], 1e-3),
	    rrep_num(v[1], 1e-3), rrep_num(v[2], 1e-3));
}

/* before, after and the share of the distance removed. */
static json_t *
rrep_change(double before, double after)
{
	return json_pack("{s:o, s:o, s:o}", "before", rrep_num(before, 1e-3),
	    "after", rrep_num(after, 1e-3), "reduction",
	    before > 0.0 ? rrep_num(1.0 - after / before, 1e-4) : json_null());
}

static json_t *
rrep_colour_json(const struct rrep *r)
{
	double out[3], hist[COLOUR_HIST_BINS];
	const double *t = r->tpl.lab, *s = r->src.lab;
	bool both = r->tpl.known && r->src.known && r->frames_all > 0;
	const struct colour_acc *acc =
	    r->frames_measured > 0 ? &r->acc : &r->acc_all;
	json_t *h = json_null();

	colour_acc_mean(acc, out);
	if (both && r->tpl.nhist > 0 && r->src.nhist == r->tpl.nhist &&
	    colour_acc_hist(acc, hist, r->tpl.nhist) == 0)
		h = rrep_change(colour_hist_distance(
				    r->src.hist, r->tpl.hist, r->tpl.nhist),
		    colour_hist_distance(hist, r->tpl.hist, r->tpl.nhist));
	if (!both) {
		json_decref(h);
		return json_null();
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
	    "template_lab_mean", rrep_vec3(t), "source_lab_mean", rrep_vec3(s),
	    "output_lab_mean", rrep_vec3(out), "cie76",
	    rrep_change(colour_cie76(s, t), colour_cie76(out, t)), "ciede2000",
	    rrep_change(colour_ciede2000(s, t), colour_ciede2000(out, t)),
	    "luma_histogram_distance", h, "frames_measured",
	    (json_int_t)(r->frames_measured > 0 ? r->frames_measured
						: r->frames_all));
}

static int
rrep_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of n sorted values, interpolated. */
static double
rrep_quantile(const double *v, size_t n, double q)
{
	double at = q * (double)(n - 1);
	size_t i = (size_t)at;

	return i + 1 < n ? v[i] + (at - (double)i) * (v[i + 1] - v[i])
			 : v[n - 1];
}

/* Sorts v in place and summarises it. */
static json_t *
rrep_lengths_json(double *v, size_t n)
{
	double sum = 0.0;
	size_t i;

	if (n == 0)
		return json_null();
	qsort(v, n, sizeof(*v), rrep_cmp);
	for (i = 0; i < n; i++)
		sum += v[i];
	return json_pack("{s:I, s:o, s:o, s:o, s:o}", "count", (json_int_t)n,
	    "mean", rrep_num(sum / (double)n, 1e-3), "p10",
	    rrep_num(rrep_quantile(v, n, 0.1), 1e-3), "median",
	    rrep_num(rrep_quantile(v, n, 0.5), 1e-3), "p90",
	    rrep_num(rrep_quantile(v, n, 0.9), 1e-3));
}

/* Kolmogorov-Smirnov statistic of two sorted samples: max |F1 - F2|. */
static double
rrep_ks(const double *a, size_t na, const double *b, size_t nb)
{
	size_t i = 0, j = 0;
	double d = 0.0, t;

	while (i < na && j < nb) {
		t = fmin(a[i], b[j]);
		while (i < na && a[i] <= t)
			i++;
		while (j < nb && b[j] <= t)
			j++;
		d = fmax(d, fabs((double)i / na - (double)j / nb));
	}
	return d;
}

/* Output time of planned cut i (i >= 1): a dissolve's middle. */
static double
rrep_planned_cut(const struct rrep *r, int i)
{
	const struct rplan_seg *s = &r->plan->segs[i];
	double f = (double)s->f0;

	if (s->tin == RPLAN_DISSOLVE)
		f += (double)(s[-1].f1 - s->f0) / 2.0;
	return rplan_frame_time(r->plan, (int64_t)f);
}

/* Lengths between the delivered cuts, the output's ends included. */
static double *
rrep_delivered_lengths(const struct rrep *r, double end, size_t *n)
{
	double *v = calloc(r->cuts.n + 1, sizeof(*v)), prev = 0.0;
	size_t i;

	*n = 0;
	for (i = 0; v != NULL && i <= r->cuts.n; i++) {
		double t = i < r->cuts.n ? r->cuts.t[i] : end;

		if (t > prev)
			v[(*n)++] = t - prev;
		prev = t;
	}
	return v;
}

static json_t *
rrep_shots_json(const struct rrep *r, double end)
{
	int i, ns = r->plan->nsegs;
	size_t nd;
	double *planned = calloc((size_t)ns, sizeof(double));
	double *delivered = rrep_delivered_lengths(r, end, &nd);
	double *tpl = calloc(r->ntpl_shots + 1, sizeof(double));
	json_t *o = NULL;

	if (planned != NULL && delivered != NULL && tpl != NULL) {
		for (i = 0; i < ns; i++)
			planned[i] = r->plan->segs[i].src_end -
				     r->plan->segs[i].src_start;
		if (r->ntpl_shots > 0)
			memcpy(
			    tpl, r->tpl_shots, r->ntpl_shots * sizeof(double));
		o = json_pack("{s:o, s:o, s:o}", "template",
		    rrep_lengths_json(tpl, r->ntpl_shots), "planned",
		    rrep_lengths_json(planned, (size_t)ns), "delivered",
		    rrep_lengths_json(delivered, nd));
	}
	if (o != NULL && r->ntpl_shots > 0)
		json_object_set_new(o, "ks_planned_vs_template",
		    rrep_num(rrep_ks(planned, (size_t)ns, tpl, r->ntpl_shots),
			1e-3));
	if (o != NULL && r->ntpl_shots > 0 && nd > 0)
		json_object_set_new(o, "ks_delivered_vs_template",
		    rrep_num(rrep_ks(delivered, nd, tpl, r->ntpl_shots), 1e-3));
	free(planned);
	free(delivered);
	free(tpl);
	return o;
}

static json_t *
rrep_cuts_json(const struct rrep *r, double dur)
{
	double per_min = dur > 0.0 ? 60.0 / dur : 0.0;

	return json_pack("{s:o, s:o, s:o, s:i, s:I, s:f}", "template_per_min",
	    rrep_num(r->target_cut_frequency, 1e-3), "planned_per_min",
	    rrep_num((r->plan->nsegs - 1) * per_min, 1e-3), "delivered_per_min",
	    rrep_num((double)r->cuts.n * per_min, 1e-3), "planned",
	    r->plan->nsegs - 1, "delivered", (json_int_t)r->cuts.n,
	    "scene_threshold", RREP_SCENE_THRESHOLD);
}

/* Distance from t to the nearest of a + k * step, for whole k. */
static double
rrep_grid_distance(double t, double a, double step)
{
	double x = fmod(fabs(t - a), step);

	return fmin(x, step - x);
}

/*
 * Distance from t to the beat grid: the found beats, with the gaps the
 * tracker leaves (beats it skips, and its first seconds, before it locks)
 * filled at its period.
 */
static double
rrep_beat_distance(const struct rrep_times *b, double period, double t)
{
	size_t i = 0;
	double g;

	if (b->n == 0)
		return INFINITY;
	if (period <= 0.0)
		return fabs(b->t[0] - t);
	if (t <= b->t[0])
		return rrep_grid_distance(t, b->t[0], period);
	while (i + 1 < b->n && b->t[i + 1] < t)
		i++;
	if (i + 1 == b->n)
		return rrep_grid_distance(t, b->t[i], period);
	g = b->t[i + 1] - b->t[i];
	return rrep_grid_distance(t, b->t[i], g / fmax(1.0, round(g / period)));
}

static json_t *
rrep_beats_json(const struct rrep *r)
{
	int i, on = 0, cuts = r->plan->nsegs - 1;
	double period = recut_beat_period(r->beats.t, r->beats.n);

	if (r->meter == NULL)
		return json_null();
	for (i = 1; i <= cuts; i++)
		on += rrep_beat_distance(&r->beats, period,
			  rrep_planned_cut(r, i)) <= RREP_BEAT_TOLERANCE_S;
	return json_pack("{s:b, s:I, s:o, s:i, s:i, s:o, s:f}",
	    "soundtrack_music", r->soundtrack_music, "beats_found",
	    (json_int_t)r->beats.n, "tempo_bpm",
	    period > 0.0 ? rrep_num(60.0 / period, 0.01) : json_null(), "cuts",
	    cuts, "cuts_on_beat", on, "share",
	    cuts > 0 ? rrep_num((double)on / cuts, 1e-4) : json_null(),
	    "tolerance_s", RREP_BEAT_TOLERANCE_S);
}

static json_t *
rrep_loudness_json(const struct rrep *r)
{
	double lufs = NAN, tp, peak = -INFINITY;

	if (r->meter == NULL)
		return json_null();
	if (ebur128_loudness_global(r->meter, &lufs) != 0 || isinf(lufs))
		lufs = NAN;
	for (unsigned c = 0; c < 2; c++) {
		if (ebur128_true_peak(r->meter, c, &tp) == 0 && tp > 0.0)
			peak = fmax(peak, 20.0 * log10(tp));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:f}", "target_lufs",
	    rrep_num(r->target_lufs, 0.01), "integrated_lufs",
	    rrep_num(lufs, 0.01), "difference_lu",
	    rrep_num(lufs - r->target_lufs, 0.01), "true_peak_dbtp",
	    rrep_num(peak, 0.01), "true_peak_limit_dbtp", r->plan->tp_limit_db);
}

static json_t *
rrep_transitions_json(const struct rrep *r)
{
	int n[RPLAN_DISSOLVE + 1] = {0};

	for (int i = 1; i < r->plan->nsegs; i++)
		n[r->plan->segs[i].tin]++;
	return json_pack("{s:i, s:i, s:i}", "cut", n[RPLAN_CUT], "fade",
	    n[RPLAN_FADE], "dissolve", n[RPLAN_DISSOLVE]);
}

static json_t *
rrep_json(const struct rrep *r, const struct rrep_decode *d)
{
	double dur = rplan_frame_time(r->plan, r->frames);

	return json_pack("{s:i, s:f, s:I, s:o, s:o, s:o, s:o, s:o, s:o, "
			 "s:{s:I, s:I, s:I}}",
	    "version", RREP_VERSION, "duration_s", round(dur * 1e3) / 1e3,
	    "frames", (json_int_t)r->frames, "colour", rrep_colour_json(r),
	    "cuts", rrep_cuts_json(r, dur), "shot_lengths_s",
	    rrep_shots_json(r, dur), "beats", rrep_beats_json(r), "loudness",
	    rrep_loudness_json(r), "transitions", rrep_transitions_json(r),
	    "decode", "packets", (json_int_t)d->packets, "lost",
	    (json_int_t)d->bad, "seeks", (json_int_t)d->seeks);
}

enum stage_result
rrep_write(struct rrep *r, const struct rrep_decode *d)
{
	json_t *doc = rrep_json(r, d);
	enum stage_result rc;

	if (doc == NULL)
		return stage_fail(
		    r->ctx, STAGE_E_TEMP, "out of memory building the report");
	rc = stage_write_json(r->ctx, RREP_FILE, doc);
	json_decref(doc);
	return rc;
}

void
rrep_free(struct rrep *r)
{
	if (r == NULL)
		return;
	if (r->tempo != NULL)
		del_aubio_tempo(r->tempo);
	if (r->hop != NULL)
		del_fvec(r->hop);
	if (r->beat != NULL)
		del_fvec(r->beat);
	if (r->meter != NULL)
		ebur128_destroy(&r->meter);
	free(r->beats.t);
	free(r->cuts.t);
	free(r->prev_luma);
	free(r->rgb);
	free(r->tpl_shots);
	free(r);
}

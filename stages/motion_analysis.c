/*
 * The motion_analysis stage (see motion_analysis.h).
 *
 * Frames come from the motion proxy video_analysis wrote (proxy.h). The
 * pairs are measured by MA_THREADS_MAX threads at most, each taking one
 * contiguous run of frames with an estimator of its own: a pair depends
 * on its two frames alone (motion.h), so the split changes no figure.
 * The calling thread takes the first run and reports progress for all.
 *
 * Shots come from video_analysis.json. Pairs of frames that straddle a shot
 * boundary or overlap a transition are not camera motion and are marked
 * unreliable before any figure is made; so are pairs whose fit fails
 * (motion.h), which also catches cuts when the shot list is missing. When
 * the artifact is missing or has no shots for an input, the whole video is
 * one shot and the artifact says why.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "looks.h"
#include "motion.h"
#include "motion_analysis.h"
#include "proxy.h"
#include "log.h"
#include "util.h"

#define MA_VA_ARTIFACT "video_analysis.json"
/* Frame times in both artifacts agree to better than this, s. */
#define MA_EPS 1e-3
/* Frame interval assumed when a file has one frame and no rate. */
#define MA_DEFAULT_DT 0.04
/* Threads measuring pairs, and the fewest pairs worth a thread. */
#define MA_THREADS_MAX 4
#define MA_PAIRS_PER_THREAD 64

const struct stage_ops stage_motion_analysis_ops = {
    "motion_analysis", motion_analysis_run};

struct ma_span {
	double t0, t1;
};

/* The shots of one input; n == 0 means the whole video, for note. */
struct ma_shots {
	struct ma_span *shot;
	size_t n;
	struct ma_span *skip; /* transitions: no camera motion inside */
	size_t nskip;
	char note[256];
};

struct ma_state {
	struct stage_ctx *ctx;
	const struct ma_shots *sh;
	const struct proxy_reader *px;
	struct motion_sample *s; /* pair i is frames i and i + 1 */
	size_t n, reliable;
	int64_t frames;
	double t_last, dt_last;
	int width, height;
	double fps_declared;
	char proxy_id[PROXY_ID_SIZE];
	struct looks_shot *looks; /* one per shot (or the whole video) */
	size_t nlooks;
	atomic_llong done; /* pairs measured, for progress */
	atomic_bool stop;  /* a part failed: the others give up */
};

struct ma_progress {
	struct stage_ctx *ctx;
	double base, weight;
};

/* One thread's run: the pairs ending at frames lo .. hi - 1. */
struct ma_part {
	struct ma_state *st;
	const struct ma_progress *pg; /* the calling thread's part only */
	int64_t lo, hi;
	enum stage_result rc;
	char error[256];
	pthread_t thread;
};

/* Shots counted for zoom_usage. */
struct ma_tally {
	size_t known, moving;
};

static bool
ma_number(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

/* video_analysis.json, or NULL with the reason in note. */
static json_t *
ma_va_load(const struct stage_ctx *ctx, char *note, size_t size)
{
	char path[PATH_MAX];
	json_error_t err;
	json_t *doc;

	snprintf(path, sizeof(path), "%s/%s", ctx->job_dir, MA_VA_ARTIFACT);
	if (access(path, F_OK) == -1) {
		snprintf(note, size, "%s is missing", MA_VA_ARTIFACT);
		return NULL;
	}
	if ((doc = json_load_file(path, 0, &err)) == NULL)
		snprintf(note, size, "%s cannot be read: %s", MA_VA_ARTIFACT,
		    err.text);
	return doc;
}

static void
ma_shots_free(struct ma_shots *sh)
{
	free(sh->shot);
	free(sh->skip);
	sh->shot = sh->skip = NULL;
	sh->n = sh->nskip = 0;
}

/* Shot i, with the transition into it; false when malformed. */
static bool
ma_shot_parse(const json_t *e, size_t i, struct ma_shots *sh)
{
	const json_t *tr = json_object_get(e, "transition_in");
	double t0, t1;

	if (!ma_number(e, "start_s", &t0) || !ma_number(e, "end_s", &t1) ||
	    t1 < t0 || (i > 0 && t0 < sh->shot[i - 1].t0))
		return false;
	sh->shot[i] = (struct ma_span){t0, t1};
	if (i > 0 && ma_number(tr, "start_s", &t0) &&
	    ma_number(tr, "end_s", &t1) && t1 >= t0)
		sh->skip[sh->nskip++] = (struct ma_span){t0, t1};
	return true;
}

/* Returns -1 when out of memory; a shot list it cannot use sets note. */
static int
ma_shots_parse(const json_t *doc, const char *role, struct ma_shots *sh)
{
	const json_t *arr =
	    json_object_get(json_object_get(doc, role), "shots");
	const json_t *e;
	size_t i, n = json_array_size(arr);

	if (n == 0) {
		snprintf(sh->note, sizeof(sh->note),
		    "%s has no shots for the %s", MA_VA_ARTIFACT, role);
		return 0;
	}
	sh->shot = calloc(n, sizeof(*sh->shot));
	sh->skip = calloc(n, sizeof(*sh->skip));
	if (sh->shot == NULL || sh->skip == NULL) {
		ma_shots_free(sh);
		return -1;
	}
	json_array_foreach(arr, i, e)
	{
		if (!ma_shot_parse(e, i, sh)) {
			ma_shots_free(sh);
			snprintf(sh->note, sizeof(sh->note),
			    "%s: the %s's shot %zu has no valid start_s and "
			    "end_s",
			    MA_VA_ARTIFACT, role, i);
			return 0;
		}
	}
	sh->n = n;
	return 0;
}

/* False when the pair t0..t1 straddles a cut or overlaps a transition. */
static bool
ma_pair_clear(const struct ma_shots *sh, double t0, double t1)
{
	double b;
	size_t i;

	for (i = 1; i < sh->n; i++) {
		b = sh->shot[i].t0;
		if (t0 + MA_EPS < b && b < t1 + MA_EPS)
			return false;
	}
	for (i = 0; i < sh->nskip; i++) {
		if (t0 < sh->skip[i].t1 - MA_EPS &&
		    t1 > sh->skip[i].t0 + MA_EPS)
			return false;
	}
	return true;
}

static enum stage_result
ma_part_fail(struct ma_part *p, enum stage_result rc, const char *what)
{
	snprintf(p->error, sizeof(p->error), "%s", what);
	atomic_store(&p->st->stop, true);
	return p->rc = rc;
}

static void
ma_part_progress(const struct ma_part *p)
{
	const struct ma_state *st = p->st;
	double f = st->n > 0 ? (double)atomic_load(&st->done) / st->n : 1.0;

	if (p->pg != NULL)
		stage_progress(p->pg->ctx, p->pg->base + p->pg->weight * f);
}

/* Measures the part's pairs into st->s; frame lo - 1 primes it. */
static enum stage_result
ma_part_run(struct ma_part *p)
{
	struct ma_state *st = p->st;
	struct motion_est *est = motion_est_new(st->width, st->height);
	uint8_t *gray = malloc((size_t)st->width * (size_t)st->height);
	struct motion_pair pair;
	double t, t_prev = 0.0;
	int64_t i;

	if (est == NULL || gray == NULL)
		ma_part_fail(p, STAGE_E_TEMP, "out of memory");
	for (i = p->lo - 1; p->rc == STAGE_OK && i < p->hi; i++) {
		if (atomic_load(&st->stop))
			break;
		if (proxy_read(st->px, i, gray, &t) < 0) {
			ma_part_fail(p, STAGE_E_IO, strerror(errno));
			break;
		}
		if (motion_est_push(est, gray, st->width, &pair) == 1) {
			motion_sample_of(&pair, st->width, t_prev, t - t_prev,
			    &st->s[i - 1]);
			if (!ma_pair_clear(st->sh, t_prev, t))
				st->s[i - 1].reliable = false;
			atomic_fetch_add(&st->done, 1);
			ma_part_progress(p);
		}
		t_prev = t;
	}
	motion_est_free(est);
	free(gray);
	return p->rc;
}

static void *
ma_part_main(void *arg)
{
	(void)ma_part_run(arg);
	return NULL;
}

static int
ma_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
}

/* Splits the pairs into parts; returns how many. */
static int
ma_split(struct ma_state *st, const struct ma_progress *pg,
    struct ma_part parts[MA_THREADS_MAX])
{
	int64_t pairs = st->frames - 1, k;
	int n = ma_cpus(), i;

	n = n > MA_THREADS_MAX ? MA_THREADS_MAX : n;
	k = pairs / MA_PAIRS_PER_THREAD;
	n = k < n ? (int)(k > 1 ? k : 1) : n;
	memset(parts, 0, sizeof(*parts) * MA_THREADS_MAX);
	for (i = 0; i < n; i++) {
		parts[i].st = st;
		parts[i].pg = i == 0 ? pg : NULL;
		parts[i].lo = 1 + pairs * i / n;
		parts[i].hi = 1 + pairs * (i + 1) / n;
	}
	return n;
}

/* Runs every part, the first on this thread; the first failure wins. */
static enum stage_result
ma_measure(struct ma_state *st, const struct ma_progress *pg)
{
	struct ma_part parts[MA_THREADS_MAX];
	int n = ma_split(st, pg, parts), started = 1, i;

	for (i = 1; i < n; i++, started++) {
		if (pthread_create(
			&parts[i].thread, NULL, ma_part_main, &parts[i]) != 0) {
			ma_part_fail(
			    &parts[i], STAGE_E_OS, "cannot start a thread");
			break;
		}
	}
	(void)ma_part_run(&parts[0]);
	for (i = 1; i < started; i++)
		pthread_join(parts[i].thread, NULL);
	for (i = 0; i < n; i++) {
		if (parts[i].rc != STAGE_OK)
			return stage_fail(st->ctx, parts[i].rc,
			    "motion proxy %s: %s",
			    proxy_reader_info(st->px)->name, parts[i].error);
	}
	return STAGE_OK;
}

/* Frame count, times and the sample array, from the proxy. */
static enum stage_result
ma_start(struct ma_state *st)
{
	const struct proxy_info *in = proxy_reader_info(st->px);

	st->width = in->width;
	st->height = in->height;
	st->fps_declared = in->fps_declared;
	st->frames = in->frames;
	(void)str_copy(st->proxy_id, in->id, sizeof(st->proxy_id));
	if (st->width < MOTION_MIN_SIDE || st->height < MOTION_MIN_SIDE)
		return stage_fail(st->ctx, STAGE_E_DATA,
		    "the video is too small to measure motion: its proxy is "
		    "%dx%d",
		    st->width, st->height);
	st->n = (size_t)(st->frames - 1);
	if (st->n > 0 && (st->s = calloc(st->n, sizeof(*st->s))) == NULL)
		return stage_fail(st->ctx, STAGE_E_TEMP, "out of memory");
	return STAGE_OK;
}

/* ---- looks: how visible a jump inside each shot would be (looks.h) ---- */

/* Grid frames a join needs at once: the point and its longest skip. */
#define MA_LOOKS_RING \
	((size_t)(looks_skips[LOOKS_NSKIPS - 1] / LOOKS_STEP_S + 0.5) + 1)
#define MA_LOOKS_RING_MAX 32

/* Grid frames sampled at every scale, keyed by grid index. */
struct ma_looks_ring {
	const struct ma_state *st;
	const struct proxy_reader *px;
	uint8_t *gray; /* one proxy frame */
	uint8_t *pix;  /* MA_LOOKS_RING_MAX x LOOKS_NVIEWS samples */
	uint8_t *calm; /* the frame before a join, whole */
	size_t key[MA_LOOKS_RING_MAX];
	int dw, dh;
	double t0;
};

static double
ma_frame_time(const struct ma_state *st, int64_t i)
{
	return (size_t)i < st->n ? st->s[i].t : st->t_last;
}

/* The frame shown at t: the latest at or before it. */
static int64_t
ma_frame_at(const struct ma_state *st, double t)
{
	int64_t a = 0, b = st->frames - 1, m;

	while (a < b) {
		m = a + (b - a + 1) / 2;
		if (ma_frame_time(st, m) <= t + MA_EPS)
			a = m;
		else
			b = m - 1;
	}
	return a;
}

static size_t
ma_looks_size(const struct ma_looks_ring *r)
{
	return (size_t)r->dw * (size_t)r->dh;
}

/* Samples of grid point m at scale z; NULL when the frame cannot be read. */
static const uint8_t *
ma_looks_get(struct ma_looks_ring *r, size_t m, size_t z)
{
	size_t slot = m % MA_LOOKS_RING, n = ma_looks_size(r), k;
	uint8_t *base = r->pix + slot * LOOKS_NVIEWS * n;
	double t;

	if (r->key[slot] != m) {
		if (proxy_read(r->px,
			ma_frame_at(r->st, r->t0 + (double)m * LOOKS_STEP_S),
			r->gray, &t) < 0)
			return NULL;
		for (k = 0; k < LOOKS_NVIEWS; k++)
			looks_sample(r->gray, r->st->width, r->st->height,
			    &looks_views[k], base + k * n, r->dw, r->dh);
		r->key[slot] = m;
	}
	return base + z * n;
}

/* The differences across the joins at grid point i of a shot ending t1. */
static int
ma_looks_point(
    struct ma_looks_ring *r, struct looks_shot *ls, size_t i, double t1)
{
	size_t n = ma_looks_size(r), j, z, m;
	float *d = ls->diff + i * LOOKS_NSKIPS * LOOKS_NVIEWS;
	const uint8_t *a0, *b0, *az, *bz;
	double ti = r->t0 + (double)i * LOOKS_STEP_S, t;

	if (proxy_read(r->px,
		ma_frame_at(r->st, fmax(r->t0, ti - LOOKS_CALM_S)), r->gray,
		&t) < 0)
		return -1;
	looks_sample(r->gray, r->st->width, r->st->height, &looks_views[0],
	    r->calm, r->dw, r->dh);
	if ((a0 = ma_looks_get(r, i, 0)) == NULL)
		return -1;
	ls->calm[i] = (float)looks_mad(r->calm, a0, n);
	for (j = 0; j < LOOKS_NSKIPS; j++) {
		m = i + (size_t)(looks_skips[j] / LOOKS_STEP_S + 0.5);
		if (r->t0 + (double)m * LOOKS_STEP_S >= t1 - MA_EPS)
			break;
		for (z = 0; z < LOOKS_NVIEWS; z++) {
			/* Both reads may evict nothing: the ring holds the
			 * span. */
			if ((a0 = ma_looks_get(r, i, 0)) == NULL ||
			    (b0 = ma_looks_get(r, m, 0)) == NULL ||
			    (az = ma_looks_get(r, i, z)) == NULL ||
			    (bz = ma_looks_get(r, m, z)) == NULL)
				return -1;
			d[j * LOOKS_NVIEWS + z] = (float)fmin(
			    looks_mad(a0, bz, n), looks_mad(az, b0, n));
		}
	}
	return 0;
}

static int
ma_looks_shot(
    struct ma_looks_ring *r, const struct ma_span *sp, struct looks_shot *ls)
{
	double span = sp->t1 - sp->t0 - looks_skips[0];
	size_t npoints = span > MA_EPS ? (size_t)(span / LOOKS_STEP_S) + 1 : 0,
	       i, k;

	if (looks_shot_init(ls, sp->t0, npoints) == -1)
		return -1;
	r->t0 = sp->t0;
	for (k = 0; k < MA_LOOKS_RING_MAX; k++)
		r->key[k] = SIZE_MAX;
	for (i = 0; i < npoints; i++) {
		if (ma_looks_point(r, ls, i, sp->t1) == -1)
			return -1;
	}
	return 0;
}

/* Measures the looks of every shot (or of the whole video) into st. */
static enum stage_result
ma_looks(struct ma_state *st, const struct proxy_reader *px,
    const struct ma_span *shots, size_t n)
{
	struct ma_looks_ring r;
	size_t i;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.st = st;
	r.px = px;
	r.dw = st->width / 2 > 0 ? st->width / 2 : 1;
	r.dh = st->height / 2 > 0 ? st->height / 2 : 1;
	r.gray = malloc((size_t)st->width * (size_t)st->height);
	r.calm = malloc(ma_looks_size(&r));
	r.pix = malloc(MA_LOOKS_RING_MAX * LOOKS_NVIEWS * ma_looks_size(&r));
	st->looks = calloc(n, sizeof(*st->looks));
	if (r.gray == NULL || r.calm == NULL || r.pix == NULL ||
	    st->looks == NULL)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++, st->nlooks++)
		rc = ma_looks_shot(&r, &shots[i], &st->looks[i]);
	free(r.gray);
	free(r.calm);
	free(r.pix);
	if (rc == -1 && errno == ENOMEM)
		return stage_fail(st->ctx, STAGE_E_TEMP, "out of memory");
	if (rc == -1)
		return stage_fail(st->ctx, STAGE_E_IO, "motion proxy %s: %s",
		    proxy_reader_info(px)->name, strerror(errno));
	return STAGE_OK;
}

static void
ma_looks_free(struct ma_state *st)
{
	size_t i;

	for (i = 0; i < st->nlooks; i++)
		looks_shot_free(&st->looks[i]);
	free(st->looks);
	st->looks = NULL;
	st->nlooks = 0;
}

/* Duration of the input: its last frame's time plus one interval. */
static double
ma_duration(const struct ma_state *st)
{
	double dt = st->dt_last > 0.0	     ? st->dt_last
		    : st->fps_declared > 0.0 ? 1.0 / st->fps_declared
					     : MA_DEFAULT_DT;

	return st->t_last + dt;
}

/* Reads the proxy of role and measures every frame pair into st. */
static enum stage_result
ma_pairs(struct ma_state *st, const char *role, const struct ma_progress *pg)
{
	struct proxy_reader *px;
	char name[PROXY_NAME_SIZE];
	enum stage_result rc;
	uint8_t *first;
	size_t i;

	proxy_name(role, name);
	if ((rc = proxy_open(st->ctx, name, &px)) != STAGE_OK)
		return rc;
	st->px = px;
	rc = ma_start(st);
	if (rc == STAGE_OK && st->n > 0)
		rc = ma_measure(st, pg);
	if (rc == STAGE_OK && st->n == 0) {
		/* One frame: its time is the whole timeline. */
		first = malloc((size_t)st->width * (size_t)st->height);
		if (first == NULL || proxy_read(px, 0, first, &st->t_last) < 0)
			rc = stage_fail(st->ctx, STAGE_E_IO,
			    "motion proxy %s: cannot read its frame", name);
		free(first);
	}
	for (i = 0; rc == STAGE_OK && i < st->n; i++)
		st->reliable += st->s[i].reliable;
	if (rc == STAGE_OK && st->n > 0) {
		st->dt_last = st->s[st->n - 1].dt;
		st->t_last = st->s[st->n - 1].t + st->dt_last;
	}
	if (rc == STAGE_OK) {
		struct ma_span whole = {0.0, ma_duration(st)};

		rc = st->sh->n > 0 ? ma_looks(st, px, st->sh->shot, st->sh->n)
				   : ma_looks(st, px, &whole, 1);
	}
	proxy_close(px);
	st->px = NULL;
	return rc;
}

/* A number rounded to a multiple of unit; never -0. */
static json_t *
ma_num(double v, double unit)
{
	return json_real(round(v / unit) * unit + 0.0);
}

static json_t *
ma_num_if(bool known, double v, double unit)
{
	return known ? ma_num(v, unit) : json_null();
}

static json_t *
ma_shot_json(
    const struct ma_span *sp, const struct motion_shot *o, double aspect)
{
	bool k = o->camera != MOTION_UNKNOWN;
	double share =
	    o->duration_s > 0.0 ? o->reliable_s / o->duration_s : 0.0;

	return json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "start_s", ma_num(sp->t0, 1e-3), "end_s", ma_num(sp->t1, 1e-3),
	    "camera", motion_camera_name(o->camera), "tx_fw_per_s",
	    ma_num_if(k, o->vx, 1e-4), "ty_fh_per_s",
	    ma_num_if(k, o->vy * aspect, 1e-4), "zoom_per_s",
	    ma_num_if(k, o->vz, 1e-4), "rotation_deg_per_s",
	    ma_num_if(k, o->vr * 180.0 / M_PI, 1e-3), "shake",
	    ma_num_if(k, o->shake, 1e-4), "speed_fw_per_s",
	    ma_num_if(k, o->speed, 1e-4), "reliable_share",
	    ma_num(share, 1e-3));
}

/* Samples [*lo, return) start inside shot i (the last takes the rest). */
static size_t
ma_shot_end(const struct ma_state *st, const struct ma_span *shots, size_t n,
    size_t i, size_t lo)
{
	size_t hi = lo;

	if (i + 1 == n)
		return st->n;
	while (hi < st->n && st->s[hi].t + MA_EPS < shots[i + 1].t0)
		hi++;
	return hi;
}

/* A float, or null where nothing was measured. */
static json_t *
ma_level(float v)
{
	return isfinite(v) ? ma_num(v, 0.1) : json_null();
}

/* A shot's looks (looks.h): calm per join time, diff per time and skip. */
static json_t *
ma_looks_json(const struct looks_shot *ls)
{
	json_t *calm = json_array(), *diff = json_array(), *row;
	size_t i, k, per = LOOKS_NSKIPS * LOOKS_NVIEWS;
	int bad = calm == NULL || diff == NULL;

	for (i = 0; !bad && ls != NULL && i < ls->npoints; i++) {
		bad |= json_array_append_new(calm, ma_level(ls->calm[i])) == -1;
		bad |= (row = json_array()) == NULL;
		for (k = 0; !bad && k < per; k++)
			bad |= json_array_append_new(
				   row, ma_level(ls->diff[i * per + k])) == -1;
		bad |= row == NULL || json_array_append_new(diff, row) == -1;
	}
	if (bad) {
		json_decref(calm);
		json_decref(diff);
		return NULL;
	}
	return json_pack("{s:o, s:o}", "calm", calm, "diff", diff);
}

/* The grid every shot's looks are measured on. */
static json_t *
ma_looks_grid(void)
{
	json_t *skips = json_array(), *views = json_array();
	const struct looks_view *v;
	size_t i;

	for (i = 0; skips != NULL && i < LOOKS_NSKIPS; i++)
		json_array_append_new(skips, json_real(looks_skips[i]));
	for (i = 0; views != NULL && i < LOOKS_NVIEWS; i++) {
		v = &looks_views[i];
		json_array_append_new(
		    views, json_pack("{s:f, s:f, s:f}", "zoom", v->zoom, "x",
			       v->x, "y", v->y));
	}
	return json_pack("{s:f, s:f, s:o, s:o}", "step_s", LOOKS_STEP_S,
	    "calm_s", LOOKS_CALM_S, "skips_s", skips, "views", views);
}

static json_t *
ma_shots_json(const struct ma_state *st, const struct ma_span *shots, size_t n,
    struct ma_tally *tally)
{
	struct motion_shot o;
	json_t *arr = json_array(), *e;
	size_t i, lo = 0, hi;
	double aspect = (double)st->width / st->height;

	for (i = 0; arr != NULL && i < n; i++, lo = hi) {
		hi = ma_shot_end(st, shots, n, i, lo);
		if (motion_classify(st->s + lo, hi - lo, &o) == -1 ||
		    (e = ma_shot_json(&shots[i], &o, aspect)) == NULL ||
		    json_object_set_new(e, "looks",
			ma_looks_json(i < st->nlooks ? &st->looks[i] : NULL)) ==
			-1 ||
		    json_array_append_new(arr, e) == -1) {
			json_decref(arr);
			return NULL;
		}
		tally->known += o.camera != MOTION_UNKNOWN;
		tally->moving += o.camera == MOTION_PAN ||
				 o.camera == MOTION_TILT ||
				 o.camera == MOTION_ZOOM;
	}
	return arr;
}

/* Means of speed and zoom over the reliable pairs starting in second k. */
static json_t *
ma_second_json(const struct ma_state *st, size_t k, size_t *i)
{
	double dt = 0.0, speed = 0.0, zoom = 0.0;
	const struct motion_sample *s;

	for (; *i < st->n && floor(st->s[*i].t + 1e-9) <= (double)k; (*i)++) {
		s = &st->s[*i];
		if (!s->reliable)
			continue;
		dt += s->dt;
		speed += s->speed * s->dt;
		zoom += s->vz * s->dt;
	}
	return json_pack("{s:I, s:o, s:o}", "t_s", (json_int_t)k, "speed",
	    ma_num_if(dt > 0.0, speed / dt, 1e-4), "zoom",
	    ma_num_if(dt > 0.0, zoom / dt, 1e-4));
}

static json_t *
ma_per_second(const struct ma_state *st, double duration)
{
	size_t k, i = 0, nsec = (size_t)ceil(duration - 1e-6);
	json_t *arr = json_array();

	for (k = 0; arr != NULL && k < nsec; k++) {
		if (json_array_append_new(arr, ma_second_json(st, k, &i)) ==
		    -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static double
ma_mean_speed(const struct ma_state *st)
{
	double dt = 0.0, sum = 0.0;
	size_t i;

	for (i = 0; i < st->n; i++) {
		if (!st->s[i].reliable)
			continue;
		dt += st->s[i].dt;
		sum += st->s[i].speed * st->s[i].dt;
	}
	return dt > 0.0 ? sum / dt : 0.0;
}

static double
ma_fps(const struct ma_state *st)
{
	if (st->frames >= 2 && st->t_last > 0.0)
		return (double)(st->frames - 1) / st->t_last;
	return st->fps_declared;
}

static json_t *
ma_figures(
    const struct ma_state *st, const struct ma_tally *tally, double duration)
{
	double speed = ma_mean_speed(st);
	double usage =
	    tally->known > 0 ? 100.0 * tally->moving / tally->known : 0.0;

	return json_pack("{s:I, s:o, s:o, s:{s:i, s:i}, s:I, s:I, s:o, s:o, "
			 "s:o}",
	    "frames_analysed", (json_int_t)st->frames, "fps",
	    ma_num(ma_fps(st), 1e-3), "duration_s", ma_num(duration, 1e-3),
	    "proxy", "width", st->width, "height", st->height, "pairs_reliable",
	    (json_int_t)st->reliable, "pairs_unreliable",
	    (json_int_t)(st->n - st->reliable), "motion_intensity",
	    ma_num(100.0 * fmin(1.0, speed / MA_SPEED_FULL), 0.1), "zoom_usage",
	    ma_num(usage, 0.1), "mean_speed_fw_per_s", ma_num(speed, 1e-4));
}

/* The artifact's object for one input. */
static json_t *
ma_report(const struct ma_state *st, const struct ma_shots *sh)
{
	double duration = ma_duration(st);
	struct ma_span whole = {0.0, duration};
	struct ma_tally tally = {0, 0};
	json_t *o, *shots;

	shots = sh->n > 0 ? ma_shots_json(st, sh->shot, sh->n, &tally)
			  : ma_shots_json(st, &whole, 1, &tally);
	o = ma_figures(st, &tally, duration);
	if (o == NULL || shots == NULL ||
	    json_object_set_new(o, "shots_from",
		json_string(sh->n > 0 ? "video_analysis" : "whole_video")) ==
		-1 ||
	    (sh->n == 0 && json_object_set_new(
			       o, "shots_note", json_string(sh->note)) == -1) ||
	    json_object_set_new(o, "proxy_id", json_string(st->proxy_id)) ==
		-1 ||
	    json_object_set_new(o, "looks_grid", ma_looks_grid()) == -1 ||
	    json_object_set_new(o, "shots", shots) == -1 ||
	    json_object_set_new(o, "per_second", ma_per_second(st, duration)) ==
		-1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Analyses one input; va is video_analysis.json, or NULL for va_note. */
static enum stage_result
ma_analyse(struct stage_ctx *ctx, const json_t *va, const char *va_note,
    const char *role, const struct ma_progress *pg, json_t **out)
{
	struct ma_shots sh;
	struct ma_state st;
	enum stage_result rc;

	memset(&sh, 0, sizeof(sh));
	memset(&st, 0, sizeof(st));
	if (va == NULL)
		(void)str_copy(sh.note, va_note, sizeof(sh.note));
	else if (ma_shots_parse(va, role, &sh) == -1)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	st.ctx = ctx;
	st.sh = &sh;
	rc = ma_pairs(&st, role, pg);
	if (rc == STAGE_OK && (*out = ma_report(&st, &sh)) == NULL)
		rc = stage_fail(
		    ctx, STAGE_E_TEMP, "out of memory building the analysis");
	free(st.s);
	ma_looks_free(&st);
	ma_shots_free(&sh);
	return rc;
}

/* What reeld is told: the Style DNA figures per input. */
static json_t *
ma_summary_of(const json_t *r)
{
	if (r == NULL || json_is_null(r))
		return json_null();
	return json_pack("{s:O, s:O, s:I}", "motion_intensity",
	    json_object_get(r, "motion_intensity"), "zoom_usage",
	    json_object_get(r, "zoom_usage"), "shot_count",
	    (json_int_t)json_array_size(json_object_get(r, "shots")));
}

static json_t *
ma_summary(const json_t *jt, const json_t *js)
{
	return json_pack("{s:o, s:o}", "template", ma_summary_of(jt), "source",
	    ma_summary_of(js));
}

/* The inputs whose proxy this job reads: one when both are one file. */
static size_t
ma_roles(const struct stage_ctx *ctx, const char *roles[2])
{
	const char *tpl = ctx->template_path, *src = ctx->source;
	size_t n = 0;

	if (tpl != NULL)
		roles[n++] = "template";
	if (src != NULL && (tpl == NULL || !stage_same_file(tpl, src)))
		roles[n++] = "source";
	return n;
}

static void
ma_proxy_path(
    const struct stage_ctx *ctx, const char *role, char *path, size_t size)
{
	char name[PROXY_NAME_SIZE];

	proxy_name(role, name);
	snprintf(path, size, "%s/%s", ctx->job_dir, name);
}

/*
 * A run that wrote its artifact and deleted the proxies, but was killed
 * before reeld recorded it, is re-run after a restart. Its artifact
 * stands when every proxy is gone and it was made from the very proxies
 * video_analysis.json names; then that artifact is returned.
 */
static json_t *
ma_earlier_run(const struct stage_ctx *ctx, const json_t *va)
{
	char path[PATH_MAX];
	const char *roles[2], *id;
	const json_t *mine;
	json_t *doc;
	size_t i, n = ma_roles(ctx, roles);

	for (i = 0; i < n; i++) {
		ma_proxy_path(ctx, roles[i], path, sizeof(path));
		if (access(path, F_OK) == 0 || errno != ENOENT)
			return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", ctx->job_dir, MA_ARTIFACT);
	if ((doc = json_load_file(path, 0, NULL)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		id = json_string_value(json_object_get(
		    json_object_get(
			json_object_get(va, roles[i]), "motion_proxy"),
		    "id"));
		mine =
		    json_object_get(json_object_get(doc, roles[i]), "proxy_id");
		if (id == NULL || !json_is_string(mine) ||
		    strcmp(id, json_string_value(mine)) != 0) {
			json_decref(doc);
			return NULL;
		}
	}
	return doc;
}

static enum stage_result
ma_run_inputs(struct stage_ctx *ctx, const json_t *va, const char *va_note,
    json_t **jt, json_t **js)
{
	const char *tpl = ctx->template_path, *src = ctx->source;
	bool same = tpl != NULL && src != NULL && stage_same_file(tpl, src);
	double w = tpl != NULL && src != NULL && !same ? 0.5 : 1.0;
	struct ma_progress pt = {ctx, 0.0, w}, ps = {ctx, 1.0 - w, w};
	enum stage_result rc = STAGE_OK;

	if (tpl != NULL)
		rc = ma_analyse(ctx, va, va_note, "template", &pt, jt);
	if (rc != STAGE_OK || src == NULL)
		return rc;
	if (same) {
		*js = json_incref(*jt);
		return STAGE_OK;
	}
	return ma_analyse(ctx, va, va_note, "source", &ps, js);
}

/* The proxies are spent once the artifact is written. */
static void
ma_proxies_remove(const struct stage_ctx *ctx)
{
	char path[PATH_MAX];
	const char *roles[2];
	size_t i, n = ma_roles(ctx, roles);

	for (i = 0; i < n; i++) {
		ma_proxy_path(ctx, roles[i], path, sizeof(path));
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("%s: cannot remove %s", ctx->job_id, path);
	}
}

static enum stage_result
ma_write(struct stage_ctx *ctx, json_t *jt, json_t *js)
{
	enum stage_result rc;
	json_t *doc;

	doc = json_pack("{s:i, s:O, s:O}", "version", MA_VERSION, "template",
	    jt != NULL ? jt : json_null(), "source",
	    js != NULL ? js : json_null());
	if (doc == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	rc = stage_write_json(ctx, MA_ARTIFACT, doc);
	json_decref(doc);
	if (rc == STAGE_OK) {
		ctx->result = ma_summary(jt, js);
		ma_proxies_remove(ctx);
	}
	return rc;
}

enum stage_result
motion_analysis_run(struct stage_ctx *ctx)
{
	json_t *va, *jt = NULL, *js = NULL, *done = NULL;
	enum stage_result rc;
	char note[256] = "";

	if (ctx->template_path == NULL && ctx->source == NULL)
		return stage_fail(ctx, STAGE_E_NOINPUT,
		    "the job has neither a template nor a source video");
	va = ma_va_load(ctx, note, sizeof(note));
	if (va != NULL && (done = ma_earlier_run(ctx, va)) != NULL) {
		ctx->result = ma_summary(json_object_get(done, "template"),
		    json_object_get(done, "source"));
		rc = STAGE_OK;
	} else {
		rc = ma_run_inputs(ctx, va, note, &jt, &js);
		if (rc == STAGE_OK)
			rc = ma_write(ctx, jt, js);
	}
	json_decref(va);
	json_decref(done);
	json_decref(jt);
	json_decref(js);
	if (rc == STAGE_OK)
		stage_progress(ctx, 1.0);
	return rc;
}

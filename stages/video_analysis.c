/*
 * The video_analysis stage (see video_analysis.h and
 * docs/stages/video_analysis.md).
 *
 * Per decoded proxy frame, in one pass: HSV and edge planes into a ring of
 * the last SHOTS_SKIPS + 2 frames (content scores against t-1, and against
 * t-2 .. t-7 near possible cuts, for the flash test), luma
 * statistics, block means, a quarter-size thumbnail into a ring long enough
 * for the widest linear-blend test, and every VA_COLOUR_STEP seconds a
 * colour summary. Detection runs on the feature arrays after the decode;
 * colour statistics are then pooled per shot, leaving out frames inside
 * gradual transitions and all-black or all-white frames (unless nothing
 * else is left), and pooled again for the whole video.
 *
 * The proxy frames go from the decoding thread to the analysis thread
 * through a queue of VA_QUEUE copies. Per-frame loops are written for
 * speed: no integer divides, memory walked in order, fixed-size inner
 * blocks the compiler can vectorise.
 *
 * The motion proxies are committed before the artifact, which is written
 * to a temporary file, synced and renamed, so a reader sees the old state
 * or the complete new one, never a torn file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "av.h"
#include "av_video.h"
#include "colour.h"
#include "proxy.h"
#include "util.h"
#include "video_analysis.h"

/* Frames of HSV planes kept: t and the SHOTS_SKIPS + 1 before it. */
#define VA_RING (SHOTS_SKIPS + 2)
/* Thumbnails are the proxy shrunk by this factor each way. */
#define VA_THUMB_DIV 4
/* Colour samples read every VA_COLOUR_STRIDE-th pixel and row. */
#define VA_COLOUR_STRIDE 2
/* A frame this share black or white says nothing about the grade. */
#define VA_FLAT_SHARE 0.98f
/* Bytes per inner block: fixed-length loops the compiler vectorises. */
#define VA_LANES 16
/* Proxy frames in flight between the decoding and the analysis thread. */
#define VA_QUEUE 8
/* Luma histogram bins in the whole-video statistics. */
#define VA_HIST_BINS 64
/* An interval this far from the median is a variable-rate frame... */
#define VA_VFR_DEVIATION 0.10
/* ...and this share of such intervals makes the video variable rate. */
#define VA_VFR_SHARE 0.02

/*
 * VA_LANES bytes as one value (GCC and Clang vector extensions): the
 * compiler maps it to whatever vector instructions the target has.
 */
typedef uint8_t va_bytes __attribute__((vector_size(VA_LANES)));
/* Eight bytes, and eight 16-bit sums of them. */
typedef uint8_t va_octet __attribute__((vector_size(8)));
typedef uint16_t va_words __attribute__((vector_size(16)));
/* Eight signed 16-bit values: Sobel sums and gradients. */
typedef int16_t va_shorts __attribute__((vector_size(16)));

struct va_thumbs {
	int width, height;
	size_t px;   /* pixels per thumbnail */
	size_t size; /* bytes per thumbnail */
	size_t cap;  /* slots in the ring */
	uint8_t *buf;
	uint16_t *luma;	       /* per slot: R + 2G + B of each pixel */
	uint64_t *sum, *sumsq; /* per slot: of luma and its square */
	uint16_t *acc;	       /* one proxy row of column sums */
};

struct va_sample {
	size_t frame;
	struct colour_frame c;
};

struct va_state {
	struct stage_ctx *ctx;
	struct va_score_params sp;
	double min_content; /* shots_params.min_content */
	struct va_planes ring[VA_RING];
	struct va_thumbs th;
	struct shot_frame *f;
	size_t n, cap;
	struct va_sample *cs;
	size_t ncs, cscap;
	double next_colour;
};

struct va_progress {
	struct stage_ctx *ctx;
	double base, weight;
};

/*
 * The frames between the two threads: slots head .. tail - 1 (mod
 * VA_QUEUE) wait for the analysis, which fails into its own ctx so the two
 * threads never write one error.
 */
struct va_queue {
	pthread_mutex_t lock;
	pthread_cond_t more, room;
	uint8_t *buf[VA_QUEUE]; /* G, B and R planes, one after another */
	double t[VA_QUEUE];
	int width, height;
	size_t head, tail;
	bool done;   /* the decoder has put its last frame */
	bool failed; /* the analysis has stopped */
	struct va_state *s;
	struct stage_ctx ctx;
	enum stage_result rc;
};

static void va_hsv_one(int r, int g, int b, uint8_t *h, uint8_t *s, uint8_t *v);
static void va_hsv_row(const uint8_t *restrict r, const uint8_t *restrict g,
    const uint8_t *restrict b, uint8_t *restrict h, uint8_t *restrict s,
    uint8_t *restrict v, int n);
static int va_median(const uint8_t *v, size_t n);
static int16_t va_sobel_one(
    const uint8_t *a, const uint8_t *b, const uint8_t *c, int x);
static void va_sobel(struct va_planes *p);
static void va_nms(struct va_planes *p, int low, int high);
static bool va_touches_strong(const uint8_t *c, int w);
static void va_hysteresis(struct va_planes *p);
static void va_or(uint8_t *restrict dst, const uint8_t *restrict src, int n);
static void va_dilate(struct va_planes *p);
static void va_edges(struct va_planes *p);
static unsigned va_absdiff_one(int a, int b, bool wrap);
static uint64_t va_absdiff(
    const uint8_t *a, const uint8_t *b, size_t n, bool wrap);
static int va_luma_one(int r, int g, int b);
static void va_luma_row(const struct va_rgb *im, int y, uint64_t acc[4]);
static uint32_t va_sum(const uint8_t *p, int n);
static int va_thumbs_init(struct va_thumbs *th, int width, int height);
static void va_thumbs_free(struct va_thumbs *th);
static void va_thumb_row(
    struct va_thumbs *th, const uint8_t *src, int linesize, uint8_t *dst);
static void va_thumb_put(
    struct va_thumbs *th, size_t index, const struct va_rgb *im);
static float va_correlation(
    double n, double sa, double sb, double saa, double sbb, double sab);
static void va_blend_sums(const uint8_t *a, const uint8_t *m, const uint8_t *b,
    size_t n, uint64_t *d, uint64_t *r);
static uint64_t va_dot(const uint16_t *a, const uint16_t *b, size_t n);
static void va_blend_test(const struct va_thumbs *th, size_t a, size_t m,
    size_t b, struct shot_frame *f, int k);
static int va_state_init(
    struct va_state *s, struct stage_ctx *ctx, const struct avv_info *in);
static void va_state_free(struct va_state *s);
static int va_grow(struct va_state *s);
static void va_scores(struct va_state *s, struct shot_frame *f);
static void va_linearity(struct va_state *s);
static void va_rgb_of(const struct avv_frame *fr, struct va_rgb *im);
static int va_colour(struct va_state *s, const struct va_rgb *im, double t);
static enum stage_result va_frame(
    struct va_state *s, const struct avv_frame *fr);
static size_t va_first_sample(const struct va_state *s, size_t frame);
static bool va_sample_clean(const struct va_state *s, size_t frame,
    const struct shot_transition *prev, const struct shot_transition *next);
static size_t va_shot_colour(const struct va_state *s, size_t first,
    size_t last, const struct shot_transition *prev,
    const struct shot_transition *next, struct colour_acc *acc);
static json_t *va_lab_json(const double v[3]);
static json_t *va_stats_json(const struct colour_acc *acc);
static json_t *va_transition_json(
    const struct va_state *s, const struct shot_transition *tr);
static json_t *va_shot_json(const struct va_state *s, size_t i,
    const struct shot_transition *tr, size_t ntr, double end_s,
    struct colour_acc *global);
static json_t *va_shots_json(const struct va_state *s,
    const struct shot_transition *tr, size_t ntr, double end_s,
    struct colour_acc *global);
static bool va_vfr(const struct va_state *s, double dt);
static json_t *va_geometry_json(const struct avv_info *in);
static json_t *va_timing_json(
    const struct va_state *s, const struct avv_info *in, double dt);
static json_t *va_report(const struct va_state *s, const struct avv_info *in,
    const struct shot_transition *tr, size_t ntr);
static enum stage_result va_finish(
    struct va_state *s, const struct avv_info *in, json_t **out);
static void va_progress_cb(void *arg, double fraction);
static json_t *va_summary_of(const json_t *report);
static json_t *va_summary(const json_t *tpl, const json_t *src);
static int va_queue_init(
    struct va_queue *q, struct va_state *s, const struct avv_info *in);
static void va_queue_free(struct va_queue *q);
static bool va_queue_put(struct va_queue *q, const struct avv_frame *fr);
static void va_queue_end(struct va_queue *q);
static bool va_queue_take(struct va_queue *q, struct avv_frame *fr);
static void va_queue_release(struct va_queue *q, enum stage_result rc);
static void *va_analysis_main(void *arg);
static enum stage_result va_decode(struct va_queue *q, struct avv *v,
    struct proxy_writer *proxy, va_progress_fn fn, void *arg);
static enum stage_result va_run(struct va_state *s, struct avv *v,
    struct proxy_writer *proxy, va_progress_fn fn, void *arg);
static enum stage_result va_proxy_start(struct stage_ctx *ctx, struct avv *v,
    const char *role, struct proxy_writer **proxy);
static enum stage_result va_file(struct stage_ctx *ctx, const char *path,
    va_progress_fn fn, void *arg, const char *role, struct proxy_writer **proxy,
    json_t **out);
static json_t *va_proxy_json(const struct proxy_info *in);
static enum stage_result va_analyse(struct stage_ctx *ctx, const char *path,
    double base, double weight, const char *role, struct proxy_writer **proxy,
    json_t **out);
static void va_proxy_remove(struct stage_ctx *ctx, const char *role);
static enum stage_result va_commit(
    struct stage_ctx *ctx, struct proxy_writer **pt, struct proxy_writer **ps);

const struct stage_ops stage_video_analysis_ops = {
    "video_analysis", video_analysis_run};

void
va_score_params_default(struct va_score_params *sp)
{
	/*
	 * PySceneDetect's suggested weights when the edge term is on; hue
	 * wraps around the wheel (0 and 179 are neighbours).
	 */
	sp->weights[0] = 1.0;
	sp->weights[1] = 0.5;
	sp->weights[2] = 1.0;
	sp->weights[3] = 0.2;
	sp->hue_wrap = true;
}

int
va_planes_alloc(struct va_planes *p, int width, int height)
{
	size_t n = (size_t)width * (size_t)height;
	int i;

	memset(p, 0, sizeof(*p));
	p->width = width;
	p->height = height;
	for (i = 0; i < 4; i++)
		p->plane[i] = calloc(n, 1);
	p->grad = calloc(n, sizeof(*p->grad));
	p->work = calloc(n, 1);
	if (p->plane[0] == NULL || p->plane[1] == NULL || p->plane[2] == NULL ||
	    p->plane[3] == NULL || p->grad == NULL || p->work == NULL) {
		va_planes_free(p);
		return -1;
	}
	return 0;
}

void
va_planes_free(struct va_planes *p)
{
	int i;

	for (i = 0; i < 4; i++)
		free(p->plane[i]);
	free(p->grad);
	free(p->work);
	memset(p, 0, sizeof(*p));
}

/*
 * 8-bit HSV on OpenCV's scales: H in 0..179 (degrees / 2), S and V 0..255,
 * rounded to nearest, halves away from zero (OpenCV's own fixed point may
 * round a half differently: one step on a 180-step wheel). Both quotients
 * come from tables indexed by (mx, d) and (d, |num|), filled once with
 * integer division: a lookup costs a fraction of the divide it replaces.
 */
static uint8_t va_sat_table[256 * 256]; /* [mx][d] */
static uint8_t va_hue_table[256 * 256]; /* [d][|num|], |num| <= d */
static pthread_once_t va_hsv_once = PTHREAD_ONCE_INIT;

static void
va_hsv_tables(void)
{
	int mx, d, n;

	for (mx = 1; mx < 256; mx++)
		for (d = 0; d <= mx; d++)
			va_sat_table[mx * 256 + d] =
			    (uint8_t)((255 * d + mx / 2) / mx);
	for (d = 1; d < 256; d++)
		for (n = 0; n <= d; n++)
			va_hue_table[d * 256 + n] =
			    (uint8_t)((60 * n + d) / (2 * d));
}

static inline void
va_hsv_one(int r, int g, int b, uint8_t *h, uint8_t *s, uint8_t *v)
{
	int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
	int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
	int d = mx - mn, num, base, q;

	num = mx == r ? g - b : mx == g ? b - r : r - g;
	base = mx == r ? 0 : mx == g ? 60 : 120;
	q = va_hue_table[d * 256 + abs(num)];
	q = base + (num >= 0 ? q : -q);
	*h = (uint8_t)(d == 0 ? 0 : q < 0 ? q + 180 : q);
	*s = va_sat_table[mx * 256 + d];
	*v = (uint8_t)mx;
}

/* The lanes of a where mask is set, of b elsewhere. */
static inline va_bytes
va_select(va_bytes mask, va_bytes a, va_bytes b)
{
	return (a & mask) | (b & ~mask);
}

static inline va_bytes
va_max(va_bytes a, va_bytes b)
{
	return va_select((va_bytes)(a > b), a, b);
}

static inline va_bytes
va_min(va_bytes a, va_bytes b)
{
	return va_select((va_bytes)(a < b), a, b);
}

/*
 * va_hsv_one() on VA_LANES pixels: all but the two table lookups on
 * vectors, the lookups one pixel at a time.
 */
static inline void
va_hsv_lanes(const uint8_t *rp, const uint8_t *gp, const uint8_t *bp,
    uint8_t *h, uint8_t *s, uint8_t *v)
{
	va_bytes r, g, b, mx, d, is_r, is_g, x, y, num, neg, base, q, wrap;
	va_bytes zero = {0};
	uint8_t mxs[VA_LANES], ds[VA_LANES], nums[VA_LANES], qs[VA_LANES];
	int j;

	memcpy(&r, rp, sizeof(r));
	memcpy(&g, gp, sizeof(g));
	memcpy(&b, bp, sizeof(b));
	mx = va_max(r, va_max(g, b));
	d = mx - va_min(r, va_min(g, b));
	is_r = (va_bytes)(mx == r);
	is_g = ~is_r & (va_bytes)(mx == g);
	/* num = x - y: g - b at a red maximum, b - r at green, r - g at blue.
	 */
	x = va_select(is_r, g, va_select(is_g, b, r));
	y = va_select(is_r, b, va_select(is_g, r, g));
	neg = (va_bytes)(x < y);
	num = va_max(x, y) - va_min(x, y);
	base = ((zero + 60) & is_g) | ((zero + 120) & ~(is_r | is_g));
	memcpy(mxs, &mx, sizeof(mxs));
	memcpy(ds, &d, sizeof(ds));
	memcpy(nums, &num, sizeof(nums));
	for (j = 0; j < VA_LANES; j++) {
		s[j] = va_sat_table[mxs[j] * 256 + ds[j]];
		qs[j] = va_hue_table[ds[j] * 256 + nums[j]];
	}
	memcpy(&q, qs, sizeof(q));
	/* A red maximum with num < 0 lies below 0: base - q wraps to 180 - q.
	 */
	wrap = neg & (va_bytes)(base < q);
	q = va_select(neg, base - q, base + q) + (wrap & (zero + 180));
	memcpy(h, &q, sizeof(q));
	memcpy(v, &mx, sizeof(mx));
}

static void
va_hsv_row(const uint8_t *restrict r, const uint8_t *restrict g,
    const uint8_t *restrict b, uint8_t *restrict h, uint8_t *restrict s,
    uint8_t *restrict v, int n)
{
	int x = 0;

	for (; x + VA_LANES <= n; x += VA_LANES)
		va_hsv_lanes(r + x, g + x, b + x, h + x, s + x, v + x);
	for (; x < n; x++)
		va_hsv_one(r[x], g[x], b[x], &h[x], &s[x], &v[x]);
}

/* Four interleaved histograms: repeats of one value do not serialise. */
static int
va_median(const uint8_t *v, size_t n)
{
	uint32_t hist[4][256];
	size_t cum = 0, i;
	int k;

	memset(hist, 0, sizeof(hist));
	for (i = 0; i + 4 <= n; i += 4) {
		hist[0][v[i]]++;
		hist[1][v[i + 1]]++;
		hist[2][v[i + 2]]++;
		hist[3][v[i + 3]]++;
	}
	for (; i < n; i++)
		hist[0][v[i]]++;
	for (k = 0; k < 256; k++) {
		cum += hist[0][k] + hist[1][k] + hist[2][k] + hist[3][k];
		if (2 * cum >= n)
			return k;
	}
	return 255;
}

/*
 * Sobel L1 magnitude at b[x] (a above, c below): positive where the
 * horizontal gradient dominates, negative where the vertical one does.
 */
static inline int16_t
va_sobel_one(const uint8_t *a, const uint8_t *b, const uint8_t *c, int x)
{
	int gx = (a[x + 1] + 2 * b[x + 1] + c[x + 1]) -
		 (a[x - 1] + 2 * b[x - 1] + c[x - 1]);
	int gy =
	    (c[x - 1] + 2 * c[x] + c[x + 1]) - (a[x - 1] + 2 * a[x] + a[x + 1]);
	int ax = abs(gx), ay = abs(gy);

	return (int16_t)(ax >= ay ? ax + ay : -(ax + ay));
}

/* Eight bytes from p, widened. */
static inline va_shorts
va_load8(const uint8_t *p)
{
	va_octet o;

	memcpy(&o, p, sizeof(o));
	return __builtin_convertvector(o, va_shorts);
}

static inline va_shorts
va_abs8(va_shorts v)
{
	va_shorts sign = v >> 15;

	return (v ^ sign) - sign;
}

/* va_sobel_one() for b[x .. x + 7]; sums stay within +-2040. */
static inline void
va_sobel8(
    const uint8_t *a, const uint8_t *b, const uint8_t *c, int x, int16_t *out)
{
	va_shorts al = va_load8(a + x - 1), am = va_load8(a + x),
		  ar = va_load8(a + x + 1), bl = va_load8(b + x - 1),
		  br = va_load8(b + x + 1), cl = va_load8(c + x - 1),
		  cm = va_load8(c + x), cr = va_load8(c + x + 1);
	va_shorts ax = va_abs8((ar + br + br + cr) - (al + bl + bl + cl));
	va_shorts ay = va_abs8((cl + cm + cm + cr) - (al + am + am + ar));
	va_shorts sum = ax + ay, horizontal = ax >= ay;

	sum = (sum & horizontal) | (-sum & ~horizontal);
	memcpy(out + x, &sum, sizeof(sum));
}

/* Sobel of V into grad; 0 on the border. */
static void
va_sobel(struct va_planes *p)
{
	const uint8_t *v = p->plane[2], *a, *b, *c;
	int w = p->width, h = p->height, x, y;
	int16_t *out;

	memset(p->grad, 0, (size_t)w * h * sizeof(*p->grad));
	for (y = 1; y + 1 < h; y++) {
		a = v + (size_t)(y - 1) * w;
		b = a + w;
		c = b + w;
		out = p->grad + (size_t)y * w;
		for (x = 1; x + 9 <= w; x += 8)
			va_sobel8(a, b, c, x, out);
		for (; x + 1 < w; x++)
			out[x] = va_sobel_one(a, b, c, x);
	}
}

/* Whether any of 16 bytes is non-zero. */
static inline bool
va_any16(const void *p)
{
	uint64_t q[2];

	memcpy(q, p, sizeof(q));
	return (q[0] | q[1]) != 0;
}

/* Ridge test of one pixel: 2 strong, 1 weak, 0 none. */
static inline uint8_t
va_nms_one(const int16_t *g, int w, int low, int high)
{
	int m = abs(g[0]), m1, m2;

	if (m < low)
		return 0;
	m1 = abs(g[0] > 0 ? g[-1] : g[-w]);
	m2 = abs(g[0] > 0 ? g[1] : g[w]);
	if (m > m1 && m >= m2)
		return m >= high ? 2 : 1;
	return 0;
}

/*
 * Thin edges to their ridge, into work. Most pixels are below the low
 * threshold: eight of them are dismissed at once.
 */
static void
va_nms(struct va_planes *p, int low, int high)
{
	int w = p->width, h = p->height, x, y, j;
	va_shorts lows = {0}, m;
	const int16_t *g;
	uint8_t *out;

	lows += (int16_t)low;
	memset(p->work, 0, (size_t)w * h);
	for (y = 1; y + 1 < h; y++) {
		g = p->grad + (size_t)y * w;
		out = p->work + (size_t)y * w;
		for (x = 1; x + 9 <= w; x += 8) {
			memcpy(&m, g + x, sizeof(m));
			m = va_abs8(m) >= lows;
			if (!va_any16(&m))
				continue;
			for (j = x; j < x + 8; j++)
				out[j] = va_nms_one(g + j, w, low, high);
		}
		for (; x + 1 < w; x++)
			out[x] = va_nms_one(g + x, w, low, high);
	}
}

/* A weak pixel with a strong one among its 8 neighbours. */
static bool
va_touches_strong(const uint8_t *c, int w)
{
	return c[-w - 1] == 2 || c[-w] == 2 || c[-w + 1] == 2 || c[-1] == 2 ||
	       c[1] == 2 || c[w - 1] == 2 || c[w] == 2 || c[w + 1] == 2;
}

static inline bool
va_is_edge(const uint8_t *c, int w)
{
	return c[0] == 2 || (c[0] == 1 && va_touches_strong(c, w));
}

/*
 * Strong pixels, and weak ones touching a strong one, become edges; runs
 * of 16 pixels without either are passed over.
 */
static void
va_hysteresis(struct va_planes *p)
{
	int w = p->width, h = p->height, x, y, j;
	const uint8_t *row;
	uint8_t *e;

	memset(p->plane[3], 0, (size_t)w * h);
	for (y = 1; y + 1 < h; y++) {
		row = p->work + (size_t)y * w;
		e = p->plane[3] + (size_t)y * w;
		for (x = 1; x + VA_LANES < w; x += VA_LANES) {
			if (!va_any16(row + x))
				continue;
			for (j = x; j < x + VA_LANES; j++)
				e[j] = va_is_edge(row + j, w) ? 255 : 0;
		}
		for (; x + 1 < w; x++)
			e[x] = va_is_edge(row + x, w) ? 255 : 0;
	}
}

/* dst |= src over n bytes, a vector of VA_LANES bytes at a time. */
static void
va_or(uint8_t *restrict dst, const uint8_t *restrict src, int n)
{
	va_bytes a, b;
	int x = 0;

	for (; x + VA_LANES <= n; x += VA_LANES) {
		memcpy(&a, dst + x, sizeof(a));
		memcpy(&b, src + x, sizeof(b));
		a |= b;
		memcpy(dst + x, &a, sizeof(a));
	}
	for (; x < n; x++)
		dst[x] |= src[x];
}

/*
 * Square dilation of 4 + sqrt(w * h) / 192 pixels, odd (PySceneDetect).
 * Edges are 0 or 255, so a window's maximum is the OR of its pixels:
 * shifted rows ORed into work, then shifted rows of work ORed back.
 */
static void
va_dilate(struct va_planes *p)
{
	int w = p->width, h = p->height, k, r, y, dx;
	uint8_t *e = p->plane[3], *row;

	k = 4 + (int)lrint(sqrt((double)w * h) / 192.0);
	r = (k % 2 == 0 ? k + 1 : k) / 2;
	memcpy(p->work, e, (size_t)w * h);
	for (y = 0; y < h; y++) {
		row = p->work + (size_t)y * w;
		for (dx = 1; dx <= r && dx < w; dx++) {
			va_or(row, e + (size_t)y * w + dx, w - dx);
			va_or(row + dx, e + (size_t)y * w, w - dx);
		}
	}
	memcpy(e, p->work, (size_t)w * h);
	for (dx = 1; dx <= r && dx < h; dx++) {
		va_or(e, p->work + (size_t)dx * w, (h - dx) * w);
		va_or(e + (size_t)dx * w, p->work, (h - dx) * w);
	}
}

/*
 * Canny-style edges on V with thresholds from its median (PySceneDetect:
 * 2/3 and 4/3 of the median, the high one capped at 255), floored so
 * flat dark frames do not turn noise into edges; then dilated.
 */
static void
va_edges(struct va_planes *p)
{
	int med = va_median(p->plane[2], (size_t)p->width * p->height);
	int low = (int)(2.0 * med / 3.0), high = (int)(4.0 * med / 3.0);

	low = low < VA_EDGE_LOW_MIN ? VA_EDGE_LOW_MIN : low;
	high = high > 255		 ? 255
	       : high < VA_EDGE_HIGH_MIN ? VA_EDGE_HIGH_MIN
					 : high;
	va_sobel(p);
	va_nms(p, low, high);
	va_hysteresis(p);
	va_dilate(p);
}

void
va_planes_fill(struct va_planes *p, const struct va_rgb *im)
{
	size_t i;
	int y;

	(void)pthread_once(&va_hsv_once, va_hsv_tables);
	for (y = 0; y < p->height; y++) {
		i = (size_t)y * p->width;
		va_hsv_row(im->p[0] + (size_t)y * im->ls[0],
		    im->p[1] + (size_t)y * im->ls[1],
		    im->p[2] + (size_t)y * im->ls[2], p->plane[0] + i,
		    p->plane[1] + i, p->plane[2] + i, p->width);
	}
	va_edges(p);
}

/* |a - b|, or around the hue wheel when wrap is set. */
static inline unsigned
va_absdiff_one(int a, int b, bool wrap)
{
	int d = abs(a - b);

	return (unsigned)(wrap && 180 - d < d ? 180 - d : d);
}

/* Sum of the bytes of v: a fixed-length loop the compiler vectorises. */
static inline unsigned
va_bytes_sum(va_bytes v)
{
	unsigned sum = 0;
	int j;

	for (j = 0; j < VA_LANES; j++)
		sum += v[j];
	return sum;
}

/* va_absdiff_one() on VA_LANES bytes at once. */
static inline va_bytes
va_absdiff_lanes(const uint8_t *a, const uint8_t *b, bool wrap)
{
	va_bytes x, y, d, wheel = {0};

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	d = va_max(x, y) - va_min(x, y);
	if (!wrap)
		return d;
	wheel += 180;
	return va_min(d, wheel - d);
}

/* Sum of va_absdiff_one() over n bytes. */
static uint64_t
va_absdiff(const uint8_t *a, const uint8_t *b, size_t n, bool wrap)
{
	uint64_t sum = 0;
	size_t i = 0;

	for (; i + VA_LANES <= n; i += VA_LANES)
		sum += va_bytes_sum(va_absdiff_lanes(a + i, b + i, wrap));
	for (; i < n; i++)
		sum += va_absdiff_one(a[i], b[i], wrap);
	return sum;
}

double
va_content_score(const struct va_planes *a, const struct va_planes *b,
    const struct va_score_params *sp)
{
	size_t n = (size_t)a->width * a->height;
	double score = 0.0, wsum = 0.0;
	int c;

	for (c = 0; c < 4 && n > 0; c++) {
		score += sp->weights[c] *
			 (double)va_absdiff(a->plane[c], b->plane[c], n,
			     c == 0 && sp->hue_wrap) /
			 (double)n;
		wsum += fabs(sp->weights[c]);
	}
	return wsum > 0.0 ? score / wsum : 0.0;
}

/* BT.709 luma weights in 8.8 fixed point. */
static inline int
va_luma_one(int r, int g, int b)
{
	return (54 * r + 183 * g + 19 * b + 128) >> 8;
}

/* Sums of luma and its square, and the black and white counts, of a row. */
static void
va_luma_row(const struct va_rgb *im, int y, uint64_t acc[4])
{
	const uint8_t *r = im->p[0] + (size_t)y * im->ls[0];
	const uint8_t *g = im->p[1] + (size_t)y * im->ls[1];
	const uint8_t *b = im->p[2] + (size_t)y * im->ls[2];
	uint32_t s[VA_LANES] = {0}, q[VA_LANES] = {0}, lo[VA_LANES] = {0},
		 hi[VA_LANES] = {0};
	int x = 0, j, l;

	for (; x + VA_LANES <= im->width; x += VA_LANES) {
		for (j = 0; j < VA_LANES; j++) {
			l = va_luma_one(r[x + j], g[x + j], b[x + j]);
			s[j] += (uint32_t)l;
			q[j] += (uint32_t)(l * l);
			lo[j] += l <= 25;
			hi[j] += l >= 230;
		}
	}
	for (; x < im->width; x++) {
		l = va_luma_one(r[x], g[x], b[x]);
		s[0] += (uint32_t)l;
		q[0] += (uint32_t)(l * l);
		lo[0] += l <= 25;
		hi[0] += l >= 230;
	}
	for (j = 0; j < VA_LANES; j++) {
		acc[0] += s[j];
		acc[1] += q[j];
		acc[2] += lo[j];
		acc[3] += hi[j];
	}
}

void
va_luma_stats(const struct va_rgb *im, struct shot_frame *f)
{
	double n = (double)im->width * im->height, mean;
	uint64_t acc[4] = {0, 0, 0, 0};
	int y;

	for (y = 0; y < im->height; y++)
		va_luma_row(im, y, acc);
	mean = (double)acc[0] / n;
	f->luma = (float)mean;
	f->luma_std = (float)sqrt(fmax(0.0, (double)acc[1] / n - mean * mean));
	f->black = (float)(acc[2] / n);
	f->white = (float)(acc[3] / n);
}

/* Sum of n bytes. */
static uint32_t
va_sum(const uint8_t *p, int n)
{
	uint32_t lane[VA_LANES] = {0}, sum = 0;
	int x = 0, j;

	for (; x + VA_LANES <= n; x += VA_LANES)
		for (j = 0; j < VA_LANES; j++)
			lane[j] += p[x + j];
	for (; x < n; x++)
		sum += p[x];
	for (j = 0; j < VA_LANES; j++)
		sum += lane[j];
	return sum;
}

void
va_grid(const struct va_rgb *im, float grid[SHOTS_GRID])
{
	uint64_t sum[SHOTS_GRID] = {0};
	size_t count[SHOTS_GRID / 3] = {0};
	int y, c, k, row, cell, x0, x1;
	const int side = SHOTS_GRID_SIDE;

	for (y = 0; y < im->height; y++) {
		row = y * side / im->height * side;
		for (c = 0; c < side; c++) {
			/* Columns of cell c: [x0, x1). */
			x0 = (c * im->width + side - 1) / side;
			x1 = ((c + 1) * im->width + side - 1) / side;
			cell = row + c;
			for (k = 0; k < 3; k++)
				sum[cell * 3 + k] += va_sum(
				    im->p[k] + (size_t)y * im->ls[k] + x0,
				    x1 - x0);
			count[cell] += (size_t)(x1 - x0);
		}
	}
	for (cell = 0; cell < SHOTS_GRID / 3; cell++)
		for (c = 0; c < 3; c++)
			grid[cell * 3 + c] =
			    count[cell] > 0
				? (float)((double)sum[cell * 3 + c] /
					  count[cell])
				: 0.0f;
}

static int
va_thumbs_init(struct va_thumbs *th, int width, int height)
{
	th->width = width / VA_THUMB_DIV > 0 ? width / VA_THUMB_DIV : 1;
	th->height = height / VA_THUMB_DIV > 0 ? height / VA_THUMB_DIV : 1;
	th->px = (size_t)th->width * th->height;
	th->size = th->px * 3;
	th->cap = 2 * (size_t)shots_scales[SHOTS_SCALES - 1] + 1;
	th->buf = calloc(th->cap, th->size);
	th->luma = calloc(th->cap * th->px, sizeof(*th->luma));
	th->sum = calloc(th->cap, sizeof(*th->sum));
	th->sumsq = calloc(th->cap, sizeof(*th->sumsq));
	th->acc = calloc((size_t)width, sizeof(*th->acc));
	return th->buf == NULL || th->luma == NULL || th->sum == NULL ||
		       th->sumsq == NULL || th->acc == NULL
		   ? -1
		   : 0;
}

static void
va_thumbs_free(struct va_thumbs *th)
{
	free(th->buf);
	free(th->luma);
	free(th->sum);
	free(th->sumsq);
	free(th->acc);
}

/* acc[x] += row[x] for n bytes, eight at a time. */
static void
va_add_row(uint16_t *restrict acc, const uint8_t *restrict row, int n)
{
	va_octet b;
	va_words a;
	int x = 0;

	for (; x + 8 <= n; x += 8) {
		memcpy(&b, row + x, sizeof(b));
		memcpy(&a, acc + x, sizeof(a));
		a += __builtin_convertvector(b, va_words);
		memcpy(acc + x, &a, sizeof(a));
	}
	for (; x < n; x++)
		acc[x] = (uint16_t)(acc[x] + row[x]);
}

/*
 * Box-averages VA_THUMB_DIV rows of one proxy plane (from src) into one
 * row of the thumbnail's plane.
 */
static void
va_thumb_row(
    struct va_thumbs *th, const uint8_t *src, int linesize, uint8_t *dst)
{
	const int d = VA_THUMB_DIV, n = th->width * d;
	unsigned s;
	int y, tx, k;

	memset(th->acc, 0, (size_t)n * sizeof(*th->acc));
	for (y = 0; y < d; y++)
		va_add_row(th->acc, src + (size_t)y * linesize, n);
	for (tx = 0; tx < th->width; tx++) {
		s = 0;
		for (k = 0; k < d; k++)
			s += th->acc[tx * d + k];
		dst[tx] = (uint8_t)((s + d * d / 2) / (d * d));
	}
}

/*
 * Box-averages the proxy into ring slot index % cap: three planes R, G, B
 * (the blend test's sums run over every byte, whatever the order), and
 * four times the luma of each pixel, with its sums.
 */
static void
va_thumb_put(struct va_thumbs *th, size_t index, const struct va_rgb *im)
{
	size_t slot = index % th->cap, i;
	uint8_t *dst = th->buf + slot * th->size;
	uint16_t *luma = th->luma + slot * th->px;
	int ty, c;

	for (c = 0; c < 3; c++)
		for (ty = 0; ty < th->height; ty++)
			va_thumb_row(th,
			    im->p[c] +
				(size_t)ty * VA_THUMB_DIV * (size_t)im->ls[c],
			    im->ls[c],
			    dst + c * th->px + (size_t)ty * th->width);
	th->sum[slot] = th->sumsq[slot] = 0;
	for (i = 0; i < th->px; i++) {
		luma[i] = (uint16_t)(dst[i] + 2 * dst[th->px + i] +
				     dst[2 * th->px + i]);
		th->sum[slot] += luma[i];
		th->sumsq[slot] += (uint64_t)luma[i] * luma[i];
	}
}

/* Pearson correlation from sums, floored at 0; 0 when either is flat. */
static float
va_correlation(
    double n, double sa, double sb, double saa, double sbb, double sab)
{
	double va = saa / n - (sa / n) * (sa / n);
	double vb = sbb / n - (sb / n) * (sb / n);
	double cov = sab / n - (sa / n) * (sb / n);

	if (va < 1.0 || vb < 1.0 || cov <= 0.0)
		return 0.0f;
	return (float)(cov / sqrt(va * vb));
}

/* Sums of |a - b| and |2m - a - b| over n bytes. */
static void
va_blend_sums(const uint8_t *a, const uint8_t *m, const uint8_t *b, size_t n,
    uint64_t *d, uint64_t *r)
{
	uint32_t dl[VA_LANES] = {0}, rl[VA_LANES] = {0};
	size_t i = 0;
	int j;

	for (; i + VA_LANES <= n; i += VA_LANES) {
		for (j = 0; j < VA_LANES; j++) {
			dl[j] += (uint32_t)abs(a[i + j] - b[i + j]);
			rl[j] +=
			    (uint32_t)abs(2 * m[i + j] - a[i + j] - b[i + j]);
		}
	}
	for (; i < n; i++) {
		*d += (uint64_t)abs(a[i] - b[i]);
		*r += (uint64_t)abs(2 * m[i] - a[i] - b[i]);
	}
	for (j = 0; j < VA_LANES; j++) {
		*d += dl[j];
		*r += rl[j];
	}
}

/* Sum of a[i] * b[i] over n values of at most 1020. */
static uint64_t
va_dot(const uint16_t *a, const uint16_t *b, size_t n)
{
	uint32_t lane[VA_LANES] = {0};
	uint64_t sum = 0;
	size_t i = 0;
	int j;

	/* A lane sees n / VA_LANES products: no overflow below 65536. */
	for (; i + VA_LANES <= n; i += VA_LANES)
		for (j = 0; j < VA_LANES; j++)
			lane[j] += (uint32_t)a[i + j] * b[i + j];
	for (; i < n; i++)
		sum += (uint64_t)a[i] * b[i];
	for (j = 0; j < VA_LANES; j++)
		sum += lane[j];
	return sum;
}

/*
 * The linear-blend test of shots.h on thumbnails a, m and b, at scale k.
 * Luma is kept as 4 x (R + 2G + B) / 4 in integers: every sum is exact,
 * so the quarter and sixteenth scalings below lose nothing.
 */
static void
va_blend_test(const struct va_thumbs *th, size_t a, size_t m, size_t b,
    struct shot_frame *f, int k)
{
	size_t sa = a % th->cap, sm = m % th->cap, sb = b % th->cap;
	uint64_t d = 0, r = 0, sab;

	va_blend_sums(th->buf + sa * th->size, th->buf + sm * th->size,
	    th->buf + sb * th->size, th->size, &d, &r);
	sab = va_dot(th->luma + sa * th->px, th->luma + sb * th->px, th->px);
	f->lin_dist[k] = (float)((double)d / th->size);
	f->lin_res[k] = (float)((double)r / (2.0 * th->size));
	f->lin_same[k] =
	    va_correlation((double)th->px, th->sum[sa] / 4.0, th->sum[sb] / 4.0,
		th->sumsq[sa] / 16.0, th->sumsq[sb] / 16.0, (double)sab / 16.0);
}

static int
va_state_init(
    struct va_state *s, struct stage_ctx *ctx, const struct avv_info *in)
{
	struct shots_params p;
	int i;

	memset(s, 0, sizeof(*s));
	s->ctx = ctx;
	va_score_params_default(&s->sp);
	shots_params_default(&p);
	s->min_content = p.min_content;
	for (i = 0; i < VA_RING; i++) {
		if (va_planes_alloc(
			&s->ring[i], in->proxy_width, in->proxy_height) == -1)
			return -1;
	}
	return va_thumbs_init(&s->th, in->proxy_width, in->proxy_height);
}

static void
va_state_free(struct va_state *s)
{
	int i;

	for (i = 0; i < VA_RING; i++)
		va_planes_free(&s->ring[i]);
	va_thumbs_free(&s->th);
	free(s->f);
	free(s->cs);
	memset(s, 0, sizeof(*s));
}

/* Room for one more frame and one more colour sample. */
static int
va_grow(struct va_state *s)
{
	size_t cap;
	void *p;

	if (s->n == s->cap) {
		cap = s->cap == 0 ? 1024 : 2 * s->cap;
		if ((p = reallocarray(s->f, cap, sizeof(*s->f))) == NULL)
			return -1;
		s->f = p;
		s->cap = cap;
	}
	if (s->ncs == s->cscap) {
		cap = s->cscap == 0 ? 256 : 2 * s->cscap;
		if ((p = reallocarray(s->cs, cap, sizeof(*s->cs))) == NULL)
			return -1;
		s->cs = p;
		s->cscap = cap;
	}
	return 0;
}

/*
 * Scores against t-1, and against t-2 .. t-7 only near a frame scoring at
 * least min_content: shots_is_flash() reads skip scores nowhere else, and
 * they are the costliest feature.
 */
static void
va_scores(struct va_state *s, struct shot_frame *f)
{
	const struct va_planes *cur = &s->ring[s->n % VA_RING], *old;
	bool near = false;
	size_t k;

	f->score = 0.0f;
	if (s->n > 0) {
		old = &s->ring[(s->n - 1) % VA_RING];
		f->score = (float)va_content_score(cur, old, &s->sp);
	}
	for (k = 0; k <= SHOTS_SKIPS && k <= s->n; k++)
		near = near || s->f[s->n - k].score >= s->min_content;
	for (k = 0; k < SHOTS_SKIPS; k++) {
		f->skip[k] = -1.0f;
		if (!near || s->n < k + 2)
			continue;
		old = &s->ring[(s->n - k - 2) % VA_RING];
		f->skip[k] = (float)va_content_score(cur, old, &s->sp);
	}
}

/* Frame n completes the blend tests centred h frames back. */
static void
va_linearity(struct va_state *s)
{
	size_t n = s->n, h;
	int k;

	for (k = 0; k < SHOTS_SCALES; k++) {
		h = (size_t)shots_scales[k];
		if (n < 2 * h || 2 * h >= s->th.cap)
			break;
		va_blend_test(&s->th, n - 2 * h, n - h, n, &s->f[n - h], k);
	}
}

/* The planes of a GBRP proxy frame. */
static void
va_rgb_of(const struct avv_frame *fr, struct va_rgb *im)
{
	im->p[0] = fr->data[2];
	im->p[1] = fr->data[0];
	im->p[2] = fr->data[1];
	im->ls[0] = fr->linesize[2];
	im->ls[1] = fr->linesize[0];
	im->ls[2] = fr->linesize[1];
	im->width = fr->width;
	im->height = fr->height;
}

static int
va_colour(struct va_state *s, const struct va_rgb *im, double t)
{
	struct va_sample *cs = &s->cs[s->ncs];

	while (s->next_colour <= t)
		s->next_colour += VA_COLOUR_STEP;
	cs->frame = s->n;
	if (colour_frame_measure_planes(im->p, im->ls, im->width, im->height,
		VA_COLOUR_STRIDE, &cs->c) == -1)
		return -1;
	s->ncs++;
	return 0;
}

static enum stage_result
va_frame(struct va_state *s, const struct avv_frame *fr)
{
	struct shot_frame *f;
	struct va_rgb im;
	int k;

	if (va_grow(s) == -1)
		return stage_fail(s->ctx, STAGE_E_TEMP, "out of memory");
	va_rgb_of(fr, &im);
	f = &s->f[s->n];
	memset(f, 0, sizeof(*f));
	f->t = fr->t;
	for (k = 0; k < SHOTS_SCALES; k++)
		f->lin_dist[k] = f->lin_res[k] = f->lin_same[k] = -1.0f;
	va_planes_fill(&s->ring[s->n % VA_RING], &im);
	va_scores(s, f);
	va_luma_stats(&im, f);
	va_grid(&im, f->grid);
	va_thumb_put(&s->th, s->n, &im);
	va_linearity(s);
	if (fr->t >= s->next_colour && va_colour(s, &im, fr->t) == -1)
		return stage_fail(s->ctx, STAGE_E_SOFTWARE,
		    "proxy of %dx%d is too large for colour sampling",
		    fr->width, fr->height);
	s->n++;
	return STAGE_OK;
}

/* Index of the first colour sample at or after frame. */
static size_t
va_first_sample(const struct va_state *s, size_t frame)
{
	size_t lo = 0, hi = s->ncs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->cs[mid].frame < frame)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Not all black or white, and not inside the shot's own transitions. */
static bool
va_sample_clean(const struct va_state *s, size_t frame,
    const struct shot_transition *prev, const struct shot_transition *next)
{
	const struct shot_frame *f = &s->f[frame];

	if (f->black >= VA_FLAT_SHARE || f->white >= VA_FLAT_SHARE)
		return false;
	if (prev != NULL && frame > prev->start && frame < prev->end)
		return false;
	return next == NULL || frame <= next->start || frame >= next->end;
}

/*
 * Pools the clean samples of frames first..last-1 into acc; with none,
 * every sample of the shot; with none at all (a shot shorter than the
 * sampling step), the sample nearest its start. Returns the count used.
 */
static size_t
va_shot_colour(const struct va_state *s, size_t first, size_t last,
    const struct shot_transition *prev, const struct shot_transition *next,
    struct colour_acc *acc)
{
	struct colour_acc all;
	size_t j, used = 0, total = 0;

	colour_acc_init(acc);
	colour_acc_init(&all);
	for (j = va_first_sample(s, first); j < s->ncs && s->cs[j].frame < last;
	     j++) {
		colour_acc_add(&all, &s->cs[j].c);
		total++;
		if (va_sample_clean(s, s->cs[j].frame, prev, next)) {
			colour_acc_add(acc, &s->cs[j].c);
			used++;
		}
	}
	if (used > 0)
		return used;
	if (total > 0) {
		*acc = all;
		return total;
	}
	j = va_first_sample(s, first);
	if (j == s->ncs && j > 0)
		j--;
	if (j < s->ncs)
		colour_acc_add(acc, &s->cs[j].c);
	return j < s->ncs ? 1 : 0;
}

static json_t *
va_lab_json(const double v[3])
{
	return json_pack("[fff]", v[0], v[1], v[2]);
}

static json_t *
va_hist_json(const struct colour_acc *acc)
{
	double bins[VA_HIST_BINS];
	json_t *values;
	int i;

	if (colour_acc_hist(acc, bins, VA_HIST_BINS) == -1 ||
	    (values = json_array()) == NULL)
		return NULL;
	for (i = 0; i < VA_HIST_BINS; i++) {
		if (json_array_append_new(values, json_real(bins[i])) == -1) {
			json_decref(values);
			return NULL;
		}
	}
	return json_pack("{s:i, s:[ii], s:o}", "bins", VA_HIST_BINS, "range", 0,
	    100, "values", values);
}

static json_t *
va_stats_json(const struct colour_acc *acc)
{
	double mean[3], std[3];

	colour_acc_mean(acc, mean);
	colour_acc_std(acc, std);
	return json_pack("{s:o, s:o, s:{s:f, s:f, s:f, s:f, s:f}, s:f, s:f, "
			 "s:o}",
	    "lab_mean", va_lab_json(mean), "lab_std", va_lab_json(std),
	    "luma_percentiles", "p5", colour_acc_percentile(acc, 5.0), "p25",
	    colour_acc_percentile(acc, 25.0), "p50",
	    colour_acc_percentile(acc, 50.0), "p75",
	    colour_acc_percentile(acc, 75.0), "p95",
	    colour_acc_percentile(acc, 95.0), "saturation",
	    colour_acc_saturation(acc), "chroma", colour_acc_chroma(acc),
	    "luma_histogram", va_hist_json(acc));
}

static json_t *
va_transition_json(const struct va_state *s, const struct shot_transition *tr)
{
	double t0 = s->f[tr->start].t, t1 = s->f[tr->end].t;
	json_t *o;

	o = json_pack("{s:s, s:I, s:f, s:f, s:f}", "type",
	    shots_kind_name(tr->kind), "duration_ms",
	    (json_int_t)llround((t1 - t0) * 1000.0), "start_s", t0, "end_s", t1,
	    "strength", tr->strength);
	if (o == NULL || tr->kind == SHOT_CUT)
		return o;
	if (json_object_set_new(o, "easing",
		json_string(shots_easing_name(tr->easing))) == -1 ||
	    (tr->kind == SHOT_FADE &&
		json_object_set_new(o, "colour",
		    json_string(tr->white ? "white" : "black")) == -1)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Shot i lies between transitions i - 1 and i (tr[-1] being the start). */
static json_t *
va_shot_json(const struct va_state *s, size_t i,
    const struct shot_transition *tr, size_t ntr, double end_s,
    struct colour_acc *global)
{
	const struct shot_transition *prev = i > 0 ? &tr[i - 1] : NULL;
	const struct shot_transition *next = i < ntr ? &tr[i] : NULL;
	size_t first = prev != NULL ? prev->at : 0;
	size_t last = next != NULL ? next->at : s->n, used;
	double t0 = s->f[first].t, t1 = next != NULL ? s->f[last].t : end_s;
	struct colour_acc acc;
	json_t *tin;

	used = va_shot_colour(s, first, last, prev, next, &acc);
	colour_acc_merge(global, &acc);
	tin = prev != NULL
		  ? va_transition_json(s, prev)
		  : json_pack("{s:s, s:i}", "type", "none", "duration_ms", 0);
	return json_pack("{s:I, s:f, s:f, s:f, s:I, s:I, s:o, s:o, s:I}",
	    "index", (json_int_t)i, "start_s", t0, "end_s", t1, "duration_s",
	    t1 - t0, "start_frame", (json_int_t)first, "frame_count",
	    (json_int_t)(last - first), "transition_in", tin, "colour",
	    va_stats_json(&acc), "colour_samples", (json_int_t)used);
}

static json_t *
va_shots_json(const struct va_state *s, const struct shot_transition *tr,
    size_t ntr, double end_s, struct colour_acc *global)
{
	json_t *shots = json_array();
	size_t i;

	for (i = 0; shots != NULL && i <= ntr; i++) {
		if (json_array_append_new(shots,
			va_shot_json(s, i, tr, ntr, end_s, global)) == -1) {
			json_decref(shots);
			shots = NULL;
		}
	}
	return shots;
}

static bool
va_vfr(const struct va_state *s, double dt)
{
	size_t i, odd = 0;

	for (i = 1; i < s->n; i++) {
		if (fabs(s->f[i].t - s->f[i - 1].t - dt) >
		    VA_VFR_DEVIATION * dt)
			odd++;
	}
	return s->n > 1 && (double)odd > VA_VFR_SHARE * (double)(s->n - 1);
}

static json_t *
va_geometry_json(const struct avv_info *in)
{
	long long dw = in->display_width, dh = in->display_height, a, b, r;
	char sar[32], aspect[48];

	for (a = dw, b = dh; b != 0; r = a % b, a = b, b = r)
		;
	snprintf(sar, sizeof(sar), "%d:%d", in->sar.num, in->sar.den);
	snprintf(aspect, sizeof(aspect), "%lld:%lld", dw / a, dh / a);
	return json_pack("{s:i, s:i, s:s, s:i, s:i, s:i, s:f, s:s, s:{s:i, "
			 "s:i}, s:s, s:s}",
	    "width", in->width, "height", in->height, "sar", sar, "rotation",
	    in->rotation, "display_width", in->display_width, "display_height",
	    in->display_height, "display_aspect", (double)dw / (double)dh,
	    "aspect_ratio", aspect, "proxy", "width", in->proxy_width, "height",
	    in->proxy_height, "colour_matrix", in->matrix, "colour_range",
	    in->range);
}

static json_t *
va_timing_json(const struct va_state *s, const struct avv_info *in, double dt)
{
	double span = s->f[s->n - 1].t - s->f[0].t;

	return json_pack("{s:f, s:f, s:f, s:b, s:f, s:f, s:I, s:I, s:f, s:s, "
			 "s:s, s:I}",
	    "fps", dt > 0.0 ? 1.0 / dt : in->fps_declared, "fps_mean",
	    span > 0.0 ? (double)(s->n - 1) / span : in->fps_declared,
	    "fps_declared", in->fps_declared, "vfr", va_vfr(s, dt),
	    "duration_s", s->f[s->n - 1].t + dt, "duration_declared_s",
	    in->duration_s, "frame_count", (json_int_t)s->n, "frames_declared",
	    (json_int_t)in->frames_declared, "time_offset_s", in->start_s,
	    "codec", in->codec, "format", in->format, "bit_rate",
	    (json_int_t)in->bit_rate);
}

/*
 * The frame interval; a single frame (a capture whose other pictures do
 * not decode) lasts one interval of the declared rate, else 1/25 s.
 */
static double
va_interval(const struct va_state *s, const struct avv_info *in)
{
	double dt = shots_frame_interval(s->f, s->n);

	if (dt > 0.0)
		return dt;
	return in->fps_declared > 0.0 ? 1.0 / in->fps_declared : 1.0 / 25.0;
}

/* Where the picture starts (shots_picture_start), in seconds. */
static double
va_picture_start(const struct va_state *s)
{
	struct shots_params p;

	shots_params_default(&p);
	return s->f[shots_picture_start(s->f, s->n, &p)].t;
}

static json_t *
va_report(const struct va_state *s, const struct avv_info *in,
    const struct shot_transition *tr, size_t ntr)
{
	double dt = va_interval(s, in);
	double end_s = s->f[s->n - 1].t + dt;
	struct colour_acc global;
	json_t *o, *shots, *g;

	colour_acc_init(&global);
	o = va_geometry_json(in);
	shots = va_shots_json(s, tr, ntr, end_s, &global);
	g = va_stats_json(&global);
	if (o == NULL || shots == NULL || g == NULL ||
	    json_object_update_new(o, va_timing_json(s, in, dt)) == -1 ||
	    json_object_set_new(o, "shot_count", json_integer(ntr + 1)) == -1 ||
	    json_object_set_new(
		o, "picture_start_s", json_real(va_picture_start(s))) == -1 ||
	    json_object_set_new(o, "shots", shots) == -1 ||
	    json_object_set_new(o, "global", g) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static enum stage_result
va_finish(struct va_state *s, const struct avv_info *in, json_t **out)
{
	struct shot_transition *tr;
	struct shots_params p;
	size_t ntr;

	shots_params_default(&p);
	if (shots_detect(s->f, s->n, &p, &tr, &ntr) == -1)
		return stage_fail(s->ctx, STAGE_E_TEMP, "out of memory");
	*out = va_report(s, in, tr, ntr);
	free(tr);
	if (*out == NULL)
		return stage_fail(s->ctx, STAGE_E_TEMP,
		    "out of memory building the analysis");
	return STAGE_OK;
}

/* The gray motion proxy of the file, from the same decode. */
static enum stage_result
va_proxy_start(struct stage_ctx *ctx, struct avv *v, const char *role,
    struct proxy_writer **proxy)
{
	char name[PROXY_NAME_SIZE];
	int w, h;

	/* Proxy 1: avv_open() made proxy 0; ctx->error says why not. */
	if (avv_add_proxy(v, PROXY_SIZE, AV_PIX_FMT_GRAY8, &w, &h) != 1)
		return STAGE_E_SOFTWARE;
	proxy_name(role, name);
	return proxy_create(ctx, name, w, h, avv_info(v)->fps_declared, proxy);
}

static int
va_queue_init(struct va_queue *q, struct va_state *s, const struct avv_info *in)
{
	int i;

	memset(q, 0, sizeof(*q));
	q->s = s;
	q->ctx = *s->ctx;
	q->width = in->proxy_width;
	q->height = in->proxy_height;
	for (i = 0; i < VA_QUEUE; i++) {
		q->buf[i] = malloc((size_t)3 * q->width * q->height);
		if (q->buf[i] == NULL)
			break;
	}
	if (i < VA_QUEUE || pthread_mutex_init(&q->lock, NULL) != 0) {
		while (i-- > 0)
			free(q->buf[i]);
		return -1;
	}
	(void)pthread_cond_init(&q->more, NULL);
	(void)pthread_cond_init(&q->room, NULL);
	return 0;
}

static void
va_queue_free(struct va_queue *q)
{
	int i;

	for (i = 0; i < VA_QUEUE; i++)
		free(q->buf[i]);
	pthread_cond_destroy(&q->more);
	pthread_cond_destroy(&q->room);
	pthread_mutex_destroy(&q->lock);
}

/* Copies the colour proxy in; false once the analysis has stopped. */
static bool
va_queue_put(struct va_queue *q, const struct avv_frame *fr)
{
	size_t plane = (size_t)q->width * q->height;
	uint8_t *dst;
	int c, y;

	pthread_mutex_lock(&q->lock);
	while (q->tail - q->head == VA_QUEUE && !q->failed)
		pthread_cond_wait(&q->room, &q->lock);
	dst = q->failed ? NULL : q->buf[q->tail % VA_QUEUE];
	pthread_mutex_unlock(&q->lock);
	if (dst == NULL)
		return false;
	/* The slot is the decoder's until tail moves past it. */
	for (c = 0; c < 3; c++)
		for (y = 0; y < q->height; y++)
			memcpy(dst + c * plane + (size_t)y * q->width,
			    fr->data[c] + (size_t)y * fr->linesize[c],
			    (size_t)q->width);
	pthread_mutex_lock(&q->lock);
	q->t[q->tail % VA_QUEUE] = fr->t;
	q->tail++;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
	return true;
}

static void
va_queue_end(struct va_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->done = true;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->lock);
}

/* The next frame to analyse; false when there is none left. */
static bool
va_queue_take(struct va_queue *q, struct avv_frame *fr)
{
	size_t at, plane = (size_t)q->width * q->height;
	int c;

	pthread_mutex_lock(&q->lock);
	while (q->head == q->tail && !q->done)
		pthread_cond_wait(&q->more, &q->lock);
	at = q->head % VA_QUEUE;
	if (q->head == q->tail) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	fr->t = q->t[at];
	pthread_mutex_unlock(&q->lock);
	memset(fr->data, 0, sizeof(fr->data));
	memset(fr->linesize, 0, sizeof(fr->linesize));
	for (c = 0; c < 3; c++) {
		fr->data[c] = q->buf[at] + c * plane;
		fr->linesize[c] = q->width;
	}
	fr->width = q->width;
	fr->height = q->height;
	fr->format = AV_PIX_FMT_GBRP;
	return true;
}

static void
va_queue_release(struct va_queue *q, enum stage_result rc)
{
	pthread_mutex_lock(&q->lock);
	q->head++;
	if (rc != STAGE_OK) {
		q->rc = rc;
		q->failed = true;
	}
	pthread_cond_signal(&q->room);
	pthread_mutex_unlock(&q->lock);
}

static void *
va_analysis_main(void *arg)
{
	struct va_queue *q = arg;
	struct avv_frame fr;
	enum stage_result rc = STAGE_OK;

	while (rc == STAGE_OK && va_queue_take(q, &fr)) {
		rc = va_frame(q->s, &fr);
		va_queue_release(q, rc);
	}
	return NULL;
}

/* The decoding side: every frame to the queue and the motion proxy. */
static enum stage_result
va_decode(struct va_queue *q, struct avv *v, struct proxy_writer *proxy,
    va_progress_fn fn, void *arg)
{
	struct avv_frame fr;
	enum stage_result rc;
	int got;

	while ((got = avv_next(v, &fr)) > 0) {
		if (!va_queue_put(q, &fr))
			return STAGE_OK; /* the analysis's failure is the cause
					  */
		if (proxy != NULL &&
		    (rc = proxy_put(proxy, fr.t, fr.proxy[1].data[0],
			 fr.proxy[1].linesize[0])) != STAGE_OK)
			return rc;
		if (fn != NULL)
			fn(arg, avv_progress(v));
	}
	return got < 0 ? avv_error(v) : STAGE_OK;
}

/*
 * Decodes and scales on this thread while a second one analyses, up to
 * VA_QUEUE frames behind: on two cores each side's stalls are the other's
 * working time. The analysis sees the frames in order, as before.
 */
static enum stage_result
va_run(struct va_state *s, struct avv *v, struct proxy_writer *proxy,
    va_progress_fn fn, void *arg)
{
	struct stage_ctx *ctx = s->ctx;
	struct va_queue q;
	enum stage_result rc;
	pthread_t th;

	if (va_queue_init(&q, s, avv_info(v)) == -1)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	s->ctx = &q.ctx;
	if (pthread_create(&th, NULL, va_analysis_main, &q) != 0) {
		s->ctx = ctx;
		va_queue_free(&q);
		return stage_fail(
		    ctx, STAGE_E_OS, "cannot start the analysis thread");
	}
	rc = va_decode(&q, v, proxy, fn, arg);
	va_queue_end(&q);
	pthread_join(th, NULL);
	s->ctx = ctx;
	if (q.rc != STAGE_OK) {
		(void)str_copy(ctx->error, q.ctx.error, sizeof(ctx->error));
		rc = q.rc;
	}
	va_queue_free(&q);
	return rc;
}

/*
 * video_analysis_file(), also writing the motion proxy to an uncommitted
 * *proxy when role is not NULL (dropped again on failure).
 */
static enum stage_result
va_file(struct stage_ctx *ctx, const char *path, va_progress_fn fn, void *arg,
    const char *role, struct proxy_writer **proxy, json_t **out)
{
	struct va_state s;
	struct avv *v;
	enum stage_result rc;

	*out = NULL;
	rc = avv_open(ctx, path, VA_PROXY_SIZE, AV_PIX_FMT_GBRP, &v);
	if (rc != STAGE_OK)
		return rc;
	if (va_state_init(&s, ctx, avv_info(v)) == -1)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	if (rc == STAGE_OK && role != NULL)
		rc = va_proxy_start(ctx, v, role, proxy);
	if (rc == STAGE_OK)
		rc = va_run(&s, v, role != NULL ? *proxy : NULL, fn, arg);
	if (rc == STAGE_OK)
		rc = va_finish(&s, avv_info(v), out);
	if (rc == STAGE_OK && json_object_set_new(*out, "decode",
				  avh_losses_json(avv_losses(v))) == -1)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	va_state_free(&s);
	avv_close(v);
	if (rc != STAGE_OK && role != NULL) {
		proxy_abort(*proxy);
		*proxy = NULL;
	}
	return rc;
}

enum stage_result
video_analysis_file(struct stage_ctx *ctx, const char *path, va_progress_fn fn,
    void *arg, json_t **out)
{
	return va_file(ctx, path, fn, arg, NULL, NULL, out);
}

static void
va_progress_cb(void *arg, double fraction)
{
	const struct va_progress *p = arg;

	stage_progress(p->ctx, p->base + p->weight * fraction);
}

/* The seed API's VideoMetadata fields, plus the shot count. */
static json_t *
va_summary_of(const json_t *r)
{
	if (r == NULL)
		return json_null();
	return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:I, s:O}", "width",
	    json_object_get(r, "display_width"), "height",
	    json_object_get(r, "display_height"), "duration_seconds",
	    json_object_get(r, "duration_s"), "frame_rate",
	    json_object_get(r, "fps"), "codec", json_object_get(r, "codec"),
	    "format", json_object_get(r, "format"), "bitrate_kbps",
	    (json_int_t)(json_integer_value(json_object_get(r, "bit_rate")) /
			 1000),
	    "shot_count", json_object_get(r, "shot_count"));
}

static json_t *
va_summary(const json_t *tpl, const json_t *src)
{
	return json_pack("{s:o, s:o}", "template", va_summary_of(tpl), "source",
	    va_summary_of(src));
}

static json_t *
va_proxy_json(const struct proxy_info *in)
{
	return json_pack("{s:s, s:s, s:i, s:i, s:I}", "file", in->name, "id",
	    in->id, "width", in->width, "height", in->height, "frames",
	    (json_int_t)in->frames);
}

static enum stage_result
va_analyse(struct stage_ctx *ctx, const char *path, double base, double weight,
    const char *role, struct proxy_writer **proxy, json_t **out)
{
	struct va_progress p = {ctx, base, weight};
	enum stage_result rc;

	rc = va_file(ctx, path, va_progress_cb, &p, role, proxy, out);
	if (rc == STAGE_OK &&
	    json_object_set_new(*out, "motion_proxy",
		va_proxy_json(proxy_writer_info(*proxy))) == -1)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	return rc;
}

static void
va_proxy_remove(struct stage_ctx *ctx, const char *role)
{
	char name[PROXY_NAME_SIZE], path[PATH_MAX];

	proxy_name(role, name);
	snprintf(path, sizeof(path), "%s/%s", ctx->job_dir, name);
	(void)unlink(path);
}

/* Both proxies under their final names, or neither. */
static enum stage_result
va_commit(
    struct stage_ctx *ctx, struct proxy_writer **pt, struct proxy_writer **ps)
{
	enum stage_result rc = STAGE_OK;

	if (*pt != NULL)
		rc = proxy_commit(*pt);
	*pt = NULL;
	if (rc == STAGE_OK && *ps != NULL)
		rc = proxy_commit(*ps);
	else
		proxy_abort(*ps);
	*ps = NULL;
	if (rc != STAGE_OK)
		va_proxy_remove(ctx, "template");
	return rc;
}

enum stage_result
video_analysis_run(struct stage_ctx *ctx)
{
	const char *tpl = ctx->template_path, *src = ctx->source;
	struct proxy_writer *pt = NULL, *ps = NULL;
	json_t *jt = NULL, *js = NULL, *doc;
	enum stage_result rc = STAGE_OK;
	bool same = tpl != NULL && src != NULL && stage_same_file(tpl, src);
	double w = tpl != NULL && src != NULL && !same ? 0.5 : 1.0;

	if (tpl == NULL && src == NULL)
		return stage_fail(ctx, STAGE_E_NOINPUT,
		    "the job has neither a template nor a source video");
	if (tpl != NULL)
		rc = va_analyse(ctx, tpl, 0.0, w, "template", &pt, &jt);
	if (rc == STAGE_OK && src != NULL && same)
		js = json_incref(jt);
	else if (rc == STAGE_OK && src != NULL)
		rc = va_analyse(ctx, src, 1.0 - w, w, "source", &ps, &js);
	doc = rc != STAGE_OK
		  ? NULL
		  : json_pack("{s:i, s:O, s:O}", "version", VA_VERSION,
			"template", jt != NULL ? jt : json_null(), "source",
			js != NULL ? js : json_null());
	if (rc == STAGE_OK && doc == NULL)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	/* The proxies first: a finished stage's artifact promises them. */
	if (rc == STAGE_OK)
		rc = va_commit(ctx, &pt, &ps);
	proxy_abort(pt);
	proxy_abort(ps);
	if (rc == STAGE_OK &&
	    (rc = stage_write_json(ctx, VA_ARTIFACT, doc)) != STAGE_OK) {
		va_proxy_remove(ctx, "template");
		va_proxy_remove(ctx, "source");
	}
	if (rc == STAGE_OK) {
		ctx->result = va_summary(jt, js);
		stage_progress(ctx, 1.0);
	}
	json_decref(doc);
	json_decref(jt);
	json_decref(js);
	return rc;
}

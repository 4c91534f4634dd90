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
 * The artifact is written to a temporary file, synced and renamed, so a
 * reader sees the old state or the complete new one, never a torn file.
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

#include "av_video.h"
#include "colour.h"
#include "video_analysis.h"

/* Frames of HSV planes kept: t and the SHOTS_SKIPS + 1 before it. */
#define VA_RING (SHOTS_SKIPS + 2)
/* Thumbnails are the proxy shrunk by this factor each way. */
#define VA_THUMB_DIV 4
/* Colour samples read every VA_COLOUR_STRIDE-th pixel and row. */
#define VA_COLOUR_STRIDE 2
/* A frame this share black or white says nothing about the grade. */
#define VA_FLAT_SHARE 0.98f
/* Luma histogram bins in the whole-video statistics. */
#define VA_HIST_BINS 64
/* Edge thresholds never drop below these (Sobel L1 units). */
#define VA_EDGE_LOW_MIN 8
#define VA_EDGE_HIGH_MIN 16
/* An interval this far from the median is a variable-rate frame... */
#define VA_VFR_DEVIATION 0.10
/* ...and this share of such intervals makes the video variable rate. */
#define VA_VFR_SHARE 0.02

struct va_thumbs {
	int width, height;
	size_t size; /* bytes per thumbnail */
	size_t cap;  /* slots in the ring */
	uint8_t *buf;
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

static void va_hsv_pixel(const uint8_t *p, uint8_t *h, uint8_t *s, uint8_t *v);
static int va_median(const uint8_t *v, size_t n);
static void va_sobel(struct va_planes *p);
static void va_nms(struct va_planes *p, int low, int high);
static void va_hysteresis(struct va_planes *p);
static void va_dilate_line(
    const uint8_t *src, uint8_t *dst, int n, ptrdiff_t step, int r);
static void va_dilate(struct va_planes *p);
static void va_edges(struct va_planes *p);
static int va_thumbs_init(struct va_thumbs *th, int width, int height);
static void va_thumb_put(
    struct va_thumbs *th, size_t index, const uint8_t *rgb, int linesize);
static float va_correlation(
    double n, double sa, double sb, double saa, double sbb, double sab);
static void va_blend_test(const struct va_thumbs *th, size_t a, size_t m,
    size_t b, struct shot_frame *f, int k);
static int va_state_init(
    struct va_state *s, struct stage_ctx *ctx, const struct avv_info *in);
static void va_state_free(struct va_state *s);
static int va_grow(struct va_state *s);
static void va_scores(struct va_state *s, struct shot_frame *f);
static void va_linearity(struct va_state *s);
static int va_colour(struct va_state *s, const struct avv_frame *fr);
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
static json_t *va_hist_json(const struct colour_acc *acc);
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
static enum stage_result va_analyse(struct stage_ctx *ctx, const char *path,
    double base, double weight, json_t **out);

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
 * OpenCV's 8-bit RGB to HSV: H in 0..179 (degrees / 2), S and V 0..255,
 * in integers with rounding to nearest.
 */
static void
va_hsv_pixel(const uint8_t *p, uint8_t *h, uint8_t *s, uint8_t *v)
{
	int r = p[0], g = p[1], b = p[2];
	int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
	int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
	int d = mx - mn, base, num, hue;

	*v = (uint8_t)mx;
	*s = mx == 0 ? 0 : (uint8_t)((255 * d + mx / 2) / mx);
	if (d == 0) {
		*h = 0;
		return;
	}
	if (mx == r) {
		base = 0;
		num = 30 * (g - b);
	} else if (mx == g) {
		base = 60;
		num = 30 * (b - r);
	} else {
		base = 120;
		num = 30 * (r - g);
	}
	hue = base + (2 * num + (num >= 0 ? d : -d)) / (2 * d);
	*h = (uint8_t)((hue + 180) % 180);
}

static int
va_median(const uint8_t *v, size_t n)
{
	size_t hist[256] = {0}, cum = 0, i;
	int k;

	for (i = 0; i < n; i++)
		hist[v[i]]++;
	for (k = 0; k < 256; k++) {
		cum += hist[k];
		if (2 * cum >= n)
			return k;
	}
	return 255;
}

/*
 * Sobel L1 magnitude of V into grad, positive where the horizontal
 * gradient dominates and negative where the vertical one does; 0 on the
 * border.
 */
static void
va_sobel(struct va_planes *p)
{
	const uint8_t *v = p->plane[2];
	int w = p->width, h = p->height, x, y, gx, gy;
	const uint8_t *a, *b, *c;

	memset(p->grad, 0, (size_t)w * h * sizeof(*p->grad));
	for (y = 1; y + 1 < h; y++) {
		a = v + (size_t)(y - 1) * w;
		b = a + w;
		c = b + w;
		for (x = 1; x + 1 < w; x++) {
			gx = (a[x + 1] + 2 * b[x + 1] + c[x + 1]) -
			     (a[x - 1] + 2 * b[x - 1] + c[x - 1]);
			gy = (c[x - 1] + 2 * c[x] + c[x + 1]) -
			     (a[x - 1] + 2 * a[x] + a[x + 1]);
			p->grad[(size_t)y * w + x] =
			    (int16_t)(abs(gx) >= abs(gy)
					  ? abs(gx) + abs(gy)
					  : -(abs(gx) + abs(gy)));
		}
	}
}

/* Thin edges to their ridge: 2 strong, 1 weak, 0 none, into work. */
static void
va_nms(struct va_planes *p, int low, int high)
{
	int w = p->width, h = p->height, x, y, m, m1, m2;
	size_t i;

	memset(p->work, 0, (size_t)w * h);
	for (y = 1; y + 1 < h; y++) {
		for (x = 1; x + 1 < w; x++) {
			i = (size_t)y * w + x;
			m = abs(p->grad[i]);
			if (m < low)
				continue;
			m1 = abs(p->grad[p->grad[i] > 0 ? i - 1 : i - w]);
			m2 = abs(p->grad[p->grad[i] > 0 ? i + 1 : i + w]);
			if (m > m1 && m >= m2)
				p->work[i] = m >= high ? 2 : 1;
		}
	}
}

/* Strong pixels, and weak ones touching a strong one, become edges. */
static void
va_hysteresis(struct va_planes *p)
{
	int w = p->width, h = p->height, x, y, dx, dy;
	uint8_t *e = p->plane[3];
	size_t i;
	bool on;

	memset(e, 0, (size_t)w * h);
	for (y = 1; y + 1 < h; y++) {
		for (x = 1; x + 1 < w; x++) {
			i = (size_t)y * w + x;
			on = p->work[i] == 2;
			for (dy = -1; !on && p->work[i] == 1 && dy <= 1; dy++)
				for (dx = -1; dx <= 1; dx++)
					on =
					    on || p->work[i + dy * w + dx] == 2;
			e[i] = on ? 255 : 0;
		}
	}
}

/*
 * One pass of a binary max filter of radius r along a line of n pixels
 * step apart: a running count of set pixels in the window.
 */
static void
va_dilate_line(const uint8_t *src, uint8_t *dst, int n, ptrdiff_t step, int r)
{
	int i, on = 0;

	for (i = 0; i < r && i < n; i++)
		on += src[i * step] != 0;
	for (i = 0; i < n; i++) {
		if (i + r < n)
			on += src[(i + r) * step] != 0;
		if (i - r - 1 >= 0)
			on -= src[(i - r - 1) * step] != 0;
		dst[i * step] = on > 0 ? 255 : 0;
	}
}

/* Square dilation of 4 + sqrt(w * h) / 192 pixels, odd (PySceneDetect). */
static void
va_dilate(struct va_planes *p)
{
	int w = p->width, h = p->height, k, r, i;

	k = 4 + (int)lrint(sqrt((double)w * h) / 192.0);
	r = (k % 2 == 0 ? k + 1 : k) / 2;
	for (i = 0; i < h; i++)
		va_dilate_line(p->plane[3] + (size_t)i * w,
		    p->work + (size_t)i * w, w, 1, r);
	for (i = 0; i < w; i++)
		va_dilate_line(p->work + i, p->plane[3] + i, h, w, r);
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
va_planes_fill(struct va_planes *p, const uint8_t *rgb, int linesize)
{
	const uint8_t *row;
	size_t i;
	int x, y;

	for (y = 0; y < p->height; y++) {
		row = rgb + (size_t)y * linesize;
		for (x = 0; x < p->width; x++) {
			i = (size_t)y * p->width + x;
			va_hsv_pixel(row + 3 * x, &p->plane[0][i],
			    &p->plane[1][i], &p->plane[2][i]);
		}
	}
	va_edges(p);
}

double
va_content_score(const struct va_planes *a, const struct va_planes *b,
    const struct va_score_params *sp)
{
	size_t n = (size_t)a->width * a->height, i;
	uint64_t sum[4] = {0};
	double score = 0.0, wsum = 0.0;
	int c, dh;

	for (i = 0; i < n; i++) {
		dh = abs(a->plane[0][i] - b->plane[0][i]);
		if (sp->hue_wrap && dh > 90)
			dh = 180 - dh;
		sum[0] += (uint64_t)dh;
		sum[1] += (uint64_t)abs(a->plane[1][i] - b->plane[1][i]);
		sum[2] += (uint64_t)abs(a->plane[2][i] - b->plane[2][i]);
		sum[3] += (uint64_t)abs(a->plane[3][i] - b->plane[3][i]);
	}
	for (c = 0; c < 4 && n > 0; c++) {
		score += sp->weights[c] * (double)sum[c] / (double)n;
		wsum += fabs(sp->weights[c]);
	}
	return wsum > 0.0 ? score / wsum : 0.0;
}

void
va_luma_stats(const uint8_t *rgb, int width, int height, int linesize,
    struct shot_frame *f)
{
	double sum = 0.0, sq = 0.0, n = (double)width * height, mean;
	size_t black = 0, white = 0;
	const uint8_t *p;
	int x, y, l;

	for (y = 0; y < height; y++) {
		p = rgb + (size_t)y * linesize;
		for (x = 0; x < width; x++, p += 3) {
			/* BT.709 luma weights in 8.8 fixed point. */
			l = (54 * p[0] + 183 * p[1] + 19 * p[2] + 128) >> 8;
			sum += l;
			sq += (double)l * l;
			black += l <= 25;
			white += l >= 230;
		}
	}
	mean = sum / n;
	f->luma = (float)mean;
	f->luma_std = (float)sqrt(fmax(0.0, sq / n - mean * mean));
	f->black = (float)(black / n);
	f->white = (float)(white / n);
}

void
va_grid(const uint8_t *rgb, int width, int height, int linesize,
    float grid[SHOTS_GRID])
{
	double sum[SHOTS_GRID] = {0};
	size_t count[SHOTS_GRID / 3] = {0};
	const uint8_t *p;
	int x, y, c, row, cell;

	for (y = 0; y < height; y++) {
		p = rgb + (size_t)y * linesize;
		row = y * SHOTS_GRID_SIDE / height * SHOTS_GRID_SIDE;
		for (c = 0; c < SHOTS_GRID_SIDE; c++) {
			/* Columns of cell c: [x0, x1). */
			int x0 =
			    (c * width + SHOTS_GRID_SIDE - 1) / SHOTS_GRID_SIDE;
			int x1 = ((c + 1) * width + SHOTS_GRID_SIDE - 1) /
				 SHOTS_GRID_SIDE;

			cell = row + c;
			for (x = x0; x < x1; x++) {
				sum[cell * 3] += p[3 * x];
				sum[cell * 3 + 1] += p[3 * x + 1];
				sum[cell * 3 + 2] += p[3 * x + 2];
			}
			count[cell] += (size_t)(x1 - x0);
		}
	}
	for (cell = 0; cell < SHOTS_GRID / 3; cell++)
		for (c = 0; c < 3; c++)
			grid[cell * 3 + c] =
			    count[cell] > 0
				? (float)(sum[cell * 3 + c] / count[cell])
				: 0.0f;
}

static int
va_thumbs_init(struct va_thumbs *th, int width, int height)
{
	th->width = width / VA_THUMB_DIV > 0 ? width / VA_THUMB_DIV : 1;
	th->height = height / VA_THUMB_DIV > 0 ? height / VA_THUMB_DIV : 1;
	th->size = (size_t)th->width * th->height * 3;
	th->cap = 2 * (size_t)shots_scales[SHOTS_SCALES - 1] + 1;
	th->buf = calloc(th->cap, th->size);
	return th->buf == NULL ? -1 : 0;
}

/* Box-averages the proxy into ring slot index % cap. */
static void
va_thumb_put(
    struct va_thumbs *th, size_t index, const uint8_t *rgb, int linesize)
{
	uint8_t *dst = th->buf + (index % th->cap) * th->size;
	const int d = VA_THUMB_DIV;
	const uint8_t *p;
	int tx, ty, x, y, c;
	unsigned sum;

	for (ty = 0; ty < th->height; ty++) {
		for (tx = 0; tx < th->width; tx++) {
			for (c = 0; c < 3; c++) {
				sum = 0;
				for (y = 0; y < d; y++) {
					p = rgb +
					    (size_t)(ty * d + y) * linesize +
					    (size_t)tx * d * 3 + c;
					for (x = 0; x < d; x++)
						sum += p[3 * x];
				}
				*dst++ = (uint8_t)((sum + d * d / 2) / (d * d));
			}
		}
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

/* The linear-blend test of shots.h on thumbnails a, m and b, at scale k. */
static void
va_blend_test(const struct va_thumbs *th, size_t a, size_t m, size_t b,
    struct shot_frame *f, int k)
{
	const uint8_t *pa = th->buf + (a % th->cap) * th->size;
	const uint8_t *pm = th->buf + (m % th->cap) * th->size;
	const uint8_t *pb = th->buf + (b % th->cap) * th->size;
	double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, ya, yb;
	uint64_t d = 0, r = 0;
	size_t i;

	for (i = 0; i < th->size; i++) {
		d += (uint64_t)abs(pa[i] - pb[i]);
		r += (uint64_t)abs(2 * pm[i] - pa[i] - pb[i]);
	}
	for (i = 0; i + 2 < th->size; i += 3) {
		ya = (pa[i] + 2.0 * pa[i + 1] + pa[i + 2]) / 4.0;
		yb = (pb[i] + 2.0 * pb[i + 1] + pb[i + 2]) / 4.0;
		sa += ya;
		sb += yb;
		saa += ya * ya;
		sbb += yb * yb;
		sab += ya * yb;
	}
	f->lin_dist[k] = (float)((double)d / th->size);
	f->lin_res[k] = (float)((double)r / (2.0 * th->size));
	f->lin_same[k] =
	    va_correlation((double)th->size / 3.0, sa, sb, saa, sbb, sab);
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
	free(s->th.buf);
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

static int
va_colour(struct va_state *s, const struct avv_frame *fr)
{
	struct va_sample *cs = &s->cs[s->ncs];

	while (s->next_colour <= fr->t)
		s->next_colour += VA_COLOUR_STEP;
	cs->frame = s->n;
	if (colour_frame_measure(fr->data[0], fr->width, fr->height,
		fr->linesize[0], VA_COLOUR_STRIDE, &cs->c) == -1)
		return -1;
	s->ncs++;
	return 0;
}

static enum stage_result
va_frame(struct va_state *s, const struct avv_frame *fr)
{
	const uint8_t *rgb = fr->data[0];
	int ls = fr->linesize[0], k;
	struct shot_frame *f;

	if (va_grow(s) == -1)
		return stage_fail(s->ctx, STAGE_E_TEMP, "out of memory");
	f = &s->f[s->n];
	memset(f, 0, sizeof(*f));
	f->t = fr->t;
	for (k = 0; k < SHOTS_SCALES; k++)
		f->lin_dist[k] = f->lin_res[k] = f->lin_same[k] = -1.0f;
	va_planes_fill(&s->ring[s->n % VA_RING], rgb, ls);
	va_scores(s, f);
	va_luma_stats(rgb, fr->width, fr->height, ls, f);
	va_grid(rgb, fr->width, fr->height, ls, f->grid);
	va_thumb_put(&s->th, s->n, rgb, ls);
	va_linearity(s);
	if (fr->t >= s->next_colour && va_colour(s, fr) == -1)
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
va_stats_json(const struct colour_acc *acc)
{
	double mean[3], std[3];

	colour_acc_mean(acc, mean);
	colour_acc_std(acc, std);
	return json_pack("{s:o, s:o, s:{s:f, s:f, s:f, s:f, s:f}, s:f, s:f}",
	    "lab_mean", va_lab_json(mean), "lab_std", va_lab_json(std),
	    "luma_percentiles", "p5", colour_acc_percentile(acc, 5.0), "p25",
	    colour_acc_percentile(acc, 25.0), "p50",
	    colour_acc_percentile(acc, 50.0), "p75",
	    colour_acc_percentile(acc, 75.0), "p95",
	    colour_acc_percentile(acc, 95.0), "saturation",
	    colour_acc_saturation(acc), "chroma", colour_acc_chroma(acc));
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

static json_t *
va_report(const struct va_state *s, const struct avv_info *in,
    const struct shot_transition *tr, size_t ntr)
{
	double dt = shots_frame_interval(s->f, s->n);
	double end_s = s->f[s->n - 1].t + dt;
	struct colour_acc global;
	json_t *o, *shots, *g;

	colour_acc_init(&global);
	o = va_geometry_json(in);
	shots = va_shots_json(s, tr, ntr, end_s, &global);
	g = va_stats_json(&global);
	if (o == NULL || shots == NULL || g == NULL ||
	    json_object_update_new(o, va_timing_json(s, in, dt)) == -1 ||
	    json_object_set_new(g, "luma_histogram", va_hist_json(&global)) ==
		-1 ||
	    json_object_set_new(o, "shot_count", json_integer(ntr + 1)) == -1 ||
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

enum stage_result
video_analysis_file(struct stage_ctx *ctx, const char *path, va_progress_fn fn,
    void *arg, json_t **out)
{
	struct va_state s;
	struct avv *v;
	struct avv_frame fr;
	enum stage_result rc;
	int got = 0;

	*out = NULL;
	rc = avv_open(ctx, path, VA_PROXY_SIZE, AV_PIX_FMT_RGB24, &v);
	if (rc != STAGE_OK)
		return rc;
	if (va_state_init(&s, ctx, avv_info(v)) == -1)
		rc = stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	while (rc == STAGE_OK && (got = avv_next(v, &fr)) > 0) {
		rc = va_frame(&s, &fr);
		if (fn != NULL)
			fn(arg, avv_progress(v));
	}
	if (rc == STAGE_OK && got < 0)
		rc = avv_error(v);
	if (rc == STAGE_OK)
		rc = va_finish(&s, avv_info(v), out);
	va_state_free(&s);
	avv_close(v);
	return rc;
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

static enum stage_result
va_analyse(struct stage_ctx *ctx, const char *path, double base, double weight,
    json_t **out)
{
	struct va_progress p = {ctx, base, weight};

	return video_analysis_file(ctx, path, va_progress_cb, &p, out);
}

enum stage_result
video_analysis_run(struct stage_ctx *ctx)
{
	const char *tpl = ctx->template_path, *src = ctx->source;
	json_t *jt = NULL, *js = NULL, *doc;
	enum stage_result rc = STAGE_OK;
	bool same = tpl != NULL && src != NULL && stage_same_file(tpl, src);
	double w = tpl != NULL && src != NULL && !same ? 0.5 : 1.0;

	if (tpl == NULL && src == NULL)
		return stage_fail(ctx, STAGE_E_NOINPUT,
		    "the job has neither a template nor a source video");
	if (tpl != NULL)
		rc = va_analyse(ctx, tpl, 0.0, w, &jt);
	if (rc == STAGE_OK && src != NULL && same)
		js = json_incref(jt);
	else if (rc == STAGE_OK && src != NULL)
		rc = va_analyse(ctx, src, 1.0 - w, w, &js);
	if (rc != STAGE_OK) {
		json_decref(jt);
		return rc;
	}
	doc = json_pack("{s:i, s:o, s:o}", "version", VA_VERSION, "template",
	    jt != NULL ? jt : json_null(), "source",
	    js != NULL ? js : json_null());
	if (doc == NULL)
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	rc = stage_write_json(ctx, VA_ARTIFACT, doc);
	if (rc == STAGE_OK) {
		ctx->result = va_summary(jt, js);
		stage_progress(ctx, 1.0);
	}
	json_decref(doc);
	return rc;
}

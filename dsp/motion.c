/*
 * Global motion by block matching and a robust similarity fit, and the
 * camera class of a shot (see motion.h for the conventions).
 *
 * Estimation (media-algorithms.md 6.1): each frame becomes a pyramid of up
 * to three levels (2x2 box averages). The coarsest level is searched
 * exhaustively +-8 px, which covers pans up to a tenth of the frame per
 * frame; each finer level searches +-2 px around what the coarser level's
 * fit predicts for that block, so a fast pan costs no more than a slow
 * one. Only blocks with texture in two directions (Shi-Tomasi) are
 * matched: an edge or a flat area only constrains motion across it. The
 * finest level adds sub-pixel offsets by Lucas-Kanade steps, because slow
 * pans and zooms move blocks by less than a pixel per frame; it is blurred
 * first (motion_load()) so that aliased detail does not bias them.
 *
 * The fit is RANSAC on two-point samples with the MSAC cost, least squares
 * on the consensus, then Huber IRLS: foreground objects and mismatches up
 * to about half of the blocks do not move the camera estimate.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "motion.h"

/* RANSAC hypotheses per fit; each costs one pass over the vectors. */
#define MOTION_RANSAC_ITERS 200
#define MOTION_IRLS_ITERS 3
/* Sample points closer than this (px) say nothing about zoom or roll. */
#define MOTION_MIN_SPAN 4.0
/* Zoom or roll past this per frame is a mismatch, not a camera. */
#define MOTION_MAX_LINEAR 0.25
/* Shi-Tomasi: mean energy per pixel of the weaker gradient direction. */
#define MOTION_TEXTURE_MIN 3.0
/* Search radii, px: exhaustive on the coarsest level, then refining. */
#define MOTION_COARSE_RADIUS 8
#define MOTION_FINE_RADIUS 2
/* Block side on level 0; a third Lucas-Kanade step moves under 0.01 px. */
#define MOTION_BLOCK_MAX 16
#define MOTION_LK_STEPS 2
/* The coarsest level keeps at least this many pixels on each side. */
#define MOTION_LEVEL_MIN_SHORT 32
#define MOTION_LEVEL_MIN_LONG 64
/* Sustain segments with less reliable time than this share are ignored. */
#define MOTION_SEGMENT_MIN_SHARE 0.4

/*
 * Eight pixels as 16-bit values, and as bytes (GCC and Clang vector
 * extensions): the blur's rows are computed eight pixels at a time.
 */
typedef uint16_t motion_words __attribute__((vector_size(16)));
typedef uint8_t motion_octet __attribute__((vector_size(8)));
/* Four pixels as bytes and as 32-bit values: gradient products. */
typedef uint8_t motion_quad __attribute__((vector_size(4)));
typedef int32_t motion_ints __attribute__((vector_size(16)));

struct motion_level {
	int w, h, block;
	uint8_t *px[2];
};

struct motion_est {
	int levels;
	int cur; /* which px[] holds the latest frame */
	bool primed;
	struct motion_level lv[MOTION_LEVELS_MAX];
	struct motion_vec *vec;
	double *err;	/* per vector: SAD per pixel */
	uint16_t *blur; /* the horizontal pass of motion_load() */
	size_t cap;
};

/* One block search on one level. */
struct motion_search {
	const uint8_t *prev, *cur;
	int w, h, b, radius;
	bool subpel;
};

struct motion_sums {
	double w, ux, uy, dx, dy, uu, ud, uxd;
};

static double
motion_residual2(const struct motion_vec *v, const struct motion_model *m)
{
	double px = m->a * v->x - m->b * v->y + m->tx;
	double py = m->b * v->x + m->a * v->y + m->ty;

	return (v->dx - px) * (v->dx - px) + (v->dy - py) * (v->dy - py);
}

/* IRLS weight: 1 up to k, k / r up to cut (Huber), 0 beyond. */
static double
motion_robust(double r, double k, double cut)
{
	if (r > cut)
		return 0.0;
	return r <= k ? 1.0 : k / r;
}

static void
motion_sums_add(struct motion_sums *s, const struct motion_vec *v, double w)
{
	s->w += w;
	s->ux += w * v->x;
	s->uy += w * v->y;
	s->dx += w * v->dx;
	s->dy += w * v->dy;
	s->uu += w * (v->x * v->x + v->y * v->y);
	s->ud += w * (v->x * v->dx + v->y * v->dy);
	s->uxd += w * (v->x * v->dy - v->y * v->dx);
}

/*
 * The weighted least-squares similarity in closed form: about the weighted
 * centroid, zoom-rotation (a, b) decouples from the translation.
 */
static int
motion_sums_solve(const struct motion_sums *s, struct motion_model *out)
{
	double ux, uy, dx, dy, spread;

	if (!(s->w > 0.0))
		return -1;
	ux = s->ux / s->w;
	uy = s->uy / s->w;
	dx = s->dx / s->w;
	dy = s->dy / s->w;
	spread = s->uu - s->w * (ux * ux + uy * uy);
	out->a = out->b = 0.0;
	/* Points all in one place: only the translation is known. */
	if (spread > 1e-6 * s->w) {
		out->a = (s->ud - s->w * (ux * dx + uy * dy)) / spread;
		out->b = (s->uxd - s->w * (ux * dy - uy * dx)) / spread;
	}
	out->tx = dx - (out->a * ux - out->b * uy);
	out->ty = dy - (out->b * ux + out->a * uy);
	return 0;
}

/* Least squares with each vector's weight times its robust weight. */
static int
motion_ls(const struct motion_vec *v, size_t n, double k, double cut,
    struct motion_model *m)
{
	struct motion_sums s;
	struct motion_model next;
	size_t i;
	double w;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++) {
		w = motion_robust(sqrt(motion_residual2(&v[i], m)), k, cut);
		if (w > 0.0)
			motion_sums_add(&s, &v[i], w * v[i].weight);
	}
	if (motion_sums_solve(&s, &next) == -1)
		return -1;
	*m = next;
	return 0;
}

static int
motion_two_point(const struct motion_vec *p, const struct motion_vec *q,
    struct motion_model *m)
{
	struct motion_sums s;
	double sx = p->x - q->x, sy = p->y - q->y;

	if (sx * sx + sy * sy < MOTION_MIN_SPAN * MOTION_MIN_SPAN)
		return -1;
	memset(&s, 0, sizeof(s));
	motion_sums_add(&s, p, 1.0);
	motion_sums_add(&s, q, 1.0);
	if (motion_sums_solve(&s, m) == -1 || fabs(m->a) > MOTION_MAX_LINEAR ||
	    fabs(m->b) > MOTION_MAX_LINEAR)
		return -1;
	return 0;
}

static uint32_t
motion_rand(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/*
 * The MSAC cost of m, or a partial sum once it reaches limit: the terms
 * are never negative, so such a model cannot be the best.
 */
static double
motion_msac(const struct motion_vec *v, size_t n, const struct motion_model *m,
    double thresh, double limit)
{
	double cost = 0.0, t2 = thresh * thresh, r2;
	size_t i;

	for (i = 0; i < n && cost < limit; i++) {
		r2 = motion_residual2(&v[i], m);
		cost += v[i].weight * (r2 < t2 ? r2 : t2);
	}
	return cost;
}

static int
motion_ransac(const struct motion_vec *v, size_t n, double thresh,
    struct motion_model *best)
{
	uint32_t seed = 2463534242u;
	double cost, best_cost = HUGE_VAL;
	struct motion_model m;
	size_t i, j;
	int it;

	for (it = 0; it < MOTION_RANSAC_ITERS; it++) {
		i = motion_rand(&seed) % n;
		j = motion_rand(&seed) % (n - 1);
		j += j >= i;
		if (motion_two_point(&v[i], &v[j], &m) == -1)
			continue;
		cost = motion_msac(v, n, &m, thresh, best_cost);
		if (cost < best_cost) {
			best_cost = cost;
			*best = m;
		}
	}
	return best_cost < HUGE_VAL ? 0 : -1;
}

static void
motion_mark(struct motion_vec *v, size_t n, double thresh,
    const struct motion_model *m, struct motion_fit *out)
{
	double all = 0.0, in = 0.0, ss = 0.0, r2;
	size_t i;

	for (i = 0; i < n; i++) {
		r2 = motion_residual2(&v[i], m);
		v[i].inlier = r2 <= thresh * thresh;
		all += v[i].weight;
		if (!v[i].inlier)
			continue;
		in += v[i].weight;
		ss += v[i].weight * r2;
		out->inliers++;
	}
	out->m = *m;
	out->inlier_share = all > 0.0 ? in / all : 0.0;
	out->rms = in > 0.0 ? sqrt(ss / in) : 0.0;
}

int
motion_fit(
    struct motion_vec *v, size_t n, double thresh, struct motion_fit *out)
{
	struct motion_model m;
	int i;

	memset(out, 0, sizeof(*out));
	out->n = n;
	if (n < 3 || motion_ransac(v, n, thresh, &m) == -1)
		return -1;
	/* A failed refinement keeps the model it started from. */
	(void)motion_ls(v, n, HUGE_VAL, thresh, &m);
	for (i = 0; i < MOTION_IRLS_ITERS; i++)
		(void)motion_ls(v, n, thresh / 2.0, 3.0 * thresh, &m);
	motion_mark(v, n, thresh, &m, out);
	return 0;
}

double
motion_scale(const struct motion_model *m)
{
	return hypot(1.0 + m->a, m->b);
}

double
motion_angle(const struct motion_model *m)
{
	return atan2(m->b, 1.0 + m->a);
}

double
motion_mean_disp(const struct motion_model *m, int width, int height)
{
	const int g = 8;
	double sum = 0.0, x, y;
	int i, j;

	for (j = 0; j < g; j++) {
		y = ((j + 0.5) / g - 0.5) * height;
		for (i = 0; i < g; i++) {
			x = ((i + 0.5) / g - 0.5) * width;
			sum += hypot(m->a * x - m->b * y + m->tx,
			    m->b * x + m->a * y + m->ty);
		}
	}
	return sum / (g * g);
}

static int
motion_level_count(int w, int h)
{
	int s = w < h ? w : h, l = w < h ? h : w, n = 1;

	while (n < MOTION_LEVELS_MAX && (s >> n) >= MOTION_LEVEL_MIN_SHORT &&
	       (l >> n) >= MOTION_LEVEL_MIN_LONG)
		n++;
	return n;
}

struct motion_est *
motion_est_new(int width, int height)
{
	struct motion_est *e;
	struct motion_level *lv;
	size_t nb, cap = 0;
	int l;

	if (width < MOTION_MIN_SIDE || height < MOTION_MIN_SIDE ||
	    (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->levels = motion_level_count(width, height);
	for (l = 0; l < e->levels; l++) {
		lv = &e->lv[l];
		lv->w = width >> l;
		lv->h = height >> l;
		lv->block = l == 0 ? 16 : 8;
		nb = (size_t)(lv->w / lv->block) * (size_t)(lv->h / lv->block);
		cap = nb > cap ? nb : cap;
		lv->px[0] = malloc((size_t)lv->w * (size_t)lv->h);
		lv->px[1] = malloc((size_t)lv->w * (size_t)lv->h);
	}
	e->vec = calloc(cap, sizeof(*e->vec));
	e->err = calloc(cap, sizeof(*e->err));
	e->blur = calloc((size_t)width * (size_t)height, sizeof(*e->blur));
	e->cap = cap;
	for (l = 0; l < e->levels; l++) {
		if (e->lv[l].px[0] == NULL || e->lv[l].px[1] == NULL)
			break;
	}
	if (l < e->levels || e->vec == NULL || e->err == NULL ||
	    e->blur == NULL) {
		motion_est_free(e);
		return NULL;
	}
	return e;
}

void
motion_est_free(struct motion_est *e)
{
	int l;

	if (e == NULL)
		return;
	for (l = 0; l < e->levels; l++) {
		free(e->lv[l].px[0]);
		free(e->lv[l].px[1]);
	}
	free(e->vec);
	free(e->err);
	free(e->blur);
	free(e);
}

static void
motion_halve(const struct motion_level *src, struct motion_level *dst, int c)
{
	const uint8_t *p;
	uint8_t *q = dst->px[c];
	int x, y, w = src->w;

	for (y = 0; y < dst->h; y++) {
		p = src->px[c] + (size_t)(2 * y) * (size_t)w;
		for (x = 0; x < dst->w; x++, p += 2)
			*q++ =
			    (uint8_t)((p[0] + p[1] + p[w] + p[w + 1] + 2) >> 2);
	}
}

/* [1 4 6 4 1] at x of a row of n >= 3, the ends repeated. */
static int
motion_tap5(const uint8_t *r, int x, int n)
{
	int l2 = x >= 2 ? x - 2 : 0, l1 = x >= 1 ? x - 1 : 0;
	int r1 = x + 1 < n ? x + 1 : n - 1, r2 = x + 2 < n ? x + 2 : n - 1;

	return r[l2] + 4 * r[l1] + 6 * r[x] + 4 * r[r1] + r[r2];
}

/* The horizontal 1 4 6 4 1 taps of eight pixels at p (two each side). */
static inline void
motion_tap5_h8(const uint8_t *p, uint16_t *out)
{
	motion_words v[5], sum;
	motion_octet b;
	int i;

	for (i = 0; i < 5; i++) {
		memcpy(&b, p + i - 2, sizeof(b));
		v[i] = __builtin_convertvector(b, motion_words);
	}
	sum = v[0] + 4 * v[1] + 6 * v[2] + 4 * v[3] + v[4];
	memcpy(out, &sum, sizeof(sum));
}

/* The vertical taps over rows t[0..4] at x, rounded, for eight pixels. */
static inline void
motion_tap5_v8(const uint16_t *const t[5], int x, uint8_t *out)
{
	motion_words v[5], sum;
	motion_octet b;
	int i;

	for (i = 0; i < 5; i++)
		memcpy(&v[i], t[i] + x, sizeof(v[i]));
	sum = (v[0] + 4 * v[1] + 6 * v[2] + 4 * v[3] + v[4] + 128) >> 8;
	b = __builtin_convertvector(sum, motion_octet);
	memcpy(out, &b, sizeof(b));
}

/*
 * Level 0 is the frame under a [1 4 6 4 1] / 16 binomial blur (sigma 1 px)
 * in both directions. Detail near the pixel pitch is aliased, and aliased
 * detail biases sub-pixel shifts (by 5-8 % on fine noise): the blur takes
 * most of it out of the estimate.
 */
static void
motion_load(struct motion_est *e, const uint8_t *gray, int linesize)
{
	struct motion_level *lv = &e->lv[0];
	uint8_t *dst = lv->px[e->cur];
	const uint16_t *t[5];
	uint16_t *row;
	const uint8_t *src;
	int x, y, i, l, w = lv->w, h = lv->h;

	for (y = 0; y < h; y++) {
		src = gray + (ptrdiff_t)y * linesize;
		row = e->blur + (size_t)y * (size_t)w;
		row[0] = (uint16_t)motion_tap5(src, 0, w);
		row[1] = (uint16_t)motion_tap5(src, 1, w);
		for (x = 2; x + 8 <= w - 2; x += 8)
			motion_tap5_h8(src + x, row + x);
		for (; x < w - 2; x++)
			row[x] = (uint16_t)(src[x - 2] + 4 * src[x - 1] +
					    6 * src[x] + 4 * src[x + 1] +
					    src[x + 2]);
		row[w - 2] = (uint16_t)motion_tap5(src, w - 2, w);
		row[w - 1] = (uint16_t)motion_tap5(src, w - 1, w);
	}
	for (y = 0; y < h; y++, dst += w) {
		for (i = 0; i < 5; i++) {
			l = y + i - 2;
			l = l < 0 ? 0 : l >= h ? h - 1 : l;
			t[i] = e->blur + (size_t)l * (size_t)w;
		}
		for (x = 0; x + 8 <= w; x += 8)
			motion_tap5_v8(t, x, dst + x);
		for (; x < w; x++)
			dst[x] =
			    (uint8_t)((t[0][x] + 4 * t[1][x] + 6 * t[2][x] +
					  4 * t[3][x] + t[4][x] + 128) >>
				      8);
	}
	for (l = 1; l < e->levels; l++)
		motion_halve(&e->lv[l - 1], &e->lv[l], e->cur);
}

/*
 * The smaller eigenvalue of the block's structure tensor, per pixel, from
 * forward differences four pixels at a time (blocks are 8 or 16 wide).
 * motion_grid() leaves at least one pixel right of and below every block,
 * so both differences stay inside the picture.
 */
static double
motion_texture(const struct motion_search *s, int bx, int by)
{
	motion_ints sxx = {0}, syy = {0}, sxy = {0}, here, gx, gy;
	motion_quad o;
	const uint8_t *p;
	double n = (double)s->b * s->b, a, c, d;
	int x, y, k;

	for (y = by; y < by + s->b; y++) {
		p = s->prev + (size_t)y * (size_t)s->w + bx;
		for (x = 0; x < s->b; x += 4) {
			memcpy(&o, p + x, sizeof(o));
			here = __builtin_convertvector(o, motion_ints);
			memcpy(&o, p + x + 1, sizeof(o));
			gx = __builtin_convertvector(o, motion_ints) - here;
			memcpy(&o, p + x + s->w, sizeof(o));
			gy = __builtin_convertvector(o, motion_ints) - here;
			sxx += gx * gx;
			syy += gy * gy;
			sxy += gx * gy;
		}
	}
	for (k = 1; k < 4; k++) {
		sxx[0] += sxx[k];
		syy[0] += syy[k];
		sxy[0] += sxy[k];
	}
	a = sxx[0] / n;
	c = syy[0] / n;
	d = sxy[0] / n;
	return (a + c) / 2.0 - sqrt((a - c) * (a - c) / 4.0 + d * d);
}

/* One row of a block: fixed widths let the compiler use SIMD. */
static unsigned
motion_row16(const uint8_t *a, const uint8_t *b)
{
	unsigned sum = 0;
	int x;

	for (x = 0; x < 16; x++)
		sum += (unsigned)abs(a[x] - b[x]);
	return sum;
}

static unsigned
motion_row8(const uint8_t *a, const uint8_t *b)
{
	unsigned sum = 0;
	int x;

	for (x = 0; x < 8; x++)
		sum += (unsigned)abs(a[x] - b[x]);
	return sum;
}

/* SAD of two blocks (16 or 8 wide); stops once it reaches limit. */
static unsigned
motion_sad(const struct motion_search *s, int bx, int by, int ox, int oy,
    unsigned limit)
{
	const uint8_t *a = s->prev + (size_t)by * (size_t)s->w + bx;
	const uint8_t *b = s->cur + (size_t)(by + oy) * (size_t)s->w + bx + ox;
	unsigned sum = 0;
	int y;

	for (y = 0; y < s->b && sum < limit; y++, a += s->w, b += s->w)
		sum += s->b == 16 ? motion_row16(a, b) : motion_row8(a, b);
	return sum;
}

/* Gradients of the earlier frame over a block, edges one-sided. */
static void
motion_gradients(
    const struct motion_search *s, int bx, int by, float *gx, float *gy)
{
	const uint8_t *img = s->prev;
	int x, y, l, r, u, d, X, Y;

	for (y = 0; y < s->b; y++) {
		Y = by + y;
		u = Y > 0 ? Y - 1 : Y;
		d = Y + 1 < s->h ? Y + 1 : Y;
		for (x = 0; x < s->b; x++) {
			X = bx + x;
			l = X > 0 ? X - 1 : X;
			r = X + 1 < s->w ? X + 1 : X;
			*gx++ = (float)(img[(size_t)Y * s->w + r] -
					img[(size_t)Y * s->w + l]) /
				(float)(r - l);
			*gy++ = (float)(img[(size_t)d * s->w + X] -
					img[(size_t)u * s->w + X]) /
				(float)(d - u);
		}
	}
}

/* The block at (bx + sx, by + sy) of img, bilinear; false outside. */
static bool
motion_sample(const struct motion_search *s, const uint8_t *img, int bx, int by,
    double sx, double sy, float *out)
{
	int ix = (int)floor(sx), iy = (int)floor(sy), x, y, w = s->w;
	float fx = (float)(sx - ix), fy = (float)(sy - iy);
	float w00 = (1.0f - fx) * (1.0f - fy), w01 = fx * (1.0f - fy);
	float w10 = (1.0f - fx) * fy, w11 = fx * fy;
	const uint8_t *q;

	if (bx + ix < 0 || bx + ix + s->b + 1 > s->w || by + iy < 0 ||
	    by + iy + s->b + 1 > s->h)
		return false;
	for (y = 0; y < s->b; y++) {
		q = img + (size_t)(by + iy + y) * (size_t)w + bx + ix;
		for (x = 0; x < s->b; x++, q++)
			*out++ = w00 * q[0] + w01 * q[1] + w10 * q[w] +
				 w11 * q[w + 1];
	}
	return true;
}

/*
 * Sub-pixel offsets by inverse-compositional Lucas-Kanade steps from the
 * integer match: the gradients are the earlier frame's, so one 2x2 system
 * serves every step. (A parabola through the SAD pulls estimates toward
 * whole pixels, which shows as too little zoom.) Detail near the pixel
 * pitch is aliased and still biases sub-pixel shifts by a few percent;
 * the blur in motion_load() keeps that small.
 */
static void
motion_refine(
    const struct motion_search *s, int bx, int by, struct motion_vec *v)
{
	float gx[MOTION_BLOCK_MAX * MOTION_BLOCK_MAX];
	float gy[MOTION_BLOCK_MAX * MOTION_BLOCK_MAX];
	float c[MOTION_BLOCK_MAX * MOTION_BLOCK_MAX];
	double gxx = 0.0, gxy = 0.0, gyy = 0.0, det;
	float ex, ey, d;
	double dx = v->dx, dy = v->dy;
	const uint8_t *p;
	int i, x, y, it, n = s->b * s->b;

	motion_gradients(s, bx, by, gx, gy);
	for (i = 0; i < n; i++) {
		gxx += gx[i] * gx[i];
		gxy += gx[i] * gy[i];
		gyy += gy[i] * gy[i];
	}
	det = gxx * gyy - gxy * gxy;
	if (!(det > 1e-9 * (gxx + gyy) * (gxx + gyy)))
		return;
	for (it = 0; it < MOTION_LK_STEPS; it++) {
		if (!motion_sample(s, s->cur, bx, by, dx, dy, c))
			return;
		ex = ey = 0.0f;
		for (i = 0, y = 0; y < s->b; y++) {
			p = s->prev + (size_t)(by + y) * (size_t)s->w + bx;
			for (x = 0; x < s->b; x++, i++) {
				d = c[i] - p[x];
				ex += gx[i] * d;
				ey += gy[i] * d;
			}
		}
		dx -= (gyy * ex - gxy * ey) / det;
		dy -= (gxx * ey - gxy * ex) / det;
		if (fabs(dx - v->dx) > 1.0 || fabs(dy - v->dy) > 1.0)
			return;
	}
	v->dx = dx;
	v->dy = dy;
}

/*
 * Searches one block around the model's prediction. A best match on a side
 * where the frame edge cut the window short may lie outside: dropped.
 */
static bool
motion_match_block(const struct motion_search *s, int bx, int by,
    const struct motion_model *pred, struct motion_vec *v, double *err)
{
	double ux = bx + s->b / 2.0 - s->w / 2.0;
	double uy = by + s->b / 2.0 - s->h / 2.0;
	int cx = (int)lround(pred->a * ux - pred->b * uy + pred->tx);
	int cy = (int)lround(pred->b * ux + pred->a * uy + pred->ty);
	int x0 = cx - s->radius, x1 = cx + s->radius;
	int y0 = cy - s->radius, y1 = cy + s->radius;
	int ox, oy, bestx = 0, besty = 0;
	unsigned sad, best = UINT_MAX;

	x0 = x0 > -bx ? x0 : -bx;
	x1 = x1 < s->w - s->b - bx ? x1 : s->w - s->b - bx;
	y0 = y0 > -by ? y0 : -by;
	y1 = y1 < s->h - s->b - by ? y1 : s->h - s->b - by;
	for (oy = y0; oy <= y1; oy++) {
		for (ox = x0; ox <= x1; ox++) {
			sad = motion_sad(s, bx, by, ox, oy, best);
			if (sad < best) {
				best = sad;
				bestx = ox;
				besty = oy;
			}
		}
	}
	if (best == UINT_MAX || (bestx == x0 && x0 > cx - s->radius) ||
	    (bestx == x1 && x1 < cx + s->radius) ||
	    (besty == y0 && y0 > cy - s->radius) ||
	    (besty == y1 && y1 < cy + s->radius))
		return false;
	*v = (struct motion_vec){ux, uy, bestx, besty, 1.0, false};
	if (s->subpel)
		motion_refine(s, bx, by, v);
	*err = best / ((double)s->b * s->b);
	return true;
}

/*
 * The level's block grid, centred, with a margin so that the sub-pixel
 * steps of edge blocks can sample.
 */
static void
motion_grid(const struct motion_level *lv, int *nbx, int *nby, int *gx, int *gy)
{
	*nbx = (lv->w - 2) / lv->block;
	*nby = (lv->h - 2) / lv->block;
	*gx = (lv->w - *nbx * lv->block) / 2;
	*gy = (lv->h - *nby * lv->block) / 2;
}

static size_t
motion_match_level(struct motion_est *e, int l, const struct motion_model *pred)
{
	const struct motion_level *lv = &e->lv[l];
	struct motion_search s = {lv->px[e->cur ^ 1], lv->px[e->cur], lv->w,
	    lv->h, lv->block,
	    l == e->levels - 1 ? MOTION_COARSE_RADIUS : MOTION_FINE_RADIUS,
	    l == 0};
	int nbx, nby, gx, gy, i, j, bx, by;
	size_t n = 0;

	motion_grid(lv, &nbx, &nby, &gx, &gy);
	for (j = 0; j < nby; j++) {
		by = gy + j * lv->block;
		for (i = 0; i < nbx; i++) {
			bx = gx + i * lv->block;
			if (motion_texture(&s, bx, by) >= MOTION_TEXTURE_MIN &&
			    motion_match_block(
				&s, bx, by, pred, &e->vec[n], &e->err[n]))
				n++;
		}
	}
	return n;
}

static void
motion_judge(const struct motion_est *e, size_t n, struct motion_pair *out)
{
	const struct motion_model *m = &out->fit.m;
	double err = 0.0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (e->vec[i].inlier)
			err += e->err[i];
	}
	out->match_err = out->fit.inliers > 0 ? err / out->fit.inliers : 0.0;
	out->mean_disp = motion_mean_disp(m, e->lv[0].w, e->lv[0].h);
	out->reliable = out->fit.inliers >= MOTION_MIN_INLIERS &&
			out->fit.inlier_share >= MOTION_MIN_INLIER_SHARE &&
			out->match_err <= MOTION_MAX_MATCH_ERR &&
			fabs(m->a) < MOTION_MAX_LINEAR &&
			fabs(m->b) < MOTION_MAX_LINEAR;
}

/* Coarse to fine: each level's fit predicts the next level's search. */
static void
motion_estimate(struct motion_est *e, struct motion_pair *out)
{
	struct motion_model m = {0.0, 0.0, 0.0, 0.0};
	struct motion_fit fit;
	size_t n = 0;
	int l, ok = -1, nbx, nby, gx, gy;

	memset(out, 0, sizeof(*out));
	for (l = e->levels - 1; l >= 0; l--) {
		n = motion_match_level(e, l, &m);
		ok = motion_fit(e->vec, n, MOTION_INLIER_PX, &fit);
		if (ok == 0)
			m = fit.m;
		if (l > 0) {
			m.tx *= 2.0;
			m.ty *= 2.0;
		}
	}
	motion_grid(&e->lv[0], &nbx, &nby, &gx, &gy);
	out->blocks = (size_t)nbx * (size_t)nby;
	out->textured = n;
	if (ok != 0)
		return;
	out->fit = fit;
	motion_judge(e, n, out);
}

int
motion_est_push(struct motion_est *e, const uint8_t *gray, int linesize,
    struct motion_pair *out)
{
	e->cur ^= 1;
	motion_load(e, gray, linesize);
	if (!e->primed) {
		e->primed = true;
		return 0;
	}
	motion_estimate(e, out);
	return 1;
}

void
motion_sample_of(const struct motion_pair *p, int width, double t, double dt,
    struct motion_sample *out)
{
	const struct motion_model *m = &p->fit.m;
	double f = 1.0 / ((double)width * dt);

	memset(out, 0, sizeof(*out));
	out->t = t;
	out->dt = dt;
	out->reliable = p->reliable && dt > 0.0 && width > 0;
	if (!out->reliable)
		return;
	out->vx = (float)(-m->tx * f);
	out->vy = (float)(-m->ty * f);
	out->vz = (float)(log(motion_scale(m)) / dt);
	out->vr = (float)(-motion_angle(m) / dt);
	out->speed = (float)(p->mean_disp * f);
}

const char *
motion_camera_name(enum motion_camera c)
{
	switch (c) {
	case MOTION_STATIC:
		return "static";
	case MOTION_PAN:
		return "pan";
	case MOTION_TILT:
		return "tilt";
	case MOTION_ZOOM:
		return "zoom";
	case MOTION_HANDHELD:
		return "handheld";
	case MOTION_UNKNOWN:
		break;
	}
	return "unknown";
}

static void
motion_means(const struct motion_sample *s, size_t n, struct motion_shot *o)
{
	size_t i;

	for (i = 0; i < n; i++) {
		o->duration_s += s[i].dt;
		if (!s[i].reliable)
			continue;
		o->reliable_s += s[i].dt;
		o->vx += s[i].vx * s[i].dt;
		o->vy += s[i].vy * s[i].dt;
		o->vz += s[i].vz * s[i].dt;
		o->vr += s[i].vr * s[i].dt;
		o->speed += s[i].speed * s[i].dt;
	}
	if (o->reliable_s <= 0.0)
		return;
	o->vx /= o->reliable_s;
	o->vy /= o->reliable_s;
	o->vz /= o->reliable_s;
	o->vr /= o->reliable_s;
	o->speed /= o->reliable_s;
}

/*
 * RMS distance of the camera path from its ~1 Hz low-pass (a centred
 * moving average of +-MOTION_SMOOTH_S, narrowed symmetrically at the ends
 * so that a steady pan leaves no residue).
 */
static int
motion_shake(const struct motion_sample *s, size_t n, double *out)
{
	double *x, *y, span = 0.0, mx, my, ss = 0.0;
	size_t i, j, m = 0, h, half, cnt = 0;

	*out = 0.0;
	if ((x = calloc(2 * (n + 1), sizeof(*x))) == NULL)
		return -1;
	y = x + n + 1;
	for (i = 0; i < n; i++) {
		if (!s[i].reliable)
			continue;
		x[m + 1] = x[m] + s[i].vx * s[i].dt;
		y[m + 1] = y[m] + s[i].vy * s[i].dt;
		span += s[i].dt;
		m++;
	}
	half = m > 0 ? (size_t)lround(MOTION_SMOOTH_S / (span / m)) : 0;
	half = half < 1 ? 1 : half;
	for (i = 1; i < m; i++) {
		h = half < i ? half : i;
		h = h < m - i ? h : m - i;
		for (mx = my = 0.0, j = i - h; j <= i + h; j++) {
			mx += x[j];
			my += y[j];
		}
		mx /= (double)(2 * h + 1);
		my /= (double)(2 * h + 1);
		ss += (x[i] - mx) * (x[i] - mx) + (y[i] - my) * (y[i] - my);
		cnt++;
	}
	*out = cnt > 0 ? sqrt(ss / (double)cnt) : 0.0;
	free(x);
	return 0;
}

/* Per-segment sums: reliable time and velocity integrals. */
struct motion_seg {
	double dt, x, y, z;
};

struct motion_agree {
	double total, x, y, z;
};

static double
motion_sign(double v)
{
	return v < 0.0 ? -1.0 : 1.0;
}

static void
motion_seg_flush(
    struct motion_seg *g, const struct motion_shot *o, struct motion_agree *a)
{
	if (g->dt >= MOTION_SEGMENT_MIN_SHARE * MOTION_SEGMENT_S) {
		a->total += g->dt;
		if (g->x / g->dt * motion_sign(o->vx) >= MOTION_PAN_MIN / 2.0)
			a->x += g->dt;
		if (g->y / g->dt * motion_sign(o->vy) >= MOTION_PAN_MIN / 2.0)
			a->y += g->dt;
		if (g->z / g->dt * motion_sign(o->vz) >= MOTION_ZOOM_MIN / 2.0)
			a->z += g->dt;
	}
	memset(g, 0, sizeof(*g));
}

/*
 * Shares of the shot's MOTION_SEGMENT_S segments whose own mean velocity
 * goes the way of the shot's mean on each axis: a pan is sustained, a
 * shake that happens to drift is not.
 */
static void
motion_sustain(const struct motion_sample *s, size_t n,
    const struct motion_shot *o, struct motion_agree *a)
{
	struct motion_seg g = {0.0, 0.0, 0.0, 0.0};
	long seg = 0, k;
	size_t i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < n; i++) {
		k = (long)floor((s[i].t - s[0].t) / MOTION_SEGMENT_S);
		if (k != seg)
			motion_seg_flush(&g, o, a);
		seg = k;
		if (!s[i].reliable)
			continue;
		g.dt += s[i].dt;
		g.x += s[i].vx * s[i].dt;
		g.y += s[i].vy * s[i].dt;
		g.z += s[i].vz * s[i].dt;
	}
	motion_seg_flush(&g, o, a);
	if (a->total > 0.0) {
		a->x /= a->total;
		a->y /= a->total;
		a->z /= a->total;
		return;
	}
	/* No whole segment: the shot is one. */
	a->x = fabs(o->vx) >= MOTION_PAN_MIN / 2.0;
	a->y = fabs(o->vy) >= MOTION_PAN_MIN / 2.0;
	a->z = fabs(o->vz) >= MOTION_ZOOM_MIN / 2.0;
}

/*
 * Zoom wins over a pan when the zoom moves the frame edge (half a width
 * from the centre) at least as fast as the pan moves everything.
 */
static enum motion_camera
motion_decide(const struct motion_shot *o, const struct motion_agree *a)
{
	double px = fabs(o->vx), py = fabs(o->vy), pz = fabs(o->vz);
	bool zoom = pz >= MOTION_ZOOM_MIN && a->z >= MOTION_SUSTAINED_SHARE;
	bool pan =
	    px >= MOTION_PAN_MIN && px >= py && a->x >= MOTION_SUSTAINED_SHARE;
	bool tilt =
	    py >= MOTION_PAN_MIN && py > px && a->y >= MOTION_SUSTAINED_SHARE;

	if (zoom && ((!pan && !tilt) || pz / 2.0 >= fmax(px, py)))
		return MOTION_ZOOM;
	if (pan)
		return MOTION_PAN;
	if (tilt)
		return MOTION_TILT;
	if (o->shake >= MOTION_SHAKE_MIN)
		return MOTION_HANDHELD;
	return MOTION_STATIC;
}

int
motion_classify(
    const struct motion_sample *s, size_t n, struct motion_shot *out)
{
	struct motion_agree a;

	memset(out, 0, sizeof(*out));
	motion_means(s, n, out);
	if (out->reliable_s < MOTION_MIN_RELIABLE_S) {
		out->camera = MOTION_UNKNOWN;
		return 0;
	}
	if (motion_shake(s, n, &out->shake) == -1)
		return -1;
	motion_sustain(s, n, out, &a);
	out->camera = motion_decide(out, &a);
	return 0;
}

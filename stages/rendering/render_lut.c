/*
 * .cube parsing and the fused YUV -> RGB -> LUT -> YUV kernel (see
 * render_lut.h).
 *
 * Fixed point: an RGB value is held in lattice units times 256, so its
 * top bits index the lattice and its low 8 bits are the fraction; the
 * lattice holds output Y, U, V times 64; an interpolated value is a sum of
 * four weights (summing to 256) times lattice values, so it carries 14
 * fraction bits, and 16 after the 2x2 chroma sum. The lattice has one
 * extra plane on each axis repeating the last, so the top corner needs no
 * branch. Rows are shared out to threads in bands of whole 2x2 blocks;
 * each band writes only its own rows, so the threads share nothing.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render_lut.h"

#define RLUT_FRAC 8
#define RLUT_ONE (1 << RLUT_FRAC)
#define RLUT_OUT_SCALE 64.0
#define RLUT_MAX_THREADS 8
/* Below this many block rows per thread, threads cost more than they save. */
#define RLUT_ROWS_PER_THREAD 16

struct rlut {
	int n;
	float *rgb; /* n^3 x 3, red fastest */
	float dmin[3], dmax[3];
	/* (n+1)^3 x {Y, U, V, 0}, BT.709 limited, times 64 */
	int16_t *lat;
	int sg, sb; /* lattice strides of green and blue, in entries */
	int maxv;   /* (n - 1) << RLUT_FRAC */
	int nthreads;
	/* Source tables: luma and chroma terms of R, G, B in lattice units. */
	int32_t yr[256], yg[256], yb[256];
	int32_t vr[256], ug[256], vg[256], ub[256];
};

struct rlut_band {
	const struct rlut *l;
	const uint8_t *const *src;
	const int *sls;
	uint8_t *const *dst;
	const int *dls;
	int w, y0, y1;
};

static int
rlut_bad(struct stage_ctx *ctx, const char *path, int line, const char *why)
{
	const char *base = strrchr(path, '/');

	stage_fail(ctx, STAGE_E_DATA, "%s line %d: %s",
	    base != NULL ? base + 1 : path, line, why);
	return -1;
}

/* Reads up to 3 floats from s; returns how many. */
static int
rlut_floats(const char *s, float v[3])
{
	char *end;
	int k;

	for (k = 0; k < 3; k++) {
		double d = strtod(s, &end);

		if (end == s || !isfinite(d))
			break;
		v[k] = (float)d;
		s = end;
	}
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	return *s == '\0' ? k : -1;
}

static int
rlut_keyword(
    struct stage_ctx *ctx, const char *path, int line, char *s, struct rlut *l)
{
	float v[3];

	if (strncmp(s, "LUT_3D_SIZE", 11) == 0) {
		l->n = atoi(s + 11);
		if (l->n < RLUT_MIN_SIZE || l->n > RLUT_MAX_SIZE || l->rgb)
			return rlut_bad(ctx, path, line, "bad LUT_3D_SIZE");
		l->rgb = calloc((size_t)l->n * l->n * l->n * 3, sizeof(float));
		if (l->rgb == NULL)
			return rlut_bad(ctx, path, line, "out of memory");
	} else if (strncmp(s, "DOMAIN_MIN", 10) == 0 ||
		   strncmp(s, "DOMAIN_MAX", 10) == 0) {
		if (rlut_floats(s + 10, v) != 3)
			return rlut_bad(ctx, path, line, "bad DOMAIN line");
		memcpy(s[8] == 'I' ? l->dmin : l->dmax, v, sizeof(v));
	} else if (strncmp(s, "LUT_1D_SIZE", 11) == 0)
		return rlut_bad(ctx, path, line, "1D LUTs are not supported");
	/* TITLE and vendor keywords carry nothing the grade needs. */
	return 0;
}

static int
rlut_line(struct stage_ctx *ctx, const char *path, int line, char *s,
    struct rlut *l, size_t *count)
{
	size_t total;
	float v[3];

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '#' || *s == '\0' || *s == '\r' || *s == '\n')
		return 0;
	if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		return rlut_keyword(ctx, path, line, s, l);
	if (l->rgb == NULL)
		return rlut_bad(ctx, path, line, "data before LUT_3D_SIZE");
	total = (size_t)l->n * l->n * l->n;
	if (rlut_floats(s, v) != 3)
		return rlut_bad(ctx, path, line, "expected three numbers");
	if (*count >= total)
		return rlut_bad(ctx, path, line, "more entries than the size");
	memcpy(l->rgb + 3 * *count, v, sizeof(v));
	(*count)++;
	return 0;
}

static int
rlut_parse(struct stage_ctx *ctx, const char *path, FILE *f, struct rlut *l)
{
	char *buf = NULL;
	size_t cap = 0, count = 0;
	int line = 0, rc = 0, c;

	while (rc == 0 && getline(&buf, &cap, f) >= 0)
		rc = rlut_line(ctx, path, ++line, buf, l, &count);
	free(buf);
	if (rc != 0)
		return rc;
	if (ferror(f))
		return rlut_bad(ctx, path, line, "read error");
	if (l->rgb == NULL || count != (size_t)l->n * l->n * l->n)
		return rlut_bad(ctx, path, line, "fewer entries than the size");
	for (c = 0; c < 3; c++) {
		if (!(l->dmax[c] > l->dmin[c]))
			return rlut_bad(ctx, path, line, "empty domain");
	}
	return 0;
}

static float
rlut_clamp01(float x)
{
	return x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
}

/* Bakes BT.709 limited-range output into the padded lattice. */
static void
rlut_bake(struct rlut *l)
{
	int n = l->n, m = n + 1, r, g, b;

	l->sg = m;
	l->sb = m * m;
	l->maxv = (n - 1) << RLUT_FRAC;
	for (b = 0; b < m; b++)
		for (g = 0; g < m; g++)
			for (r = 0; r < m; r++) {
				int rr = r < n ? r : n - 1,
				    gg = g < n ? g : n - 1;
				int bb = b < n ? b : n - 1;
				const float *c =
				    l->rgb + 3 * (rr + n * (gg + n * bb));
				double R = rlut_clamp01(c[0]);
				double G = rlut_clamp01(c[1]);
				double B = rlut_clamp01(c[2]);
				double Y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
				int16_t *o =
				    l->lat + 4 * (r + g * l->sg + b * l->sb);

				o[0] = (int16_t)lrint(
				    RLUT_OUT_SCALE * (16.0 + 219.0 * Y));
				o[1] = (int16_t)lrint(
				    RLUT_OUT_SCALE *
				    (128.0 + 224.0 * (B - Y) / 1.8556));
				o[2] = (int16_t)lrint(
				    RLUT_OUT_SCALE *
				    (128.0 + 224.0 * (R - Y) / 1.5748));
				o[3] = 0;
			}
}

static int
rlut_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > RLUT_MAX_THREADS ? RLUT_MAX_THREADS : (int)n;
}

enum stage_result
rlut_load(struct stage_ctx *ctx, const char *path, struct rlut **out)
{
	struct rlut *l;
	FILE *f;
	int m;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL)
		return stage_fail(ctx,
		    errno == ENOENT ? STAGE_E_NOINPUT : STAGE_E_IO,
		    "cannot open the grade %s: %s", path, strerror(errno));
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		fclose(f);
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	}
	l->dmax[0] = l->dmax[1] = l->dmax[2] = 1.0f;
	if (rlut_parse(ctx, path, f, l) != 0) {
		fclose(f);
		rlut_free(l);
		return STAGE_E_DATA;
	}
	fclose(f);
	m = l->n + 1;
	if ((l->lat = calloc((size_t)m * m * m * 4, sizeof(int16_t))) == NULL) {
		rlut_free(l);
		return stage_fail(ctx, STAGE_E_TEMP, "out of memory");
	}
	rlut_bake(l);
	l->nthreads = rlut_cpus();
	rlut_set_source(l, 0.2126, 0.0722, false);
	*out = l;
	return STAGE_OK;
}

bool
rlut_identity(const struct rlut *l)
{
	int n = l->n, i, c;

	for (c = 0; c < 3; c++) {
		if (l->dmin[c] != 0.0f || l->dmax[c] != 1.0f)
			return false;
	}
	for (i = 0; i < n * n * n; i++) {
		int idx[3] = {i % n, (i / n) % n, i / (n * n)};

		for (c = 0; c < 3; c++) {
			if (fabsf(l->rgb[3 * i + c] - (float)idx[c] / (n - 1)) >
			    1e-4f)
				return false;
		}
	}
	return true;
}

void
rlut_set_source(struct rlut *l, double kr, double kb, bool full)
{
	double kg = 1.0 - kr - kb, s[3], o[3];
	int i, c;

	for (c = 0; c < 3; c++) {
		s[c] = (double)((l->n - 1) << RLUT_FRAC) /
		       (l->dmax[c] - l->dmin[c]);
		o[c] = -l->dmin[c] * s[c];
	}
	for (i = 0; i < 256; i++) {
		double y = full ? i / 255.0 : (i - 16) / 219.0;
		double ch = full ? (i - 128) / 255.0 : (i - 128) / 224.0;

		l->yr[i] = (int32_t)lrint(y * s[0] + o[0]);
		l->yg[i] = (int32_t)lrint(y * s[1] + o[1]);
		l->yb[i] = (int32_t)lrint(y * s[2] + o[2]);
		l->vr[i] = (int32_t)lrint(2.0 * (1.0 - kr) * ch * s[0]);
		l->ug[i] =
		    (int32_t)lrint(-2.0 * kb * (1.0 - kb) / kg * ch * s[1]);
		l->vg[i] =
		    (int32_t)lrint(-2.0 * kr * (1.0 - kr) / kg * ch * s[1]);
		l->ub[i] = (int32_t)lrint(2.0 * (1.0 - kb) * ch * s[2]);
	}
}

static inline int
rlut_clampv(int v, int maxv)
{
	return v < 0 ? 0 : v > maxv ? maxv : v;
}

/*
 * The tetrahedron holding a point is given by the order of its three
 * fractions. Case index: bit 0 r > g, bit 1 g > b, bit 2 r > b; entries
 * list the axes (0 r, 1 g, 2 b) from the largest fraction down. Cases 3
 * and 4 cannot happen. A table instead of branches: video noise makes the
 * order unpredictable, and a mispredicted branch costs more than the look-up.
 */
static const uint8_t rlut_order[8][3] = {
    {2, 1, 0},
    {2, 0, 1},
    {1, 2, 0},
    {0, 1, 2},
    {0, 1, 2},
    {0, 2, 1},
    {1, 0, 2},
    {0, 1, 2},
};

/* Tetrahedral interpolation of one RGB point: Y, U, V with 14 frac bits. */
static inline __attribute__((always_inline)) void
rlut_interp(const struct rlut *l, int r, int g, int b, int32_t out[3])
{
	const int f[3] = {
	    r & (RLUT_ONE - 1), g & (RLUT_ONE - 1), b & (RLUT_ONE - 1)};
	const int off[3] = {4, 4 * l->sg, 4 * l->sb};
	const uint8_t *o =
	    rlut_order[(f[0] > f[1]) | (f[1] > f[2]) << 1 | (f[0] > f[2]) << 2];
	const int16_t *c0 =
	    l->lat + 4 * ((r >> RLUT_FRAC) + (g >> RLUT_FRAC) * l->sg +
			     (b >> RLUT_FRAC) * l->sb);
	const int16_t *c1 = c0 + off[o[0]], *c2 = c1 + off[o[1]];
	const int16_t *c3 = c2 + off[o[2]];
	int w0 = RLUT_ONE - f[o[0]], w1 = f[o[0]] - f[o[1]];
	int w2 = f[o[1]] - f[o[2]], w3 = f[o[2]];

	out[0] = w0 * c0[0] + w1 * c1[0] + w2 * c2[0] + w3 * c3[0];
	out[1] = w0 * c0[1] + w1 * c1[1] + w2 * c2[1] + w3 * c3[1];
	out[2] = w0 * c0[2] + w1 * c1[2] + w2 * c2[2] + w3 * c3[2];
}

/* One pixel: its luma out, its chroma added to the block's sums. */
static inline __attribute__((always_inline)) uint8_t
rlut_pixel(const struct rlut *l, int y, int cr, int cg, int cb, int32_t *su,
    int32_t *sv)
{
	int32_t o[3];

	rlut_interp(l, rlut_clampv(l->yr[y] + cr, l->maxv),
	    rlut_clampv(l->yg[y] + cg, l->maxv),
	    rlut_clampv(l->yb[y] + cb, l->maxv), o);
	*su += o[1];
	*sv += o[2];
	return (uint8_t)((o[0] + (1 << 13)) >> 14);
}

static void
rlut_row_pair(const struct rlut *l, const struct rlut_band *b, int by)
{
	const uint8_t *y0 = b->src[0] + (ptrdiff_t)(2 * by) * b->sls[0];
	const uint8_t *y1 = y0 + b->sls[0];
	const uint8_t *u = b->src[1] + (ptrdiff_t)by * b->sls[1];
	const uint8_t *v = b->src[2] + (ptrdiff_t)by * b->sls[2];
	uint8_t *d0 = b->dst[0] + (ptrdiff_t)(2 * by) * b->dls[0];
	uint8_t *d1 = d0 + b->dls[0];
	uint8_t *du = b->dst[1] + (ptrdiff_t)by * b->dls[1];
	uint8_t *dv = b->dst[2] + (ptrdiff_t)by * b->dls[2];
	int x;

	for (x = 0; x < b->w / 2; x++) {
		int cr = l->vr[v[x]], cg = l->ug[u[x]] + l->vg[v[x]];
		int cb = l->ub[u[x]];
		int32_t su = 0, sv = 0;

		d0[2 * x] = rlut_pixel(l, y0[2 * x], cr, cg, cb, &su, &sv);
		d0[2 * x + 1] =
		    rlut_pixel(l, y0[2 * x + 1], cr, cg, cb, &su, &sv);
		d1[2 * x] = rlut_pixel(l, y1[2 * x], cr, cg, cb, &su, &sv);
		d1[2 * x + 1] =
		    rlut_pixel(l, y1[2 * x + 1], cr, cg, cb, &su, &sv);
		du[x] = (uint8_t)((su + (1 << 15)) >> 16);
		dv[x] = (uint8_t)((sv + (1 << 15)) >> 16);
	}
}

static void *
rlut_band_run(void *arg)
{
	const struct rlut_band *b = arg;
	int by;

	for (by = b->y0; by < b->y1; by++)
		rlut_row_pair(b->l, b, by);
	return NULL;
}

void
rlut_apply(const struct rlut *l, const uint8_t *const src[3],
    const int src_ls[3], uint8_t *const dst[3], const int dst_ls[3], int w,
    int h)
{
	struct rlut_band bands[RLUT_MAX_THREADS];
	pthread_t tid[RLUT_MAX_THREADS];
	bool started[RLUT_MAX_THREADS] = {false};
	int rows = h / 2, n = l->nthreads, i;

	if (n > rows / RLUT_ROWS_PER_THREAD)
		n = rows / RLUT_ROWS_PER_THREAD;
	n = n < 1 ? 1 : n;
	for (i = 0; i < n; i++) {
		bands[i] = (struct rlut_band){l, src, src_ls, dst, dst_ls, w,
		    rows * i / n, rows * (i + 1) / n};
		/* A thread that cannot start leaves its band to this one. */
		if (i > 0)
			started[i] = pthread_create(&tid[i], NULL,
					 rlut_band_run, &bands[i]) == 0;
	}
	rlut_band_run(&bands[0]);
	for (i = 1; i < n; i++) {
		if (started[i])
			pthread_join(tid[i], NULL);
		else
			rlut_band_run(&bands[i]);
	}
}

void
rlut_free(struct rlut *l)
{
	if (l == NULL)
		return;
	free(l->rgb);
	free(l->lat);
	free(l);
}

/*
 * Area shrinking and the YUV to RGB matrix (shrink.h). The rows of a box
 * are summed first, eight columns at a time on 16-bit lanes, because that
 * pass reads every source byte once and is most of the work; the columns
 * of a box are then summed on the short row of sums.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shrink.h"

#define SHRINK_LANES 8
/* An average is sum * mul >> SHRINK_SHIFT, mul = 2^SHRINK_SHIFT / area. */
#define SHRINK_SHIFT 24
#define SHRINK_HALF (UINT64_C(1) << (SHRINK_SHIFT - 1))

typedef uint8_t shrink_bytes __attribute__((vector_size(SHRINK_LANES)));
typedef uint16_t shrink_words
    __attribute__((vector_size(SHRINK_LANES * sizeof(uint16_t))));

bool
shrink_possible(int sw, int sh, int dw, int dh)
{
	return dw > 0 && dh > 0 && sw >= dw && sh >= dh &&
	       (sh + dh - 1) / dh <= SHRINK_ROWS_MAX;
}

static uint32_t
shrink_mul(int area)
{
	return (uint32_t)(((UINT64_C(1) << SHRINK_SHIFT) + area / 2) / area);
}

int
shrink_plane_init(struct shrink_plane *p, int sw, int sh, int dw, int dh)
{
	int x, w, step;

	memset(p, 0, sizeof(*p));
	if (!shrink_possible(sw, sh, dw, dh))
		return -1;
	p->x0 = malloc(((size_t)dw + 1) * sizeof(*p->x0));
	p->mul[0] = malloc((size_t)dw * sizeof(*p->mul[0]));
	p->mul[1] = malloc((size_t)dw * sizeof(*p->mul[1]));
	p->acc = malloc((size_t)sw * sizeof(*p->acc));
	if (p->x0 == NULL || p->mul[0] == NULL || p->mul[1] == NULL ||
	    p->acc == NULL) {
		shrink_plane_free(p);
		return -1;
	}
	p->sw = sw;
	p->sh = sh;
	p->dw = dw;
	p->dh = dh;
	for (x = 0; x <= dw; x++)
		p->x0[x] = (int)((int64_t)x * sw / dw);
	/* A box has sh / dh rows or one more, and sums ceil(rows / step). */
	p->rows = sh / dh;
	step = p->rows >= SHRINK_SPARSE_ROWS ? 2 : 1;
	p->used_rows = (p->rows + step - 1) / step;
	for (x = 0; x < dw; x++) {
		w = p->x0[x + 1] - p->x0[x];
		p->mul[0][x] = shrink_mul(p->used_rows * w);
		p->mul[1][x] = shrink_mul((p->used_rows + 1) * w);
	}
	return 0;
}

void
shrink_plane_free(struct shrink_plane *p)
{
	free(p->x0);
	free(p->mul[0]);
	free(p->mul[1]);
	free(p->acc);
	memset(p, 0, sizeof(*p));
}

/* acc[i] = row[i] (add false) or acc[i] += row[i] (add true). */
static void
shrink_sum_row(uint16_t *acc, const uint8_t *row, int w, bool add)
{
	shrink_bytes b;
	shrink_words s;
	int i = 0;

	if (!add) {
		for (; i + SHRINK_LANES <= w; i += SHRINK_LANES) {
			memcpy(&b, row + i, sizeof(b));
			s = __builtin_convertvector(b, shrink_words);
			memcpy(acc + i, &s, sizeof(s));
		}
	} else {
		for (; i + SHRINK_LANES <= w; i += SHRINK_LANES) {
			memcpy(&b, row + i, sizeof(b));
			memcpy(&s, acc + i, sizeof(s));
			s += __builtin_convertvector(b, shrink_words);
			memcpy(acc + i, &s, sizeof(s));
		}
	}
	for (; i < w; i++)
		acc[i] = (uint16_t)((add ? acc[i] : 0) + row[i]);
}

/* One output row from the column sums of its box's rows (mul: 1 / area). */
static void
shrink_columns(const struct shrink_plane *p, const uint32_t *mul, uint8_t *out)
{
	uint64_t sum;
	int x, i;

	for (x = 0; x < p->dw; x++) {
		sum = 0;
		for (i = p->x0[x]; i < p->x0[x + 1]; i++)
			sum += p->acc[i];
		out[x] =
		    (uint8_t)((sum * mul[x] + SHRINK_HALF) >> SHRINK_SHIFT);
	}
}

void
shrink_plane_run(const struct shrink_plane *p, const uint8_t *src,
    ptrdiff_t sls, uint8_t *dst, ptrdiff_t dls)
{
	int y, r, r0, r1, step = p->rows >= SHRINK_SPARSE_ROWS ? 2 : 1, n;

	for (y = 0; y < p->dh; y++) {
		r0 = (int)((int64_t)y * p->sh / p->dh);
		r1 = (int)((int64_t)(y + 1) * p->sh / p->dh);
		for (r = r0; r < r1; r += step)
			shrink_sum_row(p->acc, src + r * sls, p->sw, r > r0);
		n = (r1 - r0 + step - 1) / step;
		shrink_columns(p, p->mul[n - p->used_rows], dst + y * dls);
	}
}

void
shrink_matrix_init(struct shrink_matrix *m, double kr, double kb, bool full)
{
	double kg = 1.0 - kr - kb, ys = full ? 1.0 : 255.0 / 219.0;
	double cs = full ? 1.0 : 255.0 / 224.0, yl, c;
	int i;

	for (i = 0; i < 256; i++) {
		yl = full ? i : i - 16;
		c = (i - 128) * cs;
		m->y[i] = (int32_t)lrint(yl * ys * 65536.0);
		m->rv[i] = (int32_t)lrint(2.0 * (1.0 - kr) * c * 65536.0);
		m->bu[i] = (int32_t)lrint(2.0 * (1.0 - kb) * c * 65536.0);
		m->gu[i] =
		    (int32_t)lrint(-2.0 * (1.0 - kb) * kb / kg * c * 65536.0);
		m->gv[i] =
		    (int32_t)lrint(-2.0 * (1.0 - kr) * kr / kg * c * 65536.0);
	}
}

static inline uint8_t
shrink_clamp(int32_t v)
{
	v = (v + 32768) >> 16;
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

void
shrink_yuv_row(const struct shrink_matrix *m, const uint8_t *y,
    const uint8_t *u, const uint8_t *v, uint8_t *g, uint8_t *b, uint8_t *r,
    int w)
{
	int32_t l;
	int x;

	for (x = 0; x < w; x++) {
		l = m->y[y[x]];
		r[x] = shrink_clamp(l + m->rv[v[x]]);
		g[x] = shrink_clamp(l + m->gu[u[x]] + m->gv[v[x]]);
		b[x] = shrink_clamp(l + m->bu[u[x]]);
	}
}

/*
 * Shrinking 8-bit YUV pictures to the small planar RGB of the analysis
 * proxies: an area (box) average per plane, then the YUV to RGB matrix on
 * the few pixels left. swscale's area filter does the same work through
 * a general filter bank and cost video_analysis about a fifth of its CPU
 * on 1080p (docs/stages/video_analysis.md, "Shrinking to the proxy").
 *
 * Each output pixel averages the source pixels of its box: columns
 * [x * sw / dw, (x + 1) * sw / dw) and the same for rows, so boxes differ
 * by at most one pixel in width. Only shrinking is done here (the caller
 * uses swscale otherwise). Pure functions on pixel buffers: no libav, no
 * I/O. Prefix shrink_.
 */
#ifndef REEL_SHRINK_H
#define REEL_SHRINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The most source rows one output row may average: their sum must fit
 * the 16-bit column sums (257 * 255 = 65535).
 */
#define SHRINK_ROWS_MAX 257
/*
 * From this many rows per box on, every second row is summed: the rows
 * are most of the memory read, and half of a box of four or more rows
 * still smooths what a proxy of 1/4 or less of the height can show.
 */
#define SHRINK_SPARSE_ROWS 4

/* The geometry of one plane's shrink, and its working row. */
struct shrink_plane {
	int sw, sh, dw, dh;
	int rows, used_rows; /* sh / dh: a box has this many rows or one more */
	int *x0;	     /* dw + 1 column bounds */
	uint32_t *mul[2];    /* 1 / box area, per column, for the two heights */
	uint16_t *acc;	     /* column sums of one band of rows */
};

/*
 * Whether a plane of sw x sh can be shrunk to dw x dh here: a shrink on
 * both axes, with at most SHRINK_ROWS_MAX rows per box.
 */
bool shrink_possible(int sw, int sh, int dw, int dh);

/* 0, or -1 when memory ran out or shrink_possible() is false. */
int shrink_plane_init(struct shrink_plane *p, int sw, int sh, int dw, int dh);
void shrink_plane_free(struct shrink_plane *p);

/* Averages src (sls bytes per row) into dst (dls bytes per row). */
void shrink_plane_run(const struct shrink_plane *p, const uint8_t *src,
    ptrdiff_t sls, uint8_t *dst, ptrdiff_t dls);

/* A YUV matrix as tables: luma weights kr and kb, limited or full range. */
struct shrink_matrix {
	int32_t y[256];		  /* luma, 16.16 fixed point */
	int32_t rv[256], bu[256]; /* Cr to R, Cb to B */
	int32_t gu[256], gv[256]; /* Cb and Cr to G */
};

void shrink_matrix_init(
    struct shrink_matrix *m, double kr, double kb, bool full);

/*
 * w pixels of one row: Y, Cb and Cr of the same size to G, B and R (the
 * plane order of planar RGB), rounded and clamped to 0..255.
 */
void shrink_yuv_row(const struct shrink_matrix *m, const uint8_t *y,
    const uint8_t *u, const uint8_t *v, uint8_t *g, uint8_t *b, uint8_t *r,
    int w);

#endif

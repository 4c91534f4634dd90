/*
 * The grade: a .cube 3D LUT applied to 8-bit 4:2:0 video in one pass.
 *
 * Each pixel is taken to full-range RGB with the source's own matrix and
 * range, looked up in the LUT with tetrahedral interpolation (the method
 * of FFmpeg's lut3d), and written as BT.709 limited-range YUV 4:2:0. The
 * RGB to YUV step is linear, so it is folded into the lattice once: the
 * per-pixel work is table look-ups and one interpolation in fixed point.
 * Chroma is shared by each 2x2 block on the way in and averaged over it
 * on the way out. It costs about half the CPU of swscale + lut3d +
 * swscale and matches that chain to 42 dB PSNR in luma
 * (docs/stages/rendering.md has the numbers). Prefix rlut_.
 */
#ifndef REEL_RENDER_LUT_H
#define REEL_RENDER_LUT_H

#include <stdbool.h>
#include <stdint.h>

#include "stage.h"

/* LUT_3D_SIZE accepted. */
#define RLUT_MIN_SIZE 2
#define RLUT_MAX_SIZE 129

struct rlut;

/*
 * Parses a .cube file (LUT_3D_SIZE, optional TITLE, DOMAIN_MIN,
 * DOMAIN_MAX, red fastest). Missing is STAGE_E_NOINPUT, malformed
 * STAGE_E_DATA.
 */
enum stage_result rlut_load(
    struct stage_ctx *ctx, const char *path, struct rlut **out);
/* True when the LUT maps every lattice point to itself (within 1e-4). */
bool rlut_identity(const struct rlut *l);
/*
 * The source's YUV matrix (luma weights of red and blue, e.g. 0.2126 and
 * 0.0722 for BT.709) and range, for the following rlut_apply() calls.
 */
void rlut_set_source(struct rlut *l, double kr, double kb, bool full);
/*
 * Grades a w x h picture (both even) of 8-bit 4:2:0 planes (Y, U, V) into
 * dst, BT.709 limited range, using up to the machine's cores.
 */
void rlut_apply(const struct rlut *l, const uint8_t *const src[3],
    const int src_ls[3], uint8_t *const dst[3], const int dst_ls[3], int w,
    int h);
void rlut_free(struct rlut *l);

#endif

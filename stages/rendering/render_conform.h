/*
 * From a decoded source frame to one output picture: grade, crop or pad,
 * scale and turn upright, as plan.md's conform rules say.
 *
 * Order: the crop region (given on the upright, square-pixel frame) is
 * mapped back onto the coded frame and cut there first; cropping commutes
 * with a per-pixel LUT, so only kept pixels are graded. Then the grade
 * (render_lut.h: full-range RGB of the source's own matrix, before any
 * scaling), then one swscale pass to the target size, then the turn to
 * upright and the placement in the black frame for pad. Crop edges are
 * rounded to even pixels (4:2:0 chroma), and so are pad offsets.
 *
 * Output frames are yuv420p, BT.709, limited range, square pixels,
 * reference-counted and never written again after rconf_render() returns,
 * so callers may keep them (dissolves) and hand them on (encoder).
 * Prefix rconf_.
 */
#ifndef REEL_RENDER_CONFORM_H
#define REEL_RENDER_CONFORM_H

#include <stdbool.h>

#include <libavformat/avformat.h>
#include <libavutil/frame.h>

#include "render_lut.h"
#include "render_plan.h"
#include "stage.h"

struct rconf;

/*
 * Sets up conform for a source stream whose frames have sample aspect
 * ratio sar. Fails as STAGE_E_DATA when the plan's crop region lies
 * outside the source picture.
 */
enum stage_result rconf_new(struct stage_ctx *ctx, const struct rplan *p,
    struct rlut *lut, const AVStream *st, AVRational sar, struct rconf **out);
/*
 * Renders in into *out, a new frame of the plan's output size, showing
 * 1/zoom of the conform region (zoom 1: all of it), placed at x, y in the
 * room the zoom leaves (0.5, 0.5: centred).
 */
enum stage_result rconf_render(struct rconf *c, const AVFrame *in, double zoom,
    double x, double y, AVFrame **out);
void rconf_free(struct rconf *c);

#endif

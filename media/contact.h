/*
 * The contact sheet: a PNG of 3 rows (template, source "before", output
 * "after") by 4 columns of frames at 12.5 %, 37.5 %, 62.5 % and 87.5 % of
 * each video's duration. Tiles are CONTACT_TILE_W pixels wide and as tall
 * as the row's video is upright (even, at most CONTACT_TILE_H_MAX), so the
 * sheet is 4 x CONTACT_TILE_W wide. Above each row runs a bar of
 * CONTACT_BAR_H pixels in the row's colour: blue template, orange source,
 * green output. A tile that could not be filled stays dark grey.
 * Prefix contact_.
 */
#ifndef REEL_CONTACT_H
#define REEL_CONTACT_H

#include <libavutil/frame.h>
#include <libavutil/rational.h>

#include "stage.h"

#define CONTACT_ROWS 3
#define CONTACT_COLS 4
#define CONTACT_TILE_W 320
#define CONTACT_TILE_H_MAX 640
#define CONTACT_BAR_H 6

enum contact_row {
	CONTACT_TEMPLATE,
	CONTACT_SOURCE,
	CONTACT_OUTPUT,
};

struct contact;

struct contact *contact_new(void);
/* Where column col is taken, as a fraction of the duration. */
double contact_fraction(int col);
/*
 * Puts a decoded frame (any format; coded orientation, pixels of aspect
 * sar, turned clockwise by rotation degrees to stand upright) in a tile.
 * The row's first frame sets the row's tile height.
 */
enum stage_result contact_put(struct stage_ctx *ctx, struct contact *c, int row,
    int col, const AVFrame *f, int rotation, AVRational sar);
/*
 * Fills a row from a video file: seeks to each column's time and decodes
 * to it. duration_s, when positive, overrides the file's own.
 */
enum stage_result contact_put_file(struct stage_ctx *ctx, struct contact *c,
    int row, const char *path, double duration_s);
/* Writes the sheet as PNG (libavcodec's encoder) to path. */
enum stage_result contact_write(
    struct stage_ctx *ctx, const struct contact *c, const char *path);
void contact_free(struct contact *c);

#endif

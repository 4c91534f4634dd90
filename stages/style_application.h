/*
 * The style_application stage: maps style.json onto the source. It reads
 * the source's analyses and style.json, and writes <job_dir>/grade.cube
 * (the colour transfer as a 33^3 LUT, grade.h) and <job_dir>/plan.json,
 * the render plan of docs/stages/plan.md: the re-cut edit list (recut.h),
 * transitions, loudness gain, aspect and frame-rate conform and encode
 * settings. Both files are written atomically, the LUT first, so a plan
 * never names a LUT that is not there. Decisions are documented in
 * docs/stages/style_application.md. Prefix sa_.
 */
#ifndef REEL_STYLE_APPLICATION_H
#define REEL_STYLE_APPLICATION_H

#include <stdbool.h>

#include "stage.h"

#define SA_PLAN_ARTIFACT "plan.json"
#define SA_LUT_ARTIFACT "grade.cube"
#define SA_PLAN_VERSION 1
#define SA_TRUE_PEAK_DBTP -1.0

/*
 * The rule for a source whose motion_analysis.json has no looks (made
 * before they were measured; with them, dsp/looks.h decides): a jump
 * inside one source shot skips enough time for the picture to move
 * SA_VISIBLE_SHIFT frame widths at the shot's measured image speed, within
 * SA_GAP_MIN_S..SA_GAP_MAX_S; SA_GAP_UNKNOWN_S when motion was not
 * measurable. A shot too slow to move that far in SA_GAP_MAX_S (or
 * unmeasured) cannot be relied on to show a jump by skipping: its jumps
 * also change the framing, alternating the whole frame and a punch-in of
 * SA_PUNCH_IN. The skip stays: on slowly changing pictures (a zoom) it is
 * what makes the cut visible. 1.25 is the least factor measured to score
 * over 0.3 on textured static footage (docs/stages/style_application.md).
 */
#define SA_VISIBLE_SHIFT 0.5
#define SA_GAP_MIN_S 1.0
#define SA_GAP_MAX_S 4.0
#define SA_GAP_UNKNOWN_S 2.0
#define SA_PUNCH_IN 1.25
/*
 * The longest dissolve a plan asks for, in output frames and seconds:
 * rendering blends at most this much (render_plan.h), so a longer
 * template dissolve is shortened to it.
 */
#define SA_DISSOLVE_MAX_FRAMES 30
#define SA_DISSOLVE_MAX_S 2.0

extern const struct stage_ops stage_style_application_ops;

enum stage_result style_application_run(struct stage_ctx *ctx);

enum sa_conform_mode {
	SA_CONFORM_CROP,
	SA_CONFORM_PAD,
	SA_CONFORM_NONE,
	/* pad, over the picture itself blurred and dimmed, as editors do */
	SA_CONFORM_FILL,
	/* the default: crop, or fill when a crop would keep too little */
	SA_CONFORM_AUTO,
};
/*
 * auto crops when the crop keeps at least this share of the source
 * picture, else fills: a portrait phone clip in a 16:9 template would
 * keep 32% (a thin strip, upscaled 1.8x), a 16:9 clip in a 1:1 one 56%.
 */
#define SA_CROP_KEEP_MIN 0.5

/* Output size, and the plan's conform rectangle (docs/stages/plan.md). */
struct sa_geometry {
	int width, height;
	enum sa_conform_mode mode;
	int x, y, w, h;
};

const char *sa_conform_name(enum sa_conform_mode mode);
/*
 * The output for a sw x sh (upright, square-pixel) source shown at the
 * ratio rw:rh: the source's shorter side is kept (its resolution class),
 * the other follows the ratio, both even. crop keeps the largest centred
 * region of that ratio, pad and fill fit the whole frame inside, auto is
 * crop or fill by SA_CROP_KEEP_MIN (out->mode says which). Returns -1 for
 * sizes or ratios that are not positive.
 */
int sa_geometry(int sw, int sh, int rw, int rh, enum sa_conform_mode mode,
    struct sa_geometry *out);
/* Whether jumps at this image speed (frame widths/s, NAN) punch in. */
bool sa_punch_in(double speed);
/* The skip a jump cut needs at this image speed (frame widths/s, NAN). */
double sa_jump_gap(double speed);
/* Prints a .cube file (TITLE, LUT_3D_SIZE, DOMAIN_MIN/MAX, rows). */
int sa_cube_print(FILE *f, const char *title, const float *lut, int size);

#endif

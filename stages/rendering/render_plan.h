/*
 * The render plan (docs/stages/plan.md) as rendering uses it: plan.json
 * parsed and checked, and the edit turned into whole output frames and
 * audio samples, so that video and audio cut at exactly the same instants.
 *
 * Guarantees once rplan_load() succeeds: segments are in source order and
 * do not overlap in the source; every segment has at least one output
 * frame; the output frames [f0, f1) of consecutive segments touch, or
 * overlap by the dissolve's frames (at most RPLAN_DISSOLVE_MAX_FRAMES and
 * RPLAN_DISSOLVE_MAX_S), and no output frame belongs to more than two
 * segments. Prefix rplan_.
 */
#ifndef REEL_RENDER_PLAN_H
#define REEL_RENDER_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include <libavutil/rational.h>

#include "stage.h"

#define RPLAN_FILE "plan.json"
#define RPLAN_VERSION 1
/*
 * A dissolve needs the outgoing segment's last frames while the incoming
 * one is decoded: these caps bound that buffer (93 MB at 1080x1920).
 */
#define RPLAN_DISSOLVE_MAX_S 2.0
#define RPLAN_DISSOLVE_MAX_FRAMES 30
/*
 * A segment's zoom (a punch-in) keeps 1/zoom of the conform region, centred
 * or placed by zoom_x and zoom_y; beyond 2 the picture is upscaled too far to
 * be worth showing.
 */
#define RPLAN_ZOOM_MAX 2.0
/* The audio cross-fade rendering adds at hard cuts. */
#define RPLAN_CUT_XFADE_S 0.010
/* The template's music fades out over this when the output ends first. */
#define RPLAN_SOUNDTRACK_FADE_S 1.0

enum rplan_trans {
	RPLAN_NONE,
	RPLAN_CUT,
	RPLAN_FADE,
	RPLAN_DISSOLVE,
};

enum rplan_conform {
	RPLAN_CONFORM_NONE,
	RPLAN_CONFORM_CROP,
	RPLAN_CONFORM_PAD,
	RPLAN_CONFORM_FILL, /* pad over the picture blurred and dimmed */
};

struct rplan_seg {
	double src_start, src_end, out_start;
	enum rplan_trans tin;
	double tin_s;
	double zoom;	       /* 1: the whole conform region (plan.md) */
	double zoom_x, zoom_y; /* the window in the room left: 0.5 centred */
	/* Output frames [f0, f1) and audio samples [k0, k1). */
	int64_t f0, f1;
	int64_t k0, k1;
	/* Frames of the fade ramps at each end (0: none). */
	int64_t fade_in, fade_out;
};

/* The largest gain a plan may ask, either way. */
#define RPLAN_GAIN_MAX_DB 60.0

struct rplan {
	char source[1024];
	char template_path[1024];
	double source_duration, template_duration;
	/* The source picture the conform region refers to; 0 if not given. */
	int src_display_w, src_display_h;
	char lut_file[256];
	int width, height;
	AVRational fps;
	enum rplan_conform conform;
	int cx, cy, cw, ch;
	double duration;
	int64_t nframes;  /* output video frames */
	int64_t nsamples; /* output audio frames at audio_rate */
	struct rplan_seg *segs;
	int nsegs;
	bool audio;
	/* The audio is the template's, from output time 0 (soundtrack). */
	bool template_soundtrack;
	double gain_db, tp_limit_db;
	/* The loudness to deliver, LUFS; NAN when the plan has none. */
	double target_lufs;
	char quality[16];
	char preset[16];
	int crf;
	int audio_bitrate, audio_rate;
};

/*
 * Reads and checks path. A missing file is STAGE_E_NOINPUT; a plan that
 * breaks the contract is STAGE_E_DATA with the reason in ctx->error.
 */
enum stage_result rplan_load(
    struct stage_ctx *ctx, const char *path, struct rplan *p);
void rplan_free(struct rplan *p);
/*
 * The plan of the template's music under plan p: one segment from
 * template time 0 to the output's end, fading out over its last
 * RPLAN_SOUNDTRACK_FADE_S (at most half the output). Free with rplan_free.
 */
enum stage_result rplan_soundtrack(
    struct stage_ctx *ctx, const struct rplan *p, struct rplan *track);
/* Time of output frame n, s. */
double rplan_frame_time(const struct rplan *p, int64_t n);
/* Source time that output time t shows in segment i, s. */
double rplan_source_time(const struct rplan *p, int i, double t);
/* The x264 preset and CRF of a quality name, or -1 when unknown. */
int rplan_quality(const char *quality, const char **preset, int *crf);

#endif

/*
 * The style_extraction stage: turns the template's analyses
 * (video_analysis.json, audio_analysis.json, motion_analysis.json) into
 * <job_dir>/style.json, StyleJSON v1.0 with every documented field plus an
 * "analysis" object holding the exact statistics style_application uses.
 * Every value comes from a measurement; the mapping is documented in
 * docs/stages/style_extraction.md.
 *
 * Also the readers of the earlier artifacts, shared with
 * style_application (style_application.h). Readers check
 * types and ranges and say what is wrong; a missing artifact is
 * STAGE_E_NOINPUT, a malformed one STAGE_E_DATA. Prefix style_ (shared)
 * and se_ (file-local).
 */
#ifndef REEL_STYLE_EXTRACTION_H
#define REEL_STYLE_EXTRACTION_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "grade.h"
#include "recut.h"
#include "stage.h"

#define STYLE_ARTIFACT "style.json"
#define STYLE_VA_ARTIFACT "video_analysis.json"
#define STYLE_AA_ARTIFACT "audio_analysis.json"
#define STYLE_MA_ARTIFACT "motion_analysis.json"
/* The version of the analysis artifacts this code reads. */
#define STYLE_INPUT_VERSION 1
/* The version of the "analysis" extension inside style.json. */
#define STYLE_ANALYSIS_VERSION 1

extern const struct stage_ops stage_style_extraction_ops;

enum stage_result style_extraction_run(struct stage_ctx *ctx);

/* One shot as video_analysis and motion_analysis describe it. */
struct style_shot {
	double start_s, end_s;
	enum recut_kind kind;	     /* transition in (RECUT_NONE: first) */
	double tr_start_s, tr_end_s; /* its span; start_s for cuts */
	double tr_ms;		     /* its duration, ms */
	char easing[16];	     /* "none" for cuts */
	struct grade_stats colour;   /* video_analysis's, of its clean frames */
	char camera[16];	     /* motion_analysis class, "" if unknown */
	double speed;		     /* image motion, frame widths/s; NAN */
};

struct style_video {
	int display_width, display_height;
	double fps, duration_s;
	double picture_start_s; /* the first frame not flat black or white */
	struct style_shot *shots;
	size_t nshots;
	struct grade_stats colour; /* the whole video */
	/* motion_analysis figures; NAN until style_motion_parse. */
	double motion_intensity, zoom_usage, reliable_share;
};

struct style_band_beat {
	double t_s;
	char band[8];
	double confidence;
};

/* audio_analysis values of one input; NAN where the artifact has null. */
struct style_audio {
	bool has_audio, music, speech;
	double lufs, lra, true_peak, tempo_bpm, tempo_confidence;
	double compression_ratio;
	double *beats;
	size_t nbeats;
	struct style_band_beat *band_beats;
	size_t nband_beats;
};

/* A JSON number (integer or real); false for anything else. */
/* A real rounded to a multiple of unit; null when not finite. */
json_t *style_real(double v, double unit);
bool style_num(const json_t *o, const char *key, double *out);
/* Reads colour statistics in video_analysis's format. */
int style_stats_parse(const json_t *c, struct grade_stats *s);
/* The same statistics in the same format (luma_histogram included). */
json_t *style_stats_json(const struct grade_stats *s);

/*
 * Loads the JSON object in <job_dir>/name. Fails with STAGE_E_NOINPUT when
 * the file is missing and STAGE_E_DATA when it is not a JSON object.
 */
enum stage_result style_load(
    struct stage_ctx *ctx, const char *name, json_t **out);
/* style_load, and the analysis artifacts' "version" must be 1. */
enum stage_result style_load_analysis(
    struct stage_ctx *ctx, const char *name, json_t **out);
/* The role ("template", "source") object of an artifact, or NULL. */
const json_t *style_role(const json_t *doc, const char *role);

/* Each returns 0, or -1 with the reason in err. Free with *_free. */
int style_video_parse(
    const json_t *o, struct style_video *v, char *err, size_t errlen);
void style_video_free(struct style_video *v);
int style_motion_parse(
    const json_t *o, struct style_video *v, char *err, size_t errlen);
int style_audio_parse(
    const json_t *o, struct style_audio *a, char *err, size_t errlen);
void style_audio_free(struct style_audio *a);

#endif

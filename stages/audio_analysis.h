/*
 * The audio_analysis stage: loudness (EBU R128), peaks and dynamics, and
 * rhythm (music or not, tempo, beats, beats per band, speech) of the
 * template and the source, written to <job_dir>/audio_analysis.json. The
 * pure pieces (loudness accumulator, rhythm analysis, JSON) are public so
 * that tests can drive them directly. Prefix aa_.
 */
#ifndef REEL_AUDIO_ANALYSIS_H
#define REEL_AUDIO_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libavutil/channel_layout.h>

#include "av.h"
#include "beat.h"
#include "stage.h"

#define AA_ARTIFACT "audio_analysis.json"
#define AA_VERSION 1

extern const struct stage_ops stage_audio_analysis_ops;

enum stage_result audio_analysis_run(struct stage_ctx *ctx);

/* Every value is NAN when the signal gives none (silence, too short). */
struct aa_levels {
	double integrated_lufs;
	double loudness_range_lu;
	double true_peak_dbtp;
	double sample_peak_dbfs;
	double max_momentary_lufs;
	double max_short_term_lufs;
	double crest_factor_db;
	double short_term_crest_db;
	double plr_db;
	double compression_ratio;
};

struct aa_loudness;

/*
 * libebur128's channel type for channel i of a layout: LFE unused, the
 * surrounds of 5.1 (back or side) weighted 1.41, the back pair of 7.1 at
 * 135 degrees weighted 1.0, anything unknown counted once.
 */
int aa_ebur128_channel(const AVChannelLayout *layout, int i);
/* An accumulator for interleaved float in this layout at this rate. */
struct aa_loudness *aa_loudness_new(const AVChannelLayout *layout, int rate);
/* Returns 0, or -1 when libebur128 fails (out of memory). */
int aa_loudness_add(struct aa_loudness *l, const float *x, size_t frames);
/* Momentary loudness (last 400 ms) now, LUFS; -HUGE_VAL in silence. */
double aa_loudness_momentary(const struct aa_loudness *l);
/* Results so far; call after the last add (it sorts internal state). */
void aa_loudness_result(struct aa_loudness *l, struct aa_levels *out);
void aa_loudness_free(struct aa_loudness *l);

struct aa_band_beat {
	double t_s;
	enum beat_band band;
	double confidence;
};

struct aa_rhythm {
	bool music;
	double tempo_bpm;	 /* NAN without music */
	double tempo_confidence; /* 0..1, also without music */
	double *beats_s;
	size_t nbeats;
	struct aa_band_beat *band_beats;
	size_t nband_beats;
	bool speech;
};

/* Rhythm of an onset envelope. Returns 0, or -1 when out of memory. */
int aa_rhythm_analyse(const struct beat_env *env, struct aa_rhythm *out);
void aa_rhythm_free(struct aa_rhythm *r);

struct aa_result {
	bool has_audio;
	int sample_rate;
	int channels;
	double duration_s;
	struct aa_levels levels;
	struct aa_rhythm rhythm;
	struct avh_losses decode; /* what decoding skipped */
};

/*
 * Analyses one file in one decode pass; a file without audio gives
 * has_audio false and STAGE_OK. Progress goes to ctx as the fraction of
 * this file done. Free the result with aa_result_free().
 */
enum stage_result aa_analyse_file(
    struct stage_ctx *ctx, const char *path, struct aa_result *out);
/* The artifact's object for one input. */
json_t *aa_result_json(const struct aa_result *r);
void aa_result_free(struct aa_result *r);

#endif

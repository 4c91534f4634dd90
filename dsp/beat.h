/*
 * Rhythm analysis on plain float arrays, no libav: a streaming onset
 * envelope (log mel spectral flux, full band and per band), global tempo by
 * autocorrelation with octave correction, the Ellis (2007) dynamic
 * programming beat tracker, and per-band onsets snapped to the beat grid.
 * Every function is deterministic and allocates only what it returns.
 * Prefix beat_.
 */
#ifndef REEL_BEAT_H
#define REEL_BEAT_H

#include <stdbool.h>
#include <stddef.h>

/* The onset front end runs on mono at this rate, whatever the source. */
#define BEAT_RATE 22050
#define BEAT_WIN 512 /* 23 ms analysis window */
#define BEAT_HOP 128 /* 5.8 ms between frames */
#define BEAT_NMEL 40

/*
 * Autocorrelation lags reach down to BEAT_MIN_BPM (bars of slow music);
 * a reported tempo lies within BEAT_RANGE_MIN to BEAT_RANGE_MAX.
 */
#define BEAT_MIN_BPM 30.0
#define BEAT_RANGE_MIN 60.0
#define BEAT_RANGE_MAX 200.0

enum beat_band {
	BEAT_BASS,   /* below 200 Hz */
	BEAT_MID,    /* 200 to 2000 Hz */
	BEAT_TREBLE, /* above 2000 Hz */
	BEAT_NBANDS
};

/*
 * Per-frame envelopes; frame k is centred at t0 + k / fps seconds. Flux is
 * the mean rise in dB per mel band (rectified), band levels are powers in
 * dB relative to a full-scale sine.
 */
struct beat_env {
	size_t n;
	double fps;
	double t0;
	float *flux;
	float *band_flux[BEAT_NBANDS];
	float *band_db[BEAT_NBANDS];
	float *speech_db; /* 300 to 3400 Hz */
	float *total_db;
};

struct beat_onset;

struct beat_onset *beat_onset_new(void);
/* Adds n mono samples at BEAT_RATE. Returns 0, or -1 when out of memory. */
int beat_onset_add(struct beat_onset *o, const float *x, size_t n);
/* The envelopes so far; valid until the next add or free. */
const struct beat_env *beat_onset_env(const struct beat_onset *o);
void beat_onset_free(struct beat_onset *o);

struct beat_tempo {
	double period; /* frames per beat; 0 when nothing is periodic */
	double bpm;    /* 0 when period is 0 */
	/*
	 * Confidence in the tempo, 0..1: (periodicity - floor) / (1 - floor)
	 * times clarity, 0 below the floor.
	 */
	double strength;
	/*
	 * Comb periodicity at the period: mean normalised autocorrelation at
	 * the period and its multiples up to 4 (as far as the audio reaches)
	 * of the flux or of the level, whichever is higher.
	 */
	double periodicity;
	/* What noise reaches at this length: 3 standard errors. */
	double floor;
	/* How clear the octave decisions were, 0..1. */
	double clarity;
	/* The level (not the onset flux) carries the pulse. */
	bool level;
};

/*
 * Global tempo of onset envelopes (docs/stages/audio_analysis.md, "Tempo"):
 * the peak of the flux or level autocorrelation within 60-200 BPM that
 * maximises a log-Gaussian prior (120 BPM, one octave) times its comb
 * periodicity, then moved by octaves from the metrical accents (the
 * balance of alternate pulses) within 60-200 BPM. Returns 0, or -1 when
 * out of memory.
 */
int beat_tempo(const struct beat_env *env, struct beat_tempo *out);

/*
 * The envelope beats are tracked on, n values in *out (free()): the flux,
 * or when the level carries the pulse (tp->level), the rise of the
 * smoothed level over the next 23 ms, rectified. Returns 0 or -1 (memory).
 */
int beat_track_env(
    const struct beat_env *env, const struct beat_tempo *tp, float **out);

/*
 * Ellis (2007) beat tracker with tightness 100: the frames of the beats,
 * ascending, in *beats (free()), weak leading and trailing beats trimmed.
 * Returns 0 (possibly with no beats), or -1 when out of memory.
 */
int beat_track(
    const float *flux, size_t n, double period, size_t **beats, size_t *nbeats);

/*
 * Least-squares beat period in frames over a beat sequence, counting beats
 * the tracker skipped; 0 with fewer than four beats.
 */
double beat_period_fit(const size_t *beats, size_t nbeats, double period);

/* Mean of flux over +-2 frames of each beat, over the mean of all flux. */
double beat_onset_ratio(
    const float *flux, size_t n, const size_t *beats, size_t nbeats);

struct beat_hit {
	size_t beat; /* index into the beat list */
	enum beat_band band;
	double confidence; /* 0..1 */
};

/*
 * Beats on which a band has an onset: the band's flux peaks within +-70 ms
 * of the beat. Confidence is the peak's height over the median of the
 * surrounding second, relative to the band's 99th percentile, times the
 * band's prominence (its level over the next 50 ms: 1 when it is the
 * loudest band, falling to 0 at 30 dB under the loudest). Hits under 0.1
 * are dropped. *hits (free()) is ordered by beat, then band.
 */
int beat_band_hits(const struct beat_env *env, const size_t *beats,
    size_t nbeats, struct beat_hit **hits, size_t *nhits);

const char *beat_band_name(enum beat_band band);
/* The q-quantile (0..1) of x in *out, 0 for none. Returns 0 or -1 (memory). */
int beat_quantile(const float *x, size_t n, double q, double *out);

#endif

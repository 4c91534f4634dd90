/*
 * Tests for the tempo of dsp/beat.c on signals synthesised here at 22.05
 * kHz mono (no ffmpeg, no corpus): click tracks, click tracks with weaker
 * clicks on the half beats and drum patterns whose hi-hats or off-beats
 * tempt an octave error, a pumping pad without attacks (only its level
 * pulses), tempi outside 60-200 BPM, short excerpts, noise and silence.
 * Each case states the tempo a person would tap, or that there is none;
 * beat_tempo must give that tempo within 2%, or a strength under the
 * music threshold (0.2), never a confident wrong value. Figures are
 * printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat.h"
#include "check_main.h"

/* audio_analysis's music threshold (AA_MUSIC_STRENGTH). */
#define CONFIDENT 0.2

enum sound { CLICK, KICK, SNARE, HAT, OPEN_HAT };

struct track {
	float *x;
	size_t n;
	unsigned seed;
};

/* Deterministic noise in [-1, 1). */
static double
noise(unsigned *seed)
{
	*seed = *seed * 1664525u + 1013904223u;
	return (double)(*seed >> 8) / 8388608.0 - 1.0;
}

static struct track
track_new(double seconds)
{
	struct track t = {NULL, (size_t)(seconds * BEAT_RATE), 12345u};

	t.x = calloc(t.n, sizeof(*t.x));
	ck_assert_ptr_nonnull(t.x);
	return t;
}

/* Noise under everything, amplitude a (-35 dBFS is 0.018). */
static void
add_noise(struct track *t, double a)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		t->x[i] += (float)(a * noise(&t->seed));
}

/* A second-order high-pass at fc Hz (RBJ biquad, Q 0.707), in place. */
static void
highpass(double *x, size_t n, double fc)
{
	double w = 2 * M_PI * fc / BEAT_RATE, al = sin(w) / (2 * 0.7071);
	double b0 = (1 + cos(w)) / 2, b1 = -(1 + cos(w)), a0 = 1 + al;
	double a1 = -2 * cos(w), a2 = 1 - al, x1 = 0, x2 = 0, y1 = 0, y2 = 0;
	double y;
	size_t i;

	for (i = 0; i < n; i++) {
		y = (b0 * x[i] + b1 * x1 + b0 * x2 - a1 * y1 - a2 * y2) / a0;
		x2 = x1;
		x1 = x[i];
		y2 = y1;
		y1 = y;
		x[i] = y;
	}
}

/*
 * One drum sound at t0 s: a 150 Hz click decaying at 40/s, a kick sweeping
 * down from 130 to 50 Hz, a snare (noise over 300 Hz), a closed or an open
 * hi-hat (noise over 6 kHz, 24 dB per octave).
 */
static void
add_hit(struct track *t, double t0, enum sound s, double a)
{
	size_t i0 = (size_t)lround(t0 * BEAT_RATE), i, len;
	double u, v[BEAT_RATE];

	len = i0 < t->n ? t->n - i0 : 0;
	len = len < BEAT_RATE ? len : BEAT_RATE;
	for (i = 0; i < len; i++) {
		u = (double)i / BEAT_RATE;
		if (s == CLICK)
			v[i] = exp(-40.0 * u) * sin(2 * M_PI * 150.0 * u);
		else if (s == KICK)
			v[i] =
			    exp(-30.0 * u) *
			    sin(2 * M_PI * (50.0 + 80.0 * exp(-40.0 * u)) * u);
		else
			v[i] = noise(&t->seed);
	}
	if (s == SNARE)
		highpass(v, len, 300.0);
	if (s == HAT || s == OPEN_HAT) {
		highpass(v, len, 6000.0);
		highpass(v, len, 6000.0);
	}
	for (i = 0; i < len; i++) {
		u = (double)i / BEAT_RATE;
		if (s == SNARE)
			v[i] *= exp(-25.0 * u);
		else if (s == HAT || s == OPEN_HAT)
			v[i] *= exp((s == HAT ? -80.0 : -15.0) * u);
		t->x[i0 + i] += (float)(a * v[i]);
	}
}

/* Hits every period s from t0 to the end. */
static void
add_grid(struct track *t, double t0, double period, enum sound s, double a)
{
	double u;

	for (u = t0; u < (double)t->n / BEAT_RATE; u += period)
		add_hit(t, u, s, a);
}

/*
 * A pad (three detuned tones over 55 Hz) whose level swells from -10 dB to
 * full over each beat and drops at the beat, as under a side-chain
 * compressor, with nothing that strikes.
 */
static void
add_pump(struct track *t, double period)
{
	double u, ph, g;
	size_t i;

	for (i = 0; i < t->n; i++) {
		u = (double)i / BEAT_RATE;
		ph = fmod(u, period) / period;
		g = pow(10.0, (-10.0 + 10.0 * ph) / 20.0);
		t->x[i] += (float)(0.3 * g *
				   (sin(2 * M_PI * 55.0 * u) +
				       0.5 * sin(2 * M_PI * 110.3 * u) +
				       0.3 * sin(2 * M_PI * 164.6 * u)));
	}
}

static void
tempo_of(const struct track *t, size_t from, size_t len, struct beat_tempo *tp)
{
	struct beat_onset *o = beat_onset_new();

	ck_assert_ptr_nonnull(o);
	ck_assert_uint_le(from + len, t->n);
	ck_assert_int_eq(beat_onset_add(o, t->x + from, len), 0);
	ck_assert_int_eq(beat_tempo(beat_onset_env(o), tp), 0);
	beat_onset_free(o);
}

/*
 * The tempo of the whole track (from, len 0) or a part must be want
 * within 2%, or not confident when right_or_null; want 0 asks for no
 * confident tempo at all.
 */
static void
expect(const char *name, const struct track *t, double from_s, double len_s,
    double want, bool right_or_null)
{
	size_t from = (size_t)(from_s * BEAT_RATE);
	size_t len = len_s > 0.0 ? (size_t)(len_s * BEAT_RATE) : t->n - from;
	struct beat_tempo tp;
	bool confident, right;

	tempo_of(t, from, len, &tp);
	confident = tp.strength >= CONFIDENT;
	right =
	    want > 0.0 && tp.period > 0.0 && fabs(tp.bpm / want - 1.0) <= 0.02;
	printf("%-24s %5.1f s want %5.1f got %7.2f strength %.3f "
	       "(periodicity %.3f floor %.3f clarity %.2f%s)\n",
	    name, (double)len / BEAT_RATE, want, tp.bpm, tp.strength,
	    tp.periodicity, tp.floor, tp.clarity, tp.level ? ", level" : "");
	ck_assert(tp.strength >= 0.0 && tp.strength <= 1.0);
	if (want == 0.0)
		ck_assert_msg(!confident, "%s: confident tempo %.2f (%.3f)",
		    name, tp.bpm, tp.strength);
	else if (right_or_null)
		ck_assert_msg(right || !confident,
		    "%s: confident wrong tempo %.2f (%.3f), want %.1f or none",
		    name, tp.bpm, tp.strength, want);
	else
		ck_assert_msg(right && confident,
		    "%s: tempo %.2f (%.3f), want %.1f", name, tp.bpm,
		    tp.strength, want);
}

START_TEST(test_click_tracks)
{
	static const double bpm[] = {
	    62.0, 80.0, 100.0, 120.0, 140.0, 174.0, 196.0};
	struct track t;
	char name[32];
	size_t i;

	for (i = 0; i < sizeof(bpm) / sizeof(bpm[0]); i++) {
		t = track_new(12.0);
		add_grid(&t, 0.0, 60.0 / bpm[i], CLICK, 0.8);
		snprintf(name, sizeof(name), "clicks %.0f", bpm[i]);
		expect(name, &t, 0.0, 0.0, bpm[i], false);
		free(t.x);
	}
}
END_TEST

/* Weaker clicks on every half beat tempt the tempo to double. */
START_TEST(test_half_beat_accents)
{
	static const double weak[] = {0.2, 0.35, 0.5};
	struct track t;
	char name[32];
	size_t i;

	for (i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		t = track_new(12.0);
		add_grid(&t, 0.0, 0.6, CLICK, 0.9);
		add_grid(&t, 0.3, 0.6, CLICK, 0.9 * weak[i]);
		add_noise(&t, 0.018);
		snprintf(name, sizeof(name), "100 + %.2f half beats", weak[i]);
		expect(name, &t, 0.0, 0.0, 100.0, false);
		free(t.x);
		/* At 96 the doubled tempo, 192, is within range. */
		t = track_new(12.0);
		add_grid(&t, 0.0, 0.625, CLICK, 0.9);
		add_grid(&t, 0.3125, 0.625, CLICK, 0.9 * weak[i]);
		add_noise(&t, 0.018);
		snprintf(name, sizeof(name), "96 + %.2f half beats", weak[i]);
		expect(name, &t, 0.0, 0.0, 96.0, false);
		free(t.x);
	}
	/* 120 with hi-hats on the off-beats. */
	t = track_new(12.0);
	add_grid(&t, 0.0, 0.5, CLICK, 0.9);
	add_grid(&t, 0.25, 0.5, HAT, 0.8);
	add_noise(&t, 0.018);
	expect("120 + off-beat hats", &t, 0.0, 0.0, 120.0, false);
	free(t.x);
}
END_TEST

START_TEST(test_drum_patterns)
{
	struct track t;

	/* Rock: kick on 1 and 3, snare on 2 and 4, 8th-note hi-hats. */
	t = track_new(12.0);
	add_grid(&t, 0.0, 1.0, KICK, 0.9);
	add_grid(&t, 0.5, 1.0, SNARE, 0.8);
	add_grid(&t, 0.0, 0.25, HAT, 0.3);
	expect("rock 120", &t, 0.0, 0.0, 120.0, false);
	free(t.x);
	/* Slow groove: the 8th-note hi-hats run at 160. */
	t = track_new(12.0);
	add_grid(&t, 0.0, 1.5, KICK, 0.9);
	add_grid(&t, 0.75, 1.5, SNARE, 0.8);
	add_grid(&t, 0.0, 0.375, HAT, 0.3);
	expect("kick/snare 80, hats 160", &t, 0.0, 0.0, 80.0, false);
	free(t.x);
	/* House: kick on every beat, open hi-hat on the off-beats. */
	t = track_new(12.0);
	add_grid(&t, 0.0, 60.0 / 124.0, KICK, 0.9);
	add_grid(&t, 30.0 / 124.0, 60.0 / 124.0, OPEN_HAT, 0.6);
	expect("house 124", &t, 0.0, 0.0, 124.0, false);
	free(t.x);
	/* Kick and snare alternate at 174 over 16th-note hi-hats. */
	t = track_new(12.0);
	add_grid(&t, 0.0, 120.0 / 174.0, KICK, 0.9);
	add_grid(&t, 60.0 / 174.0, 120.0 / 174.0, SNARE, 0.8);
	add_grid(&t, 0.0, 15.0 / 174.0, HAT, 0.3);
	expect("kick/snare 174", &t, 0.0, 0.0, 174.0, false);
	free(t.x);
}
END_TEST

/* No attacks: only the level pulses. */
START_TEST(test_pumping_pad)
{
	struct track t = track_new(12.0);

	add_pump(&t, 0.48);
	expect("pumping pad 125", &t, 0.0, 0.0, 125.0, false);
	free(t.x);
}
END_TEST

/*
 * The reported tempo lies in 60-200 BPM: 240 BPM clicks read 120; 45 BPM
 * clicks, with nothing between them, have no beat level in range.
 */
START_TEST(test_prior_range)
{
	struct track t = track_new(12.0);

	add_grid(&t, 0.0, 0.25, CLICK, 0.8);
	expect("clicks 240", &t, 0.0, 0.0, 120.0, false);
	free(t.x);
	t = track_new(16.0);
	add_grid(&t, 0.0, 60.0 / 45.0, CLICK, 0.8);
	expect("clicks 45", &t, 0.0, 0.0, 0.0, false);
	free(t.x);
}
END_TEST

/* 3 s and shorter: the right tempo or no confident one. */
START_TEST(test_short_excerpts)
{
	struct track t = track_new(12.0);
	double from;
	char name[40];

	add_grid(&t, 0.0, 1.0, KICK, 0.9);
	add_grid(&t, 0.5, 1.0, SNARE, 0.8);
	add_grid(&t, 0.0, 0.25, HAT, 0.3);
	for (from = 0.0; from <= 9.0; from += 1.5) {
		snprintf(name, sizeof(name), "rock 120 @%.1f s", from);
		expect(name, &t, from, 3.0, 120.0, true);
		snprintf(name, sizeof(name), "rock 120 @%.1f s, 1.5 s", from);
		expect(name, &t, from, 1.5, 120.0, true);
	}
	free(t.x);
	t = track_new(12.0);
	add_grid(&t, 0.0, 0.6, CLICK, 0.9);
	add_grid(&t, 0.3, 0.6, CLICK, 0.35);
	add_noise(&t, 0.018);
	for (from = 0.0; from <= 9.0; from += 1.5) {
		snprintf(name, sizeof(name), "100 + half beats @%.1f s", from);
		expect(name, &t, from, 3.0, 100.0, true);
	}
	free(t.x);
	/* A clean click track is clear even in 3 s. */
	t = track_new(3.0);
	add_grid(&t, 0.0, 0.5, CLICK, 0.8);
	expect("clicks 120, 3 s", &t, 0.0, 0.0, 120.0, false);
	free(t.x);
}
END_TEST

START_TEST(test_no_pulse)
{
	struct track t = track_new(10.0);
	size_t i;

	expect("silence", &t, 0.0, 0.0, 0.0, false);
	add_noise(&t, 0.2);
	expect("white noise", &t, 0.0, 0.0, 0.0, false);
	expect("white noise, 3 s", &t, 2.0, 3.0, 0.0, false);
	free(t.x);
	t = track_new(10.0);
	for (i = 0; i < t.n; i++)
		t.x[i] = (float)(0.25 * sin(2 * M_PI * 440.0 * i / BEAT_RATE));
	expect("sine", &t, 0.0, 0.0, 0.0, false);
	free(t.x);
}
END_TEST

static Suite *
dsp_beat_suite(void)
{
	Suite *s = suite_create("dsp_beat");
	TCase *tc = tcase_create("tempo");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_click_tracks);
	tcase_add_test(tc, test_half_beat_accents);
	tcase_add_test(tc, test_drum_patterns);
	tcase_add_test(tc, test_pumping_pad);
	tcase_add_test(tc, test_prior_range);
	tcase_add_test(tc, test_short_excerpts);
	tcase_add_test(tc, test_no_pulse);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dsp_beat_suite)

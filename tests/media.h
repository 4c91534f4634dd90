/*
 * Test media for the Check suites: a temporary directory per test and
 * clips made by the ffmpeg program from lavfi sources, so every test has
 * media with known truth and leaves nothing behind.
 */
#ifndef REEL_TEST_MEDIA_H
#define REEL_TEST_MEDIA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Creates /tmp/<suite>.XXXXXX (a checked fixture's setup). */
void media_setup(const char *suite);
/* Removes it and everything in it. */
void media_teardown(void);
const char *media_dir(void);
void media_path(char *buf, size_t size, const char *name);
/* Runs ffmpeg quietly with args, then the output path; true on success. */
bool media_ffmpeg(const char *out, const char *const args[]);
/* Same, but a failure aborts the test. */
void media_gen(const char *out, const char *const args[]);

/*
 * Copies the clip named src to dst damaged: with to > from, the bytes from
 * fraction from to fraction to are replaced by pseudo-random ones; else
 * the copy is cut at fraction from.
 */
void media_damage(const char *src, const char *dst, double from, double to);

/* Checked reads of artifact JSON: a missing or mistyped key fails the test. */
double media_json_num(const json_t *o, const char *key);
const char *media_json_str(const json_t *o, const char *key);

/*
 * The shared samples, as FATE finds its own: $REEL_SAMPLES/<set>, else
 * ../shared/testdata/<set> from the repository root. A test whose samples
 * are absent says "skip" and passes, except under CI=true, where it fails.
 */
void media_samples_dir(char *buf, size_t size, const char *set);
/* True when samples are missing outside CI (after printing why). */
bool media_samples_skip(const char *why);

#endif

/*
 * EBU R128 conformance of the audio_analysis loudness path: every signal of
 * the EBU Loudness Test Set in shared/testdata/ebu-r128 (Tech 3341 and
 * 3342) is streamed through av_audio.c into the stage's loudness
 * accumulator, and each value expected.json lists (integrated, momentary,
 * short-term, loudness range, true peak) must lie within its tolerance.
 * The directory is $REEL_EBU_DIR, else $REEL_SAMPLES/ebu-r128, else
 * ../shared/testdata/ebu-r128 from the repository root. Without it the
 * tests say "skip" and pass, except under CI=true, where they fail.
 * Measured and expected values are printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libavutil/log.h>

#include "audio_analysis.h"
#include "av_audio.h"
#include "check_main.h"
#include "media.h"

static char ebu_dir[1024];
static json_t *ebu_files;
static char ebu_load_error[1300];

/* Momentary loudness polled every 100 ms, as a meter shows it. */
struct meter {
	struct aa_loudness *l;
	size_t channels, poll, since, frames, skip;
	double min_m, max_m;
};

static enum stage_result
meter_chunk(void *arg, const float *x, int frames)
{
	struct meter *m = arg;
	size_t n, left = (size_t)frames;
	double v;

	while (left > 0) {
		n = m->poll - m->since < left ? m->poll - m->since : left;
		ck_assert_int_eq(aa_loudness_add(m->l, x, n), 0);
		x += n * m->channels;
		left -= n;
		m->frames += n;
		if ((m->since += n) < m->poll)
			continue;
		m->since = 0;
		v = aa_loudness_momentary(m->l);
		if (m->frames > m->skip) {
			m->min_m = fmin(m->min_m, v);
			m->max_m = fmax(m->max_m, v);
		}
	}
	return STAGE_OK;
}

static void
measure(const char *name, struct aa_levels *lv, struct meter *m)
{
	char path[1100];
	struct stage_ctx ctx;
	struct ava_stream *s;
	const struct ava_info *info;
	struct ava_output out = {0, false, meter_chunk, m};
	enum stage_result rc;

	memset(&ctx, 0, sizeof(ctx));
	snprintf(path, sizeof(path), "%s/%s", ebu_dir, name);
	rc = ava_open(&ctx, path, &s);
	ck_assert_msg(
	    rc == STAGE_OK && s != NULL, "%s: %d %s", name, rc, ctx.error);
	info = ava_info(s);
	m->channels = (size_t)info->channels;
	m->l = aa_loudness_new(&info->layout, info->rate);
	ck_assert_ptr_nonnull(m->l);
	m->poll = (size_t)info->rate / 10;
	m->skip = (size_t)info->rate;
	m->min_m = INFINITY;
	m->max_m = -INFINITY;
	rc = ava_run(&ctx, s, &out, 1);
	ck_assert_msg(rc == STAGE_OK, "%s: %d %s", name, rc, ctx.error);
	aa_loudness_result(m->l, lv);
	aa_loudness_free(m->l);
	ava_close(s);
}

/* Checks one expected value; lo and hi are the allowed deviations. */
static bool
check(const char *file, const char *what, double got, double want, double lo,
    double hi)
{
	bool ok = got - want >= -lo - 1e-9 && got - want <= hi + 1e-9;

	printf("%-34s %-7s measured %8.2f expected %7.2f (-%.1f/+%.1f) %s\n",
	    file, what, got, want, lo, hi, ok ? "ok" : "FAIL");
	return ok;
}

static double
num(const json_t *o, const char *key, double dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

START_TEST(test_ebu_file)
{
	const json_t *entry = json_array_get(ebu_files, (size_t)_i);
	const json_t *exp = json_object_get(entry, "expected");
	const char *name = json_string_value(json_object_get(entry, "file"));
	double tol = num(exp, "tol_LU", 0.1), want;
	struct aa_levels lv;
	struct meter m = {0};
	bool ok = true;

	ck_assert_ptr_nonnull(name);
	measure(name, &lv, &m);
	if (!isnan(want = num(exp, "I", NAN)))
		ok &= check(name, "I", lv.integrated_lufs, want, tol, tol);
	if (!isnan(want = num(exp, "LRA", NAN)))
		ok &= check(name, "LRA", lv.loudness_range_lu, want,
		    num(exp, "LRA_tol_LU", 1.0), num(exp, "LRA_tol_LU", 1.0));
	/* M is constant after the first second: its whole range counts. */
	if (!isnan(want = num(exp, "M", NAN))) {
		ok &= check(name, "min M", m.min_m, want, tol, tol);
		ok &= check(name, "max M", m.max_m, want, tol, tol);
	}
	if (!isnan(want = num(exp, "max_M", NAN)))
		ok &=
		    check(name, "max M", lv.max_momentary_lufs, want, tol, tol);
	if (!isnan(want = num(exp, "S", NAN)) ||
	    !isnan(want = num(exp, "max_S", NAN)))
		ok &= check(
		    name, "max S", lv.max_short_term_lufs, want, tol, tol);
	if (!isnan(want = num(exp, "max_true_peak_dBTP", NAN)))
		ok &= check(name, "TP", lv.true_peak_dbtp, want, 0.4, 0.2);
	ck_assert_msg(ok, "%s is out of tolerance (see above)", name);
}
END_TEST

START_TEST(test_ebu_set_loaded)
{
	if (ebu_files == NULL && media_samples_skip(ebu_load_error))
		return;
	/* Tech 3341 cases 1-5, 7, 10, 12, 13, 15, 19, 20; Tech 3342 1-4. */
	ck_assert_uint_ge(json_array_size(ebu_files), 16);
}
END_TEST

static void
load_expected(void)
{
	const char *dir = getenv("REEL_EBU_DIR");
	char path[1100];
	json_error_t err;
	json_t *root;

	if (dir != NULL && *dir != '\0')
		snprintf(ebu_dir, sizeof(ebu_dir), "%s", dir);
	else
		media_samples_dir(ebu_dir, sizeof(ebu_dir), "ebu-r128");
	snprintf(path, sizeof(path), "%s/expected.json", ebu_dir);
	root = json_load_file(path, 0, &err);
	if (root == NULL) {
		snprintf(ebu_load_error, sizeof(ebu_load_error),
		    "no EBU test set: cannot load %s: %s (set REEL_SAMPLES or "
		    "REEL_EBU_DIR)",
		    path, err.text);
		return;
	}
	ebu_files = json_incref(json_object_get(root, "files"));
	json_decref(root);
	if (!json_is_array(ebu_files)) {
		snprintf(ebu_load_error, sizeof(ebu_load_error),
		    "%s has no \"files\" array", path);
		json_decref(ebu_files);
		ebu_files = NULL;
	}
}

static Suite *
stage_ebu_suite(void)
{
	Suite *s = suite_create("stage_ebu");
	TCase *tc = tcase_create("ebu_r128");

	av_log_set_level(AV_LOG_QUIET);
	load_expected();
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_ebu_set_loaded);
	tcase_add_loop_test(tc, test_ebu_file, 0,
	    ebu_files != NULL ? (int)json_array_size(ebu_files) : 0);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stage_ebu_suite)

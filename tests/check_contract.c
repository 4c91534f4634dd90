/*
 * The contract's names, numbers and identifiers, and the small utilities
 * in common/.
 */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "contract.h"
#include "util.h"

START_TEST(test_names_round_trip)
{
	enum job_status st;
	enum stage sg;

	for (int i = 0; i < JOB_STATUS_COUNT; i++) {
		ck_assert_int_eq(job_status_parse(job_status_name(i), &st), 0);
		ck_assert_int_eq(st, i);
	}
	for (int i = STAGE_FIRST; i <= STAGE_PROBE; i++) {
		ck_assert_int_eq(stage_parse(stage_name(i), &sg), 0);
		ck_assert_int_eq(sg, i);
	}
	ck_assert_int_eq(job_status_parse("Queued", &st), -1);
	ck_assert_int_eq(stage_parse("none", &sg), -1);
	ck_assert_str_eq(stage_name(99), "unknown");
	ck_assert(job_status_terminal(JOB_CANCELLED));
	ck_assert(!job_status_terminal(JOB_PROCESSING));
}
END_TEST

START_TEST(test_progress_mapping)
{
	ck_assert_int_eq(stage_progress_percent(STAGE_VIDEO_ANALYSIS, 0), 1);
	ck_assert_int_eq(
	    stage_progress_percent(STAGE_VIDEO_ANALYSIS, 1000), 20);
	ck_assert_int_eq(stage_progress_percent(STAGE_AUDIO_ANALYSIS, 0), 21);
	ck_assert_int_eq(
	    stage_progress_percent(STAGE_MOTION_ANALYSIS, 500), 45);
	ck_assert_int_eq(stage_progress_percent(STAGE_RENDERING, 1000), 99);
	ck_assert_int_eq(stage_progress_percent(STAGE_RENDERING, 5000), 99);
}
END_TEST

START_TEST(test_ids)
{
	char a[REEL_ID_SIZE], b[REEL_ID_SIZE];

	ck_assert_int_eq(reel_id_new("job_", a), 0);
	ck_assert_int_eq(reel_id_new("job_", b), 0);
	ck_assert(reel_id_valid("job_", a));
	ck_assert_str_ne(a, b);
	ck_assert(!reel_id_valid("vid_", a));
	ck_assert(!reel_id_valid("job_", "job_ABCDEF012345"));
	ck_assert(!reel_id_valid("job_", "job_0123"));
	ck_assert(!reel_id_valid("job_", "job_0123456789abc"));
}
END_TEST

START_TEST(test_dirs_from_env)
{
	setenv("RUNTIME_DIRECTORY", "/run/a:/run/b", 1);
	ck_assert_str_eq(runtime_dir_default(NULL), "/run/a");
	ck_assert_str_eq(runtime_dir_default("/x"), "/x");
	unsetenv("RUNTIME_DIRECTORY");
	ck_assert_str_eq(runtime_dir_default(NULL), "/run/reeld");
	unsetenv("STATE_DIRECTORY");
	ck_assert_str_eq(state_dir_default(NULL), "/var/lib/reeld");
}
END_TEST

START_TEST(test_time_and_copy)
{
	char buf[UTIL_ISO_SIZE], small[4];

	time_iso8601(1712313000123LL, buf);
	ck_assert_str_eq(buf, "2024-04-05T10:30:00.123Z");
	ck_assert_int_eq(str_copy(small, "abc", sizeof(small)), 0);
	ck_assert_int_eq(str_copy(small, "abcd", sizeof(small)), -1);
	ck_assert_str_eq(small, "abc");
}
END_TEST

static Suite *
contract_suite(void)
{
	Suite *s = suite_create("contract");
	TCase *tc = tcase_create("contract");

	tcase_add_test(tc, test_names_round_trip);
	tcase_add_test(tc, test_progress_mapping);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_dirs_from_env);
	tcase_add_test(tc, test_time_and_copy);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(contract_suite)

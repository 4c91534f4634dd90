/*
 * The job state machine against every rule of the contract (seed-api.md
 * section 4): statuses, stage order, progress ranges, monotonic progress,
 * 100 only on completed, current stage only while processing, error only
 * on failed, immutable terminal states, template-only jobs, and refusal of
 * every illegal transition.
 */
#include <string.h>

#include "check_main.h"
#include "jobstate.h"

static struct jobstate st;

static void
run_to(enum stage stage)
{
	ck_assert_int_eq(jobstate_start(&st, 2000), 0);
	for (enum stage s = STAGE_FIRST; s < stage; s++)
		ck_assert_int_eq(jobstate_stage_done(&st, s, 3000 + s), 0);
}

START_TEST(test_created_queued)
{
	jobstate_init(&st, false, 1000);
	ck_assert_int_eq(st.status, JOB_QUEUED);
	ck_assert_int_eq(st.progress, 0);
	ck_assert_int_eq(st.stage, STAGE_NONE);
	ck_assert_int_eq(st.created_ms, 1000);
	ck_assert_int_eq(st.updated_ms, 1000);
	ck_assert_int_eq(st.started_ms, 0);
	ck_assert_int_eq(st.completed_ms, 0);
	ck_assert_str_eq(st.error, "");
}
END_TEST

START_TEST(test_stage_order_and_ranges)
{
	static const int lo[] = {0, 1, 21, 36, 56, 66, 86};
	static const int hi[] = {0, 20, 35, 55, 65, 85, 99};

	jobstate_init(&st, false, 1000);
	ck_assert_int_eq(jobstate_start(&st, 2000), 0);
	ck_assert_int_eq(st.started_ms, 2000);
	for (enum stage s = STAGE_FIRST; s <= STAGE_LAST; s++) {
		ck_assert_int_eq(st.status, JOB_PROCESSING);
		ck_assert_int_eq(st.stage, s);
		ck_assert_int_eq(st.progress, lo[s]);
		ck_assert_int_eq(jobstate_progress(&st, s, 500, 2500), 0);
		ck_assert_int_ge(st.progress, lo[s]);
		ck_assert_int_le(st.progress, hi[s]);
		ck_assert_int_eq(jobstate_progress(&st, s, 1000, 2600), 0);
		ck_assert_int_eq(st.progress, hi[s]);
		ck_assert_int_eq(jobstate_stage_done(&st, s, 3000), 0);
	}
	ck_assert_int_eq(st.status, JOB_COMPLETED);
	ck_assert_int_eq(st.progress, 100);
	ck_assert_int_eq(st.stage, STAGE_NONE);
	ck_assert_int_eq(st.completed_ms, 3000);
}
END_TEST

START_TEST(test_progress_monotonic_and_below_100)
{
	jobstate_init(&st, false, 1000);
	run_to(STAGE_RENDERING);
	ck_assert_int_eq(jobstate_progress(&st, STAGE_RENDERING, 800, 4000), 0);
	int before = st.progress;
	ck_assert_int_eq(jobstate_progress(&st, STAGE_RENDERING, 100, 4100), 0);
	ck_assert_int_eq(st.progress, before);
	ck_assert_int_eq(
	    jobstate_progress(&st, STAGE_RENDERING, 1000, 4200), 0);
	ck_assert_int_eq(st.progress, 99);
	/* A report for another stage or over 1000 is refused. */
	ck_assert_int_eq(
	    jobstate_progress(&st, STAGE_AUDIO_ANALYSIS, 10, 1), -1);
	ck_assert_int_eq(jobstate_progress(&st, STAGE_RENDERING, 1001, 1), -1);
	ck_assert_int_eq(st.progress, 99);
}
END_TEST

START_TEST(test_template_only_jumps_to_100)
{
	jobstate_init(&st, true, 1000);
	run_to(STAGE_STYLE_EXTRACTION);
	ck_assert_int_eq(
	    jobstate_progress(&st, STAGE_STYLE_EXTRACTION, 1000, 5000), 0);
	ck_assert_int_eq(st.progress, 65);
	ck_assert_int_eq(
	    jobstate_stage_done(&st, STAGE_STYLE_EXTRACTION, 5100), 0);
	ck_assert_int_eq(st.status, JOB_COMPLETED);
	ck_assert_int_eq(st.progress, 100);
	ck_assert_int_eq(st.stage, STAGE_NONE);
}
END_TEST

START_TEST(test_fail_sets_error_only_on_failed)
{
	jobstate_init(&st, false, 1000);
	run_to(STAGE_MOTION_ANALYSIS);
	jobstate_progress(&st, STAGE_MOTION_ANALYSIS, 500, 4000);
	int frozen = st.progress;
	ck_assert_str_eq(st.error, "");
	/* Only the running stage can fail. */
	ck_assert_int_eq(jobstate_fail(&st, STAGE_RENDERING, "X", "m", 5), -1);
	ck_assert_int_eq(
	    jobstate_fail(&st, STAGE_MOTION_ANALYSIS, "WORKER_CRASHED",
		"killed by signal 11 (SIGSEGV)", 5000),
	    0);
	ck_assert_int_eq(st.status, JOB_FAILED);
	ck_assert_int_eq(st.error_stage, STAGE_MOTION_ANALYSIS);
	ck_assert_str_eq(st.error, "killed by signal 11 (SIGSEGV)");
	ck_assert_str_eq(st.error_code, "WORKER_CRASHED");
	ck_assert_int_eq(st.stage, STAGE_NONE);
	ck_assert_int_eq(st.progress, frozen);
	ck_assert_int_eq(st.completed_ms, 5000);
}
END_TEST

START_TEST(test_cancel_queued_and_processing)
{
	jobstate_init(&st, false, 1000);
	ck_assert_int_eq(jobstate_cancel(&st, 1500), 0);
	ck_assert_int_eq(st.status, JOB_CANCELLED);
	ck_assert_int_eq(st.progress, 0);
	ck_assert_int_eq(st.started_ms, 0);
	ck_assert_int_eq(st.completed_ms, 1500);

	jobstate_init(&st, false, 1000);
	run_to(STAGE_AUDIO_ANALYSIS);
	ck_assert_int_eq(jobstate_cancel(&st, 4000), 0);
	ck_assert_int_eq(st.status, JOB_CANCELLED);
	ck_assert_int_eq(st.stage, STAGE_NONE);
	ck_assert_str_eq(st.error, "");
}
END_TEST

/* Every transition out of every terminal state is refused. */
START_TEST(test_terminal_immutable)
{
	struct jobstate copy;

	for (int end = 0; end < 3; end++) {
		jobstate_init(&st, false, 1000);
		run_to(STAGE_STYLE_EXTRACTION);
		if (end == 0)
			for (enum stage s = STAGE_STYLE_EXTRACTION;
			     s <= STAGE_LAST; s++)
				jobstate_stage_done(&st, s, 5000);
		else if (end == 1)
			jobstate_fail(&st, st.stage, "C", "m", 5000);
		else
			jobstate_cancel(&st, 5000);
		ck_assert(job_status_terminal(st.status));
		memcpy(&copy, &st, sizeof(copy));
		ck_assert_int_eq(jobstate_start(&st, 6000), -1);
		for (enum stage s = STAGE_NONE; s <= STAGE_LAST; s++) {
			ck_assert_int_eq(
			    jobstate_progress(&st, s, 10, 6000), -1);
			ck_assert_int_eq(jobstate_stage_done(&st, s, 6000), -1);
			ck_assert_int_eq(
			    jobstate_fail(&st, s, "C", "m", 6000), -1);
		}
		ck_assert_int_eq(jobstate_cancel(&st, 6000), -1);
		ck_assert_mem_eq(&copy, &st, sizeof(copy));
	}
}
END_TEST

START_TEST(test_illegal_from_queued_and_processing)
{
	jobstate_init(&st, false, 1000);
	ck_assert_int_eq(jobstate_progress(&st, STAGE_FIRST, 10, 1100), -1);
	ck_assert_int_eq(jobstate_stage_done(&st, STAGE_FIRST, 1100), -1);
	ck_assert_int_eq(jobstate_fail(&st, STAGE_FIRST, "C", "m", 1100), -1);
	ck_assert_int_eq(st.status, JOB_QUEUED);
	ck_assert_int_eq(jobstate_start(&st, 2000), 0);
	ck_assert_int_eq(jobstate_start(&st, 2100), -1);
	/* Stages cannot be skipped or finished out of order. */
	ck_assert_int_eq(
	    jobstate_stage_done(&st, STAGE_AUDIO_ANALYSIS, 2100), -1);
	ck_assert_int_eq(st.stage, STAGE_VIDEO_ANALYSIS);
}
END_TEST

START_TEST(test_updated_never_backwards)
{
	jobstate_init(&st, false, 5000);
	ck_assert_int_eq(jobstate_start(&st, 4000), 0);
	ck_assert_int_eq(st.updated_ms, 5000);
	ck_assert_int_eq(jobstate_progress(&st, STAGE_FIRST, 900, 7000), 0);
	ck_assert_int_eq(st.updated_ms, 7000);
}
END_TEST

/* Replay accepts every state the machine reaches and nothing else. */
START_TEST(test_valid_for_replay)
{
	jobstate_init(&st, false, 1000);
	ck_assert(jobstate_valid(&st));
	run_to(STAGE_MOTION_ANALYSIS);
	ck_assert(jobstate_valid(&st));
	st.progress = 99;
	ck_assert(!jobstate_valid(&st));
	jobstate_init(&st, false, 1000);
	run_to(STAGE_RENDERING);
	ck_assert_int_eq(jobstate_stage_done(&st, STAGE_RENDERING, 9000), 0);
	ck_assert(jobstate_valid(&st));
	st.progress = 50;
	ck_assert(!jobstate_valid(&st));
	jobstate_init(&st, true, 1000);
	run_to(STAGE_STYLE_EXTRACTION);
	ck_assert(jobstate_valid(&st));
	st.stage = STAGE_RENDERING;
	ck_assert(!jobstate_valid(&st));
	jobstate_init(&st, false, 1000);
	st.stage = STAGE_AUDIO_ANALYSIS;
	ck_assert(!jobstate_valid(&st));
	jobstate_init(&st, false, 1000);
	st.status = (enum job_status)7;
	ck_assert(!jobstate_valid(&st));
	jobstate_init(&st, false, 0);
	ck_assert(!jobstate_valid(&st));
}
END_TEST

static Suite *
jobstate_suite(void)
{
	Suite *s = suite_create("jobstate");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_created_queued);
	tcase_add_test(tc, test_stage_order_and_ranges);
	tcase_add_test(tc, test_progress_monotonic_and_below_100);
	tcase_add_test(tc, test_template_only_jumps_to_100);
	tcase_add_test(tc, test_fail_sets_error_only_on_failed);
	tcase_add_test(tc, test_cancel_queued_and_processing);
	tcase_add_test(tc, test_terminal_immutable);
	tcase_add_test(tc, test_illegal_from_queued_and_processing);
	tcase_add_test(tc, test_updated_never_backwards);
	tcase_add_test(tc, test_valid_for_replay);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(jobstate_suite)

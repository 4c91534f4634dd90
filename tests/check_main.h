/*
 * Each tests/check_<module>.c is its own binary with one suite:
 * CHECK_MAIN(module_suite) supplies main(). Check runs every test in its
 * own process (fork mode), so a crash fails one test, not the run.
 */
#ifndef REEL_CHECK_MAIN_H
#define REEL_CHECK_MAIN_H

#include <stdlib.h>

#include <check.h>

#define CHECK_MAIN(suite_fn)                                      \
	int main(void)                                            \
	{                                                         \
		SRunner *sr = srunner_create(suite_fn());         \
		int failed;                                       \
		srunner_run_all(sr, CK_ENV);                      \
		failed = srunner_ntests_failed(sr);               \
		srunner_free(sr);                                 \
		return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE; \
	}

#endif

/* reeld's command line: defaults, bounds and refusals. */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "config.h"

static int
parse(struct config *cfg, char *err, const char *a1, const char *a2)
{
	char *argv[] = {"reeld", (char *)a1, (char *)a2, NULL};
	int argc = a1 == NULL ? 1 : a2 == NULL ? 2 : 3;

	return config_parse(cfg, argc, argv, err, 256);
}

START_TEST(test_defaults)
{
	struct config cfg;
	char err[256];

	unsetenv("RUNTIME_DIRECTORY");
	setenv("STATE_DIRECTORY", "/srv/reel", 1);
	ck_assert_int_eq(parse(&cfg, err, NULL, NULL), 0);
	ck_assert_str_eq(cfg.runtime_dir, "/run/reeld");
	ck_assert_str_eq(cfg.state_dir, "/srv/reel");
	ck_assert_uint_ge(cfg.slots, 1);
	ck_assert_uint_eq(cfg.stage_stall_seconds, 120);
	ck_assert_uint_eq(cfg.job_timeout_seconds, 3600);
	ck_assert_uint_eq(cfg.max_file_size_mb, 1000);
}
END_TEST

START_TEST(test_values_and_bounds)
{
	struct config cfg;
	char err[256];

	ck_assert_int_eq(parse(&cfg, err, "--slots", "3"), 0);
	ck_assert_uint_eq(cfg.slots, 3);
	ck_assert_int_eq(parse(&cfg, err, "--slots=0", NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "--slots must be 1..256"));
	ck_assert_int_eq(parse(&cfg, err, "--job-timeout", "-5"), -1);
	ck_assert_int_eq(parse(&cfg, err, "--job-timeout", "12x"), -1);
	ck_assert_int_eq(parse(&cfg, err, "--max-file-size-mb", "5"), 0);
	ck_assert_uint_eq(cfg.max_file_size_mb, 5);
	ck_assert_int_eq(parse(&cfg, err, "--bogus", NULL), -1);
	ck_assert_int_eq(parse(&cfg, err, "extra", NULL), -1);
	ck_assert_ptr_nonnull(strstr(err, "unexpected argument"));
}
END_TEST

START_TEST(test_reliability_options)
{
	struct config cfg;
	char err[256];

	ck_assert_int_eq(parse(&cfg, err, NULL, NULL), 0);
	ck_assert_int_eq(cfg.journal_sync, JOURNAL_SYNC_DEFAULT);
	ck_assert_uint_eq(cfg.retention_seconds, 30 * 86400);
	ck_assert_str_eq(cfg.worker_user, "nobody");
	ck_assert_ptr_null(cfg.admin_group);
	ck_assert_ptr_null(cfg.webhook_secret_file);
	ck_assert_uint_eq(cfg.webhook_max_age_seconds, 86400);
	ck_assert_int_eq(parse(&cfg, err, "--journal-sync", "always"), 0);
	ck_assert_int_eq(cfg.journal_sync, JOURNAL_SYNC_ALWAYS);
	ck_assert_int_eq(parse(&cfg, err, "--journal-sync", "sometimes"), -1);
	ck_assert_ptr_nonnull(strstr(err, "default, always or never"));
	ck_assert_int_eq(parse(&cfg, err, "--worker-user", "reelw"), 0);
	ck_assert_str_eq(cfg.worker_user, "reelw");
	ck_assert_int_eq(parse(&cfg, err, "--worker-memory-mb", "10"), -1);
	ck_assert_ptr_nonnull(strstr(err, "--worker-memory-mb must be 64.."));
	ck_assert_int_eq(parse(&cfg, err, "--webhook-timeout", "301"), -1);
	ck_assert_int_eq(parse(&cfg, err, "--retention-seconds", "0"), -1);
	ck_assert_int_eq(parse(&cfg, err, "--webhook-max-age=60", NULL), 0);
	ck_assert_uint_eq(cfg.webhook_max_age_seconds, 60);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values_and_bounds);
	tcase_add_test(tc, test_reliability_options);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(config_suite)

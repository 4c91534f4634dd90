/*
 * Unit tests for media/av.c's record of lost packets: the threshold that
 * fails a stream, and the time ranges its message names.
 */
#include <string.h>

#include "av.h"
#include "check_main.h"

START_TEST(test_losses_threshold)
{
	struct avh_losses l;
	int i;

	memset(&l, 0, sizeof(l));
	l.packets = 1000;
	for (i = 0; i < AVH_LOST_MIN; i++)
		avh_losses_add(&l, 0.0);
	ck_assert(!avh_losses_too_many(&l));
	/* Over the minimum but within the share: still usable. */
	l.packets = 100000;
	for (i = 0; i < 10; i++)
		avh_losses_add(&l, 1.0);
	ck_assert(!avh_losses_too_many(&l));
	l.packets = 1000;
	ck_assert(avh_losses_too_many(&l));
	/* A short stream: the minimum still protects one bad first packet. */
	memset(&l, 0, sizeof(l));
	l.packets = 3;
	avh_losses_add(&l, 0.0);
	ck_assert(!avh_losses_too_many(&l));
}
END_TEST

START_TEST(test_losses_ranges)
{
	struct avh_losses l;
	char where[160];

	memset(&l, 0, sizeof(l));
	avh_losses_where(&l, where, sizeof(where));
	ck_assert_str_eq(where, "at");
	avh_losses_add(&l, 0.0);
	avh_losses_add(&l, 3.5);
	avh_losses_add(&l, 3.0); /* decode order: a range grows backwards */
	avh_losses_add(&l, 4.2);
	avh_losses_add(&l, 9.0);
	ck_assert_int_eq(l.lost, 5);
	ck_assert_int_eq(l.nranges, 3);
	avh_losses_where(&l, where, sizeof(where));
	ck_assert_str_eq(where, "at 0.00 s, 3.00-4.20 s, 9.00 s");
	avh_losses_add(&l, 20.0);
	avh_losses_add(&l, 30.0);
	ck_assert(l.more);
	avh_losses_where(&l, where, sizeof(where));
	ck_assert_str_eq(where, "at 0.00 s, 3.00-4.20 s, 9.00 s, 20.00 s, ...");
	ck_assert_int_eq(l.lost, 7);
}
END_TEST

static Suite *
media_av_suite(void)
{
	Suite *s = suite_create("media_av");
	TCase *tc = tcase_create("losses");

	tcase_add_test(tc, test_losses_threshold);
	tcase_add_test(tc, test_losses_ranges);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(media_av_suite)

/* SPDX-License-Identifier: BSD-3-Clause */
/* test_timequery.c — unit tests for pv_parse_query_time (core/timeparse.c), the --since and
 * --until of audit and report: day names, "ago" durations and local dates in Europe/Paris
 * across both DST changes and month ends, and the refusals. Instants computed with date(1). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "timeparse.h"

#define QUERY_HELP                                                                                 \
	" is not a time (use today, yesterday, 2h ago or -2h, 2026-11-25, 2026-11-25 14:00, "      \
	"HH:MM or RFC 3339)"

/* Europe/Paris local times as seconds since the epoch. */
#define P_2026_11_24_0000 INT64_C(1795474800)
#define P_2026_11_25_0000 INT64_C(1795561200)
#define P_2026_11_25_1300 INT64_C(1795608000) /* 12:00Z: the ordinary `now` */

static time_t query_ok(const char *text, time_t now)
{
	return tu_time_ok(pv_parse_query_time, "", text, now);
}

static const char *query_refused(const char *text, time_t now, struct pv_err *err)
{
	return tu_time_refused(pv_parse_query_time, "", text, now, err);
}

static void test_today_and_yesterday_are_local_midnights(void **state)
{
	(void)state;
	assert_int_equal(query_ok("today", P_2026_11_25_1300), P_2026_11_25_0000);
	assert_int_equal(query_ok("yesterday", P_2026_11_25_1300), P_2026_11_24_0000);
	/* 23:30Z on the 24th is already 00:30 on the 25th in Paris: the local date counts. */
	assert_int_equal(query_ok("today", INT64_C(1795563000)), P_2026_11_25_0000);
	assert_int_equal(query_ok("today", P_2026_11_25_0000), P_2026_11_25_0000);
	assert_int_equal(query_ok("yesterday", P_2026_11_25_0000), P_2026_11_24_0000);
}

static void test_yesterday_across_month_and_year_ends(void **state)
{
	(void)state;
	/* 2026-12-01 00:10 -> 2026-11-30 00:00 */
	assert_int_equal(query_ok("yesterday", INT64_C(1796080200)), INT64_C(1795993200));
	assert_int_equal(query_ok("today", INT64_C(1796080200)), INT64_C(1796080200) - 600);
	/* 2027-01-01 00:10 -> 2026-12-31 00:00 */
	assert_int_equal(query_ok("yesterday", INT64_C(1798758600)), INT64_C(1798671600));
	/* 2028-03-01 09:00 -> 2028-02-29 00:00 (a leap year) */
	assert_int_equal(query_ok("yesterday", INT64_C(1835510400)), INT64_C(1835391600));
}

static void test_days_across_the_spring_change(void **state)
{
	(void)state;
	/* 2026-03-29 has 23 hours (02:00 CET -> 03:00 CEST). now = 12:00 CEST that day. */
	assert_int_equal(query_ok("today", INT64_C(1774778400)), INT64_C(1774738800));
	assert_int_equal(query_ok("yesterday", INT64_C(1774778400)), INT64_C(1774652400));
	/* 2026-03-30 00:30 CEST: yesterday is the short day, not "24 hours ago"'s date (the
	 * 28th). */
	assert_int_equal(query_ok("yesterday", INT64_C(1774823400)), INT64_C(1774738800));
	assert_int_equal(query_ok("2026-03-29", INT64_C(1774823400)), INT64_C(1774738800));
	assert_int_equal(query_ok("2026-03-29 03:00", INT64_C(1774823400)), INT64_C(1774746000));
}

static void test_days_across_the_autumn_change(void **state)
{
	(void)state;
	/* 2026-10-25 has 25 hours (03:00 CEST -> 02:00 CET). now = 12:00 CET that day. */
	assert_int_equal(query_ok("today", INT64_C(1792926000)), INT64_C(1792879200));
	assert_int_equal(query_ok("yesterday", INT64_C(1792926000)), INT64_C(1792792800));
	/* 2026-10-26 23:30 CET: yesterday is the long day, from its midnight (CEST). */
	assert_int_equal(query_ok("yesterday", INT64_C(1793053800)), INT64_C(1792879200));
	assert_int_equal(query_ok("2026-10-25", INT64_C(1793053800)), INT64_C(1792879200));
}

static void test_repeated_time_is_its_first_occurrence(void **state)
{
	(void)state;
	/* 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET): the first is meant. */
	assert_int_equal(query_ok("2026-10-25 02:30", P_2026_11_25_1300), INT64_C(1792888200));
	assert_int_equal(query_ok("02:30", INT64_C(1792926000)), INT64_C(1792888200));
	assert_int_equal(query_ok("2026-10-25 03:00", P_2026_11_25_1300), INT64_C(1792893600));
}

static void test_skipped_time_is_refused_skipped_midnight_starts_the_day(void **state)
{
	struct pv_err err;

	(void)state;
	assert_non_null(
	    strstr(query_refused("2026-03-29 02:30", P_2026_11_25_1300, &err), "daylight saving"));
	assert_non_null(strstr(err.msg, "\"2026-03-29 02:30\""));
	query_refused("02:00", INT64_C(1774778400), &err);
	/* Havana jumps from 00:00 to 01:00 CDT on 2023-03-12: that day starts at 01:00 (05:00Z). */
	tu_use_zone("America/Havana");
	assert_int_equal(query_ok("2023-03-12", INT64_C(1678636800)), INT64_C(1678597200));
	assert_int_equal(query_ok("today", INT64_C(1678636800)), INT64_C(1678597200));
	tu_use_zone("Europe/Paris");
}

static void test_durations_before_now(void **state)
{
	const time_t now = P_2026_11_25_1300;

	(void)state;
	assert_int_equal(query_ok("1h", now), now - 3600);
	assert_int_equal(query_ok("-1h", now), now - 3600);
	assert_int_equal(query_ok("1h ago", now), now - 3600);
	assert_int_equal(query_ok("1h30m ago", now), now - 5400);
	assert_int_equal(query_ok("-90s", now), now - 90);
	assert_int_equal(query_ok("2d", now), now - 2 * 86400);
	/* An "ago" is exact seconds, not wall-clock: across the spring change 24h is 24h. */
	assert_int_equal(query_ok("1d ago", INT64_C(1774823400)), INT64_C(1774823400) - 86400);
}

static void test_dates_and_times_in_local_time(void **state)
{
	(void)state;
	assert_int_equal(query_ok("2026-11-25", P_2026_11_25_1300), P_2026_11_25_0000);
	assert_int_equal(query_ok("2026-07-01", P_2026_11_25_1300), INT64_C(1782856800)); /* CEST */
	assert_int_equal(query_ok("2026-11-25 13:00", 0), P_2026_11_25_1300);
	assert_int_equal(query_ok("13:00", P_2026_11_25_1300), P_2026_11_25_1300);
	/* RFC 3339 as pv_parse_time: an explicit zone, the TZ does not matter. */
	assert_int_equal(query_ok("2026-11-25T12:00:00Z", 0), P_2026_11_25_1300);
	assert_int_equal(query_ok("2026-11-25T14:00:00+02:00", 0), P_2026_11_25_1300);
}

static void test_refusals_name_the_value(void **state)
{
	static const char *const generic[] = {
	    "tomorrow",
	    "Today",
	    "today ",
	    " today",
	    "yesterday!",
	    "now",
	    "",
	    "ago",
	    " ago",
	    "+1h",
	    "1h  ago",
	    "1h ago ",
	    "2026-11-25T14:00",
	    "2026/11/25",
	    "2026-11-25 14h00",
	};
	const time_t now = P_2026_11_25_1300;
	struct pv_err err;
	char want[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(generic) / sizeof(generic[0]); i++) {
		snprintf(want, sizeof(want), "\"%s\"", generic[i]);
		query_refused(generic[i], now, &err);
		if (strstr(err.msg, want) == NULL)
			fail_msg("\"%s\": the message does not name it: %s", generic[i], err.msg);
	}
	assert_string_equal(query_refused("tomorrow", now, &err), "\"tomorrow\"" QUERY_HELP);
	assert_string_equal(query_refused("1h ago ago", now, &err),
	                    "\"1h ago ago\" is not a time: \"1h ago\" is not a duration (use e.g. "
	                    "90s, 15m, 2h, 1d, 1h30m)");
	assert_string_equal(query_refused("-0h", now, &err),
	                    "\"-0h\" is not a time: \"0h\" is zero; a duration must be longer "
	                    "than 0s");
	query_refused("0s ago", now, &err);
	query_refused("--1h", now, &err);
	query_refused("-1h ago", now, &err);
	query_refused("1x", now, &err);
	assert_non_null(strstr(query_refused("2026-02-29", now, &err), "not a valid date"));
	query_refused("2026-13-01", now, &err);
	query_refused("1969-12-31", now, &err);
	query_refused("2026-11-25 24:00", now, &err);
	query_refused("25:00", now, &err);
	/* Before 1970: refused, not wrapped (local midnight of 1970-01-01 in Paris is -3600). */
	assert_non_null(strstr(query_refused("2h ago", 3600, &err), "before 1970"));
	assert_non_null(strstr(query_refused("1970-01-01", now, &err), "before 1970"));
	assert_non_null(strstr(query_refused("today", 1800, &err), "before 1970"));
}

static void test_untrusted_text_is_bounded_and_printable(void **state)
{
	char long_text[300];
	struct pv_err err;
	const char *msg;
	size_t i;

	(void)state;
	memset(long_text, '7', sizeof(long_text) - 4);
	memcpy(long_text + sizeof(long_text) - 4, "ago", 4);
	long_text[sizeof(long_text) - 5] = ' ';
	msg = query_refused(long_text, P_2026_11_25_1300, &err);
	assert_true(strlen(msg) < 200);
	msg = query_refused("to\033[2Jday\n", P_2026_11_25_1300, &err);
	for (i = 0; msg[i] != '\0'; i++)
		assert_true(msg[i] >= 0x20 && msg[i] < 0x7f);
}

static void test_refuses_null(void **state)
{
	struct pv_err err = {{0}};
	time_t t;

	(void)state;
	assert_int_equal(pv_parse_query_time(NULL, 0, &t, &err), PV_ERR);
	assert_int_equal(pv_parse_query_time("today", 0, NULL, &err), PV_ERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_today_and_yesterday_are_local_midnights),
	    cmocka_unit_test(test_yesterday_across_month_and_year_ends),
	    cmocka_unit_test(test_days_across_the_spring_change),
	    cmocka_unit_test(test_days_across_the_autumn_change),
	    cmocka_unit_test(test_repeated_time_is_its_first_occurrence),
	    cmocka_unit_test(test_skipped_time_is_refused_skipped_midnight_starts_the_day),
	    cmocka_unit_test(test_durations_before_now),
	    cmocka_unit_test(test_dates_and_times_in_local_time),
	    cmocka_unit_test(test_refusals_name_the_value),
	    cmocka_unit_test(test_untrusted_text_is_bounded_and_printable),
	    cmocka_unit_test(test_refuses_null),
	};

	return cmocka_run_group_tests(tests, tu_setup_paris, NULL);
}

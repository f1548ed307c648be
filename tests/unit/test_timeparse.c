/* SPDX-License-Identifier: BSD-3-Clause */
/* test_timeparse.c — unit tests for core/timeparse.c: strict numbers, durations, RFC 3339 and
 * "HH:MM" times (in Europe/Paris, across DST changes) and the printed formats. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"
#include "timeparse.h"

#define DURATION_HELP " is not a duration (use e.g. 90s, 15m, 2h, 1d, 1h30m)"
#define TIME_HELP     " is not a time (use HH:MM or RFC 3339, e.g. 2026-11-25T14:00:00Z)"

/* Fixed instants (seconds since the epoch), computed independently with date(1). */
#define T_2026_11_25_1200Z INT64_C(1795608000)
#define T_2026_11_25_1400Z INT64_C(1795615200)

static int64_t duration_ok(const char *text)
{
	struct pv_err err = {{0}};
	int64_t s = -1;

	if (pv_parse_duration(text, &s, &err) != PV_OK)
		fail_msg("duration \"%s\" refused: %s", text, err.msg);
	return s;
}

static const char *duration_refused(const char *text, struct pv_err *err)
{
	int64_t s = 12345;

	memset(err, 0, sizeof(*err));
	if (pv_parse_duration(text, &s, err) != PV_ERR)
		fail_msg("duration \"%s\" accepted as %lld", text, (long long)s);
	assert_int_equal(s, 12345);
	assert_true(err->msg[0] != '\0');
	return err->msg;
}

static time_t time_ok(const char *text, time_t now)
{
	return tu_time_ok(pv_parse_time, "time ", text, now);
}

static const char *time_refused(const char *text, time_t now, struct pv_err *err)
{
	return tu_time_refused(pv_parse_time, "time ", text, now, err);
}

static void u64_refused(const char *text, uint64_t max)
{
	uint64_t v = 777;

	if (pv_parse_u64(text, max, &v) != PV_ERR)
		fail_msg("number \"%s\" accepted", text ? text : "(null)");
	assert_int_equal(v, 777);
}

static uint64_t u64_ok(const char *text, uint64_t max)
{
	uint64_t v = 777;

	if (pv_parse_u64(text, max, &v) != PV_OK)
		fail_msg("number \"%s\" refused", text);
	return v;
}

static void test_parse_u64_accepts_plain_numbers(void **state)
{
	(void)state;
	assert_int_equal(u64_ok("0", UINT64_MAX), 0);
	assert_int_equal(u64_ok("7", UINT64_MAX), 7);
	assert_int_equal(u64_ok("1234567890", UINT64_MAX), 1234567890);
}

static void test_parse_u64_refuses_leading_zero(void **state)
{
	(void)state;
	u64_refused("00", UINT64_MAX);
	u64_refused("01", UINT64_MAX);
	u64_refused("0001", UINT64_MAX);
}

static void test_parse_u64_enforces_max(void **state)
{
	(void)state;
	assert_int_equal(u64_ok("10", 10), 10);
	u64_refused("11", 10);
	assert_int_equal(u64_ok("0", 0), 0);
	u64_refused("1", 0);
	assert_true(u64_ok("18446744073709551615", UINT64_MAX) == UINT64_MAX);
	u64_refused("18446744073709551615", UINT64_MAX - 1);
}

static void test_parse_u64_refuses_overflow(void **state)
{
	(void)state;
	u64_refused("18446744073709551616", UINT64_MAX);
	u64_refused("18446744073709551620", UINT64_MAX);
	u64_refused("99999999999999999999", UINT64_MAX);
	u64_refused("100000000000000000000000000000000000000", UINT64_MAX);
}

static void test_parse_u64_refuses_non_digits(void **state)
{
	uint64_t v;

	(void)state;
	u64_refused("", UINT64_MAX);
	u64_refused("1a", UINT64_MAX);
	u64_refused("a1", UINT64_MAX);
	u64_refused("-1", UINT64_MAX);
	u64_refused("+1", UINT64_MAX);
	u64_refused(" 1", UINT64_MAX);
	u64_refused("1 ", UINT64_MAX);
	u64_refused("1\n", UINT64_MAX);
	u64_refused("0x10", UINT64_MAX);
	u64_refused("1.0", UINT64_MAX);
	u64_refused(NULL, UINT64_MAX);
	assert_int_equal(pv_parse_u64("1", UINT64_MAX, NULL), PV_ERR);
	assert_int_equal(pv_parse_u64("1", UINT64_MAX, &v), PV_OK);
}

static void test_parse_duration_single_units(void **state)
{
	(void)state;
	assert_int_equal(duration_ok("90s"), 90);
	assert_int_equal(duration_ok("15m"), 900);
	assert_int_equal(duration_ok("2h"), 7200);
	assert_int_equal(duration_ok("1d"), 86400);
	assert_int_equal(duration_ok("1s"), 1);
}

static void test_parse_duration_combined_groups(void **state)
{
	(void)state;
	assert_int_equal(duration_ok("1h30m"), 5400);
	assert_int_equal(duration_ok("1d2h3m4s"), 93784);
	assert_int_equal(duration_ok("1d4s"), 86404);
	assert_int_equal(duration_ok("0h30m"), 1800);
}

static void test_parse_duration_ten_year_limit(void **state)
{
	struct pv_err err;

	(void)state;
	assert_int_equal(duration_ok("3650d"), 315360000);
	assert_int_equal(duration_ok("315360000s"), 315360000);
	duration_refused("3651d", &err);
	duration_refused("3650d1s", &err);
	duration_refused("315360001s", &err);
	duration_refused("3649d24h1s", &err);
}

static void test_parse_duration_refuses_overflow(void **state)
{
	struct pv_err err;

	(void)state;
	duration_refused("99999999999999999999s", &err);
	duration_refused("18446744073709551615d", &err);
	duration_refused("106751991167300d", &err);
}

static void test_parse_duration_refuses_zero(void **state)
{
	struct pv_err err;

	(void)state;
	duration_refused("0s", &err);
	duration_refused("0d0h0m0s", &err);
}

static void test_parse_duration_refuses_missing_parts(void **state)
{
	struct pv_err err;

	(void)state;
	assert_string_equal(duration_refused("", &err), "\"\"" DURATION_HELP);
	duration_refused("h", &err);
	duration_refused("2", &err);
	duration_refused("1h30", &err);
	duration_refused("1hm", &err);
}

static void test_parse_duration_refuses_unknown_unit(void **state)
{
	struct pv_err err;

	(void)state;
	assert_string_equal(duration_refused("2x", &err), "\"2x\"" DURATION_HELP);
	duration_refused("1w", &err);
	duration_refused("1H", &err);
	duration_refused("1.5h", &err);
}

static void test_parse_duration_refuses_wrong_order_or_repeat(void **state)
{
	struct pv_err err;

	(void)state;
	duration_refused("1m1h", &err);
	duration_refused("1h1h", &err);
	duration_refused("1s1d", &err);
	duration_refused("1h30m1m", &err);
}

static void test_parse_duration_refuses_signs_and_spaces(void **state)
{
	struct pv_err err;

	(void)state;
	duration_refused("-1h", &err);
	duration_refused("+1h", &err);
	duration_refused("1 h", &err);
	duration_refused(" 1h", &err);
	duration_refused("1h ", &err);
	duration_refused("1h\n", &err);
}

static void test_parse_duration_refuses_leading_zero(void **state)
{
	struct pv_err err;

	(void)state;
	duration_refused("01h", &err);
	duration_refused("1h05m", &err);
	duration_refused("00s", &err);
}

static void test_parse_duration_error_is_bounded_and_printable(void **state)
{
	struct pv_err err;
	char big[1001];
	const char *msg;

	(void)state;
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	msg = duration_refused(big, &err);
	assert_true(strlen(msg) < 200);
	msg = duration_refused("1h\nforged", &err);
	assert_null(strchr(msg, '\n'));
}

static void test_parse_time_rfc3339_utc(void **state)
{
	(void)state;
	assert_int_equal(time_ok("2026-11-25T14:00:00Z", 0), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("2026-11-25t14:00:00z", 0), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("2026-11-25 14:00:00Z", 0), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("1970-01-01T00:00:00Z", 0), 0);
	assert_int_equal(time_ok("9999-12-31T23:59:59Z", 0), INT64_C(253402300799));
}

static void test_parse_time_rfc3339_offsets(void **state)
{
	(void)state;
	assert_int_equal(time_ok("2026-11-25T15:00:00+01:00", 0), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("2026-11-25T09:00:00-05:00", 0), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("2026-11-25T19:30:00+05:30", 0), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("2026-11-26T00:00:00+10:00", 0), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("2026-11-25T14:00:00+00:00", 0), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("2026-11-25T14:00:00-00:00", 0), T_2026_11_25_1400Z);
}

static void test_parse_time_rfc3339_ignores_now_and_tz(void **state)
{
	(void)state;
	assert_int_equal(time_ok("2026-11-25T14:00:00Z", T_2026_11_25_1200Z), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("2026-07-01T12:00:00+02:00", 12345),
	                 time_ok("2026-07-01T10:00:00Z", 0));
}

static void test_parse_time_rfc3339_leap_days(void **state)
{
	struct pv_err err;

	(void)state;
	assert_int_equal(time_ok("2024-02-29T00:00:00Z", 0), INT64_C(1709164800));
	assert_int_equal(time_ok("2000-02-29T12:34:56Z", 0), INT64_C(951827696));
	time_refused("2026-02-29T00:00:00Z", 0, &err);
	time_refused("2100-02-29T00:00:00Z", 0, &err);
}

static void test_parse_time_rfc3339_refuses_invalid_dates(void **state)
{
	struct pv_err err;

	(void)state;
	assert_non_null(
	    strstr(time_refused("2026-02-30T00:00:00Z", 0, &err), "\"2026-02-30T00:00:00Z\""));
	time_refused("2026-13-01T00:00:00Z", 0, &err);
	time_refused("2026-00-10T00:00:00Z", 0, &err);
	time_refused("2026-01-00T00:00:00Z", 0, &err);
	time_refused("2026-04-31T00:00:00Z", 0, &err);
	time_refused("2026-01-32T00:00:00Z", 0, &err);
	assert_int_equal(time_ok("2026-12-31T00:00:00Z", 0), time_ok("2026-12-31 00:00:00z", 0));
}

static void test_parse_time_rfc3339_refuses_invalid_clock(void **state)
{
	struct pv_err err;

	(void)state;
	time_refused("2026-11-25T24:00:00Z", 0, &err);
	time_refused("2026-11-25T14:60:00Z", 0, &err);
	time_refused("2026-11-25T14:00:60Z", 0, &err);
	time_refused("2026-11-25T14:00:00+24:00", 0, &err);
	time_refused("2026-11-25T14:00:00+01:60", 0, &err);
}

static void test_parse_time_rfc3339_refuses_fractional_seconds(void **state)
{
	struct pv_err err;

	(void)state;
	assert_non_null(strstr(time_refused("2026-11-25T14:00:00.5Z", 0, &err), "fractional"));
	time_refused("2026-11-25T14:00:00.000Z", 0, &err);
	time_refused("2026-11-25T14:00:00.000+01:00", 0, &err);
	time_refused("2026-11-25T14:00:00,5Z", 0, &err);
}

static void test_parse_time_rfc3339_refuses_other_shapes(void **state)
{
	struct pv_err err;

	(void)state;
	time_refused("2026-11-25T14:00:00", 0, &err);
	time_refused("2026-11-25T14:00Z", 0, &err);
	time_refused("2026-11-25", 0, &err);
	time_refused("2026-11-25T14:00:00+0100", 0, &err);
	time_refused("2026-11-25T14:00:00+01", 0, &err);
	time_refused("2026-11-25X14:00:00Z", 0, &err);
	time_refused("2026-11-25T14:00:00Z ", 0, &err);
	time_refused(" 2026-11-25T14:00:00Z", 0, &err);
	time_refused("+2026-11-25T14:00:00Z", 0, &err);
	time_refused("26-11-25T14:00:00Z", 0, &err);
	time_refused("2026/11/25T14:00:00Z", 0, &err);
	time_refused("1969-12-31T23:59:59Z", 0, &err);
	time_refused("1970-01-01T00:30:00+01:00", 0, &err);
	time_refused("", 0, &err);
	time_refused("now", 0, &err);
}

static void test_parse_time_hhmm_today_local(void **state)
{
	(void)state;
	/* now = 13:00 CET on 2026-11-25. */
	assert_int_equal(time_ok("14:00", T_2026_11_25_1200Z), INT64_C(1795611600));
	assert_int_equal(time_ok("15:00", T_2026_11_25_1200Z), T_2026_11_25_1400Z);
	assert_int_equal(time_ok("00:00", T_2026_11_25_1200Z), INT64_C(1795561200));
	assert_int_equal(time_ok("23:59", T_2026_11_25_1200Z), INT64_C(1795647540));
}

static void test_parse_time_hhmm_uses_local_date_not_utc_date(void **state)
{
	(void)state;
	/* now = 2026-11-25T23:30Z, already 00:30 on the 26th in Paris. */
	assert_int_equal(time_ok("14:00", INT64_C(1795649400)), INT64_C(1795698000));
}

static void test_parse_time_hhmm_spring_forward_day(void **state)
{
	struct pv_err err;
	const time_t now = INT64_C(1774778400); /* 2026-03-29T10:00Z = 12:00 CEST */

	(void)state;
	assert_int_equal(time_ok("01:30", now), INT64_C(1774744200)); /* CET, 00:30Z */
	assert_int_equal(time_ok("03:30", now), INT64_C(1774747800)); /* CEST, 01:30Z */
	assert_int_equal(time_ok("12:00", now), now);
	/* 02:30 never happens that day. */
	assert_non_null(strstr(time_refused("02:30", now, &err), "daylight saving"));
	time_refused("02:00", now, &err);
	/* now before the change (01:10 CET): a later time gets the new offset. */
	assert_int_equal(time_ok("12:00", INT64_C(1774743000)), now);
}

static void test_parse_time_hhmm_fall_back_day(void **state)
{
	const time_t now = INT64_C(1792922400); /* 2026-10-25T10:00Z = 11:00 CET */
	time_t t;
	char buf[PV_TIME_TEXT_MAX];

	(void)state;
	assert_int_equal(time_ok("01:30", now), INT64_C(1792884600)); /* CEST, 23:30Z */
	assert_int_equal(time_ok("12:00", now), INT64_C(1792926000)); /* CET, 11:00Z */
	assert_int_equal(time_ok("00:00", now), INT64_C(1792879200));
	/* 02:30 happens twice (00:30Z CEST, 01:30Z CET): the first occurrence is meant. */
	t = time_ok("02:30", now);
	assert_int_equal(t, INT64_C(1792888200));
	pv_format_local(t, buf, sizeof(buf));
	assert_non_null(strstr(buf, "2026-10-25 02:30:00 CE"));
	/* now before the change (02:10 CEST): a later time gets the new offset. */
	assert_int_equal(time_ok("12:00", INT64_C(1792887000)), INT64_C(1792926000));
}

static void test_parse_time_hhmm_refuses_bad_values(void **state)
{
	struct pv_err err;

	(void)state;
	assert_string_equal(time_refused("25:00", T_2026_11_25_1200Z, &err), "\"25:00\"" TIME_HELP);
	assert_string_equal(time_refused("24:00", T_2026_11_25_1200Z, &err), "\"24:00\"" TIME_HELP);
	time_refused("12:60", T_2026_11_25_1200Z, &err);
	time_refused("1:00", T_2026_11_25_1200Z, &err);
	time_refused("12:5", T_2026_11_25_1200Z, &err);
	time_refused("12.00", T_2026_11_25_1200Z, &err);
	time_refused("-1:00", T_2026_11_25_1200Z, &err);
	time_refused("12:00 ", T_2026_11_25_1200Z, &err);
	time_refused("1200", T_2026_11_25_1200Z, &err);
	time_refused("ab:cd", T_2026_11_25_1200Z, &err);
	time_refused("12:00:00", T_2026_11_25_1200Z, &err);
}

static void test_parse_time_hhmm_refuses_unrepresentable_now(void **state)
{
	struct pv_err err;

	(void)state;
	time_refused("12:00", (time_t)INT64_MAX, &err);
}

static void test_parse_time_refuses_null(void **state)
{
	struct pv_err err = {{0}};
	time_t t;

	(void)state;
	assert_int_equal(pv_parse_time(NULL, 0, &t, &err), PV_ERR);
	assert_int_equal(pv_parse_time("12:00", 0, NULL, &err), PV_ERR);
}

static void test_format_utc(void **state)
{
	char buf[PV_TIME_TEXT_MAX];

	(void)state;
	pv_format_utc(T_2026_11_25_1400Z, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-25T14:00:00Z");
	pv_format_utc(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	assert_int_equal(time_ok("2026-11-25T14:00:00Z", 0), T_2026_11_25_1400Z);
}

static void test_format_utc_round_trips(void **state)
{
	static const time_t samples[] = {0, 951827696, 1709164800, T_2026_11_25_1400Z,
	                                 INT64_C(253402300799)};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char buf[PV_TIME_TEXT_MAX];

		pv_format_utc(samples[i], buf, sizeof(buf));
		assert_int_equal(time_ok(buf, 0), samples[i]);
	}
}

static void test_format_local(void **state)
{
	char buf[PV_TIME_TEXT_MAX];

	(void)state;
	pv_format_local(T_2026_11_25_1400Z, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-25 15:00:00 CET");
	pv_format_local(INT64_C(1774778400), buf, sizeof(buf));
	assert_string_equal(buf, "2026-03-29 12:00:00 CEST");
}

static void test_format_local_follows_tz_change(void **state)
{
	char buf[PV_TIME_TEXT_MAX];

	(void)state;
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
	pv_format_local(T_2026_11_25_1400Z, buf, sizeof(buf));
	assert_int_equal(tu_setup_paris(NULL), 0);
	assert_string_equal(buf, "2026-11-25 14:00:00 UTC");
}

static void test_format_truncation_is_safe(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	pv_format_utc(T_2026_11_25_1400Z, buf, sizeof(buf));
	assert_string_equal(buf, "");
	memset(buf, 'x', sizeof(buf));
	pv_format_local(T_2026_11_25_1400Z, buf, sizeof(buf));
	assert_string_equal(buf, "");
	pv_format_duration(93784, buf, 5);
	assert_string_equal(buf, "1d2h");
	pv_format_utc(0, buf, 0);
	pv_format_local(0, buf, 0);
	pv_format_duration(1, buf, 0);
	pv_format_utc((time_t)INT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_format_duration(void **state)
{
	char buf[PV_TIME_TEXT_MAX];

	(void)state;
	pv_format_duration(93784, buf, sizeof(buf));
	assert_string_equal(buf, "1d2h3m4s");
	pv_format_duration(93600, buf, sizeof(buf));
	assert_string_equal(buf, "1d2h");
	pv_format_duration(5400, buf, sizeof(buf));
	assert_string_equal(buf, "1h30m");
	pv_format_duration(45, buf, sizeof(buf));
	assert_string_equal(buf, "45s");
	pv_format_duration(7200, buf, sizeof(buf));
	assert_string_equal(buf, "2h");
	pv_format_duration(86401, buf, sizeof(buf));
	assert_string_equal(buf, "1d1s");
	pv_format_duration(INT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "106751991167300d15h30m7s");
}

static void test_format_duration_zero_and_negative(void **state)
{
	char buf[PV_TIME_TEXT_MAX];

	(void)state;
	pv_format_duration(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	pv_format_duration(-5, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	pv_format_duration(INT64_MIN, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
}

static void test_format_duration_round_trips(void **state)
{
	static const int64_t samples[] = {1,    59,    60,    61,    3599,     3600,
	                                  5400, 86399, 86400, 93784, 315360000};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char buf[PV_TIME_TEXT_MAX];

		pv_format_duration(samples[i], buf, sizeof(buf));
		assert_int_equal(duration_ok(buf), samples[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_u64_accepts_plain_numbers),
	    cmocka_unit_test(test_parse_u64_refuses_leading_zero),
	    cmocka_unit_test(test_parse_u64_enforces_max),
	    cmocka_unit_test(test_parse_u64_refuses_overflow),
	    cmocka_unit_test(test_parse_u64_refuses_non_digits),
	    cmocka_unit_test(test_parse_duration_single_units),
	    cmocka_unit_test(test_parse_duration_combined_groups),
	    cmocka_unit_test(test_parse_duration_ten_year_limit),
	    cmocka_unit_test(test_parse_duration_refuses_overflow),
	    cmocka_unit_test(test_parse_duration_refuses_zero),
	    cmocka_unit_test(test_parse_duration_refuses_missing_parts),
	    cmocka_unit_test(test_parse_duration_refuses_unknown_unit),
	    cmocka_unit_test(test_parse_duration_refuses_wrong_order_or_repeat),
	    cmocka_unit_test(test_parse_duration_refuses_signs_and_spaces),
	    cmocka_unit_test(test_parse_duration_refuses_leading_zero),
	    cmocka_unit_test(test_parse_duration_error_is_bounded_and_printable),
	    cmocka_unit_test(test_parse_time_rfc3339_utc),
	    cmocka_unit_test(test_parse_time_rfc3339_offsets),
	    cmocka_unit_test(test_parse_time_rfc3339_ignores_now_and_tz),
	    cmocka_unit_test(test_parse_time_rfc3339_leap_days),
	    cmocka_unit_test(test_parse_time_rfc3339_refuses_invalid_dates),
	    cmocka_unit_test(test_parse_time_rfc3339_refuses_invalid_clock),
	    cmocka_unit_test(test_parse_time_rfc3339_refuses_fractional_seconds),
	    cmocka_unit_test(test_parse_time_rfc3339_refuses_other_shapes),
	    cmocka_unit_test(test_parse_time_hhmm_today_local),
	    cmocka_unit_test(test_parse_time_hhmm_uses_local_date_not_utc_date),
	    cmocka_unit_test(test_parse_time_hhmm_spring_forward_day),
	    cmocka_unit_test(test_parse_time_hhmm_fall_back_day),
	    cmocka_unit_test(test_parse_time_hhmm_refuses_bad_values),
	    cmocka_unit_test(test_parse_time_hhmm_refuses_unrepresentable_now),
	    cmocka_unit_test(test_parse_time_refuses_null),
	    cmocka_unit_test(test_format_utc),
	    cmocka_unit_test(test_format_utc_round_trips),
	    cmocka_unit_test(test_format_local),
	    cmocka_unit_test(test_format_local_follows_tz_change),
	    cmocka_unit_test(test_format_truncation_is_safe),
	    cmocka_unit_test(test_format_duration),
	    cmocka_unit_test(test_format_duration_zero_and_negative),
	    cmocka_unit_test(test_format_duration_round_trips),
	};

	return cmocka_run_group_tests(tests, tu_setup_paris, NULL);
}

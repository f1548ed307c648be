/* SPDX-License-Identifier: BSD-3-Clause */
/* test_schedule.c — unit tests for core/schedule.c: business hours as admins type them,
 * their canonical form, and the check by local weekday and minute (boundaries included). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "schedule.h"
#include "testutil.h"

enum { SUN, MON, TUE, WED, THU, FRI, SAT };

#define AT(h, m) ((h)*60 + (m))

static struct pv_schedule parse_ok(const char *text)
{
	struct pv_schedule s;
	struct pv_err err = {{0}};

	if (pv_schedule_parse(text, &s, &err) != PV_OK)
		fail_msg("\"%s\" refused: %s", text, err.msg);
	return s;
}

static void assert_refused(const char *text, const char *piece)
{
	struct pv_schedule s;
	struct pv_err err = {{0}};

	if (pv_schedule_parse(text, &s, &err) == PV_OK)
		fail_msg("\"%s\" was accepted", text);
	assert_contains(err.msg, piece);
	assert_int_equal(s.n, 0);
}

static void assert_canonical(const char *text, const char *want)
{
	struct pv_schedule s = parse_ok(text);
	struct pv_schedule again;
	char buf[PV_SCHEDULE_TEXT_MAX + 1];
	char buf2[PV_SCHEDULE_TEXT_MAX + 1];

	pv_schedule_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, want);
	again = parse_ok(buf); /* the canonical form parses back to the same text */
	pv_schedule_format(&again, buf2, sizeof(buf2));
	assert_string_equal(buf2, buf);
}

static void test_office_hours_boundaries(void **state)
{
	struct pv_schedule s = parse_ok("Mon-Fri 08:00-19:00");

	assert_false(pv_schedule_allows(&s, MON, AT(7, 59)));
	assert_true(pv_schedule_allows(&s, MON, AT(8, 0)));
	assert_true(pv_schedule_allows(&s, FRI, AT(18, 59)));
	assert_false(pv_schedule_allows(&s, FRI, AT(19, 0))); /* the end is excluded */
	assert_false(pv_schedule_allows(&s, SAT, AT(10, 0)));
	assert_false(pv_schedule_allows(&s, SUN, AT(10, 0)));
	assert_true(pv_schedule_allows(&s, WED, AT(12, 0)));
}

static void test_several_ranges_and_groups(void **state)
{
	struct pv_schedule s = parse_ok("Mon-Fri 08:00-12:00,14:00-18:00; Sat 09:00-12:00");

	assert_int_equal(s.n, 3);
	assert_true(pv_schedule_allows(&s, TUE, AT(11, 59)));
	assert_false(pv_schedule_allows(&s, TUE, AT(12, 0)));
	assert_false(pv_schedule_allows(&s, TUE, AT(13, 59)));
	assert_true(pv_schedule_allows(&s, TUE, AT(14, 0)));
	assert_true(pv_schedule_allows(&s, SAT, AT(9, 0)));
	assert_false(pv_schedule_allows(&s, SAT, AT(14, 0)));
	assert_false(pv_schedule_allows(&s, SUN, AT(9, 0)));
}

static void test_night_shift_split_at_midnight(void **state)
{
	struct pv_schedule s = parse_ok("Mon-Fri 22:00-24:00; Tue-Sat 00:00-06:00");

	assert_true(pv_schedule_allows(&s, FRI, AT(23, 59)));
	assert_true(pv_schedule_allows(&s, SAT, AT(0, 0)));
	assert_true(pv_schedule_allows(&s, SAT, AT(5, 59)));
	assert_false(pv_schedule_allows(&s, SAT, AT(22, 0)));
	assert_false(pv_schedule_allows(&s, MON, AT(3, 0)));
}

static void test_day_lists_ranges_wrap_and_case(void **state)
{
	struct pv_schedule s = parse_ok("fri-MON 10:00-11:00");

	assert_true(pv_schedule_allows(&s, FRI, AT(10, 30)));
	assert_true(pv_schedule_allows(&s, SAT, AT(10, 30)));
	assert_true(pv_schedule_allows(&s, SUN, AT(10, 30)));
	assert_true(pv_schedule_allows(&s, MON, AT(10, 30)));
	assert_false(pv_schedule_allows(&s, TUE, AT(10, 30)));
	s = parse_ok("Mon,Wed,Fri 10:00-11:00");
	assert_true(pv_schedule_allows(&s, WED, AT(10, 0)));
	assert_false(pv_schedule_allows(&s, THU, AT(10, 0)));
}

static void test_canonical_form(void **state)
{
	assert_canonical("Mon-Fri 08:00-19:00", "Mon-Fri 08:00-19:00");
	assert_canonical("  mon-fri   08:00-12:00,14:00-18:00 ;sat 09:00-12:00 ",
	                 "Mon-Fri 08:00-12:00,14:00-18:00; Sat 09:00-12:00");
	assert_canonical("Sat,Sun 00:00-24:00", "Sat,Sun 00:00-24:00");
	assert_canonical("Sun-Sat 07:00-08:00", "Mon-Sun 07:00-08:00");
	assert_canonical("Fri-Mon 10:00-11:00", "Mon,Fri-Sun 10:00-11:00");
	assert_canonical("Mon,Wed-Fri 10:00-11:00", "Mon,Wed-Fri 10:00-11:00");
}

static void test_no_rules_means_no_restriction(void **state)
{
	struct pv_schedule s;
	char buf[8];

	memset(&s, 0, sizeof(s));
	assert_true(pv_schedule_allows(&s, SUN, AT(3, 0)));
	assert_true(pv_schedule_allows(&s, -1, -1)); /* nothing to check against */
	pv_schedule_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_unknown_local_time_is_outside(void **state)
{
	struct pv_schedule s = parse_ok("Mon-Sun 00:00-24:00");

	assert_true(pv_schedule_allows(&s, SUN, AT(23, 59)));
	assert_false(pv_schedule_allows(&s, -1, -1));
	assert_false(pv_schedule_allows(&s, 7, AT(10, 0)));
	assert_false(pv_schedule_allows(&s, MON, 1440));
}

static void test_bad_schedules_are_refused_naming_the_part(void **state)
{
	assert_refused("", "empty");
	assert_refused("   ", "empty");
	assert_refused("Mon-Fry 08:00-19:00", "\"Fry\" is not a day");
	assert_refused("Monday 08:00-19:00", "\"Monday\" is not a day");
	assert_refused("Mon-Fri", "expected a space");
	assert_refused("Mon-Fri 8:00-19:00", "not a time range");
	assert_refused("Mon-Fri 08:00-25:00", "not a time range");
	assert_refused("Mon-Fri 08:60-19:00", "not a time range");
	assert_refused("Mon-Fri 24:30-24:40", "not a time range");
	assert_refused("Mon-Fri 19:00-08:00", "ends before it starts");
	assert_refused("Mon-Fri 08:00-08:00", "ends before it starts");
	assert_refused("Mon-Fri 08:00-19:00 Sat 09:00-12:00", "separated by ';'");
	assert_refused("Mon-Fri 08:00-19:00;", "\"\" is not a day");
	assert_refused("08:00-19:00", "not a day");
}

static void test_too_many_ranges_or_too_long_is_refused(void **state)
{
	char text[PV_SCHEDULE_TEXT_MAX + 2];
	size_t used = 0;
	int i;

	used += (size_t)snprintf(text, sizeof(text), "Mon ");
	for (i = 0; i < PV_SCHEDULE_MAX_RULES + 1; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%02d:00-%02d:30",
		                         i ? "," : "", i, i);
	assert_refused(text, "more than");
	memset(text, ' ', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	memcpy(text, "Mon 08:00-09:00", 15);
	assert_refused(text, "longer than");
}

static void test_rule_validity(void **state)
{
	struct pv_schedule_rule ok = {0x3e, 480, 1140};
	struct pv_schedule_rule no_days = {0, 480, 1140};
	struct pv_schedule_rule empty = {0x3e, 480, 480};
	struct pv_schedule_rule late = {0x3e, 480, 1441};
	struct pv_schedule_rule bad_days = {0x80, 480, 1140};

	assert_true(pv_schedule_rule_valid(&ok));
	assert_false(pv_schedule_rule_valid(&no_days));
	assert_false(pv_schedule_rule_valid(&empty));
	assert_false(pv_schedule_rule_valid(&late));
	assert_false(pv_schedule_rule_valid(&bad_days));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_office_hours_boundaries),
	    cmocka_unit_test(test_several_ranges_and_groups),
	    cmocka_unit_test(test_night_shift_split_at_midnight),
	    cmocka_unit_test(test_day_lists_ranges_wrap_and_case),
	    cmocka_unit_test(test_canonical_form),
	    cmocka_unit_test(test_no_rules_means_no_restriction),
	    cmocka_unit_test(test_unknown_local_time_is_outside),
	    cmocka_unit_test(test_bad_schedules_are_refused_naming_the_part),
	    cmocka_unit_test(test_too_many_ranges_or_too_long_is_refused),
	    cmocka_unit_test(test_rule_validity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

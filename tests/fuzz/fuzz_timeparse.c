/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_timeparse.c — pv_parse_duration, pv_parse_time, pv_parse_query_time and pv_parse_u64
 * (core/timeparse.h), all four on every input (as a C string).
 * The process runs in TZ=Europe/Berlin (when the zone is installed) so that "HH:MM" meets
 * daylight saving; pv_parse_time is called with three fixed `now`s: an ordinary day, the
 * spring-forward day (02:00-02:59 does not exist) and the fall-back day.
 * Invariants:
 *  - duration: success means 0 < seconds <= 10 years (315360000 s), and pv_format_duration
 *    of the result parses back to the same value; failure explains itself in printable
 *    text (the message quotes the untrusted input);
 *  - time: success means a time >= 0; "HH:MM" lands within a day of `now`; an RFC 3339 time
 *    before year 10000 prints with pv_format_utc and parses back to the same second;
 *    failure explains itself in printable text;
 *  - query (--since/--until): accepts all pv_parse_time accepts, with the same result; never
 *    before 1970; today, yesterday and "ago" durations are never after now;
 *  - u64: success means the text is exactly the canonical decimal of the value (strict: no
 *    sign, space, leading zero), and the `max` bound is honoured. */
#include "fuzz_common.h"

#include <inttypes.h>

#include "timeparse.h"

#define TEN_YEARS    INT64_C(315360000)
#define YEAR_10000   INT64_C(253402300800) /* 10000-01-01T00:00:00Z */
#define NOW_ORDINARY ((time_t)1795608000)  /* 2026-11-25T12:00:00Z */
#define NOW_SPRING   ((time_t)1774744200)  /* 2026-03-29T00:30:00Z, DST starts in Europe */
#define NOW_AUTUMN   ((time_t)1792888200)  /* 2026-10-25T00:30:00Z, DST ends in Europe */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	return 0;
}

static void check_duration(const char *text)
{
	char printed[64];
	struct pv_err err;
	int64_t v = -1, again = -1;

	err.msg[0] = '\0';
	if (pv_parse_duration(text, &v, &err) != PV_OK) {
		fz_check_err(&err, true, "pv_parse_duration");
		return;
	}
	FZ_CHECK(v > 0 && v <= TEN_YEARS, "duration \"%s\" = %" PRId64 " s", text, v);
	pv_format_duration(v, printed, sizeof(printed));
	FZ_CHECK(pv_parse_duration(printed, &again, &err) == PV_OK && again == v,
	         "duration \"%s\" = %" PRId64 " s prints as \"%s\", which parses to %" PRId64, text,
	         v, printed, again);
}

static void check_time(const char *text, time_t now)
{
	char printed[PV_TIME_TEXT_MAX];
	struct pv_err err;
	time_t t = -1, again = -1;

	err.msg[0] = '\0';
	if (pv_parse_time(text, now, &t, &err) != PV_OK) {
		fz_check_err(&err, true, "pv_parse_time");
		return;
	}
	FZ_CHECK(t >= 0, "time \"%s\" = %lld", text, (long long)t);
	if (strlen(text) == 5) {
		FZ_CHECK(t > now - 2 * 86400 && t < now + 2 * 86400,
		         "\"%s\" at now=%lld is %lld, not today", text, (long long)now,
		         (long long)t);
		return;
	}
	if ((int64_t)t >= YEAR_10000)
		return; /* "9999-12-31T23:59:59-23:59": a valid input past what RFC 3339 can print
		         */
	pv_format_utc(t, printed, sizeof(printed));
	FZ_CHECK(pv_parse_time(printed, now, &again, &err) == PV_OK && again == t,
	         "time \"%s\" = %lld prints as \"%s\", which parses to %lld", text, (long long)t,
	         printed, (long long)again);
}

/* --since/--until: a superset of pv_parse_time with the same answers; never before 1970; a
 * day name or a duration is never after now. */
static void check_query(const char *text, time_t now)
{
	struct pv_err err;
	time_t t = -1, plain = -1;
	bool plain_ok;

	err.msg[0] = '\0';
	plain_ok = pv_parse_time(text, now, &plain, &err) == PV_OK;
	if (pv_parse_query_time(text, now, &t, &err) != PV_OK) {
		FZ_CHECK(!plain_ok, "query \"%s\" refused, pv_parse_time accepts it", text);
		fz_check_err(&err, true, "pv_parse_query_time");
		return;
	}
	FZ_CHECK(!plain_ok || t == plain, "query \"%s\" = %lld, pv_parse_time says %lld", text,
	         (long long)t, (long long)plain);
	FZ_CHECK(t >= 0, "query \"%s\" = %lld", text, (long long)t);
	if (strcmp(text, "today") == 0 || strcmp(text, "yesterday") == 0 || text[0] == '-' ||
	    strstr(text, " ago") != NULL)
		FZ_CHECK(t <= now, "query \"%s\" at now=%lld is later: %lld", text, (long long)now,
		         (long long)t);
}

static void check_u64(const char *text)
{
	char canon[32];
	uint64_t v = 0, small = 0;
	bool ok;

	ok = pv_parse_u64(text, UINT64_MAX, &v) == PV_OK;
	if (ok) {
		snprintf(canon, sizeof(canon), "%" PRIu64, v);
		FZ_CHECK(strcmp(canon, text) == 0, "u64 \"%s\" parsed as %s", text, canon);
	}
	/* The bound: accepted under max=1000 exactly when accepted at all and <= 1000. */
	FZ_CHECK((pv_parse_u64(text, 1000, &small) == PV_OK) == (ok && v <= 1000),
	         "u64 \"%s\": max=1000 not honoured (%" PRIu64 ")", text, v);
	if (ok && v <= 1000)
		FZ_CHECK(small == v, "u64 \"%s\" differs under max=1000", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);

	check_duration(text);
	check_time(text, NOW_ORDINARY);
	check_query(text, NOW_ORDINARY);
	if (strlen(text) == 5 || strlen(text) == 16 || strcmp(text, "today") == 0 ||
	    strcmp(text, "yesterday") == 0) {
		check_time(text, NOW_SPRING);
		check_time(text, NOW_AUTUMN);
		check_query(text, NOW_SPRING);
		check_query(text, NOW_AUTUMN);
	}
	check_u64(text);
	free(text);
	return 0;
}

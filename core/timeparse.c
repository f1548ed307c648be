/* SPDX-License-Identifier: BSD-3-Clause */
/* timeparse.c — strict parsing of admin-typed numbers, durations and times, and the formats
 * we print them in. Thread-safe: no static buffers, only the *_r time functions. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* timegm */
#endif

#include "timeparse.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DURATION_MAX     INT64_C(315360000) /* 10 years of 365 days */
#define DURATION_EXAMPLE "use e.g. 90s, 15m, 2h, 1d, 1h30m"
#define TIME_EXAMPLE     "use HH:MM or RFC 3339, e.g. 2026-11-25T14:00:00Z"
#define QUERY_EXAMPLE                                                                              \
	"use today, yesterday, 2h ago or -2h, 2026-11-25, 2026-11-25 14:00, HH:MM or RFC "         \
	"3339"

enum digits_rc {
	DIGITS_OK,
	DIGITS_SYNTAX, /* not digits, empty, or a leading zero */
	DIGITS_RANGE,  /* well-formed but larger than allowed */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Strict decimal over exactly n bytes; keeps going after overflow so syntax errors still win. */
static enum digits_rc parse_digits(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t value = 0;
	bool over = false;
	size_t i;

	if (n == 0 || (s[0] == '0' && n > 1))
		return DIGITS_SYNTAX;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (!is_digit(s[i]))
			return DIGITS_SYNTAX;
		d = (unsigned)(s[i] - '0');
		if (over || value > (UINT64_MAX - d) / 10)
			over = true;
		else
			value = value * 10 + d;
	}
	if (over || value > max)
		return DIGITS_RANGE;
	*out = value;
	return DIGITS_OK;
}

int pv_parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	uint64_t value;

	if (text == NULL || out == NULL)
		return PV_ERR;
	if (parse_digits(text, strlen(text), max, &value) != DIGITS_OK)
		return PV_ERR;
	*out = value;
	return PV_OK;
}

static size_t digit_run(const char *s)
{
	size_t n = 0;

	while (is_digit(s[n]))
		n++;
	return n;
}

int pv_parse_duration(const char *text, int64_t *seconds, struct pv_err *err)
{
	static const char units[] = "dhms";
	static const int64_t unit_seconds[] = {86400, 3600, 60, 1};
	char show[PV_SHOWN_MAX + 1];
	const char *p;
	size_t next_unit = 0; /* units must come in order, each at most once */
	int64_t total = 0;

	if (text == NULL || seconds == NULL) {
		pv_err_set(err, "internal error: no duration to parse");
		return PV_ERR;
	}
	pv_err_shown(text, show);
	p = text;
	if (*p == '\0')
		goto syntax;
	while (*p != '\0') {
		size_t n = digit_run(p);
		const char *unit;
		size_t u;
		uint64_t value;
		enum digits_rc rc;

		if (n == 0 || p[n] == '\0')
			goto syntax;
		unit = strchr(units, p[n]);
		if (unit == NULL)
			goto syntax;
		u = (size_t)(unit - units);
		if (u < next_unit)
			goto syntax;
		rc = parse_digits(p, n, (uint64_t)(DURATION_MAX / unit_seconds[u]), &value);
		if (rc == DIGITS_SYNTAX)
			goto syntax;
		if (rc == DIGITS_RANGE)
			goto too_long;
		total += (int64_t)value * unit_seconds[u];
		if (total > DURATION_MAX)
			goto too_long;
		next_unit = u + 1;
		p += n + 1;
	}
	if (total == 0) {
		pv_err_set(err, "\"%.64s\" is zero; a duration must be longer than 0s", show);
		return PV_ERR;
	}
	*seconds = total;
	return PV_OK;

syntax:
	pv_err_set(err, "\"%.64s\" is not a duration (" DURATION_EXAMPLE ")", show);
	return PV_ERR;
too_long:
	pv_err_set(err, "\"%.64s\" is longer than the 10-year maximum duration", show);
	return PV_ERR;
}

/* Exactly n digits at s (leading zeros allowed: these are fixed-width date fields). */
static bool fixed_digits(const char *s, size_t n, unsigned *out)
{
	unsigned value = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		value = value * 10 + (unsigned)(s[i] - '0');
	}
	*out = value;
	return true;
}

static unsigned days_in_month(unsigned year, unsigned month)
{
	static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	if (month == 2 && leap)
		return 29;
	return days[month - 1];
}

/* A date an admin typed (show: as typed): PV_OK, or PV_ERR saying what a valid one is. */
static int check_date(unsigned year, unsigned mon, unsigned day, const char *show,
                      struct pv_err *err)
{
	if (year >= 1970 && mon >= 1 && mon <= 12 && day >= 1 && day <= days_in_month(year, mon))
		return PV_OK;
	pv_err_set(err,
	           "\"%.64s\" is not a valid date (year 1970-9999, month 01-12, day within the "
	           "month)",
	           show);
	return PV_ERR;
}

static bool same_wall_clock(const struct tm *a, const struct tm *b)
{
	return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
	       a->tm_hour == b->tm_hour && a->tm_min == b->tm_min;
}

/* The first instant at which the local clock reads the wall-clock time *want (a normalised
 * date, hour, minute; seconds 0). mktime alone may pick either occurrence of a time repeated
 * when the clocks go back, so the other reading is tried and the earlier one kept. A time
 * skipped when the clocks go forward gives the instant mktime moves it to, and *skipped. */
static int local_instant(const struct tm *want, time_t *out, bool *skipped)
{
	struct tm first = *want;
	struct tm other;
	time_t t;
	time_t t_other;

	/* POSIX does not promise that localtime_r/mktime notice a changed TZ; tzset makes it. */
	tzset();
	first.tm_sec = 0;
	first.tm_isdst = -1;
	t = mktime(&first);
	if (t == (time_t)-1)
		return PV_ERR;
	*skipped = !same_wall_clock(&first, want);
	other = *want;
	other.tm_sec = 0;
	other.tm_isdst = first.tm_isdst > 0 ? 0 : 1;
	t_other = mktime(&other);
	if (!*skipped && t_other != (time_t)-1 && t_other < t && same_wall_clock(&other, want))
		t = t_other;
	*out = t;
	return PV_OK;
}

/* The local date of now moved by `days` (0 today, -1 yesterday), normalised by mktime at
 * noon, an hour that exists every day. */
static int local_day(time_t now, int days, struct tm *day)
{
	tzset();
	if (localtime_r(&now, day) == NULL)
		return PV_ERR;
	day->tm_mday += days;
	day->tm_hour = 12;
	day->tm_min = 0;
	day->tm_sec = 0;
	day->tm_isdst = -1;
	if (mktime(day) == (time_t)-1)
		return PV_ERR;
	day->tm_hour = 0;
	return PV_OK;
}

/* Wall-clock hour:minute on the local date *day. A time the DST change skips is refused,
 * except a skipped midnight (skipped_ok): that day starts when the clocks jump. */
static int at_local_clock(struct tm *day, unsigned hour, unsigned min, bool skipped_ok,
                          const char *show, time_t *out, struct pv_err *err)
{
	bool skipped = false;
	time_t t;

	day->tm_hour = (int)hour;
	day->tm_min = (int)min;
	if (local_instant(day, &t, &skipped) != PV_OK) {
		pv_err_set(err, "cannot convert \"%.64s\" to a local time", show);
		return PV_ERR;
	}
	if (skipped && !skipped_ok) {
		pv_err_set(err,
		           "\"%.64s\" does not exist in the local time zone (daylight saving "
		           "change); use RFC 3339 with an offset",
		           show);
		return PV_ERR;
	}
	if (t < 0) {
		pv_err_set(err, "\"%.64s\" is before 1970-01-01T00:00:00Z", show);
		return PV_ERR;
	}
	*out = t;
	return PV_OK;
}

static bool parse_clock(const char *text, unsigned *hour, unsigned *min)
{
	return fixed_digits(text, 2, hour) && text[2] == ':' && fixed_digits(text + 3, 2, min) &&
	       *hour <= 23 && *min <= 59;
}

/* "HH:MM": today's date in local time at now, at that wall-clock time. */
static int parse_hhmm(const char *text, const char *show, time_t now, time_t *out,
                      struct pv_err *err)
{
	unsigned hour, min;
	struct tm day;

	if (!parse_clock(text, &hour, &min)) {
		pv_err_set(err, "\"%.64s\" is not a time (" TIME_EXAMPLE ")", show);
		return PV_ERR;
	}
	if (local_day(now, 0, &day) != PV_OK) {
		pv_err_set(err, "cannot work out today's local date for \"%.64s\"", show);
		return PV_ERR;
	}
	return at_local_clock(&day, hour, min, false, show, out, err);
}

/* "YYYY-MM-DDTHH:MM:SS" then "Z" or "+HH:MM"/"-HH:MM"; 'T' may be 't' or ' '. */
static int parse_rfc3339(const char *text, size_t len, const char *show, const char *example,
                         time_t *out, struct pv_err *err)
{
	unsigned year, mon, day, hour, min, sec, off_h = 0, off_m = 0;
	long offset = 0;
	struct tm tm;
	time_t t;

	if (len < 20 || !fixed_digits(text, 4, &year) || text[4] != '-' ||
	    !fixed_digits(text + 5, 2, &mon) || text[7] != '-' ||
	    !fixed_digits(text + 8, 2, &day) ||
	    (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
	    !fixed_digits(text + 11, 2, &hour) || text[13] != ':' ||
	    !fixed_digits(text + 14, 2, &min) || text[16] != ':' ||
	    !fixed_digits(text + 17, 2, &sec))
		goto syntax;
	if (text[19] == '.' || text[19] == ',') {
		pv_err_set(err, "\"%.64s\": fractional seconds are not accepted (%s)", show,
		           example);
		return PV_ERR;
	}
	if ((text[19] == 'Z' || text[19] == 'z') && len == 20) {
		offset = 0;
	} else if ((text[19] == '+' || text[19] == '-') && len == 25 &&
	           fixed_digits(text + 20, 2, &off_h) && text[22] == ':' &&
	           fixed_digits(text + 23, 2, &off_m)) {
		if (off_h > 23 || off_m > 59)
			goto syntax;
		offset = (long)off_h * 3600 + (long)off_m * 60;
		if (text[19] == '-')
			offset = -offset;
	} else {
		goto syntax;
	}
	if (hour > 23 || min > 59 || sec > 59)
		goto syntax;
	if (check_date(year, mon, day, show, err) != PV_OK)
		return PV_ERR;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)year - 1900;
	tm.tm_mon = (int)mon - 1;
	tm.tm_mday = (int)day;
	tm.tm_hour = (int)hour;
	tm.tm_min = (int)min;
	tm.tm_sec = (int)sec;
	t = timegm(&tm);
	if (t == (time_t)-1) {
		pv_err_set(err, "\"%.64s\" cannot be represented as a time", show);
		return PV_ERR;
	}
	t -= (time_t)offset;
	if (t < 0) {
		pv_err_set(err, "\"%.64s\" is before 1970-01-01T00:00:00Z", show);
		return PV_ERR;
	}
	*out = t;
	return PV_OK;

syntax:
	pv_err_set(err, "\"%.64s\" is not a time (%s)", show, example);
	return PV_ERR;
}

int pv_parse_time(const char *text, time_t now, time_t *out, struct pv_err *err)
{
	char show[PV_SHOWN_MAX + 1];
	size_t len;

	if (text == NULL || out == NULL) {
		pv_err_set(err, "internal error: no time to parse");
		return PV_ERR;
	}
	pv_err_shown(text, show);
	len = strlen(text);
	if (len == 5)
		return parse_hhmm(text, show, now, out, err);
	return parse_rfc3339(text, len, show, TIME_EXAMPLE, out, err);
}

/* "2h", "-2h", "2h ago": that long before now. */
static int parse_ago(const char *text, const char *show, time_t now, time_t *out,
                     struct pv_err *err)
{
	char duration[PV_SHOWN_MAX + 1];
	size_t len = strlen(text);
	int64_t seconds;

	if (text[0] == '-') {
		text++;
		len--;
	} else if (len > 4 && strcmp(text + len - 4, " ago") == 0) {
		len -= 4;
	}
	if (len > PV_SHOWN_MAX) {
		pv_err_set(err, "\"%.64s\" is not a time (" QUERY_EXAMPLE ")", show);
		return PV_ERR;
	}
	memcpy(duration, text, len);
	duration[len] = '\0';
	if (pv_parse_duration(duration, &seconds, err) != PV_OK) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		pv_err_set(err, "\"%.64s\" is not a time: %s", show, why);
		return PV_ERR;
	}
	if ((int64_t)now - seconds < 0) {
		pv_err_set(err, "\"%.64s\" is before 1970-01-01T00:00:00Z", show);
		return PV_ERR;
	}
	*out = now - (time_t)seconds;
	return PV_OK;
}

/* "YYYY-MM-DD" (local midnight starting that day) or "YYYY-MM-DD HH:MM" (local). */
static int parse_local_date(const char *text, size_t len, const char *show, time_t *out,
                            struct pv_err *err)
{
	unsigned year, mon, mday, hour = 0, min = 0;
	struct tm day;

	if (!fixed_digits(text, 4, &year) || text[4] != '-' || !fixed_digits(text + 5, 2, &mon) ||
	    text[7] != '-' || !fixed_digits(text + 8, 2, &mday) ||
	    (len == 16 && (text[10] != ' ' || !parse_clock(text + 11, &hour, &min)))) {
		pv_err_set(err, "\"%.64s\" is not a time (" QUERY_EXAMPLE ")", show);
		return PV_ERR;
	}
	if (check_date(year, mon, mday, show, err) != PV_OK)
		return PV_ERR;
	memset(&day, 0, sizeof(day));
	day.tm_year = (int)year - 1900;
	day.tm_mon = (int)mon - 1;
	day.tm_mday = (int)mday;
	return at_local_clock(&day, hour, min, len == 10, show, out, err);
}

/* "today", "yesterday": the local midnight starting that day (or its first instant). */
static int parse_day_name(int days, const char *show, time_t now, time_t *out, struct pv_err *err)
{
	struct tm day;

	if (local_day(now, days, &day) != PV_OK) {
		pv_err_set(err, "cannot work out the local date for \"%.64s\"", show);
		return PV_ERR;
	}
	return at_local_clock(&day, 0, 0, true, show, out, err);
}

static bool starts_like_duration(const char *text)
{
	size_t len = strlen(text);

	return len > 0 && is_digit(text[0]) && strchr("dhms", text[len - 1]) != NULL &&
	       strchr(text, ':') == NULL && strchr(text, '-') == NULL;
}

int pv_parse_query_time(const char *text, time_t now, time_t *out, struct pv_err *err)
{
	char show[PV_SHOWN_MAX + 1];
	size_t len;

	if (text == NULL || out == NULL) {
		pv_err_set(err, "internal error: no time to parse");
		return PV_ERR;
	}
	pv_err_shown(text, show);
	len = strlen(text);
	if (strcmp(text, "today") == 0)
		return parse_day_name(0, show, now, out, err);
	if (strcmp(text, "yesterday") == 0)
		return parse_day_name(-1, show, now, out, err);
	if (text[0] == '-' || (len > 4 && strcmp(text + len - 4, " ago") == 0) ||
	    starts_like_duration(text))
		return parse_ago(text, show, now, out, err);
	if (len == 5)
		return parse_hhmm(text, show, now, out, err);
	if (len == 10 || len == 16)
		return parse_local_date(text, len, show, out, err);
	return parse_rfc3339(text, len, show, QUERY_EXAMPLE, out, err);
}

void pv_format_utc(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (buf == NULL || len == 0)
		return;
	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

void pv_format_local(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (buf == NULL || len == 0)
		return;
	/* No tzset() here: it stats /etc/localtime on every call (most of a long report's time).
	 * Programs call tzset() once at start (otpctl does); see timeparse.h. */
	if (localtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		buf[0] = '\0';
}

void pv_format_duration(int64_t seconds, char *buf, size_t len)
{
	static const char units[] = "dhms";
	static const int64_t unit_seconds[] = {86400, 3600, 60, 1};
	char text[64];
	size_t used = 0;
	size_t u;

	if (buf == NULL || len == 0)
		return;
	if (seconds <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	text[0] = '\0';
	for (u = 0; u < 4; u++) {
		int64_t count = seconds / unit_seconds[u];
		int n;

		seconds %= unit_seconds[u];
		if (count == 0)
			continue;
		n = snprintf(text + used, sizeof(text) - used, "%lld%c", (long long)count,
		             units[u]);
		if (n < 0 || (size_t)n >= sizeof(text) - used)
			break;
		used += (size_t)n;
	}
	snprintf(buf, len, "%s", text);
}

void pv_local_wday_minute(int64_t t, int *wday, int *minute)
{
	time_t tt = (time_t)t;
	struct tm tm;

	*wday = -1;
	*minute = -1;
	if ((int64_t)tt != t || localtime_r(&tt, &tm) == NULL)
		return;
	*wday = tm.tm_wday;
	*minute = tm.tm_hour * 60 + tm.tm_min;
}

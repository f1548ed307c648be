/* timeparse.c — strict parsing of admin-typed numbers, durations and times, and the formats
 * we print them in. Thread-safe: no static buffers, only the *_r time functions. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* timegm */
#endif

#include "timeparse.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SHOWN_MAX        64
#define DURATION_MAX     INT64_C(315360000) /* 10 years of 365 days */
#define DURATION_EXAMPLE "use e.g. 90s, 15m, 2h, 1d, 1h30m"
#define TIME_EXAMPLE     "use HH:MM or RFC 3339, e.g. 2026-11-25T14:00:00Z"

enum digits_rc {
	DIGITS_OK,
	DIGITS_SYNTAX, /* not digits, empty, or a leading zero */
	DIGITS_RANGE,  /* well-formed but larger than allowed */
};

/* Untrusted text goes into logs: bound it and replace control bytes so it cannot forge lines. */
static void shown(const char *text, char out[SHOWN_MAX + 1])
{
	size_t i;

	for (i = 0; i < SHOWN_MAX && text[i] != '\0'; i++) {
		unsigned char c = (unsigned char)text[i];

		out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
}

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
	char show[SHOWN_MAX + 1];
	const char *p;
	size_t next_unit = 0; /* units must come in order, each at most once */
	int64_t total = 0;

	if (text == NULL || seconds == NULL) {
		pv_err_set(err, "internal error: no duration to parse");
		return PV_ERR;
	}
	shown(text, show);
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

/* "HH:MM": today's date in local time at now, at that wall-clock time. */
static int parse_hhmm(const char *text, const char *show, time_t now, time_t *out,
                      struct pv_err *err)
{
	unsigned hour, min;
	struct tm tm;
	time_t t;

	if (!fixed_digits(text, 2, &hour) || text[2] != ':' || !fixed_digits(text + 3, 2, &min) ||
	    hour > 23 || min > 59) {
		pv_err_set(err, "\"%.64s\" is not a time (" TIME_EXAMPLE ")", show);
		return PV_ERR;
	}
	/* POSIX does not promise that localtime_r notices a changed TZ; tzset makes it. */
	tzset();
	if (localtime_r(&now, &tm) == NULL) {
		pv_err_set(err, "cannot work out today's local date for \"%.64s\"", show);
		return PV_ERR;
	}
	tm.tm_hour = (int)hour;
	tm.tm_min = (int)min;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1) {
		pv_err_set(err, "cannot convert \"%.64s\" to a local time today", show);
		return PV_ERR;
	}
	/* mktime silently moves a wall-clock time skipped by a DST change; refuse instead. */
	if (tm.tm_hour != (int)hour || tm.tm_min != (int)min) {
		pv_err_set(err,
		           "\"%.64s\" does not exist today in the local time zone "
		           "(daylight saving change); use RFC 3339 with an offset",
		           show);
		return PV_ERR;
	}
	*out = t;
	return PV_OK;
}

/* "YYYY-MM-DDTHH:MM:SS" then "Z" or "+HH:MM"/"-HH:MM"; 'T' may be 't' or ' '. */
static int parse_rfc3339(const char *text, size_t len, const char *show, time_t *out,
                         struct pv_err *err)
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
		pv_err_set(err, "\"%.64s\": fractional seconds are not accepted (" TIME_EXAMPLE ")",
		           show);
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
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon)) {
		pv_err_set(err,
		           "\"%.64s\" is not a valid date (year 1970-9999, month 01-12, "
		           "day within the month)",
		           show);
		return PV_ERR;
	}

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
	pv_err_set(err, "\"%.64s\" is not a time (" TIME_EXAMPLE ")", show);
	return PV_ERR;
}

int pv_parse_time(const char *text, time_t now, time_t *out, struct pv_err *err)
{
	char show[SHOWN_MAX + 1];
	size_t len;

	if (text == NULL || out == NULL) {
		pv_err_set(err, "internal error: no time to parse");
		return PV_ERR;
	}
	shown(text, show);
	len = strlen(text);
	if (len == 5)
		return parse_hhmm(text, show, now, out, err);
	return parse_rfc3339(text, len, show, out, err);
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

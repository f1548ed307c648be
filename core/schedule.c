/* SPDX-License-Identifier: BSD-3-Clause */
/* schedule.c — business hours: parse, format, check (see schedule.h). */
#include "schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const day_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

static const char *skip_spaces(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A three-letter day name at p; returns its weekday (0 = Sunday) or -1. */
static int parse_day(const char *p)
{
	int d;

	for (d = 0; d < 7; d++)
		if (strncasecmp(p, day_names[d], 3) == 0 && !isalpha((unsigned char)p[3]))
			return d;
	return -1;
}

static void not_a_day(const char *p, struct pv_err *err)
{
	int n = 0;

	while (n < 12 && p[n] != '\0' && p[n] != ' ' && p[n] != ',' && p[n] != '-' && p[n] != ';')
		n++;
	pv_err_set(err, "hours: \"%.*s\" is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)",
	           n ? n : 12, p);
}

/* Days: "Mon", "Mon-Fri", "Sat,Sun", "Fri-Mon" (wraps). Advances *pp past them. */
static int parse_days(const char **pp, uint8_t *days, struct pv_err *err)
{
	const char *p = *pp;
	int from;
	int to;
	int d;

	*days = 0;
	for (;;) {
		from = parse_day(p);
		if (from < 0) {
			not_a_day(p, err);
			return PV_ERR;
		}
		p += 3;
		to = from;
		if (*p == '-') {
			to = parse_day(p + 1);
			if (to < 0) {
				not_a_day(p + 1, err);
				return PV_ERR;
			}
			p += 4;
		}
		for (d = from;; d = (d + 1) % 7) {
			*days |= (uint8_t)(1u << d);
			if (d == to)
				break;
		}
		if (*p != ',')
			break;
		p++;
	}
	*pp = p;
	return PV_OK;
}

/* "HH:MM" with HH 00..24 and MM 00..59 (24:00 only); returns minutes or -1. */
static int parse_clock(const char *p)
{
	int h;
	int m;

	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2] != ':' ||
	    !isdigit((unsigned char)p[3]) || !isdigit((unsigned char)p[4]))
		return -1;
	h = (p[0] - '0') * 10 + (p[1] - '0');
	m = (p[3] - '0') * 10 + (p[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

static int add_rule(struct pv_schedule *s, uint8_t days, int start, int end, struct pv_err *err)
{
	if (s->n >= PV_SCHEDULE_MAX_RULES) {
		pv_err_set(err, "hours: more than %d time ranges", PV_SCHEDULE_MAX_RULES);
		return PV_ERR;
	}
	s->rule[s->n].days = days;
	s->rule[s->n].start = (uint16_t)start;
	s->rule[s->n].end = (uint16_t)end;
	s->n++;
	return PV_OK;
}

/* Ranges: "08:00-12:00,14:00-18:00" for the given days. */
static int parse_ranges(const char **pp, uint8_t days, struct pv_schedule *s, struct pv_err *err)
{
	const char *p = *pp;
	int start;
	int end;

	for (;;) {
		start = parse_clock(p);
		end = (start >= 0 && p[5] == '-') ? parse_clock(p + 6) : -1;
		if (start < 0 || end < 0) {
			pv_err_set(err, "hours: \"%.11s\" is not a time range HH:MM-HH:MM", p);
			return PV_ERR;
		}
		if (start >= end) {
			pv_err_set(err,
			           "hours: \"%.11s\" ends before it starts (split a night shift at "
			           "24:00)",
			           p);
			return PV_ERR;
		}
		if (add_rule(s, days, start, end, err) != PV_OK)
			return PV_ERR;
		p += 11;
		if (*p != ',')
			break;
		p++;
	}
	*pp = p;
	return PV_OK;
}

int pv_schedule_parse(const char *text, struct pv_schedule *out, struct pv_err *err)
{
	const char *p;
	uint8_t days;

	memset(out, 0, sizeof(*out));
	if (text == NULL || strlen(text) > PV_SCHEDULE_TEXT_MAX) {
		pv_err_set(err, "hours: the schedule is longer than %d characters",
		           PV_SCHEDULE_TEXT_MAX);
		return PV_ERR;
	}
	p = skip_spaces(text);
	if (*p == '\0') {
		pv_err_set(err, "hours: the schedule is empty (use --no-hours to remove it)");
		return PV_ERR;
	}
	for (;;) {
		if (parse_days(&p, &days, err) != PV_OK)
			goto fail;
		if (*p != ' ' && *p != '\t') {
			pv_err_set(
			    err,
			    "hours: expected a space and a time range after the days at \"%.12s\"",
			    p);
			goto fail;
		}
		p = skip_spaces(p);
		if (parse_ranges(&p, days, out, err) != PV_OK)
			goto fail;
		p = skip_spaces(p);
		if (*p == '\0')
			break;
		if (*p != ';') {
			pv_err_set(err, "hours: unexpected \"%.12s\" (groups are separated by ';')",
			           p);
			goto fail;
		}
		p = skip_spaces(p + 1);
	}
	return PV_OK;
fail:
	memset(out, 0, sizeof(*out));
	return PV_ERR;
}

static void append(char *buf, size_t len, size_t *used, const char *text)
{
	int n;

	if (*used >= len)
		return;
	n = snprintf(buf + *used, len - *used, "%s", text);
	if (n > 0)
		*used += (size_t)n;
}

/* Days as ranges, Monday first: "Mon-Fri", "Sat,Sun", "Mon,Wed-Fri". */
static void format_days(uint8_t days, char *buf, size_t len, size_t *used)
{
	/* Monday-first order of weekdays. */
	static const int order[7] = {1, 2, 3, 4, 5, 6, 0};
	bool first = true;
	int i = 0;

	if (days == 0x7f) {
		append(buf, len, used, "Mon-Sun");
		return;
	}
	while (i < 7) {
		int j = i;

		if (!(days & (1u << order[i]))) {
			i++;
			continue;
		}
		while (j + 1 < 7 && (days & (1u << order[j + 1])))
			j++;
		if (!first)
			append(buf, len, used, ",");
		append(buf, len, used, day_names[order[i]]);
		if (j > i) {
			append(buf, len, used, j == i + 1 ? "," : "-");
			append(buf, len, used, day_names[order[j]]);
		}
		first = false;
		i = j + 1;
	}
}

void pv_schedule_format(const struct pv_schedule *s, char *buf, size_t len)
{
	size_t used = 0;
	size_t i;
	char clock[16];

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < s->n; i++) {
		const struct pv_schedule_rule *r = &s->rule[i];
		bool same_days = i > 0 && s->rule[i - 1].days == r->days;

		if (same_days) {
			append(buf, len, &used, ",");
		} else {
			if (i > 0)
				append(buf, len, &used, "; ");
			format_days(r->days, buf, len, &used);
			append(buf, len, &used, " ");
		}
		snprintf(clock, sizeof(clock), "%02u:%02u-%02u:%02u", r->start / 60u,
		         r->start % 60u, r->end / 60u, r->end % 60u);
		append(buf, len, &used, clock);
	}
	if (used >= len)
		buf[len - 1] = '\0';
}

bool pv_schedule_rule_valid(const struct pv_schedule_rule *r)
{
	return r->days != 0 && r->days <= 0x7f && r->start < r->end && r->end <= 1440;
}

bool pv_schedule_allows(const struct pv_schedule *s, int wday, int minute)
{
	size_t i;

	if (s->n == 0)
		return true;
	if (wday < 0 || wday > 6 || minute < 0 || minute >= 1440)
		return false;
	for (i = 0; i < s->n && i < PV_SCHEDULE_MAX_RULES; i++) {
		const struct pv_schedule_rule *r = &s->rule[i];
		if ((r->days & (1u << wday)) && minute >= r->start && minute < r->end)
			return true;
	}
	return false;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* schedule.h — a vendor's business hours: on which days of the week, between which local
 * times, access is allowed at all (on top of the window). Text form, as admins type it:
 *   "Mon-Fri 08:00-19:00"   "Mon-Fri 08:00-12:00,14:00-18:00; Sat 09:00-12:00"
 * Days: Mon Tue Wed Thu Fri Sat Sun, single or ranges (Fri-Mon wraps), comma-separated;
 * times HH:MM, start before end, 24:00 allowed as an end. A night shift is two groups:
 * "Mon-Fri 22:00-24:00; Tue-Sat 00:00-06:00". Local time is the caller's business: the
 * check takes a weekday and a minute of the day, so it stays a pure function. */
#ifndef PV_SCHEDULE_H
#define PV_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PV_SCHEDULE_MAX_RULES 16
#define PV_SCHEDULE_TEXT_MAX  400 /* bound of the canonical text and of what is parsed */

/* One rule: days (bit d set for weekday d, 0 = Sunday as in struct tm) and [start, end)
 * in minutes after local midnight, 0 <= start < end <= 1440. */
struct pv_schedule_rule {
	uint8_t days;
	uint16_t start;
	uint16_t end;
};

struct pv_schedule {
	size_t n; /* 0: no schedule (no restriction) */
	struct pv_schedule_rule rule[PV_SCHEDULE_MAX_RULES];
};

/* Parse the text form. On error, err names the part that is wrong. */
int pv_schedule_parse(const char *text, struct pv_schedule *out, struct pv_err *err);

/* Canonical text ("Mon-Fri 08:00-19:00; Sat 09:00-12:00"), or "" when there is no rule. */
void pv_schedule_format(const struct pv_schedule *s, char *buf, size_t len);

/* Is weekday wday (0 = Sunday) at minute (0..1439) inside the schedule? With no rules,
 * always. Out-of-range arguments are outside. */
bool pv_schedule_allows(const struct pv_schedule *s, int wday, int minute);

/* Check a decoded rule (the record decoder uses it). */
bool pv_schedule_rule_valid(const struct pv_schedule_rule *r);

#endif

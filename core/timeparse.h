/* SPDX-License-Identifier: BSD-3-Clause */
/* timeparse.h — durations ("90s", "1h30m") and times (RFC 3339, "HH:MM" today local) as
 * typed by admins, and the formats we print them in. All thread-safe (no static buffers). */
#ifndef PV_TIMEPARSE_H
#define PV_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define PV_TIME_TEXT_MAX 40

/* Duration: one or more <digits><unit> groups, units d h m s, each unit at most once and in
 * that order ("1d", "2h", "1h30m", "90s"). Result > 0 and <= 10 years. No sign, no spaces. */
int pv_parse_duration(const char *text, int64_t *seconds, struct pv_err *err);

/* Time: RFC 3339 ("2026-11-25T14:00:00Z", "...+01:00", fractional seconds refused) or
 * "HH:MM" meaning today at that local time (relative to now; a time repeated when the clocks
 * go back is its first occurrence, one they skip is refused). */
int pv_parse_time(const char *text, time_t now, time_t *out, struct pv_err *err);

/* Time as typed for audit and report --since/--until, in the local time zone: "today",
 * "yesterday" (the local midnight starting that day), a DURATION before now ("2h", "-2h",
 * "2h ago"), "YYYY-MM-DD" (local midnight), "YYYY-MM-DD HH:MM" (local), "HH:MM" (today) or
 * RFC 3339. A wall-clock time repeated when the clocks go back is its first occurrence; one
 * skipped when they go forward is refused (a skipped midnight: the day starts at the jump). */
int pv_parse_query_time(const char *text, time_t now, time_t *out, struct pv_err *err);

/* "2026-11-25T14:00:00Z" */
void pv_format_utc(time_t t, char *buf, size_t len);
/* "2026-11-25 15:00:00 CET" in the process's local time zone, as last set by tzset(). */
void pv_format_local(time_t t, char *buf, size_t len);
/* Local weekday (0 = Sunday) and minute of the day of t, for business hours; both -1 when
 * the local time cannot be computed. */
void pv_local_wday_minute(int64_t t, int *wday, int *minute);
/* "1h30m", "45s", "2d3h" (0 -> "0s"; negative values print as "0s"). */
void pv_format_duration(int64_t seconds, char *buf, size_t len);

/* Strict unsigned decimal: digits only, no sign, no spaces, no leading zeros (except "0"),
 * value <= max. Used for every number in config, records and audit lines. */
int pv_parse_u64(const char *text, uint64_t max, uint64_t *out);

#endif

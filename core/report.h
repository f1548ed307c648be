/* SPDX-License-Identifier: BSD-3-Clause */
/* report.h — the sessions behind `otpctl report`: audit lines fed in the order of the log are
 * paired into one row per session (SSH login or OpenVPN tunnel), from its session_open, its
 * session_close, or both. Printing the rows is the caller's. */
#ifndef PV_REPORT_H
#define PV_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which sessions the report keeps: those of vendor that overlap [since, until]. */
struct pv_report_query {
	const char *vendor; /* NULL: every user; kept by reference */
	int64_t since;
	int64_t until;
	int64_t now; /* for pv_parse_time: only a hand-made "HH:MM" time depends on it */
};

/* One session. An open and a close pair up when they carry the same host and session id. */
struct pv_report_row {
	const char *host; /* "" when the lines name none */
	const char *id;   /* NULL: a close the module could not tie to an open */
	const char *user; /* NULL when the line had none (likewise rhost, service) */
	const char *rhost;
	const char *service;
	bool has_start; /* its session_open was read */
	bool has_end;   /* its session_close was read */
	bool has_duration;
	int64_t start;
	int64_t end;
	int64_t duration; /* the close's duration_s, else end - start (0 when end < start) */
	int64_t bytes_in; /* an OpenVPN tunnel's counts; -1 when the close had none */
	int64_t bytes_out;
	bool recorded;           /* its session_open or close names a recording (its id) */
	int64_t recording_bytes; /* the close's recording_bytes; -1 when absent */
};

struct pv_report;

/* An empty report; NULL when out of memory. The caller has initialised libsodium
 * (pv_crypto_init): the table of open sessions is keyed with a random key. */
struct pv_report *pv_report_new(const struct pv_report_query *query);

enum pv_report_status {
	PV_REPORT_OK,        /* used, or not a line the report needs */
	PV_REPORT_NOT_JSON,  /* not an audit record */
	PV_REPORT_NO_TIME,   /* a session line without a valid time */
	PV_REPORT_NO_MEMORY, /* stop: the report is incomplete */
};

/* Feed one line of the log (no newline), oldest first. Only allowed session_open and
 * session_close lines of the query's vendor count; an open needs a session id. */
enum pv_report_status pv_report_line(struct pv_report *report, const char *line, size_t len);

/* After the last line: sessions never closed become rows with no end, and the rows are sorted
 * by start (a close without an open: by its end), then host, then session id. PV_ERR: memory
 * ran out here or during pv_report_line. */
int pv_report_finish(struct pv_report *report);

size_t pv_report_count(const struct pv_report *report);
const struct pv_report_row *pv_report_row(const struct pv_report *report, size_t i);

void pv_report_free(struct pv_report *report);

#endif

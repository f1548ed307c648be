/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_report.c — `otpctl report`: who connected, from where, when and for how long, one row per
 * SSH session or VPN tunnel. The pairing of the audit log's lines is the core's (report.h);
 * this prints the rows, as a table or --json. */
#include "cmd_audit.h"

#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "timeparse.h"

#define END_WIDTH 28 /* "still open / no end recorded" */

static int report_line(const char *line, size_t len, const char *file, unsigned long lineno,
                       void *vctx)
{
	switch (pv_report_line(vctx, line, len)) {
	case PV_REPORT_OK:
		return 0;
	case PV_REPORT_NOT_JSON:
		ctl_warn("%s line %lu is not an audit record; skipped", file, lineno);
		return 0;
	case PV_REPORT_NO_TIME:
		ctl_warn("%s line %lu has no valid time; skipped", file, lineno);
		return 0;
	case PV_REPORT_NO_MEMORY:
		break;
	}
	return 1;
}

static const char *session_state(const struct pv_report_row *s)
{
	if (!s->has_end)
		return "open (no recorded end)";
	if (!s->has_start)
		return "closed (no recorded start)";
	return "closed";
}

static void report_json_row(const struct pv_report_row *s, bool first_row)
{
	char when[PV_TIME_TEXT_MAX];
	struct pv_buf b;
	bool first = true;

	pv_buf_init(&b, AUDIT_JSON_ROW_MAX);
	pv_buf_puts(&b, first_row ? "{" : ",{");
	pv_json_key_string(&b, &first, "user", s->user);
	pv_json_key_string(&b, &first, "rhost", s->rhost);
	pv_format_utc((time_t)s->start, when, sizeof(when));
	pv_json_key_string(&b, &first, "start", s->has_start ? when : NULL);
	pv_format_utc((time_t)s->end, when, sizeof(when));
	pv_json_key_string(&b, &first, "end", s->has_end ? when : NULL);
	if (s->has_duration)
		pv_json_key_int(&b, &first, "duration_s", s->duration);
	else
		pv_json_key_string(&b, &first, "duration_s", NULL);
	pv_json_key_string(&b, &first, "host", s->host[0] ? s->host : NULL);
	pv_json_key_string(&b, &first, "session", s->id);
	pv_json_key_string(&b, &first, "service", s->service);
	pv_json_key_string(&b, &first, "state", session_state(s));
	if (s->bytes_in >= 0) /* OpenVPN tunnels only */
		pv_json_key_int(&b, &first, "bytes_in", s->bytes_in);
	if (s->bytes_out >= 0)
		pv_json_key_int(&b, &first, "bytes_out", s->bytes_out);
	pv_json_key_string(&b, &first, "recording", s->recorded ? s->id : NULL);
	if (s->recording_bytes >= 0)
		pv_json_key_int(&b, &first, "recording_bytes", s->recording_bytes);
	pv_buf_puts(&b, "}");
	fwrite(b.data, 1, b.len, stdout);
	pv_buf_free(&b);
}

/* Plain stdio rather than one big buffer: a six-month report can hold many rows, and nothing
 * can fail half-way once the log has been read. */
static void report_json(const struct pv_report *report)
{
	size_t i;

	fputs("{\"sessions\":[", stdout);
	for (i = 0; i < pv_report_count(report); i++)
		report_json_row(pv_report_row(report, i), i == 0);
	fputs("]}\n", stdout);
}

static void report_text_row(const struct pv_report_row *s)
{
	char user[AUDIT_CELL_MAX], rhost[AUDIT_CELL_MAX], host[AUDIT_CELL_MAX];
	char start[PV_TIME_TEXT_MAX + 16], end[PV_TIME_TEXT_MAX + 32], dur[32];

	audit_cell(s->user, user, sizeof(user));
	audit_cell(s->rhost, rhost, sizeof(rhost));
	audit_cell(s->host[0] ? s->host : NULL, host, sizeof(host));
	if (s->has_start)
		ctl_local_time(s->start, start, sizeof(start));
	else
		snprintf(start, sizeof(start), "(start not recorded)");
	if (s->has_end)
		ctl_local_time(s->end, end, sizeof(end));
	else
		snprintf(end, sizeof(end), "still open / no end recorded");
	if (s->has_duration)
		pv_format_duration(s->duration, dur, sizeof(dur));
	else
		snprintf(dur, sizeof(dur), "-");
	/* The recording is the session's: `otpctl sessions play ID` replays it. */
	printf("%-16s  %-15s  %-*s  %-*s  %-9s  %-12s  %s\n", user, rhost, AUDIT_TIME_WIDTH, start,
	       END_WIDTH, end, dur, host, s->recorded && s->id != NULL ? s->id : "-");
}

static void report_text(const struct pv_report *report, const struct audit_filter *f)
{
	char window[2 * PV_TIME_TEXT_MAX + 64];
	size_t i;

	if (pv_report_count(report) == 0) {
		audit_describe_window(f, window, sizeof(window));
		printf("No sessions%s%s %s.\n", f->vendor ? " for " : "",
		       f->vendor ? f->vendor : "", window);
		return;
	}
	printf("%-16s  %-15s  %-*s  %-*s  %-9s  %-12s  %s\n", "USER", "RHOST", AUDIT_TIME_WIDTH,
	       "START", END_WIDTH, "END", "DURATION", "HOST", "RECORDING");
	for (i = 0; i < pv_report_count(report); i++)
		report_text_row(pv_report_row(report, i));
}

int cmd_report(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("report");
	struct pv_report_query query;
	struct pv_report *report = NULL;
	struct audit_filter f;
	struct audit_filter wide;
	struct pv_err err;
	int status;

	status = audit_parse_filter(cmd, ctl, argc, argv, &f);
	if (status != EXIT_OK)
		return status;
	if (ctl_load_config(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (pv_crypto_init(&err) != PV_OK) { /* the table's keyed hash */
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	query = (struct pv_report_query){f.vendor, f.since, f.until, ctl->now};
	status = EXIT_FAIL;
	report = pv_report_new(&query);
	if (report == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	/* A session overlapping the window may have opened before it or closed after it: the
	 * lines are read without a time bound, the report keeps what overlaps. */
	wide = f;
	wide.since = INT64_MIN;
	wide.until = AUDIT_NO_LIMIT;
	if (audit_read_lines(ctl, &wide, report_line, report, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		goto out;
	}
	if (pv_report_finish(report) != PV_OK) {
		ctl_error("out of memory while reading the audit log; narrow the report with "
		          "--since/--until or --vendor");
		goto out;
	}
	if (ctl->json)
		report_json(report);
	else
		report_text(report, &f);
	status = EXIT_OK;
out:
	pv_report_free(report);
	return status;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_audit.h — what `otpctl audit` (cmd_audit.c) and `otpctl report` (cmd_report.c) share:
 * the --vendor/--since/--until/--all-hosts options, reading the lines, and safe table cells. */
#ifndef OTPCTL_CMD_AUDIT_H
#define OTPCTL_CMD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpctl.h"

#define AUDIT_NO_LIMIT     INT64_MAX
#define AUDIT_JSON_ROW_MAX (8 * PV_AUDIT_LINE_MAX) /* a line re-encoded (\u00XX: 6 bytes for 1) */
#define AUDIT_CELL_MAX     512                     /* a table cell (longer values are cut) */
#define AUDIT_TIME_WIDTH   23                      /* "2026-11-25 15:00:00 CET" */

struct audit_filter {
	const char *vendor; /* NULL: everyone */
	int64_t since;      /* INT64_MIN: no lower bound */
	int64_t until;      /* AUDIT_NO_LIMIT: up to now and beyond (clock skew between bastions) */
	bool all_hosts;     /* read every gateway's lines from the database's audit table */
};

/* [--vendor NAME] [--since TIME] [--until TIME] [--all-hosts], no positional argument; without
 * --since, the six months up to --until (or now). Prints the error; EXIT_OK or EXIT_USAGE. */
int audit_parse_filter(const struct command *cmd, struct otpctl *ctl, int argc, char **argv,
                       struct audit_filter *f);

/* The lines audit and report read, oldest first: the local log (and its rotated files), or
 * with --all-hosts every gateway's lines from the database. */
int audit_read_lines(struct otpctl *ctl, const struct audit_filter *f, pv_audit_line_fn fn,
                     void *ctx, struct pv_err *err);

/* `audit verify --all-hosts [--verify-key HOST=KEY]... [--unsealed-ok HOST]...`
 * (audit_hosts.c): each host's chain in the database's audit table, from the first line its
 * head records to the last, and with keys given each host's seals; exit 0 when every host is
 * intact (and, with keys, sealed or let go by --unsealed-ok). */
int audit_verify_all_hosts(struct otpctl *ctl, const struct command *cmd, int argc, char **argv);

/* "since TIME" or "between TIME and TIME", in local time. */
void audit_describe_window(const struct audit_filter *f, char *buf, size_t len);

/* A value from the log made safe for a terminal ("-" for NULL): controls and invalid UTF-8
 * become '?', a cut cell ends before a multi-byte character, never inside it. */
void audit_cell(const char *in, char *out, size_t len);

#endif

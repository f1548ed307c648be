/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_status.c — `otpctl status [NAME]`: what an admin checks while the vendor is on the
 * phone: window and time left, addresses, outstanding codes, failures, lockout, last login. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "otpctl.h"
#include "timeparse.h"

static void window_text(const struct pv_record *rec, int64_t now, char *buf, size_t len)
{
	char d[32];

	switch (pv_window_state(rec, now)) {
	case PV_WINDOW_OPEN:
		pv_format_duration(rec->window_end - now, d, sizeof(d));
		snprintf(buf, len, "open, %s left", d);
		break;
	case PV_WINDOW_UPCOMING:
		pv_format_duration(rec->window_start - now, d, sizeof(d));
		snprintf(buf, len, "upcoming, in %s", d);
		break;
	case PV_WINDOW_CLOSED:
		snprintf(buf, len, "closed");
		break;
	case PV_WINDOW_NONE:
		snprintf(buf, len, "disabled");
		break;
	}
}

static void print_row(const struct pv_record *rec, const struct otpctl *ctl)
{
	char window[48];
	char fails[24];
	char last[96];
	char when[PV_TIME_TEXT_MAX];
	char ips[2048];
	const struct pv_cidr *allowed;
	size_t n_allowed;

	window_text(rec, ctl->now, window, sizeof(window));
	if (rec->locked)
		snprintf(fails, sizeof(fails), "LOCKED");
	else
		snprintf(fails, sizeof(fails), "%u/%u", rec->failures, ctl->cfg.max_failures);
	if (rec->last_login > 0) {
		ctl_local_time(rec->last_login, when, sizeof(when));
		snprintf(last, sizeof(last), "%.16s", when);
	} else {
		snprintf(last, sizeof(last), "never");
	}
	printf("%-16s %-22s %5zu  %-8s %s\n", rec->name, window,
	       ctl_outstanding_codes(rec, ctl->now), fails, last);
	allowed = pv_record_allowed_ips(rec, &n_allowed);
	ctl_format_ips(allowed, n_allowed, ips, sizeof(ips));
	printf("%-16s from %s%s\n", "", ips,
	       rec->n_window_ips ? " (narrowed for this window)" : "");
	if (rec->hours.n > 0) {
		char hours[PV_SCHEDULE_TEXT_MAX + 1];

		pv_schedule_format(&rec->hours, hours, sizeof(hours));
		printf("%-16s hours %s (now %s)\n", "", hours,
		       ctl_inside_hours(rec, ctl->now) ? "inside" : "OUTSIDE");
	}
	if (rec->n_targets > 0 || rec->shell != PV_SHELL_AUTO) {
		ctl_format_targets(rec, ips, sizeof(ips));
		printf("%-16s targets %s; shell %s\n", "", ips,
		       pv_record_shell_allowed(rec) ? "yes" : "no");
	}
}

int cmd_status(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("status");
	struct pv_record *recs = NULL;
	struct pv_err err;
	size_t n = 0;
	size_t i;
	int rc = EXIT_FAIL;
	int r;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return ctl_usage_error(cmd, "status takes at most one NAME");
	if (argc == 2 && !ctl_check_name(argv[1]))
		return EXIT_FAIL;
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (argc == 2) {
		recs = calloc(1, sizeof(*recs));
		if (recs == NULL)
			return EXIT_FAIL;
		n = 1;
		r = pv_store_load(ctl->store, &ctl->keys, argv[1], recs, &err);
		if (r == PV_NOTFOUND) {
			ctl_error("vendor %s does not exist", argv[1]);
			goto out;
		}
		if (r != PV_OK) {
			ctl_error("%s", err.msg);
			goto out;
		}
	} else if (ctl_load_all(ctl, &recs, &n) != EXIT_OK) {
		return EXIT_FAIL;
	}
	if (ctl->json) {
		rc = ctl_print_vendors_json(ctl, recs, n);
		goto out;
	}
	if (n == 0) {
		printf("No vendors. Add one with: otpctl vendor add NAME --ip ADDRESS\n");
	} else {
		printf("%-16s %-22s %5s  %-8s %s\n", "VENDOR", "WINDOW", "CODES", "FAILURES",
		       "LAST LOGIN");
		for (i = 0; i < n; i++)
			print_row(&recs[i], ctl);
	}
	rc = EXIT_OK;
out:
	ctl_free_records(recs, n);
	return rc;
}

/* cmd_window.c — `otpctl enable|disable|unlock`: opening and closing a vendor's maintenance
 * window, and clearing a lockout. Each change is audited under the vendor's lock. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ipmatch.h"
#include "otpctl.h"
#include "timeparse.h"

struct window_change {
	struct otpctl *ctl;
	const char *action;
	int64_t start;
	int64_t end;
	const struct pv_cidr *ips;
	size_t n_ips;
	bool had_window; /* disable: was there a window to close? */
	char detail[1200];
};

/* Audit inside the lock, before the save: a change that cannot be audited is not made. */
static enum pv_modify_result audited(struct window_change *wc, const char *vendor,
                                     struct pv_err *err)
{
	if (ctl_audit(wc->ctl, wc->action, vendor, "allow", "ok", wc->detail) != EXIT_OK) {
		err->msg[0] = '\0';
		return PV_MODIFY_FAIL;
	}
	return PV_MODIFY_SAVE;
}

static enum pv_modify_result enable_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct window_change *wc = vctx;
	char t1[PV_TIME_TEXT_MAX];
	char t2[PV_TIME_TEXT_MAX];
	char ips[1024] = "";
	size_t i;
	size_t j;

	for (i = 0; i < wc->n_ips; i++) {
		bool inside = false;
		char one[PV_IP_TEXT_MAX];
		for (j = 0; j < rec->n_ips; j++)
			if (pv_cidr_within(&rec->ips[j], &wc->ips[i]))
				inside = true;
		if (!inside) {
			pv_cidr_format(&wc->ips[i], one, sizeof(one));
			ctl_format_ips(rec->ips, rec->n_ips, ips, sizeof(ips));
			pv_err_set(err, "--ip %s is not within the addresses of %s (%s)", one,
			           rec->name, ips);
			return PV_MODIFY_FAIL;
		}
	}
	rec->window_start = wc->start;
	rec->window_end = wc->end;
	memcpy(rec->window_ips, wc->ips, wc->n_ips * sizeof(*wc->ips));
	rec->n_window_ips = wc->n_ips;
	/* A new window is a fresh start: the lockout of a previous one ends here. */
	rec->failures = 0;
	rec->locked = false;
	pv_format_utc((time_t)wc->start, t1, sizeof(t1));
	pv_format_utc((time_t)wc->end, t2, sizeof(t2));
	if (wc->n_ips > 0)
		ctl_format_ips(wc->ips, wc->n_ips, ips, sizeof(ips));
	snprintf(wc->detail, sizeof(wc->detail), "window %s to %s%s%s", t1, t2,
	         wc->n_ips ? " from " : "", ips);
	return audited(wc, rec->name, err);
}

static void print_window(const struct otpctl *ctl, const char *name, int64_t start, int64_t end)
{
	char t1[PV_TIME_TEXT_MAX];
	char t2[PV_TIME_TEXT_MAX];
	char left[32];
	struct pv_buf b;
	bool first = true;

	if (ctl->json) {
		pv_buf_init(&b, 4096);
		pv_buf_puts(&b, "{");
		pv_json_key_string(&b, &first, "vendor", name);
		pv_format_utc((time_t)start, t1, sizeof(t1));
		pv_format_utc((time_t)end, t2, sizeof(t2));
		pv_json_key_string(&b, &first, "window_start", t1);
		pv_json_key_string(&b, &first, "window_end", t2);
		pv_buf_puts(&b, "}");
		ctl_print_json(&b);
		pv_buf_free(&b);
		return;
	}
	ctl_local_time(start, t1, sizeof(t1));
	ctl_local_time(end, t2, sizeof(t2));
	if (start <= ctl->now) {
		pv_format_duration(end - ctl->now, left, sizeof(left));
		printf("Vendor %s enabled now until %s (%s left).\n", name, t2, left);
	} else {
		pv_format_duration(start - ctl->now, left, sizeof(left));
		printf("Vendor %s enabled from %s to %s (starts in %s).\n", name, t1, t2, left);
	}
	printf("Issue a code when the vendor is ready: otpctl issue %s\n", name);
}

int cmd_enable(struct otpctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"for", required_argument, NULL, 'f'},
	    {"at", required_argument, NULL, 'a'},
	    {"ip", required_argument, NULL, 'i'},
	    {"force", no_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = ctl_find_command("enable");
	struct pv_cidr ips[PV_MAX_IPS];
	struct window_change wc;
	struct pv_err err;
	const char *name = NULL;
	const char *for_text = NULL;
	const char *at_text = NULL;
	size_t n_ips = 0;
	bool force = false;
	int64_t duration = 0;
	time_t start;
	char limit[32];
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1 || optind < argc) {
		switch (c) {
		case -1:
			if (name != NULL)
				return ctl_usage_error(cmd, "unexpected argument \"%.64s\"",
				                       argv[optind]);
			name = argv[optind++];
			break;
		case 'f':
			for_text = optarg;
			break;
		case 'a':
			at_text = optarg;
			break;
		case 'i':
			if (ctl_parse_ip(cmd, optarg, ips, &n_ips, PV_MAX_IPS) != EXIT_OK)
				return EXIT_USAGE;
			break;
		case 'F':
			force = true;
			break;
		default:
			return ctl_usage_error(cmd, "unknown or incomplete option %.64s",
			                       argv[optind - 1]);
		}
	}
	if (name == NULL)
		return ctl_usage_error(cmd, "the vendor NAME is missing");
	if (for_text == NULL)
		return ctl_usage_error(cmd, "--for DURATION is required (e.g. --for 2h)");
	if (pv_parse_duration(for_text, &duration, &err) != PV_OK)
		return ctl_usage_error(cmd, "%s", err.msg);
	start = (time_t)ctl->now;
	if (at_text != NULL && pv_parse_time(at_text, (time_t)ctl->now, &start, &err) != PV_OK)
		return ctl_usage_error(cmd, "%s", err.msg);
	if (!ctl_check_name(name) || ctl_load_config(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (duration > ctl->cfg.max_window && !force) {
		pv_format_duration(ctl->cfg.max_window, limit, sizeof(limit));
		ctl_error(
		    "a window of %s is longer than max_window (%s); shorten it or add --force",
		    for_text, limit);
		return EXIT_FAIL;
	}
	if ((int64_t)start + duration <= ctl->now) {
		ctl_error("the window %s + %s would already be over; give a later --at",
		          at_text ? at_text : "now", for_text);
		return EXIT_FAIL;
	}
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	memset(&wc, 0, sizeof(wc));
	wc.ctl = ctl;
	wc.action = "enable";
	wc.start = (int64_t)start;
	wc.end = (int64_t)start + duration;
	wc.ips = ips;
	wc.n_ips = n_ips;
	if (ctl_store_update(ctl, name, enable_locked, &wc) != EXIT_OK)
		return EXIT_FAIL;
	print_window(ctl, name, wc.start, wc.end);
	return EXIT_OK;
}

static enum pv_modify_result disable_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct window_change *wc = vctx;
	size_t revoked = 0;
	size_t i;

	wc->had_window = rec->window_end > wc->ctl->now;
	for (i = 0; i < rec->n_codes; i++)
		if (rec->codes[i].used_at == 0 && rec->codes[i].expires > wc->ctl->now)
			revoked++;
	rec->window_start = 0;
	rec->window_end = 0;
	rec->n_window_ips = 0;
	sodium_memzero(rec->window_ips, sizeof(rec->window_ips));
	/* Revoke: forget every outstanding code (an unknown code is simply invalid). */
	sodium_memzero(rec->codes, sizeof(rec->codes));
	rec->n_codes = 0;
	snprintf(wc->detail, sizeof(wc->detail), "%zu code(s) revoked", revoked);
	return audited(wc, rec->name, err);
}

int cmd_disable(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("disable");
	struct window_change wc;
	struct ctl_vendor_end ended;
	const char *name = NULL;
	bool kill_sessions = false;
	int rc = EXIT_OK;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--kill") == 0 && !kill_sessions)
			kill_sessions = true;
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else
			return ctl_usage_error(cmd, "unexpected argument \"%.64s\"", argv[i]);
	}
	if (name == NULL)
		return ctl_usage_error(cmd, "disable takes one NAME");
	if (!ctl_check_name(name) || ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	memset(&wc, 0, sizeof(wc));
	wc.ctl = ctl;
	wc.action = "disable";
	if (ctl_store_update(ctl, name, disable_locked, &wc) != EXIT_OK)
		return EXIT_FAIL;
	if (!ctl->json)
		printf("Vendor %s disabled%s; %s.\n", name,
		       wc.had_window ? "" : " (it had no open or upcoming window)", wc.detail);
	memset(&ended, 0, sizeof(ended));
	if (kill_sessions)
		rc = ctl_end_vendor(ctl, name, CTL_END_DISABLED, &ended);
	if (ctl->json && kill_sessions)
		printf("{\"vendor\":\"%s\",\"disabled\":true,\"detail\":\"%s\","
		       "\"sessions_ended\":%u,\"processes_ended\":%zu,\"logind\":\"%s\"}\n",
		       name, wc.detail, ended.sessions, ended.processes,
		       ctl_logind_name(ended.logind));
	else if (ctl->json)
		printf("{\"vendor\":\"%s\",\"disabled\":true,\"detail\":\"%s\"}\n", name,
		       wc.detail);
	else if (kill_sessions && ended.sessions == 0 && ended.processes == 0 && rc == EXIT_OK)
		printf("No live session or process of %s.\n", name);
	if (kill_sessions)
		ctl_print_logind_note(ctl, &ended);
	return rc;
}

static enum pv_modify_result unlock_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct window_change *wc = vctx;

	snprintf(wc->detail, sizeof(wc->detail), "%u failure(s) cleared%s", rec->failures,
	         rec->locked ? ", lockout lifted" : "");
	rec->failures = 0;
	rec->locked = false;
	return audited(wc, rec->name, err);
}

int cmd_unlock(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("unlock");
	struct window_change wc;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_error(cmd, "unlock takes exactly one NAME");
	if (!ctl_check_name(argv[1]) || ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	memset(&wc, 0, sizeof(wc));
	wc.ctl = ctl;
	wc.action = "unlock";
	if (ctl_store_update(ctl, argv[1], unlock_locked, &wc) != EXIT_OK)
		return EXIT_FAIL;
	if (ctl->json)
		printf("{\"vendor\":\"%s\",\"unlocked\":true}\n", argv[1]);
	else
		printf("Vendor %s unlocked: %s.\n", argv[1], wc.detail);
	return EXIT_OK;
}

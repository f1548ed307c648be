/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_window.c — `otpctl enable|disable|unlock`: opening, replacing, extending and closing a
 * vendor's maintenance window, and clearing a lockout. Each change is audited under the lock. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ipmatch.h"
#include "otpctl.h"
#include "timeparse.h"

/* What `enable` does to a window that is open or upcoming (a closed one is simply replaced). */
enum enable_mode {
	ENABLE_NEW,     /* refuse: the admin must say which of the two below is meant */
	ENABLE_REPLACE, /* a new window; the old one's outstanding codes are revoked */
	ENABLE_EXTEND,  /* the same window (start, addresses, codes, failures) with a new end */
};

struct window_change {
	struct otpctl *ctl;
	const char *action;
	enum enable_mode mode;
	int64_t start;
	int64_t end;
	int64_t duration; /* extend: the end is duration after now, or after an upcoming start */
	bool force;       /* extend: allow a window longer than max_window */
	const struct pv_cidr *ips;
	size_t n_ips;
	bool had_window;   /* disable: was there a window to close? enable: one was replaced or
	                      extended */
	int64_t old_start; /* enable: the window that was open or upcoming before, if had_window */
	int64_t old_end;
	size_t revoked;    /* codes of the replaced window that were still usable */
	char detail[1400]; /* window, narrowed addresses (1024), the replaced window */
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

/* Forget every issued code (an unknown code is simply invalid); returns how many were still
 * usable. `disable` and `enable --replace` revoke this one way. */
static size_t revoke_codes(struct pv_record *rec, int64_t now)
{
	size_t outstanding = ctl_outstanding_codes(rec, now);

	sodium_memzero(rec->codes, sizeof(rec->codes));
	rec->n_codes = 0;
	return outstanding;
}

/* --ip must narrow the vendor's own list, never widen it. */
static bool narrowing_ok(const struct pv_record *rec, const struct window_change *wc,
                         struct pv_err *err)
{
	char ips[1024];
	char one[PV_IP_TEXT_MAX];
	size_t i;
	size_t j;

	for (i = 0; i < wc->n_ips; i++) {
		bool inside = false;

		for (j = 0; j < rec->n_ips; j++)
			if (pv_cidr_within(&rec->ips[j], &wc->ips[i]))
				inside = true;
		if (!inside) {
			pv_cidr_format(&wc->ips[i], one, sizeof(one));
			ctl_format_ips(rec->ips, rec->n_ips, ips, sizeof(ips));
			pv_err_set(err, "--ip %s is not within the addresses of %s (%s)", one,
			           rec->name, ips);
			return false;
		}
	}
	return true;
}

/* An open or upcoming window is never replaced by accident: one sentence naming it and the
 * two ways on. */
/* An open or upcoming window: what enable must not replace by accident. */
static bool window_current(const struct pv_record *rec, int64_t now)
{
	enum pv_window state = pv_window_state(rec, now);

	return state == PV_WINDOW_OPEN || state == PV_WINDOW_UPCOMING;
}

static void refuse_current(const struct pv_record *rec, int64_t now, struct pv_err *err)
{
	char t1[PV_TIME_TEXT_MAX];
	char t2[PV_TIME_TEXT_MAX];

	ctl_local_time(rec->window_start, t1, sizeof(t1));
	ctl_local_time(rec->window_end, t2, sizeof(t2));
	pv_err_set(err,
	           "%s already has %s window from %s to %s; add --replace for a new window "
	           "(its outstanding codes are revoked) or --extend to keep its start and "
	           "move its end",
	           rec->name,
	           pv_window_state(rec, now) == PV_WINDOW_OPEN ? "an open" : "an upcoming", t1, t2);
}

/* --extend: same start, addresses, codes and failures; only the end moves. */
static enum pv_modify_result extend_locked(struct pv_record *rec, struct window_change *wc,
                                           struct pv_err *err)
{
	int64_t now = wc->ctl->now;
	int64_t max_window = wc->ctl->cfg.max_window;
	char t1[PV_TIME_TEXT_MAX];
	char t2[PV_TIME_TEXT_MAX];
	char t3[PV_TIME_TEXT_MAX];
	size_t i;

	if (!window_current(rec, now)) {
		pv_err_set(err,
		           "%s has no open or upcoming window to extend; open one: otpctl enable "
		           "%s --for DURATION",
		           rec->name, rec->name);
		return PV_MODIFY_FAIL;
	}
	wc->start = rec->window_start;
	wc->end = (rec->window_start > now ? rec->window_start : now) + wc->duration;
	/* max_window bounds the whole window, else repeated extensions would have no limit. */
	if (wc->end - wc->start > max_window && !wc->force) {
		pv_format_duration(wc->end - wc->start, t1, sizeof(t1));
		pv_format_duration(max_window, t2, sizeof(t2));
		pv_err_set(err,
		           "the window of %s would last %s from its start, longer than max_window "
		           "(%s); shorten it or add --force",
		           rec->name, t1, t2);
		return PV_MODIFY_FAIL;
	}
	wc->had_window = true;
	wc->old_start = rec->window_start;
	wc->old_end = rec->window_end;
	rec->window_end = wc->end;
	/* A code never outlives its window: an earlier end shortens the codes with it. */
	for (i = 0; i < rec->n_codes; i++)
		if (rec->codes[i].expires > wc->end)
			rec->codes[i].expires = wc->end;
	pv_format_utc((time_t)wc->start, t1, sizeof(t1));
	pv_format_utc((time_t)wc->old_end, t2, sizeof(t2));
	pv_format_utc((time_t)wc->end, t3, sizeof(t3));
	snprintf(wc->detail, sizeof(wc->detail), "window %s to %s, end moved from %s", t1, t3, t2);
	return audited(wc, rec->name, err);
}

static enum pv_modify_result enable_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct window_change *wc = vctx;
	int64_t now = wc->ctl->now;
	char t1[PV_TIME_TEXT_MAX];
	char t2[PV_TIME_TEXT_MAX];
	char ips[1024] = "";
	char replaced[200] = "";

	if (wc->mode == ENABLE_EXTEND)
		return extend_locked(rec, wc, err);
	if (window_current(rec, now) && wc->mode != ENABLE_REPLACE) {
		refuse_current(rec, now, err);
		return PV_MODIFY_FAIL;
	}
	if (!narrowing_ok(rec, wc, err))
		return PV_MODIFY_FAIL;
	if (window_current(rec, now)) {
		wc->had_window = true;
		wc->old_start = rec->window_start;
		wc->old_end = rec->window_end;
		wc->revoked = revoke_codes(rec, now);
		pv_format_utc((time_t)wc->old_start, t1, sizeof(t1));
		pv_format_utc((time_t)wc->old_end, t2, sizeof(t2));
		snprintf(replaced, sizeof(replaced),
		         ", replacing window %s to %s (%zu code(s) revoked)", t1, t2, wc->revoked);
	}
	rec->window_start = wc->start;
	rec->window_end = wc->end;
	sodium_memzero(rec->window_ips, sizeof(rec->window_ips));
	memcpy(rec->window_ips, wc->ips, wc->n_ips * sizeof(*wc->ips));
	rec->n_window_ips = wc->n_ips;
	/* A new window is a fresh start: the lockout of a previous one ends here. */
	rec->failures = 0;
	rec->locked = false;
	pv_format_utc((time_t)wc->start, t1, sizeof(t1));
	pv_format_utc((time_t)wc->end, t2, sizeof(t2));
	if (wc->n_ips > 0)
		ctl_format_ips(wc->ips, wc->n_ips, ips, sizeof(ips));
	snprintf(wc->detail, sizeof(wc->detail), "window %s to %s%s%s%s", t1, t2,
	         wc->n_ips ? " from " : "", ips, replaced);
	return audited(wc, rec->name, err);
}

static void print_window_json(const struct window_change *wc, const char *name)
{
	char t[PV_TIME_TEXT_MAX];
	struct pv_buf b;
	bool first = true;

	pv_buf_init(&b, 4096);
	pv_buf_puts(&b, "{");
	pv_json_key_string(&b, &first, "vendor", name);
	pv_format_utc((time_t)wc->start, t, sizeof(t));
	pv_json_key_string(&b, &first, "window_start", t);
	pv_format_utc((time_t)wc->end, t, sizeof(t));
	pv_json_key_string(&b, &first, "window_end", t);
	if (wc->had_window && wc->mode != ENABLE_EXTEND) {
		pv_format_utc((time_t)wc->old_start, t, sizeof(t));
		pv_json_key_string(&b, &first, "replaced_window_start", t);
		pv_format_utc((time_t)wc->old_end, t, sizeof(t));
		pv_json_key_string(&b, &first, "replaced_window_end", t);
		pv_json_key_int(&b, &first, "codes_revoked", (int64_t)wc->revoked);
	} else if (wc->mode == ENABLE_EXTEND) {
		pv_format_utc((time_t)wc->old_end, t, sizeof(t));
		pv_json_key_string(&b, &first, "previous_window_end", t);
	}
	pv_buf_puts(&b, "}");
	ctl_print_json(&b);
	pv_buf_free(&b);
}

static void print_window(const struct otpctl *ctl, const char *name, const struct window_change *wc)
{
	char t1[PV_TIME_TEXT_MAX];
	char t2[PV_TIME_TEXT_MAX];
	char left[32];

	if (ctl->json) {
		print_window_json(wc, name);
		return;
	}
	ctl_local_time(wc->start, t1, sizeof(t1));
	ctl_local_time(wc->end, t2, sizeof(t2));
	if (wc->start <= ctl->now) {
		pv_format_duration(wc->end - ctl->now, left, sizeof(left));
		printf("Vendor %s enabled now until %s (%s left).\n", name, t2, left);
	} else {
		pv_format_duration(wc->start - ctl->now, left, sizeof(left));
		printf("Vendor %s enabled from %s to %s (starts in %s).\n", name, t1, t2, left);
	}
	if (wc->mode == ENABLE_EXTEND) {
		ctl_local_time(wc->old_end, t2, sizeof(t2));
		printf("The window's end moved from %s; its start, addresses and outstanding "
		       "codes are unchanged.\n",
		       t2);
	} else if (wc->had_window) {
		ctl_local_time(wc->old_start, t1, sizeof(t1));
		ctl_local_time(wc->old_end, t2, sizeof(t2));
		printf(
		    "It replaces the window from %s to %s; %zu code(s) of that window revoked.\n",
		    t1, t2, wc->revoked);
	}
	printf("Issue a code when the vendor is ready: otpctl issue %s\n", name);
}

struct enable_args {
	const char *name;
	const char *for_text;
	const char *at_text;
	struct pv_cidr ips[PV_MAX_IPS];
	size_t n_ips;
	bool force;
	bool replace;
	bool extend;
};

static int parse_enable_args(const struct command *cmd, int argc, char **argv,
                             struct enable_args *ea)
{
	static const struct option longopts[] = {
	    {"for", required_argument, NULL, 'f'},
	    {"at", required_argument, NULL, 'a'},
	    {"ip", required_argument, NULL, 'i'},
	    {"force", no_argument, NULL, 'F'},
	    {"replace", no_argument, NULL, 'R'},
	    {"extend", no_argument, NULL, 'E'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(ea, 0, sizeof(*ea));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1 || optind < argc) {
		if (c == -1) {
			if (ea->name != NULL)
				return ctl_usage_error(cmd, "unexpected argument \"%.64s\"",
				                       argv[optind]);
			ea->name = argv[optind++];
		} else if (c == 'f') {
			ea->for_text = optarg;
		} else if (c == 'a') {
			ea->at_text = optarg;
		} else if (c == 'i') {
			if (ctl_parse_ip(cmd, optarg, ea->ips, &ea->n_ips, PV_MAX_IPS) != EXIT_OK)
				return EXIT_USAGE;
		} else if (c == 'F') {
			ea->force = true;
		} else if (c == 'R') {
			ea->replace = true;
		} else if (c == 'E') {
			ea->extend = true;
		} else {
			return ctl_usage_error(cmd, "unknown or incomplete option %.64s",
			                       argv[optind - 1]);
		}
	}
	if (ea->name == NULL)
		return ctl_usage_error(cmd, "the vendor NAME is missing");
	if (ea->for_text == NULL)
		return ctl_usage_error(cmd, "--for DURATION is required (e.g. --for 2h)");
	if (ea->replace && ea->extend)
		return ctl_usage_error(cmd, "--replace and --extend exclude each other: a new "
		                            "window, or the current one with a new end");
	/* The extended window keeps its start and its addresses: only --for says anything. */
	if (ea->extend && ea->at_text != NULL)
		return ctl_usage_error(cmd, "--at cannot be used with --extend, which keeps the "
		                            "window's start (use --replace for a new start)");
	if (ea->extend && ea->n_ips > 0)
		return ctl_usage_error(cmd, "--ip cannot be used with --extend, which keeps the "
		                            "window's addresses (use --replace for new ones)");
	return EXIT_OK;
}

int cmd_enable(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("enable");
	struct enable_args ea;
	struct window_change wc;
	struct pv_err err;
	int64_t duration = 0;
	time_t start;
	char limit[32];
	int rc;

	rc = parse_enable_args(cmd, argc, argv, &ea);
	if (rc != EXIT_OK)
		return rc;
	if (pv_parse_duration(ea.for_text, &duration, &err) != PV_OK)
		return ctl_usage_error(cmd, "%s", err.msg);
	start = (time_t)ctl->now;
	if (ea.at_text != NULL &&
	    pv_parse_time(ea.at_text, (time_t)ctl->now, &start, &err) != PV_OK)
		return ctl_usage_error(cmd, "%s", err.msg);
	if (!ctl_check_name(ea.name) || ctl_load_config(ctl) != EXIT_OK)
		return EXIT_FAIL;
	/* --extend checks the whole window's length under the lock, where its start is known. */
	if (!ea.extend && duration > ctl->cfg.max_window && !ea.force) {
		pv_format_duration(ctl->cfg.max_window, limit, sizeof(limit));
		ctl_error(
		    "a window of %s is longer than max_window (%s); shorten it or add --force",
		    ea.for_text, limit);
		return EXIT_FAIL;
	}
	if ((int64_t)start + duration <= ctl->now) {
		ctl_error("the window %s + %s would already be over; give a later --at",
		          ea.at_text ? ea.at_text : "now", ea.for_text);
		return EXIT_FAIL;
	}
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	memset(&wc, 0, sizeof(wc));
	wc.ctl = ctl;
	wc.mode = ea.extend ? ENABLE_EXTEND : ea.replace ? ENABLE_REPLACE : ENABLE_NEW;
	wc.action = ea.extend ? "extend" : "enable";
	wc.start = (int64_t)start;
	wc.end = (int64_t)start + duration;
	wc.duration = duration;
	wc.force = ea.force;
	wc.ips = ea.ips;
	wc.n_ips = ea.n_ips;
	if (ctl_store_update(ctl, ea.name, enable_locked, &wc) != EXIT_OK)
		return EXIT_FAIL;
	print_window(ctl, ea.name, &wc);
	return EXIT_OK;
}

static enum pv_modify_result disable_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct window_change *wc = vctx;
	size_t revoked;

	wc->had_window = rec->window_end > wc->ctl->now;
	rec->window_start = 0;
	rec->window_end = 0;
	rec->n_window_ips = 0;
	sodium_memzero(rec->window_ips, sizeof(rec->window_ips));
	revoked = revoke_codes(rec, wc->ctl->now);
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

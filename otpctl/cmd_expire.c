/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_expire.c — `otpctl expire`, and the ending part of `disable NAME --kill` and `vendor
 * remove`: decide which vendors may no longer be connected (window closed or not open yet,
 * disabled, removed, outside their business hours) and end everything of each one in one
 * place, ctl_end_vendor: its recorded SSH sessions, then every process of its uid. Vendors
 * whose window ends within warn_before are warned on their sessions' terminals first.
 *
 * Sessions are found in the records pam_vendor writes at session open (session.h), never by
 * process name; a PID is signalled only while it still names the process that opened the
 * session (same start time), through a pidfd taken before that check, so a reused PID is never
 * touched. SIGTERM to sshd's monitor ends the session cleanly and makes sshd run
 * pam_close_session (the module then audits session_close and removes the record); a monitor
 * still alive after GRACE_S seconds gets SIGKILL, and then this command writes the
 * session_close line itself. What the session left behind (setsid, nohup, tmux, a user
 * systemd instance) is then ended by uid (endproc.c). Idempotent: a second run finds nothing
 * left to do. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "otpctl.h"
#include "session.h"
#include "timeparse.h"

#define GRACE_S         5
#define LAST_WORD_PAUSE 1 /* seconds for sshd to carry the last message before SIGTERM */

static const struct {
	const char *text;   /* human, in messages, audit details and on the vendor's terminal */
	const char *reason; /* the audit reason (stable vocabulary) */
} end_reasons[] = {
    [CTL_END_WINDOW_CLOSED] = {"window closed", "window_expired"},
    [CTL_END_WINDOW_NOT_OPEN] = {"window not open", "window_not_started"},
    [CTL_END_DISABLED] = {"vendor disabled", "not_enabled"},
    [CTL_END_REMOVED] = {"vendor removed", "not_vendor"},
    [CTL_END_OUTSIDE_HOURS] = {"outside business hours", "outside_hours"},
};

const char *ctl_end_text(enum ctl_end_reason why)
{
	return end_reasons[why].text;
}

/* When an open window's access ends, if by horizon (else 0): the window's end, or the end of
 * the vendor's business hours when that comes first. Hours are whole minutes of local time,
 * so stepping minute by minute finds their end. */
static int64_t access_end(const struct pv_record *rec, int64_t now, int64_t horizon,
                          bool *window_end)
{
	int64_t t;

	*window_end = false;
	for (t = now - now % 60 + 60; rec->hours.n > 0 && t <= horizon && t < rec->window_end;
	     t += 60)
		if (!ctl_inside_hours(rec, t))
			return t;
	*window_end = true;
	return rec->window_end <= horizon ? rec->window_end : 0;
}

/* Must vendor `name` end now (*why)? If not, and its access ends within warn_before:
 * *ends_at (else 0), and *window_end says whether the window ends then (or the hours do).
 * PV_ERR on a store error. */
static int verdict(struct otpctl *ctl, const char *name, bool *end, enum ctl_end_reason *why,
                   int64_t *ends_at, bool *window_end)
{
	int64_t horizon = ctl->now + ctl->cfg.warn_before;
	struct pv_record *rec;
	struct pv_err err;
	int r;

	*end = true;
	*ends_at = 0;
	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		ctl_error("out of memory");
		return PV_ERR;
	}
	r = pv_store_load(ctl->store, &ctl->keys, name, rec, &err);
	if (r == PV_NOTFOUND) {
		*why = CTL_END_REMOVED;
	} else if (r != PV_OK) {
		ctl_error("%s", err.msg);
		*end = false;
	} else {
		switch (pv_window_state(rec, ctl->now)) {
		case PV_WINDOW_NONE:
			*why = CTL_END_DISABLED;
			break;
		case PV_WINDOW_CLOSED:
			*why = CTL_END_WINDOW_CLOSED;
			break;
		case PV_WINDOW_UPCOMING:
			*why = CTL_END_WINDOW_NOT_OPEN;
			break;
		case PV_WINDOW_OPEN:
			*why = CTL_END_OUTSIDE_HOURS;
			*end = !ctl_inside_hours(rec, ctl->now);
			if (!*end && ctl->cfg.warn_before > 0)
				*ends_at = access_end(rec, ctl->now, horizon, window_end);
			break;
		}
	}
	pv_record_wipe(rec);
	free(rec);
	return r == PV_OK || r == PV_NOTFOUND ? PV_OK : PV_ERR;
}

/* Is the session's process still the one that opened it? */
static int still_running(const struct pv_session *s, bool *running)
{
	struct pv_err err;
	uint64_t start = 0;
	int r;

	*running = false;
	r = pv_process_start(s->pid, &start, &err);
	if (r == PV_NOTFOUND)
		return PV_OK;
	if (r != PV_OK) {
		ctl_error("%s", err.msg);
		return PV_ERR;
	}
	*running = (start == s->pid_start);
	return PV_OK;
}

static bool wait_gone(const struct pv_session *s, int seconds)
{
	const struct timespec pause = {0, 100 * 1000 * 1000};
	bool running = true;
	int i;

	for (i = 0; i < seconds * 10; i++) {
		if (still_running(s, &running) != PV_OK || !running)
			return true;
		nanosleep(&pause, NULL);
	}
	return still_running(s, &running) == PV_OK && !running;
}

static void forget(const struct otpctl *ctl, const struct pv_session *s)
{
	struct pv_err err;

	if (pv_session_remove(ctl->cfg.session_dir, s->id, &err) == PV_ERR)
		ctl_warn("%s", err.msg);
}

/* Signal the session's process through a pidfd opened before its start time was checked:
 * if the PID was reused in between, the pidfd names the old, dead process and the signal
 * fails with ESRCH instead of reaching a stranger. */
static int signal_session(int pidfd, const struct pv_session *s, int sig)
{
	if (pidfd_send_signal(pidfd, sig, NULL, 0) == 0 || errno == ESRCH)
		return EXIT_OK;
	ctl_error("cannot signal pid %ld of %s's session: %s", s->pid, s->user, strerror(errno));
	return EXIT_FAIL;
}

/* End one session: audit, SIGTERM, wait, SIGKILL if needed. */
static int end_session_fd(struct otpctl *ctl, const struct pv_session *s, const char *why,
                          int pidfd, unsigned *ended)
{
	char detail[256];
	bool running = false;

	if (pidfd < 0 && errno != ESRCH) {
		ctl_error("cannot open pid %ld of %s's session: %s", s->pid, s->user,
		          strerror(errno));
		return EXIT_FAIL;
	}
	if (pidfd >= 0 && still_running(s, &running) != PV_OK)
		return EXIT_FAIL;
	if (!running) {
		/* The process is gone (its sshd was killed, or the machine rebooted without
		 * clearing session_dir): nothing to end, only a stale record to drop. */
		forget(ctl, s);
		return EXIT_OK;
	}
	snprintf(detail, sizeof(detail), "%s; SIGTERM to pid %ld", why, s->pid);
	if (ctl_audit_session_end(ctl, s, s->pid, "admin", detail) != EXIT_OK ||
	    signal_session(pidfd, s, SIGTERM) != EXIT_OK)
		return EXIT_FAIL;
	if (!wait_gone(s, GRACE_S)) {
		if (signal_session(pidfd, s, SIGKILL) != EXIT_OK)
			return EXIT_FAIL;
		/* sshd could not run pam_close_session: record the end here. */
		if (ctl_audit_session_end(
		        ctl, s, s->pid, "session_close",
		        "ended by otpctl expire with SIGKILL (no answer to SIGTERM)") != EXIT_OK)
			return EXIT_FAIL;
	}
	forget(ctl, s); /* normally already removed by the module's session close */
	if (!ctl->json)
		printf("Ended session %s of %s (pid %ld, from %s): %s.\n", s->id, s->user, s->pid,
		       s->rhost[0] ? s->rhost : "unknown address", why);
	(*ended)++;
	return EXIT_OK;
}

int ctl_end_session(struct otpctl *ctl, const struct pv_session *s, const char *why,
                    unsigned *ended)
{
	int pidfd = pidfd_open((pid_t)s->pid, 0);
	int rc = end_session_fd(ctl, s, why, pidfd, ended);

	if (pidfd >= 0)
		close(pidfd);
	return rc;
}

/* The vendor's live SSH sessions (VPN records are not ended by a signal: session.h). */
static int list_ssh_sessions(const struct otpctl *ctl, const char *name, struct pv_session **list,
                             size_t *n)
{
	struct pv_err err;
	size_t i;
	size_t kept = 0;

	if (pv_session_list(ctl->cfg.session_dir, list, n, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	for (i = 0; i < *n; i++)
		if ((*list)[i].kind == PV_SESSION_SSH && strcmp((*list)[i].user, name) == 0)
			(*list)[kept++] = (*list)[i];
	*n = kept;
	return EXIT_OK;
}

/* Write text on the terminals of each of the sessions that still runs; how many got it. */
static unsigned tell_sessions(const char *name, const struct pv_session *list, size_t n,
                              const char *text)
{
	unsigned written = 0;
	struct pv_account acct;
	struct pv_err err;
	bool running = false;
	size_t i;

	if (n == 0 || pv_account_lookup(name, &acct, &err) != PV_OK || acct.uid == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (still_running(&list[i], &running) == PV_OK && running)
			written += ctl_session_notify(acct.uid, list[i].pid, text);
	return written;
}

/* The recorded SSH sessions of one vendor: a last message on their terminals, then each
 * session's monitor is ended. */
static int end_ssh_sessions(struct otpctl *ctl, const char *name, const char *why, unsigned *ended)
{
	struct pv_session *list = NULL;
	char text[256];
	size_t n = 0;
	size_t i;
	int rc = EXIT_OK;

	if (list_ssh_sessions(ctl, name, &list, &n) != EXIT_OK)
		return EXIT_FAIL;
	snprintf(text, sizeof(text), "\r\npam_vendor: %s: this session is being ended.\r\n", why);
	if (tell_sessions(name, list, n, text) > 0)
		sleep(LAST_WORD_PAUSE);
	for (i = 0; i < n; i++)
		if (ctl_end_session(ctl, &list[i], why, ended) != EXIT_OK)
			rc = EXIT_FAIL;
	free(list);
	return rc;
}

/* The audit line of a uid sweep: which PIDs got SIGTERM, which needed SIGKILL, and why.
 * Written after the fact, since only then are the PIDs known; ending a vendor's processes
 * is never held back for want of an audit line. */
static int audit_processes(struct otpctl *ctl, const char *name, enum ctl_end_reason why,
                           const struct ctl_endproc *p)
{
	char termed[CTL_PIDS_SHOWN * 12 + 32];
	char killed[CTL_PIDS_SHOWN * 12 + 32];
	char left[CTL_PIDS_SHOWN * 12 + 32];
	char detail[1024];
	size_t used;

	ctl_pid_list_format(&p->termed, termed, sizeof(termed));
	ctl_pid_list_format(&p->killed, killed, sizeof(killed));
	ctl_pid_list_format(&p->survivors, left, sizeof(left));
	used = (size_t)snprintf(detail, sizeof(detail), "%s; uid %u; SIGTERM to %zu: %s",
	                        ctl_end_text(why), (unsigned)p->uid, p->termed.n,
	                        p->termed.n ? termed : "none");
	if (p->killed.n > 0 && used < sizeof(detail))
		used += (size_t)snprintf(detail + used, sizeof(detail) - used,
		                         "; SIGKILL to %zu: %s", p->killed.n, killed);
	if (p->survivors.n > 0 && used < sizeof(detail))
		used += (size_t)snprintf(detail + used, sizeof(detail) - used,
		                         "; still running: %s", left);
	if (used < sizeof(detail))
		snprintf(detail + used, sizeof(detail) - used, "; logind: %s",
		         ctl_logind_name(p->logind));
	return ctl_audit(ctl, "processes_terminated", name, p->survivors.n > 0 ? "error" : "allow",
	                 end_reasons[why].reason, detail);
}

int ctl_end_vendor(struct otpctl *ctl, const char *name, enum ctl_end_reason why,
                   struct ctl_vendor_end *total)
{
	struct ctl_endproc procs;
	char termed[CTL_PIDS_SHOWN * 12 + 32];
	char killed[CTL_PIDS_SHOWN * 12 + 32];
	int rc = EXIT_OK;

	/* 1. The recorded SSH sessions, so that sshd closes each PAM session itself. */
	if (end_ssh_sessions(ctl, name, ctl_end_text(why), &total->sessions) != EXIT_OK)
		rc = EXIT_FAIL;
	/* 2. The vendor's VPN tunnels, through OpenVPN's management interface (vpn_mgmt.c;
	 * nothing to do, and no socket needed, when it has no tunnel record). */
	if (ctl_vpn_end_tunnels(ctl, name, ctl_end_text(why), &total->sessions) != EXIT_OK)
		rc = EXIT_FAIL;
	/* 3. Whatever still runs under the vendor's uid. */
	if (ctl_end_processes(name, &procs) != EXIT_OK)
		rc = EXIT_FAIL;
	if (procs.logind > total->logind)
		total->logind = procs.logind;
	total->processes += procs.signalled;
	if (procs.termed.n + procs.killed.n + procs.survivors.n == 0)
		return rc;
	if (audit_processes(ctl, name, why, &procs) != EXIT_OK)
		rc = EXIT_FAIL;
	if (!ctl->json) {
		ctl_pid_list_format(&procs.termed, termed, sizeof(termed));
		ctl_pid_list_format(&procs.killed, killed, sizeof(killed));
		printf("Ended %zu process(es) of %s: %s (SIGTERM: %s; SIGKILL: %s).\n",
		       procs.signalled, name, ctl_end_text(why), procs.termed.n ? termed : "none",
		       procs.killed.n ? killed : "none");
	}
	return rc;
}

void ctl_print_logind_note(const struct otpctl *ctl, const struct ctl_vendor_end *total)
{
	if (!ctl->json && total->processes > 0 && total->logind == CTL_LOGIND_ABSENT)
		printf(
		    "systemd-logind does not run here: loginctl terminate-user was not used; the "
		    "processes were ended by uid.\n");
}

/* Warn the vendor's SSH sessions not warned yet that its access ends at ends_at. */
static int warn_sessions(struct otpctl *ctl, const char *name, int64_t ends_at, bool window_end,
                         unsigned *warned)
{
	struct pv_session *list = NULL;
	char when[PV_TIME_TEXT_MAX];
	char left[32];
	char text[512];
	struct pv_err err;
	size_t n = 0;
	size_t i;
	int rc = EXIT_OK;

	if (list_ssh_sessions(ctl, name, &list, &n) != EXIT_OK)
		return EXIT_FAIL;
	ctl_local_time(ends_at, when, sizeof(when));
	pv_format_duration(ends_at - ctl->now, left, sizeof(left));
	snprintf(text, sizeof(text),
	         "\r\npam_vendor: your %s at %s (in %s); save your work, the session will be "
	         "closed then.\r\n",
	         window_end ? "maintenance window ends" : "business hours end", when, left);
	for (i = 0; i < n; i++) {
		bool running = false;
		unsigned terminals;

		if (list[i].warned != 0 || still_running(&list[i], &running) != PV_OK || !running)
			continue;
		/* A session without a terminal (a command) has nothing to show: warned all the
		 * same, so that the next run does not look again. */
		terminals = tell_sessions(name, &list[i], 1, text);
		list[i].warned = ctl->now;
		if (pv_session_save(ctl->cfg.session_dir, &list[i], &err) != PV_OK) {
			ctl_error("%s", err.msg);
			rc = EXIT_FAIL;
			continue;
		}
		(*warned)++;
		if (!ctl->json)
			printf("Warned session %s of %s on %u terminal(s): access ends at %s.\n",
			       list[i].id, name, terminals, when);
	}
	free(list);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* vendor_group's members that can be vendors; a missing group is a warning and no member. */
static int group_members(const struct otpctl *ctl, char (**members)[PV_NAME_MAX + 1], size_t *n)
{
	const char *group = ctl->cfg.vendor_group;
	struct pv_err err;
	int r = pv_group_vendor_members(group, "/etc/passwd", members, n, &err);

	if (r == PV_NOTFOUND) {
		ctl_warn("vendor_group %s does not exist (groupadd %s)", group, group);
		return EXIT_OK;
	}
	if (r != PV_OK) {
		ctl_error("cannot list the members of vendor_group %s: %s", group, err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Everyone expire looks at: the store's vendors, vendor_group's members (one without a
 * record is a removed vendor) and whoever has a session record. Sorted, each once. When the
 * group or the session records cannot be read, the others are still there (EXIT_FAIL). */
static int expire_names(struct otpctl *ctl, char (**out)[PV_NAME_MAX + 1], size_t *n)
{
	char(*names)[PV_NAME_MAX + 1] = NULL;
	char(*members)[PV_NAME_MAX + 1] = NULL;
	struct pv_session *sessions = NULL;
	size_t n_names = 0, n_members = 0, n_sessions = 0, i, kept = 0;
	struct pv_err err;
	int rc = EXIT_OK;
	void *grown;

	*out = NULL;
	*n = 0;
	if (pv_store_list(ctl->store, &names, &n_names, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	/* Each run brings the local vendor list up to date with the store (vendors added or
	 * removed on another gateway): the timer makes that once a period. */
	if (ctl_vendor_list_refresh(ctl, names, n_names) != EXIT_OK)
		rc = EXIT_FAIL;
	if (pv_session_list(ctl->cfg.session_dir, &sessions, &n_sessions, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		rc = EXIT_FAIL;
	}
	if (ctl->cfg.vendor_group[0] != '\0' && group_members(ctl, &members, &n_members) != EXIT_OK)
		rc = EXIT_FAIL;
	grown = realloc(names, (n_names + n_members + n_sessions + 1) * sizeof(*names));
	if (grown == NULL) {
		ctl_error("out of memory");
		rc = EXIT_FAIL;
		goto out;
	}
	names = grown;
	if (n_members > 0)
		memcpy(names + n_names, members, n_members * sizeof(*names));
	n_names += n_members;
	for (i = 0; i < n_sessions; i++)
		snprintf(names[n_names++], sizeof(*names), "%s", sessions[i].user);
	qsort(names, n_names, sizeof(*names), by_name);
	for (i = 0; i < n_names; i++)
		if (kept == 0 || strcmp(names[kept - 1], names[i]) != 0)
			memmove(names[kept++], names[i], sizeof(*names));
	*out = names;
	*n = kept;
	names = NULL;
out:
	free(names);
	free(members);
	free(sessions);
	return rc;
}

const char *ctl_logind_name(enum ctl_logind state)
{
	switch (state) {
	case CTL_LOGIND_UNUSED:
		return "running";
	case CTL_LOGIND_TERMINATED:
		return "terminate-user done";
	case CTL_LOGIND_FAILED:
		return "terminate-user failed";
	case CTL_LOGIND_ABSENT:
		break;
	}
	return "not running";
}

int cmd_expire(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("expire");
	char(*names)[PV_NAME_MAX + 1] = NULL;
	struct ctl_vendor_end total;
	unsigned warned = 0;
	unsigned pruned = 0;
	size_t n = 0;
	size_t i;
	int rc = EXIT_OK;

	if (argc > 1)
		return ctl_usage_error(cmd, "expire takes no argument");
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	/* Every minute: the audit epochs that ended while no one logged in are sealed too. A
	 * failure is reported, and the sessions are still ended. */
	if (ctl_audit_seal_due(ctl) != EXIT_OK)
		rc = EXIT_FAIL;
	if (expire_names(ctl, &names, &n) != EXIT_OK)
		rc = EXIT_FAIL;
	if (names == NULL)
		return EXIT_FAIL;
	memset(&total, 0, sizeof(total));
	total.logind = ctl_logind_running(NULL, 0) ? CTL_LOGIND_UNUSED : CTL_LOGIND_ABSENT;
	for (i = 0; i < n; i++) {
		enum ctl_end_reason why = CTL_END_REMOVED;
		bool window_end = true;
		int64_t ends_at = 0;
		bool end = false;

		if (verdict(ctl, names[i], &end, &why, &ends_at, &window_end) != PV_OK) {
			rc = EXIT_FAIL;
			continue;
		}
		if (end && ctl_end_vendor(ctl, names[i], why, &total) != EXIT_OK)
			rc = EXIT_FAIL;
		if (!end && ends_at > 0 &&
		    warn_sessions(ctl, names[i], ends_at, window_end, &warned) != EXIT_OK)
			rc = EXIT_FAIL;
	}
	free(names);
	if (ctl_prune_recordings(ctl, &pruned) != EXIT_OK)
		rc = EXIT_FAIL;
	if (pruned > 0 && !ctl->json)
		printf("Removed %u session recording%s older than recording_keep.\n", pruned,
		       pruned == 1 ? "" : "s");
	if (ctl->json)
		printf("{\"ended\":%u,\"processes_ended\":%zu,\"warned\":%u,\"logind\":\"%s\","
		       "\"ok\":%s}\n",
		       total.sessions, total.processes, warned, ctl_logind_name(total.logind),
		       rc == EXIT_OK ? "true" : "false");
	else if (total.sessions == 0 && total.processes == 0 && warned == 0 && rc == EXIT_OK)
		printf("No session to end.\n");
	ctl_print_logind_note(ctl, &total);
	return rc;
}

/* cmd_expire.c — `otpctl expire` and `otpctl disable NAME --kill`: end the live sessions of
 * vendors who may no longer be connected (window closed or not open yet, disabled, removed,
 * outside their business hours). Sessions are found in the records pam_vendor writes at
 * session open (session.h), never by process name; a PID is signalled only while it still
 * names the process that opened the session (same start time), through a pidfd taken before
 * that check, so a reused PID is never touched. SIGTERM to sshd's monitor ends the session
 * cleanly and makes sshd run pam_close_session (the module then audits session_close and
 * removes the record); a monitor still alive after GRACE_S seconds gets SIGKILL, and then
 * this command writes the session_close line itself. Idempotent: a second run finds nothing
 * left to do. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "otpctl.h"
#include "session.h"
#include "timeparse.h"

#define GRACE_S 5

/* Why this session must end now, or NULL when it may go on. PV_ERR on a store error. */
static int reason_to_end(struct otpctl *ctl, const struct pv_session *s, const char **why)
{
	struct pv_record *rec;
	struct pv_err err;
	int r;

	*why = NULL;
	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		ctl_error("out of memory");
		return PV_ERR;
	}
	r = pv_store_load(ctl->store, &ctl->keys, s->user, rec, &err);
	if (r == PV_NOTFOUND) {
		*why = "vendor removed";
	} else if (r != PV_OK) {
		ctl_error("%s", err.msg);
		free(rec);
		return PV_ERR;
	} else {
		switch (ctl_window_state(rec, ctl->now)) {
		case CTL_WINDOW_NONE:
			*why = "vendor disabled";
			break;
		case CTL_WINDOW_CLOSED:
			*why = "window closed";
			break;
		case CTL_WINDOW_UPCOMING:
			*why = "window not open";
			break;
		case CTL_WINDOW_OPEN:
			if (!ctl_inside_hours(rec, ctl->now))
				*why = "outside business hours";
			break;
		}
	}
	pv_record_wipe(rec);
	free(rec);
	return PV_OK;
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

static int audit_session(struct otpctl *ctl, const struct pv_session *s, const char *event,
                         const char *detail)
{
	struct pv_audit_event ev;
	struct pv_err err;

	pv_audit_event_init(&ev);
	ev.event = event;
	ev.service = "otpctl";
	ev.user = s->user;
	ev.rhost = s->rhost[0] ? s->rhost : NULL;
	ev.result = "allow";
	ev.reason = "ok";
	ev.session = s->id;
	ev.pid = s->pid;
	ev.admin = ctl->admin;
	ev.detail = detail;
	if (strcmp(event, "admin") == 0)
		ev.action = "session_terminated";
	else
		ev.duration_s = ctl->now > s->opened ? ctl->now - s->opened : 0;
	if (pv_audit_append_mirrored(ctl->cfg.audit_log, &ctl->keys, (int)ctl->cfg.lock_timeout,
	                             &ev, (int64_t)time(NULL), NULL, pv_store_audit_mirror,
	                             ctl->store, &err) != PV_OK) {
		ctl_error("%s; the session was not ended", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
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
	if (audit_session(ctl, s, "admin", detail) != EXIT_OK ||
	    signal_session(pidfd, s, SIGTERM) != EXIT_OK)
		return EXIT_FAIL;
	if (!wait_gone(s, GRACE_S)) {
		if (signal_session(pidfd, s, SIGKILL) != EXIT_OK)
			return EXIT_FAIL;
		/* sshd could not run pam_close_session: record the end here. */
		if (audit_session(ctl, s, "session_close",
		                  "ended by otpctl expire with SIGKILL (no answer to SIGTERM)") !=
		    EXIT_OK)
			return EXIT_FAIL;
	}
	forget(ctl, s); /* normally already removed by the module's session close */
	if (!ctl->json)
		printf("Ended session %s of %s (pid %ld, from %s): %s.\n", s->id, s->user, s->pid,
		       s->rhost[0] ? s->rhost : "unknown address", why);
	(*ended)++;
	return EXIT_OK;
}

static int end_session(struct otpctl *ctl, const struct pv_session *s, const char *why,
                       unsigned *ended)
{
	int pidfd = pidfd_open((pid_t)s->pid, 0);
	int rc = end_session_fd(ctl, s, why, pidfd, ended);

	if (pidfd >= 0)
		close(pidfd);
	return rc;
}

/* Was an earlier record of list a tunnel of the same vendor? (Its tunnels are then ended.) */
static bool vpn_vendor_done(const struct pv_session *list, size_t i)
{
	size_t k;

	for (k = 0; k < i; k++)
		if (list[k].kind == PV_SESSION_VPN && strcmp(list[k].user, list[i].user) == 0)
			return true;
	return false;
}

/* End the sessions that must end; only those of `only` (a vendor name) when given. */
int ctl_expire_sessions(struct otpctl *ctl, const char *only, unsigned *ended)
{
	struct pv_session *list = NULL;
	struct pv_err err;
	size_t n = 0;
	size_t i;
	int rc = EXIT_OK;

	*ended = 0;
	if (pv_session_list(ctl->cfg.session_dir, &list, &n, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		const char *why = NULL;

		if (only != NULL && strcmp(list[i].user, only) != 0)
			continue;
		if (reason_to_end(ctl, &list[i], &why) != PV_OK)
			rc = EXIT_FAIL;
		if (list[i].kind == PV_SESSION_VPN) {
			/* An OpenVPN tunnel: its pid is the server, never signalled; the vendor's
			 * tunnels end over the management socket, once per vendor (vpn_mgmt.c). */
			if (why != NULL && !vpn_vendor_done(list, i) &&
			    ctl_vpn_end_tunnels(ctl, list[i].user, why, ended) != EXIT_OK)
				rc = EXIT_FAIL;
			continue;
		}
		if (why != NULL && end_session(ctl, &list[i], why, ended) != EXIT_OK)
			rc = EXIT_FAIL;
	}
	free(list);
	return rc;
}

int cmd_expire(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("expire");
	unsigned ended = 0;
	int rc;

	if (argc > 1)
		return ctl_usage_error(cmd, "expire takes no argument");
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	rc = ctl_expire_sessions(ctl, NULL, &ended);
	if (ctl->json)
		printf("{\"ended\":%u,\"ok\":%s}\n", ended, rc == EXIT_OK ? "true" : "false");
	else if (ended == 0 && rc == EXIT_OK)
		printf("No session to end.\n");
	return rc;
}

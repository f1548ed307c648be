/* SPDX-License-Identifier: BSD-3-Clause */
/* phase_session.c — the vendor steps of open_session and close_session: the session record
 * otpctl expire uses to end the session (sshd's monitor PID and its start time), and the
 * session_open / session_close audit lines with the duration. sshd opens and closes the
 * session on one handle in its monitor, so the start travels by pam_set_data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <sodium.h>

#include "accounts.h"
#include "audit.h"
#include "ipmatch.h"
#include "log.h"
#include "module.h"
#include "recording.h"
#include "session.h"

#define DATA_SESSION "pam_vendor_session"
#define REFUSED_TEXT "pam_vendor: this session cannot be recorded, so it is refused."

struct session_data {
	char id[33];
	int64_t start;
	bool recorded; /* a recording was made ready for it */
};

static void free_session(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

/* Record the live session (this process: sshd's monitor) so that otpctl expire can end it
 * when the window closes. A session that could not be ended must not start. */
static int record_session(struct call *c, const struct session_data *sd, struct pv_err *err)
{
	struct pv_session s;
	struct pv_cidr addr;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", sd->id);
	snprintf(s.user, sizeof(s.user), "%s", c->user);
	snprintf(s.service, sizeof(s.service), "%s", c->service ? c->service : "-");
	s.kind = PV_SESSION_SSH;
	if (c->rhost != NULL && pv_addr_parse(c->rhost, &addr) == PV_OK)
		pv_cidr_format(&addr, s.rhost, sizeof(s.rhost));
	s.pid = (long)getpid();
	s.opened = sd->start;
	if (pv_process_start(s.pid, &s.pid_start, err) != PV_OK) {
		if (err->msg[0] == '\0')
			pv_err_set(err, "cannot read this process's start time");
		return PV_ERR;
	}
	return pv_session_save(c->cfg.session_dir, &s, err);
}

static void forget_session(struct call *c, const char *id)
{
	struct pv_err err;

	if (pv_session_remove(c->cfg.session_dir, id, &err) == PV_ERR)
		pv_log(c->pamh, LOG_ERR, "%s user=%s: %s", c->event, mod_shown_user(c), err.msg);
}

/* A vendor session is recorded or refused: the vendor's login shell must be the recorder
 * (sshd runs every session, a key's command="..." included, through it), and the recording
 * ready to start. The recorder finds it by PV_RECORDING, which the PAM environment carries
 * to the session (pv-record trusts it only with the session record's user). */
static int prepare_recording(struct call *c, const char *id, struct pv_err *err)
{
	struct pv_account acct;
	char env[64];
	int r;

	r = pv_account_lookup(c->user, &acct, err);
	if (r != PV_OK) {
		if (r == PV_NOTFOUND)
			pv_err_set(err, "there is no account %s", c->user);
		return PV_ERR;
	}
	if (strcmp(acct.shell, c->cfg.recorder) != 0) {
		pv_err_set(err, "the login shell of %s is %.200s, not the recorder %.200s", c->user,
		           acct.shell, c->cfg.recorder);
		return PV_ERR;
	}
	if (pv_recording_prepare(&c->cfg, id, err) != PV_OK)
		return PV_ERR;
	snprintf(env, sizeof(env), "PV_RECORDING=%s", id);
	if (pam_putenv(c->pamh, env) != PAM_SUCCESS) {
		pv_recording_forget_unclaimed(c->cfg.recording_dir, id);
		pv_err_set(err, "cannot hand the recording to the session (pam_putenv)");
		return PV_ERR;
	}
	return PV_OK;
}

static int refuse_unrecorded(struct call *c, const struct pv_err *err)
{
	(void)pam_error(c->pamh, "%s", REFUSED_TEXT);
	return mod_deny(c, PV_R_RECORDING_FAILED, err->msg, PAM_SESSION_ERR);
}

static void undo_open(struct call *c, const struct session_data *sd)
{
	forget_session(c, sd->id);
	if (sd->recorded)
		pv_recording_forget_unclaimed(c->cfg.recording_dir, sd->id);
}

int mod_open_session_vendor(struct call *c)
{
	struct pv_audit_event ev;
	struct session_data *sd;
	struct pv_err err;
	unsigned char rnd[16];
	int rc = PAM_SESSION_ERR;

	sd = calloc(1, sizeof(*sd));
	if (sd == NULL)
		return PAM_SESSION_ERR;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(sd->id, sizeof(sd->id), rnd, sizeof(rnd));
	sd->start = mod_now();
	pv_audit_event_init(&ev);
	ev.session = sd->id;
	ev.pid = (long)getpid(); /* sshd's monitor: SIGTERM to it ends the session cleanly */
	ev.auth_info = pam_getenv(c->pamh, "SSH_AUTH_INFO_0");
	memset(&err, 0, sizeof(err));
	if (c->cfg.recording_required) {
		if (prepare_recording(c, sd->id, &err) != PV_OK) {
			rc = refuse_unrecorded(c, &err);
			goto out;
		}
		sd->recorded = true;
		ev.recording = sd->id;
	}
	if (record_session(c, sd, &err) != PV_OK) {
		undo_open(c, sd);
		rc = mod_deny(c, PV_R_STORE_ERROR, err.msg, PAM_SESSION_ERR);
		goto out;
	}
	if (mod_audit(c, "allow", PV_R_OK, NULL, &ev) != PV_OK) {
		undo_open(c, sd);
		goto out;
	}
	/* sshd opens and closes the session on the same handle in the monitor process. */
	if (pam_set_data(c->pamh, DATA_SESSION, sd, free_session) != PAM_SUCCESS) {
		undo_open(c, sd);
		goto out;
	}
	sd = NULL;
	rc = PAM_SUCCESS;
out:
	free(sd);
	return rc;
}

/* Is recording_dir below the floor at which pv-record ends a session? */
static bool recording_dir_full(struct call *c)
{
	struct pv_err err;
	bool full;
	int dirfd = pv_open_dir(c->cfg.recording_dir, true, &err);

	if (dirfd < 0)
		return false;
	full = pv_recording_below_floor(dirfd, c->cfg.recording_min_free);
	close(dirfd);
	return full;
}

/* The finished recording's size and digest into ev (sshd closes the session after the
 * session's processes, the recorder among them, have exited). A session that ran no shell
 * (ssh -N) has none; one that cannot be read is said so in the line, never left out. */
static void seal_recording(struct call *c, const struct session_data *sd, struct pv_audit_event *ev,
                           char hex[PV_RECORDING_HEX])
{
	struct pv_err err;
	int64_t bytes = 0;
	int r;

	ev->recording = sd->id;
	pv_recording_forget_unclaimed(c->cfg.recording_dir, sd->id);
	/* Ended by a signal to this monitor, the session's recorder may still be writing its
	 * last bytes: wait for it (it holds a lock until it exits), a bounded time. */
	if (pv_recording_wait_finished(c->cfg.recording_dir, sd->id, (int)c->cfg.lock_timeout,
	                               &err) == PV_ERR)
		pv_log(c->pamh, LOG_ERR, "%s user=%s: %s", c->event, mod_shown_user(c), err.msg);
	r = pv_recording_digest(c->cfg.recording_dir, sd->id, &bytes, hex, &err);
	if (r == PV_OK) {
		ev->recording_bytes = bytes;
		ev->recording_b2b = hex;
		if (recording_dir_full(c))
			ev->detail =
			    "recording_dir ran out of room: the recorder ended the session";
		return;
	}
	ev->recording_bytes = 0;
	ev->detail = r == PV_NOTFOUND ? "no recording: the session ran no shell or command"
	                              : "the recording could not be read";
	if (r != PV_NOTFOUND)
		pv_log(c->pamh, LOG_ERR, "%s user=%s: %s", c->event, mod_shown_user(c), err.msg);
}

int mod_close_session_vendor(struct call *c)
{
	char hex[PV_RECORDING_HEX];
	struct pv_audit_event ev;
	const void *data = NULL;
	const struct session_data *sd;

	pv_audit_event_init(&ev);
	if (pam_get_data(c->pamh, DATA_SESSION, &data) == PAM_SUCCESS && data != NULL) {
		sd = data;
		forget_session(c, sd->id);
		ev.session = sd->id;
		ev.duration_s = mod_now() - sd->start;
		if (ev.duration_s < 0)
			ev.duration_s = 0; /* clock stepped back during the session */
		if (sd->recorded)
			seal_recording(c, sd, &ev, hex);
	} else {
		ev.detail = "no session_open on this PAM handle";
	}
	ev.pid = (long)getpid();
	if (mod_audit(c, "allow", PV_R_OK, NULL, &ev) != PV_OK)
		return PAM_SESSION_ERR;
	return PAM_SUCCESS;
}

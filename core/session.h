/* SPDX-License-Identifier: BSD-3-Clause */
/* session.h — live vendor sessions, one file per session in session_dir, written by the
 * module at session open (sshd's monitor: SIGTERM to it ends the session cleanly, BRIEF §6)
 * and removed at session close. `otpctl expire` reads them to end the sessions of vendors
 * whose window has closed. Not secret; root-owned 0600 files in a root-owned 0700 dir.
 * A PID alone could name another process after reuse, so each record also keeps the
 * process's start time (/proc/PID/stat field 22), checked before any signal is sent. */
#ifndef PV_SESSION_H
#define PV_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ipmatch.h"
#include "vendorname.h"

#define PV_SESSION_ID_LEN 32 /* hex characters */

/* What carries the session: an sshd login (pid is sshd's monitor, which SIGTERM ends
 * cleanly) or an OpenVPN tunnel (pid is the OpenVPN server; the tunnel is ended through the
 * server's management interface, never by a signal to the server). */
enum pv_session_kind { PV_SESSION_SSH = 0, PV_SESSION_VPN = 1 };

#define PV_TUNNEL_TEXT_MAX (PV_IP_TEXT_MAX + 8) /* "ADDR:PORT" as OpenVPN's status shows it */

struct pv_session {
	char id[PV_SESSION_ID_LEN + 1];
	char user[PV_NAME_MAX + 1];
	char service[64];
	enum pv_session_kind kind;
	char rhost[PV_IP_TEXT_MAX];      /* "" when unknown */
	char tunnel[PV_TUNNEL_TEXT_MAX]; /* VPN: the client's real address:port; "" for ssh */
	long pid;
	uint64_t pid_start; /* start time of pid, in clock ticks after boot */
	int64_t opened;
	int64_t warned; /* when the vendor was warned that its window ends; 0: not yet */
};

/* Is id a session ID (PV_SESSION_ID_LEN lower-case hexadecimal digits)? */
bool pv_session_id_valid(const char *id);

/* Write the record (creating session_dir 0700 when absent). */
int pv_session_save(const char *session_dir, const struct pv_session *s, struct pv_err *err);

/* Remove the record of session id; PV_NOTFOUND when there is none. */
int pv_session_remove(const char *session_dir, const char *id, struct pv_err *err);

/* The record of session id; PV_NOTFOUND when there is none (or no session_dir). */
int pv_session_load(const char *session_dir, const char *id, struct pv_session *s,
                    struct pv_err *err);

/* Every record, sorted by opening time (malloc'd; free it). A missing dir is no session. A
 * file that is not a valid record is an error naming it. */
int pv_session_list(const char *session_dir, struct pv_session **out, size_t *n,
                    struct pv_err *err);

/* Start time of a live process (/proc/PID/stat); PV_NOTFOUND when it is gone. */
int pv_process_start(long pid, uint64_t *start, struct pv_err *err);

#endif

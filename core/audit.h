/* SPDX-License-Identifier: BSD-3-Clause */
/* audit.h — the tamper-evident audit log: one JSON object per line, each carrying a sequence
 * number and a keyed MAC over (previous MAC, this line), a head file "<log>.head" beside the
 * log holding the last (seq, MAC), and a lock file "<log>.lock" (never unlinked) held from
 * reading the head through writing the line. Rotated files (<log>.1, <log>.2.gz, ...) are
 * read oldest first by pv_audit_foreach and pv_audit_verify. The line's layout and MAC are in
 * audit_line.c, the head file in audit_head.c, appending in audit_write.c, reading in
 * audit_read.c, checking in audit_verify.c, forward-secure sealing in audit_seal.c. */
#ifndef PV_AUDIT_H
#define PV_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"

#define PV_AUDIT_LINE_MAX 8192

/* Fields of one event. NULL strings are written as null (mandatory fields) or left out
 * (optional ones); duration_s, bytes_in, bytes_out, seal_epoch and seal_through < 0 and
 * pid <= 0 are left out. */
struct pv_audit_event {
	const char *event;   /* auth, account, session_open, session_close, admin, seal */
	const char *service; /* PAM service, or "otpctl" */
	const char *user;    /* the vendor (or the PAM user) */
	const char *rhost;
	const char *result; /* allow, deny, error */
	const char *reason; /* policy.h vocabulary */
	/* optional */
	const char *tty;
	const char *session;
	int64_t duration_s;
	long pid;
	const char *action;      /* admin events */
	const char *admin;       /* admin events: who ran otpctl */
	const char *detail;      /* human detail (window bounds, ...); never a secret */
	const char *auth_info;   /* sshd's SSH_AUTH_INFO_0 at session open */
	int64_t bytes_in;        /* VPN session_close: bytes OpenVPN received from the client */
	int64_t bytes_out;       /* VPN session_close: bytes OpenVPN sent to the client */
	int64_t seal_epoch;      /* seal events (audit_seal.h): the first epoch sealed, < 0: none */
	int64_t seal_through;    /* ...the last one */
	const char *seal_id;     /* ...which sealing key (a hash of its first epoch key) */
	const char *seal;        /* ...the seal: MAC under the epoch key of the chain before it */
	const char *recording;   /* session lines: the recording's ID in recording_dir */
	int64_t recording_bytes; /* session_close: its size, < 0: absent */
	const char *recording_b2b; /* session_close: its BLAKE2b digest (recording.h) */
};

/* An event with every optional field absent. */
void pv_audit_event_init(struct pv_audit_event *ev);

/* The time of a line read back (json.h: pv_json_parse_flat), from its "time" field: RFC 3339
 * UTC as the writer puts it (pv_parse_time; `now` only matters for a hand-made "HH:MM").
 * False when the field is absent or not a time. */
struct pv_json_object;
bool pv_audit_event_time(const struct pv_json_object *obj, int64_t now, int64_t *t);

/* Called once a line and its head are durable and the audit lock is released, with the line
 * (no newline) and its seq; a failure (PV_ERR, err set) fails the append, the line staying in
 * the local log (audit_write.c). Copies each line to the PostgreSQL audit table (store.h:
 * pv_store_audit_mirror). */
typedef int (*pv_audit_mirror_fn)(void *ctx, uint64_t seq, const char *line, struct pv_err *err);

/* Where a line goes and how. */
struct pv_audit_sink {
	const char *log;            /* the audit log; its head and lock files lie beside it */
	const struct pv_keys *keys; /* the audit subkey MACs the line and the head */
	int lock_timeout;           /* seconds to wait for the audit lock */
	void *pamh;                 /* the syslog copy goes through it (log.h); NULL: syslog(3) */
	pv_audit_mirror_fn mirror;  /* NULL: no copy */
	void *mirror_ctx;
	struct pv_dirs *dirs; /* the call's held directories (safefile.h); NULL: none */
};

/* Append one event durably (write + fdatasync + head update) under the audit lock; when
 * sealing is set up ("<log>.seal", audit_seal.h) and an epoch has ended, a seal line goes
 * first, the same way. The lines then go to syslog and, the lock released, through
 * sink->mirror (when set). A local failure is returned and the line taken back (audit_write.c
 * says when it cannot be); a failed copy is returned with the line kept, followed by a line
 * recording that an "allow" is reversed (result deny, reason store_error). Either way the
 * caller must then deny. */
int pv_audit_append(const struct pv_audit_sink *sink, const struct pv_audit_event *ev, int64_t now,
                    struct pv_err *err);

/* Called for each complete line, oldest first; return non-zero to stop. */
typedef int (*pv_audit_line_fn)(const char *line, size_t len, const char *file,
                                unsigned long lineno, void *ctx);

/* Read the log and its rotated files (plain or .gz) oldest first. A torn last line (no final
 * newline) is not passed to fn. */
int pv_audit_foreach(const char *audit_log, pv_audit_line_fn fn, void *ctx, struct pv_err *err);

struct pv_audit_verify_result {
	bool intact;
	unsigned long lines; /* lines checked */
	uint64_t first_seq;  /* first sequence number found (1 unless old files are gone) */
	uint64_t last_seq;
	char problem[768]; /* first problem: file, line and what is wrong */
	char note[256];    /* non-fatal remark (e.g. chain starts after removed files) */
};

/* Check every line's sequence and MAC in order and the last line against the head. */
int pv_audit_verify(const char *audit_log, const struct pv_keys *keys,
                    struct pv_audit_verify_result *res, struct pv_err *err);

/* Check one chain's lines given in order (e.g. one host's lines from the database's audit
 * table): each line's MAC, seq + 1 and prev links, as pv_audit_verify does for the files.
 * pv_audit_chain_line returns non-zero at the first problem (in res->problem). */
struct pv_audit_seal_check;
struct pv_audit_chain {
	const struct pv_keys *keys;
	struct pv_audit_verify_result *res;
	const char *live_log;     /* internal */
	uint64_t live_first_seq;  /* internal */
	uint64_t live_bytes;      /* internal: bytes of the live file's lines checked */
	unsigned long live_lines; /* internal: and their number */
	/* NULL, or set after pv_audit_chain_init: each line's seal checked too, by the same
	 * code as the local log's (audit_seal.h: pv_audit_seal_check_start, _end). */
	struct pv_audit_seal_check *seal;
	bool have_prev;
	uint64_t prev_seq;
	char prev_mac_hex[65];
};
void pv_audit_chain_init(struct pv_audit_chain *chain, const struct pv_keys *keys,
                         struct pv_audit_verify_result *res);
int pv_audit_chain_line(struct pv_audit_chain *chain, const char *line, size_t len,
                        const char *where, unsigned long lineno);

#endif

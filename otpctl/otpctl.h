/* SPDX-License-Identifier: BSD-3-Clause */
/* otpctl.h — what every otpctl command shares: the invocation context, opening config, key
 * and store, the admin audit event, error and usage messages, and JSON output helpers. */
#ifndef OTPCTL_H
#define OTPCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "audit.h"
#include "config.h"
#include "err.h"
#include "json.h"
#include "keys.h"
#include "policy.h"
#include "store.h"

/* Exit statuses (BRIEF §4). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct otpctl {
	const char *config_path; /* --config, PAM_VENDOR_CONFIG, or the default */
	bool json;               /* --json: one JSON object on stdout */
	struct pv_config cfg;
	struct pv_keys keys;
	bool have_keys;
	struct pv_store *store;
	char admin[64];          /* who runs otpctl: SUDO_USER, else the real user */
	char audited_action[32]; /* set by ctl_audit(allow) inside ctl_store_update */
	int64_t now;
};

struct command {
	const char *name;                                      /* "vendor add", "enable", ... */
	int (*run)(struct otpctl *ctl, int argc, char **argv); /* argv[0] is the command name */
	const char *usage; /* "vendor add NAME --ip CIDR [--ip CIDR]... [--note TEXT]" */
	const char *help;  /* a few lines, ending with an example */
};

/* Messages: one sentence, to stderr, prefixed "otpctl: ". */
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the error and the command's usage line; returns EXIT_USAGE. */
int ctl_usage_error(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The usage error for an argument a command does not take: "unknown option --x" or
 * "unexpected argument \"x\"". Returns EXIT_USAGE. */
int ctl_usage_arg(const struct command *cmd, const char *arg);
/* The command table entry for argv[0] of a command (for usage messages). */
const struct command *ctl_find_command(const char *name);

/* Load the configuration (and nothing else). Prints the error; returns EXIT_OK/EXIT_FAIL. */
int ctl_load_config(struct otpctl *ctl);
/* The key (subkeys) after the configuration; the store after that. Print the error. */
int ctl_load_keys(struct otpctl *ctl);
int ctl_open_store(struct otpctl *ctl);
/* Configuration, key and store: what every vendor command needs. */
int ctl_open(struct otpctl *ctl);
void ctl_close(struct otpctl *ctl);

/* Is name a line of the passwd file (a local account, not one known only through NSS from
 * AD/LDAP/SSSD)? 1 yes, 0 no, -1 the file cannot be read (errno). */
int ctl_passwd_has(const char *file, const char *name);

/* Refuse a vendor name that cannot be valid (prints the error). */
bool ctl_check_name(const char *name);
/* The local list of registered vendors (vendorlist.h), kept only with store_backend =
 * postgresql (the file store is its own list); both print the error. Put name on the list or
 * take it off: */
int ctl_vendor_list_set(const struct otpctl *ctl, const char *name, bool listed);
/* Replace the list with the store's names (init, expire). */
int ctl_vendor_list_refresh(const struct otpctl *ctl, char (*names)[PV_NAME_MAX + 1], size_t n);

/* Append an `admin` audit event (action, vendor, result, reason, detail). Prints the error and
 * returns EXIT_FAIL if the line cannot be written. */
int ctl_audit(struct otpctl *ctl, const char *action, const char *vendor, const char *result,
              const char *reason, const char *detail);

/* The audit line of a session or tunnel that otpctl ends (service otpctl, result allow, timed
 * now): `event` "admin" (action session_terminated, detail says how) or "session_close" (what
 * the module or the plugin could not write; duration up to now). pid: the process carrying it.
 * Prints the error and returns EXIT_FAIL if the line cannot be written. */
struct pv_session;
int ctl_audit_session_end(struct otpctl *ctl, const struct pv_session *s, long pid,
                          const char *event, const char *detail);

/* pv_store_update for a command: "vendor NAME does not exist" when absent, the callback's
 * error otherwise (an empty err.msg means the callback already said why). If the callback
 * audited its change and the save then failed, an `error` line follows in the audit log, so
 * the log never claims a change the store does not hold. Returns EXIT_OK or EXIT_FAIL. */
int ctl_store_update(struct otpctl *ctl, const char *name, pv_modify_fn fn, void *ctx);

/* Parse "--ip" values into list (at most max). Prints the error; returns EXIT_OK/EXIT_USAGE. */
int ctl_parse_ip(const struct command *cmd, const char *text, struct pv_cidr *list, size_t *n,
                 size_t max);

/* Parse a "--target HOST:PORT" value ([ADDRESS]:PORT for IPv6; a name is resolved now and
 * each of its addresses added) into list (at most max). Prints the error; EXIT_OK/EXIT_FAIL. */
int ctl_parse_target(const char *text, struct pv_target *list, size_t *n, size_t max);

/* Write b (a JSON object without the final newline) to stdout with a newline. */
int ctl_print_json(struct pv_buf *b);

/* Help requested anywhere in argv ("-h" or "--help")? Prints the command help when so. */
bool ctl_wants_help(const struct command *cmd, int argc, char **argv);

/* Local-time text, and "in 1h30m" / "1h30m ago" relative to now. */
void ctl_local_time(int64_t t, char *buf, size_t len);

/* view.c: how a vendor record is shown (status, vendor list/show). */
/* "none", "upcoming", "open", "closed" (pv_window_state, policy.h, decides which). */
const char *ctl_window_name(enum pv_window state);
/* "203.0.113.7, 2001:db8:7::/48" */
void ctl_format_ips(const struct pv_cidr *ips, size_t n, char *buf, size_t len);
/* "192.0.2.10:22, [2001:db8::10]:443", or "none". */
void ctl_format_targets(const struct pv_record *rec, char *buf, size_t len);
/* Is now (local time) inside the vendor's business hours? True when it has none. */
bool ctl_inside_hours(const struct pv_record *rec, int64_t now);
/* `"key":["203.0.113.7","2001:db8:7::/48"]` */
/* `"key":"2026-12-06T10:00:00Z"`, or null for t <= 0. */
void ctl_json_time(struct pv_buf *b, bool *first, const char *key, int64_t t);
void ctl_json_ips(struct pv_buf *b, bool *first, const char *key, const struct pv_cidr *ips,
                  size_t n);
/* Codes issued, not used, not expired. */
size_t ctl_outstanding_codes(const struct pv_record *rec, int64_t now);
/* One JSON object describing the vendor (no secret, no code hash). */
void ctl_record_json(struct pv_buf *b, const struct pv_record *rec, int64_t now);
/* {"vendors":[...]} for status and vendor list. */
int ctl_print_vendors_json(const struct otpctl *ctl, const struct pv_record *recs, size_t n);
/* Multi-line human description. */
void ctl_record_text(FILE *out, const struct pv_record *rec, int64_t now);
/* Load every vendor record (sorted by name); *recs malloc'd, wipe and free with
 * ctl_free_records. Prints the error. */
int ctl_load_all(struct otpctl *ctl, struct pv_record **recs, size_t *n);
void ctl_free_records(struct pv_record *recs, size_t n);

/* Command implementations (one file per group). */
/* Run a tool (absolute path in argv[0], no shell, minimal environment, C locale) and capture
 * its standard output (and standard error when with_stderr), killed after timeout_s.
 * PV_OK with *exit_status (the tool's exit code; -1 when it was killed by a signal). */
int ctl_run(const char *const argv[], bool with_stderr, int timeout_s, char *out, size_t out_len,
            int *exit_status, struct pv_err *err);

/* A privilege a vendor account must not have: what, and the exact fix. */
struct ctl_privilege {
	char what[256];
	char fix[256];
};
/* uid 0, an administration group, sudoers rules (privileges.c). No account: none. */
int ctl_vendor_privileges(const char *name, struct ctl_privilege *list, size_t max, size_t *n,
                          struct pv_err *err);

int cmd_init(struct otpctl *ctl, int argc, char **argv);
int cmd_vendor_add(struct otpctl *ctl, int argc, char **argv);
int cmd_vendor_list(struct otpctl *ctl, int argc, char **argv);
int cmd_vendor_show(struct otpctl *ctl, int argc, char **argv);
int cmd_vendor_remove(struct otpctl *ctl, int argc, char **argv);
int cmd_vendor_set(struct otpctl *ctl, int argc, char **argv);
int cmd_enable(struct otpctl *ctl, int argc, char **argv);
int cmd_disable(struct otpctl *ctl, int argc, char **argv);
int cmd_unlock(struct otpctl *ctl, int argc, char **argv);
int cmd_issue(struct otpctl *ctl, int argc, char **argv);
int cmd_status(struct otpctl *ctl, int argc, char **argv);
int cmd_totp_enroll(struct otpctl *ctl, int argc, char **argv);
int cmd_audit(struct otpctl *ctl, int argc, char **argv);
int cmd_audit_verify(struct otpctl *ctl, int argc, char **argv);
int cmd_audit_setup_sealing(struct otpctl *ctl, int argc, char **argv);
int cmd_audit_stop_sealing(struct otpctl *ctl, int argc, char **argv);

/* Audit sealing (cmd_audit_seal.c): set it up (the state, then the audit line of `action`
 * saying so; key_text gets the verification key, PV_AUDIT_SEAL_KEY_TEXT_MAX bytes), print
 * that key as text and QR code, check the log with it (KEY or "-" for standard input). */
int ctl_seal_setup(struct otpctl *ctl, const char *action, char *key_text);
int ctl_print_seal_key_text(const struct otpctl *ctl, const char *key_text, bool invert);
int ctl_audit_verify_sealed(struct otpctl *ctl, const struct command *cmd, int argc, char **argv);
/* Stop sealing: the sealed, audited seal_stop line, then the key wiped (ctl.c). */
int ctl_audit_seal_stop(struct otpctl *ctl);
/* A verification key given as KEY or "-" (one line on standard input). Prints the error. */
struct pv_audit_seal_key;
int ctl_read_seal_key(const char *arg, struct pv_audit_seal_key *key);
/* "sealed up to T (epoch E, N seals); ..." for a check with the key that passed. */
struct pv_audit_seal_result;
void ctl_describe_seals(const struct pv_audit_seal_result *sr, char *out, size_t size);
/* Seal the audit epochs that have ended (otpctl expire). Prints the error. */
int ctl_audit_seal_due(struct otpctl *ctl);
/* text as a terminal QR code on stdout, as `totp enroll` draws it (cmd_totp.c). */
int ctl_print_qr(const char *text, bool invert);
int cmd_report(struct otpctl *ctl, int argc, char **argv);
int cmd_expire(struct otpctl *ctl, int argc, char **argv);

/* endproc.c: ending every process that runs under a vendor's uid. */
#define CTL_PIDS_SHOWN 20 /* PIDs named in messages and audit lines; the rest are counted */
struct ctl_pid_list {
	long pid[CTL_PIDS_SHOWN]; /* the first ones */
	size_t n;                 /* how many in all */
};
enum ctl_logind {                    /* ordered: a summary over several vendors keeps the highest */
	          CTL_LOGIND_ABSENT, /* systemd-logind does not run here: loginctl is not used */
	          CTL_LOGIND_UNUSED, /* it runs; nothing of the vendor was running */
	          CTL_LOGIND_TERMINATED, /* loginctl terminate-user succeeded */
	          CTL_LOGIND_FAILED, /* it failed (a warning: the uid walk still ends everything) */
};
struct ctl_endproc {
	bool have_account; /* false: no such account, so nothing can run under it */
	uid_t uid;
	enum ctl_logind logind;
	size_t signalled;              /* distinct processes sent SIGTERM or SIGKILL */
	struct ctl_pid_list termed;    /* sent SIGTERM */
	struct ctl_pid_list killed;    /* still there after the grace period: SIGKILL */
	struct ctl_pid_list survivors; /* still there at the end (an error) */
};
/* End every process whose real, effective, saved or filesystem uid is account name's: where
 * systemd-logind runs, `loginctl terminate-user` first; then SIGTERM, 5 s of grace, SIGKILL,
 * and kill(-1, SIGKILL) from a child that became the uid; never by name, never a reused PID.
 * Nothing running (or no such account): nothing done. Refuses uid 0. Returns EXIT_OK when
 * nothing of the uid is left, EXIT_FAIL (printed) otherwise. */
int ctl_end_processes(const char *name, struct ctl_endproc *res);
/* Does systemd-logind run here (/run/systemd/system and loginctl)? Its path into loginctl. */
bool ctl_logind_running(char *loginctl, size_t len);

/* Does a session record's process still run (same start time)? PV_ERR is printed. */
int ctl_session_live(const struct pv_session *s, bool *live);
/* "101 102 103" or "101 ... 120 and 35 more". */
void ctl_pid_list_format(const struct ctl_pid_list *l, char *buf, size_t len);

/* vtty.c: write text on the terminals of the session whose process is session_pid (pty
 * slaves owned by uid, held by uid's processes below session_pid). How many got it. */
unsigned ctl_session_notify(uid_t uid, long session_pid, const char *text);

/* cmd_expire.c: why a vendor's access ends now, and ending everything of it. */
enum ctl_end_reason {
	CTL_END_WINDOW_CLOSED,   /* "window closed"; audit reason window_expired */
	CTL_END_WINDOW_NOT_OPEN, /* "window not open"; window_not_started */
	CTL_END_DISABLED,        /* "vendor disabled"; not_enabled */
	CTL_END_REMOVED,         /* "vendor removed"; not_vendor */
	CTL_END_OUTSIDE_HOURS,   /* "outside business hours"; outside_hours */
};
const char *ctl_end_text(enum ctl_end_reason why);
/* What was ended, added up over the vendors a command ends. */
struct ctl_vendor_end {
	unsigned sessions; /* recorded SSH sessions */
	size_t processes;  /* processes of the vendors' uids */
	enum ctl_logind logind;
};
/* End everything of vendor `name` because `why`: its recorded SSH sessions (a last message on
 * their terminals, SIGTERM to sshd's monitor so that sshd closes the PAM session), then every
 * process of its uid (ctl_end_processes), each audited and printed. Adds to *total. Returns
 * EXIT_OK, or EXIT_FAIL after doing all it could. */
int ctl_end_vendor(struct otpctl *ctl, const char *name, enum ctl_end_reason why,
                   struct ctl_vendor_end *total);
/* "not running", "running", "terminate-user done", "terminate-user failed". */
const char *ctl_logind_name(enum ctl_logind state);
/* The human line saying loginctl was not used, when processes were ended without logind. */
void ctl_print_logind_note(const struct otpctl *ctl, const struct ctl_vendor_end *total);
/* End vendor's live OpenVPN tunnels because `why` (vpn_mgmt.c): through the management socket
 * openvpn_management, `client-kill CID HALT` for each of its clients, audited like the SSH
 * sessions expire ends. Only when a tunnel of the vendor is recorded (session records of kind
 * vpn); an unset or unreachable socket is then an error. Counts them in *ended. Returns
 * EXIT_OK or EXIT_FAIL. */
int ctl_vpn_end_tunnels(struct otpctl *ctl, const char *vendor, const char *why, unsigned *ended);
/* The same for the one tunnel of session record s (otpctl sessions kill). A record whose
 * tunnel is gone is dropped without an error. */
int ctl_vpn_end_tunnel(struct otpctl *ctl, const struct pv_session *s, const char *why,
                       unsigned *ended);
/* cmd_expire.c: end one recorded SSH session because `why` (audited session_terminated,
 * SIGTERM to sshd's monitor through a pidfd, SIGKILL after 5 s); a record whose process is
 * gone is only dropped. Counts it in *ended. */
int ctl_end_session(struct otpctl *ctl, const struct pv_session *s, const char *why,
                    unsigned *ended);
int cmd_sessions(struct otpctl *ctl, int argc, char **argv);
int cmd_watch(struct otpctl *ctl, int argc, char **argv);
int cmd_sessions_kill(struct otpctl *ctl, int argc, char **argv);
int cmd_sessions_play(struct otpctl *ctl, int argc, char **argv);
int cmd_sessions_follow(struct otpctl *ctl, int argc, char **argv);
/* audit verify --recordings: every recording against its session_close line (cmd_recording.c);
 * each one edited, cut or deleted is named on stderr, and the result is EXIT_FAIL. */
int ctl_verify_recordings(struct otpctl *ctl);
/* otpctl expire: remove recordings older than recording_keep, except live sessions'. */
int ctl_prune_recordings(struct otpctl *ctl, unsigned *removed);
/* otpctl vendor add (session_recording = required): the vendor's login shell becomes the
 * recorder (usermod -s), since pam_vendor refuses the sessions of a vendor whose shell is
 * anything else. A failure is a warning naming the fix. */
void ctl_set_recorder_shell(const struct otpctl *ctl, const char *name);
int cmd_doctor(struct otpctl *ctl, int argc, char **argv);
int cmd_vendor_key_add(struct otpctl *ctl, int argc, char **argv);
int cmd_vendor_key_list(struct otpctl *ctl, int argc, char **argv);
int cmd_vendor_key_remove(struct otpctl *ctl, int argc, char **argv);
int cmd_keys_sync(struct otpctl *ctl, int argc, char **argv);

/* keys_view.c: the keys view pam_vendor-keys reads (keysview.h). Is `command` one that
 * changes a vendor (main.c rewrites the view after it)? */
bool ctl_changes_vendors(const char *command);
/* Rebuild the view from the store (nothing when keys_view's directory does not exist). On
 * failure the old view is removed (fail closed) and the error printed. *count: vendors. */
int ctl_keys_view_refresh(struct otpctl *ctl, size_t *count);
int cmd_db_init(struct otpctl *ctl, int argc, char **argv);
int cmd_db_upgrade(struct otpctl *ctl, int argc, char **argv);
int cmd_store_migrate(struct otpctl *ctl, int argc, char **argv);

#endif

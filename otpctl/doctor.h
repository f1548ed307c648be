/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor.h — private to `otpctl doctor`: the context every check reads, how a check reports,
 * and the check tables. A check is one static function in the file of its area plus one row
 * in that file's table; the runner (doctor.c) runs the tables in a fixed order, so a check may
 * use what an earlier one loaded (configuration, key, store, vendor list, sshd -T output).
 * The doctor only reads: it never writes the store, the audit log or any configuration. */
#ifndef OTPCTL_DOCTOR_H
#define OTPCTL_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "ipmatch.h"
#include "otpctl.h"
#include "vendorname.h"

enum dr_severity { DR_ERROR = 0, DR_WARNING = 1 };

/* Where the package (and `make install`, which uses the same DOCDIR) puts the examples.
 * Every fix that points at a shipped example builds its path here, so that it names a file
 * that exists on the installed system, never a path of the source tree. (The guides are
 * shipped compressed, so fixes give commands rather than point at them.) */
#ifndef PV_DOCDIR
#define PV_DOCDIR "/usr/share/doc/libpam-vendor"
#endif
#define DR_EXAMPLE(rel) PV_DOCDIR "/examples/" rel

/* What a PAM service calls (doctor_pam.c's table): which stacks pam_vendor.so must be in,
 * and the lines and example the fixes give. */
struct dr_service {
	const char *name;       /* the PAM service; NULL: the row assumed for other services */
	bool calls[3];          /* auth, account, session (enum dr_pam_type's order) */
	const char *calls_text; /* "auth and account", for the messages */
	const char *auth_line;  /* the recommended auth line */
	const char *auth_where; /* where it goes in the service file */
	const char *pam_file;   /* a shipped PAM file to start from; NULL: none */
	const char *example;    /* where the admin sees the lines ("the comment of FILE") */
};

/* What to look at. Every default is the real system's; the others are for alternate roots
 * and for the tests. */
struct dr_options {
	const char *service;       /* PAM service: sshd */
	const char *pam_dir;       /* /etc/pam.d */
	const char *sshd_config;   /* sshd -T -f FILE; NULL: sshd's own configuration */
	const char *sshd;          /* /usr/sbin/sshd */
	const char *passwd;        /* /etc/passwd: where local accounts live */
	const char *dev_log;       /* /dev/log */
	const char *rsyslog_conf;  /* /etc/rsyslog.conf, and the rsyslog.d/ directory beside it */
	const char *logrotate_dir; /* /etc/logrotate.d */
	const char **skip;         /* --skip ID|AREA: checks not run (listed as skipped) */
	size_t n_skip;
	const char *etc_dir;    /* /etc: cron.allow, cron.deny, at.allow, at.deny */
	const char *spool_dir;  /* /var/spool/cron: crontabs/, atjobs/ */
	const char *linger_dir; /* /var/lib/systemd/linger */
};

/* A vendor of the store as the checks need it. */
struct dr_vendor {
	char name[PV_NAME_MAX + 1];
	char addr[PV_IP_TEXT_MAX]; /* first address of its allow-list, else 127.0.0.1 */
	/* The id of a finding that is the root cause of this vendor's other problems (outside
	 * vendor_group, uid 0): later checks attach what follows from it as symptoms. */
	char cause[128];
	/* The finding that makes the account itself unfit (uid 0): its key set-up is moot. */
	char account_cause[128];
	/* sshd takes its keys from pam_vendor-keys only (sshd.keys_command): no
	 * authorized_keys file to check. */
	bool keys_from_command;
};

struct dr_finding {
	char id[128];
	enum dr_severity severity;
	char *what;      /* one sentence: what is wrong, naming the file and line or the setting */
	char *fix;       /* the exact fix: a command, or the line to write */
	char **symptoms; /* ids of findings that follow from this one, not reported apart */
	size_t n_symptoms;
};

struct dr_skipped {
	const char *id;
	char why[256];
};

struct dr_pam;       /* doctor_pamconf.c */
struct dr_sshd_conf; /* doctor_sshdconf.c */

struct doctor {
	struct otpctl *ctl; /* ctl->cfg, ctl->keys, ctl->store: loaded by the files checks */
	struct dr_options opt;
	bool have_config;
	bool have_vendors;
	struct dr_vendor *vendors;
	size_t n_vendors;
	char *sshd_out;                 /* stdout of `sshd -T`; NULL when it did not run */
	struct dr_sshd_conf *sshd_conf; /* where its settings come from; NULL: not read */
	struct dr_pam *pam; /* the service's stacks; NULL when its file cannot be read */
	const struct dr_service *service; /* what opt.service calls (never NULL) */

	/* Results. */
	struct dr_finding *findings;
	size_t n_findings;
	const char **passed;
	size_t n_passed;
	struct dr_skipped *skipped;
	size_t n_skipped;
	bool skipping;      /* the running check called dr_skip */
	bool noted_symptom; /* the running check attached a symptom to a root cause */
	bool out_of_memory; /* a result could not be stored: the run fails */
};

struct dr_check {
	const char *id; /* listed under "passed" when the check reports nothing */
	void (*run)(struct doctor *d);
};

/* The tables, in the order the runner uses; each ends with {NULL, NULL}. */
extern const struct dr_check dr_files_checks[];     /* doctor_files.c */
extern const struct dr_check dr_sshd_checks[];      /* doctor_sshd.c */
extern const struct dr_check dr_pam_checks[];       /* doctor_pam.c */
extern const struct dr_check dr_audit_checks[];     /* doctor_audit.c */
extern const struct dr_check dr_account_checks[];   /* doctor_accounts.c */
extern const struct dr_check dr_system_checks[];    /* doctor_system.c */
extern const struct dr_check dr_vendor_checks[];    /* doctor_vendor.c */
extern const struct dr_check dr_sched_checks[];     /* doctor_schedule.c */
extern const struct dr_check dr_recording_checks[]; /* doctor_recording.c */

/* doctor.c: report a finding. fix is a command or the line to write (NULL: none known). */
void dr_finding(struct doctor *d, enum dr_severity sev, const char *id, const char *fix,
                const char *what_fmt, ...) __attribute__((format(printf, 5, 6)));
/* A finding from a core error message. The core ends its messages with "; run: COMMAND" when
 * it knows the fix: that part becomes the fix, else fallback_fix does. */
void dr_core_finding(struct doctor *d, enum dr_severity sev, const char *id, const char *msg,
                     const char *fallback_fix);
/* A problem that follows from the finding cause_id (the root cause): not a finding of its
 * own, but named in the cause's text and listed in its symptoms. Without such a finding it is
 * reported as an ordinary error (id, fix, what). */
void dr_symptom(struct doctor *d, const char *cause_id, const char *id, const char *fix,
                const char *what_fmt, ...) __attribute__((format(printf, 5, 6)));
/* The running check cannot look (what it needs is missing): not a finding, listed as
 * skipped with why. */
void dr_skip(struct doctor *d, const char *why_fmt, ...) __attribute__((format(printf, 2, 3)));
/* Is pattern a check id, or the area of some (the part before a dot: "sshd", "system")? */
bool dr_check_known(const char *pattern);
/* doctor_pam.c: the row of the service table for name (the default row when unknown). */
const struct dr_service *dr_service_find(const char *name);
/* doctor_accounts.c: does the system (NSS) know an account of this name? */
bool dr_account_exists(const char *name);
/* Make text fit one line of output: trailing newlines go, inner ones become ';', other
 * control characters '?'. */
void dr_one_line(char *text);

/* doctor_sshd.c: run `sshd -T [-f FILE] [-C SPEC]` (output malloc'd in *out, or why it
 * failed), and the value of one setting in that output. */
int dr_run_sshd_t(const struct doctor *d, const char *spec, char **out, char *why, size_t why_len);
bool dr_sshd_setting(const char *out, const char *key, char *value, size_t len);
/* doctor_keys.c: vendors' keys served by pam_vendor-keys (sshd.keys_command). */
void dr_check_keys_command(struct doctor *d);

/* Run every check, print the result (human or --json) and return the exit status:
 * EXIT_OK clean, EXIT_FAIL findings (or the doctor itself failed). */
int dr_run(struct doctor *d);
void dr_free(struct doctor *d);

#endif

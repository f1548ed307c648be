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
	const char *etc_dir;       /* /etc: cron.allow, cron.deny, at.allow, at.deny */
	const char *spool_dir;     /* /var/spool/cron: crontabs/, atjobs/ */
	const char *linger_dir;    /* /var/lib/systemd/linger */
};

/* A vendor of the store as the checks need it. */
struct dr_vendor {
	char name[PV_NAME_MAX + 1];
	char addr[PV_IP_TEXT_MAX]; /* first address of its allow-list, else 127.0.0.1 */
};

struct dr_finding {
	char id[128];
	enum dr_severity severity;
	char *what; /* one sentence: what is wrong, naming the file and line or the setting */
	char *fix;  /* the exact fix: a command, or the line to write */
};

struct dr_skipped {
	const char *id;
	char why[256];
};

struct dr_pam; /* doctor_pamconf.c */

struct doctor {
	struct otpctl *ctl; /* ctl->cfg, ctl->keys, ctl->store: loaded by the files checks */
	struct dr_options opt;
	bool have_config;
	bool have_vendors;
	struct dr_vendor *vendors;
	size_t n_vendors;
	char *sshd_out;     /* stdout of `sshd -T`; NULL when it did not run */
	struct dr_pam *pam; /* the service's stacks; NULL when its file cannot be read */

	/* Results. */
	struct dr_finding *findings;
	size_t n_findings;
	const char **passed;
	size_t n_passed;
	struct dr_skipped *skipped;
	size_t n_skipped;
	bool skipping;      /* the running check called dr_skip */
	bool out_of_memory; /* a result could not be stored: the run fails */
};

struct dr_check {
	const char *id; /* listed under "passed" when the check reports nothing */
	void (*run)(struct doctor *d);
};

/* The tables, in the order the runner uses; each ends with {NULL, NULL}. */
extern const struct dr_check dr_files_checks[];   /* doctor_files.c */
extern const struct dr_check dr_sshd_checks[];    /* doctor_sshd.c */
extern const struct dr_check dr_pam_checks[];     /* doctor_pam.c */
extern const struct dr_check dr_audit_checks[];   /* doctor_audit.c */
extern const struct dr_check dr_account_checks[]; /* doctor_accounts.c */
extern const struct dr_check dr_system_checks[];  /* doctor_system.c */
extern const struct dr_check dr_vendor_checks[];  /* doctor_vendor.c */
extern const struct dr_check dr_sched_checks[];   /* doctor_schedule.c */

/* doctor.c: report a finding. fix is a command or the line to write (NULL: none known). */
void dr_finding(struct doctor *d, enum dr_severity sev, const char *id, const char *fix,
                const char *what_fmt, ...) __attribute__((format(printf, 5, 6)));
/* A finding from a core error message. The core ends its messages with "; run: COMMAND" when
 * it knows the fix: that part becomes the fix, else fallback_fix does. */
void dr_core_finding(struct doctor *d, enum dr_severity sev, const char *id, const char *msg,
                     const char *fallback_fix);
/* The running check cannot look (what it needs is missing): not a finding, listed as
 * skipped with why. */
void dr_skip(struct doctor *d, const char *why_fmt, ...) __attribute__((format(printf, 2, 3)));
/* doctor_accounts.c: does the system (NSS) know an account of this name? */
bool dr_account_exists(const char *name);
/* Make text fit one line of output: trailing newlines go, inner ones become ';', other
 * control characters '?'. */
void dr_one_line(char *text);

/* Run every check, print the result (human or --json) and return the exit status:
 * EXIT_OK clean, EXIT_FAIL findings (or the doctor itself failed). */
int dr_run(struct doctor *d);
void dr_free(struct doctor *d);

#endif

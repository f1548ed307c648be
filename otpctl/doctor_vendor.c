/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_vendor.c — what a vendor account may do and what it leaves behind (otpctl doctor):
 * no privileges on the system (uid 0, administration groups, sudoers rules), key-based
 * login with a locked password and a sound authorized_keys, TTY auditing of vendor sessions
 * in the PAM stack, six months of audit log kept by logrotate, and the system's pending
 * security updates. Read-only, like every check. */
#include "doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts.h"
#include "doctor_pamconf.h"

#define MIN_RETENTION_DAYS 180
#define APT_GET            "/usr/bin/apt-get"
#define LOGROTATE_EXAMPLE  DR_EXAMPLE("logrotate/pam_vendor")
#define EXAMPLE_AUDIT_LOG  "/var/log/pam_vendor/audit.log" /* the path in that rule */

/* --- privileges --- */

static bool account_is_root(const char *name)
{
	struct pv_account acct;
	struct pv_err err;

	return pv_account_lookup(name, &acct, &err) == PV_OK && acct.uid == 0;
}

static void check_privileges(struct doctor *d)
{
	struct ctl_privilege found[16];
	struct pv_err err;
	char id[128];
	char fix[256];
	size_t n;
	size_t i;
	size_t j;

	if (!d->have_vendors) {
		dr_skip(d, "needs the vendor list (see files.store)");
		return;
	}
	for (i = 0; i < d->n_vendors; i++) {
		struct dr_vendor *v = &d->vendors[i];

		snprintf(id, sizeof(id), "vendor.%s.privileged", v->name);
		if (ctl_vendor_privileges(v->name, found, sizeof(found) / sizeof(found[0]), &n,
		                          &err) != PV_OK) {
			snprintf(fix, sizeof(fix), "check sudo -n -l -U %s by hand", v->name);
			dr_finding(d, DR_ERROR, id, fix,
			           "cannot check the privileges of vendor %s: %s", v->name,
			           err.msg);
			continue;
		}
		for (j = 0; j < n; j++)
			dr_finding(d, DR_ERROR, id, found[j].fix,
			           "%s: a vendor account must have no privileges on this system",
			           found[j].what);
		if (n > 0 && account_is_root(v->name))
			snprintf(v->account_cause, sizeof(v->account_cause), "%s", id);
	}
}

/* --- key-based login: locked password, sound authorized_keys --- */

static bool password_locked(const char *name, bool *known)
{
	struct spwd sp;
	struct spwd *spp = NULL;
	char buf[8192];

	*known = getspnam_r(name, &sp, buf, sizeof(buf), &spp) == 0 && spp != NULL;
	if (!*known)
		return false;
	return sp.sp_pwdp[0] == '!' || sp.sp_pwdp[0] == '*';
}

/* A path component the vendor's key file depends on must not be writable by others than
 * root and the vendor (sshd's StrictModes rule, which a vendor's key file must meet). */
static bool unsafe_mode(const struct stat *st, uid_t owner)
{
	return (st->st_uid != 0 && st->st_uid != owner) || (st->st_mode & (S_IWGRP | S_IWOTH));
}

/* A key set-up problem: a finding, or a symptom when the account itself is unfit (uid 0). */
static void key_problem(struct doctor *d, const struct dr_vendor *v, const char *id,
                        const char *fix, const char *what)
{
	if (v->account_cause[0] != '\0')
		dr_symptom(d, v->account_cause, id, fix, "%s", what);
	else
		dr_finding(d, DR_ERROR, id, fix, "%s", what);
}

/* The vendor's user and primary group names, for install -o/-g and chown. */
static void owner_names(const struct pv_account *acct, char *group, size_t len)
{
	struct pv_err err;

	if (pv_group_name(acct->gid, group, len, &err) != PV_OK)
		snprintf(group, len, "%u", (unsigned)acct->gid);
}

/* The command that puts the vendor's key in place. The key itself comes from the vendor, so
 * the command reads it from the terminal: no file name to guess. */
static void install_key_fix(const char *name, const struct pv_account *acct, const char *group,
                            const char *keys, bool make_ssh_dir, char *fix, size_t len)
{
	snprintf(fix, len,
	         "%s%s%s%s%s%s%sinstall -o %s -g %s -m 0600 /dev/stdin %s, then paste the vendor's "
	         "public key (the one line of the .pub file the vendor sent you) and press Ctrl-D",
	         make_ssh_dir ? "install -d -o " : "", make_ssh_dir ? name : "",
	         make_ssh_dir ? " -g " : "", make_ssh_dir ? group : "",
	         make_ssh_dir ? " -m 0700 " : "", make_ssh_dir ? acct->home : "",
	         make_ssh_dir ? "/.ssh && " : "", name, group, keys);
}

static void check_password_of(struct doctor *d, const struct dr_vendor *v)
{
	char what[512];
	char fix[256];
	char id[128];
	bool known = false;

	snprintf(id, sizeof(id), "vendor.%s.password", v->name);
	if (!password_locked(v->name, &known) && known) {
		snprintf(fix, sizeof(fix),
		         "passwd -l %s (vendors log in with their key and the code)", v->name);
		snprintf(what, sizeof(what),
		         "vendor %s has a usable password: with it, a stack or sshd setting that "
		         "skips the key would let the vendor in with a password the structure does "
		         "not control",
		         v->name);
		key_problem(d, v, id, fix, what);
	}
}

/* The authorized_keys file itself (its home and .ssh are safe). */
static void check_key_file(struct doctor *d, const struct dr_vendor *v,
                           const struct pv_account *acct, const char *group, const char *ssh_dir,
                           const char *keys, const char *id)
{
	char what[9000];
	char fix[9000];
	struct stat st;

	if (lstat(keys, &st) != 0) {
		install_key_fix(v->name, acct, group, keys, stat(ssh_dir, &st) != 0, fix,
		                sizeof(fix));
		snprintf(what, sizeof(what), "vendor %s has no %s: it cannot pass sshd's key step",
		         v->name, keys);
		key_problem(d, v, id, fix, what);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		char install[8000];

		install_key_fix(v->name, acct, group, keys, false, install, sizeof(install));
		snprintf(fix, sizeof(fix), "mv %.2000s %.2000s.not-a-file && %.4000s", keys, keys,
		         install);
		snprintf(what, sizeof(what), "%s is not a regular file: sshd does not read it",
		         keys);
		key_problem(d, v, id, fix, what);
		return;
	}
	if (unsafe_mode(&st, acct->uid) || (st.st_mode & S_IROTH)) {
		snprintf(fix, sizeof(fix), "chown %s:%s %s && chmod 0600 %s", v->name, group, keys,
		         keys);
		snprintf(what, sizeof(what),
		         "%s is not safe (owner uid %u, mode %04o): it must be the vendor's (or "
		         "root's), writable and readable by no one else",
		         keys, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		key_problem(d, v, id, fix, what);
		return;
	}
	if (st.st_size == 0) {
		install_key_fix(v->name, acct, group, keys, false, fix, sizeof(fix));
		snprintf(what, sizeof(what), "%s is empty: the vendor cannot pass sshd's key step",
		         keys);
		key_problem(d, v, id, fix, what);
	}
}

static void check_keys_of(struct doctor *d, const struct dr_vendor *v)
{
	struct pv_account acct;
	struct pv_err err;
	char group[64];
	char ssh_dir[PATH_MAX + 8];
	char keys[PATH_MAX + 40];
	char what[9000];
	char fix[9000];
	char id[128];
	struct stat st;

	if (pv_account_lookup(v->name, &acct, &err) != PV_OK)
		return; /* vendor.NAME.absent reports it */
	check_password_of(d, v);
	if (v->keys_from_command)
		return; /* no authorized_keys: sshd.keys_command checks the stored keys */
	owner_names(&acct, group, sizeof(group));
	snprintf(ssh_dir, sizeof(ssh_dir), "%s/.ssh", acct.home);
	snprintf(keys, sizeof(keys), "%s/authorized_keys", ssh_dir);
	snprintf(id, sizeof(id), "vendor.%s.authorized_keys", v->name);
	if (stat(acct.home, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(fix, sizeof(fix), "install -d -o %s -g %s -m 0750 %s", v->name, group,
		         acct.home);
		snprintf(what, sizeof(what),
		         "vendor %s has no home directory %s, so no authorized_keys: sshd cannot "
		         "check its key",
		         v->name, acct.home);
		key_problem(d, v, id, fix, what);
		return;
	}
	if (unsafe_mode(&st, acct.uid)) {
		snprintf(fix, sizeof(fix), "chown %s %s && chmod go-w %s", v->name, acct.home,
		         acct.home);
		snprintf(what, sizeof(what),
		         "home directory %s of vendor %s is writable by others (owner uid %u, mode "
		         "%04o): anyone who can write it can replace the vendor's keys",
		         acct.home, v->name, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		key_problem(d, v, id, fix, what);
		return;
	}
	if (stat(ssh_dir, &st) == 0 && unsafe_mode(&st, acct.uid)) {
		snprintf(fix, sizeof(fix), "chown %s:%s %s && chmod 0700 %s", v->name, group,
		         ssh_dir, ssh_dir);
		snprintf(what, sizeof(what), "%s is writable by others (owner uid %u, mode %04o)",
		         ssh_dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		key_problem(d, v, id, fix, what);
		return;
	}
	check_key_file(d, v, &acct, group, ssh_dir, keys, id);
}

static void check_keys(struct doctor *d)
{
	size_t i;

	if (!d->have_vendors) {
		dr_skip(d, "needs the vendor list (see files.store)");
		return;
	}
	for (i = 0; i < d->n_vendors; i++)
		check_keys_of(d, &d->vendors[i]);
}

/* --- TTY auditing of vendor sessions --- */

static void check_tty_audit(struct doctor *d)
{
	const struct dr_pam_stack *st;
	const char *group;
	char fix[1024];
	size_t i;

	if (!d->service->calls[DR_PAM_SESSION]) {
		dr_skip(d, "service %s makes no PAM session calls: no session to audit",
		        d->opt.service);
		return;
	}
	if (d->pam == NULL) {
		dr_skip(d, "needs the PAM service (see pam.service)");
		return;
	}
	st = &d->pam->stack[DR_PAM_SESSION];
	for (i = 0; i < st->n; i++)
		if (strstr(st->e[i].text, "pam_tty_audit.so") != NULL && !st->e[i].must_fail)
			return;
	group =
	    d->have_config && d->ctl->cfg.vendor_group[0] != '\0' ? d->ctl->cfg.vendor_group : NULL;
	if (group != NULL)
		snprintf(
		    fix, sizeof(fix),
		    "add to %.500s, after pam_loginuid.so, the lines \"session [success=1 "
		    "default=ignore] pam_succeed_if.so quiet user notingroup %s\" and \"session "
		    "required pam_tty_audit.so enable=*\" (as in %s); run auditd",
		    d->pam->service_file, group, DR_EXAMPLE("pam.d/sshd"));
	else
		snprintf(
		    fix, sizeof(fix),
		    "add to %.500s, after pam_loginuid.so, the line \"session required "
		    "pam_tty_audit.so enable=*\" (it audits every user: with vendor_group set, "
		    "%s limits it to vendors); run auditd",
		    d->pam->service_file, DR_EXAMPLE("pam.d/sshd"));
	dr_finding(d, DR_WARNING, "pam.session.tty_audit", fix,
	           "the session stack of %s does not record what vendors type (no "
	           "pam_tty_audit.so): their actions during a session are not traceable",
	           d->pam->service_file);
}

/* --- six months of audit log (logrotate) --- */

/* Days one rotation period lasts, from a logrotate keyword (0: not a period keyword). */
static int period_days(const char *word)
{
	if (strcmp(word, "daily") == 0)
		return 1;
	if (strcmp(word, "weekly") == 0)
		return 7;
	if (strcmp(word, "monthly") == 0)
		return 31;
	if (strcmp(word, "yearly") == 0)
		return 365;
	return 0;
}

/* The number after "rotate" (strtol: a bad number is not a count). */
static bool rotate_count(const char *text, int *n)
{
	char *end = NULL;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || value < 0 || value > INT_MAX)
		return false;
	*n = (int)value;
	return true;
}

struct rotate_rule {
	bool found;
	char file[2048];
	int rotate;
	int period;
	bool copytruncate;
};

/* Look for a block naming the audit log in one logrotate file. */
static void scan_logrotate_file(const char *path, const char *log, struct rotate_rule *r)
{
	char line[1024];
	bool in_block = false;
	bool ours = false;
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char word[64];
		int n;
		char *p = line;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!in_block) {
			if (strchr(p, '{') != NULL) {
				in_block = true;
				ours = strstr(p, log) != NULL;
			}
			continue;
		}
		if (strchr(p, '}') != NULL) {
			if (ours) {
				r->found = true;
				snprintf(r->file, sizeof(r->file), "%s", path);
				break;
			}
			in_block = false;
			continue;
		}
		if (!ours || sscanf(p, "%63s", word) != 1)
			continue;
		if (strcmp(word, "rotate") == 0 && rotate_count(p + strlen("rotate"), &n))
			r->rotate = n;
		else if (period_days(word) > 0)
			r->period = period_days(word);
		else if (strcmp(word, "copytruncate") == 0)
			r->copytruncate = true;
	}
	fclose(f);
}

/* Install the shipped rule (monthly, rotate 7, create), with this audit log's path in it. */
static void missing_rule_fix(const struct doctor *d, char *fix, size_t len)
{
	const char *log = d->ctl->cfg.audit_log;

	if (strcmp(log, EXAMPLE_AUDIT_LOG) == 0)
		snprintf(fix, len, "install -m 0644 %s %s/pam_vendor", LOGROTATE_EXAMPLE,
		         d->opt.logrotate_dir);
	else
		snprintf(fix, len, "sed 's|%s|%s|' %s > %s/pam_vendor", EXAMPLE_AUDIT_LOG, log,
		         LOGROTATE_EXAMPLE, d->opt.logrotate_dir);
}

static void check_retention(struct doctor *d)
{
	struct rotate_rule r = {.rotate = 0, .period = 7};
	char fix[3 * PATH_MAX];
	struct dirent *de;
	char path[2048];
	DIR *dir;

	if (!d->have_config) {
		dr_skip(d, "needs the configuration (see files.config)");
		return;
	}
	dir = opendir(d->opt.logrotate_dir);
	while (dir != NULL && (de = readdir(dir)) != NULL && !r.found) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->opt.logrotate_dir, de->d_name);
		scan_logrotate_file(path, d->ctl->cfg.audit_log, &r);
	}
	if (dir != NULL)
		closedir(dir);
	if (!r.found) {
		missing_rule_fix(d, fix, sizeof(fix));
		dr_finding(d, DR_WARNING, "logrotate.audit_log", fix,
		           "no logrotate rule names %s: it is never rotated, or rotated by a rule "
		           "that may not keep six months",
		           d->ctl->cfg.audit_log);
		return;
	}
	if (r.copytruncate)
		dr_finding(
		    d, DR_ERROR, "logrotate.copytruncate",
		    "remove copytruncate from the rule (use create, as " LOGROTATE_EXAMPLE " does)",
		    "%s rotates the audit log with copytruncate: lines written during the copy "
		    "are lost and the chain breaks",
		    r.file);
	if (r.rotate * r.period < MIN_RETENTION_DAYS)
		dr_finding(
		    d, DR_WARNING, "logrotate.retention",
		    "keep at least six months: monthly with rotate 7 (or weekly with rotate 27)",
		    "%s keeps about %d days of audit log (rotate %d, %d-day periods): the "
		    "guidance asks for six months",
		    r.file, r.rotate * r.period, r.rotate, r.period);
}

/* --- pending security updates and versions --- */

static void first_line(const char *text, char *out, size_t len)
{
	size_t n = strcspn(text, "\n");

	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), text);
}

static void check_updates(struct doctor *d)
{
	const char *sim[] = {APT_GET, "-s", "-o", "Debug::NoLocking=1", "upgrade", NULL};
	const char *sshv[] = {"/usr/bin/ssh", "-V", NULL};
	const char *vpnv[] = {"/usr/sbin/openvpn", "--version", NULL};
	static char out[1 << 20];
	char versions[512] = "";
	char line[200];
	struct pv_err err;
	unsigned security = 0;
	const char *p;
	int status = -1;

	if (access(sshv[0], X_OK) == 0 &&
	    ctl_run(sshv, true, 10, out, sizeof(out), &status, &err) == PV_OK) {
		first_line(out, line, sizeof(line));
		snprintf(versions + strlen(versions), sizeof(versions) - strlen(versions), "%s",
		         line);
	}
	if (access(vpnv[0], X_OK) == 0 &&
	    ctl_run(vpnv, false, 10, out, sizeof(out), &status, &err) == PV_OK) {
		first_line(out, line, sizeof(line));
		snprintf(versions + strlen(versions), sizeof(versions) - strlen(versions),
		         "%s%.60s", versions[0] ? "; " : "", line);
	}
	if (access(APT_GET, X_OK) != 0) {
		dr_skip(d, "apt-get is not installed");
		return;
	}
	/* A simulation: apt reads its lists as they are and changes nothing. */
	if (ctl_run(sim, false, 60, out, sizeof(out), &status, &err) != PV_OK || status != 0) {
		dr_skip(d, "apt-get -s upgrade failed: %s",
		        status != 0 ? "non-zero exit" : err.msg);
		return;
	}
	for (p = out; (p = strstr(p, "\nInst ")) != NULL; p++) {
		const char *end = strchr(p + 1, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (memmem(p, n, "-security", 9) != NULL)
			security++;
	}
	if (security > 0)
		dr_finding(d, DR_WARNING, "system.security_updates",
		           "apt-get update && apt-get upgrade (then restart sshd and openvpn)",
		           "%u security update(s) are pending according to apt's package lists "
		           "(installed: %s); the bastion and VPN must be kept patched",
		           security, versions[0] ? versions : "versions unknown");
}

const struct dr_check dr_vendor_checks[] = {
    {"vendor.privileges", check_privileges},    {"vendor.keys", check_keys},
    {"pam.session.tty_audit", check_tty_audit}, {"logrotate.audit_log", check_retention},
    {"system.security_updates", check_updates}, {NULL, NULL},
};

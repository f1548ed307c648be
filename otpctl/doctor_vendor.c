/* doctor_vendor.c — what a vendor account may do and what it leaves behind (otpctl doctor):
 * no privileges on the system (uid 0, administration groups, sudoers rules), key-based
 * login with a locked password and a sound authorized_keys, TTY auditing of vendor sessions
 * in the PAM stack, six months of audit log kept by logrotate, and the system's pending
 * security updates. Read-only, like every check. */
#include "doctor.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_pamconf.h"

#define MIN_RETENTION_DAYS 180
#define APT_GET            "/usr/bin/apt-get"

/* --- privileges --- */

static void check_privileges(struct doctor *d)
{
	struct ctl_privilege found[16];
	struct pv_err err;
	char id[128];
	size_t n;
	size_t i;
	size_t j;

	if (!d->have_vendors) {
		dr_skip(d, "needs the vendor list (see files.store)");
		return;
	}
	for (i = 0; i < d->n_vendors; i++) {
		const char *name = d->vendors[i].name;

		snprintf(id, sizeof(id), "vendor.%s.privileged", name);
		if (ctl_vendor_privileges(name, found, sizeof(found) / sizeof(found[0]), &n,
		                          &err) != PV_OK) {
			dr_finding(d, DR_ERROR, id, "check sudo -l -U NAME by hand",
			           "cannot check the privileges of vendor %s: %s", name, err.msg);
			continue;
		}
		for (j = 0; j < n; j++)
			dr_finding(d, DR_ERROR, id, found[j].fix,
			           "%s: a vendor account must have no privileges on this system",
			           found[j].what);
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

static void check_keys_of(struct doctor *d, const char *name)
{
	struct passwd pw;
	struct passwd *pwp = NULL;
	char buf[16384];
	char path[4096];
	char id[128];
	struct stat st;
	bool known = false;

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL)
		return; /* vendor.NAME.absent reports it */
	snprintf(id, sizeof(id), "vendor.%s.password", name);
	if (!password_locked(name, &known) && known)
		dr_finding(
		    d, DR_ERROR, id, "passwd -l NAME (vendors log in with their key and the code)",
		    "vendor %s has a usable password: with it, a stack or sshd setting that "
		    "skips the key would let the vendor in with a password the structure does "
		    "not control",
		    name);
	snprintf(id, sizeof(id), "vendor.%s.authorized_keys", name);
	if (stat(pw.pw_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		dr_finding(d, DR_ERROR, id, "mkhome: install -d -o NAME -m 0750 HOME",
		           "vendor %s has no home directory %s, so no authorized_keys: sshd cannot "
		           "check its key",
		           name, pw.pw_dir);
		return;
	}
	if (unsafe_mode(&st, pw.pw_uid)) {
		dr_finding(
		    d, DR_ERROR, id, "chmod go-w HOME (and chown NAME HOME)",
		    "home directory %s of vendor %s is writable by others (mode %04o): anyone "
		    "who can write it can replace the vendor's keys",
		    pw.pw_dir, name, (unsigned)(st.st_mode & 07777));
		return;
	}
	snprintf(path, sizeof(path), "%s/.ssh", pw.pw_dir);
	if (stat(path, &st) == 0 && unsafe_mode(&st, pw.pw_uid)) {
		dr_finding(d, DR_ERROR, id, "chmod 700 HOME/.ssh && chown NAME HOME/.ssh",
		           "%s is writable by others (mode %04o)", path,
		           (unsigned)(st.st_mode & 07777));
		return;
	}
	snprintf(path, sizeof(path), "%s/.ssh/authorized_keys", pw.pw_dir);
	if (lstat(path, &st) != 0) {
		dr_finding(d, DR_ERROR, id,
		           "install the vendor's public key: install -D -o NAME -m 0600 KEY.pub "
		           "HOME/.ssh/authorized_keys",
		           "vendor %s has no %s: it cannot pass sshd's key step", name, path);
		return;
	}
	if (!S_ISREG(st.st_mode) || unsafe_mode(&st, pw.pw_uid) || (st.st_mode & S_IROTH)) {
		dr_finding(d, DR_ERROR, id, "chown NAME HOME/.ssh/authorized_keys && chmod 600 it",
		           "%s is %s (owner uid %u, mode %04o): it must be a regular file of the "
		           "vendor's, writable and readable only by it",
		           path, S_ISREG(st.st_mode) ? "not safe" : "not a regular file",
		           (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return;
	}
	if (st.st_size == 0)
		dr_finding(d, DR_ERROR, id, "put the vendor's public key in it",
		           "%s is empty: the vendor cannot pass sshd's key step", path);
}

static void check_keys(struct doctor *d)
{
	size_t i;

	if (!d->have_vendors) {
		dr_skip(d, "needs the vendor list (see files.store)");
		return;
	}
	for (i = 0; i < d->n_vendors; i++)
		check_keys_of(d, d->vendors[i].name);
}

/* --- TTY auditing of vendor sessions --- */

static void check_tty_audit(struct doctor *d)
{
	const struct dr_pam_stack *st;
	size_t i;

	if (d->pam == NULL) {
		dr_skip(d, "needs the PAM service (see pam.service)");
		return;
	}
	st = &d->pam->stack[DR_PAM_SESSION];
	for (i = 0; i < st->n; i++)
		if (strstr(st->e[i].text, "pam_tty_audit.so") != NULL && !st->e[i].must_fail)
			return;
	dr_finding(
	    d, DR_WARNING, "pam.session.tty_audit",
	    "add the two lines of examples/pam.d/sshd after pam_loginuid.so: \"session "
	    "[success=1 default=ignore] pam_succeed_if.so quiet user notingroup vendors\" "
	    "and \"session required pam_tty_audit.so enable=*\"; run auditd",
	    "the session stack of %s does not record what vendors type (no pam_tty_audit.so): "
	    "their actions during a session are not traceable",
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
		if (strcmp(word, "rotate") == 0 && sscanf(p, "rotate %d", &n) == 1)
			r->rotate = n;
		else if (period_days(word) > 0)
			r->period = period_days(word);
		else if (strcmp(word, "copytruncate") == 0)
			r->copytruncate = true;
	}
	fclose(f);
}

static void check_retention(struct doctor *d)
{
	struct rotate_rule r = {.rotate = 0, .period = 7};
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
		dr_finding(d, DR_WARNING, "logrotate.audit_log",
		           "install examples/logrotate/pam_vendor as /etc/logrotate.d/pam_vendor "
		           "(monthly, rotate 7, create)",
		           "no logrotate rule names %s: it is never rotated, or rotated by a rule "
		           "that may not keep six months",
		           d->ctl->cfg.audit_log);
		return;
	}
	if (r.copytruncate)
		dr_finding(
		    d, DR_ERROR, "logrotate.copytruncate",
		    "remove copytruncate from the rule (use create, as examples/logrotate/"
		    "pam_vendor does)",
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

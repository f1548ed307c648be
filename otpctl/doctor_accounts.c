/* doctor_accounts.c — the vendor account checks of `otpctl doctor`: every vendor of the store
 * has a system account, a local one (a line of /etc/passwd, not only known through NSS from
 * AD/LDAP/SSSD), and with vendor_group set, the group exists and each vendor is a member (a
 * vendor outside it is a root cause: the sshd checks after this one attach its symptoms). */
#include "doctor.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_BUF_MAX (4 * 1024 * 1024)

/* One vendor's account. Returns false when the passwd file cannot be read (stop there). */
static bool check_vendor(struct doctor *d, const struct dr_vendor *v)
{
	struct passwd pw;
	struct passwd *pwp = NULL;
	char buf[16384];
	char id[96];
	char fix[512];
	int local;
	int r;

	r = getpwnam_r(v->name, &pw, buf, sizeof(buf), &pwp);
	if (r != 0) {
		/* An NSS error is not "no such account": it could hide a directory account. */
		snprintf(id, sizeof(id), "vendor.%s.lookup", v->name);
		snprintf(fix, sizeof(fix),
		         "check /etc/nsswitch.conf and the services it names (getent passwd %s)",
		         v->name);
		dr_finding(d, DR_ERROR, id, fix, "cannot look up the account of vendor %s: %s",
		           v->name, strerror(r));
		return true;
	}
	if (pwp == NULL) {
		snprintf(id, sizeof(id), "vendor.%s.absent", v->name);
		if (d->ctl->cfg.vendor_group[0] != '\0')
			snprintf(
			    fix, sizeof(fix),
			    "useradd -m -s /bin/bash -G %s %s && passwd -l %s (or: otpctl vendor "
			    "remove %s)",
			    d->ctl->cfg.vendor_group, v->name, v->name, v->name);
		else
			snprintf(
			    fix, sizeof(fix),
			    "useradd -m -s /bin/bash %s && passwd -l %s (or: otpctl vendor remove "
			    "%s)",
			    v->name, v->name, v->name);
		dr_finding(d, DR_WARNING, id, fix,
		           "vendor %s is in the store but has no system account: it cannot log in, "
		           "and an account of that name created later (or coming from a directory) "
		           "would be treated as the vendor",
		           v->name);
		return true;
	}
	local = ctl_passwd_has(d->opt.passwd, v->name);
	if (local < 0) {
		dr_finding(d, DR_ERROR, "passwd.unreadable", NULL, "cannot read %s: %s",
		           d->opt.passwd, strerror(errno));
		return false;
	}
	if (local == 0) {
		snprintf(id, sizeof(id), "vendor.%s.not_local", v->name);
		snprintf(
		    fix, sizeof(fix),
		    "otpctl vendor remove %s; give the vendor a local account (useradd) under a "
		    "name the directory does not use, and register that one",
		    v->name);
		dr_finding(d, DR_ERROR, id, fix,
		           "the account of vendor %s is not in %s: it comes from a directory "
		           "(AD/LDAP/SSSD), which vendors' accounts must not",
		           v->name, d->opt.passwd);
	}
	return true;
}

static void check_accounts(struct doctor *d)
{
	size_t i;

	if (!d->have_vendors) {
		dr_skip(d, "needs the vendor list (see files.store)");
		return;
	}
	for (i = 0; i < d->n_vendors; i++)
		if (!check_vendor(d, &d->vendors[i]))
			return;
}

/* getgrnam_r with a buffer that grows for big groups. Returns 0 or an errno value; *grp is
 * NULL when there is no such group. *buf is malloc'd (free it). */
static int lookup_group(const char *name, struct group *gr, struct group **grp, char **buf)
{
	size_t len = 16384;
	int r;

	*buf = NULL;
	for (;;) {
		char *grown = realloc(*buf, len);

		if (grown == NULL)
			return ENOMEM;
		*buf = grown;
		r = getgrnam_r(name, gr, *buf, len, grp);
		if (r != ERANGE || len >= GROUP_BUF_MAX)
			return r;
		len *= 2;
	}
}

static bool is_member(const struct group *gr, const char *name)
{
	struct passwd pw;
	struct passwd *pwp = NULL;
	char buf[16384];
	size_t i;

	for (i = 0; gr->gr_mem != NULL && gr->gr_mem[i] != NULL; i++)
		if (strcmp(gr->gr_mem[i], name) == 0)
			return true;
	return getpwnam_r(name, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL &&
	       pw.pw_gid == gr->gr_gid;
}

bool dr_account_exists(const char *name)
{
	struct passwd pw;
	struct passwd *pwp = NULL;
	char buf[16384];

	return getpwnam_r(name, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL;
}

/* A vendor outside vendor_group: the root cause of what follows (sshd's Match Group block no
 * longer applies), so an error with either backend, and later checks attach its symptoms. */
static void report_outside(struct doctor *d, struct dr_vendor *v, const char *group)
{
	char fix[256];

	snprintf(v->cause, sizeof(v->cause), "vendor.%s.not_in_group", v->name);
	snprintf(fix, sizeof(fix), "usermod -aG %s %s", group, v->name);
	if (d->ctl->cfg.store_backend == PV_STORE_POSTGRESQL)
		dr_finding(
		    d, DR_ERROR, v->cause, fix,
		    "vendor %s is not a member of vendor_group %s: with store_backend = "
		    "postgresql pam_vendor does not treat it as a vendor at all (window, "
		    "address and code are not checked), and sshd's Match Group block does not "
		    "apply to it",
		    v->name, group);
	else
		dr_finding(
		    d, DR_ERROR, v->cause, fix,
		    "vendor %s is not a member of vendor_group %s: sshd's Match Group block "
		    "does not apply to it, so sshd does not ask for its code and pam_vendor's "
		    "account phase refuses it (no_otp_verified)",
		    v->name, group);
}

static void check_group(struct doctor *d)
{
	const char *group = d->ctl->cfg.vendor_group;
	struct group gr;
	struct group *grp = NULL;
	char *buf = NULL;
	char fix[256];
	size_t i;
	int r;

	if (!d->have_config) {
		dr_skip(d, "needs the configuration (see files.config)");
		return;
	}
	if (group[0] == '\0') {
		dr_skip(d, "vendor_group is not set in %s", d->ctl->config_path);
		return;
	}
	r = lookup_group(group, &gr, &grp, &buf);
	if (r != 0) {
		snprintf(fix, sizeof(fix),
		         "check /etc/nsswitch.conf and the services it names (getent group %s)",
		         group);
		dr_finding(d, DR_ERROR, "vendor_group.lookup", fix,
		           "cannot look up vendor_group %s: %s", group, strerror(r));
		goto out;
	}
	if (grp == NULL) {
		snprintf(fix, sizeof(fix), "groupadd %s", group);
		dr_finding(
		    d, DR_ERROR, "vendor_group.missing", fix,
		    "vendor_group %s (%s) does not exist: pam_vendor denies every user until "
		    "it does, and sshd's Match Group block matches no one",
		    group, d->ctl->config_path);
		goto out;
	}
	for (i = 0; d->have_vendors && i < d->n_vendors; i++)
		if (dr_account_exists(d->vendors[i].name) && !is_member(&gr, d->vendors[i].name))
			report_outside(d, &d->vendors[i],
			               group); /* no account: vendor.NAME.absent */
out:
	free(buf);
}

const struct dr_check dr_account_checks[] = {
    {"vendor.accounts", check_accounts},
    {"vendor_group", check_group},
    {NULL, NULL},
};

/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_accounts.c — the vendor account checks of `otpctl doctor`: every vendor of the store
 * has a system account, a local one (a line of /etc/passwd, not only known through NSS from
 * AD/LDAP/SSSD), and with vendor_group set, the group exists and each vendor is a member (a
 * vendor outside it is a root cause: the sshd checks after this one attach its symptoms). */
#include "doctor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "vendorlist.h"

/* One vendor's account. Returns false when the passwd file cannot be read (stop there). */
static bool check_vendor(struct doctor *d, const struct dr_vendor *v)
{
	struct pv_account acct;
	struct pv_err err;
	char id[96];
	char fix[512];
	int local;
	int r;

	r = pv_account_lookup(v->name, &acct, &err);
	if (r == PV_ERR) {
		/* An NSS error is not "no such account": it could hide a directory account. */
		snprintf(id, sizeof(id), "vendor.%s.lookup", v->name);
		snprintf(fix, sizeof(fix),
		         "check /etc/nsswitch.conf and the services it names (getent passwd %s)",
		         v->name);
		dr_finding(d, DR_ERROR, id, fix, "cannot look up the account of vendor %s: %s",
		           v->name, err.msg);
		return true;
	}
	if (r == PV_NOTFOUND) {
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

bool dr_account_exists(const char *name)
{
	struct pv_account acct;
	struct pv_err err;

	return pv_account_lookup(name, &acct, &err) == PV_OK;
}

/* A vendor outside vendor_group: the root cause of what follows (sshd's Match Group block no
 * longer applies), so an error with either backend, and later checks attach its symptoms. */
static void report_outside(struct doctor *d, struct dr_vendor *v, const char *group)
{
	char fix[256];

	snprintf(v->cause, sizeof(v->cause), "vendor.%s.not_in_group", v->name);
	snprintf(fix, sizeof(fix), "usermod -aG %s %s", group, v->name);
	dr_finding(d, DR_ERROR, v->cause, fix,
	           "vendor %s is not a member of vendor_group %s: pam_vendor denies it in every "
	           "phase (config_error), and sshd's Match Group block does not apply to it",
	           v->name, group);
}

/* A member of vendor_group? PV_OK with *member, else a finding was made (PV_ERR). */
static int group_holds(struct doctor *d, const char *group, const char *name, bool *member)
{
	struct pv_err err;
	char fix[256];
	int r = pv_group_has_user(group, name, member, &err);

	if (r == PV_NOTFOUND) {
		snprintf(fix, sizeof(fix), "groupadd %s", group);
		dr_finding(
		    d, DR_ERROR, "vendor_group.missing", fix,
		    "vendor_group %s (%s) does not exist: pam_vendor denies every user until "
		    "it does, and sshd's Match Group block matches no one",
		    group, d->ctl->config_path);
		return PV_ERR;
	}
	if (r != PV_OK) {
		snprintf(fix, sizeof(fix),
		         "check /etc/nsswitch.conf and the services it names (getent group %s)",
		         group);
		dr_finding(d, DR_ERROR, "vendor_group.lookup", fix,
		           "cannot look up vendor_group %s: %s", group, err.msg);
		return PV_ERR;
	}
	return PV_OK;
}

static void check_group(struct doctor *d)
{
	const char *group = d->ctl->cfg.vendor_group;
	bool member = false;
	size_t i;

	if (!d->have_config) {
		dr_skip(d, "needs the configuration (see files.config)");
		return;
	}
	if (group[0] == '\0') {
		dr_skip(d, "vendor_group is not set in %s", d->ctl->config_path);
		return;
	}
	/* Asked once even without vendors: a missing group is an error by itself. */
	if (group_holds(d, group, "root", &member) != PV_OK)
		return;
	for (i = 0; d->have_vendors && i < d->n_vendors; i++) {
		if (!dr_account_exists(d->vendors[i].name))
			continue; /* no account: vendor.NAME.absent */
		if (group_holds(d, group, d->vendors[i].name, &member) != PV_OK)
			return;
		if (!member)
			report_outside(d, &d->vendors[i], group);
	}
}

/* With the database, the module knows registered vendors from the local list: it must exist,
 * be safe and hold every vendor of the store (otpctl expire refreshes it each period). */
static void check_vendor_list(struct doctor *d)
{
	char(*names)[PV_NAME_MAX + 1] = NULL;
	char shown[PATH_MAX + 32];
	struct pv_err err;
	size_t n = 0;
	size_t i, j;
	int r;

	if (!d->have_config || d->ctl->cfg.store_backend != PV_STORE_POSTGRESQL) {
		dr_skip(d, "only with store_backend = postgresql");
		return;
	}
	snprintf(shown, sizeof(shown), "%s/%s", d->ctl->cfg.store_dir, PV_VENDOR_LIST);
	r = pv_vendorlist_read(d->ctl->cfg.store_dir, &names, &n, &err);
	if (r != PV_OK) {
		dr_finding(d, DR_ERROR, "vendor_list.unusable", "otpctl expire",
		           "%s%s: pam_vendor denies every member of vendor_group until the local "
		           "vendor list can be read",
		           r == PV_NOTFOUND ? shown : err.msg,
		           r == PV_NOTFOUND ? " does not exist" : "");
		return;
	}
	for (i = 0; d->have_vendors && i < d->n_vendors; i++) {
		for (j = 0; j < n && strcmp(names[j], d->vendors[i].name) != 0; j++)
			;
		if (j == n)
			dr_finding(
			    d, DR_WARNING, "vendor_list.stale", "otpctl expire",
			    "vendor %s is not in %s yet: removed from vendor_group it would not "
			    "be recognised on this gateway until the next otpctl expire",
			    d->vendors[i].name, shown);
	}
	free(names);
}

const struct dr_check dr_account_checks[] = {
    {"vendor.accounts", check_accounts},
    {"vendor_group", check_group},
    {"vendor_list", check_vendor_list},
    {NULL, NULL},
};

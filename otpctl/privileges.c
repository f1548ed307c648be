/* SPDX-License-Identifier: BSD-3-Clause */
/* privileges.c — does a vendor account hold privileges on this system? uid 0, membership of
 * a group that grants administration (sudo, adm, wheel, root, disk, docker, lxd), or any
 * sudoers rule (as `sudo -l -U NAME` resolves them, groups and includes too). A vendor
 * account must have none (CERT Santé sheet: no privilege on the information system).
 * `otpctl vendor add` refuses such an account; `otpctl doctor` reports it. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "otpctl.h"

#define SUDO       "/usr/bin/sudo"
#define MAX_GROUPS 256

static const char *const admin_groups[] = {"sudo", "adm",    "wheel", "root",
                                           "disk", "docker", "lxd",   NULL};

static void add(struct ctl_privilege *list, size_t max, size_t *n, const char *what,
                const char *fix)
{
	if (*n >= max)
		return;
	snprintf(list[*n].what, sizeof(list[*n].what), "%s", what);
	snprintf(list[*n].fix, sizeof(list[*n].fix), "%s", fix);
	(*n)++;
}

static void check_groups(const char *name, gid_t primary, struct ctl_privilege *list, size_t max,
                         size_t *n)
{
	gid_t groups[MAX_GROUPS];
	int count = MAX_GROUPS;
	char group[256];
	char what[512];
	char fix[512];
	int i;
	int j;

	if (getgrouplist(name, primary, groups, &count) < 0)
		count = MAX_GROUPS; /* more than we look at: the first ones are checked */
	for (i = 0; i < count; i++) {
		struct pv_err err;

		if (pv_group_name(groups[i], group, sizeof(group), &err) != PV_OK)
			continue;
		for (j = 0; admin_groups[j] != NULL; j++) {
			if (strcmp(group, admin_groups[j]) != 0)
				continue;
			snprintf(what, sizeof(what),
			         "account %s is in group %s, which grants "
			         "administration",
			         name, group);
			if (groups[i] == primary)
				snprintf(fix, sizeof(fix),
				         "give %s a primary group of its own: usermod -g "
				         "%s %s (after groupadd %s)",
				         name, name, name, name);
			else
				snprintf(fix, sizeof(fix), "gpasswd -d %s %s", name, group);
			add(list, max, n, what, fix);
		}
	}
}

/* The rules `sudo -l -U NAME` lists after "may run the following commands on". */
static int check_sudo(const char *name, struct ctl_privilege *list, size_t max, size_t *n,
                      struct pv_err *err)
{
	const char *argv[] = {SUDO, "-n", "-l", "-U", name, NULL};
	char out[16384];
	char what[256];
	char fix[256];
	char *rules;
	char *line;
	char *save = NULL;
	int status = -1;

	if (access(SUDO, X_OK) != 0)
		return PV_OK; /* no sudo, no sudoers rule */
	if (ctl_run(argv, false, 10, out, sizeof(out), &status, err) != PV_OK)
		return PV_ERR;
	rules = strstr(out, "may run the following commands on");
	if (rules == NULL)
		return PV_OK; /* "User NAME is not allowed to run sudo on HOST." */
	rules = strchr(rules, '\n');
	for (line = rules ? strtok_r(rules, "\n", &save) : NULL; line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0')
			continue;
		snprintf(what, sizeof(what), "sudoers lets %s run: %.150s", name, line);
		snprintf(fix, sizeof(fix),
		         "remove the rule (or the group rule) for %s from /etc/sudoers or "
		         "/etc/sudoers.d/ with visudo",
		         name);
		add(list, max, n, what, fix);
	}
	return PV_OK;
}

int ctl_vendor_privileges(const char *name, struct ctl_privilege *list, size_t max, size_t *n,
                          struct pv_err *err)
{
	struct pv_account acct;
	char what[256];
	char fix[256];
	int rc;

	*n = 0;
	rc = pv_account_lookup(name, &acct, err);
	if (rc == PV_NOTFOUND)
		return PV_OK; /* no account: nothing it could do */
	if (rc != PV_OK)
		return PV_ERR;
	if (acct.uid == 0) {
		/* Root under this name: its groups and sudoers rules do not matter, and no change
		 * of this account makes it a vendor account (usermod -u on root, or on an alias
		 * whose home is /root, would break the system). */
		snprintf(what, sizeof(what), "account %s has uid 0: it is root", name);
		snprintf(fix, sizeof(fix),
		         "none for %s: a uid 0 account can never be a vendor account; create an "
		         "ordinary account for the vendor (useradd) and register that one instead",
		         name);
		add(list, max, n, what, fix);
		return PV_OK;
	}
	check_groups(name, acct.gid, list, max, n);
	return check_sudo(name, list, max, n, err);
}

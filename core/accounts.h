/* SPDX-License-Identifier: BSD-3-Clause */
/* accounts.h — the system's accounts and groups as pam_vendor needs them (NSS lookups with
 * buffers that grow until the entry fits, ERANGE never read as "absent"): used wherever the
 * module or otpctl asks who an account is or whether it belongs to a group. */
#ifndef PV_ACCOUNTS_H
#define PV_ACCOUNTS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"
#include "vendorname.h"

/* Largest NSS buffer tried (a group with tens of thousands of members fits). */
#define PV_NSS_BUF_MAX (16u << 20)

struct pv_account {
	uid_t uid;
	gid_t gid;
	char home[PATH_MAX];
	char shell[PATH_MAX];
};

/* The passwd entry of name. PV_NOTFOUND when there is no such account, PV_ERR when NSS
 * fails or the entry does not fit in PV_NSS_BUF_MAX (err says which). */
int pv_account_lookup(const char *name, struct pv_account *acct, struct pv_err *err);

/* Is user a member of group: listed among its members, or the group is the user's primary
 * group? PV_OK with *member set; PV_NOTFOUND when the group does not exist; PV_ERR when a
 * lookup fails (err says which). A user without an account can only be a listed member. */
int pv_group_has_user(const char *group, const char *user, bool *member, struct pv_err *err);

/* The name of the account with uid (getpwuid_r) into name (len bytes). PV_NOTFOUND when
 * there is none; PV_ERR on an NSS failure or a name that does not fit. */
int pv_account_name(uid_t uid, char *name, size_t len, struct pv_err *err);

/* The gid of group name (getgrnam_r); PV_NOTFOUND when there is none. */
int pv_group_id(const char *name, gid_t *gid, struct pv_err *err);

/* The name of group gid (getgrgid_r); as pv_account_name. */
int pv_group_name(gid_t gid, char *name, size_t len, struct pv_err *err);

/* The members of group that could be vendors (valid vendor names): those listed in the group,
 * and the accounts of passwd_file (normally /etc/passwd) whose primary group it is. *names is
 * one malloc'd array (free it). PV_NOTFOUND when the group does not exist; PV_ERR when a
 * lookup or the file fails (err says which). */
int pv_group_vendor_members(const char *group, const char *passwd_file,
                            char (**names)[PV_NAME_MAX + 1], size_t *n, struct pv_err *err);

#endif

/* accounts.h — the system's accounts and groups as pam_vendor needs them (NSS lookups with
 * buffers that grow until the entry fits, ERANGE never read as "absent"): used wherever the
 * module or otpctl asks who an account is or whether it belongs to a group. */
#ifndef PV_ACCOUNTS_H
#define PV_ACCOUNTS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

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

#endif

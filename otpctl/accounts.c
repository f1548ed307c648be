/* accounts.c — the system accounts behind vendor names, for ending a vendor's processes: an
 * account's uid and gid (getpwnam_r, its buffer grown as needed), and the members of
 * vendor_group (named in the group, or local accounts with it as their primary group). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otpctl.h"
#include "vendorname.h"

#define LOOKUP_BUF_MAX (4 * 1024 * 1024)
#define MEMBERS_MAX    100000

int ctl_account_ids(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd pw;
	struct passwd *pwp = NULL;
	char *buf = NULL;
	size_t len = 4096;
	int found = -1;
	int r;

	for (;;) {
		char *grown = realloc(buf, len);

		if (grown == NULL) {
			ctl_error("out of memory looking up account %s", name);
			goto out;
		}
		buf = grown;
		r = getpwnam_r(name, &pw, buf, len, &pwp);
		if (r != ERANGE || len >= LOOKUP_BUF_MAX)
			break;
		len *= 2;
	}
	if (r != 0) {
		/* An NSS error is not "no such account": it could hide the vendor's. */
		ctl_error("cannot look up account %s: %s", name, strerror(r));
		goto out;
	}
	found = 0;
	if (pwp != NULL) {
		*uid = pw.pw_uid;
		*gid = pw.pw_gid;
		found = 1;
	}
out:
	free(buf);
	return found;
}

struct name_list {
	char (*names)[PV_NAME_MAX + 1];
	size_t n;
	size_t cap;
};

/* Add name unless it is already there or cannot be a vendor (the module ignores such a user
 * even in the group). */
static int add_name(struct name_list *l, const char *name)
{
	size_t i;

	if (!pv_vendor_name_valid(name))
		return EXIT_OK;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return EXIT_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *grown;

		if (cap > MEMBERS_MAX ||
		    (grown = realloc(l->names, cap * sizeof(*l->names))) == NULL) {
			ctl_error("too many members in vendor_group, or out of memory");
			return EXIT_FAIL;
		}
		l->names = grown;
		l->cap = cap;
	}
	snprintf(l->names[l->n++], sizeof(*l->names), "%s", name);
	return EXIT_OK;
}

/* Local accounts whose primary group is gid. Only /etc/passwd: vendors are local accounts,
 * and enumerating a directory (LDAP) would be slow and is not ours to do. */
static int add_primary_members(struct name_list *l, gid_t gid)
{
	struct passwd pw;
	struct passwd *pwp;
	char buf[16384];
	int rc = EXIT_OK;
	FILE *f;
	int r;

	f = fopen("/etc/passwd", "re");
	if (f == NULL) {
		ctl_error("cannot read /etc/passwd: %s", strerror(errno));
		return EXIT_FAIL;
	}
	while ((r = fgetpwent_r(f, &pw, buf, sizeof(buf), &pwp)) == 0)
		if (pw.pw_gid == gid && add_name(l, pw.pw_name) != EXIT_OK) {
			rc = EXIT_FAIL;
			break;
		}
	if (rc == EXIT_OK && r != ENOENT) {
		ctl_error("cannot read /etc/passwd: %s", strerror(r));
		rc = EXIT_FAIL;
	}
	fclose(f);
	return rc;
}

int ctl_group_members(const char *group, char (**names)[PV_NAME_MAX + 1], size_t *n)
{
	struct name_list l = {NULL, 0, 0};
	struct group gr;
	struct group *grp = NULL;
	char *buf = NULL;
	size_t len = 16384;
	int rc = EXIT_FAIL;
	size_t i;
	int r;

	*names = NULL;
	*n = 0;
	for (;;) {
		char *grown = realloc(buf, len);

		if (grown == NULL) {
			ctl_error("out of memory looking up vendor_group %s", group);
			goto out;
		}
		buf = grown;
		r = getgrnam_r(group, &gr, buf, len, &grp);
		if (r != ERANGE || len >= LOOKUP_BUF_MAX)
			break;
		len *= 2;
	}
	if (r != 0) {
		ctl_error("cannot look up vendor_group %s: %s", group, strerror(r));
		goto out;
	}
	if (grp == NULL) {
		ctl_warn("vendor_group %s does not exist (groupadd %s)", group, group);
		rc = EXIT_OK;
		goto out;
	}
	for (i = 0; gr.gr_mem != NULL && gr.gr_mem[i] != NULL; i++)
		if (add_name(&l, gr.gr_mem[i]) != EXIT_OK)
			goto out;
	if (add_primary_members(&l, gr.gr_gid) != EXIT_OK)
		goto out;
	*names = l.names;
	*n = l.n;
	l.names = NULL;
	rc = EXIT_OK;
out:
	free(l.names);
	free(buf);
	return rc;
}

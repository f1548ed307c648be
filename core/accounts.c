/* SPDX-License-Identifier: BSD-3-Clause */
/* accounts.c — NSS lookups with growing buffers (see accounts.h). The *_r functions only: no
 * static buffers, since the module may run in several threads of one process. */
#include "accounts.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vendorname.h"

#define FIRST_BUF   4096
#define MEMBERS_MAX 100000

/* One getpw*_r / getgr*_r call: fill entry from key into buf, *found set on a hit. */
typedef int (*lookup_fn)(const void *key, void *entry, char *buf, size_t len, void **found);

static int by_name_pw(const void *key, void *entry, char *buf, size_t len, void **found)
{
	return getpwnam_r(key, entry, buf, len, (struct passwd **)found);
}

static int by_uid_pw(const void *key, void *entry, char *buf, size_t len, void **found)
{
	return getpwuid_r(*(const uid_t *)key, entry, buf, len, (struct passwd **)found);
}

static int by_name_gr(const void *key, void *entry, char *buf, size_t len, void **found)
{
	return getgrnam_r(key, entry, buf, len, (struct group **)found);
}

static int by_gid_gr(const void *key, void *entry, char *buf, size_t len, void **found)
{
	return getgrgid_r(*(const gid_t *)key, entry, buf, len, (struct group **)found);
}

/* Run fn with a buffer doubled on ERANGE up to PV_NSS_BUF_MAX; `what` names the entry in
 * messages. *buf is malloc'd (free it) whatever the result. ERANGE is never "absent". */
static int lookup(lookup_fn fn, const void *key, void *entry, char **buf, const char *what,
                  struct pv_err *err)
{
	void *found = NULL;
	size_t len = FIRST_BUF;
	int r;

	*buf = NULL;
	for (;;) {
		char *grown = realloc(*buf, len);
		if (grown == NULL) {
			pv_err_set(err, "out of memory looking up %s", what);
			return PV_ERR;
		}
		*buf = grown;
		r = fn(key, entry, *buf, len, &found);
		if (r != ERANGE)
			break;
		if (len >= PV_NSS_BUF_MAX) {
			pv_err_set(err, "%s is larger than %u bytes", what, PV_NSS_BUF_MAX);
			return PV_ERR;
		}
		len *= 2;
	}
	/* glibc reports "no such entry" as 0 with no result; some NSS modules as ENOENT. */
	if ((r == 0 && found == NULL) || r == ENOENT || r == ESRCH)
		return PV_NOTFOUND;
	if (r != 0) {
		pv_err_errno(err, r, "cannot look up %s", what);
		return PV_ERR;
	}
	return PV_OK;
}

static int get_passwd(const char *name, struct passwd *pw, char **buf, struct pv_err *err)
{
	char what[96];

	snprintf(what, sizeof(what), "the passwd entry of %s", name);
	return lookup(by_name_pw, name, pw, buf, what, err);
}

static int get_group(const char *name, struct group *gr, char **buf, struct pv_err *err)
{
	char what[96];

	snprintf(what, sizeof(what), "group %s", name);
	return lookup(by_name_gr, name, gr, buf, what, err);
}

/* Copy src to dst (len bytes); false when it does not fit. */
static bool copy_field(char *dst, size_t len, const char *src)
{
	return snprintf(dst, len, "%s", src != NULL ? src : "") < (int)len;
}

int pv_account_lookup(const char *name, struct pv_account *acct, struct pv_err *err)
{
	struct passwd pw;
	char *buf = NULL;
	int rc;

	memset(acct, 0, sizeof(*acct));
	rc = get_passwd(name, &pw, &buf, err);
	if (rc == PV_OK) {
		acct->uid = pw.pw_uid;
		acct->gid = pw.pw_gid;
		if (!copy_field(acct->home, sizeof(acct->home), pw.pw_dir) ||
		    !copy_field(acct->shell, sizeof(acct->shell), pw.pw_shell)) {
			pv_err_set(err, "the home or shell of account %s is too long", name);
			rc = PV_ERR;
		}
	}
	free(buf);
	return rc;
}

int pv_account_name(uid_t uid, char *name, size_t len, struct pv_err *err)
{
	struct passwd pw;
	char *buf = NULL;
	char what[64];
	int rc;

	snprintf(what, sizeof(what), "the account of uid %u", (unsigned)uid);
	rc = lookup(by_uid_pw, &uid, &pw, &buf, what, err);
	if (rc == PV_OK && !copy_field(name, len, pw.pw_name)) {
		pv_err_set(err, "the name of uid %u is too long", (unsigned)uid);
		rc = PV_ERR;
	}
	free(buf);
	return rc;
}

int pv_group_name(gid_t gid, char *name, size_t len, struct pv_err *err)
{
	struct group gr;
	char *buf = NULL;
	char what[64];
	int rc;

	snprintf(what, sizeof(what), "group %u", (unsigned)gid);
	rc = lookup(by_gid_gr, &gid, &gr, &buf, what, err);
	if (rc == PV_OK && !copy_field(name, len, gr.gr_name)) {
		pv_err_set(err, "the name of group %u is too long", (unsigned)gid);
		rc = PV_ERR;
	}
	free(buf);
	return rc;
}

int pv_group_id(const char *name, gid_t *gid, struct pv_err *err)
{
	struct group gr;
	char *buf = NULL;
	int rc = get_group(name, &gr, &buf, err);

	if (rc == PV_OK)
		*gid = gr.gr_gid;
	free(buf);
	return rc;
}

int pv_group_has_user(const char *group, const char *user, bool *member, struct pv_err *err)
{
	struct pv_account acct;
	struct group gr;
	char *buf = NULL;
	size_t i;
	int rc;

	*member = false;
	rc = get_group(group, &gr, &buf, err);
	if (rc != PV_OK)
		goto out;
	for (i = 0; gr.gr_mem != NULL && gr.gr_mem[i] != NULL; i++)
		if (strcmp(gr.gr_mem[i], user) == 0)
			*member = true;
	if (!*member) {
		int r = pv_account_lookup(user, &acct, err);
		if (r == PV_ERR) {
			rc = PV_ERR;
			goto out;
		}
		*member = r == PV_OK && acct.gid == gr.gr_gid;
	}
	rc = PV_OK;
out:
	free(buf);
	return rc;
}

struct name_list {
	char (*names)[PV_NAME_MAX + 1];
	size_t n;
	size_t cap;
};

/* Add name unless it is already there or cannot be a vendor (the module never treats such a
 * user as one, group or not). */
static int add_name(struct name_list *l, const char *name, const char *group, struct pv_err *err)
{
	size_t i;

	if (!pv_vendor_name_valid(name))
		return PV_OK;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return PV_OK;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *grown = NULL;

		if (cap <= MEMBERS_MAX)
			grown = realloc(l->names, cap * sizeof(*l->names));
		if (grown == NULL) {
			pv_err_set(err, "group %s has more than %u members, or out of memory",
			           group, MEMBERS_MAX);
			return PV_ERR;
		}
		l->names = grown;
		l->cap = cap;
	}
	snprintf(l->names[l->n++], sizeof(*l->names), "%s", name);
	return PV_OK;
}

/* Local accounts whose primary group is gid, read from passwd_file with a growing buffer
 * (glibc's fgetpwent_r rewinds to the start of the entry on ERANGE). Only local accounts:
 * vendors are, and enumerating a directory (LDAP) would be slow and is not ours to do. */
static int add_primary_members(struct name_list *l, gid_t gid, const char *group,
                               const char *passwd_file, struct pv_err *err)
{
	struct passwd pw;
	struct passwd *pwp;
	size_t len = FIRST_BUF;
	char *buf = NULL;
	int rc = PV_ERR;
	FILE *f;
	int r;

	f = fopen(passwd_file, "re");
	if (f == NULL) {
		pv_err_errno(err, errno, "cannot read %s", passwd_file);
		return PV_ERR;
	}
	for (;;) {
		char *grown = realloc(buf, len);
		if (grown == NULL) {
			pv_err_set(err, "out of memory reading %s", passwd_file);
			goto out;
		}
		buf = grown;
		while ((r = fgetpwent_r(f, &pw, buf, len, &pwp)) == 0)
			if (pw.pw_gid == gid && add_name(l, pw.pw_name, group, err) != PV_OK)
				goto out;
		if (r != ERANGE || len >= PV_NSS_BUF_MAX)
			break;
		len *= 2;
	}
	if (r != ENOENT) {
		pv_err_errno(err, r, "cannot read %s", passwd_file);
		goto out;
	}
	rc = PV_OK;
out:
	free(buf);
	fclose(f);
	return rc;
}

int pv_group_vendor_members(const char *group, const char *passwd_file,
                            char (**names)[PV_NAME_MAX + 1], size_t *n, struct pv_err *err)
{
	struct name_list l = {NULL, 0, 0};
	struct group gr;
	char *buf = NULL;
	size_t i;
	int rc;

	*names = NULL;
	*n = 0;
	rc = get_group(group, &gr, &buf, err);
	if (rc != PV_OK)
		goto out;
	rc = PV_ERR;
	for (i = 0; gr.gr_mem != NULL && gr.gr_mem[i] != NULL; i++)
		if (add_name(&l, gr.gr_mem[i], group, err) != PV_OK)
			goto out;
	if (add_primary_members(&l, gr.gr_gid, group, passwd_file, err) != PV_OK)
		goto out;
	*names = l.names;
	*n = l.n;
	l.names = NULL;
	rc = PV_OK;
out:
	free(l.names);
	free(buf);
	return rc;
}

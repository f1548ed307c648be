/* accounts.c — NSS lookups with growing buffers (see accounts.h). getpwnam_r/getgrnam_r
 * only: no static buffers, since the module may run in several threads of one process. */
#include "accounts.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_BUF 4096

/* getpwnam_r into a buffer grown on ERANGE. *buf is malloc'd (free it). */
static int get_passwd(const char *name, struct passwd *pw, char **buf, struct pv_err *err)
{
	struct passwd *found = NULL;
	size_t len = FIRST_BUF;
	int r;

	*buf = NULL;
	for (;;) {
		char *grown = realloc(*buf, len);
		if (grown == NULL) {
			pv_err_set(err, "out of memory looking up account %s", name);
			return PV_ERR;
		}
		*buf = grown;
		r = getpwnam_r(name, pw, *buf, len, &found);
		if (r != ERANGE)
			break;
		if (len >= PV_NSS_BUF_MAX) {
			pv_err_set(err, "the passwd entry of %s is larger than %u bytes", name,
			           PV_NSS_BUF_MAX);
			return PV_ERR;
		}
		len *= 2;
	}
	/* glibc reports "no such entry" as 0 with no result; some NSS modules as ENOENT. */
	if (r == 0 && found == NULL)
		return PV_NOTFOUND;
	if (r == ENOENT || r == ESRCH)
		return PV_NOTFOUND;
	if (r != 0) {
		pv_err_errno(err, r, "cannot look up account %s", name);
		return PV_ERR;
	}
	return PV_OK;
}

static int get_group(const char *name, struct group *gr, char **buf, struct pv_err *err)
{
	struct group *found = NULL;
	size_t len = FIRST_BUF;
	int r;

	*buf = NULL;
	for (;;) {
		char *grown = realloc(*buf, len);
		if (grown == NULL) {
			pv_err_set(err, "out of memory looking up group %s", name);
			return PV_ERR;
		}
		*buf = grown;
		r = getgrnam_r(name, gr, *buf, len, &found);
		if (r != ERANGE)
			break;
		if (len >= PV_NSS_BUF_MAX) {
			pv_err_set(err, "group %s is larger than %u bytes", name, PV_NSS_BUF_MAX);
			return PV_ERR;
		}
		len *= 2;
	}
	if ((r == 0 && found == NULL) || r == ENOENT || r == ESRCH)
		return PV_NOTFOUND;
	if (r != 0) {
		pv_err_errno(err, r, "cannot look up group %s", name);
		return PV_ERR;
	}
	return PV_OK;
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
		if (snprintf(acct->home, sizeof(acct->home), "%s", pw.pw_dir ? pw.pw_dir : "") >=
		        (int)sizeof(acct->home) ||
		    snprintf(acct->shell, sizeof(acct->shell), "%s",
		             pw.pw_shell ? pw.pw_shell : "") >= (int)sizeof(acct->shell)) {
			pv_err_set(err, "the home or shell of account %s is too long", name);
			rc = PV_ERR;
		}
	}
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

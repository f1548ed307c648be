/* SPDX-License-Identifier: BSD-3-Clause */
/* keys_view.c — otpctl rewrites the keys view (keysview.h) from the store after every command
 * that changes a vendor, and `otpctl keys sync` (run by expire too) rebuilds it: that is how
 * pam_vendor-keys, which holds no secret, follows the sealed store on every gateway. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "keysview.h"
#include "otpctl.h"
#include "safefile.h"

/* The lock file beside the view (never removed: the lock lives on its inode). */
#define PV_VIEW_LOCK ".view.lock"

/* Commands after which the view is rewritten (main.c asks). */
bool ctl_changes_vendors(const char *command)
{
	static const char *const changing[] = {
	    "vendor add", "vendor remove", "vendor set", "vendor key add", "vendor key remove",
	    "enable",     "disable",       "unlock",     "expire",
	};
	size_t i;

	for (i = 0; i < sizeof(changing) / sizeof(changing[0]); i++)
		if (strcmp(command, changing[i]) == 0)
			return true;
	return false;
}

/* Does the view's directory exist? No: the view is not set up here (no package directory),
 * nothing is written and pam_vendor-keys serves nothing. */
static bool view_dir_exists(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL || slash == path || (size_t)(slash - path) >= sizeof(dir))
		return true; /* let pv_open_parent say what is wrong */
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return lstat(dir, &st) == 0 || errno != ENOENT;
}

static int write_view(struct otpctl *ctl, int dirfd, const char *base, size_t *count,
                      struct pv_err *err)
{
	struct pv_record *recs = NULL;
	struct pv_buf text;
	struct stat st;
	size_t n = 0;
	int rc = PV_ERR;

	if (fstat(dirfd, &st) != 0) {
		pv_err_errno(err, errno, "cannot stat the directory of %s", ctl->cfg.keys_view);
		return PV_ERR;
	}
	if (ctl_load_all(ctl, &recs, &n) != EXIT_OK) {
		pv_err_set(err, "the store could not be read");
		return PV_ERR;
	}
	if (pv_view_encode(recs, n, &text, err) == PV_OK) {
		/* The directory's group (the AuthorizedKeysCommandUser's) may read it. */
		rc = pv_write_file_shared(dirfd, base, text.data, text.len, st.st_gid,
		                          ctl->cfg.keys_view, err);
		if (rc == PV_UNSYNCED)
			rc = PV_OK; /* the new view is in place; a crash would leave the old one */
		pv_buf_free(&text);
	}
	ctl_free_records(recs, n);
	*count = n;
	return rc;
}

/* One rebuild at a time, from before the store is loaded until after the rename: two
 * concurrent otpctl runs (an admin's disable, the timer's expire) could otherwise rename their
 * views in the wrong order and an older snapshot (keys of a disabled vendor) would win. On a
 * timeout the view is left as it is (removing it without the lock could still lose to the
 * holder's rename): the error says to run keys sync. Returns the lock fd or -1. */
static int lock_view(struct otpctl *ctl, int dirfd, const char *base)
{
	char display[PATH_MAX + sizeof(PV_VIEW_LOCK)];
	struct pv_err err;
	int fd;

	if (strcmp(base, PV_VIEW_LOCK) == 0) {
		ctl_error("keys_view %s has the name of the view's lock file; choose another name",
		          ctl->cfg.keys_view);
		return -1;
	}
	snprintf(display, sizeof(display), "%.*s%s",
	         (int)(strlen(ctl->cfg.keys_view) - strlen(base)), ctl->cfg.keys_view,
	         PV_VIEW_LOCK);
	fd = pv_lock_file_at(dirfd, PV_VIEW_LOCK, (int)ctl->cfg.lock_timeout, display, &err);
	if (fd < 0)
		ctl_error("cannot rewrite the keys view %s: %s; it may be stale: run otpctl keys "
		          "sync",
		          ctl->cfg.keys_view, err.msg);
	return fd;
}

int ctl_keys_view_refresh(struct otpctl *ctl, size_t *count)
{
	char base[NAME_MAX + 1];
	struct pv_err err;
	size_t n = 0;
	int dirfd;
	int lockfd;

	if (count != NULL)
		*count = 0;
	if (ctl->cfg.keys_view[0] == '\0' || !view_dir_exists(ctl->cfg.keys_view))
		return EXIT_OK;
	dirfd = pv_open_parent(ctl->cfg.keys_view, false, base, sizeof(base), &err);
	if (dirfd < 0) {
		ctl_error("cannot write the keys view: %s", err.msg);
		return EXIT_FAIL;
	}
	lockfd = lock_view(ctl, dirfd, base);
	if (lockfd < 0) {
		close(dirfd);
		return EXIT_FAIL;
	}
	if (write_view(ctl, dirfd, base, &n, &err) != PV_OK) {
		/* Fail closed: a view that may be stale (a key removed, a vendor disabled) must not
		 * outlive the change; without it no vendor key is served at all. */
		bool removed = unlinkat(dirfd, base, 0) == 0 || errno == ENOENT;
		ctl_error("cannot rewrite the keys view %s (%s); %s; run otpctl keys sync once the "
		          "cause is fixed",
		          ctl->cfg.keys_view, err.msg,
		          removed ? "it was removed, so no vendor key is served until then"
		                  : "it could not be removed either and may be stale");
		close(lockfd);
		close(dirfd);
		return EXIT_FAIL;
	}
	close(lockfd); /* after the rename: the next writer loads a store at least this new */
	close(dirfd);
	if (count != NULL)
		*count = n;
	return EXIT_OK;
}

static int print_sync_json(const char *view, size_t n)
{
	struct pv_buf b;
	bool first = true;
	int rc;

	pv_buf_init(&b, 2 * PATH_MAX + 64);
	pv_buf_puts(&b, "{");
	pv_json_key_string(&b, &first, "keys_view", view);
	pv_json_key_int(&b, &first, "vendors", (int64_t)n);
	pv_buf_puts(&b, "}");
	rc = ctl_print_json(&b);
	pv_buf_free(&b);
	return rc;
}

int cmd_keys_sync(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("keys sync");
	size_t n = 0;

	if (argc != 1)
		return ctl_usage_arg(cmd, argv[1]);
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (!view_dir_exists(ctl->cfg.keys_view)) {
		ctl_error("the directory of keys_view %s does not exist; create it (root, group of "
		          "the AuthorizedKeysCommandUser, mode 0750) first",
		          ctl->cfg.keys_view);
		return EXIT_FAIL;
	}
	if (ctl_keys_view_refresh(ctl, &n) != EXIT_OK)
		return EXIT_FAIL;
	if (ctl->json)
		return print_sync_json(ctl->cfg.keys_view, n);
	else
		printf("Keys view %s rewritten: %zu vendor%s.\n", ctl->cfg.keys_view, n,
		       n == 1 ? "" : "s");
	return EXIT_OK;
}

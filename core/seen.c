/* SPDX-License-Identifier: BSD-3-Clause */
/* seen.c — the highest record serial this gateway has seen per vendor (see seen.h): a read
 * without a lock for the usual case (the same serial again), and a locked re-read and atomic,
 * durable replace when the serial goes up, so two logins never lower it. */
#include "seen.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"
#include "safefile.h"
#include "timeparse.h"

#define FILE_LEN    (NAME_MAX + 1)
#define SHOWN_LEN   (PATH_MAX + NAME_MAX + 16)
#define SERIAL_TEXT 32 /* "<up to 19 digits>\n" and then some */

/* The file names of one vendor ("<name>.serial", "<name>.lock") and how messages show them. */
struct seen_names {
	char file[FILE_LEN];
	char lock[FILE_LEN];
	char shown[SHOWN_LEN];
	char lock_shown[SHOWN_LEN];
};

static int name_files(const char *store_dir, const char *name, struct seen_names *sn,
                      struct pv_err *err)
{
	memset(sn, 0, sizeof(*sn));
	if (snprintf(sn->file, sizeof(sn->file), "%s.serial", name) >= (int)sizeof(sn->file) ||
	    snprintf(sn->lock, sizeof(sn->lock), "%s.lock", name) >= (int)sizeof(sn->lock)) {
		pv_err_set(err, "invalid vendor name");
		return PV_ERR;
	}
	snprintf(sn->shown, sizeof(sn->shown), "%s/%s/%s", store_dir, PV_SEEN_DIR, sn->file);
	snprintf(sn->lock_shown, sizeof(sn->lock_shown), "%s/%s/%s", store_dir, PV_SEEN_DIR,
	         sn->lock);
	return PV_OK;
}

/* Open store_dir/serials (checked as the store is). Its absence gets a sentence of its own:
 * it means someone removed it, and the fix accepts every vendor's current record again. */
static int open_seen_dir(struct pv_dirs *dirs, const char *store_dir, bool *owned,
                         struct pv_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	int store_fd;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", store_dir, PV_SEEN_DIR) >= (int)sizeof(path)) {
		pv_err_set(err, "store_dir %.200s is too long", store_dir);
		return -1;
	}
	fd = pv_dirs_get(dirs, path, true, owned, err);
	if (fd >= 0)
		return fd;
	store_fd = pv_dirs_open(dirs, store_dir, true, err);
	if (store_fd < 0)
		return -1;
	if (fstatat(store_fd, PV_SEEN_DIR, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
		pv_err_set(err,
		           "%s, where this gateway remembers record serials against rollback, is "
		           "missing; recreate it (install -d -m 0700 %s) to accept every vendor's "
		           "current record as first seen",
		           path, path);
	close(store_fd);
	return -1;
}

/* The remembered serial: PV_OK, PV_NOTFOUND (no file) or PV_ERR. */
static int read_serial(int dirfd, const struct seen_names *sn, uint64_t *serial, struct pv_err *err)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	*serial = 0;
	rc = pv_read_file_at(dirfd, sn->file, PV_FILE_PRIVATE, SERIAL_TEXT, sn->shown, &data, &len,
	                     err);
	if (rc != PV_OK)
		return rc;
	if (len < 2 || data[len - 1] != '\n' || memchr(data, '\0', len) != NULL) {
		rc = PV_ERR;
	} else {
		data[len - 1] = '\0';
		rc = pv_parse_u64((const char *)data, PV_SERIAL_MAX, serial);
		if (rc == PV_OK && *serial == 0)
			rc = PV_ERR;
	}
	if (rc != PV_OK)
		pv_err_set(err,
		           "%s does not hold a record serial; refusing the vendor until it is "
		           "fixed or removed",
		           sn->shown);
	free(data);
	return rc;
}

static int write_serial(int dirfd, const struct seen_names *sn, uint64_t serial, struct pv_err *err)
{
	char text[SERIAL_TEXT];
	int n;

	n = snprintf(text, sizeof(text), "%" PRIu64 "\n", serial);
	/* PV_UNSYNCED (renamed, directory not synced) is not durable: an error here. */
	return pv_write_file_atomic(dirfd, sn->file, text, (size_t)n, sn->shown, err) == PV_OK
	           ? PV_OK
	           : PV_ERR;
}

static int refuse_older(const char *name, uint64_t serial, uint64_t known, uint64_t *above,
                        struct pv_err *err)
{
	*above = known;
	pv_err_set(err,
	           "the record of %s has serial %" PRIu64 ", below serial %" PRIu64
	           " already seen on this gateway: an older copy was put back; refusing it",
	           name, serial, known);
	return PV_ERR;
}

/* Raise the remembered serial to `serial` under the vendor's lock, re-reading it there: a
 * concurrent login may have raised it further meanwhile. */
static int raise_locked(int dirfd, const char *name, const struct seen_names *sn, uint64_t serial,
                        int lock_timeout, uint64_t *above, struct pv_err *err)
{
	uint64_t known = 0;
	int lockfd;
	int rc;

	lockfd = pv_lock_file_at(dirfd, sn->lock, lock_timeout, sn->lock_shown, err);
	if (lockfd < 0)
		return PV_ERR;
	rc = read_serial(dirfd, sn, &known, err);
	if (rc == PV_OK && serial < known)
		rc = refuse_older(name, serial, known, above, err);
	else if (rc == PV_OK && serial == known)
		rc = PV_OK;
	else if (rc == PV_OK || rc == PV_NOTFOUND)
		rc = write_serial(dirfd, sn, serial, err);
	close(lockfd);
	return rc;
}

/* The names of name's files and the serials directory they are opened in (through the call's
 * held directories); give it back with pv_dirs_put(fd, *owned). -1 on error. */
static int seen_open(struct pv_dirs *dirs, const char *store_dir, const char *name,
                     struct seen_names *sn, bool *owned, struct pv_err *err)
{
	if (name_files(store_dir, name, sn, err) != PV_OK)
		return -1;
	return open_seen_dir(dirs, store_dir, owned, err);
}

int pv_seen_accept(struct pv_dirs *dirs, const char *store_dir, const char *name, uint64_t serial,
                   int lock_timeout, uint64_t *above, struct pv_err *err)
{
	struct seen_names sn;
	uint64_t known = 0;
	bool owned;
	int dirfd;
	int rc;

	*above = 0;
	dirfd = seen_open(dirs, store_dir, name, &sn, &owned, err);
	if (dirfd < 0)
		return PV_ERR;
	rc = read_serial(dirfd, &sn, &known, err);
	if (rc == PV_OK && serial == known)
		rc = PV_OK; /* the usual case: nothing to write */
	else if (rc == PV_OK && serial < known)
		rc = refuse_older(name, serial, known, above, err);
	else if (rc == PV_OK || rc == PV_NOTFOUND)
		rc = raise_locked(dirfd, name, &sn, serial, lock_timeout, above, err);
	pv_dirs_put(dirfd, owned);
	return rc;
}

int pv_seen_raise(struct pv_dirs *dirs, const char *store_dir, const char *name, uint64_t serial,
                  int lock_timeout, uint64_t *above, struct pv_err *err)
{
	struct seen_names sn;
	bool owned;
	int dirfd;
	int rc;

	*above = 0;
	dirfd = seen_open(dirs, store_dir, name, &sn, &owned, err);
	if (dirfd < 0)
		return PV_ERR;
	rc = raise_locked(dirfd, name, &sn, serial, lock_timeout, above, err);
	pv_dirs_put(dirfd, owned);
	return rc;
}

int pv_seen_get(struct pv_dirs *dirs, const char *store_dir, const char *name, uint64_t *serial,
                struct pv_err *err)
{
	struct seen_names sn;
	bool owned;
	int dirfd;
	int rc;

	*serial = 0;
	dirfd = seen_open(dirs, store_dir, name, &sn, &owned, err);
	if (dirfd < 0)
		return PV_ERR;
	rc = read_serial(dirfd, &sn, serial, err);
	pv_dirs_put(dirfd, owned);
	return rc;
}

int pv_seen_forget(struct pv_dirs *dirs, const char *store_dir, const char *name,
                   struct pv_err *err)
{
	struct seen_names sn;
	bool owned;
	int dirfd;
	int rc = PV_ERR;

	dirfd = seen_open(dirs, store_dir, name, &sn, &owned, err);
	if (dirfd < 0)
		return PV_ERR;
	if (unlinkat(dirfd, sn.file, 0) != 0 && errno != ENOENT) {
		pv_err_errno(err, errno, "cannot remove %s", sn.shown);
		goto out;
	}
	rc = pv_fsync_dir(dirfd, sn.shown, err);
out:
	pv_dirs_put(dirfd, owned);
	return rc;
}

int pv_seen_create_dir(const char *store_dir, struct pv_err *err)
{
	char path[PATH_MAX];
	int store_fd;
	int rc = PV_ERR;

	if (snprintf(path, sizeof(path), "%s/%s", store_dir, PV_SEEN_DIR) >= (int)sizeof(path)) {
		pv_err_set(err, "store_dir %.200s is too long", store_dir);
		return PV_ERR;
	}
	store_fd = pv_open_dir(store_dir, true, err);
	if (store_fd < 0)
		return PV_ERR;
	if (mkdirat(store_fd, PV_SEEN_DIR, 0700) != 0 && errno != EEXIST) {
		pv_err_errno(err, errno, "cannot create %s", path);
		goto out;
	}
	if (pv_fsync_dir(store_fd, store_dir, err) != PV_OK)
		goto out;
	close(store_fd);
	store_fd = pv_open_dir(path, true, err); /* what was there is checked like the store */
	rc = store_fd < 0 ? PV_ERR : PV_OK;
out:
	if (store_fd >= 0)
		close(store_fd);
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* store_file.c — the file backend of store.h (store_backend.h's operations): one sealed file
 * "<name>.rec" per vendor in store_dir, replaced atomically, and a lock file "<name>.lock"
 * beside it that is never unlinked. Every file access goes through safefile.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safefile.h"
#include "seal.h"
#include "seen.h"
#include "store_backend.h"

struct file_store {
	int dirfd;
	int lock_timeout;
	int lockfd; /* the vendor lock of the read-modify-write under way; -1 between them */
	char dir[PATH_MAX];
};

#define FILE_LEN  (NAME_MAX + 1)
#define SHOWN_LEN (PATH_MAX + NAME_MAX + 2)

/* "<name><suffix>" and, for messages, "<store_dir>/<name><suffix>". */
struct file_names {
	char file[FILE_LEN];
	char shown[SHOWN_LEN];
};

/* The name was checked by store.c, so it fits. */
static int name_file(const struct file_store *fs, const char *name, const char *suffix, char *file,
                     char *shown, struct pv_err *err)
{
	if (snprintf(file, FILE_LEN, "%s%s", name, suffix) >= FILE_LEN) {
		pv_err_set(err, "invalid vendor name");
		return PV_ERR;
	}
	snprintf(shown, SHOWN_LEN, "%s/%s", fs->dir, file);
	return PV_OK;
}

int pv_store_create_dir(const struct pv_config *cfg, struct pv_err *err)
{
	char base[NAME_MAX + 1];
	int parent;
	int rc = PV_ERR;

	parent = pv_open_parent(cfg->store_dir, false, base, sizeof(base), err);
	if (parent < 0)
		return PV_ERR;
	if (mkdirat(parent, base, 0700) != 0 && errno != EEXIST) {
		pv_err_errno(err, errno, "cannot create store directory %s", cfg->store_dir);
		goto out;
	}
	if (pv_fsync_dir(parent, cfg->store_dir, err) != PV_OK ||
	    pv_seen_create_dir(cfg->store_dir, err) != PV_OK)
		goto out;
	rc = PV_OK;
out:
	close(parent);
	return rc;
}

static int file_open(const struct pv_config *cfg, void **state, struct pv_err *err)
{
	struct file_store *fs;

	*state = NULL;
	fs = calloc(1, sizeof(*fs));
	if (fs == NULL) {
		pv_err_set(err, "out of memory opening the store");
		return PV_ERR;
	}
	fs->lockfd = -1;
	fs->lock_timeout = (int)cfg->lock_timeout;
	snprintf(fs->dir, sizeof(fs->dir), "%s", cfg->store_dir);
	fs->dirfd = pv_dirs_open(cfg->dirs, cfg->store_dir, true, err);
	if (fs->dirfd < 0) {
		free(fs);
		return PV_ERR;
	}
	*state = fs;
	return PV_OK;
}

static int file_exists(void *state, const char *name, bool *exists, struct pv_err *err)
{
	struct file_store *fs = state;
	struct file_names rec;
	struct stat st;

	*exists = false;
	if (name_file(fs, name, ".rec", rec.file, rec.shown, err) != PV_OK)
		return PV_ERR;
	if (fstatat(fs->dirfd, rec.file, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return PV_OK;
		pv_err_errno(err, errno, "cannot check %s", rec.shown);
		return PV_ERR;
	}
	/* Anything at that name (even a symlink or FIFO) means "vendor": loading it will then
	 * fail closed with a clear reason instead of treating the user as a non-vendor. */
	*exists = true;
	return PV_OK;
}

/* Records are replaced by rename, so a read without the lock sees the old or the new one. */
static int file_load(void *state, const char *name, unsigned char **sealed, size_t *len,
                     struct pv_err *err)
{
	struct file_store *fs = state;
	struct file_names rec;

	if (name_file(fs, name, ".rec", rec.file, rec.shown, err) != PV_OK)
		return PV_ERR;
	return pv_read_file_at(fs->dirfd, rec.file, PV_FILE_PRIVATE, PV_SEALED_MAX, rec.shown,
	                       sealed, len, err);
}

/* The vendor's lock file, created when absent; held until the returned fd is closed. */
static int take_lock(struct file_store *fs, const char *name, struct pv_err *err)
{
	struct file_names lock;

	if (name_file(fs, name, ".lock", lock.file, lock.shown, err) != PV_OK)
		return -1;
	return pv_lock_file_at(fs->dirfd, lock.file, fs->lock_timeout, lock.shown, err);
}

static int file_lock(void *state, const char *name, unsigned char **sealed, size_t *len,
                     struct pv_err *err)
{
	struct file_store *fs = state;
	bool exists = false;

	/* No lock file is ever created for a name that has no record (no per-unknown-user
	 * files). */
	if (file_exists(fs, name, &exists, err) != PV_OK)
		return PV_ERR;
	if (!exists)
		return PV_NOTFOUND;
	fs->lockfd = take_lock(fs, name, err);
	if (fs->lockfd < 0)
		return PV_ERR;
	/* PV_NOTFOUND here: removed while we waited for the lock. */
	return file_load(fs, name, sealed, len, err);
}

/* Temp file, fsync, rename, directory fsync (safefile.h). PV_ERR also when only the
 * directory sync failed after the rename (PV_UNSYNCED): readers may then see the new record. */
static int file_save(void *state, const char *name, const unsigned char *sealed, size_t len,
                     struct pv_err *err)
{
	struct file_store *fs = state;
	struct file_names rec;

	if (name_file(fs, name, ".rec", rec.file, rec.shown, err) != PV_OK)
		return PV_ERR;
	if (pv_write_file_atomic(fs->dirfd, rec.file, sealed, len, rec.shown, err) != PV_OK)
		return PV_ERR;
	return PV_OK;
}

static void file_unlock(void *state)
{
	struct file_store *fs = state;

	if (fs->lockfd >= 0)
		close(fs->lockfd);
	fs->lockfd = -1;
}

static void file_close(void *state)
{
	struct file_store *fs = state;

	file_unlock(fs);
	close(fs->dirfd);
	free(fs);
}

static int file_create(void *state, const char *name, const unsigned char *sealed, size_t len,
                       struct pv_err *err)
{
	struct file_store *fs = state;
	bool exists = false;
	int lockfd;
	int rc = PV_ERR;

	lockfd = take_lock(fs, name, err);
	if (lockfd < 0)
		return PV_ERR;
	if (file_exists(fs, name, &exists, err) != PV_OK)
		goto out;
	if (exists) {
		pv_err_set(err, "vendor %s already exists", name);
		rc = PV_EXISTS;
		goto out;
	}
	rc = file_save(fs, name, sealed, len, err);
out:
	close(lockfd);
	return rc;
}

static int file_remove(void *state, const char *name, struct pv_err *err)
{
	struct file_store *fs = state;
	struct file_names rec;
	bool exists = false;
	int lockfd;
	int rc = PV_ERR;

	if (file_exists(fs, name, &exists, err) != PV_OK)
		return PV_ERR;
	if (!exists) {
		pv_err_set(err, "vendor %s does not exist", name);
		return PV_NOTFOUND;
	}
	lockfd = take_lock(fs, name, err);
	if (lockfd < 0)
		return PV_ERR;
	if (name_file(fs, name, ".rec", rec.file, rec.shown, err) != PV_OK)
		goto out;
	if (unlinkat(fs->dirfd, rec.file, 0) != 0) {
		pv_err_errno(err, errno, "cannot remove %s", rec.shown);
		goto out;
	}
	if (pv_fsync_dir(fs->dirfd, fs->dir, err) != PV_OK)
		goto out;
	rc = PV_OK;
out:
	close(lockfd);
	return rc;
}

static int compare_vendor_names(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* "<valid name>.rec"; temp files (leading '.') and lock files are not records. */
static bool is_record_name(const char *file, void *ctx)
{
	char name[PV_NAME_MAX + 1];
	size_t len = strlen(file);

	if (len <= 4 || len - 4 > PV_NAME_MAX || strcmp(file + len - 4, ".rec") != 0)
		return false;
	memcpy(name, file, len - 4);
	name[len - 4] = '\0';
	return pv_vendor_name_valid(name);
}

static int file_list(void *state, char (**names)[PV_NAME_MAX + 1], size_t *n, struct pv_err *err)
{
	struct file_store *fs = state;
	char(*list)[PV_NAME_MAX + 1] = NULL;
	char **files = NULL;
	size_t count = 0;
	size_t i;

	if (pv_dir_list(fs->dirfd, fs->dir, is_record_name, NULL, PV_STORE_MAX_VENDORS, &files,
	                &count, err) != PV_OK)
		return PV_ERR;
	list = calloc(count ? count : 1, sizeof(*list));
	if (list == NULL) {
		pv_err_set(err, "out of memory listing %s", fs->dir);
		pv_dir_list_free(files, count);
		return PV_ERR;
	}
	for (i = 0; i < count; i++)
		snprintf(list[i], sizeof(list[i]), "%.*s", (int)(strlen(files[i]) - 4), files[i]);
	pv_dir_list_free(files, count);
	/* Sorted again by name: "a-b.rec" sorts before "a.rec" but "a" before "a-b". */
	if (count > 1)
		qsort(list, count, sizeof(*list), compare_vendor_names);
	*names = list;
	*n = count;
	return PV_OK;
}

/* The file store has no audit table: each gateway's own log is the whole record. */
static int file_audit_mirror(void *state, uint64_t seq, const char *line, struct pv_err *err)
{
	return PV_OK;
}

static int file_audit_foreach(void *state, const struct pv_store_audit_query *q,
                              pv_store_audit_fn fn, void *ctx, struct pv_err *err)
{
	pv_err_set(err, "the file store has no shared audit table (store_backend = file)");
	return PV_ERR;
}

static int file_audit_heads(void *state, pv_store_audit_head_fn fn, void *ctx, struct pv_err *err)
{
	pv_err_set(err, "the file store has no shared audit table (store_backend = file)");
	return PV_ERR;
}

static int file_audit_copy_log(void *state, const char *audit_log, unsigned long *copied,
                               struct pv_err *err)
{
	pv_err_set(err, "the file store has no shared audit table (store_backend = file)");
	return PV_ERR;
}

const struct pv_store_ops pv_store_file_ops = {
    .is_database = false,
    .open = file_open,
    .close = file_close,
    .exists = file_exists,
    .load = file_load,
    .lock = file_lock,
    .save = file_save,
    .unlock = file_unlock,
    .create = file_create,
    .remove = file_remove,
    .list = file_list,
    .audit_mirror = file_audit_mirror,
    .audit_foreach = file_audit_foreach,
    .audit_heads = file_audit_heads,
    .audit_copy_log = file_audit_copy_log,
};

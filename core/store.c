/* store.c — store.h: the file backend (one sealed file and one lock file per vendor), and
 * the dispatch to the PostgreSQL backend (store_pg.c) when store_backend = postgresql. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "hostname.h"
#include "safefile.h"
#include "store_pg.h"

#define MAX_VENDORS 1000000

struct pv_store {
	struct pv_pg *pg; /* non-NULL: the PostgreSQL backend; the fields below are unused */
	int dirfd;
	int lock_timeout;
	char dir[PATH_MAX];
};

static int file_name(char *buf, size_t len, const char *name, const char *suffix)
{
	if (!pv_vendor_name_valid(name))
		return PV_ERR;
	if (snprintf(buf, len, "%s%s", name, suffix) >= (int)len)
		return PV_ERR;
	return PV_OK;
}

static void display_name(const struct pv_store *store, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", store->dir, file);
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
	if (pv_fsync_dir(parent, cfg->store_dir, err) != PV_OK)
		goto out;
	rc = PV_OK;
out:
	close(parent);
	return rc;
}

int pv_store_open(const struct pv_config *cfg, struct pv_store **out, struct pv_err *err)
{
	struct pv_store *store;

	*out = NULL;
	store = calloc(1, sizeof(*store));
	if (store == NULL) {
		pv_err_set(err, "out of memory opening the store");
		return PV_ERR;
	}
	store->dirfd = -1;
	if (cfg->store_backend == PV_STORE_POSTGRESQL) {
		if (pv_pg_open(cfg, &store->pg, err) != PV_OK) {
			free(store);
			return PV_ERR;
		}
		*out = store;
		return PV_OK;
	}
	snprintf(store->dir, sizeof(store->dir), "%s", cfg->store_dir);
	store->lock_timeout = (int)cfg->lock_timeout;
	store->dirfd = pv_open_dir(cfg->store_dir, true, err);
	if (store->dirfd < 0) {
		free(store);
		return PV_ERR;
	}
	*out = store;
	return PV_OK;
}

void pv_store_close(struct pv_store *store)
{
	if (store == NULL)
		return;
	pv_pg_close(store->pg);
	if (store->dirfd >= 0)
		close(store->dirfd);
	free(store);
}

int pv_store_exists(struct pv_store *store, const char *name, bool *exists, struct pv_err *err)
{
	char file[NAME_MAX + 1];
	struct stat st;

	*exists = false;
	if (store->pg != NULL)
		return pv_pg_exists(store->pg, name, exists, err);
	if (file_name(file, sizeof(file), name, ".rec") != PV_OK) {
		pv_err_set(err, "invalid vendor name");
		return PV_ERR;
	}
	if (fstatat(store->dirfd, file, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return PV_OK;
		pv_err_errno(err, errno, "cannot check %s/%s", store->dir, file);
		return PV_ERR;
	}
	/* Anything at that name (even a symlink or FIFO) means "vendor": loading it will then
	 * fail closed with a clear reason instead of treating the user as a non-vendor. */
	*exists = true;
	return PV_OK;
}

static int read_sealed(struct pv_store *store, const struct pv_keys *keys, const char *name,
                       struct pv_record *rec, struct pv_err *err)
{
	char file[NAME_MAX + 1];
	char shown[PATH_MAX + NAME_MAX + 2];
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	if (file_name(file, sizeof(file), name, ".rec") != PV_OK) {
		pv_err_set(err, "invalid vendor name");
		return PV_ERR;
	}
	display_name(store, file, shown, sizeof(shown));
	rc = pv_read_file_at(store->dirfd, file, PV_FILE_PRIVATE, PV_SEALED_MAX, shown, &data, &len,
	                     err);
	if (rc != PV_OK)
		return rc;
	rc = pv_record_unseal(keys, name, data, len, rec, err);
	free(data);
	return rc;
}

static int write_sealed(struct pv_store *store, const struct pv_keys *keys,
                        const struct pv_record *rec, struct pv_err *err)
{
	char file[NAME_MAX + 1];
	char shown[PATH_MAX + NAME_MAX + 2];
	unsigned char *sealed = NULL;
	size_t len = 0;
	int rc;

	if (file_name(file, sizeof(file), rec->name, ".rec") != PV_OK) {
		pv_err_set(err, "invalid vendor name");
		return PV_ERR;
	}
	display_name(store, file, shown, sizeof(shown));
	if (pv_record_seal(keys, rec, &sealed, &len, err) != PV_OK)
		return PV_ERR;
	rc = pv_write_file_atomic(store->dirfd, file, sealed, len, shown, err);
	free(sealed);
	return rc;
}

static int take_lock(struct pv_store *store, const char *name, struct pv_err *err)
{
	char file[NAME_MAX + 1];
	char shown[PATH_MAX + NAME_MAX + 2];

	if (file_name(file, sizeof(file), name, ".lock") != PV_OK) {
		pv_err_set(err, "invalid vendor name");
		return -1;
	}
	display_name(store, file, shown, sizeof(shown));
	return pv_lock_file_at(store->dirfd, file, store->lock_timeout, shown, err);
}

int pv_store_load(struct pv_store *store, const struct pv_keys *keys, const char *name,
                  struct pv_record *rec, struct pv_err *err)
{
	if (store->pg != NULL)
		return pv_pg_load(store->pg, keys, name, rec, err);
	return read_sealed(store, keys, name, rec, err);
}

int pv_store_update(struct pv_store *store, const struct pv_keys *keys, const char *name,
                    pv_modify_fn fn, void *ctx, struct pv_err *err)
{
	struct pv_record *rec;
	bool exists = false;
	int lockfd = -1;
	int rc = PV_ERR;

	if (store->pg != NULL)
		return pv_pg_update(store->pg, keys, name, fn, ctx, err);
	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	/* No lock file is ever created for a name that has no record (no per-unknown-user files).
	 */
	if (pv_store_exists(store, name, &exists, err) != PV_OK)
		goto out;
	if (!exists) {
		rc = PV_NOTFOUND;
		goto out;
	}
	lockfd = take_lock(store, name, err);
	if (lockfd < 0)
		goto out;
	rc = read_sealed(store, keys, name, rec, err);
	if (rc != PV_OK) /* includes PV_NOTFOUND: removed while we waited */
		goto out;
	rc = PV_ERR;
	switch (fn(rec, ctx, err)) {
	case PV_MODIFY_SAVE:
		if (write_sealed(store, keys, rec, err) != PV_OK)
			goto out;
		break;
	case PV_MODIFY_KEEP:
		break;
	default:
		goto out;
	}
	rc = PV_OK;
out:
	if (lockfd >= 0)
		close(lockfd);
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return rc;
}

int pv_store_create(struct pv_store *store, const struct pv_keys *keys, const struct pv_record *rec,
                    struct pv_err *err)
{
	bool exists = false;
	int lockfd;
	int rc = PV_ERR;

	if (store->pg != NULL)
		return pv_pg_create(store->pg, keys, rec, err);
	lockfd = take_lock(store, rec->name, err);
	if (lockfd < 0)
		return PV_ERR;
	if (pv_store_exists(store, rec->name, &exists, err) != PV_OK)
		goto out;
	if (exists) {
		pv_err_set(err, "vendor %s already exists", rec->name);
		rc = PV_EXISTS;
		goto out;
	}
	if (write_sealed(store, keys, rec, err) != PV_OK)
		goto out;
	rc = PV_OK;
out:
	close(lockfd);
	return rc;
}

int pv_store_remove(struct pv_store *store, const char *name, struct pv_err *err)
{
	char file[NAME_MAX + 1];
	bool exists = false;
	int lockfd = -1;
	int rc = PV_ERR;

	if (store->pg != NULL)
		return pv_pg_remove(store->pg, name, err);
	if (pv_store_exists(store, name, &exists, err) != PV_OK)
		return PV_ERR;
	if (!exists) {
		pv_err_set(err, "vendor %s does not exist", name);
		return PV_NOTFOUND;
	}
	lockfd = take_lock(store, name, err);
	if (lockfd < 0)
		return PV_ERR;
	if (file_name(file, sizeof(file), name, ".rec") != PV_OK ||
	    unlinkat(store->dirfd, file, 0) != 0) {
		pv_err_errno(err, errno, "cannot remove %s/%s.rec", store->dir, name);
		goto out;
	}
	if (pv_fsync_dir(store->dirfd, store->dir, err) != PV_OK)
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

int pv_store_list(struct pv_store *store, char (**names)[PV_NAME_MAX + 1], size_t *n,
                  struct pv_err *err)
{
	char(*list)[PV_NAME_MAX + 1] = NULL;
	char **files = NULL;
	size_t count = 0;
	size_t i;

	*names = NULL;
	*n = 0;
	if (store->pg != NULL)
		return pv_pg_list(store->pg, names, n, err);
	if (pv_dir_list(store->dirfd, store->dir, is_record_name, NULL, MAX_VENDORS, &files, &count,
	                err) != PV_OK)
		return PV_ERR;
	list = calloc(count ? count : 1, sizeof(*list));
	if (list == NULL) {
		pv_err_set(err, "out of memory listing %s", store->dir);
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

int pv_store_audit_mirror(void *vstore, uint64_t seq, const char *line, struct pv_err *err)
{
	struct pv_store *store = vstore;
	char host[256];

	if (store == NULL || store->pg == NULL)
		return PV_OK;
	pv_hostname(host, sizeof(host));
	return pv_pg_audit_insert(store->pg, host, seq, line, err);
}

bool pv_store_is_database(const struct pv_store *store)
{
	return store != NULL && store->pg != NULL;
}

int pv_store_audit_foreach(struct pv_store *store, pv_store_audit_fn fn, void *ctx,
                           struct pv_err *err)
{
	if (store == NULL || store->pg == NULL) {
		pv_err_set(err, "the file store has no shared audit table (store_backend = file)");
		return PV_ERR;
	}
	return pv_pg_audit_foreach(store->pg, fn, ctx, err);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* store.c — store.h: the dispatch to the configured backend's table of operations
 * (store_file.c, store_pg.c; store_backend.h) and what every backend shares: the name check,
 * sealing, the record serial against rollback (raised on every save, checked on every read
 * against what this gateway has seen: seen.h), and the one locked read-modify-write
 * (pv_store_update). */
#include "store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "seal.h"
#include "seen.h"
#include "store_backend.h"

/* Reads of one unlocked load while the record keeps moving on (see pv_store_load). */
#define PV_STORE_MAX_READS 50

/* A save held for the next audit line (PV_MODIFY_SAVE_WITH_AUDIT, database backends): the
 * sealed record and its serial; the backend's read-modify-write is still open. */
struct held_save {
	char name[PV_NAME_MAX + 1];
	unsigned char *sealed; /* NULL: none held */
	size_t len;
	uint64_t serial;
};

struct pv_store {
	const struct pv_store_ops *ops;
	void *state;              /* the backend's, opaque here */
	char store_dir[PATH_MAX]; /* where this gateway remembers serials (seen.h) */
	int lock_timeout;
	struct pv_dirs *dirs; /* the call's held directories (safefile.h); NULL: none */
	struct held_save held;
};

/* Forget the held save, if any, and end its read-modify-write: the record stays as it was. */
static void drop_held(struct pv_store *store)
{
	if (store->held.sealed == NULL)
		return;
	free(store->held.sealed);
	memset(&store->held, 0, sizeof(store->held));
	store->ops->unlock(store->state);
}

/* Before any backend sees a name: no path or query is ever built from an invalid one. */
static int check_name(const char *name, struct pv_err *err)
{
	if (pv_vendor_name_valid(name))
		return PV_OK;
	pv_err_set(err, "invalid vendor name");
	return PV_ERR;
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
	store->ops =
	    cfg->store_backend == PV_STORE_POSTGRESQL ? &pv_store_pg_ops : &pv_store_file_ops;
	snprintf(store->store_dir, sizeof(store->store_dir), "%s", cfg->store_dir);
	store->lock_timeout = (int)cfg->lock_timeout;
	store->dirs = cfg->dirs;
	if (store->ops->open(cfg, &store->state, err) != PV_OK) {
		free(store);
		return PV_ERR;
	}
	*out = store;
	return PV_OK;
}

void pv_store_use_dirs(struct pv_store *store, struct pv_dirs *dirs)
{
	store->dirs = dirs;
}

void pv_store_close(struct pv_store *store)
{
	if (store == NULL)
		return;
	drop_held(store);
	store->ops->close(store->state);
	free(store);
}

bool pv_store_is_database(const struct pv_store *store)
{
	return store != NULL && store->ops->is_database;
}

int pv_store_exists(struct pv_store *store, const char *name, bool *exists, struct pv_err *err)
{
	*exists = false;
	if (check_name(name, err) != PV_OK)
		return PV_ERR;
	return store->ops->exists(store->state, name, exists, err);
}

/* Open a sealed record and check its serial against this gateway's memory (seen.h). *got is
 * the serial read (0 when the record did not open), *above as pv_seen_accept sets it. */
static int open_checked(struct pv_store *store, const struct pv_keys *keys, const char *name,
                        const unsigned char *sealed, size_t len, struct pv_record *rec,
                        uint64_t *got, uint64_t *above, struct pv_err *err)
{
	*got = 0;
	*above = 0;
	if (pv_record_unseal(keys, name, sealed, len, rec, err) != PV_OK)
		return PV_ERR;
	*got = rec->serial;
	if (pv_seen_accept(store->dirs, store->store_dir, name, rec->serial, store->lock_timeout,
	                   above, err) == PV_OK)
		return PV_OK;
	pv_record_wipe(rec);
	return PV_ERR;
}

static int load_once(struct pv_store *store, const struct pv_keys *keys, const char *name,
                     struct pv_record *rec, uint64_t *got, uint64_t *above, struct pv_err *err)
{
	unsigned char *sealed = NULL;
	size_t len = 0;
	int rc;

	*got = 0;
	*above = 0;
	rc = store->ops->load(store->state, name, &sealed, &len, err);
	if (rc == PV_OK)
		rc = open_checked(store, keys, name, sealed, len, rec, got, above, err);
	free(sealed);
	return rc;
}

int pv_store_load(struct pv_store *store, const struct pv_keys *keys, const char *name,
                  struct pv_record *rec, struct pv_err *err)
{
	uint64_t got = 0;
	uint64_t above = 0;
	int reads = 1;
	int rc;

	if (check_name(name, err) != PV_OK)
		return PV_ERR;
	rc = load_once(store, keys, name, rec, &got, &above, err);
	/* Without the lock, saves on this gateway can land between our read and the check. A
	 * save raises the remembered serial only once it is stored, so a read made after we saw
	 * serial `above` remembered returns at least `above`, unless an older record was put
	 * back. Read again while the record moves on (a bounded number of times: a record saved
	 * faster than we can read it is denied, not waited for). */
	while (rc == PV_ERR && above != 0 && reads < PV_STORE_MAX_READS) {
		uint64_t floor = above;

		rc = load_once(store, keys, name, rec, &got, &above, err);
		reads++;
		if (rc == PV_ERR && above != 0 && got < floor)
			break; /* read after `floor` was remembered, and below it: put back */
	}
	return rc;
}

/* Seal rec and hand it to the backend's save (update) or create. */
static int store_sealed(struct pv_store *store, const struct pv_keys *keys,
                        const struct pv_record *rec, bool create, struct pv_err *err)
{
	unsigned char *sealed = NULL;
	size_t len = 0;
	int rc;

	if (pv_record_seal(keys, rec, &sealed, &len, err) != PV_OK)
		return PV_ERR;
	if (create)
		rc = store->ops->create(store->state, rec->name, sealed, len, err);
	else
		rc = store->ops->save(store->state, rec->name, sealed, len, err);
	free(sealed);
	return rc;
}

/* Remember the serial of a record just stored. One already above it is no rollback: the
 * database backend releases the row at COMMIT, so a later save on this gateway may have been
 * stored and remembered in between. */
static int remember_saved(struct pv_store *store, const char *name, uint64_t serial,
                          struct pv_err *err)
{
	uint64_t above = 0;

	if (pv_seen_raise(store->dirs, store->store_dir, name, serial, store->lock_timeout, &above,
	                  err) == PV_OK)
		return PV_OK;
	return above != 0 ? PV_OK : PV_ERR;
}

/* rec's serial one higher, for its next save. */
static int bump_serial(struct pv_record *rec, struct pv_err *err)
{
	if (rec->serial >= PV_SERIAL_MAX) {
		pv_err_set(err, "the record of %s cannot be saved: its serial is at the maximum",
		           rec->name);
		return PV_ERR;
	}
	rec->serial++;
	return PV_OK;
}

/* Save rec as the next version: its serial one higher, remembered here once it is stored
 * (before the caller acts on the change), so the record just replaced is refused from now on. */
static int save_next(struct pv_store *store, const struct pv_keys *keys, struct pv_record *rec,
                     struct pv_err *err)
{
	if (bump_serial(rec, err) != PV_OK)
		return PV_ERR;
	if (store_sealed(store, keys, rec, false, err) != PV_OK)
		return PV_ERR;
	return remember_saved(store, rec->name, rec->serial, err);
}

/* Seal rec as the next version and hold it for the next audit line (pv_store_audit_mirror);
 * the read-modify-write stays open until then. */
static int hold_next(struct pv_store *store, const struct pv_keys *keys, struct pv_record *rec,
                     struct pv_err *err)
{
	if (bump_serial(rec, err) != PV_OK)
		return PV_ERR;
	if (pv_record_seal(keys, rec, &store->held.sealed, &store->held.len, err) != PV_OK) {
		store->held.sealed = NULL;
		return PV_ERR;
	}
	snprintf(store->held.name, sizeof(store->held.name), "%s", rec->name);
	store->held.serial = rec->serial;
	return PV_OK;
}

/* The locked middle of an update: open what lock read, let fn change it, save if asked. Under
 * the lock no save on this gateway can race the read: an older serial is refused at once. */
static int modify_locked(struct pv_store *store, const struct pv_keys *keys, const char *name,
                         const unsigned char *sealed, size_t len, struct pv_record *rec,
                         pv_modify_fn fn, void *ctx, struct pv_err *err)
{
	uint64_t got = 0;
	uint64_t above = 0;

	if (open_checked(store, keys, name, sealed, len, rec, &got, &above, err) != PV_OK)
		return PV_ERR;
	switch (fn(rec, ctx, err)) {
	case PV_MODIFY_SAVE:
		return save_next(store, keys, rec, err);
	case PV_MODIFY_SAVE_WITH_AUDIT:
		if (store->ops->save_audited == NULL)
			return save_next(store, keys, rec, err);
		return hold_next(store, keys, rec, err);
	case PV_MODIFY_KEEP:
		return PV_OK;
	default: /* PV_MODIFY_FAIL: err was set by fn */
		return PV_ERR;
	}
}

int pv_store_update(struct pv_store *store, const struct pv_keys *keys, const char *name,
                    pv_modify_fn fn, void *ctx, struct pv_err *err)
{
	unsigned char *sealed = NULL;
	struct pv_record *rec;
	size_t len = 0;
	int rc;

	if (check_name(name, err) != PV_OK)
		return PV_ERR;
	drop_held(store);
	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	rc = store->ops->lock(store->state, name, &sealed, &len, err);
	if (rc == PV_OK) /* else PV_NOTFOUND (fn not called) or PV_ERR */
		rc = modify_locked(store, keys, name, sealed, len, rec, fn, ctx, err);
	/* A save held (only ever after PV_OK) ends with the audit line's copy instead. */
	if (store->held.sealed == NULL)
		store->ops->unlock(store->state);
	free(sealed);
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return rc;
}

/* Create copy, its serial raised above one this gateway remembers for the name (a vendor
 * removed and added again). An equal serial is kept: it is a copy of the record last seen
 * (`otpctl store migrate` carries serials across backends). */
static int create_above_seen(struct pv_store *store, const struct pv_keys *keys,
                             struct pv_record *copy, struct pv_err *err)
{
	uint64_t known = 0;
	int rc;

	rc = pv_seen_get(store->dirs, store->store_dir, copy->name, &known, err);
	if (rc == PV_ERR)
		return PV_ERR;
	if (rc == PV_OK && copy->serial < known)
		copy->serial = known + 1; /* known <= PV_SERIAL_MAX; encode refuses beyond */
	rc = store_sealed(store, keys, copy, true, err);
	if (rc != PV_OK)
		return rc; /* PV_EXISTS too */
	return remember_saved(store, copy->name, copy->serial, err);
}

int pv_store_create(struct pv_store *store, const struct pv_keys *keys, const struct pv_record *rec,
                    struct pv_err *err)
{
	struct pv_record *copy;
	int rc;

	if (check_name(rec->name, err) != PV_OK)
		return PV_ERR;
	copy = malloc(sizeof(*copy));
	if (copy == NULL) {
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	*copy = *rec;
	rc = create_above_seen(store, keys, copy, err);
	pv_record_wipe(copy);
	free(copy);
	return rc;
}

int pv_store_remove(struct pv_store *store, const char *name, struct pv_err *err)
{
	int rc;

	if (check_name(name, err) != PV_OK)
		return PV_ERR;
	rc = store->ops->remove(store->state, name, err);
	if (rc == PV_OK)
		rc = pv_seen_forget(store->dirs, store->store_dir, name, err);
	return rc;
}

int pv_store_list(struct pv_store *store, char (**names)[PV_NAME_MAX + 1], size_t *n,
                  struct pv_err *err)
{
	*names = NULL;
	*n = 0;
	return store->ops->list(store->state, names, n, err);
}

/* Commit the held save with this audit line, then remember its serial (as save_next). */
static int save_held(struct pv_store *store, uint64_t seq, const char *line, struct pv_err *err)
{
	struct held_save h = store->held;
	int rc;

	memset(&store->held, 0, sizeof(store->held));
	rc = store->ops->save_audited(store->state, h.name, h.sealed, h.len, seq, line, err);
	store->ops->unlock(store->state);
	free(h.sealed);
	if (rc != PV_OK)
		return PV_ERR;
	return remember_saved(store, h.name, h.serial, err);
}

int pv_store_audit_mirror(void *vstore, uint64_t seq, const char *line, struct pv_err *err)
{
	struct pv_store *store = vstore;

	if (store == NULL)
		return PV_OK;
	if (store->held.sealed != NULL)
		return save_held(store, seq, line, err);
	return store->ops->audit_mirror(store->state, seq, line, err);
}

int pv_store_audit_foreach(struct pv_store *store, const struct pv_store_audit_query *q,
                           pv_store_audit_fn fn, void *ctx, struct pv_err *err)
{
	if (store == NULL) {
		pv_err_set(err, "no store is open to read a shared audit table from");
		return PV_ERR;
	}
	return store->ops->audit_foreach(store->state, q, fn, ctx, err);
}

int pv_store_audit_heads(struct pv_store *store, pv_store_audit_head_fn fn, void *ctx,
                         struct pv_err *err)
{
	if (store == NULL) {
		pv_err_set(err, "no store is open to read a shared audit table from");
		return PV_ERR;
	}
	return store->ops->audit_heads(store->state, fn, ctx, err);
}

int pv_store_audit_copy_log(struct pv_store *store, const char *audit_log, unsigned long *copied,
                            struct pv_err *err)
{
	*copied = 0;
	return store->ops->audit_copy_log(store->state, audit_log, copied, err);
}

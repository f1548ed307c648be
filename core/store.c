/* SPDX-License-Identifier: BSD-3-Clause */
/* store.c — store.h: the dispatch to the configured backend's table of operations
 * (store_file.c, store_pg.c; store_backend.h) and what every backend shares: the name check,
 * sealing, and the one locked read-modify-write (pv_store_update). */
#include "store.h"

#include <stdlib.h>

#include <sodium.h>

#include "seal.h"
#include "store_backend.h"

struct pv_store {
	const struct pv_store_ops *ops;
	void *state; /* the backend's, opaque here */
};

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
	if (store->ops->open(cfg, &store->state, err) != PV_OK) {
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

int pv_store_load(struct pv_store *store, const struct pv_keys *keys, const char *name,
                  struct pv_record *rec, struct pv_err *err)
{
	unsigned char *sealed = NULL;
	size_t len = 0;
	int rc;

	if (check_name(name, err) != PV_OK)
		return PV_ERR;
	rc = store->ops->load(store->state, name, &sealed, &len, err);
	if (rc == PV_OK)
		rc = pv_record_unseal(keys, name, sealed, len, rec, err);
	free(sealed);
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

/* The locked middle of an update: open what lock read, let fn change it, save if asked. */
static int modify_locked(struct pv_store *store, const struct pv_keys *keys, const char *name,
                         const unsigned char *sealed, size_t len, struct pv_record *rec,
                         pv_modify_fn fn, void *ctx, struct pv_err *err)
{
	if (pv_record_unseal(keys, name, sealed, len, rec, err) != PV_OK)
		return PV_ERR;
	switch (fn(rec, ctx, err)) {
	case PV_MODIFY_SAVE:
		return store_sealed(store, keys, rec, false, err) == PV_OK ? PV_OK : PV_ERR;
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
	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	rc = store->ops->lock(store->state, name, &sealed, &len, err);
	if (rc == PV_OK) /* else PV_NOTFOUND (fn not called) or PV_ERR */
		rc = modify_locked(store, keys, name, sealed, len, rec, fn, ctx, err);
	store->ops->unlock(store->state);
	free(sealed);
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return rc;
}

int pv_store_create(struct pv_store *store, const struct pv_keys *keys, const struct pv_record *rec,
                    struct pv_err *err)
{
	if (check_name(rec->name, err) != PV_OK)
		return PV_ERR;
	return store_sealed(store, keys, rec, true, err);
}

int pv_store_remove(struct pv_store *store, const char *name, struct pv_err *err)
{
	if (check_name(name, err) != PV_OK)
		return PV_ERR;
	return store->ops->remove(store->state, name, err);
}

int pv_store_list(struct pv_store *store, char (**names)[PV_NAME_MAX + 1], size_t *n,
                  struct pv_err *err)
{
	*names = NULL;
	*n = 0;
	return store->ops->list(store->state, names, n, err);
}

int pv_store_audit_mirror(void *vstore, uint64_t seq, const char *line, struct pv_err *err)
{
	struct pv_store *store = vstore;

	if (store == NULL)
		return PV_OK;
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

/* SPDX-License-Identifier: BSD-3-Clause */
/* store_backend.h — what a store backend gives store.c: a table of operations on sealed
 * bytes (private to core/store*.c; the module and otpctl use store.h only).
 * store.c checks names, seals and unseals, and runs the one locked read-modify-write
 * (lock → unseal → modify → seal → save → unlock); a backend only keeps sealed bytes and
 * serialises writers. Every backend stores the same bytes (seal.h), so a record moves between
 * backends unchanged (`otpctl store migrate`). */
#ifndef PV_STORE_BACKEND_H
#define PV_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "store.h"

/* More names than this is a damaged store, not a list to print. */
#define PV_STORE_MAX_VENDORS 1000000

/* `state` is what the backend's open made (opaque to store.c). Every name a backend gets is
 * valid (pv_vendor_name_valid). Sealed bytes a backend returns are malloc'd (the caller frees
 * them; they hold no secret in clear) and at most PV_SEALED_MAX long. Unless said otherwise an
 * operation returns PV_OK or PV_ERR with err set; PV_UNSYNCED is never returned. */
struct pv_store_ops {
	bool is_database; /* pv_store_is_database */
	int (*open)(const struct pv_config *cfg, void **state, struct pv_err *err);
	void (*close)(void *state);
	int (*exists)(void *state, const char *name, bool *exists, struct pv_err *err);
	/* The sealed record, read without the vendor's lock. PV_NOTFOUND when absent. */
	int (*load)(void *state, const char *name, unsigned char **sealed, size_t *len,
	            struct pv_err *err);
	/* Begin a read-modify-write: take the vendor's lock (a bounded wait), then read its sealed
	 * record. PV_NOTFOUND when it has none, also when it was removed while we waited. unlock
	 * is called after lock whatever it returned; one read-modify-write at a time per state. */
	int (*lock)(void *state, const char *name, unsigned char **sealed, size_t *len,
	            struct pv_err *err);
	/* Under the lock: make these bytes the vendor's record, durably before returning PV_OK.
	 * On error the stored record is the one lock read or, when only the last step failed
	 * (a directory sync, a COMMIT whose answer was lost), possibly these bytes: never a mix. */
	int (*save)(void *state, const char *name, const unsigned char *sealed, size_t len,
	            struct pv_err *err);
	/* Under the lock, database backends only (NULL for the file backend): as save, with the
	 * audit line seq that records the change (pv_store_audit_mirror's line) stored in the
	 * same transaction: both are durable, or neither (or, when the COMMIT's answer was lost,
	 * possibly both). */
	int (*save_audited)(void *state, const char *name, const unsigned char *sealed, size_t len,
	                    uint64_t seq, const char *line, struct pv_err *err);
	/* End the read-modify-write: release the lock; anything not saved is dropped. */
	void (*unlock)(void *state);
	/* Add a new record (durably), under the vendor's lock. PV_EXISTS if one is there. */
	int (*create)(void *state, const char *name, const unsigned char *sealed, size_t len,
	              struct pv_err *err);
	/* Remove the record (durably). PV_NOTFOUND if absent. */
	int (*remove)(void *state, const char *name, struct pv_err *err);
	/* As pv_store_list: every vendor name, sorted with strcmp; *names malloc'd. */
	int (*list)(void *state, char (**names)[PV_NAME_MAX + 1], size_t *n, struct pv_err *err);
	/* As pv_store_audit_mirror, _foreach, _heads and _copy_log. */
	int (*audit_mirror)(void *state, uint64_t seq, const char *line, struct pv_err *err);
	int (*audit_foreach)(void *state, const struct pv_store_audit_query *q,
	                     pv_store_audit_fn fn, void *ctx, struct pv_err *err);
	int (*audit_heads)(void *state, pv_store_audit_head_fn fn, void *ctx, struct pv_err *err);
	int (*audit_copy_log)(void *state, const char *audit_log, unsigned long *copied,
	                      struct pv_err *err);
};

extern const struct pv_store_ops pv_store_file_ops; /* store_file.c */
extern const struct pv_store_ops pv_store_pg_ops;   /* store_pg.c */

#endif

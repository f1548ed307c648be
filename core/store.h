/* SPDX-License-Identifier: BSD-3-Clause */
/* store.h — the vendor store: every operation the module and otpctl need, behind one small
 * interface (open, load, locked read-modify-write, create, remove, list), whichever backend
 * store_backend names: the file store (store_file.c: one sealed file "<name>.rec" per vendor
 * in store_dir, 0700 root, and a lock file "<name>.lock" beside it that is never unlinked) or
 * PostgreSQL (store_pg.c). Records are sealed with XChaCha20-Poly1305 under the record subkey,
 * the vendor name bound as associated data (seal.h), the same bytes in both backends.
 * Against a rolled-back record (an older copy put back by whoever can write the store but has
 * no key): every save raises the record's sealed serial, and every read, locked or not, is
 * refused (PV_ERR, err naming the vendor and both serials) when its serial is below the
 * highest this gateway has seen for that vendor (seen.h); a higher one is remembered durably
 * before the call returns. */
#ifndef PV_STORE_H
#define PV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "keys.h"
#include "record.h"
#include "seal.h"

struct pv_store;

/* Open store_dir (checked: root-owned, mode 0700, no symlink on the way). */
int pv_store_open(const struct pv_config *cfg, struct pv_store **out, struct pv_err *err);
/* The held directories (safefile.h) the store's serial checks go through from now on; a
 * store that outlives its call (kept for the next PAM call) is given NULL first. */
struct pv_dirs;
void pv_store_use_dirs(struct pv_store *store, struct pv_dirs *dirs);
void pv_store_close(struct pv_store *store);

/* Create store_dir (0700) and its serials directory (seen.h) if missing; used by `otpctl init`
 * and `store migrate --to file`. */
int pv_store_create_dir(const struct pv_config *cfg, struct pv_err *err);

/* Does a record exist for name? Cheap: no key, no lock, no decryption. name must be valid. */
int pv_store_exists(struct pv_store *store, const char *name, bool *exists, struct pv_err *err);

/* Read and unseal a record without taking the lock (records are replaced atomically, so a
 * read sees the old or the new version). PV_NOTFOUND when absent. */
int pv_store_load(struct pv_store *store, const struct pv_keys *keys, const char *name,
                  struct pv_record *rec, struct pv_err *err);

/* What a modify callback asks for. */
enum pv_modify_result {
	PV_MODIFY_SAVE = 0, /* write the changed record */
	PV_MODIFY_KEEP = 1, /* leave the stored record as it is */
	PV_MODIFY_FAIL = 2, /* error: leave the record as it is; err was set by the callback */
	/* Write the changed record together with the audit line that records the change: with
	 * the database, the save is held (the vendor's row stays locked) and committed with the
	 * next line copied through this store (pv_store_audit_mirror), one transaction; a store
	 * closed, or updated again, before that line drops it. The file store saves at once (as
	 * PV_MODIFY_SAVE). The caller writes that line next: docs/design.md, "The code and its
	 * line in one commit". */
	PV_MODIFY_SAVE_WITH_AUDIT = 3,
};

/* Called with the vendor's lock held and the current record loaded. */
typedef enum pv_modify_result (*pv_modify_fn)(struct pv_record *rec, void *ctx, struct pv_err *err);

/* Lock (bounded wait: cfg lock_timeout), load, call fn, save durably if asked, unlock.
 * PV_NOTFOUND when the vendor has no record (fn not called). PV_ERR on any failure, including
 * fn returning PV_MODIFY_FAIL; the stored record is then unchanged. */
int pv_store_update(struct pv_store *store, const struct pv_keys *keys, const char *name,
                    pv_modify_fn fn, void *ctx, struct pv_err *err);

/* Add a new record under the vendor's lock. PV_EXISTS if one is there. A serial below the one
 * this gateway remembers for the name is raised above it (an equal one is kept). */
int pv_store_create(struct pv_store *store, const struct pv_keys *keys, const struct pv_record *rec,
                    struct pv_err *err);

/* Remove a record under the vendor's lock (the lock file stays), then forget its remembered
 * serial. PV_NOTFOUND if absent. */
int pv_store_remove(struct pv_store *store, const char *name, struct pv_err *err);

/* Names of all vendors, sorted. *names is malloc'd (n entries of PV_NAME_MAX+1 bytes). */
int pv_store_list(struct pv_store *store, char (**names)[PV_NAME_MAX + 1], size_t *n,
                  struct pv_err *err);

/* Copy one audit line to the backend's audit table (the PostgreSQL backend; the file backend
 * has none and returns PV_OK). A pv_audit_mirror_fn: ctx is the store. A save held by
 * PV_MODIFY_SAVE_WITH_AUDIT is committed with this line (both or neither), its serial then
 * remembered; a failure drops it (the record stays as it was, unless only the COMMIT's answer
 * was lost). */
int pv_store_audit_mirror(void *store, uint64_t seq, const char *line, struct pv_err *err);

#define PV_STORE_AUDIT_HOST_MAX 255 /* a host name in the audit table, as pv_hostname gives it */

/* Which lines of the audit table pv_store_audit_foreach reads. The server keeps only rows of
 * that host, whose user is that user and whose time (the line's) lies in [since, until]; rows
 * copied before the table had those columns have no time or user and are always passed: the
 * caller filters the lines again. */
struct pv_store_audit_query {
	const char *host; /* NULL: every host */
	const char *user; /* NULL: every user */
	int64_t since;    /* INT64_MIN: no lower bound */
	int64_t until;    /* INT64_MAX: no upper bound */
};

/* The lines of the backend's audit table that q asks for, by host then seq, read in batches
 * (memory stays bounded whatever the table's size). PostgreSQL backend only; PV_ERR for the
 * file backend. fn returns non-zero to stop. */
typedef int (*pv_store_audit_fn)(const char *host, uint64_t seq, const char *line, size_t len,
                                 void *ctx);
int pv_store_audit_foreach(struct pv_store *store, const struct pv_store_audit_query *q,
                           pv_store_audit_fn fn, void *ctx, struct pv_err *err);

/* One host's head in the audit table, written in the same transaction as each of its lines:
 * the seq of its first line copied, and seq and MAC (hex) of its last. A host with lines but
 * no head is passed with have_head false. */
struct pv_store_audit_head {
	const char *host;
	bool have_head;
	uint64_t first_seq;
	uint64_t seq;
	const char *mac;
};
typedef int (*pv_store_audit_head_fn)(const struct pv_store_audit_head *head, void *ctx);
/* Every host's head, by host name (PostgreSQL backend only). fn returns non-zero to stop.
 * The heads and the lines fn reads with pv_store_audit_foreach are one read-only snapshot. */
int pv_store_audit_heads(struct pv_store *store, pv_store_audit_head_fn fn, void *ctx,
                         struct pv_err *err);

/* When this host has no head in the audit table yet (its lines were written before the
 * database was set up: `otpctl init` before `db init`), copy its local log (audit_log and its
 * rotated files) there, leaving rows already there as they are. *copied: lines copied (0 when
 * the host had a head). PostgreSQL backend only. */
int pv_store_audit_copy_log(struct pv_store *store, const char *audit_log, unsigned long *copied,
                            struct pv_err *err);

/* Which backend this store uses. */
bool pv_store_is_database(const struct pv_store *store);

#endif

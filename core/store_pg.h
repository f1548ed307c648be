/* store_pg.h — the PostgreSQL backend of store.h (internal to core/: store.c dispatches to
 * it when store_backend = postgresql), and the schema and audit-table operations otpctl
 * needs. The database holds sealed records (the same bytes as the file store's .rec files),
 * a version counter and the vendor name only: never a code, a TOTP secret or the key.
 * Every read-modify-write is one transaction holding the row (SELECT ... FOR UPDATE), so a
 * code consumed on one gateway is refused on every other. One connection per store_open:
 * nothing outlives the PAM call that opened it. */
#ifndef PV_STORE_PG_H
#define PV_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "keys.h"
#include "record.h"
#include "store.h"

#define PV_PG_SCHEMA_VERSION 1

struct pv_pg;

/* Connect (pg_conninfo, pg_timeout for the connection and each statement) and check the
 * schema version. Every failure says which (unreachable, authentication, schema). */
int pv_pg_open(const struct pv_config *cfg, struct pv_pg **out, struct pv_err *err);
void pv_pg_close(struct pv_pg *pg);

int pv_pg_exists(struct pv_pg *pg, const char *name, bool *exists, struct pv_err *err);
int pv_pg_load(struct pv_pg *pg, const struct pv_keys *keys, const char *name,
               struct pv_record *rec, struct pv_err *err);
int pv_pg_update(struct pv_pg *pg, const struct pv_keys *keys, const char *name, pv_modify_fn fn,
                 void *ctx, struct pv_err *err);
int pv_pg_create(struct pv_pg *pg, const struct pv_keys *keys, const struct pv_record *rec,
                 struct pv_err *err);
int pv_pg_remove(struct pv_pg *pg, const char *name, struct pv_err *err);
int pv_pg_list(struct pv_pg *pg, char (**names)[PV_NAME_MAX + 1], size_t *n, struct pv_err *err);

/* otpctl db init / db upgrade: create the tables (init: refused when they exist), or bring
 * an older schema to PV_PG_SCHEMA_VERSION. *version: the schema version found before. */
int pv_pg_schema_install(const struct pv_config *cfg, bool upgrade, int *version,
                         struct pv_err *err);

/* The audit table: one row per line of every gateway's log, keyed by (host, seq). */
int pv_pg_audit_insert(struct pv_pg *pg, const char *host, uint64_t seq, const char *line,
                       struct pv_err *err);
/* Every row, oldest first per host (host, then seq); fn as pv_audit_line_fn. */
typedef int (*pv_pg_line_fn)(const char *host, uint64_t seq, const char *line, size_t len,
                             void *ctx);
int pv_pg_audit_foreach(struct pv_pg *pg, pv_pg_line_fn fn, void *ctx, struct pv_err *err);

#endif

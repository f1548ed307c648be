/* SPDX-License-Identifier: BSD-3-Clause */
/* store_pg_audit.h — the PostgreSQL store's audit table and per-host heads (store_pg_audit.c),
 * private to store_pg.c: its table of operations and its schema steps use these. */
#ifndef PV_STORE_PG_AUDIT_H
#define PV_STORE_PG_AUDIT_H

#include <stdint.h>

#include "err.h"
#include "pgconn.h"
#include "store.h"

/* Schema step 2: the head table and the line's time and user columns (NULL-terminated). */
extern const char *const pv_pg_schema_audit_head[];

/* The store_backend.h operations audit_mirror, audit_foreach, audit_heads and
 * audit_copy_log; state is the connection (struct pv_pg). */
int pv_pg_audit_mirror(void *state, uint64_t seq, const char *line, struct pv_err *err);
int pv_pg_audit_foreach(void *state, const struct pv_store_audit_query *q, pv_store_audit_fn fn,
                        void *ctx, struct pv_err *err);
int pv_pg_audit_heads(void *state, pv_store_audit_head_fn fn, void *ctx, struct pv_err *err);
int pv_pg_audit_copy_log(void *state, const char *audit_log, unsigned long *copied,
                         struct pv_err *err);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* store_pg_audit.h — the PostgreSQL store's audit table and per-host heads (store_pg_audit.c),
 * private to store_pg.c: its table of operations and its schema steps use these. */
#ifndef PV_STORE_PG_AUDIT_H
#define PV_STORE_PG_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "json.h"
#include "pgconn.h"
#include "store.h"

/* Schema step 2: the head table and the line's time and user columns (NULL-terminated). */
extern const char *const pv_pg_schema_audit_head[];

/* What the store_backend.h operations audit_mirror, audit_foreach, audit_heads and
 * audit_copy_log do, on the store's connection. */
int pv_pg_audit_mirror(struct pv_pg *pg, uint64_t seq, const char *line, struct pv_err *err);
int pv_pg_audit_foreach(struct pv_pg *pg, const struct pv_store_audit_query *q,
                        pv_store_audit_fn fn, void *ctx, struct pv_err *err);
int pv_pg_audit_heads(struct pv_pg *pg, pv_store_audit_head_fn fn, void *ctx, struct pv_err *err);
int pv_pg_audit_copy_log(struct pv_pg *pg, const char *audit_log, unsigned long *copied,
                         struct pv_err *err);

/* One line of this host and its head as a statement of a batch (stmt), for a caller that
 * sends it with others in one transaction (store_pg.c: a save and the audit line that records
 * it, one COMMIT). The statement points into l and into line: both must outlive the batch;
 * pv_pg_audit_line_free releases l (also after a failure). */
struct pv_pg_line {
	struct pv_json_object obj;
	bool parsed;
	char host[PV_STORE_AUDIT_HOST_MAX + 1];
	char seqtext[24];
	char timetext[24];
	int64_t t;
	const char *values[6];
	struct pv_pg_args args;
	struct pv_pg_stmt stmt;
};
int pv_pg_audit_line_stmt(struct pv_pg_line *l, uint64_t seq, const char *line, size_t len,
                          bool strict, struct pv_err *err);
void pv_pg_audit_line_free(struct pv_pg_line *l);

#endif

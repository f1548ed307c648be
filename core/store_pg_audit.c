/* SPDX-License-Identifier: BSD-3-Clause */
/* store_pg_audit.c — the PostgreSQL store's audit table (store.h: pv_store_audit_*): each
 * gateway's lines with the line's time and user, and a per-host head (first seq, last seq and
 * MAC) written in the same statement as the line, so a cut start or end shows when verified. */
#include "store_pg_audit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "hostname.h"
#include "json.h"
#include "timeparse.h"

#define BATCH_ROWS 1000 /* lines per query when reading the table: memory stays bounded */

/* Schema step 2 (store_pg.c runs it after version 1): the head table, and the columns the
 * server filters on. Rows copied before keep NULL there (readers pass them on, the caller
 * filters them again); the head of each host already in the table is its last row now. */
const char *const pv_pg_schema_audit_head[] = {
    "CREATE TABLE pam_vendor_audit_head ("
    " host text PRIMARY KEY,"
    " first_seq bigint NOT NULL,"
    " seq bigint NOT NULL,"
    " mac text NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now())",
    "ALTER TABLE pam_vendor_audit ADD COLUMN event_time timestamptz,"
    " ADD COLUMN username text",
    "CREATE INDEX pam_vendor_audit_event_time ON pam_vendor_audit (event_time)",
    "INSERT INTO pam_vendor_audit_head (host, first_seq, seq, mac)"
    " SELECT a.host, f.first_seq, a.seq,"
    "  coalesce(substring(a.line from '\"mac\":\"([0-9a-fA-F]{64})\"'), '')"
    " FROM (SELECT host, min(seq) AS first_seq, max(seq) AS last_seq"
    "       FROM pam_vendor_audit GROUP BY host) f"
    " JOIN pam_vendor_audit a ON a.host = f.host AND a.seq = f.last_seq",
    NULL,
};

/* The line and the head in one statement: one transaction, one wait bounded by pg_timeout
 * (pgconn.c). The head only moves forward, whatever order two copies arrive in. The copy of
 * a local log (SKIP_PRESENT) leaves a row already there as it is. */
#define INSERT_LINE                                                                                \
	"WITH line AS (INSERT INTO pam_vendor_audit (host, seq, line, event_time, username)"       \
	" VALUES ($1, $2::bigint, $3, to_timestamp($4::bigint), $5)"
#define SKIP_PRESENT " ON CONFLICT (host, seq) DO NOTHING"
#define UPSERT_HEAD                                                                                \
	" RETURNING host, seq)"                                                                    \
	" INSERT INTO pam_vendor_audit_head AS h (host, first_seq, seq, mac)"                      \
	" SELECT host, seq, seq, $6 FROM line"                                                     \
	" ON CONFLICT (host) DO UPDATE SET first_seq = least(h.first_seq, excluded.first_seq),"    \
	" seq = greatest(h.seq, excluded.seq),"                                                    \
	" mac = CASE WHEN excluded.seq > h.seq THEN excluded.mac ELSE h.mac END,"                  \
	" updated_at = now()"

void pv_pg_audit_line_free(struct pv_pg_line *l)
{
	if (l->parsed)
		pv_json_object_free(&l->obj);
	l->parsed = false;
}

int pv_pg_audit_line_stmt(struct pv_pg_line *l, uint64_t seq, const char *line, size_t len,
                          bool strict, struct pv_err *err)
{
	memset(l, 0, sizeof(*l));
	if (pv_json_parse_flat(line, len, &l->obj) != 0) {
		pv_err_set(err,
		           "PostgreSQL: cannot insert the audit line: it is not an audit line");
		return PV_ERR;
	}
	l->parsed = true;
	l->values[0] = l->host;
	l->values[1] = l->seqtext;
	l->values[2] = line;
	l->values[5] = pv_json_get(&l->obj, "mac");
	if (l->values[5] == NULL) {
		pv_err_set(err, "PostgreSQL: cannot insert the audit line: it has no MAC");
		pv_pg_audit_line_free(l);
		return PV_ERR;
	}
	pv_hostname(l->host, sizeof(l->host));
	snprintf(l->seqtext, sizeof(l->seqtext), "%" PRIu64, seq);
	if (pv_audit_event_time(&l->obj, 0, &l->t)) {
		snprintf(l->timetext, sizeof(l->timetext), "%" PRId64, l->t);
		l->values[3] = l->timetext;
	}
	l->values[4] = pv_json_get(&l->obj, "user");
	l->args = (struct pv_pg_args){6, l->values, NULL, NULL, 0};
	l->stmt = (struct pv_pg_stmt){.sql = strict ? INSERT_LINE UPSERT_HEAD
	                                            : INSERT_LINE SKIP_PRESENT UPSERT_HEAD,
	                              .args = &l->args,
	                              .expect = PGRES_COMMAND_OK};
	return PV_OK;
}

/* Insert one line of this host with its head; strict: a row already there is an error. */
static int insert_line(struct pv_pg *pg, uint64_t seq, const char *line, size_t len, bool strict,
                       struct pv_err *err)
{
	struct pv_pg_line l;
	int rc;

	if (pv_pg_audit_line_stmt(&l, seq, line, len, strict, err) != PV_OK)
		return PV_ERR;
	rc = pv_pg_batch(pg, 0, &l.stmt, 1, "cannot insert the audit line", err);
	pv_pg_audit_line_free(&l);
	return rc;
}

int pv_pg_audit_mirror(struct pv_pg *pg, uint64_t seq, const char *line, struct pv_err *err)
{
	/* The database stopped answering (or the link broke) earlier in this call and the
	 * connection was dropped: the line stays in the local log only (the table shows the gap
	 * in this host's seq). A failure, so that an "allow" can never go uncopied without its
	 * reversal; a caller that is denying already denies either way. */
	if (pv_pg_dropped(pg)) {
		pv_err_set(err,
		           "PostgreSQL: audit line seq %" PRIu64
		           " not copied: the connection was dropped (no answer in time, it broke, "
		           "or the schema check failed)",
		           seq);
		return PV_ERR;
	}
	return insert_line(pg, seq, line, strlen(line), true, err);
}

/* --- the copy of a local log (pv_pg_audit_copy_log) --- */

struct log_copy {
	struct pv_pg *pg;
	struct pv_err *err;
	unsigned long copied;
	bool failed;
};

static int copy_line(const char *line, size_t len, const char *file, unsigned long lineno,
                     void *vctx)
{
	struct log_copy *lc = vctx;
	struct pv_json_object obj;
	uint64_t seq = 0;
	bool have_seq;

	if (pv_json_parse_flat(line, len, &obj) != 0) {
		pv_err_set(lc->err, "%s line %lu is not an audit line; nothing more was copied",
		           file, lineno);
		lc->failed = true;
		return 1;
	}
	have_seq = pv_json_get(&obj, "seq") != NULL &&
	           pv_parse_u64(pv_json_get(&obj, "seq"), INT64_MAX, &seq) == PV_OK && seq > 0;
	pv_json_object_free(&obj);
	if (!have_seq) {
		pv_err_set(lc->err, "%s line %lu has no valid seq; nothing more was copied", file,
		           lineno);
		lc->failed = true;
		return 1;
	}
	if (insert_line(lc->pg, seq, line, len, false, lc->err) != PV_OK) {
		lc->failed = true;
		return 1;
	}
	lc->copied++;
	return 0;
}

/* Has this host a head in the table already (its lines are being copied as written)? */
static int host_has_head(struct pv_pg *pg, bool *has, struct pv_err *err)
{
	char host[PV_STORE_AUDIT_HOST_MAX + 1];
	const char *values[1] = {host};
	const struct pv_pg_args args = {1, values, NULL, NULL, 0};
	PGresult *res;

	pv_hostname(host, sizeof(host));
	res = pv_pg_query(pg, "SELECT 1 FROM pam_vendor_audit_head WHERE host = $1", &args,
	                  PGRES_TUPLES_OK, "cannot read the audit heads", err);
	if (res == NULL)
		return PV_ERR;
	*has = pg->pq.ntuples(res) > 0;
	pg->pq.clear(res);
	return PV_OK;
}

int pv_pg_audit_copy_log(struct pv_pg *pg, const char *audit_log, unsigned long *copied,
                         struct pv_err *err)
{
	struct log_copy lc = {pg, err, 0, false};
	bool has = false;

	*copied = 0;
	if (host_has_head(pg, &has, err) != PV_OK)
		return PV_ERR;
	if (has)
		return PV_OK;
	if (pv_audit_foreach(audit_log, copy_line, &lc, err) != PV_OK || lc.failed)
		return PV_ERR;
	*copied = lc.copied;
	return PV_OK;
}

/* One batch of the table's lines after (after_host, after_seq), as the query asks. */
static PGresult *read_batch(struct pv_pg *pg, const struct pv_store_audit_query *q,
                            const char *after_host, uint64_t after_seq, struct pv_err *err)
{
	char seqtext[24];
	char since[24];
	char until[24];
	const char *values[6] = {after_host, seqtext, q->host, q->user, NULL, NULL};
	const struct pv_pg_args args = {6, values, NULL, NULL, 0};

	snprintf(seqtext, sizeof(seqtext), "%" PRIu64, after_seq);
	if (q->since != INT64_MIN) {
		snprintf(since, sizeof(since), "%" PRId64, q->since);
		values[4] = since;
	}
	if (q->until != INT64_MAX) {
		snprintf(until, sizeof(until), "%" PRId64, q->until);
		values[5] = until;
	}
	/* Rows copied before schema 2 have no time or user (NULL): passed on, the caller
	 * filters the lines again. */
	return pv_pg_query(pg,
	                   "SELECT host, seq, line FROM pam_vendor_audit"
	                   " WHERE (host, seq) > ($1, $2::bigint)"
	                   " AND ($3::text IS NULL OR host = $3)"
	                   " AND ($4::text IS NULL OR username IS NULL OR username = $4)"
	                   " AND ($5::bigint IS NULL OR event_time IS NULL"
	                   "      OR event_time >= to_timestamp($5::bigint))"
	                   " AND ($6::bigint IS NULL OR event_time IS NULL"
	                   "      OR event_time <= to_timestamp($6::bigint))"
	                   " ORDER BY host, seq LIMIT " PV_PG_NUMBER(BATCH_ROWS),
	                   &args, PGRES_TUPLES_OK, "cannot read the audit table", err);
}

/* Pass one batch's rows to fn; remember the last row's key. *stop: fn asked to stop. */
static int pass_batch(struct pv_pg *pg, PGresult *res, pv_store_audit_fn fn, void *ctx,
                      char *last_host, size_t host_len, uint64_t *last_seq, bool *stop,
                      struct pv_err *err)
{
	int rows = pg->pq.ntuples(res);
	int i;

	for (i = 0; i < rows; i++) {
		uint64_t seq = 0;
		if (pv_parse_u64(pg->pq.getvalue(res, i, 1), INT64_MAX, &seq) != PV_OK) {
			pv_err_set(err, "PostgreSQL: pam_vendor_audit holds an invalid seq");
			return PV_ERR;
		}
		if (fn(pg->pq.getvalue(res, i, 0), seq, pg->pq.getvalue(res, i, 2),
		       (size_t)pg->pq.getlength(res, i, 2), ctx) != 0) {
			*stop = true;
			return PV_OK;
		}
	}
	if (rows > 0) {
		/* A cut name would read the same batch again: refuse it. */
		if ((size_t)pg->pq.getlength(res, rows - 1, 0) >= host_len) {
			pv_err_set(err,
			           "PostgreSQL: pam_vendor_audit holds a host name longer than "
			           "%zu bytes",
			           host_len - 1);
			return PV_ERR;
		}
		snprintf(last_host, host_len, "%s", pg->pq.getvalue(res, rows - 1, 0));
		if (pv_parse_u64(pg->pq.getvalue(res, rows - 1, 1), INT64_MAX, last_seq) != PV_OK)
			return PV_ERR; /* cannot happen: the loop parsed it */
	}
	return PV_OK;
}

int pv_pg_audit_foreach(struct pv_pg *pg, const struct pv_store_audit_query *q,
                        pv_store_audit_fn fn, void *ctx, struct pv_err *err)
{
	char *last_host;
	uint64_t last_seq = 0;
	bool stop = false;
	int rc = PV_ERR;

	/* A host name is at most what the column holds; the keyset needs the last one read. */
	last_host = calloc(1, PV_STORE_AUDIT_HOST_MAX + 1);
	if (last_host == NULL) {
		pv_err_set(err, "out of memory reading the audit table");
		return PV_ERR;
	}
	for (;;) {
		PGresult *res = read_batch(pg, q, last_host, last_seq, err);
		int rows;

		if (res == NULL)
			goto out;
		rows = pg->pq.ntuples(res);
		rc = pass_batch(pg, res, fn, ctx, last_host, PV_STORE_AUDIT_HOST_MAX + 1, &last_seq,
		                &stop, err);
		pg->pq.clear(res);
		if (rc != PV_OK || stop || rows < BATCH_ROWS)
			goto out;
		rc = PV_ERR;
	}
out:
	free(last_host);
	return rc;
}

/* One row of the heads query into h: the strings point into res. */
static int head_row(struct pv_pg *pg, PGresult *res, int i, struct pv_store_audit_head *h,
                    struct pv_err *err)
{
	memset(h, 0, sizeof(*h));
	h->host = pg->pq.getvalue(res, i, 0);
	if (pg->pq.getlength(res, i, 1) == 0)
		return PV_OK; /* lines without a head (NULL columns) */
	if (pv_parse_u64(pg->pq.getvalue(res, i, 1), INT64_MAX, &h->first_seq) != PV_OK ||
	    pv_parse_u64(pg->pq.getvalue(res, i, 2), INT64_MAX, &h->seq) != PV_OK) {
		pv_err_set(err, "PostgreSQL: pam_vendor_audit_head holds an invalid seq");
		return PV_ERR;
	}
	h->mac = pg->pq.getvalue(res, i, 3);
	h->have_head = true;
	return PV_OK;
}

int pv_pg_audit_heads(struct pv_pg *pg, pv_store_audit_head_fn fn, void *ctx, struct pv_err *err)
{
	struct pv_store_audit_head h;
	PGresult *res;
	int rows;
	int i;
	int rc = PV_ERR;

	/* One snapshot for the heads and every host's lines that fn reads (pv_pg_audit_foreach
	 * on this connection): the copy of a line to the table runs after the gateway's local
	 * lock, so seq 11 may commit before seq 10, and reads outside one snapshot would see a
	 * head and lines of different moments. Read only: nothing to commit. */
	if (pv_pg_batch(pg, PV_PG_BEGIN | PV_PG_SNAPSHOT, NULL, 0,
	                "cannot start a snapshot of the audit table", err) != PV_OK)
		return PV_ERR;
	/* Every host with a head or with lines: lines whose head is gone are a problem too. */
	res = pv_pg_query(pg,
	                  "SELECT coalesce(h.host, a.host), h.first_seq, h.seq, h.mac"
	                  " FROM pam_vendor_audit_head h"
	                  " FULL JOIN (SELECT DISTINCT host FROM pam_vendor_audit) a"
	                  " ON a.host = h.host ORDER BY 1",
	                  NULL, PGRES_TUPLES_OK, "cannot read the audit heads", err);
	if (res == NULL) {
		pv_pg_rollback(pg);
		return PV_ERR;
	}
	rows = pg->pq.ntuples(res);
	for (i = 0; i < rows; i++) {
		if (head_row(pg, res, i, &h, err) != PV_OK)
			goto out;
		if (fn(&h, ctx) != 0)
			break;
	}
	rc = PV_OK;
out:
	pg->pq.clear(res);
	pv_pg_rollback(pg);
	return rc;
}

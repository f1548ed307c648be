/* SPDX-License-Identifier: BSD-3-Clause */
/* store_pg.c — the PostgreSQL backend of store.h (store_backend.h's operations) and the
 * schema installer (store_pg.h). One row per vendor holds its sealed record; a
 * read-modify-write is one transaction holding the row (SELECT ... FOR UPDATE), so a code
 * consumed on one gateway is refused on every other. One connection per store_open
 * (pgconn.c): nothing outlives the PAM call that opened it. Every statement takes its
 * parameters apart from the SQL (no SQL built from input). The audit table and its per-host
 * heads are in store_pg_audit.c.
 *
 * Round trips saved on a login (docs/performance.md): the schema check travels with the first
 * batch of each connection (pv_pg_set_guard); the look-up of a vendor reads its record too,
 * handed to the unlocked read that follows (struct pg_store); and a save can be committed with
 * the audit line that records it (save_audited). */
#include "store_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgconn.h"
#include "seal.h"
#include "store_backend.h"
#include "store_pg_audit.h"
#include "timeparse.h"

static const char *const schema_v1[] = {
    "CREATE TABLE pam_vendor_schema (version integer NOT NULL)",
    "CREATE TABLE pam_vendor_vendors ("
    " name text PRIMARY KEY,"
    " version bigint NOT NULL,"
    " sealed bytea NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE pam_vendor_audit ("
    " host text NOT NULL,"
    " seq bigint NOT NULL,"
    " line text NOT NULL,"
    " inserted_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (host, seq))",
    "INSERT INTO pam_vendor_schema (version) VALUES (1)",
    NULL,
};

/* The version in the one row of pam_vendor_schema that res holds (cleared here). */
static int version_of(struct pv_pg *pg, PGresult *res, int *version, struct pv_err *err)
{
	uint64_t v = 0;
	int rc = PV_ERR;

	if (pg->pq.ntuples(res) != 1)
		pv_err_set(err, "PostgreSQL: pam_vendor_schema holds %d rows, expected one",
		           pg->pq.ntuples(res));
	else if (pv_parse_u64(pg->pq.getvalue(res, 0, 0), INT32_MAX, &v) != PV_OK || v == 0)
		pv_err_set(err, "PostgreSQL: pam_vendor_schema holds an invalid version");
	else
		rc = PV_OK;
	*version = rc == PV_OK ? (int)v : 0;
	pg->pq.clear(res);
	return rc;
}

/* The schema version, or 0 when there is no schema table. */
static int schema_version(struct pv_pg *pg, int *version, struct pv_err *err)
{
	PGresult *res;
	int rc = PV_ERR;

	*version = 0;
	res = pv_pg_query(pg, "SELECT to_regclass('pam_vendor_schema') IS NOT NULL", NULL,
	                  PGRES_TUPLES_OK, "cannot read the schema", err);
	if (res == NULL)
		return PV_ERR;
	if (pg->pq.ntuples(res) != 1) {
		pv_err_set(err, "PostgreSQL: cannot read the schema: %d rows", pg->pq.ntuples(res));
		goto out;
	}
	if (strcmp(pg->pq.getvalue(res, 0, 0), "t") != 0) {
		rc = PV_OK;
		goto out;
	}
	pg->pq.clear(res);
	res = pv_pg_query(pg, "SELECT version FROM pam_vendor_schema", NULL, PGRES_TUPLES_OK,
	                  "cannot read the schema version", err);
	if (res == NULL)
		return PV_ERR;
	return version_of(pg, res, version, err);
out:
	pg->pq.clear(res);
	return rc;
}

/* The schema check that travels with the first batch of each connection (pv_pg_set_guard): an
 * error on the server unless pam_vendor_schema holds exactly one row with the version this
 * pam_vendor knows (a missing table is an error too), so that none of the caller's statements
 * behind it run. The division by zero is over the rows read, so that the server raises it
 * when it runs the statement, never while planning it. */
#define SCHEMA_VERSION_TEXT PV_PG_NUMBER(PV_PG_SCHEMA_VERSION)
#define SCHEMA_GUARD                                                                               \
	"SELECT CASE WHEN count(*) = 1 AND min(version) = " SCHEMA_VERSION_TEXT                    \
	" THEN 1 ELSE 1 / (count(*) - count(*))::integer END FROM pam_vendor_schema"

/* The schema check failed: say why (no schema, another version), asking the server once more;
 * err holds its error, kept when the schema turns out to be the right one after all. */
static int explain_schema(struct pv_pg *pg, struct pv_err *err)
{
	struct pv_err again;
	int version = 0;

	if (schema_version(pg, &version, &again) != PV_OK) {
		*err = again;
		return PV_ERR;
	}
	if (version == 0)
		pv_err_set(err,
		           "PostgreSQL: no pam_vendor schema in this database; run otpctl db init");
	else if (version != PV_PG_SCHEMA_VERSION)
		pv_err_set(err,
		           "PostgreSQL: schema version %d is not the one this pam_vendor knows "
		           "(%d); %s",
		           version, PV_PG_SCHEMA_VERSION,
		           version < PV_PG_SCHEMA_VERSION ? "run otpctl db upgrade"
		                                          : "install the matching pam_vendor");
	return PV_OK;
}

/* What a store_open of this backend keeps: the connection, and the sealed record the last
 * look-up (pg_exists) read, handed to the next unlocked read of that vendor (pg_load) instead
 * of asking again: the module looks a user up, then reads the record before any prompt, one
 * statement instead of two. Used once; every other operation drops it first. */
struct pg_store {
	struct pv_pg *pg;
	char cached_name[PV_NAME_MAX + 1];
	unsigned char *cached; /* NULL: none */
	size_t cached_len;
};

static void drop_cached(struct pg_store *s)
{
	free(s->cached); /* sealed bytes: nothing in clear to wipe */
	s->cached = NULL;
	s->cached_len = 0;
	s->cached_name[0] = '\0';
}

static int pg_open(const struct pv_config *cfg, void **state, struct pv_err *err)
{
	struct pg_store *s;

	*state = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		pv_err_set(err, "out of memory opening the store");
		return PV_ERR;
	}
	if (pv_pg_connect(cfg, &s->pg, err) != PV_OK) {
		free(s);
		return PV_ERR;
	}
	/* Checked with the first statement sent, whatever it is. */
	pv_pg_set_guard(s->pg, SCHEMA_GUARD, explain_schema);
	*state = s;
	return PV_OK;
}

static void pg_close(void *state)
{
	struct pg_store *s = state;

	if (s == NULL)
		return;
	drop_cached(s);
	pv_pg_close(s->pg);
	free(s);
}

/* The sealed column of the row `sql` selects for name ($1), copied out (flags: pv_pg_batch's).
 * PV_NOTFOUND: no row. `verb` names the stage in errors ("cannot <verb> vendor NAME"). */
static int read_sealed(struct pv_pg *pg, unsigned flags, const char *sql, const char *verb,
                       const char *name, unsigned char **sealed, size_t *len, struct pv_err *err)
{
	const char *values[1] = {name};
	const struct pv_pg_args args = {1, values, NULL, NULL, 1};
	struct pv_pg_stmt st = {.sql = sql, .args = &args, .expect = PGRES_TUPLES_OK, .keep = true};
	char what[PV_NAME_MAX + 32];
	PGresult *res;
	int size;
	int rc = PV_ERR;

	snprintf(what, sizeof(what), "cannot %s vendor %s", verb, name);
	if (pv_pg_batch(pg, flags, &st, 1, what, err) != PV_OK)
		return PV_ERR;
	res = st.res;
	if (pg->pq.ntuples(res) == 0) {
		rc = PV_NOTFOUND;
		goto out;
	}
	size = pg->pq.getlength(res, 0, 0);
	if (size <= 0 || (size_t)size > PV_SEALED_MAX) {
		pv_err_set(err, "PostgreSQL: the record of %s has an impossible size", name);
		goto out;
	}
	*sealed = malloc((size_t)size);
	if (*sealed == NULL) {
		pv_err_set(err, "out of memory reading the record of %s", name);
		goto out;
	}
	memcpy(*sealed, pg->pq.getvalue(res, 0, 0), (size_t)size);
	*len = (size_t)size;
	rc = PV_OK;
out:
	pg->pq.clear(res);
	return rc;
}

#define SELECT_SEALED "SELECT sealed FROM pam_vendor_vendors WHERE name = $1"

/* The look-up reads the record too, kept for the read that usually follows (pg_load). */
static int pg_exists(void *state, const char *name, bool *exists, struct pv_err *err)
{
	struct pg_store *s = state;
	unsigned char *sealed = NULL;
	size_t len = 0;
	int rc;

	*exists = false;
	drop_cached(s);
	rc = read_sealed(s->pg, 0, SELECT_SEALED, "look up", name, &sealed, &len, err);
	if (rc == PV_NOTFOUND)
		return PV_OK;
	if (rc != PV_OK)
		return PV_ERR;
	*exists = true;
	snprintf(s->cached_name, sizeof(s->cached_name), "%s", name);
	s->cached = sealed;
	s->cached_len = len;
	return PV_OK;
}

/* The record the look-up of this vendor just read, if it was the last operation; else a read.
 * Either is a read made without the lock, as load promises (store_backend.h). */
static int pg_load(void *state, const char *name, unsigned char **sealed, size_t *len,
                   struct pv_err *err)
{
	struct pg_store *s = state;

	if (s->cached != NULL && strcmp(s->cached_name, name) == 0) {
		*sealed = s->cached;
		*len = s->cached_len;
		s->cached = NULL;
		drop_cached(s);
		return PV_OK;
	}
	drop_cached(s);
	return read_sealed(s->pg, 0, SELECT_SEALED, "read", name, sealed, len, err);
}

static int pg_lock(void *state, const char *name, unsigned char **sealed, size_t *len,
                   struct pv_err *err)
{
	struct pg_store *s = state;

	drop_cached(s);
	/* BEGIN and the row lock in one round trip. The row lock serialises every gateway's
	 * read-modify-write of this vendor; a row deleted while we waited is no row
	 * (PV_NOTFOUND). */
	return read_sealed(s->pg, PV_PG_BEGIN, SELECT_SEALED " FOR UPDATE", "lock", name, sealed,
	                   len, err);
}

/* The statement that stores sealed bytes as a new row (insert) or the next version of the row;
 * args and values are the caller's, for as long as the batch runs. */
static struct pv_pg_stmt row_stmt(const char *name, const unsigned char *sealed, size_t len,
                                  bool insert, const char *values[2], int lengths[2],
                                  int formats[2], struct pv_pg_args *args)
{
	values[0] = name;
	values[1] = (const char *)sealed;
	lengths[0] = 0;
	lengths[1] = (int)len;
	formats[0] = 0;
	formats[1] = 1;
	*args = (struct pv_pg_args){2, values, lengths, formats, 0};
	return (struct pv_pg_stmt){
	    .sql = insert ? "INSERT INTO pam_vendor_vendors (name, version, sealed) "
	                    "VALUES ($1, 1, $2) ON CONFLICT (name) DO NOTHING"
	                  : "UPDATE pam_vendor_vendors SET sealed = $2, version = version + 1,"
	                    " updated_at = now() WHERE name = $1",
	    .args = args,
	    .expect = PGRES_COMMAND_OK,
	    .keep = true};
}

/* Did the row statement (its result res, cleared here) touch the one row? */
static int row_written(struct pv_pg *pg, PGresult *res, const char *name, bool insert,
                       struct pv_err *err)
{
	int rc = PV_OK;

	if (strcmp(pg->pq.cmdTuples(res), "1") != 0) {
		rc = insert ? PV_EXISTS : PV_NOTFOUND;
		if (insert)
			pv_err_set(err, "vendor %s already exists", name);
		else
			pv_err_set(err, "vendor %s was removed meanwhile", name);
	}
	pg->pq.clear(res);
	return rc;
}

/* Store the sealed bytes as a new row (insert: a transaction of its own) or the next version
 * of the row, committing the transaction pg_lock opened in the same round trip. */
static int write_row(struct pg_store *s, const char *name, const unsigned char *sealed, size_t len,
                     bool insert, struct pv_err *err)
{
	const char *values[2];
	int lengths[2];
	int formats[2];
	struct pv_pg_args args;
	struct pv_pg_stmt st = row_stmt(name, sealed, len, insert, values, lengths, formats, &args);
	char what[PV_NAME_MAX + 32];

	drop_cached(s);
	snprintf(what, sizeof(what), "cannot save vendor %s", name);
	if (pv_pg_batch(s->pg, insert ? 0 : PV_PG_COMMIT, &st, 1, what, err) != PV_OK)
		return PV_ERR;
	return row_written(s->pg, st.res, name, insert, err);
}

static int pg_save(void *state, const char *name, const unsigned char *sealed, size_t len,
                   struct pv_err *err)
{
	/* The UPDATE and its COMMIT in one round trip: durable when it returns PV_OK. */
	return write_row(state, name, sealed, len, false, err) == PV_OK ? PV_OK : PV_ERR;
}

/* The UPDATE, the audit line with its host's head, and the COMMIT of the transaction pg_lock
 * opened, in one round trip: the record and the line that records its change are durable
 * together, or neither is. */
static int pg_save_audited(void *state, const char *name, const unsigned char *sealed, size_t len,
                           uint64_t seq, const char *line, struct pv_err *err)
{
	struct pg_store *s = state;
	const char *values[2];
	int lengths[2];
	int formats[2];
	struct pv_pg_args args;
	struct pv_pg_stmt st[2];
	struct pv_pg_line l;
	char what[PV_NAME_MAX + 64];
	int rc;

	drop_cached(s);
	if (pv_pg_audit_line_stmt(&l, seq, line, strlen(line), true, err) != PV_OK)
		return PV_ERR;
	st[0] = row_stmt(name, sealed, len, false, values, lengths, formats, &args);
	st[1] = l.stmt;
	snprintf(what, sizeof(what), "cannot save vendor %s with audit line seq %" PRIu64, name,
	         seq);
	rc = pv_pg_batch(s->pg, PV_PG_COMMIT, st, 2, what, err);
	pv_pg_audit_line_free(&l);
	if (rc != PV_OK)
		return PV_ERR;
	/* Committed: a row that was gone cannot be, under the row lock; say so if it was. */
	return row_written(s->pg, st[0].res, name, false, err) == PV_OK ? PV_OK : PV_ERR;
}

static void pg_unlock(void *state)
{
	struct pg_store *s = state;

	pv_pg_rollback(s->pg);
}

static int pg_create(void *state, const char *name, const unsigned char *sealed, size_t len,
                     struct pv_err *err)
{
	return write_row(state, name, sealed, len, true, err);
}

static int pg_remove(void *state, const char *name, struct pv_err *err)
{
	struct pg_store *s = state;
	struct pv_pg *pg = s->pg;
	const char *values[1] = {name};
	const struct pv_pg_args args = {1, values, NULL, NULL, 0};
	PGresult *res;
	int rc = PV_OK;

	drop_cached(s);
	res = pv_pg_query(pg, "DELETE FROM pam_vendor_vendors WHERE name = $1", &args,
	                  PGRES_COMMAND_OK, "cannot remove a vendor", err);
	if (res == NULL)
		return PV_ERR;
	if (strcmp(pg->pq.cmdTuples(res), "1") != 0) {
		pv_err_set(err, "vendor %s does not exist", name);
		rc = PV_NOTFOUND;
	}
	pg->pq.clear(res);
	return rc;
}

static int pg_list(void *state, char (**names)[PV_NAME_MAX + 1], size_t *n, struct pv_err *err)
{
	struct pv_pg *pg = ((struct pg_store *)state)->pg;
	char(*list)[PV_NAME_MAX + 1] = NULL;
	PGresult *res;
	int rows;
	int i;
	int rc = PV_ERR;

	res = pv_pg_query(pg, "SELECT name FROM pam_vendor_vendors ORDER BY name COLLATE \"C\"",
	                  NULL, PGRES_TUPLES_OK, "cannot list vendors", err);
	if (res == NULL)
		return PV_ERR;
	rows = pg->pq.ntuples(res);
	if (rows > PV_STORE_MAX_VENDORS) {
		pv_err_set(err, "PostgreSQL: more than %d vendors", PV_STORE_MAX_VENDORS);
		goto out;
	}
	list = calloc(rows ? (size_t)rows : 1, sizeof(*list));
	if (list == NULL) {
		pv_err_set(err, "out of memory listing vendors");
		goto out;
	}
	for (i = 0; i < rows; i++) {
		const char *name = pg->pq.getvalue(res, i, 0);
		if (!pv_vendor_name_valid(name)) {
			pv_err_set(err, "PostgreSQL: pam_vendor_vendors holds an invalid name");
			goto out;
		}
		snprintf(list[i], sizeof(list[i]), "%s", name);
	}
	*names = list;
	*n = (size_t)rows;
	list = NULL;
	rc = PV_OK;
out:
	free(list);
	pg->pq.clear(res);
	return rc;
}

/* One schema step's statements, in order. */
static int run_steps(struct pv_pg *pg, const char *const *steps, struct pv_err *err)
{
	int i;

	for (i = 0; steps[i] != NULL; i++)
		if (pv_pg_run(pg, steps[i], NULL, PGRES_COMMAND_OK, "cannot create the schema",
		              err) != PV_OK)
			return PV_ERR;
	return PV_OK;
}

/* The version the steps brought the schema to (version 1 inserted its row itself). */
static int record_version(struct pv_pg *pg, int before, struct pv_err *err)
{
	char text[16];
	const char *values[1] = {text};
	const struct pv_pg_args args = {1, values, NULL, NULL, 0};

	if (before == PV_PG_SCHEMA_VERSION)
		return PV_OK;
	snprintf(text, sizeof(text), "%d", PV_PG_SCHEMA_VERSION);
	return pv_pg_run(pg, "UPDATE pam_vendor_schema SET version = $1::integer", &args,
	                 PGRES_COMMAND_OK, "cannot record the schema version", err);
}

/* What db init and db upgrade do once they hold the schema lock: check the version found
 * against what was asked, and create what is missing. */
static int install_steps(struct pv_pg *pg, bool upgrade, int *version, struct pv_err *err)
{
	if (schema_version(pg, version, err) != PV_OK)
		return PV_ERR;
	if (!upgrade && *version != 0) {
		pv_err_set(err,
		           "PostgreSQL: the pam_vendor schema (version %d) is already there; use "
		           "otpctl db upgrade",
		           *version);
		return PV_EXISTS;
	}
	if (upgrade && *version == 0) {
		pv_err_set(err, "PostgreSQL: no pam_vendor schema to upgrade; run otpctl db init");
		return PV_ERR;
	}
	if (*version > PV_PG_SCHEMA_VERSION) {
		pv_err_set(err, "PostgreSQL: schema version %d is newer than this otpctl (%d)",
		           *version, PV_PG_SCHEMA_VERSION);
		return PV_ERR;
	}
	if (*version < 1 && run_steps(pg, schema_v1, err) != PV_OK)
		return PV_ERR;
	/* Version 2: the audit table's per-host head and filter columns (store_pg_audit.c). */
	if (*version < 2 && run_steps(pg, pv_pg_schema_audit_head, err) != PV_OK)
		return PV_ERR;
	/* Later versions add their steps here, from *version up to PV_PG_SCHEMA_VERSION. */
	return record_version(pg, *version, err);
}

int pv_pg_schema_install(const struct pv_config *cfg, bool upgrade, int *version,
                         struct pv_err *err)
{
	struct pv_pg *pg = NULL;
	int rc;

	*version = 0;
	if (pv_pg_connect(cfg, &pg, err) != PV_OK)
		return PV_ERR;
	rc = pv_pg_begin(pg, err);
	/* One installer at a time, even from two gateways (a transaction-scoped advisory lock;
	 * the key is arbitrary but fixed: "pamv" in ASCII). */
	if (rc == PV_OK)
		rc = pv_pg_run(pg, "SELECT pg_advisory_xact_lock(1885433206)", NULL,
		               PGRES_TUPLES_OK, "cannot take the schema lock", err);
	if (rc == PV_OK)
		rc = install_steps(pg, upgrade, version, err);
	if (rc == PV_OK)
		rc = pv_pg_commit(pg, "cannot commit the schema", err);
	pv_pg_rollback(pg);
	pv_pg_close(pg);
	return rc;
}

/* The audit operations, on the store's connection (store_pg_audit.c). */
static int pg_audit_mirror(void *state, uint64_t seq, const char *line, struct pv_err *err)
{
	return pv_pg_audit_mirror(((struct pg_store *)state)->pg, seq, line, err);
}

static int pg_audit_foreach(void *state, const struct pv_store_audit_query *q, pv_store_audit_fn fn,
                            void *ctx, struct pv_err *err)
{
	return pv_pg_audit_foreach(((struct pg_store *)state)->pg, q, fn, ctx, err);
}

static int pg_audit_heads(void *state, pv_store_audit_head_fn fn, void *ctx, struct pv_err *err)
{
	return pv_pg_audit_heads(((struct pg_store *)state)->pg, fn, ctx, err);
}

static int pg_audit_copy_log(void *state, const char *audit_log, unsigned long *copied,
                             struct pv_err *err)
{
	return pv_pg_audit_copy_log(((struct pg_store *)state)->pg, audit_log, copied, err);
}

const struct pv_store_ops pv_store_pg_ops = {
    .is_database = true,
    .open = pg_open,
    .close = pg_close,
    .exists = pg_exists,
    .load = pg_load,
    .lock = pg_lock,
    .save = pg_save,
    .save_audited = pg_save_audited,
    .unlock = pg_unlock,
    .create = pg_create,
    .remove = pg_remove,
    .list = pg_list,
    .audit_mirror = pg_audit_mirror,
    .audit_foreach = pg_audit_foreach,
    .audit_heads = pg_audit_heads,
    .audit_copy_log = pg_audit_copy_log,
};

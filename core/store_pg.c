/* SPDX-License-Identifier: BSD-3-Clause */
/* store_pg.c — the PostgreSQL backend of store.h (store_backend.h's operations) and the
 * schema installer (store_pg.h). One row per vendor holds its sealed record; a
 * read-modify-write is one transaction holding the row (SELECT ... FOR UPDATE), so a code
 * consumed on one gateway is refused on every other. One connection per store_open
 * (pgconn.c): nothing outlives the PAM call that opened it. Every statement takes its
 * parameters apart from the SQL (no SQL built from input). The audit table and its per-host
 * heads are in store_pg_audit.c. */
#include "store_pg.h"

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

/* The schema version for a store about to be used, in one statement: an undefined table
 * (SQLSTATE 42P01) is no schema (0). Not for the installer: inside its transaction an error
 * would end the transaction (schema_version asks first). */
static int schema_version_quick(struct pv_pg *pg, int *version, struct pv_err *err)
{
	PGresult *res;

	*version = 0;
	res = pv_pg_query(pg, "SELECT version FROM pam_vendor_schema", NULL, PGRES_TUPLES_OK,
	                  "cannot read the schema version", err);
	if (res == NULL)
		return strcmp(pg->sqlstate, "42P01") == 0 ? PV_OK : PV_ERR;
	return version_of(pg, res, version, err);
}

static int pg_open(const struct pv_config *cfg, void **state, struct pv_err *err)
{
	struct pv_pg *pg;
	int version = 0;

	*state = NULL;
	if (pv_pg_connect(cfg, &pg, err) != PV_OK)
		return PV_ERR;
	if (schema_version_quick(pg, &version, err) != PV_OK)
		goto fail;
	if (version != PV_PG_SCHEMA_VERSION) {
		if (version == 0)
			pv_err_set(err,
			           "PostgreSQL: no pam_vendor schema in this database; run otpctl "
			           "db init");
		else
			pv_err_set(
			    err,
			    "PostgreSQL: schema version %d is not the one this pam_vendor knows "
			    "(%d); %s",
			    version, PV_PG_SCHEMA_VERSION,
			    version < PV_PG_SCHEMA_VERSION ? "run otpctl db upgrade"
			                                   : "install the matching pam_vendor");
		goto fail;
	}
	*state = pg;
	return PV_OK;
fail:
	pv_pg_close(pg);
	return PV_ERR;
}

static void pg_close(void *state)
{
	pv_pg_close(state);
}

static int pg_exists(void *state, const char *name, bool *exists, struct pv_err *err)
{
	struct pv_pg *pg = state;
	const char *values[1] = {name};
	const struct pv_pg_args args = {1, values, NULL, NULL, 0};
	PGresult *res;

	*exists = false;
	res = pv_pg_query(pg, "SELECT 1 FROM pam_vendor_vendors WHERE name = $1", &args,
	                  PGRES_TUPLES_OK, "cannot look up a vendor", err);
	if (res == NULL)
		return PV_ERR;
	*exists = pg->pq.ntuples(res) > 0;
	pg->pq.clear(res);
	return PV_OK;
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

static int pg_load(void *state, const char *name, unsigned char **sealed, size_t *len,
                   struct pv_err *err)
{
	return read_sealed(state, 0, "SELECT sealed FROM pam_vendor_vendors WHERE name = $1",
	                   "read", name, sealed, len, err);
}

static int pg_lock(void *state, const char *name, unsigned char **sealed, size_t *len,
                   struct pv_err *err)
{
	/* BEGIN and the row lock in one round trip. The row lock serialises every gateway's
	 * read-modify-write of this vendor; a row deleted while we waited is no row
	 * (PV_NOTFOUND). */
	return read_sealed(state, PV_PG_BEGIN,
	                   "SELECT sealed FROM pam_vendor_vendors WHERE name = $1 FOR UPDATE",
	                   "lock", name, sealed, len, err);
}

/* Store the sealed bytes as a new row (insert: a transaction of its own) or the next version
 * of the row, committing the transaction pg_lock opened in the same round trip. */
static int write_row(struct pv_pg *pg, const char *name, const unsigned char *sealed, size_t len,
                     bool insert, struct pv_err *err)
{
	const char *values[2] = {name, (const char *)sealed};
	const int lengths[2] = {0, (int)len};
	const int formats[2] = {0, 1};
	const struct pv_pg_args args = {2, values, lengths, formats, 0};
	struct pv_pg_stmt st = {
	    .sql = insert ? "INSERT INTO pam_vendor_vendors (name, version, sealed) "
	                    "VALUES ($1, 1, $2) ON CONFLICT (name) DO NOTHING"
	                  : "UPDATE pam_vendor_vendors SET sealed = $2, version = version + 1,"
	                    " updated_at = now() WHERE name = $1",
	    .args = &args,
	    .expect = PGRES_COMMAND_OK,
	    .keep = true};
	char what[PV_NAME_MAX + 32];
	PGresult *res;
	int rc = PV_ERR;

	snprintf(what, sizeof(what), "cannot save vendor %s", name);
	if (pv_pg_batch(pg, insert ? 0 : PV_PG_COMMIT, &st, 1, what, err) != PV_OK)
		return PV_ERR;
	res = st.res;
	if (strcmp(pg->pq.cmdTuples(res), "1") != 0) {
		rc = insert ? PV_EXISTS : PV_NOTFOUND;
		if (insert)
			pv_err_set(err, "vendor %s already exists", name);
		else
			pv_err_set(err, "vendor %s was removed meanwhile", name);
		goto out;
	}
	rc = PV_OK;
out:
	pg->pq.clear(res);
	return rc;
}

static int pg_save(void *state, const char *name, const unsigned char *sealed, size_t len,
                   struct pv_err *err)
{
	/* The UPDATE and its COMMIT in one round trip: durable when it returns PV_OK. */
	return write_row(state, name, sealed, len, false, err) == PV_OK ? PV_OK : PV_ERR;
}

static void pg_unlock(void *state)
{
	pv_pg_rollback(state);
}

static int pg_create(void *state, const char *name, const unsigned char *sealed, size_t len,
                     struct pv_err *err)
{
	return write_row(state, name, sealed, len, true, err);
}

static int pg_remove(void *state, const char *name, struct pv_err *err)
{
	struct pv_pg *pg = state;
	const char *values[1] = {name};
	const struct pv_pg_args args = {1, values, NULL, NULL, 0};
	PGresult *res;
	int rc = PV_OK;

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
	struct pv_pg *pg = state;
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

const struct pv_store_ops pv_store_pg_ops = {
    .is_database = true,
    .open = pg_open,
    .close = pg_close,
    .exists = pg_exists,
    .load = pg_load,
    .lock = pg_lock,
    .save = pg_save,
    .unlock = pg_unlock,
    .create = pg_create,
    .remove = pg_remove,
    .list = pg_list,
    .audit_mirror = pv_pg_audit_mirror,
    .audit_foreach = pv_pg_audit_foreach,
    .audit_heads = pv_pg_audit_heads,
    .audit_copy_log = pv_pg_audit_copy_log,
};

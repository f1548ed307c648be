/* store_pg.c — the PostgreSQL backend (see store_pg.h). libpq only; every statement takes
 * parameters separately (no SQL built from input).
 *
 * libpq is loaded with dlopen when a store is opened with store_backend = postgresql, not
 * linked: it pulls in GnuTLS, LDAP and Kerberos, which have no business in sshd's or
 * OpenVPN's processes when the file store is used (the default), and whose initialisers
 * deadlocked in OpenVPN's forked PAM helper. It is loaded once (RTLD_NODELETE) and kept. */
#include "store_pg.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "seal.h"
#include "timeparse.h"

#define MAX_VENDORS 1000000

/* The libpq functions we use, resolved from libpq.so.5. */
struct pq_api {
	PGconn *(*connectdbParams)(const char *const *keywords, const char *const *values,
	                           int expand_dbname);
	ConnStatusType (*status)(const PGconn *conn);
	char *(*errorMessage)(const PGconn *conn);
	void (*finish)(PGconn *conn);
	PGresult *(*exec)(PGconn *conn, const char *query);
	PGresult *(*execParams)(PGconn *conn, const char *command, int nParams, const Oid *types,
	                        const char *const *values, const int *lengths, const int *formats,
	                        int resultFormat);
	ExecStatusType (*resultStatus)(const PGresult *res);
	char *(*resultErrorMessage)(const PGresult *res);
	char *(*resultErrorField)(const PGresult *res, int fieldcode);
	int (*ntuples)(const PGresult *res);
	char *(*getvalue)(const PGresult *res, int row, int column);
	int (*getlength)(const PGresult *res, int row, int column);
	char *(*cmdTuples)(PGresult *res);
	void (*clear)(PGresult *res);
};

struct pv_pg {
	struct pq_api pq;
	PGconn *conn;
};

static int load_libpq(struct pq_api *pq, struct pv_err *err)
{
	static const struct {
		const char *name;
		size_t offset;
	} syms[] = {
	    {"PQconnectdbParams", offsetof(struct pq_api, connectdbParams)},
	    {"PQstatus", offsetof(struct pq_api, status)},
	    {"PQerrorMessage", offsetof(struct pq_api, errorMessage)},
	    {"PQfinish", offsetof(struct pq_api, finish)},
	    {"PQexec", offsetof(struct pq_api, exec)},
	    {"PQexecParams", offsetof(struct pq_api, execParams)},
	    {"PQresultStatus", offsetof(struct pq_api, resultStatus)},
	    {"PQresultErrorMessage", offsetof(struct pq_api, resultErrorMessage)},
	    {"PQresultErrorField", offsetof(struct pq_api, resultErrorField)},
	    {"PQntuples", offsetof(struct pq_api, ntuples)},
	    {"PQgetvalue", offsetof(struct pq_api, getvalue)},
	    {"PQgetlength", offsetof(struct pq_api, getlength)},
	    {"PQcmdTuples", offsetof(struct pq_api, cmdTuples)},
	    {"PQclear", offsetof(struct pq_api, clear)},
	};
	void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	size_t i;

	if (lib == NULL) {
		pv_err_set(err, "PostgreSQL: cannot load libpq.so.5 (apt-get install libpq5): %s",
		           dlerror());
		return PV_ERR;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *fn = dlsym(lib, syms[i].name);
		if (fn == NULL) {
			pv_err_set(err, "PostgreSQL: libpq.so.5 has no %s", syms[i].name);
			return PV_ERR;
		}
		/* POSIX: a function pointer has the representation of a data pointer. */
		memcpy((char *)pq + syms[i].offset, &fn, sizeof(fn));
	}
	return PV_OK;
}

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

/* libpq's message, on one line (it ends with a newline and may hold several). */
static void pg_error(struct pv_err *err, const char *what, const char *msg)
{
	char clean[400];
	size_t i;

	snprintf(clean, sizeof(clean), "%s", msg ? msg : "unknown error");
	for (i = 0; clean[i] != '\0'; i++)
		if (clean[i] == '\n' || clean[i] == '\r' || clean[i] == '\t')
			clean[i] = ' ';
	while (i > 0 && clean[i - 1] == ' ')
		clean[--i] = '\0';
	pv_err_set(err, "PostgreSQL: %s: %s", what, clean);
}

static void result_error(struct pv_pg *pg, PGresult *res, const char *what, struct pv_err *err)
{
	const char *state = res ? pg->pq.resultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? pg->pq.resultErrorMessage(res) : pg->pq.errorMessage(pg->conn);

	if (msg == NULL || msg[0] == '\0')
		msg = pg->pq.errorMessage(pg->conn);
	/* 25006: read-only transaction (a standby); 57014: statement timeout. */
	if (state != NULL && strcmp(state, "25006") == 0)
		pg_error(
		    err, what,
		    "the server is read-only (a standby?); use target_session_attrs=read-write");
	else if (state != NULL && strcmp(state, "57014") == 0)
		pg_error(err, what, "statement timed out (pg_timeout)");
	else
		pg_error(err, what, msg);
}

static PGresult *exec_params(struct pv_pg *pg, const char *sql, int n, const char *const *values,
                             const int *lengths, const int *formats, int result_format)
{
	return pg->pq.execParams(pg->conn, sql, n, NULL, values, lengths, formats, result_format);
}

static int exec_simple(struct pv_pg *pg, const char *sql, const char *what, struct pv_err *err)
{
	PGresult *res = pg->pq.exec(pg->conn, sql);
	int rc = PV_OK;

	if (res == NULL || pg->pq.resultStatus(res) != PGRES_COMMAND_OK) {
		result_error(pg, res, what, err);
		rc = PV_ERR;
	}
	pg->pq.clear(res);
	return rc;
}

static int exec_tuples(struct pv_pg *pg, const char *sql, const char *what, struct pv_err *err)
{
	PGresult *res = pg->pq.exec(pg->conn, sql);
	int rc = PV_OK;

	if (res == NULL || pg->pq.resultStatus(res) != PGRES_TUPLES_OK) {
		result_error(pg, res, what, err);
		rc = PV_ERR;
	}
	pg->pq.clear(res);
	return rc;
}

static int connect_db(const struct pv_config *cfg, struct pv_pg **out, struct pv_err *err)
{
	char timeout[24];
	char options[96];
	char tcp_timeout[24];
	const char *keys[] = {"dbname",           "connect_timeout",  "options",
	                      "tcp_user_timeout", "application_name", NULL};
	const char *values[6];
	struct pv_pg *pg;

	*out = NULL;
	pg = calloc(1, sizeof(*pg));
	if (pg == NULL) {
		pv_err_set(err, "out of memory connecting to PostgreSQL");
		return PV_ERR;
	}
	/* libpq counts connect_timeout in whole seconds (at least 2); statements are bounded on
	 * the server (statement_timeout, lock_timeout) and the TCP link by tcp_user_timeout. */
	snprintf(timeout, sizeof(timeout), "%" PRId64, cfg->pg_timeout < 2 ? 2 : cfg->pg_timeout);
	snprintf(options, sizeof(options),
	         "-c statement_timeout=%" PRId64 " -c lock_timeout=%" PRId64,
	         cfg->pg_timeout * 1000, cfg->pg_timeout * 1000);
	snprintf(tcp_timeout, sizeof(tcp_timeout), "%" PRId64, cfg->pg_timeout * 1000);
	if (load_libpq(&pg->pq, err) != PV_OK) {
		free(pg);
		return PV_ERR;
	}
	values[0] = cfg->pg_conninfo;
	values[1] = timeout;
	values[2] = options;
	values[3] = tcp_timeout;
	values[4] = "pam_vendor";
	values[5] = NULL;
	pg->conn = pg->pq.connectdbParams(keys, values, 1);
	if (pg->conn == NULL || pg->pq.status(pg->conn) != CONNECTION_OK) {
		pg_error(err, "cannot connect",
		         pg->conn ? pg->pq.errorMessage(pg->conn) : "out of memory");
		pv_pg_close(pg);
		return PV_ERR;
	}
	*out = pg;
	return PV_OK;
}

/* The schema version, or 0 when there is no schema table. */
static int schema_version(struct pv_pg *pg, int *version, struct pv_err *err)
{
	PGresult *res;
	uint64_t v = 0;
	int rc = PV_ERR;

	*version = 0;
	res = pg->pq.exec(pg->conn, "SELECT to_regclass('pam_vendor_schema') IS NOT NULL");
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_TUPLES_OK ||
	    pg->pq.ntuples(res) != 1) {
		result_error(pg, res, "cannot read the schema", err);
		goto out;
	}
	if (strcmp(pg->pq.getvalue(res, 0, 0), "t") != 0) {
		rc = PV_OK;
		goto out;
	}
	pg->pq.clear(res);
	res = pg->pq.exec(pg->conn, "SELECT version FROM pam_vendor_schema");
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_TUPLES_OK) {
		result_error(pg, res, "cannot read the schema version", err);
		goto out;
	}
	if (pg->pq.ntuples(res) != 1) {
		pv_err_set(err, "PostgreSQL: pam_vendor_schema holds %d rows, expected one",
		           pg->pq.ntuples(res));
		goto out;
	}
	if (pv_parse_u64(pg->pq.getvalue(res, 0, 0), INT32_MAX, &v) != PV_OK || v == 0) {
		pv_err_set(err, "PostgreSQL: pam_vendor_schema holds an invalid version");
		goto out;
	}
	*version = (int)v;
	rc = PV_OK;
out:
	pg->pq.clear(res);
	return rc;
}

int pv_pg_open(const struct pv_config *cfg, struct pv_pg **out, struct pv_err *err)
{
	struct pv_pg *pg;
	int version = 0;

	if (connect_db(cfg, &pg, err) != PV_OK)
		return PV_ERR;
	if (schema_version(pg, &version, err) != PV_OK)
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
	*out = pg;
	return PV_OK;
fail:
	pv_pg_close(pg);
	return PV_ERR;
}

void pv_pg_close(struct pv_pg *pg)
{
	if (pg == NULL)
		return;
	if (pg->conn != NULL)
		pg->pq.finish(pg->conn);
	free(pg);
}

int pv_pg_exists(struct pv_pg *pg, const char *name, bool *exists, struct pv_err *err)
{
	const char *values[1] = {name};
	PGresult *res;
	int rc = PV_ERR;

	*exists = false;
	res = exec_params(pg, "SELECT 1 FROM pam_vendor_vendors WHERE name = $1", 1, values, NULL,
	                  NULL, 0);
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_TUPLES_OK) {
		result_error(pg, res, "cannot look up a vendor", err);
		goto out;
	}
	*exists = pg->pq.ntuples(res) > 0;
	rc = PV_OK;
out:
	pg->pq.clear(res);
	return rc;
}

/* Unseal the single row's sealed column (binary result) into rec. */
static int unseal_row(struct pv_pg *pg, PGresult *res, const struct pv_keys *keys, const char *name,
                      struct pv_record *rec, struct pv_err *err)
{
	const unsigned char *data = (const unsigned char *)pg->pq.getvalue(res, 0, 0);
	int len = pg->pq.getlength(res, 0, 0);

	if (len <= 0 || (size_t)len > PV_SEALED_MAX) {
		pv_err_set(err, "PostgreSQL: the record of %s has an impossible size", name);
		return PV_ERR;
	}
	return pv_record_unseal(keys, name, data, (size_t)len, rec, err);
}

int pv_pg_load(struct pv_pg *pg, const struct pv_keys *keys, const char *name,
               struct pv_record *rec, struct pv_err *err)
{
	const char *values[1] = {name};
	PGresult *res;
	int rc = PV_ERR;

	res = exec_params(pg, "SELECT sealed FROM pam_vendor_vendors WHERE name = $1", 1, values,
	                  NULL, NULL, 1);
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_TUPLES_OK) {
		result_error(pg, res, "cannot read a vendor", err);
		goto out;
	}
	if (pg->pq.ntuples(res) == 0) {
		rc = PV_NOTFOUND;
		goto out;
	}
	rc = unseal_row(pg, res, keys, name, rec, err);
out:
	pg->pq.clear(res);
	return rc;
}

/* Store `rec` sealed as the new version of its row (inside the caller's transaction). */
static int write_row(struct pv_pg *pg, const struct pv_keys *keys, const struct pv_record *rec,
                     bool insert, struct pv_err *err)
{
	unsigned char *sealed = NULL;
	size_t len = 0;
	const char *values[2];
	int lengths[2];
	int formats[2] = {0, 1};
	PGresult *res = NULL;
	int rc = PV_ERR;

	if (pv_record_seal(keys, rec, &sealed, &len, err) != PV_OK)
		return PV_ERR;
	values[0] = rec->name;
	values[1] = (const char *)sealed;
	lengths[0] = 0;
	lengths[1] = (int)len;
	res =
	    exec_params(pg,
	                insert ? "INSERT INTO pam_vendor_vendors (name, version, sealed) "
	                         "VALUES ($1, 1, $2) ON CONFLICT (name) DO NOTHING"
	                       : "UPDATE pam_vendor_vendors SET sealed = $2, version = version + 1,"
	                         " updated_at = now() WHERE name = $1",
	                2, values, lengths, formats, 0);
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_COMMAND_OK) {
		result_error(pg, res, "cannot save a vendor", err);
		goto out;
	}
	if (strcmp(pg->pq.cmdTuples(res), "1") != 0) {
		rc = insert ? PV_EXISTS : PV_NOTFOUND;
		if (insert)
			pv_err_set(err, "vendor %s already exists", rec->name);
		else
			pv_err_set(err, "vendor %s was removed meanwhile", rec->name);
		goto out;
	}
	rc = PV_OK;
out:
	pg->pq.clear(res);
	free(sealed);
	return rc;
}

static void rollback(struct pv_pg *pg)
{
	PGresult *res = pg->pq.exec(pg->conn, "ROLLBACK");

	pg->pq.clear(res);
}

int pv_pg_update(struct pv_pg *pg, const struct pv_keys *keys, const char *name, pv_modify_fn fn,
                 void *ctx, struct pv_err *err)
{
	const char *values[1] = {name};
	struct pv_record *rec;
	PGresult *res = NULL;
	bool in_tx = false;
	int rc = PV_ERR;

	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	if (exec_simple(pg, "BEGIN", "cannot start a transaction", err) != PV_OK)
		goto out;
	in_tx = true;
	/* The row lock serialises every gateway's read-modify-write of this vendor. */
	res = exec_params(pg, "SELECT sealed FROM pam_vendor_vendors WHERE name = $1 FOR UPDATE", 1,
	                  values, NULL, NULL, 1);
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_TUPLES_OK) {
		result_error(pg, res, "cannot lock a vendor", err);
		goto out;
	}
	if (pg->pq.ntuples(res) == 0) {
		rc = PV_NOTFOUND;
		goto out;
	}
	if (unseal_row(pg, res, keys, name, rec, err) != PV_OK)
		goto out;
	pg->pq.clear(res);
	res = NULL;
	switch (fn(rec, ctx, err)) {
	case PV_MODIFY_SAVE:
		if (write_row(pg, keys, rec, false, err) != PV_OK)
			goto out;
		/* Durable when COMMIT returns (synchronous_commit = on, the default). */
		if (exec_simple(pg, "COMMIT", "cannot commit", err) != PV_OK)
			goto out;
		in_tx = false;
		break;
	case PV_MODIFY_KEEP:
		break;
	default:
		goto out;
	}
	rc = PV_OK;
out:
	if (in_tx)
		rollback(pg);
	pg->pq.clear(res);
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return rc;
}

int pv_pg_create(struct pv_pg *pg, const struct pv_keys *keys, const struct pv_record *rec,
                 struct pv_err *err)
{
	return write_row(pg, keys, rec, true, err);
}

int pv_pg_remove(struct pv_pg *pg, const char *name, struct pv_err *err)
{
	const char *values[1] = {name};
	PGresult *res;
	int rc = PV_ERR;

	res = exec_params(pg, "DELETE FROM pam_vendor_vendors WHERE name = $1", 1, values, NULL,
	                  NULL, 0);
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_COMMAND_OK) {
		result_error(pg, res, "cannot remove a vendor", err);
		goto out;
	}
	if (strcmp(pg->pq.cmdTuples(res), "1") != 0) {
		pv_err_set(err, "vendor %s does not exist", name);
		rc = PV_NOTFOUND;
		goto out;
	}
	rc = PV_OK;
out:
	pg->pq.clear(res);
	return rc;
}

int pv_pg_list(struct pv_pg *pg, char (**names)[PV_NAME_MAX + 1], size_t *n, struct pv_err *err)
{
	char(*list)[PV_NAME_MAX + 1] = NULL;
	PGresult *res;
	int rows;
	int i;
	int rc = PV_ERR;

	*names = NULL;
	*n = 0;
	res = pg->pq.exec(pg->conn,
	                  "SELECT name FROM pam_vendor_vendors ORDER BY name COLLATE \"C\"");
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_TUPLES_OK) {
		result_error(pg, res, "cannot list vendors", err);
		goto out;
	}
	rows = pg->pq.ntuples(res);
	if (rows > MAX_VENDORS) {
		pv_err_set(err, "PostgreSQL: more than %d vendors", MAX_VENDORS);
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

int pv_pg_schema_install(const struct pv_config *cfg, bool upgrade, int *version,
                         struct pv_err *err)
{
	struct pv_pg *pg = NULL;
	bool in_tx = false;
	int rc = PV_ERR;
	int i;

	if (connect_db(cfg, &pg, err) != PV_OK)
		return PV_ERR;
	if (exec_simple(pg, "BEGIN", "cannot start a transaction", err) != PV_OK)
		goto out;
	in_tx = true;
	/* One installer at a time, even from two gateways (a transaction-scoped advisory lock;
	 * the key is arbitrary but fixed: "pamv" in ASCII). */
	if (exec_tuples(pg, "SELECT pg_advisory_xact_lock(1885433206)",
	                "cannot take the schema lock", err) != PV_OK)
		goto out;
	if (schema_version(pg, version, err) != PV_OK)
		goto out;
	if (!upgrade && *version != 0) {
		pv_err_set(err,
		           "PostgreSQL: the pam_vendor schema (version %d) is already there; use "
		           "otpctl db upgrade",
		           *version);
		rc = PV_EXISTS;
		goto out;
	}
	if (upgrade && *version == 0) {
		pv_err_set(err, "PostgreSQL: no pam_vendor schema to upgrade; run otpctl db init");
		goto out;
	}
	if (*version > PV_PG_SCHEMA_VERSION) {
		pv_err_set(err, "PostgreSQL: schema version %d is newer than this otpctl (%d)",
		           *version, PV_PG_SCHEMA_VERSION);
		goto out;
	}
	if (*version == 0)
		for (i = 0; schema_v1[i] != NULL; i++)
			if (exec_simple(pg, schema_v1[i], "cannot create the schema", err) != PV_OK)
				goto out;
	/* Later versions add their steps here, from *version up to PV_PG_SCHEMA_VERSION. */
	if (exec_simple(pg, "COMMIT", "cannot commit the schema", err) != PV_OK)
		goto out;
	in_tx = false;
	rc = PV_OK;
out:
	if (in_tx)
		rollback(pg);
	pv_pg_close(pg);
	return rc;
}

int pv_pg_audit_insert(struct pv_pg *pg, const char *host, uint64_t seq, const char *line,
                       struct pv_err *err)
{
	char seqtext[24];
	const char *values[3] = {host, seqtext, line};
	PGresult *res;
	int rc = PV_ERR;

	snprintf(seqtext, sizeof(seqtext), "%" PRIu64, seq);
	res = exec_params(pg, "INSERT INTO pam_vendor_audit (host, seq, line) VALUES ($1, $2, $3)",
	                  3, values, NULL, NULL, 0);
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_COMMAND_OK) {
		result_error(pg, res, "cannot insert the audit line", err);
		goto out;
	}
	rc = PV_OK;
out:
	pg->pq.clear(res);
	return rc;
}

int pv_pg_audit_foreach(struct pv_pg *pg, pv_pg_line_fn fn, void *ctx, struct pv_err *err)
{
	PGresult *res;
	int rows;
	int i;
	int rc = PV_ERR;

	res = pg->pq.exec(pg->conn,
	                  "SELECT host, seq, line FROM pam_vendor_audit ORDER BY host, seq");
	if (res == NULL || pg->pq.resultStatus(res) != PGRES_TUPLES_OK) {
		result_error(pg, res, "cannot read the audit table", err);
		goto out;
	}
	rows = pg->pq.ntuples(res);
	for (i = 0; i < rows; i++) {
		uint64_t seq = 0;
		if (pv_parse_u64(pg->pq.getvalue(res, i, 1), UINT64_MAX, &seq) != PV_OK) {
			pv_err_set(err, "PostgreSQL: pam_vendor_audit holds an invalid seq");
			goto out;
		}
		if (fn(pg->pq.getvalue(res, i, 0), seq, pg->pq.getvalue(res, i, 2),
		       (size_t)pg->pq.getlength(res, i, 2), ctx) != 0)
			break;
	}
	rc = PV_OK;
out:
	pg->pq.clear(res);
	return rc;
}

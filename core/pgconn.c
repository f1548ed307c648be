/* pgconn.c — pgconn.h: one PostgreSQL connection, libpq loaded at run time.
 *
 * libpq is loaded with dlopen when a store is opened with store_backend = postgresql, not
 * linked: it pulls in GnuTLS, LDAP and Kerberos, which have no business in sshd's or
 * OpenVPN's processes when the file store is used (the default), and whose initialisers
 * deadlocked in OpenVPN's forked PAM helper. It is loaded once (RTLD_NODELETE) and kept. */
#include "pgconn.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Every database call after the connection goes through here. */
PGresult *pv_pg_query(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
                      ExecStatusType expect, const char *what, struct pv_err *err)
{
	static const struct pv_pg_args none = {0, NULL, NULL, NULL, 0};
	PGresult *res;

	if (args == NULL)
		args = &none;
	res = pg->pq.execParams(pg->conn, sql, args->n, NULL, args->values, args->lengths,
	                        args->formats, args->binary_result);
	if (res != NULL && pg->pq.resultStatus(res) == expect)
		return res;
	result_error(pg, res, what, err);
	pg->pq.clear(res);
	return NULL;
}

int pv_pg_run(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
              ExecStatusType expect, const char *what, struct pv_err *err)
{
	PGresult *res = pv_pg_query(pg, sql, args, expect, what, err);

	if (res == NULL)
		return PV_ERR;
	pg->pq.clear(res);
	return PV_OK;
}

/* Nothing to report: the connection is closed next, or the transaction is gone either way. */
void pv_pg_rollback(struct pv_pg *pg)
{
	struct pv_err ignored;

	if (!pg->in_tx)
		return;
	(void)pv_pg_run(pg, "ROLLBACK", NULL, PGRES_COMMAND_OK, "cannot roll back", &ignored);
	pg->in_tx = false;
}

int pv_pg_begin(struct pv_pg *pg, struct pv_err *err)
{
	if (pv_pg_run(pg, "BEGIN", NULL, PGRES_COMMAND_OK, "cannot start a transaction", err) !=
	    PV_OK)
		return PV_ERR;
	pg->in_tx = true;
	return PV_OK;
}

int pv_pg_commit(struct pv_pg *pg, const char *what, struct pv_err *err)
{
	if (pv_pg_run(pg, "COMMIT", NULL, PGRES_COMMAND_OK, what, err) != PV_OK)
		return PV_ERR;
	pg->in_tx = false;
	return PV_OK;
}

void pv_pg_close(struct pv_pg *pg)
{
	if (pg == NULL)
		return;
	if (pg->conn != NULL)
		pg->pq.finish(pg->conn);
	free(pg);
}

int pv_pg_connect(const struct pv_config *cfg, struct pv_pg **out, struct pv_err *err)
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

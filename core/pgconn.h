/* pgconn.h — one PostgreSQL connection for the PostgreSQL store (private to store_pg.c):
 * libpq loaded at run time, every statement through pv_pg_query, errors on one line. */
#ifndef PV_PGCONN_H
#define PV_PGCONN_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "config.h"
#include "err.h"

/* The libpq functions we use, resolved from libpq.so.5. */
struct pq_api {
	PGconn *(*connectdbParams)(const char *const *keywords, const char *const *values,
	                           int expand_dbname);
	ConnStatusType (*status)(const PGconn *conn);
	char *(*errorMessage)(const PGconn *conn);
	void (*finish)(PGconn *conn);
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
	struct pq_api pq; /* results are read with these (pq.ntuples, pq.getvalue, ...) */
	PGconn *conn;
	bool in_tx; /* a transaction is open (pv_pg_begin, until commit or rollback) */
};

/* A statement's parameters (text unless formats says binary) and its result format. */
struct pv_pg_args {
	int n;
	const char *const *values;
	const int *lengths;
	const int *formats;
	int binary_result;
};

/* Connect with pg_conninfo; pg_timeout bounds the connection, each statement on the server
 * and the TCP link. Errors name the stage ("PostgreSQL: cannot connect: ..."). */
int pv_pg_connect(const struct pv_config *cfg, struct pv_pg **out, struct pv_err *err);
void pv_pg_close(struct pv_pg *pg);

/* Run sql with its parameters apart (args NULL: none). The result when its status is
 * `expect` (the caller clears it with pg->pq.clear), else NULL with err set to
 * "PostgreSQL: <what>: <why>". */
PGresult *pv_pg_query(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
                      ExecStatusType expect, const char *what, struct pv_err *err);
/* The same when only the status matters. PV_OK or PV_ERR. */
int pv_pg_run(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
              ExecStatusType expect, const char *what, struct pv_err *err);

int pv_pg_begin(struct pv_pg *pg, struct pv_err *err);
/* Durable when it returns PV_OK (synchronous_commit = on, the default). */
int pv_pg_commit(struct pv_pg *pg, const char *what, struct pv_err *err);
/* Drop the open transaction, if any. */
void pv_pg_rollback(struct pv_pg *pg);

#endif

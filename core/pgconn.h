/* SPDX-License-Identifier: BSD-3-Clause */
/* pgconn.h — one PostgreSQL connection for the PostgreSQL store (private to store_pg.c):
 * libpq loaded at run time, every statement through pv_pg_query, errors on one line. */
#ifndef PV_PGCONN_H
#define PV_PGCONN_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "config.h"
#include "err.h"

/* The libpq functions we use, resolved from libpq.so.5. */
struct pq_api {
	PGconn *(*connectStartParams)(const char *const *keywords, const char *const *values,
	                              int expand_dbname);
	PostgresPollingStatusType (*connectPoll)(PGconn *conn);
	ConnStatusType (*status)(const PGconn *conn);
	int (*socket)(const PGconn *conn);
	int (*setnonblocking)(PGconn *conn, int arg);
	char *(*errorMessage)(const PGconn *conn);
	void (*finish)(PGconn *conn);
	int (*sendQueryParams)(PGconn *conn, const char *command, int nParams, const Oid *types,
	                       const char *const *values, const int *lengths, const int *formats,
	                       int resultFormat);
	int (*flush)(PGconn *conn);
	int (*consumeInput)(PGconn *conn);
	int (*isBusy)(PGconn *conn);
	PGresult *(*getResult)(PGconn *conn);
	ExecStatusType (*resultStatus)(const PGresult *res);
	char *(*resultErrorMessage)(const PGresult *res);
	char *(*resultErrorField)(const PGresult *res, int fieldcode);
	int (*ntuples)(const PGresult *res);
	char *(*getvalue)(const PGresult *res, int row, int column);
	int (*getlength)(const PGresult *res, int row, int column);
	char *(*cmdTuples)(PGresult *res);
	void (*clear)(PGresult *res);
	int (*enterPipelineMode)(PGconn *conn);
	int (*pipelineSync)(PGconn *conn);
};

struct pv_pg {
	struct pq_api pq;  /* results are read with these (pq.ntuples, pq.getvalue, ...) */
	PGconn *conn;      /* NULL once dropped after a wait ran out */
	int64_t timeout_s; /* pg_timeout: the bound on each wait for the server */
	bool in_tx;        /* a transaction is open (BEGIN, until COMMIT or ROLLBACK) */
	/* pv_pg_set_guard's check, until it passed once (NULL then) */
	const char *guard_sql;
	int (*guard_explain)(struct pv_pg *pg, struct pv_err *err);
};

/* A statement's parameters (text unless formats says binary) and its result format. */
struct pv_pg_args {
	int n;
	const char *const *values;
	const int *lengths;
	const int *formats;
	int binary_result;
};

/* A statement of a batch: its parameters (args NULL: none), the result status it must have,
 * and whether its result goes back to the caller (res, cleared by the caller with
 * pg->pq.clear). */
struct pv_pg_stmt {
	const char *sql;
	const struct pv_pg_args *args;
	ExecStatusType expect;
	bool keep;
	PGresult *res;
};

/* A number macro as SQL text, to build a statement at compile time. */
#define PV_PG_TEXT_OF(x) #x
#define PV_PG_NUMBER(x)  PV_PG_TEXT_OF(x)

/* The most statements a caller puts in one batch. */
#define PV_PG_BATCH_MAX 4

/* Batch flags: open a transaction before the statements; commit it after them; with
 * PV_PG_BEGIN, make it one read-only snapshot (REPEATABLE READ: every statement sees the
 * database as the first one did). */
#define PV_PG_BEGIN    1u
#define PV_PG_COMMIT   2u
#define PV_PG_SNAPSHOT 4u

/* Connect with pg_conninfo. Every wait for the server is bounded here, on the client, by
 * pg_timeout: the whole connection set-up (TCP, TLS, authentication) is one wait, each batch
 * (sending it, then reading its answers) another. A wait that runs out drops the connection;
 * later calls on it fail at once. Errors name the stage ("PostgreSQL: cannot connect: ...",
 * "PostgreSQL: cannot lock vendor acme: no answer within 2 s ..."). Every transaction runs
 * with synchronous_commit = on and the same pg_timeout as statement_timeout, lock_timeout and
 * idle_in_transaction_session_timeout on the server, set inside it (nothing is set on the
 * connection, so a pooler may hand the server connection to another client between
 * transactions). */
int pv_pg_connect(const struct pv_config *cfg, struct pv_pg **out, struct pv_err *err);
/* A check the connection's first batch carries ahead of the caller's statements, after the
 * transaction's settings (store_pg.c: the schema version), so that it costs no round trip of
 * its own. sql must fail on the server when the check does not pass: the server then runs
 * nothing after it in that pipeline, so none of the caller's statements take effect. Its
 * failure fails that batch with what explain says (explain may query: the transaction the
 * batch opened, if any, is rolled back first; it gets the server's error in err). Once the
 * check passed it is not sent again on this connection. */
void pv_pg_set_guard(struct pv_pg *pg, const char *sql,
                     int (*explain)(struct pv_pg *pg, struct pv_err *err));
/* Was the connection dropped, after a wait ran out or when it broke in the middle of a batch
 * (every later statement fails at once)? */
bool pv_pg_dropped(const struct pv_pg *pg);
void pv_pg_close(struct pv_pg *pg);

/* Send stmts[0..n) (n <= PV_PG_BATCH_MAX) in one round trip, a libpq pipeline: with
 * PV_PG_BEGIN after a BEGIN, with PV_PG_COMMIT followed by COMMIT; the transaction's server
 * settings go first in every transaction. Outside BEGIN ... COMMIT the batch is one implicit
 * transaction, committed at its end: it all happens or none of it. PV_OK when every
 * statement's result has its expected status (the kept ones in stmts[i].res); else PV_ERR
 * with err "PostgreSQL: <what>: <why>" for the first that did not, and no result kept. */
int pv_pg_batch(struct pv_pg *pg, unsigned flags, struct pv_pg_stmt *stmts, int n, const char *what,
                struct pv_err *err);

/* One statement alone, its parameters apart (args NULL: none). The result when its status is
 * `expect` (the caller clears it with pg->pq.clear), else NULL with err set to
 * "PostgreSQL: <what>: <why>". */
PGresult *pv_pg_query(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
                      ExecStatusType expect, const char *what, struct pv_err *err);
/* The same when only the status matters. PV_OK or PV_ERR. */
int pv_pg_run(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
              ExecStatusType expect, const char *what, struct pv_err *err);

int pv_pg_begin(struct pv_pg *pg, struct pv_err *err);
/* Durable when it returns PV_OK (every session sets synchronous_commit = on). */
int pv_pg_commit(struct pv_pg *pg, const char *what, struct pv_err *err);
/* Drop the open transaction, if any. */
void pv_pg_rollback(struct pv_pg *pg);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* pgconn.c — pgconn.h: one PostgreSQL connection, libpq loaded at run time.
 *
 * libpq is loaded with dlopen when a store is opened with store_backend = postgresql, not
 * linked: it pulls in GnuTLS, LDAP and Kerberos, which have no business in sshd's or
 * OpenVPN's processes when the file store is used (the default), and whose initialisers
 * deadlocked in OpenVPN's forked PAM helper. It is loaded once (RTLD_NODELETE) and kept. */
#include "pgconn.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int load_libpq(struct pq_api *pq, struct pv_err *err)
{
	static const struct {
		const char *name;
		size_t offset;
	} syms[] = {
	    {"PQconnectStartParams", offsetof(struct pq_api, connectStartParams)},
	    {"PQconnectPoll", offsetof(struct pq_api, connectPoll)},
	    {"PQstatus", offsetof(struct pq_api, status)},
	    {"PQsocket", offsetof(struct pq_api, socket)},
	    {"PQsetnonblocking", offsetof(struct pq_api, setnonblocking)},
	    {"PQerrorMessage", offsetof(struct pq_api, errorMessage)},
	    {"PQfinish", offsetof(struct pq_api, finish)},
	    {"PQsendQueryParams", offsetof(struct pq_api, sendQueryParams)},
	    {"PQflush", offsetof(struct pq_api, flush)},
	    {"PQconsumeInput", offsetof(struct pq_api, consumeInput)},
	    {"PQisBusy", offsetof(struct pq_api, isBusy)},
	    {"PQgetResult", offsetof(struct pq_api, getResult)},
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

/* The deadline of one wait: pg_timeout from now, on the monotonic clock (ms). */
static int64_t now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on Linux; a zero reading would only shorten the wait. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the connection's socket is ready for `events` or the deadline passes.
 * PV_OK: ready (or an error condition libpq will report on its next call); PV_ERR: time is
 * up, or poll failed. */
static int wait_socket(struct pv_pg *pg, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = pg->pq.socket(pg->conn), .events = events};

	if (pfd.fd < 0)
		return PV_OK; /* no socket: libpq reports the failure itself */
	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return PV_ERR;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return PV_OK;
		if (n < 0 && errno != EINTR)
			return PV_ERR;
	}
}

/* A wait ran out: drop the connection without a word to the server. libpq's PQcancel is not
 * used: it opens a second connection and blocks, without a bound, until the server answers,
 * and a stalled server is why we are here. The server ends the session when it next writes
 * to the closed socket, at the latest when statement_timeout (the same pg_timeout) ends the
 * statement: its transaction is rolled back and its row locks released. A COMMIT whose answer
 * never came may still have taken effect (store_backend.h: save). */
static void drop_connection(struct pv_pg *pg, const char *what, struct pv_err *err)
{
	pv_err_set(err, "PostgreSQL: %s: no answer within %" PRId64 " s (connection dropped)", what,
	           pg->timeout_s);
	pg->pq.finish(pg->conn);
	pg->conn = NULL;
	pg->in_tx = false;
}

/* Send the statement queued by PQsendQueryParams (the connection is non-blocking). */
static int send_all(struct pv_pg *pg, int64_t deadline)
{
	/* PQflush: 0 all sent, -1 failed (the result then says why), 1 more to send. */
	while (pg->pq.flush(pg->conn) == 1) {
		/* libpq's advice: wait for either, and read what came in so the server can go on.
		 */
		if (wait_socket(pg, POLLOUT | POLLIN, deadline) != PV_OK)
			return PV_ERR;
		if (pg->pq.consumeInput(pg->conn) == 0)
			return PV_OK; /* the failure shows in the result */
	}
	return PV_OK;
}

/* Read every result of the statement; keep the first error, else the last result. PV_ERR
 * only when the deadline passed (a broken connection gives a NULL or failed result). */
static int read_results(struct pv_pg *pg, int64_t deadline, PGresult **out)
{
	*out = NULL;
	for (;;) {
		PGresult *res;

		while (pg->pq.isBusy(pg->conn)) {
			if (wait_socket(pg, POLLIN, deadline) != PV_OK)
				goto timeout;
			if (pg->pq.consumeInput(pg->conn) == 0)
				break; /* PQgetResult now reports the broken connection */
		}
		res = pg->pq.getResult(pg->conn);
		if (res == NULL)
			return PV_OK;
		if (*out != NULL && pg->pq.resultStatus(*out) == PGRES_FATAL_ERROR) {
			pg->pq.clear(res);
			continue;
		}
		pg->pq.clear(*out);
		*out = res;
	}
timeout:
	pg->pq.clear(*out);
	*out = NULL;
	return PV_ERR;
}

/* One statement, answered before deadline or the connection is dropped. */
static PGresult *query_until(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
                             ExecStatusType expect, const char *what, int64_t deadline,
                             struct pv_err *err)
{
	static const struct pv_pg_args none = {0, NULL, NULL, NULL, 0};
	PGresult *res = NULL;

	if (args == NULL)
		args = &none;
	if (pg->conn == NULL) {
		pv_err_set(err, "PostgreSQL: %s: the connection was dropped after a timeout", what);
		return NULL;
	}
	if (pg->pq.sendQueryParams(pg->conn, sql, args->n, NULL, args->values, args->lengths,
	                           args->formats, args->binary_result) == 0) {
		pg_error(err, what, pg->pq.errorMessage(pg->conn));
		return NULL;
	}
	if (send_all(pg, deadline) != PV_OK || read_results(pg, deadline, &res) != PV_OK) {
		drop_connection(pg, what, err);
		return NULL;
	}
	if (res != NULL && pg->pq.resultStatus(res) == expect)
		return res;
	result_error(pg, res, what, err);
	pg->pq.clear(res);
	return NULL;
}

/* Every database call after the connection goes through here. */
PGresult *pv_pg_query(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
                      ExecStatusType expect, const char *what, struct pv_err *err)
{
	return query_until(pg, sql, args, expect, what, now_ms() + pg->timeout_s * 1000, err);
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

bool pv_pg_dropped(const struct pv_pg *pg)
{
	return pg->conn == NULL;
}

void pv_pg_close(struct pv_pg *pg)
{
	if (pg == NULL)
		return;
	if (pg->conn != NULL)
		pg->pq.finish(pg->conn);
	free(pg);
}

/* Drive PQconnectPoll until the session is up or the deadline passes. */
static int connect_poll(struct pv_pg *pg, int64_t deadline, struct pv_err *err)
{
	/* libpq: start as if PQconnectPoll had asked to wait for writing. */
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	for (;;) {
		if (st == PGRES_POLLING_OK)
			return PV_OK;
		if (st == PGRES_POLLING_FAILED) {
			pg_error(err, "cannot connect", pg->pq.errorMessage(pg->conn));
			return PV_ERR;
		}
		/* The socket may change between calls (several hosts), so wait_socket asks anew. */
		if (wait_socket(pg, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline) !=
		    PV_OK) {
			pv_err_set(err,
			           "PostgreSQL: cannot connect: no answer within %" PRId64
			           " s (connection dropped)",
			           pg->timeout_s);
			return PV_ERR;
		}
		st = pg->pq.connectPoll(pg->conn);
	}
}

/* The client bounds every wait (connect_poll, pv_pg_query); the server bounds statements,
 * lock waits and a transaction left idle (a client cut off while holding a row lock), so a
 * connection we dropped, or lost, does not hold a vendor's row for long. Commits are durable
 * before COMMIT answers (synchronous_commit = on, whatever the server's or the database's
 * default). Set by a statement, not by the startup packet's `options`, which a pooler such
 * as PgBouncer refuses; part of the connection set-up, under its deadline. */
static int set_session(struct pv_pg *pg, int64_t deadline, struct pv_err *err)
{
	char ms[24];
	const char *values[] = {ms};
	const struct pv_pg_args args = {1, values, NULL, NULL, 0};
	PGresult *res;

	snprintf(ms, sizeof(ms), "%" PRId64, pg->timeout_s * 1000);
	res = query_until(pg,
	                  "SELECT set_config('statement_timeout', $1, false), "
	                  "set_config('lock_timeout', $1, false), "
	                  "set_config('idle_in_transaction_session_timeout', $1, false), "
	                  "set_config('synchronous_commit', 'on', false)",
	                  &args, PGRES_TUPLES_OK, "cannot connect", deadline, err);
	if (res == NULL)
		return PV_ERR;
	pg->pq.clear(res);
	return PV_OK;
}

int pv_pg_connect(const struct pv_config *cfg, struct pv_pg **out, struct pv_err *err)
{
	char tcp_timeout[24];
	const char *keys[] = {"dbname", "tcp_user_timeout", "application_name", NULL};
	const char *values[4];
	struct pv_pg *pg;
	int64_t deadline = now_ms() + cfg->pg_timeout * 1000;

	*out = NULL;
	pg = calloc(1, sizeof(*pg));
	if (pg == NULL) {
		pv_err_set(err, "out of memory connecting to PostgreSQL");
		return PV_ERR;
	}
	pg->timeout_s = cfg->pg_timeout;
	snprintf(tcp_timeout, sizeof(tcp_timeout), "%" PRId64, cfg->pg_timeout * 1000);
	if (load_libpq(&pg->pq, err) != PV_OK) {
		free(pg);
		return PV_ERR;
	}
	values[0] = cfg->pg_conninfo;
	values[1] = tcp_timeout;
	values[2] = "pam_vendor";
	values[3] = NULL;
	pg->conn = pg->pq.connectStartParams(keys, values, 1);
	if (pg->conn == NULL || pg->pq.status(pg->conn) == CONNECTION_BAD) {
		pg_error(err, "cannot connect",
		         pg->conn ? pg->pq.errorMessage(pg->conn) : "out of memory");
		goto fail;
	}
	if (connect_poll(pg, deadline, err) != PV_OK)
		goto fail;
	/* Non-blocking: sending a statement never waits on a full socket outside our bound. */
	if (pg->pq.setnonblocking(pg->conn, 1) != 0) {
		pg_error(err, "cannot connect", pg->pq.errorMessage(pg->conn));
		goto fail;
	}
	if (set_session(pg, deadline, err) != PV_OK)
		goto fail;
	*out = pg;
	return PV_OK;
fail:
	pv_pg_close(pg);
	return PV_ERR;
}

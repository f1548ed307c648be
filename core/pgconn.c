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
	    {"PQenterPipelineMode", offsetof(struct pq_api, enterPipelineMode)},
	    {"PQpipelineSync", offsetof(struct pq_api, pipelineSync)},
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
			/* Pipeline mode came with libpq 14. */
			pv_err_set(err,
			           "PostgreSQL: libpq.so.5 has no %s (libpq 14 or later needed)",
			           syms[i].name);
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

/* The connection broke, or answered out of turn, in the middle of a pipeline: libpq's reason,
 * and the connection is dropped (a COMMIT sent may have taken effect, as above). */
static void lose_connection(struct pv_pg *pg, const char *what, struct pv_err *err)
{
	pg_error(err, what, pg->pq.errorMessage(pg->conn));
	pg->pq.finish(pg->conn);
	pg->conn = NULL;
	pg->in_tx = false;
}

/* Send what is queued (the connection is non-blocking). */
static int send_all(struct pv_pg *pg, int64_t deadline)
{
	/* PQflush: 0 all sent, -1 failed (the results then say why), 1 more to send. */
	while (pg->pq.flush(pg->conn) == 1) {
		/* libpq's advice: wait for either, and read what came in so the server can go on.
		 */
		if (wait_socket(pg, POLLOUT | POLLIN, deadline) != PV_OK)
			return PV_ERR;
		if (pg->pq.consumeInput(pg->conn) == 0)
			return PV_OK; /* the failure shows in the results */
	}
	return PV_OK;
}

/* How reading a pipeline's results ended. */
enum read_end { READ_SYNC, READ_TIMEOUT, READ_BROKEN };

/* Keep res as list[i]'s result: its first error, else its last result. */
static void keep_result(struct pv_pg *pg, struct pv_pg_stmt *st, PGresult *res)
{
	if (st->res != NULL && pg->pq.resultStatus(st->res) == PGRES_FATAL_ERROR) {
		pg->pq.clear(res);
		return;
	}
	pg->pq.clear(st->res);
	st->res = res;
}

/* Read the results of list[0..n) up to the pipeline's sync. libpq ends each statement's
 * results with a NULL, the pipeline with a PGRES_PIPELINE_SYNC result. A connection that
 * breaks, or answers out of turn, ends the reading (READ_BROKEN). */
static enum read_end read_pipeline(struct pv_pg *pg, struct pv_pg_stmt *list, int n,
                                   int64_t deadline)
{
	int i = 0;

	for (;;) {
		PGresult *res;

		while (pg->pq.isBusy(pg->conn)) {
			if (wait_socket(pg, POLLIN, deadline) != PV_OK)
				return READ_TIMEOUT;
			if (pg->pq.consumeInput(pg->conn) == 0)
				return READ_BROKEN;
		}
		res = pg->pq.getResult(pg->conn);
		if (res == NULL) {
			if (++i > n)
				return READ_BROKEN; /* no sync is coming */
			continue;
		}
		if (pg->pq.resultStatus(res) == PGRES_PIPELINE_SYNC) {
			pg->pq.clear(res);
			return i == n ? READ_SYNC : READ_BROKEN;
		}
		if (i >= n) {
			pg->pq.clear(res);
			return READ_BROKEN;
		}
		keep_result(pg, &list[i], res);
	}
}

/* What the server bounds in every transaction, set for that transaction only (is_local):
 * statements, lock waits and a transaction left idle (a client cut off while holding a row
 * lock), each by pg_timeout, so that a connection we dropped, or lost, does not hold a
 * vendor's row for long; and commits durable before COMMIT answers (synchronous_commit = on,
 * whatever the server's or the database's default). Set inside the transaction rather than
 * once per connection: nothing is left on a pooled server connection, and it costs no round
 * trip of its own. */
#define SETTINGS_SQL                                                                               \
	"SELECT set_config('statement_timeout', $1, true), "                                       \
	"set_config('lock_timeout', $1, true), "                                                   \
	"set_config('idle_in_transaction_session_timeout', $1, true), "                            \
	"set_config('synchronous_commit', 'on', true)"

/* At most this many statements in one pipeline: BEGIN, the settings, the guard, the
 * caller's, COMMIT. */
#define PIPELINE_MAX (PV_PG_BATCH_MAX + 4)

/* The pipeline to send: [BEGIN] [settings] [guard] stmts [COMMIT]. The settings open every
 * transaction (after BEGIN, or first in an implicit one); none inside one already open. The
 * guard (pv_pg_set_guard) goes before the caller's statements until it passed once. */
static int build_pipeline(struct pv_pg *pg, unsigned flags, const struct pv_pg_stmt *stmts, int n,
                          const struct pv_pg_args *settings, struct pv_pg_stmt *list, int *first)
{
	int m = 0;
	int i;

	/* The isolation level is set by BEGIN itself: it must come before any query, and the
	 * settings below are one. */
	if (flags & PV_PG_BEGIN)
		list[m++] = (struct pv_pg_stmt){
		    .sql = (flags & PV_PG_SNAPSHOT)
		               ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
		               : "BEGIN",
		    .expect = PGRES_COMMAND_OK};
	if (!pg->in_tx || (flags & PV_PG_BEGIN))
		list[m++] = (struct pv_pg_stmt){
		    .sql = SETTINGS_SQL, .args = settings, .expect = PGRES_TUPLES_OK};
	if (pg->guard_sql != NULL)
		list[m++] = (struct pv_pg_stmt){.sql = pg->guard_sql, .expect = PGRES_TUPLES_OK};
	*first = m;
	for (i = 0; i < n; i++) {
		list[m] = stmts[i];
		list[m++].res = NULL;
	}
	if (flags & PV_PG_COMMIT)
		list[m++] = (struct pv_pg_stmt){.sql = "COMMIT", .expect = PGRES_COMMAND_OK};
	return m;
}

/* Queue list[0..m) and the sync, then send them. PV_ERR: libpq refused to queue (err set), or
 * the deadline passed while sending (*timeout). */
static int send_pipeline(struct pv_pg *pg, const struct pv_pg_stmt *list, int m, int64_t deadline,
                         const char *what, bool *timeout, struct pv_err *err)
{
	static const struct pv_pg_args none = {0, NULL, NULL, NULL, 0};
	int i;

	*timeout = false;
	for (i = 0; i < m; i++) {
		const struct pv_pg_args *a = list[i].args ? list[i].args : &none;
		if (pg->pq.sendQueryParams(pg->conn, list[i].sql, a->n, NULL, a->values, a->lengths,
		                           a->formats, a->binary_result) == 0)
			goto refused;
	}
	if (pg->pq.pipelineSync(pg->conn) == 0)
		goto refused;
	if (send_all(pg, deadline) != PV_OK) {
		*timeout = true;
		return PV_ERR;
	}
	return PV_OK;
refused:
	pg_error(err, what, pg->pq.errorMessage(pg->conn));
	return PV_ERR;
}

/* After the sync: the first statement whose result is not what it expected sets err (PV_ERR);
 * the transaction state follows BEGIN's and COMMIT's results. */
static int check_results(struct pv_pg *pg, unsigned flags, const struct pv_pg_stmt *list, int m,
                         const char *what, bool *guard_failed, struct pv_err *err)
{
	int i;

	if ((flags & PV_PG_BEGIN) && list[0].res != NULL &&
	    pg->pq.resultStatus(list[0].res) == PGRES_COMMAND_OK)
		pg->in_tx = true; /* open, or failed: either way a ROLLBACK ends it */
	for (i = 0; i < m; i++) {
		if (list[i].res == NULL || pg->pq.resultStatus(list[i].res) != list[i].expect) {
			result_error(pg, list[i].res, what, err);
			if (list[i].sql == pg->guard_sql)
				*guard_failed = true;
			return PV_ERR;
		}
	}
	pg->guard_sql = NULL; /* passed (or not sent): not sent again */
	if (flags & PV_PG_COMMIT)
		pg->in_tx = false;
	return PV_OK;
}

/* The guard failed (its statement, or the batch it went with): end the transaction the batch
 * may have opened, then let the guard's owner say why, once. */
static void explain_guard(struct pv_pg *pg, struct pv_err *err)
{
	int (*explain)(struct pv_pg *, struct pv_err *) = pg->guard_explain;

	pg->guard_sql = NULL;
	pg->guard_explain = NULL;
	pv_pg_rollback(pg);
	if (explain != NULL)
		(void)explain(pg, err);
	/* The connection must not be used past a check that did not pass. */
	if (pg->conn != NULL) {
		pg->pq.finish(pg->conn);
		pg->conn = NULL;
	}
}

int pv_pg_batch(struct pv_pg *pg, unsigned flags, struct pv_pg_stmt *stmts, int n, const char *what,
                struct pv_err *err)
{
	struct pv_pg_stmt list[PIPELINE_MAX];
	char ms[24];
	const char *values[] = {ms};
	const struct pv_pg_args settings = {1, values, NULL, NULL, 0};
	int64_t deadline = now_ms() + pg->timeout_s * 1000;
	enum read_end end;
	bool timeout = false;
	bool guard_failed = false;
	int first = 0;
	int m;
	int i;
	int rc = PV_ERR;

	if (n < 0 || n > PV_PG_BATCH_MAX) {
		pv_err_set(err, "PostgreSQL: %s: too many statements in one batch", what);
		return PV_ERR;
	}
	for (i = 0; i < n; i++)
		stmts[i].res = NULL;
	if (pg->conn == NULL) {
		pv_err_set(
		    err,
		    "PostgreSQL: %s: the connection was dropped (no answer in time, or it broke)",
		    what);
		return PV_ERR;
	}
	snprintf(ms, sizeof(ms), "%" PRId64, pg->timeout_s * 1000);
	m = build_pipeline(pg, flags, stmts, n, &settings, list, &first);
	if (send_pipeline(pg, list, m, deadline, what, &timeout, err) != PV_OK) {
		if (timeout)
			drop_connection(pg, what, err);
		goto out;
	}
	end = read_pipeline(pg, list, m, deadline);
	if (end == READ_TIMEOUT) {
		drop_connection(pg, what, err);
		goto out;
	}
	if (end == READ_BROKEN) {
		lose_connection(pg, what, err);
		goto out;
	}
	rc = check_results(pg, flags, list, m, what, &guard_failed, err);
out:
	/* The caller's statements are list[first..first + n): their results go back when kept. */
	for (i = 0; i < m; i++) {
		bool caller = i >= first && i < first + n;
		if (rc == PV_OK && caller && stmts[i - first].keep) {
			stmts[i - first].res = list[i].res;
			continue;
		}
		pg->pq.clear(list[i].res);
	}
	if (guard_failed)
		explain_guard(pg, err);
	return rc;
}

/* One statement, the only one of its pipeline. */
PGresult *pv_pg_query(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
                      ExecStatusType expect, const char *what, struct pv_err *err)
{
	struct pv_pg_stmt st = {.sql = sql, .args = args, .expect = expect, .keep = true};

	if (pv_pg_batch(pg, 0, &st, 1, what, err) != PV_OK)
		return NULL;
	return st.res;
}

int pv_pg_run(struct pv_pg *pg, const char *sql, const struct pv_pg_args *args,
              ExecStatusType expect, const char *what, struct pv_err *err)
{
	struct pv_pg_stmt st = {.sql = sql, .args = args, .expect = expect};

	return pv_pg_batch(pg, 0, &st, 1, what, err);
}

/* Nothing to report: the connection is closed next, or the transaction is gone either way. */
void pv_pg_rollback(struct pv_pg *pg)
{
	struct pv_err ignored;
	struct pv_pg_stmt st = {.sql = "ROLLBACK", .expect = PGRES_COMMAND_OK};

	if (!pg->in_tx)
		return;
	(void)pv_pg_batch(pg, 0, &st, 1, "cannot roll back", &ignored);
	pg->in_tx = false;
}

int pv_pg_begin(struct pv_pg *pg, struct pv_err *err)
{
	return pv_pg_batch(pg, PV_PG_BEGIN, NULL, 0, "cannot start a transaction", err);
}

int pv_pg_commit(struct pv_pg *pg, const char *what, struct pv_err *err)
{
	return pv_pg_batch(pg, PV_PG_COMMIT, NULL, 0, what, err);
}

void pv_pg_set_guard(struct pv_pg *pg, const char *sql,
                     int (*explain)(struct pv_pg *pg, struct pv_err *err))
{
	pg->guard_sql = sql;
	pg->guard_explain = explain;
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
	/* Every statement goes out in a pipeline (pv_pg_batch): a transaction's statements, its
	 * settings and its COMMIT travel together, one round trip. */
	if (pg->pq.enterPipelineMode(pg->conn) != 1) {
		pg_error(err, "cannot connect", pg->pq.errorMessage(pg->conn));
		goto fail;
	}
	*out = pg;
	return PV_OK;
fail:
	pv_pg_close(pg);
	return PV_ERR;
}

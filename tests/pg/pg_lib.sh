# SPDX-License-Identifier: BSD-3-Clause
# pg_lib.sh — a private PostgreSQL for the tests (sourced after tests/lib.sh): initdb and
# pg_ctl as the postgres user in a temp dir, listening only on a Unix socket there, stopped
# by PID. pg_setup creates the role root (peer authentication) and the databases named.
# Sets PGBIN, PGD, PGPID (PGD under $PV_PG_PARENT, default /tmp). pg_available returns
# non-zero when the postgresql package is missing.

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGD=
PGPID=

pg_available() { [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && id postgres >/dev/null 2>&1; }
as_pg() { runuser -u postgres -- "$@"; }

pg_start() {
	as_pg "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w -t 30 \
		-o "-k $PGD -c listen_addresses='' -c synchronous_commit=on" start >/dev/null
	PGPID=$(head -n 1 "$PGD/data/postmaster.pid")
}

# Fast shutdown by PID: open sessions are cut, as a crash looks to clients.
pg_stop() {
	local _
	[ -n "$PGPID" ] || return 0
	kill -INT "$PGPID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$PGPID" 2>/dev/null || break; sleep 0.1; done
	PGPID=
}

# pg_setup DB...: a fresh cluster, started, with the role root owning each database DB.
pg_setup() {
	local db sql=(-c "CREATE ROLE root LOGIN")
	PGD=$(mktemp -d "${PV_PG_PARENT:-/tmp}/pvpg.XXXXXX")
	chown postgres:postgres "$PGD"
	chmod 0755 "$PGD"
	as_pg "$PGBIN/initdb" -D "$PGD/data" -U postgres --auth-local=peer --auth-host=reject \
		>/dev/null || return 1
	pg_start || return 1
	for db in "$@"; do sql+=(-c "CREATE DATABASE $db OWNER root"); done
	as_pg "$PGBIN/psql" -h "$PGD" -q -d postgres "${sql[@]}" >/dev/null
}

pg_teardown() {
	pg_stop
	[ -n "$PGD" ] && rm -rf "$PGD"
	PGD=
}

# pg_gateway_b: a second gateway's configuration, CFG_B ($T/gwb.conf): the first's (CFG_A, the
# suite's CFG) with an audit log ($T/logb) and a session directory of its own.
pg_gateway_b() {
	CFG_A=$CFG
	CFG_B=$T/gwb.conf
	sed -e "s|^audit_log = .*|audit_log = $T/logb/audit.log|" -e "s|^session_dir = .*|session_dir = $T/sessb|" \
		"$CFG_A" >"$CFG_B"
	chmod 0600 "$CFG_B"
	mkdir -m 0750 "$T/logb"
}

# psql_q SQL: one query on database pamvendor, unaligned, tuples only (as postgres);
# psql_root SQL: the same as root, the role the gateways use (owner of what they create).
psql_q() { as_pg "$PGBIN/psql" -h "$PGD" -At -q -d pamvendor -c "$1"; }
psql_root() { "$PGBIN/psql" -h "$PGD" -At -q -d pamvendor -c "$1"; }

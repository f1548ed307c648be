# SPDX-License-Identifier: BSD-3-Clause
# pg_lib.sh — a private PostgreSQL for the tests (sourced after tests/lib.sh): initdb and
# pg_ctl as the postgres user in a temp dir, listening only on a Unix socket there, stopped
# by PID. pg_setup creates the role root (peer authentication) and the databases named.
# Sets PGBIN, PGD, PGPID (PGD under $PV_PG_PARENT, default /tmp). pg_available returns
# non-zero when the postgresql package is missing.

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGD=
PGPID=
PROXYPID=

pg_available() { [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && id postgres >/dev/null 2>&1; }

# pg_suite_begin WHAT: how every PostgreSQL suite opens: it needs root (else it bails out), and
# on a machine without PostgreSQL it is skipped with one line naming WHAT.
pg_suite_begin() {
	if [ "$(id -u)" != 0 ]; then
		echo "Bail out! $(basename "$0") needs root"
		exit 1
	fi
	if ! pg_available; then
		echo "ok - $1 # SKIP the postgresql package is not installed"
		finish
		exit 0
	fi
}
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

# code_of: the code in `otpctl --json issue`'s output (stdin); step TEXT NAME: the value of
# NAME=... in pamdrive's output TEXT (its last one).
code_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["otp"])'; }
step() { printf '%s\n' "$1" | sed -n "s/^$2=//p" | tail -n 1; }

# timed_login SERVICE USER CODE [STEPS]: pamdrive with the PAM services of $T/pam.d, from
# $ALLOWED (default: the auth step), syslog captured in $T/syslog; prints pamdrive's output
# and elapsed_ms (measured around pamdrive alone).
timed_login() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	with_syslog "$T/syslog" bash -c 't0=$(date +%s%N); "$@"; t1=$(date +%s%N); echo "elapsed_ms=$(((t1 - t0) / 1000000))"' \
		login "$PAMDRIVE" --confdir "$T/pam.d" --service "$1" --user "$2" --rhost "$ALLOWED" \
		--code "$3" --steps "${4:-auth}" 2>>"$T/drive.err"
}

# psql_q SQL: one query on database pamvendor, unaligned, tuples only (as postgres);
# psql_root SQL: the same as root, the role the gateways use (owner of what they create).
psql_q() { as_pg "$PGBIN/psql" -h "$PGD" -At -q -d pamvendor -c "$1"; }
psql_root() { "$PGBIN/psql" -h "$PGD" -At -q -d pamvendor -c "$1"; }

# pg_proxy_start DIR NEEDLE [after]: a Unix-socket proxy in front of the server (its socket in
# DIR, a directory to name as host= in pg_conninfo) that forwards both ways until the client
# sends a message containing NEEDLE; from then on that connection forwards nothing either way
# and keeps the server's side open (a link that went silent, not one that was closed). With
# `after`, the client's write holding NEEDLE still reaches the server (which runs it) and only
# the answers are lost. Replaces a proxy already running; sets PROXYPID. pg_proxy_stop ends it.
pg_proxy_start() {
	local _
	pg_proxy_stop
	cat >"$PGD/stallproxy.py" <<'EOF'
import os, socket, sys, threading
listen_dir, target, needle = sys.argv[1], sys.argv[2], sys.argv[3].encode()
after = sys.argv[4] == "after"
kept = []

def pump(src, dst, state, from_client):
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            return
        if not data:
            break
        if from_client and not state["held"]:
            state["tail"] = (state["tail"] + data)[-8192:]
            if needle in state["tail"]:
                state["held"] = True
                if after:
                    try:
                        dst.sendall(data)
                    except OSError:
                        return
        if state["held"]:
            continue
        try:
            dst.sendall(data)
        except OSError:
            return
    if not state["held"]:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

srv = socket.socket(socket.AF_UNIX)
srv.bind(os.path.join(listen_dir, ".s.PGSQL.5432"))
srv.listen(16)
open(os.path.join(listen_dir, "ready"), "w").close()
while True:
    client, _ = srv.accept()
    server = socket.socket(socket.AF_UNIX)
    server.connect(target)
    state = {"tail": b"", "held": False}
    kept.append((client, server))
    for a, b, c in ((client, server, True), (server, client, False)):
        threading.Thread(target=pump, args=(a, b, state, c), daemon=True).start()
EOF
	rm -f "$1/.s.PGSQL.5432" "$1/ready"
	python3 "$PGD/stallproxy.py" "$1" "$PGD/.s.PGSQL.5432" "$2" "${3:-}" 2>>"$PGD/proxy.err" &
	PROXYPID=$!
	for _ in $(seq 50); do [ -e "$1/ready" ] && break; sleep 0.1; done
}
pg_proxy_stop() {
	[ -n "$PROXYPID" ] || return 0
	kill "$PROXYPID" 2>/dev/null
	wait "$PROXYPID" 2>/dev/null
	PROXYPID=
}

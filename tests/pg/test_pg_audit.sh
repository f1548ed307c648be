#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_pg_audit.sh — the database's audit table holds what the local log holds: each host's
# head (first seq, last seq and MAC) written with every line, so `audit verify --all-hosts`
# names a missing first, middle or last row; `audit --all-hosts` filtered on the server; the
# line of `otpctl init` in the table; and the schema upgrade from version 1. Real PostgreSQL
# from pg_lib.sh; asserted on exit codes, messages and the database's tables.
set -u
source "$(dirname "$0")/../lib.sh"

source "$(dirname "$0")/pg_lib.sh"
pg_suite_begin "PostgreSQL audit table"

ALLOWED=203.0.113.5
GRP=pvpag$PV_RUN
V1=pvpaa$PV_RUN
V2=pvpab$PV_RUN
cleanup() {
	[ -n "$PGPID" ] && kill -CONT "$PGPID" 2>/dev/null
	pg_proxy_stop
	pg_teardown
	remove_accounts
	cleanup_dirs
}
trap cleanup EXIT
pg_setup pamvendor pamvendor1 || { echo "Bail out! cannot start PostgreSQL"; exit 1; }

add_group "$GRP"
add_user "$V1" -M -N -G "$GRP" -s /usr/sbin/nologin
add_user "$V2" -M -N -G "$GRP" -s /usr/sbin/nologin

# `otpctl init` runs before `db init` here, as the admin guide orders it: its line is written
# while the table does not exist yet.
new_env "vendor_group = $GRP" "store_backend = postgresql" \
	"pg_conninfo = host=$PGD dbname=pamvendor" "pg_timeout = 2s" "max_failures = 1000"
mkdir -p "$T/pam.d"
for t in auth account; do echo "$t required $PV_MODULE config=$CFG"; done >"$T/pam.d/pvpa"
# The same gateway reaching the database through the stalling proxy (pg_lib.sh), with a
# longer pg_timeout: a login held up there must not hold up the others.
STALL_TIMEOUT=5
mkdir -m 0755 "$T/proxy"
CFG_P=$T/proxied.conf
sed -e "s|^pg_conninfo = .*|pg_conninfo = host=$T/proxy dbname=pamvendor|" \
	-e "s|^pg_timeout = .*|pg_timeout = ${STALL_TIMEOUT}s|" "$CFG" >"$CFG_P"
chmod 0600 "$CFG_P"
for t in auth account; do echo "$t required $PV_MODULE config=$CFG_P"; done >"$T/pam.d/pvpaproxy"

HOST=
verify_all() { run_ctl audit verify --all-hosts; }

test_init_line_is_in_the_table() {
	run_ctl db init
	expect_eq "db init" 0 "$RC"
	expect_match "db init copies the lines written before it (otpctl init's)" "Copied 1 line" "$OUT"
	HOST=$(psql_q "SELECT host FROM pam_vendor_audit_head")
	check "the table has this gateway's head ($HOST)" [ -n "$HOST" ]
	expect_eq "seq 1 in the table is the line of otpctl init" "admin init" \
		"$(psql_q "SELECT line FROM pam_vendor_audit WHERE seq = 1" |
			python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["action"])')"
	expect_eq "the table's seq 1 and 2 are the local log's lines" "$(head -n 2 "$AUDIT")" \
		"$(psql_q "SELECT line FROM pam_vendor_audit ORDER BY seq LIMIT 2")"
	expect_eq "the head records seq 1 as the first line" 1 "$(psql_q "SELECT first_seq FROM pam_vendor_audit_head")"
}

test_head_follows_every_line() {
	local c out
	"$OTPCTL" --config "$CFG" vendor add "$V1" --ip "$ALLOWED" >/dev/null 2>&1
	"$OTPCTL" --config "$CFG" vendor add "$V2" --ip "$ALLOWED" >/dev/null 2>&1
	"$OTPCTL" --config "$CFG" enable "$V1" --for 1h >/dev/null
	"$OTPCTL" --config "$CFG" enable "$V2" --for 1h >/dev/null
	for v in "$V1" "$V2" "$V1"; do
		c=$("$OTPCTL" --config "$CFG" --json issue "$v" | code_of)
		out=$(timed_login pvpa "$v" "$c" auth,account)
		expect_eq "a login of $v" "PAM_SUCCESS PAM_SUCCESS" "$(step "$out" auth) $(step "$out" account)"
	done
	expect_eq "the head is the local log's last line (seq and MAC)" \
		"$(tail -n 1 "$AUDIT" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["seq"], d["mac"])')" \
		"$(psql_q "SELECT seq || ' ' || mac FROM pam_vendor_audit_head WHERE host = '$HOST'")"
	expect_eq "the table holds every local line" "$(wc -l <"$AUDIT")" \
		"$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE host = '$HOST'")"
	verify_all
	expect_eq "healthy table: audit verify --all-hosts exits 0" 0 "$RC"
	expect_match "and says the host is intact from seq 1" "host $HOST: intact, [0-9]+ lines \(seq 1 to " "$OUT"
}

# take_row SEQ / put_rows_back: rows of this host moved aside (a table of the test) and back.
take_row() {
	psql_q "WITH d AS (DELETE FROM pam_vendor_audit WHERE host = '$HOST' AND seq = $1 RETURNING *) INSERT INTO pvpa_aside SELECT * FROM d" >/dev/null
}
put_rows_back() {
	psql_q "WITH d AS (DELETE FROM pvpa_aside RETURNING *) INSERT INTO pam_vendor_audit SELECT * FROM d" >/dev/null
}

test_missing_rows_are_named() {
	local last mid mac
	last=$(psql_q "SELECT seq FROM pam_vendor_audit_head WHERE host = '$HOST'")
	mid=$((last / 2))
	psql_q "CREATE TABLE pvpa_aside AS SELECT * FROM pam_vendor_audit WHERE false" >/dev/null
	take_row 1
	verify_all
	expect_eq "first row deleted: verify --all-hosts fails" 1 "$RC"
	expect_match "and names the host and seq 1 (the start)" \
		"host $HOST: NOT intact: .*seq 1 missing \(the start of the chain\)" "$ERR"
	put_rows_back
	take_row "$last"
	verify_all
	expect_eq "last row deleted: verify --all-hosts fails" 1 "$RC"
	expect_match "and names the host and the missing seq (the end)" \
		"host $HOST: NOT intact: .*seq $last missing \(the end of the chain\)" "$ERR"
	put_rows_back
	take_row "$mid"
	take_row $((mid + 1))
	verify_all
	expect_eq "two middle rows deleted: verify --all-hosts fails" 1 "$RC"
	expect_match "and names the gap" "host $HOST: NOT intact: .*seq $mid to $((mid + 1)) missing \(inside the chain\)" "$ERR"
	"$OTPCTL" --config "$CFG" --json audit verify --all-hosts >"$T/v.json" 2>/dev/null
	expect_eq "--json: one host, broken" "1 1 false" \
		"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["hosts"], d["broken"], str(d["intact"]).lower())' "$T/v.json")"
	put_rows_back
	verify_all
	expect_eq "rows put back: intact again" 0 "$RC"
	# A head that names another last line than the table's (the last line replaced).
	mac=$(psql_q "SELECT mac FROM pam_vendor_audit_head WHERE host = '$HOST'")
	psql_q "UPDATE pam_vendor_audit_head SET mac = repeat('0', 64) WHERE host = '$HOST'" >/dev/null
	verify_all
	expect_match "a head whose MAC is not the last line's: named" \
		"host $HOST: NOT intact: .*the last line \(seq $last\) is not the one the head records" "$ERR"
	psql_q "UPDATE pam_vendor_audit_head SET mac = '$mac' WHERE host = '$HOST'" >/dev/null
	# Lines without a head.
	psql_q "ALTER TABLE pam_vendor_audit_head RENAME TO pvpa_head_away" >/dev/null
	psql_root "CREATE TABLE pam_vendor_audit_head (LIKE pvpa_head_away)" >/dev/null
	verify_all
	expect_match "lines whose head is gone: named" "host $HOST: NOT intact: .*lines without a head" "$ERR"
	psql_root "DROP TABLE pam_vendor_audit_head" >/dev/null
	psql_q "ALTER TABLE pvpa_head_away RENAME TO pam_vendor_audit_head" >/dev/null
	verify_all
	expect_eq "head back: intact" 0 "$RC"
}

# Gateways writing while verify runs: each login's copy to the table commits after the local
# lock, so a later seq may commit first. Every verify run is one snapshot (a gap there is read
# again in a new one): the healthy table is intact in every run, and a row really deleted in
# the middle is still named while the writers go on.
test_verify_while_gateways_write() {
	local runs=0 fails=0 mid v n0 wrote
	n0=$(grep -c '"reason":"otp_invalid"' "$AUDIT")
	: >"$T/writers.go"
	for v in "$V1" "$V2"; do
		# shellcheck disable=SC2016 # expanded by the inner bash
		with_syslog "$T/writers.$v.log" bash -c 'while [ -e "$1" ]; do
			"$2" --confdir "$3" --service pvpa --user "$4" --rhost "$5" --code 000000 --steps auth >/dev/null 2>&1
		done' writer "$T/writers.go" "$PAMDRIVE" "$T/pam.d" "$v" "$ALLOWED" &
	done
	# At least 12 runs, and on until the writers have written 40 lines (bounded: 90 s).
	while [ $runs -lt 12 ] || { [ $(($(grep -c '"reason":"otp_invalid"' "$AUDIT") - n0)) -lt 40 ] && [ $runs -lt 1000 ] && [ $SECONDS -lt $((${VSTART:=$SECONDS} + 90)) ]; }; do
		verify_all
		runs=$((runs + 1))
		[ "$RC" = 0 ] || { fails=$((fails + 1)); echo "# run $runs: $ERR"; }
	done
	wrote=$(($(grep -c '"reason":"otp_invalid"' "$AUDIT") - n0))
	check "the writers wrote meanwhile ($wrote wrong codes during $runs runs)" [ "$wrote" -ge 40 ]
	expect_eq "logins running: all $runs verify --all-hosts runs exit 0" 0 "$fails"
	mid=$(($(psql_q "SELECT seq FROM pam_vendor_audit_head WHERE host = '$HOST'") / 2))
	take_row "$mid"
	verify_all
	expect_eq "logins running, a middle row deleted: verify --all-hosts fails" 1 "$RC"
	expect_match "and names the host and the seq" "host $HOST: NOT intact: .*seq $mid missing \(inside the chain\)" "$ERR"
	rm -f "$T/writers.go"
	wait
	put_rows_back
	verify_all
	expect_eq "writers stopped, row put back: intact" 0 "$RC"
}

# The server filters: a query that reads the table's rows shows only the vendor's and the
# window's; rows from before the filter columns existed (NULL) still show when they match.
test_server_side_filters() {
	local out n_all n_v1
	n_all=$(psql_q "SELECT count(*) FROM pam_vendor_audit")
	n_v1=$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE username = '$V1'")
	check "the table's rows carry the user ($n_v1 of $n_all for $V1)" [ "$n_v1" -gt 0 ] && [ "$n_v1" -lt "$n_all" ]
	expect_eq "every row carries the line's time" 0 \
		"$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE event_time IS NULL")"
	psql_q "ALTER DATABASE pamvendor SET log_statement = 'all'" >/dev/null
	out=$("$OTPCTL" --config "$CFG" --json audit --all-hosts --vendor "$V1")
	expect_eq "audit --all-hosts --vendor: only that vendor's events" "$V1" \
		"$(echo "$out" | python3 -c 'import json,sys; print(" ".join(sorted({e["user"] for e in json.load(sys.stdin)["events"]})))')"
	expect_match "the server was asked for that vendor's rows (a WHERE on username)" \
		"username = \\\$4" "$(cat "$PGD/server.log")"
	psql_q "ALTER DATABASE pamvendor RESET log_statement" >/dev/null
	out=$("$OTPCTL" --config "$CFG" --json audit --all-hosts --until "2000-01-01 00:00")
	expect_eq "--until before every line: nothing" 0 \
		"$(echo "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')"
	out=$("$OTPCTL" --config "$CFG" --json audit --all-hosts --since "$(date -u -d '-1 hour' '+%Y-%m-%d %H:%M')")
	expect_eq "--since an hour ago: every event of the table" "$n_all" \
		"$(echo "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')"
}

# Schema version 1 (before the head) upgraded: the head of each host is its last row, old rows
# keep NULL time and user and still show in filtered listings.
test_upgrade_from_version_1() {
	local cfg1=$T/v1.conf out
	# A gateway of its own (a copy of this one's log), so that this one's chain stays whole.
	mkdir -m 0750 "$T/log1"
	cp -p "$AUDIT" "$AUDIT.head" "$T/log1/"
	sed -e "s|^pg_conninfo = .*|pg_conninfo = host=$PGD dbname=pamvendor1|" \
		-e "s|^audit_log = .*|audit_log = $T/log1/audit.log|" "$CFG" >"$cfg1"
	chmod 0600 "$cfg1"
	# The schema of version 1, as its db init created it (the database's owner, root).
	"$PGBIN/psql" -h "$PGD" -At -q -d pamvendor1 \
		-c "CREATE TABLE pam_vendor_schema (version integer NOT NULL)" \
		-c "CREATE TABLE pam_vendor_vendors (name text PRIMARY KEY, version bigint NOT NULL, sealed bytea NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())" \
		-c "CREATE TABLE pam_vendor_audit (host text NOT NULL, seq bigint NOT NULL, line text NOT NULL, inserted_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (host, seq))" \
		-c "INSERT INTO pam_vendor_schema (version) VALUES (1)" >/dev/null
	# The local log's lines as a version-1 gateway copied them (host, seq, line only).
	python3 - "$AUDIT" "$HOST" >"$T/v1.sql" <<'EOF'
import json, sys
for raw in open(sys.argv[1]):
    raw = raw.rstrip("\n")
    seq = json.loads(raw)["seq"]
    print("INSERT INTO pam_vendor_audit (host, seq, line) VALUES ('%s', %d, $pv$%s$pv$);" % (sys.argv[2], seq, raw))
EOF
	"$PGBIN/psql" -h "$PGD" -At -q -d pamvendor1 -f "$T/v1.sql" >/dev/null
	"$OTPCTL" --config "$cfg1" status >/dev/null 2>"$T/v1.err"
	expect_match "a version-1 schema is refused until upgraded" "run otpctl db upgrade" "$(cat "$T/v1.err")"
	out=$("$OTPCTL" --config "$cfg1" db upgrade)
	expect_eq "db upgrade from version 1" 0 $?
	expect_match "says so" "from version 1 to 2" "$out"
	# The head the upgrade set (the last row copied), then moved by db upgrade's own line.
	expect_eq "after the upgrade, the host's head is its last line, its first line seq 1" \
		"$(tail -n 1 "$T/log1/audit.log" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(1, d["seq"], d["mac"])')" \
		"$(as_pg "$PGBIN/psql" -h "$PGD" -At -q -d pamvendor1 -c "SELECT first_seq || ' ' || seq || ' ' || mac FROM pam_vendor_audit_head WHERE host = '$HOST'")"
	"$OTPCTL" --config "$cfg1" audit verify --all-hosts >/dev/null 2>"$T/v1.err"
	expect_eq "after the upgrade (and its own line), verify --all-hosts exits 0" 0 $?
	out=$("$OTPCTL" --config "$cfg1" --json audit --all-hosts --vendor "$V2")
	expect_eq "old rows (no user column) still listed for their vendor, and only for it" \
		"$(grep -c "\"user\":\"$V2\"" "$AUDIT")" \
		"$(echo "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')"
}

# last_two_of USER: "event result reason" of USER's last two lines in the local log.
last_two_of() {
	grep "\"user\":\"$1\"" "$AUDIT" | tail -n 2 |
		python3 -c 'import json,sys; print("|".join("%s %s %s" % (d["event"], d["result"], d["reason"]) for d in map(json.loads, sys.stdin)))'
}

# The postmaster stopped (its socket still accepts): two vendors' logins and otpctl status at
# once, each ends within its own bound (pg_timeout 2 s + fail_delay 0 + 1 s).
test_stopped_server_bounds_each_caller() {
	local c1 c2 t0 ms out1 out2 rc
	c1=$("$OTPCTL" --config "$CFG" --json issue "$V1" | code_of)
	c2=$("$OTPCTL" --config "$CFG" --json issue "$V2" | code_of)
	kill -STOP "$PGPID"
	timed_login pvpa "$V1" "$c1" >"$T/stop1.out" &
	timed_login pvpa "$V2" "$c2" >"$T/stop2.out" &
	t0=$(date +%s%N)
	"$OTPCTL" --config "$CFG" status >/dev/null 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	wait
	kill -CONT "$PGPID"
	out1=$(cat "$T/stop1.out")
	out2=$(cat "$T/stop2.out")
	expect_eq "postmaster stopped: both vendors denied" "PAM_AUTH_ERR PAM_AUTH_ERR" \
		"$(step "$out1" auth) $(step "$out2" auth)"
	check "postmaster stopped: each login within pg_timeout + 1 s ($(step "$out1" elapsed_ms), $(step "$out2" elapsed_ms) ms)" \
		[ "$(step "$out1" elapsed_ms)" -lt 3000 ] && [ "$(step "$out2" elapsed_ms)" -lt 3000 ]
	expect_eq "postmaster stopped: otpctl status fails" 1 "$rc"
	check "postmaster stopped: otpctl status within pg_timeout + 1 s ($ms ms)" [ "$ms" -lt 3000 ]
}

# The copy of a line to the table stalls (the link goes silent at its INSERT) on one login:
# that login is denied within its pg_timeout, the local log shows its allow and the reversal,
# and meanwhile a second vendor's login and an otpctl command that writes the audit log run
# at once (the copy waits outside the local audit lock).
test_stalled_copy_blocks_nobody() {
	local c1 c2 n0 pid out ms t0 rc running _
	c1=$("$OTPCTL" --config "$CFG" --json issue "$V1" | code_of)
	c2=$("$OTPCTL" --config "$CFG" --json issue "$V2" | code_of)
	pg_proxy_start "$T/proxy" "INSERT INTO pam_vendor_audit"
	n0=$(grep -c "\"user\":\"$V1\"" "$AUDIT")
	timed_login pvpaproxy "$V1" "$c1" >"$T/stalled.out" &
	pid=$!
	# The allow line is in the local log before its copy is sent: the copy is then stalled.
	for _ in $(seq 100); do
		[ "$(grep -c "\"user\":\"$V1\"" "$AUDIT")" -gt "$n0" ] && break
		sleep 0.05
	done
	out=$(timed_login pvpa "$V2" "$c2")
	ms=$(step "$out" elapsed_ms)
	running=$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)
	expect_eq "copy stalled on one login: a second vendor logs in meanwhile" PAM_SUCCESS "$(step "$out" auth)"
	check "at once ($ms ms), while the first login is still held up ($running)" \
		[ "$ms" -lt 2500 ] && [ "$running" = yes ]
	t0=$(date +%s%N)
	"$OTPCTL" --config "$CFG" enable "$V2" --for 2h --extend >/dev/null 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	expect_eq "copy stalled: otpctl enable (an audited command) succeeds meanwhile" 0 "$rc"
	check "at once ($ms ms)" [ "$ms" -lt 2500 ]
	wait "$pid"
	out=$(cat "$T/stalled.out")
	ms=$(step "$out" elapsed_ms)
	expect_eq "the login whose copy stalled is denied" PAM_AUTH_ERR "$(step "$out" auth)"
	check "within its pg_timeout ($STALL_TIMEOUT s) + 1 s ($ms ms)" [ "$ms" -lt $(((STALL_TIMEOUT + 1) * 1000)) ]
	# The allow line's copy is the commit of the code (the UPDATE, the INSERT, the COMMIT).
	expect_match "syslog says why" "cannot write the audit log: PostgreSQL: cannot save vendor $V1 with audit line seq [0-9]*: no answer within $STALL_TIMEOUT s" \
		"$(cat "$T/syslog")"
	expect_eq "its local lines: the allow, then its reversal" "auth allow ok|auth deny store_error" "$(last_two_of "$V1")"
	"$OTPCTL" --config "$CFG" audit verify >/dev/null 2>&1
	expect_eq "the local chain is intact" 0 $?
	pg_proxy_stop
	run_ctl audit verify --all-hosts
	expect_match "the table shows the line that was not copied as a gap" \
		"seq $(grep "\"user\":\"$V1\"" "$AUDIT" | tail -n 2 | head -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])') missing \(inside the chain\): removed from the table, or never copied" "$ERR"
}

test_init_line_is_in_the_table
test_head_follows_every_line
test_missing_rows_are_named
test_verify_while_gateways_write
test_server_side_filters
test_upgrade_from_version_1
test_stopped_server_bounds_each_caller
test_stalled_copy_blocks_nobody
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_pg_bounds.sh — a database that stops answering denies a vendor within pg_timeout: the
# postmaster stopped (SIGSTOP: its socket still accepts) and a link that goes silent once the
# session is up (a small proxy that stops forwarding), then recovery without a code accepted
# twice (also when the answers of a pipeline are lost after the server ran it), and the
# transaction's synchronous_commit. Real PostgreSQL from pg_lib.sh; asserted on
# PAM return codes, elapsed time (a generous bound), audit lines and the database's tables.
set -u
source "$(dirname "$0")/../lib.sh"

source "$(dirname "$0")/pg_lib.sh"
pg_suite_begin "PostgreSQL waits bounded"

ALLOWED=203.0.113.5
GRP=pvpbg$$
V1=pvpba$$
V2=pvpbb$$
PG_TIMEOUT=2
# The bound a denial must meet: pg_timeout + fail_delay (0 here) + 1 s.
BOUND_MS=$(((PG_TIMEOUT + 0 + 1) * 1000))
cleanup() {
	[ -n "$PGPID" ] && kill -CONT "$PGPID" 2>/dev/null
	pg_proxy_stop
	pg_teardown
	userdel "$V1" 2>/dev/null
	userdel "$V2" 2>/dev/null
	groupdel "$GRP" 2>/dev/null
	cleanup_dirs
}
trap cleanup EXIT
pg_setup pamvendor || { echo "Bail out! cannot start PostgreSQL"; exit 1; }

groupadd "$GRP"
useradd -M -N -G "$GRP" -s /usr/sbin/nologin "$V1"
useradd -M -N -G "$GRP" -s /usr/sbin/nologin "$V2"

new_env "vendor_group = $GRP" "store_backend = postgresql" \
	"pg_conninfo = host=$PGD dbname=pamvendor" "pg_timeout = ${PG_TIMEOUT}s" "max_failures = 1000"
# The same gateway reaching the database through the proxy (socket directory $T/proxy).
mkdir -m 0755 "$T/proxy"
CFG_P=$T/proxied.conf
sed -e "s|^pg_conninfo = .*|pg_conninfo = host=$T/proxy dbname=pamvendor|" "$CFG" >"$CFG_P"
chmod 0600 "$CFG_P"
mkdir -p "$T/pam.d"
for t in auth account; do echo "$t required $PV_MODULE config=$CFG"; done >"$T/pam.d/pvpb"
for t in auth account; do echo "$t required $PV_MODULE config=$CFG_P"; done >"$T/pam.d/pvpbproxy"

# last_audit_of USER: "event result reason" of USER's last line in the local audit log.
last_audit_of() {
	grep "\"user\":\"$1\"" "$AUDIT" | tail -n 1 |
		python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["result"], d["reason"])'
}

test_setup() {
	"$OTPCTL" --config "$CFG" db init >/dev/null
	expect_eq "db init" 0 $?
	"$OTPCTL" --config "$CFG" vendor add "$V1" --ip "$ALLOWED" >/dev/null 2>&1
	"$OTPCTL" --config "$CFG" vendor add "$V2" --ip "$ALLOWED" >/dev/null 2>&1
	"$OTPCTL" --config "$CFG" enable "$V1" --for 1h >/dev/null
	"$OTPCTL" --config "$CFG" enable "$V2" --for 1h >/dev/null
	expect_eq "two vendors in the database" 2 "$(psql_q 'SELECT count(*) FROM pam_vendor_vendors')"
}

USED=
PENDING=
# (a) The postmaster stopped: a new connection is accepted by the kernel, never answered.
test_postmaster_stopped() {
	local out ms
	USED=$("$OTPCTL" --config "$CFG" --json issue "$V1" | code_of)
	out=$(timed_login pvpb "$V1" "$USED")
	expect_eq "before the stall: a code logs in" PAM_SUCCESS "$(step "$out" auth)"
	PENDING=$("$OTPCTL" --config "$CFG" --json issue "$V1" | code_of)
	kill -STOP "$PGPID"
	out=$(timed_login pvpb "$V1" "$PENDING")
	ms=$(step "$out" elapsed_ms)
	expect_eq "postmaster stopped: the vendor is denied" PAM_AUTH_ERR "$(step "$out" auth)"
	check "postmaster stopped: denied in under pg_timeout + fail_delay + 1 s ($ms ms)" \
		[ "$ms" -lt "$BOUND_MS" ]
	# The store never opened, so the module has no audit key yet: syslog carries the denial.
	expect_match "postmaster stopped: syslog says store_error, naming the stage" \
		"deny user=$V1 reason=store_error: PostgreSQL: cannot connect: no answer within $PG_TIMEOUT s" \
		"$(cat "$T/syslog")"
	run_ctl status
	expect_eq "postmaster stopped: otpctl status fails" 1 "$RC"
	expect_match "and says the database did not answer while connecting" \
		"PostgreSQL: cannot connect: no answer within $PG_TIMEOUT s" "$ERR"
	kill -CONT "$PGPID"
}

# (b) The session is up, then the link goes silent: at the first statement (the schema check,
# after the transaction's settings: set_config), and in the middle of the read-modify-write
# (the UPDATE after SELECT ... FOR UPDATE, the row lock held). Without a client-side deadline
# both hang the login for good.
idle_in_tx() {
	psql_q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pam_vendor' AND state LIKE 'idle in transaction%'"
}
test_silent_after_handshake() {
	local out ms needle _
	# The schema check travels with the first statement (the look-up, after set_config); the
	# UPDATE with the "allow" line's copy and the COMMIT.
	for needle in "set_config" "pam_vendor_schema" "UPDATE pam_vendor_vendors"; do
		pg_proxy_start "$T/proxy" "$needle"
		out=$(timed_login pvpbproxy "$V2" "$("$OTPCTL" --config "$CFG" --json issue "$V2" | code_of)")
		ms=$(step "$out" elapsed_ms)
		expect_eq "silent at '$needle': the vendor is denied" PAM_AUTH_ERR "$(step "$out" auth)"
		check "silent at '$needle': denied in under pg_timeout + fail_delay + 1 s ($ms ms)" \
			[ "$ms" -lt "$BOUND_MS" ]
		expect_match "silent at '$needle': syslog says store_error, no answer within $PG_TIMEOUT s" \
			"user=$V2 reason=[a-z_]*: .*PostgreSQL: .*no answer within $PG_TIMEOUT s" \
			"$(cat "$T/syslog")"
	done
	# At the UPDATE the "allow" line was written (the code is committed with its copy): the
	# failed commit leaves it followed by its reversal, naming the stage.
	expect_eq "silent at the UPDATE: audited as store_error" "auth deny store_error" \
		"$(last_audit_of "$V2")"
	expect_match "silent at the UPDATE: the reversal names the commit of the code with its line" \
		"cannot save vendor $V2 with audit line seq [0-9]*: no answer within $PG_TIMEOUT s" \
		"$(grep "\"user\":\"$V2\"" "$AUDIT" | tail -n 1)"
	# The cut-off session held V2's row lock on the server (the proxy keeps its socket open):
	# idle_in_transaction_session_timeout (pg_timeout) ends it, so the next login gets the row.
	for _ in $(seq 50); do
		[ "$(idle_in_tx)" = 0 ] && break
		sleep 0.1
	done
	expect_eq "the server ends the cut-off session left idle in its transaction" 0 "$(idle_in_tx)"
	out=$(timed_login pvpb "$V2" "$("$OTPCTL" --config "$CFG" --json issue "$V2" | code_of)")
	expect_eq "direct link: the same vendor logs in (the lost session's row lock released)" \
		PAM_SUCCESS "$(step "$out" auth)"
	pg_proxy_stop
}

# (b2) The link goes silent in the middle of a pipeline, after the server got it: first the
# lock (BEGIN, the transaction's settings, SELECT ... FOR UPDATE run; their answers lost), then
# the save (the UPDATE and its COMMIT run; the answer lost). Denied within the bound both
# times; the server ends the first session, left idle holding the row (the timeout set inside
# that transaction), and that code still works; the code whose COMMIT went through is used
# up: not accepted a second time.
row_version() { psql_q "SELECT version FROM pam_vendor_vendors WHERE name = '$V2'"; }
test_silent_mid_pipeline() {
	local out ms code before seq _
	pg_proxy_start "$T/proxy" "FOR UPDATE" after
	code=$("$OTPCTL" --config "$CFG" --json issue "$V2" | code_of)
	out=$(timed_login pvpbproxy "$V2" "$code")
	ms=$(step "$out" elapsed_ms)
	expect_eq "answers lost after the row lock: the vendor is denied" PAM_AUTH_ERR \
		"$(step "$out" auth)"
	check "answers lost after the row lock: denied in under pg_timeout + fail_delay + 1 s ($ms ms)" \
		[ "$ms" -lt "$BOUND_MS" ]
	expect_match "answers lost after the row lock: syslog names the stage" \
		"deny user=$V2 reason=store_error: PostgreSQL: cannot lock vendor $V2: no answer within $PG_TIMEOUT s" \
		"$(cat "$T/syslog")"
	for _ in $(seq 50); do
		[ "$(idle_in_tx)" = 0 ] && break
		sleep 0.1
	done
	expect_eq "the server ends the session left holding the row" 0 "$(idle_in_tx)"
	out=$(timed_login pvpb "$V2" "$code")
	expect_eq "the code of that login was not used: it logs in" PAM_SUCCESS "$(step "$out" auth)"

	pg_proxy_start "$T/proxy" "UPDATE pam_vendor_vendors SET" after
	code=$("$OTPCTL" --config "$CFG" --json issue "$V2" | code_of)
	before=$(row_version)
	out=$(timed_login pvpbproxy "$V2" "$code")
	ms=$(step "$out" elapsed_ms)
	expect_eq "answers lost after the UPDATE and COMMIT: the vendor is denied" PAM_AUTH_ERR \
		"$(step "$out" auth)"
	check "answers lost after the UPDATE and COMMIT: denied in under pg_timeout + fail_delay + 1 s ($ms ms)" \
		[ "$ms" -lt "$BOUND_MS" ]
	expect_eq "the server committed that save (the row's version moved on by one)" \
		$((before + 1)) "$(row_version)"
	seq=$(grep "\"user\":\"$V2\".*\"result\":\"allow\"" "$AUDIT" | tail -n 1 |
		python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["seq"])')
	expect_eq "the allow line was committed with the code (it is in the table)" 1 \
		"$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE seq = $seq")"
	expect_eq "and locally it is followed by its reversal" "auth deny store_error" \
		"$(last_audit_of "$V2")"
	out=$(timed_login pvpb "$V2" "$code")
	expect_eq "the code consumed by that save is not accepted a second time" PAM_AUTH_ERR \
		"$(step "$out" auth)"
	expect_eq "audited as otp_reused" "auth deny otp_reused" "$(last_audit_of "$V2")"
	pg_proxy_stop
}

# (b3) The state the order of the durable steps adds (the "allow" line is written before the
# code is committed with its copy): the login's process killed while that COMMIT waits. The
# local line is there without its reversal, the code was never consumed (no login happened on
# it: the process died before PAM_SUCCESS), the line is not in the table, the server rolls the
# transaction back; the code then logs in once, and once only, and the local chain is intact.
audit_lines_of() { grep -c "\"user\":\"$1\".*\"result\":\"allow\"" "$AUDIT"; }
test_killed_before_commit() {
	local out code before allows pid seq _
	pg_proxy_start "$T/proxy" "UPDATE pam_vendor_vendors SET"
	code=$("$OTPCTL" --config "$CFG" --json issue "$V2" | code_of)
	before=$(row_version)
	allows=$(audit_lines_of "$V2")
	"$PAMDRIVE" --confdir "$T/pam.d" --service pvpbproxy --user "$V2" --rhost "$ALLOWED" \
		--code "$code" --steps auth >/dev/null 2>>"$T/drive.err" &
	pid=$!
	for _ in $(seq 100); do
		[ "$(audit_lines_of "$V2")" -gt "$allows" ] && break
		sleep 0.05
	done
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	expect_eq "killed before the COMMIT: the allow line is the last line, not reversed" \
		"auth allow ok" "$(last_audit_of "$V2")"
	seq=$(grep "\"user\":\"$V2\"" "$AUDIT" | tail -n 1 |
		python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["seq"])')
	for _ in $(seq 50); do
		[ "$(idle_in_tx)" = 0 ] && break
		sleep 0.1
	done
	expect_eq "killed before the COMMIT: the server rolled the transaction back" 0 "$(idle_in_tx)"
	expect_eq "killed before the COMMIT: the code was not consumed (row unchanged)" "$before" \
		"$(row_version)"
	expect_eq "killed before the COMMIT: that line is not in the table" 0 \
		"$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE seq = $seq")"
	pg_proxy_stop
	out=$(timed_login pvpb "$V2" "$code")
	expect_eq "killed before the COMMIT: the code, never used for a login, logs in" \
		PAM_SUCCESS "$(step "$out" auth)"
	expect_eq "and its line is in the table with the code consumed" "1 $((before + 1))" \
		"$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE seq = $((seq + 1))") $(row_version)"
	out=$(timed_login pvpb "$V2" "$code")
	expect_eq "killed before the COMMIT: then it is not accepted a second time" PAM_AUTH_ERR \
		"$(step "$out" auth)"
	"$OTPCTL" --config "$CFG" audit verify >/dev/null 2>&1
	expect_eq "killed before the COMMIT: the local audit chain is intact" 0 $?
}

# (c) After SIGCONT: logins work again; no code is accepted twice.
test_recovery() {
	local out
	out=$(timed_login pvpb "$V1" "$PENDING")
	expect_eq "server back: the code denied during the stall logs in" PAM_SUCCESS "$(step "$out" auth)"
	out=$(timed_login pvpb "$V1" "$PENDING")
	expect_eq "server back: that code is not accepted twice" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "audited as otp_reused" "auth deny otp_reused" "$(last_audit_of "$V1")"
	out=$(timed_login pvpb "$V1" "$USED")
	expect_eq "server back: the code used before the stall is still refused" PAM_AUTH_ERR \
		"$(step "$out" auth)"
	"$OTPCTL" --config "$CFG" audit verify >/dev/null 2>&1
	expect_eq "the local audit chain is intact" 0 $?
}

# (d) The module's session runs with synchronous_commit = on even when the database's default
# is off: a trigger records the setting the module's own UPDATE runs with.
test_synchronous_commit() {
	local out
	psql_root "ALTER DATABASE pamvendor SET synchronous_commit = off" >/dev/null
	expect_eq "a plain session on the database sees synchronous_commit off" off \
		"$(psql_root 'SHOW synchronous_commit')"
	psql_root "CREATE TABLE pvpb_seen (setting text)" >/dev/null
	psql_root "CREATE FUNCTION pvpb_record() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN INSERT INTO pvpb_seen VALUES (current_setting('synchronous_commit')); RETURN NEW; END \$\$" >/dev/null
	psql_root "CREATE TRIGGER pvpb_seen BEFORE UPDATE ON pam_vendor_vendors FOR EACH ROW EXECUTE FUNCTION pvpb_record()" >/dev/null
	out=$(timed_login pvpb "$V1" "$("$OTPCTL" --config "$CFG" --json issue "$V1" | code_of)")
	expect_eq "a login with the database's default off" PAM_SUCCESS "$(step "$out" auth)"
	expect_eq "the module's session wrote its row with synchronous_commit on" on \
		"$(psql_root 'SELECT DISTINCT setting FROM pvpb_seen')"
	psql_root "DROP TRIGGER pvpb_seen ON pam_vendor_vendors" >/dev/null
	psql_root "ALTER DATABASE pamvendor RESET synchronous_commit" >/dev/null
}

test_setup
test_postmaster_stopped
test_silent_after_handshake
test_silent_mid_pipeline
test_killed_before_commit
test_recovery
test_synchronous_commit
finish

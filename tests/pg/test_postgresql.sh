#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_postgresql.sh — several gateways, one state: the PostgreSQL store backend against a
# real PostgreSQL started here (initdb + pg_ctl as the postgres user, in a temp dir, listening
# only on a Unix socket there; stopped by PID). Two gateways = two configurations (same key,
# own audit log) and two PAM services, each pamdrive run in a UTS namespace of its own so that
# the gateways have their own host names (gwa, gwb). Asserted on PAM return codes, audit
# lines, `otpctl --json status` and the database's own tables.
set -u
source "$(dirname "$0")/../lib.sh"

source "$(dirname "$0")/pg_lib.sh"
pg_suite_begin "PostgreSQL backend"

ALLOWED=203.0.113.5
GRP=pvpgg$PV_RUN
V1=pvpga$PV_RUN
V2=pvpgb$PV_RUN
cleanup() {
	pg_teardown
	remove_accounts
	cleanup_dirs
}
trap cleanup EXIT
pg_setup pamvendor pamvendor2 || { echo "Bail out! cannot start PostgreSQL"; exit 1; }

add_group "$GRP"
add_user "$V1" -M -N -G "$GRP" -s /usr/sbin/nologin
add_user "$V2" -M -N -G "$GRP" -s /usr/sbin/nologin

# Gateway A: new_env's config, switched to the database; gateway B: the same with its own log.
# pg_timeout also bounds the server's lock wait: 30 parallel logins queue on one vendor's row,
# which under the sanitizer build and other suites takes seconds (test_pg_bounds.sh tests
# the bound itself, with 2 s).
PG_TIMEOUT=10
new_env "vendor_group = $GRP" "store_backend = postgresql" \
	"pg_conninfo = host=$PGD dbname=pamvendor" "pg_timeout = ${PG_TIMEOUT}s" "max_failures = 1000"
pg_gateway_b
mkdir -p "$T/pam.d"
for g in a b; do
	c=$CFG_A
	[ $g = b ] && c=$CFG_B
	for t in auth account session; do echo "$t required $PV_MODULE config=$c"; done >"$T/pam.d/gw$g"
done
printf 'auth [success=done ignore=ignore default=die] %s config=%s\nauth required pam_permit.so\naccount required pam_permit.so\n' \
	"$PV_MODULE" "$CFG_A" >"$T/pam.d/gwa_permit"

# as_host NAME CMD...: CMD in a UTS namespace whose host name is NAME (one gateway).
as_host() { unshare -u sh -c 'hostname "$0" && exec "$@"' "$@"; }
ctl_a() { as_host gwa "$OTPCTL" --config "$CFG_A" "$@"; }
ctl_b() { as_host gwb "$OTPCTL" --config "$CFG_B" "$@"; }
# login GW USER CODE [STEPS]: pamdrive on gateway GW (a or b) as host gwGW; prints its output.
login() {
	as_host "gw${1%5}" "$PAMDRIVE" --confdir "$T/pam.d" --service "gw$1" --user "$2" --rhost "$ALLOWED" \
		--code "$3" --steps "${4:-auth,account}" 2>>"$T/drive.err"
}

test_schema() {
	ctl_a db init >/dev/null
	expect_eq "db init creates the schema" 0 $?
	expect_eq "schema version 2 recorded" 2 "$(psql_q 'SELECT version FROM pam_vendor_schema')"
	ERR=$(ctl_a db init 2>&1 >/dev/null)
	expect_eq "db init again is refused" 1 $?
	expect_match "db init again says the schema is there" "already there" "$ERR"
	expect_match "db upgrade: nothing to do" "already at version 2" "$(ctl_a db upgrade)"
}

test_window_and_code_across_gateways() {
	local c out
	ctl_a vendor add "$V1" --ip "$ALLOWED" >/dev/null 2>&1
	ctl_a vendor add "$V2" --ip "$ALLOWED" >/dev/null 2>&1
	expect_eq "gateway B lists the vendors added on A" "$V1 $V2" \
		"$(ctl_b --json vendor list | python3 -c 'import json,sys; print(" ".join(v["vendor"] for v in json.load(sys.stdin)["vendors"]))')"
	ctl_a enable "$V1" --for 1h >/dev/null
	ctl_a enable "$V2" --for 1h >/dev/null
	c=$(ctl_a --json issue "$V1" | code_of)
	out=$(login b "$V1" "$c")
	expect_eq "a window opened and a code issued on A admit on B" "PAM_SUCCESS PAM_SUCCESS" \
		"$(step "$out" auth) $(step "$out" account)"
	out=$(login a "$V1" "$c" auth)
	expect_eq "the code used on B is refused on A" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "A audits it as otp_reused" "auth deny otp_reused" "$(tail -n 1 "$AUDIT" |
		python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["result"], d["reason"])')"
	expect_eq "the sealed record in the database holds no code or secret in clear" 0 \
		"$(psql_q "SELECT count(*) FROM pam_vendor_vendors WHERE position('$c'::bytea in sealed) > 0")"
}

reused_lines() { cat "$AUDIT" "$T/logb/audit.log" | grep -c '"reason":"otp_reused"'; }
test_one_code_fifty_parallel_logins() {
	local c i ok=0 reused=0 out n0
	n0=$(reused_lines)
	c=$(ctl_a --json issue "$V1" | code_of)
	for i in $(seq 50); do
		login $([ $((i % 2)) = 0 ] && echo a || echo b) "$V1" "$c" auth >"$T/par.$i" &
	done
	wait
	for i in $(seq 50); do
		out=$(cat "$T/par.$i")
		case "$(step "$out" auth)" in
		PAM_SUCCESS) ok=$((ok + 1)) ;;
		PAM_AUTH_ERR) reused=$((reused + 1)) ;;
		esac
	done
	expect_eq "one code, 50 parallel logins over both gateways: exactly one success" "1 49" "$ok $reused"
	expect_eq "49 more otp_reused lines across both gateways' logs" 49 $(($(reused_lines) - n0))
}

test_distinct_codes_all_succeed() {
	local i v ok=0 codes=()
	ctl_a unlock "$V1" >/dev/null
	for i in $(seq 25); do codes+=("$V1:$(ctl_a --json issue "$V1" | code_of)"); done
	for i in $(seq 25); do codes+=("$V2:$(ctl_b --json issue "$V2" | code_of)"); done
	i=0
	for v in "${codes[@]}"; do
		i=$((i + 1))
		login $([ $((i % 2)) = 0 ] && echo a || echo b) "${v%%:*}" "${v#*:}" auth >"$T/dist.$i" &
	done
	wait
	for i in $(seq 50); do [ "$(step "$(cat "$T/dist.$i")" auth)" = PAM_SUCCESS ] && ok=$((ok + 1)); done
	expect_eq "50 distinct codes on two vendors, parallel on both gateways: all succeed" 50 "$ok"
	expect_eq "no code left outstanding (no update lost)" "0 0" \
		"$(ctl_a --json status | python3 -c 'import json,sys; print(" ".join(str(v["outstanding_codes"]) for v in json.load(sys.stdin)["vendors"]))')"
}

test_parallel_wrong_codes_lock_at_max() {
	local i invalid locked g c t
	# Both gateways with max_failures = 5 (services gwa5, gwb5).
	for g in a b; do
		c=$(cfg_with "$([ $g = a ] && echo "$CFG_A" || echo "$CFG_B")" "gw${g}5.conf" "max_failures=5")
		for t in auth account; do echo "$t required $PV_MODULE config=$c"; done >"$T/pam.d/gw${g}5"
	done
	ctl_a unlock "$V2" >/dev/null
	ctl_a --json issue "$V2" >/dev/null # the window has a code: wrong ones are otp_invalid
	for i in $(seq 30); do
		login $([ $((i % 2)) = 0 ] && echo a5 || echo b5) "$V2" 00000000 auth >"$T/wrong.$i" &
	done
	wait
	invalid=$(cat "$AUDIT" "$T/logb/audit.log" | grep "\"user\":\"$V2\"" | grep -c '"reason":"otp_invalid"')
	locked=$(cat "$AUDIT" "$T/logb/audit.log" | grep "\"user\":\"$V2\"" | grep -c '"reason":"locked_out"')
	expect_eq "30 parallel wrong codes: exactly max_failures (5) counted, the rest locked_out" "5 25" "$invalid $locked"
	# On a mismatch, say what the other logins got (a comment line, for the log).
	[ "$invalid $locked" = "5 25" ] || cat "$AUDIT" "$T/logb/audit.log" | grep "\"user\":\"$V2\"" |
		grep -v '"reason":"otp_invalid"\|"reason":"locked_out"' | sed 's/^/# /' | tail -n 5
	expect_eq "the vendor is locked with 5 failures" "True 5" \
		"$(ctl_b --json status "$V2" | python3 -c 'import json,sys; v=json.load(sys.stdin)["vendors"][0]; print(v["locked"], v["failures"])')"
}

test_database_down_denies_quickly() {
	local c used out t0 t1
	ctl_a unlock "$V2" >/dev/null
	used=$(ctl_a --json issue "$V1" | code_of)
	out=$(login a "$V1" "$used")
	expect_eq "before the stop: a code logs in" PAM_SUCCESS "$(step "$out" auth)"
	c=$(ctl_a --json issue "$V1" | code_of)
	pg_stop
	t0=$(date +%s%N)
	out=$(login b "$V1" "$c")
	t1=$(date +%s%N)
	expect_eq "database stopped: the vendor is denied" PAM_AUTH_ERR "$(step "$out" auth)"
	check "database stopped: denied within pg_timeout + 3 s ($(((t1 - t0) / 1000000)) ms)" \
		[ $(((t1 - t0) / 1000000)) -lt $(((PG_TIMEOUT + 3) * 1000)) ]
	out=$(as_host gwa "$PAMDRIVE" --confdir "$T/pam.d" \
		--service gwa_permit --user nobody --rhost "$ALLOWED" --steps auth,account 2>>"$T/drive.err")
	expect_eq "database stopped: a user outside vendor_group is untouched" "PAM_SUCCESS PAM_SUCCESS" \
		"$(step "$out" auth) $(step "$out" account)"
	run_ctl status
	expect_eq "database stopped: otpctl fails, saying why" 1 "$RC"
	expect_match "database stopped: the error names PostgreSQL" "PostgreSQL: cannot connect" "$ERR"
	pg_start
	out=$(login a "$V1" "$c")
	expect_eq "database back: the code issued before the stop works" PAM_SUCCESS "$(step "$out" auth)"
	out=$(login b "$V1" "$used")
	expect_eq "database back: a code used before the stop is still refused" PAM_AUTH_ERR "$(step "$out" auth)"
}

test_audit_table_holds_every_gateway() {
	local a b
	a=$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE host = 'gwa'")
	b=$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE host = 'gwb'")
	check "the audit table holds lines of both gateways (gwa $a, gwb $b)" [ "$a" -gt 0 ] && [ "$b" -gt 0 ]
	expect_eq "every gwa line in the table is the same line in a local log" "" \
		"$(psql_q "SELECT line FROM pam_vendor_audit WHERE host = 'gwa' ORDER BY seq" | grep -vxFf <(cat "$AUDIT" "$T/logb/audit.log") | head -n 3)"
}

test_audit_verify_all_hosts() {
	local out
	out=$(ctl_b audit verify --all-hosts)
	expect_eq "audit verify --all-hosts on B: exit 0" 0 $?
	expect_match "it checks gateway A's chain from the table" "host gwa: intact" "$out"
	expect_match "and gateway B's" "host gwb: intact" "$out"
	psql_q "UPDATE pam_vendor_audit SET line = replace(line, '\"result\":\"deny\"', '\"result\":\"allow\"') WHERE host = 'gwb' AND seq = (SELECT max(seq) FROM pam_vendor_audit WHERE host = 'gwb' AND line LIKE '%\"result\":\"deny\"%')" >/dev/null
	out=$(ctl_a audit verify --all-hosts 2>&1)
	expect_eq "a line edited in the table: --all-hosts fails" 1 $?
	expect_match "and names the host and the line" "host gwb: NOT intact: .*fails its MAC" "$out"
	expect_match "the other gateway is still intact" "host gwa: intact" "$out"
}

test_audit_and_report_across_gateways() {
	local c out
	c=$(ctl_a --json issue "$V1" | code_of)
	out=$(login b "$V1" "$c" auth,account,open,close)
	expect_eq "a session on gateway B" "PAM_SUCCESS PAM_SUCCESS" "$(step "$out" open) $(step "$out" close)"
	out=$(ctl_a --json report --all-hosts --vendor "$V1")
	expect_eq "report --all-hosts on A shows the session held on B, with its end" "gwb True" \
		"$(echo "$out" | python3 -c 'import json,sys; s=[r for r in json.load(sys.stdin)["sessions"] if r["end"]]; print(s[-1]["host"], s[-1]["duration_s"] is not None)')"
	expect_eq "report without --all-hosts on A: only A's own log (no session there)" 0 \
		"$(ctl_a --json report --vendor "$V1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')"
	out=$(ctl_b --json audit --all-hosts --vendor "$V1")
	expect_eq "audit --all-hosts on B: events of both gateways" "gwa gwb" \
		"$(echo "$out" | python3 -c 'import json,sys; print(" ".join(sorted({e["host"] for e in json.load(sys.stdin)["events"]})))')"
	ERR=$(cd / && "$OTPCTL" --config "$(cfg_with "$CFG_A" fileonly.conf "store_backend=file")" audit --all-hosts 2>&1 >/dev/null)
	expect_match "--all-hosts with the file store: refused, saying why" "uses the file store, which has no shared audit table" "$ERR"
}

# The copy into the shared audit table is part of the append: if it fails, the vendor is
# denied ("no log, no login"). The copy runs after the local audit lock is released, so the
# local line stays, followed by a line that reverses it (deny, store_error).
test_audit_insert_failure_denies() {
	local c out n0
	c=$(ctl_a --json issue "$V1" | code_of)
	psql_q "ALTER TABLE pam_vendor_audit RENAME TO pam_vendor_audit_away" >/dev/null
	n0=$(wc -l <"$AUDIT")
	out=$(login a "$V1" "$c" auth)
	expect_eq "audit table unwritable: the vendor is denied" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "audit table unwritable: the local log shows the allow, then its reversal" \
		"auth allow ok|auth deny store_error" \
		"$(tail -n +$((n0 + 1)) "$AUDIT" | python3 -c 'import json,sys; print("|".join("%s %s %s" % (d["event"], d["result"], d["reason"]) for d in map(json.loads, sys.stdin)))')"
	expect_match "the reversal names the line not copied" "was not copied to the audit table .*that decision is reversed" \
		"$(tail -n 1 "$AUDIT")"
	psql_q "ALTER TABLE pam_vendor_audit_away RENAME TO pam_vendor_audit" >/dev/null
	expect_eq "audit table back: the local chain is intact" 0 \
		"$(ctl_a audit verify >/dev/null 2>&1; echo $?)"
	# The code is consumed in the same commit as its allow line's copy: that commit failed,
	# no login happened on the code, so it is still unused; then used once only.
	expect_eq "audit table unwritable: the allow line is not in the table" 0 \
		"$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE host = 'gwa' AND seq = $(tail -n 2 "$AUDIT" | head -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])')")"
	out=$(login a "$V1" "$c" auth)
	expect_eq "audit table back: that code, never used for a login, logs in" PAM_SUCCESS "$(step "$out" auth)"
	out=$(login a "$V1" "$c" auth)
	expect_eq "audit table back: then it is not accepted a second time" PAM_AUTH_ERR "$(step "$out" auth)"
}

test_schema_mismatch_is_refused() {
	local c out
	c=$(ctl_a --json issue "$V1" | code_of)
	psql_q "UPDATE pam_vendor_schema SET version = 99" >/dev/null
	out=$(login a "$V1" "$c")
	expect_eq "unknown schema version: the vendor is denied" PAM_AUTH_ERR "$(step "$out" auth)"
	run_ctl status
	expect_match "unknown schema version: otpctl says so" "schema version 99 is not the one" "$ERR"
	psql_q "UPDATE pam_vendor_schema SET version = 2" >/dev/null
	out=$(login a "$V1" "$c")
	expect_eq "schema back: the code works" PAM_SUCCESS "$(step "$out" auth)"
}

# status without the fields that move with the clock
stable_status() {
	"$OTPCTL" --config "$1" --json status | python3 -c '
import json,sys
d=json.load(sys.stdin)
for v in d["vendors"]:
    v.pop("seconds_left", None); v.pop("seconds_to_start", None); v.pop("inside_hours", None)
print(json.dumps(d, sort_keys=True))'
}
# cfg_with BASE NAME KEY=VALUE...: a copy of config BASE with the given keys replaced.
cfg_with() {
	local base=$1 out=$T/$2 kv
	shift 2
	cp "$base" "$out"
	for kv in "$@"; do sed -i "s|^${kv%%=*} = .*|${kv%%=*} = ${kv#*=}|" "$out"; done
	chmod 0600 "$out"
	echo "$out"
}
test_migration_round_trip() {
	local file1 file1_pg2 pg2 pg2_file2 before after
	# Keys and targets travel with the record (issue 21).
	ssh-keygen -q -t ed25519 -N '' -C migrated -f "$T/migrate_key"
	ctl_a vendor key add "$V1" "$T/migrate_key.pub" >/dev/null
	ctl_a vendor set "$V1" --target 192.0.2.10:22 >/dev/null
	# The vendors now live in the database; copy them to a file store first (the source).
	expect_eq "migrate PostgreSQL -> file" 0 "$(ctl_a store migrate --to file >/dev/null 2>&1; echo $?)"
	file1=$(cfg_with "$CFG_A" file1.conf "store_backend=file")
	before=$(stable_status "$file1")
	check "the file copy lists both vendors" [ "$(echo "$before" | grep -o "\"vendor\": \"pvpg" | wc -l)" = 2 ]
	# file -> a fresh database -> a new file store.
	pg2=$(cfg_with "$CFG_A" pg2.conf "pg_conninfo=host=$PGD dbname=pamvendor2")
	"$OTPCTL" --config "$pg2" db init >/dev/null
	file1_pg2=$(cfg_with "$file1" file1pg2.conf "pg_conninfo=host=$PGD dbname=pamvendor2")
	expect_eq "migrate file -> PostgreSQL (fresh database)" 0 \
		"$("$OTPCTL" --config "$file1_pg2" store migrate --to postgresql >/dev/null 2>&1; echo $?)"
	mkdir -m 0700 "$T/store2"
	pg2_file2=$(cfg_with "$pg2" pg2file2.conf "store_dir=$T/store2")
	expect_eq "migrate PostgreSQL -> file (a new store dir)" 0 \
		"$("$OTPCTL" --config "$pg2_file2" store migrate --to file >/dev/null 2>&1; echo $?)"
	after=$(stable_status "$(cfg_with "$pg2_file2" file2.conf "store_backend=file")")
	expect_eq "file -> PostgreSQL -> file: every vendor identical" "$before" "$after"
	expect_match "the copy carries the SSH key and the target" '"keys": 1, .*"targets": \["192.0.2.10:22"\]' "$after"
	expect_eq "the sources are untouched: the first database still holds both vendors" 2 \
		"$(psql_q 'SELECT count(*) FROM pam_vendor_vendors')"
	expect_eq "migrating onto a copy that differs is refused" 1 \
		"$(ctl_a vendor set "$V1" --note "changed after the copy" >/dev/null; ctl_a store migrate --to file >/dev/null 2>&1; echo $?)"
}

# With the database the module only asks about vendor_group members: a vendor must be one.
test_vendor_outside_group_is_refused() {
	local u=pvpgo$PV_RUN err
	add_user "$u" -M -N -s /usr/sbin/nologin
	err=$(ctl_a vendor add "$u" --ip "$ALLOWED" 2>&1 >/dev/null)
	expect_eq "vendor add of an account outside vendor_group: refused" 1 $?
	expect_match "the refusal names the group" "must be in vendor_group $GRP" "$err"
	expect_eq "nothing stored" 0 "$(psql_q "SELECT count(*) FROM pam_vendor_vendors WHERE name = '$u'")"
	userdel "$u"
}

test_bad_config_is_refused() {
	local f=$T/bad.conf
	sed -e "s|^pg_conninfo = .*|pg_conninfo = host=$PGD dbname=pamvendor password=secret|" "$CFG_A" >"$f"
	chmod 0600 "$f"
	"$OTPCTL" --config "$f" status >/dev/null 2>"$T/bad.err"
	expect_eq "a password in pg_conninfo is refused" 1 $?
	expect_match "the refusal names the key, not the password" "pg_conninfo.*no password here" "$(cat "$T/bad.err")"
	expect_no_match "the password is never echoed" "secret" "$(cat "$T/bad.err")"
}

test_schema
test_window_and_code_across_gateways
test_one_code_fifty_parallel_logins
test_distinct_codes_all_succeed
test_parallel_wrong_codes_lock_at_max
test_database_down_denies_quickly
test_audit_table_holds_every_gateway
test_audit_verify_all_hosts
test_audit_and_report_across_gateways
test_audit_insert_failure_denies
test_schema_mismatch_is_refused
test_migration_round_trip
test_vendor_outside_group_is_refused
test_bad_config_is_refused
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_pg_rollback.sh — an older sealed row put back in the database (by anyone with UPDATE on
# the vendors table, no key needed) after a login is refused by the gateway that saw the newer
# one: the next login is denied with store_error (audit line and syslog naming both serials),
# otpctl refuses the vendor too, other vendors are untouched, and an unsafe or missing memory
# of serials fails closed. Real PostgreSQL from pg_lib.sh; asserted on PAM return codes, audit
# lines, syslog, otpctl's exit status and the database's table.
set -u
source "$(dirname "$0")/../lib.sh"

source "$(dirname "$0")/pg_lib.sh"
pg_suite_begin "PostgreSQL row rollback"

ALLOWED=203.0.113.5
GRP=pvprbg$PV_RUN
V1=pvprba$PV_RUN
V2=pvprbb$PV_RUN
cleanup() {
	pg_teardown
	remove_accounts
	cleanup_dirs
}
trap cleanup EXIT
pg_setup pamvendor || { echo "Bail out! cannot start PostgreSQL"; exit 1; }

add_group "$GRP"
add_user "$V1" -M -N -G "$GRP" -s /usr/sbin/nologin
add_user "$V2" -M -N -G "$GRP" -s /usr/sbin/nologin

new_env "vendor_group = $GRP" "store_backend = postgresql" \
	"pg_conninfo = host=$PGD dbname=pamvendor" "pg_timeout = 5s" "max_failures = 1000"
mkdir -p "$T/pam.d"
for t in auth account; do echo "$t required $PV_MODULE config=$CFG"; done >"$T/pam.d/pvprb"

code_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["otp"])'; }
# login USER CODE: auth and account on this gateway, syslog captured in $T/syslog.
login() {
	with_syslog "$T/syslog" "$PAMDRIVE" --confdir "$T/pam.d" --service pvprb --user "$1" \
		--rhost "$ALLOWED" --code "$2" --steps auth,account 2>>"$T/drive.err"
}
step() { printf '%s\n' "$1" | sed -n "s/^$2=//p" | tail -n 1; }
# last_audits_of USER: "event result reason" of USER's last two lines in the local audit log
# (a login is auth then account), joined by " / ".
last_audits_of() {
	grep "\"user\":\"$1\"" "$AUDIT" | tail -n 2 |
		python3 -c 'import json,sys; print(" / ".join("%s %s %s" % (d["event"], d["result"], d["reason"]) for d in map(json.loads, sys.stdin)))'
}
# row_of USER / put_row USER HEX: the vendor's sealed row as hex, and an UPDATE that puts one
# back (what a database role with UPDATE on the table can do without the key).
row_of() { psql_q "SELECT encode(sealed, 'hex') FROM pam_vendor_vendors WHERE name = '$1'"; }
put_row() { psql_q "UPDATE pam_vendor_vendors SET sealed = decode('$2', 'hex') WHERE name = '$1'"; }
serial_file() { echo "$STORE/serials/$1.serial"; }

test_setup() {
	"$OTPCTL" --config "$CFG" db init >/dev/null
	expect_eq "db init" 0 $?
	"$OTPCTL" --config "$CFG" vendor add "$V1" --ip "$ALLOWED" >/dev/null 2>&1
	"$OTPCTL" --config "$CFG" vendor add "$V2" --ip "$ALLOWED" >/dev/null 2>&1
	"$OTPCTL" --config "$CFG" enable "$V1" --for 1h >/dev/null
	"$OTPCTL" --config "$CFG" enable "$V2" --for 1h >/dev/null
	expect_eq "two vendors in the database" 2 "$(psql_q 'SELECT count(*) FROM pam_vendor_vendors')"
	check "the gateway remembers a serial per vendor" test -s "$(serial_file "$V1")" -a -s "$(serial_file "$V2")"
}

# The issue's test: put back an older sealed row after a login.
test_older_row_after_a_login_is_denied() {
	local code old before after out
	code=$("$OTPCTL" --config "$CFG" --json issue "$V1" | code_of)
	old=$(row_of "$V1")
	before=$(cat "$(serial_file "$V1")")
	out=$(login "$V1" "$code")
	expect_eq "a code logs in" PAM_SUCCESS "$(step "$out" auth)"
	after=$(cat "$(serial_file "$V1")")
	check "the login's save raised the remembered serial" [ "$after" -gt "$before" ]
	put_row "$V1" "$old"
	expect_eq "the older row (the code not yet used) is back in the table" "$old" "$(row_of "$V1")"
	out=$(login "$V1" "$code")
	expect_eq "older row: the same code is denied" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "older row: account denied too" PAM_PERM_DENIED "$(step "$out" account)"
	expect_eq "older row: both audited as store_error" "auth deny store_error / account deny store_error" \
		"$(last_audits_of "$V1")"
	expect_match "older row: syslog says store_error, naming the vendor and both serials" \
		"auth deny user=$V1 reason=store_error: the record of $V1 has serial $before, below serial $after" \
		"$(cat "$T/syslog")"
	expect_eq "older row: the remembered serial is not lowered" "$after" "$(cat "$(serial_file "$V1")")"
	run_ctl status "$V1"
	expect_eq "older row: otpctl status refuses the vendor" 1 "$RC"
	expect_match "and says why" "below serial $after" "$ERR"
	run_ctl issue "$V1"
	expect_eq "older row: otpctl issue refuses and changes nothing" "1 $old" "$RC $(row_of "$V1")"
	out=$(login "$V2" "$("$OTPCTL" --config "$CFG" --json issue "$V2" | code_of)")
	expect_eq "another vendor still logs in" PAM_SUCCESS "$(step "$out" auth)"
}

# A remembered serial that cannot be trusted fails closed for that vendor only.
test_unsafe_memory_fails_closed() {
	local f out code
	f=$(serial_file "$V2")
	code=$("$OTPCTL" --config "$CFG" --json issue "$V2" | code_of)
	chmod 0644 "$f"
	out=$(login "$V2" "$code")
	expect_eq "a group-readable remembered serial: denied" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "audited as store_error" "auth deny store_error / account deny store_error" \
		"$(last_audits_of "$V2")"
	expect_match "syslog names the file" "reason=store_error: $f is readable by group or others" \
		"$(cat "$T/syslog")"
	chmod 0600 "$f"
	mv "$STORE/serials" "$STORE/serials.away"
	run_ctl status "$V2"
	expect_eq "the serials directory removed: otpctl refuses" 1 "$RC"
	expect_match "and says how to recreate it" "is missing; recreate it \(install -d -m 0700" "$ERR"
	mv "$STORE/serials.away" "$STORE/serials"
	out=$(login "$V2" "$code")
	expect_eq "put back: the vendor logs in again" PAM_SUCCESS "$(step "$out" auth)"
}

test_setup
test_older_row_after_a_login_is_denied
test_unsafe_memory_fails_closed
finish

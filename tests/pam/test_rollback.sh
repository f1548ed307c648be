#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_rollback.sh — the file store against a rolled-back record: a copy of a vendor's sealed
# file taken before a login and copied back after it is refused (the login denied with
# store_error, audit and syslog naming both serials; otpctl refuses the vendor); a vendor
# removed and added again starts above the serial this gateway remembers, so the earlier
# vendor's file copied back is refused too. Real libpam through pamdrive; asserted on PAM
# return codes, audit lines, syslog and otpctl's exit status.
set -u
source "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "Bail out! test_rollback.sh needs root"
	exit 1
fi

ALLOWED=203.0.113.5
V1=pvrba$PV_RUN
cleanup() {
	remove_accounts
	cleanup_dirs
}
trap cleanup EXIT
add_user "$V1" -M -N -s /usr/sbin/nologin

new_env "max_failures = 1000"
mkdir -p "$T/pam.d"
for t in auth account; do echo "$t required $PV_MODULE config=$CFG"; done >"$T/pam.d/pvrb"

code_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["otp"])'; }
issue() { "$OTPCTL" --config "$CFG" --json issue "$V1" | code_of; }
login() {
	with_syslog "$T/syslog" "$PAMDRIVE" --confdir "$T/pam.d" --service pvrb --user "$V1" \
		--rhost "$ALLOWED" --code "$1" --steps auth,account 2>>"$T/drive.err"
}
step() { printf '%s\n' "$1" | sed -n "s/^$2=//p" | tail -n 1; }
last_audits() {
	grep "\"user\":\"$V1\"" "$AUDIT" | tail -n 2 |
		python3 -c 'import json,sys; print(" / ".join("%s %s %s" % (d["event"], d["result"], d["reason"]) for d in map(json.loads, sys.stdin)))'
}
remembered() { cat "$STORE/serials/$V1.serial"; }

test_copied_back_after_a_login_is_denied() {
	local code before after out
	"$OTPCTL" --config "$CFG" vendor add "$V1" --ip "$ALLOWED" >/dev/null &&
		"$OTPCTL" --config "$CFG" enable "$V1" --for 1h >/dev/null
	expect_eq "setup: vendor added and enabled" 0 $?
	code=$(issue)
	cp -p "$STORE/$V1.rec" "$T/old.rec"
	before=$(remembered)
	out=$(login "$code")
	expect_eq "a code logs in" PAM_SUCCESS "$(step "$out" auth)"
	after=$(remembered)
	check "the login's save raised the remembered serial" test "$after" -gt "$before"
	cp -p "$T/old.rec" "$STORE/$V1.rec"
	out=$(login "$code")
	expect_eq "the older file copied back: the same code is denied" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "audited as store_error" "auth deny store_error / account deny store_error" "$(last_audits)"
	expect_match "syslog names the vendor and both serials" \
		"reason=store_error: the record of $V1 has serial $before, below serial $after" "$(cat "$T/syslog")"
	run_ctl status "$V1"
	expect_eq "otpctl status refuses the vendor" 1 "$RC"
	expect_match "and says why" "below serial $after" "$ERR"
}

# Remove forgets the serial; add starts at its creation time in microseconds, above anything
# the removed vendor's file could carry: that file copied back is refused.
test_readded_vendor_refuses_the_earlier_file() {
	local out
	"$OTPCTL" --config "$CFG" vendor remove "$V1" >/dev/null 2>&1
	expect_eq "vendor remove" 0 $?
	check "vendor remove forgets the remembered serial" test ! -e "$STORE/serials/$V1.serial"
	# A new record's serial is its creation second in microseconds: the earlier vendor, added
	# and saved a few times within the same second, would be above it (a second later never).
	sleep 1
	"$OTPCTL" --config "$CFG" vendor add "$V1" --ip "$ALLOWED" >/dev/null &&
		"$OTPCTL" --config "$CFG" enable "$V1" --for 1h >/dev/null
	expect_eq "setup: vendor added again" 0 $?
	cp -p "$T/old.rec" "$STORE/$V1.rec"
	out=$(login "$(wrong_of 123456)")
	expect_eq "the earlier vendor's file copied back: denied" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "audited as store_error" "auth deny store_error / account deny store_error" "$(last_audits)"
}

test_copied_back_after_a_login_is_denied
test_readded_vendor_refuses_the_earlier_file
finish

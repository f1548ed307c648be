#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_sshd_safety.sh — through a real sshd: (1) a mistake in pam_vendor's own files (a
# world-writable configuration, an unusable key, a store replaced by a symlink) denies vendors
# but never locks out everyone else, with the module's vendor_group= argument or the
# configuration's vendor_group telling them apart, and syslog says why; the same through
# pamtester; (2) what a refused vendor sees on its terminal for each reason, as the admin
# guide's phone-support table states it (no password prompt after the module's refusal).
# Runs in private mount and network namespaces, like test_sshd.sh; syslog is captured from a
# /dev/log socket that exists only inside the namespace.
set -u
source "$(dirname "$0")/../lib.sh"

SSHD_TAG=pvsf
source "$(dirname "$0")/sshd_lib.sh"
sshd_enter "$0"

# --- inside the namespaces ---------------------------------------------------------------
new_env "max_failures = 2" "vendor_group = $GROUP"
SYSLOG_PID=
stop_all() {
	sshd_stop
	[ -n "$SYSLOG_PID" ] && kill "$SYSLOG_PID" 2>/dev/null
	cleanup_dirs
}
trap stop_all EXIT

# Syslog: a tmpfs over /dev with device nodes of its own and our own /dev/log socket, read by
# a listener into $T/syslog (private_syslog in tests/lib.sh).
private_syslog "$T/syslog" || { echo "Bail out! cannot mount a private /dev"; exit 1; }
sshd_start

# syslog_since N: syslog lines after line N.
syslog_lines() { wc -l <"$T/syslog"; }
syslog_since() { sleep 0.2; tail -n +"$(($1 + 1))" "$T/syslog"; }
# The sshd PAM stack with vendor_group= as the module's argument (the PAM file is root's).
use_module_group_arg() {
	sed -i "s|\(pam_vendor.so[^ ]* config=[^ ]*\)\( vendor_group=[^ ]*\)\{0,1\}|\1 vendor_group=$GROUP|" \
		"$T/pam.d/sshd"
}
no_module_group_arg() { sed -i "s| vendor_group=$GROUP||" "$T/pam.d/sshd"; }

ctl vendor add "$VENDOR" --ip 127.0.0.5
ctl enable "$VENDOR" --for 1h

# (1) A mistake in our files: vendors denied, everyone else left to the stack.

# expect_other_in NAME: the non-vendor logs in with its key alone.
expect_other_in() {
	login 127.0.0.5 "$OTHER"
	expect_eq "$1: a non-vendor still logs in (key only)" "logged-in-as-$OTHER" "$OUT"
}
expect_vendor_out() {
	echo 12345678 >"$T/code" # no code can be issued while our files are unusable
	login 127.0.0.5 "$VENDOR"
	check "$1: the vendor is refused" [ "$RC" -ne 0 ]
	expect_eq "$1: the vendor is not asked for a code" 0 "$PROMPTS"
}

test_world_writable_config() {
	local n
	use_module_group_arg
	chmod 0666 "$CFG"
	n=$(syslog_lines)
	expect_other_in "config 0666, vendor_group= argument"
	expect_match "config 0666: syslog says why the non-vendor was left to the stack" \
		"ignore user=$OTHER: not in the vendor group.*vendors are denied.*writable by group or others" \
		"$(syslog_since "$n")"
	n=$(syslog_lines)
	expect_vendor_out "config 0666, vendor_group= argument"
	expect_match "config 0666: syslog says why the vendor was refused" \
		"deny user=$VENDOR reason=config_error: .*writable by group or others" "$(syslog_since "$n")"

	no_module_group_arg
	n=$(syslog_lines)
	login 127.0.0.5 "$OTHER"
	check "config 0666 and no vendor_group= argument: nobody can be told apart, all refused" \
		[ "$RC" -ne 0 ]
	expect_match "... and syslog says how to avoid it" \
		"every user is denied: no vendor_group tells vendors apart \(add vendor_group=GROUP" \
		"$(syslog_since "$n")"
	chmod 0644 "$CFG"
}

test_unusable_key() {
	local n
	use_module_group_arg
	chmod 0644 "$T/etc/master.key"
	n=$(syslog_lines)
	expect_other_in "key readable by others"
	expect_vendor_out "key readable by others"
	expect_match "key readable by others: syslog says why the vendor was refused" \
		"deny user=$VENDOR reason=store_error: .*master.key" "$(syslog_since "$n")"
	chmod 0600 "$T/etc/master.key"
	mv "$T/etc/master.key" "$T/master.key.aside"
	expect_other_in "key missing"
	expect_vendor_out "key missing"
	mv "$T/master.key.aside" "$T/etc/master.key"
}

test_store_replaced_by_symlink() {
	local n
	mv "$STORE" "$T/store.real"
	ln -s "$T/store.real" "$STORE"
	for mode in argument configuration; do
		if [ $mode = argument ]; then
			use_module_group_arg
			drop_conf vendor_group
		else
			no_module_group_arg
			set_conf vendor_group "$GROUP"
		fi
		n=$(syslog_lines)
		expect_other_in "store is a symlink, vendor_group from the $mode"
		expect_match "store is a symlink ($mode): syslog says why the non-vendor was left to the stack" \
			"ignore user=$OTHER: not in the vendor group.*$STORE" "$(syslog_since "$n")"
		n=$(syslog_lines)
		expect_vendor_out "store is a symlink, vendor_group from the $mode"
		expect_match "store is a symlink ($mode): syslog says why the vendor was refused" \
			"deny user=$VENDOR reason=store_error: .*$STORE" "$(syslog_since "$n")"
	done
	rm "$STORE"
	mv "$T/store.real" "$STORE"
	no_module_group_arg
	set_conf vendor_group "$GROUP"
	issue_code
	login 127.0.0.5 "$VENDOR"
	expect_eq "store repaired: the vendor logs in again" "logged-in-as-$VENDOR" "$OUT"
}

# pt USER OPS...: pamtester on the pvsafety service from 127.0.0.5, with the sanitizer
# runtime preloaded as for sshd (a sanitized module in a plain program); exit status in PT_RC
# (pamtester: 0 success, 1 a PAM failure; anything else is a crash).
pt() {
	local user=$1
	shift
	env "${SSHD_ENV[@]}" pamtester -I rhost=127.0.0.5 pvsafety "$user" "$@" </dev/null >"$T/pt.out" 2>&1
	PT_RC=$?
}

# The same through pamtester (a real PAM application on the real libpam, the service file
# under the namespace's /etc/pam.d).
test_pamtester() {
	if ! command -v pamtester >/dev/null 2>&1; then
		echo "ok - pamtester # SKIP pamtester is not installed"
		return
	fi
	{
		echo "auth     [success=done ignore=ignore default=die]  $PV_MODULE config=$CFG vendor_group=$GROUP"
		echo "auth     required  pam_permit.so"
		echo "account  required  $PV_MODULE config=$CFG vendor_group=$GROUP"
		echo "account  required  pam_permit.so"
	} >"$T/pam.d/pvsafety"
	chmod 0666 "$CFG"
	pt "$OTHER" authenticate acct_mgmt
	expect_eq "pamtester, config 0666: a non-vendor passes auth and account" 0 "$PT_RC"
	pt "$VENDOR" authenticate
	expect_eq "pamtester, config 0666: a vendor fails auth (a refusal, not a crash)" 1 "$PT_RC"
	pt "$VENDOR" acct_mgmt
	expect_eq "pamtester, config 0666: a vendor fails account" 1 "$PT_RC"
	chmod 0644 "$CFG"
	mv "$STORE" "$T/store.real" && ln -s "$T/store.real" "$STORE"
	pt "$OTHER" authenticate acct_mgmt
	expect_eq "pamtester, store a symlink: a non-vendor passes" 0 "$PT_RC"
	pt "$VENDOR" authenticate
	expect_eq "pamtester, store a symlink: a vendor fails" 1 "$PT_RC"
	rm "$STORE" && mv "$T/store.real" "$STORE"
}

# (2) What the vendor sees. seen_by_vendor: the client's stderr, on one line.
seen_by_vendor() { tr -d '\r' <"$T/ssh.err" | tr '\n' ' ' | sed 's/  */ /g; s/ $//'; }

# vendor_try SRC: the vendor's ssh as a person runs it (default number of prompts), with
# whatever is in $T/code typed at every prompt; SEEN = stderr, PROMPT_LIST = prompts shown.
# The client's log level is the default, as the vendor's is; the server's key is known.
vendor_try() {
	local port=${2:-$PORT}
	: >"$T/prompts"
	printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cat "$T/hostkey.pub")" "$PORT_PK" \
		"$(cat "$T/hostkey.pub")" >"$T/known_hosts"
	OUT=$(SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 60 ssh -F none -i "$T/id" -b "$1" -p "$port" \
		-o UserKnownHostsFile="$T/known_hosts" -o StrictHostKeyChecking=yes \
		"$VENDOR@127.0.0.1" "echo in" </dev/null 2>"$T/ssh.err")
	RC=$?
	SEEN=$(seen_by_vendor)
	PROMPT_LIST=$(tr '\n' '|' <"$T/prompts")
}

REFUSED="$VENDOR@127.0.0.1: Permission denied (keyboard-interactive)."

# expect_seen NAME SRC EXPECTED-STDERR EXPECTED-PROMPTS: one attempt, asserted on what the
# vendor's terminal shows (stderr and every prompt), never a password prompt.
expect_seen() {
	vendor_try "$2"
	expect_eq "$1: the vendor sees" "$3" "$SEEN"
	expect_eq "$1: prompts shown" "$4" "$PROMPT_LIST"
	expect_no_match "$1: never a password prompt" "password" "$PROMPT_LIST"
	check "$1: refused" [ "$RC" -ne 0 ]
}

last_reason() { grep '"event":"auth"' "$AUDIT" | tail -n 1 | sed 's/.*"reason":"\([a-z_]*\)".*/\1/'; }

# The admin guide's table "What the vendor sees" lists these outcomes, reason by reason.
test_what_the_vendor_sees() {
	local code_prompt="($VENDOR@127.0.0.1) One-time code: |"
	ctl enable "$VENDOR" --for 1h --replace
	issue_code
	vendor_try 127.0.0.5
	expect_eq "ok: logged in after one prompt" "in $code_prompt" "$OUT $PROMPT_LIST"

	issue_code
	cp "$T/code" "$T/code.good" # never consumed below: refused before any prompt
	expect_seen "ip_not_allowed" 127.0.0.9 "$REFUSED" ""
	expect_eq "ip_not_allowed: audited" ip_not_allowed "$(last_reason)"

	echo 11111111 >"$T/code"
	expect_seen "otp_invalid (max_failures = 2)" 127.0.0.5 "$REFUSED" "$code_prompt$code_prompt"
	expect_eq "otp_invalid: the second wrong code locked the vendor" locked_out "$(last_reason)"
	cp "$T/code.good" "$T/code" # a valid code: still refused while locked
	expect_seen "locked_out" 127.0.0.5 "$REFUSED" ""
	expect_eq "locked_out: audited" locked_out "$(last_reason)"
	ctl unlock "$VENDOR"

	ctl disable "$VENDOR"
	expect_seen "not_enabled" 127.0.0.5 "$REFUSED" ""
	expect_eq "not_enabled: audited" not_enabled "$(last_reason)"
	ctl enable "$VENDOR" --at "$(date -d '+1 hour' -Iseconds)" --for 1h
	expect_seen "window_not_started" 127.0.0.5 "$REFUSED" ""
	expect_eq "window_not_started: audited" window_not_started "$(last_reason)"

	ctl enable "$VENDOR" --for 1h --replace
	issue_code
	vendor_try 127.0.0.5 "$PORT_PK"
	expect_eq "no_otp_verified (a publickey-only sshd): the vendor sees" \
		"Connection closed by 127.0.0.1 port $PORT_PK" "$SEEN"
	check "no_otp_verified: refused" [ "$RC" -ne 0 ]
	expect_eq "no_otp_verified: audited" "deny no_otp_verified" \
		"$(grep '"event":"account"' "$AUDIT" | tail -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["result"], d["reason"])')"

	chmod 0666 "$CFG"
	expect_seen "config_error" 127.0.0.5 "$REFUSED" ""
	chmod 0644 "$CFG"
}

test_world_writable_config
test_unusable_key
test_store_replaced_by_symlink
test_pamtester
test_what_the_vendor_sees
expect_no_match "no sanitizer report from sshd's processes" . "$(sshd_sanitizer_reports)"
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_sessions.sh — `otpctl sessions` lists who is connected now from the session records
# (SSH and VPN; live or stale; the vendor's window), and `otpctl sessions kill ID` ends one
# session, audited, as expire does: SIGTERM to the process standing in for sshd's monitor (a
# root process here, as in test_expire.sh), SIGKILL and a session_close line when it ignores
# SIGTERM, never a signal to a process whose start time is not the recorded one (a reused
# PID). Bad input: a one-sentence error, exit 1 (2 for usage), nothing changed. The real
# sshd and OpenVPN paths of ending a session are tested by test_expire.sh/test_openvpn.sh
# through the same functions. Needs root (session_dir is root's).
set -u
source "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - test_sessions.sh needs root (session records, signals)"
	echo "0 passed, 1 failed"
	exit 1
fi
unset SUDO_USER PAM_VENDOR_CONFIG

new_env
PIDS=()
on_exit() {
	local p
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	cleanup_dirs
}
trap on_exit EXIT

ctl() { "$OTPCTL" --config "$CFG" "$@"; }
proc_start() { awk '{ print $22 }' "/proc/$1/stat"; }
# new_id: a fresh session id as the module makes them (32 hex digits).
new_id() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# write_record ID USER KIND PID [PID_START] [TUNNEL]: a session record as the module (ssh) or
# the OpenVPN plugin (vpn) writes it, opened 5 minutes ago.
write_record() {
	(
		umask 077
		mkdir -p "$SESSIONS"
		printf 'pam_vendor-session 2\nid %s\nuser %s\nservice %s\nkind %s\nrhost 192.0.2.10\ntunnel %s\npid %s\npid_start %s\nopened %s\nwarned 0\nend\n' \
			"$1" "$2" "$([ "$3" = vpn ] && echo openvpn || echo sshd)" "$3" "${6:--}" \
			"$4" "${5:-$(proc_start "$4")}" "$(($(date +%s) - 300))" >"$SESSIONS/$1.session"
	)
}

# stand_in [--stubborn]: a root process standing in for sshd's monitor; its PID in $STARTED.
stand_in() {
	if [ "${1:-}" = --stubborn ]; then
		bash -c 'trap "" TERM; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &
	else
		sleep 600 </dev/null >/dev/null 2>&1 &
	fi
	STARTED=$!
	PIDS+=("$STARTED")
	disown "$STARTED"
}
running() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [ "${s:0:1}" != Z ]
}
# gone_within SECONDS PID
gone_within() {
	local i
	for i in $(seq $(($1 * 10))); do running "$2" || return 0; sleep 0.1; done
	! running "$2"
}
# sessions_field ID KEY...: fields of session ID in `sessions --json`, space separated.
sessions_field() {
	local id=$1
	shift
	jget "$(ctl --json sessions)" "\" \".join(str(s[k]).lower() if isinstance(s[k], bool) else str(s[k]) for s in d[\"sessions\"] if s[\"id\"] == \"$id\" for k in \"$*\".split())"
}
# audit_fields_at K KEY...: fields of the K-th audit line from the end, space separated.
audit_fields_at() {
	local k=$1
	shift
	jget "$(tail -n "$k" "$AUDIT" | head -n 1)" "\" \".join(str(d.get(k, \"-\")) for k in \"$*\".split())"
}

ctl vendor add acme --ip 192.0.2.0/24 >/dev/null 2>&1 &&
	ctl vendor add bravo --ip 192.0.2.0/24 >/dev/null 2>&1 &&
	ctl vendor add gone --ip 192.0.2.0/24 >/dev/null 2>&1 &&
	ctl enable acme --for 1h >/dev/null || {
	echo "Bail out! cannot set up the vendors"
	exit 1
}

test_nobody_connected() {
	local out
	out=$(ctl sessions)
	expect_eq "no record: exit 0" 0 $?
	expect_eq "no record: said in words" "No vendor is connected." "$out"
	expect_eq "no record: --json is an empty list" '{"sessions":[]}' "$(ctl --json sessions)"
}

test_live_session_listed() {
	local out id=$(new_id) wend
	stand_in
	LIVE_PID=$STARTED LIVE_ID=$id
	write_record "$id" acme ssh "$LIVE_PID"
	out=$(ctl sessions)
	expect_eq "live ssh session: exit 0" 0 $?
	expect_match "live ssh session: vendor, kind, address and window on one line" \
		"^acme +ssh +192\.0\.2\.10 +[0-9-]+ [0-9:]+ +open, (59m[0-9]*s?|1h) left" "$out"
	expect_match "live ssh session: its id and pid" "id $id, pid $LIVE_PID \(sshd\)$" "$out"
	expect_eq "--json: vendor kind from pid live" "acme ssh 192.0.2.10 $LIVE_PID true" \
		"$(sessions_field "$id" vendor kind from pid live)"
	wend=$(jget "$(ctl --json status acme)" 'd["vendors"][0]["window_end"]')
	expect_eq "--json: window open, ending when status says" "open $wend" \
		"$(sessions_field "$id" window window_end)"
	expect_eq "--json: opened five minutes ago" 1 \
		"$(jget "$(ctl --json sessions)" "sum(1 for s in d[\"sessions\"] if s[\"id\"]==\"$id\" and 295 <= s[\"seconds\"] <= 400)")"
}

test_stale_and_other_windows() {
	local out dead id1=$(new_id) id2=$(new_id)
	sleep 0 &
	dead=$!
	wait "$dead"
	write_record "$id1" bravo ssh "$dead" 12345
	write_record "$id2" nosuch vpn "$LIVE_PID" "" 192.0.2.10:51000
	out=$(ctl sessions)
	expect_match "a record whose process is gone is shown as STALE" \
		"id $id1, pid $dead \(sshd\), STALE: the process is gone" "$out"
	expect_match "a vendor without a window: none" "^bravo +ssh .* none$" "$out"
	expect_match "a vpn record: its tunnel and server pid" \
		"id $id2, tunnel 192\.0\.2\.10:51000 \(OpenVPN pid $LIVE_PID\)$" "$out"
	expect_match "a vendor without a record: removed" "^nosuch +vpn .* removed$" "$out"
	expect_eq "--json: stale is live false" "false" \
		"$(sessions_field "$id1" live)"
	expect_eq "--json: three sessions" 3 "$(jget "$(ctl --json sessions)" 'len(d["sessions"])')"
	# Ending the stale one: nothing is signalled, the record goes, no audit line.
	mark
	out=$(ctl sessions kill "$id1")
	expect_eq "kill of a stale record: exit 0" 0 $?
	expect_match "kill of a stale record: said so" "had already ended; its record is removed" "$out"
	check "kill of a stale record: the record is gone" test ! -e "$SESSIONS/$id1.session"
	expect_eq "kill of a stale record: nothing audited" "$MARK" "$(audit_lines)"
	# A VPN tunnel cannot be ended without the management socket: an error naming the key,
	# the record kept.
	out=$(ctl sessions kill "$id2" 2>&1)
	expect_eq "kill of a vpn tunnel without openvpn_management: exit 1" 1 $?
	expect_match "... the error names openvpn_management" "openvpn_management is not set" "$out"
	check "... the record is kept" test -e "$SESSIONS/$id2.session"
	rm -f "$SESSIONS/$id2.session"
}

test_reused_pid_is_never_signalled() {
	local out id=$(new_id) other
	stand_in
	other=$STARTED
	# The record names this live PID with another start time: the PID was reused.
	write_record "$id" acme ssh "$other" 1
	mark
	out=$(ctl sessions kill "$id")
	expect_eq "reused pid: exit 0" 0 $?
	check "reused pid: the process now holding the PID is not signalled" running "$other"
	check "reused pid: the stale record is gone" test ! -e "$SESSIONS/$id.session"
	expect_eq "reused pid: nothing audited" "$MARK" "$(audit_lines)"
}

test_kill_ends_the_session() {
	local out
	mark
	out=$(ctl sessions kill "$LIVE_ID")
	expect_eq "kill: exit 0" 0 $?
	expect_match "kill: said in words" "^Ended session $LIVE_ID of acme \(pid $LIVE_PID" "$out"
	check "kill: the monitor is gone" gone_within 5 "$LIVE_PID"
	check "kill: the record is gone" test ! -e "$SESSIONS/$LIVE_ID.session"
	expect_eq "kill: one audit line" $((MARK + 1)) "$(audit_lines)"
	expect_eq "kill: session_terminated by root, for that session and pid" \
		"admin session_terminated acme $LIVE_ID $LIVE_PID root" \
		"$(audit_fields_at 1 event action user session pid admin)"
	expect_match "kill: the reason is in the detail" "otpctl sessions kill" "$(audit_last detail)"
	expect_eq "kill: the chain still verifies" 0 "$(ctl audit verify >/dev/null 2>&1; echo $?)"
	expect_eq "kill: no vendor is connected any more" "No vendor is connected." "$(ctl sessions)"
}

test_stubborn_monitor_gets_sigkill() {
	local out id=$(new_id) p
	stand_in --stubborn
	p=$STARTED
	sleep 0.2 # its trap is set
	write_record "$id" acme ssh "$p"
	mark
	out=$(ctl sessions kill "$id")
	expect_eq "stubborn monitor: exit 0" 0 $?
	check "stubborn monitor: killed" gone_within 2 "$p"
	expect_eq "stubborn monitor: session_terminated, then session_close written by otpctl" \
		"admin session_close" \
		"$(audit_fields_at 2 event) $(audit_fields_at 1 event)"
	expect_match "stubborn monitor: session_close says SIGKILL" "SIGKILL" "$(audit_last detail)"
}

test_bad_input() {
	local out before
	before=$(audit_lines)
	out=$(ctl sessions kill 2>&1)
	expect_eq "kill without an ID: usage, exit 2" 2 $?
	out=$(ctl sessions kill ../../etc/passwd 2>&1)
	expect_eq "kill ../../etc/passwd: exit 1" 1 $?
	expect_match "... one sentence saying what an id is" \
		"^otpctl: \"\.\./\.\./etc/passwd\" is not a session id \(32 hexadecimal digits" "$out"
	out=$(ctl sessions kill "$(new_id)" 2>&1)
	expect_eq "kill of an unknown id: exit 1" 1 $?
	expect_match "... says there is no such session" "^otpctl: no live session has id " "$out"
	out=$(ctl sessions acme 2>&1)
	expect_eq "sessions with an argument: usage, exit 2" 2 $?
	expect_eq "bad input: nothing audited" "$before" "$(audit_lines)"
	# A garbled record is named, not skipped.
	echo garbage >"$SESSIONS/$(new_id).session"
	chmod 0600 "$SESSIONS"/*.session
	out=$(ctl sessions 2>&1)
	expect_eq "a garbled record: exit 1" 1 $?
	expect_match "... the error names the file" "\.session" "$out"
	rm -f "$SESSIONS"/*.session
}

test_nobody_connected
test_live_session_listed
test_stale_and_other_windows
test_reused_pid_is_never_signalled
test_kill_ends_the_session
test_stubborn_monitor_gets_sigkill
test_bad_input
finish

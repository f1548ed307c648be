#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_sshd.sh — end to end through a real OpenSSH sshd and ssh client: the vendor logs in with
# key + one-time code from an allowed address, and every refusal the brief names is checked
# on the client's outcome and in the audit log. Runs in private mount and network namespaces:
# /etc/pam.d is a bind mount of the test's own directory (the host's PAM configuration is never
# touched) and the test's IPv6 addresses live on the namespace's own loopback.
set -u
source "$(dirname "$0")/../lib.sh"

source "$(dirname "$0")/sshd_lib.sh"
sshd_enter "$0"

# --- inside the namespaces ---------------------------------------------------------------
new_env "max_failures = 3" "vendor_group = $GROUP"
stop_all() {
	sshd_stop
	cleanup_dirs
}
trap stop_all EXIT
sshd_start

# last audit line of EVENT for the vendor: "result reason"
last_event() {
	grep "\"event\":\"$1\"" "$AUDIT" | tail -n 1 |
		python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["result"], d["reason"])'
}

ctl vendor add "$VENDOR" --ip 127.0.0.5 --ip 2001:db8::5

test_allowed_login_runs_a_command() {
	ctl enable "$VENDOR" --for 1h
	issue_code
	login 127.0.0.5 "$VENDOR"
	expect_eq "allowed login runs a command" "logged-in-as-$VENDOR" "$OUT"
	expect_eq "allowed login asked for the code once" 1 "$PROMPTS"
	expect_eq "allowed login: auth audited" "allow ok" "$(last_event auth)"
	expect_eq "allowed login: account audited" "allow ok" "$(last_event account)"
}

test_same_code_again_refused() {
	login 127.0.0.5 "$VENDOR"
	check "replayed code refused" [ "$RC" -ne 0 ]
	expect_eq "replayed code audited as otp_reused" "deny otp_reused" "$(last_event auth)"
}

test_wrong_ip_refused_without_prompt() {
	issue_code
	login 127.0.0.9 "$VENDOR"
	check "login from another address refused" [ "$RC" -ne 0 ]
	expect_eq "no code prompt from another address" 0 "$PROMPTS"
	expect_eq "other address audited as ip_not_allowed" "deny ip_not_allowed" "$(last_event auth)"
	# The code was not burnt by the refused attempt.
	login 127.0.0.5 "$VENDOR"
	expect_eq "the code still works from the right address" "logged-in-as-$VENDOR" "$OUT"
}

test_ipv6_allowed_and_denied() {
	issue_code
	login 2001:db8::9 "$VENDOR"
	check "IPv6 login from another address refused" [ "$RC" -ne 0 ]
	expect_eq "IPv6 other address audited" "deny ip_not_allowed" "$(last_event auth)"
	login 2001:db8::5 "$VENDOR"
	expect_eq "IPv6 login from the vendor's address" "logged-in-as-$VENDOR" "$OUT"
	expect_match "IPv6 rhost recorded" '"rhost":"2001:db8::5"' "$(grep '"event":"auth"' "$AUDIT" | tail -n 1)"
}

test_window_not_open_refused() {
	issue_code
	ctl disable "$VENDOR"
	login 127.0.0.5 "$VENDOR"
	check "login without a window refused" [ "$RC" -ne 0 ]
	expect_eq "no prompt without a window" 0 "$PROMPTS"
	expect_eq "no window audited as not_enabled" "deny not_enabled" "$(last_event auth)"
}

test_window_expiry_refuses_afterwards() {
	ctl enable "$VENDOR" --for 4s
	issue_code
	sleep 5
	login 127.0.0.5 "$VENDOR"
	check "login after the window ran out refused" [ "$RC" -ne 0 ]
	expect_eq "expired window audited" "deny window_expired" "$(last_event auth)"
}

test_three_wrong_codes_lock_out() {
	ctl enable "$VENDOR" --for 1h
	issue_code # a valid code, issued before the lockout (otpctl refuses to issue after it)
	mv "$T/code" "$T/valid_code"
	echo 00000000 >"$T/code"
	for i in 1 2 3; do
		login 127.0.0.5 "$VENDOR"
		check "wrong code $i refused" [ "$RC" -ne 0 ]
	done
	expect_eq "third wrong code audited" "deny otp_invalid" "$(last_event auth)"
	mv "$T/valid_code" "$T/code"
	login 127.0.0.5 "$VENDOR"
	check "locked vendor refused even with a valid code" [ "$RC" -ne 0 ]
	expect_eq "lockout audited" "deny locked_out" "$(last_event auth)"
	ctl unlock "$VENDOR"
	login 127.0.0.5 "$VENDOR"
	expect_eq "after unlock the same code works" "logged-in-as-$VENDOR" "$OUT"
}

test_publickey_only_sshd_still_refuses_vendor() {
	issue_code
	login 127.0.0.5 "$VENDOR" $PORT_PK
	check "publickey-only sshd refuses the vendor" [ "$RC" -ne 0 ]
	expect_eq "publickey-only: no code prompt" 0 "$PROMPTS"
	expect_eq "publickey-only audited as no_otp_verified" "deny no_otp_verified" "$(last_event account)"
}

test_non_vendor_unaffected() {
	local before
	before=$(wc -l <"$AUDIT")
	login 127.0.0.9 "$OTHER"
	expect_eq "non-vendor logs in with the key alone" "logged-in-as-$OTHER" "$OUT"
	expect_eq "non-vendor not prompted" 0 "$PROMPTS"
	expect_eq "non-vendor leaves no audit line" "$before" "$(wc -l <"$AUDIT")"
}

test_report_shows_session_duration() {
	local sid i
	issue_code
	login 127.0.0.5 "$VENDOR" $PORT "sleep 2; echo done"
	expect_eq "session command ran" "done" "$OUT"
	# sshd's monitor writes session_close as the connection ends, after ssh has returned:
	# until this session's line is there (at most 10 s), else the report's last ended
	# session is an older one.
	sid=$(grep '"event":"session_open"' "$AUDIT" | tail -n 1 | sed -n 's/.*"session":"\([0-9a-f]*\)".*/\1/p')
	for ((i = 0; i < 100; i++)); do
		grep '"event":"session_close"' "$AUDIT" | grep -q "\"session\":\"$sid\"" && break
		sleep 0.1
	done
	local row
	row=$("$OTPCTL" --config "$CFG" --json report --vendor "$VENDOR" |
		python3 -c '
import json,sys
s=[x for x in json.load(sys.stdin)["sessions"] if x["end"] and x["session"] == sys.argv[1]]
print(s[-1]["user"], s[-1]["rhost"], s[-1]["duration_s"])' "$sid")
	local user rhost duration
	read -r user rhost duration <<<"$row"
	expect_eq "report names the vendor" "$VENDOR" "$user"
	expect_eq "report names the source address" "127.0.0.5" "$rhost"
	check "report duration is plausible (2-10 s): $duration" [ "${duration:-0}" -ge 2 ] && [ "${duration:-0}" -le 10 ]
	expect_match "session_open records sshd's auth info" '"auth_info":"publickey ssh-ed25519' "$(grep '"event":"session_open"' "$AUDIT" | tail -n 1)"
}

# A session that outlives its window is ended by `otpctl expire` (SIGTERM to the sshd
# monitor recorded at session open), and `disable --kill` does it at once.
# bg_login COMMAND [NAME] [SSH-OPTION]: the vendor's session in the background; its output in
# $T/NAME.out (default bg), the ssh client's PID in $BG.
bg_login() {
	local name=${2:-bg}
	: >"$T/prompts"
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 120 ssh -F none -i "$T/id" -b 127.0.0.5 -p "$PORT" ${3:-} \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
		"$VENDOR@127.0.0.1" "$1" </dev/null >"$T/$name.out" 2>"$T/$name.err" &
	BG=$!
}
# wait_output NAME TEXT: until $T/NAME.out contains TEXT (10 s at most).
wait_output() {
	local _
	for _ in $(seq 100); do
		grep -q -- "$2" "$T/$1.out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# wait_session_record: the session file pam_vendor wrote at session open (its path).
wait_session_record() {
	local _ f
	for _ in $(seq 100); do
		f=$(find "$SESSIONS" -name '*.session' 2>/dev/null | head -n 1)
		[ -n "$f" ] && { echo "$f"; return 0; }
		sleep 0.1
	done
	return 1
}
# live_of USER: the user's processes that still run (an ended process whose parent is init
# may show a moment as a zombie: it runs nothing).
live_of() { ps -o pid=,stat= -u "$1" | awk '$2 !~ /^Z/ {print $1}'; }
wait_gone() { # PID SECONDS: 0 when the process ended in time
	local _
	for _ in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
test_expire_ends_sessions_after_the_window() {
	local rec pid id n0 out row _
	ctl enable "$VENDOR" --for 8s --replace # the lockout test's window is still open
	issue_code
	bg_login "echo started; sleep 60; echo survived"
	rec=$(wait_session_record)
	check "session open wrote a session record" [ -n "$rec" ]
	for _ in $(seq 100); do [ -s "$T/bg.out" ] && break; sleep 0.1; done
	pid=$(sed -n 's/^pid //p' "$rec")
	id=$(sed -n 's/^id //p' "$rec")
	expect_match "the record names sshd's monitor process" "sshd" "$(cat "/proc/$pid/cmdline" 2>/dev/null | tr '\0' ' ')"
	out=$("$OTPCTL" --config "$CFG" expire)
	# The window ends within warn_before (5 min): the session is warned, on no terminal since
	# it runs a command without one.
	expect_eq "expire during the window: nothing ended, the command session warned" \
		"Warned session $id of $VENDOR on 0 terminal(s): access ends at" "${out% at *} at"
	check "expire during the window: the session goes on" kill -0 "$BG"
	sleep 9 # the window ends
	check "after the window: the session is still running until expire runs" kill -0 "$BG"
	n0=$(wc -l <"$AUDIT")
	out=$("$OTPCTL" --config "$CFG" expire)
	expect_match "expire names the session it ended" "Ended session $id of $VENDOR .*window closed" "$out"
	wait_gone "$BG" 10
	expect_eq "expire: the vendor's ssh session ended" 0 $?
	expect_eq "expire: the command never finished" "started" "$(cat "$T/bg.out")"
	wait "$BG" 2>/dev/null
	sleep 1 # sshd's monitor writes session_close as it goes
	expect_match "expire audited session_terminated with the session id" \
		"\"action\":\"session_terminated\".*\"session\":\"$id\"|\"session\":\"$id\".*\"action\":\"session_terminated\"" \
		"$(tail -n +$((n0 + 1)) "$AUDIT" | grep session_terminated)"
	expect_eq "sshd ran pam_close_session: session_close audited" "allow ok" "$(last_event session_close)"
	check "the session record is gone" [ ! -e "$rec" ]
	row=$("$OTPCTL" --config "$CFG" --json report --vendor "$VENDOR" |
		python3 -c '
import json,sys
s=[x for x in json.load(sys.stdin)["sessions"] if x["session"] == sys.argv[1]]
print(len(s) == 1 and s[0]["end"] is not None)' "$id")
	expect_eq "report shows the ended session with its end" "True" "$row"
	n0=$(wc -l <"$AUDIT")
	out=$("$OTPCTL" --config "$CFG" expire)
	expect_eq "expire again: idempotent, nothing to end" "No session to end." "$out"
	expect_eq "expire again: no audit line" "$n0" "$(wc -l <"$AUDIT")"
}

# disable --kill ends both of the vendor's sessions and what one of them left running
# detached (setsid), which sshd would not end.
test_disable_kill_ends_sessions_at_once() {
	local out bg1 bg2 detached n0 _
	ctl enable "$VENDOR" --for 1h
	issue_code
	bg_login 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo "detached $!"; sleep 60' bg
	bg1=$BG
	check "first session: its command started a detached process" wait_output bg detached
	detached=$(sed -n 's/^detached //p' "$T/bg.out")
	issue_code
	bg_login "echo started; sleep 60" bg2
	bg2=$BG
	check "second session: started" wait_output bg2 started
	expect_eq "the detached process runs as the vendor" "$VENDOR" "$(ps -o user= -p "$detached" 2>/dev/null)"
	n0=$(wc -l <"$AUDIT")
	out=$("$OTPCTL" --config "$CFG" disable "$VENDOR" --kill)
	expect_eq "disable --kill: exit 0 (nothing of the vendor left)" 0 $?
	expect_eq "disable --kill: both sessions named" 2 "$(grep -c "^Ended session .* of $VENDOR .*vendor disabled" <<<"$out")"
	wait_gone "$bg1" 10
	expect_eq "disable --kill: the first ssh session ended" 0 $?
	wait_gone "$bg2" 10
	expect_eq "disable --kill: the second ssh session ended" 0 $?
	wait "$bg1" "$bg2" 2>/dev/null
	expect_eq "disable --kill: the command never finished" "started" "$(cat "$T/bg2.out")"
	check "disable --kill: the detached process ended" bash -c "! ps -o stat= -p $detached | grep -qv '^Z'"
	expect_eq "disable --kill: nothing of the vendor's uid is left" "" "$(live_of "$VENDOR")"
	expect_match "disable --kill: the detached process is named in the audit log" \
		"\"action\":\"processes_terminated\".*SIGTERM to [0-9]+: ([0-9 ]* )?$detached[ ;]" \
		"$(tail -n +$((n0 + 1)) "$AUDIT" | grep processes_terminated)"
}

# A vendor on a terminal (ssh -tt) reads the warning before the window ends, and the last
# message when the session is ended.
test_warning_reaches_the_ssh_terminal() {
	local out
	ctl enable "$VENDOR" --for 2m # ends within warn_before (5 min)
	issue_code
	bg_login "echo started; sleep 60" tty -tt
	check "ssh -tt session: started" wait_output tty started
	out=$("$OTPCTL" --config "$CFG" expire)
	expect_match "expire warns the session on its terminal" "^Warned session .* of $VENDOR on 1 terminal\(s\)" "$out"
	check "the warning reaches the vendor's ssh output" \
		wait_output tty "pam_vendor: your maintenance window ends at .*; save your work, the session will be closed then."
	"$OTPCTL" --config "$CFG" expire >/dev/null
	expect_eq "the warning is shown once" 1 "$(grep -c "save your work" "$T/tty.out")"
	"$OTPCTL" --config "$CFG" disable "$VENDOR" --kill >/dev/null
	wait_gone "$BG" 10
	expect_eq "ssh -tt session ended" 0 $?
	wait "$BG" 2>/dev/null
	expect_match "the last message reaches the vendor's ssh output" \
		"pam_vendor: vendor disabled: this session is being ended." "$(cat "$T/tty.out")"
}

test_audit_chain_intact_after_everything() {
	"$OTPCTL" --config "$CFG" audit verify >/dev/null 2>&1
	expect_eq "audit verify after the whole run" 0 $?
}

test_allowed_login_runs_a_command
test_same_code_again_refused
test_wrong_ip_refused_without_prompt
test_ipv6_allowed_and_denied
test_window_not_open_refused
test_window_expiry_refuses_afterwards
test_three_wrong_codes_lock_out
test_publickey_only_sshd_still_refuses_vendor
test_non_vendor_unaffected
test_report_shows_session_duration
test_expire_ends_sessions_after_the_window
test_disable_kill_ends_sessions_at_once
test_warning_reaches_the_ssh_terminal
test_audit_chain_intact_after_everything
expect_eq "no sanitizer report from the module inside sshd" "" "$(sshd_sanitizer_reports)"
finish

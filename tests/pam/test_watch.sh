#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_watch.sh — `otpctl watch` follows the audit log live: the lines of a real login (the
# module through real libpam, pamdrive) show, in words and as JSON with a summary; --vendor
# keeps one vendor's; the watch goes on across a real logrotate (create, as the shipped
# rule); a forged or removed line ends it with exit 1 naming the problem; bad arguments are a
# usage error. The waits are generous bounds, not timings (the watch looks every 200 ms).
set -u
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"

pam_suite_start "root-owned audit log, logrotate"
ALLOWED=203.0.113.5
WATCHERS=()
stop_watchers() {
	local p
	for p in "${WATCHERS[@]}"; do kill "$p" 2>/dev/null; done
	WATCHERS=()
}
trap 'stop_watchers; pvt_on_exit' EXIT

# watch_start OUT ARGS...: otpctl watch ARGS in the background, output in OUT; its PID in
# WPID. Returns once it has read the log (it has the file open), or fails.
watch_start() {
	local out=$1 _
	shift
	: >"$out"
	"$OTPCTL" --config "$CFG" watch "$@" >"$out" 2>"$out.err" &
	WPID=$!
	WATCHERS+=("$WPID")
	for _ in $(seq 100); do
		ls -l "/proc/$WPID/fd" 2>/dev/null | grep -q -- "$AUDIT\$" && return 0
		sleep 0.1
	done
	return 1
}
# shows_within SECONDS FILE REGEX: FILE gets a line matching REGEX within SECONDS.
shows_within() {
	local _
	for _ in $(seq $(($1 * 10))); do grep -Eq -- "$3" "$2" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
# count_within SECONDS FILE REGEX N: FILE has N lines matching REGEX within SECONDS.
count_within() {
	local _
	for _ in $(seq $(($1 * 10))); do
		[ "$(grep -Ec -- "$3" "$2" 2>/dev/null)" -ge "$4" ] && return 0
		sleep 0.1
	done
	return 1
}
# ends_within SECONDS PID: the process exits within SECONDS; its status in ENDED_RC.
ends_within() {
	local _
	for _ in $(seq $(($1 * 10))); do
		if ! kill -0 "$2" 2>/dev/null; then
			wait "$2"
			ENDED_RC=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}
login() { drive pvtest --user acme --rhost "$ALLOWED" --code "$1" --steps auth,account,open,close; }

vendor_env
ctl "vendor add bravo" vendor add bravo --ip "$ALLOWED"

test_a_login_shows_in_words_and_json() {
	local code
	watch_start "$S/text" || not_ok "watch started" "it never opened $AUDIT"
	TEXT_PID=$WPID
	watch_start "$S/json" --json --vendor acme || not_ok "json watch started"
	JSON_PID=$WPID
	watch_start "$S/bravo" --vendor bravo || not_ok "bravo watch started"
	check "text: a first line says what is watched" grep -q "^Watching $AUDIT (" "$S/text"
	issue
	code=$CODE
	login "$code"
	expect_step "the login is allowed" auth PAM_SUCCESS
	check "text: the allowed auth shows" \
		shows_within 5 "$S/text" "  acme from $ALLOWED: auth allowed$"
	check "text: the session's close shows with its duration" \
		shows_within 5 "$S/text" "  acme from $ALLOWED: session_close allowed after [0-9]+s$"
	login "$code"
	check "text: the reused code shows as a denial, the reason in words" \
		shows_within 5 "$S/text" "acme from $ALLOWED: auth DENIED, the code was already used \(otp_reused\)$"
	check "json: the lines of the login are there, one object a line" \
		shows_within 5 "$S/json" '"event":"session_close"'
	check "json: the denial too" shows_within 5 "$S/json" '"reason":"otp_reused"'
	expect_eq "json: every line is an audit object of acme with a summary" "" \
		"$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d.get("user") != "acme" or "summary" not in d or "mac" not in d:
        print("bad:", l.strip())' "$S/json" 2>&1)"
	expect_eq "--vendor bravo: nothing of acme" "" "$(grep -v '^Watching ' "$S/bravo")"
	expect_eq "text: nothing on stderr" "" "$(cat "$S/text.err")"
}

test_rotation_is_followed() {
	local conf=$S/logrotate.conf
	sed "s|/var/log/pam_vendor/audit.log|$AUDIT|" "$PV_ROOT/examples/logrotate/pam_vendor" >"$conf"
	logrotate -f -s "$S/logrotate.state" "$conf" 2>"$S/logrotate.err"
	expect_eq "logrotate -f (the shipped rule) exits 0" 0 $?
	check "the log was rotated" test -s "$AUDIT.1"
	issue
	login "$CODE"
	expect_step "a login after the rotation is allowed" auth PAM_SUCCESS
	check "text: the login after the rotation shows (a second allowed auth)" \
		count_within 5 "$S/text" "  acme from $ALLOWED: auth allowed$" 2
	check "json: still following" shows_within 5 "$S/json" "\"seq\":$(tail -n 1 "$AUDIT" | sed 's/.*"seq":\([0-9]*\).*/\1/'),"
	check "the watchers are still running" kill -0 "$TEXT_PID" "$JSON_PID"
	expect_eq "audit verify spans the rotation" 0 "$("$OTPCTL" --config "$CFG" audit verify >/dev/null 2>&1; echo $?)"
}

# examples/systemd/pam-vendor-notify (what pam-vendor-watch.service runs): each auth line goes
# to NOTIFY_COMMAND, the JSON on its input and the summary as its argument; nothing else does.
test_notify_example() {
	local got=$S/notified p _
	printf '#!/bin/sh\n{ printf "summary=%%s\\n" "$1"; cat; } >>"%s"\n' "$got" >"$S/notify-cmd"
	chmod +x "$S/notify-cmd"
	NOTIFY_COMMAND=$S/notify-cmd OTPCTL=$OTPCTL \
		"$PV_ROOT/examples/systemd/pam-vendor-notify" --config "$CFG" 2>"$S/notify.err" &
	NOTIFY_PID=$!
	WATCHERS+=("$NOTIFY_PID")
	for _ in $(seq 100); do
		p=$(pgrep -n -f -- "--config $CFG --json watch")
		[ -n "$p" ] && ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "$AUDIT\$" && break
		sleep 0.1
	done
	issue
	login "$CODE"
	login "$(wrong_of "$CODE")"
	check "notify: the allowed auth reached the command, with its summary" \
		shows_within 5 "$got" "^summary=acme from $ALLOWED: auth allowed$"
	check "notify: the denial too, the reason in words" \
		shows_within 5 "$got" "^summary=acme from $ALLOWED: auth DENIED, (wrong code \(otp_invalid\)|the code was already used \(otp_reused\))$"
	expect_eq "notify: the command got each auth line's JSON on its input, nothing else" "auth auth" \
		"$(grep '^{' "$got" | python3 -c 'import json,sys; print(" ".join(json.loads(l)["event"] for l in sys.stdin))')"
}

test_a_forged_line_ends_the_watch() {
	local last forged
	last=$(tail -n 1 "$AUDIT")
	# The next seq, linked to the last line, with a MAC made without the key.
	forged=$(python3 -c 'import json,sys
d = json.loads(sys.argv[1])
d["prev"], d["seq"], d["reason"], d["mac"] = d["mac"], d["seq"] + 1, "ok", "0" * 64
print(json.dumps(d, separators=(",", ":")))' "$last")
	printf '%s\n' "$forged" >>"$AUDIT"
	if ends_within 5 "$TEXT_PID"; then
		expect_eq "forged line: the watch exits 1" 1 "$ENDED_RC"
	else
		not_ok "forged line: the watch ends" "still running 5 s after the line"
	fi
	expect_match "forged line: the error names the log and the line" \
		"^otpctl: the audit chain breaks: $AUDIT line [0-9]+" "$(cat "$S/text.err")"
	check "forged line: the json watch ends too" ends_within 5 "$JSON_PID"
	expect_eq "forged line: ... with exit 1" 1 "$ENDED_RC"
	check "forged line: the notify example ends too" ends_within 5 "$NOTIFY_PID"
	expect_eq "forged line: ... with a failure (systemd restarts it)" 1 "$ENDED_RC"
	# Put the log back (the forged line removed): a new watch starts on an intact chain ...
	sed -i '$d' "$AUDIT"
	watch_start "$S/again" || not_ok "watch started again"
	check "a new watch on the repaired log runs" kill -0 "$WPID"
	# ... and a line cut from the end in place while it watches ends it.
	truncate -s $(($(stat -c %s "$AUDIT") - $(tail -n 1 "$AUDIT" | wc -c))) "$AUDIT"
	if ends_within 5 "$WPID"; then
		expect_eq "a cut end: the watch exits 1" 1 "$ENDED_RC"
	else
		not_ok "a cut end: the watch ends" "still running"
	fi
	expect_match "a cut end: said so" "lines were removed from its end" "$(cat "$S/again.err")"
}

test_bad_arguments() {
	local out rc
	out=$("$OTPCTL" --config "$CFG" watch --vendor 2>&1)
	rc=$?
	expect_eq "watch --vendor without a name: usage, exit 2" 2 "$rc"
	out=$("$OTPCTL" --config "$CFG" watch acme 2>&1)
	expect_eq "watch NAME: usage, exit 2" 2 $?
	out=$("$OTPCTL" --config "$CFG" watch --vendor 'Bad Name' 2>&1)
	expect_eq "watch --vendor 'Bad Name': exit 1" 1 $?
	expect_match "... one sentence naming the value" "Bad Name" "$out"
}

test_a_login_shows_in_words_and_json
test_rotation_is_followed
test_notify_example
test_a_forged_line_ends_the_watch
test_bad_arguments
stop_watchers
pam_suite_end

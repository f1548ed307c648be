#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_expire.sh — nothing of a vendor outlives its window (issue 15): `otpctl expire`,
# `disable --kill` and `vendor remove` end every process of the vendor's uid (a detached setsid
# process, a nohup one, one that ignores SIGTERM, a session on a real pty, a user systemd
# instance where one can run), never another user's and never root's; each ending is audited
# with its PIDs and why. A vendor whose window ends within warn_before is warned once on its
# session's terminal, and told when the session ends. Real processes and real ptys; the session
# record is the one pam_vendor writes at session open, with a root process standing in for
# sshd's monitor. Needs root (useradd, setpriv, unshare).
set -u
source "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - test_expire.sh needs root (accounts, signals, namespaces)"
	echo "0 passed, 1 failed"
	exit 1
fi
unset SUDO_USER PAM_VENDOR_CONFIG

V=pvexv$PV_RUN       # the vendor
O=pvexo$PV_RUN       # another user, never touched
G=pvexg$PV_RUN       # a member of vendor_group without a record (a removed vendor)
R=pvexr$PV_RUN       # a uid-0 alias, for the refusal
GROUP=pvexgrp$PV_RUN
CGROUPS=()  # delegated cgroups made for the user systemd instance

new_env "vendor_group = $GROUP" "warn_before = 1m"
on_exit() {
	local u p c
	# Whatever a failed check left running under the suite's own accounts.
	for u in "$V" "$O" "$G"; do
		for p in $(ps -o pid= -u "$u" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	for p in "${ROOT_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	sleep 0.2
	for c in "${CGROUPS[@]}"; do
		find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	remove_accounts
	cleanup_dirs
}
ROOT_PIDS=()
trap on_exit EXIT
# The accounts' homes are under $T: let them reach their own (store, key and log keep their
# own strict modes).
chmod 0711 "$T"
mkdir -p -m 0755 "$T/home"
add_group "$GROUP" &&
	add_user "$V" -m -d "$T/home/$V" -G "$GROUP" -s /bin/sh &&
	add_user "$O" -m -d "$T/home/$O" -s /bin/sh &&
	add_user "$G" -m -d "$T/home/$G" -G "$GROUP" -s /bin/sh || {
	echo "Bail out! cannot create the test accounts"
	exit 1
}

# --- helpers ---------------------------------------------------------------------------------

ctl() { "$OTPCTL" --config "$CFG" "$@"; }

# start USER COMMAND...: COMMAND as USER in the background, detached from our stdio; its PID
# (the same process: setpriv, setsid and nohup exec) in $STARTED.
start() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@" </dev/null >/dev/null 2>&1 &
	STARTED=$!
	disown "$STARTED" # its end is checked here, not reported by bash
}

# running PID: the process exists and is not a zombie.
running() {
	local s
	s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [ "${s:0:1}" != Z ]
}
none_running() {
	local p
	for p in "$@"; do running "$p" && return 1; done
	return 0
}
all_running() {
	local p
	for p in "$@"; do running "$p" || return 1; done
	return 0
}

# The vendor's processes of the suite's scenario.
start_vendor_processes() {
	start "$V" setsid sleep 600
	P_SETSID=$STARTED
	start "$V" nohup sleep 601
	P_NOHUP=$STARTED
	start "$V" sh -c 'trap "" TERM; exec sleep 602' # SIGTERM ignored: needs SIGKILL
	P_STUBBORN=$STARTED
	sleep 0.3 # until each has exec'd into sleep under the vendor's uid
}

# A stand-in for sshd's monitor: root, holds the pty master and copies what appears on the
# terminal to a file; its child becomes the user with the pty as controlling terminal.
cat >"$T/pty_session.py" <<'PY'
import fcntl, os, pwd, sys, termios
pw = pwd.getpwnam(sys.argv[1])
master, slave = os.openpty()
os.fchown(slave, pw.pw_uid, -1)  # as sshd does: the terminal is the user's
child = os.fork()
if child == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)
    os.setgroups([])
    os.setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid)
    os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)
    # SIGHUP ignored, as a nohup'd job would: it outlives the terminal, so the walk ends it
    os.execvp("sh", ["sh", "-c", "trap '' HUP; exec sleep 603"])
os.close(slave)
with open(sys.argv[3], "w") as f:
    f.write(str(child))
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        out.write(data)
PY

# proc_start PID: the start time pam_vendor records (/proc/PID/stat field 22).
proc_start() {
	python3 -c 'import sys; s=open("/proc/%s/stat" % sys.argv[1]).read(); print(s[s.rindex(")") + 2:].split()[19])' "$1"
}

# write_session USER PID [START]: the record pam_vendor writes at session open; its id in $SID.
write_session() {
	SID=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	(
		umask 077
		mkdir -p "$SESSIONS"
		printf 'pam_vendor-session 2\nid %s\nuser %s\nservice sshd\nkind ssh\nrhost 127.0.0.1\ntunnel -\npid %s\npid_start %s\nopened %s\nwarned 0\nend\n' \
			"$SID" "$1" "$2" "${3:-$(proc_start "$2")}" "$(date +%s)" >"$SESSIONS/$SID.session"
	)
}

# start_pty_session USER: the monitor in $P_MONITOR, the user's process on the pty in
# $P_PTY, what the terminal shows in $PTY_LOG, the session record's id in $SID.
start_pty_session() {
	local _
	PTY_LOG=$T/pty-$RANDOM.log
	: >"$PTY_LOG"
	python3 "$T/pty_session.py" "$1" "$PTY_LOG" "$T/pty.child" &
	P_MONITOR=$!
	ROOT_PIDS+=("$P_MONITOR")
	for _ in $(seq 50); do [ -s "$T/pty.child" ] && break; sleep 0.1; done
	P_PTY=$(cat "$T/pty.child")
	rm -f "$T/pty.child"
	sleep 0.3
	write_session "$1" "$P_MONITOR"
}

# new_audit FILTER: the audit lines since mark that contain FILTER.
new_audit() { tail -n +$((MARK + 1)) "$AUDIT" | grep -F -- "$1"; }
# afield LINE FIELD...
afield() {
	python3 -c 'import json,sys
d=json.loads(sys.argv[1])
print(" ".join("null" if d.get(k, "-") is None else str(d.get(k, "-")) for k in sys.argv[2:]))' "$@"
}
count_in() { grep -c -- "$2" "$1"; }

ctl vendor add "$V" --ip 127.0.0.1 >/dev/null || { echo "Bail out! vendor add failed"; exit 1; }
start "$O" sleep 700
P_OTHER=$STARTED
ROOT_PIDS+=("$P_OTHER")

# --- a window that closes --------------------------------------------------------------------

test_open_window_leaves_everything_running() {
	local out
	# 30 s: the set-up below must finish well inside the window, also under the sanitizer
	# build with other suites running (with 15 s, a later expire run once found it closed).
	WEND=$(($(date +%s) + 30))
	ctl enable "$V" --at "$(date -u -d "@$((WEND - 30))" +%Y-%m-%dT%H:%M:%SZ)" --for 30s >/dev/null
	start_vendor_processes
	start_pty_session "$V"
	mark
	out=$(ctl expire 2>"$T/err")
	expect_eq "open window: expire exits 0" 0 $?
	check "open window: every vendor process still runs" \
		all_running "$P_SETSID" "$P_NOHUP" "$P_STUBBORN" "$P_PTY" "$P_MONITOR"
	expect_eq "open window: no process ended, nothing audited as ended" "" \
		"$(new_audit processes_terminated)$(new_audit session_terminated)"
	expect_match "open window ending within warn_before: the session is warned on its terminal" \
		"^Warned session $SID of $V on 1 terminal\(s\): access ends at " "$out"
}

test_warning_written_once_on_the_terminal() {
	local out
	sleep 0.3
	expect_eq "warning: the terminal shows it once" 1 \
		"$(count_in "$PTY_LOG" 'pam_vendor: your maintenance window ends at .* (in [0-9a-z]*); save your work, the session will be closed then.')"
	check "warning: recorded in the session record" \
		grep -Eq '^warned [1-9][0-9]*$' "$SESSIONS/$SID.session"
	out=$(ctl expire)
	expect_eq "warning: the next run has nothing to do" "No session to end." "$out"
	sleep 0.3
	expect_eq "warning: not written a second time" 1 "$(count_in "$PTY_LOG" 'save your work')"
}

test_expire_after_the_window_ends_everything() {
	local out rc t0 t1 line p
	sleep $((WEND - $(date +%s) + 1))
	mark
	t0=$(date +%s)
	out=$(ctl expire 2>"$T/err")
	rc=$?
	t1=$(date +%s)
	expect_eq "window closed: expire exits 0" 0 "$rc"
	expect_eq "window closed: nothing on stderr" "" "$(cat "$T/err")"
	check "window closed: done within the grace periods and a margin ($((t1 - t0)) s)" [ $((t1 - t0)) -le 16 ]
	check "window closed: setsid, nohup, SIGTERM-ignoring and pty processes all ended" \
		none_running "$P_SETSID" "$P_NOHUP" "$P_STUBBORN" "$P_PTY" "$P_MONITOR"
	check "window closed: the other user's process is untouched" running "$P_OTHER"
	expect_eq "window closed: nothing of the vendor's uid is left" "" "$(ps -o pid= -u "$V")"
	expect_match "window closed: the terminal was told before the end" \
		'pam_vendor: window closed: this session is being ended\.' "$(cat "$PTY_LOG")"
	expect_match "window closed: the session is named" "Ended session $SID of $V .*: window closed\." "$out"
	expect_match "window closed: the processes are named" \
		"Ended [0-9]+ process\(es\) of $V: window closed \(SIGTERM: .*\b$P_STUBBORN\b.*; SIGKILL: .*\b$P_STUBBORN\b" "$out"
	expect_match "window closed: says logind was not used" \
		'^systemd-logind does not run here: loginctl terminate-user was not used; the processes were ended by uid\.$' "$out"
	line=$(new_audit '"session_terminated"')
	expect_eq "audit: session_terminated for the session" "$SID $P_MONITOR root" "$(afield "$line" session pid admin)"
	line=$(new_audit '"processes_terminated"')
	expect_eq "audit: one processes_terminated line" 1 "$(printf '%s\n' "$line" | grep -c .)"
	expect_eq "audit: who, which vendor, why" "admin allow window_expired $V root" \
		"$(afield "$line" event result reason user admin)"
	for p in "$P_SETSID" "$P_NOHUP" "$P_STUBBORN" "$P_PTY"; do
		expect_match "audit: SIGTERM names pid $p" "SIGTERM to [0-9]+: ([0-9 ]* )?$p( |;)" "$(afield "$line" detail)"
	done
	expect_match "audit: SIGKILL names only the process that ignored SIGTERM" \
		"; SIGKILL to 1: $P_STUBBORN; logind: not running$" "$(afield "$line" detail)"
	expect_no_match "audit: the other user's process is not named" "\b$P_OTHER\b" "$line"
	mark
	out=$(ctl expire)
	expect_eq "expire again: idempotent" "No session to end." "$out"
	expect_eq "expire again: no audit line" "$MARK" "$(audit_lines)"
}

# A record whose PID now names another process (another start time) is stale: dropped, and
# that process is never signalled.
test_reused_pid_is_never_signalled() {
	local p out
	sleep 600 &
	p=$!
	ROOT_PIDS+=("$p")
	write_session "$V" "$p" "$(($(proc_start "$p") + 1))"
	out=$(ctl expire)
	expect_eq "reused PID: nothing ended" "No session to end." "$out"
	check "reused PID: the process holding it is untouched" running "$p"
	check "reused PID: the stale record is dropped" test ! -e "$SESSIONS/$SID.session"
	kill "$p"
}

test_disable_kill_ends_every_process() {
	local out
	ctl enable "$V" --for 1h >/dev/null
	start "$V" setsid sleep 610
	P_SETSID=$STARTED
	start "$V" nohup sleep 611
	P_NOHUP=$STARTED
	sleep 0.3
	mark
	out=$(ctl --json disable "$V" --kill)
	expect_eq "disable --kill: exit 0" 0 $?
	expect_eq "disable --kill --json: two processes ended, logind not used" "2 not running" \
		"$(jget "$out" 'd["processes_ended"]') $(jget "$out" 'd["logind"]')"
	check "disable --kill: the vendor's processes ended" none_running "$P_SETSID" "$P_NOHUP"
	check "disable --kill: the other user's process is untouched" running "$P_OTHER"
	expect_eq "disable --kill: audited with why" "allow not_enabled $V" \
		"$(afield "$(new_audit processes_terminated)" result reason user)"
}

test_vendor_remove_ends_every_process() {
	local out line
	ctl enable "$V" --for 1h >/dev/null # removal ends them even inside a window
	start "$V" setsid sleep 620
	P_SETSID=$STARTED
	sleep 0.3
	mark
	out=$(ctl vendor remove "$V")
	expect_eq "vendor remove: exit 0" 0 $?
	expect_match "vendor remove: says what it ended" "Ended 1 process\(es\) of $V: vendor removed \(SIGTERM: $P_SETSID; SIGKILL: none\)" "$out"
	check "vendor remove: the vendor's process ended" none_running "$P_SETSID"
	check "vendor remove: the other user's process is untouched" running "$P_OTHER"
	line=$(new_audit processes_terminated)
	expect_eq "vendor remove: audited after vendor_remove, with why" "allow not_vendor $V" "$(afield "$line" result reason user)"
	expect_match "vendor remove: the vendor_remove line comes first" '"action":"vendor_remove"' "$(tail -n +$((MARK + 1)) "$AUDIT" | head -n 1)"
}

test_group_member_without_record_is_swept() {
	local out p
	start "$G" setsid sleep 630
	p=$STARTED
	sleep 0.3
	mark
	out=$(ctl expire)
	expect_eq "group member without a record: expire exits 0" 0 $?
	check "group member without a record: its process ended" none_running "$p"
	expect_eq "group member without a record: audited as a removed vendor" "$G not_vendor" \
		"$(afield "$(new_audit processes_terminated)" user reason)"
	check "group member without a record: the other user's process is untouched" running "$P_OTHER"
}

test_open_window_vendor_untouched_by_expire() {
	local p out
	ctl vendor add "$V" --ip 127.0.0.1 >/dev/null
	ctl enable "$V" --for 1h >/dev/null
	start "$V" setsid sleep 640
	p=$STARTED
	sleep 0.3
	mark
	out=$(ctl expire)
	check "window open for an hour: the vendor's process runs on" running "$p"
	expect_eq "window open for an hour: nothing to do, nothing audited" "No session to end. $MARK" "$out $(audit_lines)"
	ctl disable "$V" --kill >/dev/null
	check "and disable --kill ends it" none_running "$p"
}

test_uid_0_is_refused() {
	local out rc
	if ! add_user "$R" -M -N -o -u 0 -G "$GROUP" -s /usr/sbin/nologin 2>/dev/null; then
		not_ok "uid 0: useradd of an alias works"
		return
	fi
	out=$(ctl expire 2>"$T/err")
	rc=$?
	expect_eq "uid 0 in vendor_group: expire exits 1" 1 "$rc"
	expect_match "uid 0: refused loudly, naming the account" \
		"^otpctl: refusing to end the processes of $R: its uid is 0 \(root\), which a vendor account must never be$" "$(cat "$T/err")"
	check "uid 0: root's processes (this test) are untouched" running "$$"
	check "uid 0: the other user's process is untouched" running "$P_OTHER"
	userdel -f "$R" 2>/dev/null
}

# Where systemd runs (/run/systemd/system), otpctl asks logind first. Here logind does not
# answer (no system bus): a private mount namespace shows /run/systemd/system, the real
# loginctl fails, otpctl says so, and the uid walk still ends everything.
test_logind_branch_where_systemd_runs() {
	local out p
	if [ ! -x /usr/bin/loginctl ] && [ ! -x /bin/loginctl ]; then
		echo "ok - logind branch # SKIP loginctl is not installed"
		return
	fi
	start "$V" setsid sleep 650
	p=$STARTED
	sleep 0.3
	out=$(unshare -m --propagation private sh -c \
		'mount -t tmpfs pvex /run/systemd 2>/dev/null || { mkdir -p /run/systemd && mount -t tmpfs pvex /run/systemd; } &&
		 mkdir /run/systemd/system && exec "$@"' sh "$OTPCTL" --config "$CFG" --json expire 2>"$T/err")
	expect_eq "logind branch: expire exits 0 (everything ended)" 0 $?
	expect_eq "logind branch: JSON says terminate-user failed" "terminate-user failed 1" \
		"$(jget "$out" 'd["logind"]') $(jget "$out" 'd["processes_ended"]')"
	expect_match "logind branch: the failure is a one-line warning naming the vendor" \
		"^otpctl: warning: /(usr/)?bin/loginctl terminate-user $V failed \(.*\); its processes are ended by uid$" "$(cat "$T/err")"
	check "logind branch: the vendor's process ended" none_running "$p"
	out=$(ctl --json expire)
	expect_eq "without /run/systemd/system: JSON says logind is not running" "not running" "$(jget "$out" 'd["logind"]')"
}

# A user systemd instance (systemd --user, as a lingering user manager) and a unit it started:
# both end. systemd refuses to run unless booted with systemd and given its own cgroup: a
# private mount namespace shows /run/systemd/system and the instance gets a delegated cgroup.
test_user_systemd_instance_ends() {
	local run=$T/xdg-$V uid p_sd p_unit="" _ out
	uid=$(id -u "$V")
	if [ ! -x /lib/systemd/systemd ] || { [ ! -d /sys/fs/cgroup/unified ] && [ ! -f /sys/fs/cgroup/cgroup.procs ]; }; then
		echo "ok - user systemd instance # SKIP no systemd or no cgroup2 here"
		return
	fi
	install -d -m 0700 -o "$V" "$run"
	local cg=/sys/fs/cgroup/unified
	[ -f /sys/fs/cgroup/cgroup.procs ] && cg=/sys/fs/cgroup
	cat >"$T/user-manager.sh" <<EOF
mount -t tmpfs pvex /run/systemd && mkdir /run/systemd/system || exit 1
for c in $cg /sys/fs/cgroup/systemd; do
	[ -d "\$c" ] || continue
	mkdir -p "\$c/pvex-$uid" && chown -R $V "\$c/pvex-$uid" && echo \$\$ >"\$c/pvex-$uid/cgroup.procs" || exit 1
done
exec setpriv --reuid=$V --regid=$(id -g "$V") --init-groups env HOME=$T/home/$V XDG_RUNTIME_DIR=$run /lib/systemd/systemd --user
EOF
	CGROUPS+=("$cg/pvex-$uid" "/sys/fs/cgroup/systemd/pvex-$uid")
	ctl vendor add "$V" --ip 127.0.0.1 >/dev/null 2>&1
	ctl enable "$V" --for 1h >/dev/null
	unshare -m --propagation private sh "$T/user-manager.sh" </dev/null >"$T/user-manager.log" 2>&1 &
	p_sd=$!
	for _ in $(seq 50); do
		[ -S "$run/systemd/private" ] && break
		sleep 0.1
	done
	if [ ! -S "$run/systemd/private" ]; then
		echo "ok - user systemd instance # SKIP systemd --user does not start here: $(head -c 200 "$T/user-manager.log" | tr '\n' ' ')"
		kill -KILL "$p_sd" 2>/dev/null
		return
	fi
	setpriv --reuid="$V" --regid="$(id -g "$V")" --init-groups env HOME="$T/home/$V" XDG_RUNTIME_DIR="$run" \
		systemd-run --user --unit=pvex-sleep sleep 660 >"$T/systemd-run.log" 2>&1
	for _ in $(seq 50); do
		p_unit=$(ps -o pid=,args= --ppid "$p_sd" | awk '$2 ~ /(^|\/)sleep$/ && $3 == "660" {print $1}')
		[ -n "$p_unit" ] && break
		sleep 0.1
	done
	check "user systemd instance: it runs and started a unit's process ($(tr '\n' ' ' <"$T/systemd-run.log"))" [ -n "$p_unit" ]
	out=$(ctl disable "$V" --kill)
	expect_eq "user systemd instance: disable --kill exits 0" 0 $?
	check "user systemd instance: the manager ended" none_running "$p_sd"
	check "user systemd instance: the unit's process ended" none_running "${p_unit:-0}"
	expect_eq "user systemd instance: nothing of the vendor's uid is left" "" "$(ps -o pid= -u "$V")"
	expect_match "user systemd instance: the manager got SIGTERM" "SIGTERM: ([0-9 ]* )?$p_sd[ ;)]" "$out"
	# The unit's process is not asserted in the SIGTERM list: the manager, ended first, may stop
	# its units before the walk reaches them (a race the checks above cover by outcome: the
	# unit's process ended, nothing of the uid is left).
}

test_open_window_leaves_everything_running
test_warning_written_once_on_the_terminal
test_expire_after_the_window_ends_everything
test_reused_pid_is_never_signalled
test_disable_kill_ends_every_process
test_vendor_remove_ends_every_process
test_group_member_without_record_is_swept
test_open_window_vendor_untouched_by_expire
test_uid_0_is_refused
test_logind_branch_where_systemd_runs
test_user_systemd_instance_ends
"$OTPCTL" --config "$CFG" audit verify >/dev/null 2>&1
expect_eq "audit verify after the whole run" 0 $?
finish

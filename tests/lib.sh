# SPDX-License-Identifier: BSD-3-Clause
# lib.sh — shared helpers for the shell test suites (sourced). Each suite prints one line per
# check ("ok - NAME" / "not ok - NAME: why") and ends with "N passed, M failed".
# Environment from the Makefile: PV_BUILD (build dir), OTPCTL, PV_MODULE, PAMDRIVE.

# Debian's tools first, as tests/run.sh does (for a suite run on its own).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PV_ROOT=${PV_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PV_BUILD=${PV_BUILD:-$PV_ROOT/build/normal}
OTPCTL=${OTPCTL:-$PV_BUILD/bin/otpctl}
PV_MODULE=${PV_MODULE:-$PV_BUILD/bin/pam_vendor.so}
PAMDRIVE=${PAMDRIVE:-$PV_BUILD/tests/pamdrive}
T_PASS=0
T_FAIL=0
T_DIRS=()
T_USERS=()
T_GROUPS=()
# This run's number: the accounts a suite makes are named with a prefix of the suite's own and
# this number, so that an account or home left by an interrupted run never meets a later run,
# nor one suite another's when they run at once. Exported: a suite that re-executes itself in
# namespaces keeps its names.
export PV_RUN=${PV_RUN:-$$}

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $1${2:+: $2}"; }

# check NAME COMMAND... : ok when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "$*"; fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$2], got [$3]"; fi
}

# expect_match NAME REGEX TEXT
expect_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1" "[$3] does not match /$2/"; fi
}

# expect_no_match NAME REGEX TEXT
expect_no_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then not_ok "$1" "[$3] matches /$2/"; else ok "$1"; fi
}

# run_ctl: run otpctl with the suite's config; sets OUT, ERR, RC.
run_ctl() {
	local errf
	errf=$(mktemp)
	OUT=$("$OTPCTL" --config "$CFG" "$@" 2>"$errf")
	RC=$?
	ERR=$(cat "$errf")
	rm -f "$errf"
}

# new_env: a private config, key, store and audit log in a fresh temp dir (root, 0700).
# Extra config lines may be given as arguments. Sets T, CFG, AUDIT, STORE.
new_env() {
	T=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$T")
	CFG=$T/pam_vendor.conf
	AUDIT=$T/log/audit.log
	STORE=$T/store
	SESSIONS=$T/sessions
	{
		echo "store_dir = $STORE"
		echo "key_file = $T/etc/master.key"
		echo "audit_log = $AUDIT"
		echo "session_dir = $T/sessions"
		echo "keys_view = $T/keysview/view" # written only once a test creates the directory
		echo "fail_delay = 0"
		echo "lock_timeout = 20s" # parallel tests on a loaded machine queue on one lock
		# Suites that are not about recording run the vendor's shell unrecorded;
		# tests/e2e/test_recording.sh turns it on with a recorder of its own.
		echo "session_recording = off"
		for line in "$@"; do echo "$line"; done
	} >"$CFG"
	"$OTPCTL" --config "$CFG" init >/dev/null || { echo "Bail out! otpctl init failed"; exit 1; }
}

# skip NAME WHY: a check that cannot run here, said so.
skip() { echo "ok - $1 # SKIP $2"; }

# jget JSON EXPR: a value from a JSON text (d is the decoded object): "null" for None, true /
# false for booleans, "unparsable" when the text is not exactly one JSON value.
jget() {
	python3 -c 'import json,sys
try:
    d=json.loads(sys.argv[1])
except Exception:
    print("unparsable"); sys.exit(0)
v=eval(sys.argv[2])
print("null" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1" "$2" 2>/dev/null
}

# set_conf KEY VALUE: replace (or add) one line of the suite's config; drop_conf KEY: remove it.
set_conf() {
	if grep -q "^$1 = " "$CFG"; then
		sed -i "s|^$1 = .*|$1 = $2|" "$CFG"
	else
		echo "$1 = $2" >>"$CFG"
	fi
}
drop_conf() { sed -i "/^$1 = /d" "$CFG"; }

# audit_lines: lines in the audit log (0 before it exists); mark: remember them in MARK.
audit_lines() { if [ -f "$AUDIT" ]; then wc -l <"$AUDIT" | tr -d ' '; else echo 0; fi; }
mark() { MARK=$(audit_lines); }

# wrong_of CODE: a code of the same length that is certainly not CODE.
wrong_of() { echo "$(((${1:0:1} + 1) % 10))${1:1}"; }

# audit_last FIELD: value of FIELD in the last audit line ("" if absent, "null" if null).
audit_last() {
	tail -n 1 "$AUDIT" | python3 -c 'import json,sys; v=json.loads(sys.stdin.read()).get(sys.argv[1], ""); print("null" if v is None else v)' "$1"
}

# private_syslog LOG: inside the caller's own mount namespace (unshare -m), a tmpfs over /dev
# with device nodes of its own (a devpts instance for ptys) and a /dev/log datagram socket
# whose messages a listener (SYSLOG_PID) appends to LOG, one line each. Returns once the
# listener is ready; 1 when a mount or mknod fails. Nothing of the host's /dev is bound under a
# temp dir, so a cleanup's rm -rf can never reach it. syslog_stop ends the listener.
private_syslog() {
	local log=$1 _
	: >"$log"
	rm -f "$log.ready"
	mount --make-rprivate / && mount -t tmpfs -o mode=0755,size=1m pvtdev /dev || return 1
	mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 && mknod -m 666 /dev/full c 1 7 &&
		mknod -m 666 /dev/random c 1 8 && mknod -m 666 /dev/urandom c 1 9 &&
		mknod -m 666 /dev/tty c 5 0 || return 1
	mkdir -p /dev/pts /dev/shm
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts || return 1
	ln -s pts/ptmx /dev/ptmx
	ln -s /proc/self/fd /dev/fd
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
f = open(sys.argv[1], "ab", buffering=0)
open(sys.argv[1] + ".ready", "w").close()
while True:
    d = s.recv(65536)
    if b"PVT-SYSLOG-END" in d:
        break
    f.write(d.rstrip(b"\0\n") + b"\n")
' "$log" &
	SYSLOG_PID=$!
	for _ in $(seq 200); do [ -e "$log.ready" ] && break; sleep 0.01; done
}

# syslog_stop: the listener has written every message sent before; it ends.
syslog_stop() {
	[ -n "${SYSLOG_PID:-}" ] || return 0
	python3 -c 'import socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"PVT-SYSLOG-END", "/dev/log")'
	wait "$SYSLOG_PID"
	SYSLOG_PID=
}

# with_syslog LOGFILE CMD...: run CMD in a private mount namespace whose /dev/log is read into
# LOGFILE (private_syslog above); the host's /dev and syslog are never touched.
with_syslog() {
	local log=$1
	shift
	unshare -m bash -c 'source "$0" && private_syslog "$1" || exit 90
shift
"$@"
rc=$?
syslog_stop
exit $rc' "$PV_ROOT/tests/lib.sh" "$log" "$@"
}

# The shadow tools (useradd, groupadd, usermod, gpasswd, userdel, groupdel) fail at once when
# another one holds /etc/passwd's or /etc/group's lock ("cannot lock ...; try again later"),
# and suites run side by side: such a failure is tried again, up to 50 times over about 5 s.
# Any other failure is returned as it is, with its message.
shadow_retry() {
	local i rc err
	for ((i = 0; i < 50; i++)); do
		{ err=$(command "$@" 2>&1 1>&3 3>&-); } 3>&1
		rc=$?
		case $err in
		*"try again later"* | *"already used by PID"*) sleep 0.1 ;;
		*) break ;;
		esac
	done
	[ -n "$err" ] && printf '%s\n' "$err" >&2
	return $rc
}
useradd() { shadow_retry useradd "$@"; }
groupadd() { shadow_retry groupadd "$@"; }
usermod() { shadow_retry usermod "$@"; }
gpasswd() { shadow_retry gpasswd "$@"; }
userdel() { shadow_retry userdel "$@"; }
groupdel() { shadow_retry groupdel "$@"; }

# faketime: Debian's wrapper names a semaphore and a shared-memory file in /dev/shm after its
# own PID and removes them when it ends; a wrapper killed first (a test's timeout) leaves them,
# and a later wrapper that gets the same PID (pid_max is 32768) then fails with "sem_open: File
# exists". Those of PIDs that no longer run are removed first. (`timeout faketime ...` runs the
# program itself, not this function.)
faketime() {
	local f
	for f in /dev/shm/sem.faketime_sem_* /dev/shm/faketime_shm_*; do
		[ -e "$f" ] || continue
		kill -0 "${f##*_}" 2>/dev/null || rm -f "$f"
	done
	command faketime "$@"
}

# add_group NAME / add_user NAME USERADD-OPTIONS...: a local group or account that
# remove_accounts removes (the suite's EXIT trap calls it). NAME is the suite's prefix and
# PV_RUN: one of the same name can only be left by an interrupted run of the same suite, and
# is replaced. Homes go under a temp dir of the suite (useradd -m -d DIR/NAME), never /home.
add_group() {
	getent group "$1" >/dev/null && groupdel "$1" 2>/dev/null
	groupadd "$1" && T_GROUPS+=("$1")
}
add_user() {
	local name=$1
	shift
	id "$name" >/dev/null 2>&1 && userdel -f "$name" >/dev/null 2>&1
	useradd "$@" "$name" && T_USERS+=("$name")
}

# remove_accounts: end what still runs under the suite's accounts (by PID), then remove them
# (-f: a uid 0 alias "is used by" every root process) and the suite's groups.
remove_accounts() {
	local u g p
	for u in "${T_USERS[@]}"; do
		id -u "$u" >/dev/null 2>&1 || continue
		if [ "$(id -u "$u")" != 0 ]; then
			for p in $(ps -o pid= -u "$u" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		fi
		userdel -f "$u" >/dev/null 2>&1
	done
	T_USERS=()
	for g in "${T_GROUPS[@]}"; do getent group "$g" >/dev/null && groupdel "$g" 2>/dev/null; done
	T_GROUPS=()
	return 0
}

cleanup_dirs() {
	local d
	for d in "${T_DIRS[@]}"; do
		case "$d" in /tmp/pvtest.*) rm -rf "$d" ;; esac
	done
}

finish() {
	cleanup_dirs
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

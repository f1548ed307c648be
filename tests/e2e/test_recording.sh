#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_recording.sh — every vendor terminal session recorded (issue 23), through a real sshd and
# the real recorder (pv-record, set-uid root, running util-linux script): a pty session and a
# command session recorded in full and replayed, followed live, out of the vendor's reach
# (read, write, delete, signal), the session ended with the recorder, refusals when the
# recording cannot start (audited; a non-vendor unaffected), and audit verify --recordings.
# pv-record reads /etc/pam_vendor/pam_vendor.conf: inside the test's mount namespace /etc is an
# overlay (the host's /etc is never written) where that directory is the suite's own.
set -u
SSHD_TAG=pr
source "$(dirname "$0")/../lib.sh"

source "$(dirname "$0")/sshd_lib.sh"
STIDRIVE=${STIDRIVE:-$PV_BUILD/tests/stidrive}
ESCDRIVE=${ESCDRIVE:-$PV_BUILD/tests/escapedrive}
sshd_enter "$0"

# --- inside the namespaces ---------------------------------------------------------------
new_env "vendor_group = $GROUP"
stop_all() {
	sshd_stop
	umount /etc/pam_vendor 2>/dev/null
	umount /etc 2>/dev/null
	cleanup_dirs
}
trap stop_all EXIT

# The recorder where the vendor can run it: root's, 0755 directories, the binary 4755. Under
# /tmp/pvtest.*, which cleanup_dirs removes: no set-uid root binary is left in /tmp.
RB=$(mktemp -d /tmp/pvtest.rec.XXXXXX) && T_DIRS+=("$RB") && chmod 0755 "$RB"
install -m 4755 -o root -g root "$PV_BUILD/bin/pv-record" "$RB/pv-record"
REC=$T/recordings
set_conf session_recording required
set_conf recording_dir "$REC"
set_conf recorder "$RB/pv-record"
set_conf vendor_shell /bin/bash
set_conf recording_min_free 1
mkdir -p "$T/etc-up" "$T/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/etc-up,workdir=$T/etc-work" /etc &&
	mkdir /etc/pam_vendor && mount --bind "$T" /etc/pam_vendor ||
	{ echo "Bail out! cannot give pv-record its configuration"; exit 1; }
sshd_start
ctl vendor add "$VENDOR" --ip 127.0.0.5
expect_eq "vendor add makes the recorder the vendor's login shell" "$RB/pv-record" \
	"$(getent passwd "$VENDOR" | cut -d: -f7)"
ctl enable "$VENDOR" --for 1h

# last_line EVENT: the last audit line of EVENT for the vendor.
last_line() { grep "\"event\":\"$1\"" "$AUDIT" | grep "\"user\":\"$VENDOR\"" | tail -n 1; }
# the recording ID of the last session opened
last_recording() { jget "$(last_line session_open)" 'd.get("recording")'; }

# pty_login SCRIPT: a pty session (ssh -tt) fed SCRIPT's lines; OUT, RC as login sets them.
pty_login() {
	issue_code
	OUT=$(SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 60 ssh -tt -F none -i "$T/id" -b 127.0.0.5 -p "$PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		-o NumberOfPasswordPrompts=1 "$VENDOR@127.0.0.1" <"$1" 2>"$T/ssh.err")
	RC=$?
}

# wait_for FILE TEXT TENTHS: until FILE holds TEXT, at most TENTHS tenths of a second.
wait_for() {
	local i
	for ((i = 0; i < $3; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

test_pty_session_recorded_and_played() {
	local n=$RANDOM$RANDOM id mark
	mark=typed$n
	printf 'echo typed""%s\nid\nexit\n' "$n" >"$T/in1"
	pty_login "$T/in1"
	expect_eq "pty session: the vendor's shell ran" 0 "$RC"
	id=$(last_recording)
	check "pty session: session_open names its recording" pv_session_id_ok "$id"
	check "pty session: what the vendor typed is in the input recording" grep -q "typed\"\"$n" "$REC/$id.in"
	check "pty session: what the shell printed is in the output recording" grep -q "$mark" "$REC/$id.out"
	check "pty session: id's output is in the output recording" grep -q "uid=[0-9]*($VENDOR)" "$REC/$id.out"
	local play
	play=$("$OTPCTL" --config "$CFG" sessions play "$id" --speed 100)
	expect_match "sessions play prints the typed marker" "$mark" "$play"
	expect_match "sessions play prints id's output" "uid=[0-9]*\\($VENDOR\\)" "$play"
	local close
	close=$(last_line session_close)
	expect_eq "session_close names the recording" "$id" "$(jget "$close" 'd.get("recording")')"
	expect_eq "session_close carries the recording's size" \
		"$(($(stat -c %s "$REC/$id.timing") + $(stat -c %s "$REC/$id.in") + $(stat -c %s "$REC/$id.out")))" \
		"$(jget "$close" 'd.get("recording_bytes")')"
	expect_match "session_close carries a BLAKE2b digest" '^[0-9a-f]{64}$' "$(jget "$close" 'd.get("recording_b2b")')"
	expect_eq "recordings are root's, 0600" "root 600 root 600 root 600" \
		"$(stat -c '%U %a' "$REC/$id.timing" "$REC/$id.in" "$REC/$id.out" | tr '\n' ' ' | sed 's/ $//')"
	expect_eq "the recording directory is root's, 0700" "root 700" "$(stat -c '%U %a' "$REC")"
	PTY_ID=$id
}
# The vendor's TERM (sent by its ssh client) reaches root's script only when it is a plain
# terminal name: a newline in it would forge a line of the timing log, which play and
# follow would then refuse.
test_forged_term_does_not_reach_the_timing_log() {
	local id out
	printf 'echo term""ok\nexit\n' >"$T/in-term"
	TERM=$'xterm\nO 0.000000 99999' pty_login "$T/in-term"
	id=$(last_recording)
	expect_match "forged TERM: the session ran" "termok" "$OUT"
	expect_no_match "forged TERM: no line forged in the timing log" "99999" "$(cat "$REC/$id.timing")"
	out=$("$OTPCTL" --config "$CFG" sessions play "$id" --speed 100 2>&1)
	expect_match "forged TERM: sessions play replays the session" "termok" "$out"
}

# as_user NAME CMD...: CMD as NAME (setpriv: runuser would need PAM, whose directory the
# suite replaced).
as_user() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- "$@"
}
pv_session_id_ok() { [[ "$1" =~ ^[0-9a-f]{32}$ ]]; }

# The vendor's terminal has a size, which changes during the session: the recording has both.
# A pty of the test's own (python3's pty) carries ssh; resizing it sends SIGWINCH as a
# terminal emulator does.
test_window_size_recorded() {
	local id
	cat >"$T/winpty.py" <<'PY'
import fcntl, os, pty, select, signal, struct, sys, termios, time
def size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
def read_until(fd, text, secs):
    seen, end = b"", time.time() + secs
    while time.time() < end and text not in seen:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return text in seen
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
size(fd, 33, 101)
os.write(fd, b'echo size""ready\n')
ok = read_until(fd, b"sizeready", 60)
size(fd, 40, 120)
os.kill(pid, signal.SIGWINCH)
os.write(fd, b'echo resized""done\n')
ok = read_until(fd, b"resizeddone", 30) and ok
os.write(fd, b"exit\n")
read_until(fd, b"\xff", 5)
sys.exit(0 if ok else 1)
PY
	issue_code
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 90 python3 "$T/winpty.py" ssh -tt -F none -i "$T/id" -b 127.0.0.5 -p "$PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		"$VENDOR@127.0.0.1" >/dev/null 2>&1
	expect_eq "window size: the session ran in a terminal of the test's" 0 $?
	id=$(last_recording)
	expect_match "window size: the size at the start is recorded" "COLUMNS 101" "$(cat "$REC/$id.timing")"
	expect_match "window size: ... both of it" "LINES 33" "$(cat "$REC/$id.timing")"
	expect_match "window size: a change is recorded" "SIGWINCH ROWS=40 COLS=120" "$(cat "$REC/$id.timing")"
}

test_command_session_recorded() {
	local mark="cmd-$RANDOM$RANDOM" id
	issue_code
	login 127.0.0.5 "$VENDOR" "$PORT" "echo $mark"
	expect_eq "command session: the command ran" "$mark" "$OUT"
	id=$(last_recording)
	check "command session: recorded" grep -q "$mark" "$REC/$id.out"
	expect_match "command session: the command is in the timing log" "COMMAND" "$(cat "$REC/$id.timing")"
	expect_match "command session: sessions play prints it" "$mark" \
		"$("$OTPCTL" --config "$CFG" sessions play "$id" --speed 100)"
	CMD_ID=$id
}

# In a pty the typed line is echoed too: the vendor types "echo A""B" and the shell prints
# "AB", which only the output holds.
test_follow_shows_a_live_session() {
	local n=$RANDOM$RANDOM id fifo=$T/fifo i
	mkfifo "$fifo"
	issue_code
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 60 ssh -tt -F none -i "$T/id" -b 127.0.0.5 -p "$PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		"$VENDOR@127.0.0.1" <"$fifo" >"$T/live.out" 2>&1 &
	local ssh_pid=$!
	exec 7>"$fifo"
	echo "echo ready\"\"$n" >&7
	wait_for "$T/live.out" "ready$n" 300
	id=$(last_recording)
	"$OTPCTL" --config "$CFG" sessions follow "$id" >"$T/follow.out" 2>&1 &
	local follow_pid=$!
	check "follow shows the session from its start" wait_for "$T/follow.out" "ready$n" 100
	echo "echo live\"\"$n" >&7
	# From the moment the marker is in the recording, follow shows it within a second.
	wait_for "$REC/$id.out" "live$n" 300
	check "follow shows the marker typed after it started, within a second" \
		wait_for "$T/follow.out" "live$n" 10
	expect_match "sessions shows the live session as recorded" "$id.*, recorded" \
		"$("$OTPCTL" --config "$CFG" sessions)"
	touch -d '400 days ago' "$REC/$id".*
	"$OTPCTL" --config "$CFG" expire >/dev/null
	check "expire keeps the recording of a live session, however old" [ -s "$REC/$id.out" ]
	echo exit >&7
	exec 7>&-
	wait "$ssh_pid"
	for ((i = 0; i < 50; i++)); do kill -0 "$follow_pid" 2>/dev/null || break; sleep 0.1; done
	check "follow ends with the session" not kill -0 "$follow_pid" 2>/dev/null
	kill "$follow_pid" 2>/dev/null
	rm -f "$fifo"
}
not() { ! "$@"; }

# sshd's own terminal (its pty, which OpenSSH gives to the user) is taken away from the vendor
# before script starts: writing to it (output the client sees, recorded nowhere) and a shell
# reading it (input run unrecorded) both fail. Every pty but the shell's own is tried.
test_sshds_terminal_out_of_the_vendors_reach() {
	local id
	cat >"$T/in-pty" <<'EOS'
for p in /dev/pts/[0-9]*; do [ "$p" = "$(tty)" ] && continue; { printf 'UNREC%s\n' ORDED >"$p"; } 2>/dev/null && echo "WRO""TE$p"; done
for p in /dev/pts/[0-9]*; do [ "$p" = "$(tty)" ] && continue; { exec 9<"$p"; } 2>/dev/null && echo "RE""AD$p" && (exec bash --norc -i <"$p" >"$p" 2>&1 &); exec 9<&-; done
sleep 1
echo HIDDEN$((6*7))
sleep 1
exit
EOS
	pty_login "$T/in-pty"
	id=$(last_recording)
	expect_no_match "sshd's terminal: the vendor cannot write to it" "WROTE/" "$OUT"
	expect_no_match "sshd's terminal: no output reaches the client unrecorded" "UNRECORDED" "$OUT"
	expect_no_match "sshd's terminal: the vendor cannot open it to read" "READ/" "$OUT"
	check "sshd's terminal: the typed command ran in the recorded shell" \
		grep -q HIDDEN42 "$REC/$id.out"
	expect_eq "sshd's terminal: every HIDDEN42 the client saw is recorded" \
		"$(grep -o HIDDEN42 <<<"$OUT" | wc -l)" "$(grep -o HIDDEN42 "$REC/$id.out" | wc -l)"
}

test_out_of_the_vendors_reach() {
	local f=$REC/$PTY_ID.out
	issue_code
	login 127.0.0.5 "$VENDOR" "$PORT" \
		"cat $f >/dev/null 2>&1; echo read=\$?; echo x >>$f 2>/dev/null; echo write=\$?; rm -f $f 2>/dev/null; echo rm=\$?; ls $REC >/dev/null 2>&1; echo list=\$?; kill -TERM \$PPID 2>/dev/null; echo kill=\$?; kill -STOP \$PPID 2>/dev/null; echo stop=\$?; id -u"
	expect_match "vendor cannot read a recording" "read=1" "$OUT"
	expect_match "vendor cannot write a recording" "write=1" "$OUT"
	expect_match "vendor cannot delete a recording" "rm=1" "$OUT"
	expect_match "vendor cannot list the recordings" "list=2" "$OUT"
	expect_match "vendor cannot signal the recorder (TERM)" "kill=1" "$OUT"
	expect_match "vendor cannot stop the recorder" "stop=1" "$OUT"
	expect_match "the vendor's shell runs as the vendor" "$(id -u "$VENDOR")\$" "$OUT"
	check "the recording is still there" [ -s "$f" ]
	check "another account cannot read a vendor's recording" not as_user "$OTHER" cat "$f" 2>/dev/null
	check "another account cannot list the recordings" not as_user "$OTHER" ls "$REC" 2>/dev/null
}

# Input pushed into the vendor's own terminal (TIOCSTI; TIOCLINUX's paste on a console) would
# reach its shell without passing script's input log. pv-record's seccomp filter refuses both
# (EPERM), the command number with bits set above its 32 bits too (the kernel reads it as an
# unsigned int; that sub-check makes x86_64's ioctl system call, so it runs there only), and
# TIOCNOTTY, which would free the terminal for a vendor process outside the filter to take. The helper, run by the vendor in a pty session, prints the errno of each
# attempt; a marker command it tries to inject must never run. stidrive does it as a 32-bit
# program would (i386's system-call entry), which the filter covers too. The next typed line is sent
# only once the helper is done, so an injected line would come before it.
test_terminal_injection_refused() {
	local id
	cat >"$RB/sti.py" <<'PY'
import ctypes, errno, fcntl, platform, termios
line = b"echo INJ" + b"ECTED\n"
TIOCLINUX = 0x541C
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def plain():
    for c in line:
        fcntl.ioctl(0, termios.TIOCSTI, bytes([c]))
def high_bits():
    for c in line:
        ch = ctypes.c_char(c)
        if libc.syscall(ctypes.c_long(16), ctypes.c_long(0),  # SYS_ioctl on x86_64
                        ctypes.c_ulong(termios.TIOCSTI | (1 << 32)), ctypes.byref(ch)) != 0:
            raise OSError(ctypes.get_errno(), "ioctl")
def linux_paste():
    fcntl.ioctl(0, TIOCLINUX, bytes([3]))
def no_tty():
    fcntl.ioctl(0, termios.TIOCNOTTY)
for name, f in (("plain", plain), ("high", high_bits), ("linux", linux_paste), ("notty", no_tty)):
    if name == "high" and platform.machine() != "x86_64":
        continue
    try:
        f()
        print("STI-%s-allowed" % name)
    except OSError as e:
        print("STI-%s-%s" % (name, errno.errorcode.get(e.errno, e.errno)))
PY
	chmod 0644 "$RB/sti.py"
	install -m 0755 "$STIDRIVE" "$RB/stidrive" || not_ok "TIOCSTI: $STIDRIVE built (make $STIDRIVE)"
	issue_code
	{
		echo "python3 $RB/sti.py; $RB/stidrive; echo STI-\"\"DONE"
		wait_for "$T/sti.out" "STI-DONE" 300
		printf 'echo after""sti\nexit\n'
	} | SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 60 ssh -tt -F none -i "$T/id" -b 127.0.0.5 -p "$PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		"$VENDOR@127.0.0.1" >"$T/sti.out" 2>&1
	OUT=$(cat "$T/sti.out")
	id=$(last_recording)
	expect_match "TIOCSTI: the session ran to its end" "aftersti" "$OUT"
	expect_match "TIOCSTI: refused with EPERM" "STI-plain-EPERM" "$OUT"
	if [ "$(uname -m)" = x86_64 ]; then
		expect_match "TIOCSTI with bits above 32: refused with EPERM" "STI-high-EPERM" "$OUT"
	else
		skip "TIOCSTI with bits above 32" "the sub-check calls x86_64's ioctl system call (16)"
	fi
	expect_match "TIOCLINUX: refused with EPERM" "STI-linux-EPERM" "$OUT"
	expect_match "TIOCNOTTY: refused with EPERM" "STI-notty-EPERM" "$OUT"
	# Outside the session stidrive's TIOCSTI on /dev/null gets ENOTTY where this kernel runs
	# 32-bit system calls; without ia32 emulation there is nothing to refuse.
	if [ "$("$STIDRIVE" </dev/null 2>/dev/null)" = STI-i386-ENOTTY ]; then
		expect_match "TIOCSTI as a 32-bit program makes it (int 0x80): refused with EPERM" \
			"STI-i386-EPERM" "$OUT"
	else
		skip "TIOCSTI as a 32-bit program makes it (int 0x80)" "no ia32 emulation here"
	fi
	expect_no_match "TIOCSTI: the injected command never ran" "INJECTED" "$OUT"
	check "TIOCSTI: ... nor is it in the recording" not grep -q INJECTED "$REC/$id.out"
	rm -f "$RB/sti.py" "$RB/stidrive"
}

# The filter cannot be loaded (seccomp(2) and prctl(2) fail, by strace's fault injection): the
# inner step refuses the session before the vendor's command runs. Run here as script runs it
# (root, PV_REC_USER), once without the fault to show that the command runs then.
test_refused_when_the_filter_cannot_be_loaded() {
	local home out rc
	home=$(getent passwd "$VENDOR" | cut -d: -f6)
	rm -f "$home/ran-inner"
	PV_REC_USER=$VENDOR PV_REC_SHELL=/bin/bash PV_REC_COMMAND="touch $home/ran-inner" \
		"$RB/pv-record" -c pv-record-inner </dev/null >/dev/null 2>&1
	check "filter: the inner step runs the vendor's command" [ -e "$home/ran-inner" ]
	rm -f "$home/ran-inner"
	# LeakSanitizer cannot run under ptrace: off for this run in the sanitizer build.
	out=$(PV_REC_USER=$VENDOR PV_REC_SHELL=/bin/bash PV_REC_COMMAND="touch $home/ran-inner" \
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -o /dev/null -e trace=seccomp,prctl -e inject=seccomp,prctl:error=EPERM \
		"$RB/pv-record" -c pv-record-inner 2>&1 </dev/null)
	rc=$?
	expect_eq "filter not loaded: the session is refused" 1 "$rc"
	expect_match "filter not loaded: ... saying why" "cannot keep the vendor from injecting" "$out"
	check "filter not loaded: the vendor's command never ran" not [ -e "$home/ran-inner" ]
}

# no_vendor_process TENTHS: none of the vendor's processes runs any more, within TENTHS tenths
# of a second (the session's own processes, sshd's among them, end as the session ends).
no_vendor_process() {
	local i
	for ((i = 0; i < $1; i++)); do
		pgrep -u "$VENDOR" >/dev/null || return 0
		sleep 0.1
	done
	ps -o pid,ppid,args -u "$VENDOR" | sed 's/^/# left: /'
	return 1
}

# wait_close ID: until the session_close of ID is written (sshd's monitor writes it after the
# client may have returned), at most 5 s.
wait_close() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(jget "$(last_line session_close)" 'd.get("recording")')" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# sealed_close ID: the session_close of ID, once written, carries the recording's digest.
sealed_close() {
	wait_close "$1"
	jget "$(last_line session_close)" \
		'"sealed" if d.get("recording")=="'"$1"'" and d.get("recording_bytes",0)>0 and len(d.get("recording_b2b",""))==64 else "not sealed"'
}

# What the vendor leaves running: nohup, setsid, a double fork, a process that ignores SIGHUP.
LEAVE='nohup sleep 1000 >/dev/null 2>&1 &
setsid sleep 1001 >/dev/null 2>&1 </dev/null &
(sleep 1002 >/dev/null 2>&1 </dev/null &)
(trap "" HUP; exec sleep 1003) >/dev/null 2>&1 </dev/null &'

# Nothing the vendor started outlives its session: script runs as the first process of a PID
# namespace of its own, whose other processes the kernel kills when it exits; the close is
# sealed as before.
test_nothing_outlives_a_command_session() {
	check "before: no process of the vendor runs" no_vendor_process 50
	issue_code
	login 127.0.0.5 "$VENDOR" "$PORT" "$LEAVE
sleep 0.5; echo count=\$(pgrep -c -u \$(id -u) -f '^sleep 100[0-3]')"
	expect_match "command session: the vendor's processes were started" "count=4" "$OUT"
	ended_with_session "command session"
}

# ended_with_session WHAT: after the last session, none of the vendor's processes runs and its
# close is sealed as before.
ended_with_session() {
	local id
	id=$(last_recording)
	check "$1: none of them outlives the session" no_vendor_process 50
	expect_eq "$1: session_close still carries the recording's digest" sealed \
		"$(sealed_close "$id")"
	pkill -KILL -u "$VENDOR" 2>/dev/null
}

# escaped WHAT COUNT ARGS...: a command session runs escapedrive ARGS, which returns once
# what it leaves is in place, and counts the vendor's escapedrive processes (pgrep -x: a
# zombie leader has no command line); COUNT of them ran, none outlives the session.
escaped() {
	local what=$1 want=$2
	shift 2
	install -m 0755 "$ESCDRIVE" "$RB/escapedrive" || not_ok "$what: $ESCDRIVE built (make $ESCDRIVE)"
	check "$what: before, no process of the vendor runs" no_vendor_process 50
	issue_code
	login 127.0.0.5 "$VENDOR" "$PORT" "$RB/escapedrive $* && echo count=\$(pgrep -c -u \$(id -u) -x escapedrive)"
	expect_match "$what: the processes were started" "^count=$want\$" "$OUT"
	check "$what: none of them outlives the session" no_vendor_process 50
	pkill -KILL -u "$VENDOR" 2>/dev/null
	rm -f "$RB/escapedrive"
}

# A process whose main thread has exited (SYS_exit) while a second thread runs: /proc calls it
# a zombie, yet it runs.
test_nothing_outlives_a_zombie_leader() {
	escaped "zombie leader" 1 zleader
}

# 1500 processes, each the parent of the next: ended whatever the depth.
test_nothing_outlives_a_deep_chain() {
	escaped "chain of 1500" 1500 chain 1500
}

# A process of the session that the kernel cannot end at once: traced by a tracer outside
# the session that is stopped, so its death waits for a wait() that does not come (a FUSE file
# system that never answers holds one up the same way). The session still ends, its close
# sealed, within pv-record's bound (5 s after script), and the process goes with its tracer.
test_stuck_process_does_not_hold_the_session() {
	local pid tracer sub i
	check "stuck process: before, no process of the vendor runs" no_vendor_process 50
	issue_code
	(
		login 127.0.0.5 "$VENDOR" "$PORT" '(sleep 1007 >/dev/null 2>&1 </dev/null &); sleep 3; echo ended'
		printf '%s %s\n' "$RC" "$OUT" >"$T/stuck.out"
	) &
	sub=$!
	for ((i = 0; i < 100; i++)); do
		pid=$(pgrep -u "$VENDOR" -f '^sleep 1007' | head -n 1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	strace -p "$pid" -o /dev/null 2>/dev/null &
	tracer=$!
	sleep 0.5
	kill -STOP "$tracer"
	wait "$sub"
	expect_eq "stuck process: the session ends (ssh's status, not timeout's 124)" "0 ended" \
		"$(cat "$T/stuck.out")"
	expect_eq "stuck process: session_close carries the recording's digest" sealed \
		"$(sealed_close "$(last_recording)")"
	kill -KILL "$tracer"
	wait "$tracer" 2>/dev/null
	check "stuck process: it ends once its tracer has gone" no_vendor_process 50
}

test_nothing_outlives_a_pty_session() {
	printf '%s\nsleep 0.5; echo count=$(pgrep -c -u $(id -u) -f "^sleep 100[0-3]")\nexit\n' "$LEAVE" >"$T/in-leave"
	pty_login "$T/in-leave"
	expect_match "pty session: the vendor's processes were started" "count=4" "$OUT"
	ended_with_session "pty session"
}

# runs_as_vendor PATTERN: a process of the vendor runs whose command line matches PATTERN.
runs_as_vendor() { pgrep -u "$VENDOR" -f "$1" >/dev/null; }

# Only the session's own descendants are ended: a second session of the same vendor goes on
# when the first ends, and its own are ended when it ends (here: the client gone).
test_another_session_of_the_vendor_goes_on() {
	local first i
	bg_command "nohup sleep 1004 >/dev/null 2>&1 & echo started; sleep 30"
	first=$SSH_PID
	issue_code
	login 127.0.0.5 "$VENDOR" "$PORT" "nohup sleep 1005 >/dev/null 2>&1 &
sleep 0.5; echo second=\$(pgrep -c -u \$(id -u) -f '^sleep 1005')"
	expect_eq "two sessions: the second ran what it leaves" second=1 "$OUT"
	for ((i = 0; i < 50; i++)); do pgrep -u "$VENDOR" -f "sleep 1005" >/dev/null || break; sleep 0.1; done
	check "two sessions: what the second left is ended with it" not pgrep -u "$VENDOR" -f "sleep 1005"
	check "two sessions: the first session's processes go on" runs_as_vendor "sleep 1004"
	check "two sessions: the first session goes on" kill -0 "$first"
	kill "$first" 2>/dev/null
	wait "$first" 2>/dev/null
	check "two sessions: the first's left processes end when it does" no_vendor_process 100
	pkill -KILL -u "$VENDOR" 2>/dev/null
}

test_recorder_killed_ends_the_session() {
	local id pid i ssh_pid
	issue_code
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 60 ssh -F none -i "$T/id" -b 127.0.0.5 -p "$PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		"$VENDOR@127.0.0.1" "echo started; sleep 50" </dev/null >"$T/kill.out" 2>&1 &
	ssh_pid=$!
	wait_for "$T/kill.out" started 300
	id=$(last_recording)
	pid=$(pgrep -f "script .*$id" | head -n 1)
	check "the recorder runs" [ -n "$pid" ]
	expect_eq "the recorder's real and saved uid are root's" "0 0" \
		"$(awk '/^Uid:/ {print $2, $4}' "/proc/$pid/status" 2>/dev/null)"
	kill -KILL "$pid"
	for ((i = 0; i < 100; i++)); do kill -0 "$ssh_pid" 2>/dev/null || break; sleep 0.1; done
	check "killing the recorder ends the session" not kill -0 "$ssh_pid" 2>/dev/null
	kill "$ssh_pid" 2>/dev/null
	wait "$ssh_pid" 2>/dev/null
	check "the vendor's command is gone with it" not pgrep -u "$VENDOR" -f "sleep 50"
}

# disable --kill ends a recorded session and every process of the vendor, those in the
# session's PID namespace too: otpctl finds them in /proc under the host's PIDs.
test_disable_kill_ends_a_recorded_session() {
	local i
	bg_command "setsid sleep 1006 >/dev/null 2>&1 </dev/null & sleep 0.5; echo started; sleep 50"
	check "disable --kill: the session's detached process runs" runs_as_vendor "sleep 1006"
	"$OTPCTL" --config "$CFG" disable "$VENDOR" --kill >/dev/null 2>&1
	expect_eq "disable --kill: exit 0" 0 $?
	for ((i = 0; i < 100; i++)); do kill -0 "$SSH_PID" 2>/dev/null || break; sleep 0.1; done
	check "disable --kill: the recorded session ended" not kill -0 "$SSH_PID" 2>/dev/null
	kill "$SSH_PID" 2>/dev/null
	wait "$SSH_PID" 2>/dev/null
	check "disable --kill: no process of the vendor is left" no_vendor_process 50
	ctl enable "$VENDOR" --for 1h >/dev/null
}

# The admin ends a session (SIGTERM to sshd's monitor): the close waits for the recorder to
# finish writing, so the digest it records is the finished recording's.
test_session_ended_by_the_admin_keeps_a_sound_recording() {
	local id i ssh_pid out
	issue_code
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 60 ssh -tt -F none -i "$T/id" -b 127.0.0.5 -p "$PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		"$VENDOR@127.0.0.1" "echo started; sleep 50" </dev/null >"$T/end.out" 2>&1 &
	ssh_pid=$!
	wait_for "$T/end.out" started 300
	id=$(last_recording)
	"$OTPCTL" --config "$CFG" sessions kill "$id" >/dev/null
	for ((i = 0; i < 100; i++)); do kill -0 "$ssh_pid" 2>/dev/null || break; sleep 0.1; done
	wait "$ssh_pid" 2>/dev/null
	if [ -n "${PV_DEBUG:-}" ]; then
		grep "$id" "$AUDIT" | cut -c1-400
		ps -ef | grep -E "script|sleep 50" | grep -v grep
		tail -3 "$REC/$id.timing"
		grep -i "pam\|session" "$T/sshd.log" | tail -8
	fi
	expect_eq "ended by the admin: session_close carries the recording's digest" "$id" \
		"$(jget "$(last_line session_close)" 'd.get("recording") if d.get("recording_b2b") else None')"
	local rc
	out=$("$OTPCTL" --config "$CFG" audit verify --recordings 2>&1)
	rc=$?
	expect_eq "ended by the admin: the recording matches its digest" 0 "$rc"
	[ "$rc" -eq 0 ] || printf '# %s\n' "$out"
}

# refused_login WHAT: the vendor's command session is refused with a message and a
# session_open deny recording_failed; the non-vendor logs in as before.
refused_login() {
	issue_code
	login 127.0.0.5 "$VENDOR" "$PORT" "echo should-not-run"
	check "$1: vendor session refused" [ "$RC" -ne 0 ]
	expect_no_match "$1: the vendor's command did not run" "should-not-run" "$OUT"
	# sshd shows the module's message and ends the session (exit 254) when the session cannot
	# open; pv-record refuses too, should sshd run the shell anyway.
	expect_match "$1: the vendor is told why" "cannot be recorded" "$OUT$(cat "$T/ssh.err")"
	local line
	line=$(last_line session_open)
	expect_eq "$1: refusal audited" "deny recording_failed" \
		"$(jget "$line" 'd["result"]+" "+d["reason"]')"
	login 127.0.0.9 "$OTHER"
	expect_eq "$1: a non-vendor logs in as before" "logged-in-as-$OTHER" "$OUT"
}

test_refused_when_the_directory_is_not_writable() {
	mkdir -p "$T/rec-ro" && chmod 0755 "$T/rec-ro"
	set_conf recording_dir "$T/rec-ro"
	refused_login "directory with the wrong mode"
	expect_match "directory with the wrong mode: the audit line says why" "rec-ro" "$(last_line session_open)"
	set_conf recording_dir "$REC"
}

test_refused_when_the_recorder_is_missing() {
	: >"$T/no-script" && chmod 0644 "$T/no-script"
	mount --bind "$T/no-script" /usr/bin/script
	refused_login "script(1) missing"
	expect_match "script(1) missing: the audit line says so" "/usr/bin/script.*missing" \
		"$(last_line session_open)"
	umount /usr/bin/script
	# Without pv-record, the vendor's login shell, sshd lets no session start at all.
	mv "$RB/pv-record" "$RB/pv-record.away"
	issue_code
	login 127.0.0.5 "$VENDOR" "$PORT" "echo should-not-run"
	check "pv-record missing: vendor refused" [ "$RC" -ne 0 ]
	expect_no_match "pv-record missing: the vendor's command did not run" "should-not-run" "$OUT"
	mv "$RB/pv-record.away" "$RB/pv-record"
	chmod 0755 "$RB/pv-record"
	issue_code
	login 127.0.0.5 "$VENDOR" "$PORT" "echo should-not-run"
	check "pv-record not set-uid: vendor refused" [ "$RC" -ne 0 ]
	expect_no_match "pv-record not set-uid: the vendor's command did not run" "should-not-run" "$OUT"
	expect_match "pv-record not set-uid: the audit line says so" "recorder.*not installed" \
		"$(last_line session_open)"
	chmod 4755 "$RB/pv-record"
}

test_refused_when_the_disk_is_full() {
	mkdir -p "$T/full"
	mount -t tmpfs -o size=256k,mode=0700 tmpfs "$T/full"
	dd if=/dev/zero of="$T/full/fill" bs=4k 2>/dev/null
	set_conf recording_dir "$T/full"
	refused_login "full directory (below recording_min_free)"
	set_conf recording_min_free 0
	refused_login "full directory (the first write fails)"
	set_conf recording_min_free 1
	set_conf recording_dir "$REC"
	umount "$T/full"
}

# The disk fills during a session (the vendor prints more than the recording directory holds):
# pv-record ends the session instead of letting it go on unrecorded, and the close says so.
test_disk_filling_during_a_session_ends_it() {
	local home
	home=$(getent passwd "$VENDOR" | cut -d: -f6)
	rm -f "$home/ran-after-full"
	mkdir -p "$T/filling"
	mount -t tmpfs -o size=2m,mode=0700 tmpfs "$T/filling"
	set_conf recording_dir "$T/filling"
	issue_code
	login 127.0.0.5 "$VENDOR" "$PORT" \
		"head -c 3000000 /dev/zero | base64; sleep 5; echo AFTER""FULL; touch ~/ran-after-full"
	expect_no_match "disk filling: the session did not go on" "AFTERFULL" "$OUT"
	check "disk filling: the vendor's next command never ran" not [ -e "$home/ran-after-full" ]
	expect_match "disk filling: the vendor is told why" "cannot go on" "$(cat "$T/ssh.err")"
	expect_match "disk filling: session_close says so" "ran out of room" "$(last_line session_close)"
	set_conf recording_dir "$REC"
	cp -p "$T/filling"/*.timing "$T/filling"/*.in "$T/filling"/*.out "$REC"/ # verify finds them
	umount "$T/filling"
}

test_verify_names_changed_recordings() {
	"$OTPCTL" --config "$CFG" audit verify --recordings >"$T/v.out" 2>&1
	expect_eq "verify --recordings passes untouched recordings" 0 $?
	grep otpctl: "$T/v.out" | sed 's/^/# /'
	printf x >>"$REC/$PTY_ID.out"
	"$OTPCTL" --config "$CFG" audit verify --recordings >"$T/v.out" 2>&1
	expect_eq "an edited recording fails verify --recordings" 1 $?
	expect_match "the edited session is named" "$PTY_ID.*changed" "$(cat "$T/v.out")"
	truncate -s 10 "$REC/$CMD_ID.out"
	"$OTPCTL" --config "$CFG" audit verify --recordings >"$T/v.out" 2>&1
	expect_match "a cut recording is named" "$CMD_ID.*changed" "$(cat "$T/v.out")"
	rm -f "$REC/$CMD_ID".*
	"$OTPCTL" --config "$CFG" audit verify --recordings >"$T/v.out" 2>&1
	expect_eq "a deleted recording fails verify --recordings" 1 $?
	expect_match "the deleted session is named" "$CMD_ID.*deleted" "$(cat "$T/v.out")"
}

# bg_command CMD: a command session in the background (SSH_PID), once it printed "started".
bg_command() {
	issue_code
	SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 60 ssh -F none -i "$T/id" -b 127.0.0.5 -p "$PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		"$VENDOR@127.0.0.1" "$1" </dev/null >"$T/bg.out" 2>&1 &
	SSH_PID=$!
	wait_for "$T/bg.out" started 300
}

# Sessions whose recording nothing vouches for: one whose close came without a digest (its
# recording could not be read), one whose close never came (sshd's monitor killed: its session record stays, stale).
test_verify_names_unsealed_recordings() {
	local id out pid i
	bg_command "echo started; sleep 2"
	id=$(last_recording)
	rm -f "$REC/$id.in"
	wait "$SSH_PID"
	wait_close "$id"
	out=$("$OTPCTL" --config "$CFG" audit verify --recordings 2>&1)
	expect_eq "a close without a digest fails verify --recordings" 1 $?
	expect_match "... naming the session, not sealed" "$id.*not sealed at its close" "$out"
	rm -f "$REC/$id".*
	bg_command "echo started; sleep 50"
	id=$(last_recording)
	pid=$(pgrep -n -f "sshd: $VENDOR \[priv\]")
	check "the session's sshd monitor runs" [ -n "$pid" ]
	kill -KILL "$pid"
	for ((i = 0; i < 100; i++)); do kill -0 "$SSH_PID" 2>/dev/null || break; sleep 0.1; done
	kill "$SSH_PID" 2>/dev/null
	wait "$SSH_PID" 2>/dev/null
	out=$("$OTPCTL" --config "$CFG" audit verify --recordings 2>&1)
	expect_eq "a session never closed fails verify --recordings" 1 $?
	expect_match "... naming the session, not sealed, its files there" \
		"$id.*not sealed \(no session_close.*files are there" "$out"
	rm -f "$REC/$id".*
	out=$("$OTPCTL" --config "$CFG" audit verify --recordings 2>&1)
	expect_match "... and saying when its files are not there" "$id.*not sealed.*not there" "$out"
}

test_expire_prunes_old_recordings() {
	local old=0123456789abcdef0123456789abcdef part
	for part in timing in out; do : >"$REC/$old.$part" && chmod 0600 "$REC/$old.$part"; done
	touch -d '200 days ago' "$REC/$old".*
	"$OTPCTL" --config "$CFG" expire >"$T/expire.out"
	check "expire removes a recording older than recording_keep" not [ -e "$REC/$old.out" ]
	expect_match "expire says so" "Removed 1 session recording" "$(cat "$T/expire.out")"
	check "expire keeps a recent one" [ -s "$REC/$PTY_ID.in" ]
}

test_report_lists_recordings() {
	local out
	out=$("$OTPCTL" --config "$CFG" report --vendor "$VENDOR")
	expect_match "report has a RECORDING column" "HOST +RECORDING" "$out"
	expect_match "report names the session's recording" "$PTY_ID" "$out"
	out=$("$OTPCTL" --config "$CFG" --json report --vendor "$VENDOR")
	expect_eq "report --json: the recording of each recorded session" "true" \
		"$(jget "$out" 'any(r.get("recording")=="'"$PTY_ID"'" and r.get("recording_bytes",0)>0 for r in d["sessions"])')"
}

test_doctor_finds_an_unrecorded_vendor() {
	local out
	usermod -s /bin/bash "$VENDOR"
	out=$("$OTPCTL" --config "$CFG" --json doctor --sshd-config "$T/sshd_config" 2>/dev/null)
	expect_eq "doctor: a vendor whose shell is not the recorder could log in unrecorded" "true" \
		"$(jget "$out" 'any(f["id"]=="recording.'"$VENDOR"'.shell" for f in d["findings"])')"
	usermod -s "$RB/pv-record" "$VENDOR"
	chmod 0750 "$REC"
	out=$("$OTPCTL" --config "$CFG" --json doctor --sshd-config "$T/sshd_config" 2>/dev/null)
	expect_eq "doctor: a recording directory with the wrong mode" "true" \
		"$(jget "$out" 'any(f["id"]=="recording.dir" for f in d["findings"])')"
	chmod 0700 "$REC"
	{ echo "Subsystem sftp internal-sftp" && cat "$T/sshd_config"; } >"$T/sshd_config_sftp"
	out=$("$OTPCTL" --config "$CFG" --json doctor --sshd-config "$T/sshd_config_sftp" 2>/dev/null)
	expect_eq "doctor: internal-sftp lets a vendor around the recorder" "true" \
		"$(jget "$out" 'any(f["id"]=="recording.'"$VENDOR"'.sftp" for f in d["findings"])')"
	out=$("$OTPCTL" --config "$CFG" --json doctor --sshd-config "$T/sshd_config" 2>/dev/null)
	expect_eq "doctor: no internal-sftp finding without it" "false" \
		"$(jget "$out" 'any(f["id"]=="recording.'"$VENDOR"'.sftp" for f in d["findings"])')"
	expect_eq "doctor: the recording checks pass on a good set-up" "true" \
		"$(jget "$out" 'all(c in d["passed"] for c in ["recording.recorder","recording.shells","recording.dir"])')"
}

# Anyone may run the set-uid recorder: a caller who is not a vendor with a session learns
# nothing of the root-only configuration from its refusal.
test_recorder_tells_a_stranger_nothing() {
	local out
	echo "bogus_key_$$ = secret-value" >>"$CFG"
	out=$(as_user "$OTHER" "$RB/pv-record" -c true 2>&1)
	expect_eq "a stranger running the recorder is refused" 1 $?
	expect_match "... with a generic message" "cannot run" "$out"
	expect_no_match "... which says nothing of the configuration" "bogus_key|secret-value" "$out"
	sed -i "/^bogus_key_$$ = /d" "$CFG"
}

test_bad_input() {
	local out rc
	out=$("$OTPCTL" --config "$CFG" sessions play 0123456789abcdef0123456789abcdef 2>&1)
	rc=$?
	expect_eq "play of an unknown ID: exit 1" 1 "$rc"
	expect_match "play of an unknown ID: says so" "no recording of session 0123456789abcdef0123456789abcdef" "$out"
	out=$("$OTPCTL" --config "$CFG" sessions follow nothex 2>&1)
	expect_eq "follow of a bad ID: exit 1" 1 $?
	expect_match "follow of a bad ID: says so" "not a session id" "$out"
	printf 'O 0.1 9999999\n' >>"$REC/$PTY_ID.timing"
	out=$("$OTPCTL" --config "$CFG" sessions play "$PTY_ID" 2>&1)
	expect_eq "play of a garbled recording: exit 1" 1 $?
	expect_match "play of a garbled recording: says so" "garbled" "$out"
	echo "not a timing line" >>"$REC/$PTY_ID.timing"
	out=$("$OTPCTL" --config "$CFG" sessions follow "$PTY_ID" 2>&1)
	expect_eq "follow of a garbled recording: exit 1" 1 $?
	expect_match "follow of a garbled recording: names the line" "garbled.*line" "$out"
	expect_eq "one sentence" 1 "$(printf '%s\n' "$out" | wc -l)"
}

test_pty_session_recorded_and_played
test_window_size_recorded
test_forged_term_does_not_reach_the_timing_log
test_command_session_recorded
test_follow_shows_a_live_session
test_out_of_the_vendors_reach
test_sshds_terminal_out_of_the_vendors_reach
test_terminal_injection_refused
test_refused_when_the_filter_cannot_be_loaded
test_nothing_outlives_a_command_session
test_nothing_outlives_a_pty_session
test_stuck_process_does_not_hold_the_session
test_nothing_outlives_a_zombie_leader
test_nothing_outlives_a_deep_chain
test_another_session_of_the_vendor_goes_on
test_recorder_killed_ends_the_session
test_session_ended_by_the_admin_keeps_a_sound_recording
test_disable_kill_ends_a_recorded_session
test_refused_when_the_directory_is_not_writable
test_refused_when_the_recorder_is_missing
test_refused_when_the_disk_is_full
test_disk_filling_during_a_session_ends_it
test_verify_names_changed_recordings
test_verify_names_unsealed_recordings
test_expire_prunes_old_recordings
test_report_lists_recordings
test_doctor_finds_an_unrecorded_vendor
test_recorder_tells_a_stranger_nothing
test_bad_input
expect_eq "no sanitizer report from sshd's processes" "" "$(sshd_sanitizer_reports)"
finish

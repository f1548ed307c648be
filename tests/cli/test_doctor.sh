#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_doctor.sh — otpctl doctor against good and broken deployments built in a temp dir:
# sshd settings (a real `sshd -T -f FILE` on configurations written here), PAM stacks (a
# private PAM directory: the stack of examples/pam.d/sshd and common-* files written here,
# then broken one way at a time), file modes, a tampered audit line, vendor accounts (real
# users and a group created here and removed on exit), time (compared with the kernel's state
# read independently) and syslog (a private socket, with and without a listener; rsyslog
# configurations written here). Each finding is asserted by id in --json output, with the
# exit status, and the fixes of every run are collected: none may hold a placeholder or a
# source-tree path (test_fixes_are_real). Accounts are unique to this suite (pvdoc*), with
# homes under the test's temp dir. Needs root (useradd, root-owned key and store, sshd -T).
# Every run but one skips the pending-updates check (--skip system.security_updates): apt's
# simulation takes seconds; test_vendor_security runs it for real.
set -u
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/doctor_lib.sh"
source "$(dirname "$0")/../pg/pg_lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - test_doctor.sh needs root (key, store, useradd, sshd -T)"
	echo "0 passed, 1 failed"
	exit 1
fi
unset SUDO_USER PAM_VENDOR_CONFIG

GROUP=pvdocgrp$PV_RUN
U1=pvdoca$PV_RUN     # a vendor with a local account in GROUP
U2=pvdocb$PV_RUN     # a vendor with a local account outside GROUP
GHOST=pvdocgh$PV_RUN # a vendor without any account
UZ=pvdocz$PV_RUN     # a vendor whose account is made uid 0 (test_root_vendor)
LISTENER_PID=

on_exit() {
	[ -n "$LISTENER_PID" ] && kill "$LISTENER_PID" 2>/dev/null
	[ -n "${PGD:-}" ] && pg_teardown
	remove_accounts
	cleanup_dirs
}
trap on_exit EXIT

# --- set-up ----------------------------------------------------------------------------------

add_group "$GROUP" || { echo "Bail out! groupadd failed"; exit 1; }
new_env "vendor_group = $GROUP"
# U1: a well set-up vendor: a home of its own (under $T) with the key in
# .ssh/authorized_keys (0600), a locked password (useradd's default '!').
mkdir -p "$T/home"
add_user "$U1" -m -d "$T/home/$U1" -N -s /usr/sbin/nologin -G "$GROUP" || { echo "Bail out! useradd failed"; exit 1; }
U1_HOME=$T/home/$U1
U1_GROUP=$(id -gn "$U1")
install -d -o "$U1" -m 0700 "$U1_HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$T/vendorkey" && install -o "$U1" -m 0600 "$T/vendorkey.pub" "$U1_HOME/.ssh/authorized_keys"
add_user "$U2" -M -N -s /usr/sbin/nologin || { echo "Bail out! useradd failed"; exit 1; }

"$OTPCTL" --config "$CFG" vendor add "$U1" --ip 192.0.2.10 >/dev/null 2>&1 ||
	{ echo "Bail out! vendor add failed"; exit 1; }

# sshd: a host key of our own so that `sshd -T -f FILE` works, and the privilege separation
# directory sshd insists on (systemd's tmpfiles makes it at boot; a machine without systemd
# running, like a CI container, has none until sshd's own start script runs).
install -d -m 0755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/host_key" || { echo "Bail out! ssh-keygen failed"; exit 1; }
# write_sshd_config [EXTRA LINES...]: the good configuration; extra lines replace its body.
write_sshd_config() {
	{
		echo "HostKey $T/host_key"
		if [ $# -gt 0 ]; then
			printf '%s\n' "$@"
		else
			echo "UsePAM yes"
			echo "KbdInteractiveAuthentication yes"
			echo "UseDNS no"
			echo "Match User $U1,$U2,$GHOST"
			printf '\tAuthenticationMethods publickey,keyboard-interactive:pam\n'
		fi
	} >"$T/sshd_config"
}

# PAM: the example's stack with our module path, and Debian-like common-* files.
PAMD=$T/pam.d
write_pam_dir() {
	rm -rf "$PAMD"
	mkdir -p "$PAMD"
	sed -e "s#pam_vendor\.so#$PV_MODULE#" -e "s#vendor_group=vendors#vendor_group=$GROUP#" \
		"$PV_ROOT/examples/pam.d/sshd" >"$PAMD/sshd"
	cat >"$PAMD/common-auth" <<-'EOF'
		auth	[success=1 default=ignore]	pam_unix.so nullok
		auth	requisite			pam_deny.so
		auth	required			pam_permit.so
	EOF
	printf 'account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so\naccount\trequisite\tpam_deny.so\naccount\trequired\tpam_permit.so\n' >"$PAMD/common-account"
	printf 'session\t[default=1]\tpam_permit.so\nsession\trequisite\tpam_deny.so\nsession\trequired\tpam_permit.so\nsession\trequired\tpam_unix.so\n' >"$PAMD/common-session"
	printf 'password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt\npassword\trequisite\tpam_deny.so\npassword\trequired\tpam_permit.so\n' >"$PAMD/common-password"
}
# lineno PATTERN FILE: number of the first line matching PATTERN.
lineno() { grep -n -m1 -- "$1" "$2" | cut -d: -f1; }
# insert_before PATTERN FILE LINE: put LINE before the first line matching PATTERN.
insert_before() {
	local n
	n=$(lineno "$1" "$2")
	sed -i "${n}i\\$3" "$2"
}

# syslog: a datagram socket with a listener, and an rsyslog configuration that takes authpriv.
# The listener lives until the suite's cleanup kills it (the suite takes over 5 minutes under
# the sanitizer build).
SOCK=$T/log.sock
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])
time.sleep(7200)' "$SOCK" &
LISTENER_PID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
RSYS=$T/rsyslog
mkdir -p "$RSYS/rsyslog.d"
write_rsyslog() { printf '%s\n' "$@" >"$RSYS/rsyslog.conf"; }
GOOD_RSYSLOG='auth,authpriv.*			/var/log/auth.log'

write_sshd_config
write_pam_dir
write_rsyslog '*.*;auth,authpriv.none		-/var/log/syslog' "$GOOD_RSYSLOG"

# A logrotate directory of our own with the example's rule for this audit log.
LROT=$T/logrotate.d
mkdir -p "$LROT"
sed "s|/var/log/pam_vendor/audit.log|$AUDIT|" "$PV_ROOT/examples/logrotate/pam_vendor" >"$LROT/pam_vendor"

# Deferred execution (tests/cli/test_schedule.sh tests these checks): empty cron.allow and
# at.allow let no vendor schedule work, and the same directory has no spool and no linger file.
SCHED=$T/sched
mkdir -p "$SCHED"
install -m 0644 /dev/null "$SCHED/cron.allow"
install -m 0644 /dev/null "$SCHED/at.allow"

D_BASE=(--pam-dir "$PAMD" --sshd-config "$T/sshd_config" --dev-log "$SOCK"
	--rsyslog-conf "$RSYS/rsyslog.conf" --logrotate-dir "$LROT"
	--etc-dir "$SCHED" --spool-dir "$SCHED" --linger-dir "$SCHED")
D_ARGS=("${D_BASE[@]}" --skip system.security_updates)

# collect_fixes: keep the fixes of OUT (one a line) for test_fixes_are_real.
FIXES=$T/fixes
: >"$FIXES"
collect_fixes() {
	python3 -c 'import json,sys
try:
    d=json.loads(sys.argv[1])
except Exception:
    sys.exit(0)
for f in d["findings"]:
    print(f["id"] + "\t" + f["fix"])' "$OUT" >>"$FIXES"
}
# doctor_run ARGS...: otpctl --json ARGS (a doctor run); sets OUT, ERR, RC.
doctor_run() { run_ctl --json "$@"; collect_fixes; }
# doctor [ARGS...]: otpctl --json doctor on this set-up; sets OUT, ERR, RC.
doctor() { doctor_run doctor "${D_ARGS[@]}" "$@"; }

# ids_with PREFIX...: finding ids starting with one of the prefixes, space separated.
ids_with() {
	local re
	re="^($(printf '%s|' "$@" | sed 's/|$//; s/\./\\./g'))"
	ids | grep -E -- "$re" | tr '\n' ' ' | sed 's/ $//'
}

# Issue 10: privileges, key-based login, TTY auditing, retention, security updates.
test_vendor_security() {
	local n saved
	need_group_adm() { getent group adm >/dev/null || { groupadd adm && ADM_MADE=1; }; }
	need_group_adm
	usermod -aG adm "$U1"
	doctor
	expect_finding "vendor in group adm -> vendor.$U1.privileged" "vendor.$U1.privileged"
	expect_match "the fix removes it from the group" "gpasswd -d $U1 adm" "$(field "vendor.$U1.privileged" fix)"
	gpasswd -d "$U1" adm >/dev/null
	[ "${ADM_MADE:-}" = 1 ] && groupdel adm
	doctor
	expect_no_finding "out of the group: no privilege finding" "vendor.$U1.privileged"

	saved=$(getent shadow "$U1" | cut -d: -f2)
	usermod -p 'NotAHashButUsable' "$U1"
	doctor
	expect_finding "usable password -> vendor.$U1.password" "vendor.$U1.password"
	usermod -p "$saved" "$U1"
	doctor
	expect_no_finding "locked password again: no finding" "vendor.$U1.password"

	chmod 0666 "$U1_HOME/.ssh/authorized_keys"
	doctor
	expect_finding "authorized_keys writable by others -> vendor.$U1.authorized_keys" "vendor.$U1.authorized_keys"
	chmod 0600 "$U1_HOME/.ssh/authorized_keys"
	mv "$U1_HOME/.ssh/authorized_keys" "$T/ak.saved"
	doctor
	expect_finding "no authorized_keys -> vendor.$U1.authorized_keys" "vendor.$U1.authorized_keys"
	mv "$T/ak.saved" "$U1_HOME/.ssh/authorized_keys"
	doctor
	expect_no_finding "authorized_keys back: no finding" "vendor.$U1.authorized_keys"

	cp -a "$PAMD" "$T/pam_notty"
	sed -i '/pam_tty_audit\|pam_succeed_if/d' "$T/pam_notty/sshd"
	doctor --pam-dir "$T/pam_notty"
	expect_finding "session stack without pam_tty_audit -> pam.session.tty_audit" pam.session.tty_audit
	expect_eq "... a warning" warning "$(field pam.session.tty_audit severity)"
	doctor
	expect_no_finding "the example's stack audits vendors' TTYs" pam.session.tty_audit

	expect_no_finding "the example's logrotate rule keeps six months" logrotate.retention
	sed -i 's/rotate 7/rotate 2/' "$LROT/pam_vendor"
	doctor
	expect_finding "rotate 2 monthly -> logrotate.retention" logrotate.retention
	sed -i 's/rotate 2/rotate 7/; s/create/copytruncate/' "$LROT/pam_vendor"
	doctor
	expect_finding "copytruncate -> logrotate.copytruncate" logrotate.copytruncate
	rm "$LROT/pam_vendor"
	doctor
	expect_finding "no rule for the audit log -> logrotate.audit_log" logrotate.audit_log
	sed "s|/var/log/pam_vendor/audit.log|$AUDIT|" "$PV_ROOT/examples/logrotate/pam_vendor" >"$LROT/pam_vendor"

	# Pending security updates: as apt itself sees them, without changing anything. The one
	# run of the suite without --skip system.security_updates.
	n=$(apt-get -s -o Debug::NoLocking=1 upgrade 2>/dev/null | grep -c '^Inst .*-security')
	doctor_run doctor "${D_BASE[@]}"
	expect_eq "without --skip the updates check runs (passed, or a finding)" "true" \
		"$(jget "$OUT" '"system.security_updates" in d["passed"] or any(f["id"]=="system.security_updates" for f in d["findings"])')"
	if [ "$n" -gt 0 ]; then
		expect_finding "apt lists $n pending security update(s) -> system.security_updates" system.security_updates
	else
		expect_no_finding "apt lists no pending security update -> no finding" system.security_updates
	fi
}

# The machine's real state, computed without otpctl.
clock_unsynchronised() {
	python3 -c 'import ctypes,struct
buf=ctypes.create_string_buffer(256)
r=ctypes.CDLL(None, use_errno=True).adjtimex(buf)
status=struct.unpack_from("i", buf, 40)[0]
print("yes" if r == 5 or status & 0x40 else "no")'
}
dev_log_listening() {
	python3 -c 'import socket,sys
for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s=socket.socket(socket.AF_UNIX, kind)
    try:
        s.connect(sys.argv[1]); print("yes"); sys.exit(0)
    except OSError:
        pass
    finally:
        s.close()
print("no")' "$1"
}

# --- tests -----------------------------------------------------------------------------------

test_good_deployment() {
	local unsync
	doctor
	expect_eq "good set-up: output is one JSON object" "no" "$(has_id unparsable && echo yes || echo no)"
	expect_eq "good set-up: nothing on stderr" "" "$ERR"
	expect_eq "good set-up: no finding about files, sshd, PAM, audit, vendors or syslog" "" \
		"$(ids_with files. sshd. pam. audit. vendor. syslog.)"
	expect_eq "good set-up: every check of those areas passed" "true" \
		"$(jget "$OUT" 'all(c in d["passed"] for c in ["files.config","files.key","files.store","files.audit_log","sshd.run","sshd.usepam","sshd.kbdinteractive","sshd.usedns","sshd.authenticationmethods","pam.service","pam.auth","pam.account","pam.session","pam.vendor_group","audit.chain","audit.writable","vendor.accounts","vendor_group","syslog.socket","syslog.authpriv"])')"
	unsync=$(clock_unsynchronised)
	if [ "$unsync" = yes ]; then
		expect_finding "clock unsynchronised (adjtimex) -> time.unsynchronised" time.unsynchronised
		expect_eq "time.unsynchronised is a warning" warning "$(field time.unsynchronised severity)"
		expect_eq "findings -> exit 1" 1 "$RC"
		expect_eq "findings -> clean false" false "$(jget "$OUT" 'd["clean"]')"
	else
		expect_no_finding "clock synchronised (adjtimex) -> no time finding" time.unsynchronised
		expect_eq "clean set-up -> exit 0" 0 "$RC"
		expect_eq "clean set-up -> clean true" true "$(jget "$OUT" 'd["clean"]')"
	fi
}

test_human_output() {
	local out rc
	out=$("$OTPCTL" --config "$CFG" doctor "${D_ARGS[@]}" --sshd-config "$T/none.conf" 2>&1)
	rc=$?
	expect_eq "human output: findings -> exit 1" 1 "$rc"
	expect_match "human output names the finding, what and fix" \
		"ERROR +sshd\.run.*$T/none\.conf.*fix: " "$(printf '%s' "$out" | tr '\n' ' ')"
	expect_match "human output lists passed checks" "ok +files\.key" "$out"
	expect_no_match "no key material in the output" "$(cat "$T/etc/master.key")" "$out"
}

test_sshd_settings() {
	doctor --sshd-config "$T/missing.conf"
	expect_finding "sshd -T fails (no such file) -> sshd.run" sshd.run
	expect_match "sshd.run carries sshd's own message" "missing\.conf: No such file" "$(field sshd.run what)"
	expect_eq "sshd.run: the dependent checks are skipped" "true" \
		"$(jget "$OUT" '"sshd.usepam" in [s["id"] for s in d["skipped"]]')"

	doctor --sshd /nonexistent/sshd
	expect_finding "sshd not installed -> sshd.run" sshd.run

	write_sshd_config "UsePAM no" "KbdInteractiveAuthentication yes" "UseDNS no"
	doctor
	expect_finding "UsePAM no -> sshd.usepam" sshd.usepam
	expect_match "sshd.usepam's fix is the line to write" "UsePAM yes" "$(field sshd.usepam fix)"
	expect_no_finding "UsePAM no: UseDNS still fine" sshd.usedns

	write_sshd_config "UsePAM yes" "KbdInteractiveAuthentication no" "UseDNS yes"
	doctor
	expect_finding "UseDNS yes -> sshd.usedns" sshd.usedns
	expect_finding "KbdInteractiveAuthentication no -> sshd.kbdinteractive" sshd.kbdinteractive
	expect_no_finding "UsePAM yes -> no sshd.usepam" sshd.usepam
	write_sshd_config
}

test_sshd_vendor_methods() {
	# No Match block: "any" for the vendor.
	write_sshd_config "UsePAM yes" "KbdInteractiveAuthentication yes" "UseDNS no"
	doctor
	expect_finding "vendor without AuthenticationMethods (any) -> sshd.authenticationmethods.$U1" \
		"sshd.authenticationmethods.$U1"
	expect_match "the finding names the value and the -C spec" "\"any\".*|user=$U1,host=localhost,addr=192\.0\.2\.10" \
		"$(field "sshd.authenticationmethods.$U1" what)"

	write_sshd_config "UsePAM yes" "KbdInteractiveAuthentication yes" "UseDNS no" \
		"Match User $U1" "	AuthenticationMethods publickey"
	doctor
	expect_finding "vendor with publickey only -> sshd.authenticationmethods.$U1" \
		"sshd.authenticationmethods.$U1"

	write_sshd_config "UsePAM yes" "KbdInteractiveAuthentication yes" "UseDNS no" \
		"Match User $U1" "	AuthenticationMethods publickey,keyboard-interactive publickey"
	doctor
	expect_finding "one method list without keyboard-interactive -> finding" \
		"sshd.authenticationmethods.$U1"

	# sshd is asked about the vendor's first allowed address: a Match Address block for it.
	write_sshd_config "UsePAM yes" "KbdInteractiveAuthentication yes" "UseDNS no" \
		"Match Address 192.0.2.10" "	AuthenticationMethods publickey,keyboard-interactive:pam"
	doctor
	expect_no_finding "Match Address of the vendor's address -> methods enforced" \
		"sshd.authenticationmethods.$U1"
	write_sshd_config "UsePAM yes" "KbdInteractiveAuthentication yes" "UseDNS no" \
		"Match Address 192.0.2.99" "	AuthenticationMethods publickey,keyboard-interactive:pam"
	doctor
	expect_finding "Match Address of another address -> finding" "sshd.authenticationmethods.$U1"
	write_sshd_config
}

test_pam_session_missing() {
	write_pam_dir
	sed -i "/^session.*pam_vendor/d" "$PAMD/sshd"
	doctor
	expect_finding "pam_vendor missing from session -> pam.session.missing" pam.session.missing
	expect_no_finding "auth still fine" pam.auth.missing
	expect_no_finding "account still fine" pam.account.missing
	write_pam_dir
}

# Each pam_vendor line names the configuration's group (what tells vendors from admins when
# pam_vendor.conf cannot be trusted): missing is a warning naming the line, another group an error.
test_pam_vendor_group_arg() {
	local n
	write_pam_dir
	n=$(lineno "^account.*pam_vendor" "$PAMD/sshd")
	sed -i "${n}s# vendor_group=$GROUP##" "$PAMD/sshd"
	doctor
	expect_finding "account line without vendor_group= -> pam.vendor_group.missing" pam.vendor_group.missing
	expect_eq "... a warning" warning "$(field pam.vendor_group.missing severity)"
	expect_eq "... whose fix names the line and the group" \
		"add vendor_group=$GROUP to $PAMD/sshd line $n, as in /usr/share/doc/libpam-vendor/examples/pam.d/sshd" \
		"$(field pam.vendor_group.missing fix)"
	sed -i "${n}s#\$# vendor_group=pvdocother#" "$PAMD/sshd"
	doctor
	expect_finding "another group on the line -> pam.vendor_group.differs" pam.vendor_group.differs
	expect_eq "... an error" error "$(field pam.vendor_group.differs severity)"
	expect_no_finding "... and not reported as missing" pam.vendor_group.missing
	write_pam_dir
	doctor
	expect_no_finding "the example's lines: nothing to say" pam.vendor_group.missing
}

test_pam_sufficient_before() {
	local n
	write_pam_dir
	insert_before "^auth.*pam_vendor" "$PAMD/sshd" "auth sufficient pam_permit.so"
	n=$(lineno "^auth sufficient" "$PAMD/sshd")
	doctor
	expect_finding "sufficient before pam_vendor -> pam.auth.skipped" pam.auth.skipped
	expect_match "pam.auth.skipped names the file and line" \
		"$PAMD/sshd line $n \(auth sufficient pam_permit\.so\)" "$(field pam.auth.skipped what)"
	expect_match "pam.auth.skipped's fix: move pam_vendor above that line" \
		"above line $n of $PAMD/sshd" "$(field pam.auth.skipped fix)"
	expect_eq "pam.auth.skipped -> exit 1" 1 "$RC"

	# The same line commented out, and a sufficient line after pam_vendor: nothing to say.
	write_pam_dir
	insert_before "^auth.*pam_vendor" "$PAMD/sshd" "# auth sufficient pam_permit.so"
	insert_before "^@include common-auth" "$PAMD/sshd" "auth sufficient pam_permit.so"
	doctor
	expect_no_finding "commented line, and sufficient after pam_vendor -> no finding" pam.auth.skipped

	# Continued over two lines, or with the leading dash: still a line that skips.
	write_pam_dir
	insert_before "^auth.*pam_vendor" "$PAMD/sshd" 'auth sufficient \\'
	insert_before "^auth.*pam_vendor" "$PAMD/sshd" "    pam_permit.so"
	doctor
	expect_finding "a line continued with a backslash is read as one -> skipped" pam.auth.skipped
	write_pam_dir
	insert_before "^auth.*pam_vendor" "$PAMD/sshd" "-auth sufficient pam_permit.so"
	doctor
	expect_finding "-auth (leading dash) line -> skipped" pam.auth.skipped
	write_pam_dir
}

test_pam_jump_in_include() {
	write_pam_dir
	printf 'auth\t[success=2 default=ignore]\tpam_unix.so nullok\nauth\trequisite\tpam_deny.so\n' >"$PAMD/common-pre"
	insert_before "^auth.*pam_vendor" "$PAMD/sshd" "@include common-pre"
	doctor
	expect_finding "[success=2] in an @include'd file jumps over pam_vendor -> pam.auth.skipped" pam.auth.skipped
	expect_match "the finding names the included file's line and the jump" \
		"$PAMD/common-pre line 1 .*success=2 jumps over it" "$(field pam.auth.skipped what)"
	expect_match "the fix points at the @include line of the service file" \
		"above line $(lineno "^@include common-pre" "$PAMD/sshd") of $PAMD/sshd" "$(field pam.auth.skipped fix)"

	# success=1 lands on pam_vendor (it skips pam_deny only): not a skip.
	sed -i 's/success=2/success=1/' "$PAMD/common-pre"
	doctor
	expect_no_finding "[success=1] landing on pam_vendor -> no finding" pam.auth.skipped

	# In a substack, done and jumps stay inside it.
	write_pam_dir
	printf 'auth\tsufficient\tpam_permit.so\nauth\t[default=1]\tpam_permit.so\nauth\trequired\tpam_permit.so\n' >"$PAMD/common-sub"
	insert_before "^auth.*pam_vendor" "$PAMD/sshd" "auth substack common-sub"
	doctor
	expect_no_finding "sufficient and jumps inside a substack do not skip what follows it" pam.auth.skipped
	# ... but a jump in the parent counts the whole substack as one module.
	insert_before "^auth substack" "$PAMD/sshd" "auth [success=2 default=2] pam_permit.so"
	doctor
	expect_finding "a jump over a substack and pam_vendor -> skipped" pam.auth.skipped
	write_pam_dir
}

test_pam_done_before() {
	write_pam_dir
	insert_before "^account.*pam_vendor" "$PAMD/sshd" "account [success=done default=ignore] pam_permit.so"
	doctor
	expect_finding "[success=done] before pam_vendor in account -> pam.account.skipped" pam.account.skipped
	expect_no_finding "auth untouched" pam.auth.skipped

	# done for a failure value does not make the stack succeed.
	write_pam_dir
	insert_before "^account.*pam_vendor" "$PAMD/sshd" "account [success=ok auth_err=done default=ignore] pam_permit.so"
	doctor
	expect_no_finding "[auth_err=done] is not a skip" pam.account.skipped
	write_pam_dir
}

test_pam_control_and_files() {
	write_pam_dir
	sed -i "s#^session.*pam_vendor.*#session optional $PV_MODULE#" "$PAMD/sshd"
	doctor
	expect_finding "session optional pam_vendor.so -> pam.session.control" pam.session.control
	expect_no_finding "it is present: not missing" pam.session.missing

	write_pam_dir
	sed -i "s#^auth.*pam_vendor.*#auth [success=done ignore=ignore default=1] $PV_MODULE#" "$PAMD/sshd"
	doctor
	expect_finding "pam_vendor's failure jumping on -> pam.auth.control" pam.auth.control

	write_pam_dir
	sed -i 's/^@include common-session$/@include common-nothere/' "$PAMD/sshd"
	doctor
	expect_finding "@include of a missing file -> pam.include.missing" pam.include.missing

	write_pam_dir
	doctor --service nothere
	expect_finding "no such PAM service file -> pam.service.missing" pam.service.missing
	expect_eq "pam.service.missing: the type checks are skipped" "true" \
		"$(jget "$OUT" '"pam.auth" in [s["id"] for s in d["skipped"]]')"
	write_pam_dir
}

test_file_modes() {
	chmod 0644 "$T/etc/master.key"
	doctor
	expect_finding "key mode 0644 -> files.key.mode" files.key.mode
	expect_match "files.key.mode's fix comes from the core" "chmod 600 $T/etc/master.key" "$(field files.key.mode fix)"
	expect_eq "no key: the audit chain is skipped, not reported" "true" \
		"$(jget "$OUT" '"audit.chain" in [s["id"] for s in d["skipped"]]')"
	chmod 0600 "$T/etc/master.key"

	chown nobody "$T/etc/master.key"
	doctor
	expect_finding "key owned by nobody -> files.key.owner" files.key.owner
	chown root "$T/etc/master.key"

	chmod 0755 "$STORE"
	doctor
	expect_finding "store dir 0755 -> files.store.mode" files.store.mode
	chmod 0700 "$STORE"

	chmod g+w "$CFG"
	doctor
	expect_finding "config group-writable -> files.config.mode" files.config.mode
	chmod g-w "$CFG"

	mv "$T/etc/master.key" "$T/etc/master.key.real"
	ln -s "$T/etc/master.key.real" "$T/etc/master.key"
	doctor
	expect_finding "key replaced by a symbolic link -> files.key.symlink" files.key.symlink
	rm "$T/etc/master.key"
	doctor
	expect_finding "no key file -> files.key.missing" files.key.missing
	mv "$T/etc/master.key.real" "$T/etc/master.key"

	doctor_run --config "$T/nothere.conf" doctor "${D_ARGS[@]}"
	expect_finding "no configuration file -> files.config.missing" files.config.missing
	expect_match "files.config.missing's fix installs the shipped example" \
		"install -D -m 0644 /usr/share/doc/libpam-vendor/examples/pam_vendor.conf $T/nothere.conf" \
		"$(field files.config.missing fix)"

	doctor
	expect_eq "modes restored -> no files finding" "" "$(ids_with files.)"
}

test_audit_chain() {
	cp -p "$AUDIT" "$T/audit.bak"
	python3 -c 'import sys
p=sys.argv[1]; b=bytearray(open(p,"rb").read())
i=b.index(b"\"event\":\"")+9
b[i]=ord("X") if b[i]!=ord("X") else ord("Y")
open(p,"wb").write(bytes(b))' "$AUDIT"
	doctor
	expect_finding "a byte edited in the audit log -> audit.chain" audit.chain
	expect_match "audit.chain names the line" "line 1|seq 1" "$(field audit.chain what)"
	expect_eq "audit.chain -> exit 1" 1 "$RC"
	cp -p "$T/audit.bak" "$AUDIT"
	local before
	before=$(sha256sum "$AUDIT" "$AUDIT.head")
	doctor
	expect_no_finding "restored log -> no audit.chain" audit.chain
	mv "$AUDIT" "$T/audit.moved"
	doctor
	expect_finding "audit log removed -> files.audit_log.missing" files.audit_log.missing
	expect_finding "audit log removed while its head records lines -> audit.chain" audit.chain
	mv "$T/audit.moved" "$AUDIT"
	expect_eq "the doctor writes nothing to the audit log" "$before" "$(sha256sum "$AUDIT" "$AUDIT.head")"
}

test_vendor_accounts() {
	"$OTPCTL" --config "$CFG" vendor add "$GHOST" --ip 192.0.2.30 >/dev/null 2>&1
	"$OTPCTL" --config "$CFG" vendor add "$U2" --ip 192.0.2.20 >/dev/null 2>&1
	doctor
	expect_finding "vendor without a system account -> vendor.$GHOST.absent" "vendor.$GHOST.absent"
	expect_finding "vendor outside vendor_group -> vendor.$U2.not_in_group" "vendor.$U2.not_in_group"
	expect_match "not_in_group's fix is usermod" "usermod -aG $GROUP $U2" "$(field "vendor.$U2.not_in_group" fix)"
	expect_eq "not_in_group is an error (the root cause)" error "$(field "vendor.$U2.not_in_group" severity)"
	expect_no_finding "local vendor in the group -> nothing about $U1" "vendor.$U1.not_local"
	expect_no_finding "nor vendor.$U1.not_in_group" "vendor.$U1.not_in_group"

	# An account the system knows but the passwd file does not hold (NSS: AD/LDAP/SSSD).
	grep -v "^$U1:" /etc/passwd >"$T/passwd"
	doctor --passwd "$T/passwd"
	expect_finding "account not in the passwd file -> vendor.$U1.not_local" "vendor.$U1.not_local"
	expect_no_finding "$U2 is in it -> local" "vendor.$U2.not_local"

	sed "s/^vendor_group = .*/vendor_group = pvdocnogroup/" "$CFG" >"$T/nogroup.conf"
	doctor_run --config "$T/nogroup.conf" doctor "${D_ARGS[@]}"
	expect_finding "vendor_group that does not exist -> vendor_group.missing" vendor_group.missing

	"$OTPCTL" --config "$CFG" vendor remove "$GHOST" >/dev/null 2>&1
	"$OTPCTL" --config "$CFG" vendor remove "$U2" >/dev/null 2>&1
	doctor
	expect_eq "vendors removed -> no vendor finding" "" "$(ids_with vendor.)"
}

test_syslog() {
	doctor --dev-log "$T/nothere"
	expect_finding "no socket -> syslog.dev_log.missing" syslog.dev_log.missing
	: >"$T/plainfile"
	doctor --dev-log "$T/plainfile"
	expect_finding "a plain file -> syslog.dev_log.not_socket" syslog.dev_log.not_socket
	python3 -c 'import socket,sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).bind(sys.argv[1])' "$T/stale.sock"
	doctor --dev-log "$T/stale.sock"
	expect_finding "a socket nobody listens on -> syslog.dev_log.no_listener" syslog.dev_log.no_listener
	doctor
	expect_no_finding "a listening socket -> no finding" syslog.dev_log.no_listener

	# The real /dev/log, as python sees it.
	doctor_run doctor --pam-dir "$PAMD" --sshd-config "$T/sshd_config" --rsyslog-conf "$RSYS/rsyslog.conf" \
		--skip system
	if [ "$(dev_log_listening /dev/log)" = yes ]; then
		expect_eq "real /dev/log listening -> no syslog.dev_log finding" "" "$(ids_with syslog.dev_log)"
	else
		check "real /dev/log not listening -> a syslog.dev_log finding" [ -n "$(ids_with syslog.dev_log)" ]
	fi

	write_rsyslog '*.*;auth,authpriv.none		-/var/log/syslog' 'mail.*		-/var/log/mail.log'
	doctor
	expect_finding "no rule takes authpriv -> syslog.authpriv" syslog.authpriv
	expect_match "syslog.authpriv's fix installs the shipped example in rsyslog.d" \
		"install -m 0644 /usr/share/doc/libpam-vendor/examples/rsyslog/60-pam_vendor.conf $RSYS/rsyslog.d/" \
		"$(field syslog.authpriv fix)"
	cp "$PV_ROOT/examples/rsyslog/60-pam_vendor.conf" "$RSYS/rsyslog.d/"
	doctor
	expect_no_finding "examples/rsyslog/60-pam_vendor.conf in rsyslog.d -> no finding" syslog.authpriv
	rm -f "$RSYS/rsyslog.d/60-pam_vendor.conf"
	write_rsyslog 'authpriv.*		stop'
	doctor
	expect_finding "authpriv.* stop (thrown away) -> syslog.authpriv" syslog.authpriv
	write_rsyslog 'if $syslogfacility-text == "authpriv" then /var/log/secure'
	doctor
	expect_no_finding "RainerScript if on authpriv -> no finding" syslog.authpriv
	write_rsyslog "$GOOD_RSYSLOG"

	doctor --rsyslog-conf "$T/no-rsyslog.conf"
	if pgrep -x rsyslogd >/dev/null; then
		expect_finding "rsyslogd runs without its configuration -> syslog.authpriv" syslog.authpriv
	else
		expect_eq "rsyslog not installed -> syslog.authpriv skipped" "true" \
			"$(jget "$OUT" '"syslog.authpriv" in [s["id"] for s in d["skipped"]]')"
	fi
}

# --- issue 16: per-service knowledge, root cause first, the file that overrides, real fixes --

# expect_contains NAME SUBSTRING TEXT
expect_contains() {
	if [[ "$3" == *"$2"* ]]; then ok "$1"; else not_ok "$1" "[$3] does not contain [$2]"; fi
}

# OpenVPN makes no PAM session calls: the stack of examples/openvpn/server.conf's comment
# (auth + account) is complete for it.
test_openvpn_service() {
	write_pam_dir
	printf 'auth required %s vendor_group=%s\naccount required %s vendor_group=%s\n' \
		"$PV_MODULE" "$GROUP" "$PV_MODULE" "$GROUP" >"$PAMD/openvpn"
	doctor --service openvpn
	expect_no_finding "openvpn: the example's auth + account stack -> no pam.session.missing" pam.session.missing
	expect_eq "openvpn: no PAM finding at all" "" "$(ids_with pam.)"
	expect_eq "openvpn: auth and account are checked and pass" "true" \
		"$(jget "$OUT" '"pam.auth" in d["passed"] and "pam.account" in d["passed"]')"
	expect_eq "openvpn: pam.session is skipped, saying why" \
		"service openvpn makes no PAM session calls (it calls auth and account only)" \
		"$(jget "$OUT" 'next(s["why"] for s in d["skipped"] if s["id"]=="pam.session")')"
	expect_eq "openvpn: TTY auditing of sessions is skipped too" "true" \
		"$(jget "$OUT" '"pam.session.tty_audit" in [s["id"] for s in d["skipped"]]')"

	sed -i '/^account/d' "$PAMD/openvpn"
	doctor --service openvpn
	expect_finding "openvpn without its account line -> pam.account.missing" pam.account.missing
	expect_eq "... an error" error "$(field pam.account.missing severity)"
	expect_contains "... its fix is the OpenVPN example's line" \
		"add \"account required pam_vendor.so\" to $PAMD/openvpn after its other account lines, as in the comment at the top of /usr/share/doc/libpam-vendor/examples/openvpn/server.conf" \
		"$(field pam.account.missing fix)"

	rm "$PAMD/openvpn"
	doctor --service openvpn
	expect_finding "no openvpn PAM file -> pam.service.missing" pam.service.missing
	expect_contains "... the fix writes the service's two lines" \
		"printf '%s\\n' \"auth required pam_vendor.so\" \"account required pam_vendor.so\" > $PAMD/openvpn" \
		"$(field pam.service.missing fix)"

	# A service doctor does not know: auth, account and session are assumed, and said.
	sed '/^session.*pam_vendor/d' "$PAMD/sshd" >"$PAMD/pvdocsvc"
	doctor --service pvdocsvc
	expect_finding "unknown service without pam_vendor in session -> pam.session.missing" pam.session.missing
	expect_contains "... the finding says what it assumes" \
		"doctor does not know which PAM calls service pvdocsvc makes and assumes auth, account and session" \
		"$(field pam.session.missing what)"
	write_pam_dir
}

# match_group_sshd: the example's sshd layout, vendors in a Match Group block.
match_group_sshd() {
	write_sshd_config "UsePAM yes" "KbdInteractiveAuthentication yes" "UseDNS no" \
		"Match Group $GROUP" "	AuthenticationMethods publickey,keyboard-interactive:pam"
}
# symptoms_of ID: the symptoms listed by finding ID, space separated.
symptoms_of() { jget "$OUT" '" ".join(next(f["symptoms"] for f in d["findings"] if f["id"]=="'"$1"'"))'; }

# A vendor removed from vendor_group: the root cause is the error; what follows from it (sshd's
# Match Group block no longer applies) is named in it, not reported again.
test_root_cause_outside_group() {
	"$OTPCTL" --config "$CFG" vendor add "$U2" --ip 192.0.2.20 >/dev/null 2>&1
	match_group_sshd
	doctor
	expect_finding "vendor outside vendor_group (file store) -> vendor.$U2.not_in_group" "vendor.$U2.not_in_group"
	expect_eq "... an error: the root cause" error "$(field "vendor.$U2.not_in_group" severity)"
	expect_eq "... its fix adds it to the group" "usermod -aG $GROUP $U2" "$(field "vendor.$U2.not_in_group" fix)"
	expect_no_finding "the sshd symptom is not a finding of its own" "sshd.authenticationmethods.$U2"
	expect_eq "... it is listed among the root finding's symptoms" "sshd.authenticationmethods.$U2" \
		"$(symptoms_of "vendor.$U2.not_in_group")"
	expect_match "... and named in the root finding's text" \
		"It also causes sshd\.authenticationmethods\.$U2 \(not reported apart\): .*AuthenticationMethods \"any\"" \
		"$(field "vendor.$U2.not_in_group" what)"
	expect_eq "... the sshd check that saw only the symptom is not listed as passed" "false" \
		"$(jget "$OUT" '"sshd.authenticationmethods" in d["passed"]')"
	expect_no_finding "the vendor in the group: no sshd finding" "sshd.authenticationmethods.$U1"
	usermod -aG "$GROUP" "$U2"
	doctor
	expect_no_finding "back in the group: no root finding" "vendor.$U2.not_in_group"
	expect_no_finding "... and no sshd finding" "sshd.authenticationmethods.$U2"
	gpasswd -d "$U2" "$GROUP" >/dev/null
	"$OTPCTL" --config "$CFG" vendor remove "$U2" >/dev/null 2>&1
	write_sshd_config
}

# The same with the PostgreSQL store (a private server, as tests/pg does).
test_root_cause_outside_group_postgresql() {
	local pgcfg=$T/pg.conf id="vendor.$U1.not_in_group"
	if ! pg_available; then
		skip "vendor outside vendor_group with PostgreSQL" "the postgresql package is not installed"
		return
	fi
	if ! pg_setup pamvendor; then
		not_ok "a private PostgreSQL starts"
		return
	fi
	{
		cat "$CFG"
		echo "store_backend = postgresql"
		echo "pg_conninfo = host=$PGD dbname=pamvendor"
		echo "pg_timeout = 2s"
	} >"$pgcfg"
	chmod 0600 "$pgcfg"
	"$OTPCTL" --config "$pgcfg" db init >/dev/null 2>&1
	"$OTPCTL" --config "$pgcfg" vendor add "$U1" --ip 192.0.2.10 >/dev/null 2>&1
	match_group_sshd
	gpasswd -d "$U1" "$GROUP" >/dev/null
	doctor_run --config "$pgcfg" doctor "${D_ARGS[@]}"
	expect_finding "vendor outside vendor_group (PostgreSQL) -> $id" "$id"
	expect_eq "... an error" error "$(field "$id" severity)"
	expect_match "... saying the module denies it in every phase (a registered vendor is never left to the stack)" \
		"pam_vendor denies it in every phase \(config_error\)" \
		"$(field "$id" what)"
	expect_no_finding "... its sshd symptom is not a finding of its own" "sshd.authenticationmethods.$U1"
	expect_eq "... but one of its symptoms" "sshd.authenticationmethods.$U1" "$(symptoms_of "$id")"
	usermod -aG "$GROUP" "$U1"
	doctor_run --config "$pgcfg" doctor "${D_ARGS[@]}"
	expect_no_finding "PostgreSQL, back in the group -> no finding" "$id"
	pg_teardown
	write_sshd_config
}

# sshd keeps the first value it reads, Include order is lexical: the finding names the file
# and line that set the value sshd -T shows.
test_sshd_overriding_file() {
	local d=$T/sshd.d id="sshd.authenticationmethods.$U1"
	mkdir -p "$d"
	printf 'KbdInteractiveAuthentication no\n' >"$d/10-hardening.conf"
	printf '%s\n' "UsePAM yes" "KbdInteractiveAuthentication yes" "UseDNS no" "Match User $U1" \
		"	AuthenticationMethods publickey,keyboard-interactive:pam" >"$d/50-vendors.conf"
	write_sshd_config "Include $d/*.conf" "UseDNS=yes"
	doctor
	expect_finding "a drop-in read first turns keyboard-interactive off -> sshd.kbdinteractive" sshd.kbdinteractive
	expect_contains "... the finding names that file and line" "set by $d/10-hardening.conf line 1" \
		"$(field sshd.kbdinteractive what)"
	expect_contains "... so does the fix" \
		"in $d/10-hardening.conf line 1, write \"KbdInteractiveAuthentication yes\" instead of \"no\"" \
		"$(field sshd.kbdinteractive fix)"
	expect_no_finding "UseDNS=yes after the Include: the drop-in's no is read first" sshd.usedns
	expect_no_finding "the Match block of a drop-in ends with it: the vendor's methods are fine" "$id"

	write_sshd_config "usedns yes" "Include $d/*.conf"
	doctor
	expect_finding "UseDNS yes before the Include -> sshd.usedns" sshd.usedns
	expect_contains "... naming line 2 of the main file" "set by $T/sshd_config line 2" \
		"$(field sshd.usedns what)"

	rm "$d/10-hardening.conf"
	printf '%s\n' "Match User $U1" "	AuthenticationMethods publickey" >"$d/20-legacy.conf"
	write_sshd_config "Include $d/*.conf"
	doctor
	expect_finding "a Match block read first sets publickey alone -> $id" "$id"
	expect_contains "... named: its file and line, and its Match line" \
		"set by $d/20-legacy.conf line 2, in the Match block of $d/20-legacy.conf line 1" \
		"$(field "$id" what)"
	expect_contains "... the fix edits that line" \
		"in $d/20-legacy.conf line 2 (the Match block of $d/20-legacy.conf line 1), write \"AuthenticationMethods publickey,keyboard-interactive:pam\" instead" \
		"$(field "$id" fix)"

	# Outside any Match block it is every user's setting: the fix adds a block for vendors.
	printf 'AuthenticationMethods publickey\n' >"$d/20-legacy.conf"
	printf '%s\n' "UsePAM yes" "KbdInteractiveAuthentication yes" "UseDNS no" >"$d/50-vendors.conf"
	doctor
	expect_contains "a global AuthenticationMethods line -> named" \
		"set by $d/20-legacy.conf line 1, outside any Match block" "$(field "$id" what)"
	expect_contains "... the fix adds a Match Group block for vendors, leaving the others' line" \
		"add at the end of $d/20-legacy.conf the lines \"Match Group $GROUP\" and \"AuthenticationMethods publickey,keyboard-interactive:pam\"" \
		"$(field "$id" fix)"
	write_sshd_config
}

# sshd -T needs its privilege separation directory: /run hidden by an empty tmpfs.
test_sshd_privsep_dir() {
	OUT=$(unshare -m sh -c 'mount -t tmpfs pvdoc /run && exec "$@"' sh \
		"$OTPCTL" --config "$CFG" --json doctor "${D_ARGS[@]}" 2>/dev/null)
	collect_fixes
	expect_finding "no /run/sshd -> sshd.run" sshd.run
	expect_eq "... its fix makes the directory" "install -d -m 0755 /run/sshd" "$(field sshd.run fix)"
	expect_contains "... its text says which directory sshd misses" \
		"sshd's privilege separation directory /run/sshd does not exist" "$(field sshd.run what)"
}

# A vendor account turned uid 0: the only fix is another account, never usermod -u.
test_root_vendor() {
	local fix id="vendor.$UZ.privileged"
	add_user "$UZ" -M -N -s /usr/sbin/nologin -G "$GROUP" &&
		"$OTPCTL" --config "$CFG" vendor add "$UZ" --ip 192.0.2.40 >/dev/null 2>&1 &&
		usermod -o -u 0 "$UZ" 2>/dev/null
	if [ "$(id -u "$UZ" 2>/dev/null)" != 0 ]; then
		not_ok "a uid 0 vendor is set up"
		return
	fi
	doctor
	expect_finding "a vendor whose account is uid 0 -> $id" "$id"
	fix=$(field "$id" fix)
	expect_no_match "... the fix changes no uid (no usermod)" "usermod" "$fix"
	expect_contains "... it says to register another account" \
		"none for $UZ: a uid 0 account can never be a vendor account; create an ordinary account for the vendor (useradd) and register that one instead" "$fix"
	expect_eq "... one privilege finding: uid 0 is the root cause, its groups are not repeated" 1 \
		"$(jget "$OUT" 'sum(1 for f in d["findings"] if f["id"]=="'"$id"'")')"
	expect_no_finding "its missing key set-up is not a finding of its own" "vendor.$UZ.authorized_keys"
	expect_eq "... but a symptom of the root finding" "vendor.$UZ.authorized_keys" "$(symptoms_of "$id")"
	"$OTPCTL" --config "$CFG" vendor remove "$UZ" >/dev/null 2>&1
	userdel -f "$UZ" 2>/dev/null
}

# The key fixes name the vendor's own user, group and files; run as given, they work.
test_key_fixes() {
	local fix mode
	mv "$U1_HOME/.ssh/authorized_keys" "$T/ak.saved"
	doctor
	expect_eq "no authorized_keys: the fix installs it for $U1, the key read from the terminal" \
		"install -o $U1 -g $U1_GROUP -m 0600 /dev/stdin $U1_HOME/.ssh/authorized_keys, then paste the vendor's public key (the one line of the .pub file the vendor sent you) and press Ctrl-D" \
		"$(field "vendor.$U1.authorized_keys" fix)"
	mv "$U1_HOME/.ssh" "$T/ssh.saved"
	doctor
	fix=$(field "vendor.$U1.authorized_keys" fix)
	expect_contains "no .ssh either: the fix makes it first" \
		"install -d -o $U1 -g $U1_GROUP -m 0700 $U1_HOME/.ssh && install -o $U1 -g $U1_GROUP -m 0600 /dev/stdin $U1_HOME/.ssh/authorized_keys" "$fix"
	eval "${fix%%, then paste*}" <"$T/vendorkey.pub"
	doctor
	expect_no_finding "that command, given the vendor's key, clears the finding" "vendor.$U1.authorized_keys"
	rm -rf "$T/ssh.saved" "$T/ak.saved"

	mode=$(stat -c %a "$U1_HOME")
	chmod 0777 "$U1_HOME"
	doctor
	expect_eq "home writable by others: the fix names it" "chown $U1 $U1_HOME && chmod go-w $U1_HOME" \
		"$(field "vendor.$U1.authorized_keys" fix)"
	chmod "$mode" "$U1_HOME"
	chmod 0666 "$U1_HOME/.ssh/authorized_keys"
	doctor
	expect_eq "authorized_keys readable by others: the fix names it" \
		"chown $U1:$U1_GROUP $U1_HOME/.ssh/authorized_keys && chmod 0600 $U1_HOME/.ssh/authorized_keys" \
		"$(field "vendor.$U1.authorized_keys" fix)"
	chmod 0600 "$U1_HOME/.ssh/authorized_keys"
	doctor
	expect_no_finding "all restored" "vendor.$U1.authorized_keys"
}

# More broken set-ups, for their fixes (collected like every run's).
test_more_broken_setups() {
	local saved
	saved=$(getent shadow "$U1" | cut -d: -f2)
	usermod -p 'NotAHashButUsable' "$U1"
	doctor --logrotate-dir "$T/empty.d" --sshd-config "$T/missing.conf" --pam-dir "$T/nopam"
	expect_eq "usable password: the fix locks that account" "passwd -l $U1 (vendors log in with their key and the code)" \
		"$(field "vendor.$U1.password" fix)"
	expect_eq "no logrotate rule: the fix installs the shipped one, with this log's path" \
		"sed 's|/var/log/pam_vendor/audit.log|$AUDIT|' /usr/share/doc/libpam-vendor/examples/logrotate/pam_vendor > $T/empty.d/pam_vendor" \
		"$(field logrotate.audit_log fix)"
	expect_eq "no sshd PAM file: the fix installs the shipped stack" \
		"install -m 0644 /usr/share/doc/libpam-vendor/examples/pam.d/sshd $T/nopam/sshd (then adapt it)" \
		"$(field pam.service.missing fix)"
	usermod -p "$saved" "$U1"
	cp -p "$AUDIT" "$T/audit.bak"
	sed -i '1s/"event":"/"event":"X/' "$AUDIT"
	doctor
	expect_match "broken chain: the fix moves this log aside under a dated name" \
		"then start a new chain: mv $AUDIT $AUDIT\.broken-[0-9]{8}$" "$(field audit.chain fix)"
	cp -p "$T/audit.bak" "$AUDIT"
	write_sshd_config "UsePAM no" "KbdInteractiveAuthentication no" "UseDNS yes"
	write_pam_dir
	sed -i '/pam_vendor/d; /pam_tty_audit/d' "$PAMD/sshd"
	doctor
	write_pam_dir
	write_sshd_config
}

# Every fix of every run above: no placeholder (a capitalised token: NAME, HOME, UID,
# KEY.pub, MOUNTPOINT, DATE...), no path of the source tree (examples/..., docs/...), and each
# shipped file a fix names (under /usr/share/doc/libpam-vendor) is one `make install` ships
# (examples/ of this tree).
test_fixes_are_real() {
	local report
	report=$(python3 - "$FIXES" "$PV_ROOT" <<'PY'
import os, re, sys
fixes, root = sys.argv[1], sys.argv[2]
seen = {}
for line in open(fixes):
    fid, _, fix = line.rstrip("\n").partition("\t")
    if fix:
        seen.setdefault(fix, fid)
bad = []
allowed = {"NTP"}
for fix, fid in sorted(seen.items()):
    for tok in re.findall(r"(?<![\w/.-])[A-Z][A-Z0-9_]+(?![\w])", fix):
        if tok not in allowed:
            bad.append("placeholder %s in %s: %s" % (tok, fid, fix))
    m = re.search(r"(?<![\w/.-])(examples|docs|tests|otpctl|core|pam_vendor|debian)/", fix)
    if m:
        bad.append("source-tree path %s... in %s: %s" % (m.group(0), fid, fix))
    for rel in re.findall(r"/usr/share/doc/libpam-vendor/([^\s,;)\"']+)", fix):
        if not rel.startswith("examples/") or not os.path.isfile(os.path.join(root, rel)):
            bad.append("not a shipped example: %s in %s" % (rel, fid))
print(len(seen))
for b in bad:
    print(b)
PY
)
	check "the suite collected the fixes of many findings ($(head -n 1 <<<"$report") distinct)" \
		[ "$(head -n 1 <<<"$report")" -ge 40 ]
	expect_eq "no fix holds a placeholder or a source-tree path, every shipped path exists" "" \
		"$(tail -n +2 <<<"$report")"
}

test_skip() {
	doctor --skip sshd
	expect_eq "--skip sshd: every sshd check is skipped, saying so" "true" \
		"$(jget "$OUT" 'all(any(s["id"]==c and s["why"]=="not run: --skip sshd" for s in d["skipped"]) for c in ["sshd.run","sshd.usepam","sshd.kbdinteractive","sshd.usedns","sshd.authenticationmethods"])')"
	expect_eq "... the suite's --skip system.security_updates too" "not run: --skip system.security_updates" \
		"$(jget "$OUT" 'next(s["why"] for s in d["skipped"] if s["id"]=="system.security_updates")')"
	expect_eq "... the other checks still run" "true" "$(jget "$OUT" '"pam.auth" in d["passed"]')"
	run_ctl doctor --skip sshd.nothing
	expect_eq "--skip of no check -> exit 2" 2 "$RC"
	expect_match "... naming the value" 'not "sshd\.nothing"' "$ERR"
	run_ctl doctor --skip vendor_grou
	expect_eq "--skip of part of an id (not an area) -> exit 2" 2 "$RC"
}

test_usage() {
	run_ctl doctor --frobnicate
	expect_eq "unknown option -> exit 2" 2 "$RC"
	run_ctl doctor --service ../shadow
	expect_eq "--service with a slash -> exit 2" 2 "$RC"
	run_ctl doctor --sshd relative/sshd
	expect_eq "--sshd must be absolute -> exit 2" 2 "$RC"
	run_ctl doctor extra
	expect_eq "positional argument -> exit 2" 2 "$RC"
	run_ctl doctor --help
	expect_eq "doctor --help -> exit 0" 0 "$RC"
}

# A database link that does not verify the server: refused by the configuration (a
# files.config finding naming the line), and a warning when the admin allowed it by name.
test_database_tls() {
	cp "$CFG" "$T/cfg.saved"
	echo "pg_conninfo = host=db1.example.org dbname=pamvendor" >>"$CFG"
	doctor
	expect_finding "TCP pg_conninfo without verify-full -> files.config.invalid" files.config.invalid
	expect_match "... naming the key and the way out" \
		"pg_conninfo reaches the database over TCP with sslmode=prefer.*pg_allow_unverified_tls = yes" \
		"$(field files.config.invalid what)"
	echo "pg_allow_unverified_tls = yes" >>"$CFG"
	doctor
	expect_finding "allowed by pg_allow_unverified_tls -> files.database_tls" files.database_tls
	expect_eq "... a warning" warning "$(field files.database_tls severity)"
	expect_match "... whose fix names the file and the setting" \
		"in $CFG: add sslmode=verify-full" "$(field files.database_tls fix)"
	cp "$T/cfg.saved" "$CFG"
	doctor
	expect_no_finding "no pg_conninfo: no files.database_tls" files.database_tls
}

# dev.tty.legacy_tiocsti (Linux >= 6.2): at 1 every process may push input into its terminal
# (TIOCSTI); pv-record's filter covers the recorded session only. While sessions are recorded
# that is a warning with the sysctl fix; at 0, or with recording off, no finding. The value is
# a file bound over the kernel's in a mount namespace of the doctor's own (the host's setting
# is never changed; this machine's may be 1, which test_good_deployment's recording-off
# configuration does not look at).
LEGACY_TIOCSTI=/proc/sys/dev/tty/legacy_tiocsti
# tiocsti_doctor VALUE: doctor (sets OUT, RC) where legacy_tiocsti reads VALUE.
tiocsti_doctor() {
	printf '%s\n' "$1" >"$T/legacy_tiocsti"
	OUT=$(unshare -m bash -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' - \
		"$T/legacy_tiocsti" "$LEGACY_TIOCSTI" \
		"$OTPCTL" --config "$CFG" --json doctor "${D_ARGS[@]}" 2>/dev/null)
	RC=$?
	collect_fixes
}
test_legacy_tiocsti() {
	if [ ! -e "$LEGACY_TIOCSTI" ]; then
		skip "legacy_tiocsti" "this kernel has no dev.tty.legacy_tiocsti (Linux < 6.2)"
		return
	fi
	set_conf session_recording required
	tiocsti_doctor 1
	expect_finding "recording on, legacy_tiocsti 1 -> recording.tiocsti" recording.tiocsti
	expect_eq "... a warning" warning "$(field recording.tiocsti severity)"
	expect_match "... whose fix sets it to 0, now and at boot" \
		"sysctl -w dev.tty.legacy_tiocsti=0 .*/etc/sysctl.d/" "$(field recording.tiocsti fix)"
	tiocsti_doctor 0
	expect_no_finding "recording on, legacy_tiocsti 0 -> no finding" recording.tiocsti
	expect_eq "... the check passed" true "$(jget "$OUT" '"recording.tiocsti" in d["passed"]')"
	set_conf session_recording off
	tiocsti_doctor 1
	expect_no_finding "recording off, legacy_tiocsti 1 -> no finding" recording.tiocsti
}

test_good_deployment
test_human_output
test_database_tls
test_sshd_settings
test_sshd_vendor_methods
test_pam_session_missing
test_pam_vendor_group_arg
test_pam_sufficient_before
test_pam_jump_in_include
test_pam_done_before
test_pam_control_and_files
test_file_modes
test_audit_chain
test_vendor_security
test_vendor_accounts
test_openvpn_service
test_root_cause_outside_group
test_root_cause_outside_group_postgresql
test_sshd_overriding_file
test_sshd_privsep_dir
test_root_vendor
test_key_fixes
test_more_broken_setups
test_syslog
test_skip
test_usage
test_legacy_tiocsti
test_fixes_are_real
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_sshd_pg.sh — two bastions, one state, end to end: two real sshd, each in a network,
# mount and UTS namespace of its own (gateway A: this test's namespaces; gateway B: a child
# with its own /etc/pam.d naming B's configuration and its own host name), sharing one real
# PostgreSQL (tests/pg/pg_lib.sh). A window opened and a code issued on A admit on B; a code
# used on one bastion is refused on the other; both bastions' lines reach the audit table.
set -u
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../pg/pg_lib.sh"
if ! pg_available; then
	echo "ok - two sshd on one PostgreSQL # SKIP the postgresql package is not installed"
	finish
	exit 0
fi
# Accounts of its own, so that it never meets test_sshd.sh's (or the demo's) accounts.
SSHD_TAG=pvsp
# Under the sanitizers, the module's first load of libpq inside sshd's forked [pam] child
# hangs in a GnuTLS initialiser (glibc's _nl_state_lock, taken through ASan's dlopen); the
# normal build does not, and the PostgreSQL backend runs under the sanitizers in-process in
# tests/pg/test_postgresql.sh. So this end-to-end run is the normal build's only.
if [ "${PV_VARIANT:-normal}" = san ]; then
	echo "ok - two sshd on one PostgreSQL # SKIP sanitizer build (see the comment in this file)"
	finish
	exit 0
fi
source "$(dirname "$0")/sshd_lib.sh"
sshd_enter "$0"

# --- inside the namespaces (gateway A) ----------------------------------------------------
PORT_B=2224
BPID=
stop_all() {
	[ -n "$BPID" ] && kill "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null
	sshd_stop
	pg_teardown
	cleanup_dirs
}
trap stop_all EXIT
pg_setup pamvendor || { echo "Bail out! cannot start PostgreSQL"; exit 1; }
new_env "vendor_group = $GROUP" "store_backend = postgresql" "pg_conninfo = host=$PGD dbname=pamvendor"
pg_gateway_b
"$OTPCTL" --config "$CFG_A" db init >/dev/null || { echo "Bail out! otpctl db init failed"; exit 1; }
sshd_start

# Gateway B: its own configuration (pg_gateway_b: same key and database, own audit log), its own PAM
# directory naming it, its own sshd, in new network, mount and UTS namespaces.
mkdir "$T/pam.b"
cp -a "$T/pam.d/." "$T/pam.b/"
sed -i "s|config=$CFG_A|config=$CFG_B|" "$T/pam.b/sshd"
sshd_write_config "$T/sshd_config_b" $PORT_B "publickey,keyboard-interactive:pam"
sed -i '/^ListenAddress 2001:db8::1$/d' "$T/sshd_config_b"
unshare -m -n -u --propagation private sh -c '
	hostname gwb && ip link set lo up && mount --bind "$0" /etc/pam.d && exec "$@"' \
	"$T/pam.b" env "${SSHD_ENV[@]}" /usr/sbin/sshd -D -f "$T/sshd_config_b" -E "$T/sshd_b.log" &
BPID=$!
for _ in $(seq 50); do [ -s "$T/sshd-$PORT_B.pid" ] && break; sleep 0.1; done
check "gateway B's sshd is up in its own namespaces" [ -s "$T/sshd-$PORT_B.pid" ]
B_NS=(nsenter --target "$(cat "$T/sshd-$PORT_B.pid")" --net)

login_a() { LOGIN_WRAP=(); login 127.0.0.5 "$VENDOR"; }
login_b() { LOGIN_WRAP=("${B_NS[@]}"); login 127.0.0.5 "$VENDOR" $PORT_B; LOGIN_WRAP=(); }

test_code_and_window_shared_by_both_bastions() {
	ctl vendor add "$VENDOR" --ip 127.0.0.5
	ctl enable "$VENDOR" --for 1h
	issue_code
	login_b
	expect_eq "window opened and code issued on A: the vendor logs in through B" "logged-in-as-$VENDOR" "$OUT"
	login_a
	check "the same code through A: refused" [ "$RC" -ne 0 ]
	expect_match "A audits it as otp_reused" '"reason":"otp_reused"' "$(grep '"event":"auth"' "$AUDIT" | tail -n 1)"
	issue_code
	login_a
	expect_eq "a new code logs in through A" "logged-in-as-$VENDOR" "$OUT"
	login_b
	check "and is then refused through B" [ "$RC" -ne 0 ]
	expect_match "B audits it as otp_reused" '"reason":"otp_reused"' "$(grep '"event":"auth"' "$T/logb/audit.log" | tail -n 1)"
}

test_audit_table_covers_both_bastions() {
	local out
	out=$("$OTPCTL" --config "$CFG_A" audit verify --all-hosts)
	expect_eq "audit verify --all-hosts: exit 0" 0 $?
	expect_match "it covers gateway B" "host gwb: intact" "$out"
	expect_match "and gateway A" "host $(hostname): intact" "$out"
}

test_no_sanitizer_report() {
	expect_eq "no sanitizer report from the module inside either sshd" "" "$(sshd_sanitizer_reports)"
}

test_code_and_window_shared_by_both_bastions
test_audit_table_covers_both_bastions
test_no_sanitizer_report
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_sshd_keys.sh — vendor keys served by pam_vendor-keys (the example's AuthorizedKeysCommand,
# run by a real sshd as an unprivileged AuthorizedKeysCommandUser): key + code inside the
# window; outside it sshd refuses the key before any prompt, even with pam_vendor taken out of
# the PAM stack; from an address outside the allow-list the key is refused; a key in
# ~/.ssh/authorized_keys is ignored. Targets: forwarding (what ssh -J asks the bastion: a
# direct-tcpip channel, here ssh -W) reaches the one target, nothing else, and there is no
# shell on the bastion. Namespaces and accounts as test_sshd.sh (sshd_lib.sh).
set -u
source "$(dirname "$0")/../lib.sh"

SSHD_TAG=pk
source "$(dirname "$0")/sshd_lib.sh"
sshd_enter "$0"

# --- inside the namespaces ---------------------------------------------------------------
new_env "vendor_group = $GROUP"
LISTENERS=()
stop_all() {
	local p
	for p in "${LISTENERS[@]}"; do kill "$p" 2>/dev/null; done
	sshd_stop
	remove_accounts
	cleanup_dirs
}
trap stop_all EXIT

# The AuthorizedKeysCommandUser and the view's directory (root, its group, 0750). The command
# opens every directory of the view's path, so the test's temp dir must be readable.
SSHD_KEYS_USER=${SSHD_TAG}keys$PV_RUN
add_user "$SSHD_KEYS_USER" -r -M -s /usr/sbin/nologin -U ||
	{ echo "Bail out! cannot create the AuthorizedKeysCommandUser"; exit 1; }
chmod 0755 "$T"
install -d -m 0750 -o root -g "$SSHD_KEYS_USER" "$T/keysview"
SSHD_KEYS_VIEW=$T/keysview/view
sshd_start
ctl vendor add "$VENDOR" --ip 127.0.0.5 --ip 2001:db8::5
ctl vendor key add "$VENDOR" "$T/id.pub"
# A second key, only in ~/.ssh/authorized_keys (sshd_start put $T/id.pub there too).
ssh-keygen -q -t ed25519 -N '' -f "$T/id_file"
home=$(getent passwd "$VENDOR" | cut -d: -f6)
cat "$T/id_file.pub" >>"$home/.ssh/authorized_keys"

# klogin SRC [KEY] [PORT] [SSH-ARGS...] -- [COMMAND]: as login (sshd_lib.sh) with a chosen key
# and extra ssh options; sets OUT, RC, PROMPTS, ERR.
klogin() {
	local src=$1 key=${2:-$T/id} port=${3:-$PORT}
	shift 3
	: >"$T/prompts"
	OUT=$(SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 60 ssh -F none -i "$key" -o IdentitiesOnly=yes -b "$src" -p "$port" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 "$@" </dev/null 2>"$T/ssh.err")
	RC=$?
	ERR=$(cat "$T/ssh.err")
	PROMPTS=$(grep -c 'One-time code' "$T/prompts")
}

test_stored_key_and_code_inside_the_window() {
	ctl enable "$VENDOR" --for 1h
	issue_code
	klogin 127.0.0.5 "" "" "$VENDOR@127.0.0.1" 'echo logged-in-as-$(id -un)'
	expect_eq "stored key + code inside the window logs in" "logged-in-as-$VENDOR" "$OUT"
	expect_eq "the code was asked once" 1 "$PROMPTS"
	expect_match "sshd took the key from pam_vendor-keys" "Accepted key ED25519 .* found at [^ ]*/pam_vendor-keys" \
		"$(cat "$T/sshd.log")"
}

test_key_only_in_authorized_keys_is_ignored() {
	issue_code
	klogin 127.0.0.5 "$T/id_file" "" "$VENDOR@127.0.0.1" true
	check "a key only in ~/.ssh/authorized_keys is refused" [ "$RC" -ne 0 ]
	expect_match "refused by sshd: Permission denied (publickey)" "Permission denied \(publickey" "$ERR"
	expect_eq "no code prompt for it" 0 "$PROMPTS"
}

test_address_outside_the_list_gets_no_key() {
	issue_code
	klogin 127.0.0.9 "" "" "$VENDOR@127.0.0.1" true
	check "from another address the key is refused" [ "$RC" -ne 0 ]
	expect_match "refused as publickey" "Permission denied \(publickey" "$ERR"
	expect_eq "no prompt from another address" 0 "$PROMPTS"
}

# The PAM stack without pam_vendor, and the publickey-only server: only the keys view stands
# between the key and a shell.
test_window_closed_refused_even_without_pam_vendor() {
	cp "$T/pam.d/sshd" "$T/sshd.pam.saved"
	printf '%s\n' "auth required pam_permit.so" "account required pam_permit.so" \
		"session required pam_permit.so" >"$T/pam.d/sshd"
	ctl disable "$VENDOR"
	klogin 127.0.0.5 "" "$PORT_PK" "$VENDOR@127.0.0.1" 'echo in'
	check "window closed, no pam_vendor: the key is refused" [ "$RC" -ne 0 ]
	expect_match "Permission denied (publickey) before any prompt" "Permission denied \(publickey" "$ERR"
	expect_eq "no prompt at all" 0 "$PROMPTS"
	ctl enable "$VENDOR" --for 1h
	klogin 127.0.0.5 "" "$PORT_PK" "$VENDOR@127.0.0.1" 'echo in'
	expect_eq "the same key with the window open gets in (so the view was what refused)" in "$OUT"
	ctl enable "$VENDOR" --for 1h --replace --at "$(date -d '+2 hours' -Iseconds)" 2>/dev/null ||
		ctl disable "$VENDOR"
	klogin 127.0.0.5 "" "$PORT_PK" "$VENDOR@127.0.0.1" 'echo in'
	check "upcoming window, no pam_vendor: refused" [ "$RC" -ne 0 ]
	cp "$T/sshd.pam.saved" "$T/pam.d/sshd"
	ctl enable "$VENDOR" --for 1h --replace
}

# listen PORT TEXT: a TCP listener on 127.0.0.1:PORT that sends TEXT to each client.
listen() {
	python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[2].encode() + b"\n"); c.close()
' "$1" "$2" &
	LISTENERS+=($!)
}

test_one_target_forwarding_only() {
	listen 2301 target-one
	listen 2302 target-two
	sleep 0.5
	ctl vendor set "$VENDOR" --target 127.0.0.1:2301
	issue_code
	klogin 127.0.0.5 "" "" -W 127.0.0.1:2301 "$VENDOR@127.0.0.1"
	expect_eq "forwarding to the target (what ssh -J asks) reaches it" target-one "$OUT"
	issue_code
	klogin 127.0.0.5 "" "" -W 127.0.0.1:2302 "$VENDOR@127.0.0.1"
	expect_eq "another port of the same host is refused" "" "$OUT"
	expect_match "sshd says it is prohibited" "administratively prohibited|open failed|stdio forwarding failed" "$ERR"
	issue_code
	klogin 127.0.0.5 "" "" -W 127.0.0.2:2301 "$VENDOR@127.0.0.1"
	expect_eq "another host is refused" "" "$OUT"
	issue_code
	klogin 127.0.0.5 "" "" "$VENDOR@127.0.0.1" 'echo shell-ran'
	expect_no_match "no shell on the bastion" "shell-ran" "$OUT"
	expect_match "the vendor is told why" "no shell for this vendor" "$ERR"
	issue_code
	klogin 127.0.0.5 "" "" -N -R 127.0.0.1:2399:127.0.0.1:2301 -o ExitOnForwardFailure=yes "$VENDOR@127.0.0.1"
	check "remote forwarding (-R) is refused (AllowTcpForwarding local)" [ "$RC" -ne 0 ]
	expect_match "refused as a forwarding, after the login" "remote port forwarding failed" "$ERR"
	ctl vendor set "$VENDOR" --no-targets
}

# ssh -J itself: the vendor jumps through the bastion (key + code) to its one target, here the
# publickey-only sshd, where the non-vendor account logs in with its own key. The client's
# options reach the jump ssh through -F.
test_proxyjump_to_the_target() {
	printf '%s\n' "IdentityFile $T/id" "IdentitiesOnly yes" "BindAddress 127.0.0.5" \
		"StrictHostKeyChecking no" "UserKnownHostsFile /dev/null" "LogLevel ERROR" \
		"PreferredAuthentications publickey,keyboard-interactive" \
		"NumberOfPasswordPrompts 1" "ConnectTimeout 10" >"$T/ssh_config"
	ctl vendor set "$VENDOR" --target "127.0.0.1:$PORT_PK"
	issue_code
	: >"$T/prompts"
	OUT=$(SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none timeout 60 \
		ssh -F "$T/ssh_config" -J "$VENDOR@127.0.0.1:$PORT" -p "$PORT_PK" "$OTHER@127.0.0.1" \
		'echo via-jump-as-$(id -un)' </dev/null 2>"$T/ssh.err")
	expect_eq "ssh -J vendor@bastion target reaches the target" "via-jump-as-$OTHER" "$OUT"
	expect_eq "the bastion asked the vendor's code once" 1 "$(grep -c 'One-time code' "$T/prompts")"
	issue_code
	OUT=$(SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none timeout 60 \
		ssh -F "$T/ssh_config" -J "$VENDOR@127.0.0.1:$PORT" -p "$PORT" "$OTHER@127.0.0.1" \
		true </dev/null 2>"$T/ssh.err")
	check "ssh -J to another port of the bastion is refused" [ $? -ne 0 ]
	expect_match "the jump's forward is what fails" "stdio forwarding failed|administratively prohibited|open failed" "$(cat "$T/ssh.err")"
	ctl vendor set "$VENDOR" --no-targets
}

test_stored_key_and_code_inside_the_window
test_key_only_in_authorized_keys_is_ignored
test_address_outside_the_list_gets_no_key
test_window_closed_refused_even_without_pam_vendor
test_one_target_forwarding_only
test_proxyjump_to_the_target
if [ -n "$(sshd_sanitizer_reports)" ]; then
	not_ok "sanitizer reports from sshd's processes" "$(sshd_sanitizer_reports | head -n 20)"
fi
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_keys.sh — vendor SSH keys in the sealed record (`otpctl vendor key add|list|remove`),
# targets and the shell choice (`vendor set --target/--no-targets/--shell/--no-shell`), the keys
# view otpctl writes after every change, and pam_vendor-keys, sshd's AuthorizedKeysCommand: it
# prints a vendor's keys (restricted to its addresses, targets and shell) only while its window
# is open, and nothing on any error. Bad input: one sentence, exit 1, the sealed record's bytes
# unchanged. The same through a real sshd: tests/e2e/test_sshd_keys.sh. Needs root.
set -u
source "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - test_keys.sh needs root"
	echo "0 passed, 1 failed"
	exit 1
fi
unset SUDO_USER PAM_VENDOR_CONFIG
for tool in ssh-keygen faketime; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not available"; echo "0 passed, 0 failed"; exit 0
	fi
done

KEYSCMD=$(dirname "$OTPCTL")/pam_vendor-keys
new_env
trap 'remove_accounts; cleanup_dirs' EXIT
VIEW=$T/keysview/view
ctl() { "$OTPCTL" --config "$CFG" "$@"; }
# keys_for USER: what sshd would get (stdout), exit status in KRC.
keys_for() { KOUT=$("$KEYSCMD" --config "$CFG" "$1" 2>"$T/keys.err"); KRC=$?; }

sealed() { sha256sum "$STORE/acme.rec" | cut -d' ' -f1; }

for k in ed25519:256 ecdsa:384 rsa:3072 rsa:2048 rsa:1024; do
	ssh-keygen -q -t "${k%%:*}" -b "${k##*:}" -N '' -C "key-${k/:/-}" -f "$T/${k/:/-}" ||
		{ echo "Bail out! ssh-keygen failed"; exit 1; }
done
fp() { ssh-keygen -lf "$1" | cut -d' ' -f2; }

ctl vendor add acme --ip 203.0.113.7 --ip 2001:db8:7::/48 >/dev/null 2>&1 ||
	{ echo "Bail out! vendor add failed"; exit 1; }

test_no_view_without_its_directory() {
	run_ctl vendor key add acme "$T/ed25519-256.pub"
	expect_eq "key add works before the view's directory exists" 0 "$RC"
	check "no view is written while its directory does not exist" [ ! -e "$T/keysview" ]
	run_ctl keys sync
	expect_eq "keys sync without the directory: exit 1" 1 "$RC"
	expect_match "keys sync says the directory is missing" "does not exist" "$ERR"
	run_ctl vendor key remove acme "$(fp "$T/ed25519-256.pub")"
}

test_key_add_list_remove() {
	install -d -m 0750 -o root -g nogroup "$T/keysview"
	run_ctl vendor key add acme "$T/ed25519-256.pub"
	expect_eq "ed25519 key added" 0 "$RC"
	run_ctl vendor key add acme - <"$T/ecdsa-384.pub"
	expect_eq "ecdsa key added from standard input" 0 "$RC"
	run_ctl vendor key add acme "$T/rsa-3072.pub"
	expect_eq "rsa 3072 key added" 0 "$RC"
	run_ctl vendor key list acme
	expect_eq "key list: one line per key" 3 "$(printf '%s\n' "$OUT" | wc -l)"
	expect_eq "key list shows type, bits, fingerprint, comment as ssh-keygen -l" \
		"ssh-ed25519 256 $(fp "$T/ed25519-256.pub") key-ed25519-256" "$(printf '%s\n' "$OUT" | head -n 1)"
	run_ctl --json vendor key list acme
	expect_eq "key list --json: fingerprints" \
		"$(fp "$T/ed25519-256.pub") $(fp "$T/ecdsa-384.pub") $(fp "$T/rsa-3072.pub")" \
		"$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(k["fingerprint"] for k in json.load(sys.stdin)["keys"]))')"
	expect_eq "key list --json: bits" "256 384 3072" \
		"$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(str(k["bits"]) for k in json.load(sys.stdin)["keys"]))')"
	expect_match "key_add audited with the fingerprint" "\"action\":\"key_add\".*$(fp "$T/rsa-3072.pub" | sed 's/[+/]/./g')" "$(tail -n 1 "$AUDIT")"
	run_ctl vendor key remove acme "$(fp "$T/ecdsa-384.pub")"
	expect_eq "key removed by fingerprint" 0 "$RC"
	expect_match "key_remove audited" '"action":"key_remove"' "$(tail -n 1 "$AUDIT")"
	run_ctl vendor key list acme
	expect_no_match "the removed key is gone" "ecdsa" "$OUT"
}

# expect_refused NAME REGEX ARGS...: exit 1, one line on stderr matching REGEX, record unchanged.
expect_refused() {
	local name=$1 re=$2 before
	shift 2
	before=$(sealed)
	run_ctl "$@"
	expect_eq "$name: exit 1" 1 "$RC"
	expect_eq "$name: one sentence" 1 "$(printf '%s\n' "$ERR" | wc -l)"
	expect_match "$name: says why" "$re" "$ERR"
	expect_eq "$name: record unchanged" "$before" "$(sealed)"
}

test_bad_keys_are_refused() {
	expect_refused "weak rsa 2048" "2048 bits is too weak" vendor key add acme "$T/rsa-2048.pub"
	expect_refused "duplicate key" "already has key" vendor key add acme "$T/ed25519-256.pub"
	printf 'command="/bin/sh" %s\n' "$(cat "$T/ed25519-256.pub")" >"$T/opts.pub"
	expect_refused "options before the type" "options" vendor key add acme "$T/opts.pub"
	printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIcJbD5i4SLaQv4CzK4UJEDuYEArLTZz+Vsouj03kKA= x\n' >"$T/trunc.pub"
	expect_refused "malformed key data" "malformed" vendor key add acme "$T/trunc.pub"
	cat "$T/ed25519-256.pub" "$T/ecdsa-384.pub" >"$T/two.pub"
	expect_refused "two keys in one file" "more than one line" vendor key add acme "$T/two.pub"
	expect_refused "private key given" "" vendor key add acme "$T/ed25519-256"
	expect_refused "missing file" "cannot open" vendor key add acme "$T/nope.pub"
	expect_refused "rsa 1024 even with --allow-weak" "too weak" vendor key add acme "$T/rsa-1024.pub" --allow-weak
	expect_refused "remove an unknown fingerprint" "has no key" vendor key remove acme SHA256:nope
	expect_refused "target without a port" "not HOST:PORT" vendor set acme --target 192.0.2.10
	expect_refused "target port 0" "not HOST:PORT" vendor set acme --target 192.0.2.10:0
	expect_refused "IPv6 target without brackets" "not HOST:PORT" vendor set acme --target 2001:db8::1:22
	expect_refused "unresolvable target" "cannot resolve" vendor set acme --target no-such-host.invalid:22
	# Review SHOULD-2 / NIT-1: keys anyone can sign for, a key sshd ignores, a re-encoded key.
	python3 - "$T" <<'PY'
import base64, struct, sys
T = sys.argv[1]
def s(b): return struct.pack(">I", len(b)) + b
def w(name, typ, blob):
    open(f"{T}/{name}.pub", "w").write(f"{typ} {base64.b64encode(blob).decode()} {name}\n")
w("identity", "ssh-ed25519", s(b"ssh-ed25519") + s(b"\x01" + b"\x00" * 31))
n = b"\x00" + b"\xc5" * 383 + b"\x01"
w("rsa-e1", "ssh-rsa", s(b"ssh-rsa") + s(b"\x01") + s(n))
w("offcurve", "ecdsa-sha2-nistp256", s(b"ecdsa-sha2-nistp256") + s(b"nistp256") + s(b"\x04" + b"\x01" * 64))
blob = base64.b64decode(open(f"{T}/rsa-3072.pub").read().split()[1])
t = 4 + struct.unpack(">I", blob[:4])[0]
e_end = t + 4 + struct.unpack(">I", blob[t:t + 4])[0]
n = blob[e_end + 4:]
w("padded", "ssh-rsa", blob[:e_end] + s(b"\x00\x00" + n))
PY
	expect_refused "ed25519 identity point (small order)" "small-order" vendor key add acme "$T/identity.pub"
	expect_refused "rsa with e = 1" "exponent" vendor key add acme "$T/rsa-e1.pub" --allow-weak
	expect_refused "ecdsa point not on the curve" "ssh-keygen -l refuses" vendor key add acme "$T/offcurve.pub"
	expect_refused "rsa with a non-canonical modulus" "canonical" vendor key add acme "$T/padded.pub"
	run_ctl vendor key add acme "$T/rsa-2048.pub" --allow-weak
	expect_eq "rsa 2048 with --allow-weak is accepted" 0 "$RC"
	run_ctl vendor key remove acme "$(fp "$T/rsa-2048.pub")"
}

test_view_file_and_mode() {
	check "the view exists" [ -f "$VIEW" ]
	expect_eq "view: root, the directory's group, 0640" "root nogroup 640" "$(stat -c '%U %G %a' "$VIEW")"
	expect_no_match "view holds no code hash nor TOTP secret" '^(code|totp|note) ' "$(cat "$VIEW")"
	check "view holds the keys" grep -q "^key $(awk '{print $2}' "$T/ed25519-256.pub")" "$VIEW"
}

test_keys_served_only_inside_the_window() {
	keys_for acme
	expect_eq "disabled vendor: no key, exit 0" "0 0" "$KRC $(printf '%s' "$KOUT" | grep -c .)"
	ctl enable acme --for 1h >/dev/null
	keys_for acme
	expect_eq "open window: one line per key" "0 2" "$KRC $(printf '%s\n' "$KOUT" | grep -c .)" "$(cat "$T/keys.err")"
	expect_eq "each key restricted to the vendor's addresses, with a pty" \
		"restrict,pty,from=\"203.0.113.7,2001:db8:7::/48\" $(cat "$T/ed25519-256.pub")" \
		"$(printf '%s\n' "$KOUT" | head -n 1)"
	keys_for bob
	expect_eq "not a vendor: no key, exit 0" "0 " "$KRC $KOUT"
	keys_for '../etc'
	expect_eq "a name that is no vendor name: no key" "0 " "$KRC $KOUT"
	ctl disable acme >/dev/null
	keys_for acme
	expect_eq "disable: the view follows at once" "0 " "$KRC $KOUT"
	ctl enable acme --for 1h --ip 203.0.113.7 >/dev/null
	keys_for acme
	expect_match "narrowed window: from= is the window's list" 'from="203.0.113.7" ' "$KOUT"
	KOUT=$(faketime -f +2h "$KEYSCMD" --config "$CFG" acme)
	expect_eq "after the window's end: no key" "" "$KOUT"
	ctl vendor set acme --hours 'Mon-Sun 00:00-00:01' >/dev/null
	KOUT=$(faketime '2026-12-07 12:00:00' "$KEYSCMD" --config "$CFG" acme)
	expect_eq "outside business hours: no key" "" "$KOUT"
	ctl vendor set acme --no-hours >/dev/null
}

test_targets_and_shell() {
	ctl vendor set acme --target 192.0.2.10:22 --target '[2001:db8::10]:443' >/dev/null
	keys_for acme
	expect_match "targets: forwarding only to them, no shell" \
		'^restrict,command="[^"]*",port-forwarding,permitopen="192.0.2.10:22",permitopen="\[2001:db8::10\]:443",from=' \
		"$(printf '%s\n' "$KOUT" | head -n 1)"
	run_ctl status acme
	expect_match "status shows the targets" "targets 192.0.2.10:22, \[2001:db8::10\]:443; shell no" "$OUT"
	ctl vendor set acme --shell >/dev/null
	keys_for acme
	expect_match "--shell: a pty and no command" '^restrict,pty,port-forwarding,permitopen=' "$KOUT"
	ctl vendor set acme --no-targets --no-shell >/dev/null
	keys_for acme
	expect_match "--no-targets --no-shell: no forwarding, no shell" '^restrict,command="[^"]*",from=' "$KOUT"
	ctl vendor set acme --shell >/dev/null
	run_ctl --json vendor show acme
	expect_eq "vendor show --json: keys, targets, shell" "2 [] True" \
		"$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["keys"], d["targets"], d["shell"])')"
}

test_bad_view_serves_nothing() {
	ctl keys sync >/dev/null
	chmod g+w "$VIEW"
	keys_for acme
	expect_eq "group-writable view: nothing, exit 1" "1 " "$KRC $KOUT"
	chmod g-w "$VIEW"
	chown nobody "$VIEW"
	keys_for acme
	expect_eq "view not owned by root: nothing, exit 1" "1 " "$KRC $KOUT"
	chown root "$VIEW"
	cp "$VIEW" "$T/view.good"
	head -c -10 "$T/view.good" >"$VIEW"
	keys_for acme
	expect_eq "truncated view: nothing, exit 1" "1 " "$KRC $KOUT"
	sed 's/^window \([0-9]*\) \([0-9]*\)$/window \2 \1/' "$T/view.good" >"$VIEW"
	keys_for acme
	expect_eq "corrupt entry: nothing, exit 1" "1 " "$KRC $KOUT"
	rm -f "$VIEW"
	keys_for acme
	expect_eq "missing view: nothing, exit 1" "1 " "$KRC $KOUT"
	run_ctl expire
	check "otpctl expire (every minute) rebuilds it" [ -f "$VIEW" ]
	rm -f "$VIEW"
	run_ctl keys sync
	expect_match "keys sync rebuilds it" "rewritten: 1 vendor" "$OUT"
	keys_for acme
	check "after keys sync keys are served again" [ -n "$KOUT" ]
}

test_unprivileged_user_reads_the_view() {
	chmod 0755 "$T" # the command opens every directory of the path (no symlink), so reads them
	KOUT=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$KEYSCMD" --config "$CFG" acme 2>/dev/null)
	check "the AuthorizedKeysCommandUser (group of the directory) reads the view" [ -n "$KOUT" ]
	chgrp root "$T/keysview"
	ctl keys sync >/dev/null
	KOUT=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$KEYSCMD" --config "$CFG" acme 2>/dev/null)
	expect_eq "another user cannot read it" "" "$KOUT"
	chgrp nogroup "$T/keysview"
	chmod 0700 "$T"
}

test_view_removed_when_it_cannot_be_rebuilt() {
	ctl keys sync >/dev/null
	chmod 0000 "$STORE/acme.rec" # root still reads it: break the record instead
	chmod 0600 "$STORE/acme.rec"
	cp "$STORE/acme.rec" "$T/acme.rec.good"
	printf 'garbage' >>"$STORE/acme.rec"
	run_ctl enable acme --for 1h --replace
	expect_eq "a command that cannot rebuild the view fails" 1 "$RC"
	check "the stale view is removed (no key served)" [ ! -e "$VIEW" ]
	cp "$T/acme.rec.good" "$STORE/acme.rec"
	ctl keys sync >/dev/null
}

# doctor_keys SSHD-BODY-LINES...: run doctor (sshd area and the store only) against an sshd
# config whose vendor Match block has these lines; FINDINGS gets "id" lines.
doctor_keys() {
	{
		echo "HostKey $T/hostkey"
		echo "UsePAM yes"
		echo "KbdInteractiveAuthentication yes"
		echo "UseDNS no"
		echo "Match User $DV"
		printf '\t%s\n' "AuthenticationMethods publickey,keyboard-interactive:pam" "$@"
	} >"$T/sshd_config"
	FINDINGS=$("$OTPCTL" --config "$CFG" --json doctor --sshd-config "$T/sshd_config" \
		--skip pam --skip audit --skip system --skip vendor 2>/dev/null |
		python3 -c 'import json,sys; [print(f["id"]) for f in json.load(sys.stdin)["findings"]]')
}

test_doctor_checks_the_keys_command() {
	DV=kd$PV_RUN
	add_user "$DV" -M -s /bin/sh || { not_ok "doctor: test account" "useradd failed"; return; }
	mkdir -p /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
	ctl vendor add "$DV" --ip 203.0.113.9 >/dev/null 2>&1
	local good=("AuthorizedKeysFile none" "AuthorizedKeysCommand $KEYSCMD --config $CFG %u"
		"AuthorizedKeysCommandUser nobody" "AllowTcpForwarding local")
	doctor_keys "${good[@]}"
	expect_match "doctor: a vendor without a stored key is named" "sshd.keys_command.$DV.keys" "$FINDINGS"
	ctl vendor key add "$DV" "$T/ed25519-256.pub" >/dev/null
	doctor_keys "${good[@]}"
	expect_no_match "doctor: the example's settings pass" "sshd.keys_command" "$FINDINGS"
	doctor_keys "AuthorizedKeysCommand $KEYSCMD --config $CFG %u" "AuthorizedKeysCommandUser root" \
		"AllowTcpForwarding yes"
	expect_match "doctor: authorized_keys still read, root as the command's user, -R allowed" \
		"^sshd.keys_command.$DV\$" "$FINDINGS"
	add_user "r0$PV_RUN" -o -u 0 -M -s /usr/sbin/nologin 2>/dev/null &&
		doctor_keys "AuthorizedKeysFile none" "AuthorizedKeysCommand $KEYSCMD --config $CFG %u" \
			"AuthorizedKeysCommandUser r0$PV_RUN" "AllowTcpForwarding local" &&
		expect_match "doctor: a uid 0 AuthorizedKeysCommandUser under another name" \
			"^sshd.keys_command.$DV\$" "$FINDINGS"
	doctor_keys "AllowTcpForwarding no"
	expect_match "doctor: stored keys that sshd does not ask for are named" "sshd.keys_command.$DV.keys" "$FINDINGS"
	doctor_keys "AuthorizedKeysFile none" "AuthorizedKeysCommand $KEYSCMD %u" \
		"AuthorizedKeysCommandUser nobody" "AllowTcpForwarding local"
	expect_match "doctor: a command reading another configuration than otpctl's is named" \
		"sshd.keys_command.config" "$FINDINGS"
	# SHOULD-4: the view's freshness rests on the expire timer (no systemd here: not active).
	if systemctl is-active --quiet pam-vendor-expire.timer 2>/dev/null; then
		skip "doctor: the expire timer not active is named" "the timer is active here"
	else
		expect_match "doctor: the expire timer not active is named" "^sshd.keys_view.timer\$" "$FINDINGS"
	fi
	expect_no_match "doctor: a fresh view is not called old" "sshd.keys_view.age" "$FINDINGS"
	touch -d '-10 minutes' "$VIEW"
	doctor_keys "${good[@]}"
	expect_match "doctor: a view older than five minutes is named" "^sshd.keys_view.age\$" "$FINDINGS"
	ctl keys sync >/dev/null
	chgrp root "$T/keysview"
	doctor_keys "${good[@]}"
	expect_match "doctor: a view the command's user cannot read is named" "sshd.keys_command.view" "$FINDINGS"
	chgrp nogroup "$T/keysview"
	ctl vendor remove "$DV" >/dev/null 2>&1
}

# SHOULD-1 of the review: two otpctl runs rebuilding the view at once. strace holds the view's
# rename of an unrelated `vendor set` (its third renameat: record, serial, view) for 3 s; a
# `disable` runs meanwhile. Without the view lock the held, older snapshot (keys served) is
# renamed last and wins; with it, disable waits and loads the store after the rename.
test_concurrent_rebuilds_keep_the_newest() {
	if ! command -v strace >/dev/null 2>&1; then
		skip "concurrent view rebuilds" "strace is not installed"; return
	fi
	ctl vendor add beta --ip 192.0.2.9 >/dev/null 2>&1
	ctl enable acme --for 1h --replace >/dev/null
	keys_for acme
	check "concurrent rebuilds: keys served before" [ -n "$KOUT" ]
	strace -qq -f -o /dev/null -e inject=renameat:delay_enter=3000000:when=3 \
		"$OTPCTL" --config "$CFG" vendor set beta --note later >/dev/null 2>&1 &
	local pid=$! i
	for i in $(seq 1 200); do # until the held writer's new view is written (its rename waits)
		compgen -G "$T/keysview/.view.*.tmp" >/dev/null && break
		sleep 0.05
	done
	run_ctl disable acme
	expect_eq "concurrent rebuilds: disable works" 0 "$RC" "$ERR"
	wait "$pid"
	keys_for acme
	expect_eq "concurrent rebuilds: the older snapshot never wins (no key after disable)" "0 " "$KRC $KOUT"
	ctl vendor remove beta >/dev/null 2>&1
	ctl enable acme --for 1h >/dev/null
}

# SHOULD-3 of the review: the command reads keys_view from pam_vendor.conf, the file otpctl
# writes it from; a moved view is followed, the old file is no longer read.
test_command_reads_keys_view_of_the_config() {
	install -d -m 0750 -o root -g nogroup "$T/view2"
	ctl keys sync >/dev/null
	ctl enable acme --for 1h --replace >/dev/null
	cp -p "$VIEW" "$T/view.open" # keys served from the old place
	set_conf keys_view "$T/view2/view"
	ctl disable acme >/dev/null
	check "moved keys_view: otpctl writes the new place" [ -f "$T/view2/view" ]
	cp -p "$T/view.open" "$VIEW" # a stale view with keys at the old place
	keys_for acme
	expect_eq "moved keys_view: the command reads the new view (disabled: no key)" "0 " "$KRC $KOUT"
	ctl enable acme --for 1h --replace >/dev/null
	keys_for acme
	check "moved keys_view: keys served from the new view" [ -n "$KOUT" ]
	chmod g+w "$CFG"
	keys_for acme
	expect_eq "a group-writable configuration: nothing, exit 1" "1 " "$KRC $KOUT"
	chmod g-w "$CFG"
	set_conf keys_view "$VIEW"
	rm -rf "$T/view2"
	ctl keys sync >/dev/null
}

# NIT-3 of the review: keys sync --json escapes the path.
test_keys_sync_json_escapes_the_path() {
	local dir="$T/q\"v"
	install -d -m 0750 -o root -g nogroup "$dir"
	set_conf keys_view "$dir/view"
	run_ctl --json keys sync
	expect_eq "keys sync --json: valid JSON with the path as it is" "$dir/view 1" "$(jget "$OUT" 'd["keys_view"] + " " + str(d["vendors"])')"
	set_conf keys_view "$VIEW"
	rm -rf "$dir"
}

test_no_view_without_its_directory
test_key_add_list_remove
test_bad_keys_are_refused
test_view_file_and_mode
test_keys_served_only_inside_the_window
test_targets_and_shell
test_concurrent_rebuilds_keep_the_newest
test_command_reads_keys_view_of_the_config
test_keys_sync_json_escapes_the_path
test_bad_view_serves_nothing
test_unprivileged_user_reads_the_view
test_view_removed_when_it_cannot_be_rebuilt
test_doctor_checks_the_keys_command
finish

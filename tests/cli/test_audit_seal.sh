#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_audit_seal.sh — forward-secure sealing of the audit log through otpctl, for real as root
# against a private configuration: init and audit setup-sealing print the verification key
# once (text and QR code); otpctl expire seals idle epochs; audit verify --verify-key checks the
# seals, reports until when the log is sealed, and catches an older log + head put back; seals
# continue across rotated (.1, .gz) files. Later epochs come from faketime, never from a hook.
set -u
. "$(dirname "$0")/../lib.sh"
export TZ=UTC

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - test_audit_seal.sh needs root (key, store and log are root's)"
	echo "0 passed, 1 failed"
	exit 1
fi
trap cleanup_dirs EXIT

# libfaketime is LD_PRELOADed before an ASan runtime (make SANITIZE=1): let ASan accept it.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

# at OFFSET otpctl ARGS...: otpctl with the suite's config, the clock OFFSET ahead (+16m).
at() {
	local offset=$1
	shift
	local errf
	errf=$(mktemp)
	OUT=$(faketime -f "$offset" "$OTPCTL" --config "$CFG" "$@" 2>"$errf")
	RC=$?
	ERR=$(cat "$errf")
	rm -f "$errf"
}

# verify_at OFFSET: otpctl audit verify --verify-key - (the key on stdin) at that offset.
verify_at() {
	local errf
	errf=$(mktemp)
	OUT=$(printf '%s\n' "$KEY" | faketime -f "$1" "$OTPCTL" --config "$CFG" audit verify --verify-key - 2>"$errf")
	RC=$?
	ERR=$(cat "$errf")
	rm -f "$errf"
}

seal_count() { grep -c '"event":"seal"' "$@" 2>/dev/null || true; }

# --- init prints the verification key once -----------------------------------------------------

test_init_prints_the_verification_key() {
	new_env
	local d=$T/fresh
	mkdir -p "$d"
	sed "s|$T/|$d/|" "$CFG" >"$d/pam_vendor.conf"
	OUT=$("$OTPCTL" --config "$d/pam_vendor.conf" init 2>&1)
	expect_eq "init: exit 0" 0 $?
	expect_match "init prints the verification key as text" \
		'pvseal1-[0-9a-f]{64}-[0-9]+-900' "$OUT"
	expect_match "init prints it as a QR code too" '█▀|▀█|▄█|█▄' "$OUT"
	expect_match "init says to keep it off the machine" 'OFF this machine' "$OUT"
	check "the sealing state is 0600 beside the log" \
		test "$(stat -c %a "$d/log/audit.log.seal")" = 600
	local k0
	k0=$(printf '%s' "$OUT" | grep -o 'pvseal1-[0-9a-f]*' | head -n 1 | cut -c9-)
	expect_eq "the state does not hold the printed key" 0 "$(grep -ca "$k0" "$d/log/audit.log.seal")"
	expect_eq "the key is not in the audit log" 0 "$(grep -c "$k0" "$d/log/audit.log")"
	expect_eq "init's one audit line says that sealing starts" "1 init audit sealing: epochs of 900 s" \
		"$(wc -l <"$d/log/audit.log") $(tail -n 1 "$d/log/audit.log" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["action"], d["detail"][:30])')"
}

# --- an existing installation: audit setup-sealing --------------------------------------------

test_setup_sealing_on_an_existing_install() {
	new_env "audit_seal_epoch = 15m"
	rm -f "$AUDIT.seal" # an installation from before sealing
	run_ctl --json audit setup-sealing
	expect_eq "setup-sealing: exit 0" 0 "$RC"
	KEY=$(jget "$OUT" 'd["verify_key"]')
	expect_match "setup-sealing --json gives the key" '^pvseal1-[0-9a-f]{64}-[0-9]+-900$' "$KEY"
	expect_eq "the setup is audited, without the key" \
		"audit_sealing_setup audit sealing: epochs of 900 s" \
		"$(audit_last action) $(audit_last detail | cut -d' ' -f1-6)"
	local before
	before=$(sha256sum "$AUDIT.seal")
	run_ctl audit setup-sealing
	expect_eq "a second setup is refused (exit 1)" 1 "$RC"
	expect_match "...in one sentence naming the state" 'already set up .*audit.log.seal' "$ERR"
	expect_eq "...and changes nothing" "$before" "$(sha256sum "$AUDIT.seal")"
	verify_at +0
	expect_eq "verify --verify-key right after setup: exit 0" 0 "$RC"
	expect_match "...not sealed yet" 'intact.*not sealed yet' "$OUT"
	run_ctl audit verify --verify-key "pvseal1-zz-1-900"
	expect_eq "a malformed key: exit 1" 1 "$RC"
	expect_match "...naming the key's form" 'verification key is not of the form' "$ERR"
}

# --- idle epochs sealed by expire; a stop of sealing is caught ----------------------------------

test_idle_epochs_are_sealed_by_expire() {
	at +16m expire
	expect_eq "expire after an epoch: exit 0" 0 "$RC"
	expect_eq "expire wrote one seal line" 1 "$(seal_count "$AUDIT")"
	expect_eq "...for epoch 0" 0 "$(audit_last seal_epoch)"
	at +17m expire
	expect_eq "expire within the same epoch writes no other seal" 1 "$(seal_count "$AUDIT")"
	verify_at +17m
	expect_eq "verify with the key after the seal: exit 0" 0 "$RC"
	expect_match "...says until when it is sealed" 'sealed up to .*\(epoch 0, 1 seals\)' "$OUT"
	verify_at +50m
	expect_eq "no seal for two epochs (no expire ran): exit 1" 1 "$RC"
	expect_match "...says the log stops being sealed" 'sealed only up to' "$ERR"
}

# --- an older log + head put back ---------------------------------------------------------------

test_older_log_and_head_put_back() {
	cp -p "$AUDIT" "$T/old.log"
	cp -p "$AUDIT.head" "$T/old.head"
	at +31m expire
	at +46m expire
	at +61m expire
	verify_at +62m
	expect_eq "sealed through epoch 3: exit 0" 0 "$RC"
	cp -p "$T/old.log" "$AUDIT"
	cp -p "$T/old.head" "$AUDIT.head"
	run_ctl audit verify
	expect_eq "the older pair passes the local verify (what sealing is for)" 0 "$RC"
	verify_at +62m
	expect_eq "...but not the verify with the key: exit 1" 1 "$RC"
	expect_match "...naming the stop of the seals" 'sealed only up to .*epoch 0' "$ERR"
}

# --- root later: the MAC key and the sealing state of epoch 2 ----------------------------------

# write_rechain FILE: rechain.py KEYFILE LOG LINENO FROM TO does what root can do with the MAC
# key: replace FROM by TO in line LINENO, then re-make every line's prev and MAC after it and
# the head's two slots, so that the local verify passes again. The audit subkey is derived as
# keys.c does (crypto_kdf: BLAKE2b keyed with the master key, salt = subkey id 3, personal =
# "pamvendr").
write_rechain() {
	cat >"$1" <<'EOF'
import hashlib, re, sys
keyfile, log, lineno, old, new = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
master = bytes.fromhex(open(keyfile).read().strip())
sub = hashlib.blake2b(b'', digest_size=32, key=master, salt=(3).to_bytes(8, 'little') + bytes(8),
                      person=b'pamvendr' + bytes(8)).digest()
lines = open(log).read().splitlines()
prev, macs = '0' * 64, []
for i, line in enumerate(lines, 1):
    body = line[:line.rindex(',"mac":"')]
    if i == lineno:
        assert old in body, 'nothing to replace'
        body = body.replace(old, new, 1)
    body = re.sub(r'"prev":"[0-9a-f]{64}"', '"prev":"%s"' % prev, body, count=1)
    prev = hashlib.blake2b(body.encode(), digest_size=32, key=sub).hexdigest()
    macs.append(prev)
    lines[i - 1] = '%s,"mac":"%s"}' % (body, prev)
open(log, 'w').write('\n'.join(lines) + '\n')
slots = [b'', b'']
for seq in (len(macs) - 1, len(macs)):
    text = 'pam_vendor-audit-head 1 %d %s 1' % (seq, macs[seq - 1])
    mac = hashlib.blake2b(b'pam_vendor audit head\n' + text.encode(), digest_size=32, key=sub).hexdigest()
    slots[seq % 2] = ('%s %s\n' % (text, mac)).encode().ljust(512, b'\0')
open(log + '.head', 'wb').write(slots[0] + slots[1])
EOF
}

test_root_later_cannot_rewrite_a_sealed_epoch() {
	new_env
	write_rechain "$T/rechain.py"
	rm -f "$AUDIT.seal"
	run_ctl --json audit setup-sealing
	KEY=$(jget "$OUT" 'd["verify_key"]')
	at +20m vendor add pvsealv --ip 192.0.2.1 # epoch 1 (the seal of epoch 0 first)
	expect_eq "an admin line in epoch 1: exit 0" 0 "$RC"
	local victim
	victim=$(grep -n '"action":"vendor_add"' "$AUDIT" | cut -d: -f1)
	at +31m expire # epoch 2: epoch 1 sealed, the state now holds k_2
	expect_eq "the state root finds holds epoch 2's key, no earlier one" 2 \
		"$(head -c 80 "$AUDIT.seal" | cut -d' ' -f5)"
	python3 "$T/rechain.py" "$T/etc/master.key" "$AUDIT" "$victim" 192.0.2.1 198.51.100.9
	run_ctl audit verify
	expect_eq "root re-made the chain and the head: the local verify passes" 0 "$RC"
	verify_at +32m
	expect_eq "...the verify with the key does not: exit 1" 1 "$RC"
	expect_match "...naming epoch 1, whose seal no longer matches" \
		'the seal of epoch 1 .*does not match' "$ERR"
}

# --- rotation: seals continue across .1 and .gz files ------------------------------------------

test_seals_continue_across_rotation() {
	new_env
	rm -f "$AUDIT.seal"
	run_ctl --json audit setup-sealing
	KEY=$(jget "$OUT" 'd["verify_key"]')
	at +16m expire
	mv "$AUDIT" "$AUDIT.1" # logrotate's create mode: the next append creates the file
	at +31m expire
	gzip "$AUDIT.1" && mv "$AUDIT.1.gz" "$AUDIT.2.gz"
	mv "$AUDIT" "$AUDIT.1"
	at +46m expire
	expect_eq "one seal in each file" "1 1 1" \
		"$(zcat "$AUDIT.2.gz" | seal_count) $(seal_count "$AUDIT.1") $(seal_count "$AUDIT")"
	verify_at +47m
	expect_eq "verify with the key spans .2.gz, .1 and the log: exit 0" 0 "$RC"
	expect_match "...three seals, through epoch 2" '\(epoch 2, 3 seals\)' "$OUT"
}

# --- the epoch length is a config key -----------------------------------------------------------

test_epoch_length_config() {
	new_env
	set_conf audit_seal_epoch 5s
	run_ctl audit verify
	expect_eq "audit_seal_epoch below 10s: refused (exit 1)" 1 "$RC"
	expect_match "...naming the key" 'audit_seal_epoch' "$ERR"
	set_conf audit_seal_epoch 10s
	rm -f "$AUDIT.seal"
	run_ctl --json audit setup-sealing
	expect_eq "a 10 s epoch: setup-sealing exit 0" "0 10" "$RC $(jget "$OUT" 'd["seal_epoch_s"]')"
}

# --- a stop on purpose, then a new run -------------------------------------------------------

test_stop_sealing_then_a_new_run() {
	local key1
	new_env
	rm -f "$AUDIT.seal"
	run_ctl --json audit setup-sealing
	KEY=$(jget "$OUT" 'd["verify_key"]')
	key1=$KEY
	at +16m expire
	at +20m audit stop-sealing
	expect_eq "stop-sealing: exit 0" 0 "$RC"
	check "the sealing state is gone" [ ! -e "$AUDIT.seal" ]
	expect_eq "its line is the sealed seal_stop of epoch 1, audited" "seal_stop audit_sealing_stop 1" \
		"$(audit_last event) $(audit_last action) $(audit_last seal_epoch)"
	at +25m vendor add pvsealw --ip 192.0.2.1 # a line after the stop
	verify_at +3h
	expect_eq "hours later, verify with the key: exit 0 (no staleness after a stop)" 0 "$RC"
	expect_match "...reports the stop and the line after it" \
		'sealing stopped on purpose at .* \(epoch 1, after 1 seals\); 1 lines after the stop not sealed' "$OUT"
	at +3h audit stop-sealing
	expect_eq "a second stop (nothing set up): exit 1" 1 "$RC"
	expect_match "...saying so" 'audit sealing is not set up' "$ERR"
	at +3h --json audit setup-sealing
	expect_eq "setup-sealing after a stop: a new run (exit 0)" 0 "$RC"
	KEY=$(jget "$OUT" 'd["verify_key"]')
	check "...with a new verification key" [ "$KEY" != "$key1" ]
	at +196m expire
	expect_eq "expire in run 2: exit 0 ($ERR)" 0 "$RC"
	OUT=$(printf '%s\n' "$KEY" | faketime -f +197m "$OTPCTL" --config "$CFG" audit verify \
		--verify-key "$key1" --verify-key - 2>"$T/v.err")
	RC=$?
	expect_eq "both runs' keys (--verify-key twice): exit 0 ($(cat "$T/v.err"))" 0 "$RC"
	expect_match "...run 1 stopped" 'intact \(key 1 of 2\).*sealing stopped on purpose' "$OUT"
	expect_match "...run 2 sealed" 'intact and sealed \(key 2 of 2\).*\(epoch 0, 1 seals\)' "$OUT"
	run_ctl audit verify --verify-key - --verify-key -
	expect_eq "two keys from standard input: usage error (exit 2)" 2 "$RC"
}

test_init_prints_the_verification_key
test_setup_sealing_on_an_existing_install
test_idle_epochs_are_sealed_by_expire
test_older_log_and_head_put_back
test_root_later_cannot_rewrite_a_sealed_epoch
test_seals_continue_across_rotation
test_epoch_length_config
test_stop_sealing_then_a_new_run
finish

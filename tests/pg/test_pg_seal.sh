#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_pg_seal.sh — the seals of several gateways checked in the database's audit table:
# `otpctl audit verify --all-hosts --verify-key HOST=KEY` checks each host's seal lines as the
# local verify does (one verifier), names the host and the epoch of a row edited by someone
# holding the MAC key, refuses a wrong key, and a host without a key unless --unsealed-ok.
# Real PostgreSQL from pg_lib.sh, two gateways in UTS namespaces of their own, later epochs
# from faketime (as test_audit_seal.sh).
set -u
source "$(dirname "$0")/../lib.sh"
export TZ=UTC

source "$(dirname "$0")/pg_lib.sh"
pg_suite_begin "PostgreSQL audit seals"
# libfaketime is LD_PRELOADed before an ASan runtime (make SANITIZE=1): let ASan accept it.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

cleanup() {
	pg_teardown
	remove_accounts
	cleanup_dirs
}
trap cleanup EXIT
pg_setup pamvendor || { echo "Bail out! cannot start PostgreSQL"; exit 1; }

HA=pvsga$PV_RUN
HB=pvsgb$PV_RUN
GRP=pvsgg$PV_RUN
add_group "$GRP"
new_env "vendor_group = $GRP" "store_backend = postgresql" "pg_conninfo = host=$PGD dbname=pamvendor" "pg_timeout = 10s"
pg_gateway_b

# as_host NAME CMD...: CMD in a UTS namespace whose host name is NAME (one gateway).
as_host() { unshare -u sh -c 'hostname "$0" && exec "$@"' "$@"; }
# at GW OFFSET ARGS...: otpctl of gateway GW (a or b), the clock OFFSET ahead (+16m).
at() {
	local gw=$1 offset=$2 host=$HA cfg=$CFG_A
	shift 2
	[ "$gw" = b ] && host=$HB cfg=$CFG_B
	OUT=$(as_host "$host" faketime -f "$offset" "$OTPCTL" --config "$cfg" "$@" 2>"$T/at.err")
	RC=$?
	ERR=$(cat "$T/at.err")
}
# verify_all OFFSET ARGS...: audit verify --all-hosts ARGS at OFFSET, KEY_B on standard input.
verify_all() {
	local offset=$1
	shift
	OUT=$(printf '%s\n' "$KEY_B" | faketime -f "$offset" "$OTPCTL" --config "$CFG_A" \
		audit verify --all-hosts "$@" 2>"$T/v.err")
	RC=$?
	ERR=$(cat "$T/v.err")
}

# rechain.py KEYFILE HOST SEQ FROM TO: what someone holding the MAC key can do to the table:
# replace FROM by TO in HOST's row SEQ, re-make the prev and MAC of every later row and the
# host's head, as SQL on stdout. The audit subkey as keys.c derives it (crypto_kdf: BLAKE2b
# keyed with the master key, salt = subkey id 3, personal = "pamvendr"), as test_audit_seal.sh.
cat >"$T/rechain.py" <<'EOF'
import hashlib, re, subprocess, sys
keyfile, host, target, old, new = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
master = bytes.fromhex(open(keyfile).read().strip())
sub = hashlib.blake2b(b'', digest_size=32, key=master, salt=(3).to_bytes(8, 'little') + bytes(8),
                      person=b'pamvendr' + bytes(8)).digest()
rows = [l.split('|', 1) for l in sys.stdin.read().splitlines()]
prev = None
for seq, line in rows:
    seq = int(seq)
    body = line[:line.rindex(',"mac":"')]
    if seq == target:
        assert old in body, 'nothing to replace'
        body = body.replace(old, new, 1)
    if prev is not None:
        body = re.sub(r'"prev":"[0-9a-f]{64}"', '"prev":"%s"' % prev, body, count=1)
    prev = hashlib.blake2b(body.encode(), digest_size=32, key=sub).hexdigest()
    if seq >= target:
        print("UPDATE pam_vendor_audit SET line = $pv$%s,\"mac\":\"%s\"}$pv$ WHERE host = '%s' AND seq = %d;" % (body, prev, host, seq))
print("UPDATE pam_vendor_audit_head SET mac = '%s' WHERE host = '%s';" % (prev, host))
EOF

test_two_gateways_sealing() {
	at a +0 db init
	expect_eq "db init: exit 0" 0 "$RC"
	rm -f "$AUDIT.seal" # new_env's init set sealing up; its key was not kept
	at a +0 --json audit setup-sealing
	KEY_A=$(jget "$OUT" 'd["verify_key"]')
	at b +0 --json audit setup-sealing
	KEY_B=$(jget "$OUT" 'd["verify_key"]')
	check "both gateways set sealing up (two keys)" [ -n "$KEY_A" ] && [ -n "$KEY_B" ] && [ "$KEY_A" != "$KEY_B" ]
	at a +16m expire
	at b +16m expire
	at a +20m vendor add pvsgv --ip 192.0.2.1 # a line of epoch 1 on gateway A
	expect_eq "an admin line in epoch 1 on gateway A: exit 0" 0 "$RC"
	for off in +31m +46m; do
		at a "$off" expire
		at b "$off" expire
	done
	expect_eq "each gateway's seals are in the table (3 each)" "3 3" \
		"$(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE host = '$HA' AND line LIKE '%\"event\":\"seal\"%'") $(psql_q "SELECT count(*) FROM pam_vendor_audit WHERE host = '$HB' AND line LIKE '%\"event\":\"seal\"%'")"
	verify_all +47m --verify-key "$HA=$KEY_A" --verify-key "$HB=-"
	expect_eq "right keys for both hosts: exit 0" 0 "$RC"
	expect_match "host A: intact and sealed, with until when" \
		"host $HA: intact and sealed, .*sealed up to .*\(epoch 2, 3 seals\)" "$OUT"
	expect_match "host B too" "host $HB: intact and sealed, .*\(epoch 2, 3 seals\)" "$OUT"
	verify_all +47m
	expect_eq "no key at all: the chains only, exit 0 (as before sealing)" 0 "$RC"
}

test_keys_missing_or_wrong() {
	verify_all +47m --verify-key "$HA=$KEY_A"
	expect_eq "a host without a key: exit 1" 1 "$RC"
	expect_match "...named, seals not checked" "host $HB: intact chain, but seals not checked" "$ERR"
	verify_all +47m --verify-key "$HA=$KEY_A" --unsealed-ok "$HB"
	expect_eq "...unless --unsealed-ok names it: exit 0" 0 "$RC"
	expect_match "...and says so" "host $HB: intact, .*seals not checked \(--unsealed-ok\)" "$OUT"
	verify_all +47m --verify-key "$HA=-" --verify-key "$HB=$KEY_A"
	expect_eq "keys swapped (a wrong key): exit 1" 1 "$RC"
	expect_match "...naming the host" "host $HA: NOT intact: .*sealed only up to" "$ERR"
	verify_all +47m --verify-key "$HA=-" --verify-key "$HB=-"
	expect_eq "two keys from standard input: usage error (exit 2)" 2 "$RC"
	verify_all +47m --verify-key "$HA=$KEY_A" --verify-key "nosuchhost=-"
	expect_eq "a key for a host the table does not hold: exit 1" 1 "$RC"
	expect_match "...named" "host nosuchhost is named on the command line but is not in the audit table" "$ERR"
	verify_all +80m --verify-key "$HA=$KEY_A" --verify-key "$HB=-"
	expect_eq "the same staleness rule per host: no seal for two epochs, exit 1" 1 "$RC"
	expect_match "...naming the host" "host $HA: NOT intact: .*sealed only up to" "$ERR"
}

test_row_of_an_older_epoch_edited() {
	local seq
	seq=$(psql_q "SELECT seq FROM pam_vendor_audit WHERE host = '$HA' AND line LIKE '%\"action\":\"vendor_add\"%'")
	psql_q "SELECT seq, line FROM pam_vendor_audit WHERE host = '$HA' ORDER BY seq" |
		python3 "$T/rechain.py" "$T/etc/master.key" "$HA" "$seq" 192.0.2.1 198.51.100.9 >"$T/forge.sql"
	as_pg "$PGBIN/psql" -h "$PGD" -At -q -d pamvendor <"$T/forge.sql" >/dev/null
	expect_match "the row now names the other address" 198.51.100.9 \
		"$(psql_q "SELECT line FROM pam_vendor_audit WHERE host = '$HA' AND seq = $seq")"
	verify_all +47m
	expect_eq "chain and head re-made with the MAC key: the chain-only verify passes" 0 "$RC"
	[ "$RC" -eq 0 ] || printf '# verify said: %s\n' "$ERR" "$OUT"
	verify_all +47m --verify-key "$HA=$KEY_A" --verify-key "$HB=-"
	expect_eq "...the verify with the keys does not: exit 1" 1 "$RC"
	expect_match "...naming the host and epoch 1, whose seal no longer matches" \
		"host $HA: NOT intact: .*\(host $HA\).*the seal of epoch 1 .*does not match" "$ERR"
	expect_match "...host B still intact and sealed" "host $HB: intact and sealed" "$OUT"
}

test_two_gateways_sealing
test_keys_missing_or_wrong
test_row_of_an_older_epoch_edited
finish

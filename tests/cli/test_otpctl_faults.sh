#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_otpctl_faults.sh — a command that cannot save changes nothing and says so, and the
# audit log never claims a change the store does not hold (the store on a full file system);
# a lock held by someone else ends in a refusal after lock_timeout even when the monotonic
# clock stands still (libfaketime with a fixed time stops it).
set -u
source "$(dirname "$0")/../lib.sh"

MNT=""
cleanup() {
	[ -n "$MNT" ] && umount "$MNT" 2>/dev/null
	cleanup_dirs
}
trap cleanup EXIT

test_full_store_disk_changes_nothing() {
	new_env
	run_ctl vendor add acme --ip 203.0.113.7
	run_ctl enable acme --for 1h
	# Move the store onto a tiny tmpfs, then fill it.
	local saved=$T/store.saved
	cp -a "$STORE" "$saved"
	MNT=$STORE
	if ! mount -t tmpfs -o size=64k,mode=0700 tmpfs "$STORE" 2>/dev/null; then
		MNT=""
		echo "SKIP: cannot mount a tmpfs here"
		return
	fi
	cp -a "$saved/." "$STORE/"
	dd if=/dev/zero of="$STORE/filler" bs=4k count=100 2>/dev/null
	local before
	before=$(sha256sum "$STORE/acme.rec")
	run_ctl issue acme
	expect_eq "issue on a full store fails" 1 "$RC"
	expect_eq "no code is printed when it could not be saved" "" "$OUT"
	expect_match "the error names the file system problem" 'No space left on device' "$ERR"
	expect_eq "the record is byte-identical" "$before" "$(sha256sum "$STORE/acme.rec")"
	expect_eq "the audit log shows the issue..." "admin allow issue" \
		"$(tail -n 2 "$AUDIT" | head -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["result"], d["action"])')"
	expect_eq "...followed by its failure" "admin error store_error issue" \
		"$(tail -n 1 "$AUDIT" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["result"], d["reason"], d["action"])')"
	run_ctl disable acme
	expect_eq "disable on a full store fails" 1 "$RC"
	rm -f "$STORE/filler"
	run_ctl --json status acme
	expect_eq "after freeing space the window is still open (the failed disable changed nothing)" \
		open "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vendors"][0]["window"])')"
	expect_eq "...and no code was issued" 0 \
		"$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vendors"][0]["outstanding_codes"])')"
	run_ctl audit verify
	expect_eq "the audit log verifies" 0 "$RC"
	umount "$STORE" && MNT=""
}

# A vendor's lock held by another process (a stopped one, here a holder that never lets go):
# under a clock frozen by faketime the wait still ends, counted without the clock.
test_lock_wait_ends_under_a_frozen_clock() {
	local holder t0 rc before
	new_env
	set_conf lock_timeout 2s
	run_ctl vendor add acme --ip 203.0.113.7
	before=$(sha256sum "$STORE/acme.rec")
	python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(120)' "$STORE/acme.lock" "$T/held" &
	holder=$!
	for _ in $(seq 50); do [ -e "$T/held" ] && break; sleep 0.1; done
	t0=$(date +%s)
	# libfaketime is preloaded before the ASan runtime of a sanitizer build: let ASan accept it.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		timeout 60 faketime -f '2026-12-05 10:00:00' "$OTPCTL" --config "$CFG" enable acme --for 1h \
		>/dev/null 2>"$T/err"
	rc=$?
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	expect_eq "frozen clock, lock held: enable is refused (not killed by timeout 60)" 1 "$rc"
	expect_match "... after lock_timeout, saying so" "timed out after 2 s waiting for the lock on $STORE/acme.lock" "$(cat "$T/err")"
	check "... well before the 60 s guard ($(($(date +%s) - t0)) s)" [ $(($(date +%s) - t0)) -lt 30 ]
	expect_eq "... the record is unchanged" "$before" "$(sha256sum "$STORE/acme.rec")"
}

test_full_store_disk_changes_nothing
test_lock_wait_ends_under_a_frozen_clock
finish

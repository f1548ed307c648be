#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_faults.sh — faults and crashes around pam_vendor.so and otpctl, through the real libpam
# (tests/pam/pamdrive.c, private PAM confdir) and the real otpctl, asserted on PAM return codes,
# audit lines, otpctl exit codes and the files on disk. Security catalogue rows:
#   T21 crash safety: 150 random SIGKILLs of logins and `otpctl issue`; SIGKILL at each write,
#       fsync and rename (strace fault injection); a power cut mid-line in the audit log;
#   T22/T23 a full and a read-only store (tmpfs), I/O errors on write, fsync and rename;
#   T47 audit append failing between the line and its head (full tmpfs, injected errors);
#   T14/T15/T19 concurrency of distinct codes, wrong codes, a good code amid bad ones, issue
#       during logins; T46 concurrent appends from logins and otpctl;
#   T39 clock steps of a day around a used code, a lockout and a code's expiry;
#   readers that take no lock (pre-prompt check, otpctl status, audit verify) held by strace at
#       the open of a file that a writer replaces meanwhile.
# What test_module.sh already covers is not repeated here (one code from 50 processes, 20
# distinct codes, audit on a full disk, clock back by 1 h).
#
# Needs root (mount, tmpfs, root-owned files). strace (fault injection) is optional: without it
# those checks are skipped and say so.
# Run from the repository: bash tests/pam/test_faults.sh
# Sanitizer build: PV_BUILD=$PWD/build/san bash tests/pam/test_faults.sh
# PVT_CRASH_ITERATIONS=N changes the number of random kills (default 150).
set -u
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"

pam_suite_start "mount, tmpfs, root-owned files"
NOTE_CRASH_EXCEPT=137 # our own SIGKILL (strace fault injection); anything else above 2 is a crash

# ---------------------------------------------------------------------------------------------
# Helpers of this suite (the shared ones are in tests/pam/lib.sh).

# outstanding [VENDOR]: outstanding codes, without python (used in loops).
outstanding() {
	"$OTPCTL" --config "$CFG" --json status "${1:-acme}" 2>>"$CTL_ERR" |
		sed -n 's/.*"outstanding_codes":\([0-9]*\).*/\1/p'
}

# login CODE [STEPS]: the usual vendor login on service pvtest.
login() { drive pvtest --user acme --rhost "$ALLOWED" --code "$1" --steps "${2:-auth}"; }

# reasons FROM: "reason:count" of the auth lines after line FROM (diagnostics).
reasons() {
	python3 -c 'import json,sys,collections
c=collections.Counter((lambda d: d.get("reason") + ("(%s)" % d["detail"] if d.get("detail") else ""))(json.loads(l)) for l in open(sys.argv[1]).readlines()[int(sys.argv[2]):] if "\"event\":\"auth\"" in l)
print(" ".join("%s:%d" % kv for kv in sorted(c.items())))' "$AUDIT" "$1"
}

# chain_shape FROM: "ok" when every line after FROM is one JSON object ending in a newline and
# the seq numbers of the whole log are strictly increasing by one, else what is wrong.
chain_shape() {
	python3 -c 'import json,sys
data=open(sys.argv[1], "rb").read()
if data and not data.endswith(b"\n"): print("last line unterminated"); sys.exit()
seqs=[]
for i, l in enumerate(data.split(b"\n")[:-1]):
    try: d=json.loads(l)
    except Exception: print("line %d is not one JSON object" % (i + 1)); sys.exit()
    seqs.append(d["seq"])
if len(set(seqs)) != len(seqs): print("duplicate seq"); sys.exit()
if seqs != list(range(seqs[0], seqs[0] + len(seqs))): print("gap or disorder: %s" % seqs[-30:]); sys.exit()
print("ok")' "$AUDIT"
}

# verify_rc: `otpctl audit verify` exit code (message in ERR).
verify_rc() {
	ctlrun audit verify
	echo "$RC"
}

# store_temps / head_temps: stale temp files left by interrupted atomic writes.
store_temps() { find "$STORE" -maxdepth 1 -name '.acme.rec.*.tmp' | wc -l; }
head_temps() { find "$(dirname "$AUDIT")" -maxdepth 1 -name ".$(basename "$AUDIT").head.*.tmp" | wc -l; }

# only_acme_listed: `vendor list` and `status` show exactly acme (temp files are not vendors).
only_acme_listed() {
	local a b
	a=$("$OTPCTL" --config "$CFG" --json vendor list 2>>"$CTL_ERR" | grep -o '"vendor":"[^"]*"' | tr '\n' ' ')
	b=$("$OTPCTL" --config "$CFG" --json status 2>>"$CTL_ERR" | grep -o '"vendor":"[^"]*"' | tr '\n' ' ')
	[ "$a" = '"vendor":"acme" ' ] && [ "$b" = '"vendor":"acme" ' ]
}

# tmpfs_at DIR SIZE: move DIR's content onto a fresh tmpfs mounted over it (root, 0700).
tmpfs_at() {
	local dir=$1 size=$2 keep
	keep=$(mktemp -d "$S/keep.XXXXXX")
	cp -a "$dir/." "$keep/" || return 1
	mount -t tmpfs -o "size=$size,mode=0700,uid=0,gid=0" pvtfaults "$dir" || return 1
	PVT_MOUNTS+=("$dir")
	cp -a "$keep/." "$dir/"
}

untmpfs() {
	local m=$1 i
	mountpoint -q "$m" && umount "$m"
	for i in "${!PVT_MOUNTS[@]}"; do
		[ "${PVT_MOUNTS[$i]}" = "$m" ] && unset 'PVT_MOUNTS[i]'
	done
	PVT_MOUNTS=("${PVT_MOUNTS[@]}")
}

# fill DIR: a filler file (leading '.', never a vendor or rotated log) up to ENOSPC.
fill() { dd if=/dev/zero of="$1/.pvt-fill" bs=4k 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# 1. T21: random SIGKILLs. Odd rounds kill a login (auth,account) with a fresh code, even
# rounds kill `otpctl issue`, 0-30 ms after the start (biased towards the first 8 ms, while
# the process is still working). After each kill: the store opens, temp files are ignored,
# audit verify passes (or reports only a torn last line that the next command repairs), a
# code the audit shows as accepted is never accepted again, and a code otpctl printed works.

crash_note() { [ "${#CRASH_FAIL[@]}" -lt 5 ] && CRASH_FAIL+=("round $1: $2"); CRASH_BAD=$((CRASH_BAD + 1)); }

# reprobe_used: every code accepted so far in this window is now refused as reused.
reprobe_used() {
	local c out
	for c in "${USED_CODES[@]}"; do
		out=$("$PAMDRIVE" --confdir "$T/pam.d" --service pvcrash --user acme --rhost "$ALLOWED" \
			--code "$c" --steps auth 2>>"$DRIVE_ERR")
		if ! printf '%s\n' "$out" | grep -q '^auth=PAM_AUTH_ERR$' ||
			[ "$(tail -n 1 "$AUDIT" | grep -o '"reason":"[a-z_]*"')" != '"reason":"otp_reused"' ]; then
			REPROBE_BAD=$((REPROBE_BAD + 1))
			[ "${#REPROBE_FAIL[@]}" -lt 3 ] && REPROBE_FAIL+=("$c: $(printf '%s' "$out" | head -n 1)")
		fi
		REPROBES=$((REPROBES + 1))
	done
}

test_crash_random() {
	local rounds=${PVT_CRASH_ITERATIONS:-150} i pid rc d n0 new out allow pr code o0 o1 t0 t1 st
	local killed=0 finished=0 mid_store=0 mid_head=0 silent=0 torn=0 printed=0 unprinted=0
	local login_rounds=0 issue_rounds=0 started=$SECONDS
	CRASH_FAIL=()
	CRASH_BAD=0
	REPROBE_FAIL=()
	REPROBE_BAD=0
	REPROBES=0
	USED_CODES=()
	vendor_env "max_failures = 1000"
	set_conf lock_timeout 10s
	pam_service pvcrash
	for ((i = 1; i <= rounds; i++)); do
		# 32 codes at most per vendor and used codes stay until they expire: a new window
		# (disable revokes every code) every 24 rounds, after checking the used ones.
		if ((i % 24 == 0)); then
			reprobe_used
			USED_CODES=()
			"$OTPCTL" --config "$CFG" disable acme >/dev/null 2>>"$CTL_ERR" &&
				"$OTPCTL" --config "$CFG" enable acme --for 2h >/dev/null 2>>"$CTL_ERR" ||
				crash_note "$i" "disable/enable failed"
		fi
		n0=$(audit_lines)
		t0=$(store_temps)
		t1=$(head_temps)
		rm -f "$S/kill.out" # killed before its redirection, a job leaves no file at all
		if ((RANDOM % 3 == 0)); then d=$((RANDOM % 30000)); else d=$((RANDOM % 8000)); fi
		d=$(printf '0.%06d' "$d")
		if ((i % 2 == 1)); then
			login_rounds=$((login_rounds + 1))
			code=$(otp_of "$("$OTPCTL" --config "$CFG" --json issue acme 2>>"$CTL_ERR")")
			[ -n "$code" ] || { crash_note "$i" "otpctl issue failed before the kill"; continue; }
			"$PAMDRIVE" --confdir "$T/pam.d" --service pvcrash --user acme --rhost "$ALLOWED" \
				--code "$code" --steps auth,account >"$S/kill.out" 2>>"$DRIVE_ERR" &
		else
			issue_rounds=$((issue_rounds + 1))
			o0=$(outstanding)
			"$OTPCTL" --config "$CFG" --json issue acme >"$S/kill.out" 2>>"$CTL_ERR" &
		fi
		pid=$!
		PVT_PIDS=("$pid")
		sleep "$d"
		kill -KILL "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
		rc=$?
		PVT_PIDS=()
		if [ "$rc" -eq 137 ]; then killed=$((killed + 1)); else finished=$((finished + 1)); fi
		[ "$rc" -gt 2 ] && [ "$rc" -ne 137 ] && crash_note "$i" "exit $rc (crash?)"
		[ "$(store_temps)" -gt "$t0" ] && mid_store=$((mid_store + 1))
		[ "$(head_temps)" -gt "$t1" ] && mid_head=$((mid_head + 1))

		# The store opens; stale temp files are no vendors.
		"$OTPCTL" --config "$CFG" --json status acme >"$S/st.json" 2>>"$CTL_ERR" ||
			crash_note "$i" "otpctl status fails after the kill"
		only_acme_listed || crash_note "$i" "vendor list/status shows something besides acme"
		# The chain: intact, or only a torn last line that the next command repairs.
		if ! "$OTPCTL" --config "$CFG" audit verify >/dev/null 2>"$S/verify.err"; then
			if grep -q 'incomplete line' "$S/verify.err"; then
				torn=$((torn + 1))
				"$OTPCTL" --config "$CFG" unlock acme >/dev/null 2>>"$CTL_ERR"
				"$OTPCTL" --config "$CFG" audit verify >/dev/null 2>"$S/verify.err" ||
					crash_note "$i" "verify still fails after one more command: $(cat "$S/verify.err")"
			else
				crash_note "$i" "audit verify: $(cat "$S/verify.err")"
			fi
		fi
		new=$(tail -n +"$((n0 + 1))" "$AUDIT")
		if ((i % 2 == 1)); then
			allow=$(printf '%s\n' "$new" | grep -c '"event":"auth",.*"result":"allow"')
			if grep -qs '^auth=PAM_SUCCESS$' "$S/kill.out" && [ "$allow" -ne 1 ]; then
				crash_note "$i" "pamdrive reported success but the audit has no auth allow"
			fi
			out=$("$PAMDRIVE" --confdir "$T/pam.d" --service pvcrash --user acme \
				--rhost "$ALLOWED" --code "$code" --steps auth 2>>"$DRIVE_ERR")
			pr=$(printf '%s\n' "$out" | sed -n 's/^auth=//p')
			if [ "$allow" -ge 1 ]; then
				# Audited as accepted: consumed on disk before that line was written.
				[ "$pr" = PAM_AUTH_ERR ] && tail -n 1 "$AUDIT" | grep -q '"reason":"otp_reused"' ||
					crash_note "$i" "a code audited as allowed was not refused as reused ($pr)"
				USED_CODES+=("$code")
			elif [ "$pr" = PAM_SUCCESS ]; then
				USED_CODES+=("$code") # never got as far as consuming it: it works once
			elif [ "$pr" = PAM_AUTH_ERR ]; then
				silent=$((silent + 1)) # consumed, then killed before the audit: burnt
				USED_CODES+=("$code")
				tail -n 1 "$AUDIT" | grep -q '"reason":"otp_reused"' ||
					crash_note "$i" "the killed login's code denied, but not as otp_reused"
			else
				crash_note "$i" "probe answered [$pr]"
			fi
		else
			o1=$(sed -n 's/.*"outstanding_codes":\([0-9]*\).*/\1/p' "$S/st.json")
			code=$(otp_of "$(cat "$S/kill.out" 2>/dev/null)")
			if [ -n "$code" ]; then
				printed=$((printed + 1))
				[ "$o1" = $((o0 + 1)) ] ||
					crash_note "$i" "a printed code is not stored ($o0 -> $o1 outstanding)"
				out=$("$PAMDRIVE" --confdir "$T/pam.d" --service pvcrash --user acme \
					--rhost "$ALLOWED" --code "$code" --steps auth 2>>"$DRIVE_ERR")
				if printf '%s\n' "$out" | grep -q '^auth=PAM_SUCCESS$'; then
					USED_CODES+=("$code")
				else
					crash_note "$i" "a code otpctl printed before the kill does not work"
				fi
			else
				[ "$o1" = "$o0" ] || [ "$o1" = $((o0 + 1)) ] ||
					crash_note "$i" "outstanding codes went from $o0 to $o1"
				[ "$o1" = $((o0 + 1)) ] && unprinted=$((unprinted + 1))
			fi
		fi
	done
	reprobe_used
	st=$(printf '%s; ' "${CRASH_FAIL[@]}")
	expect_eq "T21: $rounds random SIGKILLs ($login_rounds logins, $issue_rounds otpctl issue): store, listing, audit chain and codes consistent after every kill" \
		"0" "$CRASH_BAD${CRASH_FAIL[*]:+ ($st)}"
	expect_eq "T21: codes accepted before/around a kill are never accepted again ($REPROBES re-tried)" \
		"0" "$REPROBE_BAD${REPROBE_FAIL[*]:+ (${REPROBE_FAIL[*]})}"
	ctlrun audit verify
	expect_eq "T21: audit verify passes at the end of the kill loop" 0 "$RC"
	expect_eq "T21: audit lines after the kill loop: one JSON object each, seq consecutive" ok "$(chain_shape)"
	issue
	login "$CODE" auth,account
	expect_step "T21: after all the kills a fresh code still logs in" account PAM_SUCCESS
	echo "# T21 diagnostics: $rounds kills in $((SECONDS - started))s: $killed while running," \
		"$finished after the process ended; $mid_store left a record temp file," \
		"$mid_head an audit-head temp file; $silent logins consumed their code but died before" \
		"the audit line; $torn torn audit lines; otpctl issue killed: $printed had printed" \
		"the code, $unprinted stored a code never shown"
	echo "# T21 diagnostics: stale temp files now: $(store_temps) in the store," \
		"$(head_temps) beside the audit log"
}

# ---------------------------------------------------------------------------------------------
# T21, deterministic: strace delivers SIGKILL on entry to the Nth write/fsync/rename of one
# login (and of one `otpctl issue`), i.e. after the temp write, before fsync, after rename,
# before the audit append, between the line and its head. Old or new state, never a torn one.

# traced [INJECT] -- CMD...: run CMD under strace with one fault injection.
traced() {
	local inject=$1
	shift
	[ "$1" = -- ] && shift
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -qq -f -o /dev/null -e "inject=$inject" "$@"
}

# kill_login SYSCALL WHEN CONSUMED(yes|no) ALLOWED(0|1) WHAT
kill_login() {
	local sc=$1 when=$2 consumed=$3 allowed=$4 what=$5 n0 code
	issue
	code=$CODE
	n0=$(audit_lines)
	AUD_BEFORE=$n0
	DOUT=$(traced "$sc:signal=KILL:when=$when" -- "$PAMDRIVE" --confdir "$T/pam.d" --service pvtest \
		--user acme --rhost "$ALLOWED" --code "$code" --steps auth 2>>"$DRIVE_ERR")
	DRC=$?
	expect_eq "T21 kill $what: the login died there (SIGKILL)" 137 "$DRC"
	ctlrun --json status acme
	check "T21 kill $what: store opens, only acme listed" \
		test "$RC" -eq 0 -a "$(only_acme_listed && echo y)" = y
	expect_eq "T21 kill $what: audit verify passes" 0 "$(verify_rc)"
	expect_eq "T21 kill $what: auth allow lines written" "$allowed" "$(audit_count "$n0" auth allow ok)"
	login "$code"
	if [ "$consumed" = yes ]; then
		expect_step "T21 kill $what: the code is used (never accepted again)" auth PAM_AUTH_ERR
		expect_audit "T21 kill $what: retry is otp_reused" "auth deny otp_reused"
	else
		expect_step "T21 kill $what: the code was not consumed (it works once)" auth PAM_SUCCESS
		login "$code"
		expect_step "T21 kill $what: ...and only once" auth PAM_AUTH_ERR
	fi
}

# kill_issue SYSCALL WHEN STORED(0|1) ISSUE_LINE(0|1) WHAT
kill_issue() {
	local sc=$1 when=$2 stored=$3 line=$4 what=$5 n0 o0
	o0=$(outstanding)
	n0=$(audit_lines)
	OUT=$(traced "$sc:signal=KILL:when=$when" -- "$OTPCTL" --config "$CFG" --json issue acme 2>>"$CTL_ERR")
	RC=$?
	expect_eq "T21 kill issue $what: otpctl died there, printed nothing" "137 " "$RC $(otp_of "$OUT")"
	expect_eq "T21 kill issue $what: outstanding codes" $((o0 + stored)) "$(outstanding)"
	expect_eq "T21 kill issue $what: admin issue lines" "$line" "$(audit_count "$n0" admin allow ok)"
	expect_eq "T21 kill issue $what: audit verify passes" 0 "$(verify_rc)"
	check "T21 kill issue $what: only acme listed" only_acme_listed
}

test_crash_points() {
	if ! $HAVE_STRACE; then
		skip "T21 SIGKILL at each write/fsync/rename" "strace is not installed (apt-get install strace)"
		return
	fi
	vendor_env "max_failures = 1000"
	# One login (auth): write record temp, fsync it, rename, fsync store dir; write audit line,
	# fdatasync; write the head slot in place (pwrite), fdatasync; then pamdrive prints.
	kill_login write 1 no 0 "record temp created, before its data"
	kill_login fsync 1 no 0 "record temp written, before fsync"
	kill_login renameat 1 no 0 "record temp synced, before rename"
	kill_login fsync 2 yes 0 "record renamed, before the directory fsync"
	kill_login write 2 yes 0 "record durable, before the audit line"
	kill_login fdatasync 1 yes 1 "audit line written, before fdatasync"
	kill_login pwrite64 1 yes 1 "audit line synced, before the head slot"
	kill_login fdatasync 2 yes 1 "head slot written, before its fdatasync"
	check "T21: the temp files these kills left are still there (and ignored)" \
		test "$(store_temps)" -ge 3
	expect_eq "T21: the head is updated in place: no head temp file ever" 0 "$(head_temps)"
	# otpctl issue audits first (line, head slot), then saves the record, then prints.
	kill_issue write 1 0 0 "before the audit line"
	kill_issue write 2 0 1 "audited, before the record temp data"
	kill_issue renameat 1 0 1 "record temp synced, before its rename"
	kill_issue fsync 2 1 1 "record renamed, before the directory fsync"
	kill_issue write 3 1 1 "record durable, before printing the code"
}

# T21 without strace: the states a power cut leaves that SIGKILL cannot (a torn audit line, a
# head behind the log), and stale temp files planted by hand.
test_power_cut() {
	local n0 size half
	vendor_env "max_failures = 1000"
	issue
	login "$CODE"
	# A power cut in the middle of an audit line (SIGKILL cannot tear one write): the log
	# ends with a fragment and the head still names the line before it.
	cp -p "$AUDIT.head" "$S/head.before"
	size=$(stat -c %s "$AUDIT")
	n0=$(audit_lines)
	ctl "unlock" unlock acme
	half=$(((size + $(stat -c %s "$AUDIT")) / 2))
	truncate -s "$half" "$AUDIT"
	cp -p "$S/head.before" "$AUDIT.head"
	ctlrun audit verify
	expect_eq "T21 torn audit line: verify fails" 1 "$RC"
	expect_match "T21 torn audit line: verify names an incomplete last line only" \
		"ends with an incomplete line after seq $n0" "$ERR"
	ctlrun unlock acme
	expect_eq "T21 torn audit line: the next otpctl command works" 0 "$RC"
	expect_eq "T21 torn audit line: verify passes again" 0 "$(verify_rc)"
	expect_eq "T21 torn audit line: the fragment was cut, the new line follows" \
		"$((n0 + 1)) ok" "$(audit_lines) $(chain_shape)"
	# Power cut between the line and the head: the log is one line ahead.
	cp -p "$AUDIT.head" "$S/head.before"
	ctl "unlock" unlock acme
	cp -p "$S/head.before" "$AUDIT.head"
	expect_eq "T21 head one line behind the log: verify passes (benign)" 0 "$(verify_rc)"
	issue
	login "$CODE"
	expect_step "T21 head one line behind: a login appends" auth PAM_SUCCESS
	expect_eq "T21 head one line behind: chain continues, verify passes" "0 ok" \
		"$(verify_rc) $(chain_shape)"
	# Stale temp files that look like real ones (full and empty) are never read.
	head -c 1500 /dev/urandom >"$STORE/.acme.rec.0123456789abcdef.tmp"
	: >"$STORE/.acme.rec.fedcba9876543210.tmp"
	chmod 600 "$STORE"/.acme.rec.*.tmp
	issue
	login "$CODE" auth,account
	expect_step "T21 planted garbage temp files: login unaffected" account PAM_SUCCESS
	check "T21 planted garbage temp files: not listed" only_acme_listed
}

# ---------------------------------------------------------------------------------------------
# T22/T23 (and T47) with injected errors: ENOSPC/EIO on the store's write, fsync and rename,
# and on each step of the audit append. Denied, never accepted unless the use was saved, and
# the audit chain stays verifiable.

# fault_login INJECT CONSUMED(yes|no|any) KIND(store|audit) WHAT: one login (auth,account)
# with one injected error. A store fault is audited as store_error; an audit fault leaves no
# auth line at all (the allow could not be written, and nothing else is claimed).
fault_login() {
	local inject=$1 consumed=$2 kind=$3 what=$4 code n0 t0 first
	issue
	code=$CODE
	n0=$(audit_lines)
	AUD_BEFORE=$n0
	t0=$(store_temps)
	DOUT=$(traced "$inject" -- "$PAMDRIVE" --confdir "$T/pam.d" --service pvtest --user acme \
		--rhost "$ALLOWED" --code "$code" --steps auth,account 2>>"$DRIVE_ERR")
	DRC=$?
	note_crash "$DRC" "fault $inject"
	expect_step "$what: valid code denied" auth PAM_AUTH_ERR
	expect_step "$what: account denied" account PAM_PERM_DENIED
	if [ "$kind" = store ]; then
		expect_eq "$what: audited as store_error, no allow" "1 0" \
			"$(audit_count "$n0" auth deny store_error) $(audit_count "$n0" auth allow ok)"
	else
		expect_eq "$what: no auth line (allow taken back, no other claim)" "0 0" \
			"$(audit_count "$n0" auth allow ok) $(audit_count "$n0" auth deny store_error)"
	fi
	expect_eq "$what: no temp file left behind" "$t0" "$(store_temps)"
	expect_eq "$what: audit verify passes" 0 "$(verify_rc)"
	[ "$RC" -eq 0 ] || echo "# verify said: $ERR"
	login "$code"
	first=$(step auth)
	case $consumed in
	no) expect_eq "$what: the code was not consumed (its use was not saved): works now" PAM_SUCCESS "$first" ;;
	yes) expect_eq "$what: the code was consumed (fail closed)" PAM_AUTH_ERR "$first" ;;
	esac
	if [ "$first" = PAM_SUCCESS ]; then
		login "$code"
		expect_step "$what: the code is accepted at most once" auth PAM_AUTH_ERR
	fi
}

test_injected_errors() {
	if ! $HAVE_STRACE; then
		skip "T22/T23/T47 injected ENOSPC/EIO" "strace is not installed (apt-get install strace)"
		return
	fi
	vendor_env "max_failures = 1000"
	fault_login "write:error=ENOSPC:when=1" no store "T22 ENOSPC writing the record"
	fault_login "fsync:error=EIO:when=1" no store "T23 EIO on the record's fsync"
	fault_login "renameat:error=ENOSPC:when=1" no store "T22 ENOSPC on the record's rename"
	fault_login "fsync:error=EIO:when=2" any store "T23 EIO on the store directory fsync (after rename)"
	# The second write is the record's serial remembered after the save (core/seen.c): the
	# use is saved, the login denied; the third is the audit line.
	fault_login "write:error=ENOSPC:when=2" yes store "T22 ENOSPC remembering the record's serial"
	fault_login "write:error=ENOSPC:when=3" yes audit "T47 ENOSPC on the audit line"
	fault_login "fdatasync:error=EIO:when=1" yes audit "T47 EIO on the audit line's fdatasync"
	fault_login "pwrite64:error=ENOSPC:when=1" yes audit "T47 ENOSPC writing the audit head slot"
	# The slot is already written (readers see it) when its fdatasync fails: the old slot is
	# put back before the line is taken back, so no head names a line the log does not have.
	fault_login "fdatasync:error=EIO:when=2" yes audit "T47 EIO on the head slot's fdatasync"
	ctlrun unlock acme
	expect_eq "T47 after a failed head fdatasync: the next append keeps the chain verifiable" \
		0 "$(verify_rc)"
	[ "$RC" -eq 0 ] || echo "# verify said: $ERR"
}

# ---------------------------------------------------------------------------------------------
# T22/T23 for real: the store on a small tmpfs, full, then read-only.

test_store_full_readonly() {
	local c1 c2 n0
	vendor_env
	issue
	c1=$CODE
	if ! tmpfs_at "$STORE" 256k; then
		not_ok "mount a tmpfs over the store"
		return
	fi
	expect_eq "T22: the tmpfs store is root's, mode 0700" "0 700" "$(stat -c '%u %a' "$STORE")"
	fill "$STORE"
	login "$c1" auth,account
	expect_step "T22 full store: valid code denied" auth PAM_AUTH_ERR
	expect_step "T22 full store: prompted (the record was readable)" prompts 1
	expect_step "T22 full store: account denied" account PAM_PERM_DENIED
	expect_eq "T22 full store: audit store_error" "auth deny store_error" \
		"$(tail -n 2 "$AUDIT" | head -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["result"], d["reason"])')"
	expect_eq "T22 full store: no temp file left" 0 "$(store_temps)"
	login "$(wrong_of "$c1")"
	expect_audit "T22 full store: a wrong code is store_error too (never a success)" "auth deny store_error"
	n0=$(audit_lines)
	ctlrun --json issue acme
	expect_eq "T22 full store: otpctl issue fails, prints no code" "1 " "$RC $(otp_of "$OUT")"
	expect_match "T22 full store: otpctl says the disk is full" "No space left on device" "$ERR"
	expect_eq "T22 full store: the issue is audited as not saved" "admin error store_error" \
		"$(audit_fields event result reason)"
	ctlrun --json status acme
	expect_eq "T22 full store: status still reads the store" 0 "$RC"
	expect_eq "T22 full store: the code is still outstanding" 1 "$(status_of 'v["outstanding_codes"]')"
	rm -f "$STORE/.pvt-fill"
	login "$c1" auth,account
	expect_step "T22 space freed: the same code works" account PAM_SUCCESS
	login "$c1"
	expect_step "T22 space freed: ...exactly once" auth PAM_AUTH_ERR
	expect_audit "T22 space freed: second use otp_reused" "auth deny otp_reused"

	issue
	c2=$CODE
	if ! mount -o remount,ro "$STORE"; then
		not_ok "remount the store read-only"
		return
	fi
	login "$c2" auth,account
	expect_step "T23 read-only store: valid code denied" auth PAM_AUTH_ERR
	expect_step "T23 read-only store: account denied" account PAM_PERM_DENIED
	expect_eq "T23 read-only store: audit store_error" "auth deny store_error" \
		"$(tail -n 2 "$AUDIT" | head -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["result"], d["reason"])')"
	ctlrun issue acme
	expect_eq "T23 read-only store: otpctl issue fails" 1 "$RC"
	expect_match "T23 read-only store: otpctl says read-only" "[Rr]ead-only file system" "$ERR"
	ctlrun unlock acme
	expect_eq "T23 read-only store: otpctl unlock fails" 1 "$RC"
	ctlrun --json status acme
	expect_eq "T23 read-only store: status still reads the store" 0 "$RC"
	mount -o remount,rw "$STORE"
	login "$c2" auth,account
	expect_step "T23 read-write again: the same code works" account PAM_SUCCESS
	login "$c2"
	expect_step "T23 read-write again: ...exactly once" auth PAM_AUTH_ERR
	expect_eq "T23: audit verify passes" 0 "$(verify_rc)"
	untmpfs "$STORE"
}

# ---------------------------------------------------------------------------------------------
# T47 for real: the audit log on a full tmpfs whose last page has less room than a line, so
# a line is cut short by ENOSPC and taken back (the head, updated in place, needs no new
# space: it is covered by the injected errors above). Then the audit log read-only.

test_audit_head_full_readonly() {
	local dir c n0 size i failures
	vendor_env "max_failures = 1000"
	dir=$T/alog
	mkdir -m 700 "$dir"
	if ! tmpfs_at "$dir" 128k; then
		not_ok "mount a tmpfs for the audit log"
		return
	fi
	set_conf audit_log "$dir/audit.log"
	AUDIT=$dir/audit.log
	issue
	c=$CODE
	# Denied logins (wrong code: failures 1, 2, ...) until the log's last page has 1..150
	# free bytes: less than any line.
	for i in $(seq 80); do
		login "$(wrong_of "$c")"
		size=$(stat -c %s "$AUDIT")
		[ $((4096 - size % 4096)) -ge 1 ] && [ $((4096 - size % 4096)) -le 150 ] && break
	done
	check "T47 full audit log: the last page has less room than a line (${size} bytes)" \
		test $((4096 - size % 4096)) -le 150
	failures=$(status_of 'v["failures"]')
	fill "$dir"
	cp -p "$AUDIT" "$S/audit.before"
	ctlrun unlock acme
	expect_eq "T47 full audit log: otpctl unlock refused" 1 "$RC"
	expect_match "T47 full audit log: otpctl says nothing was changed" "nothing was changed" "$ERR"
	expect_eq "T47 full audit log: the failure counter was not cleared" "$failures" \
		"$(status_of 'v["failures"]')"
	n0=$(audit_lines)
	AUD_BEFORE=$n0
	login "$c" auth,account
	expect_step "T47 audit line cut short (ENOSPC): valid code denied" auth PAM_AUTH_ERR
	expect_step "T47 audit line cut short: account denied" account PAM_PERM_DENIED
	check "T47 audit line cut short: every line was taken back (log unchanged)" \
		cmp -s "$S/audit.before" "$AUDIT"
	expect_eq "T47 audit line cut short: no head temp file left" 0 "$(head_temps)"
	expect_eq "T47 audit line cut short: verify passes" 0 "$(verify_rc)"
	rm -f "$dir/.pvt-fill"
	login "$c"
	expect_audit "T47 space freed: the denied login's code was consumed (otp_reused)" \
		"auth deny otp_reused"

	issue
	c=$CODE
	cp -p "$AUDIT" "$S/audit.before"
	mount -o remount,ro "$dir"
	login "$c" auth,account
	expect_step "T47 read-only audit log: valid code denied" auth PAM_AUTH_ERR
	expect_step "T47 read-only audit log: account denied" account PAM_PERM_DENIED
	check "T47 read-only audit log: log unchanged" cmp -s "$S/audit.before" "$AUDIT"
	ctlrun issue acme
	expect_eq "T47 read-only audit log: otpctl issue refused" 1 "$RC"
	mount -o remount,rw "$dir"
	expect_eq "T47 read-only audit log: verify passes afterwards" 0 "$(verify_rc)"
	issue
	login "$CODE" auth,account
	expect_step "T47 read-write again: a fresh code logs in" account PAM_SUCCESS
	untmpfs "$dir"
}

# ---------------------------------------------------------------------------------------------
# 3. Concurrency (T14, T15, T19).

# par_logins N CODE-ARRAY-NAME SERVICE STEPS: N background logins, outputs in $T/par.I.
par_logins() {
	local n=$1 arr=$2 svc=$3 steps=$4 i code
	local -n codes_ref=$arr
	rm -f "$T"/par.*
	for ((i = 0; i < n; i++)); do
		code=${codes_ref[$i]}
		"$PAMDRIVE" --confdir "$T/pam.d" --service "$svc" --user acme --rhost "$ALLOWED" \
			--code "$code" --steps "$steps" >"$T/par.$i" 2>>"$DRIVE_ERR" &
		PVT_PIDS+=($!)
	done
}

wait_all() {
	local p
	for p in "${PVT_PIDS[@]}"; do
		wait "$p"
		note_crash $? "$1"
	done
	PVT_PIDS=()
}

par_count() { cat "$T"/par.* 2>/dev/null | grep -c "^$1\$"; }

random_wrong() {
	# 8 digits, none of them an issued code (no code is outstanding when this is used, or
	# the caller checks).
	printf '%08d' $(((RANDOM * 32768 + RANDOM) % 100000000))
}

# fresh_window: disable (revokes every code: at most 32 per vendor) and a new window.
fresh_window() {
	ctl "disable" disable acme
	ctl "new window" enable acme --for 2h
}

test_concurrency() {
	local i n0 codes=() wrong=() good pos rounds r ok_rounds issued
	vendor_env "max_failures = 1000"
	set_conf lock_timeout 30s
	for i in $(seq 30); do
		issue
		codes+=("$CODE")
	done
	expect_eq "T14: 30 codes outstanding before the logins" 30 "$(status_of 'v["outstanding_codes"]')"
	n0=$(audit_lines)
	par_logins 30 codes pvtest auth,account
	wait_all "30 parallel distinct codes"
	expect_eq "T14: 30 parallel logins with 30 distinct codes: all auth succeed" 30 \
		"$(par_count auth=PAM_SUCCESS)"
	expect_eq "T14: ...and all account succeed" 30 "$(par_count account=PAM_SUCCESS)"
	expect_eq "T14: 30 auth allow lines" 30 "$(audit_count "$n0" auth allow ok)"
	expect_eq "T14: 30 account allow lines" 30 "$(audit_count "$n0" account allow ok)"
	expect_eq "T14: no update lost: no code left outstanding, no failure" "0 0" \
		"$(status_of '"%s %s" % (v["outstanding_codes"], v["failures"])')"
	expect_eq "T14: audit verify passes" 0 "$(verify_rc)"
	expect_eq "T14: chain shape" ok "$(chain_shape)"

	# T15: 50 parallel wrong codes count exactly 50 (no lock at max_failures = 1000).
	fresh_window
	wrong=()
	for i in $(seq 50); do wrong+=("$(random_wrong)"); done
	n0=$(audit_lines)
	par_logins 50 wrong pvtest auth
	wait_all "50 parallel wrong codes"
	expect_eq "T15: 50 parallel wrong codes: none succeeds" 50 "$(par_count auth=PAM_AUTH_ERR)"
	expect_eq "T15: 50 otp_invalid lines" 50 "$(audit_count "$n0" auth deny otp_invalid)"
	[ "$(audit_count "$n0" auth deny otp_invalid)" = 50 ] ||
		echo "# T15 auth reasons: $(reasons "$n0"); pamdrive: $(cat "$T"/par.* | grep '^auth=' | sort | uniq -c | tr '\n' ' ')"
	expect_eq "T15: the failure counter rose by exactly 50" 50 "$(status_of 'v["failures"]')"

	# T15: max_failures = 5: the lock is reached at 5; what comes after is locked_out and
	# is not counted (the lock is checked under the vendor's lock).
	set_conf max_failures 5
	ctl "unlock" unlock acme
	n0=$(audit_lines)
	par_logins 50 wrong pvtest auth
	wait_all "50 parallel wrong codes, max_failures 5"
	expect_eq "T15 max_failures=5: no login succeeded" 0 "$(par_count auth=PAM_SUCCESS)"
	expect_eq "T15 max_failures=5: locked" true "$(status_of 'v["locked"]')"
	expect_eq "T15 max_failures=5: failures == otp_invalid lines == 5" "5 5" \
		"$(status_of 'v["failures"]') $(audit_count "$n0" auth deny otp_invalid)"
	expect_eq "T15 max_failures=5: the other 45 are locked_out" 45 "$(audit_count "$n0" auth deny locked_out)"
	expect_eq "T15 max_failures=5: all 50 PAM_AUTH_ERR (a lockout is an ordinary refusal)" 50 \
		"$(par_count auth=PAM_AUTH_ERR)"

	# T19: a correct code amid 20 parallel wrong ones, max_failures = 21: the 20 wrong ones
	# can never reach the lock, so pending attempts must not lock the good one out.
	set_conf max_failures 21
	rounds=3
	ok_rounds=0
	for r in $(seq $rounds); do
		fresh_window
		issue
		good=$CODE
		codes=()
		pos=$((RANDOM % 21))
		for i in $(seq 0 20); do
			if [ "$i" -eq "$pos" ]; then
				codes+=("$good")
			else
				codes+=("$(printf '%08d' $(((10#$good + 1 + i) % 100000000)))")
			fi
		done
		n0=$(audit_lines)
		par_logins 21 codes pvtest auth
		wait_all "good code amid wrong ones"
		# The final counter depends on the order the attempts took the vendor's lock (a
		# success resets it): only bounds are certain.
		if grep -q '^auth=PAM_SUCCESS$' "$T/par.$pos" &&
			[ "$(par_count auth=PAM_SUCCESS)" = 1 ] &&
			[ "$(audit_count "$n0" auth deny otp_invalid)" = 20 ] &&
			[ "$(status_of '("%s %s" % (v["locked"], v["failures"] <= 20)).lower()')" = "false true" ]; then
			ok_rounds=$((ok_rounds + 1))
		else
			echo "# T19 round $r: good code at $pos: $(head -n 1 "$T/par.$pos");" \
				"successes $(par_count auth=PAM_SUCCESS); otp_invalid lines" \
				"$(audit_count "$n0" auth deny otp_invalid); status" \
				"$(status_of '"%s %s" % (v["locked"], v["failures"])');" "auth reasons $(reasons "$n0")"
		fi
	done
	expect_eq "T19: a correct code amid 20 parallel wrong ones (max_failures 21) succeeds, 20 otp_invalid, no lock ($rounds rounds)" \
		"$rounds" "$ok_rounds"

	# Parallel otpctl issue during logins: every issued code is stored, no update lost.
	set_conf max_failures 1000
	fresh_window
	codes=()
	for i in $(seq 10); do
		issue
		codes+=("$CODE")
	done
	n0=$(audit_lines)
	par_logins 10 codes pvtest auth,account
	for i in $(seq 10); do
		"$OTPCTL" --config "$CFG" --json issue acme >"$T/iss.$i" 2>>"$CTL_ERR" &
		PVT_CTLPIDS+=($!)
	done
	issued=0
	for i in "${PVT_CTLPIDS[@]}"; do wait "$i" && issued=$((issued + 1)); done
	PVT_CTLPIDS=()
	wait_all "logins during otpctl issue"
	expect_eq "T14: 10 logins during 10 parallel otpctl issue: all succeed" 10 \
		"$(par_count account=PAM_SUCCESS)"
	expect_eq "T14: the 10 parallel otpctl issue all succeed" 10 "$issued"
	expect_eq "T14: every issued code is stored (10 outstanding)" 10 "$(status_of 'v["outstanding_codes"]')"
	expect_eq "T14: 10 admin issue lines, 10 auth allow lines" "10 10" \
		"$(audit_count "$n0" admin allow ok) $(audit_count "$n0" auth allow ok)"
	codes=()
	for i in $(seq 10); do codes+=("$(otp_of "$(cat "$T/iss.$i")")"); done
	ok_rounds=0
	for i in $(seq 0 9); do
		login "${codes[$i]}"
		[ "$(step auth)" = PAM_SUCCESS ] && ok_rounds=$((ok_rounds + 1))
	done
	expect_eq "T14: each of the 10 codes issued in parallel logs in" 10 "$ok_rounds"
	expect_eq "T14: none left outstanding" 0 "$(status_of 'v["outstanding_codes"]')"
	expect_eq "T14: audit verify passes" 0 "$(verify_rc)"
}

# Readers that take no lock (the module's pre-prompt check and account phase, otpctl status,
# otpctl audit verify) racing a writer that replaces the file they read. strace holds the
# reader right at the open of that file while otpctl unlock replaces it (and appends to the
# audit log): the reader must read the old or the new version, never fail.

# stall_start PATH-NAME INJECT OUTFILE CMD...: CMD in the background under strace, stopped by
# INJECT (a delay) at its first openat of PATH-NAME; returns once it sits there (STALL_PID =
# strace's pid). Three stops in a row 20 ms apart: ordinary syscall stops last microseconds.
stall_start() {
	local name=$1 inject=$2 out=$3 p="" i n=0
	shift 3
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -qq -o /dev/null -P "$name" -e trace=openat -e "inject=openat:$inject:when=1" \
		"$@" >"$out" 2>"$out.err" &
	STALL_PID=$!
	PVT_CTLPIDS+=("$STALL_PID")
	for i in $(seq 500); do
		p=$(pgrep -P "$STALL_PID" | head -n 1)
		[ -n "$p" ] && break
		sleep 0.01
	done
	for i in $(seq 500); do
		if [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = t ] &&
			[ "$(cut -d' ' -f1 "/proc/$p/syscall" 2>/dev/null)" = 257 ]; then
			n=$((n + 1))
			[ "$n" -ge 3 ] && return 0
		else
			n=0
		fi
		sleep 0.02
	done
	return 1
}

stall_end() {
	wait "$STALL_PID"
	STALL_RC=$?
	PVT_CTLPIDS=()
}

test_reader_races() {
	if ! $HAVE_STRACE; then
		skip "readers racing a writer" "strace is not installed (apt-get install strace)"
		return
	fi
	vendor_env
	issue
	# The module's pre-prompt read of acme.rec, held just after its open.
	if stall_start acme.rec delay_exit=3000000 "$S/race.out" "$PAMDRIVE" --confdir "$T/pam.d" \
		--service pvtest --user acme --rhost "$ALLOWED" --code "$CODE" --steps auth,account; then
		AUD_BEFORE=$(audit_lines)
		ctlrun unlock acme
		stall_end
		cat "$S/race.out.err" >>"$DRIVE_ERR"
		DOUT=$(cat "$S/race.out")
		expect_step "T14 record replaced while the login's pre-check opens it: login succeeds" \
			auth PAM_SUCCESS
		expect_step "T14 record replaced while the login's pre-check opens it: account succeeds" \
			account PAM_SUCCESS
		[ "$(step auth)" = PAM_SUCCESS ] ||
			echo "# audit said: $(grep '"event":"auth"' "$AUDIT" | tail -n 1 | grep -o '"reason":"[a-z_]*"')"
	else
		stall_end
		not_ok "T14 race: could not hold the login at its record open"
	fi
	# otpctl status, held just after opening acme.rec.
	if stall_start acme.rec delay_exit=3000000 "$S/race.out" "$OTPCTL" --config "$CFG" status acme; then
		ctlrun unlock acme
		stall_end
		cat "$S/race.out.err" >>"$CTL_ERR"
		expect_eq "otpctl status while the record is replaced: succeeds" 0 "$STALL_RC"
		[ "$STALL_RC" -eq 0 ] || echo "# otpctl said: $(cat "$S/race.out.err")"
	else
		stall_end
		not_ok "race: could not hold otpctl status at its record open"
	fi
	# otpctl audit verify, held just before it opens the head, while a line is appended.
	if stall_start audit.log.head delay_enter=3000000 "$S/race.out" "$OTPCTL" --config "$CFG" audit verify; then
		ctlrun unlock acme
		stall_end
		cat "$S/race.out.err" >>"$CTL_ERR"
		expect_eq "T46 audit verify while a line is appended: no false tamper report" 0 "$STALL_RC"
		[ "$STALL_RC" -eq 0 ] || echo "# otpctl said: $(cat "$S/race.out.err")"
	else
		stall_end
		not_ok "T46 race: could not hold audit verify at its head open"
	fi
	# ...and held just after opening the head, while a line is appended (head replaced).
	if stall_start audit.log.head delay_exit=3000000 "$S/race.out" "$OTPCTL" --config "$CFG" audit verify; then
		ctlrun unlock acme
		stall_end
		cat "$S/race.out.err" >>"$CTL_ERR"
		expect_eq "T46 audit verify while the head is replaced: no false tamper report" 0 "$STALL_RC"
		[ "$STALL_RC" -eq 0 ] || echo "# otpctl said: $(cat "$S/race.out.err")"
	else
		stall_end
		not_ok "T46 race: could not hold audit verify at its head open"
	fi
	expect_eq "race: audit verify passes afterwards" 0 "$(verify_rc)"
}

# ---------------------------------------------------------------------------------------------
# 4. Time (T39): steps of a day around a used code, a lockout, and a code's expiry.

test_time() {
	local c
	new_env "max_window = 5d" "max_failures = 1000"
	ctl "vendor add" vendor add acme --ip "$ALLOWED"
	ctl "enable (from 2 days ago, for 4 days)" enable acme --at "$(utc '-2 days')" --for 4d
	pam_service pvtest
	issue
	c=$CODE
	login "$c"
	expect_step "T39: the code is used once" auth PAM_SUCCESS
	drive_at "-1d" pvtest --user acme --rhost "$ALLOWED" --code "$c" --steps auth
	expect_step "T39 clock back 1 day: the used code is refused" auth PAM_AUTH_ERR
	expect_audit "T39 clock back 1 day: otp_reused" "auth deny otp_reused"
	drive_at "-36h" pvtest --user acme --rhost "$ALLOWED" --code "$c" --steps auth
	expect_audit "T39 clock back 36 h (before the code was issued): otp_reused" "auth deny otp_reused"
	drive_at "+1d" pvtest --user acme --rhost "$ALLOWED" --code "$c" --steps auth
	expect_step "T39 clock ahead 1 day: the used code is refused" auth PAM_AUTH_ERR
	# The +1 d attempt saved the record with "now" a day ahead (pruning used, expired codes):
	# back at the real time the code must still be refused.
	login "$c"
	expect_step "T39 clock back from +1 day to now: the used code is still refused" auth PAM_AUTH_ERR
	ctl "unlock" unlock acme

	# A lockout is a flag: clock steps of a day either way neither lift nor extend it.
	set_conf max_failures 3
	issue
	c=$CODE
	login "$(wrong_of "$c")"
	login "$(wrong_of "$c")"
	login "$(wrong_of "$c")"
	expect_eq "T39: locked after 3 wrong codes" true "$(status_of 'v["locked"]')"
	drive_at "+1d" pvtest --user acme --rhost "$ALLOWED" --code "$c" --steps auth
	expect_step "T39 lockout, clock ahead 1 day: still refused" auth PAM_AUTH_ERR
	expect_audit "T39 lockout, clock ahead 1 day: locked_out" "auth deny locked_out"
	drive_at "-1d" pvtest --user acme --rhost "$ALLOWED" --code "$c" --steps auth
	expect_audit "T39 lockout, clock back 1 day: locked_out" "auth deny locked_out"
	drive_at "+40h" pvtest --user acme --rhost "$ALLOWED" --code "$c" --steps auth
	expect_audit "T39 lockout, clock ahead 40 h: locked_out" "auth deny locked_out"
	login "$c"
	expect_step "T39 lockout, clock back to now: still refused" auth PAM_AUTH_ERR
	expect_audit "T39 lockout, clock back to now: locked_out" "auth deny locked_out"
	expect_eq "T39 lockout: locked_out attempts not counted, code not burnt" "true 3 1" \
		"$(status_of '"%s %s %s" % (str(v["locked"]).lower(), v["failures"], v["outstanding_codes"])')"
	OUT=$(TZ=UTC faketime -f "-1d" "$OTPCTL" --config "$CFG" unlock acme 2>>"$CTL_ERR")
	expect_eq "T39 lockout: otpctl unlock (clock back 1 day) lifts it" false "$(status_of 'v["locked"]')"
	login "$c"
	expect_step "T39 lockout lifted: the unburnt code works" auth PAM_SUCCESS

	# Expiry: the clock jumps forward past a code's expiry.
	issue
	c=$CODE
	drive_at "+16m" pvtest --user acme --rhost "$ALLOWED" --code "$c" --steps auth
	expect_step "T39 clock jumps 16 min (ttl 15 min): denied" auth PAM_AUTH_ERR
	expect_audit "T39 clock jumps past expiry: otp_expired" "auth deny otp_expired"
	drive_at "+1d" pvtest --user acme --rhost "$ALLOWED" --code "$c" --steps auth
	expect_audit "T39 clock jumps 1 day: otp_expired" "auth deny otp_expired"
	expect_eq "T39 expired attempts count as failures" 2 "$(status_of 'v["failures"]')"
	issue acme --ttl 30s
	c=$CODE
	drive_at "+3d" pvtest --user acme --rhost "$ALLOWED" --code "$c" --steps auth
	expect_audit "T39 clock jumps past the window's end: window_expired" "auth deny window_expired"
	expect_eq "T39 audit verify passes after the clock steps" 0 "$(verify_rc)"
}

# ---------------------------------------------------------------------------------------------
# 5. T46: concurrent appends from logins (services sshd and openvpn) and otpctl.

test_audit_concurrency() {
	local i n0 codes=() ctl_ok=0 expect_lines
	vendor_env "max_failures = 1000"
	set_conf lock_timeout 30s
	pam_service sshd
	pam_service openvpn
	ctl "vendor add beta" vendor add beta --ip 198.51.100.7
	ctl "enable beta" enable beta --for 1h
	for i in $(seq 20); do
		issue
		codes+=("$CODE")
	done
	n0=$(audit_lines)
	rm -f "$T"/par.*
	for i in $(seq 0 19); do
		"$PAMDRIVE" --confdir "$T/pam.d" --service "$( ((i % 2)) && echo sshd || echo openvpn)" \
			--user acme --rhost "$ALLOWED" --code "${codes[$i]}" --steps auth,account \
			>"$T/par.$i" 2>>"$DRIVE_ERR" &
		PVT_PIDS+=($!)
		if ((i % 2 == 0)); then
			case $((i / 2 % 3)) in
			0) "$OTPCTL" --config "$CFG" issue beta >/dev/null 2>>"$CTL_ERR" & ;;
			1) "$OTPCTL" --config "$CFG" unlock beta >/dev/null 2>>"$CTL_ERR" & ;;
			2) "$OTPCTL" --config "$CFG" enable beta --for 1h --replace >/dev/null 2>>"$CTL_ERR" & ;;
			esac
			PVT_CTLPIDS+=($!)
		fi
	done
	for i in "${PVT_CTLPIDS[@]}"; do wait "$i" && ctl_ok=$((ctl_ok + 1)); done
	PVT_CTLPIDS=()
	wait_all "concurrent audit appends"
	expect_eq "T46: 20 logins (sshd/openvpn) all succeed" 20 "$(par_count account=PAM_SUCCESS)"
	expect_eq "T46: the 10 concurrent otpctl commands all succeed" 10 "$ctl_ok"
	expect_lines=$((20 * 2 + 10))
	expect_eq "T46: exactly one line per event ($expect_lines)" "$expect_lines" "$(($(audit_lines) - n0))"
	expect_eq "T46: admin lines 10, auth 20, account 20" "10 20 20" \
		"$(audit_count "$n0" admin allow ok) $(audit_count "$n0" auth allow ok) $(audit_count "$n0" account allow ok)"
	expect_eq "T46: no interleaved lines, seq strictly increasing without duplicates" ok "$(chain_shape)"
	expect_eq "T46: audit verify passes (no forked chain)" 0 "$(verify_rc)"
}

test_crash_random
test_crash_points
test_power_cut
test_injected_errors
test_store_full_readonly
test_audit_head_full_readonly
test_concurrency
test_reader_races
test_time
test_audit_concurrency
expect_no_sanitizer_reports
pam_suite_end

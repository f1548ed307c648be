# SPDX-License-Identifier: BSD-3-Clause
# lib.sh — what the PAM module suites share (test_module.sh, test_faults.sh; sourced after
# tests/lib.sh): the suite's scratch dir and its cleanup, PAM service files in a private
# confdir, otpctl as set-up, pamdrive runs and the PAM codes they print, the audit lines they
# leave, and a vendor acme ready to log in from $ALLOWED.

ALLOWED=203.0.113.5

# ---------------------------------------------------------------------------------------------
# Suite state and cleanup (background processes, mounts, accounts, temp dirs), even on failure.

PVT_PIDS=()
PVT_CTLPIDS=() # background otpctl runs (waited on separately)
PVT_MOUNTS=()
T_CRASH=0
# An exit status of pamdrive that is not a crash (test_faults.sh: 137, its own SIGKILLs).
NOTE_CRASH_EXCEPT=

pvt_cleanup() {
	local p m i
	for p in "${PVT_PIDS[@]}" "${PVT_CTLPIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${PVT_PIDS[@]}" "${PVT_CTLPIDS[@]}"; do { wait "$p"; } 2>/dev/null; done
	PVT_PIDS=()
	PVT_CTLPIDS=()
	# Innermost first; a busy mount is retried lazily rather than left behind.
	for ((i = ${#PVT_MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${PVT_MOUNTS[$i]}
		if mountpoint -q "$m"; then umount "$m" 2>/dev/null || umount -l "$m"; fi
	done
	PVT_MOUNTS=()
	remove_accounts
}
pvt_on_exit() {
	pvt_cleanup
	cleanup_dirs
}

# pam_suite_start WHAT: the suite needs root (for WHAT) and the built module, otpctl and
# pamdrive. Sets the cleanup trap, the scratch dir S with DRIVE_ERR (pamdrive's stderr) and
# CTL_ERR (otpctl's: sanitizer reports), IS_SAN and HAVE_STRACE.
pam_suite_start() {
	local f
	trap pvt_on_exit EXIT
	trap 'exit 130' INT TERM
	if [ "$(id -u)" != 0 ]; then
		echo "Bail out! $(basename "$0") needs root ($1)"
		exit 1
	fi
	for f in "$OTPCTL" "$PV_MODULE" "$PAMDRIVE"; do
		[ -x "$f" ] || [ -f "$f" ] || { echo "Bail out! $f is missing: make && make $PAMDRIVE"; exit 1; }
	done
	S=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$S")
	DRIVE_ERR=$S/drive.stderr
	CTL_ERR=$S/ctl.stderr
	: >"$DRIVE_ERR"
	: >"$CTL_ERR"
	IS_SAN=false
	if ldd "$PAMDRIVE" 2>/dev/null | grep -q libasan; then
		IS_SAN=true
		# libfaketime is LD_PRELOADed before the ASan runtime: let ASan accept that order.
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	fi
	HAVE_STRACE=false
	command -v strace >/dev/null 2>&1 && HAVE_STRACE=true
	SECONDS=0
}

# pam_suite_end: the suite's time, cleanup and summary (the suite's exit status).
pam_suite_end() {
	echo "# $(basename "$0"): ${SECONDS}s$($IS_SAN && echo ' (sanitizer build)')"
	pvt_cleanup
	finish
}

# ---------------------------------------------------------------------------------------------
# Environment, PAM service files, otpctl.

# pvm [OPTIONS...]: the module path and its config option, for service lines.
pvm() { echo "$PV_MODULE config=$CFG${*:+ $*}"; }

# pam_service NAME [MODULE-OPTIONS...]: auth, account, session, password lines for pam_vendor.
pam_service() {
	local name=$1 t
	shift
	mkdir -p "$T/pam.d"
	for t in auth account session password; do
		echo "$t required $(pvm "$@")"
	done >"$T/pam.d/$name"
}

# ctlrun ARGS...: run_ctl (OUT, ERR, RC), keeping stderr for the sanitizer check.
ctlrun() {
	run_ctl "$@"
	[ -n "$ERR" ] && printf '%s\n' "$ERR" >>"$CTL_ERR"
	return 0
}

# ctl DESCRIPTION ARGS...: otpctl that must succeed as setup; a failure is reported.
ctl() {
	local what=$1
	shift
	ctlrun "$@"
	[ "$RC" -eq 0 ] || not_ok "setup: $what" "otpctl $* -> rc $RC: $ERR"
}

# otp_of JSON: the code of `otpctl --json issue`'s output, without python (used in loops).
otp_of() { printf '%s' "$1" | sed -n 's/.*"otp":"\([0-9]*\)".*/\1/p'; }

# issue [VENDOR [ARGS...]]: `otpctl --json issue VENDOR ARGS` (default acme); the code in CODE
# ("" and a failed check when refused).
issue() {
	local v=${1:-acme}
	[ $# -gt 0 ] && shift
	CODE=
	ctlrun --json issue "$v" "$@"
	if [ "$RC" -eq 0 ]; then
		CODE=$(otp_of "$OUT")
	else
		not_ok "setup: issue $v $*" "rc $RC: $ERR"
	fi
}

# status_of EXPR [VENDOR]: a field of `otpctl --json status VENDOR` (v is the vendor object).
status_of() {
	ctlrun --json status "${2:-acme}"
	jget "$OUT" "(lambda v: $1)(d['vendors'][0])"
}

# vendor_env [CONFIG-LINES...]: fresh env, vendor acme allowed from $ALLOWED with a 2 h window,
# service "pvtest" (pam_vendor on every stack).
vendor_env() {
	new_env "$@"
	ctl "vendor add" vendor add acme --ip "$ALLOWED"
	ctl "enable" enable acme --for 2h
	pam_service pvtest
}

utc() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# ---------------------------------------------------------------------------------------------
# pamdrive runs and what they print.

# drive SERVICE ARGS...: pamdrive on $T/pam.d; DOUT = its output, DRC = its exit status,
# AUD_BEFORE = audit lines before the run. PRE (array) prefixes the command (faketime).
PRE=()
drive() {
	local svc=$1
	shift
	AUD_BEFORE=$(audit_lines)
	DOUT=$("${PRE[@]}" "$PAMDRIVE" --confdir "$T/pam.d" --service "$svc" "$@" 2>>"$DRIVE_ERR")
	DRC=$?
	note_crash "$DRC" "$svc $*"
}

# drive_at FAKETIME-SPEC SERVICE ARGS...: drive under faketime (UTC).
drive_at() {
	local spec=$1
	shift
	PRE=(env TZ=UTC faketime -f "$spec")
	drive "$@"
	PRE=()
}

# note_crash STATUS WHAT: an exit status above 2 (but NOTE_CRASH_EXCEPT) is a crash.
note_crash() {
	if [ "$1" -gt 2 ] && [ "$1" != "$NOTE_CRASH_EXCEPT" ]; then
		T_CRASH=$((T_CRASH + 1))
		not_ok "pamdrive did not crash" "exit $1 for: ${2:0:200}"
	fi
}

# step NAME: the PAM code pamdrive printed for a step (last one if repeated).
step() { printf '%s\n' "$DOUT" | sed -n "s/^$1=//p" | tail -n 1; }

# expect_step NAME STEP CODE: pamdrive printed CODE for STEP.
expect_step() { expect_eq "$1" "$3" "$(step "$2")"; }

# expect_fail NAME STEP: a denial, never PAM_SUCCESS / PAM_IGNORE, and no crash.
expect_fail() {
	local v
	v=$(step "$2")
	case "$v" in
	PAM_SUCCESS | PAM_IGNORE | "") not_ok "$1" "expected a denial, got [$v] (exit $DRC)" ;;
	*) ok "$1" ;;
	esac
}

# expect_no_sanitizer_reports: nothing in the stderr of any pamdrive or otpctl run, no crash.
expect_no_sanitizer_reports() {
	expect_no_match "no sanitizer report from any pamdrive or otpctl run" \
		'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|SUMMARY: (Address|Leak|Undefined)' \
		"$(cat "$DRIVE_ERR" "$CTL_ERR")"
	expect_eq "no pamdrive run crashed" 0 "$T_CRASH"
}

# ---------------------------------------------------------------------------------------------
# The audit lines a run left.

# audit_fields FIELD...: fields of the last audit line, space separated ("-" if absent).
audit_fields() { audit_fields_at 1 "$@"; }

# audit_fields_at K FIELD...: the same for the K-th line from the end (1 = last).
audit_fields_at() {
	local k=$1
	shift
	tail -n "$k" "$AUDIT" 2>/dev/null | head -n 1 | python3 -c 'import json,sys
try:
    d=json.loads(sys.stdin.read())
except Exception as e:
    print("unparsable"); sys.exit(0)
print(" ".join("null" if d.get(k, "-") is None else str(d.get(k, "-")) for k in sys.argv[1:]))' "$@"
}

# expect_audit NAME "EVENT RESULT REASON": the run wrote a line and the last line says this.
expect_audit() {
	if [ "$(audit_lines)" -le "$AUD_BEFORE" ]; then
		not_ok "$1" "no audit line written (wanted: $2)"
		return
	fi
	expect_eq "$1" "$2" "$(audit_fields event result reason)"
}

# expect_no_audit NAME: the run wrote nothing to the audit log.
expect_no_audit() { expect_eq "$1" "$AUD_BEFORE" "$(audit_lines)"; }

# audit_count FROM EVENT RESULT REASON: lines after line FROM with these fields.
audit_count() {
	python3 -c 'import json,sys
n=0
for i, l in enumerate(open(sys.argv[1], encoding="utf-8", errors="replace")):
    if i < int(sys.argv[2]): continue
    try: d=json.loads(l)
    except Exception: continue
    if [d.get("event"), d.get("result"), d.get("reason")] == sys.argv[3:6]: n += 1
print(n)' "$AUDIT" "$@"
}

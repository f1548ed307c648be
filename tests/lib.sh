# lib.sh — shared helpers for the shell test suites (sourced). Each suite prints one line per
# check ("ok - NAME" / "not ok - NAME: why") and ends with "N passed, M failed".
# Environment from the Makefile: PV_BUILD (build dir), OTPCTL, PV_MODULE, PAMDRIVE.

PV_ROOT=${PV_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PV_BUILD=${PV_BUILD:-$PV_ROOT/build/normal}
OTPCTL=${OTPCTL:-$PV_BUILD/bin/otpctl}
PV_MODULE=${PV_MODULE:-$PV_BUILD/bin/pam_vendor.so}
PAMDRIVE=${PAMDRIVE:-$PV_BUILD/tests/pamdrive}
T_PASS=0
T_FAIL=0
T_DIRS=()

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $1${2:+: $2}"; }

# check NAME COMMAND... : ok when the command succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "$*"; fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected [$2], got [$3]"; fi
}

# expect_match NAME REGEX TEXT
expect_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1" "[$3] does not match /$2/"; fi
}

# expect_no_match NAME REGEX TEXT
expect_no_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then not_ok "$1" "[$3] matches /$2/"; else ok "$1"; fi
}

# run_ctl: run otpctl with the suite's config; sets OUT, ERR, RC.
run_ctl() {
	local errf
	errf=$(mktemp)
	OUT=$("$OTPCTL" --config "$CFG" "$@" 2>"$errf")
	RC=$?
	ERR=$(cat "$errf")
	rm -f "$errf"
}

# new_env: a private config, key, store and audit log in a fresh temp dir (root, 0700).
# Extra config lines may be given as arguments. Sets T, CFG, AUDIT, STORE.
new_env() {
	T=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$T")
	CFG=$T/pam_vendor.conf
	AUDIT=$T/log/audit.log
	STORE=$T/store
	SESSIONS=$T/sessions
	{
		echo "store_dir = $STORE"
		echo "key_file = $T/etc/master.key"
		echo "audit_log = $AUDIT"
		echo "session_dir = $T/sessions"
		echo "fail_delay = 0"
		echo "lock_timeout = 20s" # parallel tests on a loaded machine queue on one lock
		for line in "$@"; do echo "$line"; done
	} >"$CFG"
	"$OTPCTL" --config "$CFG" init >/dev/null || { echo "Bail out! otpctl init failed"; exit 1; }
}

# audit_last FIELD: value of FIELD in the last audit line ("" if absent, "null" if null).
audit_last() {
	tail -n 1 "$AUDIT" | python3 -c 'import json,sys; v=json.loads(sys.stdin.read()).get(sys.argv[1], ""); print("null" if v is None else v)' "$1"
}

cleanup_dirs() {
	local d
	for d in "${T_DIRS[@]}"; do
		case "$d" in /tmp/pvtest.*) rm -rf "$d" ;; esac
	done
}

finish() {
	cleanup_dirs
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

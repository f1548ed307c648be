#!/bin/bash
# run.sh — run every test suite of `make check`: cmocka unit tests, then the shell suites
# (otpctl, the PAM module through real libpam, end to end). Prints a total at the end.
set -u
cd "$(dirname "$0")/.."
B=${PV_BUILD:-build/normal}
export PV_BUILD=$PWD/$B
export OTPCTL=$PV_BUILD/bin/otpctl PV_MODULE=$PV_BUILD/bin/pam_vendor.so
export PAMDRIVE=$PV_BUILD/tests/pamdrive
if [ "${PV_VARIANT:-normal}" = san ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

suites_pass=0
suites_fail=0
failed=()
run_suite() {
	local name=$1
	shift
	echo "=== $name"
	if "$@"; then
		suites_pass=$((suites_pass + 1))
	else
		suites_fail=$((suites_fail + 1))
		failed+=("$name")
	fi
}

for t in "$PV_BUILD"/tests/test_*; do
	[ -x "$t" ] && run_suite "unit/$(basename "$t")" "$t"
done
for t in tests/cli/test_*.sh tests/pam/test_*.sh tests/pg/test_*.sh tests/pkg/test_*.sh tests/e2e/test_*.sh; do
	[ -f "$t" ] && run_suite "$t" bash "$t"
done

echo
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed suites: ${failed[*]}"
fi
echo "suites: $suites_pass passed, $suites_fail failed"
[ "$suites_fail" -eq 0 ]

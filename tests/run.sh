#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# run.sh — run every test suite of `make check`: the cmocka unit tests and the shell suites
# (otpctl, the PAM module through real libpam, PostgreSQL, the package, end to end), PV_JOBS
# of them at a time (default: the number of CPUs plus one, since the end-to-end suites mostly
# wait). Suites are independent of each other (accounts named per run, ports in network
# namespaces of their own, host files only in private mount namespaces); one that must run
# with nothing beside it says so with a line "# run.sh: alone" and runs after the others.
# Each suite's output is kept and printed whole when it ends, with its time; the longest
# suites of the last run start first (their times are kept in $PV_BUILD/tests/suite-times).
# Prints a total at the end.
set -u
cd "$(dirname "$0")/.."
# The suites use the tools mk/deps.sh installs from Debian, not what a login's PATH puts first:
# a pyenv shim in front of /usr/bin costs half a second of CPU per python3 call, and the
# suites make hundreds of them.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
B=${PV_BUILD:-build/normal}
case "$B" in /*) export PV_BUILD=$B ;; *) export PV_BUILD=$PWD/$B ;; esac
export OTPCTL=$PV_BUILD/bin/otpctl PV_MODULE=$PV_BUILD/bin/pam_vendor.so
export PAMDRIVE=$PV_BUILD/tests/pamdrive
if [ "${PV_VARIANT:-normal}" = san ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
JOBS=${PV_JOBS:-$(($(nproc 2>/dev/null || echo 1) + 1))}
case "$JOBS" in '' | *[!0-9]* | 0) echo "run.sh: PV_JOBS must be a positive number" >&2; exit 2 ;; esac
TIMES=$PV_BUILD/tests/suite-times

OUTDIR=$(mktemp -d /tmp/pvrun.XXXXXX) || exit 1
declare -A NAME_OF=() START_OF=()
suites_pass=0
suites_fail=0
failed=()
new_times=()

# On an interrupt, the running suites get SIGTERM (their own traps clean up) before we go.
stop_running() {
	local p
	for p in "${!NAME_OF[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${!NAME_OF[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$OUTDIR"
	exit 130
}
trap stop_running INT TERM
trap 'rm -rf "$OUTDIR"' EXIT

# start NAME CMD...: the suite in the background, its output in OUTDIR.
start() {
	local name=$1
	shift
	"$@" >"$OUTDIR/${name//\//_}.out" 2>&1 </dev/null &
	NAME_OF[$!]=$name
	START_OF[$!]=$SECONDS
}

# reap: wait for one suite to end; print its output whole, count it.
reap() {
	local pid rc name secs
	wait -n -p pid
	rc=$?
	name=${NAME_OF[$pid]}
	secs=$((SECONDS - ${START_OF[$pid]}))
	unset "NAME_OF[$pid]" "START_OF[$pid]"
	echo "=== $name"
	cat "$OUTDIR/${name//\//_}.out"
	if [ "$rc" -eq 0 ]; then
		suites_pass=$((suites_pass + 1))
		echo "--- $name: passed (${secs} s)"
	else
		suites_fail=$((suites_fail + 1))
		failed+=("$name")
		echo "--- $name: FAILED, exit $rc (${secs} s)"
	fi
	new_times+=("$secs $name")
}

# run_all JOBS NAME...: each suite (unit/X or a script path), at most JOBS at once.
run_all() {
	local jobs=$1 name
	shift
	for name in "$@"; do
		while [ "${#NAME_OF[@]}" -ge "$jobs" ]; do reap; done
		case "$name" in
		unit/*) start "$name" "$PV_BUILD/tests/${name#unit/}" ;;
		*) start "$name" bash "$name" ;;
		esac
	done
	while [ "${#NAME_OF[@]}" -gt 0 ]; do reap; done
}

# by_last_time NAME...: the names, the longest of the last run first (new ones first of all).
by_last_time() {
	local name t
	for name in "$@"; do
		t=$(awk -v n="$name" '$2 == n { print $1 }' "$TIMES" 2>/dev/null)
		echo "${t:-999999} $name"
	done | sort -s -k1,1nr | cut -d' ' -f2-
}

together=()
alone=()
for t in "$PV_BUILD"/tests/test_*; do
	[ -f "$t" ] && [ -x "$t" ] && together+=("unit/$(basename "$t")")
done
for t in tests/cli/test_*.sh tests/pam/test_*.sh tests/pg/test_*.sh tests/pkg/test_*.sh tests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	if grep -qx '# run.sh: alone' "$t"; then alone+=("$t"); else together+=("$t"); fi
done
mapfile -t together < <(by_last_time "${together[@]}")

echo "Running ${#together[@]} suites, $JOBS at a time$([ ${#alone[@]} -gt 0 ] && echo ", then ${#alone[@]} alone")."
run_all "$JOBS" "${together[@]}"
[ ${#alone[@]} -gt 0 ] && run_all 1 "${alone[@]}"
printf '%s\n' "${new_times[@]}" | sort -k1,1nr >"$TIMES" 2>/dev/null

echo
echo "# $((SECONDS / 60)) min $((SECONDS % 60)) s with $JOBS at a time"
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed suites: ${failed[*]}"
fi
echo "suites: $suites_pass passed, $suites_fail failed"
# A run that lost a suite on the way (or found none) fails rather than passing short.
if [ $((suites_pass + suites_fail)) -ne $((${#together[@]} + ${#alone[@]})) ]; then
	echo "run.sh: $((${#together[@]} + ${#alone[@]})) suites found, $((suites_pass + suites_fail)) ran" >&2
	exit 1
fi
[ "$suites_fail" -eq 0 ]

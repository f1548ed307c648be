#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# run.sh — build and run the libFuzzer harnesses of tests/fuzz/ (see docs/fuzzing.md).
#
#   tests/fuzz/run.sh [fuzz]   build, then fuzz every harness for FUZZ_SECONDS (default 60)
#   tests/fuzz/run.sh replay   build, then run every harness once over its committed seeds
#                              and regression inputs (-runs=0): the `make check` part
#   tests/fuzz/run.sh build    build only
#   tests/fuzz/run.sh seeds    rebuild make_seeds and rewrite the generated gen-* seeds
#   tests/fuzz/run.sh coverage line/branch coverage of the parsers' sources reached by the
#                              work corpus (build/fuzz/corpus/, else the seeds), via llvm-cov
#
# Environment:
#   FUZZ_SECONDS   seconds per harness (default 60)
#   FUZZ_TARGETS   harnesses to use (default: all), e.g. "record seal"
#   FUZZ_JOBS      harnesses fuzzed at once (default: number of CPUs); each uses one core
#   FUZZ_FRESH=1   start from the seeds again (default: the work corpus under
#                  build/fuzz/corpus/ keeps growing from run to run)
#   FUZZ_ARGS      extra libFuzzer flags, e.g. "-fork=1 -ignore_crashes=1" to keep fuzzing
#                  past a known crash (a crash still makes the run fail)
#   FUZZ_SAVE=1    afterwards, merge new coverage-increasing inputs into tests/fuzz/corpus/
#                  and copy minimised crashes into tests/fuzz/regressions/
#   CLANG          compiler (default clang; Debian 12: clang 14 + libclang-rt-14-dev)
#
# Exit status: 0 when every harness ran clean; 1 when any crashed, leaked, hit a sanitizer
# report, broke an invariant or timed out (the artifact files are printed); 2 on a build or
# usage error.
set -euo pipefail
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/../.."

MODE=${1:-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
ALL_TARGETS="config ipmatch timeparse record json otp seal pam_auth"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
CLANG=${CLANG:-clang}
SRC=tests/fuzz
OUT=build/fuzz
PKG="libsodium liboath libqrencode pam zlib libpq"

case "$MODE" in
fuzz | replay | build | seeds | coverage) ;;
*)
	echo "usage: tests/fuzz/run.sh [fuzz|replay|build|seeds|coverage]" >&2
	exit 2
	;;
esac
case "$FUZZ_SECONDS" in
'' | *[!0-9]*)
	echo "run.sh: FUZZ_SECONDS must be a whole number of seconds" >&2
	exit 2
	;;
esac
for t in $TARGETS; do
	case " $ALL_TARGETS " in
	*" $t "*) ;;
	*)
		echo "run.sh: unknown harness '$t' (have: $ALL_TARGETS)" >&2
		exit 2
		;;
	esac
done

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "run.sh: $CLANG not found; run: mk/deps.sh fuzz (apt-get install -y clang libclang-rt-14-dev)" >&2
	exit 2
fi
if ! PKG_CFLAGS=$(pkg-config --cflags $PKG) || ! PKG_LIBS=$(pkg-config --libs $PKG); then
	echo "run.sh: missing development packages; run: mk/deps.sh build" >&2
	exit 2
fi

BASE="-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE -Icore"
CORE_FLAGS="$BASE -fsanitize=fuzzer-no-link,address,undefined $PKG_CFLAGS"
HARNESS_FLAGS="$BASE -fsanitize=fuzzer,address,undefined -Wall -Wextra -Werror $PKG_CFLAGS"

# Core objects, compiled once and linked into every harness. Rebuilt when a core source or
# header or the compiler flags change.
build_core() {
	local stamp=$OUT/obj/flags objs=() todo=() f o
	mkdir -p "$OUT/obj"
	if [ "$(cat "$stamp" 2>/dev/null)" != "$CLANG $CORE_FLAGS" ]; then
		rm -f "$OUT"/obj/*.o
		echo "$CLANG $CORE_FLAGS" >"$stamp"
	fi
	for f in core/*.c; do
		o=$OUT/obj/$(basename "${f%.c}").o
		objs+=("$o")
		if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ -n "$(find core -name '*.h' -newer "$o" | head -1)" ]; then
			todo+=("$f")
		fi
	done
	if [ ${#todo[@]} -gt 0 ]; then
		echo "fuzz: compiling ${#todo[@]} core source(s)"
		# shellcheck disable=SC2086
		printf '%s\n' "${todo[@]}" | xargs -P "$JOBS" -I{} sh -c \
			'f={}; b=${f##*/}; exec '"$CLANG $CORE_FLAGS"' -c "$f" -o "'"$OUT"'/obj/${b%.c}.o"' || {
			echo "fuzz: build failed" >&2
			exit 2
		}
	fi
	if [ ${#todo[@]} -gt 0 ] || [ ! -f "$OUT/libpvcore-fuzz.a" ]; then
		rm -f "$OUT/libpvcore-fuzz.a"
		ar rcs "$OUT/libpvcore-fuzz.a" "${objs[@]}"
	fi
}

# fuzz_pam_auth drives the module itself: its objects (every pam_vendor/*.c, however the
# module is split), compiled like the core, linked with the libpam, NSS, clock and file-system
# calls the harness replaces (-Wl,--wrap=SYMBOL: tests/fuzz/pam_auth_wrap.c).
MODULE_WRAPS="pam_get_item pam_get_user pam_set_data pam_get_data pam_syslog pam_vsyslog
	pam_fail_delay pam_getenv time getgrnam_r getpwnam_r open openat read pread write pwrite
	fsync fdatasync renameat flock ftruncate unlinkat mkdirat fstat"

build_module() {
	local todo=() f o
	mkdir -p "$OUT/obj-module"
	for o in "$OUT"/obj-module/*.o; do
		[ -f "$o" ] || continue
		f=pam_vendor/$(basename "${o%.o}").c
		{ [ -f "$f" ] && [ "$o" -nt "$OUT/obj/flags" ]; } || rm -f "$o"
	done
	for f in pam_vendor/*.c; do
		o=$OUT/obj-module/$(basename "${f%.c}").o
		if [ ! -f "$o" ] || [ "$f" -nt "$o" ] ||
			[ -n "$(find core pam_vendor -name '*.h' -newer "$o" | head -1)" ]; then
			todo+=("$f")
		fi
	done
	[ ${#todo[@]} -gt 0 ] || return 0
	echo "fuzz: compiling ${#todo[@]} module source(s)"
	for f in "${todo[@]}"; do
		# shellcheck disable=SC2086
		"$CLANG" $CORE_FLAGS -Ipam_vendor -c "$f" -o "$OUT/obj-module/$(basename "${f%.c}").o" || {
			echo "fuzz: build failed" >&2
			exit 2
		}
	done
}

# What harness $1 links beyond fuzz_$1.c and the core archive: its other sources and the
# module's objects (before the archive), and its linker flags.
extra_sources() {
	[ "$1" = pam_auth ] && ls "$SRC"/pam_auth_*.c "$OUT"/obj-module/*.o
	return 0
}
extra_ldflags() {
	local w
	[ "$1" = pam_auth ] || return 0
	for w in $MODULE_WRAPS; do echo "-Wl,--wrap=$w"; done
}

build_harness() {
	local t=$1 bin=$OUT/fuzz_$1 f fresh=1
	for f in "$OUT/libpvcore-fuzz.a" "$SRC/fuzz_$t.c" "$SRC/fuzz_common.h" "$SELF" \
		$(extra_sources "$t") $([ "$t" = pam_auth ] && echo "$SRC/pam_auth.h"); do
		[ -f "$bin" ] && [ "$bin" -nt "$f" ] || fresh=0
	done
	[ $fresh = 1 ] && return 0
	echo "fuzz: linking $bin"
	# shellcheck disable=SC2046,SC2086
	"$CLANG" $HARNESS_FLAGS "$SRC/fuzz_$t.c" $(extra_sources "$t") "$OUT/libpvcore-fuzz.a" \
		$(extra_ldflags "$t") $PKG_LIBS -o "$bin"
}

build_all() {
	local t pids=() rc=0
	build_core
	case " $TARGETS " in *" pam_auth "*) build_module ;; esac
	for t in $TARGETS; do
		build_harness "$t" &
		pids+=($!)
		if [ ${#pids[@]} -ge "$JOBS" ]; then
			wait "${pids[0]}" || rc=1
			pids=("${pids[@]:1}")
		fi
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	[ $rc -eq 0 ] || {
		echo "fuzz: build failed" >&2
		exit 2
	}
}

# The libFuzzer summary of one log: "execs exec/s cov ft corp" (plain or -fork=N output).
stats_of() {
	local log=$1 last execs eps cov ft corp
	last=$(grep -aE '^#[0-9]+([[:space:]]+(DONE|INITED|NEW|REDUCE|pulse|RELOAD)|:)' "$log" | tail -1 || true)
	execs=$(grep -aoE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
	eps=$(grep -aoE '^stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
	[ -n "$execs" ] || execs=$(echo "$last" | grep -oE '^#[0-9]+' | tr -d '#' || true)
	[ -n "$eps" ] || eps=$(echo "$last" | grep -oE 'exec/s:? [0-9]+' | grep -oE '[0-9]+' || true)
	cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || true)
	ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || true)
	corp=$(echo "$last" | grep -oE 'corp: [0-9]+' | grep -oE '[0-9]+' || true)
	echo "${execs:--} ${eps:--} ${cov:--} ${ft:--} ${corp:--}"
}

artifacts_of() {
	find "$OUT/artifacts/$1" -maxdepth 1 -type f \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) \
		2>/dev/null | sort || true
}

common_flags() {
	local t=$1 flags="-timeout=25 -rss_limit_mb=2048 -print_final_stats=1"
	case $t in
	record | seal) flags="$flags -max_len=16448" ;; # PV_SEALED_MAX: the largest sane input
	esac
	[ -f "$SRC/dict/$t.dict" ] && flags="$flags -dict=$SRC/dict/$t.dict"
	echo "$flags"
}

fuzz_one() {
	local t=$1 work=$OUT/corpus/$1 art=$OUT/artifacts/$1 log=$OUT/logs/$1.log
	rm -rf "$art"
	mkdir -p "$work" "$art" "$OUT/logs"
	[ "${FUZZ_FRESH:-0}" = 1 ] && find "$work" -mindepth 1 -delete
	cp -p "$SRC/corpus/$t"/* "$work"/ 2>/dev/null || true
	# shellcheck disable=SC2046
	"$OUT/fuzz_$t" $(common_flags "$t") -max_total_time="$FUZZ_SECONDS" \
		-artifact_prefix="$art/" ${FUZZ_ARGS:-} "$work" >"$log" 2>&1 || true
}

# Shrink a crashing input (bounded) next to the original: min-<name>.
minimise() {
	local t=$1 crash=$2 min
	min=$(dirname "$crash")/min-$(basename "$crash")
	"$OUT/fuzz_$t" -minimize_crash=1 -max_total_time=60 -runs=100000 \
		-exact_artifact_path="$min" "$crash" >"$OUT/logs/$t.minimise.log" 2>&1 || true
	[ -f "$min" ] && echo "$min"
}

do_fuzz() {
	local t pids=() failed=0 crash min s
	echo "fuzz: $FUZZ_SECONDS s per harness, $JOBS at a time: $TARGETS"
	for t in $TARGETS; do
		echo "fuzz: running $t"
		fuzz_one "$t" &
		pids+=($!)
		if [ ${#pids[@]} -ge "$JOBS" ]; then
			wait "${pids[0]}" || true
			pids=("${pids[@]:1}")
		fi
	done
	for p in "${pids[@]}"; do wait "$p" || true; done

	echo
	printf '%-10s %12s %9s %6s %7s %6s  %s\n' harness executions exec/s cov ft corp result
	for t in $TARGETS; do
		# shellcheck disable=SC2046
		set -- $(stats_of "$OUT/logs/$t.log")
		crash=$(artifacts_of "$t")
		if [ -n "$crash" ]; then
			s=CRASH
			failed=1
		elif grep -aqE 'Done [0-9]+ runs in|INFO: exiting: 0 ' "$OUT/logs/$t.log"; then
			s=ok
		else
			s="FAILED (see $OUT/logs/$t.log)"
			failed=1
		fi
		printf '%-10s %12s %9s %6s %7s %6s  %s\n' "$t" "$1" "$2" "$3" "$4" "$5" "$s"
	done
	for t in $TARGETS; do
		local crashes n=0
		crashes=$(artifacts_of "$t")
		[ -n "$crashes" ] || continue
		echo
		echo "=== $t: $(echo "$crashes" | wc -l) artifact(s) in $OUT/artifacts/$t/"
		grep -a -A1 -E 'INVARIANT FAILED|ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
			"$OUT/logs/$t.log" | grep -av '^--$' | awk '!seen[$0]++' | head -8 || true
		for crash in $crashes; do
			n=$((n + 1))
			if [ $n -gt 3 ]; then
				echo "($(($(echo "$crashes" | wc -l) - 3)) more not minimised)"
				break
			fi
			min=$(minimise "$t" "$crash" || true)
			echo "crash: $crash"
			[ -n "$min" ] && echo "minimised: $min ($(stat -c %s "$min") bytes)"
			echo "reproduce: $OUT/fuzz_$t ${min:-$crash}"
			if [ "${FUZZ_SAVE:-0}" = 1 ]; then
				mkdir -p "$SRC/regressions/$t"
				cp "${min:-$crash}" "$SRC/regressions/$t/"
				echo "saved: $SRC/regressions/$t/$(basename "${min:-$crash}")"
			fi
		done
	done
	if [ "${FUZZ_SAVE:-0}" = 1 ]; then
		for t in $TARGETS; do
			"$OUT/fuzz_$t" -merge=1 "$SRC/corpus/$t" "$OUT/corpus/$t" >"$OUT/logs/$t.merge.log" 2>&1 &&
				echo "fuzz: $t: $(grep -aoE '[0-9]+ new files with [0-9]+ new features added' "$OUT/logs/$t.merge.log" || echo merged)"
		done
	fi
	echo
	echo "fuzz: logs in $OUT/logs/"
	return $failed
}

do_replay() {
	local t dirs failed=0 log
	mkdir -p "$OUT/logs"
	for t in $TARGETS; do
		if [ "$t" = pam_auth ] && [ "$(id -u)" != 0 ]; then
			echo "fuzz replay: pam_auth skipped: it needs root (the module accepts root-owned files only)"
			continue
		fi
		dirs="$SRC/corpus/$t"
		[ -d "$SRC/regressions/$t" ] && [ -n "$(ls -A "$SRC/regressions/$t")" ] &&
			dirs="$dirs $SRC/regressions/$t"
		log=$OUT/logs/$t.replay.log
		# -runs=0: execute every file once (while loading the corpus), no mutation.
		# shellcheck disable=SC2086
		rm -rf "$OUT/artifacts/replay-$t"
		mkdir -p "$OUT/artifacts/replay-$t"
		if "$OUT/fuzz_$t" -runs=0 -timeout=25 -artifact_prefix="$OUT/artifacts/replay-$t/" \
			$dirs >"$log" 2>&1; then
			echo "fuzz replay: $t ok ($(find $dirs -type f | wc -l) inputs)"
		else
			echo "fuzz replay: $t FAILED:"
			grep -a -A1 -E 'INVARIANT FAILED|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' \
				"$log" | grep -av '^--$' | head -6 | sed 's/^/  /'
			grep -a 'Test unit written' "$log" | sed 's/^/  /' || true
			echo "  full log: $log"
			failed=1
		fi
	done
	return $failed
}

do_seeds() {
	local bin=$OUT/make_seeds
	mkdir -p "$OUT"
	# shellcheck disable=SC2086
	"$CLANG" -g -O1 -std=c11 -D_GNU_SOURCE -Icore -Wall -Wextra -Werror -Wno-unused-parameter \
		-fsanitize=address,undefined \
		-fno-sanitize-recover=all $PKG_CFLAGS "$SRC/make_seeds.c" core/*.c $PKG_LIBS -o "$bin"
	rm -f "$SRC"/corpus/*/gen-*
	"$bin" "$SRC/corpus" "$PWD/$OUT/seedgen"
	echo "fuzz: generated seeds: $(find "$SRC/corpus" -name 'gen-*' | wc -l) files"
}

# Source-based coverage (no sanitizers): which lines of the parsers the corpus reaches.
do_coverage() {
	local cov=$OUT/cov t dirs objs=() pids=() p
	local PROFDATA=${LLVM_PROFDATA:-llvm-profdata} LLVMCOV=${LLVM_COV:-llvm-cov}
	local files="core/config.c core/ipmatch.c core/timeparse.c core/record.c core/json.c
		core/otp.c core/seal.c core/vendorname.c"
	case " $TARGETS " in
	*" pam_auth "*)
		files="$files $(ls pam_vendor/*.c core/policy.c core/safefile.c core/store*.c \
			core/audit*.c core/session.c core/keys.c core/accounts.c)"
		;;
	esac
	mkdir -p "$cov"
	rm -f "$cov"/*.profraw "$cov"/all.profdata
	for t in $TARGETS; do
		# shellcheck disable=SC2046,SC2086
		"$CLANG" -g -O0 -std=c11 -D_GNU_SOURCE -Icore -Ipam_vendor -fsanitize=fuzzer \
			-fprofile-instr-generate -fcoverage-mapping $PKG_CFLAGS "$SRC/fuzz_$t.c" core/*.c \
			$([ "$t" = pam_auth ] && ls "$SRC"/pam_auth_*.c pam_vendor/*.c) \
			$(extra_ldflags "$t") $PKG_LIBS -o "$cov/fuzz_$t" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || {
		echo "fuzz: coverage build failed" >&2
		exit 2
	}; done
	for t in $TARGETS; do
		dirs=$SRC/corpus/$t
		[ -n "$(ls -A "$OUT/corpus/$t" 2>/dev/null)" ] && dirs=$OUT/corpus/$t
		LLVM_PROFILE_FILE=$cov/$t.profraw "$cov/fuzz_$t" -runs=0 "$dirs" >"$OUT/logs/$t.cov.log" 2>&1 ||
			echo "fuzz: coverage run of $t failed (see $OUT/logs/$t.cov.log)" >&2
		objs+=(-object "$cov/fuzz_$t")
		echo "fuzz: coverage of $t from $dirs ($(ls "$dirs" | wc -l) inputs)"
	done
	"$PROFDATA" merge -sparse "$cov"/*.profraw -o "$cov/all.profdata"
	# shellcheck disable=SC2086
	"$LLVMCOV" report "${objs[@]:1}" -instr-profile="$cov/all.profdata" $files
	# shellcheck disable=SC2086
	"$LLVMCOV" show "${objs[@]:1}" -instr-profile="$cov/all.profdata" -format=html \
		-output-dir="$cov/html" $files >/dev/null
	echo "fuzz: line by line: $cov/html/index.html"
}

# All of it in one function, read whole before it runs: editing this file while a long
# run is going on cannot derail the run.
main() {
	case "$MODE" in
	coverage)
		mkdir -p "$OUT/logs"
		do_coverage
		;;
	seeds) do_seeds ;;
	build) build_all ;;
	replay)
		build_all
		do_replay
		;;
	fuzz)
		build_all
		do_fuzz
		;;
	esac
}

main "$@"
exit $?

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# run.sh — `make bench`: pam_vendor against its floor and its peers, on the real disk and on a
# tmpfs; scale in vendors and audit size; concurrency; otpctl. Writes docs/performance.md.
# Not part of `make check`. Root only: the store, key and audit log must be root-owned in
# root-owned directories, and the tmpfs is mounted here (and unmounted on exit).
#
# Environment (defaults keep one run under ~10 minutes on a 2-core VM):
#   PV_BENCH_LOGINS_DISK   logins per scenario on the real disk      (400)
#   PV_BENCH_LOGINS_TMPFS  logins per scenario on the tmpfs          (3000)
#   PV_BENCH_CHUNKS        interleaved rounds of all scenarios       (8)
#   PV_BENCH_VENDORS       the large store                           (100000)
#   PV_BENCH_AUDIT_LINES   the large audit log                       (1000000)
#   PV_BENCH_ISSUES        otpctl issue runs timed                   (30)
#   PV_BENCH_DISK_DIR      where the real-disk work goes             (/var/tmp)
#   PV_BENCH_DOC           the report                                (docs/performance.md)
#   PV_BENCH_WAIT_IDLE     wait up to this many seconds for an idle machine first (0)
#   PV_BENCH_KEEP=1        keep the work directory (tmpfs still unmounted)
# To iterate on a part (the report then says what was left out; write it elsewhere with
# PV_BENCH_DOC), e.g. PV_BENCH_PARTS=syscalls, or PV_BENCH_PARTS=logins
# PV_BENCH_SCENARIOS="contract v10 oath permit" PV_BENCH_DISKS=tmpfs:
#   PV_BENCH_PARTS         logins pg otpctl syscalls recording       (all five)
#   PV_BENCH_REC_ROUNDS    rounds of the 50 MB recorded/unrecorded session (5)
#   PV_BENCH_SCENARIOS     login scenarios (see SCENARIOS below)     (all)
#   PV_BENCH_DISKS         tmpfs real                                (both)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
N_DISK=${PV_BENCH_LOGINS_DISK:-400}
N_TMPFS=${PV_BENCH_LOGINS_TMPFS:-3000}
CHUNKS=${PV_BENCH_CHUNKS:-8}
BIG_VENDORS=${PV_BENCH_VENDORS:-100000}
BIG_AUDIT=${PV_BENCH_AUDIT_LINES:-1000000}
ISSUES=${PV_BENCH_ISSUES:-30}
DISK_DIR=${PV_BENCH_DISK_DIR:-/var/tmp}
DOC=${PV_BENCH_DOC:-docs/performance.md}
PARTS=" ${PV_BENCH_PARTS:-logins pg otpctl syscalls recording} "
REC_ROUNDS=${PV_BENCH_REC_ROUNDS:-5}
DISKS=" ${PV_BENCH_DISKS:-tmpfs real} "
# Scenarios. Singles (1 client): floor, contract (the contract floor: a pam_permit transaction
# plus the durable writes the contract needs; docs/performance.md 5a), v10 (pam_vendor, 10
# vendors), oath, gauth, permit (pam_permit in every phase: what the PAM transaction itself
# costs), v1k, vbig (the big store), abig (the big log), v10u (v10 with sealing stopped).
# Concurrency: c2d/c4d (pam_vendor, 2/4 clients on distinct vendors), c2o/c4o (on one vendor),
# f2d/f4d/f2o/f4o (the floor alike); with 1 client "distinct" and "one" are the same run: v10
# and floor.
SCENARIOS=${PV_BENCH_SCENARIOS:-floor contract v10 v10u oath gauth permit v1k vbig abig c2d c2o c4d c4o f2d f2o f4d f4o}
B=${PV_BUILD:-build/normal}
OTPCTL=$ROOT/$B/bin/otpctl
MODULE=$ROOT/$B/bin/pam_vendor.so
PVBENCH=$ROOT/$B/tests/pvbench
T_START=$(date +%s)

say() { printf '[%4ds] %s\n' $(($(date +%s) - T_START)) "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root (root-owned store and audit log, tmpfs mount)" >&2
	exit 1
fi

# --- a private mount namespace: our tmpfs, and (if needed) a /dev/log of our own ---
# Every mount below lives in a mount namespace of this run: the host's mounts and its /dev are
# never touched, and our mounts vanish when the run ends. A machine without a syslog daemon
# (no /dev/log) would distort the comparison: pam_vendor's syslog copies of its audit lines
# would cost nothing, while a module that opens the log with LOG_CONS (google-authenticator
# does) writes to the console instead, which on a VM's serial console costs milliseconds.
# There, every scenario runs with a /dev/log served by a minimal receiver (pvbench syslogd:
# receive and discard); where the host has a syslog daemon, its /dev/log is used as it is.
if [ "${PV_BENCH_IN_NS:-}" != 1 ]; then
	exec unshare --mount --propagation private env PV_BENCH_IN_NS=1 "$ROOT/tests/bench/run.sh" "$@"
fi
private_dev_log() {
	local d n
	d=$(mktemp -d /tmp/pvbench-dev.XXXXXX)
	mount -t tmpfs -o mode=0755 pvbench-dev "$d"
	for n in null zero full random urandom tty console; do
		[ -e "/dev/$n" ] || continue
		: >"$d/$n"
		mount --bind "/dev/$n" "$d/$n"
	done
	for n in pts shm mqueue; do
		[ -d "/dev/$n" ] || continue
		mkdir "$d/$n"
		mount --bind "/dev/$n" "$d/$n"
	done
	ln -s /proc/self/fd "$d/fd"
	ln -s /proc/self/fd/0 "$d/stdin"
	ln -s /proc/self/fd/1 "$d/stdout"
	ln -s /proc/self/fd/2 "$d/stderr"
	[ -e /dev/ptmx ] && ln -s pts/ptmx "$d/ptmx"
	mount --rbind "$d" /dev
	umount -l "$d"
	rmdir "$d"
}

# --- packages: the project's build set, the two peers, strace for the syscall counts ---
want="libpam-oath oathtool libpam-google-authenticator strace postgresql pgbouncer"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null ||
		{ apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null; }
fi
SECDIR=$(pkg-config --variable=libdir pam 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)/security
for m in pam_oath.so pam_google_authenticator.so pam_permit.so; do
	[ -e "$SECDIR/$m" ] || [ -e "/lib/x86_64-linux-gnu/security/$m" ] || { echo "run.sh: $m not found" >&2; exit 1; }
done

# --- build with the project's flags, against its core library ---
make -s -f Makefile -f tests/bench/bench.mk bench-build >&2


# --- work area: a real-disk directory and a tmpfs we mount ourselves ---
WORK=$(mktemp -d "$DISK_DIR/pvbench.XXXXXX")
chmod 0755 "$WORK"
REAL=$WORK/disk
TMPFS=$WORK/tmpfs
mkdir -m 0755 "$REAL" "$TMPFS" "$WORK/out"
OUT=$WORK/out
GENAUDIT=
SYSLOGD=
PG_USERS=()
PG_GROUP=
cleanup() {
	local rc=$?
	stop_pgbouncer 2>/dev/null || true
	pg_teardown 2>/dev/null || true
	for u in "${PG_USERS[@]}"; do userdel "$u" 2>/dev/null || true; done
	[ -n "$PG_GROUP" ] && { groupdel "$PG_GROUP" 2>/dev/null || true; }
	if [ -n "$SYSLOGD" ]; then kill "$SYSLOGD" 2>/dev/null || true; wait "$SYSLOGD" 2>/dev/null || true; fi
	if [ -n "$GENAUDIT" ]; then kill "$GENAUDIT" 2>/dev/null || true; wait "$GENAUDIT" 2>/dev/null || true; fi
	if mountpoint -q "$TMPFS" 2>/dev/null; then
		umount "$TMPFS" 2>/dev/null || umount -l "$TMPFS"
	fi
	if [ "${PV_BENCH_KEEP:-0}" = 1 ]; then
		echo "run.sh: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mount -t tmpfs -o size=3g,mode=0755 pvbench "$TMPFS"
# Snapshot the module and otpctl: a rebuild of build/ during the run must not change (or
# half-write) the binaries under test.
mkdir -m 0755 "$WORK/bin"
install -m 0755 "$MODULE" "$WORK/bin/pam_vendor.so"
install -m 0755 "$OTPCTL" "$WORK/bin/otpctl"
install -m 0755 "$PVBENCH" "$WORK/bin/pvbench"
MODULE=$WORK/bin/pam_vendor.so
OTPCTL=$WORK/bin/otpctl
PVBENCH=$WORK/bin/pvbench
if [ -S /dev/log ]; then
	SYSLOG_NOTE="the host's syslog daemon (/dev/log)"
else
	private_dev_log
	"$PVBENCH" syslogd --dir /dev/log &
	SYSLOGD=$!
	SYSLOG_NOTE="no syslog daemon on the host: a private /dev/log served by pvbench syslogd (receive and discard)"
fi

RESULTS=$OUT/results.tsv
FACTS=$OUT/facts.txt
: >"$RESULTS"
: >"$FACTS"
fact() { printf '%s=%s\n' "$1" "$2" >>"$FACTS"; }
fact module_sha256 "$(sha256sum "$MODULE" | cut -c1-16)"
fact syslog "$SYSLOG_NOTE"
fact load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
# CPU used by the whole machine during the run, to compare with our own (bash `times`).
cpu_busy() { awk '/^cpu / {printf "%.1f\n", ($2 + $3 + $4 + $7 + $8 + $9) / 100}' /proc/stat; }
idle_pct() { # machine idle % over one second
	local a b
	a=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat)
	echo "$a $b" | awk '{printf "%.0f", 100 * ($4 - $2) / (($3 - $1) + ($4 - $2))}'
}
# On a shared machine, optionally wait for the CPUs to be (mostly) idle before measuring.
waited=0
while [ "$waited" -lt "${PV_BENCH_WAIT_IDLE:-0}" ] && [ "$(idle_pct)" -lt 85 ]; do
	[ "$waited" -eq 0 ] && say "waiting up to ${PV_BENCH_WAIT_IDLE}s for an idle machine"
	sleep 9
	waited=$((waited + 10))
done
fact waited_idle_s "$waited"
fact idle_start "$(idle_pct)"
CPU0=$(cpu_busy)
fact busy_start "$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 20 {printf "%s%s %s%%", n++ ? ", " : "", $2, $1}')"

# --- environments ---
# new_env DIR VENDORS: config, key (otpctl init), store with VENDORS open windows (core API),
# and the PAM service file (auth, account, session: pam_vendor only).
new_env() {
	local e=$1 n=$2
	mkdir -m 0700 "$e" "$e/log" "$e/pam.d"
	cat >"$e/pam_vendor.conf" <<-EOF
		store_dir = $e/store
		key_file = $e/master.key
		audit_log = $e/log/audit.log
		fail_delay = 0
		lock_timeout = 5s
		session_recording = off
	EOF
	# session_recording = off: the bench's vendors have no accounts, so no recorder shell;
	# what recording costs is measured apart (part "recording", section 4a).
	chmod 0600 "$e/pam_vendor.conf"
	"$OTPCTL" --config "$e/pam_vendor.conf" init >/dev/null
	"$PVBENCH" genstore --config "$e/pam_vendor.conf" --vendors "$n" 2>>"$OUT/gen.log"
	cat >"$e/pam.d/pvbench" <<-EOF
		auth     required $MODULE config=$e/pam_vendor.conf
		account  required $MODULE config=$e/pam_vendor.conf
		session  required $MODULE config=$e/pam_vendor.conf
	EOF
}
# Peers: pam_oath (HOTP usersfile, window 1) and google-authenticator (HOTP), auth only, with
# pam_permit for account and session so that the transaction is the same; and the floor dir.
new_peers() {
	local p=$1
	mkdir -m 0700 "$p" "$p/ga" "$p/pam.d" "$p/floor" "$p/contract"
	cat >"$p/pam.d/oath" <<-EOF
		auth     required pam_oath.so usersfile=$p/users.oath window=1
		account  required pam_permit.so
		session  required pam_permit.so
	EOF
	cat >"$p/pam.d/permit" <<-EOF
		auth     required pam_permit.so
		account  required pam_permit.so
		session  required pam_permit.so
	EOF
	cat >"$p/pam.d/gauth" <<-EOF
		auth     required pam_google_authenticator.so secret=$p/ga/\${USER} user=root
		account  required pam_permit.so
		session  required pam_permit.so
	EOF
}

# has "LIST" WORD: WORD is in the space-separated LIST.
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }
# A partial run builds the large store and log only when a part it runs reads them.
has "$SCENARIOS" vbig || BIG_VENDORS=10
has "$SCENARIOS" abig || has "$PARTS" otpctl || BIG_AUDIT=10
say "tmpfs: environments (10, 1000, $BIG_VENDORS vendors; a $BIG_AUDIT-line audit log)"
new_env "$TMPFS/abig" 10
# The big log takes longest: generate it while the other environments are built and copied.
t0=$(date +%s.%N)
"$PVBENCH" genaudit --config "$TMPFS/abig/pam_vendor.conf" --lines "$BIG_AUDIT" 2>>"$OUT/gen.log" &
GENAUDIT=$!
new_env "$TMPFS/v10" 10
# The same with sealing stopped (otpctl init sets it up): sealing's cost per login is the
# difference of the two medians.
new_env "$TMPFS/v10u" 10
"$OTPCTL" --config "$TMPFS/v10u/pam_vendor.conf" audit stop-sealing >/dev/null
new_env "$TMPFS/v1k" 1000
new_env "$TMPFS/vbig" "$BIG_VENDORS"
new_env "$TMPFS/issue" 10
new_peers "$TMPFS/peers"
# The floor rewrites a file as large as a sealed record holding a full batch of codes.
"$PVBENCH" login --module vendor --confdir "$TMPFS/v10/pam.d" --service pvbench \
	--config "$TMPFS/v10/pam_vendor.conf" --logins 32 --warmup 0 >/dev/null
REC_BYTES=$(stat -c %s "$TMPFS/v10/store/v000000.rec")
fact record_bytes "$REC_BYTES"

say "real disk: copying the environments to $REAL (generated on tmpfs: no fsync per file)"
clone() {
	cp -a "$TMPFS/$1" "$REAL/$1"
	sed -i "s#$TMPFS/$1#$REAL/$1#g" "$REAL/$1/pam_vendor.conf" "$REAL/$1/pam.d/pvbench"
}
for e in v10 v10u v1k vbig issue; do clone $e; done
wait $GENAUDIT
GENAUDIT=
fact genaudit_s "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')"
clone abig
cat "$OUT/gen.log" >&2
new_peers "$REAL/peers"
sync
sleep 2

scenario_args() {
	local base=$1 sc=$2
	local vendor="--module vendor --confdir $base/v10/pam.d --service pvbench --config $base/v10/pam_vendor.conf"
	local floor="--module floor --dir $base/peers/floor --record-bytes $REC_BYTES"
	case $sc in
	floor) echo "$floor" ;;
	oath) echo --module oath --confdir "$base/peers/pam.d" --service oath --oath-file "$base/peers/users.oath" ;;
	gauth) echo --module gauth --confdir "$base/peers/pam.d" --service gauth --gauth-dir "$base/peers/ga" ;;
	permit) echo --module permit --confdir "$base/peers/pam.d" --service permit ;;
	contract) echo --module contract --confdir "$base/peers/pam.d" --service permit \
		--dir "$base/peers/contract" --record-bytes "$REC_BYTES" ;;
	c?d) echo "$vendor --clients ${sc:1:1}" ;;
	c?o) echo "$vendor --clients ${sc:1:1} --same" ;;
	f?d) echo "$floor --clients ${sc:1:1}" ;;
	f?o) echo "$floor --clients ${sc:1:1} --same" ;;
	*) echo --module vendor --confdir "$base/$sc/pam.d" --service pvbench --config "$base/$sc/pam_vendor.conf" ;;
	esac
}
# run_one DISK BASE SCENARIO LOGINS: one chunk, raw latencies appended to OUT/DISK.SCENARIO.raw.
# A failed login ends the run, except in the concurrency scenarios, where up to 2 % are
# counted and reported: parallel logins of one vendor are exactly where a race would show.
run_one() {
	local disk=$1 base=$2 sc=$3 n=$4 extra=(--warmup 3)
	case $sc in c?[do] | f?[do]) extra=(--warmup $((2 * ${sc:1:1})) --max-failures $((n / 50))) ;; esac
	# shellcheck disable=SC2046
	"$PVBENCH" login --logins "$n" "${extra[@]}" --disk "$disk" --label "$sc" \
		--raw "$OUT/$disk.$sc.raw" $(scenario_args "$base" "$sc") >/dev/null 2>>"$OUT/failures.log" ||
		{ cat "$OUT/failures.log" >&2; exit 1; }
}
merge() {
	local disk=$1 sc=$2 module=vendor label=$2 clients=1 mode=()
	case $sc in
	floor | f?[do]) module=floor ;;
	oath | gauth | permit | contract) module=$sc ;;
	esac
	case $sc in
	c?[do] | f?[do])
		label=conc
		clients=${sc:1:1}
		[ "${sc:2:1}" = o ] && mode=(--same)
		;;
	esac
	"$PVBENCH" stats --module "$module" --label "$label" --disk "$disk" --clients "$clients" \
		"${mode[@]}" "$OUT/$disk.$sc.raw" >>"$RESULTS"
}
# All scenarios of one disk, interleaved in CHUNKS rounds, so that a change in the machine's
# load during the run (this VM is shared) hits every scenario alike.
logins() {
	local disk=$1 base=$2 n=$3 c per sc
	per=$(((n + CHUNKS - 1) / CHUNKS))
	for c in $(seq 1 "$CHUNKS"); do
		say "$disk: all login scenarios, round $c/$CHUNKS ($per logins each)"
		for sc in $SCENARIOS; do run_one "$disk" "$base" "$sc" "$per"; done
	done
	for sc in $SCENARIOS; do merge "$disk" "$sc"; done
}

# --- otpctl: issue wall time; audit verify, report, audit --vendor over the big log ---
ms_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN {printf "%.1f\n", (b - a) / 1e6}'; }
otpctl_bench() {
	local disk=$1 base=$2 i t times=() log size
	for i in $(seq 0 $((ISSUES - 1))); do
		t=$(date +%s%N)
		"$OTPCTL" --config "$base/issue/pam_vendor.conf" --json issue "v00000$((i % 10))" >/dev/null
		times+=("$(ms_since "$t")")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk -v d="$disk" '{v[NR]=$1} END {
		m=v[int((NR+1)/2)]; p=v[int(NR*0.9+0.999)]; printf "otpctl_issue_%s=%.2f %.2f %d\n", d, m, p, NR}' >>"$FACTS"
	log=$base/abig/log/audit.log
	size=$(stat -c %s "$log")
	fact "audit_bytes_$disk" "$size"
	fact "audit_lines_$disk" "$(wc -l <"$log")"
	cat "$log" >/dev/null # warm the page cache: both readers below see it warm
	best() { sort -n | head -1; }
	fact "b2sum_ms_$disk" "$(for i in 1 2 3; do t=$(date +%s%N); b2sum "$log" >/dev/null; ms_since "$t"; done | best)"
	fact "verify_ms_$disk" "$(for i in 1 2; do t=$(date +%s%N); "$OTPCTL" --config "$base/abig/pam_vendor.conf" audit verify >/dev/null; ms_since "$t"; done | best)"
	fact "report_ms_$disk" "$(for i in 1 2; do t=$(date +%s%N); "$OTPCTL" --config "$base/abig/pam_vendor.conf" report >/dev/null; ms_since "$t"; done | best)"
	fact "report_rows_$disk" "$("$OTPCTL" --config "$base/abig/pam_vendor.conf" report | wc -l)"
	fact "auditv_ms_$disk" "$(for i in 1 2; do t=$(date +%s%N); "$OTPCTL" --config "$base/abig/pam_vendor.conf" audit --vendor v000042 >/dev/null; ms_since "$t"; done | best)"
	fact "auditv_rows_$disk" "$("$OTPCTL" --config "$base/abig/pam_vendor.conf" audit --vendor v000042 | wc -l)"
}

# --- where the time goes: system calls per login (strace -f on a few logins, on the tmpfs) ---
# Exact per-login counts come from the calls made between the harness's markers; the classic
# `strace -c -f` summary of a whole 20-login pam_vendor run is kept too (it also counts the
# untimed code issuing: one store update per round of 32 logins).
syscalls() {
	local sc
	for sc in v10 oath gauth floor contract; do
		# shellcheck disable=SC2046
		strace -f -o "$OUT/strace.$sc" "$PVBENCH" login --strace-markers --logins 20 --warmup 2 \
			--disk strace --label strace $(scenario_args "$TMPFS" "$sc") >/dev/null
		awk -f tests/bench/syscalls.awk "$OUT/strace.$sc" | sort >"$OUT/syscalls.$sc"
	done
	# shellcheck disable=SC2046
	strace -c -f -o "$OUT/strace-c.v10" "$PVBENCH" login --logins 20 --warmup 0 --disk strace \
		--label strace $(scenario_args "$TMPFS" v10) >/dev/null
}

# --- the PostgreSQL backend (several gateways, one state), on the real disk ---
# A private PostgreSQL (tests/pg/pg_lib.sh) with its data on the real disk and
# synchronous_commit = on; 4 vendors (system accounts in a vendor group: the database backend
# requires vendor_group); per login and logins/s with 1, 2 and 4 clients on distinct vendors,
# first connecting to the server directly, then through Debian's PgBouncer (pool_mode =
# session) on a local socket, as docs/multi-gateway.md sets it up.
source tests/pg/pg_lib.sh
PGB_PID=
# pg_login_runs LABEL CONF: the 1, 2 and 4 client runs of one set-up.
pg_login_runs() {
	local label=$1 conf=$2 c
	for c in 1 2 4; do
		say "PostgreSQL ($label): $N_DISK logins, $c client(s)"
		"$PVBENCH" login --module vendor --confdir "$REAL/pg/pam.d/$label" --service pvbench \
			--config "$conf" --logins "$N_DISK" --clients "$c" --warmup $((2 * c)) \
			--max-failures 0 --disk real --label "$label" --raw "$OUT/real.$label$c.raw" >/dev/null \
			2>>"$OUT/failures.log" || { cat "$OUT/failures.log" >&2; exit 1; }
		"$PVBENCH" stats --module vendor --label "$label" --disk real --clients "$c" \
			"$OUT/real.$label$c.raw" >>"$RESULTS"
	done
}
# pg_stack LABEL CONF: the service file for one set-up.
pg_stack() {
	mkdir -p "$REAL/pg/pam.d/$1"
	cat >"$REAL/pg/pam.d/$1/pvbench" <<-EOF
		auth     required $MODULE config=$2
		account  required $MODULE config=$2
		session  required $MODULE config=$2
	EOF
}
# PgBouncer as the postgres user, listening on a socket in DIR only (a directory postgres can
# reach: the vendor environment's is root's alone). Clients are
# authenticated by peer (the module runs as root); PgBouncer logs in to the server as the
# role root through a pg_ident map of the private cluster (postgres -> root).
start_pgbouncer() {
	local d=$1
	mkdir -m 0755 "$d"
	chown postgres "$d"
	printf '%s\n' 'local pamvendor root peer' >"$d/hba"
	printf '%s\n' '"root" ""' >"$d/users"
	cat >"$d/pgbouncer.ini" <<-EOF
		[databases]
		pamvendor = host=$PGD dbname=pamvendor user=root
		[pgbouncer]
		listen_addr =
		unix_socket_dir = $d
		listen_port = 6432
		auth_type = hba
		auth_hba_file = $d/hba
		auth_file = $d/users
		pool_mode = session
		max_client_conn = 100
		default_pool_size = 8
		pidfile = $d/pgbouncer.pid
		logfile = $d/pgbouncer.log
	EOF
	chown postgres "$d/hba" "$d/users" "$d/pgbouncer.ini"
	echo "pgbouncer postgres root" >>"$PGD/data/pg_ident.conf"
	echo "pgbouncer root root" >>"$PGD/data/pg_ident.conf"
	sed -i 's/^local\( *all *all *\)peer$/local\1peer map=pgbouncer/' "$PGD/data/pg_hba.conf"
	as_pg "$PGBIN/pg_ctl" -D "$PGD/data" reload >/dev/null
	runuser -u postgres -- /usr/sbin/pgbouncer -d "$d/pgbouncer.ini" ||
		{ echo "run.sh: cannot start PgBouncer" >&2; exit 1; }
	for _ in $(seq 50); do [ -s "$d/pgbouncer.pid" ] && break; sleep 0.1; done
	PGB_PID=$(cat "$d/pgbouncer.pid")
	fact pgbouncer_version "$(/usr/sbin/pgbouncer --version | head -n 1)"
}
stop_pgbouncer() {
	[ -n "$PGB_PID" ] || return 0
	kill "$PGB_PID" 2>/dev/null || true
	PGB_PID=
}
pg_bench() {
	local e=$REAL/pg i
	if ! pg_available; then
		say "PostgreSQL: not installed, section skipped"
		fact pg_skipped "the postgresql package is not installed"
		return
	fi
	PV_PG_PARENT=$REAL pg_setup pamvendor || { echo "run.sh: cannot start PostgreSQL" >&2; exit 1; }
	fact pg_version "$("$PGBIN/postgres" --version)"
	PG_GROUP=pvbenchg
	groupadd "$PG_GROUP"
	for i in 0 1 2 3; do useradd -M -N -G "$PG_GROUP" -s /usr/sbin/nologin "v00000$i" && PG_USERS+=("v00000$i"); done
	mkdir -m 0700 "$e" "$e/log"
	cat >"$e/pam_vendor.conf" <<-EOF
		store_dir = $e/store
		key_file = $e/master.key
		audit_log = $e/log/audit.log
		fail_delay = 0
		lock_timeout = 5s
		store_backend = postgresql
		pg_conninfo = host=$PGD dbname=pamvendor
		vendor_group = $PG_GROUP
		session_recording = off
	EOF
	chmod 0600 "$e/pam_vendor.conf"
	"$OTPCTL" --config "$e/pam_vendor.conf" init >/dev/null
	"$OTPCTL" --config "$e/pam_vendor.conf" db init >/dev/null
	"$PVBENCH" genstore --config "$e/pam_vendor.conf" --vendors 4 2>>"$OUT/gen.log"
	pg_stack pg "$e/pam_vendor.conf"
	pg_login_runs pg "$e/pam_vendor.conf"

	start_pgbouncer "$REAL/pgb"
	sed -e "s|^pg_conninfo = .*|pg_conninfo = host=$REAL/pgb port=6432 dbname=pamvendor|" \
		"$e/pam_vendor.conf" >"$e/pgbouncer.conf"
	chmod 0600 "$e/pgbouncer.conf"
	pg_stack pgbouncer "$e/pgbouncer.conf"
	pg_login_runs pgbouncer "$e/pgbouncer.conf"
	stop_pgbouncer
	pg_teardown
}

if has "$PARTS" logins; then
	has "$DISKS" tmpfs && logins tmpfs "$TMPFS" "$N_TMPFS"
	has "$DISKS" real && logins real "$REAL" "$N_DISK"
fi
has "$PARTS" pg && pg_bench
if has "$PARTS" otpctl; then
	say "otpctl: issue x$ISSUES, audit verify / report / audit --vendor over $BIG_AUDIT lines"
	has "$DISKS" tmpfs && otpctl_bench tmpfs "$TMPFS"
	has "$DISKS" real && otpctl_bench real "$REAL"
fi
if has "$PARTS" syscalls; then
	say "system calls per login (strace -f)"
	syscalls
fi
# Session recording (issue 23): 50 MB through a terminal, recorded and not, on the real disk.
if has "$PARTS" recording; then
	say "session recording: 50 MB through a pty, recorded and not, x$REC_ROUNDS"
	mkdir -p "$REAL/recording" && chmod 0700 "$REAL/recording"
	python3 tests/bench/ptyrec.py "$REC_ROUNDS" "$REAL/recording" 50 >>"$FACTS"
fi
fact parts "$(xargs <<<"$PARTS")"
fact scenarios "$SCENARIOS"
fact disks "$(xargs <<<"$DISKS")"
# Every denial the module wrote during the run, by phase and reason (there should be none).
for disk in tmpfs real; do
	base=$TMPFS
	[ "$disk" = real ] && base=$REAL
	fact "denials_$disk" "$(cat "$base"/v*/log/audit.log "$base"/abig/log/audit.log 2>/dev/null |
		grep '"result":"deny"' | sed -E 's/.*"event":"([a-z_]+)".*"reason":"([a-z_]+)".*/\1:\2/' |
		sort | uniq -c | awk '{printf "%s%s x%s", n++ ? ", " : "", $2, $1}')"
done
fact load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
fact cpu_machine_s "$(awk -v a="$CPU0" -v b="$(cpu_busy)" 'BEGIN {printf "%.0f", b - a}')"
times >"$OUT/times" # this shell's children: every pvbench, otpctl, b2sum run
fact cpu_ours_s "$(tail -1 "$OUT/times" | awk '{gsub(/[ms]/, " "); printf "%.0f", $1 * 60 + $2 + $3 * 60 + $4}')"
fact idle_end "$(idle_pct)"
fact busy_end "$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 > 20 {printf "%s%s %s%%", n++ ? ", " : "", $2, $1}')"
fact logins_disk "$N_DISK"
fact logins_tmpfs "$N_TMPFS"
fact chunks "$CHUNKS"
fact big_vendors "$BIG_VENDORS"
fact big_audit "$BIG_AUDIT"
fact disk_dir "$DISK_DIR"
fact wall_s "$(($(date +%s) - T_START))"

say "writing $DOC"
touch "$OUT/failures.log"
python3 tests/bench/report.py --results "$RESULTS" --facts "$FACTS" --syscalls "$OUT" \
	--disk-dir "$DISK_DIR" --tmpfs "$TMPFS" --out "$DOC"
say "done in $(($(date +%s) - T_START)) s"

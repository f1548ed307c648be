#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_group_change.sh — who is a vendor when the groups change (issue 17): a registered
# vendor removed from vendor_group is denied in auth and account (config_error, audited) with
# the file store and with PostgreSQL (there also while the database is stalled, when a user
# who is no vendor must not wait for it), and doctor calls it an error; an oversized group
# and an oversized passwd entry get the same answer from the module, `otpctl vendor add` and
# doctor. With PostgreSQL, auth and account of one login share one connection.
set -u
cd "$(dirname "$0")/../.."
source tests/lib.sh
B=${PV_BUILD:-$PWD/build/normal}
OTPCTL=${OTPCTL:-$B/bin/otpctl}
PV_MODULE=${PV_MODULE:-$B/bin/pam_vendor.so}
PAMDRIVE=${PAMDRIVE:-$B/tests/pamdrive}
ALLOWED=203.0.113.5
GRP=pvgcg$$
V1=pvgca$$
V2=pvgcb$$
NV=pvgcn$$
PGD=
PGPID=
cleanup() {
	[ -n "$PGPID" ] && kill -CONT "$PGPID" 2>/dev/null
	[ -n "$PGD" ] && pg_teardown
	userdel "$V1" 2>/dev/null
	userdel "$V2" 2>/dev/null
	userdel "$NV" 2>/dev/null
	groupdel "$GRP" 2>/dev/null
	cleanup_dirs
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "Bail out! needs root (useradd, mount namespaces)"; exit 1; }

new_env "vendor_group = $GRP"
groupadd "$GRP"
useradd -m -d "$T/home/$V1" -N -G "$GRP" -s /usr/sbin/nologin "$V1"
useradd -m -d "$T/home/$V2" -N -G "$GRP" -s /usr/sbin/nologin "$V2"
mkdir -p "$T/pam.d"
# PAM_IGNORE from pam_vendor would let pam_permit decide: a module that ignores fails here.
printf '%s\n' "auth required $PV_MODULE config=$CFG" "auth required pam_permit.so" \
	"account required $PV_MODULE config=$CFG" "account required pam_permit.so" >"$T/pam.d/gc"

# login USER CODE: pamdrive auth,account; prints its output.
login() {
	"$PAMDRIVE" --confdir "$T/pam.d" --service gc --user "$1" --rhost "$ALLOWED" --code "$2" \
		--steps auth,account 2>>"$T/drive.err"
}
step() { printf '%s\n' "$1" | sed -n "s/^$2=//p" | tail -n 1; }
code_for() {
	"$OTPCTL" --config "$CFG" --json issue "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["otp"])'
}
# doctor_sev VENDOR: the severity of doctor's vendor.VENDOR.not_in_group finding, or "none".
doctor_sev() {
	"$OTPCTL" --config "$CFG" --json doctor 2>"$T/doctor.last.err" | tee "$T/doctor.last.json" | python3 -c '
import json,sys
d=json.load(sys.stdin); want="vendor.%s.not_in_group" % sys.argv[1]
def walk(o):
    if isinstance(o, dict):
        if o.get("id") == want: print(o.get("severity", "?")); sys.exit(0)
        for v in o.values(): walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
walk(d); print("none")' "$1"
}

# doctor_expect NAME WANT GOT: expect_eq, and on a mismatch the findings of the doctor run that
# answered (their ids and severities, and its error output) as TAP comments.
doctor_expect() {
	expect_eq "$1" "$2" "$3"
	[ "$2" = "$3" ] && return 0
	python3 -c '
import json,sys
def walk(o):
    if isinstance(o, dict):
        if "id" in o: print("# doctor finding: %s %s" % (o.get("id"), o.get("severity")))
        for v in o.values(): walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
try: walk(json.load(open(sys.argv[1])))
except Exception as e: print("# doctor output unreadable: %s" % e)' "$T/doctor.last.json"
	sed 's/^/# doctor stderr: /' "$T/doctor.last.err"
}

for v in "$V1" "$V2"; do
	"$OTPCTL" --config "$CFG" vendor add "$v" --ip "$ALLOWED" >/dev/null 2>&1 &&
		"$OTPCTL" --config "$CFG" enable "$v" --for 1h >/dev/null 2>&1 ||
		{ echo "Bail out! cannot register $v"; exit 1; }
done

test_member_logs_in() {
	local out
	out=$(login "$V1" "$(code_for "$V1")")
	expect_eq "member of vendor_group: auth allowed" PAM_SUCCESS "$(step "$out" auth)"
	expect_eq "member of vendor_group: account allowed" PAM_SUCCESS "$(step "$out" account)"
	doctor_expect "member of vendor_group: doctor has no finding" none "$(doctor_sev "$V1")"
}

test_removed_from_group() {
	local out
	gpasswd -d "$V1" "$GRP" >/dev/null
	out=$(login "$V1" "$(code_for "$V1")")
	expect_eq "removed from vendor_group: auth denied" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "removed from vendor_group: account denied" PAM_PERM_DENIED "$(step "$out" account)"
	expect_eq "removed from vendor_group: audit reason" config_error "$(audit_last reason)"
	expect_eq "removed from vendor_group: audit result" deny "$(audit_last result)"
	expect_match "removed from vendor_group: audit detail names the group" "vendor_group $GRP" \
		"$(audit_last detail)"
	doctor_expect "removed from vendor_group: doctor reports an error" error "$(doctor_sev "$V1")"
	gpasswd -a "$V1" "$GRP" >/dev/null
}

# in_ns FILE_GROUP FILE_PASSWD CMD...: CMD in a private mount namespace whose /etc/group and
# /etc/passwd are the given FILES (bind mounts of files, never of directories).
in_ns() {
	unshare -m --propagation private sh -c 'mount --bind "$0" /etc/group && mount --bind "$1" /etc/passwd && shift && exec "$@"' "$@"
}

# big_group WITH_V1: /etc/group with GRP holding 5000 made-up names (and V1 when asked).
big_group() {
	local members
	members=$(python3 -c 'import sys; print(",".join("pvgcx%05d" % i for i in range(5000)))')
	[ "$1" = yes ] && members="$members,$V1,$V2" || members="$members,$V2"
	awk -F: -v g="$GRP" -v m="$members" 'BEGIN{OFS=":"} $1==g {$4=m} {print}' /etc/group >"$T/group.big"
	chmod 0644 "$T/group.big"
}

test_oversized_group() {
	local out sev
	cp /etc/passwd "$T/passwd.copy"
	big_group yes
	[ "$(stat -c %s "$T/group.big")" -gt 40000 ] || not_ok "setup: the group line is oversized"
	out=$(in_ns "$T/group.big" "$T/passwd.copy" "$PAMDRIVE" --confdir "$T/pam.d" --service gc \
		--user "$V1" --rhost "$ALLOWED" --code "$(code_for "$V1")" --steps auth,account 2>>"$T/drive.err")
	expect_eq "oversized group, member: module allows auth" PAM_SUCCESS "$(step "$out" auth)"
	sev=$(in_ns "$T/group.big" "$T/passwd.copy" bash -c "$(declare -f doctor_sev); T=$T OTPCTL=$OTPCTL CFG=$CFG doctor_sev $V1")
	doctor_expect "oversized group, member: doctor agrees (no finding)" none "$sev"
	"$OTPCTL" --config "$CFG" vendor remove "$V2" >/dev/null 2>&1
	out=$(in_ns "$T/group.big" "$T/passwd.copy" "$OTPCTL" --config "$CFG" vendor add "$V2" --ip "$ALLOWED" 2>&1)
	expect_eq "oversized group, member: vendor add agrees" 0 $?
	expect_no_match "oversized group, member: vendor add does not warn" "not in vendor_group" "$out"

	big_group no
	out=$(in_ns "$T/group.big" "$T/passwd.copy" "$PAMDRIVE" --confdir "$T/pam.d" --service gc \
		--user "$V1" --rhost "$ALLOWED" --code "$(code_for "$V1")" --steps auth,account 2>>"$T/drive.err")
	expect_eq "oversized group, not a member: module denies auth" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "oversized group, not a member: audit config_error" config_error "$(audit_last reason)"
	sev=$(in_ns "$T/group.big" "$T/passwd.copy" bash -c "$(declare -f doctor_sev); T=$T OTPCTL=$OTPCTL CFG=$CFG doctor_sev $V1")
	doctor_expect "oversized group, not a member: doctor agrees (error)" error "$sev"
}

test_oversized_passwd_entry() {
	local out sev gecos
	gecos=$(python3 -c 'print("x" * 20000)')
	awk -F: -v u="$V1" -v c="$gecos" 'BEGIN{OFS=":"} $1==u {$5=c} {print}' /etc/passwd >"$T/passwd.big"
	chmod 0644 "$T/passwd.big"
	cp /etc/group "$T/group.copy"
	out=$(in_ns "$T/group.copy" "$T/passwd.big" "$PAMDRIVE" --confdir "$T/pam.d" --service gc \
		--user "$V1" --rhost "$ALLOWED" --code "$(code_for "$V1")" --steps auth,account 2>>"$T/drive.err")
	expect_eq "oversized passwd entry: module allows auth" PAM_SUCCESS "$(step "$out" auth)"
	sev=$(in_ns "$T/group.copy" "$T/passwd.big" bash -c "$(declare -f doctor_sev); T=$T OTPCTL=$OTPCTL CFG=$CFG doctor_sev $V1")
	doctor_expect "oversized passwd entry: doctor agrees (no finding)" none "$sev"
	"$OTPCTL" --config "$CFG" vendor remove "$V1" >/dev/null 2>&1
	out=$(in_ns "$T/group.copy" "$T/passwd.big" "$OTPCTL" --config "$CFG" vendor add "$V1" --ip "$ALLOWED" 2>&1)
	expect_eq "oversized passwd entry: vendor add agrees" 0 $?
	expect_no_match "oversized passwd entry: vendor add does not warn" "not in vendor_group|cannot look up" "$out"
}

# --- The same with PostgreSQL. Who is registered comes from the local vendor list, so a
# vendor outside the group and a user who is no vendor are decided without the database.
PG_TIMEOUT=5
# pam_vendor's connections so far, from the server's log (log_connections).
pg_connections() { grep -c "connection authorized: .*application_name=pam_vendor" "$PGD/server.log"; }

pg_env() {
	local v
	pg_setup pamvendor || return 1
	echo "log_connections = on" >>"$PGD/data/postgresql.conf"
	as_pg "$PGBIN/pg_ctl" -D "$PGD/data" reload >/dev/null || return 1
	new_env "vendor_group = $GRP" "store_backend = postgresql" \
		"pg_conninfo = host=$PGD dbname=pamvendor" "pg_timeout = ${PG_TIMEOUT}s"
	mkdir -p "$T/pam.d"
	printf '%s\n' "auth required $PV_MODULE config=$CFG" "auth required pam_permit.so" \
		"account required $PV_MODULE config=$CFG" "account required pam_permit.so" >"$T/pam.d/gc"
	"$OTPCTL" --config "$CFG" db init >/dev/null || return 1
	for v in "$V1" "$V2"; do
		"$OTPCTL" --config "$CFG" vendor add "$v" --ip "$ALLOWED" >/dev/null 2>&1 &&
			"$OTPCTL" --config "$CFG" enable "$v" --for 1h >/dev/null 2>&1 || return 1
	done
	useradd -M -N -s /usr/sbin/nologin "$NV"
}

test_pg_member_one_connection() {
	local out n0
	n0=$(pg_connections)
	out=$(login "$V1" "$(code_for "$V1")")
	expect_eq "PostgreSQL, member: auth allowed" PAM_SUCCESS "$(step "$out" auth)"
	expect_eq "PostgreSQL, member: account allowed" PAM_SUCCESS "$(step "$out" account)"
	# otpctl issue connected before n0 was read; the login's auth and account share one.
	expect_eq "PostgreSQL: auth and account of one login use one connection" 1 \
		"$(($(pg_connections) - n0 - 1))"
}

test_pg_removed_from_group() {
	local out ms code
	gpasswd -d "$V1" "$GRP" >/dev/null
	out=$(login "$V1" "$(code_for "$V1")")
	expect_eq "PostgreSQL, removed from vendor_group: auth denied" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "PostgreSQL, removed from vendor_group: account denied" PAM_PERM_DENIED \
		"$(step "$out" account)"
	expect_eq "PostgreSQL, removed from vendor_group: audit reason" config_error "$(audit_last reason)"
	expect_match "PostgreSQL, removed from vendor_group: audit detail names the group" \
		"vendor_group $GRP" "$(audit_last detail)"
	doctor_expect "PostgreSQL, removed from vendor_group: doctor reports an error" error \
		"$(doctor_sev "$V1")"

	# The database stalled (SIGSTOP: its socket still accepts, nothing answers).
	code=$(code_for "$V1")
	kill -STOP "$PGPID"
	out=$(timed_login gc "$V1" "$code" auth,account)
	ms=$(step "$out" elapsed_ms)
	expect_eq "database stalled, removed vendor: auth denied" PAM_AUTH_ERR "$(step "$out" auth)"
	expect_eq "database stalled, removed vendor: account denied" PAM_PERM_DENIED "$(step "$out" account)"
	expect_eq "database stalled, removed vendor: audited config_error" config_error "$(audit_last reason)"
	out=$(timed_login gc "$NV" 000000 auth,account)
	expect_eq "database stalled, no vendor: left to the stack in auth" PAM_SUCCESS "$(step "$out" auth)"
	expect_eq "database stalled, no vendor: left to the stack in account" PAM_SUCCESS \
		"$(step "$out" account)"
	ms=$(step "$out" elapsed_ms)
	# A wait on the database would last pg_timeout (5 s) per phase.
	check "database stalled, no vendor: did not wait for the database ($ms ms)" \
		[ "$ms" -lt $((PG_TIMEOUT * 1000 - 1000)) ]
	kill -CONT "$PGPID"
	gpasswd -a "$V1" "$GRP" >/dev/null
	out=$(login "$V1" "$(code_for "$V1")")
	expect_eq "back in vendor_group, database back: the vendor logs in" "PAM_SUCCESS PAM_SUCCESS" \
		"$(step "$out" auth) $(step "$out" account)"
}

test_member_logs_in
test_removed_from_group
test_oversized_group
test_oversized_passwd_entry
source tests/pg/pg_lib.sh
if ! pg_available; then
	skip "vendor_group with PostgreSQL" "the postgresql package is not installed"
elif ! pg_env; then
	not_ok "PostgreSQL set-up for the group tests"
else
	test_pg_member_one_connection
	test_pg_removed_from_group
fi
finish

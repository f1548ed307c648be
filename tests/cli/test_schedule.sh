#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_schedule.sh — vendors cannot have work run outside their windows (issue 15): with the
# shipped configuration (the vendor in /etc/cron.deny and /etc/at.deny, examples/pam.d/cron,
# examples/pam.d/atd, examples/security/access-vendors.conf) the real crontab(1) and at(1)
# refuse the vendor, and the real cron and atd daemons do not run a job that exists for it,
# while a non-vendor's jobs run (the control) and the vendor's own jobs ran before (the
# baseline). otpctl doctor reports each way a vendor can still schedule work, its fixes work,
# and its cron/at and pam_access rules agree with what the real tools do; vendor add warns
# about an existing crontab and at job.
# Everything runs in a mount namespace of its own where /etc and /var/spool/cron are overlays
# and /run a tmpfs: accounts, deny files and PAM files are written there, never on the host.
# cron runs under faketime, started 5 s before a minute boundary, so its minute comes at once.
set -u
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/doctor_lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - test_schedule.sh needs root (namespaces, accounts, cron and atd)"
	echo "0 passed, 1 failed"
	exit 1
fi
# libfaketime itself, not the faketime wrapper: the wrapper forks, and cron must be our child.
LIBFAKETIME=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketime\.so\.1$')
if [ -z "$LIBFAKETIME" ]; then
	echo "Bail out! libfaketime.so.1 is missing: mk/deps.sh test installs faketime"
	exit 1
fi
for tool in crontab at atd cron unshare runuser; do
	if ! command -v "$tool" >/dev/null; then
		echo "Bail out! $tool is missing: mk/deps.sh test installs cron, at and faketime"
		exit 1
	fi
done
if [ "${PV_SCHEDULE_NS:-}" != 1 ]; then
	PV_SCHEDULE_NS=1 exec unshare -m --propagation private -- bash "$0" "$@"
fi
unset SUDO_USER PAM_VENDOR_CONFIG

V=pvschv$PV_RUN # the vendor, member of G
C=pvschc$PV_RUN # a user who is no vendor: the control
G=pvschg$PV_RUN
CRON_PID=

W=$(mktemp -d /tmp/pvtest.XXXXXX)
T_DIRS+=("$W")
chmod 0711 "$W" # the users' jobs write their markers under it
M=$W/marks
mkdir -m 1777 "$M"

on_exit() {
	[ -n "$CRON_PID" ] && kill "$CRON_PID" 2>/dev/null && wait "$CRON_PID" 2>/dev/null
	remove_accounts # in the private /etc, before it goes
	umount /run /var/spool/cron /etc 2>/dev/null
	cleanup_dirs
}
trap on_exit EXIT

# --- the private system --------------------------------------------------------------------

overlay() {
	mkdir -p "$W/ov/$1/up" "$W/ov/$1/work"
	mount -t overlay "pvsch-$1" -o "lowerdir=$2,upperdir=$W/ov/$1/up,workdir=$W/ov/$1/work" "$2"
}
if ! overlay etc /etc || ! overlay spool /var/spool/cron || ! mount -t tmpfs pvsch-run /run; then
	echo "Bail out! cannot mount the private /etc, /var/spool/cron and /run (overlayfs, tmpfs)"
	exit 1
fi
# cron must run only the crontabs of this test, whatever the fake time is.
rm -f /etc/crontab /etc/cron.d/*
# apt-get -s upgrade (doctor's system.security_updates, tested by test_doctor.sh) takes
# seconds and this suite runs the doctor often: it answers nothing here.
mount --bind /bin/true /usr/bin/apt-get

add_group "$G" || { echo "Bail out! groupadd failed"; exit 1; }
add_user "$V" -m -d "$W/home/$V" -s /bin/sh -G "$G" || { echo "Bail out! useradd failed"; exit 1; }
add_user "$C" -m -d "$W/home/$C" -s /bin/sh || { echo "Bail out! useradd failed"; exit 1; }
new_env "vendor_group = $G"
"$OTPCTL" --config "$CFG" vendor add "$V" --ip 192.0.2.10 >/dev/null 2>&1 ||
	{ echo "Bail out! vendor add failed"; exit 1; }
# Debian's PAM files and deny files as installed, to go back to.
mkdir "$W/debian"
cp -p /etc/pam.d/cron /etc/pam.d/atd /etc/at.deny "$W/debian/"

# --- helpers -------------------------------------------------------------------------------

# queue_at USER MARK: an at job of USER's that creates $M/MARK; sets JOB (its number) and
# AT_OUT, AT_RC.
queue_at() {
	AT_OUT=$(cd "$M" && echo "touch $M/$2" | runuser -u "$1" -- at now 2>&1)
	AT_RC=$?
	JOB=$(printf '%s\n' "$AT_OUT" | sed -n 's/^job \([0-9]*\) at .*/\1/p')
}
# with_at_open CMD...: run CMD while the vendor is not in at.deny (to queue a job "before").
with_at_open() {
	cp -p /etc/at.deny "$W/at.deny.saved"
	sed -i "/^$V\$/d" /etc/at.deny
	"$@"
	cp -p "$W/at.deny.saved" /etc/at.deny
}
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# run_atd CONTROL_MARK: the real atd, once over its queue (-s), errors to stderr (-d); waits
# for the control's job, then a moment for any other job it started.
run_atd() {
	: >"$W/atd.err"
	timeout 30 atd -d -s 2>"$W/atd.err"
	wait_for "$M/$1" 20
	sleep 2
}
# run_cron CONTROL_MARK: the real cron in the foreground, its clock 5 s before a minute that no
# system job uses; stopped once the control's crontab ran (and a moment for the others).
run_cron() {
	LD_PRELOAD=$LIBFAKETIME FAKETIME="@2031-03-04 12:00:55" cron -f -L 15 >"$W/cron.out" 2>&1 &
	CRON_PID=$!
	wait_for "$M/$1" 40
	sleep 3
	kill "$CRON_PID" 2>/dev/null
	wait "$CRON_PID" 2>/dev/null
	CRON_PID=
}
install_crontab() {
	echo "* * * * * touch $M/cron.$1" | runuser -u "$1" -- crontab - 2>&1
}

doctor() { run_ctl --json doctor "$@"; }
# apply ID: run the fix of finding ID as the admin would paste it.
apply() {
	local fix
	fix=$(field "$1" fix)
	if [ -z "$fix" ]; then
		not_ok "finding $1 has a fix to apply"
		return
	fi
	bash -c "$fix"
	expect_eq "the fix of $1 runs ($fix)" 0 $?
}
mine() { ids | grep -E "^vendor\.$V\.(cron_allowed|at_allowed|crontab|at_job|linger|cron_pam|atd_pam)\$" | tr '\n' ' ' | sed 's/ $//'; }

# --- tests ---------------------------------------------------------------------------------

# Without the protection, the vendor's jobs run (what the rest must stop), and the control's.
test_baseline_jobs_run() {
	queue_at "$V" at.base.v
	expect_eq "baseline: $V may queue an at job (Debian's at.deny does not list it)" 0 "$AT_RC"
	queue_at "$C" at.base.c
	run_atd at.base.c
	check "baseline: atd ran the control's job" [ -e "$M/at.base.c" ]
	check "baseline: atd ran the vendor's job (at.deny alone stops nothing queued)" [ -e "$M/at.base.v" ]

	expect_eq "baseline: $V may install a crontab (no cron.allow, no cron.deny)" "" "$(install_crontab "$V")"
	expect_eq "baseline: $C installs a crontab" "" "$(install_crontab "$C")"
	run_cron "cron.$C"
	check "baseline: cron ran the control's crontab" [ -e "$M/cron.$C" ]
	check "baseline: cron ran the vendor's crontab" [ -e "$M/cron.$V" ]
	rm -f "$M"/*
}

# vendor add names the crontab and the at job the account has, with the commands that end them.
test_vendor_add_warns() {
	local err
	"$OTPCTL" --config "$CFG" vendor remove "$V" >/dev/null 2>&1
	queue_at "$V" at.v
	VENDOR_JOB=$JOB
	run_ctl vendor add "$V" --ip 192.0.2.10
	expect_eq "vendor add with an existing crontab and at job: exit 0" 0 "$RC"
	err=$ERR
	expect_match "vendor add warns about the crontab, naming it and crontab -r -u" \
		"^otpctl: warning: $V has a crontab \(/var/spool/cron/crontabs/$V\): cron runs it whether or not a window is open; fix: crontab -r -u $V\$" \
		"$(printf '%s\n' "$err" | grep 'has a crontab')"
	expect_match "vendor add warns about the at job, naming it and atrm $VENDOR_JOB" \
		"^otpctl: warning: $V has 1 at job queued \(/var/spool/cron/atjobs/a[0-9a-f]{13}\): atd runs them whether or not a window is open; fix: atrm $VENDOR_JOB\$" \
		"$(printf '%s\n' "$err" | grep 'at job')"
	expect_match "vendor add says the vendor may install a crontab, with the command" \
		"may install a crontab: neither /etc/cron.allow nor /etc/cron.deny exists.*; fix: echo $V >> /etc/cron.deny && chmod 0644 /etc/cron.deny" "$err"
	expect_match "vendor add says the vendor may queue at jobs, with the command" \
		"may queue at jobs: /etc/at.allow does not exist and /etc/at.deny does not list it; fix: echo $V >> /etc/at.deny" "$err"
	expect_eq "each warning is one line" 4 "$(printf '%s\n' "$err" | grep -c '^otpctl: warning: ')"
	install_crontab "$C" >/dev/null
}

# The doctor names every way, with the exact fix.
test_doctor_reports_each_way() {
	local pamfix
	doctor
	expect_eq "doctor: the vendor's ways, all of them" \
		"vendor.$V.cron_allowed vendor.$V.at_allowed vendor.$V.crontab vendor.$V.at_job vendor.$V.cron_pam vendor.$V.atd_pam" "$(mine)"
	expect_eq "cron_allowed is an error" error "$(field "vendor.$V.cron_allowed" severity)"
	expect_eq "cron_allowed's fix" "echo $V >> /etc/cron.deny && chmod 0644 /etc/cron.deny" "$(field "vendor.$V.cron_allowed" fix)"
	expect_eq "at_allowed's fix" "echo $V >> /etc/at.deny" "$(field "vendor.$V.at_allowed" fix)"
	expect_eq "crontab: an error" error "$(field "vendor.$V.crontab" severity)"
	expect_eq "crontab's fix" "crontab -r -u $V" "$(field "vendor.$V.crontab" fix)"
	expect_eq "at_job: an error" error "$(field "vendor.$V.at_job" severity)"
	expect_eq "at_job's fix" "atrm $VENDOR_JOB" "$(field "vendor.$V.at_job" fix)"
	expect_match "cron_pam names the PAM file" "^/etc/pam.d/cron has no pam_access.so line in its account stack" "$(field "vendor.$V.cron_pam" what)"
	pamfix="sed -i '/^@include common-account/i account required pam_access.so accessfile=/etc/security/access-vendors.conf' /etc/pam.d/cron"
	expect_eq "cron_pam's fix creates the access file with the vendor group, then adds the line" \
		"echo '- : ($G) : ALL' > /etc/security/access-vendors.conf && $pamfix" "$(field "vendor.$V.cron_pam" fix)"
	expect_match "atd_pam's fix is the same for /etc/pam.d/atd" "account required pam_access.so accessfile=/etc/security/access-vendors.conf' /etc/pam.d/atd\$" "$(field "vendor.$V.atd_pam" fix)"
	expect_eq "the control (no vendor) is not reported" "" "$(ids | grep "\.$C\." || true)"
	PAM_FIX_CRON=$(field "vendor.$V.cron_pam" fix)
	PAM_FIX_ATD=$(field "vendor.$V.atd_pam" fix)

	# The deny files: the doctor's own commands.
	apply "vendor.$V.cron_allowed"
	apply "vendor.$V.at_allowed"
	check "/etc/at.deny keeps Debian's owner and mode (at reads it as daemon)" \
		[ "$(stat -c '%U:%G %a' /etc/at.deny)" = "root:daemon 640" ]
	check "/etc/at.deny keeps its other lines" grep -qx nobody /etc/at.deny
}

install_examples() {
	install -m 0644 "$PV_ROOT/examples/pam.d/cron" /etc/pam.d/cron
	install -m 0644 "$PV_ROOT/examples/pam.d/atd" /etc/pam.d/atd
	sed "s/(vendors)/($G)/" "$PV_ROOT/examples/security/access-vendors.conf" >/etc/security/access-vendors.conf
}

# The example configuration: installing is refused; what exists does not run.
test_example_configuration() {
	local out
	install_examples
	doctor
	expect_eq "with the example configuration the doctor reports only the jobs that exist" \
		"vendor.$V.crontab vendor.$V.at_job" "$(mine)"

	out=$(echo "* * * * * true" | runuser -u "$V" -- crontab - 2>&1)
	expect_eq "crontab as the vendor: refused (exit 1)" 1 $?
	expect_match "crontab says why" "You \($V\) are not allowed to use this program \(crontab\)" "$out"
	runuser -u "$C" -- crontab -l >/dev/null 2>&1
	expect_eq "crontab as the control: allowed" 0 $?
	queue_at "$V" at.refused
	expect_eq "at as the vendor: refused (exit 1)" 1 "$AT_RC"
	expect_match "at says why" "You do not have permission to use at" "$AT_OUT"
	queue_at "$C" at.c
	expect_eq "at as the control: allowed" 0 "$AT_RC"

	run_atd at.c
	check "atd ran the control's job" [ -e "$M/at.c" ]
	check "atd did not run the vendor's job queued before" [ ! -e "$M/at.v" ]
	expect_match "atd: the vendor's job is refused by PAM" "Permission denied" "$(cat "$W/atd.err")"

	run_cron "cron.$C"
	check "cron ran the control's crontab" [ -e "$M/cron.$C" ]
	check "cron did not run the vendor's crontab" [ ! -e "$M/cron.$V" ]
	expect_match "cron: the vendor's job is refused by PAM" "Permission denied" "$(cat "$W/cron.out")"
}

# The fixes for the jobs that exist work, and then nothing of the vendor's is reported.
test_job_fixes() {
	doctor
	# Debian's crontab refuses "-u NAME" once NAME is denied, even to root: the fix is rm.
	expect_eq "crontab's fix once the vendor is in cron.deny" "rm /var/spool/cron/crontabs/$V" "$(field "vendor.$V.crontab" fix)"
	apply "vendor.$V.crontab"
	apply "vendor.$V.at_job"
	check "the crontab is gone" [ ! -e "/var/spool/cron/crontabs/$V" ]
	doctor
	expect_eq "after the fixes: no way left for the vendor" "" "$(mine)"
	check "... the doctor lists the schedule checks as passed" \
		python3 -c 'import json,sys
p=json.loads(sys.argv[1])["passed"]
sys.exit(0 if all(c in p for c in ["schedule.cron_allowed","schedule.at_allowed","schedule.crontab","schedule.at_jobs","schedule.linger","schedule.cron_pam","schedule.atd_pam"]) else 1)' "$OUT"
}

# The PAM fixes the doctor prints, on Debian's files, make the same stack as the examples.
test_pam_fixes() {
	cp -p "$W/debian/cron" "$W/debian/atd" /etc/pam.d/
	rm -f /etc/security/access-vendors.conf
	doctor
	expect_finding "Debian's cron file again -> cron_pam" "vendor.$V.cron_pam"
	bash -c "$PAM_FIX_CRON" && bash -c "$PAM_FIX_ATD"
	expect_eq "the printed PAM fixes run" 0 $?
	doctor
	expect_no_finding "after the fix: no cron_pam" "vendor.$V.cron_pam"
	expect_no_finding "after the fix: no atd_pam" "vendor.$V.atd_pam"
	expect_eq "the fixed cron file has the example's account stack" \
		"$(grep '^account\|^@include common-account' "$PV_ROOT/examples/pam.d/cron" | tr -s ' \t' ' ')" \
		"$(grep '^account\|^@include common-account' /etc/pam.d/cron | tr -s ' \t' ' ')"
	expect_eq "the access file is the example's rule" "$(grep -v '^#' "$PV_ROOT/examples/security/access-vendors.conf" | sed "s/(vendors)/($G)/")" \
		"$(cat /etc/security/access-vendors.conf)"
}

# doctor's crontab(1)/at(1) rules, case by case, against the real tools. A case: the files to
# write (name|mode|owner|content, content with printf escapes).
set_files() {
	local spec name mode owner content
	rm -f /etc/cron.allow /etc/cron.deny /etc/at.allow /etc/at.deny
	for spec in "$@"; do
		IFS='|' read -r name mode owner content <<<"$spec"
		# shellcheck disable=SC2059 # the content is a printf format on purpose
		printf "$content" >"/etc/$name"
		chmod "$mode" "/etc/$name"
		chown "$owner" "/etc/$name"
	done
}
# rule_case TOOL EXPECTED(allowed|refused) NAME SPEC...
rule_case() {
	local tool=$1 want=$2 name=$3 real doc id
	shift 3
	set_files "$@"
	if [ "$tool" = cron ]; then
		echo "* * * * * true" | runuser -u "$V" -- crontab - >/dev/null 2>&1 && real=allowed || real=refused
		runuser -u "$V" -- crontab -r >/dev/null 2>&1
		id="vendor.$V.cron_allowed"
	else
		queue_at "$V" never
		[ "$AT_RC" = 0 ] && real=allowed || real=refused
		[ -n "$JOB" ] && atrm "$JOB"
		id="vendor.$V.at_allowed"
	fi
	doctor
	has_id "$id" && doc=allowed || doc=refused
	expect_eq "$tool, $name: the real $tool says $want" "$want" "$real"
	expect_eq "$tool, $name: the doctor agrees" "$real" "$doc"
}
test_rules_agree_with_the_tools() {
	cp -p /etc/at.deny "$W/at.deny.rules"
	rule_case cron allowed "neither file"
	rule_case cron refused "cron.deny lists it" "cron.deny|644|root:root|x\n$V\n"
	rule_case cron allowed "cron.deny lists another" "cron.deny|644|root:root|other\n"
	rule_case cron allowed "cron.deny lists it without a final newline (crontab drops a character)" "cron.deny|644|root:root|$V"
	rule_case cron refused "cron.deny's last line '${V}x' without newline" "cron.deny|644|root:root|other\n${V}x"
	rule_case cron allowed "cron.deny lists it with a trailing space" "cron.deny|644|root:root|$V \n"
	rule_case cron refused "cron.deny unreadable by group crontab" "cron.deny|600|root:root|other\n"
	rule_case cron allowed "cron.allow lists it" "cron.allow|644|root:root|$V\n" "cron.deny|644|root:root|$V\n"
	rule_case cron refused "cron.allow lists another" "cron.allow|644|root:root|other\n"
	rule_case cron refused "cron.allow lists it, unreadable" "cron.allow|600|root:root|$V\n"
	rule_case cron allowed "cron.allow lists it, group crontab" "cron.allow|640|root:crontab|$V\n"
	rule_case at refused "neither file"
	rule_case at allowed "empty at.deny" "at.deny|640|root:daemon|"
	rule_case at refused "at.deny lists it" "at.deny|640|root:daemon|other\n$V\n"
	rule_case at refused "at.deny lists it without a final newline" "at.deny|640|root:daemon|$V"
	rule_case at allowed "at.deny lists ' $V'" "at.deny|640|root:daemon| $V\n"
	rule_case at refused "at.deny unreadable by daemon" "at.deny|640|root:root|other\n"
	rule_case at allowed "at.allow lists it" "at.allow|640|root:daemon|$V\n"
	rule_case at refused "at.allow lists another" "at.allow|640|root:daemon|other\n" "at.deny|640|root:daemon|"
	rule_case at allowed "at.allow unreadable: at.deny decides" "at.allow|600|root:root|other\n" "at.deny|640|root:daemon|"
	rule_case at refused "at.allow unreadable, at.deny lists it" "at.allow|600|root:root|$V\n" "at.deny|640|root:daemon|$V\n"
	set_files
	cp -p "$W/at.deny.rules" /etc/at.deny
	install -m 0644 /dev/null /etc/cron.deny
	echo "$V" >>/etc/cron.deny
}

# doctor's reading of pam_access, case by case, against the real atd.
ACCESS_CASE=0
access_case() {
	local want=$1 name=$2 content=$3 real doc
	ACCESS_CASE=$((ACCESS_CASE + 1))
	# shellcheck disable=SC2059
	printf -- "$content" >/etc/security/access-vendors.conf
	with_at_open queue_at "$V" "acc.$ACCESS_CASE.v"
	queue_at "$C" "acc.$ACCESS_CASE.c"
	run_atd "acc.$ACCESS_CASE.c"
	check "atd, $name: the control's job runs" [ -e "$M/acc.$ACCESS_CASE.c" ]
	[ -e "$M/acc.$ACCESS_CASE.v" ] && real=runs || real=refused
	doctor
	has_id "vendor.$V.atd_pam" && doc=runs || doc=refused
	expect_eq "atd, $name: the vendor's job $want" "$want" "$real"
	expect_eq "atd, $name: the doctor agrees" "$real" "$doc"
}
test_access_rules_agree_with_atd() {
	access_case refused "the example" "- : ($G) : ALL\n"
	access_case runs "a + line first" "+ : $V : ALL\n- : ($G) : ALL\n"
	access_case runs "no final newline" "- : ($G) : ALL"
	access_case refused "by name, origin LOCAL" "# x\n+ : root : ALL\n- : $V : LOCAL\n"
	access_case runs "origin cron only" "- : ($G) : cron\n"
	access_case refused "ALL EXCEPT the control" "- : ALL EXCEPT $C root : ALL\n"
	access_case refused "group without parentheses" "- : $G : ALL\n"
	printf '+ : %s : ALL\n- : (%s) : ALL\n' "$V" "$G" >/etc/security/access-vendors.conf
	doctor
	expect_match "a + line first: the doctor names the line" \
		"/etc/security/access-vendors.conf line 1 lets it through" "$(field "vendor.$V.atd_pam" what)"
	expect_eq "... and its fix puts the refusal first" \
		"sed -i '1i - : ($G) : ALL' /etc/security/access-vendors.conf" "$(field "vendor.$V.atd_pam" fix)"
	rm /etc/security/access-vendors.conf
	doctor
	expect_finding "the access file missing -> pam.cron.access_file" pam.cron.access_file
	expect_match "... which says every user's jobs abort" "aborts the jobs of every user" "$(field pam.cron.access_file what)"
	install_examples
	# The refused jobs stay queued: the doctor's fix removes them.
	doctor
	has_id "vendor.$V.at_job" && apply "vendor.$V.at_job"
}

test_linger() {
	mkdir -p "$W/linger"
	doctor --linger-dir "$W/linger"
	expect_no_finding "no linger file -> no finding" "vendor.$V.linger"
	: >"$W/linger/$V"
	doctor --linger-dir "$W/linger"
	expect_finding "a linger file -> vendor.$V.linger" "vendor.$V.linger"
	expect_eq "... its fix (no logind here, or another directory) removes the file" "rm $W/linger/$V" "$(field "vendor.$V.linger" fix)"
	apply "vendor.$V.linger"
	doctor --linger-dir "$W/linger"
	expect_no_finding "after the fix: no linger finding" "vendor.$V.linger"
	run_ctl vendor remove "$V"
	expect_eq "vendor remove: exit 0" 0 "$RC"
	run_ctl vendor add "$V" --ip 192.0.2.10
	expect_eq "vendor add again: exit 0" 0 "$RC"
	expect_no_match "vendor add: no warning once everything is in place" "warning" "$ERR"
}

test_baseline_jobs_run
test_vendor_add_warns
test_doctor_reports_each_way
test_example_configuration
test_job_fixes
test_pam_fixes
test_rules_agree_with_the_tools
test_access_rules_agree_with_atd
test_linger
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_examples.sh — the shipped examples work as the docs say: the sample configuration
# loads, logrotate's example rotates the audit log without breaking the chain (the chain
# continues into the new file; audit, report and verify read the rotated and compressed
# files), and the rsyslog example is a valid rsyslog configuration.
set -u
source "$(dirname "$0")/../lib.sh"

test_sample_config_loads() {
	local dir
	dir=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$dir")
	sed -e "s|/var/lib/pam_vendor|$dir/store|" -e "s|/etc/pam_vendor/master.key|$dir/etc/master.key|" \
		-e "s|/var/log/pam_vendor/audit.log|$dir/log/audit.log|" \
		"$PV_ROOT/examples/pam_vendor.conf" >"$dir/pam_vendor.conf"
	"$OTPCTL" --config "$dir/pam_vendor.conf" init >/dev/null 2>&1
	expect_eq "examples/pam_vendor.conf loads (otpctl init succeeds)" 0 $?
	# Every key of the sample is set explicitly: changing one value must be noticed.
	sed -i 's/^otp_length = 8/otp_length = 99/' "$dir/pam_vendor.conf"
	local err
	err=$("$OTPCTL" --config "$dir/pam_vendor.conf" status 2>&1)
	expect_match "a bad value in the sample is refused, naming the line" 'line [0-9]+: invalid value "99" for otp_length' "$err"
}

test_logrotate_keeps_the_chain() {
	if ! command -v logrotate >/dev/null; then
		not_ok "logrotate is installed (mk/deps.sh test installs it)"
		return
	fi
	new_env
	run_ctl vendor add acme --ip 203.0.113.7
	run_ctl enable acme --for 1h
	sed -e "s|/var/log/pam_vendor/audit.log|$AUDIT|" "$PV_ROOT/examples/logrotate/pam_vendor" >"$T/logrotate.conf"
	chmod 0644 "$T/logrotate.conf"
	local round
	for round in 1 2 3; do
		run_ctl issue acme
		logrotate -f -s "$T/logrotate.state" "$T/logrotate.conf"
		check "logrotate round $round succeeded" [ $? -eq 0 ]
	done
	run_ctl disable acme
	check "logrotate created a fresh log with mode 0600" [ "$(stat -c %a "$AUDIT")" = 600 ]
	check "logrotate kept a plain previous file" [ -f "$AUDIT.1" ]
	check "logrotate compressed older files" [ -f "$AUDIT.2.gz" ]
	run_ctl audit verify
	expect_eq "audit verify across rotated and compressed files" 0 "$RC"
	expect_match "verify counts every line since init" 'intact: 7 lines \(seq 1 to 7\)' "$OUT"
	run_ctl --json audit --vendor acme
	expect_eq "audit reads the rotated files too (6 acme events)" 6 \
		"$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')"
	# A rotated file edited afterwards is caught.
	gzip -dc "$AUDIT.2.gz" | sed 's/"acme"/"acmf"/' | gzip -c >"$T/edited.gz"
	cp "$T/edited.gz" "$AUDIT.2.gz"
	run_ctl audit verify
	expect_eq "an edited compressed file fails verification" 1 "$RC"
	expect_match "the failure names the compressed file" 'audit.log.2.gz line' "$ERR"
}

test_rsyslog_example_is_valid() {
	if ! command -v rsyslogd >/dev/null; then
		not_ok "rsyslogd is installed (mk/deps.sh test installs it)"
		return
	fi
	local dir
	dir=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$dir")
	{
		echo "global(workDirectory=\"$dir\")"
		cat "$PV_ROOT/examples/rsyslog/60-pam_vendor.conf"
	} >"$dir/rsyslog.conf"
	rsyslogd -N1 -f "$dir/rsyslog.conf" >"$dir/out" 2>&1
	expect_eq "rsyslogd -N1 accepts examples/rsyslog/60-pam_vendor.conf" 0 $?
	echo 'authpriv.*  action(type="omfwd" target="x" bogus="1")' >"$dir/bad.conf"
	rsyslogd -N1 -f "$dir/bad.conf" >/dev/null 2>&1
	check "rsyslogd -N1 refuses a broken configuration (the check can fail)" [ $? -ne 0 ]
}

# examples/systemd: the service runs `otpctl expire` and the timer fires every minute; the
# watch example (tests/pam/test_watch.sh runs its script) is a valid unit.
test_systemd_units_are_valid() {
	local dir next
	if ! command -v systemd-analyze >/dev/null; then
		ok "systemd units # SKIP systemd-analyze is not installed"
		return
	fi
	dir=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$dir")
	sed -e "s|/usr/sbin/otpctl|$OTPCTL|" "$PV_ROOT/examples/systemd/pam-vendor-expire.service" \
		>"$dir/pam-vendor-expire.service"
	cp "$PV_ROOT/examples/systemd/pam-vendor-expire.timer" "$dir/"
	expect_eq "systemd-analyze verify accepts the expire service and timer" "" \
		"$(cd "$dir" && systemd-analyze verify --man=no ./pam-vendor-expire.timer ./pam-vendor-expire.service 2>&1)"
	expect_match "the service runs otpctl expire" "^ExecStart=/usr/sbin/otpctl expire$" \
		"$(grep ExecStart "$PV_ROOT/examples/systemd/pam-vendor-expire.service")"
	next=$(TZ=UTC systemd-analyze calendar --iterations=2 \
		"$(sed -n 's/^OnCalendar=//p' "$dir/pam-vendor-expire.timer")" |
		sed -n 's/^ *\(Next elapse\|Iter\. #2\): //p' | while read -r when; do date -d "$when" +%s; done |
		tr '\n' ' ')
	expect_eq "the timer fires every minute, on the minute" "60 0" \
		"$(echo "$next" | awk '{print $2 - $1, $1 % 60}')"
	sed -e "s|/usr/local/sbin/pam-vendor-notify|$PV_ROOT/examples/systemd/pam-vendor-notify|" \
		"$PV_ROOT/examples/systemd/pam-vendor-watch.service" >"$dir/pam-vendor-watch.service"
	expect_eq "systemd-analyze verify accepts the watch example (pam-vendor-notify)" "" \
		"$(cd "$dir" && systemd-analyze verify --man=no ./pam-vendor-watch.service 2>&1)"
	sed -i 's|^ExecStart=.*|ExecStart=relative-path|' "$dir/pam-vendor-expire.service"
	check "systemd-analyze refuses a broken unit (the check can fail)" \
		[ -n "$(cd "$dir" && systemd-analyze verify --man=no ./pam-vendor-expire.service 2>&1)" ]
}

test_sample_config_loads
test_logrotate_keeps_the_chain
test_rsyslog_example_is_valid
test_systemd_units_are_valid
finish

#!/bin/bash
# test_sshd.sh — end to end through a real OpenSSH sshd and ssh client: the vendor logs in with
# key + one-time code from an allowed address, and every refusal the brief names is checked
# on the client's outcome and in the audit log. Runs in private mount and network namespaces:
# /etc/pam.d is a bind mount of the test's own directory (the host's PAM configuration is never
# touched) and the test's IPv6 addresses live on the namespace's own loopback.
set -u
source "$(dirname "$0")/../lib.sh"

VENDOR=pvacme
OTHER=pvbob
GROUP=pvvendors
PORT=2222
PORT_PK=2223

if [ "${PV_E2E_INSIDE:-}" != 1 ]; then
	for tool in unshare /usr/sbin/sshd ssh ssh-keygen ip useradd; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: $tool is not available"; echo "0 passed, 0 failed"; exit 0
		fi
	done
	if ! unshare -m -n true 2>/dev/null; then
		echo "SKIP: cannot create mount and network namespaces here"; echo "0 passed, 0 failed"; exit 0
	fi
	# Accounts are host-wide: create them here, remove them whatever happens.
	cleanup_users() {
		userdel -r "$VENDOR" >/dev/null 2>&1
		userdel -r "$OTHER" >/dev/null 2>&1
		groupdel "$GROUP" >/dev/null 2>&1
	}
	cleanup_users
	trap cleanup_users EXIT
	groupadd "$GROUP"
	useradd -m -s /bin/sh -G "$GROUP" "$VENDOR"
	useradd -m -s /bin/sh "$OTHER"
	usermod -p '*' "$VENDOR" && usermod -p '*' "$OTHER"
	PV_E2E_INSIDE=1 unshare -m -n --propagation private bash "$0"
	exit $?
fi

# --- inside the namespaces ---------------------------------------------------------------
ip link set lo up
ip -6 addr add 2001:db8::1/128 dev lo
ip -6 addr add 2001:db8::5/128 dev lo
ip -6 addr add 2001:db8::9/128 dev lo
sleep 1 # IPv6 duplicate address detection on lo is immediate, but give the kernel a moment

new_env "max_failures = 3" "vendor_group = $GROUP"
PIDS=()
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	umount /etc/pam.d 2>/dev/null
	cleanup_dirs
}
trap stop_all EXIT

# PAM configuration for sshd: the examples' stack, with this test's module and config.
mkdir -p "$T/pam.d"
cp /etc/pam.d/common-* "$T/pam.d/" # what the stack @includes must be there too
sed -e "s|pam_vendor.so|$PV_MODULE config=$CFG|" "$PV_ROOT/examples/pam.d/sshd" >"$T/pam.d/sshd"
mount --bind "$T/pam.d" /etc/pam.d

ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/id"
for u in "$VENDOR" "$OTHER"; do
	home=$(getent passwd "$u" | cut -d: -f6)
	install -d -m 0700 -o "$u" -g "$u" "$home/.ssh"
	install -m 0600 -o "$u" -g "$u" "$T/id.pub" "$home/.ssh/authorized_keys"
done
mkdir -p /run/sshd

# sshd_config: the example's vendor block, plus what a test server needs.
write_sshd_config() { # FILE PORT AUTH-METHODS-FOR-VENDORS
	{
		echo "Port $2"
		echo "ListenAddress 127.0.0.1"
		echo "ListenAddress 2001:db8::1"
		echo "HostKey $T/hostkey"
		echo "PidFile $T/sshd-$2.pid"
		echo "UsePAM yes"
		echo "PasswordAuthentication no"
		echo "PermitRootLogin no"
		echo "LogLevel VERBOSE"
		sed -e "s|^Match Group vendors|Match Group $GROUP|" \
			-e "s|^\([[:space:]]*AuthenticationMethods\).*|\1 $3|" \
			"$PV_ROOT/examples/sshd_config.d/vendors.conf"
	} >"$1"
}
write_sshd_config "$T/sshd_config" $PORT "publickey,keyboard-interactive:pam"
write_sshd_config "$T/sshd_config_pk" $PORT_PK "publickey"
/usr/sbin/sshd -t -f "$T/sshd_config" || { echo "Bail out! sshd_config rejected"; exit 1; }
/usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log" &
PIDS+=($!)
/usr/sbin/sshd -D -f "$T/sshd_config_pk" -E "$T/sshd_pk.log" &
PIDS+=($!)
for _ in $(seq 50); do
	[ -s "$T/sshd-$PORT.pid" ] && [ -s "$T/sshd-$PORT_PK.pid" ] && break
	sleep 0.1
done

# The vendor answers the prompt through SSH_ASKPASS; every prompt is recorded.
cat >"$T/askpass" <<ASK
#!/bin/sh
echo "\$1" >>"$T/prompts"
cat "$T/code"
ASK
chmod 755 "$T/askpass"

# login SRC USER [PORT] [COMMAND] : sets OUT, RC and PROMPTS (number of prompts shown).
login() {
	local src=$1 user=$2 port=${3:-$PORT} cmd=${4:-echo logged-in-as-\$(id -un)}
	local host=127.0.0.1
	case "$src" in *:*) host=2001:db8::1 ;; esac
	: >"$T/prompts"
	OUT=$(SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		timeout 60 ssh -F none -i "$T/id" -b "$src" -p "$port" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
		"$user@$host" "$cmd" </dev/null 2>"$T/ssh.err")
	RC=$?
	PROMPTS=$(grep -c 'One-time code' "$T/prompts")
}

issue_code() {
	"$OTPCTL" --config "$CFG" --json issue "$VENDOR" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["otp"])' >"$T/code"
}

# last audit line of EVENT for the vendor: "result reason"
last_event() {
	grep "\"event\":\"$1\"" "$AUDIT" | tail -n 1 |
		python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["result"], d["reason"])'
}

ctl() { "$OTPCTL" --config "$CFG" "$@" >/dev/null; }

ctl vendor add "$VENDOR" --ip 127.0.0.5 --ip 2001:db8::5

test_allowed_login_runs_a_command() {
	ctl enable "$VENDOR" --for 1h
	issue_code
	login 127.0.0.5 "$VENDOR"
	expect_eq "allowed login runs a command" "logged-in-as-$VENDOR" "$OUT"
	expect_eq "allowed login asked for the code once" 1 "$PROMPTS"
	expect_eq "allowed login: auth audited" "allow ok" "$(last_event auth)"
	expect_eq "allowed login: account audited" "allow ok" "$(last_event account)"
}

test_same_code_again_refused() {
	login 127.0.0.5 "$VENDOR"
	check "replayed code refused" [ "$RC" -ne 0 ]
	expect_eq "replayed code audited as otp_reused" "deny otp_reused" "$(last_event auth)"
}

test_wrong_ip_refused_without_prompt() {
	issue_code
	login 127.0.0.9 "$VENDOR"
	check "login from another address refused" [ "$RC" -ne 0 ]
	expect_eq "no code prompt from another address" 0 "$PROMPTS"
	expect_eq "other address audited as ip_not_allowed" "deny ip_not_allowed" "$(last_event auth)"
	# The code was not burnt by the refused attempt.
	login 127.0.0.5 "$VENDOR"
	expect_eq "the code still works from the right address" "logged-in-as-$VENDOR" "$OUT"
}

test_ipv6_allowed_and_denied() {
	issue_code
	login 2001:db8::9 "$VENDOR"
	check "IPv6 login from another address refused" [ "$RC" -ne 0 ]
	expect_eq "IPv6 other address audited" "deny ip_not_allowed" "$(last_event auth)"
	login 2001:db8::5 "$VENDOR"
	expect_eq "IPv6 login from the vendor's address" "logged-in-as-$VENDOR" "$OUT"
	expect_match "IPv6 rhost recorded" '"rhost":"2001:db8::5"' "$(grep '"event":"auth"' "$AUDIT" | tail -n 1)"
}

test_window_not_open_refused() {
	issue_code
	ctl disable "$VENDOR"
	login 127.0.0.5 "$VENDOR"
	check "login without a window refused" [ "$RC" -ne 0 ]
	expect_eq "no prompt without a window" 0 "$PROMPTS"
	expect_eq "no window audited as not_enabled" "deny not_enabled" "$(last_event auth)"
}

test_window_expiry_refuses_afterwards() {
	ctl enable "$VENDOR" --for 4s
	issue_code
	sleep 5
	login 127.0.0.5 "$VENDOR"
	check "login after the window ran out refused" [ "$RC" -ne 0 ]
	expect_eq "expired window audited" "deny window_expired" "$(last_event auth)"
}

test_three_wrong_codes_lock_out() {
	ctl enable "$VENDOR" --for 1h
	issue_code # a valid code, issued before the lockout (otpctl refuses to issue after it)
	mv "$T/code" "$T/valid_code"
	echo 00000000 >"$T/code"
	for i in 1 2 3; do
		login 127.0.0.5 "$VENDOR"
		check "wrong code $i refused" [ "$RC" -ne 0 ]
	done
	expect_eq "third wrong code audited" "deny otp_invalid" "$(last_event auth)"
	mv "$T/valid_code" "$T/code"
	login 127.0.0.5 "$VENDOR"
	check "locked vendor refused even with a valid code" [ "$RC" -ne 0 ]
	expect_eq "lockout audited" "deny locked_out" "$(last_event auth)"
	ctl unlock "$VENDOR"
	login 127.0.0.5 "$VENDOR"
	expect_eq "after unlock the same code works" "logged-in-as-$VENDOR" "$OUT"
}

test_publickey_only_sshd_still_refuses_vendor() {
	issue_code
	login 127.0.0.5 "$VENDOR" $PORT_PK
	check "publickey-only sshd refuses the vendor" [ "$RC" -ne 0 ]
	expect_eq "publickey-only: no code prompt" 0 "$PROMPTS"
	expect_eq "publickey-only audited as no_otp_verified" "deny no_otp_verified" "$(last_event account)"
}

test_non_vendor_unaffected() {
	local before
	before=$(wc -l <"$AUDIT")
	login 127.0.0.9 "$OTHER"
	expect_eq "non-vendor logs in with the key alone" "logged-in-as-$OTHER" "$OUT"
	expect_eq "non-vendor not prompted" 0 "$PROMPTS"
	expect_eq "non-vendor leaves no audit line" "$before" "$(wc -l <"$AUDIT")"
}

test_report_shows_session_duration() {
	issue_code
	login 127.0.0.5 "$VENDOR" $PORT "sleep 2; echo done"
	expect_eq "session command ran" "done" "$OUT"
	sleep 1 # sshd's monitor writes session_close as the connection ends
	local row
	row=$("$OTPCTL" --config "$CFG" --json report --vendor "$VENDOR" |
		python3 -c '
import json,sys
s=[x for x in json.load(sys.stdin)["sessions"] if x["end"]]
print(s[-1]["user"], s[-1]["rhost"], s[-1]["duration_s"])')
	local user rhost duration
	read -r user rhost duration <<<"$row"
	expect_eq "report names the vendor" "$VENDOR" "$user"
	expect_eq "report names the source address" "127.0.0.5" "$rhost"
	check "report duration is plausible (2-10 s): $duration" [ "${duration:-0}" -ge 2 ] && [ "${duration:-0}" -le 10 ]
	expect_match "session_open records sshd's auth info" '"auth_info":"publickey ssh-ed25519' "$(grep '"event":"session_open"' "$AUDIT" | tail -n 1)"
}

test_audit_chain_intact_after_everything() {
	"$OTPCTL" --config "$CFG" audit verify >/dev/null 2>&1
	expect_eq "audit verify after the whole run" 0 $?
}

test_allowed_login_runs_a_command
test_same_code_again_refused
test_wrong_ip_refused_without_prompt
test_ipv6_allowed_and_denied
test_window_not_open_refused
test_window_expiry_refuses_afterwards
test_three_wrong_codes_lock_out
test_publickey_only_sshd_still_refuses_vendor
test_non_vendor_unaffected
test_report_shows_session_duration
test_audit_chain_intact_after_everything
finish

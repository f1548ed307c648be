# SPDX-License-Identifier: BSD-3-Clause
# sshd_lib.sh — a private OpenSSH sshd for the end-to-end test and the demo (sourced after
# tests/lib.sh). sshd_enter re-executes the caller inside private mount and network
# namespaces: /etc/pam.d becomes a bind mount of the caller's own directory (the host's PAM
# configuration is never touched) and the IPv6 test addresses live on the namespace's own lo.

# The accounts: the suite's prefix (SSHD_TAG, set before sourcing) and this run's number.
SSHD_TAG=${SSHD_TAG:-pv}
VENDOR=${SSHD_TAG}acme$PV_RUN
OTHER=${SSHD_TAG}bob$PV_RUN
GROUP=${SSHD_TAG}vendors$PV_RUN
PORT=2222
PORT_PK=2223

# sshd_enter SCRIPT: outside the namespaces, create the accounts, run SCRIPT inside, remove the
# accounts. Returns (exits with) SCRIPT's status. Inside, it returns at once.
sshd_enter() {
	[ "${PV_E2E_INSIDE:-}" = 1 ] && return 0
	local tool homes
	for tool in unshare /usr/sbin/sshd ssh ssh-keygen ip useradd; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: $tool is not available"; echo "0 passed, 0 failed"; exit 0
		fi
	done
	if ! unshare -m -n true 2>/dev/null; then
		echo "SKIP: cannot create mount and network namespaces here"; echo "0 passed, 0 failed"; exit 0
	fi
	trap 'remove_accounts; cleanup_dirs' EXIT
	# The homes: under a temp dir of their own, root's and 0755, so that each account reaches
	# its home (sshd reads authorized_keys as the user; StrictModes checks from the home down).
	homes=$(mktemp -d /tmp/pvtest.XXXXXX) && T_DIRS+=("$homes") && chmod 0755 "$homes" &&
		add_group "$GROUP" &&
		add_user "$VENDOR" -m -d "$homes/$VENDOR" -s /bin/sh -G "$GROUP" &&
		add_user "$OTHER" -m -d "$homes/$OTHER" -s /bin/sh &&
		usermod -p '*' "$VENDOR" && usermod -p '*' "$OTHER" || {
		echo "Bail out! cannot create the test accounts"
		exit 1
	}
	PV_E2E_INSIDE=1 unshare -m -n --propagation private bash "$1"
	exit $?
}

# ctl ARGS...: otpctl as setup, its output dropped; a failure is reported, so a step that did
# not happen cannot pass for one that did.
ctl() { "$OTPCTL" --config "$CFG" "$@" >/dev/null || not_ok "setup: otpctl $*" "exit $?"; }

# issue_code: a fresh code for the vendor in $T/code, which the askpass helper types.
issue_code() {
	"$OTPCTL" --config "$CFG" --json issue "$VENDOR" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["otp"])' >"$T/code"
}

# sshd_start: inside the namespaces, after new_env: loopback and test addresses, PAM stack
# from examples/pam.d/sshd, keys, two sshd (PORT: key + code for vendors; PORT_PK: publickey
# only), the askpass helper. Everything is stopped by sshd_stop.
SSHD_PIDS=()
sshd_start() {
	ip link set lo up
	ip -6 addr add 2001:db8::1/128 dev lo
	ip -6 addr add 2001:db8::5/128 dev lo
	ip -6 addr add 2001:db8::9/128 dev lo
	mkdir -p "$T/pam.d"
	cp /etc/pam.d/common-* "$T/pam.d/" # what the stack @includes must be there too
	sed -e "s|pam_vendor.so|$PV_MODULE config=$CFG|" -e "s|notingroup vendors|notingroup $GROUP|" \
		-e "s|vendor_group=vendors|vendor_group=$GROUP|" \
		"$PV_ROOT/examples/pam.d/sshd" >"$T/pam.d/sshd"
	mount --bind "$T/pam.d" /etc/pam.d
	ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
	ssh-keygen -q -t ed25519 -N '' -f "$T/id"
	local u home
	for u in "$VENDOR" "$OTHER"; do
		home=$(getent passwd "$u" | cut -d: -f6)
		install -d -m 0700 -o "$u" -g "$u" "$home/.ssh"
		install -m 0600 -o "$u" -g "$u" "$T/id.pub" "$home/.ssh/authorized_keys"
	done
	mkdir -p /run/sshd
	sshd_write_config "$T/sshd_config" $PORT "publickey,keyboard-interactive:pam"
	sshd_write_config "$T/sshd_config_pk" $PORT_PK "publickey"
	/usr/sbin/sshd -t -f "$T/sshd_config" || { echo "Bail out! sshd_config rejected"; exit 1; }
	sshd_sanitizer_env
	env "${SSHD_ENV[@]}" /usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log" &
	SSHD_PIDS+=($!)
	env "${SSHD_ENV[@]}" /usr/sbin/sshd -D -f "$T/sshd_config_pk" -E "$T/sshd_pk.log" &
	SSHD_PIDS+=($!)
	local _
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
}

# A module built with ASan/UBSan (make check SANITIZE=1) needs the sanitizer runtimes loaded
# first in the host process: preload them into sshd. sshd's own allocations are not ours to
# judge, so leak detection is off there (the unit and module suites check leaks).
SSHD_ENV=()
sshd_sanitizer_env() {
	SSHD_ENV=(PV_UNUSED=1)
	if ldd "$PV_MODULE" | grep -q libasan; then
		SSHD_ENV=("LD_PRELOAD=$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
			"ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$T/asan"
			"UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$T/ubsan")
	fi
}

# Sanitizer reports written by sshd's processes (empty when clean).
sshd_sanitizer_reports() {
	cat "$T"/asan.* "$T"/ubsan.* 2>/dev/null
}

sshd_stop() {
	local p
	for p in "${SSHD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${SSHD_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	SSHD_PIDS=()
	umount /etc/pam.d 2>/dev/null
	return 0
}

# The example serves vendor keys through pam_vendor-keys: with SSHD_KEYS_USER (the
# AuthorizedKeysCommandUser) and SSHD_KEYS_VIEW (the suite config's keys_view) set before
# sshd_start, the built command reads the view through the suite's config; otherwise keys come from ~/.ssh/authorized_keys and no forwarding is
# allowed (what the suites that test the PAM side need).
sshd_keys_sed() {
	if [ -n "${SSHD_KEYS_VIEW:-}" ]; then
		SSHD_KEYS_SED=(-e "s|^\([[:space:]]*AuthorizedKeysCommand\) .*|\1 $(dirname "$OTPCTL")/pam_vendor-keys --config $CFG %u|"
			-e "s|^\([[:space:]]*AuthorizedKeysCommandUser\) .*|\1 $SSHD_KEYS_USER|")
	else
		SSHD_KEYS_SED=(-e "/^[[:space:]]*AuthorizedKeys/d"
			-e "s|^\([[:space:]]*AllowTcpForwarding\) .*|\1 no|")
	fi
}

# sshd_config: the example's vendor block, plus what a test server needs.
sshd_write_config() { # FILE PORT AUTH-METHODS-FOR-VENDORS
	sshd_keys_sed
	{
		echo "Port $2"
		echo "ListenAddress 127.0.0.1"
		echo "ListenAddress 2001:db8::1"
		echo "HostKey $T/hostkey"
		echo "PidFile $T/sshd-$2.pid"
		echo "PasswordAuthentication no"
		echo "PermitRootLogin no"
		echo "LogLevel VERBOSE"
		sed -e "s|^Match Group vendors|Match Group $GROUP|" \
			-e "s|^\([[:space:]]*AuthenticationMethods\).*|\1 $3|" \
			"${SSHD_KEYS_SED[@]}" \
			"$PV_ROOT/examples/sshd_config.d/vendors.conf"
	} >"$1"
}

# login SRC USER [PORT] [COMMAND] : sets OUT, RC and PROMPTS (number of code prompts shown).
# LOGIN_WRAP (array) prefixes the ssh command, e.g. nsenter into another gateway's netns.
LOGIN_WRAP=()
login() {
	local src=$1 user=$2 port=${3:-$PORT} cmd=${4:-echo logged-in-as-\$(id -un)}
	local host=127.0.0.1
	case "$src" in *:*) host=2001:db8::1 ;; esac
	: >"$T/prompts"
	OUT=$(SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=none \
		"${LOGIN_WRAP[@]}" timeout 60 ssh -F none -i "$T/id" -b "$src" -p "$port" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
		-o PreferredAuthentications=publickey,keyboard-interactive \
		-o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
		"$user@$host" "$cmd" </dev/null 2>"$T/ssh.err")
	RC=$?
	PROMPTS=$(grep -c 'One-time code' "$T/prompts")
}

#!/bin/bash
# test_openvpn.sh — end to end through a real OpenVPN 2.6 server (its auth-pam plugin) and real
# OpenVPN clients. The vendor connects with its one-time code as the VPN password from an
# allowed address; every refusal is checked on the client's outcome (AUTH_FAILED) and in the
# audit log, whose rhost proves that the module got PAM_RHOST from OpenVPN. TLS
# renegotiations and reconnections ride on auth-gen-token's token and never call PAM again.
# Runs in private mount and network namespaces: /etc/pam.d is a bind mount of the test's own
# directory (the host's PAM configuration is never touched); the tun devices and the IPv6
# addresses are the namespace's own.
set -u
source "$(dirname "$0")/../lib.sh"

VENDOR=pvvpnacme
SERVICE=pvvpn
PLUGIN=/usr/lib/x86_64-linux-gnu/openvpn/plugins/openvpn-plugin-auth-pam.so
EXAMPLE=$PV_ROOT/examples/openvpn/server.conf
PORT=11940    # IPv4 only, on 127.0.0.1
PORT_DS=11941 # dual stack: an IPv6 socket on ::, IPv4 clients arrive IPv4-mapped
PORT_NV=11942 # the plugin's name/value form with the name of pam_vendor's prompt
PORT_NP=11943 # the name/value form with "password", which matches no pam_vendor prompt
# The example's hour-scale durations, scaled to seconds. OpenVPN wants the renewal time
# >= 2 * hand-window: the servers use hand-window 2. OpenVPN sends a renewed token only at the
# next TLS activity (at the latest 15 s later, longer than these renegotiation intervals), so
# here the first token must outlive two renegotiations by itself: 2 * RENEWAL > 2 * RENEG.
# The example keeps renewal < reneg-sec; docs/openvpn.md explains both.
RENEG=5
RENEWAL=7

if [ "${PV_E2E_INSIDE:-}" != 1 ]; then
	for tool in unshare openvpn openssl ip useradd python3; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: $tool is not available"; echo "0 passed, 0 failed"; exit 0
		fi
	done
	if [ ! -f "$PLUGIN" ]; then
		echo "SKIP: OpenVPN's auth-pam plugin is not at $PLUGIN"; echo "0 passed, 0 failed"; exit 0
	fi
	if ! unshare -m -n true 2>/dev/null; then
		echo "SKIP: cannot create mount and network namespaces here"; echo "0 passed, 0 failed"; exit 0
	fi
	# The account is host-wide: create it here, remove it whatever happens.
	cleanup_users() { userdel -r "$VENDOR" >/dev/null 2>&1; }
	cleanup_users
	trap cleanup_users EXIT
	useradd -m -s /usr/sbin/nologin "$VENDOR"
	usermod -p '*' "$VENDOR"
	PV_E2E_INSIDE=1 unshare -m -n --propagation private bash "$0"
	exit $?
fi

# --- inside the namespaces ---------------------------------------------------------------
ip link set lo up
ip -6 addr add 2001:db8::1/128 dev lo nodad
ip -6 addr add 2001:db8::5/128 dev lo nodad
ip -6 addr add 2001:db8::9/128 dev lo nodad
# OpenVPN's server mode needs a tun (or tap) device; --dev null is refused with --server.
if ! ip tuntap add dev pvprobe mode tun 2>/dev/null; then
	echo "SKIP: cannot create a tun device in a network namespace (/dev/net/tun)"
	echo "0 passed, 0 failed"; exit 0
fi
ip tuntap del dev pvprobe mode tun

new_env
PIDS=()
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	umount /etc/pam.d 2>/dev/null
	cleanup_dirs
}
trap stop_all EXIT

# PAM configuration: only this service (no "other", hence nothing to @include). The plain
# prompt: the plugin answers pam_vendor's echo-off prompt with the VPN password.
mkdir -p "$T/pam.d"
{
	echo "auth     required  $PV_MODULE config=$CFG"
	echo "account  required  $PV_MODULE config=$CFG"
} >"$T/pam.d/$SERVICE"
mount --bind "$T/pam.d" /etc/pam.d

# TLS: a tiny CA and a server certificate. Clients have none (verify-client-cert none).
(
	cd "$T" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout ca.key -out ca.crt -days 2 -subj /CN=pvvpn-test-ca
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout server.key -out server.csr -subj /CN=pvvpn-server
	printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile server.ext -out server.crt
) >"$T/openssl.log" 2>&1 || { echo "Bail out! openssl failed"; cat "$T/openssl.log"; exit 1; }

# The example's settings, line for line, with the test's PAM service and scaled durations.
EX_RENEG=$(awk '$1 == "reneg-sec" { print $2 }' "$EXAMPLE")
EX_RENEWAL=$(awk '$1 == "auth-gen-token" { print $3 }' "$EXAMPLE")
not_a_multiple() { # RENEWAL RENEG : both numbers, RENEWAL not a multiple of RENEG
	case "$1$2" in '' | *[!0-9]*) return 1 ;; esac
	[ "$2" -gt 0 ] && [ $(($1 % $2)) -ne 0 ]
}
check "example: auth-gen-token has an explicit renewal time" [ -n "$EX_RENEWAL" ]
check "example: renewal time ($EX_RENEWAL) is not a multiple of reneg-sec ($EX_RENEG)" \
	not_a_multiple "$EX_RENEWAL" "$EX_RENEG"
check "test: renewal time ($RENEWAL) is not a multiple of reneg-sec ($RENEG)" not_a_multiple $RENEWAL $RENEG
# example_lines [PLUGIN-ARGS]: the example's directives with the test's values.
example_lines() {
	local args=${1:-$SERVICE}
	sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' \
		-e "s|^\(plugin [^ ]*\) \"openvpn\"$|\1 \"$args\"|" \
		-e "s|^reneg-sec .*|reneg-sec $RENEG|" \
		-e "s|^\(auth-gen-token [0-9]*\) [0-9]*|\1 $RENEWAL|" \
		"$EXAMPLE"
}
example_lines >"$T/example.conf"
check "example: plugin line used" grep -qx "plugin $PLUGIN \"$SERVICE\"" "$T/example.conf"
for d in auth-gen-token reneg-sec verify-client-cert username-as-common-name; do
	check "example: $d used" grep -q "^$d" "$T/example.conf"
done

# write_server NAME PROTO LOCAL PORT SUBNET [PLUGIN-ARGS]
write_server() {
	{
		echo "mode server"
		echo "tls-server"
		echo "proto $2"
		echo "local $3"
		echo "port $4"
		echo "dev tun"
		echo "topology subnet"
		echo "server $5 255.255.255.0"
		echo "ca $T/ca.crt"
		echo "cert $T/server.crt"
		echo "key $T/server.key"
		echo "dh none"
		echo "keepalive 2 20"
		echo "hand-window 2"
		echo "persist-key"
		echo "persist-tun"
		echo "verb 3"
		echo "log $T/$1.log"
		example_lines "${6:-}"
	} >"$T/$1.conf"
}
SERVERS="server server_ds server_nv server_np"
write_server server udp 127.0.0.1 $PORT 10.8.0.0
echo "management $T/mgmt.sock unix" >>"$T/server.conf"
write_server server_ds udp6 :: $PORT_DS 10.8.1.0
echo "multihome" >>"$T/server_ds.conf" # on ::, answer from the address the client wrote to
write_server server_nv udp 127.0.0.1 $PORT_NV 10.8.2.0 "$SERVICE login USERNAME one-time PASSWORD"
write_server server_np udp 127.0.0.1 $PORT_NP 10.8.3.0 "$SERVICE login USERNAME password PASSWORD"
# A module built with ASan/UBSan (make check SANITIZE=1) needs the sanitizer runtimes loaded
# first in the host process: preload them into OpenVPN (its PAM helper is a fork of it).
# OpenVPN's own allocations are not ours to judge: no leak detection there.
SERVER_ENV=(PV_UNUSED=1)
if ldd "$PV_MODULE" | grep -q libasan; then
	SERVER_ENV=("LD_PRELOAD=$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
		"ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$T/asan"
		"UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$T/ubsan")
fi
for s in $SERVERS; do
	env "${SERVER_ENV[@]}" openvpn --config "$T/$s.conf" >/dev/null 2>&1 &
	PIDS+=($!)
done
SERVER_PID=${PIDS[0]}
for _ in $(seq 100); do
	n=0
	for s in $SERVERS; do
		grep -q 'Initialization Sequence Completed' "$T/$s.log" 2>/dev/null && n=$((n + 1))
	done
	[ $n -eq 4 ] && break
	sleep 0.1
done
for s in $SERVERS; do
	if ! grep -q 'Initialization Sequence Completed' "$T/$s.log" 2>/dev/null; then
		echo "Bail out! OpenVPN $s did not start"; cat "$T/$s.log" 2>/dev/null; exit 1
	fi
done

CLIENTS=0
# connect SRC [SERVER-ADDR] [PORT] : start a client bound to SRC, with $T/auth as its user and
# password, and wait for its outcome. Sets OUTCOME (connected, refused, exited, timeout),
# CPID (its pid; still running when connected), CLOG (its log) and CPORT (its source port).
connect() {
	local src=$1 addr=${2:-127.0.0.1} port=${3:-$PORT} proto=udp
	case "$addr" in *:*) proto=udp6 ;; esac
	CLIENTS=$((CLIENTS + 1))
	CLOG=$T/client$CLIENTS.log
	CPORT=${LPORT:-$((20000 + CLIENTS))} # 0: a new random port at each (re)connection
	openvpn --client --dev tun --proto $proto --remote "$addr" "$port" \
		--local "$src" --lport "$CPORT" \
		--ca "$T/ca.crt" --remote-cert-tls server --verify-x509-name pvvpn-server name \
		--auth-user-pass "$T/auth" --reneg-sec 0 --explicit-exit-notify 1 \
		--verb 3 --log "$CLOG" >/dev/null 2>&1 &
	CPID=$!
	PIDS+=("$CPID")
	wait_outcome 1
}

# wait_outcome N : wait until the client's log shows its Nth completed initialisation, or
# the client exits (refused when its log says AUTH_FAILED). Sets OUTCOME.
wait_outcome() {
	local n
	OUTCOME=timeout
	for _ in $(seq 150); do
		n=$(grep -c 'Initialization Sequence Completed' "$CLOG" 2>/dev/null)
		if [ "${n:-0}" -ge "$1" ]; then
			OUTCOME=connected; return
		fi
		if ! kill -0 "$CPID" 2>/dev/null; then
			wait "$CPID" 2>/dev/null
			if grep -q 'AUTH_FAILED' "$CLOG"; then OUTCOME=refused; else OUTCOME=exited; fi
			return
		fi
		sleep 0.1
	done
}

disconnect() { # stop the last client
	kill "$CPID" 2>/dev/null
	wait "$CPID" 2>/dev/null
}

new_code() { # the vendor's name and a fresh code, as the client's user/password file
	{
		echo "$VENDOR"
		"$OTPCTL" --config "$CFG" --json issue "$VENDOR" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["otp"])'
	} >"$T/auth"
}

# last_line EVENT : "event result reason rhost" of the last audit line of EVENT.
last_line() {
	grep "\"event\":\"$1\"" "$AUDIT" | tail -n 1 |
		python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["event"], d["result"], d["reason"], d.get("rhost"))'
}
last_field() { # EVENT FIELD
	grep "\"event\":\"$1\"" "$AUDIT" | tail -n 1 |
		python3 -c 'import json,sys; print(json.loads(sys.stdin.read()).get(sys.argv[1], ""))' "$2"
}
pam_lines() { grep -cE '"event":"(auth|account)"' "$AUDIT"; }

ctl() { "$OTPCTL" --config "$CFG" "$@" >/dev/null; }

ctl vendor add "$VENDOR" --ip 127.0.0.5 --ip 2001:db8::5

# helper_fds: open descriptors of the IPv4 server's PAM helper (the plugin's root child,
# which runs every PAM transaction of that server in one process).
helper_fds() {
	local pid
	pid=$(ps -o pid= --ppid "$SERVER_PID" | head -n 1)
	ls "/proc/${pid// /}/fd" 2>/dev/null | wc -l
}

test_allowed_with_the_code() {
	ctl enable "$VENDOR" --for 1h
	new_code
	connect 127.0.0.5
	FDS_AFTER_FIRST=$(helper_fds)
	expect_eq "allowed: client connected" connected "$OUTCOME"
	expect_eq "allowed: auth audited, rhost = the client's address" "auth allow ok 127.0.0.5" "$(last_line auth)"
	expect_eq "allowed: account audited (same PAM handle)" "account allow ok 127.0.0.5" "$(last_line account)"
	expect_eq "allowed: audited under the plugin's PAM service" "$SERVICE" "$(last_field auth service)"
	disconnect
}

test_same_code_again_refused() {
	connect 127.0.0.5
	expect_eq "replayed code: client refused" refused "$OUTCOME"
	expect_eq "replayed code audited" "auth deny otp_reused 127.0.0.5" "$(last_line auth)"
}

test_other_address_refused() {
	new_code
	connect 127.0.0.9
	expect_eq "other address: client refused" refused "$OUTCOME"
	expect_eq "other address audited" "auth deny ip_not_allowed 127.0.0.9" "$(last_line auth)"
}

test_window_disabled_refused() {
	new_code
	ctl disable "$VENDOR"
	connect 127.0.0.5
	expect_eq "window disabled: client refused" refused "$OUTCOME"
	expect_eq "window disabled audited" "auth deny not_enabled 127.0.0.5" "$(last_line auth)"
}

test_wrong_code_refused() {
	ctl enable "$VENDOR" --for 1h
	printf '%s\n%s\n' "$VENDOR" 00000000 >"$T/auth"
	connect 127.0.0.5
	expect_eq "wrong code: client refused" refused "$OUTCOME"
	expect_eq "wrong code audited" "auth deny otp_invalid 127.0.0.5" "$(last_line auth)"
}

# server_count PATTERN : lines of the IPv4 server's log about the current client.
server_count() { grep "$VENDOR/127.0.0.5:$CPORT " "$T/server.log" | grep -c "$1"; }

test_two_renegotiations_keep_the_session() {
	local before n
	new_code
	connect 127.0.0.5
	expect_eq "renegotiation: client connected" connected "$OUTCOME"
	before=$(pam_lines)
	for _ in $(seq $((RENEG * 3 * 10))); do
		[ "$(server_count 'auth-token authentication succeeded')" -ge 2 ] && break
		kill -0 "$CPID" 2>/dev/null || break
		sleep 0.1
	done
	sleep 1 # let the second renegotiation settle
	n=$(server_count 'TLS: soft reset')
	check "renegotiation: the server renegotiated twice ($n)" [ "$n" -ge 2 ]
	n=$(server_count 'TLS: Username/auth-token authentication succeeded')
	check "renegotiation: the token authenticated both renegotiations ($n)" [ "$n" -ge 2 ]
	expect_eq "renegotiation: no token refused" 0 "$(server_count 'auth-token authentication failed')"
	check "renegotiation: client still running" kill -0 "$CPID"
	expect_no_match "renegotiation: client neither refused nor restarted" 'AUTH_FAILED|SIGUSR1|SIGHUP' \
		"$(grep -E 'AUTH_FAILED|SIG[A-Z0-9]+' "$CLOG")"
	expect_eq "renegotiation: one initialisation on the client" 1 "$(grep -c 'Initialization Sequence Completed' "$CLOG")"
	expect_eq "renegotiation: no PAM call after the login (audit unchanged)" "$before" "$(pam_lines)"
	expect_eq "renegotiation: the connection's only PAM auth was the allowed one" "auth allow ok 127.0.0.5" "$(last_line auth)"
	disconnect
}

# mgmt COMMAND : one command on the IPv4 server's management socket; prints the answer.
mgmt() {
	python3 - "$T/mgmt.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()  # >INFO banner
f.write(sys.argv[2] + "\n"); f.flush()
for line in f:
    line = line.rstrip("\r\n")
    if line.startswith(">"):
        continue
    print(line)
    if line == "END" or line.startswith(("SUCCESS:", "ERROR:")):
        break
PY
}
vendor_cid() { # the client id of the vendor's live connection
	mgmt "status 3" | awk -F'\t' -v u="$VENDOR" '$1 == "CLIENT_LIST" && $2 == u && $11 + 0 > cid + 0 { cid = $11 } END { print cid }'
}

# Closing the window does not touch a live VPN session; a restart of the client (what
# "client-kill CID" asks, and what a network change does) reconnects with the token, without
# PAM. "client-kill CID HALT" makes the client exit.
test_window_close_and_client_kill() {
	local before cid tokens
	new_code
	LPORT=0 connect 127.0.0.5 # the reconnection then comes from a new port: a new instance
	expect_eq "kill: client connected" connected "$OUTCOME"
	tokens=$(grep -c '127.0.0.5:[0-9]* TLS: Username/auth-token authentication succeeded' "$T/server.log")
	ctl disable "$VENDOR"
	before=$(pam_lines)
	cid=$(vendor_cid)
	check "kill: after otpctl disable the session is still listed (cid $cid)" [ -n "$cid" ]
	check "kill: after otpctl disable the client still runs" kill -0 "$CPID"
	expect_eq "kill: client-kill accepted" "SUCCESS: client-kill command succeeded" "$(mgmt "client-kill $cid")"
	wait_outcome 2
	expect_eq "kill: a plain client-kill restarts the client, which reconnects" connected "$OUTCOME"
	expect_eq "kill: the reconnection used the token, not PAM (window closed, audit unchanged)" "$before" "$(pam_lines)"
	expect_eq "kill: the server accepted the token on the new connection" $((tokens + 1)) \
		"$(grep -c '127.0.0.5:[0-9]* TLS: Username/auth-token authentication succeeded' "$T/server.log")"
	cid=$(vendor_cid)
	expect_eq "kill: client-kill HALT accepted" "SUCCESS: client-kill command succeeded" "$(mgmt "client-kill $cid HALT")"
	wait_outcome 3
	expect_eq "kill: after HALT the client exits" exited "$OUTCOME"
	check "kill: the client was told to halt" grep -q "Halt command was pushed by server" "$CLOG"
	connect 127.0.0.5
	expect_eq "kill: a new client (no token) meets PAM: refused" refused "$OUTCOME"
	expect_eq "kill: the new client audited" "auth deny not_enabled 127.0.0.5" "$(last_line auth)"
	ctl enable "$VENDOR" --for 1h
}

test_name_value_form() {
	new_code
	# "password" is no prefix of "One-time code: ": the plugin fails the conversation.
	connect 127.0.0.5 127.0.0.1 $PORT_NP
	expect_eq "name/value form with 'password': client refused" refused "$OUTCOME"
	expect_eq "name/value form with 'password': audited" "auth deny otp_invalid 127.0.0.5" "$(last_line auth)"
	expect_eq "name/value form with 'password': conversation failure recorded" "conversation failed" "$(last_field auth detail)"
	# Naming the prompt works (user from libpam's "login:" prompt), and the code was not burnt.
	connect 127.0.0.5 127.0.0.1 $PORT_NV
	expect_eq "name/value form with 'one-time': client connected with the same code" connected "$OUTCOME"
	expect_eq "name/value form with 'one-time': auth audited" "auth allow ok 127.0.0.5" "$(last_line auth)"
	expect_eq "name/value form with 'one-time': user from the plugin's USERNAME" "$VENDOR" "$(last_field auth user)"
	disconnect
}

test_ipv6_and_dual_stack() {
	new_code
	connect 2001:db8::9 2001:db8::1 $PORT_DS
	expect_eq "IPv6 other address: client refused" refused "$OUTCOME"
	expect_eq "IPv6 other address audited" "auth deny ip_not_allowed 2001:db8::9" "$(last_line auth)"
	connect 2001:db8::5 2001:db8::1 $PORT_DS
	expect_eq "IPv6: client connected" connected "$OUTCOME"
	expect_eq "IPv6: auth audited with the IPv6 address" "auth allow ok 2001:db8::5" "$(last_line auth)"
	disconnect
	new_code
	connect 127.0.0.5 127.0.0.1 $PORT_DS
	expect_eq "IPv4 client, dual-stack server: connected" connected "$OUTCOME"
	check "IPv4 client, dual-stack server: the socket saw an IPv4-mapped address" \
		grep -q "Peer Connection Initiated with \[AF_INET6\]::ffff:127.0.0.5:$CPORT" "$T/server_ds.log"
	expect_eq "IPv4 client, dual-stack server: rhost is plain IPv4" "auth allow ok 127.0.0.5" "$(last_line auth)"
	disconnect
}

test_helper_keeps_no_descriptors() {
	local n
	n=$(grep -c 'PLUGIN_CALL: POST .*PLUGIN_AUTH_USER_PASS_VERIFY' "$T/server.log")
	check "PAM helper: found after the first login ($FDS_AFTER_FIRST descriptors)" [ "$FDS_AFTER_FIRST" -gt 0 ]
	expect_eq "PAM helper: after $n transactions, the same number of descriptors" "$FDS_AFTER_FIRST" "$(helper_fds)"
}

test_no_session_records() {
	local rows
	expect_eq "no session lines: the plugin makes no session calls" 0 "$(grep -c '"event":"session_' "$AUDIT")"
	rows=$("$OTPCTL" --config "$CFG" --json report --vendor "$VENDOR" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')
	expect_eq "otpctl report: no VPN session rows" 0 "$rows"
}

test_audit_chain_intact() {
	"$OTPCTL" --config "$CFG" audit verify >/dev/null 2>&1
	expect_eq "audit verify after the whole run" 0 $?
}

test_allowed_with_the_code
test_same_code_again_refused
test_other_address_refused
test_window_disabled_refused
test_wrong_code_refused
test_two_renegotiations_keep_the_session
test_window_close_and_client_kill
test_name_value_form
test_ipv6_and_dual_stack
test_helper_keeps_no_descriptors
test_no_session_records
test_audit_chain_intact
expect_eq "no sanitizer report from the module inside OpenVPN" "" "$(cat "$T"/asan.* "$T"/ubsan.* 2>/dev/null)"
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_openvpn.sh — end to end through a real OpenVPN 2.6 server (its auth-pam plugin) and real
# OpenVPN clients. The vendor connects with its one-time code as the VPN password from an
# allowed address; every refusal is checked on the client's outcome (AUTH_FAILED) and in the
# audit log, whose rhost proves that the module got PAM_RHOST from OpenVPN. TLS
# renegotiations and reconnections ride on auth-gen-token's token and never call PAM again.
# pam_vendor's own OpenVPN plugin makes each tunnel a session (session_open / session_close
# with duration and bytes, `otpctl report`), refuses a tunnel whose window closed since the
# login, and `otpctl expire` / `disable --kill` end tunnels over the management socket.
# Runs in private mount and network namespaces: /etc/pam.d is a bind mount of the test's own
# directory (the host's PAM configuration is never touched); the tun devices and the IPv6
# addresses are the namespace's own.
set -u
source "$(dirname "$0")/../lib.sh"

VENDOR=pvvpnacme$PV_RUN
SERVICE=pvvpn
PLUGIN=/usr/lib/x86_64-linux-gnu/openvpn/plugins/openvpn-plugin-auth-pam.so
PV_PLUGIN=$PV_BUILD/bin/openvpn-plugin-pam-vendor.so
VPNDRIVE=${VPNDRIVE:-$PV_BUILD/tests/vpndrive}
EXAMPLE=$PV_ROOT/examples/openvpn/server.conf
PORT=11940    # IPv4 only, on 127.0.0.1
PORT_DS=11941 # dual stack: an IPv6 socket on ::, IPv4 clients arrive IPv4-mapped
PORT_NV=11942 # the plugin's name/value form with the name of pam_vendor's prompt
PORT_NP=11943 # the name/value form with "password", which matches no pam_vendor prompt
PORT_CA=11944 # management-client-auth: the test holds each client between auth and connect
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
	if [ ! -f "$PV_PLUGIN" ] || [ ! -x "$VPNDRIVE" ]; then
		echo "Bail out! $PV_PLUGIN or $VPNDRIVE not built (make all $VPNDRIVE)"; exit 1
	fi
	if ! unshare -m -n true 2>/dev/null; then
		echo "SKIP: cannot create mount and network namespaces here"; echo "0 passed, 0 failed"; exit 0
	fi
	# The account is host-wide: create it here (its home in a temp dir), remove it whatever
	# happens.
	trap 'remove_accounts; cleanup_dirs' EXIT
	HOMES=$(mktemp -d /tmp/pvtest.XXXXXX) && T_DIRS+=("$HOMES") &&
		add_user "$VENDOR" -m -d "$HOMES/$VENDOR" -s /usr/sbin/nologin &&
		usermod -p '*' "$VENDOR" || { echo "Bail out! cannot create the test account"; exit 1; }
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
echo "openvpn_management = $T/server-mgmt.sock" >>"$CFG" # the IPv4 server's
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
# example_lines NAME [PLUGIN-ARGS]: the example's directives with the test's values: the PAM
# service, pam_vendor's plugin as built here with the test's config, server NAME's own
# management socket, scaled durations.
example_lines() {
	local args=${2:-$SERVICE}
	sed -e '/^[[:space:]]*#/d' -e '/^[[:space:]]*$/d' \
		-e "s|^\(plugin [^ ]*auth-pam.so\) \"openvpn\"$|\1 \"$args\"|" \
		-e "s|^plugin [^ ]*/openvpn-plugin-pam-vendor.so config=[^ ]* service=openvpn$|plugin $PV_PLUGIN config=$CFG service=$SERVICE|" \
		-e "s|^management /run/openvpn-server/vendors-mgmt.sock unix$|management $T/$1-mgmt.sock unix|" \
		-e "s|^reneg-sec .*|reneg-sec $RENEG|" \
		-e "s|^\(auth-gen-token [0-9]*\) [0-9]*|\1 $RENEWAL|" \
		"$EXAMPLE"
}
example_lines server >"$T/example.conf"
check "example: plugin line used" grep -qx "plugin $PLUGIN \"$SERVICE\"" "$T/example.conf"
check "example: pam_vendor's plugin line used" grep -qx "plugin $PV_PLUGIN config=$CFG service=$SERVICE" "$T/example.conf"
check "example: management socket line used" grep -qx "management $T/server-mgmt.sock unix" "$T/example.conf"
for d in auth-gen-token reneg-sec verify-client-cert username-as-common-name management-client-user; do
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
		example_lines "$1" "${6:-}"
	} >"$T/$1.conf"
}
SERVERS="server server_ds server_nv server_np server_ca"
write_server server udp 127.0.0.1 $PORT 10.8.0.0
write_server server_ds udp6 :: $PORT_DS 10.8.1.0
echo "multihome" >>"$T/server_ds.conf" # on ::, answer from the address the client wrote to
write_server server_nv udp 127.0.0.1 $PORT_NV 10.8.2.0 "$SERVICE login USERNAME one-time PASSWORD"
write_server server_np udp 127.0.0.1 $PORT_NP 10.8.3.0 "$SERVICE login USERNAME password PASSWORD"
write_server server_ca udp 127.0.0.1 $PORT_CA 10.8.4.0
echo "management-client-auth" >>"$T/server_ca.conf"
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
SERVER_DS_PID=${PIDS[1]}
for _ in $(seq 100); do
	n=0
	for s in $SERVERS; do
		grep -q 'Initialization Sequence Completed' "$T/$s.log" 2>/dev/null && n=$((n + 1))
	done
	[ $n -eq 5 ] && break
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
	# Up to 45 s: a client HALTed by the server exits after OpenVPN's scheduled 5 s, later on a
	# machine loaded by suites running side by side. Every outcome returns as soon as it shows.
	for _ in $(seq 450); do
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

# child_pid PPID COMM: PPID's child process named COMM. The IPv4 server's children are the
# auth-pam plugin's PAM helper ("openvpn", a plain fork) and pam_vendor's plugin helper
# ("pv-vpn-helper"); each runs every transaction of that server in one process.
child_pid() {
	local p
	for p in $(ps -o pid= --ppid "$1"); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]; then echo "$p"; return; fi
	done
}
child_fds() { # PPID COMM : its open descriptors
	local pid
	pid=$(child_pid "$1" "$2")
	[ -n "$pid" ] && ls "/proc/$pid/fd" 2>/dev/null | wc -l
}

# mgmt SOCKET COMMAND : one command on a server's management socket; prints the answer.
mgmt() {
	python3 - "$1" "$2" <<'PY'
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
MGMT=$T/server-mgmt.sock
vendor_cid() { # [SOCKET] the client id of the vendor's live connection
	mgmt "${1:-$MGMT}" "status 3" | awk -F'\t' -v u="$VENDOR" '$1 == "CLIENT_LIST" && $2 == u && (cid == "" || $11 + 0 > cid + 0) { cid = $11 } END { print cid }'
}
status_addr() { # SOCKET : the Real Address of the vendor's connection in `status 3`
	mgmt "$1" "status 3" | awk -F'\t' -v u="$VENDOR" '$1 == "CLIENT_LIST" && $10 == u { print $3 }'
}

record_field() { # SESSION-ID KEY : a field of the plugin's session record
	awk -v k="$2" '$1 == k { print $2 }' "$SESSIONS/$1.session" 2>/dev/null
}
records() { ls "$SESSIONS" 2>/dev/null | grep -c '\.session$'; }
wait_records() { # N : until session_dir holds N records. OpenVPN closes a tunnel 5 s after
	# the client's exit notification, or at its ping timeout (40 s here) when that was lost;
	# the plugin's session_close follows.
	local deadline=$(($(date +%s) + 50))
	while [ "$(records)" -ne "$1" ]; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}
closed_line() { # SESSION-ID : its session_close line, once written
	grep '"event":"session_close"' "$AUDIT" | grep "\"session\":\"$1\""
}
line_field() { # FIELD : from the JSON line on stdin
	python3 -c 'import json,sys; print(json.loads(sys.stdin.read()).get(sys.argv[1], ""))' "$1"
}

test_allowed_with_the_code() {
	local sid t0 t1 dur span row
	ctl enable "$VENDOR" --for 1h
	new_code
	connect 127.0.0.5
	t0=$(date +%s.%N)
	FDS_AFTER_FIRST=$(child_fds "$SERVER_PID" openvpn)
	VFDS_AFTER_FIRST=$(child_fds "$SERVER_PID" pv-vpn-helper)
	expect_eq "allowed: client connected" connected "$OUTCOME"
	expect_eq "allowed: auth audited, rhost = the client's address" "auth allow ok 127.0.0.5" "$(last_line auth)"
	expect_eq "allowed: account audited (same PAM handle)" "account allow ok 127.0.0.5" "$(last_line account)"
	expect_eq "allowed: audited under the plugin's PAM service" "$SERVICE" "$(last_field auth service)"
	# The tunnel is a session: pam_vendor's plugin audits and records it.
	expect_eq "tunnel: session_open audited, rhost = the client's address" "session_open allow ok 127.0.0.5" "$(last_line session_open)"
	expect_eq "tunnel: session_open under the service given to the plugin" "$SERVICE" "$(last_field session_open service)"
	expect_eq "tunnel: session_open names the OpenVPN server's pid" "$SERVER_PID" "$(last_field session_open pid)"
	sid=$(last_field session_open session)
	expect_eq "tunnel: recorded in session_dir as a VPN session" vpn "$(record_field "$sid" kind)"
	expect_eq "tunnel: the record's pid is the OpenVPN server (not the helper)" "$SERVER_PID" "$(record_field "$sid" pid)"
	expect_eq "tunnel: the record's tunnel is the client's ADDR:PORT" "127.0.0.5:$CPORT" "$(record_field "$sid" tunnel)"
	expect_eq "tunnel: ... exactly as the management interface's status shows it" "$(status_addr "$MGMT")" "$(record_field "$sid" tunnel)"
	check "tunnel: the client was told when its window ends" \
		grep -q "ECHO-PULL:msg pam_vendor: your access window ends at .* (UTC); the tunnel is closed then" "$CLOG"
	# The end of the tunnel, from the server: a client's own exit notification may be lost on
	# UDP (the server then notices at its ping timeout, 40 s here), client-kill is not.
	sleep 2
	expect_eq "duration: client-kill HALT after 2 s accepted" "SUCCESS: client-kill command succeeded" \
		"$(mgmt "$MGMT" "client-kill $(vendor_cid) HALT")"
	t1=$(($(date +%s) + 40))
	while [ -z "$(closed_line "$sid")" ] && [ "$(date +%s)" -lt "$t1" ]; do sleep 0.1; done
	t1=$(date +%s.%N)
	dur=$(closed_line "$sid" | line_field duration_s)
	span=$(python3 -c "print(round($t1 - $t0))")
	check "duration: session_close's duration_s ($dur s) is the tunnel's life on the server as the test saw it ($span s, ±1 s)" \
		python3 -c "import sys; sys.exit(0 if abs(int('$dur' or -99) - $span) <= 1 else 1)"
	# OpenVPN closes a killed client no sooner than 5 s later (its scheduled exit). The upper
	# bound only catches a runaway (the check above ties the value to what the test saw): on a
	# loaded machine, with suites running side by side, the close comes late.
	check "duration: at least 2 s connected + OpenVPN's 5 s before it closes the client ($dur s)" [ "${dur:-0}" -ge 7 -a "${dur:-0}" -le 45 ]
	wait_outcome 2
	expect_halted "duration: the client halted"
	expect_eq "duration: equal to the time between the session_open and session_close lines" "$dur" \
		"$(python3 -c 'import sys,json,datetime as d
t=lambda l: d.datetime.strptime(json.loads(l)["time"], "%Y-%m-%dT%H:%M:%SZ")
o,c=[l for l in open(sys.argv[1]) if "\"session\":\"%s\"" % sys.argv[2] in l]
print(int((t(c)-t(o)).total_seconds()))' "$AUDIT" "$sid")"
	check "bytes: the client sent bytes ($(closed_line "$sid" | line_field bytes_in))" [ "$(closed_line "$sid" | line_field bytes_in)" -gt 0 ]
	check "bytes: the client received bytes ($(closed_line "$sid" | line_field bytes_out))" [ "$(closed_line "$sid" | line_field bytes_out)" -gt 0 ]
	check "tunnel: the record is gone after the close" [ ! -e "$SESSIONS/$sid.session" ]
	row=$("$OTPCTL" --config "$CFG" --json report --vendor "$VENDOR" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["sessions"]:
    if r["session"] == sys.argv[1]:
        print(r["user"], r["rhost"], r["service"], r["state"], r["duration_s"], r.get("bytes_in"), r.get("bytes_out"))' "$sid")
	expect_eq "report --json: the tunnel is a session row with duration, address and bytes" \
		"$VENDOR 127.0.0.5 $SERVICE closed $dur $(closed_line "$sid" | line_field bytes_in) $(closed_line "$sid" | line_field bytes_out)" "$row"
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

# A client restarted by a plain "client-kill CID" (as after a network change) comes back with
# its token: OpenVPN skips PAM, but the tunnel must come up again, and pam_vendor's plugin
# refuses it once the window is closed.
test_token_reconnect_after_window_closed_refused() {
	local before tokens cid
	new_code
	LPORT=0 connect 127.0.0.5 # the reconnection then comes from a new port: a new instance
	expect_eq "token: client connected" connected "$OUTCOME"
	tokens=$(grep -c 'TLS: Username/auth-token authentication succeeded' "$T/server.log")
	ctl disable "$VENDOR"
	before=$(pam_lines)
	cid=$(vendor_cid)
	check "token: after otpctl disable (no --kill) the tunnel is still up (cid $cid)" [ -n "$cid" ]
	expect_eq "token: client-kill accepted" "SUCCESS: client-kill command succeeded" "$(mgmt "$MGMT" "client-kill $cid")"
	wait_outcome 2
	expect_eq "token: the restarted client is refused" refused "$OUTCOME"
	expect_eq "token: its token was accepted without PAM" $((tokens + 1)) \
		"$(grep -c 'TLS: Username/auth-token authentication succeeded' "$T/server.log")"
	expect_eq "token: pam_vendor's plugin refused the tunnel: window closed" \
		"session_open deny not_enabled 127.0.0.5" "$(last_line session_open)"
	check "token: OpenVPN refused the client at connect" grep -q 'client-connect-v2 plugin call failed' "$T/server.log"
	# Refused after using a token, an OpenVPN 2.6 client retries once with its saved password
	# (receive_auth_failed, push.c): the used code, which PAM refuses; then it exits.
	check "token: the client dropped its token and retried with its password" \
		grep -q "auth-failure (auth-token)" "$CLOG"
	expect_eq "token: that retry met PAM and the closed window, once" "$((before + 1)) auth deny not_enabled 127.0.0.5" \
		"$(pam_lines) $(last_line auth)"
}

# A window that closes after the login and before the tunnel comes up refuses the tunnel. The
# server with management-client-auth holds each client after its PAM login until the test
# answers on the management socket: the test closes the window first.
test_window_closes_between_auth_and_connect() {
	local held
	ctl enable "$VENDOR" --for 1h
	new_code
	rm -f "$T/held.ready"
	python3 - "$T/server_ca-mgmt.sock" "$OTPCTL" "$CFG" "$VENDOR" "$T/held.ready" >"$T/held.out" 2>&1 <<'PY' &
import socket, subprocess, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()  # the >INFO banner: OpenVPN now sends this client its notifications
open(sys.argv[5], "w").close()
for line in f:
    if line.startswith(">CLIENT:CONNECT,"):
        cid, kid = line.strip().split(",")[1:3]
        break
for line in f:  # the client's environment, up to >CLIENT:ENV,END
    if line.startswith(">CLIENT:ENV,END"):
        break
subprocess.run([sys.argv[2], "--config", sys.argv[3], "disable", sys.argv[4]], check=True,
               stdout=subprocess.DEVNULL)
f.write("client-auth-nt %s %s\n" % (cid, kid)); f.flush()
for line in f:
    if line.startswith(("SUCCESS:", "ERROR:")):
        print(line.strip())
        break
PY
	held=$!
	for _ in $(seq 100); do [ -e "$T/held.ready" ] && break; sleep 0.1; done
	connect 127.0.0.5 127.0.0.1 $PORT_CA
	wait "$held"
	expect_eq "between auth and connect: the test held the client and let it go" \
		"SUCCESS: client-auth command succeeded" "$(cat "$T/held.out")"
	expect_eq "between auth and connect: the PAM login itself was allowed" "auth allow ok 127.0.0.5" "$(last_line auth)"
	expect_eq "between auth and connect: the tunnel refused, window closed" "session_open deny not_enabled 127.0.0.5" "$(last_line session_open)"
	expect_eq "between auth and connect: the client refused" refused "$OUTCOME"
	expect_eq "between auth and connect: audit order auth, disable, refused tunnel" "auth admin session_open" \
		"$(grep -E '"event":"(auth|admin|session_open)"' "$AUDIT" | tail -n 3 | line_events)"
}
line_events() { python3 -c 'import json,sys; print(" ".join(json.loads(l)["event"] for l in sys.stdin))'; }

# disable --kill ends the live tunnel within seconds: audited, the client told to halt and
# gone, its token with it; a new client meets PAM and the closed window.
test_disable_kill_ends_the_tunnel() {
	local sid t0
	ctl enable "$VENDOR" --for 1h
	wait_records 0
	new_code
	connect 127.0.0.5
	expect_eq "kill: client connected" connected "$OUTCOME"
	sid=$(last_field session_open session)
	cp "$T/auth" "$T/auth.kept" # a code issued before the window closes
	t0=$(date +%s)
	run_ctl disable "$VENDOR" --kill
	expect_eq "kill: disable --kill exits 0" 0 "$RC"
	expect_match "kill: says which tunnel it ended" "Ended VPN tunnel of $VENDOR from 127.0.0.5:$CPORT \(OpenVPN client [0-9]+\): vendor disabled" "$OUT"
	check "kill: done within seconds ($(($(date +%s) - t0)) s)" [ $(($(date +%s) - t0)) -le 12 ]
	expect_eq "kill: the tunnel is no longer listed by OpenVPN" "" "$(vendor_cid)"
	wait_outcome 2
	expect_halted "kill: the client exits"
	check "kill: the client was told to halt, and why" \
		grep -q "Halt command was pushed by server ('pam_vendor: your access ended (vendor disabled)')" "$CLOG"
	expect_eq "kill: the ending audited like an SSH session's" "session_terminated $sid $SERVER_PID" \
		"$(grep '"action":"session_terminated"' "$AUDIT" | tail -n 1 | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["action"], d["session"], d["pid"])')"
	expect_match "kill: the audit says how" "vendor disabled; client-kill [0-9]+ HALT on OpenVPN pid $SERVER_PID" "$(last_field admin detail)"
	expect_eq "kill: session_close written by the plugin, with bytes" "$SERVICE yes" \
		"$(closed_line "$sid" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d["service"], "yes" if d.get("bytes_in", 0) > 0 else "no")')"
	check "kill: the record is gone" [ ! -e "$SESSIONS/$sid.session" ]
	cp "$T/auth.kept" "$T/auth"
	connect 127.0.0.5
	expect_eq "kill: a connect after the window closed is refused" refused "$OUTCOME"
	expect_eq "kill: ... by PAM" "auth deny not_enabled 127.0.0.5" "$(last_line auth)"
	run_ctl expire
	expect_eq "kill: expire afterwards has nothing left to end" "0 No session to end." "$RC $OUT"
}

# A stand-in for an SSH session of the vendor: a detached process and the record the module
# would have written for it.
fake_ssh_session() {
	local pid start
	(sleep 300 >/dev/null 2>&1 &
		echo $! >"$T/sleep.pid")
	pid=$(cat "$T/sleep.pid")
	start=$(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $20 }')
	printf 'pam_vendor-session 2\nid %s\nuser %s\nservice sshd\nkind ssh\nrhost 127.0.0.5\ntunnel -\npid %s\npid_start %s\nopened %s\nwarned 0\nend\n' \
		0123456789abcdef0123456789abcdef "$VENDOR" "$pid" "$start" "$(date +%s)" \
		>"$SESSIONS/0123456789abcdef0123456789abcdef.session"
	chmod 600 "$SESSIONS/0123456789abcdef0123456789abcdef.session"
	echo "$pid"
}

# otpctl sessions lists the live tunnel (and the vendor's SSH session), and `sessions kill ID`
# ends that tunnel alone, audited: the vendor's other session keeps running.
test_sessions_kill_ends_one_tunnel() {
	local sid spid
	ctl enable "$VENDOR" --for 1h
	wait_records 0
	new_code
	connect 127.0.0.5
	expect_eq "sessions: client connected" connected "$OUTCOME"
	sid=$(last_field session_open session)
	spid=$(fake_ssh_session)
	run_ctl sessions
	expect_match "sessions: the tunnel, its address and server" \
		"id $sid, tunnel 127\.0\.0\.5:$CPORT \(OpenVPN pid $SERVER_PID\)$" "$OUT"
	expect_match "sessions: the vendor's SSH session too" \
		"id 0123456789abcdef0123456789abcdef, pid $spid \(sshd\)$" "$OUT"
	run_ctl sessions kill "$sid"
	expect_eq "sessions kill: exit 0" 0 "$RC"
	expect_match "sessions kill: says which tunnel it ended" \
		"Ended VPN tunnel of $VENDOR from 127\.0\.0\.5:$CPORT \(OpenVPN client [0-9]+\): ended by the admin" "$OUT"
	expect_eq "sessions kill: the tunnel is no longer listed by OpenVPN" "" "$(vendor_cid)"
	wait_outcome 2
	expect_halted "sessions kill: the client exits"
	expect_match "sessions kill: audited with how" \
		"ended by the admin \(otpctl sessions kill\); client-kill [0-9]+ HALT on OpenVPN pid $SERVER_PID" \
		"$(last_field admin detail)"
	check "sessions kill: the vendor's SSH session still runs" kill -0 "$spid"
	check "sessions kill: ... and its record is kept" \
		[ -e "$SESSIONS/0123456789abcdef0123456789abcdef.session" ]
	kill "$spid" 2>/dev/null
	rm -f "$SESSIONS/0123456789abcdef0123456789abcdef.session"
	ctl disable "$VENDOR"
	wait_records 0
}

# Without a usable management socket a recorded tunnel cannot be ended: a clear error, exit 1,
# and everything else of the vendor is still ended.
test_expire_without_management_socket() {
	local spid cid stall t0
	ctl enable "$VENDOR" --for 1h
	wait_records 0
	new_code
	connect 127.0.0.5
	expect_eq "no socket: client connected" connected "$OUTCOME"
	cid=$(vendor_cid)
	spid=$(fake_ssh_session)
	grep -v '^openvpn_management' "$CFG" >"$T/unset.conf"
	sed "s|^openvpn_management = .*|openvpn_management = $T/absent.sock|" "$CFG" >"$T/absent.conf"
	sed "s|^openvpn_management = .*|openvpn_management = $T/stall.sock|" "$CFG" >"$T/stall.conf"
	chmod 600 "$T"/unset.conf "$T"/absent.conf "$T"/stall.conf
	run_ctl_with "$T/unset.conf" disable "$VENDOR" --kill
	expect_eq "unset: disable --kill exits 1" 1 "$RC"
	expect_match "unset: the error names the key" "cannot be ended: openvpn_management is not set in $T/unset.conf" "$ERR"
	for _ in $(seq 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
	check "unset: the vendor's other session was still ended" bash -c "! kill -0 $spid 2>/dev/null"
	expect_eq "unset: the tunnel is untouched" "$cid" "$(vendor_cid)"
	run_ctl_with "$T/absent.conf" expire
	expect_eq "absent socket: expire exits 1" 1 "$RC"
	expect_match "absent socket: the error names the socket" "management socket $T/absent.sock \(openvpn_management\): No such file" "$ERR"
	python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); c,_=s.accept(); time.sleep(60)' "$T/stall.sock" &
	stall=$!
	PIDS+=("$stall")
	for _ in $(seq 50); do [ -S "$T/stall.sock" ] && break; sleep 0.1; done
	t0=$(date +%s)
	run_ctl_with "$T/stall.conf" expire
	expect_eq "stalled socket: expire exits 1" 1 "$RC"
	expect_match "stalled socket: a clear error" "management socket $T/stall.sock did not answer within 5 s" "$ERR"
	check "stalled socket: no hang ($(($(date +%s) - t0)) s)" [ $(($(date +%s) - t0)) -le 8 ]
	kill "$stall" 2>/dev/null
	expect_eq "stalled socket: the tunnel is untouched" "$cid" "$(vendor_cid)"
	run_ctl expire
	expect_eq "socket back: expire exits 0" 0 "$RC"
	expect_eq "socket back: the tunnel is ended" "" "$(vendor_cid)"
	wait_outcome 2
	expect_halted "socket back: the client exits"
}
# expect_halted NAME: the client got a HALT (wait_outcome done). It exits on it; on a loaded
# machine it may retry first and be refused. Either way it is gone and not connected again.
expect_halted() {
	check "$1, not connected again ($OUTCOME)" [ "$OUTCOME" = exited -o "$OUTCOME" = refused ]
}
run_ctl_with() { # CONFIG ARGS... : like run_ctl with another config
	local cfg=$1
	shift
	CFG=$cfg run_ctl "$@"
}

test_name_value_form() {
	ctl enable "$VENDOR" --for 1h
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
	local sid
	new_code
	connect 2001:db8::9 2001:db8::1 $PORT_DS
	expect_eq "IPv6 other address: client refused" refused "$OUTCOME"
	expect_eq "IPv6 other address audited" "auth deny ip_not_allowed 2001:db8::9" "$(last_line auth)"
	connect 2001:db8::5 2001:db8::1 $PORT_DS
	expect_eq "IPv6: client connected" connected "$OUTCOME"
	expect_eq "IPv6: auth audited with the IPv6 address" "auth allow ok 2001:db8::5" "$(last_line auth)"
	expect_eq "IPv6: session_open with the IPv6 address" "session_open allow ok 2001:db8::5" "$(last_line session_open)"
	sid=$(last_field session_open session)
	expect_eq "IPv6: the record's tunnel is what status shows (no port for IPv6)" \
		"2001:db8::5 2001:db8::5" "$(record_field "$sid" tunnel) $(status_addr "$T/server_ds-mgmt.sock")"
	disconnect
	new_code
	connect 127.0.0.5 127.0.0.1 $PORT_DS
	expect_eq "IPv4 client, dual-stack server: connected" connected "$OUTCOME"
	check "IPv4 client, dual-stack server: the socket saw an IPv4-mapped address" \
		grep -q "Peer Connection Initiated with \[AF_INET6\]::ffff:127.0.0.5:$CPORT" "$T/server_ds.log"
	expect_eq "IPv4 client, dual-stack server: rhost is plain IPv4" "auth allow ok 127.0.0.5" "$(last_line auth)"
	sid=$(last_field session_open session)
	expect_eq "IPv4 client, dual-stack server: the record's tunnel is what status shows" \
		"127.0.0.5:$CPORT 127.0.0.5:$CPORT" "$(record_field "$sid" tunnel) $(status_addr "$T/server_ds-mgmt.sock")"
	disconnect
}

test_helpers_keep_no_descriptors() {
	local n
	n=$(grep -c 'PLUGIN_CALL: POST .*PLUGIN_AUTH_USER_PASS_VERIFY' "$T/server.log")
	check "PAM helper: found after the first login ($FDS_AFTER_FIRST descriptors)" [ "${FDS_AFTER_FIRST:-0}" -gt 0 ]
	expect_eq "PAM helper: after $n transactions, the same number of descriptors" "$FDS_AFTER_FIRST" "$(child_fds "$SERVER_PID" openvpn)"
	n=$(grep -c 'PLUGIN_CALL: POST .*PLUGIN_CLIENT_CONNECT_V2' "$T/server.log")
	check "pam_vendor's helper: found after the first tunnel ($VFDS_AFTER_FIRST descriptors)" [ "${VFDS_AFTER_FIRST:-0}" -gt 0 ]
	expect_eq "pam_vendor's helper: after $n tunnels, the same number of descriptors" "$VFDS_AFTER_FIRST" "$(child_fds "$SERVER_PID" pv-vpn-helper)"
	expect_eq "pam_vendor's helper: stdin, stdout, stderr and its socket, nothing of OpenVPN's" 4 "$(child_fds "$SERVER_PID" pv-vpn-helper)"
	expect_eq "pam_vendor's helper: still root after OpenVPN became nobody" "0 nobody" \
		"$(ps -o uid= -p "$(child_pid "$SERVER_PID" pv-vpn-helper)" | tr -d ' ') $(ps -o user= -p "$SERVER_PID")"
}

# The plugin through its entry points, as OpenVPN calls them, a thousand tunnels in a row:
# every one recorded and closed, and the helper's descriptors and memory stay flat.
test_plugin_helper_survives_many_connects() {
	local out opens
	ctl enable "$VENDOR" --for 1h
	wait_records 0 # the last real tunnel's close
	# The driver gives the plugin no service=: its lines carry the default, "openvpn".
	opens=$(grep -c '"event":"session_open","service":"openvpn".*"result":"allow"' "$AUDIT")
	out=$(env "${SERVER_ENV[@]}" "$VPNDRIVE" "$PV_PLUGIN" "$CFG" "$VENDOR" 127.0.0.5 1000 2>"$T/vpndrive.err")
	expect_eq "1000 tunnels: every one allowed" "allowed 1000 refused 0" "$(echo "$out" | awk '/^(allowed|refused)/ { printf "%s%s %s", sep, $1, $2; sep = " " }')"
	expect_eq "1000 tunnels: each audited at open" $((opens + 1000)) \
		"$(grep -c '"event":"session_open","service":"openvpn".*"result":"allow"' "$AUDIT")"
	expect_eq "1000 tunnels: no record left" 0 "$(records)"
	expect_eq "1000 tunnels: the helper's descriptors after 50 and after 1000" "4 4" "$(echo "$out" | awk '/^helper_fds/ { print $2, $3 }')"
	if [ "${SERVER_ENV[0]}" = PV_UNUSED=1 ]; then # not under ASan, whose quarantine grows by design
		check "1000 tunnels: the helper's memory stays flat ($(echo "$out" | awk '/^helper_rss_kb/ { print $2 " -> " $3 }') kB)" \
			bash -c "echo '$out' | awk '/^helper_rss_kb/ { exit !(\$3 - \$2 <= 256) }'"
	fi
}

# Fail closed: a tunnel that cannot be recorded does not come up, and a plugin that cannot read
# its configuration stops OpenVPN at start.
test_unrecordable_tunnel_refused() {
	local out
	sed "s|^session_dir = .*|session_dir = $T/not-a-dir|" "$CFG" >"$T/broken.conf"
	chmod 600 "$T/broken.conf"
	echo "a file where session_dir should be" >"$T/not-a-dir"
	out=$(env "${SERVER_ENV[@]}" "$VPNDRIVE" "$PV_PLUGIN" "$T/broken.conf" "$VENDOR" 127.0.0.5 51 2>/dev/null)
	expect_eq "unrecordable: every tunnel refused" "allowed 0 refused 51" \
		"$(echo "$out" | awk '/^(allowed|refused)/ { printf "%s%s %s", sep, $1, $2; sep = " " }')"
	expect_eq "unrecordable: audited as a store error" "session_open deny store_error 127.0.0.5" "$(last_line session_open)"
	echo "store_dir = $T/nowhere" >>"$T/broken.conf" # a second store_dir: a configuration error
	env "${SERVER_ENV[@]}" "$VPNDRIVE" "$PV_PLUGIN" "$T/broken.conf" "$VENDOR" 127.0.0.5 51 >/dev/null 2>"$T/open.err"
	expect_eq "bad configuration: the plugin refuses to open (OpenVPN stops)" 1 $?
	expect_match "bad configuration: saying why, in OpenVPN's log" "pam_vendor helper: .*broken.conf" "$(cat "$T/open.err")"
}

test_every_tunnel_has_its_close() {
	check "no tunnel left open: session_dir empty" wait_records 0
	expect_eq "every session_open allowed by the plugin has its session_close" "" \
		"$(python3 -c '
import json, sys
opened, closed = set(), set()
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["service"] == sys.argv[2] and d["result"] == "allow":
        {"session_open": opened, "session_close": closed}.get(d["event"], set()).add(d.get("session"))
print(" ".join(sorted(opened - closed)))' "$AUDIT" "$SERVICE")"
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
test_token_reconnect_after_window_closed_refused
test_window_closes_between_auth_and_connect
test_disable_kill_ends_the_tunnel
test_sessions_kill_ends_one_tunnel
test_expire_without_management_socket
test_name_value_form
test_ipv6_and_dual_stack
test_helpers_keep_no_descriptors
test_plugin_helper_survives_many_connects
test_unrecordable_tunnel_refused
test_every_tunnel_has_its_close
test_audit_chain_intact
expect_eq "no sanitizer report from the module or the plugin inside OpenVPN" "" "$(cat "$T"/asan.* "$T"/ubsan.* 2>/dev/null)"
finish

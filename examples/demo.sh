#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# demo.sh — `make demo`: the whole story on this machine, in a throw-away directory and a
# private sshd (own mount and network namespaces; the host's PAM and SSH configuration are
# not touched). Creates two temporary accounts (pvacmeN and pvbobN, N this run's number, their
# homes in a temp dir) and removes them at the end.
set -u
source "$(dirname "$0")/../tests/lib.sh"
source "$(dirname "$0")/../tests/e2e/sshd_lib.sh"
sshd_enter "$0"

bold=$(tput bold 2>/dev/null || true)
plain=$(tput sgr0 2>/dev/null || true)
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '%s$ otpctl%s%s\n' "$bold" "$(printf ' %q' "$@")" "$plain"; "$OTPCTL" --config "$CFG" "$@"; }
try_login() { # SRC
	printf '%s$ ssh -b %s %s@bastion   (the vendor types the code it was told)%s\n' "$bold" "$1" "$VENDOR" "$plain"
	login "$1" "$VENDOR" "$PORT" 'echo "  logged in as $(id -un) on $(hostname), from ${SSH_CONNECTION%% *}"'
	if [ "$RC" -eq 0 ]; then
		echo "$OUT"
	else
		echo "  refused (exit $RC); code prompts shown: $PROMPTS"
	fi
}

new_env
trap 'sshd_stop; cleanup_dirs' EXIT
sshd_start
echo "Demo directory: $T (config $CFG); private sshd on 127.0.0.1:$PORT."

say "Once: register the vendor's account and its declared addresses"
run vendor add "$VENDOR" --ip 127.0.0.5 --ip 2001:db8::5 --note "demo vendor"

say "The vendor phones: open a window for 2 minutes"
run enable "$VENDOR" --for 2m

say "The vendor is ready: issue a one-time code and read it aloud"
"$OTPCTL" --config "$CFG" --json issue "$VENDOR" >"$T/issued.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["otp"]; print("$ otpctl issue '"$VENDOR"'\n  code: " + " ".join(c[i:i+4] for i in range(0, len(c), 4)) + "   valid until " + d["expires"] + ", once, from " + ", ".join(d["ips"]))' "$T/issued.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["otp"])' "$T/issued.json" >"$T/code"

say "Allowed: key + code, from the vendor's address 127.0.0.5"
try_login 127.0.0.5

say "Refused: the same key and code from another address (127.0.0.9): no prompt at all"
try_login 127.0.0.9

say "Refused: the code again (single use)"
try_login 127.0.0.5

say "Status while the window is open"
run status

say "Who connected, from where, when, for how long"
run report --vendor "$VENDOR"

say "Every decision and admin action, in the chained audit log"
run audit --vendor "$VENDOR"

say "The log was not edited"
run audit verify

say "Done: stopping the private sshd and removing the demo directory and accounts"

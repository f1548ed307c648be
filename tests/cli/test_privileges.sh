#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_privileges.sh — a vendor account must have no privileges on the system (CERT Santé
# sheet): `otpctl vendor add` refuses an account with uid 0, in an administration group
# (primary or supplementary), or with any sudoers rule, naming it and the fix, and changes
# nothing. Test users and groups are created and removed here; sudoers rules live in a
# private mount namespace (a temp dir bind-mounted over /etc/sudoers.d), never on the host.
set -u
source "$(dirname "$0")/../lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "Bail out! test_privileges.sh needs root (useradd)"
	exit 1
fi
U=pvpr$PV_RUN
cleanup() {
	remove_accounts
	cleanup_dirs
}
# need_group NAME: the group exists (created, and removed at the end, when it did not).
need_group() { getent group "$1" >/dev/null || add_group "$1"; }
trap cleanup EXIT
# mkuser [USERADD-OPTIONS...] NAME
mkuser() { add_user "${@: -1}" -M -N -s /usr/sbin/nologin "${@:1:$#-1}"; }

new_env
# add NAME: `otpctl vendor add`, optionally inside a namespace with our sudoers.d (SUDOERS_D).
add() {
	local errf=$T/add.err
	if [ -n "${SUDOERS_D:-}" ]; then
		OUT=$(unshare -m sh -c 'mount --bind "$0" /etc/sudoers.d && exec "$@"' "$SUDOERS_D" \
			"$OTPCTL" --config "$CFG" vendor add "$1" --ip 203.0.113.7 2>"$errf")
	else
		OUT=$("$OTPCTL" --config "$CFG" vendor add "$1" --ip 203.0.113.7 2>"$errf")
	fi
	RC=$?
	ERR=$(cat "$errf")
}
listed() { "$OTPCTL" --config "$CFG" --json vendor list | grep -c "\"vendor\":\"$1\""; }

test_admin_groups_are_refused() {
	local g before
	before=$(wc -l <"$AUDIT")
	for g in sudo adm disk; do
		need_group "$g"
		mkuser -G "$g" "${U}$g"
		add "${U}$g"
		expect_eq "member of $g: vendor add refused" 1 "$RC"
		expect_match "member of $g: the group and the fix are named" \
			"is in group $g, which grants administration; fix: gpasswd -d ${U}$g $g" "$ERR"
		expect_eq "member of $g: nothing stored" 0 "$(listed "${U}$g")"
	done
	need_group docker
	mkuser -g docker "${U}dk"
	add "${U}dk"
	expect_eq "primary group docker: refused" 1 "$RC"
	expect_match "primary group docker: the fix gives it a group of its own" "usermod -g ${U}dk ${U}dk" "$ERR"
	expect_eq "refusals write no audit line" "$before" "$(wc -l <"$AUDIT")"
}

test_uid_zero_is_refused() {
	mkuser -o -u 0 "${U}z" 2>/dev/null # useradd warns that uid 0 is outside UID_MIN..UID_MAX
	add "${U}z"
	expect_eq "uid 0: vendor add refused" 1 "$RC"
	expect_match "uid 0: named" "has uid 0: it is root" "$ERR"
	expect_no_match "uid 0: the fix changes no uid (usermod -u on root breaks the system)" "usermod" "$ERR"
	expect_match "uid 0: the fix is another account" "never be a vendor account; create an ordinary account" "$ERR"
	add root
	expect_eq "root: vendor add refused" 1 "$RC"
	expect_no_match "root: no usermod fix" "usermod" "$ERR"
	expect_match "root: register an ordinary account instead" \
		"none for root: a uid 0 account can never be a vendor account; create an ordinary account for the vendor \(useradd\) and register that one instead" "$ERR"
	expect_eq "root: nothing stored" 0 "$(listed root)"
}

test_sudoers_rules_are_refused() {
	if [ ! -x /usr/bin/sudo ]; then
		ok "sudoers rules # SKIP sudo is not installed"
		return
	fi
	SUDOERS_D=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$SUDOERS_D")
	chmod 0755 "$SUDOERS_D"
	mkuser "${U}s"
	echo "${U}s ALL=(root) NOPASSWD: /usr/bin/systemctl restart pacs" >"$SUDOERS_D/pv"
	chmod 0440 "$SUDOERS_D/pv"
	add "${U}s"
	expect_eq "a sudoers rule: vendor add refused" 1 "$RC"
	expect_match "the rule is named" "sudoers lets ${U}s run: \(root\) NOPASSWD: /usr/bin/systemctl restart pacs" "$ERR"
	expect_match "the fix is named" "from /etc/sudoers or /etc/sudoers.d/ with visudo" "$ERR"
	rm "$SUDOERS_D/pv"
	add "${U}s"
	expect_eq "the same account without the rule: added" 0 "$RC"
	SUDOERS_D=
}

test_plain_account_is_added() {
	mkuser "${U}ok"
	add "${U}ok"
	expect_eq "an account without privileges: added" 0 "$RC"
	expect_eq "it is stored" 1 "$(listed "${U}ok")"
}

test_admin_groups_are_refused
test_uid_zero_is_refused
test_sudoers_rules_are_refused
test_plain_account_is_added
finish

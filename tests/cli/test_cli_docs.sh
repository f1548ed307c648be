#!/bin/bash
# test_cli_docs.sh — what users read stays true: every command in `otpctl --help` has its own
# --help with an example and is in the man page; the man page renders without warnings; the
# bash completion offers commands, sub-commands, options and vendor names.
set -u
source "$(dirname "$0")/../lib.sh"

MAN=$PV_ROOT/docs/otpctl.1

test_help_and_man_page_agree() {
	local help cmds cmd
	help=$("$OTPCTL" --help)
	expect_eq "otpctl --help exits 0" 0 $?
	cmds=$(printf '%s\n' "$help" | sed -n 's/^  otpctl \([a-z]*\( [a-z]*\)\?\).*/\1/p' |
		while read -r a b; do
			case "$b" in add | list | show | remove | set | enroll | verify | init | upgrade | migrate) echo "$a $b" ;; *) echo "$a" ;; esac
		done)
	check "--help lists at least the 15 commands of the brief" [ "$(printf '%s\n' "$cmds" | wc -l)" -ge 15 ]
	while read -r cmd; do
		local out
		# shellcheck disable=SC2086
		out=$("$OTPCTL" $cmd --help 2>&1)
		expect_match "otpctl $cmd --help gives usage and an example" "usage: otpctl $cmd.*Example:" "$(printf '%s' "$out" | tr '\n' ' ')"
		# Each command is a .TP entry: .B init, .BI "vendor add " NAME, .BR "status " ...
		if grep -Eq "^\.(B|BI|BR) \"?$cmd( |\"|\$)" "$MAN"; then
			ok "man page documents otpctl $cmd"
		else
			not_ok "man page documents otpctl $cmd"
		fi
	done <<<"$cmds"
	local warnings
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN" 2>&1 >/dev/null)
	expect_eq "man page renders without warnings" "" "$warnings"
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$PV_ROOT/docs/pam_vendor.8" 2>&1 >/dev/null)
	expect_eq "pam_vendor.8 renders without warnings" "" "$warnings"
}

test_unknown_command_and_option_are_usage_errors() {
	"$OTPCTL" frobnicate >/dev/null 2>&1
	expect_eq "unknown command exits 2" 2 $?
	"$OTPCTL" --frob status >/dev/null 2>&1
	expect_eq "unknown global option exits 2" 2 $?
	"$OTPCTL" >/dev/null 2>&1
	expect_eq "no command exits 2" 2 $?
	local v
	v=$("$OTPCTL" --version)
	expect_match "--version prints a version" '^otpctl [0-9]+\.[0-9]+' "$v"
}

# complete WORDS...: run the completion function as bash would for the last word.
complete_words() {
	bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_otpctl otpctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
	' _ "$PV_ROOT/examples/bash-completion/otpctl" "$@"
}

test_bash_completion() {
	if [ ! -f /usr/share/bash-completion/bash_completion ]; then
		not_ok "bash-completion is installed (mk/deps.sh test installs it)"
		return
	fi
	new_env
	run_ctl vendor add acme --ip 203.0.113.7
	run_ctl vendor add acorn --ip 203.0.113.8
	export PATH="$(dirname "$OTPCTL"):$PATH"
	expect_eq "completes commands" "vendor " "$(complete_words otpctl ven)"
	expect_eq "completes vendor sub-commands" "add list remove set show " "$(complete_words otpctl vendor '')"
	expect_eq "completes enable options" "--for --force " "$(complete_words otpctl enable acme --f)"
	expect_eq "completes vendor names from the store" "acme acorn " "$(complete_words otpctl --config "$CFG" issue ac)"
	expect_eq "completes audit verify" "verify " "$(complete_words otpctl audit ver)"
	expect_eq "completes expire" "expire " "$(complete_words otpctl exp)"
	expect_eq "completes disable --kill" "--kill " "$(complete_words otpctl disable acme --k)"
	expect_eq "completes vendor set --hours" "--hours " "$(complete_words otpctl vendor set acme --ho)"
	expect_eq "completes vendor set --no-hours" "--no-hours " "$(complete_words otpctl vendor set acme --no-)"
	expect_eq "completes enable --replace" "--replace " "$(complete_words otpctl enable acme --r)"
	expect_eq "completes enable --extend" "--extend " "$(complete_words otpctl enable acme --e)"
	expect_eq "completes totp enroll --invert" "--invert " "$(complete_words otpctl totp enroll acme --i)"

}

test_help_and_man_page_agree
test_unknown_command_and_option_are_usage_errors
test_bash_completion
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_cli_docs.sh — what users read stays true: every command in `otpctl --help` has its own
# --help with an example and is in the man page otpctl(8); every man page (docs/*.[1-8])
# renders without a warning, has a NAME section lexgrog reads, and no option glued to its
# argument (`--vendorNAME`); pam_vendor.conf(5) documents every configuration key with its
# default; the bash completion offers commands, sub-commands, options and vendor names.
set -u
source "$(dirname "$0")/../lib.sh"

MAN=$PV_ROOT/docs/otpctl.8

test_help_and_man_page_agree() {
	local help cmds cmd
	help=$("$OTPCTL" --help)
	expect_eq "otpctl --help exits 0" 0 $?
	cmds=$(printf '%s\n' "$help" | sed -n 's/^  otpctl \([a-z]*\( [a-z]*\)\{0,2\}\).*/\1/p' |
		while read -r a b c; do
			case "$b $c" in "key "*) echo "$a $b $c"; continue ;; esac
			case "$b" in add | list | show | remove | set | enroll | verify | init | upgrade | migrate | sync) echo "$a $b" ;; *) echo "$a" ;; esac
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
}

# man_problems PAGE: what is wrong with one man page, one line each; nothing when it is right.
# groff's warnings (man --warnings), a NAME section lexgrog cannot read, and an option glued
# to its argument in the rendered text (".BR" with an unquoted "\fB--vendor \fINAME" argument
# renders "--vendorNAME").
man_problems() {
	local page=$1 warnings text
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -n "$warnings" ] && printf 'warnings: %s\n' "$warnings"
	lexgrog "$page" >/dev/null 2>&1 || echo "lexgrog finds no NAME section"
	text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$page" 2>/dev/null)
	[ -z "$text" ] && echo "renders nothing"
	printf '%s\n' "$text" | grep -oE -- '--[a-z-]+[A-Z]{3,}' | sed 's/^/glued option argument: /'
	return 0
}

test_man_pages_render_cleanly() {
	local page n=0
	for page in "$PV_ROOT"/docs/*.[1-8]; do
		[ -f "$page" ] || continue
		n=$((n + 1))
		expect_eq "$(basename "$page"): no warning, a NAME section, no glued option argument" "" \
			"$(man_problems "$page")"
	done
	check "the three man pages are there (otpctl.8, pam_vendor.8, pam_vendor.conf.5)" \
		test "$n" -ge 3 -a -f "$PV_ROOT/docs/otpctl.8" -a -f "$PV_ROOT/docs/pam_vendor.conf.5"
	expect_eq "otpctl's page is in section 8 (an admin command)" "OTPCTL 8" \
		"$(sed -n 's/^\.TH \([^ ]*\) \([0-9]\).*/\1 \2/p' "$PV_ROOT/docs/otpctl.8")"
	expect_eq "nothing names otpctl in section 1 any more" "" \
		"$(cd "$PV_ROOT" && grep -rnE 'otpctl ?\\?\(1\)|otpctl\.1\b|man1/otpctl' README.md Makefile docs examples debian tests/*/*.sh 2>/dev/null |
			grep -v '^tests/cli/test_cli_docs.sh:')"
	# The checks can fail: a page with the old glued form, one with a groff error, one
	# without NAME.
	local d
	d=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$d")
	printf '.TH X 8\n.SH NAME\nx \\- y\n.SH OPTIONS\n.BR "audit " [\\fB\\-\\-vendor \\fINAME\\fR]\n' >"$d/glued.8"
	expect_match "the check catches --vendorNAME" 'glued option argument: --vendorNAME' "$(man_problems "$d/glued.8")"
	printf '.TH X 8\n.SH NAME\nx \\- y\n.SH OPTIONS\n.BI\n.ZZ nope\n.ft Q\n' >"$d/warn.8"
	expect_match "the check catches a groff warning" '^warnings: ' "$(man_problems "$d/warn.8")"
	printf '.TH X 8\n.SH DESCRIPTION\nno name\n' >"$d/noname.8"
	expect_match "the check catches a page without NAME" 'no NAME section' "$(man_problems "$d/noname.8")"
}

# Every key the configuration parser knows (core/config.c) is an entry of pam_vendor.conf(5)
# with a default, and the page names no key the parser does not know.
test_config_page_lists_every_key() {
	local page=$PV_ROOT/docs/pam_vendor.conf.5 keys key entry documented
	keys=$(sed -n '/known_keys\[\] = {/,/};/p' "$PV_ROOT/core/config.c" | grep -oE '"[a-z_]+"' | tr -d '"' | sort)
	check "core/config.c lists at least 18 keys" test "$(printf '%s\n' "$keys" | wc -l)" -ge 18
	for key in $keys; do
		# The entry: from ".BI key" / ".BR key" to the next .TP or .SS.
		entry=$(awk -v k="$key" '/^\.(TP|SS|SH)/ { on = 0 } $0 ~ "^\\.B[IR] " k " " { on = 1 } on' "$page")
		expect_match "pam_vendor.conf(5) documents $key with its default" 'Default: ' "$entry"
	done
	# An entry's tag: the line after .TP.
	documented=$(awk 'tp && /^\.B[IR] / { print $2 } { tp = /^\.TP/ }' "$page" | sort)
	expect_eq "pam_vendor.conf(5) documents exactly the parser's keys" "$keys" "$documented"
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
	expect_eq "completes vendor sub-commands" "add key list remove set show " "$(complete_words otpctl vendor '')"
	expect_eq "completes vendor key sub-commands" "add list remove " "$(complete_words otpctl vendor key '')"
	expect_eq "completes vendor key add --allow-weak" "--allow-weak " "$(complete_words otpctl vendor key add acme --a)"
	expect_eq "completes keys sync" "sync " "$(complete_words otpctl keys s)"
	expect_eq "completes vendor set --target" "--target " "$(complete_words otpctl vendor set acme --ta)"
	expect_eq "completes enable options" "--for --force " "$(complete_words otpctl enable acme --f)"
	expect_eq "completes vendor names from the store" "acme acorn " "$(complete_words otpctl --config "$CFG" issue ac)"
	expect_eq "completes audit verify" "verify " "$(complete_words otpctl audit ver)"
	expect_eq "completes expire" "expire " "$(complete_words otpctl exp)"
	expect_eq "completes disable --kill" "--kill " "$(complete_words otpctl disable acme --k)"
	expect_eq "completes vendor set --hours" "--hours " "$(complete_words otpctl vendor set acme --ho)"
	expect_eq "completes vendor set --no-hours" "--no-hours " "$(complete_words otpctl vendor set acme --no-h)"
	expect_eq "completes enable --replace" "--replace " "$(complete_words otpctl enable acme --r)"
	expect_eq "completes enable --extend" "--extend " "$(complete_words otpctl enable acme --e)"
	expect_eq "completes totp enroll --invert" "--invert " "$(complete_words otpctl totp enroll acme --i)"

}

test_help_and_man_page_agree
test_man_pages_render_cleanly
test_config_page_lists_every_key
test_unknown_command_and_option_are_usage_errors
test_bash_completion
finish

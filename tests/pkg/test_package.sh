#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_package.sh — the Debian package (debian/) and `make install DESTDIR=...`:
# `dpkg-buildpackage -us -uc -b` succeeds; the .deb holds the module in /lib/<multiarch>/security
# (where bookworm's PAM packages put theirs), otpctl, the man pages otpctl(8), pam_vendor(8) and
# pam_vendor.conf(5), the bash completion, the expire timer and service in /lib/systemd/system,
# the examples, the guides (admin, OpenVPN, doctor) and the configuration as a conffile, and
# nothing in /etc/pam.d or /var; the maintainer scripts are valid sh; postinst creates
# /var/lib/pam_vendor (0700, with serials/ 0700) and /var/log/pam_vendor (0750); prerm refuses `remove` while
# /etc/pam.d names the module, never an upgrade; postrm keeps the state on `remove` and
# deletes it on `purge`; lintian reports no error and no warning; `make install DESTDIR=...`
# (default directories) installs the same files as the package; `make deb` works.
# Then the real thing, in an isolated root (below): dpkg -i, the timer not enabled, every path
# the shipped docs and doctor's fixes name exists, apt-get remove refused with the PAM
# file and line, then allowed once the lines are gone (key, store and log kept), and
# dpkg --purge leaving nothing of ours and no warning.
#
# Everything is built from copies of the working tree in a temp dir, never in the tree itself
# (one `make deb` with its stage kept, whose lintian report is checked too):
# dpkg-buildpackage starts with `make clean`, and build/normal belongs to `make check`.
# The maintainer scripts run against a fake root (DPKG_ROOT), inside a private mount namespace
# with tmpfs over /var/lib, /var/log and /run when one can be made, so the real ones are never
# used. The isolated root: a private mount namespace, an overlay whose lower layer is / and
# whose upper layer is a tmpfs of that namespace, /proc, /dev and /sys bound in, a fresh tmpfs
# on /run (nothing reaches the host's systemd), and chroot; it all vanishes with the namespace.
# Skipped in the sanitizer run (PV_VARIANT=san): the package is built without sanitizers, and
# the normal `make check` already builds and checks it once.
set -u
source "$(dirname "$0")/../lib.sh"

if [ "${PV_VARIANT:-normal}" = san ]; then
	skip "Debian package" "the sanitizer run does not rebuild the package (the normal make check does)"
	finish
	exit
fi
for tool in dpkg-buildpackage dpkg-deb dpkg-architecture dh fakeroot; do
	if ! command -v "$tool" >/dev/null; then
		skip "Debian package" "$tool is not installed (mk/deps.sh deb installs it)"
		finish
		exit
	fi
done

W=$(mktemp -d /tmp/pvtest.XXXXXX)
T_DIRS+=("$W")
trap cleanup_dirs EXIT
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
VERSION=$(dpkg-parsechangelog -l "$PV_ROOT/debian/changelog" -SVersion)
PKG=libpam-vendor
DEB=$W/pkg/${PKG}_${VERSION}_${ARCH}.deb
DOC=./usr/share/doc/$PKG

# copy_tree DEST: the working tree without build/, .git and build products (as mk/deb.mk).
copy_tree() {
	mkdir -p "$1"
	tar -C "$PV_ROOT" --exclude=./build --exclude=./.git --exclude='*.o' --exclude='*.a' \
		--exclude='*.so' --exclude=./otpctl/otpctl -cf - . | tar -C "$1" -xf -
}

# comment FILE: print a file's last lines as TAP comments (why a build failed).
comment_tail() { tail -n 25 "$1" | sed 's/^/# /'; }

# --- the package build -----------------------------------------------------------------------

# One `make deb` (a copy of the tree, dpkg-buildpackage -us -uc -b, lintian) whose stage is
# kept in $W/pkg: its .deb, its build log with lintian's report, and its built tree (for
# `make install` below) are what the rest of the suite checks. The package is compiled once.
copy_tree "$W/deb/src"
mkdir -p "$W/pkg"
make -C "$W/deb/src" --no-print-directory deb PV_SKIP_DEPS=1 PV_DEB_STAGE="$W/pkg" \
	>"$W/pkg/build.log" 2>&1
rc=$?
expect_eq "make deb (dpkg-buildpackage -us -uc -b, then lintian) exits 0" 0 "$rc"
if [ "$rc" -ne 0 ] || [ ! -f "$DEB" ]; then
	comment_tail "$W/pkg/build.log"
	not_ok "the package $DEB was built"
	finish
	exit
fi
check "the package build compiled in its own tree (copy), with the dpkg-buildflags" \
	grep -q -- '-ffile-prefix-map=' "$W/pkg/build.log"
expect_no_match "the package build did not run apt-get (PV_SKIP_DEPS)" 'Installing missing Debian packages' \
	"$(cat "$W/pkg/build.log")"

# --- what the .deb holds ---------------------------------------------------------------------

listing=$(dpkg-deb -c "$DEB")
# Regular files only, as "MODE OWNER PATH" and as paths.
files=$(printf '%s\n' "$listing" | awk '$1 ~ /^-/ {print $1, $2, $6}')
paths=$(printf '%s\n' "$files" | awk '{print $3}' | sort)

has_file() { # NAME MODE PATH
	expect_match "$1" "^$2 root/root $3\$" "$(printf '%s\n' "$files" | grep -F " $3" | head -n 1)"
}
has_file "the module is in /lib/<multiarch>/security, as libpam-modules'" '-rw-r--r--' "./lib/$MA/security/pam_vendor.so"
expect_no_match "nothing in /usr/lib/<multiarch>/security (purge would warn: not empty)" "^\./usr/lib/$MA/security" "$paths"
has_file "otpctl is in /usr/sbin, executable" '-rwxr-xr-x' ./usr/sbin/otpctl
has_file "pam_vendor-keys (sshd's AuthorizedKeysCommand) is in /usr/sbin, executable" '-rwxr-xr-x' ./usr/sbin/pam_vendor-keys
has_file "man page pam_vendor-keys(8)" '-rw-r--r--' ./usr/share/man/man8/pam_vendor-keys.8.gz
has_file "the session recorder is set-uid root" '-rwsr-xr-x' ./usr/libexec/pam_vendor/pv-record
has_file "man page otpctl(8)" '-rw-r--r--' ./usr/share/man/man8/otpctl.8.gz
has_file "man page pam_vendor(8)" '-rw-r--r--' ./usr/share/man/man8/pam_vendor.8.gz
has_file "man page pam_vendor.conf(5)" '-rw-r--r--' ./usr/share/man/man5/pam_vendor.conf.5.gz
expect_no_match "no section-1 man page any more" 'man1/' "$paths"
has_file "the expire service unit" '-rw-r--r--' ./lib/systemd/system/pam-vendor-expire.service
has_file "the expire timer unit" '-rw-r--r--' ./lib/systemd/system/pam-vendor-expire.timer
has_file "the bash completion" '-rw-r--r--' ./usr/share/bash-completion/completions/otpctl
has_file "the configuration in /etc/pam_vendor" '-rw-r--r--' ./etc/pam_vendor/pam_vendor.conf
for ex in pam_vendor.conf pam.d/sshd sshd_config.d/vendors.conf openvpn/server.conf \
	logrotate/pam_vendor rsyslog/60-pam_vendor.conf bash-completion/otpctl \
	systemd/pam-vendor-expire.service systemd/pam-vendor-expire.timer; do
	has_file "example $ex" '-rw-r--r--' "$DOC/examples/$ex"
done
has_file "the admin guide" '-rw-r--r--' "$DOC/admin-guide.md.gz"
has_file "the OpenVPN guide" '-rw-r--r--' "$DOC/openvpn.md.gz"
has_file "the doctor's findings (doctor.md)" '-rw-r--r--' "$DOC/doctor.md.gz"
has_file "README.Debian" '-rw-r--r--' "$DOC/README.Debian.gz"
has_file "the copyright file" '-rw-r--r--' "$DOC/copyright"
expect_no_match "the package does not ship demo.sh (it needs the source tree)" 'demo\.sh' "$paths"
expect_no_match "the package does not touch /etc/pam.d (the admin wires the module)" '^\./etc/pam\.d' "$paths"
expect_no_match "the package ships no /var path and no key (postinst, otpctl init)" '^\./var/|master\.key' \
	"$(printf '%s\n' "$listing" | awk '{print $6}')"
expect_eq "the configuration is identical to examples/pam_vendor.conf" \
	"$(cat "$PV_ROOT/examples/pam_vendor.conf")" \
	"$(dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./etc/pam_vendor/pam_vendor.conf)"

dpkg-deb -x "$DEB" "$W/x"
expect_eq "the packaged otpctl runs and reports the package version" "otpctl $VERSION" \
	"$("$W/x/usr/sbin/otpctl" --version 2>&1)"

# --- control data: conffile, maintainer scripts ----------------------------------------------

dpkg-deb -e "$DEB" "$W/ctrl"
expect_eq "conffiles lists the configuration (and only it)" /etc/pam_vendor/pam_vendor.conf \
	"$(cat "$W/ctrl/conffiles" 2>/dev/null)"
for s in preinst postinst prerm postrm; do
	[ -f "$W/ctrl/$s" ] && check "maintainer script $s passes sh -n" sh -n "$W/ctrl/$s"
done
check "postinst, prerm and postrm are there" test -x "$W/ctrl/postinst" -a -x "$W/ctrl/prerm" -a -x "$W/ctrl/postrm"
check "no preinst (dh_installsystemd must not stop an enabled timer on upgrade)" test ! -e "$W/ctrl/preinst"
expect_no_match "postinst never starts the timer (whether it enables it: below, in the isolated root)" \
	'deb-systemd-invoke' "$(cat "$W/ctrl/postinst")"

# maint SCRIPT ARGS...: run an extracted maintainer script against the fake root $R. Inside a
# private mount namespace with tmpfs over /var/lib, /var/log, /run and /etc/pam_vendor (when
# it exists) if one can be made: a script that ignored DPKG_ROOT would fail the checks below
# without touching the host.
R=$W/root
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
	SANDBOX=1
else
	SANDBOX=0
	echo "# no private mount namespace here: the scripts run with DPKG_ROOT only"
fi
maint() {
	local script=$1
	shift
	if [ "$SANDBOX" = 1 ]; then
		DPKG_ROOT=$R unshare -m --propagation private sh -c '
			mount -t tmpfs tmpfs /var/lib && mount -t tmpfs tmpfs /var/log || exit 99
			if [ -d /etc/pam_vendor ]; then mount -t tmpfs tmpfs /etc/pam_vendor || exit 99; fi
			mount -t tmpfs tmpfs /run || exit 99
			exec sh "$@"' sh "$W/ctrl/$script" "$@" 2> >(grep -v 'was not called from dpkg' >&2)
	else
		DPKG_ROOT=$R sh "$W/ctrl/$script" "$@"
	fi
}
stat_of() { stat -c '%a %U:%G' "$1" 2>&1; }

if [ "$(id -u)" -ne 0 ]; then
	skip "postinst and postrm on a fake root" "needs root (install -o root)"
else
	mkdir -p "$R/var/lib" "$R/var/log" "$R/etc/pam_vendor" "$R/run"
	maint postinst configure
	expect_eq "postinst configure exits 0" 0 $?
	expect_eq "postinst creates /var/lib/pam_vendor root:root 0700" "700 root:root" "$(stat_of "$R/var/lib/pam_vendor")"
	expect_eq "postinst creates the store's serials/ root:root 0700" "700 root:root" "$(stat_of "$R/var/lib/pam_vendor/serials")"
	expect_eq "postinst creates /var/log/pam_vendor root:root 0750" "750 root:root" "$(stat_of "$R/var/log/pam_vendor")"
	check "postinst does not create the master key (otpctl init does)" test ! -e "$R/etc/pam_vendor/master.key"

	# What `otpctl init` and a few logins leave behind.
	echo key >"$R/etc/pam_vendor/master.key"
	echo record >"$R/var/lib/pam_vendor/acme"
	echo line >"$R/var/log/pam_vendor/audit.log"
	echo old >"$R/var/log/pam_vendor/audit.log.1"
	mkdir -m 0700 "$R/run/pam_vendor" && echo session >"$R/run/pam_vendor/s1"
	maint postinst configure
	expect_eq "postinst again (upgrade) exits 0" 0 $?
	expect_eq "postinst again keeps the store's mode" "700 root:root" "$(stat_of "$R/var/lib/pam_vendor")"
	check "postinst again keeps the store's files" test -f "$R/var/lib/pam_vendor/acme"
	rmdir "$R/var/lib/pam_vendor/serials"
	maint postinst configure
	check "postinst does not recreate serials/ removed from an existing store (the admin decides)" \
		test ! -e "$R/var/lib/pam_vendor/serials"

	maint postrm remove
	expect_eq "postrm remove exits 0" 0 $?
	check "remove keeps the store" test -f "$R/var/lib/pam_vendor/acme"
	check "remove keeps the audit log" test -f "$R/var/log/pam_vendor/audit.log" -a -f "$R/var/log/pam_vendor/audit.log.1"
	check "remove keeps the master key" test -f "$R/etc/pam_vendor/master.key"
	check "remove keeps the live-session records" test -f "$R/run/pam_vendor/s1"

	maint postrm purge
	expect_eq "postrm purge exits 0" 0 $?
	check "purge deletes /var/lib/pam_vendor" test ! -e "$R/var/lib/pam_vendor"
	check "purge deletes /var/log/pam_vendor" test ! -e "$R/var/log/pam_vendor"
	check "purge deletes the master key and the emptied /etc/pam_vendor" test ! -e "$R/etc/pam_vendor"
	check "purge deletes /run/pam_vendor" test ! -e "$R/run/pam_vendor"
	check "purge leaves /var/lib and /var/log themselves" test -d "$R/var/lib" -a -d "$R/var/log"
	maint postrm purge
	expect_eq "postrm purge again (nothing left) exits 0" 0 $?

	# prerm: `remove` refused while a file under /etc/pam.d names the module, with each file
	# and line; every other argument never refused.
	mkdir -p "$R/etc/pam.d"
	printf '# stack\nauth [success=done default=die] pam_vendor.so\n@include common-auth\n#account required pam_vendor.so\n' >"$R/etc/pam.d/sshd"
	printf 'auth required /lib/%s/security/pam_vendor.so debug\n' "$MA" >"$R/etc/pam.d/vpn"
	out=$(maint prerm remove 2>&1)
	expect_eq "prerm remove with pam_vendor.so in /etc/pam.d exits 1" 1 $?
	expect_match "prerm remove says why, in one sentence" '^libpam-vendor is not removed: these PAM lines still load pam_vendor\.so' "$out"
	expect_match "prerm remove names /etc/pam.d/sshd line 2" "^  $R/etc/pam.d/sshd:2:auth \[success=done default=die\] pam_vendor.so\$" \
		"$(printf '%s\n' "$out" | grep 'sshd:')"
	expect_match "prerm remove names the other file's line (full module path)" "^  $R/etc/pam.d/vpn:1:auth required /lib/$MA/security/pam_vendor.so debug\$" \
		"$(printf '%s\n' "$out" | grep 'vpn:')"
	expect_eq "prerm remove lists the two live lines, not the commented one" 3 "$(printf '%s\n' "$out" | wc -l)"
	for arg in upgrade deconfigure failed-upgrade; do
		maint prerm "$arg" 0.1.0 >/dev/null 2>&1
		expect_eq "prerm $arg with pam_vendor.so in /etc/pam.d exits 0 (never refused)" 0 $?
	done
	sed -i 's/^auth/#auth/' "$R/etc/pam.d/sshd"
	rm "$R/etc/pam.d/vpn"
	maint prerm remove >/dev/null 2>&1
	expect_eq "prerm remove once the lines are commented out exits 0" 0 $?
	maint prerm frobnicate >/dev/null 2>&1
	expect_eq "prerm with an unknown argument exits 1" 1 $?
fi

# --- lintian ---------------------------------------------------------------------------------

if command -v lintian >/dev/null; then
	# make deb's own run: everything it printed after "lintian FILE:" up to the .deb's path.
	lint=$(sed -n '/^lintian .*\.deb:$/,$p' "$W/pkg/build.log" | sed '1d;$d')
	printf '%s\n' "$lint" | grep -v '^$' | sed 's/^/# lintian: /'
	check "make deb ran lintian on the package" grep -q "^lintian .*${PKG}_${VERSION}_${ARCH}.deb:\$" "$W/pkg/build.log"
	expect_no_match "lintian reports no error (E:) and no warning (W:)" '^[EW]:' "$lint"
else
	not_ok "lintian is installed (mk/deps.sh deb installs it)"
fi

# --- make install DESTDIR=... ----------------------------------------------------------------

# In the package build's tree (its objects are reused: nothing compiled differs, only where
# files go), with the Makefile's default directories: PAMDIR is libpam's libdir from
# pkg-config plus /security, and SYSTEMDUNITDIR systemd's unit directory, which on Debian 12
# are the package's /lib/<multiarch>/security and /lib/systemd/system.
libpam_dir=$(pkg-config --variable=libdir pam 2>/dev/null)/security
expect_eq "libpam's security dir is /lib/<multiarch>/security here (the package's)" "/lib/$MA/security" "$libpam_dir"
mkdir -p "$W/inst"
make -j"$(nproc)" -C "$W/pkg/src" install DESTDIR="$W/inst/root" PV_SKIP_DEPS=1 PREFIX=/usr >"$W/inst/make.log" 2>&1
rc=$?
expect_eq "make install DESTDIR=... exits 0" 0 "$rc"
[ "$rc" -ne 0 ] && comment_tail "$W/inst/make.log"
installed=$(cd "$W/inst/root" 2>/dev/null && find . -type f | sort)
# The package has in addition the conffile (make install leaves /etc to the package or the
# admin), Debian's own doc files and its lintian override; dh_compress gzips the man pages
# and the larger docs.
from_pkg=$(printf '%s\n' "$paths" | grep -v -x -e ./etc/pam_vendor/pam_vendor.conf \
	-e "$DOC/changelog.gz" -e "$DOC/copyright" -e "$DOC/README.Debian.gz" \
	-e ./usr/share/lintian/overrides/$PKG | sed 's|\.gz$||' | sort)
expect_eq "make install DESTDIR=... installs the same files as the package" "$from_pkg" "$installed"
expect_eq "make install: the module is 0644" 644 "$(stat -c %a "$W/inst/root/lib/$MA/security/pam_vendor.so" 2>&1)"
expect_eq "make install: otpctl is 0755" 755 "$(stat -c %a "$W/inst/root/usr/sbin/otpctl" 2>&1)"
check "make install leaves /etc and /var alone" test ! -e "$W/inst/root/etc" -a ! -e "$W/inst/root/var"

# --- the package installed, refused, removed and purged, in an isolated root -----------------

# isolated_root: run tests/pkg/inroot.sh in a throw-away copy of this system (see the top of
# this file); its results land in $W/in/out. Exit 99: the isolated root could not be made.
isolated_root() {
	cp "$DEB" "$W/in/pkg.deb"
	cp "$PV_ROOT/tests/pkg/inroot.sh" "$PV_ROOT/tests/pkg/paths_named.py" "$W/in/"
	unshare -m --propagation private bash -c '
		W=$1 MA=$2 M=$1/ov/root
		mount -t tmpfs tmpfs "$W/ov" && mkdir "$W/ov/upper" "$W/ov/work" "$M" &&
			mount -t overlay overlay -o "lowerdir=/,upperdir=$W/ov/upper,workdir=$W/ov/work" "$M" ||
			exit 99
		for d in proc dev sys; do mount --rbind "/$d" "$M/$d" || exit 99; done
		mount -t tmpfs tmpfs "$M/run" && mkdir -p "$M/pvtest" && mount --bind "$W/in" "$M/pvtest" ||
			exit 99
		exec chroot "$M" env -i MA="$MA" bash /pvtest/inroot.sh' sh "$W" "$MA"
}
o() { cat "$W/in/out/$1" 2>/dev/null; } # one result of inroot.sh

if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null || ! grep -qw overlay /proc/filesystems; then
	skip "the package in an isolated root" "needs root, mount namespaces and overlayfs"
else
	mkdir -p "$W/ov" "$W/in/out"
	host_before=$(dpkg-query -W -f='${db:Status-Abbrev}' $PKG 2>/dev/null)
	isolated_root >"$W/in/run.log" 2>&1
	rc=$?
	expect_eq "the isolated root was made and inroot.sh ran" 0 "$rc"
	[ "$rc" -ne 0 ] && comment_tail "$W/in/run.log"
	expect_eq "the host's own dpkg database is untouched" "$host_before" \
		"$(dpkg-query -W -f='${db:Status-Abbrev}' $PKG 2>/dev/null)"

	# Installed: the module where libpam-modules has its own, the timer not enabled.
	expect_eq "dpkg -i exits 0" 0 "$(o install.rc)"
	expect_no_match "dpkg -i prints no warning" '[Ww]arning' "$(o install.log)"
	expect_eq "installed (ii)" "ii " "$(o status_installed)"
	expect_match "dpkg knows the module as /lib/<multiarch>/security/pam_vendor.so" "^/lib/$MA/security/pam_vendor\.so\$" "$(o files.list)"
	expect_eq "the expire timer is not enabled (no link under /etc/systemd)" "" "$(o enabled.list)"
	expect_eq "otpctl init works on the installed package" 0 "$(o init.rc)"
	expect_eq "otpctl vendor add works" 0 "$(o vendor.rc)"
	check "the vendor's record is in /var/lib/pam_vendor" grep -q . "$W/in/out/store.list"

	# Every path the shipped docs and doctor's fixes name.
	docs=$(o docpaths.txt)
	check "at least 30 paths named in the docs are checked" test "$(printf '%s\n' "$docs" | grep -c '^ok ')" -ge 30
	expect_eq "every path named in /usr/share/doc/libpam-vendor and the man pages exists" "" \
		"$(printf '%s\n' "$docs" | grep -v -e '^ok ' -e '^skip ')"
	printf '%s\n' "$docs" | grep '^skip ' | sed 's/^/# /'
	check "otpctl doctor --json ran (findings or none)" grep -q '"clean"' "$W/in/out/doctor.log"
	expect_eq "every path named in otpctl doctor's fixes exists (no placeholder, no source-tree path)" "" \
		"$(o doctorpaths.txt | grep -v -e '^ok ' -e '^skip ')"

	# An upgrade (the same version again) with the module in a stack is never refused.
	expect_eq "dpkg -i again with pam_vendor.so in /etc/pam.d exits 0 (upgrade)" "0 ii " \
		"$(o reinstall.rc) $(o status_reinstalled)"

	# apt-get remove while /etc/pam.d names the module: refused, each line named.
	refused=$(o remove_refused.log | tr -d '\r') # apt runs dpkg on a pty: CR LF
	check "apt-get remove with pam_vendor.so in /etc/pam.d fails" test "$(o remove_refused.rc)" != 0
	expect_eq "the package is still installed (ii)" "ii " "$(o status_refused)"
	expect_match "the refusal says why" 'libpam-vendor is not removed: these PAM lines still load pam_vendor\.so' "$refused"
	while IFS=: read -r n text; do
		expect_match "the refusal names /etc/pam.d/sshd:$n" "^  /etc/pam\.d/sshd:$n:" \
			"$(printf '%s\n' "$refused" | grep -F "  /etc/pam.d/sshd:$n:$text")"
	done < <(grep -n '^[^#]*pam_vendor\.so' "$PV_ROOT/examples/pam.d/sshd")
	expect_match "the refusal names the second file" '^  /etc/pam\.d/pvpkg-vpn:2:account required pam_vendor\.so$' \
		"$(printf '%s\n' "$refused" | grep pvpkg-vpn: | tail -n 1)"
	expect_no_match "the refusal does not list the commented-out line" 'commented out' "$refused"
	expect_match "the module is still there after the refusal" "^present /lib/$MA/security/pam_vendor\.so" "$(o after_refusal)"

	# The lines commented out: removed; key, configuration, store and audit log kept.
	expect_eq "apt-get remove once the lines are gone exits 0" 0 "$(o remove.rc)"
	expect_no_match "apt-get remove prints no warning" '[Ww]arning' "$(o remove.log)"
	expect_eq "removed, configuration kept (rc)" "rc " "$(o status_removed)"
	expect_eq "remove keeps the key, the configuration, the store and the audit log, removes the programs" \
		"present /etc/pam_vendor/master.key
present /etc/pam_vendor/pam_vendor.conf
present /var/lib/pam_vendor
present /var/log/pam_vendor/audit.log
absent /lib/$MA/security/pam_vendor.so
absent /usr/sbin/otpctl
absent /lib/systemd/system/pam-vendor-expire.timer" "$(o after_remove)"
	expect_eq "remove keeps the vendor record" "$(o store.list)" "$(o store_after_remove.list)"

	# Purged: nothing of ours left, and dpkg had nothing to warn about.
	expect_eq "dpkg --purge exits 0" 0 "$(o purge.rc)"
	expect_no_match "dpkg --purge prints no warning (no directory left not empty)" '[Ww]arning' "$(o purge.log)"
	expect_eq "purged (no longer known to dpkg)" "" "$(o status_purged)"
	expect_eq "purge leaves no file or directory of ours" "$(o before.list)" "$(o after.list)"
fi

# --- make deb --------------------------------------------------------------------------------

# The run at the top was a `make deb`: what it left where the admin looks.
expect_eq "make deb prints the path of the .deb under build/deb/" \
	"$W/deb/src/build/deb/${PKG}_${VERSION}_${ARCH}.deb" "$(tail -n 1 "$W/pkg/build.log")"
check "that .deb exists" test -f "$W/deb/src/build/deb/${PKG}_${VERSION}_${ARCH}.deb"
check "... and is the one checked above" cmp -s "$DEB" "$W/deb/src/build/deb/${PKG}_${VERSION}_${ARCH}.deb"

finish

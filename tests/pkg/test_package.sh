#!/bin/bash
# test_package.sh — the Debian package (debian/) and `make install DESTDIR=...`:
# `dpkg-buildpackage -us -uc -b` succeeds; the .deb holds the module in the multiarch security
# directory, otpctl, both man pages, the bash completion, the examples, the admin guides and
# the configuration as a conffile, and nothing in /etc/pam.d or /var; the maintainer scripts
# are valid sh; postinst creates /var/lib/pam_vendor (0700) and /var/log/pam_vendor (0750);
# postrm keeps them, the key and /run/pam_vendor on `remove` and deletes them on `purge`;
# lintian reports no error (its other lines are printed as comments); `make install
# DESTDIR=...` installs the same files as the package; `make deb` works.
#
# Everything is built from copies of the working tree in a temp dir, never in the tree itself:
# dpkg-buildpackage starts with `make clean`, and build/normal belongs to `make check`.
# The maintainer scripts run against a fake root (DPKG_ROOT), inside a private mount namespace
# with tmpfs over /var/lib, /var/log and /run when one can be made, so the real ones are never
# used.
# Skipped in the sanitizer run (PV_VARIANT=san): the package is built without sanitizers, and
# the normal `make check` already builds and checks it once.
set -u
source "$(dirname "$0")/../lib.sh"

skip() { echo "ok - $1 # SKIP $2"; }

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

copy_tree "$W/pkg/src"
(cd "$W/pkg/src" && dpkg-buildpackage -us -uc -b) >"$W/pkg/build.log" 2>&1
rc=$?
expect_eq "dpkg-buildpackage -us -uc -b exits 0" 0 "$rc"
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
has_file "the module is in the multiarch security dir" '-rw-r--r--' "./usr/lib/$MA/security/pam_vendor.so"
has_file "otpctl is in /usr/sbin, executable" '-rwxr-xr-x' ./usr/sbin/otpctl
has_file "man page otpctl(1)" '-rw-r--r--' ./usr/share/man/man1/otpctl.1.gz
has_file "man page pam_vendor(8)" '-rw-r--r--' ./usr/share/man/man8/pam_vendor.8.gz
has_file "the bash completion" '-rw-r--r--' ./usr/share/bash-completion/completions/otpctl
has_file "the configuration in /etc/pam_vendor" '-rw-r--r--' ./etc/pam_vendor/pam_vendor.conf
for ex in pam_vendor.conf pam.d/sshd sshd_config.d/vendors.conf openvpn/server.conf \
	logrotate/pam_vendor rsyslog/60-pam_vendor.conf bash-completion/otpctl \
	systemd/pam-vendor-expire.service systemd/pam-vendor-expire.timer; do
	has_file "example $ex" '-rw-r--r--' "$DOC/examples/$ex"
done
has_file "the admin guide" '-rw-r--r--' "$DOC/admin-guide.md.gz"
has_file "the OpenVPN guide" '-rw-r--r--' "$DOC/openvpn.md.gz"
has_file "README.Debian" '-rw-r--r--' "$DOC/README.Debian"
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
check "postinst and postrm are there" test -x "$W/ctrl/postinst" -a -x "$W/ctrl/postrm"

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
			exec sh "$@"' sh "$W/ctrl/$script" "$@"
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
fi

# --- lintian ---------------------------------------------------------------------------------

if command -v lintian >/dev/null; then
	lint=$(lintian --tag-display-limit 0 "$DEB" 2>&1)
	printf '%s\n' "$lint" | grep -v '^$' | sed 's/^/# lintian: /'
	expect_no_match "lintian reports no error (E:)" '^E:' "$lint"
else
	not_ok "lintian is installed (mk/deps.sh deb installs it)"
fi

# --- make install DESTDIR=... ----------------------------------------------------------------

# Its own copy and build dir, with the PAMDIR debian/rules passes. The Makefile's default
# PAMDIR is libpam's libdir from pkg-config, /lib/<multiarch>/security on Debian 12: the same
# directory as /usr/lib/<multiarch>/security on a merged /usr, which Debian 12 requires.
libpam_dir=$(pkg-config --variable=libdir pam 2>/dev/null)/security
expect_eq "libpam's security dir ($libpam_dir) is the package's on this system (merged /usr)" \
	"$(readlink -f "/usr/lib/$MA/security")" "$(readlink -f "$libpam_dir")"
copy_tree "$W/inst/src"
make -C "$W/inst/src" install DESTDIR="$W/inst/root" PV_SKIP_DEPS=1 PREFIX=/usr \
	PAMDIR="/usr/lib/$MA/security" >"$W/inst/make.log" 2>&1
rc=$?
expect_eq "make install DESTDIR=... exits 0" 0 "$rc"
[ "$rc" -ne 0 ] && comment_tail "$W/inst/make.log"
installed=$(cd "$W/inst/root" 2>/dev/null && find . -type f | sort)
# The package has in addition the conffile (make install leaves /etc to the package or the
# admin) and Debian's own doc files; dh_compress gzips the man pages and the larger docs.
from_pkg=$(printf '%s\n' "$paths" | grep -v -x -e ./etc/pam_vendor/pam_vendor.conf \
	-e "$DOC/changelog.gz" -e "$DOC/copyright" -e "$DOC/README.Debian" | sed 's|\.gz$||' | sort)
expect_eq "make install DESTDIR=... installs the same files as the package" "$from_pkg" "$installed"
expect_eq "make install: the module is 0644" 644 "$(stat -c %a "$W/inst/root/usr/lib/$MA/security/pam_vendor.so" 2>&1)"
expect_eq "make install: otpctl is 0755" 755 "$(stat -c %a "$W/inst/root/usr/sbin/otpctl" 2>&1)"
check "make install leaves /etc and /var alone" test ! -e "$W/inst/root/etc" -a ! -e "$W/inst/root/var"

# --- make deb --------------------------------------------------------------------------------

if command -v lintian >/dev/null; then
	make -C "$W/inst/src" --no-print-directory deb PV_SKIP_DEPS=1 >"$W/inst/deb.log" 2>&1
	rc=$?
	expect_eq "make deb exits 0" 0 "$rc"
	[ "$rc" -ne 0 ] && comment_tail "$W/inst/deb.log"
	expect_eq "make deb prints the path of the .deb under build/deb/" \
		"$W/inst/src/build/deb/${PKG}_${VERSION}_${ARCH}.deb" "$(tail -n 1 "$W/inst/deb.log")"
	check "that .deb exists" test -f "$W/inst/src/build/deb/${PKG}_${VERSION}_${ARCH}.deb"
fi

finish

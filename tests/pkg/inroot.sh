#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# inroot.sh — the package's life on a system, run by tests/pkg/test_package.sh as root INSIDE
# its isolated root (an overlay over / in a private mount namespace: nothing here reaches the
# host). /pvtest holds pkg.deb, paths_named.py and out/, where each step leaves NAME.log
# (output) and NAME.rc (exit status), and each state probe a file; test_package.sh asserts on
# them afterwards. Steps: install; otpctl init and a vendor; the paths the docs and doctor
# name; the example PAM stack in /etc/pam.d/sshd plus one more file; reinstall (an upgrade);
# apt-get remove (refused); the lines commented out; apt-get remove; dpkg --purge.
# Environment: MA (the multiarch triplet).
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
O=/pvtest/out
DEB=/pvtest/pkg.deb

step() { # NAME COMMAND...
	local name=$1
	shift
	"$@" >"$O/$name.log" 2>&1
	echo $? >"$O/$name.rc"
}
# Every file or directory whose name is ours, outside the test's own /pvtest.
ours() {
	find /etc /var /usr /opt -xdev \( -iname '*pam_vendor*' -o -iname '*pam-vendor*' \) \
		2>/dev/null | sort
}
status() { dpkg-query -W -f='${db:Status-Abbrev}' libpam-vendor 2>/dev/null; }
probe() { # FILE PATH...: "present PATH" or "absent PATH" for each
	local out=$1 p
	shift
	for p in "$@"; do
		if [ -e "$p" ]; then echo "present $p"; else echo "absent $p"; fi
	done >"$O/$out"
}

KEPT=(/etc/pam_vendor/master.key /etc/pam_vendor/pam_vendor.conf /var/lib/pam_vendor
	/var/log/pam_vendor/audit.log)
GONE=("/lib/$MA/security/pam_vendor.so" /usr/sbin/otpctl /lib/systemd/system/pam-vendor-expire.timer)

ours >"$O/before.list"

# Installed, as an admin would.
step install dpkg -i "$DEB"
status >"$O/status_installed"
dpkg-query -L libpam-vendor >"$O/files.list" 2>&1
find /etc/systemd -name 'pam-vendor-expire.*' >"$O/enabled.list" 2>/dev/null
step init otpctl init
step vendor otpctl vendor add pvpkg --ip 192.0.2.10
find /var/lib/pam_vendor -type f >"$O/store.list"

# What the docs and doctor name.
python3 /pvtest/paths_named.py docs "$MA" >"$O/docpaths.txt" 2>&1
step doctor otpctl doctor --json
python3 /pvtest/paths_named.py doctor "$MA" <"$O/doctor.log" >"$O/doctorpaths.txt" 2>&1

# The example stack, one commented-out line, and a second service.
install -m 0644 /usr/share/doc/libpam-vendor/examples/pam.d/sshd /etc/pam.d/sshd
echo '#auth required pam_vendor.so (commented out: libpam does not load it)' >>/etc/pam.d/sshd
printf 'auth required pam_vendor.so\naccount required pam_vendor.so\n' >/etc/pam.d/pvpkg-vpn

step reinstall dpkg -i "$DEB"
status >"$O/status_reinstalled"
step remove_refused apt-get remove -y libpam-vendor
status >"$O/status_refused"
probe after_refusal "${GONE[@]}"

sed -i 's/^\([^#]*pam_vendor\.so\)/# \1/' /etc/pam.d/sshd
rm /etc/pam.d/pvpkg-vpn
step remove apt-get remove -y libpam-vendor
status >"$O/status_removed"
probe after_remove "${KEPT[@]}" "${GONE[@]}"
find /var/lib/pam_vendor -type f >"$O/store_after_remove.list"

step purge dpkg --purge libpam-vendor
status >"$O/status_purged"
ours >"$O/after.list"
exit 0

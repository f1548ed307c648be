#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# deps.sh — make sure the Debian 12 packages a target needs are installed.
# Usage: mk/deps.sh build|test|demo|fuzz|lint|bench|deb
# As root: installs what is missing with apt-get. Otherwise: prints the exact command, fails.
# PV_SKIP_DEPS=1: do nothing. debian/rules sets it: inside a package build the Build-Depends
# already hold what the build needs, and apt-get must not run there.
set -eu
[ "${PV_SKIP_DEPS:-0}" = 1 ] && exit 0

build="gcc make pkg-config libpam0g-dev libsodium-dev liboath-dev libqrencode-dev zlib1g-dev libpq-dev \
libseccomp-dev \
openvpn libssl-dev"
test="$build libcmocka-dev faketime python3 valgrind openssl zbar-tools imagemagick librsvg2-bin \
openssh-server openssh-client openvpn iproute2 util-linux procps psmisc gzip \
logrotate rsyslog bash-completion man-db strace cron at \
dpkg-dev debhelper fakeroot lintian systemd sudo postgresql"
demo="$build openssh-server openssh-client iproute2 util-linux procps"
fuzz="$build clang libclang-rt-14-dev"
lint="$build cppcheck clang-tidy clang-format"
bench="$build libpam-oath oathtool libpam-google-authenticator strace python3 postgresql pgbouncer"
# `make deb` and tests/pkg/test_package.sh (debian/control's Build-Depends are the build set).
deb="$build dpkg-dev debhelper fakeroot lintian"

case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
demo) want=$demo ;;
fuzz) want=$fuzz ;;
lint) want=$lint ;;
bench) want=$bench ;;
deb) want=$deb ;;
*) echo "deps.sh: unknown set '$1' (build, test, demo, fuzz, lint, bench, deb)" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "Missing Debian packages. Run as root:" >&2
	echo "  apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
echo "Installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty package lists; refresh them once when an install fails.
# shellcheck disable=SC2086
if ! apt-get install -y --no-install-recommends $missing; then
	apt-get update
	apt-get install -y --no-install-recommends $missing
fi

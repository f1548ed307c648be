# SPDX-License-Identifier: BSD-3-Clause
# deb.mk — `make deb`: the Debian package libpam-vendor (debian/), built with
# `dpkg-buildpackage -us -uc -b` and checked with lintian. Included by the Makefile.
#
# The package is built from a copy of this tree in a temporary directory, never in the tree
# itself: dpkg-buildpackage starts with `debian/rules clean` (`make clean`, which removes
# build/), and build/normal and build/san belong to `make` and `make check`. The copy leaves
# out build/, .git and objects. The .deb (with its .buildinfo, .changes and the -dbgsym
# package) lands in build/deb/; the last line printed is the path of the .deb. It compiles
# with one job per CPU unless DEB_BUILD_OPTIONS says otherwise.
# lintian fails the target on an error (E:); its warnings are shown, not fatal.
# PV_DEB_STAGE=DIR (an empty or new directory) builds there and keeps it (the source copy in
# DIR/src, built, and the .deb beside it): tests/pkg/test_package.sh checks that tree.

DEB_OUT := build/deb

deb:
	@mk/deps.sh deb
	@set -e; \
	if [ -n "$(PV_DEB_STAGE)" ]; then stage="$(PV_DEB_STAGE)"; mkdir -p "$$stage"; \
	else stage=$$(mktemp -d "$${TMPDIR:-/tmp}/pvdeb.XXXXXX"); trap 'rm -rf "$$stage"' EXIT; fi; \
	mkdir "$$stage/src"; \
	tar -C . --exclude=./build --exclude=./.git --exclude='*.o' --exclude='*.a' --exclude='*.so' \
		--exclude=./otpctl/otpctl -cf - . | tar -C "$$stage/src" -xf -; \
	(cd "$$stage/src" && DEB_BUILD_OPTIONS="$${DEB_BUILD_OPTIONS:-parallel=$$(nproc)}" \
		dpkg-buildpackage -us -uc -b); \
	rm -rf $(DEB_OUT); mkdir -p $(DEB_OUT); \
	cp "$$stage"/*.deb "$$stage"/*.buildinfo "$$stage"/*.changes $(DEB_OUT)/; \
	deb=$$(ls $(DEB_OUT)/libpam-vendor_*.deb); \
	echo "lintian $$deb:"; \
	lintian --tag-display-limit 0 "$$deb" | tee "$$stage/lintian.out"; \
	if grep -q '^E:' "$$stage/lintian.out"; then echo "lintian reports errors" >&2; exit 1; fi; \
	echo "$(CURDIR)/$$deb"

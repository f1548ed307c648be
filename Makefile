# SPDX-License-Identifier: BSD-3-Clause
# pam_vendor + otpctl — plain make. `make` builds, `make check` runs every test,
# `make check SANITIZE=1` does both under AddressSanitizer + UndefinedBehaviorSanitizer.

CC       ?= gcc
PKG      := libsodium liboath libqrencode pam zlib
PREFIX   ?= /usr
DESTDIR  ?=
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
# The same places the Debian package (debian/) uses, so `make install` and the .deb agree.
DOCDIR   ?= $(PREFIX)/share/doc/libpam-vendor
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# The security directory of this system's libpam: pkg-config gives libpam's own directory,
# /lib/<multiarch> on Debian 12, where its PAM packages (libpam-modules, libpam-oath) and
# ours put their modules; /usr/lib/<multiarch>/security would be the same directory on a
# merged /usr, but not in dpkg's database.
PAMDIR   ?= $(shell pkg-config --variable=libdir pam 2>/dev/null || echo /lib/$$(gcc -print-multiarch))/security
# systemd's unit directory (/lib/systemd/system on Debian 12): the expire timer and service,
# installed disabled (docs/admin-guide.md says how to enable them).
SYSTEMDUNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
# OpenVPN's plugin directory (Debian's openvpn package: /usr/lib/<multiarch>/openvpn/plugins).
OVPNPLUGINDIR ?= $(PREFIX)/lib/$(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/openvpn/plugins

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
HARDEN   := -fstack-protector-strong -fPIC -fcf-protection
ifeq ($(SANITIZE),1)
VARIANT  := san
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SANLD    := -fsanitize=address,undefined
else
VARIANT  := normal
OPT      := -O2 -g -D_FORTIFY_SOURCE=2
SANLD    :=
endif
# -MMD -MP: every object depends on the headers it really includes (build/*/**/*.d).
# PV_DOCDIR: doctor's fixes name the examples where `make install` (and the package) put them.
CFLAGS_ALL  = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(OPT) -MMD -MP -Icore \
              -DPV_DOCDIR='"$(DOCDIR)"' $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = -Wl,-z,relro,-z,now -Wl,--as-needed $(SANLD) $(LDFLAGS)
# libpq: its header only; the library is loaded at run time by the PostgreSQL backend
# (core/pgconn.c says why), so neither the module nor otpctl links it.
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKG) libpq 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKG) 2>/dev/null)

B        := build/$(VARIANT)
CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o)
CORE_LIB := $(B)/libpvcore.a
MOD_SRC  := $(wildcard pam_vendor/*.c)
MOD_OBJ  := $(MOD_SRC:%.c=$(B)/%.o)
CLI_SRC  := $(wildcard otpctl/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)
VPN_SRC  := $(wildcard openvpn_plugin/*.c)
VPN_OBJ  := $(VPN_SRC:%.c=$(B)/%.o)
KEYSCMD_SRC := $(wildcard keys_command/*.c)
KEYSCMD_OBJ := $(KEYSCMD_SRC:%.c=$(B)/%.o)
# sshd's AuthorizedKeysCommand for vendors (docs/design.md, "Keys only inside the window").
KEYSCMD  := $(B)/bin/pam_vendor-keys
REC_SRC  := $(wildcard recorder/*.c)
REC_OBJ  := $(REC_SRC:%.c=$(B)/%.o)
RECORDER := $(B)/bin/pv-record
# The vendors' login shell (set-uid root): core/config.h's default `recorder`.
LIBEXECDIR ?= $(PREFIX)/libexec/pam_vendor
MODULE   := $(B)/bin/pam_vendor.so
VPNPLUGIN := $(B)/bin/openvpn-plugin-pam-vendor.so
OTPCTL   := $(B)/bin/otpctl
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
PAMDRIVE := $(B)/tests/pamdrive
VPNDRIVE := $(B)/tests/vpndrive
STIDRIVE := $(B)/tests/stidrive
ESCDRIVE := $(B)/tests/escapedrive

.PHONY: all deps test-deps check unit clean install format format-check demo lint fuzz fuzz-replay bench deb

ifeq ($(VARIANT),normal)
all: deps pam_vendor/pam_vendor.so otpctl/otpctl $(VPNPLUGIN) $(KEYSCMD) $(RECORDER)
pam_vendor/pam_vendor.so: $(MODULE)
	cp $< $@
otpctl/otpctl: $(OTPCTL)
	cp $< $@
else
all: deps $(MODULE) $(OTPCTL) $(VPNPLUGIN) $(KEYSCMD) $(RECORDER)
endif

# deps: mk/deps.sh runs apt-get install for missing Debian packages (as root), else prints the command.
deps:
	@mk/deps.sh build

test-deps:
	@mk/deps.sh test

$(B)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $^

# The module exports only pam_sm_* (version script + hidden visibility).
$(B)/pam_vendor/%.o: pam_vendor/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fvisibility=hidden -c $< -o $@

$(MODULE): $(MOD_OBJ) $(CORE_LIB) pam_vendor/pam_vendor.map
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(MOD_OBJ) $(CORE_LIB) $(LDFLAGS_ALL) \
		-Wl,--version-script=pam_vendor/pam_vendor.map -Wl,-z,defs $(PKG_LIBS)

# The OpenVPN plugin: built like the module, exporting only OpenVPN's plugin entry points.
$(B)/openvpn_plugin/%.o: openvpn_plugin/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fvisibility=hidden -c $< -o $@

$(VPNPLUGIN): $(VPN_OBJ) $(CORE_LIB) openvpn_plugin/openvpn_plugin.map
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(VPN_OBJ) $(CORE_LIB) $(LDFLAGS_ALL) \
		-Wl,--version-script=openvpn_plugin/openvpn_plugin.map -Wl,-z,defs $(PKG_LIBS)

$(OTPCTL): $(CLI_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) -pie -o $@ $(CLI_OBJ) $(CORE_LIB) $(LDFLAGS_ALL) $(PKG_LIBS)

$(KEYSCMD): $(KEYSCMD_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) -pie -o $@ $(KEYSCMD_OBJ) $(CORE_LIB) $(LDFLAGS_ALL) $(PKG_LIBS)
# pv-record: a position-independent executable, linked with the core like otpctl, and alone
# with libseccomp (its filter against terminal input injection; recorder/pv_record.c).
SECCOMP_CFLAGS = $(shell pkg-config --cflags libseccomp 2>/dev/null)
SECCOMP_LIBS   = $(shell pkg-config --libs libseccomp 2>/dev/null)
$(REC_OBJ): PKG_CFLAGS += $(SECCOMP_CFLAGS)
$(RECORDER): $(REC_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) -pie -o $@ $(REC_OBJ) $(CORE_LIB) $(LDFLAGS_ALL) $(PKG_LIBS) $(SECCOMP_LIBS)

$(B)/tests/test_%: tests/unit/test_%.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(CORE_LIB) $(LDFLAGS_ALL) $(PKG_LIBS) -lcmocka

# The PAM application the module tests drive (real libpam, private confdir).
$(PAMDRIVE): tests/pam/pamdrive.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL) -lpam

# Drives the OpenVPN plugin through its entry points, thousands of connects in seconds.
$(VPNDRIVE): tests/e2e/vpndrive.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL)

# Programs the tests run as a vendor (not ours to check): never sanitized, as a vendor's are
# not (1500 ASan processes of escapedrive's chain would not fit this VM's time).
VENDOR_CFLAGS  = $(filter-out -fsanitize% -fno-sanitize%,$(CFLAGS_ALL))
VENDOR_LDFLAGS = $(filter-out -fsanitize%,$(LDFLAGS_ALL))

# TIOCSTI through i386's system-call entry, as a 32-bit program would (test_recording.sh).
$(STIDRIVE): tests/e2e/stidrive.c
	@mkdir -p $(dir $@)
	$(CC) $(VENDOR_CFLAGS) -o $@ $< $(VENDOR_LDFLAGS)

# Processes that would outlive a recorded session: a zombie leader, a deep chain
# (test_recording.sh).
$(ESCDRIVE): tests/e2e/escapedrive.c
	@mkdir -p $(dir $@)
	$(CC) $(VENDOR_CFLAGS) -pthread -o $@ $< $(VENDOR_LDFLAGS)

unit: test-deps all $(UNIT_BIN)

check: test-deps all $(UNIT_BIN) $(PAMDRIVE) $(VPNDRIVE) $(STIDRIVE) $(ESCDRIVE)
	@$(MAKE) --no-print-directory fuzz-replay
	@PV_BUILD=$(B) PV_VARIANT=$(VARIANT) tests/run.sh

demo: all
	@mk/deps.sh demo
	@OTPCTL=$(CURDIR)/$(OTPCTL) PV_MODULE=$(CURDIR)/$(MODULE) bash examples/demo.sh

# What the package libpam-vendor ships under /usr (debian/rules calls this target). Not
# /etc/pam_vendor/pam_vendor.conf nor /var/lib/pam_vendor and /var/log/pam_vendor: on a live
# system `make install` must not overwrite an admin's configuration, so the package (a
# conffile, postinst) or the admin (docs/admin-guide.md) creates those.
# Examples: all of examples/ but demo.sh, which needs this source tree (tests/lib.sh), so
# that examples/X in the tree is $(DOCDIR)/examples/X once installed.
# Docs: the admin's guides, which the examples, the man pages and README.Debian point to.
# The systemd units are also installed as units (not enabled: systemctl enable does that).
EXAMPLES := $(filter-out examples/demo.sh,$(shell find examples -type f 2>/dev/null | sort))
ADMINDOCS := docs/admin-guide.md docs/openvpn.md docs/doctor.md
UNITS := examples/systemd/pam-vendor-expire.service examples/systemd/pam-vendor-expire.timer
install: all
	install -d $(DESTDIR)$(PAMDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/pam_vendor.so
	install -d $(DESTDIR)$(OVPNPLUGINDIR)
	install -m 0644 $(VPNPLUGIN) $(DESTDIR)$(OVPNPLUGINDIR)/openvpn-plugin-pam-vendor.so
	install -m 0755 $(OTPCTL) $(DESTDIR)$(SBINDIR)/otpctl
	install -m 0755 $(KEYSCMD) $(DESTDIR)$(SBINDIR)/pam_vendor-keys
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 4755 $(RECORDER) $(DESTDIR)$(LIBEXECDIR)/pv-record
	install -m 0644 docs/otpctl.8 $(DESTDIR)$(MANDIR)/man8/otpctl.8
	install -m 0644 docs/pam_vendor.8 $(DESTDIR)$(MANDIR)/man8/pam_vendor.8
	install -m 0644 docs/pam_vendor-keys.8 $(DESTDIR)$(MANDIR)/man8/pam_vendor-keys.8
	install -m 0644 docs/pam_vendor.conf.5 $(DESTDIR)$(MANDIR)/man5/pam_vendor.conf.5
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0644 $(UNITS) $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 examples/bash-completion/otpctl $(DESTDIR)$(BASHCOMPDIR)/otpctl
	for f in $(EXAMPLES); do \
		install -D -m 0644 $$f $(DESTDIR)$(DOCDIR)/$$f || exit 1; \
	done
	install -m 0644 $(ADMINDOCS) $(DESTDIR)$(DOCDIR)/

# Static checks (docs/checks.md): cppcheck, clang-tidy (.clang-tidy), and the style.
LINT_SRC := core/*.c pam_vendor/*.c otpctl/*.c openvpn_plugin/*.c keys_command/*.c recorder/*.c
lint: deps
	@mk/deps.sh lint
	cppcheck --enable=warning,performance,portability --std=c11 --inline-suppr \
		--error-exitcode=1 -q -D_GNU_SOURCE -Icore core pam_vendor otpctl openvpn_plugin keys_command recorder
	clang-tidy -quiet $(LINT_SRC) -- -std=c11 -D_GNU_SOURCE -Icore $(PKG_CFLAGS)
	$(MAKE) --no-print-directory format-check

# Long runs, not part of `make check`: fuzzing (docs/fuzzing.md) and benchmarks
# (docs/performance.md).
FUZZ_SECONDS ?= 60
fuzz: all
	@mk/deps.sh fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh fuzz

# Every fuzz seed and regression input once, under ASan/UBSan (seconds; part of `check`).
fuzz-replay:
	@mk/deps.sh fuzz
	tests/fuzz/run.sh replay

bench: all
	@mk/deps.sh bench
	tests/bench/run.sh

format:
	clang-format -i core/*.[ch] pam_vendor/*.[ch] otpctl/*.[ch] openvpn_plugin/*.[ch] keys_command/*.c recorder/*.c tests/unit/*.[ch] tests/pam/*.c tests/e2e/*.c

format-check:
	clang-format --dry-run --Werror core/*.[ch] pam_vendor/*.[ch] otpctl/*.[ch] openvpn_plugin/*.[ch] keys_command/*.c recorder/*.c tests/unit/*.[ch] tests/pam/*.c tests/e2e/*.c

clean:
	rm -rf build pam_vendor/pam_vendor.so otpctl/otpctl

# `make deb`: the Debian package, built from a copy of this tree under build/deb/.
include mk/deb.mk

# Header dependencies recorded by -MMD (after every rule: the default goal stays `all`).
-include $(shell find build -name '*.d' 2>/dev/null)

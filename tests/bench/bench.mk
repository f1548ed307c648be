# SPDX-License-Identifier: BSD-3-Clause
# bench.mk — the benchmark harness, built with the project's own flags and core library.
# Used as `make -f Makefile -f tests/bench/bench.mk bench-build` by tests/bench/run.sh, so
# that CFLAGS_ALL, LDFLAGS_ALL, PKG_LIBS and CORE_LIB are exactly the Makefile's.
PVBENCH := $(B)/tests/pvbench

.PHONY: bench-build
bench-build: all $(PVBENCH)

$(PVBENCH): tests/bench/pvbench.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(CORE_LIB) $(LDFLAGS_ALL) $(PKG_LIBS) -lm

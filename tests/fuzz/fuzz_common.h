/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_common.h — helpers shared by the libFuzzer harnesses in tests/fuzz/.
 * A broken invariant prints what broke and aborts: libFuzzer then saves the input as a crash
 * artifact exactly as it does for a sanitizer report. */
#ifndef PV_FUZZ_COMMON_H
#define PV_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "\nINVARIANT FAILED at %s:%d: %s\n  ", __FILE__, __LINE__, \
			        #cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The fuzz input as a C string (malloc'd; the caller frees it). An embedded NUL simply ends
 * the string early, as it would for a string coming from libpam or argv. */
static inline char *fz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Every failure of a core call must explain itself: a NUL-terminated, non-empty sentence.
 * With printable_only, it must also hold no control byte (these sentences quote untrusted
 * input and end up in syslog: a raw newline or escape would forge or hide log lines). */
static inline void fz_check_err(const struct pv_err *err, bool printable_only, const char *what)
{
	size_t len = strnlen(err->msg, sizeof(err->msg));
	size_t i;

	FZ_CHECK(len < sizeof(err->msg), "%s: error message not NUL-terminated", what);
	FZ_CHECK(len > 0, "%s failed without an error message", what);
	if (!printable_only)
		return;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)err->msg[i];
		FZ_CHECK(c >= 0x20 && c != 0x7f,
		         "%s: control byte 0x%02x at offset %zu of the error message: %s", what, c,
		         i, err->msg);
	}
}

/* The fixed test key of fuzz_seal.c and of the sealed seeds make_seeds.c writes. Never used
 * outside tests: bytes 0x00..0x1f. */
static inline void fz_test_record_key(unsigned char key[32])
{
	unsigned i;

	for (i = 0; i < 32; i++)
		key[i] = (unsigned char)i;
}

#endif

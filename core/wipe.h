/* SPDX-License-Identifier: BSD-3-Clause */
/* wipe.h — type-checked ways to wipe secrets (after Linux-PAM's pam_inline.h): the size is
 * taken from the type, so a pointer can never be wiped as if it were the array it points to.
 * sodium_memzero is never optimised away. */
#ifndef PV_WIPE_H
#define PV_WIPE_H

#include <string.h>

#include <sodium.h>

/* Compiles to 0 for an array; a pointer (whose size is not the buffer's) fails to compile. */
#define PV_MUST_BE_ARRAY(a)                                                                        \
	(0 * sizeof(struct {                                                                       \
		 int pv_not_an_array : 1 -                                                         \
		     2 * __builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0]));         \
	 }))

/* Every byte of an array (char code[N], unsigned char key[32], ...). */
#define pv_wipe_array(a) sodium_memzero((a), sizeof(a) + PV_MUST_BE_ARRAY(a))

/* Every byte of the object p points to (a struct holding secrets). */
#define pv_wipe_object(p) sodium_memzero((p), sizeof(*(p)))

/* A NUL-terminated string in place (its terminator stays); NULL is allowed. */
static inline void pv_wipe_string(char *s)
{
	if (s != NULL)
		sodium_memzero(s, strlen(s));
}

#endif

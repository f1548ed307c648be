/* SPDX-License-Identifier: BSD-3-Clause */
/* keys.h — the master key file and the subkeys derived from it. One subkey per purpose, so
 * that a record key can never verify an audit line or hash a code, and the reverse. */
#ifndef PV_KEYS_H
#define PV_KEYS_H

#include <sodium.h>

#include "err.h"

#define PV_KEY_BYTES 32

struct pv_keys {
	unsigned char record[PV_KEY_BYTES]; /* seals vendor records (XChaCha20-Poly1305) */
	unsigned char code[PV_KEY_BYTES];   /* keyed hash of issued one-time codes */
	unsigned char audit[PV_KEY_BYTES];  /* MAC chain of the audit log */
};

/* Initialise libsodium (safe to call many times; 1 = already done is fine). */
int pv_crypto_init(struct pv_err *err);

/* Read the key file (root-owned, mode 0600 or stricter, 64 hex digits), derive the subkeys
 * into keys and wipe the master key. On error keys is zeroed. */
int pv_keys_load(const char *path, struct pv_keys *keys, struct pv_err *err);

/* The same through the call's held directories (safefile.h; NULL: none). */
struct pv_dirs;
int pv_keys_load_in(struct pv_dirs *dirs, const char *path, struct pv_keys *keys,
                    struct pv_err *err);

/* Create a new random key file with mode 0600. PV_EXISTS if a file (or anything) is there. */
int pv_keys_create(const char *path, struct pv_err *err);

/* Wipe every subkey. */
void pv_keys_wipe(struct pv_keys *keys);

#endif

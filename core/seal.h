/* SPDX-License-Identifier: BSD-3-Clause */
/* seal.h — authenticated encryption of one vendor record, shared by every store backend.
 * Layout: "PVSEAL01" | 24-byte nonce | XChaCha20-Poly1305 ciphertext of the encoded record.
 * Associated data: the layout magic and the vendor name, so a record moved to another vendor's
 * name (or a header edited) fails to open. */
#ifndef PV_SEAL_H
#define PV_SEAL_H

#include <stddef.h>

#include "err.h"
#include "keys.h"
#include "record.h"

#define PV_SEALED_MAX (PV_RECORD_TEXT_MAX + 64)

/* out is malloc'd; the caller frees it (it holds no secret in clear). */
int pv_record_seal(const struct pv_keys *keys, const struct pv_record *rec, unsigned char **out,
                   size_t *out_len, struct pv_err *err);

/* Opens data sealed for `name`; any change to any byte, or another name, is an error. */
int pv_record_unseal(const struct pv_keys *keys, const char *name, const unsigned char *data,
                     size_t len, struct pv_record *rec, struct pv_err *err);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* sshkey.h — a vendor's SSH public key as the store keeps it (the wire-format blob and the
 * comment) and the one parser of an OpenSSH public key line ("TYPE BASE64 [COMMENT]"). */
#ifndef PV_SSHKEY_H
#define PV_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define PV_MAX_KEYS        8
#define PV_KEY_BLOB_MAX    1100 /* an RSA key of 8192 bits is 1047 bytes */
#define PV_KEY_COMMENT_MAX 100
#define PV_KEY_RSA_MIN     3072 /* bits; below it only with --allow-weak */
#define PV_KEY_RSA_FLOOR   2048 /* never below, even with --allow-weak */
#define PV_KEY_TYPE_MAX    32
/* "SHA256:" and 43 characters of unpadded base64, as ssh-keygen -l prints it. */
#define PV_KEY_FP_MAX 52
/* The base64 text of the largest blob, NUL included. */
#define PV_KEY_B64_MAX 1472

struct pv_sshkey {
	size_t blob_len; /* 0: empty slot */
	unsigned char blob[PV_KEY_BLOB_MAX];
	char comment[PV_KEY_COMMENT_MAX + 1]; /* printable ASCII; may be empty */
};

/* What the blob says: its type name (as in the blob: "ssh-ed25519", "ecdsa-sha2-nistp256",
 * "ssh-rsa") and its size in bits. */
struct pv_sshkey_info {
	char type[PV_KEY_TYPE_MAX];
	unsigned bits;
};

/* Check a wire-format blob: one of the accepted types, well formed, nothing after it.
 * Says what is wrong in err. Weak (RSA below PV_KEY_RSA_MIN) is not checked here. */
int pv_sshkey_blob_check(const unsigned char *blob, size_t len, struct pv_sshkey_info *info,
                         struct pv_err *err);

/* Parse one authorized_keys-style line (no options: a line that starts with anything but a
 * key type is refused, so "command=..." cannot ride along). Trailing newline allowed. */
int pv_sshkey_parse_line(const char *line, struct pv_sshkey *key, struct pv_sshkey_info *info,
                         struct pv_err *err);

/* Is the comment acceptable (printable ASCII, bounded)? */
bool pv_sshkey_comment_valid(const char *comment);

/* "SHA256:..." of the blob, as ssh-keygen -l -E sha256 prints it. */
void pv_sshkey_fingerprint(const struct pv_sshkey *key, char out[PV_KEY_FP_MAX + 1]);

/* The blob as base64 (original alphabet, padded), as authorized_keys holds it. */
void pv_sshkey_base64(const struct pv_sshkey *key, char out[PV_KEY_B64_MAX]);

/* Decode base64 text into a blob (bounded by PV_KEY_BLOB_MAX). */
int pv_sshkey_from_base64(const char *text, size_t text_len, struct pv_sshkey *key);

#endif

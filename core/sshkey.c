/* SPDX-License-Identifier: BSD-3-Clause */
/* sshkey.c — reading an OpenSSH public key: the RFC 4253 wire format of the blob (type string,
 * then the type's fields), just enough to know its type and size; base64 and SHA-256 are
 * libsodium's. Nothing here is secret: these are public keys. */
#include "sshkey.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

struct reader {
	const unsigned char *p;
	size_t left;
};

/* One RFC 4253 "string": a 32-bit big-endian length, then that many bytes. */
static bool read_string(struct reader *r, const unsigned char **data, size_t *len)
{
	uint32_t n;

	if (r->left < 4)
		return false;
	n = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) | ((uint32_t)r->p[2] << 8) |
	    (uint32_t)r->p[3];
	r->p += 4;
	r->left -= 4;
	if (n > r->left)
		return false;
	*data = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return true;
}

static bool string_is(const unsigned char *data, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(data, want, len) == 0;
}

/* A positive mpint in its one canonical encoding (RFC 4251: big-endian, no sign bit, a
 * leading zero byte only before a byte with its high bit set). Non-minimal encodings are
 * refused: sshd and ssh-keygen fingerprint the canonical blob, and duplicates are compared
 * byte for byte. */
static bool mpint_canonical_positive(const unsigned char *data, size_t len)
{
	if (len == 0 || (data[0] & 0x80))
		return false;
	return data[0] != 0 || (len > 1 && (data[1] & 0x80));
}

/* Bits of a canonical positive mpint. */
static unsigned mpint_bits(const unsigned char *data, size_t len)
{
	unsigned bits;
	unsigned char top;

	if (data[0] == 0) {
		data++;
		len--;
	}
	bits = (unsigned)(len - 1) * 8;
	for (top = data[0]; top != 0; top >>= 1)
		bits++;
	return bits;
}

/* RSA: an odd public exponent of at least 3 (e = 1 signs anything: s^1 = s; an even e is no
 * RSA key) and an odd modulus, both canonical. */
static int check_rsa(struct reader *r, unsigned *bits, struct pv_err *err)
{
	const unsigned char *e;
	const unsigned char *n;
	size_t e_len;
	size_t n_len;

	if (!read_string(r, &e, &e_len) || !read_string(r, &n, &n_len) ||
	    !mpint_canonical_positive(e, e_len) || !mpint_canonical_positive(n, n_len)) {
		pv_err_set(err,
		           "the ssh-rsa key is malformed (a number not in its canonical form)");
		return PV_ERR;
	}
	if ((e[e_len - 1] & 1) == 0 || (e_len == 1 && e[0] < 3)) {
		pv_err_set(err,
		           "the ssh-rsa key's public exponent is not an odd number of at least 3");
		return PV_ERR;
	}
	if ((n[n_len - 1] & 1) == 0) {
		pv_err_set(err, "the ssh-rsa key's modulus is even: not an RSA key");
		return PV_ERR;
	}
	*bits = mpint_bits(n, n_len);
	return PV_OK;
}

/* Ed25519: a canonical point of the prime-order group, not of small order (libsodium): with
 * the identity or another small-order point anyone forges a signature sshd accepts. */
static int check_ed25519(struct reader *r, struct pv_err *err)
{
	const unsigned char *pk;
	size_t pk_len;

	if (!read_string(r, &pk, &pk_len) || pk_len != crypto_core_ed25519_BYTES) {
		pv_err_set(err, "the ssh-ed25519 key is malformed");
		return PV_ERR;
	}
	if (crypto_core_ed25519_is_valid_point(pk) != 1) {
		pv_err_set(err, "the ssh-ed25519 key is not a valid public key (a small-order or "
		                "non-canonical point, for which anyone can sign)");
		return PV_ERR;
	}
	return PV_OK;
}

static int check_ecdsa(struct reader *r, const char *type, unsigned *bits, struct pv_err *err)
{
	static const struct {
		const char *curve;
		unsigned bits;
		size_t point_len; /* uncompressed: 0x04 || X || Y */
	} curves[] = {{"nistp256", 256, 65}, {"nistp384", 384, 97}, {"nistp521", 521, 133}};
	const unsigned char *curve;
	const unsigned char *point;
	size_t curve_len;
	size_t point_len;
	size_t i;

	if (!read_string(r, &curve, &curve_len) || !read_string(r, &point, &point_len))
		goto bad;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		if (strcmp(type + strlen("ecdsa-sha2-"), curves[i].curve) != 0)
			continue;
		if (!string_is(curve, curve_len, curves[i].curve) ||
		    point_len != curves[i].point_len || point[0] != 0x04)
			goto bad;
		*bits = curves[i].bits;
		return PV_OK;
	}
bad:
	pv_err_set(err, "the %s key is malformed", type);
	return PV_ERR;
}

int pv_sshkey_blob_check(const unsigned char *blob, size_t len, struct pv_sshkey_info *info,
                         struct pv_err *err)
{
	struct reader r = {blob, len};
	const unsigned char *type;
	size_t type_len;
	int rc;

	memset(info, 0, sizeof(*info));
	if (len > PV_KEY_BLOB_MAX || !read_string(&r, &type, &type_len) ||
	    type_len >= sizeof(info->type) || memchr(type, '\0', type_len) != NULL) {
		pv_err_set(err, "the key data is malformed");
		return PV_ERR;
	}
	memcpy(info->type, type, type_len);
	if (strcmp(info->type, "ssh-ed25519") == 0) {
		info->bits = 256;
		rc = check_ed25519(&r, err);
	} else if (strcmp(info->type, "ssh-rsa") == 0) {
		rc = check_rsa(&r, &info->bits, err);
	} else if (strncmp(info->type, "ecdsa-sha2-", strlen("ecdsa-sha2-")) == 0) {
		rc = check_ecdsa(&r, info->type, &info->bits, err);
	} else {
		char shown[PV_SHOWN_MAX + 1];
		pv_err_shown(info->type, shown);
		pv_err_set(err,
		           "key type %s is not accepted (ssh-ed25519, ecdsa-sha2-nistp256/384/521 "
		           "or ssh-rsa only)",
		           shown);
		return PV_ERR;
	}
	if (rc == PV_OK && r.left != 0) {
		pv_err_set(err, "the %s key has %zu bytes after its end", info->type, r.left);
		return PV_ERR;
	}
	return rc;
}

bool pv_sshkey_comment_valid(const char *comment)
{
	size_t i;

	if (strlen(comment) > PV_KEY_COMMENT_MAX)
		return false;
	for (i = 0; comment[i] != '\0'; i++)
		if ((unsigned char)comment[i] < 0x20 || (unsigned char)comment[i] > 0x7e)
			return false;
	return true;
}

int pv_sshkey_from_base64(const char *text, size_t text_len, struct pv_sshkey *key)
{
	const char *end = NULL;
	size_t bin_len = 0;

	if (text_len == 0 || text_len >= PV_KEY_B64_MAX ||
	    sodium_base642bin(key->blob, sizeof(key->blob), text, text_len, NULL, &bin_len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != text + text_len || bin_len == 0)
		return PV_ERR;
	key->blob_len = bin_len;
	return PV_OK;
}

/* The fields of a line: type, base64, and the comment (the rest, spaces kept). */
static int split_key_line(const char *line, const char **type, size_t *type_len, const char **b64,
                          size_t *b64_len, const char **comment)
{
	const char *p = line;

	*type = p;
	p += strcspn(p, " \t");
	*type_len = (size_t)(p - *type);
	if (*type_len == 0 || *p == '\0')
		return PV_ERR;
	p += strspn(p, " \t");
	*b64 = p;
	p += strcspn(p, " \t");
	*b64_len = (size_t)(p - *b64);
	if (*b64_len == 0)
		return PV_ERR;
	p += strspn(p, " \t");
	*comment = p;
	return PV_OK;
}

/* The line without its final newline, in buf; control characters (a second line) refused. */
static int copy_line(const char *line, char *buf, size_t buf_len, struct pv_err *err)
{
	size_t len = strlen(line);
	size_t i;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len >= buf_len) {
		pv_err_set(err, "the key line is longer than %zu characters", buf_len - 1);
		return PV_ERR;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t') {
			pv_err_set(err,
			           "the key line contains a control character (one key, one line)");
			return PV_ERR;
		}
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	return PV_OK;
}

/* Options (command="...", from=..., no-pty) come before the type in authorized_keys: a
 * first field that is not a key type is refused rather than guessed at. */
static bool looks_like_options(const char *type, size_t type_len, const char *next)
{
	return memchr(type, '=', type_len) != NULL || memchr(type, ',', type_len) != NULL ||
	       memchr(type, '"', type_len) != NULL || strncmp(next, "ssh-", 4) == 0 ||
	       strncmp(next, "ecdsa-", 6) == 0 || strncmp(next, "sk-", 3) == 0;
}

static int take_comment(const char *comment, struct pv_sshkey *key, struct pv_err *err)
{
	size_t len = strlen(comment);

	while (len > 0 && (comment[len - 1] == ' ' || comment[len - 1] == '\t'))
		len--;
	if (len > PV_KEY_COMMENT_MAX) {
		pv_err_set(err, "the key's comment is longer than %d characters",
		           PV_KEY_COMMENT_MAX);
		return PV_ERR;
	}
	memcpy(key->comment, comment, len);
	key->comment[len] = '\0';
	if (!pv_sshkey_comment_valid(key->comment)) {
		pv_err_set(err, "the key's comment contains a control or non-ASCII character");
		return PV_ERR;
	}
	return PV_OK;
}

int pv_sshkey_parse_line(const char *line, struct pv_sshkey *key, struct pv_sshkey_info *info,
                         struct pv_err *err)
{
	char buf[PV_KEY_TYPE_MAX + PV_KEY_B64_MAX + PV_KEY_COMMENT_MAX + 64];
	const char *type;
	const char *b64;
	const char *comment;
	size_t type_len;
	size_t b64_len;

	memset(key, 0, sizeof(*key));
	if (copy_line(line, buf, sizeof(buf), err) != PV_OK)
		return PV_ERR;
	if (split_key_line(buf + strspn(buf, " \t"), &type, &type_len, &b64, &b64_len, &comment) !=
	    PV_OK) {
		pv_err_set(err, "the line is not \"TYPE BASE64 [COMMENT]\"");
		return PV_ERR;
	}
	if (looks_like_options(type, type_len, b64)) {
		pv_err_set(err, "the line starts with options; give the key alone (TYPE BASE64 "
		                "[COMMENT]): the options are pam_vendor's to set");
		return PV_ERR;
	}
	if (pv_sshkey_from_base64(b64, b64_len, key) != PV_OK) {
		pv_err_set(err, "the key's base64 data is malformed or longer than %d bytes",
		           PV_KEY_BLOB_MAX);
		return PV_ERR;
	}
	if (pv_sshkey_blob_check(key->blob, key->blob_len, info, err) != PV_OK)
		return PV_ERR;
	if (strlen(info->type) != type_len || memcmp(info->type, type, type_len) != 0) {
		pv_err_set(err, "the line names one key type and its data another (%s)",
		           info->type);
		return PV_ERR;
	}
	return take_comment(comment, key, err);
}

void pv_sshkey_fingerprint(const struct pv_sshkey *key, char out[PV_KEY_FP_MAX + 1])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
	                                   sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];

	crypto_hash_sha256(digest, key->blob, key->blob_len);
	sodium_bin2base64(b64, sizeof(b64), digest, sizeof(digest),
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	snprintf(out, PV_KEY_FP_MAX + 1, "SHA256:%s", b64);
}

void pv_sshkey_base64(const struct pv_sshkey *key, char out[PV_KEY_B64_MAX])
{
	sodium_bin2base64(out, PV_KEY_B64_MAX, key->blob, key->blob_len,
	                  sodium_base64_VARIANT_ORIGINAL);
}

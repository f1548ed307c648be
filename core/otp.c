/* SPDX-License-Identifier: BSD-3-Clause */
/* otp.c — code generation, normalisation, hashing and TOTP checks (see otp.h). */
#include "otp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>
#include <sodium.h>

void pv_otp_generate(unsigned length, char *digits)
{
	unsigned i;

	for (i = 0; i < length; i++)
		digits[i] = (char)('0' + randombytes_uniform(10));
	digits[length] = '\0';
}

int pv_otp_normalise(const char *input, char *out, size_t *digits_len)
{
	size_t in_len;
	size_t n = 0;
	size_t i;

	*digits_len = 0;
	out[0] = '\0';
	if (input == NULL)
		return PV_ERR;
	in_len = strnlen(input, PV_OTP_INPUT_MAX + 1);
	if (in_len == 0 || in_len > PV_OTP_INPUT_MAX)
		return PV_ERR;
	for (i = 0; i < in_len; i++) {
		char c = input[i];
		if (c == ' ' || c == '-')
			continue;
		if (c < '0' || c > '9' || n == PV_OTP_MAX_LEN) {
			sodium_memzero(out, PV_OTP_MAX_LEN + 1);
			return PV_ERR;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (n == 0)
		return PV_ERR;
	*digits_len = n;
	return PV_OK;
}

int pv_otp_hash(const struct pv_keys *keys, const char *vendor, const char *digits,
                unsigned char hash[PV_CODE_HASH_BYTES])
{
	crypto_generichash_state st;
	const unsigned char sep = 0;
	int rc = PV_ERR;

	if (crypto_generichash_init(&st, keys->code, sizeof(keys->code), PV_CODE_HASH_BYTES) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)vendor, strlen(vendor)) != 0 ||
	    crypto_generichash_update(&st, &sep, 1) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)digits, strlen(digits)) != 0 ||
	    crypto_generichash_final(&st, hash, PV_CODE_HASH_BYTES) != 0)
		goto out;
	rc = PV_OK;
out:
	sodium_memzero(&st, sizeof(st));
	return rc;
}

bool pv_otp_hash_equal(const unsigned char a[PV_CODE_HASH_BYTES],
                       const unsigned char b[PV_CODE_HASH_BYTES])
{
	return sodium_memcmp(a, b, PV_CODE_HASH_BYTES) == 0;
}

int pv_totp_match(const unsigned char secret[PV_TOTP_SECRET_BYTES], int64_t now, const char *digits,
                  int64_t *step)
{
	int pos = 0;
	int r;

	if (strlen(digits) != PV_TOTP_DIGITS || now < PV_TOTP_STEP)
		return PV_ERR;
	if (oath_init() != OATH_OK)
		return PV_ERR;
	r = oath_totp_validate2((const char *)secret, PV_TOTP_SECRET_BYTES, (time_t)now,
	                        PV_TOTP_STEP, 0, 1, &pos, digits);
	if (r < 0)
		return PV_ERR;
	*step = now / PV_TOTP_STEP + pos;
	return PV_OK;
}

/* RFC 3986 unreserved characters pass; everything else is %XX. */
static int percent_encode(const char *in, char *out, size_t out_len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (o + 4 > out_len)
			return PV_ERR;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return PV_OK;
}

int pv_totp_uri(const unsigned char secret[PV_TOTP_SECRET_BYTES], const char *issuer,
                const char *vendor, char **uri, struct pv_err *err)
{
	char issuer_enc[3 * 64 + 1];
	char vendor_enc[3 * (PV_NAME_MAX + 1) + 1];
	char *b32 = NULL;
	size_t b32_len = 0;
	char *text = NULL;
	size_t text_len;
	size_t i;
	int rc = PV_ERR;

	*uri = NULL;
	if (oath_init() != OATH_OK || oath_base32_encode((const char *)secret, PV_TOTP_SECRET_BYTES,
	                                                 &b32, &b32_len) != OATH_OK) {
		pv_err_set(err, "cannot encode the TOTP secret in base32");
		goto out;
	}
	/* Authenticator apps expect no '=' padding. */
	for (i = b32_len; i > 0 && b32[i - 1] == '='; i--)
		b32[i - 1] = '\0';
	if (percent_encode(issuer, issuer_enc, sizeof(issuer_enc)) != PV_OK ||
	    percent_encode(vendor, vendor_enc, sizeof(vendor_enc)) != PV_OK) {
		pv_err_set(err, "issuer or vendor name too long for a TOTP URI");
		goto out;
	}
	text_len = strlen(issuer_enc) * 2 + strlen(vendor_enc) + strlen(b32) + 128;
	text = malloc(text_len);
	if (text == NULL) {
		pv_err_set(err, "out of memory");
		goto out;
	}
	snprintf(text, text_len,
	         "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
	         issuer_enc, vendor_enc, b32, issuer_enc, PV_TOTP_DIGITS, PV_TOTP_STEP);
	*uri = text;
	rc = PV_OK;
out:
	if (b32 != NULL) {
		sodium_memzero(b32, b32_len);
		free(b32);
	}
	return rc;
}

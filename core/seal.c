/* SPDX-License-Identifier: BSD-3-Clause */
/* seal.c — sealing and unsealing vendor records with libsodium (see seal.h). */
#include "seal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define SEAL_MAGIC     "PVSEAL01"
#define SEAL_MAGIC_LEN 8
#define NONCE_LEN      crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define HEADER_LEN     (SEAL_MAGIC_LEN + NONCE_LEN)
#define AD_MAX         (SEAL_MAGIC_LEN + PV_NAME_MAX + 1)

static size_t build_ad(unsigned char *ad, const char *name)
{
	size_t nlen = strlen(name);

	/* Binary associated data, not a string: no terminator wanted. */
	memcpy(ad, SEAL_MAGIC, SEAL_MAGIC_LEN);  // NOLINT(bugprone-not-null-terminated-result)
	memcpy(ad + SEAL_MAGIC_LEN, name, nlen); // NOLINT(bugprone-not-null-terminated-result)
	return SEAL_MAGIC_LEN + nlen;
}

int pv_record_seal(const struct pv_keys *keys, const struct pv_record *rec, unsigned char **out,
                   size_t *out_len, struct pv_err *err)
{
	unsigned char ad[AD_MAX];
	unsigned long long ct_len = 0;
	unsigned char *sealed = NULL;
	char *text = NULL;
	size_t text_len = 0;
	size_t ad_len;
	int rc = PV_ERR;

	*out = NULL;
	*out_len = 0;
	if (!pv_vendor_name_valid(rec->name)) {
		pv_err_set(err, "refusing to seal a record with an invalid vendor name");
		return PV_ERR;
	}
	if (pv_record_encode(rec, &text, &text_len, err) != PV_OK)
		return PV_ERR;
	sealed = malloc(HEADER_LEN + text_len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
	if (sealed == NULL) {
		pv_err_set(err, "out of memory sealing the record of %s", rec->name);
		goto out;
	}
	memcpy(sealed, SEAL_MAGIC, SEAL_MAGIC_LEN);
	randombytes_buf(sealed + SEAL_MAGIC_LEN, NONCE_LEN);
	ad_len = build_ad(ad, rec->name);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
	        sealed + HEADER_LEN, &ct_len, (const unsigned char *)text, text_len, ad, ad_len,
	        NULL, sealed + SEAL_MAGIC_LEN, keys->record) != 0) {
		pv_err_set(err, "cannot seal the record of %s", rec->name);
		goto out;
	}
	*out = sealed;
	*out_len = HEADER_LEN + (size_t)ct_len;
	sealed = NULL;
	rc = PV_OK;
out:
	free(sealed);
	if (text != NULL) {
		sodium_memzero(text, text_len);
		free(text);
	}
	return rc;
}

int pv_record_unseal(const struct pv_keys *keys, const char *name, const unsigned char *data,
                     size_t len, struct pv_record *rec, struct pv_err *err)
{
	unsigned char ad[AD_MAX];
	unsigned long long text_len = 0;
	unsigned char *text = NULL;
	size_t ad_len;
	int rc = PV_ERR;

	if (!pv_vendor_name_valid(name)) {
		pv_err_set(err, "invalid vendor name");
		return PV_ERR;
	}
	if (len < HEADER_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES || len > PV_SEALED_MAX ||
	    memcmp(data, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0) {
		pv_err_set(err,
		           "the record of %s is not a sealed pam_vendor record (truncated or "
		           "unknown format)",
		           name);
		return PV_ERR;
	}
	text = malloc(len);
	if (text == NULL) {
		pv_err_set(err, "out of memory opening the record of %s", name);
		return PV_ERR;
	}
	ad_len = build_ad(ad, name);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(text, &text_len, NULL, data + HEADER_LEN,
	                                               len - HEADER_LEN, ad, ad_len,
	                                               data + SEAL_MAGIC_LEN, keys->record) != 0) {
		pv_err_set(err,
		           "the record of %s fails authentication (altered, moved from another "
		           "vendor, or sealed with another key)",
		           name);
		goto out;
	}
	rc = pv_record_decode((const char *)text, (size_t)text_len, name, rec, err);
out:
	sodium_memzero(text, len);
	free(text);
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_seal.c — pv_record_unseal (core/seal.h) with a fixed test key (fz_test_record_key)
 * and vendor name "acme". Every input is used twice:
 *  1. as sealed bytes, as read from a store file an attacker may have replaced. Must never
 *     crash; it may succeed only on a genuine seal: the harness then checks on its own, with
 *     libsodium directly, that the bytes carry the magic and authenticate under the key and
 *     the name, and that the record equals pv_record_decode of the plaintext. Anything else
 *     that opens is a forgery and aborts.
 *  2. as a record's plaintext, sealed here with the same key and name (fixed nonce), so the
 *     fuzzer gets past the MAC: unseal must then agree exactly with pv_record_decode on the
 *     same text (same verdict, identical record). When it opens, the same seal must be
 *     refused under another vendor's name, with any single byte flipped (position chosen by
 *     the input), and truncated by one byte.
 * Failures must explain themselves in printable text. */
#include "fuzz_common.h"

#include <sodium.h>

#include "record.h"
#include "seal.h"

#define NAME       "acme"
#define MAGIC      "PVSEAL01"
#define MAGIC_LEN  8
#define NONCE_LEN  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define HEADER_LEN (MAGIC_LEN + NONCE_LEN)
#define TAG_LEN    crypto_aead_xchacha20poly1305_ietf_ABYTES

static struct pv_keys keys;
static struct pv_record rec, ref;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	memset(&keys, 0, sizeof(keys));
	fz_test_record_key(keys.record);
	memset(keys.code, 0xC0, sizeof(keys.code));
	memset(keys.audit, 0xAD, sizeof(keys.audit));
	return 0;
}

static size_t build_ad(unsigned char *ad, const char *name)
{
	memcpy(ad, MAGIC, MAGIC_LEN);
	memcpy(ad + MAGIC_LEN, name, strlen(name));
	return MAGIC_LEN + strlen(name);
}

static void check_raw(const uint8_t *data, size_t size)
{
	unsigned char ad[MAGIC_LEN + PV_NAME_MAX + 1];
	unsigned char *plain;
	unsigned long long plain_len = 0;
	struct pv_err err;
	int rc;

	err.msg[0] = '\0';
	rc = pv_record_unseal(&keys, NAME, data, size, &rec, &err);
	if (rc != PV_OK) {
		fz_check_err(&err, true, "pv_record_unseal");
		return;
	}
	/* It opened: it had better be a genuine seal. */
	FZ_CHECK(size >= HEADER_LEN + TAG_LEN && size <= PV_SEALED_MAX &&
	             memcmp(data, MAGIC, MAGIC_LEN) == 0,
	         "unseal accepted %zu bytes without the layout of a seal", size);
	plain = malloc(size);
	FZ_CHECK(plain != NULL, "out of memory");
	FZ_CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(
	             plain, &plain_len, NULL, data + HEADER_LEN, size - HEADER_LEN, ad,
	             build_ad(ad, NAME), data + MAGIC_LEN, keys.record) == 0,
	         "unseal accepted bytes that do not authenticate (forgery)");
	FZ_CHECK(pv_record_decode((const char *)plain, (size_t)plain_len, NAME, &ref, &err) ==
	             PV_OK,
	         "unseal accepted a plaintext that does not decode");
	FZ_CHECK(memcmp(&rec, &ref, sizeof(rec)) == 0, "unseal and decode disagree on the record");
	sodium_memzero(plain, size);
	free(plain);
}

static void expect_refused(const unsigned char *sealed, size_t len, const char *name,
                           const char *what)
{
	static struct pv_record junk;
	struct pv_err err;

	err.msg[0] = '\0';
	FZ_CHECK(pv_record_unseal(&keys, name, sealed, len, &junk, &err) != PV_OK,
	         "a seal %s still opens", what);
	fz_check_err(&err, true, "pv_record_unseal");
}

static void check_wrapped(const uint8_t *data, size_t size)
{
	unsigned char ad[MAGIC_LEN + PV_NAME_MAX + 1];
	unsigned char *sealed;
	unsigned long long ct_len = 0;
	size_t sealed_len, pos;
	struct pv_err err, err_ref;
	int rc, rc_ref;

	if (size > PV_SEALED_MAX - HEADER_LEN - TAG_LEN)
		return; /* unseal refuses it before decryption: covered by check_raw */
	sealed = malloc(HEADER_LEN + size + TAG_LEN);
	FZ_CHECK(sealed != NULL, "out of memory");
	memcpy(sealed, MAGIC, MAGIC_LEN);
	memset(sealed + MAGIC_LEN, 0x4E, NONCE_LEN); /* fixed nonce: a test, not a store */
	FZ_CHECK(crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + HEADER_LEN, &ct_len, data,
	                                                    size, ad, build_ad(ad, NAME), NULL,
	                                                    sealed + MAGIC_LEN, keys.record) == 0,
	         "encrypt failed");
	sealed_len = HEADER_LEN + (size_t)ct_len;

	err.msg[0] = err_ref.msg[0] = '\0';
	rc = pv_record_unseal(&keys, NAME, sealed, sealed_len, &rec, &err);
	rc_ref = pv_record_decode((const char *)data, size, NAME, &ref, &err_ref);
	FZ_CHECK(rc == rc_ref, "unseal says %d, decode of the same plaintext says %d (%s / %s)", rc,
	         rc_ref, err.msg, err_ref.msg);
	if (rc != PV_OK) {
		fz_check_err(&err, true, "pv_record_unseal");
		FZ_CHECK(strcmp(err.msg, err_ref.msg) == 0,
		         "unseal and decode explain differently");
	} else {
		FZ_CHECK(memcmp(&rec, &ref, sizeof(rec)) == 0,
		         "unseal and decode disagree on the record");
		expect_refused(sealed, sealed_len, "acmf", "under another vendor's name");
		pos = size > 0 ? data[0] * 131u % sealed_len : 0;
		sealed[pos] ^= 0x01;
		expect_refused(sealed, sealed_len, NAME, "with a byte flipped");
		sealed[pos] ^= 0x01;
		expect_refused(sealed, sealed_len - 1, NAME, "truncated by one byte");
	}
	free(sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_raw(data, size);
	check_wrapped(data, size);
	return 0;
}

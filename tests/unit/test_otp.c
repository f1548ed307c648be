/* SPDX-License-Identifier: BSD-3-Clause */
/* test_otp.c — unit tests for core/otp.c: code generation, normalisation of what a person
 * types, keyed hashing, TOTP matching against liboath's own generator, and the otpauth URI. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <liboath/oath.h>

#include "otp.h"
#include "testutil.h"

/* RFC 6238 appendix B: the SHA-1 secret is the ASCII "12345678901234567890". */
static const unsigned char rfc_secret[PV_TOTP_SECRET_BYTES] = "12345678901234567890";

/* --- generation --- */

static void test_generated_codes_have_the_length_and_only_digits(void **state)
{
	unsigned len;

	for (len = PV_OTP_MIN_LEN; len <= PV_OTP_MAX_LEN; len++) {
		char code[PV_OTP_MAX_LEN + 2];
		size_t i;

		memset(code, 'x', sizeof(code));
		pv_otp_generate(len, code);
		assert_int_equal(strlen(code), len);
		for (i = 0; i < len; i++)
			assert_true(code[i] >= '0' && code[i] <= '9');
		assert_int_equal(code[len + 1], 'x'); /* nothing written past the NUL */
	}
}

static void test_generated_codes_are_not_all_equal_and_use_every_digit(void **state)
{
	char first[9];
	unsigned seen[10] = {0};
	bool all_equal = true;
	int draw;
	int d;

	pv_otp_generate(8, first);
	for (draw = 0; draw < 100; draw++) {
		char code[9];
		size_t i;

		pv_otp_generate(8, code);
		if (strcmp(code, first) != 0)
			all_equal = false;
		for (i = 0; i < 8; i++)
			seen[code[i] - '0']++;
	}
	assert_false(all_equal);
	/* 800 digits: each digit expected 80 times; missing one entirely or seeing one more than
	 * 200 times means the generator is broken, not unlucky. */
	for (d = 0; d < 10; d++)
		assert_in_range(seen[d], 1, 200);
}

/* --- normalisation --- */

static void assert_normalises_to(const char *input, const char *want)
{
	char out[PV_OTP_MAX_LEN + 1];
	size_t len = 99;

	if (pv_otp_normalise(input, out, &len) != PV_OK)
		fail_msg("refused: \"%s\"", input);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

static void assert_normalise_refused(const char *input)
{
	char out[PV_OTP_MAX_LEN + 1];
	size_t len = 99;

	memset(out, 'x', sizeof(out));
	if (pv_otp_normalise(input, out, &len) != PV_ERR)
		fail_msg("accepted: \"%.80s\" -> \"%s\"", input ? input : "(null)", out);
	assert_int_equal(len, 0);
	assert_int_equal(out[0], '\0');
}

static void test_spaces_and_dashes_between_groups_are_removed(void **state)
{
	assert_normalises_to("48210937", "48210937");
	assert_normalises_to("4821 0937", "48210937");
	assert_normalises_to("4821-0937", "48210937");
	assert_normalises_to(" 48 21-09 37 ", "48210937");
	assert_normalises_to("123456789012", "123456789012"); /* PV_OTP_MAX_LEN digits */
	assert_normalises_to("0", "0");
}

static void test_empty_or_separator_only_input_is_refused(void **state)
{
	assert_normalise_refused(NULL);
	assert_normalise_refused("");
	assert_normalise_refused("   ");
	assert_normalise_refused("- -");
}

static void test_non_digits_are_refused(void **state)
{
	assert_normalise_refused("+123456");
	assert_normalise_refused("-123456x");
	assert_normalise_refused("12a4");
	assert_normalise_refused("1234.5678");
	assert_normalise_refused("4821\t0937");
	assert_normalise_refused("48210937\n");
	assert_normalise_refused("4821_0937");
	assert_normalise_refused("0x1234");
}

static void test_unicode_digits_are_refused(void **state)
{
	assert_normalise_refused("\xd9\xa1\xd9\xa2\xd9\xa3");             /* Arabic-Indic 123 */
	assert_normalise_refused("\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93"); /* fullwidth 123 */
	assert_normalise_refused("4821\xc2\xa0"
	                         "0937"); /* no-break space */
}

static void test_too_many_digits_are_refused(void **state)
{
	assert_normalise_refused("1234567890123"); /* PV_OTP_MAX_LEN + 1 */
}

static void test_input_longer_than_the_limit_is_refused_before_anything_else(void **state)
{
	char input[PV_OTP_INPUT_MAX + 2];
	char *big = malloc(4096 + 1);

	/* 8 digits padded with spaces to exactly PV_OTP_INPUT_MAX bytes: fine ... */
	memset(input, ' ', sizeof(input));
	memcpy(input, "48210937", 8);
	input[PV_OTP_INPUT_MAX] = '\0';
	assert_normalises_to(input, "48210937");
	/* ... one byte more is refused although the digits are the same. */
	input[PV_OTP_INPUT_MAX] = ' ';
	input[PV_OTP_INPUT_MAX + 1] = '\0';
	assert_int_equal(strlen(input), 65);
	assert_normalise_refused(input);

	assert_non_null(big);
	memset(big, '1', 4096);
	big[4096] = '\0';
	assert_normalise_refused(big);
	memset(big, ' ', 4096);
	memcpy(big + 4000, "48210937", 8);
	assert_normalise_refused(big);
	free(big);
}

/* --- hashing --- */

static void hash_of(const struct pv_keys *keys, const char *vendor, const char *digits,
                    unsigned char out[PV_CODE_HASH_BYTES])
{
	assert_int_equal(pv_otp_hash(keys, vendor, digits, out), PV_OK);
}

static void test_hash_is_deterministic_for_same_inputs(void **state)
{
	struct pv_keys keys;
	unsigned char a[PV_CODE_HASH_BYTES];
	unsigned char b[PV_CODE_HASH_BYTES];

	tu_random_keys(&keys);
	hash_of(&keys, "acme", "48210937", a);
	hash_of(&keys, "acme", "48210937", b);
	assert_memory_equal(a, b, sizeof(a));
	assert_true(pv_otp_hash_equal(a, b));
}

static void test_hash_differs_per_vendor_code_and_key(void **state)
{
	struct pv_keys keys;
	struct pv_keys other;
	unsigned char base[PV_CODE_HASH_BYTES];
	unsigned char h[PV_CODE_HASH_BYTES];

	tu_random_keys(&keys);
	tu_random_keys(&other);
	memcpy(other.record, keys.record, PV_KEY_BYTES); /* only the code subkey matters */
	memcpy(other.audit, keys.audit, PV_KEY_BYTES);
	hash_of(&keys, "acme", "12345678", base);

	hash_of(&keys, "acme2", "12345678", h);
	assert_false(pv_otp_hash_equal(base, h));
	hash_of(&keys, "acme1", "2345678", h); /* the vendor/code boundary is not ambiguous */
	assert_false(pv_otp_hash_equal(base, h));
	hash_of(&keys, "acme", "12345679", h);
	assert_false(pv_otp_hash_equal(base, h));
	hash_of(&other, "acme", "12345678", h);
	assert_false(pv_otp_hash_equal(base, h));
}

static void test_hash_equal_compares_every_byte(void **state)
{
	unsigned char a[PV_CODE_HASH_BYTES];
	unsigned char b[PV_CODE_HASH_BYTES];

	randombytes_buf(a, sizeof(a));
	memcpy(b, a, sizeof(a));
	assert_true(pv_otp_hash_equal(a, b));
	b[0] ^= 1;
	assert_false(pv_otp_hash_equal(a, b));
	b[0] ^= 1;
	b[PV_CODE_HASH_BYTES - 1] ^= 0x80;
	assert_false(pv_otp_hash_equal(a, b));
}

/* --- TOTP --- */

static void totp_at(const unsigned char *secret, int64_t t, char out[PV_TOTP_DIGITS + 1])
{
	assert_int_equal(oath_init(), OATH_OK);
	assert_int_equal(oath_totp_generate((const char *)secret, PV_TOTP_SECRET_BYTES, (time_t)t,
	                                    PV_TOTP_STEP, 0, PV_TOTP_DIGITS, out),
	                 OATH_OK);
}

static void test_liboath_generates_the_rfc6238_vectors(void **state)
{
	char code[PV_TOTP_DIGITS + 1];

	/* RFC 6238 SHA-1 vectors, last six of the eight digits. */
	totp_at(rfc_secret, 59, code);
	assert_string_equal(code, "287082");
	totp_at(rfc_secret, 1111111109, code);
	assert_string_equal(code, "081804");
	totp_at(rfc_secret, 1234567890, code);
	assert_string_equal(code, "005924");
}

static void test_totp_of_the_current_step_matches_with_its_step(void **state)
{
	const int64_t now = 1234567890;
	int64_t step = 0;

	assert_int_equal(pv_totp_match(rfc_secret, now, "005924", &step), PV_OK);
	assert_int_equal(step, now / PV_TOTP_STEP);
	assert_int_equal(pv_totp_match(rfc_secret, 1111111109, "081804", &step), PV_OK);
	assert_int_equal(step, 1111111109 / PV_TOTP_STEP);
}

static void test_totp_one_step_either_side_is_accepted_two_are_not(void **state)
{
	const int64_t now = 1800000015; /* middle of a step */
	const int64_t cur = now / PV_TOTP_STEP;
	char codes[5][PV_TOTP_DIGITS + 1];
	int64_t step;
	int i;
	int j;

	for (i = 0; i < 5; i++)
		totp_at(rfc_secret, now + (i - 2) * PV_TOTP_STEP, codes[i]);
	for (i = 0; i < 5; i++) /* precondition: five different codes at this time */
		for (j = i + 1; j < 5; j++)
			assert_string_not_equal(codes[i], codes[j]);

	assert_int_equal(pv_totp_match(rfc_secret, now, codes[1], &step), PV_OK);
	assert_int_equal(step, cur - 1);
	assert_int_equal(pv_totp_match(rfc_secret, now, codes[2], &step), PV_OK);
	assert_int_equal(step, cur);
	assert_int_equal(pv_totp_match(rfc_secret, now, codes[3], &step), PV_OK);
	assert_int_equal(step, cur + 1);
	assert_int_equal(pv_totp_match(rfc_secret, now, codes[0], &step), PV_ERR);
	assert_int_equal(pv_totp_match(rfc_secret, now, codes[4], &step), PV_ERR);
}

static void test_totp_wrong_code_length_or_secret_is_refused(void **state)
{
	const int64_t now = 1234567890;
	unsigned char other[PV_TOTP_SECRET_BYTES];
	int64_t step;

	assert_int_equal(pv_totp_match(rfc_secret, now, "005925", &step), PV_ERR);
	assert_int_equal(pv_totp_match(rfc_secret, now, "05924", &step), PV_ERR);
	assert_int_equal(pv_totp_match(rfc_secret, now, "0005924", &step), PV_ERR);
	assert_int_equal(pv_totp_match(rfc_secret, now, "89005924", &step), PV_ERR);
	assert_int_equal(pv_totp_match(rfc_secret, now, "", &step), PV_ERR);
	memcpy(other, rfc_secret, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(pv_totp_match(other, now, "005924", &step), PV_ERR);
}

static void test_totp_before_the_first_step_is_refused(void **state)
{
	char code[PV_TOTP_DIGITS + 1];
	int64_t step;

	totp_at(rfc_secret, 10, code);
	assert_int_equal(pv_totp_match(rfc_secret, 10, code, &step), PV_ERR);
	assert_int_equal(pv_totp_match(rfc_secret, -100, code, &step), PV_ERR);
}

/* --- otpauth URI --- */

static char *uri_of(const unsigned char *secret, const char *issuer, const char *vendor)
{
	struct pv_err err = {{0}};
	char *uri = NULL;

	if (pv_totp_uri(secret, issuer, vendor, &uri, &err) != PV_OK)
		fail_msg("refused: %s", err.msg);
	assert_non_null(uri);
	return uri;
}

static void test_totp_uri_has_the_authenticator_format(void **state)
{
	char *uri = uri_of(rfc_secret, "pam_vendor", "acme");

	assert_string_equal(uri, "otpauth://totp/pam_vendor:acme?secret="
	                         "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=pam_vendor"
	                         "&algorithm=SHA1&digits=6&period=30");
	free(uri);
}

static void test_totp_uri_percent_encodes_issuer_and_name(void **state)
{
	char *uri = uri_of(rfc_secret, "CH Saint-\xc3\x89mile & Co: 1/2?", "acme.1_x-y");

	assert_string_equal(uri, "otpauth://totp/CH%20Saint-%C3%89mile%20%26%20Co%3A%201%2F2%3F:"
	                         "acme.1_x-y?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	                         "&issuer=CH%20Saint-%C3%89mile%20%26%20Co%3A%201%2F2%3F"
	                         "&algorithm=SHA1&digits=6&period=30");
	free(uri);
}

static void test_totp_uri_secret_has_no_padding_and_decodes_back(void **state)
{
	unsigned char secret[PV_TOTP_SECRET_BYTES];
	char *uri;
	char *b32;
	char *amp;
	char *decoded = NULL;
	size_t decoded_len = 0;
	int i;

	for (i = 0; i < 20; i++) {
		randombytes_buf(secret, sizeof(secret));
		uri = uri_of(secret, "pam_vendor", "acme");
		b32 = strstr(uri, "?secret=");
		assert_non_null(b32);
		b32 += strlen("?secret=");
		amp = strchr(b32, '&');
		assert_non_null(amp);
		*amp = '\0';
		assert_null(strchr(b32, '='));
		assert_int_equal(strlen(b32), 32);
		assert_int_equal(oath_base32_decode(b32, strlen(b32), &decoded, &decoded_len),
		                 OATH_OK);
		assert_int_equal(decoded_len, PV_TOTP_SECRET_BYTES);
		assert_memory_equal(decoded, secret, PV_TOTP_SECRET_BYTES);
		free(decoded);
		*amp = '&';
		assert_contains(amp, "&digits=6&period=30");
		assert_contains(amp, "&algorithm=SHA1");
		free(uri);
	}
}

static void test_totp_uri_refuses_an_overlong_issuer(void **state)
{
	struct pv_err err = {{0}};
	char issuer[200];
	char *uri = (char *)1;

	memset(issuer, ' ', sizeof(issuer) - 1);
	issuer[sizeof(issuer) - 1] = '\0';
	assert_int_equal(pv_totp_uri(rfc_secret, issuer, "acme", &uri, &err), PV_ERR);
	assert_null(uri);
	assert_true(err.msg[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_generated_codes_have_the_length_and_only_digits),
	    cmocka_unit_test(test_generated_codes_are_not_all_equal_and_use_every_digit),
	    cmocka_unit_test(test_spaces_and_dashes_between_groups_are_removed),
	    cmocka_unit_test(test_empty_or_separator_only_input_is_refused),
	    cmocka_unit_test(test_non_digits_are_refused),
	    cmocka_unit_test(test_unicode_digits_are_refused),
	    cmocka_unit_test(test_too_many_digits_are_refused),
	    cmocka_unit_test(test_input_longer_than_the_limit_is_refused_before_anything_else),
	    cmocka_unit_test(test_hash_is_deterministic_for_same_inputs),
	    cmocka_unit_test(test_hash_differs_per_vendor_code_and_key),
	    cmocka_unit_test(test_hash_equal_compares_every_byte),
	    cmocka_unit_test(test_liboath_generates_the_rfc6238_vectors),
	    cmocka_unit_test(test_totp_of_the_current_step_matches_with_its_step),
	    cmocka_unit_test(test_totp_one_step_either_side_is_accepted_two_are_not),
	    cmocka_unit_test(test_totp_wrong_code_length_or_secret_is_refused),
	    cmocka_unit_test(test_totp_before_the_first_step_is_refused),
	    cmocka_unit_test(test_totp_uri_has_the_authenticator_format),
	    cmocka_unit_test(test_totp_uri_percent_encodes_issuer_and_name),
	    cmocka_unit_test(test_totp_uri_secret_has_no_padding_and_decodes_back),
	    cmocka_unit_test(test_totp_uri_refuses_an_overlong_issuer),
	};

	assert_true(sodium_init() >= 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

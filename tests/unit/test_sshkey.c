/* SPDX-License-Identifier: BSD-3-Clause */
/* test_sshkey.c — unit tests for core/sshkey.c: OpenSSH public key lines (made by ssh-keygen)
 * parse to the type, size and SHA256 fingerprint ssh-keygen -l prints; options before the
 * type, unknown types, malformed data and second lines are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "sshkey.h"
#include "testutil.h"

/* ssh-keygen -t ... output, and what ssh-keygen -lf said of each. */
#define ED25519                                                                                    \
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIcJbD5i4SLaQv4CzK4UJEDuYEArLTZz+Vsouj03kKDE"         \
	" alice@acme"
#define ED25519_FP "SHA256:jbfBmQMU/eXFLCU0tg7SM8T0pqOiYeWuFVAA1sPhq+U"
#define ECDSA384                                                                                   \
	"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBPphShyb"         \
	"qItnagYit/NsLdNKPSWaZ0Mzmst1tQjD5yiPD4WBlatOJ6u2hUi4D+JawMtRn7ZaZfp+Bl/pqhWGD4zh"         \
	"aBHrm8xqtSTE2LA6R0dh17AQ9sEdrY0IeoVJCEd7Lg== ec384"
#define ECDSA384_FP "SHA256:x66atzezXX+IlnTNCgESj3rhNOw6kYU3nfo/aFwLp1w"
#define RSA3072                                                                                    \
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC34etYqlLDjsipn332s5/Y1yXWg3/RBdAUWG1HNYs6"         \
	"2mLn1mPbtngANsjcOePf6ex9cYQLYUJ1OrD/QG9dWE3A5mmR2RBYYvT0rBQEtg5KYu5U9WgTojNtikcK"         \
	"li2cbZxapZT9oYXkeDUtJ4tXsqe3jixYmZflyE0KNmyvYDEB0jzACXFcB78nZK+X4qWShwK7LyIDNYuA"         \
	"p6+1yIPGfgcy07Vf8D96XjHLLfvmGeliuB+0hhG5PGSyaLRlzKcYP6/QVfuh8SIxP6KINUGO+rwkPqkt"         \
	"m3cBsw+EWZl2sSMfHnUbd4rbpPIprkLbFbJG3wh+/LOXyNQfHasl50ioGI+LQpVyCKo5G/R4d/MxkjHQ"         \
	"GCwD6JyVtzXfJt3mshhb27QiazaRTK0/CQdsxF4KfY/3IkN6xPQnRblE215UK0dsqtP3CuDXuo0SKCq+"         \
	"OwXLkXSLHGlZ2e3MmDkDO6OfJiz1z7djFFZP/eQmOQBynqGfaiqM0QQDSfmg/9EC4T8lflM= rsa3072"
#define RSA3072_FP "SHA256:4+2XNYZnc4Ru5ldhPS+KH6d7xacPhLDyKMH+IlXCb28"
#define RSA2048                                                                                    \
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDKW0TVtBu42tEr+EdZPw6NvSHenqsDkzFdNhXhr00p"         \
	"X2S746jGC/aXBABL0mo5qBVJJ0nFOVx3wYDvWuWg2piMZm+AMzZAzk/MpjiyuOUgGftUsNypqrGV2vwi"         \
	"/HIny9ExdFnRe/ytjHDLmohhL1qX4zdxHkwWwRRm2kKbSIGi85pZuLAP3eu3tWCqB+62+XnX7Gi39T63"         \
	"i/2c3zdEvnFwYcxVChzbI3WKcCxgwbN5ZiJEYRYqVSOeclIB5DpL4NFd5bPC+iLhqdHBZBSbhhYsCmDr"         \
	"5/GhQYyuwEz3++k8OwGZI0jr0V+Ocl7ci/Fi1TeEiRN+90p0YN5ytVcy/TnL weak"
#define RSA2048_FP "SHA256:5gic6naxxASeHM+WvkHss48i9V4Ml7L2RUqyYYYTgMw"
#define RSA8192                                                                                    \
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAEAQC9BUH46ELScrUkyeimgJ6R+BU5/05Gif5q94V7gMeX"         \
	"2kxUQOpJLSLtybegN6iuBjak5aVqcYedQ+wcalUSACgxW3+WLtv2qBrsrcAm6X7jrgURkakELPGPbeWS"         \
	"Kd3iSK7KTdheW8tXwddzrQdObNacwXTq76Nu7cq9qUCJCiLI/bjAzgczcGK1z/kNSCuwTfHTTvTiKkTx"         \
	"Ziy7+s5Ya9wozj0zPh3Ecy9DqlN/ajtQtTnK3d/iRIfYzc45NMhj51fUkGjf2nXpq5faxcCgZEBBRvtU"         \
	"QfqaYj8r6ZqZnKlOrk3JlL+2anKoZqesKLx5ks3iqoUOVPRB2CQ9HpDOJJpzb90IDhbgZVvExzVFzBWw"         \
	"JLQYX+tRXvtx4EwyOvyibSi9502IggMUV1RiSlk14FAwMXwnVdd3KY/CJpxeg7LqTeRz2cktIvxfv9Sr"         \
	"kZlhq2UxBgme8MgLpVYAl4tj01h/ENZ4dQLH0ZASa7lwA5y07xk4JlFHbM4WZiRxGOrwCt642H3fQt5m"         \
	"UPym/mvixlzOJ/ZLN6/Ma/VnjkfuCpAY/y1NitY5XZulWnWDokDbrOM1BgXXTIUfucQatcT95ZzrM1FE"         \
	"xnzbJjTLjpVr519Y78fpdeRhR+086QasABUVW+rQvJlI2HHtrY5bhJUEgU7vhuNJLPxzDxeHYHgp1zjK"         \
	"WbRuDp67WbOXXhbrObMHFWEqHBx/NXRReohmm9Xuouc+/GPHqFG04eRrWKIQVHosftxI7jZ4rrb+vuE3"         \
	"QkWRSlLkrGpmk1vBzUvTMhuJxQxSvKtI8EFCX5m8XLrBwRWQnH66UVNRT0QaqEYiD20iS84RUFQzwutf"         \
	"pyGxIoHhtxAj1uVo+AP0kV8H2p6J5kr6HK9WiLph+hlG+TqUA2S8p6e3WLLce5lGFtCSWpJ1MpW9rT+a"         \
	"sHficIHdCnIDkzNF39QR4n2CC8b5HWSywWJQDO5kWNKfZJhmhkfFhNwrdtRrZ8XBbIjPinkEhHBLXZhI"         \
	"Sfd4T/a06qSMXfYAUCjOkuIJxoJ3IAgOLbXGPfB9xHwHSNPWIsFOIdNwz0MmsAhiJcWaOOvFJ5AyUVqN"         \
	"5cl+QQk5Oyj0Sr4DTRDkIn5+XMqaIc99ds9ud9L4x8/xb2OFY3y5l+bnsjpkoGVKLSiPxS1iLAY+RWbQ"         \
	"gddPqs2TMyjr3P2HFzXsIn2esEROEvZap5HXcw1Yt5GEq37rrCnZ/VnQFBVo2X8fWowPowOdh+Q+vLw9"         \
	"hK+RT9645PQpIi20gIaolWXjYxD1eks9WFwKcKyNxojLBk9970oylGmZkula90g1gIFKjasbQGVMlTKO"         \
	"EQpdk8I/+QSTdtLuID941MMQfOs/6f0jP1zpAEzmFWEH"
#define RSA8192_FP "SHA256:JtPesgrmK6/W5NFkaAOMzxFPDp1oPVMl8kiqVl5aHCA"

static void assert_parses(const char *line, const char *type, unsigned bits, const char *fp,
                          const char *comment)
{
	struct pv_sshkey key;
	struct pv_sshkey_info info;
	struct pv_err err = {{0}};
	char got_fp[PV_KEY_FP_MAX + 1];
	char b64[PV_KEY_B64_MAX];

	if (pv_sshkey_parse_line(line, &key, &info, &err) != PV_OK)
		fail_msg("refused (%s): %s", err.msg, line);
	assert_string_equal(info.type, type);
	assert_int_equal(info.bits, bits);
	pv_sshkey_fingerprint(&key, got_fp);
	assert_string_equal(got_fp, fp);
	assert_string_equal(key.comment, comment);
	/* The base64 written back is the one read (authorized_keys gets it unchanged). */
	pv_sshkey_base64(&key, b64);
	assert_non_null(strstr(line, b64));
}

static void assert_line_refused(const char *line, const char *why)
{
	struct pv_sshkey key;
	struct pv_sshkey_info info;
	struct pv_err err = {{0}};

	if (pv_sshkey_parse_line(line, &key, &info, &err) == PV_OK)
		fail_msg("accepted: %s", line);
	assert_contains(err.msg, why);
}

static void test_keys_from_ssh_keygen_parse_as_it_prints_them(void **state)
{
	assert_parses(ED25519, "ssh-ed25519", 256, ED25519_FP, "alice@acme");
	assert_parses(ECDSA384, "ecdsa-sha2-nistp384", 384, ECDSA384_FP, "ec384");
	assert_parses(RSA3072, "ssh-rsa", 3072, RSA3072_FP, "rsa3072");
	assert_parses(RSA2048, "ssh-rsa", 2048, RSA2048_FP, "weak"); /* weak: otpctl decides */
	assert_parses(RSA8192, "ssh-rsa", 8192, RSA8192_FP, "");
}

static void test_final_newline_and_spaces_are_accepted(void **state)
{
	assert_parses(ED25519 "\n", "ssh-ed25519", 256, ED25519_FP, "alice@acme");
	assert_parses(ED25519 "  \r\n", "ssh-ed25519", 256, ED25519_FP, "alice@acme");
	assert_parses("  " ED25519 " two words", "ssh-ed25519", 256, ED25519_FP,
	              "alice@acme two words");
}

static void test_options_before_the_type_are_refused(void **state)
{
	assert_line_refused("command=\"/bin/sh\" " ED25519, "options");
	assert_line_refused("no-pty,from=\"10.0.0.1\" " ED25519, "options");
	assert_line_refused("restrict " ED25519, "options");
}

static void test_second_line_or_control_character_is_refused(void **state)
{
	assert_line_refused(ED25519 "\n" ED25519, "control character");
	assert_line_refused(ED25519 "\x1b[2J", "control character");
	assert_line_refused(ED25519 " caf\xc3\xa9", "non-ASCII");
}

static void test_type_mismatch_and_unknown_types_are_refused(void **state)
{
	/* The ed25519 blob under the name ssh-rsa. */
	assert_line_refused(
	    "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIIcJbD5i4SLaQv4CzK4UJEDuYEArLTZz+Vsouj03kKDE",
	    "one key type and its data another");
	/* ssh-dss (AAAAB3NzaC1kc3M = "ssh-dss"). */
	assert_line_refused("ssh-dss AAAAB3NzaC1kc3MAAAABAA==", "not accepted");
}

static void test_malformed_data_is_refused(void **state)
{
	assert_line_refused("ssh-ed25519", "the line is not");
	assert_line_refused("ssh-ed25519 not*base64", "base64");
	/* A truncated ed25519 blob (the key is 31 bytes). */
	assert_line_refused(
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIcJbD5i4SLaQv4CzK4UJEDuYEArLTZz+Vsouj03kKA=",
	    "malformed");
	/* Bytes after the end of a valid ed25519 blob. */
	assert_line_refused(
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIcJbD5i4SLaQv4CzK4UJEDuYEArLTZz+Vsouj03kKDEAA==",
	    "after its end");
}

/* A key line built from its wire fields: the type string, then each field as an RFC 4253
 * string (for mpints: the bytes as given, canonical or not). */
struct wire {
	unsigned char blob[2048];
	size_t len;
};

static void put_string(struct wire *w, const void *data, size_t len)
{
	assert_true(w->len + 4 + len <= sizeof(w->blob));
	w->blob[w->len++] = (unsigned char)(len >> 24);
	w->blob[w->len++] = (unsigned char)(len >> 16);
	w->blob[w->len++] = (unsigned char)(len >> 8);
	w->blob[w->len++] = (unsigned char)len;
	memcpy(w->blob + w->len, data, len);
	w->len += len;
}

static void wire_line(const struct wire *w, const char *type, char *line, size_t line_len)
{
	char b64[sodium_base64_ENCODED_LEN(sizeof(w->blob), sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), w->blob, w->len, sodium_base64_VARIANT_ORIGINAL);
	snprintf(line, line_len, "%s %s made", type, b64);
}

static void ed25519_line(const unsigned char pk[32], char *line, size_t line_len)
{
	struct wire w = {{0}, 0};

	put_string(&w, "ssh-ed25519", strlen("ssh-ed25519"));
	put_string(&w, pk, 32);
	wire_line(&w, "ssh-ed25519", line, line_len);
}

/* An RSA line: e as given; n = lead zero bytes, then 384 bytes (3072 bits) 0x80 .. last. */
static void rsa_line(const unsigned char *e, size_t e_len, size_t lead, unsigned char last,
                     char *line, size_t line_len)
{
	unsigned char n[400];
	struct wire w = {{0}, 0};

	memset(n, 0, lead);
	memset(n + lead, 0x35, 384);
	n[lead] = 0x80;
	n[lead + 383] = last;
	put_string(&w, "ssh-rsa", strlen("ssh-rsa"));
	put_string(&w, e, e_len);
	put_string(&w, n, lead + 384);
	wire_line(&w, "ssh-rsa", line, line_len);
}

/* Review SHOULD-2: keys anyone can sign for, or that are no key at all, are refused. */
static void test_small_order_ed25519_points_are_refused(void **state)
{
	unsigned char pk[32] = {0};
	char line[3072];

	pk[0] = 1; /* the identity point: R = 5B, S = 5 is a valid signature of anything */
	ed25519_line(pk, line, sizeof(line));
	assert_line_refused(line, "small-order");
	pk[0] = 0; /* y = 0: a point of order 4 */
	ed25519_line(pk, line, sizeof(line));
	assert_line_refused(line, "small-order");
	memset(pk, 0xff, sizeof(pk)); /* y >= p: not canonical */
	pk[31] = 0x7f;
	ed25519_line(pk, line, sizeof(line));
	assert_line_refused(line, "small-order");
}

static void test_weak_or_malformed_rsa_numbers_are_refused(void **state)
{
	static const unsigned char e65537[] = {0x01, 0x00, 0x01};
	static const unsigned char e3[] = {0x03};
	static const unsigned char e1[] = {0x01};
	static const unsigned char e_even[] = {0x01, 0x00, 0x00};
	static const unsigned char e_padded[] = {0x00, 0x01, 0x00, 0x01};
	struct pv_sshkey key;
	struct pv_sshkey_info info;
	struct pv_err err = {{0}};
	char line[3072];

	rsa_line(e65537, sizeof(e65537), 1, 0x01, line, sizeof(line));
	if (pv_sshkey_parse_line(line, &key, &info, &err) != PV_OK)
		fail_msg("refused (%s)", err.msg); /* the control: one leading zero before 0x80 */
	assert_int_equal(info.bits, 3072);
	rsa_line(e3, sizeof(e3), 1, 0x01, line, sizeof(line));
	assert_int_equal(pv_sshkey_parse_line(line, &key, &info, &err), PV_OK);
	rsa_line(e1, sizeof(e1), 1, 0x01, line, sizeof(line));
	assert_line_refused(line, "exponent");
	rsa_line(e_even, sizeof(e_even), 1, 0x01, line, sizeof(line));
	assert_line_refused(line, "exponent");
	rsa_line(e65537, sizeof(e65537), 1, 0x02, line, sizeof(line));
	assert_line_refused(line, "modulus is even");
	/* NIT-1: leading zeros beyond the one a sign needs (the same key, another fingerprint) */
	rsa_line(e65537, sizeof(e65537), 3, 0x01, line, sizeof(line));
	assert_line_refused(line, "canonical");
	rsa_line(e_padded, sizeof(e_padded), 1, 0x01, line, sizeof(line));
	assert_line_refused(line, "canonical");
	rsa_line(e65537, sizeof(e65537), 0, 0x01, line, sizeof(line)); /* negative n */
	assert_line_refused(line, "canonical");
}

static void test_long_comment_is_refused(void **state)
{
	char line[512];
	char comment[PV_KEY_COMMENT_MAX + 2];

	memset(comment, 'c', sizeof(comment) - 1);
	comment[sizeof(comment) - 1] = '\0';
	snprintf(line, sizeof(line), "%s%s", ED25519, comment);
	assert_line_refused(line, "longer than");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_from_ssh_keygen_parse_as_it_prints_them),
	    cmocka_unit_test(test_final_newline_and_spaces_are_accepted),
	    cmocka_unit_test(test_options_before_the_type_are_refused),
	    cmocka_unit_test(test_second_line_or_control_character_is_refused),
	    cmocka_unit_test(test_type_mismatch_and_unknown_types_are_refused),
	    cmocka_unit_test(test_malformed_data_is_refused),
	    cmocka_unit_test(test_long_comment_is_refused),
	    cmocka_unit_test(test_small_order_ed25519_points_are_refused),
	    cmocka_unit_test(test_weak_or_malformed_rsa_numbers_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

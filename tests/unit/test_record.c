/* SPDX-License-Identifier: BSD-3-Clause */
/* test_record.c — unit tests for core/record.c: the versioned plaintext encoding of a vendor
 * record round-trips every field, decoding is strict (anything unexpected is refused), and
 * pruning drops only codes that can no longer matter. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "record.h"
#include "testutil.h"

#define NOW INT64_C(1800000000)

/* A well-formed ssh-rsa blob with an odd modulus of n_bytes bytes (high bit set: 8 * n_bytes
 * bits), told apart by tag. */
static void rsa_key(struct pv_sshkey *k, size_t n_bytes, unsigned char tag, const char *comment)
{
	static const unsigned char head[] = {0,   0,   0, 7, 's', 's', 'h', '-', 'r',
	                                     's', 'a', 0, 0, 0,   3,   1,   0,   1};
	unsigned char *p = k->blob;

	memset(k, 0, sizeof(*k));
	memcpy(p, head, sizeof(head));
	p += sizeof(head);
	*p++ = (unsigned char)((n_bytes + 1) >> 24);
	*p++ = (unsigned char)((n_bytes + 1) >> 16);
	*p++ = (unsigned char)((n_bytes + 1) >> 8);
	*p++ = (unsigned char)(n_bytes + 1);
	*p++ = 0; /* mpint: a zero byte before a high bit */
	memset(p, tag, n_bytes);
	p[0] = 0xff;
	p[n_bytes - 1] |= 1; /* an RSA modulus is odd */
	k->blob_len = sizeof(head) + 4 + 1 + n_bytes;
	snprintf(k->comment, sizeof(k->comment), "%s", comment);
}

static void full_record(struct pv_record *rec)
{
	size_t i;

	pv_record_init(rec, "acme-1.x_y", NOW - 86400);
	snprintf(rec->note, sizeof(rec->note), "PACS vendor — Zoë's team, tel. +33 1 23 45 67 89");
	rec->ips[rec->n_ips++] = tu_cidr("203.0.113.7");
	rec->ips[rec->n_ips++] = tu_cidr("198.51.100.0/24");
	rec->ips[rec->n_ips++] = tu_cidr("2001:db8:7::/48");
	rec->ips[rec->n_ips++] = tu_cidr("2001:db8::1");
	rec->window_start = NOW - 60;
	rec->window_end = NOW + 7200;
	rec->window_ips[rec->n_window_ips++] = tu_cidr("203.0.113.7");
	rec->window_ips[rec->n_window_ips++] = tu_cidr("2001:db8:7:1::/64");
	rec->hours.rule[rec->hours.n++] = (struct pv_schedule_rule){0x3e, 8 * 60, 12 * 60};
	rec->hours.rule[rec->hours.n++] = (struct pv_schedule_rule){0x3e, 14 * 60, 24 * 60};
	rec->failures = 3;
	rec->locked = true;
	for (i = 0; i < 3; i++) {
		struct pv_code *c = &rec->codes[rec->n_codes++];
		randombytes_buf(c->hash, sizeof(c->hash));
		c->issued = NOW - 100 + (int64_t)i;
		c->expires = NOW + 800 + (int64_t)i;
		c->used_at = i == 1 ? NOW - 5 : 0;
	}
	rec->totp_enrolled = true;
	randombytes_buf(rec->totp_secret, sizeof(rec->totp_secret));
	rec->totp_last_step = NOW / 30 - 2;
	rec->last_login = NOW - 3600;
	snprintf(rec->last_login_rhost, sizeof(rec->last_login_rhost), "2001:db8:7::42");
	rsa_key(&rec->keys[rec->n_keys++], 384, 1, "alice@acme laptop");
	rsa_key(&rec->keys[rec->n_keys++], 512, 2, "");
	rec->targets[rec->n_targets].host = tu_cidr("192.0.2.10");
	rec->targets[rec->n_targets++].port = 22;
	rec->targets[rec->n_targets].host = tu_cidr("2001:db8::10");
	rec->targets[rec->n_targets++].port = 443;
	rec->shell = PV_SHELL_ALLOWED;
}

static void assert_cidr_equal(const struct pv_cidr *a, const struct pv_cidr *b)
{
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->prefix, b->prefix);
	assert_memory_equal(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

static void assert_records_equal(const struct pv_record *a, const struct pv_record *b)
{
	size_t i;

	assert_string_equal(a->name, b->name);
	assert_int_equal(a->serial, b->serial);
	assert_string_equal(a->note, b->note);
	assert_int_equal(a->created, b->created);
	assert_int_equal(a->n_ips, b->n_ips);
	for (i = 0; i < a->n_ips; i++)
		assert_cidr_equal(&a->ips[i], &b->ips[i]);
	assert_int_equal(a->window_start, b->window_start);
	assert_int_equal(a->window_end, b->window_end);
	assert_int_equal(a->n_window_ips, b->n_window_ips);
	for (i = 0; i < a->n_window_ips; i++)
		assert_cidr_equal(&a->window_ips[i], &b->window_ips[i]);
	assert_int_equal(a->hours.n, b->hours.n);
	for (i = 0; i < a->hours.n; i++) {
		assert_int_equal(a->hours.rule[i].days, b->hours.rule[i].days);
		assert_int_equal(a->hours.rule[i].start, b->hours.rule[i].start);
		assert_int_equal(a->hours.rule[i].end, b->hours.rule[i].end);
	}
	assert_int_equal(a->failures, b->failures);
	assert_int_equal(a->locked, b->locked);
	assert_int_equal(a->n_codes, b->n_codes);
	for (i = 0; i < a->n_codes; i++) {
		assert_memory_equal(a->codes[i].hash, b->codes[i].hash, PV_CODE_HASH_BYTES);
		assert_int_equal(a->codes[i].issued, b->codes[i].issued);
		assert_int_equal(a->codes[i].expires, b->codes[i].expires);
		assert_int_equal(a->codes[i].used_at, b->codes[i].used_at);
	}
	assert_int_equal(a->totp_enrolled, b->totp_enrolled);
	if (a->totp_enrolled)
		assert_memory_equal(a->totp_secret, b->totp_secret, PV_TOTP_SECRET_BYTES);
	assert_int_equal(a->totp_last_step, b->totp_last_step);
	assert_int_equal(a->last_login, b->last_login);
	assert_string_equal(a->last_login_rhost, b->last_login_rhost);
	assert_int_equal(a->n_keys, b->n_keys);
	for (i = 0; i < a->n_keys; i++) {
		assert_int_equal(a->keys[i].blob_len, b->keys[i].blob_len);
		assert_memory_equal(a->keys[i].blob, b->keys[i].blob, a->keys[i].blob_len);
		assert_string_equal(a->keys[i].comment, b->keys[i].comment);
	}
	assert_int_equal(a->n_targets, b->n_targets);
	for (i = 0; i < a->n_targets; i++) {
		assert_cidr_equal(&a->targets[i].host, &b->targets[i].host);
		assert_int_equal(a->targets[i].port, b->targets[i].port);
	}
	assert_int_equal(a->shell, b->shell);
}

static char *encode(const struct pv_record *rec, size_t *len)
{
	struct pv_err err = {{0}};
	char *text = NULL;

	if (pv_record_encode(rec, &text, len, &err) != PV_OK)
		fail_msg("encode refused: %s", err.msg);
	assert_non_null(text);
	return text;
}

static void round_trip(const struct pv_record *rec)
{
	struct pv_record *back = malloc(sizeof(*back));
	struct pv_err err = {{0}};
	size_t len = 0;
	size_t len2 = 0;
	char *text = encode(rec, &len);
	char *text2;

	assert_non_null(back);
	assert_true(len > 0 && len <= PV_RECORD_TEXT_MAX);
	if (pv_record_decode(text, len, rec->name, back, &err) != PV_OK)
		fail_msg("decode refused its own encoding: %s\n%.*s", err.msg, (int)len, text);
	assert_records_equal(rec, back);
	text2 = encode(back, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(text, text2, len);
	free(text);
	free(text2);
	pv_record_wipe(back);
	free(back);
}

/* --- round trips --- */

static void test_full_record_round_trips(void **state)
{
	struct pv_record *rec = malloc(sizeof(*rec));

	assert_non_null(rec);
	full_record(rec);
	round_trip(rec);
	free(rec);
}

/* Review NIT-4: older gateways sharing a PostgreSQL store read only version 2; a record that
 * needs none of the version 3 lines is written as version 2, and only such a record. */
static void assert_encoded_version(const struct pv_record *rec, const char *head)
{
	struct pv_err err = {{0}};
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(pv_record_encode(rec, &text, &len, &err), PV_OK);
	assert_true(len > strlen(head));
	assert_memory_equal(text, head, strlen(head));
	free(text);
}

static void test_version_2_written_when_no_version_3_line_is_needed(void **state)
{
	struct pv_record *rec = malloc(sizeof(*rec));

	assert_non_null(rec);
	full_record(rec);
	rec->n_keys = 0;
	rec->n_targets = 0;
	rec->shell = PV_SHELL_AUTO;
	assert_encoded_version(rec, "pam_vendor-record 2\n");
	round_trip(rec);
	rec->shell = PV_SHELL_REFUSED;
	assert_encoded_version(rec, "pam_vendor-record 3\n");
	rec->shell = PV_SHELL_AUTO;
	rsa_key(&rec->keys[rec->n_keys++], 384, 1, "");
	assert_encoded_version(rec, "pam_vendor-record 3\n");
	rec->n_keys = 0;
	full_record(rec);
	rec->n_keys = 0;
	rec->shell = PV_SHELL_AUTO;
	assert_true(rec->n_targets > 0);
	assert_encoded_version(rec, "pam_vendor-record 3\n");
	free(rec);
}

static void test_minimal_record_round_trips(void **state)
{
	struct pv_record rec;

	pv_record_init(&rec, "a", 1);
	rec.ips[rec.n_ips++] = tu_cidr("10.0.0.0/8");
	round_trip(&rec);
}

static void test_largest_record_round_trips(void **state)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	char name[PV_NAME_MAX + 1];
	size_t i;

	assert_non_null(rec);
	memset(name, 'z', PV_NAME_MAX);
	name[PV_NAME_MAX] = '\0';
	full_record(rec);
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	memset(rec->note, 0, sizeof(rec->note));
	for (i = 0; i < PV_NOTE_MAX / 2; i++)
		memcpy(rec->note + 2 * i, "\xc3\xa9", 2); /* 100 × "é" = 200 bytes */
	rec->n_ips = 0;
	rec->n_window_ips = 0;
	for (i = 0; i < PV_MAX_IPS; i++) {
		char text[64];
		snprintf(text, sizeof(text), "2001:db8:%zx:ffff:ffff:ffff:ffff:ffff", i + 0x1000);
		rec->ips[rec->n_ips++] = tu_cidr(text);
		rec->window_ips[rec->n_window_ips++] = tu_cidr(text);
	}
	rec->n_codes = 0;
	for (i = 0; i < PV_MAX_CODES; i++) {
		struct pv_code *c = &rec->codes[rec->n_codes++];
		randombytes_buf(c->hash, sizeof(c->hash));
		c->issued = 253402300797; /* the largest times a record holds (end of year 9999) */
		c->expires = 253402300798;
		c->used_at = 253402300799;
	}
	rec->n_keys = 0;
	for (i = 0; i < PV_MAX_KEYS; i++) {
		char comment[PV_KEY_COMMENT_MAX + 1];
		memset(comment, 'c', PV_KEY_COMMENT_MAX);
		comment[PV_KEY_COMMENT_MAX] = '\0';
		rsa_key(&rec->keys[rec->n_keys++], 1024, (unsigned char)i, comment); /* 8192 bits */
	}
	rec->n_targets = 0;
	for (i = 0; i < PV_MAX_TARGETS; i++) {
		char text[64];
		snprintf(text, sizeof(text), "2001:db8:%zx:ffff:ffff:ffff:ffff:ffff", i + 0x1000);
		rec->targets[rec->n_targets].host = tu_cidr(text);
		rec->targets[rec->n_targets++].port = 65535;
	}
	round_trip(rec);
	free(rec);
}

static void test_init_zeroes_everything_but_name_and_created(void **state)
{
	struct pv_record rec;

	memset(&rec, 0xa5, sizeof(rec));
	pv_record_init(&rec, "acme", 42);
	assert_string_equal(rec.name, "acme");
	assert_int_equal(rec.created, 42);
	assert_int_equal(rec.n_ips, 0);
	assert_int_equal(rec.window_end, 0);
	assert_int_equal(rec.failures, 0);
	assert_false(rec.locked);
	assert_int_equal(rec.n_codes, 0);
	assert_false(rec.totp_enrolled);
	assert_int_equal(rec.last_login, 0);
	assert_string_equal(rec.note, "");
}

static void test_encoding_keeps_no_secret_or_note_in_clear(void **state)
{
	struct pv_record rec;
	char hex[2 * PV_CODE_HASH_BYTES + 1];
	size_t len;
	char *text;

	full_record(&rec);
	text = encode(&rec, &len);
	assert_not_contains(text, "Zo"); /* the note is hex-encoded: one line, no spaces */
	sodium_bin2hex(hex, sizeof(hex), rec.codes[0].hash, PV_CODE_HASH_BYTES);
	assert_contains(text, hex); /* hashes are stored, never the codes */
	assert_true(memchr(text, '\0', len) == NULL);
	assert_int_equal(text[len - 1], '\n');
	free(text);
}

/* Whatever pv_record_encode accepts must decode again: otherwise a saved record locks its
 * vendor out for good (even otpctl can no longer load it to repair it). */
static void assert_encode_refuses_or_round_trips(const struct pv_record *rec, const char *what)
{
	struct pv_record back;
	struct pv_err err = {{0}};
	char *text = NULL;
	size_t len = 0;

	if (pv_record_encode(rec, &text, &len, &err) != PV_OK)
		return;
	if (pv_record_decode(text, len, rec->name, &back, &err) != PV_OK) {
		free(text);
		fail_msg("%s: pv_record_encode wrote a record pv_record_decode refuses (%s)", what,
		         err.msg);
	}
	free(text);
}

static void test_last_login_without_rhost_still_decodes(void **state)
{
	struct pv_record rec;

	pv_record_init(&rec, "acme", NOW);
	rec.ips[rec.n_ips++] = tu_cidr("203.0.113.7");
	rec.last_login = NOW; /* pv_apply(rec, d, NULL, now) on a success leaves rhost empty */
	assert_encode_refuses_or_round_trips(&rec, "last_login with an empty rhost");
}

static void test_record_without_addresses_is_refused_by_encode_too(void **state)
{
	struct pv_record rec;

	pv_record_init(&rec, "acme", NOW);
	assert_encode_refuses_or_round_trips(&rec, "record with no ip");
}

/* --- strict decoding --- */

#define BASE_HEAD "pam_vendor-record 2\nname acme\nserial 7\ncreated 1700000000\n"
#define BASE_IP   "ip 203.0.113.7\n"
#define BASE_TAIL "failures 0\nlocked 0\nend\n"
#define HASH64    "0000000000000000000000000000000000000000000000000000000000000000"
#define CODE_LINE(x)                                                                               \
	"code " x "00000000000000000000000000000000"                                               \
	"0000000000000000000000000000000 1700000000 1700000900 0\n"

static int decode_n(const char *text, size_t len, const char *name, struct pv_err *err)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	int rc;

	assert_non_null(rec);
	memset(err, 0, sizeof(*err));
	rc = pv_record_decode(text, len, name, rec, err);
	if (rc != PV_OK) {
		/* A refused decode leaves nothing half-filled behind. */
		static const struct pv_record zero;
		assert_memory_equal(rec, &zero, sizeof(zero));
	}
	free(rec);
	return rc;
}

static int decode(const char *text, struct pv_err *err)
{
	return decode_n(text, strlen(text), "acme", err);
}

static void assert_decodes(const char *text)
{
	struct pv_err err;

	if (decode(text, &err) != PV_OK)
		fail_msg("refused (%s):\n%s", err.msg, text);
}

static void assert_refused(const char *text)
{
	struct pv_err err;

	if (decode(text, &err) != PV_ERR)
		fail_msg("accepted:\n%s", text);
	assert_contains(err.msg, "acme");
}

static void test_base_text_decodes(void **state)
{
	assert_decodes(BASE_HEAD BASE_IP BASE_TAIL);
	assert_decodes(BASE_HEAD BASE_IP "end\n"); /* counters are optional */
}

/* Found by fuzzing (tests/fuzz/regressions/record): times beyond year 9999 (expiry
 * arithmetic would overflow) and a last_login of 0, which the encoder never writes. */
static void test_out_of_range_times_are_refused(void **state)
{
	assert_refused(BASE_HEAD BASE_IP "code " HASH64
	                                 " 1700000000 9223372036854775807 0\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "window 1700000000 253402300800\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "last_login 0 203.0.113.7\n" BASE_TAIL);
	assert_decodes(BASE_HEAD BASE_IP "code " HASH64 " 1700000000 253402300799 0\n" BASE_TAIL);
}

static void test_wrong_magic_is_refused(void **state)
{
	assert_refused("pam_vendor-recorx 1\nname acme\n" BASE_IP "end\n");
	assert_refused("PAM_VENDOR-RECORD 1\nname acme\n" BASE_IP "end\n");
	assert_refused("name acme\npam_vendor-record 1\n" BASE_IP "end\n"); /* not first */
	assert_refused("pam_vendor-record\nname acme\n" BASE_IP "end\n");
	assert_refused("pam_vendor-record 01\nname acme\n" BASE_IP "end\n");
}

static void test_unknown_version_is_refused_saying_version(void **state)
{
	struct pv_err err;

	assert_int_equal(decode("pam_vendor-record 4\nname acme\nserial 7\n" BASE_IP "end\n", &err),
	                 PV_ERR);
	assert_contains(err.msg, "version");
	assert_contains(err.msg, "4");
	assert_int_equal(decode("pam_vendor-record 0\nname acme\n" BASE_IP "end\n", &err), PV_ERR);
	assert_contains(err.msg, "version");
}

/* Version 1 had no serial: refused with a sentence that says so, never read as serial 0. */
static void test_version_1_is_refused_saying_why(void **state)
{
	struct pv_err err;

	assert_int_equal(
	    decode("pam_vendor-record 1\nname acme\ncreated 1700000000\n" BASE_IP BASE_TAIL, &err),
	    PV_ERR);
	assert_contains(err.msg, "acme");
	assert_contains(err.msg, "version 1");
	assert_contains(err.msg, "serial");
}

/* Version 2 (before keys, targets and the shell line) still reads, with none of them; those
 * lines in a version 2 record are refused (it never had them). */
#define V3_HEAD     "pam_vendor-record 3\nname acme\nserial 7\ncreated 1700000000\n"
#define KEY_ED25519 "key AAAAC3NzaC1lZDI1NTE5AAAAIIcJbD5i4SLaQv4CzK4UJEDuYEArLTZz+Vsouj03kKDE"
static void test_version_2_decodes_without_keys_or_targets(void **state)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_err err;
	const char *v2 = BASE_HEAD BASE_IP "window 1700000000 1700003600\n" BASE_TAIL;

	assert_non_null(rec);
	assert_int_equal(pv_record_decode(v2, strlen(v2), "acme", rec, &err), PV_OK);
	assert_int_equal(rec->n_keys, 0);
	assert_int_equal(rec->n_targets, 0);
	assert_int_equal(rec->shell, PV_SHELL_AUTO);
	assert_true(pv_record_shell_allowed(rec));
	assert_int_equal(rec->window_end, 1700003600);
	free(rec);
	assert_refused(BASE_HEAD BASE_IP KEY_ED25519 "\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "target 192.0.2.10 22\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "shell 1\n" BASE_TAIL);
	assert_decodes(V3_HEAD BASE_IP KEY_ED25519 "\ntarget 192.0.2.10 22\nshell 0\n" BASE_TAIL);
}

static void test_bad_key_target_or_shell_lines_are_refused(void **state)
{
	assert_refused(V3_HEAD BASE_IP KEY_ED25519 "\n" KEY_ED25519 "\n" BASE_TAIL); /* twice */
	assert_refused(V3_HEAD BASE_IP KEY_ED25519 " 414\n" BASE_TAIL);  /* odd hex comment */
	assert_refused(V3_HEAD BASE_IP KEY_ED25519 " 0a41\n" BASE_TAIL); /* newline in it */
	assert_refused(V3_HEAD BASE_IP "key AAAAB3NzaC1kc3MAAAABAA==\n" BASE_TAIL); /* ssh-dss */
	assert_refused(V3_HEAD BASE_IP "key !!!\n" BASE_TAIL);
	assert_refused(V3_HEAD BASE_IP "target 192.0.2.0/24 22\n" BASE_TAIL);
	assert_refused(V3_HEAD BASE_IP "target example.org 22\n" BASE_TAIL);
	assert_refused(V3_HEAD BASE_IP "target 192.0.2.10 0\n" BASE_TAIL);
	assert_refused(V3_HEAD BASE_IP "target 192.0.2.10 65536\n" BASE_TAIL);
	assert_refused(V3_HEAD BASE_IP "shell 2\n" BASE_TAIL);
	assert_refused(V3_HEAD BASE_IP "shell 1\nshell 1\n" BASE_TAIL);
}

static void test_shell_defaults_to_none_with_targets(void **state)
{
	struct pv_record rec;

	pv_record_init(&rec, "acme", NOW);
	assert_true(pv_record_shell_allowed(&rec));
	rec.n_targets = 1;
	assert_false(pv_record_shell_allowed(&rec));
	rec.shell = PV_SHELL_ALLOWED;
	assert_true(pv_record_shell_allowed(&rec));
	rec.n_targets = 0;
	rec.shell = PV_SHELL_REFUSED;
	assert_false(pv_record_shell_allowed(&rec));
}

static void test_serial_is_required_once_and_in_range(void **state)
{
	assert_refused("pam_vendor-record 2\nname acme\ncreated 1700000000\n" BASE_IP BASE_TAIL);
	assert_refused("pam_vendor-record 2\nname acme\nserial 0\n" BASE_IP BASE_TAIL);
	assert_refused("pam_vendor-record 2\nname acme\nserial -1\n" BASE_IP BASE_TAIL);
	assert_refused(
	    "pam_vendor-record 2\nname acme\nserial 9223372036854775808\n" BASE_IP BASE_TAIL);
	assert_refused(BASE_HEAD "serial 8\n" BASE_IP BASE_TAIL);
	assert_decodes(
	    "pam_vendor-record 2\nname acme\nserial 9223372036854775807\n" BASE_IP BASE_TAIL);
}

/* A new record's serial is its creation time in microseconds (record.h says why). */
static void test_init_serial_comes_from_the_creation_time(void **state)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_err err;
	char *text = NULL;
	size_t len = 0;

	assert_non_null(rec);
	pv_record_init(rec, "acme", NOW);
	assert_int_equal(rec->serial, (uint64_t)NOW * PV_SERIAL_PER_SECOND);
	rec->serial = 0; /* never written */
	rec->ips[rec->n_ips++] = tu_cidr("203.0.113.7");
	assert_int_equal(pv_record_encode(rec, &text, &len, &err), PV_ERR);
	assert_null(text);
	free(rec);
}

static void test_unknown_key_is_refused(void **state)
{
	assert_refused(BASE_HEAD BASE_IP "colour red\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "Failures 0\nend\n");
	assert_refused(BASE_HEAD BASE_IP "failures 0 extra\nend\n"); /* wrong field count */
	assert_refused(BASE_HEAD BASE_IP "\nend\n");                 /* empty line */
}

static void test_duplicated_single_keys_are_refused(void **state)
{
	assert_refused(BASE_HEAD "name acme\n" BASE_IP BASE_TAIL);
	assert_refused(BASE_HEAD "created 1700000000\n" BASE_IP BASE_TAIL);
	assert_refused(BASE_HEAD "note 6162\nnote 6162\n" BASE_IP BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "window 1 2\nwindow 1 2\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "failures 1\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "locked 1\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP
	               "totp 0000000000000000000000000000000000000000 1\n"
	               "totp 0000000000000000000000000000000000000000 1\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP
	               "last_login 5 203.0.113.7\nlast_login 6 203.0.113.7\n" BASE_TAIL);
}

static void test_too_many_addresses_or_codes_are_refused(void **state)
{
	struct pv_err err;
	char *text = malloc(65536);
	size_t n;
	size_t i;

	assert_non_null(text);
	/* PV_MAX_IPS of each is fine ... */
	n = (size_t)snprintf(text, 65536, BASE_HEAD);
	for (i = 0; i < PV_MAX_IPS; i++)
		n += (size_t)snprintf(text + n, 65536 - n, "ip 10.0.0.%zu\nwindow_ip 10.0.1.%zu\n",
		                      i, i);
	for (i = 0; i < PV_MAX_CODES; i++)
		n += (size_t)snprintf(text + n, 65536 - n, CODE_LINE("0"));
	snprintf(text + n, 65536 - n, "end\n");
	if (decode(text, &err) != PV_OK)
		fail_msg("%d ips and codes refused: %s", PV_MAX_IPS, err.msg);
	/* ... one more of any is not. */
	snprintf(text + n, 65536 - n, "ip 10.0.2.1\nend\n");
	assert_int_equal(decode(text, &err), PV_ERR);
	snprintf(text + n, 65536 - n, "window_ip 10.0.2.1\nend\n");
	assert_int_equal(decode(text, &err), PV_ERR);
	snprintf(text + n, 65536 - n, CODE_LINE("1") "end\n");
	assert_int_equal(decode(text, &err), PV_ERR);
	free(text);
}

static void test_missing_end_is_refused(void **state)
{
	assert_refused(BASE_HEAD BASE_IP "failures 0\nlocked 0\n");
	assert_refused(BASE_HEAD BASE_IP "failures 0\nlocked 0\nend \n");
	assert_refused(BASE_HEAD BASE_IP "failures 0\nlocked 0\nEND\n");
}

static void test_data_after_end_is_refused(void **state)
{
	assert_refused(BASE_HEAD BASE_IP BASE_TAIL "ip 198.51.100.1\n");
	assert_refused(BASE_HEAD BASE_IP BASE_TAIL "end\n");
	assert_refused(BASE_HEAD BASE_IP BASE_TAIL "\n");
	assert_refused(BASE_HEAD BASE_IP BASE_TAIL "x");
}

static void test_missing_final_newline_is_refused(void **state)
{
	assert_refused(BASE_HEAD BASE_IP "failures 0\nlocked 0\nend");
}

static void test_record_of_another_vendor_is_refused(void **state)
{
	static const char text[] = BASE_HEAD BASE_IP BASE_TAIL;
	struct pv_err err;

	assert_int_equal(decode_n(text, strlen(text), "other", &err), PV_ERR);
	assert_contains(err.msg, "other");
	assert_contains(err.msg, "another vendor");
	assert_int_equal(decode_n(text, strlen(text), "acm", &err), PV_ERR);
	assert_int_equal(decode_n(text, strlen(text), "acmee", &err), PV_ERR);
}

static void test_missing_or_invalid_name_is_refused(void **state)
{
	assert_refused("pam_vendor-record 2\nserial 7\ncreated 1\n" BASE_IP BASE_TAIL);
	assert_refused("pam_vendor-record 2\nname ../acme\nserial 7\n" BASE_IP BASE_TAIL);
	assert_refused("pam_vendor-record 2\nname Acme\nserial 7\n" BASE_IP BASE_TAIL);
}

static void test_bad_hex_is_refused(void **state)
{
	assert_refused(BASE_HEAD "note zz\n" BASE_IP BASE_TAIL);
	assert_refused(BASE_HEAD "note 616\n" BASE_IP BASE_TAIL);    /* odd length */
	assert_refused(BASE_HEAD "note 610062\n" BASE_IP BASE_TAIL); /* hides a NUL */
	assert_refused(BASE_HEAD BASE_IP CODE_LINE("g") BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP
	               "code 00 1700000000 1700000900 0\n" BASE_TAIL); /* short hash */
	assert_refused(BASE_HEAD BASE_IP
	               "totp 000000000000000000000000000000000000000 1\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP
	               "totp 00000000000000000000000000000000000000x0 1\n" BASE_TAIL);
}

static void test_bad_numbers_and_addresses_are_refused(void **state)
{
	assert_refused(BASE_HEAD "ip 010.0.0.1\n" BASE_TAIL);
	assert_refused(BASE_HEAD "ip 10.0.0.1/8\n" BASE_TAIL); /* host bits set */
	assert_refused(BASE_HEAD "ip host.example\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "failures -1\nend\n");
	assert_refused(BASE_HEAD BASE_IP "failures 01\nend\n");
	assert_refused(BASE_HEAD BASE_IP "locked 2\nend\n");
	assert_refused(BASE_HEAD BASE_IP "window 10 10\nend\n"); /* empty window */
	assert_refused(BASE_HEAD BASE_IP "window 20 10\nend\n");
	assert_refused(BASE_HEAD BASE_IP "last_login 5 host.example\nend\n");
	assert_decodes(BASE_HEAD BASE_IP "hours 62 480 1140\n" BASE_TAIL);
	assert_refused(BASE_HEAD BASE_IP "hours 0 480 1140\nend\n");   /* no day */
	assert_refused(BASE_HEAD BASE_IP "hours 128 480 1140\nend\n"); /* no such day */
	assert_refused(BASE_HEAD BASE_IP "hours 62 1140 480\nend\n");  /* ends before start */
	assert_refused(BASE_HEAD BASE_IP "hours 62 480 480\nend\n");   /* empty */
	assert_refused(BASE_HEAD BASE_IP "hours 62 480 1441\nend\n");  /* after midnight */
	assert_refused(BASE_HEAD BASE_IP "hours 62 480\nend\n");
	assert_refused("pam_vendor-record 2\nname acme\nserial 7\ncreated -5\n" BASE_IP BASE_TAIL);
	assert_refused(
	    "pam_vendor-record 2\nname acme\nserial 7\ncreated 99999999999999999999\n" BASE_IP
	        BASE_TAIL);
}

static void test_double_or_trailing_spaces_are_refused(void **state)
{
	assert_refused(BASE_HEAD "ip  203.0.113.7\n" BASE_TAIL);
	assert_refused(BASE_HEAD "ip 203.0.113.7 \n" BASE_TAIL);
	assert_refused(BASE_HEAD " ip 203.0.113.7\n" BASE_TAIL);
	assert_refused(BASE_HEAD "ip\t203.0.113.7\n" BASE_TAIL);
}

static void test_nul_byte_is_refused(void **state)
{
	static const char text[] = BASE_HEAD "ip 203.0.113.7\0\n" BASE_TAIL;
	static const char text2[] = BASE_HEAD BASE_IP BASE_TAIL;
	char copy[sizeof(text2)];
	struct pv_err err;

	assert_int_equal(decode_n(text, sizeof(text) - 1, "acme", &err), PV_ERR);
	/* A NUL replacing the final newline's predecessor is refused too. */
	memcpy(copy, text2, sizeof(copy));
	copy[sizeof(copy) - 3] = '\0'; /* "en\0\n" */
	assert_int_equal(decode_n(copy, sizeof(copy) - 1, "acme", &err), PV_ERR);
}

static void test_empty_address_list_is_refused(void **state)
{
	assert_refused(BASE_HEAD BASE_TAIL);
	assert_refused(BASE_HEAD "window_ip 203.0.113.7\n" BASE_TAIL);
}

static void test_empty_or_overlong_text_is_refused(void **state)
{
	static const char head[] = BASE_HEAD BASE_IP "note ";
	struct pv_err err;
	char *text = malloc(4096);
	size_t n = strlen(head);

	assert_int_equal(decode_n("", 0, "acme", &err), PV_ERR);
	assert_int_equal(decode_n("\n", 1, "acme", &err), PV_ERR);
	assert_non_null(text);
	memcpy(text, head, n);
	memset(text + n, '6', 2000); /* a 2000-hex-digit note: longer than any line may be */
	snprintf(text + n + 2000, 4096 - n - 2000, "\n" BASE_TAIL);
	assert_int_equal(decode_n(text, strlen(text), "acme", &err), PV_ERR);
	free(text);
}

/* --- pruning --- */

static void add_code(struct pv_record *rec, int64_t expires, int64_t used_at, unsigned char tag)
{
	struct pv_code *c = &rec->codes[rec->n_codes++];

	memset(c->hash, tag, sizeof(c->hash));
	c->issued = expires - 900;
	c->expires = expires;
	c->used_at = used_at;
}

static void test_prune_drops_only_codes_that_can_no_longer_matter(void **state)
{
	static const struct pv_code zero;
	struct pv_record rec;
	size_t i;

	pv_record_init(&rec, "acme", NOW);
	add_code(&rec, NOW + 100, 0, 'A');       /* live: kept */
	add_code(&rec, NOW - 10, 0, 'B');        /* expired lately: kept (otp_expired) */
	add_code(&rec, NOW - 86400, 0, 'C');     /* expired a day ago: dropped */
	add_code(&rec, NOW + 100, NOW - 5, 'D'); /* used, not expired: kept (otp_reused) */
	add_code(&rec, NOW, NOW - 5, 'E');       /* used and expired now: dropped */
	add_code(&rec, NOW - 1, NOW - 50, 'F');  /* used and expired: dropped */
	add_code(&rec, NOW - 86399, 0, 'G');     /* one second short of a day: kept */
	add_code(&rec, NOW - 3 * 86400, 0, 'H'); /* long gone: dropped */
	pv_record_prune_codes(&rec, NOW);
	assert_int_equal(rec.n_codes, 4);
	assert_int_equal(rec.codes[0].hash[0], 'A'); /* order is kept */
	assert_int_equal(rec.codes[1].hash[0], 'B');
	assert_int_equal(rec.codes[2].hash[0], 'D');
	assert_int_equal(rec.codes[3].hash[0], 'G');
	assert_int_equal(rec.codes[2].used_at, NOW - 5);
	for (i = rec.n_codes; i < 8; i++)
		assert_memory_equal(&rec.codes[i], &zero, sizeof(zero)); /* wiped */
}

static void test_prune_after_clock_step_back_keeps_used_code(void **state)
{
	struct pv_record rec;

	pv_record_init(&rec, "acme", NOW);
	add_code(&rec, NOW + 900, NOW + 10, 'U'); /* used at NOW+10, then the clock went back */
	pv_record_prune_codes(&rec, NOW);
	assert_int_equal(rec.n_codes, 1);
	assert_int_equal(rec.codes[0].used_at, NOW + 10);
}

static void test_prune_of_empty_list_is_a_no_op(void **state)
{
	struct pv_record rec;

	pv_record_init(&rec, "acme", NOW);
	pv_record_prune_codes(&rec, NOW);
	assert_int_equal(rec.n_codes, 0);
}

static void test_allowed_ips_prefer_the_window_list(void **state)
{
	struct pv_record rec;
	const struct pv_cidr *list;
	size_t n = 99;

	pv_record_init(&rec, "acme", NOW);
	rec.ips[rec.n_ips++] = tu_cidr("203.0.113.0/24");
	rec.ips[rec.n_ips++] = tu_cidr("198.51.100.1");
	list = pv_record_allowed_ips(&rec, &n);
	assert_ptr_equal(list, rec.ips);
	assert_int_equal(n, 2);
	rec.window_ips[rec.n_window_ips++] = tu_cidr("203.0.113.5");
	list = pv_record_allowed_ips(&rec, &n);
	assert_ptr_equal(list, rec.window_ips);
	assert_int_equal(n, 1);
}

static void test_wipe_zeroes_the_record(void **state)
{
	static const struct pv_record zero;
	struct pv_record rec;

	full_record(&rec);
	pv_record_wipe(&rec);
	assert_memory_equal(&rec, &zero, sizeof(rec));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_record_round_trips),
	    cmocka_unit_test(test_minimal_record_round_trips),
	    cmocka_unit_test(test_version_2_written_when_no_version_3_line_is_needed),
	    cmocka_unit_test(test_largest_record_round_trips),
	    cmocka_unit_test(test_init_zeroes_everything_but_name_and_created),
	    cmocka_unit_test(test_encoding_keeps_no_secret_or_note_in_clear),
	    cmocka_unit_test(test_last_login_without_rhost_still_decodes),
	    cmocka_unit_test(test_record_without_addresses_is_refused_by_encode_too),
	    cmocka_unit_test(test_base_text_decodes),
	    cmocka_unit_test(test_wrong_magic_is_refused),
	    cmocka_unit_test(test_unknown_version_is_refused_saying_version),
	    cmocka_unit_test(test_version_1_is_refused_saying_why),
	    cmocka_unit_test(test_version_2_decodes_without_keys_or_targets),
	    cmocka_unit_test(test_bad_key_target_or_shell_lines_are_refused),
	    cmocka_unit_test(test_shell_defaults_to_none_with_targets),
	    cmocka_unit_test(test_serial_is_required_once_and_in_range),
	    cmocka_unit_test(test_init_serial_comes_from_the_creation_time),
	    cmocka_unit_test(test_unknown_key_is_refused),
	    cmocka_unit_test(test_duplicated_single_keys_are_refused),
	    cmocka_unit_test(test_too_many_addresses_or_codes_are_refused),
	    cmocka_unit_test(test_missing_end_is_refused),
	    cmocka_unit_test(test_data_after_end_is_refused),
	    cmocka_unit_test(test_missing_final_newline_is_refused),
	    cmocka_unit_test(test_record_of_another_vendor_is_refused),
	    cmocka_unit_test(test_missing_or_invalid_name_is_refused),
	    cmocka_unit_test(test_bad_hex_is_refused),
	    cmocka_unit_test(test_bad_numbers_and_addresses_are_refused),
	    cmocka_unit_test(test_double_or_trailing_spaces_are_refused),
	    cmocka_unit_test(test_nul_byte_is_refused),
	    cmocka_unit_test(test_out_of_range_times_are_refused),
	    cmocka_unit_test(test_empty_address_list_is_refused),
	    cmocka_unit_test(test_empty_or_overlong_text_is_refused),
	    cmocka_unit_test(test_prune_drops_only_codes_that_can_no_longer_matter),
	    cmocka_unit_test(test_prune_after_clock_step_back_keeps_used_code),
	    cmocka_unit_test(test_prune_of_empty_list_is_a_no_op),
	    cmocka_unit_test(test_allowed_ips_prefer_the_window_list),
	    cmocka_unit_test(test_wipe_zeroes_the_record),
	};

	assert_true(sodium_init() >= 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

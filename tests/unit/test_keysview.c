/* SPDX-License-Identifier: BSD-3-Clause */
/* test_keysview.c — unit tests for core/keysview.c: the keys view carries the public part of
 * each record and nothing secret, reads back strictly (any damage refuses the whole view), and
 * the authorized_keys lines are printed only while the window is open, restricted to the
 * addresses, targets and shell choice. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "keysview.h"
#include "testutil.h"

#define NOW         INT64_C(1800000000)
#define ED25519_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIIcJbD5i4SLaQv4CzK4UJEDuYEArLTZz+Vsouj03kKDE"

static void vendor(struct pv_record *rec, const char *name)
{
	pv_record_init(rec, name, NOW - 86400);
	rec->ips[rec->n_ips++] = tu_cidr("203.0.113.7");
	rec->ips[rec->n_ips++] = tu_cidr("2001:db8:7::/48");
	rec->window_start = NOW - 60;
	rec->window_end = NOW + 3600;
	assert_int_equal(pv_sshkey_from_base64(ED25519_B64, strlen(ED25519_B64), &rec->keys[0]),
	                 PV_OK);
	snprintf(rec->keys[0].comment, sizeof(rec->keys[0].comment), "alice@acme");
	rec->n_keys = 1;
	snprintf(rec->note, sizeof(rec->note), "secret note");
	rec->totp_enrolled = true;
	memset(rec->totp_secret, 0x42, sizeof(rec->totp_secret));
	rec->n_codes = 1;
	memset(rec->codes[0].hash, 0x17, sizeof(rec->codes[0].hash));
	rec->codes[0].issued = NOW - 10;
	rec->codes[0].expires = NOW + 600;
}

static char *lines_for(const struct pv_record *rec, int64_t now, int wday, int minute)
{
	struct pv_buf out;
	char *copy;

	pv_buf_init(&out, 1 << 20);
	pv_view_authorized_keys(rec, now, wday, minute, &out);
	assert_false(out.failed);
	copy = strdup(out.len ? out.data : "");
	pv_buf_free(&out);
	return copy;
}

static void test_view_round_trips_the_public_part_only(void **state)
{
	struct pv_record *recs = calloc(2, sizeof(*recs));
	struct pv_record *back = malloc(sizeof(*back));
	struct pv_buf text;
	struct pv_err err;

	assert_non_null(recs);
	assert_non_null(back);
	vendor(&recs[0], "acme");
	vendor(&recs[1], "bob");
	recs[1].locked = true;
	assert_int_equal(pv_view_encode(recs, 2, &text, &err), PV_OK);
	assert_null(strstr(text.data, "\ncode "));
	assert_null(strstr(text.data, "\ntotp "));
	assert_null(strstr(text.data, "\nnote "));
	assert_int_equal(pv_view_find(text.data, text.len, "bob", back, &err), PV_OK);
	assert_true(back->locked);
	assert_int_equal(back->n_keys, 1);
	assert_memory_equal(back->keys[0].blob, recs[1].keys[0].blob, back->keys[0].blob_len);
	assert_int_equal(back->window_end, NOW + 3600);
	assert_int_equal(back->n_codes, 0);
	assert_false(back->totp_enrolled);
	assert_int_equal(pv_view_find(text.data, text.len, "carol", back, &err), PV_NOTFOUND);
	pv_buf_free(&text);
	free(back);
	free(recs);
}

static void assert_view_refused(const char *text)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_err err;

	assert_non_null(rec);
	if (pv_view_find(text, strlen(text), "acme", rec, &err) != PV_ERR)
		fail_msg("accepted: %s", text);
	free(rec);
}

#define REC(name)                                                                                  \
	"pam_vendor-record 3\nname " name "\nserial 7\ncreated 1700000000\nip 203.0.113.7\nend\n"
static void test_damaged_view_is_refused_whole(void **state)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_err err;
	const char *good = PV_VIEW_MAGIC "\n" REC("acme") REC("bob") "view-end\n";

	assert_non_null(rec);
	assert_int_equal(pv_view_find(good, strlen(good), "acme", rec, &err), PV_OK);
	free(rec);
	assert_view_refused("");
	assert_view_refused(PV_VIEW_MAGIC "\n" REC("acme")); /* no trailer */
	assert_view_refused(REC("acme") "view-end\n");       /* no header */
	assert_view_refused(PV_VIEW_MAGIC "\n" REC("acme") REC("acme") "view-end\n"); /* twice */
	/* Another vendor's entry damaged: refused, not only that vendor's. */
	assert_view_refused(PV_VIEW_MAGIC "\n" REC("acme") "pam_vendor-record 3\nname bob\nend\n"
	                                                   "view-end\n");
	assert_view_refused(PV_VIEW_MAGIC "\n" REC("acme") "garbage\nview-end\n");
}

static void test_keys_only_while_the_window_is_open(void **state)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	char *lines;

	assert_non_null(rec);
	vendor(rec, "acme");
	lines = lines_for(rec, NOW, 1, 600);
	assert_string_equal(
	    lines, "restrict,pty,from=\"203.0.113.7,2001:db8:7::/48\" ssh-ed25519 " ED25519_B64
	           " alice@acme\n");
	free(lines);
	lines = lines_for(rec, NOW + 3600, 1, 600); /* the window's end: closed */
	assert_string_equal(lines, "");
	free(lines);
	lines = lines_for(rec, NOW - 61, 1, 600); /* before its start */
	assert_string_equal(lines, "");
	free(lines);
	rec->locked = true;
	lines = lines_for(rec, NOW, 1, 600);
	assert_string_equal(lines, "");
	free(lines);
	rec->locked = false;
	rec->hours.rule[rec->hours.n++] = (struct pv_schedule_rule){0x3e, 8 * 60, 18 * 60};
	lines = lines_for(rec, NOW, 0, 600); /* Sunday */
	assert_string_equal(lines, "");
	free(lines);
	lines = lines_for(rec, NOW, -1, -1); /* local time unknown */
	assert_string_equal(lines, "");
	free(lines);
	lines = lines_for(rec, NOW, 1, 600); /* Monday 10:00 */
	assert_non_null(strstr(lines, "ssh-ed25519"));
	free(lines);
	rec->window_end = 0; /* disabled */
	lines = lines_for(rec, NOW, 1, 600);
	assert_string_equal(lines, "");
	free(lines);
	free(rec);
}

static void test_lines_follow_targets_shell_and_narrowed_window(void **state)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	char *lines;

	assert_non_null(rec);
	vendor(rec, "acme");
	rec->window_ips[rec->n_window_ips++] = tu_cidr("203.0.113.7");
	rec->targets[0].host = tu_cidr("192.0.2.10");
	rec->targets[0].port = 22;
	rec->targets[1].host = tu_cidr("2001:db8::10");
	rec->targets[1].port = 443;
	rec->n_targets = 2;
	lines = lines_for(rec, NOW, 1, 600);
	assert_string_equal(lines, "restrict,command=\"" PV_VIEW_NO_SHELL_COMMAND
	                           "\",port-forwarding,permitopen=\"192.0.2.10:22\","
	                           "permitopen=\"[2001:db8::10]:443\",from=\"203.0.113.7\" "
	                           "ssh-ed25519 " ED25519_B64 " alice@acme\n");
	free(lines);
	rec->shell = PV_SHELL_ALLOWED;
	lines = lines_for(rec, NOW, 1, 600);
	assert_non_null(strstr(lines, "restrict,pty,port-forwarding,"));
	free(lines);
	free(rec);
}

/* An RSA key of 8192 bits: its line is longer than any printf buffer. */
static void test_long_rsa_key_lines_are_complete(void **state)
{
	static const unsigned char head[] = {0, 0, 0, 7, 's', 's', 'h', '-', 'r', 's', 'a', 0,
	                                     0, 0, 3, 1, 0,   1,   0,   0,   4,   1,   0};
	struct pv_record *rec = malloc(sizeof(*rec));
	char b64[PV_KEY_B64_MAX];
	char *lines;

	assert_non_null(rec);
	vendor(rec, "acme");
	memset(&rec->keys[0], 0, sizeof(rec->keys[0]));
	memcpy(rec->keys[0].blob, head, sizeof(head));
	memset(rec->keys[0].blob + sizeof(head), 0xc5, 1024);
	rec->keys[0].blob_len = sizeof(head) + 1024;
	pv_sshkey_base64(&rec->keys[0], b64);
	lines = lines_for(rec, NOW, 1, 600);
	assert_non_null(strstr(lines, b64));
	assert_int_equal(lines[strlen(lines) - 1], '\n');
	free(lines);
	free(rec);
}

/* The largest public part a record can have fits PV_VIEW_ENTRY_MAX, so every view a store
 * can hold is read back by the command. */
static void test_largest_entry_fits_the_bound(void **state)
{
	static const unsigned char head[] = {0, 0, 0, 7, 's', 's', 'h', '-', 'r', 's', 'a', 0,
	                                     0, 0, 3, 1, 0,   1,   0,   0,   4,   1,   0};
	struct pv_record *rec = calloc(1, sizeof(*rec));
	struct pv_buf text;
	struct pv_err err;
	size_t i;

	assert_non_null(rec);
	vendor(rec, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
	rec->n_ips = 0;
	for (i = 0; i < PV_MAX_IPS; i++) {
		char a[64];
		snprintf(a, sizeof(a), "2001:db8:%zx:ffff:ffff:ffff:ffff:ffff", i + 0x1000);
		rec->ips[rec->n_ips++] = tu_cidr(a);
		rec->window_ips[rec->n_window_ips++] = tu_cidr(a);
	}
	for (i = 0; i < PV_SCHEDULE_MAX_RULES; i++)
		rec->hours.rule[rec->hours.n++] = (struct pv_schedule_rule){0x7f, 1000, 1440};
	for (i = 0; i < PV_MAX_KEYS; i++) {
		memcpy(rec->keys[i].blob, head, sizeof(head));
		memset(rec->keys[i].blob + sizeof(head), (int)(0x80 + i), 1024);
		rec->keys[i].blob_len = sizeof(head) + 1024;
		memset(rec->keys[i].comment, 'c', PV_KEY_COMMENT_MAX);
		rec->keys[i].comment[PV_KEY_COMMENT_MAX] = '\0';
	}
	rec->n_keys = PV_MAX_KEYS;
	for (i = 0; i < PV_MAX_TARGETS; i++) {
		char a[64];
		snprintf(a, sizeof(a), "2001:db8:%zx:ffff:ffff:ffff:ffff:ffff", i + 0x2000);
		rec->targets[i].host = tu_cidr(a);
		rec->targets[i].port = 65535;
	}
	rec->n_targets = PV_MAX_TARGETS;
	rec->window_start = INT64_C(253402300700);
	rec->window_end = INT64_C(253402300799);
	if (pv_view_encode(rec, 1, &text, &err) != PV_OK)
		fail_msg("refused: %s", err.msg);
	assert_true(text.len < PV_VIEW_ENTRY_MAX);
	pv_buf_free(&text);
	free(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_view_round_trips_the_public_part_only),
	    cmocka_unit_test(test_damaged_view_is_refused_whole),
	    cmocka_unit_test(test_keys_only_while_the_window_is_open),
	    cmocka_unit_test(test_lines_follow_targets_shell_and_narrowed_window),
	    cmocka_unit_test(test_long_rsa_key_lines_are_complete),
	    cmocka_unit_test(test_largest_entry_fits_the_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

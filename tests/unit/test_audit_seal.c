/* SPDX-License-Identifier: BSD-3-Clause */
/* test_audit_seal.c — unit tests for core/audit_seal.c: forward-secure sealing. Seal lines
 * come at each epoch turn (next append, or pv_audit_seal_due when idle) and the key evolves;
 * with the verification key, an edit of a sealed epoch is caught by an attacker holding the
 * MAC key and a later epoch's key, an older log + head put back is caught, seals continue
 * across rotated (plain and gzip) files, and a repeated seal after a crash is accepted. Time
 * is the `now` each call is given: no clock is read. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <zlib.h>

#include "audit.h"
#include "audit_int.h"
#include "audit_seal.h"
#include "audit_fixture.h"

#define T0    INT64_C(1800000000) /* 2027-01-15T08:00:00Z */
#define EPOCH INT64_C(60)

/* The audit fixture, then sealing set up from T0 with EPOCH-second epochs (f->vkey). */
static int seal_setup(void **state)
{
	char text[PV_AUDIT_SEAL_KEY_TEXT_MAX];
	struct fixture *f;
	struct pv_err err;

	setup(state);
	f = *state;
	if (pv_audit_seal_setup(f->log, EPOCH, T0, text, sizeof(text), &err) != PV_OK)
		fail_msg("setup: %s", err.msg);
	if (pv_audit_seal_key_parse(text, &f->vkey, &err) != PV_OK)
		fail_msg("parse %s: %s", text, err.msg);
	return 0;
}

static void append_at(const struct fixture *f, const char *user, int64_t now)
{
	const struct pv_audit_sink sink = {.log = f->log, .keys = &f->keys, .lock_timeout = 5};
	struct pv_audit_event ev;
	struct pv_err err;

	pv_audit_event_init(&ev);
	ev.event = "auth";
	ev.service = "sshd";
	ev.user = user;
	ev.rhost = "203.0.113.7";
	ev.result = "deny";
	ev.reason = "otp_invalid";
	if (pv_audit_append(&sink, &ev, now, &err) != PV_OK)
		fail_msg("append %s at %" PRId64 ": %s", user, now, err.msg);
}

static void seal_at(const struct fixture *f, int64_t now)
{
	const struct pv_audit_sink sink = {.log = f->log, .keys = &f->keys, .lock_timeout = 5};
	struct pv_err err;

	if (pv_audit_seal_due(&sink, now, &err) != PV_OK)
		fail_msg("seal at %" PRId64 ": %s", now, err.msg);
}

static struct pv_audit_verify_result verify_sealed(const struct fixture *f, int64_t now,
                                                   struct pv_audit_seal_result *sr)
{
	struct pv_audit_verify_result res;
	struct pv_err err = {{0}};

	if (pv_audit_verify_sealed(f->log, &f->keys, &f->vkey, now, &res, sr, &err) != PV_OK)
		fail_msg("pv_audit_verify_sealed: %s", err.msg);
	return res;
}

static void assert_sealed_intact(const struct fixture *f, int64_t now, uint64_t through)
{
	struct pv_audit_seal_result sr;
	struct pv_audit_verify_result res = verify_sealed(f, now, &sr);

	if (!res.intact)
		fail_msg("not intact: %s", res.problem);
	assert_true(sr.sealed);
	assert_int_equal(sr.sealed_through, through);
	assert_int_equal(sr.sealed_until, T0 + ((int64_t)through + 1) * EPOCH);
}

static void assert_sealed_broken(const struct fixture *f, int64_t now, const char *piece1,
                                 const char *piece2)
{
	struct pv_audit_seal_result sr;
	struct pv_audit_verify_result res = verify_sealed(f, now, &sr);

	if (res.intact)
		fail_msg("verified intact, expected: %s", piece1);
	assert_contains(res.problem, piece1);
	if (piece2 != NULL)
		assert_contains(res.problem, piece2);
}

/* The line numbers (1-based) of the log's seal lines, and how many. */
static size_t seal_lines(const struct fixture *f, size_t at[], size_t max)
{
	size_t len = 0, n = 0, lineno = 1;
	unsigned char *data = tu_read_file(f->log, &len);
	char *p;

	assert_non_null(data);
	for (p = (char *)data; p < (char *)data + len; lineno++) {
		char *nl = memchr(p, '\n', (size_t)((char *)data + len - p));
		assert_non_null(nl);
		*nl = '\0';
		if (strstr(p, "\"event\":\"seal\"") != NULL && n < max)
			at[n++] = lineno;
		p = nl + 1;
	}
	free(data);
	return n;
}

/* --- the attacker holding the MAC key: re-chain the log after an edit --- */

/* The chain of the file starts at its first line's seq, after its prev. */
static void start_at_first_line(const char *body, const char *prev_at,
                                unsigned char prev[PV_AUDIT_MAC_BYTES], struct pv_audit_pos *pos,
                                uint64_t *first_seq)
{
	const char *seq_at = strstr(body, "\"seq\":");

	assert_non_null(seq_at);
	*first_seq = strtoull(seq_at + 6, NULL, 10);
	assert_true(*first_seq >= 1);
	pos->seq = *first_seq - 1;
	assert_int_equal(sodium_hex2bin(prev, PV_AUDIT_MAC_BYTES, prev_at + 8, PV_AUDIT_MAC_HEX,
	                                NULL, NULL, NULL),
	                 0);
}

/* Rewrite every line's prev and MAC with the audit key after `edit` changed line `which`
 * (1-based; its first "from" becomes "to"), then the head: the local chain verifies again. */
static void edit_and_rechain(const struct fixture *f, size_t which, const char *from,
                             const char *to)
{
	unsigned char prev[PV_AUDIT_MAC_BYTES] = {0};
	struct pv_audit_files files;
	struct pv_audit_head_file hf = {.fd = -1};
	struct pv_audit_pos pos = {0};
	struct pv_audit_pos before = {0};
	struct pv_buf out;
	struct pv_err err;
	size_t len = 0, lineno = 1;
	uint64_t first_seq = 1;
	unsigned char *data = tu_read_file(f->log, &len);
	char *p;

	assert_non_null(data);
	pv_buf_init(&out, 1 << 24);
	for (p = (char *)data; p < (char *)data + len; lineno++) {
		char *nl = memchr(p, '\n', (size_t)((char *)data + len - p));
		char body[PV_AUDIT_LINE_MAX];
		char prev_hex[PV_AUDIT_MAC_HEX + 1];
		char mac_hex[PV_AUDIT_MAC_HEX + 1];
		char *mark, *prev_at, *hit;

		assert_non_null(nl);
		*nl = '\0';
		mark = strstr(p, ",\"mac\":\"");
		assert_non_null(mark);
		*mark = '\0';
		snprintf(body, sizeof(body), "%s", p);
		if (lineno == which) {
			char tmp[PV_AUDIT_LINE_MAX];
			hit = strstr(body, from);
			assert_non_null(hit);
			snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(hit - body), body, to,
			         hit + strlen(from));
			snprintf(body, sizeof(body), "%s", tmp);
		}
		prev_at = strstr(body, "\"prev\":\"");
		assert_non_null(prev_at);
		if (lineno == 1) /* a live file after rotation starts past seq 1: keep its link */
			start_at_first_line(body, prev_at, prev, &pos, &first_seq);
		sodium_bin2hex(prev_hex, sizeof(prev_hex), prev, sizeof(prev));
		memcpy(prev_at + 8, prev_hex, PV_AUDIT_MAC_HEX);
		memcpy(before.mac, prev, sizeof(prev));
		before.seq = pos.seq;
		pv_audit_mac(&f->keys, body, strlen(body), prev);
		sodium_bin2hex(mac_hex, sizeof(mac_hex), prev, sizeof(prev));
		pv_buf_printf(&out, "%s,\"mac\":\"%s\"}\n", body, mac_hex);
		pos.seq++;
		p = nl + 1;
	}
	free(data);
	assert_false(out.failed);
	tu_write_file(f->log, out.data, out.len, 0600);
	pv_buf_free(&out);
	memcpy(pos.mac, prev, sizeof(prev));
	pos.live_start = first_seq;
	before.live_start = first_seq;
	assert_int_equal(pv_audit_files_open(f->log, &files, &err), PV_OK);
	assert_int_equal(unlink(f->head), 0);
	assert_int_equal(pv_audit_head_write(&hf, &files, &f->keys, &pos, &before, &err), PV_OK);
	pv_audit_files_close(&files);
}

static void assert_locally_intact(const struct fixture *f)
{
	struct pv_audit_verify_result res;
	struct pv_err err = {{0}};

	assert_int_equal(pv_audit_verify(f->log, &f->keys, &res, &err), PV_OK);
	if (!res.intact)
		fail_msg("local verify: %s", res.problem);
}

/* --- tests --- */

static void test_setup_creates_a_private_state_once(void **state)
{
	struct fixture *f = *state;
	char text[PV_AUDIT_SEAL_KEY_TEXT_MAX];
	struct pv_err err;
	unsigned char *before;
	size_t len;

	assert_int_equal(tu_mode(f->state), 0600);
	before = tu_read_file(f->state, &len);
	assert_non_null(before);
	assert_int_equal(pv_audit_seal_setup(f->log, EPOCH, T0 + 5, text, sizeof(text), &err),
	                 PV_EXISTS);
	assert_contains(err.msg, "already set up");
	tu_assert_file_bytes(f->state, before, len);
	free(before);
}

static void test_bad_verification_keys_are_refused(void **state)
{
	struct pv_audit_seal_key k;
	struct pv_err err;

	(void)state;
	assert_int_equal(pv_audit_seal_key_parse("pvseal1-abc-1-900", &k, &err), PV_ERR);
	assert_contains(err.msg, "verification key");
	assert_int_equal(
	    pv_audit_seal_key_parse("pvseal1-"
	                            "0000000000000000000000000000000000000000000000000000"
	                            "000000000000-1800000000-5",
	                            &k, &err),
	    PV_ERR);
	assert_int_equal(
	    pv_audit_seal_key_parse("pvseal1-"
	                            "0000000000000000000000000000000000000000000000000000"
	                            "000000000000-1800000000-900x",
	                            &k, &err),
	    PV_ERR);
}

/* The next append after an epoch turns writes one seal line first, for every epoch ended. */
static void test_the_epoch_turn_seals_before_the_next_line(void **state)
{
	struct fixture *f = *state;
	size_t at[8];

	append_at(f, "a", T0 + 1);
	append_at(f, "b", T0 + 30);
	assert_int_equal(seal_lines(f, at, 8), 0);
	append_at(f, "c", T0 + EPOCH + 1); /* epoch 1: seal of epoch 0 first */
	assert_int_equal(seal_lines(f, at, 8), 1);
	assert_int_equal(at[0], 3);
	append_at(f, "d", T0 + 5 * EPOCH + 1); /* epochs 1..4 ended: one seal line */
	assert_int_equal(seal_lines(f, at, 8), 2);
	assert_int_equal(at[1], 5);
	assert_sealed_intact(f, T0 + 5 * EPOCH + 30, 4);
	assert_locally_intact(f);
}

/* pv_audit_seal_due (otpctl expire) seals idle epochs, without any other line. */
static void test_idle_epochs_are_sealed_by_expire(void **state)
{
	struct fixture *f = *state;
	size_t at[8];

	append_at(f, "a", T0 + 1);
	seal_at(f, T0 + 10); /* nothing ended yet */
	assert_int_equal(seal_lines(f, at, 8), 0);
	seal_at(f, T0 + EPOCH + 2);
	seal_at(f, T0 + 2 * EPOCH + 2);
	seal_at(f, T0 + 2 * EPOCH + 50); /* nothing new */
	assert_int_equal(seal_lines(f, at, 8), 2);
	assert_sealed_intact(f, T0 + 2 * EPOCH + 55, 1);
	/* Idle and unsealed for more than an epoch (and the tolerance): sealing stopped. */
	assert_sealed_broken(f, T0 + 4 * EPOCH + PV_AUDIT_SEAL_TOLERANCE + 1, "sealed only up to",
	                     "epoch 1");
}

/* Root at epoch 3 holds the MAC key and k_3: an edit of a line of epoch 1, re-chained with the
 * MAC key, passes the local verify but not the seals, which name the epoch. */
static void test_edit_of_an_earlier_epoch_is_caught_with_a_later_key(void **state)
{
	struct fixture *f = *state;

	append_at(f, "a", T0 + 1);
	append_at(f, "victim", T0 + EPOCH + 1); /* line 3, after the seal of epoch 0 */
	append_at(f, "c", T0 + 2 * EPOCH + 1);
	append_at(f, "d", T0 + 3 * EPOCH + 1);
	assert_sealed_intact(f, T0 + 3 * EPOCH + 2, 2);
	edit_and_rechain(f, 3, "\"user\":\"victim\"", "\"user\":\"nobody\"");
	assert_locally_intact(f);
	assert_sealed_broken(f, T0 + 3 * EPOCH + 2, "the seal of epoch 1 (to 1) does not match",
	                     "line 4");
}

/* The limit: lines after the last seal (the epoch the attacker's key belongs to) can be
 * forged with that key's holder's MAC key; they pass, up to that epoch only. */
static void test_lines_of_the_open_epoch_are_not_sealed_yet(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_seal_result sr;
	struct pv_audit_verify_result res;

	append_at(f, "a", T0 + 1);
	append_at(f, "b", T0 + EPOCH + 1); /* seal of epoch 0, then b */
	append_at(f, "c", T0 + EPOCH + 2);
	edit_and_rechain(f, 4, "\"user\":\"c\"", "\"user\":\"x\"");
	res = verify_sealed(f, T0 + EPOCH + 3, &sr);
	assert_true(res.intact);
	assert_int_equal(sr.open_lines, 2);
	assert_int_equal(sr.sealed_through, 0);
}

/* An older log + head pair put back (both valid, the local verify passes): the seals stop
 * long before now. */
static void test_older_log_and_head_put_back_is_caught(void **state)
{
	struct fixture *f = *state;
	unsigned char *old_log, *old_head;
	size_t log_len, head_len;
	int i;

	append_at(f, "a", T0 + 1);
	append_at(f, "b", T0 + EPOCH + 1);
	old_log = tu_read_file(f->log, &log_len);
	old_head = tu_read_file(f->head, &head_len);
	assert_non_null(old_log);
	assert_non_null(old_head);
	for (i = 2; i < 10; i++)
		append_at(f, "later", T0 + i * EPOCH + 1);
	assert_sealed_intact(f, T0 + 9 * EPOCH + 2, 8);
	tu_write_file(f->log, old_log, log_len, 0600);
	tu_write_file(f->head, old_head, head_len, 0600);
	free(old_log);
	free(old_head);
	assert_locally_intact(f);
	assert_sealed_broken(f, T0 + 9 * EPOCH + 2, "sealed only up to", "older copy");
}

/* A seal line removed (and the chain re-made with the MAC key): the next seal does not
 * follow the one before. */
static void test_removed_seal_is_caught(void **state)
{
	struct fixture *f = *state;

	append_at(f, "a", T0 + 1);
	append_at(f, "b", T0 + EPOCH + 1);                    /* seal 0..0 at line 2 */
	append_at(f, "c", T0 + 2 * EPOCH + 1);                /* seal 1..1 at line 4 */
	append_at(f, "d", T0 + 3 * EPOCH + 1);                /* seal 2..2 at line 6 */
	edit_and_rechain(f, 4, "\"seal_id\"", "\"seal_jd\""); /* no longer our seal */
	assert_locally_intact(f);
	assert_sealed_broken(f, T0 + 3 * EPOCH + 2, "seal of epochs 2..2", "end at epoch 0");
}

/* A verification key other than the one printed: none of the seals is its own. */
static void test_another_verification_key_finds_no_seal(void **state)
{
	struct fixture *f = *state;

	append_at(f, "a", T0 + 1);
	append_at(f, "b", T0 + 5 * EPOCH + 1);
	f->vkey.k0[0] ^= 1;
	assert_sealed_broken(f, T0 + 5 * EPOCH + 2, "sealed only up to", NULL);
}

/* A crash after the seal line, before the key evolved: the next seal starts at the same
 * epoch again, and the log still verifies. */
static void test_seal_repeated_after_a_crash_is_accepted(void **state)
{
	struct fixture *f = *state;
	unsigned char *st;
	size_t len;
	size_t at[8];

	append_at(f, "a", T0 + 1);
	st = tu_read_file(f->state, &len);
	assert_non_null(st);
	append_at(f, "b", T0 + EPOCH + 1);      /* seal 0..0, then the key evolves */
	tu_write_file(f->state, st, len, 0600); /* "the evolution never happened" */
	free(st);
	append_at(f, "c", T0 + 2 * EPOCH + 1); /* seal 0..1 again */
	assert_int_equal(seal_lines(f, at, 8), 2);
	assert_sealed_intact(f, T0 + 2 * EPOCH + 2, 1);
}

/* A damaged sealing state is refused: the append fails (vendors are denied), the log is
 * untouched. */
static void test_damaged_state_refuses_the_append(void **state)
{
	struct fixture *f = *state;
	const struct pv_audit_sink sink = {.log = f->log, .keys = &f->keys, .lock_timeout = 5};
	struct pv_audit_event ev;
	struct pv_err err;
	unsigned char *st;
	size_t len;

	append_at(f, "a", T0 + 1);
	st = tu_read_file(f->state, &len);
	assert_non_null(st);
	st[40] ^= 1;
	tu_write_file(f->state, st, len, 0600);
	free(st);
	pv_audit_event_init(&ev);
	ev.event = "auth";
	assert_int_equal(pv_audit_append(&sink, &ev, T0 + 2, &err), PV_ERR);
	assert_contains(err.msg, ".seal is damaged");
}

/* The state holds only the current epoch's key: neither the verification key nor, once the
 * epoch has turned, the key before. */
static void test_state_forgets_the_earlier_key(void **state)
{
	struct fixture *f = *state;
	char k0_hex[2 * PV_KEY_BYTES + 1];
	unsigned char epoch0[64];
	unsigned char *st;
	size_t len;

	sodium_bin2hex(k0_hex, sizeof(k0_hex), f->vkey.k0, sizeof(f->vkey.k0));
	st = tu_read_file(f->state, &len);
	assert_non_null(st);
	assert_null(strstr((char *)st, k0_hex)); /* never the verification key itself */
	free(st);
	st = tu_read_file(f->state, &len);
	assert_non_null(st);
	memcpy(epoch0, st + 40, 64); /* the key's hex after the magic and the numbers */
	free(st);
	seal_at(f, T0 + EPOCH + 1);
	st = tu_read_file(f->state, &len);
	assert_non_null(st);
	assert_int_equal(len, 256);
	assert_null(strstr((char *)st, k0_hex));
	assert_null(memmem(st, len, epoch0, sizeof(epoch0)));
	assert_non_null(strstr((char *)st, " 60 1800000000 1 "));
	free(st);
}

/* Seals continue across logrotate's create mode, and the check spans .1 and .gz files. */
static void test_seals_continue_across_rotated_files(void **state)
{
	struct fixture *f = *state;
	char rotated[PATH_MAX + 8];
	char gz_path[PATH_MAX + 8];
	unsigned char *data;
	size_t len;
	gzFile gz;

	append_at(f, "a", T0 + 1);
	append_at(f, "b", T0 + EPOCH + 1);
	/* rotate twice: the oldest compressed */
	snprintf(rotated, sizeof(rotated), "%s.1", f->log);
	snprintf(gz_path, sizeof(gz_path), "%s.2.gz", f->log);
	data = tu_read_file(f->log, &len);
	assert_non_null(data);
	gz = gzopen(gz_path, "wb");
	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
	assert_int_equal(gzclose(gz), Z_OK);
	assert_int_equal(chmod(gz_path, 0600), 0);
	free(data);
	assert_int_equal(unlink(f->log), 0);
	append_at(f, "c", T0 + 2 * EPOCH + 1);
	assert_int_equal(rename(f->log, rotated), 0);
	append_at(f, "d", T0 + 3 * EPOCH + 1);
	assert_sealed_intact(f, T0 + 3 * EPOCH + 2, 2);
}

/* Once seq 1 has been rotated away, the first seal read may name any epoch. A root attacker
 * of epoch 10 (MAC key and k_10) edits a line of epoch 2, strips the seals after it and lets
 * the writer seal epoch 10 with k_10: that seal would cover lines older than its epoch. */
static void test_seal_covering_older_lines_is_caught_after_rotation(void **state)
{
	struct fixture *f = *state;
	char rotated[PATH_MAX + 8];
	size_t at[8];

	append_at(f, "a", T0 + 1);
	append_at(f, "b", T0 + EPOCH + 1); /* seal 0..0, b */
	snprintf(rotated, sizeof(rotated), "%s.1", f->log);
	assert_int_equal(rename(f->log, rotated), 0);
	append_at(f, "c", T0 + 2 * EPOCH + 1);  /* live: seal 1..1, c */
	append_at(f, "d", T0 + 10 * EPOCH + 1); /* seal 2..9, d */
	assert_int_equal(unlink(rotated), 0);   /* logrotate dropped the oldest file */
	assert_sealed_intact(f, T0 + 10 * EPOCH + 2, 9);

	assert_int_equal(seal_lines(f, at, 8), 2);
	assert_int_equal(at[0], 1);
	assert_int_equal(at[1], 3);
	edit_and_rechain(f, 2, "\"user\":\"c\"", "\"user\":\"x\"");
	edit_and_rechain(f, 1, "\"seal_id\"", "\"seal_jd\"");
	edit_and_rechain(f, 3, "\"seal_id\"", "\"seal_jd\"");
	seal_at(f, T0 + 11 * EPOCH + 1); /* seal 10..10 with k_10, from the state */
	assert_locally_intact(f);
	assert_sealed_broken(f, T0 + 11 * EPOCH + 2, "is a seal from epoch 10 but covers a line",
	                     "before that epoch");
}

/* A clock far ahead: the key cannot evolve that far, so nothing is written, however often
 * it is tried (the bound is checked before the seal line). */
static void test_clock_far_ahead_does_not_grow_the_log(void **state)
{
	struct fixture *f = *state;
	const struct pv_audit_sink sink = {.log = f->log, .keys = &f->keys, .lock_timeout = 5};
	const int64_t far = T0 + (INT64_C(100000000) + 2) * EPOCH;
	struct pv_err err;
	size_t before, len;
	unsigned char *data;
	int i;

	append_at(f, "a", T0 + 1);
	data = tu_read_file(f->log, &before);
	free(data);
	for (i = 0; i < 3; i++) {
		assert_int_equal(pv_audit_seal_due(&sink, far, &err), PV_ERR);
		assert_contains(err.msg, "the clock is far off");
	}
	data = tu_read_file(f->log, &len);
	free(data);
	assert_int_equal(len, before);
	assert_locally_intact(f);
}

static void stop_at(const struct fixture *f, int64_t now)
{
	const struct pv_audit_sink sink = {.log = f->log, .keys = &f->keys, .lock_timeout = 5};
	struct pv_audit_event ev;
	struct pv_err err;

	pv_audit_event_init(&ev);
	ev.service = "otpctl";
	ev.result = "allow";
	ev.reason = "ok";
	ev.action = "audit_sealing_stop";
	if (pv_audit_seal_stop(&sink, &ev, now, &err) != PV_OK)
		fail_msg("stop at %" PRId64 ": %s", now, err.msg);
}

/* A stop on purpose: the ended epoch sealed, the sealed stop line, the state gone; verify
 * reports the stop, counts the lines after it as not sealed and never calls it stale. */
static void test_stop_is_reported_and_never_stale(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_seal_result sr;
	struct pv_audit_verify_result res;
	struct stat sb;

	append_at(f, "a", T0 + 1);
	stop_at(f, T0 + EPOCH + 5); /* seal 0..0, then the stop in epoch 1 */
	assert_int_equal(stat(f->state, &sb), -1);
	append_at(f, "b", T0 + 3 * EPOCH); /* no sealing any more */
	append_at(f, "c", T0 + 4 * EPOCH);
	res = verify_sealed(f, T0 + 1000 * EPOCH, &sr);
	if (!res.intact)
		fail_msg("not intact: %s", res.problem);
	assert_true(sr.stopped);
	assert_int_equal(sr.stopped_epoch, 1);
	assert_int_equal(sr.seals, 1);
	assert_int_equal(sr.open_lines, 2);
	assert_string_equal(sr.stopped_at, "2027-01-15T08:01:05Z");
}

/* A seal line turned into a stop (and the chain re-made with the MAC key, the lines after it
 * cut) does not check: the stop is sealed under a domain of its own. */
static void test_seal_edited_into_a_stop_is_caught(void **state)
{
	struct fixture *f = *state;
	size_t at[8];

	append_at(f, "a", T0 + 1);
	append_at(f, "b", T0 + EPOCH + 1); /* seal 0..0, b */
	assert_int_equal(seal_lines(f, at, 8), 1);
	edit_and_rechain(f, at[0], "\"event\":\"seal\"", "\"event\":\"seal_stop\"");
	assert_locally_intact(f);
	assert_sealed_broken(f, T0 + 1000 * EPOCH, "does not match", NULL);
}

/* Several runs: after a stop, setup-sealing starts a run with a key of its own; each key
 * checks its run, the other run's seals count as lines it does not seal. */
static void test_a_new_run_after_a_stop(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_seal_key first = f->vkey;
	char text[PV_AUDIT_SEAL_KEY_TEXT_MAX];
	struct pv_audit_seal_result sr;
	struct pv_audit_verify_result res;
	struct pv_err err;

	append_at(f, "a", T0 + 1);
	stop_at(f, T0 + EPOCH + 5);
	append_at(f, "b", T0 + 2 * EPOCH);
	if (pv_audit_seal_setup(f->log, EPOCH, T0 + 3 * EPOCH, text, sizeof(text), &err) != PV_OK)
		fail_msg("second setup: %s", err.msg);
	assert_int_equal(pv_audit_seal_key_parse(text, &f->vkey, &err), PV_OK);
	append_at(f, "c", T0 + 4 * EPOCH + 1); /* run 2: seal 0..0, c */
	res = verify_sealed(f, T0 + 4 * EPOCH + 2, &sr);
	if (!res.intact)
		fail_msg("run 2: %s", res.problem);
	assert_true(sr.sealed && !sr.stopped);
	assert_int_equal(sr.sealed_through, 0);
	f->vkey = first;
	res = verify_sealed(f, T0 + 4 * EPOCH + 2, &sr);
	if (!res.intact)
		fail_msg("run 1: %s", res.problem);
	assert_true(sr.stopped);
	assert_int_equal(sr.open_lines, 3); /* b, run 2's seal, c */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, seal_setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_setup_creates_a_private_state_once),
	    T(test_bad_verification_keys_are_refused),
	    T(test_the_epoch_turn_seals_before_the_next_line),
	    T(test_idle_epochs_are_sealed_by_expire),
	    T(test_edit_of_an_earlier_epoch_is_caught_with_a_later_key),
	    T(test_lines_of_the_open_epoch_are_not_sealed_yet),
	    T(test_older_log_and_head_put_back_is_caught),
	    T(test_removed_seal_is_caught),
	    T(test_another_verification_key_finds_no_seal),
	    T(test_seal_repeated_after_a_crash_is_accepted),
	    T(test_damaged_state_refuses_the_append),
	    T(test_state_forgets_the_earlier_key),
	    T(test_seals_continue_across_rotated_files),
	    T(test_seal_covering_older_lines_is_caught_after_rotation),
	    T(test_clock_far_ahead_does_not_grow_the_log),
	    T(test_stop_is_reported_and_never_stale),
	    T(test_seal_edited_into_a_stop_is_caught),
	    T(test_a_new_run_after_a_stop),
	};

	assert_true(sodium_init() >= 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

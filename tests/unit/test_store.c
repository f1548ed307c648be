/* SPDX-License-Identifier: BSD-3-Clause */
/* test_store.c — unit tests for core/store.c with its file backend (core/store_file.c),
 * core/seal.c and core/keys.c, through real files in a private temp store: round trips, every
 * refusal of a damaged, moved, foreign or non-regular record, the directory and key file
 * checks, stable lock files, lost-update freedom under concurrent processes, the bounded lock
 * wait and a vendor removed while an update waits for its lock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "store_fixture.h"

#define NOW INT64_C(1800000000)

/* dir/store/<name> (rotating static buffers: up to 4 at once). */
static const char *in_store(const struct fixture *f, const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	tu_path(p, PATH_MAX, f->cfg.store_dir, name);
	return p;
}

static const char *rec_path(const struct fixture *f, const char *vendor)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.rec", vendor);
	return in_store(f, name);
}

static const char *lock_path(const struct fixture *f, const char *vendor)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.lock", vendor);
	return in_store(f, name);
}

static void full_record(struct pv_record *rec, const char *name)
{
	size_t i;

	pv_record_init(rec, name, NOW - 86400);
	snprintf(rec->note, sizeof(rec->note), "PACS maintenance — Zoë's team, 24/7");
	rec->ips[rec->n_ips++] = tu_cidr("203.0.113.7");
	rec->ips[rec->n_ips++] = tu_cidr("2001:db8:7::/48");
	rec->window_start = NOW - 60;
	rec->window_end = NOW + 7200;
	rec->window_ips[rec->n_window_ips++] = tu_cidr("203.0.113.7");
	rec->failures = 2;
	for (i = 0; i < 2; i++) {
		struct pv_code *c = &rec->codes[rec->n_codes++];
		randombytes_buf(c->hash, sizeof(c->hash));
		c->issued = NOW - 100;
		c->expires = NOW + 800;
		c->used_at = i ? NOW - 5 : 0;
	}
	rec->totp_enrolled = true;
	randombytes_buf(rec->totp_secret, sizeof(rec->totp_secret));
	rec->totp_last_step = NOW / 30 - 3;
	rec->last_login = NOW - 3600;
	snprintf(rec->last_login_rhost, sizeof(rec->last_login_rhost), "203.0.113.7");
}

/* The encoded text of a record: equal texts mean equal records, field for field. */
static char *encoded(const struct pv_record *rec, size_t *len)
{
	struct pv_err err = {{0}};
	char *text = NULL;

	if (pv_record_encode(rec, &text, len, &err) != PV_OK)
		fail_msg("encode: %s", err.msg);
	return text;
}

static void assert_same_record(const struct pv_record *a, const struct pv_record *b)
{
	size_t la;
	size_t lb;
	char *ta = encoded(a, &la);
	char *tb = encoded(b, &lb);

	if (la != lb || memcmp(ta, tb, la) != 0)
		fail_msg("records differ:\n%.*s\n---\n%.*s", (int)la, ta, (int)lb, tb);
	free(ta);
	free(tb);
}

static void create_vendor(struct fixture *f, const char *name)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_err err = {{0}};

	assert_non_null(rec);
	full_record(rec, name);
	if (pv_store_create(f->store, &f->keys, rec, &err) != PV_OK)
		fail_msg("create %s: %s", name, err.msg);
	free(rec);
}

static int load(struct fixture *f, const struct pv_keys *keys, const char *name,
                struct pv_record *rec, struct pv_err *err)
{
	memset(err, 0, sizeof(*err));
	return pv_store_load(f->store, keys, name, rec, err);
}

static unsigned char *snapshot(const char *path, size_t *len)
{
	unsigned char *data = tu_read_file(path, len);

	if (data == NULL)
		fail_msg("cannot read %s", path);
	return data;
}

/* --- modify callbacks --- */

struct counter {
	int calls;
	enum pv_modify_result result;
	const char *note;
};

static enum pv_modify_result bump(struct pv_record *rec, void *ctx, struct pv_err *err)
{
	struct counter *c = ctx;

	c->calls++;
	rec->failures++;
	if (c->note != NULL)
		snprintf(rec->note, sizeof(rec->note), "%s", c->note);
	if (c->result == PV_MODIFY_FAIL)
		pv_err_set(err, "custom refusal from the callback");
	return c->result;
}

static int update(struct fixture *f, const char *name, struct counter *c, struct pv_err *err)
{
	memset(err, 0, sizeof(*err));
	return pv_store_update(f->store, &f->keys, name, bump, c, err);
}

/* --- round trips --- */

static void test_full_record_round_trips_through_the_store(void **state)
{
	struct fixture *f = *state;
	struct pv_record rec;
	struct pv_record back;
	struct pv_err err;

	full_record(&rec, "acme");
	assert_int_equal(pv_store_create(f->store, &f->keys, &rec, &err), PV_OK);
	if (load(f, &f->keys, "acme", &back, &err) != PV_OK)
		fail_msg("load: %s", err.msg);
	assert_same_record(&rec, &back);
	assert_string_equal(back.note, "PACS maintenance — Zoë's team, 24/7");
	assert_int_equal(tu_mode(rec_path(f, "acme")), 0600);
}

static void test_record_file_is_sealed_not_plain_text(void **state)
{
	struct fixture *f = *state;
	size_t len;
	unsigned char *raw;
	char hash_hex[2 * PV_CODE_HASH_BYTES + 1];
	struct pv_record back;
	struct pv_err err;

	create_vendor(f, "acme");
	assert_int_equal(load(f, &f->keys, "acme", &back, &err), PV_OK);
	sodium_bin2hex(hash_hex, sizeof(hash_hex), back.codes[0].hash, PV_CODE_HASH_BYTES);
	raw = snapshot(rec_path(f, "acme"), &len);
	assert_true(len > 8 + 24 + 16);
	assert_memory_equal(raw, "PVSEAL01", 8);
	assert_null(memmem(raw, len, "PACS", 4));
	assert_null(memmem(raw, len, "pam_vendor-record", 17));
	assert_null(memmem(raw, len, "203.0.113.7", 11));
	assert_null(memmem(raw, len, hash_hex, 16));
	assert_null(memmem(raw, len, back.totp_secret, 8));
	free(raw);
}

static void test_duplicate_create_is_refused_and_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct pv_record rec;
	struct pv_err err = {{0}};
	unsigned char *before;
	size_t len;

	create_vendor(f, "acme");
	before = snapshot(rec_path(f, "acme"), &len);
	full_record(&rec, "acme");
	rec.failures = 99;
	assert_int_equal(pv_store_create(f->store, &f->keys, &rec, &err), PV_EXISTS);
	assert_contains(err.msg, "acme");
	tu_assert_file_bytes(rec_path(f, "acme"), before, len);
	free(before);
}

static void test_absent_vendor_is_notfound_everywhere(void **state)
{
	struct fixture *f = *state;
	struct counter c = {0, PV_MODIFY_SAVE, NULL};
	struct pv_record rec;
	struct pv_err err;
	bool exists = true;

	create_vendor(f, "acme");
	assert_int_equal(load(f, &f->keys, "ghost", &rec, &err), PV_NOTFOUND);
	assert_int_equal(update(f, "ghost", &c, &err), PV_NOTFOUND);
	assert_int_equal(c.calls, 0);
	assert_int_equal(pv_store_remove(f->store, "ghost", &err), PV_NOTFOUND);
	assert_int_equal(pv_store_exists(f->store, "ghost", &exists, &err), PV_OK);
	assert_false(exists);
	/* No per-unknown-user files are left behind. */
	assert_false(tu_exists(lock_path(f, "ghost")));
	assert_false(tu_exists(rec_path(f, "ghost")));
}

static void test_invalid_vendor_names_are_refused_not_notfound(void **state)
{
	static const char *const bad[] = {
	    "../acme", "Acme", "", "a/b", ".hidden", "x y", "abcdefghijklmnopqrstuvwxyz0123456"};
	struct fixture *f = *state;
	struct counter c = {0, PV_MODIFY_SAVE, NULL};
	struct pv_record rec;
	struct pv_err err;
	bool exists;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load(f, &f->keys, bad[i], &rec, &err), PV_ERR);
		assert_int_equal(update(f, bad[i], &c, &err), PV_ERR);
		assert_int_equal(pv_store_remove(f->store, bad[i], &err), PV_ERR);
		assert_int_equal(pv_store_exists(f->store, bad[i], &exists, &err), PV_ERR);
		if (strlen(bad[i]) > PV_NAME_MAX)
			continue; /* does not fit in rec.name */
		pv_record_init(&rec, "x", NOW);
		snprintf(rec.name, sizeof(rec.name), "%s", bad[i]);
		rec.ips[rec.n_ips++] = tu_cidr("203.0.113.7");
		assert_int_equal(pv_store_create(f->store, &f->keys, &rec, &err), PV_ERR);
	}
	assert_int_equal(c.calls, 0);
	assert_false(tu_exists(in_store(f, "../acme.rec")));
	assert_false(tu_exists(in_store(f, "../acme.lock")));
}

/* --- pv_store_update --- */

static void test_update_save_writes_the_change(void **state)
{
	struct fixture *f = *state;
	struct counter c = {0, PV_MODIFY_SAVE, "changed note"};
	struct pv_record rec;
	struct pv_err err;

	create_vendor(f, "acme");
	if (update(f, "acme", &c, &err) != PV_OK)
		fail_msg("update: %s", err.msg);
	assert_int_equal(c.calls, 1);
	assert_int_equal(load(f, &f->keys, "acme", &rec, &err), PV_OK);
	assert_int_equal(rec.failures, 3);
	assert_string_equal(rec.note, "changed note");
	assert_int_equal(tu_mode(rec_path(f, "acme")), 0600);
}

/* The file store has no transaction to join: a save asked to go with the next audit line is
 * made at once (and durably), the lock released; the line's copy then has nothing to do. */
static void test_file_store_saves_with_audit_at_once(void **state)
{
	struct fixture *f = *state;
	struct counter c = {0, PV_MODIFY_SAVE_WITH_AUDIT, "saved at once"};
	struct pv_record rec;
	struct pv_err err;

	create_vendor(f, "acme");
	if (update(f, "acme", &c, &err) != PV_OK)
		fail_msg("update: %s", err.msg);
	assert_int_equal(load(f, &f->keys, "acme", &rec, &err), PV_OK);
	assert_string_equal(rec.note, "saved at once");
	/* The lock is free again: another update goes through. */
	c.note = "again";
	if (update(f, "acme", &c, &err) != PV_OK)
		fail_msg("second update: %s", err.msg);
	assert_int_equal(pv_store_audit_mirror(f->store, 1, "{}", &err), PV_OK);
	assert_int_equal(load(f, &f->keys, "acme", &rec, &err), PV_OK);
	assert_string_equal(rec.note, "again");
	assert_int_equal(rec.failures, 4);
}

static void test_update_keep_leaves_the_file_byte_identical(void **state)
{
	struct fixture *f = *state;
	struct counter c = {0, PV_MODIFY_KEEP, "not saved"};
	struct pv_err err;
	unsigned char *before;
	size_t len;

	create_vendor(f, "acme");
	before = snapshot(rec_path(f, "acme"), &len);
	assert_int_equal(update(f, "acme", &c, &err), PV_OK);
	assert_int_equal(c.calls, 1);
	tu_assert_file_bytes(rec_path(f, "acme"), before, len);
	free(before);
}

static void test_update_fail_is_an_error_and_leaves_the_file_byte_identical(void **state)
{
	struct fixture *f = *state;
	struct counter c = {0, PV_MODIFY_FAIL, "not saved"};
	struct pv_record rec;
	struct pv_err err;
	unsigned char *before;
	size_t len;

	create_vendor(f, "acme");
	before = snapshot(rec_path(f, "acme"), &len);
	assert_int_equal(update(f, "acme", &c, &err), PV_ERR);
	assert_int_equal(c.calls, 1);
	assert_contains(err.msg, "custom refusal");
	tu_assert_file_bytes(rec_path(f, "acme"), before, len);
	assert_int_equal(load(f, &f->keys, "acme", &rec, &err), PV_OK);
	assert_int_equal(rec.failures, 2);
	free(before);
}

/* --- listing --- */

static void test_list_is_sorted_and_skips_temp_lock_and_junk_files(void **state)
{
	struct fixture *f = *state;
	char(*names)[PV_NAME_MAX + 1] = NULL;
	struct pv_err err = {{0}};
	size_t n = 99;

	assert_int_equal(pv_store_list(f->store, &names, &n, &err), PV_OK);
	assert_int_equal(n, 0);
	free(names);

	create_vendor(f, "zeta");
	create_vendor(f, "alpha");
	create_vendor(f, "mid_1");
	tu_write_text(in_store(f, ".x.tmp"), "junk", 0600);
	tu_write_text(in_store(f, ".alpha.rec.0123456789abcdef.tmp"), "junk", 0600);
	tu_write_text(in_store(f, ".rec"), "junk", 0600);
	tu_write_text(in_store(f, "ghost.lock"), "", 0600);
	tu_write_text(in_store(f, "README"), "junk", 0600);
	tu_write_text(in_store(f, "Bad.rec"), "junk", 0600);
	tu_write_text(in_store(f, "x.rec.tmp"), "junk", 0600);
	tu_write_text(in_store(f, "beta.reca"), "junk", 0600);
	tu_write_text(in_store(f, "abcdefghijklmnopqrstuvwxyz0123456.rec"), "junk", 0600);
	tu_mkdir(in_store(f, "subdir"), 0700);

	assert_int_equal(pv_store_list(f->store, &names, &n, &err), PV_OK);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "alpha");
	assert_string_equal(names[1], "mid_1");
	assert_string_equal(names[2], "zeta");
	free(names);
}

/* --- damaged, moved and foreign records --- */

static void assert_load_and_update_refused(struct fixture *f, const char *name, const char *why)
{
	struct counter c = {0, PV_MODIFY_SAVE, NULL};
	struct pv_record rec;
	struct pv_err err;

	memset(&rec, 0x5a, sizeof(rec));
	tu_hang_guard(20); /* refused, never waited for */
	assert_int_equal(load(f, &f->keys, name, &rec, &err), PV_ERR);
	if (why != NULL)
		assert_contains(err.msg, why);
	assert_int_equal(update(f, name, &c, &err), PV_ERR);
	if (why != NULL)
		assert_contains(err.msg, why);
	assert_int_equal(c.calls, 0);
	tu_hang_guard_end();
}

static void test_tampered_record_is_refused_and_left_untouched(void **state)
{
	struct fixture *f = *state;
	unsigned char *orig;
	size_t len;
	size_t offsets[5];
	size_t i;

	create_vendor(f, "acme");
	orig = snapshot(rec_path(f, "acme"), &len);
	offsets[0] = 0;           /* magic */
	offsets[1] = 7;           /* magic version byte */
	offsets[2] = 8;           /* nonce */
	offsets[3] = 8 + 24 + 10; /* ciphertext */
	offsets[4] = len - 1;     /* tag */
	for (i = 0; i < 5; i++) {
		unsigned char *bad = malloc(len);
		assert_non_null(bad);
		memcpy(bad, orig, len);
		bad[offsets[i]] ^= 0x01;
		tu_write_file(rec_path(f, "acme"), bad, len, 0600);
		assert_load_and_update_refused(f, "acme", "acme");
		tu_assert_file_bytes(rec_path(f, "acme"), bad, len);
		free(bad);
	}
	free(orig);
}

static void test_record_moved_to_other_vendor_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *acme;
	size_t len;

	create_vendor(f, "acme");
	acme = snapshot(rec_path(f, "acme"), &len);
	/* Copied to a vendor that has no record of its own ... */
	tu_write_file(rec_path(f, "bob"), acme, len, 0600);
	assert_load_and_update_refused(f, "bob", "bob");
	/* ... and over the record of one that has. */
	create_vendor(f, "carol");
	tu_write_file(rec_path(f, "carol"), acme, len, 0600);
	assert_load_and_update_refused(f, "carol", "authentication");
	tu_assert_file_bytes(rec_path(f, "carol"), acme, len);
	free(acme);
}

static void test_record_sealed_with_another_key_is_refused(void **state)
{
	struct fixture *f = *state;
	struct pv_keys other;
	struct pv_record rec;
	struct pv_err err;
	char other_path[PATH_MAX];

	create_vendor(f, "acme");
	tu_path(other_path, sizeof(other_path), f->dir, "other.key");
	tu_make_key(other_path, &other);
	assert_int_equal(load(f, &other, "acme", &rec, &err), PV_ERR);
	assert_contains(err.msg, "authentication");
	assert_int_equal(pv_store_update(f->store, &other, "acme", bump,
	                                 &(struct counter){0, PV_MODIFY_SAVE, NULL}, &err),
	                 PV_ERR);
	assert_int_equal(load(f, &f->keys, "acme", &rec, &err), PV_OK);
	pv_keys_wipe(&other);
}

static void test_truncated_or_empty_record_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *orig;
	size_t len;
	size_t cuts[4];
	size_t i;

	create_vendor(f, "acme");
	orig = snapshot(rec_path(f, "acme"), &len);
	cuts[0] = len - 1;
	cuts[1] = len / 2;
	cuts[2] = 8 + 24; /* header only */
	cuts[3] = 5;
	for (i = 0; i < 4; i++) {
		tu_write_file(rec_path(f, "acme"), orig, cuts[i], 0600);
		assert_load_and_update_refused(f, "acme", "acme");
	}
	tu_write_file(rec_path(f, "acme"), "", 0, 0600);
	assert_load_and_update_refused(f, "acme", "acme");
	/* Appended bytes are refused as well. */
	tu_write_file(rec_path(f, "acme"), orig, len, 0600);
	tu_append_file(rec_path(f, "acme"), "x", 1);
	assert_load_and_update_refused(f, "acme", "acme");
	free(orig);
}

static void test_record_file_with_loose_mode_or_owner_is_refused(void **state)
{
	struct fixture *f = *state;

	create_vendor(f, "acme");
	assert_int_equal(chmod(rec_path(f, "acme"), 0644), 0);
	assert_load_and_update_refused(f, "acme", "readable by group or others");
	assert_int_equal(chmod(rec_path(f, "acme"), 0600), 0);
	assert_int_equal(chown(rec_path(f, "acme"), 65534, 0), 0);
	assert_load_and_update_refused(f, "acme", "not root");
}

static void test_record_that_is_a_symlink_is_refused(void **state)
{
	struct fixture *f = *state;
	bool exists = false;
	struct pv_err err;

	create_vendor(f, "acme");
	assert_int_equal(symlink(rec_path(f, "acme"), rec_path(f, "bob")), 0);
	assert_int_equal(pv_store_exists(f->store, "bob", &exists, &err), PV_OK);
	assert_true(exists); /* a vendor then, and it fails closed */
	assert_load_and_update_refused(f, "bob", "symbolic link");
	/* A dangling one too. */
	assert_int_equal(symlink("/nonexistent/x.rec", rec_path(f, "dave")), 0);
	assert_load_and_update_refused(f, "dave", "symbolic link");
}

static void test_fifo_at_the_record_path_is_refused_quickly(void **state)
{
	struct fixture *f = *state;
	bool exists = false;
	struct pv_err err;

	assert_int_equal(mkfifo(rec_path(f, "acme"), 0600), 0);
	assert_int_equal(pv_store_exists(f->store, "acme", &exists, &err), PV_OK);
	assert_true(exists);
	tu_hang_guard(10);
	assert_load_and_update_refused(f, "acme", "not a regular file");
	tu_hang_guard_end();
	/* And a directory in its place. */
	tu_mkdir(rec_path(f, "bob"), 0700);
	assert_load_and_update_refused(f, "bob", "not a regular file");
}

/* --- directory and key checks --- */

static void test_store_dir_not_private_is_refused(void **state)
{
	struct fixture *f = *state;
	struct pv_store *s = NULL;
	struct pv_err err = {{0}};

	assert_int_equal(chmod(f->cfg.store_dir, 0755), 0);
	assert_int_equal(pv_store_open(&f->cfg, &s, &err), PV_ERR);
	assert_null(s);
	assert_contains(err.msg, f->cfg.store_dir);
	assert_int_equal(chmod(f->cfg.store_dir, 0750), 0);
	assert_int_equal(pv_store_open(&f->cfg, &s, &err), PV_ERR);
	assert_int_equal(chmod(f->cfg.store_dir, 0701), 0);
	assert_int_equal(pv_store_open(&f->cfg, &s, &err), PV_ERR);
	assert_int_equal(chmod(f->cfg.store_dir, 0700), 0);
	assert_int_equal(pv_store_open(&f->cfg, &s, &err), PV_OK);
	pv_store_close(s);
}

static void test_store_dir_symlink_or_foreign_owner_is_refused(void **state)
{
	struct fixture *f = *state;
	struct pv_config cfg = f->cfg;
	struct pv_store *s = NULL;
	struct pv_err err = {{0}};

	tu_path(cfg.store_dir, sizeof(cfg.store_dir), f->dir, "store-link");
	assert_int_equal(symlink(f->cfg.store_dir, cfg.store_dir), 0);
	assert_int_equal(pv_store_open(&cfg, &s, &err), PV_ERR);
	assert_contains(err.msg, "symbolic link");
	assert_int_equal(chown(f->cfg.store_dir, 65534, 0), 0);
	assert_int_equal(pv_store_open(&f->cfg, &s, &err), PV_ERR);
	assert_contains(err.msg, "not root");
	assert_int_equal(chown(f->cfg.store_dir, 0, 0), 0);
	tu_path(cfg.store_dir, sizeof(cfg.store_dir), f->dir, "absent");
	assert_int_equal(pv_store_open(&cfg, &s, &err), PV_ERR);
}

static void test_store_create_dir_makes_a_private_dir(void **state)
{
	struct fixture *f = *state;
	struct pv_config cfg = f->cfg;
	struct pv_err err = {{0}};

	tu_path(cfg.store_dir, sizeof(cfg.store_dir), f->dir, "newstore");
	assert_int_equal(pv_store_create_dir(&cfg, &err), PV_OK);
	assert_int_equal(tu_mode(cfg.store_dir), 0700);
	assert_int_equal(pv_store_create_dir(&cfg, &err), PV_OK); /* already there: fine */
}

static void test_world_readable_key_file_is_refused(void **state)
{
	struct fixture *f = *state;
	struct pv_keys keys;
	struct pv_err err = {{0}};
	static const struct pv_keys zero;

	assert_int_equal(chmod(f->cfg.key_file, 0644), 0);
	memset(&keys, 0xa5, sizeof(keys));
	assert_int_equal(pv_keys_load(f->cfg.key_file, &keys, &err), PV_ERR);
	assert_contains(err.msg, f->cfg.key_file);
	assert_contains(err.msg, "readable by group or others");
	assert_memory_equal(&keys, &zero, sizeof(keys)); /* zeroed on error */
	assert_int_equal(chmod(f->cfg.key_file, 0640), 0);
	assert_int_equal(pv_keys_load(f->cfg.key_file, &keys, &err), PV_ERR);
	assert_int_equal(chmod(f->cfg.key_file, 0400), 0);
	assert_int_equal(pv_keys_load(f->cfg.key_file, &keys, &err), PV_OK);
	assert_memory_equal(&keys, &f->keys, sizeof(keys));
}

static void test_malformed_or_symlinked_key_file_is_refused(void **state)
{
	struct fixture *f = *state;
	struct pv_keys keys;
	struct pv_err err = {{0}};
	char path[PATH_MAX];

	tu_path(path, sizeof(path), f->dir, "bad.key");
	tu_write_text(path, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n",
	              0600); /* 63 digits */
	assert_int_equal(pv_keys_load(path, &keys, &err), PV_ERR);
	assert_contains(err.msg, "malformed");
	tu_write_text(path, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
	              0600);
	assert_int_equal(pv_keys_load(path, &keys, &err), PV_ERR);
	tu_path(path, sizeof(path), f->dir, "link.key");
	assert_int_equal(symlink(f->cfg.key_file, path), 0);
	assert_int_equal(pv_keys_load(path, &keys, &err), PV_ERR);
	assert_contains(err.msg, "symbolic link");
	tu_path(path, sizeof(path), f->dir, "absent.key");
	assert_int_equal(pv_keys_load(path, &keys, &err), PV_ERR);
	assert_contains(err.msg, "does not exist");
}

static void test_subkeys_differ_per_purpose(void **state)
{
	struct fixture *f = *state;

	assert_memory_not_equal(f->keys.record, f->keys.code, PV_KEY_BYTES);
	assert_memory_not_equal(f->keys.record, f->keys.audit, PV_KEY_BYTES);
	assert_memory_not_equal(f->keys.code, f->keys.audit, PV_KEY_BYTES);
}

static void test_key_create_refuses_to_overwrite(void **state)
{
	struct fixture *f = *state;
	struct pv_err err = {{0}};
	unsigned char *before;
	size_t len;
	char link[PATH_MAX];
	char target[PATH_MAX];

	before = snapshot(f->cfg.key_file, &len);
	assert_int_equal(len, 65); /* 64 hex digits and a newline */
	assert_int_equal(tu_mode(f->cfg.key_file), 0600);
	assert_int_equal(pv_keys_create(f->cfg.key_file, &err), PV_EXISTS);
	assert_contains(err.msg, "already exists");
	tu_assert_file_bytes(f->cfg.key_file, before, len);
	free(before);
	/* A dangling symlink at the key path is not followed to create its target. */
	tu_path(link, sizeof(link), f->dir, "dangling.key");
	tu_path(target, sizeof(target), f->dir, "target.key");
	assert_int_equal(symlink(target, link), 0);
	assert_true(pv_keys_create(link, &err) != PV_OK);
	assert_false(tu_exists(target));
}

/* --- lock files --- */

static void test_lock_file_is_never_unlinked(void **state)
{
	struct fixture *f = *state;
	struct counter save = {0, PV_MODIFY_SAVE, NULL};
	struct counter keep = {0, PV_MODIFY_KEEP, NULL};
	struct counter fail = {0, PV_MODIFY_FAIL, NULL};
	struct pv_err err;
	ino_t lock;
	ino_t rec;

	create_vendor(f, "acme");
	lock = tu_inode(lock_path(f, "acme"));
	rec = tu_inode(rec_path(f, "acme"));
	assert_int_equal(tu_mode(lock_path(f, "acme")), 0600);
	assert_int_equal(update(f, "acme", &save, &err), PV_OK);
	assert_true(tu_inode(rec_path(f, "acme")) != rec);   /* the record is replaced ... */
	assert_true(tu_inode(lock_path(f, "acme")) == lock); /* ... the lock file is not */
	assert_int_equal(update(f, "acme", &keep, &err), PV_OK);
	assert_int_equal(update(f, "acme", &fail, &err), PV_ERR);
	assert_true(tu_inode(lock_path(f, "acme")) == lock);
	assert_int_equal(pv_store_remove(f->store, "acme", &err), PV_OK);
	assert_false(tu_exists(rec_path(f, "acme")));
	assert_true(tu_inode(lock_path(f, "acme")) == lock);
	create_vendor(f, "acme");
	assert_true(tu_inode(lock_path(f, "acme")) == lock);
}

static void test_remove_deletes_the_record_only(void **state)
{
	struct fixture *f = *state;
	char(*names)[PV_NAME_MAX + 1] = NULL;
	struct pv_record rec;
	struct pv_err err;
	size_t n = 0;

	create_vendor(f, "acme");
	create_vendor(f, "bob");
	assert_int_equal(pv_store_remove(f->store, "acme", &err), PV_OK);
	assert_int_equal(load(f, &f->keys, "acme", &rec, &err), PV_NOTFOUND);
	assert_int_equal(load(f, &f->keys, "bob", &rec, &err), PV_OK);
	assert_int_equal(pv_store_list(f->store, &names, &n, &err), PV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "bob");
	free(names);
}

static void test_updates_leave_no_temp_files(void **state)
{
	struct fixture *f = *state;
	struct counter c = {0, PV_MODIFY_SAVE, NULL};
	struct pv_err err;
	struct dirent *de;
	DIR *d;
	int i;
	int entries = 0;

	create_vendor(f, "acme");
	for (i = 0; i < 20; i++)
		assert_int_equal(update(f, "acme", &c, &err), PV_OK);
	d = opendir(f->cfg.store_dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		entries++;
		if (strcmp(de->d_name, "acme.rec") != 0 && strcmp(de->d_name, "acme.lock") != 0 &&
		    strcmp(de->d_name, "serials") != 0)
			fail_msg("unexpected file %s", de->d_name);
	}
	closedir(d);
	assert_int_equal(entries, 3);
	d = opendir(in_store(f, "serials"));
	assert_non_null(d);
	entries = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		entries++;
		if (strcmp(de->d_name, "acme.serial") != 0 && strcmp(de->d_name, "acme.lock") != 0)
			fail_msg("unexpected file serials/%s", de->d_name);
	}
	closedir(d);
	assert_int_equal(entries, 2);
}

/* --- concurrency --- */

static enum pv_modify_result increment(struct pv_record *rec, void *ctx, struct pv_err *err)
{
	rec->failures++;
	return PV_MODIFY_SAVE;
}

/* Child: n increments through its own store handle. Exit 0 when every one succeeded. */
static void child_increments(const struct pv_config *cfg, const struct pv_keys *keys, int n)
{
	struct pv_store *s = NULL;
	struct pv_err err = {{0}};
	int i;

	if (pv_store_open(cfg, &s, &err) != PV_OK)
		_exit(2);
	for (i = 0; i < n; i++)
		if (pv_store_update(s, keys, "acme", increment, NULL, &err) != PV_OK) {
			fprintf(stderr, "child update %d: %s\n", i, err.msg);
			_exit(3);
		}
	pv_store_close(s);
	_exit(0);
}

static void test_concurrent_updates_lose_nothing(void **state)
{
	struct fixture *f = *state;
	enum { CHILDREN = 2, PER_CHILD = 500 };
	pid_t pids[CHILDREN];
	int status[CHILDREN] = {0};
	/* This test is about lost updates, not timeouts: on a loaded machine (fsync-heavy jobs
	 * beside it) one update can wait longer than the default 5 s. */
	struct pv_config cfg = f->cfg;
	struct pv_record rec;
	struct pv_err err;
	int i;

	cfg.lock_timeout = 60;
	create_vendor(f, "acme");
	assert_int_equal(load(f, &f->keys, "acme", &rec, &err), PV_OK);
	rec.failures = 0;
	assert_int_equal(pv_store_remove(f->store, "acme", &err), PV_OK);
	assert_int_equal(pv_store_create(f->store, &f->keys, &rec, &err), PV_OK);
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			child_increments(&cfg, &f->keys, PER_CHILD);
	}
	/* Reap every child before asserting: a failed assertion tears the store down, and a
	 * child still running would then fail for that reason instead. */
	for (i = 0; i < CHILDREN; i++)
		assert_int_equal(waitpid(pids[i], &status[i], 0), pids[i]);
	for (i = 0; i < CHILDREN; i++) {
		assert_true(WIFEXITED(status[i]));
		assert_int_equal(WEXITSTATUS(status[i]), 0);
	}
	assert_int_equal(load(f, &f->keys, "acme", &rec, &err), PV_OK);
	assert_int_equal(rec.failures, CHILDREN * PER_CHILD);
}

static void test_update_gives_up_after_the_lock_timeout(void **state)
{
	struct fixture *f = *state;
	struct counter c = {0, PV_MODIFY_SAVE, NULL};
	struct pv_store *s = NULL;
	struct pv_config cfg = f->cfg;
	struct pv_record rec;
	struct pv_err err = {{0}};
	int ready[2];
	int release[2];
	char byte = 0;
	pid_t pid;
	int status = 0;
	int rc;

	create_vendor(f, "acme");
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(release), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;
		/* Only the parent keeps the write end: its exit (even by a failed assertion)
		 * ends the read below. */
		close(release[1]);
		close(ready[0]);
		fd = open(lock_path(f, "acme"), O_RDWR | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		if (read(release[0], &byte, 1) < 0) /* hold until told (or the parent dies) */
			_exit(4);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	assert_int_equal(read(ready[0], &byte, 1), 1);

	cfg.lock_timeout = 1;
	assert_int_equal(pv_store_open(&cfg, &s, &err), PV_OK);
	tu_hang_guard(15);
	rc = pv_store_update(s, &f->keys, "acme", bump, &c, &err);
	tu_hang_guard_end();
	assert_int_equal(rc, PV_ERR);
	assert_int_equal(c.calls, 0);
	assert_contains(err.msg, "acme.lock");
	assert_contains(err.msg, "timed out");
	assert_int_equal(load(f, &f->keys, "acme", &rec, &err), PV_OK); /* reads need no lock */
	assert_int_equal(rec.failures, 2);

	assert_int_equal(write(release[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(pv_store_update(s, &f->keys, "acme", bump, &c, &err), PV_OK);
	assert_int_equal(c.calls, 1);
	pv_store_close(s);
	close(ready[0]);
	close(release[1]);
}

/* Does process pid have the file of inode `ino` open? (Read from /proc/PID/fd.) */
static bool has_open(pid_t pid, ino_t ino)
{
	char dir[64];
	char fd_path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (d == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		tu_path(fd_path, sizeof(fd_path), dir, de->d_name);
		found = de->d_name[0] != '.' && stat(fd_path, &st) == 0 && st.st_ino == ino;
	}
	closedir(d);
	return found;
}

static void test_vendor_removed_while_waiting_for_the_lock_is_notfound(void **state)
{
	struct fixture *f = *state;
	struct pv_config cfg = f->cfg;
	struct timespec pause = {0, 10 * 1000 * 1000};
	int go[2];
	char byte = 0;
	int lockfd;
	int status = 0;
	pid_t pid;

	create_vendor(f, "acme");
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The waiter: an update of acme once the parent holds acme's lock. Exit 0 when it
		 * says PV_NOTFOUND without calling fn. */
		struct counter c = {0, PV_MODIFY_SAVE, NULL};
		struct pv_store *s = NULL;
		struct pv_err err = {{0}};
		int rc;

		close(go[1]);
		cfg.lock_timeout = 60;
		if (read(go[0], &byte, 1) != 1 || pv_store_open(&cfg, &s, &err) != PV_OK)
			_exit(2);
		rc = pv_store_update(s, &f->keys, "acme", bump, &c, &err);
		pv_store_close(s);
		_exit(rc == PV_NOTFOUND && c.calls == 0 ? 0 : 3);
	}
	close(go[0]);
	lockfd = open(lock_path(f, "acme"), O_RDWR | O_CLOEXEC);
	assert_true(lockfd >= 0);
	assert_int_equal(flock(lockfd, LOCK_EX), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	/* The waiter opens the lock file only after it saw the record: once it has it open, it
	 * is past that check and waits for our lock. */
	tu_hang_guard(20);
	while (!has_open(pid, tu_inode(lock_path(f, "acme"))))
		nanosleep(&pause, NULL);
	assert_int_equal(unlink(rec_path(f, "acme")),
	                 0); /* removed under the lock, as remove does */
	close(lockfd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	tu_hang_guard_end();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(tu_exists(rec_path(f, "acme"))); /* and not written back */
	close(go[1]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_full_record_round_trips_through_the_store),
	    T(test_record_file_is_sealed_not_plain_text),
	    T(test_duplicate_create_is_refused_and_changes_nothing),
	    T(test_absent_vendor_is_notfound_everywhere),
	    T(test_invalid_vendor_names_are_refused_not_notfound),
	    T(test_update_save_writes_the_change),
	    T(test_file_store_saves_with_audit_at_once),
	    T(test_update_keep_leaves_the_file_byte_identical),
	    T(test_update_fail_is_an_error_and_leaves_the_file_byte_identical),
	    T(test_list_is_sorted_and_skips_temp_lock_and_junk_files),
	    T(test_tampered_record_is_refused_and_left_untouched),
	    T(test_record_moved_to_other_vendor_is_refused),
	    T(test_record_sealed_with_another_key_is_refused),
	    T(test_truncated_or_empty_record_is_refused),
	    T(test_record_file_with_loose_mode_or_owner_is_refused),
	    T(test_record_that_is_a_symlink_is_refused),
	    T(test_fifo_at_the_record_path_is_refused_quickly),
	    T(test_store_dir_not_private_is_refused),
	    T(test_store_dir_symlink_or_foreign_owner_is_refused),
	    T(test_store_create_dir_makes_a_private_dir),
	    T(test_world_readable_key_file_is_refused),
	    T(test_malformed_or_symlinked_key_file_is_refused),
	    T(test_subkeys_differ_per_purpose),
	    T(test_key_create_refuses_to_overwrite),
	    T(test_lock_file_is_never_unlinked),
	    T(test_remove_deletes_the_record_only),
	    T(test_updates_leave_no_temp_files),
	    T(test_concurrent_updates_lose_nothing),
	    T(test_update_gives_up_after_the_lock_timeout),
	    T(test_vendor_removed_while_waiting_for_the_lock_is_notfound),
	};

	assert_true(sodium_init() >= 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

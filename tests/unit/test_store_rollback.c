/* SPDX-License-Identifier: BSD-3-Clause */
/* test_store_rollback.c — unit tests for the record serial against rollback (core/store.c,
 * core/seen.c) through the file backend in a private temp store: every save raises the serial
 * and this gateway's memory of it, an older record put back is refused by load and update
 * naming both serials, an unsafe or garbled memory fails closed, a missing one is first sight,
 * a missing serials directory fails closed, create starts above a remembered serial, and loads
 * racing saves on the same gateway are never taken for a rollback. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <sys/wait.h>

#include "store_fixture.h"

#define NOW INT64_C(1800000000)

/* dir/store/<name> and dir/store/serials/<name> (rotating static buffers). */
static const char *in_store(const struct fixture *f, const char *sub, const char *vendor,
                            const char *suffix)
{
	static char buf[4][PATH_MAX];
	static int next;
	char name[128];
	char *p = buf[next++ % 4];

	snprintf(name, sizeof(name), "%s%s%s", sub, vendor, suffix);
	tu_path(p, PATH_MAX, f->cfg.store_dir, name);
	return p;
}

#define REC(f, v)    in_store(f, "", v, ".rec")
#define SERIAL(f, v) in_store(f, "serials/", v, ".serial")

static void create_vendor(struct fixture *f, const char *name, uint64_t serial)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_err err = {{0}};

	assert_non_null(rec);
	pv_record_init(rec, name, NOW - 86400);
	if (serial != 0)
		rec->serial = serial;
	rec->ips[rec->n_ips++] = tu_cidr("203.0.113.7");
	if (pv_store_create(f->store, &f->keys, rec, &err) != PV_OK)
		fail_msg("create %s: %s", name, err.msg);
	free(rec);
}

static uint64_t loaded_serial(struct fixture *f, const char *name)
{
	struct pv_err err = {{0}};

	if (pv_store_load(f->store, &f->keys, name, &f->rec, &err) != PV_OK)
		fail_msg("load %s: %s", name, err.msg);
	return f->rec.serial;
}

/* The serial this gateway remembers, read from its file. */
static uint64_t remembered(const struct fixture *f, const char *name)
{
	size_t len = 0;
	unsigned char *text = tu_read_file(SERIAL(f, name), &len);
	uint64_t v;

	if (text == NULL)
		fail_msg("no remembered serial for %s", name);
	assert_int_equal(sscanf((const char *)text, "%" SCNu64, &v), 1);
	free(text);
	return v;
}

static int calls;

static enum pv_modify_result fail_count(struct pv_record *rec, void *ctx, struct pv_err *err)
{
	calls++;
	rec->failures++;
	return PV_MODIFY_SAVE;
}

static int update(struct fixture *f, const char *name, struct pv_err *err)
{
	memset(err, 0, sizeof(*err));
	return pv_store_update(f->store, &f->keys, name, fail_count, NULL, err);
}

/* Load and update both refuse name, err containing `why`; the callback is never called. */
static void assert_refused(struct fixture *f, const char *name, const char *why)
{
	struct pv_err err = {{0}};

	calls = 0;
	assert_int_equal(pv_store_load(f->store, &f->keys, name, &f->rec, &err), PV_ERR);
	assert_contains(err.msg, why);
	assert_int_equal(update(f, name, &err), PV_ERR);
	assert_contains(err.msg, why);
	assert_int_equal(calls, 0);
}

static void test_every_save_raises_the_serial_and_its_memory(void **state)
{
	struct fixture *f = *state;
	struct pv_err err;
	uint64_t first;
	int i;

	create_vendor(f, "acme", 0);
	first = loaded_serial(f, "acme");
	assert_int_equal(first, (uint64_t)(NOW - 86400) * PV_SERIAL_PER_SECOND);
	assert_int_equal(remembered(f, "acme"), first);
	for (i = 1; i <= 3; i++) {
		assert_int_equal(update(f, "acme", &err), PV_OK);
		assert_int_equal(loaded_serial(f, "acme"), first + (uint64_t)i);
		assert_int_equal(remembered(f, "acme"), first + (uint64_t)i);
	}
	assert_int_equal(f->rec.failures, 3);
}

/* The attack: a copy of the sealed record taken before a save, put back after it. */
static void test_older_record_put_back_is_refused_naming_both_serials(void **state)
{
	struct fixture *f = *state;
	unsigned char *old;
	size_t len = 0;
	struct pv_err err;
	char both[128];

	create_vendor(f, "acme", 1000);
	old = tu_read_file(REC(f, "acme"), &len);
	assert_non_null(old);
	assert_int_equal(update(f, "acme", &err), PV_OK);
	assert_int_equal(update(f, "acme", &err), PV_OK);
	tu_write_file(REC(f, "acme"), old, len, 0600);
	assert_refused(f, "acme", "acme");
	snprintf(both, sizeof(both), "serial 1000, below serial 1002");
	assert_refused(f, "acme", both);
	assert_int_equal(remembered(f, "acme"), 1002); /* never lowered */
	free(old);
}

/* A higher serial (a save on another gateway) is accepted and remembered. */
static void test_higher_serial_is_accepted_and_remembered(void **state)
{
	struct fixture *f = *state;

	create_vendor(f, "acme", 1000);
	tu_write_text(SERIAL(f, "acme"), "900\n", 0600);
	assert_int_equal(loaded_serial(f, "acme"), 1000);
	assert_int_equal(remembered(f, "acme"), 1000);
}

static void test_missing_memory_is_first_sight(void **state)
{
	struct fixture *f = *state;

	create_vendor(f, "acme", 1000);
	assert_int_equal(unlink(SERIAL(f, "acme")), 0);
	assert_int_equal(loaded_serial(f, "acme"), 1000);
	assert_int_equal(remembered(f, "acme"), 1000);
}

static void test_unsafe_or_garbled_memory_fails_closed(void **state)
{
	struct fixture *f = *state;
	const char *path;

	create_vendor(f, "acme", 1000);
	path = SERIAL(f, "acme");
	assert_int_equal(chmod(path, 0644), 0);
	assert_refused(f, "acme", "readable by group or others");
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(chown(path, 65534, 0), 0);
	assert_refused(f, "acme", "not root");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(REC(f, "acme"), path), 0);
	assert_refused(f, "acme", "symbolic link");
	assert_int_equal(unlink(path), 0);
	tu_write_text(path, "1000 \n", 0600);
	assert_refused(f, "acme", "does not hold a record serial");
	tu_write_text(path, "0\n", 0600);
	assert_refused(f, "acme", "does not hold a record serial");
	tu_write_text(path, "1000", 0600); /* no newline: not what we write */
	assert_refused(f, "acme", "does not hold a record serial");
	tu_write_text(path, "1000\n", 0600);
	assert_int_equal(loaded_serial(f, "acme"), 1000);
}

/* Removing the whole directory must not silently re-accept every old record. */
static void test_missing_serials_directory_fails_closed(void **state)
{
	struct fixture *f = *state;

	create_vendor(f, "acme", 1000);
	tu_rmtree(in_store(f, "", "serials", ""));
	assert_refused(f, "acme", "is missing");
	assert_refused(f, "acme", "install -d -m 0700");
	tu_mkdir(in_store(f, "", "serials", ""), 0755);
	assert_refused(f, "acme", "accessible by group or others");
}

/* Remove forgets; a create below a remembered serial starts above it; an equal one (store
 * migrate's copy) is kept. */
static void test_create_starts_above_a_remembered_serial(void **state)
{
	struct fixture *f = *state;
	struct pv_err err;

	create_vendor(f, "acme", 1000);
	assert_int_equal(pv_store_remove(f->store, "acme", &err), PV_OK);
	assert_false(tu_exists(SERIAL(f, "acme")));
	tu_write_text(SERIAL(f, "bob"), "5000\n", 0600); /* seen before, removed elsewhere */
	create_vendor(f, "bob", 1000);
	assert_int_equal(loaded_serial(f, "bob"), 5001);
	tu_write_text(SERIAL(f, "carol"), "7000\n", 0600);
	create_vendor(f, "carol", 7000);
	assert_int_equal(loaded_serial(f, "carol"), 7000);
}

/* Child: n updates (kind 'u') or n unlocked loads (kind 'l') through its own store handle.
 * Exit 0 when every one succeeded. */
static void child_run(const struct pv_config *cfg, const struct pv_keys *keys, char kind, int n)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_store *s = NULL;
	struct pv_err err = {{0}};
	int i;

	if (rec == NULL || pv_store_open(cfg, &s, &err) != PV_OK)
		_exit(2);
	for (i = 0; i < n; i++) {
		int rc = kind == 'u' ? pv_store_update(s, keys, "acme", fail_count, NULL, &err)
		                     : pv_store_load(s, keys, "acme", rec, &err);
		if (rc != PV_OK) {
			fprintf(stderr, "child %c %d: %s\n", kind, i, err.msg);
			_exit(3);
		}
	}
	pv_store_close(s);
	free(rec);
	_exit(0);
}

/* Unlocked loads read the record and then the remembered serial; saves in between raise the
 * latter: a load must read again, not report a rollback. */
static void test_loads_racing_saves_are_not_a_rollback(void **state)
{
	struct fixture *f = *state;
	enum { CHILDREN = 4, PER_CHILD = 300 };
	struct pv_config cfg = f->cfg;
	pid_t pids[CHILDREN];
	int status[CHILDREN] = {0};
	int i;

	cfg.lock_timeout = 60; /* about races, not timeouts */
	create_vendor(f, "acme", 1000);
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			child_run(&cfg, &f->keys, i % 2 == 0 ? 'u' : 'l', PER_CHILD);
	}
	for (i = 0; i < CHILDREN; i++)
		assert_int_equal(waitpid(pids[i], &status[i], 0), pids[i]);
	for (i = 0; i < CHILDREN; i++) {
		assert_true(WIFEXITED(status[i]));
		assert_int_equal(WEXITSTATUS(status[i]), 0);
	}
	assert_int_equal(loaded_serial(f, "acme"), 1000 + CHILDREN / 2 * PER_CHILD);
	assert_int_equal(remembered(f, "acme"), 1000 + CHILDREN / 2 * PER_CHILD);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_every_save_raises_the_serial_and_its_memory),
	    T(test_older_record_put_back_is_refused_naming_both_serials),
	    T(test_higher_serial_is_accepted_and_remembered),
	    T(test_missing_memory_is_first_sight),
	    T(test_unsafe_or_garbled_memory_fails_closed),
	    T(test_missing_serials_directory_fails_closed),
	    T(test_create_starts_above_a_remembered_serial),
	    T(test_loads_racing_saves_are_not_a_rollback),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

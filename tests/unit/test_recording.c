/* SPDX-License-Identifier: BSD-3-Clause */
/* test_recording.c — the files of a recorded session (core/recording.c): made ready once and
 * claimed once, refused when the recorder is not set-uid root or the directory is unusable,
 * a digest that every edit, cut or move of bytes changes, a timing log checked against its
 * files, and pruning that never touches a live session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config.h"
#include "recording.h"
#include "safefile.h"
#include "testutil.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"

static void config_in(struct pv_config *cfg, const char *dir)
{
	pv_config_defaults(cfg);
	tu_path(cfg->recording_dir, sizeof(cfg->recording_dir), dir, "rec");
	tu_path(cfg->recorder, sizeof(cfg->recorder), dir, "pv-record");
	cfg->recording_min_free = 0;
}

/* A finished recording of id: a timing log naming the bytes of its two streams. */
static void make_recording(const char *rec_dir, const char *id, const char *in, const char *out)
{
	char path[PATH_MAX];
	char name[64];
	char timing[256];

	snprintf(timing, sizeof(timing), "H 0.000000 START_TIME x\nI 0.1 %zu\nO 0.2 %zu\n",
	         strlen(in), strlen(out));
	snprintf(name, sizeof(name), "%s.timing", id);
	tu_path(path, sizeof(path), rec_dir, name);
	tu_write_text(path, timing, 0600);
	snprintf(name, sizeof(name), "%s.in", id);
	tu_path(path, sizeof(path), rec_dir, name);
	tu_write_text(path, in, 0600);
	snprintf(name, sizeof(name), "%s.out", id);
	tu_path(path, sizeof(path), rec_dir, name);
	tu_write_text(path, out, 0600);
}

static void part(char *path, size_t len, const char *rec_dir, const char *id, const char *sfx)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s", id, sfx);
	tu_path(path, len, rec_dir, name);
}

static void test_prepare_needs_a_set_uid_recorder(void **state)
{
	const struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;

	config_in(&cfg, f->dir);
	assert_int_equal(pv_recording_prepare(&cfg, ID_A, &err), PV_ERR);
	assert_contains(err.msg, "missing");
	tu_write_text(cfg.recorder, "#!/bin/sh\n", 0755);
	assert_int_equal(pv_recording_prepare(&cfg, ID_A, &err), PV_ERR);
	assert_contains(err.msg, "not installed as it must be");
	assert_int_equal(chmod(cfg.recorder, 04755), 0);
	assert_int_equal(pv_recording_prepare(&cfg, ID_A, &err), PV_OK);
	assert_int_equal(tu_mode(cfg.recording_dir) & 07777, 0700);
}

static void test_a_recording_is_claimed_once(void **state)
{
	const struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	int dirfd;

	config_in(&cfg, f->dir);
	tu_write_text(cfg.recorder, "#!/bin/sh\n", 04755);
	assert_int_equal(chmod(cfg.recorder, 04755), 0);
	assert_int_equal(pv_recording_prepare(&cfg, ID_A, &err), PV_OK);
	assert_int_equal(pv_recording_prepare(&cfg, ID_A, &err), PV_ERR); /* never twice */
	assert_int_equal(pv_recording_state(cfg.recording_dir, ID_A), PV_RECORDING_READY);
	dirfd = pv_open_dir(cfg.recording_dir, true, &err);
	assert_true(dirfd >= 0);
	assert_int_equal(pv_recording_claim(dirfd, ID_A, &err), PV_OK);
	assert_int_equal(pv_recording_claim(dirfd, ID_A, &err), PV_NOTFOUND);
	assert_int_equal(pv_recording_claim(dirfd, ID_B, &err), PV_NOTFOUND);
	close(dirfd);
	assert_int_equal(pv_recording_state(cfg.recording_dir, ID_A), PV_RECORDING_ON);
	assert_int_equal(pv_recording_state(cfg.recording_dir, ID_B), PV_RECORDING_NONE);
}

static void test_below_min_free_is_refused(void **state)
{
	const struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;

	config_in(&cfg, f->dir);
	tu_write_text(cfg.recorder, "#!/bin/sh\n", 0755);
	assert_int_equal(chmod(cfg.recorder, 04755), 0);
	cfg.recording_min_free = 1u << 20; /* 1 TiB */
	assert_int_equal(pv_recording_prepare(&cfg, ID_A, &err), PV_ERR);
	assert_contains(err.msg, "below recording_min_free");
	assert_int_equal(pv_recording_state(cfg.recording_dir, ID_A), PV_RECORDING_NONE);
}

static void test_every_change_changes_the_digest(void **state)
{
	const struct tu_dir *f = *state;
	char dir[PATH_MAX], path[PATH_MAX];
	char first[PV_RECORDING_HEX], hex[PV_RECORDING_HEX];
	struct pv_err err;
	int64_t bytes = 0;

	tu_path(dir, sizeof(dir), f->dir, "rec");
	assert_int_equal(mkdir(dir, 0700), 0);
	make_recording(dir, ID_A, "id\n", "uid=0(root)\n");
	assert_int_equal(pv_recording_digest(dir, ID_A, &bytes, first, &err), PV_OK);
	assert_int_equal(bytes, 41 + 3 + 12); /* the three files: timing, in, out */
	/* a byte moved from one stream to the other */
	make_recording(dir, ID_A, "id\nu", "id=0(root)\n");
	assert_int_equal(pv_recording_digest(dir, ID_A, &bytes, hex, &err), PV_OK);
	assert_string_not_equal(hex, first);
	make_recording(dir, ID_A, "id\n", "uid=0(root)\n");
	assert_int_equal(pv_recording_digest(dir, ID_A, &bytes, hex, &err), PV_OK);
	assert_string_equal(hex, first);
	part(path, sizeof(path), dir, ID_A, ".out");
	assert_int_equal(truncate(path, 5), 0);
	assert_int_equal(pv_recording_digest(dir, ID_A, &bytes, hex, &err), PV_OK);
	assert_string_not_equal(hex, first);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(pv_recording_digest(dir, ID_A, &bytes, hex, &err), PV_ERR);
	assert_contains(err.msg, ".out");
	assert_int_equal(pv_recording_digest(dir, ID_B, &bytes, hex, &err), PV_NOTFOUND);
}

static void test_a_garbled_timing_log_is_refused(void **state)
{
	const struct tu_dir *f = *state;
	char dir[PATH_MAX], path[PATH_MAX];
	struct pv_err err;

	tu_path(dir, sizeof(dir), f->dir, "rec");
	assert_int_equal(mkdir(dir, 0700), 0);
	make_recording(dir, ID_A, "id\n", "uid=0(root)\n");
	assert_int_equal(pv_recording_check(dir, ID_A, &err), PV_OK);
	part(path, sizeof(path), dir, ID_A, ".timing");
	tu_append_file(path, "O 0.3 1\n", 8); /* one byte more than .out holds */
	assert_int_equal(pv_recording_check(dir, ID_A, &err), PV_ERR);
	assert_contains(err.msg, "garbled");
	make_recording(dir, ID_A, "id\n", "uid=0(root)\n");
	tu_append_file(path, "X 1 2\n", 6);
	assert_int_equal(pv_recording_check(dir, ID_A, &err), PV_ERR);
	assert_contains(err.msg, "line 4");
	assert_int_equal(pv_recording_check(dir, ID_B, &err), PV_NOTFOUND);
	assert_int_equal(pv_recording_check(dir, "../../etc/passwd", &err), PV_ERR);
}

static void test_prune_keeps_live_and_recent_recordings(void **state)
{
	const struct tu_dir *f = *state;
	char dir[PATH_MAX], path[PATH_MAX];
	char live_id[] = ID_B;
	char *live[] = {live_id};
	struct pv_err err;
	unsigned removed = 0;
	int64_t before = (int64_t)time(NULL) + 10; /* everything counts as old */

	tu_path(dir, sizeof(dir), f->dir, "rec");
	assert_int_equal(pv_recording_prune(dir, before, live, 1, &removed, &err), PV_OK);
	assert_int_equal(removed, 0); /* no directory yet: nothing recorded */
	assert_int_equal(mkdir(dir, 0700), 0);
	make_recording(dir, ID_A, "a", "b");
	make_recording(dir, ID_B, "a", "b");
	assert_int_equal(pv_recording_prune(dir, before - 3600, live, 1, &removed, &err), PV_OK);
	assert_int_equal(removed, 0); /* recent */
	assert_int_equal(pv_recording_prune(dir, before, live, 1, &removed, &err), PV_OK);
	assert_int_equal(removed, 1);
	part(path, sizeof(path), dir, ID_A, ".in");
	assert_false(tu_exists(path));
	part(path, sizeof(path), dir, ID_B, ".out");
	assert_true(tu_exists(path)); /* live */
}

/* Leftovers of sessions whose close never ran: ID.new, ID.room, parts without ID.timing;
 * never those of a live session. */
static void test_prune_removes_strays(void **state)
{
	const struct tu_dir *f = *state;
	char dir[PATH_MAX], path[PATH_MAX];
	char live_id[] = ID_B;
	char *live[] = {live_id};
	struct pv_err err;
	unsigned removed = 0;
	int64_t before = (int64_t)time(NULL) + 10;

	tu_path(dir, sizeof(dir), f->dir, "rec");
	assert_int_equal(mkdir(dir, 0700), 0);
	part(path, sizeof(path), dir, ID_A, ".new");
	tu_write_file(path, "x", 1, 0600);
	part(path, sizeof(path), dir, ID_A, ".out");
	tu_write_file(path, "x", 1, 0600);
	part(path, sizeof(path), dir, ID_B, ".new");
	tu_write_file(path, "x", 1, 0600);
	assert_int_equal(pv_recording_prune(dir, before, live, 1, &removed, &err), PV_OK);
	part(path, sizeof(path), dir, ID_A, ".new");
	assert_false(tu_exists(path));
	part(path, sizeof(path), dir, ID_A, ".out");
	assert_false(tu_exists(path));
	part(path, sizeof(path), dir, ID_B, ".new");
	assert_true(tu_exists(path)); /* live */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_prepare_needs_a_set_uid_recorder, tu_dir_setup,
	                                    tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_a_recording_is_claimed_once, tu_dir_setup,
	                                    tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_below_min_free_is_refused, tu_dir_setup,
	                                    tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_every_change_changes_the_digest, tu_dir_setup,
	                                    tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_a_garbled_timing_log_is_refused, tu_dir_setup,
	                                    tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_prune_keeps_live_and_recent_recordings,
	                                    tu_dir_setup, tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_prune_removes_strays, tu_dir_setup,
	                                    tu_dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* store_fixture.h — the fixture of the store's unit tests (test_store.c,
 * test_store_rollback.c): a private temp dir with a configuration, a master key, the store
 * directory and an open file store; rec is a record a test may fill (wiped at teardown). */
#ifndef PV_STORE_FIXTURE_H
#define PV_STORE_FIXTURE_H

#include "store.h"
#include "testutil.h"

struct fixture {
	char *dir;
	struct pv_config cfg;
	struct pv_keys keys;
	struct pv_store *store;
	struct pv_record rec;
};

static inline int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pv_err err = {{0}};

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	tu_config_in(&f->cfg, f->dir);
	f->cfg.lock_timeout = 5;
	if (pv_store_create_dir(&f->cfg, &err) != PV_OK)
		fail_msg("pv_store_create_dir: %s", err.msg);
	tu_make_key(f->cfg.key_file, &f->keys);
	if (pv_store_open(&f->cfg, &f->store, &err) != PV_OK)
		fail_msg("pv_store_open: %s", err.msg);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	pv_store_close(f->store);
	pv_keys_wipe(&f->keys);
	pv_record_wipe(&f->rec);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_fixture.h — the fixture of the audit log's unit tests (test_audit.c,
 * test_audit_seal.c): a private temp dir with a log directory, the paths of the log, its head
 * and its sealing state beside it, and a master key. test_audit_seal.c also sets up sealing
 * (vkey) in its own setup, after this one. */
#ifndef PV_AUDIT_FIXTURE_H
#define PV_AUDIT_FIXTURE_H

#include "audit_seal.h"
#include "testutil.h"

struct fixture {
	char *dir;
	char logdir[PATH_MAX];
	char log[PATH_MAX];
	char head[PATH_MAX + 8];
	char state[PATH_MAX + 8];
	struct pv_keys keys;
	struct pv_audit_seal_key vkey; /* sealing's verification key, when a test sets it up */
};

static inline int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char key[PATH_MAX];

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	tu_path(f->logdir, sizeof(f->logdir), f->dir, "log");
	tu_mkdir(f->logdir, 0750);
	tu_path(f->log, sizeof(f->log), f->logdir, "audit.log");
	snprintf(f->head, sizeof(f->head), "%s.head", f->log);
	snprintf(f->state, sizeof(f->state), "%s.seal", f->log);
	tu_path(key, sizeof(key), f->dir, "master.key");
	tu_make_key(key, &f->keys);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	pv_keys_wipe(&f->keys);
	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_pam_auth.c — the PAM module itself (pam_vendor/ and the core) driven through
 * pam_sm_authenticate, pam_sm_acct_mgmt, pam_sm_open_session, pam_sm_close_session,
 * pam_sm_setcred and pam_sm_chauthtok, one PAM transaction per input (pam_auth_input.c says
 * what an input holds). No libpam: the module's calls to it are -Wl,--wrap'ed onto the input
 * (pam_auth_wrap.c), and the files are real ones in a scratch tree (pam_auth_world.c), damaged
 * and their system calls failed as the input says. After every call the harness checks what
 * must hold whatever the input (pam_auth_check.c; docs/fuzzing.md lists it): no login without the
 * valid, unused, unexpired code inside an open window from an allowed address while not locked; a
 * code accepted once is never accepted again; account only after this handle's auth; every
 * denial logged; no code or key in syslog or the audit log; the record and the audit log
 * change only as they may; no leaked memory or file descriptor. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD
#include <security/pam_modules.h>

#include <sodium.h>

#include "fuzz_common.h"
#include "pam_auth.h"

struct fz_world fz_tree;
static bool verbose; /* PV_FUZZ_VERBOSE=1: each call, its result and its syslog lines */

/* --- running the transaction --- */

static int enter_module(struct run *r, enum fz_step_kind k)
{
	pam_handle_t *pamh = (pam_handle_t *)(void *)&r->h;
	const char **argv = fz_tree.argv;
	int argc = fz_tree.argc, rc = PAM_SYSTEM_ERR;

	fz.armed = true;
	switch (k) {
	case FZ_AUTH:
		rc = pam_sm_authenticate(pamh, 0, argc, argv);
		break;
	case FZ_ACCOUNT:
		rc = pam_sm_acct_mgmt(pamh, 0, argc, argv);
		break;
	case FZ_OPEN:
		rc = pam_sm_open_session(pamh, 0, argc, argv);
		break;
	case FZ_CLOSE:
		rc = pam_sm_close_session(pamh, 0, argc, argv);
		break;
	case FZ_SETCRED:
		rc = pam_sm_setcred(pamh, PAM_ESTABLISH_CRED, argc, argv);
		break;
	case FZ_CHAUTHTOK:
		rc = pam_sm_chauthtok(pamh, PAM_UPDATE_AUTHTOK, argc, argv);
		break;
	default:
		break;
	}
	fz.armed = false;
	return rc;
}

static struct pv_record *load_record(const struct run *r)
{
	struct pv_record *rec = malloc(sizeof(*rec));

	FZ_CHECK(rec != NULL, "oom");
	if (fz_world_load(&fz_tree, r->in.vendor, rec))
		return rec;
	free(rec);
	return NULL;
}

static void free_record(struct pv_record *rec)
{
	if (rec != NULL)
		pv_record_wipe(rec);
	free(rec);
}

static void trace(const struct call *c)
{
	size_t i;

	fprintf(stderr, "pam_auth: %s -> %d (conversations %u, faults so far %u)\n",
	        fz_event_of[c->kind], c->rc, fz.conv_calls, fz.faults_fired);
	for (i = c->log0; i < fz.n_log; i++)
		fprintf(stderr, "  syslog: %s\n", fz.log[i]);
}

static void module_step(struct run *r, enum fz_step_kind k)
{
	struct call c;

	memset(&c, 0, sizeof(c));
	c.first = fz_first_token(r);
	c.kind = k;
	c.log0 = fz.n_log;
	c.faults0 = fz.faults_fired;
	c.before = load_record(r);
	c.old_audit = r->audit;
	c.old_len = r->audit_len;
	r->audit = NULL;
	c.sessions0 = fz_world_sessions(&fz_tree);
	fz.conv_calls = 0;
	fz.n_given = 0;
	c.rc = enter_module(r, k);
	c.after = load_record(r);
	fz_check_call(r, &c);
	if (verbose)
		trace(&c);
	r->prev_kind = k;
	r->prev_rc = c.rc;
	free(c.old_audit);
	free_record(c.before);
	free_record(c.after);
}

static void run_step(struct run *r, const struct fz_step *s)
{
	switch (s->kind) {
	case FZ_NEWHANDLE:
		fz_handle_end(&r->h);
		r->n_auths = 0;
		r->session_open = false;
		break;
	case FZ_SETUSER:
		r->h.user = s->arg;
		break;
	case FZ_SETRHOST:
		r->h.rhost = strcmp(s->arg, "!unset") == 0 ? NULL : s->arg;
		break;
	default:
		module_step(r, s->kind);
		return;
	}
	r->prev_kind = s->kind;
}

/* --- libFuzzer --- */

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = -1; /* the directory's own descriptor */

	FZ_CHECK(d != NULL, "cannot read /proc/self/fd");
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void start(struct run *r)
{
	size_t i;

	memset(&fz, 0, sizeof(fz));
	fz.in = &r->in;
	fz.now = FZ_NOW + r->in.clock;
	r->h.user = r->in.user != NULL ? r->in.user : r->in.vendor;
	r->h.service = r->in.service;
	r->h.rhost = r->in.rhost;
	r->h.tty = r->in.tty;
	r->h.authinfo = r->in.authinfo;
	r->h.conv.conv = fz_conv;
	r->h.conv.appdata_ptr = &fz;
	fz.handle = &r->h;
	fz_world_setup(&fz_tree, &r->in);
	fz_log_reset(); /* the syslog copy of the setup's audit line */
	r->h.authtok = fz_input_token(&r->in, r->in.authtok, fz.now);
	for (i = 0; i < r->in.n_answers; i++)
		fz.answers[i] = fz_input_token(&r->in, r->in.answers[i], fz.now);
	fz.n_answers = r->in.n_answers;
	r->audit = fz_world_audit(&fz_tree, &r->audit_len);
	r->prev_kind = FZ_NEWHANDLE;
	r->prev_rc = -1;
}

static void run_input(const uint8_t *data, size_t size, bool count_fds)
{
	int fds = count_fds ? fd_count() : 0;
	struct run *r = calloc(1, sizeof(*r));
	size_t i;

	FZ_CHECK(r != NULL, "oom");
	fz_input_parse(data, size, &r->in);
	start(r);
	for (i = 0; i < r->in.n_steps; i++)
		run_step(r, &r->in.steps[i]);
	fz_handle_end(&r->h); /* pam_end */
	fz_check_end(r);
	free(r->audit);
	fz_log_reset();
	fz_world_teardown(&fz_tree);
	fz_input_free(&r->in);
	free(r);
	fz.handle = NULL;
	fz.in = NULL;
	if (count_fds)
		FZ_CHECK(fd_count() == fds, "%d file descriptors before the transaction, %d after",
		         fds, fd_count());
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (setenv("TZ", "UTC", 1) != 0 || sodium_init() < 0)
		abort();
	tzset();
	verbose = getenv("PV_FUZZ_VERBOSE") != NULL;
	fz_world_init(&fz_tree);
	run_input((const uint8_t *)"", 0, false); /* anything opened once and kept, opened now */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_input(data, size, true);
	return 0;
}

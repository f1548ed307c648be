/* SPDX-License-Identifier: BSD-3-Clause */
/* module.h — private to pam_vendor/: what one pam_sm_* call works with (struct call), and
 * the pieces the phase files share with the dispatcher (pam_vendor.c). The phase files hold
 * the vendor step of each phase: phase_auth.c (the code: auth and account), phase_session.c
 * (session records and lines). */
#ifndef PV_MODULE_H
#define PV_MODULE_H

#include <stdbool.h>
#include <stdint.h>

#include <security/pam_modules.h>

#include "config.h"
#include "keys.h"
#include "policy.h"
#include "safefile.h"
#include "store.h"

struct options {
	const char *config;
	/* vendor_group=GROUP: who is a vendor, known without trusting pam_vendor.conf (the PAM
	 * file is root's), so that an unsafe configuration, key or store denies vendors only. */
	const char *vendor_group;
	bool debug;
	bool use_first_pass;
	bool try_first_pass;
	const char *unknown; /* first option we do not know, or NULL */
};

/* Everything one pam_sm_* call works with. */
struct call {
	pam_handle_t *pamh;
	struct options opt;
	struct pv_config cfg;
	bool have_config; /* cfg passed its file checks and parsed */
	struct pv_keys keys;
	bool have_keys;
	struct pv_store *store;
	struct pv_dirs dirs; /* directories this call checked once and holds (safefile.h) */
	const char *event;
	const char *user;
	const char *service;
	const char *rhost;
	const char *tty;
};

/* A printable stand-in for names that did not pass validation (never log raw client text). */
const char *mod_shown_user(const struct call *c);
int64_t mod_now(void);
/* Append one audit line for this call (event, service, user, rhost, tty filled in); extra:
 * optional fields, or NULL. On failure syslog says why and the caller denies (PV_ERR). */
struct pv_audit_event;
int mod_audit(struct call *c, const char *result, enum pv_reason reason, const char *detail,
              struct pv_audit_event *extra);
/* Deny with reason: audit (or syslog when that is impossible) and return `code`. */
int mod_deny(struct call *c, enum pv_reason reason, const char *detail, int code);

/* The store for this call (c->store): the one a successful auth kept on this handle for
 * account when it fits the configuration, else a new one (kept_store.c). */
int mod_store_open(struct call *c, struct pv_err *err);
/* Close c->store, or with keep leave a database store on the handle for the next phase. */
void mod_store_release(struct call *c, bool keep);

/* The vendor steps (run_phase calls one after classifying the user as a vendor). */
int mod_auth_vendor(struct call *c);
int mod_account_vendor(struct call *c);
/* Account guard, run for every user: false (logged) when a code was verified on this handle
 * for another user (a later module changed PAM_USER). */
bool mod_account_guard(struct call *c);
int mod_open_session_vendor(struct call *c);
int mod_close_session_vendor(struct call *c);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_vendor.c — the PAM entry points and the one path through them (run_phase): options,
 * user and items, who the user is to us (classify), the phase's vendor step (phase_auth.c,
 * phase_session.c), one cleanup. Every decision is policy.c's; every vendor path that meets
 * an error denies. No global state: each call keeps what it needs on its own stack (sshd and
 * OpenVPN reuse one process). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <sodium.h>

#include "accounts.h"
#include "audit.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "module.h"
#include "policy.h"
#include "store.h"
#include "vendorlist.h"
#include "vendorname.h"

#define PV_EXPORT __attribute__((visibility("default")))

enum who {
	WHO_ERROR,      /* deny: a vendor we cannot serve, or we cannot tell (already logged) */
	WHO_VENDOR,     /* has a record in the store */
	WHO_DENIED,     /* not a vendor, but must be denied (vendor group, unknown_user = deny) */
	WHO_OUTSIDE,    /* a registered vendor outside vendor_group: denied, config_error */
	WHO_NOT_VENDOR, /* not our business: PAM_IGNORE */
};

/* One PAM phase: its audit event, the code a denial returns, an optional check run before
 * anything else, and what it does for a vendor. */
struct phase {
	const char *event;
	int deny_code;
	bool (*guard)(struct call *c); /* false: deny at once (already logged) */
	int (*vendor_step)(struct call *c);
	bool keeps_store; /* on success, its database connection serves the next phase */
};

static void parse_options(int argc, const char **argv, struct options *opt)
{
	int i;

	memset(opt, 0, sizeof(*opt));
	opt->config = PV_DEFAULT_CONFIG;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "config=", 7) == 0 && argv[i][7] != '\0')
			opt->config = argv[i] + 7;
		else if (strncmp(argv[i], "vendor_group=", 13) == 0 && argv[i][13] != '\0')
			opt->vendor_group = argv[i] + 13;
		else if (strcmp(argv[i], "debug") == 0)
			opt->debug = true;
		else if (strcmp(argv[i], "use_first_pass") == 0)
			opt->use_first_pass = true;
		else if (strcmp(argv[i], "try_first_pass") == 0)
			opt->try_first_pass = true;
		else if (opt->unknown == NULL)
			opt->unknown = argv[i];
	}
}

static const char *item_string(pam_handle_t *pamh, int type)
{
	const void *item = NULL;

	if (pam_get_item(pamh, type, &item) != PAM_SUCCESS)
		return NULL;
	return item;
}

/* A printable stand-in for names that did not pass validation (never log raw client text). */
const char *mod_shown_user(const struct call *c)
{
	return pv_vendor_name_valid(c->user) ? c->user : "(invalid name)";
}

int64_t mod_now(void)
{
	return (int64_t)time(NULL);
}

/* Append one audit line; on failure say why in syslog. The caller denies on PV_ERR. */
int mod_audit(struct call *c, const char *result, enum pv_reason reason, const char *detail,
              struct pv_audit_event *extra)
{
	/* With the database backend the line is also copied to its audit table; a failed copy
	 * fails the append (no log, no login). */
	const struct pv_audit_sink sink = {
	    .log = c->cfg.audit_log,
	    .keys = &c->keys,
	    .lock_timeout = (int)c->cfg.lock_timeout,
	    .pamh = c->pamh,
	    .mirror = c->store != NULL ? pv_store_audit_mirror : NULL,
	    .mirror_ctx = c->store,
	    .dirs = &c->dirs,
	};
	struct pv_audit_event ev;
	struct pv_err err;

	if (extra != NULL)
		ev = *extra;
	else
		pv_audit_event_init(&ev);
	ev.event = c->event;
	ev.service = c->service;
	ev.user = c->user;
	ev.rhost = c->rhost;
	ev.result = result;
	ev.reason = pv_reason_name(reason);
	ev.tty = c->tty;
	if (detail != NULL)
		ev.detail = detail;
	if (!c->have_keys) {
		pv_log(c->pamh, LOG_ERR, "%s %s user=%s reason=%s: no audit key, no audit line",
		       c->event, result, mod_shown_user(c), ev.reason);
		return PV_ERR;
	}
	if (pv_audit_append(&sink, &ev, mod_now(), &err) != PV_OK) {
		pv_log(c->pamh, LOG_ERR, "%s %s user=%s reason=%s: cannot write the audit log: %s",
		       c->event, result, mod_shown_user(c), ev.reason, err.msg);
		return PV_ERR;
	}
	return PV_OK;
}

/* Deny with reason: audit (or syslog when that is impossible) and return `code`. */
int mod_deny(struct call *c, enum pv_reason reason, const char *detail, int code)
{
	if (detail != NULL)
		pv_log(c->pamh, LOG_NOTICE, "%s deny user=%s reason=%s: %s", c->event,
		       mod_shown_user(c), pv_reason_name(reason), detail);
	(void)mod_audit(c, "deny", reason, detail, NULL);
	return code;
}

/* Is the user in a vendor group: the module argument's, or the configuration's when it can be
 * trusted? PV_NOTFOUND when neither names a group. A group that does not exist or cannot be
 * read is PV_ERR (logged): the rule must not switch itself off silently. */
static int vendor_group_member(struct call *c, bool use_config, bool *member)
{
	const char *groups[2] = {c->opt.vendor_group, use_config ? c->cfg.vendor_group : NULL};
	bool any = false;
	struct pv_err err;
	size_t i;

	*member = false;
	for (i = 0; i < 2 && !*member; i++) {
		int r;

		if (groups[i] == NULL || groups[i][0] == '\0')
			continue;
		any = true;
		r = pv_group_has_user(groups[i], c->user, member, &err);
		if (r == PV_NOTFOUND) {
			pv_log(c->pamh, LOG_ERR, "vendor_group %s cannot be read: no such group",
			       groups[i]);
			return PV_ERR;
		}
		if (r != PV_OK) {
			pv_log(c->pamh, LOG_ERR, "vendor_group %s cannot be read: %s", groups[i],
			       err.msg);
			return PV_ERR;
		}
	}
	return any ? PV_OK : PV_NOTFOUND;
}

/* The configuration, the crypto library or the store cannot be used (`why`). A vendor group
 * still tells vendors (denied) from everyone else (left to the stack, so a mistake in our
 * files never locks the admins out); without one nobody can be told apart and all are denied. */
static enum who classify_untrusted(struct call *c, enum pv_reason reason, const char *why)
{
	bool member = false;
	int r = vendor_group_member(c, c->have_config, &member);

	if (r == PV_NOTFOUND) {
		pv_log(c->pamh, LOG_ERR,
		       "%s deny user=%s reason=%s: %s; every user is denied: no vendor_group tells "
		       "vendors apart (add vendor_group=GROUP to the module's line)",
		       c->event, mod_shown_user(c), pv_reason_name(reason), why);
		return WHO_ERROR;
	}
	if (r != PV_OK || member) {
		pv_log(c->pamh, LOG_ERR, "%s deny user=%s reason=%s: %s", c->event,
		       mod_shown_user(c), pv_reason_name(reason), why);
		return WHO_ERROR;
	}
	pv_log(c->pamh, LOG_WARNING,
	       "%s ignore user=%s: not in the vendor group, left to the rest of the stack; vendors "
	       "are denied until this is fixed: %s",
	       c->event, mod_shown_user(c), why);
	return WHO_NOT_VENDOR;
}

/* A user with no record: denied when in a vendor group (a removed vendor stays out) or when
 * unknown_user = deny, else not our business. */
static enum who classify_unregistered(const struct call *c, bool member)
{
	if (member)
		return WHO_DENIED;
	return c->cfg.unknown_user == PV_UNKNOWN_DENY ? WHO_DENIED : WHO_NOT_VENDOR;
}

/* With the database, who is registered is read from the local list (vendorlist.h), never from
 * the database: a user neither listed nor in vendor_group (required then) is decided without
 * it, a listed user outside the group is denied, and only group members go on to the store. */
static enum who classify_by_list(struct call *c, bool member, bool *ask_store)
{
	struct pv_err err;
	bool listed = false;

	*ask_store = false;
	if (pv_vendorlist_has(c->cfg.store_dir, c->user, &listed, &err) != PV_OK)
		return classify_untrusted(c, PV_R_STORE_ERROR, err.msg);
	if (member) {
		*ask_store = true; /* maybe added on another gateway since the last refresh */
		return WHO_VENDOR;
	}
	return listed ? WHO_OUTSIDE : classify_unregistered(c, false);
}

/* Who is this user to us? Opens config, key and store for vendors. */
static enum who classify(struct call *c)
{
	struct pv_err err;
	bool exists = false;
	bool member = false;
	bool grouped;
	int r;

	if (pv_config_load_in(&c->dirs, c->opt.config, &c->cfg, &err) != PV_OK)
		return classify_untrusted(c, PV_R_CONFIG_ERROR, err.msg);
	c->have_config = true;
	if (pv_crypto_init(&err) != PV_OK)
		return classify_untrusted(c, PV_R_STORE_ERROR, err.msg);
	r = vendor_group_member(c, true, &member);
	if (r == PV_ERR)
		return WHO_ERROR;
	grouped = r == PV_OK;
	if (!pv_vendor_name_valid(c->user))
		return classify_unregistered(c, member); /* can never have a record */
	if (c->cfg.store_backend == PV_STORE_POSTGRESQL) {
		bool ask_store;
		enum who who = classify_by_list(c, member, &ask_store);
		if (!ask_store)
			return who;
	}
	if (mod_store_open(c, &err) != PV_OK)
		return classify_untrusted(c, PV_R_STORE_ERROR, err.msg);
	pv_store_use_dirs(c->store, &c->dirs); /* a kept store too: cleared again in end() */
	if (pv_store_exists(c->store, c->user, &exists, &err) != PV_OK)
		return classify_untrusted(c, PV_R_STORE_ERROR, err.msg);
	if (!exists)
		return classify_unregistered(c, member);
	if (grouped && !member)
		return WHO_OUTSIDE; /* never left to the stack because its groups changed */
	if (pv_keys_load_in(&c->dirs, c->cfg.key_file, &c->keys, &err) != PV_OK) {
		/* Without the key no chained audit line can be written: syslog carries it. */
		pv_log(c->pamh, LOG_ERR, "%s deny user=%s reason=store_error: %s", c->event,
		       mod_shown_user(c), err.msg);
		return WHO_ERROR;
	}
	c->have_keys = true;
	return WHO_VENDOR;
}

/* The vendor group named in messages: the module argument's, else the configuration's. */
static const char *group_shown(const struct call *c)
{
	return c->opt.vendor_group != NULL ? c->opt.vendor_group : c->cfg.vendor_group;
}

/* The non-vendor outcomes, shared by every entry point. */
static int answer_non_vendor(struct call *c, enum who who, int deny_code)
{
	struct pv_err err;

	if (who == WHO_NOT_VENDOR) {
		if (c->opt.debug)
			pv_log(c->pamh, LOG_DEBUG, "%s ignore user=%s: not a vendor", c->event,
			       mod_shown_user(c));
		return PAM_IGNORE;
	}
	/* Audit a denial if the key is usable; the denial stands either way. */
	if (pv_keys_load_in(&c->dirs, c->cfg.key_file, &c->keys, &err) == PV_OK)
		c->have_keys = true;
	if (who == WHO_OUTSIDE) {
		char detail[160];
		snprintf(detail, sizeof(detail), "registered vendor outside vendor_group %s",
		         group_shown(c));
		return mod_deny(c, PV_R_CONFIG_ERROR, detail, deny_code);
	}
	pv_log(c->pamh, LOG_NOTICE, "%s deny user=%s reason=not_vendor", c->event,
	       mod_shown_user(c));
	(void)mod_audit(c, "deny", PV_R_NOT_VENDOR, "not a registered vendor", NULL);
	return deny_code;
}

static int begin(struct call *c, pam_handle_t *pamh, const char *event, int argc, const char **argv)
{
	memset(c, 0, sizeof(*c));
	pv_dirs_init(&c->dirs);
	c->pamh = pamh;
	c->event = event;
	parse_options(argc, argv, &c->opt);
	c->service = item_string(pamh, PAM_SERVICE);
	c->rhost = item_string(pamh, PAM_RHOST);
	c->tty = item_string(pamh, PAM_TTY);
	/* libpam prompts with its default prompt when no user is set yet (OpenVPN). */
	if (pam_get_user(pamh, &c->user, NULL) != PAM_SUCCESS || c->user == NULL ||
	    c->user[0] == '\0') {
		pv_log(pamh, LOG_ERR, "%s: no user name", event);
		return PV_ERR;
	}
	return PV_OK;
}

/* keep: a successful auth leaves its database connection to account (kept_store.c). */
static void end(struct call *c, bool keep)
{
	pv_keys_wipe(&c->keys);
	if (c->store != NULL) /* a kept store must not point into this call */
		pv_store_use_dirs(c->store, NULL);
	mod_store_release(c, keep);
	pv_dirs_close(&c->dirs);
}

/* Every pam_sm_* but setcred: options, user, classify, the phase's vendor step, one cleanup.
 * Each path that is not a plain "not a vendor" returns the phase's denial unless the vendor
 * step itself allowed. */
static int run_phase(const struct phase *ph, pam_handle_t *pamh, int argc, const char **argv)
{
	struct call c;
	enum who who;
	int rc = ph->deny_code;

	if (begin(&c, pamh, ph->event, argc, argv) != PV_OK)
		goto out;
	if (ph->guard != NULL && !ph->guard(&c))
		goto out;
	who = classify(&c);
	if (who == WHO_ERROR)
		goto out;
	if (who != WHO_VENDOR) {
		rc = answer_non_vendor(&c, who, ph->deny_code);
		goto out;
	}
	/* An unknown module option is a configuration error: fail closed for vendors. */
	if (c.opt.unknown != NULL) {
		pv_log(pamh, LOG_ERR, "unknown module option \"%.64s\"", c.opt.unknown);
		rc = mod_deny(&c, PV_R_CONFIG_ERROR, "unknown module option", ph->deny_code);
		goto out;
	}
	rc = ph->vendor_step(&c);
out:
	end(&c, ph->keeps_store && rc == PAM_SUCCESS);
	return rc;
}

static int chauthtok_vendor(struct call *c)
{
	pv_log(c->pamh, LOG_NOTICE, "chauthtok refused for user=%s: codes come from otpctl",
	       mod_shown_user(c));
	return PAM_AUTHTOK_ERR;
}

static const struct phase AUTH = {"auth", PAM_AUTH_ERR, NULL, mod_auth_vendor, true};
static const struct phase ACCOUNT = {"account", PAM_PERM_DENIED, mod_account_guard,
                                     mod_account_vendor, false};
static const struct phase SESSION_OPEN = {"session_open", PAM_SESSION_ERR, NULL,
                                          mod_open_session_vendor, false};
static const struct phase SESSION_CLOSE = {"session_close", PAM_SESSION_ERR, NULL,
                                           mod_close_session_vendor, false};
static const struct phase CHAUTHTOK = {"chauthtok", PAM_AUTHTOK_ERR, NULL, chauthtok_vendor, false};

PV_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run_phase(&AUTH, pamh, argc, argv);
}

PV_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	/* No credentials to establish. PAM_IGNORE, not PAM_SUCCESS: with success=done in front of
	 * common-auth a success here would skip every later module's setcred, for all users.
	 * sshd calls it twice; doing nothing is idempotent. */
	return PAM_IGNORE;
}

PV_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run_phase(&ACCOUNT, pamh, argc, argv);
}

PV_EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run_phase(&SESSION_OPEN, pamh, argc, argv);
}

PV_EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run_phase(&SESSION_CLOSE, pamh, argc, argv);
}

PV_EXPORT int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return run_phase(&CHAUTHTOK, pamh, argc, argv);
}

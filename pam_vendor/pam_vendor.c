/* pam_vendor.c — the PAM glue: options, user, items, conversation, answer codes. Every
 * decision is policy.c's; every vendor path that meets an error denies. Every pam_sm_* entry
 * goes through run_phase(), the one place that shows it. No global state: each call keeps what
 * it needs on its own stack (sshd and OpenVPN reuse one process). */
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
#include "otp.h"
#include "policy.h"
#include "session.h"
#include "store.h"
#include "timeparse.h"
#include "vendorname.h"
#include "wipe.h"

#define PV_EXPORT     __attribute__((visibility("default")))
#define DATA_VERIFIED "pam_vendor_verified_user"
#define DATA_SESSION  "pam_vendor_session"
#define CODE_PROMPT   "One-time code: "

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
	const char *event;
	const char *user;
	const char *service;
	const char *rhost;
	const char *tty;
};

enum who {
	WHO_ERROR,      /* deny: a vendor we cannot serve, or we cannot tell (already logged) */
	WHO_VENDOR,     /* has a record in the store */
	WHO_DENIED,     /* not a vendor, but must be denied (vendor group, unknown_user = deny) */
	WHO_NOT_VENDOR, /* not our business: PAM_IGNORE */
};

/* One PAM phase: its audit event, the code a denial returns, an optional check run before
 * anything else, and what it does for a vendor. */
struct phase {
	const char *event;
	int deny_code;
	bool (*guard)(struct call *c); /* false: deny at once (already logged) */
	int (*vendor_step)(struct call *c);
};

struct session_data {
	char id[33];
	int64_t start;
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
static const char *shown_user(const struct call *c)
{
	return pv_vendor_name_valid(c->user) ? c->user : "(invalid name)";
}

static int64_t now_seconds(void)
{
	return (int64_t)time(NULL);
}

/* Append one audit line; on failure say why in syslog. The caller denies on PV_ERR. */
static int audit(struct call *c, const char *result, enum pv_reason reason, const char *detail,
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
		       c->event, result, shown_user(c), ev.reason);
		return PV_ERR;
	}
	if (pv_audit_append(&sink, &ev, now_seconds(), &err) != PV_OK) {
		pv_log(c->pamh, LOG_ERR, "%s %s user=%s reason=%s: cannot write the audit log: %s",
		       c->event, result, shown_user(c), ev.reason, err.msg);
		return PV_ERR;
	}
	return PV_OK;
}

/* Deny with reason: audit (or syslog when that is impossible) and return `code`. */
static int deny(struct call *c, enum pv_reason reason, const char *detail, int code)
{
	if (detail != NULL)
		pv_log(c->pamh, LOG_NOTICE, "%s deny user=%s reason=%s: %s", c->event,
		       shown_user(c), pv_reason_name(reason), detail);
	(void)audit(c, "deny", reason, detail, NULL);
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
		       c->event, shown_user(c), pv_reason_name(reason), why);
		return WHO_ERROR;
	}
	if (r != PV_OK || member) {
		pv_log(c->pamh, LOG_ERR, "%s deny user=%s reason=%s: %s", c->event, shown_user(c),
		       pv_reason_name(reason), why);
		return WHO_ERROR;
	}
	pv_log(c->pamh, LOG_WARNING,
	       "%s ignore user=%s: not in the vendor group, left to the rest of the stack; vendors "
	       "are denied until this is fixed: %s",
	       c->event, shown_user(c), why);
	return WHO_NOT_VENDOR;
}

/* A user with no record: denied when in a vendor group (a removed vendor stays out) or when
 * unknown_user = deny, else not our business. */
static enum who classify_unregistered(struct call *c)
{
	bool member = false;
	int r = vendor_group_member(c, true, &member);

	if (r == PV_ERR)
		return WHO_ERROR;
	if (member)
		return WHO_DENIED;
	return c->cfg.unknown_user == PV_UNKNOWN_DENY ? WHO_DENIED : WHO_NOT_VENDOR;
}

/* Who is this user to us? Opens config, key and store for vendors. */
static enum who classify(struct call *c)
{
	struct pv_err err;
	bool exists = false;

	if (pv_config_load(c->opt.config, &c->cfg, &err) != PV_OK)
		return classify_untrusted(c, PV_R_CONFIG_ERROR, err.msg);
	c->have_config = true;
	if (pv_crypto_init(&err) != PV_OK)
		return classify_untrusted(c, PV_R_STORE_ERROR, err.msg);
	if (!pv_vendor_name_valid(c->user))
		return classify_unregistered(c); /* can never have a record: no path is built */
	/* With the database, vendor_group (required then) tells vendors apart first: a user
	 * outside it never waits for, or depends on, the database. */
	if (c->cfg.store_backend == PV_STORE_POSTGRESQL) {
		bool member = false;
		if (vendor_group_member(c, true, &member) != PV_OK)
			return WHO_ERROR;
		if (!member)
			return c->cfg.unknown_user == PV_UNKNOWN_DENY ? WHO_DENIED : WHO_NOT_VENDOR;
	}
	if (pv_store_open(&c->cfg, &c->store, &err) != PV_OK ||
	    pv_store_exists(c->store, c->user, &exists, &err) != PV_OK)
		return classify_untrusted(c, PV_R_STORE_ERROR, err.msg);
	if (!exists)
		return classify_unregistered(c);
	if (pv_keys_load(c->cfg.key_file, &c->keys, &err) != PV_OK) {
		/* Without the key no chained audit line can be written: syslog carries it. */
		pv_log(c->pamh, LOG_ERR, "%s deny user=%s reason=store_error: %s", c->event,
		       shown_user(c), err.msg);
		return WHO_ERROR;
	}
	c->have_keys = true;
	return WHO_VENDOR;
}

/* The non-vendor outcomes, shared by every entry point. */
static int answer_non_vendor(struct call *c, enum who who, int deny_code)
{
	struct pv_err err;

	if (who == WHO_NOT_VENDOR) {
		if (c->opt.debug)
			pv_log(c->pamh, LOG_DEBUG, "%s ignore user=%s: not a vendor", c->event,
			       shown_user(c));
		return PAM_IGNORE;
	}
	if (who == WHO_DENIED) {
		/* Audit it if the key is usable; the denial stands either way. */
		if (pv_keys_load(c->cfg.key_file, &c->keys, &err) == PV_OK)
			c->have_keys = true;
		pv_log(c->pamh, LOG_NOTICE, "%s deny user=%s reason=not_vendor", c->event,
		       shown_user(c));
		(void)audit(c, "deny", PV_R_NOT_VENDOR, "not a registered vendor", NULL);
	}
	return deny_code;
}

static int begin(struct call *c, pam_handle_t *pamh, const char *event, int argc, const char **argv)
{
	memset(c, 0, sizeof(*c));
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

static void end(struct call *c)
{
	pv_keys_wipe(&c->keys);
	pv_store_close(c->store);
	c->store = NULL;
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
		rc = deny(&c, PV_R_CONFIG_ERROR, "unknown module option", ph->deny_code);
		goto out;
	}
	rc = ph->vendor_step(&c);
out:
	end(&c);
	return rc;
}

/* Copy PAM_AUTHTOK (set by an earlier module) into code[PV_OTP_INPUT_MAX + 1]. */
static int get_authtok(struct call *c, char *code)
{
	const void *tok = NULL;
	size_t len;

	code[0] = '\0';
	if (pam_get_item(c->pamh, PAM_AUTHTOK, &tok) != PAM_SUCCESS || tok == NULL)
		return PV_ERR;
	len = strnlen(tok, PV_OTP_INPUT_MAX + 1);
	if (len > PV_OTP_INPUT_MAX)
		return PV_ERR;
	memcpy(code, tok, len);
	code[len] = '\0';
	return PV_OK;
}

/* Wipe and free a conversation's answers (they may hold a code). */
static void drop_responses(struct pam_response *resp, int n)
{
	int i;

	if (resp == NULL)
		return;
	for (i = 0; i < n; i++) {
		pv_wipe_string(resp[i].resp);
		free(resp[i].resp);
	}
	free(resp);
}

/* Ask for the code through the conversation (echo off; no other message, since OpenVPN's
 * name/value form fails on any message it cannot answer). The answer is copied into
 * code[PV_OTP_INPUT_MAX + 1] and wiped from the conversation's buffer. */
static int prompt_code(struct call *c, char *code, bool *conv_failed)
{
	const struct pam_conv *conv = NULL;
	struct pam_message msg = {PAM_PROMPT_ECHO_OFF, CODE_PROMPT};
	const struct pam_message *msgp = &msg;
	struct pam_response *resp = NULL;
	size_t len;
	int r;

	code[0] = '\0';
	*conv_failed = false;
	if (pam_get_item(c->pamh, PAM_CONV, (const void **)&conv) != PAM_SUCCESS || conv == NULL ||
	    conv->conv == NULL) {
		*conv_failed = true;
		return PV_ERR;
	}
	r = conv->conv(1, &msgp, &resp, conv->appdata_ptr);
	if (r != PAM_SUCCESS) {
		*conv_failed = true;
		r = PV_ERR;
		goto out;
	}
	/* A "successful" conversation with no answer (Ctrl-D) is no code. */
	if (resp == NULL || resp[0].resp == NULL) {
		r = PV_ERR;
		goto out;
	}
	len = strnlen(resp[0].resp, PV_OTP_INPUT_MAX + 1);
	if (len > PV_OTP_INPUT_MAX) {
		r = PV_ERR;
		goto out;
	}
	memcpy(code, resp[0].resp, len);
	code[len] = '\0';
	r = PV_OK;
out:
	drop_responses(resp, 1);
	return r;
}

/* Digits (with spaces or dashes) are a guess at a code and always count; a password with
 * other characters, left in PAM_AUTHTOK by an earlier module, is no guess at all. */
static bool looks_like_code(const char *token)
{
	char digits[PV_OTP_MAX_LEN + 1];
	size_t len = 0;
	bool code = pv_otp_normalise(token, digits, &len) == PV_OK;

	pv_wipe_array(digits);
	return code;
}

struct code_check {
	const struct call *call;
	const char *code;
	int64_t now;
	bool invalid_is_free; /* try_first_pass: a token that is no code at all is not counted */
	struct pv_decision decision;
};

/* Under the vendor's lock: decide on the fresh record, apply, ask for a save. */
static enum pv_modify_result check_code_locked(struct pv_record *rec, void *vctx,
                                               struct pv_err *err)
{
	struct code_check *cc = vctx;
	struct pv_request req = {
	    .phase = PV_PHASE_CODE,
	    .rhost = cc->call->rhost,
	    .code = cc->code,
	    .keys = &cc->call->keys,
	    .otp_length = cc->call->cfg.otp_length,
	    .max_failures = cc->call->cfg.max_failures,
	};

	pv_local_wday_minute(cc->now, &req.local_wday, &req.local_minute);
	pv_decide(rec, &req, cc->now, &cc->decision);
	if (!pv_decision_changes(&cc->decision))
		return PV_MODIFY_KEEP;
	if (cc->invalid_is_free && cc->decision.reason == PV_R_OTP_INVALID &&
	    !looks_like_code(cc->code))
		return PV_MODIFY_KEEP;
	pv_apply(rec, &cc->decision, cc->call->rhost, cc->now);
	return PV_MODIFY_SAVE;
}

/* Window, address and lockout before prompting: a vendor outside its window or address
 * never gets to burn or probe codes. PV_ERR with err when the record cannot be read. */
static int precheck(struct call *c, enum pv_phase phase, struct pv_decision *d, struct pv_err *err)
{
	struct pv_record *rec;
	struct pv_request req = {.phase = phase, .rhost = c->rhost};
	int64_t now = now_seconds();
	int rc = PV_ERR;

	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	if (pv_store_load(c->store, &c->keys, c->user, rec, err) != PV_OK)
		goto out;
	pv_local_wday_minute(now, &req.local_wday, &req.local_minute);
	pv_decide(rec, &req, now, d);
	rc = PV_OK;
out:
	pv_record_wipe(rec);
	free(rec);
	return rc;
}

static void free_string(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

/* Check `code` under the vendor's lock; PV_ERR with err when the store fails. */
static int verify_code(struct call *c, const char *code, bool invalid_is_free,
                       struct code_check *cc, struct pv_err *err)
{
	memset(cc, 0, sizeof(*cc));
	cc->call = c;
	cc->code = code;
	cc->now = now_seconds();
	cc->invalid_is_free = invalid_is_free;
	return pv_store_update(c->store, &c->keys, c->user, check_code_locked, cc, err);
}

/* The code to check, from PAM_AUTHTOK or the prompt. PV_ERR only when the conversation
 * itself failed; no answer at all is an empty code, checked (and counted) as a wrong one. */
static int read_code(struct call *c, char *code)
{
	bool conv_failed = false;

	if (c->opt.use_first_pass) {
		if (get_authtok(c, code) != PV_OK)
			code[0] = '\0';
		return PV_OK;
	}
	if (prompt_code(c, code, &conv_failed) != PV_OK) {
		if (conv_failed)
			return PV_ERR;
		code[0] = '\0';
	}
	return PV_OK;
}

/* Bind the verification to this PAM transaction for the account phase (BRIEF §6). */
static int mark_verified(struct call *c)
{
	char *marker = strdup(c->user);

	if (marker == NULL ||
	    pam_set_data(c->pamh, DATA_VERIFIED, marker, free_string) != PAM_SUCCESS) {
		free(marker);
		return PV_ERR;
	}
	return PV_OK;
}

/* Every refusal, a lockout included, is PAM_AUTH_ERR: after PAM_MAXTRIES sshd advertises no
 * method at all and the OpenSSH client then falls back to its own password prompts, which a
 * vendor reads as "type your password". The audit reason tells the admin what happened. */
static int authenticate_vendor(struct call *c)
{
	char code[PV_OTP_INPUT_MAX + 1];
	struct code_check cc;
	struct pv_decision pre;
	struct pv_err err;
	bool checked = false;
	int rc = PAM_AUTH_ERR;

	memset(&cc, 0, sizeof(cc));
	code[0] = '\0';
	/* A new attempt on this handle starts unverified, whatever an earlier one did. */
	(void)pam_set_data(c->pamh, DATA_VERIFIED, NULL, NULL);
	if (precheck(c, PV_PHASE_PRECHECK, &pre, &err) != PV_OK) {
		rc = deny(c, PV_R_STORE_ERROR, err.msg, PAM_AUTH_ERR);
		goto out;
	}
	if (!pre.allow) {
		rc = deny(c, pre.reason, NULL, PAM_AUTH_ERR);
		goto out;
	}
	if (c->cfg.fail_delay > 0)
		(void)pam_fail_delay(c->pamh, (unsigned)(c->cfg.fail_delay * 1000000));
	if (c->opt.try_first_pass && get_authtok(c, code) == PV_OK) {
		/* An earlier module's password is usually no code: then ask, without counting
		 * it. A token of digits is a guess at a code and counts like any other. */
		if (verify_code(c, code, true, &cc, &err) != PV_OK) {
			rc = deny(c, PV_R_STORE_ERROR, err.msg, PAM_AUTH_ERR);
			goto out;
		}
		checked = cc.decision.allow || cc.decision.reason != PV_R_OTP_INVALID;
	}
	if (!checked) {
		if (read_code(c, code) != PV_OK) {
			rc = deny(c, PV_R_OTP_INVALID, "conversation failed", PAM_CONV_ERR);
			goto out;
		}
		if (verify_code(c, code, false, &cc, &err) != PV_OK) {
			rc = deny(c, PV_R_STORE_ERROR, err.msg, PAM_AUTH_ERR);
			goto out;
		}
	}
	if (!cc.decision.allow) {
		rc = deny(c, cc.decision.reason, NULL, PAM_AUTH_ERR);
		goto out;
	}
	/* The code is consumed on disk; now the audit line, or no login. */
	if (audit(c, "allow", PV_R_OK, NULL, NULL) != PV_OK || mark_verified(c) != PV_OK)
		goto out;
	rc = PAM_SUCCESS;
out:
	pv_wipe_array(code);
	return rc;
}

static int account_vendor(struct call *c)
{
	struct pv_decision d;
	struct pv_err err;
	const void *verified = NULL;

	if (precheck(c, PV_PHASE_ACCOUNT, &d, &err) != PV_OK)
		return deny(c, PV_R_STORE_ERROR, err.msg, PAM_PERM_DENIED);
	if (!d.allow)
		return deny(c, d.reason, NULL, PAM_PERM_DENIED);
	/* Only a code verified by this same PAM handle counts (publickey-only sshd skips auth). */
	if (pam_get_data(c->pamh, DATA_VERIFIED, &verified) != PAM_SUCCESS || verified == NULL ||
	    strcmp(verified, c->user) != 0)
		return deny(c, PV_R_NO_OTP_VERIFIED, NULL, PAM_PERM_DENIED);
	if (audit(c, "allow", PV_R_OK, NULL, NULL) != PV_OK)
		return PAM_PERM_DENIED;
	return PAM_SUCCESS;
}

/* Account guard: a code verified on this handle for someone else means a later module
 * changed PAM_USER; nobody gets in on it. */
static bool same_user_as_verified(struct call *c)
{
	const void *verified = NULL;

	if (pam_get_data(c->pamh, DATA_VERIFIED, &verified) != PAM_SUCCESS || verified == NULL ||
	    strcmp(verified, c->user) == 0)
		return true;
	pv_log(c->pamh, LOG_ERR,
	       "account deny user=%s: PAM_USER changed after the code was verified", shown_user(c));
	return false;
}

static void free_session(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

/* Record the live session (this process: sshd's monitor) so that otpctl expire can end it
 * when the window closes. A session that could not be ended must not start. */
static int record_session(struct call *c, const struct session_data *sd, struct pv_err *err)
{
	struct pv_session s;
	struct pv_cidr addr;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", sd->id);
	snprintf(s.user, sizeof(s.user), "%s", c->user);
	snprintf(s.service, sizeof(s.service), "%s", c->service ? c->service : "-");
	s.kind = PV_SESSION_SSH;
	if (c->rhost != NULL && pv_addr_parse(c->rhost, &addr) == PV_OK)
		pv_cidr_format(&addr, s.rhost, sizeof(s.rhost));
	s.pid = (long)getpid();
	s.opened = sd->start;
	if (pv_process_start(s.pid, &s.pid_start, err) != PV_OK) {
		if (err->msg[0] == '\0')
			pv_err_set(err, "cannot read this process's start time");
		return PV_ERR;
	}
	return pv_session_save(c->cfg.session_dir, &s, err);
}

static void forget_session(struct call *c, const char *id)
{
	struct pv_err err;

	if (pv_session_remove(c->cfg.session_dir, id, &err) == PV_ERR)
		pv_log(c->pamh, LOG_ERR, "%s user=%s: %s", c->event, shown_user(c), err.msg);
}

static int open_session_vendor(struct call *c)
{
	struct pv_audit_event ev;
	struct session_data *sd;
	struct pv_err err;
	unsigned char rnd[16];
	int rc = PAM_SESSION_ERR;

	sd = calloc(1, sizeof(*sd));
	if (sd == NULL)
		return PAM_SESSION_ERR;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(sd->id, sizeof(sd->id), rnd, sizeof(rnd));
	sd->start = now_seconds();
	pv_audit_event_init(&ev);
	ev.session = sd->id;
	ev.pid = (long)getpid(); /* sshd's monitor: SIGTERM to it ends the session cleanly */
	ev.auth_info = pam_getenv(c->pamh, "SSH_AUTH_INFO_0");
	memset(&err, 0, sizeof(err));
	if (record_session(c, sd, &err) != PV_OK) {
		rc = deny(c, PV_R_STORE_ERROR, err.msg, PAM_SESSION_ERR);
		goto out;
	}
	if (audit(c, "allow", PV_R_OK, NULL, &ev) != PV_OK) {
		forget_session(c, sd->id);
		goto out;
	}
	/* sshd opens and closes the session on the same handle in the monitor process. */
	if (pam_set_data(c->pamh, DATA_SESSION, sd, free_session) != PAM_SUCCESS) {
		forget_session(c, sd->id);
		goto out;
	}
	sd = NULL;
	rc = PAM_SUCCESS;
out:
	free(sd);
	return rc;
}

static int close_session_vendor(struct call *c)
{
	struct pv_audit_event ev;
	const void *data = NULL;
	const struct session_data *sd;

	pv_audit_event_init(&ev);
	if (pam_get_data(c->pamh, DATA_SESSION, &data) == PAM_SUCCESS && data != NULL) {
		sd = data;
		forget_session(c, sd->id);
		ev.session = sd->id;
		ev.duration_s = now_seconds() - sd->start;
		if (ev.duration_s < 0)
			ev.duration_s = 0; /* clock stepped back during the session */
	} else {
		ev.detail = "no session_open on this PAM handle";
	}
	ev.pid = (long)getpid();
	if (audit(c, "allow", PV_R_OK, NULL, &ev) != PV_OK)
		return PAM_SESSION_ERR;
	return PAM_SUCCESS;
}

static int chauthtok_vendor(struct call *c)
{
	pv_log(c->pamh, LOG_NOTICE, "chauthtok refused for user=%s: codes come from otpctl",
	       shown_user(c));
	return PAM_AUTHTOK_ERR;
}

static const struct phase AUTH = {"auth", PAM_AUTH_ERR, NULL, authenticate_vendor};
static const struct phase ACCOUNT = {"account", PAM_PERM_DENIED, same_user_as_verified,
                                     account_vendor};
static const struct phase SESSION_OPEN = {"session_open", PAM_SESSION_ERR, NULL,
                                          open_session_vendor};
static const struct phase SESSION_CLOSE = {"session_close", PAM_SESSION_ERR, NULL,
                                           close_session_vendor};
static const struct phase CHAUTHTOK = {"chauthtok", PAM_AUTHTOK_ERR, NULL, chauthtok_vendor};

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

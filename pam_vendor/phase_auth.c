/* SPDX-License-Identifier: BSD-3-Clause */
/* phase_auth.c — the vendor steps of auth and account: window, address and lockout before
 * any prompt, the code from the conversation (or PAM_AUTHTOK), its check under the vendor's
 * lock, and the binding of a verified code to this PAM handle for the account phase
 * (BRIEF §6: publickey-only sshd runs account without auth, and must be refused). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "log.h"
#include "module.h"
#include "otp.h"
#include "timeparse.h"
#include "wipe.h"

#define DATA_VERIFIED "pam_vendor_verified_user"
#define CODE_PROMPT   "One-time code: "

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
	/* A code accepted is consumed in the same commit as the "allow" line that follows (with
	 * the database; docs/design.md). A failure counted is saved at once, before its line:
	 * a process killed in between must not leave the guess uncounted. */
	return cc->decision.allow ? PV_MODIFY_SAVE_WITH_AUDIT : PV_MODIFY_SAVE;
}

/* Window, address and lockout before prompting: a vendor outside its window or address
 * never gets to burn or probe codes. PV_ERR with err when the record cannot be read. */
static int precheck(struct call *c, enum pv_phase phase, struct pv_decision *d, struct pv_err *err)
{
	struct pv_record *rec;
	struct pv_request req = {.phase = phase, .rhost = c->rhost};
	int64_t now = mod_now();
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
	cc->now = mod_now();
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
	/* The answer may come minutes later (LoginGraceTime): the directories checked before
	 * the prompt are let go, and what follows (serials, audit log) walks and checks them
	 * again from "/", as an admin may have changed them meanwhile. */
	pv_dirs_close(&c->dirs);
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
int mod_auth_vendor(struct call *c)
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
		rc = mod_deny(c, PV_R_STORE_ERROR, err.msg, PAM_AUTH_ERR);
		goto out;
	}
	if (!pre.allow) {
		rc = mod_deny(c, pre.reason, NULL, PAM_AUTH_ERR);
		goto out;
	}
	if (c->cfg.fail_delay > 0)
		(void)pam_fail_delay(c->pamh, (unsigned)(c->cfg.fail_delay * 1000000));
	if (c->opt.try_first_pass && get_authtok(c, code) == PV_OK) {
		/* An earlier module's password is usually no code: then ask, without counting
		 * it. A token of digits is a guess at a code and counts like any other. */
		if (verify_code(c, code, true, &cc, &err) != PV_OK) {
			rc = mod_deny(c, PV_R_STORE_ERROR, err.msg, PAM_AUTH_ERR);
			goto out;
		}
		checked = cc.decision.allow || cc.decision.reason != PV_R_OTP_INVALID;
	}
	if (!checked) {
		if (read_code(c, code) != PV_OK) {
			rc = mod_deny(c, PV_R_OTP_INVALID, "conversation failed", PAM_CONV_ERR);
			goto out;
		}
		if (verify_code(c, code, false, &cc, &err) != PV_OK) {
			rc = mod_deny(c, PV_R_STORE_ERROR, err.msg, PAM_AUTH_ERR);
			goto out;
		}
	}
	if (!cc.decision.allow) {
		rc = mod_deny(c, cc.decision.reason, NULL, PAM_AUTH_ERR);
		goto out;
	}
	/* The code is consumed on disk; now the audit line, or no login. */
	if (mod_audit(c, "allow", PV_R_OK, NULL, NULL) != PV_OK || mark_verified(c) != PV_OK)
		goto out;
	rc = PAM_SUCCESS;
out:
	pv_wipe_array(code);
	return rc;
}

int mod_account_vendor(struct call *c)
{
	struct pv_decision d;
	struct pv_err err;
	const void *verified = NULL;

	if (precheck(c, PV_PHASE_ACCOUNT, &d, &err) != PV_OK)
		return mod_deny(c, PV_R_STORE_ERROR, err.msg, PAM_PERM_DENIED);
	if (!d.allow)
		return mod_deny(c, d.reason, NULL, PAM_PERM_DENIED);
	/* Only a code verified by this same PAM handle counts (publickey-only sshd skips auth). */
	if (pam_get_data(c->pamh, DATA_VERIFIED, &verified) != PAM_SUCCESS || verified == NULL ||
	    strcmp(verified, c->user) != 0)
		return mod_deny(c, PV_R_NO_OTP_VERIFIED, NULL, PAM_PERM_DENIED);
	if (mod_audit(c, "allow", PV_R_OK, NULL, NULL) != PV_OK)
		return PAM_PERM_DENIED;
	return PAM_SUCCESS;
}

/* Account guard: a code verified on this handle for someone else means a later module
 * changed PAM_USER; nobody gets in on it. */
bool mod_account_guard(struct call *c)
{
	const void *verified = NULL;

	if (pam_get_data(c->pamh, DATA_VERIFIED, &verified) != PAM_SUCCESS || verified == NULL ||
	    strcmp(verified, c->user) == 0)
		return true;
	pv_log(c->pamh, LOG_ERR,
	       "account deny user=%s: PAM_USER changed after the code was verified",
	       mod_shown_user(c));
	return false;
}

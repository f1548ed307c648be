/* SPDX-License-Identifier: BSD-3-Clause */
/* policy.c — the vendor access decision (see policy.h). Order of checks: rhost, window,
 * business hours, address, lockout, then the code; the first failing check is the reason. */
#include "policy.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "ipmatch.h"
#include "otp.h"

static const char *const reason_names[PV_R_COUNT] = {
    [PV_R_OK] = "ok",
    [PV_R_NOT_VENDOR] = "not_vendor",
    [PV_R_NOT_ENABLED] = "not_enabled",
    [PV_R_WINDOW_NOT_STARTED] = "window_not_started",
    [PV_R_WINDOW_EXPIRED] = "window_expired",
    [PV_R_RHOST_MISSING] = "rhost_missing",
    [PV_R_RHOST_NOT_NUMERIC] = "rhost_not_numeric",
    [PV_R_IP_NOT_ALLOWED] = "ip_not_allowed",
    [PV_R_OTP_INVALID] = "otp_invalid",
    [PV_R_OTP_EXPIRED] = "otp_expired",
    [PV_R_OTP_REUSED] = "otp_reused",
    [PV_R_LOCKED_OUT] = "locked_out",
    [PV_R_NO_OTP_VERIFIED] = "no_otp_verified",
    [PV_R_STORE_ERROR] = "store_error",
    [PV_R_CONFIG_ERROR] = "config_error",
    [PV_R_OUTSIDE_HOURS] = "outside_hours",
    [PV_R_RECORDING_FAILED] = "recording_failed",
};

const char *pv_reason_name(enum pv_reason reason)
{
	if ((unsigned)reason >= PV_R_COUNT)
		return "store_error";
	return reason_names[reason];
}

/* What each reason means, for people reading the log live (otpctl watch). */
static const char *const reason_words[PV_R_COUNT] = {
    [PV_R_OK] = "allowed",
    [PV_R_NOT_VENDOR] = "not a registered vendor",
    [PV_R_NOT_ENABLED] = "no maintenance window (disabled)",
    [PV_R_WINDOW_NOT_STARTED] = "the window has not started yet",
    [PV_R_WINDOW_EXPIRED] = "the window has ended",
    [PV_R_RHOST_MISSING] = "no client address",
    [PV_R_RHOST_NOT_NUMERIC] = "the client address is not numeric",
    [PV_R_IP_NOT_ALLOWED] = "the address is not in the vendor's list",
    [PV_R_OTP_INVALID] = "wrong code",
    [PV_R_OTP_EXPIRED] = "the code had expired",
    [PV_R_OTP_REUSED] = "the code was already used",
    [PV_R_LOCKED_OUT] = "locked out after too many wrong codes",
    [PV_R_NO_OTP_VERIFIED] = "no code was checked in this login",
    [PV_R_STORE_ERROR] = "the vendor store could not be used",
    [PV_R_CONFIG_ERROR] = "the configuration is wrong",
    [PV_R_OUTSIDE_HOURS] = "outside the vendor's business hours",
    [PV_R_RECORDING_FAILED] = "the session could not be recorded",
};

const char *pv_reason_words(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < PV_R_COUNT; i++)
		if (strcmp(name, reason_names[i]) == 0)
			return reason_words[i];
	return NULL;
}

static enum pv_reason check_rhost(const char *rhost, struct pv_cidr *addr)
{
	/* sshd -i reports the literal "UNKNOWN": there is no address to check. */
	if (rhost == NULL || rhost[0] == '\0' || strcmp(rhost, "UNKNOWN") == 0)
		return PV_R_RHOST_MISSING;
	if (pv_addr_parse(rhost, addr) != PV_OK)
		return PV_R_RHOST_NOT_NUMERIC;
	return PV_R_OK;
}

enum pv_window pv_window_state(const struct pv_record *rec, int64_t now)
{
	if (rec->window_end <= 0)
		return PV_WINDOW_NONE;
	if (now < rec->window_start)
		return PV_WINDOW_UPCOMING;
	if (now < rec->window_end)
		return PV_WINDOW_OPEN;
	return PV_WINDOW_CLOSED;
}

static enum pv_reason check_window(const struct pv_record *rec, int64_t now)
{
	switch (pv_window_state(rec, now)) {
	case PV_WINDOW_NONE:
		return PV_R_NOT_ENABLED;
	case PV_WINDOW_UPCOMING:
		return PV_R_WINDOW_NOT_STARTED;
	case PV_WINDOW_CLOSED:
		return PV_R_WINDOW_EXPIRED;
	case PV_WINDOW_OPEN:
		break;
	}
	return PV_R_OK;
}

static enum pv_reason check_hours(const struct pv_record *rec, const struct pv_request *req)
{
	return pv_schedule_allows(&rec->hours, req->local_wday, req->local_minute)
	           ? PV_R_OK
	           : PV_R_OUTSIDE_HOURS;
}

static enum pv_reason check_address(const struct pv_record *rec, const struct pv_cidr *addr)
{
	const struct pv_cidr *allowed;
	size_t n;
	size_t i;

	allowed = pv_record_allowed_ips(rec, &n);
	for (i = 0; i < n; i++)
		if (pv_cidr_contains(&allowed[i], addr))
			return PV_R_OK;
	return PV_R_IP_NOT_ALLOWED;
}

/* Find the issued code; every stored hash is compared so timing does not depend on which
 * one (if any) matches. */
static int find_code(const struct pv_record *rec, const unsigned char hash[PV_CODE_HASH_BYTES])
{
	int found = -1;
	size_t i;

	for (i = 0; i < rec->n_codes; i++)
		if (pv_otp_hash_equal(rec->codes[i].hash, hash) && found < 0)
			found = (int)i;
	return found;
}

static enum pv_reason check_code(const struct pv_record *rec, const struct pv_request *req,
                                 int64_t now, struct pv_change *change)
{
	char digits[PV_OTP_MAX_LEN + 1];
	unsigned char hash[PV_CODE_HASH_BYTES];
	enum pv_reason reason = PV_R_OTP_INVALID;
	size_t len = 0;
	int64_t step = 0;
	int idx;

	if (pv_otp_normalise(req->code, digits, &len) != PV_OK)
		goto out;
	if (len == req->otp_length && req->keys != NULL &&
	    pv_otp_hash(req->keys, rec->name, digits, hash) == PV_OK) {
		idx = find_code(rec, hash);
		if (idx >= 0) {
			const struct pv_code *c = &rec->codes[idx];
			if (c->used_at != 0) {
				reason = PV_R_OTP_REUSED;
			} else if (now >= c->expires) {
				reason = PV_R_OTP_EXPIRED;
			} else {
				change->consume_code = idx;
				reason = PV_R_OK;
			}
			goto out;
		}
	}
	if (len == PV_TOTP_DIGITS && rec->totp_enrolled &&
	    pv_totp_match(rec->totp_secret, now, digits, &step) == PV_OK) {
		if (step <= rec->totp_last_step) {
			reason = PV_R_OTP_REUSED;
		} else {
			change->totp_step = step;
			reason = PV_R_OK;
		}
	}
out:
	sodium_memzero(digits, sizeof(digits));
	sodium_memzero(hash, sizeof(hash));
	return reason;
}

void pv_decide(const struct pv_record *rec, const struct pv_request *req, int64_t now,
               struct pv_decision *out)
{
	struct pv_cidr addr;
	enum pv_reason reason;

	memset(out, 0, sizeof(*out));
	out->change.consume_code = -1;
	reason = check_rhost(req->rhost, &addr);
	if (reason == PV_R_OK)
		reason = check_window(rec, now);
	if (reason == PV_R_OK)
		reason = check_hours(rec, req);
	if (reason == PV_R_OK)
		reason = check_address(rec, &addr);
	if (reason == PV_R_OK && req->phase != PV_PHASE_ACCOUNT && rec->locked)
		reason = PV_R_LOCKED_OUT;
	if (reason == PV_R_OK && req->phase == PV_PHASE_CODE) {
		reason = check_code(rec, req, now, &out->change);
		if (reason == PV_R_OK) {
			out->change.record_success = true;
		} else {
			out->change.count_failure = true;
			out->change.lock = rec->failures + 1 >= req->max_failures;
		}
	}
	out->reason = reason;
	out->allow = (reason == PV_R_OK);
}

bool pv_decision_changes(const struct pv_decision *d)
{
	const struct pv_change *c = &d->change;

	return c->consume_code >= 0 || c->totp_step != 0 || c->count_failure || c->lock ||
	       c->record_success;
}

void pv_apply(struct pv_record *rec, const struct pv_decision *d, const char *rhost, int64_t now)
{
	const struct pv_change *c = &d->change;
	struct pv_cidr addr;

	if (c->consume_code >= 0 && (size_t)c->consume_code < rec->n_codes)
		rec->codes[c->consume_code].used_at = now > 0 ? now : 1;
	if (c->totp_step > rec->totp_last_step)
		rec->totp_last_step = c->totp_step;
	if (c->count_failure && rec->failures < 1000000)
		rec->failures++;
	if (c->lock)
		rec->locked = true;
	if (c->record_success) {
		rec->failures = 0;
		rec->last_login = now;
		if (rhost != NULL && pv_addr_parse(rhost, &addr) == PV_OK)
			pv_cidr_format(&addr, rec->last_login_rhost, sizeof(rec->last_login_rhost));
	}
	pv_record_prune_codes(rec, now);
}

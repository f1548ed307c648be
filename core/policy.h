/* SPDX-License-Identifier: BSD-3-Clause */
/* policy.h — the access decision for a vendor: a pure function of (record, request, now).
 * It performs no I/O and reads no clock; the module and otpctl never re-implement any of it. */
#ifndef PV_POLICY_H
#define PV_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "keys.h"
#include "record.h"

/* The audit vocabulary (BRIEF §4): stable, extend only. */
enum pv_reason {
	PV_R_OK = 0,
	PV_R_NOT_VENDOR,
	PV_R_NOT_ENABLED,
	PV_R_WINDOW_NOT_STARTED,
	PV_R_WINDOW_EXPIRED,
	PV_R_RHOST_MISSING,
	PV_R_RHOST_NOT_NUMERIC,
	PV_R_IP_NOT_ALLOWED,
	PV_R_OTP_INVALID,
	PV_R_OTP_EXPIRED,
	PV_R_OTP_REUSED,
	PV_R_LOCKED_OUT,
	PV_R_NO_OTP_VERIFIED,
	PV_R_STORE_ERROR,
	PV_R_CONFIG_ERROR,
	PV_R_OUTSIDE_HOURS,
	PV_R_RECORDING_FAILED,
	PV_R_COUNT
};

const char *pv_reason_name(enum pv_reason reason);
/* The reason named `name` (as in an audit line) in words ("the code was already used"), or
 * NULL for a name that is not a decision reason (admin lines carry others). */
const char *pv_reason_words(const char *name);

enum pv_phase {
	PV_PHASE_PRECHECK, /* before prompting: rhost, window, address, lockout */
	PV_PHASE_CODE,     /* the same checks, then the code the vendor typed */
	PV_PHASE_ACCOUNT,  /* account management: rhost, window, address again */
};

struct pv_request {
	enum pv_phase phase;
	const char *rhost;          /* PAM_RHOST; NULL when unset */
	const char *code;           /* PV_PHASE_CODE: what was typed */
	const struct pv_keys *keys; /* PV_PHASE_CODE: to hash the code */
	unsigned otp_length;
	unsigned max_failures;
	/* Local time of `now` for business hours (the caller's localtime_r): weekday 0 = Sunday
	 * and minute of the day; -1 when unknown (a vendor with hours is then refused). */
	int local_wday;
	int local_minute;
};

/* What to persist. Applied by pv_apply, under the vendor's lock. */
struct pv_change {
	int consume_code;    /* index into rec->codes, or -1 */
	int64_t totp_step;   /* TOTP step to record as used, or 0 */
	bool count_failure;  /* a wrong, expired or replayed code */
	bool lock;           /* this failure reaches max_failures */
	bool record_success; /* reset failures, remember the login */
};

struct pv_decision {
	bool allow;
	enum pv_reason reason;
	struct pv_change change;
};

/* Where `now` stands against the vendor's window: the one place these comparisons are made
 * (the decision below, and otpctl's status, expire and enable all use it). */
enum pv_window { PV_WINDOW_NONE, PV_WINDOW_UPCOMING, PV_WINDOW_OPEN, PV_WINDOW_CLOSED };
enum pv_window pv_window_state(const struct pv_record *rec, int64_t now);

void pv_decide(const struct pv_record *rec, const struct pv_request *req, int64_t now,
               struct pv_decision *out);

/* True when the decision changes the record (so it must be saved before answering). */
bool pv_decision_changes(const struct pv_decision *d);

/* Apply d's change to rec at now (rhost is the request's, recorded on success). */
void pv_apply(struct pv_record *rec, const struct pv_decision *d, const char *rhost, int64_t now);

#endif

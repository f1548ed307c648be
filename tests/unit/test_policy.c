/* SPDX-License-Identifier: BSD-3-Clause */
/* test_policy.c — unit tests for core/policy.c: every reason pv_decide can give, the order
 * of the checks, window and address rules, failure counting and lockout, single use of
 * one-time codes and TOTP steps, and what pv_apply records. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <liboath/oath.h>

#include "otp.h"
#include "policy.h"
#include "testutil.h"

#define NOW          INT64_C(1800000000)
#define CODE         "48210937"
#define RHOST        "203.0.113.5"
#define MAX_FAILURES 5

struct fixture {
	struct pv_keys keys;
	struct pv_record rec;
};

/* Add an issued code for rec's vendor; returns its index. */
static int add_code(struct pv_record *rec, const struct pv_keys *keys, const char *vendor,
                    const char *digits, int64_t issued, int64_t expires)
{
	struct pv_code *c = &rec->codes[rec->n_codes];

	assert_true(rec->n_codes < PV_MAX_CODES);
	assert_int_equal(pv_otp_hash(keys, vendor, digits, c->hash), PV_OK);
	c->issued = issued;
	c->expires = expires;
	c->used_at = 0;
	return (int)rec->n_codes++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tu_random_keys(&f->keys);
	pv_record_init(&f->rec, "acme", NOW - 86400);
	f->rec.ips[f->rec.n_ips++] = tu_cidr(RHOST);
	f->rec.ips[f->rec.n_ips++] = tu_cidr("2001:db8:7::/48");
	f->rec.window_start = NOW - 3600;
	f->rec.window_end = NOW + 3600;
	add_code(&f->rec, &f->keys, "acme", CODE, NOW - 60, NOW + 840);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pv_record_wipe(&f->rec);
	pv_keys_wipe(&f->keys);
	free(f);
	return 0;
}

static struct pv_request request(const struct fixture *f, enum pv_phase phase, const char *rhost,
                                 const char *code)
{
	struct pv_request req;

	memset(&req, 0, sizeof(req));
	req.phase = phase;
	req.rhost = rhost;
	req.code = code;
	req.keys = &f->keys;
	req.otp_length = 8;
	req.max_failures = MAX_FAILURES;
	return req;
}

static struct pv_decision decide_at(const struct fixture *f, enum pv_phase phase, const char *rhost,
                                    const char *code, int64_t now)
{
	struct pv_request req = request(f, phase, rhost, code);
	struct pv_decision d;

	memset(&d, 0xa5, sizeof(d));
	pv_decide(&f->rec, &req, now, &d);
	return d;
}

static struct pv_decision decide(const struct fixture *f, enum pv_phase phase, const char *rhost,
                                 const char *code)
{
	return decide_at(f, phase, rhost, code, NOW);
}

#define assert_reason(d, want)                                                                     \
	do {                                                                                       \
		struct pv_decision d_ = (d);                                                       \
		if (d_.reason != (want))                                                           \
			fail_msg("reason %s, expected %s", pv_reason_name(d_.reason),              \
			         pv_reason_name(want));                                            \
		assert_int_equal(d_.allow, (want) == PV_R_OK);                                     \
	} while (0)

/* --- the vocabulary --- */

static void test_reason_names_are_the_audit_vocabulary(void **state)
{
	static const char *const names[PV_R_COUNT] = {
	    "ok",
	    "not_vendor",
	    "not_enabled",
	    "window_not_started",
	    "window_expired",
	    "rhost_missing",
	    "rhost_not_numeric",
	    "ip_not_allowed",
	    "otp_invalid",
	    "otp_expired",
	    "otp_reused",
	    "locked_out",
	    "no_otp_verified",
	    "store_error",
	    "config_error",
	    "outside_hours",
	    "recording_failed",
	};
	int r;

	for (r = 0; r < PV_R_COUNT; r++)
		assert_string_equal(pv_reason_name((enum pv_reason)r), names[r]);
	assert_non_null(pv_reason_name(PV_R_COUNT));
	assert_string_not_equal(pv_reason_name(PV_R_COUNT), "ok");
	/* Each has its words (otpctl watch), found by its name; other names have none. */
	for (r = 0; r < PV_R_COUNT; r++)
		assert_non_null(pv_reason_words(names[r]));
	assert_string_equal(pv_reason_words("otp_reused"), "the code was already used");
	assert_null(pv_reason_words("audit_sealing_stop"));
	assert_null(pv_reason_words(NULL));
}

/* --- every reason, table-driven --- */

enum tweak {
	T_NONE,
	T_NO_WINDOW,
	T_WINDOW_LATER,
	T_WINDOW_OVER,
	T_LOCKED,
	T_CODE_EXPIRED,
	T_CODE_USED,
};

struct reason_case {
	const char *what;
	enum tweak tweak;
	enum pv_phase phase;
	const char *rhost;
	const char *code;
	enum pv_reason want;
	bool counts; /* count_failure expected */
};

static const struct reason_case reason_cases[] = {
    {"rhost NULL", T_NONE, PV_PHASE_CODE, NULL, CODE, PV_R_RHOST_MISSING, false},
    {"rhost empty", T_NONE, PV_PHASE_CODE, "", CODE, PV_R_RHOST_MISSING, false},
    {"rhost UNKNOWN (sshd -i)", T_NONE, PV_PHASE_CODE, "UNKNOWN", CODE, PV_R_RHOST_MISSING, false},
    {"rhost hostname", T_NONE, PV_PHASE_CODE, "host.example", CODE, PV_R_RHOST_NOT_NUMERIC, false},
    {"rhost octal-looking", T_NONE, PV_PHASE_CODE, "010.0.0.1", CODE, PV_R_RHOST_NOT_NUMERIC,
     false},
    {"rhost with scope", T_NONE, PV_PHASE_CODE, "fe80::1%eth0", CODE, PV_R_RHOST_NOT_NUMERIC,
     false},
    {"rhost with prefix", T_NONE, PV_PHASE_CODE, "203.0.113.5/32", CODE, PV_R_RHOST_NOT_NUMERIC,
     false},
    {"rhost with space", T_NONE, PV_PHASE_CODE, " 203.0.113.5", CODE, PV_R_RHOST_NOT_NUMERIC,
     false},
    {"no window", T_NO_WINDOW, PV_PHASE_CODE, RHOST, CODE, PV_R_NOT_ENABLED, false},
    {"window later", T_WINDOW_LATER, PV_PHASE_CODE, RHOST, CODE, PV_R_WINDOW_NOT_STARTED, false},
    {"window over", T_WINDOW_OVER, PV_PHASE_CODE, RHOST, CODE, PV_R_WINDOW_EXPIRED, false},
    {"neighbour address", T_NONE, PV_PHASE_CODE, "203.0.113.6", CODE, PV_R_IP_NOT_ALLOWED, false},
    {"IPv6 outside /48", T_NONE, PV_PHASE_CODE, "2001:db8:8::1", CODE, PV_R_IP_NOT_ALLOWED, false},
    {"locked", T_LOCKED, PV_PHASE_CODE, RHOST, CODE, PV_R_LOCKED_OUT, false},
    {"wrong code", T_NONE, PV_PHASE_CODE, RHOST, "48210938", PV_R_OTP_INVALID, true},
    {"code too short", T_NONE, PV_PHASE_CODE, RHOST, "4821093", PV_R_OTP_INVALID, true},
    {"code too long", T_NONE, PV_PHASE_CODE, RHOST, "482109370", PV_R_OTP_INVALID, true},
    {"empty code", T_NONE, PV_PHASE_CODE, RHOST, "", PV_R_OTP_INVALID, true},
    {"NULL code", T_NONE, PV_PHASE_CODE, RHOST, NULL, PV_R_OTP_INVALID, true},
    {"letters", T_NONE, PV_PHASE_CODE, RHOST, "4821O937", PV_R_OTP_INVALID, true},
    {"expired code", T_CODE_EXPIRED, PV_PHASE_CODE, RHOST, CODE, PV_R_OTP_EXPIRED, true},
    {"used code", T_CODE_USED, PV_PHASE_CODE, RHOST, CODE, PV_R_OTP_REUSED, true},
    {"right code", T_NONE, PV_PHASE_CODE, RHOST, CODE, PV_R_OK, false},
    {"right code, grouped", T_NONE, PV_PHASE_CODE, RHOST, "4821 0937", PV_R_OK, false},
    {"right code, dashed", T_NONE, PV_PHASE_CODE, RHOST, "4821-0937", PV_R_OK, false},
    {"right code, v6 rhost", T_NONE, PV_PHASE_CODE, "2001:db8:7:1::9", CODE, PV_R_OK, false},
    {"precheck fine", T_NONE, PV_PHASE_PRECHECK, RHOST, NULL, PV_R_OK, false},
    {"precheck locked", T_LOCKED, PV_PHASE_PRECHECK, RHOST, NULL, PV_R_LOCKED_OUT, false},
    {"precheck no rhost", T_NONE, PV_PHASE_PRECHECK, NULL, NULL, PV_R_RHOST_MISSING, false},
    {"account fine", T_NONE, PV_PHASE_ACCOUNT, RHOST, NULL, PV_R_OK, false},
    {"account ignores lock", T_LOCKED, PV_PHASE_ACCOUNT, RHOST, NULL, PV_R_OK, false},
    {"account window over", T_WINDOW_OVER, PV_PHASE_ACCOUNT, RHOST, NULL, PV_R_WINDOW_EXPIRED,
     false},
    {"account no window", T_NO_WINDOW, PV_PHASE_ACCOUNT, RHOST, NULL, PV_R_NOT_ENABLED, false},
    {"account wrong address", T_NONE, PV_PHASE_ACCOUNT, "198.51.100.1", NULL, PV_R_IP_NOT_ALLOWED,
     false},
    {"account no rhost", T_NONE, PV_PHASE_ACCOUNT, "UNKNOWN", NULL, PV_R_RHOST_MISSING, false},
    /* order of checks: the first failing one is the reason */
    {"no rhost beats no window", T_NO_WINDOW, PV_PHASE_CODE, NULL, CODE, PV_R_RHOST_MISSING, false},
    {"window beats address", T_WINDOW_OVER, PV_PHASE_CODE, "198.51.100.1", CODE,
     PV_R_WINDOW_EXPIRED, false},
    {"address beats lock", T_LOCKED, PV_PHASE_CODE, "198.51.100.1", CODE, PV_R_IP_NOT_ALLOWED,
     false},
    {"lock beats code", T_LOCKED, PV_PHASE_CODE, RHOST, "00000000", PV_R_LOCKED_OUT, false},
};

static void apply_tweak(struct pv_record *rec, enum tweak t)
{
	switch (t) {
	case T_NONE:
		break;
	case T_NO_WINDOW:
		rec->window_start = 0;
		rec->window_end = 0;
		break;
	case T_WINDOW_LATER:
		rec->window_start = NOW + 60;
		rec->window_end = NOW + 3600;
		break;
	case T_WINDOW_OVER:
		rec->window_start = NOW - 7200;
		rec->window_end = NOW - 1;
		break;
	case T_LOCKED:
		rec->locked = true;
		rec->failures = MAX_FAILURES;
		break;
	case T_CODE_EXPIRED:
		rec->codes[0].expires = NOW;
		break;
	case T_CODE_USED:
		rec->codes[0].used_at = NOW - 10;
		break;
	}
}

static void test_every_reason_of_the_vocabulary(void **state)
{
	struct fixture *f = *state;
	const struct pv_record pristine = f->rec;
	struct pv_record before;
	size_t i;

	for (i = 0; i < sizeof(reason_cases) / sizeof(reason_cases[0]); i++) {
		const struct reason_case *c = &reason_cases[i];
		struct pv_decision d;

		f->rec = pristine;
		apply_tweak(&f->rec, c->tweak);
		before = f->rec;
		d = decide(f, c->phase, c->rhost, c->code);
		assert_memory_equal(&before, &f->rec, sizeof(before)); /* decide writes nothing */
		if (d.reason != c->want || d.allow != (c->want == PV_R_OK) ||
		    d.change.count_failure != c->counts)
			fail_msg("%s: reason %s allow %d count_failure %d, expected %s %d %d",
			         c->what, pv_reason_name(d.reason), d.allow, d.change.count_failure,
			         pv_reason_name(c->want), c->want == PV_R_OK, c->counts);
		/* Denials before the code and the account phase change nothing. */
		if (!c->counts && c->want != PV_R_OK)
			assert_false(pv_decision_changes(&d));
		if (c->phase != PV_PHASE_CODE)
			assert_false(pv_decision_changes(&d));
	}
	f->rec = pristine;
}

/* --- windows and addresses --- */

static void test_window_boundaries_are_start_inclusive_end_exclusive(void **state)
{
	struct fixture *f = *state;
	const int64_t start = NOW - 100;
	const int64_t end = NOW + 100;
	enum pv_phase phases[] = {PV_PHASE_PRECHECK, PV_PHASE_ACCOUNT};
	size_t p;

	f->rec.window_start = start;
	f->rec.window_end = end;
	for (p = 0; p < 2; p++) {
		assert_reason(decide_at(f, phases[p], RHOST, NULL, start - 1),
		              PV_R_WINDOW_NOT_STARTED);
		assert_reason(decide_at(f, phases[p], RHOST, NULL, start), PV_R_OK);
		assert_reason(decide_at(f, phases[p], RHOST, NULL, end - 1), PV_R_OK);
		assert_reason(decide_at(f, phases[p], RHOST, NULL, end), PV_R_WINDOW_EXPIRED);
	}
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, start - 1), PV_R_WINDOW_NOT_STARTED);
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, end), PV_R_WINDOW_EXPIRED);
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, start), PV_R_OK);
}

static void test_narrowed_window_addresses_override_the_vendor_list(void **state)
{
	struct fixture *f = *state;

	f->rec.n_ips = 0;
	f->rec.ips[f->rec.n_ips++] = tu_cidr("203.0.113.0/24");
	assert_reason(decide(f, PV_PHASE_PRECHECK, "203.0.113.6", NULL), PV_R_OK);
	f->rec.window_ips[f->rec.n_window_ips++] = tu_cidr("203.0.113.5");
	assert_reason(decide(f, PV_PHASE_PRECHECK, "203.0.113.6", NULL), PV_R_IP_NOT_ALLOWED);
	assert_reason(decide(f, PV_PHASE_ACCOUNT, "203.0.113.6", NULL), PV_R_IP_NOT_ALLOWED);
	assert_reason(decide(f, PV_PHASE_CODE, "203.0.113.6", CODE), PV_R_IP_NOT_ALLOWED);
	assert_reason(decide(f, PV_PHASE_CODE, "203.0.113.5", CODE), PV_R_OK);
}

static void test_ipv4_mapped_rhost_matches_the_ipv4_rule(void **state)
{
	struct fixture *f = *state;

	assert_reason(decide(f, PV_PHASE_PRECHECK, "::ffff:203.0.113.5", NULL), PV_R_OK);
	assert_reason(decide(f, PV_PHASE_PRECHECK, "::ffff:203.0.113.6", NULL),
	              PV_R_IP_NOT_ALLOWED);
	assert_reason(decide(f, PV_PHASE_CODE, "::FFFF:203.0.113.5", CODE), PV_R_OK);
}

static void test_empty_address_list_allows_nobody(void **state)
{
	struct fixture *f = *state;

	f->rec.n_ips = 0;
	assert_reason(decide(f, PV_PHASE_PRECHECK, RHOST, NULL), PV_R_IP_NOT_ALLOWED);
}

/* --- failures and lockout --- */

static void test_code_failures_count_and_lock_at_max(void **state)
{
	struct fixture *f = *state;
	struct pv_decision d;
	unsigned i;

	for (i = 0; i + 1 < MAX_FAILURES; i++) {
		d = decide(f, PV_PHASE_CODE, RHOST, "11111111");
		assert_reason(d, PV_R_OTP_INVALID);
		assert_true(d.change.count_failure);
		assert_false(d.change.lock);
		assert_true(pv_decision_changes(&d));
		pv_apply(&f->rec, &d, RHOST, NOW);
		assert_int_equal(f->rec.failures, i + 1);
		assert_false(f->rec.locked);
	}
	/* failures + 1 == max_failures: this failure locks. */
	d = decide(f, PV_PHASE_CODE, RHOST, "11111111");
	assert_reason(d, PV_R_OTP_INVALID);
	assert_true(d.change.count_failure);
	assert_true(d.change.lock);
	pv_apply(&f->rec, &d, RHOST, NOW);
	assert_int_equal(f->rec.failures, MAX_FAILURES);
	assert_true(f->rec.locked);

	/* Locked: even the right code is refused, and that refusal does not count. */
	d = decide(f, PV_PHASE_CODE, RHOST, CODE);
	assert_reason(d, PV_R_LOCKED_OUT);
	assert_false(d.change.count_failure);
	assert_false(pv_decision_changes(&d));
	assert_reason(decide(f, PV_PHASE_PRECHECK, RHOST, NULL), PV_R_LOCKED_OUT);
	assert_int_equal(f->rec.codes[0].used_at, 0);
}

static void test_expired_and_replayed_codes_count_as_failures(void **state)
{
	struct fixture *f = *state;
	struct pv_decision d;

	f->rec.codes[0].expires = NOW - 1;
	d = decide(f, PV_PHASE_CODE, RHOST, CODE);
	assert_reason(d, PV_R_OTP_EXPIRED);
	assert_true(d.change.count_failure);
	assert_int_equal(d.change.consume_code, -1);
	f->rec.codes[0].expires = NOW + 100;
	f->rec.codes[0].used_at = NOW - 5;
	d = decide(f, PV_PHASE_CODE, RHOST, CODE);
	assert_reason(d, PV_R_OTP_REUSED);
	assert_true(d.change.count_failure);
}

static void test_max_failures_of_one_locks_on_the_first_failure(void **state)
{
	struct fixture *f = *state;
	struct pv_request req = request(f, PV_PHASE_CODE, RHOST, "99999999");
	struct pv_decision d;

	req.max_failures = 1;
	pv_decide(&f->rec, &req, NOW, &d);
	assert_int_equal(d.reason, PV_R_OTP_INVALID);
	assert_true(d.change.lock);
}

static void test_denials_before_the_code_do_not_count(void **state)
{
	struct fixture *f = *state;
	struct pv_decision d;

	f->rec.failures = MAX_FAILURES - 1; /* one more counted failure would lock */
	d = decide(f, PV_PHASE_CODE, "198.51.100.1", "11111111");
	assert_reason(d, PV_R_IP_NOT_ALLOWED);
	assert_false(d.change.count_failure);
	assert_false(d.change.lock);
	d = decide_at(f, PV_PHASE_CODE, RHOST, "11111111", NOW + 7200);
	assert_reason(d, PV_R_WINDOW_EXPIRED);
	assert_false(d.change.count_failure);
	assert_false(d.change.lock);
}

static void test_lockout_survives_clock_steps(void **state)
{
	struct fixture *f = *state;

	f->rec.locked = true;
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, NOW - 3000), PV_R_LOCKED_OUT);
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, NOW + 3000), PV_R_LOCKED_OUT);
}

/* --- success and single use --- */

static void test_success_resets_failures_and_records_the_login(void **state)
{
	struct fixture *f = *state;
	struct pv_decision d;

	f->rec.failures = MAX_FAILURES - 1;
	d = decide(f, PV_PHASE_CODE, "::ffff:203.0.113.5", CODE);
	assert_reason(d, PV_R_OK);
	assert_true(d.change.record_success);
	assert_false(d.change.count_failure);
	assert_false(d.change.lock);
	assert_int_equal(d.change.consume_code, 0);
	assert_true(pv_decision_changes(&d));
	pv_apply(&f->rec, &d, "::ffff:203.0.113.5", NOW);
	assert_int_equal(f->rec.failures, 0);
	assert_int_equal(f->rec.last_login, NOW);
	assert_string_equal(f->rec.last_login_rhost, "203.0.113.5"); /* canonical form */
	assert_int_equal(f->rec.codes[0].used_at, NOW);
	assert_false(f->rec.locked);
}

static void test_applied_code_is_consumed_and_second_use_is_reused(void **state)
{
	struct fixture *f = *state;
	struct pv_decision d;

	d = decide(f, PV_PHASE_CODE, RHOST, CODE);
	assert_reason(d, PV_R_OK);
	pv_apply(&f->rec, &d, RHOST, NOW);
	assert_true(f->rec.codes[0].used_at != 0);
	d = decide_at(f, PV_PHASE_CODE, RHOST, CODE, NOW + 1);
	assert_reason(d, PV_R_OTP_REUSED);
	assert_true(d.change.count_failure);
	assert_int_equal(d.change.consume_code, -1);
}

static void test_used_code_stays_used_when_the_clock_steps_back(void **state)
{
	struct fixture *f = *state;
	struct pv_decision d;

	d = decide(f, PV_PHASE_CODE, RHOST, CODE);
	assert_reason(d, PV_R_OK);
	pv_apply(&f->rec, &d, RHOST, NOW);
	/* Back before the use, and before the code was even issued. */
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, NOW - 30), PV_R_OTP_REUSED);
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, NOW - 600), PV_R_OTP_REUSED);
	/* pv_apply at a stepped-back time must not forget the use either. */
	d = decide_at(f, PV_PHASE_CODE, RHOST, "11111111", NOW - 600);
	pv_apply(&f->rec, &d, RHOST, NOW - 600);
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, NOW - 600), PV_R_OTP_REUSED);
}

static void test_several_codes_each_work_once(void **state)
{
	struct fixture *f = *state;
	struct pv_decision d;

	add_code(&f->rec, &f->keys, "acme", "11112222", NOW - 30, NOW + 870);
	add_code(&f->rec, &f->keys, "acme", "33334444", NOW - 20, NOW + 880);
	d = decide(f, PV_PHASE_CODE, RHOST, "33334444");
	assert_reason(d, PV_R_OK);
	assert_int_equal(d.change.consume_code, 2);
	pv_apply(&f->rec, &d, RHOST, NOW);
	d = decide(f, PV_PHASE_CODE, RHOST, "11112222");
	assert_reason(d, PV_R_OK);
	pv_apply(&f->rec, &d, RHOST, NOW);
	d = decide(f, PV_PHASE_CODE, RHOST, CODE);
	assert_reason(d, PV_R_OK);
	pv_apply(&f->rec, &d, RHOST, NOW);
	assert_reason(decide(f, PV_PHASE_CODE, RHOST, "33334444"), PV_R_OTP_REUSED);
	assert_reason(decide(f, PV_PHASE_CODE, RHOST, "11112222"), PV_R_OTP_REUSED);
	assert_reason(decide(f, PV_PHASE_CODE, RHOST, CODE), PV_R_OTP_REUSED);
}

static void test_code_of_another_vendor_or_key_is_invalid(void **state)
{
	struct fixture *f = *state;
	struct pv_keys other;

	f->rec.n_codes = 0;
	add_code(&f->rec, &f->keys, "other", CODE, NOW - 60, NOW + 840);
	assert_reason(decide(f, PV_PHASE_CODE, RHOST, CODE), PV_R_OTP_INVALID);
	f->rec.n_codes = 0;
	tu_random_keys(&other);
	add_code(&f->rec, &other, "acme", CODE, NOW - 60, NOW + 840);
	assert_reason(decide(f, PV_PHASE_CODE, RHOST, CODE), PV_R_OTP_INVALID);
}

static void test_code_phase_without_keys_is_invalid_not_a_crash(void **state)
{
	struct fixture *f = *state;
	struct pv_request req = request(f, PV_PHASE_CODE, RHOST, CODE);
	struct pv_decision d;

	req.keys = NULL;
	pv_decide(&f->rec, &req, NOW, &d);
	assert_int_equal(d.reason, PV_R_OTP_INVALID);
	assert_false(d.allow);
}

static void test_expired_code_boundary(void **state)
{
	struct fixture *f = *state;

	f->rec.codes[0].expires = NOW + 10;
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, NOW + 9), PV_R_OK);
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, CODE, NOW + 10), PV_R_OTP_EXPIRED);
}

/* --- TOTP --- */

static void enrol_totp(struct pv_record *rec)
{
	rec->totp_enrolled = true;
	randombytes_buf(rec->totp_secret, sizeof(rec->totp_secret));
	rec->totp_last_step = 0;
}

static void totp_at(const struct pv_record *rec, int64_t t, char out[PV_TOTP_DIGITS + 1])
{
	assert_int_equal(oath_init(), OATH_OK);
	assert_int_equal(oath_totp_generate((const char *)rec->totp_secret, PV_TOTP_SECRET_BYTES,
	                                    (time_t)t, PV_TOTP_STEP, 0, PV_TOTP_DIGITS, out),
	                 OATH_OK);
}

static void test_totp_is_accepted_once_per_step(void **state)
{
	struct fixture *f = *state;
	char code[PV_TOTP_DIGITS + 1];
	char prev[PV_TOTP_DIGITS + 1];
	struct pv_decision d;

	enrol_totp(&f->rec);
	totp_at(&f->rec, NOW, code);
	totp_at(&f->rec, NOW - PV_TOTP_STEP, prev);
	d = decide(f, PV_PHASE_CODE, RHOST, code);
	assert_reason(d, PV_R_OK);
	assert_int_equal(d.change.totp_step, NOW / PV_TOTP_STEP);
	assert_int_equal(d.change.consume_code, -1);
	assert_true(d.change.record_success);
	pv_apply(&f->rec, &d, RHOST, NOW);
	assert_int_equal(f->rec.totp_last_step, NOW / PV_TOTP_STEP);

	d = decide_at(f, PV_PHASE_CODE, RHOST, code, NOW + 1);
	assert_reason(d, PV_R_OTP_REUSED);
	assert_true(d.change.count_failure);
	if (strcmp(prev, code) != 0) /* an older step is refused too once a newer one is used */
		assert_reason(decide(f, PV_PHASE_CODE, RHOST, prev), PV_R_OTP_REUSED);
	/* Clock stepped back: the used step stays used. */
	assert_reason(decide_at(f, PV_PHASE_CODE, RHOST, code, NOW - 20), PV_R_OTP_REUSED);
	/* The next step is a new code. */
	totp_at(&f->rec, NOW + PV_TOTP_STEP, code);
	d = decide_at(f, PV_PHASE_CODE, RHOST, code, NOW + PV_TOTP_STEP);
	assert_reason(d, PV_R_OK);
	assert_int_equal(d.change.totp_step, NOW / PV_TOTP_STEP + 1);
}

static void test_totp_works_alongside_six_digit_one_time_codes(void **state)
{
	struct fixture *f = *state;
	struct pv_request req;
	struct pv_decision d;
	char code[PV_TOTP_DIGITS + 1];

	enrol_totp(&f->rec);
	totp_at(&f->rec, NOW, code);
	f->rec.n_codes = 0;
	add_code(&f->rec, &f->keys, "acme", strcmp(code, "123456") ? "123456" : "654321", NOW - 60,
	         NOW + 840);
	req = request(f, PV_PHASE_CODE, RHOST, code);
	req.otp_length = 6;
	pv_decide(&f->rec, &req, NOW, &d);
	assert_int_equal(d.reason, PV_R_OK);
	assert_int_equal(d.change.totp_step, NOW / PV_TOTP_STEP);
	req.code = strcmp(code, "123456") ? "123456" : "654321";
	pv_decide(&f->rec, &req, NOW, &d);
	assert_int_equal(d.reason, PV_R_OK);
	assert_int_equal(d.change.consume_code, 0);
	assert_int_equal(d.change.totp_step, 0);
}

static void test_totp_code_without_enrolment_is_invalid(void **state)
{
	struct fixture *f = *state;
	struct pv_record copy;
	char code[PV_TOTP_DIGITS + 1];

	enrol_totp(&f->rec);
	totp_at(&f->rec, NOW, code);
	copy = f->rec;
	f->rec.totp_enrolled = false;
	assert_reason(decide(f, PV_PHASE_CODE, RHOST, code), PV_R_OTP_INVALID);
	f->rec = copy;
	assert_reason(decide(f, PV_PHASE_CODE, RHOST, code), PV_R_OK);
}

/* --- account phase --- */

static void test_account_phase_checks_window_and_address_but_not_lock_or_code(void **state)
{
	struct fixture *f = *state;
	struct pv_decision d;

	f->rec.locked = true;
	d = decide(f, PV_PHASE_ACCOUNT, RHOST, "garbage");
	assert_reason(d, PV_R_OK);
	assert_false(pv_decision_changes(&d));
	assert_reason(decide_at(f, PV_PHASE_ACCOUNT, RHOST, NULL, NOW + 3600), PV_R_WINDOW_EXPIRED);
	assert_reason(decide(f, PV_PHASE_ACCOUNT, "203.0.113.6", NULL), PV_R_IP_NOT_ALLOWED);
	assert_reason(decide(f, PV_PHASE_ACCOUNT, "host.example", NULL), PV_R_RHOST_NOT_NUMERIC);
}

static void test_apply_of_a_no_change_decision_leaves_the_record(void **state)
{
	struct fixture *f = *state;
	struct pv_record before = f->rec;
	struct pv_decision d = decide(f, PV_PHASE_PRECHECK, RHOST, NULL);

	pv_apply(&f->rec, &d, RHOST, NOW);
	assert_int_equal(f->rec.failures, before.failures);
	assert_int_equal(f->rec.last_login, 0);
	assert_int_equal(f->rec.n_codes, before.n_codes);
	assert_int_equal(f->rec.codes[0].used_at, 0);
	assert_false(f->rec.locked);
}

/* --- business hours --- */

static struct pv_decision decide_local(const struct fixture *f, enum pv_phase phase,
                                       const char *rhost, const char *code, int wday, int minute)
{
	struct pv_request req = request(f, phase, rhost, code);
	struct pv_decision d;

	req.local_wday = wday;
	req.local_minute = minute;
	memset(&d, 0xa5, sizeof(d));
	pv_decide(&f->rec, &req, NOW, &d);
	return d;
}

static void office_hours(struct fixture *f)
{
	struct pv_err err = {{0}};

	if (pv_schedule_parse("Mon-Fri 08:00-19:00", &f->rec.hours, &err) != PV_OK)
		fail_msg("%s", err.msg);
}

static void test_hours_allow_inside_and_refuse_outside_in_every_phase(void **state)
{
	struct fixture *f = *state;
	struct pv_decision d;

	office_hours(f);
	assert_reason(decide_local(f, PV_PHASE_PRECHECK, RHOST, NULL, 5, 18 * 60 + 59), PV_R_OK);
	assert_reason(decide_local(f, PV_PHASE_PRECHECK, RHOST, NULL, 5, 19 * 60),
	              PV_R_OUTSIDE_HOURS);
	assert_reason(decide_local(f, PV_PHASE_ACCOUNT, RHOST, NULL, 6, 10 * 60),
	              PV_R_OUTSIDE_HOURS);
	d = decide_local(f, PV_PHASE_CODE, RHOST, CODE, 0, 10 * 60);
	assert_reason(d, PV_R_OUTSIDE_HOURS);
	/* Refused before the code is looked at: nothing consumed, no failure counted. */
	assert_false(pv_decision_changes(&d));
	d = decide_local(f, PV_PHASE_CODE, RHOST, CODE, 1, 8 * 60);
	assert_reason(d, PV_R_OK);
	assert_int_equal(d.change.consume_code, 0);
}

static void test_hours_come_after_the_window_and_before_the_address(void **state)
{
	struct fixture *f = *state;

	office_hours(f);
	assert_reason(decide_local(f, PV_PHASE_PRECHECK, "198.51.100.1", NULL, 6, 600),
	              PV_R_OUTSIDE_HOURS);
	f->rec.window_end = NOW - 1;
	f->rec.window_start = NOW - 100;
	assert_reason(decide_local(f, PV_PHASE_PRECHECK, RHOST, NULL, 6, 600), PV_R_WINDOW_EXPIRED);
}

static void test_unknown_local_time_refuses_a_vendor_with_hours_only(void **state)
{
	struct fixture *f = *state;

	assert_reason(decide_local(f, PV_PHASE_PRECHECK, RHOST, NULL, -1, -1), PV_R_OK);
	office_hours(f);
	assert_reason(decide_local(f, PV_PHASE_PRECHECK, RHOST, NULL, -1, -1), PV_R_OUTSIDE_HOURS);
}

/* The state otpctl shows and acts on is the one the decision uses, boundaries included. */
static void test_window_state_matches_the_decision(void **state)
{
	struct fixture *f = *state;
	const int64_t start = NOW - 100;
	const int64_t end = NOW + 100;

	f->rec.window_start = 0;
	f->rec.window_end = 0;
	assert_int_equal(pv_window_state(&f->rec, NOW), PV_WINDOW_NONE);
	f->rec.window_start = start;
	f->rec.window_end = end;
	assert_int_equal(pv_window_state(&f->rec, start - 1), PV_WINDOW_UPCOMING);
	assert_int_equal(pv_window_state(&f->rec, start), PV_WINDOW_OPEN);
	assert_int_equal(pv_window_state(&f->rec, end - 1), PV_WINDOW_OPEN);
	assert_int_equal(pv_window_state(&f->rec, end), PV_WINDOW_CLOSED);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_reason_names_are_the_audit_vocabulary),
	    T(test_every_reason_of_the_vocabulary),
	    T(test_window_boundaries_are_start_inclusive_end_exclusive),
	    T(test_window_state_matches_the_decision),
	    T(test_narrowed_window_addresses_override_the_vendor_list),
	    T(test_ipv4_mapped_rhost_matches_the_ipv4_rule),
	    T(test_empty_address_list_allows_nobody),
	    T(test_code_failures_count_and_lock_at_max),
	    T(test_expired_and_replayed_codes_count_as_failures),
	    T(test_max_failures_of_one_locks_on_the_first_failure),
	    T(test_denials_before_the_code_do_not_count),
	    T(test_lockout_survives_clock_steps),
	    T(test_success_resets_failures_and_records_the_login),
	    T(test_applied_code_is_consumed_and_second_use_is_reused),
	    T(test_used_code_stays_used_when_the_clock_steps_back),
	    T(test_several_codes_each_work_once),
	    T(test_code_of_another_vendor_or_key_is_invalid),
	    T(test_code_phase_without_keys_is_invalid_not_a_crash),
	    T(test_expired_code_boundary),
	    T(test_totp_is_accepted_once_per_step),
	    T(test_totp_works_alongside_six_digit_one_time_codes),
	    T(test_totp_code_without_enrolment_is_invalid),
	    T(test_account_phase_checks_window_and_address_but_not_lock_or_code),
	    T(test_apply_of_a_no_change_decision_leaves_the_record),
	    T(test_hours_allow_inside_and_refuse_outside_in_every_phase),
	    T(test_hours_come_after_the_window_and_before_the_address),
	    T(test_unknown_local_time_refuses_a_vendor_with_hours_only),
	};

	assert_true(sodium_init() >= 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

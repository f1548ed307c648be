/* fuzz_pam_auth.c — the PAM module itself (pam_vendor/ and the core) driven through
 * pam_sm_authenticate, pam_sm_acct_mgmt, pam_sm_open_session, pam_sm_close_session,
 * pam_sm_setcred and pam_sm_chauthtok, one PAM transaction per input (pam_auth_input.c says
 * what an input holds). No libpam: the module's calls to it are -Wl,--wrap'ed onto the input
 * (pam_auth_wrap.c), and the files are real ones in a scratch tree (pam_auth_world.c), damaged
 * and their system calls failed as the input says. After every call the harness checks what
 * must hold whatever the input (docs/fuzzing.md lists it): no login without the valid,
 * unused, unexpired code inside an open window from an allowed address while not locked; a
 * code accepted once is never accepted again; account only after this handle's auth; every
 * denial logged; no code or key in syslog or the audit log; the record and the audit log
 * change only as they may; no leaked memory or file descriptor. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD
#include <security/pam_modules.h>

#include "audit.h"
#include "fuzz_common.h"
#include "hostname.h"
#include "ipmatch.h"
#include "json.h"
#include "pam_auth.h"
#include "schedule.h"
#include "timeparse.h"

struct auth_seen {
	const char *user;
	int rc;
};

/* The transaction: the input, the handle, and what the harness knows independently. */
struct run {
	struct fz_input in;
	struct fz_handle h;
	bool consumed[FZ_CODE_MAX]; /* codes accepted in this transaction */
	int64_t totp_max;           /* highest TOTP step accepted in this transaction */
	struct auth_seen auths[FZ_STEP_MAX]; /* pam_sm_authenticate results on this handle */
	size_t n_auths;
	bool session_open; /* an open succeeded on this handle and no close since */
	char *audit;       /* the audit log after the last call */
	size_t audit_len;
	enum fz_step_kind prev_kind;
	int prev_rc;
};

/* One module call: the state before it and what it did. */
struct call {
	enum fz_step_kind kind;
	int rc;
	size_t log0;
	unsigned faults0;
	struct pv_record *before, *after; /* NULL: could not be read */
	char *old_audit;
	size_t old_len;
	int sessions0;
	unsigned allow_lines;
};

static struct fz_world world;
static bool verbose; /* PV_FUZZ_VERBOSE=1: each call, its result and its syslog lines */

static const char *const event_of[] = {
    [FZ_AUTH] = "auth",         [FZ_ACCOUNT] = "account", [FZ_OPEN] = "session_open",
    [FZ_CLOSE] = "session_close", [FZ_SETCRED] = "setcred", [FZ_CHAUTHTOK] = "chauthtok"};

/* --- what the harness knows without asking the module --- */

static bool is_name(const char *user)
{
	return user != NULL && strcmp(user, "!fail") != 0 && strcmp(user, "!null") != 0;
}

/* The PAM user is the registered vendor (whose record exists, damaged or not). */
static bool vendor_user(const struct run *r)
{
	return is_name(r->h.user) && world.have_record && strcmp(r->h.user, r->in.vendor) == 0;
}

/* The module can tell vendors and serve them: configuration, options, key and store usable. */
static bool module_usable(void)
{
	return world.config_parses && world.config_named && !world.unknown_arg &&
	       !(world.blocks & FZ_B_CLASSIFY);
}

static bool rhost_allowed(const char *rhost)
{
	const struct pv_record *rec = world.rec0;
	const struct pv_cidr *list = rec->n_window_ips > 0 ? rec->window_ips : rec->ips;
	size_t n = rec->n_window_ips > 0 ? rec->n_window_ips : rec->n_ips, i;
	struct pv_cidr addr;

	if (rhost == NULL || rhost[0] == '\0' || strcmp(rhost, "UNKNOWN") == 0 ||
	    pv_addr_parse(rhost, &addr) != PV_OK)
		return false;
	for (i = 0; i < n; i++)
		if (pv_cidr_contains(&list[i], &addr))
			return true;
	return false;
}

/* Window, business hours and address: what both phases check before anything else. */
static bool access_ok(const struct run *r)
{
	const struct pv_record *rec = world.rec0;
	int wday, minute;

	pv_local_wday_minute(fz.now, &wday, &minute);
	return rec->window_end > 0 && rec->window_start <= fz.now && fz.now < rec->window_end &&
	       pv_schedule_allows(&rec->hours, wday, minute) && rhost_allowed(r->h.rhost) &&
	       !(r->in.pamfail & FZ_FAIL_GET_ITEM);
}

/* otp.h's rule, written again: 1-64 bytes of digits, spaces and dashes; 1-12 digits. */
static bool normalise(const char *tok, char out[PV_OTP_MAX_LEN + 1])
{
	size_t n = 0, i, len = tok != NULL ? strlen(tok) : 0;

	if (len == 0 || len > PV_OTP_INPUT_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (tok[i] == ' ' || tok[i] == '-')
			continue;
		if (tok[i] < '0' || tok[i] > '9' || n == PV_OTP_MAX_LEN)
			return false;
		out[n++] = tok[i];
	}
	out[n] = '\0';
	return n > 0;
}

static const struct pv_code *code_on_disk(const struct pv_record *rec, const unsigned char *hash)
{
	size_t i;

	for (i = 0; i < rec->n_codes; i++)
		if (memcmp(rec->codes[i].hash, hash, PV_CODE_HASH_BYTES) == 0)
			return &rec->codes[i];
	return NULL;
}

/* Would this token log the vendor in, given the record before the call? */
static bool token_accepts(const struct run *r, const char *tok, const struct pv_record *before)
{
	char d[PV_OTP_MAX_LEN + 1], totp[PV_OTP_MAX_LEN + 1];
	size_t i;
	int64_t k;

	if (before == NULL || !normalise(tok, d))
		return false;
	for (i = 0; i < r->in.n_codes; i++) {
		const struct fz_code *c = &r->in.codes[i];
		const struct pv_code *disk = code_on_disk(before, c->hash);

		if ((c->state == FZ_CODE_VALID || c->state == FZ_CODE_LAST) && !r->consumed[i] &&
		    strcmp(d, c->digits) == 0 && strlen(d) == world.parsed.otp_length &&
		    disk != NULL && disk->used_at == 0 && fz.now < disk->expires)
			return true;
	}
	if (!before->totp_enrolled || strlen(d) != PV_TOTP_DIGITS)
		return false;
	for (k = -1; k <= 1; k++) {
		int64_t step = fz.now / PV_TOTP_STEP + k;
		fz_totp_at(step, totp);
		if (strcmp(totp, d) == 0 && step > before->totp_last_step && step > r->totp_max)
			return true;
	}
	return false;
}

/* Some token the module saw during the call (PAM_AUTHTOK, an answer) is a valid code. */
static bool some_token_accepts(const struct run *r, const struct pv_record *before)
{
	size_t i;

	if ((world.use_first_pass || world.try_first_pass) && token_accepts(r, r->h.authtok, before))
		return true;
	for (i = 0; i < fz.n_given; i++)
		if (token_accepts(r, fz.given[i], before))
			return true;
	return false;
}

/* The first token the module will check (asked before the call). */
static const char *first_token(const struct run *r)
{
	if (world.use_first_pass || (world.try_first_pass && r->h.authtok != NULL))
		return r->h.authtok;
	if (fz.n_answers == 0)
		return NULL;
	return fz.answers[fz.next_answer < fz.n_answers ? fz.next_answer : fz.n_answers - 1];
}

/* Nothing in the way: no damage, fault, failing libpam call or unknown option. */
static bool clean(const struct run *r)
{
	return !world.damaged && r->in.n_faults == 0 && r->in.pamfail == 0 && module_usable();
}

/* --- the checks after each call --- */

static bool rc_expected(enum fz_step_kind k, int rc)
{
	switch (k) {
	case FZ_AUTH:
		return rc == PAM_SUCCESS || rc == PAM_AUTH_ERR || rc == PAM_CONV_ERR || rc == PAM_IGNORE;
	case FZ_ACCOUNT:
		return rc == PAM_SUCCESS || rc == PAM_PERM_DENIED || rc == PAM_IGNORE;
	case FZ_OPEN:
	case FZ_CLOSE:
		return rc == PAM_SUCCESS || rc == PAM_SESSION_ERR || rc == PAM_IGNORE;
	case FZ_SETCRED:
		return rc == PAM_IGNORE;
	case FZ_CHAUTHTOK:
		return rc == PAM_AUTHTOK_ERR || rc == PAM_IGNORE;
	default:
		return false;
	}
}

/* One new audit line: valid JSON, this phase's event, this user; counts the allows. */
static void check_audit_line(const struct run *r, struct call *c, const char *line, size_t len)
{
	struct pv_json_object obj;
	const char *event, *result, *user;

	FZ_CHECK(pv_json_parse_flat(line, len, &obj) == 0, "an audit line that is no JSON: %.*s",
	         (int)len, line);
	event = pv_json_get(&obj, "event");
	result = pv_json_get(&obj, "result");
	user = pv_json_get(&obj, "user");
	FZ_CHECK(event != NULL && strcmp(event, event_of[c->kind]) == 0,
	         "a %s call wrote an audit line of event %s", event_of[c->kind], event);
	FZ_CHECK(result != NULL && (strcmp(result, "allow") == 0 || strcmp(result, "deny") == 0),
	         "audit result %s", result);
	if (is_name(r->h.user) && pv_vendor_name_valid(r->h.user))
		FZ_CHECK(user != NULL && strcmp(user, r->h.user) == 0,
		         "the audit line names user %s, PAM_USER is %s", user, r->h.user);
	c->allow_lines += strcmp(result, "allow") == 0;
	pv_json_object_free(&obj);
}

/* Does the audit log now start with the first `len` bytes it had before the call? */
static bool audit_kept(const struct run *r, const struct call *c, size_t len)
{
	return r->audit_len >= len && (len == 0 || memcmp(r->audit, c->old_audit, len) == 0);
}

/* The log only grows, and what a call adds are whole lines of its own phase. The one cut
 * allowed: a torn last fragment (no newline, as a crash mid-write leaves) is removed before
 * the next line is written (audit.h). */
static void check_audit(struct run *r, struct call *c)
{
	size_t pos, whole = c->old_len;

	free(r->audit);
	r->audit = fz_world_audit(&world, &r->audit_len);
	while (whole > 0 && c->old_audit[whole - 1] != '\n')
		whole--;
	FZ_CHECK(audit_kept(r, c, whole), "a %s call removed or changed audit lines (%zu -> %zu)",
	         event_of[c->kind], c->old_len, r->audit_len);
	for (pos = audit_kept(r, c, c->old_len) ? c->old_len : whole; pos < r->audit_len;) {
		const char *nl = memchr(r->audit + pos, '\n', r->audit_len - pos);
		size_t len = nl != NULL ? (size_t)(nl - (r->audit + pos)) : r->audit_len - pos;

		FZ_CHECK(nl != NULL || fz.faults_fired > 0, "a %s call left a torn audit line",
		         event_of[c->kind]);
		/* A line that continues a torn one left by a damage is not this call's alone. */
		if (nl != NULL && (pos == 0 || r->audit[pos - 1] == '\n'))
			check_audit_line(r, c, r->audit + pos, len);
		pos += len + 1;
	}
}

static bool same_code(const struct pv_code *a, const struct pv_code *b)
{
	return a->issued == b->issued && a->expires == b->expires;
}

/* What the module may change in a record: failures, lock, code and TOTP use, last login. */
static void check_record_change(const struct call *c)
{
	const struct pv_record *b = c->before, *a = c->after;
	size_t i;

	if (b == NULL || a == NULL)
		return;
	FZ_CHECK(strcmp(a->name, b->name) == 0 && a->window_start == b->window_start &&
	             a->window_end == b->window_end && a->n_ips == b->n_ips &&
	             memcmp(a->ips, b->ips, sizeof(a->ips)) == 0 &&
	             a->n_window_ips == b->n_window_ips &&
	             memcmp(a->window_ips, b->window_ips, sizeof(a->window_ips)) == 0 &&
	             memcmp(&a->hours, &b->hours, sizeof(a->hours)) == 0 &&
	             a->totp_enrolled == b->totp_enrolled &&
	             memcmp(a->totp_secret, b->totp_secret, sizeof(a->totp_secret)) == 0,
	         "a %s call changed the record's name, window, addresses, hours or TOTP secret",
	         event_of[c->kind]);
	FZ_CHECK(!b->locked || a->locked, "a %s call unlocked the vendor", event_of[c->kind]);
	FZ_CHECK(a->totp_last_step >= b->totp_last_step, "the last TOTP step went back");
	FZ_CHECK(a->n_codes <= b->n_codes, "a %s call added codes", event_of[c->kind]);
	for (i = 0; i < a->n_codes; i++) {
		const struct pv_code *old = code_on_disk(b, a->codes[i].hash);
		FZ_CHECK(old != NULL && same_code(old, &a->codes[i]),
		         "a code appeared or changed its times");
		FZ_CHECK(old->used_at == 0 || old->used_at == a->codes[i].used_at,
		         "a used code became unused");
	}
	if (a->failures > b->failures && a->failures >= world.parsed.max_failures)
		FZ_CHECK(a->locked, "%u failures (max_failures %u) and not locked", a->failures,
		         world.parsed.max_failures);
	if (c->kind != FZ_AUTH)
		FZ_CHECK(a->failures == b->failures && a->locked == b->locked &&
		             a->totp_last_step == b->totp_last_step,
		         "a %s call changed the failure count, lock or TOTP step", event_of[c->kind]);
}

/* Codes used during an auth call: only ones the vendor typed and that were valid; the model
 * remembers them, so that no later call may accept them again. Returns how many. */
static unsigned note_consumed(struct run *r, const struct call *c)
{
	unsigned n = 0;
	size_t i;

	if (c->before == NULL || c->after == NULL)
		return 0;
	for (i = 0; i < r->in.n_codes; i++) {
		const struct pv_code *b = code_on_disk(c->before, r->in.codes[i].hash);
		const struct pv_code *a = code_on_disk(c->after, r->in.codes[i].hash);
		if (b == NULL || a == NULL || b->used_at != 0 || a->used_at == 0)
			continue;
		FZ_CHECK(r->in.codes[i].state == FZ_CODE_VALID || r->in.codes[i].state == FZ_CODE_LAST,
		         "code %zu (state %d) was used though it was never valid", i,
		         (int)r->in.codes[i].state);
		r->consumed[i] = true;
		n++;
	}
	if (c->after->totp_last_step > c->before->totp_last_step) {
		r->totp_max = c->after->totp_last_step;
		n++;
	}
	return n;
}

static const char *last_auth_rc_for(const struct run *r, const char *user, bool *any_success,
                                    int *last_rc)
{
	size_t i;

	*any_success = false;
	*last_rc = -1;
	for (i = 0; i < r->n_auths; i++) {
		if (!is_name(r->auths[i].user) || strcmp(r->auths[i].user, user) != 0)
			continue;
		*any_success = *any_success || r->auths[i].rc == PAM_SUCCESS;
		*last_rc = r->auths[i].rc;
	}
	return user;
}

static void check_auth(struct run *r, const struct call *c, bool valid, unsigned used,
                       const char *first)
{
	bool gate = access_ok(r) && c->before != NULL && !c->before->locked;

	if (fz.conv_calls > 0)
		FZ_CHECK(vendor_user(r) && module_usable() && !(world.blocks & FZ_B_LOAD) && gate,
		         "the vendor was asked for a code although the window, address, hours or "
		         "lock refuse it (or it is no vendor)");
	if (!gate && c->before != NULL && c->after != NULL)
		FZ_CHECK(c->after->failures == c->before->failures && used == 0,
		         "a refused vendor (window, address, hours or lock) burned or probed a code");
	if (used > 0)
		FZ_CHECK(valid, "a code was used up although no token the module saw was valid");
	if (c->rc == PAM_SUCCESS) {
		FZ_CHECK(vendor_user(r) && module_usable() &&
		             !(world.blocks & (FZ_B_AUDIT | FZ_B_LOAD | FZ_B_LOCK)),
		         "auth succeeded for user %s, who is no usable vendor", r->h.user);
		FZ_CHECK(gate, "auth succeeded outside the window, hours or addresses, or locked");
		FZ_CHECK(valid, "auth succeeded without a valid, unused, unexpired code");
		FZ_CHECK(c->after == NULL || used > 0, "auth succeeded but no code is used up on disk");
		FZ_CHECK(c->after == NULL || c->after->failures == 0,
		         "auth succeeded and the failures were not reset");
	}
	/* The other way round, when nothing is in the way: the valid code logs in. */
	if (r->n_auths == 0 && clean(r) && vendor_user(r) && gate && first != NULL &&
	    token_accepts(r, first, c->before))
		FZ_CHECK(c->rc == PAM_SUCCESS, "the valid code was refused (rc %d) with nothing in "
		                               "the way", c->rc);
}

static void check_account(const struct run *r, const struct call *c)
{
	bool any_success;
	int last_rc;

	last_auth_rc_for(r, is_name(r->h.user) ? r->h.user : "", &any_success, &last_rc);
	if (c->rc == PAM_SUCCESS) {
		FZ_CHECK(vendor_user(r) && module_usable() &&
		             !(world.blocks & (FZ_B_AUDIT | FZ_B_LOAD)) && access_ok(r),
		         "account allowed user %s outside the window, address or hours, or no "
		         "usable vendor", r->h.user);
		FZ_CHECK(any_success, "account allowed %s without a successful auth on this handle",
		         r->h.user);
		FZ_CHECK(last_rc == PAM_SUCCESS || fz.faults_fired > 0,
		         "account allowed %s although its last auth on this handle failed (%d)",
		         r->h.user, last_rc);
	}
	if (r->prev_kind == FZ_AUTH && r->prev_rc == PAM_SUCCESS && last_rc == PAM_SUCCESS &&
	    clean(r) && vendor_user(r) && access_ok(r))
		FZ_CHECK(c->rc == PAM_SUCCESS, "account refused (rc %d) right after auth succeeded",
		         c->rc);
}

static void check_session(struct run *r, const struct call *c)
{
	int now_open = fz_world_sessions(&world);

	if (c->rc == PAM_SUCCESS) {
		FZ_CHECK(vendor_user(r) && module_usable() && !(world.blocks & FZ_B_AUDIT) &&
		             (c->kind == FZ_CLOSE || !(world.blocks & FZ_B_SESSION)),
		         "%s succeeded for %s, who is no usable vendor", event_of[c->kind], r->h.user);
		if (c->kind == FZ_OPEN && fz.faults_fired == c->faults0)
			FZ_CHECK(now_open == c->sessions0 + 1, "session_open recorded no session");
		if (c->kind == FZ_CLOSE && r->session_open && fz.faults_fired == c->faults0 &&
		    !(r->in.pamfail & FZ_FAIL_GET_DATA))
			FZ_CHECK(now_open == c->sessions0 - 1, "session_close left its session record");
	}
	if (c->kind == FZ_OPEN && c->rc != PAM_SUCCESS && fz.faults_fired == c->faults0)
		FZ_CHECK(now_open <= c->sessions0, "a refused session_open left a session record");
	if (c->kind == FZ_OPEN && c->rc == PAM_SUCCESS)
		r->session_open = true;
	if (c->kind == FZ_CLOSE)
		r->session_open = false;
}

/* What every call must satisfy, whatever its phase. */
static void check_common(const struct run *r, const struct call *c)
{
	FZ_CHECK(rc_expected(c->kind, c->rc), "%s returned %d", event_of[c->kind], c->rc);
	if (c->rc != PAM_SUCCESS && c->rc != PAM_IGNORE)
		FZ_CHECK(fz.n_log > c->log0, "%s denied (%d) without a syslog or audit line",
		         event_of[c->kind], c->rc);
	if (c->rc == PAM_IGNORE && c->kind != FZ_SETCRED)
		FZ_CHECK(!(vendor_user(r) && module_usable() && fz.faults_fired == 0),
		         "%s ignored the vendor (PAM_IGNORE)", event_of[c->kind]);
	if (c->rc == PAM_SUCCESS && c->kind != FZ_SETCRED)
		FZ_CHECK(c->allow_lines > 0, "%s succeeded without an allow line in the audit log",
		         event_of[c->kind]);
	if (c->allow_lines > 0 && !(r->in.pamfail & FZ_FAIL_SET_DATA) && fz.faults_fired <= 1)
		FZ_CHECK(c->rc == PAM_SUCCESS, "%s wrote an allow line but returned %d",
		         event_of[c->kind], c->rc);
}

/* --- running the transaction --- */

static int enter_module(struct run *r, enum fz_step_kind k)
{
	pam_handle_t *pamh = (pam_handle_t *)(void *)&r->h;
	const char **argv = world.argv;
	int argc = world.argc, rc = PAM_SYSTEM_ERR;

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
	if (fz_world_load(&world, r->in.vendor, rec))
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
	        event_of[c->kind], c->rc, fz.conv_calls, fz.faults_fired);
	for (i = c->log0; i < fz.n_log; i++)
		fprintf(stderr, "  syslog: %s\n", fz.log[i]);
}

static void module_step(struct run *r, enum fz_step_kind k)
{
	struct call c;
	const char *first = first_token(r);
	bool valid = false;
	unsigned used = 0;

	memset(&c, 0, sizeof(c));
	c.kind = k;
	c.log0 = fz.n_log;
	c.faults0 = fz.faults_fired;
	c.before = load_record(r);
	c.old_audit = r->audit;
	c.old_len = r->audit_len;
	r->audit = NULL;
	c.sessions0 = fz_world_sessions(&world);
	fz.conv_calls = 0;
	fz.n_given = 0;
	c.rc = enter_module(r, k);
	c.after = load_record(r);
	check_audit(r, &c);
	check_common(r, &c);
	check_record_change(&c);
	if (k == FZ_AUTH) {
		valid = some_token_accepts(r, c.before);
		used = note_consumed(r, &c);
		check_auth(r, &c, valid, used, first);
		if (r->n_auths < FZ_STEP_MAX)
			r->auths[r->n_auths++] = (struct auth_seen){r->h.user, c.rc};
	} else if (k == FZ_ACCOUNT) {
		check_account(r, &c);
	} else if (k == FZ_OPEN || k == FZ_CLOSE) {
		check_session(r, &c);
	}
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

/* --- the checks at the end of the transaction --- */

static void add_public(struct pv_buf *b, const char *s)
{
	if (s != NULL) {
		pv_buf_puts(b, s);
		pv_buf_puts(b, "\n");
	}
}

/* Everything that may show up in a log by right: a secret found in it is not checked. */
static void public_text(const struct run *r, struct pv_buf *b)
{
	const struct fz_input *in = &r->in;
	char host[256];
	size_t i;

	pv_hostname(host, sizeof(host));
	pv_buf_printf(b, "%s\n%s\n%ld\n%lld\n", world.root, host, (long)getpid(),
	              (long long)fz.now);
	add_public(b, world.config_text);
	for (i = 0; i < (size_t)world.argc; i++)
		add_public(b, world.argv[i]);
	add_public(b, in->vendor);
	add_public(b, in->user);
	add_public(b, in->rhost);
	add_public(b, in->service);
	add_public(b, in->tty);
	add_public(b, in->authinfo);
	add_public(b, in->hours);
	for (i = 0; i < in->n_steps; i++)
		add_public(b, in->steps[i].arg);
	for (i = 0; i < in->n_ips; i++)
		add_public(b, in->ips[i]);
	for (i = 0; i < in->n_window_ips; i++)
		add_public(b, in->window_ips[i]);
	for (i = 0; i < in->n_members; i++)
		add_public(b, in->members[i]);
	for (i = 0; i < in->n_primaries; i++)
		add_public(b, in->primaries[i]);
	FZ_CHECK(!b->failed, "oom");
}

#define SECRETS_MAX (FZ_CODE_MAX + 3 + FZ_LIST_MAX + 1)

/* The codes (issued, TOTP, and whatever was typed that looks like one) of 6 digits or more. */
static size_t secrets_of(const struct run *r, char s[][PV_OTP_MAX_LEN + 1])
{
	size_t n = 0, i;
	int64_t k;

	for (i = 0; i < r->in.n_codes; i++)
		if (strlen(r->in.codes[i].digits) >= PV_OTP_MIN_LEN)
			strcpy(s[n++], r->in.codes[i].digits);
	for (k = -1; k <= 1; k++)
		fz_totp_at(fz.now / PV_TOTP_STEP + k, s[n++]);
	for (i = 0; i <= fz.n_answers; i++) {
		const char *tok = i < fz.n_answers ? fz.answers[i] : r->h.authtok;
		if (normalise(tok, s[n]) && strlen(s[n]) >= PV_OTP_MIN_LEN)
			n++;
	}
	return n;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* No run of digits in `text` is a secret, unless the run lies in a long hex string (a MAC,
 * a session id) or the secret is also public. The master key appears nowhere. */
static void check_secrets(const char *text, size_t len, char s[][PV_OTP_MAX_LEN + 1], size_t n,
                          const char *pub, const char *where)
{
	size_t i = 0, j, k, hs, he;

	FZ_CHECK(memmem(text, len, world.key_hex, strlen(world.key_hex)) == NULL ||
	             strstr(pub, world.key_hex) != NULL,
	         "the master key is in the %s", where);
	while (i < len) {
		if (!is_digit(text[i])) {
			i++;
			continue;
		}
		for (j = i; j < len && is_digit(text[j]); j++)
			;
		for (hs = i; hs > 0 && is_hex(text[hs - 1]); hs--)
			;
		for (he = j; he < len && is_hex(text[he]); he++)
			;
		for (k = 0; k < n && he - hs < 16; k++)
			FZ_CHECK(!(strlen(s[k]) == j - i && memcmp(text + i, s[k], j - i) == 0 &&
			           strstr(pub, s[k]) == NULL),
			         "the code %s is in the %s: %.*s", s[k], where, (int)len, text);
		i = j;
	}
}

static bool has_control(const char *s, bool newline_ok)
{
	for (; s != NULL && *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && !(newline_ok && *s == '\n')) || *s == 0x7f)
			return true;
	return false;
}

/* Client text reaches syslog only escaped or validated; only root's own files and module
 * arguments may carry a control byte into a message. */
static void check_log_text(void)
{
	bool root_ctl = has_control(world.config_text, true);
	size_t i;

	for (i = 0; i < (size_t)world.argc; i++)
		root_ctl = root_ctl || has_control(world.argv[i], false);
	for (i = 0; i < fz.n_log && !root_ctl; i++)
		FZ_CHECK(!has_control(fz.log[i], false), "a control byte in a syslog message: %s",
		         fz.log[i]);
}

static bool audit_damaged(const struct fz_input *in)
{
	size_t i;

	for (i = 0; i < in->n_breaks; i++)
		if (in->breaks[i].target == FZ_T_AUDITLOG || in->breaks[i].target == FZ_T_AUDITHEAD ||
		    in->breaks[i].target == FZ_T_AUDITDIR)
			return true;
	return false;
}

static void final_checks(const struct run *r)
{
	char secrets[SECRETS_MAX][PV_OTP_MAX_LEN + 1];
	struct pv_audit_verify_result res;
	struct pv_err err;
	struct pv_buf pub;
	size_t n, i;

	pv_buf_init(&pub, 1 << 22);
	public_text(r, &pub);
	n = secrets_of(r, secrets);
	for (i = 0; i < fz.n_log; i++)
		check_secrets(fz.log[i], strlen(fz.log[i]), secrets, n, pub.data, "syslog");
	if (r->audit != NULL)
		check_secrets(r->audit, r->audit_len, secrets, n, pub.data, "audit log");
	pv_buf_free(&pub);
	check_log_text();
	/* The chain verifies after any single failed system call: lines are taken back. */
	if (fz.faults_fired <= 1 && !audit_damaged(&r->in)) {
		memset(&res, 0, sizeof(res));
		FZ_CHECK(pv_audit_verify(world.cfg.audit_log, &world.keys, &res, &err) == PV_OK &&
		             res.intact,
		         "the audit chain does not verify: %s %s", err.msg, res.problem);
	}
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
	fz_world_setup(&world, &r->in);
	fz_log_reset(); /* the syslog copy of the setup's audit line */
	r->h.authtok = fz_world_token(&world, &r->in, r->in.authtok);
	for (i = 0; i < r->in.n_answers; i++)
		fz.answers[i] = fz_world_token(&world, &r->in, r->in.answers[i]);
	fz.n_answers = r->in.n_answers;
	r->audit = fz_world_audit(&world, &r->audit_len);
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
	final_checks(r);
	free(r->audit);
	fz_log_reset();
	fz_world_teardown(&world);
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
	fz_world_init(&world);
	run_input((const uint8_t *)"", 0, false); /* anything opened once and kept, opened now */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_input(data, size, true);
	return 0;
}

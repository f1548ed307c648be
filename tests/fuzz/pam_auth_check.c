/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_auth_check.c — what fuzz_pam_auth knows without asking the module (who is a vendor, may
 * this vendor get in now, would this token log it in), and the invariants it checks after each
 * call and at the end of a transaction; a broken one aborts (FZ_CHECK), so libFuzzer keeps the
 * input. docs/fuzzing.md lists them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "fuzz_common.h"
#include "hostname.h"
#include "ipmatch.h"
#include "json.h"
#include "pam_auth.h"
#include "schedule.h"
#include "timeparse.h"

const char *const fz_event_of[] = {
    [FZ_AUTH] = "auth",           [FZ_ACCOUNT] = "account", [FZ_OPEN] = "session_open",
    [FZ_CLOSE] = "session_close", [FZ_SETCRED] = "setcred", [FZ_CHAUTHTOK] = "chauthtok"};

/* --- what the harness knows without asking the module --- */

static bool is_name(const char *user)
{
	return user != NULL && strcmp(user, "!fail") != 0 && strcmp(user, "!null") != 0;
}

/* The PAM user is the registered vendor (whose record exists, damaged or not). */
static bool vendor_user(const struct run *r)
{
	return is_name(r->h.user) && fz_tree.have_record && strcmp(r->h.user, r->in.vendor) == 0;
}

/* The module can tell vendors and serve them: configuration, options, key and store usable. */
static bool module_usable(void)
{
	return fz_tree.config_parses && fz_tree.config_named && !fz_tree.unknown_arg &&
	       !(fz_tree.blocks & FZ_B_CLASSIFY);
}

static bool rhost_allowed(const char *rhost)
{
	const struct pv_record *rec = fz_tree.rec0;
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
	const struct pv_record *rec = fz_tree.rec0;
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
		    strcmp(d, c->digits) == 0 && strlen(d) == fz_tree.parsed.otp_length &&
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

	if ((fz_tree.use_first_pass || fz_tree.try_first_pass) &&
	    token_accepts(r, r->h.authtok, before))
		return true;
	for (i = 0; i < fz.n_given; i++)
		if (token_accepts(r, fz.given[i], before))
			return true;
	return false;
}

const char *fz_first_token(const struct run *r)
{
	if (fz_tree.use_first_pass || (fz_tree.try_first_pass && r->h.authtok != NULL))
		return r->h.authtok;
	if (fz.n_answers == 0)
		return NULL;
	return fz.answers[fz.next_answer < fz.n_answers ? fz.next_answer : fz.n_answers - 1];
}

/* Nothing in the way: no damage, fault, failing libpam call or unknown option. */
static bool clean(const struct run *r)
{
	return !fz_tree.damaged && r->in.n_faults == 0 && r->in.pamfail == 0 && module_usable();
}

/* --- the checks after each call --- */

static bool rc_expected(enum fz_step_kind k, int rc)
{
	switch (k) {
	case FZ_AUTH:
		return rc == PAM_SUCCESS || rc == PAM_AUTH_ERR || rc == PAM_CONV_ERR ||
		       rc == PAM_IGNORE;
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
	FZ_CHECK(event != NULL && strcmp(event, fz_event_of[c->kind]) == 0,
	         "a %s call wrote an audit line of event %s", fz_event_of[c->kind], event);
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
	r->audit = fz_world_audit(&fz_tree, &r->audit_len);
	while (whole > 0 && c->old_audit[whole - 1] != '\n')
		whole--;
	FZ_CHECK(audit_kept(r, c, whole), "a %s call removed or changed audit lines (%zu -> %zu)",
	         fz_event_of[c->kind], c->old_len, r->audit_len);
	for (pos = audit_kept(r, c, c->old_len) ? c->old_len : whole; pos < r->audit_len;) {
		const char *nl = memchr(r->audit + pos, '\n', r->audit_len - pos);
		size_t len = nl != NULL ? (size_t)(nl - (r->audit + pos)) : r->audit_len - pos;

		FZ_CHECK(nl != NULL || fz.faults_fired > 0, "a %s call left a torn audit line",
		         fz_event_of[c->kind]);
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
	         fz_event_of[c->kind]);
	FZ_CHECK(!b->locked || a->locked, "a %s call unlocked the vendor", fz_event_of[c->kind]);
	FZ_CHECK(a->totp_last_step >= b->totp_last_step, "the last TOTP step went back");
	FZ_CHECK(a->n_codes <= b->n_codes, "a %s call added codes", fz_event_of[c->kind]);
	for (i = 0; i < a->n_codes; i++) {
		const struct pv_code *old = code_on_disk(b, a->codes[i].hash);
		FZ_CHECK(old != NULL && same_code(old, &a->codes[i]),
		         "a code appeared or changed its times");
		FZ_CHECK(old->used_at == 0 || old->used_at == a->codes[i].used_at,
		         "a used code became unused");
	}
	if (a->failures > b->failures && a->failures >= fz_tree.parsed.max_failures)
		FZ_CHECK(a->locked, "%u failures (max_failures %u) and not locked", a->failures,
		         fz_tree.parsed.max_failures);
	if (c->kind != FZ_AUTH)
		FZ_CHECK(a->failures == b->failures && a->locked == b->locked &&
		             a->totp_last_step == b->totp_last_step,
		         "a %s call changed the failure count, lock or TOTP step",
		         fz_event_of[c->kind]);
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
		FZ_CHECK(r->in.codes[i].state == FZ_CODE_VALID ||
		             r->in.codes[i].state == FZ_CODE_LAST,
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

static void check_auth(struct run *r, const struct call *c, bool valid, unsigned used)
{
	const char *first = c->first;

	bool gate = access_ok(r) && c->before != NULL && !c->before->locked;

	if (fz.conv_calls > 0)
		FZ_CHECK(vendor_user(r) && module_usable() && !(fz_tree.blocks & FZ_B_LOAD) && gate,
		         "the vendor was asked for a code although the window, address, hours or "
		         "lock refuse it (or it is no vendor)");
	if (!gate && c->before != NULL && c->after != NULL)
		FZ_CHECK(
		    c->after->failures == c->before->failures && used == 0,
		    "a refused vendor (window, address, hours or lock) burned or probed a code");
	if (used > 0)
		FZ_CHECK(valid, "a code was used up although no token the module saw was valid");
	if (c->rc == PAM_SUCCESS) {
		FZ_CHECK(vendor_user(r) && module_usable() &&
		             !(fz_tree.blocks & (FZ_B_AUDIT | FZ_B_LOAD | FZ_B_LOCK)),
		         "auth succeeded for user %s, who is no usable vendor", r->h.user);
		FZ_CHECK(gate, "auth succeeded outside the window, hours or addresses, or locked");
		FZ_CHECK(valid, "auth succeeded without a valid, unused, unexpired code");
		FZ_CHECK(c->after == NULL || used > 0,
		         "auth succeeded but no code is used up on disk");
		FZ_CHECK(c->after == NULL || c->after->failures == 0,
		         "auth succeeded and the failures were not reset");
	}
	/* The other way round, when nothing is in the way: the valid code logs in. */
	if (r->n_auths == 0 && clean(r) && vendor_user(r) && gate && first != NULL &&
	    token_accepts(r, first, c->before))
		FZ_CHECK(c->rc == PAM_SUCCESS,
		         "the valid code was refused (rc %d) with nothing in "
		         "the way",
		         c->rc);
}

static void check_account(const struct run *r, const struct call *c)
{
	bool any_success;
	int last_rc;

	last_auth_rc_for(r, is_name(r->h.user) ? r->h.user : "", &any_success, &last_rc);
	if (c->rc == PAM_SUCCESS) {
		FZ_CHECK(vendor_user(r) && module_usable() &&
		             !(fz_tree.blocks & (FZ_B_AUDIT | FZ_B_LOAD)) && access_ok(r),
		         "account allowed user %s outside the window, address or hours, or no "
		         "usable vendor",
		         r->h.user);
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
	int now_open = fz_world_sessions(&fz_tree);

	if (c->rc == PAM_SUCCESS) {
		FZ_CHECK(vendor_user(r) && module_usable() && !(fz_tree.blocks & FZ_B_AUDIT) &&
		             (c->kind == FZ_CLOSE || !(fz_tree.blocks & FZ_B_SESSION)),
		         "%s succeeded for %s, who is no usable vendor", fz_event_of[c->kind],
		         r->h.user);
		if (c->kind == FZ_OPEN && fz.faults_fired == c->faults0)
			FZ_CHECK(now_open == c->sessions0 + 1, "session_open recorded no session");
		if (c->kind == FZ_CLOSE && r->session_open && fz.faults_fired == c->faults0 &&
		    !(r->in.pamfail & FZ_FAIL_GET_DATA))
			FZ_CHECK(now_open == c->sessions0 - 1,
			         "session_close left its session record");
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
	FZ_CHECK(rc_expected(c->kind, c->rc), "%s returned %d", fz_event_of[c->kind], c->rc);
	if (c->rc != PAM_SUCCESS && c->rc != PAM_IGNORE)
		FZ_CHECK(fz.n_log > c->log0, "%s denied (%d) without a syslog or audit line",
		         fz_event_of[c->kind], c->rc);
	if (c->rc == PAM_IGNORE && c->kind != FZ_SETCRED)
		FZ_CHECK(!(vendor_user(r) && module_usable() && fz.faults_fired == 0),
		         "%s ignored the vendor (PAM_IGNORE)", fz_event_of[c->kind]);
	if (c->rc == PAM_SUCCESS && c->kind != FZ_SETCRED)
		FZ_CHECK(c->allow_lines > 0, "%s succeeded without an allow line in the audit log",
		         fz_event_of[c->kind]);
	if (c->allow_lines > 0 && !(r->in.pamfail & FZ_FAIL_SET_DATA) && fz.faults_fired <= 1)
		FZ_CHECK(c->rc == PAM_SUCCESS, "%s wrote an allow line but returned %d",
		         fz_event_of[c->kind], c->rc);
}

void fz_check_call(struct run *r, struct call *c)
{
	check_audit(r, c);
	check_common(r, c);
	check_record_change(c);
	if (c->kind == FZ_AUTH) {
		bool valid = some_token_accepts(r, c->before);
		unsigned used = note_consumed(r, c);

		check_auth(r, c, valid, used);
		if (r->n_auths < FZ_STEP_MAX)
			r->auths[r->n_auths++] = (struct auth_seen){r->h.user, c->rc};
	} else if (c->kind == FZ_ACCOUNT) {
		check_account(r, c);
	} else if (c->kind == FZ_OPEN || c->kind == FZ_CLOSE) {
		check_session(r, c);
	}
}

/* --- the checks at the end of the transaction --- */

/* The text as it is and as the audit writer escapes it ("\x01" + "23" is "\u000123"). */
static void add_public(struct pv_buf *b, const char *s)
{
	if (s != NULL) {
		pv_buf_puts(b, s);
		pv_buf_puts(b, "\n");
		pv_json_string(b, s);
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
	pv_buf_printf(b, "%s\n%s\n%ld\n%lld\n", fz_tree.root, host, (long)getpid(),
	              (long long)fz.now);
	add_public(b, fz_tree.config_text);
	for (i = 0; i < (size_t)fz_tree.argc; i++)
		add_public(b, fz_tree.argv[i]);
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

	FZ_CHECK(memmem(text, len, fz_tree.key_hex, strlen(fz_tree.key_hex)) == NULL ||
	             strstr(pub, fz_tree.key_hex) != NULL,
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
	bool root_ctl = has_control(fz_tree.config_text, true);
	size_t i;

	for (i = 0; i < (size_t)fz_tree.argc; i++)
		root_ctl = root_ctl || has_control(fz_tree.argv[i], false);
	for (i = 0; i < fz.n_log && !root_ctl; i++)
		FZ_CHECK(!has_control(fz.log[i], false), "a control byte in a syslog message: %s",
		         fz.log[i]);
}

static bool audit_damaged(const struct fz_input *in)
{
	size_t i;

	for (i = 0; i < in->n_breaks; i++)
		if (in->breaks[i].target == FZ_T_AUDITLOG ||
		    in->breaks[i].target == FZ_T_AUDITHEAD || in->breaks[i].target == FZ_T_AUDITDIR)
			return true;
	return false;
}

void fz_check_end(const struct run *r)
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
		FZ_CHECK(pv_audit_verify(fz_tree.cfg.audit_log, &fz_tree.keys, &res, &err) ==
		                 PV_OK &&
		             res.intact,
		         "the audit chain does not verify: %s %s", err.msg, res.problem);
	}
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_auth_input.c — the fuzz input of fuzz_pam_auth: one PAM transaction and the state it
 * meets, as text lines "key value" (readable seeds and regression files). A key that is not
 * known, or a value that does not parse, is ignored; every key has a default, so the empty
 * input is a vendor inside its window logging in with its valid code.
 *
 *   vendor NAME           the registered vendor (acme)          norecord: none at all
 *   clock SECONDS         added to the fixed clock, 2026-11-25T12:00:00Z (a Wednesday)
 *   window open|closed|upcoming|none|START END   (open; START END: seconds from now)
 *   ip CIDR, window_ip CIDR   the record's address lists (203.0.113.0/24; none)
 *   hours SCHEDULE        business hours, e.g. "Mon-Fri 08:00-19:00"
 *   failures N, locked    the record's failure count and lock
 *   code STATE [DIGITS]   an issued code: valid last edge used expired old (one valid)
 *   totp [LAST]           enrolled in TOTP; LAST: the last used step, relative to now's
 *   otp_length N, max_failures N, unknown_user X, conf_group G   configuration (8, 3)
 *   conf LINE             one more pam_vendor.conf line (store_backend and pg_ lines dropped)
 *   arg ARG               a module argument, after config=<scratch>/etc/pam_vendor.conf
 *   user NAME|!fail|!null PAM_USER (the vendor)      rhost TEXT|!unset  (203.0.113.7)
 *   service, tty, authinfo TEXT   PAM_SERVICE (sshd), PAM_TTY (ssh), SSH_AUTH_INFO_0
 *   authtok TOKEN         PAM_AUTHTOK (unset)
 *   answer TOKEN          the conversation's answers in order, the last one repeating
 *                         (@valid); also !convfail !noresp !nullresp !noconv !nofunc
 *   step S                auth account open close setcred chauthtok newhandle, setuser X,
 *                         setrhost X (auth account open close)
 *   member NAME, primary NAME   NSS: in group pvfuzz; an account whose primary group it is
 *   nss fail, nss minbuf N      NSS lookups fail; need a buffer of N bytes (ERANGE below)
 *   fault CALL N ERRNO [always] the Nth (0-based) CALL of the transaction fails
 *   pamfail get_item|set_data|get_data
 *   break TARGET DAMAGE   config key storedir record lock auditdir auditlog audithead
 *                         sessiondir; missing writable readable owner symlink garbage
 *                         truncated othername dir nohead
 * TOKEN: the text typed, or @valid @last @edge @used @expired @old (that code's digits),
 * @totp @totp-1 @totp+1 (the TOTP of a step), @valid-spaced @valid-dashed, @valid-64 and
 * @valid-65 (the valid code padded with spaces to 64 and 65 bytes). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pam_auth.h"

struct name_value {
	const char *name;
	int value;
};

static const struct name_value code_states[] = {{"valid", FZ_CODE_VALID},
                                                {"last", FZ_CODE_LAST},
                                                {"edge", FZ_CODE_EDGE},
                                                {"used", FZ_CODE_USED},
                                                {"expired", FZ_CODE_EXPIRED},
                                                {"old", FZ_CODE_OLD},
                                                {NULL, 0}};

static const struct name_value step_kinds[] = {
    {"auth", FZ_AUTH},           {"account", FZ_ACCOUNT},
    {"open", FZ_OPEN},           {"close", FZ_CLOSE},
    {"setcred", FZ_SETCRED},     {"chauthtok", FZ_CHAUTHTOK},
    {"newhandle", FZ_NEWHANDLE}, {"setuser", FZ_SETUSER},
    {"setrhost", FZ_SETRHOST},   {NULL, 0}};

static const struct name_value syscalls[] = {
    {"open", FZ_SYS_OPEN},       {"openat", FZ_SYS_OPENAT},       {"read", FZ_SYS_READ},
    {"pread", FZ_SYS_PREAD},     {"write", FZ_SYS_WRITE},         {"pwrite", FZ_SYS_PWRITE},
    {"fsync", FZ_SYS_FSYNC},     {"fdatasync", FZ_SYS_FDATASYNC}, {"renameat", FZ_SYS_RENAMEAT},
    {"flock", FZ_SYS_FLOCK},     {"ftruncate", FZ_SYS_FTRUNCATE}, {"unlinkat", FZ_SYS_UNLINKAT},
    {"mkdirat", FZ_SYS_MKDIRAT}, {"fstat", FZ_SYS_FSTAT},         {NULL, 0}};

static const struct name_value errnos[] = {
    {"EIO", EIO},     {"ENOSPC", ENOSPC}, {"EACCES", EACCES}, {"EPERM", EPERM},
    {"EINTR", EINTR}, {"EAGAIN", EAGAIN}, {"ENOENT", ENOENT}, {"EEXIST", EEXIST},
    {"EROFS", EROFS}, {"EMFILE", EMFILE}, {"ENOMEM", ENOMEM}, {"EDQUOT", EDQUOT},
    {"ELOOP", ELOOP}, {"EXDEV", EXDEV},   {"EBUSY", EBUSY},   {"ENOLCK", ENOLCK},
    {NULL, 0}};

static const struct name_value pamfails[] = {{"get_item", FZ_FAIL_GET_ITEM},
                                             {"set_data", FZ_FAIL_SET_DATA},
                                             {"get_data", FZ_FAIL_GET_DATA},
                                             {NULL, 0}};

static const struct name_value targets[] = {{"config", FZ_T_CONFIG},
                                            {"key", FZ_T_KEY},
                                            {"storedir", FZ_T_STOREDIR},
                                            {"record", FZ_T_RECORD},
                                            {"lock", FZ_T_LOCK},
                                            {"auditdir", FZ_T_AUDITDIR},
                                            {"auditlog", FZ_T_AUDITLOG},
                                            {"audithead", FZ_T_AUDITHEAD},
                                            {"sessiondir", FZ_T_SESSIONDIR},
                                            {NULL, 0}};

static const struct name_value damages[] = {{"missing", FZ_D_MISSING},
                                            {"writable", FZ_D_WRITABLE},
                                            {"readable", FZ_D_READABLE},
                                            {"owner", FZ_D_OWNER},
                                            {"symlink", FZ_D_SYMLINK},
                                            {"garbage", FZ_D_GARBAGE},
                                            {"truncated", FZ_D_TRUNCATED},
                                            {"othername", FZ_D_OTHERNAME},
                                            {"dir", FZ_D_DIR},
                                            {"nohead", FZ_D_NOHEAD},
                                            {NULL, 0}};

static bool lookup(const struct name_value *table, const char *name, int *value)
{
	for (; table->name != NULL; table++) {
		if (strcmp(table->name, name) == 0) {
			*value = table->value;
			return true;
		}
	}
	return false;
}

static bool number(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Split "first rest" in place: returns rest ("" when there is none). */
static char *split(char *s)
{
	char *sp = strchr(s, ' ');

	if (sp == NULL)
		return s + strlen(s);
	*sp = '\0';
	return sp + 1;
}

static void push(const char **list, size_t *n, const char *value)
{
	if (*n < FZ_LIST_MAX)
		list[(*n)++] = value;
}

static void parse_window(struct fz_input *in, char *v)
{
	char *end = split(v);
	int64_t s, e;

	if (strcmp(v, "open") == 0) {
		in->win_start = -3600;
		in->win_end = 3600;
	} else if (strcmp(v, "closed") == 0) {
		in->win_start = -7200;
		in->win_end = -3600;
	} else if (strcmp(v, "upcoming") == 0) {
		in->win_start = 3600;
		in->win_end = 7200;
	} else if (strcmp(v, "none") == 0) {
		in->win_start = in->win_end = 0;
	} else if (number(v, -86400 * 400, 86400 * 400, &s) &&
	           number(end, -86400 * 400, 86400 * 400, &e)) {
		in->win_start = s;
		in->win_end = e > s ? e : s + 1; /* a record's window ends after it starts */
	}
}

static void parse_code(struct fz_input *in, char *v)
{
	char *digits = split(v);
	struct fz_code *c;
	int state;
	size_t i, n = strlen(digits);

	if (in->n_codes >= FZ_CODE_MAX || !lookup(code_states, v, &state))
		return;
	c = &in->codes[in->n_codes++];
	memset(c, 0, sizeof(*c));
	c->state = (enum fz_code_state)state;
	if (n == 0 || n > PV_OTP_MAX_LEN)
		return; /* the default digits for its position */
	for (i = 0; i < n; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return;
	memcpy(c->digits, digits, n + 1);
}

static void parse_step(struct fz_input *in, char *v)
{
	char *arg = split(v);
	int kind;

	if (in->n_steps >= FZ_STEP_MAX || !lookup(step_kinds, v, &kind))
		return;
	in->steps[in->n_steps].kind = (enum fz_step_kind)kind;
	in->steps[in->n_steps].arg = arg;
	in->n_steps++;
}

static void parse_fault(struct fz_input *in, char *v)
{
	char *nth = split(v);
	char *name = split(nth);
	char *always = split(name);
	int call, err;
	int64_t n;

	if (in->n_faults >= 2 || !lookup(syscalls, v, &call) || !number(nth, 0, 10000, &n) ||
	    !lookup(errnos, name, &err))
		return;
	in->faults[in->n_faults].call = (enum fz_syscall)call;
	in->faults[in->n_faults].nth = (unsigned)n;
	in->faults[in->n_faults].err = err;
	/* A lock that never frees up costs lock_timeout seconds per call: no fuzzing value. */
	in->faults[in->n_faults].always =
	    strcmp(always, "always") == 0 && !(call == FZ_SYS_FLOCK && err == EAGAIN);
	in->n_faults++;
}

static void parse_break(struct fz_input *in, char *v)
{
	char *how = split(v);
	int target, damage;

	if (in->n_breaks >= 4 || !lookup(targets, v, &target) || !lookup(damages, how, &damage))
		return;
	in->breaks[in->n_breaks].target = (enum fz_target)target;
	in->breaks[in->n_breaks].damage = (enum fz_damage)damage;
	in->n_breaks++;
}

static void parse_nss(struct fz_input *in, char *v)
{
	char *arg = split(v);
	int64_t n;

	if (strcmp(v, "fail") == 0)
		in->nss_fail = true;
	else if (strcmp(v, "minbuf") == 0 && number(arg, 0, 1 << 22, &n))
		in->nss_min_buf = (size_t)n;
}

/* The settings of the record and the configuration. false: not one of them. */
static bool parse_state_line(struct fz_input *in, const char *k, char *v)
{
	int64_t n;
	int bit;

	if (strcmp(k, "vendor") == 0)
		in->vendor = v;
	else if (strcmp(k, "norecord") == 0)
		in->norecord = true;
	else if (strcmp(k, "clock") == 0 && number(v, -315360000, 315360000, &n))
		in->clock = n;
	else if (strcmp(k, "window") == 0)
		parse_window(in, v);
	else if (strcmp(k, "ip") == 0)
		push(in->ips, &in->n_ips, v);
	else if (strcmp(k, "window_ip") == 0)
		push(in->window_ips, &in->n_window_ips, v);
	else if (strcmp(k, "hours") == 0)
		in->hours = v;
	else if (strcmp(k, "failures") == 0 && number(v, 0, 2000000, &n))
		in->failures = (unsigned)n;
	else if (strcmp(k, "locked") == 0)
		in->locked = true;
	else if (strcmp(k, "code") == 0)
		parse_code(in, v);
	else if (strcmp(k, "totp") == 0) {
		in->totp = true;
		in->totp_last_set = number(v, -100, 100, &n);
		in->totp_last = in->totp_last_set ? n : 0;
	} else if (strcmp(k, "otp_length") == 0 && number(v, 1, 99, &n))
		in->otp_length = (unsigned)n;
	else if (strcmp(k, "max_failures") == 0 && number(v, 1, 2000, &n))
		in->max_failures = (unsigned)n;
	else if (strcmp(k, "unknown_user") == 0)
		in->unknown_user = v;
	else if (strcmp(k, "conf_group") == 0)
		in->conf_group = v;
	else if (strcmp(k, "conf") == 0)
		push(in->conf, &in->n_conf, v);
	else if (strcmp(k, "arg") == 0)
		push(in->args, &in->n_args, v);
	else if (strcmp(k, "pamfail") == 0 && lookup(pamfails, v, &bit))
		in->pamfail |= (unsigned)bit;
	else
		return false;
	return true;
}

static void parse_line(struct fz_input *in, char *line)
{
	char *v = split(line);
	const char *k = line;

	if (parse_state_line(in, k, v))
		return;
	if (strcmp(k, "user") == 0)
		in->user = v;
	else if (strcmp(k, "rhost") == 0)
		in->rhost = strcmp(v, "!unset") == 0 ? NULL : v;
	else if (strcmp(k, "service") == 0)
		in->service = v;
	else if (strcmp(k, "tty") == 0)
		in->tty = v;
	else if (strcmp(k, "authinfo") == 0)
		in->authinfo = v;
	else if (strcmp(k, "authtok") == 0)
		in->authtok = v;
	else if (strcmp(k, "answer") == 0)
		push(in->answers, &in->n_answers, v);
	else if (strcmp(k, "step") == 0)
		parse_step(in, v);
	else if (strcmp(k, "member") == 0)
		push(in->members, &in->n_members, v);
	else if (strcmp(k, "primary") == 0)
		push(in->primaries, &in->n_primaries, v);
	else if (strcmp(k, "nss") == 0)
		parse_nss(in, v);
	else if (strcmp(k, "fault") == 0)
		parse_fault(in, v);
	else if (strcmp(k, "break") == 0)
		parse_break(in, v);
}

static void set_defaults(struct fz_input *in)
{
	static const enum fz_step_kind steps[] = {FZ_AUTH, FZ_ACCOUNT, FZ_OPEN, FZ_CLOSE};
	size_t i;

	if (in->vendor == NULL)
		in->vendor = "acme";
	if (in->n_ips == 0)
		push(in->ips, &in->n_ips, "203.0.113.0/24");
	if (in->n_codes == 0) {
		in->n_codes = 1;
		in->codes[0].state = FZ_CODE_VALID;
	}
	if (in->service == NULL)
		in->service = "sshd";
	if (in->tty == NULL)
		in->tty = "ssh";
	if (in->n_answers == 0)
		push(in->answers, &in->n_answers, "@valid");
	if (in->n_steps == 0) {
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			in->steps[i].kind = steps[i];
			in->steps[i].arg = "";
		}
		in->n_steps = i;
	}
}

void fz_input_parse(const uint8_t *data, size_t size, struct fz_input *in)
{
	char *p, *end;

	memset(in, 0, sizeof(*in));
	in->buf = fz_cstr(data, size);
	in->rhost = "203.0.113.7";
	in->win_start = -3600;
	in->win_end = 3600;
	end = in->buf + strlen(in->buf); /* an embedded NUL ends the input */
	for (p = in->buf; p < end;) {
		char *nl = strchr(p, '\n');
		char *next = nl != NULL ? nl + 1 : end;

		if (nl != NULL)
			*nl = '\0';
		if (*p != '#')
			parse_line(in, p);
		p = next;
	}
	set_defaults(in);
}

void fz_input_free(struct fz_input *in)
{
	free(in->buf);
	in->buf = NULL;
}

/* --- the tokens of answers and PAM_AUTHTOK --- */

static const char *code_of(const struct fz_input *in, enum fz_code_state state)
{
	size_t i;

	for (i = 0; i < in->n_codes; i++)
		if (in->codes[i].state == state)
			return in->codes[i].digits;
	return NULL;
}

static const char *resolve_padded(const char *digits, const char *how, char *out, size_t len)
{
	size_t n = strlen(digits), i, o = 0;

	if (strcmp(how, "-spaced") == 0 || strcmp(how, "-dashed") == 0) {
		for (i = 0; i < n && o + 2 < len; i++) {
			if (i > 0 && i % (how[1] == 's' ? 4 : 3) == 0)
				out[o++] = how[1] == 's' ? ' ' : '-';
			out[o++] = digits[i];
		}
		out[o] = '\0';
		return out;
	}
	if (strcmp(how, "-64") == 0 || strcmp(how, "-65") == 0) {
		size_t want = how[2] == '4' ? 64 : 65;
		snprintf(out, len, "%-*s", (int)want, digits);
		return out;
	}
	return NULL;
}

const char *fz_input_token(struct fz_input *in, const char *tok, int64_t now)
{
	static const char *const states[] = {
	    [FZ_CODE_VALID] = "valid", [FZ_CODE_LAST] = "last",       [FZ_CODE_EDGE] = "edge",
	    [FZ_CODE_USED] = "used",   [FZ_CODE_EXPIRED] = "expired", [FZ_CODE_OLD] = "old"};
	char *out;
	size_t s;

	if (tok == NULL || tok[0] != '@' || in->n_tokens >= FZ_LIST_MAX + 1)
		return tok;
	out = in->tokens[in->n_tokens];
	if (strncmp(tok, "@totp", 5) == 0) {
		int64_t k = strcmp(tok + 5, "-1") == 0 ? -1 : strcmp(tok + 5, "+1") == 0 ? 1 : 0;
		if (tok[5] != '\0' && k == 0)
			return tok;
		fz_totp_at(now / PV_TOTP_STEP + k, out);
		in->n_tokens++;
		return out;
	}
	for (s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
		size_t n = strlen(states[s]);
		const char *digits = code_of(in, (enum fz_code_state)s);

		if (strncmp(tok + 1, states[s], n) != 0 || digits == NULL)
			continue;
		if (tok[1 + n] == '\0') {
			in->n_tokens++;
			return strcpy(out, digits);
		}
		if (s == FZ_CODE_VALID &&
		    resolve_padded(digits, tok + 1 + n, out, sizeof(in->tokens[0])) != NULL) {
			in->n_tokens++;
			return out;
		}
	}
	return tok;
}

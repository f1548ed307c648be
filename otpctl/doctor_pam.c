/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_pam.c — the PAM checks of `otpctl doctor`: the service file (default sshd) can be
 * read with its includes, and in each stack the service calls (its row of the table below)
 * pam_vendor.so is present, no earlier line can skip it (a `sufficient` or `done` that ends
 * the stack on success, a jump that lands past it), and its own control does not ignore its
 * failures. */
#include "doctor.h"

#include <stdio.h>
#include <string.h>

#include "doctor_pamconf.h"

#define SSHD_AUTH_LINE "auth [success=done ignore=ignore default=die] pam_vendor.so"

/* What each service calls (BRIEF §6, docs/openvpn.md): sshd calls auth, account and session;
 * OpenVPN's auth-pam plugin calls pam_authenticate and pam_acct_mgmt, never a session. The
 * last row is assumed for a service not in the table, and the findings say so. */
static const struct dr_service services[] = {
    {"sshd",
     {true, true, true},
     "auth, account and session",
     SSHD_AUTH_LINE,
     "before its first auth line (@include common-auth)",
     DR_EXAMPLE("pam.d/sshd"),
     DR_EXAMPLE("pam.d/sshd")},
    {"openvpn",
     {true, true, false},
     "auth and account",
     "auth required pam_vendor.so",
     "as its first auth line",
     NULL,
     "the comment at the top of " DR_EXAMPLE("openvpn/server.conf")},
    {NULL,
     {true, true, true},
     "auth, account and session",
     SSHD_AUTH_LINE,
     "before its first auth line",
     DR_EXAMPLE("pam.d/sshd"),
     DR_EXAMPLE("pam.d/sshd")},
};

const struct dr_service *dr_service_find(const char *name)
{
	size_t i;

	for (i = 0; services[i].name != NULL; i++)
		if (strcmp(services[i].name, name) == 0)
			return &services[i];
	return &services[i];
}

/* For a service not in the table: what the findings assume ("" for a known service). */
static void assumption(const struct doctor *d, char *text, size_t len)
{
	text[0] = '\0';
	if (d->service->name == NULL)
		snprintf(text, len,
		         " (doctor does not know which PAM calls service %s makes and assumes %s, "
		         "as sshd)",
		         d->opt.service, d->service->calls_text);
}

/* Values for which `done` makes the stack succeed without running the rest: success only.
 * With any other value Linux-PAM ends the stack with that value, which is not a success
 * (PAM_IGNORE included). PAM_NEW_AUTHTOK_REQD=done, as in Debian's common-account, ends the
 * account stack with "password change required", which sshd treats as a forced password
 * change, not as a plain success: it is not reported. */
static bool done_succeeds(int value)
{
	return value == PAM_SUCCESS;
}

/* What pam_vendor.so (or libpam, when the module cannot be used) returns on a failure: each
 * must fail the stack (ok, done, bad, die), never be ignored, reset or jumped over. */
static const int vendor_failures[] = {
    PAM_AUTH_ERR,    PAM_AUTHTOK_ERR, PAM_PERM_DENIED, PAM_SESSION_ERR,    PAM_SYSTEM_ERR,
    PAM_SERVICE_ERR, PAM_BUF_ERR,     PAM_CONV_ERR,    PAM_MODULE_UNKNOWN,
};

struct skipper {
	size_t index;
	int value;
	int action;
};

/* Linux-PAM's jump: from entry i, skip n modules of i's level (a substack counts as one).
 * True when entry t is among those skipped; a jump past the end fails the stack instead. */
static bool jump_skips(const struct dr_pam_stack *s, size_t i, int n, size_t t)
{
	int level = s->e[i].level;
	size_t h = i;
	bool hit = false;

	while (h + 1 < s->n && s->e[h + 1].level >= level && n > 0) {
		do {
			h++;
			if (h == t)
				hit = true;
		} while (h + 1 < s->n && s->e[h + 1].level > level);
		n--;
	}
	return n == 0 && hit;
}

/* `done` at entry i ends i's (sub)stack: t is skipped when nothing between leaves it. */
static bool done_skips(const struct dr_pam_stack *s, size_t i, size_t t)
{
	size_t k;

	for (k = i + 1; k <= t; k++)
		if (s->e[k].level < s->e[i].level)
			return false;
	return true;
}

/* The first entry before t that can keep t from running on a successful path. */
static bool find_skipper(const struct dr_pam_stack *s, size_t t, struct skipper *out)
{
	size_t i;
	int v;

	for (i = 0; i < t; i++) {
		const struct dr_pam_entry *e = &s->e[i];

		if (e->substack)
			continue; /* its result is its lines' */
		for (v = 0; v < _PAM_RETURN_VALUES; v++) {
			int a = e->actions[v];

			if (e->must_fail && v != PAM_PERM_DENIED)
				continue; /* it can return nothing else */
			if ((a > 0 && jump_skips(s, i, a, t)) ||
			    (a == DR_ACT_DONE && done_succeeds(v) && done_skips(s, i, t))) {
				out->index = i;
				out->value = v;
				out->action = a;
				return true;
			}
		}
	}
	return false;
}

/* The first failure of pam_vendor.so that its own line does not count as a failure. */
static bool weak_control(const struct dr_pam_entry *e, int *value)
{
	size_t i;

	for (i = 0; i < sizeof(vendor_failures) / sizeof(vendor_failures[0]); i++) {
		int a = e->actions[vendor_failures[i]];

		if (a == DR_ACT_IGNORE || a == DR_ACT_RESET || a > 0) {
			*value = vendor_failures[i];
			return true;
		}
	}
	return false;
}

static const char *recommended_line(const struct doctor *d, enum dr_pam_type type)
{
	switch (type) {
	case DR_PAM_AUTH:
		return d->service->auth_line;
	case DR_PAM_ACCOUNT:
		return "account required pam_vendor.so";
	default:
		return "session required pam_vendor.so";
	}
}

static void report_missing(struct doctor *d, enum dr_pam_type type)
{
	static const char *const where[DR_PAM_NTYPES] = {
	    NULL, /* the service's row says */
	    "after its other account lines",
	    "after its other session lines",
	};
	static const char *const why[DR_PAM_NTYPES] = {
	    "sshd never asks vendors for a code",
	    "nothing re-checks the window, the address and the code when sshd takes a key alone",
	    "vendor sessions are not recorded in the audit log",
	};
	const char *file = d->pam->service_file;
	char assumed[256];
	char id[64];
	char fix[2048];

	assumption(d, assumed, sizeof(assumed));
	snprintf(id, sizeof(id), "pam.%s.missing", dr_pam_type_name(type));
	snprintf(fix, sizeof(fix), "add \"%s\" to %.1000s %s, as in %s", recommended_line(d, type),
	         file, type == DR_PAM_AUTH ? d->service->auth_where : where[type],
	         d->service->example);
	dr_finding(d, DR_ERROR, id, fix,
	           "pam_vendor.so is not in the %s stack of %s (includes followed): %s%s",
	           dr_pam_type_name(type), file, why[type], assumed);
}

static void report_skipped(struct doctor *d, enum dr_pam_type type, const struct dr_pam_stack *s,
                           size_t t, const struct skipper *sk)
{
	const struct dr_pam_entry *e = &s->e[sk->index];
	const struct dr_pam_entry *v = &s->e[t];
	char how[256];
	char before[1200];
	char fix[2600];
	char id[64];

	if (sk->action > 0)
		snprintf(how, sizeof(how), "its %s=%d jumps over it", dr_pam_value_name(sk->value),
		         sk->action);
	else
		snprintf(how, sizeof(how), "when it returns %s it ends the %s (%s=done)",
		         dr_pam_value_name(sk->value), e->level > 0 ? "substack" : "stack",
		         dr_pam_value_name(sk->value));
	/* Where pam_vendor must go: before the service file's line that brings the skipping
	 * line in, or before the line itself when both come from the same place. */
	if (e->top_line != v->top_line)
		snprintf(before, sizeof(before), "line %u of %.1000s", e->top_line,
		         d->pam->service_file);
	else
		snprintf(before, sizeof(before), "line %u of %.1000s", e->line, e->file);
	snprintf(id, sizeof(id), "pam.%s.skipped", dr_pam_type_name(type));
	snprintf(fix, sizeof(fix),
	         "move the pam_vendor.so line (%.1000s line %u) above %s, as in %s", v->file,
	         v->line, before, d->service->example);
	dr_finding(
	    d, DR_ERROR, id, fix,
	    "%s line %u (%s) comes before pam_vendor.so (%s line %u) in the %s stack and can "
	    "skip it: %s",
	    e->file, e->line, e->text, v->file, v->line, dr_pam_type_name(type), how);
}

static void report_control(struct doctor *d, enum dr_pam_type type, const struct dr_pam_entry *v,
                           int value)
{
	char id[64];
	char fix[1024];

	snprintf(id, sizeof(id), "pam.%s.control", dr_pam_type_name(type));
	snprintf(fix, sizeof(fix), "write the line as \"%s\" (as in %s)", recommended_line(d, type),
	         d->service->example);
	dr_finding(d, DR_ERROR, id, fix,
	           "%s line %u (%s) does not treat a pam_vendor.so failure (%s) as a failure: the "
	           "stack goes on as if the module had not refused",
	           v->file, v->line, v->text, dr_pam_value_name(value));
}

static void check_type(struct doctor *d, enum dr_pam_type type)
{
	const struct dr_pam_stack *s;
	struct skipper first_sk;
	size_t first = 0;
	bool found = false;
	bool first_skipped = false;
	int first_value = 0;
	bool first_weak = false;
	size_t t;

	if (!d->service->calls[type]) {
		dr_skip(d, "service %s makes no PAM %s calls (it calls %s only)", d->opt.service,
		        dr_pam_type_name(type), d->service->calls_text);
		return;
	}
	if (d->pam == NULL) {
		dr_skip(d, "needs the PAM service file (see pam.service)");
		return;
	}
	s = &d->pam->stack[type];
	for (t = 0; t < s->n; t++) {
		struct skipper sk;
		bool skipped;
		bool weak;
		int value = 0;

		if (!s->e[t].vendor)
			continue;
		skipped = find_skipper(s, t, &sk);
		weak = weak_control(&s->e[t], &value);
		if (!skipped && !weak)
			return; /* this one always runs and counts */
		if (!found) {
			found = true;
			first = t;
			first_skipped = skipped;
			first_sk = sk;
			first_weak = weak;
			first_value = value;
		}
	}
	if (!found) {
		report_missing(d, type);
		return;
	}
	if (first_skipped)
		report_skipped(d, type, s, first, &first_sk);
	if (first_weak)
		report_control(d, type, &s->e[first], first_value);
}

/* A command that writes the service file with the recommended line of each stack it calls
 * (for a service without a shipped PAM file). */
static void service_file_command(const struct doctor *d, char *fix, size_t len)
{
	char lines[512] = "";
	size_t used = 0;
	int t;

	for (t = 0; t < DR_PAM_NTYPES; t++) {
		int n;

		if (!d->service->calls[t])
			continue;
		n = snprintf(lines + used, sizeof(lines) - used, " \"%s\"",
		             recommended_line(d, (enum dr_pam_type)t));
		if (n < 0 || (size_t)n >= sizeof(lines) - used)
			break;
		used += (size_t)n;
	}
	snprintf(fix, len, "printf '%%s\\n'%s > %.500s/%.300s (as in %s)", lines, d->opt.pam_dir,
	         d->opt.service, d->service->example);
}

static void check_service(struct doctor *d)
{
	char err[1024];
	char fix[2200];
	int r;

	r = dr_pam_load(d->opt.pam_dir, d->opt.service, &d->pam, err, sizeof(err));
	if (r == PV_NOTFOUND) {
		if (d->service->pam_file != NULL)
			snprintf(fix, sizeof(fix),
			         "install -m 0644 %s %.500s/%.300s (then adapt it)",
			         d->service->pam_file, d->opt.pam_dir, d->opt.service);
		else
			service_file_command(d, fix, sizeof(fix));
		dr_finding(d, DR_ERROR, "pam.service.missing", fix,
		           "%s/%s does not exist: libpam uses %s/other for the %s service, without "
		           "pam_vendor.so",
		           d->opt.pam_dir, d->opt.service, d->opt.pam_dir, d->opt.service);
		return;
	}
	if (r != PV_OK) {
		dr_finding(d, DR_ERROR, "pam.service.unreadable",
		           "check the file's permissions (root must be able to read it)",
		           "cannot read the PAM configuration: %s", err);
		return;
	}
	if (d->pam->include_problem[0] != '\0')
		dr_finding(d, DR_ERROR, "pam.include.missing",
		           "create the included file, or correct the include line",
		           "%s: libpam fails every login of this stack", d->pam->include_problem);
}

static void check_auth(struct doctor *d)
{
	check_type(d, DR_PAM_AUTH);
}

static void check_account(struct doctor *d)
{
	check_type(d, DR_PAM_ACCOUNT);
}

static void check_session(struct doctor *d)
{
	check_type(d, DR_PAM_SESSION);
}

/* The group given as vendor_group= in args ("" when none), at most len - 1 characters. */
static void module_group_arg(const char *args, char *group, size_t len)
{
	char copy[sizeof(((struct dr_pam_entry *)0)->args)];
	char *save = NULL;
	char *tok;

	group[0] = '\0';
	snprintf(copy, sizeof(copy), "%s", args);
	for (tok = strtok_r(copy, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save))
		if (strncmp(tok, "vendor_group=", 13) == 0)
			snprintf(group, len, "%s", tok + 13);
}

/* Each pam_vendor.so line names the configuration's vendor_group as vendor_group=: it is what
 * still tells vendors from admins when pam_vendor.conf cannot be trusted. Without it (and
 * without a readable configuration) the module can only deny everyone. */
static void check_group_arg(struct doctor *d)
{
	const char *want = d->have_config ? d->ctl->cfg.vendor_group : "";
	char fix[3000];
	char group[256];
	int t;

	if (d->pam == NULL) {
		dr_skip(d, "needs the PAM service file (see pam.service)");
		return;
	}
	for (t = 0; t < DR_PAM_NTYPES; t++) {
		const struct dr_pam_stack *s = &d->pam->stack[t];
		size_t i;

		for (i = 0; i < s->n; i++) {
			const struct dr_pam_entry *e = &s->e[i];

			if (!e->vendor)
				continue;
			module_group_arg(e->args, group, sizeof(group));
			if (group[0] != '\0' && want[0] != '\0' && strcmp(group, want) != 0) {
				snprintf(fix, sizeof(fix),
				         "write vendor_group=%.255s on %.1000s line %u", want,
				         e->file, e->line);
				dr_finding(
				    d, DR_ERROR, "pam.vendor_group.differs", fix,
				    "%s line %u names vendor_group=%s but %s says vendor_group = "
				    "%s: the module and the configuration disagree on who is a "
				    "vendor",
				    e->file, e->line, group, d->ctl->config_path, want);
			} else if (group[0] == '\0') {
				if (want[0] != '\0')
					snprintf(
					    fix, sizeof(fix),
					    "add vendor_group=%.255s to %.1000s line %u, as in %s",
					    want, e->file, e->line, d->service->example);
				else
					snprintf(fix, sizeof(fix),
					         "groupadd vendors, make every vendor account a "
					         "member, set "
					         "vendor_group = vendors in %.1000s and add "
					         "vendor_group=vendors to %.1000s line %u",
					         d->ctl->config_path, e->file, e->line);
				dr_finding(
				    d, DR_WARNING, "pam.vendor_group.missing", fix,
				    "%s line %u (%s) has no vendor_group= argument: if %s ever "
				    "becomes unreadable or unsafe, the module cannot tell vendors "
				    "from admins and denies every user of the stack",
				    e->file, e->line, e->text, d->ctl->config_path);
			}
		}
	}
}

const struct dr_check dr_pam_checks[] = {
    {"pam.service", check_service},        {"pam.auth", check_auth},
    {"pam.account", check_account},        {"pam.session", check_session},
    {"pam.vendor_group", check_group_arg}, {NULL, NULL},
};

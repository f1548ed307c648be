/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_schedule.c — can a vendor have work run outside its windows (otpctl doctor)? For
 * each vendor: crontab(1) or at(1) would take its jobs, a crontab or at job exists, linger is
 * on (deferred.c), and the cron and atd PAM services lack a pam_access.so line refusing it. */
#include "doctor.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "accounts.h"
#include "deferred.h"
#include "doctor_pamconf.h"

#define ACCESS_FILE    "/etc/security/access-vendors.conf"
#define ACCESS_EXAMPLE DR_EXAMPLE("security/access-vendors.conf")
#define MAX_GROUPS     256

/* --- what the account itself may do or has left (deferred.c) --- */

static void report_kind(struct doctor *d, enum dfr_kind kind)
{
	const struct dfr_paths paths = {d->opt.etc_dir, d->opt.spool_dir, d->opt.linger_dir};
	struct dfr_way ways[DFR_NKINDS];
	struct pv_err err;
	char id[128];
	size_t n;
	size_t i;
	size_t j;

	if (!d->have_vendors) {
		dr_skip(d, "needs the vendor list (see files.store)");
		return;
	}
	for (i = 0; i < d->n_vendors; i++) {
		const char *name = d->vendors[i].name;

		snprintf(id, sizeof(id), "vendor.%s.%s", name, dfr_kind_name(kind));
		if (dfr_find(&paths, name, 1u << kind, ways, &n, &err) != PV_OK) {
			dr_finding(d, DR_ERROR, id, "check the file's permissions and type",
			           "cannot check whether vendor %s can schedule work: %s", name,
			           err.msg);
			continue;
		}
		for (j = 0; j < n; j++)
			dr_finding(d, DR_ERROR, id, ways[j].fix, "%s", ways[j].what);
	}
}

static void check_cron_allowed(struct doctor *d)
{
	report_kind(d, DFR_CRON_ALLOWED);
}

static void check_at_allowed(struct doctor *d)
{
	report_kind(d, DFR_AT_ALLOWED);
}

static void check_crontab(struct doctor *d)
{
	report_kind(d, DFR_CRONTAB);
}

static void check_at_jobs(struct doctor *d)
{
	report_kind(d, DFR_AT_JOBS);
}

static void check_linger(struct doctor *d)
{
	report_kind(d, DFR_LINGER);
}

/* --- pam_access.so in the account stack of cron and atd --- */

/* pam_access's answer for one token or list: three-valued, since netgroups and host patterns
 * are not evaluated here (MAYBE). */
enum tri { NO = 0, YES = 1, MAYBE = 2 };

/* The first pam_access.so line of the account stack and how it reads the access file. */
struct guard {
	const struct dr_pam_entry *entry;
	char accessfile[1024];
	char fieldsep[64];
	char listsep[64];
	bool nodefgroup;
};

/* Who is matched: the vendor's name, group ids, and the origin pam_access sees: cron sets
 * PAM_TTY to "cron"; atd sets neither tty nor host, so pam_access uses the service name. */
struct subject {
	const char *name;
	gid_t gids[MAX_GROUPS];
	int n_gids;
	const char *origin;
};

static bool in_group(const struct subject *s, const char *group)
{
	struct pv_err err;
	gid_t gid;
	int i;

	if (pv_group_id(group, &gid, &err) != PV_OK)
		return false;
	for (i = 0; i < s->n_gids; i++)
		if (s->gids[i] == gid)
			return true;
	return false;
}

/* pam_access's user_match. */
static enum tri user_token(const struct subject *s, const struct guard *g, const char *tok)
{
	size_t len = strlen(tok);
	char group[256];

	if (tok[0] == '(' && tok[len - 1] == ')') {
		if (len < 3 || len - 2 >= sizeof(group))
			return NO;
		memcpy(group, tok + 1, len - 2);
		group[len - 2] = '\0';
		return in_group(s, group) ? YES : NO;
	}
	if (strchr(tok + strspn(tok, "@"), '@') != NULL || tok[0] == '@')
		return MAYBE; /* user@host, netgroup */
	if (strcasecmp(tok, "ALL") == 0 || strcasecmp(tok, s->name) == 0)
		return YES;
	return !g->nodefgroup && in_group(s, tok) ? YES : NO;
}

/* pam_access's from_match for a local origin (no PAM_RHOST). */
static enum tri origin_token(const struct subject *s, const char *tok)
{
	if (strcasecmp(tok, "ALL") == 0 || strcasecmp(tok, "LOCAL") == 0 ||
	    strcasecmp(tok, s->origin) == 0)
		return YES;
	if (tok[0] == '@')
		return MAYBE;
	return NO;
}

/* pam_access's list_match: the first token that matches, unless the EXCEPT list after it
 * matches too. */
static enum tri list_match(const struct subject *s, const struct guard *g, char **save, char *list,
                           bool users)
{
	enum tri match = NO;
	enum tri except;
	char *tok;

	for (tok = strtok_r(list, g->listsep, save); tok != NULL;
	     tok = strtok_r(NULL, g->listsep, save)) {
		enum tri m;

		if (strcasecmp(tok, "EXCEPT") == 0)
			break;
		m = users ? user_token(s, g, tok) : origin_token(s, tok);
		if (m == YES) {
			match = YES;
			break;
		}
		if (m == MAYBE)
			match = MAYBE;
	}
	if (match == NO)
		return NO;
	while (tok != NULL && strcasecmp(tok, "EXCEPT") != 0)
		tok = strtok_r(NULL, g->listsep, save);
	if (tok == NULL)
		return match;
	except = list_match(s, g, save, NULL, users);
	if (except == YES)
		return NO;
	return except == MAYBE ? MAYBE : match;
}

enum verdict { REFUSED, NO_RULE, LET_THROUGH, MAY_LET_THROUGH, UNREADABLE };

/* Read the access file as pam_access does: the first line whose users and origins both match
 * decides ('-' refuses); no line: allowed. Lines without a newline, comments ('#' first),
 * blank lines and malformed lines are skipped. *lineno: the deciding line. */
static enum verdict evaluate(const struct guard *g, const struct subject *s, unsigned *lineno,
                             int *errnum)
{
	char line[8192];
	enum verdict v = NO_RULE;
	FILE *f;

	*lineno = 0;
	f = fopen(g->accessfile, "re");
	if (f == NULL) {
		*errnum = errno;
		return UNREADABLE;
	}
	while (v == NO_RULE && fgets(line, sizeof(line), f) != NULL) {
		size_t end = strlen(line);
		char *save = NULL;
		char *perm;
		char *users;
		char *origins;
		enum tri u;
		enum tri o;

		(*lineno)++;
		if (end == 0 || line[end - 1] != '\n' || line[0] == '#')
			continue;
		while (end > 0 && isspace((unsigned char)line[end - 1]))
			line[--end] = '\0';
		perm = strtok_r(line, g->fieldsep, &save);
		users = perm != NULL ? strtok_r(NULL, g->fieldsep, &save) : NULL;
		origins = users != NULL ? strtok_r(NULL, "\n", &save) : NULL;
		if (origins == NULL || (perm[0] != '+' && perm[0] != '-'))
			continue;
		save = NULL;
		u = list_match(s, g, &save, users, true);
		save = NULL;
		o = u == NO ? NO : list_match(s, g, &save, origins, false);
		if (u == NO || o == NO)
			continue;
		if (perm[0] == '+')
			v = (u == YES && o == YES) ? LET_THROUGH : MAY_LET_THROUGH;
		else if (u == YES && o == YES)
			v = REFUSED;
		/* A '-' line that may not match proves nothing: read on. */
	}
	if (ferror(f)) {
		*errnum = errno;
		v = UNREADABLE;
	}
	fclose(f);
	return v;
}

static bool is_pam_access(const struct dr_pam_entry *e)
{
	const char *module = strrchr(e->text, ' ');
	const char *base;

	if (module == NULL || e->must_fail || e->substack)
		return false;
	base = strrchr(module, '/');
	return strcmp(base != NULL ? base + 1 : module + 1, "pam_access.so") == 0;
}

static void read_guard_args(struct guard *g)
{
	char args[sizeof(g->entry->args)];
	char *save = NULL;
	char *tok;

	snprintf(g->accessfile, sizeof(g->accessfile), "/etc/security/access.conf");
	snprintf(g->fieldsep, sizeof(g->fieldsep), ":");
	snprintf(g->listsep, sizeof(g->listsep), ", \t");
	g->nodefgroup = false;
	snprintf(args, sizeof(args), "%s", g->entry->args);
	for (tok = strtok_r(args, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		if (strncmp(tok, "accessfile=", 11) == 0)
			snprintf(g->accessfile, sizeof(g->accessfile), "%s", tok + 11);
		else if (strncmp(tok, "fieldsep=", 9) == 0 && tok[9] != '\0')
			snprintf(g->fieldsep, sizeof(g->fieldsep), "%s", tok + 9);
		else if (strncmp(tok, "listsep=", 8) == 0 && tok[8] != '\0')
			snprintf(g->listsep, sizeof(g->listsep), "%s", tok + 8);
		else if (strcmp(tok, "nodefgroup") == 0)
			g->nodefgroup = true;
	}
}

/* An earlier line of the account stack that can end it or jump (the doctor does not follow
 * jumps here: the pam_access.so line must come before any such line, as in the example). */
static const struct dr_pam_entry *skipper(const struct dr_pam_stack *s, size_t t)
{
	size_t i;
	int v;

	for (i = 0; i < t; i++) {
		if (s->e[i].substack || s->e[i].must_fail)
			continue;
		for (v = 0; v < _PAM_RETURN_VALUES; v++)
			if (s->e[i].actions[v] > 0 ||
			    (s->e[i].actions[v] == DR_ACT_DONE && v == PAM_SUCCESS))
				return &s->e[i];
	}
	return NULL;
}

static bool weak(const struct dr_pam_entry *e)
{
	int a = e->actions[PAM_PERM_DENIED];

	return a == DR_ACT_IGNORE || a == DR_ACT_RESET || a > 0;
}

/* The rule that refuses this vendor: its group's when it is in vendor_group, else its name. */
static void refusal_rule(const struct doctor *d, const struct subject *s, const struct guard *g,
                         char *rule, size_t len)
{
	const char *group = d->ctl->cfg.vendor_group;

	if (d->have_config && group[0] != '\0' && in_group(s, group))
		snprintf(rule, len, "- %c (%s) %c ALL", g->fieldsep[0], group, g->fieldsep[0]);
	else
		snprintf(rule, len, "- %c %s %c ALL", g->fieldsep[0], s->name, g->fieldsep[0]);
}

/* No usable pam_access.so line: the fix creates the access file (pam_access aborts every
 * user's jobs while it is missing) and adds the line before the first account line. */
static void fix_add_line(const struct doctor *d, const struct subject *s, const char *service,
                         char *fix, size_t len)
{
	struct guard g = {.fieldsep = ":"};
	struct stat st;
	char rule[256];
	int n = 0;

	refusal_rule(d, s, &g, rule, sizeof(rule));
	if (stat(ACCESS_FILE, &st) != 0)
		n = snprintf(fix, len, "echo '%s' > %s && ", rule, ACCESS_FILE);
	if (n < 0 || (size_t)n >= len)
		n = 0;
	snprintf(fix + n, len - (size_t)n,
	         "sed -i '/^@include common-account/i account required pam_access.so "
	         "accessfile=%s' %s/%s",
	         ACCESS_FILE, d->opt.pam_dir, service);
}

static void report_guard_problem(struct doctor *d, const struct subject *s, const char *service,
                                 const struct dr_pam *pam, const struct guard *g)
{
	const struct dr_pam_stack *st = &pam->stack[DR_PAM_ACCOUNT];
	const struct dr_pam_entry *sk = NULL;
	char id[128];
	char fix[1536];

	snprintf(id, sizeof(id), "vendor.%s.%s_pam", s->name, service);
	fix_add_line(d, s, service, fix, sizeof(fix));
	if (g->entry == NULL) {
		dr_finding(d, DR_ERROR, id, fix,
		           "%s has no pam_access.so line in its account stack: %s runs the jobs of "
		           "vendor %s that exist (queued before, or by root) outside any window",
		           pam->service_file, service, s->name);
		return;
	}
	sk = skipper(st, (size_t)(g->entry - st->e));
	if (sk != NULL) {
		dr_finding(d, DR_ERROR, id, fix,
		           "%s line %u (%s) comes before pam_access.so (%s line %u) in the account "
		           "stack and can end it or jump over it, so it may never refuse vendor %s",
		           sk->file, sk->line, sk->text, g->entry->file, g->entry->line, s->name);
		return;
	}
	snprintf(fix, sizeof(fix), "write the line as \"account required pam_access.so %s\"",
	         g->entry->args);
	dr_finding(d, DR_ERROR, id, fix,
	           "%s line %u (%s) does not treat a pam_access.so refusal as a failure, so it "
	           "never refuses vendor %s",
	           g->entry->file, g->entry->line, g->entry->text, s->name);
}

static void report_verdict(struct doctor *d, const struct subject *s, const char *service,
                           const struct guard *g, enum verdict v, unsigned lineno, int errnum)
{
	struct stat st;
	char id[128];
	char rule[256];
	char fix[1536];
	char why[1280];

	snprintf(id, sizeof(id), "vendor.%s.%s_pam", s->name, service);
	refusal_rule(d, s, g, rule, sizeof(rule));
	if (v == UNREADABLE) {
		dr_finding(d, DR_ERROR, id, "check the file's permissions and type",
		           "cannot read %s (named by %s line %u): %s", g->accessfile,
		           g->entry->file, g->entry->line, strerror(errnum));
		return;
	}
	if (v == NO_RULE)
		snprintf(why, sizeof(why), "no line of %s refuses it", g->accessfile);
	else
		snprintf(why, sizeof(why), "%s line %u %s it through before any line refuses it",
		         g->accessfile, lineno, v == LET_THROUGH ? "lets" : "may let");
	/* pam_access stops at the first line that matches: the refusal goes first (sed cannot
	 * insert into an empty file). */
	if (stat(g->accessfile, &st) == 0 && st.st_size > 0)
		snprintf(fix, sizeof(fix), "sed -i '1i %s' %s", rule, g->accessfile);
	else
		snprintf(fix, sizeof(fix), "echo '%s' >> %s", rule, g->accessfile);
	dr_finding(d, DR_ERROR, id, fix,
	           "pam_access.so in the account stack of %s (%s line %u) lets vendor %s through: "
	           "%s, so %s runs its jobs outside any window",
	           service, g->entry->file, g->entry->line, s->name, why, service);
}

/* pam_access.so needs its access file: when it is missing, the module aborts every user's
 * jobs (root's too). */
static bool access_file_missing(struct doctor *d, const char *service, const struct guard *g)
{
	struct stat st;
	char id[64];
	char fix[1200];

	if (stat(g->accessfile, &st) == 0 || errno != ENOENT)
		return false; /* another error: the vendors' checks say it */
	snprintf(id, sizeof(id), "pam.%s.access_file", service);
	snprintf(fix, sizeof(fix), "install -m 0644 %s %s (then set vendor_group in it)",
	         ACCESS_EXAMPLE, g->accessfile);
	dr_finding(d, DR_ERROR, id, fix,
	           "%s (named by %s line %u) does not exist: pam_access.so aborts the jobs of "
	           "every user, root included",
	           g->accessfile, g->entry->file, g->entry->line);
	return true;
}

static bool subject_init(struct subject *s, const char *name, const char *service)
{
	struct pv_account acct;
	struct pv_err err;

	s->name = name;
	s->origin = strcmp(service, "cron") == 0 ? "cron" : service;
	s->n_gids = MAX_GROUPS;
	if (pv_account_lookup(name, &acct, &err) != PV_OK)
		return false; /* no account: nothing can run as it (vendor.accounts says so) */
	if (getgrouplist(name, acct.gid, s->gids, &s->n_gids) < 0)
		s->n_gids = MAX_GROUPS;
	return true;
}

static void check_service(struct doctor *d, const char *service)
{
	struct dr_pam *pam = NULL;
	struct guard g;
	char err[1024];
	size_t i;
	int r;

	if (!d->have_vendors) {
		dr_skip(d, "needs the vendor list (see files.store)");
		return;
	}
	r = dr_pam_load(d->opt.pam_dir, service, &pam, err, sizeof(err));
	if (r == PV_NOTFOUND) {
		dr_skip(d, "%s/%s does not exist: %s is not installed", d->opt.pam_dir, service,
		        service);
		return;
	}
	if (r != PV_OK) {
		char id[64];

		snprintf(id, sizeof(id), "pam.%s.unreadable", service);
		dr_finding(d, DR_ERROR, id, "check the file's permissions (root must read it)",
		           "cannot read the PAM configuration of %s: %s", service, err);
		return;
	}
	memset(&g, 0, sizeof(g));
	for (i = 0; i < pam->stack[DR_PAM_ACCOUNT].n && g.entry == NULL; i++)
		if (is_pam_access(&pam->stack[DR_PAM_ACCOUNT].e[i]))
			g.entry = &pam->stack[DR_PAM_ACCOUNT].e[i];
	if (g.entry != NULL)
		read_guard_args(&g);
	if (g.entry != NULL && access_file_missing(d, service, &g))
		goto out; /* every job is refused: no vendor gets through */
	for (i = 0; i < d->n_vendors; i++) {
		struct subject s;
		enum verdict v;
		unsigned lineno;
		int errnum = 0;

		if (!subject_init(&s, d->vendors[i].name, service))
			continue;
		if (g.entry == NULL ||
		    skipper(&pam->stack[DR_PAM_ACCOUNT],
		            (size_t)(g.entry - pam->stack[DR_PAM_ACCOUNT].e)) ||
		    weak(g.entry)) {
			report_guard_problem(d, &s, service, pam, &g);
			continue;
		}
		v = evaluate(&g, &s, &lineno, &errnum);
		if (v != REFUSED)
			report_verdict(d, &s, service, &g, v, lineno, errnum);
	}
out:
	dr_pam_free(pam);
}

static void check_cron_pam(struct doctor *d)
{
	check_service(d, "cron");
}

static void check_atd_pam(struct doctor *d)
{
	check_service(d, "atd");
}

const struct dr_check dr_sched_checks[] = {
    {"schedule.cron_allowed", check_cron_allowed},
    {"schedule.at_allowed", check_at_allowed},
    {"schedule.crontab", check_crontab},
    {"schedule.at_jobs", check_at_jobs},
    {"schedule.linger", check_linger},
    {"schedule.cron_pam", check_cron_pam},
    {"schedule.atd_pam", check_atd_pam},
    {NULL, NULL},
};

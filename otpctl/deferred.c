/* SPDX-License-Identifier: BSD-3-Clause */
/* deferred.c — can an account have work run later, outside its vendor's windows? The rules of
 * Debian 12's crontab(1) (cron 3.0pl1) and at(1) (at 3.2.5) for their allow/deny files, the
 * crontab and at jobs already queued for it, and systemd's linger file. Only reads. */
#include "deferred.h"
#include "accounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_GROUPS 256
#define MAX_JOBS   32 /* at jobs named in one message; more are counted */

const struct dfr_paths dfr_debian_paths = {
    .etc_dir = "/etc",
    .spool_dir = "/var/spool/cron",
    .linger_dir = "/var/lib/systemd/linger",
};

static const char *const kind_names[DFR_NKINDS] = {
    "cron_allowed", "at_allowed", "crontab", "at_job", "linger",
};

const char *dfr_kind_name(enum dfr_kind kind)
{
	return kind < DFR_NKINDS ? kind_names[kind] : "unknown";
}

/* A path to look at: refused when it does not fit (a cut path would name another file). */
static int path_of(char *buf, size_t len, struct pv_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int path_of(char *buf, size_t len, struct pv_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		pv_err_set(err, "a path is too long: %.200s...", buf);
		return PV_ERR;
	}
	return PV_OK;
}

struct account {
	bool exists;
	const char *name;
	struct pv_account ids;
};

/* The identity that opens an allow/deny file, for the kernel's permission check: crontab(1)
 * runs as the user with group crontab (setgid), at(1) as user daemon (setuid, setgid daemon);
 * both keep the user's supplementary groups. ACLs are not looked at. */
struct opener {
	uid_t uid;
	gid_t gids[MAX_GROUPS + 1];
	int n_gids;
};

static void opener_init(struct opener *o, uid_t uid, gid_t gid, const struct account *acct)
{
	int count = MAX_GROUPS;

	o->uid = uid;
	o->gids[0] = gid;
	o->n_gids = 1;
	if (!acct->exists)
		return;
	if (getgrouplist(acct->name, acct->ids.gid, o->gids + 1, &count) < 0)
		count = MAX_GROUPS; /* more than we keep: the first ones count */
	o->n_gids += count;
}

/* A system group's or user's ids; (id_t)-1 when there is none, which no file has. */
static gid_t group_id(const char *group)
{
	struct pv_err err;
	gid_t gid;

	return pv_group_id(group, &gid, &err) == PV_OK ? gid : (gid_t)-1;
}

static void user_ids(const char *user, uid_t *uid, gid_t *gid)
{
	struct pv_account ids;
	struct pv_err err;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (pv_account_lookup(user, &ids, &err) != PV_OK)
		return;
	*uid = ids.uid;
	*gid = ids.gid;
}

static bool readable_by(const struct stat *st, const struct opener *o)
{
	int i;

	if (st->st_uid == o->uid)
		return (st->st_mode & S_IRUSR) != 0;
	for (i = 0; i < o->n_gids; i++)
		if (st->st_gid == o->gids[i])
			return (st->st_mode & S_IRGRP) != 0;
	return (st->st_mode & S_IROTH) != 0;
}

enum list_state { LIST_ABSENT, LIST_UNREADABLE, LIST_OMITS, LIST_LISTS };

struct list_file {
	char path[4096];
	enum list_state state;
	bool ends_open; /* not empty, and the last line has no newline */
};

/* Does the allow/deny file list name, as the tool reads it? Both compare whole lines exactly
 * (no trimming, no comments); Debian's crontab also drops the last character of a final line
 * that has no newline (it assumes one), so that "acme" without a newline lists "acm". */
static int list_lookup(const char *dir, const char *file, const char *name, bool crontab_rules,
                       const struct opener *o, struct list_file *lf, struct pv_err *err)
{
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int rc = PV_ERR;

	lf->ends_open = false;
	if (path_of(lf->path, sizeof(lf->path), err, "%s/%s", dir, file) != PV_OK)
		return PV_ERR;
	if (stat(lf->path, &st) != 0) {
		if (errno != ENOENT) {
			pv_err_errno(err, errno, "cannot read %s", lf->path);
			return PV_ERR;
		}
		lf->state = LIST_ABSENT;
		return PV_OK;
	}
	if (!readable_by(&st, o)) {
		lf->state = LIST_UNREADABLE;
		return PV_OK;
	}
	f = fopen(lf->path, "re");
	if (f == NULL) {
		pv_err_errno(err, errno, "cannot read %s", lf->path);
		return PV_ERR;
	}
	lf->state = LIST_OMITS;
	while ((len = getline(&line, &cap, f)) > 0) {
		lf->ends_open = line[len - 1] != '\n';
		if (!lf->ends_open || crontab_rules)
			line[len - 1] = '\0';
		if (strcmp(line, name) == 0) {
			lf->state = LIST_LISTS;
			break;
		}
	}
	if (ferror(f)) {
		pv_err_errno(err, errno, "cannot read %s", lf->path);
		goto out;
	}
	rc = PV_OK;
out:
	free(line);
	fclose(f);
	return rc;
}

/* "acme.x" as a sed address: the dot escaped (names are [a-z0-9_.-]). */
static void sed_line_fix(char *fix, size_t len, const char *name, const char *path)
{
	char pattern[128];
	size_t j = 0;
	size_t i;

	for (i = 0; name[i] != '\0' && j + 3 < sizeof(pattern); i++) {
		if (name[i] == '.')
			pattern[j++] = '\\';
		pattern[j++] = name[i];
	}
	pattern[j] = '\0';
	snprintf(fix, len, "sed -i '/^%s$/d' %.400s", pattern, path);
}

/* Append name as a line of its own (after a newline when the last line has none). */
static void append_fix(char *fix, size_t len, const char *name, const struct list_file *lf)
{
	if (lf->state == LIST_ABSENT)
		snprintf(fix, len, "echo %s >> %.400s && chmod 0644 %.400s", name, lf->path,
		         lf->path);
	else if (lf->ends_open)
		snprintf(fix, len, "printf '\\n%s\\n' >> %.400s", name, lf->path);
	else
		snprintf(fix, len, "echo %s >> %.400s", name, lf->path);
}

/* crontab(1): cron.allow, when it exists, decides alone (unreadable: nobody); otherwise
 * cron.deny (unreadable: nobody); with neither, Debian lets every user. */
static int cron_allowed(const struct dfr_paths *p, const char *name, const struct account *acct,
                        struct dfr_way *way, bool *found, struct pv_err *err)
{
	struct list_file allow;
	struct list_file deny;
	struct opener o;

	opener_init(&o, acct->exists ? acct->ids.uid : (uid_t)-1, group_id("crontab"), acct);
	if (list_lookup(p->etc_dir, "cron.allow", name, true, &o, &allow, err) != PV_OK)
		return PV_ERR;
	if (allow.state != LIST_ABSENT) {
		*found = allow.state == LIST_LISTS;
		snprintf(way->what, sizeof(way->what), "%s may install a crontab: %.400s lists it",
		         name, allow.path);
		sed_line_fix(way->fix, sizeof(way->fix), name, allow.path);
		return PV_OK;
	}
	if (list_lookup(p->etc_dir, "cron.deny", name, true, &o, &deny, err) != PV_OK)
		return PV_ERR;
	*found = deny.state == LIST_ABSENT || deny.state == LIST_OMITS;
	if (deny.state == LIST_ABSENT)
		snprintf(way->what, sizeof(way->what),
		         "%s may install a crontab: neither %.400s nor %.400s exists, and Debian's "
		         "crontab "
		         "then lets every user",
		         name, allow.path, deny.path);
	else
		snprintf(
		    way->what, sizeof(way->what),
		    "%s may install a crontab: %.400s does not exist and %.400s does not list it",
		    name, allow.path, deny.path);
	append_fix(way->fix, sizeof(way->fix), name, &deny);
	return PV_OK;
}

/* at(1): at.allow when at (as user daemon) can open it; otherwise at.deny; with neither
 * readable, only root. */
static int at_allowed(const struct dfr_paths *p, const char *name, const struct account *acct,
                      struct dfr_way *way, bool *found, struct pv_err *err)
{
	struct list_file allow;
	struct list_file deny;
	struct opener o;
	uid_t daemon_uid;
	gid_t daemon_gid;

	user_ids("daemon", &daemon_uid, &daemon_gid);
	opener_init(&o, daemon_uid, daemon_gid, acct);
	if (list_lookup(p->etc_dir, "at.allow", name, false, &o, &allow, err) != PV_OK)
		return PV_ERR;
	if (allow.state == LIST_LISTS || allow.state == LIST_OMITS) {
		*found = allow.state == LIST_LISTS;
		snprintf(way->what, sizeof(way->what), "%s may queue at jobs: %.400s lists it",
		         name, allow.path);
		sed_line_fix(way->fix, sizeof(way->fix), name, allow.path);
		return PV_OK;
	}
	if (list_lookup(p->etc_dir, "at.deny", name, false, &o, &deny, err) != PV_OK)
		return PV_ERR;
	*found = deny.state == LIST_OMITS;
	snprintf(way->what, sizeof(way->what),
	         "%s may queue at jobs: %.400s %s and %.400s does not list it", name, allow.path,
	         allow.state == LIST_ABSENT ? "does not exist"
	                                    : "cannot be read by at (user daemon)",
	         deny.path);
	append_fix(way->fix, sizeof(way->fix), name, &deny);
	return PV_OK;
}

static bool is_debian_path(const char *dir, const char *debian_dir)
{
	return strcmp(dir, debian_dir) == 0;
}

static int crontab_exists(const struct dfr_paths *p, const char *name, const struct account *acct,
                          struct dfr_way *way, bool *found, struct pv_err *err)
{
	struct dfr_way allowed_way;
	char path[4096];
	struct stat st;
	bool allowed = false;

	if (path_of(path, sizeof(path), err, "%s/crontabs/%s", p->spool_dir, name) != PV_OK)
		return PV_ERR;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return PV_OK;
		pv_err_errno(err, errno, "cannot look at %s", path);
		return PV_ERR;
	}
	*found = true;
	snprintf(way->what, sizeof(way->what),
	         "%s has a crontab (%.400s): cron runs it whether or not a window is open", name,
	         path);
	/* crontab(1) knows only the real spool and accounts that exist, and Debian's refuses
	 * "-u NAME", even to root, once cron.allow/cron.deny deny NAME: then remove the file
	 * (cron rereads its spool when the directory changes). */
	if (cron_allowed(p, name, acct, &allowed_way, &allowed, err) != PV_OK)
		return PV_ERR;
	if (acct->exists && allowed && is_debian_path(p->spool_dir, dfr_debian_paths.spool_dir))
		snprintf(way->fix, sizeof(way->fix), "crontab -r -u %s", name);
	else
		snprintf(way->fix, sizeof(way->fix), "rm %.400s", path);
	return PV_OK;
}

/* A job file is named QNNNNNMMMMMMMM: queue letter (or '=' while it runs), job number and
 * start minute in hex; atrm takes the job number in decimal. */
static bool job_number(const char *file, unsigned *number)
{
	char hex[6];
	char *end = NULL;

	if (strlen(file) != 14 || strspn(file + 1, "0123456789abcdef") != 13)
		return false;
	memcpy(hex, file + 1, 5);
	hex[5] = '\0';
	*number = (unsigned)strtoul(hex, &end, 16);
	return end == hex + 5;
}

struct job_list {
	char numbers[MAX_JOBS * 8];
	char files[1024];
	size_t count;
	bool unnumbered; /* a file whose name is not a job's: removed by path */
};

static void add_job(struct job_list *jobs, const char *dir, const char *file)
{
	size_t used;
	unsigned number;

	jobs->count++;
	used = strlen(jobs->files);
	snprintf(jobs->files + used, sizeof(jobs->files) - used, " %s/%s", dir, file);
	if (!job_number(file, &number)) {
		jobs->unnumbered = true;
		return;
	}
	used = strlen(jobs->numbers);
	if (jobs->count <= MAX_JOBS)
		snprintf(jobs->numbers + used, sizeof(jobs->numbers) - used, " %u", number);
}

/* Job files owned by the account's uid: that uid is what atd runs a job as. */
static int at_jobs(const struct dfr_paths *p, const char *name, const struct account *acct,
                   struct dfr_way *way, bool *found, struct pv_err *err)
{
	struct job_list jobs;
	struct dirent *de;
	struct stat st;
	char dir[4096];
	DIR *d;

	if (!acct->exists)
		return PV_OK; /* no uid: no job can be its */
	if (path_of(dir, sizeof(dir), err, "%s/atjobs", p->spool_dir) != PV_OK)
		return PV_ERR;
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return PV_OK; /* at is not installed */
		pv_err_errno(err, errno, "cannot list %s", dir);
		return PV_ERR;
	}
	memset(&jobs, 0, sizeof(jobs));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue; /* ., .. and at's .SEQ */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != acct->ids.uid)
			continue;
		add_job(&jobs, dir, de->d_name);
	}
	closedir(d);
	if (jobs.count == 0)
		return PV_OK;
	*found = true;
	snprintf(way->what, sizeof(way->what),
	         "%s has %zu at job%s queued (%.700s): atd runs them whether or not a window is "
	         "open",
	         name, jobs.count, jobs.count == 1 ? "" : "s", jobs.files + 1);
	if (!jobs.unnumbered && jobs.count <= MAX_JOBS &&
	    is_debian_path(p->spool_dir, dfr_debian_paths.spool_dir))
		snprintf(way->fix, sizeof(way->fix), "atrm%s", jobs.numbers);
	else
		snprintf(way->fix, sizeof(way->fix), "rm%.700s", jobs.files);
	return PV_OK;
}

static int linger_on(const struct dfr_paths *p, const char *name, struct dfr_way *way, bool *found,
                     struct pv_err *err)
{
	char path[4096];
	struct stat st;

	if (path_of(path, sizeof(path), err, "%s/%s", p->linger_dir, name) != PV_OK)
		return PV_ERR;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return PV_OK;
		pv_err_errno(err, errno, "cannot look at %s", path);
		return PV_ERR;
	}
	*found = true;
	snprintf(
	    way->what, sizeof(way->what),
	    "%s has linger enabled (%.400s): systemd starts its user manager at boot and keeps "
	    "it, with its timers and services, outside any window",
	    name, path);
	/* loginctl asks logind, which runs only when systemd is the init system; without it
	 * the file is what logind reads at the next boot. */
	if (is_debian_path(p->linger_dir, dfr_debian_paths.linger_dir) &&
	    access("/run/systemd/system", F_OK) == 0)
		snprintf(way->fix, sizeof(way->fix), "loginctl disable-linger %s", name);
	else
		snprintf(way->fix, sizeof(way->fix), "rm %.400s", path);
	return PV_OK;
}

static int find_kind(const struct dfr_paths *p, const char *name, const struct account *acct,
                     enum dfr_kind kind, struct dfr_way *way, bool *found, struct pv_err *err)
{
	*found = false;
	way->kind = kind;
	way->what[0] = '\0';
	way->fix[0] = '\0';
	switch (kind) {
	case DFR_CRON_ALLOWED:
		return cron_allowed(p, name, acct, way, found, err);
	case DFR_AT_ALLOWED:
		return at_allowed(p, name, acct, way, found, err);
	case DFR_CRONTAB:
		return crontab_exists(p, name, acct, way, found, err);
	case DFR_AT_JOBS:
		return at_jobs(p, name, acct, way, found, err);
	default:
		return linger_on(p, name, way, found, err);
	}
}

int dfr_find(const struct dfr_paths *paths, const char *name, unsigned kinds,
             struct dfr_way ways[DFR_NKINDS], size_t *n, struct pv_err *err)
{
	struct account *acct;
	unsigned k;
	bool found;
	int r;
	int rc = PV_ERR;

	*n = 0;
	acct = calloc(1, sizeof(*acct));
	if (acct == NULL) {
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	acct->name = name;
	r = pv_account_lookup(name, &acct->ids, err);
	if (r == PV_ERR)
		goto out;
	acct->exists = r == PV_OK;
	for (k = 0; k < DFR_NKINDS; k++) {
		if ((kinds & (1u << k)) == 0)
			continue;
		if (find_kind(paths, name, acct, (enum dfr_kind)k, &ways[*n], &found, err) != PV_OK)
			goto out;
		if (found)
			(*n)++;
	}
	rc = PV_OK;
out:
	free(acct);
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_files.c — the file checks of `otpctl doctor`: configuration, key, store directory
 * (and each vendor record), audit log. Each goes through the core's own functions (safefile,
 * config, keys, store), so the doctor never disagrees with the module; the core's messages
 * already carry the fix ("run: chmod 600 ..."). These checks also load what later checks use:
 * the configuration, the key, the store and the vendor list. */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conninfo.h"
#include "safefile.h"
#include "seen.h"

/* Why the core refused a path, as the last part of a finding id: "missing" (the path or a
 * directory on the way does not exist), "parent" (a directory on the way is unsafe),
 * "symlink", "type", "links", "owner", "mode", else "unusable". */
static const char *problem_kind(const char *path, bool want_dir, bool private_mode)
{
	char base[NAME_MAX + 1];
	struct pv_err err;
	struct stat st;
	const char *kind = "unusable";
	mode_t bad_bits;
	int dirfd;

	dirfd = pv_open_parent(path, false, base, sizeof(base), &err);
	if (dirfd < 0)
		return (lstat(path, &st) != 0 && errno == ENOENT) ? "missing" : "parent";
	bad_bits = private_mode ? (S_IRWXG | S_IRWXO) : (S_IWGRP | S_IWOTH);
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		kind = errno == ENOENT ? "missing" : "unusable";
	else if (S_ISLNK(st.st_mode))
		kind = "symlink";
	else if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		kind = "type";
	else if (!want_dir && st.st_nlink > 1)
		kind = "links";
	else if (st.st_uid != 0)
		kind = "owner";
	else if ((st.st_mode & bad_bits) && !(want_dir && !private_mode && (st.st_mode & S_ISVTX)))
		kind = "mode";
	(void)close(dirfd);
	return kind;
}

/* Open a file through the core's checks (the same walk and tests the module makes). */
static int open_checked(const char *path, enum pv_file_policy policy, bool *missing,
                        struct pv_err *err)
{
	char base[NAME_MAX + 1];
	int dirfd;
	int fd;

	*missing = false;
	dirfd = pv_open_parent(path, false, base, sizeof(base), err);
	if (dirfd < 0)
		return -1;
	fd = pv_open_file_at(dirfd, base, O_RDONLY, policy, path, missing, err);
	(void)close(dirfd);
	return fd;
}

/* A file the core refused: one finding, id "files.WHAT.KIND". The core's message carries
 * the fix for owner and mode problems; the other kinds get theirs here. */
static void report_file(struct doctor *d, const char *what, const char *path, bool want_dir,
                        bool private_mode, const char *msg, const char *missing_fix)
{
	const char *kind = problem_kind(path, want_dir, private_mode);
	char fix[PATH_MAX + 128];
	char id[96];

	if (strcmp(kind, "missing") == 0 && missing_fix != NULL)
		snprintf(fix, sizeof(fix), "%s", missing_fix);
	else if (strcmp(kind, "symlink") == 0)
		snprintf(fix, sizeof(fix),
		         "put the real %s at %s (symbolic links are never followed)",
		         want_dir ? "directory" : "file", path);
	else if (strcmp(kind, "type") == 0)
		snprintf(fix, sizeof(fix), "%s must be a %s", path,
		         want_dir ? "directory" : "regular file");
	else if (strcmp(kind, "links") == 0)
		snprintf(fix, sizeof(fix), "remove its other names (find / -xdev -samefile %s)",
		         path);
	else if (strcmp(kind, "parent") == 0)
		snprintf(fix, sizeof(fix),
		         "make every directory on the way to %s a real directory, root-owned, not "
		         "writable by others",
		         path);
	else
		snprintf(fix, sizeof(fix), "fix what the message names");
	snprintf(id, sizeof(id), "files.%s.%s", what, kind);
	dr_core_finding(d, DR_ERROR, id, msg, fix);
}

static void check_config(struct doctor *d)
{
	const char *path = d->ctl->config_path;
	struct pv_err err;
	bool missing = false;
	char fix[PATH_MAX + 128];
	int fd;

	snprintf(fix, sizeof(fix), "install -D -m 0644 %s %s", DR_EXAMPLE("pam_vendor.conf"), path);
	fd = open_checked(path, PV_FILE_PUBLIC, &missing, &err);
	if (fd < 0) {
		report_file(d, "config", path, false, false, err.msg, fix);
		return;
	}
	(void)close(fd);
	if (pv_config_load(path, &d->ctl->cfg, &err) != PV_OK) {
		dr_core_finding(
		    d, DR_ERROR, "files.config.invalid", err.msg,
		    "correct the line named (every key and its values are described in " DR_EXAMPLE(
		        "pam_vendor.conf") ")");
		return;
	}
	d->have_config = true;
}

static void check_key(struct doctor *d)
{
	const char *path = d->ctl->cfg.key_file;
	struct pv_err err;
	bool missing = false;
	int fd;

	if (!d->have_config) {
		dr_skip(d, "needs the configuration (see files.config)");
		return;
	}
	fd = open_checked(path, PV_FILE_PRIVATE, &missing, &err);
	if (fd < 0) {
		report_file(d, "key", path, false, true, err.msg,
		            "restore the key from its offline copy (on a new installation: otpctl "
		            "init)");
		return;
	}
	(void)close(fd);
	if (pv_keys_load(path, &d->ctl->keys, &err) != PV_OK) {
		dr_core_finding(
		    d, DR_ERROR, "files.key.invalid", err.msg,
		    "restore the key from its offline copy (without it the store cannot "
		    "be read nor the audit log verified)");
		return;
	}
	d->ctl->have_keys = true;
}

/* The vendor's first allowed address: what sshd -T -C is asked about. */
static void first_address(struct doctor *d, struct dr_vendor *v)
{
	struct pv_record *rec;
	struct pv_err err;
	char id[96];

	snprintf(v->addr, sizeof(v->addr), "127.0.0.1");
	if (!d->ctl->have_keys)
		return;
	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		d->out_of_memory = true;
		return;
	}
	if (pv_store_load(d->ctl->store, &d->ctl->keys, v->name, rec, &err) != PV_OK) {
		snprintf(id, sizeof(id), "files.record.%s", v->name);
		dr_core_finding(
		    d, DR_ERROR, id, err.msg,
		    "when the message names a file under serials/, fix that file; for an "
		    "older record put back, restore the newer one; else restore the record "
		    "from a backup, or re-create the vendor (otpctl vendor remove, then "
		    "vendor add)");
	} else if (rec->n_ips > 0) {
		char text[PV_IP_TEXT_MAX];
		char *slash;

		pv_cidr_format(&rec->ips[0], text, sizeof(text));
		slash = strchr(text, '/');
		if (slash != NULL)
			*slash = '\0'; /* a network: its first address */
		snprintf(v->addr, sizeof(v->addr), "%s", text);
	}
	pv_record_wipe(rec);
	free(rec);
}

/* store_dir/serials, this gateway's memory against rolled-back records (core/seen.h): without
 * it every vendor is denied. */
static void check_serials_dir(struct doctor *d)
{
	char path[PATH_MAX];
	char fix[PATH_MAX + 160];
	struct pv_err err;
	int fd;

	snprintf(path, sizeof(path), "%.*s/%s", PATH_MAX - 16, d->ctl->cfg.store_dir, PV_SEEN_DIR);
	fd = pv_open_dir(path, true, &err);
	if (fd >= 0) {
		(void)close(fd);
		return;
	}
	snprintf(fix, sizeof(fix),
	         "install -d -m 0700 %s (this accepts every vendor's current record as first seen)",
	         path);
	report_file(d, "serials", path, true, true, err.msg, fix);
}

static void check_store(struct doctor *d)
{
	char(*names)[PV_NAME_MAX + 1] = NULL;
	char fix[PATH_MAX + 160];
	struct pv_err err;
	size_t n = 0;
	size_t i;

	if (!d->have_config) {
		dr_skip(d, "needs the configuration (see files.config)");
		return;
	}
	if (pv_store_open(&d->ctl->cfg, &d->ctl->store, &err) != PV_OK) {
		if (d->ctl->cfg.store_backend == PV_STORE_POSTGRESQL) {
			snprintf(
			    fix, sizeof(fix),
			    "check pg_conninfo in %.2000s and that the database server answers",
			    d->ctl->config_path);
			dr_core_finding(d, DR_ERROR, "files.store.database", err.msg, fix);
			return;
		}
		snprintf(
		    fix, sizeof(fix),
		    "restore it from a backup, or create it empty: install -d -m 0700 %s (on a "
		    "new installation: otpctl init)",
		    d->ctl->cfg.store_dir);
		report_file(d, "store", d->ctl->cfg.store_dir, true, true, err.msg, fix);
		return;
	}
	check_serials_dir(d);
	if (pv_store_list(d->ctl->store, &names, &n, &err) != PV_OK) {
		/* With the database, the schema is checked with the first statement (the list). */
		dr_core_finding(d, DR_ERROR,
		                pv_store_is_database(d->ctl->store) ? "files.store.database"
		                                                    : "files.store.unreadable",
		                err.msg, "fix what the message names");
		return;
	}
	d->vendors = calloc(n > 0 ? n : 1, sizeof(*d->vendors));
	if (d->vendors == NULL) {
		free(names);
		d->out_of_memory = true;
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(d->vendors[i].name, sizeof(d->vendors[i].name), "%s", names[i]);
		first_address(d, &d->vendors[i]);
	}
	free(names);
	d->n_vendors = n;
	d->have_vendors = true;
}

static void check_audit_log(struct doctor *d)
{
	const char *path = d->ctl->cfg.audit_log;
	char dir[PATH_MAX];
	char fix[PATH_MAX + 64];
	struct pv_err err;
	bool missing = false;
	char *slash;
	int fd;

	if (!d->have_config) {
		dr_skip(d, "needs the configuration (see files.config)");
		return;
	}
	/* The writer's policy (private), which is stricter than the readers'. */
	fd = open_checked(path, PV_FILE_PRIVATE, &missing, &err);
	if (fd >= 0) {
		(void)close(fd);
		return;
	}
	if (missing) { /* its directory is there and safe: the module creates the log */
		dr_finding(
		    d, DR_WARNING, "files.audit_log.missing",
		    "nothing on a new installation (otpctl init, or the first event, creates "
		    "it); if it existed, restore it from a backup",
		    "the audit log %s does not exist", path);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir)
		*slash = '\0';
	snprintf(fix, sizeof(fix), "create its directory: install -d -m 0750 %s", dir);
	report_file(d, "audit_log", path, false, true, err.msg, fix);
}

/* A database link that does not verify the server is refused by the configuration unless
 * pg_allow_unverified_tls = yes; then it still deserves a warning here. */
static void check_database_tls(struct doctor *d)
{
	struct pv_conninfo_link link;
	struct pv_err err;
	char fix[PATH_MAX + 200];

	if (!d->have_config) {
		dr_skip(d, "needs the configuration (see files.config)");
		return;
	}
	if (d->ctl->cfg.pg_conninfo[0] == '\0' ||
	    pv_conninfo_link(d->ctl->cfg.pg_conninfo, &link, &err) != PV_OK ||
	    pv_conninfo_link_verified(&link))
		return;
	snprintf(fix, sizeof(fix),
	         "in %.2000s: add sslmode=verify-full and sslrootcert= (the file holding the "
	         "certificate authority of the database server) to pg_conninfo, then remove the "
	         "pg_allow_unverified_tls line",
	         d->ctl->config_path);
	dr_finding(d, DR_WARNING, "files.database_tls", fix,
	           "pg_conninfo reaches the database %s with sslmode=%s: the server is not "
	           "verified (allowed by pg_allow_unverified_tls = yes), so anyone on the path can "
	           "answer for it",
	           link.from_service ? "through a service file" : "over TCP",
	           link.sslmode[0] ? link.sslmode : "prefer");
}

const struct dr_check dr_files_checks[] = {
    {"files.config", check_config},       {"files.key", check_key},
    {"files.store", check_store},         {"files.database_tls", check_database_tls},
    {"files.audit_log", check_audit_log}, {NULL, NULL},
};

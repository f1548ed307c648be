/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_audit.c — the audit log checks of `otpctl doctor`: the MAC chain is intact (the core's
 * pv_audit_verify, across rotated files and against the head), and the log can be written:
 * its file system is not read-only, has room, and the log and head are not immutable. "No log,
 * no login": when the module cannot append a line, every vendor is denied. Nothing is
 * written. */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "safefile.h"

#define LOW_SPACE_BYTES (10ULL * 1024 * 1024)

/* The fix for a broken chain: keep the evidence, then start a new chain by moving the log
 * aside under a name logrotate does not use (admin guide, "When something is wrong"). */
static void chain_fix(const char *log, char *fix, size_t len)
{
	char today[16] = "today";
	char dir[PATH_MAX];
	char *slash;
	struct tm tm;
	time_t now = time(NULL);

	if (localtime_r(&now, &tm) != NULL)
		(void)strftime(today, sizeof(today), "%Y%m%d", &tm);
	snprintf(dir, sizeof(dir), "%s", log);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir)
		*slash = '\0';
	snprintf(fix, len,
	         "keep the evidence (cp -a %s /root/pam_vendor-evidence-%s), compare it with the "
	         "central syslog copy, then start a new chain: mv %s %s.broken-%s",
	         dir, today, log, log, today);
}

static void check_chain(struct doctor *d)
{
	struct pv_audit_verify_result res;
	struct pv_err err;
	const char *log = d->ctl->cfg.audit_log;
	char fix[3 * PATH_MAX + 256];

	if (!d->have_config || !d->ctl->have_keys) {
		dr_skip(d, "needs the configuration and the key (see files.config, files.key)");
		return;
	}
	if (pv_audit_verify(log, &d->ctl->keys, &res, &err) != PV_OK) {
		dr_core_finding(d, DR_ERROR, "audit.chain", err.msg, "fix what the message names");
		return;
	}
	chain_fix(log, fix, sizeof(fix));
	if (!res.intact)
		dr_finding(d, DR_ERROR, "audit.chain", fix, "the audit log's chain is broken: %s",
		           res.problem);
}

/* The mount point holding path: the highest directory above it on the same device. */
static void mount_point(const char *path, char *out, size_t len)
{
	char dir[PATH_MAX];
	char parent[PATH_MAX];
	struct stat st;
	struct stat up;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &st) != 0) {
		snprintf(out, len, "%s", dir);
		return;
	}
	while (strcmp(dir, "/") != 0 && (slash = strrchr(dir, '/')) != NULL) {
		snprintf(parent, sizeof(parent), "%.*s", slash == dir ? 1 : (int)(slash - dir),
		         dir);
		if (stat(parent, &up) != 0 || up.st_dev != st.st_dev)
			break;
		snprintf(dir, sizeof(dir), "%s", parent);
	}
	snprintf(out, len, "%s", dir);
}

/* An immutable (or, for the head rewritten in place, append-only) file cannot be written. */
static void check_flags(struct doctor *d, int dirfd, const char *name, const char *shown,
                        int bad_flags)
{
	int flags = 0;
	int fd;
	char fix[PATH_MAX + 32];

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return; /* absent, or refused: files.audit_log says so */
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & bad_flags)) {
		snprintf(fix, sizeof(fix), "chattr -i -a %s", shown);
		dr_finding(d, DR_ERROR, "audit.immutable", fix,
		           "%s is marked %s (chattr): appending to the audit log fails and every "
		           "vendor is denied",
		           shown, (flags & FS_IMMUTABLE_FL) ? "immutable" : "append-only");
	}
	(void)close(fd);
}

static void check_writable(struct doctor *d)
{
	const char *log = d->ctl->cfg.audit_log;
	char base[NAME_MAX + 1];
	char head[NAME_MAX + 8];
	char head_shown[PATH_MAX + 8];
	struct statvfs vfs;
	struct pv_err err;
	char mount[PATH_MAX];
	char fix[PATH_MAX + 96];
	unsigned long long free_bytes;
	int dirfd;

	if (!d->have_config) {
		dr_skip(d, "needs the configuration (see files.config)");
		return;
	}
	dirfd = pv_open_parent(log, false, base, sizeof(base), &err);
	if (dirfd < 0) {
		dr_skip(d, "the audit log's directory cannot be used (see files.audit_log)");
		return;
	}
	if (fstatvfs(dirfd, &vfs) != 0) {
		dr_finding(d, DR_WARNING, "audit.space", NULL,
		           "cannot read the file system status of %s's directory: %s", log,
		           strerror(errno));
	} else if (vfs.f_flag & ST_RDONLY) {
		mount_point(log, mount, sizeof(mount));
		snprintf(fix, sizeof(fix),
		         "mount -o remount,rw %s (or set audit_log to a writable file system)",
		         mount);
		dr_finding(d, DR_ERROR, "audit.read_only", fix,
		           "the file system holding %s is mounted read-only: no audit line can be "
		           "written, so every vendor is denied",
		           log);
	} else {
		free_bytes = (unsigned long long)vfs.f_bfree * (unsigned long long)vfs.f_frsize;
		if (free_bytes < LOW_SPACE_BYTES)
			dr_finding(
			    d, DR_WARNING, "audit.space",
			    "free space there (or move audit_log to a larger file system)",
			    "the file system holding %s has %llu KiB free (less than 10 MiB): "
			    "when it is full, every vendor is denied",
			    log, free_bytes / 1024);
	}
	snprintf(head, sizeof(head), "%s.head", base);
	snprintf(head_shown, sizeof(head_shown), "%s.head", log);
	check_flags(d, dirfd, base, log, FS_IMMUTABLE_FL);
	check_flags(d, dirfd, head, head_shown, FS_IMMUTABLE_FL | FS_APPEND_FL);
	(void)close(dirfd);
}

const struct dr_check dr_audit_checks[] = {
    {"audit.chain", check_chain},
    {"audit.writable", check_writable},
    {NULL, NULL},
};

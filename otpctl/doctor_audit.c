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
#include <sys/statvfs.h>
#include <unistd.h>

#include "safefile.h"

#define LOW_SPACE_BYTES (10ULL * 1024 * 1024)

static void check_chain(struct doctor *d)
{
	struct pv_audit_verify_result res;
	struct pv_err err;
	const char *log = d->ctl->cfg.audit_log;

	if (!d->have_config || !d->ctl->have_keys) {
		dr_skip(d, "needs the configuration and the key (see files.config, files.key)");
		return;
	}
	if (pv_audit_verify(log, &d->ctl->keys, &res, &err) != PV_OK) {
		dr_core_finding(d, DR_ERROR, "audit.chain", err.msg, "fix what the message names");
		return;
	}
	if (!res.intact)
		dr_finding(
		    d, DR_ERROR, "audit.chain",
		    "keep the evidence (copy the log files), compare with the central syslog "
		    "copy, then move the log aside (mv LOG LOG.broken-DATE) to start a new "
		    "chain: docs/admin-guide.md, \"When something is wrong\"",
		    "the audit log's chain is broken: %s", res.problem);
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
		dr_finding(
		    d, DR_ERROR, "audit.read_only",
		    "remount it read-write (mount -o remount,rw MOUNTPOINT), or set audit_log "
		    "to a writable file system",
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

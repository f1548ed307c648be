/* SPDX-License-Identifier: BSD-3-Clause */
/* safefile.c — checked, symlink-free, crash-safe file access for the store, key, config and
 * audit log (see safefile.h for the rules every path must pass). */
#include "safefile.h"

#include "lockwait.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OPEN_SAFE (O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)

static void close_keep_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

/* A directory is trustworthy when only root can change what it contains. */
static int check_dir(const struct stat *st, const char *shown, bool private_dir, struct pv_err *err)
{
	if (!S_ISDIR(st->st_mode)) {
		pv_err_set(err, "%s is not a directory", shown);
		return PV_ERR;
	}
	if (st->st_uid != 0) {
		pv_err_set(err, "directory %s is owned by uid %u, not root; run: chown root %s",
		           shown, (unsigned)st->st_uid, shown);
		return PV_ERR;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX)) {
		pv_err_set(
		    err,
		    "directory %s is writable by group or others (mode %04o); run: chmod go-w %s",
		    shown, (unsigned)(st->st_mode & 07777), shown);
		return PV_ERR;
	}
	if (private_dir && (st->st_mode & (S_IRWXG | S_IRWXO))) {
		pv_err_set(
		    err,
		    "directory %s is accessible by group or others (mode %04o); run: chmod 700 %s",
		    shown, (unsigned)(st->st_mode & 07777), shown);
		return PV_ERR;
	}
	return PV_OK;
}

/* Walk the rest of `path` (from p) down from the directory fd, which is `walked` (already
 * checked when *st holds its stat, have_st). Each component: opened without following
 * symlinks, then checked; the last one as private_dir says. Consumes fd when `owned` (else
 * leaves it open: a held directory); returns the final directory's fd with its stat in *st,
 * or -1. */
static int walk_from(int fd, bool owned, char *walked, size_t walked_len, const char *p,
                     const char *path, bool private_dir, struct stat *st, bool have_st,
                     struct pv_err *err)
{
	int next;

	for (;;) {
		char comp[NAME_MAX + 1];
		size_t n;
		bool last;

		if (!have_st && fstat(fd, st) != 0) {
			pv_err_errno(err, errno, "cannot stat %s", walked);
			goto fail;
		}
		have_st = false;
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		last = (p[n] == '\0' || p[n + strspn(p + n, "/")] == '\0');
		if (check_dir(st, walked, private_dir && n == 0, err) != PV_OK)
			goto fail;
		if (n == 0)
			break;
		if (n > NAME_MAX) {
			pv_err_set(err, "a component of %.200s is too long", path);
			goto fail;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (strcmp(comp, "..") == 0 || strcmp(comp, ".") == 0) {
			pv_err_set(err, "path %.200s contains \"%s\"; give a plain absolute path",
			           path, comp);
			goto fail;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | OPEN_SAFE);
		if (next < 0) {
			int e = errno;
			if (e == ELOOP || e == ENOTDIR) {
				struct stat lst;
				if (fstatat(fd, comp, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
				    S_ISLNK(lst.st_mode))
					pv_err_set(
					    err, "%s%s%s is a symbolic link; refusing to follow it",
					    walked, walked_len > 1 ? "/" : "", comp);
				else
					pv_err_set(err, "%s%s%s is not a directory", walked,
					           walked_len > 1 ? "/" : "", comp);
			} else {
				pv_err_errno(err, e, "cannot open directory %s%s%s", walked,
				             walked_len > 1 ? "/" : "", comp);
			}
			goto fail;
		}
		if (owned)
			close(fd);
		owned = true;
		fd = next;
		if (walked_len > 1)
			walked[walked_len++] = '/';
		memcpy(walked + walked_len, comp, n + 1);
		walked_len += n;
		p += n;
		if (last) {
			if (fstat(fd, st) != 0) {
				pv_err_errno(err, errno, "cannot stat %s", walked);
				goto fail;
			}
			if (check_dir(st, walked, private_dir, err) != PV_OK)
				goto fail;
			break;
		}
	}
	return fd;
fail:
	if (owned)
		close_keep_errno(fd);
	return -1;
}

static int check_path(const char *path, struct pv_err *err)
{
	if (path == NULL || path[0] != '/') {
		pv_err_set(err, "path \"%.200s\" is not absolute", path ? path : "");
		return PV_ERR;
	}
	if (strlen(path) >= PATH_MAX) {
		pv_err_set(err, "path \"%.200s...\" is too long", path);
		return PV_ERR;
	}
	return PV_OK;
}

/* The walk from "/"; the final directory's stat in *st. */
static int open_dir_stat(const char *path, bool private_dir, struct stat *st, struct pv_err *err)
{
	char walked[PATH_MAX];
	int fd;

	if (check_path(path, err) != PV_OK)
		return -1;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		pv_err_errno(err, errno, "cannot open /");
		return -1;
	}
	walked[0] = '/';
	walked[1] = '\0';
	return walk_from(fd, true, walked, 1, path, path, private_dir, st, false, err);
}

int pv_open_dir(const char *path, bool private_dir, struct pv_err *err)
{
	struct stat st;

	return open_dir_stat(path, private_dir, &st, err);
}

void pv_dirs_init(struct pv_dirs *dirs)
{
	memset(dirs, 0, sizeof(*dirs));
}

void pv_dirs_close(struct pv_dirs *dirs)
{
	size_t i;

	for (i = 0; i < dirs->n; i++) {
		close(dirs->held[i].fd);
		free(dirs->held[i].path);
	}
	dirs->n = 0;
}

/* The held directory that is `path` itself (*exact) or its deepest held ancestor; NULL. */
static const struct pv_dir_held *held_for(const struct pv_dirs *dirs, const char *path, bool *exact)
{
	const struct pv_dir_held *best = NULL;
	size_t best_len = 0;
	size_t i;

	*exact = false;
	for (i = 0; i < dirs->n; i++) {
		const char *h = dirs->held[i].path;
		size_t len = strlen(h);

		if (strcmp(h, path) == 0) {
			*exact = true;
			return &dirs->held[i];
		}
		if (len > best_len && len > 1 && strncmp(h, path, len) == 0 && path[len] == '/') {
			best = &dirs->held[i];
			best_len = len;
		}
	}
	return best;
}

/* Walk from the deepest held ancestor of path (or "/"); the result is checked exactly as
 * pv_open_dir checks it. */
static int walk_from_held(const struct pv_dir_held *anc, const char *path, bool private_dir,
                          struct stat *st, struct pv_err *err)
{
	char walked[PATH_MAX];
	size_t len;
	int fd;

	if (anc == NULL)
		return open_dir_stat(path, private_dir, st, err);
	len = strlen(anc->path);
	memcpy(walked, anc->path, len + 1);
	/* The ancestor as it is now, not as it was when first held. */
	if (fstat(anc->fd, st) != 0) {
		pv_err_errno(err, errno, "cannot stat %s", anc->path);
		return -1;
	}
	if (check_dir(st, anc->path, false, err) != PV_OK)
		return -1;
	fd = walk_from(anc->fd, false, walked, len, path + len, path, private_dir, st, true, err);
	/* path was the held one with trailing slashes: the caller gets a descriptor of its own */
	if (fd == anc->fd) {
		fd = fcntl(anc->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			pv_err_errno(err, errno, "cannot duplicate the descriptor of %s", path);
	}
	return fd;
}

int pv_dirs_get(struct pv_dirs *dirs, const char *path, bool private_dir, bool *owned,
                struct pv_err *err)
{
	const struct pv_dir_held *h;
	struct pv_dir_held *slot;
	struct stat st;
	bool exact;
	int fd;

	*owned = true;
	if (dirs == NULL)
		return pv_open_dir(path, private_dir, err);
	if (check_path(path, err) != PV_OK)
		return -1;
	h = held_for(dirs, path, &exact);
	if (exact) {
		/* Checked again as it is now (owner and mode may have changed since it was first
		 * held); a private use applies the stricter rule. */
		if (fstat(h->fd, &st) != 0) {
			pv_err_errno(err, errno, "cannot stat %s", h->path);
			return -1;
		}
		if (check_dir(&st, h->path, private_dir, err) != PV_OK)
			return -1;
		*owned = false;
		return h->fd;
	}
	fd = walk_from_held(h, path, private_dir, &st, err);
	if (fd < 0 || dirs->n == PV_DIRS_MAX)
		return fd; /* the set is full: this one is the caller's */
	slot = &dirs->held[dirs->n];
	slot->path = strdup(path);
	if (slot->path == NULL)
		return fd;
	slot->fd = fd;
	dirs->n++;
	*owned = false;
	return fd;
}

void pv_dirs_put(int fd, bool owned)
{
	if (owned && fd >= 0)
		close(fd);
}

int pv_dirs_open(struct pv_dirs *dirs, const char *path, bool private_dir, struct pv_err *err)
{
	bool owned;
	int fd = pv_dirs_get(dirs, path, private_dir, &owned, err);
	int own;

	if (fd < 0 || owned)
		return fd;
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		pv_err_errno(err, errno, "cannot duplicate a directory descriptor");
	return own;
}

int pv_dirs_get_parent(struct pv_dirs *dirs, const char *path, bool private_dir, char *base,
                       size_t base_len, bool *owned, struct pv_err *err)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t dlen;

	*owned = true;
	if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(dir)) {
		pv_err_set(err, "path \"%.200s\" is not an absolute path", path ? path : "");
		return -1;
	}
	slash = strrchr(path, '/');
	if (slash[1] == '\0' || strlen(slash + 1) >= base_len) {
		pv_err_set(err, "path \"%.200s\" does not name a file", path);
		return -1;
	}
	dlen = (size_t)(slash - path);
	if (dlen == 0)
		dlen = 1; /* "/file" */
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	memcpy(base, slash + 1, strlen(slash + 1) + 1);
	return pv_dirs_get(dirs, dir, private_dir, owned, err);
}

int pv_open_parent(const char *path, bool private_dir, char *base, size_t base_len,
                   struct pv_err *err)
{
	bool owned;

	return pv_dirs_get_parent(NULL, path, private_dir, base, base_len, &owned, err);
}

static int check_file(const struct stat *st, enum pv_file_policy policy, const char *display,
                      struct pv_err *err)
{
	if (!S_ISREG(st->st_mode)) {
		pv_err_set(err, "%s is not a regular file", display);
		return PV_ERR;
	}
	/* A hard link would let whoever made it reach our file through another directory (or
	 * make us write to someone else's): every file of ours has at most one name. */
	/* 0 is fine: the file was replaced by a rename after we opened it, and we read the
	 * version we opened. */
	if (st->st_nlink > 1) {
		pv_err_set(err, "%s has %lu hard links; it must have exactly one", display,
		           (unsigned long)st->st_nlink);
		return PV_ERR;
	}
	if (st->st_uid != 0) {
		pv_err_set(err, "%s is owned by uid %u, not root; run: chown root %s", display,
		           (unsigned)st->st_uid, display);
		return PV_ERR;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		pv_err_set(err, "%s is writable by group or others (mode %04o); run: chmod go-w %s",
		           display, (unsigned)(st->st_mode & 07777), display);
		return PV_ERR;
	}
	if (policy == PV_FILE_PRIVATE && (st->st_mode & (S_IRWXG | S_IRWXO))) {
		pv_err_set(err, "%s is readable by group or others (mode %04o); run: chmod 600 %s",
		           display, (unsigned)(st->st_mode & 07777), display);
		return PV_ERR;
	}
	return PV_OK;
}

/* pv_open_file_at, with the checked file's stat in *st. */
static int open_file_stat(int dirfd, const char *name, int flags, enum pv_file_policy policy,
                          const char *display, bool *missing, struct stat *st, struct pv_err *err)
{
	int fd;

	if (missing != NULL)
		*missing = false;
	fd = openat(dirfd, name, flags | OPEN_SAFE);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && missing != NULL)
			*missing = true;
		if (e == ELOOP)
			pv_err_set(err, "%s is a symbolic link; refusing to follow it", display);
		else if (e == ENXIO || e == EWOULDBLOCK)
			pv_err_set(err, "%s is not a regular file", display);
		else
			pv_err_errno(err, e, "cannot open %s", display);
		errno = e;
		return -1;
	}
	if (fstat(fd, st) != 0) {
		pv_err_errno(err, errno, "cannot stat %s", display);
		goto fail;
	}
	if (check_file(st, policy, display, err) != PV_OK)
		goto fail;
	return fd;
fail:
	close_keep_errno(fd);
	return -1;
}

int pv_open_file_at(int dirfd, const char *name, int flags, enum pv_file_policy policy,
                    const char *display, bool *missing, struct pv_err *err)
{
	struct stat st;

	return open_file_stat(dirfd, name, flags, policy, display, missing, &st, err);
}

int pv_open_file_stat_at(int dirfd, const char *name, int flags, enum pv_file_policy policy,
                         const char *display, bool *missing, struct stat *st, struct pv_err *err)
{
	return open_file_stat(dirfd, name, flags, policy, display, missing, st, err);
}

static int write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pv_fsync_dir(int dirfd, const char *display, struct pv_err *err)
{
	if (fsync(dirfd) != 0) {
		pv_err_errno(err, errno, "cannot sync directory of %s", display);
		return PV_ERR;
	}
	return PV_OK;
}

static int write_replace(int dirfd, const char *name, const void *data, size_t len,
                         const char *display, bool durable, gid_t gid, struct pv_err *err)
{
	char tmpname[NAME_MAX + 1];
	unsigned char rnd[8];
	int fd = -1;
	int tries;

	/* Temp names start with '.', which no vendor or file name of ours may: a stale one left
	 * by a crash is never mistaken for data. */
	for (tries = 0; tries < 8; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			pv_err_errno(err, errno, "cannot get random bytes for a temp file");
			return PV_ERR;
		}
		if (snprintf(tmpname, sizeof(tmpname),
		             ".%.200s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", name, rnd[0], rnd[1],
		             rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		             rnd[7]) >= (int)sizeof(tmpname)) {
			pv_err_set(err, "file name %s is too long", display);
			return PV_ERR;
		}
		fd = openat(dirfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | OPEN_SAFE, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		pv_err_errno(err, errno, "cannot create a temp file for %s", display);
		return PV_ERR;
	}
	if (fchmod(fd, gid == 0 ? 0600 : 0640) != 0 || fchown(fd, 0, gid) != 0) {
		pv_err_errno(err, errno, "cannot set owner and mode of a temp file for %s",
		             display);
		goto fail;
	}
	if (write_all(fd, data, len) != 0) {
		pv_err_errno(err, errno, "cannot write %s", display);
		goto fail;
	}
	if (durable && fsync(fd) != 0) {
		pv_err_errno(err, errno, "cannot sync %s", display);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		pv_err_errno(err, errno, "cannot close %s", display);
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmpname, dirfd, name) != 0) {
		pv_err_errno(err, errno, "cannot replace %s", display);
		goto fail;
	}
	if (durable && pv_fsync_dir(dirfd, display, err) != PV_OK)
		return PV_UNSYNCED;
	return PV_OK;
fail:
	close_keep_errno(fd);
	unlinkat(dirfd, tmpname, 0);
	return PV_ERR;
}

int pv_write_file_atomic(int dirfd, const char *name, const void *data, size_t len,
                         const char *display, struct pv_err *err)
{
	return write_replace(dirfd, name, data, len, display, true, 0, err);
}

int pv_write_file_shared(int dirfd, const char *name, const void *data, size_t len, gid_t gid,
                         const char *display, struct pv_err *err)
{
	return write_replace(dirfd, name, data, len, display, true, gid, err);
}

int pv_write_file_volatile(int dirfd, const char *name, const void *data, size_t len,
                           const char *display, struct pv_err *err)
{
	return write_replace(dirfd, name, data, len, display, false, 0, err);
}

int pv_lock_file_at(int dirfd, const char *name, int timeout_s, const char *display,
                    struct pv_err *err)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, name, O_RDWR | O_CREAT | OPEN_SAFE, 0600);
	if (fd < 0) {
		if (errno == ELOOP)
			pv_err_set(err, "lock file %s is a symbolic link; refusing to follow it",
			           display);
		else
			pv_err_errno(err, errno, "cannot open lock file %s", display);
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		pv_err_errno(err, errno, "cannot stat lock file %s", display);
		goto fail;
	}
	if (check_file(&st, PV_FILE_PRIVATE, display, err) != PV_OK)
		goto fail;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd; /* the usual case: free, no wait set up */
	if (pv_lock_wait(fd, timeout_s, display, err) != PV_OK)
		goto fail;
	return fd;
fail:
	close_keep_errno(fd);
	return -1;
}

/* Only to tell "no session recorded yet" from an error: every use then goes through the
 * checked open. */
bool pv_path_present(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

int pv_open_dir_create(const char *path, bool create, struct pv_err *err)
{
	char base[NAME_MAX + 1];
	int parent;
	int fd;

	if (!create || pv_path_present(path))
		return pv_open_dir(path, true, err);
	parent = pv_open_parent(path, false, base, sizeof(base), err);
	if (parent < 0)
		return -1;
	if (mkdirat(parent, base, 0700) != 0 && errno != EEXIST) {
		pv_err_errno(err, errno, "cannot create directory %s", path);
		close(parent);
		return -1;
	}
	close(parent);
	fd = pv_open_dir(path, true, err);
	return fd;
}

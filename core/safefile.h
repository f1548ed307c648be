/* SPDX-License-Identifier: BSD-3-Clause */
/* safefile.h — the only way the core touches the file system: every path is walked from "/"
 * one component at a time without following symlinks, every directory and file is checked
 * for owner and mode, and writes are temp file + fsync + rename + directory fsync. */
#ifndef PV_SAFEFILE_H
#define PV_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"

/* What a file must satisfy beyond "root-owned regular file, not group/world-writable". */
enum pv_file_policy {
	PV_FILE_PUBLIC = 0,  /* config: may be readable by others */
	PV_FILE_PRIVATE = 1, /* key, records, audit: no group/other bits at all */
};

/* Open the directory `path` (absolute) for use with *at() calls. Every component must be a
 * real directory (no symlink), owned by root, and not group/world-writable unless it is
 * root-owned and sticky (/tmp). When `private_dir` is set, the final directory must also
 * have no group/other permissions. Returns a directory fd (O_CLOEXEC) or -1 with err set. */
int pv_open_dir(const char *path, bool private_dir, struct pv_err *err);

/* Open an existing regular file `name` (a single component) inside dirfd without following
 * symlinks or blocking on FIFOs; check it as `policy` says. `flags` is O_RDONLY or O_RDWR
 * (O_APPEND allowed). `display` names the file in messages. Returns fd or -1:
 * errno-like ENOENT is reported as PV_NOTFOUND through *missing when missing != NULL. */
int pv_open_file_at(int dirfd, const char *name, int flags, enum pv_file_policy policy,
                    const char *display, bool *missing, struct pv_err *err);

/* The same, with the stat the checks were made on in *st (no second fstat). */
int pv_open_file_stat_at(int dirfd, const char *name, int flags, enum pv_file_policy policy,
                         const char *display, bool *missing, struct stat *st, struct pv_err *err);

/* Read a whole checked file of at most max_len bytes into a malloc'd buffer (NUL-terminated,
 * not counted in *len). Returns PV_OK, PV_NOTFOUND (file absent) or PV_ERR. */
int pv_read_file_at(int dirfd, const char *name, enum pv_file_policy policy, size_t max_len,
                    const char *display, unsigned char **data, size_t *len, struct pv_err *err);

/* Replace `name` in dirfd atomically and durably with data (mode 0600, root-owned): a
 * uniquely named temp file, write, fsync, rename over name, fsync the directory. On error
 * the old file is untouched and the temp file removed, except PV_UNSYNCED: the rename was
 * done (readers see the new file) but the directory sync failed (it may not survive a crash). */
int pv_write_file_atomic(int dirfd, const char *name, const void *data, size_t len,
                         const char *display, struct pv_err *err);

/* The same for a file one group may read (mode 0640, root:gid; gid 0: 0600 as above): the
 * keys view, read by sshd's unprivileged AuthorizedKeysCommandUser. */
int pv_write_file_shared(int dirfd, const char *name, const void *data, size_t len, gid_t gid,
                         const char *display, struct pv_err *err);
/* The same without any sync: readers never see a partial file, but the new content may not
 * survive a crash. Only for runtime state that a crash makes meaningless anyway (records of
 * live sessions: their processes do not survive a crash either). */
int pv_write_file_volatile(int dirfd, const char *name, const void *data, size_t len,
                           const char *display, struct pv_err *err);

/* Create and hold an exclusive flock on `name` in dirfd (created 0600 when absent, never
 * unlinked by anyone: the lock must live on a stable inode). Waits at most timeout_s
 * seconds. Returns the lock fd (close to release) or -1. */
int pv_lock_file_at(int dirfd, const char *name, int timeout_s, const char *display,
                    struct pv_err *err);

/* The names in directory dirfd that keep() accepts ("." and ".." never reach it), sorted
 * with strcmp. *names is one malloc'd array of malloc'd strings: free it with
 * pv_dir_list_free. More than `max` accepted names, or a failed readdir, is an error naming
 * `display`; nothing is returned then. */
int pv_dir_list(int dirfd, const char *display, bool (*keep)(const char *name, void *ctx),
                void *ctx, size_t max, char ***names, size_t *n, struct pv_err *err);
void pv_dir_list_free(char **names, size_t n);

/* Is something at path (or cannot that be told)? Only to tell "nothing made yet" from an
 * error: every use then goes through the checked open. */
bool pv_path_present(const char *path);

/* pv_open_dir(path, private), first creating the directory (0700, root) when `create` is set
 * and it does not exist yet (its parent walked and checked as above). */
int pv_open_dir_create(const char *path, bool create, struct pv_err *err);

/* fsync a directory fd. */
int pv_fsync_dir(int dirfd, const char *display, struct pv_err *err);

/* The directories one call (one PAM call, one otpctl command) has opened and checked, held
 * open so that each is walked and checked once per call, and files are opened relative to it.
 * Lives in the caller (never global: a module runs thousands of calls in one process); an
 * entry is only ever the result of a full check (every component from "/", no symlinks,
 * owners and modes as pv_open_dir says), made at its first use in this call. */
#define PV_DIRS_MAX 8
struct pv_dir_held {
	char *path; /* as the caller named it */
	int fd;     /* held until pv_dirs_close; its owner and mode are checked at each use */
};
struct pv_dirs {
	size_t n;
	struct pv_dir_held held[PV_DIRS_MAX];
};
void pv_dirs_init(struct pv_dirs *dirs);
void pv_dirs_close(struct pv_dirs *dirs);

/* pv_open_dir through the call's held directories: the same checks, but a directory already
 * held is not walked again and a new one is walked from its deepest held ancestor (and then
 * held). Returns the descriptor or -1. *owned false: it is the held one, which the caller
 * must not close (pv_dirs_close does); true: the caller's (dirs NULL: exactly pv_open_dir).
 * Give it back with pv_dirs_put(fd, owned). */
int pv_dirs_get(struct pv_dirs *dirs, const char *path, bool private_dir, bool *owned,
                struct pv_err *err);
void pv_dirs_put(int fd, bool owned);

/* The same, always with a descriptor of the caller's own (a duplicate of a held one): for
 * a descriptor that must outlive the call or is closed by code that does not know. */
int pv_dirs_open(struct pv_dirs *dirs, const char *path, bool private_dir, struct pv_err *err);

/* pv_open_parent through the call's held directories (dirs NULL: pv_open_parent); the
 * directory given back as pv_dirs_get says. */
int pv_dirs_get_parent(struct pv_dirs *dirs, const char *path, bool private_dir, char *base,
                       size_t base_len, bool *owned, struct pv_err *err);

/* Split an absolute path into its directory (opened with pv_open_dir) and its final
 * component (copied to base). */
int pv_open_parent(const char *path, bool private_dir, char *base, size_t base_len,
                   struct pv_err *err);

#endif

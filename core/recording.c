/* SPDX-License-Identifier: BSD-3-Clause */
/* recording.c — the files of a recorded vendor session (see recording.h): made ready by the
 * module at session open, claimed by pv-record, digested at session close and by
 * `otpctl audit verify --recordings`, pruned by `otpctl expire`. */
#include "recording.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sodium.h>

#include "lockwait.h"
#include "safefile.h"
#include "session.h"

#define NEW_SUFFIX    ".new"
#define ROOM_SUFFIX   ".room"
#define MAX_FILES     1000000
#define MARK          "pam_vendor-recording 1\n"
#define CLAIM_RESERVE 65536 /* bytes: the first chunks of the recording */

const char *const pv_recording_parts[PV_RECORDING_PARTS] = {".timing", ".in", ".out"};

bool pv_recording_id_valid(const char *id)
{
	return id != NULL && pv_session_id_valid(id);
}

int pv_recording_check_recorder(const char *recorder, struct pv_err *err)
{
	struct stat st;

	if (stat(recorder, &st) != 0) {
		pv_err_errno(err, errno, "the recorder %s is missing", recorder);
		return PV_ERR;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & S_ISUID) == 0 ||
	    (st.st_mode & S_IXOTH) == 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		pv_err_set(err,
		           "the recorder %s is not installed as it must be (root-owned, mode 4755)",
		           recorder);
		return PV_ERR;
	}
	if (access(PV_SCRIPT_PATH, X_OK) != 0) {
		pv_err_errno(err, errno, "%s (util-linux) is missing or cannot be run",
		             PV_SCRIPT_PATH);
		return PV_ERR;
	}
	return PV_OK;
}

static int check_free_space(int dirfd, const struct pv_config *cfg, struct pv_err *err)
{
	struct statvfs vfs;
	unsigned long long free_mib;

	if (fstatvfs(dirfd, &vfs) != 0) {
		pv_err_errno(err, errno, "cannot read the free space of %s", cfg->recording_dir);
		return PV_ERR;
	}
	free_mib = (unsigned long long)vfs.f_bavail * vfs.f_frsize / (1024 * 1024);
	if (free_mib < cfg->recording_min_free) {
		pv_err_set(err, "%s has %llu MiB free, below recording_min_free (%u MiB)",
		           cfg->recording_dir, free_mib, cfg->recording_min_free);
		return PV_ERR;
	}
	return PV_OK;
}

/* ID.new, with room reserved: a directory that cannot take a block fails here (fallocate
 * fails at once where a write could succeed and its writeback fail later). Not synced: it
 * is a claim for this session only, which a crash ends anyway. */
static int make_claim_file(int dirfd, const struct pv_config *cfg, const char *id,
                           struct pv_err *err)
{
	char name[64];
	int fd;
	int rc = PV_ERR;

	snprintf(name, sizeof(name), "%s%s", id, NEW_SUFFIX);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		pv_err_errno(err, errno, "cannot create a recording in %s", cfg->recording_dir);
		return PV_ERR;
	}
	errno = posix_fallocate(fd, 0, CLAIM_RESERVE);
	if (errno != 0 || write(fd, MARK, strlen(MARK)) != (ssize_t)strlen(MARK)) {
		pv_err_errno(err, errno, "cannot write a recording in %s", cfg->recording_dir);
		(void)unlinkat(dirfd, name, 0);
		goto out;
	}
	rc = PV_OK;
out:
	close(fd);
	return rc;
}

int pv_recording_prepare(const struct pv_config *cfg, const char *id, struct pv_err *err)
{
	int dirfd;
	int rc = PV_ERR;

	if (!pv_recording_id_valid(id)) {
		pv_err_set(err, "not a session ID: %.40s", id);
		return PV_ERR;
	}
	if (pv_recording_check_recorder(cfg->recorder, err) != PV_OK)
		return PV_ERR;
	dirfd = pv_open_dir_create(cfg->recording_dir, true, err);
	if (dirfd < 0)
		return PV_ERR;
	if (check_free_space(dirfd, cfg, err) != PV_OK)
		goto out;
	rc = make_claim_file(dirfd, cfg, id, err);
out:
	close(dirfd);
	return rc;
}

/* ID.new becomes ID.room, the room reserved at open, kept while the session runs (script
 * truncates what it opens, so the reserve cannot be ID.timing itself): pv-record lets it go
 * when the directory fills, so that script's last bytes fit. ID.timing is made empty. */
int pv_recording_claim(int dirfd, const char *id, struct pv_err *err)
{
	char from[64];
	char to[64];
	int fd;

	snprintf(from, sizeof(from), "%s%s", id, NEW_SUFFIX);
	snprintf(to, sizeof(to), "%s%s", id, ROOM_SUFFIX);
	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) != 0) {
		if (errno == ENOENT || errno == EEXIST) {
			pv_err_set(err, "session %s has no recording to start", id);
			return PV_NOTFOUND;
		}
		pv_err_errno(err, errno, "cannot start the recording of session %s", id);
		return PV_ERR;
	}
	snprintf(to, sizeof(to), "%s%s", id, pv_recording_parts[0]);
	fd = openat(dirfd, to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		pv_err_errno(err, errno, "cannot start the recording of session %s", id);
		return PV_ERR;
	}
	close(fd);
	return PV_OK;
}

void pv_recording_release_room(int dirfd, const char *id)
{
	char name[64];

	snprintf(name, sizeof(name), "%s%s", id, ROOM_SUFFIX);
	(void)unlinkat(dirfd, name, 0);
}

bool pv_recording_below_floor(int dirfd, unsigned min_free_mib)
{
	struct statvfs vfs;

	if (fstatvfs(dirfd, &vfs) != 0)
		return true;
	return (unsigned long long)vfs.f_bavail * vfs.f_frsize <
	       (unsigned long long)min_free_mib * 1024 * 1024 / 2;
}

int pv_recording_hold(int dirfd, const char *id, struct pv_err *err)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "%s%s", id, pv_recording_parts[0]);
	/* no O_CLOEXEC: script inherits it */
	fd =
	    openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK); // NOLINT(android-cloexec-open)
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		pv_err_errno(err, errno, "cannot hold the recording of session %s", id);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int pv_recording_wait_finished(const char *recording_dir, const char *id, int timeout_s,
                               struct pv_err *err)
{
	char name[64];
	bool missing = false;
	int dirfd;
	int fd;
	int rc;

	dirfd = pv_open_dir(recording_dir, true, err);
	if (dirfd < 0)
		return PV_ERR;
	snprintf(name, sizeof(name), "%s%s", id, pv_recording_parts[0]);
	fd = pv_open_file_at(dirfd, name, O_RDONLY, PV_FILE_PRIVATE, name, &missing, err);
	close(dirfd);
	if (fd < 0)
		return missing ? PV_NOTFOUND : PV_ERR;
	rc = pv_lock_wait(fd, timeout_s, name, err);
	close(fd);
	return rc;
}

static void put_size(crypto_generichash_state *h, uint64_t size)
{
	unsigned char le[8];
	int i;

	for (i = 0; i < 8; i++)
		le[i] = (unsigned char)(size >> (8 * i));
	crypto_generichash_update(h, le, sizeof(le));
}

/* One file into the digest: its size, then its bytes (exactly that many). */
static int digest_part(int dirfd, const char *name, crypto_generichash_state *h, int64_t *bytes,
                       struct pv_err *err)
{
	unsigned char buf[65536];
	struct stat st;
	uint64_t left;
	ssize_t got;
	int fd;

	fd = pv_open_file_stat_at(dirfd, name, O_RDONLY, PV_FILE_PRIVATE, name, NULL, &st, err);
	if (fd < 0)
		return PV_ERR;
	put_size(h, (uint64_t)st.st_size);
	for (left = (uint64_t)st.st_size; left > 0; left -= (uint64_t)got) {
		got = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (got <= 0) {
			pv_err_errno(err, got < 0 ? errno : EIO, "cannot read recording file %s",
			             name);
			close(fd);
			return PV_ERR;
		}
		crypto_generichash_update(h, buf, (size_t)got);
	}
	close(fd);
	*bytes += st.st_size;
	return PV_OK;
}

/* Which of the parts exist: a bit each. */
static unsigned parts_present(int dirfd, const char *id)
{
	char name[64];
	struct stat st;
	unsigned present = 0;
	int i;

	for (i = 0; i < PV_RECORDING_PARTS; i++) {
		snprintf(name, sizeof(name), "%s%s", id, pv_recording_parts[i]);
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
			present |= 1u << i;
	}
	return present;
}

static int digest_all(int dirfd, const char *id, int64_t *bytes, char hex[PV_RECORDING_HEX],
                      struct pv_err *err)
{
	crypto_generichash_state h;
	unsigned char out[PV_RECORDING_B2B];
	char name[64];
	int i;

	*bytes = 0;
	crypto_generichash_init(&h, NULL, 0, sizeof(out));
	for (i = 0; i < PV_RECORDING_PARTS; i++) {
		snprintf(name, sizeof(name), "%s%s", id, pv_recording_parts[i]);
		if (digest_part(dirfd, name, &h, bytes, err) != PV_OK)
			return PV_ERR;
	}
	crypto_generichash_final(&h, out, sizeof(out));
	sodium_bin2hex(hex, PV_RECORDING_HEX, out, sizeof(out));
	return PV_OK;
}

int pv_recording_digest(const char *recording_dir, const char *id, int64_t *bytes,
                        char hex[PV_RECORDING_HEX], struct pv_err *err)
{
	unsigned present;
	int dirfd;
	int rc = PV_ERR;
	int i;

	if (!pv_recording_id_valid(id)) {
		pv_err_set(err, "not a session ID: %.40s", id);
		return PV_ERR;
	}
	dirfd = pv_open_dir(recording_dir, true, err);
	if (dirfd < 0)
		return PV_ERR;
	present = parts_present(dirfd, id);
	if (present == 0) {
		pv_err_set(err, "session %s has no recording in %s", id, recording_dir);
		rc = PV_NOTFOUND;
		goto out;
	}
	for (i = 0; i < PV_RECORDING_PARTS; i++)
		if ((present & (1u << i)) == 0) {
			pv_err_set(err, "the recording of session %s has no %s file", id,
			           pv_recording_parts[i]);
			goto out;
		}
	rc = digest_all(dirfd, id, bytes, hex, err);
out:
	close(dirfd);
	return rc;
}

enum pv_recording_state pv_recording_state(const char *recording_dir, const char *id)
{
	enum pv_recording_state state = PV_RECORDING_NONE;
	struct pv_err err;
	struct stat st;
	char name[64];
	int dirfd;

	if (!pv_recording_id_valid(id) || !pv_path_present(recording_dir))
		return PV_RECORDING_NONE;
	dirfd = pv_open_dir(recording_dir, true, &err);
	if (dirfd < 0)
		return PV_RECORDING_NONE;
	if (parts_present(dirfd, id) & 1u) {
		state = PV_RECORDING_ON;
	} else {
		snprintf(name, sizeof(name), "%s%s", id, NEW_SUFFIX);
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			state = PV_RECORDING_READY;
	}
	close(dirfd);
	return state;
}

void pv_recording_forget_unclaimed(const char *recording_dir, const char *id)
{
	struct pv_err err;
	char name[64];
	int dirfd;

	if (!pv_recording_id_valid(id))
		return;
	dirfd = pv_open_dir(recording_dir, true, &err);
	if (dirfd < 0)
		return;
	snprintf(name, sizeof(name), "%s%s", id, NEW_SUFFIX);
	(void)unlinkat(dirfd, name, 0);
	pv_recording_release_room(dirfd, id);
	close(dirfd);
}

/* A file of a recording: 32 characters of ID, then one of the suffixes. */
static bool is_part(const char *name, void *ctx)
{
	static const char *const extra[] = {NEW_SUFFIX, ROOM_SUFFIX};
	size_t i;

	if (strlen(name) <= 32)
		return false;
	for (i = 0; i < PV_RECORDING_PARTS; i++)
		if (strcmp(name + 32, pv_recording_parts[i]) == 0)
			return true;
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (strcmp(name + 32, extra[i]) == 0)
			return true;
	return false;
}

static bool is_live(const char *id, char *const *live_ids, size_t n_live)
{
	size_t i;

	for (i = 0; i < n_live; i++)
		if (strcmp(live_ids[i], id) == 0)
			return true;
	return false;
}

/* Remove every file of recording id. */
static int remove_recording(int dirfd, const char *dir, const char *id, struct pv_err *err)
{
	char name[64];
	int i;

	for (i = PV_RECORDING_PARTS - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "%s%s", id, pv_recording_parts[i]);
		if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) {
			pv_err_errno(err, errno, "cannot remove %s/%s", dir, name);
			return PV_ERR;
		}
	}
	return PV_OK;
}

int pv_recording_prune(const char *recording_dir, int64_t before, char *const *live_ids,
                       size_t n_live, unsigned *removed, struct pv_err *err)
{
	char **names = NULL;
	char id[33];
	struct stat st;
	size_t n = 0;
	size_t i;
	int dirfd;
	int rc = PV_ERR;

	*removed = 0;
	if (!pv_path_present(recording_dir))
		return PV_OK; /* nothing recorded yet */
	dirfd = pv_open_dir(recording_dir, true, err);
	if (dirfd < 0)
		return PV_ERR;
	if (pv_dir_list(dirfd, recording_dir, is_part, NULL, MAX_FILES, &names, &n, err) != PV_OK)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%.32s", names[i]);
		if (!pv_recording_id_valid(id) || is_live(id, live_ids, n_live) ||
		    fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    (int64_t)st.st_mtime >= before)
			continue;
		if (strcmp(names[i] + 32, pv_recording_parts[0]) != 0) {
			/* a stray: ID.new, ID.room, or a part whose ID.timing is gone */
			if ((parts_present(dirfd, id) & 1u) == 0)
				(void)unlinkat(dirfd, names[i], 0);
			continue;
		}
		if (remove_recording(dirfd, recording_dir, id, err) != PV_OK)
			goto out;
		(*removed)++;
	}
	rc = pv_fsync_dir(dirfd, recording_dir, err);
out:
	pv_dir_list_free(names, n);
	close(dirfd);
	return rc;
}

/* One timing line: "H <secs> NAME VALUE", "S <secs> SIGNAL ...", or "I|O <secs> <bytes>"
 * (script's multi-stream format); the byte counts are added up. */
static bool timing_line(const char *line, uint64_t *in, uint64_t *out)
{
	const char *p = line + 2;
	uint64_t n = 0;

	if (strlen(line) < 5 || strchr("HSIO", line[0]) == NULL || line[1] != ' ')
		return false;
	if (*p < '0' || *p > '9')
		return false;
	while ((*p >= '0' && *p <= '9') || *p == '.')
		p++;
	if (*p != ' ' || p[1] == '\0')
		return false;
	if (line[0] == 'H' || line[0] == 'S')
		return true;
	for (p++; *p >= '0' && *p <= '9' && n < (1ull << 50); p++)
		n = n * 10 + (uint64_t)(*p - '0');
	if (*p != '\0')
		return false;
	*(line[0] == 'I' ? in : out) += n;
	return true;
}

static int part_size(int dirfd, const char *id, int part, uint64_t *size, struct pv_err *err)
{
	char name[64];
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "%s%s", id, pv_recording_parts[part]);
	fd = pv_open_file_stat_at(dirfd, name, O_RDONLY, PV_FILE_PRIVATE, name, NULL, &st, err);
	if (fd < 0)
		return PV_ERR;
	close(fd);
	*size = (uint64_t)st.st_size;
	return PV_OK;
}

static int check_timing(int dirfd, const char *id, struct pv_err *err)
{
	unsigned char *text = NULL;
	char name[64];
	uint64_t in = 0, out = 0, in_size = 0, out_size = 0;
	unsigned long lineno = 1;
	size_t len = 0;
	char *line, *next;
	int rc = PV_ERR;

	snprintf(name, sizeof(name), "%s%s", id, pv_recording_parts[0]);
	if (pv_read_file_at(dirfd, name, PV_FILE_PRIVATE, 256u << 20, name, &text, &len, err) !=
	    PV_OK)
		return PV_ERR;
	for (line = (char *)text; *line != '\0'; line = next, lineno++) {
		next = strchr(line, '\n');
		if (next == NULL) /* the last line of a live recording may be half written */
			break;
		*next++ = '\0';
		if (!timing_line(line, &in, &out)) {
			pv_err_set(err, "the recording of session %s is garbled: %s line %lu", id,
			           name, lineno);
			goto out;
		}
	}
	if (part_size(dirfd, id, 1, &in_size, err) != PV_OK ||
	    part_size(dirfd, id, 2, &out_size, err) != PV_OK)
		goto out;
	if (in > in_size || out > out_size) {
		pv_err_set(err,
		           "the recording of session %s is garbled: its timing names more "
		           "bytes than its .in or .out file holds",
		           id);
		goto out;
	}
	rc = PV_OK;
out:
	free(text);
	return rc;
}

int pv_recording_check(const char *recording_dir, const char *id, struct pv_err *err)
{
	int dirfd;
	int rc;

	if (!pv_recording_id_valid(id)) {
		pv_err_set(err, "\"%.64s\" is not a session ID (32 hexadecimal digits)", id);
		return PV_ERR;
	}
	dirfd = pv_open_dir(recording_dir, true, err);
	if (dirfd < 0)
		return PV_ERR;
	if (parts_present(dirfd, id) != (1u << PV_RECORDING_PARTS) - 1) {
		pv_err_set(err, "there is no recording of session %s in %s", id, recording_dir);
		close(dirfd);
		return PV_NOTFOUND;
	}
	rc = check_timing(dirfd, id, err);
	close(dirfd);
	return rc;
}

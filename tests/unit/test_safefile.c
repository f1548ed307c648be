/* SPDX-License-Identifier: BSD-3-Clause */
/* test_safefile.c — unit tests for core/safefile.c: the directory walk (no symlinks, root
 * owned, not writable by others unless sticky), checked file opens, atomic durable writes,
 * bounded reads and bounded lock waits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "safefile.h"
#include "testutil.h"

/* Each test gets a private temp dir (testutil.h). */
#define setup    tu_dir_setup
#define teardown tu_dir_teardown

static char *sub(const struct tu_dir *f, const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	tu_path(p, PATH_MAX, f->dir, name);
	return p;
}

static int open_dir(const char *path, bool private_dir, struct pv_err *err)
{
	memset(err, 0, sizeof(*err));
	return pv_open_dir(path, private_dir, err);
}

static void assert_dir_ok(const char *path, bool private_dir)
{
	struct pv_err err;
	int fd = open_dir(path, private_dir, &err);

	if (fd < 0)
		fail_msg("%s refused: %s", path, err.msg);
	close(fd);
}

static void assert_dir_refused(const char *path, bool private_dir, const char *why)
{
	struct pv_err err;
	int fd = open_dir(path, private_dir, &err);

	if (fd >= 0) {
		close(fd);
		fail_msg("%s accepted", path);
	}
	assert_contains(err.msg, why);
}

/* Entries of dir other than . and .., as a count; *only* gets the first one. */
static int count_entries(const char *dir, char *only, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n++ == 0 && only != NULL)
			snprintf(only, len, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

/* --- pv_open_dir --- */

static void test_private_root_owned_dir_is_accepted(void **state)
{
	struct tu_dir *f = *state;

	assert_dir_ok(f->dir, true);
	assert_dir_ok(f->dir, false);
	assert_dir_ok("/", false);
}

static void test_sticky_root_owned_world_writable_dir_is_accepted(void **state)
{
	struct tu_dir *f = *state;
	char *shared = sub(f, "shared");
	char inner[PATH_MAX];

	tu_mkdir(shared, 01777);
	tu_path(inner, sizeof(inner), shared, "inner");
	tu_mkdir(inner, 0700);
	assert_dir_ok(shared, false); /* like /tmp itself */
	assert_dir_ok(inner, true);   /* a private dir under it */
	assert_dir_ok("/tmp", false);
	/* ...but a sticky world-writable dir is not a private one. */
	assert_dir_refused(shared, true, "accessible by group or others");
}

static void test_symlink_component_is_refused(void **state)
{
	struct tu_dir *f = *state;
	char *real = sub(f, "real");
	char *link = sub(f, "link");
	char path[PATH_MAX];

	tu_mkdir(real, 0700);
	tu_path(path, sizeof(path), real, "inner");
	tu_mkdir(path, 0700);
	assert_int_equal(symlink(real, link), 0);
	tu_path(path, sizeof(path), link, "inner");
	assert_dir_refused(path, false, "symbolic link"); /* in the middle */
	assert_dir_refused(link, false, "symbolic link"); /* at the end */
	assert_dir_refused(link, true, link);             /* and it names the link */
}

static void test_dir_not_owned_by_root_is_refused(void **state)
{
	struct tu_dir *f = *state;
	char *mine = sub(f, "mine");
	char path[PATH_MAX];

	tu_mkdir(mine, 0700);
	tu_path(path, sizeof(path), mine, "inner");
	tu_mkdir(path, 0700);
	assert_int_equal(chown(mine, 65534, 65534), 0);
	assert_dir_refused(mine, false, "uid 65534");
	assert_dir_refused(path, false, "uid 65534"); /* also as a component on the way */
	/* Even sticky does not help a directory root does not own. */
	assert_int_equal(chmod(mine, 01777), 0);
	assert_dir_refused(path, false, "not root");
}

static void test_group_or_world_writable_dir_is_refused(void **state)
{
	struct tu_dir *f = *state;
	char *d = sub(f, "d");
	char path[PATH_MAX];

	tu_mkdir(d, 0770);
	tu_path(path, sizeof(path), d, "inner");
	tu_mkdir(path, 0700);
	assert_dir_refused(d, false, "writable by group or others");
	assert_dir_refused(path, true, "writable by group or others");
	assert_int_equal(chmod(d, 0777), 0);
	assert_dir_refused(d, false, "writable by group or others");
	assert_int_equal(chmod(d, 0702), 0);
	assert_dir_refused(path, false, "writable by group or others");
	assert_int_equal(chmod(d, 0755), 0); /* readable by others is fine when not private */
	assert_dir_ok(path, true);
	assert_dir_ok(d, false);
	assert_dir_refused(d, true, "accessible by group or others");
}

static void test_relative_dotted_and_non_directory_paths_are_refused(void **state)
{
	struct tu_dir *f = *state;
	char *file = sub(f, "file");
	char path[PATH_MAX];
	struct pv_err err;

	assert_true(open_dir("tmp", false, &err) < 0);
	assert_true(open_dir("", false, &err) < 0);
	assert_true(open_dir(NULL, false, &err) < 0);
	tu_path(path, sizeof(path), f->dir, "../tmp");
	assert_dir_refused(path, false, "..");
	tu_path(path, sizeof(path), f->dir, ".");
	assert_dir_refused(path, false, "\".\"");
	tu_write_text(file, "x", 0600);
	assert_dir_refused(file, false, "not a directory");
	tu_path(path, sizeof(path), file, "below");
	assert_dir_refused(path, false, "not a directory");
	assert_true(open_dir(sub(f, "absent"), false, &err) < 0);
	assert_contains(err.msg, "absent");
}

static void test_trailing_and_double_slashes_are_tolerated(void **state)
{
	struct tu_dir *f = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/%s//", f->dir);
	assert_dir_ok(path, true);
}

/* --- pv_open_file_at --- */

static int open_file(const struct tu_dir *f, const char *name, enum pv_file_policy policy,
                     bool *missing, struct pv_err *err)
{
	struct pv_err derr = {{0}};
	int dirfd = pv_open_dir(f->dir, true, &derr);
	int fd;

	if (dirfd < 0)
		fail_msg("%s", derr.msg);
	memset(err, 0, sizeof(*err));
	fd = pv_open_file_at(dirfd, name, O_RDONLY, policy, name, missing, err);
	close(dirfd);
	return fd;
}

static void assert_file_refused(const struct tu_dir *f, const char *name,
                                enum pv_file_policy policy, const char *why)
{
	struct pv_err err;
	bool missing = true;
	int fd = open_file(f, name, policy, &missing, &err);

	if (fd >= 0) {
		close(fd);
		fail_msg("%s accepted", name);
	}
	assert_false(missing);
	assert_contains(err.msg, why);
}

static void test_file_open_checks_mode_and_owner(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err;
	bool missing;
	int fd;

	tu_write_text(sub(f, "pub"), "x", 0644);
	fd = open_file(f, "pub", PV_FILE_PUBLIC, &missing, &err);
	assert_true(fd >= 0);
	close(fd);
	assert_file_refused(f, "pub", PV_FILE_PRIVATE, "readable by group or others");
	tu_write_text(sub(f, "priv"), "x", 0400);
	fd = open_file(f, "priv", PV_FILE_PRIVATE, &missing, &err);
	assert_true(fd >= 0);
	close(fd);
	tu_write_text(sub(f, "gw"), "x", 0664);
	assert_file_refused(f, "gw", PV_FILE_PUBLIC, "writable by group or others");
	tu_write_text(sub(f, "owned"), "x", 0600);
	assert_int_equal(chown(sub(f, "owned"), 65534, 0), 0);
	assert_file_refused(f, "owned", PV_FILE_PRIVATE, "not root");
}

static void test_file_open_refuses_symlink_fifo_and_directory_quickly(void **state)
{
	struct tu_dir *f = *state;

	tu_write_text(sub(f, "target"), "x", 0600);
	assert_int_equal(symlink(sub(f, "target"), sub(f, "link")), 0);
	assert_file_refused(f, "link", PV_FILE_PRIVATE, "symbolic link");
	assert_int_equal(mkfifo(sub(f, "fifo"), 0600), 0);
	tu_hang_guard(10); /* no hang waiting for a writer */
	assert_file_refused(f, "fifo", PV_FILE_PRIVATE, "not a regular file");
	tu_hang_guard_end();
	tu_mkdir(sub(f, "adir"), 0700);
	assert_file_refused(f, "adir", PV_FILE_PRIVATE, "not a regular file");
}

static void test_file_with_a_second_hard_link_is_refused(void **state)
{
	struct tu_dir *f = *state;

	tu_write_text(sub(f, "rec"), "x", 0600);
	assert_int_equal(link(sub(f, "rec"), sub(f, "other-name")), 0);
	assert_file_refused(f, "rec", PV_FILE_PRIVATE, "2 hard links");
}

static void test_file_open_reports_missing(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err;
	bool missing = false;

	assert_true(open_file(f, "absent", PV_FILE_PRIVATE, &missing, &err) < 0);
	assert_true(missing);
}

/* --- pv_read_file_at --- */

static int read_at(const struct tu_dir *f, const char *name, size_t max, unsigned char **data,
                   size_t *len, struct pv_err *err)
{
	struct pv_err derr = {{0}};
	int dirfd = pv_open_dir(f->dir, true, &derr);
	int rc;

	assert_true(dirfd >= 0);
	memset(err, 0, sizeof(*err));
	rc = pv_read_file_at(dirfd, name, PV_FILE_PRIVATE, max, name, data, len, err);
	close(dirfd);
	return rc;
}

static void test_read_respects_the_size_limit(void **state)
{
	struct tu_dir *f = *state;
	unsigned char content[100];
	unsigned char *data = NULL;
	struct pv_err err;
	size_t len = 0;

	memset(content, 'a', sizeof(content));
	tu_write_file(sub(f, "f"), content, sizeof(content), 0600);
	assert_int_equal(read_at(f, "f", 100, &data, &len, &err), PV_OK);
	assert_int_equal(len, 100);
	assert_memory_equal(data, content, 100);
	assert_int_equal(data[100], '\0');
	free(data);
	assert_int_equal(read_at(f, "f", 99, &data, &len, &err), PV_ERR);
	assert_null(data);
	assert_int_equal(len, 0);
	assert_contains(err.msg, "too large");
}

static void test_read_of_missing_and_empty_files(void **state)
{
	struct tu_dir *f = *state;
	unsigned char *data = NULL;
	struct pv_err err;
	size_t len = 99;

	assert_int_equal(read_at(f, "absent", 10, &data, &len, &err), PV_NOTFOUND);
	assert_null(data);
	tu_write_file(sub(f, "empty"), "", 0, 0600);
	assert_int_equal(read_at(f, "empty", 10, &data, &len, &err), PV_OK);
	assert_int_equal(len, 0);
	assert_non_null(data);
	free(data);
	tu_write_text(sub(f, "open"), "secret", 0644);
	assert_int_equal(read_at(f, "open", 10, &data, &len, &err), PV_ERR);
	assert_null(data);
}

/* --- pv_write_file_atomic --- */

static void test_atomic_write_leaves_only_the_file_with_mode_0600(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err = {{0}};
	char only[NAME_MAX + 1] = "";
	struct stat st;
	int dirfd = pv_open_dir(f->dir, true, &err);

	assert_true(dirfd >= 0);
	assert_int_equal(pv_write_file_atomic(dirfd, "data", "hello\n", 6, "data", &err), PV_OK);
	tu_assert_file_bytes(sub(f, "data"), (const unsigned char *)"hello\n", 6);
	assert_int_equal(count_entries(f->dir, only, sizeof(only)), 1);
	assert_string_equal(only, "data");
	assert_int_equal(lstat(sub(f, "data"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0);
	assert_true(S_ISREG(st.st_mode));
	close(dirfd);
}

static void test_atomic_write_replaces_by_rename(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err = {{0}};
	int dirfd = pv_open_dir(f->dir, true, &err);
	ino_t before;

	assert_true(dirfd >= 0);
	tu_write_text(sub(f, "data"), "old content, longer than the new\n", 0644);
	before = tu_inode(sub(f, "data"));
	assert_int_equal(pv_write_file_atomic(dirfd, "data", "new", 3, "data", &err), PV_OK);
	tu_assert_file_bytes(sub(f, "data"), (const unsigned char *)"new", 3);
	assert_true(tu_inode(sub(f, "data")) != before); /* a new inode, never rewritten */
	assert_int_equal(tu_mode(sub(f, "data")), 0600);
	assert_int_equal(count_entries(f->dir, NULL, 0), 1);
	close(dirfd);
}

static void test_failed_atomic_write_keeps_old_state_and_no_temp_file(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err = {{0}};
	int dirfd = pv_open_dir(f->dir, true, &err);
	char longname[NAME_MAX + 2];

	assert_true(dirfd >= 0);
	/* The target is a non-empty directory: rename fails after the temp file was written. */
	tu_mkdir(sub(f, "data"), 0700);
	tu_write_text(sub(f, "data/keep"), "x", 0600);
	assert_int_equal(pv_write_file_atomic(dirfd, "data", "new", 3, "data", &err), PV_ERR);
	assert_contains(err.msg, "data");
	assert_int_equal(count_entries(f->dir, NULL, 0), 1);
	assert_true(tu_exists(sub(f, "data/keep")));
	/* A name the file system refuses: the temp file is written, the rename fails, and the
	 * temp file is removed. */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(pv_write_file_atomic(dirfd, longname, "x", 1, "long", &err), PV_ERR);
	assert_int_equal(count_entries(f->dir, NULL, 0), 1);
	close(dirfd);
}

/* --- pv_lock_file_at --- */

static void test_lock_creates_a_private_file_and_is_exclusive(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err = {{0}};
	int dirfd = pv_open_dir(f->dir, true, &err);
	int fd1;
	int fd2;
	ino_t ino;

	assert_true(dirfd >= 0);
	fd1 = pv_lock_file_at(dirfd, "x.lock", 1, "x.lock", &err);
	assert_true(fd1 >= 0);
	assert_int_equal(tu_mode(sub(f, "x.lock")), 0600);
	ino = tu_inode(sub(f, "x.lock"));
	/* Another open file description cannot take it (same process or not). */
	fd2 = open(sub(f, "x.lock"), O_RDWR);
	assert_true(fd2 >= 0);
	assert_int_equal(flock(fd2, LOCK_EX | LOCK_NB), -1);
	close(fd1);
	assert_int_equal(flock(fd2, LOCK_EX | LOCK_NB), 0);
	close(fd2);
	fd1 = pv_lock_file_at(dirfd, "x.lock", 1, "x.lock", &err);
	assert_true(fd1 >= 0);
	close(fd1);
	assert_true(tu_inode(sub(f, "x.lock")) == ino);
	close(dirfd);
}

static void test_lock_wait_is_bounded(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err = {{0}};
	int dirfd = pv_open_dir(f->dir, true, &err);
	int holder;
	int fd;
	int64_t t0;
	int64_t waited;

	assert_true(dirfd >= 0);
	holder = pv_lock_file_at(dirfd, "x.lock", 1, "x.lock", &err);
	assert_true(holder >= 0);
	t0 = tu_now_ms();
	tu_hang_guard(15);
	fd = pv_lock_file_at(dirfd, "x.lock", 1, "x.lock", &err);
	tu_hang_guard_end();
	waited = tu_now_ms() - t0;
	assert_int_equal(fd, -1);
	assert_contains(err.msg, "timed out");
	assert_true(waited >= 900); /* it did wait for the lock_timeout before giving up */
	tu_hang_guard(15);
	fd = pv_lock_file_at(dirfd, "x.lock", 0, "x.lock", &err);
	tu_hang_guard_end();
	assert_int_equal(fd, -1);
	close(holder);
	close(dirfd);
}

/* A child takes x.lock, tells the parent, keeps it ~300 ms, then releases it: by closing it
 * (how every holder of ours releases), or by LOCK_UN with the file kept open 3 s longer (no
 * close to wake a waiter: the retry after each bounded wait must still see it). */
static pid_t lock_holder(int dirfd, bool unlock_only)
{
	int ready[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pv_err err = {{0}};
		int fd = pv_lock_file_at(dirfd, "x.lock", 1, "x.lock", &err);
		struct timespec hold = {0, 300 * 1000 * 1000};
		if (fd < 0 || write(ready[1], "r", 1) != 1)
			_exit(1);
		nanosleep(&hold, NULL);
		if (unlock_only) {
			struct timespec more = {3, 0};
			if (flock(fd, LOCK_UN) != 0)
				_exit(1);
			nanosleep(&more, NULL);
		}
		close(fd);
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static void test_lock_waiter_gets_a_released_lock(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err = {{0}};
	int dirfd = pv_open_dir(f->dir, true, &err);
	int round;

	assert_true(dirfd >= 0);
	for (round = 0; round < 2; round++) {
		pid_t pid = lock_holder(dirfd, round == 1);
		int status = 0;
		int fd;

		tu_hang_guard(15);
		fd = pv_lock_file_at(dirfd, "x.lock", 10, "x.lock", &err);
		tu_hang_guard_end();
		if (fd < 0)
			fail_msg("round %d: %s", round, err.msg);
		if (round == 1) /* got it while the holder still had the file open */
			assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
		close(fd);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(dirfd);
}

static void test_lock_file_that_is_a_symlink_or_readable_is_refused(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err = {{0}};
	int dirfd = pv_open_dir(f->dir, true, &err);

	assert_true(dirfd >= 0);
	tu_write_text(sub(f, "target"), "", 0600);
	assert_int_equal(symlink(sub(f, "target"), sub(f, "l.lock")), 0);
	assert_int_equal(pv_lock_file_at(dirfd, "l.lock", 1, "l.lock", &err), -1);
	assert_contains(err.msg, "symbolic link");
	tu_write_text(sub(f, "r.lock"), "", 0644);
	assert_int_equal(pv_lock_file_at(dirfd, "r.lock", 1, "r.lock", &err), -1);
	assert_contains(err.msg, "readable by group or others");
	close(dirfd);
}

/* --- pv_open_parent --- */

static void test_open_parent_splits_the_path(void **state)
{
	struct tu_dir *f = *state;
	struct pv_err err = {{0}};
	char base[NAME_MAX + 1];
	char path[PATH_MAX];
	int fd;

	tu_path(path, sizeof(path), f->dir, "file.conf");
	fd = pv_open_parent(path, true, base, sizeof(base), &err);
	assert_true(fd >= 0);
	assert_string_equal(base, "file.conf");
	close(fd);
	fd = pv_open_parent("/etc-like", false, base, sizeof(base), &err);
	assert_true(fd >= 0);
	assert_string_equal(base, "etc-like");
	close(fd);
	tu_path(path, sizeof(path), f->dir, "");
	assert_int_equal(pv_open_parent(path, false, base, sizeof(base), &err), -1);
	assert_int_equal(pv_open_parent("relative/x", false, base, sizeof(base), &err), -1);
}

static bool keep_txt(const char *name, void *ctx)
{
	size_t len = strlen(name);

	(*(int *)ctx)++;
	return len > 4 && strcmp(name + len - 4, ".txt") == 0;
}

/* The one directory listing of the core: filtered, sorted, bounded, errors reported. */
static void test_dir_list_filters_sorts_and_bounds(void **state)
{
	struct tu_dir *f = *state;
	static const char *const files[] = {"b.txt", "a-b.txt", "a.txt", "skip.rec", ".hidden.txt"};
	char path[PATH_MAX];
	char **names = NULL;
	struct pv_err err;
	size_t n = 0;
	size_t i;
	int seen = 0;
	int fd;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		tu_path(path, sizeof(path), f->dir, files[i]);
		tu_write_text(path, "x", 0600);
	}
	fd = pv_open_dir(f->dir, true, &err);
	assert_true(fd >= 0);
	assert_int_equal(pv_dir_list(fd, f->dir, keep_txt, &seen, 10, &names, &n, &err), PV_OK);
	assert_int_equal(seen, 5); /* "." and ".." never reach the filter */
	assert_int_equal(n, 4);
	assert_string_equal(names[0], ".hidden.txt");
	assert_string_equal(names[1], "a-b.txt");
	assert_string_equal(names[2], "a.txt");
	assert_string_equal(names[3], "b.txt");
	pv_dir_list_free(names, n);
	/* More than max: an error naming the directory, and nothing returned. */
	assert_int_equal(pv_dir_list(fd, f->dir, keep_txt, &seen, 3, &names, &n, &err), PV_ERR);
	assert_contains(err.msg, f->dir);
	assert_contains(err.msg, "more than 3");
	assert_null(names);
	assert_int_equal(n, 0);
	/* Listing leaves the caller's descriptor usable. */
	assert_int_equal(pv_dir_list(fd, f->dir, keep_txt, &seen, 10, &names, &n, &err), PV_OK);
	assert_int_equal(n, 4);
	pv_dir_list_free(names, n);
	close(fd);
}

/* --- pv_dirs: directories held for one call --- */

static int dirs_open(struct pv_dirs *d, const char *path, bool private_dir, struct pv_err *err)
{
	memset(err, 0, sizeof(*err));
	return pv_dirs_open(d, path, private_dir, err);
}

static void test_held_dirs_keep_every_check(void **state)
{
	struct tu_dir *f = *state;
	char *open_dir_ = sub(f, "pub");
	char *real = sub(f, "real");
	char inner[PATH_MAX], through_link[PATH_MAX], unsafe[PATH_MAX], pub[PATH_MAX],
	    other[PATH_MAX];
	struct pv_dirs d;
	struct pv_err err;
	int fd;

	tu_mkdir(open_dir_, 0755);
	snprintf(pub, sizeof(pub), "%s", open_dir_); /* sub()'s buffers are reused below */
	tu_mkdir(real, 0700);
	tu_path(inner, sizeof(inner), open_dir_, "inner");
	tu_mkdir(inner, 0700);
	tu_path(unsafe, sizeof(unsafe), open_dir_, "unsafe");
	tu_mkdir(unsafe, 0700);
	assert_int_equal(chmod(unsafe, 0777), 0);
	assert_int_equal(symlink(real, sub(f, "pub/link")), 0);
	tu_path(through_link, sizeof(through_link), open_dir_, "link");
	pv_dirs_init(&d);
	fd = dirs_open(&d, open_dir_, false, &err); /* held from now on */
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(d.n, 1);
	/* Held, but a private use still applies the stricter rule to it. */
	assert_int_equal(dirs_open(&d, open_dir_, true, &err), -1);
	assert_contains(err.msg, "accessible by group or others");
	/* Walked on from the held directory: each component is still checked. */
	assert_int_equal(dirs_open(&d, through_link, false, &err), -1);
	assert_contains(err.msg, "symbolic link");
	assert_int_equal(dirs_open(&d, unsafe, false, &err), -1);
	assert_contains(err.msg, "writable by group or others");
	assert_int_equal(d.n, 1); /* nothing refused is held */
	fd = dirs_open(&d, inner, true, &err);
	if (fd < 0)
		fail_msg("%s refused: %s", inner, err.msg);
	close(fd);
	assert_int_equal(d.n, 2);
	/* A second use of a held directory is the same directory, and the caller's own fd. */
	fd = dirs_open(&d, inner, true, &err);
	assert_true(fd >= 0 && fd != d.held[1].fd);
	{
		struct stat a, b;
		assert_int_equal(fstat(fd, &a), 0);
		assert_int_equal(stat(inner, &b), 0);
		assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	}
	close(fd);
	/* The held one named with a trailing slash: still a descriptor of the caller's own. */
	{
		char slash[PATH_MAX + 2];
		snprintf(slash, sizeof(slash), "%s/", inner);
		fd = dirs_open(&d, slash, true, &err);
		assert_true(fd >= 0 && fd != d.held[1].fd);
		close(fd);
		assert_true(fcntl(d.held[1].fd, F_GETFD) >= 0); /* the held one is still open */
	}
	/* A held directory whose mode changed since it was first checked is refused as it is now,
	 * and so is a walk on from a held ancestor that changed. */
	assert_int_equal(chmod(inner, 0750), 0);
	assert_int_equal(dirs_open(&d, inner, true, &err), -1);
	assert_contains(err.msg, "accessible by group or others");
	assert_int_equal(chmod(inner, 0700), 0);
	tu_path(other, sizeof(other), pub, "other");
	tu_mkdir(other, 0700);
	assert_int_equal(chmod(pub, 0777), 0);
	assert_int_equal(dirs_open(&d, other, false, &err), -1);
	assert_contains(err.msg, "writable by group or others");
	assert_int_equal(chmod(pub, 0755), 0);
	pv_dirs_close(&d);
	assert_int_equal(d.n, 0);
	/* No held set: exactly pv_open_dir. */
	assert_int_equal(dirs_open(NULL, through_link, false, &err), -1);
	assert_contains(err.msg, "symbolic link");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_private_root_owned_dir_is_accepted),
	    T(test_sticky_root_owned_world_writable_dir_is_accepted),
	    T(test_symlink_component_is_refused),
	    T(test_dir_not_owned_by_root_is_refused),
	    T(test_group_or_world_writable_dir_is_refused),
	    T(test_relative_dotted_and_non_directory_paths_are_refused),
	    T(test_trailing_and_double_slashes_are_tolerated),
	    T(test_file_open_checks_mode_and_owner),
	    T(test_file_open_refuses_symlink_fifo_and_directory_quickly),
	    T(test_file_with_a_second_hard_link_is_refused),
	    T(test_file_open_reports_missing),
	    T(test_read_respects_the_size_limit),
	    T(test_read_of_missing_and_empty_files),
	    T(test_atomic_write_leaves_only_the_file_with_mode_0600),
	    T(test_atomic_write_replaces_by_rename),
	    T(test_failed_atomic_write_keeps_old_state_and_no_temp_file),
	    T(test_lock_creates_a_private_file_and_is_exclusive),
	    T(test_lock_wait_is_bounded),
	    T(test_lock_waiter_gets_a_released_lock),
	    T(test_lock_file_that_is_a_symlink_or_readable_is_refused),
	    T(test_open_parent_splits_the_path),
	    T(test_dir_list_filters_sorts_and_bounds),
	    T(test_held_dirs_keep_every_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

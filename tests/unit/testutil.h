/* SPDX-License-Identifier: BSD-3-Clause */
/* testutil.h — helpers shared by the cmocka unit tests of the core: private temp dirs under
 * /tmp (root-owned 0700: the tests run as root, and the core's strict file checks accept
 * /tmp because it is root-owned and sticky), writing and reading files byte for byte,
 * creating and loading keys, a config pointing everything into a temp dir, address rules and
 * times that must parse (or must not), and the Europe/Paris zone the time tests use.
 * Everything here is `static inline`, so a test that uses only part of it still builds with
 * -Wall -Werror -Wmissing-prototypes. Include after <cmocka.h>. */
#ifndef PV_TESTUTIL_H
#define PV_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "err.h"
#include "ipmatch.h"
#include "keys.h"
#include "timeparse.h"

/* Fails the test (at the caller's line) when `needle` is not part of `hay`. */
#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		const char *tu_h_ = (hay);                                                         \
		const char *tu_n_ = (needle);                                                      \
		if (tu_h_ == NULL || strstr(tu_h_, tu_n_) == NULL)                                 \
			fail_msg("\"%s\" does not contain \"%s\"", tu_h_ ? tu_h_ : "(null)",       \
			         tu_n_);                                                           \
	} while (0)

#define assert_not_contains(hay, needle)                                                           \
	do {                                                                                       \
		const char *tu_h_ = (hay);                                                         \
		const char *tu_n_ = (needle);                                                      \
		if (tu_h_ != NULL && strstr(tu_h_, tu_n_) != NULL)                                 \
			fail_msg("\"%s\" contains \"%s\"", tu_h_, tu_n_);                          \
	} while (0)

/* "dir/name" into buf; fails the test when it does not fit. */
static inline void tu_path(char *buf, size_t len, const char *dir, const char *name)
{
	if (snprintf(buf, len, "%s/%s", dir, name) >= (int)len)
		fail_msg("path %s/%s too long", dir, name);
}

/* A fresh private directory /tmp/pvunit.XXXXXX (root, 0700). The caller frees the path and
 * removes the tree with tu_rmtree. */
static inline char *tu_mkdtemp(void)
{
	char *path = strdup("/tmp/pvunit.XXXXXX");

	assert_non_null(path);
	if (mkdtemp(path) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(chown(path, 0, 0), 0);
	return path;
}

static inline int tu_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0; /* best effort: keep going */
}

/* rm -rf path (symlinks are removed, never followed; root needs no write permission). */
static inline void tu_rmtree(const char *path)
{
	if (path == NULL || strncmp(path, "/tmp/pvunit.", 12) != 0)
		return; /* never anything outside our own temp dirs */
	nftw(path, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create (or replace) a file with exactly these bytes and this mode. */
static inline void tu_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	const unsigned char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0)
			fail_msg("cannot write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static inline void tu_write_text(const char *path, const char *text, mode_t mode)
{
	tu_write_file(path, text, strlen(text), mode);
}

/* Append bytes to an existing file. */
static inline void tu_append_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* The whole file in a malloc'd, NUL-terminated buffer (NULL when it cannot be read). */
static inline unsigned char *tu_read_file(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	size_t used = 0;
	size_t cap = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n;
		if (cap - used < 4096) {
			unsigned char *grown;
			cap = cap ? cap * 2 : 8192;
			grown = realloc(buf, cap + 1);
			assert_non_null(grown);
			buf = grown;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	*len = used;
	return buf;
}

/* Fails the test unless the file holds exactly these bytes. */
static inline void tu_assert_file_bytes(const char *path, const unsigned char *want,
                                        size_t want_len)
{
	size_t len = 0;
	unsigned char *got = tu_read_file(path, &len);

	if (got == NULL)
		fail_msg("cannot read %s", path);
	if (len != want_len || memcmp(got, want, len) != 0) {
		free(got);
		fail_msg("%s changed (%zu bytes, expected %zu)", path, len, want_len);
	}
	free(got);
}

static inline bool tu_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static inline ino_t tu_inode(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("cannot stat %s: %s", path, strerror(errno));
	return st.st_ino;
}

static inline mode_t tu_mode(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		fail_msg("cannot stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

/* Monotonic milliseconds, for "it did not hang" checks. */
static inline int64_t tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void tu_on_alarm(int sig)
{
	static const char msg[] = "\nFAILED: the test hung (a blocking open or lock?); aborted\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);

	(void)sig;
	(void)r;
	_exit(99);
}

/* Around a call that must not block (a FIFO where a file should be): if it does, the test
 * program dies with a message instead of hanging the whole suite. */
static inline void tu_hang_guard(unsigned seconds)
{
	signal(SIGALRM, tu_on_alarm);
	alarm(seconds);
}

static inline void tu_hang_guard_end(void)
{
	alarm(0);
	signal(SIGALRM, SIG_DFL);
}

/* Create a key file with the real pv_keys_create and load it. */
static inline void tu_make_key(const char *path, struct pv_keys *keys)
{
	struct pv_err err = {{0}};

	if (pv_keys_create(path, &err) != PV_OK)
		fail_msg("pv_keys_create(%s): %s", path, err.msg);
	if (pv_keys_load(path, keys, &err) != PV_OK)
		fail_msg("pv_keys_load(%s): %s", path, err.msg);
}

/* Random subkeys, for code that only needs a struct pv_keys (policy, otp). */
static inline void tu_random_keys(struct pv_keys *keys)
{
	assert_true(sodium_init() >= 0);
	randombytes_buf(keys, sizeof(*keys));
}

/* Defaults, with store, key and audit log inside dir: dir/store (not created), dir/master.key,
 * dir/log/audit.log. */
static inline void tu_config_in(struct pv_config *cfg, const char *dir)
{
	pv_config_defaults(cfg);
	tu_path(cfg->store_dir, sizeof(cfg->store_dir), dir, "store");
	tu_path(cfg->key_file, sizeof(cfg->key_file), dir, "master.key");
	tu_path(cfg->audit_log, sizeof(cfg->audit_log), dir, "log/audit.log");
}

/* mkdir with an exact mode (umask ignored) and root ownership. */
static inline void tu_mkdir(const char *path, mode_t mode)
{
	if (mkdir(path, 0700) != 0)
		fail_msg("mkdir %s: %s", path, strerror(errno));
	assert_int_equal(chmod(path, mode), 0);
	assert_int_equal(chown(path, 0, 0), 0);
}

/* An address rule (or address) that must parse; fails the test naming it otherwise. */
static inline struct pv_cidr tu_cidr(const char *text)
{
	struct pv_cidr c;
	struct pv_err err = {{0}};

	if (pv_cidr_parse(text, &c, &err) != PV_OK)
		fail_msg("rule \"%s\" refused: %s", text, err.msg);
	return c;
}

/* pv_parse_time and pv_parse_query_time: a text read relative to now. */
typedef int (*tu_time_parser)(const char *text, time_t now, time_t *out, struct pv_err *err);

/* The time `parse` reads from text; fails the test (naming `what` and text) when refused. */
static inline time_t tu_time_ok(tu_time_parser parse, const char *what, const char *text,
                                time_t now)
{
	struct pv_err err = {{0}};
	time_t t = -1;

	if (parse(text, now, &t, &err) != PV_OK)
		fail_msg("%s\"%s\" refused: %s", what, text, err.msg);
	return t;
}

/* The message `parse` refuses text with; fails the test when it is accepted, or when the
 * refusal changed the output or said nothing. */
static inline const char *tu_time_refused(tu_time_parser parse, const char *what, const char *text,
                                          time_t now, struct pv_err *err)
{
	time_t t = 12345;

	memset(err, 0, sizeof(*err));
	if (parse(text, now, &t, err) != PV_ERR)
		fail_msg("%s\"%s\" accepted as %lld", what, text, (long long)t);
	assert_int_equal(t, 12345);
	assert_true(err->msg[0] != '\0');
	return err->msg;
}

/* The local time zone of a test (TZ), in effect at once. */
static inline void tu_use_zone(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

/* cmocka group setup: local time is Europe/Paris (CET/CEST), as the time tests expect. */
static inline int tu_setup_paris(void **state)
{
	(void)state;
	if (setenv("TZ", "Europe/Paris", 1) != 0)
		return -1;
	tzset();
	return 0;
}

/* cmocka fixture: a private temp dir per test, removed afterwards. */
struct tu_dir {
	char *dir;
};

static inline int tu_dir_setup(void **state)
{
	struct tu_dir *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	*state = f;
	return 0;
}

static inline int tu_dir_teardown(void **state)
{
	struct tu_dir *f = *state;

	tu_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

#endif

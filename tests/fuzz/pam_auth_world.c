/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_auth_world.c — the scratch tree fuzz_pam_auth's module reads and writes with its real
 * system calls: a root-owned 0700 directory on tmpfs (/dev/shm, else /tmp), made once per
 * process and emptied and filled again from each input (configuration, master key, one sealed
 * record, an audit log with one line, the session directory), then damaged as the input says.
 *   ROOT/etc/pam_vendor.conf  ROOT/etc/master.key  ROOT/store/NAME.rec  ROOT/store/NAME.lock
 *   ROOT/log/audit.log(.head, .lock)  ROOT/run/ (session records) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <sodium.h>

#include "audit.h"
#include "fuzz_common.h"
#include "json.h"
#include "pam_auth.h"
#include "schedule.h"
#include "store.h"

#define PREFIX "pv-fuzz-pam."

const unsigned char fz_totp_secret[PV_TOTP_SECRET_BYTES] = "fuzz-totp-secret-20b";

/* Default digits of the input's codes, by position: cut to otp_length. */
static const char *const default_digits[FZ_CODE_MAX] = {
    "482139075163", "591203847265", "730418256903", "264907318455",
    "815263049172", "139572864020", "907315426681", "358024716639"};

static void die(const char *what)
{
	fprintf(stderr, "fuzz_pam_auth: %s: %s\n", what, strerror(errno));
	abort();
}

static void path_of(const struct fz_world *w, const char *rel, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/%s", w->root, rel) >= len)
		abort();
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0 || fchmod(fd, mode) != 0 || (len > 0 && write(fd, data, len) != (ssize_t)len))
		die(path);
	close(fd);
}

/* Remove everything inside the directory fd (closed here). */
static void empty_dir(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;

	if (d == NULL)
		die("fdopendir");
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		int sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			die(e->d_name);
		if (S_ISDIR(st.st_mode)) {
			sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (sub < 0)
				die(e->d_name);
			empty_dir(sub);
			if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) != 0)
				die(e->d_name);
		} else if (unlinkat(dirfd(d), e->d_name, 0) != 0) {
			die(e->d_name);
		}
	}
	closedir(d);
}

static void remove_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	empty_dir(fd);
	rmdir(path);
}

static char cleanup_root[64];

static void remove_root(void)
{
	if (cleanup_root[0] != '\0')
		remove_tree(cleanup_root);
}

/* Scratch trees of fuzzer processes that are gone (a crash skips the atexit cleanup). */
static void remove_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[512];
		long pid;

		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(PREFIX), NULL, 10);
		if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		remove_tree(path);
	}
	closedir(d);
}

void fz_world_init(struct fz_world *w)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	unsigned char master[PV_KEY_BYTES];
	char key_path[128];
	struct pv_err err;

	memset(w, 0, sizeof(*w));
	if (geteuid() != 0) {
		fprintf(stderr, "fuzz_pam_auth: must run as root: the module accepts only "
		                "root-owned files\n");
		exit(1);
	}
	remove_stale(base);
	snprintf(w->root, sizeof(w->root), "%s/" PREFIX "%ld.XXXXXX", base, (long)getpid());
	if (mkdtemp(w->root) == NULL)
		die("mkdtemp");
	snprintf(cleanup_root, sizeof(cleanup_root), "%s", w->root);
	atexit(remove_root);
	path_of(w, "etc/pam_vendor.conf", w->config_path, sizeof(w->config_path));
	pv_config_defaults(&w->cfg);
	snprintf(w->cfg.store_dir, sizeof(w->cfg.store_dir), "%s/store", w->root);
	snprintf(w->cfg.key_file, sizeof(w->cfg.key_file), "%s/etc/master.key", w->root);
	snprintf(w->cfg.audit_log, sizeof(w->cfg.audit_log), "%s/log/audit.log", w->root);
	snprintf(w->cfg.session_dir, sizeof(w->cfg.session_dir), "%s/run", w->root);
	w->cfg.lock_timeout = 1;
	fz_test_record_key(master);
	sodium_bin2hex(w->key_hex, sizeof(w->key_hex), master, sizeof(master));
	path_of(w, "etc", key_path, sizeof(key_path));
	if (mkdir(key_path, 0755) != 0)
		die(key_path);
	write_file(w->cfg.key_file, w->key_hex, strlen(w->key_hex), 0600);
	if (pv_keys_load(w->cfg.key_file, &w->keys, &err) != PV_OK) {
		fprintf(stderr, "fuzz_pam_auth: %s\n", err.msg);
		abort();
	}
	if (oath_init() != OATH_OK)
		abort();
}

void fz_totp_at(int64_t step, char out[PV_OTP_MAX_LEN + 1])
{
	if (oath_totp_generate((const char *)fz_totp_secret, PV_TOTP_SECRET_BYTES,
	                       (time_t)(step * PV_TOTP_STEP), PV_TOTP_STEP, 0, PV_TOTP_DIGITS,
	                       out) != OATH_OK)
		abort();
}

/* --- the configuration and the module's arguments --- */

/* Lines that would leave the file backend (a database connection) are not fuzzed. */
static bool conf_line_allowed(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	return strncmp(line, "store_backend", 13) != 0 && strncmp(line, "pg_", 3) != 0;
}

static void build_config(struct fz_world *w, const struct fz_input *in)
{
	struct pv_buf b;
	struct pv_err err;
	size_t i;

	pv_buf_init(&b, 1 << 20);
	pv_buf_printf(&b, "store_dir = %s\nkey_file = %s\naudit_log = %s\nsession_dir = %s\n",
	              w->cfg.store_dir, w->cfg.key_file, w->cfg.audit_log, w->cfg.session_dir);
	/* The fuzzed vendors have no accounts (no recorder shell): recording is off here, as in
	 * the shell suites; tests/e2e/test_recording.sh covers it. */
	pv_buf_printf(&b, "session_recording = off\n");
	pv_buf_printf(&b, "lock_timeout = 1s\nfail_delay = 1s\nmax_failures = %u\n",
	              in->max_failures != 0 ? in->max_failures : 3);
	if (in->otp_length != 0)
		pv_buf_printf(&b, "otp_length = %u\n", in->otp_length);
	if (in->unknown_user != NULL)
		pv_buf_printf(&b, "unknown_user = %s\n", in->unknown_user);
	if (in->conf_group != NULL)
		pv_buf_printf(&b, "vendor_group = %s\n", in->conf_group);
	for (i = 0; i < in->n_conf; i++)
		if (conf_line_allowed(in->conf[i]))
			pv_buf_printf(&b, "%s\n", in->conf[i]);
	FZ_CHECK(!b.failed, "out of memory");
	w->config_text = b.data; /* the duplicate keys of a fuzzed line make the parse fail */
	w->config_parses = pv_config_parse(b.data, b.len, "fuzz", &w->parsed, &err) == PV_OK;
	write_file(w->config_path, b.data, b.len, 0644);
}

/* Does the module's config= path name the harness's file, as the module walks it: absolute,
 * no "." or ".." component, the same inode? */
static bool names_config(const struct fz_world *w, const char *path)
{
	struct stat a, b;
	const char *p;

	if (path[0] != '/' || strstr(path, "/./") != NULL || strstr(path, "/../") != NULL)
		return false;
	p = strrchr(path, '/');
	if (strcmp(p, "/.") == 0 || strcmp(p, "/..") == 0)
		return false;
	return lstat(path, &a) == 0 && lstat(w->config_path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* The module's own rules (parse_options): config= and vendor_group= need a value; the last
 * config= counts. */
static void build_argv(struct fz_world *w, const struct fz_input *in)
{
	const char *config = NULL;
	size_t i;

	w->argc = 0;
	FZ_CHECK(asprintf(&w->argv_store[w->argc++], "config=%s", w->config_path) > 0, "oom");
	for (i = 0; i < in->n_args; i++) {
		const char *a = in->args[i];
		char **slot = &w->argv_store[w->argc++];

		/* An absolute path names a file under the scratch root, never the system's. */
		if (strncmp(a, "config=/", 8) == 0)
			FZ_CHECK(asprintf(slot, "config=%s%s", w->root, a + 7) > 0, "oom");
		else
			FZ_CHECK((*slot = strdup(a)) != NULL, "oom");
		if (strcmp(a, "use_first_pass") == 0)
			w->use_first_pass = true;
		else if (strcmp(a, "try_first_pass") == 0)
			w->try_first_pass = true;
		else if (!(strncmp(a, "config=", 7) == 0 && a[7] != '\0') &&
		         !(strncmp(a, "vendor_group=", 13) == 0 && a[13] != '\0') &&
		         strcmp(a, "debug") != 0)
			w->unknown_arg = true;
	}
	for (i = 0; i < (size_t)w->argc; i++) {
		w->argv[i] = w->argv_store[i];
		if (strncmp(w->argv[i], "config=", 7) == 0 && w->argv[i][7] != '\0')
			config = w->argv[i] + 7;
	}
	w->config_named = names_config(w, config);
}

/* --- the record --- */

static void code_times(struct pv_code *c, enum fz_code_state state, int64_t now)
{
	static const int64_t expires[] = {
	    [FZ_CODE_VALID] = 600, [FZ_CODE_LAST] = 1,      [FZ_CODE_EDGE] = 0,
	    [FZ_CODE_USED] = 600,  [FZ_CODE_EXPIRED] = -60, [FZ_CODE_OLD] = -2 * 86400};

	c->issued = now - 300 + (state == FZ_CODE_OLD ? -2 * 86400 : 0);
	c->expires = now + expires[state];
	c->used_at = state == FZ_CODE_USED ? now - 100 : 0;
}

static void add_cidrs(struct pv_cidr *list, size_t *n, const char *const *text, size_t count)
{
	struct pv_err err;
	size_t i;

	for (i = 0; i < count && *n < PV_MAX_IPS; i++)
		if (pv_cidr_parse(text[i], &list[*n], &err) == PV_OK)
			(*n)++;
}

static void build_record(struct fz_world *w, struct fz_input *in, struct pv_record *rec)
{
	unsigned len = in->otp_length >= PV_OTP_MIN_LEN && in->otp_length <= PV_OTP_MAX_LEN
	                   ? in->otp_length
	                   : 8;
	struct pv_err err;
	size_t i;

	pv_record_init(rec, in->vendor, fz.now - 10 * 86400);
	add_cidrs(rec->ips, &rec->n_ips, in->ips, in->n_ips);
	if (rec->n_ips == 0 && pv_cidr_parse("203.0.113.0/24", &rec->ips[0], &err) == PV_OK)
		rec->n_ips = 1; /* a record has at least one address */
	add_cidrs(rec->window_ips, &rec->n_window_ips, in->window_ips, in->n_window_ips);
	if (in->win_start != 0 || in->win_end != 0) {
		rec->window_start = fz.now + in->win_start;
		rec->window_end = fz.now + in->win_end;
	}
	if (in->hours != NULL && pv_schedule_parse(in->hours, &rec->hours, &err) != PV_OK)
		memset(&rec->hours, 0, sizeof(rec->hours));
	rec->failures = in->failures;
	rec->locked = in->locked;
	for (i = 0; i < in->n_codes; i++) {
		struct fz_code *c = &in->codes[i];

		if (c->digits[0] == '\0') {
			memcpy(c->digits, default_digits[i], len);
			c->digits[len] = '\0';
		}
		FZ_CHECK(pv_otp_hash(&w->keys, in->vendor, c->digits, c->hash) == PV_OK, "hash");
		memcpy(rec->codes[i].hash, c->hash, sizeof(c->hash));
		code_times(&rec->codes[i], c->state, fz.now);
	}
	rec->n_codes = in->n_codes;
	if (in->totp) {
		rec->totp_enrolled = true;
		memcpy(rec->totp_secret, fz_totp_secret, sizeof(rec->totp_secret));
		if (in->totp_last_set)
			rec->totp_last_step = fz.now / PV_TOTP_STEP + in->totp_last;
	}
}

static bool store_record(struct fz_world *w, const struct pv_record *rec)
{
	struct pv_store *store = NULL;
	struct pv_err err;
	bool ok;

	ok = pv_store_open(&w->cfg, &store, &err) == PV_OK &&
	     pv_store_create(store, &w->keys, rec, &err) == PV_OK;
	pv_store_close(store);
	return ok;
}

bool fz_world_load(struct fz_world *w, const char *vendor, struct pv_record *rec)
{
	struct pv_store *store = NULL;
	struct pv_err err;
	bool ok;

	ok = pv_vendor_name_valid(vendor) && pv_store_open(&w->cfg, &store, &err) == PV_OK &&
	     pv_store_load(store, &w->keys, vendor, rec, &err) == PV_OK;
	pv_store_close(store);
	return ok;
}

/* --- damage --- */

static const struct {
	const char *rel; /* "%s": the vendor's name */
	bool dir;
} target_paths[FZ_T_COUNT] = {
    [FZ_T_CONFIG] = {"etc/pam_vendor.conf", false},
    [FZ_T_KEY] = {"etc/master.key", false},
    [FZ_T_STOREDIR] = {"store", true},
    [FZ_T_RECORD] = {"store/%s.rec", false},
    [FZ_T_LOCK] = {"store/%s.lock", false},
    [FZ_T_AUDITDIR] = {"log", true},
    [FZ_T_AUDITLOG] = {"log/audit.log", false},
    [FZ_T_AUDITHEAD] = {"log/audit.log.head", false},
    [FZ_T_SESSIONDIR] = {"run", true},
};

/* What a damage that was done stops. Only the certain cases: a damage whose effect the
 * module decides (a torn or garbled audit log, say) blocks nothing here. */
static unsigned blocks_of(enum fz_target t, enum fz_damage d)
{
	switch (t) {
	case FZ_T_CONFIG:
		return d == FZ_D_READABLE || d == FZ_D_TRUNCATED ? 0 : FZ_B_CLASSIFY;
	case FZ_T_KEY:
	case FZ_T_STOREDIR:
		return FZ_B_CLASSIFY;
	case FZ_T_RECORD:
		return d == FZ_D_MISSING ? 0 : FZ_B_LOAD;
	case FZ_T_LOCK:
		return d == FZ_D_MISSING || d == FZ_D_GARBAGE || d == FZ_D_TRUNCATED ? 0
		                                                                     : FZ_B_LOCK;
	case FZ_T_AUDITDIR:
		return d == FZ_D_READABLE ? 0 : FZ_B_AUDIT;
	case FZ_T_AUDITLOG:
		return d == FZ_D_MISSING || d == FZ_D_GARBAGE || d == FZ_D_TRUNCATED ? 0
		                                                                     : FZ_B_AUDIT;
	case FZ_T_AUDITHEAD:
		return d == FZ_D_GARBAGE || d == FZ_D_TRUNCATED ? 0 : FZ_B_AUDIT;
	case FZ_T_SESSIONDIR:
		return d == FZ_D_MISSING ? 0 : FZ_B_SESSION;
	case FZ_T_COUNT:
		break;
	}
	return 0;
}

/* The record sealed for another vendor, under this vendor's file name. */
static void write_other_name(struct fz_world *w, const char *path)
{
	struct pv_record *other = malloc(sizeof(*other));
	unsigned char *sealed = NULL;
	size_t len = 0;
	struct pv_err err;

	FZ_CHECK(other != NULL, "oom");
	*other = *w->rec0;
	snprintf(other->name, sizeof(other->name), "%s", strcmp(w->rec0->name, "zz") ? "zz" : "zy");
	FZ_CHECK(pv_record_seal(&w->keys, other, &sealed, &len, &err) == PV_OK, "%s", err.msg);
	write_file(path, sealed, len, 0600);
	free(sealed);
	pv_record_wipe(other);
	free(other);
}

static bool apply_damage(struct fz_world *w, const char *path, bool dir, enum fz_damage d)
{
	char other[PATH_MAX];
	struct stat st;

	if (lstat(path, &st) != 0)
		return false;
	switch (d) {
	case FZ_D_MISSING:
		return dir ? (remove_tree(path), true) : unlink(path) == 0;
	case FZ_D_WRITABLE:
		return chmod(path, dir ? 0777 : 0666) == 0;
	case FZ_D_READABLE:
		return chmod(path, dir ? 0755 : 0644) == 0;
	case FZ_D_OWNER:
		return lchown(path, 1, 1) == 0;
	case FZ_D_SYMLINK:
		snprintf(other, sizeof(other), "%s.real", path);
		return rename(path, other) == 0 && symlink(strrchr(other, '/') + 1, path) == 0;
	case FZ_D_GARBAGE:
		if (dir)
			return false;
		write_file(path, "garbage\n", 8, st.st_mode & 07777);
		return true;
	case FZ_D_TRUNCATED:
		return !dir && st.st_size > 0 && truncate(path, st.st_size - 1) == 0;
	case FZ_D_OTHERNAME:
		if (dir || w->rec0 == NULL || strstr(path, ".rec") == NULL)
			return false;
		write_other_name(w, path);
		return true;
	case FZ_D_DIR:
		if (dir) {
			remove_tree(path);
			write_file(path, "x", 1, 0600);
			return true;
		}
		return unlink(path) == 0 && mkdir(path, 0700) == 0;
	case FZ_D_NOHEAD:
		snprintf(other, sizeof(other), "%s.head", path);
		return strstr(path, "audit.log") != NULL && !dir && unlink(other) == 0;
	case FZ_D_COUNT:
		break;
	}
	return false;
}

static void damage(struct fz_world *w, const struct fz_input *in, const struct fz_break *b)
{
	char rel[PATH_MAX], path[PATH_MAX];

	if ((b->target == FZ_T_RECORD || b->target == FZ_T_LOCK) && !w->have_record)
		return;
	snprintf(rel, sizeof(rel), target_paths[b->target].rel, in->vendor);
	path_of(w, rel, path, sizeof(path));
	if (!apply_damage(w, path, target_paths[b->target].dir, b->damage))
		return;
	w->damaged = true;
	w->blocks |= blocks_of(b->target, b->damage);
	if (b->target == FZ_T_RECORD && b->damage == FZ_D_MISSING)
		w->have_record = false;
}

/* --- the whole tree --- */

/* One admin line, as otpctl would have written: the log and its head exist. */
static void first_audit_line(struct fz_world *w)
{
	struct pv_audit_event ev;
	struct pv_audit_sink sink = {0};
	struct pv_err err;

	pv_audit_event_init(&ev);
	ev.event = "admin";
	ev.service = "otpctl";
	ev.user = "acme";
	ev.result = "allow";
	ev.reason = "ok";
	ev.action = "enable";
	ev.admin = "root";
	/* pamh: the fuzz handle, so the syslog copy is captured (and dropped) by the wrapper. */
	sink.log = w->cfg.audit_log;
	sink.keys = &w->keys;
	sink.lock_timeout = 1;
	sink.pamh = fz.handle;
	FZ_CHECK(pv_audit_append(&sink, &ev, fz.now - 60, &err) == PV_OK,
	         "cannot write the first audit line: %s", err.msg);
}

static void make_dir(struct fz_world *w, const char *rel, mode_t mode)
{
	char path[PATH_MAX];

	path_of(w, rel, path, sizeof(path));
	if (mkdir(path, mode) != 0 || chmod(path, mode) != 0)
		die(path);
}

void fz_world_setup(struct fz_world *w, struct fz_input *in)
{
	size_t i;

	remove_tree(w->root);
	if (mkdir(w->root, 0700) != 0 && errno != EEXIST)
		die(w->root);
	make_dir(w, "etc", 0755);
	make_dir(w, "store", 0700);
	make_dir(w, "log", 0700);
	make_dir(w, "run", 0700);
	write_file(w->cfg.key_file, w->key_hex, strlen(w->key_hex), 0600);
	build_config(w, in);
	build_argv(w, in);
	w->rec0 = calloc(1, sizeof(*w->rec0));
	FZ_CHECK(w->rec0 != NULL, "oom");
	build_record(w, in, w->rec0);
	w->have_record =
	    !in->norecord && pv_vendor_name_valid(in->vendor) && store_record(w, w->rec0);
	first_audit_line(w);
	for (i = 0; i < in->n_breaks; i++)
		damage(w, in, &in->breaks[i]);
}

void fz_world_teardown(struct fz_world *w)
{
	int i;

	for (i = 0; i < w->argc; i++)
		free(w->argv_store[i]);
	w->argc = 0;
	free(w->config_text);
	w->config_text = NULL;
	if (w->rec0 != NULL)
		pv_record_wipe(w->rec0);
	free(w->rec0);
	w->rec0 = NULL;
	w->blocks = 0;
	w->damaged = false;
	w->have_record = w->unknown_arg = w->use_first_pass = w->try_first_pass = false;
}

char *fz_world_audit(const struct fz_world *w, size_t *len)
{
	struct stat st;
	char *data;
	int fd = open(w->cfg.audit_log, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	data = malloc((size_t)st.st_size + 1);
	FZ_CHECK(data != NULL, "oom");
	while (*len < (size_t)st.st_size) {
		ssize_t r = read(fd, data + *len, (size_t)st.st_size - *len);
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	data[*len] = '\0';
	close(fd);
	return data;
}

int fz_world_sessions(const struct fz_world *w)
{
	DIR *d = opendir(w->cfg.session_dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

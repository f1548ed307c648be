/* SPDX-License-Identifier: BSD-3-Clause */
/* pvbench.c — the `make bench` harness (not part of `make check`).
 *
 * Runs complete PAM transactions in-process through the real libpam, with a private service
 * directory (pam_start_confdir), exactly as sshd's sequence does on one handle:
 *   pam_start, PAM_RHOST, PAM_TTY, pam_authenticate (code through the conversation),
 *   pam_acct_mgmt, pam_open_session, pam_close_session, pam_end.
 * The same loop drives pam_vendor, pam_oath (HOTP usersfile) and pam_google_authenticator
 * (HOTP), and a "floor" that does only the durable writes one single-use login needs.
 * Codes are issued beforehand, outside the timed part: pam_vendor's through the core API
 * (pv_store_update, as `otpctl issue` does, without its audit line), HOTP codes with liboath.
 *
 * pvbench genstore --config CFG --vendors N
 * pvbench genaudit --config CFG --lines N
 * pvbench login    --module vendor|oath|gauth|permit|floor|contract --logins N [--clients C]
 * [--same]
 *                  [--warmup W] [--label L] [--disk D] [--strace-markers] [--raw FILE]
 *                  [--max-failures N]
 *                  vendor: --confdir D --service S --config CFG
 *                  oath:   --confdir D --service S --oath-file F
 *                  gauth:  --confdir D --service S --gauth-dir D
 *                  permit: --confdir D --service S   (pam_permit only: libpam's own cost)
 *                  floor:  --dir D [--record-bytes B]
 *                  contract: --confdir D --service S (pam_permit) --dir D [--record-bytes B]
 *                          (the contract floor: a bare PAM transaction plus the durable writes
 *                          the contract needs for one login; docs/performance.md)
 * pvbench syslogd  [--dir SOCKET]   (discarding syslog receiver; default /dev/log)
 * pvbench stats    --module M --label L --disk D [--clients C] [--same] RAWFILE...
 *                  (merges the --raw files of interleaved runs of one scenario)
 * Result line (stdout, tab-separated):
 *   RESULT label disk module clients mode logins median_ms p90_ms p99_ms mean_ms logins_per_s
 *          failures
 * Every login should succeed: failures (warm-up included) are counted, the first one is
 * described on stderr, and the exit status is 1 when there are more than --max-failures (0). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liboath/oath.h>
#include <security/pam_appl.h>
#include <sodium.h>

#include "audit.h"
#include "config.h"
#include "ipmatch.h"
#include "keys.h"
#include "otp.h"
#include "record.h"
#include "store.h"

#define MAX_CLIENTS   16
#define BATCH         32 /* codes issued per vendor per round (PV_MAX_CODES) */
#define CODE_MAX      16
#define RHOST         "203.0.113.7"
#define VENDOR_NET    "203.0.113.0/24"
#define HOTP_DIGITS   6
#define HOTP_SECRET_N 20

enum module { MOD_VENDOR, MOD_OATH, MOD_GAUTH, MOD_PERMIT, MOD_FLOOR, MOD_CONTRACT };

struct opts {
	enum module module;
	const char *confdir;
	const char *service;
	const char *config;
	const char *oath_file;
	const char *gauth_dir;
	const char *dir;
	const char *label;
	const char *disk;
	long logins;
	int clients;
	bool same;
	long warmup;
	size_t record_bytes;
	bool markers;
	const char *raw;   /* write every latency (ms, in run order) here */
	long max_failures; /* tolerated failed logins (reported either way) */
};

/* Shared between the parent (which issues codes between rounds) and the clients. */
struct shared {
	int count[MAX_CLIENTS]; /* logins this round */
	long base[MAX_CLIENTS]; /* where this round's latencies go; -1: warm-up, not kept */
	int user[MAX_CLIENTS];  /* user (vendor) index this round */
	char codes[MAX_CLIENTS][BATCH][CODE_MAX];
	int failures;
	char first_failure[256];
	double lat[]; /* seconds, one per timed login */
};

static struct opts opt;
static struct shared *sh;

/* --- small helpers --- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "pvbench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static const char *module_name(enum module m)
{
	switch (m) {
	case MOD_VENDOR:
		return "pam_vendor";
	case MOD_OATH:
		return "pam_oath";
	case MOD_GAUTH:
		return "google_authenticator";
	case MOD_PERMIT:
		return "pam_permit";
	case MOD_CONTRACT:
		return "contract_floor";
	default:
		return "floor";
	}
}

static void user_name(int i, char *buf, size_t len)
{
	snprintf(buf, len, "v%06d", i);
}

/* strace marker: a failing write(-1, ...) is visible in `strace -f` output and costs nothing. */
static void marker(const char *text)
{
	if (opt.markers) {
		ssize_t r = write(-1, text, strlen(text));
		(void)r;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[n]. */
static double pct(const double *v, long n, double p)
{
	long k = (long)ceil(p * (double)n);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

/* --- the PAM side --- */

struct conv_state {
	const char *code;
	int prompts;
};

static int conversation(int n, const struct pam_message **msg, struct pam_response **resp,
                        void *appdata)
{
	struct conv_state *st = appdata;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			st->prompts++;
			r[i].resp = strdup(st->code);
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void note_failure(const char *user, const char *step, int rc)
{
	if (__atomic_fetch_add(&sh->failures, 1, __ATOMIC_SEQ_CST) == 0)
		snprintf(sh->first_failure, sizeof(sh->first_failure), "%s: %s returned %d (%s)",
		         user, step, rc, pam_strerror(NULL, rc));
}

static bool contract_step(int client, const char *event);

/* After one PAM step: the contract floor's durable writes for it (nothing for the others). */
static bool after_step(int client, const char *event)
{
	return opt.module != MOD_CONTRACT || contract_step(client, event);
}

/* One complete transaction; true when every step returned PAM_SUCCESS. */
static bool pam_login(const char *user, const char *code, int client)
{
	struct conv_state st = {code, 0};
	struct pam_conv conv = {conversation, &st};
	pam_handle_t *pamh = NULL;
	int rc;

	rc = pam_start_confdir(opt.service, user, &conv, opt.confdir, &pamh);
	if (rc != PAM_SUCCESS) {
		note_failure(user, "pam_start", rc);
		return false;
	}
	pam_set_item(pamh, PAM_RHOST, RHOST);
	pam_set_item(pamh, PAM_TTY, "ssh");
	if ((rc = pam_authenticate(pamh, 0)) != PAM_SUCCESS) {
		note_failure(user, "pam_authenticate", rc);
		goto fail;
	}
	if (!after_step(client, "auth"))
		goto fail;
	if ((rc = pam_acct_mgmt(pamh, 0)) != PAM_SUCCESS) {
		note_failure(user, "pam_acct_mgmt", rc);
		goto fail;
	}
	if (!after_step(client, "account"))
		goto fail;
	if ((rc = pam_open_session(pamh, 0)) != PAM_SUCCESS) {
		note_failure(user, "pam_open_session", rc);
		goto fail;
	}
	if (!after_step(client, "session_open"))
		goto fail;
	if ((rc = pam_close_session(pamh, 0)) != PAM_SUCCESS) {
		note_failure(user, "pam_close_session", rc);
		goto fail;
	}
	if (!after_step(client, "session_close"))
		goto fail;
	if (st.prompts != (opt.module == MOD_PERMIT || opt.module == MOD_CONTRACT ? 0 : 1)) {
		note_failure(user, "conversation (unexpected number of prompts)", PAM_CONV_ERR);
		goto fail;
	}
	pam_end(pamh, PAM_SUCCESS);
	return true;
fail:
	pam_end(pamh, rc);
	return false;
}

/* --- the floors: durable writes only, no crypto, no PAM logic --- */

/* The record commit the contract's own words describe (BRIEF §3): temp file + fsync + rename +
 * directory fsync. 2 syncs. */
static bool floor_record_commit(int dirfd, int client)
{
	char name[64], tmp[96];
	unsigned char rnd[8];
	unsigned char *rec = malloc(opt.record_bytes);
	int fd = -1;
	bool ok = false;

	if (rec == NULL)
		return false;
	memset(rec, 'a' + (int)(getpid() % 26), opt.record_bytes); /* content does not matter */
	randombytes_buf(rnd, sizeof(rnd));                         /* temp name, as the core */
	snprintf(name, sizeof(name), "rec.%d", client);
	snprintf(tmp, sizeof(tmp), ".%s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", name, rnd[0], rnd[1],
	         rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, rec, opt.record_bytes) != (ssize_t)opt.record_bytes ||
	    fsync(fd) != 0 || close(fd) != 0)
		goto out;
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) != 0 || fsync(dirfd) != 0)
		goto out;
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	free(rec);
	return ok;
}

/* One audit line (~330 bytes, the size of pam_vendor's) appended with one write, then
 * fdatasync: on disk before the caller goes on. 1 sync. */
static bool floor_line(int dirfd, int client, const char *event)
{
	char line[400];
	size_t n;
	int fd;
	bool ok;

	n = (size_t)snprintf(
	    line, sizeof(line),
	    "{\"seq\":%ld,\"event\":\"%s\",\"user\":\"v%06d\",\"pad\":\"%0280d\"}\n",
	    (long)getpid(), event, client, 0);
	fd = openat(dirfd, "audit.log", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	            0600);
	if (fd < 0)
		return false;
	ok = write(fd, line, n) == (ssize_t)n && fdatasync(fd) == 0;
	if (close(fd) != 0)
		ok = false;
	return ok;
}

/* The floor of BRIEF §7: one record commit and one durable audit line, nothing else. */
static bool floor_login(int client)
{
	int dirfd = open(opt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok =
	    dirfd >= 0 && floor_record_commit(dirfd, client) && floor_line(dirfd, client, "auth");

	if (!ok)
		note_failure("floor", strerror(errno), -1);
	if (dirfd >= 0)
		close(dirfd);
	return ok;
}

/* The contract floor's durable writes after one PAM step of a pam_permit transaction (see
 * docs/performance.md, "The contract floor", for why each is durable before the answer):
 * auth: the consumed code (record commit) and the auth line; account, session_open,
 * session_close: their line. Each PAM call opens the directory itself, as a module would. */
static bool contract_step(int client, const char *event)
{
	int dirfd = open(opt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = dirfd >= 0;

	if (ok && strcmp(event, "auth") == 0)
		ok = floor_record_commit(dirfd, client);
	if (ok)
		ok = floor_line(dirfd, client, event);
	if (!ok)
		note_failure("contract floor", strerror(errno), -1);
	if (dirfd >= 0)
		close(dirfd);
	return ok;
}

/* --- clients --- */

static void client_loop(int idx, int start_fd, int done_fd)
{
	char user[PV_NAME_MAX + 1];
	char cmd;
	int i;

	for (;;) {
		if (read(start_fd, &cmd, 1) != 1 || cmd == 'q')
			_exit(0);
		user_name(sh->user[idx], user, sizeof(user));
		for (i = 0; i < sh->count[idx]; i++) {
			double t0, t1;
			bool ok;

			marker("PVBENCH_LOGIN_BEGIN");
			t0 = now_s();
			if (opt.module == MOD_FLOOR)
				ok = floor_login(sh->user[idx]);
			else
				ok = pam_login(user, sh->codes[idx][i], sh->user[idx]);
			t1 = now_s();
			marker("PVBENCH_LOGIN_END");
			(void)ok;
			if (sh->base[idx] >= 0)
				sh->lat[sh->base[idx] + i] = t1 - t0;
		}
		cmd = 'd';
		if (write(done_fd, &cmd, 1) != 1)
			_exit(1);
	}
}

/* --- issuing codes (parent, between rounds: not timed) --- */

struct vendor_env {
	struct pv_config cfg;
	struct pv_keys keys;
	struct pv_store *store;
};

static struct vendor_env venv;

struct refill {
	int k;
	char digits[BATCH][PV_OTP_MAX_LEN + 1];
	int64_t now;
};

/* Replace the record's codes by k fresh ones, as `otpctl issue` would add them (keyed hash
 * only, issued now, valid otp_ttl). The previous round's codes are all used: dropping them
 * keeps the record at a realistic size (at most BATCH codes). */
static enum pv_modify_result refill_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct refill *rf = vctx;
	int i, j;

	sodium_memzero(rec->codes, sizeof(rec->codes));
	rec->n_codes = 0;
	for (i = 0; i < rf->k; i++) {
		struct pv_code *c = &rec->codes[rec->n_codes];
		bool dup;
		do {
			pv_otp_generate(venv.cfg.otp_length, rf->digits[i]);
			dup = false;
			for (j = 0; j < i; j++)
				dup = dup || strcmp(rf->digits[i], rf->digits[j]) == 0;
		} while (dup);
		if (pv_otp_hash(&venv.keys, rec->name, rf->digits[i], c->hash) != PV_OK) {
			pv_err_set(err, "cannot hash a code");
			return PV_MODIFY_FAIL;
		}
		c->issued = rf->now;
		c->expires = rf->now + venv.cfg.otp_ttl;
		c->used_at = 0;
		rec->n_codes++;
	}
	return PV_MODIFY_SAVE;
}

static void vendor_open(void)
{
	struct pv_err err;

	if (pv_config_load(opt.config, &venv.cfg, &err) != PV_OK || pv_crypto_init(&err) != PV_OK ||
	    pv_keys_load(venv.cfg.key_file, &venv.keys, &err) != PV_OK ||
	    pv_store_open(&venv.cfg, &venv.store, &err) != PV_OK)
		die("%s", err.msg);
}

static void vendor_issue(int user, int k, char (*out)[CODE_MAX])
{
	char name[PV_NAME_MAX + 1];
	struct refill rf;
	struct pv_err err;
	int i;

	memset(&rf, 0, sizeof(rf));
	rf.k = k;
	rf.now = (int64_t)time(NULL);
	user_name(user, name, sizeof(name));
	if (pv_store_update(venv.store, &venv.keys, name, refill_locked, &rf, &err) != PV_OK)
		die("issuing codes: %s", err.msg);
	for (i = 0; i < k; i++)
		snprintf(out[i], CODE_MAX, "%s", rf.digits[i]);
	sodium_memzero(&rf, sizeof(rf));
}

/* HOTP peers: one secret for every bench user, a counter per user kept here. */
static const char hotp_secret[HOTP_SECRET_N] = "pvbench-hotp-secret!";
static uint64_t hotp_counter[MAX_CLIENTS];

static void hotp_issue(int user, int k, char (*out)[CODE_MAX])
{
	int i;

	for (i = 0; i < k; i++) {
		char code[HOTP_DIGITS + 1];
		if (oath_hotp_generate(hotp_secret, HOTP_SECRET_N, hotp_counter[user]++,
		                       HOTP_DIGITS, false, OATH_HOTP_DYNAMIC_TRUNCATION,
		                       code) != OATH_OK)
			die("%s", "oath_hotp_generate failed");
		snprintf(out[i], CODE_MAX, "%s", code);
	}
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0 ||
	    fclose(f) != 0 || chmod(path, mode) != 0)
		die("cannot write %s", path);
}

/* Fresh peer state for users 0..clients-1: counters restart at the value each module expects
 * (pam_oath: 0, the usersfile default; google-authenticator: HOTP_COUNTER 1). */
static void peers_setup(void)
{
	char hex[2 * HOTP_SECRET_N + 1];
	char *b32 = NULL;
	size_t b32len = 0;
	char user[PV_NAME_MAX + 1];
	char path[PATH_MAX];
	char text[4096];
	size_t off = 0;
	int i;

	sodium_bin2hex(hex, sizeof(hex), (const unsigned char *)hotp_secret, HOTP_SECRET_N);
	if (opt.module == MOD_OATH) {
		for (i = 0; i < opt.clients; i++) {
			user_name(i, user, sizeof(user));
			off += (size_t)snprintf(text + off, sizeof(text) - off, "HOTP %s - %s\n",
			                        user, hex);
			hotp_counter[i] = 0;
		}
		write_file(opt.oath_file, text, 0600);
	} else if (opt.module == MOD_GAUTH) {
		if (oath_base32_encode(hotp_secret, HOTP_SECRET_N, &b32, &b32len) != OATH_OK)
			die("%s", "base32 failed");
		for (i = 0; i < opt.clients; i++) {
			user_name(i, user, sizeof(user));
			snprintf(path, sizeof(path), "%s/%s", opt.gauth_dir, user);
			snprintf(text, sizeof(text), "%s\n\" HOTP_COUNTER 1\n\" WINDOW_SIZE 1\n",
			         b32);
			write_file(path, text, 0400);
			hotp_counter[i] = 1;
		}
		free(b32);
	}
}

/* --- rounds --- */

struct pool {
	pid_t pid[MAX_CLIENTS];
	int start[MAX_CLIENTS];
	int done;
};

static void pool_start(struct pool *p)
{
	int done_pipe[2];
	int i;

	if (pipe(done_pipe) != 0)
		die("%s", "pipe");
	for (i = 0; i < opt.clients; i++) {
		int sp[2];
		if (pipe(sp) != 0)
			die("%s", "pipe");
		p->pid[i] = fork();
		if (p->pid[i] < 0)
			die("%s", "fork");
		if (p->pid[i] == 0) {
			close(sp[1]);
			close(done_pipe[0]);
			client_loop(i, sp[0], done_pipe[1]);
		}
		close(sp[0]);
		p->start[i] = sp[1];
	}
	close(done_pipe[1]);
	p->done = done_pipe[0];
}

static void pool_stop(struct pool *p)
{
	int i;

	for (i = 0; i < opt.clients; i++) {
		char q = 'q';
		if (write(p->start[i], &q, 1) != 1)
			kill(p->pid[i], SIGTERM);
		close(p->start[i]);
		waitpid(p->pid[i], NULL, 0);
	}
	close(p->done);
}

/* Run `total` logins in rounds; latencies go to sh->lat[base...] unless keep is false.
 * Returns the wall time of the rounds (issuing codes between rounds excluded). */
static double run_logins(struct pool *p, long total, bool keep, long base)
{
	double wall = 0;
	long left = total;
	int i;

	while (left > 0) {
		int active = 0;
		double t0;

		/* Share this round: on distinct vendors each client gets up to BATCH logins on its
		 * own vendor; on one vendor the BATCH codes are split between the clients. */
		for (i = 0; i < opt.clients; i++) {
			long k;
			if (opt.same)
				k = (left < BATCH ? left : BATCH) / opt.clients +
				    (i < (left < BATCH ? left : BATCH) % opt.clients);
			else
				k = (left + opt.clients - 1 - i) / opt.clients;
			if (k > BATCH)
				k = BATCH;
			sh->count[i] = (int)k;
			sh->user[i] = opt.same ? 0 : i;
		}
		if (opt.same) {
			char all[BATCH][CODE_MAX];
			int n = 0, j;
			memset(all, 0, sizeof(all));
			for (i = 0; i < opt.clients; i++)
				n += sh->count[i];
			if (opt.module == MOD_VENDOR)
				vendor_issue(0, n, all);
			else if (opt.module == MOD_OATH || opt.module == MOD_GAUTH)
				hotp_issue(0, n, all);
			n = 0;
			for (i = 0; i < opt.clients; i++)
				for (j = 0; j < sh->count[i]; j++)
					memcpy(sh->codes[i][j], all[n++], CODE_MAX);
		} else {
			for (i = 0; i < opt.clients; i++) {
				if (sh->count[i] == 0)
					continue;
				if (opt.module == MOD_VENDOR)
					vendor_issue(i, sh->count[i], sh->codes[i]);
				else if (opt.module == MOD_OATH || opt.module == MOD_GAUTH)
					hotp_issue(i, sh->count[i], sh->codes[i]);
			}
		}
		for (i = 0; i < opt.clients; i++) {
			sh->base[i] = keep ? base : -1;
			base += sh->count[i];
			left -= sh->count[i];
		}
		t0 = now_s();
		for (i = 0; i < opt.clients; i++) {
			char go = 'g';
			if (sh->count[i] > 0) {
				if (write(p->start[i], &go, 1) != 1)
					die("%s", "client died");
				active++;
			}
		}
		while (active-- > 0) {
			char d;
			if (read(p->done, &d, 1) != 1)
				die("%s", "client died");
		}
		wall += now_s() - t0;
	}
	return wall;
}

/* Sorts lat[n] (seconds) and prints the RESULT line. */
static void print_result(double *lat, long n, double sum, double wall, long failures)
{
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	printf("RESULT\t%s\t%s\t%s\t%d\t%s\t%ld\t%.3f\t%.3f\t%.3f\t%.3f\t%.1f\t%ld\n", opt.label,
	       opt.disk, module_name(opt.module), opt.clients, opt.same ? "one" : "distinct", n,
	       pct(lat, n, 0.5) * 1e3, pct(lat, n, 0.9) * 1e3, pct(lat, n, 0.99) * 1e3,
	       sum / (double)n * 1e3, (double)n / wall, failures);
}

/* Merge --raw files written by several interleaved runs of one scenario. */
static int cmd_stats(int nfiles, char **files)
{
	double *lat = NULL, sum = 0, wall = 0;
	long n = 0, cap = 0, failures = 0;
	int i;

	for (i = 0; i < nfiles; i++) {
		char line[128];
		FILE *f = fopen(files[i], "r");
		if (f == NULL)
			die("cannot read %s", files[i]);
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "#wall ", 6) == 0) {
				wall += strtod(line + 6, NULL);
				continue;
			}
			if (strncmp(line, "#failures ", 10) == 0) {
				failures += strtol(line + 10, NULL, 10);
				continue;
			}
			if (n == cap) {
				cap = cap ? 2 * cap : 4096;
				lat = realloc(lat, (size_t)cap * sizeof(double));
				if (lat == NULL)
					die("%s", "out of memory");
			}
			lat[n] = strtod(line, NULL) / 1e3;
			sum += lat[n++];
		}
		fclose(f);
	}
	if (n == 0 || wall <= 0)
		die("%s", "no samples");
	print_result(lat, n, sum, wall, failures);
	free(lat);
	return 0;
}

static int cmd_login(void)
{
	struct pool p;
	double wall, sum = 0;
	size_t size;
	long i, n = opt.logins;

	if (opt.clients < 1 || opt.clients > MAX_CLIENTS || n < 1)
		die("%s", "--clients must be 1..16 and --logins >= 1");
	if ((opt.module == MOD_OATH || opt.module == MOD_GAUTH) && opt.same)
		die("%s", "HOTP peers: one client per user only (--same is for pam_vendor)");
	if (opt.module != MOD_FLOOR && (opt.confdir == NULL || opt.service == NULL))
		die("%s", "--confdir and --service are required");
	if (sodium_init() < 0 || oath_init() != OATH_OK)
		die("%s", "library init failed");
	size = sizeof(struct shared) + (size_t)n * sizeof(double);
	sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("%s", "mmap");
	switch (opt.module) {
	case MOD_VENDOR:
		if (opt.config == NULL)
			die("%s", "--config is required for pam_vendor");
		vendor_open();
		break;
	case MOD_OATH:
		if (opt.oath_file == NULL)
			die("%s", "--oath-file is required");
		peers_setup();
		break;
	case MOD_GAUTH:
		if (opt.gauth_dir == NULL)
			die("%s", "--gauth-dir is required");
		peers_setup();
		break;
	case MOD_PERMIT: /* libpam's own cost: a stack of pam_permit, no code */
		break;
	case MOD_FLOOR:
	case MOD_CONTRACT: /* a pam_permit transaction plus the contract's durable writes */
		if (opt.dir == NULL)
			die("%s", "--dir is required");
		break;
	}
	pool_start(&p);
	if (opt.warmup > 0)
		(void)run_logins(&p, opt.warmup, false, 0);
	wall = run_logins(&p, n, true, 0);
	pool_stop(&p);
	if (sh->failures > 0)
		fprintf(
		    stderr, "pvbench: %s %s %d client(s) %s: %d of %ld logins failed; first: %s\n",
		    opt.disk, module_name(opt.module), opt.clients, opt.same ? "one" : "distinct",
		    sh->failures, n + opt.warmup, sh->first_failure);
	for (i = 0; i < n; i++)
		sum += sh->lat[i];
	if (opt.raw != NULL) {
		FILE *f = fopen(opt.raw, "a");
		if (f == NULL)
			die("cannot write %s", opt.raw);
		for (i = 0; i < n; i++)
			fprintf(f, "%.4f\n", sh->lat[i] * 1e3);
		fprintf(f, "#wall %.6f\n#failures %d\n", wall, sh->failures);
		if (fclose(f) != 0)
			die("cannot write %s", opt.raw);
	}
	print_result(sh->lat, n, sum, wall, sh->failures);
	if (opt.module == MOD_VENDOR) {
		pv_store_close(venv.store);
		pv_keys_wipe(&venv.keys);
	}
	return sh->failures > opt.max_failures ? 1 : 0;
}

/* --- generators (core API only) --- */

static void gen_open(const char *config)
{
	opt.config = config;
	vendor_open();
}

static int cmd_genstore(long n)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_err err;
	int64_t now = (int64_t)time(NULL);
	double t0 = now_s();
	long i;

	if (rec == NULL)
		die("%s", "out of memory");
	for (i = 0; i < n; i++) {
		char name[PV_NAME_MAX + 1];
		int rc;

		user_name((int)i, name, sizeof(name));
		pv_record_init(rec, name, now);
		if (pv_cidr_parse(VENDOR_NET, &rec->ips[0], &err) != PV_OK)
			die("%s", err.msg);
		rec->n_ips = 1;
		rec->window_start = now - 60;
		rec->window_end = now + venv.cfg.max_window - 60;
		rc = pv_store_create(venv.store, &venv.keys, rec, &err);
		if (rc == PV_EXISTS)
			continue;
		if (rc != PV_OK)
			die("%s", err.msg);
	}
	fprintf(stderr, "pvbench: %ld vendors in %.2f s\n", n, now_s() - t0);
	pv_record_wipe(rec);
	free(rec);
	return 0;
}

/* A realistic log: sessions of the first 100 vendors spread over the last 180 days
 * (auth, account, session_open, session_close per login), plus an admin line now and then. */
static int cmd_genaudit(long n)
{
	static const char *const events[] = {"auth", "account", "session_open", "session_close"};
	const struct pv_audit_sink sink = {
	    .log = venv.cfg.audit_log,
	    .keys = &venv.keys,
	    .lock_timeout = (int)venv.cfg.lock_timeout,
	};
	struct pv_err err;
	int64_t now = (int64_t)time(NULL);
	int64_t span = 180 * 86400;
	double t0 = now_s();
	long i;

	for (i = 0; i < n; i++) {
		struct pv_audit_event ev;
		char user[PV_NAME_MAX + 1];
		char rhost[PV_IP_TEXT_MAX];
		char session[33];
		long login = i / 4;
		int64_t when = now - span + (int64_t)((double)span * (double)i / (double)n);

		user_name((int)(login % 100), user, sizeof(user));
		snprintf(rhost, sizeof(rhost), "203.0.113.%ld", 1 + login % 250);
		snprintf(session, sizeof(session), "%032lx", (unsigned long)login);
		pv_audit_event_init(&ev);
		ev.service = "sshd";
		ev.user = user;
		ev.rhost = rhost;
		ev.result = "allow";
		ev.reason = "ok";
		ev.tty = "ssh";
		if (i % 1000 == 999) {
			ev.event = "admin";
			ev.service = "otpctl";
			ev.rhost = NULL;
			ev.tty = NULL;
			ev.action = "issue";
			ev.admin = "root";
			ev.detail = "code valid until later";
		} else {
			ev.event = events[i % 4];
			if (i % 4 >= 2) {
				ev.session = session;
				ev.pid = 4242;
			}
			if (i % 4 == 3)
				ev.duration_s = 600 + login % 3600;
		}
		if (pv_audit_append(&sink, &ev, when, &err) != PV_OK)
			die("%s", err.msg);
	}
	fprintf(stderr, "pvbench: %ld audit lines in %.2f s\n", n, now_s() - t0);
	return 0;
}

/* A minimal syslog receiver for the benchmark's private /dev/log: receive and discard, so
 * that every module's syslog calls cost what sending to a local daemon costs (and none falls
 * back to writing to the console). Runs until killed. */
static int cmd_syslogd(const char *path)
{
	struct sockaddr_un sa;
	char buf[8192];
	int rcvbuf = 8 << 20;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		die("socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0666) != 0)
		die("cannot listen on %s", path);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno != EINTR)
			die("%s", "recv failed");
	}
}

/* --- arguments --- */

static const char *value(int *i, int argc, char **argv)
{
	if (*i + 1 >= argc)
		die("%s needs a value", argv[*i]);
	return argv[++*i];
}

static long number(const char *text)
{
	char *end = NULL;
	long v = strtol(text, &end, 10);

	if (end == text || *end != '\0' || v < 0)
		die("bad number %s", text);
	return v;
}

int main(int argc, char **argv)
{
	const char *cmd;
	char **files = calloc((size_t)argc, sizeof(char *));
	int nfiles = 0;
	long count = 0;
	int i;

	if (argc < 2 || files == NULL)
		die("%s",
		    "usage: pvbench genstore|genaudit|login|stats|syslogd ... (see the source)");
	cmd = argv[1];
	opt.clients = 1;
	opt.warmup = 10;
	opt.label = "run";
	opt.disk = "?";
	opt.record_bytes = 1024;
	opt.module = MOD_VENDOR;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--module") == 0) {
			const char *m = value(&i, argc, argv);
			if (strcmp(m, "vendor") == 0)
				opt.module = MOD_VENDOR;
			else if (strcmp(m, "oath") == 0)
				opt.module = MOD_OATH;
			else if (strcmp(m, "gauth") == 0)
				opt.module = MOD_GAUTH;
			else if (strcmp(m, "floor") == 0)
				opt.module = MOD_FLOOR;
			else if (strcmp(m, "permit") == 0)
				opt.module = MOD_PERMIT;
			else if (strcmp(m, "contract") == 0)
				opt.module = MOD_CONTRACT;
			else
				die("unknown module %s", m);
		} else if (strcmp(a, "--confdir") == 0)
			opt.confdir = value(&i, argc, argv);
		else if (strcmp(a, "--service") == 0)
			opt.service = value(&i, argc, argv);
		else if (strcmp(a, "--config") == 0)
			opt.config = value(&i, argc, argv);
		else if (strcmp(a, "--oath-file") == 0)
			opt.oath_file = value(&i, argc, argv);
		else if (strcmp(a, "--gauth-dir") == 0)
			opt.gauth_dir = value(&i, argc, argv);
		else if (strcmp(a, "--dir") == 0)
			opt.dir = value(&i, argc, argv);
		else if (strcmp(a, "--label") == 0)
			opt.label = value(&i, argc, argv);
		else if (strcmp(a, "--disk") == 0)
			opt.disk = value(&i, argc, argv);
		else if (strcmp(a, "--logins") == 0)
			opt.logins = number(value(&i, argc, argv));
		else if (strcmp(a, "--clients") == 0)
			opt.clients = (int)number(value(&i, argc, argv));
		else if (strcmp(a, "--warmup") == 0)
			opt.warmup = number(value(&i, argc, argv));
		else if (strcmp(a, "--record-bytes") == 0)
			opt.record_bytes = (size_t)number(value(&i, argc, argv));
		else if (strcmp(a, "--same") == 0)
			opt.same = true;
		else if (strcmp(a, "--max-failures") == 0)
			opt.max_failures = number(value(&i, argc, argv));
		else if (strcmp(a, "--raw") == 0)
			opt.raw = value(&i, argc, argv);
		else if (strcmp(a, "--strace-markers") == 0)
			opt.markers = true;
		else if (strcmp(a, "--vendors") == 0 || strcmp(a, "--lines") == 0)
			count = number(value(&i, argc, argv));
		else if (strcmp(cmd, "stats") == 0 && a[0] != '-')
			files[nfiles++] = argv[i];
		else
			die("unknown argument %s", a);
	}
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(nfiles, files);
	if (strcmp(cmd, "login") == 0)
		return cmd_login();
	if (strcmp(cmd, "syslogd") == 0)
		return cmd_syslogd(opt.dir != NULL ? opt.dir : "/dev/log");
	if (opt.config == NULL)
		die("%s", "--config is required");
	if (strcmp(cmd, "genstore") == 0) {
		gen_open(opt.config);
		return cmd_genstore(count);
	}
	if (strcmp(cmd, "genaudit") == 0) {
		gen_open(opt.config);
		return cmd_genaudit(count);
	}
	die("unknown command %s", cmd);
}

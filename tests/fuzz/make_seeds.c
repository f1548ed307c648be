/* SPDX-License-Identifier: BSD-3-Clause */
/* make_seeds.c — writes the generated seed files of tests/fuzz/corpus/ with the real core
 * code, so they stay valid when the formats change: encoded records (record, seal), records
 * sealed with the harness's fixed test key (seal) and real audit lines written by
 * pv_audit_append (json). Hand-written seeds live beside them and are not touched.
 * Usage: make_seeds CORPUS_DIR SCRATCH_DIR   (run by `tests/fuzz/run.sh seeds`; SCRATCH_DIR
 * must be a root-owned path the audit code accepts, e.g. build/fuzz/seedgen). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "fuzz_common.h"
#include "ipmatch.h"
#include "otp.h"
#include "record.h"
#include "seal.h"

#define NOW INT64_C(1795608000) /* 2026-11-25T12:00:00Z */

static const char *corpus;

static void die(const char *what, const char *why)
{
	fprintf(stderr, "make_seeds: %s: %s\n", what, why);
	exit(1);
}

static void write_seed(const char *harness, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", corpus, harness);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		die(path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s/%s", corpus, harness, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die(path, "cannot write");
}

static void add_ip(struct pv_cidr *list, size_t *n, const char *text)
{
	struct pv_err err;

	if (pv_cidr_parse(text, &list[*n], &err) != PV_OK)
		die(text, err.msg);
	(*n)++;
}

static void emit_record(const struct pv_keys *keys, const struct pv_record *rec, const char *name)
{
	char file[128];
	struct pv_err err;
	unsigned char *sealed;
	size_t sealed_len;
	char *text;
	size_t len;

	if (pv_record_encode(rec, &text, &len, &err) != PV_OK)
		die(name, err.msg);
	snprintf(file, sizeof(file), "gen-%s.txt", name);
	write_seed("record", file, text, len);
	write_seed("seal", file, text, len); /* plaintext: fuzz_seal seals it itself */
	free(text);
	if (pv_record_seal(keys, rec, &sealed, &sealed_len, &err) != PV_OK)
		die(name, err.msg);
	snprintf(file, sizeof(file), "gen-%s.sealed", name);
	write_seed("seal", file, sealed, sealed_len);
	free(sealed);
}

static void records(const struct pv_keys *keys)
{
	static struct pv_record rec;
	static const char *codes[] = {"12345678", "87654321", "000000000000"};
	size_t i;

	/* Smallest valid record: a name and one address. */
	pv_record_init(&rec, "acme", NOW);
	add_ip(rec.ips, &rec.n_ips, "203.0.113.7");
	emit_record(keys, &rec, "minimal");

	/* Every field set. */
	pv_record_init(&rec, "acme", NOW - 86400 * 30);
	snprintf(rec.note, sizeof(rec.note), "Acme Corp \xe2\x80\x94 on-call, ticket #42");
	add_ip(rec.ips, &rec.n_ips, "203.0.113.7");
	add_ip(rec.ips, &rec.n_ips, "198.51.100.0/24");
	add_ip(rec.ips, &rec.n_ips, "2001:db8::/48");
	add_ip(rec.ips, &rec.n_ips, "2001:db8:1::1");
	add_ip(rec.ips, &rec.n_ips, "0.0.0.0/0");
	rec.window_start = NOW - 600;
	rec.window_end = NOW + 3600;
	add_ip(rec.window_ips, &rec.n_window_ips, "203.0.113.7");
	add_ip(rec.window_ips, &rec.n_window_ips, "2001:db8::/64");
	rec.failures = 2;
	rec.locked = false;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct pv_code *c = &rec.codes[rec.n_codes++];
		if (pv_otp_hash(keys, "acme", codes[i], c->hash) != PV_OK)
			die("pv_otp_hash", "failed");
		c->issued = NOW - 300 * (int64_t)i;
		c->expires = c->issued + 900;
		c->used_at = i == 1 ? c->issued + 60 : 0;
	}
	rec.totp_enrolled = true;
	for (i = 0; i < PV_TOTP_SECRET_BYTES; i++)
		rec.totp_secret[i] = (unsigned char)(0x30 + i);
	rec.totp_last_step = NOW / PV_TOTP_STEP - 2;
	rec.last_login = NOW - 120;
	snprintf(rec.last_login_rhost, sizeof(rec.last_login_rhost), "2001:db8:1::1");
	emit_record(keys, &rec, "full");

	/* Locked, IPv4-mapped rule (stored as IPv4), last login without an address. */
	pv_record_init(&rec, "acme", 1);
	add_ip(rec.ips, &rec.n_ips, "::ffff:192.0.2.0/120");
	rec.failures = 5;
	rec.locked = true;
	rec.last_login = 2;
	emit_record(keys, &rec, "locked");

	/* The most addresses and codes a record may hold. */
	pv_record_init(&rec, "acme", NOW);
	for (i = 0; i < PV_MAX_IPS; i++) {
		char ip[PV_IP_TEXT_MAX];
		snprintf(ip, sizeof(ip), "10.%zu.0.0/16", i);
		add_ip(rec.ips, &rec.n_ips, ip);
		snprintf(ip, sizeof(ip), "2001:db8:%zx::/48", i);
		add_ip(rec.window_ips, &rec.n_window_ips, ip);
	}
	rec.window_start = NOW;
	rec.window_end = NOW + 1;
	for (i = 0; i < PV_MAX_CODES; i++) {
		struct pv_code *c = &rec.codes[rec.n_codes++];
		memset(c->hash, (int)i, sizeof(c->hash));
		c->issued = NOW;
		c->expires = NOW + 900;
	}
	emit_record(keys, &rec, "max");
}

static void audit_lines(const struct pv_keys *keys, const char *scratch)
{
	char log[4096];
	const struct pv_audit_sink sink = {.log = log, .keys = keys, .lock_timeout = 5};
	struct pv_audit_event ev;
	struct pv_err err;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	FILE *f;

	if (mkdir(scratch, 0700) != 0 && errno != EEXIST)
		die(scratch, strerror(errno));
	snprintf(log, sizeof(log), "%s/audit.log", scratch);
	unlink(log);
	snprintf(log, sizeof(log), "%s/audit.log.head", scratch);
	unlink(log);
	snprintf(log, sizeof(log), "%s/audit.log", scratch);

#define APPEND()                                                                                   \
	do {                                                                                       \
		if (pv_audit_append(&sink, &ev, NOW + (int64_t)lineno++, &err) != PV_OK)           \
			die("pv_audit_append", err.msg);                                           \
	} while (0)

	pv_audit_event_init(&ev);
	ev.event = "auth", ev.service = "sshd", ev.user = "acme", ev.rhost = "203.0.113.7";
	ev.result = "allow", ev.reason = "ok", ev.pid = 4242;
	APPEND();
	ev.result = "deny", ev.reason = "otp_invalid", ev.rhost = "2001:db8::7";
	APPEND();
	pv_audit_event_init(&ev);
	ev.event = "auth", ev.service = "openvpn", ev.user = "bob", ev.rhost = NULL;
	ev.result = "deny", ev.reason = "rhost_missing";
	APPEND();
	pv_audit_event_init(&ev);
	ev.event = "session_open", ev.service = "sshd", ev.user = "acme";
	ev.rhost = "203.0.113.7", ev.result = "allow", ev.reason = "ok", ev.tty = "ssh";
	ev.session = "c2", ev.pid = 31337;
	ev.auth_info = "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n";
	APPEND();
	ev.event = "session_close", ev.duration_s = 5400, ev.auth_info = NULL;
	APPEND();
	pv_audit_event_init(&ev);
	ev.event = "admin", ev.service = "otpctl", ev.user = "acme", ev.result = "allow";
	ev.reason = "ok", ev.action = "enable", ev.admin = "root";
	ev.detail = "window 2026-11-25T14:00:00Z..2026-11-25T16:00:00Z \"quoted\" \\ caf\xc3\xa9 "
	            "\x01\x7f \xff bad-utf8 \xe2\x82\xac";
	APPEND();
#undef APPEND

	f = fopen(log, "r");
	if (f == NULL)
		die(log, strerror(errno));
	lineno = 0;
	while ((n = getline(&buf, &cap, f)) > 0) {
		char name[64];
		if (buf[n - 1] == '\n')
			n--; /* the audit reader hands over a line without its newline */
		snprintf(name, sizeof(name), "gen-audit-%u.json", ++lineno);
		write_seed("json", name, buf, (size_t)n);
	}
	free(buf);
	fclose(f);
}

int main(int argc, char **argv)
{
	struct pv_keys keys;

	if (argc != 3) {
		fprintf(stderr, "usage: make_seeds CORPUS_DIR SCRATCH_DIR\n");
		return 2;
	}
	corpus = argv[1];
	if (sodium_init() < 0)
		die("libsodium", "cannot initialise");
	memset(&keys, 0, sizeof(keys));
	fz_test_record_key(keys.record);
	memset(keys.code, 0xC0, sizeof(keys.code));
	memset(keys.audit, 0xAD, sizeof(keys.audit));
	records(&keys);
	audit_lines(&keys, argv[2]);
	return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* record.c — the plaintext record format (version 3; version 2 had no keys, targets nor shell
 * line and still reads; version 1 had no serial): one "key value..."
 * per line, strictly parsed. The store seals it; this file never sees a key. */
#include "record.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "timeparse.h"

#define MAGIC        "pam_vendor-record"
#define MAX_FIELDS   6
#define LINE_MAX_LEN 2048 /* a key line: base64 of PV_KEY_BLOB_MAX and a hex comment */
/* Times up to the end of year 9999: far beyond any window, and no arithmetic on them can
 * overflow. Encoder and decoder both hold to it, so every record written reads back. */
#define TIME_MAX 253402300799LL

void pv_record_init(struct pv_record *rec, const char *name, int64_t now)
{
	sodium_memzero(rec, sizeof(*rec));
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	rec->created = now;
	rec->serial = now > 0 && now <= TIME_MAX ? (uint64_t)now * PV_SERIAL_PER_SECOND : 1;
}

bool pv_record_shell_allowed(const struct pv_record *rec)
{
	if (rec->shell == PV_SHELL_AUTO)
		return rec->n_targets == 0;
	return rec->shell == PV_SHELL_ALLOWED;
}

void pv_target_format(const struct pv_target *t, char *buf, size_t len)
{
	char host[PV_IP_TEXT_MAX];

	pv_cidr_format(&t->host, host, sizeof(host));
	if (t->host.family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, (unsigned)t->port);
	else
		snprintf(buf, len, "%s:%u", host, (unsigned)t->port);
}

void pv_record_wipe(struct pv_record *rec)
{
	sodium_memzero(rec, sizeof(*rec));
}

const struct pv_cidr *pv_record_allowed_ips(const struct pv_record *rec, size_t *count)
{
	if (rec->n_window_ips > 0) {
		*count = rec->n_window_ips;
		return rec->window_ips;
	}
	*count = rec->n_ips;
	return rec->ips;
}

void pv_record_prune_codes(struct pv_record *rec, int64_t now)
{
	size_t kept = 0;
	size_t i;

	for (i = 0; i < rec->n_codes; i++) {
		const struct pv_code *c = &rec->codes[i];
		bool dead = (c->used_at != 0 && c->expires <= now) || c->expires <= now - 86400;
		if (!dead)
			rec->codes[kept++] = *c;
	}
	for (i = kept; i < rec->n_codes; i++)
		sodium_memzero(&rec->codes[i], sizeof(rec->codes[i]));
	rec->n_codes = kept;
}

/* --- encoding --- */

struct textbuf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

static void tb_printf(struct textbuf *tb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tb_printf(struct textbuf *tb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (tb->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tb->data + tb->len, tb->cap - tb->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= tb->cap - tb->len) {
		tb->failed = true;
		return;
	}
	tb->len += (size_t)n;
}

static void tb_cidr(struct textbuf *tb, const char *key, const struct pv_cidr *cidr)
{
	char text[PV_IP_TEXT_MAX];

	pv_cidr_format(cidr, text, sizeof(text));
	tb_printf(tb, "%s %s\n", key, text);
}

static bool time_ok(int64_t t)
{
	return t >= 0 && t <= TIME_MAX;
}

static bool times_in_range(const struct pv_record *rec)
{
	size_t i;

	if (!time_ok(rec->created) || !time_ok(rec->window_start) || !time_ok(rec->window_end) ||
	    !time_ok(rec->totp_last_step) || !time_ok(rec->last_login))
		return false;
	for (i = 0; i < rec->n_codes && i < PV_MAX_CODES; i++)
		if (!time_ok(rec->codes[i].issued) || !time_ok(rec->codes[i].expires) ||
		    !time_ok(rec->codes[i].used_at))
			return false;
	return true;
}

static bool keys_in_range(const struct pv_record *rec)
{
	size_t i;

	if (rec->n_keys > PV_MAX_KEYS || rec->n_targets > PV_MAX_TARGETS ||
	    rec->shell > PV_SHELL_REFUSED)
		return false;
	for (i = 0; i < rec->n_keys; i++)
		if (rec->keys[i].blob_len == 0 || rec->keys[i].blob_len > PV_KEY_BLOB_MAX ||
		    !pv_sshkey_comment_valid(rec->keys[i].comment))
			return false;
	for (i = 0; i < rec->n_targets; i++)
		if (rec->targets[i].port == 0 ||
		    rec->targets[i].host.prefix !=
		        (rec->targets[i].host.family == AF_INET ? 32U : 128U))
			return false;
	return true;
}

/* The version 3 lines: keys (base64 blob, hex comment), targets, shell. */
static void encode_access(struct textbuf *tb, const struct pv_record *rec)
{
	char b64[PV_KEY_B64_MAX];
	char hex[2 * PV_KEY_COMMENT_MAX + 1];
	char host[PV_IP_TEXT_MAX];
	size_t i;

	for (i = 0; i < rec->n_keys; i++) {
		const struct pv_sshkey *k = &rec->keys[i];
		pv_sshkey_base64(k, b64);
		if (k->comment[0] == '\0') {
			tb_printf(tb, "key %s\n", b64);
			continue;
		}
		sodium_bin2hex(hex, sizeof(hex), (const unsigned char *)k->comment,
		               strlen(k->comment));
		tb_printf(tb, "key %s %s\n", b64, hex);
	}
	for (i = 0; i < rec->n_targets; i++) {
		pv_cidr_format(&rec->targets[i].host, host, sizeof(host));
		tb_printf(tb, "target %s %u\n", host, (unsigned)rec->targets[i].port);
	}
	if (rec->shell != PV_SHELL_AUTO)
		tb_printf(tb, "shell %d\n", rec->shell == PV_SHELL_ALLOWED ? 1 : 0);
}

/* Version 2 when none of the version 3 lines is needed: builds that read only version 2 (other
 * gateways sharing a PostgreSQL store, mid-upgrade) keep reading every record without keys,
 * targets or shell choice. */
static int encode_version(const struct pv_record *rec)
{
	return rec->n_keys == 0 && rec->n_targets == 0 && rec->shell == PV_SHELL_AUTO
	           ? 2
	           : PV_RECORD_VERSION;
}

int pv_record_encode(const struct pv_record *rec, char **text, size_t *len, struct pv_err *err)
{
	char hex[2 * PV_NOTE_MAX + 1];
	struct textbuf tb = {0};
	size_t i;

	/* decode refuses a vendor without addresses: never write one it could not read back. */
	if (rec->n_ips == 0 || rec->serial == 0 || rec->serial > PV_SERIAL_MAX ||
	    rec->n_ips > PV_MAX_IPS || rec->n_window_ips > PV_MAX_IPS ||
	    rec->n_codes > PV_MAX_CODES || rec->hours.n > PV_SCHEDULE_MAX_RULES ||
	    !times_in_range(rec) || !keys_in_range(rec)) {
		pv_err_set(err, "refusing to save the record of %s: %s", rec->name,
		           rec->n_ips == 0 ? "it has no address" : "an entry is out of range");
		return PV_ERR;
	}
	tb.cap = PV_RECORD_TEXT_MAX;
	tb.data = malloc(tb.cap);
	if (tb.data == NULL) {
		pv_err_set(err, "out of memory encoding the record of %s", rec->name);
		return PV_ERR;
	}
	tb_printf(&tb, "%s %d\nname %s\nserial %" PRIu64 "\ncreated %" PRId64 "\n", MAGIC,
	          encode_version(rec), rec->name, rec->serial, rec->created);
	if (rec->note[0] != '\0') {
		sodium_bin2hex(hex, sizeof(hex), (const unsigned char *)rec->note,
		               strlen(rec->note));
		tb_printf(&tb, "note %s\n", hex);
	}
	for (i = 0; i < rec->n_ips; i++)
		tb_cidr(&tb, "ip", &rec->ips[i]);
	if (rec->window_end > 0)
		tb_printf(&tb, "window %" PRId64 " %" PRId64 "\n", rec->window_start,
		          rec->window_end);
	for (i = 0; i < rec->n_window_ips; i++)
		tb_cidr(&tb, "window_ip", &rec->window_ips[i]);
	for (i = 0; i < rec->hours.n; i++)
		tb_printf(&tb, "hours %u %u %u\n", (unsigned)rec->hours.rule[i].days,
		          (unsigned)rec->hours.rule[i].start, (unsigned)rec->hours.rule[i].end);
	tb_printf(&tb, "failures %u\nlocked %d\n", rec->failures, rec->locked ? 1 : 0);
	for (i = 0; i < rec->n_codes; i++) {
		char h[2 * PV_CODE_HASH_BYTES + 1];
		const struct pv_code *c = &rec->codes[i];
		sodium_bin2hex(h, sizeof(h), c->hash, sizeof(c->hash));
		tb_printf(&tb, "code %s %" PRId64 " %" PRId64 " %" PRId64 "\n", h, c->issued,
		          c->expires, c->used_at);
	}
	if (rec->totp_enrolled) {
		char s[2 * PV_TOTP_SECRET_BYTES + 1];
		sodium_bin2hex(s, sizeof(s), rec->totp_secret, sizeof(rec->totp_secret));
		tb_printf(&tb, "totp %s %" PRId64 "\n", s, rec->totp_last_step);
		sodium_memzero(s, sizeof(s));
	}
	if (rec->last_login > 0 && rec->last_login_rhost[0] != '\0')
		tb_printf(&tb, "last_login %" PRId64 " %s\n", rec->last_login,
		          rec->last_login_rhost);
	else if (rec->last_login > 0)
		tb_printf(&tb, "last_login %" PRId64 "\n", rec->last_login);
	encode_access(&tb, rec);
	tb_printf(&tb, "end\n");
	if (tb.failed) {
		sodium_memzero(tb.data, tb.cap);
		free(tb.data);
		pv_err_set(err, "the record of %s is too large to encode", rec->name);
		return PV_ERR;
	}
	*text = tb.data;
	*len = tb.len;
	return PV_OK;
}

/* --- decoding --- */

struct line {
	char buf[LINE_MAX_LEN];
	char *field[MAX_FIELDS];
	size_t n;
	unsigned number;
};

/* Split one line into space-separated fields; empty fields (double spaces) are refused. */
static int split_line(struct line *ln, const char *start, size_t len)
{
	char *p;

	if (len >= sizeof(ln->buf) || memchr(start, '\0', len) != NULL)
		return PV_ERR;
	memcpy(ln->buf, start, len);
	ln->buf[len] = '\0';
	ln->n = 0;
	p = ln->buf;
	for (;;) {
		char *sp = strchr(p, ' ');
		if (ln->n == MAX_FIELDS || *p == '\0' || *p == ' ')
			return PV_ERR;
		ln->field[ln->n++] = p;
		if (sp == NULL)
			return PV_OK;
		*sp = '\0';
		p = sp + 1;
	}
}

static int parse_time_field(const char *text, int64_t *out)
{
	uint64_t v;

	if (pv_parse_u64(text, (uint64_t)TIME_MAX, &v) != PV_OK)
		return PV_ERR;
	*out = (int64_t)v;
	return PV_OK;
}

static int parse_hex_field(const char *text, unsigned char *out, size_t out_len)
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (strlen(text) != 2 * out_len ||
	    sodium_hex2bin(out, out_len, text, strlen(text), NULL, &bin_len, &end) != 0 ||
	    bin_len != out_len || *end != '\0')
		return PV_ERR;
	return PV_OK;
}

static int parse_note(const char *hex, char *note)
{
	size_t hlen = strlen(hex);
	size_t bin_len = 0;
	const char *end = NULL;

	if (hlen == 0 || hlen % 2 != 0 || hlen / 2 > PV_NOTE_MAX)
		return PV_ERR;
	if (sodium_hex2bin((unsigned char *)note, PV_NOTE_MAX, hex, hlen, NULL, &bin_len, &end) !=
	        0 ||
	    *end != '\0' || bin_len != hlen / 2 || memchr(note, '\0', bin_len) != NULL)
		return PV_ERR;
	note[bin_len] = '\0';
	return PV_OK;
}

static int add_cidr(struct pv_cidr *list, size_t *n, const char *text)
{
	struct pv_err ignored;

	if (*n >= PV_MAX_IPS || pv_cidr_parse(text, &list[*n], &ignored) != PV_OK)
		return PV_ERR;
	(*n)++;
	return PV_OK;
}

static int add_hours_rule(struct pv_schedule *hours, const struct line *ln)
{
	struct pv_schedule_rule r;
	uint64_t days;
	uint64_t start;
	uint64_t end;

	if (hours->n >= PV_SCHEDULE_MAX_RULES || pv_parse_u64(ln->field[1], 0x7f, &days) != PV_OK ||
	    pv_parse_u64(ln->field[2], 1440, &start) != PV_OK ||
	    pv_parse_u64(ln->field[3], 1440, &end) != PV_OK)
		return PV_ERR;
	r.days = (uint8_t)days;
	r.start = (uint16_t)start;
	r.end = (uint16_t)end;
	if (!pv_schedule_rule_valid(&r))
		return PV_ERR;
	hours->rule[hours->n++] = r;
	return PV_OK;
}

static int add_key(struct pv_record *rec, const struct line *ln)
{
	struct pv_sshkey *k;
	struct pv_sshkey_info info;
	struct pv_err ignored;
	size_t i;

	if (rec->n_keys >= PV_MAX_KEYS)
		return PV_ERR;
	k = &rec->keys[rec->n_keys];
	if (pv_sshkey_from_base64(ln->field[1], strlen(ln->field[1]), k) != PV_OK ||
	    pv_sshkey_blob_check(k->blob, k->blob_len, &info, &ignored) != PV_OK)
		return PV_ERR;
	if (ln->n == 3) {
		size_t hlen = strlen(ln->field[2]);
		size_t bin_len = 0;
		const char *end = NULL;
		if (hlen % 2 != 0 || hlen / 2 > PV_KEY_COMMENT_MAX ||
		    sodium_hex2bin((unsigned char *)k->comment, PV_KEY_COMMENT_MAX, ln->field[2],
		                   hlen, NULL, &bin_len, &end) != 0 ||
		    *end != '\0' || bin_len != hlen / 2)
			return PV_ERR;
		k->comment[bin_len] = '\0';
		if (bin_len == 0 || !pv_sshkey_comment_valid(k->comment))
			return PV_ERR;
	}
	for (i = 0; i < rec->n_keys; i++)
		if (rec->keys[i].blob_len == k->blob_len &&
		    memcmp(rec->keys[i].blob, k->blob, k->blob_len) == 0)
			return PV_ERR; /* never written twice */
	rec->n_keys++;
	return PV_OK;
}

static int add_target(struct pv_record *rec, const struct line *ln)
{
	struct pv_target *t;
	uint64_t port;

	if (rec->n_targets >= PV_MAX_TARGETS)
		return PV_ERR;
	t = &rec->targets[rec->n_targets];
	if (pv_addr_parse(ln->field[1], &t->host) != PV_OK ||
	    pv_parse_u64(ln->field[2], 65535, &port) != PV_OK || port == 0)
		return PV_ERR;
	t->port = (uint16_t)port;
	rec->n_targets++;
	return PV_OK;
}

/* Apply one decoded line to rec; `seen` tracks keys that may appear only once. */
static int apply_line(struct pv_record *rec, const struct line *ln, unsigned *seen)
{
	const char *key = ln->field[0];
	size_t n = ln->n;
	enum {
		S_NAME = 1,
		S_CREATED = 2,
		S_NOTE = 4,
		S_WINDOW = 8,
		S_FAIL = 16,
		S_LOCK = 32,
		S_TOTP = 64,
		S_LOGIN = 128,
		S_SERIAL = 256,
		S_SHELL = 512
	};
	unsigned bit = 0;
	uint64_t v;

	if (strcmp(key, "name") == 0 && n == 2) {
		bit = S_NAME;
		if (!pv_vendor_name_valid(ln->field[1]))
			return PV_ERR;
		snprintf(rec->name, sizeof(rec->name), "%s", ln->field[1]);
	} else if (strcmp(key, "serial") == 0 && n == 2) {
		bit = S_SERIAL;
		if (pv_parse_u64(ln->field[1], PV_SERIAL_MAX, &rec->serial) != PV_OK ||
		    rec->serial == 0)
			return PV_ERR;
	} else if (strcmp(key, "created") == 0 && n == 2) {
		bit = S_CREATED;
		if (parse_time_field(ln->field[1], &rec->created) != PV_OK)
			return PV_ERR;
	} else if (strcmp(key, "note") == 0 && n == 2) {
		bit = S_NOTE;
		if (parse_note(ln->field[1], rec->note) != PV_OK)
			return PV_ERR;
	} else if (strcmp(key, "ip") == 0 && n == 2) {
		return add_cidr(rec->ips, &rec->n_ips, ln->field[1]);
	} else if (strcmp(key, "window_ip") == 0 && n == 2) {
		return add_cidr(rec->window_ips, &rec->n_window_ips, ln->field[1]);
	} else if (strcmp(key, "hours") == 0 && n == 4) {
		return add_hours_rule(&rec->hours, ln);
	} else if (strcmp(key, "window") == 0 && n == 3) {
		bit = S_WINDOW;
		if (parse_time_field(ln->field[1], &rec->window_start) != PV_OK ||
		    parse_time_field(ln->field[2], &rec->window_end) != PV_OK ||
		    rec->window_end <= rec->window_start)
			return PV_ERR;
	} else if (strcmp(key, "failures") == 0 && n == 2) {
		bit = S_FAIL;
		if (pv_parse_u64(ln->field[1], 1000000, &v) != PV_OK)
			return PV_ERR;
		rec->failures = (unsigned)v;
	} else if (strcmp(key, "locked") == 0 && n == 2) {
		bit = S_LOCK;
		if (pv_parse_u64(ln->field[1], 1, &v) != PV_OK)
			return PV_ERR;
		rec->locked = (v == 1);
	} else if (strcmp(key, "code") == 0 && n == 5) {
		struct pv_code *c;
		if (rec->n_codes >= PV_MAX_CODES)
			return PV_ERR;
		c = &rec->codes[rec->n_codes];
		if (parse_hex_field(ln->field[1], c->hash, sizeof(c->hash)) != PV_OK ||
		    parse_time_field(ln->field[2], &c->issued) != PV_OK ||
		    parse_time_field(ln->field[3], &c->expires) != PV_OK ||
		    parse_time_field(ln->field[4], &c->used_at) != PV_OK)
			return PV_ERR;
		rec->n_codes++;
	} else if (strcmp(key, "totp") == 0 && n == 3) {
		bit = S_TOTP;
		if (parse_hex_field(ln->field[1], rec->totp_secret, sizeof(rec->totp_secret)) !=
		        PV_OK ||
		    parse_time_field(ln->field[2], &rec->totp_last_step) != PV_OK)
			return PV_ERR;
		rec->totp_enrolled = true;
	} else if (strcmp(key, "last_login") == 0 && (n == 2 || n == 3)) {
		struct pv_cidr addr;
		bit = S_LOGIN;
		if (parse_time_field(ln->field[1], &rec->last_login) != PV_OK ||
		    rec->last_login == 0 || /* never written for "never" */
		    (n == 3 && pv_addr_parse(ln->field[2], &addr) != PV_OK))
			return PV_ERR;
		if (n == 3)
			snprintf(rec->last_login_rhost, sizeof(rec->last_login_rhost), "%s",
			         ln->field[2]);
	} else if (strcmp(key, "key") == 0 && (n == 2 || n == 3)) {
		return add_key(rec, ln);
	} else if (strcmp(key, "target") == 0 && n == 3) {
		return add_target(rec, ln);
	} else if (strcmp(key, "shell") == 0 && n == 2) {
		bit = S_SHELL;
		if (pv_parse_u64(ln->field[1], 1, &v) != PV_OK)
			return PV_ERR;
		rec->shell = v == 1 ? PV_SHELL_ALLOWED : PV_SHELL_REFUSED;
	} else {
		return PV_ERR;
	}
	if (*seen & bit)
		return PV_ERR;
	*seen |= bit;
	return PV_OK;
}

int pv_record_decode(const char *text, size_t len, const char *expected_name, struct pv_record *rec,
                     struct pv_err *err)
{
	struct line *ln;
	const char *p = text;
	const char *end = text + len;
	unsigned seen = 0;
	unsigned lineno = 0;
	bool ended = false;
	bool version2 = false;
	int rc = PV_ERR;

	sodium_memzero(rec, sizeof(*rec));
	ln = malloc(sizeof(*ln));
	if (ln == NULL) {
		pv_err_set(err, "out of memory decoding the record of %s", expected_name);
		return PV_ERR;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || ended)
			goto bad; /* no final newline, or data after "end" */
		lineno++;
		if (split_line(ln, p, (size_t)(nl - p)) != PV_OK)
			goto bad;
		p = nl + 1;
		if (lineno == 1) {
			uint64_t version;
			if (ln->n != 2 || strcmp(ln->field[0], MAGIC) != 0 ||
			    pv_parse_u64(ln->field[1], 1000, &version) != PV_OK)
				goto bad;
			if (version == 1) {
				pv_err_set(
				    err,
				    "the record of %s has format version 1, which has no serial "
				    "against rollback; re-create the vendor with this build",
				    expected_name);
				goto out;
			}
			/* Version 2 is version 3 without keys, targets and shell line. */
			if (version != PV_RECORD_VERSION && version != 2) {
				pv_err_set(err,
				           "the record of %s has format version %" PRIu64
				           ", this build reads versions 2 and %d",
				           expected_name, version, PV_RECORD_VERSION);
				goto out;
			}
			version2 = version == 2;
			continue;
		}
		if (ln->n == 1 && strcmp(ln->field[0], "end") == 0) {
			ended = true;
			continue;
		}
		if (apply_line(rec, ln, &seen) != PV_OK)
			goto bad;
	}
	if (!ended || !(seen & 1) || rec->serial == 0 || rec->n_ips == 0)
		goto bad;
	if (version2 && (rec->n_keys > 0 || rec->n_targets > 0 || rec->shell != PV_SHELL_AUTO))
		goto bad; /* lines version 2 never had */
	if (strcmp(rec->name, expected_name) != 0) {
		pv_err_set(err, "the record for %s names another vendor", expected_name);
		goto out;
	}
	rc = PV_OK;
	goto out;
bad:
	pv_err_set(err, "the record of %s is corrupt (line %u)", expected_name, lineno);
out:
	sodium_memzero(ln, sizeof(*ln));
	free(ln);
	if (rc != PV_OK)
		sodium_memzero(rec, sizeof(*rec));
	return rc;
}

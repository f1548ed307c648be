/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_record.c — pv_record_decode (core/record.h), the decoder of a record's plaintext, fed
 * directly (as after pv_record_unseal's decryption) with expected name "acme". The input is
 * passed as (pointer, length) without a terminating NUL, as unseal passes it.
 * Invariants:
 *  - failure: a non-empty, printable error sentence, and the output record entirely zero
 *    (record.h: a failed decode leaves nothing, in particular no secret, behind);
 *  - success: name "acme", 1..32 addresses, <= 32 window addresses and codes, a window is
 *    empty or has end > start, every address is a valid rule (see fuzz_ipmatch.c), the
 *    last-login rhost is empty or a numeric address, strings NUL-terminated;
 *  - success: pv_record_encode succeeds, and its text decodes to an identical record
 *    (compared field by field, SSH keys, targets and shell included), and encodes again
 *    to the identical text;
 *  - success: the record.h functions callers run on a loaded record behave on whatever the
 *    decoder accepted: pv_record_allowed_ips returns the window's list when it has one,
 *    else the vendor's; pv_record_prune_codes (at a fixed now, and at now = 0) keeps, in
 *    order, exactly the codes a reference says can still matter and zeroes the freed slots
 *    (UBSan watches its arithmetic on the decoded times). */
#include "fuzz_common.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sodium.h>

#include "record.h"

#define NAME "acme"

static void check_cidr(const struct pv_cidr *c, const char *what, size_t i)
{
	char buf[PV_IP_TEXT_MAX];
	struct pv_cidr again;
	struct pv_err err;

	FZ_CHECK(c->family == AF_INET || c->family == AF_INET6, "%s[%zu] family %d", what, i,
	         c->family);
	FZ_CHECK(c->prefix <= (c->family == AF_INET ? 32u : 128u), "%s[%zu] prefix %u", what, i,
	         c->prefix);
	pv_cidr_format(c, buf, sizeof(buf));
	FZ_CHECK(pv_cidr_parse(buf, &again, &err) == PV_OK && memcmp(&again, c, sizeof(*c)) == 0,
	         "%s[%zu] (%s) is not a valid rule", what, i, buf);
}

static void check_shape(const struct pv_record *r)
{
	struct pv_cidr addr;
	size_t i;

	FZ_CHECK(strcmp(r->name, NAME) == 0, "decoded name \"%.40s\"", r->name);
	FZ_CHECK(strnlen(r->note, sizeof(r->note)) < sizeof(r->note), "note not NUL-terminated");
	FZ_CHECK(r->n_ips >= 1 && r->n_ips <= PV_MAX_IPS, "n_ips %zu", r->n_ips);
	FZ_CHECK(r->n_window_ips <= PV_MAX_IPS, "n_window_ips %zu", r->n_window_ips);
	FZ_CHECK(r->n_codes <= PV_MAX_CODES, "n_codes %zu", r->n_codes);
	FZ_CHECK(r->window_end == 0 || r->window_end > r->window_start,
	         "window %" PRId64 "..%" PRId64, r->window_start, r->window_end);
	for (i = 0; i < r->n_ips; i++)
		check_cidr(&r->ips[i], "ips", i);
	for (i = 0; i < r->n_window_ips; i++)
		check_cidr(&r->window_ips[i], "window_ips", i);
	FZ_CHECK(strnlen(r->last_login_rhost, sizeof(r->last_login_rhost)) <
	             sizeof(r->last_login_rhost),
	         "last_login_rhost not NUL-terminated");
	FZ_CHECK(r->last_login_rhost[0] == '\0' ||
	             pv_addr_parse(r->last_login_rhost, &addr) == PV_OK,
	         "last_login_rhost \"%s\" is not an address", r->last_login_rhost);
}

static void check_same(const struct pv_record *a, const struct pv_record *b, const char *text)
{
	size_t i;

#define SAME(cond, field)                                                                          \
	FZ_CHECK(cond, "%s differs after encode/decode; encoded:\n%s", field, text)
	SAME(strcmp(a->name, b->name) == 0, "name");
	SAME(strcmp(a->note, b->note) == 0, "note");
	SAME(a->created == b->created, "created");
	SAME(a->n_ips == b->n_ips, "n_ips");
	for (i = 0; i < a->n_ips; i++)
		SAME(memcmp(&a->ips[i], &b->ips[i], sizeof(a->ips[i])) == 0, "ips[]");
	SAME(a->window_start == b->window_start, "window_start");
	SAME(a->window_end == b->window_end, "window_end");
	SAME(a->n_window_ips == b->n_window_ips, "n_window_ips");
	for (i = 0; i < a->n_window_ips; i++)
		SAME(memcmp(&a->window_ips[i], &b->window_ips[i], sizeof(a->window_ips[i])) == 0,
		     "window_ips[]");
	SAME(a->failures == b->failures, "failures");
	SAME(a->locked == b->locked, "locked");
	SAME(a->n_codes == b->n_codes, "n_codes");
	for (i = 0; i < a->n_codes; i++) {
		SAME(memcmp(a->codes[i].hash, b->codes[i].hash, PV_CODE_HASH_BYTES) == 0,
		     "codes[].hash");
		SAME(a->codes[i].issued == b->codes[i].issued, "codes[].issued");
		SAME(a->codes[i].expires == b->codes[i].expires, "codes[].expires");
		SAME(a->codes[i].used_at == b->codes[i].used_at, "codes[].used_at");
	}
	SAME(a->totp_enrolled == b->totp_enrolled, "totp_enrolled");
	SAME(memcmp(a->totp_secret, b->totp_secret, PV_TOTP_SECRET_BYTES) == 0, "totp_secret");
	SAME(a->totp_last_step == b->totp_last_step, "totp_last_step");
	SAME(a->last_login == b->last_login, "last_login");
	SAME(strcmp(a->last_login_rhost, b->last_login_rhost) == 0, "last_login_rhost");
	SAME(a->n_keys == b->n_keys, "n_keys");
	for (i = 0; i < a->n_keys; i++) {
		SAME(a->keys[i].blob_len == b->keys[i].blob_len &&
		         memcmp(a->keys[i].blob, b->keys[i].blob, a->keys[i].blob_len) == 0,
		     "keys[].blob");
		SAME(strcmp(a->keys[i].comment, b->keys[i].comment) == 0, "keys[].comment");
	}
	SAME(a->n_targets == b->n_targets, "n_targets");
	for (i = 0; i < a->n_targets; i++)
		SAME(memcmp(&a->targets[i], &b->targets[i], sizeof(a->targets[i])) == 0, "targets[]");
	SAME(a->shell == b->shell, "shell");
#undef SAME
}

/* Reference of record.c's pruning rule, without overflow: a code is dead when used and
 * expired, or expired more than a day before now. */
static bool ref_dead(const struct pv_code *c, int64_t now)
{
	return (c->used_at != 0 && c->expires <= now) || c->expires <= now - 86400;
}

static bool all_zero(const void *p, size_t n);

static void check_consumers(const struct pv_record *r, int64_t now)
{
	static struct pv_record p;
	const struct pv_cidr *list;
	size_t count = 12345, i, kept = 0;

	list = pv_record_allowed_ips(r, &count);
	if (r->n_window_ips > 0)
		FZ_CHECK(list == r->window_ips && count == r->n_window_ips,
		         "allowed_ips ignores the window's list");
	else
		FZ_CHECK(list == r->ips && count == r->n_ips,
		         "allowed_ips is not the vendor's list");

	memcpy(&p, r, sizeof(p));
	pv_record_prune_codes(&p, now);
	for (i = 0; i < r->n_codes; i++) {
		if (ref_dead(&r->codes[i], now))
			continue;
		FZ_CHECK(kept < p.n_codes &&
		             memcmp(&p.codes[kept], &r->codes[i], sizeof(p.codes[kept])) == 0,
		         "prune at %" PRId64 " lost or reordered live code %zu", now, i);
		kept++;
	}
	FZ_CHECK(kept == p.n_codes, "prune at %" PRId64 " kept %zu codes, the reference %zu", now,
	         p.n_codes, kept);
	FZ_CHECK(all_zero(&p.codes[kept], (PV_MAX_CODES - kept) * sizeof(p.codes[0])),
	         "prune left data in freed code slots");
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* ~7 KiB each: static, and memset so that padding compares equal too. */
	static struct pv_record rec, again;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	struct pv_err err;

	memset(&rec, 0xA5, sizeof(rec)); /* a failed decode must wipe all of it */
	err.msg[0] = '\0';
	if (pv_record_decode((const char *)data, size, NAME, &rec, &err) != PV_OK) {
		fz_check_err(&err, true, "pv_record_decode");
		FZ_CHECK(all_zero(&rec, sizeof(rec)), "a failed decode left data in the record");
		return 0;
	}
	check_shape(&rec);

	err.msg[0] = '\0';
	FZ_CHECK(pv_record_encode(&rec, &text, &len, &err) == PV_OK,
	         "a decoded record does not encode: %s", err.msg);
	FZ_CHECK(len > 0 && len < PV_RECORD_TEXT_MAX && strlen(text) == len, "encoded length %zu",
	         len);
	memset(&again, 0, sizeof(again));
	err.msg[0] = '\0';
	FZ_CHECK(pv_record_decode(text, len, NAME, &again, &err) == PV_OK,
	         "an encoded record does not decode: %s\n%s", err.msg, text);
	check_same(&rec, &again, text);

	err.msg[0] = '\0';
	FZ_CHECK(pv_record_encode(&again, &text2, &len2, &err) == PV_OK, "re-encoding fails: %s",
	         err.msg);
	FZ_CHECK(len == len2 && memcmp(text, text2, len) == 0, "encoding is not stable:\n%s---\n%s",
	         text, text2);

	check_consumers(&rec, INT64_C(1795608000)); /* 2026-11-25T12:00:00Z */
	check_consumers(&rec, 0);

	sodium_memzero(text, len);
	free(text);
	sodium_memzero(text2, len2);
	free(text2);
	return 0;
}

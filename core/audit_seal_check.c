/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_seal_check.c — the check of seal lines with the verification key (audit_seal.h),
 * line by line in chain order, over the lines of either source: the local log and its rotated
 * files (pv_audit_verify_sealed) or one host's rows of the database's audit table
 * (otpctl/audit_hosts.c). The sealing state and the writer's side are in audit_seal.c. */
#include "audit_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "timeparse.h"

void pv_audit_seal_check_reset(struct pv_audit_seal_check *c)
{
	memcpy(c->key, c->vkey->k0, PV_KEY_BYTES);
	pv_audit_seal_evolve_once(c->key); /* k_0, as pv_audit_seal_setup derives it */
	c->key_epoch = 0;
	c->last_epoch = 0;
	c->oldest[0] = '\0';
	pv_audit_seal_id(c->vkey->k0, c->id);
	memset(c->out, 0, sizeof(*c->out));
}

/* The seal fields of a line of ours (false: an ordinary line, or another key's seal). */
static bool seal_fields(const struct pv_json_object *obj, const char *id, uint64_t *first,
                        uint64_t *through, const char **seal, const char **prev)
{
	const char *event = pv_json_get(obj, "event");
	const char *line_id = pv_json_get(obj, "seal_id");
	const char *e = pv_json_get(obj, "seal_epoch");
	const char *t = pv_json_get(obj, "seal_through");

	if (event == NULL || (strcmp(event, "seal") != 0 && strcmp(event, "seal_stop") != 0) ||
	    line_id == NULL || strcmp(line_id, id) != 0)
		return false;
	*seal = pv_json_get(obj, "seal");
	*prev = pv_json_get(obj, "prev");
	*first = UINT64_MAX;
	*through = 0;
	if (e != NULL)
		(void)pv_parse_u64(e, PV_AUDIT_SEQ_MAX, first);
	if (t != NULL)
		(void)pv_parse_u64(t, PV_AUDIT_SEQ_MAX, through);
	return true;
}

/* Remember the line's time when it is the oldest since the last seal. Lines the chain check
 * passed were laid out by pv_audit_format_line: {"time":"<RFC 3339 UTC>",... */
static void note_line_time(struct pv_audit_seal_check *c, const char *line, size_t len)
{
	static const char key[] = "{\"time\":\"";
	const char *start = line + sizeof(key) - 1;
	char when[PV_TIME_TEXT_MAX];
	const char *q;
	size_t n;

	if (len < sizeof(key) - 1 || memcmp(line, key, sizeof(key) - 1) != 0)
		return;
	q = memchr(start, '"', len - (sizeof(key) - 1));
	if (q == NULL || (n = (size_t)(q - start)) == 0 || n >= sizeof(when))
		return;
	memcpy(when, start, n);
	when[n] = '\0';
	if (c->oldest[0] == '\0' || strcmp(when, c->oldest) < 0)
		memcpy(c->oldest, when, n + 1);
}

/* Does the seal of epochs first.. cover a line written before epoch `first` began (less the
 * clock tolerance)? Every line is sealed by the first seal written after it, and that seal
 * starts at the line's own epoch; a later one can only cover it when the seals between were
 * removed (with the chain rebuilt by someone holding the MAC key), which matters most when
 * seq 1 has been rotated away and the first seal read may name any epoch. Epoch 0's seal
 * also covers the lines written before sealing was set up; only k_0 makes it. */
static bool covers_older_line(const struct pv_audit_seal_check *c, uint64_t first)
{
	const struct pv_audit_seal_key *k = c->vkey;
	char bound[PV_TIME_TEXT_MAX];
	int64_t start;

	if (first == 0 || c->oldest[0] == '\0' ||
	    first > (uint64_t)((INT64_MAX - k->t0) / k->epoch_len))
		return false;
	start = k->t0 + (int64_t)first * k->epoch_len - PV_AUDIT_SEAL_TOLERANCE;
	pv_format_utc((time_t)start, bound, sizeof(bound));
	return strcmp(c->oldest, bound) < 0;
}

/* A seal or stop of this key after its stop: the log goes on under a key that was wiped. */
static int after_stop(const struct pv_audit_seal_check *c, const char *where,
                      struct pv_audit_verify_result *res)
{
	snprintf(res->problem, sizeof(res->problem),
	         "%s is a seal of a key whose sealing was stopped before it (in epoch %" PRIu64
	         "): the stop line was forged or moved",
	         where, c->out->stopped_epoch);
	return 1;
}

/* Check one seal of ours (or its stop, sealed the same way under a domain of its own, for
 * the epoch still open): its place in the run of epochs, then its MAC under k_first. */
static int check_seal(struct pv_audit_seal_check *c, bool stop, uint64_t first, uint64_t through,
                      const char *seal, const char *prev, const char *where,
                      struct pv_audit_verify_result *res)
{
	struct pv_audit_seal_result *out = c->out;
	unsigned char want[PV_AUDIT_MAC_BYTES];
	unsigned char got[PV_AUDIT_MAC_BYTES];
	unsigned char prev_mac[PV_AUDIT_MAC_BYTES];
	/* The first seal of a chain read from seq 1 seals epoch 0; a crash before the key
	 * evolved makes the next seal start at the same epoch again. */
	bool placed = out->sealed ? first == out->sealed_through + 1 || first == c->last_epoch
	                          : first == 0 || res->first_seq != 1;

	if (out->stopped)
		return after_stop(c, where, res);
	if (first > through || first == UINT64_MAX || !placed || first < c->key_epoch ||
	    first - c->key_epoch > PV_AUDIT_SEAL_MAX_EVOLVE || (stop && through != first)) {
		snprintf(
		    res->problem, sizeof(res->problem),
		    "%s is a seal of epochs %" PRIu64 "..%" PRIu64 " but the seals before it end "
		    "at epoch %" PRIu64 ": a sealed stretch of the log was removed or replaced",
		    where, first, through, out->sealed ? out->sealed_through : 0);
		return 1;
	}
	if (covers_older_line(c, first)) {
		snprintf(res->problem, sizeof(res->problem),
		         "%s is a seal from epoch %" PRIu64 " but covers a line written at %s, "
		         "before that epoch: earlier lines were re-chained and their seals removed",
		         where, first, c->oldest);
		return 1;
	}
	while (c->key_epoch < first) {
		pv_audit_seal_evolve_once(c->key);
		c->key_epoch++;
	}
	if (seal == NULL || prev == NULL || pv_audit_hex_to_mac(seal, got) != PV_OK ||
	    pv_audit_hex_to_mac(prev, prev_mac) != PV_OK)
		memset(got, 0, sizeof(got));
	else
		pv_audit_seal_mac(c->key, stop, c->id, first, through, prev_mac, want);
	if (seal == NULL || prev == NULL || sodium_memcmp(want, got, sizeof(got)) != 0) {
		snprintf(res->problem, sizeof(res->problem),
		         "%s: the seal of epoch %" PRIu64 " (to %" PRIu64
		         ") does not match: a line "
		         "of epoch %" PRIu64 " or before was altered, removed or inserted, or the "
		         "seal was forged",
		         where, first, through, first);
		return 1;
	}
	c->last_epoch = first;
	c->oldest[0] = '\0';
	out->open_lines = 0;
	if (stop) {
		out->stopped = true;
		out->stopped_epoch = first;
		return 0;
	}
	out->seals++;
	out->sealed = true;
	if (through > out->sealed_through || out->seals == 1)
		out->sealed_through = through;
	out->open_lines = 0;
	return 0;
}

int pv_audit_seal_check_line(struct pv_audit_seal_check *c, const char *line, size_t len,
                             const char *file, unsigned long lineno,
                             struct pv_audit_verify_result *res)
{
	static const char mark[] = "\"event\":\"seal";
	struct pv_json_object obj;
	const char *seal = NULL;
	const char *prev = NULL;
	uint64_t first = 0, through = 0;
	char where[400];
	int rc = 0;

	/* A string value cannot hold the unescaped mark: only a seal line's own field matches. */
	if (memmem(line, len, mark, sizeof(mark) - 1) == NULL) {
		c->out->open_lines++;
		note_line_time(c, line, len);
		return 0;
	}
	if (pv_json_parse_flat(line, len, &obj) != 0) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s line %lu is not a pam_vendor audit line", file, lineno);
		return 1;
	}
	if (!seal_fields(&obj, c->id, &first, &through, &seal, &prev)) {
		c->out->open_lines++;
		note_line_time(c, line, len);
	} else {
		const char *time = pv_json_get(&obj, "time");
		bool stop = strcmp(pv_json_get(&obj, "event"), "seal_stop") == 0;

		snprintf(where, sizeof(where), "%.300s line %lu", file, lineno);
		rc = check_seal(c, stop, first, through, seal, prev, where, res);
		if (rc == 0 && stop)
			snprintf(c->out->stopped_at, sizeof(c->out->stopped_at), "%s",
			         time != NULL ? time : "?");
	}
	pv_json_object_free(&obj);
	return rc;
}

/* After the last line: the seals must reach the epoch before now's (and the tolerance). */
static void check_recent(const struct pv_audit_seal_check *c, int64_t now,
                         struct pv_audit_verify_result *res)
{
	struct pv_audit_seal_result *out = c->out;
	const struct pv_audit_seal_key *k = c->vkey;
	char until[PV_TIME_TEXT_MAX];
	char now_text[PV_TIME_TEXT_MAX];
	int64_t late = now + PV_AUDIT_SEAL_TOLERANCE;

	/* A seal can only be written once its epochs have ended: one that reaches now's epoch
	 * or later (the tolerance given to this clock) was made with a clock far ahead, or
	 * forged with a later key. */
	if (out->sealed &&
	    (late < k->t0 ||
	     out->sealed_through >= pv_audit_seal_epoch_at(k->t0, k->epoch_len, late))) {
		res->intact = false;
		snprintf(res->problem, sizeof(res->problem),
		         "the seals reach epoch %" PRIu64
		         ", which has not ended yet: they were made "
		         "with a clock ahead of this one, or forged",
		         out->sealed_through);
		return;
	}
	out->sealed_until =
	    out->sealed ? k->t0 + ((int64_t)out->sealed_through + 1) * k->epoch_len : k->t0;
	/* Stopped on purpose (a sealed stop line, otpctl audit stop-sealing): nothing more to
	 * seal; the lines after it are reported as not sealed. */
	if (out->stopped || now - out->sealed_until < k->epoch_len + PV_AUDIT_SEAL_TOLERANCE)
		return;
	pv_format_utc((time_t)out->sealed_until, until, sizeof(until));
	pv_format_utc((time_t)now, now_text, sizeof(now_text));
	res->intact = false;
	snprintf(res->problem, sizeof(res->problem),
	         "the log is sealed only up to %s (epoch %" PRIu64 "), more than one epoch before "
	         "now (%s): lines were cut from its end, an older copy was put back, or sealing "
	         "stopped (is the expire timer running?)",
	         until, out->sealed ? out->sealed_through : 0, now_text);
}

void pv_audit_seal_check_start(struct pv_audit_seal_check *c, const struct pv_audit_seal_key *key,
                               struct pv_audit_seal_result *out)
{
	memset(c, 0, sizeof(*c));
	c->vkey = key;
	c->out = out;
	pv_audit_seal_check_reset(c);
}

void pv_audit_seal_check_wipe(struct pv_audit_seal_check *c)
{
	sodium_memzero(c->key, sizeof(c->key));
}

void pv_audit_seal_check_end(struct pv_audit_seal_check *c, int64_t now,
                             struct pv_audit_verify_result *res)
{
	if (res->intact)
		check_recent(c, now, res);
	pv_audit_seal_check_wipe(c);
}

int pv_audit_verify_sealed(const char *audit_log, const struct pv_keys *keys,
                           const struct pv_audit_seal_key *key, int64_t now,
                           struct pv_audit_verify_result *res,
                           struct pv_audit_seal_result *seal_res, struct pv_err *err)
{
	struct pv_audit_seal_check c;
	int rc;

	pv_audit_seal_check_start(&c, key, seal_res);
	rc = pv_audit_verify_with(audit_log, keys, &c, res, err);
	if (rc == PV_OK)
		pv_audit_seal_check_end(&c, now, res);
	pv_audit_seal_check_wipe(&c);
	return rc;
}

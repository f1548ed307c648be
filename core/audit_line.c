/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_line.c — one audit line: its layout, its MAC, and reading it back (audit_int.h).
 * Line layout: {"time":..,"seq":N,"prev":"<hex mac of line N-1>",...fields...,"mac":"<hex>"}
 * where mac = BLAKE2b keyed with the audit subkey over every byte before ,"mac":". Because
 * each line names its predecessor's MAC, every line can be checked on its own and the links
 * between lines separately. */
#include "audit_int.h"

#include <string.h>

#include <sodium.h>

#include "hostname.h"
#include "timeparse.h"

#define MAC_MARK ",\"mac\":\""

void pv_audit_event_init(struct pv_audit_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->duration_s = -1;
	ev->bytes_in = -1;
	ev->bytes_out = -1;
	ev->seal_epoch = -1;
	ev->seal_through = -1;
	ev->recording_bytes = -1;
}

bool pv_audit_event_time(const struct pv_json_object *obj, int64_t now, int64_t *t)
{
	const char *text = pv_json_get(obj, "time");
	struct pv_err err;
	time_t v;

	if (text == NULL || pv_parse_time(text, (time_t)now, &v, &err) != PV_OK)
		return false;
	*t = (int64_t)v;
	return true;
}

void pv_audit_mac(const struct pv_keys *keys, const char *body, size_t len,
                  unsigned char mac[PV_AUDIT_MAC_BYTES])
{
	crypto_generichash(mac, PV_AUDIT_MAC_BYTES, (const unsigned char *)body, len, keys->audit,
	                   sizeof(keys->audit));
}

int pv_audit_hex_to_mac(const char *hex, unsigned char mac[PV_AUDIT_MAC_BYTES])
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (hex == NULL || strlen(hex) != PV_AUDIT_MAC_HEX ||
	    sodium_hex2bin(mac, PV_AUDIT_MAC_BYTES, hex, PV_AUDIT_MAC_HEX, NULL, &bin_len, &end) !=
	        0 ||
	    bin_len != PV_AUDIT_MAC_BYTES || *end != '\0')
		return PV_ERR;
	return PV_OK;
}

/* Position of the MAC field in a line, or NULL. It is the last field and a JSON string value
 * can never contain the unescaped sequence ,"mac":" so the last occurrence is the field. */
static const char *find_mac_mark(const char *line, size_t len)
{
	const char *found = NULL;
	const char *p = line;
	size_t mark_len = strlen(MAC_MARK);

	while ((size_t)(p - line) + mark_len <= len) {
		const char *hit = memmem(p, len - (size_t)(p - line), MAC_MARK, mark_len);
		if (hit == NULL)
			break;
		found = hit;
		p = hit + 1;
	}
	if (found == NULL || (size_t)(line + len - found) != mark_len + PV_AUDIT_MAC_HEX + 2 ||
	    memcmp(line + len - 2, "\"}", 2) != 0)
		return NULL;
	return found;
}

enum pv_audit_line_status pv_audit_parse_line(const char *line, size_t len,
                                              const struct pv_keys *keys,
                                              struct pv_audit_parsed *out)
{
	struct pv_json_object obj;
	unsigned char expect[PV_AUDIT_MAC_BYTES];
	const char *mark;
	enum pv_audit_line_status st = PV_AUDIT_LINE_MALFORMED;

	mark = find_mac_mark(line, len);
	if (mark == NULL || pv_json_parse_flat(line, len, &obj) != 0)
		return PV_AUDIT_LINE_MALFORMED;
	if (pv_json_get(&obj, "seq") == NULL ||
	    pv_parse_u64(pv_json_get(&obj, "seq"), PV_AUDIT_SEQ_MAX, &out->seq) != PV_OK ||
	    pv_audit_hex_to_mac(pv_json_get(&obj, "prev"), out->prev) != PV_OK ||
	    pv_audit_hex_to_mac(pv_json_get(&obj, "mac"), out->mac) != PV_OK)
		goto out;
	st = PV_AUDIT_LINE_OK;
	if (keys != NULL) {
		pv_audit_mac(keys, line, (size_t)(mark - line), expect);
		if (sodium_memcmp(expect, out->mac, PV_AUDIT_MAC_BYTES) != 0)
			st = PV_AUDIT_LINE_BAD_MAC;
	}
out:
	pv_json_object_free(&obj);
	return st;
}

/* The optional fields: NULL strings, negative counts and pids <= 0 are left out. */
static void optional_fields(struct pv_buf *b, bool *first, const struct pv_audit_event *ev)
{
	if (ev->tty != NULL)
		pv_json_key_string(b, first, "tty", ev->tty);
	if (ev->session != NULL)
		pv_json_key_string(b, first, "session", ev->session);
	if (ev->duration_s >= 0)
		pv_json_key_int(b, first, "duration_s", ev->duration_s);
	if (ev->pid > 0)
		pv_json_key_int(b, first, "pid", ev->pid);
	if (ev->action != NULL)
		pv_json_key_string(b, first, "action", ev->action);
	if (ev->admin != NULL)
		pv_json_key_string(b, first, "admin", ev->admin);
	if (ev->detail != NULL)
		pv_json_key_string(b, first, "detail", ev->detail);
	if (ev->auth_info != NULL)
		pv_json_key_string(b, first, "auth_info", ev->auth_info);
	if (ev->bytes_in >= 0)
		pv_json_key_int(b, first, "bytes_in", ev->bytes_in);
	if (ev->bytes_out >= 0)
		pv_json_key_int(b, first, "bytes_out", ev->bytes_out);
	if (ev->seal_epoch >= 0)
		pv_json_key_int(b, first, "seal_epoch", ev->seal_epoch);
	if (ev->seal_through >= 0)
		pv_json_key_int(b, first, "seal_through", ev->seal_through);
	if (ev->seal_id != NULL)
		pv_json_key_string(b, first, "seal_id", ev->seal_id);
	if (ev->seal != NULL)
		pv_json_key_string(b, first, "seal", ev->seal);
	if (ev->recording != NULL)
		pv_json_key_string(b, first, "recording", ev->recording);
	if (ev->recording_bytes >= 0)
		pv_json_key_int(b, first, "recording_bytes", ev->recording_bytes);
	if (ev->recording_b2b != NULL)
		pv_json_key_string(b, first, "recording_b2b", ev->recording_b2b);
}

/* Everything the MAC covers: the chain fields, then the event's fields (mandatory ones as
 * null when absent). */
static void build_body(struct pv_buf *b, const struct pv_audit_event *ev, uint64_t seq,
                       const unsigned char prev[PV_AUDIT_MAC_BYTES], int64_t now)
{
	char when[PV_TIME_TEXT_MAX];
	char host[256];
	char prev_hex[PV_AUDIT_MAC_HEX + 1];
	bool first = true;

	pv_format_utc((time_t)now, when, sizeof(when));
	pv_hostname(host, sizeof(host));
	sodium_bin2hex(prev_hex, sizeof(prev_hex), prev, PV_AUDIT_MAC_BYTES);
	pv_buf_puts(b, "{");
	pv_json_key_string(b, &first, "time", when);
	pv_json_key_int(b, &first, "seq", (int64_t)seq);
	pv_json_key_string(b, &first, "prev", prev_hex);
	pv_json_key_string(b, &first, "host", host);
	pv_json_key_string(b, &first, "event", ev->event);
	pv_json_key_string(b, &first, "service", ev->service);
	pv_json_key_string(b, &first, "user", ev->user);
	pv_json_key_string(b, &first, "rhost", ev->rhost);
	pv_json_key_string(b, &first, "result", ev->result);
	pv_json_key_string(b, &first, "reason", ev->reason);
	optional_fields(b, &first, ev);
}

int pv_audit_format_line(const struct pv_keys *keys, const struct pv_audit_event *ev, int64_t now,
                         const struct pv_audit_pos *after, struct pv_audit_pos *next,
                         struct pv_buf *line)
{
	char mac_hex[PV_AUDIT_MAC_HEX + 1];

	*next = *after;
	next->seq = after->seq + 1;
	build_body(line, ev, next->seq, after->mac, now);
	if (line->failed)
		return PV_ERR;
	pv_audit_mac(keys, line->data, line->len, next->mac);
	sodium_bin2hex(mac_hex, sizeof(mac_hex), next->mac, PV_AUDIT_MAC_BYTES);
	pv_buf_puts(line, MAC_MARK);
	pv_buf_puts(line, mac_hex);
	pv_buf_puts(line, "\"}\n");
	return line->failed ? PV_ERR : PV_OK;
}

/* The line as pv_audit_format_line lays it out: {"time":"...","seq":N,"prev":"<hex>",...,
 * "mac":"<hex>"}. Finds seq and the two MACs as text at their known places and checks the MAC;
 * the values are public, so they are compared as text, without decoding. A line a valid MAC
 * covers was written with the key, by this code, so it needs no JSON parse. Returns false when
 * the line does not have this layout or its MAC does not match: the caller then parses it
 * fully to say what is wrong (or accepts it, if only the layout differed). */
bool pv_audit_fast_check(const char *line, size_t len, const struct pv_keys *keys,
                         struct pv_audit_fast_line *out)
{
	static const char time_key[] = "{\"time\":\"";
	static const char seq_key[] = "\",\"seq\":";
	static const char prev_key[] = ",\"prev\":\"";
	const size_t tail_len = strlen(MAC_MARK) + PV_AUDIT_MAC_HEX + 2; /* ,"mac":"<hex>"} */
	unsigned char mac[PV_AUDIT_MAC_BYTES];
	char mac_hex[PV_AUDIT_MAC_HEX + 1];
	const char *p;
	const char *end = line + len;
	const char *mark;
	char digits[24];
	size_t n = 0;

	if (len < sizeof(time_key) - 1 + tail_len ||
	    memcmp(line, time_key, sizeof(time_key) - 1) != 0)
		return false;
	mark = end - tail_len;
	if (memcmp(mark, MAC_MARK, strlen(MAC_MARK)) != 0 || memcmp(end - 2, "\"}", 2) != 0)
		return false;
	p = memchr(line + sizeof(time_key) - 1, '"',
	           (size_t)(mark - line) - (sizeof(time_key) - 1));
	if (p == NULL || (size_t)(mark - p) < sizeof(seq_key) - 1 ||
	    memcmp(p, seq_key, sizeof(seq_key) - 1) != 0)
		return false;
	p += sizeof(seq_key) - 1;
	while (p < mark && *p >= '0' && *p <= '9' && n < sizeof(digits) - 1)
		digits[n++] = *p++;
	digits[n] = '\0';
	if (n == 0 || pv_parse_u64(digits, PV_AUDIT_SEQ_MAX, &out->seq) != PV_OK ||
	    (size_t)(mark - p) < sizeof(prev_key) - 1 + PV_AUDIT_MAC_HEX + 1 ||
	    memcmp(p, prev_key, sizeof(prev_key) - 1) != 0 ||
	    p[sizeof(prev_key) - 1 + PV_AUDIT_MAC_HEX] != '"')
		return false;
	out->prev_hex = p + sizeof(prev_key) - 1;
	out->mac_hex = mark + strlen(MAC_MARK);
	pv_audit_mac(keys, line, (size_t)(mark - line), mac);
	sodium_bin2hex(mac_hex, sizeof(mac_hex), mac, PV_AUDIT_MAC_BYTES);
	return memcmp(mac_hex, out->mac_hex, PV_AUDIT_MAC_HEX) == 0;
}

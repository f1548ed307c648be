/* SPDX-License-Identifier: BSD-3-Clause */
/* json.h — the little JSON this project needs: writing escaped strings into a buffer, and
 * reading back (and writing again) the flat one-level objects of the audit log. */
#ifndef PV_JSON_H
#define PV_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable output buffer; `failed` latches on allocation failure or overflow of max. */
struct pv_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
	bool failed;
};

void pv_buf_init(struct pv_buf *b, size_t max);
void pv_buf_free(struct pv_buf *b);
void pv_buf_append(struct pv_buf *b, const char *s, size_t n);
void pv_buf_puts(struct pv_buf *b, const char *s);
void pv_buf_printf(struct pv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append s as a JSON string literal (quotes included). Control characters, '"' and '\' are
 * escaped; invalid UTF-8 bytes become U+FFFD so every line stays valid JSON. NULL -> null. */
void pv_json_string(struct pv_buf *b, const char *s);

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid: a bad continuation byte, an
 * overlong form, a surrogate or a code point past U+10FFFF. s is NUL-terminated. */
size_t pv_utf8_seq_len(const unsigned char *s);

/* Is s, in full, a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
bool pv_json_is_number(const char *s);

/* Append `"key":` then the value. */
void pv_json_key_string(struct pv_buf *b, bool *first, const char *key, const char *value);
void pv_json_key_int(struct pv_buf *b, bool *first, const char *key, int64_t value);
void pv_json_key_bool(struct pv_buf *b, bool *first, const char *key, bool value);

#define PV_JSON_MAX_FIELDS 32

/* One parsed flat object: keys and values point into `storage` (unescaped, NUL-terminated).
 * A null value has value == NULL; numbers and booleans keep their text. */
struct pv_json_object {
	size_t n;
	const char *key[PV_JSON_MAX_FIELDS];
	const char *value[PV_JSON_MAX_FIELDS];
	bool is_string[PV_JSON_MAX_FIELDS];
	char *storage;
};

/* Parse a flat object {"k":"v","n":12,"z":null,"b":true}; nested values are refused.
 * Returns 0 or -1. Free with pv_json_object_free. */
int pv_json_parse_flat(const char *text, size_t len, struct pv_json_object *obj);
void pv_json_object_free(struct pv_json_object *obj);
/* Value of key, or NULL (absent or null). */
const char *pv_json_get(const struct pv_json_object *obj, const char *key);

/* Append obj as one JSON object, fields in their order. A line the audit writer produced gives
 * back the very same bytes (same encoder); a value that is neither a string, true, false nor a
 * number is written as a string, so the output is always valid JSON. */
void pv_json_write_object(struct pv_buf *b, const struct pv_json_object *obj);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_json.c — pv_json_parse_flat (core/json.h), the parser of audit log lines (otpctl audit
 * reads every line of a log an attacker may have edited). The input is passed as (pointer,
 * length) without a terminating NUL, as the audit reader passes a line.
 * Invariants:
 *  - failure: the object is left empty (n == 0, storage NULL) — nothing to free, no leak;
 *  - success: n <= PV_JSON_MAX_FIELDS; every key and every non-NULL value is a
 *    NUL-terminated string lying entirely within `storage` (whose size json.c allocates as
 *    len + 2 * PV_JSON_MAX_FIELDS + 1); a NULL value is never marked as a string; a scalar
 *    value is true, false or a JSON number; pv_json_get returns the first value of a key;
 *  - success: writing the object back with pv_json_write_object (json.c's encoder) gives
 *    a line that parses again to as many fields of the same kinds, ASCII keys and values
 *    unchanged (control characters included); written back once more, that line is
 *    reproduced byte for byte (the first writing may turn invalid UTF-8 into U+FFFD). */
#include "fuzz_common.h"

#include <regex.h>

#include "json.h"

#define STORAGE_SIZE(len) ((len) + 2 * PV_JSON_MAX_FIELDS + 1)

static void check_in_storage(const struct pv_json_object *obj, size_t len, const char *s,
                             const char *what, size_t i)
{
	const char *lo = obj->storage;
	const char *hi = obj->storage + STORAGE_SIZE(len);

	FZ_CHECK(s >= lo && s < hi, "%s[%zu] points outside storage (%p, storage %p..%p)", what, i,
	         (const void *)s, (const void *)lo, (const void *)hi);
	FZ_CHECK(memchr(s, '\0', (size_t)(hi - s)) != NULL,
	         "%s[%zu] is not NUL-terminated within storage", what, i);
}

/* The JSON number grammar (RFC 8259 section 6) stated again as a regular expression, not
 * with json.c's pv_json_is_number: the parser uses that function, so it cannot judge it. */
static bool is_number(const char *s)
{
	static regex_t re;
	static bool compiled;

	if (!compiled) {
		if (regcomp(&re, "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$",
		            REG_EXTENDED | REG_NOSUB) != 0)
			abort();
		compiled = true;
	}
	return regexec(&re, s, 0, NULL, 0) == 0;
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* The object as one flat JSON line, written with json.c's encoder (the one `otpctl audit
 * --json` uses, with the audit writer's escaper). */
static void serialise(const struct pv_json_object *obj, struct pv_buf *b)
{
	pv_buf_init(b, 1 << 20);
	pv_json_write_object(b, obj);
	FZ_CHECK(!b->failed, "serialising failed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pv_json_object obj, obj2, obj3;
	struct pv_buf line, line2, line3;
	size_t i, j;

	if (pv_json_parse_flat((const char *)data, size, &obj) != 0) {
		FZ_CHECK(obj.n == 0 && obj.storage == NULL, "a failed parse left n=%zu storage=%p",
		         obj.n, (void *)obj.storage);
		return 0;
	}
	FZ_CHECK(obj.n <= PV_JSON_MAX_FIELDS, "n = %zu", obj.n);
	FZ_CHECK(obj.storage != NULL, "no storage");
	for (i = 0; i < obj.n; i++) {
		FZ_CHECK(obj.key[i] != NULL, "key[%zu] is NULL", i);
		check_in_storage(&obj, size, obj.key[i], "key", i);
		if (obj.value[i] == NULL) {
			FZ_CHECK(!obj.is_string[i], "value[%zu] is NULL but marked as a string", i);
			continue;
		}
		check_in_storage(&obj, size, obj.value[i], "value", i);
		if (!obj.is_string[i])
			FZ_CHECK(strcmp(obj.value[i], "true") == 0 ||
			             strcmp(obj.value[i], "false") == 0 || is_number(obj.value[i]),
			         "scalar value[%zu] \"%s\"", i, obj.value[i]);
	}
	for (i = 0; i < obj.n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(obj.key[j], obj.key[i]) == 0)
				break;
		FZ_CHECK(pv_json_get(&obj, obj.key[i]) == obj.value[j],
		         "pv_json_get(\"%s\") is not the first value", obj.key[i]);
	}

	/* Written back, parsed and written again: the same line (the escaper maps invalid
	 * UTF-8 to U+FFFD, so compare the second writing with the third, not the input). */
	serialise(&obj, &line);
	FZ_CHECK(pv_json_parse_flat(line.data, line.len, &obj2) == 0,
	         "the object written back does not parse: %s", line.data);
	FZ_CHECK(obj2.n == obj.n, "written back with %zu fields, parses with %zu", obj.n, obj2.n);
	for (i = 0; i < obj.n; i++) {
		FZ_CHECK(!is_ascii(obj.key[i]) || strcmp(obj.key[i], obj2.key[i]) == 0,
		         "key[%zu] changes when written back: %s", i, line.data);
		FZ_CHECK((obj.value[i] == NULL) == (obj2.value[i] == NULL) &&
		             obj.is_string[i] == obj2.is_string[i],
		         "value[%zu] changes kind when written back: %s", i, line.data);
		FZ_CHECK(obj.value[i] == NULL || !is_ascii(obj.value[i]) ||
		             strcmp(obj.value[i], obj2.value[i]) == 0,
		         "value[%zu] changes when written back: %s", i, line.data);
	}
	serialise(&obj2, &line2);
	FZ_CHECK(pv_json_parse_flat(line2.data, line2.len, &obj3) == 0,
	         "the object written back twice does not parse: %s", line2.data);
	serialise(&obj3, &line3);
	FZ_CHECK(line2.len == line3.len && memcmp(line2.data, line3.data, line2.len) == 0,
	         "writing back is not stable:\n%s\n%s", line2.data, line3.data);

	pv_buf_free(&line);
	pv_buf_free(&line2);
	pv_buf_free(&line3);
	pv_json_object_free(&obj3);
	pv_json_object_free(&obj2);
	pv_json_object_free(&obj);
	return 0;
}

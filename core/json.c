/* SPDX-License-Identifier: BSD-3-Clause */
/* json.c — JSON string escaping, the number grammar and a strict parser for flat audit objects
 * (see json.h). */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pv_buf_init(struct pv_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void pv_buf_free(struct pv_buf *b)
{
	if (b->data != NULL) {
		memset(b->data, 0, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

static bool buf_reserve(struct pv_buf *b, size_t extra)
{
	size_t need;
	char *grown;
	size_t cap;

	if (b->failed)
		return false;
	if (extra > b->max || b->len + extra + 1 > b->max) {
		b->failed = true;
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	grown = realloc(b->data, cap);
	if (grown == NULL) {
		b->failed = true;
		return false;
	}
	b->data = grown;
	b->cap = cap;
	return true;
}

void pv_buf_append(struct pv_buf *b, const char *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void pv_buf_puts(struct pv_buf *b, const char *s)
{
	pv_buf_append(b, s, strlen(s));
}

void pv_buf_printf(struct pv_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(small)) {
		b->failed = true;
		return;
	}
	pv_buf_append(b, small, (size_t)n);
}

size_t pv_utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t len;
	size_t i;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

void pv_json_string(struct pv_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL) {
		pv_buf_puts(b, "null");
		return;
	}
	pv_buf_append(b, "\"", 1);
	while (*p != '\0') {
		size_t n;
		char esc[8];

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			pv_buf_append(b, esc, 2);
			p++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7F) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			pv_buf_append(b, esc, 6);
			p++;
			continue;
		}
		n = pv_utf8_seq_len(p);
		if (n == 0) {
			pv_buf_puts(b, "\\ufffd");
			p++;
			continue;
		}
		pv_buf_append(b, (const char *)p, n);
		p += n;
	}
	pv_buf_append(b, "\"", 1);
}

static void key_prefix(struct pv_buf *b, bool *first, const char *key)
{
	if (!*first)
		pv_buf_append(b, ",", 1);
	*first = false;
	pv_json_string(b, key);
	pv_buf_append(b, ":", 1);
}

void pv_json_key_string(struct pv_buf *b, bool *first, const char *key, const char *value)
{
	key_prefix(b, first, key);
	pv_json_string(b, value);
}

void pv_json_key_int(struct pv_buf *b, bool *first, const char *key, int64_t value)
{
	key_prefix(b, first, key);
	pv_buf_printf(b, "%lld", (long long)value);
}

void pv_json_key_bool(struct pv_buf *b, bool *first, const char *key, bool value)
{
	key_prefix(b, first, key);
	pv_buf_puts(b, value ? "true" : "false");
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
bool pv_json_is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

void pv_json_write_object(struct pv_buf *b, const struct pv_json_object *obj)
{
	size_t i;

	pv_buf_puts(b, "{");
	for (i = 0; i < obj->n; i++) {
		const char *v = obj->value[i];

		if (i > 0)
			pv_buf_puts(b, ",");
		pv_json_string(b, obj->key[i]);
		pv_buf_puts(b, ":");
		if (v == NULL)
			pv_buf_puts(b, "null");
		else if (!obj->is_string[i] && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0 ||
		                                pv_json_is_number(v)))
			pv_buf_puts(b, v);
		else
			pv_json_string(b, v);
	}
	pv_buf_puts(b, "}");
}

/* --- parsing --- */

struct cursor {
	const char *p;
	const char *end;
	char *out;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

static int hex4(const char *p, unsigned *v)
{
	unsigned r = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char ch = p[i];
		r <<= 4;
		if (ch >= '0' && ch <= '9')
			r |= (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			r |= (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			r |= (unsigned)(ch - 'A' + 10);
		else
			return -1;
	}
	*v = r;
	return 0;
}

static void put_utf8(struct cursor *c, unsigned cp)
{
	if (cp < 0x80) {
		*c->out++ = (char)cp;
	} else if (cp < 0x800) {
		*c->out++ = (char)(0xC0 | (cp >> 6));
		*c->out++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*c->out++ = (char)(0xE0 | (cp >> 12));
		*c->out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*c->out++ = (char)(0x80 | (cp & 0x3F));
	}
}

/* Parse a string literal at c->p into c->out; returns the start of the copy. */
static const char *parse_string(struct cursor *c)
{
	const char *start = c->out;

	if (c->p >= c->end || *c->p != '"')
		return NULL;
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		unsigned char ch = (unsigned char)*c->p;
		if (ch < 0x20)
			return NULL;
		if (ch != '\\') {
			*c->out++ = (char)ch;
			c->p++;
			continue;
		}
		if (c->end - c->p < 2)
			return NULL;
		c->p++;
		switch (*c->p) {
		case '"':
			*c->out++ = '"';
			break;
		case '\\':
			*c->out++ = '\\';
			break;
		case '/':
			*c->out++ = '/';
			break;
		case 'b':
			*c->out++ = '\b';
			break;
		case 'f':
			*c->out++ = '\f';
			break;
		case 'n':
			*c->out++ = '\n';
			break;
		case 'r':
			*c->out++ = '\r';
			break;
		case 't':
			*c->out++ = '\t';
			break;
		case 'u': {
			unsigned cp;
			if (c->end - c->p < 5 || hex4(c->p + 1, &cp) != 0)
				return NULL;
			/* Surrogates are never written by us; map them to U+FFFD. NUL too. */
			if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
				cp = 0xFFFD;
			put_utf8(c, cp);
			c->p += 4;
			break;
		}
		default:
			return NULL;
		}
		c->p++;
	}
	if (c->p >= c->end)
		return NULL;
	c->p++;
	*c->out++ = '\0';
	return start;
}

/* A literal (true, false, null) or a number; anything else is refused. */
static const char *parse_scalar(struct cursor *c)
{
	const char *start = c->out;

	while (c->p < c->end && *c->p != ',' && *c->p != '}' && *c->p != ' ') {
		if ((unsigned char)*c->p < 0x21 || (unsigned char)*c->p > 0x7E)
			return NULL;
		*c->out++ = *c->p++;
	}
	if (c->out == start)
		return NULL;
	*c->out++ = '\0';
	if (strcmp(start, "true") != 0 && strcmp(start, "false") != 0 &&
	    strcmp(start, "null") != 0 && !pv_json_is_number(start))
		return NULL;
	return start;
}

int pv_json_parse_flat(const char *text, size_t len, struct pv_json_object *obj)
{
	struct cursor c;

	memset(obj, 0, sizeof(*obj));
	/* Unescaping never grows text (\uXXXX: 6 bytes in, at most 3 out), plus NULs. */
	obj->storage = malloc(len + PV_JSON_MAX_FIELDS * 2 + 1);
	if (obj->storage == NULL)
		return -1;
	c.p = text;
	c.end = text + len;
	c.out = obj->storage;
	skip_ws(&c);
	if (c.p >= c.end || *c.p++ != '{')
		goto bad;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto done;
	}
	for (;;) {
		const char *key;
		const char *value;
		bool is_string;

		if (obj->n == PV_JSON_MAX_FIELDS)
			goto bad;
		skip_ws(&c);
		key = parse_string(&c);
		if (key == NULL)
			goto bad;
		skip_ws(&c);
		if (c.p >= c.end || *c.p++ != ':')
			goto bad;
		skip_ws(&c);
		if (c.p < c.end && *c.p == '"') {
			value = parse_string(&c);
			is_string = true;
		} else {
			value = parse_scalar(&c);
			is_string = false;
			if (value != NULL && strcmp(value, "null") == 0)
				value = NULL, is_string = false;
			else if (value == NULL)
				goto bad;
		}
		if (is_string && value == NULL)
			goto bad;
		obj->key[obj->n] = key;
		obj->value[obj->n] = value;
		obj->is_string[obj->n] = is_string;
		obj->n++;
		skip_ws(&c);
		if (c.p >= c.end)
			goto bad;
		if (*c.p == ',') {
			c.p++;
			continue;
		}
		if (*c.p++ == '}')
			break;
		goto bad;
	}
done:
	skip_ws(&c);
	if (c.p != c.end)
		goto bad;
	return 0;
bad:
	pv_json_object_free(obj);
	return -1;
}

void pv_json_object_free(struct pv_json_object *obj)
{
	free(obj->storage);
	memset(obj, 0, sizeof(*obj));
}

const char *pv_json_get(const struct pv_json_object *obj, const char *key)
{
	size_t i;

	for (i = 0; i < obj->n; i++)
		if (strcmp(obj->key[i], key) == 0)
			return obj->value[i];
	return NULL;
}

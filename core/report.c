/* SPDX-License-Identifier: BSD-3-Clause */
/* report.c — pairing the audit log's session_open and session_close lines into one row per
 * session (report.h). Opens wait in a hash table keyed by (host, session id) until their
 * close: memory is what is still open plus the rows kept, not the whole log. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "err.h"
#include "json.h"
#include "timeparse.h"

#define SESSION_EVENT "\"event\":\"session_" /* exactly what the log writer produces */
#define TABLE_SIZE    1024                   /* buckets at the start; doubled when full */

/* One session: the row, and its place in the table while it waits for its close. The
 * strings live in `text`, so a session is one allocation. */
struct session {
	struct session *next; /* hash chain while waiting for the close */
	uint64_t hash;
	struct pv_report_row row;
	char text[];
};

/* Opens waiting for their close, keyed by (host, session id): ids are random per session,
 * the host keeps bastions sharing one central log apart. Chained, grown by doubling, so
 * pairing is O(1) per line. */
struct open_table {
	struct session **bucket;
	size_t size; /* power of two */
	size_t count;
	unsigned char key[crypto_shorthash_KEYBYTES];
};

struct pv_report {
	struct pv_report_query query;
	struct open_table open;
	struct session **rows;
	size_t n_rows;
	size_t cap_rows;
	bool failed; /* out of memory */
};

static uint64_t session_hash(const struct open_table *t, const char *host, const char *id)
{
	unsigned char out[crypto_shorthash_BYTES];
	unsigned char buf[512];
	size_t hl = strlen(host) < 255 ? strlen(host) : 255;
	size_t il = strlen(id) < 255 ? strlen(id) : 255;
	uint64_t h;

	/* host NUL id: unambiguous for the lengths that matter; longer values still compare
	 * in full in table_find, only the hash input is cut. */
	memcpy(buf, host, hl);
	buf[hl] = '\0';
	memcpy(buf + hl + 1, id, il);
	crypto_shorthash(out, buf, hl + 1 + il, t->key);
	memcpy(&h, out, sizeof(h));
	return h;
}

static bool table_grow(struct open_table *t)
{
	size_t size = t->size * 2;
	/* arrays of pointers: sizeof(pointer) is meant */
	// NOLINTNEXTLINE(bugprone-sizeof-expression)
	struct session **bucket = calloc(size, sizeof(*bucket));
	size_t i;

	if (bucket == NULL)
		return false;
	for (i = 0; i < t->size; i++) {
		struct session *s = t->bucket[i];
		while (s != NULL) {
			struct session *next = s->next;
			s->next = bucket[s->hash & (size - 1)];
			bucket[s->hash & (size - 1)] = s;
			s = next;
		}
	}
	free(t->bucket);
	t->bucket = bucket;
	t->size = size;
	return true;
}

static struct session **table_find(struct open_table *t, uint64_t hash, const char *host,
                                   const char *id)
{
	struct session **p = &t->bucket[hash & (t->size - 1)];

	for (; *p != NULL; p = &(*p)->next)
		if ((*p)->hash == hash && strcmp((*p)->row.host, host) == 0 &&
		    strcmp((*p)->row.id, id) == 0)
			return p;
	return NULL;
}

static bool table_put(struct open_table *t, struct session *s)
{
	size_t b;

	if (t->count >= t->size && !table_grow(t))
		return false;
	b = s->hash & (t->size - 1);
	s->next = t->bucket[b];
	t->bucket[b] = s;
	t->count++;
	return true;
}

/* Remove and return the open session (host, id), or NULL. */
static struct session *table_take(struct open_table *t, const char *host, const char *id)
{
	uint64_t hash = session_hash(t, host, id);
	struct session **p = table_find(t, hash, host, id);
	struct session *s;

	if (p == NULL)
		return NULL;
	s = *p;
	*p = s->next;
	s->next = NULL;
	t->count--;
	return s;
}

static const char *copy_field(char **cursor, const char *value)
{
	char *start = *cursor;
	size_t n;

	if (value == NULL)
		return NULL;
	n = strlen(value) + 1;
	memcpy(start, value, n);
	*cursor += n;
	return start;
}

static size_t field_size(const char *value)
{
	return value != NULL ? strlen(value) + 1 : 0;
}

static struct session *session_new(const struct pv_json_object *obj, const char *host,
                                   const char *id)
{
	const char *user = pv_json_get(obj, "user");
	const char *rhost = pv_json_get(obj, "rhost");
	const char *service = pv_json_get(obj, "service");
	struct session *s;
	char *cursor;

	s = calloc(1, sizeof(*s) + field_size(host) + field_size(id) + field_size(user) +
	                  field_size(rhost) + field_size(service));
	if (s == NULL)
		return NULL;
	cursor = s->text;
	s->row.host = copy_field(&cursor, host);
	s->row.id = copy_field(&cursor, id);
	s->row.user = copy_field(&cursor, user);
	s->row.rhost = copy_field(&cursor, rhost);
	s->row.service = copy_field(&cursor, service);
	s->row.bytes_in = -1;
	s->row.bytes_out = -1;
	s->row.recording_bytes = -1;
	s->row.recorded = pv_json_get(obj, "recording") != NULL;
	return s;
}

/* A session is reported when it overlaps [since, until]; an unknown start counts as its end,
 * an unknown end as "still going". */
static bool in_window(const struct pv_report_row *row, const struct pv_report_query *q)
{
	int64_t from = row->has_start ? row->start : row->end;

	return from <= q->until && (!row->has_end || row->end >= q->since);
}

/* A finished (or, at the end, never closed) session: keep it as a row or drop it. */
static void session_done(struct pv_report *r, struct session *s)
{
	if (!in_window(&s->row, &r->query)) {
		free(s);
		return;
	}
	if (r->n_rows == r->cap_rows) {
		size_t cap = r->cap_rows ? 2 * r->cap_rows : 1024;
		/* arrays of pointers: sizeof(pointer) is meant */
		// NOLINTNEXTLINE(bugprone-sizeof-expression)
		struct session **rows = realloc(r->rows, cap * sizeof(*rows));
		if (rows == NULL) {
			r->failed = true;
			free(s);
			return;
		}
		r->rows = rows;
		r->cap_rows = cap;
	}
	r->rows[r->n_rows++] = s;
}

static void session_open(struct pv_report *r, const struct pv_json_object *obj, int64_t t,
                         const char *host, const char *id)
{
	struct session *s;

	s = session_new(obj, host, id);
	if (s == NULL) {
		r->failed = true;
		return;
	}
	s->row.start = t;
	s->row.has_start = true;
	s->hash = session_hash(&r->open, host, id);
	/* The same open twice (a copied line): keep the first, it alone can be paired. */
	if (table_find(&r->open, s->hash, host, id) != NULL) {
		free(s);
		return;
	}
	if (!table_put(&r->open, s)) {
		r->failed = true;
		free(s);
	}
}

/* A counter of the line (bytes_in, bytes_out), or -1 when absent. */
static int64_t count_field(const struct pv_json_object *obj, const char *key)
{
	const char *text = pv_json_get(obj, key);
	uint64_t n;

	if (text == NULL || pv_parse_u64(text, INT64_MAX, &n) != PV_OK)
		return -1;
	return (int64_t)n;
}

static void session_close(struct pv_report *r, const struct pv_json_object *obj, int64_t t,
                          const char *host, const char *id)
{
	const char *duration = pv_json_get(obj, "duration_s");
	struct session *s = NULL;
	struct pv_report_row *row;
	uint64_t secs;

	if (id != NULL)
		s = table_take(&r->open, host, id);
	if (s == NULL) {
		/* No open: it was rotated away, or the module could not tie the close to one. */
		s = session_new(obj, host, id);
		if (s == NULL) {
			r->failed = true;
			return;
		}
	}
	row = &s->row;
	row->end = t;
	row->has_end = true;
	row->bytes_in = count_field(obj, "bytes_in");
	row->bytes_out = count_field(obj, "bytes_out");
	row->recording_bytes = count_field(obj, "recording_bytes");
	row->recorded = row->recorded || pv_json_get(obj, "recording") != NULL;
	/* The module measures the duration on the session's own handle: prefer it. */
	if (duration != NULL && pv_parse_u64(duration, INT64_MAX, &secs) == PV_OK) {
		row->duration = (int64_t)secs;
		row->has_duration = true;
	} else if (row->has_start) {
		row->duration = t > row->start ? t - row->start : 0;
		row->has_duration = true;
	}
	session_done(r, s);
}

struct pv_report *pv_report_new(const struct pv_report_query *query)
{
	struct pv_report *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->query = *query;
	r->open.size = TABLE_SIZE;
	/* arrays of pointers: sizeof(pointer) is meant */
	// NOLINTNEXTLINE(bugprone-sizeof-expression)
	r->open.bucket = calloc(r->open.size, sizeof(*r->open.bucket));
	if (r->open.bucket == NULL) {
		free(r);
		return NULL;
	}
	randombytes_buf(r->open.key, sizeof(r->open.key));
	return r;
}

/* The session line in obj, already known to be an allowed one of the query's vendor. */
static enum pv_report_status session_line(struct pv_report *r, const struct pv_json_object *obj,
                                          const char *event)
{
	const char *host = pv_json_get(obj, "host");
	const char *id = pv_json_get(obj, "session");
	int64_t t;

	if (!pv_audit_event_time(obj, r->query.now, &t))
		return PV_REPORT_NO_TIME;
	if (host == NULL)
		host = "";
	if (strcmp(event, "session_open") == 0 && id != NULL)
		session_open(r, obj, t, host, id);
	else if (strcmp(event, "session_close") == 0)
		session_close(r, obj, t, host, id);
	return r->failed ? PV_REPORT_NO_MEMORY : PV_REPORT_OK;
}

enum pv_report_status pv_report_line(struct pv_report *r, const char *line, size_t len)
{
	struct pv_json_object obj;
	const char *event;
	const char *result;
	const char *user;
	enum pv_report_status status = PV_REPORT_OK;

	/* Most lines are auth/account/admin events: skip them without parsing (the writer
	 * always emits this exact text for session events). */
	if (memmem(line, len, SESSION_EVENT, strlen(SESSION_EVENT)) == NULL)
		return PV_REPORT_OK;
	if (pv_json_parse_flat(line, len, &obj) != 0)
		return PV_REPORT_NOT_JSON;
	event = pv_json_get(&obj, "event");
	result = pv_json_get(&obj, "result");
	user = pv_json_get(&obj, "user");
	/* A refused session_open opened nothing; neither did the close of a refused user. */
	if (event != NULL && result != NULL && strcmp(result, "allow") == 0 &&
	    (r->query.vendor == NULL || (user != NULL && strcmp(user, r->query.vendor) == 0)))
		status = session_line(r, &obj, event);
	pv_json_object_free(&obj);
	return status;
}

static int row_cmp(const void *a, const void *b)
{
	const struct pv_report_row *x = &(*(const struct session *const *)a)->row;
	const struct pv_report_row *y = &(*(const struct session *const *)b)->row;
	int64_t tx = x->has_start ? x->start : x->end;
	int64_t ty = y->has_start ? y->start : y->end;
	int c;

	if (tx != ty)
		return tx < ty ? -1 : 1;
	c = strcmp(x->host, y->host);
	if (c != 0)
		return c;
	return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

int pv_report_finish(struct pv_report *r)
{
	size_t i;

	/* Opens never closed: the monitor was killed (SIGKILL, crash, power cut) or is still
	 * up. */
	for (i = 0; i < r->open.size && !r->failed; i++) {
		while (r->open.bucket[i] != NULL) {
			struct session *s = r->open.bucket[i];
			r->open.bucket[i] = s->next;
			s->next = NULL;
			r->open.count--;
			session_done(r, s);
		}
	}
	if (r->failed)
		return PV_ERR;
	if (r->n_rows > 1) /* rows is NULL when there are none, and qsort wants a pointer */
		/* arrays of pointers: sizeof(pointer) is meant */
		// NOLINTNEXTLINE(bugprone-sizeof-expression)
		qsort(r->rows, r->n_rows, sizeof(*r->rows), row_cmp);
	return PV_OK;
}

size_t pv_report_count(const struct pv_report *r)
{
	return r->n_rows;
}

const struct pv_report_row *pv_report_row(const struct pv_report *r, size_t i)
{
	return i < r->n_rows ? &r->rows[i]->row : NULL;
}

void pv_report_free(struct pv_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->open.size; i++) {
		while (r->open.bucket[i] != NULL) {
			struct session *s = r->open.bucket[i];
			r->open.bucket[i] = s->next;
			free(s);
		}
	}
	for (i = 0; i < r->n_rows; i++)
		free(r->rows[i]);
	free(r->rows);
	free(r->open.bucket);
	free(r);
}

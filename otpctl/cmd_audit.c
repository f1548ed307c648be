/* cmd_audit.c — `otpctl audit`, `audit verify` and `report`: read the audit log (and its
 * rotated files) back to answer who connected, from where, when and for how long. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "otpctl.h"
#include "timeparse.h"

#define SIX_MONTHS    (INT64_C(183) * 86400) /* default look-back: what the guidance keeps */
#define NO_LIMIT      INT64_MAX
#define JSON_ROW_MAX  (8 * PV_AUDIT_LINE_MAX) /* a line re-encoded (\u00XX: 6 bytes for 1) */
#define CELL_MAX      512                     /* a table cell (longer values are cut) */
#define DETAIL_MAX    2048
#define SESSION_EVENT "\"event\":\"session_" /* exactly what the log writer produces */
#define TIME_WIDTH    23                     /* "2026-11-25 15:00:00 CET" */
#define END_WIDTH     28                     /* "still open / no end recorded" */

/* --- options shared by `audit` and `report` --- */

struct filter {
	const char *vendor; /* NULL: everyone */
	int64_t since;
	int64_t until;  /* NO_LIMIT: up to now and beyond (clock skew between bastions) */
	bool all_hosts; /* read every gateway's lines from the database's audit table */
};

static int parse_time_opt(const struct command *cmd, struct otpctl *ctl, const char *opt,
                          const char *text, int64_t *out)
{
	struct pv_err err;
	time_t t;

	if (pv_parse_query_time(text, (time_t)ctl->now, &t, &err) != PV_OK)
		return ctl_usage_error(cmd, "%s: %s", opt, err.msg);
	*out = (int64_t)t;
	return EXIT_OK;
}

/* [--vendor NAME] [--since TIME] [--until TIME] [--all-hosts], no positional argument. The vendor
 * is not checked against the vendor-name syntax: the log also records the names that non-vendors
 * and unknown users typed, and looking those up is legitimate (it is only compared). */
static int parse_filter(const struct command *cmd, struct otpctl *ctl, int argc, char **argv,
                        struct filter *f)
{
	static const struct option longopts[] = {
	    {"vendor", required_argument, NULL, 'v'},
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"all-hosts", no_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	bool have_since = false;
	int c;

	f->vendor = NULL;
	f->since = 0;
	f->until = NO_LIMIT;
	f->all_hosts = false;
	optind = 0; /* 0, not 1: glibc then reinitialises getopt's internal state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1 || optind < argc) {
		int rc = EXIT_OK;

		if (c == -1)
			return ctl_usage_error(cmd, "unexpected argument \"%.64s\"", argv[optind]);
		if (c == 'v') {
			if (optarg[0] == '\0')
				return ctl_usage_error(cmd, "--vendor needs a name");
			f->vendor = optarg;
		} else if (c == 's') {
			rc = parse_time_opt(cmd, ctl, "--since", optarg, &f->since);
			have_since = true;
		} else if (c == 'u') {
			rc = parse_time_opt(cmd, ctl, "--until", optarg, &f->until);
		} else if (c == 'a') {
			f->all_hosts = true;
		} else {
			return ctl_usage_error(cmd, "unknown or incomplete option %.64s",
			                       argv[optind - 1]);
		}
		if (rc != EXIT_OK)
			return rc;
	}
	/* Without --since: the six months up to --until (or now), what the guidance keeps. */
	if (!have_since)
		f->since = (f->until == NO_LIMIT ? ctl->now : f->until) - SIX_MONTHS;
	if (f->since > f->until)
		return ctl_usage_error(cmd, "--since is later than --until");
	return EXIT_OK;
}

/* --all-hosts: the lines of every gateway from the database's audit table. */
struct table_reader {
	pv_audit_line_fn fn;
	void *ctx;
	char where[300];
};

static int table_line(const char *host, uint64_t seq, const char *line, size_t len, void *vctx)
{
	struct table_reader *tr = vctx;

	snprintf(tr->where, sizeof(tr->where), "the audit table (host %.200s)", host);
	return tr->fn(line, len, tr->where, (unsigned long)seq, tr->ctx);
}

/* The lines audit and report read: the local log (and its rotated files), or with
 * --all-hosts every gateway's lines from the database. */
static int read_lines(struct otpctl *ctl, const struct filter *f, pv_audit_line_fn fn, void *ctx,
                      struct pv_err *err)
{
	struct table_reader tr = {fn, ctx, ""};

	if (!f->all_hosts)
		return pv_audit_foreach(ctl->cfg.audit_log, fn, ctx, err);
	if (ctl->cfg.store_backend != PV_STORE_POSTGRESQL) {
		pv_err_set(err,
		           "--all-hosts reads the database's audit table, and %s uses the file "
		           "store, which has no shared audit table",
		           ctl->config_path);
		return PV_ERR;
	}
	if (pv_store_open(&ctl->cfg, &ctl->store, err) != PV_OK)
		return PV_ERR;
	return pv_store_audit_foreach(ctl->store, table_line, &tr, err);
}

static bool vendor_matches(const struct filter *f, const char *user)
{
	return f->vendor == NULL || (user != NULL && strcmp(user, f->vendor) == 0);
}

/* The log is RFC 3339 UTC; `now` only matters for "HH:MM", which the writer never uses. */
static bool event_time(const struct pv_json_object *obj, int64_t now, int64_t *t)
{
	const char *text = pv_json_get(obj, "time");
	struct pv_err err;
	time_t v;

	if (text == NULL || pv_parse_time(text, (time_t)now, &v, &err) != PV_OK)
		return false;
	*t = (int64_t)v;
	return true;
}

static void describe_window(const struct filter *f, char *buf, size_t len)
{
	char since[PV_TIME_TEXT_MAX + 16];
	char until[PV_TIME_TEXT_MAX + 16];

	ctl_local_time(f->since, since, sizeof(since));
	if (f->until == NO_LIMIT) {
		snprintf(buf, len, "since %s", since);
	} else {
		ctl_local_time(f->until, until, sizeof(until));
		snprintf(buf, len, "between %s and %s", since, until);
	}
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 if invalid (C0/DEL/C1 count as invalid
 * here: they are what a terminal would act on). */
static size_t printable_seq(const unsigned char *p)
{
	size_t n;
	size_t i;

	if (*p < 0x20 || *p == 0x7F)
		return 0;
	if (*p < 0x80)
		return 1;
	if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
		return 0; /* C1 control */
	if (*p >= 0xC2 && *p <= 0xDF)
		n = 2;
	else if (*p >= 0xE0 && *p <= 0xEF)
		n = 3;
	else if (*p >= 0xF0 && *p <= 0xF4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	/* overlong forms, surrogates and code points past U+10FFFF */
	if ((*p == 0xE0 && p[1] < 0xA0) || (*p == 0xED && p[1] > 0x9F) ||
	    (*p == 0xF0 && p[1] < 0x90) || (*p == 0xF4 && p[1] > 0x8F))
		return 0;
	return n;
}

/* Values come from the log, and user names and rhosts from clients: never let one reach the
 * terminal as a control sequence. Controls (C0, DEL, C1) and invalid UTF-8 become '?'; a cut
 * cell ends before a multi-byte character, never inside it. */
static void cell(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)(in != NULL ? in : "-");
	size_t o = 0;

	while (*p != '\0' && o + 1 < len) {
		size_t n = printable_seq(p);

		if (n == 0) {
			out[o++] = '?';
			p++;
			continue;
		}
		if (o + n >= len)
			break;
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
}

static bool json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		s += strspn(s, "0123456789");
	else
		return false;
	if (*s == '.') {
		size_t n = strspn(s + 1, "0123456789");
		if (n == 0)
			return false;
		s += 1 + n;
	}
	if (*s == 'e' || *s == 'E') {
		size_t n;
		s++;
		if (*s == '+' || *s == '-')
			s++;
		n = strspn(s, "0123456789");
		if (n == 0)
			return false;
		s += n;
	}
	return *s == '\0';
}

/* Re-encode a parsed line. For every line the log writer produced this gives back the very
 * same bytes (same encoder, same field order); for a damaged or hand-made line it still gives
 * valid JSON (the flat parser is lenient about bare words and invalid UTF-8). */
static void event_json(struct pv_buf *b, const struct pv_json_object *obj)
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
		else if (!obj->is_string[i] &&
		         (strcmp(v, "true") == 0 || strcmp(v, "false") == 0 || json_number(v)))
			pv_buf_puts(b, v);
		else
			pv_json_string(b, v);
	}
	pv_buf_puts(b, "}");
}

static void write_buf(const struct pv_buf *b)
{
	fwrite(b->data, 1, b->len, stdout);
}

/* --- otpctl audit --- */

struct audit_ctx {
	struct otpctl *ctl;
	const struct filter *f;
	unsigned long shown;
};

static void audit_header(void)
{
	printf("%-*s  %-13s  %-16s  %-15s  %-6s  %-18s  %s\n", TIME_WIDTH, "TIME", "EVENT", "USER",
	       "RHOST", "RESULT", "REASON", "DETAIL");
}

/* The last column: admin action and who did it, duration, free-text detail. */
static void audit_detail(const struct pv_json_object *obj, char *out, size_t len)
{
	const char *action = pv_json_get(obj, "action");
	const char *admin = pv_json_get(obj, "admin");
	const char *detail = pv_json_get(obj, "detail");
	const char *duration = pv_json_get(obj, "duration_s");
	char text[DETAIL_MAX];
	char dur[32];
	uint64_t secs;
	size_t used = 0;

	text[0] = '\0';
	if (action != NULL)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s%s", action,
		                         admin != NULL ? " by " : "", admin != NULL ? admin : "");
	if (duration != NULL && pv_parse_u64(duration, INT64_MAX, &secs) == PV_OK &&
	    used < sizeof(text)) {
		pv_format_duration((int64_t)secs, dur, sizeof(dur));
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%sduration %s",
		                         used ? "; " : "", dur);
	}
	if (detail != NULL && used < sizeof(text))
		snprintf(text + used, sizeof(text) - used, "%s%s", used ? "; " : "", detail);
	cell(text[0] != '\0' ? text : NULL, out, len);
}

static void audit_row(const struct pv_json_object *obj, int64_t t)
{
	char when[PV_TIME_TEXT_MAX + 16];
	char event[CELL_MAX], user[CELL_MAX], rhost[CELL_MAX], result[CELL_MAX], reason[CELL_MAX];
	char detail[DETAIL_MAX];

	ctl_local_time(t, when, sizeof(when));
	cell(pv_json_get(obj, "event"), event, sizeof(event));
	cell(pv_json_get(obj, "user"), user, sizeof(user));
	cell(pv_json_get(obj, "rhost"), rhost, sizeof(rhost));
	cell(pv_json_get(obj, "result"), result, sizeof(result));
	cell(pv_json_get(obj, "reason"), reason, sizeof(reason));
	audit_detail(obj, detail, sizeof(detail));
	printf("%-*s  %-13s  %-16s  %-15s  %-6s  %-18s  %s\n", TIME_WIDTH, when, event, user, rhost,
	       result, reason, detail);
}

static int audit_line(const char *line, size_t len, const char *file, unsigned long lineno,
                      void *vctx)
{
	struct audit_ctx *ac = vctx;
	struct pv_json_object obj;
	int64_t t;

	if (pv_json_parse_flat(line, len, &obj) != 0) {
		ctl_warn("%s line %lu is not an audit record; skipped", file, lineno);
		return 0;
	}
	if (!event_time(&obj, ac->ctl->now, &t)) {
		ctl_warn("%s line %lu has no valid time; skipped", file, lineno);
		goto out;
	}
	if (t < ac->f->since || t > ac->f->until ||
	    !vendor_matches(ac->f, pv_json_get(&obj, "user")))
		goto out;
	if (ac->ctl->json) {
		struct pv_buf b;

		pv_buf_init(&b, JSON_ROW_MAX);
		if (ac->shown > 0)
			pv_buf_puts(&b, ",");
		event_json(&b, &obj);
		if (b.failed) { /* never print half an object */
			ctl_warn("%s line %lu cannot be re-encoded (out of memory); skipped", file,
			         lineno);
			pv_buf_free(&b);
			goto out;
		}
		write_buf(&b);
		pv_buf_free(&b);
	} else {
		if (ac->shown == 0)
			audit_header();
		audit_row(&obj, t);
	}
	ac->shown++;
out:
	pv_json_object_free(&obj);
	return 0;
}

int cmd_audit(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("audit");
	struct audit_ctx ac;
	struct filter f;
	struct pv_err err;
	char window[2 * PV_TIME_TEXT_MAX + 64];
	int rc;

	rc = parse_filter(cmd, ctl, argc, argv, &f);
	if (rc != EXIT_OK)
		return rc;
	if (ctl_load_config(ctl) != EXIT_OK)
		return EXIT_FAIL;
	memset(&ac, 0, sizeof(ac));
	ac.ctl = ctl;
	ac.f = &f;
	/* Streamed: six months of events can be far larger than memory should hold. If the
	 * reading fails half-way the JSON is still closed, with the error in it, and exit is 1. */
	if (ctl->json)
		fputs("{\"events\":[", stdout);
	rc = read_lines(ctl, &f, audit_line, &ac, &err) == PV_OK ? EXIT_OK : EXIT_FAIL;
	if (ctl->json) {
		struct pv_buf b;
		bool first = false;

		pv_buf_init(&b, 4096);
		pv_buf_puts(&b, "]");
		if (rc != EXIT_OK)
			pv_json_key_string(&b, &first, "error", err.msg);
		pv_buf_puts(&b, "}\n");
		write_buf(&b);
		pv_buf_free(&b);
	} else if (rc == EXIT_OK && ac.shown == 0) {
		describe_window(&f, window, sizeof(window));
		printf("No audit events%s%s %s.\n", f.vendor ? " for " : "",
		       f.vendor ? f.vendor : "", window);
	}
	if (rc != EXIT_OK)
		ctl_error("%s", err.msg);
	return rc;
}

/* --- otpctl audit verify --- */

static void verify_json(const struct pv_audit_verify_result *res)
{
	struct pv_buf b;
	bool first = true;

	pv_buf_init(&b, 4096);
	pv_buf_puts(&b, "{");
	pv_json_key_bool(&b, &first, "intact", res->intact);
	pv_json_key_int(&b, &first, "lines", (int64_t)res->lines);
	pv_json_key_int(&b, &first, "first_seq", (int64_t)res->first_seq);
	pv_json_key_int(&b, &first, "last_seq", (int64_t)res->last_seq);
	pv_json_key_string(&b, &first, "problem", res->problem[0] ? res->problem : NULL);
	pv_json_key_string(&b, &first, "note", res->note[0] ? res->note : NULL);
	pv_buf_puts(&b, "}");
	(void)ctl_print_json(&b);
	pv_buf_free(&b);
}

/* --all-hosts: every gateway's chain as copied to the database's audit table. */
struct host_check {
	struct otpctl *ctl;
	char host[256];
	struct pv_audit_chain chain;
	struct pv_audit_verify_result res;
	bool started;
	unsigned hosts;
	unsigned broken;
};

static void host_done(struct host_check *hc)
{
	if (!hc->started)
		return;
	hc->hosts++;
	if (!hc->res.intact && hc->res.problem[0] != '\0') {
		hc->broken++;
		ctl_error("host %s: NOT intact: %s", hc->host, hc->res.problem);
	} else if (!hc->ctl->json) {
		printf("host %s: intact, %lu lines (seq %llu to %llu)\n", hc->host, hc->res.lines,
		       (unsigned long long)hc->res.first_seq, (unsigned long long)hc->res.last_seq);
	}
	hc->started = false;
}

static int host_line(const char *host, uint64_t seq, const char *line, size_t len, void *ctx)
{
	struct host_check *hc = ctx;
	char where[300];

	if (!hc->started || strcmp(host, hc->host) != 0) {
		host_done(hc);
		snprintf(hc->host, sizeof(hc->host), "%s", host);
		pv_audit_chain_init(&hc->chain, &hc->ctl->keys, &hc->res);
		hc->started = true;
	}
	if (hc->res.problem[0] != '\0')
		return 0; /* this host is already broken: skip to the next */
	snprintf(where, sizeof(where), "the audit table (host %.200s)", host);
	if (pv_audit_chain_line(&hc->chain, line, len, where, (unsigned long)seq) == 0)
		hc->res.intact = true;
	else
		hc->res.intact = false;
	return 0;
}

static int verify_all_hosts(struct otpctl *ctl)
{
	struct host_check *hc;
	struct pv_err err;
	int rc = EXIT_FAIL;

	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	hc = calloc(1, sizeof(*hc));
	if (hc == NULL) {
		ctl_error("out of memory");
		return EXIT_FAIL;
	}
	hc->ctl = ctl;
	if (pv_store_audit_foreach(ctl->store, host_line, hc, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		goto out;
	}
	host_done(hc);
	if (ctl->json)
		printf("{\"hosts\":%u,\"broken\":%u,\"intact\":%s}\n", hc->hosts, hc->broken,
		       hc->broken == 0 ? "true" : "false");
	else if (hc->hosts == 0)
		printf("the audit table is empty\n");
	rc = hc->broken == 0 ? EXIT_OK : EXIT_FAIL;
out:
	free(hc);
	return rc;
}

int cmd_audit_verify(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("audit verify");
	struct pv_audit_verify_result res;
	struct pv_err err;

	if (argc == 2 && strcmp(argv[1], "--all-hosts") == 0)
		return verify_all_hosts(ctl);
	if (argc > 1)
		return ctl_usage_error(cmd,
		                       argv[1][0] == '-' ? "unknown option %.64s"
		                                         : "unexpected argument \"%.64s\"",
		                       argv[1]);
	/* Configuration and key only: the log must stay checkable when the store is damaged. */
	if (ctl_load_config(ctl) != EXIT_OK || ctl_load_keys(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (pv_audit_verify(ctl->cfg.audit_log, &ctl->keys, &res, &err) != PV_OK) {
		ctl_error("cannot verify the audit log: %s", err.msg);
		return EXIT_FAIL;
	}
	if (ctl->json)
		verify_json(&res);
	if (!res.intact) {
		ctl_error("audit log NOT intact: %s", res.problem);
		return EXIT_FAIL;
	}
	if (!ctl->json) {
		if (res.lines == 0)
			printf("audit log intact: 0 lines (empty)\n");
		else
			printf("audit log intact: %lu lines (seq %llu to %llu)\n", res.lines,
			       (unsigned long long)res.first_seq, (unsigned long long)res.last_seq);
		if (res.note[0] != '\0')
			printf("note: %s\n", res.note);
	}
	return EXIT_OK;
}

/* --- otpctl report --- */

/* One session: built from its session_open, its session_close, or both. The strings live in
 * `text`, so a session is one allocation. */
struct session {
	struct session *next; /* hash chain while waiting for the close */
	uint64_t hash;
	int64_t start;
	int64_t end;
	int64_t duration;
	int64_t bytes_in; /* an OpenVPN tunnel's counts; -1 when the close had none */
	int64_t bytes_out;
	bool has_start;
	bool has_end;
	bool has_duration;
	const char *host;
	const char *id; /* NULL: a close that the module could not tie to an open */
	const char *user;
	const char *rhost;
	const char *service;
	char text[];
};

/* Opens waiting for their close, keyed by (host, session id): ids are random per session,
 * the host keeps bastions sharing one central log apart. Chained, grown by doubling, so
 * pairing is O(1) per line and memory is what is still open, not the whole log. */
struct open_table {
	struct session **bucket;
	size_t size; /* power of two */
	size_t count;
	unsigned char key[crypto_shorthash_KEYBYTES];
};

struct report_ctx {
	struct otpctl *ctl;
	const struct filter *f;
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
	 * in full in table_take, only the hash input is cut. */
	memcpy(buf, host, hl);
	buf[hl] = '\0';
	memcpy(buf + hl + 1, id, il);
	crypto_shorthash(out, buf, hl + 1 + il, t->key);
	memcpy(&h, out, sizeof(h));
	return h;
}

static bool table_init(struct open_table *t)
{
	t->size = 1024;
	t->count = 0;
	/* arrays of pointers: sizeof(pointer) is meant */
	// NOLINTNEXTLINE(bugprone-sizeof-expression)
	t->bucket = calloc(t->size, sizeof(*t->bucket));
	randombytes_buf(t->key, sizeof(t->key));
	return t->bucket != NULL;
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
		if ((*p)->hash == hash && strcmp((*p)->host, host) == 0 &&
		    strcmp((*p)->id, id) == 0)
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
	s->host = copy_field(&cursor, host);
	s->id = copy_field(&cursor, id);
	s->user = copy_field(&cursor, user);
	s->rhost = copy_field(&cursor, rhost);
	s->service = copy_field(&cursor, service);
	s->bytes_in = -1;
	s->bytes_out = -1;
	return s;
}

/* A session is reported when it overlaps [since, until]; an unknown start counts as its end,
 * an unknown end as "still going". */
static bool session_in_window(const struct session *s, const struct filter *f)
{
	int64_t from = s->has_start ? s->start : s->end;

	return from <= f->until && (!s->has_end || s->end >= f->since);
}

/* A finished (or, at the end, never closed) session: keep it as a row or drop it. */
static void session_done(struct report_ctx *rc, struct session *s)
{
	if (!session_in_window(s, rc->f)) {
		free(s);
		return;
	}
	if (rc->n_rows == rc->cap_rows) {
		size_t cap = rc->cap_rows ? 2 * rc->cap_rows : 1024;
		/* arrays of pointers: sizeof(pointer) is meant */
		// NOLINTNEXTLINE(bugprone-sizeof-expression)
		struct session **rows = realloc(rc->rows, cap * sizeof(*rows));
		if (rows == NULL) {
			rc->failed = true;
			free(s);
			return;
		}
		rc->rows = rows;
		rc->cap_rows = cap;
	}
	rc->rows[rc->n_rows++] = s;
}

static void session_open(struct report_ctx *rc, const struct pv_json_object *obj, int64_t t,
                         const char *host, const char *id)
{
	struct session *s;

	s = session_new(obj, host, id);
	if (s == NULL) {
		rc->failed = true;
		return;
	}
	s->start = t;
	s->has_start = true;
	s->hash = session_hash(&rc->open, host, id);
	/* The same open twice (a copied line): keep the first, it alone can be paired. */
	if (table_find(&rc->open, s->hash, host, id) != NULL) {
		free(s);
		return;
	}
	if (!table_put(&rc->open, s)) {
		rc->failed = true;
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

static void session_close(struct report_ctx *rc, const struct pv_json_object *obj, int64_t t,
                          const char *host, const char *id)
{
	const char *duration = pv_json_get(obj, "duration_s");
	struct session *s = NULL;
	uint64_t secs;

	if (id != NULL)
		s = table_take(&rc->open, host, id);
	if (s == NULL) {
		/* No open: it was rotated away, or the module could not tie the close to one. */
		s = session_new(obj, host, id);
		if (s == NULL) {
			rc->failed = true;
			return;
		}
	}
	s->end = t;
	s->has_end = true;
	s->bytes_in = count_field(obj, "bytes_in");
	s->bytes_out = count_field(obj, "bytes_out");
	/* The module measures the duration on the session's own handle: prefer it. */
	if (duration != NULL && pv_parse_u64(duration, INT64_MAX, &secs) == PV_OK) {
		s->duration = (int64_t)secs;
		s->has_duration = true;
	} else if (s->has_start) {
		s->duration = t > s->start ? t - s->start : 0;
		s->has_duration = true;
	}
	session_done(rc, s);
}

static int report_line(const char *line, size_t len, const char *file, unsigned long lineno,
                       void *vctx)
{
	struct report_ctx *rc = vctx;
	struct pv_json_object obj;
	const char *event;
	const char *result;
	const char *host;
	int64_t t;

	/* Most lines are auth/account/admin events: skip them without parsing (the writer
	 * always emits this exact text for session events). */
	if (memmem(line, len, SESSION_EVENT, strlen(SESSION_EVENT)) == NULL)
		return 0;
	if (pv_json_parse_flat(line, len, &obj) != 0) {
		ctl_warn("%s line %lu is not an audit record; skipped", file, lineno);
		return 0;
	}
	event = pv_json_get(&obj, "event");
	result = pv_json_get(&obj, "result");
	host = pv_json_get(&obj, "host");
	/* A refused session_open opened nothing; neither did the close of a refused user. */
	if (event == NULL || result == NULL || strcmp(result, "allow") != 0 ||
	    !vendor_matches(rc->f, pv_json_get(&obj, "user")))
		goto out;
	if (!event_time(&obj, rc->ctl->now, &t)) {
		ctl_warn("%s line %lu has no valid time; skipped", file, lineno);
		goto out;
	}
	if (host == NULL)
		host = "";
	if (strcmp(event, "session_open") == 0 && pv_json_get(&obj, "session") != NULL)
		session_open(rc, &obj, t, host, pv_json_get(&obj, "session"));
	else if (strcmp(event, "session_close") == 0)
		session_close(rc, &obj, t, host, pv_json_get(&obj, "session"));
out:
	pv_json_object_free(&obj);
	return rc->failed ? 1 : 0;
}

/* Opens never closed: the monitor was killed (SIGKILL, crash, power cut) or is still up. */
static void flush_open(struct report_ctx *rc)
{
	size_t i;

	for (i = 0; i < rc->open.size; i++) {
		while (rc->open.bucket[i] != NULL) {
			struct session *s = rc->open.bucket[i];
			rc->open.bucket[i] = s->next;
			s->next = NULL;
			session_done(rc, s);
		}
	}
	rc->open.count = 0;
}

static int session_cmp(const void *a, const void *b)
{
	const struct session *x = *(const struct session *const *)a;
	const struct session *y = *(const struct session *const *)b;
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

static const char *session_state(const struct session *s)
{
	if (!s->has_end)
		return "open (no recorded end)";
	if (!s->has_start)
		return "closed (no recorded start)";
	return "closed";
}

static void report_json_row(const struct session *s, bool first_row)
{
	char when[PV_TIME_TEXT_MAX];
	struct pv_buf b;
	bool first = true;

	pv_buf_init(&b, JSON_ROW_MAX);
	pv_buf_puts(&b, first_row ? "{" : ",{");
	pv_json_key_string(&b, &first, "user", s->user);
	pv_json_key_string(&b, &first, "rhost", s->rhost);
	pv_format_utc((time_t)s->start, when, sizeof(when));
	pv_json_key_string(&b, &first, "start", s->has_start ? when : NULL);
	pv_format_utc((time_t)s->end, when, sizeof(when));
	pv_json_key_string(&b, &first, "end", s->has_end ? when : NULL);
	if (s->has_duration)
		pv_json_key_int(&b, &first, "duration_s", s->duration);
	else
		pv_json_key_string(&b, &first, "duration_s", NULL);
	pv_json_key_string(&b, &first, "host", s->host[0] ? s->host : NULL);
	pv_json_key_string(&b, &first, "session", s->id);
	pv_json_key_string(&b, &first, "service", s->service);
	pv_json_key_string(&b, &first, "state", session_state(s));
	if (s->bytes_in >= 0) /* OpenVPN tunnels only */
		pv_json_key_int(&b, &first, "bytes_in", s->bytes_in);
	if (s->bytes_out >= 0)
		pv_json_key_int(&b, &first, "bytes_out", s->bytes_out);
	pv_buf_puts(&b, "}");
	write_buf(&b);
	pv_buf_free(&b);
}

/* Plain stdio rather than one big buffer: a six-month report can hold many rows, and nothing
 * can fail half-way once the log has been read. */
static void report_json(const struct report_ctx *rc)
{
	size_t i;

	fputs("{\"sessions\":[", stdout);
	for (i = 0; i < rc->n_rows; i++)
		report_json_row(rc->rows[i], i == 0);
	fputs("]}\n", stdout);
}

static void report_text(const struct report_ctx *rc)
{
	char window[2 * PV_TIME_TEXT_MAX + 64];
	char user[CELL_MAX], rhost[CELL_MAX], host[CELL_MAX];
	char start[PV_TIME_TEXT_MAX + 16], end[PV_TIME_TEXT_MAX + 32], dur[32];
	size_t i;

	if (rc->n_rows == 0) {
		describe_window(rc->f, window, sizeof(window));
		printf("No sessions%s%s %s.\n", rc->f->vendor ? " for " : "",
		       rc->f->vendor ? rc->f->vendor : "", window);
		return;
	}
	printf("%-16s  %-15s  %-*s  %-*s  %-9s  %s\n", "USER", "RHOST", TIME_WIDTH, "START",
	       END_WIDTH, "END", "DURATION", "HOST");
	for (i = 0; i < rc->n_rows; i++) {
		const struct session *s = rc->rows[i];

		cell(s->user, user, sizeof(user));
		cell(s->rhost, rhost, sizeof(rhost));
		cell(s->host[0] ? s->host : NULL, host, sizeof(host));
		if (s->has_start)
			ctl_local_time(s->start, start, sizeof(start));
		else
			snprintf(start, sizeof(start), "(start not recorded)");
		if (s->has_end)
			ctl_local_time(s->end, end, sizeof(end));
		else
			snprintf(end, sizeof(end), "still open / no end recorded");
		if (s->has_duration)
			pv_format_duration(s->duration, dur, sizeof(dur));
		else
			snprintf(dur, sizeof(dur), "-");
		printf("%-16s  %-15s  %-*s  %-*s  %-9s  %s\n", user, rhost, TIME_WIDTH, start,
		       END_WIDTH, end, dur, host);
	}
}

static void report_free(struct report_ctx *rc)
{
	size_t i;

	for (i = 0; rc->open.bucket != NULL && i < rc->open.size; i++) {
		while (rc->open.bucket[i] != NULL) {
			struct session *s = rc->open.bucket[i];
			rc->open.bucket[i] = s->next;
			free(s);
		}
	}
	for (i = 0; i < rc->n_rows; i++)
		free(rc->rows[i]);
	free(rc->rows);
	free(rc->open.bucket);
}

int cmd_report(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("report");
	struct report_ctx rc;
	struct filter f;
	struct pv_err err;
	int status;

	status = parse_filter(cmd, ctl, argc, argv, &f);
	if (status != EXIT_OK)
		return status;
	if (ctl_load_config(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (pv_crypto_init(&err) != PV_OK) { /* the table's keyed hash */
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	memset(&rc, 0, sizeof(rc));
	rc.ctl = ctl;
	rc.f = &f;
	status = EXIT_FAIL;
	if (!table_init(&rc.open)) {
		ctl_error("out of memory");
		goto out;
	}
	if (read_lines(ctl, &f, report_line, &rc, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		goto out;
	}
	if (!rc.failed)
		flush_open(&rc);
	if (rc.failed) {
		ctl_error("out of memory while reading the audit log; narrow the report with "
		          "--since/--until or --vendor");
		goto out;
	}
	if (rc.n_rows > 1) /* rows is NULL when there are none, and qsort wants a pointer */
		/* arrays of pointers: sizeof(pointer) is meant */
		// NOLINTNEXTLINE(bugprone-sizeof-expression)
		qsort(rc.rows, rc.n_rows, sizeof(*rc.rows), session_cmp);
	if (ctl->json)
		report_json(&rc);
	else
		report_text(&rc);
	status = EXIT_OK;
out:
	report_free(&rc);
	return status;
}

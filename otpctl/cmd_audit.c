/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_audit.c — `otpctl audit` and `audit verify`: read the audit log (and its rotated files)
 * back to list what happened and check that nobody edited it; and what `report` shares with
 * them (cmd_audit.h). */
#include "cmd_audit.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeparse.h"

#define SIX_MONTHS (INT64_C(183) * 86400) /* default look-back: what the guidance keeps */
#define DETAIL_MAX 2048

/* --- options shared by `audit` and `report` --- */

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

/* The vendor is not checked against the vendor-name syntax: the log also records the names that
 * non-vendors and unknown users typed, and looking those up is legitimate (it is only compared). */
int audit_parse_filter(const struct command *cmd, struct otpctl *ctl, int argc, char **argv,
                       struct audit_filter *f)
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
	f->until = AUDIT_NO_LIMIT;
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
		f->since = (f->until == AUDIT_NO_LIMIT ? ctl->now : f->until) - SIX_MONTHS;
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

int audit_read_lines(struct otpctl *ctl, const struct audit_filter *f, pv_audit_line_fn fn,
                     void *ctx, struct pv_err *err)
{
	struct table_reader tr = {fn, ctx, ""};
	/* The server keeps only the rows that can match; the callers filter again (rows copied
	 * before the table had time and user columns are passed whatever they hold). */
	const struct pv_store_audit_query q = {NULL, f->vendor, f->since, f->until};

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
	return pv_store_audit_foreach(ctl->store, &q, table_line, &tr, err);
}

static bool vendor_matches(const struct audit_filter *f, const char *user)
{
	return f->vendor == NULL || (user != NULL && strcmp(user, f->vendor) == 0);
}

void audit_describe_window(const struct audit_filter *f, char *buf, size_t len)
{
	char since[PV_TIME_TEXT_MAX + 16];
	char until[PV_TIME_TEXT_MAX + 16];

	ctl_local_time(f->since, since, sizeof(since));
	if (f->until == AUDIT_NO_LIMIT) {
		snprintf(buf, len, "since %s", since);
	} else {
		ctl_local_time(f->until, until, sizeof(until));
		snprintf(buf, len, "between %s and %s", since, until);
	}
}

/* Length of the printable UTF-8 sequence at p (1..4), 0 if invalid or a control (C0, DEL, C1):
 * what a terminal would act on. */
static size_t printable_seq(const unsigned char *p)
{
	if (*p < 0x20 || *p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
		return 0;
	return pv_utf8_seq_len(p);
}

/* Values come from the log, and user names and rhosts from clients: never let one reach the
 * terminal as a control sequence. */
void audit_cell(const char *in, char *out, size_t len)
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

static void write_buf(const struct pv_buf *b)
{
	fwrite(b->data, 1, b->len, stdout);
}

/* --- otpctl audit --- */

struct audit_ctx {
	struct otpctl *ctl;
	const struct audit_filter *f;
	unsigned long shown;
};

static void audit_header(void)
{
	printf("%-*s  %-13s  %-16s  %-15s  %-6s  %-18s  %s\n", AUDIT_TIME_WIDTH, "TIME", "EVENT",
	       "USER", "RHOST", "RESULT", "REASON", "DETAIL");
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
	audit_cell(text[0] != '\0' ? text : NULL, out, len);
}

static void audit_row(const struct pv_json_object *obj, int64_t t)
{
	char when[PV_TIME_TEXT_MAX + 16];
	char event[AUDIT_CELL_MAX], user[AUDIT_CELL_MAX], rhost[AUDIT_CELL_MAX],
	    result[AUDIT_CELL_MAX], reason[AUDIT_CELL_MAX];
	char detail[DETAIL_MAX];

	ctl_local_time(t, when, sizeof(when));
	audit_cell(pv_json_get(obj, "event"), event, sizeof(event));
	audit_cell(pv_json_get(obj, "user"), user, sizeof(user));
	audit_cell(pv_json_get(obj, "rhost"), rhost, sizeof(rhost));
	audit_cell(pv_json_get(obj, "result"), result, sizeof(result));
	audit_cell(pv_json_get(obj, "reason"), reason, sizeof(reason));
	audit_detail(obj, detail, sizeof(detail));
	printf("%-*s  %-13s  %-16s  %-15s  %-6s  %-18s  %s\n", AUDIT_TIME_WIDTH, when, event, user,
	       rhost, result, reason, detail);
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
	if (!pv_audit_event_time(&obj, ac->ctl->now, &t)) {
		ctl_warn("%s line %lu has no valid time; skipped", file, lineno);
		goto out;
	}
	if (t < ac->f->since || t > ac->f->until ||
	    !vendor_matches(ac->f, pv_json_get(&obj, "user")))
		goto out;
	if (ac->ctl->json) {
		struct pv_buf b;

		pv_buf_init(&b, AUDIT_JSON_ROW_MAX);
		if (ac->shown > 0)
			pv_buf_puts(&b, ",");
		pv_json_write_object(&b, &obj);
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
	struct audit_filter f;
	struct pv_err err;
	char window[2 * PV_TIME_TEXT_MAX + 64];
	int rc;

	rc = audit_parse_filter(cmd, ctl, argc, argv, &f);
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
	rc = audit_read_lines(ctl, &f, audit_line, &ac, &err) == PV_OK ? EXIT_OK : EXIT_FAIL;
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
		audit_describe_window(&f, window, sizeof(window));
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

int cmd_audit_verify(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("audit verify");
	struct pv_audit_verify_result res;
	struct pv_err err;
	bool recordings = argc == 2 && strcmp(argv[1], "--recordings") == 0;
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--all-hosts") == 0)
			return audit_verify_all_hosts(ctl, cmd, argc, argv);
	if (argc >= 3 && strcmp(argv[1], "--verify-key") == 0)
		return ctl_audit_verify_sealed(ctl, cmd, argc, argv);
	if (argc > 1 && !recordings)
		return ctl_usage_arg(cmd, argv[1]);
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
	return recordings ? ctl_verify_recordings(ctl) : EXIT_OK;
}

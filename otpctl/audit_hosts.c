/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_hosts.c — `otpctl audit verify --all-hosts`: every gateway's chain as copied to the
 * database's audit table, read host by host in seq order, against the host's head there. */
#include "cmd_audit.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit_seal.h"

/* A host named by --verify-key HOST=KEY (its seals checked with KEY, as the local verify
 * checks them) or by --unsealed-ok HOST (its seals left unchecked on purpose). */
struct host_key {
	char host[PV_STORE_AUDIT_HOST_MAX + 1];
	struct pv_audit_seal_key key;
	bool have_key;
	bool seen; /* the host is in the table */
};

struct seal_opts {
	struct host_key *hosts;
	size_t n;
	size_t n_keys; /* 0: no seal check at all (the chain only, as before sealing) */
};

/* One host being checked, and the totals. */
struct host_check {
	struct otpctl *ctl;
	const struct pv_store_audit_head *head;
	struct pv_audit_chain chain;
	struct pv_audit_verify_result res;
	struct seal_opts *opts;
	struct host_key *hk; /* this host's entry in opts, or NULL */
	struct pv_audit_seal_check seal;
	struct pv_audit_seal_result seal_res;
	int64_t now;
	uint64_t expect; /* the seq the next row must have */
	char where[300];
	unsigned hosts;
	unsigned broken;
	bool read_failed; /* a host's lines could not be read (said why) */
	bool gap_inside;  /* this host's problem is a gap inside its chain */
	/* Hosts whose first read found a gap inside the chain, read again in a new snapshot
	 * (second pass: only they are checked, and each is reported then). */
	char **again;
	size_t n_again;
	bool second_pass;
	size_t n_rechecked; /* hosts of the list found again in the second pass */
	bool out_of_memory;
};

#define MISSING_WHY                                                                                \
	"removed from the table, or never copied (written while the database could not be "        \
	"reached: that host's own log has them)"

/* "seq A missing" or "seq A to B missing", with where in the chain. */
static void gap_problem(struct host_check *hc, uint64_t from, uint64_t to, const char *part)
{
	if (from == to)
		snprintf(hc->res.problem, sizeof(hc->res.problem),
		         "%.300s: seq %" PRIu64 " missing (%s): " MISSING_WHY, hc->where, from,
		         part);
	else
		snprintf(hc->res.problem, sizeof(hc->res.problem),
		         "%.300s: seq %" PRIu64 " to %" PRIu64 " missing (%s): " MISSING_WHY,
		         hc->where, from, to, part);
}

static int host_line(const char *host, uint64_t seq, const char *line, size_t len, void *ctx)
{
	struct host_check *hc = ctx;

	if (seq > hc->expect) {
		hc->gap_inside = hc->res.lines > 0;
		gap_problem(hc, hc->expect, seq - 1,
		            hc->res.lines == 0 ? "the start of the chain" : "inside the chain");
		return 1;
	}
	if (hc->res.lines == 0 && seq < hc->expect) {
		snprintf(hc->res.problem, sizeof(hc->res.problem),
		         "%.300s: seq %" PRIu64
		         " comes before the first line the head records (seq "
		         "%" PRIu64 "): the head was altered",
		         hc->where, seq, hc->expect);
		return 1;
	}
	if (pv_audit_chain_line(&hc->chain, line, len, hc->where, (unsigned long)seq) != 0)
		return 1;
	hc->expect = seq + 1;
	return 0;
}

/* After the host's last row: its end against the head. */
static void check_end(struct host_check *hc)
{
	const struct pv_store_audit_head *h = hc->head;
	struct pv_audit_verify_result *res = &hc->res;

	if (res->lines == 0)
		gap_problem(hc, h->first_seq, h->seq, "every line the head records");
	else if (res->last_seq < h->seq)
		gap_problem(hc, res->last_seq + 1, h->seq, "the end of the chain");
	else if (res->last_seq > h->seq)
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s: the lines go on to seq %" PRIu64 " but the head records seq "
		         "%" PRIu64 ": the head was rolled back",
		         hc->where, res->last_seq, h->seq);
	else if (strcasecmp(hc->chain.prev_mac_hex, h->mac) != 0)
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s: the last line (seq %" PRIu64 ") is not the one the head records: "
		         "it was replaced",
		         hc->where, res->last_seq);
	else
		res->intact = true;
}

static void report_host(struct host_check *hc)
{
	const struct pv_store_audit_head *h = hc->head;
	char seals[256] = "";

	hc->hosts++;
	if (!hc->res.intact) {
		hc->broken++;
		ctl_error("host %s: NOT intact: %s", h->host, hc->res.problem);
		return;
	}
	/* With keys given, every host's seals are checked or explicitly let go. */
	if (hc->opts->n_keys > 0 && hc->hk == NULL) {
		hc->broken++;
		ctl_error("host %s: intact chain, but seals not checked: give --verify-key %s=KEY, "
		          "or --unsealed-ok %s for a host that does not seal",
		          h->host, h->host, h->host);
		return;
	}
	if (hc->ctl->json)
		return;
	if (hc->hk != NULL && hc->hk->have_key)
		ctl_describe_seals(&hc->seal_res, seals, sizeof(seals));
	else if (hc->hk != NULL)
		snprintf(seals, sizeof(seals), "seals not checked (--unsealed-ok)");
	printf("host %s: intact%s, %lu lines (seq %" PRIu64 " to %" PRIu64 ")%s%s\n", h->host,
	       hc->hk != NULL && hc->hk->have_key && hc->seal_res.sealed ? " and sealed" : "",
	       hc->res.lines, hc->res.first_seq, hc->res.last_seq, seals[0] ? ", " : "", seals);
	if (h->first_seq > 1)
		printf("note: host %s: seq 1 to %" PRIu64 " were never copied to the table "
		       "(written before the database was set up); its own log has them\n",
		       h->host, h->first_seq - 1);
}

static struct host_key *find_host(struct seal_opts *o, const char *host)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strcmp(o->hosts[i].host, host) == 0) {
			o->hosts[i].seen = true;
			return &o->hosts[i];
		}
	return NULL;
}

static bool listed_again(const struct host_check *hc, const char *host)
{
	size_t i;

	for (i = 0; i < hc->n_again; i++)
		if (strcmp(hc->again[i], host) == 0)
			return true;
	return false;
}

/* A gap inside a host's chain in the first snapshot may be a line still being copied: each
 * gateway copies its line after its local lock, so seq 11 can commit before seq 10, and the
 * snapshot can fall between them (the head moves with the line, so no gap shows at the end).
 * Such a host is read once more in a new snapshot, where a copy in flight has landed (it is
 * bounded by the gateway's pg_timeout); a row really missing is missing there too. */
static int defer_host(struct host_check *hc, const char *host)
{
	char **grown = realloc(hc->again, (hc->n_again + 1) * sizeof(*grown));

	if (grown == NULL || (grown[hc->n_again] = strdup(host)) == NULL) {
		if (grown != NULL)
			hc->again = grown;
		ctl_error("out of memory");
		hc->out_of_memory = true;
		return 1;
	}
	hc->again = grown;
	hc->n_again++;
	return 0;
}

/* One host: its lines in seq order (read in batches by the store), then its end. */
static int check_host(const struct pv_store_audit_head *head, void *ctx)
{
	struct host_check *hc = ctx;
	const struct pv_store_audit_query q = {head->host, NULL, INT64_MIN, INT64_MAX};
	struct pv_err err;

	if (hc->second_pass && !listed_again(hc, head->host))
		return 0;
	if (hc->second_pass)
		hc->n_rechecked++;
	hc->head = head;
	hc->gap_inside = false;
	hc->hk = find_host(hc->opts, head->host);
	pv_audit_chain_init(&hc->chain, &hc->ctl->keys, &hc->res);
	snprintf(hc->where, sizeof(hc->where), "the audit table (host %.200s)", head->host);
	if (!head->have_head) {
		snprintf(hc->res.problem, sizeof(hc->res.problem),
		         "%.300s: lines without a head in pam_vendor_audit_head: the start and end "
		         "of the chain cannot be checked",
		         hc->where);
		report_host(hc);
		return 0;
	}
	hc->expect = head->first_seq;
	if (hc->hk != NULL && hc->hk->have_key) {
		pv_audit_seal_check_start(&hc->seal, &hc->hk->key, &hc->seal_res);
		hc->chain.seal = &hc->seal;
	}
	if (pv_store_audit_foreach(hc->ctl->store, &q, host_line, hc, &err) != PV_OK) {
		pv_audit_seal_check_wipe(&hc->seal);
		ctl_error("%s", err.msg);
		hc->read_failed = true;
		return 1; /* stop: exit 1 */
	}
	if (hc->res.problem[0] == '\0')
		check_end(hc);
	if (hc->chain.seal != NULL)
		pv_audit_seal_check_end(&hc->seal, hc->now, &hc->res);
	if (hc->gap_inside && !hc->second_pass)
		return defer_host(hc, head->host);
	report_host(hc);
	return 0;
}

/* The second pass over the hosts defer_host listed, in a new snapshot. */
static int check_again(struct host_check *hc, struct pv_err *err)
{
	if (hc->n_again == 0)
		return PV_OK;
	hc->second_pass = true;
	if (pv_store_audit_heads(hc->ctl->store, check_host, hc, err) != PV_OK)
		return PV_ERR;
	if (hc->n_rechecked < hc->n_again && !hc->read_failed) {
		hc->broken += (unsigned)(hc->n_again - hc->n_rechecked);
		ctl_error("%zu host(s) with a gap inside the chain were gone from the audit table "
		          "when read again: their rows and head were removed",
		          hc->n_again - hc->n_rechecked);
	}
	return PV_OK;
}

/* Add HOST to opts (HOST=KEY for --verify-key: the key read, "-" from standard input at
 * most once). EXIT_OK, EXIT_USAGE or EXIT_FAIL (a bad key), the error printed. */
static int add_host(const struct command *cmd, struct seal_opts *o, const char *arg, bool with_key,
                    bool *stdin_used)
{
	const char *eq = with_key ? strchr(arg, '=') : NULL;
	size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	struct host_key *hk = &o->hosts[o->n];

	if (with_key && eq == NULL)
		return ctl_usage_error(cmd, "--verify-key with --all-hosts takes HOST=KEY");
	if (len == 0 || len > PV_STORE_AUDIT_HOST_MAX)
		return ctl_usage_error(cmd,
		                       "a host name of 1 to %d characters is needed, not "
		                       "\"%.64s\"",
		                       PV_STORE_AUDIT_HOST_MAX, arg);
	memcpy(hk->host, arg, len);
	hk->host[len] = '\0';
	if (find_host(o, hk->host) != NULL)
		return ctl_usage_error(cmd, "host %.64s is named twice", hk->host);
	if (with_key) {
		if (strcmp(eq + 1, "-") == 0 && *stdin_used)
			return ctl_usage_error(cmd, "only one key can be read from standard input");
		*stdin_used = *stdin_used || strcmp(eq + 1, "-") == 0;
		if (ctl_read_seal_key(eq + 1, &hk->key) != EXIT_OK)
			return EXIT_FAIL;
		hk->have_key = true;
		o->n_keys++;
	}
	o->n++;
	return EXIT_OK;
}

/* --all-hosts [--verify-key HOST=KEY]... [--unsealed-ok HOST]... (o->hosts: argc entries). */
static int parse_options(const struct command *cmd, int argc, char **argv, struct seal_opts *o)
{
	bool stdin_used = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		bool key = strcmp(argv[i], "--verify-key") == 0;

		if (strcmp(argv[i], "--all-hosts") == 0)
			continue;
		if (!key && strcmp(argv[i], "--unsealed-ok") != 0)
			return ctl_usage_arg(cmd, argv[i]);
		if (i + 1 == argc)
			return ctl_usage_error(cmd, "%s needs a value", argv[i]);
		rc = add_host(cmd, o, argv[++i], key, &stdin_used);
		if (rc != EXIT_OK)
			return rc;
	}
	for (i = 0; (size_t)i < o->n; i++)
		o->hosts[i].seen = false; /* find_host marked them while checking duplicates */
	return EXIT_OK;
}

/* A host named on the command line that the table does not hold: a typo, or a gateway whose
 * every row and head were removed. */
static unsigned report_unseen(const struct seal_opts *o)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < o->n; i++) {
		if (o->hosts[i].seen)
			continue;
		ctl_error("host %s is named on the command line but is not in the audit table",
		          o->hosts[i].host);
		n++;
	}
	return n;
}

static int run_checks(struct otpctl *ctl, struct host_check *hc)
{
	struct pv_err err;

	if (pv_store_audit_heads(ctl->store, check_host, hc, &err) != PV_OK ||
	    (!hc->read_failed && !hc->out_of_memory && check_again(hc, &err) != PV_OK)) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	if (hc->read_failed || hc->out_of_memory)
		return EXIT_FAIL;
	hc->broken += report_unseen(hc->opts);
	if (ctl->json)
		printf("{\"hosts\":%u,\"broken\":%u,\"intact\":%s}\n", hc->hosts, hc->broken,
		       hc->broken == 0 ? "true" : "false");
	else if (hc->hosts == 0)
		printf("the audit table is empty\n");
	return hc->broken == 0 ? EXIT_OK : EXIT_FAIL;
}

int audit_verify_all_hosts(struct otpctl *ctl, const struct command *cmd, int argc, char **argv)
{
	struct seal_opts opts = {0};
	struct host_check *hc = NULL;
	int rc;

	opts.hosts = calloc((size_t)argc, sizeof(*opts.hosts));
	if (opts.hosts == NULL) {
		ctl_error("out of memory");
		return EXIT_FAIL;
	}
	rc = parse_options(cmd, argc, argv, &opts);
	if (rc != EXIT_OK)
		goto out;
	rc = EXIT_FAIL;
	if (ctl_open(ctl) != EXIT_OK)
		goto out;
	hc = calloc(1, sizeof(*hc));
	if (hc == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	hc->ctl = ctl;
	hc->opts = &opts;
	hc->now = (int64_t)time(NULL);
	rc = run_checks(ctl, hc);
out:
	if (hc != NULL) {
		while (hc->n_again > 0)
			free(hc->again[--hc->n_again]);
		free(hc->again);
		sodium_memzero(hc, sizeof(*hc));
		free(hc);
	}
	sodium_memzero(opts.hosts, (size_t)argc * sizeof(*opts.hosts));
	free(opts.hosts);
	return rc;
}

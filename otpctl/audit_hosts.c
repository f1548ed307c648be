/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_hosts.c — `otpctl audit verify --all-hosts`: every gateway's chain as copied to the
 * database's audit table, read host by host in seq order, against the host's head there. */
#include "cmd_audit.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One host being checked, and the totals. */
struct host_check {
	struct otpctl *ctl;
	const struct pv_store_audit_head *head;
	struct pv_audit_chain chain;
	struct pv_audit_verify_result res;
	uint64_t expect; /* the seq the next row must have */
	char where[300];
	unsigned hosts;
	unsigned broken;
	bool read_failed; /* a host's lines could not be read (said why) */
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

	hc->hosts++;
	if (!hc->res.intact) {
		hc->broken++;
		ctl_error("host %s: NOT intact: %s", h->host, hc->res.problem);
		return;
	}
	if (hc->ctl->json)
		return;
	printf("host %s: intact, %lu lines (seq %" PRIu64 " to %" PRIu64 ")\n", h->host,
	       hc->res.lines, hc->res.first_seq, hc->res.last_seq);
	if (h->first_seq > 1)
		printf("note: host %s: seq 1 to %" PRIu64 " were never copied to the table "
		       "(written before the database was set up); its own log has them\n",
		       h->host, h->first_seq - 1);
}

/* One host: its lines in seq order (read in batches by the store), then its end. */
static int check_host(const struct pv_store_audit_head *head, void *ctx)
{
	struct host_check *hc = ctx;
	const struct pv_store_audit_query q = {head->host, NULL, INT64_MIN, INT64_MAX};
	struct pv_err err;

	hc->head = head;
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
	if (pv_store_audit_foreach(hc->ctl->store, &q, host_line, hc, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		hc->read_failed = true;
		return 1; /* stop: exit 1 */
	}
	if (hc->res.problem[0] == '\0')
		check_end(hc);
	report_host(hc);
	return 0;
}

int audit_verify_all_hosts(struct otpctl *ctl)
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
	if (pv_store_audit_heads(ctl->store, check_host, hc, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		goto out;
	}
	if (hc->read_failed)
		goto out;
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

/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_issue.c — `otpctl issue`: a single-use code for an open or upcoming window, printed
 * once for the admin to read aloud, stored only as a keyed hash. */
#include <getopt.h>
#include <string.h>

#include <sodium.h>

#include "otp.h"
#include "otpctl.h"
#include "timeparse.h"

struct issue_ctx {
	struct otpctl *ctl;
	int64_t ttl;
	char digits[PV_OTP_MAX_LEN + 1];
	int64_t expires;
	struct pv_cidr allowed[PV_MAX_IPS]; /* where the code works from */
	size_t n_allowed;
	char ips[2048];
};

static bool hash_in_use(const struct pv_record *rec, const unsigned char *hash)
{
	size_t i;

	for (i = 0; i < rec->n_codes; i++)
		if (pv_otp_hash_equal(rec->codes[i].hash, hash))
			return true;
	return false;
}

static enum pv_modify_result issue_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct issue_ctx *ic = vctx;
	struct otpctl *ctl = ic->ctl;
	unsigned char hash[PV_CODE_HASH_BYTES];
	const struct pv_cidr *allowed;
	char t1[PV_TIME_TEXT_MAX];
	char detail[128];
	size_t n_allowed;
	struct pv_code *code;
	int tries;

	if (pv_window_state(rec, ctl->now) == PV_WINDOW_NONE) {
		pv_err_set(err, "%s has no window; open one first: otpctl enable %s --for DURATION",
		           rec->name, rec->name);
		return PV_MODIFY_FAIL;
	}
	if (pv_window_state(rec, ctl->now) == PV_WINDOW_CLOSED) {
		ctl_local_time(rec->window_end, t1, sizeof(t1));
		pv_err_set(
		    err,
		    "the window of %s ended at %s; open a new one: otpctl enable %s --for DURATION",
		    rec->name, t1, rec->name);
		return PV_MODIFY_FAIL;
	}
	if (rec->locked) {
		pv_err_set(err,
		           "%s is locked after %u failed codes; check the audit log, then: otpctl "
		           "unlock %s",
		           rec->name, rec->failures, rec->name);
		return PV_MODIFY_FAIL;
	}
	ic->expires = ctl->now + ic->ttl;
	if (ic->expires > rec->window_end)
		ic->expires = rec->window_end;
	if (ic->expires <= rec->window_start) {
		ctl_local_time(rec->window_start, t1, sizeof(t1));
		pv_err_set(err,
		           "a code issued now would expire before the window of %s opens at %s; "
		           "issue it closer to the start or give a longer --ttl",
		           rec->name, t1);
		return PV_MODIFY_FAIL;
	}
	pv_record_prune_codes(rec, ctl->now);
	if (rec->n_codes >= PV_MAX_CODES) {
		pv_err_set(err,
		           "%s already has %d codes that are recent; wait for them to expire or "
		           "run otpctl disable %s",
		           rec->name, PV_MAX_CODES, rec->name);
		return PV_MODIFY_FAIL;
	}
	/* Two live codes with the same digits would make "which one was used" ambiguous. */
	for (tries = 0; tries < 16; tries++) {
		pv_otp_generate(ctl->cfg.otp_length, ic->digits);
		if (pv_otp_hash(&ctl->keys, rec->name, ic->digits, hash) != PV_OK) {
			pv_err_set(err, "cannot hash the code");
			return PV_MODIFY_FAIL;
		}
		if (!hash_in_use(rec, hash))
			break;
	}
	if (tries == 16) {
		pv_err_set(err, "cannot draw a fresh code");
		return PV_MODIFY_FAIL;
	}
	code = &rec->codes[rec->n_codes++];
	memcpy(code->hash, hash, sizeof(hash));
	code->issued = ctl->now;
	code->expires = ic->expires;
	code->used_at = 0;
	sodium_memzero(hash, sizeof(hash));
	allowed = pv_record_allowed_ips(rec, &n_allowed);
	memcpy(ic->allowed, allowed, n_allowed * sizeof(*allowed));
	ic->n_allowed = n_allowed;
	ctl_format_ips(allowed, n_allowed, ic->ips, sizeof(ic->ips));
	pv_format_utc((time_t)ic->expires, t1, sizeof(t1));
	snprintf(detail, sizeof(detail), "code valid until %s", t1);
	if (ctl_audit(ctl, "issue", rec->name, "allow", "ok", detail) != EXIT_OK) {
		err->msg[0] = '\0';
		return PV_MODIFY_FAIL;
	}
	return PV_MODIFY_SAVE;
}

/* "48210937" -> "4821 0937"; groups of 4, or of 3 when that divides evenly (6, 9 digits). */
static void group_digits(const char *digits, char *out, size_t len)
{
	size_t n = strlen(digits);
	size_t group = (n % 4 != 0 && n % 3 == 0) ? 3 : 4;
	size_t o = 0;
	size_t i;

	for (i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && i % group == 0)
			out[o++] = ' ';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

static void print_code(const struct otpctl *ctl, const char *name, const struct issue_ctx *ic)
{
	char grouped[2 * PV_OTP_MAX_LEN + 1];
	char when[PV_TIME_TEXT_MAX];
	char left[32];
	struct pv_buf b;
	bool first = true;

	if (ctl->json) {
		pv_buf_init(&b, 8192);
		pv_buf_puts(&b, "{");
		pv_json_key_string(&b, &first, "vendor", name);
		pv_json_key_string(&b, &first, "otp", ic->digits);
		pv_format_utc((time_t)ic->expires, when, sizeof(when));
		pv_json_key_string(&b, &first, "expires", when);
		ctl_json_ips(&b, &first, "ips", ic->allowed, ic->n_allowed);
		pv_buf_puts(&b, "}");
		ctl_print_json(&b);
		pv_buf_free(&b);
		return;
	}
	group_digits(ic->digits, grouped, sizeof(grouped));
	ctl_local_time(ic->expires, when, sizeof(when));
	pv_format_duration(ic->expires - ctl->now, left, sizeof(left));
	printf("One-time code for %s:\n\n    %s\n\n", name, grouped);
	printf("Valid once, until %s (%s), from: %s\n", when, left, ic->ips);
	printf("It will not be shown again.\n");
	sodium_memzero(grouped, sizeof(grouped));
}

int cmd_issue(struct otpctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"ttl", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = ctl_find_command("issue");
	struct issue_ctx ic;
	struct pv_err err;
	const char *name = NULL;
	const char *ttl_text = NULL;
	int rc = EXIT_FAIL;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1 || optind < argc) {
		if (c == -1) {
			if (name != NULL)
				return ctl_usage_error(cmd, "unexpected argument \"%.64s\"",
				                       argv[optind]);
			name = argv[optind++];
		} else if (c == 't') {
			ttl_text = optarg;
		} else {
			return ctl_usage_error(cmd, "unknown or incomplete option %.64s",
			                       argv[optind - 1]);
		}
	}
	if (name == NULL)
		return ctl_usage_error(cmd, "the vendor NAME is missing");
	memset(&ic, 0, sizeof(ic));
	if (ttl_text != NULL && pv_parse_duration(ttl_text, &ic.ttl, &err) != PV_OK)
		return ctl_usage_error(cmd, "%s", err.msg);
	if (!ctl_check_name(name) || ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (ttl_text == NULL)
		ic.ttl = ctl->cfg.otp_ttl;
	ic.ctl = ctl;
	if (ctl_store_update(ctl, name, issue_locked, &ic) != EXIT_OK)
		goto out;
	/* Printed only once the hash is on disk and the issue is audited. */
	print_code(ctl, name, &ic);
	rc = EXIT_OK;
out:
	sodium_memzero(&ic, sizeof(ic));
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_audit_seal.c — forward-secure sealing of the audit log from otpctl (audit_seal.h):
 * `otpctl audit setup-sealing` (and `otpctl init`) prints the verification key once, as text
 * and QR code; `otpctl audit verify --verify-key KEY` checks the seals with it; `otpctl audit
 * stop-sealing` ends a run on purpose. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit_seal.h"
#include "otpctl.h"
#include "timeparse.h"

int ctl_print_seal_key_text(const struct otpctl *ctl, const char *key_text, bool invert)
{
	printf("Audit sealing verification key (epochs of %lld s):\n%s\n\n",
	       (long long)ctl->cfg.audit_seal_epoch, key_text);
	if (ctl_print_qr(key_text, invert) != EXIT_OK)
		return EXIT_FAIL;
	printf("\nKeep this key OFF this machine (paper, a password safe): it is shown once and "
	       "not stored here.\nWith it, anyone can check the audit log (otpctl audit verify "
	       "--verify-key -) and forge its seals:\nkeep it secret too.\n");
	return EXIT_OK;
}

int ctl_seal_setup(struct otpctl *ctl, const char *action, char *key_text)
{
	char detail[128];
	char start[PV_TIME_TEXT_MAX];
	struct pv_err err;

	if (pv_audit_seal_setup(ctl->cfg.audit_log, ctl->cfg.audit_seal_epoch, ctl->now, key_text,
	                        PV_AUDIT_SEAL_KEY_TEXT_MAX, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	pv_format_utc((time_t)ctl->now, start, sizeof(start));
	snprintf(detail, sizeof(detail), "audit sealing: epochs of %lld s from %s",
	         (long long)ctl->cfg.audit_seal_epoch, start);
	/* Never a sealing state whose key was not printed, nor one the log does not record. */
	if (ctl_audit(ctl, action, NULL, "allow", "ok", detail) != EXIT_OK) {
		if (pv_audit_seal_discard(ctl->cfg.audit_log, &err) != PV_OK)
			ctl_error("%s", err.msg);
		sodium_memzero(key_text, PV_AUDIT_SEAL_KEY_TEXT_MAX);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int print_setup_json(struct otpctl *ctl, const char *key_text)
{
	struct pv_buf b;
	bool first = true;
	int rc;

	pv_buf_init(&b, 4096);
	pv_buf_puts(&b, "{");
	pv_json_key_string(&b, &first, "audit_log", ctl->cfg.audit_log);
	pv_json_key_int(&b, &first, "seal_epoch_s", ctl->cfg.audit_seal_epoch);
	pv_json_key_string(&b, &first, "verify_key", key_text);
	pv_buf_puts(&b, "}");
	rc = ctl_print_json(&b);
	pv_buf_free(&b);
	return rc;
}

int cmd_audit_setup_sealing(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("audit setup-sealing");
	char key_text[PV_AUDIT_SEAL_KEY_TEXT_MAX];
	bool invert = false;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--invert") == 0)
		invert = true;
	else if (argc > 1)
		return ctl_usage_arg(cmd, argv[1]);
	if (ctl_load_config(ctl) != EXIT_OK || ctl_load_keys(ctl) != EXIT_OK)
		return EXIT_FAIL;
	/* The database's audit table gets the setup line too, as any other. */
	if (ctl->cfg.store_backend == PV_STORE_POSTGRESQL && ctl_open_store(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (ctl_seal_setup(ctl, "audit_sealing_setup", key_text) != EXIT_OK)
		return EXIT_FAIL;
	rc = ctl->json ? print_setup_json(ctl, key_text)
	               : ctl_print_seal_key_text(ctl, key_text, invert);
	sodium_memzero(key_text, sizeof(key_text));
	return rc;
}

int cmd_audit_stop_sealing(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("audit stop-sealing");

	if (argc > 1)
		return ctl_usage_arg(cmd, argv[1]);
	if (ctl_load_config(ctl) != EXIT_OK || ctl_load_keys(ctl) != EXIT_OK)
		return EXIT_FAIL;
	/* The database's audit table gets the stop line too, as any other. */
	if (ctl->cfg.store_backend == PV_STORE_POSTGRESQL && ctl_open_store(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (ctl_audit_seal_stop(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (!ctl->json)
		printf(
		    "Audit sealing stopped: the sealing key is wiped. audit setup-sealing starts "
		    "a new run, with a new verification key.\n");
	else
		printf("{\"stopped\":true}\n");
	return EXIT_OK;
}

/* KEY, or "-": one line on standard input (a key in argv is visible to local users). */
int ctl_read_seal_key(const char *arg, struct pv_audit_seal_key *key)
{
	char line[PV_AUDIT_SEAL_KEY_TEXT_MAX + 2];
	struct pv_err err;
	int rc;

	if (strcmp(arg, "-") != 0) {
		rc = pv_audit_seal_key_parse(arg, key, &err);
	} else {
		if (fgets(line, sizeof(line), stdin) == NULL) {
			ctl_error("no verification key on standard input");
			return EXIT_FAIL;
		}
		line[strcspn(line, "\r\n")] = '\0';
		rc = pv_audit_seal_key_parse(line, key, &err);
		sodium_memzero(line, sizeof(line));
	}
	if (rc != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static void sealed_json(const struct pv_audit_verify_result *res,
                        const struct pv_audit_seal_result *sr)
{
	char until[PV_TIME_TEXT_MAX];
	struct pv_buf b;
	bool first = true;

	pv_format_utc((time_t)sr->sealed_until, until, sizeof(until));
	pv_buf_init(&b, 4096);
	pv_buf_puts(&b, "{");
	pv_json_key_bool(&b, &first, "intact", res->intact);
	pv_json_key_int(&b, &first, "lines", (int64_t)res->lines);
	pv_json_key_int(&b, &first, "first_seq", (int64_t)res->first_seq);
	pv_json_key_int(&b, &first, "last_seq", (int64_t)res->last_seq);
	pv_json_key_int(&b, &first, "seals", (int64_t)sr->seals);
	if (sr->sealed)
		pv_json_key_int(&b, &first, "sealed_through_epoch", (int64_t)sr->sealed_through);
	pv_json_key_string(&b, &first, "sealed_until", until);
	pv_json_key_int(&b, &first, "open_lines", (int64_t)sr->open_lines);
	pv_json_key_string(&b, &first, "sealing_stopped_at", sr->stopped ? sr->stopped_at : NULL);
	pv_json_key_string(&b, &first, "problem", res->problem[0] ? res->problem : NULL);
	pv_json_key_string(&b, &first, "note", res->note[0] ? res->note : NULL);
	pv_buf_puts(&b, "}");
	(void)ctl_print_json(&b);
	pv_buf_free(&b);
}

void ctl_describe_seals(const struct pv_audit_seal_result *sr, char *out, size_t size)
{
	char until[PV_TIME_TEXT_MAX];

	if (sr->stopped) {
		snprintf(out, size,
		         "sealing stopped on purpose at %s (epoch %llu, after %lu seals); %lu "
		         "lines after the stop not sealed",
		         sr->stopped_at, (unsigned long long)sr->stopped_epoch, sr->seals,
		         sr->open_lines);
		return;
	}
	if (!sr->sealed) {
		snprintf(out, size, "not sealed yet (the first epoch is still open)");
		return;
	}
	pv_format_utc((time_t)sr->sealed_until, until, sizeof(until));
	snprintf(out, size,
	         "sealed up to %s (epoch %llu, %lu seals); %lu lines since, in the epoch still "
	         "open",
	         until, (unsigned long long)sr->sealed_through, sr->seals, sr->open_lines);
}

/* One key over the whole log. */
static int verify_with_key(struct otpctl *ctl, const struct pv_audit_seal_key *key,
                           const char *which)
{
	struct pv_audit_verify_result res;
	struct pv_audit_seal_result sr;
	char seals[256];
	struct pv_err err;

	if (pv_audit_verify_sealed(ctl->cfg.audit_log, &ctl->keys, key, (int64_t)time(NULL), &res,
	                           &sr, &err) != PV_OK) {
		ctl_error("cannot verify the audit log: %s", err.msg);
		return EXIT_FAIL;
	}
	if (ctl->json)
		sealed_json(&res, &sr);
	if (!res.intact) {
		ctl_error("audit log NOT intact%s: %s", which, res.problem);
		return EXIT_FAIL;
	}
	if (!ctl->json) {
		ctl_describe_seals(&sr, seals, sizeof(seals));
		printf("audit log intact%s%s: %lu lines (seq %llu to %llu), %s\n",
		       sr.sealed && !sr.stopped ? " and sealed" : "", which, res.lines,
		       (unsigned long long)res.first_seq, (unsigned long long)res.last_seq, seals);
		if (res.note[0] != '\0')
			printf("note: %s\n", res.note);
	}
	return EXIT_OK;
}

int ctl_audit_verify_sealed(struct otpctl *ctl, const struct command *cmd, int argc, char **argv)
{
	struct pv_audit_seal_key key;
	char which[64] = "";
	bool stdin_used = false;
	int i, n = (argc - 1) / 2;
	int rc = EXIT_OK;

	for (i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "--verify-key") != 0 || i + 1 == argc)
			return ctl_usage_error(cmd, "%s",
			                       strcmp(argv[i], "--verify-key") == 0
			                           ? "--verify-key needs a value"
			                           : "only --verify-key KEY may repeat");
		if (strcmp(argv[i + 1], "-") == 0 && stdin_used)
			return ctl_usage_error(cmd, "only one key can be read from standard input");
		stdin_used = stdin_used || strcmp(argv[i + 1], "-") == 0;
	}
	if (ctl_load_config(ctl) != EXIT_OK || ctl_load_keys(ctl) != EXIT_OK)
		return EXIT_FAIL;
	/* Each sealing run (setup-sealing to stop-sealing) has its own key: each checked in
	 * turn over the whole log; lines of other runs count as not sealed by that key. */
	for (i = 2; i < argc; i += 2) {
		if (n > 1)
			snprintf(which, sizeof(which), " (key %d of %d)", i / 2, n);
		if (ctl_read_seal_key(argv[i], &key) != EXIT_OK ||
		    verify_with_key(ctl, &key, which) != EXIT_OK)
			rc = EXIT_FAIL;
		sodium_memzero(&key, sizeof(key));
	}
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_db.c — the PostgreSQL store: `otpctl db init` and `db upgrade` (the schema, once for
 * all gateways) and `otpctl store migrate --to postgresql|file` (copy every vendor from the
 * configured backend to the other, verify the copy, leave the source untouched). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "otpctl.h"
#include "store_pg.h"

static int need_database(const struct otpctl *ctl)
{
	if (ctl->cfg.store_backend != PV_STORE_POSTGRESQL || ctl->cfg.pg_conninfo[0] == '\0') {
		ctl_error("%s does not use the database (set store_backend = postgresql and "
		          "pg_conninfo)",
		          ctl->config_path);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* This gateway's lines written before the table could take them (`otpctl init` runs before
 * `db init`): copied now, so the table's chain of this host starts at its first line. */
static int copy_local_log(struct otpctl *ctl)
{
	struct pv_err err;
	unsigned long copied = 0;

	if (pv_store_audit_copy_log(ctl->store, ctl->cfg.audit_log, &copied, &err) != PV_OK) {
		ctl_error("cannot copy this gateway's audit log to the audit table: %s", err.msg);
		return EXIT_FAIL;
	}
	if (copied > 0 && !ctl->json)
		printf("Copied %lu line%s of this gateway's audit log to the audit table.\n",
		       copied, copied == 1 ? "" : "s");
	return EXIT_OK;
}

static int schema_command(struct otpctl *ctl, int argc, bool upgrade)
{
	const struct command *cmd = ctl_find_command(upgrade ? "db upgrade" : "db init");
	struct pv_err err;
	char detail[64];
	int before = 0;
	int r;

	if (argc != 1)
		return ctl_usage_error(cmd, "%s takes no argument", cmd->name);
	if (ctl_load_config(ctl) != EXIT_OK || need_database(ctl) != EXIT_OK ||
	    ctl_load_keys(ctl) != EXIT_OK)
		return EXIT_FAIL;
	r = pv_pg_schema_install(&ctl->cfg, upgrade, &before, &err);
	if (r != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	snprintf(detail, sizeof(detail), "schema version %d (was %d)", PV_PG_SCHEMA_VERSION,
	         before);
	if (ctl_open_store(ctl) != EXIT_OK || copy_local_log(ctl) != EXIT_OK ||
	    ctl_audit(ctl, upgrade ? "db_upgrade" : "db_init", NULL, "allow", "ok", detail) !=
	        EXIT_OK)
		return EXIT_FAIL;
	if (ctl->json)
		printf("{\"schema_version\":%d,\"previous_version\":%d}\n", PV_PG_SCHEMA_VERSION,
		       before);
	else if (!upgrade)
		printf("Created the pam_vendor schema (version %d) in the database.\n",
		       PV_PG_SCHEMA_VERSION);
	else if (before == PV_PG_SCHEMA_VERSION)
		printf("The schema is already at version %d.\n", PV_PG_SCHEMA_VERSION);
	else
		printf("Upgraded the schema from version %d to %d.\n", before,
		       PV_PG_SCHEMA_VERSION);
	return EXIT_OK;
}

int cmd_db_init(struct otpctl *ctl, int argc, char **argv)
{
	return schema_command(ctl, argc, false);
}

int cmd_db_upgrade(struct otpctl *ctl, int argc, char **argv)
{
	return schema_command(ctl, argc, true);
}

/* The same record, byte for byte once encoded? */
static bool same_record(const struct pv_record *a, const struct pv_record *b)
{
	char *ta = NULL;
	char *tb = NULL;
	size_t la = 0;
	size_t lb = 0;
	struct pv_err err;
	bool same = false;

	if (pv_record_encode(a, &ta, &la, &err) == PV_OK &&
	    pv_record_encode(b, &tb, &lb, &err) == PV_OK)
		same = la == lb && sodium_memcmp(ta, tb, la) == 0;
	if (ta != NULL) {
		sodium_memzero(ta, la);
		free(ta);
	}
	if (tb != NULL) {
		sodium_memzero(tb, lb);
		free(tb);
	}
	return same;
}

/* Copy one vendor; a record already at the destination must be identical. */
static int copy_vendor(struct otpctl *ctl, struct pv_store *to, const char *name,
                       struct pv_record *rec, struct pv_record *back, bool *existed)
{
	struct pv_err err;
	int r;

	*existed = false;
	if (pv_store_load(ctl->store, &ctl->keys, name, rec, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	r = pv_store_create(to, &ctl->keys, rec, &err);
	if (r == PV_EXISTS)
		*existed = true;
	else if (r != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	if (pv_store_load(to, &ctl->keys, name, back, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	if (!same_record(rec, back)) {
		ctl_error("vendor %s %s at the destination but differs from the source; nothing "
		          "was overwritten",
		          name, *existed ? "already exists" : "was copied");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_store_migrate(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("store migrate");
	struct pv_config to_cfg;
	struct pv_store *to = NULL;
	struct pv_record *rec = NULL;
	struct pv_record *back = NULL;
	char(*names)[PV_NAME_MAX + 1] = NULL;
	struct pv_err err;
	enum pv_store_backend target;
	size_t n = 0;
	size_t i;
	unsigned copied = 0;
	unsigned present = 0;
	char detail[128];
	int rc = EXIT_FAIL;

	if (argc != 3 || strcmp(argv[1], "--to") != 0)
		return ctl_usage_error(cmd, "give --to postgresql or --to file");
	if (strcmp(argv[2], "postgresql") == 0)
		target = PV_STORE_POSTGRESQL;
	else if (strcmp(argv[2], "file") == 0)
		target = PV_STORE_FILE;
	else
		return ctl_usage_error(cmd, "unknown backend \"%.32s\" (postgresql or file)",
		                       argv[2]);
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (ctl->cfg.store_backend == target) {
		ctl_error("%s already uses the %s store; migrate copies from the configured store "
		          "to the other one",
		          ctl->config_path, argv[2]);
		return EXIT_FAIL;
	}
	to_cfg = ctl->cfg;
	to_cfg.store_backend = target;
	if (target == PV_STORE_POSTGRESQL && to_cfg.pg_conninfo[0] == '\0') {
		ctl_error("set pg_conninfo in %s first (and run otpctl db init)", ctl->config_path);
		return EXIT_FAIL;
	}
	if ((target == PV_STORE_FILE && pv_store_create_dir(&to_cfg, &err) != PV_OK) ||
	    pv_store_open(&to_cfg, &to, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	rec = malloc(sizeof(*rec));
	back = malloc(sizeof(*back));
	if (rec == NULL || back == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	if (pv_store_list(ctl->store, &names, &n, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		goto out;
	}
	for (i = 0; i < n; i++) {
		bool existed = false;
		if (copy_vendor(ctl, to, names[i], rec, back, &existed) != EXIT_OK)
			goto out;
		if (existed)
			present++;
		else
			copied++;
	}
	snprintf(detail, sizeof(detail), "to %s: %u copied, %u already there", argv[2], copied,
	         present);
	if (ctl_audit(ctl, "store_migrate", NULL, "allow", "ok", detail) != EXIT_OK)
		goto out;
	if (ctl->json)
		printf("{\"to\":\"%s\",\"copied\":%u,\"already_there\":%u,\"verified\":%zu}\n",
		       argv[2], copied, present, n);
	else
		printf("Copied %u vendor(s) to the %s store (%u already there, identical); all %zu "
		       "verified. The source is unchanged. Switch with: store_backend = %s\n",
		       copied, argv[2], present, n, argv[2]);
	rc = EXIT_OK;
out:
	free(names);
	if (rec != NULL) {
		pv_record_wipe(rec);
		free(rec);
	}
	if (back != NULL) {
		pv_record_wipe(back);
		free(back);
	}
	pv_store_close(to);
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_init.c — `otpctl init`: the master key, the store directory, the first audit line and the
 * audit log's sealing (its verification key printed once). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_seal.h"
#include "otpctl.h"
#include "safefile.h"
#include "vendorlist.h"

/* Create the directory that will hold `path` when it is missing (one level, root, mode). */
static int make_parent(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	char base[NAME_MAX + 1];
	struct pv_err err;
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return EXIT_OK;
	*slash = '\0';
	fd = pv_open_parent(dir, false, base, sizeof(base), &err);
	if (fd < 0) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	if (mkdirat(fd, base, mode) != 0 && errno != EEXIST) {
		ctl_error("cannot create directory %s: %s", dir, strerror(errno));
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	return EXIT_OK;
}

/* With the database: the store directory holds the local vendor list (vendorlist.h), filled
 * from the database when it can be read already, else empty until the first `otpctl expire`
 * (before `otpctl db init` there is nothing to read). An existing list is kept then. */
static int init_vendor_list(struct otpctl *ctl)
{
	char(*names)[PV_NAME_MAX + 1] = NULL;
	char(*old)[PV_NAME_MAX + 1] = NULL;
	struct pv_err err;
	size_t n = 0;
	int rc;
	int r;

	if (pv_store_create_dir(&ctl->cfg, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	if (pv_store_open(&ctl->cfg, &ctl->store, &err) == PV_OK &&
	    pv_store_list(ctl->store, &names, &n, &err) == PV_OK) {
		rc = ctl_vendor_list_refresh(ctl, names, n);
		free(names);
		return rc;
	}
	/* No schema yet (its check travels with the list): init's lines stay local, db init
	 * copies them. */
	pv_store_close(ctl->store);
	ctl->store = NULL;
	r = pv_vendorlist_read(ctl->cfg.store_dir, &old, &n, &err);
	free(old);
	if (r == PV_OK)
		return EXIT_OK;
	if (r != PV_NOTFOUND) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	return ctl_vendor_list_refresh(ctl, NULL, 0);
}

static int print_created(struct otpctl *ctl, const char *key_text);

int cmd_init(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("init");
	char key_text[PV_AUDIT_SEAL_KEY_TEXT_MAX];
	struct pv_err err;
	int r;

	if (argc != 1)
		return ctl_usage_error(cmd, "init takes no arguments");
	if (ctl_load_config(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (make_parent(ctl->cfg.key_file, 0700) != EXIT_OK ||
	    make_parent(ctl->cfg.audit_log, 0750) != EXIT_OK)
		return EXIT_FAIL;
	r = pv_keys_create(ctl->cfg.key_file, &err);
	if (r != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	/* The database's schema is created once for all gateways by `otpctl db init`. */
	if (ctl->cfg.store_backend == PV_STORE_FILE &&
	    pv_store_create_dir(&ctl->cfg, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	if (ctl_load_keys(ctl) != EXIT_OK ||
	    (ctl->cfg.store_backend == PV_STORE_FILE && ctl_open_store(ctl) != EXIT_OK) ||
	    (ctl->cfg.store_backend == PV_STORE_POSTGRESQL && init_vendor_list(ctl) != EXIT_OK))
		return EXIT_FAIL;
	/* The first line: init, saying that sealing starts. */
	if (ctl_seal_setup(ctl, "init", key_text) != EXIT_OK)
		return EXIT_FAIL;
	r = print_created(ctl, key_text);
	sodium_memzero(key_text, sizeof(key_text));
	return r;
}

/* What init made, and the audit log's verification key (printed once, never stored). */
static int print_created(struct otpctl *ctl, const char *key_text)
{
	int r;

	if (ctl->json) {
		struct pv_buf b;
		bool first = true;
		pv_buf_init(&b, 16384);
		pv_buf_puts(&b, "{");
		pv_json_key_string(&b, &first, "key_file", ctl->cfg.key_file);
		pv_json_key_string(&b, &first, "store_dir", ctl->cfg.store_dir);
		pv_json_key_string(&b, &first, "audit_log", ctl->cfg.audit_log);
		pv_json_key_string(&b, &first, "verify_key", key_text);
		pv_buf_puts(&b, "}");
		r = ctl_print_json(&b);
		pv_buf_free(&b);
		return r;
	}
	if (ctl->cfg.store_backend == PV_STORE_POSTGRESQL) {
		printf(
		    "Created key %s (mode 0600) and audit log %s.\n"
		    "Copy this key to every other gateway (it seals the records in the database),\n"
		    "and create the database schema once: otpctl db init\n\n",
		    ctl->cfg.key_file, ctl->cfg.audit_log);
		return ctl_print_seal_key_text(ctl, key_text, false);
	}
	printf("Created key %s (mode 0600), store %s (mode 0700), audit log %s.\n"
	       "Keep a copy of the key somewhere safe: without it the store cannot be read.\n\n",
	       ctl->cfg.key_file, ctl->cfg.store_dir, ctl->cfg.audit_log);
	return ctl_print_seal_key_text(ctl, key_text, false);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* kept_store.c — the database store opened by auth, handed to account on the same handle.
 * sshd (keyboard-interactive) and OpenVPN run pam_authenticate and pam_acct_mgmt in one
 * process on one handle (BRIEF §6), so one connection serves both: a login then opens two
 * connections (auth and account; the sessions' own) instead of three or four. Nothing else
 * is kept: the file store, a failed auth and every other phase close what they opened. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_modules.h>
#include <sodium.h>

#include "module.h"

#define DATA_KEPT_STORE "pam_vendor_kept_store"

/* What kept the store: the settings it was opened with, as a hash (pg_conninfo may hold a
 * password, and in sshd's [pam] child nothing kept is ever wiped: it exits without pam_end). */
struct kept {
	struct pv_store *store;
	unsigned char settings[crypto_generichash_BYTES];
};

static void settings_hash(const struct pv_config *cfg, unsigned char out[crypto_generichash_BYTES])
{
	crypto_generichash_state st;
	int64_t timeout = cfg->pg_timeout;
	int64_t lock_timeout = cfg->lock_timeout;

	crypto_generichash_init(&st, NULL, 0, crypto_generichash_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)cfg->pg_conninfo,
	                          strlen(cfg->pg_conninfo) + 1);
	crypto_generichash_update(&st, (const unsigned char *)&timeout, sizeof(timeout));
	/* store.c keeps these from the opening call too (the serials' directory, its lock). */
	crypto_generichash_update(&st, (const unsigned char *)cfg->store_dir,
	                          strlen(cfg->store_dir) + 1);
	crypto_generichash_update(&st, (const unsigned char *)&lock_timeout, sizeof(lock_timeout));
	crypto_generichash_final(&st, out, crypto_generichash_BYTES);
}

/* pam_end (OpenVPN) closes a store nobody took; a take replaces the entry (PAM_DATA_REPLACE)
 * and owns the store from then on. */
static void kept_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	struct kept *k = data;

	(void)pamh;
	if (k == NULL)
		return;
	if ((error_status & PAM_DATA_REPLACE) == 0)
		pv_store_close(k->store);
	free(k);
}

/* Take the store an earlier auth kept on this handle, if it was opened with these settings;
 * one that does not match is closed. NULL when there is none. */
static struct pv_store *take_kept(struct call *c)
{
	const void *data = NULL;
	struct kept k;
	unsigned char now[crypto_generichash_BYTES];

	if (pam_get_data(c->pamh, DATA_KEPT_STORE, &data) != PAM_SUCCESS || data == NULL)
		return NULL;
	k = *(const struct kept *)data;
	/* Replacing the entry frees it (kept_cleanup) and leaves the store to us. */
	if (pam_set_data(c->pamh, DATA_KEPT_STORE, NULL, NULL) != PAM_SUCCESS)
		return NULL; /* still owned by the entry: closed at pam_end */
	settings_hash(&c->cfg, now);
	if (c->cfg.store_backend != PV_STORE_POSTGRESQL ||
	    sodium_memcmp(now, k.settings, sizeof(now)) != 0) {
		pv_store_close(k.store);
		return NULL;
	}
	return k.store;
}

int mod_store_open(struct call *c, struct pv_err *err)
{
	c->store = take_kept(c);
	if (c->store != NULL)
		return PV_OK;
	return pv_store_open(&c->cfg, &c->store, err);
}

void mod_store_release(struct call *c, bool keep)
{
	struct kept *k;

	if (c->store == NULL)
		return;
	if (!keep || !pv_store_is_database(c->store))
		goto close;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		goto close;
	k->store = c->store;
	settings_hash(&c->cfg, k->settings);
	if (pam_set_data(c->pamh, DATA_KEPT_STORE, k, kept_cleanup) != PAM_SUCCESS) {
		free(k);
		goto close;
	}
	c->store = NULL;
	return;
close:
	pv_store_close(c->store);
	c->store = NULL;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_vendor-keys.c — sshd's AuthorizedKeysCommand for vendors: prints USER's public keys
 * from the keys view (keysview.h) only while its window is open, each restricted to its
 * addresses (from=), its targets (permitopen) and its shell choice; otherwise nothing. It runs
 * as an unprivileged AuthorizedKeysCommandUser and holds no secret: the login itself is still
 * pam_vendor's decision. Any error prints nothing (sshd then refuses the key) and says why in
 * syslog. Usage: pam_vendor-keys [--config PATH] USER; the view is keys_view of that
 * pam_vendor.conf (world-readable, root's: the same file otpctl reads, so both agree). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "keysview.h"
#include "safefile.h"
#include "timeparse.h"
#include "vendorname.h"

/* USER's record in the view at path: PV_OK, PV_NOTFOUND or PV_ERR (err). */
static int load_entry(const char *path, const char *user, struct pv_record *rec, struct pv_err *err)
{
	char base[256];
	unsigned char *text = NULL;
	size_t len = 0;
	int dirfd;
	int rc;

	dirfd = pv_open_parent(path, false, base, sizeof(base), err);
	if (dirfd < 0)
		return PV_ERR;
	rc = pv_read_file_at(dirfd, base, PV_FILE_PUBLIC, PV_VIEW_MAX, path, &text, &len, err);
	if (rc == PV_NOTFOUND) {
		pv_err_set(err, "%s does not exist (otpctl keys sync writes it)", path);
		rc = PV_ERR;
	}
	if (rc == PV_OK)
		rc = pv_view_find((const char *)text, len, user, rec, err);
	free(text);
	close(dirfd);
	return rc;
}

/* keys_view of the configuration at config_path, into cfg. */
static int load_config(const char *config_path, struct pv_config *cfg, struct pv_err *err)
{
	if (pv_config_load(config_path, cfg, err) != PV_OK)
		return PV_ERR;
	if (cfg->keys_view[0] == '\0') {
		pv_err_set(err, "%.300s sets no keys_view", config_path);
		return PV_ERR;
	}
	return PV_OK;
}

static int serve(const char *config_path, const char *user)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_config *cfg = malloc(sizeof(*cfg));
	struct pv_err err;
	struct pv_buf out;
	int64_t now = (int64_t)time(NULL);
	int wday;
	int minute;
	int rc;

	if (rec == NULL || cfg == NULL) {
		syslog(LOG_ERR, "no key for %s: out of memory", user);
		free(rec);
		free(cfg);
		return EXIT_FAILURE;
	}
	rc = load_config(config_path, cfg, &err);
	if (rc == PV_OK)
		rc = load_entry(cfg->keys_view, user, rec, &err);
	free(cfg);
	if (rc == PV_NOTFOUND) {
		syslog(LOG_INFO, "no key for %s: not a vendor of the keys view", user);
		free(rec);
		return EXIT_SUCCESS;
	}
	if (rc != PV_OK) {
		/* syslog for sshd's case; stderr for an admin who runs it by hand */
		syslog(LOG_ERR, "no key for %s: %s", user, err.msg);
		fprintf(stderr, "pam_vendor-keys: no key for %s: %s\n", user, err.msg);
		free(rec);
		return EXIT_FAILURE;
	}
	pv_local_wday_minute(now, &wday, &minute);
	pv_buf_init(&out, PV_MAX_KEYS * 4096);
	pv_view_authorized_keys(rec, now, wday, minute, &out);
	rc = EXIT_SUCCESS;
	if (out.failed) {
		syslog(LOG_ERR, "no key for %s: the key lines are too long", user);
		fprintf(stderr, "pam_vendor-keys: no key for %s: the key lines are too long\n",
		        user);
		rc = EXIT_FAILURE;
	} else if (out.len == 0) {
		syslog(
		    LOG_INFO,
		    "no key for %s: window not open, locked, outside its hours, or no key stored",
		    user);
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		syslog(LOG_ERR, "keys for %s: cannot write them to sshd", user);
		rc = EXIT_FAILURE;
	} else {
		syslog(LOG_INFO, "served %zu key(s) of %s", rec->n_keys, user);
	}
	pv_buf_free(&out);
	pv_record_wipe(rec);
	free(rec);
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = PV_DEFAULT_CONFIG;
	const char *user;

	openlog("pam_vendor-keys", LOG_PID, LOG_AUTHPRIV);
	if (argc == 4 && strcmp(argv[1], "--config") == 0) {
		path = argv[2];
		user = argv[3];
	} else if (argc == 2) {
		user = argv[1];
	} else {
		fprintf(stderr, "usage: pam_vendor-keys [--config PATH] USER\n");
		syslog(LOG_ERR, "bad arguments (AuthorizedKeysCommand pam_vendor-keys %%u)");
		return 2;
	}
	if (!pv_vendor_name_valid(user)) {
		/* Not a name a vendor can have: no key, and nothing of it in the log. */
		syslog(LOG_INFO, "no key: the user name is not a vendor name");
		return EXIT_SUCCESS;
	}
	tzset(); /* business hours are local time */
	return serve(path, user);
}

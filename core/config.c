/* SPDX-License-Identifier: BSD-3-Clause */
/* config.c — reading pam_vendor.conf strictly (see config.h). A bad line is an error that
 * names the file and line: a half-understood security configuration must not load. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conninfo.h"
#include "safefile.h"
#include "timeparse.h"

#define CONFIG_MAX_BYTES 65536
#define CONFIG_LINE_MAX  1024

void pv_config_defaults(struct pv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->store_dir, sizeof(cfg->store_dir), "/var/lib/pam_vendor");
	snprintf(cfg->key_file, sizeof(cfg->key_file), "/etc/pam_vendor/master.key");
	snprintf(cfg->audit_log, sizeof(cfg->audit_log), "/var/log/pam_vendor/audit.log");
	snprintf(cfg->session_dir, sizeof(cfg->session_dir), "/run/pam_vendor");
	snprintf(cfg->keys_view, sizeof(cfg->keys_view), "/var/lib/pam_vendor-keys/view");
	cfg->otp_length = 8;
	cfg->otp_ttl = 15 * 60;
	cfg->max_failures = 5;
	cfg->max_window = 12 * 3600;
	cfg->unknown_user = PV_UNKNOWN_IGNORE;
	cfg->fail_delay = 2;
	cfg->lock_timeout = 5;
	snprintf(cfg->totp_issuer, sizeof(cfg->totp_issuer), "pam_vendor");
	cfg->store_backend = PV_STORE_FILE;
	cfg->pg_timeout = 2;
	cfg->warn_before = 5 * 60;
	cfg->audit_seal_epoch = 15 * 60;
	cfg->recording_required = true;
	snprintf(cfg->recording_dir, sizeof(cfg->recording_dir), "/var/log/pam_vendor/recordings");
	snprintf(cfg->recorder, sizeof(cfg->recorder), "%s", PV_RECORDER_PATH);
	snprintf(cfg->vendor_shell, sizeof(cfg->vendor_shell), "/bin/bash");
	cfg->recording_min_free = 100;
	cfg->recording_keep = 183 * 86400;
}

/* A libpq connection string must not carry the password: pam_vendor.conf is readable by
 * more than root may want; libpq reads it from a passfile or the service file instead. */
static bool conninfo_has_password(const char *value)
{
	const char *p = value;

	while ((p = strstr(p, "password")) != NULL) {
		const char *q = p + strlen("password");
		bool word_start =
		    (p == value || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '?' || p[-1] == '&');
		while (*q == ' ' || *q == '\t')
			q++;
		if (word_start && *q == '=')
			return true;
		p++;
	}
	return strstr(value, "://") != NULL && strchr(value, '@') != NULL &&
	       strchr(strstr(value, "://") + 3, ':') != NULL &&
	       strchr(strstr(value, "://") + 3, ':') < strchr(value, '@');
}

struct where {
	const char *origin;
	unsigned line;
	struct pv_err *err;
};

static int bad(const struct where *w, const char *key, const char *value, const char *why)
{
	pv_err_set(w->err, "%.300s line %u: invalid value \"%.80s\" for %s (%s)", w->origin,
	           w->line, value, key, why);
	return PV_ERR;
}

/* Does an absolute path have a "." or ".." component (anywhere, trailing included)? */
static bool has_dot_component(const char *path)
{
	const char *p = path;

	while (*p != '\0') {
		size_t n;
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += n;
	}
	return false;
}

static int set_path(const struct where *w, const char *key, const char *value, char *dst,
                    size_t len)
{
	if (value[0] != '/')
		return bad(w, key, value, "an absolute path is required");
	if (strlen(value) >= len || strlen(value) > PATH_MAX / 2)
		return bad(w, key, value, "path too long");
	if (has_dot_component(value))
		return bad(w, key, value, "\".\" and \"..\" components are not allowed");
	snprintf(dst, len, "%s", value);
	return PV_OK;
}

static int set_number(const struct where *w, const char *key, const char *value, unsigned min,
                      unsigned max, unsigned *dst)
{
	char why[64];
	uint64_t v;

	snprintf(why, sizeof(why), "a whole number from %u to %u is required", min, max);
	if (pv_parse_u64(value, max, &v) != PV_OK || v < min)
		return bad(w, key, value, why);
	*dst = (unsigned)v;
	return PV_OK;
}

static int set_duration(const struct where *w, const char *key, const char *value, int64_t min,
                        int64_t max, bool zero_ok, int64_t *dst)
{
	char why[160];
	char lo[32];
	char hi[32];
	struct pv_err ignored;
	int64_t v;

	if (zero_ok && strcmp(value, "0") == 0) {
		*dst = 0;
		return PV_OK;
	}
	pv_format_duration(min, lo, sizeof(lo));
	pv_format_duration(max, hi, sizeof(hi));
	snprintf(why, sizeof(why), "a duration from %s to %s is required, e.g. 15m%s", lo, hi,
	         zero_ok ? ", or 0" : "");
	if (pv_parse_duration(value, &v, &ignored) != PV_OK || v < min || v > max)
		return bad(w, key, value, why);
	*dst = v;
	return PV_OK;
}

static bool is_group_name(const char *s)
{
	size_t i;

	if (s[0] == '\0' || strlen(s) >= 64 || s[0] == '-')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static bool is_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7F)
			return false;
	return true;
}

static int apply(const struct where *w, const char *key, const char *value, struct pv_config *cfg)
{
	if (strcmp(key, "store_dir") == 0)
		return set_path(w, key, value, cfg->store_dir, sizeof(cfg->store_dir));
	if (strcmp(key, "key_file") == 0)
		return set_path(w, key, value, cfg->key_file, sizeof(cfg->key_file));
	if (strcmp(key, "audit_log") == 0)
		return set_path(w, key, value, cfg->audit_log, sizeof(cfg->audit_log));
	if (strcmp(key, "session_dir") == 0)
		return set_path(w, key, value, cfg->session_dir, sizeof(cfg->session_dir));
	if (strcmp(key, "keys_view") == 0)
		return set_path(w, key, value, cfg->keys_view, sizeof(cfg->keys_view));
	if (strcmp(key, "otp_length") == 0)
		return set_number(w, key, value, 6, 12, &cfg->otp_length);
	if (strcmp(key, "max_failures") == 0)
		return set_number(w, key, value, 1, 1000, &cfg->max_failures);
	if (strcmp(key, "otp_ttl") == 0)
		return set_duration(w, key, value, 30, 86400, false, &cfg->otp_ttl);
	if (strcmp(key, "max_window") == 0)
		return set_duration(w, key, value, 60, 30 * 86400, false, &cfg->max_window);
	if (strcmp(key, "fail_delay") == 0)
		return set_duration(w, key, value, 1, 60, true, &cfg->fail_delay);
	if (strcmp(key, "lock_timeout") == 0)
		return set_duration(w, key, value, 1, 60, false, &cfg->lock_timeout);
	if (strcmp(key, "unknown_user") == 0) {
		if (strcmp(value, "ignore") == 0)
			cfg->unknown_user = PV_UNKNOWN_IGNORE;
		else if (strcmp(value, "deny") == 0)
			cfg->unknown_user = PV_UNKNOWN_DENY;
		else
			return bad(w, key, value, "use ignore or deny");
		return PV_OK;
	}
	if (strcmp(key, "vendor_group") == 0) {
		if (!is_group_name(value))
			return bad(w, key, value, "not a group name");
		snprintf(cfg->vendor_group, sizeof(cfg->vendor_group), "%s", value);
		return PV_OK;
	}
	if (strcmp(key, "store_backend") == 0) {
		if (strcmp(value, "file") == 0)
			cfg->store_backend = PV_STORE_FILE;
		else if (strcmp(value, "postgresql") == 0)
			cfg->store_backend = PV_STORE_POSTGRESQL;
		else
			return bad(w, key, value, "use file or postgresql");
		return PV_OK;
	}
	if (strcmp(key, "pg_conninfo") == 0) {
		if (strlen(value) >= sizeof(cfg->pg_conninfo) || !is_printable(value))
			return bad(w, key, value, "printable text of at most 1023 characters");
		if (conninfo_has_password(value))
			return bad(
			    w, key, "(hidden)",
			    "no password here: use a passfile (~root/.pgpass) or a service file");
		snprintf(cfg->pg_conninfo, sizeof(cfg->pg_conninfo), "%s", value);
		return PV_OK;
	}
	if (strcmp(key, "pg_allow_unverified_tls") == 0) {
		if (strcmp(value, "yes") == 0)
			cfg->pg_allow_unverified_tls = true;
		else if (strcmp(value, "no") == 0)
			cfg->pg_allow_unverified_tls = false;
		else
			return bad(w, key, value, "use yes or no");
		return PV_OK;
	}
	if (strcmp(key, "pg_timeout") == 0)
		return set_duration(w, key, value, 1, 60, false, &cfg->pg_timeout);
	if (strcmp(key, "warn_before") == 0)
		return set_duration(w, key, value, 10, 2 * 3600, true, &cfg->warn_before);
	/* 10 s: the shortest epoch a test can wait for; a day: the longest stretch a cut at the
	 * end can hide. The value is fixed in the verification key at setup. */
	if (strcmp(key, "audit_seal_epoch") == 0)
		return set_duration(w, key, value, 10, 86400, false, &cfg->audit_seal_epoch);
	if (strcmp(key, "openvpn_management") == 0)
		return set_path(w, key, value, cfg->openvpn_management,
		                sizeof(cfg->openvpn_management));
	if (strcmp(key, "session_recording") == 0) {
		if (strcmp(value, "required") == 0)
			cfg->recording_required = true;
		else if (strcmp(value, "off") == 0)
			cfg->recording_required = false;
		else
			return bad(w, key, value, "use required or off");
		return PV_OK;
	}
	if (strcmp(key, "recording_dir") == 0)
		return set_path(w, key, value, cfg->recording_dir, sizeof(cfg->recording_dir));
	if (strcmp(key, "recorder") == 0)
		return set_path(w, key, value, cfg->recorder, sizeof(cfg->recorder));
	if (strcmp(key, "vendor_shell") == 0)
		return set_path(w, key, value, cfg->vendor_shell, sizeof(cfg->vendor_shell));
	if (strcmp(key, "recording_min_free") == 0)
		return set_number(w, key, value, 0, 1u << 20, &cfg->recording_min_free);
	if (strcmp(key, "recording_keep") == 0)
		return set_duration(w, key, value, 86400, 3660 * 86400, false,
		                    &cfg->recording_keep);
	if (strcmp(key, "totp_issuer") == 0) {
		if (strlen(value) >= sizeof(cfg->totp_issuer) || !is_printable(value))
			return bad(w, key, value, "printable text of at most 63 characters");
		snprintf(cfg->totp_issuer, sizeof(cfg->totp_issuer), "%s", value);
		return PV_OK;
	}
	pv_err_set(w->err, "%.300s line %u: unknown key \"%.80s\"", w->origin, w->line, key);
	return PV_ERR;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static const char *const known_keys[] = {
    "store_dir",    "key_file",           "audit_log",          "otp_length",
    "otp_ttl",      "max_failures",       "max_window",         "unknown_user",
    "vendor_group", "fail_delay",         "lock_timeout",       "totp_issuer",
    "session_dir",  "store_backend",      "pg_conninfo",        "pg_allow_unverified_tls",
    "pg_timeout",   "warn_before",        "openvpn_management", "audit_seal_epoch",
    "keys_view",    "session_recording",  "recording_dir",      "recorder",
    "vendor_shell", "recording_min_free", "recording_keep",
};
#define N_KEYS (sizeof(known_keys) / sizeof(known_keys[0]))

static size_t key_index(const char *key)
{
	size_t k;

	for (k = 0; k < N_KEYS && strcmp(known_keys[k], key) != 0; k++)
		;
	return k;
}

/* Vendor records and audit lines cross this link: over TCP the server must be verified
 * (sslmode=verify-full), else anyone on the path can answer for the database. */
static int check_link(const char *origin, unsigned line, const struct pv_config *cfg,
                      struct pv_err *err)
{
	struct pv_conninfo_link link;
	struct pv_err why;

	if (pv_conninfo_link(cfg->pg_conninfo, &link, &why) != PV_OK) {
		pv_err_set(err, "%.300s line %u: pg_conninfo cannot be read: %s", origin, line,
		           why.msg);
		return PV_ERR;
	}
	if (pv_conninfo_link_verified(&link) || cfg->pg_allow_unverified_tls)
		return PV_OK;
	pv_err_set(err,
	           "%.300s line %u: pg_conninfo reaches the database %s with sslmode=%s, which "
	           "does not verify the server; add sslmode=verify-full (and sslrootcert=), or "
	           "set pg_allow_unverified_tls = yes",
	           origin, line, link.from_service ? "through a service file" : "over TCP",
	           link.sslmode[0] ? link.sslmode : "prefer (the default)");
	return PV_ERR;
}

int pv_config_parse(const char *text, size_t len, const char *origin, struct pv_config *cfg,
                    struct pv_err *err)
{
	unsigned seen_line[N_KEYS] = {0};
	struct where w = {origin, 0, err};
	const char *p = text;
	const char *end = text + len;

	pv_config_defaults(cfg);
	if (memchr(text, '\0', len) != NULL) {
		const char *nul = memchr(text, '\0', len);
		unsigned line = 1;
		for (p = text; p < nul; p++)
			line += (*p == '\n');
		pv_err_set(err, "%.300s line %u: contains a NUL byte; it is not a text file",
		           origin, line);
		return PV_ERR;
	}
	p = text;
	while (p < end) {
		char line[CONFIG_LINE_MAX + 1];
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *s;
		char *eq;
		char *key;
		char *value;
		size_t k;

		w.line++;
		if (n > CONFIG_LINE_MAX) {
			pv_err_set(err, "%.300s line %u: line longer than %d characters", origin,
			           w.line, CONFIG_LINE_MAX);
			return PV_ERR;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl ? 1 : 0);
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			pv_err_set(err, "%.300s line %u: expected \"key = value\", found \"%.80s\"",
			           origin, w.line, s);
			return PV_ERR;
		}
		*eq = '\0';
		key = trim(s);
		value = trim(eq + 1);
		if (*value == '\0') {
			pv_err_set(err, "%.300s line %u: no value given for %.80s", origin, w.line,
			           key);
			return PV_ERR;
		}
		for (k = 0; k < N_KEYS; k++) {
			if (strcmp(key, known_keys[k]) != 0)
				continue;
			if (seen_line[k] != 0) {
				pv_err_set(err, "%.300s line %u: %s is already set on line %u",
				           origin, w.line, key, seen_line[k]);
				return PV_ERR;
			}
			seen_line[k] = w.line;
		}
		if (apply(&w, key, value, cfg) != PV_OK)
			return PV_ERR;
	}
	if (cfg->store_backend == PV_STORE_POSTGRESQL && cfg->pg_conninfo[0] == '\0') {
		pv_err_set(err, "%.300s: store_backend = postgresql needs pg_conninfo", origin);
		return PV_ERR;
	}
	if (cfg->pg_conninfo[0] != '\0' &&
	    check_link(origin, seen_line[key_index("pg_conninfo")], cfg, err) != PV_OK)
		return PV_ERR;
	/* Only the group keeps users who are not vendors independent of the database. */
	if (cfg->store_backend == PV_STORE_POSTGRESQL && cfg->vendor_group[0] == '\0') {
		pv_err_set(err, "%.300s: store_backend = postgresql needs vendor_group", origin);
		return PV_ERR;
	}
	return PV_OK;
}

int pv_config_load(const char *path, struct pv_config *cfg, struct pv_err *err)
{
	return pv_config_load_in(NULL, path, cfg, err);
}

int pv_config_load_in(struct pv_dirs *dirs, const char *path, struct pv_config *cfg,
                      struct pv_err *err)
{
	char base[NAME_MAX + 1];
	unsigned char *text = NULL;
	size_t len = 0;
	bool owned;
	int dirfd;
	int rc;

	pv_config_defaults(cfg);
	dirfd = pv_dirs_get_parent(dirs, path, false, base, sizeof(base), &owned, err);
	if (dirfd < 0)
		return PV_ERR;
	rc = pv_read_file_at(dirfd, base, PV_FILE_PUBLIC, CONFIG_MAX_BYTES, path, &text, &len, err);
	pv_dirs_put(dirfd, owned);
	if (rc == PV_NOTFOUND) {
		pv_err_set(err, "configuration file %.300s does not exist", path);
		return PV_ERR;
	}
	if (rc != PV_OK)
		return PV_ERR;
	rc = pv_config_parse((const char *)text, len, path, cfg, err);
	free(text);
	cfg->dirs = dirs;
	return rc;
}

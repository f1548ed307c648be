/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_config.c — pv_config_parse (core/config.h) on arbitrary bytes.
 * The input is passed as (pointer, length) with no terminating NUL, exactly as
 * pv_config_load passes the file it read: any read past the end is an ASan report.
 * Invariants:
 *  - failure: a non-empty error sentence;
 *  - success: every field within the range config.h documents (otp_length 6..12, otp_ttl
 *    30s..1d, max_failures 1..1000, max_window 1m..30d, fail_delay 0..60s, lock_timeout
 *    1..60s, absolute paths without "." or ".." components (checked component by
 *    component), a valid group name, a printable issuer), all strings NUL-terminated;
 *  - success: the parsed configuration, written back as "key=value" lines, parses again to
 *    the same configuration (nothing is half-understood or lost). */
#include "fuzz_common.h"

#include <inttypes.h>

#include "config.h"
#include "timeparse.h"

/* config.c refuses paths with "." or ".." components ("... components are not allowed"):
 * checked here component by component, independently of how config.c looks for them. */
static void check_path(const char *key, const char *p, size_t cap)
{
	size_t len = strnlen(p, cap);
	const char *c = p;

	FZ_CHECK(len < cap, "%s not NUL-terminated", key);
	FZ_CHECK(p[0] == '/', "%s is not absolute: %s", key, p);
	while (*c != '\0') {
		size_t n;
		while (*c == '/')
			c++;
		n = strcspn(c, "/");
		FZ_CHECK(!(n == 1 && c[0] == '.') && !(n == 2 && c[0] == '.' && c[1] == '.'),
		         "%s = \"%s\" has a \".\" or \"..\" component", key, p);
		c += n;
	}
}

static void check_ranges(const struct pv_config *c)
{
	size_t i;

	check_path("store_dir", c->store_dir, sizeof(c->store_dir));
	check_path("key_file", c->key_file, sizeof(c->key_file));
	check_path("audit_log", c->audit_log, sizeof(c->audit_log));
	check_path("session_dir", c->session_dir, sizeof(c->session_dir));
	FZ_CHECK(c->otp_length >= 6 && c->otp_length <= 12, "otp_length %u", c->otp_length);
	FZ_CHECK(c->otp_ttl >= 30 && c->otp_ttl <= 86400, "otp_ttl %" PRId64, c->otp_ttl);
	FZ_CHECK(c->max_failures >= 1 && c->max_failures <= 1000, "max_failures %u",
	         c->max_failures);
	FZ_CHECK(c->max_window >= 60 && c->max_window <= 30 * 86400, "max_window %" PRId64,
	         c->max_window);
	FZ_CHECK(c->fail_delay >= 0 && c->fail_delay <= 60, "fail_delay %" PRId64, c->fail_delay);
	FZ_CHECK(c->lock_timeout >= 1 && c->lock_timeout <= 60, "lock_timeout %" PRId64,
	         c->lock_timeout);
	FZ_CHECK(c->unknown_user == PV_UNKNOWN_IGNORE || c->unknown_user == PV_UNKNOWN_DENY,
	         "unknown_user %d", (int)c->unknown_user);
	FZ_CHECK(strnlen(c->vendor_group, sizeof(c->vendor_group)) < sizeof(c->vendor_group),
	         "vendor_group not NUL-terminated");
	for (i = 0; c->vendor_group[i] != '\0'; i++) {
		char ch = c->vendor_group[i];
		FZ_CHECK((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		             (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.',
		         "vendor_group has byte 0x%02x", (unsigned char)ch);
	}
	FZ_CHECK(c->vendor_group[0] != '-', "vendor_group starts with '-'");
	FZ_CHECK(strnlen(c->totp_issuer, sizeof(c->totp_issuer)) < sizeof(c->totp_issuer),
	         "totp_issuer not NUL-terminated");
	FZ_CHECK(c->totp_issuer[0] != '\0', "empty totp_issuer");
	for (i = 0; c->totp_issuer[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)c->totp_issuer[i];
		FZ_CHECK(ch >= 0x20 && ch != 0x7f, "totp_issuer has byte 0x%02x", ch);
	}
}

static void put_duration(char **p, size_t *left, const char *key, int64_t v)
{
	char d[32];
	int n;

	if (v == 0)
		snprintf(d, sizeof(d), "0");
	else
		pv_format_duration(v, d, sizeof(d));
	n = snprintf(*p, *left, "%s=%s\n", key, d);
	FZ_CHECK(n > 0 && (size_t)n < *left, "render buffer too small");
	*p += n;
	*left -= (size_t)n;
}

static void put_text(char **p, size_t *left, const char *key, const char *v)
{
	int n;

	if (v[0] == '\0')
		return; /* vendor_group unset: leave the line out */
	n = snprintf(*p, *left, "%s=%s\n", key, v);
	FZ_CHECK(n > 0 && (size_t)n < *left, "render buffer too small");
	*p += n;
	*left -= (size_t)n;
}

/* Write cfg back as a config file: minimal "key=value" lines, so that no rendered line can
 * be longer than the line it came from. */
static size_t render(const struct pv_config *c, char *buf, size_t cap)
{
	char num[32];
	char *p = buf;
	size_t left = cap;

	put_text(&p, &left, "store_dir", c->store_dir);
	put_text(&p, &left, "key_file", c->key_file);
	put_text(&p, &left, "audit_log", c->audit_log);
	put_text(&p, &left, "session_dir", c->session_dir);
	snprintf(num, sizeof(num), "%u", c->otp_length);
	put_text(&p, &left, "otp_length", num);
	snprintf(num, sizeof(num), "%u", c->max_failures);
	put_text(&p, &left, "max_failures", num);
	put_duration(&p, &left, "otp_ttl", c->otp_ttl);
	put_duration(&p, &left, "max_window", c->max_window);
	put_duration(&p, &left, "fail_delay", c->fail_delay);
	put_duration(&p, &left, "lock_timeout", c->lock_timeout);
	put_text(&p, &left, "unknown_user", c->unknown_user == PV_UNKNOWN_DENY ? "deny" : "ignore");
	put_text(&p, &left, "vendor_group", c->vendor_group);
	put_text(&p, &left, "totp_issuer", c->totp_issuer);
	put_text(&p, &left, "store_backend",
	         c->store_backend == PV_STORE_POSTGRESQL ? "postgresql" : "file");
	put_text(&p, &left, "pg_conninfo", c->pg_conninfo);
	put_text(&p, &left, "pg_allow_unverified_tls", c->pg_allow_unverified_tls ? "yes" : "no");
	put_duration(&p, &left, "pg_timeout", c->pg_timeout);
	put_duration(&p, &left, "warn_before", c->warn_before);
	put_text(&p, &left, "openvpn_management", c->openvpn_management);
	return cap - left;
}

static void check_same(const struct pv_config *a, const struct pv_config *b, const char *text)
{
	FZ_CHECK(strcmp(a->store_dir, b->store_dir) == 0, "store_dir differs; rendered:\n%s", text);
	FZ_CHECK(strcmp(a->key_file, b->key_file) == 0, "key_file differs; rendered:\n%s", text);
	FZ_CHECK(strcmp(a->audit_log, b->audit_log) == 0, "audit_log differs; rendered:\n%s", text);
	FZ_CHECK(strcmp(a->session_dir, b->session_dir) == 0, "session_dir differs; rendered:\n%s",
	         text);
	FZ_CHECK(a->store_backend == b->store_backend && a->pg_timeout == b->pg_timeout &&
	             strcmp(a->pg_conninfo, b->pg_conninfo) == 0 &&
	             a->pg_allow_unverified_tls == b->pg_allow_unverified_tls &&
	             a->warn_before == b->warn_before &&
	             strcmp(a->openvpn_management, b->openvpn_management) == 0,
	         "a database setting differs after the round trip; rendered:\n%s", text);
	FZ_CHECK(a->otp_length == b->otp_length && a->otp_ttl == b->otp_ttl &&
	             a->max_failures == b->max_failures && a->max_window == b->max_window &&
	             a->unknown_user == b->unknown_user && a->fail_delay == b->fail_delay &&
	             a->lock_timeout == b->lock_timeout,
	         "a number differs after the round trip; rendered:\n%s", text);
	FZ_CHECK(strcmp(a->vendor_group, b->vendor_group) == 0,
	         "vendor_group differs; rendered:\n%s", text);
	FZ_CHECK(strcmp(a->totp_issuer, b->totp_issuer) == 0, "totp_issuer differs; rendered:\n%s",
	         text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pv_config cfg, again; /* 12 KiB each: keep them off the stack */
	static char rendered[4 * PATH_MAX + 1024];
	struct pv_err err;
	size_t len;

	err.msg[0] = '\0';
	if (pv_config_parse((const char *)data, size, "fuzz.conf", &cfg, &err) != PV_OK) {
		fz_check_err(&err, false, "pv_config_parse");
		return 0;
	}
	check_ranges(&cfg);

	len = render(&cfg, rendered, sizeof(rendered));
	err.msg[0] = '\0';
	FZ_CHECK(pv_config_parse(rendered, len, "rendered.conf", &again, &err) == PV_OK,
	         "the parsed configuration, written back, does not parse: %s\n%s", err.msg,
	         rendered);
	check_same(&cfg, &again, rendered);
	return 0;
}

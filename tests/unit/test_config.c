/* SPDX-License-Identifier: BSD-3-Clause */
/* test_config.c — unit tests for core/config.c: defaults, every key, every kind of bad line
 * (the error must name the origin and the line), and the file checks of pv_config_load. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>

#include "config.h"
#include "testutil.h"

#define ORIGIN "/etc/pam_vendor/test.conf"

/* Fails unless msg names `origin` and "line N" (N not followed by another digit). */
static void assert_names_line(const char *msg, const char *origin, unsigned line)
{
	char want[32];
	const char *p = msg;
	bool found = false;

	assert_contains(msg, origin);
	snprintf(want, sizeof(want), "line %u", line);
	while ((p = strstr(p, want)) != NULL) {
		p += strlen(want);
		if (!isdigit((unsigned char)*p)) {
			found = true;
			break;
		}
	}
	if (!found)
		fail_msg("\"%s\" does not name line %u", msg, line);
}

static int parse_text(const char *text, struct pv_config *cfg, struct pv_err *err)
{
	memset(err, 0, sizeof(*err));
	return pv_config_parse(text, strlen(text), ORIGIN, cfg, err);
}

/* The text must be refused with an error naming ORIGIN, `line` and (when given) `also`. */
static void assert_refused(const char *text, unsigned line, const char *also)
{
	struct pv_config cfg;
	struct pv_err err;

	if (parse_text(text, &cfg, &err) != PV_ERR)
		fail_msg("accepted: \"%s\"", text);
	assert_names_line(err.msg, ORIGIN, line);
	if (also != NULL)
		assert_contains(err.msg, also);
}

/* One "key = value" line after two harmless lines: the error must name line 3. */
static void assert_value_refused(const char *key, const char *value)
{
	char text[4096];

	snprintf(text, sizeof(text), "# comment\n\n%s = %s\n", key, value);
	assert_refused(text, 3, key);
}

static void assert_value_accepted(const char *key, const char *value, struct pv_config *cfg)
{
	char text[4096];
	struct pv_err err;

	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	if (parse_text(text, cfg, &err) != PV_OK)
		fail_msg("%s = %s refused: %s", key, value, err.msg);
}

/* --- defaults and accepted keys --- */

static void assert_defaults(const struct pv_config *cfg)
{
	assert_string_equal(cfg->store_dir, "/var/lib/pam_vendor");
	assert_string_equal(cfg->key_file, "/etc/pam_vendor/master.key");
	assert_string_equal(cfg->audit_log, "/var/log/pam_vendor/audit.log");
	assert_string_equal(cfg->session_dir, "/run/pam_vendor");
	assert_int_equal(cfg->otp_length, 8);
	assert_int_equal(cfg->otp_ttl, 15 * 60);
	assert_int_equal(cfg->max_failures, 5);
	assert_int_equal(cfg->max_window, 12 * 3600);
	assert_int_equal(cfg->unknown_user, PV_UNKNOWN_IGNORE);
	assert_string_equal(cfg->vendor_group, "");
	assert_true(cfg->fail_delay >= 0 && cfg->fail_delay <= 60);
	assert_true(cfg->lock_timeout >= 1 && cfg->lock_timeout <= 60);
	assert_true(cfg->totp_issuer[0] != '\0');
	assert_int_equal(cfg->warn_before, 5 * 60);
	assert_string_equal(cfg->openvpn_management, "");
	assert_true(cfg->recording_required);
	assert_string_equal(cfg->recording_dir, "/var/log/pam_vendor/recordings");
	assert_string_equal(cfg->recorder, "/usr/libexec/pam_vendor/pv-record");
	assert_string_equal(cfg->vendor_shell, "/bin/bash");
	assert_int_equal(cfg->recording_min_free, 100);
	assert_int_equal(cfg->recording_keep, 183 * 86400);
}

static void test_defaults_are_the_briefs(void **state)
{
	struct pv_config cfg;

	memset(&cfg, 0x5a, sizeof(cfg));
	pv_config_defaults(&cfg);
	assert_defaults(&cfg);
}

static void test_empty_and_comment_only_text_gives_defaults(void **state)
{
	struct pv_config cfg;
	struct pv_err err;

	assert_int_equal(parse_text("", &cfg, &err), PV_OK);
	assert_defaults(&cfg);
	assert_int_equal(parse_text("# only a comment\n\n   \n\t# indented comment\n", &cfg, &err),
	                 PV_OK);
	assert_defaults(&cfg);
}

static void test_every_key_is_accepted(void **state)
{
	static const char text[] =
	    "store_dir = /srv/pv/store\n"
	    "key_file = /srv/pv/master.key\n"
	    "audit_log = /srv/pv/log/audit.log\n"
	    "session_dir = /run/pv-sessions\n"
	    "otp_length = 10\n"
	    "otp_ttl = 5m\n"
	    "max_failures = 3\n"
	    "max_window = 1d\n"
	    "unknown_user = deny\n"
	    "vendor_group = vendors\n"
	    "fail_delay = 3s\n"
	    "lock_timeout = 2s\n"
	    "totp_issuer = CH Example\n"
	    "store_backend = postgresql\n"
	    "pg_conninfo = host=db1,db2 dbname=pv target_session_attrs=read-write "
	    "sslmode=verify-full\n"
	    "pg_allow_unverified_tls = no\n"
	    "pg_timeout = 3s\n"
	    "warn_before = 10m\n"
	    "openvpn_management = /run/openvpn-server/vendors.sock\n";
	struct pv_config cfg;
	struct pv_err err;

	if (parse_text(text, &cfg, &err) != PV_OK)
		fail_msg("refused: %s", err.msg);
	assert_int_equal(cfg.store_backend, PV_STORE_POSTGRESQL);
	assert_string_equal(cfg.pg_conninfo,
	                    "host=db1,db2 dbname=pv target_session_attrs=read-write "
	                    "sslmode=verify-full");
	assert_false(cfg.pg_allow_unverified_tls);
	assert_int_equal(cfg.pg_timeout, 3);
	assert_string_equal(cfg.store_dir, "/srv/pv/store");
	assert_string_equal(cfg.key_file, "/srv/pv/master.key");
	assert_string_equal(cfg.audit_log, "/srv/pv/log/audit.log");
	assert_string_equal(cfg.session_dir, "/run/pv-sessions");
	assert_int_equal(cfg.otp_length, 10);
	assert_int_equal(cfg.otp_ttl, 300);
	assert_int_equal(cfg.max_failures, 3);
	assert_int_equal(cfg.max_window, 86400);
	assert_int_equal(cfg.unknown_user, PV_UNKNOWN_DENY);
	assert_string_equal(cfg.vendor_group, "vendors");
	assert_int_equal(cfg.fail_delay, 3);
	assert_int_equal(cfg.lock_timeout, 2);
	assert_string_equal(cfg.totp_issuer, "CH Example");
	assert_int_equal(cfg.warn_before, 600);
	assert_string_equal(cfg.openvpn_management, "/run/openvpn-server/vendors.sock");
}

/* A link to the database over TCP must verify the server (sslmode=verify-full) unless the
 * admin says otherwise by name; a unix socket needs no TLS. */
static void test_unverified_tcp_database_link_is_refused(void **state)
{
	static const char *const refused[] = {
	    "host=db1.example.org dbname=pv",
	    "host=db1 dbname=pv sslmode=require",
	    "host=db1 dbname=pv sslmode=verify-ca",
	    "hostaddr=192.0.2.5 dbname=pv",
	    "host=/run/postgresql,db2 dbname=pv",
	    "host = 'db1' sslmode = 'prefer'",
	    "service=pamvendor",
	    "postgresql://pv@db1/pv",
	    "postgresql://db1:5432,db2/pv?sslmode=require&connect_timeout=2",
	};
	static const char *const accepted[] = {
	    "dbname=pv",
	    "host=/run/postgresql dbname=pv",
	    "host=@pgsock dbname=pv",
	    "host=db1,db2 dbname=pv sslmode=verify-full sslrootcert=/etc/pam_vendor/ca.pem",
	    "host='db1' sslmode='verify-full'",
	    "postgresql://pv@%2Frun%2Fpostgresql/pv",
	    "postgresql:///pv",
	    "postgresql://pv@db1/pv?connect_timeout=2&sslmode=verify-full",
	    "service=pamvendor sslmode=verify-full",
	};
	struct pv_config cfg;
	struct pv_err err;
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(text, sizeof(text), "# database\npg_conninfo = %s\n", refused[i]);
		if (parse_text(text, &cfg, &err) != PV_ERR)
			fail_msg("accepted: %s", refused[i]);
		assert_contains(err.msg, "line 2: pg_conninfo");
		assert_contains(err.msg, "pg_allow_unverified_tls = yes");
		snprintf(text, sizeof(text), "pg_conninfo = %s\npg_allow_unverified_tls = yes\n",
		         refused[i]);
		if (parse_text(text, &cfg, &err) != PV_OK)
			fail_msg("refused with pg_allow_unverified_tls: %s: %s", refused[i],
			         err.msg);
	}
	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		snprintf(text, sizeof(text), "pg_conninfo = %s\n", accepted[i]);
		if (parse_text(text, &cfg, &err) != PV_OK)
			fail_msg("refused: %s: %s", accepted[i], err.msg);
	}
	assert_value_refused("pg_allow_unverified_tls", "maybe");
	assert_int_equal(parse_text("pg_conninfo = host='db1\n", &cfg, &err), PV_ERR);
	assert_contains(err.msg, "cannot be read");
}

/* The end-of-window warning: a duration, or 0 to send none; never longer than two hours. */
static void test_warn_before_is_a_bounded_duration_or_zero(void **state)
{
	struct pv_config cfg;

	assert_value_accepted("warn_before", "0", &cfg);
	assert_int_equal(cfg.warn_before, 0);
	assert_value_accepted("warn_before", "30s", &cfg);
	assert_int_equal(cfg.warn_before, 30);
	assert_value_refused("warn_before", "5s");
	assert_value_refused("warn_before", "3h");
	assert_value_refused("warn_before", "soon");
	assert_value_refused("openvpn_management", "run/openvpn.sock");
	assert_value_refused("openvpn_management", "/run/../tmp/openvpn.sock");
}

/* Session recording: required or off, absolute paths, a free-space floor in MiB and a
 * retention of at least a day. */
static void test_recording_settings_are_checked(void **state)
{
	struct pv_config cfg;

	assert_value_accepted("session_recording", "off", &cfg);
	assert_false(cfg.recording_required);
	assert_value_accepted("session_recording", "required", &cfg);
	assert_true(cfg.recording_required);
	assert_value_refused("session_recording", "yes");
	assert_value_accepted("recording_dir", "/srv/recordings", &cfg);
	assert_string_equal(cfg.recording_dir, "/srv/recordings");
	assert_value_refused("recording_dir", "recordings");
	assert_value_refused("recorder", "/usr/../tmp/pv-record");
	assert_value_refused("vendor_shell", "bash");
	assert_value_accepted("recording_min_free", "0", &cfg);
	assert_value_refused("recording_min_free", "-1");
	assert_value_refused("recording_min_free", "100M");
	assert_value_accepted("recording_keep", "365d", &cfg);
	assert_int_equal(cfg.recording_keep, 365 * 86400);
	assert_value_refused("recording_keep", "1h");
}

/* The database settings: a known backend, no password in the connection string (it would
 * sit in a file others may read), and what the database backend cannot work without. */
static void test_database_settings_are_checked(void **state)
{
	struct pv_config cfg;
	struct pv_err err;

	assert_value_refused("store_backend", "mysql");
	assert_value_refused("pg_conninfo", "host=db password=s3cret");
	assert_value_refused("pg_conninfo", "host=db  password = s3cret");
	assert_value_refused("pg_conninfo", "postgresql://pv:s3cret@db/pv");
	assert_value_refused("pg_timeout", "0s");
	assert_value_refused("pg_timeout", "2m");
	assert_int_equal(parse_text("pg_conninfo = host=db password=s3cret\n", &cfg, &err), PV_ERR);
	assert_null(strstr(err.msg, "s3cret")); /* the refusal never repeats the password */
	assert_value_accepted("pg_conninfo", "postgresql://pv@db/pv?sslmode=verify-full", &cfg);
	assert_value_accepted("pg_conninfo",
	                      "service=pamvendor passfile=/root/.pgpass sslmode=verify-full", &cfg);
	assert_int_equal(parse_text("store_backend = postgresql\nvendor_group = v\n", &cfg, &err),
	                 PV_ERR);
	assert_contains(err.msg, "needs pg_conninfo");
	assert_int_equal(
	    parse_text("store_backend = postgresql\npg_conninfo = dbname=pv\n", &cfg, &err),
	    PV_ERR);
	assert_contains(err.msg, "needs vendor_group");
}

static void test_whitespace_tabs_and_crlf_around_keys_are_ignored(void **state)
{
	struct pv_config cfg;
	struct pv_err err;

	assert_int_equal(parse_text("  otp_length\t=\t6  \r\n\tunknown_user=ignore\r\n"
	                            "max_failures=1",
	                            &cfg, &err),
	                 PV_OK);
	assert_int_equal(cfg.otp_length, 6);
	assert_int_equal(cfg.unknown_user, PV_UNKNOWN_IGNORE);
	assert_int_equal(cfg.max_failures, 1); /* last line without newline */
}

static void test_number_and_duration_bounds_are_accepted(void **state)
{
	struct pv_config cfg;

	assert_value_accepted("otp_length", "6", &cfg);
	assert_int_equal(cfg.otp_length, 6);
	assert_value_accepted("otp_length", "12", &cfg);
	assert_int_equal(cfg.otp_length, 12);
	assert_value_accepted("max_failures", "1", &cfg);
	assert_int_equal(cfg.max_failures, 1);
	assert_value_accepted("max_failures", "1000", &cfg);
	assert_int_equal(cfg.max_failures, 1000);
	assert_value_accepted("otp_ttl", "1h30m", &cfg);
	assert_int_equal(cfg.otp_ttl, 5400);
	assert_value_accepted("fail_delay", "0", &cfg);
	assert_int_equal(cfg.fail_delay, 0);
	assert_value_accepted("lock_timeout", "60s", &cfg);
	assert_int_equal(cfg.lock_timeout, 60);
	assert_value_accepted("unknown_user", "ignore", &cfg);
	assert_int_equal(cfg.unknown_user, PV_UNKNOWN_IGNORE);
}

/* --- refused lines --- */

static void test_unknown_key_is_refused_naming_the_line(void **state)
{
	assert_refused("otp_length = 8\n# x\nstore_directory = /var/lib/x\n", 3, "store_directory");
	assert_refused("OTP_LENGTH = 8\n", 1, "OTP_LENGTH");
	assert_refused("otp length = 8\n", 1, NULL);
}

static void test_duplicate_key_is_refused_naming_both_lines(void **state)
{
	struct pv_config cfg;
	struct pv_err err;

	assert_int_equal(parse_text("otp_length = 8\n\n# again\notp_length = 8\n", &cfg, &err),
	                 PV_ERR);
	assert_names_line(err.msg, ORIGIN, 4);
	assert_contains(err.msg, "otp_length");
	assert_contains(err.msg, "line 1");
}

static void test_line_without_equals_is_refused(void **state)
{
	assert_refused("otp_length = 8\notp_ttl 15m\n", 2, NULL);
	assert_refused("\n\nstore_dir\n", 3, NULL);
}

static void test_empty_value_is_refused(void **state)
{
	assert_refused("otp_length =\n", 1, "otp_length");
	assert_refused("# x\nstore_dir =   \t\n", 2, "store_dir");
	assert_refused("vendor_group=\n", 1, "vendor_group");
}

static void test_bad_numbers_are_refused(void **state)
{
	static const char *const bad_numbers[] = {
	    "abc",
	    "1abc",
	    "-1",
	    "+8",
	    "8.0",
	    "08",
	    "0x8",
	    "8 9",
	    "4294967296",
	    "4294967304", /* 2^32 + 8: would wrap to 8 in 32 bits */
	    "99999999999999999999",
	    "18446744073709551624", /* 2^64 + 8 */
	};
	size_t i;

	for (i = 0; i < sizeof(bad_numbers) / sizeof(bad_numbers[0]); i++) {
		assert_value_refused("otp_length", bad_numbers[i]);
		assert_value_refused("max_failures", bad_numbers[i]);
	}
}

static void test_numbers_outside_their_range_are_refused(void **state)
{
	assert_value_refused("max_failures", "0"); /* min is 1 */
	assert_value_refused("max_failures", "1001");
	assert_value_refused("otp_length", "0");
	assert_value_refused("otp_length", "5");
	assert_value_refused("otp_length", "13");
}

static void test_bad_durations_are_refused(void **state)
{
	static const char *const bad_durations[] = {
	    "15",    "15x",   "m15",    "-15m", "+15m",
	    "15m30", "30m1h", "1h 30m", "15M",  "1.5h",
	    "h",     "0m",    "m",      "1h1h", "99999999999999999999s",
	};
	size_t i;

	for (i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]); i++) {
		assert_value_refused("otp_ttl", bad_durations[i]);
		assert_value_refused("max_window", bad_durations[i]);
	}
	assert_value_refused("otp_ttl", "29s");    /* below 30 s */
	assert_value_refused("otp_ttl", "1d1s");   /* above a day */
	assert_value_refused("max_window", "59s"); /* below a minute */
	assert_value_refused("max_window", "31d"); /* above 30 days */
	assert_value_refused("fail_delay", "61s"); /* above a minute */
	assert_value_refused("fail_delay", "-1");
	assert_value_refused("lock_timeout", "0"); /* zero would never wait */
	assert_value_refused("lock_timeout", "61s");
	assert_value_refused("lock_timeout", "5"); /* a unit is required */
}

static void test_relative_and_dotted_paths_are_refused(void **state)
{
	static const char *const keys[] = {"store_dir", "key_file", "audit_log", "session_dir"};
	static const char *const bad_paths[] = {
	    "var/lib/pam_vendor",
	    "./master.key",
	    "~/audit.log",
	    "/var/../etc/shadow",
	    "/var/lib/..",
	    "/var/./lib",
	    "/.",
	    "/var/log/.", /* fuzzing found these (tests/fuzz/regressions/config) */
	};
	size_t i;
	size_t k;

	for (k = 0; k < 3; k++)
		for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
			assert_value_refused(keys[k], bad_paths[i]);
}

static void test_overlong_path_is_refused(void **state)
{
	static const char prefix[] = "# x\n\nstore_dir = /";
	char text[PATH_MAX + 64];
	size_t n = strlen(prefix);

	memcpy(text, prefix, n);
	memset(text + n, 'a', PATH_MAX);
	snprintf(text + n + PATH_MAX, sizeof(text) - n - PATH_MAX, "\n");
	/* Refused, naming line 3, whichever check (line length, path length) catches it. */
	assert_refused(text, 3, NULL);
}

static void test_bad_unknown_user_values_are_refused(void **state)
{
	static const char *const bad[] = {"Ignore", "DENY", "yes", "1", "deny please", "allow"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_value_refused("unknown_user", bad[i]);
}

static void test_bad_group_and_issuer_values_are_refused(void **state)
{
	char issuer[80];

	assert_value_refused("vendor_group", "-wheel");
	assert_value_refused("vendor_group", "two words");
	assert_value_refused("vendor_group", "a/b");
	memset(issuer, 'x', 64);
	issuer[64] = '\0';
	assert_value_refused("totp_issuer", issuer);
	assert_value_refused("totp_issuer", "bell\x07");
}

static void test_nul_byte_is_refused_naming_the_line(void **state)
{
	static const char text[] = "otp_length = 8\nstore_dir = /var/lib/x\0y\nmax_failures = 3\n";
	struct pv_config cfg;
	struct pv_err err = {{0}};

	assert_int_equal(pv_config_parse(text, sizeof(text) - 1, ORIGIN, &cfg, &err), PV_ERR);
	assert_contains(err.msg, "NUL");
	assert_names_line(err.msg, ORIGIN, 2);
}

static void test_overlong_line_is_refused_naming_the_line(void **state)
{
	char text[3000];
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "otp_length = 8\n# ");
	memset(text + n, 'x', 2000);
	snprintf(text + n + 2000, sizeof(text) - n - 2000, "\nmax_failures = 3\n");
	assert_refused(text, 2, NULL);
}

static void test_first_bad_line_wins_and_later_lines_are_not_applied(void **state)
{
	struct pv_config cfg;
	struct pv_err err;

	assert_int_equal(parse_text("otp_length = 99\nmax_failures = abc\n", &cfg, &err), PV_ERR);
	assert_names_line(err.msg, ORIGIN, 1);
	assert_contains(err.msg, "otp_length");
}

/* --- pv_config_load: the file checks --- */

/* Each test gets a private temp dir (testutil.h). */
#define setup    tu_dir_setup
#define teardown tu_dir_teardown

static const char good_conf[] = "# test\notp_length = 10\nmax_failures = 7\n";

static int load(const char *path, struct pv_config *cfg, struct pv_err *err)
{
	memset(err, 0, sizeof(*err));
	return pv_config_load(path, cfg, err);
}

static void test_load_reads_a_good_file(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char path[PATH_MAX];

	tu_path(path, sizeof(path), f->dir, "pam_vendor.conf");
	tu_write_text(path, good_conf, 0644);
	if (load(path, &cfg, &err) != PV_OK)
		fail_msg("refused: %s", err.msg);
	assert_int_equal(cfg.otp_length, 10);
	assert_int_equal(cfg.max_failures, 7);
	assert_string_equal(cfg.store_dir, "/var/lib/pam_vendor");

	assert_int_equal(chmod(path, 0600), 0); /* private is fine too */
	assert_int_equal(load(path, &cfg, &err), PV_OK);
}

static void test_load_error_names_the_file_path_and_line(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char path[PATH_MAX];

	tu_path(path, sizeof(path), f->dir, "pam_vendor.conf");
	tu_write_text(path, "otp_length = 8\nbogus = 1\n", 0644);
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_names_line(err.msg, path, 2);
}

static void test_load_refuses_group_or_world_writable_file(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char path[PATH_MAX];

	tu_path(path, sizeof(path), f->dir, "pam_vendor.conf");
	tu_write_text(path, good_conf, 0666);
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_contains(err.msg, path);
	assert_contains(err.msg, "writable");
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_contains(err.msg, "writable");
	assert_int_equal(chmod(path, 0602), 0);
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_contains(err.msg, "writable");
}

static void test_load_refuses_file_not_owned_by_root(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char path[PATH_MAX];

	tu_path(path, sizeof(path), f->dir, "pam_vendor.conf");
	tu_write_text(path, good_conf, 0644);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_contains(err.msg, "not root");
}

static void test_load_refuses_symlinked_file(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char real[PATH_MAX];
	char link[PATH_MAX];

	tu_path(real, sizeof(real), f->dir, "real.conf");
	tu_path(link, sizeof(link), f->dir, "pam_vendor.conf");
	tu_write_text(real, good_conf, 0644);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(load(link, &cfg, &err), PV_ERR);
	assert_contains(err.msg, "symbolic link");
	assert_int_equal(cfg.otp_length, 8); /* nothing of the target was applied */
}

static void test_load_refuses_symlinked_directory_on_the_way(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char realdir[PATH_MAX];
	char linkdir[PATH_MAX];
	char path[PATH_MAX];

	tu_path(realdir, sizeof(realdir), f->dir, "realdir");
	tu_path(linkdir, sizeof(linkdir), f->dir, "linkdir");
	tu_mkdir(realdir, 0755);
	tu_path(path, sizeof(path), realdir, "pam_vendor.conf");
	tu_write_text(path, good_conf, 0644);
	assert_int_equal(symlink(realdir, linkdir), 0);
	tu_path(path, sizeof(path), linkdir, "pam_vendor.conf");
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_contains(err.msg, "symbolic link");
}

static void test_load_refuses_file_in_world_writable_dir_without_sticky_bit(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char dir[PATH_MAX];
	char path[PATH_MAX];

	tu_path(dir, sizeof(dir), f->dir, "open");
	tu_mkdir(dir, 0777);
	tu_path(path, sizeof(path), dir, "pam_vendor.conf");
	tu_write_text(path, good_conf, 0644);
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_contains(err.msg, dir);
	assert_contains(err.msg, "writable");

	/* Root-owned and sticky (like /tmp) is trusted. */
	assert_int_equal(chmod(dir, 01777), 0);
	if (load(path, &cfg, &err) != PV_OK)
		fail_msg("sticky root dir refused: %s", err.msg);
	assert_int_equal(cfg.otp_length, 10);
}

static void test_load_refuses_missing_file(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char path[PATH_MAX];

	tu_path(path, sizeof(path), f->dir, "absent.conf");
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_contains(err.msg, path);
	assert_contains(err.msg, "does not exist");
}

static void test_load_refuses_relative_path_directory_and_fifo(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char path[PATH_MAX];

	assert_int_equal(load("pam_vendor.conf", &cfg, &err), PV_ERR);
	assert_true(err.msg[0] != '\0');

	tu_path(path, sizeof(path), f->dir, "adir");
	tu_mkdir(path, 0755);
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_true(err.msg[0] != '\0');

	tu_path(path, sizeof(path), f->dir, "fifo.conf");
	assert_int_equal(mkfifo(path, 0644), 0);
	tu_hang_guard(10); /* refused, never waited on */
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	tu_hang_guard_end();
	assert_contains(err.msg, "not a regular file");
}

static void test_load_refuses_oversized_file(void **state)
{
	struct tu_dir *f = *state;
	struct pv_config cfg;
	struct pv_err err;
	char path[PATH_MAX];
	size_t size = 200 * 1024;
	char *big = malloc(size);
	size_t i;

	assert_non_null(big);
	for (i = 0; i < size; i++)
		big[i] = (i % 64 == 63) ? '\n' : '#';
	tu_path(path, sizeof(path), f->dir, "big.conf");
	tu_write_file(path, big, size, 0644);
	free(big);
	assert_int_equal(load(path, &cfg, &err), PV_ERR);
	assert_contains(err.msg, "too large");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_are_the_briefs),
	    cmocka_unit_test(test_empty_and_comment_only_text_gives_defaults),
	    cmocka_unit_test(test_every_key_is_accepted),
	    cmocka_unit_test(test_warn_before_is_a_bounded_duration_or_zero),
	    cmocka_unit_test(test_recording_settings_are_checked),
	    cmocka_unit_test(test_unverified_tcp_database_link_is_refused),
	    cmocka_unit_test(test_database_settings_are_checked),
	    cmocka_unit_test(test_whitespace_tabs_and_crlf_around_keys_are_ignored),
	    cmocka_unit_test(test_number_and_duration_bounds_are_accepted),
	    cmocka_unit_test(test_unknown_key_is_refused_naming_the_line),
	    cmocka_unit_test(test_duplicate_key_is_refused_naming_both_lines),
	    cmocka_unit_test(test_line_without_equals_is_refused),
	    cmocka_unit_test(test_empty_value_is_refused),
	    cmocka_unit_test(test_bad_numbers_are_refused),
	    cmocka_unit_test(test_numbers_outside_their_range_are_refused),
	    cmocka_unit_test(test_bad_durations_are_refused),
	    cmocka_unit_test(test_relative_and_dotted_paths_are_refused),
	    cmocka_unit_test(test_overlong_path_is_refused),
	    cmocka_unit_test(test_bad_unknown_user_values_are_refused),
	    cmocka_unit_test(test_bad_group_and_issuer_values_are_refused),
	    cmocka_unit_test(test_nul_byte_is_refused_naming_the_line),
	    cmocka_unit_test(test_overlong_line_is_refused_naming_the_line),
	    cmocka_unit_test(test_first_bad_line_wins_and_later_lines_are_not_applied),
	    cmocka_unit_test_setup_teardown(test_load_reads_a_good_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_error_names_the_file_path_and_line, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_group_or_world_writable_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_file_not_owned_by_root, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_symlinked_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_symlinked_directory_on_the_way, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_load_refuses_file_in_world_writable_dir_without_sticky_bit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_relative_path_directory_and_fifo,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_refuses_oversized_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

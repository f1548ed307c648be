/* SPDX-License-Identifier: BSD-3-Clause */
/* test_session.c — the live-session records (core/session.c): what the module writes at
 * session open and otpctl expire reads. A record round-trips field for field (SSH and VPN),
 * a damaged or older-layout record is an error naming the file, and nothing is ever
 * accepted that would make expire signal or kill the wrong thing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "session.h"
#include "testutil.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"

static void fill(struct pv_session *s, const char *id, enum pv_session_kind kind)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->user, sizeof(s->user), "acme");
	snprintf(s->service, sizeof(s->service), kind == PV_SESSION_VPN ? "openvpn" : "sshd");
	s->kind = kind;
	snprintf(s->rhost, sizeof(s->rhost), "203.0.113.7");
	if (kind == PV_SESSION_VPN)
		snprintf(s->tunnel, sizeof(s->tunnel), "203.0.113.7:51234");
	s->pid = 4242;
	s->pid_start = 987654321;
	s->opened = 1800000000;
}

static void session_dir(char *buf, size_t len, void **state)
{
	const struct tu_dir *f = *state;

	tu_path(buf, len, f->dir, "sessions");
}

static void test_ssh_and_vpn_records_round_trip(void **state)
{
	struct pv_session a;
	struct pv_session b;
	struct pv_session *list = NULL;
	struct pv_err err;
	char dir[PATH_MAX];
	size_t n = 0;

	session_dir(dir, sizeof(dir), state);
	fill(&a, ID_A, PV_SESSION_SSH);
	fill(&b, ID_B, PV_SESSION_VPN);
	b.opened = a.opened + 60;
	b.warned = a.opened + 120;
	assert_int_equal(pv_session_save(dir, &a, &err), PV_OK);
	assert_int_equal(pv_session_save(dir, &b, &err), PV_OK);
	assert_int_equal(tu_mode(dir) & 07777, 0700);
	if (pv_session_list(dir, &list, &n, &err) != PV_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(n, 2);
	/* Sorted by opening time; every field as written. */
	assert_memory_equal(&list[0], &a, sizeof(a));
	assert_memory_equal(&list[1], &b, sizeof(b));
	free(list);
	assert_int_equal(pv_session_remove(dir, ID_A, &err), PV_OK);
	assert_int_equal(pv_session_remove(dir, ID_A, &err), PV_NOTFOUND);
	assert_int_equal(pv_session_list(dir, &list, &n, &err), PV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].tunnel, "203.0.113.7:51234");
	assert_int_equal(list[0].kind, PV_SESSION_VPN);
	free(list);
}

/* One record by its id, as the OpenVPN plugin reads its own at disconnect. */
static void test_one_record_loads_by_id(void **state)
{
	struct pv_session a;
	struct pv_session got;
	struct pv_err err;
	char dir[PATH_MAX];

	session_dir(dir, sizeof(dir), state);
	assert_int_equal(pv_session_load(dir, ID_A, &got, &err), PV_NOTFOUND); /* no dir yet */
	fill(&a, ID_A, PV_SESSION_VPN);
	assert_int_equal(pv_session_save(dir, &a, &err), PV_OK);
	assert_int_equal(pv_session_load(dir, ID_A, &got, &err), PV_OK);
	assert_memory_equal(&got, &a, sizeof(a));
	assert_int_equal(pv_session_load(dir, ID_B, &got, &err), PV_NOTFOUND);
	assert_int_equal(pv_session_load(dir, "../" ID_A, &got, &err), PV_ERR);
	assert_int_equal(pv_session_remove(dir, ID_A, &err), PV_OK);
	assert_int_equal(pv_session_load(dir, ID_A, &got, &err), PV_NOTFOUND);
}

/* Values that could not have come from the module are never written. */
static void test_invalid_sessions_are_not_recorded(void **state)
{
	struct pv_session s;
	struct pv_err err;
	char dir[PATH_MAX];

	session_dir(dir, sizeof(dir), state);
	fill(&s, ID_A, PV_SESSION_SSH);
	snprintf(s.user, sizeof(s.user), "../root");
	assert_int_equal(pv_session_save(dir, &s, &err), PV_ERR);
	fill(&s, "not-hex", PV_SESSION_SSH);
	assert_int_equal(pv_session_save(dir, &s, &err), PV_ERR);
	fill(&s, ID_A, PV_SESSION_SSH);
	s.pid = 0;
	assert_int_equal(pv_session_save(dir, &s, &err), PV_ERR);
	fill(&s, ID_A, PV_SESSION_VPN);
	snprintf(s.tunnel, sizeof(s.tunnel), "a b");
	assert_int_equal(pv_session_save(dir, &s, &err), PV_ERR);
	fill(&s, ID_A, PV_SESSION_SSH);
	s.kind = (enum pv_session_kind)7;
	assert_int_equal(pv_session_save(dir, &s, &err), PV_ERR);
	/* Nothing was written: the directory holds no record. */
	{
		struct pv_session *list = NULL;
		size_t n = 1;
		assert_int_equal(pv_session_list(dir, &list, &n, &err), PV_OK);
		assert_int_equal(n, 0);
		free(list);
	}
}

static void expect_damaged(void **state, const char *text)
{
	struct pv_session *list = NULL;
	struct pv_err err;
	char dir[PATH_MAX];
	char file[PATH_MAX];
	size_t n = 0;

	session_dir(dir, sizeof(dir), state);
	tu_mkdir(dir, 0700);
	tu_path(file, sizeof(file), dir, ID_A ".session");
	tu_write_text(file, text, 0600);
	assert_int_equal(pv_session_list(dir, &list, &n, &err), PV_ERR);
	assert_contains(err.msg, ID_A ".session");
	assert_null(list);
}

/* The layout before VPN tunnels and warnings (version 1): refused, never half read. */
static void test_an_older_layout_is_refused(void **state)
{
	expect_damaged(state, "pam_vendor-session 1\nid " ID_A "\nuser acme\nservice sshd\n"
	                      "rhost 203.0.113.7\npid 4242\npid_start 1\nopened 1800000000\nend\n");
}

static void test_a_damaged_record_is_an_error_naming_it(void **state)
{
	expect_damaged(state, "pam_vendor-session 2\nid " ID_A "\nuser acme\nservice sshd\n"
	                      "kind ftp\nrhost -\ntunnel -\npid 4242\npid_start 1\n"
	                      "opened 1800000000\nwarned 0\nend\n");
}

static void test_a_record_under_another_sessions_name_is_refused(void **state)
{
	expect_damaged(state, "pam_vendor-session 2\nid " ID_B "\nuser acme\nservice sshd\n"
	                      "kind ssh\nrhost -\ntunnel -\npid 4242\npid_start 1\n"
	                      "opened 1800000000\nwarned 0\nend\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ssh_and_vpn_records_round_trip, tu_dir_setup,
	                                    tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_one_record_loads_by_id, tu_dir_setup,
	                                    tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_sessions_are_not_recorded, tu_dir_setup,
	                                    tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_an_older_layout_is_refused, tu_dir_setup,
	                                    tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_a_damaged_record_is_an_error_naming_it,
	                                    tu_dir_setup, tu_dir_teardown),
	    cmocka_unit_test_setup_teardown(test_a_record_under_another_sessions_name_is_refused,
	                                    tu_dir_setup, tu_dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

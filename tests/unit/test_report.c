/* SPDX-License-Identifier: BSD-3-Clause */
/* test_report.c — unit tests for core/report.c, the pairing behind `otpctl report`: an open and
 * its close make one row, an open never closed is a row with no end, a close without open a row
 * with no start; host and session id together pair lines; VPN rows keep their byte counts;
 * refused and foreign lines are left out; rows come sorted whatever the order of the times;
 * thousands of sessions open at once grow the table without losing one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>

#include "report.h"
#include "timeparse.h"
#include "testutil.h"

#define T0            INT64_C(1800000000) /* 2027-01-15T08:00:00Z */
#define TEST_LINE_MAX 1024

static const struct pv_report_query everything = {NULL, 0, INT64_MAX, T0};

/* One audit line as the writer lays it out (only the fields the report reads, plus a MAC-less
 * chain part: the report does not check MACs). `extra` goes before the closing brace. */
static void feed(struct pv_report *r, int64_t t, const char *event, const char *result,
                 const char *host, const char *user, const char *session, const char *extra)
{
	char when[PV_TIME_TEXT_MAX];
	char line[TEST_LINE_MAX];
	char session_field[128] = "";
	int n;

	pv_format_utc((time_t)t, when, sizeof(when));
	if (session != NULL)
		snprintf(session_field, sizeof(session_field), ",\"session\":\"%s\"", session);
	n = snprintf(line, sizeof(line),
	             "{\"time\":\"%s\",\"seq\":1,\"host\":\"%s\",\"event\":\"%s\",\"service\":"
	             "\"sshd\",\"user\":\"%s\",\"rhost\":\"203.0.113.7\",\"result\":\"%s\","
	             "\"reason\":\"ok\"%s%s}",
	             when, host, event, user, result, session_field, extra != NULL ? extra : "");
	assert_true(n > 0 && (size_t)n < sizeof(line));
	assert_int_equal(pv_report_line(r, line, (size_t)n), PV_REPORT_OK);
}

static void open_line(struct pv_report *r, int64_t t, const char *host, const char *user,
                      const char *session)
{
	feed(r, t, "session_open", "allow", host, user, session, NULL);
}

static void close_line(struct pv_report *r, int64_t t, const char *host, const char *user,
                       const char *session, const char *extra)
{
	feed(r, t, "session_close", "allow", host, user, session, extra);
}

static struct pv_report *new_report(const struct pv_report_query *q)
{
	struct pv_report *r = pv_report_new(q);

	assert_non_null(r);
	return r;
}

static void finish(struct pv_report *r, size_t rows)
{
	assert_int_equal(pv_report_finish(r), PV_OK);
	assert_int_equal(pv_report_count(r), rows);
}

static void test_open_and_close_make_one_row(void **state)
{
	struct pv_report *r = new_report(&everything);
	const struct pv_report_row *row;

	open_line(r, T0, "gw1", "acme", "s1");
	close_line(r, T0 + 600, "gw1", "acme", "s1", ",\"duration_s\":598");
	finish(r, 1);
	row = pv_report_row(r, 0);
	assert_string_equal(row->user, "acme");
	assert_string_equal(row->rhost, "203.0.113.7");
	assert_string_equal(row->service, "sshd");
	assert_string_equal(row->host, "gw1");
	assert_string_equal(row->id, "s1");
	assert_true(row->has_start && row->has_end && row->has_duration);
	assert_int_equal(row->start, T0);
	assert_int_equal(row->end, T0 + 600);
	assert_int_equal(row->duration, 598); /* the module's own measure wins */
	assert_int_equal(row->bytes_in, -1);  /* an SSH session counts no bytes */
	assert_int_equal(row->bytes_out, -1);
	assert_null(pv_report_row(r, 1));
	pv_report_free(r);
}

static void test_close_without_duration_measures_from_the_open(void **state)
{
	struct pv_report *r = new_report(&everything);

	open_line(r, T0, "gw1", "acme", "s1");
	close_line(r, T0 + 75, "gw1", "acme", "s1", NULL);
	finish(r, 1);
	assert_true(pv_report_row(r, 0)->has_duration);
	assert_int_equal(pv_report_row(r, 0)->duration, 75);
	pv_report_free(r);
}

static void test_open_without_close_is_a_row_with_no_end(void **state)
{
	struct pv_report *r = new_report(&everything);
	const struct pv_report_row *row;

	open_line(r, T0, "gw1", "acme", "s1");
	finish(r, 1);
	row = pv_report_row(r, 0);
	assert_true(row->has_start);
	assert_false(row->has_end);
	assert_false(row->has_duration);
	assert_int_equal(row->start, T0);
	assert_string_equal(row->id, "s1");
	pv_report_free(r);
}

static void test_close_without_open_is_a_row_with_no_start(void **state)
{
	struct pv_report *r = new_report(&everything);
	const struct pv_report_row *row;

	close_line(r, T0 + 60, "gw1", "acme", "gone", NULL);
	close_line(r, T0 + 90, "gw1", "beta", NULL, NULL); /* tied to no open at all */
	finish(r, 2);
	row = pv_report_row(r, 0);
	assert_false(row->has_start);
	assert_true(row->has_end);
	assert_false(row->has_duration); /* nothing to measure from */
	assert_int_equal(row->end, T0 + 60);
	assert_string_equal(row->id, "gone");
	row = pv_report_row(r, 1);
	assert_null(row->id);
	assert_string_equal(row->user, "beta");
	pv_report_free(r);
}

static void test_same_session_id_on_two_hosts_are_two_sessions(void **state)
{
	struct pv_report *r = new_report(&everything);
	const struct pv_report_row *row;

	open_line(r, T0, "gw1", "acme", "same");
	open_line(r, T0 + 5, "gw2", "acme", "same");
	close_line(r, T0 + 100, "gw2", "acme", "same", NULL);
	finish(r, 2);
	row = pv_report_row(r, 0); /* gw1's, never closed, starts first */
	assert_string_equal(row->host, "gw1");
	assert_false(row->has_end);
	row = pv_report_row(r, 1);
	assert_string_equal(row->host, "gw2");
	assert_int_equal(row->start, T0 + 5);
	assert_int_equal(row->end, T0 + 100);
	assert_int_equal(row->duration, 95);
	pv_report_free(r);
}

static void test_ssh_and_vpn_rows_vpn_keeps_its_bytes(void **state)
{
	struct pv_report *r = new_report(&everything);
	const struct pv_report_row *ssh;
	const struct pv_report_row *vpn;

	open_line(r, T0, "gw1", "acme", "ssh1");
	feed(r, T0 + 10, "session_open", "allow", "gw1", "acme", "vpn1", NULL);
	feed(r, T0 + 70, "session_close", "allow", "gw1", "acme", "vpn1",
	     ",\"duration_s\":60,\"bytes_in\":1234,\"bytes_out\":56789");
	close_line(r, T0 + 200, "gw1", "acme", "ssh1", ",\"duration_s\":200");
	finish(r, 2);
	ssh = pv_report_row(r, 0);
	vpn = pv_report_row(r, 1);
	assert_string_equal(ssh->id, "ssh1");
	assert_int_equal(ssh->bytes_in, -1);
	assert_string_equal(vpn->id, "vpn1");
	assert_int_equal(vpn->bytes_in, 1234);
	assert_int_equal(vpn->bytes_out, 56789);
	assert_int_equal(vpn->duration, 60);
	pv_report_free(r);
}

static void test_rows_are_sorted_whatever_the_order_of_times(void **state)
{
	struct pv_report *r = new_report(&everything);

	/* Two bastions' lines in one log: later times can come first. */
	open_line(r, T0 + 300, "gw2", "acme", "c");
	open_line(r, T0 + 100, "gw1", "acme", "b");
	open_line(r, T0 + 100, "gw1", "acme", "a");       /* same start and host: by session id */
	close_line(r, T0 + 50, "gw1", "acme", "x", NULL); /* no open: sorted by its end */
	/* A close stamped before its open (a clock stepped back): the duration is never negative.
	 */
	close_line(r, T0 + 290, "gw2", "acme", "c", NULL);
	finish(r, 4);
	assert_string_equal(pv_report_row(r, 0)->id, "x");
	assert_string_equal(pv_report_row(r, 1)->id, "a");
	assert_string_equal(pv_report_row(r, 2)->id, "b");
	assert_string_equal(pv_report_row(r, 3)->id, "c");
	assert_int_equal(pv_report_row(r, 3)->duration, 0);
	pv_report_free(r);
}

static void test_refused_other_and_foreign_lines_are_left_out(void **state)
{
	const struct pv_report_query acme = {"acme", 0, INT64_MAX, T0};
	struct pv_report *r = new_report(&acme);

	feed(r, T0, "session_open", "deny", "gw1", "acme", "refused", NULL);
	feed(r, T0, "auth", "allow", "gw1", "acme", "auth1", NULL);
	open_line(r, T0, "gw1", "beta", "other-vendor");
	feed(r, T0, "session_open", "allow", "gw1", "acme", NULL, NULL); /* no id: cannot pair */
	open_line(r, T0, "gw1", "acme", "kept");
	finish(r, 1);
	assert_string_equal(pv_report_row(r, 0)->id, "kept");
	pv_report_free(r);
}

static void test_sessions_outside_the_window_are_left_out(void **state)
{
	const struct pv_report_query window = {NULL, T0 + 1000, T0 + 2000, T0};
	struct pv_report *r = new_report(&window);

	open_line(r, T0, "gw1", "acme", "before");
	close_line(r, T0 + 500, "gw1", "acme", "before", NULL);
	open_line(r, T0 + 900, "gw1", "acme", "across"); /* overlaps the window's start */
	close_line(r, T0 + 1100, "gw1", "acme", "across", NULL);
	open_line(r, T0 + 3000, "gw1", "acme", "after");
	open_line(r, T0 + 500, "gw1", "acme", "still-open"); /* an open end reaches the window */
	finish(r, 2);
	assert_string_equal(pv_report_row(r, 0)->id, "still-open");
	assert_string_equal(pv_report_row(r, 1)->id, "across");
	pv_report_free(r);
}

static void test_a_copied_open_pairs_once(void **state)
{
	struct pv_report *r = new_report(&everything);

	open_line(r, T0, "gw1", "acme", "s1");
	open_line(r, T0 + 30, "gw1", "acme", "s1");
	close_line(r, T0 + 60, "gw1", "acme", "s1", NULL);
	finish(r, 1);
	assert_int_equal(pv_report_row(r, 0)->start, T0); /* the first open is the one kept */
	assert_int_equal(pv_report_row(r, 0)->duration, 60);
	pv_report_free(r);
}

static void test_bad_lines_are_reported_to_the_caller(void **state)
{
	static const char not_json[] = "{\"event\":\"session_open\",garbage";
	static const char no_time[] = "{\"time\":\"yesterday\",\"event\":\"session_open\","
	                              "\"result\":\"allow\",\"user\":\"acme\",\"session\":\"s\"}";
	static const char other[] = "{\"time\":\"2027-01-15T08:00:00Z\",\"event\":\"auth\"}";
	struct pv_report *r = new_report(&everything);

	assert_int_equal(pv_report_line(r, not_json, strlen(not_json)), PV_REPORT_NOT_JSON);
	assert_int_equal(pv_report_line(r, no_time, strlen(no_time)), PV_REPORT_NO_TIME);
	assert_int_equal(pv_report_line(r, other, strlen(other)), PV_REPORT_OK);
	finish(r, 0);
	pv_report_free(r);
}

/* More sessions open at once than the table's first size (1024 buckets): it grows, and every
 * open still finds its close. */
static void test_thousands_of_open_sessions_all_pair(void **state)
{
	enum { N = 5000 };
	struct pv_report *r = new_report(&everything);
	char id[32];
	size_t i;

	for (i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "s%05zu", i);
		open_line(r, T0 + (int64_t)i, i % 2 ? "gw1" : "gw2", "acme", id);
	}
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "s%05zu", N - 1 - i);
		close_line(r, T0 + 10000 + (int64_t)i, (N - 1 - i) % 2 ? "gw1" : "gw2", "acme", id,
		           NULL);
	}
	finish(r, N);
	for (i = 0; i < N; i++) {
		const struct pv_report_row *row = pv_report_row(r, i);

		snprintf(id, sizeof(id), "s%05zu", i);
		assert_string_equal(row->id, id);
		assert_true(row->has_start && row->has_end);
		assert_int_equal(row->end - row->start, 10000 + (int64_t)(N - 1 - i) - (int64_t)i);
	}
	pv_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_and_close_make_one_row),
	    cmocka_unit_test(test_close_without_duration_measures_from_the_open),
	    cmocka_unit_test(test_open_without_close_is_a_row_with_no_end),
	    cmocka_unit_test(test_close_without_open_is_a_row_with_no_start),
	    cmocka_unit_test(test_same_session_id_on_two_hosts_are_two_sessions),
	    cmocka_unit_test(test_ssh_and_vpn_rows_vpn_keeps_its_bytes),
	    cmocka_unit_test(test_rows_are_sorted_whatever_the_order_of_times),
	    cmocka_unit_test(test_refused_other_and_foreign_lines_are_left_out),
	    cmocka_unit_test(test_sessions_outside_the_window_are_left_out),
	    cmocka_unit_test(test_a_copied_open_pairs_once),
	    cmocka_unit_test(test_bad_lines_are_reported_to_the_caller),
	    cmocka_unit_test(test_thousands_of_open_sessions_all_pair),
	};

	assert_true(sodium_init() >= 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

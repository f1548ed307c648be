/* SPDX-License-Identifier: BSD-3-Clause */
/* test_procfs.c — what otpctl reads from /proc to end a vendor's processes and find its
 * terminals (core/procfs.c): the four uids, parent and state from /proc/PID/status, the
 * controlling pts from /proc/PID/stat, and "/dev/pts/N" paths. A process names itself, so a
 * hostile name must never shift a field; anything malformed is refused, never guessed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "procfs.h"
#include "testutil.h"

#define STATUS_HEAD "Name:\tbash\nUmask:\t0022\n"
#define STATUS_TAIL "Gid:\t1000\t1000\t1000\t1000\nFDSize:\t256\nGroups:\t1000 27\n"

static void test_status_gives_state_parent_and_four_uids(void **state)
{
	struct pv_proc_status st;

	(void)state;
	assert_int_equal(pv_proc_parse_status(STATUS_HEAD
	                                      "State:\tS (sleeping)\nTgid:\t4242\n"
	                                      "PPid:\t4100\nTracerPid:\t0\n"
	                                      "Uid:\t1001\t1002\t1003\t1004\n" STATUS_TAIL,
	                                      &st),
	                 PV_OK);
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 4100);
	assert_int_equal(st.uid[0], 1001);
	assert_int_equal(st.uid[1], 1002);
	assert_int_equal(st.uid[2], 1003);
	assert_int_equal(st.uid[3], 1004);
}

static void test_any_of_the_four_uids_makes_it_the_vendors(void **state)
{
	static const char *const lines[] = {
	    "Uid:\t1001\t0\t0\t0\n", /* real: a setuid-root program the vendor ran */
	    "Uid:\t0\t1001\t0\t0\n", /* effective: root acting as the vendor */
	    "Uid:\t0\t0\t1001\t0\n", /* saved: can switch back to the vendor at will */
	    "Uid:\t0\t0\t0\t1001\n", /* filesystem */
	};
	struct pv_proc_status st;
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(text, sizeof(text), "State:\tR (running)\nPPid:\t1\n%s", lines[i]);
		assert_int_equal(pv_proc_parse_status(text, &st), PV_OK);
		assert_true(pv_proc_runs_as(&st, 1001));
		assert_false(pv_proc_runs_as(&st, 1002));
	}
}

static void test_a_zombie_runs_nothing(void **state)
{
	struct pv_proc_status st;

	(void)state;
	assert_int_equal(pv_proc_parse_status("State:\tZ (zombie)\nPPid:\t1\n"
	                                      "Uid:\t1001\t1001\t1001\t1001\n",
	                                      &st),
	                 PV_OK);
	assert_false(pv_proc_runs_as(&st, 1001));
	/* Stopped by a tracer (gdb, strace, LeakSanitizer at exit): lower case, still alive. */
	assert_int_equal(pv_proc_parse_status("State:\tt (tracing stop)\nPPid:\t1\n"
	                                      "Uid:\t1001\t1001\t1001\t1001\n",
	                                      &st),
	                 PV_OK);
	assert_true(pv_proc_runs_as(&st, 1001));
	assert_int_equal(pv_proc_parse_status("State:\tX (dead)\nPPid:\t1\n"
	                                      "Uid:\t1001\t1001\t1001\t1001\n",
	                                      &st),
	                 PV_OK);
	assert_false(pv_proc_runs_as(&st, 1001));
}

static void test_malformed_status_is_refused(void **state)
{
	static const char *const bad[] = {
	    "",
	    "State:\tS (sleeping)\nPPid:\t1\n",                          /* no Uid */
	    "PPid:\t1\nUid:\t1\t1\t1\t1\n",                              /* no State */
	    "State:\tS\nUid:\t1\t1\t1\t1\n",                             /* no PPid */
	    "State:\tS\nPPid:\t1\nUid:\t1\t1\t1\n",                      /* three uids */
	    "State:\tS\nPPid:\t1\nUid:\t1\t1\t1\t1\t1\n",                /* five */
	    "State:\tS\nPPid:\t1\nUid:\t1\t-1\t1\t1\n",                  /* a sign */
	    "State:\tS\nPPid:\t1\nUid:\t1\t1\t1\t4294967296\n",          /* > 32 bits */
	    "State:\tS\nPPid:\t1\nUid:\t1\t1\t1\t1x\n",                  /* junk */
	    "State:\tS\nPPid:\t1\nUid:\t1\t1\t1\t1\nUid:\t0\t0\t0\t0\n", /* twice */
	    "State:\tS\nPPid:\t1\nUid:\t1\t1\t1\t1",                     /* cut line */
	    "State:\ts\nPPid:\t1\nUid:\t1\t1\t1\t1\n",                   /* bad state */
	    "State:\tS\nPPid:\t01\nUid:\t1\t1\t1\t1\n",                  /* leading 0 */
	};
	struct pv_proc_status st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pv_proc_parse_status(bad[i], &st) != PV_ERR)
			fail_msg("accepted: \"%s\"", bad[i]);
}

static void test_a_key_only_counts_at_the_start_of_a_line(void **state)
{
	struct pv_proc_status st;

	(void)state;
	/* The kernel escapes a name's newline; even if it did not, "Name:\tx Uid:..." is
	 * not a Uid line, and a look-alike key ("Uidx") is not one either. */
	assert_int_equal(pv_proc_parse_status("Name:\tx Uid:\t0\t0\t0\t0\nState:\tS\nPPid:\t7\n"
	                                      "Uidx:\t0\t0\t0\t0\nUid:\t1001\t1001\t1001\t1001\n",
	                                      &st),
	                 PV_OK);
	assert_int_equal(st.uid[0], 1001);
	assert_int_equal(st.ppid, 7);
}

static void test_this_process_status_is_read(void **state)
{
	struct pv_proc_status st;
	struct pv_err err;

	(void)state;
	if (pv_proc_read_status((long)getpid(), &st, &err) != PV_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(st.ppid, (long)getppid());
	assert_int_equal(st.uid[0], getuid());
	assert_true(pv_proc_runs_as(&st, getuid()));
	assert_int_equal(pv_proc_read_status(2147483647L, &st, &err), PV_NOTFOUND);
}

/* A /proc/PID/stat line with the given command name and tty_nr (field 7). */
static void stat_line(char *buf, size_t len, const char *comm, const char *tty_nr)
{
	snprintf(buf, len,
	         "4242 (%s) S 4100 4242 4242 %s 4242 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
	         "123456 0 0\n",
	         comm, tty_nr);
}

static void test_controlling_pts_from_stat(void **state)
{
	char text[512];

	(void)state;
	stat_line(text, sizeof(text), "bash", "34816"); /* (136 << 8) | 0: /dev/pts/0 */
	assert_int_equal(pv_proc_parse_stat_pts(text), 0);
	stat_line(text, sizeof(text), "bash", "34819"); /* /dev/pts/3 */
	assert_int_equal(pv_proc_parse_stat_pts(text), 3);
	/* pts 300: minor 0x12c -> low byte 0x2c, high bits 0x100 << 12 */
	stat_line(text, sizeof(text), "bash", "1083436");
	assert_int_equal(pv_proc_parse_stat_pts(text), 300);
	/* pts 524288 sets bit 31: the kernel prints tty_nr negative */
	stat_line(text, sizeof(text), "bash", "-2147448832");
	assert_int_equal(pv_proc_parse_stat_pts(text), 524288);
	stat_line(text, sizeof(text), "bash", "0"); /* no terminal */
	assert_int_equal(pv_proc_parse_stat_pts(text), -1);
	stat_line(text, sizeof(text), "getty", "1025"); /* (4, 1): /dev/tty1, not a pts */
	assert_int_equal(pv_proc_parse_stat_pts(text), -1);
}

static void test_a_hostile_command_name_does_not_shift_stat_fields(void **state)
{
	char text[512];

	(void)state;
	/* A name with ") S 1 1 1 34817" tries to plant another terminal. */
	stat_line(text, sizeof(text), "x) S 1 1 1 34817 (", "34818");
	assert_int_equal(pv_proc_parse_stat_pts(text), 2);
	stat_line(text, sizeof(text), "a b", "34x");
	assert_int_equal(pv_proc_parse_stat_pts(text), -1);
	assert_int_equal(pv_proc_parse_stat_pts("4242 (bash S 1 1 1 34816"), -1);
	assert_int_equal(pv_proc_parse_stat_pts("4242 (bash) S 1"), -1);
}

/* The start time (field 22) names one process for its life, so expire never signals a
 * reused PID: it must come from field 22 whatever the command name holds. */
static void test_start_time_from_stat(void **state)
{
	char text[512];
	uint64_t start = 0;

	(void)state;
	stat_line(text, sizeof(text), "sshd", "0");
	assert_int_equal(pv_proc_parse_stat_start(text, &start), PV_OK);
	assert_int_equal(start, 123456);
	stat_line(text, sizeof(text), "x) S 1 1 1 0 1 1 0 0 0 0 0 0 0 0 20 0 1 0 99 (", "0");
	assert_int_equal(pv_proc_parse_stat_start(text, &start), PV_OK);
	assert_int_equal(start, 123456);
	assert_int_equal(pv_proc_parse_stat_start("4242 (bash) S 1 1 1 0", &start), PV_ERR);
	assert_int_equal(pv_proc_parse_stat_start("4242 (bash S 1 1 1 0", &start), PV_ERR);
	stat_line(text, sizeof(text), "bash", "0");
	text[strlen(text) - 8] = 'x'; /* "123456" damaged */
	assert_int_equal(pv_proc_parse_stat_start(text, &start), PV_ERR);
}

static void test_pts_paths(void **state)
{
	(void)state;
	assert_int_equal(pv_pts_number("/dev/pts/0"), 0);
	assert_int_equal(pv_pts_number("/dev/pts/17"), 17);
	assert_int_equal(pv_pts_number("/dev/pts/1048575"), 1048575);
	assert_int_equal(pv_pts_number("/dev/pts/1048576"), -1);
	assert_int_equal(pv_pts_number("/dev/pts/ptmx"), -1);
	assert_int_equal(pv_pts_number("/dev/pts/"), -1);
	assert_int_equal(pv_pts_number("/dev/pts/07"), -1);
	assert_int_equal(pv_pts_number("/dev/pts/1 (deleted)"), -1);
	assert_int_equal(pv_pts_number("/dev/tty1"), -1);
	assert_int_equal(pv_pts_number("/tmp/dev/pts/1"), -1);
	assert_int_equal(pv_pts_number("/dev/pts/../tty1"), -1);
	assert_int_equal(pv_pts_number("socket:[1234]"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_gives_state_parent_and_four_uids),
	    cmocka_unit_test(test_any_of_the_four_uids_makes_it_the_vendors),
	    cmocka_unit_test(test_a_zombie_runs_nothing),
	    cmocka_unit_test(test_malformed_status_is_refused),
	    cmocka_unit_test(test_a_key_only_counts_at_the_start_of_a_line),
	    cmocka_unit_test(test_this_process_status_is_read),
	    cmocka_unit_test(test_controlling_pts_from_stat),
	    cmocka_unit_test(test_a_hostile_command_name_does_not_shift_stat_fields),
	    cmocka_unit_test(test_start_time_from_stat),
	    cmocka_unit_test(test_pts_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* test_vendorlist.c — the local vendor list (core/vendorlist.c): written and read back, a bad
 * line and a file with group/other bits refused with an error naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vendorlist.h"

static char dir[64];

static int make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/pvvl.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int remove_dir(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *text, mode_t mode)
{
	char path[128];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, PV_VENDOR_LIST);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_set_then_has(void **state)
{
	struct pv_err err;
	bool listed = true;

	assert_int_equal(pv_vendorlist_has(dir, "acme", &listed, &err), PV_ERR); /* missing */
	assert_int_equal(pv_vendorlist_set(dir, "acme", true, 5, &err), PV_OK);
	assert_int_equal(pv_vendorlist_set(dir, "beta", true, 5, &err), PV_OK);
	assert_int_equal(pv_vendorlist_has(dir, "acme", &listed, &err), PV_OK);
	assert_true(listed);
	assert_int_equal(pv_vendorlist_set(dir, "acme", false, 5, &err), PV_OK);
	assert_int_equal(pv_vendorlist_has(dir, "acme", &listed, &err), PV_OK);
	assert_false(listed);
	assert_int_equal(pv_vendorlist_has(dir, "beta", &listed, &err), PV_OK);
	assert_true(listed);
}

static void test_bad_line_refused(void **state)
{
	struct pv_err err;
	bool listed;

	put("acme\n../etc\n", 0600);
	assert_int_equal(pv_vendorlist_has(dir, "acme", &listed, &err), PV_ERR);
	assert_non_null(strstr(err.msg, "line 2 is not a vendor name"));
}

static void test_bad_mode_refused(void **state)
{
	struct pv_err err;
	bool listed;

	put("acme\n", 0644);
	assert_int_equal(pv_vendorlist_has(dir, "acme", &listed, &err), PV_ERR);
	assert_non_null(strstr(err.msg, PV_VENDOR_LIST));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_set_then_has, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_bad_line_refused, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_bad_mode_refused, make_dir, remove_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

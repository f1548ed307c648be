/* SPDX-License-Identifier: BSD-3-Clause */
/* vendorname.c — validation of vendor (account) names; see vendorname.h. */
#include "vendorname.h"

#include <stddef.h>

static bool is_first(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_next(char c)
{
	return is_first(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

bool pv_vendor_name_valid(const char *name)
{
	size_t i;

	if (name == NULL || !is_first(name[0]))
		return false;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= PV_NAME_MAX || !is_next(name[i]))
			return false;
	}
	return true;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* vendorname.h — the one check a user name passes before it may become part of a path. */
#ifndef PV_VENDORNAME_H
#define PV_VENDORNAME_H

#include <stdbool.h>

#define PV_NAME_MAX 32 /* useradd's limit */

/* [a-z_][a-z0-9_.-]*, 1..PV_NAME_MAX bytes. "../x", "/", spaces, upper case and anything
 * longer are refused. */
bool pv_vendor_name_valid(const char *name);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* hostname.c — see hostname.h. */
#include "hostname.h"

#include <stdio.h>
#include <unistd.h>

void pv_hostname(char *buf, size_t len)
{
	if (len == 0)
		return;
	if (gethostname(buf, len) != 0)
		snprintf(buf, len, "unknown");
	buf[len - 1] = '\0'; /* gethostname does not terminate a truncated name */
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* hostname.h — this machine's name as every audit line and the shared audit table record it
 * (gethostname, as `hostname` prints it): logs from several gateways meet in one place. */
#ifndef PV_HOSTNAME_H
#define PV_HOSTNAME_H

#include <stddef.h>

/* The name into buf (len > 0), "unknown" when it cannot be read; always NUL-terminated. */
void pv_hostname(char *buf, size_t len);

#endif

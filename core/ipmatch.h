/* SPDX-License-Identifier: BSD-3-Clause */
/* ipmatch.h — strict numeric IP addresses and CIDR rules, and matching an rhost against them.
 * Only inet_pton is used: no resolver, no lenient forms (010.0.0.1, 10.1, 0x0a.0.0.1, scopes). */
#ifndef PV_IPMATCH_H
#define PV_IPMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PV_IP_TEXT_MAX 64 /* longest text form we accept or print, NUL included */

/* An address (prefix = 32 or 128) or a network. IPv4-mapped IPv6 is stored as IPv4. */
struct pv_cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 uses the first 4 bytes */
	unsigned prefix;  /* 0..32 or 0..128 */
};

/* Parse an allow-list entry: "203.0.113.7", "2001:db8::/48", "10.0.0.0/8".
 * Refuses host bits set under the prefix ("10.0.0.1/8"), bad or missing prefixes,
 * leading zeros in the prefix, empty input and anything inet_pton refuses. */
int pv_cidr_parse(const char *text, struct pv_cidr *out, struct pv_err *err);

/* Parse an rhost as given by sshd/OpenVPN. Returns PV_OK, or PV_ERR when the text is not a
 * plain numeric IPv4/IPv6 address (hostname, scope id, prefix, whitespace, empty). */
int pv_addr_parse(const char *text, struct pv_cidr *out);

/* True when addr (an address from pv_addr_parse) lies inside rule. Families must match. */
bool pv_cidr_contains(const struct pv_cidr *rule, const struct pv_cidr *addr);

/* True when every address of inner lies inside outer. */
bool pv_cidr_within(const struct pv_cidr *outer, const struct pv_cidr *inner);

/* Canonical text ("203.0.113.7", "2001:db8::/48"); /32 and /128 print without a prefix. */
void pv_cidr_format(const struct pv_cidr *cidr, char *buf, size_t len);

#endif

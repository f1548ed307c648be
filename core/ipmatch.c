/* SPDX-License-Identifier: BSD-3-Clause */
/* ipmatch.c — strict parsing of numeric IP addresses and CIDR allow-list rules, and matching
 * an rhost against them. Only inet_pton is used, so no resolver and no lenient legacy forms. */
#include "ipmatch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Length of the text we quote back in error sentences (the caller may log them). */

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Copy text into buf (PV_IP_TEXT_MAX bytes); refuses empty and over-long input. */
static int copy_bounded(const char *text, char buf[PV_IP_TEXT_MAX])
{
	size_t len = 0;

	if (text == NULL)
		return PV_ERR;
	/* Never read past PV_IP_TEXT_MAX bytes of untrusted input looking for the NUL. */
	while (len < PV_IP_TEXT_MAX && text[len] != '\0')
		len++;
	if (len == 0 || len >= PV_IP_TEXT_MAX)
		return PV_ERR;
	memcpy(buf, text, len + 1);
	return PV_OK;
}

/* Numeric IPv4 or IPv6 only; inet_pton refuses 010.0.0.1, 10.1, 0x0a.0.0.1, scopes, spaces. */
static int pton_any(const char *buf, struct pv_cidr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
		return PV_OK;
	}
	if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
		return PV_OK;
	}
	memset(out, 0, sizeof(*out));
	return PV_ERR;
}

static bool is_mapped(const struct pv_cidr *c)
{
	return c->family == AF_INET6 && memcmp(c->addr, mapped_prefix, sizeof(mapped_prefix)) == 0;
}

/* Store ::ffff:a.b.c.d/96+n as a.b.c.d/n so one rule form matches both rhost spellings. */
static void unmap(struct pv_cidr *c)
{
	if (!is_mapped(c) || c->prefix < 96)
		return;
	memmove(c->addr, c->addr + 12, 4);
	memset(c->addr + 4, 0, 12);
	c->family = AF_INET;
	c->prefix -= 96;
}

/* True when the first bits bits of a and b are equal. */
static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8;
	unsigned rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* Clear every bit below the prefix; returns true if any was set. */
static bool clear_host_bits(struct pv_cidr *c)
{
	unsigned total = family_bits(c->family) / 8;
	unsigned i = c->prefix / 8;
	bool had = false;

	if (c->prefix % 8 != 0) {
		uint8_t keep = (uint8_t)(0xff << (8 - c->prefix % 8));

		had = (c->addr[i] & (uint8_t)~keep) != 0;
		c->addr[i] &= keep;
		i++;
	}
	for (; i < total; i++) {
		if (c->addr[i] != 0)
			had = true;
		c->addr[i] = 0;
	}
	return had;
}

/* Prefix length: 1-3 ASCII digits, no sign, no leading zero unless exactly "0". */
static int parse_prefix(const char *text, unsigned *out)
{
	unsigned value = 0;
	size_t i;

	if (text[0] == '\0' || (text[0] == '0' && text[1] != '\0'))
		return PV_ERR;
	for (i = 0; text[i] != '\0'; i++) {
		if (i >= 3 || text[i] < '0' || text[i] > '9')
			return PV_ERR;
		value = value * 10 + (unsigned)(text[i] - '0');
	}
	*out = value;
	return PV_OK;
}

int pv_addr_parse(const char *text, struct pv_cidr *out)
{
	char buf[PV_IP_TEXT_MAX];
	struct pv_cidr addr;

	if (out == NULL || copy_bounded(text, buf) != PV_OK)
		return PV_ERR;
	if (pton_any(buf, &addr) != PV_OK)
		return PV_ERR;
	unmap(&addr);
	*out = addr;
	return PV_OK;
}

int pv_cidr_parse(const char *text, struct pv_cidr *out, struct pv_err *err)
{
	char buf[PV_IP_TEXT_MAX];
	char show[PV_SHOWN_MAX + 1];
	char hint[PV_IP_TEXT_MAX];
	struct pv_cidr rule;
	char *slash;
	unsigned prefix;

	if (out == NULL) {
		pv_err_set(err, "internal error: no place to store the parsed address rule");
		return PV_ERR;
	}
	if (text == NULL || text[0] == '\0') {
		pv_err_set(err, "an address rule is empty (expected e.g. 203.0.113.7 or "
		                "10.0.0.0/8)");
		return PV_ERR;
	}
	pv_err_shown(text, show);
	if (copy_bounded(text, buf) != PV_OK) {
		pv_err_set(err, "\"%.64s...\" is too long for an address rule", show);
		return PV_ERR;
	}

	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (buf[0] == '\0') {
		pv_err_set(err, "\"%.64s\" has no address before the \"/\"", show);
		return PV_ERR;
	}
	if (pton_any(buf, &rule) != PV_OK) {
		pv_err_set(err, "\"%.64s\" is not a numeric IPv4 or IPv6 address%s", show,
		           slash != NULL ? " and prefix" : "");
		return PV_ERR;
	}

	if (slash != NULL) {
		if (slash[1] == '\0') {
			pv_err_set(err, "\"%.64s\" is missing the prefix length after \"/\"", show);
			return PV_ERR;
		}
		if (parse_prefix(slash + 1, &prefix) != PV_OK) {
			pv_err_set(err,
			           "\"%.64s\": prefix must be a plain number 0-%u for %s "
			           "(no sign, no leading zeros)",
			           show, family_bits(rule.family),
			           rule.family == AF_INET ? "IPv4" : "IPv6");
			return PV_ERR;
		}
		if (prefix > family_bits(rule.family)) {
			pv_err_set(err, "\"%.64s\": prefix must be 0-%u for %s", show,
			           family_bits(rule.family),
			           rule.family == AF_INET ? "IPv4" : "IPv6");
			return PV_ERR;
		}
		rule.prefix = prefix;
	}

	if (clear_host_bits(&rule)) {
		pv_cidr_format(&rule, hint, sizeof(hint));
		pv_err_set(err, "\"%.64s\" has host bits set beyond /%u (did you mean %s?)", show,
		           rule.prefix, hint);
		return PV_ERR;
	}
	unmap(&rule);
	*out = rule;
	return PV_OK;
}

bool pv_cidr_contains(const struct pv_cidr *rule, const struct pv_cidr *addr)
{
	if (rule == NULL || addr == NULL || rule->family != addr->family)
		return false;
	if (rule->family != AF_INET && rule->family != AF_INET6)
		return false;
	if (rule->prefix > family_bits(rule->family))
		return false;
	return prefix_equal(rule->addr, addr->addr, rule->prefix);
}

bool pv_cidr_within(const struct pv_cidr *outer, const struct pv_cidr *inner)
{
	if (outer == NULL || inner == NULL || outer->family != inner->family)
		return false;
	if (outer->family != AF_INET && outer->family != AF_INET6)
		return false;
	if (inner->prefix > family_bits(inner->family) || inner->prefix < outer->prefix)
		return false;
	return prefix_equal(outer->addr, inner->addr, outer->prefix);
}

void pv_cidr_format(const struct pv_cidr *cidr, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (buf == NULL || len == 0)
		return;
	if (cidr == NULL || (cidr->family != AF_INET && cidr->family != AF_INET6) ||
	    cidr->prefix > family_bits(cidr->family) ||
	    inet_ntop(cidr->family, cidr->addr, text, sizeof(text)) == NULL) {
		snprintf(buf, len, "(invalid address)");
		return;
	}
	if (cidr->prefix == family_bits(cidr->family))
		snprintf(buf, len, "%s", text);
	else
		snprintf(buf, len, "%s/%u", text, cidr->prefix);
}

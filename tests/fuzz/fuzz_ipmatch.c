/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_ipmatch.c — pv_addr_parse and pv_cidr_parse (core/ipmatch.h), and the matching
 * functions on what they return.
 * Input: "TEXT" or "RULE\nADDR". Each piece is fed to both parsers as a C string.
 * Invariants:
 *  - an address that parses has a known family and a full prefix (/32, /128), formats with
 *    pv_cidr_format and re-parses to the identical struct, and contains itself;
 *  - a rule that parses has a known family, prefix <= 32/128, no host bits set, contains its
 *    own network address, is within itself, and formats and re-parses to the identical
 *    struct;
 *  - text accepted by pv_addr_parse is accepted by pv_cidr_parse as the same single-address
 *    rule, and text without '/' accepted as a rule is accepted as an address;
 *  - a failed pv_cidr_parse explains itself in printable text (it quotes untrusted input);
 *  - with two pieces: pv_cidr_contains(rule, addr) agrees with a bit-by-bit reference, and
 *    with pv_cidr_within(rule, addr). */
#include "fuzz_common.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "ipmatch.h"

static unsigned bits_of(int family)
{
	return family == AF_INET ? 32 : 128;
}

static bool bit(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

/* Reference: first `prefix` bits equal, families equal. */
static bool ref_contains(const struct pv_cidr *rule, const struct pv_cidr *addr)
{
	unsigned i;

	if (rule->family != addr->family)
		return false;
	for (i = 0; i < rule->prefix; i++)
		if (bit(rule->addr, i) != bit(addr->addr, i))
			return false;
	return true;
}

static void check_shape(const struct pv_cidr *c, const char *text)
{
	unsigned i;

	FZ_CHECK(c->family == AF_INET || c->family == AF_INET6, "family %d for \"%s\"", c->family,
	         text);
	FZ_CHECK(c->prefix <= bits_of(c->family), "prefix %u for \"%s\"", c->prefix, text);
	for (i = c->prefix; i < 128; i++)
		FZ_CHECK(!bit(c->addr, i), "bit %u set beyond /%u for \"%s\"", i, c->prefix, text);
	if (c->family == AF_INET6) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		FZ_CHECK(!(memcmp(c->addr, mapped, 12) == 0 && c->prefix >= 96),
		         "IPv4-mapped address kept as IPv6 for \"%s\"", text);
	}
}

static void check_one(const char *text)
{
	struct pv_cidr addr, rule, again, net;
	char buf[PV_IP_TEXT_MAX];
	struct pv_err err;
	bool addr_ok, rule_ok;

	addr_ok = pv_addr_parse(text, &addr) == PV_OK;
	if (addr_ok) {
		check_shape(&addr, text);
		FZ_CHECK(addr.prefix == bits_of(addr.family), "address \"%s\" has prefix %u", text,
		         addr.prefix);
		pv_cidr_format(&addr, buf, sizeof(buf));
		FZ_CHECK(pv_addr_parse(buf, &again) == PV_OK,
		         "address \"%s\" formats as \"%s\", which does not parse", text, buf);
		FZ_CHECK(memcmp(&addr, &again, sizeof(addr)) == 0,
		         "address \"%s\" -> \"%s\" re-parses differently", text, buf);
		FZ_CHECK(pv_cidr_contains(&addr, &addr), "address \"%s\" does not contain itself",
		         text);
	}

	err.msg[0] = '\0';
	rule_ok = pv_cidr_parse(text, &rule, &err) == PV_OK;
	if (!rule_ok) {
		fz_check_err(&err, true, "pv_cidr_parse");
		FZ_CHECK(!addr_ok, "\"%s\" is an address but not a rule: %s", text, err.msg);
		return;
	}
	check_shape(&rule, text);
	net = rule;
	net.prefix = bits_of(rule.family);
	FZ_CHECK(pv_cidr_contains(&rule, &net), "rule \"%s\" does not contain its network address",
	         text);
	FZ_CHECK(pv_cidr_within(&rule, &rule), "rule \"%s\" is not within itself", text);
	FZ_CHECK(pv_cidr_within(&rule, &net), "network address not within rule \"%s\"", text);
	pv_cidr_format(&rule, buf, sizeof(buf));
	err.msg[0] = '\0';
	FZ_CHECK(pv_cidr_parse(buf, &again, &err) == PV_OK,
	         "rule \"%s\" formats as \"%s\", which does not parse: %s", text, buf, err.msg);
	FZ_CHECK(memcmp(&rule, &again, sizeof(rule)) == 0,
	         "rule \"%s\" -> \"%s\" re-parses differently", text, buf);
	if (addr_ok)
		FZ_CHECK(memcmp(&rule, &addr, sizeof(rule)) == 0,
		         "\"%s\" parses differently as an address and as a rule", text);
	if (strchr(text, '/') == NULL)
		FZ_CHECK(addr_ok, "\"%s\" (no prefix) is a rule but not an address", text);
}

static void check_pair(const char *rule_text, const char *addr_text)
{
	struct pv_cidr rule, addr;
	struct pv_err err;
	bool in;

	if (pv_cidr_parse(rule_text, &rule, &err) != PV_OK ||
	    pv_addr_parse(addr_text, &addr) != PV_OK)
		return;
	in = pv_cidr_contains(&rule, &addr);
	FZ_CHECK(in == ref_contains(&rule, &addr), "contains(\"%s\", \"%s\") = %d, reference %d",
	         rule_text, addr_text, in, !in);
	FZ_CHECK(in == pv_cidr_within(&rule, &addr),
	         "contains and within disagree for \"%s\", \"%s\"", rule_text, addr_text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_cstr(data, size);
	char *second = strchr(text, '\n');

	if (second != NULL)
		*second++ = '\0';
	check_one(text);
	if (second != NULL) {
		check_one(second);
		check_pair(text, second);
	}
	free(text);
	return 0;
}

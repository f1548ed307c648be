/* SPDX-License-Identifier: BSD-3-Clause */
/* test_ipmatch.c — unit tests for core/ipmatch.c: which addresses and CIDR rules are accepted,
 * which are refused, and how rhosts match rules (IPv4, IPv6, IPv4-mapped IPv6). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "ipmatch.h"
#include "testutil.h"

static struct pv_cidr addr_ok(const char *text)
{
	struct pv_cidr c;

	if (pv_addr_parse(text, &c) != PV_OK)
		fail_msg("address \"%s\" refused", text);
	return c;
}

/* Returns the error sentence so callers can check it names the problem. */
static const char *rule_refused(const char *text, struct pv_err *err)
{
	struct pv_cidr c;

	memset(err, 0, sizeof(*err));
	if (pv_cidr_parse(text, &c, err) != PV_ERR)
		fail_msg("rule \"%s\" accepted", text);
	assert_true(err->msg[0] != '\0');
	return err->msg;
}

static void addr_refused(const char *text)
{
	struct pv_cidr c;

	if (pv_addr_parse(text, &c) != PV_ERR)
		fail_msg("address \"%s\" accepted", text);
}

static void assert_format(const struct pv_cidr *c, const char *want)
{
	char buf[PV_IP_TEXT_MAX];

	pv_cidr_format(c, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static bool matches(const char *rule, const char *addr)
{
	struct pv_cidr r = tu_cidr(rule);
	struct pv_cidr a = addr_ok(addr);

	return pv_cidr_contains(&r, &a);
}

static void test_addr_parse_accepts_ipv4(void **state)
{
	struct pv_cidr c = addr_ok("203.0.113.7");
	const uint8_t want[4] = {203, 0, 113, 7};

	(void)state;
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 32);
	assert_memory_equal(c.addr, want, 4);
	c = addr_ok("0.0.0.0");
	assert_int_equal(c.family, AF_INET);
	c = addr_ok("255.255.255.255");
	assert_int_equal(c.family, AF_INET);
}

static void test_addr_parse_accepts_ipv6(void **state)
{
	struct pv_cidr c = addr_ok("2001:db8::1");
	uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8};

	(void)state;
	want[15] = 1;
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 128);
	assert_memory_equal(c.addr, want, 16);
	c = addr_ok("::1");
	assert_int_equal(c.family, AF_INET6);
	c = addr_ok("2001:DB8:0:0:0:0:0:1");
	assert_memory_equal(c.addr, want, 16);
}

static void test_addr_parse_maps_ipv4_mapped_ipv6_to_ipv4(void **state)
{
	struct pv_cidr c = addr_ok("::ffff:203.0.113.7");
	const uint8_t want[4] = {203, 0, 113, 7};

	(void)state;
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 32);
	assert_memory_equal(c.addr, want, 4);
	c = addr_ok("::ffff:cb00:7107");
	assert_int_equal(c.family, AF_INET);
	assert_memory_equal(c.addr, want, 4);
}

static void test_addr_parse_refuses_lenient_ipv4_forms(void **state)
{
	(void)state;
	addr_refused("010.0.0.1");
	addr_refused("10.1");
	addr_refused("10.0.1");
	addr_refused("0x0a.0.0.1");
	addr_refused("167772161");
	addr_refused("10.0.0.256");
	addr_refused("10.0.0.1.");
}

static void test_addr_parse_refuses_scope_id(void **state)
{
	(void)state;
	addr_refused("fe80::1%eth0");
	addr_refused("fe80::1%1");
}

static void test_addr_parse_refuses_whitespace(void **state)
{
	(void)state;
	addr_refused("10.0.0.1\n");
	addr_refused(" 10.0.0.1");
	addr_refused("10.0.0.1 ");
	addr_refused("10.0.0.1\t");
	addr_refused(" ");
}

static void test_addr_parse_refuses_hostnames_and_unknown(void **state)
{
	(void)state;
	addr_refused("example.com");
	addr_refused("localhost");
	addr_refused("UNKNOWN");
}

static void test_addr_parse_refuses_empty_and_null(void **state)
{
	struct pv_cidr c;

	(void)state;
	addr_refused("");
	assert_int_equal(pv_addr_parse(NULL, &c), PV_ERR);
	assert_int_equal(pv_addr_parse("10.0.0.1", NULL), PV_ERR);
}

static void test_addr_parse_refuses_prefix(void **state)
{
	(void)state;
	addr_refused("10.0.0.1/32");
	addr_refused("/10.0.0.1");
	addr_refused("2001:db8::/48");
}

static void test_addr_parse_refuses_overlong_input(void **state)
{
	char big[1001];
	char edge[PV_IP_TEXT_MAX + 1];
	struct pv_cidr c;

	(void)state;
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	addr_refused(big);
	memset(edge, '0', sizeof(edge) - 1);
	edge[sizeof(edge) - 1] = '\0';
	addr_refused(edge);
	/* The longest valid text form still fits. */
	c = addr_ok("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	assert_int_equal(c.family, AF_INET6);
}

static void test_cidr_parse_accepts_ipv4_address_and_networks(void **state)
{
	struct pv_cidr c = tu_cidr("203.0.113.7");

	(void)state;
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 32);
	c = tu_cidr("10.0.0.0/8");
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 8);
	c = tu_cidr("192.168.1.0/24");
	assert_int_equal(c.prefix, 24);
	c = tu_cidr("203.0.113.7/32");
	assert_int_equal(c.prefix, 32);
}

static void test_cidr_parse_accepts_ipv6_networks(void **state)
{
	struct pv_cidr c = tu_cidr("2001:db8::/48");

	(void)state;
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 48);
	c = tu_cidr("2001:db8::1");
	assert_int_equal(c.prefix, 128);
	c = tu_cidr("2001:db8::1/128");
	assert_int_equal(c.prefix, 128);
	c = tu_cidr("::/0");
	assert_int_equal(c.prefix, 0);
}

static void test_cidr_parse_accepts_slash_zero(void **state)
{
	struct pv_cidr c = tu_cidr("0.0.0.0/0");

	(void)state;
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 0);
}

static void test_cidr_parse_keeps_narrow_prefixes(void **state)
{
	struct pv_cidr c = tu_cidr("10.0.0.2/31");

	(void)state;
	assert_int_equal(c.prefix, 31);
	assert_false(matches("10.0.0.2/31", "10.0.0.1"));
	assert_true(matches("10.0.0.2/31", "10.0.0.2"));
	assert_true(matches("10.0.0.2/31", "10.0.0.3"));
	assert_false(matches("10.0.0.2/31", "10.0.0.4"));
	c = tu_cidr("2001:db8::2/127");
	assert_int_equal(c.prefix, 127);
	assert_true(matches("2001:db8::2/127", "2001:db8::3"));
	assert_false(matches("2001:db8::2/127", "2001:db8::4"));
	assert_false(matches("2001:db8::2/127", "2001:db8::1"));
}

static void test_cidr_parse_refuses_host_bits(void **state)
{
	struct pv_err err;

	(void)state;
	assert_string_equal(rule_refused("10.0.0.1/8", &err),
	                    "\"10.0.0.1/8\" has host bits set beyond /8 (did you mean "
	                    "10.0.0.0/8?)");
	rule_refused("10.0.0.1/31", &err);
	rule_refused("10.0.0.3/31", &err);
	rule_refused("2001:db8::1/127", &err);
	assert_non_null(strstr(rule_refused("2001:db8::1/48", &err), "2001:db8::/48"));
	rule_refused("1.0.0.0/0", &err);
	rule_refused("::1/0", &err);
}

static void test_cidr_parse_refuses_prefix_out_of_range(void **state)
{
	struct pv_err err;

	(void)state;
	assert_string_equal(rule_refused("10.0.0.0/33", &err),
	                    "\"10.0.0.0/33\": prefix must be 0-32 for IPv4");
	assert_string_equal(rule_refused("2001:db8::/129", &err),
	                    "\"2001:db8::/129\": prefix must be 0-128 for IPv6");
	rule_refused("10.0.0.0/999", &err);
	rule_refused("10.0.0.0/1000", &err);
}

static void test_cidr_parse_refuses_missing_prefix(void **state)
{
	struct pv_err err;

	(void)state;
	assert_string_equal(rule_refused("10.0.0.0/", &err),
	                    "\"10.0.0.0/\" is missing the prefix length after \"/\"");
	assert_non_null(strstr(rule_refused("2001:db8::/", &err), "missing the prefix"));
}

static void test_cidr_parse_refuses_malformed_prefix(void **state)
{
	struct pv_err err;

	(void)state;
	rule_refused("10.0.0.0/08", &err);
	rule_refused("10.0.0.0/00", &err);
	rule_refused("10.0.0.0/-1", &err);
	rule_refused("10.0.0.0/+8", &err);
	rule_refused("10.0.0.0/ 8", &err);
	rule_refused("10.0.0.0/8 ", &err);
	rule_refused("10.0.0.0/8/8", &err);
	rule_refused("10.0.0.0/0x8", &err);
	rule_refused("10.0.0.0/255.0.0.0", &err);
}

static void test_cidr_parse_refuses_empty(void **state)
{
	struct pv_err err;
	struct pv_cidr c;

	(void)state;
	rule_refused("", &err);
	rule_refused("/8", &err);
	rule_refused("/", &err);
	memset(&err, 0, sizeof(err));
	assert_int_equal(pv_cidr_parse(NULL, &c, &err), PV_ERR);
	assert_true(err.msg[0] != '\0');
}

static void test_cidr_parse_refuses_junk(void **state)
{
	struct pv_err err;
	char big[1001];

	(void)state;
	assert_string_equal(rule_refused("abc", &err),
	                    "\"abc\" is not a numeric IPv4 or IPv6 address");
	rule_refused("example.com/24", &err);
	rule_refused("010.0.0.0/8", &err);
	rule_refused("10.0.0.0 /8", &err);
	rule_refused("fe80::%eth0/64", &err);
	rule_refused("UNKNOWN", &err);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(strlen(rule_refused(big, &err)) < 200);
}

static void test_cidr_parse_error_never_echoes_control_bytes(void **state)
{
	struct pv_err err;
	const char *msg;

	(void)state;
	msg = rule_refused("10.0.0.1\nforged log line", &err);
	assert_null(strchr(msg, '\n'));
	msg = rule_refused("10.0.0.1/8\r", &err);
	assert_null(strchr(msg, '\r'));
}

static void test_cidr_parse_canonicalises_mapped_rule(void **state)
{
	struct pv_cidr c = tu_cidr("::ffff:203.0.113.0/120");
	const uint8_t want[4] = {203, 0, 113, 0};

	(void)state;
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 24);
	assert_memory_equal(c.addr, want, 4);
	c = tu_cidr("::ffff:203.0.113.7");
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 32);
	c = tu_cidr("::ffff:0.0.0.0/96");
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 0);
}

static void test_cidr_parse_keeps_short_mapped_rule_ipv6(void **state)
{
	struct pv_cidr c = tu_cidr("::/80");
	struct pv_err err;

	(void)state;
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 80);
	/* A mapped address under a prefix < 96 always has host bits set (the ffff). */
	rule_refused("::ffff:0.0.0.0/95", &err);
	rule_refused("::ffff:203.0.113.0/64", &err);
}

static void test_contains_mapped_address_matches_ipv4_rule(void **state)
{
	(void)state;
	assert_true(matches("203.0.113.7", "::ffff:203.0.113.7"));
	assert_true(matches("203.0.113.0/24", "::ffff:203.0.113.200"));
}

static void test_contains_mapped_rule_matches_ipv4_address(void **state)
{
	(void)state;
	assert_true(matches("::ffff:203.0.113.0/120", "203.0.113.9"));
	assert_false(matches("::ffff:203.0.113.0/120", "203.0.114.9"));
}

static void test_contains_exact_address_only(void **state)
{
	(void)state;
	assert_false(matches("203.0.113.5", "203.0.113.6"));
	assert_true(matches("203.0.113.5", "203.0.113.5"));
	assert_true(matches("203.0.113.5/32", "203.0.113.5"));
	assert_false(matches("203.0.113.5/32", "203.0.113.4"));
	assert_true(matches("2001:db8::1/128", "2001:db8::1"));
	assert_false(matches("2001:db8::1/128", "2001:db8::2"));
}

static void test_contains_networks(void **state)
{
	(void)state;
	assert_true(matches("10.0.0.0/8", "10.255.255.255"));
	assert_true(matches("10.0.0.0/8", "10.0.0.0"));
	assert_false(matches("10.0.0.0/8", "11.0.0.0"));
	assert_false(matches("10.0.0.0/8", "9.255.255.255"));
	assert_true(matches("192.168.0.0/23", "192.168.1.200"));
	assert_false(matches("192.168.0.0/23", "192.168.2.0"));
	assert_true(matches("2001:db8::/48", "2001:db8:0:ffff::1"));
	assert_false(matches("2001:db8::/48", "2001:db8:1::1"));
}

static void test_contains_slash_zero_matches_whole_family(void **state)
{
	(void)state;
	assert_true(matches("0.0.0.0/0", "203.0.113.7"));
	assert_true(matches("0.0.0.0/0", "255.255.255.255"));
	assert_true(matches("::/0", "2001:db8::1"));
	assert_false(matches("0.0.0.0/0", "2001:db8::1"));
	assert_false(matches("::/0", "203.0.113.7"));
}

static void test_contains_ipv4_never_matches_ipv6_rule(void **state)
{
	(void)state;
	assert_false(matches("::/0", "10.0.0.1"));
	assert_false(matches("::/0", "::ffff:10.0.0.1"));
	assert_false(matches("::a00:1", "10.0.0.1"));
	assert_false(matches("10.0.0.1", "::a00:1"));
}

static void test_contains_refuses_null_and_bad_family(void **state)
{
	struct pv_cidr r = tu_cidr("0.0.0.0/0");
	struct pv_cidr a = addr_ok("10.0.0.1");

	(void)state;
	assert_false(pv_cidr_contains(NULL, &a));
	assert_false(pv_cidr_contains(&r, NULL));
	r.family = AF_UNIX;
	a.family = AF_UNIX;
	assert_false(pv_cidr_contains(&r, &a));
}

static void test_within(void **state)
{
	struct pv_cidr outer = tu_cidr("10.0.0.0/8");
	struct pv_cidr inner = tu_cidr("10.1.0.0/16");
	struct pv_cidr other = tu_cidr("11.0.0.0/16");
	struct pv_cidr wider = tu_cidr("0.0.0.0/0");
	struct pv_cidr host = tu_cidr("10.9.9.9");
	struct pv_cidr v6 = tu_cidr("::/0");

	(void)state;
	assert_true(pv_cidr_within(&outer, &inner));
	assert_true(pv_cidr_within(&outer, &outer));
	assert_true(pv_cidr_within(&outer, &host));
	assert_false(pv_cidr_within(&inner, &outer));
	assert_false(pv_cidr_within(&outer, &other));
	assert_false(pv_cidr_within(&outer, &wider));
	/* Same network bits, but the inner rule is wider than the outer one. */
	inner = tu_cidr("10.0.0.0/16");
	assert_false(pv_cidr_within(&inner, &outer));
	assert_true(pv_cidr_within(&outer, &inner));
	assert_true(pv_cidr_within(&wider, &outer));
	assert_false(pv_cidr_within(&v6, &outer));
	assert_false(pv_cidr_within(&outer, &v6));
	outer = tu_cidr("2001:db8::/32");
	inner = tu_cidr("2001:db8:1::/48");
	assert_true(pv_cidr_within(&outer, &inner));
	assert_false(pv_cidr_within(&inner, &outer));
	assert_false(pv_cidr_within(NULL, &inner));
	assert_false(pv_cidr_within(&outer, NULL));
}

static void test_format_round_trips(void **state)
{
	static const char *const texts[] = {
	    "203.0.113.7", "10.0.0.0/8",    "0.0.0.0/0", "10.0.0.2/31",
	    "2001:db8::1", "2001:db8::/48", "::/0",      "2001:db8::2/127",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct pv_cidr c = tu_cidr(texts[i]);
		struct pv_cidr again;
		char buf[PV_IP_TEXT_MAX];

		pv_cidr_format(&c, buf, sizeof(buf));
		assert_string_equal(buf, texts[i]);
		again = tu_cidr(buf);
		assert_memory_equal(&again, &c, sizeof(c));
	}
}

static void test_format_canonical_text(void **state)
{
	struct pv_cidr c = tu_cidr("203.0.113.7/32");

	(void)state;
	assert_format(&c, "203.0.113.7");
	c = tu_cidr("2001:DB8:0:0::1/128");
	assert_format(&c, "2001:db8::1");
	c = tu_cidr("::ffff:203.0.113.0/120");
	assert_format(&c, "203.0.113.0/24");
	c = addr_ok("::ffff:203.0.113.7");
	assert_format(&c, "203.0.113.7");
}

static void test_format_truncates_safely(void **state)
{
	struct pv_cidr c = tu_cidr("203.0.113.0/24");
	char buf[8];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	pv_cidr_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "203.0.1");
	c.family = AF_UNIX;
	pv_cidr_format(&c, buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_parse_accepts_ipv4),
	    cmocka_unit_test(test_addr_parse_accepts_ipv6),
	    cmocka_unit_test(test_addr_parse_maps_ipv4_mapped_ipv6_to_ipv4),
	    cmocka_unit_test(test_addr_parse_refuses_lenient_ipv4_forms),
	    cmocka_unit_test(test_addr_parse_refuses_scope_id),
	    cmocka_unit_test(test_addr_parse_refuses_whitespace),
	    cmocka_unit_test(test_addr_parse_refuses_hostnames_and_unknown),
	    cmocka_unit_test(test_addr_parse_refuses_empty_and_null),
	    cmocka_unit_test(test_addr_parse_refuses_prefix),
	    cmocka_unit_test(test_addr_parse_refuses_overlong_input),
	    cmocka_unit_test(test_cidr_parse_accepts_ipv4_address_and_networks),
	    cmocka_unit_test(test_cidr_parse_accepts_ipv6_networks),
	    cmocka_unit_test(test_cidr_parse_accepts_slash_zero),
	    cmocka_unit_test(test_cidr_parse_keeps_narrow_prefixes),
	    cmocka_unit_test(test_cidr_parse_refuses_host_bits),
	    cmocka_unit_test(test_cidr_parse_refuses_prefix_out_of_range),
	    cmocka_unit_test(test_cidr_parse_refuses_missing_prefix),
	    cmocka_unit_test(test_cidr_parse_refuses_malformed_prefix),
	    cmocka_unit_test(test_cidr_parse_refuses_empty),
	    cmocka_unit_test(test_cidr_parse_refuses_junk),
	    cmocka_unit_test(test_cidr_parse_error_never_echoes_control_bytes),
	    cmocka_unit_test(test_cidr_parse_canonicalises_mapped_rule),
	    cmocka_unit_test(test_cidr_parse_keeps_short_mapped_rule_ipv6),
	    cmocka_unit_test(test_contains_mapped_address_matches_ipv4_rule),
	    cmocka_unit_test(test_contains_mapped_rule_matches_ipv4_address),
	    cmocka_unit_test(test_contains_exact_address_only),
	    cmocka_unit_test(test_contains_networks),
	    cmocka_unit_test(test_contains_slash_zero_matches_whole_family),
	    cmocka_unit_test(test_contains_ipv4_never_matches_ipv6_rule),
	    cmocka_unit_test(test_contains_refuses_null_and_bad_family),
	    cmocka_unit_test(test_within),
	    cmocka_unit_test(test_format_round_trips),
	    cmocka_unit_test(test_format_canonical_text),
	    cmocka_unit_test(test_format_truncates_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

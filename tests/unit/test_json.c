/* SPDX-License-Identifier: BSD-3-Clause */
/* test_json.c — unit tests for core/json.c: string escaping (every line stays valid JSON,
 * whatever bytes a client sent), the strict parser of flat audit objects, the number grammar,
 * UTF-8 sequence lengths, and writing a parsed object back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "json.h"
#include "testutil.h"

/* pv_json_string(s) as a NUL-terminated string in out. */
static void escaped(const char *s, char *out, size_t len)
{
	struct pv_buf b;

	pv_buf_init(&b, 4096);
	pv_json_string(&b, s);
	assert_false(b.failed);
	assert_true(b.len < len);
	memcpy(out, b.data, b.len + 1);
	pv_buf_free(&b);
}

static void assert_escapes_to(const char *s, const char *want)
{
	char got[4096];

	escaped(s, got, sizeof(got));
	assert_string_equal(got, want);
}

static int parse(const char *text, struct pv_json_object *obj)
{
	return pv_json_parse_flat(text, strlen(text), obj);
}

static void assert_parse_refused(const char *text)
{
	struct pv_json_object obj;

	if (parse(text, &obj) == 0) {
		pv_json_object_free(&obj);
		fail_msg("accepted: %s", text);
	}
	assert_null(obj.storage); /* nothing to free on failure */
}

/* Parses {"k":<literal>} and returns a copy of the value of k (NULL for null). */
static char *parse_value(const char *literal)
{
	struct pv_json_object obj;
	char text[4200];
	char *copy;
	const char *v;

	snprintf(text, sizeof(text), "{\"k\":%s}", literal);
	if (parse(text, &obj) != 0)
		fail_msg("refused: %s", text);
	assert_int_equal(obj.n, 1);
	v = pv_json_get(&obj, "k");
	copy = v ? strdup(v) : NULL;
	pv_json_object_free(&obj);
	return copy;
}

static void assert_value(const char *literal, const char *want)
{
	char *got = parse_value(literal);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* --- escaping --- */

static void test_plain_text_is_quoted(void **state)
{
	assert_escapes_to("acme", "\"acme\"");
	assert_escapes_to("", "\"\"");
	assert_escapes_to("203.0.113.7 /x:y", "\"203.0.113.7 /x:y\"");
}

static void test_null_is_written_as_null(void **state)
{
	assert_escapes_to(NULL, "null");
}

static void test_quotes_and_backslashes_are_escaped(void **state)
{
	assert_escapes_to("a\"b\\c", "\"a\\\"b\\\\c\"");
	assert_escapes_to("\",\"mac\":\"", "\"\\\",\\\"mac\\\":\\\"\"");
}

static void test_control_characters_are_escaped(void **state)
{
	assert_escapes_to("a\nb", "\"a\\u000ab\"");
	assert_escapes_to("\r\t\x01\x1f\x7f", "\"\\u000d\\u0009\\u0001\\u001f\\u007f\"");
}

static void test_valid_utf8_passes_through(void **state)
{
	assert_escapes_to("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80",
	                  "\"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

static void test_invalid_utf8_becomes_replacement_character(void **state)
{
	assert_escapes_to("a\xff"
	                  "b",
	                  "\"a\\ufffdb\"");
	assert_escapes_to("\xc0\xaf", "\"\\ufffd\\ufffd\"");            /* overlong '/' */
	assert_escapes_to("\xe2\x82", "\"\\ufffd\\ufffd\"");            /* truncated */
	assert_escapes_to("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	assert_escapes_to("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
	assert_escapes_to("\x80", "\"\\ufffd\""); /* lone continuation */
}

static void test_escaped_output_has_no_raw_control_or_high_bytes_when_input_is_junk(void **state)
{
	char in[256];
	char out[4096];
	size_t i;

	for (i = 0; i < 255; i++)
		in[i] = (char)(i + 1);
	in[255] = '\0';
	escaped(in, out, sizeof(out));
	for (i = 0; out[i] != '\0'; i++)
		assert_true((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] < 0x7f);
}

static void test_key_helpers_build_an_object(void **state)
{
	struct pv_buf b;
	bool first = true;

	pv_buf_init(&b, 1024);
	pv_buf_puts(&b, "{");
	pv_json_key_string(&b, &first, "user", "acme");
	pv_json_key_int(&b, &first, "seq", -12);
	pv_json_key_int(&b, &first, "big", INT64_MAX);
	pv_json_key_bool(&b, &first, "ok", true);
	pv_json_key_string(&b, &first, "rhost", NULL);
	pv_buf_puts(&b, "}");
	assert_false(b.failed);
	assert_string_equal(b.data, "{\"user\":\"acme\",\"seq\":-12,\"big\":9223372036854775807,"
	                            "\"ok\":true,\"rhost\":null}");
	pv_buf_free(&b);
}

static void test_buffer_overflow_latches_failed(void **state)
{
	struct pv_buf b;

	pv_buf_init(&b, 16);
	pv_buf_puts(&b, "0123456789");
	assert_false(b.failed);
	pv_buf_puts(&b, "0123456789");
	assert_true(b.failed);
	pv_buf_puts(&b, "x");
	assert_true(b.failed);
	assert_true(b.len <= 15);
	pv_buf_free(&b);
	assert_null(b.data);
}

/* --- parsing --- */

static void test_flat_object_is_parsed(void **state)
{
	struct pv_json_object obj;

	assert_int_equal(
	    parse("{\"k\":\"v\",\"n\":12,\"z\":null,\"b\":true,\"f\":false,\"m\":-3}", &obj), 0);
	assert_int_equal(obj.n, 6);
	assert_string_equal(pv_json_get(&obj, "k"), "v");
	assert_true(obj.is_string[0]);
	assert_string_equal(pv_json_get(&obj, "n"), "12");
	assert_false(obj.is_string[1]);
	assert_null(pv_json_get(&obj, "z"));
	assert_null(obj.value[2]);
	assert_string_equal(pv_json_get(&obj, "b"), "true");
	assert_string_equal(pv_json_get(&obj, "f"), "false");
	assert_string_equal(pv_json_get(&obj, "m"), "-3");
	assert_null(pv_json_get(&obj, "absent"));
	pv_json_object_free(&obj);
	assert_null(obj.storage);
}

static void test_empty_object_and_spaces_are_accepted(void **state)
{
	struct pv_json_object obj;

	assert_int_equal(parse("{}", &obj), 0);
	assert_int_equal(obj.n, 0);
	pv_json_object_free(&obj);
	assert_int_equal(parse("  { \"a\" : \"b\" ,\t\"c\" : 1 }  ", &obj), 0);
	assert_int_equal(obj.n, 2);
	assert_string_equal(pv_json_get(&obj, "a"), "b");
	assert_string_equal(pv_json_get(&obj, "c"), "1");
	pv_json_object_free(&obj);
}

static void test_simple_escapes_are_decoded(void **state)
{
	assert_value("\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d");
	assert_value("\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t");
	assert_value("\"\"", "");
}

static void test_unicode_escapes_are_decoded_to_utf8(void **state)
{
	assert_value("\"\\u0041\"", "A");
	assert_value("\"\\u00e9\\u00C9\"", "\xc3\xa9\xc3\x89");
	assert_value("\"\\u20ac\"", "\xe2\x82\xac");
	assert_value("\"\\u000a\"", "\n");
	assert_value("\"\\ufffd\"", "\xef\xbf\xbd");
}

static void test_nul_and_surrogate_escapes_become_replacement_character(void **state)
{
	assert_value("\"a\\u0000b\"", "a\xef\xbf\xbd"
	                              "b");
	assert_value("\"\\ud83d\\ude00\"", "\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_bad_escapes_are_refused(void **state)
{
	assert_parse_refused("{\"k\":\"\\x41\"}");
	assert_parse_refused("{\"k\":\"\\u00g1\"}");
	assert_parse_refused("{\"k\":\"\\u00\"}");
	assert_parse_refused("{\"k\":\"\\u\"}");
	assert_parse_refused("{\"k\":\"\\\"}");
	assert_parse_refused("{\"k\":\"\\");
}

static void test_nested_values_are_refused(void **state)
{
	assert_parse_refused("{\"k\":{\"a\":1}}");
	assert_parse_refused("{\"k\":[1,2]}");
	assert_parse_refused("{\"k\":[]}");
	assert_parse_refused("[{\"k\":1}]");
}

static void test_trailing_garbage_is_refused(void **state)
{
	assert_parse_refused("{\"k\":1}x");
	assert_parse_refused("{\"k\":1}{}");
	assert_parse_refused("{\"k\":1},");
	assert_parse_refused("{\"k\":1}\n");
	assert_parse_refused("{}}");
}

static void test_malformed_objects_are_refused(void **state)
{
	assert_parse_refused("");
	assert_parse_refused("   ");
	assert_parse_refused("{");
	assert_parse_refused("}");
	assert_parse_refused("{\"k\"}");
	assert_parse_refused("{\"k\":}");
	assert_parse_refused("{\"k\" 1}");
	assert_parse_refused("{k:1}");
	assert_parse_refused("{\"k\":1,}");
	assert_parse_refused("{,\"k\":1}");
	assert_parse_refused("{\"k\":1 \"j\":2}");
	assert_parse_refused("{\"k\":\"unterminated}");
	assert_parse_refused("{\"k\":\"raw\ttab\"}");
	assert_parse_refused("{\"k\":\"raw\nnewline\"}");
	assert_parse_refused("{\"k\":'single'}");
}

static void test_bare_words_that_are_not_json_literals_are_refused(void **state)
{
	/* Only numbers, true, false and null are JSON scalars. */
	assert_parse_refused("{\"k\":hello}");
	assert_parse_refused("{\"k\":nul}");
	assert_parse_refused("{\"k\":truefalse}");
}

static void test_nul_byte_inside_text_is_refused(void **state)
{
	static const char text[] = "{\"k\":\"a\0b\"}";
	struct pv_json_object obj;

	assert_int_equal(pv_json_parse_flat(text, sizeof(text) - 1, &obj), -1);
}

static void test_field_count_is_bounded(void **state)
{
	struct pv_json_object obj;
	char text[2048];
	size_t n = 0;
	int i;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "{");
	for (i = 0; i < PV_JSON_MAX_FIELDS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"k%d\":%d", i ? "," : "", i,
		                      i);
	snprintf(text + n, sizeof(text) - n, "}");
	assert_int_equal(parse(text, &obj), 0);
	assert_int_equal(obj.n, PV_JSON_MAX_FIELDS);
	assert_string_equal(pv_json_get(&obj, "k31"), "31");
	pv_json_object_free(&obj);
	snprintf(text + n, sizeof(text) - n, ",\"one_more\":1}");
	assert_parse_refused(text);
}

static void test_escaped_strings_parse_back_to_the_original(void **state)
{
	static const char *const samples[] = {
	    "acme",
	    "a\nb\"c\\d",
	    "\x01\x02\x1f\x7f",
	    "Zo\xc3\xab \xe2\x82\xac",
	    "\",\"mac\":\"00\"}",
	    "tab\there",
	};
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char lit[4096];
		char *back;

		escaped(samples[i], lit, sizeof(lit));
		back = parse_value(lit);
		assert_non_null(back);
		assert_string_equal(back, samples[i]);
		free(back);
	}
}

static void test_invalid_utf8_parses_back_as_replacement_character(void **state)
{
	char lit[64];
	char *back;

	escaped("a\xff"
	        "b\xc3",
	        lit, sizeof(lit));
	back = parse_value(lit);
	assert_string_equal(back, "a\xef\xbf\xbd"
	                          "b\xef\xbf\xbd");
	free(back);
}

/* --- exported pieces: the number grammar, UTF-8 lengths, writing a parsed object again --- */

static void test_number_grammar(void **state)
{
	static const char *const numbers[] = {"0",     "-0",  "7",    "-12",    "1234567890", "0.5",
	                                      "-3.25", "1e9", "1E+9", "2.5e-3", "0e0"};
	static const char *const not_numbers[] = {"",      "-",   "+1",       "01",   "-01", "1.",
	                                          ".5",    "1e",  "1e+",      "0x10", "1 ",  " 1",
	                                          "1.2.3", "NaN", "Infinity", "1e5x", "--1"};
	size_t i;

	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (!pv_json_is_number(numbers[i]))
			fail_msg("refused as a number: \"%s\"", numbers[i]);
	for (i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]); i++)
		if (pv_json_is_number(not_numbers[i]))
			fail_msg("accepted as a number: \"%s\"", not_numbers[i]);
}

static size_t utf8_len(const char *s)
{
	return pv_utf8_seq_len((const unsigned char *)s);
}

static void test_utf8_sequence_lengths(void **state)
{
	assert_int_equal(utf8_len("a"), 1);
	assert_int_equal(utf8_len("\x1b"),
	                 1); /* a control is valid UTF-8; escaping is the caller's */
	assert_int_equal(utf8_len("\xc3\xa9"), 2);         /* é */
	assert_int_equal(utf8_len("\xc2\x85"), 2);         /* NEL (C1), valid UTF-8 */
	assert_int_equal(utf8_len("\xe2\x82\xac"), 3);     /* € */
	assert_int_equal(utf8_len("\xf0\x9f\x98\x80"), 4); /* U+1F600 */
	assert_int_equal(utf8_len("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF, the last */
	assert_int_equal(utf8_len("\x80"), 0);             /* a lone continuation byte */
	assert_int_equal(utf8_len("\xc0\xaf"), 0);         /* overlong '/' */
	assert_int_equal(utf8_len("\xe0\x80\xaf"), 0);     /* overlong, 3 bytes */
	assert_int_equal(utf8_len("\xf0\x80\x80\xaf"), 0); /* overlong, 4 bytes */
	assert_int_equal(utf8_len("\xed\xa0\x80"), 0);     /* a surrogate */
	assert_int_equal(utf8_len("\xf4\x90\x80\x80"), 0); /* past U+10FFFF */
	assert_int_equal(utf8_len("\xf5\x80\x80\x80"), 0);
	assert_int_equal(utf8_len("\xc3"), 0); /* cut by the end of the string */
	assert_int_equal(utf8_len("\xe2\x82"), 0);
}

/* Parse text, write the object again, compare with want. */
static void assert_rewritten(const char *text, const char *want)
{
	struct pv_json_object obj;
	struct pv_buf b;

	if (parse(text, &obj) != 0)
		fail_msg("refused: %s", text);
	pv_buf_init(&b, 4096);
	pv_json_write_object(&b, &obj);
	assert_false(b.failed);
	assert_string_equal(b.data, want);
	pv_buf_free(&b);
	pv_json_object_free(&obj);
}

static void test_parsed_object_is_written_back_the_same(void **state)
{
	static const char line[] =
	    "{\"time\":\"2027-01-15T08:00:00Z\",\"seq\":12,\"user\":\"a\\\"b\\\\c\\u001b\","
	    "\"rhost\":null,\"ok\":true,\"no\":false,\"x\":-1.5e3,\"mac\":\"00ff\"}";

	assert_rewritten(line, line);
	assert_rewritten("{}", "{}");
	/* Spaces and other escapes are normalised to the writer's form. */
	assert_rewritten("{ \"k\" : \"\\u00e9\\/\" , \"n\" : 0 }", "{\"k\":\"\xc3\xa9/\",\"n\":0}");
}

/* A hand-built object whose bare value is not JSON is still written as valid JSON. */
static void test_written_object_is_valid_json_whatever_it_holds(void **state)
{
	struct pv_json_object obj = {0};
	struct pv_json_object back;
	struct pv_buf b;

	obj.n = 2;
	obj.key[0] = "bare";
	obj.value[0] = "word";
	obj.is_string[0] = false;
	obj.key[1] = "num";
	obj.value[1] = "42";
	obj.is_string[1] = true; /* a string that looks like a number stays a string */
	pv_buf_init(&b, 4096);
	pv_json_write_object(&b, &obj);
	assert_string_equal(b.data, "{\"bare\":\"word\",\"num\":\"42\"}");
	assert_int_equal(parse(b.data, &back), 0);
	pv_json_object_free(&back);
	pv_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_text_is_quoted),
	    cmocka_unit_test(test_null_is_written_as_null),
	    cmocka_unit_test(test_quotes_and_backslashes_are_escaped),
	    cmocka_unit_test(test_control_characters_are_escaped),
	    cmocka_unit_test(test_valid_utf8_passes_through),
	    cmocka_unit_test(test_invalid_utf8_becomes_replacement_character),
	    cmocka_unit_test(
	        test_escaped_output_has_no_raw_control_or_high_bytes_when_input_is_junk),
	    cmocka_unit_test(test_key_helpers_build_an_object),
	    cmocka_unit_test(test_buffer_overflow_latches_failed),
	    cmocka_unit_test(test_flat_object_is_parsed),
	    cmocka_unit_test(test_empty_object_and_spaces_are_accepted),
	    cmocka_unit_test(test_simple_escapes_are_decoded),
	    cmocka_unit_test(test_unicode_escapes_are_decoded_to_utf8),
	    cmocka_unit_test(test_nul_and_surrogate_escapes_become_replacement_character),
	    cmocka_unit_test(test_bad_escapes_are_refused),
	    cmocka_unit_test(test_nested_values_are_refused),
	    cmocka_unit_test(test_trailing_garbage_is_refused),
	    cmocka_unit_test(test_malformed_objects_are_refused),
	    cmocka_unit_test(test_bare_words_that_are_not_json_literals_are_refused),
	    cmocka_unit_test(test_nul_byte_inside_text_is_refused),
	    cmocka_unit_test(test_field_count_is_bounded),
	    cmocka_unit_test(test_escaped_strings_parse_back_to_the_original),
	    cmocka_unit_test(test_invalid_utf8_parses_back_as_replacement_character),
	    cmocka_unit_test(test_number_grammar),
	    cmocka_unit_test(test_utf8_sequence_lengths),
	    cmocka_unit_test(test_parsed_object_is_written_back_the_same),
	    cmocka_unit_test(test_written_object_is_valid_json_whatever_it_holds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

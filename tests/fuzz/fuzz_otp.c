/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz_otp.c — pv_otp_normalise (core/otp.h): what a person types at the code prompt (a PAM
 * conversation answer: a C string, possibly long, possibly binary).
 * The output buffer is a heap block of exactly PV_OTP_MAX_LEN + 1 bytes, so a write past it
 * is an ASan report.
 * Invariants:
 *  - success: output is ASCII digits only, 1..PV_OTP_MAX_LEN (12) of them, NUL-terminated,
 *    *digits_len == strlen(out), and equals the input with spaces and dashes removed;
 *  - failure: *digits_len == 0, the output is an empty string and no digit of a partial
 *    code is left anywhere in the buffer;
 *  - accepted exactly when a reference says so: 1..64 input bytes, only digits, spaces and
 *    dashes, 1..12 digits. */
#include "fuzz_common.h"

#include "otp.h"

static bool reference(const char *in, char *expect)
{
	size_t len = strlen(in);
	size_t n = 0;
	size_t i;

	if (len == 0 || len > PV_OTP_INPUT_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (in[i] == ' ' || in[i] == '-')
			continue;
		if (in[i] < '0' || in[i] > '9' || n == PV_OTP_MAX_LEN)
			return false;
		expect[n++] = in[i];
	}
	expect[n] = '\0';
	return n > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *input = fz_cstr(data, size);
	char *out = malloc(PV_OTP_MAX_LEN + 1);
	char expect[PV_OTP_INPUT_MAX + 1];
	size_t digits_len = 12345;
	bool ok, ref;
	size_t i;

	FZ_CHECK(out != NULL, "out of memory");
	memset(out, 'X', PV_OTP_MAX_LEN + 1);
	ok = pv_otp_normalise(input, out, &digits_len) == PV_OK;
	ref = reference(input, expect);
	FZ_CHECK(ok == ref, "pv_otp_normalise(\"%.80s\") %s, the reference %s", input,
	         ok ? "accepts" : "refuses", ref ? "accepts" : "refuses");
	if (ok) {
		FZ_CHECK(digits_len >= 1 && digits_len <= PV_OTP_MAX_LEN, "digits_len %zu",
		         digits_len);
		FZ_CHECK(strnlen(out, PV_OTP_MAX_LEN + 1) == digits_len,
		         "digits_len %zu but the output holds %zu characters", digits_len,
		         strnlen(out, PV_OTP_MAX_LEN + 1));
		for (i = 0; i < digits_len; i++)
			FZ_CHECK(out[i] >= '0' && out[i] <= '9', "output byte 0x%02x",
			         (unsigned char)out[i]);
		FZ_CHECK(strcmp(out, expect) == 0, "normalised \"%s\", expected \"%s\"", out,
		         expect);
	} else {
		FZ_CHECK(digits_len == 0, "failure with digits_len %zu", digits_len);
		FZ_CHECK(out[0] == '\0', "failure left \"%.12s\" in the output", out);
		for (i = 0; i <= PV_OTP_MAX_LEN; i++)
			FZ_CHECK(out[i] < '0' || out[i] > '9',
			         "failure left a digit at out[%zu] (a partial code)", i);
	}
	free(out);
	free(input);
	return 0;
}

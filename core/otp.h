/* SPDX-License-Identifier: BSD-3-Clause */
/* otp.h — one-time codes (random digits kept only as keyed hashes) and TOTP (liboath).
 * What a person types is normalised here and nowhere else. */
#ifndef PV_OTP_H
#define PV_OTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"
#include "record.h"

#define PV_OTP_MIN_LEN   6
#define PV_OTP_MAX_LEN   12
#define PV_TOTP_DIGITS   6
#define PV_TOTP_STEP     30
#define PV_OTP_INPUT_MAX 64 /* longer input is refused before anything else */

/* length random decimal digits (randombytes_uniform) into digits[length+1]. */
void pv_otp_generate(unsigned length, char *digits);

/* Remove spaces and dashes; require ASCII digits only, 1..PV_OTP_MAX_LEN of them.
 * out must hold PV_OTP_MAX_LEN + 1 bytes. */
int pv_otp_normalise(const char *input, char *out, size_t *digits_len);

/* Keyed hash of a code for one vendor (the vendor name is hashed in: a code of one vendor
 * never matches another's). */
int pv_otp_hash(const struct pv_keys *keys, const char *vendor, const char *digits,
                unsigned char hash[PV_CODE_HASH_BYTES]);

/* Constant-time equality of two code hashes. */
bool pv_otp_hash_equal(const unsigned char a[PV_CODE_HASH_BYTES],
                       const unsigned char b[PV_CODE_HASH_BYTES]);

/* Check a 6-digit TOTP against secret at `now`, one step either side. On a match *step is
 * the matching time step. PV_ERR when it matches no step (or liboath fails). */
int pv_totp_match(const unsigned char secret[PV_TOTP_SECRET_BYTES], int64_t now, const char *digits,
                  int64_t *step);

/* "otpauth://totp/ISSUER:NAME?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30"
 * (issuer and name percent-encoded); malloc'd, the caller wipes and frees it. */
int pv_totp_uri(const unsigned char secret[PV_TOTP_SECRET_BYTES], const char *issuer,
                const char *vendor, char **uri, struct pv_err *err);

#endif

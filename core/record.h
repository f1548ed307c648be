/* SPDX-License-Identifier: BSD-3-Clause */
/* record.h — what the store keeps per vendor, and its versioned plaintext encoding (the
 * store seals the encoded bytes; see store.h). Fixed-size, so one sodium_memzero wipes it. */
#ifndef PV_RECORD_H
#define PV_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ipmatch.h"
#include "schedule.h"
#include "sshkey.h"
#include "vendorname.h"

#define PV_RECORD_VERSION    3 /* 3: SSH keys, targets, shell (2 still read) */
#define PV_MAX_IPS           32
#define PV_MAX_CODES         32
#define PV_NOTE_MAX          200
#define PV_CODE_HASH_BYTES   32
#define PV_TOTP_SECRET_BYTES 20
#define PV_MAX_TARGETS       16
#define PV_RECORD_TEXT_MAX   32768 /* encoded record size bound (8 RSA-8192 keys fit) */
#define PV_SERIAL_MAX        INT64_MAX
/* A new record's serial is its creation time in microseconds: above any serial an earlier
 * vendor of the same name could have reached (one per save), so a re-added vendor is never
 * taken for an older row on a gateway that remembers the earlier one (store.h). */
#define PV_SERIAL_PER_SECOND 1000000

/* A host:port the vendor may forward to through the bastion (numeric, resolved when set). */
struct pv_target {
	struct pv_cidr host; /* a single address (prefix 32 or 128) */
	uint16_t port;       /* 1..65535 */
};

/* May the vendor open a shell on the bastion? AUTO: yes without targets, no with them. */
enum pv_shell { PV_SHELL_AUTO = 0, PV_SHELL_ALLOWED = 1, PV_SHELL_REFUSED = 2 };

/* An issued one-time code: only its keyed hash is kept. */
struct pv_code {
	unsigned char hash[PV_CODE_HASH_BYTES];
	int64_t issued;
	int64_t expires; /* first second at which it is no longer valid */
	int64_t used_at; /* 0: not used yet */
};

struct pv_record {
	char name[PV_NAME_MAX + 1];
	/* Raised by one on every save (store.c). Sealed with the rest, so whoever can write the
	 * store but lacks the key cannot change it; each gateway refuses a record whose serial is
	 * below the highest it has seen (seen.h). 1..PV_SERIAL_MAX. */
	uint64_t serial;
	char note[PV_NOTE_MAX + 1];
	int64_t created;
	size_t n_ips;
	struct pv_cidr ips[PV_MAX_IPS]; /* the vendor's declared addresses */

	/* Window: valid when window_end > 0. [window_start, window_end). `disable` clears it. */
	int64_t window_start;
	int64_t window_end;
	size_t n_window_ips; /* 0: the vendor's whole list applies */
	struct pv_cidr window_ips[PV_MAX_IPS];

	struct pv_schedule hours; /* business hours (local time); n == 0: none */

	unsigned failures; /* wrong/expired/replayed codes since the last success */
	bool locked;       /* until `otpctl unlock` or a new window */

	size_t n_codes;
	struct pv_code codes[PV_MAX_CODES];

	bool totp_enrolled;
	unsigned char totp_secret[PV_TOTP_SECRET_BYTES];
	int64_t totp_last_step; /* highest time step accepted; each is accepted once */

	int64_t last_login; /* 0: never */
	char last_login_rhost[PV_IP_TEXT_MAX];

	/* Served by the AuthorizedKeysCommand only while the window is open (keysview.h). */
	size_t n_keys;
	struct pv_sshkey keys[PV_MAX_KEYS];
	size_t n_targets; /* 0: no forwarding at all */
	struct pv_target targets[PV_MAX_TARGETS];
	enum pv_shell shell;
};

/* Fresh record for a new vendor (everything zero, name copied, serial from `now`). */
void pv_record_init(struct pv_record *rec, const char *name, int64_t now);

/* Encode to text (malloc'd; the caller wipes and frees it). */
int pv_record_encode(const struct pv_record *rec, char **text, size_t *len, struct pv_err *err);

/* Decode text produced by pv_record_encode. Strict: known keys only, bounded counts, the
 * version line first and "end" last. `expected_name` must match the record's name. */
int pv_record_decode(const char *text, size_t len, const char *expected_name, struct pv_record *rec,
                     struct pv_err *err);

/* Addresses that apply now: the window's narrowed list when set, else the vendor's list. */
const struct pv_cidr *pv_record_allowed_ips(const struct pv_record *rec, size_t *count);

/* Drop codes that can no longer matter: expired more than a day ago, or used and expired.
 * Removing an entry never makes a code usable (an unknown code is invalid). */
void pv_record_prune_codes(struct pv_record *rec, int64_t now);

/* Does the vendor get a shell on the bastion (enum pv_shell)? */
bool pv_record_shell_allowed(const struct pv_record *rec);

/* "192.0.2.10:22", "[2001:db8::10]:22": the form permitopen and status use. */
void pv_target_format(const struct pv_target *t, char *buf, size_t len);

void pv_record_wipe(struct pv_record *rec);

#endif

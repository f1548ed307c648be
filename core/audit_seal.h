/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_seal.h — forward-secure sealing of the audit log: a sealing key that evolves one way
 * every epoch and forgets its past, seal lines in the chain, and their check with the
 * verification key kept off the machine (audit_seal.c; the writer's side is in audit_write.c).
 * Whoever is root at time t holds the MAC key and the epoch key of t: they can rewrite lines
 * of the current epoch and later, never a line sealed in an earlier epoch. */
#ifndef PV_AUDIT_SEAL_H
#define PV_AUDIT_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "err.h"
#include "keys.h"
#include "timeparse.h"

#define PV_AUDIT_SEAL_EPOCH_DEFAULT 900 /* s: 15 minutes */
#define PV_AUDIT_SEAL_EPOCH_MIN     10  /* s: short real epochs in tests; see the .conf man page */
#define PV_AUDIT_SEAL_EPOCH_MAX     86400 /* s: a day */
#define PV_AUDIT_SEAL_TOLERANCE     180   /* s: the expire timer's minute, late by two runs */
#define PV_AUDIT_SEAL_KEY_TEXT_MAX  128   /* the verification key as text, with its NUL */
#define PV_AUDIT_SEAL_ID_HEX        16

/* The verification key: the first epoch key, when epoch 0 began and how long an epoch is. */
struct pv_audit_seal_key {
	unsigned char k0[PV_KEY_BYTES];
	int64_t t0;
	int64_t epoch_len;
};

/* Create the sealing state "<log>.seal" (root, 0600) for epochs of epoch_len seconds from
 * `now`, and write the verification key as text ("pvseal1-<hex k0>-<t0>-<epoch_len>") into
 * key_text: it is never stored on the machine. PV_EXISTS when sealing is already set up. */
int pv_audit_seal_setup(const char *audit_log, int64_t epoch_len, int64_t now, char *key_text,
                        size_t key_text_size, struct pv_err *err);

/* Remove the sealing state just set up (its key could not be printed or audited). */
int pv_audit_seal_discard(const char *audit_log, struct pv_err *err);

/* Read a verification key given as text. PV_ERR: one sentence on what is wrong with it. */
int pv_audit_seal_key_parse(const char *text, struct pv_audit_seal_key *key, struct pv_err *err);

/* Seal the epochs that have ended (a seal line, then the key evolves), under the audit lock,
 * when sealing is set up and an epoch has turned since the last seal; nothing otherwise.
 * `otpctl expire` calls it every minute, so idle epochs are sealed too. */
int pv_audit_seal_due(const struct pv_audit_sink *sink, int64_t now, struct pv_err *err);

/* Stop sealing on purpose (otpctl audit stop-sealing), under the audit lock: the ended
 * epochs sealed as usual, then ev (an otpctl event) written as the "seal_stop" line, sealed
 * with the current epoch's key, then that key wiped in place and the state removed. The
 * verify with the key then reports the stop and does not ask for later seals; a new run
 * (pv_audit_seal_setup) has a verification key of its own. */
int pv_audit_seal_stop(const struct pv_audit_sink *sink, const struct pv_audit_event *ev,
                       int64_t now, struct pv_err *err);

/* What the seals say (pv_audit_verify_sealed). */
struct pv_audit_seal_result {
	unsigned long seals;      /* seal lines checked */
	bool sealed;              /* at least one seal */
	uint64_t sealed_through;  /* the last sealed epoch */
	int64_t sealed_until;     /* when it ended: every line before its seal is sealed */
	unsigned long open_lines; /* lines after the last seal (the epoch still open), or
	                           * after the stop: not sealed by this key */
	bool stopped;             /* a sealed stop line (otpctl audit stop-sealing) ends the run */
	uint64_t stopped_epoch;
	char stopped_at[PV_TIME_TEXT_MAX]; /* the stop line's time (RFC 3339 UTC) */
};

/* pv_audit_verify, and with the verification key every seal line (each epoch's key derived
 * from k0): the seals follow each other epoch after epoch from epoch 0, each matches the chain
 * before it, and the last one is recent (`now` minus one epoch and the tolerance). A problem
 * names the file, the line and the epoch, in res->problem. */
/* The check of seal lines with the verification key, line by line in chain order, over the
 * lines of either source: the local log (pv_audit_verify_sealed) or one host's lines of the
 * database's audit table (pv_audit_chain with its seal set, then pv_audit_seal_check_end). */
struct pv_audit_seal_check {
	const struct pv_audit_seal_key *vkey;
	char id[PV_AUDIT_SEAL_ID_HEX + 1];
	unsigned char key[PV_KEY_BYTES]; /* k_key_epoch, derived from k0 */
	uint64_t key_epoch;
	uint64_t last_epoch; /* of the last seal */
	/* The oldest "time" among the lines since the last seal (RFC 3339 UTC, which sorts as
	 * text; empty: none): a seal must not cover a line older than its first epoch. */
	char oldest[PV_TIME_TEXT_MAX];
	struct pv_audit_seal_result *out;
};

/* Start a check with the verification key; its findings go to *out. */
void pv_audit_seal_check_start(struct pv_audit_seal_check *c, const struct pv_audit_seal_key *key,
                               struct pv_audit_seal_result *out);

/* After the chain's last line, when it is intact: the staleness rule (the seals reach `now`
 * minus one epoch and the tolerance, unless sealing was stopped on purpose). A problem sets
 * res->intact false and res->problem. The derived key is wiped. */
void pv_audit_seal_check_end(struct pv_audit_seal_check *c, int64_t now,
                             struct pv_audit_verify_result *res);

/* Wipe the derived key of a check that stopped early. */
void pv_audit_seal_check_wipe(struct pv_audit_seal_check *c);

int pv_audit_verify_sealed(const char *audit_log, const struct pv_keys *keys,
                           const struct pv_audit_seal_key *key, int64_t now,
                           struct pv_audit_verify_result *res,
                           struct pv_audit_seal_result *seal_res, struct pv_err *err);

#endif

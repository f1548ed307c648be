/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_int.h — what the audit log's writer, reader and verifier share; private to core/audit_*.c
 * (the interface is audit.h): the line's layout and MAC (audit_line.c), the head file's two
 * slots (audit_head.c), and the log's directory, first line and last line (audit_read.c). */
#ifndef PV_AUDIT_INT_H
#define PV_AUDIT_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "audit_seal.h"
#include "err.h"
#include "json.h"
#include "keys.h"
#include "timeparse.h"

#define PV_AUDIT_MAC_BYTES 32
#define PV_AUDIT_MAC_HEX   (2 * PV_AUDIT_MAC_BYTES)
#define PV_AUDIT_SEQ_MAX   1000000000000000ULL /* far beyond any log; keeps seq a safe int64 */

/* A position in the chain: a line's seq and MAC, and the seq of the live file's first line
 * (0: unknown; only the head file records it). */
struct pv_audit_pos {
	uint64_t seq;
	unsigned char mac[PV_AUDIT_MAC_BYTES];
	uint64_t live_start;
};

/* --- audit_line.c: the line's layout and MAC --- */

/* The keyed MAC of a line's bytes before ,"mac":" (or of any other text under the audit key). */
void pv_audit_mac(const struct pv_keys *keys, const char *body, size_t len,
                  unsigned char mac[PV_AUDIT_MAC_BYTES]);

/* Exactly PV_AUDIT_MAC_HEX lower- or upper-case hex digits into mac; PV_ERR otherwise. */
int pv_audit_hex_to_mac(const char *hex, unsigned char mac[PV_AUDIT_MAC_BYTES]);

/* seq, prev and mac of one line, found by a full JSON parse. */
struct pv_audit_parsed {
	uint64_t seq;
	unsigned char prev[PV_AUDIT_MAC_BYTES];
	unsigned char mac[PV_AUDIT_MAC_BYTES];
};

enum pv_audit_line_status { PV_AUDIT_LINE_OK, PV_AUDIT_LINE_MALFORMED, PV_AUDIT_LINE_BAD_MAC };

/* Parse one line (no newline); check its MAC when keys is non-NULL. */
enum pv_audit_line_status pv_audit_parse_line(const char *line, size_t len,
                                              const struct pv_keys *keys,
                                              struct pv_audit_parsed *out);

/* The line of ev, following position `after`, with its MAC and a final newline, into line;
 * next is its own position (after's seq + 1, its MAC, after's live_start). PV_ERR: the line
 * is longer than the buffer allows. */
int pv_audit_format_line(const struct pv_keys *keys, const struct pv_audit_event *ev, int64_t now,
                         const struct pv_audit_pos *after, struct pv_audit_pos *next,
                         struct pv_buf *line);

/* The fast path of verification for a line laid out exactly as pv_audit_format_line writes it:
 * seq and the two MACs as text at their known places, and the MAC checked. */
struct pv_audit_fast_line {
	uint64_t seq;
	const char *prev_hex; /* PV_AUDIT_MAC_HEX characters inside the line */
	const char *mac_hex;
};

bool pv_audit_fast_check(const char *line, size_t len, const struct pv_keys *keys,
                         struct pv_audit_fast_line *out);

/* --- audit_read.c: the log's directory and files, its first and last lines --- */

/* The log's directory (held open) and the names of the files beside the log, as opened
 * relative to dirfd and as shown in messages. */
struct pv_audit_files {
	const char *log; /* the path as configured */
	int dirfd;       /* -1 when not open */
	bool dirfd_held; /* dirfd belongs to the call's held directories (safefile.h) */
	char base[NAME_MAX + 1];
	char head_name[NAME_MAX + 8];
	char lock_name[NAME_MAX + 8];
	char seal_name[NAME_MAX + 8];
	char head_shown[PATH_MAX + 8];
	char lock_shown[PATH_MAX + 8];
	char seal_shown[PATH_MAX + 8];
};

int pv_audit_files_open(const char *audit_log, struct pv_audit_files *files, struct pv_err *err);
/* The same through the call's held directories (safefile.h; NULL: none). */
int pv_audit_files_open_in(struct pv_dirs *dirs, const char *audit_log,
                           struct pv_audit_files *files, struct pv_err *err);
void pv_audit_files_close(struct pv_audit_files *files);

/* The end of the log: the last complete line's position, and whether a torn final fragment
 * (a crash mid-write, never acknowledged) follows it. */
struct pv_audit_tail {
	struct pv_audit_pos pos; /* seq and mac; live_start 0 */
	bool found;              /* a last complete line that parses */
	bool authentic;          /* ...and its MAC holds (only when read with the keys) */
	unsigned char prev[PV_AUDIT_MAC_BYTES]; /* the MAC it names as its predecessor's */
	bool torn;
	off_t size; /* the file's size as read, or after the torn fragment was cut (repair) */
};

/* Read the end of the open log fd. repair (the writer, under the lock): cut a torn fragment.
 * keys non-NULL: check the last line's MAC (tail->authentic). */
int pv_audit_read_tail(int fd, const char *shown, bool repair, const struct pv_keys *keys,
                       struct pv_audit_tail *tail, struct pv_err *err);

/* pv_audit_foreach, and *live: the live log file it read (st_ino 0 when there was none). */
struct stat;
int pv_audit_foreach_live(const char *audit_log, pv_audit_line_fn fn, void *ctx, struct stat *live,
                          struct pv_err *err);

/* The complete lines of the open plain file fd from byte `from` on, numbered after lineno. */
int pv_audit_foreach_from(int fd, off_t from, const char *shown, unsigned long lineno,
                          pv_audit_line_fn fn, void *ctx, struct pv_err *err);

/* Sequence number of the open log's first line (0 when it has none that parses). */
uint64_t pv_audit_first_seq(int fd);

/* --- audit_head.c: the head file "<log>.head" --- */

#define PV_AUDIT_HEAD_SLOT      512
#define PV_AUDIT_HEAD_FILE_SIZE (2 * PV_AUDIT_HEAD_SLOT)

struct pv_audit_head_file {
	int fd;             /* open O_RDWR for the writer, -1 when closed or absent */
	bool found;         /* a valid slot exists: head holds the newest */
	bool damaged;       /* a slot is not valid */
	bool damaged_older; /* ...and it is the one before the valid slot, not after it */
	size_t raw_len;     /* the file as read, to put it back after a failed update */
	unsigned char raw[PV_AUDIT_HEAD_FILE_SIZE];
	unsigned char written[PV_AUDIT_HEAD_FILE_SIZE]; /* the file after the last write */
	struct pv_audit_pos head;
};

/* Read the head file (absent: hf->found false). The writer keeps it open (writable). A file
 * that is not exactly two slots, or without any valid slot, is an error; one damaged slot is
 * reported in hf->damaged for the caller to judge with pv_audit_head_torn_ok. */
int pv_audit_head_read(const struct pv_audit_files *files, const struct pv_keys *keys,
                       bool writable, struct pv_audit_head_file *hf, struct pv_err *err);

/* Record `head` (the new line) durably; `before` is the chain position the line follows.
 * Returns PV_OK, PV_ERR (nothing visible changed) or PV_UNSYNCED (readers may see the new
 * head: the caller puts the old one back with pv_audit_head_restore). */
int pv_audit_head_write(struct pv_audit_head_file *hf, const struct pv_audit_files *files,
                        const struct pv_keys *keys, const struct pv_audit_pos *head,
                        const struct pv_audit_pos *before, struct pv_err *err);

/* A damaged slot is acceptable only as a crash leaves it: the torn slot is the one after the
 * valid `head`, and the log ends with the authentic line head->seq + 1 linking to head's MAC
 * (tail read with the keys). True also when nothing is damaged. */
bool pv_audit_head_torn_ok(const struct pv_audit_pos *head, bool damaged, bool damaged_older,
                           const struct pv_audit_tail *tail);

/* The one-sentence problem for a damaged slot that pv_audit_head_torn_ok refused. */
void pv_audit_head_damage_problem(const char *shown, const struct pv_audit_pos *head, char *out,
                                  size_t size);

/* The line whose head was written last is done: a failed update of the next line (a seal,
 * then the event, in one call) puts back this state, not the one read. */
void pv_audit_head_settle(struct pv_audit_head_file *hf);

/* Put back the head file as it was read (or settled), after a failed update. */
int pv_audit_head_restore(struct pv_audit_head_file *hf, const struct pv_audit_files *files);

void pv_audit_head_close(struct pv_audit_head_file *hf);

/* --- audit_seal.c: the sealing state "<log>.seal" and the check of seal lines --- */

/* The sealing state, open for the writer under the audit lock. */
struct pv_audit_seal_state {
	int fd;
	int64_t epoch_len;
	int64_t t0;
	uint64_t epoch;                  /* the epoch whose key this is */
	unsigned char key[PV_KEY_BYTES]; /* k_epoch; earlier keys are gone */
	char id[PV_AUDIT_SEAL_ID_HEX + 1];
};

#define PV_AUDIT_SEAL_MAX_EVOLVE                                                                   \
	UINT64_C(100000000) /* 31 years of 10 s epochs: a clock gone wild */

/* The one-way step k_{e+1} = BLAKE2b(k_e) under its own domain, in place. */
void pv_audit_seal_evolve_once(unsigned char key[PV_KEY_BYTES]);
/* Which sealing key: a hash of k0, public (nothing about any key can be learnt from it). */
void pv_audit_seal_id(const unsigned char k0[PV_KEY_BYTES], char id[PV_AUDIT_SEAL_ID_HEX + 1]);
/* The seal (stop: of a stop line) of epochs first..through after the line whose MAC is prev. */
void pv_audit_seal_mac(const unsigned char key[PV_KEY_BYTES], bool stop, const char *id,
                       uint64_t first, uint64_t through,
                       const unsigned char prev[PV_AUDIT_MAC_BYTES],
                       unsigned char out[PV_AUDIT_MAC_BYTES]);

/* Open and read the state (PV_NOTFOUND: sealing is not set up). */
int pv_audit_seal_state_open(const struct pv_audit_files *files, struct pv_audit_seal_state *st,
                             struct pv_err *err);
void pv_audit_seal_state_close(struct pv_audit_seal_state *st);

/* The epoch `now` lies in (0 before t0). */
uint64_t pv_audit_seal_epoch_at(int64_t t0, int64_t epoch_len, int64_t now);

/* The seal event for epochs st->epoch..through, after the line whose MAC is prev; seal_hex
 * holds the seal the event points to. */
void pv_audit_seal_event(const struct pv_audit_seal_state *st, uint64_t through,
                         const unsigned char prev[PV_AUDIT_MAC_BYTES],
                         char seal_hex[PV_AUDIT_MAC_HEX + 1], struct pv_audit_event *ev);

/* Can the key evolve from its epoch to `to` (not back, not beyond the bound that tells a
 * clock gone wild)? Checked before anything is written. */
int pv_audit_seal_state_reachable(const struct pv_audit_seal_state *st, uint64_t to,
                                  const char *shown, struct pv_err *err);

/* The stop of sealing: ev (an otpctl event) becomes the "seal_stop" line of the key's epoch,
 * sealed under that epoch's key after the line whose MAC is prev. */
void pv_audit_seal_stop_event(const struct pv_audit_seal_state *st,
                              const unsigned char prev[PV_AUDIT_MAC_BYTES],
                              char seal_hex[PV_AUDIT_MAC_HEX + 1], struct pv_audit_event *ev);

/* Overwrite the state in place (durably), close it and remove the file. */
int pv_audit_seal_state_remove(struct pv_audit_seal_state *st, const struct pv_audit_files *files,
                               struct pv_err *err);

/* Evolve the key to epoch `to` and overwrite the state in place, durably: the old key is gone
 * from the file and from memory. */
int pv_audit_seal_state_evolve(struct pv_audit_seal_state *st, uint64_t to, const char *shown,
                               struct pv_err *err);

void pv_audit_seal_check_reset(struct pv_audit_seal_check *c);

/* One line (its chain link already checked): non-zero at a problem (in res->problem). */
int pv_audit_seal_check_line(struct pv_audit_seal_check *c, const char *line, size_t len,
                             const char *file, unsigned long lineno,
                             struct pv_audit_verify_result *res);

/* pv_audit_verify with the seal check (NULL: none). */
int pv_audit_verify_with(const char *audit_log, const struct pv_keys *keys,
                         struct pv_audit_seal_check *seal, struct pv_audit_verify_result *res,
                         struct pv_err *err);

#endif

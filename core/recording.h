/* SPDX-License-Identifier: BSD-3-Clause */
/* recording.h — vendor terminal sessions recorded by util-linux script(1), started by the
 * set-uid recorder pv-record (the vendors' login shell): the files of one session, ID being
 * the session's ID, in recording_dir (root, 0700):
 *   ID.new     made by the module at session open, with room reserved; pv-record claims it
 *              (renames it to ID.room, kept while the session runs) so that one session
 *              starts one recording, never two
 *   ID.timing  script's multi-stream timing log (I/O chunks, window size, header)
 *   ID.in      every byte the vendor typed;  ID.out  every byte the vendor saw
 * The digest is BLAKE2b-256 over the three files in that order, each preceded by its size
 * (8 bytes, little-endian), so that bytes moved from one file to another change it. */
#ifndef PV_RECORDING_H
#define PV_RECORDING_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

#define PV_SCRIPT_PATH     "/usr/bin/script"
#define PV_SCRIPTREPLAY    "/usr/bin/scriptreplay"
#define PV_RECORDING_B2B   32                         /* digest bytes */
#define PV_RECORDING_HEX   (2 * PV_RECORDING_B2B + 1) /* digest as hex, with its NUL */
#define PV_RECORDING_PARTS 3

/* The suffixes of a recording's files, in digest order: ".timing", ".in", ".out". */
extern const char *const pv_recording_parts[PV_RECORDING_PARTS];

/* Is id a session ID (32 lower-case hex digits)? */
bool pv_recording_id_valid(const char *id);

/* Before a vendor session starts (the module, as root): the recorder installed as it must
 * be (root-owned, set-uid, executable) and script(1) present, recording_dir usable (created
 * 0700 when absent), at least recording_min_free MiB free, and ID.new created and written.
 * PV_ERR with a sentence naming what is wrong: the session must then be refused. */
int pv_recording_prepare(const struct pv_config *cfg, const char *id, struct pv_err *err);

/* Is the recorder installed as it must be? PV_ERR naming what is wrong otherwise. */
int pv_recording_check_recorder(const char *recorder, struct pv_err *err);

/* pv-record, as root: rename ID.new to ID.room (the reserved room, kept while the session
 * runs) and create ID.timing, empty. PV_NOTFOUND when there is no ID.new to
 * claim (already claimed, or never prepared). dirfd: recording_dir, opened checked. */
int pv_recording_claim(int dirfd, const char *id, struct pv_err *err);

/* pv-record: remove ID.room (when the directory fills, and when the session ends). */
void pv_recording_release_room(int dirfd, const char *id);

/* Is the directory dirfd below the hard floor, half of min_free_mib MiB free (or unreadable)?
 * pv-record then ends the session: it can no longer be recorded. */
bool pv_recording_below_floor(int dirfd, unsigned min_free_mib);

/* pv-record, after the claim: a descriptor of ID.timing holding an exclusive flock, without
 * O_CLOEXEC, so that script(1) holds it until it has written its last byte and exited (its
 * child, the vendor's shell, must not inherit it). -1 with err set. */
int pv_recording_hold(int dirfd, const char *id, struct pv_err *err);

/* At session close: wait (at most timeout_s) until the recorder of id has let go of its
 * recording (pv_recording_hold), so that the digest covers the finished recording. PV_OK,
 * PV_NOTFOUND (no timing file), PV_ERR (err says why, a timeout included). */
int pv_recording_wait_finished(const char *recording_dir, const char *id, int timeout_s,
                               struct pv_err *err);

/* The size (sum of the three files) and digest of a recording. PV_NOTFOUND when none of its
 * files exists; a recording with only some of them is PV_ERR naming the one missing. */
int pv_recording_digest(const char *recording_dir, const char *id, int64_t *bytes,
                        char hex[PV_RECORDING_HEX], struct pv_err *err);

/* A recording that can be played: its three files there, every timing line well formed and
 * naming no more bytes than its files hold. PV_NOTFOUND (err says so) when it is not there. */
int pv_recording_check(const char *recording_dir, const char *id, struct pv_err *err);

/* Where a live session's recording stands: none (not recorded, or recording_dir unusable),
 * made ready but not started by pv-record yet, or being written. */
enum pv_recording_state { PV_RECORDING_NONE, PV_RECORDING_READY, PV_RECORDING_ON };
enum pv_recording_state pv_recording_state(const char *recording_dir, const char *id);

/* At session close: remove ID.new when it was never claimed (a session that ran no shell),
 * and ID.room. */
void pv_recording_forget_unclaimed(const char *recording_dir, const char *id);

/* Remove the files of the recordings in recording_dir whose timing file was last changed
 * before `before`, except those of the sessions live_ids (n_live of them). *removed: how many
 * recordings went. Strays as old, of no live session, go too: ID.new and ID.room left by a
 * session whose close never ran, and .in/.out files without their ID.timing. */
int pv_recording_prune(const char *recording_dir, int64_t before, char *const *live_ids,
                       size_t n_live, unsigned *removed, struct pv_err *err);

#endif

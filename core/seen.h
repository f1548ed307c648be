/* SPDX-License-Identifier: BSD-3-Clause */
/* seen.h — what this gateway remembers against a rolled-back record: the highest record
 * serial (record.h) it has seen per vendor, one root-owned file "<name>.serial" in the
 * directory "serials" of store_dir (0700 root, created by `otpctl init`). Local on purpose:
 * whoever can write the store (a database role with UPDATE) cannot reach it. A missing
 * directory is an error (it was removed: re-accepting every old row would be silent); a missing
 * file is a vendor this gateway has not seen yet. store.c is the only caller. */
#ifndef PV_SEEN_H
#define PV_SEEN_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define PV_SEEN_DIR "serials"

/* dirs: the call's held directories (safefile.h), or NULL. */
struct pv_dirs;

/* Create store_dir/serials (0700) if missing. */
int pv_seen_create_dir(const char *store_dir, struct pv_err *err);

/* The serial remembered for name: PV_OK, PV_NOTFOUND (never seen here), or PV_ERR (the
 * directory is missing or unsafe, the file is unsafe or not a serial). */
int pv_seen_get(struct pv_dirs *dirs, const char *store_dir, const char *name, uint64_t *serial,
                struct pv_err *err);

/* A record of name with this serial was read: PV_OK when it is not below the remembered one,
 * after raising the remembered one durably when it is above (or recording it at first sight).
 * PV_ERR otherwise; when the reason is an older record, err names the vendor and both serials
 * and *above is the remembered serial (else 0), so that a caller who read without the lock can
 * tell a save racing its read (a new read reaches *above) from a record put back. */
int pv_seen_accept(struct pv_dirs *dirs, const char *store_dir, const char *name, uint64_t serial,
                   int lock_timeout, uint64_t *above, struct pv_err *err);

/* The same for a record this gateway has just stored with this serial: straight to the locked
 * re-read and raise (the unlocked read pv_seen_accept starts with would only find it lower). */
int pv_seen_raise(struct pv_dirs *dirs, const char *store_dir, const char *name, uint64_t serial,
                  int lock_timeout, uint64_t *above, struct pv_err *err);

/* Forget name's serial (`otpctl vendor remove`); PV_OK when there was none. */
int pv_seen_forget(struct pv_dirs *dirs, const char *store_dir, const char *name,
                   struct pv_err *err);

#endif

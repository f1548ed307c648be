/* SPDX-License-Identifier: BSD-3-Clause */
/* keysview.h — the keys view: what the AuthorizedKeysCommand (pam_vendor-keys) needs to answer
 * sshd, written by otpctl (root) from the sealed store after every change, read by an
 * unprivileged user. It holds no secret: per vendor, the record's public part (addresses as
 * they apply, window, business hours, lock, keys, targets, shell) in the record's own text
 * format, so one parser checks both. */
#ifndef PV_KEYSVIEW_H
#define PV_KEYSVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "json.h"
#include "record.h"

#define PV_VIEW_MAGIC       "pam_vendor-keys-view 1"
#define PV_VIEW_MAX_VENDORS 1024
/* A vendor's public part encodes to under 20 KiB (8 RSA-8192 keys, 64 addresses, 16 targets,
 * no code): the bound of one read of the view by the command. */
#define PV_VIEW_ENTRY_MAX 20480
#define PV_VIEW_MAX       ((size_t)PV_VIEW_MAX_VENDORS * PV_VIEW_ENTRY_MAX)

/* The view's copy of a record: everything the command uses, nothing else (no code hash, no
 * TOTP secret, no note, no failures, no last login). */
void pv_view_redact(const struct pv_record *rec, struct pv_record *out);

/* The view text of n records (their public part): header, each record's text, trailer.
 * Fails (err) when a record cannot be encoded or the text would exceed PV_VIEW_MAX. */
int pv_view_encode(const struct pv_record *recs, size_t n, struct pv_buf *out, struct pv_err *err);

/* Find vendor `name` in view text: PV_OK with *rec, PV_NOTFOUND, or PV_ERR when the view
 * (any part of it, not only that vendor's) is malformed. */
int pv_view_find(const char *text, size_t len, const char *name, struct pv_record *rec,
                 struct pv_err *err);

/* The authorized_keys lines for rec at `now` (local weekday wday, minute of the day, as
 * pv_local_wday_minute gives them; -1 unknown): nothing unless the window is open, the vendor
 * is not locked and now is inside its business hours; else one line per key:
 *   restrict,pty|command="...",[port-forwarding,permitopen="H:P",...,]from="CIDR,..." KEY
 * Pure: the caller prints out. */
void pv_view_authorized_keys(const struct pv_record *rec, int64_t now, int wday, int minute,
                             struct pv_buf *out);

/* The command a vendor without a shell is given (a key's command="..."): it refuses. */
#define PV_VIEW_NO_SHELL_COMMAND                                                                   \
	"echo 'pam_vendor: no shell for this vendor, only forwarding' >&2; exit 1"

#endif

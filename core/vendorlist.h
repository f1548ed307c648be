/* SPDX-License-Identifier: BSD-3-Clause */
/* vendorlist.h — the local list of registered vendor names, a root-owned file in store_dir:
 * how the module knows a registered vendor without asking the database (store_backend =
 * postgresql), so that a vendor removed from vendor_group is still denied and non-vendors
 * never wait on the database. otpctl writes it (vendor add/remove) and refreshes it from the
 * store (init, expire). One valid vendor name per line. */
#ifndef PV_VENDORLIST_H
#define PV_VENDORLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "vendorname.h"

/* The file's name inside store_dir; neither a record ("NAME.rec") nor a lock ("NAME.lock"). */
#define PV_VENDOR_LIST      "vendors.list"
#define PV_VENDOR_LIST_LOCK "vendors.list.lck"
#define PV_VENDOR_LIST_MAX  100000

/* Read the list in dir (store_dir; its path is checked like the store's, the file must be
 * root-owned with no group/other bits). *names is one malloc'd array (free it). PV_NOTFOUND
 * when the file does not exist; PV_ERR when it is unsafe, unreadable or has a line that is
 * not a vendor name (err names the file and line). */
int pv_vendorlist_read(const char *dir, char (**names)[PV_NAME_MAX + 1], size_t *n,
                       struct pv_err *err);

/* Is name on the list? A missing list is PV_ERR: nobody could then tell a registered vendor
 * from a stranger. */
int pv_vendorlist_has(const char *dir, const char *name, bool *listed, struct pv_err *err);

/* Replace the list with names (each must be valid), durably, under the list's lock (waiting
 * at most lock_timeout seconds). */
int pv_vendorlist_write(const char *dir, char (*names)[PV_NAME_MAX + 1], size_t n, int lock_timeout,
                        struct pv_err *err);

/* Add name to the list (listed) or drop it, under the lock; a missing list is created. */
int pv_vendorlist_set(const char *dir, const char *name, bool listed, int lock_timeout,
                      struct pv_err *err);

#endif

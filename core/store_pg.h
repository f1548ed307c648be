/* SPDX-License-Identifier: BSD-3-Clause */
/* store_pg.h — the schema of the PostgreSQL store, for `otpctl db init|upgrade`. The backend
 * itself (store_pg.c) is reached through store.h only, when store_backend = postgresql.
 * The database holds sealed records (the same bytes as the file store's .rec files), a
 * version counter and the vendor name only: never a code, a TOTP secret or the key. */
#ifndef PV_STORE_PG_H
#define PV_STORE_PG_H

#include <stdbool.h>

#include "config.h"
#include "err.h"

#define PV_PG_SCHEMA_VERSION 2

/* otpctl db init / db upgrade: create the tables (init: refused with PV_EXISTS when they
 * exist), or bring an older schema to PV_PG_SCHEMA_VERSION. *version: the schema version
 * found before. */
int pv_pg_schema_install(const struct pv_config *cfg, bool upgrade, int *version,
                         struct pv_err *err);

#endif

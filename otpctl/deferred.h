/* SPDX-License-Identifier: BSD-3-Clause */
/* deferred.h — what lets a local account have work run outside its vendor's windows: leave to
 * use crontab(1) and at(1) as Debian 12's cron and at grant it, a crontab or an at job that
 * already exists, and systemd's linger. Shared by `otpctl vendor add` (warnings) and
 * `otpctl doctor` (findings); it only reads. */
#ifndef OTPCTL_DEFERRED_H
#define OTPCTL_DEFERRED_H

#include <stddef.h>

#include "err.h"

/* Where to look. dfr_debian_paths holds the real system's; others are for alternate roots and
 * for the tests (otpctl doctor --etc-dir, --spool-dir, --linger-dir). */
struct dfr_paths {
	const char *etc_dir;    /* cron.allow, cron.deny, at.allow, at.deny: /etc */
	const char *spool_dir;  /* crontabs/NAME and atjobs/: /var/spool/cron */
	const char *linger_dir; /* one file per lingering user: /var/lib/systemd/linger */
};
extern const struct dfr_paths dfr_debian_paths;

enum dfr_kind {
	DFR_CRON_ALLOWED = 0, /* crontab(1) would install a crontab for it */
	DFR_AT_ALLOWED = 1,   /* at(1) would queue a job for it */
	DFR_CRONTAB = 2,      /* it has a crontab */
	DFR_AT_JOBS = 3,      /* at jobs owned by its uid are queued */
	DFR_LINGER = 4,       /* linger is on: its systemd user manager (timers) runs from boot */
	DFR_NKINDS = 5,
};
#define DFR_ALL_KINDS ((1u << DFR_NKINDS) - 1)

/* One way the account can have work run later: one sentence, and the exact fix (a command). */
struct dfr_way {
	enum dfr_kind kind;
	char what[1536];
	char fix[1024];
};

/* The ways of the kinds in `kinds` (a mask of 1u << kind) that account `name` has, at most
 * one per kind. A name with no account yet can have no job, but the allow/deny files and the
 * linger file are looked at by name. PV_OK, or PV_ERR when something cannot be read (err);
 * the ways found before it are kept in ways[0..*n). */
int dfr_find(const struct dfr_paths *paths, const char *name, unsigned kinds,
             struct dfr_way ways[DFR_NKINDS], size_t *n, struct pv_err *err);

/* "cron_allowed", "at_allowed", "crontab", "at_job", "linger": the last part of the doctor's
 * finding ids (vendor.NAME.KIND). */
const char *dfr_kind_name(enum dfr_kind kind);

#endif

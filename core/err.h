/* SPDX-License-Identifier: BSD-3-Clause */
/* err.h — the error every core call fills in on failure: one sentence for a human.
 * Callers choose the audit reason; the sentence never contains a secret. */
#ifndef PV_ERR_H
#define PV_ERR_H

#include <stddef.h>

/* Return codes shared by the core. */
enum {
	PV_OK = 0,
	PV_ERR = -1,      /* failure; err says why */
	PV_NOTFOUND = -2, /* the named thing does not exist (not an error by itself) */
	PV_EXISTS = -3,   /* refused: it already exists */
	PV_UNSYNCED = -4, /* failed after the change became visible (rename done, sync failed) */
};

struct pv_err {
	char msg[512];
};

void pv_err_set(struct pv_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like pv_err_set, appending ": strerror(errnum)". */
void pv_err_errno(struct pv_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pv_err_clear(struct pv_err *err);

/* Untrusted text quoted in an error or a log line: at most PV_SHOWN_MAX bytes, control and
 * non-ASCII bytes replaced by '?', so that it can neither forge a line nor grow without bound. */
#define PV_SHOWN_MAX 64
void pv_err_shown(const char *text, char out[PV_SHOWN_MAX + 1]);

#endif

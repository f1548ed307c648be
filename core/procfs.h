/* SPDX-License-Identifier: BSD-3-Clause */
/* procfs.h — what otpctl reads from /proc about one process to end a vendor's processes and to
 * find its terminals: uids, parent and state (/proc/PID/status), the controlling terminal
 * (/proc/PID/stat) and pseudo-terminal paths (/proc/PID/fd/N). The parsers are pure. */
#ifndef PV_PROCFS_H
#define PV_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PV_PTS_MAJOR 136     /* UNIX98 pty slaves: /dev/pts/N is (136, N) */
#define PV_PTS_MAX   1048575 /* devpts numbers fit in the 20-bit minor */

struct pv_proc_status {
	char state;      /* 'R', 'S', 'D', 'T', 'Z' (zombie), 'X' (dead), ... */
	long ppid;       /* 0 for the kernel's own first processes */
	uint32_t uid[4]; /* real, effective, saved set-user-ID, filesystem */
};

/* Parse the text of /proc/PID/status (only complete lines are read; State, PPid and Uid must
 * be there, each once). PV_ERR when one is missing or malformed. */
int pv_proc_parse_status(const char *text, struct pv_proc_status *st);

/* Read /proc/PID/status. PV_NOTFOUND when the process is gone (or exits while it is read). */
int pv_proc_read_status(long pid, struct pv_proc_status *st, struct pv_err *err);

/* Does the process run under uid by any of its four uids? A zombie runs nothing: false. */
bool pv_proc_runs_as(const struct pv_proc_status *st, uint32_t uid);

/* The controlling terminal's devpts number from the text of /proc/PID/stat (field 7,
 * tty_nr); -1 when the process has none or it is not a /dev/pts terminal. */
long pv_proc_parse_stat_pts(const char *text);

/* The process's start time (field 22, clock ticks after boot) from the text of
 * /proc/PID/stat: with the PID, what names one process for its whole life. PV_ERR when the
 * text is malformed. */
int pv_proc_parse_stat_start(const char *text, uint64_t *start);

/* "/dev/pts/N" (as readlink shows a descriptor) -> N; -1 for anything else. */
long pv_pts_number(const char *path);

#endif

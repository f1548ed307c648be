/* SPDX-License-Identifier: BSD-3-Clause */
/* lockwait.h — wait a bounded time for an exclusive flock (used by safefile.c). */
#ifndef PV_LOCKWAIT_H
#define PV_LOCKWAIT_H

#include "err.h"

/* Take an exclusive flock on fd, waiting at most timeout_s seconds (CLOCK_MONOTONIC) while
 * someone else holds it: tries again after pauses growing from 20 us to 1 ms. No signal,
 * timer or handler of the process is used or changed. PV_OK when locked; PV_ERR with err
 * naming `display` (a timeout says so). */
int pv_lock_wait(int fd, int timeout_s, const char *display, struct pv_err *err);

#endif

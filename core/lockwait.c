/* SPDX-License-Identifier: BSD-3-Clause */
/* lockwait.c — the bounded wait for a busy flock (the store's per-vendor locks, the audit
 * lock, the serials' locks, a recording's lock): short pauses between tries, never longer
 * than PAUSE_MAX_US, so a release is seen within a millisecond. */
#include "lockwait.h"

#include <errno.h>
#include <stdint.h>
#include <sys/file.h>
#include <time.h>

#define PAUSE_MIN_US 20
/* The wait's latency floor: a release is seen at most this long after it happens. A login
 * holds a lock for well under a millisecond on tmpfs and for about two device syncs on a
 * disk, so a waiter pays at most about one hold time more than a blocking flock would. */
#define PAUSE_MAX_US 1000

/* Microseconds of CLOCK_MONOTONIC (never stepped; faketime's fixed offsets cancel out), or
 * -1 when there is no clock. */
static int64_t monotonic_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleep min(*pause_us, left_us), then double *pause_us up to PAUSE_MAX_US. Returns the pause
 * asked for: the caller's second bound, counted without the clock, for a monotonic clock
 * that does not move (libfaketime with a fixed time stops it). */
static int64_t pause_once(int64_t left_us, int64_t *pause_us)
{
	int64_t us = left_us < *pause_us ? left_us : *pause_us;
	struct timespec ts = {0, (long)(us * 1000)};

	(void)nanosleep(&ts, NULL); /* EINTR: a shorter pause, then the next try */
	*pause_us = *pause_us * 2 > PAUSE_MAX_US ? PAUSE_MAX_US : *pause_us * 2;
	return us;
}

int pv_lock_wait(int fd, int timeout_s, const char *display, struct pv_err *err)
{
	const int64_t limit_us = (int64_t)timeout_s * 1000000;
	int64_t pause_us = PAUSE_MIN_US;
	int64_t paused_us = 0;
	int64_t start_us = monotonic_us();

	/* No signal, timer or handler: this runs inside sshd and OpenVPN, whose signal
	 * dispositions are theirs (a blocking flock could only be bounded by a signal). No
	 * inotify either: closing an inotify instance that held a watch waits for an SRCU grace
	 * period in the kernel (10-16 ms measured here), paid while the lock is held. A lock
	 * held forever by someone else (a stopped process) ends in a denial after timeout_s. */
	for (;;) {
		int64_t now_us, left_us;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return PV_OK;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			pv_err_errno(err, errno, "cannot lock %s", display);
			return PV_ERR;
		}
		now_us = monotonic_us();
		left_us = start_us < 0 || now_us < 0 /* no clock: give up now (fail closed) */
		              ? 0
		              : limit_us - (now_us - start_us);
		if (limit_us - paused_us < left_us)
			left_us = limit_us - paused_us;
		if (left_us <= 0) {
			pv_err_set(err, "timed out after %d s waiting for the lock on %s",
			           timeout_s, display);
			return PV_ERR;
		}
		paused_us += pause_once(left_us, &pause_us);
	}
}

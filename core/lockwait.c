/* SPDX-License-Identifier: BSD-3-Clause */
/* lockwait.c — the bounded wait for a busy flock (the store's per-vendor locks, the audit
 * lock, the serials' locks): woken by the holder's release, not by a polling period. */
#include "lockwait.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

/* Microseconds of CLOCK_MONOTONIC (never stepped; faketime's fixed offsets cancel out), or
 * -1 when there is no clock. */
static int64_t monotonic_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* An inotify descriptor that wakes when any descriptor of the lock file is closed (a holder
 * releases its flock by closing it, or by exiting), or -1 when inotify is not available (no
 * /proc, the per-user limit of instances reached): the wait then polls with pauses instead. */
static int lock_release_watch(int fd)
{
	char self[64];
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (in < 0)
		return -1;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (inotify_add_watch(in, self, IN_CLOSE_WRITE | IN_CLOSE_NOWRITE) < 0) {
		close(in);
		return -1;
	}
	return in;
}

/* Wait up to wait_us for a release: for an event on `in`, else (in < 0) a pause that grows
 * from 50 us to 10 ms (*pause_us). A release without a close (LOCK_UN) is seen at the latest
 * after 100 ms: the caller tries again after every wait. Returns how long it waited when
 * that is known without a clock (a poll that ran out, a pause), else 0 (woken by an event):
 * the caller's second bound, for a monotonic clock that does not move (libfaketime with a
 * fixed time stops it). A poll that fails for another reason than a signal turns the watch
 * off (*in = -1): pauses from then on, never a busy loop. */
static int64_t wait_for_release(int *in, int64_t wait_us, long *pause_us)
{
	if (*in >= 0) {
		struct pollfd p = {.fd = *in, .events = POLLIN};
		char buf[1024];
		int64_t us = wait_us > 100000 ? 100000 : wait_us;
		int r = poll(&p, 1, (int)((us + 999) / 1000));

		if (r > 0) {
			while (read(*in, buf, sizeof(buf)) > 0)
				; /* drain: any close is a reason to try again */
			return 0;
		}
		if (r == 0)
			return us;
		if (errno == EINTR)
			return 0;
		close(*in);
		*in = -1;
	}
	{
		long us = wait_us < *pause_us ? (long)wait_us : *pause_us;
		struct timespec pause = {0, us * 1000};

		nanosleep(&pause, NULL);
		*pause_us = *pause_us * 2 > 10000 ? 10000 : *pause_us * 2;
		return us;
	}
}

int pv_lock_wait(int fd, int timeout_s, const char *display, struct pv_err *err)
{
	long pause_us = 50;
	int64_t waited_us = 0; /* counted without the clock: see wait_for_release */
	int64_t start_us;
	int rc = PV_ERR;
	int in;

	/* Bounded wait without a polling floor and without signals (this runs inside sshd: no
	 * handler or timer of the host's is touched): the watch is set before the next try, so
	 * a release between that try and the wait still wakes it. A lock held forever by
	 * someone else (a stopped process) ends in a denial after timeout_s, not a hang. */
	start_us = monotonic_us();
	in = lock_release_watch(fd);
	for (;;) {
		int64_t left_us, now_us;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			pv_err_errno(err, errno, "cannot lock %s", display);
			goto out;
		}
		now_us = monotonic_us();
		left_us = start_us < 0 || now_us < 0 /* no clock: give up now (fail closed) */
		              ? 0
		              : (int64_t)timeout_s * 1000000 - (now_us - start_us);
		if ((int64_t)timeout_s * 1000000 - waited_us < left_us)
			left_us = (int64_t)timeout_s * 1000000 - waited_us;
		if (left_us <= 0) {
			pv_err_set(err, "timed out after %d s waiting for the lock on %s",
			           timeout_s, display);
			goto out;
		}
		waited_us += wait_for_release(&in, left_us, &pause_us);
	}
	rc = PV_OK;
out:
	if (in >= 0)
		close(in);
	return rc;
}

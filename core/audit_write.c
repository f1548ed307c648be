/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_write.c — appending one line to the chained audit log (audit.h): under the lock, find
 * where the chain stands (head file and log's end), write the line durably, then its head (a
 * failure takes the line back, so the caller can deny: "no log, no login"); then, the lock
 * released, its copy to the database, whose failure is recorded by a line of its own. */
#include "audit_int.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "audit_seal.h"
#include "log.h"
#include "safefile.h"

/* A line written under the lock, to be sent to syslog and copied once it is released. One
 * call writes at most a seal line and its event's line. */
#define PV_AUDIT_WRITTEN_MAX 2
struct pv_written {
	uint64_t seq;
	struct pv_buf line;
};

/* One append under way: what it holds open and where in the chain the line goes. */
struct append {
	const struct pv_audit_sink *sink;
	struct pv_audit_files files;
	struct pv_audit_head_file hf;
	int lockfd;
	int fd;                     /* the live log, O_APPEND */
	off_t size;                 /* the log's size before the line: take_back cuts to it */
	struct pv_audit_pos before; /* the position the line follows */
	struct pv_audit_pos head;   /* the line's own position */
	struct pv_buf line;
	struct pv_written *done; /* the lines written so far, kept for their copies */
	int n_done;
};

/* Open the live log for appending (created 0600 when absent), through the checked path. */
static int open_log_for_append(int dirfd, const char *base, const char *audit_log,
                               struct pv_err *err)
{
	bool missing = false;
	int fd;

	fd = pv_open_file_at(dirfd, base, O_RDWR | O_APPEND, PV_FILE_PRIVATE, audit_log, &missing,
	                     err);
	if (fd >= 0 || !missing)
		return fd;
	fd = openat(dirfd, base,
	            O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		if (errno == ELOOP)
			pv_err_set(err, "audit log %s is a symbolic link; refusing to follow it",
			           audit_log);
		else
			pv_err_errno(err, errno, "cannot create audit log %s", audit_log);
		return -1;
	}
	close(fd);
	/* Re-open through the checked path: regular file, root-owned, mode 0600. */
	return pv_open_file_at(dirfd, base, O_RDWR | O_APPEND, PV_FILE_PRIVATE, audit_log, NULL,
	                       err);
}

/* The directory, the lock (held until the end), the log. */
static int lock_and_open(struct append *a, struct pv_err *err)
{
	const struct pv_audit_files *files = &a->files;

	if (pv_audit_files_open_in(a->sink->dirs, a->sink->log, &a->files, err) != PV_OK)
		return PV_ERR;
	a->lockfd = pv_lock_file_at(files->dirfd, files->lock_name, a->sink->lock_timeout,
	                            files->lock_shown, err);
	if (a->lockfd < 0)
		return PV_ERR;
	a->fd = open_log_for_append(files->dirfd, files->base, files->log, err);
	return a->fd >= 0 ? PV_OK : PV_ERR;
}

/* States no crash leaves: the admin decides, appends are refused until then. */
static int refuse_tampered(const struct append *a, const struct pv_audit_tail *tail,
                           struct pv_err *err)
{
	/* Never re-anchor silently: a log with lines but no head was tampered with (or lost its
	 * head in a crash before the very first head was written). */
	if (!a->hf.found && a->size > 0) {
		pv_err_set(err,
		           "audit head %s is missing while %s has lines; run otpctl audit verify, "
		           "then move the log aside to start a new chain (see the admin guide)",
		           a->files.head_shown, a->files.log);
		return PV_ERR;
	}
	/* A damaged slot is accepted only in the state a crash leaves (audit_head.c); any other
	 * (the log cut back to the other slot's line, a copied slot) is refused until the admin
	 * has looked. */
	if (!pv_audit_head_torn_ok(&a->hf.head, a->hf.damaged, a->hf.damaged_older, tail)) {
		char problem[512];

		pv_audit_head_damage_problem(a->files.head_shown, &a->hf.head, problem,
		                             sizeof(problem));
		pv_err_set(err, "%s; run otpctl audit verify", problem);
		return PV_ERR;
	}
	return PV_OK;
}

/* Where the chain stands: the head file, the log's end (a torn fragment cut), the later of
 * the two. */
static int find_position(struct append *a, struct pv_err *err)
{
	struct pv_audit_tail tail;

	/* Under the lock no other writer moves the end: the size the tail was read at (less a
	 * torn fragment just cut) is where this call's line starts. */
	if (pv_audit_head_read(&a->files, a->sink->keys, true, &a->hf, err) != PV_OK ||
	    pv_audit_read_tail(a->fd, a->files.log, true, a->sink->keys, &tail, err) != PV_OK)
		return PV_ERR;
	a->size = tail.size;
	if (refuse_tampered(a, &tail, err) != PV_OK)
		return PV_ERR;
	a->before = a->hf.head;
	/* The log is ahead of the head after a crash between the two writes: follow the log.
	 * A log behind the head (cut tail, or a fresh file after rotation) continues from the
	 * head, so a cut shows as a gap when verified. */
	if (tail.found && tail.pos.seq > a->before.seq) {
		/* The crash may have hit the first line of a fresh file: ask the file itself. */
		tail.pos.live_start = pv_audit_first_seq(a->fd);
		a->before = tail.pos;
	}
	/* Remember where this file starts, so that verify notices lines cut from its start. */
	if (a->size == 0)
		a->before.live_start = a->before.seq + 1;
	return PV_OK;
}

/* The append failed (disk full, I/O error): remove what this call wrote, so the log never
 * shows a decision the caller is about to reverse ("no log, no login" both ways). Cutting a
 * file needs no free space; should it fail anyway, the next append cuts a torn fragment and
 * verification flags a complete line the head does not cover. */
static void take_back(const struct append *a)
{
	if (ftruncate(a->fd, a->size) == 0)
		(void)fdatasync(a->fd);
}

static int write_line(const struct append *a, struct pv_err *err)
{
	ssize_t n = write(a->fd, a->line.data, a->line.len);

	/* O_APPEND + one write: a short write (disk full) leaves a torn line that the next
	 * append cuts; the caller denies either way. */
	if (n != (ssize_t)a->line.len) {
		pv_err_errno(err, n < 0 ? errno : ENOSPC, "cannot write to %s", a->files.log);
		take_back(a);
		return PV_ERR;
	}
	if (fdatasync(a->fd) != 0) {
		pv_err_errno(err, errno, "cannot sync %s", a->files.log);
		take_back(a);
		return PV_ERR;
	}
	return PV_OK;
}

static int write_head(struct append *a, struct pv_err *err)
{
	int r = pv_audit_head_write(&a->hf, &a->files, a->sink->keys, &a->head, &a->before, err);

	if (r == PV_OK)
		return PV_OK;
	/* The caller denies: take the line back. If the new head may be visible, put the
	 * previous one back first; should that fail too, keep the line, since a head naming a
	 * missing line would read as tampering. */
	if (r != PV_UNSYNCED || pv_audit_head_restore(&a->hf, &a->files) == PV_OK)
		take_back(a);
	return PV_ERR;
}

/* One line after a->before: the line and its head, durable. Once done, the line is kept in
 * a->done (copied to the database and syslog after the lock is released), and a->before and
 * a->size move past it: a later failure of the same call no longer takes it back. */
static int append_line(struct append *a, const struct pv_audit_event *ev, int64_t now,
                       struct pv_err *err)
{
	struct pv_written *w;

	if (a->n_done >= PV_AUDIT_WRITTEN_MAX) {
		pv_err_set(err, "too many audit lines in one call");
		return PV_ERR;
	}
	w = &a->done[a->n_done];
	pv_buf_free(&a->line);
	pv_buf_init(&a->line, PV_AUDIT_LINE_MAX);
	if (pv_audit_format_line(a->sink->keys, ev, now, &a->before, &a->head, &a->line) != PV_OK) {
		pv_err_set(err, "audit line too long");
		return PV_ERR;
	}
	if (write_line(a, err) != PV_OK || write_head(a, err) != PV_OK)
		return PV_ERR;
	a->line.data[a->line.len - 1] = '\0'; /* the copies carry the line without its newline */
	pv_audit_head_settle(&a->hf);
	a->size += (off_t)a->line.len;
	a->before = a->head;
	w->seq = a->head.seq;
	w->line = a->line; /* pv_audit_append frees it */
	pv_buf_init(&a->line, PV_AUDIT_LINE_MAX);
	a->n_done++;
	return PV_OK;
}

/* Before the next line, seal the epochs that have ended since the sealing state's epoch
 * (audit_seal.c): the seal line first, then the key evolves. No state: sealing is not set up. */
static int seal_if_due(struct append *a, int64_t now, struct pv_err *err)
{
	char seal_hex[PV_AUDIT_MAC_HEX + 1];
	struct pv_audit_seal_state st;
	struct pv_audit_event ev;
	uint64_t now_epoch;
	int r = pv_audit_seal_state_open(&a->files, &st, err);

	if (r == PV_NOTFOUND)
		return PV_OK;
	if (r != PV_OK)
		return PV_ERR;
	now_epoch = pv_audit_seal_epoch_at(st.t0, st.epoch_len, now);
	/* The bound first: a clock far ahead must not add a seal line at each attempt. */
	if (now_epoch > st.epoch &&
	    pv_audit_seal_state_reachable(&st, now_epoch, a->files.seal_shown, err) != PV_OK)
		r = PV_ERR;
	else if (now_epoch > st.epoch) {
		pv_audit_seal_event(&st, now_epoch - 1, a->before.mac, seal_hex, &ev);
		if (append_line(a, &ev, now, err) != PV_OK ||
		    pv_audit_seal_state_evolve(&st, now_epoch, a->files.seal_shown, err) != PV_OK)
			r = PV_ERR;
	}
	pv_audit_seal_state_close(&st);
	return r;
}

/* The stop of sealing (after the ended epochs were sealed): ev as the sealed "seal_stop"
 * line of the current epoch, then the state wiped in place and removed, under the same lock:
 * no later line can be sealed with the key. */
static int stop_sealing(struct append *a, const struct pv_audit_event *ev, int64_t now,
                        struct pv_err *err)
{
	char seal_hex[PV_AUDIT_MAC_HEX + 1];
	struct pv_audit_seal_state st;
	struct pv_audit_event stop = *ev;
	int r = pv_audit_seal_state_open(&a->files, &st, err);

	if (r == PV_NOTFOUND) {
		pv_err_set(err, "audit sealing is not set up (no %s)", a->files.seal_shown);
		return PV_ERR;
	}
	if (r != PV_OK)
		return PV_ERR;
	pv_audit_seal_stop_event(&st, a->before.mac, seal_hex, &stop);
	r = append_line(a, &stop, now, err);
	if (r == PV_OK)
		r = pv_audit_seal_state_remove(&st, &a->files, err);
	pv_audit_seal_state_close(&st);
	return r;
}

/* Under the lock (released on return): the position, the seal when due, then the event's
 * line (none for pv_audit_seal_due), or the stop line made of `stop` (pv_audit_seal_stop; ev
 * NULL). The lines written are left in done[0..*n_done). */
static int append_local(const struct pv_audit_sink *sink, const struct pv_audit_event *ev,
                        const struct pv_audit_event *stop, int64_t now,
                        struct pv_written done[PV_AUDIT_WRITTEN_MAX], int *n_done,
                        struct pv_err *err)
{
	struct append a = {.sink = sink, .hf.fd = -1, .lockfd = -1, .fd = -1, .done = done};
	int rc = PV_ERR;

	a.files.dirfd = -1;
	pv_buf_init(&a.line, PV_AUDIT_LINE_MAX);
	if (lock_and_open(&a, err) != PV_OK || find_position(&a, err) != PV_OK ||
	    seal_if_due(&a, now, err) != PV_OK ||
	    (stop != NULL && stop_sealing(&a, stop, now, err) != PV_OK) ||
	    (ev != NULL && append_line(&a, ev, now, err) != PV_OK))
		goto out;
	rc = PV_OK;
out:
	*n_done = a.n_done;
	pv_audit_head_close(&a.hf);
	if (a.fd >= 0)
		close(a.fd);
	if (a.lockfd >= 0)
		close(a.lockfd);
	pv_audit_files_close(&a.files);
	pv_buf_free(&a.line);
	return rc;
}

/* The copy of an "allow" line failed: the line stays in the local log (others may follow it
 * already), so a line of its own says the caller denies after all ("no log, no login" both
 * ways: the log never shows a decision that did not stand). Local only, like the line. */
static void record_reversal(const struct pv_audit_sink *sink, const struct pv_audit_event *ev,
                            int64_t now, uint64_t seq, const struct pv_err *why)
{
	struct pv_audit_sink local = *sink;
	struct pv_audit_event rev = *ev;
	struct pv_written done[PV_AUDIT_WRITTEN_MAX];
	struct pv_err err;
	char detail[sizeof(why->msg) + 128];
	int i, n = 0;

	local.mirror = NULL;
	rev.result = "deny";
	rev.reason = "store_error";
	snprintf(detail, sizeof(detail),
	         "seq %" PRIu64
	         " was not copied to the audit table (%s): that decision is reversed",
	         seq, why->msg);
	rev.detail = detail;
	if (append_local(&local, &rev, NULL, now, done, &n, &err) != PV_OK)
		pv_log(sink->pamh, LOG_ERR,
		       "cannot record the reversal of audit line seq %" PRIu64 ": %s", seq,
		       err.msg);
	for (i = 0; i < n; i++) {
		pv_log_audit_line(sink->pamh, done[i].line.data);
		pv_buf_free(&done[i].line);
	}
}

/* The lines this call wrote, the lock released: to syslog, then copied in order (each copy
 * waits for the database, bounded by pg_timeout, never under the audit lock: a stalled server
 * must not hold up every other login and otpctl on this gateway). A failed copy of the
 * event's own "allow" line is reversed by a local line; any failed copy is returned. */
static int publish(const struct pv_audit_sink *sink, const struct pv_audit_event *ev, int64_t now,
                   struct pv_written *done, int n, struct pv_err *err)
{
	int rc = PV_OK;
	int i;

	for (i = 0; i < n; i++)
		pv_log_audit_line(sink->pamh, done[i].line.data);
	for (i = 0; i < n && sink->mirror != NULL; i++) {
		if (sink->mirror(sink->mirror_ctx, done[i].seq, done[i].line.data, err) == PV_OK)
			continue;
		rc = PV_ERR;
		if (ev != NULL && ev->result != NULL && strcmp(ev->result, "allow") == 0)
			record_reversal(sink, ev, now, done[n - 1].seq, err);
		break;
	}
	for (i = 0; i < n; i++)
		pv_buf_free(&done[i].line);
	return rc;
}

/* One call: the local lines under the lock, then their copies. */
static int append_event(const struct pv_audit_sink *sink, const struct pv_audit_event *ev,
                        const struct pv_audit_event *stop, int64_t now, struct pv_err *err)
{
	struct pv_written done[PV_AUDIT_WRITTEN_MAX];
	int n = 0;
	int rc = append_local(sink, ev, stop, now, done, &n, err);

	if (rc != PV_OK) {
		/* A seal line may be durable before the event failed: it still goes out. */
		struct pv_err ignored;
		(void)publish(sink, NULL, now, done, n, &ignored);
		return PV_ERR;
	}
	return publish(sink, ev, now, done, n, err);
}

int pv_audit_append(const struct pv_audit_sink *sink, const struct pv_audit_event *ev, int64_t now,
                    struct pv_err *err)
{
	return append_event(sink, ev, NULL, now, err);
}

int pv_audit_seal_due(const struct pv_audit_sink *sink, int64_t now, struct pv_err *err)
{
	return append_event(sink, NULL, NULL, now, err);
}

int pv_audit_seal_stop(const struct pv_audit_sink *sink, const struct pv_audit_event *ev,
                       int64_t now, struct pv_err *err)
{
	return append_event(sink, NULL, ev, now, err);
}

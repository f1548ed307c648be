/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_verify.c — checking the chained audit log (audit.h): every line's MAC and its link to
 * the one before, across the rotated files, then the end of the log against the head file. */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "safefile.h"

#define MAC_BYTES           PV_AUDIT_MAC_BYTES
#define MAC_HEX             PV_AUDIT_MAC_HEX
#define VERIFY_LOCK_TIMEOUT 10 /* s: verify waits this long for a writer */

/* The chain check state is struct pv_audit_chain (audit.h); its live_log names the current
 * log's file as passed for its lines ("" when there is none, e.g. the database's copy). */
_Static_assert(sizeof(((struct pv_audit_chain *)0)->prev_mac_hex) == MAC_HEX + 1,
               "prev_mac_hex holds one MAC in hex");

/* seq and the MACs of a line that failed the fast check, by a full parse; false (with the
 * problem in res) when the line is not a valid audit line. */
static bool slow_check_line(const char *line, size_t len, const char *file, unsigned long lineno,
                            struct pv_audit_chain *v, struct pv_audit_fast_line *fl,
                            char prev_hex[MAC_HEX + 1], char mac_hex[MAC_HEX + 1])
{
	struct pv_audit_verify_result *res = v->res;
	struct pv_audit_parsed pl;

	switch (pv_audit_parse_line(line, len, v->keys, &pl)) {
	case PV_AUDIT_LINE_MALFORMED:
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s line %lu is not a pam_vendor audit line (edited or damaged)", file,
		         lineno);
		return false;
	case PV_AUDIT_LINE_BAD_MAC:
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s line %lu (seq %" PRIu64
		         ") fails its MAC: it was altered, or written without the key",
		         file, lineno, pl.seq);
		return false;
	case PV_AUDIT_LINE_OK:
		break;
	}
	sodium_bin2hex(prev_hex, MAC_HEX + 1, pl.prev, MAC_BYTES);
	sodium_bin2hex(mac_hex, MAC_HEX + 1, pl.mac, MAC_BYTES);
	fl->seq = pl.seq;
	fl->prev_hex = prev_hex;
	fl->mac_hex = mac_hex;
	return true;
}

/* The line's link to the one before (or, for the first line read, where the chain starts). */
static bool link_ok(struct pv_audit_chain *v, const struct pv_audit_fast_line *fl, const char *file,
                    unsigned long lineno)
{
	static const char zero_hex[MAC_HEX + 1] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	struct pv_audit_verify_result *res = v->res;

	if (!v->have_prev) {
		res->first_seq = fl->seq;
		if (fl->seq == 1 && memcmp(fl->prev_hex, zero_hex, MAC_HEX) != 0) {
			snprintf(
			    res->problem, sizeof(res->problem),
			    "%.300s line %lu claims to start the chain but names a predecessor",
			    file, lineno);
			return false;
		}
		if (fl->seq != 1)
			snprintf(res->note, sizeof(res->note),
			         "the chain starts at seq %" PRIu64
			         " (older rotated files are gone)",
			         fl->seq);
	} else if (fl->seq != v->prev_seq + 1 ||
	           memcmp(fl->prev_hex, v->prev_mac_hex, MAC_HEX) != 0) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s line %lu (seq %" PRIu64 ") does not follow seq %" PRIu64
		         ": a line was removed, inserted or moved before it",
		         file, lineno, fl->seq, v->prev_seq);
		return false;
	}
	return true;
}

static int verify_line(const char *line, size_t len, const char *file, unsigned long lineno,
                       void *vctx)
{
	struct pv_audit_chain *v = vctx;
	struct pv_audit_fast_line fl;
	char prev_hex[MAC_HEX + 1];
	char mac_hex[MAC_HEX + 1];

	if (!pv_audit_fast_check(line, len, v->keys, &fl) &&
	    !slow_check_line(line, len, file, lineno, v, &fl, prev_hex, mac_hex))
		return 1;
	if (!link_ok(v, &fl, file, lineno))
		return 1;
	if (v->seal != NULL &&
	    pv_audit_seal_check_line(v->seal, line, len, file, lineno, v->res) != 0)
		return 1;
	if (strcmp(file, v->live_log) == 0) {
		if (v->live_first_seq == 0)
			v->live_first_seq = fl.seq;
		v->live_bytes += len + 1;
		v->live_lines++;
	}
	v->have_prev = true;
	v->prev_seq = fl.seq;
	memcpy(v->prev_mac_hex, fl.mac_hex, MAC_HEX);
	v->res->last_seq = fl.seq;
	v->res->lines++;
	return 0;
}

void pv_audit_chain_init(struct pv_audit_chain *chain, const struct pv_keys *keys,
                         struct pv_audit_verify_result *res)
{
	memset(chain, 0, sizeof(*chain));
	memset(res, 0, sizeof(*res));
	chain->keys = keys;
	chain->res = res;
	chain->live_log = "";
}

int pv_audit_chain_line(struct pv_audit_chain *chain, const char *line, size_t len,
                        const char *where, unsigned long lineno)
{
	return verify_line(line, len, where, lineno, chain);
}

/* Under the audit lock (bounded wait): the head, and the live log's lines appended since the
 * pass read it, checked like every other line. The end compared with the head is then an end
 * whose every line had its MAC checked (one verification is one snapshot), while writers are
 * held only for the few lines appended during the pass, never for the whole log. */
struct snapshot {
	struct pv_audit_pos head;
	bool have_head;
	bool head_damaged;
	bool head_damaged_older;
	bool head_bad; /* head_problem says why */
	char head_problem[sizeof(((struct pv_err *)0)->msg)];
	bool rotated; /* the live file is not the one the pass read: verify again */
	struct pv_audit_tail tail;
	char head_shown[PATH_MAX + 8];
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The live log's lines after those the pass checked; fd is the log now, under the lock. */
static int check_rest_of_live_log(int fd, const char *audit_log, const struct stat *live,
                                  struct pv_audit_chain *v, struct snapshot *snap,
                                  struct pv_err *err)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		pv_err_errno(err, errno, "cannot stat %s", audit_log);
		return PV_ERR;
	}
	if (live->st_ino == 0 || !same_file(&st, live)) {
		snap->rotated = true;
		return PV_OK;
	}
	if ((uint64_t)st.st_size < v->live_bytes) {
		snprintf(v->res->problem, sizeof(v->res->problem),
		         "%.300s is now shorter than the %" PRIu64
		         " bytes read a moment ago: lines were removed from the end",
		         audit_log, v->live_bytes);
		return PV_OK;
	}
	if (pv_audit_foreach_from(fd, (off_t)v->live_bytes, audit_log, v->live_lines, verify_line,
	                          v, err) != PV_OK)
		return PV_ERR;
	if (v->res->problem[0] != '\0')
		return PV_OK;
	return pv_audit_read_tail(fd, audit_log, false, v->keys, &snap->tail, err);
}

static int locked_snapshot(const char *audit_log, const struct stat *live, struct pv_audit_chain *v,
                           struct snapshot *snap, struct pv_err *err)
{
	struct pv_audit_files files;
	struct pv_audit_head_file hf;
	bool missing = false;
	int lockfd = -1;
	int fd = -1;
	int rc = PV_ERR;

	memset(snap, 0, sizeof(*snap));
	if (pv_audit_files_open(audit_log, &files, err) != PV_OK)
		goto out;
	snprintf(snap->head_shown, sizeof(snap->head_shown), "%s", files.head_shown);
	lockfd = pv_lock_file_at(files.dirfd, files.lock_name, VERIFY_LOCK_TIMEOUT,
	                         files.lock_shown, err);
	if (lockfd < 0)
		goto out;
	if (pv_audit_head_read(&files, v->keys, false, &hf, err) != PV_OK) {
		snap->head_bad = true;
		snprintf(snap->head_problem, sizeof(snap->head_problem), "%s", err->msg);
	} else {
		snap->head = hf.head;
		snap->have_head = hf.found;
		snap->head_damaged = hf.damaged;
		snap->head_damaged_older = hf.damaged_older;
	}
	fd = pv_open_file_at(files.dirfd, files.base, O_RDONLY, PV_FILE_PUBLIC, audit_log, &missing,
	                     err);
	if (fd < 0 && !missing)
		goto out;
	if (fd < 0)
		snap->rotated = live->st_ino != 0;
	else if (check_rest_of_live_log(fd, audit_log, live, v, snap, err) != PV_OK)
		goto out;
	rc = PV_OK;
out:
	if (fd >= 0)
		close(fd);
	if (lockfd >= 0)
		close(lockfd);
	pv_audit_files_close(&files);
	return rc;
}

/* A torn last line or a bad head: true, with the problem in res->problem. */
static bool end_problem(const char *audit_log, const struct snapshot *snap,
                        struct pv_audit_verify_result *res)
{
	const struct pv_audit_tail *tail = &snap->tail;

	if (tail->torn) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s ends with an incomplete line after seq %" PRIu64
		         " (a write was interrupted); the next append removes it",
		         audit_log, tail->found ? tail->pos.seq : res->last_seq);
		return true;
	}
	if (snap->head_bad) {
		/* A damaged or forged head is a verification result, not a failure to verify. */
		snprintf(res->problem, sizeof(res->problem), "%s", snap->head_problem);
		return true;
	}
	return false;
}

/* The head against the log's last line and the live file's first: sets res->intact or
 * res->problem. */
static void check_head(const char *audit_log, const struct pv_audit_chain *v,
                       const struct snapshot *snap, const struct pv_audit_pos *last)
{
	struct pv_audit_verify_result *res = v->res;
	const struct pv_audit_pos *head = &snap->head;
	const char *shown = snap->head_shown;

	if (!snap->have_head) {
		if (res->lines > 0)
			snprintf(res->problem, sizeof(res->problem),
			         "%.300s is missing: the end of the log cannot be checked", shown);
		else
			res->intact = true;
	} else if (v->live_first_seq != 0 && head->live_start != 0 &&
	           v->live_first_seq != head->live_start) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s starts at seq %" PRIu64 " but its first line was seq %" PRIu64
		         " (recorded in %.300s): lines were removed from its start",
		         audit_log, v->live_first_seq, head->live_start, shown);
	} else if (head->seq > last->seq) {
		snprintf(res->problem, sizeof(res->problem),
		         "the log ends at seq %" PRIu64 " but %.300s records seq %" PRIu64
		         ": lines were removed from the end",
		         last->seq, shown, head->seq);
	} else if (!pv_audit_head_torn_ok(head, snap->head_damaged, snap->head_damaged_older,
	                                  &snap->tail)) {
		pv_audit_head_damage_problem(shown, head, res->problem, sizeof(res->problem));
	} else if (head->seq == last->seq && sodium_memcmp(head->mac, last->mac, MAC_BYTES) != 0) {
		snprintf(res->problem, sizeof(res->problem),
		         "the last line (seq %" PRIu64
		         ") differs from the one recorded in %.300s: the log was replaced",
		         last->seq, shown);
	} else if (head->seq + 1 < last->seq) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s records seq %" PRIu64 " but the log goes on to seq %" PRIu64
		         ": the head file was replaced by an older one",
		         shown, head->seq, last->seq);
	} else {
		/* head->seq + 1 == last->seq: a crash between writing the line and the head;
		 * benign, the line itself is authenticated and the next append updates the head. */
		res->intact = true;
	}
}

#define VERIFY_ATTEMPTS 3 /* logrotate renaming the log during a pass: read it again */

int pv_audit_verify(const char *audit_log, const struct pv_keys *keys,
                    struct pv_audit_verify_result *res, struct pv_err *err)
{
	return pv_audit_verify_with(audit_log, keys, NULL, res, err);
}

int pv_audit_verify_with(const char *audit_log, const struct pv_keys *keys,
                         struct pv_audit_seal_check *seal, struct pv_audit_verify_result *res,
                         struct pv_err *err)
{
	struct pv_audit_chain v;
	struct snapshot snap;
	struct pv_audit_pos last = {0};
	struct stat live;
	int attempt;

	for (attempt = 1;; attempt++) {
		pv_audit_chain_init(&v, keys, res);
		v.live_log = audit_log;
		v.seal = seal;
		if (seal != NULL)
			pv_audit_seal_check_reset(seal);
		if (pv_audit_foreach_live(audit_log, verify_line, &v, &live, err) != PV_OK)
			return PV_ERR;
		if (res->problem[0] != '\0')
			return PV_OK;
		if (locked_snapshot(audit_log, &live, &v, &snap, err) != PV_OK)
			return PV_ERR;
		if (!snap.rotated)
			break;
		if (attempt == VERIFY_ATTEMPTS) {
			pv_err_set(
			    err,
			    "%s was replaced (rotated) %d times while it was verified; run the "
			    "verification again",
			    audit_log, VERIFY_ATTEMPTS);
			return PV_ERR;
		}
	}
	if (res->problem[0] != '\0')
		return PV_OK;
	last.seq = res->last_seq;
	if (res->lines > 0 && pv_audit_hex_to_mac(v.prev_mac_hex, last.mac) != PV_OK) {
		pv_err_set(err, "internal error: the last MAC read is not hex");
		return PV_ERR;
	}
	if (!end_problem(audit_log, &snap, res))
		check_head(audit_log, &v, &snap, &last);
	return PV_OK;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_read.c — reading the audit log back (audit.h, audit_int.h): where its files are, its
 * first and last lines, and every line of it and its rotated files (plain or .gz), oldest
 * first. */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "safefile.h"
#include "timeparse.h"

#define MAX_ROTATED 100000

int pv_audit_files_open(const char *audit_log, struct pv_audit_files *files, struct pv_err *err)
{
	return pv_audit_files_open_in(NULL, audit_log, files, err);
}

int pv_audit_files_open_in(struct pv_dirs *dirs, const char *audit_log,
                           struct pv_audit_files *files, struct pv_err *err)
{
	bool owned = true;

	memset(files, 0, sizeof(*files));
	files->log = audit_log;
	files->dirfd = pv_dirs_get_parent(dirs, audit_log, false, files->base, sizeof(files->base),
	                                  &owned, err);
	files->dirfd_held = !owned;
	if (files->dirfd < 0)
		return PV_ERR;
	if (strlen(files->base) > NAME_MAX - 5) {
		pv_err_set(err, "audit log name %s is too long", audit_log);
		return PV_ERR;
	}
	snprintf(files->head_name, sizeof(files->head_name), "%s.head", files->base);
	snprintf(files->lock_name, sizeof(files->lock_name), "%s.lock", files->base);
	snprintf(files->head_shown, sizeof(files->head_shown), "%s.head", audit_log);
	snprintf(files->lock_shown, sizeof(files->lock_shown), "%s.lock", audit_log);
	snprintf(files->seal_name, sizeof(files->seal_name), "%s.seal", files->base);
	snprintf(files->seal_shown, sizeof(files->seal_shown), "%s.seal", audit_log);
	return PV_OK;
}

void pv_audit_files_close(struct pv_audit_files *files)
{
	pv_dirs_put(files->dirfd, !files->dirfd_held);
	files->dirfd = -1;
}

uint64_t pv_audit_first_seq(int fd)
{
	struct pv_audit_parsed pl;
	char *buf = malloc(PV_AUDIT_LINE_MAX + 1);
	uint64_t seq = 0;
	ssize_t got;
	char *nl;

	if (buf == NULL)
		return 0;
	got = pread(fd, buf, PV_AUDIT_LINE_MAX, 0);
	if (got > 0 && (nl = memchr(buf, '\n', (size_t)got)) != NULL &&
	    pv_audit_parse_line(buf, (size_t)(nl - buf), NULL, &pl) == PV_AUDIT_LINE_OK)
		seq = pl.seq;
	free(buf);
	return seq;
}

/* The last line in buf (want bytes of the file from offset from, NUL-terminated), after the
 * torn fragment check: cut one (repair) or report it. */
static int tail_of(int fd, const char *shown, bool repair, const struct pv_keys *keys, char *buf,
                   size_t want, off_t from, struct pv_audit_tail *tail, struct pv_err *err)
{
	struct pv_audit_parsed pl;
	char *last_nl = memrchr(buf, '\n', want);
	char *start;

	if (last_nl != buf + want - 1) {
		off_t keep = last_nl ? from + (last_nl - buf) + 1 : from;
		if (last_nl == NULL && from != 0) {
			pv_err_set(err, "%s ends with an overlong unterminated line", shown);
			return PV_ERR;
		}
		tail->torn = true;
		if (repair && (ftruncate(fd, keep) != 0 || fsync(fd) != 0)) {
			pv_err_errno(err, errno, "cannot cut the torn last line of %s", shown);
			return PV_ERR;
		}
		if (repair)
			tail->size = keep;
		if (last_nl == NULL)
			return PV_OK;
	}
	*last_nl = '\0';
	start = memrchr(buf, '\n', (size_t)(last_nl - buf));
	start = start ? start + 1 : buf;
	if (start == buf && from != 0) {
		pv_err_set(err, "the last line of %s is too long", shown);
		return PV_ERR;
	}
	switch (pv_audit_parse_line(start, (size_t)(last_nl - start), keys, &pl)) {
	case PV_AUDIT_LINE_OK:
		tail->authentic = keys != NULL;
		/* fall through */
	case PV_AUDIT_LINE_BAD_MAC:
		tail->pos.seq = pl.seq;
		memcpy(tail->pos.mac, pl.mac, PV_AUDIT_MAC_BYTES);
		memcpy(tail->prev, pl.prev, PV_AUDIT_MAC_BYTES);
		tail->found = true;
		break;
	case PV_AUDIT_LINE_MALFORMED:
		break;
	}
	return PV_OK;
}

int pv_audit_read_tail(int fd, const char *shown, bool repair, const struct pv_keys *keys,
                       struct pv_audit_tail *tail, struct pv_err *err)
{
	char *buf = NULL;
	struct stat st;
	size_t want;
	off_t from;
	ssize_t got;
	int rc = PV_ERR;

	memset(tail, 0, sizeof(*tail));
	if (fstat(fd, &st) != 0) {
		pv_err_errno(err, errno, "cannot stat %s", shown);
		return PV_ERR;
	}
	tail->size = st.st_size;
	if (st.st_size == 0)
		return PV_OK;
	want = (size_t)(st.st_size < 2 * PV_AUDIT_LINE_MAX ? st.st_size : 2 * PV_AUDIT_LINE_MAX);
	from = st.st_size - (off_t)want;
	buf = malloc(want + 1);
	if (buf == NULL) {
		pv_err_set(err, "out of memory reading %s", shown);
		return PV_ERR;
	}
	got = pread(fd, buf, want, from);
	if (got != (ssize_t)want) {
		pv_err_errno(err, errno, "cannot read the end of %s", shown);
		goto out;
	}
	buf[want] = '\0';
	rc = tail_of(fd, shown, repair, keys, buf, want, from, tail, err);
out:
	free(buf);
	return rc;
}

/* --- every line, oldest first --- */

struct rotated {
	char name[NAME_MAX + 1];
	long order; /* larger = older */
};

static int compare_rotated(const void *a, const void *b)
{
	const struct rotated *x = a;
	const struct rotated *y = b;

	return (x->order < y->order) - (x->order > y->order); /* oldest (largest) first */
}

/* logrotate names: "<base>.N", "<base>.N.gz" (numbered) and "<base>-YYYYMMDD[.gz]" (dateext). */
static bool rotated_order(const char *base, const char *name, long *order)
{
	size_t blen = strlen(base);
	char digits[16];
	const char *rest;
	size_t n;
	uint64_t v;

	if (strncmp(name, base, blen) != 0 || (name[blen] != '.' && name[blen] != '-'))
		return false;
	rest = name + blen + 1;
	n = strspn(rest, "0123456789");
	if (n == 0 || n >= sizeof(digits) || (rest[n] != '\0' && strcmp(rest + n, ".gz") != 0))
		return false;
	memcpy(digits, rest, n);
	digits[n] = '\0';
	if (pv_parse_u64(digits, 99999999, &v) != PV_OK)
		return false;
	/* numbered: .1 is the newest; dateext: larger dates are newer. */
	*order = name[blen] == '.' ? (long)v : 100000000L - (long)v;
	return true;
}

static bool is_rotated(const char *name, void *vbase)
{
	long order;

	return rotated_order(vbase, name, &order);
}

/* The rotated files of the log, oldest first. Six months of daily rotation is ~180 files;
 * more than MAX_ROTATED is reported, never silently cut. */
static int list_rotated(int dirfd, const char *base, struct rotated **out, size_t *count,
                        struct pv_err *err)
{
	struct rotated *list = NULL;
	char **names = NULL;
	size_t n = 0;
	size_t i;

	*out = NULL;
	*count = 0;
	if (pv_dir_list(dirfd, "the audit log directory", is_rotated, (void *)base, MAX_ROTATED,
	                &names, &n, err) != PV_OK)
		return PV_ERR;
	list = calloc(n ? n : 1, sizeof(*list));
	if (list == NULL) {
		pv_dir_list_free(names, n);
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	for (i = 0; i < n; i++) {
		snprintf(list[i].name, sizeof(list[i].name), "%s", names[i]);
		(void)rotated_order(base, names[i], &list[i].order);
	}
	pv_dir_list_free(names, n);
	qsort(list, n, sizeof(*list), compare_rotated);
	*out = list;
	*count = n;
	return PV_OK;
}

/* A file read line by line: the line being gathered across reads, and whom to give it. */
struct line_reader {
	const char *shown;
	pv_audit_line_fn fn;
	void *ctx;
	char *line; /* PV_AUDIT_LINE_MAX + 1 bytes */
	size_t used;
	unsigned long lineno;
	bool stopped;
};

/* Split one chunk into lines, passing each complete one to fn. */
static int feed_chunk(struct line_reader *r, const char *chunk, int got, struct pv_err *err)
{
	int i;

	for (i = 0; i < got;) {
		const char *nl = memchr(chunk + i, '\n', (size_t)(got - i));
		size_t run = nl ? (size_t)(nl - (chunk + i)) : (size_t)(got - i);

		if (r->used + run > PV_AUDIT_LINE_MAX) {
			pv_err_set(err, "%s line %lu is longer than %d bytes", r->shown,
			           r->lineno + 1, PV_AUDIT_LINE_MAX);
			return PV_ERR;
		}
		memcpy(r->line + r->used, chunk + i, run);
		r->used += run;
		i += (int)run;
		if (nl == NULL)
			break;
		i++; /* the newline */
		r->line[r->used] = '\0';
		r->lineno++;
		if (r->fn(r->line, r->used, r->shown, r->lineno, r->ctx) != 0) {
			r->stopped = true;
			return PV_OK;
		}
		r->used = 0;
	}
	return PV_OK;
}

/* Read one file (plain or gzip: zlib reads both) line by line; *st (when non-NULL) is the
 * file read. */
static int foreach_in_file(int dirfd, const char *name, struct line_reader *r, struct stat *st,
                           struct pv_err *err)
{
	char chunk[65536];
	gzFile gz = NULL;
	bool missing = false;
	int fd;
	int rc = PV_ERR;

	fd = pv_open_file_at(dirfd, name, O_RDONLY, PV_FILE_PUBLIC, r->shown, &missing, err);
	if (fd < 0)
		return missing ? PV_NOTFOUND : PV_ERR;
	if (st != NULL && fstat(fd, st) != 0) {
		pv_err_errno(err, errno, "cannot stat %s", r->shown);
		close(fd);
		return PV_ERR;
	}
	gz = gzdopen(fd, "rb");
	if (gz == NULL) {
		close(fd);
		pv_err_set(err, "cannot read %s", r->shown);
		return PV_ERR;
	}
	r->line = malloc(PV_AUDIT_LINE_MAX + 1);
	if (r->line == NULL) {
		pv_err_set(err, "out of memory");
		goto out;
	}
	r->used = 0;
	r->lineno = 0;
	while (!r->stopped) {
		int got = gzread(gz, chunk, sizeof(chunk));
		if (got < 0) {
			pv_err_set(err, "cannot read %s (corrupt compressed file?)", r->shown);
			goto out;
		}
		if (got == 0)
			break;
		if (feed_chunk(r, chunk, got, err) != PV_OK)
			goto out;
	}
	rc = PV_OK;
out:
	free(r->line);
	r->line = NULL;
	gzclose(gz);
	return rc;
}

int pv_audit_foreach(const char *audit_log, pv_audit_line_fn fn, void *ctx, struct pv_err *err)
{
	return pv_audit_foreach_live(audit_log, fn, ctx, NULL, err);
}

int pv_audit_foreach_live(const char *audit_log, pv_audit_line_fn fn, void *ctx, struct stat *live,
                          struct pv_err *err)
{
	char base[NAME_MAX + 1];
	char shown[PATH_MAX + NAME_MAX + 2];
	struct line_reader r = {.fn = fn, .ctx = ctx, .shown = shown};
	struct rotated *rot = NULL;
	size_t nrot = 0;
	size_t i;
	int dirfd;
	int rc = PV_ERR;

	dirfd = pv_open_parent(audit_log, false, base, sizeof(base), err);
	if (dirfd < 0)
		return PV_ERR;
	if (list_rotated(dirfd, base, &rot, &nrot, err) != PV_OK)
		goto out;
	for (i = 0; i < nrot && !r.stopped; i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", audit_log);
		*strrchr(dir, '/') = '\0';
		snprintf(shown, sizeof(shown), "%s/%s", dir, rot[i].name);
		if (foreach_in_file(dirfd, rot[i].name, &r, NULL, err) == PV_ERR)
			goto out;
	}
	r.shown = audit_log;
	if (live != NULL)
		memset(live, 0, sizeof(*live));
	if (!r.stopped && foreach_in_file(dirfd, base, &r, live, err) == PV_ERR)
		goto out;
	rc = PV_OK;
out:
	free(rot);
	close(dirfd);
	return rc;
}

int pv_audit_foreach_from(int fd, off_t from, const char *shown, unsigned long lineno,
                          pv_audit_line_fn fn, void *ctx, struct pv_err *err)
{
	struct line_reader r = {.fn = fn, .ctx = ctx, .shown = shown, .lineno = lineno};
	char chunk[65536];
	int rc = PV_ERR;

	r.line = malloc(PV_AUDIT_LINE_MAX + 1);
	if (r.line == NULL) {
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	while (!r.stopped) {
		ssize_t got = pread(fd, chunk, sizeof(chunk), from);
		if (got < 0) {
			pv_err_errno(err, errno, "cannot read %s", shown);
			goto out;
		}
		if (got == 0)
			break;
		from += got;
		if (feed_chunk(&r, chunk, (int)got, err) != PV_OK)
			goto out;
	}
	rc = PV_OK;
out:
	free(r.line);
	return rc;
}

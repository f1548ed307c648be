/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_watch.c — `otpctl watch [--vendor NAME] [--json]`: follow the audit log live, one
 * readable line per decision and session event (the reason in words), or one JSON object per
 * line for a script that mails or posts them (the module itself never runs a command). Every
 * line is checked as `audit verify` checks it (MAC, seq + 1, link to the line before), from
 * the live file's first line on, across rotation (the new file's first line must follow the
 * old file's last); a line that fails ends the watch with exit 1, naming it. The log is read,
 * never locked: a line is taken once its newline is there. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_audit.h"
#include "otpctl.h"
#include "timeparse.h"

#define POLL_MS  200 /* how often the log is looked at: a line shows within a second */
#define READ_MAX (PV_AUDIT_LINE_MAX + 1)

struct watch {
	struct otpctl *ctl;
	const char *vendor; /* NULL: everyone */
	struct pv_audit_chain chain;
	struct pv_audit_verify_result res;
	int fd;
	struct stat st;       /* the file fd reads */
	unsigned long lineno; /* in that file */
	char buf[READ_MAX];   /* the start of a line whose newline has not come yet */
	size_t have;
	bool quiet; /* the lines that were there at the start are checked, not shown */
};

static const char *or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* "acme from 192.0.2.10: auth DENIED, the code was already used (otp_reused)", or
 * "acme: disable allowed by root; 2 code(s) revoked". */
static void summary(const struct pv_json_object *obj, char *out, size_t len)
{
	const char *result = pv_json_get(obj, "result");
	const char *reason = pv_json_get(obj, "reason");
	const char *words = pv_reason_words(reason);
	const char *action = pv_json_get(obj, "action");
	const char *detail = pv_json_get(obj, "detail");
	const char *rhost = pv_json_get(obj, "rhost");
	const char *admin = pv_json_get(obj, "admin");
	const char *duration = pv_json_get(obj, "duration_s");
	char text[1024];
	char dur[32];
	uint64_t secs;
	size_t n;

	n = (size_t)snprintf(text, sizeof(text), "%s%s%s: %s %s", or_dash(pv_json_get(obj, "user")),
	                     rhost != NULL ? " from " : "", rhost != NULL ? rhost : "",
	                     action != NULL ? action : or_dash(pv_json_get(obj, "event")),
	                     result == NULL                 ? "-"
	                     : strcmp(result, "deny") == 0  ? "DENIED"
	                     : strcmp(result, "allow") == 0 ? "allowed"
	                                                    : result);
	if (admin != NULL && n < sizeof(text))
		n += (size_t)snprintf(text + n, sizeof(text) - n, " by %s", admin);
	if (reason != NULL && strcmp(reason, "ok") != 0 && n < sizeof(text))
		n += (size_t)snprintf(text + n, sizeof(text) - n, ", %s (%s)",
		                      words != NULL ? words : reason, reason);
	if (duration != NULL && pv_parse_u64(duration, INT64_MAX, &secs) == PV_OK &&
	    n < sizeof(text)) {
		pv_format_duration((int64_t)secs, dur, sizeof(dur));
		n += (size_t)snprintf(text + n, sizeof(text) - n, " after %s", dur);
	}
	if (detail != NULL && n < sizeof(text))
		snprintf(text + n, sizeof(text) - n, "; %s", detail);
	audit_cell(text, out, len);
}

/* Show one checked line: text, or its object with "summary" added (one JSON object a line). */
static void show(const struct watch *w, const char *line, size_t len)
{
	struct pv_json_object obj;
	char text[1024];
	char when[PV_TIME_TEXT_MAX];
	int64_t t;

	if (pv_json_parse_flat(line, len, &obj) != 0)
		return; /* the MAC held: it parsed when written; nothing to show */
	if (w->vendor != NULL && (pv_json_get(&obj, "user") == NULL ||
	                          strcmp(pv_json_get(&obj, "user"), w->vendor) != 0))
		goto out;
	summary(&obj, text, sizeof(text));
	if (w->ctl->json) {
		struct pv_buf b;

		pv_buf_init(&b, 2 * PV_AUDIT_LINE_MAX);
		pv_json_write_object(&b, &obj);
		if (!b.failed && b.len > 0 && b.data[b.len - 1] == '}') {
			b.len--;
			pv_buf_puts(&b, ",\"summary\":");
			pv_json_string(&b, text);
			pv_buf_puts(&b, "}\n");
		}
		if (!b.failed)
			fwrite(b.data, 1, b.len, stdout);
		pv_buf_free(&b);
	} else {
		if (!pv_audit_event_time(&obj, w->ctl->now, &t))
			t = 0;
		ctl_local_time(t, when, sizeof(when));
		printf("%s  %s\n", when, text);
	}
	fflush(stdout);
out:
	pv_json_object_free(&obj);
}

/* Check and show the complete lines read so far; keep a partial one. 1 on a chain problem. */
static int take_lines(struct watch *w)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(w->buf + start, '\n', w->have - start)) != NULL) {
		size_t len = (size_t)(nl - (w->buf + start));

		w->lineno++;
		if (pv_audit_chain_line(&w->chain, w->buf + start, len, w->ctl->cfg.audit_log,
		                        w->lineno) != 0)
			return 1;
		if (!w->quiet)
			show(w, w->buf + start, len);
		start += len + 1;
	}
	memmove(w->buf, w->buf + start, w->have - start);
	w->have -= start;
	if (w->have == sizeof(w->buf)) {
		snprintf(w->res.problem, sizeof(w->res.problem),
		         "%.300s line %lu is longer than %d bytes: not an audit line",
		         w->ctl->cfg.audit_log, w->lineno + 1, PV_AUDIT_LINE_MAX);
		return 1;
	}
	return 0;
}

/* Read what the file holds now. PV_ERR (printed) on a read error; 1 on a chain problem. */
static int drain(struct watch *w)
{
	for (;;) {
		ssize_t n = read(w->fd, w->buf + w->have, sizeof(w->buf) - w->have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ctl_error("cannot read %s: %s", w->ctl->cfg.audit_log, strerror(errno));
			return PV_ERR;
		}
		if (n == 0)
			return 0;
		w->have += (size_t)n;
		if (take_lines(w) != 0)
			return 1;
	}
}

static int open_log(struct watch *w)
{
	w->fd = open(w->ctl->cfg.audit_log, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (w->fd < 0 || fstat(w->fd, &w->st) != 0) {
		ctl_error("cannot open %s: %s", w->ctl->cfg.audit_log, strerror(errno));
		return PV_ERR;
	}
	w->lineno = 0;
	return PV_OK;
}

/* Has the log been rotated (another file at its path), or cut? */
static int moved(struct watch *w, bool *rotated)
{
	struct stat now;

	*rotated = false;
	if (stat(w->ctl->cfg.audit_log, &now) != 0) {
		if (errno == ENOENT)
			return PV_OK; /* between logrotate's rename and create */
		ctl_error("cannot stat %s: %s", w->ctl->cfg.audit_log, strerror(errno));
		return PV_ERR;
	}
	if (now.st_dev != w->st.st_dev || now.st_ino != w->st.st_ino) {
		*rotated = true;
		return PV_OK;
	}
	if (fstat(w->fd, &now) == 0 && now.st_size < lseek(w->fd, 0, SEEK_CUR)) {
		snprintf(
		    w->res.problem, sizeof(w->res.problem),
		    "%.300s is now shorter than what was read: lines were removed from its end",
		    w->ctl->cfg.audit_log);
		return 1;
	}
	return PV_OK;
}

static int follow(struct watch *w)
{
	const struct timespec pause = {0, POLL_MS * 1000L * 1000L};
	bool rotated;
	int r;

	for (;;) {
		r = drain(w);
		if (r != 0)
			return r;
		r = moved(w, &rotated);
		if (r != 0)
			return r;
		if (rotated) {
			/* What the old file got before the rename, then the new one from its start.
			 */
			r = drain(w);
			if (r != 0)
				return r;
			if (w->have > 0) {
				snprintf(w->res.problem, sizeof(w->res.problem),
				         "the rotated %.300s ends with a line cut short",
				         w->ctl->cfg.audit_log);
				return 1;
			}
			close(w->fd);
			if (open_log(w) != PV_OK)
				return PV_ERR;
			continue;
		}
		nanosleep(&pause, NULL);
	}
}

int cmd_watch(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("watch");
	struct watch *w;
	int rc = EXIT_FAIL;
	int r;
	int i;

	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		ctl_error("out of memory");
		return EXIT_FAIL;
	}
	w->fd = -1;
	w->ctl = ctl;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--vendor") == 0 && i + 1 < argc) {
			w->vendor = argv[++i];
			if (!ctl_check_name(w->vendor))
				goto out;
		} else {
			rc = ctl_usage_arg(cmd, argv[i]);
			goto out;
		}
	}
	if (ctl_load_config(ctl) != EXIT_OK || ctl_load_keys(ctl) != EXIT_OK)
		goto out;
	pv_audit_chain_init(&w->chain, &ctl->keys, &w->res);
	if (open_log(w) != PV_OK)
		goto out;
	/* The lines already there are checked (the chain the new ones must follow), not shown. */
	w->quiet = true;
	r = drain(w);
	w->quiet = false;
	if (r == 0) {
		if (!ctl->json)
			printf("Watching %s (%lu lines checked, up to seq %" PRIu64
			       "); Ctrl-C ends.\n",
			       ctl->cfg.audit_log, w->res.lines, w->res.last_seq);
		fflush(stdout);
		r = follow(w);
	}
	if (r == 1)
		ctl_error("the audit chain breaks: %s", w->res.problem);
out:
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return rc;
}

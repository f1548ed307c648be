/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_recording.c — the admin's side of session recordings (core/recording.h): `otpctl
 * sessions play ID [--speed N]` (scriptreplay of what the vendor saw), `otpctl sessions
 * follow ID` (what a live session shows, as it happens; read-only) and `otpctl audit verify
 * --recordings` (each finished recording against the size and digest its session_close
 * line carries). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "otpctl.h"
#include "recording.h"
#include "safefile.h"
#include "session.h"

#define FOLLOW_PAUSE_NS (50 * 1000 * 1000) /* between two looks at a quiet recording */

/* "2", "0.5", "10": what scriptreplay's divisor takes, checked here. */
static bool speed_valid(const char *text)
{
	static const char digits[] = "0123456789";
	size_t len = strlen(text);
	size_t whole = strspn(text, digits);

	if (len == 0 || len > 8 || whole == 0 || strpbrk(text, "123456789") == NULL)
		return false;
	if (whole == len)
		return true;
	return text[whole] == '.' && len > whole + 1 &&
	       strspn(text + whole + 1, digits) == len - whole - 1;
}

/* The recording of id, checked playable; the one-sentence error printed otherwise. */
static int open_recording(struct otpctl *ctl, const char *id)
{
	struct pv_err err;

	if (!pv_session_id_valid(id)) {
		ctl_error(
		    "\"%.64s\" is not a session id (%d hexadecimal digits, as otpctl sessions "
		    "and otpctl report show)",
		    id, PV_SESSION_ID_LEN);
		return EXIT_FAIL;
	}
	if (ctl_load_config(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (pv_recording_check(ctl->cfg.recording_dir, id, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static void part_path(const struct otpctl *ctl, const char *id, int part, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s", ctl->cfg.recording_dir, id, pv_recording_parts[part]);
}

int cmd_sessions_play(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("sessions play");
	char timing[PATH_MAX + 64], out[PATH_MAX + 64];
	const char *speed = "1";
	const char *args[10];
	pid_t pid;
	int status;

	if (argc == 4 && strcmp(argv[2], "--speed") == 0)
		speed = argv[3];
	else if (argc != 2)
		return ctl_usage_error(cmd, "sessions play takes one session ID and --speed N");
	if (!speed_valid(speed))
		return ctl_usage_error(cmd, "--speed takes a positive number, such as 2 or 0.5");
	if (open_recording(ctl, argv[1]) != EXIT_OK)
		return EXIT_FAIL;
	part_path(ctl, argv[1], 0, timing, sizeof(timing));
	part_path(ctl, argv[1], 2, out, sizeof(out));
	args[0] = PV_SCRIPTREPLAY;
	args[1] = "--log-timing";
	args[2] = timing;
	args[3] = "--log-out";
	args[4] = out;
	args[5] = "--divisor";
	args[6] = speed;
	args[7] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		ctl_error("%s could not replay the recording of session %s", PV_SCRIPTREPLAY,
		          argv[1]);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Copy what is new in fd to stdout; *more: something was copied. */
static int copy_new(int fd, bool *more)
{
	char buf[65536];
	ssize_t got;

	*more = false;
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)got, stdout) != (size_t)got || fflush(stdout) != 0)
			return PV_ERR;
		*more = true;
	}
	return got == 0 ? PV_OK : PV_ERR;
}

static bool session_live(const struct otpctl *ctl, const char *id)
{
	struct pv_session s;
	struct pv_err err;

	return pv_session_load(ctl->cfg.session_dir, id, &s, &err) != PV_NOTFOUND;
}

/* What the vendor sees, from the start of the recording, then as it comes, until the
 * session's record is gone (its close) and nothing more was written. */
int cmd_sessions_follow(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("sessions follow");
	const struct timespec pause = {0, FOLLOW_PAUSE_NS};
	char name[64];
	struct pv_err err;
	bool more = false;
	bool live = true;
	int dirfd;
	int fd;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_error(cmd, "sessions follow takes one session ID");
	if (open_recording(ctl, argv[1]) != EXIT_OK)
		return EXIT_FAIL;
	dirfd = pv_open_dir(ctl->cfg.recording_dir, true, &err);
	snprintf(name, sizeof(name), "%s%s", argv[1], pv_recording_parts[2]);
	fd = dirfd < 0 ? -1
	               : pv_open_file_at(dirfd, name, O_RDONLY, PV_FILE_PRIVATE, name, NULL, &err);
	if (dirfd >= 0)
		close(dirfd);
	if (fd < 0) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	while (copy_new(fd, &more) == PV_OK) {
		if (!more && !live)
			break;
		if (!more) {
			live = session_live(ctl, argv[1]);
			nanosleep(&pause, NULL);
		}
	}
	close(fd);
	return EXIT_OK;
}

/* A session_open that named a recording, waiting for its session_close. */
struct open_rec {
	char id[33];
	char user[PV_NAME_MAX + 1];
};

struct verify_ctx {
	struct otpctl *ctl;
	unsigned checked;
	unsigned bad;
	unsigned no_shell; /* closes without a digest: the session ran no shell (ssh -N) */
	struct open_rec *opens;
	size_t n_opens;
	size_t cap;
	bool oom;
};

static const char *user_of(const struct pv_json_object *obj)
{
	return pv_json_get(obj, "user") ? pv_json_get(obj, "user") : "?";
}

/* Recordings older than recording_keep may have been pruned and are not looked for. */
static bool too_old(const struct verify_ctx *v, const struct pv_json_object *obj)
{
	int64_t t = 0;

	return pv_audit_event_time(obj, v->ctl->now, &t) &&
	       t < v->ctl->now - v->ctl->cfg.recording_keep;
}

/* The session's session_open, if still waiting, is closed now. */
static void closed(struct verify_ctx *v, const char *id)
{
	size_t i;

	for (i = v->n_opens; i > 0; i--)
		if (strcmp(v->opens[i - 1].id, id) == 0) {
			v->opens[i - 1] = v->opens[--v->n_opens];
			return;
		}
}

/* A session_open (allowed) that names a recording: waits for its close. */
static void verify_open(struct verify_ctx *v, const struct pv_json_object *obj)
{
	const char *id = pv_json_get(obj, "recording");
	const char *result = pv_json_get(obj, "result");
	struct open_rec *grown;

	if (id == NULL || !pv_recording_id_valid(id) || result == NULL ||
	    strcmp(result, "allow") != 0 || too_old(v, obj))
		return;
	if (v->n_opens == v->cap) {
		grown = realloc(v->opens, (v->cap * 2 + 16) * sizeof(*grown));
		if (grown == NULL) {
			v->oom = true;
			return;
		}
		v->opens = grown;
		v->cap = v->cap * 2 + 16;
	}
	snprintf(v->opens[v->n_opens].id, sizeof(v->opens[0].id), "%s", id);
	snprintf(v->opens[v->n_opens].user, sizeof(v->opens[0].user), "%s", user_of(obj));
	v->n_opens++;
}

/* A close without a digest: fine only when the session ran no shell and left no recording. */
static void verify_unsealed_close(struct verify_ctx *v, const struct pv_json_object *obj,
                                  const char *id)
{
	const char *detail = pv_json_get(obj, "detail");
	char hex[PV_RECORDING_HEX];
	struct pv_err err;
	int64_t bytes = 0;
	int r = pv_recording_digest(v->ctl->cfg.recording_dir, id, &bytes, hex, &err);

	if (r == PV_NOTFOUND && detail != NULL && strncmp(detail, "no recording:", 13) == 0) {
		v->no_shell++;
		return;
	}
	v->bad++;
	ctl_error("session %s of %s: its recording was not sealed at its close (%s); its files "
	          "are %s",
	          id, user_of(obj), detail != NULL ? detail : "no digest",
	          r == PV_NOTFOUND ? "not there" : "there");
}

/* One session_close line: its recording against the size and digest it carries. */
static void verify_close(struct verify_ctx *v, const struct pv_json_object *obj)
{
	const char *id = pv_json_get(obj, "recording");
	const char *want = pv_json_get(obj, "recording_b2b");
	const char *want_bytes = pv_json_get(obj, "recording_bytes");
	char hex[PV_RECORDING_HEX];
	struct pv_err err;
	int64_t bytes = 0;
	int r;

	if (id == NULL || !pv_recording_id_valid(id))
		return;
	closed(v, id);
	if (too_old(v, obj))
		return;
	v->checked++;
	if (want == NULL || want_bytes == NULL) {
		verify_unsealed_close(v, obj, id);
		return;
	}
	r = pv_recording_digest(v->ctl->cfg.recording_dir, id, &bytes, hex, &err);
	if (r == PV_OK && strcmp(hex, want) == 0 && bytes == strtoll(want_bytes, NULL, 10))
		return;
	v->bad++;
	if (r == PV_NOTFOUND)
		ctl_error("session %s of %s: its recording was deleted", id, user_of(obj));
	else if (r != PV_OK)
		ctl_error("session %s: its recording cannot be checked: %s", id, err.msg);
	else
		ctl_error("session %s of %s: its recording was changed (%lld bytes, %s when the "
		          "session closed)",
		          id, user_of(obj), (long long)bytes, want_bytes);
}

static int verify_line(const char *line, size_t len, const char *file, unsigned long lineno,
                       void *ctx)
{
	struct pv_json_object obj;
	const char *event;

	if (pv_json_parse_flat(line, len, &obj) != 0)
		return 0; /* the chain check names a damaged line */
	event = pv_json_get(&obj, "event");
	if (event != NULL && strcmp(event, "session_close") == 0)
		verify_close(ctx, &obj);
	else if (event != NULL && strcmp(event, "session_open") == 0)
		verify_open(ctx, &obj);
	pv_json_object_free(&obj);
	return 0;
}

/* Is the session still running (its record there and its process too)? A record whose
 * process is gone (a killed monitor) is stale, not live. */
static bool still_running(const struct otpctl *ctl, const char *id)
{
	struct pv_session s;
	struct pv_err err;
	bool live = false;
	int r = pv_session_load(ctl->cfg.session_dir, id, &s, &err);

	if (r == PV_NOTFOUND)
		return false;
	return r != PV_OK || ctl_session_live(&s, &live) != PV_OK || live;
}

/* Sessions opened with a recording, never closed, and not live: a crash, a killed monitor or
 * a lost close. Nothing vouches for their recording. */
static void report_unclosed(struct verify_ctx *v)
{
	char hex[PV_RECORDING_HEX];
	struct pv_err err;
	int64_t bytes = 0;
	size_t i;
	int r;

	for (i = 0; i < v->n_opens; i++) {
		if (still_running(v->ctl, v->opens[i].id))
			continue;
		v->bad++;
		r = pv_recording_digest(v->ctl->cfg.recording_dir, v->opens[i].id, &bytes, hex,
		                        &err);
		ctl_error("session %s of %s: its recording is not sealed (no session_close, not "
		          "live); its files are %s",
		          v->opens[i].id, v->opens[i].user,
		          r == PV_NOTFOUND ? "not there" : (r == PV_OK ? "there" : "incomplete"));
	}
}

int ctl_verify_recordings(struct otpctl *ctl)
{
	struct verify_ctx v = {ctl, 0, 0, 0, NULL, 0, 0, false};
	struct pv_err err;
	int rc = EXIT_FAIL;

	if (pv_audit_foreach(ctl->cfg.audit_log, verify_line, &v, &err) != PV_OK) {
		ctl_error("cannot read the audit log: %s", err.msg);
		goto out;
	}
	if (v.oom) {
		ctl_error("out of memory");
		goto out;
	}
	report_unclosed(&v);
	if (v.bad > 0)
		goto out;
	if (!ctl->json)
		printf("recordings intact: %u checked against their session_close lines (%u of "
		       "them ran no shell and have none)\n",
		       v.checked, v.no_shell);
	rc = EXIT_OK;
out:
	free(v.opens);
	return rc;
}

/* otpctl expire: recordings older than recording_keep go, never one of a live session. */
int ctl_prune_recordings(struct otpctl *ctl, unsigned *removed)
{
	struct pv_session *list = NULL;
	char **live = NULL;
	struct pv_err err;
	size_t n = 0;
	size_t i;
	int rc = EXIT_FAIL;

	*removed = 0;
	if (pv_session_list(ctl->cfg.session_dir, &list, &n, &err) != PV_OK) {
		ctl_error("recordings not pruned: %s", err.msg);
		return EXIT_FAIL;
	}
	live = calloc(n + 1, sizeof(*live));
	if (live == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		live[i] = list[i].id;
	if (pv_recording_prune(ctl->cfg.recording_dir, ctl->now - ctl->cfg.recording_keep, live, n,
	                       removed, &err) != PV_OK) {
		ctl_error("recordings not pruned: %s", err.msg);
		goto out;
	}
	rc = EXIT_OK;
out:
	free(live);
	free(list);
	return rc;
}

void ctl_set_recorder_shell(const struct otpctl *ctl, const char *name)
{
	const char *argv[] = {"/usr/sbin/usermod", "-s", ctl->cfg.recorder, "--", name, NULL};
	char out[1024];
	struct pv_err err;
	int status = -1;

	if (pv_recording_check_recorder(ctl->cfg.recorder, &err) != PV_OK)
		ctl_warn("%s: the sessions of %s will be refused until it is", err.msg, name);
	if (ctl_run(argv, true, 30, out, sizeof(out), &status, &err) != PV_OK || status != 0) {
		ctl_warn(
		    "cannot make the recorder the login shell of %s (%s); pam_vendor refuses its "
		    "sessions until it is: usermod -s %s %s",
		    name, status > 0 ? out : err.msg, ctl->cfg.recorder, name);
		return;
	}
	if (!ctl->json)
		printf("The login shell of %s is now the session recorder %s.\n", name,
		       ctl->cfg.recorder);
}

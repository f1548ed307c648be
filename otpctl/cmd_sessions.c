/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_sessions.c — `otpctl sessions`: who is connected now, from the records the module (SSH)
 * and the OpenVPN plugin (tunnels) keep in session_dir: vendor, kind, address, since when,
 * until when its window lets it stay, and the process or tunnel that carries it. `otpctl
 * sessions kill ID` ends one of them, audited, exactly as `otpctl expire` ends a session
 * (cmd_expire.c, vpn_mgmt.c). A record whose process is gone (a crashed sshd, a reboot without
 * a clean session_dir) is shown as stale and is never signalled. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "otpctl.h"
#include "recording.h"
#include "session.h"
#include "timeparse.h"

#define WHY_KILLED "ended by the admin (otpctl sessions kill)"

/* What the vendor's record says about how long it may stay. */
struct stay {
	enum pv_window state;
	bool known;         /* false: the vendor has no record (removed) */
	int64_t window_end; /* when state is open */
};

static const char *kind_name(enum pv_session_kind kind)
{
	return kind == PV_SESSION_VPN ? "vpn" : "ssh";
}

/* Does the record's process still run (same start time)? PV_ERR is printed. */
int ctl_session_live(const struct pv_session *s, bool *live)
{
	struct pv_err err;
	uint64_t start = 0;
	int r = pv_process_start(s->pid, &start, &err);

	*live = (r == PV_OK && start == s->pid_start);
	if (r == PV_ERR) {
		ctl_error("%s", err.msg);
		return PV_ERR;
	}
	return PV_OK;
}

static int stay_of(struct otpctl *ctl, const char *name, struct stay *st)
{
	struct pv_record *rec = calloc(1, sizeof(*rec));
	struct pv_err err;
	int r;

	memset(st, 0, sizeof(*st));
	if (rec == NULL) {
		ctl_error("out of memory");
		return PV_ERR;
	}
	r = pv_store_load(ctl->store, &ctl->keys, name, rec, &err);
	if (r == PV_OK) {
		st->known = true;
		st->state = pv_window_state(rec, ctl->now);
		st->window_end = rec->window_end;
	} else if (r != PV_NOTFOUND) {
		ctl_error("%s", err.msg);
	}
	sodium_memzero(rec, sizeof(*rec));
	free(rec);
	return r == PV_NOTFOUND ? PV_OK : r;
}

/* "open, 1h left", "closed", "disabled" (status's words), or "removed". */
static void stay_text(const struct stay *st, int64_t now, char *buf, size_t len)
{
	char left[32];

	if (!st->known) {
		snprintf(buf, len, "removed");
	} else if (st->state == PV_WINDOW_OPEN) {
		pv_format_duration(st->window_end - now, left, sizeof(left));
		snprintf(buf, len, "open, %s left", left);
	} else {
		snprintf(buf, len, "%s", ctl_window_name(st->state));
	}
}

/* Whether a live SSH session is recorded: ", recorded" and the like; "" with
 * session_recording = off (nothing is). */
static const char *recorded_text(const struct otpctl *ctl, const struct pv_session *s)
{
	if (!ctl->cfg.recording_required)
		return "";
	switch (pv_recording_state(ctl->cfg.recording_dir, s->id)) {
	case PV_RECORDING_ON:
		return ", recorded";
	case PV_RECORDING_READY:
		return ", recording not started yet";
	default:
		return ", NOT recorded";
	}
}

static void print_text(const struct otpctl *ctl, const struct pv_session *s, bool live,
                       const struct stay *st)
{
	char since[PV_TIME_TEXT_MAX];
	char stay[96];

	ctl_local_time(s->opened, since, sizeof(since));
	stay_text(st, ctl->now, stay, sizeof(stay));
	printf("%-16s %-3s  %-20s %.16s  %s\n", s->user, kind_name(s->kind),
	       s->rhost[0] ? s->rhost : "unknown", since, stay);
	if (s->kind == PV_SESSION_VPN)
		printf("%-16s id %s, tunnel %s (OpenVPN pid %ld)%s\n", "", s->id, s->tunnel, s->pid,
		       live ? "" : ", STALE: the server is gone");
	else
		printf("%-16s id %s, pid %ld (sshd)%s%s\n", "", s->id, s->pid,
		       recorded_text(ctl, s), live ? "" : ", STALE: the process is gone");
}

static void append_json(struct pv_buf *b, const struct otpctl *ctl, const struct pv_session *s,
                        bool live, const struct stay *st)
{
	bool first = true;

	pv_buf_puts(b, "{");
	pv_json_key_string(b, &first, "id", s->id);
	pv_json_key_string(b, &first, "vendor", s->user);
	pv_json_key_string(b, &first, "kind", kind_name(s->kind));
	pv_json_key_string(b, &first, "service", s->service);
	pv_json_key_string(b, &first, "from", s->rhost[0] ? s->rhost : NULL);
	ctl_json_time(b, &first, "since", s->opened);
	pv_json_key_int(b, &first, "seconds", ctl->now > s->opened ? ctl->now - s->opened : 0);
	pv_json_key_string(b, &first, "window", st->known ? ctl_window_name(st->state) : "removed");
	ctl_json_time(b, &first, "window_end",
	              st->known && st->state == PV_WINDOW_OPEN ? st->window_end : 0);
	pv_json_key_int(b, &first, "pid", s->pid);
	pv_json_key_string(b, &first, "tunnel", s->tunnel[0] ? s->tunnel : NULL);
	pv_json_key_bool(b, &first, "live", live);
	pv_json_key_bool(b, &first, "recorded",
	                 s->kind == PV_SESSION_SSH &&
	                     pv_recording_state(ctl->cfg.recording_dir, s->id) == PV_RECORDING_ON);
	pv_buf_puts(b, "}");
}

int cmd_sessions(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("sessions");
	struct pv_session *list = NULL;
	struct pv_buf b;
	struct pv_err err;
	size_t n = 0;
	size_t i;
	int rc = EXIT_OK;

	if (argc > 1)
		return ctl_usage_arg(cmd, argv[1]);
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (pv_session_list(ctl->cfg.session_dir, &list, &n, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	pv_buf_init(&b, 64 * 1024 * 1024);
	pv_buf_puts(&b, "{\"sessions\":[");
	if (!ctl->json && n == 0)
		printf("No vendor is connected.\n");
	else if (!ctl->json)
		printf("%-16s %-4s %-20s %-17s %s\n", "VENDOR", "KIND", "FROM", "SINCE", "WINDOW");
	for (i = 0; i < n; i++) {
		struct stay st;
		bool live = false;

		if (ctl_session_live(&list[i], &live) != PV_OK ||
		    stay_of(ctl, list[i].user, &st) != PV_OK) {
			rc = EXIT_FAIL;
			continue;
		}
		if (ctl->json) {
			if (i > 0)
				pv_buf_puts(&b, ",");
			append_json(&b, ctl, &list[i], live, &st);
		} else {
			print_text(ctl, &list[i], live, &st);
		}
	}
	pv_buf_puts(&b, "]}");
	if (ctl->json && rc == EXIT_OK)
		rc = ctl_print_json(&b);
	pv_buf_free(&b);
	free(list);
	return rc;
}

int cmd_sessions_kill(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("sessions kill");
	struct pv_session s;
	struct pv_err err;
	unsigned ended = 0;
	int rc;
	int r;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_error(cmd, "sessions kill takes one session ID");
	if (!pv_session_id_valid(argv[1])) {
		ctl_error(
		    "\"%.64s\" is not a session id (%d hexadecimal digits, as otpctl sessions "
		    "shows)",
		    argv[1], PV_SESSION_ID_LEN);
		return EXIT_FAIL;
	}
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	r = pv_session_load(ctl->cfg.session_dir, argv[1], &s, &err);
	if (r == PV_NOTFOUND) {
		ctl_error("no live session has id %s (otpctl sessions lists them)", argv[1]);
		return EXIT_FAIL;
	}
	if (r != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	if (s.kind == PV_SESSION_VPN)
		rc = ctl_vpn_end_tunnel(ctl, &s, WHY_KILLED, &ended);
	else
		rc = ctl_end_session(ctl, &s, WHY_KILLED, &ended);
	if (rc == EXIT_OK && ended == 0 && !ctl->json)
		printf("Session %s of %s had already ended; its record is removed.\n", s.id,
		       s.user);
	if (ctl->json)
		printf("{\"id\":\"%s\",\"vendor\":\"%s\",\"ended\":%s,\"ok\":%s}\n", s.id, s.user,
		       ended > 0 ? "true" : "false", rc == EXIT_OK ? "true" : "false");
	return rc;
}

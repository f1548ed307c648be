/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl.c — helpers shared by every otpctl command: messages, opening config/key/store,
 * the audit lines otpctl writes, --ip parsing and JSON output. */
#include "audit_seal.h"
#include "otpctl.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipmatch.h"
#include "log.h"
#include "session.h"
#include "timeparse.h"
#include "vendorlist.h"
#include "vendorname.h"

/* otpctl's messages go through the core's one logging function (stderr without a PAM
 * handle), so the module and otpctl word their errors the same way. */
void ctl_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pv_vlog(NULL, LOG_ERR, fmt, ap);
	va_end(ap);
}

void ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pv_vlog(NULL, LOG_WARNING, fmt, ap);
	va_end(ap);
}

int ctl_usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("otpctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL)
		fprintf(stderr, "usage: otpctl %s\n(see: otpctl %s --help)\n", cmd->usage,
		        cmd->name);
	return EXIT_USAGE;
}

int ctl_usage_arg(const struct command *cmd, const char *arg)
{
	return ctl_usage_error(
	    cmd, arg[0] == '-' ? "unknown option %.64s" : "unexpected argument \"%.64s\"", arg);
}

bool ctl_wants_help(const struct command *cmd, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: otpctl %s\n\n%s\n", cmd->usage, cmd->help);
			return true;
		}
	}
	return false;
}

int ctl_load_config(struct otpctl *ctl)
{
	struct pv_err err;

	if (pv_config_load(ctl->config_path, &ctl->cfg, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctl_load_keys(struct otpctl *ctl)
{
	struct pv_err err;

	if (pv_keys_load(ctl->cfg.key_file, &ctl->keys, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	ctl->have_keys = true;
	return EXIT_OK;
}

int ctl_open_store(struct otpctl *ctl)
{
	struct pv_err err;

	if (pv_store_open(&ctl->cfg, &ctl->store, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctl_open(struct otpctl *ctl)
{
	if (ctl_load_config(ctl) != EXIT_OK || ctl_load_keys(ctl) != EXIT_OK ||
	    ctl_open_store(ctl) != EXIT_OK)
		return EXIT_FAIL;
	return EXIT_OK;
}

void ctl_close(struct otpctl *ctl)
{
	pv_keys_wipe(&ctl->keys);
	ctl->have_keys = false;
	pv_store_close(ctl->store);
	ctl->store = NULL;
}

bool ctl_check_name(const char *name)
{
	if (pv_vendor_name_valid(name))
		return true;
	ctl_error("\"%.64s\" is not a valid vendor name (lower-case letters, digits, '_', '.', "
	          "'-', starting with a letter or '_', at most %d characters)",
	          name, PV_NAME_MAX);
	return false;
}

/* One line to the audit log (and, with the database backend, its audit table). On failure
 * says why and what was therefore not done (`undone`). */
/* Where otpctl's audit lines go: the log, and the database's audit table when the store is
 * open on PostgreSQL. */
static struct pv_audit_sink ctl_sink(struct otpctl *ctl)
{
	const struct pv_audit_sink sink = {
	    .log = ctl->cfg.audit_log,
	    .keys = &ctl->keys,
	    .lock_timeout = (int)ctl->cfg.lock_timeout,
	    .mirror = ctl->store != NULL ? pv_store_audit_mirror : NULL,
	    .mirror_ctx = ctl->store,
	};

	return sink;
}

static int append(struct otpctl *ctl, const struct pv_audit_event *ev, int64_t now,
                  const char *undone)
{
	const struct pv_audit_sink sink = ctl_sink(ctl);
	struct pv_err err;

	if (!ctl->have_keys) {
		ctl_error("no key loaded: cannot write the audit log");
		return EXIT_FAIL;
	}
	/* No event: only the seal of the epochs that have ended (otpctl expire). */
	if (ev == NULL) {
		if (pv_audit_seal_due(&sink, now, &err) == PV_OK)
			return EXIT_OK;
		ctl_error("%s; %s", err.msg, undone);
		return EXIT_FAIL;
	}
	if (pv_audit_append(&sink, ev, now, &err) != PV_OK) {
		ctl_error("%s; %s", err.msg, undone);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctl_audit_seal_stop(struct otpctl *ctl)
{
	const struct pv_audit_sink sink = ctl_sink(ctl);
	struct pv_audit_event ev;
	struct pv_err err;

	pv_audit_event_init(&ev);
	ev.service = "otpctl";
	ev.result = "allow";
	ev.reason = "ok";
	ev.action = "audit_sealing_stop";
	ev.admin = ctl->admin;
	if (pv_audit_seal_stop(&sink, &ev, ctl->now, &err) != PV_OK) {
		ctl_error("%s; sealing was not stopped", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctl_audit_seal_due(struct otpctl *ctl)
{
	return append(ctl, NULL, (int64_t)time(NULL), "the ended epochs are not sealed yet");
}

int ctl_audit(struct otpctl *ctl, const char *action, const char *vendor, const char *result,
              const char *reason, const char *detail)
{
	struct pv_audit_event ev;

	pv_audit_event_init(&ev);
	ev.event = "admin";
	ev.service = "otpctl";
	ev.user = vendor;
	ev.result = result;
	ev.reason = reason;
	ev.action = action;
	ev.admin = ctl->admin;
	ev.detail = detail;
	if (append(ctl, &ev, ctl->now, "nothing was changed") != EXIT_OK)
		return EXIT_FAIL;
	if (strcmp(result, "allow") == 0)
		snprintf(ctl->audited_action, sizeof(ctl->audited_action), "%s", action);
	return EXIT_OK;
}

int ctl_audit_session_end(struct otpctl *ctl, const struct pv_session *s, long pid,
                          const char *event, const char *detail)
{
	struct pv_audit_event ev;
	int64_t now = (int64_t)time(NULL);

	pv_audit_event_init(&ev);
	ev.event = event;
	ev.service = "otpctl";
	ev.user = s->user;
	ev.rhost = s->rhost[0] ? s->rhost : NULL;
	ev.result = "allow";
	ev.reason = "ok";
	ev.session = s->id[0] ? s->id : NULL;
	ev.pid = pid;
	ev.admin = ctl->admin;
	ev.detail = detail;
	if (strcmp(event, "admin") == 0)
		ev.action = "session_terminated";
	else
		ev.duration_s = now > s->opened ? now - s->opened : 0;
	return append(ctl, &ev, now,
	              s->kind == PV_SESSION_VPN ? "the tunnel was not ended"
	                                        : "the session was not ended");
}

int ctl_store_update(struct otpctl *ctl, const char *name, pv_modify_fn fn, void *ctx)
{
	struct pv_err err;
	int r;

	err.msg[0] = '\0';
	ctl->audited_action[0] = '\0';
	r = pv_store_update(ctl->store, &ctl->keys, name, fn, ctx, &err);
	if (r == PV_OK)
		return EXIT_OK;
	if (r == PV_NOTFOUND) {
		ctl_error("vendor %s does not exist", name);
		return EXIT_FAIL;
	}
	if (err.msg[0] != '\0')
		ctl_error("%s", err.msg);
	if (ctl->audited_action[0] != '\0')
		(void)ctl_audit(ctl, ctl->audited_action, name, "error", "store_error",
		                "the change was not saved");
	return EXIT_FAIL;
}

int ctl_parse_ip(const struct command *cmd, const char *text, struct pv_cidr *list, size_t *n,
                 size_t max)
{
	struct pv_err err;
	size_t i;

	if (*n >= max)
		return ctl_usage_error(cmd, "too many --ip values (at most %zu)", max);
	if (pv_cidr_parse(text, &list[*n], &err) != PV_OK)
		return ctl_usage_error(cmd, "%s", err.msg);
	for (i = 0; i < *n; i++) {
		if (memcmp(&list[i], &list[*n], sizeof(list[i])) == 0)
			return ctl_usage_error(cmd, "--ip %.64s is given twice", text);
	}
	(*n)++;
	return EXIT_OK;
}

/* Split "host:port" or "[v6]:port" into host (copied) and port. */
static bool split_host_port(const char *text, char *host, size_t host_len, uint16_t *port)
{
	const char *colon;
	const char *h = text;
	size_t len;
	uint64_t v;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':')
			return false;
		h = text + 1;
		len = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL)
			return false; /* no port, or an IPv6 address without brackets */
		len = (size_t)(colon - text);
	}
	if (len == 0 || len >= host_len || pv_parse_u64(colon + 1, 65535, &v) != PV_OK || v == 0)
		return false;
	memcpy(host, h, len);
	host[len] = '\0';
	*port = (uint16_t)v;
	return true;
}

/* Add one resolved address to list unless it is there already. */
static int add_target(const struct sockaddr *sa, uint16_t port, struct pv_target *list, size_t *n,
                      size_t max, const char *text)
{
	char numeric[PV_IP_TEXT_MAX];
	struct pv_target t;
	size_t i;

	if (getnameinfo(sa,
	                sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
	                                         : sizeof(struct sockaddr_in6),
	                numeric, sizeof(numeric), NULL, 0, NI_NUMERICHOST) != 0 ||
	    pv_addr_parse(numeric, &t.host) != PV_OK) {
		ctl_error("--target %.64s resolved to an address that cannot be used", text);
		return EXIT_FAIL;
	}
	t.port = port;
	for (i = 0; i < *n; i++)
		if (memcmp(&list[i].host, &t.host, sizeof(t.host)) == 0 && list[i].port == port)
			return EXIT_OK;
	if (*n >= max) {
		ctl_error("too many targets (at most %zu addresses)", max);
		return EXIT_FAIL;
	}
	list[(*n)++] = t;
	return EXIT_OK;
}

int ctl_parse_target(const char *text, struct pv_target *list, size_t *n, size_t max)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	char host[256];
	uint16_t port;
	int r;
	int rc = EXIT_OK;

	if (!split_host_port(text, host, sizeof(host), &port)) {
		char shown[PV_SHOWN_MAX + 1];
		pv_err_shown(text, shown);
		ctl_error("--target %s is not HOST:PORT (a name or address, and a port 1-65535; "
		          "[ADDRESS]:PORT for IPv6)",
		          shown);
		return EXIT_FAIL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* Resolved now, stored numeric: sshd's permitopen then names exactly these addresses. */
	r = getaddrinfo(host, NULL, &hints, &res);
	if (r != 0) {
		char shown[PV_SHOWN_MAX + 1];
		pv_err_shown(host, shown);
		ctl_error("--target: cannot resolve %s: %s", shown, gai_strerror(r));
		return EXIT_FAIL;
	}
	for (ai = res; ai != NULL && rc == EXIT_OK; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			rc = add_target(ai->ai_addr, port, list, n, max, text);
	freeaddrinfo(res);
	return rc;
}

int ctl_print_json(struct pv_buf *b)
{
	if (b->failed) {
		ctl_error("output too large or out of memory");
		return EXIT_FAIL;
	}
	fwrite(b->data, 1, b->len, stdout);
	fputc('\n', stdout);
	return EXIT_OK;
}

void ctl_local_time(int64_t t, char *buf, size_t len)
{
	pv_format_local((time_t)t, buf, len);
}

int ctl_vendor_list_set(const struct otpctl *ctl, const char *name, bool listed)
{
	struct pv_err err;

	if (ctl->cfg.store_backend != PV_STORE_POSTGRESQL)
		return EXIT_OK;
	if (pv_vendorlist_set(ctl->cfg.store_dir, name, listed, (int)ctl->cfg.lock_timeout, &err) !=
	    PV_OK) {
		ctl_error("cannot update the local vendor list: %s", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctl_vendor_list_refresh(const struct otpctl *ctl, char (*names)[PV_NAME_MAX + 1], size_t n)
{
	struct pv_err err;

	if (ctl->cfg.store_backend != PV_STORE_POSTGRESQL)
		return EXIT_OK;
	if (pv_vendorlist_write(ctl->cfg.store_dir, names, n, (int)ctl->cfg.lock_timeout, &err) !=
	    PV_OK) {
		ctl_error("cannot write the local vendor list: %s", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int ctl_passwd_has(const char *file, const char *name)
{
	size_t nlen = strlen(name);
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	f = fopen(file, "re");
	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) >= 0)
		if (strncmp(line, name, nlen) == 0 && line[nlen] == ':')
			found = 1;
	if (ferror(f))
		found = -1;
	free(line);
	if (fclose(f) != 0)
		found = -1;
	return found;
}

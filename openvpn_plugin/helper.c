/* SPDX-License-Identifier: BSD-3-Clause */
/* helper.c — the plugin's root helper: forked when OpenVPN opens the plugin (still root), it
 * stays root after OpenVPN drops to `user nobody` and does everything that touches
 * pam_vendor's files: the window and address check when a tunnel comes up, the session record
 * and the session_open / session_close audit lines. It serves one request at a time; each
 * request loads config, key and store afresh and releases them before answering, so nothing
 * of one client is kept for the next (the same discipline as the PAM module). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "config.h"
#include "keys.h"
#include "policy.h"
#include "store.h"
#include "timeparse.h"
#include "vpn_proto.h"

/* Everything one request works with. */
struct call {
	const struct vpn_settings *set;
	const struct vpn_request *req;
	struct pv_config cfg;
	struct pv_keys keys;
	bool have_keys;
	struct pv_store *store;
	int64_t now;
};

/* Errors go to OpenVPN's log (the helper's stderr is OpenVPN's) and to syslog (authpriv,
 * beside the module's messages). Never a secret: there is none here. */
static void helper_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void helper_log(int priority, const char *fmt, ...)
{
	char text[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s helper: %s\n", VPN_PLUGIN_NAME, text);
	syslog(LOG_AUTHPRIV | priority, "%s helper: %s", VPN_PLUGIN_NAME, text);
}

/* Config, libsodium and store; the key only for a vendor (need_keys). *vendor: the user has a
 * record. PV_ERR (logged) when any of it fails: the caller refuses. */
static int open_call(struct call *c, bool need_record, bool *vendor)
{
	struct pv_err err;
	bool exists = false;

	*vendor = false;
	if (pv_config_load(c->set->config, &c->cfg, &err) != PV_OK ||
	    pv_crypto_init(&err) != PV_OK || pv_store_open(&c->cfg, &c->store, &err) != PV_OK)
		goto fail;
	if (need_record) {
		if (pv_store_exists(c->store, c->req->user, &exists, &err) != PV_OK)
			goto fail;
		if (!exists)
			return PV_OK;
	}
	if (pv_keys_load(c->cfg.key_file, &c->keys, &err) != PV_OK)
		goto fail;
	c->have_keys = true;
	*vendor = true;
	return PV_OK;
fail:
	helper_log(LOG_ERR, "user=%s: %s", c->req->user, err.msg);
	return PV_ERR;
}

static void close_call(struct call *c)
{
	pv_keys_wipe(&c->keys);
	c->have_keys = false;
	pv_store_close(c->store);
	c->store = NULL;
}

/* Append one audit line about this tunnel; logs and returns PV_ERR when it cannot. */
static int audit(struct call *c, struct pv_audit_event *ev, const char *event, const char *result,
                 enum pv_reason reason)
{
	const struct pv_audit_sink sink = {
	    .log = c->cfg.audit_log,
	    .keys = &c->keys,
	    .lock_timeout = (int)c->cfg.lock_timeout,
	    .mirror = pv_store_audit_mirror, /* the database's audit table, if any */
	    .mirror_ctx = c->store,
	};
	struct pv_err err;

	ev->event = event;
	ev->service = c->set->service;
	ev->user = c->req->user;
	ev->result = result;
	ev->reason = pv_reason_name(reason);
	if (pv_audit_append(&sink, ev, c->now, &err) != PV_OK) {
		helper_log(LOG_ERR, "%s %s user=%s reason=%s: cannot write the audit log: %s",
		           event, result, c->req->user, ev->reason, err.msg);
		return PV_ERR;
	}
	return PV_OK;
}

/* The account-phase decision (rhost, window, hours, address) on the vendor's fresh record:
 * the same checks pam_acct_mgmt makes, without its "code verified on this PAM handle" part,
 * which belongs to the auth-pam plugin's transaction. */
static int decide(struct call *c, struct pv_decision *d, int64_t *window_end)
{
	struct pv_request preq = {.phase = PV_PHASE_ACCOUNT, .rhost = c->req->rhost};
	struct pv_record *rec;
	struct pv_err err;
	int rc = PV_ERR;

	rec = malloc(sizeof(*rec));
	if (rec == NULL)
		return PV_ERR;
	if (pv_store_load(c->store, &c->keys, c->req->user, rec, &err) != PV_OK) {
		helper_log(LOG_ERR, "user=%s: %s", c->req->user, err.msg);
		goto out;
	}
	pv_local_wday_minute(c->now, &preq.local_wday, &preq.local_minute);
	pv_decide(rec, &preq, c->now, d);
	*window_end = rec->window_end;
	rc = PV_OK;
out:
	pv_record_wipe(rec);
	free(rec);
	return rc;
}

/* Write the record otpctl expire reads to end this tunnel; its pid is the OpenVPN server. */
static int record_session(struct call *c, char id[PV_SESSION_ID_LEN + 1])
{
	unsigned char rnd[PV_SESSION_ID_LEN / 2];
	struct pv_session s;
	struct pv_cidr addr;
	struct pv_err err;

	memset(&s, 0, sizeof(s));
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(s.id, sizeof(s.id), rnd, sizeof(rnd));
	snprintf(s.user, sizeof(s.user), "%s", c->req->user);
	snprintf(s.service, sizeof(s.service), "%s", c->set->service);
	s.kind = PV_SESSION_VPN;
	if (pv_addr_parse(c->req->rhost, &addr) == PV_OK)
		pv_cidr_format(&addr, s.rhost, sizeof(s.rhost));
	snprintf(s.tunnel, sizeof(s.tunnel), "%s", c->req->tunnel);
	s.pid = c->set->server_pid;
	s.pid_start = c->set->server_start;
	s.opened = c->now;
	if (pv_session_save(c->cfg.session_dir, &s, &err) != PV_OK) {
		helper_log(LOG_ERR, "user=%s: %s", c->req->user, err.msg);
		return PV_ERR;
	}
	memcpy(id, s.id, sizeof(s.id));
	return PV_OK;
}

static void forget_session(struct call *c, const char *id)
{
	struct pv_err err;

	if (pv_session_remove(c->cfg.session_dir, id, &err) == PV_ERR)
		helper_log(LOG_ERR, "user=%s: %s", c->req->user, err.msg);
}

static void tunnel_detail(const struct vpn_request *req, char *buf, size_t len)
{
	if (req->vpn_addr[0] != '\0')
		snprintf(buf, len, "OpenVPN tunnel from %s, VPN address %s", req->tunnel,
		         req->vpn_addr);
	else
		snprintf(buf, len, "OpenVPN tunnel from %s", req->tunnel);
}

/* A tunnel comes up: a vendor outside its window or address is refused; a vendor's tunnel
 * is recorded and audited, or refused when that fails (a tunnel that could not be ended
 * must not start). Not a vendor: not ours to judge (the PAM stack judged it at auth). */
static void handle_connect(struct call *c, struct vpn_reply *rep)
{
	struct pv_audit_event ev;
	struct pv_decision d;
	char detail[256];
	int64_t window_end = 0;
	bool vendor = false;

	if (open_call(c, true, &vendor) != PV_OK)
		return;
	if (!vendor) {
		rep->allow = 1;
		return;
	}
	pv_audit_event_init(&ev);
	ev.rhost = c->req->rhost[0] != '\0' ? c->req->rhost : NULL;
	ev.pid = c->set->server_pid;
	tunnel_detail(c->req, detail, sizeof(detail));
	ev.detail = detail;
	if (decide(c, &d, &window_end) != PV_OK) {
		(void)audit(c, &ev, "session_open", "deny", PV_R_STORE_ERROR);
		return;
	}
	if (!d.allow) {
		(void)audit(c, &ev, "session_open", "deny", d.reason);
		return;
	}
	if (record_session(c, rep->session) != PV_OK) {
		(void)audit(c, &ev, "session_open", "deny", PV_R_STORE_ERROR);
		rep->session[0] = '\0';
		return;
	}
	ev.session = rep->session;
	if (audit(c, &ev, "session_open", "allow", PV_R_OK) != PV_OK) {
		forget_session(c, rep->session);
		rep->session[0] = '\0';
		return;
	}
	rep->window_end = window_end;
	rep->allow = 1;
}

/* A recorded tunnel went down: session_close with the duration measured from the record's
 * opening (as sshd's close is) and OpenVPN's byte counts, then the record goes. A record
 * that is not this server's tunnel of this user is left alone. */
static void handle_disconnect(struct call *c, struct vpn_reply *rep)
{
	struct pv_audit_event ev;
	struct pv_session s;
	struct pv_err err;
	bool vendor = false;
	int found;

	if (open_call(c, false, &vendor) != PV_OK)
		return;
	found = pv_session_load(c->cfg.session_dir, c->req->session, &s, &err);
	if (found == PV_ERR) {
		helper_log(LOG_ERR, "user=%s: %s", c->req->user, err.msg);
		return;
	}
	if (found == PV_OK && (s.kind != PV_SESSION_VPN || s.pid != c->set->server_pid ||
	                       strcmp(s.user, c->req->user) != 0)) {
		helper_log(LOG_ERR, "session %s is not this server's tunnel of %s: left alone",
		           c->req->session, c->req->user);
		return;
	}
	pv_audit_event_init(&ev);
	ev.session = c->req->session;
	ev.pid = c->set->server_pid;
	ev.bytes_in = c->req->bytes_in;
	ev.bytes_out = c->req->bytes_out;
	if (found == PV_OK) {
		ev.rhost = s.rhost[0] != '\0' ? s.rhost : NULL;
		ev.duration_s = c->now > s.opened ? c->now - s.opened : 0;
	} else {
		ev.rhost = c->req->rhost[0] != '\0' ? c->req->rhost : NULL;
		ev.duration_s = c->req->duration_s;
		ev.detail = "no session record left; duration as OpenVPN counted it";
	}
	if (audit(c, &ev, "session_close", "allow", PV_R_OK) != PV_OK)
		return; /* the record stays: otpctl expire closes it when the window ends */
	if (found == PV_OK)
		forget_session(c, c->req->session);
	rep->allow = 1;
}

/* A request as received: every string ends inside its array, the user is a vendor name. */
static bool request_sane(struct vpn_request *req)
{
	req->user[sizeof(req->user) - 1] = '\0';
	req->rhost[sizeof(req->rhost) - 1] = '\0';
	req->tunnel[sizeof(req->tunnel) - 1] = '\0';
	req->vpn_addr[sizeof(req->vpn_addr) - 1] = '\0';
	req->session[sizeof(req->session) - 1] = '\0';
	return (req->kind == VPN_CONNECT || req->kind == VPN_DISCONNECT) &&
	       pv_vendor_name_valid(req->user);
}

static void handle(const struct vpn_settings *set, struct vpn_request *req, struct vpn_reply *rep)
{
	struct call c;

	memset(rep, 0, sizeof(*rep));
	if (!request_sane(req)) {
		helper_log(LOG_ERR, "malformed request refused");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.set = set;
	c.req = req;
	c.now = (int64_t)time(NULL);
	if (req->kind == VPN_CONNECT)
		handle_connect(&c, rep);
	else
		handle_disconnect(&c, rep);
	close_call(&c);
}

/* Usable at all? Config and key load: else OpenVPN refuses to start, saying why. */
static unsigned char startup_check(const struct vpn_settings *set)
{
	struct pv_config cfg;
	struct pv_keys keys;
	struct pv_err err;

	if (pv_config_load(set->config, &cfg, &err) != PV_OK || pv_crypto_init(&err) != PV_OK ||
	    pv_keys_load(cfg.key_file, &keys, &err) != PV_OK) {
		helper_log(LOG_ERR, "%s", err.msg);
		return 0;
	}
	pv_keys_wipe(&keys);
	return 1;
}

/* OpenVPN's handlers are not ours. SIGINT, SIGHUP and SIGTERM are ignored: on a stop or a
 * Ctrl-C OpenVPN closes every tunnel and needs the helper for their session_close lines; the
 * helper leaves when OpenVPN closes its end of the socket (also when OpenVPN dies). */
static void set_signals(void)
{
	static const int ignored[] = {SIGINT, SIGHUP, SIGTERM, SIGUSR1, SIGUSR2, SIGPIPE};
	sigset_t none;
	size_t i;

	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void vpn_helper_main(int fd, const struct vpn_settings *set)
{
	struct vpn_request req;
	struct vpn_reply rep;
	unsigned char ready;

	set_signals();
	(void)prctl(PR_SET_NAME, "pv-vpn-helper", 0, 0, 0); /* ps and tests tell it apart */
	ready = startup_check(set);
	if (send(fd, &ready, 1, MSG_NOSIGNAL) != 1 || ready != 1)
		_exit(1);
	for (;;) {
		ssize_t n = recv(fd, &req, sizeof(req), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* OpenVPN closed the plugin, or is gone */
		if ((size_t)n != sizeof(req)) {
			memset(&rep, 0, sizeof(rep));
			helper_log(LOG_ERR, "request of %zd bytes refused", n);
		} else {
			handle(set, &req, &rep);
		}
		if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) != (ssize_t)sizeof(rep))
			break;
	}
	/* _exit: this is a fork of OpenVPN, whose atexit handlers and stdio buffers are not ours.
	 */
	_exit(0);
}

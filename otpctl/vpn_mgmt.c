/* SPDX-License-Identifier: BSD-3-Clause */
/* vpn_mgmt.c — ending a vendor's live OpenVPN tunnels through the server's management
 * interface (the unix socket named by openvpn_management): `status 3` finds the vendor's
 * clients, `client-kill CID HALT,...` makes each exit (a plain client-kill only restarts it),
 * and `status 3` again proves them gone. Tunnels are found from the session records the
 * OpenVPN plugin writes (openvpn_plugin/), whose pid is the OpenVPN server. Every wait is
 * bounded: a stalled or absent socket is a clear error, never a hang. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "otpctl.h"
#include "session.h"
#include "timeparse.h"

#define MGMT_TIMEOUT_MS 5000 /* connect, and each answer of OpenVPN (it answers at once) */
#define GONE_WAIT_S     15   /* OpenVPN closes a killed client 5 s later (scheduled exit) */
#define MGMT_LINE_MAX   2048
#define MAX_ROWS        256

struct mgmt {
	int fd;
	const char *path;
	char buf[MGMT_LINE_MAX * 2];
	size_t len;
};

/* One CLIENT_LIST row of the vendor: its client id and real address. */
struct vpn_row {
	unsigned long cid;
	char addr[PV_TUNNEL_TEXT_MAX];
};

/* The next line from OpenVPN ("\r\n" stripped), waiting at most MGMT_TIMEOUT_MS. */
static int mgmt_line(struct mgmt *m, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(m->buf, '\n', m->len);
		struct pollfd pfd = {m->fd, POLLIN, 0};
		ssize_t got;

		if (nl != NULL) {
			size_t n = (size_t)(nl - m->buf);
			if (n > 0 && m->buf[n - 1] == '\r')
				n--;
			if (n >= size) {
				ctl_error("%s sent a line longer than %zu bytes", m->path, size);
				return PV_ERR;
			}
			memcpy(line, m->buf, n);
			line[n] = '\0';
			m->len -= (size_t)(nl + 1 - m->buf);
			memmove(m->buf, nl + 1, m->len);
			return PV_OK;
		}
		if (m->len == sizeof(m->buf)) {
			ctl_error("%s sent a line longer than %zu bytes", m->path, sizeof(m->buf));
			return PV_ERR;
		}
		if (poll(&pfd, 1, MGMT_TIMEOUT_MS) <= 0) {
			ctl_error("OpenVPN's management socket %s did not answer within %d s (is "
			          "another management client connected?)",
			          m->path, MGMT_TIMEOUT_MS / 1000);
			return PV_ERR;
		}
		got = recv(m->fd, m->buf + m->len, sizeof(m->buf) - m->len, 0);
		if (got <= 0) {
			ctl_error("OpenVPN's management socket %s closed the connection", m->path);
			return PV_ERR;
		}
		m->len += (size_t)got;
	}
}

/* The next line that is an answer: real-time notifications (">...") are skipped. */
static int mgmt_answer(struct mgmt *m, char *line, size_t size)
{
	do
		if (mgmt_line(m, line, size) != PV_OK)
			return PV_ERR;
	while (line[0] == '>');
	return PV_OK;
}

static int mgmt_send(struct mgmt *m, const char *command)
{
	size_t len = strlen(command);
	size_t done = 0;

	while (done < len) {
		struct pollfd pfd = {m->fd, POLLOUT, 0};
		ssize_t n;

		if (poll(&pfd, 1, MGMT_TIMEOUT_MS) <= 0) {
			ctl_error("cannot write to OpenVPN's management socket %s", m->path);
			return PV_ERR;
		}
		n = send(m->fd, command + done, len - done, MSG_NOSIGNAL);
		if (n <= 0) {
			ctl_error("cannot write to OpenVPN's management socket %s: %s", m->path,
			          n < 0 ? strerror(errno) : "closed");
			return PV_ERR;
		}
		done += (size_t)n;
	}
	return PV_OK;
}

/* A one-line command: its "SUCCESS: ..." text in reply, or an error naming the answer. */
static int mgmt_command(struct mgmt *m, const char *command, char *reply, size_t size)
{
	if (mgmt_send(m, command) != PV_OK || mgmt_answer(m, reply, size) != PV_OK)
		return PV_ERR;
	if (strncmp(reply, "SUCCESS: ", 9) != 0) {
		ctl_error("OpenVPN (%s) answered \"%.200s\" to %.*s", m->path, reply,
		          (int)strcspn(command, "\n"), command);
		return PV_ERR;
	}
	return PV_OK;
}

/* Only a root-owned socket is OpenVPN's: anyone else's could fake "SUCCESS". */
static int mgmt_connect(struct mgmt *m, const char *path)
{
	struct sockaddr_un addr;
	struct stat st;
	char banner[MGMT_LINE_MAX];

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->path = path;
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		ctl_error("openvpn_management %s: path too long for a unix socket", path);
		return PV_ERR;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) != 0) {
		ctl_error("OpenVPN's management socket %s (openvpn_management): %s; is the server "
		          "running with `management %s unix`?",
		          path, strerror(errno), path);
		return PV_ERR;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != 0) {
		ctl_error("%s (openvpn_management) is not a root-owned socket", path);
		return PV_ERR;
	}
	m->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->fd < 0 || connect(m->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		ctl_error(
		    "cannot connect to OpenVPN's management socket %s (openvpn_management): %s",
		    path, strerror(errno));
		return PV_ERR;
	}
	/* ">INFO:OpenVPN Management Interface Version ..." */
	if (mgmt_line(m, banner, sizeof(banner)) != PV_OK)
		return PV_ERR;
	if (strncmp(banner, ">INFO:OpenVPN Management Interface", 34) != 0) {
		ctl_error("%s is not OpenVPN's management interface (it said \"%.80s\")", path,
		          banner);
		return PV_ERR;
	}
	return PV_OK;
}

static void mgmt_close(struct mgmt *m)
{
	if (m->fd >= 0) {
		(void)send(m->fd, "quit\n", 5, MSG_NOSIGNAL);
		close(m->fd);
	}
	m->fd = -1;
}

/* Split a tab-separated line in place into at most max fields. */
static size_t split_tabs(char *line, char **field, size_t max)
{
	size_t n = 0;

	while (n < max) {
		field[n++] = line;
		line = strchr(line, '\t');
		if (line == NULL)
			break;
		*line++ = '\0';
	}
	return n;
}

/* `status 3`: the CLIENT_LIST rows whose Username or Common Name is the vendor. Columns (2.6):
 * CLIENT_LIST, Common Name, Real Address, Virtual Address, Virtual IPv6 Address, Bytes
 * Received, Bytes Sent, Connected Since, Connected Since (time_t), Username, Client ID, ... */
static int mgmt_vendor_rows(struct mgmt *m, const char *vendor, struct vpn_row *rows, size_t *n)
{
	char line[MGMT_LINE_MAX];

	*n = 0;
	if (mgmt_send(m, "status 3\n") != PV_OK)
		return PV_ERR;
	for (;;) {
		char *f[12];
		uint64_t cid;

		if (mgmt_answer(m, line, sizeof(line)) != PV_OK)
			return PV_ERR;
		if (strcmp(line, "END") == 0)
			return PV_OK;
		if (strncmp(line, "ERROR:", 6) == 0) {
			ctl_error("OpenVPN (%s) answered \"%.200s\" to status 3", m->path, line);
			return PV_ERR;
		}
		if (split_tabs(line, f, 12) < 11 || strcmp(f[0], "CLIENT_LIST") != 0 ||
		    (strcmp(f[1], vendor) != 0 && strcmp(f[9], vendor) != 0))
			continue;
		if (pv_parse_u64(f[10], UINT32_MAX, &cid) != PV_OK ||
		    strlen(f[2]) >= PV_TUNNEL_TEXT_MAX || *n == MAX_ROWS) {
			ctl_error("cannot read OpenVPN's client list row for %s", vendor);
			return PV_ERR;
		}
		rows[*n].cid = (unsigned long)cid;
		snprintf(rows[*n].addr, sizeof(rows[*n].addr), "%s", f[2]);
		(*n)++;
	}
}

/* The vendor's tunnel records (kind vpn) whose OpenVPN server still runs; records of a server
 * that is gone are dropped (its tunnels went with it). */
static int live_records(struct otpctl *ctl, const char *vendor, struct pv_session **out, size_t *n)
{
	struct pv_session *list = NULL;
	struct pv_err err;
	size_t all = 0;
	size_t i;

	*n = 0;
	if (pv_session_list(ctl->cfg.session_dir, &list, &all, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	for (i = 0; i < all; i++) {
		uint64_t start = 0;
		int r;

		if (list[i].kind != PV_SESSION_VPN || strcmp(list[i].user, vendor) != 0)
			continue;
		r = pv_process_start(list[i].pid, &start, &err);
		if (r == PV_ERR) {
			ctl_error("%s", err.msg);
			free(list);
			return EXIT_FAIL;
		}
		if (r == PV_NOTFOUND || start != list[i].pid_start) {
			if (pv_session_remove(ctl->cfg.session_dir, list[i].id, &err) == PV_ERR)
				ctl_warn("%s", err.msg);
			continue;
		}
		list[(*n)++] = list[i];
	}
	*out = list;
	return EXIT_OK;
}

/* The record of the tunnel at addr, or a stand-in naming only the vendor and address. */
static void row_session(const struct vpn_row *row, const char *vendor,
                        const struct pv_session *recs, size_t n, struct pv_session *s)
{
	size_t i;
	char *colon;

	for (i = 0; i < n; i++)
		if (strcmp(recs[i].tunnel, row->addr) == 0) {
			*s = recs[i];
			return;
		}
	memset(s, 0, sizeof(*s));
	s->kind = PV_SESSION_VPN;
	snprintf(s->user, sizeof(s->user), "%s", vendor);
	snprintf(s->rhost, sizeof(s->rhost), "%s", row->addr);
	colon = strchr(s->rhost, ':');
	if (colon != NULL && strchr(colon + 1, ':') == NULL)
		*colon = '\0'; /* "ADDR:PORT" of an IPv4 client */
}

/* audit, then client-kill HALT with a message the client logs and shows. */
static int kill_row(struct otpctl *ctl, struct mgmt *m, const struct vpn_row *row,
                    const struct pv_session *s, long server_pid, const char *why)
{
	char command[256];
	char reply[MGMT_LINE_MAX];
	char detail[256];

	snprintf(detail, sizeof(detail), "%s; client-kill %lu HALT on OpenVPN pid %ld (tunnel %s)",
	         why, row->cid, server_pid, row->addr);
	if (ctl_audit_session_end(ctl, s, server_pid, "admin", detail) != EXIT_OK)
		return EXIT_FAIL;
	snprintf(command, sizeof(command),
	         "client-kill %lu \"HALT,pam_vendor: your access ended (%s)\"\n", row->cid, why);
	return mgmt_command(m, command, reply, sizeof(reply)) == PV_OK ? EXIT_OK : EXIT_FAIL;
}

/* Wait until none of the killed clients is listed any more. */
static int wait_gone(struct mgmt *m, const char *vendor, const struct vpn_row *killed,
                     size_t n_killed, struct vpn_row *rows)
{
	const struct timespec pause = {0, 200 * 1000 * 1000};
	time_t deadline = time(NULL) + GONE_WAIT_S;
	size_t n;
	size_t i;
	size_t k;

	for (;;) {
		bool listed = false;

		if (mgmt_vendor_rows(m, vendor, rows, &n) != PV_OK)
			return EXIT_FAIL;
		for (k = 0; k < n_killed; k++)
			for (i = 0; i < n; i++)
				listed = listed || rows[i].cid == killed[k].cid;
		if (!listed)
			return EXIT_OK;
		if (time(NULL) >= deadline) {
			ctl_error(
			    "%s's VPN tunnel is still listed by OpenVPN %d s after client-kill",
			    vendor, GONE_WAIT_S);
			return EXIT_FAIL;
		}
		nanosleep(&pause, NULL);
	}
}

/* After the tunnels are gone, a record still there means the plugin recorded no end. */
static int close_leftovers(struct otpctl *ctl, const struct pv_session *recs, size_t n)
{
	struct pv_session s;
	struct pv_err err;
	int rc = EXIT_OK;
	size_t i;

	for (i = 0; i < n; i++) {
		int r = pv_session_load(ctl->cfg.session_dir, recs[i].id, &s, &err);

		if (r == PV_NOTFOUND)
			continue; /* the plugin wrote session_close and removed it */
		if (r != PV_OK ||
		    ctl_audit_session_end(ctl, &s, s.pid, "session_close",
		                          "tunnel ended by otpctl; OpenVPN's plugin recorded "
		                          "no end") != EXIT_OK) {
			if (r != PV_OK)
				ctl_error("%s", err.msg);
			rc = EXIT_FAIL;
			continue;
		}
		if (pv_session_remove(ctl->cfg.session_dir, s.id, &err) == PV_ERR)
			ctl_warn("%s", err.msg);
	}
	return rc;
}

/* The server behind the socket; records of another server cannot be ended through it. */
static int server_pid(struct mgmt *m, long *pid)
{
	char reply[MGMT_LINE_MAX];
	uint64_t value;

	if (mgmt_command(m, "pid\n", reply, sizeof(reply)) != PV_OK)
		return PV_ERR;
	if (strncmp(reply, "SUCCESS: pid=", 13) != 0 ||
	    pv_parse_u64(reply + 13, INT32_MAX, &value) != PV_OK) {
		ctl_error("unexpected answer \"%.80s\" from %s to pid", reply, m->path);
		return PV_ERR;
	}
	*pid = (long)value;
	return PV_OK;
}

/* Kill every listed tunnel of the vendor on that server (only the one at only_addr when it is
 * not NULL), then wait for them to go. */
static int end_listed(struct otpctl *ctl, struct mgmt *m, const char *vendor, const char *why,
                      const struct pv_session *recs, size_t n_recs, long pid, const char *only_addr,
                      unsigned *ended)
{
	struct vpn_row *rows = calloc(2 * MAX_ROWS, sizeof(*rows));
	struct vpn_row *killed;
	struct pv_session s;
	size_t n = 0;
	size_t n_killed = 0;
	size_t i;
	int rc = EXIT_FAIL;

	if (rows == NULL) {
		ctl_error("out of memory");
		return EXIT_FAIL;
	}
	killed = rows + MAX_ROWS;
	if (mgmt_vendor_rows(m, vendor, rows, &n) != PV_OK)
		goto out;
	rc = EXIT_OK;
	for (i = 0; i < n; i++) {
		if (only_addr != NULL && strcmp(rows[i].addr, only_addr) != 0)
			continue;
		row_session(&rows[i], vendor, recs, n_recs, &s);
		if (kill_row(ctl, m, &rows[i], &s, pid, why) != EXIT_OK) {
			rc = EXIT_FAIL;
			continue;
		}
		killed[n_killed++] = rows[i];
	}
	if (n_killed > 0 && wait_gone(m, vendor, killed, n_killed, rows) != EXIT_OK)
		rc = EXIT_FAIL;
	else
		for (i = 0; i < n_killed; i++) {
			if (!ctl->json)
				printf("Ended VPN tunnel of %s from %s (OpenVPN client %lu): %s.\n",
				       vendor, killed[i].addr, killed[i].cid, why);
			(*ended)++;
		}
out:
	free(rows);
	return rc;
}

/* End the vendor's tunnels, or only the one of session only_id when it is not NULL. */
static int end_tunnels(struct otpctl *ctl, const char *vendor, const char *only_id, const char *why,
                       unsigned *ended)
{
	struct pv_session *recs = NULL;
	struct mgmt m = {.fd = -1};
	size_t n = 0;
	size_t mine = 0;
	size_t i;
	long pid = 0;
	int rc = EXIT_FAIL;

	if (live_records(ctl, vendor, &recs, &n) != EXIT_OK)
		return EXIT_FAIL;
	for (i = 0; only_id != NULL && i < n; i++)
		if (strcmp(recs[i].id, only_id) == 0) {
			recs[0] = recs[i];
			break;
		}
	if (only_id != NULL)
		n = i < n ? 1 : 0;
	if (n == 0) {
		free(recs);
		return EXIT_OK;
	}
	if (ctl->cfg.openvpn_management[0] == '\0') {
		ctl_error(
		    "%s's VPN tunnel from %s cannot be ended: openvpn_management is not set in "
		    "%s (the OpenVPN server's management socket, docs/openvpn.md)",
		    vendor, recs[0].tunnel, ctl->config_path);
		goto out;
	}
	if (mgmt_connect(&m, ctl->cfg.openvpn_management) != PV_OK || server_pid(&m, &pid) != PV_OK)
		goto out;
	rc = EXIT_OK;
	for (i = 0; i < n; i++) {
		if (recs[i].pid == pid) {
			recs[mine++] = recs[i];
			continue;
		}
		ctl_error("%s's VPN tunnel from %s is served by OpenVPN pid %ld, but %s is the "
		          "management socket of pid %ld",
		          vendor, recs[i].tunnel, recs[i].pid, m.path, pid);
		rc = EXIT_FAIL;
	}
	/* Leftover records are closed only once the listed tunnels are known to be gone. */
	if (only_id != NULL && mine == 0)
		goto out; /* served by another server: said above */
	if (end_listed(ctl, &m, vendor, why, recs, mine, pid, only_id ? recs[0].tunnel : NULL,
	               ended) != EXIT_OK ||
	    close_leftovers(ctl, recs, mine) != EXIT_OK)
		rc = EXIT_FAIL;
out:
	mgmt_close(&m);
	free(recs);
	return rc;
}

int ctl_vpn_end_tunnels(struct otpctl *ctl, const char *vendor, const char *why, unsigned *ended)
{
	return end_tunnels(ctl, vendor, NULL, why, ended);
}

int ctl_vpn_end_tunnel(struct otpctl *ctl, const struct pv_session *s, const char *why,
                       unsigned *ended)
{
	return end_tunnels(ctl, s->user, s->id, why, ended);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* plugin.c — pam_vendor's OpenVPN plugin (plugin API v3): a vendor's tunnel is a session. At
 * CLIENT_CONNECT_V2 the window and address are checked again and the tunnel is recorded and
 * audited (session_open); at CLIENT_DISCONNECT its session_close carries duration and bytes.
 * OpenVPN opens plugins as root, before `user nobody` takes effect: the plugin then forks a
 * helper that keeps root (helper.c) and asks it over a socketpair, as OpenVPN's own auth-pam
 * and down-root plugins do. No global state: the handle and one context per client. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openvpn/openvpn-plugin.h>

#include "config.h"
#include "timeparse.h"
#include "vpn_proto.h"

#define PV_EXPORT __attribute__((visibility("default")))

struct plugin {
	int fd;       /* our end of the socketpair to the helper */
	pid_t helper; /* its pid, for the waitpid at close */
	plugin_log_t log;
};

/* One per OpenVPN client instance (client_constructor_v1). */
struct client {
	char session[PV_SESSION_ID_LEN + 1]; /* "" until the helper recorded this tunnel */
	char user[PV_NAME_MAX + 1];
	char rhost[PV_IP_TEXT_MAX];
};

static const char *env_get(const char *const envp[], const char *name)
{
	size_t len = strlen(name);
	size_t i;

	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
			return envp[i] + len + 1;
	return NULL;
}

/* Copy value into dst[size]; false when absent or too long (then dst is ""). */
static bool copy_env(char *dst, size_t size, const char *const envp[], const char *name)
{
	const char *value = env_get(envp, name);

	dst[0] = '\0';
	if (value == NULL || strlen(value) >= size)
		return false;
	memcpy(dst, value, strlen(value) + 1);
	return true;
}

/* A counter OpenVPN put in the environment; -1 when absent or not a number. */
static int64_t env_count(const char *const envp[], const char *name)
{
	const char *value = env_get(envp, name);
	uint64_t n;

	if (value == NULL || pv_parse_u64(value, INT64_MAX, &n) != PV_OK)
		return -1;
	return (int64_t)n;
}

/* One request, one reply. Blocking, as OpenVPN's own auth-pam plugin: every step the helper
 * takes is bounded (lock_timeout, pg_timeout). -1 when the helper cannot be reached. */
static int ask(struct plugin *p, const struct vpn_request *req, struct vpn_reply *rep)
{
	ssize_t n;

	do
		n = send(p->fd, req, sizeof(*req), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*req))
		goto gone;
	do
		n = recv(p->fd, rep, sizeof(*rep), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*rep))
		goto gone;
	rep->session[sizeof(rep->session) - 1] = '\0';
	return 0;
gone:
	p->log(PLOG_ERR, VPN_PLUGIN_NAME, "the root helper does not answer: tunnel refused");
	return -1;
}

/* The client's address as the management interface's `status` shows it (mroute_addr_print in
 * OpenVPN 2.6): IPv4 "ADDR:PORT" (also for an IPv4 client on a dual-stack socket), IPv6 the
 * address alone. */
static void tunnel_address(const char *const envp[], char *buf, size_t len)
{
	const char *ip = env_get(envp, "untrusted_ip");
	const char *port = env_get(envp, "untrusted_port");
	const char *ip6 = env_get(envp, "untrusted_ip6");
	int n = 0;

	buf[0] = '\0';
	if (ip != NULL && port != NULL)
		n = snprintf(buf, len, "%s:%s", ip, port);
	else if (ip6 != NULL)
		n = snprintf(buf, len, "%s", ip6);
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
}

/* A client notice pushed with the tunnel: the end of the access window (an `echo msg`, which
 * the client writes to its log and hands to its GUI through its management interface). */
static void push_notice(struct plugin *p, int64_t window_end,
                        struct openvpn_plugin_string_list **list)
{
	struct openvpn_plugin_string_list *item;
	char when[PV_TIME_TEXT_MAX];
	char text[256];

	if (list == NULL || window_end <= 0)
		return;
	pv_format_utc((time_t)window_end, when, sizeof(when));
	snprintf(text, sizeof(text),
	         "push \"echo msg pam_vendor: your access window ends at %s (UTC); the tunnel "
	         "is closed then\"\n",
	         when);
	item = calloc(1, sizeof(*item));
	if (item == NULL || (item->name = strdup("config")) == NULL ||
	    (item->value = strdup(text)) == NULL) {
		if (item != NULL)
			free(item->name);
		free(item);
		p->log(PLOG_WARN, VPN_PLUGIN_NAME,
		       "out of memory: no window notice for the client");
		return;
	}
	*list = item; /* OpenVPN frees the list */
}

static int on_connect(struct plugin *p, struct client *cl, const char *const envp[],
                      struct openvpn_plugin_string_list **list)
{
	struct vpn_request req;
	struct vpn_reply rep;

	if (cl == NULL) {
		p->log(PLOG_ERR, VPN_PLUGIN_NAME, "no client context: tunnel refused");
		return OPENVPN_PLUGIN_FUNC_ERROR;
	}
	memset(cl, 0, sizeof(*cl));
	memset(&req, 0, sizeof(req));
	req.kind = VPN_CONNECT;
	/* The name PAM checked; a name that is no vendor name has no record: not ours. */
	if (!copy_env(req.user, sizeof(req.user), envp, "username") &&
	    !copy_env(req.user, sizeof(req.user), envp, "common_name"))
		return OPENVPN_PLUGIN_FUNC_SUCCESS;
	if (!pv_vendor_name_valid(req.user))
		return OPENVPN_PLUGIN_FUNC_SUCCESS;
	if (!copy_env(req.rhost, sizeof(req.rhost), envp, "untrusted_ip"))
		(void)copy_env(req.rhost, sizeof(req.rhost), envp, "untrusted_ip6");
	tunnel_address(envp, req.tunnel, sizeof(req.tunnel));
	(void)copy_env(req.vpn_addr, sizeof(req.vpn_addr), envp, "ifconfig_pool_remote_ip");
	req.bytes_in = req.bytes_out = req.duration_s = -1;
	if (ask(p, &req, &rep) != 0 || rep.allow != 1) {
		p->log(PLOG_NOTE, VPN_PLUGIN_NAME, "tunnel of %s refused (see the audit log)",
		       req.user);
		return OPENVPN_PLUGIN_FUNC_ERROR;
	}
	if (rep.session[0] != '\0') {
		memcpy(cl->session, rep.session, sizeof(cl->session));
		memcpy(cl->user, req.user, sizeof(cl->user));
		memcpy(cl->rhost, req.rhost, sizeof(cl->rhost));
		push_notice(p, rep.window_end, list);
	}
	return OPENVPN_PLUGIN_FUNC_SUCCESS;
}

/* envp NULL: the instance went away without a disconnect call (counts unknown). */
static int on_disconnect(struct plugin *p, struct client *cl, const char *const envp[])
{
	struct vpn_request req;
	struct vpn_reply rep;

	if (cl == NULL || cl->session[0] == '\0')
		return OPENVPN_PLUGIN_FUNC_SUCCESS;
	memset(&req, 0, sizeof(req));
	req.kind = VPN_DISCONNECT;
	memcpy(req.user, cl->user, sizeof(req.user));
	memcpy(req.rhost, cl->rhost, sizeof(req.rhost));
	memcpy(req.session, cl->session, sizeof(req.session));
	req.bytes_in = env_count(envp, "bytes_received");
	req.bytes_out = env_count(envp, "bytes_sent");
	req.duration_s = env_count(envp, "time_duration");
	cl->session[0] = '\0'; /* asked once, whatever the answer */
	if (ask(p, &req, &rep) != 0 || rep.allow != 1) {
		p->log(PLOG_ERR, VPN_PLUGIN_NAME, "session_close of %s's tunnel not recorded",
		       req.user);
		return OPENVPN_PLUGIN_FUNC_ERROR;
	}
	return OPENVPN_PLUGIN_FUNC_SUCCESS;
}

/* Copy text into dst[size]; false when it does not fit. */
static bool set_text(char *dst, size_t size, const char *text)
{
	int n = snprintf(dst, size, "%s", text);

	return n >= 0 && (size_t)n < size;
}

/* "config=/PATH" and "service=NAME"; anything else is a configuration error. */
static bool parse_args(struct plugin *p, const char **argv, struct vpn_settings *set)
{
	size_t i;

	(void)set_text(set->config, sizeof(set->config), PV_DEFAULT_CONFIG);
	(void)set_text(set->service, sizeof(set->service), "openvpn");
	for (i = 1; argv != NULL && argv[i] != NULL; i++) {
		const char *a = argv[i];
		bool ok = false;

		if (strncmp(a, "config=", 7) == 0 && a[7] == '/')
			ok = set_text(set->config, sizeof(set->config), a + 7);
		else if (strncmp(a, "service=", 8) == 0 && a[8] != '\0' &&
		         strpbrk(a + 8, " \t\n") == NULL) /* a word, as session records want */
			ok = set_text(set->service, sizeof(set->service), a + 8);
		if (!ok) {
			p->log(PLOG_ERR, VPN_PLUGIN_NAME,
			       "unknown or invalid plugin argument \"%.64s\" (config=/PATH or "
			       "service=NAME)",
			       a);
			return false;
		}
	}
	return true;
}

/* Fork the root helper; wait for its word that config and key are usable. */
static bool start_helper(struct plugin *p, const struct vpn_settings *set)
{
	unsigned char ready = 0;
	int sv[2];
	pid_t pid;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		p->log(PLOG_ERR | PLOG_ERRNO, VPN_PLUGIN_NAME, "socketpair");
		return false;
	}
	pid = fork();
	if (pid < 0) {
		p->log(PLOG_ERR | PLOG_ERRNO, VPN_PLUGIN_NAME, "fork");
		close(sv[0]);
		close(sv[1]);
		return false;
	}
	if (pid == 0) {
		/* Keep stdio (OpenVPN's log) and the socket; nothing else of OpenVPN's (its
		 * sockets, tun device, management socket) stays open in a root process. */
		if (dup2(sv[1], 3) < 0 || close_range(4, ~0U, 0) != 0)
			_exit(1);
		vpn_helper_main(3, set);
	}
	close(sv[1]);
	p->fd = sv[0];
	p->helper = pid;
	do
		n = recv(p->fd, &ready, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n != 1 || ready != 1) {
		p->log(PLOG_ERR, VPN_PLUGIN_NAME,
		       "the root helper cannot read %s or its key (see the message above)",
		       set->config);
		return false;
	}
	return true;
}

static void plugin_free(struct plugin *p)
{
	if (p == NULL)
		return;
	if (p->fd >= 0)
		close(p->fd); /* the helper reads EOF and leaves */
	if (p->helper > 0)
		while (waitpid(p->helper, NULL, 0) < 0 && errno == EINTR)
			;
	free(p);
}

PV_EXPORT int openvpn_plugin_min_version_required_v1(void)
{
	return 3;
}

PV_EXPORT int openvpn_plugin_open_v3(const int version,
                                     struct openvpn_plugin_args_open_in const *args,
                                     struct openvpn_plugin_args_open_return *ret)
{
	struct vpn_settings set;
	struct plugin *p;
	struct pv_err err;

	if (version < OPENVPN_PLUGINv3_STRUCTVER)
		return OPENVPN_PLUGIN_FUNC_ERROR;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return OPENVPN_PLUGIN_FUNC_ERROR;
	p->fd = -1;
	p->log = args->callbacks->plugin_log;
	memset(&set, 0, sizeof(set));
	if (!parse_args(p, args->argv, &set))
		goto fail;
	/* Opened again after a SIGHUP, OpenVPN is no longer root: refuse rather than run a
	 * helper that could record nothing. */
	if (geteuid() != 0) {
		p->log(PLOG_ERR, VPN_PLUGIN_NAME,
		       "not root (a SIGHUP restart after `user`?): restart the service instead");
		goto fail;
	}
	set.server_pid = (long)getpid();
	if (pv_process_start(set.server_pid, &set.server_start, &err) != PV_OK) {
		p->log(PLOG_ERR, VPN_PLUGIN_NAME, "cannot read OpenVPN's start time");
		goto fail;
	}
	if (!start_helper(p, &set))
		goto fail;
	ret->type_mask = OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_CLIENT_CONNECT_V2) |
	                 OPENVPN_PLUGIN_MASK(OPENVPN_PLUGIN_CLIENT_DISCONNECT);
	ret->handle = (openvpn_plugin_handle_t)p;
	return OPENVPN_PLUGIN_FUNC_SUCCESS;
fail:
	plugin_free(p);
	return OPENVPN_PLUGIN_FUNC_ERROR;
}

PV_EXPORT int openvpn_plugin_func_v3(const int version,
                                     struct openvpn_plugin_args_func_in const *args,
                                     struct openvpn_plugin_args_func_return *ret)
{
	struct plugin *p = (struct plugin *)args->handle;
	struct client *cl = args->per_client_context;
	const char *const *envp = args->envp;

	switch (args->type) {
	case OPENVPN_PLUGIN_CLIENT_CONNECT_V2:
		return on_connect(p, cl, envp, ret != NULL ? ret->return_list : NULL);
	case OPENVPN_PLUGIN_CLIENT_DISCONNECT:
		return on_disconnect(p, cl, envp);
	default:
		return OPENVPN_PLUGIN_FUNC_ERROR;
	}
}

PV_EXPORT void *openvpn_plugin_client_constructor_v1(openvpn_plugin_handle_t handle)
{
	return calloc(1, sizeof(struct client));
}

PV_EXPORT void openvpn_plugin_client_destructor_v1(openvpn_plugin_handle_t handle,
                                                   void *per_client_context)
{
	/* A recorded tunnel is closed before its context goes, counts unknown. */
	(void)on_disconnect((struct plugin *)handle, per_client_context, NULL);
	free(per_client_context);
}

PV_EXPORT void openvpn_plugin_close_v1(openvpn_plugin_handle_t handle)
{
	plugin_free((struct plugin *)handle);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* vpn_proto.h — what the plugin inside OpenVPN and its root helper process say to each other:
 * one fixed-size request and one fixed-size reply over a SOCK_SEQPACKET socketpair, so a
 * message is never split or merged, and nothing but these two shapes ever crosses. */
#ifndef PV_VPN_PROTO_H
#define PV_VPN_PROTO_H

#include <limits.h>
#include <stdint.h>

#include "ipmatch.h"
#include "session.h"
#include "vendorname.h"

#define VPN_PLUGIN_NAME "pam_vendor"

enum vpn_request_kind { VPN_CONNECT = 1, VPN_DISCONNECT = 2 };

/* Strings are NUL-terminated within their arrays (the helper enforces it again). */
struct vpn_request {
	uint32_t kind;
	char user[PV_NAME_MAX + 1];      /* OpenVPN's username (else common_name): a vendor name */
	char rhost[PV_IP_TEXT_MAX];      /* untrusted_ip or untrusted_ip6: what PAM_RHOST was */
	char tunnel[PV_TUNNEL_TEXT_MAX]; /* the Real Address of the management `status` */
	char vpn_addr[PV_IP_TEXT_MAX];   /* the client's address inside the tunnel, or "" */
	char session[PV_SESSION_ID_LEN + 1]; /* VPN_DISCONNECT: the id VPN_CONNECT returned */
	int64_t bytes_in;   /* VPN_DISCONNECT: bytes_received (from the client); -1 unknown */
	int64_t bytes_out;  /* VPN_DISCONNECT: bytes_sent (to the client); -1 unknown */
	int64_t duration_s; /* VPN_DISCONNECT: time_duration as OpenVPN counts it; -1 unknown */
};

struct vpn_reply {
	uint32_t allow;                      /* 1: let the tunnel up / the close was recorded */
	char session[PV_SESSION_ID_LEN + 1]; /* VPN_CONNECT: "" when not a vendor (no record) */
	int64_t window_end;                  /* VPN_CONNECT of a vendor: when its window ends */
};

/* What the helper is started with (a copy made at fork). */
struct vpn_settings {
	char config[PATH_MAX];
	char service[64];      /* the service name written in the audit lines */
	long server_pid;       /* the OpenVPN server: the `pid` of every session record */
	uint64_t server_start; /* its start time, so a record of an earlier server is stale */
};

/* The helper's life (helper.c): check config and key, answer `ready` (1 byte: 1 = usable) on
 * fd, then serve requests until OpenVPN closes its end. Never returns. */
void vpn_helper_main(int fd, const struct vpn_settings *set) __attribute__((noreturn));

#endif

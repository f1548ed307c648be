/* SPDX-License-Identifier: BSD-3-Clause */
/* conninfo.h — what pam_vendor.conf's pg_conninfo says about the database link, read the way
 * libpq reads it (key=value words or a postgresql:// URI): whether it goes over TCP and which
 * sslmode it asks for. The configuration refuses a TCP link that does not verify the server
 * (sslmode=verify-full) unless pg_allow_unverified_tls says the admin knows. */
#ifndef PV_CONNINFO_H
#define PV_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct pv_conninfo_link {
	bool tcp;          /* a host that is not a unix-socket directory, or none can be known */
	bool from_service; /* service= names a service file: its host and sslmode are not here */
	char sslmode[16];  /* as written; "" when absent (libpq's default is "prefer") */
};

/* Parse the connection string. PV_ERR (err names what) when it cannot be read as libpq
 * would. Never copies a value other than sslmode into err. */
int pv_conninfo_link(const char *conninfo, struct pv_conninfo_link *link, struct pv_err *err);

/* Does the link verify the server's certificate and name (sslmode=verify-full), or not need
 * to (a unix socket)? */
bool pv_conninfo_link_verified(const struct pv_conninfo_link *link);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* conninfo.c — see conninfo.h. Only the keys that decide the link are looked at: host,
 * hostaddr, service and sslmode. A host is a unix socket when it is an absolute path (or
 * starts with '@', Linux's abstract namespace); no host at all means libpq's default socket. */
#include "conninfo.h"

#include <stdio.h>
#include <string.h>

#define VALUE_MAX 1024

static void set_sslmode(struct pv_conninfo_link *link, const char *value)
{
	snprintf(link->sslmode, sizeof(link->sslmode), "%s", value);
}

/* host=a,/run/postgresql,b: TCP when any of the comma-separated hosts is not a socket. */
static bool hosts_tcp(const char *hosts)
{
	const char *p = hosts;

	do {
		size_t n = strcspn(p, ",");
		if (n > 0 && p[0] != '/' && p[0] != '@' && strncmp(p, "%2F", 3) != 0 &&
		    strncmp(p, "%2f", 3) != 0)
			return true;
		p += n;
	} while (*p++ == ',');
	return false;
}

static void take(struct pv_conninfo_link *link, const char *key, const char *value, bool *have_host)
{
	if (strcmp(key, "host") == 0) {
		*have_host = *have_host || value[0] != '\0';
		link->tcp = link->tcp || hosts_tcp(value);
	} else if (strcmp(key, "hostaddr") == 0 && value[0] != '\0') {
		*have_host = true;
		link->tcp = true; /* a numeric address is always TCP */
	} else if (strcmp(key, "service") == 0) {
		link->from_service = true;
	} else if (strcmp(key, "sslmode") == 0) {
		set_sslmode(link, value);
	}
}

/* One value of the key=value form: bare up to white space, or single-quoted with \' and \\. */
static const char *read_value(const char *p, char *value, struct pv_err *err)
{
	size_t n = 0;
	bool quoted = (*p == '\'');

	if (quoted)
		p++;
	while (*p != '\0' && (quoted ? *p != '\'' : (*p != ' ' && *p != '\t'))) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		if (n + 1 >= VALUE_MAX) {
			pv_err_set(err, "a value is too long");
			return NULL;
		}
		value[n++] = *p++;
	}
	if (quoted && *p != '\'') {
		pv_err_set(err, "a quoted value is not closed");
		return NULL;
	}
	value[n] = '\0';
	return quoted ? p + 1 : p;
}

static int parse_words(const char *p, struct pv_conninfo_link *link, bool *have_host,
                       struct pv_err *err)
{
	char key[64];
	char value[VALUE_MAX];

	for (;;) {
		size_t n;

		p += strspn(p, " \t");
		if (*p == '\0')
			return 0;
		n = strcspn(p, "= \t");
		if (n == 0 || n >= sizeof(key)) {
			pv_err_set(err, "expected key=value words");
			return -1;
		}
		memcpy(key, p, n);
		key[n] = '\0';
		p += n;
		p += strspn(p, " \t");
		if (*p != '=') {
			pv_err_set(err, "\"%s\" has no \"=\"", key);
			return -1;
		}
		p++;
		p += strspn(p, " \t");
		p = read_value(p, value, err);
		if (p == NULL)
			return -1;
		take(link, key, value, have_host);
	}
}

/* postgresql://[user[:pw]@][hosts][/db][?key=value&...] */
static int parse_uri(const char *uri, struct pv_conninfo_link *link, bool *have_host,
                     struct pv_err *err)
{
	char hosts[VALUE_MAX];
	char key[64];
	char value[VALUE_MAX];
	const char *p = strstr(uri, "://") + 3;
	size_t n = strcspn(p, "/?");
	const char *at = memchr(p, '@', n);
	const char *q;

	if (at != NULL) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (n >= sizeof(hosts)) {
		pv_err_set(err, "the host part is too long");
		return -1;
	}
	memcpy(hosts, p, n);
	hosts[n] = '\0';
	take(link, "host", hosts, have_host);
	q = strchr(p, '?');
	while (q != NULL && *q != '\0') {
		size_t kn;
		size_t vn;

		q++;
		kn = strcspn(q, "=&");
		vn = q[kn] == '=' ? strcspn(q + kn + 1, "&") : 0;
		if (kn == 0 || kn >= sizeof(key) || vn >= sizeof(value)) {
			pv_err_set(err, "a parameter of the URI cannot be read");
			return -1;
		}
		memcpy(key, q, kn);
		key[kn] = '\0';
		memcpy(value, q + kn + 1, vn);
		value[vn] = '\0';
		take(link, key, value, have_host);
		q += kn + (q[kn] == '=' ? vn + 1 : 0); /* at the next '&', or the end */
	}
	return 0;
}

int pv_conninfo_link(const char *conninfo, struct pv_conninfo_link *link, struct pv_err *err)
{
	bool have_host = false;
	int r;

	memset(link, 0, sizeof(*link));
	if (strncmp(conninfo, "postgresql://", 13) == 0 ||
	    strncmp(conninfo, "postgres://", 11) == 0)
		r = parse_uri(conninfo, link, &have_host, err);
	else
		r = parse_words(conninfo, link, &have_host, err);
	if (r != 0)
		return PV_ERR;
	/* A service file may name a TCP host: what it holds cannot be checked from here. */
	if (link->from_service && !have_host)
		link->tcp = true;
	return PV_OK;
}

bool pv_conninfo_link_verified(const struct pv_conninfo_link *link)
{
	return !link->tcp || strcmp(link->sslmode, "verify-full") == 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* err.c — formatting of core error sentences. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void pv_err_set(struct pv_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void pv_err_errno(struct pv_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	char errbuf[128];
	size_t used;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	used = strlen(err->msg);
	/* strerror_r (XSI or GNU) is thread-safe; strerror may use a static buffer. */
#if (_POSIX_C_SOURCE >= 200112L) && !defined(_GNU_SOURCE)
	if (strerror_r(errnum, errbuf, sizeof(errbuf)) != 0)
		snprintf(errbuf, sizeof(errbuf), "error %d", errnum);
	snprintf(err->msg + used, sizeof(err->msg) - used, ": %s", errbuf);
#else
	snprintf(err->msg + used, sizeof(err->msg) - used, ": %s",
	         strerror_r(errnum, errbuf, sizeof(errbuf)));
#endif
}

void pv_err_clear(struct pv_err *err)
{
	if (err != NULL)
		err->msg[0] = '\0';
}

void pv_err_shown(const char *text, char out[PV_SHOWN_MAX + 1])
{
	size_t i;

	for (i = 0; i < PV_SHOWN_MAX && text[i] != '\0'; i++) {
		unsigned char c = (unsigned char)text[i];

		out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
}

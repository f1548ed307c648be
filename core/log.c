/* SPDX-License-Identifier: BSD-3-Clause */
/* log.c — logging to syslog (module) or stderr (otpctl); see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#include <security/pam_ext.h>

void pv_vlog(void *pamh, int priority, const char *fmt, va_list ap)
{
	if (pamh != NULL) {
		pam_vsyslog(pamh, priority, fmt, ap);
		return;
	}
	fputs(priority == LOG_WARNING ? "otpctl: warning: " : "otpctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void pv_log(void *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pv_vlog(pamh, priority, fmt, ap);
	va_end(ap);
}

void pv_log_audit_line(void *pamh, const char *line)
{
	if (pamh != NULL)
		pam_syslog(pamh, LOG_NOTICE, "audit %s", line);
	else
		syslog(LOG_AUTHPRIV | LOG_NOTICE, "audit %s", line);
}

/* log.c — logging to syslog (module) or stderr (otpctl); see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#include <security/pam_ext.h>

void pv_log(void *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (pamh != NULL) {
		pam_vsyslog(pamh, priority, fmt, ap);
	} else {
		fputs("otpctl: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

void pv_log_audit_line(void *pamh, const char *line)
{
	if (pamh != NULL)
		pam_syslog(pamh, LOG_NOTICE, "audit %s", line);
	else
		syslog(LOG_AUTHPRIV | LOG_NOTICE, "audit %s", line);
}

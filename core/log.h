/* SPDX-License-Identifier: BSD-3-Clause */
/* log.h — the one logging function: syslog through the PAM handle inside the module, stderr
 * from otpctl. Never pass a secret to it. */
#ifndef PV_LOG_H
#define PV_LOG_H

#include <syslog.h>

#include <stdarg.h>

/* pamh: a pam_handle_t* in the module, NULL in otpctl (then: "otpctl: message" on stderr,
 * "otpctl: warning: message" for LOG_WARNING). */
void pv_log(void *pamh, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void pv_vlog(void *pamh, int priority, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* The syslog copy of an audit line (LOG_AUTHPRIV | LOG_NOTICE), so the central log anchors the
 * local chain. With a PAM handle through pam_syslog; without, through syslog(3). */
void pv_log_audit_line(void *pamh, const char *line);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_auth_wrap.c — the -Wl,--wrap replacements fuzz_pam_auth is linked with (the list is in
 * tests/fuzz/run.sh). The module's libpam calls are served from the fuzz input's handle with
 * no libpam state; NSS group and passwd lookups come from the input (the group "pvfuzz");
 * time() is fixed during a module call; the file-system calls go to the real ones, except the
 * one the input's fault plan makes fail. Outside a module call everything passes through. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "fuzz_common.h"
#include "pam_auth.h"

struct fz_env fz;

/* --- file-system faults --- */

/* Does this call fail? Counted only inside a module call. Sets errno when it does. */
static bool fault_hit(enum fz_syscall call)
{
	unsigned n;
	size_t i;

	if (!fz.armed || fz.in == NULL)
		return false;
	n = fz.calls[call]++;
	for (i = 0; i < fz.in->n_faults; i++) {
		const struct fz_fault *f = &fz.in->faults[i];
		if (f->call == call && (n == f->nth || (f->always && n > f->nth))) {
			fz.faults_fired++;
			errno = f->err;
			return true;
		}
	}
	return false;
}

#define FZ_WRAP(type, name, kind, params, args)                                                    \
	type __real_##name params;                                                                 \
	type __wrap_##name params;                                                                 \
	type __wrap_##name params                                                                  \
	{                                                                                          \
		if (fault_hit(kind))                                                               \
			return -1;                                                                 \
		return __real_##name args;                                                         \
	}

FZ_WRAP(ssize_t, read, FZ_SYS_READ, (int fd, void *buf, size_t n), (fd, buf, n))
FZ_WRAP(ssize_t, pread, FZ_SYS_PREAD, (int fd, void *buf, size_t n, off_t off), (fd, buf, n, off))
FZ_WRAP(ssize_t, write, FZ_SYS_WRITE, (int fd, const void *buf, size_t n), (fd, buf, n))
FZ_WRAP(ssize_t, pwrite, FZ_SYS_PWRITE, (int fd, const void *buf, size_t n, off_t off),
        (fd, buf, n, off))
FZ_WRAP(int, fsync, FZ_SYS_FSYNC, (int fd), (fd))
FZ_WRAP(int, fdatasync, FZ_SYS_FDATASYNC, (int fd), (fd))
FZ_WRAP(int, renameat, FZ_SYS_RENAMEAT, (int od, const char *o, int nd, const char *n),
        (od, o, nd, n))
FZ_WRAP(int, flock, FZ_SYS_FLOCK, (int fd, int op), (fd, op))
FZ_WRAP(int, ftruncate, FZ_SYS_FTRUNCATE, (int fd, off_t len), (fd, len))
FZ_WRAP(int, unlinkat, FZ_SYS_UNLINKAT, (int dirfd, const char *p, int flags), (dirfd, p, flags))
FZ_WRAP(int, mkdirat, FZ_SYS_MKDIRAT, (int dirfd, const char *p, mode_t mode), (dirfd, p, mode))
FZ_WRAP(int, fstat, FZ_SYS_FSTAT, (int fd, struct stat *st), (fd, st))

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (fault_hit(FZ_SYS_OPEN))
		return -1;
	return __real_open(path, flags, mode);
}

int __real_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (fault_hit(FZ_SYS_OPENAT))
		return -1;
	return __real_openat(dirfd, path, flags, mode);
}

/* --- the clock --- */

time_t __real_time(time_t *t);
time_t __wrap_time(time_t *t);
time_t __wrap_time(time_t *t)
{
	if (!fz.armed)
		return __real_time(t);
	if (t != NULL)
		*t = (time_t)fz.now;
	return (time_t)fz.now;
}

/* --- NSS: one group "pvfuzz" (members from the input), accounts whose primary group it is --- */

static bool listed(const char *const *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* Copy s into the caller's buffer at *pos; NULL when it does not fit. */
static char *put_string(char *buf, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s) + 1;
	char *at;

	if (*pos + n > len)
		return NULL;
	at = buf + *pos;
	memcpy(at, s, n);
	*pos += n;
	return at;
}

int __wrap_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
                      struct group **result);
int __wrap_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
                      struct group **result)
{
	const struct fz_input *in = fz.in;
	size_t pos = 0, i, n = in != NULL ? in->n_members : 0;
	char **mem;

	*result = NULL;
	if (in != NULL && in->nss_fail)
		return EIO;
	if (strcmp(name, "pvfuzz") != 0)
		return 0; /* no such group */
	if (in != NULL && len < in->nss_min_buf)
		return ERANGE;
	/* The member array first, aligned as the buffer is (NSS gives malloc'd buffers). */
	if ((uintptr_t)buf % sizeof(char *) != 0 || (n + 1) * sizeof(char *) > len)
		return ERANGE;
	mem = (char **)(void *)buf;
	pos = (n + 1) * sizeof(char *);
	for (i = 0; i < n; i++)
		if ((mem[i] = put_string(buf, len, &pos, in->members[i])) == NULL)
			return ERANGE;
	mem[n] = NULL;
	gr->gr_mem = mem;
	gr->gr_gid = FZ_GID;
	if ((gr->gr_name = put_string(buf, len, &pos, name)) == NULL ||
	    (gr->gr_passwd = put_string(buf, len, &pos, "x")) == NULL)
		return ERANGE;
	*result = gr;
	return 0;
}

int __wrap_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
                      struct passwd **result);
int __wrap_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
                      struct passwd **result)
{
	const struct fz_input *in = fz.in;
	size_t pos = 0;

	*result = NULL;
	if (in != NULL && in->nss_fail)
		return EIO;
	if (in == NULL || !listed(in->primaries, in->n_primaries, name))
		return 0; /* no such account */
	if (len < in->nss_min_buf)
		return ERANGE;
	pw->pw_uid = 5000;
	pw->pw_gid = FZ_GID;
	if ((pw->pw_name = put_string(buf, len, &pos, name)) == NULL ||
	    (pw->pw_passwd = put_string(buf, len, &pos, "x")) == NULL ||
	    (pw->pw_gecos = put_string(buf, len, &pos, "")) == NULL ||
	    (pw->pw_dir = put_string(buf, len, &pos, "/nonexistent")) == NULL ||
	    (pw->pw_shell = put_string(buf, len, &pos, "/usr/sbin/nologin")) == NULL)
		return ERANGE;
	*result = pw;
	return 0;
}

/* --- libpam --- */

static struct fz_handle *handle_of(const pam_handle_t *pamh)
{
	FZ_CHECK(fz.handle != NULL && (const void *)pamh == (const void *)fz.handle,
	         "the module used a PAM handle it was not given (%p)", (const void *)pamh);
	return fz.handle;
}

/* --- the conversation --- */

/* The answer the next conversation gets: the list in order, the last one repeating. */
static const char *peek_answer(void)
{
	if (fz.n_answers == 0)
		return "!convfail";
	return fz.answers[fz.next_answer < fz.n_answers ? fz.next_answer : fz.n_answers - 1];
}

static const char *take_answer(void)
{
	const char *a = peek_answer();

	fz.next_answer++;
	return a;
}

/* "!noconv" / "!nofunc" as the next answer: no conversation at all, or one without a
 * function, as a broken application would give (the answer is used up). */
static const struct pam_conv *conv_item(struct fz_handle *h)
{
	static const struct pam_conv no_function = {NULL, NULL};
	const char *a = peek_answer();

	if (strcmp(a, "!noconv") == 0 || strcmp(a, "!nofunc") == 0) {
		take_answer();
		return a[3] == 'c' ? NULL : &no_function;
	}
	return &h->conv;
}

/* One prompt, echo off, a printable text: anything else would show the code on screen or
 * break OpenVPN's name/value form. "!convfail": the conversation fails; "!noresp": it
 * succeeds without a response array; "!nullresp": with a NULL answer (Ctrl-D). */
int fz_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
	const char *a;
	size_t i;

	FZ_CHECK(appdata == (void *)&fz, "the conversation got another appdata_ptr");
	FZ_CHECK(n == 1 && msg != NULL && msg[0] != NULL && resp != NULL,
	         "the module asked %d questions at once", n);
	FZ_CHECK(msg[0]->msg_style == PAM_PROMPT_ECHO_OFF,
	         "the code prompt has style %d, not PAM_PROMPT_ECHO_OFF", msg[0]->msg_style);
	FZ_CHECK(msg[0]->msg != NULL && msg[0]->msg[0] != '\0', "an empty prompt");
	for (i = 0; msg[0]->msg[i] != '\0'; i++)
		FZ_CHECK((unsigned char)msg[0]->msg[i] >= 0x20, "a control byte in the prompt");
	fz.conv_calls++;
	a = take_answer();
	if (strcmp(a, "!convfail") == 0)
		return PAM_CONV_ERR;
	*resp = NULL;
	if (strcmp(a, "!noresp") == 0)
		return PAM_SUCCESS;
	*resp = calloc(1, sizeof(**resp));
	FZ_CHECK(*resp != NULL, "out of memory");
	if (strcmp(a, "!nullresp") == 0)
		return PAM_SUCCESS;
	(*resp)[0].resp = strdup(a);
	FZ_CHECK((*resp)[0].resp != NULL, "out of memory");
	if (fz.n_given < FZ_LIST_MAX)
		fz.given[fz.n_given++] = a;
	return PAM_SUCCESS;
}

int __wrap_pam_get_item(const pam_handle_t *pamh, int type, const void **item);
int __wrap_pam_get_item(const pam_handle_t *pamh, int type, const void **item)
{
	struct fz_handle *h = handle_of(pamh);

	if (fz.in->pamfail & FZ_FAIL_GET_ITEM)
		return PAM_SYSTEM_ERR;
	switch (type) {
	case PAM_SERVICE:
		*item = h->service;
		return PAM_SUCCESS;
	case PAM_RHOST:
		*item = h->rhost;
		return PAM_SUCCESS;
	case PAM_TTY:
		*item = h->tty;
		return PAM_SUCCESS;
	case PAM_AUTHTOK:
		*item = h->authtok;
		return PAM_SUCCESS;
	case PAM_CONV:
		*item = conv_item(h);
		return PAM_SUCCESS;
	}
	FZ_CHECK(false, "the module asked for PAM item %d, which the harness does not serve", type);
	return PAM_BAD_ITEM;
}

int __wrap_pam_get_user(pam_handle_t *pamh, const char **user, const char *prompt);
int __wrap_pam_get_user(pam_handle_t *pamh, const char **user, const char *prompt)
{
	struct fz_handle *h = handle_of(pamh);

	(void)prompt;
	if (h->user != NULL && strcmp(h->user, "!fail") == 0)
		return PAM_SYSTEM_ERR;
	*user = (h->user != NULL && strcmp(h->user, "!null") == 0) ? NULL : h->user;
	return PAM_SUCCESS;
}

/* libpam's semantics: a name set again replaces the entry and runs the old cleanup with
 * PAM_DATA_REPLACE; data may be NULL. */
int __wrap_pam_set_data(pam_handle_t *pamh, const char *name, void *data,
                        void (*cleanup)(pam_handle_t *pamh, void *data, int error_status));
int __wrap_pam_set_data(pam_handle_t *pamh, const char *name, void *data,
                        void (*cleanup)(pam_handle_t *pamh, void *data, int error_status))
{
	struct fz_handle *h = handle_of(pamh);
	struct fz_data *d = NULL;
	size_t i;

	FZ_CHECK(name != NULL, "pam_set_data without a name");
	if (fz.in->pamfail & FZ_FAIL_SET_DATA)
		return PAM_BUF_ERR;
	for (i = 0; i < h->n_data; i++)
		if (strcmp(h->data[i].name, name) == 0)
			d = &h->data[i];
	if (d != NULL) {
		if (d->cleanup != NULL)
			d->cleanup(pamh, d->data, PAM_DATA_REPLACE | PAM_SUCCESS);
	} else {
		FZ_CHECK(h->n_data < FZ_DATA_MAX, "more than %d pam_set_data names", FZ_DATA_MAX);
		d = &h->data[h->n_data++];
		d->name = strdup(name);
		FZ_CHECK(d->name != NULL, "out of memory");
	}
	d->data = data;
	d->cleanup = cleanup;
	return PAM_SUCCESS;
}

int __wrap_pam_get_data(const pam_handle_t *pamh, const char *name, const void **data);
int __wrap_pam_get_data(const pam_handle_t *pamh, const char *name, const void **data)
{
	struct fz_handle *h = handle_of(pamh);
	size_t i;

	if (fz.in->pamfail & FZ_FAIL_GET_DATA)
		return PAM_SYSTEM_ERR;
	for (i = 0; i < h->n_data; i++) {
		if (strcmp(h->data[i].name, name) == 0) {
			*data = h->data[i].data;
			return PAM_SUCCESS;
		}
	}
	return PAM_NO_MODULE_DATA;
}

void fz_handle_end(struct fz_handle *h)
{
	size_t i;

	for (i = 0; i < h->n_data; i++) {
		if (h->data[i].cleanup != NULL)
			h->data[i].cleanup((pam_handle_t *)(void *)h, h->data[i].data, PAM_SUCCESS);
		free(h->data[i].name);
	}
	h->n_data = 0;
}

void __wrap_pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt, va_list ap);
void __wrap_pam_vsyslog(const pam_handle_t *pamh, int priority, const char *fmt, va_list ap)
{
	char *msg = NULL;

	handle_of(pamh);
	FZ_CHECK(priority >= LOG_EMERG && priority <= LOG_DEBUG,
	         "syslog priority %d is no priority (a facility belongs to pam_syslog)", priority);
	FZ_CHECK(vasprintf(&msg, fmt, ap) >= 0, "out of memory");
	if (fz.n_log < FZ_LOG_MAX)
		fz.log[fz.n_log++] = msg;
	else
		free(msg);
}

void __wrap_pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...);
void __wrap_pam_syslog(const pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	__wrap_pam_vsyslog(pamh, priority, fmt, ap);
	va_end(ap);
}

void fz_log_reset(void)
{
	size_t i;

	for (i = 0; i < fz.n_log; i++)
		free(fz.log[i]);
	fz.n_log = 0;
}

int __wrap_pam_fail_delay(pam_handle_t *pamh, unsigned int usec);
int __wrap_pam_fail_delay(pam_handle_t *pamh, unsigned int usec)
{
	handle_of(pamh);
	FZ_CHECK(usec <= 60u * 1000000u, "pam_fail_delay of %u us is beyond fail_delay's 60 s",
	         usec);
	return PAM_SUCCESS;
}

const char *__wrap_pam_getenv(pam_handle_t *pamh, const char *name);
const char *__wrap_pam_getenv(pam_handle_t *pamh, const char *name)
{
	struct fz_handle *h = handle_of(pamh);

	return strcmp(name, "SSH_AUTH_INFO_0") == 0 ? h->authinfo : NULL;
}

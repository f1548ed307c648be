/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_system.c — the host checks of `otpctl doctor`: the clock is synchronised (windows,
 * code expiry and audit times depend on it), the syslog socket has a listener, and rsyslog
 * (when installed) has a rule that receives the authpriv facility, where pam_vendor sends its
 * copy of every audit line. */
#include "doctor.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/un.h>
#include <unistd.h>

#define RSYSLOG_EXAMPLE DR_EXAMPLE("rsyslog/60-pam_vendor.conf")

/* Is a process with this command name (/proc/PID/comm, at most 15 characters) running? */
static bool process_running(const char *comm)
{
	struct dirent *de;
	bool found = false;
	DIR *dir;

	dir = opendir("/proc");
	if (dir == NULL)
		return false;
	while (!found && (de = readdir(dir)) != NULL) {
		char path[300];
		char name[64];
		ssize_t n;
		int fd;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue; /* it ended meanwhile */
		n = read(fd, name, sizeof(name) - 1);
		(void)close(fd);
		if (n <= 0)
			continue;
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
		found = strcmp(name, comm) == 0;
	}
	(void)closedir(dir);
	return found;
}

/* ------------------------------------------------------------------ time */

static const struct {
	const char *comm; /* as /proc/PID/comm shows it */
	const char *name;
	const char *inspect;
} time_services[] = {
    {"chronyd", "chronyd", "chronyc tracking"},
    {"systemd-timesyn", "systemd-timesyncd", "timedatectl timesync-status"},
    {"ntpd", "ntpd", "ntpq -p"},
};

static void check_time(struct doctor *d)
{
	struct timex tx;
	const char *service = NULL;
	const char *inspect = NULL;
	char fix[256];
	size_t i;
	int state;

	memset(&tx, 0, sizeof(tx));
	tx.modes = 0; /* read only */
	state = adjtimex(&tx);
	if (state < 0) {
		dr_finding(d, DR_WARNING, "time.unknown", NULL,
		           "cannot read the kernel's clock status (adjtimex): %s", strerror(errno));
		return;
	}
	if (state != TIME_ERROR && !(tx.status & STA_UNSYNC))
		return;
	for (i = 0; i < sizeof(time_services) / sizeof(time_services[0]); i++) {
		if (process_running(time_services[i].comm)) {
			service = time_services[i].name;
			inspect = time_services[i].inspect;
			break;
		}
	}
	if (service != NULL)
		snprintf(fix, sizeof(fix),
		         "see why %s has not synchronised the clock (%s) and let "
		         "it reach its NTP servers",
		         service, inspect);
	else if (access("/lib/systemd/systemd-timesyncd", X_OK) == 0)
		snprintf(fix, sizeof(fix), "systemctl enable --now systemd-timesyncd");
	else
		snprintf(fix, sizeof(fix), "apt-get install chrony");
	dr_finding(d, DR_WARNING, "time.unsynchronised", fix,
	           "the kernel reports the clock as not synchronised (adjtimex: %s)%s%s: window "
	           "bounds, code expiry and audit times are only as right as the clock",
	           state == TIME_ERROR ? "TIME_ERROR" : "STA_UNSYNC",
	           service != NULL ? " although this time service runs: "
	                           : " and no time "
	                             "service runs",
	           service != NULL ? service : "");
}

/* ---------------------------------------------------------------- syslog */

static int connect_unix(const char *path, int type)
{
	struct sockaddr_un sa;
	int fd;
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	r = connect(fd, (const struct sockaddr *)&sa, sizeof(sa));
	if (r != 0) {
		int e = errno;

		(void)close(fd);
		errno = e;
		return -1;
	}
	(void)close(fd);
	return 0;
}

static void check_dev_log(struct doctor *d)
{
	static const char fix[] = "start the system logger: systemctl start rsyslog (apt-get "
	                          "install rsyslog if it is missing)";
	const char *path = d->opt.dev_log;
	struct sockaddr_un sa;
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			dr_finding(
			    d, DR_ERROR, "syslog.dev_log.missing", fix,
			    "%s does not exist: no syslog daemon receives pam_vendor's lines, "
			    "so nothing reaches the central log",
			    path);
		else
			dr_finding(d, DR_ERROR, "syslog.dev_log.unusable", fix, "cannot use %s: %s",
			           path, strerror(errno));
		return;
	}
	if (!S_ISSOCK(st.st_mode)) {
		dr_finding(d, DR_ERROR, "syslog.dev_log.not_socket", fix,
		           "%s is not a socket: syslog lines sent there are lost", path);
		return;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		dr_finding(d, DR_ERROR, "syslog.dev_log.unusable", NULL,
		           "%s is too long a name for a socket", path);
		return;
	}
	if (connect_unix(path, SOCK_DGRAM) == 0)
		return;
	if (errno == EPROTOTYPE && connect_unix(path, SOCK_STREAM) == 0)
		return; /* a stream socket, as some daemons offer: glibc's syslog() tries it too */
	dr_finding(d, DR_ERROR, "syslog.dev_log.no_listener", fix,
	           "no syslog daemon listens on %s (connect: %s): pam_vendor's lines are lost",
	           path, strerror(errno));
}

/* Does one "facility,facility.priority;..." selector receive authpriv? rsyslog applies its
 * parts left to right: a later "authpriv.none" takes authpriv out again. */
static bool selector_has_authpriv(const char *selector)
{
	char copy[512];
	char *save = NULL;
	char *part;
	bool selected = false;

	snprintf(copy, sizeof(copy), "%s", selector);
	for (part = strtok_r(copy, ";", &save); part != NULL; part = strtok_r(NULL, ";", &save)) {
		char *dot = strrchr(part, '.');
		char *save2 = NULL;
		char *fac;
		bool none;

		if (dot == NULL)
			continue;
		*dot = '\0';
		none = strcmp(dot + 1, "none") == 0 || strcmp(dot + 1, "!*") == 0;
		for (fac = strtok_r(part, ",", &save2); fac != NULL;
		     fac = strtok_r(NULL, ",", &save2))
			if (strcmp(fac, "*") == 0 || strcmp(fac, "authpriv") == 0)
				selected = !none;
	}
	return selected;
}

/* The rule's last word discards the messages ("stop", or the legacy "~"). */
static bool discards(const char *line)
{
	size_t len = strlen(line);
	size_t start;

	while (len > 0 && isspace((unsigned char)line[len - 1]))
		len--;
	start = len;
	while (start > 0 && !isspace((unsigned char)line[start - 1]))
		start--;
	return (len - start == 4 && strncmp(line + start, "stop", 4) == 0) ||
	       (len - start == 1 && line[start] == '~');
}

/* One line of rsyslog configuration: a legacy selector rule, a RainerScript "if" or a
 * property filter that receives authpriv messages (and does not throw them away). */
static bool line_receives_authpriv(const char *raw)
{
	char line[1024];
	char selector[512];
	size_t i;
	size_t n;

	snprintf(line, sizeof(line), "%s", raw + strspn(raw, " \t"));
	for (i = 0; line[i] != '\0'; i++)
		line[i] = (char)tolower((unsigned char)line[i]);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0' || line[0] == '#' || line[0] == '$')
		return false;
	if (strncmp(line, "if", 2) == 0 && (line[2] == ' ' || line[2] == '(' || line[2] == '$'))
		return strstr(line, "authpriv") != NULL && !discards(line);
	if (line[0] == ':')
		return strstr(line, "authpriv") != NULL && !discards(line);
	n = strcspn(line, " \t");
	if (n == 0 || n >= sizeof(selector) || line[n] == '\0')
		return false;
	if (strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789*.,;!=<>") != n ||
	    memchr(line, '.', n) == NULL)
		return false; /* not a selector (module(...), a continuation line, ...) */
	memcpy(selector, line, n);
	selector[n] = '\0';
	return selector_has_authpriv(selector) && !discards(line + n);
}

/* 1: a rule of the file receives authpriv, 0: none, -1: it cannot be read (errno). */
static int file_receives_authpriv(const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (found == 0 && getline(&line, &cap, f) >= 0)
		if (line_receives_authpriv(line))
			found = 1;
	if (found == 0 && ferror(f))
		found = -1;
	free(line);
	if (fclose(f) != 0 && found == 0)
		found = -1;
	return found;
}

static int conf_file(const struct dirent *de)
{
	size_t len = strlen(de->d_name);

	return de->d_name[0] != '.' && len > 5 && strcmp(de->d_name + len - 5, ".conf") == 0;
}

/* The rsyslog.d directory beside rsyslog's main file. */
static void rsyslog_d(const char *conf, char *dir, size_t len)
{
	const char *slash = strrchr(conf, '/');

	if (slash == NULL)
		snprintf(dir, len, "rsyslog.d");
	else
		snprintf(dir, len, "%.*s/rsyslog.d", (int)(slash - conf), conf);
}

/* The rsyslog.d directory beside the main file, in rsyslog's order. 1/0/-1 as above. */
static int dir_receives_authpriv(const char *conf, char *bad, size_t bad_len)
{
	struct dirent **list = NULL;
	char dir[PATH_MAX];
	int found = 0;
	int n;
	int i;

	rsyslog_d(conf, dir, sizeof(dir));
	n = scandir(dir, &list, conf_file, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(bad, bad_len, "%s", dir);
		return -1;
	}
	for (i = 0; i < n; i++) {
		char path[PATH_MAX + 256];
		struct stat st;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		if (found == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			r = file_receives_authpriv(path);
			if (r < 0 && found == 0) {
				snprintf(bad, bad_len, "%s", path);
				found = -1;
			} else if (r > 0) {
				found = 1;
			}
		}
		free(list[i]);
	}
	free(list);
	return found;
}

static void check_authpriv(struct doctor *d)
{
	const char *conf = d->opt.rsyslog_conf;
	char fix[PATH_MAX + 512];
	char dir[PATH_MAX];
	char bad[PATH_MAX + 256];
	int found;

	rsyslog_d(conf, dir, sizeof(dir));
	snprintf(fix, sizeof(fix),
	         "install -m 0644 %s %s/ (set your central log server in it), then run: "
	         "systemctl restart rsyslog",
	         RSYSLOG_EXAMPLE, dir);
	if (access(conf, F_OK) != 0) {
		if (errno == ENOENT && !process_running("rsyslogd")) {
			dr_skip(d,
			        "rsyslog is not installed (%s does not exist): authpriv rules of "
			        "another syslog daemon are not checked",
			        conf);
			return;
		}
		dr_finding(d, DR_ERROR, "syslog.authpriv", "apt-get install --reinstall rsyslog",
		           "cannot read rsyslog's configuration %s: %s", conf, strerror(errno));
		return;
	}
	found = file_receives_authpriv(conf);
	if (found < 0) {
		dr_finding(d, DR_ERROR, "syslog.authpriv", NULL, "cannot read %s: %s", conf,
		           strerror(errno));
		return;
	}
	if (found == 0) {
		found = dir_receives_authpriv(conf, bad, sizeof(bad));
		if (found < 0) {
			dr_finding(d, DR_ERROR, "syslog.authpriv", NULL, "cannot read %s: %s", bad,
			           strerror(errno));
			return;
		}
	}
	if (found == 0)
		dr_finding(
		    d, DR_ERROR, "syslog.authpriv", fix,
		    "no rule of %s or of the rsyslog.d/*.conf files beside it receives the "
		    "authpriv facility: pam_vendor's syslog copy of each audit line (with its "
		    "MAC) is dropped, and the central log cannot anchor the chain",
		    conf);
}

const struct dr_check dr_system_checks[] = {
    {"time.sync", check_time},
    {"syslog.socket", check_dev_log},
    {"syslog.authpriv", check_authpriv},
    {NULL, NULL},
};

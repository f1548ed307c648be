/* SPDX-License-Identifier: BSD-3-Clause */
/* endproc.c — ending every process that runs under a vendor's uid (detached, nohup, tmux, a
 * user systemd instance, anything), for `otpctl expire`, `disable --kill` and `vendor remove`.
 * Never by name, never a reused PID: /proc is walked, each process is pinned with a pidfd
 * BEFORE its uids are read, and signals go only through that pidfd, so a PID reused after the
 * read names a dead process and the signal fails instead of reaching a stranger. SIGTERM (and
 * SIGCONT, so a stopped process can act on it), a grace period, SIGKILL; the walk repeats
 * because a vendor process may fork meanwhile. Last, a child that has become the vendor
 * (setgroups, setresgid, setresuid) calls kill(-1, SIGKILL): the kernel then kills exactly the
 * processes that uid may signal, with no PID in between to race on, and forks cannot slip
 * past it. A final walk checks that nothing is left. Where systemd-logind runs, `loginctl
 * terminate-user` first stops the user's manager and sessions so that nothing restarts them. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "otpctl.h"
#include "procfs.h"
#include "timeparse.h"

#define GRACE_MS           5000 /* as for the sshd monitors (cmd_expire.c) */
#define POLL_MS            100
#define KILL_ROUNDS        5 /* SIGKILL walks before the dropped child's kill(-1) */
#define FINAL_TRIES        3 /* kill(-1) children, each followed by up to VERIFY_MS */
#define VERIFY_MS          1000
#define PID_LIMIT          4194304 /* PID_MAX_LIMIT on 64-bit Linux */
#define LOGINCTL_TIMEOUT_S 15

struct sweep {
	uid_t uid;
	gid_t gid;
	unsigned char *termed; /* bitmaps by PID: SIGTERM / SIGKILL already sent */
	unsigned char *killed;
	struct ctl_endproc *res;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void note_pid(struct ctl_pid_list *l, long pid)
{
	if (l->n < CTL_PIDS_SHOWN)
		l->pid[l->n] = pid;
	l->n++;
}

/* Marks pid in the bitmap; false when it was already marked. */
static bool first_time(unsigned char *map, long pid)
{
	unsigned char bit;

	if (pid >= PID_LIMIT)
		return true;
	bit = (unsigned char)(1u << (pid % 8));
	if (map[pid / 8] & bit)
		return false;
	map[pid / 8] |= bit;
	return true;
}

/* Send sig (once per PID) through the pidfd; ESRCH means it ended meanwhile. */
static int send_once(struct sweep *sw, int pidfd, long pid, int sig)
{
	unsigned char *map = sig == SIGTERM ? sw->termed : sw->killed;
	struct ctl_pid_list *list = sig == SIGTERM ? &sw->res->termed : &sw->res->killed;

	if (!first_time(map, pid))
		return EXIT_OK;
	if (pidfd_send_signal(pidfd, sig, NULL, 0) != 0) {
		if (errno == ESRCH)
			return EXIT_OK;
		ctl_error("cannot signal pid %ld: %s", pid, strerror(errno));
		return EXIT_FAIL;
	}
	if (sig == SIGTERM)
		(void)pidfd_send_signal(pidfd, SIGCONT, NULL, 0);
	if (sig == SIGTERM || pid >= PID_LIMIT || !(sw->termed[pid / 8] & (1u << (pid % 8))))
		sw->res->signalled++; /* SIGKILL without SIGTERM: born during the grace period */
	note_pid(list, pid);
	return EXIT_OK;
}

/* One process of the walk: pin it, then read its uids, then signal through the pin. */
static int visit(struct sweep *sw, long pid, int sig, size_t *found, struct ctl_pid_list *seen)
{
	struct pv_proc_status st;
	struct pv_err err;
	int pidfd;
	int r;
	int rc = EXIT_OK;

	pidfd = pidfd_open((pid_t)pid, 0);
	if (pidfd < 0) {
		if (errno == ESRCH)
			return EXIT_OK;
		ctl_error("cannot open pid %ld: %s", pid, strerror(errno));
		return EXIT_FAIL;
	}
	r = pv_proc_read_status(pid, &st, &err);
	if (r == PV_ERR) {
		ctl_error("%s", err.msg);
		rc = EXIT_FAIL;
	} else if (r == PV_OK && pv_proc_runs_as(&st, (uint32_t)sw->uid)) {
		(*found)++;
		if (seen != NULL)
			note_pid(seen, pid);
		if (sig != 0)
			rc = send_once(sw, pidfd, pid, sig);
	}
	close(pidfd);
	return rc;
}

/* Walk /proc once: count the uid's live processes in *found (and list them in seen), sending
 * sig (0: none) to each. Keeps going past an error so that one odd process saves no other. */
static int walk(struct sweep *sw, int sig, size_t *found, struct ctl_pid_list *seen)
{
	long self = (long)getpid();
	struct dirent *de;
	int rc = EXIT_OK;
	DIR *dir;

	*found = 0;
	dir = opendir("/proc");
	if (dir == NULL) {
		ctl_error("cannot list /proc: %s", strerror(errno));
		return EXIT_FAIL;
	}
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		uint64_t pid;

		if (pv_parse_u64(de->d_name, INT32_MAX, &pid) != PV_OK || pid == 0 ||
		    (long)pid == self)
			continue;
		if (visit(sw, (long)pid, sig, found, seen) != EXIT_OK)
			rc = EXIT_FAIL;
		errno = 0;
	}
	if (errno != 0) {
		ctl_error("cannot list /proc: %s", strerror(errno));
		rc = EXIT_FAIL;
	}
	closedir(dir);
	return rc;
}

/* The child's part: become the vendor, then kill every process the vendor may signal. */
static void kill_all_child(uid_t uid, gid_t gid)
{
	/* Not dumpable (the uid change does it too): the vendor cannot ptrace this child. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || setgroups(0, NULL) != 0 ||
	    setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
		_exit(2);
	if (kill(-1, SIGKILL) != 0 && errno != ESRCH) /* ESRCH: nothing left to kill */
		_exit(3);
	_exit(0);
}

/* kill(-1, SIGKILL) in a child dropped to the vendor's uid. The vendor's processes may kill
 * that child first (it is theirs to signal); the caller's walk then sees them and retries. */
static int kill_all_as_vendor(const struct sweep *sw)
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ctl_error("cannot fork to end the processes of uid %u: %s", (unsigned)sw->uid,
		          strerror(errno));
		return EXIT_FAIL;
	}
	if (pid == 0)
		kill_all_child(sw->uid, sw->gid);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ctl_error("cannot wait for pid %ld: %s", (long)pid, strerror(errno));
			return EXIT_FAIL;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
		ctl_error("cannot take uid %u to end its processes", (unsigned)sw->uid);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

bool ctl_logind_running(char *loginctl, size_t len)
{
	static const char *const paths[] = {"/usr/bin/loginctl", "/bin/loginctl", NULL};
	struct stat st;
	size_t i;

	/* sd_booted()'s test: systemd is the init system; logind comes with it. */
	if (stat("/run/systemd/system", &st) != 0 || !S_ISDIR(st.st_mode))
		return false;
	for (i = 0; paths[i] != NULL; i++) {
		if (access(paths[i], X_OK) == 0) {
			snprintf(loginctl, len, "%s", paths[i]);
			return true;
		}
	}
	return false;
}

/* Ask logind to end the user's sessions and its systemd instance (a lingering one too), so
 * that nothing restarts what the walk ends. A failure is a warning: the walk still ends all. */
static void logind_terminate(const char *loginctl, const char *name, struct ctl_endproc *res)
{
	const char *argv[] = {loginctl, "terminate-user", name, NULL};
	char out[512];
	struct pv_err err;
	int status = -1;
	size_t i;

	if (ctl_run(argv, true, LOGINCTL_TIMEOUT_S, out, sizeof(out), &status, &err) == PV_OK &&
	    status == 0) {
		res->logind = CTL_LOGIND_TERMINATED;
		return;
	}
	res->logind = CTL_LOGIND_FAILED;
	if (status != 0 && status != -1)
		snprintf(err.msg, sizeof(err.msg), "exit status %d: %.200s", status, out);
	for (i = 0; err.msg[i] != '\0'; i++) /* one line, no control character */
		if ((unsigned char)err.msg[i] < 0x20 || err.msg[i] == 0x7f)
			err.msg[i] = ' ';
	ctl_warn("%s terminate-user %s failed (%s); its processes are ended by uid", loginctl, name,
	         err.msg);
}

/* SIGTERM to every process of the uid, again for new ones, until none is left or the grace
 * period is over. *left: how many were still there at the last walk. */
static int term_phase(struct sweep *sw, size_t *left)
{
	int64_t deadline = now_ms() + GRACE_MS;
	int rc = EXIT_OK;

	for (;;) {
		if (walk(sw, SIGTERM, left, NULL) != EXIT_OK)
			rc = EXIT_FAIL;
		if (*left == 0 || now_ms() >= deadline)
			return rc;
		pause_ms(POLL_MS);
	}
}

/* SIGKILL walks, then kill(-1) as the vendor until a walk finds nothing (bounded). */
static int kill_phase(struct sweep *sw)
{
	size_t left = 0;
	int rc = EXIT_OK;
	int i;

	for (i = 0; i < KILL_ROUNDS; i++) {
		if (walk(sw, SIGKILL, &left, NULL) != EXIT_OK)
			rc = EXIT_FAIL;
		if (left == 0)
			break;
		pause_ms(20);
	}
	for (i = 0; i < FINAL_TRIES; i++) {
		int64_t deadline = now_ms() + VERIFY_MS;

		if (kill_all_as_vendor(sw) != EXIT_OK)
			return EXIT_FAIL;
		do {
			pause_ms(20); /* SIGKILL is delivered, then the process has to exit */
			if (walk(sw, 0, &left, NULL) != EXIT_OK)
				rc = EXIT_FAIL;
		} while (left > 0 && now_ms() < deadline);
		if (left == 0)
			return rc;
	}
	return EXIT_FAIL;
}

int ctl_end_processes(const char *name, struct ctl_endproc *res)
{
	struct pv_account acct;
	struct pv_err err;
	struct sweep sw;
	char loginctl[64];
	size_t found = 0;
	int rc = EXIT_FAIL;
	int r;

	memset(res, 0, sizeof(*res));
	memset(&sw, 0, sizeof(sw));
	sw.res = res;
	res->logind =
	    ctl_logind_running(loginctl, sizeof(loginctl)) ? CTL_LOGIND_UNUSED : CTL_LOGIND_ABSENT;
	r = pv_account_lookup(name, &acct, &err);
	if (r == PV_NOTFOUND)
		return EXIT_OK; /* no account: nothing can run under it */
	if (r != PV_OK) {
		/* An NSS error is not "no such account": it could hide the vendor's. */
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	sw.uid = acct.uid;
	sw.gid = acct.gid;
	res->have_account = true;
	res->uid = sw.uid;
	if (sw.uid == 0) {
		ctl_error(
		    "refusing to end the processes of %s: its uid is 0 (root), which a vendor "
		    "account must never be",
		    name);
		return EXIT_FAIL;
	}
	sw.termed = calloc(PID_LIMIT / 8, 1);
	sw.killed = calloc(PID_LIMIT / 8, 1);
	if (sw.termed == NULL || sw.killed == NULL) {
		ctl_error("out of memory");
		goto out;
	}
	if (walk(&sw, 0, &found, NULL) != EXIT_OK)
		goto out;
	rc = EXIT_OK;
	if (found == 0)
		goto out; /* nothing runs: nothing to do, nothing to audit */
	if (res->logind == CTL_LOGIND_UNUSED)
		logind_terminate(loginctl, name, res);
	if (term_phase(&sw, &found) != EXIT_OK)
		rc = EXIT_FAIL;
	/* Even when all went on SIGTERM: a fork the walks missed ends with kill(-1). */
	if (kill_phase(&sw) != EXIT_OK)
		rc = EXIT_FAIL;
	if (walk(&sw, 0, &found, &res->survivors) != EXIT_OK || found > 0) {
		if (found > 0)
			ctl_error("%zu process(es) of %s are still running after SIGKILL", found,
			          name);
		rc = EXIT_FAIL;
	}
out:
	free(sw.termed);
	free(sw.killed);
	return rc;
}

void ctl_pid_list_format(const struct ctl_pid_list *l, char *buf, size_t len)
{
	size_t used = 0;
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < l->n && i < CTL_PIDS_SHOWN && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%ld", i ? " " : "", l->pid[i]);
	if (l->n > CTL_PIDS_SHOWN && used < len)
		snprintf(buf + used, len - used, " and %zu more", l->n - CTL_PIDS_SHOWN);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* pv_record.c — pv-record, the vendors' login shell (set-uid root): every session of a vendor,
 * interactive or a command, runs under util-linux script(1) as root, so that the vendor can
 * neither read, change nor signal the recording or the recorder, and is then run as the
 * vendor in script's terminal. Two steps of one program:
 *   outer  started by sshd as the vendor (real uid: the vendor): claims the recording the
 *          module made ready (PV_RECORDING, checked against the session record), becomes
 *          root entirely (real uid too: a process whose real uid is the vendor's can be
 *          signalled by the vendor), starts a new PID namespace whose first process (this
 *          program, root) runs script with this program as its shell, and stays as that
 *          process's parent until it exits, ending it when sshd's session ends;
 *   inner  started by script (real uid root, PV_REC_USER set by the outer step): becomes the
 *          vendor for good and executes vendor_shell, as a login shell or with -c COMMAND.
 * If script dies, its terminal hangs up and the session ends with it; if the session ends,
 * script is ended. Nothing of the session outlives it: the namespace's first process exits
 * with script, and the kernel then kills every other process of the namespace, however deep
 * (one stuck in the kernel goes when what holds it goes; the session does not wait for it).
 * The vendor's processes cannot push input into their terminal around
 * script's input log, nor give the terminal up for a process outside the session to take it
 * (a seccomp filter). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "config.h"
#include "recording.h"
#include "safefile.h"
#include "session.h"

#define INNER_ARG       "pv-record-inner"
#define ENV_MAX         64
#define REFUSED         "pam_vendor: this session cannot be recorded, so it is refused"
#define SAFE_PATH       "/usr/local/bin:/usr/bin:/bin"
#define SESSION_LOOK_NS (100 * 1000 * 1000) /* how often sshd's session process is looked for */
#define END_WITHIN_S    5 /* after script: how long the rest of the session may take to end */

/* Is every byte of v printable ASCII (none of what is in `not`), 1 to max bytes? */
static bool value_ok(const char *v, size_t max, const char * not )
{
	size_t n;

	for (n = 0; v[n] != '\0'; n++)
		if (n >= max || v[n] < 0x20 || v[n] > 0x7e || strchr(not, v[n]) != NULL)
			return false;
	return n > 0;
}

/* The vendor's environment that may pass into script (root) and on to the vendor's shell,
 * filtered: script writes TERM into the timing log as it is (a newline there would forge a
 * timing line), and root's script loads the LANG/LC_* locale. */
static bool passes(const char *kv)
{
	static const char *const keep[] = {
	    "SSH_CONNECTION=", "SSH_CLIENT=", "SSH_AUTH_INFO_0=", "MAIL="};
	static const char term_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                 "0123456789._+-";
	const char *eq = strchr(kv, '=');
	size_t i;

	if (strncmp(kv, "TERM=", 5) == 0)
		return strlen(kv + 5) <= 64 && strspn(kv + 5, term_chars) == strlen(kv + 5) &&
		       kv[5] != '\0';
	if (eq != NULL && (strncmp(kv, "LANG=", 5) == 0 ||
	                   (strncmp(kv, "LC_", 3) == 0 &&
	                    strspn(kv + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == (size_t)(eq - kv - 3))))
		return value_ok(eq + 1, 255, "/");
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (strncmp(kv, keep[i], strlen(keep[i])) == 0)
			return value_ok(kv + strlen(keep[i]), 4095, "");
	return false;
}

static void refuse(const char *why)
{
	fprintf(stderr, "%s: %s.\n", REFUSED, why);
	syslog(LOG_AUTHPRIV | LOG_ERR, "pv-record uid=%ld refused: %s", (long)getuid(), why);
	exit(1);
}

/* Refused before the caller is known to be a vendor with a session: any local user can run
 * this set-uid program, so the detail (a root-only file's contents) goes to syslog only. */
static void refuse_quietly(const char *detail)
{
	syslog(LOG_AUTHPRIV | LOG_ERR, "pv-record uid=%ld refused: %s", (long)getuid(), detail);
	fprintf(stderr, "%s: the recorder cannot run (the system log says why).\n", REFUSED);
	exit(1);
}

/* setresuid/setresgid to uid, gid for good, with the account's groups. */
static void become(const char *name, uid_t uid, gid_t gid)
{
	if (initgroups(name, gid) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0)
		refuse("cannot change to the vendor's identity");
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		refuse("root privileges were not dropped");
}

/* NAME=VALUE into env (NULL-terminated, at most ENV_MAX entries); value NULL: name is a
 * whole NAME=VALUE already. */
static void add_env(char **env, size_t *n, const char *name, const char *value)
{
	char *kv;

	if (*n + 1 >= ENV_MAX)
		refuse("too many environment variables");
	if (value == NULL)
		kv = strdup(name);
	else if (asprintf(&kv, "%s=%s", name, value) < 0)
		kv = NULL;
	if (kv == NULL)
		refuse("out of memory");
	env[(*n)++] = kv;
	env[*n] = NULL;
}

/* recording_dir/ID.part into path. */
static void part_path(char path[PATH_MAX], const struct pv_config *cfg, const char *id, int part)
{
	int len =
	    snprintf(path, PATH_MAX, "%s/%s%s", cfg->recording_dir, id, pv_recording_parts[part]);

	if (len < 0 || len >= PATH_MAX)
		refuse("recording_dir is too long");
}

static void add_passing(char **env, size_t *n)
{
	extern char **environ;
	char **e;

	for (e = environ; *e != NULL; e++)
		if (passes(*e))
			add_env(env, n, *e, NULL);
}

/* A session sshd gave no terminal: script's terminal passes the output through unchanged
 * (no "\r" added before each "\n"), so that the vendor gets what the command printed. */
static void plain_output(void)
{
	struct termios tio;

	if (tcgetattr(STDIN_FILENO, &tio) != 0)
		refuse("cannot read the recorder's terminal settings");
	tio.c_oflag &= ~(tcflag_t)OPOST;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) != 0)
		refuse("cannot set the recorder's terminal");
}

/* ioctl(fd, cmd, ...) refused with EPERM. The kernel reads cmd as an unsigned int: only its
 * low 32 bits are compared, or a caller could set bits above them and pass. */
static bool refuse_ioctl(scmp_filter_ctx filter, uint32_t cmd)
{
	return seccomp_rule_add(filter, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	                        SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, (scmp_datum_t)cmd)) == 0;
}

/* The vendor's processes cannot push input into their terminal: TIOCSTI (and TIOCLINUX's
 * selection paste, on a console) put bytes into the terminal's input queue, which the shell
 * reads but script's input log never sees. Nor can the session's leader give the terminal up
 * (TIOCNOTTY): a terminal of no session could be taken as controlling terminal by a vendor
 * process outside this filter (one the user manager started: systemd-run --user), whose
 * TIOCSTI would then work; without TIOCNOTTY the terminal is freed only when the leader exits,
 * which ends script. Linux 6.2's dev.tty.legacy_tiocsti = 0 does it for
 * the whole system; Debian 12's 6.1 has no such switch. The filter covers every system-call
 * ABI this kernel runs beside the native one (on x86_64: i386's int 0x80 and x32), each with
 * its own ioctl number: a 32-bit program gets the same refusal and otherwise runs (a filter of
 * the native ABI alone would kill it at its first system call). No no_new_privs
 * (SCMP_FLTATR_CTL_NNP 0): this process is root and may load a filter without it, and
 * no_new_privs would also strip set-uid programs (sudo) of their privileges for the vendor,
 * which is not the recorder's to decide; the filter stays across their execve all the same.
 * Any failure refuses the session. */
static void forbid_terminal_input(void)
{
#if defined(__x86_64__)
	static const uint32_t other_abis[] = {SCMP_ARCH_X86, SCMP_ARCH_X32};
#elif defined(__aarch64__)
	static const uint32_t other_abis[] = {SCMP_ARCH_ARM};
#else
	static const uint32_t other_abis[] = {SCMP_ARCH_NATIVE};
#endif
	scmp_filter_ctx filter = seccomp_init(SCMP_ACT_ALLOW);
	bool ok = filter != NULL && seccomp_attr_set(filter, SCMP_FLTATR_CTL_NNP, 0) == 0;
	size_t i;
	int rc;

	for (i = 0; ok && i < sizeof(other_abis) / sizeof(other_abis[0]); i++) {
		rc = seccomp_arch_add(filter, other_abis[i]);
		ok = rc == 0 || rc == -EEXIST;
	}
	ok = ok && refuse_ioctl(filter, TIOCSTI) && refuse_ioctl(filter, TIOCLINUX) &&
	     refuse_ioctl(filter, TIOCNOTTY) && seccomp_load(filter) == 0;
	if (filter != NULL)
		seccomp_release(filter);
	if (!ok)
		refuse("cannot keep the vendor from injecting terminal input");
}

/* Inner step: script's child, root, in script's terminal. */
static int run_inner(void)
{
	const char *user = getenv("PV_REC_USER");
	const char *shell = getenv("PV_REC_SHELL");
	const char *command = getenv("PV_REC_COMMAND");
	char *env[ENV_MAX] = {NULL};
	char login_name[PATH_MAX];
	struct passwd *pw;
	size_t n = 0;

	if (user == NULL || shell == NULL || (pw = getpwnam(user)) == NULL || pw->pw_uid == 0)
		refuse("the vendor's account cannot be read");
	if (isatty(STDIN_FILENO) && fchown(STDIN_FILENO, pw->pw_uid, (gid_t)-1) != 0)
		refuse("cannot give the terminal to the vendor");
	if (getenv("PV_REC_PLAIN") != NULL)
		plain_output();
	/* Last before become(): without no_new_privs, loading a filter needs root's
	 * CAP_SYS_ADMIN, which the vendor's identity does not have. */
	forbid_terminal_input();
	become(pw->pw_name, pw->pw_uid, pw->pw_gid);
	add_env(env, &n, "HOME", pw->pw_dir);
	add_env(env, &n, "USER", pw->pw_name);
	add_env(env, &n, "LOGNAME", pw->pw_name);
	add_env(env, &n, "SHELL", shell);
	add_env(env, &n, "PATH", SAFE_PATH);
	add_passing(env, &n);
	if (chdir(pw->pw_dir) != 0 && chdir("/") != 0)
		refuse("cannot change to the home directory");
	closefrom(STDERR_FILENO + 1); /* the recording's lock stays with script alone */
	if (command != NULL) {
		execle(shell, shell, "-c", command, (char *)NULL, env);
	} else {
		const char *base = strrchr(shell, '/');
		snprintf(login_name, sizeof(login_name), "-%s", base != NULL ? base + 1 : shell);
		execle(shell, login_name, (char *)NULL, env);
	}
	refuse("cannot start the vendor's shell");
	return 1;
}

/* What the supervision watches beside script: the recording directory (dirfd, its hard
 * floor), script's error output (err_fd, non-blocking: script says "write failed" and goes
 * on when a write of the recording fails), the recording's id, and the descriptor holding the
 * recording's lock (hold_fd: script and the namespace's init inherit it; this process lets it
 * go once that init has exited, or once it stopped waiting for it: END_WITHIN_S). */
struct watch {
	int dirfd;
	int err_fd;
	int hold_fd;
	unsigned min_free;
	const char *id;
};

/* Can the session still be recorded? Script's error output is passed on to the vendor; any
 * of it, or the directory below its floor, ends the session (the recording has a hole or is
 * about to). The reserved room is let go then, for script's last bytes. */
static bool recording_stuck(const struct watch *w, bool look_at_dir)
{
	char buf[512];
	ssize_t got = read(w->err_fd, buf, sizeof(buf));

	if (got > 0) {
		(void)!write(STDERR_FILENO, buf, (size_t)got);
		syslog(LOG_AUTHPRIV | LOG_ERR, "pv-record session %s: script failed: %.*s", w->id,
		       (int)got, buf);
	} else if (!look_at_dir || !pv_recording_below_floor(w->dirfd, w->min_free)) {
		return false;
	} else {
		syslog(LOG_AUTHPRIV | LOG_ERR,
		       "pv-record session %s: the recording directory is below its floor", w->id);
	}
	pv_recording_release_room(w->dirfd, w->id);
	fprintf(stderr, "\r\n%s: the recording cannot go on (no room), so the session ends.\r\n",
	        REFUSED);
	return true;
}

/* The exit code a wait status stands for, as a shell gives it. */
static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* script, the second process of the session's PID namespace, started by its first. */
static void exec_script(const char *const script[], char **env, const sigset_t *old, int err_fd)
{
	if (sigprocmask(SIG_SETMASK, old, NULL) != 0 || dup2(err_fd, STDERR_FILENO) < 0)
		_exit(126);
	execve(PV_SCRIPT_PATH, (char *const *)script, env);
	_exit(127);
}

/* The first process (PID 1) of the session's PID namespace, forked by the outer step: it dies
 * with the outer step (whatever kills that; both are root), gives the namespace a mount
 * namespace of its own (a slave of the host's mounts: nothing mounted there reaches the host)
 * with a /proc of the new PID namespace, so that a vendor's process finds itself there under
 * the PID getpid() gives it, and starts script. Then, as the namespace's init, it reaps every
 * process of the session that loses its parent, until script has exited, passes script's
 * wait status to the outer step (status_fd) and exits as script did: the kernel then kills
 * every process left in the namespace, and reports this exit only once they are all gone,
 * which a process stuck in the kernel can hold up for ever (the outer step does not wait for
 * that longer than END_WITHIN_S). Its /proc hides other users' processes (hidepid), as a
 * host's /proc may: the vendor sees only its own. script is not the init
 * itself: util-linux 2.38's script, once its child has exited, waits for all its children,
 * which would be every orphan of the session. Any failure ends it before script runs. */
static void run_namespace_init(const char *const script[], char **env, const sigset_t *old,
                               int parent_fd, int err_fd, int status_fd)
{
	struct pollfd parent = {parent_fd, POLLIN, 0};
	pid_t child, pid;
	int st;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
	    poll(&parent, 1, 0) != 0) /* the parent's pidfd readable: it has died already */
		_exit(126);
	close(parent_fd);
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) != 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") !=
	        0)
		refuse("cannot give the session a process namespace of its own");
	child = fork();
	if (child < 0)
		refuse("cannot start the recorder " PV_SCRIPT_PATH);
	if (child == 0)
		exec_script(script, env, old, err_fd);
	close(err_fd);
	for (;;) {
		pid = waitpid(-1, &st, 0);
		if (pid == child) {
			/* not written: the outer step then waits END_WITHIN_S for this exit */
			ssize_t sent = write(status_fd, &st, sizeof(st));

			(void)sent;
			_exit(exit_code(st));
		}
		if (pid < 0 && errno != EINTR)
			_exit(126);
	}
}

/* When the session began to end: script known gone, or the init killed. */
struct ending {
	bool started;
	bool no_clock; /* the clock failed: overdue at once */
	struct timespec at;
};

static void start_ending(struct ending *e)
{
	if (e->started)
		return;
	e->started = true;
	e->no_clock = clock_gettime(CLOCK_MONOTONIC, &e->at) != 0;
}

/* Has the rest of the session had END_WITHIN_S to end since it began to? */
static bool ending_overdue(const struct ending *e)
{
	struct timespec now;

	if (!e->started)
		return false;
	if (e->no_clock || clock_gettime(CLOCK_MONOTONIC, &now) != 0)
		return true;
	return now.tv_sec - e->at.tv_sec > END_WITHIN_S ||
	       (now.tv_sec - e->at.tv_sec == END_WITHIN_S && now.tv_nsec >= e->at.tv_nsec);
}

/* The end of the session as sshd sees it ends the recorded session: script is killed, its
 * terminal hangs up and the vendor's processes get SIGHUP. script does not end by itself when
 * its input terminal hangs up, and sshd's monitor closes that terminal only after
 * pam_close_session, which waits for the recording to be finished. The end shows as SIGHUP
 * (the terminal hung up), SIGTERM, or sshd's session process gone: pv-record is then
 * reparented. A parent-death signal would not do: the parent runs as the vendor, and the
 * kernel checks that signal's permission against it. A recording that cannot go on
 * (recording_stuck, looked at about once a second) ends it too. The child is the init of a
 * new PID namespace (run_namespace_init) which exits with script: the kernel then kills every
 * process left in that namespace before the child's exit is reported here, so nothing the
 * vendor started (nohup, setsid, a double fork, a chain of any depth, a thread group whose
 * leader has exited) outlives the session. A process the kernel cannot finish killing holds
 * that report up: this process waits END_WITHIN_S for it, then says so in syslog and ends. */
static int supervise(const char *const script[], char **env, struct watch *w)
{
	const struct timespec look = {0, SESSION_LOOK_NS};
	struct ending ending = {false, false, {0, 0}};
	pid_t parent = getppid(), child;
	sigset_t ends, old;
	int status = 0, script_status = 128 + SIGKILL, errs[2], done[2], self_fd;
	unsigned tick = 0;
	bool stuck = false, reaped = false;
	int sig;

	sigemptyset(&ends);
	sigaddset(&ends, SIGCHLD);
	sigaddset(&ends, SIGHUP);
	sigaddset(&ends, SIGTERM);
	sigaddset(&ends, SIGINT);
	sigaddset(&ends, SIGQUIT);
	if (sigprocmask(SIG_BLOCK, &ends, &old) != 0 || pipe2(errs, O_CLOEXEC) != 0 ||
	    fcntl(errs[0], F_SETFL, O_NONBLOCK) != 0 || pipe2(done, O_CLOEXEC) != 0 ||
	    fcntl(done[0], F_SETFL, O_NONBLOCK) != 0)
		refuse("cannot watch the session");
	/* The next child is the first process of a new PID namespace; this one stays outside. */
	self_fd = pidfd_open(getpid(), 0);
	if (self_fd < 0 || unshare(CLONE_NEWPID) != 0)
		refuse("cannot give the session a process namespace of its own");
	w->err_fd = errs[0];
	child = fork();
	if (child < 0)
		refuse("cannot start the recorder " PV_SCRIPT_PATH);
	if (child == 0) {
		close(done[0]);
		run_namespace_init(script, env, &old, self_fd, errs[1], done[1]);
	}
	close(self_fd);
	close(errs[1]);
	close(done[1]);
	for (;;) {
		int st;

		sig = sigtimedwait(&ends, NULL, &look);
		if (sig == SIGCHLD && waitpid(child, &status, WNOHANG) == child) {
			reaped = true;
			break;
		}
		if (read(done[0], &st, sizeof(st)) == (ssize_t)sizeof(st)) {
			script_status = exit_code(st);
			start_ending(&ending);
		}
		if (ending_overdue(&ending))
			break;
		if (!stuck)
			stuck = recording_stuck(w, ++tick % 10 == 0);
		if ((sig > 0 && sig != SIGCHLD) || getppid() != parent || stuck) {
			(void)kill(child, SIGKILL);
			start_ending(&ending);
		}
	}
	if (!reaped)
		syslog(
		    LOG_AUTHPRIV | LOG_ERR,
		    "pv-record session %s: processes of the session not ended %d s after it ended "
		    "(stuck in the kernel: a FUSE file system that does not answer, a tracer "
		    "outside the session); pv-record exits without them",
		    w->id, END_WITHIN_S);
	close(done[0]);
	pv_recording_release_room(w->dirfd, w->id);
	close(w->hold_fd);
	return reaped ? exit_code(status) : script_status;
}

static void free_env(char **env)
{
	size_t i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
}

/* The session's recording: PV_RECORDING names a session of this very user, whose ID.new is
 * still there to claim (one recording per session, never a second one). */
static const char *claim_recording(const struct pv_config *cfg, const char *user, int *dirfd,
                                   int *hold_fd)
{
	const char *id = getenv("PV_RECORDING");
	struct pv_session s;
	struct pv_err err;

	if (id == NULL || !pv_recording_id_valid(id))
		refuse("the session was not made ready for recording (see the audit log)");
	if (pv_session_load(cfg->session_dir, id, &s, &err) != PV_OK || strcmp(s.user, user) != 0)
		refuse("the recording does not belong to this session");
	*dirfd = pv_open_dir(cfg->recording_dir, true, &err);
	if (*dirfd < 0)
		refuse(err.msg);
	if (pv_recording_claim(*dirfd, id, &err) != PV_OK)
		refuse(err.msg);
	/* Held by script until it exits: the session's close waits for it before the digest. */
	*hold_fd = pv_recording_hold(*dirfd, id, &err);
	if (*hold_fd < 0)
		refuse(err.msg);
	return id;
}

/* Does a process other than this one have the character device rdev open? */
static bool held_elsewhere(dev_t rdev)
{
	char path[64];
	struct dirent *p, *f;
	struct stat st;
	bool held = false;
	DIR *procs = opendir("/proc"), *fds;

	if (procs == NULL)
		refuse("cannot read /proc");
	while (!held && (p = readdir(procs)) != NULL) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9' ||
		    strtol(p->d_name, NULL, 10) == (long)getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/fd", p->d_name);
		fds = opendir(path);
		if (fds == NULL)
			continue; /* gone meanwhile */
		while (!held && (f = readdir(fds)) != NULL) {
			snprintf(path, sizeof(path), "/proc/%.20s/fd/%.20s", p->d_name, f->d_name);
			held = stat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == rdev;
		}
		closedir(fds);
	}
	closedir(procs);
	return held;
}

/* sshd's terminal (the pty OpenSSH gave to the vendor, owner the vendor, mode 0620) taken from
 * the vendor before script starts: root's, 0600, and held open by no other process (a vendor
 * process that opened it before now: the session is refused). Otherwise a vendor process could
 * write to the client, or read what the client sends, around script. Not vhangup() as login(1)
 * does: a hangup flushes the input the client has already sent (typed ahead), which would be
 * lost; nothing can open the terminal after the chmod, so looking once is enough. */
static void take_terminal(void)
{
	struct stat st;

	if (fchown(STDIN_FILENO, 0, 0) != 0 || fchmod(STDIN_FILENO, 0600) != 0 ||
	    fstat(STDIN_FILENO, &st) != 0)
		refuse("cannot take the session's terminal from the vendor");
	if (held_elsewhere(st.st_rdev))
		refuse("another process holds the session's terminal open");
}

/* Outer step: started by sshd as the vendor; runs script as root, as its parent. */
static int run_outer(int argc, char **argv, uid_t vendor_uid)
{
	char *env[ENV_MAX] = {NULL};
	char out[PATH_MAX], in[PATH_MAX], timing[PATH_MAX];
	char user[PV_NAME_MAX + 1];
	struct pv_config cfg;
	struct pv_err err;
	const char *id;
	size_t n = 0;
	int dirfd = -1, hold_fd = -1;

	if (pv_account_name(vendor_uid, user, sizeof(user), &err) != PV_OK)
		refuse("this account cannot be read");
	if (pv_config_load(PV_DEFAULT_CONFIG, &cfg, &err) != PV_OK)
		refuse_quietly(err.msg);
	if (argc != 1 && !(argc == 3 && strcmp(argv[1], "-c") == 0))
		refuse("only a login shell or a command (-c) can be recorded");
	if (!cfg.recording_required) {
		struct passwd *pw = getpwuid(vendor_uid);
		if (pw == NULL)
			refuse("this account cannot be read");
		become(pw->pw_name, pw->pw_uid, pw->pw_gid);
		execv(cfg.vendor_shell, argv); /* recording off: the shell, as sshd would */
		refuse("cannot start the vendor's shell");
	}
	id = claim_recording(&cfg, user, &dirfd, &hold_fd);
	if (isatty(STDIN_FILENO))
		take_terminal();
	part_path(timing, &cfg, id, 0);
	part_path(in, &cfg, id, 1);
	part_path(out, &cfg, id, 2);
	add_env(env, &n, "PATH", SAFE_PATH);
	add_env(env, &n, "SHELL", cfg.recorder);
	add_env(env, &n, "PV_REC_USER", user);
	add_env(env, &n, "PV_REC_SHELL", cfg.vendor_shell);
	if (argc == 3)
		add_env(env, &n, "PV_REC_COMMAND", argv[2]);
	if (!isatty(STDIN_FILENO))
		add_env(env, &n, "PV_REC_PLAIN", "1");
	add_passing(env, &n);
	umask(077);
	if (setgroups(0, NULL) != 0 || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)
		refuse("cannot start the recorder as root");
	{
		const char *const script[] = {"script",
		                              "--quiet",
		                              "--flush",
		                              "--return",
		                              "--echo",
		                              isatty(STDIN_FILENO) ? "auto" : "never",
		                              "--log-out",
		                              out,
		                              "--log-in",
		                              in,
		                              "--log-timing",
		                              timing,
		                              "--command",
		                              INNER_ARG,
		                              NULL};
		struct watch w = {dirfd, -1, hold_fd, cfg.recording_min_free, id};
		int rc = supervise(script, env, &w);

		free_env(env);
		return rc;
	}
}

#if defined(__SANITIZE_ADDRESS__)
/* The sanitizer build only (make SANITIZE=1): LeakSanitizer's check at exit runs in a task it
 * clones, and after unshare(CLONE_NEWPID) a clone lands in the session's PID namespace, whose
 * init has gone by then: the check fails and the session's exit status with it. That build
 * checks pv-record for memory errors, not for leaks. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int main(int argc, char **argv)
{
	uid_t ruid = getuid();

	openlog("pv-record", LOG_PID, LOG_AUTHPRIV);
	if (geteuid() != 0)
		refuse("pv-record is not installed set-uid root");
	if (ruid == 0 && argc == 3 && strcmp(argv[1], "-c") == 0 &&
	    strcmp(argv[2], INNER_ARG) == 0 && getenv("PV_REC_USER") != NULL)
		return run_inner();
	if (ruid == 0)
		refuse("pv-record is the login shell of vendors, not of root");
	return run_outer(argc, argv, ruid);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* run.c — run a system tool (sudo -l, sshd -T, ...) and capture what it prints: argv only,
 * never a shell; a fixed, minimal environment (C locale, system PATH); stdin and stderr on
 * /dev/null unless asked; no file descriptor of ours inherited; killed after a timeout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "otpctl.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void child(const char *const argv[], int out_fd, bool keep_stderr)
{
	static char *const env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(keep_stderr ? out_fd : null_fd, STDERR_FILENO) < 0)
		_exit(126);
	closefrom(3);
	execve(argv[0], (char *const *)argv, env);
	_exit(127);
}

int ctl_run(const char *const argv[], bool with_stderr, int timeout_s, char *out, size_t out_len,
            int *exit_status, struct pv_err *err)
{
	int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
	size_t used = 0;
	bool truncated = false;
	int pipefd[2];
	int status = 0;
	pid_t pid;
	int rc = PV_ERR;

	out[0] = '\0';
	*exit_status = -1;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		pv_err_errno(err, errno, "cannot run %s", argv[0]);
		return PV_ERR;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pv_err_errno(err, errno, "cannot run %s", argv[0]);
		close(pipefd[0]);
		close(pipefd[1]);
		return PV_ERR;
	}
	if (pid == 0)
		child(argv, pipefd[1], with_stderr);
	close(pipefd[1]);
	for (;;) {
		struct pollfd p = {pipefd[0], POLLIN, 0};
		int64_t left = deadline - now_ms();
		char buf[4096];
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			pv_err_set(err, "%s did not finish within %d s", argv[0], timeout_s);
			goto reap;
		}
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			kill(pid, SIGKILL);
			pv_err_errno(err, errno, "cannot read from %s", argv[0]);
			goto reap;
		}
		n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		if (used + (size_t)n >= out_len) {
			truncated = true;
			n = (ssize_t)(out_len - 1 - used);
		}
		memcpy(out + used, buf, (size_t)n);
		used += (size_t)n;
		out[used] = '\0';
	}
	rc = PV_OK;
reap:
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == PV_OK) {
		if (WIFEXITED(status))
			*exit_status = WEXITSTATUS(status);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
			pv_err_set(err, "cannot execute %s", argv[0]);
			rc = PV_ERR;
		} else if (truncated) {
			pv_err_set(err, "%s printed more than %zu bytes", argv[0], out_len - 1);
			rc = PV_ERR;
		}
	}
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* escapedrive.c — what a vendor could leave behind to outlive its recorded session
 * (test_recording.sh runs it as the vendor in a command session). Each mode ignores SIGHUP and
 * detaches (fork, setsid in the child); the parent exits once what follows is in place (one
 * byte through a pipe), so that the session can count it right away:
 *   zleader    a thread group whose main thread has exited (SYS_exit, not exit_group) while a
 *              second thread runs: /proc shows the process as a zombie ("Z"), but it lives;
 *   chain N    N processes, each the parent of the next, every one waiting (pause).
 * Usage: escapedrive zleader | escapedrive chain N */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void *wait_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int zombie_leader(int ready)
{
	pthread_t t;

	if (pthread_create(&t, NULL, wait_forever, NULL) != 0 || write(ready, "z", 1) != 1)
		return 1;
	close(ready);
	syscall(SYS_exit, 0); /* this thread only: the other goes on */
	return 1;
}

static int chain(long n, int ready)
{
	long i;
	pid_t pid;

	for (i = 1; i < n; i++) {
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid > 0)
			break; /* this level waits; its child makes the next */
	}
	if (i == n && write(ready, "c", 1) != 1) /* the last one */
		return 1;
	close(ready);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	long n = 0;
	pid_t pid;
	int ready[2];
	char byte;

	if (!(argc == 2 && strcmp(argv[1], "zleader") == 0) &&
	    !(argc == 3 && strcmp(argv[1], "chain") == 0 && (n = strtol(argv[2], NULL, 10)) > 0)) {
		fprintf(stderr, "usage: escapedrive zleader | escapedrive chain N\n");
		return 2;
	}
	if (signal(SIGHUP, SIG_IGN) == SIG_ERR || pipe(ready) != 0)
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid > 0) {
		close(ready[1]);
		return read(ready[0], &byte, 1) == 1 ? 0 : 1;
	}
	close(ready[0]);
	if (setsid() < 0)
		return 1;
	return n > 0 ? chain(n, ready[1]) : zombie_leader(ready[1]);
}

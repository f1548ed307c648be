/* SPDX-License-Identifier: BSD-3-Clause */
/* vtty.c — a short notice on the terminals of a vendor's SSH session (otpctl expire: the
 * warning that the window ends soon, and the last message as the session is ended). The
 * terminals are the /dev/pts/N that the vendor's processes descending from the session's
 * process (sshd's monitor) hold as controlling terminal or on descriptors 0-2. Each is opened
 * as write(1) and wall(1) do (O_NOCTTY, O_NONBLOCK) and without following a symlink, and is
 * written only when fstat shows a pty slave owned by the vendor: nothing a vendor controls can
 * make this write to another file or another user's terminal, or make it wait. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "otpctl.h"
#include "procfs.h"
#include "timeparse.h"

#define MAX_TERMINALS 32
#define MAX_DEPTH     64 /* parent links followed from a process up to the session's */
#define MAX_PROCESSES 4194304

struct proc_node {
	long pid;
	long ppid;
	bool vendor; /* runs under the vendor's uid */
};

static int by_pid(const void *a, const void *b)
{
	const struct proc_node *x = a;
	const struct proc_node *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Every process's parent, and whether it is the vendor's (a snapshot; enough for a notice). */
static int read_table(uid_t uid, struct proc_node **out, size_t *n)
{
	struct proc_node *nodes = NULL;
	size_t count = 0;
	size_t cap = 0;
	struct dirent *de;
	DIR *dir = opendir("/proc");
	int rc = EXIT_FAIL;

	if (dir == NULL) {
		ctl_warn("cannot list /proc: %s", strerror(errno));
		return EXIT_FAIL;
	}
	while ((de = readdir(dir)) != NULL) {
		struct pv_proc_status st;
		struct pv_err err;
		uint64_t pid;

		if (pv_parse_u64(de->d_name, INT32_MAX, &pid) != PV_OK ||
		    pv_proc_read_status((long)pid, &st, &err) != PV_OK)
			continue; /* not a process, or it ended meanwhile */
		if (count == cap) {
			size_t new_cap = cap ? cap * 2 : 256;
			void *grown;

			if (new_cap > MAX_PROCESSES ||
			    (grown = realloc(nodes, new_cap * sizeof(*nodes))) == NULL) {
				ctl_warn("out of memory listing processes");
				goto out;
			}
			nodes = grown;
			cap = new_cap;
		}
		nodes[count].pid = (long)pid;
		nodes[count].ppid = st.ppid;
		nodes[count].vendor = pv_proc_runs_as(&st, (uint32_t)uid);
		count++;
	}
	if (count > 1)
		qsort(nodes, count, sizeof(*nodes), by_pid);
	*out = nodes;
	*n = count;
	nodes = NULL;
	rc = EXIT_OK;
out:
	free(nodes);
	closedir(dir);
	return rc;
}

static bool descends_from(const struct proc_node *nodes, size_t n, long pid, long ancestor)
{
	int depth;

	for (depth = 0; depth < MAX_DEPTH && pid > 1; depth++) {
		struct proc_node key = {pid, 0, false};
		const struct proc_node *node;

		if (pid == ancestor)
			return true;
		node = bsearch(&key, nodes, n, sizeof(*nodes), by_pid);
		if (node == NULL)
			return false;
		pid = node->ppid;
	}
	return false;
}

static void add_pts(long *list, size_t *n, long pts)
{
	size_t i;

	if (pts < 0 || *n >= MAX_TERMINALS)
		return;
	for (i = 0; i < *n; i++)
		if (list[i] == pts)
			return;
	list[(*n)++] = pts;
}

/* The process's controlling terminal and what its descriptors 0-2 point to, if pts. */
static void collect_pts(long pid, long *list, size_t *n)
{
	char path[64];
	char text[1024];
	ssize_t len;
	int fd;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		len = read(fd, text, sizeof(text) - 1);
		if (len > 0) {
			text[len] = '\0';
			add_pts(list, n, pv_proc_parse_stat_pts(text));
		}
		close(fd);
	}
	for (i = 0; i <= 2; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/fd/%d", pid, i);
		len = readlink(path, text, sizeof(text) - 1);
		if (len <= 0)
			continue;
		text[len] = '\0';
		add_pts(list, n, pv_pts_number(text));
	}
}

/* Write text to /dev/pts/N if it is the vendor's pty; true when all of it was written. */
static bool write_terminal(long pts, uid_t uid, const char *text)
{
	size_t len = strlen(text);
	char path[64];
	struct stat st;
	bool done = false;
	int fd;

	snprintf(path, sizeof(path), "/dev/pts/%ld", pts);
	fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == PV_PTS_MAJOR &&
	    (long)minor(st.st_rdev) == pts && st.st_uid == uid)
		done =
		    write(fd, text, len) == (ssize_t)len; /* a full terminal: no wait, no notice */
	close(fd);
	return done;
}

unsigned ctl_session_notify(uid_t uid, long session_pid, const char *text)
{
	struct proc_node *nodes = NULL;
	long terminals[MAX_TERMINALS];
	size_t n_terminals = 0;
	unsigned written = 0;
	size_t n = 0;
	size_t i;

	if (read_table(uid, &nodes, &n) != EXIT_OK)
		return 0;
	for (i = 0; i < n; i++)
		if (nodes[i].vendor && descends_from(nodes, n, nodes[i].pid, session_pid))
			collect_pts(nodes[i].pid, terminals, &n_terminals);
	for (i = 0; i < n_terminals; i++)
		if (write_terminal(terminals[i], uid, text))
			written++;
	free(nodes);
	return written;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* procfs.c — reading one process's facts from /proc (see procfs.h). The kernel writes these
 * files, but a process chooses its own name (shown escaped in status, raw in stat), so the
 * parsers never trust a line's position: keys are matched at the start of a line and stat's
 * fields are counted from the last ')'. */
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "timeparse.h"

/* The letters Linux prints for a task's state (fs/proc/array.c; W, K and x of older kernels).
 * "t (tracing stop)" is lower case: a vendor's process stopped by a tracer is still running. */
#define KERNEL_STATES   "RSDTtXZPIWKx"
#define STATUS_READ_MAX 4096 /* State, PPid and Uid come before the long Groups line */

/* The value of "Key:\t..." when line is that key's line, else NULL. */
static const char *key_value(const char *line, const char *key)
{
	size_t klen = strlen(key);

	if (strncmp(line, key, klen) != 0 || line[klen] != ':')
		return NULL;
	line += klen + 1;
	while (*line == '\t' || *line == ' ')
		line++;
	return line;
}

/* Up to max whitespace-separated unsigned decimals from value (one line). */
static bool parse_numbers(const char *value, uint64_t *out, size_t count, uint64_t max)
{
	char word[24];
	size_t i;

	for (i = 0; i < count; i++) {
		size_t len = strcspn(value, "\t ");

		if (len == 0 || len >= sizeof(word))
			return false;
		memcpy(word, value, len);
		word[len] = '\0';
		if (pv_parse_u64(word, max, &out[i]) != PV_OK)
			return false;
		value += len;
		while (*value == '\t' || *value == ' ')
			value++;
	}
	return *value == '\0';
}

/* One complete line: fill the field it names. false when it is malformed or a repeat. */
static bool status_line(char *line, struct pv_proc_status *st, unsigned *seen)
{
	uint64_t v[4];
	const char *value;
	size_t i;

	if ((value = key_value(line, "State")) != NULL) {
		if ((*seen & 1) || value[0] == '\0' || strchr(KERNEL_STATES, value[0]) == NULL)
			return false;
		st->state = value[0];
		*seen |= 1;
	} else if ((value = key_value(line, "PPid")) != NULL) {
		if ((*seen & 2) || !parse_numbers(value, v, 1, INT32_MAX))
			return false;
		st->ppid = (long)v[0];
		*seen |= 2;
	} else if ((value = key_value(line, "Uid")) != NULL) {
		if ((*seen & 4) || !parse_numbers(value, v, 4, UINT32_MAX))
			return false;
		for (i = 0; i < 4; i++)
			st->uid[i] = (uint32_t)v[i];
		*seen |= 4;
	}
	return true;
}

int pv_proc_parse_status(const char *text, struct pv_proc_status *st)
{
	char line[512];
	unsigned seen = 0;

	memset(st, 0, sizeof(*st));
	for (;;) {
		const char *nl = strchr(text, '\n');
		size_t len;

		if (nl == NULL)
			break; /* a line cut by the read bound is not looked at */
		len = (size_t)(nl - text);
		if (len < sizeof(line)) {
			memcpy(line, text, len);
			line[len] = '\0';
			if (!status_line(line, st, &seen))
				return PV_ERR;
		}
		text = nl + 1;
	}
	return seen == 7 ? PV_OK : PV_ERR;
}

int pv_proc_read_status(long pid, struct pv_proc_status *st, struct pv_err *err)
{
	char path[64];
	char buf[STATUS_READ_MAX + 1];
	size_t got = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return PV_NOTFOUND;
		pv_err_errno(err, errno, "cannot read %s", path);
		return PV_ERR;
	}
	while (got < STATUS_READ_MAX) {
		ssize_t n = read(fd, buf + got, STATUS_READ_MAX - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			if (e == ESRCH)
				return PV_NOTFOUND;
			pv_err_errno(err, e, "cannot read %s", path);
			return PV_ERR;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	if (got == 0)
		return PV_NOTFOUND; /* the process went away while we read */
	if (pv_proc_parse_status(buf, st) != PV_OK) {
		pv_err_set(err, "cannot parse %s", path);
		return PV_ERR;
	}
	return PV_OK;
}

bool pv_proc_runs_as(const struct pv_proc_status *st, uint32_t uid)
{
	size_t i;

	if (st->state == 'Z' || st->state == 'X')
		return false;
	for (i = 0; i < 4; i++)
		if (st->uid[i] == uid)
			return true;
	return false;
}

/* The pts number of an encoded device (the kernel's new_encode_dev), -1 if not a pts. */
static long pts_of_device(uint32_t dev)
{
	uint32_t major = (dev >> 8) & 0xfff;
	uint32_t minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);

	return major == PV_PTS_MAJOR ? (long)minor : -1;
}

/* Field `want` (3 or more) of /proc/PID/stat as text into word. The command name (field 2)
 * may hold spaces and ')': fields resume after the last ')'. */
static int stat_field(const char *text, int want, char *word, size_t size)
{
	const char *p = strrchr(text, ')');
	size_t len;
	int field;

	if (p == NULL)
		return PV_ERR;
	p++; /* before field 3 (state) */
	for (field = 3; field <= want; field++) {
		if (*p != ' ')
			return PV_ERR;
		p++;
		if (field < want)
			p += strcspn(p, " ");
	}
	len = strcspn(p, " \n");
	if (len == 0 || len >= size)
		return PV_ERR;
	memcpy(word, p, len);
	word[len] = '\0';
	return PV_OK;
}

long pv_proc_parse_stat_pts(const char *text)
{
	char word[24];
	bool negative;
	uint64_t v;

	if (stat_field(text, 7, word, sizeof(word)) != PV_OK) /* tty_nr */
		return -1;
	/* tty_nr is printed as a signed int: a minor of 2^19 or more sets its sign bit. */
	negative = (word[0] == '-');
	if (pv_parse_u64(word + negative, (uint64_t)INT32_MAX + negative, &v) != PV_OK || v == 0)
		return -1;
	return pts_of_device(negative ? (uint32_t)(-(int64_t)v) : (uint32_t)v);
}

int pv_proc_parse_stat_start(const char *text, uint64_t *start)
{
	char word[24];

	if (stat_field(text, 22, word, sizeof(word)) != PV_OK) /* starttime */
		return PV_ERR;
	return pv_parse_u64(word, UINT64_MAX, start);
}

long pv_pts_number(const char *path)
{
	static const char prefix[] = "/dev/pts/";
	uint64_t n;

	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0 ||
	    pv_parse_u64(path + sizeof(prefix) - 1, PV_PTS_MAX, &n) != PV_OK)
		return -1;
	return (long)n;
}

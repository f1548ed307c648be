/* SPDX-License-Identifier: BSD-3-Clause */
/* readfile.c — pv_read_file_at (safefile.h): a whole checked file (config, key, record,
 * serial) read into memory, bounded in size, wiped on error. */
#include "safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pv_read_file_at(int dirfd, const char *name, enum pv_file_policy policy, size_t max_len,
                    const char *display, unsigned char **data, size_t *len, struct pv_err *err)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t used = 0;
	bool missing = false;
	int rc = PV_ERR;
	int fd;

	*data = NULL;
	*len = 0;
	fd = pv_open_file_stat_at(dirfd, name, O_RDONLY, policy, display, &missing, &st, err);
	if (fd < 0)
		return missing ? PV_NOTFOUND : PV_ERR;
	if ((uintmax_t)st.st_size > max_len) {
		pv_err_set(err, "%s is too large (%jd bytes, at most %zu expected)", display,
		           (intmax_t)st.st_size, max_len);
		goto out;
	}
	buf = malloc(max_len + 1);
	if (buf == NULL) {
		pv_err_set(err, "out of memory reading %s", display);
		goto out;
	}
	for (;;) {
		ssize_t got = read(fd, buf + used, max_len + 1 - used);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			pv_err_errno(err, errno, "cannot read %s", display);
			goto out;
		}
		if (got == 0)
			break;
		used += (size_t)got;
		if (used > max_len) {
			pv_err_set(err, "%s grew beyond %zu bytes while being read", display,
			           max_len);
			goto out;
		}
	}
	buf[used] = '\0';
	*data = buf;
	*len = used;
	buf = NULL;
	rc = PV_OK;
out:
	if (buf != NULL) {
		explicit_bzero(buf, max_len + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

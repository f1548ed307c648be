/* SPDX-License-Identifier: BSD-3-Clause */
/* vendorlist.c — the local list of registered vendor names (see vendorlist.h): read, checked
 * line by line, and replaced atomically through safefile.c under a lock of its own. */
#include "vendorlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safefile.h"

#define LIST_BYTES_MAX ((size_t)PV_VENDOR_LIST_MAX * (PV_NAME_MAX + 1))

/* Split text into lines, each a valid vendor name (a final newline is optional). */
static int parse(char *text, const char *shown, char (**names)[PV_NAME_MAX + 1], size_t *n,
                 struct pv_err *err)
{
	char(*list)[PV_NAME_MAX + 1] = NULL;
	size_t count = 0;
	size_t line_no = 0;
	char *line = text;

	*names = NULL;
	*n = 0;
	while (*line != '\0') {
		char *nl = strchr(line, '\n');

		if (nl != NULL)
			*nl = '\0';
		line_no++;
		if (!pv_vendor_name_valid(line)) {
			pv_err_set(err, "%s line %zu is not a vendor name", shown, line_no);
			goto fail;
		}
		if (count % 64 == 0) {
			void *grown = realloc(list, (count + 64) * sizeof(*list));
			if (grown == NULL) {
				pv_err_set(err, "out of memory reading %s", shown);
				goto fail;
			}
			list = grown;
		}
		snprintf(list[count++], sizeof(*list), "%s", line);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	*names = list;
	*n = count;
	return PV_OK;
fail:
	free(list);
	return PV_ERR;
}

int pv_vendorlist_read(const char *dir, char (**names)[PV_NAME_MAX + 1], size_t *n,
                       struct pv_err *err)
{
	char shown[4200];
	unsigned char *data = NULL;
	size_t len = 0;
	int dirfd;
	int rc;

	*names = NULL;
	*n = 0;
	snprintf(shown, sizeof(shown), "%s/%s", dir, PV_VENDOR_LIST);
	dirfd = pv_open_dir(dir, true, err);
	if (dirfd < 0)
		return PV_ERR;
	rc = pv_read_file_at(dirfd, PV_VENDOR_LIST, PV_FILE_PRIVATE, LIST_BYTES_MAX, shown, &data,
	                     &len, err);
	close(dirfd);
	if (rc != PV_OK)
		return rc;
	if (memchr(data, '\0', len) != NULL) {
		pv_err_set(err, "%s contains a NUL byte", shown);
		rc = PV_ERR;
	} else {
		rc = parse((char *)data, shown, names, n, err);
	}
	free(data);
	return rc;
}

int pv_vendorlist_has(const char *dir, const char *name, bool *listed, struct pv_err *err)
{
	char(*names)[PV_NAME_MAX + 1] = NULL;
	size_t n = 0;
	size_t i;
	int rc;

	*listed = false;
	rc = pv_vendorlist_read(dir, &names, &n, err);
	if (rc == PV_NOTFOUND) {
		pv_err_set(err, "the vendor list %s/%s does not exist (otpctl expire writes it)",
		           dir, PV_VENDOR_LIST);
		return PV_ERR;
	}
	if (rc != PV_OK)
		return PV_ERR;
	for (i = 0; i < n && !*listed; i++)
		*listed = strcmp(names[i], name) == 0;
	free(names);
	return PV_OK;
}

/* Write names into dirfd (the lock is held). */
static int replace(int dirfd, const char *shown, char (*names)[PV_NAME_MAX + 1], size_t n,
                   struct pv_err *err)
{
	char *text;
	size_t used = 0;
	size_t i;
	int rc;

	text = malloc(n * (PV_NAME_MAX + 1) + 1);
	if (text == NULL) {
		pv_err_set(err, "out of memory writing %s", shown);
		return PV_ERR;
	}
	for (i = 0; i < n; i++) {
		if (!pv_vendor_name_valid(names[i])) {
			pv_err_set(err, "refusing to write %s: entry %zu is not a vendor name",
			           shown, i + 1);
			free(text);
			return PV_ERR;
		}
		used += (size_t)sprintf(text + used, "%s\n", names[i]);
	}
	rc = pv_write_file_atomic(dirfd, PV_VENDOR_LIST, text, used, shown, err);
	free(text);
	return rc;
}

/* Open dir and take the list's lock: returns the lock fd, *dirfd set, or -1. */
static int lock_list(const char *dir, int lock_timeout, int *dirfd, struct pv_err *err)
{
	char shown[4200];
	int lockfd;

	*dirfd = pv_open_dir(dir, true, err);
	if (*dirfd < 0)
		return -1;
	snprintf(shown, sizeof(shown), "%s/%s", dir, PV_VENDOR_LIST_LOCK);
	lockfd = pv_lock_file_at(*dirfd, PV_VENDOR_LIST_LOCK, lock_timeout, shown, err);
	if (lockfd < 0) {
		close(*dirfd);
		*dirfd = -1;
	}
	return lockfd;
}

int pv_vendorlist_write(const char *dir, char (*names)[PV_NAME_MAX + 1], size_t n, int lock_timeout,
                        struct pv_err *err)
{
	char shown[4200];
	int dirfd;
	int lockfd;
	int rc;

	snprintf(shown, sizeof(shown), "%s/%s", dir, PV_VENDOR_LIST);
	lockfd = lock_list(dir, lock_timeout, &dirfd, err);
	if (lockfd < 0)
		return PV_ERR;
	rc = replace(dirfd, shown, names, n, err);
	close(lockfd);
	close(dirfd);
	return rc;
}

int pv_vendorlist_set(const char *dir, const char *name, bool listed, int lock_timeout,
                      struct pv_err *err)
{
	char(*names)[PV_NAME_MAX + 1] = NULL;
	char shown[4200];
	size_t n = 0;
	size_t kept = 0;
	size_t i;
	int dirfd;
	int lockfd;
	int rc = PV_ERR;

	snprintf(shown, sizeof(shown), "%s/%s", dir, PV_VENDOR_LIST);
	lockfd = lock_list(dir, lock_timeout, &dirfd, err);
	if (lockfd < 0)
		return PV_ERR;
	rc = pv_vendorlist_read(dir, &names, &n, err);
	if (rc == PV_NOTFOUND)
		rc = PV_OK;
	if (rc != PV_OK)
		goto out;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) != 0)
			memcpy(names[kept++], names[i], sizeof(*names));
	if (listed) {
		void *grown = realloc(names, (kept + 1) * sizeof(*names));
		if (grown == NULL) {
			pv_err_set(err, "out of memory writing %s", shown);
			rc = PV_ERR;
			goto out;
		}
		names = grown;
		snprintf(names[kept++], sizeof(*names), "%s", name);
	}
	rc = replace(dirfd, shown, names, kept, err);
out:
	free(names);
	close(lockfd);
	close(dirfd);
	return rc;
}

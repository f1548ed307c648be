/* SPDX-License-Identifier: BSD-3-Clause */
/* dirlist.c — pv_dir_list (safefile.h): the sorted, bounded names of a checked directory
 * (rotated audit logs, session records, the vendors of a store). */
#include "safefile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void pv_dir_list_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Append a copy of name to the growing list. */
static int list_add(char ***list, size_t *count, size_t *cap, const char *name, size_t max,
                    const char *display, struct pv_err *err)
{
	char *copy;

	if (*count >= max) {
		pv_err_set(err, "%s holds more than %zu entries", display, max);
		return PV_ERR;
	}
	if (*count == *cap) {
		size_t new_cap = *cap ? *cap * 2 : 16;
		char **grown = realloc(*list, new_cap * sizeof(**list));
		if (grown == NULL) {
			pv_err_set(err, "out of memory listing %s", display);
			return PV_ERR;
		}
		*list = grown;
		*cap = new_cap;
	}
	copy = strdup(name);
	if (copy == NULL) {
		pv_err_set(err, "out of memory listing %s", display);
		return PV_ERR;
	}
	(*list)[(*count)++] = copy;
	return PV_OK;
}

int pv_dir_list(int dirfd, const char *display, bool (*keep)(const char *name, void *ctx),
                void *ctx, size_t max, char ***names, size_t *n, struct pv_err *err)
{
	char **list = NULL;
	size_t count = 0;
	size_t cap = 0;
	struct dirent *de;
	DIR *dir = NULL;
	int fd;
	int rc = PV_ERR;

	*names = NULL;
	*n = 0;
	/* A fresh descriptor: closedir closes it, and the caller's dirfd keeps its position. */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		pv_err_errno(err, errno, "cannot list %s", display);
		if (fd >= 0)
			close(fd);
		return PV_ERR;
	}
	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    !keep(de->d_name, ctx))
			continue;
		if (list_add(&list, &count, &cap, de->d_name, max, display, err) != PV_OK)
			goto out;
	}
	if (errno != 0) {
		pv_err_errno(err, errno, "cannot list %s", display);
		goto out;
	}
	if (count > 1)
		qsort(list, count, sizeof(*list), compare_names);
	*names = list;
	*n = count;
	list = NULL;
	rc = PV_OK;
out:
	pv_dir_list_free(list, count);
	closedir(dir);
	return rc;
}

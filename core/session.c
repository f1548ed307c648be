/* SPDX-License-Identifier: BSD-3-Clause */
/* session.c — records of live vendor sessions (see session.h). Text format, one key per line:
 *   pam_vendor-session 2 / id HEX / user NAME / service NAME / kind ssh|vpn /
 *   rhost ADDR|- / tunnel ADDR:PORT|- / pid N / pid_start N / opened EPOCH / warned EPOCH /
 *   end
 * Records live under /run and die with a reboot: an older layout is refused as damaged. */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfs.h"
#include "safefile.h"
#include "timeparse.h"

#define MAGIC        "pam_vendor-session 2"
#define SUFFIX       ".session"
#define RECORD_MAX   1024
#define MAX_SESSIONS 100000

bool pv_session_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return i == PV_SESSION_ID_LEN;
}

static bool word_valid(const char *w, size_t max)
{
	size_t i;

	for (i = 0; w[i] != '\0'; i++)
		if ((unsigned char)w[i] <= 0x20 || (unsigned char)w[i] >= 0x7f)
			return false;
	return i > 0 && i < max;
}

int pv_session_save(const char *session_dir, const struct pv_session *s, struct pv_err *err)
{
	char name[PV_SESSION_ID_LEN + sizeof(SUFFIX)];
	char shown[PATH_MAX + 64];
	char text[RECORD_MAX];
	int dirfd;
	int n;
	int rc;

	if (!pv_session_id_valid(s->id) || !pv_vendor_name_valid(s->user) ||
	    !word_valid(s->service, sizeof(s->service)) || s->pid <= 0 || s->warned < 0 ||
	    (s->kind != PV_SESSION_SSH && s->kind != PV_SESSION_VPN) ||
	    (s->rhost[0] != '\0' && !word_valid(s->rhost, sizeof(s->rhost))) ||
	    (s->tunnel[0] != '\0' && !word_valid(s->tunnel, sizeof(s->tunnel)))) {
		pv_err_set(err, "refusing to record an invalid session");
		return PV_ERR;
	}
	n = snprintf(text, sizeof(text),
	             "%s\nid %s\nuser %s\nservice %s\nkind %s\nrhost %s\ntunnel %s\npid "
	             "%ld\npid_start %" PRIu64 "\nopened %" PRId64 "\nwarned %" PRId64 "\nend\n",
	             MAGIC, s->id, s->user, s->service, s->kind == PV_SESSION_VPN ? "vpn" : "ssh",
	             s->rhost[0] ? s->rhost : "-", s->tunnel[0] ? s->tunnel : "-", s->pid,
	             s->pid_start, s->opened, s->warned);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		pv_err_set(err, "session record too long");
		return PV_ERR;
	}
	dirfd = pv_open_dir_create(session_dir, true, err);
	if (dirfd < 0)
		return PV_ERR;
	snprintf(name, sizeof(name), "%s%s", s->id, SUFFIX);
	snprintf(shown, sizeof(shown), "%s/%s", session_dir, name);
	/* Not synced: the record only matters while its process lives, and no process survives
	 * a crash (session_dir is normally under /run, which a reboot empties). */
	rc = pv_write_file_volatile(dirfd, name, text, (size_t)n, shown, err);
	close(dirfd);
	return rc;
}

/* The session directory, opened, and the file name of record id in name: a descriptor, or
 * PV_NOTFOUND when the directory does not exist, PV_ERR (err set) for a bad id or directory. */
static int open_record_dir(const char *session_dir, const char *id,
                           char name[PV_SESSION_ID_LEN + sizeof(SUFFIX)], struct pv_err *err)
{
	int dirfd;

	if (!pv_session_id_valid(id)) {
		pv_err_set(err, "invalid session id");
		return PV_ERR;
	}
	if (!pv_path_present(session_dir))
		return PV_NOTFOUND;
	dirfd = pv_open_dir(session_dir, true, err);
	if (dirfd < 0)
		return PV_ERR;
	snprintf(name, PV_SESSION_ID_LEN + sizeof(SUFFIX), "%s%s", id, SUFFIX);
	return dirfd;
}

int pv_session_remove(const char *session_dir, const char *id, struct pv_err *err)
{
	char name[PV_SESSION_ID_LEN + sizeof(SUFFIX)];
	int dirfd;
	int rc = PV_OK;

	dirfd = open_record_dir(session_dir, id, name, err);
	if (dirfd < 0)
		return dirfd;
	if (unlinkat(dirfd, name, 0) != 0) {
		if (errno == ENOENT) {
			rc = PV_NOTFOUND;
		} else {
			pv_err_errno(err, errno, "cannot remove session record %s/%s", session_dir,
			             name);
			rc = PV_ERR;
		}
	}
	close(dirfd);
	return rc;
}

/* One "key value" line; returns the value or NULL. Advances *p past the line. */
static char *take_line(char **p, const char *key)
{
	char *line = *p;
	char *nl = strchr(line, '\n');
	size_t klen = strlen(key);

	if (nl == NULL)
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	if (strncmp(line, key, klen) != 0 || line[klen] != ' ')
		return NULL;
	return line + klen + 1;
}

static int parse_record(char *text, const char *shown, struct pv_session *s, struct pv_err *err)
{
	char *p = text;
	char *v[11];
	static const char *const keys[11] = {"id",     "user",   "service", "kind",
	                                     "rhost",  "tunnel", "pid",     "pid_start",
	                                     "opened", "warned", NULL};
	uint64_t pid;
	uint64_t opened;
	uint64_t warned;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (strncmp(p, MAGIC "\n", strlen(MAGIC) + 1) != 0)
		goto bad;
	p += strlen(MAGIC) + 1;
	for (i = 0; keys[i] != NULL; i++)
		if ((v[i] = take_line(&p, keys[i])) == NULL)
			goto bad;
	if (strcmp(p, "end\n") != 0 || !pv_session_id_valid(v[0]) || !pv_vendor_name_valid(v[1]) ||
	    !word_valid(v[2], sizeof(s->service)) ||
	    (strcmp(v[3], "ssh") != 0 && strcmp(v[3], "vpn") != 0) ||
	    !word_valid(v[4], sizeof(s->rhost)) || !word_valid(v[5], sizeof(s->tunnel)) ||
	    pv_parse_u64(v[6], (uint64_t)INT32_MAX, &pid) != PV_OK || pid == 0 ||
	    pv_parse_u64(v[7], UINT64_MAX, &s->pid_start) != PV_OK ||
	    pv_parse_u64(v[8], (uint64_t)INT64_MAX, &opened) != PV_OK ||
	    pv_parse_u64(v[9], (uint64_t)INT64_MAX, &warned) != PV_OK)
		goto bad;
	snprintf(s->id, sizeof(s->id), "%s", v[0]);
	snprintf(s->user, sizeof(s->user), "%s", v[1]);
	snprintf(s->service, sizeof(s->service), "%s", v[2]);
	s->kind = strcmp(v[3], "vpn") == 0 ? PV_SESSION_VPN : PV_SESSION_SSH;
	snprintf(s->rhost, sizeof(s->rhost), "%s", strcmp(v[4], "-") == 0 ? "" : v[4]);
	snprintf(s->tunnel, sizeof(s->tunnel), "%s", strcmp(v[5], "-") == 0 ? "" : v[5]);
	s->pid = (long)pid;
	s->opened = (int64_t)opened;
	s->warned = (int64_t)warned;
	return PV_OK;
bad:
	pv_err_set(err, "session record %s is damaged", shown);
	return PV_ERR;
}

static int compare_opened(const void *a, const void *b)
{
	const struct pv_session *x = a;
	const struct pv_session *y = b;

	if (x->opened != y->opened)
		return x->opened < y->opened ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Read one record file; PV_NOTFOUND when it vanished meanwhile (its session closed). */
static int read_one(int dirfd, const char *session_dir, const char *name, struct pv_session *s,
                    struct pv_err *err)
{
	char shown[PATH_MAX + NAME_MAX + 2];
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;

	snprintf(shown, sizeof(shown), "%s/%s", session_dir, name);
	rc = pv_read_file_at(dirfd, name, PV_FILE_PRIVATE, RECORD_MAX, shown, &data, &len, err);
	if (rc != PV_OK)
		return rc;
	rc = parse_record((char *)data, shown, s, err);
	if (rc == PV_OK && (strlen(name) != PV_SESSION_ID_LEN + strlen(SUFFIX) ||
	                    strncmp(name, s->id, PV_SESSION_ID_LEN) != 0)) {
		pv_err_set(err, "session record %s does not hold session %.32s", shown, name);
		rc = PV_ERR;
	}
	free(data);
	return rc;
}

int pv_session_load(const char *session_dir, const char *id, struct pv_session *s,
                    struct pv_err *err)
{
	char name[PV_SESSION_ID_LEN + sizeof(SUFFIX)];
	int dirfd;
	int rc;

	dirfd = open_record_dir(session_dir, id, name, err);
	if (dirfd < 0)
		return dirfd;
	rc = read_one(dirfd, session_dir, name, s, err);
	close(dirfd);
	return rc;
}

/* "<id>.session"; temp files (leading '.') are not records. */
static bool is_session_file(const char *name, void *ctx)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > strlen(SUFFIX) &&
	       strcmp(name + len - strlen(SUFFIX), SUFFIX) == 0;
}

int pv_session_list(const char *session_dir, struct pv_session **out, size_t *n, struct pv_err *err)
{
	struct pv_session *list = NULL;
	char **files = NULL;
	size_t n_files = 0;
	size_t count = 0;
	size_t i;
	int dirfd;
	int rc = PV_ERR;

	*out = NULL;
	*n = 0;
	if (!pv_path_present(session_dir))
		return PV_OK; /* no session was ever recorded (or the machine rebooted) */
	dirfd = pv_open_dir(session_dir, true, err);
	if (dirfd < 0)
		return PV_ERR;
	if (pv_dir_list(dirfd, session_dir, is_session_file, NULL, MAX_SESSIONS, &files, &n_files,
	                err) != PV_OK)
		goto out;
	list = calloc(n_files ? n_files : 1, sizeof(*list));
	if (list == NULL) {
		pv_err_set(err, "out of memory listing %s", session_dir);
		goto out;
	}
	for (i = 0; i < n_files; i++) {
		int r = read_one(dirfd, session_dir, files[i], &list[count], err);
		if (r == PV_OK)
			count++;
		else if (r != PV_NOTFOUND) /* PV_NOTFOUND: it closed while we listed */
			goto out;
	}
	if (count > 1)
		qsort(list, count, sizeof(*list), compare_opened);
	*out = list;
	*n = count;
	list = NULL;
	rc = PV_OK;
out:
	free(list);
	pv_dir_list_free(files, n_files);
	close(dirfd);
	return rc;
}

int pv_process_start(long pid, uint64_t *start, struct pv_err *err)
{
	char path[64];
	char buf[1024];
	FILE *f;
	size_t got;

	if (pid <= 0) {
		pv_err_set(err, "invalid pid %ld", pid);
		return PV_ERR;
	}
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno == ENOENT || errno == ESRCH)
			return PV_NOTFOUND;
		pv_err_errno(err, errno, "cannot read %s", path);
		return PV_ERR;
	}
	got = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[got] = '\0';
	if (got == 0 || strrchr(buf, ')') == NULL)
		return PV_NOTFOUND; /* the process went away while we read */
	if (pv_proc_parse_stat_start(buf, start) != PV_OK) {
		pv_err_set(err, "cannot parse %s", path);
		return PV_ERR;
	}
	return PV_OK;
}

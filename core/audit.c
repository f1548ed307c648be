/* audit.c — appending to, reading and verifying the chained audit log (see audit.h).
 * Line layout: {"time":..,"seq":N,"prev":"<hex mac of line N-1>",...fields...,"mac":"<hex>"}
 * where mac = BLAKE2b keyed with the audit subkey over every byte before ,"mac":". Because
 * each line names its predecessor's MAC, every line can be checked on its own and the links
 * between lines separately. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zlib.h>

#include "hostname.h"
#include "json.h"
#include "log.h"
#include "safefile.h"
#include "timeparse.h"

#define MAC_BYTES           32
#define MAC_HEX             (2 * MAC_BYTES)
#define HEAD_MAGIC          "pam_vendor-audit-head 1"
#define MAC_MARK            ",\"mac\":\""
#define MAX_ROTATED         100000
#define VERIFY_LOCK_TIMEOUT 10                  /* s: verify waits this long for a writer */
#define SEQ_MAX             1000000000000000ULL /* far beyond any log; keeps seq a safe int64 */

struct chain_head {
	uint64_t seq;
	unsigned char mac[MAC_BYTES];
	uint64_t live_start; /* seq of the current log file's first line (0: unknown) */
};

void pv_audit_event_init(struct pv_audit_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->duration_s = -1;
	ev->bytes_in = -1;
	ev->bytes_out = -1;
}

static void mac_of(const struct pv_keys *keys, const char *body, size_t len,
                   unsigned char mac[MAC_BYTES])
{
	crypto_generichash(mac, MAC_BYTES, (const unsigned char *)body, len, keys->audit,
	                   sizeof(keys->audit));
}

static int hex_to_mac(const char *hex, unsigned char mac[MAC_BYTES])
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (hex == NULL || strlen(hex) != MAC_HEX ||
	    sodium_hex2bin(mac, MAC_BYTES, hex, MAC_HEX, NULL, &bin_len, &end) != 0 ||
	    bin_len != MAC_BYTES || *end != '\0')
		return PV_ERR;
	return PV_OK;
}

/* Position of the MAC field in a line, or NULL. It is the last field and a JSON string value
 * can never contain the unescaped sequence ,"mac":" so the last occurrence is the field. */
static const char *find_mac_mark(const char *line, size_t len)
{
	const char *found = NULL;
	const char *p = line;
	size_t mark_len = strlen(MAC_MARK);

	while ((size_t)(p - line) + mark_len <= len) {
		const char *hit = memmem(p, len - (size_t)(p - line), MAC_MARK, mark_len);
		if (hit == NULL)
			break;
		found = hit;
		p = hit + 1;
	}
	if (found == NULL || (size_t)(line + len - found) != mark_len + MAC_HEX + 2 ||
	    memcmp(line + len - 2, "\"}", 2) != 0)
		return NULL;
	return found;
}

/* Parse seq, prev and mac of one line; check its MAC when keys is non-NULL. */
struct parsed_line {
	uint64_t seq;
	unsigned char prev[MAC_BYTES];
	unsigned char mac[MAC_BYTES];
};

enum line_status { LINE_OK, LINE_MALFORMED, LINE_BAD_MAC };

static enum line_status parse_line(const char *line, size_t len, const struct pv_keys *keys,
                                   struct parsed_line *out)
{
	struct pv_json_object obj;
	unsigned char expect[MAC_BYTES];
	const char *mark;
	enum line_status st = LINE_MALFORMED;

	mark = find_mac_mark(line, len);
	if (mark == NULL || pv_json_parse_flat(line, len, &obj) != 0)
		return LINE_MALFORMED;
	if (pv_json_get(&obj, "seq") == NULL ||
	    pv_parse_u64(pv_json_get(&obj, "seq"), SEQ_MAX, &out->seq) != PV_OK ||
	    hex_to_mac(pv_json_get(&obj, "prev"), out->prev) != PV_OK ||
	    hex_to_mac(pv_json_get(&obj, "mac"), out->mac) != PV_OK)
		goto out;
	st = LINE_OK;
	if (keys != NULL) {
		mac_of(keys, line, (size_t)(mark - line), expect);
		if (sodium_memcmp(expect, out->mac, MAC_BYTES) != 0)
			st = LINE_BAD_MAC;
	}
out:
	pv_json_object_free(&obj);
	return st;
}

/* The head's own MAC: without the key, nobody can make it name another last line (which
 * would hide a cut tail) or another start of the live file. */
static void head_mac(const struct pv_keys *keys, const char *text, size_t len,
                     unsigned char out[MAC_BYTES])
{
	static const char domain[] = "pam_vendor audit head\n";
	crypto_generichash_state st;

	crypto_generichash_init(&st, keys->audit, sizeof(keys->audit), MAC_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)domain, sizeof(domain) - 1);
	crypto_generichash_update(&st, (const unsigned char *)text, len);
	crypto_generichash_final(&st, out, MAC_BYTES);
	sodium_memzero(&st, sizeof(st));
}

/* The head file holds two fixed slots of HEAD_SLOT bytes, each one line
 * "pam_vendor-audit-head 1 SEQ MAC LIVE_START HEADMAC\n" padded with NUL bytes; the head for
 * seq N lives in slot N % 2, so the slot written for a new line is never the one holding the
 * head before it. The writer updates one slot in place (pwrite + fdatasync: no temp file,
 * rename or directory sync per line). A slot torn by a crash fails its MAC and the other slot,
 * one line older, is used: the state of a crash between the line and its head. Any damaged
 * slot is healed by rewriting the whole file (temp + rename) at the next append. A file with
 * one line only (the layout before the slots) is read as one slot and rewritten likewise. */
#define HEAD_SLOT      512
#define HEAD_FILE_SIZE (2 * HEAD_SLOT)

struct head_file {
	int fd;         /* open O_RDWR for the writer, -1 when closed or absent */
	bool found;     /* a valid slot exists: head holds the newest */
	bool two_slots; /* the in-place layout */
	bool damaged;   /* two-slot layout with a slot that is not valid */
	size_t raw_len; /* the file as read, to put it back after a failed update */
	unsigned char raw[HEAD_FILE_SIZE];
	struct chain_head head;
};

enum slot_status { SLOT_OK, SLOT_MALFORMED, SLOT_BAD_MAC };

static enum slot_status parse_slot(const unsigned char *slot, size_t len,
                                   const struct pv_keys *keys, struct chain_head *out)
{
	unsigned char want[MAC_BYTES];
	unsigned char got[MAC_BYTES];
	char text[HEAD_SLOT + 1];
	char hex[MAC_HEX + 1];
	char mac_hex[MAC_HEX + 1];
	char seqtext[24];
	char starttext[24];
	const unsigned char *nl = memchr(slot, '\n', len);
	const char *last_space;
	size_t tlen;

	if (nl == NULL || (size_t)(nl - slot) >= sizeof(text))
		return SLOT_MALFORMED;
	tlen = (size_t)(nl - slot);
	memcpy(text, slot, tlen);
	text[tlen] = '\0';
	last_space = strrchr(text, ' ');
	if (tlen < strlen(HEAD_MAGIC) + 4 || strlen(text) != tlen ||
	    memcmp(text, HEAD_MAGIC " ", strlen(HEAD_MAGIC) + 1) != 0 || last_space == NULL ||
	    sscanf(text + strlen(HEAD_MAGIC) + 1, "%23[0-9] %64[0-9a-f] %23[0-9] %64[0-9a-f]",
	           seqtext, hex, starttext, mac_hex) != 4 ||
	    pv_parse_u64(seqtext, SEQ_MAX, &out->seq) != PV_OK ||
	    pv_parse_u64(starttext, SEQ_MAX, &out->live_start) != PV_OK ||
	    hex_to_mac(hex, out->mac) != PV_OK || hex_to_mac(mac_hex, got) != PV_OK)
		return SLOT_MALFORMED;
	head_mac(keys, text, (size_t)(last_space - text), want);
	if (sodium_memcmp(want, got, MAC_BYTES) != 0)
		return SLOT_BAD_MAC;
	return SLOT_OK;
}

static void close_head(struct head_file *hf)
{
	if (hf->fd >= 0)
		close(hf->fd);
	hf->fd = -1;
}

/* Read the head file (absent: hf->found false). The writer keeps it open (writable). */
static int read_head(int dirfd, const char *name, const char *shown, const struct pv_keys *keys,
                     bool writable, struct head_file *hf, struct pv_err *err)
{
	struct chain_head slot_head[2];
	enum slot_status status[2] = {SLOT_MALFORMED, SLOT_MALFORMED};
	bool missing = false;
	struct stat st;
	ssize_t got;
	int i;

	memset(hf, 0, sizeof(*hf));
	hf->fd = pv_open_file_at(dirfd, name, writable ? O_RDWR : O_RDONLY, PV_FILE_PRIVATE, shown,
	                         &missing, err);
	if (hf->fd < 0)
		return missing ? PV_OK : PV_ERR;
	if (fstat(hf->fd, &st) != 0) {
		pv_err_errno(err, errno, "cannot stat %s", shown);
		goto fail;
	}
	if (st.st_size > HEAD_FILE_SIZE) {
		pv_err_set(err, "audit head %s is malformed (%jd bytes)", shown,
		           (intmax_t)st.st_size);
		goto fail;
	}
	got = pread(hf->fd, hf->raw, (size_t)st.st_size, 0);
	if (got != (ssize_t)st.st_size) {
		pv_err_errno(err, got < 0 ? errno : EIO, "cannot read %s", shown);
		goto fail;
	}
	hf->raw_len = (size_t)got;
	hf->two_slots = hf->raw_len == HEAD_FILE_SIZE;
	if (hf->two_slots) {
		for (i = 0; i < 2; i++) {
			status[i] =
			    parse_slot(hf->raw + i * HEAD_SLOT, HEAD_SLOT, keys, &slot_head[i]);
			/* A slot holds only heads of its own parity: a copied slot is not valid. */
			if (status[i] == SLOT_OK && slot_head[i].seq % 2 != (uint64_t)i)
				status[i] = SLOT_MALFORMED;
		}
	} else {
		status[0] = parse_slot(hf->raw, hf->raw_len, keys, &slot_head[0]);
	}
	for (i = 0; i < 2; i++) {
		if (status[i] != SLOT_OK)
			continue;
		if (!hf->found || slot_head[i].seq > hf->head.seq)
			hf->head = slot_head[i];
		hf->found = true;
	}
	hf->damaged = hf->two_slots && (status[0] != SLOT_OK || status[1] != SLOT_OK);
	if (!hf->found) {
		if (status[0] == SLOT_BAD_MAC || status[1] == SLOT_BAD_MAC)
			pv_err_set(
			    err,
			    "audit head %s fails its MAC: it was altered, or written without "
			    "the key",
			    shown);
		else
			pv_err_set(err, "audit head %s is malformed", shown);
		goto fail;
	}
	if (!writable)
		close_head(hf);
	return PV_OK;
fail:
	close_head(hf);
	return PV_ERR;
}

/* One slot: the head line, NUL-padded to HEAD_SLOT bytes. */
static void format_slot(const struct pv_keys *keys, const struct chain_head *head,
                        unsigned char slot[HEAD_SLOT])
{
	unsigned char mac[MAC_BYTES];
	char hex[MAC_HEX + 1];
	char mac_hex[MAC_HEX + 1];
	char *text = (char *)slot;
	int n;

	memset(slot, 0, HEAD_SLOT);
	sodium_bin2hex(hex, sizeof(hex), head->mac, MAC_BYTES);
	n = snprintf(text, HEAD_SLOT, "%s %" PRIu64 " %s %" PRIu64, HEAD_MAGIC, head->seq, hex,
	             head->live_start);
	head_mac(keys, text, (size_t)n, mac);
	sodium_bin2hex(mac_hex, sizeof(mac_hex), mac, MAC_BYTES);
	snprintf(text + n, HEAD_SLOT - (size_t)n, " %s\n", mac_hex);
}

/* Record `head` (the new line) durably. `before` is the chain position the line follows.
 * In place when the file is sound and already names `before`; otherwise (no file, the old
 * layout, a damaged slot, or a head the log had moved past) the whole file is replaced with
 * both slots. Returns PV_OK, PV_ERR (nothing visible changed) or PV_UNSYNCED (readers may see
 * the new head: the caller puts the old one back with restore_head). */
static int write_head(struct head_file *hf, int dirfd, const char *name, const char *shown,
                      const struct pv_keys *keys, const struct chain_head *head,
                      const struct chain_head *before, struct pv_err *err)
{
	unsigned char file[HEAD_FILE_SIZE];
	off_t at = (off_t)(head->seq % 2) * HEAD_SLOT;
	ssize_t n;
	int rc;

	if (hf->fd >= 0 && hf->two_slots && !hf->damaged && hf->head.seq == before->seq &&
	    sodium_memcmp(hf->head.mac, before->mac, MAC_BYTES) == 0) {
		format_slot(keys, head, file);
		n = pwrite(hf->fd, file, HEAD_SLOT, at);
		if (n == HEAD_SLOT && fdatasync(hf->fd) == 0)
			return PV_OK;
		pv_err_errno(err, n < 0 || n == HEAD_SLOT ? errno : ENOSPC, "cannot update %s",
		             shown);
		return PV_UNSYNCED;
	}
	format_slot(keys, head, file + at);
	format_slot(keys, before, file + (HEAD_SLOT - at));
	rc = pv_write_file_atomic(dirfd, name, file, sizeof(file), shown, err);
	if (rc == PV_OK || rc == PV_UNSYNCED)
		close_head(hf); /* the open file is no longer the head */
	return rc;
}

/* Put back the head file as it was before a failed update. */
static int restore_head(struct head_file *hf, int dirfd, const char *name, const char *shown)
{
	struct pv_err ignored;

	if (hf->fd >= 0 && hf->two_slots)
		return pwrite(hf->fd, hf->raw, HEAD_FILE_SIZE, 0) == HEAD_FILE_SIZE &&
		               fdatasync(hf->fd) == 0
		           ? PV_OK
		           : PV_ERR;
	if (hf->raw_len == 0 && !hf->found)
		return unlinkat(dirfd, name, 0) == 0 ? PV_OK : PV_ERR;
	return pv_write_file_atomic(dirfd, name, hf->raw, hf->raw_len, shown, &ignored) == PV_OK
	           ? PV_OK
	           : PV_ERR;
}

/* Sequence number of the file's first line (0 when it has none that parses). */
static uint64_t first_seq_of(int fd)
{
	struct parsed_line pl;
	char *buf = malloc(PV_AUDIT_LINE_MAX + 1);
	uint64_t seq = 0;
	ssize_t got;
	char *nl;

	if (buf == NULL)
		return 0;
	got = pread(fd, buf, PV_AUDIT_LINE_MAX, 0);
	if (got > 0 && (nl = memchr(buf, '\n', (size_t)got)) != NULL &&
	    parse_line(buf, (size_t)(nl - buf), NULL, &pl) == LINE_OK)
		seq = pl.seq;
	free(buf);
	return seq;
}

/* Look at the end of the log: cut a torn final fragment (a crash mid-write left a line with
 * no newline, never acknowledged), and return the last complete line's chain position. */
/* repair: cut a torn fragment (the writer, under the lock); otherwise report it in *torn. */
static int read_tail(int fd, const char *shown, bool repair, struct chain_head *tail, bool *found,
                     bool *torn, struct pv_err *err)
{
	char *buf = NULL;
	struct parsed_line pl;
	struct stat st;
	size_t want;
	off_t from;
	ssize_t got;
	char *last_nl;
	char *start;
	int rc = PV_ERR;

	*found = false;
	*torn = false;
	if (fstat(fd, &st) != 0) {
		pv_err_errno(err, errno, "cannot stat %s", shown);
		return PV_ERR;
	}
	if (st.st_size == 0)
		return PV_OK;
	want = (size_t)(st.st_size < 2 * PV_AUDIT_LINE_MAX ? st.st_size : 2 * PV_AUDIT_LINE_MAX);
	from = st.st_size - (off_t)want;
	buf = malloc(want + 1);
	if (buf == NULL) {
		pv_err_set(err, "out of memory reading %s", shown);
		return PV_ERR;
	}
	got = pread(fd, buf, want, from);
	if (got != (ssize_t)want) {
		pv_err_errno(err, errno, "cannot read the end of %s", shown);
		goto out;
	}
	buf[want] = '\0';
	last_nl = memrchr(buf, '\n', want);
	if (last_nl != buf + want - 1) {
		off_t keep = last_nl ? from + (last_nl - buf) + 1 : from;
		if (last_nl == NULL && from != 0) {
			pv_err_set(err, "%s ends with an overlong unterminated line", shown);
			goto out;
		}
		*torn = true;
		if (repair && (ftruncate(fd, keep) != 0 || fsync(fd) != 0)) {
			pv_err_errno(err, errno, "cannot cut the torn last line of %s", shown);
			goto out;
		}
		if (last_nl == NULL) {
			rc = PV_OK;
			goto out;
		}
	}
	*last_nl = '\0';
	start = memrchr(buf, '\n', (size_t)(last_nl - buf));
	start = start ? start + 1 : buf;
	if (start == buf && from != 0) {
		pv_err_set(err, "the last line of %s is too long", shown);
		goto out;
	}
	if (parse_line(start, (size_t)(last_nl - start), NULL, &pl) == LINE_OK) {
		tail->seq = pl.seq;
		memcpy(tail->mac, pl.mac, MAC_BYTES);
		*found = true;
	}
	rc = PV_OK;
out:
	free(buf);
	return rc;
}

static void build_body(struct pv_buf *b, const struct pv_audit_event *ev, uint64_t seq,
                       const unsigned char prev[MAC_BYTES], int64_t now)
{
	char when[PV_TIME_TEXT_MAX];
	char host[256];
	char prev_hex[MAC_HEX + 1];
	bool first = true;

	pv_format_utc((time_t)now, when, sizeof(when));
	pv_hostname(host, sizeof(host));
	sodium_bin2hex(prev_hex, sizeof(prev_hex), prev, MAC_BYTES);
	pv_buf_puts(b, "{");
	pv_json_key_string(b, &first, "time", when);
	pv_json_key_int(b, &first, "seq", (int64_t)seq);
	pv_json_key_string(b, &first, "prev", prev_hex);
	pv_json_key_string(b, &first, "host", host);
	pv_json_key_string(b, &first, "event", ev->event);
	pv_json_key_string(b, &first, "service", ev->service);
	pv_json_key_string(b, &first, "user", ev->user);
	pv_json_key_string(b, &first, "rhost", ev->rhost);
	pv_json_key_string(b, &first, "result", ev->result);
	pv_json_key_string(b, &first, "reason", ev->reason);
	if (ev->tty != NULL)
		pv_json_key_string(b, &first, "tty", ev->tty);
	if (ev->session != NULL)
		pv_json_key_string(b, &first, "session", ev->session);
	if (ev->duration_s >= 0)
		pv_json_key_int(b, &first, "duration_s", ev->duration_s);
	if (ev->pid > 0)
		pv_json_key_int(b, &first, "pid", ev->pid);
	if (ev->action != NULL)
		pv_json_key_string(b, &first, "action", ev->action);
	if (ev->admin != NULL)
		pv_json_key_string(b, &first, "admin", ev->admin);
	if (ev->detail != NULL)
		pv_json_key_string(b, &first, "detail", ev->detail);
	if (ev->auth_info != NULL)
		pv_json_key_string(b, &first, "auth_info", ev->auth_info);
	if (ev->bytes_in >= 0)
		pv_json_key_int(b, &first, "bytes_in", ev->bytes_in);
	if (ev->bytes_out >= 0)
		pv_json_key_int(b, &first, "bytes_out", ev->bytes_out);
}

static int write_line(int fd, const char *line, size_t len, const char *shown, struct pv_err *err)
{
	ssize_t n = write(fd, line, len);

	/* O_APPEND + one write: a short write (disk full) leaves a torn line that the next
	 * append cuts; the caller denies either way. */
	if (n != (ssize_t)len) {
		pv_err_errno(err, n < 0 ? errno : ENOSPC, "cannot write to %s", shown);
		return PV_ERR;
	}
	if (fdatasync(fd) != 0) {
		pv_err_errno(err, errno, "cannot sync %s", shown);
		return PV_ERR;
	}
	return PV_OK;
}

/* The append failed (disk full, I/O error): remove what this call wrote, so the log never
 * shows a decision the caller is about to reverse ("no log, no login" both ways). Cutting a
 * file needs no free space; should it fail anyway, the next append cuts a torn fragment and
 * verification flags a complete line the head does not cover. */
static void take_back(int fd, off_t size)
{
	if (ftruncate(fd, size) == 0)
		(void)fdatasync(fd);
}

/* Open the live log for appending (created 0600 when absent), through the checked path. */
static int open_log_for_append(int dirfd, const char *base, const char *audit_log,
                               struct pv_err *err)
{
	bool missing = false;
	int fd;

	fd = pv_open_file_at(dirfd, base, O_RDWR | O_APPEND, PV_FILE_PRIVATE, audit_log, &missing,
	                     err);
	if (fd >= 0 || !missing)
		return fd;
	fd = openat(dirfd, base,
	            O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		if (errno == ELOOP)
			pv_err_set(err, "audit log %s is a symbolic link; refusing to follow it",
			           audit_log);
		else
			pv_err_errno(err, errno, "cannot create audit log %s", audit_log);
		return -1;
	}
	close(fd);
	/* Re-open through the checked path: regular file, root-owned, mode 0600. */
	return pv_open_file_at(dirfd, base, O_RDWR | O_APPEND, PV_FILE_PRIVATE, audit_log, NULL,
	                       err);
}

int pv_audit_append(const char *audit_log, const struct pv_keys *keys, int lock_timeout,
                    const struct pv_audit_event *ev, int64_t now, void *pamh, struct pv_err *err)
{
	return pv_audit_append_mirrored(audit_log, keys, lock_timeout, ev, now, pamh, NULL, NULL,
	                                err);
}

int pv_audit_append_mirrored(const char *audit_log, const struct pv_keys *keys, int lock_timeout,
                             const struct pv_audit_event *ev, int64_t now, void *pamh,
                             pv_audit_mirror_fn mirror, void *mirror_ctx, struct pv_err *err)
{
	char base[NAME_MAX + 1];
	char head_name[NAME_MAX + 8];
	char lock_name[NAME_MAX + 8];
	char head_shown[PATH_MAX + 8];
	char lock_shown[PATH_MAX + 8];
	unsigned char mac[MAC_BYTES];
	char mac_hex[MAC_HEX + 1];
	struct head_file hf = {.fd = -1};
	struct chain_head head = {0};
	struct chain_head before;
	struct chain_head tail = {0};
	bool have_tail = false;
	bool torn = false;
	struct pv_buf line;
	struct stat st;
	int r;
	int dirfd = -1;
	int lockfd = -1;
	int fd = -1;
	int rc = PV_ERR;

	pv_buf_init(&line, PV_AUDIT_LINE_MAX);
	dirfd = pv_open_parent(audit_log, false, base, sizeof(base), err);
	if (dirfd < 0)
		goto out;
	if (strlen(base) > NAME_MAX - 5) {
		pv_err_set(err, "audit log name %s is too long", audit_log);
		goto out;
	}
	snprintf(head_name, sizeof(head_name), "%s.head", base);
	snprintf(lock_name, sizeof(lock_name), "%s.lock", base);
	snprintf(head_shown, sizeof(head_shown), "%s.head", audit_log);
	snprintf(lock_shown, sizeof(lock_shown), "%s.lock", audit_log);
	lockfd = pv_lock_file_at(dirfd, lock_name, lock_timeout, lock_shown, err);
	if (lockfd < 0)
		goto out;
	fd = open_log_for_append(dirfd, base, audit_log, err);
	if (fd < 0)
		goto out;
	if (read_head(dirfd, head_name, head_shown, keys, true, &hf, err) != PV_OK ||
	    read_tail(fd, audit_log, true, &tail, &have_tail, &torn, err) != PV_OK)
		goto out;
	if (fstat(fd, &st) != 0) {
		pv_err_errno(err, errno, "cannot stat %s", audit_log);
		goto out;
	}
	/* Never re-anchor silently: a log with lines but no head was tampered with (or lost its
	 * head in a crash before the very first head was written). The admin decides. */
	if (!hf.found && st.st_size > 0) {
		pv_err_set(err,
		           "audit head %s is missing while %s has lines; run otpctl audit verify, "
		           "then move the log aside to start a new chain (see the admin guide)",
		           head_shown, audit_log);
		goto out;
	}
	/* A damaged slot while the log ends at the other slot's line: no crash leaves that (a
	 * line is durable before its head slot is written), removing the last line does. */
	if (hf.damaged && have_tail && tail.seq == hf.head.seq) {
		pv_err_set(err,
		           "audit head %s has a damaged slot and the log ends at the older one: "
		           "the last line may have been removed; run otpctl audit verify",
		           head_shown);
		goto out;
	}
	head = hf.head;
	/* The log is ahead of the head after a crash between the two writes: follow the log.
	 * A log behind the head (cut tail, or a fresh file after rotation) continues from the
	 * head, so a cut shows as a gap when verified. */
	if (have_tail && tail.seq > head.seq) {
		/* The crash may have hit the first line of a fresh file: ask the file itself. */
		tail.live_start = first_seq_of(fd);
		head = tail;
	}
	/* Remember where this file starts, so that verify notices lines cut from its start. */
	if (st.st_size == 0)
		head.live_start = head.seq + 1;
	build_body(&line, ev, head.seq + 1, head.mac, now);
	if (line.failed) {
		pv_err_set(err, "audit line too long");
		goto out;
	}
	mac_of(keys, line.data, line.len, mac);
	sodium_bin2hex(mac_hex, sizeof(mac_hex), mac, MAC_BYTES);
	pv_buf_puts(&line, MAC_MARK);
	pv_buf_puts(&line, mac_hex);
	pv_buf_puts(&line, "\"}\n");
	if (line.failed) {
		pv_err_set(err, "audit line too long");
		goto out;
	}
	if (write_line(fd, line.data, line.len, audit_log, err) != PV_OK) {
		take_back(fd, st.st_size);
		goto out;
	}
	before = head;
	head.seq++;
	memcpy(head.mac, mac, MAC_BYTES);
	r = write_head(&hf, dirfd, head_name, head_shown, keys, &head, &before, err);
	if (r != PV_OK) {
		/* The caller denies: take the line back. If the new head may be visible, put
		 * the previous one back first; should that fail too, keep the line, since a head
		 * naming a missing line would read as tampering. */
		if (r != PV_UNSYNCED || restore_head(&hf, dirfd, head_name, head_shown) == PV_OK)
			take_back(fd, st.st_size);
		goto out;
	}
	line.data[line.len - 1] = '\0';
	if (mirror != NULL && mirror(mirror_ctx, head.seq, line.data, err) != PV_OK) {
		/* The copy failed: this line must not count anywhere (the caller denies). */
		if (restore_head(&hf, dirfd, head_name, head_shown) == PV_OK)
			take_back(fd, st.st_size);
		goto out;
	}
	pv_log_audit_line(pamh, line.data);
	rc = PV_OK;
out:
	close_head(&hf);
	if (fd >= 0)
		close(fd);
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	pv_buf_free(&line);
	return rc;
}

/* --- reading --- */

struct rotated {
	char name[NAME_MAX + 1];
	long order; /* larger = older */
};

static int compare_rotated(const void *a, const void *b)
{
	const struct rotated *x = a;
	const struct rotated *y = b;

	return (x->order < y->order) - (x->order > y->order); /* oldest (largest) first */
}

/* logrotate names: "<base>.N", "<base>.N.gz" (numbered) and "<base>-YYYYMMDD[.gz]" (dateext). */
static bool rotated_order(const char *base, const char *name, long *order)
{
	size_t blen = strlen(base);
	char digits[16];
	const char *rest;
	size_t n;
	uint64_t v;

	if (strncmp(name, base, blen) != 0 || (name[blen] != '.' && name[blen] != '-'))
		return false;
	rest = name + blen + 1;
	n = strspn(rest, "0123456789");
	if (n == 0 || n >= sizeof(digits) || (rest[n] != '\0' && strcmp(rest + n, ".gz") != 0))
		return false;
	memcpy(digits, rest, n);
	digits[n] = '\0';
	if (pv_parse_u64(digits, 99999999, &v) != PV_OK)
		return false;
	/* numbered: .1 is the newest; dateext: larger dates are newer. */
	*order = name[blen] == '.' ? (long)v : 100000000L - (long)v;
	return true;
}

static bool is_rotated(const char *name, void *vbase)
{
	long order;

	return rotated_order(vbase, name, &order);
}

/* The rotated files of the log, oldest first. Six months of daily rotation is ~180 files;
 * more than MAX_ROTATED is reported, never silently cut. */
static int list_rotated(int dirfd, const char *base, struct rotated **out, size_t *count,
                        struct pv_err *err)
{
	struct rotated *list = NULL;
	char **names = NULL;
	size_t n = 0;
	size_t i;

	*out = NULL;
	*count = 0;
	if (pv_dir_list(dirfd, "the audit log directory", is_rotated, (void *)base, MAX_ROTATED,
	                &names, &n, err) != PV_OK)
		return PV_ERR;
	list = calloc(n ? n : 1, sizeof(*list));
	if (list == NULL) {
		pv_dir_list_free(names, n);
		pv_err_set(err, "out of memory");
		return PV_ERR;
	}
	for (i = 0; i < n; i++) {
		snprintf(list[i].name, sizeof(list[i].name), "%s", names[i]);
		(void)rotated_order(base, names[i], &list[i].order);
	}
	pv_dir_list_free(names, n);
	qsort(list, n, sizeof(*list), compare_rotated);
	*out = list;
	*count = n;
	return PV_OK;
}

/* Read one file (plain or gzip: zlib reads both) line by line. */
static int foreach_in_file(int dirfd, const char *name, const char *shown, pv_audit_line_fn fn,
                           void *ctx, bool *stopped, struct pv_err *err)
{
	char *line = NULL;
	char chunk[65536];
	size_t used = 0;
	unsigned long lineno = 0;
	gzFile gz = NULL;
	bool missing = false;
	int fd;
	int rc = PV_ERR;

	fd = pv_open_file_at(dirfd, name, O_RDONLY, PV_FILE_PUBLIC, shown, &missing, err);
	if (fd < 0)
		return missing ? PV_NOTFOUND : PV_ERR;
	gz = gzdopen(fd, "rb");
	if (gz == NULL) {
		close(fd);
		pv_err_set(err, "cannot read %s", shown);
		return PV_ERR;
	}
	line = malloc(PV_AUDIT_LINE_MAX + 1);
	if (line == NULL) {
		pv_err_set(err, "out of memory");
		goto out;
	}
	for (;;) {
		int got = gzread(gz, chunk, sizeof(chunk));
		int i;
		if (got < 0) {
			pv_err_set(err, "cannot read %s (corrupt compressed file?)", shown);
			goto out;
		}
		if (got == 0)
			break;
		for (i = 0; i < got;) {
			const char *nl = memchr(chunk + i, '\n', (size_t)(got - i));
			size_t run = nl ? (size_t)(nl - (chunk + i)) : (size_t)(got - i);

			if (used + run > PV_AUDIT_LINE_MAX) {
				pv_err_set(err, "%s line %lu is longer than %d bytes", shown,
				           lineno + 1, PV_AUDIT_LINE_MAX);
				goto out;
			}
			memcpy(line + used, chunk + i, run);
			used += run;
			i += (int)run;
			if (nl == NULL)
				break;
			i++; /* the newline */
			line[used] = '\0';
			lineno++;
			if (fn(line, used, shown, lineno, ctx) != 0) {
				*stopped = true;
				rc = PV_OK;
				goto out;
			}
			used = 0;
		}
	}
	rc = PV_OK;
out:
	free(line);
	gzclose(gz);
	return rc;
}

int pv_audit_foreach(const char *audit_log, pv_audit_line_fn fn, void *ctx, struct pv_err *err)
{
	char base[NAME_MAX + 1];
	char shown[PATH_MAX + NAME_MAX + 2];
	struct rotated *rot = NULL;
	size_t nrot = 0;
	bool stopped = false;
	size_t i;
	int dirfd;
	int rc = PV_ERR;
	int r;

	dirfd = pv_open_parent(audit_log, false, base, sizeof(base), err);
	if (dirfd < 0)
		return PV_ERR;
	if (list_rotated(dirfd, base, &rot, &nrot, err) != PV_OK)
		goto out;
	for (i = 0; i < nrot && !stopped; i++) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", audit_log);
		*strrchr(dir, '/') = '\0';
		snprintf(shown, sizeof(shown), "%s/%s", dir, rot[i].name);
		r = foreach_in_file(dirfd, rot[i].name, shown, fn, ctx, &stopped, err);
		if (r == PV_ERR)
			goto out;
	}
	if (!stopped) {
		r = foreach_in_file(dirfd, base, audit_log, fn, ctx, &stopped, err);
		if (r == PV_ERR)
			goto out;
	}
	rc = PV_OK;
out:
	free(rot);
	close(dirfd);
	return rc;
}

/* --- verification --- */

/* The chain check state is struct pv_audit_chain (audit.h); its live_log names the current
 * log's file as passed for its lines ("" when there is none, e.g. the database's copy). */
_Static_assert(sizeof(((struct pv_audit_chain *)0)->prev_mac_hex) == MAC_HEX + 1,
               "prev_mac_hex holds one MAC in hex");

/* The line as this writer lays it out: {"time":"...","seq":N,"prev":"<hex>",...,"mac":"<hex>"}.
 * Finds seq and the two MACs as text at their known places and checks the MAC; the values are
 * public, so they are compared as text, without decoding. A line a valid MAC covers was
 * written with the key, by this code, so it needs no JSON parse. Returns false when the line
 * does not have this layout or its MAC does not match: the caller then parses it fully to
 * say what is wrong (or accepts it, if only the layout differed). */
struct fast_line {
	uint64_t seq;
	const char *prev_hex; /* MAC_HEX characters inside the line */
	const char *mac_hex;
};

static bool fast_check_line(const char *line, size_t len, const struct pv_keys *keys,
                            struct fast_line *out)
{
	static const char time_key[] = "{\"time\":\"";
	static const char seq_key[] = "\",\"seq\":";
	static const char prev_key[] = ",\"prev\":\"";
	const size_t tail_len = strlen(MAC_MARK) + MAC_HEX + 2; /* ,"mac":"<hex>"} */
	unsigned char mac[MAC_BYTES];
	char mac_hex[MAC_HEX + 1];
	const char *p;
	const char *end = line + len;
	const char *mark;
	char digits[24];
	size_t n = 0;

	if (len < sizeof(time_key) - 1 + tail_len ||
	    memcmp(line, time_key, sizeof(time_key) - 1) != 0)
		return false;
	mark = end - tail_len;
	if (memcmp(mark, MAC_MARK, strlen(MAC_MARK)) != 0 || memcmp(end - 2, "\"}", 2) != 0)
		return false;
	p = memchr(line + sizeof(time_key) - 1, '"',
	           (size_t)(mark - line) - (sizeof(time_key) - 1));
	if (p == NULL || (size_t)(mark - p) < sizeof(seq_key) - 1 ||
	    memcmp(p, seq_key, sizeof(seq_key) - 1) != 0)
		return false;
	p += sizeof(seq_key) - 1;
	while (p < mark && *p >= '0' && *p <= '9' && n < sizeof(digits) - 1)
		digits[n++] = *p++;
	digits[n] = '\0';
	if (n == 0 || pv_parse_u64(digits, SEQ_MAX, &out->seq) != PV_OK ||
	    (size_t)(mark - p) < sizeof(prev_key) - 1 + MAC_HEX + 1 ||
	    memcmp(p, prev_key, sizeof(prev_key) - 1) != 0 ||
	    p[sizeof(prev_key) - 1 + MAC_HEX] != '"')
		return false;
	out->prev_hex = p + sizeof(prev_key) - 1;
	out->mac_hex = mark + strlen(MAC_MARK);
	mac_of(keys, line, (size_t)(mark - line), mac);
	sodium_bin2hex(mac_hex, sizeof(mac_hex), mac, MAC_BYTES);
	return memcmp(mac_hex, out->mac_hex, MAC_HEX) == 0;
}

static int verify_line(const char *line, size_t len, const char *file, unsigned long lineno,
                       void *vctx)
{
	static const char zero_hex[MAC_HEX + 1] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	struct pv_audit_chain *v = vctx;
	struct pv_audit_verify_result *res = v->res;
	struct fast_line fl;
	struct parsed_line pl;
	char prev_hex[MAC_HEX + 1];
	char mac_hex[MAC_HEX + 1];

	if (!fast_check_line(line, len, v->keys, &fl)) {
		switch (parse_line(line, len, v->keys, &pl)) {
		case LINE_MALFORMED:
			snprintf(
			    res->problem, sizeof(res->problem),
			    "%.300s line %lu is not a pam_vendor audit line (edited or damaged)",
			    file, lineno);
			return 1;
		case LINE_BAD_MAC:
			snprintf(res->problem, sizeof(res->problem),
			         "%.300s line %lu (seq %" PRIu64
			         ") fails its MAC: it was altered, or written without the key",
			         file, lineno, pl.seq);
			return 1;
		case LINE_OK:
			break;
		}
		sodium_bin2hex(prev_hex, sizeof(prev_hex), pl.prev, MAC_BYTES);
		sodium_bin2hex(mac_hex, sizeof(mac_hex), pl.mac, MAC_BYTES);
		fl.seq = pl.seq;
		fl.prev_hex = prev_hex;
		fl.mac_hex = mac_hex;
	}
	if (!v->have_prev) {
		res->first_seq = fl.seq;
		if (fl.seq == 1 && memcmp(fl.prev_hex, zero_hex, MAC_HEX) != 0) {
			snprintf(
			    res->problem, sizeof(res->problem),
			    "%.300s line %lu claims to start the chain but names a predecessor",
			    file, lineno);
			return 1;
		}
		if (fl.seq != 1)
			snprintf(res->note, sizeof(res->note),
			         "the chain starts at seq %" PRIu64
			         " (older rotated files are gone)",
			         fl.seq);
	} else if (fl.seq != v->prev_seq + 1 ||
	           memcmp(fl.prev_hex, v->prev_mac_hex, MAC_HEX) != 0) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s line %lu (seq %" PRIu64 ") does not follow seq %" PRIu64
		         ": a line was removed, inserted or moved before it",
		         file, lineno, fl.seq, v->prev_seq);
		return 1;
	}
	if (v->live_first_seq == 0 && strcmp(file, v->live_log) == 0)
		v->live_first_seq = fl.seq;
	v->have_prev = true;
	v->prev_seq = fl.seq;
	memcpy(v->prev_mac_hex, fl.mac_hex, MAC_HEX);
	res->last_seq = fl.seq;
	res->lines++;
	return 0;
}

void pv_audit_chain_init(struct pv_audit_chain *chain, const struct pv_keys *keys,
                         struct pv_audit_verify_result *res)
{
	memset(chain, 0, sizeof(*chain));
	memset(res, 0, sizeof(*res));
	chain->keys = keys;
	chain->res = res;
	chain->live_log = "";
}

int pv_audit_chain_line(struct pv_audit_chain *chain, const char *line, size_t len,
                        const char *where, unsigned long lineno)
{
	return verify_line(line, len, where, lineno, chain);
}

/* Under the audit lock (bounded wait), read the head and the live log's current last line:
 * lines a writer appends while a long verification runs are then not mistaken for tampering,
 * and a line being written is never seen half done. */
struct snapshot {
	struct chain_head head;
	bool have_head;
	bool head_damaged;
	bool head_bad; /* err holds why */
	struct chain_head tail;
	bool have_tail;
	bool torn;
	char head_shown[PATH_MAX + 8];
};

static int locked_snapshot(const char *audit_log, const struct pv_keys *keys, struct snapshot *snap,
                           struct pv_err *err)
{
	char base[NAME_MAX + 1];
	char head_name[NAME_MAX + 8];
	char lock_name[NAME_MAX + 8];
	char lock_shown[PATH_MAX + 8];
	struct head_file hf;
	bool missing = false;
	int dirfd;
	int lockfd = -1;
	int fd = -1;
	int rc = PV_ERR;

	memset(snap, 0, sizeof(*snap));
	dirfd = pv_open_parent(audit_log, false, base, sizeof(base), err);
	if (dirfd < 0)
		return PV_ERR;
	snprintf(head_name, sizeof(head_name), "%s.head", base);
	snprintf(lock_name, sizeof(lock_name), "%s.lock", base);
	snprintf(snap->head_shown, sizeof(snap->head_shown), "%s.head", audit_log);
	snprintf(lock_shown, sizeof(lock_shown), "%s.lock", audit_log);
	lockfd = pv_lock_file_at(dirfd, lock_name, VERIFY_LOCK_TIMEOUT, lock_shown, err);
	if (lockfd < 0)
		goto out;
	if (read_head(dirfd, head_name, snap->head_shown, keys, false, &hf, err) != PV_OK) {
		snap->head_bad = true;
	} else {
		snap->head = hf.head;
		snap->have_head = hf.found;
		snap->head_damaged = hf.damaged;
	}
	fd = pv_open_file_at(dirfd, base, O_RDONLY, PV_FILE_PUBLIC, audit_log, &missing, err);
	if (fd < 0 && !missing)
		goto out;
	if (fd >= 0 && read_tail(fd, audit_log, false, &snap->tail, &snap->have_tail, &snap->torn,
	                         err) != PV_OK)
		goto out;
	rc = PV_OK;
out:
	if (fd >= 0)
		close(fd);
	if (lockfd >= 0)
		close(lockfd);
	close(dirfd);
	return rc;
}

int pv_audit_verify(const char *audit_log, const struct pv_keys *keys,
                    struct pv_audit_verify_result *res, struct pv_err *err)
{
	struct pv_audit_chain v;
	struct snapshot snap;
	struct chain_head head;
	char head_shown[PATH_MAX + 8];
	unsigned char last_mac[MAC_BYTES] = {0};
	uint64_t last_seq;
	bool have_head = false;

	memset(res, 0, sizeof(*res));
	memset(&v, 0, sizeof(v));
	v.keys = keys;
	v.res = res;
	v.live_log = audit_log;
	if (pv_audit_foreach(audit_log, verify_line, &v, err) != PV_OK)
		return PV_ERR;
	if (res->problem[0] != '\0')
		return PV_OK;
	last_seq = res->last_seq;
	if (res->lines > 0 && hex_to_mac(v.prev_mac_hex, last_mac) != PV_OK) {
		pv_err_set(err, "internal error: the last MAC read is not hex");
		return PV_ERR;
	}
	if (locked_snapshot(audit_log, keys, &snap, err) != PV_OK)
		return PV_ERR;
	if (snap.torn) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s ends with an incomplete line after seq %" PRIu64
		         " (a write was interrupted); the next append removes it",
		         audit_log, snap.have_tail ? snap.tail.seq : res->last_seq);
		return PV_OK;
	}
	if (snap.head_bad) {
		/* A damaged or forged head is a verification result, not a failure to verify. */
		snprintf(res->problem, sizeof(res->problem), "%s", err->msg);
		return PV_OK;
	}
	head = snap.head;
	have_head = snap.have_head;
	snprintf(head_shown, sizeof(head_shown), "%s", snap.head_shown);
	/* Compare the head with the log as it is now: lines appended since they were read are
	 * authenticated lines of their own and do not count as a mismatch. */
	if (snap.have_tail && snap.tail.seq < res->last_seq) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s now ends at seq %" PRIu64 ", before seq %" PRIu64
		         " read a moment ago: lines were removed from the end",
		         audit_log, snap.tail.seq, res->last_seq);
		return PV_OK;
	}
	if (snap.have_tail && snap.tail.seq > res->last_seq) {
		last_seq = snap.tail.seq;
		memcpy(last_mac, snap.tail.mac, MAC_BYTES);
	}
	if (!have_head) {
		if (res->lines > 0)
			snprintf(res->problem, sizeof(res->problem),
			         "%.300s is missing: the end of the log cannot be checked",
			         head_shown);
		else
			res->intact = true;
		return PV_OK;
	}
	if (v.live_first_seq != 0 && head.live_start != 0 && v.live_first_seq != head.live_start) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s starts at seq %" PRIu64 " but its first line was seq %" PRIu64
		         " (recorded in %.300s): lines were removed from its start",
		         audit_log, v.live_first_seq, head.live_start, head_shown);
		return PV_OK;
	}
	if (head.seq > last_seq) {
		snprintf(res->problem, sizeof(res->problem),
		         "the log ends at seq %" PRIu64 " but %.300s records seq %" PRIu64
		         ": lines were removed from the end",
		         last_seq, head_shown, head.seq);
		return PV_OK;
	}
	if (head.seq == last_seq && snap.head_damaged) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s has a damaged slot and the log ends at the older slot's line (seq "
		         "%" PRIu64 "): the last line may have been removed",
		         head_shown, last_seq);
		return PV_OK;
	}
	if (head.seq == last_seq && sodium_memcmp(head.mac, last_mac, MAC_BYTES) != 0) {
		snprintf(res->problem, sizeof(res->problem),
		         "the last line (seq %" PRIu64
		         ") differs from the one recorded in %.300s: the log was replaced",
		         last_seq, head_shown);
		return PV_OK;
	}
	if (head.seq + 1 < last_seq) {
		snprintf(res->problem, sizeof(res->problem),
		         "%.300s records seq %" PRIu64 " but the log goes on to seq %" PRIu64
		         ": the head file was replaced by an older one",
		         head_shown, head.seq, last_seq);
		return PV_OK;
	}
	/* head.seq + 1 == last_seq: a crash between writing the line and the head; benign,
	 * the line itself is authenticated and the next append updates the head. */
	res->intact = true;
	return PV_OK;
}

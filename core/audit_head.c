/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_head.c — the head file "<log>.head" beside the audit log (audit_int.h): the last
 * line's seq and MAC and where the live file starts, under a MAC of its own.
 *
 * The file holds two fixed slots of PV_AUDIT_HEAD_SLOT bytes, each one line
 * "pam_vendor-audit-head 1 SEQ MAC LIVE_START HEADMAC\n" padded with NUL bytes; the head for
 * seq N lives in slot N % 2, so the slot written for a new line is never the one holding the
 * head before it. The writer updates one slot in place (pwrite + fdatasync: no temp file,
 * rename or directory sync per line).
 *
 * No other layout is read (nothing was released with the one-line head): a file of any other
 * size is an error. A damaged slot is an error too, with one exception, the only state a crash
 * leaves: the slot being written for seq N was torn, so the other slot names N-1 and the log
 * ends with the complete, authentic line N that links to it (pv_audit_head_torn_ok). That
 * exception cannot hide a cut: cutting line N leaves the log ending at N-1 (refused), and
 * showing only the N-1 slot needs either a file of another size or a copied slot (wrong
 * parity: damaged) with the log still ending at N. The writer heals it by rewriting the whole
 * file (temp + rename). */
#include "audit_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "safefile.h"
#include "timeparse.h"

#define HEAD_MAGIC     "pam_vendor-audit-head 1"
#define MAC_BYTES      PV_AUDIT_MAC_BYTES
#define MAC_HEX        PV_AUDIT_MAC_HEX
#define HEAD_SLOT      PV_AUDIT_HEAD_SLOT
#define HEAD_FILE_SIZE PV_AUDIT_HEAD_FILE_SIZE

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

enum slot_status { SLOT_OK, SLOT_MALFORMED, SLOT_BAD_MAC };

static enum slot_status parse_slot(const unsigned char *slot, size_t len,
                                   const struct pv_keys *keys, struct pv_audit_pos *out)
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
	    pv_parse_u64(seqtext, PV_AUDIT_SEQ_MAX, &out->seq) != PV_OK ||
	    pv_parse_u64(starttext, PV_AUDIT_SEQ_MAX, &out->live_start) != PV_OK ||
	    pv_audit_hex_to_mac(hex, out->mac) != PV_OK ||
	    pv_audit_hex_to_mac(mac_hex, got) != PV_OK)
		return SLOT_MALFORMED;
	head_mac(keys, text, (size_t)(last_space - text), want);
	if (sodium_memcmp(want, got, MAC_BYTES) != 0)
		return SLOT_BAD_MAC;
	return SLOT_OK;
}

void pv_audit_head_close(struct pv_audit_head_file *hf)
{
	if (hf->fd >= 0)
		close(hf->fd);
	hf->fd = -1;
}

/* Read the file into hf->raw: at most both slots. st: its stat, taken when it was opened. */
static int read_raw(struct pv_audit_head_file *hf, const struct stat *st_open, const char *shown,
                    struct pv_err *err)
{
	struct stat st = *st_open;
	ssize_t got;

	if (st.st_size != HEAD_FILE_SIZE) {
		pv_err_set(err,
		           "audit head %s is %jd bytes, not the two-slot layout of %d: it was "
		           "replaced or cut",
		           shown, (intmax_t)st.st_size, HEAD_FILE_SIZE);
		return PV_ERR;
	}
	got = pread(hf->fd, hf->raw, (size_t)st.st_size, 0);
	if (got != (ssize_t)st.st_size) {
		pv_err_errno(err, got < 0 ? errno : EIO, "cannot read %s", shown);
		return PV_ERR;
	}
	hf->raw_len = (size_t)got;
	return PV_OK;
}

/* Parse the slots of hf->raw: hf->head is the newest valid one; status[] says what each is. */
static void parse_slots(struct pv_audit_head_file *hf, const struct pv_keys *keys,
                        enum slot_status status[2])
{
	struct pv_audit_pos slot_head[2];
	int i;

	for (i = 0; i < 2; i++) {
		status[i] = parse_slot(hf->raw + i * HEAD_SLOT, HEAD_SLOT, keys, &slot_head[i]);
		/* A slot holds only heads of its own parity: a copied slot is not valid. */
		if (status[i] == SLOT_OK && slot_head[i].seq % 2 != (uint64_t)i)
			status[i] = SLOT_MALFORMED;
	}
	for (i = 0; i < 2; i++) {
		if (status[i] != SLOT_OK)
			continue;
		if (!hf->found || slot_head[i].seq > hf->head.seq)
			hf->head = slot_head[i];
		hf->found = true;
	}
	hf->damaged = status[0] != SLOT_OK || status[1] != SLOT_OK;
	/* Only the slot after the valid one can be torn by a crash (see the top of the file). */
	if (hf->damaged && hf->found && status[(hf->head.seq + 1) % 2] == SLOT_OK)
		hf->damaged_older = true;
}

bool pv_audit_head_torn_ok(const struct pv_audit_pos *head, bool damaged, bool damaged_older,
                           const struct pv_audit_tail *tail)
{
	if (!damaged)
		return true;
	return !damaged_older && tail->found && tail->authentic && tail->pos.seq == head->seq + 1 &&
	       sodium_memcmp(tail->prev, head->mac, MAC_BYTES) == 0;
}

void pv_audit_head_damage_problem(const char *shown, const struct pv_audit_pos *head, char *out,
                                  size_t size)
{
	snprintf(out, size,
	         "audit head %.300s has a damaged slot and the log does not end with the line "
	         "after the other slot's seq %" PRIu64
	         " (the only state a crash leaves): the head was altered or the log's last line "
	         "removed",
	         shown, head->seq);
}

int pv_audit_head_read(const struct pv_audit_files *files, const struct pv_keys *keys,
                       bool writable, struct pv_audit_head_file *hf, struct pv_err *err)
{
	enum slot_status status[2] = {SLOT_MALFORMED, SLOT_MALFORMED};
	const char *shown = files->head_shown;
	bool missing = false;
	struct stat st;

	memset(hf, 0, sizeof(*hf));
	hf->fd = pv_open_file_stat_at(files->dirfd, files->head_name, writable ? O_RDWR : O_RDONLY,
	                              PV_FILE_PRIVATE, shown, &missing, &st, err);
	if (hf->fd < 0)
		return missing ? PV_OK : PV_ERR;
	if (read_raw(hf, &st, shown, err) != PV_OK)
		goto fail;
	parse_slots(hf, keys, status);
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
		pv_audit_head_close(hf);
	return PV_OK;
fail:
	pv_audit_head_close(hf);
	return PV_ERR;
}

/* One slot: the head line, NUL-padded to HEAD_SLOT bytes. */
static void format_slot(const struct pv_keys *keys, const struct pv_audit_pos *head,
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

/* In place when the file is sound and already names `before`; otherwise (no file, a torn
 * slot, or a head the log had moved past) the whole file is replaced with both slots. */
int pv_audit_head_write(struct pv_audit_head_file *hf, const struct pv_audit_files *files,
                        const struct pv_keys *keys, const struct pv_audit_pos *head,
                        const struct pv_audit_pos *before, struct pv_err *err)
{
	unsigned char file[HEAD_FILE_SIZE];
	off_t at = (off_t)(head->seq % 2) * HEAD_SLOT;
	ssize_t n;
	int rc;

	if (hf->fd >= 0 && !hf->damaged && hf->head.seq == before->seq &&
	    sodium_memcmp(hf->head.mac, before->mac, MAC_BYTES) == 0) {
		format_slot(keys, head, file);
		n = pwrite(hf->fd, file, HEAD_SLOT, at);
		if (n == HEAD_SLOT && fdatasync(hf->fd) == 0) {
			memcpy(hf->written, hf->raw, HEAD_FILE_SIZE);
			memcpy(hf->written + at, file, HEAD_SLOT);
			hf->head = *head;
			return PV_OK;
		}
		pv_err_errno(err, n < 0 || n == HEAD_SLOT ? errno : ENOSPC, "cannot update %s",
		             files->head_shown);
		return PV_UNSYNCED;
	}
	format_slot(keys, head, file + at);
	format_slot(keys, before, file + (HEAD_SLOT - at));
	rc = pv_write_file_atomic(files->dirfd, files->head_name, file, sizeof(file),
	                          files->head_shown, err);
	if (rc == PV_OK || rc == PV_UNSYNCED)
		pv_audit_head_close(hf); /* the open file is no longer the head */
	if (rc == PV_OK) {
		memcpy(hf->written, file, HEAD_FILE_SIZE);
		hf->head = *head;
	}
	return rc;
}

void pv_audit_head_settle(struct pv_audit_head_file *hf)
{
	memcpy(hf->raw, hf->written, HEAD_FILE_SIZE);
	hf->raw_len = HEAD_FILE_SIZE;
	hf->found = true;
	hf->damaged = false;
}

int pv_audit_head_restore(struct pv_audit_head_file *hf, const struct pv_audit_files *files)
{
	struct pv_err ignored;

	if (hf->fd >= 0 && hf->raw_len == HEAD_FILE_SIZE)
		return pwrite(hf->fd, hf->raw, HEAD_FILE_SIZE, 0) == HEAD_FILE_SIZE &&
		               fdatasync(hf->fd) == 0
		           ? PV_OK
		           : PV_ERR;
	if (hf->raw_len == 0 && !hf->found)
		return unlinkat(files->dirfd, files->head_name, 0) == 0 ? PV_OK : PV_ERR;
	return pv_write_file_atomic(files->dirfd, files->head_name, hf->raw, hf->raw_len,
	                            files->head_shown, &ignored) == PV_OK
	           ? PV_OK
	           : PV_ERR;
}

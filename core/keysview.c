/* SPDX-License-Identifier: BSD-3-Clause */
/* keysview.c — the keys view (keysview.h): written from records, read back record by record
 * with pv_record_decode, and turned into authorized_keys lines by one pure function. */
#include "keysview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "policy.h"

#define VIEW_TRAILER "view-end\n"

void pv_view_redact(const struct pv_record *rec, struct pv_record *out)
{
	pv_record_init(out, rec->name, rec->created);
	out->serial = rec->serial;
	out->n_ips = rec->n_ips;
	memcpy(out->ips, rec->ips, sizeof(out->ips));
	out->window_start = rec->window_start;
	out->window_end = rec->window_end;
	out->n_window_ips = rec->n_window_ips;
	memcpy(out->window_ips, rec->window_ips, sizeof(out->window_ips));
	out->hours = rec->hours;
	out->locked = rec->locked;
	out->n_keys = rec->n_keys;
	memcpy(out->keys, rec->keys, sizeof(out->keys));
	out->n_targets = rec->n_targets;
	memcpy(out->targets, rec->targets, sizeof(out->targets));
	out->shell = rec->shell;
}

int pv_view_encode(const struct pv_record *recs, size_t n, struct pv_buf *out, struct pv_err *err)
{
	struct pv_record *pub;
	size_t i;
	int rc = PV_ERR;

	if (n > PV_VIEW_MAX_VENDORS) {
		pv_err_set(err, "%zu vendors are more than the keys view holds (%d)", n,
		           PV_VIEW_MAX_VENDORS);
		return PV_ERR;
	}
	pub = malloc(sizeof(*pub));
	if (pub == NULL) {
		pv_err_set(err, "out of memory building the keys view");
		return PV_ERR;
	}
	pv_buf_init(out, PV_VIEW_MAX);
	pv_buf_puts(out, PV_VIEW_MAGIC "\n");
	for (i = 0; i < n; i++) {
		char *text = NULL;
		size_t len = 0;
		pv_view_redact(&recs[i], pub);
		if (pv_record_encode(pub, &text, &len, err) != PV_OK)
			goto out;
		if (len > PV_VIEW_ENTRY_MAX) { /* cannot happen with the record's bounds */
			free(text);
			pv_err_set(err, "the keys view entry of %s is too large", pub->name);
			goto out;
		}
		pv_buf_append(out, text, len);
		free(text);
	}
	pv_buf_puts(out, VIEW_TRAILER);
	if (out->failed) {
		pv_err_set(err, "the keys view is too large");
		goto out;
	}
	rc = PV_OK;
out:
	pv_record_wipe(pub);
	free(pub);
	if (rc != PV_OK)
		pv_buf_free(out);
	return rc;
}

/* The name on a block's second line ("name X\n"), copied to name. */
static int block_name(const char *p, const char *end, char name[PV_NAME_MAX + 1])
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *q;
	size_t len;

	if (nl == NULL || (size_t)(end - nl) < 6 || memcmp(nl + 1, "name ", 5) != 0)
		return PV_ERR;
	q = nl + 6;
	nl = memchr(q, '\n', (size_t)(end - q));
	if (nl == NULL)
		return PV_ERR;
	len = (size_t)(nl - q);
	if (len == 0 || len > PV_NAME_MAX)
		return PV_ERR;
	memcpy(name, q, len);
	name[len] = '\0';
	return PV_OK;
}

/* The end of the block starting at p: just after its "end\n" line. NULL when there is none. */
static const char *block_end(const char *p, const char *end)
{
	const char *q = p;

	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		if (nl == NULL)
			return NULL;
		if (nl - q == 3 && memcmp(q, "end", 3) == 0)
			return nl + 1;
		q = nl + 1;
	}
	return NULL;
}

int pv_view_find(const char *text, size_t len, const char *name, struct pv_record *rec,
                 struct pv_err *err)
{
	const char *p = text;
	const char *end = text + len;
	const size_t magic_len = strlen(PV_VIEW_MAGIC "\n");
	const size_t trailer_len = strlen(VIEW_TRAILER);
	struct pv_record *tmp;
	char block[PV_NAME_MAX + 1];
	int rc = PV_NOTFOUND;

	if (len < magic_len + trailer_len || memcmp(p, PV_VIEW_MAGIC "\n", magic_len) != 0 ||
	    memcmp(end - trailer_len, VIEW_TRAILER, trailer_len) != 0) {
		pv_err_set(err, "the keys view is not a complete view (header or trailer missing)");
		return PV_ERR;
	}
	tmp = malloc(sizeof(*tmp));
	if (tmp == NULL) {
		pv_err_set(err, "out of memory reading the keys view");
		return PV_ERR;
	}
	p += magic_len;
	end -= trailer_len;
	/* Every block is decoded, not only the one asked for: a damaged view is refused whole. */
	while (p < end) {
		const char *next = block_end(p, end);
		if (next == NULL || block_name(p, next, block) != PV_OK) {
			pv_err_set(err, "the keys view is malformed at byte %zu",
			           (size_t)(p - text));
			rc = PV_ERR;
			break;
		}
		if (pv_record_decode(p, (size_t)(next - p), block, tmp, err) != PV_OK) {
			rc = PV_ERR;
			break;
		}
		if (strcmp(block, name) == 0) {
			if (rc == PV_OK) {
				pv_err_set(err, "the keys view lists vendor %s twice", name);
				rc = PV_ERR;
				break;
			}
			*rec = *tmp;
			rc = PV_OK;
		}
		p = next;
	}
	pv_record_wipe(tmp);
	free(tmp);
	if (rc == PV_ERR)
		pv_record_wipe(rec);
	return rc;
}

static void put_options(const struct pv_record *rec, struct pv_buf *out)
{
	char text[PV_IP_TEXT_MAX + 8];
	const struct pv_cidr *ips;
	size_t n_ips;
	size_t i;

	pv_buf_puts(out, "restrict");
	if (pv_record_shell_allowed(rec))
		pv_buf_puts(out, ",pty");
	else
		pv_buf_puts(out, ",command=\"" PV_VIEW_NO_SHELL_COMMAND "\"");
	if (rec->n_targets > 0) {
		pv_buf_puts(out, ",port-forwarding");
		for (i = 0; i < rec->n_targets; i++) {
			pv_target_format(&rec->targets[i], text, sizeof(text));
			pv_buf_printf(out, ",permitopen=\"%s\"", text);
		}
		/* port-forwarding also allows -R, and OpenSSH 9.2 has no permitlisten="none" (it
		 * refuses the whole key): sshd's "AllowTcpForwarding local" for the vendor group
		 * (examples/sshd_config.d/vendors.conf) is what refuses remote forwarding. */
	}
	ips = pv_record_allowed_ips(rec, &n_ips);
	pv_buf_puts(out, ",from=\"");
	for (i = 0; i < n_ips; i++) {
		pv_cidr_format(&ips[i], text, sizeof(text));
		pv_buf_printf(out, "%s%s", i ? "," : "", text);
	}
	pv_buf_puts(out, "\"");
}

void pv_view_authorized_keys(const struct pv_record *rec, int64_t now, int wday, int minute,
                             struct pv_buf *out)
{
	char b64[PV_KEY_B64_MAX];
	struct pv_sshkey_info info;
	struct pv_err ignored;
	size_t n_ips = 0;
	size_t i;

	(void)pv_record_allowed_ips(rec, &n_ips);
	if (pv_window_state(rec, now) != PV_WINDOW_OPEN || rec->locked || n_ips == 0 ||
	    (rec->hours.n > 0 && !pv_schedule_allows(&rec->hours, wday, minute)))
		return;
	for (i = 0; i < rec->n_keys; i++) {
		const struct pv_sshkey *k = &rec->keys[i];
		if (pv_sshkey_blob_check(k->blob, k->blob_len, &info, &ignored) != PV_OK)
			continue; /* never printed: the decoder refuses such a record anyway */
		put_options(rec, out);
		pv_sshkey_base64(k, b64);
		/* puts, not printf: pv_buf_printf holds 512 bytes, an RSA key is longer */
		pv_buf_puts(out, " ");
		pv_buf_puts(out, info.type);
		pv_buf_puts(out, " ");
		pv_buf_puts(out, b64);
		if (k->comment[0] != '\0') {
			pv_buf_puts(out, " ");
			pv_buf_puts(out, k->comment);
		}
		pv_buf_puts(out, "\n");
	}
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* audit_seal.c — forward-secure sealing (audit_seal.h): the sealing state file, the one-way
 * evolution of the epoch key, the seal of a run of epochs, and its check with the
 * verification key.
 *
 * Epoch e covers [t0 + e*L, t0 + (e+1)*L). k_{e+1} = BLAKE2b(k_e) under a domain of its own,
 * and k_0 = the same step of the verification key, which is printed once and never stored:
 * whoever holds k_e can derive every later key, no earlier one. When the writer finds that
 * the epoch has turned since the state's epoch e (at the next append, or at `otpctl expire`
 * every minute), it appends one seal line for the epochs e..f that have ended (f = the epoch
 * before now's), its seal = BLAKE2b keyed with k_e over (the key's id, e, f, the chain MAC of
 * the line before it), and only then evolves the state to k_{f+1}, overwriting k_e in place.
 * The chain MAC covers every earlier line, so that seal fixes all of them. A crash between the
 * seal line and the evolution leaves the state at e: the next seal starts at e again, which
 * the check accepts (only k_e can make it). The state is one fixed-size record rewritten in
 * place (pwrite + fdatasync: no temp file that would leave the old key in a freed block).
 * The check with the verification key is in audit_seal_check.c. */
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

#define STATE_MAGIC   "pam_vendor-audit-seal 1"
#define STATE_SIZE    256
#define CHECK_BYTES   16
#define KEY_TEXT_HEAD "pvseal1-"

static const char evolve_domain[] = "pam_vendor audit seal evolve\n";
static const char seal_domain[] = "pam_vendor audit seal\n";
static const char id_domain[] = "pam_vendor audit seal id\n";
/* A stop is sealed under a domain of its own: a seal line edited into a stop does not check. */
static const char stop_domain[] = "pam_vendor audit seal stop\n";

/* k_{e+1} from k_e, in place, through a buffer wiped after use. */
void pv_audit_seal_evolve_once(unsigned char key[PV_KEY_BYTES])
{
	unsigned char next[PV_KEY_BYTES];

	crypto_generichash(next, sizeof(next), (const unsigned char *)evolve_domain,
	                   sizeof(evolve_domain) - 1, key, PV_KEY_BYTES);
	memcpy(key, next, PV_KEY_BYTES);
	sodium_memzero(next, sizeof(next));
}

/* Which sealing key: a hash of k0, public (nothing about any key can be learnt from it). */
void pv_audit_seal_id(const unsigned char k0[PV_KEY_BYTES], char id[PV_AUDIT_SEAL_ID_HEX + 1])
{
	unsigned char h[PV_AUDIT_SEAL_ID_HEX / 2];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)id_domain, sizeof(id_domain) - 1);
	crypto_generichash_update(&st, k0, PV_KEY_BYTES);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(id, PV_AUDIT_SEAL_ID_HEX + 1, h, sizeof(h));
}

void pv_audit_seal_mac(const unsigned char key[PV_KEY_BYTES], bool stop, const char *id,
                       uint64_t first, uint64_t through,
                       const unsigned char prev[PV_AUDIT_MAC_BYTES],
                       unsigned char out[PV_AUDIT_MAC_BYTES])
{
	const char *domain = stop ? stop_domain : seal_domain;
	crypto_generichash_state st;
	char text[64];
	int n = snprintf(text, sizeof(text), "%s %" PRIu64 " %" PRIu64 " ", id, first, through);

	crypto_generichash_init(&st, key, PV_KEY_BYTES, PV_AUDIT_MAC_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain));
	crypto_generichash_update(&st, (const unsigned char *)text, (size_t)n);
	crypto_generichash_update(&st, prev, PV_AUDIT_MAC_BYTES);
	crypto_generichash_final(&st, out, PV_AUDIT_MAC_BYTES);
	sodium_memzero(&st, sizeof(st));
}

uint64_t pv_audit_seal_epoch_at(int64_t t0, int64_t epoch_len, int64_t now)
{
	return now <= t0 || epoch_len <= 0 ? 0 : (uint64_t)((now - t0) / epoch_len);
}

/* --- the state file --- */

/* "MAGIC L t0 e KEYHEX ID CHECK\n", NUL-padded; CHECK (an unkeyed hash of the text before
 * it) tells a torn record from a sound one. */
static void format_state(const struct pv_audit_seal_state *st, unsigned char out[STATE_SIZE])
{
	unsigned char check[CHECK_BYTES];
	char key_hex[2 * PV_KEY_BYTES + 1];
	char check_hex[2 * CHECK_BYTES + 1];
	char *text = (char *)out;
	int n;

	memset(out, 0, STATE_SIZE);
	sodium_bin2hex(key_hex, sizeof(key_hex), st->key, PV_KEY_BYTES);
	n = snprintf(text, STATE_SIZE, "%s %" PRId64 " %" PRId64 " %" PRIu64 " %s %s", STATE_MAGIC,
	             st->epoch_len, st->t0, st->epoch, key_hex, st->id);
	sodium_memzero(key_hex, sizeof(key_hex));
	crypto_generichash(check, sizeof(check), out, (size_t)n, NULL, 0);
	sodium_bin2hex(check_hex, sizeof(check_hex), check, sizeof(check));
	snprintf(text + n, STATE_SIZE - (size_t)n, " %s\n", check_hex);
}

static int parse_state(const unsigned char raw[STATE_SIZE], struct pv_audit_seal_state *st)
{
	unsigned char check[CHECK_BYTES];
	char text[STATE_SIZE + 1];
	char key_hex[2 * PV_KEY_BYTES + 1];
	char check_hex[2 * CHECK_BYTES + 1];
	char want_hex[2 * CHECK_BYTES + 1];
	char len_text[24], t0_text[24], epoch_text[24];
	const char *nl = memchr(raw, '\n', STATE_SIZE);
	const char *last_space;
	uint64_t len = 0, t0 = 0;
	size_t bin_len = 0;
	int rc = PV_ERR;

	if (nl == NULL)
		return PV_ERR;
	memcpy(text, raw, (size_t)(nl - (const char *)raw));
	text[nl - (const char *)raw] = '\0';
	last_space = strrchr(text, ' ');
	if (last_space == NULL || strncmp(text, STATE_MAGIC " ", strlen(STATE_MAGIC) + 1) != 0 ||
	    sscanf(text + strlen(STATE_MAGIC) + 1,
	           "%23[0-9] %23[0-9] %23[0-9] %64[0-9a-f] %16[0-9a-f] %32[0-9a-f]", len_text,
	           t0_text, epoch_text, key_hex, st->id, check_hex) != 6)
		goto out;
	crypto_generichash(check, sizeof(check), (const unsigned char *)text,
	                   (size_t)(last_space - text), NULL, 0);
	sodium_bin2hex(want_hex, sizeof(want_hex), check, sizeof(check));
	if (strcmp(want_hex, check_hex) != 0 || strlen(st->id) != PV_AUDIT_SEAL_ID_HEX ||
	    pv_parse_u64(len_text, PV_AUDIT_SEAL_EPOCH_MAX, &len) != PV_OK ||
	    len < PV_AUDIT_SEAL_EPOCH_MIN || pv_parse_u64(t0_text, INT64_MAX, &t0) != PV_OK ||
	    pv_parse_u64(epoch_text, PV_AUDIT_SEQ_MAX, &st->epoch) != PV_OK ||
	    sodium_hex2bin(st->key, PV_KEY_BYTES, key_hex, strlen(key_hex), NULL, &bin_len, NULL) !=
	        0 ||
	    bin_len != PV_KEY_BYTES)
		goto out;
	st->epoch_len = (int64_t)len;
	st->t0 = (int64_t)t0;
	rc = PV_OK;
out:
	sodium_memzero(text, sizeof(text));
	sodium_memzero(key_hex, sizeof(key_hex));
	return rc;
}

void pv_audit_seal_state_close(struct pv_audit_seal_state *st)
{
	if (st->fd >= 0)
		close(st->fd);
	sodium_memzero(st, sizeof(*st));
	st->fd = -1;
}

int pv_audit_seal_state_open(const struct pv_audit_files *files, struct pv_audit_seal_state *st,
                             struct pv_err *err)
{
	unsigned char raw[STATE_SIZE];
	bool missing = false;
	struct stat sb;

	memset(st, 0, sizeof(*st));
	st->fd = pv_open_file_stat_at(files->dirfd, files->seal_name, O_RDWR, PV_FILE_PRIVATE,
	                              files->seal_shown, &missing, &sb, err);
	if (st->fd < 0)
		return missing ? PV_NOTFOUND : PV_ERR;
	if (sb.st_size != STATE_SIZE || pread(st->fd, raw, STATE_SIZE, 0) != STATE_SIZE ||
	    parse_state(raw, st) != PV_OK) {
		pv_err_set(err,
		           "audit sealing state %s is damaged; vendors are denied until it is set "
		           "up again (otpctl audit setup-sealing, see the admin guide)",
		           files->seal_shown);
		sodium_memzero(raw, sizeof(raw));
		pv_audit_seal_state_close(st);
		return PV_ERR;
	}
	sodium_memzero(raw, sizeof(raw));
	return PV_OK;
}

int pv_audit_seal_state_reachable(const struct pv_audit_seal_state *st, uint64_t to,
                                  const char *shown, struct pv_err *err)
{
	if (to >= st->epoch && to - st->epoch <= PV_AUDIT_SEAL_MAX_EVOLVE)
		return PV_OK;
	pv_err_set(err,
	           "cannot move the sealing key of %s from epoch %" PRIu64 " to %" PRIu64
	           " (the clock is far off)",
	           shown, st->epoch, to);
	return PV_ERR;
}

int pv_audit_seal_state_evolve(struct pv_audit_seal_state *st, uint64_t to, const char *shown,
                               struct pv_err *err)
{
	unsigned char raw[STATE_SIZE];
	int rc = PV_ERR;

	if (pv_audit_seal_state_reachable(st, to, shown, err) != PV_OK)
		return PV_ERR;
	while (st->epoch < to) {
		pv_audit_seal_evolve_once(st->key);
		st->epoch++;
	}
	format_state(st, raw);
	if (pwrite(st->fd, raw, STATE_SIZE, 0) != STATE_SIZE || fdatasync(st->fd) != 0)
		pv_err_errno(err, errno, "cannot update %s", shown);
	else
		rc = PV_OK;
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

void pv_audit_seal_event(const struct pv_audit_seal_state *st, uint64_t through,
                         const unsigned char prev[PV_AUDIT_MAC_BYTES],
                         char seal_hex[PV_AUDIT_MAC_HEX + 1], struct pv_audit_event *ev)
{
	unsigned char mac[PV_AUDIT_MAC_BYTES];

	pv_audit_seal_mac(st->key, false, st->id, st->epoch, through, prev, mac);
	sodium_bin2hex(seal_hex, PV_AUDIT_MAC_HEX + 1, mac, sizeof(mac));
	pv_audit_event_init(ev);
	ev->event = "seal";
	ev->service = "pam_vendor";
	ev->result = "allow";
	ev->reason = "ok";
	ev->seal_epoch = (int64_t)st->epoch;
	ev->seal_through = (int64_t)through;
	ev->seal_id = st->id;
	ev->seal = seal_hex;
}

void pv_audit_seal_stop_event(const struct pv_audit_seal_state *st,
                              const unsigned char prev[PV_AUDIT_MAC_BYTES],
                              char seal_hex[PV_AUDIT_MAC_HEX + 1], struct pv_audit_event *ev)
{
	unsigned char mac[PV_AUDIT_MAC_BYTES];

	pv_audit_seal_mac(st->key, true, st->id, st->epoch, st->epoch, prev, mac);
	sodium_bin2hex(seal_hex, PV_AUDIT_MAC_HEX + 1, mac, sizeof(mac));
	ev->event = "seal_stop";
	ev->seal_epoch = (int64_t)st->epoch;
	ev->seal_through = (int64_t)st->epoch;
	ev->seal_id = st->id;
	ev->seal = seal_hex;
}

int pv_audit_seal_state_remove(struct pv_audit_seal_state *st, const struct pv_audit_files *files,
                               struct pv_err *err)
{
	unsigned char zero[STATE_SIZE] = {0};

	/* In place, as the evolution overwrites it: no copy of the key left in a freed block. */
	if (pwrite(st->fd, zero, STATE_SIZE, 0) != STATE_SIZE || fdatasync(st->fd) != 0) {
		pv_err_errno(err, errno, "cannot wipe %s", files->seal_shown);
		return PV_ERR;
	}
	pv_audit_seal_state_close(st);
	if (unlinkat(files->dirfd, files->seal_name, 0) != 0) {
		pv_err_errno(err, errno, "cannot remove %s", files->seal_shown);
		return PV_ERR;
	}
	return pv_fsync_dir(files->dirfd, files->seal_shown, err);
}

int pv_audit_seal_setup(const char *audit_log, int64_t epoch_len, int64_t now, char *key_text,
                        size_t key_text_size, struct pv_err *err)
{
	struct pv_audit_seal_state st = {.fd = -1, .epoch_len = epoch_len, .t0 = now};
	struct pv_audit_files files;
	unsigned char raw[STATE_SIZE];
	char k0_hex[2 * PV_KEY_BYTES + 1];
	bool missing = false;
	int fd;
	int rc = PV_ERR;

	if (epoch_len < PV_AUDIT_SEAL_EPOCH_MIN || epoch_len > PV_AUDIT_SEAL_EPOCH_MAX) {
		pv_err_set(err, "the sealing epoch must be %d to %d seconds",
		           PV_AUDIT_SEAL_EPOCH_MIN, PV_AUDIT_SEAL_EPOCH_MAX);
		return PV_ERR;
	}
	if (pv_audit_files_open(audit_log, &files, err) != PV_OK)
		goto out;
	fd = pv_open_file_at(files.dirfd, files.seal_name, O_RDONLY, PV_FILE_PRIVATE,
	                     files.seal_shown, &missing, err);
	if (fd >= 0 || !missing) {
		if (fd >= 0) {
			close(fd);
			pv_err_set(err,
			           "audit sealing is already set up (%s); its verification key was "
			           "printed then and is not kept on this machine",
			           files.seal_shown);
			rc = PV_EXISTS;
		}
		goto out;
	}
	randombytes_buf(st.key, sizeof(st.key));
	pv_audit_seal_id(st.key, st.id);
	sodium_bin2hex(k0_hex, sizeof(k0_hex), st.key, sizeof(st.key));
	if ((size_t)snprintf(key_text, key_text_size, KEY_TEXT_HEAD "%s-%" PRId64 "-%" PRId64,
	                     k0_hex, now, epoch_len) >= key_text_size) {
		pv_err_set(err, "internal error: no room for the verification key");
		goto out;
	}
	pv_audit_seal_evolve_once(
	    st.key); /* k_0 = H(verification key): the machine never holds the latter */
	format_state(&st, raw);
	rc = pv_write_file_atomic(files.dirfd, files.seal_name, raw, sizeof(raw), files.seal_shown,
	                          err);
	if (rc == PV_UNSYNCED)
		rc = PV_ERR; /* the key would be printed for a state that may not survive */
out:
	if (rc != PV_OK && key_text_size > 0)
		sodium_memzero(key_text, key_text_size);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(k0_hex, sizeof(k0_hex));
	sodium_memzero(&st, sizeof(st));
	pv_audit_files_close(&files);
	return rc;
}

int pv_audit_seal_discard(const char *audit_log, struct pv_err *err)
{
	struct pv_audit_files files;
	int rc = PV_ERR;

	if (pv_audit_files_open(audit_log, &files, err) != PV_OK)
		goto out;
	if (unlinkat(files.dirfd, files.seal_name, 0) != 0)
		pv_err_errno(err, errno, "cannot remove %s", files.seal_shown);
	else
		rc = pv_fsync_dir(files.dirfd, files.seal_shown, err);
out:
	pv_audit_files_close(&files);
	return rc;
}

int pv_audit_seal_key_parse(const char *text, struct pv_audit_seal_key *key, struct pv_err *err)
{
	char hex[2 * PV_KEY_BYTES + 1];
	char t0_text[24], len_text[24];
	uint64_t t0 = 0, len = 0;
	size_t bin_len = 0;
	char tail = 0;
	int rc = PV_ERR;

	memset(key, 0, sizeof(*key));
	if (strncmp(text, KEY_TEXT_HEAD, strlen(KEY_TEXT_HEAD)) != 0 ||
	    sscanf(text + strlen(KEY_TEXT_HEAD), "%64[0-9a-fA-F]-%23[0-9]-%23[0-9]%c", hex, t0_text,
	           len_text, &tail) != 3 ||
	    strlen(hex) != 2 * PV_KEY_BYTES ||
	    sodium_hex2bin(key->k0, PV_KEY_BYTES, hex, strlen(hex), NULL, &bin_len, NULL) != 0 ||
	    bin_len != PV_KEY_BYTES || pv_parse_u64(t0_text, INT64_MAX, &t0) != PV_OK ||
	    pv_parse_u64(len_text, PV_AUDIT_SEAL_EPOCH_MAX, &len) != PV_OK ||
	    len < PV_AUDIT_SEAL_EPOCH_MIN) {
		pv_err_set(err, "the verification key is not of the form "
		                "pvseal1-<64 hex digits>-<start time>-<epoch seconds>");
		sodium_memzero(key, sizeof(*key));
		goto out;
	}
	key->t0 = (int64_t)t0;
	key->epoch_len = (int64_t)len;
	rc = PV_OK;
out:
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

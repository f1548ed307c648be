/* SPDX-License-Identifier: BSD-3-Clause */
/* keys.c — master key file handling and subkey derivation (crypto_kdf). */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safefile.h"

#define KDF_CONTEXT "pamvendr"
enum { SUBKEY_RECORD = 1, SUBKEY_CODE = 2, SUBKEY_AUDIT = 3 };

int pv_crypto_init(struct pv_err *err)
{
	if (sodium_init() < 0) {
		pv_err_set(err, "libsodium could not be initialised");
		return PV_ERR;
	}
	return PV_OK;
}

void pv_keys_wipe(struct pv_keys *keys)
{
	sodium_memzero(keys, sizeof(*keys));
}

static int parse_key_text(const unsigned char *text, size_t len, unsigned char *master,
                          const char *path, struct pv_err *err)
{
	size_t bin_len = 0;
	const char *end = NULL;

	/* Exactly 64 hex digits, optionally followed by one newline. */
	if (len == 2 * PV_KEY_BYTES + 1 && text[len - 1] == '\n')
		len--;
	if (len != 2 * PV_KEY_BYTES ||
	    sodium_hex2bin(master, PV_KEY_BYTES, (const char *)text, len, NULL, &bin_len, &end) !=
	        0 ||
	    bin_len != PV_KEY_BYTES || end != (const char *)text + len) {
		pv_err_set(err, "key file %s is malformed (expected 64 hex digits)", path);
		return PV_ERR;
	}
	return PV_OK;
}

int pv_keys_load(const char *path, struct pv_keys *keys, struct pv_err *err)
{
	return pv_keys_load_in(NULL, path, keys, err);
}

int pv_keys_load_in(struct pv_dirs *dirs, const char *path, struct pv_keys *keys,
                    struct pv_err *err)
{
	unsigned char master[PV_KEY_BYTES];
	unsigned char *text = NULL;
	char base[NAME_MAX + 1];
	size_t len = 0;
	bool owned = true;
	int dirfd = -1;
	int rc = PV_ERR;
	int r;

	pv_keys_wipe(keys);
	if (pv_crypto_init(err) != PV_OK)
		return PV_ERR;
	dirfd = pv_dirs_get_parent(dirs, path, false, base, sizeof(base), &owned, err);
	if (dirfd < 0)
		goto out;
	r = pv_read_file_at(dirfd, base, PV_FILE_PRIVATE, 256, path, &text, &len, err);
	if (r == PV_NOTFOUND) {
		pv_err_set(err, "key file %s does not exist (run otpctl init)", path);
		goto out;
	}
	if (r != PV_OK)
		goto out;
	if (parse_key_text(text, len, master, path, err) != PV_OK)
		goto out;
	if (crypto_kdf_derive_from_key(keys->record, PV_KEY_BYTES, SUBKEY_RECORD, KDF_CONTEXT,
	                               master) != 0 ||
	    crypto_kdf_derive_from_key(keys->code, PV_KEY_BYTES, SUBKEY_CODE, KDF_CONTEXT,
	                               master) != 0 ||
	    crypto_kdf_derive_from_key(keys->audit, PV_KEY_BYTES, SUBKEY_AUDIT, KDF_CONTEXT,
	                               master) != 0) {
		pv_err_set(err, "cannot derive subkeys from %s", path);
		goto out;
	}
	rc = PV_OK;
out:
	sodium_memzero(master, sizeof(master));
	if (text != NULL) {
		sodium_memzero(text, len);
		free(text);
	}
	pv_dirs_put(dirfd, owned);
	if (rc != PV_OK)
		pv_keys_wipe(keys);
	return rc;
}

int pv_keys_create(const char *path, struct pv_err *err)
{
	unsigned char master[PV_KEY_BYTES];
	char text[2 * PV_KEY_BYTES + 2];
	char base[NAME_MAX + 1];
	size_t len;
	int dirfd = -1;
	int fd = -1;
	int rc = PV_ERR;

	if (pv_crypto_init(err) != PV_OK)
		return PV_ERR;
	dirfd = pv_open_parent(path, false, base, sizeof(base), err);
	if (dirfd < 0)
		goto out;
	/* O_EXCL: never overwrite a key, whatever is at that name (a symlink included). */
	fd = openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST) {
			pv_err_set(err, "key file %s already exists; refusing to overwrite it",
			           path);
			rc = PV_EXISTS;
		} else {
			pv_err_errno(err, errno, "cannot create key file %s", path);
		}
		goto out;
	}
	randombytes_buf(master, sizeof(master));
	sodium_bin2hex(text, sizeof(text), master, sizeof(master));
	len = strlen(text);
	text[len++] = '\n';
	if (fchmod(fd, 0600) != 0 || fchown(fd, 0, 0) != 0 ||
	    write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		pv_err_errno(err, errno, "cannot write key file %s", path);
		unlinkat(dirfd, base, 0);
		goto out;
	}
	if (pv_fsync_dir(dirfd, path, err) != PV_OK)
		goto out;
	rc = PV_OK;
out:
	sodium_memzero(master, sizeof(master));
	sodium_memzero(text, sizeof(text));
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

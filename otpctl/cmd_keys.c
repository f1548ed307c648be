/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_keys.c — `otpctl vendor key add|list|remove`: the vendor's SSH public keys, kept in its
 * sealed record and served by sshd's AuthorizedKeysCommand only while its window is open
 * (keys_view.c writes what that command reads). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "otpctl.h"
#include "sshkey.h"

#define KEY_FILE_MAX 16384 /* a .pub file: one line */

/* Read FILE (or standard input for "-") whole, at most KEY_FILE_MAX bytes, into buf. */
static int read_key_file(const char *path, char *buf, size_t buf_len)
{
	size_t used = 0;
	int fd =
	    strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		ctl_error("cannot open %s: %s", path, strerror(errno));
		return EXIT_FAIL;
	}
	for (;;) {
		ssize_t n = read(fd, buf + used, buf_len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ctl_error("cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0 && memchr(buf, '\0', used) != NULL) {
			ctl_error("%s contains a NUL byte: not a public key file", path);
			break;
		}
		if (n == 0) {
			buf[used] = '\0';
			if (fd != STDIN_FILENO)
				close(fd);
			return EXIT_OK;
		}
		used += (size_t)n;
		if (used == buf_len - 1) {
			ctl_error("%s is larger than %d bytes: not a public key file", path,
			          KEY_FILE_MAX - 1);
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return EXIT_FAIL;
}

/* The one key line of text (blank lines around it allowed), parsed and checked for strength. */
static int parse_key_text(const char *path, char *text, bool allow_weak, struct pv_sshkey *key,
                          struct pv_sshkey_info *info)
{
	struct pv_err err;
	char *line = text + strspn(text, " \t\r\n");
	char *nl = strchr(line, '\n');

	if (*line == '\0') {
		ctl_error("%s holds no key", path);
		return EXIT_FAIL;
	}
	if (nl != NULL && nl[strspn(nl, " \t\r\n")] != '\0') {
		ctl_error("%s holds more than one line; give one public key (one .pub file) at a "
		          "time",
		          path);
		return EXIT_FAIL;
	}
	if (nl != NULL)
		*nl = '\0';
	if (pv_sshkey_parse_line(line, key, info, &err) != PV_OK) {
		ctl_error("%s: %s", path, err.msg);
		return EXIT_FAIL;
	}
	if (strcmp(info->type, "ssh-rsa") == 0 &&
	    (info->bits < PV_KEY_RSA_FLOOR || (info->bits < PV_KEY_RSA_MIN && !allow_weak))) {
		ctl_error("%s: an RSA key of %u bits is too weak (at least %d%s)", path, info->bits,
		          PV_KEY_RSA_MIN,
		          info->bits < PV_KEY_RSA_FLOOR ? "" : "; --allow-weak accepts it anyway");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

#define SSH_KEYGEN "/usr/bin/ssh-keygen"

/* Write "TYPE BASE64" of key to a fresh private file in /tmp; its name in tmp. */
static int write_temp_key(const struct pv_sshkey *key, const char *type, char *tmp, size_t len)
{
	char b64[PV_KEY_B64_MAX];
	int fd;
	bool ok;

	snprintf(tmp, len, "/tmp/otpctl-key.XXXXXX");
	fd = mkstemp(tmp);
	if (fd < 0) {
		ctl_error("cannot create a temporary file in /tmp: %s", strerror(errno));
		return EXIT_FAIL;
	}
	pv_sshkey_base64(key, b64);
	ok = dprintf(fd, "%s %s\n", type, b64) > 0;
	if (close(fd) != 0 || !ok) {
		ctl_error("cannot write the temporary file %s", tmp);
		unlink(tmp);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* A second opinion, at add time only (the module never runs it): ssh-keygen -l must read the
 * key and print the fingerprint we computed. It refuses what this parser does not check, an
 * ECDSA point off its curve (sshd would ignore such a line and the admin be told "added"). */
static int keygen_agrees(const char *path, const struct pv_sshkey *key,
                         const struct pv_sshkey_info *info)
{
	char tmp[64];
	char fp[PV_KEY_FP_MAX + 1];
	char out[1024];
	const char *argv[] = {SSH_KEYGEN, "-l", "-f", tmp, NULL};
	struct pv_err err;
	const char *got;
	int status = -1;
	int rc;

	if (write_temp_key(key, info->type, tmp, sizeof(tmp)) != EXIT_OK)
		return EXIT_FAIL;
	rc = ctl_run(argv, false, 10, out, sizeof(out), &status, &err);
	unlink(tmp);
	if (rc != PV_OK) {
		ctl_error("%s: cannot check the key with %s: %s", path, SSH_KEYGEN, err.msg);
		return EXIT_FAIL;
	}
	pv_sshkey_fingerprint(key, fp);
	got = strchr(out, ' ');
	if (status != 0 || got == NULL || strncmp(got + 1, fp, strlen(fp)) != 0 ||
	    got[1 + strlen(fp)] != ' ') {
		ctl_error(
		    "%s: ssh-keygen -l refuses the %s key (not a valid public key: sshd would "
		    "not accept it either)",
		    path, info->type);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* "ssh-ed25519 256 SHA256:... comment": the audit detail and the listing's line. */
static void describe_key(const struct pv_sshkey *key, char *buf, size_t len)
{
	struct pv_sshkey_info info;
	struct pv_err ignored;
	char fp[PV_KEY_FP_MAX + 1];

	if (pv_sshkey_blob_check(key->blob, key->blob_len, &info, &ignored) != PV_OK)
		snprintf(info.type, sizeof(info.type), "?");
	pv_sshkey_fingerprint(key, fp);
	snprintf(buf, len, "%s %u %s%s%s", info.type, info.bits, fp, key->comment[0] ? " " : "",
	         key->comment);
}

struct key_ctx {
	struct otpctl *ctl;
	const struct pv_sshkey *add; /* key add */
	const char *remove_fp;       /* key remove */
	char detail[PV_KEY_TYPE_MAX + PV_KEY_FP_MAX + PV_KEY_COMMENT_MAX + 32];
};

static enum pv_modify_result add_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct key_ctx *kc = vctx;
	char fp[PV_KEY_FP_MAX + 1];
	size_t i;

	pv_sshkey_fingerprint(kc->add, fp);
	for (i = 0; i < rec->n_keys; i++) {
		if (rec->keys[i].blob_len == kc->add->blob_len &&
		    memcmp(rec->keys[i].blob, kc->add->blob, kc->add->blob_len) == 0) {
			pv_err_set(err, "vendor %s already has key %s; nothing was changed",
			           rec->name, fp);
			return PV_MODIFY_FAIL;
		}
	}
	if (rec->n_keys >= PV_MAX_KEYS) {
		pv_err_set(err,
		           "vendor %s already has %d keys, the most a vendor may have; remove one "
		           "first (otpctl vendor key remove)",
		           rec->name, PV_MAX_KEYS);
		return PV_MODIFY_FAIL;
	}
	describe_key(kc->add, kc->detail, sizeof(kc->detail));
	if (ctl_audit(kc->ctl, "key_add", rec->name, "allow", "ok", kc->detail) != EXIT_OK) {
		err->msg[0] = '\0';
		return PV_MODIFY_FAIL;
	}
	rec->keys[rec->n_keys++] = *kc->add;
	return PV_MODIFY_SAVE;
}

static enum pv_modify_result remove_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct key_ctx *kc = vctx;
	char fp[PV_KEY_FP_MAX + 1];
	size_t i;

	for (i = 0; i < rec->n_keys; i++) {
		pv_sshkey_fingerprint(&rec->keys[i], fp);
		if (strcmp(fp, kc->remove_fp) == 0)
			break;
	}
	if (i == rec->n_keys) {
		char shown[PV_SHOWN_MAX + 1];
		pv_err_shown(kc->remove_fp, shown);
		pv_err_set(err, "vendor %s has no key %s (otpctl vendor key list %s)", rec->name,
		           shown, rec->name);
		return PV_MODIFY_FAIL;
	}
	describe_key(&rec->keys[i], kc->detail, sizeof(kc->detail));
	if (ctl_audit(kc->ctl, "key_remove", rec->name, "allow", "ok", kc->detail) != EXIT_OK) {
		err->msg[0] = '\0';
		return PV_MODIFY_FAIL;
	}
	for (; i + 1 < rec->n_keys; i++)
		rec->keys[i] = rec->keys[i + 1];
	sodium_memzero(&rec->keys[i], sizeof(rec->keys[i]));
	rec->n_keys--;
	return PV_MODIFY_SAVE;
}

int cmd_vendor_key_add(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("vendor key add");
	const char *name = NULL;
	const char *path = NULL;
	bool allow_weak = false;
	struct pv_sshkey_info info;
	struct pv_sshkey key;
	struct key_ctx kc;
	char *text;
	int rc = EXIT_FAIL;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--allow-weak") == 0)
			allow_weak = true;
		else if ((argv[i][0] == '-' && strcmp(argv[i], "-") != 0) || path != NULL)
			return ctl_usage_arg(cmd, argv[i]);
		else if (name == NULL)
			name = argv[i];
		else
			path = argv[i];
	}
	if (name == NULL || path == NULL)
		return ctl_usage_error(cmd, "give the vendor NAME and its public key FILE (or -)");
	if (!ctl_check_name(name))
		return EXIT_FAIL;
	text = malloc(KEY_FILE_MAX);
	if (text == NULL)
		return EXIT_FAIL;
	if (read_key_file(path, text, KEY_FILE_MAX) != EXIT_OK ||
	    parse_key_text(path, text, allow_weak, &key, &info) != EXIT_OK ||
	    keygen_agrees(path, &key, &info) != EXIT_OK || ctl_open(ctl) != EXIT_OK)
		goto out;
	memset(&kc, 0, sizeof(kc));
	kc.ctl = ctl;
	kc.add = &key;
	if (ctl_store_update(ctl, name, add_locked, &kc) != EXIT_OK)
		goto out;
	if (ctl->json) {
		char fp[PV_KEY_FP_MAX + 1];
		pv_sshkey_fingerprint(&key, fp);
		printf("{\"vendor\":\"%s\",\"added\":\"%s\"}\n", name, fp);
	} else {
		printf("Key added to %s: %s\n", name, kc.detail);
	}
	rc = EXIT_OK;
out:
	free(text);
	return rc;
}

int cmd_vendor_key_remove(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("vendor key remove");
	struct key_ctx kc;

	if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-')
		return ctl_usage_error(cmd, "vendor key remove takes a NAME and a FINGERPRINT");
	if (!ctl_check_name(argv[1]) || ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	memset(&kc, 0, sizeof(kc));
	kc.ctl = ctl;
	kc.remove_fp = argv[2];
	if (ctl_store_update(ctl, argv[1], remove_locked, &kc) != EXIT_OK)
		return EXIT_FAIL;
	if (ctl->json)
		printf("{\"vendor\":\"%s\",\"removed\":\"%s\"}\n", argv[1], argv[2]);
	else
		printf("Key removed from %s: %s\n", argv[1], kc.detail);
	return EXIT_OK;
}

static void list_json(const struct pv_record *rec)
{
	struct pv_buf b;
	size_t i;

	pv_buf_init(&b, 1024 * 1024);
	pv_buf_puts(&b, "{\"vendor\":");
	pv_json_string(&b, rec->name);
	pv_buf_puts(&b, ",\"keys\":[");
	for (i = 0; i < rec->n_keys; i++) {
		struct pv_sshkey_info info;
		struct pv_err ignored;
		char fp[PV_KEY_FP_MAX + 1];
		bool first = true;

		if (pv_sshkey_blob_check(rec->keys[i].blob, rec->keys[i].blob_len, &info,
		                         &ignored) != PV_OK)
			snprintf(info.type, sizeof(info.type), "?");
		pv_sshkey_fingerprint(&rec->keys[i], fp);
		pv_buf_puts(&b, i ? ",{" : "{");
		pv_json_key_string(&b, &first, "type", info.type);
		pv_json_key_int(&b, &first, "bits", info.bits);
		pv_json_key_string(&b, &first, "fingerprint", fp);
		pv_json_key_string(&b, &first, "comment", rec->keys[i].comment);
		pv_buf_puts(&b, "}");
	}
	pv_buf_puts(&b, "]}");
	(void)ctl_print_json(&b);
	pv_buf_free(&b);
}

int cmd_vendor_key_list(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("vendor key list");
	struct pv_record *rec;
	struct pv_err err;
	int rc = EXIT_FAIL;
	int r;
	size_t i;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_error(cmd, "vendor key list takes exactly one NAME");
	if (!ctl_check_name(argv[1]) || ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	rec = malloc(sizeof(*rec));
	if (rec == NULL)
		return EXIT_FAIL;
	r = pv_store_load(ctl->store, &ctl->keys, argv[1], rec, &err);
	if (r == PV_NOTFOUND)
		ctl_error("vendor %s does not exist", argv[1]);
	else if (r != PV_OK)
		ctl_error("%s", err.msg);
	if (r != PV_OK)
		goto out;
	if (ctl->json) {
		list_json(rec);
	} else if (rec->n_keys == 0) {
		printf("Vendor %s has no key. Add one with: otpctl vendor key add %s FILE.pub\n",
		       rec->name, rec->name);
	} else {
		for (i = 0; i < rec->n_keys; i++) {
			char line[PV_KEY_TYPE_MAX + PV_KEY_FP_MAX + PV_KEY_COMMENT_MAX + 32];
			describe_key(&rec->keys[i], line, sizeof(line));
			printf("%s\n", line);
		}
	}
	rc = EXIT_OK;
out:
	pv_record_wipe(rec);
	free(rec);
	return rc;
}

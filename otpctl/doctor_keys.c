/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_keys.c — `otpctl doctor`, sshd.keys_command: where sshd takes a vendor's keys from
 * pam_vendor-keys (sshd -T -C user=NAME shows it), that nothing else serves keys at any hour
 * (AuthorizedKeysFile none), that the command runs unprivileged from root-owned directories,
 * that forwarding is at most local (the keys' permitopen decides where), that the keys view
 * exists and that user can read it, and that the vendor has a key in the store. */
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "safefile.h"

#define KEYS_COMMAND "pam_vendor-keys"
#define EXAMPLE_LINES                                                                              \
	"AuthorizedKeysFile none; AuthorizedKeysCommand /usr/sbin/pam_vendor-keys %u; "            \
	"AuthorizedKeysCommandUser _pamvendor; AllowTcpForwarding local"

#define SYSTEMCTL    "/usr/bin/systemctl"
#define EXPIRE_TIMER "pam-vendor-expire.timer"
#define VIEW_MAX_AGE (5 * 60) /* seconds: five runs of the timer missed */

/* What sshd -T -C says for one vendor. */
struct keys_conf {
	char command[PATH_MAX + 64]; /* AuthorizedKeysCommand ("none": not set) */
	char file[PATH_MAX];         /* AuthorizedKeysFile */
	char user[64];               /* AuthorizedKeysCommandUser */
	char forwarding[32];         /* AllowTcpForwarding */
};

/* The command's first word, when it is pam_vendor-keys. */
static bool ours(const struct keys_conf *kc, char *path, size_t len)
{
	size_t n = strcspn(kc->command, " ");
	const char *slash;

	if (n == 0 || n >= len)
		return false;
	memcpy(path, kc->command, n);
	path[n] = '\0';
	slash = strrchr(path, '/');
	return strcmp(slash != NULL ? slash + 1 : path, KEYS_COMMAND) == 0;
}

static int read_conf(struct doctor *d, const struct dr_vendor *v, struct keys_conf *kc)
{
	char spec[PV_NAME_MAX + PV_IP_TEXT_MAX + 40];
	char why[1024];
	char *out = NULL;

	snprintf(spec, sizeof(spec), "user=%s,host=localhost,addr=%s", v->name, v->addr);
	if (dr_run_sshd_t(d, spec, &out, why, sizeof(why)) != PV_OK)
		return PV_ERR; /* sshd.authenticationmethods reports it */
	if (!dr_sshd_setting(out, "authorizedkeyscommand", kc->command, sizeof(kc->command)))
		snprintf(kc->command, sizeof(kc->command), "none");
	if (!dr_sshd_setting(out, "authorizedkeysfile", kc->file, sizeof(kc->file)))
		snprintf(kc->file, sizeof(kc->file), ".ssh/authorized_keys");
	if (!dr_sshd_setting(out, "authorizedkeyscommanduser", kc->user, sizeof(kc->user)))
		kc->user[0] = '\0';
	if (!dr_sshd_setting(out, "allowtcpforwarding", kc->forwarding, sizeof(kc->forwarding)))
		snprintf(kc->forwarding, sizeof(kc->forwarding), "yes");
	free(out);
	return PV_OK;
}

/* The command file: root's, not writable by others, in root-owned directories (sshd refuses
 * it otherwise, with nothing but a log line). */
static void check_command_file(struct doctor *d, const char *path)
{
	char base[NAME_MAX + 1];
	struct pv_err err;
	struct stat st;
	int dirfd;

	dirfd = pv_open_parent(path, false, base, sizeof(base), &err);
	if (dirfd < 0) {
		dr_finding(
		    d, DR_ERROR, "sshd.keys_command.file",
		    "install the package's /usr/sbin/pam_vendor-keys and name it in "
		    "AuthorizedKeysCommand",
		    "the AuthorizedKeysCommand %s cannot be used: %s; sshd serves no vendor key",
		    path, err.msg);
		return;
	}
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		dr_finding(
		    d, DR_ERROR, "sshd.keys_command.file",
		    "install the package's /usr/sbin/pam_vendor-keys (root, mode 0755)",
		    "the AuthorizedKeysCommand %s is missing, not a regular file, not root's "
		    "or writable by others: sshd refuses to run it and serves no vendor key",
		    path);
	close(dirfd);
}

/* The configuration the command reads (its --config, else the default) must be the one
 * otpctl uses: its keys_view is where otpctl writes the view. */
static void check_command_config(struct doctor *d, const struct keys_conf *kc)
{
	const char *args = kc->command + strcspn(kc->command, " ");
	char given[PATH_MAX] = PV_DEFAULT_CONFIG;
	char want[PATH_MAX];
	char real[PATH_MAX];
	char fix[PATH_MAX + 128];

	args += strspn(args, " ");
	if (strncmp(args, "--config ", 9) == 0) {
		size_t n = strcspn(args + 9, " ");
		snprintf(given, sizeof(given), "%.*s", (int)n, args + 9);
	}
	if (realpath(given, real) != NULL)
		snprintf(given, sizeof(given), "%s", real);
	if (realpath(d->ctl->config_path, want) == NULL)
		snprintf(want, sizeof(want), "%s", d->ctl->config_path);
	if (strcmp(given, want) == 0)
		return;
	snprintf(fix, sizeof(fix),
	         "in the vendors' Match block: AuthorizedKeysCommand /usr/sbin/pam_vendor-keys%s%s "
	         "%%u",
	         strcmp(want, PV_DEFAULT_CONFIG) == 0 ? "" : " --config ",
	         strcmp(want, PV_DEFAULT_CONFIG) == 0 ? "" : want);
	dr_finding(d, DR_ERROR, "sshd.keys_command.config", fix,
	           "pam_vendor-keys reads the configuration %s, otpctl %s: the keys view it "
	           "reads is not necessarily the one otpctl writes (%s)",
	           given, want, d->ctl->cfg.keys_view);
}

/* The keys view's directory: root's, and readable by the command's user through its group. */
static void check_view(struct doctor *d, const char *user)
{
	const char *view = d->ctl->cfg.keys_view;
	struct passwd *pw = getpwnam(user);
	char base[NAME_MAX + 1];
	char fix[PATH_MAX * 2 + 128];
	struct pv_err err;
	struct stat st;
	int dirfd;

	snprintf(fix, sizeof(fix),
	         "install -d -o root -g %s -m 0750 \"$(dirname %s)\" && otpctl keys sync", user,
	         view);
	dirfd = pv_open_parent(view, false, base, sizeof(base), &err);
	if (dirfd < 0) {
		dr_finding(
		    d, DR_ERROR, "sshd.keys_command.view", fix,
		    "the keys view %s cannot be written or read: %s; no vendor key is served", view,
		    err.msg);
		return;
	}
	if (fstat(dirfd, &st) == 0 && pw != NULL &&
	    (st.st_gid != pw->pw_gid || (st.st_mode & 0050) != 0050))
		dr_finding(
		    d, DR_ERROR, "sshd.keys_command.view", fix,
		    "the directory of the keys view %s is not readable by group %u of %s, the "
		    "AuthorizedKeysCommandUser (group %u, mode %04o): no vendor key is served",
		    view, (unsigned)pw->pw_gid, user, (unsigned)st.st_gid,
		    (unsigned)(st.st_mode & 07777));
	else if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		dr_finding(d, DR_ERROR, "sshd.keys_command.view", "otpctl keys sync",
		           "the keys view %s does not exist: no vendor key is served", view);
	close(dirfd);
}

/* Freshness: the view follows the module's lockouts and other gateways' changes only through
 * `otpctl expire` every minute (pam-vendor-expire.timer, installed disabled). */
static void check_freshness(struct doctor *d)
{
	const char *argv[] = {SYSTEMCTL, "is-active", "--quiet", EXPIRE_TIMER, NULL};
	const char *view = d->ctl->cfg.keys_view;
	char out[256];
	struct pv_err err;
	struct stat st;
	int status = -1;

	if (ctl_run(argv, false, 10, out, sizeof(out), &status, &err) != PV_OK || status != 0)
		dr_finding(d, DR_WARNING, "sshd.keys_view.timer",
		           "systemctl enable --now " EXPIRE_TIMER,
		           "%s is not active: the keys view is rebuilt only when otpctl changes a "
		           "vendor on this gateway, so a lockout by the module or a change made on "
		           "another gateway is not followed within a minute",
		           EXPIRE_TIMER);
	if (stat(view, &st) == 0 && (int64_t)st.st_mtime < d->ctl->now - VIEW_MAX_AGE)
		dr_finding(
		    d, DR_WARNING, "sshd.keys_view.age",
		    "otpctl keys sync; systemctl enable --now " EXPIRE_TIMER,
		    "the keys view %s was last rebuilt %lld minutes ago (the timer rebuilds it "
		    "every minute): pam_vendor-keys may serve keys from a stale view",
		    view, (long long)((d->ctl->now - (int64_t)st.st_mtime) / 60));
}

/* The settings around the command, for one vendor whose keys it serves. */
static void check_settings(struct doctor *d, const struct dr_vendor *v, const struct keys_conf *kc)
{
	const struct passwd *pw;
	char id[128];

	snprintf(id, sizeof(id), "sshd.keys_command.%s", v->name);
	if (strcmp(kc->file, "none") != 0)
		dr_finding(d, DR_ERROR, id, "in the vendors' Match block: AuthorizedKeysFile none",
		           "for vendor %s sshd also reads AuthorizedKeysFile %s: a key there is "
		           "accepted at any hour, outside the window pam_vendor-keys enforces",
		           v->name, kc->file);
	pw = kc->user[0] != '\0' ? getpwnam(kc->user) : NULL;
	if (pw == NULL || pw->pw_uid == 0) /* root under any name */
		dr_finding(
		    d, DR_ERROR, id,
		    "in the vendors' Match block: AuthorizedKeysCommandUser _pamvendor",
		    "for vendor %s AuthorizedKeysCommandUser is \"%s\": it must be an existing "
		    "unprivileged account (the package creates _pamvendor)",
		    v->name, kc->user);
	if (strcmp(kc->forwarding, "no") != 0 && strcmp(kc->forwarding, "local") != 0)
		dr_finding(
		    d, DR_ERROR, id, "in the vendors' Match block: AllowTcpForwarding local",
		    "for vendor %s AllowTcpForwarding is %s: a vendor with targets could also "
		    "forward remote ports (-R), which the keys' permitopen does not limit",
		    v->name, kc->forwarding);
}

/* Keys of the vendor in the store: none while the command serves them means no login. */
static void check_stored_keys(struct doctor *d, const struct dr_vendor *v, bool served)
{
	struct pv_record *rec = malloc(sizeof(*rec));
	struct pv_err err;
	char id[128];
	char fix[PV_NAME_MAX * 2 + 64];

	if (rec == NULL ||
	    pv_store_load(d->ctl->store, &d->ctl->keys, v->name, rec, &err) != PV_OK) {
		free(rec);
		return; /* files.store and vendor checks report a record that cannot be read */
	}
	snprintf(id, sizeof(id), "sshd.keys_command.%s.keys", v->name);
	snprintf(fix, sizeof(fix), "otpctl vendor key add %s FILE.pub", v->name);
	if (served && rec->n_keys == 0)
		dr_finding(
		    d, DR_ERROR, id, fix,
		    "vendor %s has no key in the store: pam_vendor-keys serves it none, so it "
		    "cannot pass sshd's key step",
		    v->name);
	else if (!served && rec->n_keys > 0)
		dr_finding(
		    d, DR_ERROR, id, "in the vendors' Match block: " EXAMPLE_LINES,
		    "vendor %s has %zu key(s) in the store, but sshd does not ask "
		    "pam_vendor-keys for them: they are not used, and the keys sshd uses are "
		    "valid at any hour",
		    v->name, rec->n_keys);
	pv_record_wipe(rec);
	free(rec);
}

void dr_check_keys_command(struct doctor *d)
{
	char path[PATH_MAX];
	char user[64] = "";
	bool any = false;
	size_t i;

	if (d->sshd_out == NULL) {
		dr_skip(d, "needs sshd -T (see sshd.run)");
		return;
	}
	if (!d->have_vendors || d->ctl->store == NULL) {
		dr_skip(d, "needs the vendor list (see files.store)");
		return;
	}
	for (i = 0; i < d->n_vendors; i++) {
		struct dr_vendor *v = &d->vendors[i];
		struct keys_conf kc;
		bool served;

		if (!dr_account_exists(v->name) || read_conf(d, v, &kc) != PV_OK)
			continue;
		served = ours(&kc, path, sizeof(path));
		check_stored_keys(d, v, served);
		if (!served)
			continue;
		v->keys_from_command = strcmp(kc.file, "none") == 0;
		check_settings(d, v, &kc);
		if (!any) {
			check_command_file(d, path);
			check_command_config(d, &kc);
			snprintf(user, sizeof(user), "%s", kc.user);
		}
		any = true;
	}
	if (any && user[0] != '\0' && getpwnam(user) != NULL)
		check_view(d, user);
	if (any)
		check_freshness(d);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_recording.c — `otpctl doctor`, session recording (core/recording.h): the recorder
 * installed set-uid root, every vendor's login shell the recorder (else it could log in
 * unrecorded: pam_vendor refuses such a session, the doctor says why before a vendor calls),
 * the recording directory root's and 0700, and enough free space in it, and a kernel that
 * refuses TIOCSTI to everyone (dev.tty.legacy_tiocsti = 0, Linux >= 6.2): pv-record's filter
 * covers the session's processes only, not those the vendor may have outside it (the user
 * manager pam_systemd starts). With session_recording = off the checks are skipped, saying
 * so. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "accounts.h"
#include "doctor.h"
#include "recording.h"
#include "safefile.h"

static bool recording_on(struct doctor *d)
{
	if (!d->have_config) {
		dr_skip(d, "the configuration could not be read");
		return false;
	}
	if (!d->ctl->cfg.recording_required) {
		dr_skip(d, "session_recording = off: vendor sessions are not recorded");
		return false;
	}
	return true;
}

static void check_recorder(struct doctor *d)
{
	struct pv_err err;
	char fix[2 * PATH_MAX + 128];

	if (!recording_on(d))
		return;
	if (pv_recording_check_recorder(d->ctl->cfg.recorder, &err) == PV_OK)
		return;
	snprintf(fix, sizeof(fix), "chown root:root %s && chmod 4755 %s (reinstall the package)",
	         d->ctl->cfg.recorder, d->ctl->cfg.recorder);
	dr_finding(d, DR_ERROR, "recording.recorder", fix, "%s: every vendor session is refused",
	           err.msg);
}

/* A vendor whose login shell is not the recorder could log in unrecorded, were pam_vendor
 * not to refuse its session. */
static void check_shells(struct doctor *d)
{
	struct pv_account acct;
	struct pv_err err;
	char id[96];
	char fix[2 * PATH_MAX + 128];
	size_t i;

	if (!recording_on(d))
		return;
	if (!d->have_vendors) {
		dr_skip(d, "the vendors could not be listed");
		return;
	}
	for (i = 0; i < d->n_vendors; i++) {
		const char *name = d->vendors[i].name;

		if (pv_account_lookup(name, &acct, &err) != PV_OK ||
		    strcmp(acct.shell, d->ctl->cfg.recorder) == 0)
			continue; /* no account: the accounts checks say so */
		snprintf(id, sizeof(id), "recording.%s.shell", name);
		snprintf(fix, sizeof(fix), "usermod -s %s %s", d->ctl->cfg.recorder, name);
		dr_finding(d, DR_ERROR, id, fix,
		           "vendor %s could log in unrecorded: its login shell is %s, not the "
		           "recorder (pam_vendor refuses its sessions until it is)",
		           name, acct.shell);
	}
}

static void check_space(struct doctor *d, int dirfd)
{
	const struct pv_config *cfg = &d->ctl->cfg;
	struct statvfs vfs;
	unsigned long long free_mib;
	char fix[2 * PATH_MAX + 128];

	if (fstatvfs(dirfd, &vfs) != 0) {
		dr_finding(d, DR_ERROR, "recording.space", NULL,
		           "cannot read the free space of %s: %s", cfg->recording_dir,
		           strerror(errno));
		return;
	}
	free_mib = (unsigned long long)vfs.f_bavail * vfs.f_frsize / (1024 * 1024);
	snprintf(fix, sizeof(fix),
	         "free space in %s (otpctl expire prunes recordings older "
	         "than recording_keep)",
	         cfg->recording_dir);
	if (free_mib < cfg->recording_min_free)
		dr_finding(d, DR_ERROR, "recording.space", fix,
		           "%s has %llu MiB free, below recording_min_free (%u MiB): every vendor "
		           "session is refused",
		           cfg->recording_dir, free_mib, cfg->recording_min_free);
	else if (free_mib < 2ull * cfg->recording_min_free)
		dr_finding(d, DR_WARNING, "recording.space", fix,
		           "%s has %llu MiB free, less than twice recording_min_free (%u MiB)",
		           cfg->recording_dir, free_mib, cfg->recording_min_free);
}

static void check_dir(struct doctor *d)
{
	const struct pv_config *cfg = &d->ctl->cfg;
	struct pv_err err;
	int dirfd;

	if (!recording_on(d))
		return;
	if (!pv_path_present(cfg->recording_dir)) {
		dr_skip(d, "%s does not exist yet (the first vendor session creates it)",
		        cfg->recording_dir);
		return;
	}
	dirfd = pv_open_dir(cfg->recording_dir, true, &err);
	if (dirfd < 0) {
		dr_core_finding(d, DR_ERROR, "recording.dir", err.msg, NULL);
		return;
	}
	check_space(d, dirfd);
	close(dirfd);
}

#define LEGACY_TIOCSTI "/proc/sys/dev/tty/legacy_tiocsti"

/* TIOCSTI lets a process push input into its controlling terminal around the recording;
 * Linux 6.2's dev.tty.legacy_tiocsti = 0 refuses it to every process but root's. */
static void check_tiocsti(struct doctor *d)
{
	char value[16] = "";
	FILE *f;

	if (!recording_on(d))
		return;
	f = fopen(LEGACY_TIOCSTI, "re");
	if (f == NULL && errno == ENOENT) {
		dr_skip(d, "this kernel has no dev.tty.legacy_tiocsti (Linux < 6.2): pv-record's "
		           "filter alone refuses TIOCSTI, in the vendors' sessions");
		return;
	}
	if (f == NULL || fgets(value, sizeof(value), f) == NULL) {
		dr_finding(d, DR_WARNING, "recording.tiocsti", NULL, "cannot read %s: %s",
		           LEGACY_TIOCSTI, f == NULL ? strerror(errno) : "empty");
		if (f != NULL)
			fclose(f);
		return;
	}
	fclose(f);
	if (strtol(value, NULL, 10) == 0)
		return;
	dr_finding(
	    d, DR_WARNING, "recording.tiocsti",
	    "sysctl -w dev.tty.legacy_tiocsti=0 && echo 'dev.tty.legacy_tiocsti = 0' > "
	    "/etc/sysctl.d/60-pam_vendor.conf",
	    "dev.tty.legacy_tiocsti is 1: a vendor process outside its recorded session (one "
	    "started through the user manager: systemd-run --user) may push input into a "
	    "terminal around the recording");
}

const struct dr_check dr_recording_checks[] = {
    {"recording.recorder", check_recorder},
    {"recording.shells", check_shells},
    {"recording.dir", check_dir},
    {"recording.tiocsti", check_tiocsti},
    {NULL, NULL},
};

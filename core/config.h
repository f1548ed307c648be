/* SPDX-License-Identifier: BSD-3-Clause */
/* config.h — pam_vendor.conf, read by both the module and otpctl.
 * "key = value" lines, '#' comments; unknown keys, duplicates and bad values are errors that
 * name the file and line. The file must pass the strict file checks (safefile.h). */
#ifndef PV_CONFIG_H
#define PV_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define PV_DEFAULT_CONFIG "/etc/pam_vendor/pam_vendor.conf"
/* Where `make install` and the package put the recorder (overridable at build time). */
#ifndef PV_RECORDER_PATH
#define PV_RECORDER_PATH "/usr/libexec/pam_vendor/pv-record"
#endif

enum pv_unknown_user { PV_UNKNOWN_IGNORE = 0, PV_UNKNOWN_DENY = 1 };
enum pv_store_backend { PV_STORE_FILE = 0, PV_STORE_POSTGRESQL = 1 };

struct pv_config {
	char store_dir[PATH_MAX];
	char key_file[PATH_MAX];
	char audit_log[PATH_MAX];
	char session_dir[PATH_MAX]; /* live vendor sessions (sshd monitor PIDs) for otpctl expire */
	/* The keys view otpctl writes for pam_vendor-keys (keysview.h); skipped while its
	 * directory does not exist. */
	char keys_view[PATH_MAX];
	unsigned otp_length;   /* digits of an issued code, 6..12 */
	int64_t otp_ttl;       /* seconds an issued code stays valid */
	unsigned max_failures; /* wrong codes before the vendor is locked, 1..1000 */
	int64_t max_window;    /* longest window `enable` accepts without --force */
	enum pv_unknown_user unknown_user;
	char vendor_group[64]; /* empty: none */
	int64_t fail_delay;    /* seconds libpam waits after a failed code, 0..60 */
	int64_t lock_timeout;  /* seconds to wait for a vendor's lock before denying, 1..60 */
	char totp_issuer[64];  /* issuer shown in the authenticator app */
	enum pv_store_backend store_backend;
	char pg_conninfo[1024];       /* libpq connection string; never a password */
	bool pg_allow_unverified_tls; /* accept a TCP pg_conninfo without sslmode=verify-full */
	int64_t pg_timeout;           /* seconds for connecting and for each statement, 1..60 */
	int64_t warn_before;      /* seconds before a window ends to warn live sessions; 0: never */
	int64_t audit_seal_epoch; /* seconds an audit sealing epoch lasts (audit_seal.h) */
	char openvpn_management[PATH_MAX]; /* OpenVPN's management unix socket; "": none */
	/* Session recording (recording.h): every vendor terminal session, or none. */
	bool recording_required;      /* session_recording = required (default) | off */
	char recording_dir[PATH_MAX]; /* root, 0700: ID.timing, ID.in, ID.out */
	char recorder[PATH_MAX];      /* the vendors' login shell: pv-record, set-uid root */
	char vendor_shell[PATH_MAX];  /* the shell pv-record runs as the vendor */
	unsigned recording_min_free;  /* MiB free in recording_dir below which sessions fail */
	int64_t recording_keep;       /* seconds a finished recording is kept */
	/* Not from the file: the directories the loading call holds open (safefile.h), which
	 * the store, the serials and the audit log are opened through; NULL: none held. */
	struct pv_dirs *dirs;
};

void pv_config_defaults(struct pv_config *cfg);

/* Load defaults, then the file at path (checked: root-owned, not group/world-writable,
 * regular, no symlink in the path). Returns PV_OK or PV_ERR with err naming file and line. */
int pv_config_load(const char *path, struct pv_config *cfg, struct pv_err *err);

/* The same through the call's held directories (safefile.h), which cfg->dirs then names. */
struct pv_dirs;
int pv_config_load_in(struct pv_dirs *dirs, const char *path, struct pv_config *cfg,
                      struct pv_err *err);

/* Parse config text already read (the file checks are the caller's). `origin` names the
 * source in messages. Exposed for unit tests and fuzzing. */
int pv_config_parse(const char *text, size_t len, const char *origin, struct pv_config *cfg,
                    struct pv_err *err);

#endif

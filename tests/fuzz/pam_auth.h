/* SPDX-License-Identifier: BSD-3-Clause */
/* pam_auth.h — what the parts of the fuzz_pam_auth harness share: the parsed fuzz input
 * (pam_auth_input.c), the fake PAM handle and the fault plan the -Wl,--wrap replacements serve
 * (pam_auth_wrap.c), the scratch tree the module reads (pam_auth_world.c), and the transaction
 * that fuzz_pam_auth.c runs and pam_auth_check.c checks. Test code only: this global state never
 * reaches the module's own sources. */
#ifndef PV_FUZZ_PAM_AUTH_H
#define PV_FUZZ_PAM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <security/pam_modules.h>

#include "config.h"
#include "keys.h"
#include "otp.h"
#include "record.h"

#define FZ_NOW      INT64_C(1795608000) /* 2026-11-25T12:00:00Z, a Wednesday */
#define FZ_LIST_MAX 16
#define FZ_CODE_MAX 8
#define FZ_STEP_MAX 16
#define FZ_LOG_MAX  256
#define FZ_DATA_MAX 16
#define FZ_GID      4242 /* the fake group "pvfuzz" */

/* --- the fuzz input (pam_auth_input.c; the format is documented there) --- */

enum fz_code_state {
	FZ_CODE_VALID,   /* unused, expires in 10 minutes */
	FZ_CODE_LAST,    /* unused, expires in 1 second */
	FZ_CODE_EDGE,    /* unused, expires exactly now: no longer valid */
	FZ_CODE_USED,    /* used 100 s ago */
	FZ_CODE_EXPIRED, /* expired a minute ago */
	FZ_CODE_OLD,     /* expired two days ago: pruned on the next save */
};

struct fz_code {
	enum fz_code_state state;
	char digits[PV_OTP_MAX_LEN + 1];
	unsigned char hash[PV_CODE_HASH_BYTES];
};

enum fz_step_kind {
	FZ_AUTH,
	FZ_ACCOUNT,
	FZ_OPEN,
	FZ_CLOSE,
	FZ_SETCRED,
	FZ_CHAUTHTOK,
	FZ_NEWHANDLE, /* pam_end (cleanups run), then a fresh handle with the same items */
	FZ_SETUSER,   /* PAM_USER changes on this handle */
	FZ_SETRHOST,  /* PAM_RHOST changes on this handle */
};

struct fz_step {
	enum fz_step_kind kind;
	const char *arg;
};

/* File-system calls the module makes that a fault can hit. */
enum fz_syscall {
	FZ_SYS_OPEN,
	FZ_SYS_OPENAT,
	FZ_SYS_READ,
	FZ_SYS_PREAD,
	FZ_SYS_WRITE,
	FZ_SYS_PWRITE,
	FZ_SYS_FSYNC,
	FZ_SYS_FDATASYNC,
	FZ_SYS_RENAMEAT,
	FZ_SYS_FLOCK,
	FZ_SYS_FTRUNCATE,
	FZ_SYS_UNLINKAT,
	FZ_SYS_MKDIRAT,
	FZ_SYS_FSTAT,
	FZ_SYS_COUNT
};

struct fz_fault {
	enum fz_syscall call;
	unsigned nth; /* 0-based, counted over the whole transaction */
	int err;      /* errno the failing call sets */
	bool always;  /* every call from the nth on fails, not just the nth */
};

/* libpam functions the input can make fail (bits). */
enum {
	FZ_FAIL_GET_ITEM = 1,
	FZ_FAIL_SET_DATA = 2,
	FZ_FAIL_GET_DATA = 4,
};

/* A file or directory of the scratch tree the input damages, and how. */
enum fz_target {
	FZ_T_CONFIG,
	FZ_T_KEY,
	FZ_T_STOREDIR,
	FZ_T_RECORD,
	FZ_T_LOCK,
	FZ_T_AUDITDIR,
	FZ_T_AUDITLOG,
	FZ_T_AUDITHEAD,
	FZ_T_SESSIONDIR,
	FZ_T_COUNT
};

enum fz_damage {
	FZ_D_MISSING,
	FZ_D_WRITABLE, /* group/world-writable (0666 / 0777) */
	FZ_D_READABLE, /* group/world-readable (0644 / 0755) */
	FZ_D_OWNER,    /* owned by uid 1 */
	FZ_D_SYMLINK,  /* replaced by a symlink to a copy */
	FZ_D_GARBAGE,  /* replaced by bytes that are no valid content */
	FZ_D_TRUNCATED,
	FZ_D_OTHERNAME, /* the record: sealed for another vendor */
	FZ_D_DIR,       /* a file replaced by a directory, a directory by a file */
	FZ_D_NOHEAD,    /* the audit log: a line but no head */
	FZ_D_COUNT
};

struct fz_break {
	enum fz_target target;
	enum fz_damage damage;
};

struct fz_input {
	char *buf; /* the input as NUL-terminated lines; every string below points into it */
	/* the vendor's record */
	const char *vendor;
	bool norecord;
	int64_t clock;              /* seconds added to FZ_NOW */
	int64_t win_start, win_end; /* relative to now; both 0: no window */
	const char *ips[FZ_LIST_MAX];
	size_t n_ips;
	const char *window_ips[FZ_LIST_MAX];
	size_t n_window_ips;
	const char *hours;
	unsigned failures;
	bool locked;
	struct fz_code codes[FZ_CODE_MAX];
	size_t n_codes;
	bool totp;
	bool totp_last_set;
	int64_t totp_last; /* relative to the current step */
	/* configuration and module arguments */
	unsigned otp_length;   /* 0: the default */
	unsigned max_failures; /* 0: the harness's 3 */
	const char *unknown_user;
	const char *conf_group;
	const char *conf[FZ_LIST_MAX];
	size_t n_conf;
	const char *args[FZ_LIST_MAX];
	size_t n_args;
	/* the PAM transaction */
	const char *user;  /* NULL: the vendor; "!fail", "!null" */
	const char *rhost; /* NULL: unset */
	const char *service;
	const char *tty;
	const char *authinfo;
	const char *authtok; /* NULL: unset */
	const char *answers[FZ_LIST_MAX];
	size_t n_answers;
	struct fz_step steps[FZ_STEP_MAX];
	size_t n_steps;
	/* the environment */
	const char *members[FZ_LIST_MAX];
	size_t n_members;
	const char *primaries[FZ_LIST_MAX];
	size_t n_primaries;
	bool nss_fail;
	size_t nss_min_buf;
	struct fz_fault faults[2];
	size_t n_faults;
	unsigned pamfail;
	struct fz_break breaks[4];
	size_t n_breaks;
	char tokens[FZ_LIST_MAX + 1][80]; /* resolved @ tokens */
	size_t n_tokens;
};

void fz_input_parse(const uint8_t *data, size_t size, struct fz_input *in);
void fz_input_free(struct fz_input *in);
/* An answer or PAM_AUTHTOK with its @ symbol resolved against the input's codes (their digits
 * are known once fz_world_setup ran) and the TOTP at `now`; other text as it is. */
const char *fz_input_token(struct fz_input *in, const char *tok, int64_t now);

/* --- the fake PAM handle (pam_auth_wrap.c serves it to the module) --- */

struct fz_data {
	char *name;
	void *data;
	void (*cleanup)(pam_handle_t *pamh, void *data, int error_status);
};

struct fz_handle {
	const char *user; /* "!fail": pam_get_user fails; "!null": it returns NULL */
	const char *service;
	const char *rhost;
	const char *tty;
	const char *authtok;
	const char *authinfo;
	struct pam_conv conv;
	struct fz_data data[FZ_DATA_MAX];
	size_t n_data;
};

/* What the wrappers see and do; reset for every input. */
struct fz_env {
	struct fz_handle *handle; /* the only handle the module may use */
	bool armed;               /* inside a pam_sm_* call: clock fixed, faults live */
	int64_t now;
	const struct fz_input *in;
	unsigned calls[FZ_SYS_COUNT];
	unsigned faults_fired;
	char *log[FZ_LOG_MAX]; /* every pam_syslog/pam_vsyslog message of the transaction */
	size_t n_log;
	/* The conversation: answers in order (symbols resolved), the last one repeating. */
	const char *answers[FZ_LIST_MAX];
	size_t n_answers;
	size_t next_answer;
	/* What the conversation gave during the current module call. */
	unsigned conv_calls;
	const char *given[FZ_LIST_MAX];
	size_t n_given;
};

extern struct fz_env fz;

/* The application's conversation function (answers from fz.answers). */
int fz_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata);
/* Run the cleanups of every pam_set_data entry (pam_end) and empty the handle's data. */
void fz_handle_end(struct fz_handle *h);
/* Free the captured syslog messages. */
void fz_log_reset(void);

/* --- the scratch tree (pam_auth_world.c) --- */

struct fz_world {
	char root[64];
	char config_path[128];
	struct pv_config cfg; /* the harness's own view: the scratch paths, defaults */
	struct pv_keys keys;
	char key_hex[2 * PV_KEY_BYTES + 1];
	/* per input */
	char *config_text;
	bool config_parses; /* the text parses (pv_config_parse) */
	bool config_named;  /* the module's config= names that file */
	struct pv_config parsed;
	bool have_record;
	struct pv_record *rec0; /* the record as the harness wrote it */
	unsigned blocks;        /* FZ_B_* bits of the damage done */
	bool damaged;           /* any damage was done */
	const char *argv[FZ_LIST_MAX + 1];
	char *argv_store[FZ_LIST_MAX + 1];
	int argc;
	bool unknown_arg;
	bool use_first_pass, try_first_pass;
};

/* What a damage stops (bits of fz_world.blocks). */
enum {
	FZ_B_CLASSIFY = 1, /* config, key or store unusable: no vendor is served */
	FZ_B_AUDIT = 2,    /* no audit line can be written */
	FZ_B_LOAD = 4,     /* the record cannot be read */
	FZ_B_LOCK = 8,     /* the record's lock cannot be taken */
	FZ_B_SESSION = 16, /* no session record can be written */
};

void fz_world_init(struct fz_world *w);
void fz_world_setup(struct fz_world *w, struct fz_input *in);
void fz_world_teardown(struct fz_world *w);
/* The record on disk as the harness reads it; false when it cannot be read. */
bool fz_world_load(struct fz_world *w, const char *vendor, struct pv_record *rec);
/* The audit log's bytes (malloc'd, NUL-terminated; NULL when absent). */
char *fz_world_audit(const struct fz_world *w, size_t *len);
/* Number of entries in the session directory (-1 when it cannot be read). */
int fz_world_sessions(const struct fz_world *w);

/* The TOTP of the harness's fixed secret at step `step` (6 digits). */
void fz_totp_at(int64_t step, char out[PV_OTP_MAX_LEN + 1]);
extern const unsigned char fz_totp_secret[PV_TOTP_SECRET_BYTES];

/* --- the transaction (fuzz_pam_auth.c runs it, pam_auth_check.c checks it) --- */

struct auth_seen {
	const char *user;
	int rc;
};

/* The transaction: the input, the handle, and what the harness knows independently. */
struct run {
	struct fz_input in;
	struct fz_handle h;
	bool consumed[FZ_CODE_MAX];          /* codes accepted in this transaction */
	int64_t totp_max;                    /* highest TOTP step accepted in this transaction */
	struct auth_seen auths[FZ_STEP_MAX]; /* pam_sm_authenticate results on this handle */
	size_t n_auths;
	bool session_open; /* an open succeeded on this handle and no close since */
	char *audit;       /* the audit log after the last call */
	size_t audit_len;
	enum fz_step_kind prev_kind;
	int prev_rc;
};

/* One module call: the state before it and what it did. */
struct call {
	enum fz_step_kind kind;
	int rc;
	size_t log0;
	unsigned faults0;
	struct pv_record *before, *after; /* NULL: could not be read */
	char *old_audit;
	size_t old_len;
	int sessions0;
	unsigned allow_lines;
	const char *first; /* the first token the module will check, known before the call */
};

extern struct fz_world fz_tree;
extern const char *const fz_event_of[];

/* The first token the module will check (PAM_AUTHTOK or the next answer), asked before a call. */
const char *fz_first_token(const struct run *r);
/* Everything that must hold after one module call; updates what the harness knows. */
void fz_check_call(struct run *r, struct call *c);
/* Everything that must hold at the end of the transaction (secrets, log text, audit chain). */
void fz_check_end(const struct run *r);

#endif

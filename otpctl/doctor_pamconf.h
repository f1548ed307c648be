/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_pamconf.h — a PAM service's stacks as Linux-PAM builds them (for otpctl doctor):
 * one flat list of entries per type after `@include`, `include` and `substack` expansion,
 * each entry with the action Linux-PAM takes for every return value. Only reads files. */
#ifndef OTPCTL_DOCTOR_PAMCONF_H
#define OTPCTL_DOCTOR_PAMCONF_H

#include <stdbool.h>
#include <stddef.h>

#include <security/_pam_types.h>

enum dr_pam_type { DR_PAM_AUTH = 0, DR_PAM_ACCOUNT = 1, DR_PAM_SESSION = 2, DR_PAM_NTYPES = 3 };

/* Actions, as Linux-PAM numbers them; a jump over N modules is N > 0. */
enum {
	DR_ACT_IGNORE = 0,
	DR_ACT_OK = -1,
	DR_ACT_DONE = -2,
	DR_ACT_BAD = -3,
	DR_ACT_DIE = -4,
	DR_ACT_RESET = -5,
	DR_ACT_UNDEF = -6,
};

struct dr_pam_entry {
	const char *file;  /* the file the line is in (owned by struct dr_pam) */
	unsigned line;     /* its first line there */
	unsigned top_line; /* line of the service file that brought it in (itself, or an include) */
	int level;         /* substack depth: 0 is the service's own stack */
	bool substack;     /* a "substack" line: its entries follow at level + 1 */
	bool must_fail;    /* a line Linux-PAM cannot use: it always returns PAM_PERM_DENIED */
	bool vendor;       /* the module is pam_vendor.so */
	char text[200];    /* "auth sufficient pam_unix.so": the line without its arguments */
	char args[512];    /* its arguments as written ("" when none): read by doctor_schedule.c */
	int actions[_PAM_RETURN_VALUES];
};

struct dr_pam_stack {
	struct dr_pam_entry *e;
	size_t n;
};

struct dr_pam {
	char service_file[4096];
	struct dr_pam_stack stack[DR_PAM_NTYPES];
	char **files; /* names of every file read (entries point into them) */
	size_t n_files;
	/* The first file that could not be read through an include (empty: none). */
	char include_problem[1536];
};

/* Parse dir/service. Returns PV_OK (include problems are in pam->include_problem),
 * PV_NOTFOUND when the service file does not exist, PV_ERR when it cannot be read or memory
 * runs out (err says why). */
int dr_pam_load(const char *dir, const char *service, struct dr_pam **out, char *err,
                size_t err_len);
void dr_pam_free(struct dr_pam *pam);

const char *dr_pam_type_name(enum dr_pam_type type);
/* "success", "auth_err", ... for a return value; "default" out of range. */
const char *dr_pam_value_name(int value);

#endif

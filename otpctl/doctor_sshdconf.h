/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_sshdconf.h — where a setting of sshd's configuration comes from (for otpctl doctor):
 * the setting lines of sshd_config and the files it includes, in the order sshd reads them,
 * each with its file, line and whether a Match block governs it. Only reads files. */
#ifndef OTPCTL_DOCTOR_SSHDCONF_H
#define OTPCTL_DOCTOR_SSHDCONF_H

#include <stdbool.h>
#include <stddef.h>

struct dr_sshd_line {
	const char *file; /* owned by struct dr_sshd_conf */
	unsigned line;
	char keyword[48];       /* lower case: "kbdinteractiveauthentication" */
	char value[512];        /* its words, one space between them, quotes removed */
	const char *match_file; /* the Match line that governs it; NULL: none (global) */
	unsigned match_line;
};

struct dr_sshd_conf {
	struct dr_sshd_line *lines;
	size_t n;
	char **files; /* every file read (lines point into them) */
	size_t n_files;
};

/* Read main_file and its includes. PV_OK, or PV_ERR when memory runs out (a file that cannot
 * be read is skipped: sshd -T has already said whether it can read its configuration). */
int dr_sshd_conf_load(const char *main_file, struct dr_sshd_conf **out);
void dr_sshd_conf_free(struct dr_sshd_conf *conf);

/* The line whose value sshd -T (without -C) shows for one of keywords (lower case, NULL
 * ended): the first line outside any Match block. NULL: none sets it (sshd's default). */
const struct dr_sshd_line *dr_sshd_global_source(const struct dr_sshd_conf *conf,
                                                 const char *const keywords[]);

/* The line a connection's value most likely comes from, given the value sshd -T -C shows:
 * the first line in a Match block with that value (sshd applies a matching block over the
 * global settings), else the first global line with it. NULL: no line has that value. */
const struct dr_sshd_line *dr_sshd_value_source(const struct dr_sshd_conf *conf,
                                                const char *keyword, const char *value);

#endif

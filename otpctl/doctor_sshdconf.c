/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_sshdconf.c — read sshd's configuration the way OpenSSH 9 (servconf.c) does, so that
 * a doctor finding can name the file and line that sets the value `sshd -T` shows:
 *  - "Keyword value..." or "Keyword=value"; keywords in any case; blank lines and lines
 *    starting with '#' skipped; a word starting with '#' ends the line; double quotes group;
 *  - `Include PATTERN...`: each pattern's files (glob, lexical order) read in place; relative
 *    names are under /etc/ssh; an included file starts in the Match state of its Include line
 *    and cannot change the including file's (sshd restores it after the Include);
 *  - `Match ...` governs the lines after it, to the next Match or the end of its file;
 *  - sshd keeps the first value it reads for a setting: the first line wins.
 * Match conditions are not evaluated here: sshd -T -C does that, and this reader only says
 * where the value it shows comes from. */
#include "doctor_sshdconf.h"

#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"

#define SSH_DIR   "/etc/ssh" /* where sshd looks for a relative Include name */
#define MAX_DEPTH 16         /* sshd's limit on nested Include */
#define MAX_WORDS 64

struct match_state {
	const char *file; /* NULL: outside any Match block */
	unsigned line;
};

struct reader {
	struct dr_sshd_conf *conf;
	bool failed; /* out of memory: the result would be incomplete */
};

/* Split a line into words as sshd does: whitespace separates them, one '=' may separate the
 * keyword from its value, double quotes group, a word starting with '#' ends the line. */
static size_t split_words(char *line, char *words[], size_t max)
{
	char *p = line;
	size_t n = 0;

	while (n < max) {
		while (isspace((unsigned char)*p) || (n == 1 && *p == '='))
			p++;
		if (*p == '\0' || *p == '#')
			break;
		if (*p == '"') {
			words[n++] = ++p;
			p += strcspn(p, "\"");
		} else {
			words[n++] = p;
			p += strcspn(p, n == 1 ? " \t\r\n=" : " \t\r\n");
		}
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	return n;
}

static const char *keep_name(struct reader *r, const char *path)
{
	char **grown;
	char *copy = strdup(path);

	grown =
	    copy != NULL ? realloc(r->conf->files, (r->conf->n_files + 1) * sizeof(*grown)) : NULL;
	if (grown == NULL) {
		free(copy);
		r->failed = true;
		return NULL;
	}
	r->conf->files = grown;
	grown[r->conf->n_files++] = copy;
	return copy;
}

static void add_line(struct reader *r, const char *file, unsigned line, char *words[], size_t n,
                     struct match_state match)
{
	struct dr_sshd_line *grown;
	struct dr_sshd_line *l;
	size_t used = 0;
	size_t i;

	grown = realloc(r->conf->lines, (r->conf->n + 1) * sizeof(*grown));
	if (grown == NULL) {
		r->failed = true;
		return;
	}
	r->conf->lines = grown;
	l = &grown[r->conf->n++];
	memset(l, 0, sizeof(*l));
	l->file = file;
	l->line = line;
	l->match_file = match.file;
	l->match_line = match.line;
	snprintf(l->keyword, sizeof(l->keyword), "%s", words[0]);
	for (i = 0; l->keyword[i] != '\0'; i++)
		l->keyword[i] = (char)tolower((unsigned char)l->keyword[i]);
	for (i = 1; i < n && used < sizeof(l->value); i++) {
		int w = snprintf(l->value + used, sizeof(l->value) - used, "%s%s", i > 1 ? " " : "",
		                 words[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

static void read_file(struct reader *r, const char *path, struct match_state match, int depth);

static void include(struct reader *r, char *words[], size_t n, struct match_state match, int depth)
{
	char pattern[4096];
	glob_t g;
	size_t i;
	size_t k;

	for (i = 1; i < n; i++) {
		if (words[i][0] == '/' || words[i][0] == '~')
			snprintf(pattern, sizeof(pattern), "%s", words[i]);
		else
			snprintf(pattern, sizeof(pattern), "%s/%s", SSH_DIR, words[i]);
		memset(&g, 0, sizeof(g));
		if (glob(pattern, 0, NULL, &g) == 0)
			for (k = 0; k < g.gl_pathc; k++)
				read_file(r, g.gl_pathv[k], match, depth + 1);
		globfree(&g);
	}
}

static void read_file(struct reader *r, const char *path, struct match_state match, int depth)
{
	char *words[MAX_WORDS];
	const char *name;
	char *text = NULL;
	size_t cap = 0;
	unsigned line = 0;
	size_t n;
	FILE *f;

	if (depth > MAX_DEPTH || r->failed)
		return;
	f = fopen(path, "re");
	if (f == NULL)
		return;
	name = keep_name(r, path);
	while (name != NULL && !r->failed && getline(&text, &cap, f) >= 0) {
		line++;
		n = split_words(text, words, MAX_WORDS);
		if (n == 0)
			continue;
		if (strcasecmp(words[0], "include") == 0) {
			include(r, words, n, match, depth);
		} else if (strcasecmp(words[0], "match") == 0) {
			match.file = name;
			match.line = line;
		} else {
			add_line(r, name, line, words, n, match);
		}
	}
	free(text);
	(void)fclose(f);
}

int dr_sshd_conf_load(const char *main_file, struct dr_sshd_conf **out)
{
	struct match_state global = {NULL, 0};
	struct reader r;

	*out = NULL;
	r.failed = false;
	r.conf = calloc(1, sizeof(*r.conf));
	if (r.conf == NULL)
		return PV_ERR;
	read_file(&r, main_file, global, 0);
	if (r.failed) {
		dr_sshd_conf_free(r.conf);
		return PV_ERR;
	}
	*out = r.conf;
	return PV_OK;
}

void dr_sshd_conf_free(struct dr_sshd_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->n_files; i++)
		free(conf->files[i]);
	free(conf->files);
	free(conf->lines);
	free(conf);
}

static bool keyword_in(const char *keyword, const char *const keywords[])
{
	size_t i;

	for (i = 0; keywords[i] != NULL; i++)
		if (strcmp(keyword, keywords[i]) == 0)
			return true;
	return false;
}

const struct dr_sshd_line *dr_sshd_global_source(const struct dr_sshd_conf *conf,
                                                 const char *const keywords[])
{
	size_t i;

	for (i = 0; conf != NULL && i < conf->n; i++)
		if (conf->lines[i].match_file == NULL &&
		    keyword_in(conf->lines[i].keyword, keywords))
			return &conf->lines[i];
	return NULL;
}

const struct dr_sshd_line *dr_sshd_value_source(const struct dr_sshd_conf *conf,
                                                const char *keyword, const char *value)
{
	const struct dr_sshd_line *global = NULL;
	size_t i;

	for (i = 0; conf != NULL && i < conf->n; i++) {
		const struct dr_sshd_line *l = &conf->lines[i];

		if (strcmp(l->keyword, keyword) != 0 || strcasecmp(l->value, value) != 0)
			continue;
		if (l->match_file != NULL)
			return l;
		if (global == NULL)
			global = l;
	}
	return global;
}

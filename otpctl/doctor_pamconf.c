/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_pamconf.c — read a PAM service file the way Linux-PAM 1.5 (Debian 12) does, so that
 * the doctor judges the stack libpam will really run:
 *  - a line is "[-]type control module [args]"; blank lines and lines whose first non-blank
 *    character is '#' are skipped; any other '#' ends the line; a line ending with '\' goes
 *    on with the next one;
 *  - `@include FILE` brings in FILE's lines of the type being built; `type include FILE` the
 *    same for one type; `type substack FILE` too, one level deeper (a substack line is kept as
 *    a marker: a jump in the parent stack counts the whole substack as one module);
 *  - relative names are looked up in the directory of the service file;
 *  - the control keywords and the [value=action ...] syntax give every return value an action,
 *    with Linux-PAM's own rules (tokens matched by prefix, "default" filling what is unset,
 *    a syntax error making every action "bad", unset values "bad");
 *  - a line libpam cannot use (unknown type, no control, no module, unreadable include) is
 *    kept as an entry that always fails, as libpam does. */
#include "doctor_pamconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "err.h"

#define MAX_INCLUDE_LEVEL 16 /* Linux-PAM's PAM_SUBSTACK_MAX_LEVEL */
#define DIST_DIR          "/usr/lib/pam.d"

static const char *const return_tokens[_PAM_RETURN_VALUES + 1] = {
    "success",
    "open_err",
    "symbol_err",
    "service_err",
    "system_err",
    "buf_err",
    "perm_denied",
    "auth_err",
    "cred_insufficient",
    "authinfo_unavail",
    "user_unknown",
    "maxtries",
    "new_authtok_reqd",
    "acct_expired",
    "session_err",
    "cred_unavail",
    "cred_expired",
    "cred_err",
    "no_module_data",
    "conv_err",
    "authtok_err",
    "authtok_recover_err",
    "authtok_lock_busy",
    "authtok_disable_aging",
    "try_again",
    "ignore",
    "abort",
    "authtok_expired",
    "module_unknown",
    "bad_item",
    "conv_again",
    "incomplete",
    "default",
};

/* Index i is action -i. */
static const char *const action_tokens[] = {"ignore", "ok", "done", "bad", "die", "reset"};
#define N_ACTIONS (int)(sizeof(action_tokens) / sizeof(action_tokens[0]))

static const char *const type_names[DR_PAM_NTYPES] = {"auth", "account", "session"};

const char *dr_pam_type_name(enum dr_pam_type type)
{
	return (unsigned)type < DR_PAM_NTYPES ? type_names[type] : "?";
}

const char *dr_pam_value_name(int value)
{
	return (value >= 0 && value < _PAM_RETURN_VALUES) ? return_tokens[value] : "default";
}

struct loader {
	struct dr_pam *pam;
	const char *dir;
	enum dr_pam_type type;
	size_t cap[DR_PAM_NTYPES];
	bool out_of_memory;
};

static void set_default(int *actions, int action)
{
	int i;

	for (i = 0; i < _PAM_RETURN_VALUES; i++)
		if (actions[i] == DR_ACT_UNDEF)
			actions[i] = action;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Linux-PAM's _pam_parse_control, step for step (the contents of "[...]"). */
static void parse_control(int *actions, const char *tok)
{
	int ret;
	int act;
	size_t len;

	while (*tok != '\0') {
		while (is_space(*tok))
			tok++;
		if (*tok == '\0')
			break;
		for (ret = 0; ret <= _PAM_RETURN_VALUES; ++ret) {
			len = strlen(return_tokens[ret]);
			if (strncmp(return_tokens[ret], tok, len) == 0)
				break;
		}
		if (ret > _PAM_RETURN_VALUES || *(tok += len) == '\0')
			goto parse_error;
		while (is_space(*tok))
			tok++;
		if (*tok != '=')
			goto parse_error;
		tok++;
		while (is_space(*tok))
			tok++;
		if (*tok == '\0')
			goto parse_error;
		for (act = 0; act < N_ACTIONS; ++act) {
			len = strlen(action_tokens[act]);
			if (strncmp(action_tokens[act], tok, len) == 0) {
				act = -act;
				tok += len;
				break;
			}
		}
		if (act > 0) {
			if (*tok < '0' || *tok > '9')
				goto parse_error;
			act = 0;
			do {
				if (act > 100000)
					goto parse_error; /* no stack is that long */
				act = act * 10 + (*tok - '0');
				tok++;
			} while (*tok >= '0' && *tok <= '9');
			if (act == 0)
				goto parse_error;
		}
		if (ret != _PAM_RETURN_VALUES)
			actions[ret] = act;
		else
			set_default(actions, act);
	}
	return;
parse_error:
	for (ret = 0; ret < _PAM_RETURN_VALUES; ret++)
		actions[ret] = DR_ACT_BAD;
}

/* Linux-PAM's _pam_StrTok with " \n\t": "[...]" is one token (brackets removed, "\]" kept as
 * "]"). *bracketed tells which kind it was. */
static char *next_token(char **next, bool *bracketed)
{
	char *from = *next;
	char *end;
	char *to;

	*bracketed = false;
	if (from == NULL)
		return NULL;
	while (*from == ' ' || *from == '\n' || *from == '\t')
		from++;
	if (*from == '[') {
		*bracketed = true;
		for (to = end = ++from; *end != '\0' && *end != ']'; ++to, ++end) {
			if (*end == '\\' && end[1] == ']')
				++end;
			if (to != end)
				*to = *end;
		}
		if (to != end)
			*to = '\0';
	} else if (*from != '\0') {
		for (end = from; *end != '\0' && *end != ' ' && *end != '\n' && *end != '\t'; ++end)
			;
	} else {
		*next = NULL;
		return NULL;
	}
	if (*end != '\0')
		*end++ = '\0';
	*next = (*end != '\0') ? end : NULL;
	return from;
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t want = (*len + n + 1) * 2;
		char *grown = realloc(*buf, want);

		if (grown == NULL)
			return -1;
		*buf = grown;
		*cap = want;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

struct reader {
	FILE *f;
	char *phys;
	size_t phys_cap;
	unsigned lineno; /* physical lines read */
	char *line;      /* the logical line */
	size_t line_len;
	size_t line_cap;
	unsigned first; /* its first physical line */
};

/* One logical line (Linux-PAM 1.5's _pam_assemble_line). 1: a line, 0: end, -1: error. */
static int read_line(struct reader *r)
{
	bool have = false;

	r->line_len = 0;
	if (append(&r->line, &r->line_len, &r->line_cap, "", 0) != 0)
		return -1;
	for (;;) {
		ssize_t n = getline(&r->phys, &r->phys_cap, r->f);
		char *s;
		char *end;
		char *hash;

		if (n < 0)
			return ferror(r->f) ? -1 : (have ? 1 : 0);
		r->lineno++;
		s = r->phys + strspn(r->phys, " \n\t");
		if (*s == '\0' || *s == '#')
			continue;
		if (!have) {
			r->first = r->lineno;
			have = true;
		}
		hash = strchr(s, '#');
		if (hash != NULL) {
			*hash = '\0';
			return append(&r->line, &r->line_len, &r->line_cap, s, strlen(s)) ? -1 : 1;
		}
		end = s + strlen(s);
		while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
			end--;
		if (end > s && end[-1] == '\\') {
			end[-1] = ' ';
			if (append(&r->line, &r->line_len, &r->line_cap, s, (size_t)(end - s)) != 0)
				return -1;
			continue;
		}
		return append(&r->line, &r->line_len, &r->line_cap, s, (size_t)(end - s)) ? -1 : 1;
	}
}

/* Keep one copy of each file name; entries point to it. */
static const char *intern_file(struct loader *ld, const char *path)
{
	struct dr_pam *pam = ld->pam;
	char **grown;
	size_t i;

	for (i = 0; i < pam->n_files; i++)
		if (strcmp(pam->files[i], path) == 0)
			return pam->files[i];
	grown = realloc(pam->files, (pam->n_files + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	pam->files = grown;
	pam->files[pam->n_files] = strdup(path);
	if (pam->files[pam->n_files] == NULL)
		return NULL;
	return pam->files[pam->n_files++];
}

static struct dr_pam_entry *new_entry(struct loader *ld, const char *file, unsigned line,
                                      unsigned top_line, int level)
{
	struct dr_pam_stack *st = &ld->pam->stack[ld->type];
	struct dr_pam_entry *e;
	int i;

	if (st->n == ld->cap[ld->type]) {
		size_t want = ld->cap[ld->type] ? ld->cap[ld->type] * 2 : 16;
		struct dr_pam_entry *grown = realloc(st->e, want * sizeof(*grown));

		if (grown == NULL) {
			ld->out_of_memory = true;
			return NULL;
		}
		st->e = grown;
		ld->cap[ld->type] = want;
	}
	e = &st->e[st->n++];
	memset(e, 0, sizeof(*e));
	e->file = file;
	e->line = line;
	e->top_line = top_line;
	e->level = level;
	for (i = 0; i < _PAM_RETURN_VALUES; i++)
		e->actions[i] = DR_ACT_UNDEF;
	return e;
}

/* Where libpam finds an included file. */
static int resolve(const struct loader *ld, const char *name, char *path, size_t len)
{
	int n;

	if (name[0] == '/')
		n = snprintf(path, len, "%s", name);
	else
		n = snprintf(path, len, "%s/%s", ld->dir, name);
	if (n < 0 || (size_t)n >= len)
		return -1;
	/* Without a directory of its own, libpam also looks in /usr/lib/pam.d. */
	if (name[0] != '/' && strcmp(ld->dir, "/etc/pam.d") == 0 && access(path, F_OK) != 0) {
		char dist[4096];

		n = snprintf(dist, sizeof(dist), "%s/%s", DIST_DIR, name);
		if (n > 0 && (size_t)n < sizeof(dist) && access(dist, F_OK) == 0)
			snprintf(path, len, "%s", dist);
	}
	return 0;
}

static int load_file(struct loader *ld, const char *path, int include_level, int stack_level,
                     unsigned top_line, char *why, size_t why_len);

/* An include, @include or substack line: read the file, or keep a failing entry. */
static void include_file(struct loader *ld, const char *file, unsigned line, unsigned top_line,
                         const char *name, int include_level, int stack_level, bool substack,
                         const char *text)
{
	struct dr_pam_entry *e;
	char path[4096];
	char why[512];
	int i;

	if (substack) {
		e = new_entry(ld, file, line, top_line, stack_level);
		if (e == NULL)
			return;
		e->substack = true;
		snprintf(e->text, sizeof(e->text), "%s", text);
		for (i = 0; i < _PAM_RETURN_VALUES; i++)
			e->actions[i] = DR_ACT_IGNORE;
	}
	if (name == NULL) {
		snprintf(why, sizeof(why), "no file is named");
	} else if (resolve(ld, name, path, sizeof(path)) != 0) {
		snprintf(why, sizeof(why), "the file name is too long");
	} else if (load_file(ld, path, include_level + 1, stack_level + (substack ? 1 : 0),
	                     top_line, why, sizeof(why)) == PV_OK) {
		return;
	}
	if (ld->out_of_memory)
		return;
	if (ld->pam->include_problem[0] == '\0')
		snprintf(ld->pam->include_problem, sizeof(ld->pam->include_problem),
		         "%.300s line %u (%s) includes %.300s, which cannot be read (%.200s)", file,
		         line, text, name != NULL ? name : "nothing", why);
	e = new_entry(ld, file, line, top_line, stack_level);
	if (e == NULL)
		return;
	e->must_fail = true;
	snprintf(e->text, sizeof(e->text), "%s", text);
	set_default(e->actions, DR_ACT_BAD);
}

/* Control keywords (Linux-PAM's _pam_parse_conf_file; like libpam, it no longer knows whether
 * the token was in brackets). Returns 1 for include, 2 for substack, 0 for a module line. */
static int set_control(int *actions, const char *tok)
{
	if (strcasecmp(tok, "required") == 0) {
		actions[PAM_SUCCESS] = DR_ACT_OK;
		actions[PAM_NEW_AUTHTOK_REQD] = DR_ACT_OK;
		actions[PAM_IGNORE] = DR_ACT_IGNORE;
		set_default(actions, DR_ACT_BAD);
	} else if (strcasecmp(tok, "requisite") == 0) {
		actions[PAM_SUCCESS] = DR_ACT_OK;
		actions[PAM_NEW_AUTHTOK_REQD] = DR_ACT_OK;
		actions[PAM_IGNORE] = DR_ACT_IGNORE;
		set_default(actions, DR_ACT_DIE);
	} else if (strcasecmp(tok, "optional") == 0) {
		actions[PAM_SUCCESS] = DR_ACT_OK;
		actions[PAM_NEW_AUTHTOK_REQD] = DR_ACT_OK;
		set_default(actions, DR_ACT_IGNORE);
	} else if (strcasecmp(tok, "sufficient") == 0) {
		actions[PAM_SUCCESS] = DR_ACT_DONE;
		actions[PAM_NEW_AUTHTOK_REQD] = DR_ACT_DONE;
		set_default(actions, DR_ACT_IGNORE);
	} else if (strcasecmp(tok, "include") == 0) {
		return 1;
	} else if (strcasecmp(tok, "substack") == 0) {
		return 2;
	} else {
		parse_control(actions, tok);
		set_default(actions, DR_ACT_BAD);
	}
	return 0;
}

static bool is_pam_vendor(const char *module)
{
	const char *base = strrchr(module, '/');

	return strcmp(base != NULL ? base + 1 : module, "pam_vendor.so") == 0;
}

/* One logical line of file, for the type being built. */
static void parse_line(struct loader *ld, const char *file, unsigned line, unsigned top_line,
                       char *buf, int include_level, int stack_level)
{
	struct dr_pam_entry *e;
	char *next = buf;
	char text[200];
	const char *type_tok;
	const char *control;
	const char *module;
	bool dash = false;
	bool bracketed = false;
	bool ignored;
	bool bad_type = false;
	int actions[_PAM_RETURN_VALUES];
	int type = -1;
	int kind;
	int i;

	type_tok = next_token(&next, &ignored);
	if (type_tok == NULL)
		return;
	if (strcmp(type_tok, "@include") == 0) {
		const char *name = next_token(&next, &ignored);

		snprintf(text, sizeof(text), "@include %.150s", name != NULL ? name : "");
		include_file(ld, file, line, top_line, name, include_level, stack_level, false,
		             text);
		return;
	}
	if (type_tok[0] == '-') {
		dash = true;
		type_tok++;
	}
	if (strcasecmp(type_tok, "auth") == 0)
		type = DR_PAM_AUTH;
	else if (strcasecmp(type_tok, "account") == 0)
		type = DR_PAM_ACCOUNT;
	else if (strcasecmp(type_tok, "session") == 0)
		type = DR_PAM_SESSION;
	else if (strcasecmp(type_tok, "password") == 0)
		return; /* not a type the doctor looks at */
	else
		bad_type = true; /* libpam puts it in every stack, failing */
	if (!bad_type && type != (int)ld->type)
		return;
	control = next_token(&next, &bracketed);
	for (i = 0; i < _PAM_RETURN_VALUES; i++)
		actions[i] = DR_ACT_UNDEF;
	if (control == NULL) {
		set_default(actions, DR_ACT_BAD); /* no control: libpam fails the line */
		kind = 0;
		module = NULL;
	} else {
		kind = set_control(actions, control);
		module = next_token(&next, &ignored);
	}
	snprintf(text, sizeof(text), "%s%.60s %s%.100s%s %.80s", dash ? "-" : "", type_tok,
	         bracketed ? "[" : "", control != NULL ? control : "", bracketed ? "]" : "",
	         module != NULL ? module : "");
	if (kind != 0) {
		include_file(ld, file, line, top_line, module, include_level, stack_level,
		             kind == 2, text);
		return;
	}
	e = new_entry(ld, file, line, top_line, stack_level);
	if (e == NULL)
		return;
	memcpy(e->actions, actions, sizeof(actions));
	e->must_fail = bad_type || control == NULL || module == NULL;
	e->vendor = !e->must_fail && is_pam_vendor(module);
	snprintf(e->text, sizeof(e->text), "%s", text);
	snprintf(e->args, sizeof(e->args), "%s", next != NULL ? next : "");
}

static int load_file(struct loader *ld, const char *path, int include_level, int stack_level,
                     unsigned top_line, char *why, size_t why_len)
{
	struct reader r;
	const char *file;
	int rc = PV_ERR;
	int got;

	memset(&r, 0, sizeof(r));
	if (include_level >= MAX_INCLUDE_LEVEL) {
		snprintf(why, why_len, "includes nest deeper than %d levels", MAX_INCLUDE_LEVEL);
		return PV_ERR;
	}
	r.f = fopen(path, "re");
	if (r.f == NULL) {
		snprintf(why, why_len, "%s", strerror(errno));
		return errno == ENOENT ? PV_NOTFOUND : PV_ERR;
	}
	file = intern_file(ld, path);
	if (file == NULL) {
		ld->out_of_memory = true;
		goto out;
	}
	while ((got = read_line(&r)) > 0) {
		parse_line(ld, file, r.first, include_level == 0 ? r.first : top_line, r.line,
		           include_level, stack_level);
		if (ld->out_of_memory)
			goto out;
	}
	if (got < 0) {
		snprintf(why, why_len, "read error or out of memory");
		goto out;
	}
	rc = PV_OK;
out:
	free(r.phys);
	free(r.line);
	if (fclose(r.f) != 0 && rc == PV_OK) {
		snprintf(why, why_len, "%s", strerror(errno));
		rc = PV_ERR;
	}
	return rc;
}

int dr_pam_load(const char *dir, const char *service, struct dr_pam **out, char *err,
                size_t err_len)
{
	struct loader ld;
	struct dr_pam *pam;
	char why[512];
	int n;
	int r;
	int t;

	*out = NULL;
	pam = calloc(1, sizeof(*pam));
	if (pam == NULL) {
		snprintf(err, err_len, "out of memory");
		return PV_ERR;
	}
	n = snprintf(pam->service_file, sizeof(pam->service_file), "%s/%s", dir, service);
	if (n < 0 || (size_t)n >= sizeof(pam->service_file)) {
		snprintf(err, err_len, "the PAM service file name is too long");
		dr_pam_free(pam);
		return PV_ERR;
	}
	memset(&ld, 0, sizeof(ld));
	ld.pam = pam;
	ld.dir = dir;
	for (t = 0; t < DR_PAM_NTYPES; t++) {
		ld.type = (enum dr_pam_type)t;
		r = load_file(&ld, pam->service_file, 0, 0, 0, why, sizeof(why));
		if (ld.out_of_memory) {
			snprintf(err, err_len, "out of memory reading %.300s", pam->service_file);
			dr_pam_free(pam);
			return PV_ERR;
		}
		if (r != PV_OK) {
			snprintf(err, err_len, "%.300s: %s", pam->service_file, why);
			dr_pam_free(pam);
			return r == PV_NOTFOUND ? PV_NOTFOUND : PV_ERR;
		}
	}
	*out = pam;
	return PV_OK;
}

void dr_pam_free(struct dr_pam *pam)
{
	size_t i;
	int t;

	if (pam == NULL)
		return;
	for (t = 0; t < DR_PAM_NTYPES; t++)
		free(pam->stack[t].e);
	for (i = 0; i < pam->n_files; i++)
		free(pam->files[i]);
	free(pam->files);
	free(pam);
}

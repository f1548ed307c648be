/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor_sshd.c — the sshd checks of `otpctl doctor`, on sshd's effective settings as
 * `sshd -T` prints them (every Include and default applied): UsePAM yes, keyboard-interactive
 * on, UseDNS no, and for each vendor (`sshd -T -C user=NAME,...`, so Match blocks apply)
 * AuthenticationMethods that include keyboard-interactive in every list. A wrong value is
 * traced to the file and line that sets it (doctor_sshdconf.c), which the finding names. */
#include "doctor.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "doctor_sshdconf.h"

#define SSHD_OUT_MAX    (256 * 1024)
#define SSHD_TIMEOUT    10 /* seconds */
#define SSHD_CONFIG     "/etc/ssh/sshd_config"
#define VENDORS_CONF    "/etc/ssh/sshd_config.d/vendors.conf"
#define VENDORS_EXAMPLE DR_EXAMPLE("sshd_config.d/vendors.conf")
#define RELOAD          "systemctl reload ssh"
#define KEY_AND_CODE    "AuthenticationMethods publickey,keyboard-interactive:pam"
/* What OpenSSH says when its privilege separation directory is missing. */
#define NO_PRIVSEP_DIR "Missing privilege separation directory: "

/* The file a new line should go to: the one given, else the drop-in of the examples. */
static const char *config_file(const struct doctor *d)
{
	return d->opt.sshd_config != NULL ? d->opt.sshd_config : VENDORS_CONF;
}

/* Run sshd -T [-f FILE] [-C SPEC] (ctl_run: no shell, bounded time). PV_OK with the
 * settings in *out (malloc'd); PV_ERR with what sshd said, or why it did not run, in why. */
int dr_run_sshd_t(const struct doctor *d, const char *spec, char **out, char *why, size_t why_len)
{
	const char *argv[7];
	struct pv_err err;
	char *buf;
	int status = -1;
	int n = 0;

	*out = NULL;
	argv[n++] = d->opt.sshd;
	argv[n++] = "-T";
	if (d->opt.sshd_config != NULL) {
		argv[n++] = "-f";
		argv[n++] = d->opt.sshd_config;
	}
	if (spec != NULL) {
		argv[n++] = "-C";
		argv[n++] = spec;
	}
	argv[n] = NULL;
	buf = malloc(SSHD_OUT_MAX);
	if (buf == NULL) {
		snprintf(why, why_len, "out of memory");
		return PV_ERR;
	}
	if (ctl_run(argv, false, SSHD_TIMEOUT, buf, SSHD_OUT_MAX, &status, &err) != PV_OK) {
		snprintf(why, why_len, "%s", err.msg);
		free(buf);
		return PV_ERR;
	}
	if (status != 0) {
		/* Once more with its standard error, which says why. */
		if (ctl_run(argv, true, SSHD_TIMEOUT, buf, SSHD_OUT_MAX, &status, &err) == PV_OK &&
		    buf[0] != '\0')
			snprintf(why, why_len, "%s", buf);
		else
			snprintf(why, why_len, "it exited with status %d", status);
		dr_one_line(why);
		free(buf);
		return PV_ERR;
	}
	*out = buf;
	return PV_OK;
}

/* The value of `key` in sshd -T output ("key value..." lines), or false. */
bool dr_sshd_setting(const char *out, const char *key, char *value, size_t len)
{
	size_t klen = strlen(key);
	const char *p = out;

	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t line_len = eol != NULL ? (size_t)(eol - p) : strlen(p);

		if (line_len > klen && strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			size_t vlen = line_len - klen - 1;

			if (vlen >= len)
				vlen = len - 1;
			memcpy(value, p + klen + 1, vlen);
			value[vlen] = '\0';
			return true;
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return false;
}

/* sshd -T refused to run because its privilege separation directory is missing (on Debian
 * the ssh service makes it when it starts; a host where sshd does not run has none). */
static bool report_privsep_dir(struct doctor *d, const char *why)
{
	const char *found = strstr(why, NO_PRIVSEP_DIR);
	char dir[PATH_MAX];
	char fix[PATH_MAX + 32];

	if (found == NULL)
		return false;
	found += strlen(NO_PRIVSEP_DIR);
	snprintf(dir, sizeof(dir), "%.*s", (int)strcspn(found, " ;?\t\r\n"), found);
	if (dir[0] != '/')
		return false;
	snprintf(fix, sizeof(fix), "install -d -m 0755 %s", dir);
	dr_finding(d, DR_ERROR, "sshd.run", fix,
	           "%s -T failed: sshd's privilege separation directory %s does not exist (sshd: "
	           "\"%s\"); the ssh service makes it when it starts, and without it neither "
	           "sshd -T nor a new sshd runs",
	           d->opt.sshd, dir, why);
	return true;
}

static void check_run(struct doctor *d)
{
	const char *main_file = d->opt.sshd_config != NULL ? d->opt.sshd_config : SSHD_CONFIG;
	char why[1024];

	if (access(d->opt.sshd, X_OK) != 0) {
		dr_finding(d, DR_ERROR, "sshd.run", "apt-get install openssh-server",
		           "sshd cannot be run from %s: %s", d->opt.sshd, strerror(errno));
		return;
	}
	if (dr_run_sshd_t(d, NULL, &d->sshd_out, why, sizeof(why)) != PV_OK) {
		if (report_privsep_dir(d, why))
			return;
		dr_finding(
		    d, DR_ERROR, "sshd.run",
		    "fix what sshd reports (sshd -t shows it), or install it: apt-get install "
		    "openssh-server",
		    "%s%s%s -T failed: %s", d->opt.sshd, d->opt.sshd_config != NULL ? " -f " : "",
		    d->opt.sshd_config != NULL ? d->opt.sshd_config : "", why);
		return;
	}
	if (dr_sshd_conf_load(main_file, &d->sshd_conf) != PV_OK)
		d->out_of_memory = true;
}

/* A yes/no setting that must have one value. The finding names the line that sets the
 * wrong value (the first outside a Match block: sshd keeps the first value it reads). */
static void check_setting(struct doctor *d, const char *id, const char *key, const char *alt_key,
                          const char *want, const char *directive, const char *why)
{
	const char *const keywords[] = {key, alt_key, NULL};
	const struct dr_sshd_line *src;
	char value[256];
	char where[1200];
	char fix[2048];
	bool found;

	if (d->sshd_out == NULL) {
		dr_skip(d, "needs sshd -T (see sshd.run)");
		return;
	}
	found = dr_sshd_setting(d->sshd_out, key, value, sizeof(value));
	if (!found && alt_key != NULL)
		found = dr_sshd_setting(d->sshd_out, alt_key, value, sizeof(value));
	if (!found)
		snprintf(value, sizeof(value), "(not set)");
	if (strcmp(value, want) == 0)
		return;
	dr_one_line(value);
	src = dr_sshd_global_source(d->sshd_conf, keywords);
	if (src != NULL && strcasecmp(src->value, want) != 0) {
		snprintf(where, sizeof(where), "set by %.1000s line %u", src->file, src->line);
		snprintf(fix, sizeof(fix),
		         "in %.1000s line %u, write \"%s %s\" instead of \"%s\" (that line is the "
		         "first sshd reads for it, and sshd keeps the first value), then run: %s",
		         src->file, src->line, directive, want, src->value, RELOAD);
	} else {
		snprintf(where, sizeof(where), "no line sets it: sshd's default");
		snprintf(fix, sizeof(fix),
		         "write \"%s %s\" in %s (near the top: sshd keeps the first value it "
		         "reads), then run: %s",
		         directive, want, config_file(d), RELOAD);
	}
	dr_finding(d, DR_ERROR, id, fix, "sshd's effective %s is \"%s\" (sshd -T%s%s; %s): %s", key,
	           value, d->opt.sshd_config != NULL ? " -f " : "",
	           d->opt.sshd_config != NULL ? d->opt.sshd_config : "", where, why);
}

static void check_usepam(struct doctor *d)
{
	check_setting(d, "sshd.usepam", "usepam", NULL, "yes", "UsePAM",
	              "sshd never calls PAM, so pam_vendor never runs");
}

static void check_kbdint(struct doctor *d)
{
	check_setting(d, "sshd.kbdinteractive", "kbdinteractiveauthentication",
	              "challengeresponseauthentication", "yes", "KbdInteractiveAuthentication",
	              "sshd cannot ask for the one-time code, so vendors are always refused");
}

static void check_usedns(struct doctor *d)
{
	check_setting(d, "sshd.usedns", "usedns", NULL, "no", "UseDNS",
	              "PAM_RHOST may be a host name, and pam_vendor refuses vendors whose address "
	              "is not numeric");
}

/* Does every method list of an AuthenticationMethods value require both the key
 * (publickey: strong, asymmetric) and the code (keyboard-interactive)? */
static bool methods_key_and_code(const char *value)
{
	char copy[1024];
	char *save = NULL;
	char *list;

	if (strcmp(value, "any") == 0 || value[0] == '\0')
		return false;
	snprintf(copy, sizeof(copy), "%s", value);
	for (list = strtok_r(copy, " ", &save); list != NULL; list = strtok_r(NULL, " ", &save)) {
		char *save2 = NULL;
		char *m;
		bool code = false;
		bool key = false;

		for (m = strtok_r(list, ",", &save2); m != NULL; m = strtok_r(NULL, ",", &save2)) {
			if (strcmp(m, "keyboard-interactive") == 0 ||
			    strcmp(m, "keyboard-interactive:pam") == 0)
				code = true;
			if (strcmp(m, "publickey") == 0)
				key = true;
		}
		if (!code || !key)
			return false;
	}
	return true;
}

/* The Match line the fixes give for vendors: their group, else this vendor. */
static void vendor_match(const struct doctor *d, const struct dr_vendor *v, char *text, size_t len)
{
	if (d->have_config && d->ctl->cfg.vendor_group[0] != '\0')
		snprintf(text, len, "Match Group %s", d->ctl->cfg.vendor_group);
	else
		snprintf(text, len, "Match User %s", v->name);
}

/* Where a vendor's AuthenticationMethods value comes from, and the fix that follows. */
static void methods_source(const struct doctor *d, const struct dr_vendor *v, const char *value,
                           char *where, size_t where_len, char *fix, size_t fix_len)
{
	const struct dr_sshd_line *src;
	char match[PV_NAME_MAX + 64];

	vendor_match(d, v, match, sizeof(match));
	src = dr_sshd_value_source(d->sshd_conf, "authenticationmethods", value);
	if (src != NULL && src->match_file != NULL) {
		snprintf(where, where_len,
		         "set by %.1000s line %u, in the Match block of %.1000s line %u", src->file,
		         src->line, src->match_file, src->match_line);
		snprintf(fix, fix_len,
		         "in %.1000s line %u (the Match block of %.1000s line %u), write \"%s\" "
		         "instead, then run: %s",
		         src->file, src->line, src->match_file, src->match_line, KEY_AND_CODE,
		         RELOAD);
	} else if (src != NULL) {
		snprintf(where, where_len, "set by %.1000s line %u, outside any Match block",
		         src->file, src->line);
		snprintf(fix, fix_len,
		         "add at the end of %.1000s the lines \"%s\" and \"%s\" (a Match block's "
		         "value takes precedence over line %u for the users it matches; the other "
		         "users keep line %u), as in %s, then run: %s",
		         src->file, match, KEY_AND_CODE, src->line, src->line, VENDORS_EXAMPLE,
		         RELOAD);
	} else {
		snprintf(where, where_len, "no line that applies to it sets it: sshd's default");
		snprintf(fix, fix_len,
		         "add at the end of %s the lines \"%s\" and \"%s\", as in %s, then run: %s",
		         config_file(d), match, KEY_AND_CODE, VENDORS_EXAMPLE, RELOAD);
	}
}

/* Does a line of sshd -T output start with key and name internal-sftp? */
static bool internal_sftp(const char *out, const char *key)
{
	size_t klen = strlen(key);
	const char *p = out;

	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t line_len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		const char *hit = strstr(p, "internal-sftp");

		if (strncmp(p, key, klen) == 0 && p[klen] == ' ' && hit != NULL &&
		    hit < p + line_len)
			return true;
		p = eol != NULL ? eol + 1 : NULL;
	}
	return false;
}

/* sshd serves internal-sftp in its own process, without the vendor's login shell: with
 * session recording on, that is a way around the recorder. */
static void check_vendor_sftp(struct doctor *d, const struct dr_vendor *v, const char *out)
{
	char id[96];

	if (!d->have_config || !d->ctl->cfg.recording_required ||
	    (!internal_sftp(out, "subsystem") && !internal_sftp(out, "forcecommand")))
		return;
	snprintf(id, sizeof(id), "recording.%s.sftp", v->name);
	dr_finding(d, DR_ERROR, id,
	           "remove internal-sftp for vendors (Subsystem sftp /usr/lib/openssh/sftp-server "
	           "goes through the login shell), then run: " RELOAD,
	           "for vendor %s sshd serves internal-sftp, in its own process, without the "
	           "login shell: files can be read and written there unrecorded",
	           v->name);
}

static void check_vendor_methods(struct doctor *d, const struct dr_vendor *v)
{
	char spec[PV_NAME_MAX + PV_IP_TEXT_MAX + 40];
	char value[1024];
	char why[1024];
	char id[96];
	char where[2400];
	char fix[3000];
	char *out = NULL;
	bool found;

	snprintf(spec, sizeof(spec), "user=%s,host=localhost,addr=%s", v->name, v->addr);
	snprintf(id, sizeof(id), "sshd.authenticationmethods.%s", v->name);
	if (dr_run_sshd_t(d, spec, &out, why, sizeof(why)) != PV_OK) {
		dr_finding(d, DR_ERROR, id, "fix what sshd reports (sshd -t shows it)",
		           "%s -T -C %s failed: %s", d->opt.sshd, spec, why);
		return;
	}
	found = dr_sshd_setting(out, "authenticationmethods", value, sizeof(value));
	check_vendor_sftp(d, v, out);
	free(out);
	if (!found)
		snprintf(value, sizeof(value), "any");
	if (methods_key_and_code(value))
		return;
	dr_one_line(value);
	methods_source(d, v, value, where, sizeof(where), fix, sizeof(fix));
	if (v->cause[0] != '\0') {
		dr_symptom(
		    d, v->cause, id, fix,
		    "sshd -T -C %s shows AuthenticationMethods \"%s\" (%s), without both the key "
		    "and the code: sshd's Match Group block does not apply to it",
		    spec, value, where);
		return;
	}
	dr_finding(d, DR_ERROR, id, fix,
	           "for vendor %s (sshd -T -C %s) AuthenticationMethods is \"%s\" (%s): sshd does "
	           "not require both the key (publickey) and the code (keyboard-interactive) in "
	           "every method list (without the code pam_vendor refuses the vendor: "
	           "no_otp_verified; without the key the login rests on the code alone)",
	           v->name, spec, value, where);
}

static void check_methods(struct doctor *d)
{
	size_t i;

	if (d->sshd_out == NULL) {
		dr_skip(d, "needs sshd -T (see sshd.run)");
		return;
	}
	if (!d->have_vendors) {
		dr_skip(d, "needs the vendor list (see files.store)");
		return;
	}
	if (d->n_vendors == 0) {
		dr_skip(d, "no vendor is registered");
		return;
	}
	for (i = 0; i < d->n_vendors; i++)
		if (dr_account_exists(d->vendors[i].name)) /* else vendor.NAME.absent says so */
			check_vendor_methods(d, &d->vendors[i]);
}

const struct dr_check dr_sshd_checks[] = {
    {"sshd.run", check_run},
    {"sshd.usepam", check_usepam},
    {"sshd.kbdinteractive", check_kbdint},
    {"sshd.usedns", check_usedns},
    {"sshd.authenticationmethods", check_methods},
    {"sshd.keys_command", dr_check_keys_command},
    {NULL, NULL},
};

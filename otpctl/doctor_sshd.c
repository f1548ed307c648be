/* doctor_sshd.c — the sshd checks of `otpctl doctor`, on sshd's effective settings as
 * `sshd -T` prints them (every Include and default applied): UsePAM yes, keyboard-interactive
 * on, UseDNS no, and for each vendor (`sshd -T -C user=NAME,...`, so Match blocks apply)
 * AuthenticationMethods that include keyboard-interactive in every list. */
#include "doctor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SSHD_OUT_MAX (256 * 1024)
#define SSHD_TIMEOUT 10 /* seconds */
#define VENDORS_CONF "/etc/ssh/sshd_config.d/vendors.conf"
#define RELOAD       "systemctl reload ssh"

/* The file the fix should name: the one given, else the drop-in of the examples. */
static const char *config_file(const struct doctor *d)
{
	return d->opt.sshd_config != NULL ? d->opt.sshd_config : VENDORS_CONF;
}

/* Run sshd -T [-f FILE] [-C SPEC] (ctl_run: no shell, bounded time). PV_OK with the
 * settings in *out (malloc'd); PV_ERR with what sshd said, or why it did not run, in why. */
static int run_sshd_t(const struct doctor *d, const char *spec, char **out, char *why,
                      size_t why_len)
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
static bool setting(const char *out, const char *key, char *value, size_t len)
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

static void check_run(struct doctor *d)
{
	char why[1024];

	if (access(d->opt.sshd, X_OK) != 0) {
		dr_finding(d, DR_ERROR, "sshd.run", "apt-get install openssh-server",
		           "sshd cannot be run from %s: %s", d->opt.sshd, strerror(errno));
		return;
	}
	if (run_sshd_t(d, NULL, &d->sshd_out, why, sizeof(why)) != PV_OK)
		dr_finding(
		    d, DR_ERROR, "sshd.run",
		    "fix what sshd reports (sshd -t shows it), or install it: apt-get install "
		    "openssh-server",
		    "%s%s%s -T failed: %s", d->opt.sshd, d->opt.sshd_config != NULL ? " -f " : "",
		    d->opt.sshd_config != NULL ? d->opt.sshd_config : "", why);
}

/* A yes/no setting that must have one value. */
static void check_setting(struct doctor *d, const char *id, const char *key, const char *alt_key,
                          const char *want, const char *directive, const char *why)
{
	char value[256];
	char fix[1024];
	bool found;

	if (d->sshd_out == NULL) {
		dr_skip(d, "needs sshd -T (see sshd.run)");
		return;
	}
	found = setting(d->sshd_out, key, value, sizeof(value));
	if (!found && alt_key != NULL)
		found = setting(d->sshd_out, alt_key, value, sizeof(value));
	if (!found)
		snprintf(value, sizeof(value), "(not set)");
	if (strcmp(value, want) == 0)
		return;
	dr_one_line(value);
	snprintf(fix, sizeof(fix),
	         "write \"%s %s\" in %s (near the top: sshd keeps the first value "
	         "it reads), then run: %s",
	         directive, want, config_file(d), RELOAD);
	dr_finding(d, DR_ERROR, id, fix, "sshd's effective %s is \"%s\" (sshd -T%s%s): %s", key,
	           value, d->opt.sshd_config != NULL ? " -f " : "",
	           d->opt.sshd_config != NULL ? d->opt.sshd_config : "", why);
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

static void check_vendor_methods(struct doctor *d, const struct dr_vendor *v)
{
	char spec[PV_NAME_MAX + PV_IP_TEXT_MAX + 40];
	char value[1024];
	char why[1024];
	char id[96];
	char fix[1024];
	char *out = NULL;
	bool found;

	snprintf(spec, sizeof(spec), "user=%s,host=localhost,addr=%s", v->name, v->addr);
	snprintf(id, sizeof(id), "sshd.authenticationmethods.%s", v->name);
	if (run_sshd_t(d, spec, &out, why, sizeof(why)) != PV_OK) {
		dr_finding(d, DR_ERROR, id, "fix what sshd reports (sshd -t shows it)",
		           "%s -T -C %s failed: %s", d->opt.sshd, spec, why);
		return;
	}
	found = setting(out, "authenticationmethods", value, sizeof(value));
	free(out);
	if (!found)
		snprintf(value, sizeof(value), "any");
	if (methods_key_and_code(value))
		return;
	dr_one_line(value);
	snprintf(fix, sizeof(fix),
	         "in %.500s, in the Match block for vendors (Match Group or Match "
	         "User), write \"AuthenticationMethods publickey,keyboard-interactive:pam\" "
	         "(examples/sshd_config.d/vendors.conf), then run: %s",
	         config_file(d), RELOAD);
	dr_finding(d, DR_ERROR, id, fix,
	           "for vendor %s (sshd -T -C %s) AuthenticationMethods is \"%s\": sshd does not "
	           "require both the key (publickey) and the code (keyboard-interactive) in every "
	           "method list (without the code pam_vendor refuses the vendor: no_otp_verified; "
	           "without the key the login rests on the code alone)",
	           v->name, spec, value);
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
    {NULL, NULL},
};

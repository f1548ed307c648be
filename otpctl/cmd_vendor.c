/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_vendor.c — `otpctl vendor add|list|show|remove|set`: who the vendors are and where
 * they may connect from. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "accounts.h"
#include "deferred.h"
#include "ipmatch.h"
#include "otpctl.h"

struct vendor_args {
	const char *name;
	struct pv_cidr ips[PV_MAX_IPS];
	size_t n_ips;
	const char *note;
	bool set_hours;           /* --hours or --no-hours given */
	struct pv_schedule hours; /* n == 0 with set_hours: remove the schedule */
	bool set_targets;         /* --target or --no-targets given */
	bool no_targets;
	size_t n_targets;
	struct pv_target targets[PV_MAX_TARGETS];
	enum pv_shell shell; /* AUTO: not given */
};

static int parse_vendor_args(const struct command *cmd, int argc, char **argv,
                             struct vendor_args *va, bool allow_ip)
{
	static const struct option longopts[] = {
	    {"ip", required_argument, NULL, 'i'},
	    {"note", required_argument, NULL, 'n'},
	    {"hours", required_argument, NULL, 'H'},
	    {"no-hours", no_argument, NULL, 'N'},
	    {"target", required_argument, NULL, 'T'},
	    {"no-targets", no_argument, NULL, 'X'},
	    {"shell", no_argument, NULL, 'S'},
	    {"no-shell", no_argument, NULL, 'Z'},
	    {NULL, 0, NULL, 0},
	};
	struct pv_err err;
	int c;

	memset(va, 0, sizeof(*va));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1 || optind < argc) {
		if (c == -1) { /* a positional argument: the vendor name */
			if (va->name != NULL)
				return ctl_usage_error(cmd, "unexpected argument \"%.64s\"",
				                       argv[optind]);
			va->name = argv[optind++];
			continue;
		}
		if (c == 'i' && allow_ip) {
			if (ctl_parse_ip(cmd, optarg, va->ips, &va->n_ips, PV_MAX_IPS) != EXIT_OK)
				return EXIT_USAGE;
		} else if (c == 'n') {
			va->note = optarg;
		} else if (c == 'H' || c == 'N') {
			if (va->set_hours)
				return ctl_usage_error(cmd, "give --hours or --no-hours once");
			va->set_hours = true;
			if (c == 'H' && pv_schedule_parse(optarg, &va->hours, &err) != PV_OK)
				return ctl_usage_error(cmd, "%s", err.msg);
		} else if (c == 'T' || c == 'X') {
			/* Bad input, not bad usage: exit 1 (ctl_parse_target says why). */
			va->set_targets = true;
			va->no_targets = va->no_targets || c == 'X';
			if (c == 'T' && ctl_parse_target(optarg, va->targets, &va->n_targets,
			                                 PV_MAX_TARGETS) != EXIT_OK)
				return EXIT_FAIL;
		} else if (c == 'S' || c == 'Z') {
			if (va->shell != PV_SHELL_AUTO)
				return ctl_usage_error(cmd, "give --shell or --no-shell once");
			va->shell = c == 'S' ? PV_SHELL_ALLOWED : PV_SHELL_REFUSED;
		} else {
			return ctl_usage_error(cmd, "unknown or incomplete option %.64s",
			                       argv[optind - 1]);
		}
	}
	if (va->name == NULL)
		return ctl_usage_error(cmd, "the vendor NAME is missing");
	if (va->no_targets && va->n_targets > 0)
		return ctl_usage_error(cmd, "give --target or --no-targets, not both");
	return EXIT_OK;
}

static bool note_ok(const char *note)
{
	size_t i;

	if (strlen(note) > PV_NOTE_MAX) {
		ctl_error("the note is longer than %d characters", PV_NOTE_MAX);
		return false;
	}
	for (i = 0; note[i] != '\0'; i++) {
		if ((unsigned char)note[i] < 0x20 || note[i] == 0x7F) {
			ctl_error("the note contains a control character");
			return false;
		}
	}
	return true;
}

/* Is name a line of the local /etc/passwd (and not only known through NSS: AD/LDAP/SSSD)? */
static int account_source(const char *name, bool *exists, bool *local)
{
	struct pv_account acct;
	struct pv_err err;
	int r;

	*exists = false;
	*local = false;
	r = pv_account_lookup(name, &acct, &err);
	if (r == PV_NOTFOUND)
		return EXIT_OK;
	if (r != PV_OK) {
		/* An NSS error is not "no such account": it could hide an LDAP account. */
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	*exists = true;
	r = ctl_passwd_has("/etc/passwd", name);
	if (r < 0) {
		ctl_error("cannot read /etc/passwd: %s", strerror(errno));
		return EXIT_FAIL;
	}
	*local = (r == 1);
	return EXIT_OK;
}

/* With vendor_group set, sshd's "Match Group" block covers members only, and pam_vendor
 * denies a registered vendor outside it (config_error): say so when the new vendor's account
 * is not a member. Returns false when the account is not known to be a member (the group is
 * missing, cannot be read, or does not hold it). */
static bool check_vendor_group(const struct otpctl *ctl, const char *name)
{
	const char *group = ctl->cfg.vendor_group;
	struct pv_err err;
	bool member = false;
	int r;

	if (group[0] == '\0')
		return true;
	r = pv_group_has_user(group, name, &member, &err);
	if (r == PV_NOTFOUND) {
		ctl_warn("vendor_group %s does not exist; pam_vendor denies every user until it "
		         "does (groupadd %s)",
		         group, group);
		return false;
	}
	if (r != PV_OK) {
		ctl_warn("cannot tell whether %s is in vendor_group %s: %s", name, group, err.msg);
		return false;
	}
	if (!member)
		ctl_warn(
		    "account %s is not in vendor_group %s: pam_vendor denies it (config_error) "
		    "until it is; add it (usermod -aG %s %s)",
		    name, group, group, name);
	return member;
}

/* A vendor account must have no privileges on the system: name each one and its fix. */
static int refuse_privileged(const char *name)
{
	struct ctl_privilege found[16];
	struct pv_err err;
	size_t n = 0;
	size_t i;

	if (ctl_vendor_privileges(name, found, sizeof(found) / sizeof(found[0]), &n, &err) !=
	    PV_OK) {
		ctl_error("cannot check the privileges of account %s: %s", name, err.msg);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		ctl_error("%s; fix: %s", found[i].what, found[i].fix);
	if (n > 0) {
		ctl_error("refusing to add %s: a vendor account must have no privileges on this "
		          "system; nothing was changed",
		          name);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Work the new vendor could have run outside its windows: a crontab or at job it already
 * has, leave to use cron or at, linger. otpctl does not edit those system files (see
 * docs/admin-guide.md, "No deferred execution"): it names each and the command that ends it. */
static void warn_deferred(const char *name)
{
	struct dfr_way ways[DFR_NKINDS];
	struct pv_err err;
	size_t n = 0;
	size_t i;

	if (dfr_find(&dfr_debian_paths, name, DFR_ALL_KINDS, ways, &n, &err) != PV_OK)
		ctl_warn("cannot check whether %s can schedule work: %s (run otpctl doctor)", name,
		         err.msg);
	for (i = 0; i < n; i++)
		ctl_warn("%s; fix: %s", ways[i].what, ways[i].fix);
}

int cmd_vendor_add(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("vendor add");
	struct vendor_args va;
	struct pv_record *rec = NULL;
	struct pv_err err;
	bool exists = false;
	bool local = false;
	char ips[2048 + PV_SCHEDULE_TEXT_MAX + 16];
	int rc;

	rc = parse_vendor_args(cmd, argc, argv, &va, true);
	if (rc != EXIT_OK)
		return rc;
	if (va.n_ips == 0)
		return ctl_usage_error(cmd, "at least one --ip is required for %.64s", va.name);
	if (!ctl_check_name(va.name) || (va.note != NULL && !note_ok(va.note)))
		return EXIT_FAIL;
	if (account_source(va.name, &exists, &local) != EXIT_OK)
		return EXIT_FAIL;
	if (exists && !local) {
		ctl_error("account %s comes from a non-local source (AD/LDAP/SSSD); vendors need a "
		          "local account (useradd)",
		          va.name);
		return EXIT_FAIL;
	}
	if (refuse_privileged(va.name) != EXIT_OK)
		return EXIT_FAIL;
	if (ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	/* With the database, the module only looks up members of vendor_group: an account
	 * outside it would not be treated as a vendor at all. */
	if (ctl->cfg.store_backend == PV_STORE_POSTGRESQL && local &&
	    !check_vendor_group(ctl, va.name)) {
		ctl_error("refusing to add %s: with store_backend = postgresql a vendor must be in "
		          "vendor_group %s; nothing was changed",
		          va.name, ctl->cfg.vendor_group);
		return EXIT_FAIL;
	}
	if (pv_store_exists(ctl->store, va.name, &exists, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	if (exists) {
		ctl_error("vendor %s already exists (use otpctl vendor set to change it)", va.name);
		return EXIT_FAIL;
	}
	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		ctl_error("out of memory");
		return EXIT_FAIL;
	}
	pv_record_init(rec, va.name, ctl->now);
	memcpy(rec->ips, va.ips, sizeof(va.ips));
	rec->n_ips = va.n_ips;
	if (va.note != NULL)
		snprintf(rec->note, sizeof(rec->note), "%s", va.note);
	rec->hours = va.hours;
	memcpy(rec->targets, va.targets, sizeof(va.targets));
	rec->n_targets = va.n_targets;
	rec->shell = va.shell;
	ctl_format_ips(rec->ips, rec->n_ips, ips, sizeof(ips));
	if (rec->hours.n > 0) {
		char hours[PV_SCHEDULE_TEXT_MAX + 1];
		size_t used = strlen(ips);

		pv_schedule_format(&rec->hours, hours, sizeof(hours));
		snprintf(ips + used, sizeof(ips) - used, "; hours %s", hours);
	}
	rc = EXIT_FAIL;
	/* Listed before the record exists: a listed name without a record is denied anyway,
	 * a record without its line would be missed if its groups changed. */
	if (ctl_vendor_list_set(ctl, va.name, true) != EXIT_OK)
		goto out;
	if (ctl_audit(ctl, "vendor_add", va.name, "allow", "ok", ips) != EXIT_OK)
		goto out;
	if (pv_store_create(ctl->store, &ctl->keys, rec, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		(void)ctl_audit(ctl, "vendor_add", va.name, "error", "store_error", err.msg);
		goto out;
	}
	if (!local)
		ctl_warn("there is no account named %s yet; create it with: useradd -m %s", va.name,
		         va.name);
	else if (ctl->cfg.store_backend == PV_STORE_FILE) /* a warning: the record makes a vendor */
		(void)check_vendor_group(ctl, va.name);
	warn_deferred(va.name);
	if (local && ctl->cfg.recording_required)
		ctl_set_recorder_shell(ctl, va.name);
	if (ctl->json) {
		struct pv_buf b;
		pv_buf_init(&b, 65536);
		ctl_record_json(&b, rec, ctl->now);
		rc = ctl_print_json(&b);
		pv_buf_free(&b);
	} else {
		printf("Vendor %s added, allowed from %s. It is disabled until: otpctl enable %s "
		       "--for DURATION\n",
		       va.name, ips, va.name);
		rc = EXIT_OK;
	}
out:
	pv_record_wipe(rec);
	free(rec);
	return rc;
}

int cmd_vendor_list(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("vendor list");
	struct pv_record *recs = NULL;
	size_t n = 0;
	size_t i;
	int rc;

	if (argc != 1)
		return ctl_usage_error(cmd, "vendor list takes no arguments");
	if (ctl_open(ctl) != EXIT_OK || ctl_load_all(ctl, &recs, &n) != EXIT_OK)
		return EXIT_FAIL;
	if (ctl->json) {
		rc = ctl_print_vendors_json(ctl, recs, n);
	} else {
		if (n == 0)
			printf("No vendors. Add one with: otpctl vendor add NAME --ip ADDRESS\n");
		else
			printf("%-20s %s\n", "VENDOR", "ADDRESSES");
		for (i = 0; i < n; i++) {
			char ips[2048];
			ctl_format_ips(recs[i].ips, recs[i].n_ips, ips, sizeof(ips));
			printf("%-20s %s%s%s\n", recs[i].name, ips, recs[i].note[0] ? "  # " : "",
			       recs[i].note);
		}
		rc = EXIT_OK;
	}
	ctl_free_records(recs, n);
	return rc;
}

/* Load one vendor for display; prints the error. */
static int load_one(struct otpctl *ctl, const char *name, struct pv_record *rec)
{
	struct pv_err err;
	int r;

	if (!ctl_check_name(name) || ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	r = pv_store_load(ctl->store, &ctl->keys, name, rec, &err);
	if (r == PV_NOTFOUND) {
		ctl_error("vendor %s does not exist", name);
		return EXIT_FAIL;
	}
	if (r != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_vendor_show(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("vendor show");
	struct pv_record *rec;
	struct pv_buf b;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_error(cmd, "vendor show takes exactly one NAME");
	rec = malloc(sizeof(*rec));
	if (rec == NULL)
		return EXIT_FAIL;
	rc = load_one(ctl, argv[1], rec);
	if (rc == EXIT_OK) {
		if (ctl->json) {
			pv_buf_init(&b, 65536);
			ctl_record_json(&b, rec, ctl->now);
			rc = ctl_print_json(&b);
			pv_buf_free(&b);
		} else {
			ctl_record_text(stdout, rec, ctl->now);
		}
	}
	pv_record_wipe(rec);
	free(rec);
	return rc;
}

int cmd_vendor_remove(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("vendor remove");
	struct ctl_vendor_end ended;
	struct pv_err err;
	bool exists = false;
	int rc;
	int r;

	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_error(cmd, "vendor remove takes exactly one NAME");
	if (!ctl_check_name(argv[1]) || ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	if (pv_store_exists(ctl->store, argv[1], &exists, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	if (!exists) {
		ctl_error("vendor %s does not exist", argv[1]);
		return EXIT_FAIL;
	}
	if (ctl_audit(ctl, "vendor_remove", argv[1], "allow", "ok", NULL) != EXIT_OK)
		return EXIT_FAIL;
	r = pv_store_remove(ctl->store, argv[1], &err);
	if (r != PV_OK) {
		ctl_error("%s", err.msg);
		(void)ctl_audit(ctl, "vendor_remove", argv[1], "error", "store_error", err.msg);
		return EXIT_FAIL;
	}
	/* Off the list after the record is gone; if that fails, the next expire drops it. */
	rc = ctl_vendor_list_set(ctl, argv[1], false);
	if (!ctl->json)
		printf("Vendor %s removed from the store (the system account is unchanged).\n",
		       argv[1]);
	/* Its sessions and processes end now: outside vendor_group nothing would find them
	 * later (otpctl expire looks at the store, the group and the session records). */
	memset(&ended, 0, sizeof(ended));
	if (ctl_end_vendor(ctl, argv[1], CTL_END_REMOVED, &ended) != EXIT_OK)
		rc = EXIT_FAIL;
	if (ctl->json)
		printf("{\"vendor\":\"%s\",\"removed\":true,\"sessions_ended\":%u,"
		       "\"processes_ended\":%zu,\"logind\":\"%s\"}\n",
		       argv[1], ended.sessions, ended.processes, ctl_logind_name(ended.logind));
	ctl_print_logind_note(ctl, &ended);
	return rc;
}

struct set_ctx {
	struct otpctl *ctl;
	const struct vendor_args *va;
};

static enum pv_modify_result set_locked(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct set_ctx *sc = vctx;
	const struct vendor_args *va = sc->va;
	char ips[2048] = "";
	char detail[2048 + PV_SCHEDULE_TEXT_MAX + 16];
	size_t i;
	size_t j;

	if (va->n_ips > 0) {
		/* A narrowed window that is still open or upcoming must stay inside the vendor's
		 * addresses; a window that is over no longer matters. */
		enum pv_window state = pv_window_state(rec, sc->ctl->now);
		bool current = state == PV_WINDOW_OPEN || state == PV_WINDOW_UPCOMING;

		for (i = 0; current && i < rec->n_window_ips; i++) {
			bool inside = false;
			for (j = 0; j < va->n_ips; j++)
				if (pv_cidr_within(&va->ips[j], &rec->window_ips[i]))
					inside = true;
			if (!inside) {
				pv_err_set(err,
				           "the open window of %s is narrowed to addresses outside "
				           "the new list; run otpctl disable %s first",
				           rec->name, rec->name);
				return PV_MODIFY_FAIL;
			}
		}
		memcpy(rec->ips, va->ips, sizeof(va->ips));
		rec->n_ips = va->n_ips;
		ctl_format_ips(rec->ips, rec->n_ips, ips, sizeof(ips));
	}
	if (va->note != NULL)
		snprintf(rec->note, sizeof(rec->note), "%s", va->note);
	if (va->set_targets) {
		memcpy(rec->targets, va->targets, sizeof(va->targets));
		rec->n_targets = va->n_targets;
	}
	if (va->shell != PV_SHELL_AUTO)
		rec->shell = va->shell;
	if (va->set_targets || va->shell != PV_SHELL_AUTO) {
		char targets[PV_MAX_TARGETS * (PV_IP_TEXT_MAX + 10)];
		size_t used = strlen(ips);
		ctl_format_targets(rec, targets, sizeof(targets));
		snprintf(ips + used, sizeof(ips) - used, "%stargets %s; shell %s", used ? "; " : "",
		         targets, pv_record_shell_allowed(rec) ? "yes" : "no");
	}
	if (va->set_hours) {
		char hours[PV_SCHEDULE_TEXT_MAX + 1];

		rec->hours = va->hours;
		pv_schedule_format(&rec->hours, hours, sizeof(hours));
		snprintf(detail, sizeof(detail), "%s%shours %s", ips, ips[0] ? "; " : "",
		         hours[0] ? hours : "none");
	} else {
		snprintf(detail, sizeof(detail), "%s", ips);
	}
	if (ctl_audit(sc->ctl, "vendor_set", rec->name, "allow", "ok", detail[0] ? detail : NULL) !=
	    EXIT_OK) {
		err->msg[0] = '\0'; /* ctl_audit said why */
		return PV_MODIFY_FAIL;
	}
	return PV_MODIFY_SAVE;
}

int cmd_vendor_set(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("vendor set");
	struct vendor_args va;
	struct set_ctx sc;
	int rc;

	rc = parse_vendor_args(cmd, argc, argv, &va, true);
	if (rc != EXIT_OK)
		return rc;
	if (va.n_ips == 0 && va.note == NULL && !va.set_hours && !va.set_targets &&
	    va.shell == PV_SHELL_AUTO)
		return ctl_usage_error(cmd,
		                       "nothing to change: give --ip, --note, --hours, --target, "
		                       "--no-targets, --shell or --no-shell");
	if (!ctl_check_name(va.name) || (va.note != NULL && !note_ok(va.note)) ||
	    ctl_open(ctl) != EXIT_OK)
		return EXIT_FAIL;
	sc.ctl = ctl;
	sc.va = &va;
	if (ctl_store_update(ctl, va.name, set_locked, &sc) != EXIT_OK)
		return EXIT_FAIL;
	if (ctl->json)
		printf("{\"vendor\":\"%s\",\"updated\":true}\n", va.name);
	else
		printf("Vendor %s updated.\n", va.name);
	return EXIT_OK;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* main.c — otpctl's entry point: global options, the command table (usage and help of every
 * command live here, next to each other, so --help and the man page stay in step), dispatch. */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "otpctl.h"

#ifndef PV_VERSION
#define PV_VERSION "0.1.0"
#endif

static const struct command commands[] = {
    {"init", cmd_init, "init",
     "Create the master key (mode 0600), the store directory (0700) and the audit log, and\n"
     "start sealing the audit log: its verification key is printed once, as text and QR\n"
     "code (see audit setup-sealing). Refuses to overwrite an existing key.\n\n"
     "Example:\n  otpctl init"},
    {"vendor add", cmd_vendor_add,
     "vendor add NAME --ip CIDR [--ip CIDR]... [--note TEXT] [--hours SCHEDULE]",
     "Register a vendor account and the addresses it may connect from (IPv4/IPv6 addresses or\n"
     "networks). The account must be local (/etc/passwd), not from AD/LDAP/SSSD; a name with\n"
     "no account yet is accepted with a warning. A new vendor starts disabled. --hours: see\n"
     "vendor set.\n\n"
     "Example:\n  otpctl vendor add acme --ip 203.0.113.7 --ip 2001:db8:7::/48 --note 'PACS "
     "maintenance'"},
    {"vendor list", cmd_vendor_list, "vendor list",
     "List vendors with their allowed addresses.\n\nExample:\n  otpctl vendor list"},
    {"vendor show", cmd_vendor_show, "vendor show NAME",
     "Show one vendor: addresses, note, window, codes, failures, TOTP enrolment.\n\n"
     "Example:\n  otpctl vendor show acme"},
    {"vendor remove", cmd_vendor_remove, "vendor remove NAME",
     "Remove a vendor from the store (the system account is left alone) and end its live\n"
     "sessions and every process of its account, as disable --kill does.\n\n"
     "Example:\n  otpctl vendor remove acme"},
    {"vendor set", cmd_vendor_set,
     "vendor set NAME [--ip CIDR]... [--note TEXT] [--hours SCHEDULE|--no-hours]",
     "Replace a vendor's address list, note and/or business hours. SCHEDULE (local time):\n"
     "days and a time range, e.g. 'Mon-Fri 08:00-19:00' or 'Mon-Fri 08:00-12:00,14:00-18:00;\n"
     "Sat 09:00-12:00'. Outside these hours the vendor is refused even in a window\n"
     "(outside_hours). --no-hours removes the schedule.\n\n"
     "Example:\n  otpctl vendor set acme --hours 'Mon-Fri 08:00-19:00'"},
    {"vendor key add", cmd_vendor_key_add, "vendor key add NAME FILE.pub|- [--allow-weak]",
     "Store one SSH public key of the vendor (a .pub file, or - for standard input) in its\n"
     "sealed record. sshd's AuthorizedKeysCommand pam_vendor-keys serves it only while the\n"
     "vendor's window is open, with the vendor's addresses as from=\"...\". Accepted:\n"
     "ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa of at least 3072 bits (--allow-weak:\n"
     "from 2048 bits). The line must be the key alone (no options before the type); a\n"
     "vendor holds at most 8 keys.\n\n"
     "Example:\n  otpctl vendor key add acme acme.pub"},
    {"vendor key list", cmd_vendor_key_list, "vendor key list NAME",
     "The vendor's stored keys: type, bits, SHA256 fingerprint (as ssh-keygen -l prints it),\n"
     "comment.\n\nExample:\n  otpctl vendor key list acme"},
    {"vendor key remove", cmd_vendor_key_remove, "vendor key remove NAME FINGERPRINT",
     "Remove one stored key, named by its SHA256 fingerprint as vendor key list shows it.\n\n"
     "Example:\n  otpctl vendor key remove acme "
     "SHA256:jbfBmQMU/eXFLCU0tg7SM8T0pqOiYeWuFVAA1sPhq+U"},
    {"keys sync", cmd_keys_sync, "keys sync",
     "Rebuild the keys view (keys_view) from the store: what pam_vendor-keys, sshd's\n"
     "AuthorizedKeysCommand, reads. Every command that changes a vendor rewrites it, and\n"
     "otpctl expire (every minute) too; run it after restoring a store or when a gateway\n"
     "shares its records through PostgreSQL.\n\nExample:\n  otpctl keys sync"},
    {"enable", cmd_enable,
     "enable NAME --for DURATION [--at TIME] [--ip CIDR]... [--force] [--replace|--extend]",
     "Open a maintenance window. DURATION: 90s, 15m, 2h, 1d, 1h30m. TIME: HH:MM (today, local\n"
     "time) or RFC 3339. --ip narrows the vendor's list for this window. Windows longer than\n"
     "max_window (config) need --force. A new window clears failures and a lockout.\n"
     "An open or upcoming window is never replaced silently: enable refuses unless\n"
     "--replace (a new window; the old window's outstanding codes are revoked) or\n"
     "--extend (the same window, start, addresses, codes and failures kept; it now ends\n"
     "DURATION from now, or from its start if it has not started; no --at or --ip).\n\n"
     "Example:\n  otpctl enable acme --at 14:00 --for 2h\n  otpctl enable acme --for 1h --extend"},
    {"disable", cmd_disable, "disable NAME [--kill]",
     "Close the vendor's window now and revoke every outstanding code. --kill also ends the\n"
     "vendor's live sessions and every process of its account at once (as otpctl expire\n"
     "does).\n\n"
     "Example:\n  otpctl disable acme --kill"},
    {"issue", cmd_issue, "issue NAME [--ttl DURATION]",
     "Issue a single-use code for an open or upcoming window, to read to the vendor over the\n"
     "phone. It is printed once and kept only as a keyed hash. Default lifetime: otp_ttl.\n\n"
     "Example:\n  otpctl issue acme"},
    {"status", cmd_status, "status [NAME]",
     "Per vendor: window (open, upcoming, closed) and time left, allowed addresses, outstanding\n"
     "codes, failures and lockout, last login.\n\nExample:\n  otpctl status"},
    {"expire", cmd_expire, "expire",
     "End everything of vendors whose window is not open (closed, not started, disabled,\n"
     "removed, outside their hours; members of vendor_group without a record too): each SSH\n"
     "session recorded by pam_vendor (SIGTERM to sshd's monitor, session_terminated audited),\n"
     "each OpenVPN tunnel (client-kill through openvpn_management), then every process of\n"
     "the account (SIGTERM, SIGKILL after 5 s; processes_terminated audited with the PIDs).\n"
     "Sessions whose window ends within warn_before are warned on their terminal once.\n"
     "Idempotent; run it every minute (the pam-vendor-expire.timer unit).\n\nExample:\n  "
     "otpctl expire"},
    {"sessions", cmd_sessions, "sessions",
     "Who is connected now: each live vendor SSH session and OpenVPN tunnel recorded in\n"
     "session_dir, with its address, since when, until when the vendor's window lets it\n"
     "stay, its id and the process (sshd) or tunnel that carries it. A record whose process\n"
     "is gone is shown as STALE.\n\nExample:\n  otpctl sessions"},
    {"sessions kill", cmd_sessions_kill, "sessions kill ID",
     "End one live session, as otpctl expire does (session_terminated audited; SIGTERM to\n"
     "sshd's monitor, SIGKILL after 5 s; a tunnel through openvpn_management). ID as\n"
     "otpctl sessions shows it.\n\nExample:\n  otpctl sessions kill "
     "3f0c9a1e5b7d4c2a8e6f1b3d5c7a9e0f"},
    {"sessions play", cmd_sessions_play, "sessions play ID [--speed N]",
     "Replay the recording of a vendor session (live or finished) on this terminal, with\n"
     "its timing (--speed 2: twice as fast). ID as otpctl sessions or otpctl report shows\n"
     "it. A recording that is missing or garbled is refused, saying so.\n\n"
     "Example:\n  otpctl sessions play 3f0c9a1e5b7d4c2a8e6f1b3d5c7a9e0f --speed 4"},
    {"sessions follow", cmd_sessions_follow, "sessions follow ID",
     "Show what a live vendor session shows, as it happens (read-only: nothing typed here\n"
     "reaches the session), from its start; ends when the session ends.\n\n"
     "Example:\n  otpctl sessions follow 3f0c9a1e5b7d4c2a8e6f1b3d5c7a9e0f"},
    {"watch", cmd_watch, "watch [--vendor NAME]",
     "Follow the audit log live: one line per decision and session event, the reason in\n"
     "words (--json: one JSON object a line, with a \"summary\"). Every line is checked as\n"
     "audit verify does, across rotation; a line that breaks the chain ends the watch with\n"
     "exit 1, naming it. Runs until interrupted.\n\nExample:\n  otpctl watch --vendor acme"},
    {"doctor", cmd_doctor,
     "doctor [--service NAME] [--pam-dir DIR] [--sshd-config FILE] [--skip ID]...",
     "Check the deployment: sshd settings, the PAM stack, files and modes, the audit log,\n"
     "vendor accounts (privileges, key, locked password), what vendors could schedule\n"
     "outside their windows (cron, at, linger), TTY auditing, log retention, pending\n"
     "security updates, time synchronisation and syslog. Each finding says what is\n"
     "wrong and the exact fix. --service openvpn checks OpenVPN's stack (auth and account);\n"
     "--skip leaves out a check or an area (system.security_updates, sshd). Exit 0 when\n"
     "clean, 1 with findings.\n\n"
     "Example:\n  otpctl doctor --skip system.security_updates"},
    {"db init", cmd_db_init, "db init",
     "Create the pam_vendor tables in the PostgreSQL database named by pg_conninfo (once, for\n"
     "all gateways; store_backend = postgresql). Refused when they exist.\n\n"
     "Example:\n  otpctl db init"},
    {"db upgrade", cmd_db_upgrade, "db upgrade",
     "Bring the database schema to the version this otpctl knows (nothing to do when it is\n"
     "there already).\n\nExample:\n  otpctl db upgrade"},
    {"store migrate", cmd_store_migrate, "store migrate --to postgresql|file",
     "Copy every vendor from the configured store to the other backend (store_dir or\n"
     "pg_conninfo from the same configuration), verify each copy, leave the source untouched.\n"
     "Then switch store_backend.\n\nExample:\n  otpctl store migrate --to postgresql"},
    {"unlock", cmd_unlock, "unlock NAME",
     "Clear a vendor's lockout and failure count.\n\nExample:\n  otpctl unlock acme"},
    {"totp enroll", cmd_totp_enroll, "totp enroll NAME [--rotate] [--svg FILE] [--invert]",
     "Create a TOTP secret (6 digits, 30 s) for the structure's authenticator app and show it\n"
     "as a QR code and an otpauth:// URI; --svg also writes the QR code to FILE (mode 0600,\n"
     "black on white). --rotate replaces an existing secret. On a terminal the code is drawn\n"
     "in explicit black and white and reads on any background; piped (or with NO_COLOR) it\n"
     "uses the terminal's own colours and suits light text on a dark background: add\n"
     "--invert for dark text on a light background.\n\n"
     "Example:\n  otpctl totp enroll acme --svg /root/acme-totp.svg"},
    {"audit verify", cmd_audit_verify,
     "audit verify [--recordings] | [--verify-key KEY]... | --all-hosts "
     "[--verify-key HOST=KEY]... [--unsealed-ok HOST]...",
     "Check the audit log's MAC chain across rotated files and against the stored head.\n"
     "Exit 0 when intact, 1 naming the first bad line. --all-hosts (store_backend =\n"
     "postgresql): check every gateway's chain as copied to the database's audit table,\n"
     "against each host's head there: a missing first, middle or last line is named.\n"
     "--verify-key KEY (or - to read it from standard input, once): also check every seal\n"
     "with the verification key printed by audit setup-sealing, and that the log is sealed\n"
     "up to one epoch before now unless sealing was stopped on purpose; says until when it\n"
     "is sealed. Repeat it for each sealing run (a key per audit setup-sealing): each key\n"
     "is checked in turn. With --all-hosts, HOST=KEY checks HOST's seals in the table;\n"
     "once a key is given, a host without one fails unless named by --unsealed-ok.\n"
     "--recordings: also check each session recording kept (recording_keep) against the\n"
     "size and BLAKE2b digest of its session_close line; each one edited, cut or deleted\n"
     "is named, and the exit status is 1.\n\n"
     "Example:\n  otpctl audit verify --verify-key -"},
    {"audit stop-sealing", cmd_audit_stop_sealing, "audit stop-sealing",
     "Stop forward-secure sealing on purpose (before a move or a reinstallation): seals\n"
     "the ended epochs, writes a sealed seal_stop line, then wipes the sealing key and\n"
     "removes its state. audit verify --verify-key then reports the stop instead of a\n"
     "log that stopped being sealed; lines after it are counted as not sealed. audit\n"
     "setup-sealing starts a new run, with a new verification key.\n\n"
     "Example:\n  otpctl audit stop-sealing"},
    {"audit setup-sealing", cmd_audit_setup_sealing, "audit setup-sealing [--invert]",
     "Start forward-secure sealing of the audit log (otpctl init does it for a new\n"
     "installation): a sealing key that evolves every audit_seal_epoch and forgets the old\n"
     "one. Prints the verification key once, as text and QR code (--invert: for dark text on\n"
     "a light background): keep it off this machine. Refused when sealing is set up.\n\n"
     "Example:\n  otpctl audit setup-sealing"},
    {"audit", cmd_audit, "audit [--vendor NAME] [--since TIME] [--until TIME] [--all-hosts]",
     "Show decisions and admin actions (default: the last six months). --all-hosts\n"
     "(store_backend = postgresql): every gateway's, from the database's audit table\n"
     "(filtered by the server).\n"
     "TIME for --since and --until, in local time: today or yesterday (from midnight),\n"
     "2h ago, -2h or 2h (that long before now; any DURATION), 2026-11-25 (midnight),\n"
     "'2026-11-25 14:00', HH:MM (today) or RFC 3339 (2026-11-25T14:00:00Z).\n\n"
     "Example:\n  otpctl audit --vendor acme --since yesterday --until today"},
    {"report", cmd_report, "report [--since TIME] [--until TIME] [--vendor NAME] [--all-hosts]",
     "One row per session: user, source address, start, end, duration (default: the last six\n"
     "months). --all-hosts (store_backend = postgresql): the sessions of every gateway, from\n"
     "the database's audit table. TIME: as for audit (today, yesterday, 2h ago, a date,\n"
     "HH:MM or RFC 3339; local time).\n\nExample:\n  otpctl report --since 2026-06-01"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const struct command *ctl_find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void print_help(void)
{
	size_t i;

	printf("usage: otpctl [--config PATH] [--json] COMMAND ...\n\n"
	       "Admin CLI of pam_vendor: enable maintenance vendors for a time window and issue\n"
	       "the one-time codes read to them over the phone.\n\nCommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		printf("  otpctl %s\n", commands[i].usage);
	printf("\nOptions:\n"
	       "  --config PATH  configuration file (default: $PAM_VENDOR_CONFIG, else %s)\n"
	       "  --json         print the result as one JSON object\n"
	       "  --help         this text; otpctl COMMAND --help explains one command\n"
	       "  --version      print the version\n\n"
	       "Exit status: 0 success, 1 refused or failed, 2 usage error.\n",
	       PV_DEFAULT_CONFIG);
}

/* Who is acting: the admin behind sudo when there is one, else the real user. */
static void find_admin(char *buf, size_t len)
{
	const char *sudo_user = getenv("SUDO_USER");
	struct pv_err err;
	size_t i;

	if (sudo_user != NULL && sudo_user[0] != '\0')
		snprintf(buf, len, "%s", sudo_user);
	else if (pv_account_name(getuid(), buf, len, &err) != PV_OK)
		snprintf(buf, len, "uid %u", (unsigned)getuid());
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7F)
			buf[i] = '?';
}

/* Take "--json" out of argv wherever it stands before "--" (people type it last). */
static bool take_json_flag(int *argc, char **argv)
{
	bool found = false;
	int out = 0;
	int i;
	bool literal = false;

	for (i = 0; i < *argc; i++) {
		if (!literal && strcmp(argv[i], "--") == 0)
			literal = true;
		if (!literal && strcmp(argv[i], "--json") == 0) {
			found = true;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argc = out;
	return found;
}

/* "vendor key add" is three words, "vendor add" and friends two; everything else is one. */
static const struct command *lookup(int argc, char **argv, int *words)
{
	char name[64];
	const struct command *cmd;

	if (argc >= 3) {
		snprintf(name, sizeof(name), "%s %s %s", argv[0], argv[1], argv[2]);
		cmd = ctl_find_command(name);
		if (cmd != NULL) {
			*words = 3;
			return cmd;
		}
	}
	if (argc >= 2) {
		snprintf(name, sizeof(name), "%s %s", argv[0], argv[1]);
		cmd = ctl_find_command(name);
		if (cmd != NULL) {
			*words = 2;
			return cmd;
		}
	}
	*words = 1;
	return ctl_find_command(argv[0]);
}

int main(int argc, char **argv)
{
	struct otpctl ctl;
	const struct command *cmd;
	const char *env;
	char joined[64];
	int words = 1;
	int i = 1;
	int rc;

	memset(&ctl, 0, sizeof(ctl));
	ctl.json = take_json_flag(&argc, argv);
	env = getenv("PAM_VENDOR_CONFIG");
	ctl.config_path = (env != NULL && env[0] != '\0') ? env : PV_DEFAULT_CONFIG;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			ctl.config_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			ctl.config_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			print_help();
			return EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("otpctl %s\n", PV_VERSION);
			return EXIT_OK;
		} else {
			return ctl_usage_error(NULL, "unknown option %.64s (see otpctl --help)",
			                       argv[i]);
		}
	}
	if (i >= argc) {
		print_help();
		return EXIT_USAGE;
	}
	cmd = lookup(argc - i, argv + i, &words);
	if (cmd == NULL)
		return ctl_usage_error(NULL, "unknown command \"%.64s\" (see otpctl --help)",
		                       argv[i]);
	/* The command sees its own name as argv[0]. */
	snprintf(joined, sizeof(joined), "%s", cmd->name);
	argv[i + words - 1] = joined;
	argc -= i + words - 1;
	argv += i + words - 1;
	if (ctl_wants_help(cmd, argc, argv))
		return EXIT_OK;
	if (geteuid() != 0) {
		ctl_error("otpctl must run as root (the key, store and audit log are root's)");
		return EXIT_FAIL;
	}
	find_admin(ctl.admin, sizeof(ctl.admin));
	ctl.now = (int64_t)time(NULL);
	tzset(); /* once: local times in every listing use this zone */
	openlog("otpctl", LOG_PID, LOG_AUTHPRIV);
	rc = cmd->run(&ctl, argc, argv);
	/* After any change to a vendor (even a refused one: rebuilding is harmless), the keys
	 * view follows the store; only commands that opened the store can have changed it. */
	if (rc != EXIT_USAGE && ctl.store != NULL && ctl_changes_vendors(cmd->name) &&
	    ctl_keys_view_refresh(&ctl, NULL) != EXIT_OK)
		rc = EXIT_FAIL;
	ctl_close(&ctl);
	closelog();
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		ctl_error("cannot write the output");
		rc = EXIT_FAIL;
	}
	return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_doctor.c — `otpctl doctor`: options, then the checks (doctor.c and doctor_*.c). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "deferred.h"
#include "doctor.h"

/* A PAM service name is a file name in the PAM directory: no '/', not "." or "..". */
static bool service_name_ok(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0 && strlen(name) < 256;
}

static int parse_options(const struct command *cmd, int argc, char **argv, struct dr_options *opt)
{
	static const struct option longopts[] = {
	    {"service", required_argument, NULL, 's'},
	    {"pam-dir", required_argument, NULL, 'p'},
	    {"sshd-config", required_argument, NULL, 'f'},
	    {"sshd", required_argument, NULL, 'x'},
	    {"passwd", required_argument, NULL, 'w'},
	    {"dev-log", required_argument, NULL, 'l'},
	    {"rsyslog-conf", required_argument, NULL, 'r'},
	    {"logrotate-dir", required_argument, NULL, 'g'},
	    {"skip", required_argument, NULL, 'k'},
	    {"etc-dir", required_argument, NULL, 'e'},
	    {"spool-dir", required_argument, NULL, 'S'},
	    {"linger-dir", required_argument, NULL, 'L'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 0; /* 0, not 1: glibc then reinitialises getopt's internal state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1 || optind < argc) {
		if (c == -1)
			return ctl_usage_error(cmd, "unexpected argument \"%.64s\"", argv[optind]);
		if (c == '?' || c == ':')
			return ctl_usage_error(cmd, "unknown or incomplete option %.64s",
			                       argv[optind - 1]);
		if (optarg[0] == '\0')
			return ctl_usage_error(cmd, "%.64s needs a value", argv[optind - 1]);
		switch (c) {
		case 's':
			opt->service = optarg;
			break;
		case 'p':
			opt->pam_dir = optarg;
			break;
		case 'f':
			opt->sshd_config = optarg;
			break;
		case 'x':
			opt->sshd = optarg;
			break;
		case 'w':
			opt->passwd = optarg;
			break;
		case 'l':
			opt->dev_log = optarg;
			break;
		case 'g':
			opt->logrotate_dir = optarg;
			break;
		case 'k':
			if (!dr_check_known(optarg))
				return ctl_usage_error(cmd,
				                       "--skip takes a check id as doctor lists it "
				                       "(system.security_updates) or an area "
				                       "(system), not \"%.64s\"",
				                       optarg);
			opt->skip[opt->n_skip++] = optarg;
			break;
		case 'e':
			opt->etc_dir = optarg;
			break;
		case 'S':
			opt->spool_dir = optarg;
			break;
		case 'L':
			opt->linger_dir = optarg;
			break;
		default:
			opt->rsyslog_conf = optarg;
			break;
		}
	}
	if (!service_name_ok(opt->service))
		return ctl_usage_error(cmd,
		                       "--service takes a PAM service name (a file of the PAM "
		                       "directory), not \"%.64s\"",
		                       opt->service);
	if (opt->sshd[0] != '/')
		return ctl_usage_error(cmd, "--sshd takes an absolute path");
	return EXIT_OK;
}

int cmd_doctor(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("doctor");
	struct doctor d;
	int rc;

	memset(&d, 0, sizeof(d));
	d.ctl = ctl;
	d.opt.service = "sshd";
	d.opt.pam_dir = "/etc/pam.d";
	d.opt.sshd_config = NULL;
	d.opt.sshd = "/usr/sbin/sshd";
	d.opt.passwd = "/etc/passwd";
	d.opt.dev_log = "/dev/log";
	d.opt.rsyslog_conf = "/etc/rsyslog.conf";
	d.opt.logrotate_dir = "/etc/logrotate.d";
	/* At most one --skip per argument. */
	d.opt.skip = calloc((size_t)argc + 1, sizeof(*d.opt.skip));
	if (d.opt.skip == NULL) {
		ctl_error("out of memory");
		return EXIT_FAIL;
	}
	d.opt.etc_dir = dfr_debian_paths.etc_dir;
	d.opt.spool_dir = dfr_debian_paths.spool_dir;
	d.opt.linger_dir = dfr_debian_paths.linger_dir;
	rc = parse_options(cmd, argc, argv, &d.opt);
	if (rc == EXIT_OK)
		rc = dr_run(&d);
	dr_free(&d);
	free(d.opt.skip);
	return rc;
}

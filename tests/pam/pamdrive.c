/* SPDX-License-Identifier: BSD-3-Clause */
/* pamdrive.c — a small PAM application for the module tests: runs the real libpam with a
 * private configuration directory (pam_start_confdir), the way sshd and OpenVPN call a
 * module, and prints each step's PAM return code. The host's /etc/pam.d is never used.
 *
 * pamdrive --confdir DIR --service NAME --user U [--rhost R] [--code C | --null-resp |
 *          --conv-err | --no-conv] [--code-file F] [--first-answer A] [--echo-on-answer A]
 *          [--steps LIST]
 *          [--repeat N]
 * --first-answer: the first echo-off prompt gets A (an earlier module's password), the
 * others the code. LIST: comma-separated auth,account,open,close (default auth,account).
 * Output: "auth=PAM_SUCCESS" ... one per step, "prompts=N", "fail_delay_usec=N". Exit 0
 * when every step returned PAM_SUCCESS, 1 otherwise, 2 on usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_appl.h>

struct conv_state {
	const char *code;
	const char *first_answer; /* answer to the first echo-off prompt only, when set */
	const char *echo_on_answer;
	int mode; /* 0 normal, 1 null response, 2 conversation error */
	int prompts;
};

static unsigned fail_delay_usec;

static int conversation(int n, const struct pam_message **msg, struct pam_response **resp,
                        void *appdata)
{
	struct conv_state *st = appdata;
	struct pam_response *r;
	int i;

	if (st->mode == 2)
		return PAM_CONV_ERR;
	if (st->mode == 1) {
		*resp = NULL; /* "success" with no answer, as a client hitting Ctrl-D */
		st->prompts += n;
		return PAM_SUCCESS;
	}
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			st->prompts++;
			if (st->first_answer != NULL && st->prompts == 1)
				r[i].resp = strdup(st->first_answer);
			else
				r[i].resp = strdup(st->code ? st->code : "");
			break;
		case PAM_PROMPT_ECHO_ON:
			st->prompts++;
			r[i].resp = strdup(st->echo_on_answer ? st->echo_on_answer : "");
			break;
		default:
			printf("message=%s\n", msg[i]->msg);
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* Record the delay the module asks for instead of sleeping (tests stay fast). */
static void record_delay(int retval, unsigned usec, void *appdata)
{
	fail_delay_usec = usec;
}

static const char *code_name(int rc)
{
	switch (rc) {
	case PAM_SUCCESS:
		return "PAM_SUCCESS";
	case PAM_IGNORE:
		return "PAM_IGNORE";
	case PAM_AUTH_ERR:
		return "PAM_AUTH_ERR";
	case PAM_PERM_DENIED:
		return "PAM_PERM_DENIED";
	case PAM_MAXTRIES:
		return "PAM_MAXTRIES";
	case PAM_CONV_ERR:
		return "PAM_CONV_ERR";
	case PAM_USER_UNKNOWN:
		return "PAM_USER_UNKNOWN";
	case PAM_SYSTEM_ERR:
		return "PAM_SYSTEM_ERR";
	case PAM_SESSION_ERR:
		return "PAM_SESSION_ERR";
	case PAM_BUF_ERR:
		return "PAM_BUF_ERR";
	case PAM_AUTHTOK_ERR:
		return "PAM_AUTHTOK_ERR";
	case PAM_ABORT:
		return "PAM_ABORT";
	default:
		return "PAM_OTHER";
	}
}

/* A code too large for argv (Linux caps one argument at 128 KiB): read it from a file. */
static const char *read_code_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	static char *data;
	long size;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (data = calloc(1, (size_t)size + 1)) == NULL ||
	    fread(data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "pamdrive: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	return data;
}

static const char *arg_value(int *i, int argc, char **argv)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "pamdrive: %s needs a value\n", argv[*i]);
		exit(2);
	}
	return argv[++*i];
}

static int run_step(pam_handle_t *pamh, const char *step)
{
	if (strcmp(step, "auth") == 0)
		return pam_authenticate(pamh, 0);
	if (strcmp(step, "account") == 0)
		return pam_acct_mgmt(pamh, 0);
	if (strcmp(step, "open") == 0)
		return pam_open_session(pamh, 0);
	if (strcmp(step, "close") == 0)
		return pam_close_session(pamh, 0);
	if (strcmp(step, "setcred") == 0)
		return pam_setcred(pamh, PAM_ESTABLISH_CRED);
	if (strcmp(step, "chauthtok") == 0)
		return pam_chauthtok(pamh, 0);
	fprintf(stderr, "pamdrive: unknown step %s\n", step);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *confdir = NULL, *service = "pvtest", *user = NULL, *rhost = NULL;
	const char *steps = "auth,account";
	struct conv_state st = {0};
	struct pam_conv conv = {conversation, &st};
	int no_conv = 0;
	int repeat = 1;
	int all_ok = 1;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--confdir") == 0)
			confdir = arg_value(&i, argc, argv);
		else if (strcmp(argv[i], "--service") == 0)
			service = arg_value(&i, argc, argv);
		else if (strcmp(argv[i], "--user") == 0)
			user = arg_value(&i, argc, argv);
		else if (strcmp(argv[i], "--rhost") == 0)
			rhost = arg_value(&i, argc, argv);
		else if (strcmp(argv[i], "--code") == 0)
			st.code = arg_value(&i, argc, argv);
		else if (strcmp(argv[i], "--first-answer") == 0)
			st.first_answer = arg_value(&i, argc, argv);
		else if (strcmp(argv[i], "--code-file") == 0)
			st.code = read_code_file(arg_value(&i, argc, argv));
		else if (strcmp(argv[i], "--echo-on-answer") == 0)
			st.echo_on_answer = arg_value(&i, argc, argv);
		else if (strcmp(argv[i], "--steps") == 0)
			steps = arg_value(&i, argc, argv);
		else if (strcmp(argv[i], "--repeat") == 0)
			repeat = atoi(arg_value(&i, argc, argv));
		else if (strcmp(argv[i], "--null-resp") == 0)
			st.mode = 1;
		else if (strcmp(argv[i], "--conv-err") == 0)
			st.mode = 2;
		else if (strcmp(argv[i], "--no-conv") == 0)
			no_conv = 1;
		else {
			fprintf(stderr, "pamdrive: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (confdir == NULL) {
		fprintf(stderr, "pamdrive: --confdir is required\n");
		return 2;
	}
	while (repeat-- > 0) {
		pam_handle_t *pamh = NULL;
		char list[256];
		char *save = NULL;
		char *step;
		int rc;

		rc = pam_start_confdir(service, user, &conv, confdir, &pamh);
		if (rc != PAM_SUCCESS) {
			printf("start=%s\n", code_name(rc));
			return 1;
		}
		if (no_conv) {
			/* pam_start needs a conversation; clear the item afterwards. */
			struct pam_conv empty = {NULL, NULL};
			pam_set_item(pamh, PAM_CONV, &empty);
		}
		if (rhost != NULL)
			pam_set_item(pamh, PAM_RHOST, rhost);
		pam_set_item(pamh, PAM_TTY, "ssh");
		pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)record_delay);
		snprintf(list, sizeof(list), "%s", steps);
		for (step = strtok_r(list, ",", &save); step != NULL;
		     step = strtok_r(NULL, ",", &save)) {
			rc = run_step(pamh, step);
			if (repeat == 0)
				printf("%s=%s\n", step, code_name(rc));
			if (rc != PAM_SUCCESS)
				all_ok = 0;
		}
		pam_end(pamh, PAM_SUCCESS);
	}
	printf("prompts=%d\n", st.prompts);
	printf("fail_delay_usec=%u\n", fail_delay_usec);
	return all_ok ? 0 : 1;
}

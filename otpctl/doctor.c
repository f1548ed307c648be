/* SPDX-License-Identifier: BSD-3-Clause */
/* doctor.c — `otpctl doctor`'s runner and output: runs the check tables in order, collects
 * findings, passed and skipped checks, and prints them (human text or one JSON object). */
#include "doctor.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "doctor_pamconf.h"
#include "doctor_sshdconf.h"

/* Configuration, key and store first: later checks use what they load. The accounts come
 * before sshd: a vendor outside vendor_group is the root cause of what sshd then shows. */
static const struct dr_check *const tables[] = {
    dr_files_checks,  dr_account_checks, dr_sshd_checks,  dr_pam_checks,       dr_audit_checks,
    dr_system_checks, dr_vendor_checks,  dr_sched_checks, dr_recording_checks,
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

void dr_one_line(char *text)
{
	size_t len;
	char *p;

	len = strlen(text);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	for (p = text; *p != '\0'; p++) {
		if (*p == '\n')
			*p = ';';
		else if ((unsigned char)*p < 0x20 || *p == 0x7F)
			*p = '?';
	}
}

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static void add_finding(struct doctor *d, enum dr_severity sev, const char *id, const char *fix,
                        char *what)
{
	struct dr_finding *grown;
	struct dr_finding *f;

	if (what == NULL) {
		d->out_of_memory = true;
		return;
	}
	grown = realloc(d->findings, (d->n_findings + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(what);
		d->out_of_memory = true;
		return;
	}
	d->findings = grown;
	f = &d->findings[d->n_findings];
	memset(f, 0, sizeof(*f));
	snprintf(f->id, sizeof(f->id), "%s", id);
	f->severity = sev;
	f->what = what;
	f->fix = strdup(fix != NULL ? fix : "");
	if (f->fix == NULL) {
		free(what);
		d->out_of_memory = true;
		return;
	}
	dr_one_line(f->what);
	dr_one_line(f->fix);
	d->n_findings++;
}

void dr_finding(struct doctor *d, enum dr_severity sev, const char *id, const char *fix,
                const char *what_fmt, ...)
{
	va_list ap;
	char *what;

	va_start(ap, what_fmt);
	what = vformat(what_fmt, ap);
	va_end(ap);
	add_finding(d, sev, id, fix, what);
}

void dr_core_finding(struct doctor *d, enum dr_severity sev, const char *id, const char *msg,
                     const char *fallback_fix)
{
	const char *run = strstr(msg, "; run: ");
	char *what;

	if (run == NULL) {
		what = strdup(msg);
		add_finding(d, sev, id, fallback_fix, what);
		return;
	}
	what = strndup(msg, (size_t)(run - msg));
	add_finding(d, sev, id, run + strlen("; run: "), what);
}

static struct dr_finding *find_finding(struct doctor *d, const char *id)
{
	size_t i;

	for (i = 0; i < d->n_findings; i++)
		if (strcmp(d->findings[i].id, id) == 0)
			return &d->findings[i];
	return NULL;
}

/* Name the symptom in the cause's text and list its id there. */
static void attach_symptom(struct doctor *d, struct dr_finding *cause, const char *id,
                           const char *what)
{
	char **grown;
	char *text = NULL;

	grown = realloc(cause->symptoms, (cause->n_symptoms + 1) * sizeof(*grown));
	if (grown == NULL) {
		d->out_of_memory = true;
		return;
	}
	cause->symptoms = grown;
	grown[cause->n_symptoms] = strdup(id);
	if (grown[cause->n_symptoms] == NULL ||
	    asprintf(&text, "%s. It also causes %s (not reported apart): %s", cause->what, id,
	             what) < 0) {
		free(grown[cause->n_symptoms]);
		d->out_of_memory = true;
		return;
	}
	cause->n_symptoms++;
	dr_one_line(text);
	free(cause->what);
	cause->what = text;
	d->noted_symptom = true;
}

void dr_symptom(struct doctor *d, const char *cause_id, const char *id, const char *fix,
                const char *what_fmt, ...)
{
	struct dr_finding *cause = find_finding(d, cause_id);
	va_list ap;
	char *what;

	va_start(ap, what_fmt);
	what = vformat(what_fmt, ap);
	va_end(ap);
	if (cause == NULL) {
		add_finding(d, DR_ERROR, id, fix, what);
		return;
	}
	if (what == NULL) {
		d->out_of_memory = true;
		return;
	}
	attach_symptom(d, cause, id, what);
	free(what);
}

void dr_skip(struct doctor *d, const char *why_fmt, ...)
{
	struct dr_skipped *grown;
	va_list ap;

	d->skipping = true;
	grown = realloc(d->skipped, (d->n_skipped + 1) * sizeof(*grown));
	if (grown == NULL) {
		d->out_of_memory = true;
		return;
	}
	d->skipped = grown;
	grown[d->n_skipped].id = NULL; /* set by the runner */
	va_start(ap, why_fmt);
	vsnprintf(grown[d->n_skipped].why, sizeof(grown[d->n_skipped].why), why_fmt, ap);
	va_end(ap);
	dr_one_line(grown[d->n_skipped].why);
	d->n_skipped++;
}

static void add_passed(struct doctor *d, const char *id)
{
	const char **grown = realloc(d->passed, (d->n_passed + 1) * sizeof(*grown));

	if (grown == NULL) {
		d->out_of_memory = true;
		return;
	}
	d->passed = grown;
	d->passed[d->n_passed++] = id;
}

/* Does a --skip value name this check: its id, or its area (the id up to a dot)? */
static bool pattern_names(const char *pattern, const char *id)
{
	size_t n = strlen(pattern);

	return strcmp(pattern, id) == 0 || (strncmp(pattern, id, n) == 0 && id[n] == '.');
}

bool dr_check_known(const char *pattern)
{
	const struct dr_check *check;
	size_t t;

	for (t = 0; t < N_TABLES; t++)
		for (check = tables[t]; check->id != NULL; check++)
			if (pattern_names(pattern, check->id))
				return true;
	return false;
}

static const char *skip_requested(const struct doctor *d, const char *id)
{
	size_t i;

	for (i = 0; i < d->opt.n_skip; i++)
		if (pattern_names(d->opt.skip[i], id))
			return d->opt.skip[i];
	return NULL;
}

static void run_check(struct doctor *d, const struct dr_check *check)
{
	size_t findings_before = d->n_findings;
	size_t skipped_before = d->n_skipped;
	const char *skip = skip_requested(d, check->id);
	size_t i;

	d->skipping = false;
	d->noted_symptom = false;
	if (skip != NULL)
		dr_skip(d, "not run: --skip %s", skip);
	else
		check->run(d);
	for (i = skipped_before; i < d->n_skipped; i++)
		d->skipped[i].id = check->id;
	if (!d->skipping && !d->noted_symptom && d->n_findings == findings_before)
		add_passed(d, check->id);
}

static size_t count_severity(const struct doctor *d, enum dr_severity sev)
{
	size_t n = 0;
	size_t i;

	for (i = 0; i < d->n_findings; i++)
		if (d->findings[i].severity == sev)
			n++;
	return n;
}

static const char *severity_name(enum dr_severity sev)
{
	return sev == DR_ERROR ? "error" : "warning";
}

static int print_json(const struct doctor *d)
{
	struct pv_buf b;
	bool first;
	size_t i;
	size_t j;
	int rc;

	pv_buf_init(&b, 16 * 1024 * 1024);
	pv_buf_puts(&b, "{\"findings\":[");
	for (i = 0; i < d->n_findings; i++) {
		first = true;
		pv_buf_puts(&b, i ? ",{" : "{");
		pv_json_key_string(&b, &first, "id", d->findings[i].id);
		pv_json_key_string(&b, &first, "severity", severity_name(d->findings[i].severity));
		pv_json_key_string(&b, &first, "what", d->findings[i].what);
		pv_json_key_string(&b, &first, "fix", d->findings[i].fix);
		pv_buf_puts(&b, ",\"symptoms\":[");
		for (j = 0; j < d->findings[i].n_symptoms; j++) {
			if (j)
				pv_buf_puts(&b, ",");
			pv_json_string(&b, d->findings[i].symptoms[j]);
		}
		pv_buf_puts(&b, "]}");
	}
	pv_buf_puts(&b, "],\"passed\":[");
	for (i = 0; i < d->n_passed; i++) {
		if (i)
			pv_buf_puts(&b, ",");
		pv_json_string(&b, d->passed[i]);
	}
	pv_buf_puts(&b, "],\"skipped\":[");
	for (i = 0; i < d->n_skipped; i++) {
		first = true;
		pv_buf_puts(&b, i ? ",{" : "{");
		pv_json_key_string(&b, &first, "id", d->skipped[i].id);
		pv_json_key_string(&b, &first, "why", d->skipped[i].why);
		pv_buf_puts(&b, "}");
	}
	pv_buf_puts(&b, "],");
	first = true;
	pv_json_key_bool(&b, &first, "clean", d->n_findings == 0);
	pv_buf_puts(&b, "}");
	rc = ctl_print_json(&b);
	pv_buf_free(&b);
	return rc;
}

static void print_text(const struct doctor *d)
{
	size_t errors = count_severity(d, DR_ERROR);
	size_t warnings = count_severity(d, DR_WARNING);
	size_t i;

	for (i = 0; i < d->n_findings; i++) {
		const struct dr_finding *f = &d->findings[i];

		printf("%-8s %s\n         %s\n", f->severity == DR_ERROR ? "ERROR" : "WARNING",
		       f->id, f->what);
		if (f->fix[0] != '\0')
			printf("         fix: %s\n", f->fix);
	}
	for (i = 0; i < d->n_skipped; i++)
		printf("%-8s %s: %s\n", "skipped", d->skipped[i].id, d->skipped[i].why);
	for (i = 0; i < d->n_passed; i++)
		printf("%-8s %s\n", "ok", d->passed[i]);
	if (d->n_findings == 0)
		printf("No findings: %zu checks passed", d->n_passed);
	else
		printf("%zu finding%s (%zu error%s, %zu warning%s); %zu checks passed",
		       d->n_findings, d->n_findings == 1 ? "" : "s", errors, errors == 1 ? "" : "s",
		       warnings, warnings == 1 ? "" : "s", d->n_passed);
	if (d->n_skipped > 0)
		printf(", %zu skipped", d->n_skipped);
	printf(".\n");
}

int dr_run(struct doctor *d)
{
	const struct dr_check *check;
	size_t t;
	int rc;

	d->service = dr_service_find(d->opt.service);
	for (t = 0; t < N_TABLES; t++)
		for (check = tables[t]; check->id != NULL; check++)
			run_check(d, check);
	if (d->out_of_memory) {
		ctl_error("out of memory: the doctor's results are incomplete");
		return EXIT_FAIL;
	}
	if (d->ctl->json) {
		rc = print_json(d);
		if (rc != EXIT_OK)
			return rc;
	} else {
		print_text(d);
	}
	return d->n_findings == 0 ? EXIT_OK : EXIT_FAIL;
}

void dr_free(struct doctor *d)
{
	size_t i;
	size_t j;

	for (i = 0; i < d->n_findings; i++) {
		free(d->findings[i].what);
		free(d->findings[i].fix);
		for (j = 0; j < d->findings[i].n_symptoms; j++)
			free(d->findings[i].symptoms[j]);
		free(d->findings[i].symptoms);
	}
	free(d->findings);
	free(d->passed);
	free(d->skipped);
	free(d->vendors);
	free(d->sshd_out);
	dr_pam_free(d->pam);
	dr_sshd_conf_free(d->sshd_conf);
	d->sshd_conf = NULL;
	d->findings = NULL;
	d->passed = NULL;
	d->skipped = NULL;
	d->vendors = NULL;
	d->sshd_out = NULL;
	d->pam = NULL;
}

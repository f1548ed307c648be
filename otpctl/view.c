/* SPDX-License-Identifier: BSD-3-Clause */
/* view.c — how otpctl shows a vendor record: window state, addresses, codes, failures. Only
 * non-secret fields are ever printed (no code hash, no TOTP secret). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ipmatch.h"
#include "otpctl.h"
#include "timeparse.h"

const char *ctl_window_name(enum pv_window state)
{
	switch (state) {
	case PV_WINDOW_UPCOMING:
		return "upcoming";
	case PV_WINDOW_OPEN:
		return "open";
	case PV_WINDOW_CLOSED:
		return "closed";
	case PV_WINDOW_NONE:
		break;
	}
	return "none";
}

void ctl_format_ips(const struct pv_cidr *ips, size_t n, char *buf, size_t len)
{
	size_t used = 0;
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < n && used < len; i++) {
		char one[PV_IP_TEXT_MAX];
		int w;
		pv_cidr_format(&ips[i], one, sizeof(one));
		w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", one);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

size_t ctl_outstanding_codes(const struct pv_record *rec, int64_t now)
{
	size_t count = 0;
	size_t i;

	for (i = 0; i < rec->n_codes; i++)
		if (rec->codes[i].used_at == 0 && now < rec->codes[i].expires)
			count++;
	return count;
}

void ctl_json_time(struct pv_buf *b, bool *first, const char *key, int64_t t)
{
	char text[PV_TIME_TEXT_MAX];

	if (t <= 0) {
		pv_json_key_string(b, first, key, NULL);
		return;
	}
	pv_format_utc((time_t)t, text, sizeof(text));
	pv_json_key_string(b, first, key, text);
}

void ctl_json_ips(struct pv_buf *b, bool *first, const char *key, const struct pv_cidr *ips,
                  size_t n)
{
	size_t i;

	if (!*first)
		pv_buf_puts(b, ",");
	*first = false;
	pv_json_string(b, key);
	pv_buf_puts(b, ":[");
	for (i = 0; i < n; i++) {
		char one[PV_IP_TEXT_MAX];
		pv_cidr_format(&ips[i], one, sizeof(one));
		if (i)
			pv_buf_puts(b, ",");
		pv_json_string(b, one);
	}
	pv_buf_puts(b, "]");
}

bool ctl_inside_hours(const struct pv_record *rec, int64_t now)
{
	int wday;
	int minute;

	pv_local_wday_minute(now, &wday, &minute);
	return pv_schedule_allows(&rec->hours, wday, minute);
}

void ctl_format_targets(const struct pv_record *rec, char *buf, size_t len)
{
	size_t used = 0;
	size_t i;

	snprintf(buf, len, "%s", rec->n_targets == 0 ? "none" : "");
	for (i = 0; i < rec->n_targets && used < len; i++) {
		char t[PV_IP_TEXT_MAX + 8];
		pv_target_format(&rec->targets[i], t, sizeof(t));
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", t);
	}
}

/* `"targets":["192.0.2.10:22"]` */
static void json_targets(struct pv_buf *b, bool *first, const struct pv_record *rec)
{
	size_t i;

	pv_buf_printf(b, "%s\"targets\":[", *first ? "" : ",");
	*first = false;
	for (i = 0; i < rec->n_targets; i++) {
		char t[PV_IP_TEXT_MAX + 8];
		pv_target_format(&rec->targets[i], t, sizeof(t));
		if (i)
			pv_buf_puts(b, ",");
		pv_json_string(b, t);
	}
	pv_buf_puts(b, "]");
}

void ctl_record_json(struct pv_buf *b, const struct pv_record *rec, int64_t now)
{
	char hours[PV_SCHEDULE_TEXT_MAX + 1];

	enum pv_window state = pv_window_state(rec, now);
	bool first = true;

	pv_buf_puts(b, "{");
	pv_json_key_string(b, &first, "vendor", rec->name);
	pv_json_key_string(b, &first, "note", rec->note[0] ? rec->note : NULL);
	ctl_json_ips(b, &first, "ips", rec->ips, rec->n_ips);
	pv_json_key_string(b, &first, "window", ctl_window_name(state));
	ctl_json_time(b, &first, "window_start", rec->window_end > 0 ? rec->window_start : 0);
	ctl_json_time(b, &first, "window_end", rec->window_end);
	if (state == PV_WINDOW_OPEN)
		pv_json_key_int(b, &first, "seconds_left", rec->window_end - now);
	else if (state == PV_WINDOW_UPCOMING)
		pv_json_key_int(b, &first, "seconds_to_start", rec->window_start - now);
	ctl_json_ips(b, &first, "window_ips", rec->window_ips, rec->n_window_ips);
	pv_schedule_format(&rec->hours, hours, sizeof(hours));
	pv_json_key_string(b, &first, "hours", hours[0] ? hours : NULL);
	pv_json_key_bool(b, &first, "inside_hours", ctl_inside_hours(rec, now));
	pv_json_key_int(b, &first, "outstanding_codes", (int64_t)ctl_outstanding_codes(rec, now));
	pv_json_key_int(b, &first, "failures", rec->failures);
	pv_json_key_bool(b, &first, "locked", rec->locked);
	pv_json_key_bool(b, &first, "totp", rec->totp_enrolled);
	ctl_json_time(b, &first, "last_login", rec->last_login);
	pv_json_key_string(b, &first, "last_login_rhost",
	                   rec->last_login > 0 ? rec->last_login_rhost : NULL);
	pv_json_key_int(b, &first, "keys", (int64_t)rec->n_keys);
	json_targets(b, &first, rec);
	pv_json_key_bool(b, &first, "shell", pv_record_shell_allowed(rec));
	pv_buf_puts(b, "}");
}

void ctl_record_text(FILE *out, const struct pv_record *rec, int64_t now)
{
	enum pv_window state = pv_window_state(rec, now);
	char ips[2048];
	char t1[PV_TIME_TEXT_MAX];
	char t2[PV_TIME_TEXT_MAX];
	char left[32];

	ctl_format_ips(rec->ips, rec->n_ips, ips, sizeof(ips));
	fprintf(out, "vendor:      %s\n", rec->name);
	if (rec->note[0] != '\0')
		fprintf(out, "note:        %s\n", rec->note);
	fprintf(out, "addresses:   %s\n", ips);
	if (state == PV_WINDOW_NONE) {
		fprintf(out, "window:      none (disabled)\n");
	} else {
		ctl_local_time(rec->window_start, t1, sizeof(t1));
		ctl_local_time(rec->window_end, t2, sizeof(t2));
		fprintf(out, "window:      %s, %s to %s", ctl_window_name(state), t1, t2);
		if (state == PV_WINDOW_OPEN) {
			pv_format_duration(rec->window_end - now, left, sizeof(left));
			fprintf(out, " (%s left)", left);
		} else if (state == PV_WINDOW_UPCOMING) {
			pv_format_duration(rec->window_start - now, left, sizeof(left));
			fprintf(out, " (starts in %s)", left);
		}
		fputc('\n', out);
		if (rec->n_window_ips > 0) {
			ctl_format_ips(rec->window_ips, rec->n_window_ips, ips, sizeof(ips));
			fprintf(out, "window from: %s\n", ips);
		}
	}
	if (rec->hours.n > 0) {
		char hours[PV_SCHEDULE_TEXT_MAX + 1];

		pv_schedule_format(&rec->hours, hours, sizeof(hours));
		fprintf(out, "hours:       %s (local time; now %s)\n", hours,
		        ctl_inside_hours(rec, now) ? "inside" : "OUTSIDE");
	}
	fprintf(out, "codes:       %zu outstanding\n", ctl_outstanding_codes(rec, now));
	fprintf(out, "failures:    %u%s\n", rec->failures,
	        rec->locked ? " (LOCKED: otpctl unlock)" : "");
	fprintf(out, "totp:        %s\n", rec->totp_enrolled ? "enrolled" : "no");
	ctl_format_targets(rec, ips, sizeof(ips));
	fprintf(out, "ssh keys:    %zu (otpctl vendor key list %s)\n", rec->n_keys, rec->name);
	fprintf(out, "targets:     %s\n", ips);
	fprintf(out, "shell:       %s\n", pv_record_shell_allowed(rec) ? "yes" : "no");
	if (rec->last_login > 0) {
		ctl_local_time(rec->last_login, t1, sizeof(t1));
		fprintf(out, "last login:  %s from %s\n", t1, rec->last_login_rhost);
	} else {
		fprintf(out, "last login:  never\n");
	}
}

int ctl_print_vendors_json(const struct otpctl *ctl, const struct pv_record *recs, size_t n)
{
	struct pv_buf b;
	size_t i;
	int rc;

	pv_buf_init(&b, 64 * 1024 * 1024);
	pv_buf_puts(&b, "{\"vendors\":[");
	for (i = 0; i < n; i++) {
		if (i)
			pv_buf_puts(&b, ",");
		ctl_record_json(&b, &recs[i], ctl->now);
	}
	pv_buf_puts(&b, "]}");
	rc = ctl_print_json(&b);
	pv_buf_free(&b);
	return rc;
}

int ctl_load_all(struct otpctl *ctl, struct pv_record **recs, size_t *n)
{
	char(*names)[PV_NAME_MAX + 1] = NULL;
	struct pv_record *list = NULL;
	struct pv_err err;
	size_t count = 0;
	size_t i;

	*recs = NULL;
	*n = 0;
	if (pv_store_list(ctl->store, &names, &count, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		return EXIT_FAIL;
	}
	list = calloc(count ? count : 1, sizeof(*list));
	if (list == NULL) {
		free(names);
		ctl_error("out of memory");
		return EXIT_FAIL;
	}
	for (i = 0; i < count; i++) {
		if (pv_store_load(ctl->store, &ctl->keys, names[i], &list[i], &err) != PV_OK) {
			ctl_error("%s", err.msg);
			ctl_free_records(list, count);
			free(names);
			return EXIT_FAIL;
		}
	}
	free(names);
	*recs = list;
	*n = count;
	return EXIT_OK;
}

void ctl_free_records(struct pv_record *recs, size_t n)
{
	if (recs == NULL)
		return;
	sodium_memzero(recs, n * sizeof(*recs));
	free(recs);
}

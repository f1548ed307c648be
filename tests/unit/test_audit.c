/* SPDX-License-Identifier: BSD-3-Clause */
/* test_audit.c — unit tests for core/audit_*.c: the chained audit log. Lines are valid JSON
 * with the contract's fields whatever a client sent; pv_audit_verify catches edits,
 * deletions, swaps, insertions, a cut tail, a foreign key, a missing or stale head; a torn
 * last line is repaired by the next append; the chain continues across logrotate's plain
 * and gzipped files; unsafe paths are refused; concurrent writers never fork the chain. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <sys/wait.h>
#include <zlib.h>

#include "audit.h"
#include "audit_int.h"
#include "hostname.h"
#include "json.h"
#include "safefile.h"
#include "timeparse.h"
#include "audit_fixture.h"

#define NOW       INT64_C(1800000000) /* 2027-01-15T08:00:00Z */
#define MAX_LINES 256

static const char *in_logdir(const struct fixture *f, const char *name)
{
	static char buf[4][PATH_MAX];
	static int next;
	char *p = buf[next++ % 4];

	tu_path(p, PATH_MAX, f->logdir, name);
	return p;
}

static void event_for(struct pv_audit_event *ev, const char *user)
{
	pv_audit_event_init(ev);
	ev->event = "auth";
	ev->service = "sshd";
	ev->user = user;
	ev->rhost = "203.0.113.7";
	ev->result = "deny";
	ev->reason = "otp_invalid";
}

static int append_ev(const char *log, const struct pv_keys *keys, const struct pv_audit_event *ev,
                     int64_t now, struct pv_err *err)
{
	const struct pv_audit_sink sink = {.log = log, .keys = keys, .lock_timeout = 5};

	memset(err, 0, sizeof(*err));
	return pv_audit_append(&sink, ev, now, err);
}

/* Append users "u<from>".."u<to-1>". */
static void append_users(const struct fixture *f, int from, int to)
{
	struct pv_audit_event ev;
	struct pv_err err;
	char user[32];
	int i;

	for (i = from; i < to; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		event_for(&ev, user);
		if (append_ev(f->log, &f->keys, &ev, NOW + i, &err) != PV_OK)
			fail_msg("append %d: %s", i, err.msg);
	}
}

static struct pv_audit_verify_result verify(const struct fixture *f, const struct pv_keys *keys)
{
	struct pv_audit_verify_result res;
	struct pv_err err = {{0}};

	if (pv_audit_verify(f->log, keys, &res, &err) != PV_OK)
		fail_msg("pv_audit_verify: %s", err.msg);
	return res;
}

static void assert_intact(const struct fixture *f, unsigned long lines)
{
	struct pv_audit_verify_result res = verify(f, &f->keys);

	if (!res.intact)
		fail_msg("not intact: %s", res.problem);
	assert_int_equal(res.lines, lines);
	assert_string_equal(res.problem, "");
}

/* Verification must fail with a problem that contains every given piece. */
static void assert_broken(const struct fixture *f, const char *piece1, const char *piece2)
{
	struct pv_audit_verify_result res = verify(f, &f->keys);

	if (res.intact)
		fail_msg("verified intact (%lu lines), expected: %s", res.lines, piece1);
	assert_contains(res.problem, piece1);
	if (piece2 != NULL)
		assert_contains(res.problem, piece2);
}

/* --- reading the file back as lines --- */

struct lines {
	size_t n;
	char *line[MAX_LINES]; /* without the newline */
	bool torn;             /* last bytes had no newline */
};

static void read_lines(const char *path, struct lines *ls)
{
	size_t len = 0;
	unsigned char *data = tu_read_file(path, &len);
	char *p;
	char *end;

	memset(ls, 0, sizeof(*ls));
	if (data == NULL)
		fail_msg("cannot read %s", path);
	p = (char *)data;
	end = p + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		assert_true(ls->n < MAX_LINES);
		ls->line[ls->n] = strndup(p, n);
		assert_non_null(ls->line[ls->n]);
		ls->n++;
		if (nl == NULL) {
			ls->torn = true;
			break;
		}
		p = nl + 1;
	}
	free(data);
}

static void free_lines(struct lines *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->line[i]);
	memset(ls, 0, sizeof(*ls));
}

/* Rewrite the log from lines (each followed by a newline), keeping mode 0600. */
static void write_lines(const char *path, char *const *line, size_t n)
{
	size_t total = 0;
	size_t i;
	char *buf;
	char *p;

	for (i = 0; i < n; i++)
		total += strlen(line[i]) + 1;
	buf = malloc(total + 1);
	assert_non_null(buf);
	p = buf;
	for (i = 0; i < n; i++) {
		size_t l = strlen(line[i]);
		memcpy(p, line[i], l);
		p[l] = '\n';
		p += l + 1;
	}
	tu_write_file(path, buf, total, 0600);
	free(buf);
}

static const char *field(const struct pv_json_object *obj, const char *key)
{
	size_t i;

	for (i = 0; i < obj->n; i++)
		if (strcmp(obj->key[i], key) == 0)
			return obj->value[i] ? obj->value[i] : "(null)";
	fail_msg("field %s missing", key);
	return NULL;
}

static bool has_field(const struct pv_json_object *obj, const char *key)
{
	size_t i;

	for (i = 0; i < obj->n; i++)
		if (strcmp(obj->key[i], key) == 0)
			return true;
	return false;
}

static void parse_line(const char *line, struct pv_json_object *obj)
{
	if (pv_json_parse_flat(line, strlen(line), obj) != 0)
		fail_msg("not a flat JSON object: %s", line);
}

/* --- appending and verifying --- */

static void test_appended_lines_verify_intact(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_verify_result res;

	assert_intact(f, 0); /* no log yet: nothing to complain about */
	append_users(f, 1, 11);
	res = verify(f, &f->keys);
	assert_true(res.intact);
	assert_int_equal(res.lines, 10);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, 10);
	assert_string_equal(res.note, "");
	assert_int_equal(tu_mode(f->log), 0600);
	assert_int_equal(tu_mode(f->head), 0600);
}

static void test_each_line_is_json_with_the_contract_fields(void **state)
{
	static const char *const mandatory[] = {"time",   "seq",     "prev", "host",
	                                        "event",  "service", "user", "rhost",
	                                        "result", "reason",  "mac"};
	struct fixture *f = *state;
	char host[256];
	char prev_mac[80] = "0000000000000000000000000000000000000000000000000000000000000000";
	struct lines ls;
	size_t i;
	size_t k;

	append_users(f, 0, 5);
	pv_hostname(host, sizeof(host));
	read_lines(f->log, &ls);
	assert_int_equal(ls.n, 5);
	assert_false(ls.torn);
	for (i = 0; i < ls.n; i++) {
		struct pv_json_object obj;
		char want_seq[24];
		char want_time[PV_TIME_TEXT_MAX];
		char want_user[32];

		parse_line(ls.line[i], &obj);
		for (k = 0; k < sizeof(mandatory) / sizeof(mandatory[0]); k++)
			assert_true(has_field(&obj, mandatory[k]));
		assert_string_equal(obj.key[0], "time"); /* time first, mac last */
		assert_string_equal(obj.key[obj.n - 1], "mac");
		snprintf(want_seq, sizeof(want_seq), "%zu", i + 1);
		assert_string_equal(field(&obj, "seq"), want_seq);
		pv_format_utc((time_t)(NOW + (int64_t)i), want_time, sizeof(want_time));
		assert_string_equal(field(&obj, "time"), want_time);
		assert_string_equal(field(&obj, "host"), host);
		assert_string_equal(field(&obj, "event"), "auth");
		assert_string_equal(field(&obj, "service"), "sshd");
		snprintf(want_user, sizeof(want_user), "u%zu", i);
		assert_string_equal(field(&obj, "user"), want_user);
		assert_string_equal(field(&obj, "rhost"), "203.0.113.7");
		assert_string_equal(field(&obj, "result"), "deny");
		assert_string_equal(field(&obj, "reason"), "otp_invalid");
		assert_string_equal(field(&obj, "prev"), prev_mac); /* the chain link */
		assert_int_equal(strlen(field(&obj, "mac")), 64);
		assert_false(has_field(&obj, "session"));
		assert_false(has_field(&obj, "duration_s"));
		assert_false(has_field(&obj, "pid"));
		assert_false(has_field(&obj, "bytes_in"));
		assert_false(has_field(&obj, "bytes_out"));
		snprintf(prev_mac, sizeof(prev_mac), "%s", field(&obj, "mac"));
		pv_json_object_free(&obj);
	}
	free_lines(&ls);
	{
		char t[PV_TIME_TEXT_MAX];
		pv_format_utc((time_t)NOW, t, sizeof(t));
		assert_string_equal(t, "2027-01-15T08:00:00Z");
	}
}

static void test_optional_fields_and_nulls_are_written(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_event ev;
	struct pv_json_object obj;
	struct pv_err err;
	struct lines ls;

	event_for(&ev, "acme");
	ev.event = "session_close";
	ev.rhost = NULL;
	ev.reason = NULL;
	ev.session = "s-1";
	ev.duration_s = 0;
	ev.pid = 4242;
	ev.tty = "ssh";
	ev.action = "enable";
	ev.admin = "root";
	ev.detail = "window 14:00-16:00";
	ev.auth_info = "publickey ssh-ed25519 AAAA";
	ev.bytes_in = 0;
	ev.bytes_out = 123456789012;
	assert_int_equal(append_ev(f->log, &f->keys, &ev, NOW, &err), PV_OK);
	read_lines(f->log, &ls);
	assert_int_equal(ls.n, 1);
	parse_line(ls.line[0], &obj);
	assert_true(has_field(&obj, "rhost"));
	assert_null(pv_json_get(&obj, "rhost")); /* mandatory: written as null */
	assert_true(has_field(&obj, "reason"));
	assert_null(pv_json_get(&obj, "reason"));
	assert_string_equal(field(&obj, "session"), "s-1");
	assert_string_equal(field(&obj, "duration_s"), "0");
	assert_string_equal(field(&obj, "pid"), "4242");
	assert_string_equal(field(&obj, "tty"), "ssh");
	assert_string_equal(field(&obj, "action"), "enable");
	assert_string_equal(field(&obj, "admin"), "root");
	assert_string_equal(field(&obj, "detail"), "window 14:00-16:00");
	assert_string_equal(field(&obj, "auth_info"), "publickey ssh-ed25519 AAAA");
	assert_string_equal(field(&obj, "bytes_in"), "0");
	assert_string_equal(field(&obj, "bytes_out"), "123456789012");
	pv_json_object_free(&obj);
	free_lines(&ls);
	assert_intact(f, 1);
}

static void test_hostile_names_stay_on_one_line_and_parse_back(void **state)
{
	static const struct {
		const char *user;
		const char *back;
	} names[] = {
	    {"evil\nuser", "evil\nuser"},
	    {"quote\"d", "quote\"d"},
	    {"back\\slash", "back\\slash"},
	    {"ctl\x01\x1b[31m\x7f\r", "ctl\x01\x1b[31m\x7f\r"},
	    {"bad\xff\xfeutf8\xc3", "bad\xef\xbf\xbd\xef\xbf\xbdutf8\xef\xbf\xbd"},
	    {"fake\",\"mac\":\"00\"}\n{\"seq\":1", "fake\",\"mac\":\"00\"}\n{\"seq\":1"},
	    {"Zo\xc3\xab", "Zo\xc3\xab"},
	};
	struct fixture *f = *state;
	struct lines ls;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct pv_audit_event ev;
		struct pv_err err;
		event_for(&ev, names[i].user);
		ev.rhost = names[i].user;
		ev.detail = names[i].user;
		assert_int_equal(append_ev(f->log, &f->keys, &ev, NOW, &err), PV_OK);
	}
	read_lines(f->log, &ls);
	assert_int_equal(ls.n, sizeof(names) / sizeof(names[0]));
	assert_false(ls.torn);
	for (i = 0; i < ls.n; i++) {
		struct pv_json_object obj;
		const unsigned char *p;
		parse_line(ls.line[i], &obj);
		assert_string_equal(field(&obj, "user"), names[i].back);
		assert_string_equal(field(&obj, "rhost"), names[i].back);
		assert_string_equal(field(&obj, "detail"), names[i].back);
		pv_json_object_free(&obj);
		for (p = (const unsigned char *)ls.line[i]; *p != '\0'; p++)
			assert_true(*p >= 0x20 && *p != 0x7f);
	}
	free_lines(&ls);
	assert_intact(f, sizeof(names) / sizeof(names[0]));
}

/* --- tampering --- */

static void test_edited_line_is_caught_and_named(void **state)
{
	struct fixture *f = *state;
	struct lines ls;
	char *user;

	append_users(f, 1, 6);
	read_lines(f->log, &ls);
	user = strstr(ls.line[2], "\"user\":\"u3\"");
	assert_non_null(user);
	user[9] = '4'; /* u3 -> u4: one character */
	write_lines(f->log, ls.line, ls.n);
	free_lines(&ls);
	assert_broken(f, "line 3", "MAC");
}

static void test_deleted_middle_line_is_caught_and_named(void **state)
{
	struct fixture *f = *state;
	struct lines ls;
	char *kept[4];

	append_users(f, 1, 6);
	read_lines(f->log, &ls);
	kept[0] = ls.line[0];
	kept[1] = ls.line[1];
	kept[2] = ls.line[3];
	kept[3] = ls.line[4];
	write_lines(f->log, kept, 4);
	free_lines(&ls);
	assert_broken(f, "line 3", "removed");
}

static void test_swapped_lines_are_caught_and_named(void **state)
{
	struct fixture *f = *state;
	struct lines ls;
	char *tmp;

	append_users(f, 1, 6);
	read_lines(f->log, &ls);
	tmp = ls.line[1];
	ls.line[1] = ls.line[2];
	ls.line[2] = tmp;
	write_lines(f->log, ls.line, ls.n);
	free_lines(&ls);
	assert_broken(f, "line 2", "seq 3");
}

static void test_inserted_copy_of_a_line_is_caught_and_named(void **state)
{
	struct fixture *f = *state;
	struct lines ls;
	char *lines[6];

	append_users(f, 1, 6);
	read_lines(f->log, &ls);
	lines[0] = ls.line[0];
	lines[1] = ls.line[1];
	lines[2] = ls.line[2];
	lines[3] = ls.line[3];
	lines[4] = ls.line[1]; /* a genuine line, replayed */
	lines[5] = ls.line[4];
	write_lines(f->log, lines, 6);
	free_lines(&ls);
	assert_broken(f, "line 5", "does not follow");
}

static void test_garbage_line_is_caught_and_named(void **state)
{
	struct fixture *f = *state;
	struct lines ls;

	append_users(f, 1, 4);
	read_lines(f->log, &ls);
	free(ls.line[1]);
	ls.line[1] = strdup("{\"hello\":\"world\"}");
	write_lines(f->log, ls.line, ls.n);
	free_lines(&ls);
	assert_broken(f, "line 2", NULL);
}

static void test_cut_tail_is_caught(void **state)
{
	struct fixture *f = *state;
	struct lines ls;

	append_users(f, 1, 6);
	read_lines(f->log, &ls);
	write_lines(f->log, ls.line, ls.n - 1);
	free_lines(&ls);
	assert_broken(f, "removed from the end", "seq 4");
}

static void test_log_rewritten_with_another_key_is_caught(void **state)
{
	struct fixture *f = *state;
	struct fixture other;
	char key[PATH_MAX];
	unsigned char *data;
	size_t len;

	append_users(f, 1, 6);
	/* The same events chained under a key the forger made. */
	memset(&other, 0, sizeof(other));
	tu_path(other.logdir, sizeof(other.logdir), f->dir, "forged");
	tu_mkdir(other.logdir, 0700);
	tu_path(other.log, sizeof(other.log), other.logdir, "audit.log");
	tu_path(key, sizeof(key), f->dir, "forger.key");
	tu_make_key(key, &other.keys);
	append_users(&other, 1, 6);
	data = tu_read_file(other.log, &len);
	assert_non_null(data);
	tu_write_file(f->log, data, len, 0600);
	free(data);
	assert_broken(f, "line 1", "MAC");
	/* With the forger's head copied too it is still caught. */
	tu_path(key, sizeof(key), other.logdir, "audit.log.head");
	data = tu_read_file(key, &len);
	assert_non_null(data);
	tu_write_file(f->head, data, len, 0600);
	free(data);
	assert_broken(f, "line 1", NULL);
	/* And the genuine log does not verify under the forger's key. */
	{
		struct pv_audit_verify_result res;
		struct pv_err err = {{0}};
		assert_int_equal(pv_audit_verify(other.log, &f->keys, &res, &err), PV_OK);
		assert_false(res.intact);
	}
	pv_keys_wipe(&other.keys);
}

static void test_deleted_head_is_caught(void **state)
{
	struct fixture *f = *state;

	append_users(f, 1, 4);
	assert_int_equal(unlink(f->head), 0);
	assert_broken(f, ".head", "missing");
}

static void test_stale_head_is_caught(void **state)
{
	struct fixture *f = *state;
	unsigned char *old;
	size_t len;

	append_users(f, 1, 4);
	old = tu_read_file(f->head, &len);
	assert_non_null(old);
	append_users(f, 4, 8);
	tu_write_file(f->head, old, len, 0600);
	free(old);
	assert_broken(f, "older", NULL);
}

/* The head is authenticated: editing it to name an earlier line (hiding a cut tail) fails. */
static void test_forged_head_naming_an_earlier_line_is_caught(void **state)
{
	struct fixture *f = *state;
	struct lines ls;
	char text[512];
	const char *mac;

	append_users(f, 1, 6);
	read_lines(f->log, &ls);
	write_lines(f->log, ls.line, 3); /* cut lines 4 and 5 */
	mac = strstr(ls.line[2], "\"mac\":\"");
	assert_non_null(mac);
	memset(text, 0, sizeof(text));
	snprintf(text, sizeof(text), "pam_vendor-audit-head 1 3 %.64s 1 %064d\n", mac + 7, 0);
	free_lines(&ls);
	/* Two slots (seq 3 in slot 1, slot 0 empty), so that only the MAC can give it away. */
	{
		unsigned char file[1024] = {0};
		memcpy(file + 512, text, 512);
		tu_write_file(f->head, file, sizeof(file), 0600);
	}
	assert_broken(f, ".head fails its MAC", NULL);
}

/* --- the head's two slots --- */

#define HEAD_SLOT 512

/* Overwrite one 512-byte slot of the head file in place with `byte`. */
static void read_head_file(const struct fixture *f, unsigned char buf[2 * HEAD_SLOT])
{
	unsigned char *data;
	size_t len = 0;

	data = tu_read_file(f->head, &len);
	assert_non_null(data);
	assert_int_equal(len, 2 * HEAD_SLOT);
	memcpy(buf, data, 2 * HEAD_SLOT);
	free(data);
}

static void smash_slot(const struct fixture *f, int slot, unsigned char byte)
{
	unsigned char buf[2 * HEAD_SLOT];

	read_head_file(f, buf);
	memset(buf + slot * HEAD_SLOT, byte, HEAD_SLOT);
	tu_write_file(f->head, buf, sizeof(buf), 0600);
}

/* Appends update the head in place: same inode, two slots, the newest seq in slot seq % 2 and
 * the line before it in the other one, both authenticated. */
static void test_head_is_updated_in_place_in_two_slots(void **state)
{
	struct fixture *f = *state;
	unsigned char buf[2 * HEAD_SLOT];
	struct stat before;
	struct stat after;

	append_users(f, 1, 3);
	assert_int_equal(stat(f->head, &before), 0);
	append_users(f, 3, 6); /* seq 5 is the last line */
	assert_int_equal(stat(f->head, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(after.st_size, 2 * HEAD_SLOT);
	read_head_file(f, buf);
	assert_int_equal(strncmp((char *)buf, "pam_vendor-audit-head 1 4 ", 26), 0);
	assert_int_equal(strncmp((char *)buf + HEAD_SLOT, "pam_vendor-audit-head 1 5 ", 26), 0);
	assert_intact(f, 5);
}

/* A crash tearing the slot being written (its line is already durable): the other slot names
 * the line before, which is the benign "head one line behind"; the next append heals both. */
static void test_torn_newest_slot_after_its_line_is_benign_and_healed(void **state)
{
	struct fixture *f = *state;
	unsigned char buf[2 * HEAD_SLOT];

	append_users(f, 1, 6);  /* last seq 5: slot 1 */
	smash_slot(f, 1, 0x5a); /* torn while writing seq 5's head */
	assert_intact(f, 5);
	append_users(f, 6, 7); /* seq 6 */
	read_head_file(f, buf);
	assert_int_equal(strncmp((char *)buf, "pam_vendor-audit-head 1 6 ", 26), 0);
	assert_int_equal(strncmp((char *)buf + HEAD_SLOT, "pam_vendor-audit-head 1 5 ", 26), 0);
	append_users(f, 7, 9);
	assert_intact(f, 8);
}

/* Damaging the newest slot to hide a removed last line is caught by verify, and the writer
 * refuses to append over it (no crash leaves a damaged slot naming the log's last line). */
static void test_damaged_slot_hiding_a_removed_line_is_caught(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_event ev;
	struct pv_err err;
	struct lines ls;
	unsigned char *before;
	size_t len;

	append_users(f, 1, 6);
	read_lines(f->log, &ls);
	write_lines(f->log, ls.line, 4); /* remove seq 5 */
	free_lines(&ls);
	smash_slot(f, 1, 0); /* and its head slot */
	assert_broken(f, "damaged slot", "removed");
	before = tu_read_file(f->log, &len);
	event_for(&ev, "late");
	assert_int_equal(append_ev(f->log, &f->keys, &ev, NOW + 10, &err), PV_ERR);
	assert_contains(err.msg, "damaged slot");
	tu_assert_file_bytes(f->log, before, len);
	free(before);
}

/* Both slots unreadable is a broken head, not a missing one. */
static void test_head_with_both_slots_damaged_is_refused(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_event ev;
	struct pv_err err;

	append_users(f, 1, 4);
	smash_slot(f, 0, 'x');
	smash_slot(f, 1, 'x');
	assert_broken(f, ".head is malformed", NULL);
	event_for(&ev, "late");
	assert_int_equal(append_ev(f->log, &f->keys, &ev, NOW + 10, &err), PV_ERR);
	assert_contains(err.msg, "malformed");
}

/* A head slot copied into the other slot's place (wrong parity) does not count as valid. */
static void test_slot_copied_to_the_other_place_is_not_valid(void **state)
{
	struct fixture *f = *state;
	unsigned char buf[2 * HEAD_SLOT];

	append_users(f, 1, 6); /* slot 0: seq 4, slot 1: seq 5 */
	read_head_file(f, buf);
	memcpy(buf, buf + HEAD_SLOT, HEAD_SLOT); /* seq 5 in slot 0 too */
	memset(buf + HEAD_SLOT, 0, HEAD_SLOT);
	tu_write_file(f->head, buf, sizeof(buf), 0600);
	assert_broken(f, ".head is malformed", NULL);
}

/* The append after a refused head state: it fails naming the head, and the log is untouched. */
static void assert_head_append_refused(const struct fixture *f, const char *piece)
{
	struct pv_audit_event ev;
	struct pv_err err;
	unsigned char *before;
	size_t len;

	before = tu_read_file(f->log, &len);
	assert_non_null(before);
	event_for(&ev, "late");
	assert_int_equal(append_ev(f->log, &f->keys, &ev, NOW + 100, &err), PV_ERR);
	assert_contains(err.msg, ".head");
	assert_contains(err.msg, piece);
	tu_assert_file_bytes(f->log, before, len);
	free(before);
}

/* Remove the log's last line (of `n`). */
static void cut_last_line(const struct fixture *f)
{
	struct lines ls;

	read_lines(f->log, &ls);
	write_lines(f->log, ls.line, ls.n - 1);
	free_lines(&ls);
}

/* The downgrade attack: the seq N-1 slot alone (a valid, authenticated head line) written as
 * the head, and the log's last line cut. No one-line layout is read: verify fails and the
 * next append is refused, so the cut seq is never reused. */
static void test_downgrade_to_one_slot_with_a_cut_line_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char buf[2 * HEAD_SLOT];
	char *nl;

	append_users(f, 1, 6); /* seq 4 in slot 0, seq 5 in slot 1 */
	read_head_file(f, buf);
	nl = memchr(buf, '\n', HEAD_SLOT);
	assert_non_null(nl);
	tu_write_file(f->head, buf, (size_t)(nl - (char *)buf) + 1, 0600);
	cut_last_line(f);
	assert_broken(f, ".head is", "not the two-slot layout");
	assert_head_append_refused(f, "not the two-slot layout");
}

/* Any size but two slots is refused, even when both slots in it are valid. */
static void test_head_of_another_size_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char buf[2 * HEAD_SLOT + 1];

	append_users(f, 1, 4);
	read_head_file(f, buf);
	buf[2 * HEAD_SLOT] = 0;
	tu_write_file(f->head, buf, sizeof(buf), 0600);
	assert_broken(f, "1025 bytes", "not the two-slot layout");
	assert_head_append_refused(f, "1025 bytes");
	tu_write_file(f->head, buf, 0, 0600);
	assert_broken(f, "0 bytes", NULL);
	assert_head_append_refused(f, "0 bytes");
}

/* A slot copied to the other position (seq 4 over seq 5's place) with the last line cut: the
 * copy has the wrong parity (damaged), the log ends at the valid slot's line, which no crash
 * leaves. */
static void test_slot_copied_over_the_newer_one_with_a_cut_line_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char buf[2 * HEAD_SLOT];

	append_users(f, 1, 6); /* slot 0: seq 4, slot 1: seq 5 */
	read_head_file(f, buf);
	memcpy(buf + HEAD_SLOT, buf, HEAD_SLOT);
	tu_write_file(f->head, buf, sizeof(buf), 0600);
	cut_last_line(f);
	assert_broken(f, "damaged slot", "removed");
	assert_head_append_refused(f, "damaged slot");
}

/* A damaged slot is accepted only as the slot after the valid one, torn while its line (one
 * after the valid slot's) is on disk: the older slot damaged while the log ends at the newer
 * one's line is no crash state. */
static void test_damaged_older_slot_is_refused(void **state)
{
	struct fixture *f = *state;

	append_users(f, 1, 6); /* slot 0: seq 4, slot 1: seq 5 */
	smash_slot(f, 0, 0x5a);
	assert_broken(f, "damaged slot", NULL);
	assert_head_append_refused(f, "damaged slot");
}

/* A torn slot is accepted only with the authentic next line: one whose MAC fails (forged
 * without the key) does not make the damaged head acceptable to the writer. */
static void test_torn_slot_with_a_forged_next_line_is_refused(void **state)
{
	struct fixture *f = *state;
	struct lines ls;
	char *u;

	append_users(f, 1, 6); /* slot 0: seq 4, slot 1: seq 5 */
	smash_slot(f, 1, 0x5a);
	read_lines(f->log, &ls);
	u = strstr(ls.line[4], "\"user\":\"u5\"");
	assert_non_null(u);
	u[9] = '6';
	write_lines(f->log, ls.line, ls.n);
	free_lines(&ls);
	assert_broken(f, "line 5", "fails its MAC");
	assert_head_append_refused(f, "damaged slot");
}

/* A torn slot while the log runs two lines past the valid one: not a crash state either. */
static void test_damaged_slot_with_the_log_two_lines_ahead_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *head;
	size_t len;

	append_users(f, 1, 4); /* seq 3 in slot 1, seq 2 in slot 0 */
	head = tu_read_file(f->head, &len);
	assert_non_null(head);
	append_users(f, 4, 6); /* seq 5 */
	tu_write_file(f->head, head, len, 0600);
	free(head);
	smash_slot(f, 0, 0x5a); /* valid: seq 3; log ends at 5 */
	assert_broken(f, "damaged slot", NULL);
	assert_head_append_refused(f, "damaged slot");
}

/* A log with lines and no head is never re-anchored silently by the next writer. */
static void test_append_refuses_a_log_without_head(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_event ev;
	struct pv_err err;
	unsigned char *before;
	size_t len;

	append_users(f, 1, 4);
	assert_int_equal(unlink(f->head), 0);
	before = tu_read_file(f->log, &len);
	event_for(&ev, "late");
	assert_int_equal(append_ev(f->log, &f->keys, &ev, NOW + 10, &err), PV_ERR);
	assert_contains(err.msg, "missing");
	tu_assert_file_bytes(f->log, before, len);
	free(before);
	assert_false(tu_exists(f->head));
}

static void test_deleted_first_line_is_caught(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_verify_result res;
	struct lines ls;

	append_users(f, 1, 5);
	read_lines(f->log, &ls);
	write_lines(f->log, ls.line + 1, ls.n - 1);
	free_lines(&ls);
	res = verify(f, &f->keys);
	/* The head records where the live file began: a cut start is a problem, not a note. */
	assert_false(res.intact);
	assert_contains(res.problem, "removed from its start");
}

/* --- torn last line --- */

static void test_torn_last_line_is_reported_and_cut_by_the_next_append(void **state)
{
	struct fixture *f = *state;
	struct lines ls;
	char half[128];
	size_t i;

	append_users(f, 1, 6);
	read_lines(f->log, &ls);
	snprintf(half, sizeof(half), "%.60s", ls.line[1]);
	free_lines(&ls);
	tu_append_file(f->log, half, strlen(half));
	assert_broken(f, "incomplete line", "seq 5");

	append_users(f, 6, 7);
	assert_intact(f, 6);
	read_lines(f->log, &ls);
	assert_int_equal(ls.n, 6);
	assert_false(ls.torn);
	for (i = 0; i < ls.n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "\"seq\":%zu,", i + 1);
		assert_contains(ls.line[i], want);
		assert_int_equal(strncmp(ls.line[i] + strlen(ls.line[i]) - 2, "\"}", 2), 0);
	}
	free_lines(&ls);
}

static void test_torn_fragment_as_the_only_content_is_cut(void **state)
{
	struct fixture *f = *state;

	tu_write_text(f->log, "{\"time\":\"2027", 0600);
	append_users(f, 1, 3);
	assert_intact(f, 2);
}

/* --- rotation --- */

static void gzip_file(const char *from, const char *to)
{
	size_t len = 0;
	unsigned char *data = tu_read_file(from, &len);
	gzFile gz;

	assert_non_null(data);
	gz = gzopen(to, "wb");
	assert_non_null(gz);
	assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
	assert_int_equal(gzclose(gz), Z_OK);
	assert_int_equal(chmod(to, 0600), 0);
	assert_int_equal(unlink(from), 0);
	free(data);
}

struct seen {
	size_t n;
	uint64_t seq[MAX_LINES];
	char file[MAX_LINES][64];
	unsigned long lineno[MAX_LINES];
};

static int collect(const char *line, size_t len, const char *file, unsigned long lineno, void *ctx)
{
	struct seen *s = ctx;
	struct pv_json_object obj;
	const char *slash = strrchr(file, '/');

	if (s->n >= MAX_LINES || pv_json_parse_flat(line, len, &obj) != 0)
		return 1;
	s->seq[s->n] = strtoull(pv_json_get(&obj, "seq"), NULL, 10);
	snprintf(s->file[s->n], sizeof(s->file[0]), "%s", slash ? slash + 1 : file);
	s->lineno[s->n] = lineno;
	s->n++;
	pv_json_object_free(&obj);
	return 0;
}

static void rotate(const struct fixture *f)
{
	/* logrotate with `create`: shift numbered files, the live log becomes .1 */
	if (tu_exists(in_logdir(f, "audit.log.1")))
		gzip_file(in_logdir(f, "audit.log.1"), in_logdir(f, "audit.log.2.gz"));
	assert_int_equal(rename(f->log, in_logdir(f, "audit.log.1")), 0);
}

/* Crash right after rotation, between the first line of the new file and the head: the next
 * append follows the log and still knows where the new file began. */
static void test_crash_after_rotation_before_head_update_recovers(void **state)
{
	struct fixture *f = *state;
	unsigned char *old_head;
	size_t len;

	append_users(f, 1, 4);
	rotate(f);
	old_head = tu_read_file(f->head, &len);
	append_users(f, 4, 5);
	tu_write_file(f->head, old_head, len, 0600); /* the head write "never happened" */
	free(old_head);
	append_users(f, 5, 7);
	assert_intact(f, 6);
}

static void test_chain_continues_across_rotated_plain_and_gzip_files(void **state)
{
	struct fixture *f = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct pv_audit_verify_result res;
	struct pv_err err = {{0}};
	size_t i;

	assert_non_null(s);
	append_users(f, 1, 4); /* seq 1..3 */
	rotate(f);
	append_users(f, 4, 7); /* seq 4..6 */
	rotate(f);             /* 1..3 in audit.log.2.gz, 4..6 in audit.log.1 */
	assert_false(tu_exists(f->log));
	assert_intact(f, 6); /* right after rotation, before the next line */
	append_users(f, 7, 10);
	assert_true(tu_exists(in_logdir(f, "audit.log.2.gz")));
	assert_false(tu_exists(in_logdir(f, "audit.log.2")));

	res = verify(f, &f->keys);
	if (!res.intact)
		fail_msg("not intact: %s", res.problem);
	assert_int_equal(res.lines, 9);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, 9);

	assert_int_equal(pv_audit_foreach(f->log, collect, s, &err), PV_OK);
	assert_int_equal(s->n, 9);
	for (i = 0; i < 9; i++)
		assert_int_equal(s->seq[i], i + 1); /* oldest first */
	assert_string_equal(s->file[0], "audit.log.2.gz");
	assert_string_equal(s->file[3], "audit.log.1");
	assert_string_equal(s->file[6], "audit.log");
	assert_int_equal(s->lineno[6], 1);
	free(s);
}

static void test_chain_with_oldest_files_gone_verifies_with_a_note(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_verify_result res;

	append_users(f, 1, 4);
	rotate(f);
	append_users(f, 4, 7);
	assert_int_equal(unlink(in_logdir(f, "audit.log.1")), 0);
	res = verify(f, &f->keys);
	assert_true(res.intact);
	assert_int_equal(res.first_seq, 4);
	assert_contains(res.note, "seq 4");
}

static void test_tampered_rotated_file_is_caught(void **state)
{
	struct fixture *f = *state;
	struct lines ls;
	char *user;

	append_users(f, 1, 4);
	rotate(f);
	append_users(f, 4, 6);
	read_lines(in_logdir(f, "audit.log.1"), &ls);
	user = strstr(ls.line[1], "\"user\":\"u2\"");
	assert_non_null(user);
	user[9] = '9';
	write_lines(in_logdir(f, "audit.log.1"), ls.line, ls.n);
	free_lines(&ls);
	assert_broken(f, "audit.log.1 line 2", NULL);
}

static void test_dateext_rotated_files_are_read_oldest_first(void **state)
{
	struct fixture *f = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct pv_err err = {{0}};
	size_t i;

	assert_non_null(s);
	append_users(f, 1, 3);
	gzip_file(f->log, in_logdir(f, "audit.log-20270101.gz"));
	append_users(f, 3, 5);
	assert_int_equal(rename(f->log, in_logdir(f, "audit.log-20270102")), 0);
	append_users(f, 5, 7);
	assert_intact(f, 6);
	assert_int_equal(pv_audit_foreach(f->log, collect, s, &err), PV_OK);
	assert_int_equal(s->n, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(s->seq[i], i + 1);
	assert_string_equal(s->file[0], "audit.log-20270101.gz");
	assert_string_equal(s->file[2], "audit.log-20270102");
	free(s);
}

static int stop_after_two(const char *line, size_t len, const char *file, unsigned long lineno,
                          void *ctx)
{
	int *calls = ctx;

	return ++*calls >= 2;
}

static void test_foreach_stops_when_asked(void **state)
{
	struct fixture *f = *state;
	struct pv_err err = {{0}};
	int calls = 0;

	append_users(f, 1, 6);
	assert_int_equal(pv_audit_foreach(f->log, stop_after_two, &calls, &err), PV_OK);
	assert_int_equal(calls, 2);
}

/* --- unsafe paths --- */

static void assert_append_refused(const char *log, const struct pv_keys *keys, const char *why)
{
	struct pv_audit_event ev;
	struct pv_err err;

	event_for(&ev, "acme");
	tu_hang_guard(20); /* a FIFO or lock must be refused, never waited on forever */
	assert_int_equal(append_ev(log, keys, &ev, NOW, &err), PV_ERR);
	tu_hang_guard_end();
	assert_true(err.msg[0] != '\0');
	if (why != NULL)
		assert_contains(err.msg, why);
}

static void test_symlinked_log_is_refused(void **state)
{
	struct fixture *f = *state;
	const char *target = in_logdir(f, "elsewhere");

	tu_write_text(target, "", 0600);
	assert_int_equal(symlink(target, f->log), 0);
	assert_append_refused(f->log, &f->keys, "symbolic link");
	assert_int_equal(tu_mode(target), 0600);
	{
		size_t len = 99;
		unsigned char *data = tu_read_file(target, &len);
		assert_int_equal(len, 0); /* nothing written through the link */
		free(data);
	}
}

static void test_log_in_symlinked_dir_is_refused(void **state)
{
	struct fixture *f = *state;
	char linkdir[PATH_MAX];
	char log[PATH_MAX];

	tu_path(linkdir, sizeof(linkdir), f->dir, "loglink");
	assert_int_equal(symlink(f->logdir, linkdir), 0);
	tu_path(log, sizeof(log), linkdir, "audit.log");
	assert_append_refused(log, &f->keys, "symbolic link");
	assert_false(tu_exists(f->log));
}

static void test_log_dir_world_writable_without_sticky_is_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(chmod(f->logdir, 0777), 0);
	assert_append_refused(f->log, &f->keys, "writable by group or others");
	assert_int_equal(chmod(f->logdir, 0770), 0);
	assert_append_refused(f->log, &f->keys, "writable by group or others");
	assert_false(tu_exists(f->log));
}

static void test_log_with_loose_mode_fifo_or_directory_is_refused(void **state)
{
	struct fixture *f = *state;

	tu_write_text(f->log, "", 0644);
	assert_append_refused(f->log, &f->keys, "readable by group or others");
	assert_int_equal(unlink(f->log), 0);
	assert_int_equal(mkfifo(f->log, 0600), 0);
	tu_hang_guard(10);
	assert_append_refused(f->log, &f->keys, NULL);
	tu_hang_guard_end();
	assert_int_equal(unlink(f->log), 0);
	tu_mkdir(f->log, 0700);
	assert_append_refused(f->log, &f->keys, NULL);
}

static void test_relative_log_path_is_refused(void **state)
{
	struct fixture *f = *state;

	assert_append_refused("audit.log", &f->keys, NULL);
}

/* --- concurrency --- */

static void child_appends(const struct fixture *f, int id, int n)
{
	struct pv_audit_event ev;
	struct pv_err err;
	char user[32];
	int i;

	snprintf(user, sizeof(user), "child%d", id);
	for (i = 0; i < n; i++) {
		event_for(&ev, user);
		if (append_ev(f->log, &f->keys, &ev, NOW + i, &err) != PV_OK) {
			fprintf(stderr, "child %d append %d: %s\n", id, i, err.msg);
			_exit(3);
		}
	}
	_exit(0);
}

/* --- one verification is one snapshot --- */

/* What verify must never take on trust: a line whose MAC fails (one byte of it changed after
 * it was MACed), appended under the audit lock with a valid head naming it, as a writer
 * holding the key could leave it. In a child: exits non-zero on any failure. */
static void child_appends_line_with_bad_mac(const struct fixture *f)
{
	struct pv_audit_files files;
	struct pv_audit_head_file hf = {.fd = -1};
	struct pv_audit_pos next;
	struct pv_audit_event ev;
	struct pv_buf line;
	struct pv_err err;
	char *user;
	int lockfd;
	int fd;

	pv_buf_init(&line, PV_AUDIT_LINE_MAX);
	event_for(&ev, "genuine");
	if (pv_audit_files_open(f->log, &files, &err) != PV_OK ||
	    (lockfd = pv_lock_file_at(files.dirfd, files.lock_name, 5, files.lock_shown, &err)) <
	        0 ||
	    pv_audit_head_read(&files, &f->keys, true, &hf, &err) != PV_OK ||
	    pv_audit_format_line(&f->keys, &ev, NOW, &hf.head, &next, &line) != PV_OK ||
	    (user = strstr(line.data, "genuine")) == NULL)
		_exit(4);
	user[0] = 'G';
	fd = open(f->log, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 || write(fd, line.data, line.len) != (ssize_t)line.len || fdatasync(fd) != 0 ||
	    pv_audit_head_write(&hf, &files, &f->keys, &next, &hf.head, &err) != PV_OK)
		_exit(5);
	close(fd);
	close(lockfd);
}

/* Verify runs again and again while the child `pid` appends; returns how many ran. Each run
 * reporting intact must have checked no line from bad_seq on (0: every run must be intact);
 * each other run must name the bad line's MAC. */
static int verify_while_child_appends(const struct fixture *f, pid_t pid, uint64_t bad_seq)
{
	int runs = 0;
	int status = 0;
	pid_t done;

	do {
		struct pv_audit_verify_result res = verify(f, &f->keys);
		char want[64];

		done = waitpid(pid, &status, WNOHANG);
		runs++;
		if (res.intact) {
			if (bad_seq != 0 && res.last_seq >= bad_seq)
				fail_msg("run %d: intact up to seq %" PRIu64
				         ", past the bad seq %" PRIu64,
				         runs, res.last_seq, bad_seq);
			continue;
		}
		if (bad_seq == 0)
			fail_msg("run %d on a healthy log: %s", runs, res.problem);
		snprintf(want, sizeof(want), "(seq %" PRIu64 ") fails its MAC", bad_seq);
		assert_contains(res.problem, want);
	} while (done == 0);
	assert_int_equal(done, pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return runs;
}

/* A healthy log under a racing writer: no verification run reports a problem. */
static void test_verify_racing_a_writer_never_fails_on_a_healthy_log(void **state)
{
	struct fixture *f = *state;
	pid_t pid;

	append_users(f, 1, 200); /* a pass long enough for lines to arrive during it */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_appends(f, 0, 1500);
	assert_true(verify_while_child_appends(f, pid, 0) >= 1);
	assert_intact(f, 199 + 1500);
}

/* A line with a bad MAC appended (with a valid head naming it) while verification runs: no
 * run reports intact a log that includes it, whether the line arrived during the MAC pass or
 * between the pass and the locked look at the head; every run after it fails naming it. */
static void test_verify_racing_a_writer_never_passes_an_unchecked_line(void **state)
{
	enum { BEFORE = 200, RACING = 1000, BAD_AT = 900 };
	struct fixture *f = *state;
	const uint64_t bad_seq = BEFORE + BAD_AT; /* BEFORE - 1 lines, then the child's */
	pid_t pid;

	append_users(f, 1, BEFORE);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int i;
		for (i = 0; i < RACING; i++) {
			if (i == BAD_AT) {
				child_appends_line_with_bad_mac(f);
				continue;
			}
			append_users(f, 1000 + i, 1001 + i);
		}
		_exit(0);
	}
	(void)verify_while_child_appends(f, pid, bad_seq);
	assert_broken(f, "fails its MAC", NULL);
}

static void test_concurrent_writers_never_fork_the_chain(void **state)
{
	enum { WRITERS = 4, EACH = 50 };
	struct fixture *f = *state;
	struct seen *s = calloc(1, sizeof(*s));
	struct pv_err err = {{0}};
	pid_t pids[WRITERS];
	size_t i;

	assert_non_null(s);
	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			child_appends(f, (int)i, EACH);
	}
	for (i = 0; i < WRITERS; i++) {
		int status = 0;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_intact(f, WRITERS * EACH);
	assert_int_equal(pv_audit_foreach(f->log, collect, s, &err), PV_OK);
	assert_int_equal(s->n, WRITERS * EACH);
	for (i = 0; i < s->n; i++)
		assert_int_equal(s->seq[i], i + 1);
	free(s);
}

/* --- the copy (sink->mirror) and the chain of lines given one by one --- */

struct mirror_calls {
	int n;
	uint64_t seq[4];
	char line[4][PV_AUDIT_LINE_MAX];
	bool fail; /* answer PV_ERR */
};

static int record_mirror(void *ctx, uint64_t seq, const char *line, struct pv_err *err)
{
	struct mirror_calls *m = ctx;

	if (m->fail) {
		pv_err_set(err, "the audit table refused the line");
		return PV_ERR;
	}
	assert_true(m->n < 4);
	m->seq[m->n] = seq;
	snprintf(m->line[m->n], sizeof(m->line[m->n]), "%s", line);
	m->n++;
	return PV_OK;
}

static void test_mirror_gets_each_line_and_its_seq(void **state)
{
	struct fixture *f = *state;
	struct mirror_calls *m = calloc(1, sizeof(*m));
	const struct pv_audit_sink sink = {.log = f->log,
	                                   .keys = &f->keys,
	                                   .lock_timeout = 5,
	                                   .mirror = record_mirror,
	                                   .mirror_ctx = m};
	struct pv_audit_event ev;
	struct pv_err err = {{0}};
	struct lines ls;
	int i;

	assert_non_null(m);
	event_for(&ev, "acme");
	for (i = 0; i < 2; i++)
		if (pv_audit_append(&sink, &ev, NOW + i, &err) != PV_OK)
			fail_msg("append %d: %s", i, err.msg);
	read_lines(f->log, &ls);
	assert_int_equal(ls.n, 2);
	assert_int_equal(m->n, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(m->seq[i], (uint64_t)i + 1);
		assert_string_equal(m->line[i],
		                    ls.line[i]); /* the same bytes, without the newline */
	}
	free_lines(&ls);
	free(m);
	assert_intact(f, 2);
}

/* The copy runs after the lock is released: its failure cannot take the line back (another
 * line may follow it already). The line stays, an "allow" is followed by its reversal, the
 * chain is intact, and the copy resumes with the next seq. */
static void test_failed_mirror_keeps_the_line_and_reverses_an_allow(void **state)
{
	struct fixture *f = *state;
	struct mirror_calls *m = calloc(1, sizeof(*m));
	const struct pv_audit_sink sink = {.log = f->log,
	                                   .keys = &f->keys,
	                                   .lock_timeout = 5,
	                                   .mirror = record_mirror,
	                                   .mirror_ctx = m};
	struct pv_audit_event ev;
	struct pv_err err = {{0}};
	struct lines ls;

	assert_non_null(m);
	append_users(f, 0, 2);
	m->fail = true;
	event_for(&ev, "acme");
	/* A deny whose copy fails: kept, nothing more to say (the caller denies anyway). */
	assert_int_equal(pv_audit_append(&sink, &ev, NOW + 10, &err), PV_ERR);
	assert_contains(err.msg, "the audit table refused the line");
	assert_intact(f, 3);
	/* An allow whose copy fails: kept, and reversed by the next line. */
	ev.result = "allow";
	ev.reason = "ok";
	assert_int_equal(pv_audit_append(&sink, &ev, NOW + 11, &err), PV_ERR);
	assert_intact(f, 5);
	read_lines(f->log, &ls);
	assert_int_equal(ls.n, 5);
	assert_contains(ls.line[3], "\"result\":\"allow\"");
	assert_contains(ls.line[4], "\"user\":\"acme\"");
	assert_contains(ls.line[4], "\"result\":\"deny\",\"reason\":\"store_error\"");
	assert_contains(ls.line[4],
	                "seq 4 was not copied to the audit table (the audit table refused "
	                "the line): that decision is reversed");
	free_lines(&ls);
	/* The copy resumes with the next line. */
	m->fail = false;
	assert_int_equal(pv_audit_append(&sink, &ev, NOW + 12, &err), PV_OK);
	assert_int_equal(m->n, 1);
	assert_int_equal(m->seq[0], 6);
	assert_intact(f, 6);
	free(m);
}

/* pv_audit_chain_line checks lines handed over one by one (the database's copy) as verify
 * checks the files: the lines as written pass, a line left out is named. */
static void test_chain_of_lines_given_in_order_is_checked_like_the_file(void **state)
{
	struct fixture *f = *state;
	struct pv_audit_verify_result res;
	struct pv_audit_chain chain;
	struct lines ls;
	size_t i;

	append_users(f, 0, 4);
	read_lines(f->log, &ls);
	pv_audit_chain_init(&chain, &f->keys, &res);
	for (i = 0; i < ls.n; i++)
		assert_int_equal(
		    pv_audit_chain_line(&chain, ls.line[i], strlen(ls.line[i]), "the table", i + 1),
		    0);
	assert_int_equal(res.lines, 4);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, 4);
	pv_audit_chain_init(&chain, &f->keys, &res);
	assert_int_equal(
	    pv_audit_chain_line(&chain, ls.line[0], strlen(ls.line[0]), "the table", 1), 0);
	assert_int_not_equal(
	    pv_audit_chain_line(&chain, ls.line[2], strlen(ls.line[2]), "the table", 3), 0);
	assert_contains(res.problem, "the table line 3 (seq 3) does not follow seq 1");
	free_lines(&ls);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_appended_lines_verify_intact),
	    T(test_each_line_is_json_with_the_contract_fields),
	    T(test_optional_fields_and_nulls_are_written),
	    T(test_hostile_names_stay_on_one_line_and_parse_back),
	    T(test_edited_line_is_caught_and_named),
	    T(test_deleted_middle_line_is_caught_and_named),
	    T(test_swapped_lines_are_caught_and_named),
	    T(test_inserted_copy_of_a_line_is_caught_and_named),
	    T(test_garbage_line_is_caught_and_named),
	    T(test_cut_tail_is_caught),
	    T(test_log_rewritten_with_another_key_is_caught),
	    T(test_deleted_head_is_caught),
	    T(test_stale_head_is_caught),
	    T(test_deleted_first_line_is_caught),
	    T(test_forged_head_naming_an_earlier_line_is_caught),
	    T(test_head_is_updated_in_place_in_two_slots),
	    T(test_torn_newest_slot_after_its_line_is_benign_and_healed),
	    T(test_damaged_slot_hiding_a_removed_line_is_caught),
	    T(test_head_with_both_slots_damaged_is_refused),
	    T(test_slot_copied_to_the_other_place_is_not_valid),
	    T(test_downgrade_to_one_slot_with_a_cut_line_is_refused),
	    T(test_head_of_another_size_is_refused),
	    T(test_slot_copied_over_the_newer_one_with_a_cut_line_is_refused),
	    T(test_damaged_older_slot_is_refused),
	    T(test_torn_slot_with_a_forged_next_line_is_refused),
	    T(test_damaged_slot_with_the_log_two_lines_ahead_is_refused),
	    T(test_append_refuses_a_log_without_head),
	    T(test_crash_after_rotation_before_head_update_recovers),
	    T(test_torn_last_line_is_reported_and_cut_by_the_next_append),
	    T(test_torn_fragment_as_the_only_content_is_cut),
	    T(test_chain_continues_across_rotated_plain_and_gzip_files),
	    T(test_chain_with_oldest_files_gone_verifies_with_a_note),
	    T(test_tampered_rotated_file_is_caught),
	    T(test_dateext_rotated_files_are_read_oldest_first),
	    T(test_foreach_stops_when_asked),
	    T(test_symlinked_log_is_refused),
	    T(test_log_in_symlinked_dir_is_refused),
	    T(test_log_dir_world_writable_without_sticky_is_refused),
	    T(test_log_with_loose_mode_fifo_or_directory_is_refused),
	    T(test_relative_log_path_is_refused),
	    T(test_concurrent_writers_never_fork_the_chain),
	    T(test_verify_racing_a_writer_never_fails_on_a_healthy_log),
	    T(test_verify_racing_a_writer_never_passes_an_unchecked_line),
	    T(test_mirror_gets_each_line_and_its_seq),
	    T(test_failed_mirror_keeps_the_line_and_reverses_an_allow),
	    T(test_chain_of_lines_given_in_order_is_checked_like_the_file),
	};

	assert_true(sodium_init() >= 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

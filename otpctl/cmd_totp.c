/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_totp.c — `otpctl totp enroll`: create (or rotate) a vendor's TOTP secret and show it
 * once, as an otpauth:// URI and a QR code (terminal, optionally SVG) for the structure's app. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qrencode.h>
#include <sodium.h>

#include "otp.h"
#include "otpctl.h"

#define QUIET_ZONE 4 /* modules of light border the QR standard asks for on every side */
#define SVG_MAX    (4 * 1024 * 1024)

/* UTF-8 half blocks: one text line shows two module rows (top half, bottom half). */
#define BLOCK_FULL  "\342\226\210" /* █ */
#define BLOCK_UPPER "\342\226\200" /* ▀ */
#define BLOCK_LOWER "\342\226\204" /* ▄ */
/* Entries 16 (#000000) and 231 (#ffffff) of the 256-colour palette: colour themes remap the
 * 16 basic colours (a light theme's "white" can be grey or dark), not these. */
#define ANSI_DARK  16
#define ANSI_LIGHT 231
#define ANSI_RESET "\033[0m"

struct enroll_args {
	const char *name;
	const char *svg;
	bool rotate;
	bool invert; /* draw the dark modules as characters (for dark text on a light background) */
};

/* What the store callback needs and what it reports back. */
struct enroll_ctx {
	struct otpctl *ctl;
	const char *name;
	bool rotate;
	const unsigned char *secret;
	bool already; /* refused: a secret exists and --rotate was not given */
	bool rotated;
};

static int parse_args(const struct command *cmd, int argc, char **argv, struct enroll_args *ea)
{
	static const struct option longopts[] = {
	    {"rotate", no_argument, NULL, 'r'},
	    {"svg", required_argument, NULL, 's'},
	    {"invert", no_argument, NULL, 'i'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(ea, 0, sizeof(*ea));
	optind = 0; /* 0, not 1: glibc then reinitialises getopt's internal state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1 || optind < argc) {
		if (c == -1) { /* a positional argument: the vendor name */
			if (ea->name != NULL)
				return ctl_usage_error(cmd, "unexpected argument \"%.64s\"",
				                       argv[optind]);
			ea->name = argv[optind++];
			continue;
		}
		if (c == 'r') {
			ea->rotate = true;
		} else if (c == 'i') {
			ea->invert = true;
		} else if (c == 's') {
			if (ea->svg != NULL)
				return ctl_usage_error(cmd, "--svg is given twice");
			if (optarg[0] == '\0')
				return ctl_usage_error(cmd, "--svg needs a file name");
			ea->svg = optarg;
		} else {
			return ctl_usage_error(cmd, "unknown or incomplete option %.64s",
			                       argv[optind - 1]);
		}
	}
	if (ea->name == NULL)
		return ctl_usage_error(cmd, "the vendor NAME is missing");
	return EXIT_OK;
}

/* Dark module at (x, y) of the symbol surrounded by its quiet zone? */
static bool module_dark(const QRcode *qr, int x, int y)
{
	x -= QUIET_ZONE;
	y -= QUIET_ZONE;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return false;
	return (qr->data[y * qr->width + x] & 1) != 0;
}

/* Terminal QR code, one text line for two module rows. The characters draw the LIGHT modules
 * and leave the dark ones to the background, as `qrencode -t UTF8` does: that reads on the
 * usual light-on-dark terminal. `invert` draws the DARK modules instead, for a terminal with
 * dark text on a light background. A terminal cannot be asked reliably which one it is (the
 * OSC 11 query goes unanswered through many multiplexers and serial consoles, COLORFGBG is set
 * by few terminals), so on a colour terminal both colours are also set explicitly, black and
 * white from the fixed part of the 256-colour palette: then either drawing reads on any
 * background, and a terminal that ignores the colours still shows the chosen polarity. Piped
 * output stays plain text. The quiet zone is 4 light modules on every side (the half row
 * below an odd last row is light too). */
static void print_qr_text(FILE *out, const QRcode *qr, bool colour, bool invert)
{
	int size = qr->width + 2 * QUIET_ZONE;
	int x, y;

	for (y = 0; y < size; y += 2) {
		if (colour)
			fprintf(out, "\033[38;5;%dm\033[48;5;%dm", invert ? ANSI_DARK : ANSI_LIGHT,
			        invert ? ANSI_LIGHT : ANSI_DARK);
		for (x = 0; x < size; x++) {
			/* "drawn": the module has the foreground colour. */
			bool top = module_dark(qr, x, y) == invert;
			bool bottom = (y + 1 < size && module_dark(qr, x, y + 1)) == invert;

			if (top && bottom)
				fputs(BLOCK_FULL, out);
			else if (top)
				fputs(BLOCK_UPPER, out);
			else if (bottom)
				fputs(BLOCK_LOWER, out);
			else
				fputc(' ', out);
		}
		if (colour)
			fputs(ANSI_RESET, out);
		fputc('\n', out);
	}
}

/* Colours only for a terminal that is not "dumb", and never when NO_COLOR asks for none. */
static bool want_colour(void)
{
	const char *term = getenv("TERM");
	const char *no_colour = getenv("NO_COLOR");

	if (!isatty(STDOUT_FILENO) || (no_colour != NULL && no_colour[0] != '\0'))
		return false;
	return term != NULL && term[0] != '\0' && strcmp(term, "dumb") != 0;
}

int ctl_print_qr(const char *text, bool invert)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);

	if (qr == NULL) {
		ctl_error("cannot make a QR code: %s", strerror(errno));
		return EXIT_FAIL;
	}
	print_qr_text(stdout, qr, want_colour(), invert);
	sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width); /* it may show a key */
	QRcode_free(qr);
	return EXIT_OK;
}

/* SVG on a white background, one path of horizontal runs of dark modules; 8 px a module. */
static void build_svg(struct pv_buf *b, const QRcode *qr)
{
	int size = qr->width + 2 * QUIET_ZONE;
	int x, y;

	pv_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	pv_buf_printf(b,
	              "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
	              "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
	              "shape-rendering=\"crispEdges\">\n",
	              size, size, size * 8, size * 8);
	pv_buf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
	              size, size);
	pv_buf_puts(b, "<path fill=\"#000000\" d=\"");
	for (y = 0; y < size; y++) {
		for (x = 0; x < size;) {
			int run = 0;

			while (x + run < size && module_dark(qr, x + run, y))
				run++;
			if (run == 0) {
				x++;
				continue;
			}
			pv_buf_printf(b, "M%d %dh%dv1h-%dz", x, y, run, run);
			x += run;
		}
	}
	pv_buf_puts(b, "\"/>\n</svg>\n");
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create path (refusing anything already there, symlinks included) and write the SVG
 * durably. On failure the file is removed again, so a half-written QR code never remains. */
static int write_svg(const char *path, const QRcode *qr)
{
	struct pv_buf b;
	int rc = EXIT_FAIL;
	int fd;
	int e;

	pv_buf_init(&b, SVG_MAX);
	build_svg(&b, qr);
	if (b.failed) {
		ctl_error("cannot build the SVG for %s: out of memory", path);
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			ctl_error("%s already exists; choose another --svg file (it is never "
			          "overwritten)",
			          path);
		else
			ctl_error("cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	e = write_all(fd, b.data, b.len);
	if (e == 0 && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e != 0) {
		ctl_error("cannot write %s: %s", path, strerror(e));
		(void)unlink(path);
		goto out;
	}
	rc = EXIT_OK;
out:
	pv_buf_free(&b); /* wipes: the picture encodes the secret */
	return rc;
}

/* Under the vendor's lock: refuse or install the new secret, and log it before saving (no
 * log, no change). */
static enum pv_modify_result enroll_cb(struct pv_record *rec, void *vctx, struct pv_err *err)
{
	struct enroll_ctx *ec = vctx;

	if (rec->totp_enrolled && !ec->rotate) {
		ec->already = true;
		return PV_MODIFY_KEEP;
	}
	ec->rotated = rec->totp_enrolled;
	if (ctl_audit(ec->ctl, ec->rotated ? "totp_rotate" : "totp_enroll", ec->name, "allow", "ok",
	              NULL) != EXIT_OK) {
		err->msg[0] = '\0'; /* ctl_audit said why */
		return PV_MODIFY_FAIL;
	}
	memcpy(rec->totp_secret, ec->secret, PV_TOTP_SECRET_BYTES);
	rec->totp_enrolled = true;
	rec->totp_last_step = 0; /* steps of the old secret mean nothing for the new one */
	return PV_MODIFY_SAVE;
}

/* Cheap early refusals (no vendor, already enrolled) before any file is created; the
 * decisive check is repeated under the lock in enroll_cb. */
static int precheck(struct otpctl *ctl, const struct enroll_args *ea)
{
	struct pv_record *rec;
	struct pv_err err;
	int rc = EXIT_FAIL;
	int r;

	rec = malloc(sizeof(*rec));
	if (rec == NULL) {
		ctl_error("out of memory");
		return EXIT_FAIL;
	}
	r = pv_store_load(ctl->store, &ctl->keys, ea->name, rec, &err);
	if (r == PV_NOTFOUND)
		ctl_error("vendor %s does not exist", ea->name);
	else if (r != PV_OK)
		ctl_error("%s", err.msg);
	else if (rec->totp_enrolled && !ea->rotate)
		ctl_error("%s already has a TOTP secret; use --rotate to replace it", ea->name);
	else
		rc = EXIT_OK;
	pv_record_wipe(rec);
	free(rec);
	return rc;
}

static int store_secret(struct otpctl *ctl, const struct enroll_args *ea,
                        const unsigned char *secret)
{
	struct enroll_ctx ec;

	memset(&ec, 0, sizeof(ec));
	ec.ctl = ctl;
	ec.name = ea->name;
	ec.rotate = ea->rotate;
	ec.secret = secret;
	if (ctl_store_update(ctl, ea->name, enroll_cb, &ec) != EXIT_OK)
		return EXIT_FAIL;
	if (ec.already) {
		ctl_error("%s already has a TOTP secret; use --rotate to replace it", ea->name);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int print_result(struct otpctl *ctl, const struct enroll_args *ea, const char *uri,
                        const QRcode *qr)
{
	struct pv_buf b;
	bool first = true;
	int rc;

	if (!ctl->json) {
		printf("TOTP secret for %s (issuer \"%s\"):\n%s\n\n", ea->name,
		       ctl->cfg.totp_issuer, uri);
		print_qr_text(stdout, qr, want_colour(), ea->invert);
		printf("\nScan this QR code into the structure's authenticator app (never the "
		       "vendor's), then read the current 6-digit code to %s when they log in.\n",
		       ea->name);
		if (ea->svg != NULL)
			printf("The QR code is also in %s: delete it once scanned.\n", ea->svg);
		return EXIT_OK;
	}
	pv_buf_init(&b, 65536);
	pv_buf_puts(&b, "{");
	pv_json_key_string(&b, &first, "vendor", ea->name);
	pv_json_key_string(&b, &first, "uri", uri);
	pv_json_key_string(&b, &first, "svg", ea->svg);
	pv_buf_puts(&b, "}");
	rc = ctl_print_json(&b);
	pv_buf_free(&b); /* wipes: the URI carries the secret */
	return rc;
}

int cmd_totp_enroll(struct otpctl *ctl, int argc, char **argv)
{
	const struct command *cmd = ctl_find_command("totp enroll");
	unsigned char secret[PV_TOTP_SECRET_BYTES];
	struct enroll_args ea;
	struct pv_err err;
	QRcode *qr = NULL;
	char *uri = NULL;
	bool svg_written = false;
	int rc;

	rc = parse_args(cmd, argc, argv, &ea);
	if (rc != EXIT_OK)
		return rc;
	if (!ctl_check_name(ea.name))
		return EXIT_FAIL;
	if (ctl_open(ctl) != EXIT_OK || precheck(ctl, &ea) != EXIT_OK)
		return EXIT_FAIL;
	rc = EXIT_FAIL;
	/* Everything the admin will be shown is built before the store changes, so a failure
	 * (SVG file exists, disk full) never leaves an active secret that nobody saw. */
	randombytes_buf(secret, sizeof(secret));
	if (pv_totp_uri(secret, ctl->cfg.totp_issuer, ea.name, &uri, &err) != PV_OK) {
		ctl_error("%s", err.msg);
		goto out;
	}
	qr = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL) {
		ctl_error("cannot make a QR code of the TOTP URI: %s", strerror(errno));
		goto out;
	}
	if (ea.svg != NULL) {
		if (write_svg(ea.svg, qr) != EXIT_OK)
			goto out;
		svg_written = true;
	}
	if (store_secret(ctl, &ea, secret) != EXIT_OK)
		goto out;
	svg_written = false; /* it now shows the enrolled secret: keep it */
	rc = print_result(ctl, &ea, uri, qr);
out:
	if (svg_written)
		(void)unlink(ea.svg); /* the secret it shows was never stored */
	sodium_memzero(secret, sizeof(secret));
	if (qr != NULL) {
		sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
		QRcode_free(qr);
	}
	if (uri != NULL) {
		sodium_memzero(uri, strlen(uri));
		free(uri);
	}
	return rc;
}

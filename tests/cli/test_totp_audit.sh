#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# test_totp_audit.sh — otpctl totp enroll (URI, terminal and SVG QR codes decoded back with
# zbarimg), audit, audit verify and report, for real as root against a private configuration.
# Sessions come from the real module through libpam (pamdrive), a rotation from pam_exec.
set -u
. "$(dirname "$0")/../lib.sh"
export TZ=UTC

if [ "$(id -u)" -ne 0 ]; then
	echo "not ok - test_totp_audit.sh needs root (key, store and log are root's)"
	echo "0 passed, 1 failed"
	exit 1
fi
trap cleanup_dirs EXIT

# --- helpers written into the test directory ------------------------------------------------

new_env "totp_issuer = Hopital Test"
HELP=$T/helpers
mkdir -p "$HELP"

# Terminal QR -> picture, as a terminal of each polarity would show it: "dark" (light text on
# a dark background) or "light" (dark text on a light background), with a margin of that
# background around the printed block, so the printed quiet zone is what separates the code
# from its surroundings. Only the fixed palette entries 16 and 231 count as known colours:
# themes remap the 16 basic ones.
cat >"$HELP/term2pgm.py" <<'EOF'
# term2pgm.py THEME [--matrix]: the QR block of otpctl's output (stdin) as a terminal with
# THEME shows it (dark: light text on a dark background; light: the reverse), as a PGM picture
# with a margin of the terminal's background, or with --matrix as 1/0 rows (1 = dark module)
# of the printed block alone. Understands the half blocks, spaces and SGR colours (0, 38;5;N,
# 48;5;N; 256-colour entries 16 and 231 are fixed black and white, others unsupported).
import re, sys
theme = {'dark': (208, 30), 'light': (32, 250)}[sys.argv[1]]  # (foreground, background) grey
SGR = re.compile(r'\x1b\[([0-9;]*)m')
FIXED = {16: 0, 231: 255}

def cells(line):
    fg, bg = theme
    out, pos = [], 0
    for m in list(SGR.finditer(line)) + [None]:
        end = m.start() if m else len(line)
        for ch in line[pos:end]:
            top, bottom = {'\u2588': (fg, fg), '\u2580': (fg, bg), '\u2584': (bg, fg), ' ': (bg, bg)}[ch]
            out.append((top, bottom))
        if not m:
            break
        pos = m.end()
        p = [int(x) for x in m.group(1).split(';') if x] or [0]
        i = 0
        while i < len(p):
            if p[i] == 0:
                fg, bg = theme
                i += 1
            elif p[i] in (38, 48) and p[i + 1] == 5:
                if p[i + 2] not in FIXED:
                    sys.exit('colour %d is not a fixed palette entry' % p[i + 2])
                if p[i] == 38:
                    fg = FIXED[p[i + 2]]
                else:
                    bg = FIXED[p[i + 2]]
                i += 3
            else:
                sys.exit('unexpected SGR %s' % m.group(1))
    return out

text = sys.stdin.read().replace('\r', '').split('\n')
qr = [l for l in text if SGR.sub('', l) and set(SGR.sub('', l)) <= set('\u2588\u2580\u2584 ')]
width = max(len(SGR.sub('', l)) for l in qr)
qr = [l for l in qr if len(SGR.sub('', l)) == width]
rows = []
for l in qr:
    c = cells(l)
    rows.append([t for t, _ in c])
    rows.append([b for _, b in c])
if sys.argv[2:] == ['--matrix']:
    for r in rows:
        print(''.join('1' if v < 128 else '0' for v in r))
    sys.exit(0)
M, S = 6, 6  # margin (modules) of terminal background, pixels per module
bg = theme[1]
w = width + 2 * M
rows = [[bg] * w] * M + [[bg] * M + r + [bg] * M for r in rows] + [[bg] * w] * M
out = sys.stdout.buffer
out.write(b'P5 %d %d 255\n' % (w * S, len(rows) * S))
for r in rows:
    line = bytes(v for v in r for _ in range(S))
    for _ in range(S):
        out.write(line)
EOF

# libqrencode's own matrix for a text, with the parameters otpctl uses.
cat >"$HELP/qrmatrix.c" <<'EOF'
#include <qrencode.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	QRcode *q;
	int x, y;

	if (argc != 2 || (q = QRcode_encodeString(argv[1], 0, QR_ECLEVEL_M, QR_MODE_8, 1)) == NULL)
		return 1;
	for (y = 0; y < q->width; y++) {
		for (x = 0; x < q->width; x++)
			putchar(q->data[y * q->width + x] & 1 ? '1' : '0');
		putchar('\n');
	}
	QRcode_free(q);
	return 0;
}
EOF
# shellcheck disable=SC2046
cc -o "$HELP/qrmatrix" "$HELP/qrmatrix.c" $(pkg-config --cflags --libs libqrencode) ||
	echo "Bail out! cannot build the libqrencode matrix helper"

# The terminal matrix = libqrencode's matrix inside a light quiet zone of 4 modules (the text
# may carry one more light row at the bottom: two module rows per line).
cat >"$HELP/cmpmatrix.py" <<'EOF'
import sys
term = [l.strip() for l in open(sys.argv[1]) if l.strip()]
ref = [l.strip() for l in open(sys.argv[2]) if l.strip()]
w = len(ref)
if len(term[0]) != w + 8:
    sys.exit("width %d, expected %d" % (len(term[0]), w + 8))
for y, row in enumerate(term):
    if 4 <= y < 4 + w:
        if row[:4] != '0000' or row[4 + w:] != '0000' or row[4:4 + w] != ref[y - 4]:
            sys.exit("row %d differs" % y)
    elif set(row) != {'0'}:
        sys.exit("quiet zone row %d is not light" % y)
if len(term) not in (w + 8, w + 9):
    sys.exit("%d rows, expected %d" % (len(term), w + 8))
EOF

decode() { zbarimg -q --raw "$1" 2>/dev/null; }
lines_of() { wc -l <"$1" | tr -d ' '; }
json_get() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1:]: v=v[int(k)] if isinstance(v,list) else v[k]
print("null" if v is None else v)' "$@"; }

run_ctl vendor add acme --ip 203.0.113.7
check "vendor add acme" [ "$RC" -eq 0 ]
run_ctl vendor add beta --ip 198.51.100.0/24
check "vendor add beta" [ "$RC" -eq 0 ]

# --- totp enroll -----------------------------------------------------------------------------

run_ctl totp enroll acme --svg "$T/acme.svg"
expect_eq "totp enroll: exit 0" 0 "$RC"
URI=$(printf '%s\n' "$OUT" | grep '^otpauth://' || true)
expect_match "totp enroll: prints the otpauth URI" \
	'^otpauth://totp/Hopital%20Test:acme\?secret=[A-Z2-7]{32}&issuer=Hopital%20Test&algorithm=SHA1&digits=6&period=30$' "$URI"
expect_match "totp enroll: tells the admin to scan it and read the code" \
	"authenticator app.*6-digit code to acme" "$OUT"
printf '%s\n' "$OUT" >"$T/enroll.txt"
SECRET=${URI#*secret=}
SECRET=${SECRET%%&*}
expect_eq "totp enroll: audit line totp_enroll" "totp_enroll" "$(audit_last action)"
expect_eq "totp enroll: audit line names the vendor" "acme" "$(audit_last user)"
check "totp enroll: the secret is not in the audit log" bash -c "! grep -q '$SECRET' '$AUDIT'"

expect_eq "svg: mode 0600" 600 "$(stat -c %a "$T/acme.svg")"
expect_match "svg: white background, viewBox" '<rect x="0" y="0" width="([0-9]+)" height="[0-9]+" fill="#ffffff"/>' "$(cat "$T/acme.svg")"
expect_match "svg: viewBox" 'viewBox="0 0 [0-9]+ [0-9]+"' "$(cat "$T/acme.svg")"
if command -v rsvg-convert >/dev/null 2>&1 || convert -list format 2>/dev/null | grep -qi '^ *svg'; then
	convert "$T/acme.svg" "$T/acme.png" 2>/dev/null
	expect_eq "svg: QR code decodes to the printed URI" "$URI" "$(decode "$T/acme.png")"
else
	not_ok "svg: QR code decodes to the printed URI" "ImageMagick cannot read SVG here: apt-get install librsvg2-bin"
fi

# qr_reads WHAT FILE URI THEME...: on a terminal of each THEME, the printed code decodes to
# URI and is libqrencode's matrix inside a light quiet zone of 4 modules.
qr_reads() {
	local what=$1 file=$2 uri=$3 theme
	shift 3
	"$HELP/qrmatrix" "$uri" >"$T/ref.matrix"
	for theme in "$@"; do
		python3 "$HELP/term2pgm.py" "$theme" <"$file" >"$T/term.pgm"
		expect_eq "$what, $theme terminal: decodes to the printed URI" "$uri" "$(decode "$T/term.pgm")"
		python3 "$HELP/term2pgm.py" "$theme" --matrix <"$file" >"$T/term.matrix"
		check "$what, $theme terminal: libqrencode's matrix with a light quiet zone of 4" \
			python3 "$HELP/cmpmatrix.py" "$T/term.matrix" "$T/ref.matrix"
	done
}
# qr_unreadable WHAT FILE THEME: the wrong polarity really is unreadable (so the test above
# can tell the two apart).
qr_unreadable() {
	python3 "$HELP/term2pgm.py" "$3" <"$2" >"$T/term.pgm"
	expect_eq "$1, $3 terminal: inverted, does not decode" "" "$(decode "$T/term.pgm")"
}
# enroll_on_tty FILE ARGS...: totp enroll on a pseudo-terminal (script(1)), TERM=xterm-256color.
enroll_on_tty() {
	local file=$1
	shift
	env -u NO_COLOR TERM=xterm-256color script -qfec \
		"$(printf '%q ' "$OTPCTL" --config "$CFG" totp enroll "$@")" /dev/null >"$file" 2>&1
}
uri_in() { tr -d '\r' <"$1" | grep '^otpauth://' || true; }

qr_reads "piped terminal QR" "$T/enroll.txt" "$URI" dark
qr_unreadable "piped terminal QR" "$T/enroll.txt" light
check "piped terminal QR: no colour escapes" bash -c "! grep -q $'\033' '$T/enroll.txt'"

run_ctl totp enroll acme --rotate --invert
expect_eq "totp enroll --invert: exit 0" 0 "$RC"
printf '%s\n' "$OUT" >"$T/invert.txt"
qr_reads "piped --invert QR" "$T/invert.txt" "$(uri_in "$T/invert.txt")" light
qr_unreadable "piped --invert QR" "$T/invert.txt" dark
check "piped --invert QR: no colour escapes" bash -c "! grep -q $'\033' '$T/invert.txt'"

enroll_on_tty "$T/tty.txt" acme --rotate
expect_match "on a terminal: colours are set (256-colour black and white)" $'\033\\[38;5;231m\033\\[48;5;16m' "$(cat "$T/tty.txt")"
qr_reads "terminal QR in colour" "$T/tty.txt" "$(uri_in "$T/tty.txt")" dark light
enroll_on_tty "$T/tty-invert.txt" acme --rotate --invert
qr_reads "terminal --invert QR in colour" "$T/tty-invert.txt" "$(uri_in "$T/tty-invert.txt")" dark light
env -u NO_COLOR TERM=xterm-256color NO_COLOR=1 script -qfec \
	"$(printf '%q ' "$OTPCTL" --config "$CFG" totp enroll acme --rotate)" /dev/null >"$T/nocolor.txt" 2>&1
check "NO_COLOR on a terminal: no colour escapes" bash -c "! grep -q $'\033' '$T/nocolor.txt'"

N=$(lines_of "$AUDIT")
run_ctl totp enroll acme
expect_eq "enroll twice: exit 1" 1 "$RC"
expect_match "enroll twice: says to use --rotate" "acme already has a TOTP secret; use --rotate to replace it" "$ERR"
expect_no_match "enroll twice: no URI shown" "otpauth://" "$OUT"
expect_eq "enroll twice: nothing logged" "$N" "$(lines_of "$AUDIT")"

echo keep >"$T/exists.svg"
run_ctl totp enroll acme --rotate --svg "$T/exists.svg"
expect_eq "svg exists: exit 1" 1 "$RC"
expect_match "svg exists: names the file" "$T/exists.svg already exists" "$ERR"
expect_eq "svg exists: file untouched" keep "$(cat "$T/exists.svg")"
expect_eq "svg exists: the secret was not rotated (nothing logged)" "$N" "$(lines_of "$AUDIT")"

ln -s "$T/target.svg" "$T/link.svg"
run_ctl totp enroll acme --rotate --svg "$T/link.svg"
expect_eq "svg symlink: exit 1" 1 "$RC"
check "svg symlink: not followed" [ ! -e "$T/target.svg" ]

run_ctl totp enroll acme --rotate --svg "$T/no/such/dir.svg"
expect_eq "svg in a missing directory: exit 1" 1 "$RC"
expect_match "svg in a missing directory: names the file" "cannot create $T/no/such/dir.svg" "$ERR"

run_ctl totp enroll nobody --svg "$T/nobody.svg"
expect_eq "unknown vendor: exit 1" 1 "$RC"
expect_match "unknown vendor: says so" "vendor nobody does not exist" "$ERR"
check "unknown vendor: no SVG left behind" [ ! -e "$T/nobody.svg" ]

run_ctl totp enroll acme --bogus
expect_eq "bad option: exit 2" 2 "$RC"
expect_match "bad option: usage line" "usage: otpctl totp enroll NAME" "$ERR"
run_ctl totp enroll
expect_eq "missing NAME: exit 2" 2 "$RC"
run_ctl totp enroll acme --svg
expect_eq "--svg without FILE: exit 2" 2 "$RC"
run_ctl totp enroll acme beta
expect_eq "two names: exit 2" 2 "$RC"
run_ctl totp enroll ../etc
expect_eq "invalid name: exit 1" 1 "$RC"

run_ctl totp enroll acme --rotate
expect_eq "--rotate: exit 0" 0 "$RC"
URI2=$(printf '%s\n' "$OUT" | grep '^otpauth://' || true)
check "--rotate: a new secret" [ -n "$URI2" -a "$URI2" != "$URI" ]
expect_eq "--rotate: audit line totp_rotate" "totp_rotate" "$(audit_last action)"

run_ctl --json totp enroll acme --rotate --svg "$T/json.svg"
expect_eq "--json enroll: exit 0" 0 "$RC"
expect_eq "--json enroll: vendor" acme "$(printf '%s' "$OUT" | json_get vendor)"
expect_eq "--json enroll: svg" "$T/json.svg" "$(printf '%s' "$OUT" | json_get svg)"
JURI=$(printf '%s' "$OUT" | json_get uri)
expect_match "--json enroll: uri" '^otpauth://totp/' "$JURI"
expect_eq "--json enroll: only the object on stdout" 1 "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')"
run_ctl --json totp enroll acme --rotate
expect_eq "--json enroll without --svg: svg is null" null "$(printf '%s' "$OUT" | json_get svg)"

# --- audit -----------------------------------------------------------------------------------

run_ctl enable acme --for 1h
run_ctl --json issue acme
CODE=$(printf '%s' "$OUT" | json_get otp 2>/dev/null)
run_ctl disable acme
run_ctl disable beta

run_ctl audit
expect_eq "audit: exit 0" 0 "$RC"
expect_match "audit: table header" "^TIME +EVENT +USER +RHOST +RESULT +REASON +DETAIL" "$OUT"
expect_match "audit: enable shown with its admin" "admin +acme .* allow +ok +enable by [^ ]+" "$OUT"
expect_match "audit: issue shown" "issue by [^ ]+" "$OUT"
expect_match "audit: disable of beta shown" "admin +beta .*disable by [^ ]+" "$OUT"
if [ -n "$CODE" ]; then
	check "audit: the issued code appears in neither log nor output" \
		bash -c '! grep -q "$1" "$2" && ! printf "%s" "$3" | grep -q "$1"' _ "$CODE" "$AUDIT" "$OUT"
fi

run_ctl audit --vendor beta
expect_match "audit --vendor: the vendor's events" "disable by " "$OUT"
expect_no_match "audit --vendor: no other vendor" " acme " "$OUT"

run_ctl audit --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
expect_eq "audit --since future: exit 0" 0 "$RC"
expect_match "audit --since future: no events" "^No audit events since" "$OUT"
run_ctl audit --since "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" --vendor acme
expect_match "audit --since past: events" "enable by " "$OUT"
run_ctl audit --since 00:00
expect_match "audit --since HH:MM: today's events" "enable by " "$OUT"
run_ctl audit --until 2000-01-01T00:00:00Z
expect_match "audit --until long ago: six months before it, no events" "^No audit events between" "$OUT"

run_ctl audit --since tomorrow
expect_eq "audit bad --since: exit 2" 2 "$RC"
expect_match "audit bad --since: names the value and the accepted forms" \
	'"tomorrow" is not a time \(use today, yesterday, 2h ago or -2h, 2026-11-25, 2026-11-25 14:00, HH:MM or RFC 3339\)' "$ERR"
run_ctl audit --until 2026-13-01T00:00:00Z
expect_eq "audit bad --until: exit 2" 2 "$RC"
run_ctl audit --since 2026-01-02T00:00:00Z --until 2026-01-01T00:00:00Z
expect_eq "audit --since after --until: exit 2" 2 "$RC"
run_ctl audit --frobnicate
expect_eq "audit unknown option: exit 2" 2 "$RC"
run_ctl audit acme
expect_eq "audit positional argument: exit 2" 2 "$RC"

run_ctl --json audit
expect_eq "audit --json: exit 0" 0 "$RC"
printf '%s' "$OUT" >"$T/audit.json"
check "audit --json: parses" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/audit.json"
check "audit --json: every event, each exactly as written in the log" python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
raw = [l.rstrip("\n") for l in open(sys.argv[2])]
got = [json.dumps(e, separators=(",", ":"), ensure_ascii=False) for e in ev]
sys.exit(0 if got == raw else "%d events vs %d lines" % (len(got), len(raw)))' "$T/audit.json" "$AUDIT"
run_ctl --json audit --vendor beta
check "audit --json --vendor: only that vendor" python3 -c '
import json, sys
ev = json.loads(sys.argv[1])["events"]
sys.exit(0 if ev and all(e["user"] == "beta" for e in ev) else 1)' "$OUT"

# --- audit verify ----------------------------------------------------------------------------

N=$(lines_of "$AUDIT")
run_ctl audit verify
expect_eq "audit verify: exit 0" 0 "$RC"
expect_eq "audit verify: intact, counts lines" "audit log intact: $N lines (seq 1 to $N)" "$OUT"
run_ctl --json audit verify
expect_eq "audit verify --json: intact" True "$(printf '%s' "$OUT" | json_get intact)"
expect_eq "audit verify --json: lines" "$N" "$(printf '%s' "$OUT" | json_get lines)"
expect_eq "audit verify --json: problem null" null "$(printf '%s' "$OUT" | json_get problem)"
run_ctl audit verify --deep
expect_eq "audit verify unknown option: exit 2" 2 "$RC"

# --- report: sessions from the real module ---------------------------------------------------

run_ctl report
expect_eq "report, no sessions: exit 0" 0 "$RC"
expect_match "report, no sessions: says so" "^No sessions since" "$OUT"
run_ctl --json report
expect_eq "report --json, no sessions" '{"sessions":[]}' "$OUT"

PAMD=$T/pam.d
mkdir -p "$PAMD"
# On session open: rotate the log like logrotate (create mode, compressed) and wait 2 s, so
# the session's open and close end up in different files and it lasts 2 s.
cat >"$HELP/rotate.sh" <<EOF
#!/bin/sh
[ "\$PAM_TYPE" = open_session ] || exit 0
mv "$AUDIT" "$AUDIT.1" && gzip "$AUDIT.1" && sleep 2
EOF
chmod 700 "$HELP/rotate.sh"
printf 'session required %s config=%s\nsession required pam_exec.so %s\n' \
	"$PV_MODULE" "$CFG" "$HELP/rotate.sh" >"$PAMD/pvrotate"
printf 'session required %s config=%s\n' "$PV_MODULE" "$CFG" >"$PAMD/pvplain"

drive() { "$PAMDRIVE" --confdir "$PAMD" "$@" >/dev/null; }
check "pam: a session that spans a log rotation" \
	drive --service pvrotate --user acme --rhost 203.0.113.7 --steps open,close
check "pam: a session that never closes (killed monitor)" \
	drive --service pvplain --user beta --rhost 198.51.100.9 --steps open
sleep 1
check "pam: a close without an open" \
	drive --service pvplain --user acme --rhost 203.0.113.7 --steps close
check "pam: a short session" \
	drive --service pvplain --user acme --rhost 203.0.113.7 --steps open,close
check "rotation happened" [ -f "$AUDIT.1.gz" ]

run_ctl report
expect_eq "report: exit 0" 0 "$RC"
expect_match "report: header" "^USER +RHOST +START +END +DURATION +HOST" "$OUT"
expect_match "report: the rotated session, 2 s" "acme +203\.0\.113\.7 .* [23]s +$(hostname)" "$OUT"
expect_match "report: the open session" "beta +198\.51\.100\.9 .* still open / no end recorded +-" "$OUT"
expect_match "report: the close without open" "acme .*\(start not recorded\)" "$OUT"

run_ctl --json report
printf '%s' "$OUT" >"$T/report.json"
check "report --json: sessions paired, sorted, with the audit's field names" python3 -c '
import json, sys, calendar, time
s = json.load(open(sys.argv[1]))["sessions"]
def t(x): return calendar.timegm(time.strptime(x, "%Y-%m-%dT%H:%M:%SZ"))
assert len(s) == 4, s
for r in s:
    assert set(r) >= {"user", "rhost", "start", "end", "duration_s", "host", "session", "service"}, r
    assert r["host"] == sys.argv[2], r
a, b, c, d = s
assert (a["user"], a["rhost"], a["service"], a["state"]) == ("acme", "203.0.113.7", "pvrotate", "closed"), a
assert a["duration_s"] >= 2 and abs(t(a["end"]) - t(a["start"]) - a["duration_s"]) <= 1, a
assert (b["user"], b["end"], b["duration_s"], b["state"]) == ("beta", None, None, "open (no recorded end)"), b
assert b["session"] is not None and b["start"] is not None, b
assert (c["start"], c["session"], c["duration_s"], c["state"]) == (None, None, None, "closed (no recorded start)"), c
assert d["duration_s"] in (0, 1) and t(d["end"]) - t(d["start"]) in (0, 1) and d["state"] == "closed", d
keys = [t(r["start"] or r["end"]) for r in s]
assert keys == sorted(keys), keys
' "$T/report.json" "$(hostname)"

run_ctl --json report --vendor beta
expect_eq "report --vendor: only that vendor" beta "$(printf '%s' "$OUT" | json_get sessions 0 user)"
expect_eq "report --vendor: one session" 1 "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["sessions"]))')"
run_ctl --json report --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
expect_eq "report --since future: only the session with no recorded end" \
	"1 beta" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; s=json.load(sys.stdin)["sessions"]; print(len(s), s[0]["user"] if s else "")')"
run_ctl report --until 2000-01-01T00:00:00Z
expect_match "report --until long ago: no sessions" "^No sessions between" "$OUT"
run_ctl report --since never
expect_eq "report bad --since: exit 2" 2 "$RC"
expect_match "report bad --since: names the value" '"never" is not a time' "$ERR"
run_ctl report --vendor
expect_eq "report --vendor without NAME: exit 2" 2 "$RC"
run_ctl report --weekly
expect_eq "report unknown option: exit 2" 2 "$RC"

run_ctl --json audit
expect_eq "audit reads the rotated file too" \
	"$(($(zcat "$AUDIT.1.gz" | wc -l) + $(lines_of "$AUDIT")))" \
	"$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')"
run_ctl audit verify
expect_eq "audit verify across the rotation: exit 0" 0 "$RC"
expect_match "audit verify across the rotation: intact" "^audit log intact: " "$OUT"

# --- tampering -------------------------------------------------------------------------------

BAD=$(grep -n '"rhost":"203.0.113.7"' "$AUDIT" | head -n 1 | cut -d: -f1)
sed -i "${BAD}s/\"rhost\":\"203.0.113.7\"/\"rhost\":\"203.0.113.8\"/" "$AUDIT"
run_ctl audit verify
expect_eq "edited line: audit verify exit 1" 1 "$RC"
expect_match "edited line: names file and line" "^otpctl: audit log NOT intact: $AUDIT line $BAD " "$ERR"
run_ctl --json audit verify
expect_eq "edited line: --json intact false" False "$(printf '%s' "$OUT" | json_get intact)"
expect_match "edited line: --json problem names the line" "line $BAD " "$(printf '%s' "$OUT" | json_get problem)"

echo 'this is not JSON' >>"$AUDIT"
G=$(lines_of "$AUDIT")
run_ctl audit
expect_eq "garbage line: audit still exit 0" 0 "$RC"
expect_match "garbage line: warning names file and line" "warning: $AUDIT line $G is not an audit record; skipped" "$ERR"
run_ctl --json audit
check "garbage line: audit --json still parses" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$OUT"

# A user name is what the client typed: it must not reach the terminal as escape sequences.
printf '{"time":"%s","event":"auth","service":"sshd","user":"\\u001b]0;pwned\\u0007\\u009bx\xff","rhost":null,"result":"deny","reason":"not_vendor"}\n' \
	"$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$AUDIT"
run_ctl audit
expect_match "hostile user name: shown" "auth +\?\]0;pwned\?\?+x\? " "$OUT"
check "hostile user name: no control character reaches the terminal" \
	bash -c '! printf "%s" "$1" | LC_ALL=C grep -q "[[:cntrl:]]"' _ "$(printf '%s' "$OUT" | tr -d '\n')"
run_ctl --json audit
expect_eq "hostile user name: --json keeps it, escaped" "$(printf '\033]0;pwned\007\302\233x\357\277\275')" \
	"$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"][-1]["user"])')"

# --- report on a million lines ---------------------------------------------------------------

new_env
cat >"$HELP/gen.py" <<'EOF'
import sys, time
# Lines shaped like the module's: per session auth, account, session_open, session_close
# (one session in 50 never closes). Prints the number of sessions.
n, out = int(sys.argv[1]), sys.argv[2]
t0 = int(time.time()) - 150 * 86400
mac = "6b4ca43cb92b76d83c743d710421c072f061effbc5746d147bf8fb38ac72552f"
def ts(t): return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
i = s = 0
with open(out, "w") as f:
    while i < n:
        t = t0 + s * 12
        sid = "%032x" % (s * 2654435761 % (1 << 128))
        base = ('"host":"bastion%d","event":"%%s","service":"sshd","user":"v%03d",'
                '"rhost":"203.0.113.%d","result":"allow","reason":"ok","tty":"ssh"' % (s % 3, s % 300, s % 250))
        def line(tt, ev, extra=""):
            global i
            f.write('{"time":"%s","seq":%d,"prev":"%s",%s%s,"mac":"%s"}\n' % (ts(tt), i + 1, mac, base % ev, extra, mac))
            i += 1
        line(t, "auth")
        line(t, "account")
        line(t, "session_open", ',"session":"%s","pid":%d,"auth_info":"publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG"' % (sid, 1000 + s))
        if s % 50 != 7:
            line(t + 600, "session_close", ',"session":"%s","duration_s":600,"pid":%d' % (sid, 1000 + s))
        s += 1
print(s)
EOF
SESSIONS=$(python3 "$HELP/gen.py" 1000000 "$AUDIT")
chmod 600 "$AUDIT"
# Speed is measured by `make bench` (report_ms over the same 1M-line log), never asserted here;
# memory is a bound the streaming design must keep whatever the machine's load.
MEMLIMIT=256
if [ "${PV_VARIANT:-normal}" = san ]; then # ASan + UBSan: several times bigger
	MEMLIMIT=2048
fi
cat >"$HELP/measure.py" <<'EOF'
import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    rc = subprocess.run(sys.argv[2:], stdout=out).returncode
print("%d %d" % (rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024))
EOF
read -r PRC MB < <(python3 "$HELP/measure.py" "$T/big.txt" "$OTPCTL" --config "$CFG" report)
expect_eq "1M lines: report exit 0" 0 "$PRC"
expect_eq "1M lines: one row per session" "$SESSIONS" "$(($(lines_of "$T/big.txt") - 1))"
check "1M lines: report peak memory ${MB} MiB (limit $MEMLIMIT)" [ "$MB" -lt "$MEMLIMIT" ]
rm -f "$AUDIT" "$T/big.txt"

# --- --since/--until in words and local dates (Europe/Paris, clock faked) ---------------------
# One admin line per vendor added at a faked instant; "now" is Saturday 2026-12-05 10:00.
new_env
export TZ=Europe/Paris
# libfaketime is LD_PRELOADed before an ASan runtime (make SANITIZE=1): let ASan accept it.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
for at in "pvqa 2026-12-03 23:30" "pvqb 2026-12-04 00:30" "pvqc 2026-12-04 23:59" \
	"pvqd 2026-12-05 00:10" "pvqe 2026-12-05 09:30"; do
	faketime "${at#* }" "$OTPCTL" --config "$CFG" vendor add "${at%% *}" --ip 192.0.2.1 >/dev/null 2>&1 ||
		echo "Bail out! vendor add at ${at#* } failed"
done
# picked ARGS...: the vendors whose vendor_add line `audit --json ARGS` selects at "now".
picked() {
	faketime '2026-12-05 10:00:00' "$OTPCTL" --config "$CFG" --json audit "$@" 2>"$T/err" |
		python3 -c 'import json,sys
print(" ".join(e["user"] for e in json.load(sys.stdin)["events"] if e.get("action") == "vendor_add"))'
}
expect_eq "audit --since today: since local midnight" "pvqd pvqe" "$(picked --since today)"
expect_eq "audit --since yesterday --until today: all of yesterday" "pvqb pvqc" \
	"$(picked --since yesterday --until today)"
expect_eq "audit --since 1h: the last hour" "pvqe" "$(picked --since 1h)"
expect_eq "audit --since -1h: the last hour" "pvqe" "$(picked --since -1h)"
expect_eq "audit --since '1h ago': the last hour" "pvqe" "$(picked --since '1h ago')"
expect_eq "audit --since '10h30m ago': from 23:30 yesterday" "pvqc pvqd pvqe" "$(picked --since '10h30m ago')"
expect_eq "audit --since DATE --until 'DATE HH:MM': local date and time" "pvqb" \
	"$(picked --since 2026-12-04 --until '2026-12-04 12:00')"
expect_eq "audit --until DATE: up to its local midnight" "pvqa" \
	"$(picked --since '2026-12-03 23:00' --until 2026-12-04)"
expect_eq "audit --since RFC 3339 as before" "pvqb pvqc pvqd pvqe" "$(picked --since 2026-12-03T23:00:00Z)"
expect_eq "audit --since HH:MM as before (today)" "pvqe" "$(picked --since 09:00)"
faketime '2026-12-05 10:00:00' "$OTPCTL" --config "$CFG" report --since yesterday >/dev/null 2>"$T/err"
expect_eq "report --since yesterday: accepted" 0 $?
faketime '2026-12-05 10:00:00' "$OTPCTL" --config "$CFG" audit --since '1h ago ago' >/dev/null 2>"$T/err"
expect_eq "audit --since '1h ago ago': exit 2" 2 $?
expect_match "audit --since '1h ago ago': names the value" '--since: "1h ago ago" is not a time' "$(cat "$T/err")"
export TZ=UTC

finish

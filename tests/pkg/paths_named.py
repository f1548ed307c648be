#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""paths_named.py — every absolute path that the installed package's docs (or otpctl doctor's
fixes) name must exist on the system they are installed on. Run inside the test's isolated
root after `dpkg -i` and `otpctl init` (tests/pkg/inroot.sh).

    paths_named.py docs MULTIARCH            the files in /usr/share/doc/libpam-vendor
                                              (plain and .gz) and the package's man pages
    paths_named.py doctor MULTIARCH < JSON   the "fix" texts of `otpctl doctor --json`

Prints "ok SOURCE: PATH" for a path that holds, "skip SOURCE: PATH (why)" for one that is
not checked, and "missing SOURCE: PATH" for one that does not exist. A fix is a command to
run as it stands, so in doctor's fixes a placeholder is "missing" too, and so is a
source-tree path (examples/FILE, docs/NAME.md: not there on a package install) unless the
same fix also names the installed copy (/usr/share/doc/libpam-vendor/examples/FILE,
/usr/share/doc/libpam-vendor/NAME.md). A path is:
  - "/" followed by a top-level directory of the FHS (/etc, /usr, /lib, /var, ...), after a
    space, a quote, a backtick, "(", "=", ":", "," or "[", up to the first character that
    cannot be in a path here; trailing dots, commas and dashes are punctuation, not path;
  - "<multiarch>" stands for the architecture's triplet and is replaced by it.
Not checked, and why:
  - a component written in capitals (FILE, NAME.md, DIR, PATH): a placeholder the reader
    fills;
  - under /run, /dev, /proc, /sys or /tmp: made at run time (the test's root has a fresh,
    empty /run, so that nothing reaches the host's systemd);
  - auditd's files (/etc/audit/..., /var/log/audit/...) and logind's (/var/lib/systemd/linger):
    the docs talk about them, the package depends on neither;
  - a file of the docs' example vendor account `acme` (/home/acme, a crontab or linger file
    named acme): an example of what an admin may find, not a file of the system;
  - a component holding a capitalised placeholder after a dash or underscore
    (pam_vendor-evidence-YYYYMMDD);
  - with a "*": the directory before it must exist (a glob);
  - the place an example file is copied to (its name is an example's name, such as
    /etc/logrotate.d/pam_vendor), a file the text says to create ("create PATH") or that a
    command writes (`echo NAME >> PATH`), and the allow and deny lists of cron and at
    (/etc/cron.allow, /etc/cron.deny, /etc/at.allow, /etc/at.deny: read when present): the
    directory must exist, the file is the admin's.
"""
import gzip
import json
import os
import re
import sys

DOC = "/usr/share/doc/libpam-vendor"
MAN_PAGES = [
    "/usr/share/man/man8/otpctl.8.gz",
    "/usr/share/man/man8/pam_vendor.8.gz",
    "/usr/share/man/man8/pam_vendor-keys.8.gz",
    "/usr/share/man/man5/pam_vendor.conf.5.gz",
]
TOP = "etc|usr|lib|lib64|var|run|sbin|bin|home|root|dev|opt|srv|tmp|proc|sys|boot|mnt"
PATH_RE = re.compile(r"(?:^|(?<=[\s`'\"(=:,\[]))/(?:" + TOP + r")(?:/[A-Za-z0-9._@+*<>%-]*)*")
SOURCE_TREE_RE = re.compile(r"(?<![\w./-])(?:examples|docs)/[\w./-]*[\w]")
RUNTIME = ("/run", "/dev", "/proc", "/sys", "/tmp")
NOT_OURS = ("/etc/audit", "/var/log/audit", "/var/lib/systemd/linger")
EXAMPLE_ACCOUNT = "acme"
OPTIONAL_LISTS = ("/etc/cron.allow", "/etc/cron.deny", "/etc/at.allow", "/etc/at.deny")


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        text = f.read()
    if re.search(r"\.[1-8](\.gz)?$", path):
        # groff source: "\-" is a dash, "\fB" and friends change fonts, "\%" and "\&" are
        # invisible.
        text = text.replace("\\-", "-")
        text = re.sub(r"\\f[BIRP]|\\f\(..|\\[%&]", "", text)
    return text


def paths_in(text):
    """(path, True when the text says to create it)"""
    for m in PATH_RE.finditer(text):
        p = m.group(0).rstrip(".,-")
        if len(p) > 1:
            before = text[max(0, m.start() - 12) : m.start()]
            yield p, (re.search(r"\bcreate\s+[`'\"]?$", before) is not None or
                      re.search(r">>?\s*$", before) is not None or p in OPTIONAL_LISTS)


def example_names():
    names = set()
    for root, _, files in os.walk(os.path.join(DOC, "examples")):
        names.update(files)
    return names


def under(path, dirs):
    return any(path == d or path.startswith(d + "/") for d in dirs)


def verdict(path, to_create, multiarch, examples, fix):
    """("ok" | "skip" | "missing", why)"""
    p = path.replace("<multiarch>", multiarch)
    parts = [c for c in p.split("/") if c]
    if any(re.fullmatch(r"[A-Z][A-Z_]+(\..*)?", c) or re.search(r"[-_][A-Z]{3,}$", c)
           for c in parts):
        return ("missing" if fix else "skip"), "a placeholder"
    if EXAMPLE_ACCOUNT in parts and not fix:
        return "skip", "the docs' example account"
    if under(p, RUNTIME):
        return "skip", "made at run time"
    if under(p, NOT_OURS):
        return "skip", "auditd's or logind's, not a dependency"
    if "*" in p:
        d = p[: p.index("*")].rsplit("/", 1)[0] or "/"
        return ("ok", "") if os.path.isdir(d) else ("missing", f"no directory {d}")
    if os.path.lexists(p):
        return "ok", ""
    if (to_create or (parts and parts[-1] in examples)) and os.path.isdir(os.path.dirname(p)):
        return "ok", "its directory: the admin makes the file"
    return "missing", ""


def sources(mode):
    if mode == "docs":
        for root, _, files in sorted(os.walk(DOC)):
            for name in sorted(files):
                path = os.path.join(root, name)
                yield path, read_text(path)
        for page in MAN_PAGES:
            yield page, read_text(page)
    else:
        report = json.load(sys.stdin)
        for f in report.get("findings", []):
            yield "doctor " + f.get("id", "?"), f.get("fix", "") or ""


def main():
    mode, multiarch = sys.argv[1], sys.argv[2]
    examples = example_names()
    for source, text in sources(mode):
        for path, to_create in sorted(set(paths_in(text))):
            v, why = verdict(path, to_create, multiarch, examples, mode == "doctor")
            print(f"{v} {source}: {path}" + (f" ({why})" if why else ""))
        if mode == "doctor":
            for m in SOURCE_TREE_RE.finditer(text):
                rel = m.group(0)
                installed = os.path.join(DOC, rel if rel.startswith("examples/") else rel[5:])
                if installed not in text:
                    print(f"missing {source}: {rel} (a source-tree path alone)")


if __name__ == "__main__":
    main()

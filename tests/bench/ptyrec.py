#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""ptyrec.py — the cost of session recording (make bench, part "recording"): one session
that prints 50 MB through a terminal (`head -c 50M /dev/zero | base64`), unrecorded (the
shell straight in the pty, as sshd runs it) and recorded (util-linux script with the flags
pv-record gives it: --flush, --log-out, --log-in, --log-timing), in alternating rounds, read
by a terminal reader like sshd's. Checks that each recording holds every byte the session
printed. Prints key=value facts for run.sh.

usage: ptyrec.py ROUNDS DIR MEGABYTES"""
import hashlib
import os
import pty
import statistics
import subprocess
import sys
import time

SCRIPT = "/usr/bin/script"


def run_in_pty(argv):
    """Run argv in a new pty, read everything it prints; (seconds, bytes read)."""
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, {"PATH": "/usr/bin:/bin", "SHELL": "/bin/bash",
                                  "TERM": "xterm"})
    got = 0
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the terminal hung up
            break
        if not chunk:
            break
        got += len(chunk)
    os.waitpid(pid, 0)
    os.close(fd)
    return time.monotonic() - start, got


def expected_digest(command):
    out = subprocess.run(["/bin/bash", "-c", command], capture_output=True, check=True).stdout
    return hashlib.sha256(out).hexdigest(), len(out)


def recorded_digest(path):
    """The output log as the session printed it: script's header (its first line) and
    trailer ("\\nScript done on ...") dropped, the terminal's \\r\\n back to \\n."""
    with open(path, "rb") as f:
        data = f.read()
    body = data.split(b"\n", 1)[1]
    body = body[: body.rfind(b"\nScript done on ")]
    body = body.replace(b"\r\n", b"\n")
    return hashlib.sha256(body).hexdigest()


def main():
    rounds, work, mb = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    command = f"head -c {mb}M /dev/zero | base64"
    want, want_len = expected_digest(command)
    plain, recorded, complete = [], [], True
    os.umask(0o077)
    for i in range(rounds):
        secs, _ = run_in_pty(["/bin/bash", "-c", command])
        plain.append(secs)
        base = os.path.join(work, f"rec{i}")
        secs, _ = run_in_pty([SCRIPT, "--quiet", "--flush", "--return", "--echo", "auto",
                              "--log-out", base + ".out", "--log-in", base + ".in",
                              "--log-timing", base + ".timing", "--command", command])
        recorded.append(secs)
        if recorded_digest(base + ".out") != want:
            complete = False
        for sfx in (".out", ".in", ".timing"):
            os.unlink(base + sfx)
    p, r = statistics.median(plain), statistics.median(recorded)
    print(f"rec_mb={mb}")
    print(f"rec_bytes={want_len}")
    print(f"rec_rounds={rounds}")
    print(f"rec_plain_s={p:.3f}")
    print(f"rec_recorded_s={r:.3f}")
    print(f"rec_ratio={r / p:.2f}")
    print(f"rec_complete={'yes' if complete else 'NO'}")


if __name__ == "__main__":
    main()

#!/bin/bash
# test_doc_refs.sh — the docs name tests as proof (docs/threat-model.md): every named test
# file exists and every named test is defined in it, so the docs cannot drift from the suite.
set -u
source "$(dirname "$0")/../lib.sh"

check_refs() { # DOC
	local doc=$1 line
	while IFS= read -r line; do
		case "$line" in
		ok\ *) ok "${line#ok }" ;;
		*) not_ok "$line" ;;
		esac
	done < <(python3 - "$PV_ROOT" "$doc" <<'PY'
import re, sys, os
root, doc = sys.argv[1], sys.argv[2]
text = open(os.path.join(root, doc)).read()
# Inside one backtick span, or a run of spans: `tests/x.sh: a`, `b`, `c`
spans = re.findall(r'`([^`]+)`', text)
current = None
seen = set()
for span in spans:
    m = re.match(r'^(tests/[A-Za-z0-9_./-]+\.(?:sh|c))(?::\s*([a-z0-9_]+))?$', span)
    if m:
        current = m.group(1)
        names = [m.group(2)] if m.group(2) else []
    elif current and re.match(r'^[a-z][a-z0-9_]+$', span) and span.startswith('test_'):
        names = [span]
    else:
        if not span.startswith('test_'):
            current = current if span.startswith('tests/') else current
        continue
    path = os.path.join(root, current)
    if not os.path.isfile(path):
        key = ('file', current)
        if key not in seen:
            seen.add(key)
            print(f"{doc} names {current}, which does not exist")
        continue
    body = open(path).read()
    for n in names:
        key = (current, n)
        if key in seen:
            continue
        seen.add(key)
        defined = re.search(r'^' + n + r'\(\)', body, re.M) or re.search(r'\b' + n + r'\(void \*\*', body)
        print((f"ok {doc}: {current} defines {n}") if defined else f"{doc} names {n} in {current}, which does not define it")
if not seen:
    print(f"{doc} names no test at all")
PY
)
}

check_refs docs/threat-model.md
finish

#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# shellcheck disable=SC2016 # backticks inside single quotes are Markdown code spans, not expansions
# test_doc_refs.sh — the docs name tests as proof, and every named test exists and runs, so the
# docs cannot drift from the suite:
#   docs/threat-model.md: every `tests/FILE: test_name` (or a run of `test_name` spans after it)
#     names a file that exists and a test it defines and runs;
#   docs/conformance.md: every row of the requirements table (columns id | requirement | source
#     | mechanism | proof) names tests that exist and run, or says "Not yet covered:" in its
#     mechanism and names none (the format is described at the top of that file).
# Self-tests at the end prove the checks can fail: altered copies of both docs and small
# synthetic docs and suites must be reported.
set -u
source "$(dirname "$0")/../lib.sh"

# The parser: python3 -c "$PARSER" MODE ROOT DOC (MODE: refs or conformance; DOC relative to
# ROOT, or absolute). Prints "ok TEXT" for what holds, "# TEXT" notes, and one line naming each
# problem.
read -r -d '' PARSER <<'PY'
import os, re, sys

mode, root, doc = sys.argv[1], sys.argv[2], sys.argv[3]
path = doc if os.path.isabs(doc) else os.path.join(root, doc)
try:
    text = open(path, encoding='utf-8').read()
except OSError as e:
    print(f"{doc} cannot be read: {e.strerror}")
    sys.exit(0)

_sources = {}
def source(rel):
    if rel not in _sources:
        p = os.path.join(root, rel)
        _sources[rel] = open(p, encoding='utf-8', errors='replace').read() if os.path.isfile(p) else None
    return _sources[rel]

def problem(rel, name):
    """None when REL defines the test NAME and runs it; else what is wrong, as a phrase."""
    src = source(rel)
    if src is None:
        return f"names {rel}, which does not exist"
    if name.startswith('"'):
        if not rel.endswith('.sh'):
            return f"names the check {name} in {rel}: check texts are for shell suites only"
        if not re.search(r'\b(?:check\w*|expect\w*|ok|not_ok|skip)\s+' + re.escape(name), src):
            return f"names the check {name} in {rel}, which has no such check"
        return None
    n = re.escape(name)
    if rel.endswith('.c'):
        if not re.search(r'^(?:static\s+)?void\s+' + n + r'\s*\(\s*void\s*\*\*', src, re.M):
            return f"names {name} in {rel}, which does not define it"
        # Registered: cmocka_unit_test(NAME), cmocka_unit_test_setup_teardown(NAME, ...), T(NAME).
        if not re.search(r'[(,]\s*' + n + r'\s*[,)]', src):
            return f"names {name} in {rel}, which defines it but never registers it (it never runs)"
    else:
        if not re.search(r'^' + n + r'\s*\(\)', src, re.M):
            return f"names {name} in {rel}, which does not define it"
        called = re.search(r'^[ \t]*' + n + r'(?![\w(])', src, re.M) or \
            re.search(r'^[ \t]*for \w+ in [^\n;]*\b' + n + r'\b', src, re.M)
        if not called:
            return f"names {name} in {rel}, which defines it but never calls it (it never runs)"
    return None

# One reference: `tests/PATH.(c|sh): test_name` or `tests/PATH.sh: "check text"`.
REF = re.compile(r'^(tests/[A-Za-z0-9_./-]+\.(?:sh|c)): (test_[a-z0-9_]+|"[^"`$\\]+")$')

def refs_mode():
    # Inside one backtick span, or a run of spans: `tests/x.sh: a`, `b`, `c`
    current, seen = None, set()
    for span in re.findall(r'`([^`]+)`', text):
        m = re.match(r'^(tests/[A-Za-z0-9_./-]+\.(?:sh|c))(?::\s*([a-z0-9_]+))?$', span)
        if m:
            current = m.group(1)
            names = [m.group(2)] if m.group(2) else []
        elif current and re.match(r'^test_[a-z0-9_]+$', span):
            names = [span]
        else:
            continue
        if source(current) is None:
            if ('file', current) not in seen:
                seen.add(('file', current))
                print(f"{doc} {problem(current, '')}")
            continue
        seen.add(('file', current))
        for n in names:
            if (current, n) in seen:
                continue
            seen.add((current, n))
            p = problem(current, n)
            print(f"ok {doc}: {current} defines and runs {n}" if p is None else f"{doc} {p}")
    if not seen:
        print(f"{doc} names no test at all")

COLUMNS = ['id', 'requirement', 'source', 'mechanism', 'proof']

def cells(line):
    """The cells of a table row; a | inside a code span or written \\| does not split."""
    s = line.strip()
    s = s[1:] if s.startswith('|') else s
    s = s[:-1] if s.endswith('|') and not s.endswith('\\|') else s
    out, cur, code, i = [], '', False, 0
    while i < len(s):
        c = s[i]
        if c == '\\' and s[i + 1:i + 2] == '|':
            cur += '|'
            i += 2
            continue
        if c == '`':
            code = not code
        if c == '|' and not code:
            out.append(cur.strip())
            cur = ''
        else:
            cur += c
        i += 1
    out.append(cur.strip())
    return out

def conformance_mode():
    lines = text.split('\n')
    table_lines = set()
    check_rows(lines, table_lines)
    check_prose(lines, table_lines)

def check_rows(lines, table_lines):
    tables, i = [], 0
    while i < len(lines):
        if lines[i].lstrip().startswith('|'):
            start = i
            while i < len(lines) and lines[i].lstrip().startswith('|'):
                i += 1
            tables.append((start, lines[start:i]))
        else:
            i += 1
    rows = []
    for start, tl in tables:
        if [c.lower() for c in cells(tl[0])] != COLUMNS:
            continue
        table_lines.update(range(start, start + len(tl)))
        if len(tl) < 2 or not re.match(r'^\s*\|[\s:|-]+\|\s*$', tl[1]):
            print(f"{doc} line {start + 2}: the requirements table has no separator row under its header")
            continue
        rows += [(start + 3 + k, l) for k, l in enumerate(tl[2:])]
    if not rows:
        print(f"{doc} has no requirements table (columns {' | '.join(COLUMNS)}) with rows")
        return
    ids, gaps = set(), []
    for lineno, line in rows:
        c = cells(line)
        rid = c[0] if c and c[0] else f"at line {lineno}"
        if len(c) != len(COLUMNS):
            print(f"{doc} row {rid} (line {lineno}) has {len(c)} cells, the header has {len(COLUMNS)}")
            continue
        bad = False
        if not re.fullmatch(r'[A-Z]{1,3}[0-9]{1,3}', c[0]):
            print(f"{doc} row {rid} (line {lineno}): the id must look like C01")
            bad = True
        elif c[0] in ids:
            print(f"{doc} row {rid} (line {lineno}): the id is used twice")
            bad = True
        ids.add(c[0])
        if not c[1]:
            print(f"{doc} row {rid} states no requirement")
            bad = True
        if not re.search(r'\b00[014] [A-Z]', c[2]):
            print(f"{doc} row {rid} gives no source (000, 001 or 004 and its section, e.g. 001 A5)")
            bad = True
        gap = re.match(r'not yet covered:', c[3], re.I) is not None
        refs = []
        for span in re.findall(r'`([^`]*)`', c[4]):
            m = REF.match(span)
            if m:
                refs.append(m.groups())
            else:
                print(f"{doc} row {rid}: `{span}` in the proof column is not a test reference "
                      f"(tests/PATH: test_name, or tests/PATH.sh: \"check text\")")
                bad = True
        if gap and refs:
            print(f"{doc} row {rid} says not yet covered but names tests: drop the marker or the tests")
            continue
        if gap:
            gaps.append(c[0])
            if not bad:
                print(f"ok {doc} row {rid}: marked not yet covered, names no test")
            continue
        if not refs:
            print(f"{doc} row {rid} names no test and is not marked \"Not yet covered:\"")
            continue
        for rel, name in refs:
            p = problem(rel, name)
            if p is not None:
                print(f"{doc} row {rid} {p}")
                bad = True
        if not bad:
            print(f"ok {doc} row {rid}: its {len(refs)} test(s) exist and run")
    if gaps:
        print(f"# {doc}: not yet covered: {', '.join(gaps)}")

def check_prose(lines, table_lines):
    """References outside the table (the format's examples, the structure's list) hold too."""
    seen = set()
    for k, line in enumerate(lines):
        if k in table_lines:
            continue
        for span in re.findall(r'`([^`]*)`', line):
            if not span.startswith('tests/') or ': ' not in span or span in seen:
                continue
            seen.add(span)
            m = REF.match(span)
            if not m:
                print(f"{doc} line {k + 1}: `{span}` is not a test reference")
                continue
            p = problem(*m.groups())
            what = 'has the check' if m.group(2).startswith('"') else 'defines and runs'
            print(f"ok {doc} line {k + 1}: {m.group(1)} {what} {m.group(2)}"
                  if p is None else f"{doc} line {k + 1} {p}")

refs_mode() if mode == 'refs' else conformance_mode()
PY

parse() { python3 -c "$PARSER" "$@"; }

# check_doc MODE DOC: one ok / not ok line per line of the parser's verdict.
check_doc() {
	local line
	while IFS= read -r line; do
		case "$line" in
		ok\ *) ok "${line#ok }" ;;
		\#*) echo "$line" ;;
		*) not_ok "$line" ;;
		esac
	done < <(parse "$1" "$PV_ROOT" "$2")
}

# problems MODE ROOT DOC: only the problem lines (the parser's failures).
problems() { parse "$@" | grep -v -e '^ok ' -e '^#'; }

# expect_caught NAME REGEX MODE ROOT DOC: the parser reports a problem matching REGEX.
expect_caught() {
	local name=$1 re=$2
	shift 2
	expect_match "$name" "$re" "$(problems "$@")"
}

check_doc refs docs/threat-model.md
check_doc conformance docs/conformance.md

# --- self-tests: the checks can fail ----------------------------------------------------------

test_an_altered_name_in_the_docs_is_caught() {
	local d
	d=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$d")
	# The first test function a row of the conformance table names, renamed.
	sed '0,/^| C.*: test_/{/^| C/s/: test_/: test_no_such_/}' "$PV_ROOT/docs/conformance.md" >"$d/renamed.md"
	expect_caught "self-test: conformance.md with a renamed test is caught, naming it" \
		'row C[0-9]+ names test_no_such_[a-z0-9_]+ in tests/[^ ]+, which does not define it' \
		conformance "$PV_ROOT" "$d/renamed.md"
	sed '0,/^| C.*`tests\/unit\//{/^| C/s/`tests\/unit\//`tests\/unit_gone\//}' "$PV_ROOT/docs/conformance.md" >"$d/file.md"
	expect_caught "self-test: conformance.md naming a missing test file is caught" \
		'row C[0-9]+ names tests/unit_gone/[^ ]+, which does not exist' \
		conformance "$PV_ROOT" "$d/file.md"
	# A covered row whose proof is emptied: neither a test nor the marker.
	sed '0,/^| C01 |/{s/^\(| C01 |.*|\) [^|]*|$/\1 — |/}' "$PV_ROOT/docs/conformance.md" >"$d/bare.md"
	expect_caught "self-test: conformance.md row with neither a test nor the marker is caught" \
		'row C01 names no test and is not marked' conformance "$PV_ROOT" "$d/bare.md"
	sed '0,/: test_/s//: test_no_such_/' "$PV_ROOT/docs/threat-model.md" >"$d/threat.md"
	expect_caught "self-test: threat-model.md with a renamed test is caught, naming it" \
		'names test_no_such_[a-z0-9_]+ in tests/[^ ]+, which does not define it' \
		refs "$PV_ROOT" "$d/threat.md"
}

# A synthetic tree: suites with tests that run, and tests that are defined but never run.
test_synthetic_rows_are_judged() {
	local d
	d=$(mktemp -d /tmp/pvtest.XXXXXX)
	T_DIRS+=("$d")
	mkdir -p "$d/tests/unit" "$d/tests/cli"
	cat >"$d/tests/unit/test_x.c" <<'EOF'
static void test_runs(void **state) { (void)state; }
static void test_never_registered(void **state) { (void)state; }
int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
EOF
	cat >"$d/tests/cli/test_y.sh" <<'EOF'
test_called() {
	expect_eq "a named check" 1 1
}
test_never_called() {
	check "another check" true
}
test_called
finish
EOF
	local head='| id | requirement | source | mechanism | proof |
|---|---|---|---|---|'
	printf '%s\n' "$head" \
		'| C01 | a | 001 A1 | m | `tests/unit/test_x.c: test_runs`; `tests/cli/test_y.sh: test_called` |' \
		'| C02 | b | 004 R11 | m | `tests/cli/test_y.sh: "a named check"` |' \
		'| C03 | c | 000 J2 | Not yet covered: something. | — |' >"$d/good.md"
	expect_eq "self-test: a correct synthetic table has no problem" "" \
		"$(problems conformance "$d" "$d/good.md")"
	expect_eq "self-test: a correct synthetic table: one ok line per row" 3 \
		"$(parse conformance "$d" "$d/good.md" | grep -c '^ok ')"
	expect_match "self-test: the not-yet-covered rows are listed" 'not yet covered: C03$' \
		"$(parse conformance "$d" "$d/good.md")"

	printf '%s\n' "$head" '| C01 | a | 001 A1 | m | `tests/unit/test_x.c: test_never_registered` |' >"$d/t.md"
	expect_caught "self-test: a cmocka test never registered is caught" \
		'row C01 names test_never_registered in tests/unit/test_x.c, which defines it but never registers it' \
		conformance "$d" "$d/t.md"
	printf '%s\n' "$head" '| C01 | a | 001 A1 | m | `tests/cli/test_y.sh: test_never_called` |' >"$d/t.md"
	expect_caught "self-test: a shell test never called is caught" \
		'row C01 names test_never_called in tests/cli/test_y.sh, which defines it but never calls it' \
		conformance "$d" "$d/t.md"
	printf '%s\n' "$head" '| C01 | a | 001 A1 | m | `tests/cli/test_y.sh: "no such check"` |' >"$d/t.md"
	expect_caught "self-test: a check text the suite lacks is caught" \
		'row C01 names the check "no such check" in tests/cli/test_y.sh, which has no such check' \
		conformance "$d" "$d/t.md"
	printf '%s\n' "$head" '| C01 | a | 001 A1 | m | — |' >"$d/t.md"
	expect_caught "self-test: a row with neither a test nor the marker is caught" \
		'row C01 names no test and is not marked' conformance "$d" "$d/t.md"
	printf '%s\n' "$head" '| C01 | a | 001 A1 | Not yet covered: x. | `tests/unit/test_x.c: test_runs` |' >"$d/t.md"
	expect_caught "self-test: a not-yet-covered row naming a test is caught" \
		'row C01 says not yet covered but names tests' conformance "$d" "$d/t.md"
	printf '%s\n' "$head" '| C01 | a | 001 A1 | m | `tests/unit/test_x.c` test_runs |' >"$d/t.md"
	expect_caught "self-test: a malformed reference is caught" \
		'row C01: `tests/unit/test_x.c` in the proof column is not a test reference' \
		conformance "$d" "$d/t.md"
	printf '%s\n' "$head" '| C01 | a | somewhere | m | `tests/unit/test_x.c: test_runs` |' >"$d/t.md"
	expect_caught "self-test: a row without a source is caught" \
		'row C01 gives no source' conformance "$d" "$d/t.md"
	printf '%s\n' "$head" '| C01 | a | 001 A1 | m | `tests/unit/test_x.c: test_runs` |' \
		'| C01 | b | 001 A2 | m | `tests/unit/test_x.c: test_runs` |' >"$d/t.md"
	expect_caught "self-test: a duplicated id is caught" 'row C01 \(line 4\): the id is used twice' \
		conformance "$d" "$d/t.md"
	printf '%s\n' "$head" '| C01 | a | 001 A1 | `tests/unit/test_x.c: test_runs` |' >"$d/t.md"
	expect_caught "self-test: a row with a missing cell is caught" 'row C01 \(line 3\) has 4 cells' \
		conformance "$d" "$d/t.md"
	printf '%s\n' '# no table' 'See `tests/unit/test_x.c: test_gone`.' >"$d/t.md"
	expect_caught "self-test: a doc without the requirements table is caught" \
		'has no requirements table' conformance "$d" "$d/t.md"
	expect_caught "self-test: a reference outside the table is checked too" \
		'line 2 names test_gone in tests/unit/test_x.c, which does not define it' \
		conformance "$d" "$d/t.md"
}

test_an_altered_name_in_the_docs_is_caught
test_synthetic_rows_are_judged
finish

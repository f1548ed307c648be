# SPDX-License-Identifier: BSD-3-Clause
# doctor_lib.sh — reading `otpctl --json doctor`'s output in OUT (sourced after tests/lib.sh by
# test_doctor.sh and test_schedule.sh): the finding ids, one finding's fields, and checks that
# a finding is or is not there.

# ids: the finding ids of OUT, one a line ("unparsable" if OUT is not one JSON object).
ids() {
	python3 -c 'import json,sys
try:
    d=json.loads(sys.argv[1])
except Exception:
    print("unparsable"); sys.exit(0)
for f in d["findings"]: print(f["id"])' "$OUT"
}
has_id() { ids | grep -x -- "$1" >/dev/null; }

# field ID KEY: what/fix/severity of finding ID ("" when there is none).
field() {
	python3 -c 'import json,sys
d=json.loads(sys.argv[1])
print(next((f[sys.argv[3]] for f in d["findings"] if f["id"]==sys.argv[2]), ""))' "$OUT" "$1" "$2"
}

# expect_finding NAME ID / expect_no_finding NAME ID
expect_finding() {
	if has_id "$2"; then ok "$1"; else not_ok "$1" "no finding $2 in: $(ids | tr '\n' ' ')"; fi
}
expect_no_finding() {
	if has_id "$2"; then not_ok "$1" "unexpected finding $2: $(field "$2" what)"; else ok "$1"; fi
}

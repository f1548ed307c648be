# SPDX-License-Identifier: BSD-3-Clause
# syscalls.awk — per-login system call counts from `strace -f -o FILE` of a pvbench run with
# --strace-markers: counts the calls made between PVBENCH_LOGIN_BEGIN and PVBENCH_LOGIN_END
# (per process), divided by the number of logins. Output: "name calls_per_login", sorted.
{
	pid = $1
	if ($0 ~ /PVBENCH_LOGIN_BEGIN/) { inside[pid] = 1; logins++; next }
	if ($0 ~ /PVBENCH_LOGIN_END/) { inside[pid] = 0; next }
	if (!inside[pid]) next
	if ($2 ~ /^<\.\.\./) next            # "<... foo resumed>": counted at its start
	name = $2
	sub(/\(.*/, "", name)
	if (name == "" || name ~ /^[-+]/) next   # signals, exits
	count[name]++
	total++
}
END {
	if (logins == 0) { print "no markers found" > "/dev/stderr"; exit 1 }
	for (n in count) printf "%s %.2f\n", n, count[n] / logins
	printf "TOTAL %.2f\n", total / logins
}

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run KVM selftest binaries, kselftest style: one top-level KTAP result per
# binary, each binary's own output indented with "# ".
#
# usage: run_tests.sh TEST...
#   KVM_SELFTEST_TIMEOUT  seconds per test case (default 300); a whole binary
#                         gets 10 times that.
# Exit status: 0 if no test failed, 1 otherwise.

set -u
cd "$(dirname "$0")" || exit 1

case_timeout=${KVM_SELFTEST_TIMEOUT:-300}
bin_timeout=$((case_timeout * 10))
out=$(mktemp /tmp/kvm-selftest.XXXXXX)
trap 'rm -f "$out"' EXIT

echo "TAP version 13"
echo "1..$#"
n=0
failed=0
for t in "$@"; do
	n=$((n + 1))
	echo "# selftests: kvm: $t"
	if [ ! -x "./$t" ]; then
		echo "not ok $n $t # not built"
		failed=1
		continue
	fi
	timeout --kill-after=10 "$bin_timeout" "./$t" > "$out" 2>&1
	st=$?
	sed 's/^/# /' "$out"
	case $st in
	0)
		echo "ok $n $t"
		;;
	4)
		# The first case's skip reason stands for the binary.
		reason=$(sed -n 's/^ok [0-9]* .* # SKIP //p' "$out" | head -1)
		echo "ok $n $t # SKIP ${reason:-skipped}"
		;;
	124|137)
		echo "not ok $n $t # TIMEOUT after ${bin_timeout}s"
		failed=1
		;;
	*)
		echo "not ok $n $t # exit=$st"
		failed=1
		;;
	esac
done
exit $failed

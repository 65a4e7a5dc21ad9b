#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the unit tests as one KTAP document; each program's own KTAP output
# is nested (indented) under its result line.  Exit 1 if any failed.
OUT=${OUT:-build}
cd "$(dirname "$0")" || exit 1

tests="test_walk test_emulate test_decode test_diff fuzz_emulate"
n=0
fail=0
echo "TAP version 13"
echo "1..$(echo $tests | wc -w)"
for t in $tests; do
	n=$((n + 1))
	tmp=
	case $t in
	test_decode) args=$DECODE_CASES ;;
	test_diff) args=$DIFF_STATES ;;
	fuzz_emulate)
		# New inputs go to a scratch dir; the tree corpus is only read.
		tmp=$(mktemp -d)
		args="-max_total_time=${FUZZ_TIME:-30} -timeout=10 $tmp corpus" ;;
	*) args= ;;
	esac
	"$OUT/$t" $args > "$OUT/$t.log" 2>&1
	rc=$?
	if [ "$t" = fuzz_emulate ]; then
		grep -E '^(#[0-9]+.*DONE|==|SUMMARY|Done)' "$OUT/$t.log" |
			tail -n 5 | sed 's/^/    # /'
		rm -rf "$tmp"
	else
		sed 's/^/    /' "$OUT/$t.log"
	fi
	if [ "$rc" -eq 0 ]; then
		echo "ok $n $t"
	elif [ "$rc" -eq 4 ]; then
		echo "ok $n $t # SKIP"
	else
		echo "not ok $n $t # exit $rc, log in $OUT/$t.log"
		fail=1
	fi
done
exit $fail

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run upstream Linux's own KVM selftests (built by build-upstream-selftests.sh
# on the host) against whatever /dev/kvm this machine has, in the test bed:
#
#   tools/testing/vmtest/vmtest --backend ukvm -- tools/testing/clients/upstream-selftests.sh
#
# Which tests run, with which arguments, and why the others do not, is in
# upstream-selftests.list next to this script. Each test is one top-level KTAP
# line named upstream-<binary>; its own output is passed through as "# "
# comments (some of them print KTAP of their own, which must not count).
# No time limit here: a hang is the bed's to catch.
#
# usage: upstream-selftests.sh [--all] [NAME...]
#   --all   also run the tests the list excludes (to re-check the exclusions)
#   NAME    run only these (binary names, e.g. kvm_create_max_vcpus)
# exit:  0 all passed or skipped, 1 a test failed or the build is missing

set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
TREE=$(cd "$HERE/../../.." && pwd)
LIST=$HERE/upstream-selftests.list
BIN=${UPSTREAM_SELFTESTS_BIN:-$TREE/build/upstream-selftests/bin}

all=0
if [ "${1:-}" = --all ]; then
	all=1
	shift
fi
only=" $* "

echo "TAP version 13"
if [ ! -d "$BIN" ]; then
	echo "1..1"
	echo "not ok 1 upstream-selftests # not built: run $HERE/build-upstream-selftests.sh on the host first"
	exit 1
fi

# path NAME: the built binary for NAME (top level or x86_64/), or nothing.
path() {
	local p
	for p in "$BIN/$1" "$BIN/x86_64/$1"; do
		[ -f "$p" ] && [ -x "$p" ] && { echo "$p"; return; }
	done
}

# The list: "run NAME [ARG...]" or "exclude NAME REASON", "#" comments.
names=() args=()
while read -r verb name rest; do
	rest=${rest%%#*}
	rest=${rest%"${rest##*[![:space:]]}"}
	case $verb in
	run) ;;
	exclude) [ $all = 1 ] || continue; rest= ;;
	*) continue ;;
	esac
	[ "$only" = "  " ] || [[ $only == *" $name "* ]] || continue
	names+=("$name")
	args+=("$rest")
done < "$LIST"

# A built test the list does not mention (a newer source) is neither run
# nor silently dropped: say so.
for p in "$BIN"/* "$BIN"/x86_64/*; do
	if [ ! -f "$p" ] || [ ! -x "$p" ]; then
		continue
	fi
	grep -qE "^(run|exclude)[[:space:]]+${p##*/}([[:space:]]|\$)" "$LIST" ||
		echo "# ${p##*/} is built but not in $LIST: add it as run or exclude"
done

echo "1..${#names[@]}"
failed=0
for i in "${!names[@]}"; do
	n=$((i + 1)) name=${names[$i]}
	p=$(path "$name")
	if [ -z "$p" ]; then
		echo "not ok $n upstream-$name # not built (see build/upstream-selftests/build.log)"
		failed=1
		continue
	fi
	out=$(mktemp /tmp/upstream-selftest.XXXXXX)
	echo "# $name${args[$i]:+ ${args[$i]}}"
	start=$(date +%s)
	# shellcheck disable=SC2086 # the arguments are words from the list
	(cd "$(dirname "$p")" && exec "$p" ${args[$i]}) < /dev/null > "$out" 2>&1
	st=$?
	secs=$(( $(date +%s) - start ))
	sed 's/^/# /' "$out"
	echo "# upstream-$name: exit status $st after ${secs} s"
	case $st in
	0) echo "ok $n upstream-$name" ;;
	4)
		# kselftest's "1..0 # SKIP - why", or print_skip()'s "why, skipping test"
		reason=$(sed -n -e 's/^.*# SKIP[ -]*//p' -e 's/, skipping test$//p' "$out" | head -n1)
		echo "ok $n upstream-$name # SKIP ${reason:-exit status 4}"
		;;
	*)
		# A shell reports death by signal S as 128 + S; selftests' own
		# failure status is 254 (and TEST_ASSERT's ksft_exit_fail 1).
		if [ $st -gt 128 ] && [ $st -le $((128 + 64)) ]; then
			why="killed by signal $((st - 128))"
		else
			why="exit status $st"
		fi
		echo "not ok $n upstream-$name # $why"
		failed=1
		;;
	esac
	rm -f "$out"
done
exit $failed

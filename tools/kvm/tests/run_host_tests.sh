#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run lkvm's host tests and fuzzers as one KTAP document whose results
# are the programs; each program's own KTAP is nested, indented.
#   run_host_tests.sh BUILD-DIR FUZZ-RUNS [--no-fuzz]
set -u
dir=$1 runs=$2 fuzz=1
[ "${3:-}" = --no-fuzz ] && fuzz=0
nr=0 failed=0

result() {	# result STATUS NAME
	nr=$((nr + 1))
	case $1 in
	0) echo "ok $nr $2" ;;
	4) echo "ok $nr $2 # SKIP" ;;
	*) echo "not ok $nr $2"; failed=1 ;;
	esac
}

echo "TAP version 13"
echo "1..7"
for t in virtqueue_test 9p_test control_test initramfs_test; do
	"$dir/$t" 2>&1 | sed 's/^/    /'
	result "${PIPESTATUS[0]}" "$t"
done
for f in fuzz_virtqueue fuzz_9p fuzz_control; do
	if [ $fuzz = 0 ]; then
		nr=$((nr + 1)); echo "ok $nr $f # SKIP clang has no libFuzzer"
		continue
	fi
	# A fixed number of inputs, not a time limit: the result does not
	# depend on the machine's speed.
	"$dir/$f" -runs="$runs" -seed=1 > "$dir/$f.log" 2>&1
	st=$?
	[ $st != 0 ] && sed 's/^/    # /' "$dir/$f.log" | tail -n 40
	result $st "$f ($runs inputs)"
done
exit $failed

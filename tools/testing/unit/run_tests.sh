#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the unit tests as one KTAP document; each program's own KTAP output
# is nested (indented) under its result line.  Exit 1 if any failed.
OUT=${OUT:-build}
cd "$(dirname "$0")" || exit 1

tests="test_walk test_emulate test_decode test_diff fuzz_emulate kbuild"

# The same sources, unchanged, built as a kernel module with Kbuild's flags.
kbuild() {
	kdir=${KDIR:-/lib/modules/$(uname -r)/build}
	[ -d "$kdir" ] || kdir=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | head -n 1)
	if [ ! -d "$kdir" ]; then
		echo "# SKIP: no kernel build directory (set KDIR)"
		return 4
	fi
	d=$(mktemp -d)
	mkdir -p "$d/mmu"
	cp ../../../arch/x86/kvm/emulate*.[ch] "$d/" &&
	cp ../../../arch/x86/kvm/mmu/walk.[ch] "$d/mmu/" &&
	cp kbuild/Kbuild kbuild/emutest_main.c "$d/" &&
	make -C "$kdir" M="$d" modules
	rc=$?
	rm -rf "$d"
	return $rc
}
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
	if [ "$t" = kbuild ]; then
		kbuild > "$OUT/$t.log" 2>&1
	else
		"$OUT/$t" $args > "$OUT/$t.log" 2>&1
	fi
	rc=$?
	if [ "$t" = fuzz_emulate ]; then
		grep -E '^(#[0-9]+.*DONE|==|SUMMARY|Done)' "$OUT/$t.log" |
			tail -n 5 | sed 's/^/    # /'
		rm -rf "$tmp"
	elif [ "$t" = kbuild ]; then
		grep -E 'warning|error|SKIP' "$OUT/$t.log" | sed 's/^/    # /'
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

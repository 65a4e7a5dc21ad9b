#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build upstream Linux's own KVM selftests, from Debian's linux-source-6.1
# package, as static binaries for the test bed. They are run as an outside
# judge of ukvm's ABI, never imported: nothing of them enters the tree.
#
# Only what the selftests need is extracted from the (large) tarball into
# build/upstream-selftests/src; binaries land in build/upstream-selftests/bin.
# Both are kept: a second run does nothing unless something is missing.
# Headers: the system's <linux/*.h> (linux-libc-dev, same 6.1 as the source).
#
# usage: build-upstream-selftests.sh [--force]
# exit:  0 built (or already there), 1 failed, 4 linux-source-6.1 missing

set -u
TREE=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
TARBALL=${UPSTREAM_SRC_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
TOP=linux-source-6.1
OUT=$TREE/build/upstream-selftests
SRC=$OUT/src
BIN=$OUT/bin
# The stamp names the build recipe's version.  A newer recipe runs make
# again, which builds only what is missing (make -k below).
STAMP=$OUT/.built-2

# What the kvm selftests' Makefile reaches for outside its own directory.
PARTS=(
	tools/testing/selftests/kvm
	tools/testing/selftests/lib.mk
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/rseq
	tools/include
	tools/lib/rbtree.c
	tools/arch/x86/include
	tools/build/Build.include
	scripts/subarch.include
)

if [ "${1:-}" = --force ]; then
	rm -rf "$OUT"
elif [ -e "$STAMP" ]; then
	exit 0
fi

if [ ! -r "$TARBALL" ]; then
	echo "build-upstream-selftests: $TARBALL missing: apt-get install linux-source-6.1" >&2
	exit 4
fi

if [ ! -d "$SRC/$TOP/tools/testing/selftests/kvm" ]; then
	echo "build-upstream-selftests: extracting the KVM selftests from $TARBALL" >&2
	rm -rf "$SRC"
	mkdir -p "$SRC" || exit 1
	tar -C "$SRC" -xJf "$TARBALL" "${PARTS[@]/#/$TOP/}" || exit 1
fi

echo "build-upstream-selftests: building into $BIN" >&2
mkdir -p "$BIN" || exit 1
# -k: a test that does not build is simply absent from bin/; the runner
# reports only what exists. LDFLAGS from the environment is appended to by
# the Makefile, so -static reaches every link.
# tools/include/linux/types.h shadows the system's, so <asm/kvm.h> (whose
# Debian 6.1 backport uses __DECLARE_FLEX_ARRAY) never sees <linux/stddef.h>:
# steal_time does not compile unless it is included up front.
# upstream-compat.h supplies what Debian's backported tests call and this
# tree's test library lacks.
LDFLAGS=-static make -k -s -j2 -C "$SRC/$TOP/tools/testing/selftests/kvm" \
	OUTPUT="$BIN" KHDR_INCLUDES= \
	EXTRA_CFLAGS="-include /usr/include/linux/stddef.h -include $TREE/tools/testing/clients/upstream-compat.h" \
	>"$OUT/build.log" 2>&1
st=$?
n=$(find "$BIN" -type f -perm -u+x | wc -l)
if [ "$n" = 0 ]; then
	echo "build-upstream-selftests: nothing built, see $OUT/build.log" >&2
	exit 1
fi
[ $st = 0 ] || echo "build-upstream-selftests: some tests did not build (see $OUT/build.log); $n did" >&2
touch "$STAMP"

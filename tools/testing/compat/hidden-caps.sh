#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# hidden-caps.sh: lkvm against a ukvm.ko that hides capabilities, as an
# older kernel would (ukvm's hide_caps= module parameter).  For each
# capability lkvm knows, lkvm must either boot Debian's kernel to init
# (falling back) or refuse with one line naming KVM_CAP_<NAME>; a final
# case hides every capability lkvm does not negotiate, which must not
# matter to it.  KTAP output; exit 0 pass, 1 fail, 4 skip.
#
#   tools/testing/compat/hidden-caps.sh [--only REGEX]
#
# The outer call boots the test bed without a backend; inside L1 the script
# runs again with --inner and loads ukvm.ko once per case.

set -u
TREE=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
LKVM=${LKVM:-$TREE/tools/kvm/lkvm}
inner=0
only=
while [ $# -gt 0 ]; do
	case $1 in
	--inner) inner=1; shift ;;
	--only) only=$2; shift 2 ;;
	*) echo "usage: hidden-caps.sh [--only REGEX]" >&2; exit 2 ;;
	esac
done

kernel=$(ls -v /boot/vmlinuz-*-amd64 2>/dev/null | tail -n1)
if [ $inner = 0 ]; then
	if [ ! -x "$LKVM" ] || [ ! -r "$TREE/ukvm.ko" ]; then
		echo "TAP version 13"; echo "1..0 # SKIP lkvm or ukvm.ko not built (make)"
		exit 4
	fi
	if [ -z "$kernel" ] || [ ! -r "$kernel" ] || ! command -v busybox >/dev/null; then
		echo "TAP version 13"; echo "1..0 # SKIP needs a readable /boot/vmlinuz-* and busybox"
		exit 4
	fi
	exec "$TREE/tools/testing/vmtest/vmtest" --backend none --mem 1024 \
		-- "$0" --inner ${only:+--only "$only"}
fi

# The capabilities ukvm can hide (virt/kvm/hidden_caps.c) that lkvm probes
# (tools/kvm/kvm.c) are hidden one at a time; all the others at once, last.
hideable=$(grep -o '{ "[a-z0-9_]*", KVM_CAP_' "$TREE/virt/kvm/hidden_caps.c" | cut -d'"' -f2)
probed=" $(grep -o 'check_ext(fd, KVM_CAP_[A-Z0-9_]*' "$TREE/tools/kvm/kvm.c" |
	 sed 's/.*KVM_CAP_//' | tr 'A-Z\n' 'a-z ') "
NEGOTIATED= OTHERS=
for c in $hideable; do
	case $probed in
	*" $c "*) NEGOTIATED="$NEGOTIATED $c" ;;
	*) OTHERS="$OTHERS $c" ;;
	esac
done
if [ -z "$NEGOTIATED" ] || [ -z "$OTHERS" ]; then
	echo "TAP version 13"; echo "1..0 # SKIP cannot read the capability lists"
	exit 4
fi

tmp=$(mktemp -d /tmp/hidden-caps.XXXXXX) || exit 1
trap 'rmmod ukvm 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/bin"
cp "$(command -v busybox)" "$tmp/root/bin/busybox"
for a in sh echo poweroff; do ln -s busybox "$tmp/root/bin/$a"; done
printf '#!/bin/sh\necho LKVM-CAPS-INIT\npoweroff -f\n' > "$tmp/root/init"
chmod +x "$tmp/root/init"
(cd "$tmp/root" && find . | cpio -o -H newc --quiet) > "$tmp/initrd"

echo "TAP version 13"
set -- $NEGOTIATED "$(echo $OTHERS | tr ' ' ,)"
echo "1..$#"
nr=0 failed=0
for caps; do
	nr=$((nr + 1))
	name="hidden_${caps%%,*}"
	[ "$caps" = "${caps%,*}" ] || name=hidden_unnegotiated
	if [ -n "$only" ] && ! echo "$name" | grep -Eq "$only"; then
		echo "ok $nr $name # SKIP not selected"; continue
	fi
	rmmod ukvm 2>/dev/null
	if ! insmod "$TREE/ukvm.ko" hide_caps="$caps" 2> "$tmp/err"; then
		echo "not ok $nr $name"; sed 's/^/# insmod: /' "$tmp/err"; failed=1; continue
	fi
	"$LKVM" run -k "$kernel" -i "$tmp/initrd" -m 256 -c 1 \
		-p "console=ttyS0 quiet panic=-1" > "$tmp/out" 2> "$tmp/err" < /dev/null
	rc=$?
	cap=KVM_CAP_$(echo "${caps%%,*}" | tr a-z A-Z)
	if [ $rc = 0 ] && grep -q LKVM-CAPS-INIT "$tmp/out"; then
		echo "ok $nr $name # booted"
	elif [ $rc != 0 ] && [ "$(wc -l < "$tmp/err")" = 1 ] &&
	     grep -q "$cap" "$tmp/err" && [ "$name" != hidden_unnegotiated ]; then
		echo "ok $nr $name # refused: $(cat "$tmp/err")"
	else
		echo "not ok $nr $name"
		echo "# lkvm exit status $rc; wanted a boot or one line naming $cap"
		tail -n 15 "$tmp/err" "$tmp/out" | sed 's/^/# /'
		failed=1
	fi
done
exit $failed

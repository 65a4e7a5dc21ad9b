#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# hidden-caps.sh: lkvm against a ukvm.ko that hides capabilities, as an
# older kernel would (ukvm's hide_caps= module parameter).  For each
# capability lkvm knows, lkvm must either boot Debian's kernel to init
# (falling back) or refuse with one line naming KVM_CAP_<NAME>.  A guest
# that booted is then driven through lkvm's control commands (stat,
# pause, resume, debug --dump/--nmi/--dirty-rate, stop): each must work,
# or fail with one line naming the hidden capability, and no output may
# name another one.  A final case hides every capability lkvm does not
# negotiate, which must not matter to it at all.  KTAP output; exit 0
# pass, 1 fail, 4 skip.
#
#   tools/testing/compat/hidden-caps.sh [--only REGEX]
#
# The outer call boots the test bed without a backend; inside L1 the script
# runs again with --inner and loads ukvm.ko once per case.

set -u
TREE=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
LKVM=${LKVM:-$TREE/tools/kvm/lkvm}
. "$TREE/tools/kvm/tests/lib.sh"
test_args "hidden-caps.sh [--only REGEX]" "$@"

if [ $inner = 0 ]; then
	[ -r "$TREE/ukvm.ko" ] || skip_all "ukvm.ko not built (make)"
	need_guest_parts
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
	skip_all "cannot read the capability lists"
fi

tmp=$(mktemp -d /tmp/hidden-caps.XXXXXX) || exit 1
guest=
trap '[ -n "$guest" ] && kill -9 $guest; rmmod ukvm 2>/dev/null; rm -rf "$tmp"' EXIT
export XDG_RUNTIME_DIR=$tmp/run
mkdir -m 0700 "$XDG_RUNTIME_DIR" "$tmp/root"
mkdir -p "$tmp/root/bin"
cp "$(command -v busybox)" "$tmp/root/bin/busybox"
for a in sh echo sleep; do ln -s busybox "$tmp/root/bin/$a"; done
printf '#!/bin/sh\necho LKVM-CAPS-INIT\nexec sleep 100000\n' > "$tmp/root/init"
chmod +x "$tmp/root/init"
(cd "$tmp/root" && find . | cpio -o -H newc --quiet) > "$tmp/initrd"

# boot: lkvm run in the background until init speaks or lkvm exits (or
# 15 minutes pass: a hang); the status is lkvm's (still running: 0).
boot() {
	"$LKVM" run --name caps -k "$kernel" -i "$tmp/initrd" -m 256 -c 1 \
		-p "console=ttyS0 quiet panic=-1" > "$tmp/out" 2> "$tmp/err" < /dev/null &
	guest=$!
	for _ in $(seq 900); do
		kill -0 $guest 2>/dev/null || break
		grep -q LKVM-CAPS-INIT "$tmp/out" && return 0
		sleep 1
	done
	kill -0 $guest 2>/dev/null && { echo "lkvm run: no init after 900 s" >> "$tmp/err"; kill -9 $guest; }
	wait $guest; local rc=$?
	guest=
	return $rc
}

# names_only CAP FILE: FILE names no capability but CAP.
names_only() {
	! grep -o 'KVM_CAP_[A-Z0-9_]*' "$2" | grep -qvx "$1"
}

# drive CAP: the control commands against the running guest, then stop.
# Prints what went wrong; returns non-zero if anything did.
drive() {
	local cap=$1 bad=0 cmd rc
	for cmd in "stat caps" "pause caps" "resume caps" "debug caps --dump" \
		   "debug caps --nmi 0" "debug caps --dirty-rate" "stop caps"; do
		"$LKVM" $cmd > "$tmp/cout" 2> "$tmp/cerr" < /dev/null
		rc=$?
		cat "$tmp/cout" "$tmp/cerr" > "$tmp/call"
		if ! names_only "$cap" "$tmp/call"; then
			echo "lkvm $cmd names another capability:"; cat "$tmp/call"; bad=1
		elif [ $rc != 0 ] && { [ "$(wc -l < "$tmp/cerr")" != 1 ] || ! grep -q "$cap" "$tmp/cerr"; }; then
			echo "lkvm $cmd: exit status $rc without one line naming $cap:"; cat "$tmp/call"; bad=1
		fi
	done
	for _ in $(seq 60); do kill -0 $guest 2>/dev/null || break; sleep 1; done
	kill -0 $guest 2>/dev/null && { echo "lkvm stop: the guest is still running"; bad=1; }
	wait $guest; rc=$?
	guest=
	[ $rc = 0 ] || { echo "lkvm run: exit status $rc after stop"; bad=1; }
	return $bad
}

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
	cap=KVM_CAP_$(echo "${caps%%,*}" | tr a-z A-Z)
	[ "$name" != hidden_unnegotiated ] || cap=none
	boot; rc=$?
	if [ $rc = 0 ] && [ -n "$guest" ]; then
		if drive "$cap" > "$tmp/drive" 2>&1; then
			echo "ok $nr $name # booted, control commands fine"
		else
			echo "not ok $nr $name"
			sed 's/^/# /' "$tmp/drive"
			failed=1
		fi
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

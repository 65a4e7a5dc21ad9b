#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot.sh: boot Debian's kernel under lkvm in the test bed and check that
# the guest reaches init.  KTAP output; exit 0 pass, 1 fail, 4 skip.
#
#   tools/kvm/tests/boot.sh [--backend upstream|ukvm] [--kernel FILE]
#
# The outer call starts tools/testing/vmtest/vmtest; inside L1 the script
# runs again with --inner, builds a busybox initramfs in a temporary
# directory and runs each case there.

set -u

TREE=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
LKVM=$TREE/tools/kvm/lkvm
backend=upstream
kernel=
inner=0

while [ $# -gt 0 ]; do
	case $1 in
	--backend) backend=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--inner) inner=1; shift ;;
	*) echo "usage: boot.sh [--backend upstream|ukvm] [--kernel FILE]" >&2; exit 2 ;;
	esac
done
[ -n "$kernel" ] || kernel=$(ls -v /boot/vmlinuz-*-amd64 2>/dev/null | tail -n1)

if [ $inner = 0 ]; then
	if [ ! -x "$LKVM" ]; then
		echo "TAP version 13"; echo "1..0 # SKIP $LKVM not built (make -C tools/kvm)"
		exit 4
	fi
	if [ -z "$kernel" ] || [ ! -r "$kernel" ] || ! command -v busybox >/dev/null; then
		echo "TAP version 13"; echo "1..0 # SKIP needs a readable /boot/vmlinuz-* and busybox"
		exit 4
	fi
	exec "$TREE/tools/testing/vmtest/vmtest" --backend "$backend" --mem 1024 \
		-- "$TREE/tools/kvm/tests/boot.sh" --inner --kernel "$kernel"
fi

# ---- inside L1 ----
tmp=$(mktemp -d /tmp/lkvm-boot.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
nr=0
failed=0
log=$tmp/log

ok() { nr=$((nr + 1)); echo "ok $nr $1"; }
not_ok() {
	nr=$((nr + 1)); failed=1; echo "not ok $nr $1"
	[ -f "$log" ] && sed 's/^/# /' "$log" | tail -n 25
}

# A busybox initramfs whose init reports what it sees and powers off.
make_initramfs() {
	local root=$tmp/root
	mkdir -p "$root"/{bin,proc,sys,dev}
	cp "$(command -v busybox)" "$root/bin/busybox"
	for a in sh mount cat grep poweroff reboot; do ln -s busybox "$root/bin/$a"; done
	cat > "$root/init" <<'EOI'
#!/bin/sh
mount -t proc proc /proc
cpus=$(grep -c ^processor /proc/cpuinfo)
mem=$(grep MemTotal /proc/meminfo | { read a b c; echo $b; })
echo "LKVM-INIT cpus=$cpus memkb=$mem cmdline=$(cat /proc/cmdline)"
poweroff -f
EOI
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$tmp/initrd.cpio"
}

# run NAME EXPECT-REGEX LKVM-ARGS...: boots and greps the init line.
boot_case() {
	local name=$1 expect=$2; shift 2
	timeout 300 "$LKVM" run "$@" > "$log" 2>&1 < /dev/null
	local rc=$?
	if [ $rc -eq 0 ] && grep -Eq "$expect" "$log"; then
		ok "$name"
	else
		echo "# lkvm exit status $rc, wanted 0 and /$expect/" >> "$log"
		not_ok "$name"
	fi
}

# bad_case NAME LKVM-ARGS...: must fail with status 1 and one line on stderr.
bad_case() {
	local name=$1; shift
	timeout 60 "$LKVM" run "$@" > "$tmp/out" 2> "$log" < /dev/null
	local rc=$? lines
	lines=$(wc -l < "$log")
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$lines" -eq 1 ] &&
	   grep -q '^lkvm: ' "$log"; then
		ok "$name"
	else
		echo "# lkvm exit status $rc, $lines lines on stderr (want non-zero, 1)" >> "$log"
		not_ok "$name"
	fi
}

# The ELF vmlinux inside a bzImage: the payload named by the setup header.
extract_vmlinux() {
	local sects off len magic
	sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$kernel" | tr -d ' ')
	[ "$sects" = 0 ] && sects=4
	off=$(od -An -tu4 -j $((0x248)) -N4 "$kernel" | tr -d ' ')
	len=$(od -An -tu4 -j $((0x24c)) -N4 "$kernel" | tr -d ' ')
	off=$(( (sects + 1) * 512 + off ))
	tail -c +$((off + 1)) "$kernel" | head -c "$len" > "$tmp/payload"
	magic=$(od -An -tx1 -N4 "$tmp/payload" | tr -d ' ')
	case $magic in
	fd377a58) xz -dc < "$tmp/payload" ;;
	1f8b*) gzip -dc < "$tmp/payload" ;;
	28b52ffd) zstd -dc < "$tmp/payload" ;;
	*) return 1 ;;
	esac > "$tmp/vmlinux" 2>/dev/null
	# payload_length may stop short of the stream's trailer, so judge
	# the result, not the decompressor's status.
	[ "$(od -An -c -N4 "$tmp/vmlinux" | tr -d ' ')" = '177ELF' ]
}

make_initramfs
params="console=ttyS0 loglevel=4 panic=-1 lkvm_marker=42"
bad_kernel=$tmp/not-a-kernel
head -c 100000 /dev/urandom > "$bad_kernel"
truncated=$tmp/truncated
head -c 2000000 "$kernel" > "$truncated"
big_initrd=$tmp/big.cpio
truncate -s 200M "$big_initrd"

echo "TAP version 13"
echo "1..9"
boot_case "boot bzImage 64-bit entry, 1 CPU" \
	"LKVM-INIT cpus=1 .*lkvm_marker=42" \
	-k "$kernel" -i "$tmp/initrd.cpio" -m 128 -c 1 -p "$params"
boot_case "boot bzImage with 2 CPUs" \
	"LKVM-INIT cpus=2 " \
	-k "$kernel" -i "$tmp/initrd.cpio" -m 128 -c 2 -p "$params"
boot_case "boot bzImage through the real-mode setup" \
	"LKVM-INIT cpus=1 .*lkvm_marker=42" \
	-k "$kernel" -i "$tmp/initrd.cpio" -m 128 --boot-mode real -p "$params"
if extract_vmlinux; then
	boot_case "boot an ELF vmlinux through the PVH entry" \
		"LKVM-INIT cpus=2 .*lkvm_marker=42" \
		-k "$tmp/vmlinux" -i "$tmp/initrd.cpio" -m 160 -c 2 -p "$params"
else
	nr=$((nr + 1)); echo "ok $nr boot an ELF vmlinux through the PVH entry # SKIP cannot unpack the bzImage payload"
fi
bad_case "reject a file that is not a kernel" -k "$bad_kernel" -m 128
bad_case "reject a truncated bzImage" -k "$truncated" -m 128
bad_case "reject an initrd larger than guest memory" \
	-k "$kernel" -i "$big_initrd" -m 128
bad_case "reject -m 0" -k "$kernel" -m 0
bad_case "reject -c 0" -k "$kernel" -c 0
exit $failed

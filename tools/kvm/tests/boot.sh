#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# boot.sh: boot Debian's kernel under lkvm in the test bed and check that
# the guest reaches init.  KTAP output; exit 0 pass, 1 fail, 4 skip.
#
#   tools/kvm/tests/boot.sh [--backend upstream|ukvm] [--kernel FILE]
#                           [--only REGEX]
#
# The outer call starts tools/testing/vmtest/vmtest; inside L1 the script
# runs again with --inner, builds a busybox initramfs (with the kernel's
# virtio modules) in a temporary directory and runs each case there.
# Each result's name starts with a unique word (boot_64bit, virtio_blk_read,
# bad_disk, ...) for known-gaps; --only REGEX runs the matching cases.
# LKVM=FILE tests another lkvm build (e.g. one made with SANITIZE=1).

set -u

TREE=$(cd "$(dirname "$(readlink -f "$0")")/../../.." && pwd)
LKVM=${LKVM:-$TREE/tools/kvm/lkvm}
. "$TREE/tools/kvm/tests/lib.sh"
test_args "boot.sh [--backend upstream|ukvm] [--kernel FILE] [--only REGEX]" "$@"

if [ $inner = 0 ]; then
	need_guest_parts
	exec "$TREE/tools/testing/vmtest/vmtest" --backend "$backend" --mem 1024 \
		-- "$TREE/tools/kvm/tests/boot.sh" --inner --kernel "$kernel" \
		${only:+--only "$only"}
fi

# ---- inside L1 ----
tmp=$(mktemp -d /tmp/lkvm-boot.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log

# Modules the virtio case needs.
VIRTIO_MODULES="virtio_pci virtio_console virtio_rng virtio_blk 9pnet_virtio 9p virtio_net virtio_balloon"

# A busybox initramfs whose init reports what it sees and powers off.
# With lkvm_virtio on the command line it also loads the virtio modules
# and exercises every device, printing LKVM-* lines for boot.sh to judge.
make_initramfs() {
	local root=$tmp/root
	mkdir -p "$root"/{bin,proc,sys,dev,mnt,modules}
	cp "$(command -v busybox)" "$root/bin/busybox"
	for a in sh mount umount cat grep poweroff reboot insmod head wc md5sum \
		 cut dd sleep ip ping ls mkdir sync echo tr; do
		ln -s busybox "$root/bin/$a"
	done
	mod_install "$root/modules" $VIRTIO_MODULES || return 1
	mods_done=
	mod_closure virtio_pci virtio_rng > "$root/modules/rng-order"
	cat > "$root/init" <<'EOI'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
cpus=$(grep -c ^processor /proc/cpuinfo)
memkb() { grep MemTotal /proc/meminfo | { read a b c; echo $b; }; }
echo "LKVM-INIT cpus=$cpus memkb=$(memkb) cmdline=$(cat /proc/cmdline)"
echo "LKVM-CLOCK $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
grep -q lkvm_sleep /proc/cmdline && sleep 100000
grep -q lkvm_reboot /proc/cmdline && reboot -f
if grep -q lkvm_rng /proc/cmdline; then
	for m in $(cat /modules/rng-order); do insmod /modules/$m.ko; done
	echo "LKVM-RNG $(cat /sys/class/misc/hw_random/rng_current) $(head -c 64 /dev/hwrng | wc -c)"
	echo "LKVM-IRQ msix=$(grep -c 'PCI-MSI.*virtio' /proc/interrupts) intx=$(grep -c 'IO-APIC.*virtio' /proc/interrupts)"
fi
grep -q lkvm_virtio /proc/cmdline || poweroff -f
for m in $(cat /modules/order); do
	[ $m = virtio_balloon ] && continue
	insmod /modules/$m.ko || echo "LKVM-INSMOD-FAILED $m"
done
echo "LKVM-HVC0 written-to-hvc0" > /dev/hvc0
echo "LKVM-RNG $(cat /sys/class/misc/hw_random/rng_current) $(head -c 64 /dev/hwrng | wc -c)"
echo "LKVM-BLK-RO $(cat /sys/block/vda/ro) $(md5sum < /dev/vda | cut -d' ' -f1)"
marker=$(tr ' ' '\n' < /proc/cmdline | grep ^lkvm_marker= | cut -d= -f2)
printf 'LKVM-WROTE-%s' "$marker" | dd of=/dev/vdb bs=512 seek=8 conv=fsync 2>/dev/null &&
	echo "LKVM-BLK-WRITE done"
if mount -t 9p -o trans=virtio,version=9p2000.L hostshare /mnt; then
	echo "LKVM-9P-READ $(cat /mnt/hello.txt)"
	echo "guest-wrote-$marker" > /mnt/sub/from-guest.txt && echo "LKVM-9P-WRITE done"
	umount /mnt
fi
# NIC n (MAC 02:4c:4b:56:4d:0n) faces the host's 10.0.(n+1).1.
for dev in /sys/class/net/eth*; do
	[ -e "$dev" ] || continue
	case $(cat $dev/address) in
	02:4c:4b:56:4d:01) net=2 ;;
	02:4c:4b:56:4d:02) net=3 ;;
	*) continue ;;
	esac
	ip addr add 10.0.$net.15/24 dev ${dev##*/} && ip link set ${dev##*/} up &&
		ping -c 1 10.0.$net.1 > /dev/null && echo "LKVM-NET$net ping-ok"
done
echo "LKVM-MSIX $(grep -c 'PCI-MSI.*virtio' /proc/interrupts)"
# Last, as it waits: the balloon takes memory away from the guest.
before=$(memkb)
insmod /modules/virtio_balloon.ko
while [ $(memkb) -gt $((before - 16384)) ]; do sleep 1; done
echo "LKVM-BALLOON before=$before after=$(memkb)"
poweroff -f
EOI
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$tmp/initrd.cpio"
}

# run NAME EXPECT-REGEX LKVM-ARGS...: boots and greps the init line.
boot_case() {
	local name=$1 expect=$2; shift 2
	rm -f "$tmp/last.log"
	want "$name" || { skip "$name" "not selected"; return; }
	"$LKVM" run "$@" > "$log.raw" 2>&1 < /dev/null
	local rc=$?
	tr -d '\r' < "$log.raw" > "$log"
	cp "$log" "$tmp/last.log"
	if [ $rc -eq 0 ] && grep -Eq "$expect" "$log"; then
		ok "$name"
	else
		echo "# lkvm exit status $rc, wanted 0 and /$expect/" >> "$log"
		not_ok "$name"
	fi
}

# bad_case NAME LKVM-ARGS...: must fail with status 1 and one line on
# stderr (which must match $why when set).
bad_case() {
	local name=$1; shift
	want "$name" || { skip "$name" "not selected"; return; }
	"$LKVM" run "$@" > "$tmp/out" 2> "$log" < /dev/null
	local rc=$? lines
	lines=$(wc -l < "$log")
	if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] &&
	   grep -q '^lkvm: ' "$log" && grep -q "${why:-}" "$log"; then
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

# expect NAME LOG REGEX...: judge LKVM-* lines of a boot's log (LOG, or
# the last boot_case's when LOG is ""); every REGEX must match a line.
expect() {
	local name=$1 file=${2:-$tmp/last.log} re
	shift 2
	want "$name" || { skip "$name" "not selected"; return; }
	[ -f "$file" ] || { skip "$name" "its boot did not run"; return; }
	for re in "$@"; do
		if ! grep -Eq "$re" "$file" 2>/dev/null; then
			echo "# no line matching /$re/ in the guest's output" >> "$log"
			not_ok "$name"
			return
		fi
	done
	ok "$name"
}

# One boot with every virtio device; its output feeds several results.
virtio_boot() {
	local share=$tmp/share ro_img=$tmp/ro.img rw_img=$tmp/rw.img
	local net=() rc sum
	vlog=$tmp/virtio.log
	if ! want "virtio"; then
		for i in boot console rng blk_read blk_write 9p_read 9p_write net \
			 net_vhost balloon msix clean; do
			skip "virtio_$i" "not selected"
		done
		return
	fi
	mkdir -p "$share/sub"
	echo "hello-from-the-host-$$" > "$share/hello.txt"
	head -c 1048576 /dev/urandom > "$ro_img"
	sum=$(md5sum < "$ro_img" | cut -d' ' -f1)
	truncate -s 4M "$rw_img"
	# Persistent taps with the host end configured before lkvm opens
	# them: lkvmtap0 through vhost-net when the host has it, lkvmtap1
	# served by lkvm itself.
	[ -c /dev/net/tun ] || modprobe tun 2>/dev/null
	[ -c /dev/vhost-net ] || modprobe vhost_net 2>/dev/null
	if [ -c /dev/net/tun ] && ip tuntap add dev lkvmtap0 mode tap 2>/dev/null &&
	   ip tuntap add dev lkvmtap1 mode tap 2>/dev/null; then
		ip addr add 10.0.2.1/24 dev lkvmtap0 && ip link set lkvmtap0 up
		ip addr add 10.0.3.1/24 dev lkvmtap1 && ip link set lkvmtap1 up
		net=(-n tap=lkvmtap0 -n tap=lkvmtap1,vhost=off)
	fi
	"$LKVM" run -k "$kernel" -i "$tmp/initrd.cpio" -m 256 -c 2 \
		-p "$params lkvm_virtio" --console virtio --rng --balloon=64 \
		-d "$ro_img,ro" -d "$rw_img" --9p "$share" "${net[@]}" --debug \
		> "$vlog.raw" 2>&1 < /dev/null
	rc=$?
	tr -d '\r' < "$vlog.raw" > "$vlog"
	ip link del lkvmtap0 2>/dev/null
	ip link del lkvmtap1 2>/dev/null
	cp "$vlog" "$log"
	grep -a LKVM-INSMOD-FAILED "$vlog" | sed 's/^/# /'
	if [ $rc -eq 0 ] && grep -q "^LKVM-BALLOON" "$vlog"; then
		ok "virtio_boot every device at once, guest powers off"
	else
		echo "# lkvm exit status $rc" >> "$log"
		not_ok "virtio_boot every device at once, guest powers off"
	fi
	expect "virtio_console hvc0 output reaches the terminal" "$vlog" "^LKVM-HVC0 written-to-hvc0"
	expect "virtio_rng /dev/hwrng is virtio_rng and reads" "$vlog" "^LKVM-RNG virtio_rng.0 64$"
	expect "virtio_blk_read read-only image reads with the host's checksum" "$vlog" "^LKVM-BLK-RO 1 $sum$"
	if grep -q "^LKVM-BLK-WRITE done" "$vlog" &&
	   dd if="$rw_img" bs=512 skip=8 count=1 2>/dev/null | grep -aq "LKVM-WROTE-42"; then
		ok "virtio_blk_write guest write reaches the host image"
	else
		not_ok "virtio_blk_write guest write reaches the host image"
	fi
	expect "virtio_9p_read guest reads a host file" "$vlog" "^LKVM-9P-READ hello-from-the-host-$$\$"
	if grep -q "^LKVM-9P-WRITE done" "$vlog" &&
	   [ "$(cat "$share/sub/from-guest.txt" 2>/dev/null)" = guest-wrote-42 ]; then
		ok "virtio_9p_write guest write lands in the host directory"
	else
		not_ok "virtio_9p_write guest write lands in the host directory"
	fi
	if [ ${#net[@]} -eq 0 ]; then
		skip "virtio_net guest pings the host, lkvm serving the tap" "no /dev/net/tun or cannot create a tap"
		skip "virtio_net_vhost guest pings the host, vhost-net serving the tap" "no /dev/net/tun or cannot create a tap"
	else
		expect "virtio_net guest pings the host, lkvm serving the tap" "$vlog" "^LKVM-NET3 ping-ok"
		if [ -c /dev/vhost-net ]; then
			expect "virtio_net_vhost guest pings the host, vhost-net serving the tap" "$vlog" \
				"^LKVM-NET2 ping-ok" "lkvmtap0: queues served by vhost-net"
		else
			skip "virtio_net_vhost guest pings the host, vhost-net serving the tap" "no /dev/vhost-net"
		fi
	fi
	expect "virtio_balloon inflating takes memory from the guest" "$vlog" "^LKVM-BALLOON "
	expect "virtio_msix interrupts arrive as MSI-X through irqfd" "$vlog" '^LKVM-MSIX [1-9]'
	if grep -aEq "^lkvm: (warning|error)" "$vlog"; then
		echo "# lkvm complained:" >> "$log"
		grep -aE "^lkvm: (warning|error)" "$vlog" >> "$log"
		not_ok "virtio_clean no device marked broken, no lkvm warning"
	else
		ok "virtio_clean no device marked broken, no lkvm warning"
	fi
}

# A bzImage whose 64-bit entry is ud2: with no IDT the #UD escalates to a
# triple fault (APM vol 2, 8.2.9), which lkvm must report and exit 1 on.
make_triple_fault_kernel() {
	python3 - "$1" <<'EOP'
import struct, sys
setup = bytearray(2 * 512)		# boot sector + 1 setup sector
payload = b"\x0f\x0b" * 0x400		# ud2 everywhere, entry at +0x200
setup[0x1f1] = 1			# setup_sects
struct.pack_into("<I", setup, 0x1f4, len(payload) // 16)	# syssize
struct.pack_into("<H", setup, 0x1fe, 0xaa55)
setup[0x200:0x202] = b"\xeb\x66"	# jump over the header
setup[0x202:0x206] = b"HdrS"
struct.pack_into("<H", setup, 0x206, 0x20c)	# boot protocol 2.12
struct.pack_into("<I", setup, 0x22c, 0x7fffffff)	# initrd_addr_max
struct.pack_into("<H", setup, 0x236, 1)	# XLF_KERNEL_64
struct.pack_into("<I", setup, 0x238, 255)	# cmdline_size
struct.pack_into("<I", setup, 0x260, 0x100000)	# init_size
open(sys.argv[1], "wb").write(setup + payload)
EOP
}

# A shell in tmux, for what needs a terminal: the host-root shell and
# the terminal's restoration.  tmux_wait FILE-or-REGEX waits (the bed has
# the overall time limit) for a file to exist or the pane to show REGEX.
TMUX_SOCK=
tmux_start() {
	TMUX_SOCK=$tmp/tmux.sock
	tmux -S "$TMUX_SOCK" new-session -d -x 160 -y 50 -s lkvm \
		"env -i PATH=$PATH TERM=screen HOME=/tmp bash --norc --noprofile -i"
}
tmux_send() { tmux -S "$TMUX_SOCK" send-keys -t lkvm "$@"; }
tmux_screen() { tmux -S "$TMUX_SOCK" capture-pane -p -S -200 -t lkvm; }
tmux_wait() {	# file PATH | text REGEX | prompt | raw; 600 s at most
	local i
	for i in $(seq 1200); do
		case $1 in
		file) [ -e "$2" ] && return 0 ;;
		text) tmux_screen | grep -Eq "$2" && return 0 ;;
		prompt) tmux_screen | grep -v '^ *$' | tail -n1 | grep -Eq '# *$' && return 0 ;;
		raw) stty -a < "$(tmux -S "$TMUX_SOCK" display -p -t lkvm '#{pane_tty}')" |
			grep -q -- '-icanon' && return 0 ;;
		esac
		sleep 0.5
	done
	return 1
}
tmux_stop() { tmux -S "$TMUX_SOCK" kill-server 2>/dev/null; }

# The console restores the terminal when lkvm ends by SIGNAL.  The pane
# records stty -g before and after; lkvm is killed once the pane's tty is
# in raw mode (its guest sleeps).
term_case() {
	local name=$1 sig=$2 pid
	want "$name" || { skip "$name" "not selected"; return; }
	rm -f "$tmp"/stty.* "$tmp/pid" "$tmp/rc"
	tmux_send "stty -g > $tmp/stty.before; (echo \$BASHPID > $tmp/pid; exec $LKVM run -k $kernel -i $tmp/initrd.cpio -m 128 -p '$params lkvm_sleep'); echo \$? > $tmp/rc; stty -g > $tmp/stty.after" Enter
	if ! tmux_wait file "$tmp/pid" || ! tmux_wait raw; then
		tmux_screen > "$log"; echo "# the terminal never went raw" >> "$log"
		not_ok "$name"; return
	fi
	pid=$(cat "$tmp/pid")
	kill -"$sig" "$pid"
	tmux_wait file "$tmp/stty.after"
	sleep 0.5
	tmux_screen > "$log"
	if [ -s "$tmp/stty.after" ] && cmp -s "$tmp/stty.before" "$tmp/stty.after"; then
		ok "$name"
	else
		echo "# stty before: $(cat "$tmp/stty.before" 2>/dev/null)" >> "$log"
		echo "# stty after:  $(cat "$tmp/stty.after" 2>/dev/null), lkvm status $(cat "$tmp/rc" 2>/dev/null)" >> "$log"
		not_ok "$name"
	fi
}

# lkvm run with no kernel and no initrd: the host's newest kernel, lkvm's
# init, the host's root over 9p, a shell on the console (in tmux).  Then
# Ctrl-A x on a second run: the terminal must be restored both times.
hostroot_cases() {
	local names="hostroot_shell hostroot_overlay term_quit term_sigterm term_crash" n any=
	for n in $names; do want $n && any=1; done
	if [ -z "$any" ] || ! command -v tmux > /dev/null; then
		for n in $names; do
			skip "$n" "$([ -z "$any" ] && echo "not selected" || echo "tmux not installed")"
		done
		return
	fi
	tmux_start
	if want hostroot; then
		rm -f "$tmp"/stty.* "$tmp/rc"
		tmux_send "cd $tmp; clear; $LKVM run -c 1 -m 256; echo \$? > $tmp/rc" Enter
		sleep 1
		if tmux_wait prompt; then
			tmux_send "echo SHELL-\$((6 * 7)) \$(nproc) \$(pwd); echo hi > /etc/lkvm-overlay && cat /etc/lkvm-overlay && ls /lib/modules | head -1; exit" Enter
		fi
		tmux_wait file "$tmp/rc"
		sleep 0.5
		tmux_screen | tr -d '\r' > "$tmp/shell.log"
		cp "$tmp/shell.log" "$log"
		if [ "$(cat "$tmp/rc" 2>/dev/null)" = 0 ] && grep -q "^SHELL-42 1 $tmp\$" "$tmp/shell.log"; then
			ok "hostroot_shell lkvm run without -k: host kernel, host root, a shell"
		else
			not_ok "hostroot_shell lkvm run without -k: host kernel, host root, a shell"
		fi
		if grep -q "^hi$" "$tmp/shell.log" && grep -qx "$kver" "$tmp/shell.log"; then
			ok "hostroot_overlay the read-only host root is writable through the overlay"
		else
			not_ok "hostroot_overlay the read-only host root is writable through the overlay"
		fi
	else
		skip "hostroot_shell lkvm run without -k: host kernel, host root, a shell" "not selected"
		skip "hostroot_overlay the read-only host root is writable through the overlay" "not selected"
	fi
	# Ctrl-A x quits: status 0, terminal as it was.
	if want term_quit; then
		rm -f "$tmp"/stty.* "$tmp/rc"
		tmux_send "clear; stty -g > $tmp/stty.before; $LKVM run -k $kernel -i $tmp/initrd.cpio -m 128 -p '$params lkvm_sleep'; echo \$? > $tmp/rc; stty -g > $tmp/stty.after" Enter
		tmux_wait text 'LKVM-INIT'
		tmux_send C-a x
		tmux_wait file "$tmp/stty.after"
		sleep 0.5
		tmux_screen > "$log"
		if [ "$(cat "$tmp/rc" 2>/dev/null)" = 0 ] && cmp -s "$tmp/stty.before" "$tmp/stty.after"; then
			ok "term_quit Ctrl-A x quits with status 0 and restores the terminal"
		else
			echo "# lkvm status $(cat "$tmp/rc" 2>/dev/null); stty before/after:" >> "$log"
			cat "$tmp"/stty.* >> "$log" 2>/dev/null
			not_ok "term_quit Ctrl-A x quits with status 0 and restores the terminal"
		fi
	else
		skip "term_quit Ctrl-A x quits with status 0 and restores the terminal" "not selected"
	fi
	term_case "term_sigterm SIGTERM: the terminal is restored" TERM
	term_case "term_crash SIGSEGV: the terminal is restored" SEGV
	tmux_stop
}

# lkvm sandbox: CMD's exit status, output, working directory, the overlay.
sandbox_cases() {
	local out rc
	if want sandbox_exit; then
		"$LKVM" sandbox -- sh -c 'exit 7' > "$log" 2>&1 < /dev/null
		rc=$?
		if [ $rc = 7 ]; then
			ok "sandbox_exit lkvm sandbox -- sh -c 'exit 7' exits 7"
		else
			echo "# lkvm sandbox exit status $rc, wanted 7" >> "$log"
			not_ok "sandbox_exit lkvm sandbox -- sh -c 'exit 7' exits 7"
		fi
	else
		skip "sandbox_exit lkvm sandbox -- sh -c 'exit 7' exits 7" "not selected"
	fi
	want sandbox_run || { skip "sandbox_run output, cwd, CPUs, 9p share, overlay" "not selected"; return; }
	mkdir -p "$tmp/sbshare"
	echo "sandbox-share-$$" > "$tmp/sbshare/in.txt"
	out=$(cd "$tmp" && "$LKVM" sandbox -c 2 -m 192 --9p "$tmp/sbshare,sb" -- sh -c '
		echo "SB-PWD $(pwd)"; echo "SB-CPUS $(nproc)"
		echo written > /usr/lkvm-sandbox && echo "SB-OVERLAY $(cat /usr/lkvm-sandbox)"
		mkdir -p /mnt/sb && mount -t 9p -o trans=virtio,version=9p2000.L sb /mnt/sb &&
			echo "SB-9P $(cat /mnt/sb/in.txt)" && echo from-guest > /mnt/sb/out.txt
		echo "SB-ERR" >&2; exit 3' 2>&1 < /dev/null)
	rc=$?
	printf '%s\n' "$out" > "$log"
	if [ $rc = 3 ] && printf '%s\n' "$out" | grep -qx "SB-PWD $tmp" &&
	   printf '%s\n' "$out" | grep -qx "SB-CPUS 2" &&
	   printf '%s\n' "$out" | grep -qx "SB-OVERLAY written" &&
	   printf '%s\n' "$out" | grep -qx "SB-9P sandbox-share-$$" &&
	   printf '%s\n' "$out" | grep -qx "SB-ERR" &&
	   [ "$(cat "$tmp/sbshare/out.txt" 2>/dev/null)" = from-guest ]; then
		ok "sandbox_run output, cwd, CPUs, 9p share, overlay"
	else
		echo "# lkvm sandbox exit status $rc, wanted 3" >> "$log"
		not_ok "sandbox_run output, cwd, CPUs, 9p share, overlay"
	fi
}

make_initramfs || { echo "TAP version 13"; echo "1..0 # SKIP cannot collect the virtio modules of $kver"; exit 4; }
params="console=ttyS0 loglevel=4 panic=-1 lkvm_marker=42"
bad_kernel=$tmp/not-a-kernel
head -c 100000 /dev/urandom > "$bad_kernel"
truncated=$tmp/truncated
head -c 2000000 "$kernel" > "$truncated"
big_initrd=$tmp/big.cpio
truncate -s 200M "$big_initrd"

echo "TAP version 13"
echo "1..42"
boot_case "boot_64bit bzImage, 64-bit entry, 1 CPU" \
	"LKVM-INIT cpus=1 .*lkvm_marker=42" \
	-k "$kernel" -i "$tmp/initrd.cpio" -m 128 -c 1 -p "$params"
# -m 128: MemTotal is RAM less the kernel's own image and reservations.
expect "boot_mem the guest sees about -m 128 of memory" "" \
	"LKVM-INIT cpus=1 memkb=([6-9][0-9]|1[0-2][0-9])[0-9]{3} "
boot_case "reboot_exit a guest reboot ends lkvm with status 0" \
	"LKVM-INIT cpus=1 .*lkvm_reboot" \
	-k "$kernel" -i "$tmp/initrd.cpio" -m 128 -p "$params lkvm_reboot"
if want triple_fault && make_triple_fault_kernel "$tmp/tf.bzImage"; then
	"$LKVM" run -k "$tmp/tf.bzImage" -m 64 > "$log" 2>&1 < /dev/null
	rc=$?
	if [ $rc = 1 ] && grep -q "triple fault" "$log" && grep -q " rip " "$log" &&
	   grep -q " cr0 " "$log"; then
		ok "triple_fault a triple fault dumps the registers and exits 1"
	else
		echo "# lkvm exit status $rc, wanted 1 and a register dump" >> "$log"
		not_ok "triple_fault a triple fault dumps the registers and exits 1"
	fi
else
	skip "triple_fault a triple fault dumps the registers and exits 1" "not selected"
fi
# Two boots also check lkvm's fallbacks, with virtio-rng as the witness:
# without irqfd/ioeventfd (KVM_SIGNAL_MSI, notifications through MMIO
# exits), and with MSI off in the guest (INTx routed by the ACPI _PRT).
LKVM_CAPS_OFF=irqfd,irq_routing,ioeventfd boot_case "boot_smp bzImage with 2 CPUs" \
	"LKVM-INIT cpus=2 " \
	-k "$kernel" -i "$tmp/initrd.cpio" -m 128 -c 2 -p "$params lkvm_rng" --rng
expect "virtio_no_irqfd virtio-rng over KVM_SIGNAL_MSI and MMIO kicks" "" \
	"^LKVM-RNG virtio_rng.0 64$" "^LKVM-IRQ msix=[1-9]"
expect "boot_kvmclock the 2-vCPU guest chooses kvm-clock as its clocksource" "" \
	"^LKVM-CLOCK kvm-clock$"
boot_case "boot_realmode bzImage through the real-mode setup" \
	"LKVM-INIT cpus=1 .*lkvm_marker=42" \
	-k "$kernel" -i "$tmp/initrd.cpio" -m 128 --boot-mode real \
	-p "$params lkvm_rng pci=nomsi" --rng
expect "virtio_intx virtio-rng over INTx routed by the ACPI _PRT (pci=nomsi)" "" \
	"^LKVM-RNG virtio_rng.0 64$" "^LKVM-IRQ msix=0 intx=[1-9]"
if ! want "boot_pvh"; then
	skip "boot_pvh ELF vmlinux through the PVH entry" "not selected"
elif extract_vmlinux; then
	boot_case "boot_pvh ELF vmlinux through the PVH entry" \
		"LKVM-INIT cpus=2 .*lkvm_marker=42" \
		-k "$tmp/vmlinux" -i "$tmp/initrd.cpio" -m 160 -c 2 -p "$params"
else
	skip "boot_pvh ELF vmlinux through the PVH entry" "cannot unpack the bzImage payload"
fi
virtio_boot
sandbox_cases
hostroot_cases
bad_case "bad_not_kernel reject a file that is not a kernel" -k "$bad_kernel" -m 128
bad_case "bad_truncated reject a truncated bzImage" -k "$truncated" -m 128
bad_case "bad_big_initrd reject an initrd larger than guest memory" \
	-k "$kernel" -i "$big_initrd" -m 128
bad_case "bad_mem_0 reject -m 0" -k "$kernel" -m 0
bad_case "bad_cpus_0 reject -c 0" -k "$kernel" -c 0
bad_case "bad_disk reject a missing disk image" -k "$kernel" -d "$tmp/no-such.img"
bad_case "bad_9p_dir reject a 9p directory that does not exist" -k "$kernel" --9p "$tmp/no-such-dir"
bad_case "bad_net_mode reject -n with an unknown mode" -k "$kernel" -n bogus
bad_case "bad_option reject an unknown option" -k "$kernel" --no-such-option
bad_case "bad_cpus_many reject more CPUs than KVM allows" -k "$kernel" -c 100000
bad_case "bad_kernel_missing reject a kernel that does not exist" -k "$tmp/no-such-kernel"
if want bad_sandbox_nocmd; then
	"$LKVM" sandbox -m 128 > "$tmp/out" 2> "$log" < /dev/null
	rc=$?
	if [ $rc -ne 0 ] && [ "$(wc -l < "$log")" = 1 ] && grep -q "no command" "$log"; then
		ok "bad_sandbox_nocmd lkvm sandbox without a command"
	else
		not_ok "bad_sandbox_nocmd lkvm sandbox without a command"
	fi
else
	skip "bad_sandbox_nocmd lkvm sandbox without a command" "not selected"
fi
why="no user-mode network stack" bad_case "bad_net_user refuse -n user, saying why" -k "$kernel" -n user
exit $failed

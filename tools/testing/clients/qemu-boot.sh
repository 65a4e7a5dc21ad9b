#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unmodified Debian QEMU as a KVM client: boot Debian's kernel with
# "qemu-system-x86_64 -accel kvm" on whatever /dev/kvm this machine has (in the
# test bed: kvm-amd or ukvm in L1) with a busybox initramfs whose /init checks
# what the guest sees and powers off. One KTAP line per machine:
#
#   qemu-microvm-1cpu  qemu-microvm-2cpu  qemu-pc-1cpu  qemu-pc-2cpu
#   qemu-pc-hv-2cpu (the pc with QEMU's Hyper-V enlightenments, hv-*)
#
#   tools/testing/vmtest/vmtest --backend ukvm -- tools/testing/clients/qemu-boot.sh
#
# The guest's /init checks that it sees exactly -smp CPUs and can run a task
# on each, that the KVM CPUID signature is there ("Hypervisor detected: KVM";
# with hv-*: Microsoft Hyper-V's, and Linux takes the IPI and remote TLB
# flush hypercalls and a Hyper-V clocksource),
# that its memory is about -m, and that time advances across a sleep; then
# prints QEMU-BOOT-PASS or QEMU-BOOT-FAIL and powers off (-no-reboot turns a
# reset into an exit, so a panic ends the run too). The console streams as
# "# " comments. No time limit here: a hang is the bed's to catch.
#
# usage: qemu-boot.sh [--accel kvm|tcg] [--kernel FILE] [CASE...]
#   CASE  one of the names above without "qemu-" (default: all five);
#   --accel tcg runs the same checks without KVM (to try the script itself).
# exit:  0 all passed, 1 a boot failed, 4 skipped (no QEMU/kernel/busybox)

set -u
accel=kvm
kernel=
while [ $# -gt 0 ]; do
	case $1 in
	--accel) accel=${2:-}; shift 2 ;;
	--kernel) kernel=${2:-}; shift 2 ;;
	-*) echo "qemu-boot: unknown option '$1'" >&2; exit 2 ;;
	*) break ;;
	esac
done
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(microvm-1cpu microvm-2cpu pc-1cpu pc-2cpu pc-hv-2cpu)

GUEST_MEM_MB=256
QEMU=qemu-system-x86_64
BUSYBOX=/bin/busybox

# The newest Debian *-amd64 kernel, as the bed boots.
if [ -z "$kernel" ]; then
	kernel=$(printf '%s\n' /boot/vmlinuz-*-amd64 | sort -V | tail -n1)
fi

echo "TAP version 13"
echo "1..${#cases[@]}"

# skip_all REASON: every case is a skip (a missing tool is not a KVM bug).
skip_all() {
	local i
	for i in "${!cases[@]}"; do
		echo "ok $((i + 1)) qemu-${cases[$i]} # SKIP $1"
	done
	exit 4
}
command -v $QEMU > /dev/null || skip_all "$QEMU not installed (apt-get install qemu-system-x86)"
[ -r "$kernel" ] || skip_all "no kernel /boot/vmlinuz-*-amd64 (apt-get install linux-image-amd64)"
[ -x $BUSYBOX ] || skip_all "$BUSYBOX missing (apt-get install busybox-static)"
command -v cpio > /dev/null || skip_all "cpio not installed (apt-get install cpio)"

tmp=$(mktemp -d /tmp/qemu-boot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The guest's init. expect_cpus, expect_mem_mb and expect_hv come from the
# kernel command line (unknown "k=v" parameters land in init's environment).
make_initramfs() {
	local root=$tmp/root
	mkdir -p "$root"/bin "$root"/proc "$root"/sys "$root"/dev
	cp $BUSYBOX "$root"/bin/busybox
	cat > "$root"/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
bad=0
check() {	# check WHAT STATUS DETAIL
	if [ "$2" = 0 ]; then echo "guest: ok: $1 ($3)"
	else echo "guest: FAIL: $1 ($3)"; bad=1; fi
}

cpus=$(grep -c '^processor' /proc/cpuinfo)
[ "$cpus" = "$expect_cpus" ]
check "CPU count" $? "sees $cpus, -smp $expect_cpus"

ran=0 c=0
while [ $c -lt "$cpus" ]; do
	taskset -c $c true && ran=$((ran + 1))
	c=$((c + 1))
done
[ $ran = "$cpus" ]
check "a task runs on every CPU" $? "$ran of $cpus"

if [ "$expect_hv" = 1 ]; then
	dmesg | grep -q 'Hypervisor detected: Microsoft Hyper-V'
	check "Hyper-V CPUID signature" $? "$(dmesg | grep -m1 'Hypervisor detected' || echo none)"
	dmesg | grep -q 'Hyper-V: Using IPI hypercalls'
	check "IPIs by hypercall" $? "$(dmesg | grep -m1 'Hyper-V: privilege flags' || echo 'no Hyper-V flags line')"
	dmesg | grep -q 'Using hypercall for remote TLB flush'
	check "remote TLB flush by hypercall" $? "$(dmesg | grep -c -i hyper-v) Hyper-V lines"
	cs=$(cat /sys/devices/system/clocksource/clocksource0/available_clocksource)
	case $cs in *hyperv_clocksource*) st=0 ;; *) st=1 ;; esac
	check "a Hyper-V clocksource" $st "$cs"
else
	dmesg | grep -q 'Hypervisor detected: KVM'
	check "KVM CPUID signature" $? "$(dmesg | grep -m1 'Hypervisor detected' || echo none)"
fi

kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
[ "$kb" -le $((expect_mem_mb * 1024)) ] && [ "$kb" -ge $((expect_mem_mb * 1024 / 2)) ]
check "memory size" $? "MemTotal $kb kB, -m ${expect_mem_mb}M"

t0=$(cut -d' ' -f1 /proc/uptime)
sleep 1
t1=$(cut -d' ' -f1 /proc/uptime)
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 1) }'
check "time advances across sleep 1" $? "uptime $t0 -> $t1"

if [ $bad = 0 ]; then echo QEMU-BOOT-PASS; else echo QEMU-BOOT-FAIL; dmesg; fi
poweroff -f
INIT
	chmod +x "$root"/init
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$tmp"/initramfs.cpio
}

# boot CASE N: one QEMU run, one KTAP line.
boot() {
	local machine=${1%-*} ncpu=${1##*-} n=$2 log=$tmp/$1.log st
	local extra= cpu=() hv=0
	ncpu=${ncpu%cpu}
	if [ "$machine" = pc-hv ]; then
		# kvm=off: the Hyper-V leaves alone, as a Windows guest sees them.
		machine=pc hv=1
		cpu=(-cpu qemu64,kvm=off,hv-relaxed,hv-vpindex,hv-time,hv-synic,hv-stimer,hv-vapic,hv-tlbflush,hv-ipi,hv-runtime,hv-frequencies,hv-reset,hv-spinlocks=0xfff)
	fi
	case $machine in
	# microvm's CMOS RTC is "broken or not accessible" to Linux, which
	# finds out only after ~15 s of probing in the bed (mdelay() loops
	# under TCG): skip that probe. pc's RTC works and stays probed.
	microvm) extra=initcall_blacklist=cmos_init ;;
	pc) ;;
	*) echo "not ok $n qemu-$1 # unknown case (microvm-Ncpu, pc-Ncpu or pc-hv-Ncpu)"; return 1 ;;
	esac
	echo "# qemu-$1: $QEMU -accel $accel -M $machine -smp $ncpu -m $GUEST_MEM_MB ${cpu[*]}, kernel $kernel"
	# Serial to stdout, streamed as comments; its CRs dropped.
	$QEMU -accel "$accel" -M "$machine" -smp "$ncpu" -m $GUEST_MEM_MB "${cpu[@]}" \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial stdio -kernel "$kernel" -initrd "$tmp"/initramfs.cpio \
		-append "console=ttyS0 loglevel=4 panic=-1 expect_cpus=$ncpu expect_mem_mb=$GUEST_MEM_MB expect_hv=$hv $extra" \
		< /dev/null 2>&1 | tr -d '\r' | tee "$log" | sed 's/^/# /'
	st=${PIPESTATUS[0]}
	if [ "$st" != 0 ]; then
		echo "not ok $n qemu-$1 # QEMU exited with status $st"
		return 1
	fi
	if grep -q '^QEMU-BOOT-PASS$' "$log"; then
		echo "ok $n qemu-$1"
		return 0
	fi
	if grep -q '^QEMU-BOOT-FAIL$' "$log"; then
		echo "not ok $n qemu-$1 # $(grep -m1 '^guest: FAIL' "$log")"
	else
		echo "not ok $n qemu-$1 # guest ended before its checks ran"
	fi
	return 1
}

make_initramfs || { echo "qemu-boot: cannot build the initramfs" >&2; exit 1; }
failed=0
for i in "${!cases[@]}"; do
	boot "${cases[$i]}" $((i + 1)) || failed=1
done
exit $failed

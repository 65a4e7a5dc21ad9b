// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvmclock (the pvclock records of <asm/pvclock-abi.h>), KVM_GET/SET_CLOCK,
 * KVM_KVMCLOCK_CTRL, and the guest TSC offsets.
 *
 * kvmclock is one clock per VM that runs with the host TSC: at host TSC
 * @master_tsc it read @master_ns.  Every vCPU's record carries that same
 * pair, the TSC translated into the vCPU's own guest TSC, so all vCPUs
 * compute the same time from the same host instant whatever their TSC
 * offsets: the clock is monotonic across vCPUs whenever the host TSC is
 * synchronized across host CPUs, which is what PVCLOCK_TSC_STABLE_BIT
 * promises the guest.  A record is rewritten only when the pair (KVM_SET_CLOCK)
 * or the vCPU's TSC offset changes, or when the guest moves it.
 *
 * TSC offsets: a VMM writes every vCPU's TSC (at creation ukvm writes 0
 * for it), one vCPU after the other.  A write that lands within a second
 * of where the previous write's TSC has run to since is taken to mean the
 * same clock and gets the previous write's offset, so the vCPUs' TSCs are
 * identical, not merely close; a guest's TSC synchronization check (and
 * its choice of clocksource) depends on that.
 */
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>

#include "kvm_para.h"

/* A TSC write matches the previous one within this much (upstream's). */
#define TSC_MATCH_MS		MSEC_PER_SEC

/* What KVM_GET/SET_CLOCK flags mean here (and KVM_CAP_ADJUST_CLOCK). */
#define KVM_CLOCK_VALID_FLAGS	(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | \
				 KVM_CLOCK_HOST_TSC)

/*
 * The host TSC runs at one rate on every host CPU, never stops and was
 * not found out of sync by the kernel's watchdog.
 */
bool kvm_host_tsc_stable(void)
{
	return boot_cpu_has(X86_FEATURE_CONSTANT_TSC) &&
	       boot_cpu_has(X86_FEATURE_NONSTOP_TSC) && !check_tsc_unstable();
}

/*
 * TSC ticks to nanoseconds the way a pvclock reader does it: shift the
 * delta by @shift (left if positive), multiply by @mul / 2^32.  @mul is
 * kept in [2^31, 2^32) for precision.
 */
static void tsc_scale(u32 khz, u32 *mul, s8 *shift)
{
	u64 ns = NSEC_PER_MSEC, ticks = khz ? khz : 1;
	s8 s = 0;

	while (ns >= ticks) {
		ticks <<= 1;
		s++;
	}
	while (ns * 2 < ticks) {
		ns <<= 1;
		s--;
	}
	*mul = div64_u64(ns << 32, ticks);
	*shift = s;
}

static u64 tsc_to_ns(u64 delta, u32 mul, s8 shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return mul_u64_u32_shr(delta, mul, 32);
}

/* kvmclock at host TSC @host_tsc.  Caller holds c->lock. */
static u64 clock_at(struct kvm_arch_clock *c, u64 host_tsc)
{
	u32 mul;
	s8 shift;

	if ((s64)(host_tsc - c->master_tsc) <= 0)
		return c->master_ns;
	tsc_scale(tsc_khz, &mul, &shift);
	return c->master_ns + tsc_to_ns(host_tsc - c->master_tsc, mul, shift);
}

/* kvmclock starts at 0 when the VM is made, as upstream's. */
void kvm_clock_init_vm(struct kvm *kvm)
{
	struct kvm_arch_clock *c = &kvm->arch.clock;

	spin_lock_init(&c->lock);
	c->master_tsc = rdtsc();
	c->master_ns = 0;
}

/* Move kvmclock to @ns now; every vCPU rewrites its record. */
static void clock_set(struct kvm *kvm, u64 ns)
{
	struct kvm_arch_clock *c = &kvm->arch.clock;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	c->master_tsc = rdtsc();
	c->master_ns = ns;
	spin_unlock_irqrestore(&c->lock, flags);
	kvm_make_all_cpus_request(kvm, KVM_REQ_CLOCK_UPDATE);
}

/* ---- the vCPU's record ------------------------------------------------ */

/*
 * Write the vCPU's pvclock record, in its own thread before an entry.
 * The version is odd while the record changes (a reader on another vCPU
 * retries), even once it is consistent.
 */
void kvm_clock_update(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_pv *pv = &vcpu->arch.pv;
	struct kvm_arch_clock *c = &vcpu->kvm->arch.clock;
	struct pvclock_vcpu_time_info rec = {};
	gpa_t gpa = pv->system_time_msr & ~(u64)KVM_MSR_ENABLED;
	unsigned long flags;
	u32 version;

	if (!(pv->system_time_msr & KVM_MSR_ENABLED))
		return;
	/* A record across a page boundary is not used (upstream's rule). */
	if (offset_in_page(gpa) + sizeof(rec) > PAGE_SIZE)
		return;

	spin_lock_irqsave(&c->lock, flags);
	rec.tsc_timestamp = c->master_tsc + vcpu->arch.tsc_offset;
	rec.system_time = c->master_ns;
	spin_unlock_irqrestore(&c->lock, flags);
	tsc_scale(tsc_khz, &rec.tsc_to_system_mul, &rec.tsc_shift);
	if (kvm_host_tsc_stable())
		rec.flags |= PVCLOCK_TSC_STABLE_BIT;
	if (pv->guest_stopped) {
		rec.flags |= PVCLOCK_GUEST_STOPPED;
		pv->guest_stopped = false;
	}

	version = (pv->pvclock_version | 1);
	if (kvm_pv_write_guest(vcpu->kvm, gpa, &version, sizeof(version)))
		return;
	/* x86 keeps stores in order; the compiler must too. */
	barrier();
	kvm_pv_write_guest(vcpu->kvm, gpa + sizeof(version),
			   (u8 *)&rec + sizeof(version),
			   sizeof(rec) - sizeof(version));
	barrier();
	version++;
	kvm_pv_write_guest(vcpu->kvm, gpa, &version, sizeof(version));
	pv->pvclock_version = version;
}

/*
 * MSR_KVM_WALL_CLOCK(_NEW): the host's real time at kvmclock 0, in the
 * struct pvclock_wall_clock at @gpa (written once, on the MSR write).
 */
void kvm_clock_write_wall(struct kvm *kvm, gpa_t gpa)
{
	struct kvm_arch_clock *c = &kvm->arch.clock;
	struct pvclock_wall_clock wc;
	unsigned long flags;
	u64 real, now;
	u32 version;
	u32 rem;

	if (kvm_pv_read_guest(kvm, gpa, &version, sizeof(version)))
		return;
	local_irq_save(flags);
	real = ktime_get_real_ns();
	spin_lock(&c->lock);
	now = clock_at(c, rdtsc());
	spin_unlock(&c->lock);
	local_irq_restore(flags);

	version = (version + 1) | 1;
	kvm_pv_write_guest(kvm, gpa, &version, sizeof(version));
	barrier();
	wc.sec = div_u64_rem(real - now, NSEC_PER_SEC, &rem);
	wc.nsec = rem;
	kvm_pv_write_guest(kvm, gpa + sizeof(version), &wc.sec,
			   sizeof(wc) - sizeof(version));
	barrier();
	version++;
	kvm_pv_write_guest(kvm, gpa, &version, sizeof(version));
}

/* KVM_KVMCLOCK_CTRL: the VMM paused the guest; tell its watchdogs. */
long kvm_vcpu_kvmclock_ctrl(struct kvm_vcpu *vcpu)
{
	if (!(vcpu->arch.pv.system_time_msr & KVM_MSR_ENABLED))
		return -EINVAL;
	vcpu->arch.pv.guest_stopped = true;
	kvm_make_request(KVM_REQ_CLOCK_UPDATE, vcpu);
	return 0;
}

/* ---- KVM_GET_CLOCK / KVM_SET_CLOCK -------------------------------------- */

static long kvm_get_clock(struct kvm *kvm, void __user *argp)
{
	struct kvm_arch_clock *c = &kvm->arch.clock;
	struct kvm_clock_data data = {};
	unsigned long flags;
	u64 host_tsc;

	/* The host TSC, real time and kvmclock of one instant. */
	local_irq_save(flags);
	host_tsc = rdtsc();
	data.realtime = ktime_get_real_ns();
	spin_lock(&c->lock);
	data.clock = clock_at(c, host_tsc);
	spin_unlock(&c->lock);
	local_irq_restore(flags);

	/* Like upstream: the TSC pairing is offered when the TSC is stable. */
	if (kvm_host_tsc_stable()) {
		data.flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME |
			     KVM_CLOCK_HOST_TSC;
		data.host_tsc = host_tsc;
	} else {
		data.realtime = 0;
	}
	return copy_to_user(argp, &data, sizeof(data)) ? -EFAULT : 0;
}

static long kvm_set_clock(struct kvm *kvm, void __user *argp)
{
	struct kvm_clock_data data;
	u64 ns;

	if (copy_from_user(&data, argp, sizeof(data)))
		return -EFAULT;
	if (data.flags & ~KVM_CLOCK_VALID_FLAGS)
		return -EINVAL;
	ns = data.clock;
	/*
	 * KVM_CLOCK_REALTIME: @clock was read at real time @realtime; add
	 * the real time that passed since (a migration's downtime).
	 */
	if ((data.flags & KVM_CLOCK_REALTIME) && kvm_host_tsc_stable()) {
		u64 real = ktime_get_real_ns();

		if (real > data.realtime)
			ns += real - data.realtime;
	}
	clock_set(kvm, ns);
	return 0;
}

long kvm_clock_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_CLOCK:
		return kvm_get_clock(kvm, argp);
	case KVM_SET_CLOCK:
		return kvm_set_clock(kvm, argp);
	default:
		return -ENOTTY;
	}
}

/* KVM_CAP_ADJUST_CLOCK answers the flags KVM_GET/SET_CLOCK know. */
long kvm_clock_adjust_cap(void)
{
	return KVM_CLOCK_VALID_FLAGS;
}

/* ---- the guest TSC ------------------------------------------------------ */

void kvm_tsc_set_offset(struct kvm_vcpu *vcpu, u64 offset)
{
	vcpu->arch.tsc_offset = offset;
	/* The record's TSC is the vCPU's own: it moves with the offset. */
	kvm_make_request(KVM_REQ_CLOCK_UPDATE, vcpu);
}

/* Is @data, written at host TSC @now, the clock the last write set? */
static bool tsc_write_matches(struct kvm_arch_clock *c, u64 data, u64 now)
{
	u64 expected = c->last_tsc_write + (now - c->last_tsc_host);
	u64 window = (u64)tsc_khz * TSC_MATCH_MS;

	return data < expected + window && data + window > expected;
}

/*
 * IA32_TSC written.  By the guest: its TSC jumps and TSC_ADJUST follows
 * (SDM vol 3, 17.17.3).  By a VMM (or vCPU creation): see the top.
 */
void kvm_tsc_write(struct kvm_vcpu *vcpu, u64 data, bool host)
{
	struct kvm_arch_clock *c = &vcpu->kvm->arch.clock;
	unsigned long flags;
	u64 now, offset;

	if (!host) {
		now = rdtsc();
		vcpu->arch.tsc_adjust += data - (now + vcpu->arch.tsc_offset);
		kvm_tsc_set_offset(vcpu, data - now);
		return;
	}
	spin_lock_irqsave(&c->lock, flags);
	now = rdtsc();
	offset = data - now;
	if (c->tsc_written && tsc_write_matches(c, data, now))
		offset = c->last_tsc_offset;
	c->tsc_written = true;
	c->last_tsc_write = data;
	c->last_tsc_host = now;
	c->last_tsc_offset = offset;
	spin_unlock_irqrestore(&c->lock, flags);
	kvm_tsc_set_offset(vcpu, offset);
}

/*
 * KVM_{HAS,GET,SET}_DEVICE_ATTR on a vCPU: group KVM_VCPU_TSC_CTRL, whose
 * one attribute KVM_VCPU_TSC_OFFSET is the guest TSC's offset from the
 * host's.  Setting it is a TSC write that others may match, as upstream.
 */
long kvm_tsc_vcpu_attr(struct kvm_vcpu *vcpu, unsigned int ioctl,
		       void __user *argp)
{
	struct kvm_arch_clock *c = &vcpu->kvm->arch.clock;
	struct kvm_device_attr attr;
	u64 __user *uaddr;
	unsigned long flags;
	u64 offset, now;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group != KVM_VCPU_TSC_CTRL || attr.attr != KVM_VCPU_TSC_OFFSET)
		return -ENXIO;
	uaddr = u64_to_user_ptr(attr.addr);
	if (ioctl == KVM_HAS_DEVICE_ATTR)
		return 0;
	if (ioctl == KVM_GET_DEVICE_ATTR)
		return put_user(vcpu->arch.tsc_offset, uaddr) ? -EFAULT : 0;
	if (get_user(offset, uaddr))
		return -EFAULT;
	spin_lock_irqsave(&c->lock, flags);
	now = rdtsc();
	c->tsc_written = true;
	c->last_tsc_write = now + offset;
	c->last_tsc_host = now;
	c->last_tsc_offset = offset;
	spin_unlock_irqrestore(&c->lock, flags);
	kvm_tsc_set_offset(vcpu, offset);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The KVM paravirtual interface, guest side of <asm/kvm_para.h>: what
 * CPUID 0x40000001 offers, the MSRs that switch each feature on, steal
 * time, and the one door through which ukvm writes guest memory on the
 * guest's behalf (kvmclock, steal time, PV EOI, patched VMCALLs).
 *
 * Not offered: asynchronous page faults (MSR_KVM_ASYNC_PF_*: guest memory
 * is pinned, a vCPU never waits for a host page), PV TLB flush and
 * vcpu-preempted hints (no preempt notifiers), PV sched yield.  The
 * Hyper-V interface is another door (hyperv.c), offered only when
 * userspace sets its CPUID leaves.  MSR_KVM_POLL_CONTROL lets a guest
 * that polls itself turn halt polling (irq.c) off.
 */
#include <linux/sched.h>
#include <linux/sched/stat.h>

#include "kvm_para.h"
#include "irq.h"

u32 kvm_pv_features(void)
{
	u32 f = BIT(KVM_FEATURE_CLOCKSOURCE) | BIT(KVM_FEATURE_NOP_IO_DELAY) |
		BIT(KVM_FEATURE_CLOCKSOURCE2) | BIT(KVM_FEATURE_PV_EOI) |
		BIT(KVM_FEATURE_PV_UNHALT) | BIT(KVM_FEATURE_PV_SEND_IPI) |
		BIT(KVM_FEATURE_POLL_CONTROL);

	if (sched_info_on())
		f |= BIT(KVM_FEATURE_STEAL_TIME);
	/* The records' PVCLOCK_TSC_STABLE_BIT can be set (pvclock.c). */
	if (kvm_host_tsc_stable())
		f |= BIT(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
	return f;
}

/* ---- guest memory written for the guest --------------------------------- */

int kvm_pv_read_guest(struct kvm *kvm, gpa_t gpa, void *data,
		      unsigned long len)
{
	int r;

	down_read(&kvm->slots_lock);
	r = kvm_read_guest(kvm, gpa, data, len);
	up_read(&kvm->slots_lock);
	return r;
}

/*
 * Every write ukvm makes into guest memory for the guest (kvmclock, steal
 * time, PV EOI, a patched VMCALL) comes through here; kvm_write_guest()
 * reports the pages to dirty logging.
 */
int kvm_pv_write_guest(struct kvm *kvm, gpa_t gpa, const void *data,
		       unsigned long len)
{
	int r;

	down_read(&kvm->slots_lock);
	r = kvm_write_guest(kvm, gpa, data, len);
	up_read(&kvm->slots_lock);
	return r;
}

/* ---- steal time ------------------------------------------------------------ */

/*
 * Add the time the vCPU thread waited for a host CPU since the last
 * update to the guest's struct kvm_steal_time.  The version is odd while
 * the record changes.
 */
static void kvm_steal_time_update(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_pv *pv = &vcpu->arch.pv;
	gpa_t gpa = pv->steal_msr & KVM_STEAL_VALID_BITS;
	u64 delay = current->sched_info.run_delay;
	struct kvm_steal_time st;
	u32 version;

	if (!(pv->steal_msr & KVM_MSR_ENABLED))
		return;
	if (pv->last_steal_valid && delay == pv->last_steal)
		return;
	if (kvm_pv_read_guest(vcpu->kvm, gpa, &st, sizeof(st)))
		return;
	/* The first update only starts the count (and clears the flags). */
	if (pv->last_steal_valid)
		st.steal += delay - pv->last_steal;
	pv->last_steal = delay;
	pv->last_steal_valid = true;

	version = (st.version + 1) | 1;
	kvm_pv_write_guest(vcpu->kvm, gpa + offsetof(struct kvm_steal_time,
						     version),
			   &version, sizeof(version));
	barrier();
	st.preempted = 0;
	kvm_pv_write_guest(vcpu->kvm, gpa, &st.steal, sizeof(st.steal));
	kvm_pv_write_guest(vcpu->kvm, gpa + offsetof(struct kvm_steal_time,
						     preempted),
			   &st.preempted, sizeof(st.preempted));
	barrier();
	version++;
	kvm_pv_write_guest(vcpu->kvm, gpa + offsetof(struct kvm_steal_time,
						     version),
			   &version, sizeof(version));
}

void kvm_pv_before_entry(struct kvm_vcpu *vcpu)
{
	if (kvm_check_request(KVM_REQ_CLOCK_UPDATE, vcpu))
		kvm_clock_update(vcpu);
	kvm_steal_time_update(vcpu);
}

/* ---- KVM_CAP_ENFORCE_PV_FEATURE_CPUID ---------------------------------- */

long kvm_pv_enforce_cpuid(struct kvm_vcpu *vcpu, u64 on)
{
	vcpu->arch.pv.enforce_cpuid = !!on;
	return 0;
}

/*
 * Does the guest's CPUID offer @feature?  Always, unless userspace asked
 * for enforcement; then the features leaf after the KVM signature (found
 * where a guest looks for it, every 0x100 from 0x40000000) decides.
 */
bool kvm_pv_has(struct kvm_vcpu *vcpu, int feature)
{
	struct kvm_cpuid_entry2 *e;
	u32 base;

	if (!vcpu->arch.pv.enforce_cpuid)
		return true;
	for (base = KVM_CPUID_SIGNATURE; base < KVM_CPUID_SIGNATURE + 0x10000;
	     base += 0x100) {
		e = kvm_find_cpuid_entry(vcpu, base, 0);
		if (!e || memcmp(&e->ebx, KVM_SIGNATURE, 4) ||
		    memcmp(&e->ecx, KVM_SIGNATURE + 4, 4) ||
		    memcmp(&e->edx, KVM_SIGNATURE + 8, 4))
			continue;
		e = kvm_find_cpuid_entry(vcpu, base + 1, 0);
		return e && (e->eax & BIT(feature));
	}
	return false;
}

/* The feature each MSR belongs to, or -1. */
static int pv_msr_feature(u32 msr)
{
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK:
		return KVM_FEATURE_CLOCKSOURCE;
	case MSR_KVM_SYSTEM_TIME_NEW:
	case MSR_KVM_WALL_CLOCK_NEW:
		return KVM_FEATURE_CLOCKSOURCE2;
	case MSR_KVM_STEAL_TIME:
		return KVM_FEATURE_STEAL_TIME;
	case MSR_KVM_PV_EOI_EN:
		return KVM_FEATURE_PV_EOI;
	case MSR_KVM_POLL_CONTROL:
		return KVM_FEATURE_POLL_CONTROL;
	default:
		return -1;
	}
}

/* ---- the MSRs (Documentation/virt/kvm/x86/msr.rst upstream) ------------ */

int kvm_pv_msr_read(struct kvm_vcpu *vcpu, u32 msr, u64 *data)
{
	struct kvm_vcpu_pv *pv = &vcpu->arch.pv;
	int feature = pv_msr_feature(msr);

	/* Enforced CPUID: as upstream, for VMMs' accesses too. */
	if (feature >= 0 && !kvm_pv_has(vcpu, feature))
		return 1;
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		*data = pv->system_time_msr;
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		*data = READ_ONCE(vcpu->kvm->arch.clock.wall_clock_msr);
		return 0;
	case MSR_KVM_STEAL_TIME:
		*data = pv->steal_msr;
		return 0;
	case MSR_KVM_PV_EOI_EN:
		*data = pv->pv_eoi_msr;
		return 0;
	case MSR_KVM_POLL_CONTROL:
		*data = pv->poll_control;
		return 0;
	default:
		return -ENOENT;
	}
}

int kvm_pv_msr_write(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct kvm_vcpu_pv *pv = &vcpu->arch.pv;
	int feature = pv_msr_feature(msr);

	if (feature >= 0 && !kvm_pv_has(vcpu, feature))
		return 1;
	switch (msr) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		pv->system_time_msr = data;
		kvm_make_request(KVM_REQ_CLOCK_UPDATE, vcpu);
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		WRITE_ONCE(vcpu->kvm->arch.clock.wall_clock_msr, data);
		kvm_clock_write_wall(vcpu->kvm, data);
		return 0;
	case MSR_KVM_STEAL_TIME:
		if (!sched_info_on() || (data & KVM_STEAL_RESERVED_MASK))
			return 1;
		pv->steal_msr = data;
		pv->last_steal_valid = false;
		return 0;
	case MSR_KVM_PV_EOI_EN:
		/* The flag word is a naturally aligned u32. */
		if (!IS_ALIGNED(data & ~(u64)KVM_MSR_ENABLED, 4))
			return 1;
		kvm_lapic_set_pv_eoi(vcpu, data);
		return 0;
	case MSR_KVM_POLL_CONTROL:
		/* Bit 0: the host may halt-poll; a guest polling itself clears it. */
		if (data & ~1ULL)
			return 1;
		pv->poll_control = data;
		return 0;
	default:
		return -ENOENT;
	}
}

/* Creation and INIT turn every paravirtual feature off, as upstream. */
void kvm_pv_vcpu_reset(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_pv *pv = &vcpu->arch.pv;

	pv->system_time_msr = 0;
	pv->guest_stopped = false;
	pv->steal_msr = 0;
	pv->last_steal_valid = false;
	kvm_lapic_set_pv_eoi(vcpu, 0);
	pv->pv_unhalted = false;
	pv->poll_control = 1;
}

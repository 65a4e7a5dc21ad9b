// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hyper-V enlightenments: what a Windows guest (or Linux with its Hyper-V
 * drivers, or QEMU's hv-* flags) expects of a Hyper-V compatible
 * hypervisor, served with upstream KVM's ABI:
 *
 *  - KVM_GET_SUPPORTED_HV_CPUID lists the leaves 0x40000000.. that
 *    userspace copies into the guest's CPUID; the guest's CPUID decides
 *    what is on (KVM_CAP_HYPERV_ENFORCE_CPUID: strictly, as upstream);
 *  - the synthetic MSRs (TLFS 2.4, appendix): identity, hypercall page,
 *    VP index, the reference counter and TSC page, reset and crash
 *    reporting, the APIC access MSRs, the synthetic debugger's MSRs;
 *  - hypercalls (TLFS 3), in hyperv_hcall.c;
 *  - the SynIC and its synthetic timers (TLFS 11, 12), delivered through
 *    the in-kernel local APIC.
 *
 * The hypercall, the APIC access MSRs and the timers need the in-kernel
 * local APIC; without it they #GP or fail as upstream's do.
 */
#include <linux/cpu.h>
#include <linux/eventfd.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/sched/cputime.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/tsc.h>

#include "hyperv.h"
#include "irq.h"
#include "kvm_para.h"

/* CPUID 0x40000001 EAX of a Hyper-V compatible interface: "Hv#1". */
#define HV_SIGNATURE_EAX	0x31237648
/* CPUID 0x40000002: the Hyper-V version upstream KVM reports (2016). */
#define HV_VERSION_EAX		0x00003839
#define HV_VERSION_EBX		0x000A0000
/* CPUID 0x40000004 EBX: spinlock retries before NOTIFY_LONG_SPIN_WAIT. */
#define HV_SPIN_RETRIES		0x00000FFF
/* CPUID 0x40000005 EBX: logical processors (as Hyper-V 2016). */
#define HV_MAX_LPS		64
/* CPUID 0x40000004 EAX[9]: auto-EOI deprecated, as upstream advises. */
#define HV_DEPRECATING_AEOI	BIT(9)

/* TIME_REF_COUNT and the TSC page count 100 ns units (TLFS 12.1). */
#define HV_NS_PER_TICK		100
/* The hypercall page: VMMCALL; RET (TLFS 3.13). */
static const u8 hypercall_page_code[] = { 0x0f, 0x01, 0xd9, 0xc3 };
/* HV_X64_MSR_HYPERCALL bit 1: locked until reset (TLFS 3.13). */
#define HV_HYPERCALL_LOCKED	BIT_ULL(1)
/* TSC page sequence values a reader never sees for a valid page. */
#define HV_TSC_SEQUENCE_INVALID	0xFFFFFFFF
/* SIEFP/SIMP: enable (bit 0), page number from bit 12. */
#define HV_SYNIC_PAGE_MASK	PAGE_MASK

/* ---- lifetime ----------------------------------------------------------- */

int kvm_hv_init_vm(struct kvm *kvm)
{
	struct kvm_hv *hv = kzalloc(sizeof(*hv), GFP_KERNEL_ACCOUNT);

	if (!hv)
		return -ENOMEM;
	mutex_init(&hv->lock);
	mutex_init(&hv->evt_lock);
	idr_init(&hv->conn_to_evt);
	kvm->arch.hyperv = hv;
	return 0;
}

void kvm_hv_destroy_vm(struct kvm *kvm)
{
	struct kvm_hv *hv = to_kvm_hv(kvm);
	struct eventfd_ctx *evt;
	int id;

	if (!hv)
		return;
	idr_for_each_entry(&hv->conn_to_evt, evt, id)
		eventfd_ctx_put(evt);
	idr_destroy(&hv->conn_to_evt);
	kfree(hv);
	kvm->arch.hyperv = NULL;
}

static enum hrtimer_restart stimer_fn(struct hrtimer *t);

int kvm_hv_vcpu_create(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_hv *hv = kzalloc(sizeof(*hv), GFP_KERNEL_ACCOUNT);
	int i;

	if (!hv)
		return -ENOMEM;
	hv->vcpu = vcpu;
	hv->vp_index = HV_VP_INDEX_DEFAULT;
	for (i = 0; i < HV_SYNIC_SINT_COUNT; i++)
		atomic64_set(&hv->synic.sint[i], HV_SYNIC_SINT_MASKED);
	for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++) {
		hrtimer_init(&hv->stimer[i].timer, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL);
		hv->stimer[i].timer.function = stimer_fn;
		hv->stimer[i].vcpu = vcpu;
		hv->stimer[i].index = i;
	}
	vcpu->arch.hyperv = hv;
	return 0;
}

void kvm_hv_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	int i;

	if (!hv)
		return;
	for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++)
		hrtimer_cancel(&hv->stimer[i].timer);
	kfree(hv);
	vcpu->arch.hyperv = NULL;
}

/* ---- capabilities and CPUID ------------------------------------------- */

long kvm_hv_check_extension(long ext)
{
	switch (ext) {
	case KVM_CAP_HYPERV:
	case KVM_CAP_HYPERV_VAPIC:
	case KVM_CAP_HYPERV_SPIN:
	case KVM_CAP_HYPERV_TIME:
	case KVM_CAP_HYPERV_VP_INDEX:
	case KVM_CAP_HYPERV_SYNIC:
	case KVM_CAP_HYPERV_SYNIC2:
	case KVM_CAP_HYPERV_EVENTFD:
	case KVM_CAP_HYPERV_TLBFLUSH:
	case KVM_CAP_HYPERV_SEND_IPI:
	case KVM_CAP_HYPERV_CPUID:
	case KVM_CAP_SYS_HYPERV_CPUID:
	case KVM_CAP_HYPERV_ENFORCE_CPUID:
		return 1;
	default:
		return -ENOENT;
	}
}

/* Four characters of a 12-byte signature as a CPUID register. */
static u32 sig_reg(const char *sig, int i)
{
	u32 r;

	memcpy(&r, sig + 4 * i, 4);
	return r;
}

static void hv_fill_leaf(struct kvm_vcpu *vcpu, struct kvm_cpuid_entry2 *e)
{
	static const char vendor[12] = "Linux KVM Hv";
	static const char syndbg_if[4] = "VS#1";
	bool apic = !vcpu || vcpu->arch.apic;

	switch (e->function) {
	case HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS:
		e->eax = HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES;
		e->ebx = sig_reg(vendor, 0);
		e->ecx = sig_reg(vendor, 1);
		e->edx = sig_reg(vendor, 2);
		break;
	case HYPERV_CPUID_INTERFACE:
		e->eax = HV_SIGNATURE_EAX;
		break;
	case HYPERV_CPUID_VERSION:
		e->eax = HV_VERSION_EAX;
		e->ebx = HV_VERSION_EBX;
		break;
	case HYPERV_CPUID_FEATURES:
		e->eax = HV_MSR_VP_RUNTIME_AVAILABLE |
			 HV_MSR_TIME_REF_COUNT_AVAILABLE |
			 HV_MSR_SYNIC_AVAILABLE | HV_MSR_SYNTIMER_AVAILABLE |
			 HV_MSR_APIC_ACCESS_AVAILABLE |
			 HV_MSR_HYPERCALL_AVAILABLE | HV_MSR_VP_INDEX_AVAILABLE |
			 HV_MSR_RESET_AVAILABLE |
			 HV_MSR_REFERENCE_TSC_AVAILABLE |
			 HV_ACCESS_FREQUENCY_MSRS | HV_ACCESS_REENLIGHTENMENT;
		e->ebx = HV_POST_MESSAGES | HV_SIGNAL_EVENTS | HV_DEBUGGING;
		e->edx = HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE |
			 HV_FEATURE_FREQUENCY_MSRS_AVAILABLE |
			 HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE |
			 HV_X64_GUEST_DEBUGGING_AVAILABLE |
			 HV_FEATURE_DEBUG_MSRS_AVAILABLE;
		/* Direct-mode timers interrupt through the in-kernel APIC. */
		if (apic)
			e->edx |= HV_STIMER_DIRECT_MODE_AVAILABLE;
		break;
	case HYPERV_CPUID_ENLIGHTMENT_INFO:
		e->eax = HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED |
			 HV_X64_APIC_ACCESS_RECOMMENDED |
			 HV_X64_RELAXED_TIMING_RECOMMENDED |
			 HV_X64_CLUSTER_IPI_RECOMMENDED |
			 HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED |
			 HV_DEPRECATING_AEOI;
		if (!cpu_smt_possible())
			e->eax |= HV_X64_NO_NONARCH_CORESHARING;
		e->ebx = HV_SPIN_RETRIES;
		break;
	case HYPERV_CPUID_IMPLEMENT_LIMITS:
		e->eax = KVM_MAX_VCPUS;
		e->ebx = HV_MAX_LPS;
		break;
	case HYPERV_CPUID_NESTED_FEATURES:
		/*
		 * No nested SVM, so no enlightened VMCB features (upstream
		 * lists the enlightened MSR bitmap here): the leaf is empty.
		 */
		break;
	case HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS:
		e->ebx = sig_reg(vendor, 0);
		e->ecx = sig_reg(vendor, 1);
		e->edx = sig_reg(vendor, 2);
		break;
	case HYPERV_CPUID_SYNDBG_INTERFACE:
		e->eax = sig_reg(syndbg_if, 0);
		break;
	case HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES:
		e->eax = HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING;
		break;
	}
}

static const u32 hv_leaves[] = {
	HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS,
	HYPERV_CPUID_INTERFACE,
	HYPERV_CPUID_VERSION,
	HYPERV_CPUID_FEATURES,
	HYPERV_CPUID_ENLIGHTMENT_INFO,
	HYPERV_CPUID_IMPLEMENT_LIMITS,
	HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS,
	HYPERV_CPUID_SYNDBG_INTERFACE,
	HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES,
	HYPERV_CPUID_NESTED_FEATURES,
};

/*
 * KVM_GET_SUPPORTED_HV_CPUID, on /dev/kvm (@vcpu NULL) or on a vCPU: as
 * upstream, -E2BIG if fewer entries fit than there are leaves, and nent
 * lowered to the number written.
 */
long kvm_hv_get_supported_cpuid(struct kvm_vcpu *vcpu,
				struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid_entry2 e;
	struct kvm_cpuid2 hdr;
	u32 i, n = ARRAY_SIZE(hv_leaves);

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < n)
		return -E2BIG;
	hdr.nent = n;
	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		e.function = hv_leaves[i];
		hv_fill_leaf(vcpu, &e);
		if (copy_to_user(&argp->entries[i], &e, sizeof(e)))
			return -EFAULT;
	}
	if (copy_to_user(argp, &hdr, sizeof(hdr)))
		return -EFAULT;
	return 0;
}

/* KVM_SET_CPUID2 done: cache the leaves that gate MSRs and hypercalls. */
void kvm_hv_set_cpuid(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	struct kvm_cpuid_entry2 *e;

	e = kvm_find_cpuid_entry(vcpu, HYPERV_CPUID_INTERFACE, 0);
	hv->enabled = e && e->eax == HV_SIGNATURE_EAX;
	memset(&hv->cpuid, 0, sizeof(hv->cpuid));
	if (!hv->enabled)
		return;
	e = kvm_find_cpuid_entry(vcpu, HYPERV_CPUID_FEATURES, 0);
	if (e) {
		hv->cpuid.features_eax = e->eax;
		hv->cpuid.features_ebx = e->ebx;
		hv->cpuid.features_edx = e->edx;
	}
	e = kvm_find_cpuid_entry(vcpu, HYPERV_CPUID_ENLIGHTMENT_INFO, 0);
	if (e) {
		hv->cpuid.enlightenments_eax = e->eax;
		hv->cpuid.enlightenments_ebx = e->ebx;
	}
	e = kvm_find_cpuid_entry(vcpu,
				 HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES, 0);
	if (e)
		hv->cpuid.syndbg_cap_eax = e->eax;
}

/*
 * KVM_CAP_HYPERV_ENFORCE_CPUID: may the guest touch @msr?  Upstream's
 * table: each MSR belongs to one CPUID feature bit.
 */
static bool hv_msr_allowed(struct kvm_vcpu_hv *hv, u32 msr)
{
	u32 eax = hv->cpuid.features_eax, edx = hv->cpuid.features_edx;

	if (!hv->enforce_cpuid)
		return true;
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
	case HV_X64_MSR_HYPERCALL:
		return eax & HV_MSR_HYPERCALL_AVAILABLE;
	case HV_X64_MSR_VP_RUNTIME:
		return eax & HV_MSR_VP_RUNTIME_AVAILABLE;
	case HV_X64_MSR_TIME_REF_COUNT:
		return eax & HV_MSR_TIME_REF_COUNT_AVAILABLE;
	case HV_X64_MSR_VP_INDEX:
		return eax & HV_MSR_VP_INDEX_AVAILABLE;
	case HV_X64_MSR_RESET:
		return eax & HV_MSR_RESET_AVAILABLE;
	case HV_X64_MSR_REFERENCE_TSC:
		return eax & HV_MSR_REFERENCE_TSC_AVAILABLE;
	case HV_X64_MSR_SCONTROL:
	case HV_X64_MSR_SVERSION:
	case HV_X64_MSR_SIEFP:
	case HV_X64_MSR_SIMP:
	case HV_X64_MSR_EOM:
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		return eax & HV_MSR_SYNIC_AVAILABLE;
	case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT:
		return eax & HV_MSR_SYNTIMER_AVAILABLE;
	case HV_X64_MSR_EOI:
	case HV_X64_MSR_ICR:
	case HV_X64_MSR_TPR:
	case HV_X64_MSR_VP_ASSIST_PAGE:
		return eax & HV_MSR_APIC_ACCESS_AVAILABLE;
	case HV_X64_MSR_TSC_FREQUENCY:
	case HV_X64_MSR_APIC_FREQUENCY:
		return eax & HV_ACCESS_FREQUENCY_MSRS;
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		return eax & HV_ACCESS_REENLIGHTENMENT;
	case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_CTL:
		return edx & HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE;
	case HV_X64_MSR_SYNDBG_OPTIONS:
	case HV_X64_MSR_SYNDBG_CONTROL ... HV_X64_MSR_SYNDBG_PENDING_BUFFER:
		return edx & HV_FEATURE_DEBUG_MSRS_AVAILABLE;
	}
	return false;
}

/* KVM_CAP_HYPERV_SYNIC(2) and KVM_CAP_HYPERV_ENFORCE_CPUID on a vCPU. */
long kvm_hv_enable_cap(struct kvm_vcpu *vcpu, u32 cap, u64 arg0)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);

	switch (cap) {
	case KVM_CAP_HYPERV_SYNIC2:
		if (arg0)
			return -EINVAL;
		fallthrough;
	case KVM_CAP_HYPERV_SYNIC:
		if (!irqchip_in_kernel(vcpu->kvm))
			return -EINVAL;
		hv->synic.active = true;
		hv->synic.dont_zero_pages = cap == KVM_CAP_HYPERV_SYNIC2;
		hv->synic.control = HV_SYNIC_CONTROL_ENABLE;
		return 0;
	case KVM_CAP_HYPERV_ENFORCE_CPUID:
		hv->enforce_cpuid = !!arg0;
		return 0;
	default:
		return -ENOENT;
	}
}

/* ---- the reference counter and the TSC page (TLFS 12) ------------------ */

/*
 * kvmclock in nanoseconds now, and the host TSC it was read at: the same
 * clock as pvclock.c's records (@master_ns at @master_tsc, advancing with
 * the host TSC).
 */
static u64 hv_kvmclock_ns(struct kvm *kvm, u64 *host_tsc)
{
	struct kvm_arch_clock *c = &kvm->arch.clock;
	unsigned long flags;
	u64 tsc, ns;

	spin_lock_irqsave(&c->lock, flags);
	tsc = rdtsc();
	ns = c->master_ns;
	if ((s64)(tsc - c->master_tsc) > 0)
		ns += mul_u64_u32_div(tsc - c->master_tsc, NSEC_PER_MSEC,
				      tsc_khz);
	spin_unlock_irqrestore(&c->lock, flags);
	if (host_tsc)
		*host_tsc = tsc;
	return ns;
}

/* kvmclock's reference pair, which KVM_SET_CLOCK moves. */
static void hv_clock_master(struct kvm *kvm, u64 *tsc, u64 *ns)
{
	struct kvm_arch_clock *c = &kvm->arch.clock;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	*tsc = c->master_tsc;
	*ns = c->master_ns;
	spin_unlock_irqrestore(&c->lock, flags);
}

/* HV_X64_MSR_TIME_REF_COUNT: 100 ns units since the VM's clock began. */
static u64 hv_time_ref(struct kvm *kvm)
{
	return div_u64(hv_kvmclock_ns(kvm, NULL), HV_NS_PER_TICK);
}

/*
 * The TSC page (TLFS 12.7): reference time = ((TSC * scale) >> 64) +
 * offset.  Valid only while the host TSC is stable; otherwise, as
 * upstream, tsc_sequence 0 tells the guest to read TIME_REF_COUNT.
 * Caller holds hv->lock.
 */
static int hv_write_tsc_page(struct kvm_vcpu *vcpu)
{
	struct kvm_hv *hv = to_kvm_hv(vcpu->kvm);
	gpa_t gpa = hv->tsc_ref & PAGE_MASK;
	u64 host_tsc, ref, hi, lo, rem;
	u64 scale_offset[2];	/* tsc_scale, tsc_offset */
	u32 seq = 0;

	BUILD_BUG_ON(offsetof(struct ms_hyperv_tsc_page, tsc_scale) != 8 ||
		     offsetof(struct ms_hyperv_tsc_page, tsc_offset) != 16);
	if (!(hv->tsc_ref & HV_X64_MSR_TSC_REFERENCE_ENABLE))
		return 0;
	/* Invalid first; a reader that sees 0 uses TIME_REF_COUNT. */
	if (kvm_pv_write_guest(vcpu->kvm, gpa, &seq, sizeof(seq)))
		return 1;
	if (!kvm_host_tsc_stable() || tsc_khz <= 10000)
		return 0;
	hv_clock_master(vcpu->kvm, &hv->page_master_tsc, &hv->page_master_ns);
	hv->page_tsc_offset = vcpu->arch.tsc_offset;
	hv->page_writer = vcpu->vcpu_idx;
	ref = div_u64(hv_kvmclock_ns(vcpu->kvm, &host_tsc), HV_NS_PER_TICK);
	/* scale = 2^64 * 10^4 / tsc_khz: 100 ns ticks per TSC tick, 64.64. */
	hi = div64_u64_rem((u64)10000 << 32, tsc_khz, &rem);
	lo = div64_u64(rem << 32, tsc_khz);
	scale_offset[0] = (hi << 32) | lo;
	scale_offset[1] = ref - mul_u64_u64_shr(host_tsc + vcpu->arch.tsc_offset,
						scale_offset[0], 64);
	if (kvm_pv_write_guest(vcpu->kvm, gpa + 8, scale_offset,
			       sizeof(scale_offset)))
		return 1;
	hv->tsc_sequence++;
	if (!hv->tsc_sequence || hv->tsc_sequence == HV_TSC_SEQUENCE_INVALID)
		hv->tsc_sequence = 1;
	/* Then publish the new sequence. */
	smp_wmb();
	seq = hv->tsc_sequence;
	return kvm_pv_write_guest(vcpu->kvm, gpa, &seq, sizeof(seq)) ? 1 : 0;
}

/*
 * Before an entry: kvmclock was moved (KVM_SET_CLOCK) or the guest TSC of
 * the vCPU the page was computed for changed: compute the page again.
 */
static bool hv_tsc_page_stale(struct kvm_hv *hv, struct kvm_vcpu *vcpu,
			      u64 tsc, u64 ns)
{
	return tsc != READ_ONCE(hv->page_master_tsc) ||
	       ns != READ_ONCE(hv->page_master_ns) ||
	       (READ_ONCE(hv->page_writer) == vcpu->vcpu_idx &&
		vcpu->arch.tsc_offset != READ_ONCE(hv->page_tsc_offset));
}

static void hv_tsc_page_refresh(struct kvm_vcpu *vcpu)
{
	struct kvm_hv *hv = to_kvm_hv(vcpu->kvm);
	u64 tsc, ns;

	if (!(READ_ONCE(hv->tsc_ref) & HV_X64_MSR_TSC_REFERENCE_ENABLE) ||
	    !kvm_host_tsc_stable())
		return;
	hv_clock_master(vcpu->kvm, &tsc, &ns);
	/* Unlocked first: the common case, nothing changed, takes no lock. */
	if (!hv_tsc_page_stale(hv, vcpu, tsc, ns))
		return;
	mutex_lock(&hv->lock);
	if (hv_tsc_page_stale(hv, vcpu, tsc, ns))
		hv_write_tsc_page(vcpu);
	mutex_unlock(&hv->lock);
}

/* VP_RUNTIME: the vCPU thread's CPU time in 100 ns units. */
static u64 hv_thread_runtime(void)
{
	return div_u64(current->se.sum_exec_runtime, HV_NS_PER_TICK);
}

/* ---- the SynIC (TLFS 11) ---------------------------------------------- */

static struct kvm_vcpu *hv_vcpu_by_vp_index(struct kvm *kvm, u32 vp_index)
{
	struct kvm_vcpu *vcpu;
	int i;

	kvm_for_each_vcpu(i, vcpu, kvm)
		if (vcpu->arch.hyperv && hv_vp_index(vcpu) == vp_index)
			return vcpu;
	return NULL;
}

static int sint_vector(u64 sint)
{
	return sint & HV_SYNIC_SINT_VECTOR_MASK;
}

/* Raise SINT @sint on @vcpu: a fixed interrupt to its own APIC.  Any
 * context. */
static int synic_set_irq(struct kvm_vcpu *vcpu, u32 sint)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	u64 v;

	if (sint >= HV_SYNIC_SINT_COUNT || !vcpu->arch.apic)
		return -EINVAL;
	v = atomic64_read(&hv->synic.sint[sint]);
	if (v & HV_SYNIC_SINT_MASKED)
		return -ENOENT;
	if (sint_vector(v) < HV_SYNIC_FIRST_VALID_VECTOR)
		return -EINVAL;
	return kvm_lapic_deliver_fixed(vcpu, sint_vector(v)) ? 1 : -1;
}

int kvm_hv_synic_set_irq(struct kvm *kvm, u32 vp_index, u32 sint)
{
	struct kvm_vcpu *vcpu = hv_vcpu_by_vp_index(kvm, vp_index);

	if (!vcpu || !to_hv(vcpu)->synic.active)
		return -EINVAL;
	return synic_set_irq(vcpu, sint);
}

static void stimer_mark_pending(struct kvm_hv_stimer *t)
{
	struct kvm_vcpu *vcpu = t->vcpu;

	set_bit(t->index, &to_hv(vcpu)->stimer_pending);
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	kvm_vcpu_kick(vcpu);
}

/* SINT @sint was acknowledged (EOM or EOI): retry timers waiting on it. */
static void synic_sint_acked(struct kvm_vcpu *vcpu, int sint)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	int i;

	for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++) {
		struct kvm_hv_stimer *t = &hv->stimer[i];

		if (t->msg_pending && t->config.enable &&
		    !t->config.direct_mode && t->config.sintx == sint)
			stimer_mark_pending(t);
	}
}

void kvm_hv_synic_eoi(struct kvm_vcpu *vcpu, int vector)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	int i;

	if (!hv || !hv->synic.active)
		return;
	for (i = 0; i < HV_SYNIC_SINT_COUNT; i++)
		if (sint_vector(atomic64_read(&hv->synic.sint[i])) == vector)
			synic_sint_acked(vcpu, i);
}

/* Is @vector that of an auto-EOI SINT?  The APIC then EOIs it itself. */
bool kvm_hv_synic_auto_eoi(struct kvm_vcpu *vcpu, int vector)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	int i;

	if (!hv || !hv->synic.active)
		return false;
	for (i = 0; i < HV_SYNIC_SINT_COUNT; i++) {
		u64 v = atomic64_read(&hv->synic.sint[i]);

		if (sint_vector(v) == vector && (v & HV_SYNIC_SINT_AUTO_EOI))
			return true;
	}
	return false;
}

/* Tell userspace the SynIC pages or control changed (KVM_EXIT_HYPERV). */
static void synic_exit(struct kvm_vcpu_hv *hv, u32 msr)
{
	hv->exit.type = KVM_EXIT_HYPERV_SYNIC;
	hv->exit.u.synic.msr = msr;
	hv->exit.u.synic.control = hv->synic.control;
	hv->exit.u.synic.evt_page = hv->synic.evt_page;
	hv->exit.u.synic.msg_page = hv->synic.msg_page;
	hv->pending_exit = HV_EXIT_USER;
}

/*
 * Post a message into the SIMP slot of SINT @sint (TLFS 11.9.3): only if
 * the slot is free; otherwise flag it pending, so the guest writes EOM
 * once it frees the slot and delivery is retried.  vCPU thread.
 */
static int synic_deliver_msg(struct kvm_vcpu *vcpu, u32 sint,
			     const struct hv_message *msg)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	struct hv_message_header hdr;
	gpa_t slot;
	int r;

	if (!(hv->synic.control & HV_SYNIC_CONTROL_ENABLE) ||
	    !(hv->synic.msg_page & HV_SYNIC_SIMP_ENABLE))
		return -ENOENT;
	slot = (hv->synic.msg_page & HV_SYNIC_PAGE_MASK) +
	       sint * sizeof(struct hv_message);
	if (kvm_pv_read_guest(vcpu->kvm, slot, &hdr, sizeof(hdr)))
		return -EFAULT;
	if (hdr.message_type != HVMSG_NONE) {
		if (!hdr.message_flags.msg_pending) {
			hdr.message_flags.msg_pending = 1;
			kvm_pv_write_guest(vcpu->kvm, slot +
				offsetof(struct hv_message_header,
					 message_flags),
				&hdr.message_flags, sizeof(hdr.message_flags));
		}
		return -EAGAIN;
	}
	/* Payload first, then the header that makes the slot busy. */
	if (kvm_pv_write_guest(vcpu->kvm, slot + sizeof(hdr), &msg->u,
			       msg->header.payload_size) ||
	    kvm_pv_write_guest(vcpu->kvm, slot, &msg->header,
			       sizeof(msg->header)))
		return -EFAULT;
	r = synic_set_irq(vcpu, sint);
	if (r == 0)
		return -EFAULT;
	return r > 0 ? 0 : r;
}

static int synic_get_msr(struct kvm_vcpu_hv *hv, u32 msr, u64 *data,
			 bool host)
{
	if (!hv->synic.active && !host)
		return 1;
	switch (msr) {
	case HV_X64_MSR_SCONTROL:
		*data = hv->synic.control;
		break;
	case HV_X64_MSR_SVERSION:
		*data = HV_SYNIC_VERSION_1;
		break;
	case HV_X64_MSR_SIEFP:
		*data = hv->synic.evt_page;
		break;
	case HV_X64_MSR_SIMP:
		*data = hv->synic.msg_page;
		break;
	case HV_X64_MSR_EOM:
		*data = 0;
		break;
	default:
		*data = atomic64_read(&hv->synic.sint[msr - HV_X64_MSR_SINT0]);
	}
	return 0;
}

/* A SynIC page just enabled is cleared, unless KVM_CAP_HYPERV_SYNIC2. */
static int synic_clear_page(struct kvm_vcpu *vcpu, u64 val, bool host)
{
	static const u8 zero[256];
	gpa_t gpa = val & HV_SYNIC_PAGE_MASK;
	int i;

	if (host || !(val & 1) || to_hv(vcpu)->synic.dont_zero_pages)
		return 0;
	for (i = 0; i < PAGE_SIZE / sizeof(zero); i++)
		if (kvm_pv_write_guest(vcpu->kvm, gpa + i * sizeof(zero),
				       zero, sizeof(zero)))
			return 1;
	return 0;
}

static int synic_set_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	int i;

	if (!hv->synic.active && (!host || data))
		return 1;
	switch (msr) {
	case HV_X64_MSR_SCONTROL:
		hv->synic.control = data;
		if (!host)
			synic_exit(hv, msr);
		break;
	case HV_X64_MSR_SVERSION:
		/* Read-only; a VMM may restore it. */
		return host ? 0 : 1;
	case HV_X64_MSR_SIEFP:
	case HV_X64_MSR_SIMP:
		if (synic_clear_page(vcpu, data, host))
			return 1;
		if (msr == HV_X64_MSR_SIEFP)
			hv->synic.evt_page = data;
		else
			hv->synic.msg_page = data;
		if (!host)
			synic_exit(hv, msr);
		break;
	case HV_X64_MSR_EOM:
		for (i = 0; i < HV_SYNIC_SINT_COUNT; i++)
			synic_sint_acked(vcpu, i);
		break;
	default: {
		int sint = msr - HV_X64_MSR_SINT0;
		int vector = data & HV_SYNIC_SINT_VECTOR_MASK;

		/* An unmasked SINT needs a deliverable vector (TLFS 11.8.4). */
		if (vector < HV_SYNIC_FIRST_VALID_VECTOR && !host &&
		    !(data & HV_SYNIC_SINT_MASKED))
			return 1;
		atomic64_set(&hv->synic.sint[sint], data);
		/* A SINT unmasked may let waiting timer messages out. */
		synic_sint_acked(vcpu, sint);
		break;
	}
	}
	return 0;
}

/* ---- synthetic timers (TLFS 12.4) ----------------------------------- */

static enum hrtimer_restart stimer_fn(struct hrtimer *ht)
{
	struct kvm_hv_stimer *t = container_of(ht, struct kvm_hv_stimer, timer);

	stimer_mark_pending(t);
	return HRTIMER_NORESTART;
}

static void stimer_stop(struct kvm_hv_stimer *t)
{
	hrtimer_cancel(&t->timer);
	clear_bit(t->index, &to_hv(t->vcpu)->stimer_pending);
	t->msg_pending = false;
	t->exp_time = 0;
}

/* Arm @t for its next expiry from now. */
static void stimer_start(struct kvm_hv_stimer *t)
{
	u64 now = hv_time_ref(t->vcpu->kvm), rem;

	if (t->config.periodic) {
		if (!t->count)
			return;
		if (t->exp_time && now >= t->exp_time) {
			/* Missed periods are skipped, not delivered late. */
			div64_u64_rem(now - t->exp_time, t->count, &rem);
			t->exp_time = now + (t->count - rem);
		} else if (!t->exp_time) {
			t->exp_time = now + t->count;
		}
	} else {
		t->exp_time = t->count;
		if (now >= t->exp_time) {
			stimer_mark_pending(t);
			return;
		}
	}
	hrtimer_start(&t->timer,
		      ns_to_ktime((t->exp_time - now) * HV_NS_PER_TICK),
		      HRTIMER_MODE_REL);
}

/* The timer expired: its message, or its direct-mode interrupt. */
static int stimer_deliver(struct kvm_hv_stimer *t, u64 now)
{
	struct kvm_vcpu *vcpu = t->vcpu;
	struct hv_timer_message_payload *p;
	struct hv_message msg = {};

	if (t->config.direct_mode) {
		if (!vcpu->arch.apic ||
		    t->config.apic_vector < HV_SYNIC_FIRST_VALID_VECTOR)
			return -EINVAL;
		kvm_lapic_deliver_fixed(vcpu, t->config.apic_vector);
		return 0;
	}
	msg.header.message_type = HVMSG_TIMER_EXPIRED;
	msg.header.payload_size = sizeof(*p);
	p = (void *)&msg.u.payload;
	p->timer_index = t->index;
	p->expiration_time = t->exp_time;
	p->delivery_time = now;
	return synic_deliver_msg(vcpu, t->config.sintx, &msg);
}

static void stimer_process(struct kvm_hv_stimer *t)
{
	u64 now = hv_time_ref(t->vcpu->kvm);

	if (t->config.enable && t->exp_time && now >= t->exp_time) {
		if (stimer_deliver(t, now)) {
			/* Retried when the guest frees the slot (EOM). */
			t->msg_pending = true;
			return;
		}
		t->msg_pending = false;
		if (!t->config.periodic) {
			t->config.enable = 0;
			t->exp_time = 0;
		}
	}
	if (t->config.enable && t->count && !hrtimer_active(&t->timer))
		stimer_start(t);
}

bool kvm_hv_timers_pending(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);

	return hv && READ_ONCE(hv->stimer_pending);
}

void kvm_hv_process_timers(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	int i;

	if (!hv || !READ_ONCE(hv->stimer_pending))
		return;
	for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++)
		if (test_and_clear_bit(i, &hv->stimer_pending))
			stimer_process(&hv->stimer[i]);
}

static int stimer_set_config(struct kvm_vcpu *vcpu, struct kvm_hv_stimer *t,
			     u64 data, bool host)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	union hv_stimer_config cfg = { .as_uint64 = data };

	if (!hv->synic.active && (!host || data))
		return 1;
	if (!host && hv->enforce_cpuid && cfg.direct_mode &&
	    !(hv->cpuid.features_edx & HV_STIMER_DIRECT_MODE_AVAILABLE))
		return 1;
	stimer_stop(t);
	/* Message mode through SINT 0 is no destination (TLFS 12.4.2). */
	if (!cfg.direct_mode && cfg.sintx == 0)
		cfg.enable = 0;
	t->config = cfg;
	if (t->config.enable)
		stimer_mark_pending(t);
	return 0;
}

static int stimer_set_count(struct kvm_vcpu *vcpu, struct kvm_hv_stimer *t,
			    u64 data, bool host)
{
	if (!to_hv(vcpu)->synic.active && (!host || data))
		return 1;
	stimer_stop(t);
	t->count = data;
	if (!host) {
		if (!t->count)
			t->config.enable = 0;
		else if (t->config.auto_enable)
			t->config.enable = 1;
	}
	if (t->config.enable)
		stimer_mark_pending(t);
	return 0;
}

/* ---- the MSRs ----------------------------------------------------------- */

static bool hv_msr_is_ours(u32 msr)
{
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
	case HV_X64_MSR_HYPERCALL:
	case HV_X64_MSR_VP_INDEX:
	case HV_X64_MSR_RESET:
	case HV_X64_MSR_VP_RUNTIME:
	case HV_X64_MSR_TIME_REF_COUNT:
	case HV_X64_MSR_REFERENCE_TSC:
	case HV_X64_MSR_TSC_FREQUENCY:
	case HV_X64_MSR_APIC_FREQUENCY:
	case HV_X64_MSR_EOI:
	case HV_X64_MSR_ICR:
	case HV_X64_MSR_TPR:
	case HV_X64_MSR_VP_ASSIST_PAGE:
	case HV_X64_MSR_SCONTROL:
	case HV_X64_MSR_SVERSION:
	case HV_X64_MSR_SIEFP:
	case HV_X64_MSR_SIMP:
	case HV_X64_MSR_EOM:
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
	case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT:
	case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_CTL:
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_STATUS:
	case HV_X64_MSR_SYNDBG_CONTROL ... HV_X64_MSR_SYNDBG_PENDING_BUFFER:
	case HV_X64_MSR_SYNDBG_OPTIONS:
		return true;
	}
	return false;
}

/* The partition-wide MSRs, under hv->lock. */
static int hv_get_vm_msr(struct kvm_vcpu *vcpu, u32 msr, u64 *data, bool host)
{
	struct kvm_hv *hv = to_kvm_hv(vcpu->kvm);

	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
		*data = hv->guest_os_id;
		return 0;
	case HV_X64_MSR_HYPERCALL:
		*data = hv->hypercall;
		return 0;
	case HV_X64_MSR_TIME_REF_COUNT:
		*data = hv_time_ref(vcpu->kvm);
		return 0;
	case HV_X64_MSR_REFERENCE_TSC:
		*data = hv->tsc_ref;
		return 0;
	case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_P4:
		*data = hv->crash_param[msr - HV_X64_MSR_CRASH_P0];
		return 0;
	case HV_X64_MSR_CRASH_CTL:
		*data = hv->crash_ctl;
		return 0;
	case HV_X64_MSR_RESET:
		*data = 0;
		return 0;
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
		*data = hv->reenlightenment_control;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
		*data = hv->tsc_emulation_control;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		*data = hv->tsc_emulation_status;
		return 0;
	}
	/* The synthetic debugger's. */
	if (!hv_syndbg_enabled(to_hv(vcpu)) && !host)
		return 1;
	switch (msr) {
	case HV_X64_MSR_SYNDBG_CONTROL:
		*data = hv->syndbg.control;
		return 0;
	case HV_X64_MSR_SYNDBG_STATUS:
		*data = hv->syndbg.status;
		return 0;
	case HV_X64_MSR_SYNDBG_SEND_BUFFER:
		*data = hv->syndbg.send_page;
		return 0;
	case HV_X64_MSR_SYNDBG_RECV_BUFFER:
		*data = hv->syndbg.recv_page;
		return 0;
	case HV_X64_MSR_SYNDBG_PENDING_BUFFER:
		*data = hv->syndbg.pending_page;
		return 0;
	case HV_X64_MSR_SYNDBG_OPTIONS:
		*data = hv->syndbg.options;
		return 0;
	}
	return -ENOENT;
}

static int hv_get_vcpu_msr(struct kvm_vcpu *vcpu, u32 msr, u64 *data,
			   bool host)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);

	switch (msr) {
	case HV_X64_MSR_VP_INDEX:
		*data = hv_vp_index(vcpu);
		return 0;
	case HV_X64_MSR_VP_RUNTIME:
		*data = hv_thread_runtime() + hv->runtime_offset;
		return 0;
	case HV_X64_MSR_TSC_FREQUENCY:
		*data = (u64)vcpu->arch.tsc_khz * 1000;
		return 0;
	case HV_X64_MSR_APIC_FREQUENCY:
		*data = kvm_lapic_bus_hz();
		return 0;
	case HV_X64_MSR_VP_ASSIST_PAGE:
		*data = hv->vp_assist_page;
		return 0;
	case HV_X64_MSR_EOI:
	case HV_X64_MSR_ICR:
	case HV_X64_MSR_TPR:
		return kvm_lapic_hv_msr_read(vcpu, msr == HV_X64_MSR_EOI ?
			APIC_EOI : msr == HV_X64_MSR_ICR ? APIC_ICR :
			APIC_TASKPRI, data);
	case HV_X64_MSR_SCONTROL ... HV_X64_MSR_EOM:
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		return synic_get_msr(hv, msr, data, host);
	case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT: {
		struct kvm_hv_stimer *t =
			&hv->stimer[(msr - HV_X64_MSR_STIMER0_CONFIG) / 2];

		if (!hv->synic.active && !host)
			return 1;
		*data = (msr - HV_X64_MSR_STIMER0_CONFIG) & 1 ?
			t->count : t->config.as_uint64;
		return 0;
	}
	}
	return -ENOENT;
}

int kvm_hv_get_msr(struct kvm_vcpu *vcpu, u32 msr, u64 *data, bool host)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	struct kvm_hv *khv = to_kvm_hv(vcpu->kvm);
	int r;

	if (!hv_msr_is_ours(msr))
		return -ENOENT;
	if (!host && (!hv->enabled || !hv_msr_allowed(hv, msr)))
		return 1;
	r = hv_get_vcpu_msr(vcpu, msr, data, host);
	if (r != -ENOENT)
		return r;
	mutex_lock(&khv->lock);
	r = hv_get_vm_msr(vcpu, msr, data, host);
	mutex_unlock(&khv->lock);
	return r == -ENOENT ? 1 : r;
}

/* Write the hypercall page: VMMCALL; RET (TLFS 3.13). */
static int hv_set_hypercall(struct kvm_vcpu *vcpu, u64 data, bool host)
{
	struct kvm_hv *hv = to_kvm_hv(vcpu->kvm);

	/* Locked: immutable until reset; a VMM restoring state may write. */
	if ((hv->hypercall & HV_HYPERCALL_LOCKED) && !host)
		return 0;
	/* Without a guest OS identity the hypercall page stays off. */
	if (!hv->guest_os_id)
		return 0;
	if ((data & HV_X64_MSR_HYPERCALL_ENABLE) &&
	    kvm_pv_write_guest(vcpu->kvm,
			       data & HV_X64_MSR_HYPERCALL_PAGE_ADDRESS_MASK,
			       hypercall_page_code,
			       sizeof(hypercall_page_code)))
		return 1;
	hv->hypercall = data;
	return 0;
}

static int hv_set_syndbg_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data,
			     bool host)
{
	struct kvm_hv *hv = to_kvm_hv(vcpu->kvm);
	struct kvm_vcpu_hv *hvc = to_hv(vcpu);
	bool notify = false;

	if (!hv_syndbg_enabled(hvc) && !host)
		return 1;
	switch (msr) {
	case HV_X64_MSR_SYNDBG_CONTROL:
		hv->syndbg.control = data;
		notify = !host;
		break;
	case HV_X64_MSR_SYNDBG_STATUS:
		hv->syndbg.status = data;
		break;
	case HV_X64_MSR_SYNDBG_SEND_BUFFER:
		hv->syndbg.send_page = data;
		break;
	case HV_X64_MSR_SYNDBG_RECV_BUFFER:
		hv->syndbg.recv_page = data;
		break;
	case HV_X64_MSR_SYNDBG_PENDING_BUFFER:
		hv->syndbg.pending_page = data;
		notify = !host;
		break;
	case HV_X64_MSR_SYNDBG_OPTIONS:
		hv->syndbg.options = data;
		break;
	}
	if (notify) {
		/* The debugger transport in userspace sends or receives. */
		hvc->exit.type = KVM_EXIT_HYPERV_SYNDBG;
		hvc->exit.u.syndbg.msr = msr;
		hvc->exit.u.syndbg.control = hv->syndbg.control;
		hvc->exit.u.syndbg.send_page = hv->syndbg.send_page;
		hvc->exit.u.syndbg.recv_page = hv->syndbg.recv_page;
		hvc->exit.u.syndbg.pending_page = hv->syndbg.pending_page;
		hvc->exit.u.syndbg.status = hv->syndbg.status;
		hvc->pending_exit = HV_EXIT_USER;
	}
	return 0;
}

static int hv_set_vm_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct kvm_hv *hv = to_kvm_hv(vcpu->kvm);

	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
		hv->guest_os_id = data;
		/* No identity, no hypercalls (TLFS 3.13). */
		if (!data)
			hv->hypercall &= ~HV_X64_MSR_HYPERCALL_ENABLE;
		return 0;
	case HV_X64_MSR_HYPERCALL:
		return hv_set_hypercall(vcpu, data, host);
	case HV_X64_MSR_REFERENCE_TSC:
		hv->tsc_ref = data;
		return hv_write_tsc_page(vcpu);
	case HV_X64_MSR_TIME_REF_COUNT:
		/* Read-only; a VMM's restore is ignored (the clock is kvmclock). */
		return host ? 0 : 1;
	case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_P4:
		hv->crash_param[msr - HV_X64_MSR_CRASH_P0] = data;
		return 0;
	case HV_X64_MSR_CRASH_CTL:
		if (host) {
			hv->crash_ctl = data & HV_CRASH_CTL_CRASH_NOTIFY;
			return 0;
		}
		/* The guest reports its crash: tell userspace. */
		if (data & HV_CRASH_CTL_CRASH_NOTIFY)
			to_hv(vcpu)->pending_exit = HV_EXIT_CRASH;
		return 0;
	case HV_X64_MSR_RESET:
		if (data == 1)
			to_hv(vcpu)->pending_exit = HV_EXIT_RESET;
		return 0;
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
		hv->reenlightenment_control = data;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
		hv->tsc_emulation_control = data;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		/* The guest may only clear it. */
		if (data && !host)
			return 1;
		hv->tsc_emulation_status = data;
		return 0;
	}
	return hv_set_syndbg_msr(vcpu, msr, data, host);
}

static int hv_set_vcpu_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data,
			   bool host)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);

	switch (msr) {
	case HV_X64_MSR_VP_INDEX:
		/* Only the VMM numbers VPs. */
		if (!host || data >= KVM_MAX_VCPUS)
			return 1;
		hv->vp_index = data;
		return 0;
	case HV_X64_MSR_VP_RUNTIME:
		if (!host)
			return 1;
		hv->runtime_offset = data - hv_thread_runtime();
		return 0;
	case HV_X64_MSR_TSC_FREQUENCY:
	case HV_X64_MSR_APIC_FREQUENCY:
		/* Read-only; a VMM's restore is ignored. */
		return host ? 0 : 1;
	case HV_X64_MSR_VP_ASSIST_PAGE: {
		static const u8 zero[64];
		gpa_t gpa = data & HV_X64_MSR_VP_ASSIST_PAGE_ADDRESS_MASK;

		if ((data & HV_X64_MSR_VP_ASSIST_PAGE_ENABLE) && !vcpu->arch.apic)
			return 1;
		/*
		 * The page's first word is the APIC assist word: KVM's PV EOI
		 * flag (TLFS 10.3.5), so an enabled page turns PV EOI on.
		 */
		if ((data & HV_X64_MSR_VP_ASSIST_PAGE_ENABLE) && !host &&
		    kvm_pv_write_guest(vcpu->kvm, gpa, zero, sizeof(zero)))
			return 1;
		hv->vp_assist_page = data;
		kvm_lapic_set_pv_eoi(vcpu,
			(data & HV_X64_MSR_VP_ASSIST_PAGE_ENABLE) ?
			gpa | KVM_MSR_ENABLED : 0);
		return 0;
	}
	case HV_X64_MSR_EOI:
	case HV_X64_MSR_ICR:
	case HV_X64_MSR_TPR:
		return kvm_lapic_hv_msr_write(vcpu, msr == HV_X64_MSR_EOI ?
			APIC_EOI : msr == HV_X64_MSR_ICR ? APIC_ICR :
			APIC_TASKPRI, data);
	case HV_X64_MSR_SCONTROL ... HV_X64_MSR_EOM:
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		return synic_set_msr(vcpu, msr, data, host);
	case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT: {
		struct kvm_hv_stimer *t =
			&hv->stimer[(msr - HV_X64_MSR_STIMER0_CONFIG) / 2];

		if ((msr - HV_X64_MSR_STIMER0_CONFIG) & 1)
			return stimer_set_count(vcpu, t, data, host);
		return stimer_set_config(vcpu, t, data, host);
	}
	}
	return -ENOENT;
}

int kvm_hv_set_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	struct kvm_hv *khv = to_kvm_hv(vcpu->kvm);
	int r;

	if (!hv_msr_is_ours(msr))
		return -ENOENT;
	if (!host && (!hv->enabled || !hv_msr_allowed(hv, msr)))
		return 1;
	r = hv_set_vcpu_msr(vcpu, msr, data, host);
	if (r != -ENOENT)
		return r;
	mutex_lock(&khv->lock);
	r = hv_set_vm_msr(vcpu, msr, data, host);
	mutex_unlock(&khv->lock);
	return r;
}

/* Before an entry: an exit a guest MSR write asked for, then the timers. */
int kvm_hv_before_entry(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	struct kvm_run *run = vcpu->run;
	int what = hv->pending_exit;

	hv_tsc_page_refresh(vcpu);
	kvm_hv_process_timers(vcpu);
	if (what == HV_EXIT_NONE)
		return EXIT_RESUME;
	hv->pending_exit = HV_EXIT_NONE;
	if (what == HV_EXIT_USER) {
		run->exit_reason = KVM_EXIT_HYPERV;
		run->hyperv = hv->exit;
		return EXIT_USER;
	}
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	memset(&run->system_event, 0, sizeof(run->system_event));
	run->system_event.type = what == HV_EXIT_RESET ?
		KVM_SYSTEM_EVENT_RESET : KVM_SYSTEM_EVENT_CRASH;
	return EXIT_USER;
}

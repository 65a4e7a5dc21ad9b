// SPDX-License-Identifier: GPL-2.0-only
/*
 * The x86 core: module bring-up, capabilities, the VM and vCPU ioctls that
 * are x86 but not hardware specific, and the run loop.
 */
#define pr_fmt(fmt) "ukvm: " fmt

#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/tsc.h>

#include "x86.h"
#include "dirty.h"
#include "irq.h"
#include "kvm_para.h"
#include "hyperv.h"
#include "mmu/shadow.h"
#include "smm.h"

const struct kvm_x86_ops *kvm_x86_ops;
u64 host_efer;
u64 host_xcr0;
u64 kvm_supported_xcr0;
u8 host_maxphyaddr;

/* XCR0 features a guest may enable: the ones whose state needs no help. */
#define KVM_XCR0_CANDIDATES (XFEATURE_MASK_FP | XFEATURE_MASK_SSE |	\
			     XFEATURE_MASK_YMM | XFEATURE_MASK_OPMASK |	\
			     XFEATURE_MASK_ZMM_Hi256 | XFEATURE_MASK_Hi16_ZMM)

int kvm_arch_init(void)
{
	int r;

	kvm_x86_ops = &svm_x86_ops;
	r = kvm_x86_ops->hardware_setup();
	if (r)
		return r;

	rdmsrl(MSR_EFER, host_efer);
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	kvm_supported_xcr0 = host_xcr0 & KVM_XCR0_CANDIDATES;
	host_maxphyaddr = boot_cpu_data.x86_phys_bits;
	kvm_cpuid_init();
	pr_info("SVM enabled on %u CPUs (next-RIP save: %s)\n",
		num_online_cpus(), kvm_x86_ops->has_nrips() ? "yes" : "no");
	return 0;
}

void kvm_arch_exit(void)
{
	kvm_cpuid_exit();
	kvm_x86_ops->hardware_unsetup();
}

long kvm_arch_check_extension(struct kvm *kvm, long ext)
{
	switch (ext) {
	case KVM_CAP_HLT:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_XSAVE:
	case KVM_CAP_XCRS:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_SET_GUEST_DEBUG:
	case KVM_CAP_MMU_SHADOW_CACHE_CONTROL:
	case KVM_CAP_ENABLE_CAP_VM:
	case KVM_CAP_X86_USER_SPACE_MSR:
	case KVM_CAP_X86_MSR_FILTER:
	case KVM_CAP_KVMCLOCK_CTRL:
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
	case KVM_CAP_NOP_IO_DELAY:
	case KVM_CAP_ENABLE_CAP:
	case KVM_CAP_EXT_EMUL_CPUID:
	case KVM_CAP_SYS_ATTRIBUTES:
	case KVM_CAP_VCPU_ATTRIBUTES:
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
	case KVM_CAP_INTERNAL_ERROR_DATA:
	case KVM_CAP_MSR_PLATFORM_INFO:
		return 1;
	case KVM_CAP_CLOCKSOURCE:
		return !!(kvm_pv_features() & BIT(KVM_FEATURE_CLOCKSOURCE));
	case KVM_CAP_ADJUST_CLOCK:
		return kvm_clock_adjust_cap();
	case KVM_CAP_STEAL_TIME:
		/* Upstream answers it on x86 too: steal time is accounted. */
		return !!(kvm_pv_features() & BIT(KVM_FEATURE_STEAL_TIME));
	case KVM_CAP_MCE:
		return KVM_MAX_MCE_BANKS;
	case KVM_CAP_X86_SMM:
		return kvm_smm_supported();
	default: {
		long r = kvm_hv_check_extension(ext);

		return r >= 0 ? r : kvm_irq_check_extension(kvm, ext);
	}
	}
}

#define KVM_CPUID_TABLE_MAX	256	/* upstream's KVM_MAX_CPUID_ENTRIES */

/*
 * KVM_GET_EMULATED_CPUID: features KVM would emulate beyond the hardware.
 * ukvm emulates none (it does not intercept #UD), so the list is empty;
 * the arguments are checked as upstream does, padding included.
 */
static long kvm_dev_ioctl_get_emulated_cpuid(struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid2 hdr;
	u32 i, pad[3];

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent < 1)
		return -E2BIG;
	/* Upstream looks at no more entries than its table holds. */
	hdr.nent = min_t(u32, hdr.nent, KVM_CPUID_TABLE_MAX);
	for (i = 0; i < hdr.nent; i++) {
		if (copy_from_user(pad, argp->entries[i].padding, sizeof(pad)) ||
		    pad[0] || pad[1] || pad[2])
			return -EINVAL;
	}
	hdr.nent = 0;
	return copy_to_user(argp, &hdr, sizeof(hdr)) ? -EFAULT : 0;
}

/* /dev/kvm attributes: group 0's KVM_X86_XCOMP_GUEST_SUPP, the XCR0 bits
 * a guest may get. */
static long kvm_dev_ioctl_device_attr(struct kvm_device_attr __user *argp,
				      bool get)
{
	struct kvm_device_attr attr;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group || attr.attr != KVM_X86_XCOMP_GUEST_SUPP)
		return -ENXIO;
	if (!get)
		return 0;
	if (put_user(kvm_supported_xcr0, (u64 __user *)(unsigned long)attr.addr))
		return -EFAULT;
	return 0;
}

long kvm_arch_dev_ioctl(unsigned int ioctl, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (ioctl) {
	case KVM_GET_SUPPORTED_CPUID:
		return kvm_dev_ioctl_get_supported_cpuid(argp);
	case KVM_GET_MSR_INDEX_LIST:
		return kvm_dev_ioctl_get_msr_index_list(argp, false);
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return kvm_dev_ioctl_get_msr_index_list(argp, true);
	case KVM_GET_MSRS:
		return kvm_dev_ioctl_get_feature_msrs(argp);
	case KVM_X86_GET_MCE_CAP_SUPPORTED:
		return kvm_dev_ioctl_get_mce_cap(argp);
	case KVM_GET_EMULATED_CPUID:
		return kvm_dev_ioctl_get_emulated_cpuid(argp);
	case KVM_GET_SUPPORTED_HV_CPUID:
		return kvm_hv_get_supported_cpuid(NULL, argp);
	case KVM_GET_DEVICE_ATTR:
	case KVM_HAS_DEVICE_ATTR:
		return kvm_dev_ioctl_device_attr(argp, ioctl == KVM_GET_DEVICE_ATTR);
	default:
		return -EINVAL;
	}
}

/* KVM_ENABLE_CAP on a vCPU: PV CPUID enforcement and Hyper-V's. */
static long kvm_ioctl_enable_cap(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	switch (cap.cap) {
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
		return kvm_pv_enforce_cpuid(vcpu, cap.args[0]);
	case KVM_CAP_HYPERV_SYNIC:
	case KVM_CAP_HYPERV_SYNIC2:
	case KVM_CAP_HYPERV_ENFORCE_CPUID:
		return kvm_hv_enable_cap(vcpu, cap.cap, cap.args[0]);
	default:
		return -EINVAL;
	}
}

/* KVM_CAP_MAX_VCPU_ID: lower the id limit once, before any vCPU exists. */
static long kvm_enable_max_vcpu_id(struct kvm *kvm, u64 max)
{
	long r = -EINVAL;

	if (max > KVM_MAX_VCPU_IDS)
		return -EINVAL;
	mutex_lock(&kvm->lock);
	if (kvm->arch.max_vcpu_ids == max) {
		r = 0;
	} else if (!kvm->arch.max_vcpu_ids && !kvm->created_vcpus) {
		kvm->arch.max_vcpu_ids = max;
		r = 0;
	}
	mutex_unlock(&kvm->lock);
	return r;
}

static long kvm_vm_ioctl_enable_cap(struct kvm *kvm, void __user *argp)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	switch (cap.cap) {
	case KVM_CAP_MAX_VCPU_ID:
		return kvm_enable_max_vcpu_id(kvm, cap.args[0]);
	case KVM_CAP_X86_USER_SPACE_MSR:
		return kvm_enable_user_space_msr(kvm, cap.args[0]);
	case KVM_CAP_SPLIT_IRQCHIP:
		return kvm_irq_enable_split(kvm, cap.args[0]);
	case KVM_CAP_MSR_PLATFORM_INFO:
		kvm->arch.platform_info_hidden = !cap.args[0];
		return 0;
	default:
		return -EINVAL;
	}
}

int kvm_arch_vcpu_precreate(struct kvm *kvm, u32 id)
{
	if (kvm->arch.max_vcpu_ids && id >= kvm->arch.max_vcpu_ids)
		return -EINVAL;
	return 0;
}

/* ---- the VM ---------------------------------------------------------- */

/* The shadow-page budget upstream reports for a new VM. */
#define KVM_MIN_ALLOC_MMU_PAGES		64
#define KVM_DEFAULT_MMU_PAGES		1024

int kvm_arch_init_vm(struct kvm *kvm, unsigned long type)
{
	int r;

	if (type)
		return -EINVAL;
	kvm->arch.n_mmu_pages = KVM_DEFAULT_MMU_PAGES;
	kvm_clock_init_vm(kvm);
	r = kvm_hv_init_vm(kvm);
	if (r)
		return r;
	r = kvm_mmu_init_vm(kvm);
	if (r)
		kvm_hv_destroy_vm(kvm);
	return r;
}

void kvm_arch_destroy_vm(struct kvm *kvm)
{
	kvm_hv_destroy_vm(kvm);
	kvm_irq_destroy_vm(kvm);
	kvm_msr_filter_destroy(kvm);
	kvm_shadow_destroy_vm(kvm);
	kvm_mmu_destroy_vm(kvm);
}

int kvm_arch_prepare_memory_region(struct kvm *kvm,
				   const struct kvm_memory_slot *new)
{
	if (new->base_gfn + new->npages - 1 > kvm_mmu_max_gfn())
		return -EINVAL;
	return 0;
}

void kvm_arch_flush_memslot(struct kvm *kvm, const struct kvm_memory_slot *old)
{
	kvm_mmu_zap_range(kvm, old->as_id, old->base_gfn, old->npages);
}

long kvm_arch_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg)
{
	switch (ioctl) {
	case KVM_SET_TSS_ADDR:
		/* Only VMX needs the TSS for real mode; remember it anyway. */
		if (arg > 0xffffffffUL - 3 * PAGE_SIZE)
			return -EINVAL;
		kvm->arch.tss_addr = arg;
		return 0;
	case KVM_ENABLE_CAP:
		return kvm_vm_ioctl_enable_cap(kvm, (void __user *)arg);
	case KVM_X86_SET_MSR_FILTER:
		return kvm_vm_ioctl_set_msr_filter(kvm, (void __user *)arg);
	case KVM_SET_NR_MMU_PAGES:
		/* Upstream's floor; shadow paging (npt=0) bounds itself by it. */
		if (arg < KVM_MIN_ALLOC_MMU_PAGES)
			return -EINVAL;
		kvm->arch.n_mmu_pages = arg;
		return 0;
	case KVM_GET_NR_MMU_PAGES:
		return kvm->arch.n_mmu_pages;
	case KVM_SET_IDENTITY_MAP_ADDR: {
		long r = 0;
		u64 addr;

		/* Too late beats a bad pointer, as upstream checks them. */
		mutex_lock(&kvm->lock);
		if (kvm->created_vcpus)
			r = -EINVAL;
		else if (copy_from_user(&addr, (void __user *)arg, sizeof(addr)))
			r = -EFAULT;
		else
			kvm->arch.identity_map_addr = addr;
		mutex_unlock(&kvm->lock);
		return r;
	}
	case KVM_GET_CLOCK:
	case KVM_SET_CLOCK:
		return kvm_clock_vm_ioctl(kvm, ioctl, (void __user *)arg);
	case KVM_HYPERV_EVENTFD:
		return kvm_hv_vm_ioctl_eventfd(kvm, (void __user *)arg);
	default:
		return kvm_irq_vm_ioctl(kvm, ioctl, arg);
	}
}

/*
 * Without TSC scaling the guest TSC runs at the host's rate.  Like upstream:
 * a rate within 250 ppm is the host's; a lower one is refused (-EINVAL);
 * a higher one is accepted (upstream "catches up"; we report the rate).
 */
static long kvm_set_tsc_khz(struct kvm_vcpu *vcpu, unsigned long khz)
{
	u64 tolerance = (u64)tsc_khz * 250 / 1000000;

	if (!khz)
		khz = tsc_khz;
	if (khz + tolerance < tsc_khz)
		return -EINVAL;
	vcpu->arch.tsc_khz = khz;
	return 0;
}

/* ---- vCPUs ----------------------------------------------------------- */

int kvm_arch_vcpu_create(struct kvm_vcpu *vcpu)
{
	int r;

	if (!fpu_alloc_guest_fpstate(&vcpu->arch.guest_fpu))
		return -ENOMEM;
	r = kvm_x86_ops->vcpu_create(vcpu);
	if (r) {
		fpu_free_guest_fpstate(&vcpu->arch.guest_fpu);
		return r;
	}
	kvm_vcpu_reset_state(vcpu);
	kvm_msr_vcpu_reset(vcpu);
	kvm_smm_vcpu_reset(vcpu, false);
	kvm_mce_vcpu_create(vcpu);
	vcpu->arch.tsc_khz = tsc_khz;
	r = kvm_hv_vcpu_create(vcpu);
	if (!r) {
		r = kvm_irq_vcpu_create(vcpu);
		if (r)
			kvm_hv_vcpu_destroy(vcpu);
	}
	if (r) {
		kvm_x86_ops->vcpu_free(vcpu);
		fpu_free_guest_fpstate(&vcpu->arch.guest_fpu);
	}
	return r;
}

void kvm_arch_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	kvm_hv_vcpu_destroy(vcpu);
	kvm_irq_vcpu_destroy(vcpu);
	kvm_x86_ops->vcpu_free(vcpu);
	kvm_mmu_free_vcpu_cache(vcpu);
	kvm_shadow_vcpu_destroy(vcpu);
	fpu_free_guest_fpstate(&vcpu->arch.guest_fpu);
	kfree(vcpu->arch.cpuid_entries);
}

long kvm_arch_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			 unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	long r;

	switch (ioctl) {
	case KVM_SET_CPUID:
		return kvm_vcpu_ioctl_set_cpuid(vcpu, argp);
	case KVM_SET_CPUID2:
		return kvm_vcpu_ioctl_set_cpuid2(vcpu, argp);
	case KVM_ENABLE_CAP:
		return kvm_ioctl_enable_cap(vcpu, argp);
	case KVM_GET_CPUID2:
		return kvm_vcpu_ioctl_get_cpuid2(vcpu, argp);
	case KVM_GET_MSRS:
		return kvm_vcpu_ioctl_msrs(vcpu, argp, false);
	case KVM_SET_MSRS:
		return kvm_vcpu_ioctl_msrs(vcpu, argp, true);
	case KVM_GET_TSC_KHZ:
		return vcpu->arch.tsc_khz;
	case KVM_SET_TSC_KHZ:
		return kvm_set_tsc_khz(vcpu, arg);
	case KVM_INTERRUPT:
		return kvm_vcpu_ioctl_interrupt(vcpu, argp);
	case KVM_SET_GUEST_DEBUG:
		return kvm_vcpu_ioctl_set_guest_debug(vcpu, argp);
	case KVM_TRANSLATE:
		return kvm_vcpu_ioctl_translate(vcpu, argp);
	case KVM_KVMCLOCK_CTRL:
		return kvm_vcpu_kvmclock_ctrl(vcpu);
	case KVM_X86_SETUP_MCE:
		return kvm_vcpu_ioctl_setup_mce(vcpu, argp);
	case KVM_X86_SET_MCE:
		return kvm_vcpu_ioctl_set_mce(vcpu, argp);
	case KVM_SMI:
		return kvm_vcpu_ioctl_smi(vcpu);
	case KVM_GET_SUPPORTED_HV_CPUID:
		return kvm_hv_get_supported_cpuid(vcpu, argp);
	case KVM_HAS_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_SET_DEVICE_ATTR:
		return kvm_tsc_vcpu_attr(vcpu, ioctl, argp);
	default:
		r = kvm_irq_vcpu_ioctl(vcpu, ioctl, arg);
		if (r != -ENOTTY)
			return r;
		return kvm_arch_vcpu_state_ioctl(vcpu, ioctl, argp);
	}
}

/* ---- exceptions and exits -------------------------------------------- */

static bool exception_is_contributory(u8 vector)
{
	return vector == DE_VECTOR || vector == TS_VECTOR ||
	       vector == NP_VECTOR || vector == SS_VECTOR ||
	       vector == GP_VECTOR;
}

/* Queue an exception; a second one merges per SDM vol 3, table 6-5. */
static void kvm_queue_exception_common(struct kvm_vcpu *vcpu, u8 vector,
				       bool has_error, u32 error_code)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception;

	if (ex->pending) {
		u8 prev = ex->vector;

		if (prev == DF_VECTOR) {
			/* Triple fault: handled as a shutdown before entry. */
			ex->vector = DF_VECTOR;
			ex->error_code = ~0U;
			return;
		}
		if ((exception_is_contributory(prev) &&
		     exception_is_contributory(vector)) ||
		    (prev == PF_VECTOR && (vector == PF_VECTOR ||
					   exception_is_contributory(vector)))) {
			vector = DF_VECTOR;
			has_error = true;
			error_code = 0;
		}
	}
	ex->pending = true;
	ex->vector = vector;
	ex->has_error_code = has_error;
	ex->error_code = error_code;
}

void kvm_queue_exception(struct kvm_vcpu *vcpu, u8 vector)
{
	kvm_queue_exception_common(vcpu, vector, false, 0);
}

void kvm_queue_exception_e(struct kvm_vcpu *vcpu, u8 vector, u32 error_code)
{
	kvm_queue_exception_common(vcpu, vector, true, error_code);
}

int kvm_is_long_mode(struct kvm_vcpu *vcpu)
{
	return !!(kvm_x86_ops->get_efer(vcpu) & EFER_LMA);
}

int kvm_skip_instruction(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	if (!kvm_is_long_mode(vcpu))
		next_rip = (u32)next_rip;
	kvm_rip_write(vcpu, next_rip);
	kvm_x86_ops->set_interrupt_shadow(vcpu, 0);
	return kvm_complete_singlestep(vcpu);
}

int kvm_emulate_halt(struct kvm_vcpu *vcpu)
{
	/* With the in-kernel irqchip the vCPU sleeps in the run loop. */
	if (kvm_irq_halt(vcpu))
		return EXIT_RESUME;
	/* No in-kernel irqchip: userspace decides when the vCPU wakes. */
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return EXIT_USER;
}

int kvm_emulate_shutdown(struct kvm_vcpu *vcpu)
{
	/* Like INIT: the hardware state is gone (see the backend). */
	kvm_vcpu_reset_state(vcpu);
	kvm_smm_vcpu_reset(vcpu, true);
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return EXIT_USER;
}

int kvm_emulate_xsetbv(struct kvm_vcpu *vcpu)
{
	u32 index = kvm_reg_read(vcpu, VCPU_REGS_RCX);
	u64 xcr0 = (u32)kvm_reg_read(vcpu, VCPU_REGS_RAX) |
		   ((u64)(u32)kvm_reg_read(vcpu, VCPU_REGS_RDX) << 32);
	bool bad;

	/* SDM vol 2, XSETBV: #GP for CPL > 0, XCR != 0, or a bad XCR0. */
	bad = kvm_x86_ops->get_cpl(vcpu) != 0 || index != 0 ||
	      !(xcr0 & XFEATURE_MASK_FP) || (xcr0 & ~kvm_supported_xcr0) ||
	      ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE)) ||
	      (!!(xcr0 & XFEATURE_MASK_AVX512) &&
	       (xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512) ||
	      ((xcr0 & XFEATURE_MASK_AVX512) && !(xcr0 & XFEATURE_MASK_YMM));
	if (bad) {
		kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
		return 1;
	}
	vcpu->arch.xcr0 = xcr0;
	return 0;
}

int kvm_exit_unexpected(struct kvm_vcpu *vcpu, u64 hw_reason)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	run->internal.ndata = 2;
	run->internal.data[0] = hw_reason;
	run->internal.data[1] = vcpu->cpu;
	return EXIT_USER;
}

int kvm_exit_fail_entry(struct kvm_vcpu *vcpu, u64 hw_reason)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = hw_reason;
	run->fail_entry.cpu = vcpu->cpu;
	return EXIT_USER;
}

/* ---- the run loop ---------------------------------------------------- */

/* Exceptions before interrupts; one event per entry (SDM vol 3, 6.9). */
static int kvm_inject_pending(struct kvm_vcpu *vcpu)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception;
	int r;

	/* An interrupted delivery being re-injected goes first. */
	if (kvm_x86_ops->event_pending(vcpu))
		return kvm_irq_inject(vcpu, true);
	if (ex->pending) {
		ex->pending = false;
		if (ex->vector == DF_VECTOR && ex->error_code == ~0U) {
			kvm_x86_ops->vcpu_reset(vcpu);
			return kvm_emulate_shutdown(vcpu);
		}
		kvm_x86_ops->inject_exception(vcpu, ex);
		return kvm_irq_inject(vcpu, true);
	}
	if (vcpu->arch.interrupt.injected) {
		vcpu->arch.interrupt.injected = false;
		kvm_x86_ops->inject_irq(vcpu, vcpu->arch.interrupt.nr);
		return EXIT_RESUME;
	}
	/* An SMI before NMIs and interrupts (smm.c). */
	r = kvm_smm_inject(vcpu);
	if (r != EXIT_RESUME)
		return r;
	/* NMIs, then the in-kernel PIC and local APIC (irq.c). */
	return kvm_irq_inject(vcpu, false);
}

static void kvm_process_requests(struct kvm_vcpu *vcpu)
{
	if (kvm_check_request(KVM_REQ_TLB_FLUSH, vcpu)) {
		vcpu->stat.tlb_flush++;
		/* Without nested paging the shadow tree is the rest of the TLB. */
		if (kvm_shadow_paging)
			kvm_shadow_flush(vcpu);
		kvm_x86_ops->flush_guest_tlb(vcpu);
	}
	if (kvm_check_request(KVM_REQ_TLB_FLUSH_CR3, vcpu)) {
		if (kvm_shadow_paging)
			kvm_shadow_flush_cr3(vcpu);
		kvm_x86_ops->flush_guest_tlb(vcpu);
	}
	if (kvm_check_request(KVM_REQ_MSR_FILTER_CHANGED, vcpu))
		kvm_x86_ops->msr_filter_changed(vcpu);
	kvm_smm_check_request(vcpu);
	/* Events are evaluated on every entry anyway (kvm_irq_inject). */
	kvm_check_request(KVM_REQ_EVENT, vcpu);
	/* kvmclock and steal time records (kvm_para.c). */
	kvm_pv_before_entry(vcpu);
	/* The guest may have cleared the debugger's TF (POPF, IRET). */
	if ((vcpu->arch.guest_debug & KVM_GUESTDBG_SINGLESTEP) &&
	    !(kvm_x86_ops->get_rflags(vcpu) & X86_EFLAGS_TF))
		kvm_set_rflags(vcpu, kvm_x86_ops->get_rflags(vcpu));
}

/* Work that must make us leave before (or instead of) entering the guest. */
static bool kvm_vcpu_exit_pending(struct kvm_vcpu *vcpu)
{
	return READ_ONCE(vcpu->requests) || need_resched() ||
	       signal_pending(current);
}

/* The host's TSC_AUX never changes after boot: read it once per CPU. */
static DEFINE_PER_CPU(u64, host_tsc_aux);
static DEFINE_PER_CPU(bool, host_tsc_aux_valid);

static u64 kvm_host_tsc_aux(void)
{
	if (!__this_cpu_read(host_tsc_aux_valid)) {
		u64 aux;

		rdmsrl(MSR_TSC_AUX, aux);
		__this_cpu_write(host_tsc_aux, aux);
		__this_cpu_write(host_tsc_aux_valid, true);
	}
	return __this_cpu_read(host_tsc_aux);
}

/*
 * Host state that no VMRUN switches: XCR0 (the guest's XSAVE features,
 * also what its XGETBV reads) and TSC_AUX (what the guest's RDTSCP/RDPID
 * read).  Interrupts are off.
 */
static void kvm_run_guest(struct kvm_vcpu *vcpu)
{
	bool swap_xcr0 = host_xcr0 && vcpu->arch.xcr0 != host_xcr0;
	bool swap_aux = false;
	u64 host_aux = 0;

	if (swap_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->arch.xcr0);
	if (boot_cpu_has(X86_FEATURE_RDTSCP)) {
		host_aux = kvm_host_tsc_aux();
		swap_aux = vcpu->arch.tsc_aux != host_aux;
		if (swap_aux)
			wrmsrl(MSR_TSC_AUX, vcpu->arch.tsc_aux);
	}

	kvm_x86_ops->run(vcpu);

	if (swap_aux)
		wrmsrl(MSR_TSC_AUX, host_aux);
	if (swap_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, host_xcr0);
}

static int vcpu_enter_guest(struct kvm_vcpu *vcpu)
{
	int r;

	/* No entry while the dirty ring is soft-full: userspace must reap. */
	if (vcpu->kvm->dirty_ring_size && kvm_dirty_ring_soft_full(vcpu)) {
		vcpu->run->exit_reason = KVM_EXIT_DIRTY_RING_FULL;
		return EXIT_USER;
	}
	kvm_lapic_cr8_to_guest(vcpu);
	kvm_process_requests(vcpu);
	/* Hyper-V: an exit a guest MSR write asked for; expired timers. */
	r = kvm_hv_before_entry(vcpu);
	if (r != EXIT_RESUME)
		return r;
	r = kvm_inject_pending(vcpu);
	if (r != EXIT_RESUME)
		return r;
	kvm_request_irq_window(vcpu);
	/* npt=0: a shadow root for the guest's paging mode (mmu/shadow.c). */
	if (kvm_shadow_paging) {
		r = kvm_shadow_load(vcpu);
		if (r)
			return r;
	}

	preempt_disable();
	local_irq_disable();
	vcpu->cpu = smp_processor_id();
	WRITE_ONCE(vcpu->mode, IN_GUEST_MODE);
	/* Pairs with kvm_make_all_cpus_request(): mode before requests. */
	smp_mb();
	if (kvm_vcpu_exit_pending(vcpu)) {
		WRITE_ONCE(vcpu->mode, OUTSIDE_GUEST_MODE);
		local_irq_enable();
		preempt_enable();
		return EXIT_RESUME;
	}
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();

	kvm_run_guest(vcpu);

	WRITE_ONCE(vcpu->mode, OUTSIDE_GUEST_MODE);
	local_irq_enable();
	preempt_enable();
	kvm_lapic_after_exit(vcpu);
	return kvm_x86_ops->handle_exit(vcpu);
}

static int vcpu_run(struct kvm_vcpu *vcpu)
{
	int r;

	for (;;) {
		/* Halted, or an AP waiting for SIPI: sleep in the kernel. */
		if (kvm_vcpu_blocked(vcpu))
			r = kvm_irq_block(vcpu);
		else
			r = vcpu_enter_guest(vcpu);
		if (r == EXIT_RESUME)
			r = kvm_check_irq_window(vcpu);
		if (r <= 0)
			return r;
		if (signal_pending(current)) {
			vcpu->stat.signal_exits++;
			vcpu->run->exit_reason = KVM_EXIT_INTR;
			return -EINTR;
		}
		cond_resched();
	}
}

static void kvm_post_run_save(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->if_flag = !!(kvm_x86_ops->get_rflags(vcpu) & X86_EFLAGS_IF);
	if (vcpu->arch.smm.in_smm)
		run->flags |= KVM_RUN_X86_SMM;
	run->cr8 = vcpu->arch.cr8;
	run->apic_base = vcpu->arch.apic_base;
	run->ready_for_interrupt_injection = kvm_ready_for_interrupt(vcpu);
}

int kvm_arch_vcpu_run(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int r;

	fpu_swap_kvm_fpstate(&vcpu->arch.guest_fpu, true);
	run->flags = 0;

	if (vcpu->arch.complete_userspace_io) {
		int (*cui)(struct kvm_vcpu *vcpu) =
			vcpu->arch.complete_userspace_io;

		vcpu->arch.complete_userspace_io = NULL;
		r = cui(vcpu);
		if (r <= 0)
			goto out;
	}
	if (READ_ONCE(run->immediate_exit)) {
		r = -EINTR;
		goto out;
	}
	r = vcpu_run(vcpu);
out:
	fpu_swap_kvm_fpstate(&vcpu->arch.guest_fpu, false);
	kvm_post_run_save(vcpu);
	return r;
}

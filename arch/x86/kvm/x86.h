/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The x86 core: the run loop, register state, CPUID, MSRs and PIO/MMIO
 * exits, and struct kvm_x86_ops, the only door to the hardware backend.
 */
#ifndef UKVM_X86_H
#define UKVM_X86_H

#include "ukvm.h"

/* What an exit handler tells the run loop. */
enum {
	EXIT_USER = 0,		/* kvm_run is filled in: return to userspace */
	EXIT_RESUME = 1,	/* enter the guest again */
};

enum kvm_seg_reg {
	VCPU_SREG_ES, VCPU_SREG_CS, VCPU_SREG_SS, VCPU_SREG_DS,
	VCPU_SREG_FS, VCPU_SREG_GS, VCPU_SREG_TR, VCPU_SREG_LDTR,
};

/*
 * The hardware backend.  Everything the core needs from VMCB-held state
 * goes through here; the core never sees the control block.
 */
/* What ops->get_injection() found in the injection slot. */
enum {
	KVM_INJ_NONE,
	KVM_INJ_EXCEPTION,
	KVM_INJ_IRQ,
	KVM_INJ_NMI,
};

struct kvm_x86_ops {
	const char *name;
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	bool (*has_nrips)(void);

	int (*vcpu_create)(struct kvm_vcpu *vcpu);
	void (*vcpu_free)(struct kvm_vcpu *vcpu);
	void (*vcpu_reset)(struct kvm_vcpu *vcpu);

	/* Called with interrupts disabled, right before and after the guest. */
	void (*run)(struct kvm_vcpu *vcpu);
	int (*handle_exit)(struct kvm_vcpu *vcpu);

	void (*get_segment)(struct kvm_vcpu *vcpu, struct kvm_segment *var,
			    int seg);
	void (*set_segment)(struct kvm_vcpu *vcpu,
			    const struct kvm_segment *var, int seg);
	int (*get_cpl)(struct kvm_vcpu *vcpu);
	void (*get_idt)(struct kvm_vcpu *vcpu, struct kvm_dtable *dt);
	void (*set_idt)(struct kvm_vcpu *vcpu, const struct kvm_dtable *dt);
	void (*get_gdt)(struct kvm_vcpu *vcpu, struct kvm_dtable *dt);
	void (*set_gdt)(struct kvm_vcpu *vcpu, const struct kvm_dtable *dt);
	u64 (*get_cr)(struct kvm_vcpu *vcpu, int cr);
	void (*set_cr)(struct kvm_vcpu *vcpu, int cr, u64 val);
	u64 (*get_efer)(struct kvm_vcpu *vcpu);
	void (*set_efer)(struct kvm_vcpu *vcpu, u64 efer);
	u64 (*get_rflags)(struct kvm_vcpu *vcpu);
	void (*set_rflags)(struct kvm_vcpu *vcpu, u64 rflags);
	u64 (*get_dr)(struct kvm_vcpu *vcpu, int dr);	/* DR6, DR7 */
	void (*set_dr)(struct kvm_vcpu *vcpu, int dr, u64 val);
	u32 (*get_interrupt_shadow)(struct kvm_vcpu *vcpu);
	void (*set_interrupt_shadow)(struct kvm_vcpu *vcpu, u32 shadow);

	/* MSRs whose guest value the hardware holds (syscall, PAT...). */
	int (*get_msr)(struct kvm_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct kvm_vcpu *vcpu, u32 index, u64 data);

	void (*inject_exception)(struct kvm_vcpu *vcpu,
				 const struct kvm_queued_exception *ex);
	void (*inject_irq)(struct kvm_vcpu *vcpu, u8 vector);
	/* IF set, no interrupt shadow, no event being delivered. */
	bool (*interrupt_allowed)(struct kvm_vcpu *vcpu);
	/* Exit as soon as interrupt_allowed() would become true. */
	void (*enable_irq_window)(struct kvm_vcpu *vcpu);
	/* An NMI for the next entry (EVENTINJ type NMI). */
	void (*inject_nmi)(struct kvm_vcpu *vcpu);
	/*
	 * Exit as soon as an NMI could be injected: NMIs are not masked, but
	 * an interrupt shadow, an IRET not yet past, or an event being
	 * delivered holds it back.  IF plays no part.
	 */
	void (*enable_nmi_window)(struct kvm_vcpu *vcpu);
	/* Exit on the guest's next IRET (the end of its NMI handler). */
	void (*set_iret_intercept)(struct kvm_vcpu *vcpu, bool on);
	/* Exit on guest CR8 writes (an interrupt waits for a lower TPR). */
	void (*set_cr8_intercept)(struct kvm_vcpu *vcpu, bool on);
	/* The MSR filter changed: recompute which MSRs exit. */
	void (*msr_filter_changed)(struct kvm_vcpu *vcpu);
	/* Re-evaluate which exceptions exit (vcpu->arch.guest_debug). */
	void (*update_exception_intercepts)(struct kvm_vcpu *vcpu);
	/* An event (exception, interrupt) is already set for the next entry. */
	bool (*event_pending)(struct kvm_vcpu *vcpu);
	/*
	 * That event, for KVM_GET_VCPU_EVENTS: its kind (KVM_INJ_*), the
	 * vector and error code in @ex; and emptying the slot, for
	 * KVM_SET_VCPU_EVENTS, which replaces it.
	 */
	int (*get_injection)(struct kvm_vcpu *vcpu,
			     struct kvm_queued_exception *ex);
	void (*cancel_injection)(struct kvm_vcpu *vcpu);
	/* Guest state is gone (shutdown): reinitialise the hardware view. */
	void (*flush_guest_tlb)(struct kvm_vcpu *vcpu);
};

extern const struct kvm_x86_ops svm_x86_ops;
extern const struct kvm_x86_ops *kvm_x86_ops;

static inline unsigned long kvm_reg_read(struct kvm_vcpu *vcpu, int reg)
{
	return vcpu->arch.regs[reg];
}

static inline void kvm_reg_write(struct kvm_vcpu *vcpu, int reg,
				 unsigned long val)
{
	vcpu->arch.regs[reg] = val;
}

static inline unsigned long kvm_rip_read(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.regs[VCPU_REGS_RIP];
}

static inline void kvm_rip_write(struct kvm_vcpu *vcpu, unsigned long val)
{
	vcpu->arch.regs[VCPU_REGS_RIP] = val;
}

/* DR7 bit 10 reads as one; DR6 resets to 0xffff0ff0 (SDM vol 3, 17.2). */
#define DR7_FIXED_1	0x00000400ULL

/* Host facts discovered once at load (x86.c). */
extern u64 host_efer;
extern u64 host_xcr0;
extern u64 kvm_supported_xcr0;
extern u8 host_maxphyaddr;

/* Exit handling helpers the backend's exit table calls (x86.c). */
void kvm_queue_exception(struct kvm_vcpu *vcpu, u8 vector);
void kvm_queue_exception_e(struct kvm_vcpu *vcpu, u8 vector, u32 error_code);
int kvm_skip_instruction(struct kvm_vcpu *vcpu, unsigned long next_rip);
int kvm_emulate_halt(struct kvm_vcpu *vcpu);
int kvm_emulate_shutdown(struct kvm_vcpu *vcpu);
int kvm_emulate_cpuid(struct kvm_vcpu *vcpu);
bool kvm_cpuid_faulting(struct kvm_vcpu *vcpu);
bool kvm_cpuid_fault(struct kvm_vcpu *vcpu);
int kvm_emulate_rdmsr(struct kvm_vcpu *vcpu, unsigned long next_rip);
int kvm_emulate_wrmsr(struct kvm_vcpu *vcpu, unsigned long next_rip);
int kvm_emulate_xsetbv(struct kvm_vcpu *vcpu);
int kvm_exit_unexpected(struct kvm_vcpu *vcpu, u64 hw_reason);
int kvm_exit_fail_entry(struct kvm_vcpu *vcpu, u64 hw_reason);
int kvm_emulation_failure(struct kvm_vcpu *vcpu);
int kvm_is_long_mode(struct kvm_vcpu *vcpu);

/* PIO (pio.c). */
struct kvm_pio_exit {
	u16 port;
	u8 size;		/* 1, 2 or 4 */
	bool in;
	bool string;
	bool rep;
	u8 addr_size;		/* 2, 4 or 8 */
	unsigned long next_rip;
};
int kvm_handle_pio(struct kvm_vcpu *vcpu, const struct kvm_pio_exit *io);

void kvm_pio_exit_emulated(struct kvm_vcpu *vcpu, u16 port, u8 size,
			   bool in, u32 count);

/* #PF-style error code of a nested page fault (APM vol 2, 15.25.6). */
#define PFERR_PRESENT	BIT_ULL(0)
#define PFERR_WRITE	BIT_ULL(1)
#define PFERR_USER	BIT_ULL(2)
#define PFERR_RSVD	BIT_ULL(3)
#define PFERR_FETCH	BIT_ULL(4)

/* MMIO and the instruction emulator's bridge (emul_glue.c). */
int kvm_handle_mmio(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code);
int kvm_emulate_string_pio(struct kvm_vcpu *vcpu);
int kvm_emulate_instruction(struct kvm_vcpu *vcpu);
unsigned int kvm_insn_len(struct kvm_vcpu *vcpu);

/* Events and guest debugging (events.c). */
long kvm_vcpu_ioctl_interrupt(struct kvm_vcpu *vcpu, void __user *argp);
long kvm_vcpu_ioctl_set_guest_debug(struct kvm_vcpu *vcpu, void __user *argp);
bool kvm_ready_for_interrupt(struct kvm_vcpu *vcpu);
void kvm_request_irq_window(struct kvm_vcpu *vcpu);
int kvm_check_irq_window(struct kvm_vcpu *vcpu);
u64 kvm_get_rflags(struct kvm_vcpu *vcpu);
void kvm_set_rflags(struct kvm_vcpu *vcpu, u64 rflags);
int kvm_handle_db(struct kvm_vcpu *vcpu, u64 dr6);
int kvm_handle_bp(struct kvm_vcpu *vcpu);
int kvm_complete_singlestep(struct kvm_vcpu *vcpu);

/* KVM_TRANSLATE (mmu/translate.c). */
long kvm_vcpu_ioctl_translate(struct kvm_vcpu *vcpu, void __user *argp);

/* CPUID (cpuid.c). */
long kvm_dev_ioctl_get_supported_cpuid(struct kvm_cpuid2 __user *argp);
long kvm_vcpu_ioctl_set_cpuid2(struct kvm_vcpu *vcpu,
			       struct kvm_cpuid2 __user *argp);
long kvm_vcpu_ioctl_set_cpuid(struct kvm_vcpu *vcpu,
			      struct kvm_cpuid __user *argp);
long kvm_vcpu_ioctl_get_cpuid2(struct kvm_vcpu *vcpu,
			       struct kvm_cpuid2 __user *argp);
struct kvm_cpuid_entry2 *kvm_find_cpuid_entry(struct kvm_vcpu *vcpu,
					      u32 function, u32 index);
void kvm_cpuid_init(void);
void kvm_cpuid_exit(void);

/* kvm_get_msr()/kvm_set_msr() results besides 0 (msr.c, msr_filter.c). */
#define KVM_MSR_RET_INVALID	1	/* known MSR, refused access: #GP */
#define KVM_MSR_RET_UNKNOWN	2	/* no such MSR */
#define KVM_MSR_RET_FILTERED	3	/* denied by KVM_X86_SET_MSR_FILTER */

/* The MSR filter and userspace MSR exits (msr_filter.c). */
bool kvm_msr_allowed(struct kvm_vcpu *vcpu, u32 index, u32 type);
long kvm_vm_ioctl_set_msr_filter(struct kvm *kvm, void __user *argp);
void kvm_msr_filter_destroy(struct kvm *kvm);
long kvm_enable_user_space_msr(struct kvm *kvm, u64 mask);

/* MSRs (msr.c). */
long kvm_dev_ioctl_get_msr_index_list(struct kvm_msr_list __user *argp,
				      bool features);
long kvm_dev_ioctl_get_feature_msrs(struct kvm_msrs __user *argp);
long kvm_vcpu_ioctl_msrs(struct kvm_vcpu *vcpu, struct kvm_msrs __user *argp,
			 bool set);
int kvm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host);
void kvm_msr_vcpu_reset(struct kvm_vcpu *vcpu);

/* Machine checks (mce.c). */
void kvm_mce_vcpu_create(struct kvm_vcpu *vcpu);
int kvm_mce_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvm_mce_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host);
long kvm_dev_ioctl_get_mce_cap(u64 __user *argp);
long kvm_vcpu_ioctl_setup_mce(struct kvm_vcpu *vcpu, u64 __user *argp);
long kvm_vcpu_ioctl_set_mce(struct kvm_vcpu *vcpu,
			    struct kvm_x86_mce __user *argp);

/* Register ioctls (regs.c). */
long kvm_arch_vcpu_state_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			       void __user *argp);
void kvm_vcpu_reset_state(struct kvm_vcpu *vcpu);
int kvm_set_efer(struct kvm_vcpu *vcpu, u64 efer, bool host);
int kvm_set_cr(struct kvm_vcpu *vcpu, int cr, u64 val);

/* The NPT MMU (mmu/npt.c). */
int kvm_mmu_init_vm(struct kvm *kvm);
void kvm_mmu_destroy_vm(struct kvm *kvm);
int kvm_mmu_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code);
void kvm_mmu_zap_range(struct kvm *kvm, int as_id, gfn_t start,
		       unsigned long npages);
u64 kvm_mmu_root_pa(struct kvm_vcpu *vcpu);
void kvm_mmu_free_vcpu_cache(struct kvm_vcpu *vcpu);
u64 kvm_mmu_max_gfn(void);

#endif /* UKVM_X86_H */

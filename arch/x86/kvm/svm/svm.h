/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The SVM backend's private state.  Only svm/ includes this.
 */
#ifndef UKVM_SVM_H
#define UKVM_SVM_H

#include "x86.h"
#include "vmcb.h"

/* The VMCB fields the clean bits cover, as of the last #VMEXIT. */
struct svm_clean_snap {
	u32 intercepts[NR_INTERCEPT_WORDS];
	u16 pause_filter_thresh, pause_filter_count;
	u64 tsc_offset, iopm_base_pa, msrpm_base_pa;
	u32 asid;
	u64 int_ctl, nested_ctl, nested_cr3, g_pat;
	u64 cr0, cr3, cr4, efer, dr6, dr7;
	struct vmcb_seg gdtr, idtr, cs, ds, es, ss;
	u8 cpl;
	u64 cr2, dbgctl, br_from, br_to, last_excp_from, last_excp_to;
};

struct vcpu_svm {
	struct kvm_vcpu *vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	void *msrpm;
	u64 msrpm_pa;
	int asid_cpu;			/* CPU our ASID belongs to, or -1 */
	u64 asid_generation;
	bool guest_debugregs;		/* DR0-3 are the guest's while it runs */
	/* VMCB clean bits (svm_clean.c): the state the CPU cached. */
	struct svm_clean_snap snap;
	bool snap_valid;
	int snap_cpu;
	/*
	 * NMI window without vNMI (svm_enable_nmi_window): a single step of
	 * our own (its TF and the DR6 it clobbers).
	 */
	bool nmi_singlestep;
	u64 nmi_step_dr6;
};

static inline struct vcpu_svm *to_svm(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.backend;
}

/* Exit handling (svm_exit.c). */
int svm_handle_exit(struct kvm_vcpu *vcpu);
void svm_inject_irq(struct kvm_vcpu *vcpu, u8 vector);
bool svm_event_pending(struct kvm_vcpu *vcpu);
bool svm_interrupt_allowed(struct kvm_vcpu *vcpu);
void svm_enable_irq_window(struct kvm_vcpu *vcpu);
void svm_inject_nmi(struct kvm_vcpu *vcpu);
void svm_enable_nmi_window(struct kvm_vcpu *vcpu);
int svm_get_injection(struct kvm_vcpu *vcpu, struct kvm_queued_exception *ex);
void svm_cancel_injection(struct kvm_vcpu *vcpu);
void svm_set_iret_intercept(struct kvm_vcpu *vcpu, bool on);
void svm_set_cr8_intercept(struct kvm_vcpu *vcpu, bool on);
void svm_update_exception_intercepts(struct kvm_vcpu *vcpu);
void svm_inject_exception(struct kvm_vcpu *vcpu,
			  const struct kvm_queued_exception *ex);

/* State shared with svm_exit.c (svm.c). */
extern bool svm_nrips;
void svm_set_intercept_dr(struct vcpu_svm *svm, bool on);
void svm_init_vmcb(struct vcpu_svm *svm);

/* VMCB clean bits (svm_clean.c). */
void svm_clean_init(void);
u32 svm_clean_before_run(struct vcpu_svm *svm, int cpu);
void svm_clean_after_exit(struct vcpu_svm *svm, int cpu);

/* Shadow paging, npt=0 (svm_shadow.c). */
#define SVM_EXIT_INVLPG		0x079	/* APM vol 2, appendix C */

struct svm_shadow_regs {
	u64 cr0, cr3, cr4, efer, cr2;	/* the guest's view, during VMRUN */
};

void svm_shadow_init_vmcb(struct vcpu_svm *svm);
void svm_shadow_enter(struct vcpu_svm *svm, struct svm_shadow_regs *g);
void svm_shadow_exit(struct vcpu_svm *svm, const struct svm_shadow_regs *g);
int svm_handle_shadow_pf(struct kvm_vcpu *vcpu);
int svm_handle_shadow_insn(struct kvm_vcpu *vcpu);

void __svm_vcpu_run(unsigned long vmcb_pa, unsigned long *regs,
		    unsigned long host_save_pa);

#endif /* UKVM_SVM_H */

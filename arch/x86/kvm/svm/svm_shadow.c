// SPDX-License-Identifier: GPL-2.0-only
/*
 * SVM without nested paging (npt=0): the guest runs on the shadow page
 * tables of mmu/shadow.c.
 *
 * Outside VMRUN the VMCB holds the guest's own CR0, CR3, CR4 and EFER, so
 * every accessor, the emulator and the ioctls see the guest's view.  Around
 * VMRUN the hardware gets its own values instead: CR3 is the shadow root,
 * CR0.PG and CR0.WP are always set (a guest with paging off runs in "paged
 * real mode" or paged protected mode on an identity map, APM vol 2, 15.19),
 * CR4.PAE is always set (the shadow is PAE or long-mode format), CR4.PGE
 * and CR4.PCIDE are clear (shadow entries are never global, CR3 carries no
 * PCID), EFER.LME is clear unless long mode is active and EFER.NXE is
 * always set.  Every guest
 * write of CR0/CR3/CR4 is intercepted, so the hardware never changes them
 * behind our back; reads are intercepted so the guest sees its values.
 */
#include <asm/trapnr.h>

#include "svm.h"
#include "mmu/shadow.h"

/* Intercept vector 3, bit 25: INVLPG (APM vol 2, 15.9, table 15-7). */
#define INTERCEPT_INVLPG		BIT(25)

/* CR intercept word: bit n reads CRn, bit 16 + n writes CRn (15.9). */
#define SHADOW_CR_INTERCEPTS	(BIT(0) | BIT(3) | BIT(4) | \
				 BIT(16 + 0) | BIT(16 + 3) | BIT(16 + 4))

void svm_shadow_init_vmcb(struct vcpu_svm *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	c->nested_ctl &= ~SVM_NESTED_CTL_NP_ENABLE;
	c->intercepts[INTERCEPT_WORD_CR] |= SHADOW_CR_INTERCEPTS;
	c->intercepts[INTERCEPT_WORD_EXC] |= BIT(PF_VECTOR);
	c->intercepts[INTERCEPT_WORD_3] |= INTERCEPT_INVLPG;
}

/* Interrupts are off: swap in the hardware's paging state. */
void svm_shadow_enter(struct vcpu_svm *svm, struct svm_shadow_regs *g)
{
	struct vmcb_save_area *save = &svm->vmcb->save;

	g->cr0 = save->cr0;
	g->cr3 = save->cr3;
	g->cr4 = save->cr4;
	g->efer = save->efer;
	g->cr2 = save->cr2;
	save->cr0 = g->cr0 | X86_CR0_PG | X86_CR0_WP;
	save->cr3 = kvm_shadow_root_pa(svm->vcpu);
	save->cr4 = (g->cr4 | X86_CR4_PAE) & ~(X86_CR4_PGE | X86_CR4_PCIDE);
	if (!(g->efer & EFER_LMA))
		save->efer &= ~EFER_LME;
	/*
	 * NX is always legal in the shadow: mmu/shadow.c sets it only for the
	 * guest's NX pages (with the guest's EFER.NXE) and for pages it made
	 * supervisor-writable under CR0.WP=0 with SMEP.
	 */
	save->efer |= EFER_NX;
}

/* And back to the guest's view once it exited. */
void svm_shadow_exit(struct vcpu_svm *svm, const struct svm_shadow_regs *g)
{
	struct vmcb *vmcb = svm->vmcb;

	vmcb->save.cr0 = g->cr0;
	vmcb->save.cr3 = g->cr3;
	vmcb->save.cr4 = g->cr4;
	vmcb->save.efer = g->efer;
	/* An intercepted #PF is ours: the guest's CR2 must not move. */
	if (vmcb->control.exit_code == SVM_EXIT_EXCP_BASE + PF_VECTOR)
		vmcb->save.cr2 = g->cr2;
}

/*
 * The guest's own fault hit while the hardware was delivering an event
 * (EXITINTINFO, now queued for re-injection): deliver the #PF first, with
 * an exception being delivered merged as for any nested exception (#DF),
 * an interrupt delivered after it.
 */
static void svm_shadow_fault_in_delivery(struct kvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	struct kvm_queued_exception pf = vcpu->arch.exception;
	u64 info = c->event_inj;
	u8 vector = info & SVM_EVTINJ_VEC_MASK;

	c->event_inj = 0;
	switch (info & SVM_EVTINJ_TYPE_MASK) {
	case SVM_EVTINJ_TYPE_EXEPT:
		vcpu->arch.exception.pending = false;
		if (info & SVM_EVTINJ_VALID_ERR)
			kvm_queue_exception_e(vcpu, vector, info >> 32);
		else
			kvm_queue_exception(vcpu, vector);
		kvm_queue_exception_e(vcpu, pf.vector, pf.error_code);
		break;
	case SVM_EVTINJ_TYPE_INTR:
		vcpu->arch.interrupt.injected = true;
		vcpu->arch.interrupt.nr = vector;
		break;
	case SVM_EVTINJ_TYPE_NMI:
		atomic_inc(&vcpu->arch.nmi_pending);
		vcpu->arch.nmi_masked = false;
		break;
	}
}

int svm_handle_shadow_pf(struct kvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	bool delivering = c->event_inj & SVM_EVTINJ_VALID;
	bool pending = vcpu->arch.exception.pending;
	int r;

	r = kvm_shadow_page_fault(vcpu, c->exit_info_2, c->exit_info_1,
				  !delivering);
	if (delivering && !pending && vcpu->arch.exception.pending)
		svm_shadow_fault_in_delivery(vcpu);
	return r;
}

/*
 * MOV from/to CR0, CR3, CR4, LMSW, CLTS, SMSW and INVLPG: without decode
 * assists the instruction is emulated; kvm_set_cr() asks for the TLB
 * flush that drops the shadow translations, as does INVLPG.
 */
int svm_handle_shadow_insn(struct kvm_vcpu *vcpu)
{
	return kvm_emulate_instruction(vcpu);
}

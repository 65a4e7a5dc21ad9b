// SPDX-License-Identifier: GPL-2.0-only
/*
 * Events without an in-kernel PIC: KVM_INTERRUPT, the interrupt window
 * (request_interrupt_window, KVM_EXIT_IRQ_WINDOW_OPEN) and guest debugging
 * (KVM_SET_GUEST_DEBUG, KVM_EXIT_DEBUG).
 */
#include <linux/uaccess.h>
#include <asm/processor-flags.h>

#include "x86.h"
#include "irq.h"

/* Debug controls we implement. */
#define KVM_GUESTDBG_SUPPORTED (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
				KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW_BP | \
				KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP | \
				KVM_GUESTDBG_BLOCKIRQ)
/* DR7's upper half must be zero for VMRUN (APM vol 2, 15.5.1). */
#define DR7_VALID_MASK	0xffffffffULL

/* DR6: the bits that read as one when no event reports (SDM vol 3, 17.2.3). */
#define DR6_ACTIVE_LOW	0xffff0ff0ULL
#define DR6_BS		BIT_ULL(14)

long kvm_vcpu_ioctl_interrupt(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_interrupt irq;
	long r;

	if (copy_from_user(&irq, argp, sizeof(irq)))
		return -EFAULT;
	if (irq.irq >= KVM_NR_INTERRUPTS)
		return -EINVAL;
	r = kvm_irq_interrupt(vcpu, irq.irq);
	if (r != -ENOTTY)
		return r;
	if (vcpu->arch.interrupt.injected)
		return -EEXIST;
	vcpu->arch.interrupt.injected = true;
	vcpu->arch.interrupt.nr = irq.irq;
	return 0;
}

/* Could an interrupt be delivered to the guest right now? */
bool kvm_ready_for_interrupt(struct kvm_vcpu *vcpu)
{
	return !vcpu->arch.interrupt.injected &&
	       !vcpu->arch.exception.pending &&
	       kvm_irq_accept_dm_intr(vcpu) &&
	       kvm_x86_ops->interrupt_allowed(vcpu);
}

/* Ask for an exit as soon as the guest can take an interrupt. */
void kvm_request_irq_window(struct kvm_vcpu *vcpu)
{
	if (vcpu->run->request_interrupt_window &&
	    !vcpu->arch.interrupt.injected)
		kvm_x86_ops->enable_irq_window(vcpu);
}

/* After an exit handled in the kernel: does userspace want control? */
int kvm_check_irq_window(struct kvm_vcpu *vcpu)
{
	if (!vcpu->run->request_interrupt_window ||
	    !kvm_ready_for_interrupt(vcpu))
		return EXIT_RESUME;
	vcpu->run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
	return EXIT_USER;
}

/* ---- guest debugging --------------------------------------------------- */

/* RFLAGS as the guest and userspace see it: without the debugger's TF. */
u64 kvm_get_rflags(struct kvm_vcpu *vcpu)
{
	u64 rflags = kvm_x86_ops->get_rflags(vcpu);

	if (vcpu->arch.tf_by_debugger)
		rflags &= ~X86_EFLAGS_TF;
	return rflags;
}

void kvm_set_rflags(struct kvm_vcpu *vcpu, u64 rflags)
{
	bool step = vcpu->arch.guest_debug & KVM_GUESTDBG_SINGLESTEP;

	vcpu->arch.tf_by_debugger = step && !(rflags & X86_EFLAGS_TF);
	if (step)
		rflags |= X86_EFLAGS_TF;
	kvm_x86_ops->set_rflags(vcpu, rflags);
}

long kvm_vcpu_ioctl_set_guest_debug(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_guest_debug dbg;
	u64 rflags;

	if (copy_from_user(&dbg, argp, sizeof(dbg)))
		return -EFAULT;
	if (dbg.control & ~KVM_GUESTDBG_SUPPORTED)
		return -EINVAL;
	if (dbg.control & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) {
		if (vcpu->arch.exception.pending)
			return -EBUSY;
		kvm_queue_exception(vcpu, (dbg.control & KVM_GUESTDBG_INJECT_DB) ?
				    DB_VECTOR : BP_VECTOR);
	}

	if (dbg.control & KVM_GUESTDBG_USE_HW_BP) {
		int i;

		for (i = 0; i < 4; i++)
			vcpu->arch.dbg_db[i] = dbg.arch.debugreg[i];
		vcpu->arch.dbg_dr7 = (dbg.arch.debugreg[7] & DR7_VALID_MASK) |
				     DR7_FIXED_1;
	}

	rflags = kvm_get_rflags(vcpu);
	vcpu->arch.guest_debug = (dbg.control & KVM_GUESTDBG_ENABLE) ?
				 dbg.control : 0;
	kvm_set_rflags(vcpu, rflags);
	kvm_x86_ops->update_exception_intercepts(vcpu);
	return 0;
}

static int kvm_debug_exit(struct kvm_vcpu *vcpu, u8 vector, u64 dr6)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_segment cs;

	kvm_x86_ops->get_segment(vcpu, &cs, VCPU_SREG_CS);
	run->exit_reason = KVM_EXIT_DEBUG;
	run->debug.arch.exception = vector;
	run->debug.arch.pc = cs.base + kvm_rip_read(vcpu);
	run->debug.arch.dr6 = dr6 | DR6_ACTIVE_LOW;
	run->debug.arch.dr7 = (vcpu->arch.guest_debug & KVM_GUESTDBG_USE_HW_BP) ?
			      vcpu->arch.dbg_dr7 : kvm_x86_ops->get_dr(vcpu, 7);
	return EXIT_USER;
}

/*
 * A #DB intercept: the debugger's if it asked for steps or hardware
 * breakpoints (every #DB then goes to it, as upstream), else the guest's.
 */
int kvm_handle_db(struct kvm_vcpu *vcpu, u64 dr6)
{
	if (vcpu->arch.guest_debug &
	    (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP))
		return kvm_debug_exit(vcpu, DB_VECTOR, dr6);
	kvm_queue_exception(vcpu, DB_VECTOR);
	return EXIT_RESUME;
}

/* A #BP intercept, only armed for KVM_GUESTDBG_USE_SW_BP. */
int kvm_handle_bp(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.guest_debug & KVM_GUESTDBG_USE_SW_BP)
		return kvm_debug_exit(vcpu, BP_VECTOR, 0);
	kvm_queue_exception(vcpu, BP_VECTOR);
	return EXIT_RESUME;
}

/*
 * An instruction completed in the kernel (CPUID, an emulated access...):
 * deliver the single-step trap the hardware would have raised.
 */
int kvm_complete_singlestep(struct kvm_vcpu *vcpu)
{
	if (!(kvm_x86_ops->get_rflags(vcpu) & X86_EFLAGS_TF))
		return EXIT_RESUME;
	if (vcpu->arch.guest_debug & KVM_GUESTDBG_SINGLESTEP)
		return kvm_debug_exit(vcpu, DB_VECTOR, DR6_BS);
	kvm_x86_ops->set_dr(vcpu, 6, kvm_x86_ops->get_dr(vcpu, 6) | DR6_BS);
	kvm_queue_exception(vcpu, DB_VECTOR);
	return EXIT_RESUME;
}

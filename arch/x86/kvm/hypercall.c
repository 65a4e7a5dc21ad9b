// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM hypercalls: VMMCALL with the KVM_HC_* number in RAX and up to four
 * arguments in RBX, RCX, RDX, RSI; the result comes back in RAX, negative
 * KVM_E* values for errors (<linux/kvm_para.h>).  Outside 64-bit mode
 * every value is 32 bits wide.  A guest that enabled Hyper-V's interface
 * (GUEST_OS_ID written) makes Hyper-V hypercalls instead (hyperv.c).
 *
 * A guest patched for Intel uses VMCALL (0f 01 c1), which raises #UD on
 * AMD.  Like upstream KVM on AMD, ukvm intercepts #UD; if the faulting
 * instruction is VMCALL it is rewritten into VMMCALL (0f 01 d9) in guest
 * memory, so it exits directly next time, and the hypercall runs.  Any
 * other #UD goes back to the guest.
 */
#include "kvm_para.h"
#include "irq.h"
#include "hyperv.h"

#include "mmu/translate.h"

#define HYPERCALL_INSN_LEN	3
static const u8 insn_vmcall[HYPERCALL_INSN_LEN] = { 0x0f, 0x01, 0xc1 };
static const u8 insn_vmmcall[HYPERCALL_INSN_LEN] = { 0x0f, 0x01, 0xd9 };

static bool vcpu_in_64bit_mode(struct kvm_vcpu *vcpu)
{
	struct kvm_segment cs;

	if (!kvm_is_long_mode(vcpu))
		return false;
	kvm_x86_ops->get_segment(vcpu, &cs, VCPU_SREG_CS);
	return cs.l;
}

static long hypercall(struct kvm_vcpu *vcpu, unsigned long nr,
		      unsigned long a0, unsigned long a1, unsigned long a2,
		      unsigned long a3, bool op64)
{
	/* Hypercalls are for the guest kernel only. */
	if (kvm_x86_ops->get_cpl(vcpu) != 0)
		return -KVM_EPERM;

	switch (nr) {
	case KVM_HC_VAPIC_POLL_IRQ:
		/* A no-op: interrupts are evaluated on every entry anyway. */
		return 0;
	case KVM_HC_KICK_CPU:
		if (!kvm_pv_has(vcpu, KVM_FEATURE_PV_UNHALT))
			break;
		/* a0: flags (none defined), a1: APIC ID of the halted vCPU. */
		kvm_pv_kick_cpu(vcpu->kvm, a1);
		return 0;
	case KVM_HC_SEND_IPI:
		if (!kvm_pv_has(vcpu, KVM_FEATURE_PV_SEND_IPI))
			break;
		return kvm_pv_send_ipi(vcpu, a0, a1, a2, a3, op64);
	}
	return -KVM_ENOSYS;
}

/*
 * VMMCALL: the hypercall of whichever ABI the guest enabled, then RIP moves
 * to @next_rip (unless a fault was queued or userspace completes it).
 */
int kvm_emulate_hypercall(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	bool op64 = vcpu_in_64bit_mode(vcpu);
	unsigned long nr = kvm_reg_read(vcpu, VCPU_REGS_RAX);
	unsigned long a0 = kvm_reg_read(vcpu, VCPU_REGS_RBX);
	unsigned long a1 = kvm_reg_read(vcpu, VCPU_REGS_RCX);
	unsigned long a2 = kvm_reg_read(vcpu, VCPU_REGS_RDX);
	unsigned long a3 = kvm_reg_read(vcpu, VCPU_REGS_RSI);
	long ret;

	if (kvm_hv_hypercall_enabled(vcpu))
		return kvm_hv_hypercall(vcpu, next_rip);
	if (!op64) {
		nr = (u32)nr;
		a0 = (u32)a0;
		a1 = (u32)a1;
		a2 = (u32)a2;
		a3 = (u32)a3;
	}
	ret = hypercall(vcpu, nr, a0, a1, a2, a3, op64);
	if (!op64)
		ret = (u32)ret;
	kvm_reg_write(vcpu, VCPU_REGS_RAX, ret);
	return kvm_skip_instruction(vcpu, next_rip);
}

/* ---- VMCALL --------------------------------------------------------------- */

/* The guest-physical address of each byte of the instruction at RIP. */
static bool insn_gpas(struct kvm_vcpu *vcpu, gpa_t *gpa, int len)
{
	struct x86_walk_regs regs;
	u32 access = X86_WALK_FETCH;
	struct x86_walk_result res;
	struct kvm_segment cs;
	u64 la;
	bool ok = true;
	int i;

	kvm_walk_regs(vcpu, &regs);
	kvm_x86_ops->get_segment(vcpu, &cs, VCPU_SREG_CS);
	if (kvm_x86_ops->get_cpl(vcpu) == 3)
		access |= X86_WALK_USER;
	la = kvm_rip_read(vcpu);
	if (!vcpu_in_64bit_mode(vcpu))
		la = (u32)(la + cs.base);
	down_read(&vcpu->kvm->slots_lock);
	for (i = 0; i < len && ok; i++) {
		ok = kvm_walk_noad(vcpu, &regs, la + i, access, &res) ==
		     X86_WALK_OK;
		gpa[i] = res.gpa;
	}
	up_read(&vcpu->kvm->slots_lock);
	return ok;
}

/* #UD intercepted: VMCALL becomes VMMCALL, anything else is the guest's. */
int kvm_handle_ud(struct kvm_vcpu *vcpu)
{
	gpa_t gpa[HYPERCALL_INSN_LEN];
	u8 insn[HYPERCALL_INSN_LEN];
	int i;

	if (!insn_gpas(vcpu, gpa, HYPERCALL_INSN_LEN))
		goto ud;
	for (i = 0; i < HYPERCALL_INSN_LEN; i++)
		if (kvm_pv_read_guest(vcpu->kvm, gpa[i], &insn[i], 1))
			goto ud;
	if (memcmp(insn, insn_vmcall, HYPERCALL_INSN_LEN))
		goto ud;
	for (i = 0; i < HYPERCALL_INSN_LEN; i++)
		kvm_pv_write_guest(vcpu->kvm, gpa[i], &insn_vmmcall[i], 1);
	return kvm_emulate_hypercall(vcpu, kvm_rip_read(vcpu) +
				     HYPERCALL_INSN_LEN);
ud:
	kvm_queue_exception(vcpu, UD_VECTOR);
	return EXIT_RESUME;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest entry for SVM.
 *
 * VMRUN saves and restores only part of the host state (APM vol 2, 15.5.1:
 * CR0/3/4, EFER, RFLAGS, RIP, RSP, RAX, CS/SS/DS/ES, GDTR, IDTR).  Here we
 * keep the rest: the callee-saved GPRs on the stack, and the VMSAVE/VMLOAD
 * state (FS, GS, TR, LDTR with their hidden bases, KERNEL_GS_BASE, STAR,
 * LSTAR, CSTAR, SFMASK, SYSENTER_*) in the per-CPU host save VMCB.  The
 * caller runs with interrupts off and GIF clear (CLGI), so nothing can use
 * the guest's GS base between the VMLOADs.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

/* Offsets in kvm_vcpu_arch.regs[] (enum kvm_reg). */
#define VCPU_RCX	(1 * 8)
#define VCPU_RDX	(2 * 8)
#define VCPU_RBX	(3 * 8)
#define VCPU_RBP	(5 * 8)
#define VCPU_RSI	(6 * 8)
#define VCPU_RDI	(7 * 8)
#define VCPU_R8		(8 * 8)
#define VCPU_R9		(9 * 8)
#define VCPU_R10	(10 * 8)
#define VCPU_R11	(11 * 8)
#define VCPU_R12	(12 * 8)
#define VCPU_R13	(13 * 8)
#define VCPU_R14	(14 * 8)
#define VCPU_R15	(15 * 8)

/* Stack slots after the prologue. */
#define SLOT_VMCB	0
#define SLOT_HOST	8
#define SLOT_REGS	16

	.section .noinstr.text, "ax"

/*
 * void __svm_vcpu_run(unsigned long vmcb_pa, unsigned long *regs,
 *		       unsigned long host_save_pa)
 */
SYM_FUNC_START(__svm_vcpu_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rsi		/* SLOT_REGS */
	push	%rdx		/* SLOT_HOST */
	push	%rdi		/* SLOT_VMCB */

	/* Host FS/GS/TR/LDTR/syscall MSRs out, guest's in. */
	mov	%rdx, %rax
	vmsave	%rax
	mov	%rdi, %rax
	vmload	%rax

	/* Guest GPRs; RAX and RSP come from the VMCB. */
	mov	VCPU_RCX(%rsi), %rcx
	mov	VCPU_RDX(%rsi), %rdx
	mov	VCPU_RBX(%rsi), %rbx
	mov	VCPU_RBP(%rsi), %rbp
	mov	VCPU_RDI(%rsi), %rdi
	mov	VCPU_R8(%rsi), %r8
	mov	VCPU_R9(%rsi), %r9
	mov	VCPU_R10(%rsi), %r10
	mov	VCPU_R11(%rsi), %r11
	mov	VCPU_R12(%rsi), %r12
	mov	VCPU_R13(%rsi), %r13
	mov	VCPU_R14(%rsi), %r14
	mov	VCPU_R15(%rsi), %r15
	mov	VCPU_RSI(%rsi), %rsi

	/*
	 * With V_INTR_MASKING the host's RFLAGS.IF gates physical interrupts
	 * while the guest runs (APM vol 2, 15.21.1), so set it: GIF is clear,
	 * so nothing is taken here, and a host interrupt becomes #VMEXIT.
	 * RAX holds the VMCB address, and holds it again after #VMEXIT.
	 */
	sti
	vmrun	%rax
	cli

	/* Guest GPRs back into regs[]; RDI goes through the stack. */
	push	%rdi
	mov	SLOT_REGS+8(%rsp), %rdi
	mov	%rcx, VCPU_RCX(%rdi)
	mov	%rdx, VCPU_RDX(%rdi)
	mov	%rbx, VCPU_RBX(%rdi)
	mov	%rbp, VCPU_RBP(%rdi)
	mov	%rsi, VCPU_RSI(%rdi)
	mov	%r8, VCPU_R8(%rdi)
	mov	%r9, VCPU_R9(%rdi)
	mov	%r10, VCPU_R10(%rdi)
	mov	%r11, VCPU_R11(%rdi)
	mov	%r12, VCPU_R12(%rdi)
	mov	%r13, VCPU_R13(%rdi)
	mov	%r14, VCPU_R14(%rdi)
	mov	%r15, VCPU_R15(%rdi)
	popq	VCPU_RDI(%rdi)

	/* Guest VMSAVE state back to its VMCB, the host's back in place. */
	vmsave	%rax
	mov	SLOT_HOST(%rsp), %rax
	vmload	%rax

	/*
	 * The guest may have trained the return stack buffer; refill it
	 * before the first unbalanced return.
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT

	/*
	 * Retbleed/SRSO: untrain returns before the first host RET, and
	 * before interrupts (whose handlers return to kernel code) are on.
	 */
	UNTRAIN_RET

	/* Do not leave guest values in registers for speculation to use. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(__svm_vcpu_run)

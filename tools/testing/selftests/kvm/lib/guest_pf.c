// SPDX-License-Identifier: GPL-2.0
/*
 * The recording #PF handler and the helpers that may fault.  See
 * include/guest_pf.h.
 */
#include "guest_pf.h"

#define PF_VECTOR	14

volatile uint64_t pf_count, pf_cr2, pf_err, pf_resume;

/*
 * On a fault the handler records it and returns to the helper's label 1
 * (each helper stores it in pf_resume first), which returns.
 */
asm(".pushsection .text\n"
    ".globl test_pf_handler\n"
    "test_pf_handler:\n"
    "	push %rax\n"
    "	mov %cr2, %rax\n"
    "	mov %rax, pf_cr2(%rip)\n"
    "	mov 8(%rsp), %rax\n"
    "	mov %rax, pf_err(%rip)\n"
    "	incq pf_count(%rip)\n"
    "	mov pf_resume(%rip), %rax\n"
    "	mov %rax, 16(%rsp)\n"
    "	pop %rax\n"
    "	add $8, %rsp\n"
    "	iretq\n"
    ".globl guest_try_read\n"
    "guest_try_read:\n"
    "	lea 1f(%rip), %rax\n"
    "	mov %rax, pf_resume(%rip)\n"
    "	mov (%rdi), %rax\n"
    "	ret\n"
    "1:	xor %eax, %eax\n"
    "	ret\n"
    ".globl guest_try_write\n"
    "guest_try_write:\n"
    "	lea 1f(%rip), %rax\n"
    "	mov %rax, pf_resume(%rip)\n"
    "	mov %rsi, (%rdi)\n"
    "	ret\n"
    "1:	ret\n"
    /* A fault on the callee's first fetch resumes at 1 with its return address pushed. */
    ".globl guest_try_call\n"
    "guest_try_call:\n"
    "	lea 1f(%rip), %rax\n"
    "	mov %rax, pf_resume(%rip)\n"
    "	call *%rdi\n"
    "	ret\n"
    "1:	ret\n"
    ".globl guest_try_load_fs\n"
    "guest_try_load_fs:\n"
    "	lea 1f(%rip), %rax\n"
    "	mov %rax, pf_resume(%rip)\n"
    "	mov %di, %fs\n"
    "1:	ret\n"
    ".popsection\n");

extern char test_pf_handler[];

/* IDT vector 14 -> test_pf_handler (64-bit interrupt gate, DPL 0). */
void vm_install_pf_handler(struct kvm_vm *vm)
{
	uint64_t *idt = addr_gpa2hva(vm, VM_IDT_GPA);
	uint64_t h = (uint64_t)(uintptr_t)test_pf_handler;

	idt[2 * PF_VECTOR] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
			     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
	idt[2 * PF_VECTOR + 1] = h >> 32;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * 64-bit guest setup: a copy of the test binary in guest memory, a GDT with
 * a 64-bit code segment, a data segment and a TSS, identity-mapped page
 * tables for the low 4 GiB, an IDT whose handlers report exceptions as
 * ucalls, and one stack per vCPU.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <stdlib.h>

#include "kvm_util.h"

#define IDT_VECTORS 32
#define TSS_LIMIT 0x67
#define GDT_ENTRIES 5	/* null, code64, data, TSS (two slots) */

/* Linker-provided bounds of the (non-PIE) test binary. */
extern char __executable_start[], _end[];

/*
 * Exception entry stubs, one per 16 bytes so the IDT can compute their
 * addresses.  Vectors that push no error code push a 0 so every frame looks
 * alike: vector, error code, then the CPU's RIP/CS/RFLAGS/RSP/SS
 * (SDM vol 3, 6.14.2).
 */
asm(".pushsection .text\n"
    ".align 16\n"
    ".globl guest_exception_stubs\n"
    "guest_exception_stubs:\n"
    "vec = 0\n"
    ".rept 32\n"
    "	.align 16\n"
    "	.if (vec == 8) | (vec == 10) | (vec == 11) | (vec == 12) | (vec == 13) | (vec == 14) | (vec == 17) | (vec == 21) | (vec == 29) | (vec == 30)\n"
    "	.else\n"
    "	pushq $0\n"
    "	.endif\n"
    "	pushq $vec\n"
    "	jmp guest_exception_common\n"
    "	vec = vec + 1\n"
    ".endr\n"
    "guest_exception_common:\n"
    "	mov %rsp, %rdi\n"
    "	and $-16, %rsp\n"
    "	call guest_exception_report\n"
    "1:	hlt\n"
    "	jmp 1b\n"
    /* Where a guest function returns to: report it, with an aligned stack. */
    ".globl guest_returned\n"
    "guest_returned:\n"
    "	and $-16, %rsp\n"
    "	call guest_returned_report\n"
    "2:	hlt\n"
    "	jmp 2b\n"
    ".popsection\n");

extern char guest_exception_stubs[], guest_returned[];

void guest_exception_report(const uint64_t *frame);
void guest_returned_report(void);

void guest_exception_report(const uint64_t *frame)
{
	__GUEST_UCALL(UCALL_EXCEPTION, NULL, frame[0], frame[1], frame[2]);
}

void guest_returned_report(void)
{
	__GUEST_UCALL(UCALL_RETURNED, NULL);
}

bool host_string_ok(const char *s)
{
	return s >= __executable_start && s < _end;
}

struct image {
	uint64_t start;
	uint64_t end;
	struct kvm_vm *vm;	/* NULL: only measure */
};

static int image_segment_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct image *img = data;
	int i;

	(void)size;
	/* The first object reported is the executable itself. */
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t va = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD)
			continue;
		if (!img->vm) {
			if (!img->start || va < img->start)
				img->start = va;
			if (va + ph->p_memsz > img->end)
				img->end = va + ph->p_memsz;
		} else {
			memcpy(addr_gpa2hva(img->vm, va), (void *)(uintptr_t)va,
			       ph->p_memsz);
		}
	}
	return 1;
}

static uint64_t make_desc(const struct kvm_segment *s)
{
	uint64_t limit = s->g ? s->limit >> 12 : s->limit;

	return (limit & 0xffff) |
	       ((s->base & 0xffffff) << 16) |
	       ((uint64_t)(s->type & 0xf) << 40) |
	       ((uint64_t)(s->s & 1) << 44) |
	       ((uint64_t)(s->dpl & 3) << 45) |
	       ((uint64_t)(s->present & 1) << 47) |
	       (((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)(s->avl & 1) << 52) |
	       ((uint64_t)(s->l & 1) << 53) |
	       ((uint64_t)(s->db & 1) << 54) |
	       ((uint64_t)(s->g & 1) << 55) |
	       (((s->base >> 24) & 0xff) << 56);
}

static void long_mode_segments(struct kvm_sregs *sregs)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_SEL_CODE64,
		.type = 0xb, .present = 1, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_SEL_DATA,
		.type = 0x3, .present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct kvm_segment tss = {
		.base = VM_TSS_GPA, .limit = TSS_LIMIT, .selector = GDT_SEL_TSS,
		.type = 0xb, .present = 1,
	};
	struct kvm_segment ldt = { .type = 0x2, .unusable = 1 };

	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = tss;
	sregs->ldt = ldt;
	sregs->gdt.base = VM_GDT_GPA;
	sregs->gdt.limit = GDT_ENTRIES * 8 - 1;
	sregs->idt.base = VM_IDT_GPA;
	sregs->idt.limit = IDT_VECTORS * 16 - 1;
}

static void write_gdt(struct kvm_vm *vm)
{
	uint64_t *gdt = addr_gpa2hva(vm, VM_GDT_GPA);
	struct kvm_sregs sregs;

	memset(&sregs, 0, sizeof(sregs));
	long_mode_segments(&sregs);
	gdt[0] = 0;
	gdt[GDT_SEL_CODE64 / 8] = make_desc(&sregs.cs);
	gdt[GDT_SEL_DATA / 8] = make_desc(&sregs.ds);
	gdt[GDT_SEL_TSS / 8] = make_desc(&sregs.tr);
	gdt[GDT_SEL_TSS / 8 + 1] = VM_TSS_GPA >> 32;
}

/* 64-bit interrupt gates, present, DPL 0 (SDM vol 3, 6.14.1). */
static void write_idt(struct kvm_vm *vm)
{
	uint64_t *idt = addr_gpa2hva(vm, VM_IDT_GPA);
	int v;

	for (v = 0; v < IDT_VECTORS; v++) {
		uint64_t h = (uint64_t)(uintptr_t)guest_exception_stubs + v * 16;

		idt[2 * v] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
			     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = h >> 32;
	}
}

/* Identity map [0, 4 GiB) with 2 MiB pages. */
static void write_page_tables(struct kvm_vm *vm)
{
	uint64_t *pml4 = addr_gpa2hva(vm, VM_PML4_GPA);
	uint64_t *pdpt = addr_gpa2hva(vm, VM_PDPT_GPA);
	uint64_t nr_pd = VM_IDENTITY_MAP_SIZE >> 30;
	uint64_t i, j;

	pml4[0] = VM_PDPT_GPA | PTE_PRESENT | PTE_WRITABLE;
	for (i = 0; i < nr_pd; i++) {
		uint64_t pd_gpa = VM_PD_GPA + i * PAGE_SIZE;
		uint64_t *pd = addr_gpa2hva(vm, pd_gpa);

		pdpt[i] = pd_gpa | PTE_PRESENT | PTE_WRITABLE;
		for (j = 0; j < 512; j++)
			pd[j] = ((i << 30) + (j << 21)) | PTE_PRESENT |
				PTE_WRITABLE | PTE_LARGE;
	}
}

void vm_setup_long_mode(struct kvm_vm *vm)
{
	struct image img = { 0 };
	uint64_t size;

	dl_iterate_phdr(image_segment_cb, &img);
	TEST_ASSERT(img.start >= VM_STACKS_GPA + VM_MAX_VCPUS * VM_STACK_SIZE &&
		    img.end < VM_IDENTITY_MAP_SIZE / 2,
		    "test binary at 0x%llx-0x%llx: link it with -no-pie",
		    (unsigned long long)img.start, (unsigned long long)img.end);

	size = ((img.end + LARGE_PAGE_SIZE - 1) & ~(LARGE_PAGE_SIZE - 1)) +
	       LARGE_PAGE_SIZE;
	if (size < vm->alloc_end)
		size = (vm->alloc_end + LARGE_PAGE_SIZE - 1) & ~(LARGE_PAGE_SIZE - 1);
	vm_add_memory(vm, 0, 0, 0, size);
	vm->alloc_next = (img.end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	vm->alloc_end = size;

	img.vm = vm;
	dl_iterate_phdr(image_segment_cb, &img);
	write_gdt(vm);
	write_idt(vm);
	write_page_tables(vm);
}

void vcpu_setup_long_mode(struct kvm_vcpu *vcpu, void *guest_code)
{
	struct kvm_vm *vm = vcpu->vm;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	unsigned int idx;
	uint64_t top;

	for (idx = 0; idx < vm->nr_vcpus && vm->vcpus[idx] != vcpu; idx++)
		;
	top = VM_STACKS_GPA + (idx + 1) * VM_STACK_SIZE;

	vcpu_sregs_get(vcpu, &sregs);
	long_mode_segments(&sregs);
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		    X86_CR0_WP | X86_CR0_PG;
	sregs.cr3 = VM_PML4_GPA;
	sregs.cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA;
	vcpu_sregs_set(vcpu, &sregs);

	/* The function "returns" into guest_returned. */
	*(uint64_t *)addr_gpa2hva(vm, top - 8) = (uint64_t)(uintptr_t)guest_returned;
	memset(&regs, 0, sizeof(regs));
	regs.rip = (uint64_t)(uintptr_t)guest_code;
	regs.rsp = top - 8;
	regs.rflags = X86_EFLAGS_FIXED;
	vcpu_regs_set(vcpu, &regs);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * System Management Mode (KVM_CAP_X86_SMM, AMD64 APM vol 2, chapter 10).
 *
 * SMRAM is a memslot of address space 1 at SMBASE; address space 0 holds
 * ordinary memory at the same place.  A 64-bit guest is made to take an
 * SMI (KVM_SMI, or a self-IPI with delivery mode SMI through the xAPIC or
 * the x2APIC) right after a known instruction.  The SMI handler (16-bit
 * code at SMBASE + 8000h) reads the state-save area at SMBASE + FE00h into
 * registers, tells the host with an OUT, replaces the saved RBX and
 * executes RSM; the guest then finds the new RBX.  The host checks the
 * entry state, the save area through its own mapping of SMRAM, that only
 * SMM sees SMRAM (the emulator's too), save/restore of a vCPU in SMM into a new VM, an INIT
 * and an SMI held back until RSM, a save area RSM refuses (shutdown), dirty
 * logging of SMRAM, and the errors upstream KVM gives.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "irqchip.h"

#define SMBASE			0x4000000ULL	/* above memslot 0 */
#define SMRAM_SIZE		0x10000ULL
#define SMRAM_SLOT		((1u << 16) | 1)
#define SMRAM_AS0_SLOT		2	/* what address space 0 has there */
#define SMRAM_SAVE		0xfe00
#define SMM_HANDLER		0x8000
#define SMM_REVISION_AMD64	0x00020064
#define AS0_PATTERN		0x5a

#define MSR_IA32_SMBASE		0x9e
#define APIC_DM_SMI		0x200
#define X2APIC_ICR		(MSR_X2APIC_BASE + (APIC_ICR >> 4))

#define PORT_MARK		0x532	/* the guest, right before the SMI */
#define PORT_SMM		0x5c	/* the SMI handler */
#define PORT_RESET		0x5d	/* the code at the reset vector */
#define RESET_GPA		0xffff0000ULL	/* CS base after INIT */

#define RBX_BEFORE		0x1122334455667788ULL
#define RBX_NEW			0x0badc0de600dcafeULL

/* Offsets in the AMD64 state-save area, from FE00h (APM vol 2, table 10-2). */
#define SAVE_CS			0x10
#define SAVE_EFER		0xd0
#define SAVE_REVISION		0xfc
#define SAVE_SMBASE		0x100
#define SAVE_CR4		0x148
#define SAVE_CR3		0x150
#define SAVE_CR0		0x158
#define SAVE_RFLAGS		0x170
#define SAVE_RIP		0x178
#define SAVE_RBX		0x1e0
/* The legacy (32-bit) save area, from FE00h. */
#define SAVE32_SMBASE		0xf8
#define SAVE32_REVISION		0xfc
#define SAVE32_CS_FLAGS		0x190
#define SAVE32_CS_LIMIT		0x194
#define SAVE32_CS_BASE		0x198
#define SAVE32_CS_SEL		0x1ac
#define SAVE32_EBX		0x1dc
#define SAVE32_EIP		0x1f0
#define SAVE32_EFLAGS		0x1f4
#define SAVE32_CR0		0x1fc
#define SMM_REVISION_LEGACY	0x00020000

/*
 * The SMI handler: saved RIP, RBX, SMBASE and revision (low halves) into
 * ECX, EDX, ESI, EDI, report, then a new RBX, RSM.  CS base is SMBASE.
 */
asm(".pushsection .rodata.smm16, \"a\"\n"
    ".code16\n"
    "smm_handler_start:\n"
    "	movl %cs:0xff78, %ecx\n"
    "	movl %cs:0xffe0, %edx\n"
    "	movl %cs:0xff00, %esi\n"
    "	movl %cs:0xfefc, %edi\n"
    "	outb %al, $0x5c\n"
    "	movl $0x600dcafe, %cs:0xffe0\n"
    "	movl $0x0badc0de, %cs:0xffe4\n"
    "	rsm\n"
    "smm_handler_end:\n"
    ".code64\n"
    ".popsection\n");
extern const uint8_t smm_handler_start[], smm_handler_end[];

/*
 * The same for the legacy save area of a guest without long mode in CPUID
 * (SDM vol 3, table 34-3 layout; revision 0x20000): EIP at FFF0h, EBX at
 * FFDCh, SMBASE at FEF8h.
 */
asm(".pushsection .rodata.smm16, \"a\"\n"
    ".code16\n"
    "smm_legacy_handler_start:\n"
    "	movl %cs:0xfff0, %ecx\n"
    "	movl %cs:0xffdc, %edx\n"
    "	movl %cs:0xfef8, %esi\n"
    "	movl %cs:0xfefc, %edi\n"
    "	outb %al, $0x5c\n"
    "	movl $0x600dcafe, %cs:0xffdc\n"
    "	rsm\n"
    "smm_legacy_handler_end:\n"
    ".code64\n"
    ".popsection\n");
extern const uint8_t smm_legacy_handler_start[], smm_legacy_handler_end[];

/* A real-mode guest: EBX set, OUT (the SMI comes here), OUT, HLT. */
asm(".pushsection .rodata.guest16, \"a\"\n"
    ".code16\n"
    "rm_smi_start:\n"
    "	movl $0x11223344, %ebx\n"
    "	mov $0x532, %dx\n"
    "	out %al, %dx\n"
    "rm_smi_after:\n"
    "	mov $0x533, %dx\n"
    "	out %al, %dx\n"
    "	hlt\n"
    "rm_smi_end:\n"
    ".code64\n"
    ".popsection\n");
extern const uint8_t rm_smi_start[], rm_smi_after[], rm_smi_end[];

/* A handler that clears the saved CR0.PE (PG stays): RSM cannot load it. */
asm(".pushsection .rodata.smm16, \"a\"\n"
    ".code16\n"
    "smm_bad_cr0_start:\n"
    "	andl $0xfffffffe, %cs:0xff58\n"
    "	rsm\n"
    "smm_bad_cr0_end:\n"
    ".code64\n"
    ".popsection\n");
extern const uint8_t smm_bad_cr0_start[], smm_bad_cr0_end[];

/*
 * A handler whose first instruction is emulated: a byte read of MMIO
 * (no memslot there), reported with an OUT.  Fetching and decoding it
 * must read the handler from SMRAM, not from address space 0.
 */
#define SMM_MMIO_GPA		0xd0000000u
asm(".pushsection .rodata.smm16, \"a\"\n"
    ".code16\n"
    "smm_mmio_start:\n"
    "	movl $0xd0000000, %ebx\n"
    "	addr32 movb (%ebx), %al\n"
    "	outb %al, $0x5c\n"
    "	rsm\n"
    "smm_mmio_end:\n"
    ".code64\n"
    ".popsection\n");
extern const uint8_t smm_mmio_start[], smm_mmio_end[];

/*
 * Guest functions that load RBX, execute one instruction after which the
 * SMI comes, and return RBX as it is then.  Their *_after labels are the
 * RIP the save area must hold.
 */
asm(".pushsection .text\n"
    "guest_out_then_smi:\n"
    "	push %rbx\n"
    "	mov %rdi, %rbx\n"
    "	mov $0x532, %dx\n"
    "	out %al, %dx\n"
    "guest_out_after:\n"
    "	mov %rbx, %rax\n"
    "	pop %rbx\n"
    "	ret\n"
    "guest_x2apic_smi:\n"
    "	push %rbx\n"
    "	mov %rdi, %rbx\n"
    "	mov $0x830, %ecx\n"
    "	mov $0x44200, %eax\n"	/* self, assert, delivery mode SMI */
    "	xor %edx, %edx\n"
    "	wrmsr\n"
    "guest_x2apic_after:\n"
    "	mov %rbx, %rax\n"
    "	pop %rbx\n"
    "	ret\n"
    "guest_xapic_smi:\n"
    "	push %rbx\n"
    "	mov %rdi, %rbx\n"
    "	mov $0xfee00300, %ecx\n"
    "	movl $0x44200, (%rcx)\n"
    "guest_xapic_after:\n"
    "	mov %rbx, %rax\n"
    "	pop %rbx\n"
    "	ret\n"
    ".popsection\n");
uint64_t guest_out_then_smi(uint64_t rbx);
uint64_t guest_x2apic_smi(uint64_t rbx);
uint64_t guest_xapic_smi(uint64_t rbx);
extern const char guest_out_after[], guest_x2apic_after[], guest_xapic_after[];

static void guest_kvm_smi(void)
{
	GUEST_SYNC(guest_out_then_smi(RBX_BEFORE));
	GUEST_DONE();
}

static void guest_x2apic(void)
{
	wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) | APICBASE_EXTD);
	GUEST_SYNC(guest_x2apic_smi(RBX_BEFORE));
	GUEST_DONE();
}

static void guest_xapic(void)
{
	GUEST_SYNC(guest_xapic_smi(RBX_BEFORE));
	GUEST_DONE();
}

/* Outside SMM the guest sees address space 0 at SMBASE, before and after. */
static void guest_reads_smbase(void)
{
	volatile uint8_t *p = (volatile uint8_t *)(SMBASE + SMM_HANDLER);

	GUEST_SYNC(*p);
	GUEST_SYNC(guest_out_then_smi(RBX_BEFORE));
	GUEST_SYNC(*p, *(volatile uint8_t *)(SMBASE + SMRAM_SAVE + SAVE_REVISION));
	GUEST_DONE();
}

/* vCPU 1: INIT to APIC ID 0 (physical, edge, assert). */
static void guest_send_init(void)
{
	xapic_write(APIC_ICR2, 0);
	xapic_write(APIC_ICR, APIC_DM_INIT | APIC_ICR_ASSERT);
	GUEST_DONE();
}

static void guest_rsm(void)
{
	asm volatile("rsm");
	GUEST_DONE();
}

static void guest_read_smbase_msr(void)
{
	GUEST_SYNC(rdmsr(MSR_IA32_SMBASE));
	GUEST_DONE();
}

/* ---- host helpers --------------------------------------------------------- */

static void vcpu_events(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *e)
{
	memset(e, 0, sizeof(*e));
	vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, e);
	TEST_ASSERT(e->flags & KVM_VCPUEVENT_VALID_SMM, "flags 0x%x", e->flags);
}

/*
 * SMRAM in address space 1 with the handler; SMBASE pointing at it.  The
 * guest's CPUID has long mode, so the save area has the AMD64 format
 * (upstream uses the legacy one for guests without).
 */
static uint8_t *smram_add(struct kvm_vcpu *vcpu, uint32_t flags)
{
	uint8_t *smram = vm_add_memory(vcpu->vm, SMRAM_SLOT, flags, SMBASE,
				       SMRAM_SIZE);

	vcpu_set_cpuid(vcpu, 0);

	memcpy(smram + SMM_HANDLER, smm_handler_start,
	       smm_handler_end - smm_handler_start);
	vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMBASE);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_IA32_SMBASE), SMBASE);
	return smram;
}

static uint64_t save_u64(const uint8_t *smram, unsigned int off)
{
	uint64_t v;

	memcpy(&v, smram + SMRAM_SAVE + off, sizeof(v));
	return v;
}

static uint32_t save_u32(const uint8_t *smram, unsigned int off)
{
	uint32_t v;

	memcpy(&v, smram + SMRAM_SAVE + off, sizeof(v));
	return v;
}

/* The handler's OUT: the vCPU is in SMM, in the architectural entry state. */
static void expect_handler(struct kvm_vcpu *vcpu, const void *after)
{
	struct kvm_vcpu_events ev;
	struct kvm_sregs s;
	struct kvm_regs r;

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_SMM);
	TEST_ASSERT(vcpu->run->flags & KVM_RUN_X86_SMM, "flags 0x%x",
		    vcpu->run->flags);
	vcpu_events(vcpu, &ev);
	TEST_ASSERT_EQ(ev.smi.smm, 1);
	TEST_ASSERT_EQ(ev.smi.pending, 0);

	vcpu_sregs_get(vcpu, &s);
	TEST_ASSERT_EQ(s.cs.base, SMBASE);
	TEST_ASSERT_EQ(s.cs.selector, (SMBASE >> 4) & 0xffff);
	TEST_ASSERT_EQ(s.cs.limit, 0xffffffff);
	TEST_ASSERT_EQ(s.ds.base, 0);
	TEST_ASSERT_EQ(s.cr0 & (X86_CR0_PE | X86_CR0_PG | X86_CR0_TS | X86_CR0_EM), 0);
	TEST_ASSERT_EQ(s.cr4, 0);
	TEST_ASSERT_EQ(s.efer, 0);
	TEST_ASSERT_EQ(s.idt.limit, 0);

	vcpu_regs_get(vcpu, &r);
	TEST_ASSERT_EQ(r.rflags, X86_EFLAGS_FIXED);
	TEST_ASSERT(r.rip > SMM_HANDLER && r.rip < SMM_HANDLER + 0x40,
		    "rip 0x%llx", (unsigned long long)r.rip);
	/* What the handler read from the save area. */
	TEST_ASSERT_EQ(r.rcx & 0xffffffff, (uint64_t)(uintptr_t)after & 0xffffffff);
	TEST_ASSERT_EQ(r.rdx & 0xffffffff, RBX_BEFORE & 0xffffffff);
	TEST_ASSERT_EQ(r.rsi & 0xffffffff, SMBASE);
	TEST_ASSERT_EQ(r.rdi & 0xffffffff, SMM_REVISION_AMD64);
}

/* The save area holds the 64-bit state the SMI interrupted. */
static void check_save_area(const uint8_t *smram, const struct kvm_sregs *s,
			    const void *after)
{
	TEST_ASSERT_EQ(save_u64(smram, SAVE_RIP), (uint64_t)(uintptr_t)after);
	TEST_ASSERT_EQ(save_u64(smram, SAVE_RBX), RBX_BEFORE);
	TEST_ASSERT_EQ(save_u64(smram, SAVE_CR0), s->cr0);
	TEST_ASSERT_EQ(save_u64(smram, SAVE_CR3), s->cr3);
	TEST_ASSERT_EQ(save_u64(smram, SAVE_CR4), s->cr4);
	TEST_ASSERT_EQ(save_u64(smram, SAVE_EFER), s->efer);
	TEST_ASSERT_EQ(save_u32(smram, SAVE_SMBASE), SMBASE);
	TEST_ASSERT_EQ(save_u32(smram, SAVE_REVISION), SMM_REVISION_AMD64);
	TEST_ASSERT_EQ(*(const uint16_t *)(smram + SMRAM_SAVE + SAVE_CS),
		       s->cs.selector);
	/* Attributes: descriptor bits 40-55 >> 8, so L is bit 13. */
	TEST_ASSERT(*(const uint16_t *)(smram + SMRAM_SAVE + SAVE_CS + 2) &
		    (1u << 13), "CS.L not saved");
	TEST_ASSERT_EQ(save_u64(smram, SAVE_RFLAGS) & X86_EFLAGS_IF, 0);
}

/* After RSM: back in 64-bit mode with the handler's RBX, out of SMM. */
static void expect_returned(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_events ev;
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], RBX_NEW);
	TEST_ASSERT_EQ(vcpu->run->flags & KVM_RUN_X86_SMM, 0);
	vcpu_events(vcpu, &ev);
	TEST_ASSERT_EQ(ev.smi.smm, 0);
	vcpu_expect_done(vcpu);
}

/* The guest's OUT to PORT_MARK, just before KVM_SMI. */
static void expect_mark(struct kvm_vcpu *vcpu, struct kvm_sregs *s)
{
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_MARK);
	vcpu_sregs_get(vcpu, s);
}

/*
 * Run the guest (guest_kvm_smi) to its OUT to PORT_MARK (*s: its state
 * there) with SMRAM holding the handler [@start, @end), then KVM_SMI and
 * run again: the exit is the handler's.  Returns SMRAM.
 */
static uint8_t *run_smi_into(struct kvm_vcpu *vcpu, const uint8_t *start,
			     const uint8_t *end, struct kvm_sregs *s)
{
	uint8_t *smram = smram_add(vcpu, 0);

	memcpy(smram + SMM_HANDLER, start, end - start);
	expect_mark(vcpu, s);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	vcpu_run(vcpu);
	return smram;
}

static void require_smm(void)
{
	TEST_REQUIRE_CAP(KVM_CAP_X86_SMM);
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_MULTI_ADDRESS_SPACE), 2);
}

/* ---- cases ------------------------------------------------------------------ */

static void smi_ioctl(void)
{
	struct kvm_vcpu_events ev;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_sregs s;
	uint8_t *smram;

	require_smm();
	vm = vm_create_with_one_vcpu(&vcpu, guest_kvm_smi);
	smram = smram_add(vcpu, 0);

	expect_mark(vcpu, &s);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	vcpu_events(vcpu, &ev);
	TEST_ASSERT_EQ(ev.smi.pending, 1);
	TEST_ASSERT_EQ(ev.smi.smm, 0);

	expect_handler(vcpu, guest_out_after);
	check_save_area(smram, &s, guest_out_after);
	expect_returned(vcpu);
	kvm_vm_free(vm);
}

static void smi_self_ipi_x2apic(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_sregs s;
	uint8_t *smram;

	require_smm();
	vm = vm_create_irqchip();
	vcpu = vm_irq_vcpu_add(vm, 0, guest_x2apic);
	vcpu_apic_sw_enable(vcpu);
	smram = smram_add(vcpu, 0);
	vcpu_set_cpuid(vcpu, CPUID_1_ECX_X2APIC);

	vcpu_sregs_get(vcpu, &s);
	expect_handler(vcpu, guest_x2apic_after);
	check_save_area(smram, &s, guest_x2apic_after);
	expect_returned(vcpu);
	kvm_vm_free(vm);
}

static void smi_self_ipi_xapic(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct kvm_sregs s;
	uint8_t *smram;

	require_smm();
	vm = vm_create_irqchip();
	vcpu = vm_irq_vcpu_add(vm, 0, guest_xapic);
	vcpu_apic_sw_enable(vcpu);
	smram = smram_add(vcpu, 0);

	vcpu_sregs_get(vcpu, &s);
	expect_handler(vcpu, guest_xapic_after);
	check_save_area(smram, &s, guest_xapic_after);
	expect_returned(vcpu);
	kvm_vm_free(vm);
}

/* Address space 0 at SMBASE keeps its own contents; only SMM sees SMRAM. */
static void smram_only_in_smm(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_sregs s;
	struct ucall uc;
	uint8_t *as0;

	require_smm();
	vm = vm_create_with_one_vcpu(&vcpu, guest_reads_smbase);
	as0 = vm_add_memory(vm, SMRAM_AS0_SLOT, 0, SMBASE, SMRAM_SIZE);
	memset(as0, AS0_PATTERN, SMRAM_SIZE);
	smram_add(vcpu, 0);

	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], AS0_PATTERN);
	expect_mark(vcpu, &s);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	expect_handler(vcpu, guest_out_after);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], RBX_NEW);
	/* The save area went to SMRAM, not to address space 0. */
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], AS0_PATTERN);
	TEST_ASSERT_EQ(uc.args[1], AS0_PATTERN);
	TEST_ASSERT_EQ(as0[SMRAM_SAVE + SAVE_REVISION], AS0_PATTERN);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* An INIT that arrives in SMM is latched and taken after RSM. */
static void init_latched_in_smm(void)
{
	static const uint8_t reset_code[] = { 0xe6, PORT_RESET, 0xf4 };
	struct kvm_vcpu *vcpu, *sender;
	struct kvm_vcpu_events ev;
	struct kvm_vm *vm;
	struct kvm_sregs s;
	struct kvm_regs r;
	uint8_t *reset, *smram;

	require_smm();
	vm = vm_create_irqchip();
	vcpu = vm_irq_vcpu_add(vm, 0, guest_kvm_smi);
	sender = vm_irq_vcpu_add(vm, 1, guest_send_init);
	vcpu_apic_sw_enable(vcpu);
	vcpu_apic_sw_enable(sender);
	smram = smram_add(vcpu, 0);
	vcpu_set_cpuid(sender, 0);
	reset = vm_add_memory(vm, 5, 0, RESET_GPA, 0x10000);
	memcpy(reset + 0xfff0, reset_code, sizeof(reset_code));

	/* vCPU 0 stops in its SMI handler; vCPU 1 sends it INIT. */
	expect_mark(vcpu, &s);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	expect_handler(vcpu, guest_out_after);
	vcpu_expect_done(sender);
	vcpu_events(vcpu, &ev);
	TEST_ASSERT_EQ(ev.smi.smm, 1);
	TEST_ASSERT_EQ(ev.smi.latched_init, 1);
	TEST_ASSERT_EQ(vcpu_get_mp_state(vcpu), KVM_MP_STATE_RUNNABLE);
	vcpu_sregs_get(vcpu, &s);
	TEST_ASSERT_EQ(s.cs.base, SMBASE);

	/*
	 * The handler goes on (it replaces the saved RBX), RSM, then the
	 * INIT: the BSP restarts at the reset vector.
	 */
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_RESET);
	TEST_ASSERT_EQ(save_u64(smram, SAVE_RBX), RBX_NEW);
	TEST_ASSERT_EQ(vcpu->run->flags & KVM_RUN_X86_SMM, 0);
	vcpu_events(vcpu, &ev);
	TEST_ASSERT_EQ(ev.smi.smm, 0);
	TEST_ASSERT_EQ(ev.smi.latched_init, 0);
	vcpu_sregs_get(vcpu, &s);
	TEST_ASSERT_EQ(s.cs.base, RESET_GPA);
	TEST_ASSERT_EQ(s.cs.selector, 0xf000);
	TEST_ASSERT_EQ(s.cr0 & (X86_CR0_PE | X86_CR0_PG), 0);
	TEST_ASSERT_EQ(s.efer, 0);
	vcpu_regs_get(vcpu, &r);
	TEST_ASSERT(r.rip == 0xfff0 || r.rip == 0xfff2, "rip 0x%llx",
		    (unsigned long long)r.rip);
	/* INIT keeps SMBASE (only RESET sets 0x30000). */
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_IA32_SMBASE), SMBASE);
	kvm_vm_free(vm);
}

/* An SMI that arrives in SMM waits for RSM, then is taken at once. */
static void smi_pending_in_smm(void)
{
	struct kvm_vcpu_events ev;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_sregs s;
	struct kvm_regs r;
	uint8_t *smram;

	require_smm();
	vm = vm_create_with_one_vcpu(&vcpu, guest_kvm_smi);
	smram = smram_add(vcpu, 0);
	expect_mark(vcpu, &s);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	expect_handler(vcpu, guest_out_after);

	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	vcpu_events(vcpu, &ev);
	TEST_ASSERT_EQ(ev.smi.smm, 1);
	TEST_ASSERT_EQ(ev.smi.pending, 1);

	/* RSM, and the second SMI before the guest's next instruction. */
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_SMM);
	vcpu_regs_get(vcpu, &r);
	TEST_ASSERT_EQ(r.rcx & 0xffffffff,
		       (uint64_t)(uintptr_t)guest_out_after & 0xffffffff);
	TEST_ASSERT_EQ(r.rdx & 0xffffffff, RBX_NEW & 0xffffffff);
	TEST_ASSERT_EQ(save_u64(smram, SAVE_RIP),
		       (uint64_t)(uintptr_t)guest_out_after);
	vcpu_events(vcpu, &ev);
	TEST_ASSERT_EQ(ev.smi.smm, 1);
	TEST_ASSERT_EQ(ev.smi.pending, 0);
	expect_returned(vcpu);
	kvm_vm_free(vm);
}

/* A save area RSM cannot load shuts the processor down (APM vol 2, 10.4). */
static void rsm_bad_state(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_sregs s;
	uint8_t *smram;

	require_smm();
	vm = vm_create_with_one_vcpu(&vcpu, guest_kvm_smi);
	smram = run_smi_into(vcpu, smm_bad_cr0_start, smm_bad_cr0_end, &s);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	TEST_ASSERT_EQ(save_u64(smram, SAVE_CR0), s.cr0 & ~X86_CR0_PE);
	kvm_vm_free(vm);
}

/* Without long mode in CPUID the save area has the legacy layout. */
static void legacy_save_area(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_sregs s;
	struct kvm_regs r, r0;
	uint8_t *smram;
	uint32_t eip;

	require_smm();
	vm = vm_create_real_mode(&vcpu, rm_smi_start, rm_smi_end - rm_smi_start);
	smram = vm_add_memory(vm, SMRAM_SLOT, 0, SMBASE, SMRAM_SIZE);
	memcpy(smram + SMM_HANDLER, smm_legacy_handler_start,
	       smm_legacy_handler_end - smm_legacy_handler_start);
	vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMBASE);
	vcpu_regs_get(vcpu, &r0);
	eip = r0.rip + (rm_smi_after - rm_smi_start);

	expect_mark(vcpu, &s);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_SMM);
	TEST_ASSERT(vcpu->run->flags & KVM_RUN_X86_SMM, "not in SMM");
	vcpu_regs_get(vcpu, &r);
	TEST_ASSERT_EQ(r.rcx & 0xffffffff, eip);
	TEST_ASSERT_EQ(r.rdx & 0xffffffff, 0x11223344);
	TEST_ASSERT_EQ(r.rsi & 0xffffffff, SMBASE);
	TEST_ASSERT_EQ(r.rdi & 0xffffffff, SMM_REVISION_LEGACY);
	TEST_ASSERT_EQ(save_u32(smram, SAVE32_EIP), eip);
	TEST_ASSERT_EQ(save_u32(smram, SAVE32_EFLAGS), r0.rflags);
	TEST_ASSERT_EQ(save_u32(smram, SAVE32_CR0), s.cr0);
	TEST_ASSERT_EQ(save_u32(smram, SAVE32_SMBASE), SMBASE);
	TEST_ASSERT_EQ(save_u32(smram, SAVE32_CS_SEL), s.cs.selector);
	TEST_ASSERT_EQ(save_u32(smram, SAVE32_CS_BASE), s.cs.base);
	TEST_ASSERT_EQ(save_u32(smram, SAVE32_CS_LIMIT), s.cs.limit);
	/* Flags as in a descriptor's second dword: type 8-11, P 15. */
	TEST_ASSERT_EQ(save_u32(smram, SAVE32_CS_FLAGS) & 0x8f00,
		       0x8000 | (s.cs.type << 8));

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_MARK + 1);
	TEST_ASSERT_EQ(vcpu->run->flags & KVM_RUN_X86_SMM, 0);
	vcpu_regs_get(vcpu, &r);
	TEST_ASSERT_EQ(r.rbx, 0x600dcafe);
	vcpu_sregs_get(vcpu, &s);
	TEST_ASSERT_EQ(s.cs.base, s.cs.selector * 16ULL);
	TEST_ASSERT_EQ(s.cr0 & X86_CR0_PE, 0);
	kvm_vm_free(vm);
}

/*
 * A VMM can run a vCPU in long mode without long mode in its CPUID; an SMI
 * then takes the legacy save area.  Paging goes off at entry, so long mode
 * must not stay active (a state no processor runs: it hung the host once).
 */
static void legacy_from_long_mode(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_sregs s;
	struct kvm_regs r;
	uint8_t *smram;

	require_smm();
	vm = vm_create_with_one_vcpu(&vcpu, guest_kvm_smi);	/* no CPUID */
	smram = vm_add_memory(vm, SMRAM_SLOT, 0, SMBASE, SMRAM_SIZE);
	memcpy(smram + SMM_HANDLER, smm_legacy_handler_start,
	       smm_legacy_handler_end - smm_legacy_handler_start);
	vcpu_set_msr(vcpu, MSR_IA32_SMBASE, SMBASE);

	expect_mark(vcpu, &s);
	TEST_ASSERT(s.efer & EFER_LMA, "efer 0x%llx", (unsigned long long)s.efer);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_SMM);
	TEST_ASSERT(vcpu->run->flags & KVM_RUN_X86_SMM, "not in SMM");
	vcpu_regs_get(vcpu, &r);
	TEST_ASSERT_EQ(r.rcx & 0xffffffff,
		       (uint64_t)(uintptr_t)guest_out_after & 0xffffffff);
	TEST_ASSERT_EQ(r.rdi & 0xffffffff, SMM_REVISION_LEGACY);
	vcpu_sregs_get(vcpu, &s);
	TEST_ASSERT_EQ(s.cr0 & (X86_CR0_PE | X86_CR0_PG), 0);
	TEST_ASSERT_EQ(s.efer & EFER_LMA, 0);
	kvm_vm_free(vm);
}

static void copy_slot0(struct kvm_vm *dst, struct kvm_vm *src)
{
	struct vm_region *d = NULL, *s = NULL;
	int i;

	for (i = 0; i < VM_MAX_REGIONS; i++) {
		if (src->regions[i].in_use && src->regions[i].slot == 0)
			s = &src->regions[i];
		if (dst->regions[i].in_use && dst->regions[i].slot == 0)
			d = &dst->regions[i];
	}
	TEST_ASSERT(s && d && s->size == d->size, "slot 0 differs");
	memcpy(d->hva, s->hva, s->size);
}

/*
 * Save a vCPU in its SMI handler, restore it into a new VM (as a VMM
 * migrating it would), and let the handler's RSM return there.
 */
static void save_restore_in_smm(void)
{
	struct kvm_vcpu *vcpu, *vcpu2;
	struct kvm_vm *vm, *vm2;
	struct kvm_vcpu_events ev;
	struct kvm_sregs s, s_before;
	struct kvm_regs r;
	uint8_t *smram, *smram2;

	require_smm();
	vm = vm_create_with_one_vcpu(&vcpu, guest_kvm_smi);
	smram = smram_add(vcpu, 0);
	expect_mark(vcpu, &s_before);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	expect_handler(vcpu, guest_out_after);

	/* Finish the handler's OUT without running on, then take the state. */
	vcpu->run->immediate_exit = 1;
	TEST_ASSERT_ERRNO(__vcpu_run(vcpu), EINTR);
	vcpu->run->immediate_exit = 0;
	vcpu_sregs_get(vcpu, &s);
	vcpu_regs_get(vcpu, &r);
	vcpu_events(vcpu, &ev);
	TEST_ASSERT_EQ(ev.smi.smm, 1);

	vm2 = vm_create_with_one_vcpu(&vcpu2, guest_kvm_smi);
	copy_slot0(vm2, vm);
	smram2 = smram_add(vcpu2, 0);
	memcpy(smram2, smram, SMRAM_SIZE);
	kvm_vm_free(vm);

	vcpu_sregs_set(vcpu2, &s);
	vcpu_set_msr(vcpu2, MSR_IA32_SMBASE, SMBASE);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu2, KVM_SET_VCPU_EVENTS, &ev));
	vcpu_regs_set(vcpu2, &r);
	vcpu_events(vcpu2, &ev);
	TEST_ASSERT_EQ(ev.smi.smm, 1);

	expect_returned(vcpu2);
	vcpu_sregs_get(vcpu2, &s);
	TEST_ASSERT_EQ(s.cr3, s_before.cr3);
	TEST_ASSERT_EQ(s.efer, s_before.efer);
	kvm_vm_free(vm2);
}

/* KVM_GET_DIRTY_LOG of an address-space-1 slot sees the SMM writes. */
static void dirty_log_smram(void)
{
	unsigned long bitmap[(SMRAM_SIZE / PAGE_SIZE + 63) / 64] = { 0 };
	struct kvm_dirty_log log = { .slot = SMRAM_SLOT, .dirty_bitmap = bitmap };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_sregs s;

	require_smm();
	vm = vm_create_with_one_vcpu(&vcpu, guest_kvm_smi);
	smram_add(vcpu, KVM_MEM_LOG_DIRTY_PAGES);
	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
	TEST_ASSERT_EQ(bitmap[0], 0);

	expect_mark(vcpu, &s);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SMI, NULL));
	expect_handler(vcpu, guest_out_after);
	expect_returned(vcpu);
	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
	/* The save area's page, written at entry and by the handler. */
	TEST_ASSERT(bitmap[0] & (1ul << (SMRAM_SAVE / PAGE_SIZE)),
		    "bitmap 0x%lx", bitmap[0]);
	kvm_vm_free(vm);
}

static void errors(void)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_INIT_RECEIVED };
	struct kvm_vcpu_events ev;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	void *mem;

	require_smm();
	vm = vm_create_irqchip();
	vcpu = vm_irq_vcpu_add(vm, 0, guest_rsm);

	/* Address spaces 0 and 1 only. */
	mem = vm_add_memory(vm, 3, 0, SMBASE, SMRAM_SIZE);
	TEST_ASSERT_ERRNO(__vm_set_user_memory_region(vm, (2u << 16) | 4, 0,
						      SMBASE, SMRAM_SIZE, mem),
			  EINVAL);
	/* Slot ids of address space 1 with no slot: ENOENT, as upstream. */
	{
		struct kvm_dirty_log log = { .slot = (1u << 16) | 7,
					     .dirty_bitmap = mem };

		TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log), ENOENT);
		log.slot = (2u << 16) | 7;
		TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log), EINVAL);
	}

	/* A vCPU waiting for SIPI takes no SMI state, and the reverse. */
	vcpu_set_mp_state(vcpu, KVM_MP_STATE_INIT_RECEIVED);
	vcpu_events(vcpu, &ev);
	ev.flags = KVM_VCPUEVENT_VALID_SMM;
	ev.smi.pending = 1;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &ev), EINVAL);
	vcpu_set_mp_state(vcpu, KVM_MP_STATE_RUNNABLE);
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &ev));
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp), EINVAL);
	ev.smi.pending = 0;
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &ev));
	vcpu_events(vcpu, &ev);
	TEST_ASSERT_EQ(ev.smi.pending, 0);

	/* RSM outside SMM is #UD. */
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_EXCEPTION);
	TEST_ASSERT_EQ(uc.args[0], 6);
	kvm_vm_free(vm);

	/* MSR_IA32_SMBASE is for the VMM: the guest's RDMSR #GPs. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_read_smbase_msr);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_EXCEPTION);
	TEST_ASSERT_EQ(uc.args[0], 13);
	kvm_vm_free(vm);
}

/* An instruction emulated in SMM: fetched from SMRAM, its MMIO read exits. */
static void mmio_in_smm(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_sregs s;
	struct kvm_regs r;
	struct ucall uc;

	require_smm();
	vm = vm_create_with_one_vcpu(&vcpu, guest_kvm_smi);
	run_smi_into(vcpu, smm_mmio_start, smm_mmio_end, &s);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(vcpu->run->mmio.phys_addr, SMM_MMIO_GPA);
	TEST_ASSERT_EQ(vcpu->run->mmio.len, 1);
	TEST_ASSERT_EQ(vcpu->run->mmio.is_write, 0);
	TEST_ASSERT(vcpu->run->flags & KVM_RUN_X86_SMM, "flags 0x%x",
		    vcpu->run->flags);
	vcpu->run->mmio.data[0] = 0xa5;

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_SMM);
	vcpu_regs_get(vcpu, &r);
	TEST_ASSERT_EQ(r.rax & 0xff, 0xa5);

	/* RSM: back where the SMI came, RBX as it was. */
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], RBX_BEFORE);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(smi_ioctl),
		KTAP_CASE(smi_self_ipi_x2apic),
		KTAP_CASE(smi_self_ipi_xapic),
		KTAP_CASE(smram_only_in_smm),
		KTAP_CASE(mmio_in_smm),
		KTAP_CASE(save_restore_in_smm),
		KTAP_CASE(init_latched_in_smm),
		KTAP_CASE(smi_pending_in_smm),
		KTAP_CASE(rsm_bad_state),
		KTAP_CASE(legacy_save_area),
		KTAP_CASE(legacy_from_long_mode),
		KTAP_CASE(dirty_log_smram),
		KTAP_CASE(errors),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

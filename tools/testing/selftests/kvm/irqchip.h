/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the irqchip_*_test programs: guest-side access to the local
 * APIC (xAPIC MMIO and x2APIC MSRs, SDM vol 3 ch. 10) and the IOAPIC
 * (82093AA), interrupt handlers for vectors 32-255 that count what they
 * got, and host-side setup (in-kernel irqchip, full IDT, CPUID).
 *
 * Include from exactly one .c file per test binary (it defines the
 * handler stubs).
 */
#ifndef SELFTEST_KVM_IRQCHIP_H
#define SELFTEST_KVM_IRQCHIP_H

#include <stdlib.h>
#include "kvm_util.h"

#define APIC_GPA		0xfee00000ULL
#define IOAPIC_GPA		0xfec00000ULL

/* Local APIC registers (SDM vol 3, table 10-1) and bits. */
#define APIC_ID			0x20
#define APIC_LVR		0x30
#define APIC_TPR		0x80
#define APIC_PPR		0xa0
#define APIC_EOI		0xb0
#define APIC_LDR		0xd0
#define APIC_DFR		0xe0
#define APIC_SVR		0xf0
#define APIC_ISR		0x100
#define APIC_TMR		0x180
#define APIC_IRR		0x200
#define APIC_ESR		0x280
#define APIC_ICR		0x300
#define APIC_ICR2		0x310
#define APIC_LVTT		0x320
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_TMICT		0x380
#define APIC_TMCCT		0x390
#define APIC_TDCR		0x3e0
#define APIC_SELF_IPI		0x3f0

#define APIC_SVR_ENABLE		(1u << 8)
#define APIC_LVT_MASKED		(1u << 16)
#define APIC_TIMER_PERIODIC	(1u << 17)
#define APIC_TIMER_TSCDEADLINE	(2u << 17)
#define APIC_TDCR_DIV1		0xb
#define APIC_DM_FIXED		0x000
#define APIC_DM_NMI		0x400
#define APIC_DM_INIT		0x500
#define APIC_DM_STARTUP		0x600
#define APIC_DM_EXTINT		0x700
#define APIC_ICR_LOGICAL	(1u << 11)
#define APIC_ICR_ASSERT		(1u << 14)
#define APIC_ICR_LEVEL		(1u << 15)
#define APIC_DEST_SELF		(1u << 18)
#define APIC_DEST_ALLINC	(2u << 18)
#define APIC_DEST_ALLBUT	(3u << 18)

#define MSR_IA32_APICBASE	0x1b
#define APICBASE_ENABLE		(1ull << 11)
#define APICBASE_EXTD		(1ull << 10)
#define MSR_IA32_TSC_DEADLINE	0x6e0
#define MSR_X2APIC_BASE		0x800

/* IOAPIC (82093AA, 3.2). */
#define IOAPIC_REDIR(pin)	(0x10 + 2 * (pin))
#define IOAPIC_LEVEL		(1u << 15)
#define IOAPIC_REMOTE_IRR	(1u << 14)
#define IOAPIC_MASKED		(1u << 16)

/* ---- guest side --------------------------------------------------------- */

static inline uint32_t xapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(APIC_GPA + reg);
}

static inline void xapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(APIC_GPA + reg) = v;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
		     "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | ((uint64_t)hi << 32);
}

static inline void cli(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void sti(void)
{
	asm volatile("sti" : : : "memory");
}

/* STI's shadow covers HLT: no interrupt slips in between. */
static inline void sti_hlt(void)
{
	asm volatile("sti; hlt" : : : "memory");
}

static inline void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)IOAPIC_GPA = reg;
	*(volatile uint32_t *)(uintptr_t)(IOAPIC_GPA + 0x10) = v;
}

static inline uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)(uintptr_t)IOAPIC_GPA = reg;
	return *(volatile uint32_t *)(uintptr_t)(IOAPIC_GPA + 0x10);
}

/* How the guest's handler signals end of interrupt. */
enum guest_eoi {
	EOI_NONE,
	EOI_XAPIC,
	EOI_X2APIC,
	EOI_PIC,	/* non-specific EOI to the master (and slave) 8259 */
	EOI_PV,		/* PV EOI: clear pv_eoi_word bit 0, else xAPIC EOI */
};

volatile uint64_t irq_count[256];
volatile uint64_t irq_tsc[256];		/* TSC when the vector last came */
volatile uint64_t irq_last;
volatile uint64_t irq_eoi_mode;
/* Interrupts of vector irq_percpu_vector, per xAPIC ID (up to 8). */
volatile uint64_t irq_percpu_vector;
volatile uint64_t irq_percpu[8];
/* MSR_KVM_PV_EOI_EN's flag word (one vCPU), and EOIs it saved. */
volatile uint64_t pv_eoi_word __attribute__((aligned(8)));
volatile uint64_t pv_eoi_skipped;

void guest_irq_handler(uint64_t vector);
void guest_irq_handler(uint64_t vector)
{
	irq_tsc[vector] = rdtsc();
	/* vCPUs share these counters: count atomically. */
	__atomic_add_fetch(&irq_count[vector], 1, __ATOMIC_SEQ_CST);
	if (irq_percpu_vector && vector == irq_percpu_vector)
		irq_percpu[(xapic_read(APIC_ID) >> 24) & 7]++;
	irq_last = vector;
	switch (irq_eoi_mode) {
	case EOI_XAPIC:
		xapic_write(APIC_EOI, 0);
		break;
	case EOI_X2APIC:
		wrmsr(MSR_X2APIC_BASE + (APIC_EOI >> 4), 0);
		break;
	case EOI_PIC:
		if (vector >= 0x28 && vector < 0x30)
			outb(0xa0, 0x20);
		outb(0x20, 0x20);
		break;
	case EOI_PV:
		/* The guest side of KVM_PV_EOI_ENABLED (<asm/kvm_para.h>). */
		if (__atomic_fetch_and(&pv_eoi_word, ~1ULL, __ATOMIC_SEQ_CST) & 1)
			pv_eoi_skipped++;
		else
			xapic_write(APIC_EOI, 0);
		break;
	}
}

/*
 * Entry stubs for vectors 32-255, 16 bytes apart: push the vector, save
 * the caller-saved registers, call the C handler on a 16-byte aligned
 * stack, IRET (SDM vol 3, 6.14.2 for the frame).
 */
asm(".pushsection .text\n"
    ".align 16\n"
    "guest_irq_stubs:\n"
    "vec = 32\n"
    ".rept 224\n"
    "	.align 16\n"
    "	pushq $vec\n"
    "	jmp guest_irq_common\n"
    "	vec = vec + 1\n"
    ".endr\n"
    "guest_irq_common:\n"
    "	push %rax\n push %rcx\n push %rdx\n push %rsi\n push %rdi\n"
    "	push %r8\n push %r9\n push %r10\n push %r11\n"
    "	sub $8, %rsp\n"
    "	mov 80(%rsp), %rdi\n"
    "	call guest_irq_handler\n"
    "	add $8, %rsp\n"
    "	pop %r11\n pop %r10\n pop %r9\n pop %r8\n"
    "	pop %rdi\n pop %rsi\n pop %rdx\n pop %rcx\n pop %rax\n"
    "	add $8, %rsp\n"
    "	iretq\n"
    ".popsection\n");

extern char guest_irq_stubs[];

/*
 * Wait for @cnt to reach @n, halting in between.  The check runs with
 * interrupts off so that no interrupt slips in between it and the HLT
 * (STI's one-instruction shadow covers the HLT).  Returns with IF clear.
 */
static inline void guest_wait_irqs(volatile uint64_t *cnt, uint64_t n)
{
	for (;;) {
		cli();
		if (*cnt >= n)
			break;
		sti_hlt();
	}
}

/* Wait with interrupts on, without HLT (for counters others bump). */
static inline void guest_spin_irqs(volatile uint64_t *cnt, uint64_t n)
{
	sti();
	while (*cnt < n)
		asm volatile("pause");
	cli();
}

/* Let pending interrupts in for a while, then close again. */
static inline void guest_irq_window(void)
{
	int i;

	sti();
	for (i = 0; i < 1000; i++)
		asm volatile("pause");
	cli();
}

/* ---- host side ---------------------------------------------------------- */

/* Interrupt gates for 32-255 and an IDT limit that covers them. */
static inline void vcpu_install_irq_handlers(struct kvm_vcpu *vcpu)
{
	uint64_t *idt = addr_gpa2hva(vcpu->vm, VM_IDT_GPA);
	struct kvm_sregs sregs;
	int v;

	for (v = 32; v < 256; v++) {
		uint64_t h = (uint64_t)(uintptr_t)guest_irq_stubs + (v - 32) * 16;

		idt[2 * v] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
			     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = h >> 32;
	}
	vcpu_sregs_get(vcpu, &sregs);
	sregs.idt.limit = 256 * 16 - 1;
	vcpu_sregs_set(vcpu, &sregs);
}

/* A long-mode VM with the in-kernel irqchip (before any vCPU). */
static inline struct kvm_vm *vm_create_irqchip(void)
{
	struct kvm_vm *vm;

	TEST_REQUIRE_CAP(KVM_CAP_IRQCHIP);
	vm = vm_create(VM_MODE_LONG, 0);
	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	return vm;
}

/* Application processors start waiting for SIPI: let them run. */
static inline void vcpu_set_mp_state(struct kvm_vcpu *vcpu, uint32_t state)
{
	struct kvm_mp_state mp = { .mp_state = state };

	vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp);
}

static inline uint32_t vcpu_get_mp_state(struct kvm_vcpu *vcpu)
{
	struct kvm_mp_state mp;

	vcpu_ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	return mp.mp_state;
}

/* Set SVR.8 from the host, so the APIC takes fixed interrupts at once. */
static inline void vcpu_apic_sw_enable(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic_state s;

	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &s);
	*(uint32_t *)&s.regs[APIC_SVR] = APIC_SVR_ENABLE | 0xff;
	vcpu_ioctl(vcpu, KVM_SET_LAPIC, &s);
}

/* A vCPU running @guest_code with interrupt handlers and RUNNABLE. */
static inline struct kvm_vcpu *vm_irq_vcpu_add(struct kvm_vm *vm, uint32_t id,
					       void *guest_code)
{
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, id, guest_code);

	vcpu_install_irq_handlers(vcpu);
	vcpu_set_mp_state(vcpu, KVM_MP_STATE_RUNNABLE);
	return vcpu;
}

/* The supported CPUID with this vCPU's APIC ID (x2APIC, TSC deadline). */
static inline void vcpu_set_cpuid(struct kvm_vcpu *vcpu, uint32_t ecx1_or)
{
	struct kvm_cpuid2 *c;
	uint32_t i;

	c = calloc(1, sizeof(*c) + 100 * sizeof(c->entries[0]));
	TEST_ASSERT(c, "calloc");
	c->nent = 100;
	kvm_ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
	for (i = 0; i < c->nent; i++) {
		if (c->entries[i].function == 1) {
			c->entries[i].ebx = (c->entries[i].ebx & 0xffffff) |
					    (vcpu->id << 24);
			c->entries[i].ecx |= ecx1_or;
		}
	}
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, c);
	free(c);
}

#define CPUID_1_ECX_X2APIC		(1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE	(1u << 24)

/* Read a guest global from the host while the guest may run. */
#define guest_read(vm, g) (*(volatile __typeof__(g) *)addr_gva2hva(vm, &(g)))

#endif

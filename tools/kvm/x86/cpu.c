// SPDX-License-Identifier: GPL-2.0
/*
 * x86 vCPU set-up: CPUID, MSRs, local APIC LVTs and the register state
 * each boot protocol expects at the kernel's entry point.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/kvm-cpu.h"
#include "kvm/x86.h"

/* Architectural bits (SDM vol 3, 2.5 "Control Registers"; APM vol 2, 3.1). */
#define X86_CR0_PE		(1ULL << 0)
#define X86_CR0_ET		(1ULL << 4)
#define X86_CR0_NE		(1ULL << 5)
#define X86_CR0_PG		(1ULL << 31)
#define X86_CR4_PAE		(1ULL << 5)
#define EFER_LME		(1ULL << 8)
#define EFER_LMA		(1ULL << 10)
#define X86_RFLAGS_FIXED	(1ULL << 1)

/* Page-table entry bits (SDM vol 3, 4.5). */
#define PTE_PRESENT		(1ULL << 0)
#define PTE_RW			(1ULL << 1)
#define PTE_PS			(1ULL << 7)

#define MSR_IA32_MISC_ENABLE	0x000001a0
#define MISC_ENABLE_FAST_STRING	(1ULL << 0)

/* Local APIC register offsets and LVT delivery modes (SDM vol 3, 10.5.1). */
#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_DM_NMI		(4 << 8)
#define APIC_DM_EXTINT		(7 << 8)

#define CPUID_MAX_ENTRIES	256
#define CPUID_1_ECX_HYPERVISOR	(1U << 31)

static struct kvm_cpuid2 *supported_cpuid(struct kvm *kvm)
{
	static struct kvm_cpuid2 *cached;
	struct kvm_cpuid2 *c;

	if (cached)
		return cached;
	c = xzalloc(sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0)
		die_errno("KVM_GET_SUPPORTED_CPUID");
	cached = c;
	return c;
}

void kvm_cpu__setup_cpuid(struct kvm_cpu *cpu)
{
	struct kvm_cpuid2 *sup = supported_cpuid(cpu->kvm);
	size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = xzalloc(size);

	memcpy(c, sup, size);
	for (u32 i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* EBX[31:24]: initial APIC ID. */
			e->ebx = (e->ebx & 0x00ffffff) | (u32)cpu->id << 24;
			/*
			 * ECX[31]: "running under a hypervisor", which KVM
			 * leaves to userspace; without it the guest never
			 * looks at the KVM leaves (kvmclock, PV EOI...).
			 */
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case 0xb:
		case 0x1f:
			/* EDX: x2APIC ID of this logical processor. */
			e->edx = cpu->id;
			break;
		}
	}
	if (ioctl(cpu->fd, KVM_SET_CPUID2, c) < 0)
		die_errno("KVM_SET_CPUID2 on vCPU %d", cpu->id);
	free(c);
}

void kvm_cpu__setup_msrs(struct kvm_cpu *cpu)
{
	static const struct { u32 index; u64 value; } init[] = {
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(init)];
	} msrs = { .hdr.nmsrs = ARRAY_SIZE(init) };
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
		msrs.e[i].index = init[i].index;
		msrs.e[i].data = init[i].value;
	}
	r = ioctl(cpu->fd, KVM_SET_MSRS, &msrs);
	if (r < 0)
		die_errno("KVM_SET_MSRS on vCPU %d", cpu->id);
	if (r != (int)ARRAY_SIZE(init))
		pr_debug("vCPU %d: KVM refused MSR %#x", cpu->id,
			 init[r].index);
}

static u32 *lapic_reg(struct kvm_lapic_state *s, u32 off)
{
	return (u32 *)&s->regs[off];
}

/*
 * Wire LINT0 to the 8259 (ExtINT) and LINT1 to NMI, as the firmware of
 * a PC does and as the MP table says (MP spec 1.4, 3.6.2.3 virtual wire).
 */
void kvm_cpu__setup_lapic(struct kvm_cpu *cpu)
{
	struct kvm_lapic_state s;

	if (ioctl(cpu->fd, KVM_GET_LAPIC, &s) < 0)
		die_errno("KVM_GET_LAPIC on vCPU %d", cpu->id);
	*lapic_reg(&s, APIC_LVT0) = APIC_DM_EXTINT;
	*lapic_reg(&s, APIC_LVT1) = APIC_DM_NMI;
	if (ioctl(cpu->fd, KVM_SET_LAPIC, &s) < 0)
		die_errno("KVM_SET_LAPIC on vCPU %d", cpu->id);
}

/* A flat segment: base 0, 4 GiB limit. */
static struct kvm_segment flat_seg(u16 sel, u8 type, bool code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel,
		.type = type, .present = 1, .s = 1, .g = 1,
		.db = !code64, .l = code64,
	};
}

/* GDT descriptor for a flat segment (SDM vol 3, 3.4.5). */
static u64 gdt_entry(u8 type, bool code64)
{
	u64 access = 0x90 | type;	/* present, DPL 0, code/data */
	u64 flags = code64 ? 0xa : 0xc;	/* G + L, or G + D/B */

	return 0xffffULL | access << 40 | 0xfULL << 48 | flags << 52;
}

#define SEG_TYPE_CODE	0xb	/* execute/read, accessed */
#define SEG_TYPE_DATA	0x3	/* read/write, accessed */
#define SEG_TYPE_TSS	0xb	/* busy 32/64-bit TSS */

static void setup_gdt(struct kvm *kvm, struct kvm_sregs *s)
{
	u64 *gdt = guest_ptr(kvm, BOOT_GDT_ADDR, 6 * sizeof(u64));

	memset(gdt, 0, 6 * sizeof(u64));
	gdt[BOOT_GDT_CS64 / 8] = gdt_entry(SEG_TYPE_CODE, true);
	gdt[BOOT_GDT_DS / 8] = gdt_entry(SEG_TYPE_DATA, false);
	gdt[BOOT_GDT_CS32 / 8] = gdt_entry(SEG_TYPE_CODE, false);
	s->gdt.base = BOOT_GDT_ADDR;
	s->gdt.limit = 6 * sizeof(u64) - 1;
	s->idt.base = 0;
	s->idt.limit = 0;

	s->ds = s->es = s->fs = s->gs = s->ss =
		flat_seg(BOOT_GDT_DS, SEG_TYPE_DATA, false);
	s->tr = (struct kvm_segment){ .limit = 0x67, .type = SEG_TYPE_TSS,
				      .present = 1 };
}

/* Identity map of the first 4 GiB with 2 MiB pages. */
static void setup_page_tables(struct kvm *kvm)
{
	u64 *pml4 = guest_ptr(kvm, BOOT_PML4_ADDR, 4096);
	u64 *pdpt = guest_ptr(kvm, BOOT_PDPT_ADDR, 4096);
	u64 *pd = guest_ptr(kvm, BOOT_PD_ADDR, BOOT_PD_PAGES * 4096);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (int i = 0; i < BOOT_PD_PAGES; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_PRESENT | PTE_RW;
	for (int i = 0; i < BOOT_PD_PAGES * 512; i++)
		pd[i] = ((u64)i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;
}

static void boot_regs_64(struct kvm *kvm, struct kvm_sregs *s,
			 struct kvm_regs *r)
{
	setup_gdt(kvm, s);
	setup_page_tables(kvm);
	s->cs = flat_seg(BOOT_GDT_CS64, SEG_TYPE_CODE, true);
	s->cr3 = BOOT_PML4_ADDR;
	s->cr4 = X86_CR4_PAE;
	s->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
	s->efer = EFER_LME | EFER_LMA;
	/* Boot protocol, 64-bit entry: %rsi holds the zero page. */
	r->rsi = kvm->boot_info;
	r->rip = kvm->boot_entry;
}

static void boot_regs_pvh(struct kvm *kvm, struct kvm_sregs *s,
			  struct kvm_regs *r)
{
	setup_gdt(kvm, s);
	s->cs = flat_seg(BOOT_GDT_CS32, SEG_TYPE_CODE, false);
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
	s->cr4 = 0;
	s->efer = 0;
	/* PVH ABI: %ebx holds the start_info address. */
	r->rbx = kvm->boot_info;
	r->rip = kvm->boot_entry;
}

static struct kvm_segment real_seg(u16 sel, u8 type)
{
	return (struct kvm_segment){
		.base = (u64)sel << 4, .limit = 0xffff, .selector = sel,
		.type = type, .present = 1, .s = 1,
	};
}

/*
 * Real-mode protocol: enter the setup code at segment + 0x20 offset 0,
 * with the other segments at its start and the stack below its heap end.
 */
static void boot_regs_real(struct kvm *kvm, struct kvm_sregs *s,
			   struct kvm_regs *r)
{
	u16 seg = kvm->boot_entry >> 4;

	s->cs = real_seg(seg + 0x20, SEG_TYPE_CODE);
	s->ds = s->es = s->fs = s->gs = s->ss = real_seg(seg, SEG_TYPE_DATA);
	s->cr0 &= ~(X86_CR0_PE | X86_CR0_PG);
	s->cr4 = 0;
	s->efer = 0;
	r->rip = 0;
	r->rsp = REAL_STACK_TOP;
}

void kvm_cpu__setup_boot_regs(struct kvm_cpu *cpu)
{
	struct kvm *kvm = cpu->kvm;
	struct kvm_sregs s;
	struct kvm_regs r = { .rflags = X86_RFLAGS_FIXED };

	if (ioctl(cpu->fd, KVM_GET_SREGS, &s) < 0)
		die_errno("KVM_GET_SREGS");
	switch (kvm->boot_mode) {
	case BOOT_MODE_REAL:
		boot_regs_real(kvm, &s, &r);
		break;
	case BOOT_MODE_PVH:
		boot_regs_pvh(kvm, &s, &r);
		break;
	default:
		boot_regs_64(kvm, &s, &r);
		break;
	}
	if (ioctl(cpu->fd, KVM_SET_SREGS, &s) < 0)
		die_errno("KVM_SET_SREGS");
	if (ioctl(cpu->fd, KVM_SET_REGS, &r) < 0)
		die_errno("KVM_SET_REGS");
}

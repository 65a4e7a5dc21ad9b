/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__X86_H
#define KVM__X86_H

#include "kvm/kvm.h"

/*
 * Guest physical layout of what lkvm puts below 1 MiB.  All of it lies in
 * the first 640 KiB (RAM in the e820 map, so the kernel may reuse it once
 * booted) except the firmware area at BIOS_START, which is reserved.
 */
#define BOOT_GDT_ADDR		0x0500
#define BOOT_PVH_INFO_ADDR	0x6000	/* start_info + memmap + modlist */
#define BOOT_ZERO_PAGE_ADDR	0x7000	/* struct boot_params, 4 KiB */
#define BOOT_PML4_ADDR		0x9000
#define BOOT_PDPT_ADDR		0xa000
#define BOOT_PD_ADDR		0xb000	/* 4 pages: 4 GiB in 2 MiB pages */
#define BOOT_PD_PAGES		4
#define REAL_SETUP_ADDR		0x10000	/* real mode: setup code + heap */
#define REAL_SETUP_SEG		(REAL_SETUP_ADDR >> 4)
#define REAL_STACK_TOP		0xe000	/* offset in the setup segment */
#define BOOT_CMDLINE_ADDR	0x20000
#define BOOT_CMDLINE_MAX	4096
#define EBDA_START		0x9fc00
#define BIOS_START		0xe0000
#define BIOS_END		0x100000
#define KERNEL_LOAD_ADDR	0x100000

/* The 64-bit GDT lkvm builds for the 64-bit and PVH entries. */
#define BOOT_GDT_CS64		0x10
#define BOOT_GDT_DS		0x18
#define BOOT_GDT_CS32		0x20

/* Interrupt controllers, where KVM's in-kernel irqchip puts them. */
#define X86_LAPIC_ADDR		0xfee00000
#define X86_IOAPIC_ADDR		0xfec00000
/* The IOAPIC's ID follows the CPUs' APIC IDs (0 .. nr_cpus - 1). */
#define X86_IOAPIC_ID(kvm)	((kvm)->nr_cpus)

/* e820 entry types (ACPI spec, "Address Range Types"). */
#define E820_RAM		1
#define E820_RESERVED		2

struct e820_entry {
	u64 addr;
	u64 size;
	u32 type;
} __attribute__((packed));

#define E820_MAX		16

/* The guest's memory map, shared by the zero page, PVH and the BIOS. */
int x86__e820_map(struct kvm *kvm, struct e820_entry *map, int max);

/* Loaders (x86/boot.c, x86/pvh.c): fill kvm->boot_*; die on bad input. */
void x86__load_kernel(struct kvm *kvm);
bool pvh__is_elf(const u8 *image, size_t size);
void pvh__load(struct kvm *kvm, const u8 *image, size_t size,
	       const u8 *initrd, size_t initrd_size);

/* Real-mode BIOS services (x86/bios.c). */
void bios__setup(struct kvm *kvm);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest page-table walker: translates a guest linear address to a guest
 * physical address the way the processor does (APM vol 2, ch. 5), checks
 * the access rights and sets the accessed/dirty bits.
 *
 * Users: the instruction emulator, KVM_TRANSLATE, shadow paging and
 * "lkvm debug".  It touches guest memory only through struct x86_walk_ops,
 * so it has no kernel or libc dependency.
 */
#ifndef ARCH_X86_KVM_MMU_WALK_H
#define ARCH_X86_KVM_MMU_WALK_H

#include "../emulate_types.h"

/*
 * Control register and EFER bits the walker looks at.  The CR bits have
 * names of their own, so that kernel code can include this header after
 * <asm/processor-flags.h> without clashing with the kernel's X86_CR*_*.
 */
#define X86_WALK_CR0_WP		(1ULL << 16)
#define X86_WALK_CR0_PG		(1ULL << 31)
#define X86_WALK_CR4_PSE	(1ULL << 4)
#define X86_WALK_CR4_PAE	(1ULL << 5)
#define X86_WALK_CR4_LA57	(1ULL << 12)
#define X86_WALK_CR4_SMEP	(1ULL << 20)
#define X86_WALK_CR4_SMAP	(1ULL << 21)
/*
 * The usual names too, for code without kernel headers (lkvm, the unit
 * tests); where the kernel's are defined they have the same values.
 */
#ifndef X86_CR0_WP
#define X86_CR0_WP		X86_WALK_CR0_WP
#endif
#ifndef X86_CR0_PG
#define X86_CR0_PG		X86_WALK_CR0_PG
#endif
#ifndef X86_CR4_PSE
#define X86_CR4_PSE		X86_WALK_CR4_PSE
#endif
#ifndef X86_CR4_PAE
#define X86_CR4_PAE		X86_WALK_CR4_PAE
#endif
#ifndef X86_CR4_LA57
#define X86_CR4_LA57		X86_WALK_CR4_LA57
#endif
#ifndef X86_CR4_SMEP
#define X86_CR4_SMEP		X86_WALK_CR4_SMEP
#endif
#ifndef X86_CR4_SMAP
#define X86_CR4_SMAP		X86_WALK_CR4_SMAP
#endif
#define X86_EFER_LME		(1ULL << 8)
#define X86_EFER_LMA		(1ULL << 10)
#define X86_EFER_NXE		(1ULL << 11)
#define X86_RFLAGS_AC		(1ULL << 18)

/* Page-fault error code bits (APM vol 2, 8.4.2). */
#define X86_PF_PRESENT		(1U << 0)
#define X86_PF_WRITE		(1U << 1)
#define X86_PF_USER		(1U << 2)
#define X86_PF_RSVD		(1U << 3)
#define X86_PF_FETCH		(1U << 4)

/* Paging-structure entry bits. */
#define X86_PTE_P		(1ULL << 0)
#define X86_PTE_RW		(1ULL << 1)
#define X86_PTE_US		(1ULL << 2)
#define X86_PTE_A		(1ULL << 5)
#define X86_PTE_D		(1ULL << 6)
#define X86_PTE_PS		(1ULL << 7)
#define X86_PTE_NX		(1ULL << 63)

/* What kind of access is being translated (@access of x86_walk()). */
#define X86_WALK_WRITE		(1U << 0)
#define X86_WALK_FETCH		(1U << 1)
/* Access made by CPL 3 software (clear for implicit supervisor accesses). */
#define X86_WALK_USER		(1U << 2)
/*
 * Implicit supervisor access (descriptor tables, TSS): SMAP applies
 * regardless of RFLAGS.AC (APM vol 2, 5.6.6).
 */
#define X86_WALK_IMPLICIT	(1U << 3)
/* Translate only: do not set accessed/dirty bits (debuggers, KVM_TRANSLATE). */
#define X86_WALK_NO_AD		(1U << 4)

#define X86_WALK_MAX_LEVELS	5

struct x86_walk_ops {
	/*
	 * Read the @size (4 or 8) byte paging-structure entry at guest
	 * physical @gpa.  Return 0, or < 0 if @gpa is not guest RAM.
	 */
	int (*read_pte)(void *opaque, u64 gpa, u64 *pte, unsigned int size);
	/*
	 * Atomically replace the entry at @gpa with @new if it still holds
	 * @old.  Return 0 on success, 1 if the entry changed under us,
	 * < 0 if @gpa is not guest RAM.
	 */
	int (*cmpxchg_pte)(void *opaque, u64 gpa, u64 old, u64 new,
			   unsigned int size);
};

/* The processor state that selects the paging mode and the checks. */
struct x86_walk_regs {
	u64 cr0, cr3, cr4, efer;
	u64 rflags;		/* for RFLAGS.AC (SMAP) */
	u8 maxphyaddr;		/* CPUID 0x80000008 EAX[7:0]; 0 means 52 */
	bool gbpages;		/* 1 GiB pages supported (CPUID 0x80000001 EDX[26]) */
};

struct x86_walk_result {
	u64 gpa;		/* translated address (valid on X86_WALK_OK) */
	u64 page_size;		/* size of the mapping that translated it */
	u32 pfec;		/* #PF error code (valid on X86_WALK_FAULT) */
	u8 levels;		/* entries read, root first, in pte[]/pte_gpa[] */
	bool writable, user, nx;	/* effective permissions of the mapping */
	u64 pte[X86_WALK_MAX_LEVELS];
	u64 pte_gpa[X86_WALK_MAX_LEVELS];
};

enum x86_walk_status {
	X86_WALK_OK = 0,
	X86_WALK_FAULT,		/* inject #PF with res->pfec, CR2 = @la */
	X86_WALK_ERROR,		/* a paging structure is not in guest RAM */
};

enum x86_walk_status x86_walk(const struct x86_walk_ops *ops, void *opaque,
			      const struct x86_walk_regs *regs, u64 la,
			      u32 access, struct x86_walk_result *res);

/* True if @la is canonical for the paging mode in @regs (48 or 57 bits). */
bool x86_walk_canonical(const struct x86_walk_regs *regs, u64 la);

#endif /* ARCH_X86_KVM_MMU_WALK_H */

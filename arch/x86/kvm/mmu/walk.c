// SPDX-License-Identifier: GPL-2.0
/*
 * Guest page-table walker (APM vol 2, 5.2-5.6 and 8.4.2).
 *
 * Supported: legacy 2-level paging (with CR4.PSE 4 MiB pages and PSE-36
 * high address bits), PAE, 4-level and 5-level long-mode paging, 2 MiB and
 * 1 GiB pages, U/S, R/W with CR0.WP, NX, SMEP, SMAP and accessed/dirty
 * updates.  Protection keys are not supported (CR4.PKE is never exposed).
 *
 * A/D bits are set only once the whole translation has succeeded, and with
 * a compare-and-exchange so a racing guest update restarts the walk.  PAE
 * PDPTEs are read from memory on every walk instead of being cached at CR3
 * load (APM vol 2, 5.3.3 allows either for nested paging guests).
 */
#include "walk.h"

#define PAGE_SHIFT_4K		12
#define PTE_ADDR_LOW		0xfffff000ULL
#define PSE36_HIGH_SHIFT	13	/* 4 MiB PDE bits 20:13 = address 39:32 */
#define PSE36_HIGH_MASK		0xffULL
#define PSE_4M_RSVD		(1ULL << 21)
#define PAE_PDPTE_RSVD		(0x1e6ULL | X86_PTE_NX)	/* bits 1,2,5-8,63 */
#define WALK_MAX_RETRIES	16

struct walk_mode {
	u8 levels;		/* number of paging levels */
	u8 pte_size;		/* 4 or 8 bytes */
	u8 idx_bits;		/* index bits per level */
	bool nx;		/* EFER.NXE applies (not in 2-level paging) */
};

bool x86_walk_canonical(const struct x86_walk_regs *regs, u64 la)
{
	unsigned int bits = (regs->cr4 & X86_WALK_CR4_LA57) ? 57 : 48;
	s64 sla = (s64)(la << (64 - bits)) >> (64 - bits);

	return (u64)sla == la;
}

static u64 phys_mask(const struct x86_walk_regs *regs)
{
	unsigned int m = regs->maxphyaddr ? regs->maxphyaddr : 52;

	if (m > 52)
		m = 52;
	return ((1ULL << m) - 1) & ~0xfffULL;
}

/* Reserved bits of a present long-mode/PAE entry at @level (1 = PTE). */
static u64 rsvd_bits(const struct x86_walk_regs *regs,
		     const struct walk_mode *m, int level, bool large)
{
	u64 rsvd;

	if (m->pte_size == 4) {
		/* 2-level paging: only 4 MiB PDEs have reserved bits. */
		if (level == 2 && large) {
			u64 high = phys_mask(regs) >> 32;

			return PSE_4M_RSVD |
			       ((~high & PSE36_HIGH_MASK) << PSE36_HIGH_SHIFT);
		}
		return 0;
	}
	/* Bits 51:MAXPHYADDR of the address field. */
	rsvd = ~phys_mask(regs) & 0x000ffffffffff000ULL;
	if (!(regs->efer & X86_EFER_NXE))
		rsvd |= X86_PTE_NX;
	if (level >= 4)
		rsvd |= X86_PTE_PS;	/* no 512 GiB pages */
	if (level == 3 && large && !regs->gbpages)
		rsvd |= X86_PTE_PS;
	if (large && level == 3)
		rsvd |= 0x3fffe000ULL;	/* bits 29:13 */
	if (large && level == 2)
		rsvd |= 0x1fe000ULL;	/* bits 20:13 */
	return rsvd;
}

static unsigned int pf_code(const struct x86_walk_regs *regs, u32 access,
			    bool present)
{
	unsigned int pfec = present ? X86_PF_PRESENT : 0;

	if (access & X86_WALK_WRITE)
		pfec |= X86_PF_WRITE;
	if (access & X86_WALK_USER)
		pfec |= X86_PF_USER;
	/* I/D is reported when NX or SMEP is in effect (APM vol 2, 8.4.2). */
	if ((access & X86_WALK_FETCH) &&
	    (((regs->efer & X86_EFER_NXE) && (regs->cr4 & X86_WALK_CR4_PAE)) ||
	     (regs->cr4 & X86_WALK_CR4_SMEP)))
		pfec |= X86_PF_FETCH;
	return pfec;
}

/* Protection checks on the combined rights of the whole walk. */
static bool access_allowed(const struct x86_walk_regs *regs, u32 access,
			   const struct x86_walk_result *res)
{
	bool write = access & X86_WALK_WRITE;
	bool fetch = access & X86_WALK_FETCH;

	if (fetch && res->nx)
		return false;
	if (access & X86_WALK_USER) {
		if (!res->user)
			return false;
		return !write || res->writable;
	}
	if (write && !res->writable && (regs->cr0 & X86_WALK_CR0_WP))
		return false;
	if (res->user && fetch && (regs->cr4 & X86_WALK_CR4_SMEP))
		return false;
	if (res->user && !fetch && (regs->cr4 & X86_WALK_CR4_SMAP) &&
	    ((access & X86_WALK_IMPLICIT) || !(regs->rflags & X86_RFLAGS_AC)))
		return false;
	return true;
}

/*
 * Set A in every entry used (D in the leaf for writes).  Returns 0, 1 if an
 * entry changed under us (restart), < 0 on error.
 */
static int update_ad(const struct x86_walk_ops *ops, void *opaque,
		     const struct walk_mode *m, bool pae_legacy, u32 access,
		     struct x86_walk_result *res)
{
	int i, ret;

	for (i = 0; i < res->levels; i++) {
		u64 old = res->pte[i], new = old | X86_PTE_A;

		/* Legacy PAE PDPTEs have no accessed bit. */
		if (pae_legacy && i == 0)
			continue;
		if (i == res->levels - 1 && (access & X86_WALK_WRITE))
			new |= X86_PTE_D;
		if (new == old)
			continue;
		ret = ops->cmpxchg_pte(opaque, res->pte_gpa[i], old, new,
				       m->pte_size);
		if (ret)
			return ret;
		res->pte[i] = new;
	}
	return 0;
}

static void paging_mode(const struct x86_walk_regs *regs, struct walk_mode *m)
{
	m->idx_bits = 9;
	m->pte_size = 8;
	m->nx = regs->efer & X86_EFER_NXE;
	if (regs->efer & X86_EFER_LMA)
		m->levels = (regs->cr4 & X86_WALK_CR4_LA57) ? 5 : 4;
	else if (regs->cr4 & X86_WALK_CR4_PAE)
		m->levels = 3;
	else {
		m->levels = 2;
		m->pte_size = 4;
		m->idx_bits = 10;
		m->nx = false;
	}
}

static enum x86_walk_status walk_once(const struct x86_walk_ops *ops,
				      void *opaque,
				      const struct x86_walk_regs *regs,
				      const struct walk_mode *m, u64 la,
				      u32 access, struct x86_walk_result *res)
{
	bool pae_legacy = m->levels == 3;
	u64 table, pte = 0, pmask = phys_mask(regs);
	int level, shift;

	if (m->pte_size == 4)
		table = regs->cr3 & PTE_ADDR_LOW;
	else if (pae_legacy)
		table = regs->cr3 & 0xffffffe0ULL;
	else
		table = regs->cr3 & pmask;

	res->levels = 0;
	res->writable = true;
	res->user = true;
	res->nx = false;

	for (level = m->levels; level >= 1; level--) {
		unsigned int idx_bits = (pae_legacy && level == 3) ? 2 :
					m->idx_bits;
		u64 idx, gpa, rsvd;
		bool large;

		shift = PAGE_SHIFT_4K + (level - 1) * m->idx_bits;
		idx = (la >> shift) & ((1ULL << idx_bits) - 1);
		gpa = table + idx * m->pte_size;
		if (ops->read_pte(opaque, gpa, &pte, m->pte_size) < 0)
			return X86_WALK_ERROR;
		res->pte[res->levels] = pte;
		res->pte_gpa[res->levels] = gpa;
		res->levels++;

		if (!(pte & X86_PTE_P)) {
			res->pfec = pf_code(regs, access, false);
			return X86_WALK_FAULT;
		}
		if (pae_legacy && level == 3) {
			if (pte & (PAE_PDPTE_RSVD | (~pmask &
					0x000ffffffffff000ULL))) {
				res->pfec = pf_code(regs, access, true) |
					    X86_PF_RSVD;
				return X86_WALK_FAULT;
			}
			table = pte & pmask;
			continue;
		}
		large = (pte & X86_PTE_PS) && level > 1 &&
			(m->pte_size == 8 || (regs->cr4 & X86_WALK_CR4_PSE));
		rsvd = rsvd_bits(regs, m, level, large);
		if (pte & rsvd) {
			res->pfec = pf_code(regs, access, true) | X86_PF_RSVD;
			return X86_WALK_FAULT;
		}
		res->writable &= !!(pte & X86_PTE_RW);
		res->user &= !!(pte & X86_PTE_US);
		if (m->nx)
			res->nx |= !!(pte & X86_PTE_NX);
		if (large || level == 1)
			break;
		table = m->pte_size == 4 ? pte & PTE_ADDR_LOW : pte & pmask;
	}

	shift = PAGE_SHIFT_4K + (level - 1) * m->idx_bits;
	res->page_size = 1ULL << shift;
	if (m->pte_size == 4 && level == 2) {
		/* 4 MiB page; PSE-36 supplies address bits 39:32. */
		res->gpa = (pte & 0xffc00000ULL) |
			   (((pte >> PSE36_HIGH_SHIFT) & PSE36_HIGH_MASK) << 32);
	} else if (m->pte_size == 4) {
		res->gpa = pte & PTE_ADDR_LOW;
	} else {
		res->gpa = pte & pmask & ~(res->page_size - 1);
	}
	res->gpa |= la & (res->page_size - 1);

	if (!access_allowed(regs, access, res)) {
		res->pfec = pf_code(regs, access, true);
		return X86_WALK_FAULT;
	}
	return X86_WALK_OK;
}

enum x86_walk_status x86_walk(const struct x86_walk_ops *ops, void *opaque,
			      const struct x86_walk_regs *regs, u64 la,
			      u32 access, struct x86_walk_result *res)
{
	struct walk_mode m;
	int retries, ret;

	res->pfec = 0;
	if (!(regs->cr0 & X86_WALK_CR0_PG)) {
		res->gpa = la;
		res->page_size = 1ULL << PAGE_SHIFT_4K;
		res->levels = 0;
		res->writable = res->user = true;
		res->nx = false;
		return X86_WALK_OK;
	}
	paging_mode(regs, &m);
	if (m.levels < 4)
		la &= 0xffffffffULL;

	for (retries = 0; retries < WALK_MAX_RETRIES; retries++) {
		enum x86_walk_status st;

		st = walk_once(ops, opaque, regs, &m, la, access, res);
		if (st != X86_WALK_OK || (access & X86_WALK_NO_AD))
			return st;
		ret = update_ad(ops, opaque, &m, m.levels == 3, access, res);
		if (ret == 0)
			return X86_WALK_OK;
		if (ret < 0)
			return X86_WALK_ERROR;
	}
	/* The guest keeps rewriting its page tables under us. */
	return X86_WALK_ERROR;
}

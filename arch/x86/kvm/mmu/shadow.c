// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shadow paging: the guest runs on page tables we build from its own,
 * for hardware without nested paging (or npt=0).
 *
 * Design: each vCPU owns a shadow tree that behaves like a software TLB.
 * It maps guest linear addresses to host pages and is filled one 4 KiB
 * page at a time on intercepted #PFs, by walking the guest's tables with
 * the shared walker (mmu/walk.c), which also sets the guest's accessed and
 * dirty bits as the processor would.  Only translations the guest's tables
 * allow are ever cached, so:
 *
 *  - a guest entry going from not-present to present takes effect at once
 *    (the access faults to us and the walk sees the new entry), as on
 *    hardware, which never caches not-present entries;
 *  - any other change takes effect when the guest flushes its TLB as the
 *    architecture requires: a CR0/CR4 write drops the whole tree
 *    (KVM_REQ_TLB_FLUSH, kvm_shadow_flush), MOV to CR3 all but the global
 *    pages (KVM_REQ_TLB_FLUSH_CR3, kvm_shadow_flush_cr3), INVLPG the page
 *    (kvm_shadow_invlpg).
 *
 * This is correct without write-protecting the guest's page tables; the
 * price is that every address-space switch starts with no non-global
 * translation.
 *
 * The tree's format is the hardware's paging mode while the guest runs,
 * which the backend forces to PAE (CR4.PAE=1, CR0.PG=1): long-mode 4-level
 * tables for a guest in long mode, legacy PAE tables (4 PDPTEs, CR3 below
 * 4 GiB) for every other guest mode: real mode and unpaged protected mode
 * (an identity map of guest-physical memory), 2-level and PAE paging.
 * Guest large pages are shadowed with 4 KiB entries.
 *
 * Guest-physical to host-physical comes from the nested page table
 * (mmu/npt.c), kept as a software table: it holds the pins, honours
 * read-only slots and dirty logging, and when it drops a mapping it makes
 * every vCPU flush (KVM_REQ_TLB_FLUSH), which drops the shadow trees too
 * before any vCPU enters the guest again.  Shadow entries hold no pins.
 *
 * Only the vCPU's own thread touches its tree (vCPU ioctls are serialised),
 * so the tree needs no lock.  Its size is bounded by KVM_SET_NR_MMU_PAGES
 * shared among the vCPUs; a vCPU at its bound drops its tree and refills.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "x86.h"
#include "shadow.h"

#include "walk.h"

bool kvm_shadow_paging;

#define SPT_ENTRIES		512
#define SPT_ADDR_MASK		GENMASK_ULL(51, 12)
/* Non-leaf entries allow everything: the leaf carries the permissions. */
#define SPT_TABLE_BITS		(X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_A)
/* A and D preset: the hardware never needs to write them back. */
#define SPT_LEAF_BITS		(X86_PTE_P | X86_PTE_A | X86_PTE_D)
/*
 * Software-available bit 9 of a leaf (ignored by the processor, APM vol 2,
 * 5.4.1): it shadows a global guest page, kept across CR3 loads.
 */
#define SPT_SW_GLOBAL		BIT_ULL(9)
/* G, bit 8 of a guest leaf entry (with CR4.PGE). */
#define GUEST_PTE_G		BIT_ULL(8)
/* Legacy PAE PDPTEs have only P, PWT, PCD (APM vol 2, 5.3.3). */
#define SPT_PAE_PDPTES		4
#define SPT_PAE_PDPTE_BITS	X86_PTE_P

/* Fewest table pages a vCPU may use, whatever KVM_SET_NR_MMU_PAGES says. */
#define SHADOW_MIN_PAGES	64
/* Pages one fault may add below the root (PDPT, PD, PT). */
#define SHADOW_FAULT_PAGES	3

/* The nested page table's entry format (mmu/npt.c, APM vol 2, 15.25.5). */
#define NPT_P			BIT_ULL(0)
#define NPT_W			BIT_ULL(1)
#define NPT_PS			BIT_ULL(7)
#define NPT_LEVELS		4

struct kvm_shadow_mmu {
	u64 *root;		/* PML4, or the PAE PDPT (below 4 GiB) */
	u64 root_pa;
	int levels;		/* 4 (long mode) or 3 (PAE); 0 = no root */
	bool nxe;		/* EFER.NXE the tree was built for */
	unsigned long nr_pages;	/* table pages below the root */
	/* Largest guest page shadowed since the last zap: INVLPG's reach. */
	u64 max_page;
	/* Global leaves installed since the last zap (an upper bound). */
	unsigned long nr_global;
};

/* ---- the tree ---------------------------------------------------------- */

static unsigned int spt_index(u64 la, int level, int levels)
{
	if (levels == 3 && level == 3)
		return (la >> 30) & (SPT_PAE_PDPTES - 1);
	return (la >> (PAGE_SHIFT + 9 * (level - 1))) & (SPT_ENTRIES - 1);
}

static u64 *spt_table(u64 entry)
{
	return __va(entry & SPT_ADDR_MASK);
}

static void spt_free_below(struct kvm_shadow_mmu *s, u64 *table, int level)
{
	int i;

	if (level == 1)
		return;
	for (i = 0; i < SPT_ENTRIES; i++) {
		if (!(table[i] & X86_PTE_P))
			continue;
		spt_free_below(s, spt_table(table[i]), level - 1);
		free_page((unsigned long)spt_table(table[i]));
		s->nr_pages--;
		table[i] = 0;
	}
}

/* Drop every translation; the root (and the PAE page directories) stay. */
static void shadow_zap(struct kvm_shadow_mmu *s)
{
	int i;

	s->max_page = PAGE_SIZE;
	s->nr_global = 0;
	if (!s->root)
		return;
	if (s->levels == 4) {
		spt_free_below(s, s->root, 4);
		return;
	}
	for (i = 0; i < SPT_PAE_PDPTES; i++)
		spt_free_below(s, spt_table(s->root[i]), 2);
}

static void shadow_free_root(struct kvm_shadow_mmu *s)
{
	int i;

	if (!s->root)
		return;
	shadow_zap(s);
	if (s->levels == 3)
		for (i = 0; i < SPT_PAE_PDPTES; i++)
			free_page((unsigned long)spt_table(s->root[i]));
	free_page((unsigned long)s->root);
	s->root = NULL;
	s->root_pa = 0;
	s->levels = 0;
}

/*
 * A legacy-PAE root is a PDPT the hardware reads through a 32-bit CR3, so
 * it lives below 4 GiB; its four page directories are allocated with it,
 * so the PDPTEs never change while the root lives.
 */
static int shadow_alloc_root(struct kvm_shadow_mmu *s, int levels)
{
	gfp_t gfp = GFP_KERNEL_ACCOUNT | (levels == 3 ? GFP_DMA32 : 0);
	int i;

	s->root = (u64 *)get_zeroed_page(gfp);
	if (!s->root)
		return -ENOMEM;
	s->root_pa = __pa(s->root);
	s->levels = levels;
	if (levels == 4)
		return 0;
	for (i = 0; i < SPT_PAE_PDPTES; i++) {
		u64 *pd = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!pd) {
			shadow_free_root(s);
			return -ENOMEM;
		}
		s->root[i] = __pa(pd) | SPT_PAE_PDPTE_BITS;
	}
	return 0;
}

/*
 * Keep only the global leaves below @table; returns whether any entry is
 * left.  Tables left empty go (not the PAE page directories).
 */
static bool spt_keep_global(struct kvm_shadow_mmu *s, u64 *table, int level)
{
	bool pdpt = s->levels == 3 && level == 3;
	int i, n = pdpt ? SPT_PAE_PDPTES : SPT_ENTRIES;
	bool left = false;

	for (i = 0; i < n; i++) {
		u64 *child;

		if (!(table[i] & X86_PTE_P))
			continue;
		if (level == 1) {
			if (table[i] & SPT_SW_GLOBAL)
				left = true;
			else
				table[i] = 0;
			continue;
		}
		child = spt_table(table[i]);
		if (spt_keep_global(s, child, level - 1) || pdpt) {
			left = true;
			continue;
		}
		free_page((unsigned long)child);
		s->nr_pages--;
		table[i] = 0;
	}
	return left;
}

/* Linear address bits the tree indexes. */
static u64 spt_la_mask(const struct kvm_shadow_mmu *s)
{
	return s->levels == 4 ? GENMASK_ULL(47, 0) : GENMASK_ULL(31, 0);
}

/*
 * Drop the translations of [start, end) below @table (at @level, mapping
 * from @base): tables wholly inside go with everything below them, except
 * the PAE page directories, which live as long as the root.
 */
static void spt_zap_range(struct kvm_shadow_mmu *s, u64 *table, int level,
			  u64 base, u64 start, u64 end)
{
	u64 span = 1ULL << (PAGE_SHIFT + 9 * (level - 1));
	bool pdpt = s->levels == 3 && level == 3;
	int i, n = pdpt ? SPT_PAE_PDPTES : SPT_ENTRIES;

	for (i = 0; i < n; i++) {
		u64 lo = base + i * span, hi = lo + span;

		if (hi <= start || lo >= end || !(table[i] & X86_PTE_P))
			continue;
		if (level == 1) {
			table[i] = 0;
		} else if (pdpt || start > lo || end < hi) {
			spt_zap_range(s, spt_table(table[i]), level - 1, lo,
				      start, end);
		} else {
			spt_free_below(s, spt_table(table[i]), level - 1);
			free_page((unsigned long)spt_table(table[i]));
			s->nr_pages--;
			table[i] = 0;
		}
	}
}

static unsigned long shadow_budget(struct kvm *kvm)
{
	unsigned long n = kvm->arch.n_mmu_pages;
	int vcpus = max(READ_ONCE(kvm->created_vcpus), 1);

	return max_t(unsigned long, n / vcpus, SHADOW_MIN_PAGES);
}

/*
 * The leaf entry for @la, allocating missing tables.  Page allocation may
 * sleep: only the vCPU's thread gets here, outside guest mode.
 */
static u64 *shadow_leaf(struct kvm_shadow_mmu *s, u64 la)
{
	u64 *table = s->root;
	int level;

	for (level = s->levels; level > 1; level--) {
		u64 *e = &table[spt_index(la, level, s->levels)];

		if (!(*e & X86_PTE_P)) {
			u64 *t = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

			if (!t)
				return NULL;
			s->nr_pages++;
			*e = __pa(t) | SPT_TABLE_BITS;
		}
		table = spt_table(*e);
	}
	return &table[spt_index(la, 1, s->levels)];
}

/* ---- the vCPU's view ----------------------------------------------------- */

int kvm_shadow_load(struct kvm_vcpu *vcpu)
{
	struct kvm_shadow_mmu *s = vcpu->arch.shadow;
	u64 efer = kvm_x86_ops->get_efer(vcpu);
	int levels = (efer & EFER_LMA) ? 4 : 3;
	bool nxe = efer & EFER_NX;
	int r;

	if (!s) {
		s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
		if (!s)
			return -ENOMEM;
		vcpu->arch.shadow = s;
	}
	if (s->root && s->levels == levels && s->nxe == nxe)
		return 0;
	/* The paging mode changed (or EFER.NXE did, which makes NX legal). */
	shadow_free_root(s);
	r = shadow_alloc_root(s, levels);
	if (r)
		return r;
	s->nxe = nxe;
	s->max_page = PAGE_SIZE;
	kvm_x86_ops->flush_guest_tlb(vcpu);
	return 0;
}

u64 kvm_shadow_root_pa(struct kvm_vcpu *vcpu)
{
	struct kvm_shadow_mmu *s = vcpu->arch.shadow;

	return s ? s->root_pa : 0;
}

void kvm_shadow_flush(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.shadow)
		shadow_zap(vcpu->arch.shadow);
}

/*
 * INVLPG: drop what translates the page of @la.  It may be part of a guest
 * large page shadowed by 4 KiB entries elsewhere in it, so the reach is
 * the largest guest page the tree holds.  Then flush the hardware TLB.
 */
void kvm_shadow_invlpg(struct kvm_vcpu *vcpu, u64 la)
{
	struct kvm_shadow_mmu *s = vcpu->arch.shadow;
	u64 start;

	if (!s || !s->root)
		return;
	start = la & spt_la_mask(s) & ~(s->max_page - 1);
	spt_zap_range(s, s->root, s->levels, 0, start, start + s->max_page);
	kvm_x86_ops->flush_guest_tlb(vcpu);
}

void kvm_shadow_flush_cr3(struct kvm_vcpu *vcpu)
{
	struct kvm_shadow_mmu *s = vcpu->arch.shadow;

	if (!s || !s->root)
		return;
	if (!s->nr_global) {
		shadow_zap(s);
		return;
	}
	spt_keep_global(s, s->root, s->levels);
}

void kvm_shadow_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	if (!vcpu->arch.shadow)
		return;
	shadow_free_root(vcpu->arch.shadow);
	kfree(vcpu->arch.shadow);
	vcpu->arch.shadow = NULL;
}

/* ---- the guest's tables, through the shared walker -------------------- */

static int shadow_read_pte(void *opaque, u64 gpa, u64 *pte, unsigned int size)
{
	struct kvm_vcpu *vcpu = opaque;
	int r;

	*pte = 0;
	down_read(&vcpu->kvm->slots_lock);
	r = kvm_read_guest(vcpu->kvm, gpa, pte, size);
	up_read(&vcpu->kvm->slots_lock);
	return r ? -1 : 0;
}

/* A/D updates are atomic against the guest's other vCPUs, as in hardware. */
static int shadow_cmpxchg_pte(void *opaque, u64 gpa, u64 old, u64 new,
			      unsigned int size)
{
	struct kvm_vcpu *vcpu = opaque;
	struct kvm *kvm = vcpu->kvm;
	struct kvm_memory_slot *slot;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	struct page *page;
	unsigned long hva;
	bool ok;
	void *map;

	if (gpa & (size - 1))
		return -1;	/* the walker only reads aligned entries */
	down_read(&kvm->slots_lock);
	slot = kvm_gfn_to_memslot(kvm, gfn);
	if (!slot) {
		up_read(&kvm->slots_lock);
		return -1;
	}
	if (slot->flags & KVM_MEM_READONLY) {
		/* Tables in ROM: the processor's A/D write is simply lost. */
		up_read(&kvm->slots_lock);
		return 0;
	}
	hva = gfn_to_hva_memslot(slot, gfn);
	if (pin_user_pages_fast(hva, 1, FOLL_WRITE, &page) != 1) {
		up_read(&kvm->slots_lock);
		return -1;
	}
	map = kmap_local_page(page);
	if (size == 4)
		ok = cmpxchg((u32 *)(map + offset_in_page(gpa)), (u32)old,
			     (u32)new) == (u32)old;
	else
		ok = cmpxchg((u64 *)(map + offset_in_page(gpa)), old, new) ==
		     old;
	kunmap_local(map);
	unpin_user_pages_dirty_lock(&page, 1, ok);
	if (ok)
		kvm_mark_page_dirty(kvm, gfn);
	up_read(&kvm->slots_lock);
	return ok ? 0 : 1;
}

static const struct x86_walk_ops shadow_walk_ops = {
	.read_pte = shadow_read_pte,
	.cmpxchg_pte = shadow_cmpxchg_pte,
};

static void shadow_walk_regs(struct kvm_vcpu *vcpu, struct x86_walk_regs *r)
{
	struct kvm_cpuid_entry2 *ext = kvm_find_cpuid_entry(vcpu, 0x80000001, 0);
	struct kvm_cpuid_entry2 *addr = kvm_find_cpuid_entry(vcpu, 0x80000008, 0);

	r->cr0 = kvm_x86_ops->get_cr(vcpu, 0);
	r->cr3 = kvm_x86_ops->get_cr(vcpu, 3);
	r->cr4 = kvm_x86_ops->get_cr(vcpu, 4);
	r->efer = kvm_x86_ops->get_efer(vcpu);
	r->rflags = kvm_x86_ops->get_rflags(vcpu);
	/* CPUID 0x8000_0008 EAX[7:0]: the guest's MAXPHYADDR. */
	r->maxphyaddr = addr && (addr->eax & 0xff) ? addr->eax & 0xff :
			host_maxphyaddr;
	/* CPUID 0x8000_0001 EDX[26]: 1 GiB pages. */
	r->gbpages = ext && (ext->edx & BIT(26));
}

/* ---- guest-physical to host-physical, through the nested page table ----- */

/*
 * The host page backing @gfn in the nested page table and whether it may
 * be written; false if it is not mapped (it was zapped under us).
 */
static bool shadow_npt_lookup(struct kvm *kvm, gfn_t gfn, u64 *hpa,
			      bool *writable)
{
	struct kvm_mmu *mmu = &kvm->arch.mmu;
	u64 *table, e = 0;
	bool found = false;
	int level;

	spin_lock(&mmu->lock);
	table = mmu->root;
	for (level = NPT_LEVELS; table && level >= 1; level--) {
		e = table[(gfn >> (9 * (level - 1))) & (SPT_ENTRIES - 1)];
		if (!(e & NPT_P))
			break;
		if (level == 1 || (level == 2 && (e & NPT_PS))) {
			u64 off = level == 2 ? gfn & (SPT_ENTRIES - 1) : 0;

			*hpa = (e & SPT_ADDR_MASK) + (off << PAGE_SHIFT);
			*writable = e & NPT_W;
			found = true;
			break;
		}
		table = __va(e & SPT_ADDR_MASK);
	}
	spin_unlock(&mmu->lock);
	return found;
}

/* ---- the fault path ------------------------------------------------------ */

static int shadow_reflect(struct kvm_vcpu *vcpu, u64 la, u32 pfec)
{
	vcpu->arch.cr2 = la;
	kvm_queue_exception_e(vcpu, PF_VECTOR, pfec);
	return EXIT_RESUME;
}

/* The guest's leaf entry allows writes without a D update? */
static bool shadow_guest_dirty(const struct x86_walk_result *res)
{
	return !res->levels || (res->pte[res->levels - 1] & X86_PTE_D);
}

struct shadow_map {
	u64 gpa;
	u64 page_size;		/* of the guest's mapping */
	bool write;		/* map writable */
	bool user;		/* map user-accessible */
	bool nx;
	bool global;		/* a global guest page: survives CR3 loads */
};

static void shadow_install(struct kvm_vcpu *vcpu, u64 la,
			   const struct shadow_map *m, u64 hpa)
{
	struct kvm_shadow_mmu *s = vcpu->arch.shadow;
	u64 *e;

	/* At the bound: start over rather than grow (reclaim). */
	if (s->nr_pages + SHADOW_FAULT_PAGES > shadow_budget(vcpu->kvm)) {
		shadow_zap(s);
		kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
	}
	e = shadow_leaf(s, la);
	if (!e)
		return;		/* no memory now: the access faults again */
	s->max_page = max(s->max_page, m->page_size);
	s->nr_global += m->global;
	*e = hpa | SPT_LEAF_BITS | (m->write ? X86_PTE_RW : 0) |
	     (m->user ? X86_PTE_US : 0) | (m->nx && s->nxe ? X86_PTE_NX : 0) |
	     (m->global ? SPT_SW_GLOBAL : 0);
}

/*
 * What the shadow entry may allow, from the walk: writes only once the
 * guest's D bit is set (so a first write faults and sets it), and with
 * CR0.WP clear a supervisor write to a read-only page maps it writable but
 * supervisor-only, so user accesses fault and are checked again.
 */
static void shadow_rights(u64 cr4, u32 access,
			  const struct x86_walk_result *res,
			  struct shadow_map *m)
{
	m->gpa = res->gpa;
	m->page_size = res->page_size;
	m->global = res->levels && (cr4 & X86_CR4_PGE) &&
		    (res->pte[res->levels - 1] & GUEST_PTE_G);
	m->user = res->user;
	m->nx = res->nx;
	if (access & X86_WALK_WRITE) {
		m->write = true;
		if (!res->writable)
			m->user = false;
	} else {
		m->write = res->writable && shadow_guest_dirty(res);
	}
}

int kvm_shadow_page_fault(struct kvm_vcpu *vcpu, u64 la, u64 error_code)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_memory_slot *slot;
	struct x86_walk_result res;
	struct x86_walk_regs regs;
	enum x86_walk_status st;
	struct shadow_map m;
	u32 access = 0;
	bool npt_writable;
	u64 hpa;
	int r;

	if (error_code & PFERR_RSVD) {
		/* A tree built for another EFER.NXE: rebuild, retry. */
		kvm_shadow_flush(vcpu);
		kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
		return EXIT_RESUME;
	}
	if (error_code & PFERR_WRITE)
		access |= X86_WALK_WRITE;
	if (error_code & PFERR_USER)
		access |= X86_WALK_USER;
	if (error_code & PFERR_FETCH)
		access |= X86_WALK_FETCH;

	shadow_walk_regs(vcpu, &regs);
	st = x86_walk(&shadow_walk_ops, vcpu, &regs, la, access, &res);
	if (st == X86_WALK_FAULT)
		return shadow_reflect(vcpu, la, res.pfec);
	if (st == X86_WALK_ERROR) {
		/*
		 * A paging structure outside guest RAM (MMIO, no memory), or
		 * tables rewritten under us without end: a not-present fault,
		 * as upstream KVM reports it.
		 */
		return shadow_reflect(vcpu, la, error_code &
				      (PFERR_WRITE | PFERR_USER | PFERR_FETCH));
	}
	shadow_rights(regs.cr4, access, &res, &m);

	down_read(&kvm->slots_lock);
	slot = kvm_gfn_to_memslot(kvm, m.gpa >> PAGE_SHIFT);
	if (!slot || ((access & X86_WALK_WRITE) &&
		      (slot->flags & KVM_MEM_READONLY))) {
		up_read(&kvm->slots_lock);
		return kvm_handle_mmio(vcpu, m.gpa, error_code);
	}
	if (slot->flags & KVM_MEM_READONLY)
		m.write = false;
	/* A logging slot learns of a write only from a write fault. */
	if ((slot->flags & KVM_MEM_LOG_DIRTY_PAGES) &&
	    !(access & X86_WALK_WRITE))
		m.write = false;
	up_read(&kvm->slots_lock);

	r = kvm_mmu_page_fault(vcpu, m.gpa, m.write ? PFERR_WRITE : 0);
	if (r != EXIT_RESUME)
		return r;
	if (!shadow_npt_lookup(kvm, m.gpa >> PAGE_SHIFT, &hpa, &npt_writable))
		return EXIT_RESUME;	/* zapped meanwhile: fault again */
	if (!npt_writable)
		m.write = false;
	shadow_install(vcpu, la, &m, hpa);
	return EXIT_RESUME;
}

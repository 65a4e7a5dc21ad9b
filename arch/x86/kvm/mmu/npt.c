// SPDX-License-Identifier: GPL-2.0-only
/*
 * The nested page table: guest-physical to host-physical, built lazily on
 * nested page faults from the memslots.  Each present leaf holds one pin on
 * its host page (pin_user_pages); the pin is dropped when the leaf is
 * zapped (slot deleted or moved) or the VM dies, and only after no vCPU can
 * still hold a TLB entry for it.
 *
 * The format is the long-mode 4-level page table (APM vol 2, 15.25.5);
 * every nested access counts as a user access, so U/S is always set.
 * A 2 MiB leaf is used where the slot and a huge host page line up.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/pgtable.h>
#include <linux/io.h>

#include "x86.h"

#define NPT_PRESENT	BIT_ULL(0)
#define NPT_WRITABLE	BIT_ULL(1)
#define NPT_USER	BIT_ULL(2)
#define NPT_ACCESSED	BIT_ULL(5)
#define NPT_DIRTY	BIT_ULL(6)
#define NPT_LARGE	BIT_ULL(7)	/* PS: a 2 MiB leaf at level 2 */
#define NPT_ADDR_MASK	GENMASK_ULL(51, 12)
#define NPT_TABLE_BITS	(NPT_PRESENT | NPT_WRITABLE | NPT_USER | NPT_ACCESSED)
#define NPT_LEAF_BITS	(NPT_PRESENT | NPT_USER | NPT_ACCESSED | NPT_DIRTY)

#define NPT_LEVELS	4
#define NPT_GPA_BITS	48	/* what a 4-level table can map */
#define NPT_ENTRIES	512
#define NPT_HUGE_PAGES	512	/* 4 KiB pages in a 2 MiB leaf */

/* Leaves dropped per batch while zapping: one TLB shootdown each. */
#define NPT_ZAP_BATCH	(PAGE_SIZE / sizeof(u64))

static unsigned int npt_index(gfn_t gfn, int level)
{
	return (gfn >> (9 * (level - 1))) & (NPT_ENTRIES - 1);
}

static u64 *npt_table(u64 entry)
{
	return __va(entry & NPT_ADDR_MASK);
}

static bool npt_is_huge(u64 entry, int level)
{
	return level == 2 && (entry & NPT_LARGE);
}

/* Each leaf pins every 4 KiB page it maps: drop those pins. */
static void npt_unpin_leaf(u64 entry, unsigned long npages)
{
	unsigned long pfn = (entry & NPT_ADDR_MASK) >> PAGE_SHIFT, i;

	for (i = 0; i < npages; i++)
		unpin_user_page(pfn_to_page(pfn + i));
}

u64 kvm_mmu_max_gfn(void)
{
	int bits = min_t(int, host_maxphyaddr, NPT_GPA_BITS);

	return (1ULL << (bits - PAGE_SHIFT)) - 1;
}

int kvm_mmu_init_vm(struct kvm *kvm)
{
	struct kvm_mmu *mmu = &kvm->arch.mmu;

	spin_lock_init(&mmu->lock);
	mmu->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!mmu->root)
		return -ENOMEM;
	mmu->root_pa = __pa(mmu->root);
	return 0;
}

static void npt_free_table(u64 *table, int level)
{
	int i;

	for (i = 0; i < NPT_ENTRIES; i++) {
		u64 e = table[i];

		if (!(e & NPT_PRESENT))
			continue;
		if (level == 1)
			npt_unpin_leaf(e, 1);
		else if (npt_is_huge(e, level))
			npt_unpin_leaf(e, NPT_HUGE_PAGES);
		else
			npt_free_table(npt_table(e), level - 1);
	}
	free_page((unsigned long)table);
}

/* No vCPU is left: every table goes, every pin is dropped. */
void kvm_mmu_destroy_vm(struct kvm *kvm)
{
	struct kvm_mmu *mmu = &kvm->arch.mmu;

	if (mmu->root)
		npt_free_table(mmu->root, NPT_LEVELS);
	mmu->root = NULL;
	mmu->root_pa = 0;
}

/* ---- the fault path ---------------------------------------------------- */

/* Table pages for one fault, allocated before the lock is taken. */
static int npt_topup_cache(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_arch *a = &vcpu->arch;

	while (a->npt_cache_n < ARRAY_SIZE(a->npt_cache)) {
		void *p = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!p)
			return -ENOMEM;
		a->npt_cache[a->npt_cache_n++] = p;
	}
	return 0;
}

void kvm_mmu_free_vcpu_cache(struct kvm_vcpu *vcpu)
{
	while (vcpu->arch.npt_cache_n)
		free_page((unsigned long)
			  vcpu->arch.npt_cache[--vcpu->arch.npt_cache_n]);
}

/*
 * The entry for @gfn at @level, creating missing tables from the vCPU's
 * cache; NULL if a huge leaf already covers it.  Caller holds mmu->lock.
 */
static u64 *npt_entry(struct kvm_vcpu *vcpu, gfn_t gfn, int target)
{
	u64 *table = vcpu->kvm->arch.mmu.root;
	int level;

	for (level = NPT_LEVELS; level > target; level--) {
		u64 *e = &table[npt_index(gfn, level)];

		if (!(*e & NPT_PRESENT))
			*e = __pa(vcpu->arch.npt_cache[--vcpu->arch.npt_cache_n]) |
			     NPT_TABLE_BITS;
		else if (npt_is_huge(*e, level))
			return NULL;
		table = npt_table(*e);
	}
	return &table[npt_index(gfn, target)];
}

/* Pin @n pages at @hva; read-only slots may be read-only mappings. */
static int npt_pin(unsigned long hva, int n, bool writable,
		   struct page **pages)
{
	/*
	 * Prefer a writable pin even for read-only slots: it breaks COW
	 * now, so later host writes stay visible to the guest.
	 */
	int got = pin_user_pages_fast(hva, n, FOLL_WRITE | FOLL_LONGTERM, pages);

	if (got == n)
		return 0;
	if (got > 0)
		unpin_user_pages(pages, got);
	if (writable)
		return -EFAULT;
	got = pin_user_pages_fast(hva, n, FOLL_LONGTERM, pages);
	if (got == n)
		return 0;
	if (got > 0)
		unpin_user_pages(pages, got);
	return -EFAULT;
}

/*
 * Can @gfn be mapped by a 2 MiB leaf?  The slot must cover the aligned
 * range at a 2 MiB aligned host address, and the host must back it with
 * one physically contiguous, aligned 2 MiB (a THP or hugetlb page): the
 * one page we pinned tells whether that is worth checking.
 */
static bool npt_huge_candidate(const struct kvm_memory_slot *slot, gfn_t gfn,
			       struct page *page)
{
	gfn_t base = gfn & ~(gfn_t)(NPT_HUGE_PAGES - 1);
	struct page *head = compound_head(page);

	if (base < slot->base_gfn ||
	    base + NPT_HUGE_PAGES > slot->base_gfn + slot->npages)
		return false;
	if (gfn_to_hva_memslot(slot, base) & (PMD_SIZE - 1))
		return false;
	return compound_order(head) >= PMD_SHIFT - PAGE_SHIFT;
}

/* Pin the whole 2 MiB and check it is contiguous; returns its first pfn. */
static bool npt_pin_huge(const struct kvm_memory_slot *slot, gfn_t gfn,
			 bool writable, unsigned long *pfn)
{
	gfn_t base = gfn & ~(gfn_t)(NPT_HUGE_PAGES - 1);
	struct page **pages;
	unsigned long first;
	bool ok = false;
	int i;

	pages = (struct page **)__get_free_page(GFP_KERNEL);
	if (!pages)
		return false;
	if (npt_pin(gfn_to_hva_memslot(slot, base), NPT_HUGE_PAGES, writable,
		    pages))
		goto out;
	first = page_to_pfn(pages[0]);
	ok = !(first & (NPT_HUGE_PAGES - 1));
	for (i = 1; ok && i < NPT_HUGE_PAGES; i++)
		ok = page_to_pfn(pages[i]) == first + i;
	if (ok)
		*pfn = first;
	else
		unpin_user_pages(pages, NPT_HUGE_PAGES);
out:
	free_page((unsigned long)pages);
	return ok;
}

/* Install a leaf for @pfn (@level 1 or 2); false if someone was first. */
static bool npt_install(struct kvm_vcpu *vcpu, gfn_t gfn, unsigned long pfn,
			int level, bool writable)
{
	struct kvm_mmu *mmu = &vcpu->kvm->arch.mmu;
	u64 *e;
	bool done = false;

	spin_lock(&mmu->lock);
	e = npt_entry(vcpu, gfn, level);
	if (e && !(*e & NPT_PRESENT)) {
		*e = ((u64)pfn << PAGE_SHIFT) | NPT_LEAF_BITS |
		     (level == 2 ? NPT_LARGE : 0) |
		     (writable ? NPT_WRITABLE : 0);
		done = true;
	}
	spin_unlock(&mmu->lock);
	return done;
}

static int npt_map(struct kvm_vcpu *vcpu, struct kvm_memory_slot *slot,
		   gfn_t gfn)
{
	bool writable = !(slot->flags & KVM_MEM_READONLY);
	unsigned long pfn;
	struct page *page;
	int r;

	r = npt_topup_cache(vcpu);
	if (r)
		return r;
	r = npt_pin(gfn_to_hva_memslot(slot, gfn), 1, writable, &page);
	if (r)
		return r;

	if (npt_huge_candidate(slot, gfn, page) &&
	    npt_pin_huge(slot, gfn, writable, &pfn)) {
		unpin_user_page(page);
		if (!npt_install(vcpu, gfn, pfn, 2, writable))
			npt_unpin_leaf((u64)pfn << PAGE_SHIFT, NPT_HUGE_PAGES);
		else
			return 0;
		/* 4 KiB mappings exist in the range: map ours the same way. */
		r = npt_pin(gfn_to_hva_memslot(slot, gfn), 1, writable, &page);
		if (r)
			return r;
	}
	if (!npt_install(vcpu, gfn, page_to_pfn(page), 1, writable))
		unpin_user_page(page);
	return 0;
}

int kvm_mmu_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code)
{
	struct kvm *kvm = vcpu->kvm;
	bool write = error_code & PFERR_WRITE;
	struct kvm_memory_slot *slot;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	int r;

	/* We never set reserved bits: the hardware and we disagree. */
	if (error_code & PFERR_RSVD)
		return kvm_exit_unexpected(vcpu, error_code);

	down_read(&kvm->slots_lock);
	slot = kvm_gfn_to_memslot(kvm, gfn);
	if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
		up_read(&kvm->slots_lock);
		return kvm_handle_mmio(vcpu, gpa, error_code);
	}
	r = npt_map(vcpu, slot, gfn);
	up_read(&kvm->slots_lock);
	return r ? r : EXIT_RESUME;
}

/* ---- zapping ------------------------------------------------------------ */

/* Make sure no vCPU still translates through the zapped leaves, then unpin. */
static void npt_release_batch(struct kvm *kvm, u64 *batch, int n)
{
	int i;

	if (!n)
		return;
	kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH);
	for (i = 0; i < n; i++)
		npt_unpin_leaf(batch[i], (batch[i] & NPT_LARGE) ?
				NPT_HUGE_PAGES : 1);
}

/*
 * Clear the leaves that map [*gfn, end) into @batch (a 2 MiB leaf goes
 * whole; it refaults as needed); returns false when the batch is full.
 */
static bool npt_zap_some(struct kvm_mmu *mmu, gfn_t *gfn, gfn_t end,
			 u64 *batch, int *n)
{
	while (*gfn < end) {
		u64 *table = mmu->root, *e = NULL;
		int level;

		for (level = NPT_LEVELS; level >= 1; level--) {
			u64 span = 1ULL << (9 * (level - 1));

			e = &table[npt_index(*gfn, level)];
			if (!(*e & NPT_PRESENT)) {
				*gfn = (*gfn + span) & ~(span - 1);
				e = NULL;
				break;
			}
			if (level == 1 || npt_is_huge(*e, level))
				break;
			table = npt_table(*e);
		}
		if (!e)
			continue;
		if (*n == NPT_ZAP_BATCH)
			return false;
		batch[(*n)++] = *e;
		*e = 0;
		if (level == 2)
			*gfn = (*gfn + NPT_HUGE_PAGES) &
			       ~(gfn_t)(NPT_HUGE_PAGES - 1);
		else
			(*gfn)++;
	}
	return true;
}

void kvm_mmu_zap_range(struct kvm *kvm, gfn_t start, unsigned long npages)
{
	struct kvm_mmu *mmu = &kvm->arch.mmu;
	gfn_t gfn = start, end = start + npages;
	bool done;
	u64 *batch;
	int n;

	batch = (u64 *)__get_free_page(GFP_KERNEL | __GFP_NOFAIL);
	do {
		n = 0;
		spin_lock(&mmu->lock);
		done = npt_zap_some(mmu, &gfn, end, batch, &n);
		spin_unlock(&mmu->lock);
		npt_release_batch(kvm, batch, n);
	} while (!done);
	free_page((unsigned long)batch);
}

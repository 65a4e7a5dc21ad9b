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
 *
 * Each memslot address space has its own table (kvm->arch.as_mmu[]): a
 * vCPU translates through the one of the address space it is in (SMM's
 * while in System Management Mode, smm.c), and a slot's changes touch only
 * its own address space's table.
 *
 * Dirty logging (virt/kvm/dirty_log.c): a slot that logs is mapped with
 * 4 KiB leaves only, and a leaf gets write access only on a write fault,
 * in the same mmu->lock section that logs the page.  Fetching the log takes
 * write access away again (kvm_arch_write_protect_gfns) and flushes every
 * vCPU's TLB before the pages are reported clean.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/pgtable.h>
#include <linux/io.h>

#include "x86.h"
#include "dirty.h"
#include "shadow.h"

#define NPT_PRESENT	BIT_ULL(0)
#define NPT_WRITABLE	BIT_ULL(1)
#define NPT_USER	BIT_ULL(2)
#define NPT_ACCESSED	BIT_ULL(5)
#define NPT_DIRTY	BIT_ULL(6)
#define NPT_LARGE	BIT_ULL(7)	/* PS: a 2 MiB leaf at level 2 */
/*
 * Software-available bit 9 (ignored by the walker, APM vol 2, 5.4.1), set
 * only in zap batches: the entry is a whole level-1 table taken out.
 */
#define NPT_SW_TABLE	BIT_ULL(9)
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

static struct kvm_mmu *npt_slot_mmu(struct kvm *kvm,
				     const struct kvm_memory_slot *slot)
{
	return &kvm->arch.as_mmu[slot->as_id];
}

static struct kvm_mmu *npt_vcpu_mmu(struct kvm_vcpu *vcpu)
{
	return &vcpu->kvm->arch.as_mmu[kvm_arch_vcpu_as_id(vcpu)];
}

/* The table the vCPU's next VMRUN uses (nested CR3). */
u64 kvm_mmu_root_pa(struct kvm_vcpu *vcpu)
{
	return npt_vcpu_mmu(vcpu)->root_pa;
}

int kvm_mmu_init_vm(struct kvm *kvm)
{
	int as;

	for (as = 0; as < KVM_ADDRESS_SPACE_NUM; as++) {
		struct kvm_mmu *mmu = &kvm->arch.as_mmu[as];

		spin_lock_init(&mmu->lock);
		mmu->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!mmu->root) {
			kvm_mmu_destroy_vm(kvm);
			return -ENOMEM;
		}
		mmu->root_pa = __pa(mmu->root);
	}
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
	int as;

	for (as = 0; as < KVM_ADDRESS_SPACE_NUM; as++) {
		struct kvm_mmu *mmu = &kvm->arch.as_mmu[as];

		if (mmu->root)
			npt_free_table(mmu->root, NPT_LEVELS);
		mmu->root = NULL;
		mmu->root_pa = 0;
	}
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
static u64 *npt_entry(struct kvm_vcpu *vcpu, struct kvm_mmu *mmu, gfn_t gfn,
		      int target)
{
	u64 *table = mmu->root;
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

static bool npt_slot_logs(const struct kvm_memory_slot *slot)
{
	return slot->flags & KVM_MEM_LOG_DIRTY_PAGES;
}

/*
 * Install a leaf for @pfn (@level 1 or 2); false if someone was first.
 * A writable leaf of a logging slot is logged here, under mmu->lock, so a
 * concurrent KVM_GET_DIRTY_LOG sees the bit if it sees the leaf writable;
 * if the log has no room (a full ring) the leaf is installed read-only.
 */
static bool npt_install(struct kvm_vcpu *vcpu,
			const struct kvm_memory_slot *slot, gfn_t gfn,
			unsigned long pfn, int level, bool writable)
{
	struct kvm_mmu *mmu = npt_vcpu_mmu(vcpu);
	u64 *e;
	bool done = false;

	spin_lock(&mmu->lock);
	e = npt_entry(vcpu, mmu, gfn, level);
	if (e && !(*e & NPT_PRESENT)) {
		if (writable && npt_slot_logs(slot) &&
		    !kvm_dirty_log_mark(vcpu->kvm, vcpu, slot, gfn))
			writable = false;
		*e = ((u64)pfn << PAGE_SHIFT) | NPT_LEAF_BITS |
		     (level == 2 ? NPT_LARGE : 0) |
		     (writable ? NPT_WRITABLE : 0);
		done = true;
	}
	spin_unlock(&mmu->lock);
	return done;
}

/* The level-2 entry covering @gfn, or NULL if a higher table is missing. */
static u64 *npt_pde(struct kvm_mmu *mmu, gfn_t gfn)
{
	u64 *table = mmu->root;
	int level;

	for (level = NPT_LEVELS; level > 2; level--) {
		u64 e = table[npt_index(gfn, level)];

		if (!(e & NPT_PRESENT))
			return NULL;
		table = npt_table(e);
	}
	return &table[npt_index(gfn, 2)];
}

/* The present leaf mapping @gfn (*level 1 or 2), or NULL.  Under mmu->lock. */
static u64 *npt_leaf(struct kvm_mmu *mmu, gfn_t gfn, int *level)
{
	u64 *pde = npt_pde(mmu, gfn), *pte;

	if (!pde || !(*pde & NPT_PRESENT))
		return NULL;
	if (*pde & NPT_LARGE) {
		*level = 2;
		return pde;
	}
	pte = &npt_table(*pde)[npt_index(gfn, 1)];
	*level = 1;
	return (*pte & NPT_PRESENT) ? pte : NULL;
}

/*
 * A write to a present read-only leaf of a writable slot: the page was
 * write-protected for dirty logging.  Log it and give write access back.
 * Returns true if the fault is resolved (or was already, by another vCPU).
 */
static bool npt_fix_access(struct kvm_vcpu *vcpu,
			   const struct kvm_memory_slot *slot, gfn_t gfn,
			   bool write)
{
	struct kvm_mmu *mmu = npt_vcpu_mmu(vcpu);
	bool fixed = true;
	gfn_t g, first;
	int level, n;
	u64 *e;

	spin_lock(&mmu->lock);
	e = npt_leaf(mmu, gfn, &level);
	if (!e) {
		fixed = false;
	} else if (write && !(*e & NPT_WRITABLE)) {
		/* Logging slots have no huge leaves; log all 512 if one did. */
		n = level == 2 ? NPT_HUGE_PAGES : 1;
		first = gfn & ~(gfn_t)(n - 1);
		for (g = first; g < first + n; g++)
			if (npt_slot_logs(slot) &&
			    !kvm_dirty_log_mark(vcpu->kvm, vcpu, slot, g))
				break;
		if (g == first + n)
			*e |= NPT_WRITABLE;
	}
	spin_unlock(&mmu->lock);
	return fixed;
}

static int npt_map(struct kvm_vcpu *vcpu, struct kvm_memory_slot *slot,
		   gfn_t gfn, bool write)
{
	bool writable = !(slot->flags & KVM_MEM_READONLY);
	/* A logging slot maps a read fault read-only: the write is logged. */
	bool map_writable = writable && (write || !npt_slot_logs(slot));
	unsigned long pfn;
	struct page *page;
	int r;

	r = npt_topup_cache(vcpu);
	if (r)
		return r;
	r = npt_pin(gfn_to_hva_memslot(slot, gfn), 1, writable, &page);
	if (r)
		return r;

	if (!npt_slot_logs(slot) && npt_huge_candidate(slot, gfn, page) &&
	    npt_pin_huge(slot, gfn, writable, &pfn)) {
		unpin_user_page(page);
		if (!npt_install(vcpu, slot, gfn, pfn, 2, map_writable))
			npt_unpin_leaf((u64)pfn << PAGE_SHIFT, NPT_HUGE_PAGES);
		else
			return 0;
		/* 4 KiB mappings exist in the range: map ours the same way. */
		r = npt_pin(gfn_to_hva_memslot(slot, gfn), 1, writable, &page);
		if (r)
			return r;
	}
	if (!npt_install(vcpu, slot, gfn, page_to_pfn(page), 1, map_writable))
		unpin_user_page(page);
	return 0;
}

int kvm_mmu_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code)
{
	struct kvm *kvm = vcpu->kvm;
	bool write = error_code & PFERR_WRITE;
	struct kvm_memory_slot *slot;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	int r = 0;

	/* We never set reserved bits: the hardware and we disagree. */
	if (error_code & PFERR_RSVD)
		return kvm_exit_unexpected(vcpu, error_code);

	down_read(&kvm->slots_lock);
	slot = kvm_vcpu_gfn_to_memslot(vcpu, gfn);
	if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
		up_read(&kvm->slots_lock);
		return kvm_handle_mmio(vcpu, gpa, error_code);
	}
	/* A full dirty ring stops the next entry (vcpu_enter_guest). */
	if (!npt_fix_access(vcpu, slot, gfn, write))
		r = npt_map(vcpu, slot, gfn, write);
	if (!r)
		r = EXIT_RESUME;
	up_read(&kvm->slots_lock);
	return r;
}

/* ---- zapping ------------------------------------------------------------ */

/* An entry of a zap batch: a leaf, or a whole level-1 table (NPT_SW_TABLE). */
static void npt_release_entry(u64 b)
{
	u64 *table;
	int i;

	if (!(b & NPT_SW_TABLE)) {
		npt_unpin_leaf(b, (b & NPT_LARGE) ? NPT_HUGE_PAGES : 1);
		return;
	}
	table = npt_table(b);
	for (i = 0; i < NPT_ENTRIES; i++)
		if (table[i] & NPT_PRESENT)
			npt_unpin_leaf(table[i], 1);
	free_page((unsigned long)table);
}

/* Make sure no vCPU still translates through the zapped entries, then free. */
static void npt_release_batch(struct kvm *kvm, u64 *batch, int n)
{
	int i;

	if (!n)
		return;
	/* npt=0: shadow leaves may map the pages too (mmu/shadow.c). */
	kvm_shadow_zap_all(kvm);
	kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH);
	for (i = 0; i < n; i++)
		npt_release_entry(batch[i]);
}

/*
 * Would the 2 MiB at @region be mapped huge if its level-1 table went?
 * The slot must allow it and the host page behind the first leaf be huge.
 */
static bool npt_collapsible(const struct kvm_memory_slot *slot,
			    gfn_t region, const u64 *table)
{
	int i;

	if (gfn_to_hva_memslot(slot, region) & (PMD_SIZE - 1))
		return false;
	for (i = 0; i < NPT_ENTRIES; i++) {
		if (table[i] & NPT_PRESENT) {
			struct page *p = pfn_to_page((table[i] & NPT_ADDR_MASK) >>
						     PAGE_SHIFT);

			return compound_order(compound_head(p)) >=
			       PMD_SHIFT - PAGE_SHIFT;
		}
	}
	return true;	/* an empty table: free it */
}

/*
 * Take what maps [*gfn, end) out of the table into @batch: huge leaves and
 * level-1 tables whose 2 MiB lies in [start, end) go whole (they refault,
 * huge where possible), other leaves one by one.  With @collapse (a slot
 * stopped logging) only level-1 tables that could become huge go.
 * Returns false when the batch is full.
 */
static bool npt_zap_some(struct kvm_mmu *mmu, gfn_t start, gfn_t *gfn,
			 gfn_t end, u64 *batch, int *n,
			 const struct kvm_memory_slot *collapse)
{
	while (*gfn < end) {
		gfn_t region = *gfn & ~(gfn_t)(NPT_HUGE_PAGES - 1);
		gfn_t next = region + NPT_HUGE_PAGES, stop = min(next, end);
		u64 *pde = npt_pde(mmu, *gfn), *table;

		if (!pde || !(*pde & NPT_PRESENT) ||
		    (collapse && (*pde & NPT_LARGE))) {
			*gfn = next;
			continue;
		}
		if (*n == NPT_ZAP_BATCH)
			return false;
		if (*pde & NPT_LARGE) {
			batch[(*n)++] = *pde;
			*pde = 0;
			*gfn = next;
			continue;
		}
		table = npt_table(*pde);
		if (region >= start && next <= end &&
		    (!collapse || npt_collapsible(collapse, region, table))) {
			batch[(*n)++] = *pde | NPT_SW_TABLE;
			*pde = 0;
			*gfn = next;
			continue;
		}
		if (collapse) {
			*gfn = next;
			continue;
		}
		for (; *gfn < stop; (*gfn)++) {
			u64 *e = &table[npt_index(*gfn, 1)];

			if (!(*e & NPT_PRESENT))
				continue;
			if (*n == NPT_ZAP_BATCH)
				return false;
			batch[(*n)++] = *e;
			*e = 0;
		}
	}
	return true;
}

static void npt_zap(struct kvm *kvm, int as_id, gfn_t start,
		    unsigned long npages, const struct kvm_memory_slot *collapse)
{
	struct kvm_mmu *mmu = &kvm->arch.as_mmu[as_id];
	gfn_t gfn = start, end = start + npages;
	bool done;
	u64 *batch;
	int n;

	batch = (u64 *)__get_free_page(GFP_KERNEL | __GFP_NOFAIL);
	do {
		n = 0;
		spin_lock(&mmu->lock);
		done = npt_zap_some(mmu, start, &gfn, end, batch, &n, collapse);
		spin_unlock(&mmu->lock);
		npt_release_batch(kvm, batch, n);
	} while (!done);
	free_page((unsigned long)batch);
	/* Shadow pages of guest tables in the range, even if none was mapped. */
	kvm_shadow_zap_all(kvm);
}

void kvm_mmu_zap_range(struct kvm *kvm, int as_id, gfn_t start,
		       unsigned long npages)
{
	npt_zap(kvm, as_id, start, npages, NULL);
}

/* ---- dirty logging -------------------------------------------------------- */

void kvm_arch_flush_remote_tlbs(struct kvm *kvm)
{
	/* npt=0: the shadow leaves lose write access with the NPT's. */
	kvm_shadow_protect_all(kvm);
	kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH);
}

static unsigned long npt_count_huge(struct kvm_mmu *mmu, gfn_t start,
				    gfn_t end)
{
	unsigned long n = 0;
	gfn_t gfn;

	for (gfn = start & ~(gfn_t)(NPT_HUGE_PAGES - 1); gfn < end;
	     gfn += NPT_HUGE_PAGES) {
		u64 *pde = npt_pde(mmu, gfn);

		n += pde && (*pde & NPT_PRESENT) && (*pde & NPT_LARGE);
	}
	return n;
}

/*
 * Replace the huge leaf at @pde by a level-1 table mapping the same 512
 * pages; each 4 KiB page already holds its own pin.
 */
static void npt_split(u64 *pde, u64 *table, bool writable)
{
	u64 pfn = (*pde & NPT_ADDR_MASK) >> PAGE_SHIFT;
	int i;

	for (i = 0; i < NPT_ENTRIES; i++)
		table[i] = ((pfn + i) << PAGE_SHIFT) | NPT_LEAF_BITS |
			   (writable ? (*pde & NPT_WRITABLE) : 0);
	*pde = __pa(table) | NPT_TABLE_BITS;
}

static void npt_protect_range(u64 *table, gfn_t gfn, gfn_t end)
{
	for (; gfn < end; gfn++)
		table[npt_index(gfn, 1)] &= ~NPT_WRITABLE;
}

void kvm_arch_dirty_log_start(struct kvm *kvm,
			      const struct kvm_memory_slot *slot, bool protect)
{
	struct kvm_mmu *mmu = npt_slot_mmu(kvm, slot);
	gfn_t start = slot->base_gfn, end = start + slot->npages, gfn;
	unsigned long n, used = 0, i;
	u64 **tables;

	/* slots_lock is held for write: no fault changes the tables now. */
	spin_lock(&mmu->lock);
	n = npt_count_huge(mmu, start, end);
	spin_unlock(&mmu->lock);

	tables = n ? kvcalloc(n, sizeof(*tables), GFP_KERNEL_ACCOUNT) : NULL;
	for (i = 0; tables && i < n; i++) {
		tables[i] = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!tables[i])
			break;
	}
	if (n && (!tables || i < n)) {
		/* No memory to split: drop every mapping, refault 4 KiB. */
		while (tables && i--)
			free_page((unsigned long)tables[i]);
		kvfree(tables);
		kvm_mmu_zap_range(kvm, slot->as_id, start, slot->npages);
		return;
	}

	spin_lock(&mmu->lock);
	for (gfn = start; gfn < end;
	     gfn = (gfn + NPT_HUGE_PAGES) & ~(gfn_t)(NPT_HUGE_PAGES - 1)) {
		u64 *pde = npt_pde(mmu, gfn);
		gfn_t stop = min(end, (gfn + NPT_HUGE_PAGES) &
				      ~(gfn_t)(NPT_HUGE_PAGES - 1));

		if (!pde || !(*pde & NPT_PRESENT))
			continue;
		if (*pde & NPT_LARGE)
			npt_split(pde, tables[used++], !protect);
		else if (protect)
			npt_protect_range(npt_table(*pde), gfn, stop);
	}
	spin_unlock(&mmu->lock);
	kvfree(tables);
	kvm_arch_flush_remote_tlbs(kvm);
}

void kvm_arch_dirty_log_stop(struct kvm *kvm,
			     const struct kvm_memory_slot *slot)
{
	npt_zap(kvm, slot->as_id, slot->base_gfn, slot->npages, slot);
}

void kvm_arch_write_protect_gfns(struct kvm *kvm,
				 const struct kvm_memory_slot *slot,
				 gfn_t offset, unsigned long mask)
{
	struct kvm_mmu *mmu = npt_slot_mmu(kvm, slot);
	gfn_t base = slot->base_gfn + offset, region = ~(gfn_t)0;
	u64 *table = NULL;

	spin_lock(&mmu->lock);
	while (mask) {
		gfn_t gfn = base + __ffs(mask);
		u64 *e;

		mask &= mask - 1;
		/* Up to 64 pages: at most two level-1 tables to look up. */
		if ((gfn & ~(gfn_t)(NPT_HUGE_PAGES - 1)) != region) {
			u64 *pde = npt_pde(mmu, gfn);

			region = gfn & ~(gfn_t)(NPT_HUGE_PAGES - 1);
			table = NULL;
			if (pde && (*pde & NPT_PRESENT)) {
				/* Logging slots have no huge leaves. */
				if (*pde & NPT_LARGE)
					*pde &= ~NPT_WRITABLE;
				else
					table = npt_table(*pde);
			}
		}
		if (!table)
			continue;
		e = &table[npt_index(gfn, 1)];
		if (*e & NPT_WRITABLE)
			*e &= ~NPT_WRITABLE;
	}
	spin_unlock(&mmu->lock);
}

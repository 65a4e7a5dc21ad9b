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
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/io.h>

#include "x86.h"

#define NPT_PRESENT	BIT_ULL(0)
#define NPT_WRITABLE	BIT_ULL(1)
#define NPT_USER	BIT_ULL(2)
#define NPT_ACCESSED	BIT_ULL(5)
#define NPT_DIRTY	BIT_ULL(6)
#define NPT_ADDR_MASK	GENMASK_ULL(51, 12)
#define NPT_TABLE_BITS	(NPT_PRESENT | NPT_WRITABLE | NPT_USER | NPT_ACCESSED)

#define NPT_LEVELS	4
#define NPT_GPA_BITS	48	/* what a 4-level table can map */
#define NPT_ENTRIES	512

/* Pages unpinned per batch while zapping: one TLB shootdown each. */
#define NPT_ZAP_BATCH	(PAGE_SIZE / sizeof(struct page *))

static unsigned int npt_index(gfn_t gfn, int level)
{
	return (gfn >> (9 * (level - 1))) & (NPT_ENTRIES - 1);
}

static u64 *npt_table(u64 entry)
{
	return __va(entry & NPT_ADDR_MASK);
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
			unpin_user_page(pfn_to_page(e >> PAGE_SHIFT));
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

/*
 * Find the leaf entry for @gfn, creating the missing tables from
 * @spare (pages allocated before taking the lock).  Caller holds mmu->lock.
 */
static u64 *npt_leaf(struct kvm_mmu *mmu, gfn_t gfn, u64 **spare, int *nspare)
{
	u64 *table = mmu->root;
	int level;

	for (level = NPT_LEVELS; level > 1; level--) {
		u64 *e = &table[npt_index(gfn, level)];

		if (!(*e & NPT_PRESENT)) {
			if (!*nspare)
				return NULL;
			*e = __pa(spare[--*nspare]) | NPT_TABLE_BITS;
		}
		table = npt_table(*e);
	}
	return &table[npt_index(gfn, 1)];
}

/* Pin the host page behind @hva; read-only slots may be read-only mappings. */
static int npt_pin(unsigned long hva, bool writable, struct page **page)
{
	/* Prefer a writable pin even for read-only slots: it breaks COW
	 * now, so later host writes stay visible to the guest.
	 */
	if (pin_user_pages_fast(hva, 1, FOLL_WRITE | FOLL_LONGTERM, page) == 1)
		return 0;
	if (writable)
		return -EFAULT;
	if (pin_user_pages_fast(hva, 1, FOLL_LONGTERM, page) == 1)
		return 0;
	return -EFAULT;
}

static int npt_map(struct kvm *kvm, gfn_t gfn, struct page *page,
		   bool writable)
{
	struct kvm_mmu *mmu = &kvm->arch.mmu;
	u64 *spare[NPT_LEVELS - 1];
	int nspare, i;
	u64 *leaf;
	int r = 0;

	for (nspare = 0; nspare < NPT_LEVELS - 1; nspare++) {
		spare[nspare] = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!spare[nspare]) {
			r = -ENOMEM;
			goto out;
		}
	}

	spin_lock(&mmu->lock);
	leaf = npt_leaf(mmu, gfn, spare, &nspare);
	if (*leaf & NPT_PRESENT) {
		/* Another vCPU mapped it first. */
		unpin_user_page(page);
	} else {
		*leaf = page_to_phys(page) | NPT_PRESENT | NPT_USER |
			NPT_ACCESSED | NPT_DIRTY |
			(writable ? NPT_WRITABLE : 0);
	}
	spin_unlock(&mmu->lock);
	page = NULL;
out:
	if (page)
		unpin_user_page(page);
	for (i = 0; i < nspare; i++)
		free_page((unsigned long)spare[i]);
	return r;
}

int kvm_mmu_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code)
{
	struct kvm *kvm = vcpu->kvm;
	bool write = error_code & PFERR_WRITE;
	struct kvm_memory_slot *slot;
	struct page *page;
	bool writable;
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
	writable = !(slot->flags & KVM_MEM_READONLY);
	r = npt_pin(gfn_to_hva_memslot(slot, gfn), writable, &page);
	if (!r)
		r = npt_map(kvm, gfn, page, writable);
	up_read(&kvm->slots_lock);
	return r ? r : EXIT_RESUME;
}

/* Make sure no vCPU still translates through the zapped entries, then unpin. */
static void npt_release_batch(struct kvm *kvm, struct page **batch, int n)
{
	if (!n)
		return;
	kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH);
	unpin_user_pages(batch, n);
}

/* Clear the leaves of [*gfn, end) into @batch; returns false when full. */
static bool npt_zap_some(struct kvm_mmu *mmu, gfn_t *gfn, gfn_t end,
			 struct page **batch, int *n)
{
	while (*gfn < end) {
		u64 *table = mmu->root;
		int level;

		for (level = NPT_LEVELS; level > 1; level--) {
			u64 e = table[npt_index(*gfn, level)];
			u64 span = 1ULL << (9 * (level - 1));

			if (!(e & NPT_PRESENT)) {
				*gfn = (*gfn + span) & ~(span - 1);
				break;
			}
			table = npt_table(e);
		}
		if (level > 1)
			continue;

		table += npt_index(*gfn, 1);
		if (*table & NPT_PRESENT) {
			if (*n == NPT_ZAP_BATCH)
				return false;
			batch[(*n)++] = pfn_to_page(*table >> PAGE_SHIFT);
			*table = 0;
		}
		(*gfn)++;
	}
	return true;
}

void kvm_mmu_zap_range(struct kvm *kvm, gfn_t start, unsigned long npages)
{
	struct kvm_mmu *mmu = &kvm->arch.mmu;
	gfn_t gfn = start, end = start + npages;
	struct page **batch;
	bool done;
	int n;

	batch = (struct page **)__get_free_page(GFP_KERNEL | __GFP_NOFAIL);
	do {
		n = 0;
		spin_lock(&mmu->lock);
		done = npt_zap_some(mmu, &gfn, end, batch, &n);
		spin_unlock(&mmu->lock);
		npt_release_batch(kvm, batch, n);
	} while (!done);
	free_page((unsigned long)batch);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shadow page cache: every shadow page of a VM, found by the guest
 * frame it shadows and its role, shared by the vCPUs under one mutex.
 *
 * A page that shadows a guest table (not a direct one) keeps the frame
 * write-protected: no shadow leaf maps it writable, so every guest write to
 * it faults and is emulated (mmu/shadow.c), and shadow_pte_written() drops
 * the shadow entries made from the entry written, in every page of that
 * frame.  The shadow is thus always in step with the guest's tables.
 *
 * To write-protect a frame we must find the leaves that map it: the
 * reverse map, host pfn -> leaves.  Host pfns are those of the nested page
 * table (mmu/npt.c); whenever that table drops or write-protects a mapping
 * it zaps or write-protects the whole cache first (kvm_shadow_zap_all(),
 * kvm_shadow_protect_all()), so a leaf's pfn is always its frame's pfn.
 *
 * Address spaces (SMM, kvm_arch_vcpu_as_id()) are kept apart: the role
 * holds the address space, so an SMM page and a non-SMM one of the same
 * frame never mix; a guest table is write-protected in the address space it
 * was read from (its frame's host page in that space's nested page table),
 * and the reverse map is keyed by (host pfn, address space).
 *
 * Zapped pages leave the hash and their parents at once but are freed only
 * after every vCPU left the guest (shadow_commit_zap()): another CPU may
 * be walking them.  A root in use stays until its last vCPU lets it go.
 */
#include <linux/hash.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "shadow_cache.h"
#include "walk.h"

/* Writes to a guest table not used in between: it is no table any more. */
#define SHADOW_FLOOD_WRITES	3
/* Pages one reclaim frees beyond what was asked: fewer TLB shootdowns. */
#define SHADOW_RECLAIM_BATCH	16
/* Fewest pages a VM may use, whatever KVM_SET_NR_MMU_PAGES says. */
#define SHADOW_MIN_PAGES	64

/* The nested page table's entry format (mmu/npt.c, APM vol 2, 15.25.5). */
#define NPT_P			BIT_ULL(0)
#define NPT_W			BIT_ULL(1)
#define NPT_PS			BIT_ULL(7)
#define NPT_LEVELS		4

/*
 * Reverse-map key of a 2 MiB leaf: its first pfn with this tag, so that
 * the leaves covering a frame are found from the frame's huge page.
 */
#define SHADOW_RMAP_LARGE	BIT_ULL(63)
/* ... and of a leaf of an SMM shadow page (address space 1). */
#define SHADOW_RMAP_SMM		BIT_ULL(62)
#define SHADOW_LARGE_PAGES	512

struct shadow_rmap {
	struct hlist_node node;
	/* pfn, or first pfn | SHADOW_RMAP_LARGE; | SHADOW_RMAP_SMM */
	u64 pfn;
	unsigned int n, max;
	u64 **leaves;
};

struct shadow_page *shadow_sp_of(u64 entry)
{
	u64 pfn = (entry & SPT_ADDR_MASK) >> PAGE_SHIFT;

	return (struct shadow_page *)page_private(pfn_to_page(pfn));
}

static struct hlist_head *sp_bucket(struct kvm_shadow_vm *sv, gfn_t gfn)
{
	return &sv->pages[hash_64(gfn, SHADOW_HASH_BITS)];
}

/* Grow a pointer array by doubling; false if out of memory. */
static bool ptrs_room(u64 ***arr, unsigned int n, unsigned int *max)
{
	unsigned int want = *max ? *max * 2 : 4;
	u64 **p;

	if (n < *max)
		return true;
	p = krealloc(*arr, want * sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return false;
	*arr = p;
	*max = want;
	return true;
}

/* Remove @e from the array (order does not matter); false if absent. */
static bool ptrs_del(u64 **arr, unsigned int *n, u64 *e)
{
	unsigned int i;

	for (i = 0; i < *n; i++) {
		if (arr[i] == e) {
			arr[i] = arr[--*n];
			return true;
		}
	}
	return false;
}

/* ---- the reverse map -------------------------------------------------- */

static struct shadow_rmap *rmap_find(struct kvm_shadow_vm *sv, u64 pfn)
{
	struct shadow_rmap *r;

	hlist_for_each_entry(r, &sv->rmaps[hash_64(pfn, SHADOW_RMAP_BITS)],
			     node)
		if (r->pfn == pfn)
			return r;
	return NULL;
}

static int rmap_add(struct kvm_shadow_vm *sv, u64 pfn, u64 *leaf)
{
	struct shadow_rmap *r = rmap_find(sv, pfn);

	if (!r) {
		r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
		if (!r)
			return -ENOMEM;
		r->pfn = pfn;
		hlist_add_head(&r->node,
			       &sv->rmaps[hash_64(pfn, SHADOW_RMAP_BITS)]);
	}
	if (!ptrs_room(&r->leaves, r->n, &r->max)) {
		if (!r->n) {
			hlist_del(&r->node);
			kfree(r);
		}
		return -ENOMEM;
	}
	r->leaves[r->n++] = leaf;
	return 0;
}

static void rmap_del(struct kvm_shadow_vm *sv, u64 pfn, u64 *leaf)
{
	struct shadow_rmap *r = rmap_find(sv, pfn);

	if (WARN_ON_ONCE(!r || !ptrs_del(r->leaves, &r->n, leaf)))
		return;
	if (!r->n) {
		hlist_del(&r->node);
		kfree(r->leaves);
		kfree(r);
	}
}

/* ---- entries ---------------------------------------------------------- */

/* A leaf: a 4 KiB entry of a page table, or a 2 MiB one (PS). */
static bool spte_is_leaf(u64 v, int level)
{
	return level == 1 || (level == 2 && (v & X86_PTE_PS));
}

/* The shadow page holding leaf @entry (leaves live only in shadow pages). */
static struct shadow_page *sp_of_entry(u64 *entry)
{
	return (struct shadow_page *)page_private(virt_to_page(entry));
}

static u64 rmap_as_tag(int as_id)
{
	return as_id ? SHADOW_RMAP_SMM : 0;
}

static u64 rmap_key(u64 *entry, u64 v, int level)
{
	u64 pfn = (v & SPT_ADDR_MASK) >> PAGE_SHIFT;

	pfn |= rmap_as_tag(sp_of_entry(entry)->role.smm);
	return level == 1 ? pfn : pfn | SHADOW_RMAP_LARGE;
}

/*
 * Point @entry (empty) at @child with @bits; the child learns its parent so
 * that zapping it clears the entry.
 */
int shadow_link(u64 *entry, struct shadow_page *child, u64 bits)
{
	if (!ptrs_room(&child->parents, child->nr_parents,
		       &child->max_parents))
		return -ENOMEM;
	child->parents[child->nr_parents++] = entry;
	WRITE_ONCE(*entry, __pa(child->spt) | bits);
	return 0;
}

/* Clear @entry of a table at @level: a leaf or a link to a child. */
void shadow_drop(struct kvm_shadow_vm *sv, u64 *entry, int level)
{
	u64 v = *entry;

	if (!(v & X86_PTE_P))
		return;
	WRITE_ONCE(*entry, 0);
	if (spte_is_leaf(v, level)) {
		rmap_del(sv, rmap_key(entry, v, level), entry);
		return;
	}
	WARN_ON_ONCE(!ptrs_del(shadow_sp_of(v)->parents,
			       &shadow_sp_of(v)->nr_parents, entry));
}

/* Make leaf @entry (at @level 1, or 2 with PS) map @val, reverse-mapped. */
int shadow_set_leaf(struct kvm_shadow_vm *sv, u64 *entry, int level, u64 val)
{
	u64 old = *entry;

	if ((old & X86_PTE_P) && spte_is_leaf(old, level) &&
	    rmap_key(entry, old, level) == rmap_key(entry, val, level)) {
		WRITE_ONCE(*entry, val);
		return 0;
	}
	shadow_drop(sv, entry, level);
	if (rmap_add(sv, rmap_key(entry, val, level), entry))
		return -ENOMEM;
	WRITE_ONCE(*entry, val);
	return 0;
}

/* ---- pages ------------------------------------------------------------ */

static struct shadow_page *sp_find(struct kvm_shadow_vm *sv, gfn_t gfn,
				   union shadow_role role)
{
	struct shadow_page *sp;

	hlist_for_each_entry(sp, sp_bucket(sv, gfn), hash)
		if (sp->gfn == gfn && sp->role.word == role.word)
			return sp;
	return NULL;
}

/* Is @gfn of address space @as_id a guest table we shadow (protected)? */
bool shadow_gfn_tracked(struct kvm_shadow_vm *sv, int as_id, gfn_t gfn)
{
	struct shadow_page *sp;

	hlist_for_each_entry(sp, sp_bucket(sv, gfn), hash)
		if (sp->gfn == gfn && !sp->role.direct &&
		    sp->role.smm == as_id)
			return true;
	return false;
}

/*
 * The host page backing @gfn in address space @as_id's nested page table,
 * whether it may be written and whether a 2 MiB leaf maps it (@huge may be
 * NULL); false if it is not mapped.
 */
bool shadow_npt_lookup(struct kvm *kvm, int as_id, gfn_t gfn, u64 *hpa,
		       bool *writable, bool *huge)
{
	struct kvm_mmu *mmu = &kvm->arch.as_mmu[as_id];
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
			if (huge)
				*huge = level == 2;
			found = true;
			break;
		}
		table = __va(e & SPT_ADDR_MASK);
	}
	spin_unlock(&mmu->lock);
	return found;
}

/*
 * Take write access away from every leaf of address space @as_id mapping
 * @gfn; true if any had it.  2 MiB leaves over it go: the frame's
 * neighbours stay writable.
 */
static bool shadow_write_protect(struct kvm *kvm, struct kvm_shadow_vm *sv,
				 int as_id, gfn_t gfn)
{
	struct shadow_rmap *r;
	bool changed = false, w;
	unsigned int i;
	u64 hpa, pfn;

	if (!shadow_npt_lookup(kvm, as_id, gfn, &hpa, &w, NULL))
		return false;	/* not mapped: no leaf can map it either */
	pfn = hpa >> PAGE_SHIFT;
	r = rmap_find(sv, pfn | rmap_as_tag(as_id));
	for (i = 0; r && i < r->n; i++) {
		if (*r->leaves[i] & X86_PTE_RW) {
			WRITE_ONCE(*r->leaves[i], *r->leaves[i] & ~X86_PTE_RW);
			changed = true;
		}
	}
	pfn = (pfn & ~(u64)(SHADOW_LARGE_PAGES - 1)) | SHADOW_RMAP_LARGE |
	      rmap_as_tag(as_id);
	while ((r = rmap_find(sv, pfn))) {
		shadow_drop(sv, r->leaves[r->n - 1], 2);
		changed = true;
	}
	return changed;
}

/* Is any frame of the 2 MiB at @gfn (of @as_id) a guest table we shadow? */
bool shadow_region_tracked(struct kvm_shadow_vm *sv, int as_id, gfn_t gfn)
{
	gfn_t first = gfn & ~(gfn_t)(SHADOW_LARGE_PAGES - 1), g;

	for (g = first; g < first + SHADOW_LARGE_PAGES; g++)
		if (shadow_gfn_tracked(sv, as_id, g))
			return true;
	return false;
}

/*
 * The page for (@gfn, @role), made if missing.  A new page of a guest
 * table write-protects the frame; *@protected tells the caller that some
 * leaf lost write access, so TLBs must be flushed before the guest's
 * table is read again.  NULL if out of memory.
 */
struct shadow_page *shadow_sp_get(struct kvm *kvm, struct kvm_shadow_vm *sv,
				  gfn_t gfn, union shadow_role role,
				  bool *protected)
{
	struct shadow_page *sp = sp_find(sv, gfn, role);
	bool tracked;

	if (sp)
		return sp;
	sp = kzalloc(sizeof(*sp), GFP_KERNEL_ACCOUNT);
	if (!sp)
		return NULL;
	sp->spt = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!sp->spt) {
		kfree(sp);
		return NULL;
	}
	set_page_private(virt_to_page(sp->spt), (unsigned long)sp);
	sp->gfn = gfn;
	sp->role = role;
	tracked = role.direct || shadow_gfn_tracked(sv, role.smm, gfn);
	hlist_add_head(&sp->hash, sp_bucket(sv, gfn));
	list_add(&sp->lru, &sv->lru);
	sv->nr_pages++;
	if (!tracked && shadow_write_protect(kvm, sv, role.smm, gfn))
		*protected = true;
	return sp;
}

/* @sp was used by a guest walk: recently used, and a table after all. */
void shadow_sp_touch(struct kvm_shadow_vm *sv, struct shadow_page *sp)
{
	sp->writes = 0;
	list_move(&sp->lru, &sv->lru);
}

/*
 * Take @sp out of the cache: its entries, its parents' entries pointing at
 * it.  Children stay cached (another address space may still use them).
 */
void shadow_sp_zap(struct kvm_shadow_vm *sv, struct shadow_page *sp)
{
	int i;

	if (sp->zapped)
		return;
	for (i = 0; i < SPT_ENTRIES; i++)
		shadow_drop(sv, &sp->spt[i], sp->role.level);
	while (sp->nr_parents)
		WRITE_ONCE(*sp->parents[--sp->nr_parents], 0);
	hlist_del(&sp->hash);
	list_del(&sp->lru);
	sp->zapped = true;
	sv->nr_pages--;
	if (!sp->root_count)
		list_add(&sp->lru, &sv->zapped);
}

/* A vCPU lets go of root @sp. */
void shadow_root_put(struct kvm_shadow_vm *sv, struct shadow_page *sp)
{
	if (--sp->root_count == 0 && sp->zapped)
		list_add(&sp->lru, &sv->zapped);
}

static void sp_free(struct shadow_page *sp)
{
	set_page_private(virt_to_page(sp->spt), 0);
	free_page((unsigned long)sp->spt);
	kfree(sp->parents);
	kfree(sp);
}

/*
 * Free the zapped pages once no vCPU is in the guest with them.  @kvm is
 * NULL when no vCPU can run any more (the VM is being destroyed).
 */
void shadow_commit_zap(struct kvm *kvm, struct kvm_shadow_vm *sv)
{
	struct shadow_page *sp, *tmp;

	if (list_empty(&sv->zapped))
		return;
	if (kvm)
		kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH);
	list_for_each_entry_safe(sp, tmp, &sv->zapped, lru) {
		list_del(&sp->lru);
		sp_free(sp);
	}
}

/* Stop shadowing guest table @gfn of @as_id: it may be written again. */
void shadow_unprotect(struct kvm_shadow_vm *sv, int as_id, gfn_t gfn)
{
	struct shadow_page *sp;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(sp, tmp, sp_bucket(sv, gfn), hash)
		if (sp->gfn == gfn && !sp->role.direct &&
		    sp->role.smm == as_id)
			shadow_sp_zap(sv, sp);
}

/*
 * Guest entry @k of @sp's guest table changed: drop the shadow entries
 * made from it.  A 2-level guest's table has 1024 4-byte entries, shadowed
 * by two page tables or four page directories (role.quadrant); each guest
 * 4 MiB page-directory entry is two shadow ones.
 */
static void sp_drop_guest_entry(struct kvm_shadow_vm *sv,
				struct shadow_page *sp, unsigned int k)
{
	int level = sp->role.level, first = k, n = 1, i;

	if (sp->role.glevels == 2 && level == 1) {
		first = k - sp->role.quadrant * SPT_ENTRIES;
	} else if (sp->role.glevels == 2) {
		first = 2 * (k - sp->role.quadrant * (SPT_ENTRIES / 2));
		n = 2;
	}
	if (first < 0 || first >= SPT_ENTRIES)
		return;
	for (i = first; i < first + n; i++)
		shadow_drop(sv, &sp->spt[i], level);
}

/*
 * The guest wrote @len bytes at @gpa (within one page) of @as_id.  Entry-sized,
 * aligned writes drop what was made from the entry; other writes, or
 * @count'ed writes to a table not used since SHADOW_FLOOD_WRITES of them,
 * zap the page: the frame is write-protected no more.
 */
void shadow_pte_written(struct kvm_shadow_vm *sv, int as_id, gpa_t gpa,
			unsigned int len, bool count)
{
	unsigned int off = offset_in_page(gpa), esz;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	struct shadow_page *sp;
	struct hlist_node *tmp;

	hlist_for_each_entry_safe(sp, tmp, sp_bucket(sv, gfn), hash) {
		if (sp->gfn != gfn || sp->role.direct ||
		    sp->role.smm != as_id)
			continue;
		esz = sp->role.glevels == 2 ? 4 : 8;
		if ((off & (esz - 1)) || len != esz ||
		    (count && ++sp->writes >= SHADOW_FLOOD_WRITES)) {
			shadow_sp_zap(sv, sp);
			continue;
		}
		sp_drop_guest_entry(sv, sp, off / esz);
	}
}

static unsigned long shadow_budget(struct kvm *kvm)
{
	return max_t(unsigned long, kvm->arch.n_mmu_pages, SHADOW_MIN_PAGES);
}

/*
 * Make room for @want new pages within the VM's budget: zap the least
 * recently used pages no vCPU holds as its root.
 */
void shadow_make_room(struct kvm *kvm, struct kvm_shadow_vm *sv,
		      unsigned long want)
{
	unsigned long budget = shadow_budget(kvm);
	struct shadow_page *sp, *tmp;

	if (sv->nr_pages + want <= budget)
		return;
	want += SHADOW_RECLAIM_BATCH;
	list_for_each_entry_safe_reverse(sp, tmp, &sv->lru, lru) {
		if (sv->nr_pages + want <= budget)
			break;
		if (!sp->root_count)
			shadow_sp_zap(sv, sp);
	}
}

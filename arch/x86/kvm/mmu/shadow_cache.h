/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The shadow page cache (mmu/shadow_cache.c), private to the shadow MMU:
 * shadow pages kept per VM and found by (guest frame, role), the reverse
 * map from host pages to the shadow leaves that map them, and the rules
 * for taking pages out (zap) and giving their memory back.
 */
#ifndef UKVM_MMU_SHADOW_CACHE_H
#define UKVM_MMU_SHADOW_CACHE_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "x86.h"

#define SPT_ENTRIES		512
#define SPT_ADDR_MASK		GENMASK_ULL(51, 12)

/* The rights the guest entries above a shadow page grant (role.access). */
#define SHADOW_ACC_WRITE	BIT(0)
#define SHADOW_ACC_USER		BIT(1)
#define SHADOW_ACC_EXEC		BIT(2)
#define SHADOW_ACC_ALL		(SHADOW_ACC_WRITE | SHADOW_ACC_USER | \
				 SHADOW_ACC_EXEC)

/*
 * What a shadow page is for, besides its guest frame: two pages of one
 * frame with different roles translate differently and never mix.
 */
union shadow_role {
	u32 word;
	struct {
		u32 level:3;	/* 1 = page table ... 4 = PML4 (shadow format) */
		u32 glevels:3;	/* guest paging: 0 unpaged, 2, 3 (PAE), 4 */
		/* 2-level guests: which part of the guest table it covers. */
		u32 quadrant:2;
		/* Maps guest-physical memory (a guest large page, no paging). */
		u32 direct:1;
		u32 access:3;	/* SHADOW_ACC_* of the guest entries above */
		u32 dirty:1;	/* direct: the guest's large entry has D */
		u32 wp:1;	/* CR0.WP */
		u32 pse:1;	/* CR4.PSE (4 MiB pages of 2-level guests) */
		u32 smep:1;
		u32 smap:1;
		u32 nxe:1;	/* EFER.NXE: NX may be set in the entries */
		/* The memslot address space it translates (1 = SMM). */
		u32 smm:1;
	};
};

struct shadow_page {
	struct hlist_node hash;		/* in kvm_shadow_vm.pages, by gfn */
	struct list_head lru;		/* kvm_shadow_vm.lru, or .zapped */
	gfn_t gfn;	/* the guest table; direct: first frame mapped */
	union shadow_role role;
	u64 *spt;			/* the table the hardware walks */
	unsigned int root_count;	/* vCPUs that use it as CR3 */
	/* Entries pointing at it (in shadow pages or vCPUs' PAE roots). */
	u64 **parents;
	unsigned int nr_parents, max_parents;
	/* Emulated writes to the guest table since the page was last used. */
	unsigned int writes;
	bool zapped;			/* out of the cache, waiting to be freed */
};

#define SHADOW_HASH_BITS	10
#define SHADOW_RMAP_BITS	12

/*
 * One per VM, shared by its vCPUs.  @lock protects everything here, every
 * shadow page and every entry of a shadow page or of a vCPU's PAE root.
 * Lock order: kvm->slots_lock, then @lock, then kvm->arch.mmu.lock.
 */
struct kvm_shadow_vm {
	struct mutex lock;
	struct hlist_head pages[1 << SHADOW_HASH_BITS];
	/*
	 * (Host pfn, address space) -> the shadow leaves of that address
	 * space that map it (struct shadow_rmap).
	 */
	struct hlist_head rmaps[1 << SHADOW_RMAP_BITS];
	struct list_head lru;		/* live pages, most recently used first */
	struct list_head zapped;	/* freed once no vCPU can use them */
	unsigned long nr_pages;		/* live pages */
};

struct shadow_page *shadow_sp_of(u64 entry);
struct shadow_page *shadow_sp_get(struct kvm *kvm, struct kvm_shadow_vm *sv,
				  gfn_t gfn, union shadow_role role,
				  bool *protected);
bool shadow_gfn_tracked(struct kvm_shadow_vm *sv, int as_id, gfn_t gfn);
void shadow_sp_touch(struct kvm_shadow_vm *sv, struct shadow_page *sp);
int shadow_link(u64 *entry, struct shadow_page *child, u64 bits);
void shadow_drop(struct kvm_shadow_vm *sv, u64 *entry, int level);
int shadow_set_leaf(struct kvm_shadow_vm *sv, u64 *entry, int level, u64 val);
bool shadow_region_tracked(struct kvm_shadow_vm *sv, int as_id, gfn_t gfn);
void shadow_sp_zap(struct kvm_shadow_vm *sv, struct shadow_page *sp);
void shadow_unprotect(struct kvm_shadow_vm *sv, int as_id, gfn_t gfn);
void shadow_pte_written(struct kvm_shadow_vm *sv, int as_id, gpa_t gpa,
			unsigned int len, bool count);
void shadow_make_room(struct kvm *kvm, struct kvm_shadow_vm *sv,
		      unsigned long want);
void shadow_root_put(struct kvm_shadow_vm *sv, struct shadow_page *sp);
void shadow_commit_zap(struct kvm *kvm, struct kvm_shadow_vm *sv);
bool shadow_npt_lookup(struct kvm *kvm, int as_id, gfn_t gfn, u64 *hpa,
		       bool *writable, bool *huge);

#endif /* UKVM_MMU_SHADOW_CACHE_H */

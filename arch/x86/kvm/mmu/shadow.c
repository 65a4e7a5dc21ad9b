// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shadow paging: the guest runs on page tables we build from its own,
 * for hardware without nested paging (or npt=0).
 *
 * Design: shadow pages are cached per VM by (guest frame, role) in
 * mmu/shadow_cache.c, which also keeps every shadowed guest table
 * write-protected.  A shadow page shadows one guest page table in one role
 * (level, guest paging mode, quadrant, the rights of the entries above it,
 * CR0.WP, CR4.PSE/SMEP/SMAP, EFER.NXE) or, "direct", maps guest-physical
 * memory (a guest large page, or a guest without paging).  Pages are
 * filled lazily on intercepted #PFs from a walk of the guest's tables with
 * the shared walker (mmu/walk.c, which also sets the guest's accessed and
 * dirty bits): the fault's path of shadow pages is found or made, then the
 * leaf is written: 2 MiB where the guest maps at least 2 MiB, the host backs
 * it with a huge page and no guest table lies in it, else 4 KiB.
 *
 * The guest's writes to its tables fault (they are write-protected) and
 * are emulated; the emulator tells us (kvm_shadow_guest_write()) and the
 * shadow entries made from the written entry go.  So the shadow never holds
 * a translation the guest's tables do not, whatever the guest flushes or
 * not, and a TLB flush only needs the hardware's: INVLPG and CR3 loads
 * keep their architectural meaning.  A guest table that is written without
 * being used stops being shadowed ("unprotected"): see shadow_cache.c.
 *
 * Roots: a long-mode guest's PML4 is a cached page held by the vCPU while
 * its CR3 points there, so a CR3 load finds the address space it left,
 * with all its subtrees, and does not refault.  The hardware runs every
 * other guest mode on legacy PAE (the backend forces CR4.PAE and CR0.PG),
 * with a per-vCPU PDPT below 4 GiB whose four entries point at cached page
 * directories; it is refilled after each CR3 load (PAE PDPTEs are loaded
 * with CR3, APM vol 2, 5.3.3).
 *
 * SMM: everything goes through the vCPU's memslot address space
 * (kvm_arch_vcpu_as_id(): 1 in SMM).  The guest's tables are read and
 * their A/D bits set there, guest-physical frames found there, and the
 * address space is part of the role, so SMM and non-SMM shadow pages never
 * mix; entering or leaving SMM changes the base role and so loads another
 * root before the next entry.
 *
 * Guest-physical to host-physical comes from the address space's nested
 * page table (mmu/npt.c, kvm->arch.as_mmu[]), kept as a software table: it holds the pins, honours
 * read-only slots and dirty logging.  When it drops a mapping it zaps the
 * whole cache first, when it write-protects for dirty logging it takes
 * write access from every shadow leaf (kvm_shadow_zap_all(),
 * kvm_shadow_protect_all()).  Shadow entries hold no pins.
 *
 * The cache is bounded by KVM_SET_NR_MMU_PAGES: past it the least recently
 * used pages no vCPU holds as its root are zapped.  A guest table that
 * loops (a PDE pointing at its PML4) costs one page per level and role.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "x86.h"
#include "shadow.h"
#include "shadow_cache.h"

#include "walk.h"

bool kvm_shadow_paging;

/* Non-leaf entries allow everything: the leaf carries the permissions. */
#define SPT_TABLE_BITS		(X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_A)
/* A and D preset: the hardware never needs to write them back. */
#define SPT_LEAF_BITS		(X86_PTE_P | X86_PTE_A | X86_PTE_D)
/* Legacy PAE PDPTEs have only P, PWT, PCD (APM vol 2, 5.3.3). */
#define SPT_PAE_PDPTES		4
#define SPT_PAE_PDPTE_BITS	X86_PTE_P
/* Pages one fault may add: a path below the root. */
#define SHADOW_FAULT_PAGES	3
/* What a 2 MiB shadow leaf maps. */
#define SHADOW_LARGE_SIZE	(2ULL << 20)
/* A 4-level guest's CR3 (bits 11:0 hold the PCID or PWT/PCD). */
#define SHADOW_CR3_MASK		GENMASK_ULL(51, 12)

/* The vCPU's root and what it was loaded for. */
struct kvm_shadow_mmu {
	struct shadow_page *root;	/* long mode: the cached PML4 */
	u64 *pae_root;			/* other modes: PDPT below 4 GiB */
	u64 root_pa;			/* the hardware's CR3 */
	u64 cr3;			/* guest CR3 at load */
	u32 role;			/* base role at load */
	bool loaded;			/* else reload before entering */
};

/* ---- the VM's cache --------------------------------------------------- */

static struct kvm_shadow_vm *shadow_vm(struct kvm *kvm)
{
	struct kvm_shadow_vm *sv = READ_ONCE(kvm->arch.shadow);

	if (sv)
		return sv;
	sv = kvzalloc(sizeof(*sv), GFP_KERNEL_ACCOUNT);
	if (!sv)
		return NULL;
	mutex_init(&sv->lock);
	INIT_LIST_HEAD(&sv->lru);
	INIT_LIST_HEAD(&sv->zapped);
	/* Two vCPUs' first entries race: the first one's cache wins. */
	if (cmpxchg(&kvm->arch.shadow, NULL, sv)) {
		kvfree(sv);
		sv = READ_ONCE(kvm->arch.shadow);
	}
	return sv;
}

void kvm_shadow_zap_all(struct kvm *kvm)
{
	struct kvm_shadow_vm *sv = READ_ONCE(kvm->arch.shadow);
	struct shadow_page *sp, *tmp;

	if (!sv)
		return;
	mutex_lock(&sv->lock);
	list_for_each_entry_safe(sp, tmp, &sv->lru, lru)
		shadow_sp_zap(sv, sp);
	shadow_commit_zap(kvm, sv);
	mutex_unlock(&sv->lock);
}

void kvm_shadow_protect_all(struct kvm *kvm)
{
	struct kvm_shadow_vm *sv = READ_ONCE(kvm->arch.shadow);
	struct shadow_page *sp;
	int i;

	if (!sv)
		return;
	mutex_lock(&sv->lock);
	list_for_each_entry(sp, &sv->lru, lru) {
		if (sp->role.level > 2)
			continue;
		for (i = 0; i < SPT_ENTRIES; i++)
			if ((sp->spt[i] & X86_PTE_RW) &&
			    (sp->role.level == 1 || (sp->spt[i] & X86_PTE_PS)))
				WRITE_ONCE(sp->spt[i],
					   sp->spt[i] & ~X86_PTE_RW);
	}
	mutex_unlock(&sv->lock);
}

/* No vCPU is left: every page goes. */
void kvm_shadow_destroy_vm(struct kvm *kvm)
{
	struct kvm_shadow_vm *sv = kvm->arch.shadow;
	struct shadow_page *sp, *tmp;

	if (!sv)
		return;
	mutex_lock(&sv->lock);
	list_for_each_entry_safe(sp, tmp, &sv->lru, lru)
		shadow_sp_zap(sv, sp);
	shadow_commit_zap(NULL, sv);
	mutex_unlock(&sv->lock);
	kvfree(sv);
	kvm->arch.shadow = NULL;
}

/* ---- the guest's tables, through the shared walker -------------------- */

static int shadow_read_pte(void *opaque, u64 gpa, u64 *pte, unsigned int size)
{
	struct kvm_vcpu *vcpu = opaque;
	int r;

	*pte = 0;
	down_read(&vcpu->kvm->slots_lock);
	r = kvm_vcpu_read_guest(vcpu, gpa, pte, size);
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
	slot = kvm_vcpu_gfn_to_memslot(vcpu, gfn);
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
		kvm_vcpu_mark_page_dirty(vcpu, gfn);
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

/* ---- the vCPU's root -------------------------------------------------- */

static u32 shadow_base_role(struct kvm_vcpu *vcpu,
			    const struct x86_walk_regs *r)
{
	union shadow_role role = { .word = 0 };

	role.smm = kvm_arch_vcpu_as_id(vcpu);

	if (!(r->cr0 & X86_CR0_PG))
		role.glevels = 0;
	else if (r->efer & EFER_LMA)
		role.glevels = 4;
	else if (r->cr4 & X86_CR4_PAE)
		role.glevels = 3;
	else
		role.glevels = 2;
	role.wp = !!(r->cr0 & X86_CR0_WP);
	role.pse = !!(r->cr4 & X86_CR4_PSE);
	role.smep = !!(r->cr4 & X86_CR4_SMEP);
	role.smap = !!(r->cr4 & X86_CR4_SMAP);
	role.nxe = !!(r->efer & EFER_NX);
	return role.word;
}

/* Let go of the root (and the PAE root's links).  Under sv->lock. */
static void shadow_put_root(struct kvm_shadow_vm *sv, struct kvm_shadow_mmu *s)
{
	int i;

	if (s->root)
		shadow_root_put(sv, s->root);
	s->root = NULL;
	for (i = 0; i < SPT_PAE_PDPTES; i++)
		shadow_drop(sv, &s->pae_root[i], 3);
	s->loaded = false;
}

static struct kvm_shadow_mmu *shadow_vcpu(struct kvm_vcpu *vcpu)
{
	struct kvm_shadow_mmu *s = vcpu->arch.shadow;

	if (s)
		return s;
	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return NULL;
	/* The hardware reads a legacy PAE PDPT through a 32-bit CR3. */
	s->pae_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT | GFP_DMA32);
	if (!s->pae_root) {
		kfree(s);
		return NULL;
	}
	vcpu->arch.shadow = s;
	return s;
}

int kvm_shadow_load(struct kvm_vcpu *vcpu)
{
	struct kvm_shadow_vm *sv = shadow_vm(vcpu->kvm);
	struct kvm_shadow_mmu *s = shadow_vcpu(vcpu);
	union shadow_role role;
	struct x86_walk_regs regs;
	struct shadow_page *sp;
	bool protected = false;

	if (!sv || !s)
		return -ENOMEM;
	shadow_walk_regs(vcpu, &regs);
	role.word = shadow_base_role(vcpu, &regs);
	if (s->loaded && s->cr3 == regs.cr3 && s->role == role.word &&
	    !(s->root && READ_ONCE(s->root->zapped)))
		return 0;

	mutex_lock(&sv->lock);
	shadow_put_root(sv, s);
	s->root_pa = __pa(s->pae_root);
	if (role.glevels == 4) {
		shadow_make_room(vcpu->kvm, sv, 1);
		role.level = 4;
		role.access = SHADOW_ACC_ALL;
		sp = shadow_sp_get(vcpu->kvm, sv,
				   (regs.cr3 & SHADOW_CR3_MASK) >> PAGE_SHIFT,
				   role, &protected);
		if (!sp) {
			shadow_commit_zap(vcpu->kvm, sv);
			mutex_unlock(&sv->lock);
			return -ENOMEM;
		}
		sp->root_count++;
		shadow_sp_touch(sv, sp);
		s->root = sp;
		s->root_pa = __pa(sp->spt);
	}
	s->cr3 = regs.cr3;
	s->role = shadow_base_role(vcpu, &regs);
	s->loaded = true;
	/* Leaves lost write access: no TLB may keep it. */
	if (protected)
		kvm_make_all_cpus_request(vcpu->kvm, KVM_REQ_TLB_FLUSH);
	shadow_commit_zap(vcpu->kvm, sv);
	mutex_unlock(&sv->lock);
	kvm_x86_ops->flush_guest_tlb(vcpu);
	return 0;
}

u64 kvm_shadow_root_pa(struct kvm_vcpu *vcpu)
{
	struct kvm_shadow_mmu *s = vcpu->arch.shadow;

	return s ? s->root_pa : 0;
}

/*
 * A guest TLB flush (CR0/CR4 write, KVM_SET_SREGS) or one the host asked
 * for: the shadow is in step with the guest's tables, so only the root is
 * looked up again (a PAE guest's PDPTEs read again) before the next entry.
 */
void kvm_shadow_flush(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.shadow)
		vcpu->arch.shadow->loaded = false;
}

/* A CR3 load: the root of the new address space, before the next entry. */
void kvm_shadow_flush_cr3(struct kvm_vcpu *vcpu)
{
	kvm_shadow_flush(vcpu);
}

/* INVLPG: the shadow already has the guest's entries; flush the hardware. */
void kvm_shadow_invlpg(struct kvm_vcpu *vcpu, u64 la)
{
	kvm_x86_ops->flush_guest_tlb(vcpu);
}

void kvm_shadow_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	struct kvm_shadow_vm *sv = vcpu->kvm->arch.shadow;
	struct kvm_shadow_mmu *s = vcpu->arch.shadow;

	if (!s)
		return;
	if (sv) {
		mutex_lock(&sv->lock);
		/* A zapped root is freed with the VM: no kick while dying. */
		shadow_put_root(sv, s);
		mutex_unlock(&sv->lock);
	}
	free_page((unsigned long)s->pae_root);
	kfree(s);
	vcpu->arch.shadow = NULL;
}

/* ---- the fault path --------------------------------------------------- */

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
	bool write;		/* map writable */
	bool user;		/* map user-accessible */
	bool nx;
	bool wp0;		/* writable only thanks to CR0.WP=0 */
};

/*
 * What the shadow entry may allow, from the walk: writes only once the
 * guest's D bit is set (so a first write faults and sets it), and with
 * CR0.WP clear a supervisor write to a read-only page maps it writable but
 * supervisor-only, so user accesses fault and are checked again.  A user
 * page made supervisor-only this way must stay out of the supervisor's
 * reach where the guest keeps it so: not executable with SMEP (APM vol 2,
 * 5.6.5); with SMAP see kvm_shadow_page_fault().
 */
static void shadow_rights(union shadow_role role, u32 access,
			  const struct x86_walk_result *res,
			  struct shadow_map *m)
{
	m->gpa = res->gpa;
	m->user = res->user;
	m->nx = res->nx && role.nxe;
	m->wp0 = false;
	if (access & X86_WALK_WRITE) {
		m->write = true;
		if (!res->writable) {
			m->wp0 = true;
			m->user = false;
			if (res->user && role.smep)
				m->nx = true;
		}
	} else {
		m->write = res->writable && shadow_guest_dirty(res);
	}
}

/* The rights guest entries [0, @n) of the walk grant (SHADOW_ACC_*). */
static u32 shadow_walk_access(const struct x86_walk_result *res, int n,
			      int glevels)
{
	u32 acc = SHADOW_ACC_ALL;
	int i;

	for (i = 0; i < n; i++) {
		/* Legacy PAE PDPTEs carry no rights. */
		if (glevels == 3 && i == 0)
			continue;
		if (!(res->pte[i] & X86_PTE_RW))
			acc &= ~SHADOW_ACC_WRITE;
		if (!(res->pte[i] & X86_PTE_US))
			acc &= ~SHADOW_ACC_USER;
		if (glevels != 2 && (res->pte[i] & X86_PTE_NX))
			acc &= ~SHADOW_ACC_EXEC;
	}
	return acc;
}

static unsigned int spt_index(u64 la, int level, bool pae)
{
	if (pae && level == 3)
		return (la >> 30) & (SPT_PAE_PDPTES - 1);
	return (la >> (PAGE_SHIFT + 9 * (level - 1))) & (SPT_ENTRIES - 1);
}

/*
 * Which shadow page at @level translates @la, from the walk: the one of
 * the guest table at that level, or a direct one below a guest large page
 * (or without guest paging).  The shadow's levels are the guest's: a
 * 2-level guest's tables are each covered by several shadow pages.
 */
static gfn_t shadow_child_key(u64 la, int level, union shadow_role *role,
			      const struct x86_walk_result *res)
{
	int glevels = role->glevels, leaf_level;
	gfn_t span = (1ULL << (9 * level)) - 1;

	role->level = level;
	if (!glevels) {
		role->direct = 1;
		role->access = SHADOW_ACC_ALL;
		role->dirty = 1;
		return (la >> PAGE_SHIFT) & ~span;
	}
	leaf_level = glevels - res->levels + 1;
	if (level < leaf_level) {
		role->direct = 1;
		role->access = shadow_walk_access(res, res->levels, glevels);
		role->dirty = !!(res->pte[res->levels - 1] & X86_PTE_D);
		return (res->gpa >> PAGE_SHIFT) & ~span;
	}
	role->access = shadow_walk_access(res, glevels - level, glevels);
	if (glevels == 2)
		role->quadrant = level == 2 ? (la >> 30) & 3 : (la >> 21) & 1;
	return res->pte_gpa[glevels - level] >> PAGE_SHIFT;
}

/*
 * The entry at @stop (1, or 2 for a 2 MiB leaf) translating @la, the shadow
 * pages above it found or made (and linked) along the walk.  NULL if out
 * of memory.
 */
static u64 *shadow_path(struct kvm *kvm, struct kvm_shadow_vm *sv,
			struct kvm_shadow_mmu *s, u64 la,
			const struct x86_walk_result *res, int stop,
			bool *protected)
{
	bool pae = !s->root;
	u64 *table = pae ? s->pae_root : s->root->spt;
	int level = pae ? 3 : 4;

	if (!pae)
		shadow_sp_touch(sv, s->root);
	for (; level > stop; level--) {
		u64 *e = &table[spt_index(la, level, pae)];
		union shadow_role role = { .word = s->role };
		struct shadow_page *child;
		gfn_t gfn;

		gfn = shadow_child_key(la, level - 1, &role, res);
		if ((*e & X86_PTE_P) && !(*e & X86_PTE_PS)) {
			child = shadow_sp_of(*e);
			if (child->gfn == gfn && child->role.word == role.word)
				goto next;
		}
		/* Another child or a 2 MiB leaf was there. */
		shadow_drop(sv, e, level);
		child = shadow_sp_get(kvm, sv, gfn, role, protected);
		if (!child || shadow_link(e, child, pae && level == 3 ?
					  SPT_PAE_PDPTE_BITS : SPT_TABLE_BITS))
			return NULL;
next:
		shadow_sp_touch(sv, child);
		table = child->spt;
	}
	return &table[spt_index(la, stop, pae && stop == 3)];
}

/*
 * The guest may have changed an entry of the walk before its table was
 * write-protected (or before we took the lock): read them again and drop
 * whatever we made from a stale one; the access then faults again.
 */
static bool shadow_walk_stale(struct kvm_vcpu *vcpu, struct kvm_shadow_vm *sv,
			      struct kvm_shadow_mmu *s,
			      const struct x86_walk_result *res)
{
	union shadow_role role = { .word = s->role };
	unsigned int esz = role.glevels == 2 ? 4 : 8;
	bool stale = false;
	int i;

	for (i = 0; i < res->levels; i++) {
		u64 v = 0;

		if (!kvm_vcpu_read_guest(vcpu, res->pte_gpa[i], &v, esz) &&
		    v == res->pte[i])
			continue;
		stale = true;
		if (role.glevels == 3 && i == 0)
			shadow_put_root(sv, s);		/* a PDPTE: reload */
		else
			shadow_pte_written(sv, role.smm, res->pte_gpa[i], esz,
					   false);
	}
	return stale;
}

static u64 shadow_leaf_bits(const struct shadow_map *m)
{
	return SPT_LEAF_BITS | (m->write ? X86_PTE_RW : 0) |
	       (m->user ? X86_PTE_US : 0) | (m->nx ? X86_PTE_NX : 0);
}

/*
 * A 2 MiB leaf for @la if the guest maps at least 2 MiB there, the host
 * backs the 2 MiB with one huge page (not split for dirty logging) and no
 * frame in it is a guest table we shadow.  False: map 4 KiB.
 */
static bool shadow_install_large(struct kvm *kvm, struct kvm_shadow_vm *sv,
				 struct kvm_shadow_mmu *s, u64 la,
				 const struct x86_walk_result *res,
				 struct shadow_map *m, bool *protected)
{
	gfn_t gfn = m->gpa >> PAGE_SHIFT;
	bool npt_writable, huge;
	int as_id = ((union shadow_role){ .word = s->role }).smm;
	u64 hpa, *e;

	if (res->page_size < SHADOW_LARGE_SIZE || m->wp0 ||
	    !shadow_npt_lookup(kvm, as_id, gfn, &hpa, &npt_writable, &huge) ||
	    !huge)
		return false;
	e = shadow_path(kvm, sv, s, la, res, 2, protected);
	/* The path may have made tables in the 2 MiB: check after it. */
	if (!e || shadow_region_tracked(sv, as_id, gfn))
		return false;
	if (!npt_writable)
		m->write = false;
	hpa &= ~(u64)(SHADOW_LARGE_SIZE - 1);
	/* No memory for the reverse map: the access faults again. */
	shadow_set_leaf(sv, e, 2, hpa | X86_PTE_PS | shadow_leaf_bits(m));
	return true;
}

static void shadow_install(struct kvm *kvm, struct kvm_shadow_vm *sv,
			   int as_id, u64 *leaf, struct shadow_map *m)
{
	bool npt_writable;
	u64 hpa;

	if (!shadow_npt_lookup(kvm, as_id, m->gpa >> PAGE_SHIFT, &hpa,
			       &npt_writable, NULL))
		return;		/* zapped meanwhile: fault again */
	if (!npt_writable)
		m->write = false;
	/* No memory for the reverse map: the access faults again. */
	shadow_set_leaf(sv, leaf, 1, (hpa & SPT_ADDR_MASK) |
			shadow_leaf_bits(m));
}

/*
 * A write to a shadowed guest table: emulate it, so we see it.  If the
 * emulator cannot (or the fault hit during event delivery, not at RIP),
 * stop shadowing the table and let the guest write it itself.
 */
static int shadow_emulate_write(struct kvm_vcpu *vcpu, gfn_t gfn,
				bool can_emulate)
{
	struct kvm_shadow_vm *sv = vcpu->kvm->arch.shadow;
	int r;

	if (can_emulate) {
		r = kvm_emulate_instruction(vcpu);
		if (r != EXIT_USER ||
		    vcpu->run->exit_reason != KVM_EXIT_INTERNAL_ERROR)
			return r;
	}
	mutex_lock(&sv->lock);
	shadow_unprotect(sv, kvm_arch_vcpu_as_id(vcpu), gfn);
	shadow_commit_zap(vcpu->kvm, sv);
	mutex_unlock(&sv->lock);
	return EXIT_RESUME;
}

/* Map @la as the walk says, under the locks. */
static int shadow_map(struct kvm_vcpu *vcpu, u64 la, u32 access,
		      const struct x86_walk_result *res, struct shadow_map *m,
		      bool can_emulate)
{
	struct kvm_shadow_mmu *s = vcpu->arch.shadow;
	struct kvm *kvm = vcpu->kvm;
	struct kvm_shadow_vm *sv = kvm->arch.shadow;
	gfn_t gfn = m->gpa >> PAGE_SHIFT;
	bool protected = false, emulate = false;
	int as_id = ((union shadow_role){ .word = s->role }).smm;
	u64 *leaf;

	down_read(&kvm->slots_lock);
	mutex_lock(&sv->lock);
	/* The root went (zapped, or the guest's mode changed): reload. */
	if (!s->loaded || (s->root && s->root->zapped)) {
		s->loaded = false;
		goto out;
	}
	shadow_make_room(kvm, sv, SHADOW_FAULT_PAGES);
	if (shadow_install_large(kvm, sv, s, la, res, m, &protected))
		leaf = NULL;
	else
		leaf = shadow_path(kvm, sv, s, la, res, 1, &protected);
	/* Leaves lost write access: flush before the tables are read again. */
	if (protected)
		kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH);
	if (leaf) {
		if (shadow_gfn_tracked(sv, as_id, gfn)) {
			emulate = access & X86_WALK_WRITE;
			m->write = false;
		}
		if (!emulate)
			shadow_install(kvm, sv, as_id, leaf, m);
	}
	if (shadow_walk_stale(vcpu, sv, s, res))
		emulate = false;	/* the access faults again */
out:
	shadow_commit_zap(kvm, sv);
	mutex_unlock(&sv->lock);
	up_read(&kvm->slots_lock);
	return emulate ? shadow_emulate_write(vcpu, gfn, can_emulate) :
			 EXIT_RESUME;
}

int kvm_shadow_page_fault(struct kvm_vcpu *vcpu, u64 la, u64 error_code,
			  bool can_emulate)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_memory_slot *slot;
	struct x86_walk_result res;
	struct x86_walk_regs regs;
	enum x86_walk_status st;
	union shadow_role role;
	struct shadow_map m;
	u32 access = 0;
	int r;

	if (!vcpu->arch.shadow || !kvm->arch.shadow)
		return EXIT_RESUME;
	if (error_code & PFERR_RSVD) {
		/* We set no reserved bit; the root is stale: load it again. */
		kvm_shadow_flush(vcpu);
		return EXIT_RESUME;
	}
	if (error_code & PFERR_WRITE)
		access |= X86_WALK_WRITE;
	if (error_code & PFERR_USER)
		access |= X86_WALK_USER;
	if (error_code & PFERR_FETCH)
		access |= X86_WALK_FETCH;

	shadow_walk_regs(vcpu, &regs);
	role.word = shadow_base_role(vcpu, &regs);
	if (role.word != vcpu->arch.shadow->role) {
		kvm_shadow_flush(vcpu);
		return EXIT_RESUME;
	}
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
	shadow_rights(role, access, &res, &m);
	/*
	 * A supervisor write to a read-only user page with CR0.WP=0 and SMAP
	 * (RFLAGS.AC=1): mapping it supervisor-only would open the page to
	 * every later supervisor access, whatever RFLAGS.AC.  Emulate it.
	 */
	if (m.wp0 && res.user && role.smap && can_emulate)
		return kvm_emulate_instruction(vcpu);

	down_read(&kvm->slots_lock);
	slot = kvm_vcpu_gfn_to_memslot(vcpu, m.gpa >> PAGE_SHIFT);
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
	/* The PAE shadow translates 32-bit linear addresses. */
	if (role.glevels < 4)
		la &= GENMASK_ULL(31, 0);
	return shadow_map(vcpu, la, access, &res, &m, can_emulate);
}

void kvm_shadow_guest_write(struct kvm_vcpu *vcpu, gpa_t gpa,
			    unsigned int len)
{
	struct kvm_shadow_vm *sv = READ_ONCE(vcpu->kvm->arch.shadow);
	int as_id = kvm_arch_vcpu_as_id(vcpu);

	if (!sv)
		return;
	mutex_lock(&sv->lock);
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gpa));

		shadow_pte_written(sv, as_id, gpa, n, true);
		gpa += n;
		len -= n;
	}
	shadow_commit_zap(vcpu->kvm, sv);
	mutex_unlock(&sv->lock);
}

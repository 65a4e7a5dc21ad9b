// SPDX-License-Identifier: GPL-2.0-only
/*
 * ukvm core: memslots, the one truth for guest-physical to host-virtual.
 *
 * KVM_SET_USER_MEMORY_REGION validates exactly as upstream KVM does and
 * returns the same errno for the same mistake.  Whatever the architecture
 * cached about a slot (nested page tables, pinned pages) is dropped through
 * kvm_arch_flush_memslot() before the slot disappears or moves.
 * KVM_MEM_LOG_DIRTY_PAGES may be set and cleared on a live slot: the slot
 * gets its dirty bitmap (unless the VM uses dirty rings) and the MMU starts
 * or stops write-protecting it (dirty_log.c, dirty.h).
 * Each address space (KVM_CAP_MULTI_ADDRESS_SPACE, the slot number's bits
 * 16 and up) has its own slots; kvm_vcpu_*() look in the one the vCPU is
 * in now (kvm_arch_vcpu_as_id), kvm_*() in address space 0.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ukvm.h"

enum kvm_mr_change {
	KVM_MR_CREATE,
	KVM_MR_DELETE,
	KVM_MR_MOVE,
	KVM_MR_FLAGS_ONLY,
};

#define KVM_MEM_VALID_FLAGS	(KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)

struct kvm_memory_slot *__kvm_gfn_to_memslot(struct kvm *kvm, int as_id,
					      gfn_t gfn)
{
	struct kvm_memslots *slots = &kvm->slots[as_id];
	struct kvm_memory_slot *s;
	int i;

	for (i = 0; i < slots->nr_active; i++) {
		s = slots->active[i];
		if (gfn >= s->base_gfn && gfn - s->base_gfn < s->npages)
			return s;
	}
	return NULL;
}

struct kvm_memory_slot *kvm_gfn_to_memslot(struct kvm *kvm, gfn_t gfn)
{
	return __kvm_gfn_to_memslot(kvm, 0, gfn);
}

struct kvm_memory_slot *kvm_vcpu_gfn_to_memslot(struct kvm_vcpu *vcpu,
						gfn_t gfn)
{
	return __kvm_gfn_to_memslot(vcpu->kvm, kvm_arch_vcpu_as_id(vcpu), gfn);
}

/* Slots of different address spaces may overlap: they are different views. */
static bool kvm_memslot_overlaps(struct kvm *kvm, int as_id, u16 id,
				 gfn_t start, unsigned long npages)
{
	struct kvm_memslots *slots = &kvm->slots[as_id];
	struct kvm_memory_slot *s;
	int i;

	for (i = 0; i < slots->nr_active; i++) {
		s = slots->active[i];
		if (s->id == id)
			continue;
		if (start < s->base_gfn + s->npages &&
		    s->base_gfn < start + npages)
			return true;
	}
	return false;
}

static void kvm_memslot_unlink(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	struct kvm_memslots *slots = &kvm->slots[slot->as_id];
	int i;

	for (i = 0; i < slots->nr_active; i++) {
		if (slots->active[i] == slot) {
			slots->active[i] = slots->active[--slots->nr_active];
			break;
		}
	}
	slots->by_id[slot->id] = NULL;
}

static bool kvm_memslot_wants_bitmap(struct kvm *kvm, u32 flags)
{
	return (flags & KVM_MEM_LOG_DIRTY_PAGES) && !kvm->dirty_ring_size;
}

static int kvm_memslot_create(struct kvm *kvm,
			      const struct kvm_memory_slot *new)
{
	struct kvm_memslots *slots = &kvm->slots[new->as_id];
	struct kvm_memory_slot *slot;

	slot = kmemdup(new, sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!slot)
		return -ENOMEM;
	if (kvm_memslot_wants_bitmap(kvm, slot->flags) &&
	    kvm_dirty_bitmap_alloc(kvm, slot)) {
		kfree(slot);
		return -ENOMEM;
	}
	slots->by_id[slot->id] = slot;
	slots->active[slots->nr_active++] = slot;
	return 0;
}

/* What can fail about a flag change of a live slot: the bitmap. */
static int kvm_memslot_prepare_flags(struct kvm *kvm,
				     struct kvm_memory_slot *slot, u32 flags)
{
	if (!slot->dirty_bitmap && kvm_memslot_wants_bitmap(kvm, flags))
		return kvm_dirty_bitmap_alloc(kvm, slot);
	return 0;
}

/*
 * Logging starts: huge mappings split, and unless every page counts as
 * dirty already (INITIALLY_SET), write access goes so writes are seen.
 * Logging stops: the bitmap goes, huge mappings may come back.
 */
static void kvm_memslot_commit_flags(struct kvm *kvm,
				     struct kvm_memory_slot *slot, u32 flags)
{
	u32 old = slot->flags;

	slot->flags = flags;
	if ((flags & ~old) & KVM_MEM_LOG_DIRTY_PAGES) {
		kvm_arch_dirty_log_start(kvm, slot,
					 !kvm_dirty_log_initially_set(kvm));
	} else if ((old & ~flags) & KVM_MEM_LOG_DIRTY_PAGES) {
		kvm_dirty_bitmap_free(slot);
		kvm_arch_dirty_log_stop(kvm, slot);
	}
}

/* General sanity checks, in upstream's order so the errno matches. */
static int kvm_check_memory_region(const struct kvm_userspace_memory_region *m)
{
	if (m->flags & ~KVM_MEM_VALID_FLAGS)
		return -EINVAL;
	if (m->memory_size & (PAGE_SIZE - 1))
		return -EINVAL;
	if (m->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((m->userspace_addr & (PAGE_SIZE - 1)) ||
	    m->userspace_addr != untagged_addr(m->userspace_addr) ||
	    !access_ok((void __user *)(unsigned long)m->userspace_addr,
		       m->memory_size))
		return -EINVAL;
	if ((m->slot >> 16) >= kvm_address_spaces() ||
	    (u16)m->slot >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	if (m->guest_phys_addr + m->memory_size < m->guest_phys_addr)
		return -EINVAL;
	if ((m->memory_size >> PAGE_SHIFT) > KVM_MEM_MAX_NR_PAGES)
		return -EINVAL;
	return 0;
}

static int kvm_classify_change(const struct kvm_memory_slot *old,
			       const struct kvm_memory_slot *new,
			       enum kvm_mr_change *change)
{
	if (!old) {
		*change = KVM_MR_CREATE;
		return 0;
	}
	if (new->userspace_addr != old->userspace_addr ||
	    new->npages != old->npages ||
	    ((new->flags ^ old->flags) & KVM_MEM_READONLY))
		return -EINVAL;
	if (new->base_gfn != old->base_gfn)
		*change = KVM_MR_MOVE;
	else if (new->flags != old->flags)
		*change = KVM_MR_FLAGS_ONLY;
	else
		return 1;	/* nothing changes */
	return 0;
}

static int __kvm_set_memory_region(struct kvm *kvm,
				   const struct kvm_userspace_memory_region *m)
{
	struct kvm_memory_slot *old, new = {};
	enum kvm_mr_change change;
	int r;

	r = kvm_check_memory_region(m);
	if (r)
		return r;

	old = kvm->slots[m->slot >> 16].by_id[(u16)m->slot];
	if (!m->memory_size) {
		if (!old)
			return -EINVAL;
		kvm_arch_flush_memslot(kvm, old);
		kvm_memslot_unlink(kvm, old);
		kvm_dirty_bitmap_free(old);
		kfree(old);
		return 0;
	}

	new.id = (u16)m->slot;
	new.as_id = m->slot >> 16;
	new.flags = m->flags;
	new.base_gfn = m->guest_phys_addr >> PAGE_SHIFT;
	new.npages = m->memory_size >> PAGE_SHIFT;
	new.userspace_addr = m->userspace_addr;

	r = kvm_classify_change(old, &new, &change);
	if (r)
		return r > 0 ? 0 : r;

	if ((change == KVM_MR_CREATE || change == KVM_MR_MOVE) &&
	    kvm_memslot_overlaps(kvm, new.as_id, new.id, new.base_gfn,
				 new.npages))
		return -EEXIST;

	r = kvm_arch_prepare_memory_region(kvm, &new);
	if (r)
		return r;

	switch (change) {
	case KVM_MR_CREATE:
		return kvm_memslot_create(kvm, &new);
	case KVM_MR_MOVE:
		/* Its dirty bitmap, indexed by page of the slot, moves along. */
		r = kvm_memslot_prepare_flags(kvm, old, new.flags);
		if (r)
			return r;
		kvm_arch_flush_memslot(kvm, old);
		old->base_gfn = new.base_gfn;
		kvm_memslot_commit_flags(kvm, old, new.flags);
		return 0;
	default:
		r = kvm_memslot_prepare_flags(kvm, old, new.flags);
		if (r)
			return r;
		kvm_memslot_commit_flags(kvm, old, new.flags);
		return 0;
	}
}

int kvm_set_memory_region(struct kvm *kvm,
			  const struct kvm_userspace_memory_region *mem)
{
	int r;

	down_write(&kvm->slots_lock);
	r = __kvm_set_memory_region(kvm, mem);
	up_write(&kvm->slots_lock);
	return r;
}

void kvm_free_memslots(struct kvm *kvm)
{
	struct kvm_memslots *slots;
	int as, i;

	for (as = 0; as < KVM_ADDRESS_SPACE_NUM; as++) {
		slots = &kvm->slots[as];
		for (i = 0; i < slots->nr_active; i++) {
			kvm_dirty_bitmap_free(slots->active[i]);
			kfree(slots->active[i]);
		}
		memset(slots, 0, sizeof(*slots));
	}
}

/*
 * Copy to/from guest physical memory through the memslots; the caller holds
 * slots_lock for read.  Returns -EFAULT where no slot backs the range or
 * the user mapping faults.
 */
static int kvm_guest_copy(struct kvm *kvm, int as_id, gpa_t gpa, void *data,
			  unsigned long len, bool write)
{
	struct kvm_memory_slot *slot;
	unsigned long hva, chunk, left;

	while (len) {
		chunk = min_t(unsigned long, len,
			      PAGE_SIZE - offset_in_page(gpa));
		slot = __kvm_gfn_to_memslot(kvm, as_id, gpa >> PAGE_SHIFT);
		if (!slot || (write && (slot->flags & KVM_MEM_READONLY)))
			return -EFAULT;
		hva = gfn_to_hva_memslot(slot, gpa >> PAGE_SHIFT) +
		      offset_in_page(gpa);
		if (write)
			left = copy_to_user((void __user *)hva, data, chunk);
		else
			left = copy_from_user(data, (void __user *)hva, chunk);
		if (left)
			return -EFAULT;
		gpa += chunk;
		data += chunk;
		len -= chunk;
	}
	return 0;
}

int kvm_read_guest(struct kvm *kvm, gpa_t gpa, void *data, unsigned long len)
{
	return kvm_guest_copy(kvm, 0, gpa, data, len, false);
}

int kvm_vcpu_read_guest(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
			unsigned long len)
{
	return kvm_guest_copy(vcpu->kvm, kvm_arch_vcpu_as_id(vcpu), gpa, data,
			      len, false);
}

static int kvm_write_guest_as(struct kvm *kvm, struct kvm_vcpu *vcpu,
			      gpa_t gpa, const void *data, unsigned long len)
{
	gfn_t gfn = gpa >> PAGE_SHIFT, end = (gpa + len - 1) >> PAGE_SHIFT;
	int as_id = vcpu ? kvm_arch_vcpu_as_id(vcpu) : 0;
	int r;

	if (!len)
		return 0;
	r = kvm_guest_copy(kvm, as_id, gpa, (void *)data, len, true);
	/* Even a partial copy may have written some of the pages. */
	for (; gfn <= end; gfn++) {
		if (vcpu)
			kvm_vcpu_mark_page_dirty(vcpu, gfn);
		else
			kvm_mark_page_dirty(kvm, gfn);
	}
	return r;
}

int kvm_write_guest(struct kvm *kvm, gpa_t gpa, const void *data,
		    unsigned long len)
{
	return kvm_write_guest_as(kvm, NULL, gpa, data, len);
}

int kvm_vcpu_write_guest(struct kvm_vcpu *vcpu, gpa_t gpa, const void *data,
			 unsigned long len)
{
	return kvm_write_guest_as(vcpu->kvm, vcpu, gpa, data, len);
}

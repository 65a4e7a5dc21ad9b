// SPDX-License-Identifier: GPL-2.0-only
/*
 * ukvm core: the per-vCPU dirty ring (KVM_CAP_DIRTY_LOG_RING and its
 * _ACQ_REL twin, which differ only in what userspace must do).
 *
 * The ring is an array of struct kvm_dirty_gfn that userspace maps at
 * KVM_DIRTY_LOG_PAGE_OFFSET of the vCPU fd.  The kernel fills an entry and
 * then publishes it by setting KVM_DIRTY_GFN_F_DIRTY (release); userspace
 * reads it (acquire), then hands it back by setting KVM_DIRTY_GFN_F_RESET;
 * KVM_RESET_DIRTY_RINGS write-protects the pages of handed-back entries,
 * flushes the TLBs and frees the entries.  A vCPU whose ring is nearly full
 * exits with KVM_EXIT_DIRTY_RING_FULL instead of logging more (the MMU
 * checks kvm_dirty_ring_soft_full() before giving write access back).
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "ukvm.h"

static u32 kvm_dirty_ring_used(const struct kvm_dirty_ring *ring)
{
	return READ_ONCE(ring->dirty_index) - READ_ONCE(ring->reset_index);
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING): @size bytes per vCPU, once.
 * Like upstream, only the low 32 bits of the argument count.
 */
int kvm_dirty_ring_enable(struct kvm *kvm, u32 size)
{
	int r = -EINVAL;

	if (!size || (size & (size - 1)))
		return -EINVAL;
	/* Room for the reserved entries, and at least a page. */
	if (size < KVM_DIRTY_RING_RSVD_ENTRIES * sizeof(struct kvm_dirty_gfn) ||
	    size < PAGE_SIZE)
		return -EINVAL;
	if (size > KVM_DIRTY_RING_MAX_ENTRIES * sizeof(struct kvm_dirty_gfn))
		return -E2BIG;

	mutex_lock(&kvm->lock);
	/* The rings are allocated with the vCPUs: none may exist yet. */
	if (!kvm->dirty_ring_size && !kvm->created_vcpus) {
		/*
		 * No vCPU ran, so no page is mapped: nothing was logged that
		 * the rings would miss.  Bitmaps of slots that exist stay
		 * unused (GET_DIRTY_LOG now gives -ENXIO).
		 */
		WRITE_ONCE(kvm->dirty_ring_size, size);
		r = 0;
	}
	mutex_unlock(&kvm->lock);
	return r;
}

int kvm_dirty_ring_alloc(struct kvm_vcpu *vcpu)
{
	struct kvm_dirty_ring *ring = &vcpu->dirty_ring;
	u32 size = vcpu->kvm->dirty_ring_size;

	spin_lock_init(&ring->lock);
	if (!size)
		return 0;
	ring->gfns = vzalloc(size);
	if (!ring->gfns)
		return -ENOMEM;
	ring->size = size / sizeof(struct kvm_dirty_gfn);
	ring->soft_limit = ring->size - KVM_DIRTY_RING_RSVD_ENTRIES;
	return 0;
}

void kvm_dirty_ring_free(struct kvm_vcpu *vcpu)
{
	vfree(vcpu->dirty_ring.gfns);
	vcpu->dirty_ring.gfns = NULL;
}

/* Log @offset of slot @slot; false (and nothing logged) if the ring is full. */
bool kvm_dirty_ring_push(struct kvm_vcpu *vcpu, u32 slot, u64 offset)
{
	struct kvm_dirty_ring *ring = &vcpu->dirty_ring;
	struct kvm_dirty_gfn *e;
	unsigned long flags;

	spin_lock_irqsave(&ring->lock, flags);
	if (kvm_dirty_ring_used(ring) >= ring->size) {
		spin_unlock_irqrestore(&ring->lock, flags);
		return false;
	}
	e = &ring->gfns[ring->dirty_index & (ring->size - 1)];
	WRITE_ONCE(e->slot, slot);
	WRITE_ONCE(e->offset, offset);
	/* Userspace reads slot and offset after it sees the flag (acquire). */
	smp_store_release(&e->flags, KVM_DIRTY_GFN_F_DIRTY);
	WRITE_ONCE(ring->dirty_index, ring->dirty_index + 1);
	spin_unlock_irqrestore(&ring->lock, flags);
	return true;
}

bool kvm_dirty_ring_soft_full(struct kvm_vcpu *vcpu)
{
	struct kvm_dirty_ring *ring = &vcpu->dirty_ring;

	return ring->gfns && kvm_dirty_ring_used(ring) >= ring->soft_limit;
}

bool kvm_page_in_dirty_ring(struct kvm *kvm, unsigned long pgoff)
{
	u32 size = READ_ONCE(kvm->dirty_ring_size);

	return size && pgoff >= KVM_DIRTY_LOG_PAGE_OFFSET &&
	       pgoff < KVM_DIRTY_LOG_PAGE_OFFSET + size / PAGE_SIZE;
}

struct page *kvm_dirty_ring_page(struct kvm_vcpu *vcpu, unsigned long pgoff)
{
	if (!vcpu->dirty_ring.gfns ||
	    !kvm_page_in_dirty_ring(vcpu->kvm, pgoff))
		return NULL;
	return vmalloc_to_page((void *)vcpu->dirty_ring.gfns +
			       (pgoff - KVM_DIRTY_LOG_PAGE_OFFSET) * PAGE_SIZE);
}

/* Pages of one slot within 64 of each other: one write-protect call. */
struct kvm_dirty_batch {
	u32 slot;
	u64 base;
	unsigned long mask;
};

static void kvm_dirty_batch_flush(struct kvm *kvm, struct kvm_dirty_batch *b)
{
	struct kvm_memory_slot *slot;

	if (!b->mask)
		return;
	/* A slot deleted or moved since then has nothing left to protect. */
	slot = kvm->slots[b->slot >> 16].by_id[(u16)b->slot];
	if (slot && b->base + __fls(b->mask) < slot->npages)
		kvm_arch_write_protect_gfns(kvm, slot, b->base, b->mask);
	b->mask = 0;
}

static void kvm_dirty_batch_add(struct kvm *kvm, struct kvm_dirty_batch *b,
				u32 slot, u64 offset)
{
	/* Entries naming no address space or slot cannot be ours. */
	if ((slot >> 16) >= KVM_ADDRESS_SPACE_NUM ||
	    (u16)slot >= KVM_USER_MEM_SLOTS)
		return;
	if (b->mask && b->slot == slot && offset >= b->base &&
	    offset - b->base < BITS_PER_LONG) {
		b->mask |= 1UL << (offset - b->base);
		return;
	}
	kvm_dirty_batch_flush(kvm, b);
	b->slot = slot;
	b->base = offset;
	b->mask = 1;
}

/* Free the entries userspace handed back, in order; returns how many. */
static u32 kvm_dirty_ring_reset(struct kvm *kvm, struct kvm_dirty_ring *ring)
{
	u32 idx = ring->reset_index, end = READ_ONCE(ring->dirty_index);
	struct kvm_dirty_batch b = {};
	u32 n = 0;

	/* Pairs with the release in kvm_dirty_ring_push(). */
	smp_rmb();
	while (idx != end) {
		struct kvm_dirty_gfn *e = &ring->gfns[idx & (ring->size - 1)];

		if (!(smp_load_acquire(&e->flags) & KVM_DIRTY_GFN_F_RESET))
			break;
		kvm_dirty_batch_add(kvm, &b, READ_ONCE(e->slot),
				    READ_ONCE(e->offset));
		WRITE_ONCE(e->flags, 0);
		idx++;
		n++;
	}
	kvm_dirty_batch_flush(kvm, &b);
	/* Entries are free only once their flags are cleared. */
	smp_store_release(&ring->reset_index, idx);
	return n;
}

long kvm_vm_ioctl_reset_dirty_rings(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	long cleared = 0;
	int i;

	if (!kvm->dirty_ring_size)
		return -EINVAL;
	mutex_lock(&kvm->dirty_log_lock);
	down_read(&kvm->slots_lock);
	kvm_for_each_vcpu(i, vcpu, kvm)
		cleared += kvm_dirty_ring_reset(kvm, &vcpu->dirty_ring);
	up_read(&kvm->slots_lock);
	/* No page is reported clean while a vCPU may still write it. */
	if (cleared)
		kvm_arch_flush_remote_tlbs(kvm);
	mutex_unlock(&kvm->dirty_log_lock);
	return cleared;
}

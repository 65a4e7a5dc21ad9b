/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dirty page tracking: per-slot bitmaps (dirty_log.c) or per-vCPU rings
 * (dirty_ring.c), and what the core asks of the architecture's MMU for it.
 */
#ifndef UKVM_DIRTY_H
#define UKVM_DIRTY_H

#include <linux/spinlock.h>
#include <linux/types.h>

struct kvm;
struct kvm_vcpu;
struct kvm_memory_slot;
struct kvm_dirty_gfn;

/* What KVM_CHECK_EXTENSION(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) offers. */
#define KVM_DIRTY_LOG_MANUAL_CAPS \
	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET)

/*
 * Ring limits, as upstream: at most 64Ki entries; the last
 * KVM_DIRTY_RING_RSVD_ENTRIES stay free for writes the kernel makes after
 * the vCPU decided to exit with KVM_EXIT_DIRTY_RING_FULL.
 */
#define KVM_DIRTY_RING_MAX_ENTRIES	65536
#define KVM_DIRTY_RING_RSVD_ENTRIES	64

/*
 * One vCPU's ring.  Entries [reset_index, dirty_index) belong to userspace
 * (indices grow forever, the slot is index & (size - 1)).  @lock serializes
 * producers (the vCPU's own faults and kernel writes that could not be
 * attributed to a vCPU); the only consumer is KVM_RESET_DIRTY_RINGS,
 * serialized by kvm->dirty_log_lock.
 */
struct kvm_dirty_ring {
	spinlock_t lock;
	u32 dirty_index;
	u32 reset_index;
	u32 size;			/* entries, a power of two */
	u32 soft_limit;			/* exit to userspace at this many */
	struct kvm_dirty_gfn *gfns;	/* vmalloc'ed, mmap'ed by userspace */
};

/* dirty_log.c */
void kvm_dirty_init_vm(struct kvm *kvm);
long kvm_dirty_check_extension(long ext);
long kvm_vm_ioctl_enable_dirty_cap(struct kvm *kvm, void __user *argp);
long kvm_vm_ioctl_get_dirty_log(struct kvm *kvm, void __user *argp);
long kvm_vm_ioctl_clear_dirty_log(struct kvm *kvm, void __user *argp);
int kvm_dirty_bitmap_alloc(struct kvm *kvm, struct kvm_memory_slot *slot);
void kvm_dirty_bitmap_free(struct kvm_memory_slot *slot);
bool kvm_dirty_log_mark(struct kvm *kvm, struct kvm_vcpu *vcpu,
			const struct kvm_memory_slot *slot, gfn_t gfn);
bool kvm_dirty_log_initially_set(struct kvm *kvm);

/* dirty_ring.c */
int kvm_dirty_ring_enable(struct kvm *kvm, u32 size);
int kvm_dirty_ring_alloc(struct kvm_vcpu *vcpu);
void kvm_dirty_ring_free(struct kvm_vcpu *vcpu);
bool kvm_dirty_ring_push(struct kvm_vcpu *vcpu, u32 slot, u64 offset);
bool kvm_dirty_ring_soft_full(struct kvm_vcpu *vcpu);
bool kvm_page_in_dirty_ring(struct kvm *kvm, unsigned long pgoff);
struct page *kvm_dirty_ring_page(struct kvm_vcpu *vcpu, unsigned long pgoff);
long kvm_vm_ioctl_reset_dirty_rings(struct kvm *kvm);

/*
 * The architecture's MMU (arch/x86/kvm/mmu/npt.c).  The caller holds
 * kvm->slots_lock: for write around start/stop, at least for read otherwise.
 *
 * start: the slot begins logging.  Huge mappings in it are split; with
 * @protect every mapping in it loses write access, so the next write of
 * each page faults and is logged.  stop: mappings may become huge again.
 * Both flush every vCPU's TLB before returning.
 *
 * write_protect: the pages base_gfn + @offset + bit of @mask lose write
 * access; the architecture marks a page dirty when it gives write access
 * back.  The caller flushes with kvm_arch_flush_remote_tlbs() before it
 * reports the pages to userspace as clean.
 */
void kvm_arch_dirty_log_start(struct kvm *kvm,
			      const struct kvm_memory_slot *slot, bool protect);
void kvm_arch_dirty_log_stop(struct kvm *kvm,
			     const struct kvm_memory_slot *slot);
void kvm_arch_write_protect_gfns(struct kvm *kvm,
				 const struct kvm_memory_slot *slot,
				 gfn_t offset, unsigned long mask);
void kvm_arch_flush_remote_tlbs(struct kvm *kvm);

#endif /* UKVM_DIRTY_H */

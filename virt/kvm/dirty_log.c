// SPDX-License-Identifier: GPL-2.0-only
/*
 * ukvm core: dirty page logging for slots with KVM_MEM_LOG_DIRTY_PAGES.
 *
 * Without a dirty ring each logging slot has a bitmap, one bit per page.
 * A bit is set when the MMU gives a page write access back (a guest write
 * faulted on it) and when the kernel writes the page for the guest
 * (kvm_mark_page_dirty).  The MMU sets the bit under its own lock in the
 * same step that makes the mapping writable, so "writable mapping, bit
 * clear" only exists between a KVM_GET_DIRTY_LOG (or CLEAR) taking a bit
 * and the TLB flush that ends the ioctl: a write in that window lands
 * before userspace sees the bitmap, and any later write faults again.
 *
 * Errnos and alignment rules follow upstream KVM.  One difference: when the
 * bitmap cannot be copied out (-EFAULT), the bits taken go back into the
 * slot's bitmap instead of being lost.
 */
#include <linux/bitops.h>
#include <linux/export.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ukvm.h"

void kvm_dirty_init_vm(struct kvm *kvm)
{
	mutex_init(&kvm->dirty_log_lock);
}

long kvm_dirty_check_extension(long ext)
{
	switch (ext) {
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return KVM_DIRTY_LOG_MANUAL_CAPS;
	case KVM_CAP_DIRTY_LOG_RING:
	case KVM_CAP_DIRTY_LOG_RING_ACQ_REL:
		return KVM_DIRTY_RING_MAX_ENTRIES * sizeof(struct kvm_dirty_gfn);
	default:
		return -1;
	}
}

/* Bytes of one bitmap: whole longs, as userspace's buffer is sized. */
static unsigned long kvm_dirty_bitmap_bytes(const struct kvm_memory_slot *s)
{
	return ALIGN(s->npages, BITS_PER_LONG) / 8;
}

/* The scratch bitmap behind the live one. */
static unsigned long *kvm_second_bitmap(const struct kvm_memory_slot *s)
{
	return s->dirty_bitmap + kvm_dirty_bitmap_bytes(s) / sizeof(long);
}

bool kvm_dirty_log_initially_set(struct kvm *kvm)
{
	u64 want = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
		   KVM_DIRTY_LOG_INITIALLY_SET;

	return !kvm->dirty_ring_size &&
	       (kvm->manual_dirty_log_protect & want) == want;
}

/* A new logging slot's bitmap; every page dirty with INITIALLY_SET. */
int kvm_dirty_bitmap_alloc(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	slot->dirty_bitmap = kvzalloc(2 * kvm_dirty_bitmap_bytes(slot),
				      GFP_KERNEL_ACCOUNT);
	if (!slot->dirty_bitmap)
		return -ENOMEM;
	if (kvm_dirty_log_initially_set(kvm))
		bitmap_set(slot->dirty_bitmap, 0, slot->npages);
	return 0;
}

void kvm_dirty_bitmap_free(struct kvm_memory_slot *slot)
{
	kvfree(slot->dirty_bitmap);
	slot->dirty_bitmap = NULL;
}

/* The vCPU whose ioctl the current task is running, if any. */
static struct kvm_vcpu *kvm_current_vcpu(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	int i;

	kvm_for_each_vcpu(i, vcpu, kvm)
		if (READ_ONCE(vcpu->ioctl_task) == current)
			return vcpu;
	return NULL;
}

/*
 * Log a write to @gfn of @slot.  With rings it goes to @vcpu's ring (or the
 * ring of the vCPU whose ioctl we are in; else vCPU 0's: a write the
 * kernel makes outside any vCPU still has to be reported somewhere).
 * False if it could not be logged: the ring is full.
 */
bool kvm_dirty_log_mark(struct kvm *kvm, struct kvm_vcpu *vcpu,
			const struct kvm_memory_slot *slot, gfn_t gfn)
{
	if (!(slot->flags & KVM_MEM_LOG_DIRTY_PAGES))
		return true;
	if (!kvm->dirty_ring_size) {
		if (slot->dirty_bitmap)
			set_bit(gfn - slot->base_gfn, slot->dirty_bitmap);
		return true;
	}
	if (!vcpu)
		vcpu = kvm_current_vcpu(kvm);
	if (!vcpu && atomic_read(&kvm->online_vcpus))
		vcpu = READ_ONCE(kvm->vcpus[0]);
	/* No vCPU: no guest ran, nothing of it can be migrated yet. */
	return !vcpu || kvm_dirty_ring_push(vcpu,
					    (u32)slot->as_id << 16 | slot->id,
					    gfn - slot->base_gfn);
}

void kvm_mark_page_dirty(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = kvm_gfn_to_memslot(kvm, gfn);

	if (slot)
		kvm_dirty_log_mark(kvm, NULL, slot, gfn);
}
EXPORT_SYMBOL_GPL(kvm_mark_page_dirty);

/* A write on @vcpu's behalf, in the address space it is in now. */
void kvm_vcpu_mark_page_dirty(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	struct kvm_memory_slot *slot = kvm_vcpu_gfn_to_memslot(vcpu, gfn);

	if (slot)
		kvm_dirty_log_mark(vcpu->kvm, vcpu, slot, gfn);
}

/* ---- KVM_ENABLE_CAP ---------------------------------------------------- */

static long kvm_enable_manual_protect(struct kvm *kvm,
				      const struct kvm_enable_cap *cap)
{
	u64 allowed = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;

	/* INITIALLY_SET only makes sense together with manual protection. */
	if (cap->args[0] & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		allowed = KVM_DIRTY_LOG_MANUAL_CAPS;
	if (cap->flags || (cap->args[0] & ~allowed))
		return -EINVAL;
	WRITE_ONCE(kvm->manual_dirty_log_protect, cap->args[0]);
	return 0;
}

/*
 * The dirty-logging capabilities of KVM_ENABLE_CAP on the VM;
 * -ENOIOCTLCMD for the others (the architecture's).
 */
long kvm_vm_ioctl_enable_dirty_cap(struct kvm *kvm, void __user *argp)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	switch (cap.cap) {
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return kvm_enable_manual_protect(kvm, &cap);
	case KVM_CAP_DIRTY_LOG_RING:
	case KVM_CAP_DIRTY_LOG_RING_ACQ_REL:
		return kvm_dirty_ring_enable(kvm, cap.args[0]);
	default:
		return -ENOIOCTLCMD;
	}
}

/* ---- KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG ------------------------ */

/* A slot id carries its address space in bits 16 and up, as upstream's. */
static bool kvm_dirty_log_bad_id(u32 id)
{
	return (id >> 16) >= kvm_address_spaces() ||
	       (u16)id >= KVM_USER_MEM_SLOTS;
}

/* The logging slot @id names, with kvm->slots_lock held; upstream's errnos. */
static int kvm_dirty_log_slot(struct kvm *kvm, u32 id,
			      struct kvm_memory_slot **slot)
{
	/* A ring replaces the bitmaps. */
	if (kvm->dirty_ring_size)
		return -ENXIO;
	if (kvm_dirty_log_bad_id(id))
		return -EINVAL;
	*slot = kvm->slots[id >> 16].by_id[(u16)id];
	if (!*slot || !(*slot)->dirty_bitmap)
		return -ENOENT;
	return 0;
}

/*
 * Take the dirty bits into the scratch bitmap and write-protect their pages;
 * returns whether anything was taken (the TLBs then need a flush).
 */
static bool kvm_dirty_log_take(struct kvm *kvm, struct kvm_memory_slot *slot)
{
	unsigned long n = kvm_dirty_bitmap_bytes(slot) / sizeof(long), i;
	unsigned long *live = slot->dirty_bitmap;
	unsigned long *buf = kvm_second_bitmap(slot);
	bool taken = false;

	for (i = 0; i < n; i++) {
		unsigned long mask = 0;

		if (READ_ONCE(live[i]))
			mask = xchg(&live[i], 0);
		buf[i] = mask;
		if (mask) {
			kvm_arch_write_protect_gfns(kvm, slot,
						    i * BITS_PER_LONG, mask);
			taken = true;
		}
	}
	return taken;
}

/* Userspace did not get the bits: they stay dirty. */
static void kvm_dirty_log_untake(struct kvm_memory_slot *slot)
{
	unsigned long n = kvm_dirty_bitmap_bytes(slot) / sizeof(long), i;
	unsigned long *buf = kvm_second_bitmap(slot);

	for (i = 0; i < n; i++)
		if (buf[i])
			atomic_long_or(buf[i],
				       (atomic_long_t *)&slot->dirty_bitmap[i]);
}

static int kvm_get_dirty_log(struct kvm *kvm, struct kvm_dirty_log *log)
{
	struct kvm_memory_slot *slot;
	unsigned long n;
	int r;

	r = kvm_dirty_log_slot(kvm, log->slot, &slot);
	if (r)
		return r;
	n = kvm_dirty_bitmap_bytes(slot);

	/* Manual protection: report, clear nothing (KVM_CLEAR_DIRTY_LOG). */
	if (READ_ONCE(kvm->manual_dirty_log_protect))
		return copy_to_user(log->dirty_bitmap, slot->dirty_bitmap, n) ?
		       -EFAULT : 0;

	if (kvm_dirty_log_take(kvm, slot))
		kvm_arch_flush_remote_tlbs(kvm);
	if (copy_to_user(log->dirty_bitmap, kvm_second_bitmap(slot), n)) {
		kvm_dirty_log_untake(slot);
		return -EFAULT;
	}
	return 0;
}

long kvm_vm_ioctl_get_dirty_log(struct kvm *kvm, void __user *argp)
{
	struct kvm_dirty_log log;
	int r;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	mutex_lock(&kvm->dirty_log_lock);
	down_read(&kvm->slots_lock);
	r = kvm_get_dirty_log(kvm, &log);
	up_read(&kvm->slots_lock);
	mutex_unlock(&kvm->dirty_log_lock);
	return r;
}

static int kvm_clear_dirty_log(struct kvm *kvm, struct kvm_clear_dirty_log *log)
{
	struct kvm_memory_slot *slot;
	unsigned long i, n, *buf;
	bool flush = false;
	u64 first = log->first_page;
	int r;

	if (kvm->dirty_ring_size)
		return -ENXIO;
	if (kvm_dirty_log_bad_id(log->slot))
		return -EINVAL;
	/* The range starts on a 64-page boundary... */
	if (first & 63)
		return -EINVAL;
	r = kvm_dirty_log_slot(kvm, log->slot, &slot);
	if (r)
		return r;
	/* ...and ends on one too, or at the end of the slot. */
	if (first > slot->npages ||
	    log->num_pages > slot->npages - first ||
	    (log->num_pages < slot->npages - first && (log->num_pages & 63)))
		return -EINVAL;

	n = ALIGN(log->num_pages, BITS_PER_LONG) / BITS_PER_LONG;
	buf = kvm_second_bitmap(slot);
	if (copy_from_user(buf, log->dirty_bitmap, n * sizeof(long)))
		return -EFAULT;

	for (i = 0; i < n; i++) {
		unsigned long word = first / BITS_PER_LONG + i, mask = buf[i];

		if (!mask)
			continue;
		/* Only bits that were set count (none past the slot's end). */
		mask &= atomic_long_fetch_andnot(mask,
				(atomic_long_t *)&slot->dirty_bitmap[word]);
		if (mask) {
			kvm_arch_write_protect_gfns(kvm, slot,
						    word * BITS_PER_LONG, mask);
			flush = true;
		}
	}
	if (flush)
		kvm_arch_flush_remote_tlbs(kvm);
	return 0;
}

long kvm_vm_ioctl_clear_dirty_log(struct kvm *kvm, void __user *argp)
{
	struct kvm_clear_dirty_log log;
	int r;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	mutex_lock(&kvm->dirty_log_lock);
	down_read(&kvm->slots_lock);
	r = kvm_clear_dirty_log(kvm, &log);
	up_read(&kvm->slots_lock);
	mutex_unlock(&kvm->dirty_log_lock);
	return r;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Coalesced MMIO and PIO (KVM_CAP_COALESCED_MMIO, KVM_CAP_COALESCED_PIO):
 * guest writes to registered zones are appended to a ring page that
 * userspace maps at KVM_COALESCED_MMIO_PAGE_OFFSET of any vCPU fd and
 * drains at its leisure, instead of each being an exit.
 */
#ifndef UKVM_COALESCED_MMIO_H
#define UKVM_COALESCED_MMIO_H

#include <linux/list.h>
#include <linux/spinlock.h>

struct kvm;
struct kvm_coalesced_mmio_ring;

struct kvm_coalesced_mmio_state {
	struct kvm_coalesced_mmio_ring *ring;	/* one page, the VM's */
	spinlock_t ring_lock;		/* serializes producers (vCPUs) */
	struct list_head zones;		/* under kvm->io.lock */
};

int kvm_coalesced_mmio_init(struct kvm *kvm);
void kvm_coalesced_mmio_free(struct kvm *kvm);
/* The ring page, for the vCPU mmap. */
struct page *kvm_coalesced_mmio_page(struct kvm *kvm);
long kvm_vm_ioctl_coalesced_mmio(struct kvm *kvm, void __user *argp,
				 bool add);

#endif /* UKVM_COALESCED_MMIO_H */

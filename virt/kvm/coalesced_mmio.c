// SPDX-License-Identifier: GPL-2.0-only
/*
 * Coalesced MMIO/PIO: each registered zone is a write-only device on the
 * VM's MMIO or PIO bus.  A guest write inside a zone becomes one ring entry
 * (address, length, data) and the guest goes on without an exit; reads,
 * writes wider than 8 bytes and writes that find the ring full fall through
 * to the usual exit, so userspace, which drains the ring before it handles
 * any exit, still sees every access in order.
 *
 * The ring is shared with userspace: the kernel owns @last, userspace
 * @first; an index from userspace is bounded before use.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ukvm.h"

#define KVM_COALESCED_MMIO_MAX						\
	((PAGE_SIZE - sizeof(struct kvm_coalesced_mmio_ring)) /		\
	 sizeof(struct kvm_coalesced_mmio))

struct kvm_coalesced_zone {
	struct kvm_io_device dev;
	struct kvm *kvm;
	struct kvm_coalesced_mmio_zone zone;
	struct list_head link;
};

static struct kvm_coalesced_zone *to_zone(struct kvm_io_device *dev)
{
	return container_of(dev, struct kvm_coalesced_zone, dev);
}

static bool zone_covers(const struct kvm_coalesced_mmio_zone *z, u64 addr,
			u64 len)
{
	return addr >= z->addr && addr + len <= z->addr + z->size;
}

static int coalesced_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			   u64 addr, int len, const void *val)
{
	struct kvm_coalesced_zone *z = to_zone(dev);
	struct kvm_coalesced_mmio_state *s = &z->kvm->coalesced;
	struct kvm_coalesced_mmio_ring *ring = s->ring;
	struct kvm_coalesced_mmio *e;
	u32 first, last;

	if (len < 0 || len > sizeof(e->data) || !zone_covers(&z->zone, addr, len))
		return -EOPNOTSUPP;

	spin_lock(&s->ring_lock);
	first = READ_ONCE(ring->first);
	last = ring->last;
	/* A garbage index from userspace: exit instead of trusting it. */
	if (first >= KVM_COALESCED_MMIO_MAX || last >= KVM_COALESCED_MMIO_MAX ||
	    (last + 1) % KVM_COALESCED_MMIO_MAX == first) {
		spin_unlock(&s->ring_lock);
		return -EOPNOTSUPP;
	}
	e = &ring->coalesced_mmio[last];
	e->phys_addr = addr;
	e->len = len;
	e->pio = z->zone.pio;
	memcpy(e->data, val, len);
	/* The entry before the index that publishes it. */
	smp_wmb();
	WRITE_ONCE(ring->last, (last + 1) % KVM_COALESCED_MMIO_MAX);
	spin_unlock(&s->ring_lock);
	return 0;
}

static const struct kvm_io_device_ops coalesced_ops = {
	.write = coalesced_write,
};

int kvm_coalesced_mmio_init(struct kvm *kvm)
{
	struct kvm_coalesced_mmio_state *s = &kvm->coalesced;

	s->ring = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!s->ring)
		return -ENOMEM;
	spin_lock_init(&s->ring_lock);
	INIT_LIST_HEAD(&s->zones);
	return 0;
}

/* After the buses are gone: nothing can reach the zones any more. */
void kvm_coalesced_mmio_free(struct kvm *kvm)
{
	struct kvm_coalesced_mmio_state *s = &kvm->coalesced;
	struct kvm_coalesced_zone *z, *tmp;

	list_for_each_entry_safe(z, tmp, &s->zones, link) {
		list_del(&z->link);
		kfree(z);
	}
	free_page((unsigned long)s->ring);
	s->ring = NULL;
}

struct page *kvm_coalesced_mmio_page(struct kvm *kvm)
{
	return virt_to_page(kvm->coalesced.ring);
}

static long coalesced_register(struct kvm *kvm,
			       const struct kvm_coalesced_mmio_zone *zone)
{
	struct kvm_coalesced_zone *z;
	int r;

	z = kzalloc(sizeof(*z), GFP_KERNEL_ACCOUNT);
	if (!z)
		return -ENOMEM;
	z->dev.ops = &coalesced_ops;
	z->kvm = kvm;
	z->zone = *zone;
	mutex_lock(&kvm->io.lock);
	/* The bus takes an int length; a writer checks the zone's own. */
	r = kvm_io_bus_register_dev(kvm, zone->pio ? KVM_PIO_BUS : KVM_MMIO_BUS,
				    zone->addr, min_t(u32, zone->size, INT_MAX),
				    &z->dev);
	if (!r)
		list_add_tail(&z->link, &kvm->coalesced.zones);
	mutex_unlock(&kvm->io.lock);
	if (r)
		kfree(z);
	return r;
}

/* Every zone (same bus) that contains all of @zone goes, as upstream. */
static long coalesced_unregister(struct kvm *kvm,
				 const struct kvm_coalesced_mmio_zone *zone)
{
	struct kvm_coalesced_zone *z, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&kvm->io.lock);
	list_for_each_entry_safe(z, tmp, &kvm->coalesced.zones, link) {
		if (z->zone.pio != zone->pio ||
		    !zone_covers(&z->zone, zone->addr, zone->size))
			continue;
		kvm_io_bus_unregister_dev(kvm, zone->pio ? KVM_PIO_BUS :
							   KVM_MMIO_BUS, &z->dev);
		list_move(&z->link, &gone);
	}
	mutex_unlock(&kvm->io.lock);
	/* Unregistering waited for writers still inside a zone. */
	list_for_each_entry_safe(z, tmp, &gone, link)
		kfree(z);
	return 0;
}

long kvm_vm_ioctl_coalesced_mmio(struct kvm *kvm, void __user *argp, bool add)
{
	struct kvm_coalesced_mmio_zone zone;

	if (copy_from_user(&zone, argp, sizeof(zone)))
		return -EFAULT;
	if (zone.pio != 0 && zone.pio != 1)
		return -EINVAL;
	return add ? coalesced_register(kvm, &zone) :
		     coalesced_unregister(kvm, &zone);
}

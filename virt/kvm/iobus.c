// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-kernel device buses.  A bus is an array of address ranges, each with
 * a device; lookups run under RCU in the vCPU thread, changes copy the
 * array under kvm->io.lock and free the old one after a grace period.
 * Ranges may overlap (several ioeventfds on one doorbell with different
 * datamatch values): every matching device is asked in turn until one
 * serves the access.
 */
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "ukvm.h"

/* Upper bound on devices per bus, as upstream (NR_IOBUS_DEVS). */
#define KVM_IO_BUS_MAX_DEVS	1000

void kvm_io_init(struct kvm *kvm)
{
	struct kvm_io_state *io = &kvm->io;

	mutex_init(&io->lock);
	INIT_LIST_HEAD(&io->ioeventfds);
	spin_lock_init(&io->irqfds_lock);
	INIT_LIST_HEAD(&io->irqfds);
	INIT_LIST_HEAD(&io->resamplers);
}

/* The VM is going away: no fd, no vCPU, no device is left. */
void kvm_io_destroy(struct kvm *kvm)
{
	int i;

	for (i = 0; i < KVM_NR_BUSES; i++)
		kfree(rcu_dereference_protected(kvm->io.bus[i], 1));
}

int kvm_io_bus_register_dev(struct kvm *kvm, enum kvm_bus idx, u64 addr,
			    int len, struct kvm_io_device *dev)
{
	struct kvm_io_bus *old, *new;
	int nr;

	lockdep_assert_held(&kvm->io.lock);
	old = rcu_dereference_protected(kvm->io.bus[idx],
					lockdep_is_held(&kvm->io.lock));
	nr = old ? old->nr : 0;
	if (nr >= KVM_IO_BUS_MAX_DEVS)
		return -ENOSPC;
	new = kmalloc(struct_size(new, range, nr + 1), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;
	if (old)
		memcpy(new->range, old->range, nr * sizeof(old->range[0]));
	new->range[nr] = (struct kvm_io_range){ addr, len, dev };
	new->nr = nr + 1;
	rcu_assign_pointer(kvm->io.bus[idx], new);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

/* Returns once no vCPU can still be inside @dev's handlers. */
void kvm_io_bus_unregister_dev(struct kvm *kvm, enum kvm_bus idx,
			       struct kvm_io_device *dev)
{
	struct kvm_io_bus *old, *new;
	int i, j;

	lockdep_assert_held(&kvm->io.lock);
	old = rcu_dereference_protected(kvm->io.bus[idx],
					lockdep_is_held(&kvm->io.lock));
	if (!old)
		return;
	/* Shrinking never needs more memory than the old array had. */
	new = kmalloc(struct_size(new, range, old->nr), GFP_KERNEL_ACCOUNT |
		      __GFP_NOFAIL);
	for (i = 0, j = 0; i < old->nr; i++)
		if (old->range[i].dev != dev)
			new->range[j++] = old->range[i];
	new->nr = j;
	rcu_assign_pointer(kvm->io.bus[idx], new);
	synchronize_rcu();
	kfree(old);
}

/* A zero-length range (an ioeventfd of any length) matches its address. */
static bool range_covers(const struct kvm_io_range *r, u64 addr, int len)
{
	if (!r->len)
		return addr == r->addr;
	return addr >= r->addr && addr + len <= r->addr + r->len;
}

int kvm_io_bus_read(struct kvm_vcpu *vcpu, enum kvm_bus idx, u64 addr,
		    int len, void *val)
{
	struct kvm_io_bus *bus;
	int i, r = -EOPNOTSUPP;

	rcu_read_lock();
	bus = rcu_dereference(vcpu->kvm->io.bus[idx]);
	for (i = 0; bus && i < bus->nr && r; i++) {
		struct kvm_io_range *rg = &bus->range[i];

		if (range_covers(rg, addr, len) && rg->dev->ops->read)
			r = rg->dev->ops->read(vcpu, rg->dev, addr, len, val);
	}
	rcu_read_unlock();
	return r;
}

int kvm_io_bus_write(struct kvm_vcpu *vcpu, enum kvm_bus idx, u64 addr,
		     int len, const void *val)
{
	struct kvm_io_bus *bus;
	int i, r = -EOPNOTSUPP;

	rcu_read_lock();
	bus = rcu_dereference(vcpu->kvm->io.bus[idx]);
	for (i = 0; bus && i < bus->nr && r; i++) {
		struct kvm_io_range *rg = &bus->range[i];

		if (range_covers(rg, addr, len) && rg->dev->ops->write)
			r = rg->dev->ops->write(vcpu, rg->dev, addr, len, val);
	}
	rcu_read_unlock();
	return r;
}

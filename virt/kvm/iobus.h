/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-kernel device buses: guest port I/O and MMIO served without an exit
 * to userspace (PIC, PIT, IOAPIC, ioeventfds), and the VM's eventfd state.
 */
#ifndef UKVM_IOBUS_H
#define UKVM_IOBUS_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct kvm;
struct kvm_vcpu;
struct kvm_io_device;

enum kvm_bus {
	KVM_MMIO_BUS,
	KVM_PIO_BUS,
	KVM_NR_BUSES
};

/*
 * A device's handlers return 0 when they served the access and
 * -EOPNOTSUPP to let the next device on the range (or userspace) have it.
 * They run in the vCPU thread with rcu_read_lock() held: no sleeping.
 */
struct kvm_io_device_ops {
	int (*read)(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
		    u64 addr, int len, void *val);
	int (*write)(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
		     u64 addr, int len, const void *val);
};

struct kvm_io_device {
	const struct kvm_io_device_ops *ops;
};

struct kvm_io_range {
	u64 addr;
	int len;
	struct kvm_io_device *dev;
};

/* Copy-on-write: readers see one array under RCU, writers replace it. */
struct kvm_io_bus {
	int nr;
	struct rcu_head rcu;
	struct kvm_io_range range[];
};

/* Per-VM state of the buses and eventfds (embedded in struct kvm). */
struct kvm_io_state {
	struct mutex lock;		/* serializes bus and eventfd changes */
	struct kvm_io_bus __rcu *bus[KVM_NR_BUSES];
	struct list_head ioeventfds;	/* under @lock */
	spinlock_t irqfds_lock;		/* protects @irqfds */
	struct list_head irqfds;
	struct list_head resamplers;	/* under @lock */
	struct workqueue_struct *irqfd_wq;
};

void kvm_io_init(struct kvm *kvm);
void kvm_io_destroy(struct kvm *kvm);
int kvm_io_bus_register_dev(struct kvm *kvm, enum kvm_bus bus, u64 addr,
			    int len, struct kvm_io_device *dev);
void kvm_io_bus_unregister_dev(struct kvm *kvm, enum kvm_bus bus,
			       struct kvm_io_device *dev);
/* 0 if an in-kernel device served the access, -EOPNOTSUPP otherwise. */
int kvm_io_bus_read(struct kvm_vcpu *vcpu, enum kvm_bus bus, u64 addr,
		    int len, void *val);
int kvm_io_bus_write(struct kvm_vcpu *vcpu, enum kvm_bus bus, u64 addr,
		     int len, const void *val);

#endif /* UKVM_IOBUS_H */

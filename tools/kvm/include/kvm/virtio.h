/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__VIRTIO_H
#define KVM__VIRTIO_H

#include <pthread.h>

#include "kvm/pci.h"
#include "kvm/util.h"
#include "kvm/virtqueue.h"

/* Feature bits every lkvm device offers (virtio 1.1, 6). */
#define VIRTIO_RING_F_INDIRECT_DESC	28
#define VIRTIO_F_VERSION_1		32

/* Device status bits (virtio 1.1, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

/* Device IDs (virtio 1.1, 5). */
#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_CONSOLE	3
#define VIRTIO_ID_RNG		4
#define VIRTIO_ID_BALLOON	5
#define VIRTIO_ID_9P		9

#define VIRTIO_MAX_QUEUES	8
#define VIRTIO_MAX_FDS		2	/* extra fds a device thread polls */

struct kvm;
struct virtio_device;

/*
 * What a device file provides.  The transport (virtio/pci.c) owns the
 * PCI function, feature negotiation, the rings and interrupts; a device
 * only turns chains into I/O.  Every callback runs with vdev->lock held.
 */
struct virtio_ops {
	const char *name;		/* "virtio-blk": for messages */
	u16 device_id;			/* VIRTIO_ID_* */
	u32 pci_class;			/* class, subclass, prog-if */
	int nr_queues;
	u16 queue_size;
	u64 features;			/* device-specific feature bits */
	u32 config_size;		/* bytes of vdev->config */

	/* The driver wrote device configuration bytes [off, off + len). */
	void (*config_written)(struct virtio_device *vdev, u32 off, u32 len);
	/* Queue q has (or may have) new chains; runs in the device thread. */
	void (*notify)(struct virtio_device *vdev, int q);
	/* An extra fd (virtio__add_fd) is ready; runs in the device thread. */
	void (*fd_ready)(struct virtio_device *vdev, int index);
	/* The driver set DRIVER_OK: the queues it enabled are ready. */
	void (*driver_ok)(struct virtio_device *vdev);
	/* The driver reset the device; queues are already disabled. */
	void (*reset)(struct virtio_device *vdev);
};

struct virtio_queue {
	struct virtqueue vq;
	bool enabled;
	u16 vector;			/* MSI-X vector, or VIRTIO_NO_VECTOR */
	int kick_fd;			/* eventfd: the guest notified */
	bool external;			/* served by the kernel (vhost) */
	u64 notify_addr;		/* where kick_fd is an ioeventfd, or 0 */
};

struct msix_entry {
	u32 addr_lo, addr_hi, data, ctrl;
	int gsi;			/* irqfd route, or -1 */
	int irqfd;
	bool route_stale;		/* entry changed since routed */
	bool pending;
};

#define VIRTIO_NO_VECTOR	0xffff
#define VIRTIO_MAX_VECTORS	(VIRTIO_MAX_QUEUES + 1)

struct virtio_device {
	const struct virtio_ops *ops;
	struct kvm *kvm;
	void *priv;			/* the device's own state */
	u8 *config;			/* ops->config_size bytes */
	struct pci_device pci;

	/*
	 * Protects everything below and the device's own state: taken by
	 * vCPUs accessing the BAR, by the device thread around callbacks,
	 * and by anyone else feeding the device (the terminal).
	 */
	pthread_mutex_t lock;
	u64 driver_features;
	u32 device_feature_sel, driver_feature_sel;
	u8 status;
	u8 isr;
	u8 config_generation;
	u16 queue_sel;
	u16 config_vector;
	bool broken;
	bool msix_enabled, msix_masked;
	bool intx_level;
	struct virtio_queue queues[VIRTIO_MAX_QUEUES];
	struct msix_entry msix[VIRTIO_MAX_VECTORS];
	struct vq_chain *chain;		/* scratch for callbacks */

	int fds[VIRTIO_MAX_FDS];
	short fd_events[VIRTIO_MAX_FDS];
	int nr_fds;
	int wake_fd;			/* eventfd: re-read fd_events */
	pthread_t thread;
};

/* Create the PCI function and the device thread; returns 0 or -errno. */
int virtio__register(struct kvm *kvm, struct virtio_device *vdev,
		     const struct virtio_ops *ops, void *priv);

/*
 * The device thread also polls fd for events (POLLIN/POLLOUT); returns
 * its index for fd_ready.  Call before virtio__register.  Events can be
 * changed later with virtio__set_fd_events (from any thread, lock held).
 */
int virtio__add_fd(struct virtio_device *vdev, int fd, short events);
void virtio__set_fd_events(struct virtio_device *vdev, int index,
			   short events);

/* Make the device thread re-read its poll set (queues' external flag). */
void virtio__wake(struct virtio_device *vdev);

/*
 * The irqfd that interrupts the guest for queue q (routing its MSI-X
 * vector now), or -1 when there is none: MSI-X off, no vector, or KVM
 * without irqfd.  For devices handing a queue to the kernel.
 */
int virtio__queue_irqfd(struct virtio_device *vdev, int q);

/* Is queue q running (driver ready, queue enabled, device not broken)? */
bool virtio__queue_ready(struct virtio_device *vdev, int q);
static inline struct virtqueue *virtio__vq(struct virtio_device *vdev, int q)
{
	return &vdev->queues[q].vq;
}

/*
 * Pop the next chain of queue q into vdev->chain.  1: got one, 0: empty,
 * -1: the ring is malformed and the device is now broken.
 */
int virtio__pop(struct virtio_device *vdev, int q);
/* Return chain head to the guest; no interrupt until signal_queue. */
void virtio__push(struct virtio_device *vdev, int q, u16 head, u32 len);
/* Interrupt the guest for queue q if it asked for it (after pushes). */
void virtio__signal_queue(struct virtio_device *vdev, int q);
/* The device configuration changed. */
void virtio__signal_config(struct virtio_device *vdev);
/* The guest misused the device: stop it until reset, tell the driver. */
void virtio__set_broken(struct virtio_device *vdev, const char *why);

static inline bool virtio__has_feature(struct virtio_device *vdev, int bit)
{
	return vdev->driver_features & (1ULL << bit);
}

#endif

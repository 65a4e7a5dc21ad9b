// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (virtio 1.1, 5.1) on a host tap device: -n tap=IF.
 *
 * The tap speaks the same 12-byte virtio-net header the guest does
 * (IFF_VNET_HDR, TUNSETVNETHDRSZ), and no offloads are negotiated on
 * either side, so frames pass through unchanged.  Received frames are
 * read from the tap first and then copied into the next receive chain;
 * when the guest has no receive buffer, the frame waits and the tap is
 * not polled until the guest adds buffers.
 *
 * vhost-net: when /dev/vhost-net works (and KVM has ioeventfd and irqfd),
 * the kernel serves both queues once the driver is ready: the queues'
 * kick eventfds (KVM ioeventfds) and their vectors' irqfds go to vhost,
 * and the tap becomes its backend.  lkvm's own loop below takes over
 * again after a reset, when the guest has MSI-X off, or with vhost=off.
 * vhost ignores MSI-X masking: a masked vector still interrupts.
 *
 * Not implemented: -n user (a user-mode network needs a TCP/IP stack in
 * lkvm); builtin-run.c refuses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/virtio.h"

#define NET_QUEUE_SIZE		256
#define NET_RX			0
#define NET_TX			1
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_HDR_SIZE	12	/* struct virtio_net_hdr_v1 */
#define NET_FRAME_MAX		(65536 + VIRTIO_NET_HDR_SIZE)
#define PCI_CLASS_NET_ETHERNET	0x020000

struct virtio_net_config {
	u8 mac[6];
	u16 status;
	u16 max_virtqueue_pairs;
} __attribute__((packed));

struct net_dev {
	struct virtio_device vdev;
	struct virtio_net_config config;
	const struct net_config *cfg;
	int tap_fd;
	int tap_index;			/* in the device thread's poll set */
	int vhost_fd;			/* -1: no vhost-net */
	u64 vhost_features;
	bool vhost_running;
	size_t pending;			/* bytes of frame waiting for a buffer */
	u8 frame[NET_FRAME_MAX];
};

static void net__tx(struct virtio_device *vdev)
{
	struct net_dev *n = vdev->priv;
	struct vq_chain *c = vdev->chain;
	bool any = false;

	while (virtio__pop(vdev, NET_TX) > 0) {
		/* A frame the tap refuses is dropped, as a wire would. */
		if (c->nr_out && writev(n->tap_fd, c->iov, c->nr_out) < 0 &&
		    errno != EAGAIN && errno != EIO)
			pr_debug("virtio-net: tap write: %s", strerror(errno));
		virtio__push(vdev, NET_TX, c->head, 0);
		any = true;
	}
	if (any)
		virtio__signal_queue(vdev, NET_TX);
}

static void net__rx(struct virtio_device *vdev)
{
	struct net_dev *n = vdev->priv;
	struct vq_chain *c = vdev->chain;
	bool any = false;

	for (;;) {
		ssize_t r;
		int got;

		if (!n->pending) {
			r = read(n->tap_fd, n->frame, sizeof(n->frame));
			if (r <= 0)
				break;
			n->pending = r;
		}
		got = virtio__pop(vdev, NET_RX);
		if (got <= 0) {
			/* No buffer: wait for the guest to add some. */
			virtio__set_fd_events(vdev, n->tap_index, 0);
			break;
		}
		/* Too big for the buffer (no MRG_RXBUF): drop the frame. */
		if (n->pending <= c->in_len) {
			iov_copy_to(vq_chain_in(c), c->nr_in, 0, n->frame,
				    n->pending);
			virtio__push(vdev, NET_RX, c->head, n->pending);
		} else {
			virtio__push(vdev, NET_RX, c->head, 0);
		}
		n->pending = 0;
		any = true;
	}
	if (any)
		virtio__signal_queue(vdev, NET_RX);
}

static void net__notify(struct virtio_device *vdev, int q)
{
	struct net_dev *n = vdev->priv;

	if (q == NET_TX) {
		net__tx(vdev);
		return;
	}
	virtio__set_fd_events(vdev, n->tap_index, POLLIN);
	net__rx(vdev);
}

static void net__fd_ready(struct virtio_device *vdev, int index)
{
	struct net_dev *n = vdev->priv;

	if (index == n->tap_index && virtio__queue_ready(vdev, NET_RX))
		net__rx(vdev);
	else if (index == n->tap_index)
		virtio__set_fd_events(vdev, index, 0);
}

/* ---- vhost-net ---- */

static void net__vhost_stop(struct net_dev *n)
{
	for (unsigned int q = 0; q < 2; q++) {
		struct vhost_vring_file f = { .index = q, .fd = -1 };

		ioctl(n->vhost_fd, VHOST_NET_SET_BACKEND, &f);
	}
	n->vhost_running = false;
}

/* Hand both queues to vhost; false (nothing changed) if it cannot. */
static bool net__vhost_start(struct net_dev *n, const char **why)
{
	struct virtio_device *vdev = &n->vdev;
	struct kvm *kvm = vdev->kvm;
	u64 features = vdev->driver_features & n->vhost_features;

	if (!(features & (1ULL << VIRTIO_F_VERSION_1))) {
		*why = "vhost-net lacks VIRTIO_F_VERSION_1";
		return false;
	}
	if (ioctl(n->vhost_fd, VHOST_SET_FEATURES, &features) < 0) {
		*why = "VHOST_SET_FEATURES";
		return false;
	}
	for (unsigned int q = 0; q < 2; q++) {
		struct virtqueue *vq = virtio__vq(vdev, q);
		int call = virtio__queue_irqfd(vdev, q);
		struct vhost_vring_state num = { q, vq->size };
		struct vhost_vring_state base = { q, vq->last_avail };
		struct vhost_vring_addr addr = {
			.index = q,
			.desc_user_addr = (u64)(unsigned long)
				guest_ptr(kvm, vq->desc_gpa, 1),
			.avail_user_addr = (u64)(unsigned long)vq->avail_flags,
			.used_user_addr = (u64)(unsigned long)vq->used_flags,
		};
		struct vhost_vring_file kick = { q, vdev->queues[q].kick_fd };
		struct vhost_vring_file callf = { q, call };

		if (!vdev->queues[q].enabled || call < 0) {
			*why = "a queue without an MSI-X vector or irqfd";
			return false;
		}
		if (ioctl(n->vhost_fd, VHOST_SET_VRING_NUM, &num) < 0 ||
		    ioctl(n->vhost_fd, VHOST_SET_VRING_BASE, &base) < 0 ||
		    ioctl(n->vhost_fd, VHOST_SET_VRING_ADDR, &addr) < 0 ||
		    ioctl(n->vhost_fd, VHOST_SET_VRING_KICK, &kick) < 0 ||
		    ioctl(n->vhost_fd, VHOST_SET_VRING_CALL, &callf) < 0) {
			*why = "VHOST_SET_VRING_*";
			return false;
		}
	}
	for (unsigned int q = 0; q < 2; q++) {
		struct vhost_vring_file backend = { q, n->tap_fd };

		if (ioctl(n->vhost_fd, VHOST_NET_SET_BACKEND, &backend) < 0) {
			net__vhost_stop(n);
			*why = "VHOST_NET_SET_BACKEND";
			return false;
		}
	}
	return true;
}

static void net__driver_ok(struct virtio_device *vdev)
{
	struct net_dev *n = vdev->priv;
	const char *why = "the guest has MSI-X off";

	if (n->vhost_fd < 0)
		return;
	if (vdev->msix_enabled && net__vhost_start(n, &why)) {
		n->vhost_running = true;
		n->pending = 0;
		vdev->queues[NET_RX].external = true;
		vdev->queues[NET_TX].external = true;
		virtio__set_fd_events(vdev, n->tap_index, 0);
		virtio__wake(vdev);
		pr_debug("virtio-net %s: queues served by vhost-net",
			 n->cfg->tap_if);
		return;
	}
	if (n->cfg->vhost == VHOST_ON)
		pr_warn("virtio-net %s: vhost-net cannot serve the queues (%s: "
			"%s); lkvm does", n->cfg->tap_if, why, strerror(errno));
}

static void net__reset(struct virtio_device *vdev)
{
	struct net_dev *n = vdev->priv;

	if (n->vhost_running)
		net__vhost_stop(n);
	n->pending = 0;
}

static const struct virtio_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.pci_class = PCI_CLASS_NET_ETHERNET,
	.nr_queues = 2,
	.queue_size = NET_QUEUE_SIZE,
	.features = 1ULL << VIRTIO_NET_F_MAC,
	.config_size = sizeof(struct virtio_net_config),
	.notify = net__notify,
	.fd_ready = net__fd_ready,
	.driver_ok = net__driver_ok,
	.reset = net__reset,
};

static int net__open_tap(const char *name)
{
	struct ifreq ifr = { 0 };
	int hdr = VIRTIO_NET_HDR_SIZE;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		die("-n tap=%s: cannot open /dev/net/tun: %s", name,
		    strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("-n tap=%s: cannot attach to the tap device: %s%s", name,
		    strerror(errno), errno == EPERM ?
		    " (needs CAP_NET_ADMIN, or a tap owned by you)" : "");
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		die("-n tap=%s: TUNSETVNETHDRSZ: %s", name, strerror(errno));
	/* No offloads: the guest negotiated none either. */
	if (ioctl(fd, TUNSETOFFLOAD, 0) < 0)
		die("-n tap=%s: TUNSETOFFLOAD: %s", name, strerror(errno));
	return fd;
}

/* /dev/vhost-net with lkvm's memory map, or -1 (with errno). */
static int net__open_vhost(struct kvm *kvm, u64 *features)
{
	struct ram_range ranges[2];
	int nr = kvm__ram_ranges(kvm, ranges, 2);
	struct vhost_memory *mem;
	int fd, saved;

	if (!kvm->caps.ioeventfd || !kvm->caps.irqfd || !kvm->caps.irq_routing) {
		errno = ENOSYS;
		return -1;
	}
	fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	mem = xzalloc(sizeof(*mem) + nr * sizeof(mem->regions[0]));
	mem->nregions = nr;
	for (int i = 0; i < nr; i++) {
		mem->regions[i].guest_phys_addr = ranges[i].start;
		mem->regions[i].memory_size = ranges[i].size;
		mem->regions[i].userspace_addr = (u64)(unsigned long)
			guest_ptr(kvm, ranges[i].start, ranges[i].size);
	}
	if (ioctl(fd, VHOST_SET_OWNER, 0) < 0 ||
	    ioctl(fd, VHOST_GET_FEATURES, features) < 0 ||
	    ioctl(fd, VHOST_SET_MEM_TABLE, mem) < 0) {
		saved = errno;
		close(fd);
		free(mem);
		errno = saved;
		return -1;
	}
	free(mem);
	return fd;
}

static int net__init_one(struct kvm *kvm, int i)
{
	const struct net_config *cfg = &kvm->cfg->nets[i];
	const u8 mac[6] = { 0x02, 'L', 'K', 'V', 'M', 0x01 + i };
	struct net_dev *n;

	n = xzalloc(sizeof(*n));
	n->cfg = cfg;
	n->tap_fd = net__open_tap(cfg->tap_if);
	n->vhost_fd = -1;
	if (cfg->vhost != VHOST_OFF) {
		n->vhost_fd = net__open_vhost(kvm, &n->vhost_features);
		if (n->vhost_fd < 0 && cfg->vhost == VHOST_ON)
			die("-n tap=%s,vhost=on: no vhost-net: %s%s",
			    cfg->tap_if, strerror(errno), errno == ENOSYS ?
			    " (KVM lacks ioeventfd or irqfd)" : "");
	}
	memcpy(n->config.mac, mac, sizeof(mac));
	n->config.max_virtqueue_pairs = 1;
	n->vdev.config = (u8 *)&n->config;
	/* Polled once the guest's receive queue is up. */
	n->tap_index = virtio__add_fd(&n->vdev, n->tap_fd, 0);
	return virtio__register(kvm, &n->vdev, &net_ops, n);
}

static int net__init(struct kvm *kvm)
{
	for (int i = 0; i < kvm->cfg->nr_nets; i++) {
		int r = net__init_one(kvm, i);

		if (r < 0)
			return r;
	}
	return 0;
}
lkvm_init(INIT_VIRTIO, net__init);

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
 * Not implemented: vhost-net, and -n user (a user-mode network needs a
 * TCP/IP stack in lkvm); -n user says so and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
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
	int tap_fd;
	int tap_index;			/* in the device thread's poll set */
	size_t pending;			/* bytes of frame waiting for a buffer */
	u8 frame[NET_FRAME_MAX];
};

static struct net_dev net;

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

static void net__reset(struct virtio_device *vdev)
{
	struct net_dev *n = vdev->priv;

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

static int net__init(struct kvm *kvm)
{
	static const u8 mac[6] = { 0x02, 'L', 'K', 'V', 'M', 0x01 };

	switch (kvm->cfg->net) {
	case NET_NONE:
		return 0;
	case NET_USER:
		die("-n user: lkvm has no user-mode network stack; use "
		    "-n tap=IF (needs CAP_NET_ADMIN) or -n none");
	case NET_TAP:
		break;
	}
	net.tap_fd = net__open_tap(kvm->cfg->tap_if);
	memcpy(net.config.mac, mac, sizeof(mac));
	net.config.max_virtqueue_pairs = 1;
	net.vdev.config = (u8 *)&net.config;
	/* Polled once the guest's receive queue is up. */
	net.tap_index = virtio__add_fd(&net.vdev, net.tap_fd, 0);
	return virtio__register(kvm, &net.vdev, &net_ops, &net);
}
lkvm_init(INIT_VIRTIO, net__init);

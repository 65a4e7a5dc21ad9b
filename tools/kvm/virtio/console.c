// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console (virtio 1.1, 5.3) with one port and no multiport
 * control queue: the guest's hvc0.  Output goes to the terminal; with
 * --console virtio the terminal's input comes here instead of ttyS0.
 */
#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/term.h"
#include "kvm/virtio.h"

#define CONSOLE_QUEUE_SIZE	128
#define CONSOLE_RX		0	/* receiveq: host to guest */
#define CONSOLE_TX		1	/* transmitq: guest to host */
#define PCI_CLASS_COMM_OTHER	0x078000

/* struct virtio_console_config: cols, rows, max_nr_ports, emerg_wr. */
#define CONSOLE_CONFIG_SIZE	12

static struct virtio_device console_dev;

static void console__notify(struct virtio_device *vdev, int q)
{
	struct vq_chain *c = vdev->chain;
	bool any = false;

	/* Receive buffers are filled when input arrives (console__input). */
	if (q != CONSOLE_TX)
		return;
	while (virtio__pop(vdev, q) > 0) {
		for (unsigned int i = 0; i < c->nr_out; i++)
			term__write(c->iov[i].iov_base, c->iov[i].iov_len);
		virtio__push(vdev, q, c->head, 0);
		any = true;
	}
	if (any)
		virtio__signal_queue(vdev, q);
}

/* Terminal thread: put typed bytes in the guest's receive buffers. */
static size_t console__input(void *opaque, const u8 *buf, size_t len)
{
	struct virtio_device *vdev = opaque;
	size_t done = 0;

	pthread_mutex_lock(&vdev->lock);
	while (done < len && virtio__pop(vdev, CONSOLE_RX) > 0) {
		struct vq_chain *c = vdev->chain;
		size_t n = iov_copy_to(vq_chain_in(c), c->nr_in, 0, buf + done,
				       len - done);

		virtio__push(vdev, CONSOLE_RX, c->head, n);
		done += n;
	}
	if (done)
		virtio__signal_queue(vdev, CONSOLE_RX);
	pthread_mutex_unlock(&vdev->lock);
	return done;
}

static const struct virtio_ops console_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.pci_class = PCI_CLASS_COMM_OTHER,
	.nr_queues = 2,
	.queue_size = CONSOLE_QUEUE_SIZE,
	.config_size = CONSOLE_CONFIG_SIZE,
	.notify = console__notify,
};

static int console__init(struct kvm *kvm)
{
	int r;

	if (kvm->cfg->console != CONSOLE_VIRTIO)
		return 0;
	r = virtio__register(kvm, &console_dev, &console_ops, NULL);
	if (r == 0)
		term__set_input(console__input, &console_dev);
	return r;
}
lkvm_init(INIT_VIRTIO, console__init);

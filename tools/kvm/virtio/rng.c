// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (virtio 1.1, 5.4): one queue of writable buffers that the
 * device fills from the host's getrandom().  The guest sees /dev/hwrng.
 */
#include <errno.h>
#include <sys/random.h>

#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/virtio.h"

#define RNG_QUEUE_SIZE		64
#define PCI_CLASS_OTHER		0xff0000

static struct virtio_device rng_dev;

static u32 rng__fill(struct vq_chain *c)
{
	struct iovec *iov = vq_chain_in(c);
	u32 done = 0;

	for (unsigned int i = 0; i < c->nr_in; i++) {
		ssize_t n = getrandom(iov[i].iov_base, iov[i].iov_len, 0);

		if (n < 0)
			break;
		done += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return done;
}

static void rng__notify(struct virtio_device *vdev, int q)
{
	bool any = false;

	while (virtio__pop(vdev, q) > 0) {
		virtio__push(vdev, q, vdev->chain->head, rng__fill(vdev->chain));
		any = true;
	}
	if (any)
		virtio__signal_queue(vdev, q);
}

static const struct virtio_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.pci_class = PCI_CLASS_OTHER,
	.nr_queues = 1,
	.queue_size = RNG_QUEUE_SIZE,
	.notify = rng__notify,
};

static int rng__init(struct kvm *kvm)
{
	if (!kvm->cfg->rng)
		return 0;
	return virtio__register(kvm, &rng_dev, &rng_ops, NULL);
}
lkvm_init(INIT_VIRTIO, rng__init);

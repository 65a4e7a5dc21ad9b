// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-balloon (virtio 1.1, 5.5): lkvm asks the guest for memory by
 * setting num_pages; the guest hands pages over on the inflate queue
 * and lkvm gives them back to the host (MADV_DONTNEED), and takes pages
 * back on the deflate queue (they fault back in, zeroed, when touched).
 * --balloon=MiB sets the request at start; Ctrl-A b asks for 64 MiB more,
 * Ctrl-A B for 64 MiB less.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include "kvm/balloon.h"
#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/term.h"
#include "kvm/virtio.h"

#define BALLOON_QUEUE_SIZE	128
#define BALLOON_INFLATE		0
#define BALLOON_DEFLATE		1
#define BALLOON_PAGE_SHIFT	12	/* PFNs are in 4 KiB units, always */
#define BALLOON_PAGE_SIZE	(1u << BALLOON_PAGE_SHIFT)
#define PCI_CLASS_OTHER		0xff0000
#define BALLOON_STEP_MIB	64

struct virtio_balloon_config {
	u32 num_pages;			/* what the host asks for */
	u32 actual;			/* what the guest has given */
} __attribute__((packed));

static struct virtio_device balloon_dev;
static struct virtio_balloon_config balloon_config;

static void balloon__inflate(struct virtio_device *vdev, struct vq_chain *c)
{
	u32 pfn;

	for (size_t off = 0; off + sizeof(pfn) <= c->out_len;
	     off += sizeof(pfn)) {
		void *page;

		iov_copy_from(c->iov, c->nr_out, off, &pfn, sizeof(pfn));
		page = guest_ptr(vdev->kvm, (u64)pfn << BALLOON_PAGE_SHIFT,
				 BALLOON_PAGE_SIZE);
		/* A PFN that is not RAM is the guest's mistake: skip it. */
		if (page)
			madvise(page, BALLOON_PAGE_SIZE, MADV_DONTNEED);
	}
}

static void balloon__notify(struct virtio_device *vdev, int q)
{
	struct vq_chain *c = vdev->chain;
	bool any = false;

	while (virtio__pop(vdev, q) > 0) {
		if (q == BALLOON_INFLATE)
			balloon__inflate(vdev, c);
		virtio__push(vdev, q, c->head, 0);
		any = true;
	}
	if (any)
		virtio__signal_queue(vdev, q);
}

static void balloon__config_written(struct virtio_device *vdev, u32 off,
				    u32 len)
{
	(void)vdev;
	(void)off;
	(void)len;
	pr_debug("virtio-balloon: the guest has given %u of %u pages",
		 balloon_config.actual, balloon_config.num_pages);
}

/*
 * Set the request to mib (clamped to what the guest can give; the
 * control channel and the terminal escapes).  Returns the new request.
 */
static long balloon__set_locked(struct virtio_device *vdev, long mib)
{
	long pages_per_mib = MiB / BALLOON_PAGE_SIZE;
	long max = (long)(vdev->kvm->ram_size / MiB) - BALLOON_STEP_MIB;

	mib = MAX(0, MIN(mib, max));
	balloon_config.num_pages = mib * pages_per_mib;
	virtio__signal_config(vdev);
	return mib;
}

int balloon__request(struct kvm *kvm, long mib, bool relative,
		     long *target, long *actual)
{
	long pages_per_mib = MiB / BALLOON_PAGE_SIZE;

	if (!kvm->cfg->balloon)
		return -ENODEV;
	pthread_mutex_lock(&balloon_dev.lock);
	if (relative)
		mib += (long)balloon_config.num_pages / pages_per_mib;
	*target = balloon__set_locked(&balloon_dev, mib);
	*actual = (long)balloon_config.actual / pages_per_mib;
	pthread_mutex_unlock(&balloon_dev.lock);
	return 0;
}

/* Terminal thread: move the request by delta MiB, within guest RAM. */
static void balloon__adjust(struct virtio_device *vdev, long delta_mib)
{
	long pages_per_mib = MiB / BALLOON_PAGE_SIZE;
	char msg[96];
	long mib;
	int n;

	pthread_mutex_lock(&vdev->lock);
	mib = (long)balloon_config.num_pages / pages_per_mib + delta_mib;
	mib = balloon__set_locked(vdev, mib);
	pthread_mutex_unlock(&vdev->lock);

	n = snprintf(msg, sizeof(msg), "\r\n[lkvm: asking the guest's "
		     "balloon for %ld MiB]\r\n", mib);
	term__write(msg, MIN(n, (int)sizeof(msg) - 1));
}

static void balloon__inflate_key(void *opaque)
{
	balloon__adjust(opaque, BALLOON_STEP_MIB);
}

static void balloon__deflate_key(void *opaque)
{
	balloon__adjust(opaque, -BALLOON_STEP_MIB);
}

static const struct virtio_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.pci_class = PCI_CLASS_OTHER,
	.nr_queues = 2,
	.queue_size = BALLOON_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_balloon_config),
	.notify = balloon__notify,
	.config_written = balloon__config_written,
};

static int balloon__init(struct kvm *kvm)
{
	if (!kvm->cfg->balloon)
		return 0;
	balloon_config.num_pages = kvm->cfg->balloon_mib * (MiB / BALLOON_PAGE_SIZE);
	balloon_dev.config = (u8 *)&balloon_config;
	term__add_escape('b', balloon__inflate_key, &balloon_dev,
			 "balloon: take 64 MiB more from the guest");
	term__add_escape('B', balloon__deflate_key, &balloon_dev,
			 "balloon: give 64 MiB back to the guest");
	return virtio__register(kvm, &balloon_dev, &balloon_ops, NULL);
}
lkvm_init(INIT_VIRTIO, balloon__init);

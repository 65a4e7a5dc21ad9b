// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-9p (virtio 1.1, 5.7 names it; the transport is the Linux
 * 9pnet_virtio one): each request chain carries one 9P message out and
 * room for the reply in.  The protocol lives in 9p-server.c.
 *
 * In the guest: mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kvm/9p.h"
#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/virtio.h"

#define P9_QUEUE_SIZE		128
#define VIRTIO_9P_MOUNT_TAG	0	/* feature: config holds the tag */
#define P9_TAG_MAX		64
#define PCI_CLASS_STORAGE_OTHER	0x018000

struct p9_config {
	u16 tag_len;
	char tag[P9_TAG_MAX];
} __attribute__((packed));

struct p9_dev {
	struct virtio_device vdev;
	struct virtio_ops ops;
	struct p9_config config;
	struct p9_server *server;
	u8 req[P9_MAX_MSIZE];
	u8 resp[P9_MAX_MSIZE];
};

static void p9__notify(struct virtio_device *vdev, int q)
{
	struct p9_dev *p = vdev->priv;
	struct vq_chain *c = vdev->chain;
	bool any = false;

	while (virtio__pop(vdev, q) > 0) {
		size_t req_len = iov_copy_from(c->iov, c->nr_out, 0, p->req,
					       sizeof(p->req));
		size_t cap = MIN(c->in_len, sizeof(p->resp)), len;

		/* A reply that does not fit the guest's buffers is cut off. */
		len = p9_server__handle(p->server, p->req, req_len, p->resp,
					sizeof(p->resp));
		len = MIN(len, cap);
		len = iov_copy_to(vq_chain_in(c), c->nr_in, 0, p->resp, len);
		virtio__push(vdev, q, c->head, len);
		any = true;
	}
	if (any)
		virtio__signal_queue(vdev, q);
}

static int p9__init(struct kvm *kvm)
{
	for (int i = 0; i < kvm->cfg->nr_shares; i++) {
		struct share_config *sc = &kvm->cfg->shares[i];
		struct p9_dev *p = xzalloc(sizeof(*p));
		struct open_how how = { .flags = O_PATH | O_CLOEXEC,
					.resolve = RESOLVE_IN_ROOT };
		struct stat st;
		long probe;
		int fd, r;

		fd = open(sc->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			die("cannot share %s over 9p: %s", sc->path,
			    strerror(errno));
		if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
			die("cannot share %s over 9p: not a directory", sc->path);
		/* The server confines paths with openat2(); Linux 5.6+. */
		probe = syscall(SYS_openat2, fd, ".", &how, sizeof(how));
		if (probe >= 0)
			close(probe);
		else if (errno == ENOSYS)
			die("cannot share %s over 9p: this kernel has no "
			    "openat2(), which lkvm needs to keep the guest "
			    "inside the directory", sc->path);
		p->server = p9_server__new(fd);
		if (!p->server)
			die("out of memory");
		p->config.tag_len = strlen(sc->tag);
		memcpy(p->config.tag, sc->tag, p->config.tag_len);
		p->ops = (struct virtio_ops){
			.name = "virtio-9p",
			.device_id = VIRTIO_ID_9P,
			.pci_class = PCI_CLASS_STORAGE_OTHER,
			.nr_queues = 1,
			.queue_size = P9_QUEUE_SIZE,
			.features = 1ULL << VIRTIO_9P_MOUNT_TAG,
			.config_size = sizeof(u16) + p->config.tag_len,
			.notify = p9__notify,
		};
		p->vdev.config = (u8 *)&p->config;
		r = virtio__register(kvm, &p->vdev, &p->ops, p);
		if (r < 0)
			return r;
	}
	return 0;
}
lkvm_init(INIT_VIRTIO, p9__init);

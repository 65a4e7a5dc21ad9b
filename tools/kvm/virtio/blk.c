// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio 1.1, 5.2) on a raw image file or block device.
 * Requests are handled in the device's thread: every chain on the ring
 * is served, then the guest gets one interrupt for the batch.  Flush is
 * fdatasync(); discard punches holes.  -d IMAGE,ro offers VIRTIO_BLK_F_RO
 * and refuses writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/virtio.h"

#define BLK_QUEUE_SIZE		128
#define SECTOR_SHIFT		9
#define SECTOR_SIZE		(1u << SECTOR_SHIFT)
#define PCI_CLASS_STORAGE_SCSI	0x010000

/* Feature bits (virtio 1.1, 5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define VIRTIO_BLK_F_DISCARD	13

/* Request types and status (virtio 1.1, 5.2.6). */
#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_T_DISCARD	11
#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2
#define VIRTIO_BLK_ID_BYTES	20

#define BLK_SEG_MAX		(BLK_QUEUE_SIZE - 2)	/* + header, status */
#define BLK_MAX_DISCARD_SECTORS	(1u << 22)
#define BLK_MAX_DISCARD_SEG	16
#define BLK_DISCARD_ALIGN	8	/* sectors: 4 KiB */

struct virtio_blk_config {
	u64 capacity;
	u32 size_max;
	u32 seg_max;
	u8 geometry[4];
	u32 blk_size;
	u8 topology[8];
	u8 writeback;
	u8 unused0;
	u16 num_queues;
	u32 max_discard_sectors;
	u32 max_discard_seg;
	u32 discard_sector_alignment;
	u32 max_write_zeroes_sectors;
	u32 max_write_zeroes_seg;
	u8 write_zeroes_may_unmap;
	u8 unused1[3];
} __attribute__((packed));

struct blk_req_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
};

struct blk_discard {
	u64 sector;
	u32 num_sectors;
	u32 flags;
};

struct blk_disk {
	struct virtio_device vdev;
	struct virtio_ops ops;
	struct virtio_blk_config config;
	const char *path;
	int fd;
	bool readonly;
	u64 size;			/* bytes, a multiple of SECTOR_SIZE */
	char id[VIRTIO_BLK_ID_BYTES + 1];
	struct iovec data[VQ_MAX_SEGS];
};

static struct blk_disk disks[LKVM_MAX_DISKS];

/* Is [sector, sector + len bytes) inside the disk? */
static bool blk__in_range(struct blk_disk *d, u64 sector, u64 len)
{
	if (sector > d->size >> SECTOR_SHIFT)
		return false;
	return len <= d->size - (sector << SECTOR_SHIFT);
}

/* preadv/pwritev until everything moved; false on error or EOF. */
static bool blk__rw(struct blk_disk *d, struct iovec *iov, unsigned int n,
		    off_t off, bool write)
{
	while (n) {
		ssize_t r = write ? pwritev(d->fd, iov, n, off) :
				    preadv(d->fd, iov, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		off += r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (u8 *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return true;
}

static u8 blk__discard(struct blk_disk *d, struct vq_chain *c)
{
	size_t len = c->out_len - sizeof(struct blk_req_hdr);
	struct blk_discard seg;

	if (d->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len % sizeof(seg) || len / sizeof(seg) > BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_UNSUPP;
	for (size_t off = 0; off < len; off += sizeof(seg)) {
		u64 bytes;

		iov_copy_from(c->iov, c->nr_out,
			      sizeof(struct blk_req_hdr) + off, &seg, sizeof(seg));
		bytes = (u64)seg.num_sectors << SECTOR_SHIFT;
		if (seg.flags || seg.num_sectors > BLK_MAX_DISCARD_SECTORS)
			return VIRTIO_BLK_S_UNSUPP;
		if (!blk__in_range(d, seg.sector, bytes))
			return VIRTIO_BLK_S_IOERR;
		/* A file system that cannot punch holes just keeps the data. */
		if (bytes && fallocate(d->fd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE,
				       seg.sector << SECTOR_SHIFT, bytes) < 0 &&
		    errno != EOPNOTSUPP)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static u8 blk__read(struct blk_disk *d, struct vq_chain *c, u64 sector,
		   size_t len)
{
	unsigned int n = iov_slice(vq_chain_in(c), c->nr_in, 0, len, d->data,
				   VQ_MAX_SEGS);

	if (len % SECTOR_SIZE || !blk__in_range(d, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (!blk__rw(d, d->data, n, sector << SECTOR_SHIFT, false))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static u8 blk__write(struct blk_disk *d, struct vq_chain *c, u64 sector)
{
	size_t len = c->out_len - sizeof(struct blk_req_hdr);
	unsigned int n = iov_slice(c->iov, c->nr_out, sizeof(struct blk_req_hdr),
				   len, d->data, VQ_MAX_SEGS);

	if (d->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (len % SECTOR_SIZE || !blk__in_range(d, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (!blk__rw(d, d->data, n, sector << SECTOR_SHIFT, true))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

/* Serve one request; returns the bytes written into its in buffers. */
static u32 blk__request(struct blk_disk *d, struct vq_chain *c)
{
	size_t data_in = c->in_len - 1;	/* the last byte is the status */
	struct blk_req_hdr hdr;
	u32 written = 0;
	u8 status;

	iov_copy_from(c->iov, c->nr_out, 0, &hdr, sizeof(hdr));
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		status = blk__read(d, c, hdr.sector, data_in);
		if (status == VIRTIO_BLK_S_OK)
			written = data_in;
		break;
	case VIRTIO_BLK_T_OUT:
		status = blk__write(d, c, hdr.sector);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = fdatasync(d->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:
		written = iov_copy_to(vq_chain_in(c), c->nr_in, 0, d->id,
				      MIN(data_in, sizeof(d->id) - 1));
		status = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
		status = blk__discard(d, c);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	iov_copy_to(vq_chain_in(c), c->nr_in, data_in, &status, 1);
	return written + 1;
}

static void blk__notify(struct virtio_device *vdev, int q)
{
	struct blk_disk *d = vdev->priv;
	struct vq_chain *c = vdev->chain;
	bool any = false;
	int r;

	while ((r = virtio__pop(vdev, q)) > 0) {
		u32 len;

		/* A header and a status byte, at least (virtio 1.1, 5.2.6). */
		if (c->out_len < sizeof(struct blk_req_hdr) || c->in_len < 1) {
			virtio__set_broken(vdev, "block request without header "
					   "or status");
			return;
		}
		len = blk__request(d, c);
		virtio__push(vdev, q, c->head, len);
		any = true;
	}
	if (any)
		virtio__signal_queue(vdev, q);
}

static void blk__open(struct blk_disk *d, struct disk_config *cfg, int index)
{
	struct stat st;

	d->path = cfg->path;
	d->readonly = cfg->readonly;
	d->fd = open(cfg->path, (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (d->fd < 0)
		die("cannot open disk image %s: %s", cfg->path, strerror(errno));
	if (fstat(d->fd, &st) < 0)
		die_errno("cannot stat disk image %s", cfg->path);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0)
			die_errno("cannot size block device %s", cfg->path);
	} else if (S_ISREG(st.st_mode)) {
		d->size = st.st_size;
	} else {
		die("disk image %s is neither a file nor a block device",
		    cfg->path);
	}
	d->size &= ~(u64)(SECTOR_SIZE - 1);
	if (!d->size)
		die("disk image %s is smaller than one sector", cfg->path);
	snprintf(d->id, sizeof(d->id), "lkvm-disk%d", index);
}

static int blk__init(struct kvm *kvm)
{
	for (int i = 0; i < kvm->cfg->nr_disks; i++) {
		struct blk_disk *d = &disks[i];
		struct virtio_ops *ops = &d->ops;
		int r;

		blk__open(d, &kvm->cfg->disks[i], i);
		*ops = (struct virtio_ops){
			.name = "virtio-blk",
			.device_id = VIRTIO_ID_BLOCK,
			.pci_class = PCI_CLASS_STORAGE_SCSI,
			.nr_queues = 1,
			.queue_size = BLK_QUEUE_SIZE,
			.features = 1ULL << VIRTIO_BLK_F_SEG_MAX |
				    1ULL << VIRTIO_BLK_F_BLK_SIZE |
				    1ULL << VIRTIO_BLK_F_FLUSH,
			.config_size = sizeof(d->config),
			.notify = blk__notify,
		};
		if (d->readonly)
			ops->features |= 1ULL << VIRTIO_BLK_F_RO;
		else
			ops->features |= 1ULL << VIRTIO_BLK_F_DISCARD;
		d->config = (struct virtio_blk_config){
			.capacity = d->size >> SECTOR_SHIFT,
			.seg_max = BLK_SEG_MAX,
			.blk_size = SECTOR_SIZE,
			.num_queues = 1,
			.max_discard_sectors = BLK_MAX_DISCARD_SECTORS,
			.max_discard_seg = BLK_MAX_DISCARD_SEG,
			.discard_sector_alignment = BLK_DISCARD_ALIGN,
		};
		d->vdev.config = (u8 *)&d->config;
		r = virtio__register(kvm, &d->vdev, ops, d);
		if (r < 0)
			return r;
	}
	return 0;
}
lkvm_init(INIT_VIRTIO, blk__init);

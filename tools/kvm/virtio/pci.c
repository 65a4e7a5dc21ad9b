// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio PCI transport, modern interface only (virtio 1.1, 4.1).
 *
 * Each device is one PCI function with one 32-bit memory BAR holding the
 * common configuration, the ISR byte, the device configuration, one
 * notification address per queue and the MSI-X table and PBA.  Queue
 * notifications become eventfd writes: KVM writes the eventfd itself
 * where it offers ioeventfd, otherwise the MMIO handler does.  Each
 * device has a thread that waits on those eventfds (and on any fd the
 * device adds, like a tap) and runs the device's callbacks.
 *
 * Interrupts: MSI-X, through an irqfd on a GSI routed to the vector's
 * message where KVM has KVM_CAP_IRQFD and KVM_CAP_IRQ_ROUTING, through
 * KVM_SIGNAL_MSI otherwise; INTx with the ISR byte while MSI-X is off.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "kvm/virtio.h"

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040	/* + device ID: modern device */
#define VIRTIO_PCI_REVISION	1

/* BAR0 layout (our choice; the capabilities publish it). */
#define BAR_COMMON		0x0000
#define BAR_COMMON_LEN		0x38
#define BAR_ISR			0x0040
#define BAR_ISR_LEN		4
#define BAR_DEVICE		0x0100
#define BAR_DEVICE_MAX		0x0700
#define BAR_NOTIFY		0x0800
#define NOTIFY_MULTIPLIER	4
#define BAR_MSIX_TABLE		0x1000
#define BAR_MSIX_PBA		0x1800
#define BAR_SIZE		0x2000
#define MSIX_ENTRY_SIZE		16
#define MSIX_CTRL_MASKED	1

/* virtio_pci_cap.cfg_type (virtio 1.1, 4.1.4). */
#define VIRTIO_PCI_CAP_COMMON	1
#define VIRTIO_PCI_CAP_NOTIFY	2
#define VIRTIO_PCI_CAP_ISR	3
#define VIRTIO_PCI_CAP_DEVICE	4

/* Configuration space: where the capabilities go. */
#define CAP_MSIX		0x40
#define CAP_MSIX_LEN		12
#define MSIX_FLAGS_ENABLE	0x8000
#define MSIX_FLAGS_MASKALL	0x4000
#define CAP_COMMON		0x50
#define CAP_NOTIFY		0x60
#define CAP_ISR			0x78
#define CAP_DEVICE		0x88
#define VIRTIO_CAP_LEN		16
#define VIRTIO_NOTIFY_CAP_LEN	20

/* Common configuration fields (virtio 1.1, 4.1.4.3). */
enum {
	CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
	CC_MSIX = 0x10, CC_NUMQ = 0x12, CC_STATUS = 0x14, CC_CFGGEN = 0x15,
	CC_Q_SELECT = 0x16, CC_Q_SIZE = 0x18, CC_Q_MSIX = 0x1a,
	CC_Q_ENABLE = 0x1c, CC_Q_NOFF = 0x1e, CC_Q_DESCLO = 0x20,
	CC_Q_DESCHI = 0x24, CC_Q_AVAILLO = 0x28, CC_Q_AVAILHI = 0x2c,
	CC_Q_USEDLO = 0x30, CC_Q_USEDHI = 0x34,
};

#define ISR_QUEUE		0x1
#define ISR_CONFIG		0x2

static void *virtio__xlate(void *opaque, u64 gpa, u64 len)
{
	return guest_ptr(opaque, gpa, len);
}

static u64 virtio__offered(struct virtio_device *vdev)
{
	return vdev->ops->features | (1ULL << VIRTIO_F_VERSION_1) |
	       (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
}

/* ---- interrupts ---- */

static int nr_vectors(struct virtio_device *vdev)
{
	return vdev->ops->nr_queues + 1;
}

/*
 * Make sure vector e has an irqfd on a GSI routed to its message; returns
 * the irqfd, or -1 when MSIs must go through KVM_SIGNAL_MSI.
 */
static int msix__route(struct virtio_device *vdev, struct msix_entry *e)
{
	struct kvm *kvm = vdev->kvm;
	u64 addr = (u64)e->addr_hi << 32 | e->addr_lo;
	int gsi;

	if (!kvm->caps.irqfd || !kvm->caps.irq_routing)
		return -1;
	if (e->gsi >= 0 && !e->route_stale)
		return e->irqfd;
	gsi = kvm__msi_route(kvm, e->gsi, addr, e->data);
	if (gsi < 0)
		return -1;
	e->route_stale = false;
	if (e->gsi >= 0)
		return e->irqfd;
	e->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->irqfd < 0 || kvm__irqfd(kvm, gsi, e->irqfd)) {
		/* The route stays unused; this vector uses KVM_SIGNAL_MSI. */
		pr_warn("%s: cannot set up an irqfd (%s); using KVM_SIGNAL_MSI",
			vdev->ops->name, strerror(errno));
		if (e->irqfd >= 0)
			close(e->irqfd);
		e->irqfd = -1;
		return -1;
	}
	e->gsi = gsi;
	return e->irqfd;
}

static void msix__fire(struct virtio_device *vdev, struct msix_entry *e)
{
	int fd = msix__route(vdev, e);
	u64 one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) == sizeof(one))
		return;
	kvm__signal_msi(vdev->kvm, (u64)e->addr_hi << 32 | e->addr_lo,
			e->data);
}

int virtio__queue_irqfd(struct virtio_device *vdev, int q)
{
	u16 vector = vdev->queues[q].vector;

	if (!vdev->msix_enabled || vector >= nr_vectors(vdev))
		return -1;
	return msix__route(vdev, &vdev->msix[vector]);
}

static void virtio__interrupt(struct virtio_device *vdev, u16 vector,
			      u8 isr_bit)
{
	struct msix_entry *e;

	if (!vdev->msix_enabled) {
		vdev->isr |= isr_bit;
		if (!vdev->intx_level) {
			vdev->intx_level = true;
			pci__irq_line(vdev->kvm, &vdev->pci, 1);
		}
		return;
	}
	if (vector >= nr_vectors(vdev))
		return;		/* VIRTIO_NO_VECTOR: the driver wants none */
	e = &vdev->msix[vector];
	if (vdev->msix_masked || (e->ctrl & MSIX_CTRL_MASKED)) {
		e->pending = true;
		return;
	}
	msix__fire(vdev, e);
}

/* Deliver what became deliverable when a mask was lifted. */
static void msix__unmasked(struct virtio_device *vdev)
{
	if (!vdev->msix_enabled || vdev->msix_masked)
		return;
	for (int i = 0; i < nr_vectors(vdev); i++) {
		struct msix_entry *e = &vdev->msix[i];

		if (e->pending && !(e->ctrl & MSIX_CTRL_MASKED)) {
			e->pending = false;
			msix__fire(vdev, e);
		}
	}
}

void virtio__signal_queue(struct virtio_device *vdev, int q)
{
	struct virtio_queue *vq = &vdev->queues[q];

	if (vq_should_signal(&vq->vq))
		virtio__interrupt(vdev, vq->vector, ISR_QUEUE);
}

void virtio__signal_config(struct virtio_device *vdev)
{
	vdev->config_generation++;
	virtio__interrupt(vdev, vdev->config_vector, ISR_CONFIG);
}

void virtio__set_broken(struct virtio_device *vdev, const char *why)
{
	if (vdev->broken)
		return;
	pr_warn("%s: the guest driver misused the device (%s); stopped until "
		"the driver resets it", vdev->ops->name, why);
	vdev->broken = true;
	if (vdev->status & VIRTIO_STATUS_DRIVER_OK) {
		vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
		virtio__signal_config(vdev);
	}
}

/* ---- queues ---- */

bool virtio__queue_ready(struct virtio_device *vdev, int q)
{
	return !vdev->broken && (vdev->status & VIRTIO_STATUS_DRIVER_OK) &&
	       q < vdev->ops->nr_queues && vdev->queues[q].enabled;
}

int virtio__pop(struct virtio_device *vdev, int q)
{
	const char *why;
	int r;

	if (!virtio__queue_ready(vdev, q))
		return 0;
	r = vq_pop(&vdev->queues[q].vq, vdev->chain, &why);
	if (r < 0) {
		virtio__set_broken(vdev, why);
		return -1;
	}
	return r;
}

void virtio__push(struct virtio_device *vdev, int q, u16 head, u32 len)
{
	if (virtio__queue_ready(vdev, q))
		vq_push(&vdev->queues[q].vq, head, len);
}

static void virtio__kick(struct virtio_queue *vq)
{
	u64 one = 1;

	if (write(vq->kick_fd, &one, sizeof(one)) != sizeof(one) &&
	    errno != EAGAIN)
		pr_warn("virtio: cannot signal a queue: %s", strerror(errno));
}

static void virtio__enable_queue(struct virtio_device *vdev, int q)
{
	struct virtio_queue *vq = &vdev->queues[q];
	const char *why;

	vq->vq.mem = (struct vq_mem){ virtio__xlate, vdev->kvm };
	vq->vq.indirect_ok = virtio__has_feature(vdev,
						 VIRTIO_RING_F_INDIRECT_DESC);
	if (vq_setup(&vq->vq, &why) < 0) {
		virtio__set_broken(vdev, why);
		return;
	}
	vq->enabled = true;
}

static void virtio__reset(struct virtio_device *vdev)
{
	vdev->driver_features = 0;
	vdev->device_feature_sel = vdev->driver_feature_sel = 0;
	vdev->status = 0;
	vdev->isr = 0;
	vdev->queue_sel = 0;
	vdev->config_vector = VIRTIO_NO_VECTOR;
	vdev->broken = false;
	if (vdev->intx_level) {
		vdev->intx_level = false;
		pci__irq_line(vdev->kvm, &vdev->pci, 0);
	}
	for (int i = 0; i < vdev->ops->nr_queues; i++) {
		struct virtio_queue *vq = &vdev->queues[i];

		vq->enabled = false;
		vq->external = false;
		vq->vector = VIRTIO_NO_VECTOR;
		vq->vq.size = vdev->ops->queue_size;
		vq->vq.desc_gpa = vq->vq.avail_gpa = vq->vq.used_gpa = 0;
	}
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
}

static void virtio__set_status(struct virtio_device *vdev, u8 status)
{
	u8 old = vdev->status;

	if (!status) {
		virtio__reset(vdev);
		return;
	}
	/* virtio 1.1, 2.2.2: accept only features we offered, and 1.0. */
	if ((status & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    ((vdev->driver_features & ~virtio__offered(vdev)) ||
	     !virtio__has_feature(vdev, VIRTIO_F_VERSION_1)))
		status &= ~VIRTIO_STATUS_FEATURES_OK;
	vdev->status = status | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (vdev->ops->driver_ok)
			vdev->ops->driver_ok(vdev);
		/* Buffers may have been queued before DRIVER_OK. */
		for (int i = 0; i < vdev->ops->nr_queues; i++)
			virtio__kick(&vdev->queues[i]);
	}
}

/* ---- the BAR ---- */

static void common__image(struct virtio_device *vdev, u8 *img)
{
	struct virtio_queue *vq = NULL;
	u64 f = virtio__offered(vdev);

	if (vdev->queue_sel < vdev->ops->nr_queues)
		vq = &vdev->queues[vdev->queue_sel];
	memset(img, 0, BAR_COMMON_LEN);
	bus__put(img + CC_DFSELECT, 4, vdev->device_feature_sel);
	bus__put(img + CC_DF, 4, vdev->device_feature_sel == 0 ? (u32)f :
				 vdev->device_feature_sel == 1 ? f >> 32 : 0);
	bus__put(img + CC_GFSELECT, 4, vdev->driver_feature_sel);
	bus__put(img + CC_GF, 4, vdev->driver_feature_sel == 0 ?
		 (u32)vdev->driver_features :
		 vdev->driver_feature_sel == 1 ? vdev->driver_features >> 32 : 0);
	bus__put(img + CC_MSIX, 2, vdev->config_vector);
	bus__put(img + CC_NUMQ, 2, vdev->ops->nr_queues);
	img[CC_STATUS] = vdev->status;
	img[CC_CFGGEN] = vdev->config_generation;
	bus__put(img + CC_Q_SELECT, 2, vdev->queue_sel);
	if (!vq)
		return;		/* a queue that does not exist has size 0 */
	bus__put(img + CC_Q_SIZE, 2, vq->vq.size);
	bus__put(img + CC_Q_MSIX, 2, vq->vector);
	bus__put(img + CC_Q_ENABLE, 2, vq->enabled);
	bus__put(img + CC_Q_NOFF, 2, vdev->queue_sel);
	bus__put(img + CC_Q_DESCLO, 8, vq->vq.desc_gpa);
	bus__put(img + CC_Q_AVAILLO, 8, vq->vq.avail_gpa);
	bus__put(img + CC_Q_USEDLO, 8, vq->vq.used_gpa);
}

static u16 valid_vector(struct virtio_device *vdev, u16 v)
{
	/* virtio 1.1, 4.1.5.1.2: an unusable vector reads back NO_VECTOR. */
	return v < nr_vectors(vdev) ? v : VIRTIO_NO_VECTOR;
}

static void common__write(struct virtio_device *vdev, u32 off, const u8 *data,
			  u32 len)
{
	struct virtio_queue *vq = NULL;
	u8 img[BAR_COMMON_LEN];
	bool queue_live;

	common__image(vdev, img);
	memcpy(img + off, data, len);
#define TOUCHED(field, size) (off < (field) + (size) && off + len > (field))
	if (vdev->queue_sel < vdev->ops->nr_queues)
		vq = &vdev->queues[vdev->queue_sel];
	/* Ring addresses and size are frozen while the queue is enabled. */
	queue_live = vq && vq->enabled;

	if (TOUCHED(CC_DFSELECT, 4))
		vdev->device_feature_sel = bus__get(img + CC_DFSELECT, 4);
	if (TOUCHED(CC_GFSELECT, 4))
		vdev->driver_feature_sel = bus__get(img + CC_GFSELECT, 4);
	if (TOUCHED(CC_GF, 4) && vdev->driver_feature_sel < 2 &&
	    !(vdev->status & VIRTIO_STATUS_FEATURES_OK)) {
		int shift = 32 * vdev->driver_feature_sel;

		vdev->driver_features &= ~(0xffffffffULL << shift);
		vdev->driver_features |= bus__get(img + CC_GF, 4) << shift;
	}
	if (TOUCHED(CC_MSIX, 2))
		vdev->config_vector = valid_vector(vdev,
						   bus__get(img + CC_MSIX, 2));
	if (TOUCHED(CC_STATUS, 1))
		virtio__set_status(vdev, img[CC_STATUS]);
	if (TOUCHED(CC_Q_SELECT, 2))
		vdev->queue_sel = bus__get(img + CC_Q_SELECT, 2);
	if (!vq)
		return;
	if (TOUCHED(CC_Q_MSIX, 2))
		vq->vector = valid_vector(vdev, bus__get(img + CC_Q_MSIX, 2));
	if (queue_live)
		return;
	if (TOUCHED(CC_Q_SIZE, 2))
		vq->vq.size = bus__get(img + CC_Q_SIZE, 2);
	if (TOUCHED(CC_Q_DESCLO, 8))
		vq->vq.desc_gpa = bus__get(img + CC_Q_DESCLO, 8);
	if (TOUCHED(CC_Q_AVAILLO, 8))
		vq->vq.avail_gpa = bus__get(img + CC_Q_AVAILLO, 8);
	if (TOUCHED(CC_Q_USEDLO, 8))
		vq->vq.used_gpa = bus__get(img + CC_Q_USEDLO, 8);
	if (TOUCHED(CC_Q_ENABLE, 2) && bus__get(img + CC_Q_ENABLE, 2) == 1)
		virtio__enable_queue(vdev, vdev->queue_sel);
#undef TOUCHED
}

static void msix__access(struct virtio_device *vdev, u32 off, u8 *data,
			 u32 len, bool is_write)
{
	u32 idx = off / MSIX_ENTRY_SIZE, reg = off % MSIX_ENTRY_SIZE;
	struct msix_entry *e;
	u32 *field;

	/* PCI 3.0, 6.8.2: table accesses are aligned dwords (or qwords). */
	if (idx >= (u32)nr_vectors(vdev) || reg % 4 || (len != 4 && len != 8)) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	e = &vdev->msix[idx];
	for (u32 done = 0; done < len; done += 4, reg += 4) {
		field = reg == 0 ? &e->addr_lo : reg == 4 ? &e->addr_hi :
			reg == 8 ? &e->data : &e->ctrl;
		if (!is_write) {
			bus__put(data + done, 4, *field);
			continue;
		}
		*field = bus__get(data + done, 4);
		if (reg == 12) {
			e->ctrl &= MSIX_CTRL_MASKED;
			msix__unmasked(vdev);
		} else {
			e->route_stale = true;
		}
	}
	/*
	 * A routed vector follows its message at once: the kernel (vhost)
	 * may signal its irqfd without lkvm seeing the interrupt.
	 */
	if (e->route_stale && e->gsi >= 0)
		msix__route(vdev, e);
}

static void virtio__bar_access(struct kvm_cpu *cpu, u64 off, u8 *data,
			       u32 len, bool is_write, void *opaque)
{
	struct virtio_device *vdev = opaque;
	u32 cfg_size = vdev->ops->config_size;

	(void)cpu;
	if (off >= BAR_NOTIFY && off < BAR_MSIX_TABLE) {
		u32 q = (off - BAR_NOTIFY) / NOTIFY_MULTIPLIER;

		/* No lock: the device thread does the work. */
		if (is_write && q < (u32)vdev->ops->nr_queues)
			virtio__kick(&vdev->queues[q]);
		else if (!is_write)
			memset(data, 0, len);
		return;
	}

	pthread_mutex_lock(&vdev->lock);
	if (off < BAR_COMMON + BAR_COMMON_LEN &&
	    off + len <= BAR_COMMON + BAR_COMMON_LEN) {
		if (is_write) {
			common__write(vdev, off, data, len);
		} else {
			u8 img[BAR_COMMON_LEN];

			common__image(vdev, img);
			memcpy(data, img + off, len);
		}
	} else if (off == BAR_ISR && !is_write) {
		/* Reading the ISR acknowledges it (virtio 1.1, 4.1.4.5). */
		memset(data, 0, len);
		data[0] = vdev->isr;
		vdev->isr = 0;
		if (vdev->intx_level) {
			vdev->intx_level = false;
			pci__irq_line(vdev->kvm, &vdev->pci, 0);
		}
	} else if (off >= BAR_DEVICE && off + len <= BAR_DEVICE + cfg_size) {
		u32 o = off - BAR_DEVICE;

		if (is_write) {
			memcpy(vdev->config + o, data, len);
			if (vdev->ops->config_written)
				vdev->ops->config_written(vdev, o, len);
		} else {
			memcpy(data, vdev->config + o, len);
		}
	} else if (off >= BAR_MSIX_TABLE && off < BAR_MSIX_PBA) {
		msix__access(vdev, off - BAR_MSIX_TABLE, data, len, is_write);
	} else if (off >= BAR_MSIX_PBA && !is_write) {
		u64 pba = 0;

		for (int i = 0; i < nr_vectors(vdev); i++)
			pba |= (u64)vdev->msix[i].pending << i;
		bus__put(data, len, off - BAR_MSIX_PBA < 8 ?
			 pba >> (8 * (off - BAR_MSIX_PBA)) : 0);
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&vdev->lock);
}

/* PCI config writes: MSI-X enable and function mask. */
static void virtio__cfg_written(struct pci_device *pci, u32 off, u32 len)
{
	struct virtio_device *vdev = pci->opaque;
	u16 flags;

	if (off > CAP_MSIX + 3 || off + len <= CAP_MSIX + 2)
		return;
	flags = pci->cfg[CAP_MSIX + 2] | pci->cfg[CAP_MSIX + 3] << 8;
	pthread_mutex_lock(&vdev->lock);
	vdev->msix_enabled = flags & MSIX_FLAGS_ENABLE;
	vdev->msix_masked = flags & MSIX_FLAGS_MASKALL;
	if (vdev->msix_enabled && vdev->intx_level) {
		vdev->intx_level = false;
		pci__irq_line(vdev->kvm, &vdev->pci, 0);
	}
	msix__unmasked(vdev);
	pthread_mutex_unlock(&vdev->lock);
}

/* Follow BAR0 with the ioeventfds of the notification addresses. */
static void virtio__bar_moved(struct pci_device *pci, int bar, u64 addr)
{
	struct virtio_device *vdev = pci->opaque;
	struct kvm *kvm = vdev->kvm;

	if (bar != 0 || !kvm->caps.ioeventfd)
		return;
	for (int i = 0; i < vdev->ops->nr_queues; i++) {
		struct virtio_queue *vq = &vdev->queues[i];
		u64 at = addr ? addr + BAR_NOTIFY + i * NOTIFY_MULTIPLIER : 0;

		if (vq->notify_addr)
			kvm__ioeventfd(kvm, vq->notify_addr, 2, vq->kick_fd,
				       false);
		vq->notify_addr = 0;
		/* On failure the MMIO handler still kicks the queue. */
		if (at && !kvm__ioeventfd(kvm, at, 2, vq->kick_fd, true))
			vq->notify_addr = at;
	}
}

/* ---- PCI function ---- */

static void virtio__add_cap(struct pci_device *pci, u8 at, u8 next, u8 type,
			    u8 len, u32 offset, u32 length)
{
	pci->cfg[at] = PCI_CAP_ID_VNDR;
	pci->cfg[at + 1] = next;
	pci->cfg[at + 2] = len;
	pci->cfg[at + 3] = type;
	pci->cfg[at + 4] = 0;		/* BAR0 */
	pci__set32(pci, at + 8, offset);
	pci__set32(pci, at + 12, length);
}

static void virtio__setup_pci(struct virtio_device *vdev)
{
	const struct virtio_ops *ops = vdev->ops;
	struct pci_device *pci = &vdev->pci;
	bool has_cfg = ops->config_size > 0;

	pci__set16(pci, PCI_VENDOR_ID, VIRTIO_PCI_VENDOR);
	pci__set16(pci, PCI_DEVICE_ID, VIRTIO_PCI_DEVICE_BASE + ops->device_id);
	pci->cfg[PCI_REVISION_ID] = VIRTIO_PCI_REVISION;
	pci->cfg[PCI_CLASS_PROG] = ops->pci_class;
	pci__set16(pci, PCI_CLASS_DEVICE, ops->pci_class >> 8);
	pci__set16(pci, PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR);
	pci__set16(pci, PCI_SUBSYSTEM_ID, VIRTIO_PCI_DEVICE_BASE +
		   ops->device_id);
	pci__set16(pci, PCI_STATUS, PCI_STATUS_CAP_LIST);
	pci->cfg[PCI_CAPABILITY_LIST] = CAP_MSIX;
	pci->cfg[PCI_INTERRUPT_PIN] = 1;		/* INTA# */

	pci->cfg[CAP_MSIX] = PCI_CAP_ID_MSIX;
	pci->cfg[CAP_MSIX + 1] = CAP_COMMON;
	pci__set16(pci, CAP_MSIX + 2, nr_vectors(vdev) - 1);
	pci->wmask[CAP_MSIX + 3] = (MSIX_FLAGS_ENABLE | MSIX_FLAGS_MASKALL) >> 8;
	pci__set32(pci, CAP_MSIX + 4, BAR_MSIX_TABLE);	/* BIR 0 */
	pci__set32(pci, CAP_MSIX + 8, BAR_MSIX_PBA);

	virtio__add_cap(pci, CAP_COMMON, CAP_NOTIFY, VIRTIO_PCI_CAP_COMMON,
			VIRTIO_CAP_LEN, BAR_COMMON, BAR_COMMON_LEN);
	virtio__add_cap(pci, CAP_NOTIFY, CAP_ISR, VIRTIO_PCI_CAP_NOTIFY,
			VIRTIO_NOTIFY_CAP_LEN, BAR_NOTIFY,
			ops->nr_queues * NOTIFY_MULTIPLIER);
	pci__set32(pci, CAP_NOTIFY + 16, NOTIFY_MULTIPLIER);
	virtio__add_cap(pci, CAP_ISR, has_cfg ? CAP_DEVICE : 0,
			VIRTIO_PCI_CAP_ISR, VIRTIO_CAP_LEN, BAR_ISR,
			BAR_ISR_LEN);
	if (has_cfg)
		virtio__add_cap(pci, CAP_DEVICE, 0, VIRTIO_PCI_CAP_DEVICE,
				VIRTIO_CAP_LEN, BAR_DEVICE, ops->config_size);

	pci->bar_size[0] = BAR_SIZE;
	pci->bar_fn[0] = virtio__bar_access;
	pci->opaque = vdev;
	pci->cfg_written = virtio__cfg_written;
	pci->bar_moved = virtio__bar_moved;
}

/* ---- the device thread ---- */

int virtio__add_fd(struct virtio_device *vdev, int fd, short events)
{
	if (vdev->nr_fds == VIRTIO_MAX_FDS)
		die("%s: too many fds for the device thread", vdev->ops->name);
	vdev->fds[vdev->nr_fds] = fd;
	vdev->fd_events[vdev->nr_fds] = events;
	return vdev->nr_fds++;
}

void virtio__wake(struct virtio_device *vdev)
{
	u64 one = 1;

	if (write(vdev->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("%s: cannot wake the device thread", vdev->ops->name);
}

void virtio__set_fd_events(struct virtio_device *vdev, int index,
			   short events)
{
	if (vdev->fd_events[index] == events)
		return;
	vdev->fd_events[index] = events;
	virtio__wake(vdev);
}

static void *virtio__thread(void *arg)
{
	struct virtio_device *vdev = arg;
	int nq = vdev->ops->nr_queues;
	struct pollfd pfd[VIRTIO_MAX_QUEUES + VIRTIO_MAX_FDS + 1];
	char name[16];
	u64 val;

	snprintf(name, sizeof(name), "%s", vdev->ops->name);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		int n = 0;

		pthread_mutex_lock(&vdev->lock);
		/* A queue served in the kernel (vhost) is not ours to poll. */
		for (int i = 0; i < nq; i++)
			pfd[n++] = (struct pollfd){ vdev->queues[i].kick_fd,
				vdev->queues[i].external ? 0 : POLLIN, 0 };
		for (int i = 0; i < vdev->nr_fds; i++)
			pfd[n++] = (struct pollfd){ vdev->fds[i],
						    vdev->fd_events[i], 0 };
		pfd[n++] = (struct pollfd){ vdev->wake_fd, POLLIN, 0 };
		pthread_mutex_unlock(&vdev->lock);

		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die_errno("%s: poll", vdev->ops->name);
		}
		if (pfd[n - 1].revents && read(vdev->wake_fd, &val, 8) < 0)
			continue;
		pthread_mutex_lock(&vdev->lock);
		for (int i = 0; i < nq; i++) {
			if (!pfd[i].revents || vdev->queues[i].external ||
			    read(vdev->queues[i].kick_fd, &val, 8) != 8)
				continue;
			if (virtio__queue_ready(vdev, i) && vdev->ops->notify)
				vdev->ops->notify(vdev, i);
		}
		for (int i = 0; i < vdev->nr_fds; i++) {
			if (pfd[nq + i].revents && vdev->ops->fd_ready)
				vdev->ops->fd_ready(vdev, i);
		}
		pthread_mutex_unlock(&vdev->lock);
	}
	return NULL;
}

int virtio__register(struct kvm *kvm, struct virtio_device *vdev,
		     const struct virtio_ops *ops, void *priv)
{
	int r;

	if (ops->nr_queues > VIRTIO_MAX_QUEUES ||
	    ops->config_size > BAR_DEVICE_MAX ||
	    ops->queue_size > VQ_MAX_SIZE)
		die("%s: more queues or configuration than virtio/pci.c allows",
		    ops->name);
	if (!kvm->caps.signal_msi && !(kvm->caps.irqfd && kvm->caps.irq_routing))
		die("%s: this KVM can deliver no MSI (needs KVM_CAP_SIGNAL_MSI, "
		    "or KVM_CAP_IRQFD with KVM_CAP_IRQ_ROUTING)", ops->name);

	vdev->ops = ops;
	vdev->kvm = kvm;
	vdev->priv = priv;
	vdev->chain = xzalloc(sizeof(*vdev->chain));
	if (ops->config_size && !vdev->config)
		vdev->config = xzalloc(ops->config_size);
	pthread_mutex_init(&vdev->lock, NULL);
	for (int i = 0; i < VIRTIO_MAX_VECTORS; i++)
		vdev->msix[i] = (struct msix_entry){ .ctrl = MSIX_CTRL_MASKED,
						     .gsi = -1, .irqfd = -1 };
	vdev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->wake_fd < 0)
		die_errno("%s: eventfd", ops->name);
	for (int i = 0; i < ops->nr_queues; i++) {
		vdev->queues[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vdev->queues[i].kick_fd < 0)
			die_errno("%s: eventfd", ops->name);
	}
	virtio__reset(vdev);

	virtio__setup_pci(vdev);
	r = pci__register(kvm, &vdev->pci);
	if (r < 0)
		return r;
	if (pthread_create(&vdev->thread, NULL, virtio__thread, vdev))
		die("%s: cannot start the device thread", ops->name);
	pthread_detach(vdev->thread);
	pr_debug("%s at PCI 00:%02x.0, BAR0 %#llx", ops->name, vdev->pci.slot,
		 (unsigned long long)vdev->pci.bar_mapped[0]);
	return 0;
}

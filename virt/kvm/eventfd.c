// SPDX-License-Identifier: GPL-2.0-only
/*
 * irqfd and ioeventfd.
 *
 * An irqfd hangs a wait-queue entry on an eventfd: a signal raises its
 * GSI right from the wakeup (an edge: assert, deassert), or, with a
 * resample fd, asserts the level until the guest acknowledges the
 * interrupt, then deasserts it and signals the resample fd so that
 * userspace can re-check its device.  POLLHUP (the eventfd was closed)
 * detaches the irqfd by itself.
 *
 * An ioeventfd is a device on the PIO or MMIO bus that signals its
 * eventfd on a guest write of the right length (and value, with
 * datamatch) and completes the write without an exit.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "ukvm.h"
#include "eventfd.h"

/* Irqfds of one resampled GSI share one ack notifier. */
struct kvm_irqfd_resampler {
	struct kvm *kvm;
	struct list_head irqfds;	/* RCU list; changed under io.lock */
	struct list_head link;		/* in kvm->io.resamplers */
	struct kvm_irq_ack_notifier notifier;
};

struct kvm_kernel_irqfd {
	struct kvm *kvm;
	struct eventfd_ctx *eventfd;
	u32 gsi;
	wait_queue_entry_t wait;
	wait_queue_head_t *wqh;
	poll_table pt;
	struct work_struct shutdown;
	struct list_head link;		/* in kvm->io.irqfds; empty: inactive */
	struct kvm_irqfd_resampler *resampler;
	struct eventfd_ctx *resamplefd;
	struct list_head resampler_link;
};

/* ---- irqfd ----------------------------------------------------------- */

static void irqfd_raise(struct kvm_kernel_irqfd *irqfd)
{
	struct kvm *kvm = irqfd->kvm;

	if (irqfd->resampler) {
		kvm_set_irq(kvm, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, irqfd->gsi, 1);
	} else {
		kvm_set_irq(kvm, KVM_USERSPACE_IRQ_SOURCE_ID, irqfd->gsi, 1);
		kvm_set_irq(kvm, KVM_USERSPACE_IRQ_SOURCE_ID, irqfd->gsi, 0);
	}
}

/* The guest acknowledged the level: drop it and tell userspace. */
static void irqfd_resampler_ack(struct kvm_irq_ack_notifier *kian)
{
	struct kvm_irqfd_resampler *r =
		container_of(kian, struct kvm_irqfd_resampler, notifier);
	struct kvm_kernel_irqfd *irqfd;

	kvm_set_irq(r->kvm, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID,
		    r->notifier.gsi, 0);
	rcu_read_lock();
	list_for_each_entry_rcu(irqfd, &r->irqfds, resampler_link)
		eventfd_signal(irqfd->resamplefd, 1);
	rcu_read_unlock();
}

static void irqfd_resampler_put(struct kvm_kernel_irqfd *irqfd)
{
	struct kvm_irqfd_resampler *r = irqfd->resampler;
	struct kvm *kvm = r->kvm;

	mutex_lock(&kvm->io.lock);
	list_del_rcu(&irqfd->resampler_link);
	synchronize_rcu();
	if (list_empty(&r->irqfds)) {
		list_del(&r->link);
		kvm_unregister_irq_ack_notifier(kvm, &r->notifier);
		kvm_set_irq(kvm, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID,
			    r->notifier.gsi, 0);
		kfree(r);
	}
	mutex_unlock(&kvm->io.lock);
}

static void irqfd_shutdown(struct work_struct *work)
{
	struct kvm_kernel_irqfd *irqfd =
		container_of(work, struct kvm_kernel_irqfd, shutdown);
	u64 cnt;

	/* After this no wakeup can run for us any more. */
	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	if (irqfd->resampler) {
		irqfd_resampler_put(irqfd);
		eventfd_ctx_put(irqfd->resamplefd);
	}
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
}

/* Called with io.irqfds_lock held. */
static void irqfd_deactivate(struct kvm_kernel_irqfd *irqfd)
{
	list_del_init(&irqfd->link);
	queue_work(irqfd->kvm->io.irqfd_wq, &irqfd->shutdown);
}

/* Runs with the eventfd's wait-queue lock held, interrupts off. */
static int irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			int sync, void *key)
{
	struct kvm_kernel_irqfd *irqfd =
		container_of(wait, struct kvm_kernel_irqfd, wait);
	__poll_t flags = key_to_poll(key);
	struct kvm *kvm = irqfd->kvm;
	unsigned long f;
	u64 cnt;

	if (flags & EPOLLIN) {
		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		irqfd_raise(irqfd);
	}
	if (flags & EPOLLHUP) {
		spin_lock_irqsave(&kvm->io.irqfds_lock, f);
		if (!list_empty(&irqfd->link))
			irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&kvm->io.irqfds_lock, f);
	}
	return 0;
}

static void irqfd_ptable_queue_proc(struct file *file, wait_queue_head_t *wqh,
				    poll_table *pt)
{
	struct kvm_kernel_irqfd *irqfd =
		container_of(pt, struct kvm_kernel_irqfd, pt);

	irqfd->wqh = wqh;
	add_wait_queue_priority(wqh, &irqfd->wait);
}

static int irqfd_resampler_get(struct kvm_kernel_irqfd *irqfd)
{
	struct kvm *kvm = irqfd->kvm;
	struct kvm_irqfd_resampler *r;

	lockdep_assert_held(&kvm->io.lock);
	list_for_each_entry(r, &kvm->io.resamplers, link) {
		if (r->notifier.gsi == irqfd->gsi)
			goto found;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return -ENOMEM;
	r->kvm = kvm;
	INIT_LIST_HEAD(&r->irqfds);
	r->notifier.gsi = irqfd->gsi;
	r->notifier.irq_acked = irqfd_resampler_ack;
	list_add(&r->link, &kvm->io.resamplers);
	kvm_register_irq_ack_notifier(kvm, &r->notifier);
found:
	irqfd->resampler = r;
	list_add_rcu(&irqfd->resampler_link, &r->irqfds);
	return 0;
}

static int kvm_irqfd_wq_get(struct kvm *kvm)
{
	int r = 0;

	mutex_lock(&kvm->io.lock);
	if (!kvm->io.irqfd_wq) {
		kvm->io.irqfd_wq = alloc_workqueue("ukvm-irqfd", 0, 0);
		if (!kvm->io.irqfd_wq)
			r = -ENOMEM;
	}
	mutex_unlock(&kvm->io.lock);
	return r;
}

static int kvm_irqfd_assign(struct kvm *kvm, const struct kvm_irqfd *args)
{
	bool resample = args->flags & KVM_IRQFD_FLAG_RESAMPLE;
	struct kvm_kernel_irqfd *irqfd, *tmp;
	struct fd f;
	__poll_t events;
	int r;

	if (!kvm_arch_irqfd_allowed(kvm, resample))
		return -EINVAL;
	r = kvm_irqfd_wq_get(kvm);
	if (r)
		return r;
	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		return -ENOMEM;
	irqfd->kvm = kvm;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->link);
	INIT_LIST_HEAD(&irqfd->resampler_link);
	INIT_WORK(&irqfd->shutdown, irqfd_shutdown);

	f = fdget(args->fd);
	if (!f.file) {
		r = -EBADF;
		goto err_free;
	}
	irqfd->eventfd = eventfd_ctx_fileget(f.file);
	if (IS_ERR(irqfd->eventfd)) {
		r = PTR_ERR(irqfd->eventfd);
		goto err_fdput;
	}
	if (resample) {
		irqfd->resamplefd = eventfd_ctx_fdget(args->resamplefd);
		if (IS_ERR(irqfd->resamplefd)) {
			r = PTR_ERR(irqfd->resamplefd);
			goto err_eventfd;
		}
		mutex_lock(&kvm->io.lock);
		r = irqfd_resampler_get(irqfd);
		mutex_unlock(&kvm->io.lock);
		if (r)
			goto err_resamplefd;
	}

	init_waitqueue_func_entry(&irqfd->wait, irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, irqfd_ptable_queue_proc);

	spin_lock_irq(&kvm->io.irqfds_lock);
	list_for_each_entry(tmp, &kvm->io.irqfds, link) {
		if (tmp->eventfd == irqfd->eventfd) {
			spin_unlock_irq(&kvm->io.irqfds_lock);
			r = -EBUSY;
			goto err_resampler;
		}
	}
	list_add_tail(&irqfd->link, &kvm->io.irqfds);
	spin_unlock_irq(&kvm->io.irqfds_lock);

	/* A signal that came before us is delivered now. */
	events = vfs_poll(f.file, &irqfd->pt);
	if (events & EPOLLIN)
		irqfd_raise(irqfd);
	fdput(f);
	return 0;

err_resampler:
	if (resample)
		irqfd_resampler_put(irqfd);
err_resamplefd:
	if (resample)
		eventfd_ctx_put(irqfd->resamplefd);
err_eventfd:
	eventfd_ctx_put(irqfd->eventfd);
err_fdput:
	fdput(f);
err_free:
	kfree(irqfd);
	return r;
}

static int kvm_irqfd_deassign(struct kvm *kvm, const struct kvm_irqfd *args)
{
	struct kvm_kernel_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	spin_lock_irq(&kvm->io.irqfds_lock);
	list_for_each_entry_safe(irqfd, tmp, &kvm->io.irqfds, link) {
		if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi)
			irqfd_deactivate(irqfd);
	}
	spin_unlock_irq(&kvm->io.irqfds_lock);
	eventfd_ctx_put(eventfd);
	/* Gone for good before we return (upstream makes the same promise). */
	if (kvm->io.irqfd_wq)
		flush_workqueue(kvm->io.irqfd_wq);
	return 0;
}

long kvm_irqfd(struct kvm *kvm, struct kvm_irqfd __user *argp)
{
	struct kvm_irqfd args;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	if (args.flags & KVM_IRQFD_FLAG_DEASSIGN)
		return kvm_irqfd_deassign(kvm, &args);
	return kvm_irqfd_assign(kvm, &args);
}

/* ---- ioeventfd ------------------------------------------------------- */

struct kvm_ioeventfd_dev {
	struct list_head link;		/* in kvm->io.ioeventfds */
	struct kvm_io_device dev;
	struct eventfd_ctx *eventfd;
	enum kvm_bus bus;
	u64 addr;
	int len;			/* 0: any length */
	bool wildcard;			/* no datamatch */
	u64 datamatch;
};

static u64 ioeventfd_value(const void *val, int len)
{
	switch (len) {
	case 1: return *(const u8 *)val;
	case 2: return *(const u16 *)val;
	case 4: return *(const u32 *)val;
	default: return *(const u64 *)val;
	}
}

static int ioeventfd_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			   u64 addr, int len, const void *val)
{
	struct kvm_ioeventfd_dev *p =
		container_of(dev, struct kvm_ioeventfd_dev, dev);

	if (addr != p->addr || (p->len && len != p->len))
		return -EOPNOTSUPP;
	if (!p->wildcard && ioeventfd_value(val, len) != p->datamatch)
		return -EOPNOTSUPP;
	eventfd_signal(p->eventfd, 1);
	return 0;
}

static const struct kvm_io_device_ops ioeventfd_ops = {
	.write = ioeventfd_write,
};

/* Same place and overlapping match conditions (upstream's rule). */
static bool ioeventfd_collides(const struct kvm_ioeventfd_dev *a,
			       const struct kvm_ioeventfd_dev *b)
{
	return a->bus == b->bus && a->addr == b->addr &&
	       (!a->len || !b->len || a->len == b->len) &&
	       (a->wildcard || b->wildcard || a->datamatch == b->datamatch);
}

static int kvm_ioeventfd_assign(struct kvm *kvm, struct kvm_ioeventfd_dev *p)
{
	struct kvm_ioeventfd_dev *q;
	int r;

	mutex_lock(&kvm->io.lock);
	list_for_each_entry(q, &kvm->io.ioeventfds, link) {
		if (ioeventfd_collides(p, q)) {
			r = -EEXIST;
			goto out;
		}
	}
	p->dev.ops = &ioeventfd_ops;
	r = kvm_io_bus_register_dev(kvm, p->bus, p->addr, p->len, &p->dev);
	if (!r)
		list_add_tail(&p->link, &kvm->io.ioeventfds);
out:
	mutex_unlock(&kvm->io.lock);
	return r;
}

/*
 * As upstream, deassigning checks nothing but the fd: it looks the
 * eventfd up first (EBADF, EINVAL for a non-eventfd), then an exact match
 * (ENOENT); flags and lengths that could never have been assigned simply
 * match nothing.
 */
static int kvm_ioeventfd_deassign(struct kvm *kvm,
				  const struct kvm_ioeventfd *args)
{
	bool wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	enum kvm_bus bus = (args->flags & KVM_IOEVENTFD_FLAG_PIO) ?
			   KVM_PIO_BUS : KVM_MMIO_BUS;
	struct kvm_ioeventfd_dev *q;
	struct eventfd_ctx *eventfd;
	int r = -ENOENT;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	/* Upstream's virtio-ccw bus (never assigned on x86) if not PIO. */
	if (bus == KVM_MMIO_BUS &&
	    (args->flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)) {
		eventfd_ctx_put(eventfd);
		return -ENOENT;
	}
	mutex_lock(&kvm->io.lock);
	list_for_each_entry(q, &kvm->io.ioeventfds, link) {
		if (q->eventfd != eventfd || q->bus != bus ||
		    q->addr != args->addr || q->len != args->len ||
		    q->wildcard != wildcard ||
		    (!q->wildcard && q->datamatch != args->datamatch))
			continue;
		kvm_io_bus_unregister_dev(kvm, q->bus, &q->dev);
		list_del(&q->link);
		eventfd_ctx_put(q->eventfd);
		kfree(q);
		r = 0;
		break;
	}
	mutex_unlock(&kvm->io.lock);
	eventfd_ctx_put(eventfd);
	return r;
}

long kvm_ioeventfd(struct kvm *kvm, struct kvm_ioeventfd __user *argp)
{
	struct kvm_ioeventfd args;
	struct kvm_ioeventfd_dev *p;
	int r;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		return kvm_ioeventfd_deassign(kvm, &args);
	if (args.flags & ~KVM_IOEVENTFD_VALID_FLAG_MASK)
		return -EINVAL;
	/* No virtio-ccw bus on x86. */
	if (args.flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return -EINVAL;
	switch (args.len) {
	case 0: case 1: case 2: case 4: case 8:
		break;
	default:
		return -EINVAL;
	}
	if (args.addr + args.len < args.addr)
		return -EINVAL;
	/* Any-length matching cannot compare data. */
	if (!args.len && (args.flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
		return -EINVAL;

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	p->eventfd = eventfd_ctx_fdget(args.fd);
	if (IS_ERR(p->eventfd)) {
		r = PTR_ERR(p->eventfd);
		kfree(p);
		return r;
	}
	p->bus = (args.flags & KVM_IOEVENTFD_FLAG_PIO) ? KVM_PIO_BUS :
							  KVM_MMIO_BUS;
	p->addr = args.addr;
	p->len = args.len;
	p->wildcard = !(args.flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	p->datamatch = p->wildcard ? 0 : args.datamatch;

	r = kvm_ioeventfd_assign(kvm, p);
	if (!r)
		return 0;
	eventfd_ctx_put(p->eventfd);
	kfree(p);
	return r;
}

/* ---- VM teardown ----------------------------------------------------- */

void kvm_eventfd_release(struct kvm *kvm)
{
	struct kvm_kernel_irqfd *irqfd, *itmp;
	struct kvm_ioeventfd_dev *p, *ptmp;

	spin_lock_irq(&kvm->io.irqfds_lock);
	list_for_each_entry_safe(irqfd, itmp, &kvm->io.irqfds, link)
		irqfd_deactivate(irqfd);
	spin_unlock_irq(&kvm->io.irqfds_lock);
	if (kvm->io.irqfd_wq) {
		flush_workqueue(kvm->io.irqfd_wq);
		destroy_workqueue(kvm->io.irqfd_wq);
	}

	list_for_each_entry_safe(p, ptmp, &kvm->io.ioeventfds, link) {
		list_del(&p->link);
		eventfd_ctx_put(p->eventfd);
		kfree(p);
	}
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_GET_STATS_FD: a read-only file per VM or vCPU holding
 *
 *	struct kvm_stats_header
 *	id string, name_size bytes ("kvm-PID" or "kvm-PID/vcpu-ID")
 *	num_desc descriptors: struct kvm_stats_desc + name_size name bytes
 *	the data: one u64 per counter, in descriptor order
 *
 * (the layout of Documentation/virt/kvm/api.rst, "KVM_GET_STATS_FD", as
 * upstream's reads it).  Everything but the data is constant, so a read
 * builds the image of the requested range and copies it out; pread() at
 * any offset works and a read never blocks.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "ukvm.h"

/* Upstream's descriptor name field (KVM_STATS_NAME_SIZE). */
#define STATS_NAME_SIZE		48

struct stats_def {
	const char *name;
	size_t offset;			/* of the u64 in the stat struct */
	u32 flags;			/* KVM_STATS_TYPE_* | UNIT | BASE */
};

#define VCPU_STAT(n)	{ #n, offsetof(struct kvm_vcpu_stat, n),	\
			  KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | \
			  KVM_STATS_BASE_POW10 }
#define VM_STAT(n)	{ #n, offsetof(struct kvm_vm_stat, n),		\
			  KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | \
			  KVM_STATS_BASE_POW10 }

static const struct stats_def vcpu_stats[] = {
	VCPU_STAT(exits),
	VCPU_STAT(io_exits),
	VCPU_STAT(mmio_exits),
	VCPU_STAT(halt_exits),
	VCPU_STAT(irq_exits),
	VCPU_STAT(irq_window_exits),
	VCPU_STAT(signal_exits),
	VCPU_STAT(hypercalls),
	VCPU_STAT(cpuid_exits),
	VCPU_STAT(msr_exits),
	VCPU_STAT(npf_exits),
	VCPU_STAT(tlb_flush),
};

static const struct stats_def vm_stats[] = {
	VM_STAT(memslot_updates),
};

struct stats_src {
	const struct stats_def *defs;
	u32 nr;
	const void *values;		/* struct kvm_vcpu_stat or kvm_vm_stat */
	char id[STATS_NAME_SIZE];
};

static size_t stats_desc_size(void)
{
	return sizeof(struct kvm_stats_desc) + STATS_NAME_SIZE;
}

static size_t stats_total_size(const struct stats_src *src)
{
	return sizeof(struct kvm_stats_header) + STATS_NAME_SIZE +
	       src->nr * (stats_desc_size() + sizeof(u64));
}

/* The whole file as it reads now. */
static void stats_build(const struct stats_src *src, u8 *buf)
{
	struct kvm_stats_header *hdr = (void *)buf;
	size_t desc_off = sizeof(*hdr) + STATS_NAME_SIZE;
	size_t data_off = desc_off + src->nr * stats_desc_size();
	u32 i;

	hdr->flags = 0;
	hdr->name_size = STATS_NAME_SIZE;
	hdr->num_desc = src->nr;
	hdr->id_offset = sizeof(*hdr);
	hdr->desc_offset = desc_off;
	hdr->data_offset = data_off;
	memcpy(buf + hdr->id_offset, src->id, STATS_NAME_SIZE);

	for (i = 0; i < src->nr; i++) {
		struct kvm_stats_desc *d =
			(void *)(buf + desc_off + i * stats_desc_size());
		u64 v = READ_ONCE(*(const u64 *)((const u8 *)src->values +
						 src->defs[i].offset));

		d->flags = src->defs[i].flags;
		d->exponent = 0;
		d->size = 1;
		d->offset = i * sizeof(u64);
		d->bucket_size = 0;
		strscpy(d->name, src->defs[i].name, STATS_NAME_SIZE);
		memcpy(buf + data_off + i * sizeof(u64), &v, sizeof(v));
	}
}

static ssize_t stats_read(const struct stats_src *src, char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	size_t total = stats_total_size(src);
	ssize_t r;
	u8 *buf;

	if (*ppos < 0)
		return -EINVAL;
	if (*ppos >= total || !len)
		return 0;
	len = min_t(size_t, len, total - *ppos);
	buf = kzalloc(total, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	stats_build(src, buf);
	r = copy_to_user(ubuf, buf + *ppos, len) ? -EFAULT : len;
	kfree(buf);
	if (r > 0)
		*ppos += r;
	return r;
}

/*
 * What a stats file points at.  The id names the process that owns the
 * VM: only it can issue the ioctl (kvm->mm == current->mm).
 */
struct stats_file {
	struct kvm *kvm;
	struct kvm_vcpu *vcpu;		/* NULL for the VM's file */
	char id[STATS_NAME_SIZE];
};

static ssize_t kvm_stats_read(struct file *file, char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	struct stats_file *sf = file->private_data;
	struct stats_src src;

	if (sf->vcpu) {
		src.defs = vcpu_stats;
		src.nr = ARRAY_SIZE(vcpu_stats);
		src.values = &sf->vcpu->stat;
	} else {
		src.defs = vm_stats;
		src.nr = ARRAY_SIZE(vm_stats);
		src.values = &sf->kvm->stat;
	}
	memcpy(src.id, sf->id, sizeof(src.id));
	return stats_read(&src, ubuf, len, ppos);
}

static int kvm_stats_release(struct inode *inode, struct file *file)
{
	struct stats_file *sf = file->private_data;

	kvm_put_kvm(sf->kvm);
	kfree(sf);
	return 0;
}

static const struct file_operations kvm_stats_fops = {
	.owner		= THIS_MODULE,
	.read		= kvm_stats_read,
	.release	= kvm_stats_release,
	.llseek		= noop_llseek,
};

/* The file holds a VM reference: a vCPU lives as long as its VM. */
static long stats_open(struct kvm *kvm, struct kvm_vcpu *vcpu)
{
	struct stats_file *sf;
	struct file *file;
	int fd;

	sf = kzalloc(sizeof(*sf), GFP_KERNEL_ACCOUNT);
	if (!sf)
		return -ENOMEM;
	sf->kvm = kvm;
	sf->vcpu = vcpu;
	if (vcpu)
		snprintf(sf->id, sizeof(sf->id), "kvm-%d/vcpu-%d",
			 task_tgid_nr(current), vcpu->vcpu_id);
	else
		snprintf(sf->id, sizeof(sf->id), "kvm-%d",
			 task_tgid_nr(current));

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		kfree(sf);
		return fd;
	}
	kvm_get_kvm(kvm);
	file = anon_inode_getfile(vcpu ? "kvm-vcpu-stats" : "kvm-vm-stats",
				  &kvm_stats_fops, sf, O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		kvm_put_kvm(kvm);
		kfree(sf);
		return PTR_ERR(file);
	}
	/* Readers use pread() at the offsets the header gives. */
	file->f_mode |= FMODE_PREAD;
	fd_install(fd, file);
	return fd;
}

long kvm_vm_get_stats_fd(struct kvm *kvm)
{
	return stats_open(kvm, NULL);
}

long kvm_vcpu_get_stats_fd(struct kvm_vcpu *vcpu)
{
	return stats_open(vcpu->kvm, vcpu);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * ukvm core: the /dev/kvm device, VM creation and the VM file descriptor.
 */
#define pr_fmt(fmt) "ukvm: " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>

#include "ukvm.h"
#include "eventfd.h"

/* Set once the architecture enabled the hardware on every CPU. */
static bool kvm_hw_ready;

void kvm_get_kvm(struct kvm *kvm)
{
	refcount_inc(&kvm->users);
}

static void kvm_destroy_vm(struct kvm *kvm)
{
	struct mm_struct *mm = kvm->mm;

	kvm_eventfd_release(kvm);
	kvm_arch_pre_destroy_vm(kvm);
	kvm_destroy_vcpus(kvm);
	kvm_arch_destroy_vm(kvm);
	kvm_io_destroy(kvm);
	kvm_coalesced_mmio_free(kvm);
	kvm_free_memslots(kvm);
	kvfree(kvm);
	mmdrop(mm);
}

void kvm_put_kvm(struct kvm *kvm)
{
	if (refcount_dec_and_test(&kvm->users))
		kvm_destroy_vm(kvm);
}

/* Capabilities that do not depend on the architecture. */
static long kvm_generic_check_extension(struct kvm *kvm, long ext)
{
	switch (ext) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_BINARY_STATS_FD:
	case KVM_CAP_COALESCED_PIO:
		return 1;
	case KVM_CAP_COALESCED_MMIO:
		return KVM_COALESCED_MMIO_PAGE_OFFSET;
	case KVM_CAP_NR_VCPUS:
		return min_t(long, num_online_cpus(), KVM_MAX_VCPUS);
	case KVM_CAP_MAX_VCPUS:
		return KVM_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return KVM_MAX_VCPU_IDS;
	case KVM_CAP_NR_MEMSLOTS:
		return KVM_USER_MEM_SLOTS;
	case KVM_CAP_MULTI_ADDRESS_SPACE:
		return KVM_ADDRESS_SPACE_NUM;
	default:
		return kvm_dirty_check_extension(ext);
	}
}

long kvm_vm_check_extension(struct kvm *kvm, long ext)
{
	long r;

	if (kvm_cap_hidden(ext))
		return 0;
	r = kvm_generic_check_extension(kvm, ext);
	return r >= 0 ? r : kvm_arch_check_extension(kvm, ext);
}

static long kvm_vm_ioctl_set_memory_region(struct kvm *kvm, void __user *argp)
{
	struct kvm_userspace_memory_region mem;
	long r;

	if (copy_from_user(&mem, argp, sizeof(mem)))
		return -EFAULT;
	if ((u16)mem.slot >= KVM_USER_MEM_SLOTS)
		return -EINVAL;
	r = kvm_set_memory_region(kvm, &mem);
	if (!r)
		kvm->stat.memslot_updates++;
	return r;
}

static long kvm_vm_ioctl(struct file *filp, unsigned int ioctl,
			 unsigned long arg)
{
	struct kvm *kvm = filp->private_data;

	if (kvm->mm != current->mm)
		return -EIO;
	/* What an older kernel says: unknown cap, unknown VM ioctl. */
	if (kvm_ioctl_hidden(ioctl, arg))
		return ioctl == KVM_ENABLE_CAP ? -EINVAL : -ENOTTY;

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		return kvm_vm_ioctl_create_vcpu(kvm, arg);
	case KVM_SET_USER_MEMORY_REGION:
		return kvm_vm_ioctl_set_memory_region(kvm, (void __user *)arg);
	case KVM_CHECK_EXTENSION:
		return kvm_vm_check_extension(kvm, arg);
	case KVM_IRQFD:
		return kvm_irqfd(kvm, (void __user *)arg);
	case KVM_IOEVENTFD:
		return kvm_ioeventfd(kvm, (void __user *)arg);
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO:
		return kvm_vm_ioctl_coalesced_mmio(kvm, (void __user *)arg,
				ioctl == KVM_REGISTER_COALESCED_MMIO);
	case KVM_GET_STATS_FD:
		return kvm_vm_get_stats_fd(kvm);
	case KVM_GET_DIRTY_LOG:
		return kvm_vm_ioctl_get_dirty_log(kvm, (void __user *)arg);
	case KVM_CLEAR_DIRTY_LOG:
		return kvm_vm_ioctl_clear_dirty_log(kvm, (void __user *)arg);
	case KVM_RESET_DIRTY_RINGS:
		return kvm_vm_ioctl_reset_dirty_rings(kvm);
	case KVM_ENABLE_CAP: {
		/* The dirty-logging capabilities, then the architecture's. */
		long r = kvm_vm_ioctl_enable_dirty_cap(kvm, (void __user *)arg);

		if (r != -ENOIOCTLCMD)
			return r;
		return kvm_arch_vm_ioctl(kvm, ioctl, arg);
	}
	default:
		return kvm_arch_vm_ioctl(kvm, ioctl, arg);
	}
}

static int kvm_vm_release(struct inode *inode, struct file *filp)
{
	kvm_put_kvm(filp->private_data);
	return 0;
}

static const struct file_operations kvm_vm_fops = {
	.owner		= THIS_MODULE,
	.release	= kvm_vm_release,
	.unlocked_ioctl	= kvm_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct kvm *kvm_create_vm(unsigned long type)
{
	struct kvm *kvm;
	int r;

	kvm = kvzalloc(sizeof(*kvm), GFP_KERNEL_ACCOUNT);
	if (!kvm)
		return ERR_PTR(-ENOMEM);

	kvm->mm = current->mm;
	mmgrab(kvm->mm);
	refcount_set(&kvm->users, 1);
	mutex_init(&kvm->lock);
	init_rwsem(&kvm->slots_lock);
	kvm_dirty_init_vm(kvm);
	kvm_io_init(kvm);

	r = kvm_coalesced_mmio_init(kvm);
	if (!r) {
		r = kvm_arch_init_vm(kvm, type);
		if (r)
			kvm_coalesced_mmio_free(kvm);
	}
	if (r) {
		mmdrop(kvm->mm);
		kvfree(kvm);
		return ERR_PTR(r);
	}
	return kvm;
}

static long kvm_dev_ioctl_create_vm(unsigned long type)
{
	struct kvm *kvm;
	int fd;

	if (!READ_ONCE(kvm_hw_ready))
		return -ENODEV;

	kvm = kvm_create_vm(type);
	if (IS_ERR(kvm))
		return PTR_ERR(kvm);

	fd = anon_inode_getfd("kvm-vm", &kvm_vm_fops, kvm, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		kvm_put_kvm(kvm);
	return fd;
}

static long kvm_dev_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVM_API_VERSION;
	case KVM_CREATE_VM:
		return kvm_dev_ioctl_create_vm(arg);
	case KVM_CHECK_EXTENSION:
		return kvm_vm_check_extension(NULL, arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return KVM_VCPU_MMAP_PAGES * PAGE_SIZE;
	default:
		if (kvm_ioctl_hidden(ioctl, arg))
			return -EINVAL;
		return kvm_arch_dev_ioctl(ioctl, arg);
	}
}

static const struct file_operations kvm_chardev_ops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvm_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice kvm_dev = {
	.minor	= KVM_MINOR,
	.name	= "kvm",
	.fops	= &kvm_chardev_ops,
	.mode	= 0666,
};

static int __init ukvm_init(void)
{
	int r;

	/*
	 * Claim /dev/kvm before touching the hardware: if kvm.ko (or anyone
	 * else) owns the minor, its VMs may be running on SVM right now and
	 * we must not reprogram EFER or the host save area under them.
	 * KVM_CREATE_VM fails until the hardware is up.
	 */
	r = misc_register(&kvm_dev);
	if (r == -EBUSY) {
		pr_err("/dev/kvm is already registered by another module (kvm.ko?); not loading\n");
		return r;
	}
	if (r) {
		pr_err("cannot register /dev/kvm: %d\n", r);
		return r;
	}

	r = kvm_arch_init();
	if (r) {
		misc_deregister(&kvm_dev);
		return r;
	}
	WRITE_ONCE(kvm_hw_ready, true);
	return 0;
}

static void __exit ukvm_exit(void)
{
	/* The module cannot be unloaded while any VM or /dev/kvm fd is open. */
	misc_deregister(&kvm_dev);
	kvm_arch_exit();
}

module_init(ukvm_init);
module_exit(ukvm_exit);
MODULE_DESCRIPTION("ukvm: the /dev/kvm ABI on AMD SVM");
MODULE_LICENSE("GPL");

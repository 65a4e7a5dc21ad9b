// SPDX-License-Identifier: GPL-2.0-only
/*
 * ukvm core: vCPU creation, the vCPU file descriptor, its mmap and KVM_RUN.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "ukvm.h"

static vm_fault_t kvm_vcpu_fault(struct vm_fault *vmf)
{
	struct kvm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	void *addr;

	if (vmf->pgoff == 0)
		addr = vcpu->run;
	else if (vmf->pgoff == KVM_PIO_PAGE_OFFSET)
		addr = vcpu->pio_data;
	else if (vmf->pgoff == KVM_COALESCED_MMIO_PAGE_OFFSET)
		addr = page_address(kvm_coalesced_mmio_page(vcpu->kvm));
	else if (kvm_page_in_dirty_ring(vcpu->kvm, vmf->pgoff))
		addr = NULL;	/* the dirty ring */
	else
		return VM_FAULT_SIGBUS;

	vmf->page = addr ? virt_to_page(addr) :
			   kvm_dirty_ring_page(vcpu, vmf->pgoff);
	if (!vmf->page)
		return VM_FAULT_SIGBUS;
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct kvm_vcpu_vm_ops = {
	.fault = kvm_vcpu_fault,
};

static int kvm_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kvm_vcpu *vcpu = file->private_data;
	unsigned long last = vma->vm_pgoff + vma_pages(vma) - 1;

	/* The dirty ring is shared with the kernel and never executed. */
	if ((kvm_page_in_dirty_ring(vcpu->kvm, vma->vm_pgoff) ||
	     kvm_page_in_dirty_ring(vcpu->kvm, last)) &&
	    ((vma->vm_flags & VM_EXEC) || !(vma->vm_flags & VM_SHARED)))
		return -EINVAL;
	vma->vm_ops = &kvm_vcpu_vm_ops;
	return 0;
}

static int kvm_vcpu_release(struct inode *inode, struct file *filp)
{
	struct kvm_vcpu *vcpu = filp->private_data;

	kvm_put_kvm(vcpu->kvm);
	return 0;
}

/* KVM_SET_SIGNAL_MASK: the mask KVM_RUN applies while the guest runs. */
static long kvm_vcpu_set_signal_mask(struct kvm_vcpu *vcpu,
				     struct kvm_signal_mask __user *argp)
{
	struct kvm_signal_mask hdr;
	sigset_t set;

	if (!argp) {
		vcpu->sigset_active = false;
		return 0;
	}
	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.len != sizeof(sigset_t))
		return -EINVAL;
	if (copy_from_user(&set, argp->sigset, sizeof(set)))
		return -EFAULT;
	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigset = set;
	vcpu->sigset_active = true;
	return 0;
}

/*
 * The thread's own mask is kept in current->real_blocked while KVM_RUN
 * runs with KVM_SET_SIGNAL_MASK's: the signal code treats a signal blocked
 * there as blocked for deciding whether it is fatal.  Otherwise a signal
 * with the default action "terminate" that the thread blocks, but the
 * guest's mask lets through (a vCPU kick), kills the whole process the
 * moment it is sent, instead of ending KVM_RUN with EINTR and staying
 * pending for sigwait().
 */
static long kvm_vcpu_run(struct kvm_vcpu *vcpu, unsigned long arg)
{
	long r;

	if (arg)
		return -EINVAL;
	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigset, &current->real_blocked);
	r = kvm_arch_vcpu_run(vcpu);
	if (vcpu->sigset_active) {
		sigprocmask(SIG_SETMASK, &current->real_blocked, NULL);
		sigemptyset(&current->real_blocked);
	}
	return r;
}

static long kvm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	struct kvm_vcpu *vcpu = filp->private_data;
	long r;

	if (vcpu->kvm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	/* Kernel writes for this vCPU go to its dirty ring (dirty_log.c). */
	WRITE_ONCE(vcpu->ioctl_task, current);

	switch (ioctl) {
	case KVM_RUN:
		r = kvm_vcpu_run(vcpu, arg);
		break;
	case KVM_SET_SIGNAL_MASK:
		r = kvm_vcpu_set_signal_mask(vcpu, (void __user *)arg);
		break;
	case KVM_GET_STATS_FD:
		r = kvm_vcpu_get_stats_fd(vcpu);
		break;
	default:
		/* A hidden capability's ioctl is unknown, as on an older kernel. */
		if (kvm_ioctl_hidden(ioctl, arg))
			r = -EINVAL;
		else
			r = kvm_arch_vcpu_ioctl(vcpu, ioctl, arg);
		break;
	}
	WRITE_ONCE(vcpu->ioctl_task, NULL);	/* the dirty ring's owner */
	mutex_unlock(&vcpu->mutex);
	return r;
}

static const struct file_operations kvm_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= kvm_vcpu_release,
	.unlocked_ioctl	= kvm_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= kvm_vcpu_mmap,
	.llseek		= noop_llseek,
};

static struct kvm_vcpu *kvm_vcpu_alloc(struct kvm *kvm, u32 id)
{
	struct kvm_vcpu *vcpu;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return NULL;
	vcpu->run = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vcpu->pio_data = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vcpu->run || !vcpu->pio_data) {
		free_page((unsigned long)vcpu->run);
		free_page((unsigned long)vcpu->pio_data);
		kfree(vcpu);
		return NULL;
	}
	vcpu->kvm = kvm;
	vcpu->vcpu_id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	if (kvm_dirty_ring_alloc(vcpu)) {
		free_page((unsigned long)vcpu->run);
		free_page((unsigned long)vcpu->pio_data);
		kfree(vcpu);
		return NULL;
	}
	return vcpu;
}

static void kvm_vcpu_free(struct kvm_vcpu *vcpu)
{
	kvm_dirty_ring_free(vcpu);
	free_page((unsigned long)vcpu->run);
	free_page((unsigned long)vcpu->pio_data);
	kfree(vcpu);
}

static struct kvm_vcpu *kvm_get_vcpu_by_id(struct kvm *kvm, u32 id)
{
	struct kvm_vcpu *vcpu;
	int i;

	kvm_for_each_vcpu(i, vcpu, kvm)
		if (vcpu->vcpu_id == id)
			return vcpu;
	return NULL;
}

static int kvm_vcpu_publish(struct kvm *kvm, struct kvm_vcpu *vcpu)
{
	int fd;

	if (kvm_get_vcpu_by_id(kvm, vcpu->vcpu_id))
		return -EEXIST;

	vcpu->vcpu_idx = atomic_read(&kvm->online_vcpus);
	kvm_get_kvm(kvm);
	fd = anon_inode_getfd("kvm-vcpu", &kvm_vcpu_fops, vcpu,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		refcount_dec(&kvm->users);
		return fd;
	}
	WRITE_ONCE(kvm->vcpus[vcpu->vcpu_idx], vcpu);
	/* Readers see the pointer before the count that covers it. */
	smp_wmb();
	atomic_inc(&kvm->online_vcpus);
	return fd;
}

int kvm_vm_ioctl_create_vcpu(struct kvm *kvm, u32 id)
{
	struct kvm_vcpu *vcpu;
	int r;

	if (id >= KVM_MAX_VCPU_IDS)
		return -EINVAL;

	mutex_lock(&kvm->lock);
	if (kvm->created_vcpus >= KVM_MAX_VCPUS) {
		mutex_unlock(&kvm->lock);
		return -EINVAL;
	}
	r = kvm_arch_vcpu_precreate(kvm, id);
	if (r) {
		mutex_unlock(&kvm->lock);
		return r;
	}
	kvm->created_vcpus++;
	mutex_unlock(&kvm->lock);

	r = -ENOMEM;
	vcpu = kvm_vcpu_alloc(kvm, id);
	if (!vcpu)
		goto err_count;
	r = kvm_arch_vcpu_create(vcpu);
	if (r)
		goto err_free;

	mutex_lock(&kvm->lock);
	r = kvm_vcpu_publish(kvm, vcpu);
	mutex_unlock(&kvm->lock);
	if (r < 0)
		goto err_destroy;
	return r;

err_destroy:
	kvm_arch_vcpu_destroy(vcpu);
err_free:
	kvm_vcpu_free(vcpu);
err_count:
	mutex_lock(&kvm->lock);
	kvm->created_vcpus--;
	mutex_unlock(&kvm->lock);
	return r;
}

/* Called when the last reference to the VM is gone: no fd, no ioctl left. */
void kvm_destroy_vcpus(struct kvm *kvm)
{
	struct kvm_vcpu *vcpu;
	int i;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		kvm_arch_vcpu_destroy(vcpu);
		kvm_vcpu_free(vcpu);
		kvm->vcpus[i] = NULL;
	}
	atomic_set(&kvm->online_vcpus, 0);
}

static void kvm_ack_request(void *info)
{
	/* The IPI itself forced the vCPU out of guest mode; nothing to do. */
}

/*
 * Set @req on every vCPU and wait until none of them is still running
 * guest code that started before the request was set: a vCPU in guest mode
 * is kicked with an IPI, which it only takes after leaving the guest, and it
 * re-checks its requests with interrupts disabled before entering again.
 */
void kvm_make_all_cpus_request(struct kvm *kvm, int req)
{
	struct kvm_vcpu *vcpu;
	cpumask_var_t cpus;
	int i, me, cpu;

	if (!zalloc_cpumask_var(&cpus, GFP_KERNEL)) {
		/* Fall back to interrupting every CPU. */
		kvm_for_each_vcpu(i, vcpu, kvm)
			kvm_make_request(req, vcpu);
		/* Requests before the IPIs that make vCPUs look at them. */
		smp_mb();
		on_each_cpu(kvm_ack_request, NULL, 1);
		return;
	}

	me = get_cpu();
	kvm_for_each_vcpu(i, vcpu, kvm) {
		kvm_make_request(req, vcpu);
		/* Request before mode: pairs with the vCPU's entry check. */
		smp_mb__after_atomic();
		cpu = READ_ONCE(vcpu->cpu);
		if (READ_ONCE(vcpu->mode) == IN_GUEST_MODE && cpu != me &&
		    cpu >= 0)
			cpumask_set_cpu(cpu, cpus);
	}
	smp_call_function_many(cpus, kvm_ack_request, NULL, 1);
	put_cpu();
	free_cpumask_var(cpus);
}

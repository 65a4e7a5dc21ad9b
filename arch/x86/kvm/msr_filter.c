// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest RDMSR/WRMSR: the MSR filter (KVM_X86_SET_MSR_FILTER) and exits to
 * userspace for MSRs the kernel refuses (KVM_CAP_X86_USER_SPACE_MSR), with
 * upstream's semantics: the filter applies to the guest only, never to
 * KVM_GET/SET_MSRS; x2APIC MSRs are never filtered; an exit leaves RIP on
 * the instruction and the next KVM_RUN completes it with run->msr.data, or
 * injects #GP if userspace set run->msr.error.
 */
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "x86.h"

#define KVM_MSR_EXIT_REASON_VALID_MASK (KVM_MSR_EXIT_REASON_INVAL |	\
					KVM_MSR_EXIT_REASON_UNKNOWN |	\
					KVM_MSR_EXIT_REASON_FILTER)
#define KVM_MSR_FILTER_RANGE_VALID	(KVM_MSR_FILTER_READ |		\
					 KVM_MSR_FILTER_WRITE)
#define X2APIC_MSR_FIRST		0x800
#define X2APIC_MSR_LAST			0x8ff

struct kvm_msr_filter_set_range {
	u32 flags;
	u32 nmsrs;
	u32 base;
	unsigned long *bitmap;
};

/* Immutable once published; replaced whole under RCU. */
struct kvm_msr_filter_set {
	struct rcu_head rcu;
	bool default_allow;
	int count;
	struct kvm_msr_filter_set_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

static void msr_filter_free(struct kvm_msr_filter_set *f)
{
	int i;

	if (!f)
		return;
	for (i = 0; i < f->count; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

/* May the guest access @index (@type: KVM_MSR_FILTER_READ or _WRITE)? */
bool kvm_msr_allowed(struct kvm_vcpu *vcpu, u32 index, u32 type)
{
	struct kvm_msr_filter_set *f;
	bool allowed = true;
	int i;

	if (index >= X2APIC_MSR_FIRST && index <= X2APIC_MSR_LAST)
		return true;

	rcu_read_lock();
	f = rcu_dereference(vcpu->kvm->arch.msr_filter);
	if (f) {
		allowed = f->default_allow;
		for (i = 0; i < f->count; i++) {
			const struct kvm_msr_filter_set_range *r = &f->ranges[i];

			if (index >= r->base && index - r->base < r->nmsrs &&
			    (r->flags & type)) {
				allowed = test_bit(index - r->base, r->bitmap);
				break;
			}
		}
	}
	rcu_read_unlock();
	return allowed;
}

static int msr_filter_add(struct kvm_msr_filter_set *f,
			  const struct kvm_msr_filter_range *user)
{
	struct kvm_msr_filter_set_range *r;
	size_t size;
	void *bitmap;

	if (!user->nmsrs)
		return 0;
	if ((user->flags & ~KVM_MSR_FILTER_RANGE_VALID) || !user->flags)
		return -EINVAL;
	size = BITS_TO_LONGS(user->nmsrs) * sizeof(long);
	if (size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -EINVAL;
	bitmap = memdup_user((const void __user *)user->bitmap, size);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);

	r = &f->ranges[f->count++];
	r->flags = user->flags;
	r->nmsrs = user->nmsrs;
	r->base = user->base;
	r->bitmap = bitmap;
	return 0;
}

long kvm_vm_ioctl_set_msr_filter(struct kvm *kvm, void __user *argp)
{
	struct kvm_msr_filter_set *f, *old;
	struct kvm_msr_filter user;
	bool empty = true;
	int i, r;

	if (copy_from_user(&user, argp, sizeof(user)))
		return -EFAULT;
	if (user.flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(user.ranges); i++)
		empty &= !user.ranges[i].nmsrs;
	/* Denying everything, with no range to allow anything, is refused. */
	if (empty && (user.flags & KVM_MSR_FILTER_DEFAULT_DENY))
		return -EINVAL;

	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->default_allow = !(user.flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < ARRAY_SIZE(user.ranges); i++) {
		r = msr_filter_add(f, &user.ranges[i]);
		if (r) {
			msr_filter_free(f);
			return r;
		}
	}

	mutex_lock(&kvm->lock);
	old = rcu_dereference_protected(kvm->arch.msr_filter,
					lockdep_is_held(&kvm->lock));
	rcu_assign_pointer(kvm->arch.msr_filter, f);
	mutex_unlock(&kvm->lock);
	synchronize_rcu();
	msr_filter_free(old);
	/* MSRs the hardware lets through must now be re-evaluated. */
	kvm_make_all_cpus_request(kvm, KVM_REQ_MSR_FILTER_CHANGED);
	return 0;
}

void kvm_msr_filter_destroy(struct kvm *kvm)
{
	msr_filter_free(rcu_dereference_protected(kvm->arch.msr_filter, 1));
	RCU_INIT_POINTER(kvm->arch.msr_filter, NULL);
}

long kvm_enable_user_space_msr(struct kvm *kvm, u64 mask)
{
	if (mask & ~KVM_MSR_EXIT_REASON_VALID_MASK)
		return -EINVAL;
	kvm->arch.user_space_msr_mask = mask;
	return 0;
}

/* ---- RDMSR/WRMSR exits -------------------------------------------------- */

static u32 msr_exit_reason(int r)
{
	switch (r) {
	case KVM_MSR_RET_UNKNOWN:
		return KVM_MSR_EXIT_REASON_UNKNOWN;
	case KVM_MSR_RET_FILTERED:
		return KVM_MSR_EXIT_REASON_FILTER;
	default:
		return KVM_MSR_EXIT_REASON_INVAL;
	}
}

static int complete_msr_access(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (run->msr.error) {
		kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
		return EXIT_RESUME;
	}
	if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
		kvm_reg_write(vcpu, VCPU_REGS_RAX, (u32)run->msr.data);
		kvm_reg_write(vcpu, VCPU_REGS_RDX, run->msr.data >> 32);
	}
	return kvm_skip_instruction(vcpu, vcpu->arch.msr_next_rip);
}

/* Hand a refused access to userspace if it asked for this kind. */
static bool msr_exit_to_user(struct kvm_vcpu *vcpu, u32 exit_reason,
			     u32 index, u64 data, int r)
{
	struct kvm_run *run = vcpu->run;
	u32 reason = msr_exit_reason(r);

	if (!(vcpu->kvm->arch.user_space_msr_mask & reason))
		return false;
	run->exit_reason = exit_reason;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = index;
	run->msr.data = data;
	vcpu->arch.complete_userspace_io = complete_msr_access;
	return true;
}

int kvm_emulate_rdmsr(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	u32 index = kvm_reg_read(vcpu, VCPU_REGS_RCX);
	u64 data = 0;
	int r;

	if (!kvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_READ))
		r = KVM_MSR_RET_FILTERED;
	else
		r = kvm_get_msr(vcpu, index, &data, false);
	if (!r) {
		kvm_reg_write(vcpu, VCPU_REGS_RAX, (u32)data);
		kvm_reg_write(vcpu, VCPU_REGS_RDX, data >> 32);
		return kvm_skip_instruction(vcpu, next_rip);
	}
	vcpu->arch.msr_next_rip = next_rip;
	if (msr_exit_to_user(vcpu, KVM_EXIT_X86_RDMSR, index, 0, r))
		return EXIT_USER;
	kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
	return EXIT_RESUME;
}

int kvm_emulate_wrmsr(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	u32 index = kvm_reg_read(vcpu, VCPU_REGS_RCX);
	u64 data = (u32)kvm_reg_read(vcpu, VCPU_REGS_RAX) |
		   ((u64)(u32)kvm_reg_read(vcpu, VCPU_REGS_RDX) << 32);
	int r;

	if (!kvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_WRITE))
		r = KVM_MSR_RET_FILTERED;
	else
		r = kvm_set_msr(vcpu, index, data, false);
	if (!r)
		return kvm_skip_instruction(vcpu, next_rip);
	vcpu->arch.msr_next_rip = next_rip;
	if (msr_exit_to_user(vcpu, KVM_EXIT_X86_WRMSR, index, data, r))
		return EXIT_USER;
	kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
	return EXIT_RESUME;
}

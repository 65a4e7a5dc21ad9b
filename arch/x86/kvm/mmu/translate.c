// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_TRANSLATE: a guest linear address through the guest's page tables,
 * with the shared walker (mmu/walk.c), without setting accessed/dirty bits.
 */
#include <linux/uaccess.h>

#include "x86.h"
#include "mmu/translate.h"

static int translate_read_pte(void *opaque, u64 gpa, u64 *pte,
			      unsigned int size)
{
	struct kvm_vcpu *vcpu = opaque;

	*pte = 0;
	return kvm_vcpu_read_guest(vcpu, gpa, pte, size) ? -1 : 0;
}

static int translate_cmpxchg_pte(void *opaque, u64 gpa, u64 old, u64 new,
				 unsigned int size)
{
	return -1;	/* X86_WALK_NO_AD: never called */
}

static const struct x86_walk_ops translate_ops = {
	.read_pte = translate_read_pte,
	.cmpxchg_pte = translate_cmpxchg_pte,
};

/* The vCPU's paging state as the walker wants it. */
void kvm_walk_regs(struct kvm_vcpu *vcpu, struct x86_walk_regs *regs)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 0x80000001, 0);

	*regs = (struct x86_walk_regs) {
		.cr0 = kvm_x86_ops->get_cr(vcpu, 0),
		.cr3 = kvm_x86_ops->get_cr(vcpu, 3),
		.cr4 = kvm_x86_ops->get_cr(vcpu, 4),
		.efer = kvm_x86_ops->get_efer(vcpu),
		.rflags = kvm_get_rflags(vcpu),
		.maxphyaddr = host_maxphyaddr,
		/* CPUID 0x8000_0001 EDX[26]: 1 GiB pages. */
		.gbpages = e && (e->edx & BIT(26)),
	};
}

/*
 * Walk @la through the guest's tables as they are, setting no accessed or
 * dirty bit (X86_WALK_NO_AD is added to @access).  slots_lock held.
 */
enum x86_walk_status kvm_walk_noad(struct kvm_vcpu *vcpu,
				   const struct x86_walk_regs *regs, u64 la,
				   u32 access, struct x86_walk_result *res)
{
	return x86_walk(&translate_ops, vcpu, regs, la, access | X86_WALK_NO_AD,
			res);
}

long kvm_vcpu_ioctl_translate(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct x86_walk_regs regs;
	struct x86_walk_result res;
	struct kvm_translation tr;
	enum x86_walk_status st;

	if (copy_from_user(&tr, argp, sizeof(tr)))
		return -EFAULT;

	kvm_walk_regs(vcpu, &regs);
	down_read(&vcpu->kvm->slots_lock);
	st = kvm_walk_noad(vcpu, &regs, tr.linear_address, 0, &res);
	up_read(&vcpu->kvm->slots_lock);

	/* Upstream reports the page-aligned result plus the offset. */
	tr.valid = st == X86_WALK_OK;
	tr.physical_address = tr.valid ? res.gpa : ~0ULL;
	tr.writeable = tr.valid && res.writable;
	tr.usermode = tr.valid && res.user;
	return copy_to_user(argp, &tr, sizeof(tr)) ? -EFAULT : 0;
}

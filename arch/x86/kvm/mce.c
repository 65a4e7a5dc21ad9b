// SPDX-License-Identifier: GPL-2.0-only
/*
 * Machine-check architecture (SDM vol 3, chapter 15; APM vol 2, 9.3):
 * MCG_CAP/CTL/STATUS and the banks' CTL/STATUS/ADDR/MISC MSRs, which a
 * guest kernel programs at boot and a VMM saves and restores, and the
 * KVM_CAP_MCE ioctls (KVM_X86_GET_MCE_CAP_SUPPORTED, KVM_X86_SETUP_MCE,
 * KVM_X86_SET_MCE) through which a VMM sizes the banks and injects errors.
 * Nothing here touches the host's machine-check hardware.
 */
#include <linux/nospec.h>
#include <linux/uaccess.h>
#include <asm/mce.h>
#include <asm/msr.h>
#include <asm/trapnr.h>

#include "x86.h"

/* MCG_CAP bits a VMM may ask for besides the bank count (7:0). */
#define KVM_MCE_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)
/* HWCR.McStatusWrEn (APM vol 2, 9.3.2): guest writes of MCi_STATUS. */
#define HWCR_MCSTATUSWREN	BIT_ULL(18)

static unsigned int mce_nr_banks(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.mcg_cap & MCG_BANKCNT_MASK;
}

/* A bank MSR of this vCPU: its index into mce_banks[], or -1. */
static int mce_bank_slot(struct kvm_vcpu *vcpu, u32 index)
{
	u32 n = mce_nr_banks(vcpu) * 4;

	if (index < MSR_IA32_MC0_CTL || index >= MSR_IA32_MC0_CTL + n)
		return -1;
	return array_index_nospec(index - MSR_IA32_MC0_CTL, n);
}

void kvm_mce_vcpu_create(struct kvm_vcpu *vcpu)
{
	/* Upstream's default until KVM_X86_SETUP_MCE: every bank, no MCG_CTL. */
	vcpu->arch.mcg_cap = KVM_MAX_MCE_BANKS;
}

/* 0 or KVM_MSR_RET_INVALID; -ENOENT for an MSR that is not ours. */
int kvm_mce_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	int slot;

	switch (index) {
	case MSR_IA32_MCG_CAP:
		*data = vcpu->arch.mcg_cap;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(vcpu->arch.mcg_cap & MCG_CTL_P) && !host)
			return KVM_MSR_RET_INVALID;
		*data = vcpu->arch.mcg_ctl;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*data = vcpu->arch.mcg_status;
		return 0;
	}
	if (index < MSR_IA32_MC0_CTL ||
	    index >= MSR_IA32_MCx_CTL(KVM_MAX_MCE_BANKS))
		return -ENOENT;
	slot = mce_bank_slot(vcpu, index);
	if (slot < 0)
		return KVM_MSR_RET_INVALID;
	*data = vcpu->arch.mce_banks[slot];
	return 0;
}

static bool mce_bank_write_ok(struct kvm_vcpu *vcpu, int slot, u64 data,
			      bool host)
{
	u64 hwcr = 0;

	switch (slot & 3) {
	case 0:
		/*
		 * MCi_CTL: 0 or all ones; old Linux clears bit 10 of bank 4
		 * (K8 GART erratum) and UnixWare bit 0 of bank 1, which a
		 * real CPU accepts, so those two bits are free.
		 */
		return !data || (data | BIT_ULL(10) | 1) == ~0ULL;
	case 1:
		/* MCi_STATUS: a guest writes non-zero only with McStatusWrEn. */
		if (host || !data)
			return true;
		kvm_get_msr(vcpu, MSR_K7_HWCR, &hwcr, true);
		return hwcr & HWCR_MCSTATUSWREN;
	default:
		return true;
	}
}

int kvm_mce_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	int slot;

	switch (index) {
	case MSR_IA32_MCG_CAP:
		/* Read-only (sized by KVM_X86_SETUP_MCE). */
		return KVM_MSR_RET_INVALID;
	case MSR_IA32_MCG_CTL:
		if (!(vcpu->arch.mcg_cap & MCG_CTL_P) && (data || !host))
			return KVM_MSR_RET_INVALID;
		if (data && data != ~0ULL)
			return KVM_MSR_RET_INVALID;
		vcpu->arch.mcg_ctl = data;
		return 0;
	case MSR_IA32_MCG_STATUS:
		vcpu->arch.mcg_status = data;
		return 0;
	}
	if (index < MSR_IA32_MC0_CTL ||
	    index >= MSR_IA32_MCx_CTL(KVM_MAX_MCE_BANKS))
		return -ENOENT;
	slot = mce_bank_slot(vcpu, index);
	if (slot < 0 || !mce_bank_write_ok(vcpu, slot, data, host))
		return KVM_MSR_RET_INVALID;
	vcpu->arch.mce_banks[slot] = data;
	return 0;
}

long kvm_dev_ioctl_get_mce_cap(u64 __user *argp)
{
	u64 cap = KVM_MCE_CAP_SUPPORTED;

	return copy_to_user(argp, &cap, sizeof(cap)) ? -EFAULT : 0;
}

long kvm_vcpu_ioctl_setup_mce(struct kvm_vcpu *vcpu, u64 __user *argp)
{
	unsigned int i, banks;
	u64 cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	banks = cap & MCG_BANKCNT_MASK;
	if (!banks || banks > KVM_MAX_MCE_BANKS)
		return -EINVAL;
	/* The extended register count (23:16) is accepted and ignored. */
	if (cap & ~(KVM_MCE_CAP_SUPPORTED | MCG_BANKCNT_MASK |
		    (u64)MCG_EXT_CNT_MASK))
		return -EINVAL;
	vcpu->arch.mcg_cap = cap;
	/* Reporting starts enabled: MCG_CTL and every MCi_CTL all ones. */
	if (cap & MCG_CTL_P)
		vcpu->arch.mcg_ctl = ~0ULL;
	for (i = 0; i < banks; i++)
		vcpu->arch.mce_banks[i * 4] = ~0ULL;
	return 0;
}

/*
 * Deliver a machine check into bank @mce.bank: an uncorrected error raises
 * #MC (or shuts the vCPU down if one is already in progress or CR4.MCE is
 * clear, SDM vol 3, 15.10.1); a corrected one is only logged.
 */
long kvm_vcpu_ioctl_set_mce(struct kvm_vcpu *vcpu,
			    struct kvm_x86_mce __user *argp)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception;
	unsigned int n = mce_nr_banks(vcpu);
	struct kvm_x86_mce mce;
	u64 *bank;

	if (copy_from_user(&mce, argp, sizeof(mce)))
		return -EFAULT;
	if (mce.bank >= n || !(mce.status & MCI_STATUS_VAL))
		return -EINVAL;
	bank = &vcpu->arch.mce_banks[array_index_nospec(mce.bank, n) * 4];

	if (!(mce.status & MCI_STATUS_UC)) {
		if ((bank[1] & MCI_STATUS_VAL) && (bank[1] & MCI_STATUS_UC)) {
			/* Never overwrite a logged uncorrected error. */
			bank[1] |= MCI_STATUS_OVER;
			return 0;
		}
		if (bank[1] & MCI_STATUS_VAL)
			mce.status |= MCI_STATUS_OVER;
		bank[1] = mce.status;
		bank[2] = mce.addr;
		bank[3] = mce.misc;
		return 0;
	}
	/* Uncorrected: dropped where reporting is disabled. */
	if ((vcpu->arch.mcg_cap & MCG_CTL_P) && vcpu->arch.mcg_ctl != ~0ULL)
		return 0;
	if (bank[0] != ~0ULL)
		return 0;
	if ((vcpu->arch.mcg_status & MCG_STATUS_MCIP) ||
	    !(kvm_x86_ops->get_cr(vcpu, 4) & X86_CR4_MCE)) {
		/* Shutdown, through the run loop's triple-fault path. */
		ex->pending = true;
		ex->vector = DF_VECTOR;
		ex->has_error_code = false;
		ex->error_code = ~0U;
		return 0;
	}
	if (bank[1] & MCI_STATUS_VAL)
		mce.status |= MCI_STATUS_OVER;
	bank[1] = mce.status;
	bank[2] = mce.addr;
	bank[3] = mce.misc;
	vcpu->arch.mcg_status = mce.mcg_status;
	kvm_queue_exception(vcpu, MC_VECTOR);
	return 0;
}

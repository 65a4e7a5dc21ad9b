/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The KVM paravirtual interface (the ABI of <asm/kvm_para.h> and
 * <asm/pvclock-abi.h>): the CPUID leaves, the MSRs a guest enables it
 * with, hypercalls, kvmclock and the guest TSC.
 */
#ifndef UKVM_X86_KVM_PARA_H
#define UKVM_X86_KVM_PARA_H

#include <linux/kvm_para.h>
#include <asm/pvclock-abi.h>

#include "x86.h"

/* kvm_para.c: CPUID 0x40000001 EAX, the PV MSRs, steal time. */
u32 kvm_pv_features(void);
long kvm_pv_enforce_cpuid(struct kvm_vcpu *vcpu, u64 on);
bool kvm_pv_has(struct kvm_vcpu *vcpu, int feature);
/* 0: handled, 1: refused (#GP), -ENOENT: not a paravirtual MSR. */
int kvm_pv_msr_read(struct kvm_vcpu *vcpu, u32 msr, u64 *data);
int kvm_pv_msr_write(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host);
void kvm_pv_vcpu_reset(struct kvm_vcpu *vcpu);
/* Before each entry, in the vCPU thread: kvmclock and steal time. */
void kvm_pv_before_entry(struct kvm_vcpu *vcpu);
int kvm_pv_read_guest(struct kvm *kvm, gpa_t gpa, void *data,
		      unsigned long len);
int kvm_pv_write_guest(struct kvm *kvm, gpa_t gpa, const void *data,
		       unsigned long len);

/* hypercall.c: VMMCALL, and VMCALL rewritten into it. */
int kvm_emulate_hypercall(struct kvm_vcpu *vcpu, unsigned long next_rip);
int kvm_handle_ud(struct kvm_vcpu *vcpu);

/* pvclock.c: kvmclock, KVM_GET/SET_CLOCK, TSC offsets. */
void kvm_clock_init_vm(struct kvm *kvm);
bool kvm_host_tsc_stable(void);
void kvm_clock_update(struct kvm_vcpu *vcpu);
void kvm_clock_write_wall(struct kvm *kvm, gpa_t gpa);
long kvm_clock_vm_ioctl(struct kvm *kvm, unsigned int ioctl,
			void __user *argp);
long kvm_clock_adjust_cap(void);
long kvm_vcpu_kvmclock_ctrl(struct kvm_vcpu *vcpu);
void kvm_tsc_write(struct kvm_vcpu *vcpu, u64 data, bool host);
long kvm_tsc_vcpu_attr(struct kvm_vcpu *vcpu, unsigned int ioctl,
		       void __user *argp);
void kvm_tsc_set_offset(struct kvm_vcpu *vcpu, u64 offset);

#endif /* UKVM_X86_KVM_PARA_H */

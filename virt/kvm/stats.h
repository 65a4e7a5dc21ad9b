/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Binary statistics (KVM_GET_STATS_FD on the VM and vCPU fds): counters
 * kept in struct kvm and struct kvm_vcpu, read through a file in
 * upstream's format (struct kvm_stats_header, then the id string, the
 * descriptors and the u64 data).  Each counter is bumped by a one-line
 * hook where the event happens; only that vCPU's thread writes a vCPU
 * counter, readers may see a slightly old value.
 */
#ifndef UKVM_STATS_H
#define UKVM_STATS_H

#include <linux/types.h>

struct kvm;
struct kvm_vcpu;

/* Cumulative counts of VM exits and the events named after them. */
struct kvm_vcpu_stat {
	u64 exits;			/* every #VMEXIT */
	u64 io_exits;			/* IN/OUT/INS/OUTS intercepts */
	u64 mmio_exits;			/* exits to userspace for MMIO */
	u64 halt_exits;			/* HLT intercepts */
	u64 irq_exits;			/* host interrupts (INTR, NMI, SMI, INIT) */
	u64 irq_window_exits;		/* the guest opened an interrupt window */
	u64 signal_exits;		/* KVM_RUN left for a pending signal */
	u64 hypercalls;			/* VMMCALL */
	u64 cpuid_exits;
	u64 msr_exits;			/* RDMSR/WRMSR intercepts */
	u64 npf_exits;			/* nested page faults */
	u64 tlb_flush;			/* guest TLB flushes before entry */
};

struct kvm_vm_stat {
	u64 memslot_updates;		/* successful KVM_SET_USER_MEMORY_REGION */
};

long kvm_vm_get_stats_fd(struct kvm *kvm);
long kvm_vcpu_get_stats_fd(struct kvm_vcpu *vcpu);

#endif /* UKVM_STATS_H */

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__KVM_CPU_H
#define KVM__KVM_CPU_H

#include <linux/kvm.h>
#include <pthread.h>

#include "kvm/kvm.h"

/* KVM_EXIT_* reasons lkvm counts; larger ones count in the last slot. */
#define LKVM_NR_EXIT_COUNTS	64

struct kvm_cpu {
	int id;
	int fd;
	struct kvm_run *run;
	struct kvm *kvm;
	pthread_t thread;
	bool started;
	/* Returns from KVM_RUN by exit reason (EINTR: KVM_EXIT_INTR). */
	u64 user_exits[LKVM_NR_EXIT_COUNTS];	/* lkvm stat */
};

struct kvm_cpu *kvm_cpu__new(struct kvm *kvm, int id);
void kvm_cpu__start_all(struct kvm *kvm);
void kvm_cpu__join_all(struct kvm *kvm);

/*
 * Complete a pending PIO/MMIO exit without running guest code, so that
 * the register state read afterwards is consistent (used by handlers that
 * change guest registers, like the real-mode BIOS).
 */
void kvm_cpu__complete_io(struct kvm_cpu *cpu);

void kvm_cpu__dump_regs(struct kvm_cpu *cpu);

/* x86/cpu.c */
void kvm_cpu__setup_cpuid(struct kvm_cpu *cpu);
void kvm_cpu__setup_msrs(struct kvm_cpu *cpu);
void kvm_cpu__setup_lapic(struct kvm_cpu *cpu);
void kvm_cpu__setup_boot_regs(struct kvm_cpu *cpu);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/* The guest's page tables walked from the kernel (mmu/translate.c). */
#ifndef UKVM_MMU_TRANSLATE_H
#define UKVM_MMU_TRANSLATE_H

#include "mmu/walk.h"

struct kvm_vcpu;

void kvm_walk_regs(struct kvm_vcpu *vcpu, struct x86_walk_regs *regs);
enum x86_walk_status kvm_walk_noad(struct kvm_vcpu *vcpu,
				   const struct x86_walk_regs *regs, u64 la,
				   u32 access, struct x86_walk_result *res);

#endif

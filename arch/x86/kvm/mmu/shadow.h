/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shadow paging (mmu/shadow.c): the MMU used when the backend runs the
 * guest without nested paging (the SVM backend's npt=0).
 */
#ifndef UKVM_MMU_SHADOW_H
#define UKVM_MMU_SHADOW_H

#include "x86.h"

/* Set once by the backend at load: guests run on shadow page tables. */
extern bool kvm_shadow_paging;

/* Make sure the vCPU has a shadow root for the guest's paging mode. */
int kvm_shadow_load(struct kvm_vcpu *vcpu);
/* Host-physical address of the root the hardware must use as CR3. */
u64 kvm_shadow_root_pa(struct kvm_vcpu *vcpu);
/* Drop every shadow translation of the vCPU (a full guest TLB flush). */
void kvm_shadow_flush(struct kvm_vcpu *vcpu);
/* A CR3 load: drop every translation but the guest's global pages. */
void kvm_shadow_flush_cr3(struct kvm_vcpu *vcpu);
/* INVLPG @la: drop its translations and flush the hardware TLB. */
void kvm_shadow_invlpg(struct kvm_vcpu *vcpu, u64 la);
void kvm_shadow_vcpu_destroy(struct kvm_vcpu *vcpu);
/*
 * A #PF intercepted at linear address @la with hardware error code
 * @error_code: fill the shadow from the guest's tables, reflect the fault
 * to the guest, or emulate an MMIO access.
 */
int kvm_shadow_page_fault(struct kvm_vcpu *vcpu, u64 la, u64 error_code);

#endif /* UKVM_MMU_SHADOW_H */

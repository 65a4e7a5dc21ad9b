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

/*
 * Make sure the vCPU has the shadow root for the guest's CR3 and paging
 * mode (every entry; cheap when nothing changed).
 */
int kvm_shadow_load(struct kvm_vcpu *vcpu);
/* Host-physical address of the root the hardware must use as CR3. */
u64 kvm_shadow_root_pa(struct kvm_vcpu *vcpu);
/* A guest TLB flush: look the root up again before the next entry. */
void kvm_shadow_flush(struct kvm_vcpu *vcpu);
/* A CR3 load: the same, for the new address space. */
void kvm_shadow_flush_cr3(struct kvm_vcpu *vcpu);
/* INVLPG @la: flush the hardware TLB (the shadow is already current). */
void kvm_shadow_invlpg(struct kvm_vcpu *vcpu, u64 la);
void kvm_shadow_vcpu_destroy(struct kvm_vcpu *vcpu);
/*
 * A #PF intercepted at linear address @la with hardware error code
 * @error_code: fill the shadow from the guest's tables, reflect the fault
 * to the guest, or emulate an MMIO access or a write to a guest page
 * table.  @can_emulate is false when the fault is not the instruction's
 * at RIP (it hit while the hardware delivered an event).
 */
int kvm_shadow_page_fault(struct kvm_vcpu *vcpu, u64 la, u64 error_code,
			  bool can_emulate);
/*
 * The emulator wrote @len bytes of guest RAM at @gpa on the guest's
 * behalf: bring the shadow of any guest page table there up to date.
 */
void kvm_shadow_guest_write(struct kvm_vcpu *vcpu, gpa_t gpa,
			    unsigned int len);

/* The VM's memory map changes (mmu/npt.c): hooks for the shadow cache. */
/* Guest-physical mappings go: drop every shadow page. */
void kvm_shadow_zap_all(struct kvm *kvm);
/* Dirty logging write-protects pages: so must every shadow leaf. */
void kvm_shadow_protect_all(struct kvm *kvm);
void kvm_shadow_destroy_vm(struct kvm *kvm);

#endif /* UKVM_MMU_SHADOW_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A guest #PF handler that records the fault and resumes the faulting
 * helper, for tests of paging: guest_try_read() and friends return
 * normally whether or not their access faulted, and pf_count tells.
 *
 * Host: vm_install_pf_handler(vm) puts the handler at IDT vector 14.
 * Guest: GUEST_EXPECT_PF(guest_try_read(va), va, error_code).
 * One vCPU only: the records are single globals.
 */
#ifndef SELFTEST_KVM_GUEST_PF_H
#define SELFTEST_KVM_GUEST_PF_H

#include <stdint.h>

#include "kvm_util.h"

/* Page-fault error code bits (APM vol 2, 8.4.2). */
#define PFEC_P		(1ULL << 0)
#define PFEC_W		(1ULL << 1)
#define PFEC_U		(1ULL << 2)
#define PFEC_RSVD	(1ULL << 3)
#define PFEC_FETCH	(1ULL << 4)

/* Guest-side fault records (the guest's copy of these globals). */
extern volatile uint64_t pf_count, pf_cr2, pf_err, pf_resume;

/* Each returns normally after a #PF; the read then returns 0. */
uint64_t guest_try_read(uint64_t va);
void guest_try_write(uint64_t va, uint64_t val);
/* Call code at @va; a fault fetching its first instruction returns. */
void guest_try_call(uint64_t va);
/* Load FS with @sel (a fault reading the descriptor returns). */
void guest_try_load_fs(uint16_t sel);

/* Host: the handler at vector 14 of the VM's IDT. */
void vm_install_pf_handler(struct kvm_vm *vm);

/* @access must fault with @err at @va: the fault count moves by one. */
#define GUEST_EXPECT_PF(access, va, err)					\
	do {									\
		uint64_t __n = pf_count;					\
		access;								\
		GUEST_ASSERT_EQ(pf_count, __n + 1);				\
		GUEST_ASSERT_EQ(pf_cr2, (va));					\
		GUEST_ASSERT_EQ(pf_err, (err));					\
	} while (0)

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_GUEST_DEBUG with KVM_GUESTDBG_USE_HW_BP: the debugger's DR0-3
 * and DR7 are in force while the guest runs.  A data watchpoint and an
 * instruction breakpoint each give KVM_EXIT_DEBUG (#DB, DR6 naming the
 * breakpoint, the debugger's DR7, the guest's PC); meanwhile the guest's
 * own DR accesses see the guest's values, never the debugger's, and those
 * values are what the guest has once the debugger lets go.
 *
 * QEMU 7.2's TCG (the test bed's L0) does not arm DR0-3 breakpoints that a
 * nested VMRUN loads with DR7 from the VMCB: there the breakpoints never
 * fire, on upstream KVM as on ukvm, and that case is skipped.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <cpuid.h>

#include "kvm_util.h"

#define DB_VECTOR	1
#define DR7_FIXED_1	0x400ULL
#define DR7_L(n)	(1ULL << (2 * (n)))
#define DR7_RW_WRITE(n)	(1ULL << (16 + 4 * (n)))	/* break on writes */
#define DR7_LEN8(n)	(2ULL << (18 + 4 * (n)))
#define DR6_B(n)	(1ULL << (n))
#define GUEST_DR0	0x123000ULL

static volatile uint64_t watched;

/* An instruction breakpoint target: never inlined, at a known address. */
__attribute__((noinline)) static void bp_target(void)
{
	asm volatile("nop");
}

static void guest_code(void)
{
	uint64_t dr0, dr7;

	/* The guest's own debug registers, while the debugger holds them. */
	asm volatile("mov %0, %%dr0" : : "r"(GUEST_DR0));
	asm volatile("mov %%dr0, %0" : "=r"(dr0));
	asm volatile("mov %%dr7, %0" : "=r"(dr7));
	GUEST_SYNC(dr0, dr7);
	watched = 1;		/* data watchpoint: #DB after the write */
	GUEST_SYNC(2);
	bp_target();		/* instruction breakpoint: #DB before it */
	GUEST_SYNC(3);
	GUEST_DONE();
}

static void set_guest_debug(struct kvm_vcpu *vcpu, uint32_t control,
			    const uint64_t *db, uint64_t dr7)
{
	struct kvm_guest_debug dbg;
	int i;

	memset(&dbg, 0, sizeof(dbg));
	dbg.control = control;
	for (i = 0; db && i < 4; i++)
		dbg.arch.debugreg[i] = db[i];
	dbg.arch.debugreg[7] = dr7;
	vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg);
}

static void expect_debug_exit(struct kvm_vcpu *vcpu, uint64_t pc, int bp,
			      uint64_t dr7)
{
	struct kvm_debug_exit_arch *d = &vcpu->run->debug.arch;

	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_DEBUG);
	TEST_ASSERT_EQ(d->exception, DB_VECTOR);
	TEST_ASSERT_EQ(d->pc, pc);
	TEST_ASSERT_EQ(d->dr6 & 0xf, DR6_B(bp));
	TEST_ASSERT_EQ(d->dr7, dr7);
}

static bool host_is_qemu_tcg(void)
{
	uint32_t a, sig[3];

	__cpuid(0x40000000, a, sig[0], sig[1], sig[2]);
	(void)a;
	return !memcmp(sig, "TCGTCGTCGTCG", sizeof(sig));
}

static const uint32_t on = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
static const uint64_t dbg_dr7 = DR7_FIXED_1 | DR7_L(0) | DR7_RW_WRITE(0) |
				DR7_LEN8(0) | DR7_L(1);

static struct kvm_vm *debugged_vm(struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);
	const uint64_t db[4] = {
		(uint64_t)(uintptr_t)&watched, (uint64_t)(uintptr_t)bp_target,
	};
	struct kvm_debugregs dregs;
	struct ucall uc;

	set_guest_debug(*vcpu, on, db, dbg_dr7);
	/* The guest sees its own DR0 and DR7, not the debugger's. */
	vcpu_expect_sync(*vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], GUEST_DR0);
	TEST_ASSERT_EQ(uc.args[1], DR7_FIXED_1);
	vcpu_ioctl(*vcpu, KVM_GET_DEBUGREGS, &dregs);
	TEST_ASSERT_EQ(dregs.db[0], GUEST_DR0);
	TEST_ASSERT_EQ(dregs.dr7, DR7_FIXED_1);
	return vm;
}

/* The debugger lets go: the guest's registers are what they were. */
static void release(struct kvm_vcpu *vcpu)
{
	struct kvm_debugregs dregs;

	set_guest_debug(vcpu, 0, NULL, 0);
	vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, &dregs);
	TEST_ASSERT_EQ(dregs.db[0], GUEST_DR0);
	TEST_ASSERT_EQ(dregs.dr7, DR7_FIXED_1);
}

/* While the debugger holds the DRs, the guest's own accesses are its own. */
static void guest_registers_kept(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = debugged_vm(&vcpu);
	struct ucall uc;

	release(vcpu);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 2);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 3);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void breakpoints_fire(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_regs regs;
	struct ucall uc;

	TEST_REQUIRE(!host_is_qemu_tcg(),
		     "QEMU TCG does not arm breakpoints a nested VMRUN loads");
	vm = debugged_vm(&vcpu);

	/* The watchpoint: a trap, PC past the write. */
	vcpu_run(vcpu);
	vcpu_regs_get(vcpu, &regs);
	expect_debug_exit(vcpu, regs.rip, 0, dbg_dr7);
	TEST_ASSERT_EQ(*(uint64_t *)addr_gva2hva(vm, &watched), 1);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 2);

	/* The instruction breakpoint: a fault, PC on the instruction. */
	vcpu_run(vcpu);
	expect_debug_exit(vcpu, (uint64_t)(uintptr_t)bp_target, 1, dbg_dr7);
	vcpu_regs_get(vcpu, &regs);
	TEST_ASSERT_EQ(regs.rip, (uint64_t)(uintptr_t)bp_target);

	/* Released, the debugger's breakpoint no longer fires. */
	release(vcpu);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 3);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(guest_registers_kept),
		KTAP_CASE(breakpoints_fire),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

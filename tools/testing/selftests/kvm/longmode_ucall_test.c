// SPDX-License-Identifier: GPL-2.0
/*
 * A C function of this test runs in 64-bit mode in the guest and talks to
 * the host through ucalls: arguments in, values out, assertion reports with
 * file, line and values, exceptions reported through the library's IDT.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kvm_util.h"

#define SYNC_ROUNDS 5

static void guest_args_and_syncs(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t i;

	GUEST_SYNC(a, b, c);
	for (i = 0; i < SYNC_ROUNDS; i++)
		GUEST_SYNC(i, a * i + b);
	GUEST_DONE();
}

static void args_and_syncs(void)
{
	const uint64_t a = 0x1122334455667788ULL, b = 7, c = -1ULL;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_args_and_syncs);
	struct ucall uc;
	uint64_t i;

	vcpu_args_set(vcpu, 3, a, b, c);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.nargs, 3);
	TEST_ASSERT_EQ(uc.args[0], a);
	TEST_ASSERT_EQ(uc.args[1], b);
	TEST_ASSERT_EQ(uc.args[2], c);
	for (i = 0; i < SYNC_ROUNDS; i++) {
		vcpu_expect_sync(vcpu, &uc);
		TEST_ASSERT_EQ(uc.nargs, 2);
		TEST_ASSERT_EQ(uc.args[0], i);
		TEST_ASSERT_EQ(uc.args[1], a * i + b);
	}
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* The guest really is in 64-bit mode with the library's setup. */
static void guest_check_mode(void)
{
	GUEST_ASSERT_EQ(get_cs(), GDT_SEL_CODE64);
	GUEST_ASSERT(get_cr0() & X86_CR0_PG);
	GUEST_ASSERT(get_cr4() & X86_CR4_PAE);
	GUEST_ASSERT_EQ(get_cr3(), VM_PML4_GPA);
	GUEST_ASSERT(rdmsr(MSR_EFER) & EFER_LMA);
	/* 64-bit arithmetic on a value that does not fit 32 bits. */
	GUEST_SYNC((uint64_t)(uintptr_t)&guest_check_mode, 0xfedcba9876543210ULL >> 4);
	GUEST_DONE();
}

static void long_mode_active(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_check_mode);
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], (uint64_t)(uintptr_t)&guest_check_mode);
	TEST_ASSERT_EQ(uc.args[1], 0x0fedcba987654321ULL);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

enum { ASSERT_LINE = __LINE__ + 3 };
static void guest_failing_assert(uint64_t x)
{
	GUEST_ASSERT_EQ(x + 1, 0x43);
	GUEST_DONE();
}

/* A failed GUEST_ASSERT_EQ reaches the host with file, line, text, values. */
static void assert_reported(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_failing_assert);
	struct ucall uc;
	char buf[512];

	vcpu_args_set(vcpu, 1, 0x100);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_ASSERT);
	ktap_print("host got: %s", ucall_str(&uc, buf, sizeof(buf)));
	TEST_ASSERT(host_string_ok(uc.file) && !strcmp(uc.file, __FILE__),
		    "file %p", uc.file);
	TEST_ASSERT_EQ(uc.line, ASSERT_LINE);
	TEST_ASSERT(host_string_ok(uc.text) && !strcmp(uc.text, "x + 1 == 0x43"),
		    "text %p", uc.text);
	TEST_ASSERT_EQ(uc.nargs, 2);
	TEST_ASSERT_EQ(uc.args[0], 0x101);
	TEST_ASSERT_EQ(uc.args[1], 0x43);
	kvm_vm_free(vm);
}

static uint64_t shared_value;

static void guest_globals(void)
{
	GUEST_SYNC(shared_value);
	shared_value = shared_value * 3;
	GUEST_DONE();
}

/* Globals are copies: synced explicitly in both directions. */
static void globals_synced(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_globals);
	struct ucall uc;

	shared_value = 0x1234;
	sync_global_to_guest(vm, shared_value);
	shared_value = 0;
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0x1234);
	vcpu_expect_done(vcpu);
	sync_global_from_guest(vm, shared_value);
	TEST_ASSERT_EQ(shared_value, 0x1234 * 3);
	kvm_vm_free(vm);
}

static void guest_two_vcpus(uint64_t id)
{
	GUEST_SYNC(id, (uint64_t)(uintptr_t)__builtin_frame_address(0));
	GUEST_DONE();
}

/* Two vCPUs of one VM run the same function on their own stacks. */
static void two_vcpus(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);
	struct kvm_vcpu *v0 = vm_vcpu_add(vm, 0, guest_two_vcpus);
	struct kvm_vcpu *v1 = vm_vcpu_add(vm, 1, guest_two_vcpus);
	struct ucall u0, u1;

	vcpu_args_set(v0, 1, 100);
	vcpu_args_set(v1, 1, 101);
	vcpu_expect_sync(v1, &u1);
	vcpu_expect_sync(v0, &u0);
	TEST_ASSERT_EQ(u0.args[0], 100);
	TEST_ASSERT_EQ(u1.args[0], 101);
	TEST_ASSERT_NE(u0.args[1], u1.args[1]);
	vcpu_expect_done(v0);
	vcpu_expect_done(v1);
	kvm_vm_free(vm);
}

static void guest_ud2(void)
{
	asm volatile("ud2");
	GUEST_DONE();
}

/* An exception in the guest is reported with vector and RIP. */
static void exception_reported(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_ud2);
	struct kvm_regs regs;
	struct ucall uc;
	char buf[512];

	vcpu_regs_get(vcpu, &regs);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_EXCEPTION);
	ktap_print("host got: %s", ucall_str(&uc, buf, sizeof(buf)));
	TEST_ASSERT_EQ(uc.args[0], UD_VECTOR);
	TEST_ASSERT_EQ(uc.args[1], 0);
	/* The faulting RIP is within the guest function, at or after its entry. */
	TEST_ASSERT_GE(uc.args[2], regs.rip);
	TEST_ASSERT_LE(uc.args[2], regs.rip + 64);
	TEST_ASSERT_EQ(*(uint16_t *)addr_gpa2hva(vm, uc.args[2]), 0x0b0f);
	kvm_vm_free(vm);
}

static void guest_returns(void)
{
}

static void return_reported(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_returns);
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_RETURNED);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(args_and_syncs),
		KTAP_CASE(long_mode_active),
		KTAP_CASE(assert_reported),
		KTAP_CASE(globals_synced),
		KTAP_CASE(two_vcpus),
		KTAP_CASE(exception_reported),
		KTAP_CASE(return_reported),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

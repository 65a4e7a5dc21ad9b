// SPDX-License-Identifier: GPL-2.0
/*
 * A fault that cannot be delivered, then a double fault that cannot be
 * delivered either, shuts the processor down (SDM vol 3, 6.15, interrupt 8):
 * KVM reports KVM_EXIT_SHUTDOWN.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kvm_util.h"

#define PORT_MARK 0x530

static void guest_ud_without_idt(void)
{
	asm volatile("ud2");
	GUEST_DONE();
}

/* 64-bit mode, IDT limit 0: #UD, #GP on delivery, #DF, shutdown. */
static void long_mode_no_idt(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_ud_without_idt);
	struct kvm_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.idt.limit = 0;
	vcpu_sregs_set(vcpu, &sregs);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	kvm_vm_free(vm);
}

static void guest_touch_unmapped(uint64_t va)
{
	*(volatile uint64_t *)va = 1;
	GUEST_DONE();
}

/* 64-bit mode, IDT present but the stack not mapped: #PF cannot push. */
static void long_mode_no_stack(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_touch_unmapped);
	struct kvm_regs regs;

	/* 5 GiB is outside the identity map: the write page-faults. */
	vcpu_args_set(vcpu, 1, 5ULL << 30);
	vcpu_regs_get(vcpu, &regs);
	regs.rsp = 6ULL << 30;
	vcpu_regs_set(vcpu, &regs);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	kvm_vm_free(vm);
}

/* Real mode, IVT limit 0: INT3 cannot be delivered. */
asm(".pushsection .rodata.guest16, \"a\"\n"
    ".code16\n"
    "rm_int3_start:\n"
    "	mov $0x1, %al\n"
    "	mov $0x530, %dx\n"
    "	out %al, %dx\n"
    "	int3\n"
    "	mov $0x2, %al\n"
    "	out %al, %dx\n"
    "	hlt\n"
    "rm_int3_end:\n"
    ".code64\n"
    ".popsection\n");
extern const uint8_t rm_int3_start[], rm_int3_end[];

static void real_mode_no_ivt(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_real_mode(&vcpu, rm_int3_start,
						rm_int3_end - rm_int3_start);
	struct kvm_sregs sregs;

	vcpu_sregs_get(vcpu, &sregs);
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	vcpu_sregs_set(vcpu, &sregs);

	/* The guest is running: its first OUT arrives. */
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_MARK);
	TEST_ASSERT_EQ(*(uint8_t *)vcpu_io_data(vcpu), 1);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(long_mode_no_idt),
		KTAP_CASE(long_mode_no_stack),
		KTAP_CASE(real_mode_no_ivt),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

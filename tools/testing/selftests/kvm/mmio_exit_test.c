// SPDX-License-Identifier: GPL-2.0
/*
 * A 64-bit guest touches guest physical addresses that no memslot backs:
 * each access is a KVM_EXIT_MMIO with the right address, length, direction
 * and (for writes) data; read data supplied by the host is completed into
 * the guest's register on the next KVM_RUN.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kvm_util.h"

#define MMIO_GPA 0xc0000000ULL	/* 3 GiB: identity mapped, no memslot */

static inline void mmio_write8(uint64_t a, uint8_t v)
{
	asm volatile("movb %b0, (%1)" : : "q"(v), "r"(a) : "memory");
}

static inline void mmio_write16(uint64_t a, uint16_t v)
{
	asm volatile("movw %w0, (%1)" : : "r"(v), "r"(a) : "memory");
}

static inline void mmio_write32(uint64_t a, uint32_t v)
{
	asm volatile("movl %k0, (%1)" : : "r"(v), "r"(a) : "memory");
}

static inline void mmio_write64(uint64_t a, uint64_t v)
{
	asm volatile("movq %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

static inline uint8_t mmio_read8(uint64_t a)
{
	uint8_t v;

	asm volatile("movb (%1), %b0" : "=q"(v) : "r"(a) : "memory");
	return v;
}

static inline uint16_t mmio_read16(uint64_t a)
{
	uint16_t v;

	asm volatile("movw (%1), %w0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static inline uint32_t mmio_read32(uint64_t a)
{
	uint32_t v;

	asm volatile("movl (%1), %k0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static inline uint64_t mmio_read64(uint64_t a)
{
	uint64_t v;

	asm volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static void guest_writes(void)
{
	mmio_write8(MMIO_GPA + 0x0, 0x11);
	mmio_write16(MMIO_GPA + 0x2, 0x2233);
	mmio_write32(MMIO_GPA + 0x4, 0x44556677);
	mmio_write64(MMIO_GPA + 0x8, 0x8899aabbccddeeffULL);
	/* An immediate operand, and an address in another page. */
	asm volatile("movl $0xcafef00d, (%0)" : : "r"(MMIO_GPA + 0x1ffc) : "memory");
	GUEST_DONE();
}

static void expect_mmio(struct kvm_vcpu *vcpu, uint64_t gpa, uint32_t len,
			uint8_t is_write)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(run->mmio.phys_addr, gpa);
	TEST_ASSERT_EQ(run->mmio.len, len);
	TEST_ASSERT_EQ(run->mmio.is_write, is_write);
}

static uint64_t mmio_data(struct kvm_vcpu *vcpu)
{
	uint64_t v = 0;

	memcpy(&v, vcpu->run->mmio.data, vcpu->run->mmio.len);
	return v;
}

static void writes(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_writes);

	expect_mmio(vcpu, MMIO_GPA + 0x0, 1, 1);
	TEST_ASSERT_EQ(mmio_data(vcpu), 0x11);
	expect_mmio(vcpu, MMIO_GPA + 0x2, 2, 1);
	TEST_ASSERT_EQ(mmio_data(vcpu), 0x2233);
	expect_mmio(vcpu, MMIO_GPA + 0x4, 4, 1);
	TEST_ASSERT_EQ(mmio_data(vcpu), 0x44556677);
	expect_mmio(vcpu, MMIO_GPA + 0x8, 8, 1);
	TEST_ASSERT_EQ(mmio_data(vcpu), 0x8899aabbccddeeffULL);
	expect_mmio(vcpu, MMIO_GPA + 0x1ffc, 4, 1);
	TEST_ASSERT_EQ(mmio_data(vcpu), 0xcafef00d);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void guest_reads(void)
{
	uint64_t v8, v16, v32, v64, zx;

	v8 = mmio_read8(MMIO_GPA + 0x10);
	v16 = mmio_read16(MMIO_GPA + 0x12);
	v32 = mmio_read32(MMIO_GPA + 0x14);
	v64 = mmio_read64(MMIO_GPA + 0x18);
	/* movzbl: a 1-byte read zero-extended into a 32-bit register. */
	asm volatile("movq $-1, %0\n\tmovzbl (%1), %k0" : "=&r"(zx)
		     : "r"(MMIO_GPA + 0x20) : "memory");
	GUEST_SYNC(v8, v16, v32, v64, zx);
	GUEST_DONE();
}

static void reads(void)
{
	static const uint64_t vals[] = {
		0xa5, 0xb6c7, 0xd8e9fa0b, 0x0123456789abcdefULL, 0xfe,
	};
	static const struct { uint64_t off; uint32_t len; } acc[] = {
		{ 0x10, 1 }, { 0x12, 2 }, { 0x14, 4 }, { 0x18, 8 }, { 0x20, 1 },
	};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_reads);
	struct ucall uc;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(acc); i++) {
		expect_mmio(vcpu, MMIO_GPA + acc[i].off, acc[i].len, 0);
		/* Junk above len must not reach the guest. */
		memset(vcpu->run->mmio.data, 0xee, sizeof(vcpu->run->mmio.data));
		memcpy(vcpu->run->mmio.data, &vals[i], acc[i].len);
	}
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.nargs, 5);
	for (i = 0; i < 5; i++) {
		ktap_print("read %u: guest got 0x%llx", i, (unsigned long long)uc.args[i]);
		TEST_ASSERT_EQ(uc.args[i], vals[i]);
	}
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void guest_boundary(uint64_t slot_end)
{
	uint64_t v;

	mmio_write8(slot_end - 1, 0x5c);	/* last byte of memslot 0 */
	GUEST_SYNC(0);
	mmio_write8(slot_end, 0x5d);		/* first byte after it */
	v = mmio_read32(slot_end + 0x100);
	GUEST_SYNC(v);
	GUEST_DONE();
}

/* Memory ends exactly where memslot 0 ends; MMIO starts there. */
static void slot_boundary(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_boundary);
	uint64_t end = vm->regions[0].gpa + vm->regions[0].size;
	uint32_t v = 0x600df00d;
	struct ucall uc;

	vcpu_args_set(vcpu, 1, end);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(*(uint8_t *)addr_gpa2hva(vm, end - 1), 0x5c);
	expect_mmio(vcpu, end, 1, 1);
	TEST_ASSERT_EQ(mmio_data(vcpu), 0x5d);
	expect_mmio(vcpu, end + 0x100, 4, 0);
	memcpy(vcpu->run->mmio.data, &v, 4);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], v);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(writes),
		KTAP_CASE(reads),
		KTAP_CASE(slot_boundary),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

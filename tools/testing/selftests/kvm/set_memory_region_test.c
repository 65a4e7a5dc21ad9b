// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_USER_MEMORY_REGION: add, delete, move, resize, overlap,
 * alignment, slot and size limits, flags, each with upstream's errno, and
 * what a running guest sees after each change.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

#define SZ_2M (2ULL << 20)
#define TEST_SLOT 10
#define TEST_GPA 0xc0000000ULL	/* 3 GiB, inside the guest's identity map */
#define TEST_SIZE SZ_2M
#define TEST_MOVED_GPA 0xd0000000ULL

/* Raw ioctl with errno, on an anonymous mapping of `size` bytes. */
static int set_region(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
		      uint64_t gpa, uint64_t size, uint64_t hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = hva,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

static uint64_t map_anon(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	return (uint64_t)(uintptr_t)p;
}

static void add_and_delete(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	uint64_t hva = map_anon(TEST_SIZE);

	TEST_ASSERT_EQ(set_region(vm, 0, 0, 0, TEST_SIZE, hva), 0);
	/* Setting the same slot again unchanged is a no-op success. */
	TEST_ASSERT_EQ(set_region(vm, 0, 0, 0, TEST_SIZE, hva), 0);
	/* Size 0 deletes. */
	TEST_ASSERT_EQ(set_region(vm, 0, 0, 0, 0, hva), 0);
	/* Deleting a slot that does not exist. */
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, 0, hva), EINVAL);
	TEST_ASSERT_ERRNO(set_region(vm, 7, 0, 0, 0, 0), EINVAL);
	/* The slot number and the range are free again. */
	TEST_ASSERT_EQ(set_region(vm, 0, 0, 0, TEST_SIZE, hva), 0);
	TEST_ASSERT_EQ(set_region(vm, 1, 0, TEST_SIZE, TEST_SIZE, hva), 0);
	kvm_vm_free(vm);
}

static void alignment(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	uint64_t hva = map_anon(TEST_SIZE + PAGE_SIZE);

	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, TEST_SIZE - 1, hva), EINVAL);
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, PAGE_SIZE + 0x800, hva), EINVAL);
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0x800, TEST_SIZE, hva), EINVAL);
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 1, TEST_SIZE, hva), EINVAL);
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, TEST_SIZE, hva + 1), EINVAL);
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, TEST_SIZE, hva + 0x800), EINVAL);
	/* Page alignment is all that is needed, for all three. */
	TEST_ASSERT_EQ(set_region(vm, 0, 0, PAGE_SIZE, PAGE_SIZE, hva + PAGE_SIZE), 0);
	kvm_vm_free(vm);
}

static void invalid_flags(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	uint64_t hva = map_anon(TEST_SIZE);
	unsigned int bit;

	for (bit = 2; bit < 32; bit++)
		TEST_ASSERT_ERRNO(set_region(vm, 0, 1U << bit, 0, TEST_SIZE, hva), EINVAL);
	TEST_ASSERT_EQ(set_region(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, TEST_SIZE, hva), 0);
	if (kvm_check_cap(KVM_CAP_READONLY_MEM))
		TEST_ASSERT_EQ(set_region(vm, 1, KVM_MEM_READONLY, TEST_SIZE,
					  TEST_SIZE, hva), 0);
	kvm_vm_free(vm);
}

static void slot_limits(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	int nr = vm_check_cap(vm, KVM_CAP_NR_MEMSLOTS);
	int spaces = kvm_check_cap(KVM_CAP_MULTI_ADDRESS_SPACE);
	uint64_t hva = map_anon(4 * PAGE_SIZE);
	int i;

	ktap_print("NR_MEMSLOTS %d, address spaces %d", nr, spaces);
	TEST_ASSERT_GE(nr, 32);
	TEST_ASSERT_EQ(set_region(vm, nr - 1, 0, 0, PAGE_SIZE, hva), 0);
	TEST_ASSERT_ERRNO(set_region(vm, nr, 0, PAGE_SIZE, PAGE_SIZE, hva), EINVAL);
	TEST_ASSERT_ERRNO(set_region(vm, 0xffff, 0, PAGE_SIZE, PAGE_SIZE, hva), EINVAL);

	/* Bits 16+ of the slot select an address space; past the last: EINVAL. */
	if (spaces < 1)
		spaces = 1;
	TEST_ASSERT_ERRNO(set_region(vm, (uint32_t)spaces << 16, 0, PAGE_SIZE,
				     PAGE_SIZE, hva), EINVAL);
	if (spaces > 1)
		TEST_ASSERT_EQ(set_region(vm, 1U << 16, 0, 0, PAGE_SIZE, hva), 0);

	/* Many slots at once, one page each. */
	for (i = 0; i < 64; i++)
		TEST_ASSERT_EQ(set_region(vm, i, 0, (uint64_t)(i + 1) * SZ_2M,
					  PAGE_SIZE, hva), 0);
	kvm_vm_free(vm);
}

static void size_and_address_limits(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	uint64_t hva = map_anon(TEST_SIZE);
	uint64_t big = 1ULL << 30;
	void *reserve;

	/* GPA + size wrapping around 2^64. */
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, -PAGE_SIZE, 2 * PAGE_SIZE, hva), EINVAL);
	/* GPA beyond any MAXPHYADDR (52 bits). */
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 1ULL << 52, PAGE_SIZE, hva), EINVAL);
	/* 2^31 pages is more than one slot may hold. */
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, 1ULL << 43, hva), EINVAL);
	/* A host range that is not user memory. */
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, PAGE_SIZE, 0xffff800000000000ULL), EINVAL);
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, 2 * PAGE_SIZE,
				     0x00007ffffffff000ULL), EINVAL);

	/* A large slot over reserved, never touched address space is fine. */
	reserve = mmap(NULL, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	TEST_ASSERT(reserve != MAP_FAILED, "mmap: %s", strerror(errno));
	TEST_ASSERT_EQ(set_region(vm, 0, 0, 4ULL << 30, big, (uintptr_t)reserve), 0);
	TEST_ASSERT_EQ(set_region(vm, 0, 0, 4ULL << 30, 0, (uintptr_t)reserve), 0);
	kvm_vm_free(vm);
}

static void overlap(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	uint64_t hva = map_anon(4 * TEST_SIZE);
	const uint64_t base = 0x10000000ULL;

	TEST_ASSERT_EQ(set_region(vm, 0, 0, base, 2 * TEST_SIZE, hva), 0);
	/* Same range, inside, straddling either end, covering: EEXIST. */
	TEST_ASSERT_ERRNO(set_region(vm, 1, 0, base, 2 * TEST_SIZE, hva), EEXIST);
	TEST_ASSERT_ERRNO(set_region(vm, 1, 0, base + PAGE_SIZE, PAGE_SIZE, hva), EEXIST);
	TEST_ASSERT_ERRNO(set_region(vm, 1, 0, base - PAGE_SIZE, 2 * PAGE_SIZE, hva), EEXIST);
	TEST_ASSERT_ERRNO(set_region(vm, 1, 0, base + 2 * TEST_SIZE - PAGE_SIZE,
				     2 * PAGE_SIZE, hva), EEXIST);
	TEST_ASSERT_ERRNO(set_region(vm, 1, 0, base - TEST_SIZE, 4 * TEST_SIZE, hva), EEXIST);
	/* Touching at either end is not overlapping. */
	TEST_ASSERT_EQ(set_region(vm, 1, 0, base - PAGE_SIZE, PAGE_SIZE, hva), 0);
	TEST_ASSERT_EQ(set_region(vm, 2, 0, base + 2 * TEST_SIZE, PAGE_SIZE, hva), 0);
	/* Moving a slot onto another is refused too. */
	TEST_ASSERT_ERRNO(set_region(vm, 2, 0, base + TEST_SIZE, PAGE_SIZE, hva), EEXIST);
	/* The same host memory may back two slots. */
	TEST_ASSERT_EQ(set_region(vm, 3, 0, 0, 2 * TEST_SIZE, hva), 0);
	kvm_vm_free(vm);
}

/* What can change in place: GPA (move) and LOG_DIRTY_PAGES; nothing else. */
static void modify_rules(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	uint64_t hva = map_anon(2 * TEST_SIZE), hva2 = map_anon(TEST_SIZE);

	TEST_ASSERT_EQ(set_region(vm, 0, 0, 0, TEST_SIZE, hva), 0);
	/* Resize in place: EINVAL (delete and re-add instead). */
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, 2 * TEST_SIZE, hva), EINVAL);
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, TEST_SIZE / 2, hva), EINVAL);
	/* Other host memory: EINVAL. */
	TEST_ASSERT_ERRNO(set_region(vm, 0, 0, 0, TEST_SIZE, hva2), EINVAL);
	/* Toggling READONLY: EINVAL. */
	if (kvm_check_cap(KVM_CAP_READONLY_MEM))
		TEST_ASSERT_ERRNO(set_region(vm, 0, KVM_MEM_READONLY, 0, TEST_SIZE, hva),
				  EINVAL);
	/* Dirty logging on and off, then a move. */
	TEST_ASSERT_EQ(set_region(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, TEST_SIZE, hva), 0);
	TEST_ASSERT_EQ(set_region(vm, 0, 0, 0, TEST_SIZE, hva), 0);
	TEST_ASSERT_EQ(set_region(vm, 0, 0, 4 * TEST_SIZE, TEST_SIZE, hva), 0);
	/* Resize = delete + add. */
	TEST_ASSERT_EQ(set_region(vm, 0, 0, 4 * TEST_SIZE, 0, hva), 0);
	TEST_ASSERT_EQ(set_region(vm, 0, 0, 4 * TEST_SIZE, 2 * TEST_SIZE, hva), 0);
	kvm_vm_free(vm);
}

/* The guest reads `addr` until told to stop; each read is reported. */
static void guest_read_loop(uint64_t addr)
{
	for (;;)
		GUEST_SYNC(*(volatile uint64_t *)addr);
}

static uint64_t guest_read(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	return uc.args[0];
}

/* The guest's read becomes KVM_EXIT_MMIO; answer it, collect the SYNC. */
static void guest_read_is_mmio(struct kvm_vcpu *vcpu, uint64_t gpa)
{
	uint64_t v = 0x4d4d494f;	/* "MMIO" */

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(vcpu->run->mmio.phys_addr, gpa);
	TEST_ASSERT_EQ(vcpu->run->mmio.is_write, 0);
	memcpy(vcpu->run->mmio.data, &v, 8);
	TEST_ASSERT_EQ(guest_read(vcpu), v);
}

/* A running guest sees slots appear, move, disappear and be resized. */
static void guest_view(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_read_loop);
	const uint64_t off = 0x1238;
	uint8_t *mem;

	vcpu_args_set(vcpu, 1, TEST_GPA + off);
	/* Nothing there yet. */
	guest_read_is_mmio(vcpu, TEST_GPA + off);

	mem = vm_add_memory(vm, TEST_SLOT, 0, TEST_GPA, TEST_SIZE);
	*(uint64_t *)(mem + off) = 0x1111111111111111ULL;
	TEST_ASSERT_EQ(guest_read(vcpu), 0x1111111111111111ULL);
	*(uint64_t *)(mem + off) = 0x2222222222222222ULL;
	TEST_ASSERT_EQ(guest_read(vcpu), 0x2222222222222222ULL);

	/* Moved away: the old address is MMIO again. */
	vm_move_memory(vm, TEST_SLOT, TEST_MOVED_GPA);
	guest_read_is_mmio(vcpu, TEST_GPA + off);

	/* Moved back over the same host memory: the data is there. */
	vm_move_memory(vm, TEST_SLOT, TEST_GPA);
	TEST_ASSERT_EQ(guest_read(vcpu), 0x2222222222222222ULL);

	/* Deleted. */
	vm_delete_memory(vm, TEST_SLOT);
	guest_read_is_mmio(vcpu, TEST_GPA + off);

	/* Re-added smaller: the offset is now past its end. */
	mem = vm_add_memory(vm, TEST_SLOT, 0, TEST_GPA, PAGE_SIZE);
	guest_read_is_mmio(vcpu, TEST_GPA + off);
	vm_delete_memory(vm, TEST_SLOT);

	/* Re-added larger, fresh memory: zeroes. */
	vm_add_memory(vm, TEST_SLOT, 0, TEST_GPA, 2 * TEST_SIZE);
	TEST_ASSERT_EQ(guest_read(vcpu), 0);
	kvm_vm_free(vm);
}

static void guest_write(uint64_t addr)
{
	*(volatile uint32_t *)addr = 0xabcd1234;
	GUEST_SYNC(*(volatile uint32_t *)addr);
	GUEST_DONE();
}

/* Writes to a read-only slot exit as MMIO; reads see the memory. */
static void readonly_slot(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint32_t *mem;

	TEST_REQUIRE_CAP(KVM_CAP_READONLY_MEM);
	vm = vm_create_with_one_vcpu(&vcpu, guest_write);
	mem = vm_add_memory(vm, TEST_SLOT, KVM_MEM_READONLY, TEST_GPA, TEST_SIZE);
	mem[0x40 / 4] = 0x5555aaaa;
	vcpu_args_set(vcpu, 1, TEST_GPA + 0x40);

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(vcpu->run->mmio.phys_addr, TEST_GPA + 0x40);
	TEST_ASSERT_EQ(vcpu->run->mmio.is_write, 1);
	TEST_ASSERT_EQ(vcpu->run->mmio.len, 4);
	TEST_ASSERT_EQ(*(uint32_t *)vcpu->run->mmio.data, 0xabcd1234);
	/* The memory is unchanged, and the guest reads it. */
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0x5555aaaa);
	TEST_ASSERT_EQ(mem[0x40 / 4], 0x5555aaaa);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(add_and_delete),
		KTAP_CASE(alignment),
		KTAP_CASE(invalid_flags),
		KTAP_CASE(slot_limits),
		KTAP_CASE(size_and_address_limits),
		KTAP_CASE(overlap),
		KTAP_CASE(modify_rules),
		KTAP_CASE(guest_view),
		KTAP_CASE(readonly_slot),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

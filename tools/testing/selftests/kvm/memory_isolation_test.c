// SPDX-License-Identifier: GPL-2.0
/*
 * A guest reaches host memory only through its memslots.  Host pages next
 * to a slot's backing hold a secret; every guest access just beyond the
 * slot, far away from any slot, or to a slot that was deleted or moved
 * away must exit as KVM_EXIT_MMIO (the guest then sees the data userspace
 * supplies, never the secret), writes there must not reach host memory,
 * and a 2 MiB slot (huge mappings where the host has a huge page) must be
 * unmapped just as completely when deleted.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>

#include "kvm_util.h"

#define SLOT		1
#define SLOT_GPA	0x40000000ULL	/* 1 GiB: identity mapped */
#define MOVED_GPA	0x50000000ULL
#define HUGE_GPA	0x60000000ULL
#define FAR_GPA		0xc0000000ULL	/* no slot anywhere near */
#define SECRET		0x5ec2e75ec2e75ec2ULL
#define SLOT_DATA	0xda7ada7ada7ada7aULL
#define MMIO_ANSWER	0x0123456789abcdefULL

enum { OP_READ, OP_WRITE };

/* The guest's orders, set by the host before each run. */
static struct probe {
	uint64_t op, addr, val;
} probe;

static void guest_code(void)
{
	volatile struct probe *p = &probe;

	for (;;) {
		uint64_t addr = p->addr, v;

		if (p->op == OP_WRITE) {
			asm volatile("movq %0, (%1)" : : "r"(p->val), "r"(addr)
				     : "memory");
			GUEST_SYNC(addr, 0);
		} else {
			asm volatile("movq (%1), %0" : "=r"(v) : "r"(addr)
				     : "memory");
			GUEST_SYNC(addr, v);
		}
	}
}

static void order(struct kvm_vm *vm, uint64_t op, uint64_t addr, uint64_t val)
{
	probe.op = op;
	probe.addr = addr;
	probe.val = val;
	sync_global_to_guest(vm, probe);
}

/* The guest reads @gpa from RAM: it must see @want without any exit. */
static void expect_ram_read(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t want)
{
	struct ucall uc;

	order(vcpu->vm, OP_READ, gpa, 0);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], gpa);
	TEST_ASSERT_EQ(uc.args[1], want);
}

/* The guest reads @gpa: it must exit as MMIO and see our answer. */
static void expect_mmio_read(struct kvm_vcpu *vcpu, uint64_t gpa)
{
	struct kvm_run *run = vcpu->run;
	uint64_t answer = MMIO_ANSWER ^ gpa;
	struct ucall uc;

	order(vcpu->vm, OP_READ, gpa, 0);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(run->mmio.phys_addr, gpa);
	TEST_ASSERT_EQ(run->mmio.len, 8);
	TEST_ASSERT_EQ(run->mmio.is_write, 0);
	memcpy(run->mmio.data, &answer, sizeof(answer));
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], gpa);
	TEST_ASSERT_EQ(uc.args[1], answer);
}

/* The guest writes @gpa: an MMIO exit with the data. */
static void expect_mmio_write(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t v)
{
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	uint64_t got;

	order(vcpu->vm, OP_WRITE, gpa, v);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(run->mmio.phys_addr, gpa);
	TEST_ASSERT_EQ(run->mmio.len, 8);
	TEST_ASSERT_EQ(run->mmio.is_write, 1);
	memcpy(&got, run->mmio.data, sizeof(got));
	TEST_ASSERT_EQ(got, v);
	vcpu_expect_sync(vcpu, &uc);
}

static uint64_t *map_pages(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap %zu bytes", bytes);
	return p;
}

static void fill(uint64_t *p, size_t bytes, uint64_t v)
{
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		p[i] = v;
}

static void expect_filled(const uint64_t *p, size_t bytes, uint64_t v)
{
	size_t i;

	for (i = 0; i < bytes / 8; i++)
		if (p[i] != v)
			TEST_FAIL("host memory at +0x%zx is 0x%llx, want 0x%llx",
				  i * 8, (unsigned long long)p[i],
				  (unsigned long long)v);
}

/* Host pages: [secret][slot page][secret][secret]. */
static void beyond_the_slot(void)
{
	const size_t pg = PAGE_SIZE;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	uint64_t *host = map_pages(4 * pg);
	uint64_t *slot = host + pg / 8;

	fill(host, 4 * pg, SECRET);
	fill(slot, pg, SLOT_DATA);
	vm_set_user_memory_region(vm, SLOT, 0, SLOT_GPA, pg, slot);

	expect_ram_read(vcpu, SLOT_GPA, SLOT_DATA);
	expect_ram_read(vcpu, SLOT_GPA + pg - 8, SLOT_DATA);
	/* The pages around the slot's backing are not the guest's. */
	expect_mmio_read(vcpu, SLOT_GPA + pg);
	expect_mmio_read(vcpu, SLOT_GPA + 2 * pg - 8);
	expect_mmio_read(vcpu, SLOT_GPA - 8);
	expect_mmio_read(vcpu, FAR_GPA);
	expect_mmio_write(vcpu, SLOT_GPA + pg, 0x1111);
	expect_mmio_write(vcpu, SLOT_GPA - 8, 0x2222);
	expect_filled(host, pg, SECRET);
	expect_filled(host + 2 * pg / 8, 2 * pg, SECRET);
	kvm_vm_free(vm);
	munmap(host, 4 * pg);
}

/* Deleting or moving a slot the guest used really unmaps it. */
static void deleted_and_moved(void)
{
	const size_t pg = PAGE_SIZE;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	uint64_t *slot = map_pages(pg);

	fill(slot, pg, SLOT_DATA);
	vm_set_user_memory_region(vm, SLOT, 0, SLOT_GPA, pg, slot);
	expect_ram_read(vcpu, SLOT_GPA, SLOT_DATA);
	/* Deleted: the mapping the guest just used must be gone. */
	vm_set_user_memory_region(vm, SLOT, 0, SLOT_GPA, 0, slot);
	expect_mmio_read(vcpu, SLOT_GPA);
	expect_mmio_write(vcpu, SLOT_GPA, 0x3333);
	expect_filled(slot, pg, SLOT_DATA);

	/* Back, then moved: the old address is MMIO, the new one RAM. */
	vm_set_user_memory_region(vm, SLOT, 0, SLOT_GPA, pg, slot);
	expect_ram_read(vcpu, SLOT_GPA, SLOT_DATA);
	vm_set_user_memory_region(vm, SLOT, 0, MOVED_GPA, pg, slot);
	expect_mmio_read(vcpu, SLOT_GPA);
	expect_ram_read(vcpu, MOVED_GPA, SLOT_DATA);
	/* What the host writes now shows at the new address only. */
	fill(slot, pg, ~SLOT_DATA);
	expect_ram_read(vcpu, MOVED_GPA, ~SLOT_DATA);
	expect_mmio_read(vcpu, SLOT_GPA);
	kvm_vm_free(vm);
	munmap(slot, pg);
}

/* A 2 MiB slot, on a transparent huge page where the host gives one. */
static void huge_slot_deleted(void)
{
	const size_t huge = LARGE_PAGE_SIZE;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	uint8_t *raw = (uint8_t *)map_pages(3 * huge);
	uint64_t *slot = (uint64_t *)(((uintptr_t)raw + huge - 1) &
				      ~(uintptr_t)(huge - 1));

	madvise(slot, huge, MADV_HUGEPAGE);
	fill(slot, huge, SLOT_DATA);
	vm_set_user_memory_region(vm, SLOT, 0, HUGE_GPA, huge, slot);
	expect_ram_read(vcpu, HUGE_GPA, SLOT_DATA);
	expect_ram_read(vcpu, HUGE_GPA + huge / 2, SLOT_DATA);
	expect_ram_read(vcpu, HUGE_GPA + huge - 8, SLOT_DATA);
	expect_mmio_read(vcpu, HUGE_GPA + huge);
	vm_set_user_memory_region(vm, SLOT, 0, HUGE_GPA, 0, slot);
	expect_mmio_read(vcpu, HUGE_GPA);
	expect_mmio_read(vcpu, HUGE_GPA + huge / 2 + 8);
	expect_mmio_read(vcpu, HUGE_GPA + huge - 8);
	kvm_vm_free(vm);
	munmap(raw, 3 * huge);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(beyond_the_slot),
		KTAP_CASE(deleted_and_moved),
		KTAP_CASE(huge_slot_deleted),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

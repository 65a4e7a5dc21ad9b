// SPDX-License-Identifier: GPL-2.0
/*
 * Guest page tables and memslots: a PT in a dirty-logged slot (the guest's
 * PTE writes and the processor's A/D updates are logged), in a slot the
 * host replaces (the new contents are what the guest walks after its next
 * CR3 load) and in a read-only slot (walks work, writes to it exit as
 * MMIO).  A shadow MMU that write-protects guest tables and caches their
 * shadows must keep up with all three.
 *
 * TEST_VA (PML4 slot 1) is mapped by a PDPT and a PD in memslot 0 and a
 * PT in memslot 1 at TABLES_GPA, which the library's identity map covers.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "guest_pf.h"

#define TEST_VA		0x8000000000ULL		/* PML4 index 1 */
#define TABLES_SLOT	1
#define TABLES_GPA	0x40000000ULL		/* 1 GiB */
#define TABLES_SIZE	LARGE_PAGE_SIZE
#define TABLES_PAGES	(TABLES_SIZE / PAGE_SIZE)
#define PTE_ACCESSED	(1ULL << 5)
#define PTE_DIRTY	(1ULL << 6)
#define MAGIC_A		0xaaaa5555aaaa0001ULL
#define MAGIC_B		0xbbbb4444bbbb0002ULL

static uint64_t *gpa_ptr(struct kvm_vm *vm, uint64_t gpa)
{
	return addr_gpa2hva(vm, gpa);
}

static inline void invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void reload_cr3(void)
{
	asm volatile("mov %0, %%cr3" : : "r"(get_cr3()) : "memory");
}

static uint64_t read_va(uint64_t va)
{
	return *(volatile uint64_t *)va;
}

/*
 * A VM whose TEST_VA PT is the first page of memslot 1 (@flags), and data
 * pages A and B in memslot 0 holding MAGIC_A and MAGIC_B.
 */
static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, void *guest_code,
				uint32_t flags, uint64_t *a, uint64_t *b)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);
	uint64_t pdpt = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t pd = vm_alloc_zeroed(vm, PAGE_SIZE);

	vm_install_pf_handler(vm);
	vm_add_memory(vm, TABLES_SLOT, flags, TABLES_GPA, TABLES_SIZE);
	gpa_ptr(vm, VM_PML4_GPA)[1] = pdpt | PTE_PRESENT | PTE_WRITABLE;
	gpa_ptr(vm, pdpt)[0] = pd | PTE_PRESENT | PTE_WRITABLE;
	gpa_ptr(vm, pd)[0] = TABLES_GPA | PTE_PRESENT | PTE_WRITABLE;
	*a = vm_alloc_zeroed(vm, PAGE_SIZE);
	*b = vm_alloc_zeroed(vm, PAGE_SIZE);
	gpa_ptr(vm, *a)[0] = MAGIC_A;
	gpa_ptr(vm, *b)[0] = MAGIC_B;
	return vm;
}

/* ---- dirty logging -------------------------------------------------------- */

/*
 * Pages 1 and 2 of the slot are data.  After each GUEST_SYNC the host
 * collects (and so clears) the log; the guest's next step must dirty
 * exactly what the host then expects (at least: spurious bits are not
 * counted against KVM).
 */
static void guest_dirty_log(uint64_t a)
{
	volatile uint64_t *pt = (uint64_t *)TABLES_GPA;
	const uint64_t d1 = TABLES_GPA + PAGE_SIZE, d2 = TABLES_GPA + 2 * PAGE_SIZE;

	/* 1: a PTE write by the guest. */
	pt[0] = a | PTE_PRESENT | PTE_WRITABLE;
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_A);
	GUEST_SYNC(1);

	/* 2: the walk sets A, nothing else writes the PT. */
	pt[0] &= ~PTE_ACCESSED;
	invlpg(TEST_VA);
	GUEST_SYNC(2);
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_A);
	GUEST_ASSERT(pt[0] & PTE_ACCESSED);
	GUEST_SYNC(3);

	/* 3: a write through a clean PTE sets D, and dirties the data page. */
	pt[1] = d1 | PTE_PRESENT | PTE_WRITABLE | PTE_ACCESSED;
	invlpg(TEST_VA + PAGE_SIZE);
	GUEST_SYNC(4);
	*(volatile uint64_t *)(TEST_VA + PAGE_SIZE) = 1;
	GUEST_ASSERT(pt[1] & PTE_DIRTY);
	GUEST_SYNC(5);

	/* 4: a write through a dirty PTE: the data page only. */
	pt[2] = d2 | PTE_PRESENT | PTE_WRITABLE | PTE_ACCESSED | PTE_DIRTY;
	invlpg(TEST_VA + 2 * PAGE_SIZE);
	GUEST_SYNC(6);
	*(volatile uint64_t *)(TEST_VA + 2 * PAGE_SIZE) = 2;
	GUEST_SYNC(7);
	GUEST_DONE();
}

/* The slot's dirty bitmap, collected (and cleared) now. */
static uint64_t get_dirty(struct kvm_vm *vm)
{
	uint64_t bitmap[TABLES_PAGES / 64];
	struct kvm_dirty_log log = {
		.slot = TABLES_SLOT,
		.dirty_bitmap = bitmap,
	};
	unsigned int i;

	memset(bitmap, 0, sizeof(bitmap));
	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
	for (i = 1; i < ARRAY_SIZE(bitmap); i++)
		TEST_ASSERT_EQ(bitmap[i], 0);	/* only pages 0-2 are used */
	return bitmap[0];
}

static void expect_step(struct kvm_vcpu *vcpu, uint64_t step)
{
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], step);
}

static void tables_dirty_log(void)
{
	struct kvm_vcpu *vcpu;
	uint64_t a, b, d;
	struct kvm_vm *vm = create_vm(&vcpu, guest_dirty_log,
				      KVM_MEM_LOG_DIRTY_PAGES, &a, &b);

	vcpu_args_set(vcpu, 1, a);
	get_dirty(vm);
	expect_step(vcpu, 1);
	d = get_dirty(vm);
	TEST_ASSERT(d & 1, "PTE write not logged (bitmap 0x%llx)",
		    (unsigned long long)d);
	expect_step(vcpu, 2);
	get_dirty(vm);
	expect_step(vcpu, 3);
	d = get_dirty(vm);
	TEST_ASSERT(d & 1, "A bit set by the walk not logged (bitmap 0x%llx)",
		    (unsigned long long)d);
	expect_step(vcpu, 4);
	get_dirty(vm);
	expect_step(vcpu, 5);
	d = get_dirty(vm);
	TEST_ASSERT((d & 3) == 3, "D bit or data write not logged (bitmap 0x%llx)",
		    (unsigned long long)d);
	expect_step(vcpu, 6);
	get_dirty(vm);
	expect_step(vcpu, 7);
	d = get_dirty(vm);
	TEST_ASSERT(d & 4, "data write not logged (bitmap 0x%llx)",
		    (unsigned long long)d);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- a slot replaced under the guest -------------------------------------- */

static void guest_slot_replaced(uint64_t a)
{
	volatile uint64_t *pt = (uint64_t *)TABLES_GPA;

	pt[0] = a | PTE_PRESENT | PTE_WRITABLE;
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_A);
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_A);
	GUEST_SYNC(1);
	/* The host put a new PT in place, mapping B. */
	reload_cr3();
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_B);
	GUEST_ASSERT_EQ(pt[0] & ~(PTE_ACCESSED | PTE_DIRTY),
			pt[1] | PTE_PRESENT | PTE_WRITABLE);
	/* And it is an ordinary page table: the guest's writes count. */
	pt[0] = a | PTE_PRESENT | PTE_WRITABLE;
	invlpg(TEST_VA);
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_A);
	GUEST_DONE();
}

static void tables_slot_replaced(void)
{
	struct kvm_vcpu *vcpu;
	uint64_t a, b, *pt;
	struct kvm_vm *vm = create_vm(&vcpu, guest_slot_replaced, 0, &a, &b);

	vcpu_args_set(vcpu, 1, a);
	expect_step(vcpu, 1);
	vm_delete_memory(vm, TABLES_SLOT);
	pt = vm_add_memory(vm, TABLES_SLOT, 0, TABLES_GPA, TABLES_SIZE);
	pt[0] = b | PTE_PRESENT | PTE_WRITABLE;
	pt[1] = b;	/* for the guest's check of pt[0] */
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- a read-only slot ----------------------------------------------------- */

/*
 * The PT's entries have A and D set, so no walk needs to write them.  A
 * guest write to the PT exits as MMIO and changes nothing.
 *
 * Shadow paging only: the bed's nested-paging walker (QEMU TCG) takes a
 * nested page fault on the read-only PT even so, and kvm-amd npt=1 then
 * reads the PTE's address as the data at the PTE's page offset (see
 * emulator.md, "Page tables outside RAM") or, at another offset, never
 * gets past the instruction.
 */
static void guest_readonly_slot(uint64_t b)
{
	volatile uint64_t *pt = (uint64_t *)TABLES_GPA;

	GUEST_ASSERT_EQ(read_va(TEST_VA + 0x10), MAGIC_A);
	*(volatile uint64_t *)(TEST_VA + 0x18) = 5;
	pt[1] = b | PTE_PRESENT | PTE_WRITABLE;
	GUEST_ASSERT_EQ(pt[1], 0);
	GUEST_EXPECT_PF(guest_try_read(TEST_VA + PAGE_SIZE + 0x10),
			TEST_VA + PAGE_SIZE + 0x10, 0);
	GUEST_ASSERT_EQ(read_va(TEST_VA + 0x10), MAGIC_A);
	GUEST_DONE();
}

static void tables_readonly_slot(void)
{
	struct kvm_vcpu *vcpu;
	uint64_t a, b, pte;
	struct kvm_vm *vm;
	struct kvm_run *run;

	TEST_REQUIRE_CAP(KVM_CAP_READONLY_MEM);
	TEST_REQUIRE(kvm_backend_npt() == 0,
		     "npt=1: the bed's nested walker faults on read-only guest tables");
	vm = create_vm(&vcpu, guest_readonly_slot, KVM_MEM_READONLY, &a, &b);
	run = vcpu->run;
	gpa_ptr(vm, TABLES_GPA)[0] = a | PTE_PRESENT | PTE_WRITABLE |
				     PTE_ACCESSED | PTE_DIRTY;
	gpa_ptr(vm, a)[2] = MAGIC_A;
	vcpu_args_set(vcpu, 1, b);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(run->mmio.is_write, 1);
	TEST_ASSERT_EQ(run->mmio.phys_addr, TABLES_GPA + 8);
	TEST_ASSERT_EQ(run->mmio.len, 8);
	memcpy(&pte, run->mmio.data, 8);
	TEST_ASSERT_EQ(pte, b | PTE_PRESENT | PTE_WRITABLE);
	vcpu_expect_done(vcpu);
	TEST_ASSERT_EQ(gpa_ptr(vm, a)[3], 5);
	TEST_ASSERT_EQ(gpa_ptr(vm, TABLES_GPA)[1], 0);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(tables_dirty_log),
		KTAP_CASE(tables_slot_replaced),
		KTAP_CASE(tables_readonly_slot),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

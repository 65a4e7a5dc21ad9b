// SPDX-License-Identifier: GPL-2.0
/*
 * Guest paging costs, the rows where nested and shadow paging differ most
 * (npt=1 against npt=0):
 *
 *   page_fault     a guest maps 512 fresh 4 KiB pages, writes each once,
 *                  unmaps them and reloads CR3: ns per page touched
 *   cr3_switch     a guest cycles through 8 address spaces, touching its
 *                  stack and one data page in each: ns per CR3 load
 *
 * One line per row, "BENCH <name> <ns per operation> <operations>", like
 * exit_bench; nothing here asserts on time.
 *
 * usage: paging_bench [ITERATIONS]   (default 2000: page_fault touches
 *        about ITERATIONS pages, 512 per round; cr3_switch does ITERATIONS
 *        CR3 loads)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kvm_util.h"

#define BENCH_VA	0x8000000000ULL		/* PML4 index 1 */
#define PT_ENTRIES	512
#define NR_SPACES	8

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void report(const char *name, uint64_t ns, uint64_t n)
{
	printf("BENCH %s %.0f %llu\n", name, (double)ns / n, (unsigned long long)n);
}

static uint64_t alloc_zeroed(struct kvm_vm *vm, uint64_t size)
{
	uint64_t gpa = vm_alloc(vm, size);

	memset(addr_gpa2hva(vm, gpa), 0, size);
	return gpa;
}

/* PML4[1] of @pml4 -> PDPT -> PD -> PT; returns the PT. */
static uint64_t map_region(struct kvm_vm *vm, uint64_t pml4)
{
	uint64_t pdpt = alloc_zeroed(vm, PAGE_SIZE), pd = alloc_zeroed(vm, PAGE_SIZE);
	uint64_t pt = alloc_zeroed(vm, PAGE_SIZE);

	((uint64_t *)addr_gpa2hva(vm, pml4))[1] = pdpt | PTE_PRESENT | PTE_WRITABLE;
	((uint64_t *)addr_gpa2hva(vm, pdpt))[0] = pd | PTE_PRESENT | PTE_WRITABLE;
	((uint64_t *)addr_gpa2hva(vm, pd))[0] = pt | PTE_PRESENT | PTE_WRITABLE;
	return pt;
}

static inline void set_cr3(uint64_t v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static void guest_page_fault(uint64_t pt_gpa, uint64_t pages_gpa, uint64_t rounds)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;
	uint64_t r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < PT_ENTRIES; i++)
			pt[i] = (pages_gpa + i * PAGE_SIZE) | PTE_PRESENT | PTE_WRITABLE;
		for (i = 0; i < PT_ENTRIES; i++)
			*(volatile uint64_t *)(BENCH_VA + i * PAGE_SIZE) = r;
		for (i = 0; i < PT_ENTRIES; i++)
			pt[i] = 0;
		set_cr3(get_cr3());
	}
	GUEST_DONE();
}

static void bench_page_fault(uint64_t rounds)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_page_fault);
	uint64_t pt = map_region(vm, VM_PML4_GPA);
	uint64_t pages = alloc_zeroed(vm, PT_ENTRIES * PAGE_SIZE);
	uint64_t t0;

	vcpu_args_set(vcpu, 3, pt, pages, rounds);
	t0 = now_ns();
	vcpu_expect_done(vcpu);
	report("page_fault", now_ns() - t0, rounds * PT_ENTRIES);
	kvm_vm_free(vm);
}

static void guest_cr3_switch(uint64_t spaces_gpa, uint64_t n)
{
	const volatile uint64_t *s = (uint64_t *)spaces_gpa;
	uint64_t home = get_cr3(), i;

	for (i = 0; i < n; i++) {
		set_cr3(s[i % NR_SPACES]);
		*(volatile uint64_t *)BENCH_VA += 1;
	}
	set_cr3(home);
	GUEST_DONE();
}

static void bench_cr3_switch(uint64_t n)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_cr3_switch);
	uint64_t spaces = alloc_zeroed(vm, PAGE_SIZE), t0;
	uint64_t *s = addr_gpa2hva(vm, spaces);
	int i;

	for (i = 0; i < NR_SPACES; i++) {
		uint64_t pml4 = alloc_zeroed(vm, PAGE_SIZE);
		uint64_t pt, page = alloc_zeroed(vm, PAGE_SIZE);

		/* The identity map (PML4 slot 0) is shared by all. */
		((uint64_t *)addr_gpa2hva(vm, pml4))[0] =
			((uint64_t *)addr_gpa2hva(vm, VM_PML4_GPA))[0];
		pt = map_region(vm, pml4);
		((uint64_t *)addr_gpa2hva(vm, pt))[0] = page | PTE_PRESENT | PTE_WRITABLE;
		s[i] = pml4;
	}
	vcpu_args_set(vcpu, 2, spaces, n);
	t0 = now_ns();
	vcpu_expect_done(vcpu);
	report("cr3_switch", now_ns() - t0, n);
	kvm_vm_free(vm);
}

int main(int argc, char **argv)
{
	uint64_t iters = argc > 1 ? strtoull(argv[1], NULL, 0) : 2000;

	if (!iters)
		iters = 1;
	/* 512 pages per round: about ITERATIONS pages touched in all. */
	bench_page_fault(iters / PT_ENTRIES ? iters / PT_ENTRIES : 1);
	bench_cr3_switch(iters);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Guest paging costs, the rows where nested and shadow paging differ most
 * (npt=1 against npt=0):
 *
 *   page_fault     a guest maps 512 fresh 4 KiB pages, writes each once,
 *                  unmaps them and reloads CR3: ns per page touched
 *   cr3_switch     a guest cycles through 8 address spaces, touching its
 *                  stack and one data page in each: ns per CR3 load
 *   fork_exit      the tiny kernel of lib/fork_os.c forks a process
 *                  (copies its page tables, 8 pages shared copy-on-write),
 *                  switches to the child, which writes one page (a COW
 *                  fault and copy), switches back and ends the child,
 *                  whose frames the next fork reuses: ns per fork + exit
 *
 * One line per row, "BENCH <name> <ns per operation> <operations>", like
 * exit_bench; nothing here asserts on time.
 *
 * usage: paging_bench [ITERATIONS]   (default 2000: page_fault touches
 *        about ITERATIONS pages, 512 per round; cr3_switch does ITERATIONS
 *        CR3 loads; fork_exit ITERATIONS / 8 forks)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fork_os.h"

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

/* PML4[1] of @pml4 -> PDPT -> PD -> PT; returns the PT. */
static uint64_t map_region(struct kvm_vm *vm, uint64_t pml4)
{
	uint64_t pdpt = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t pd = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t pt = vm_alloc_zeroed(vm, PAGE_SIZE);

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
	uint64_t pages = vm_alloc_zeroed(vm, PT_ENTRIES * PAGE_SIZE);
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
	uint64_t spaces = vm_alloc_zeroed(vm, PAGE_SIZE), t0;
	uint64_t *s = addr_gpa2hva(vm, spaces);
	int i;

	for (i = 0; i < NR_SPACES; i++) {
		uint64_t pml4 = vm_alloc_zeroed(vm, PAGE_SIZE);
		uint64_t pt, page = vm_alloc_zeroed(vm, PAGE_SIZE);

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

static void guest_fork_exit(uint64_t pool, uint64_t frames, uint64_t n)
{
	int parent, child;
	uint64_t i;

	fork_os_init(pool, frames);
	parent = fork_os_spawn(0);
	fork_os_switch(parent);
	for (i = 0; i < n; i++) {
		child = fork_os_fork(parent);
		GUEST_ASSERT(child >= 0);
		fork_os_switch(child);
		fork_os_write(i % FORK_OS_PAGES, i);
		fork_os_switch(parent);
		fork_os_exit(child);
	}
	fork_os_verify();
	GUEST_DONE();
}

#define FORK_POOL_FRAMES	64

static void bench_fork_exit(uint64_t n)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 8ULL << 20);
	uint64_t pool, t0;

	vcpu = vm_vcpu_add(vm, 0, guest_fork_exit);
	pool = fork_os_setup(vm, FORK_POOL_FRAMES);
	vcpu_args_set(vcpu, 3, pool, (uint64_t)FORK_POOL_FRAMES, n);
	t0 = now_ns();
	vcpu_expect_done(vcpu);
	report("fork_exit", now_ns() - t0, n);
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
	bench_fork_exit(iters / 8 ? iters / 8 : 1);
	return 0;
}

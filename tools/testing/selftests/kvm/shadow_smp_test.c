// SPDX-License-Identifier: GPL-2.0
/*
 * Page tables changed by one vCPU while others use them.  There is no IPI:
 * the writer publishes a generation number in memory and the others flush
 * by convention (INVLPG, or a CR3 load when a whole table was replaced)
 * once they see it, as a guest OS's lazy TLB shootdown would.  Before the
 * flush a reader may see the old or the new mapping, never anything else;
 * after it, only the new one.
 *
 * All vCPUs share one address space: the library's PML4, whose slot 1
 * maps TEST_VA through tables the host builds.  A read that faults returns
 * READ_FAULTED through a #PF handler that records the fault per vCPU
 * (the vCPU index comes from the stack pointer: one stack per vCPU).
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kvm_util.h"

#define TEST_VA		0x8000000000ULL		/* PML4 index 1 */
#define NR_VCPUS	3
#define NR_PAGES	4
#define ROUNDS		150
#define SLOT_ROUNDS	300
#define PF_VECTOR	14
#define READ_FAULTED	(~0ULL)
#define MAGIC		0x5a5a000000000000ULL

_Static_assert(VM_STACKS_GPA == 0x100000 && VM_STACK_SIZE == 0x10000,
	       "smp_pf_handler hard-codes the stack layout");

struct pf_record {
	uint64_t count, cr2, err, pad;
};

volatile struct pf_record smp_pf_rec[VM_MAX_VCPUS];

/*
 * A fault in smp_try_read returns READ_FAULTED from it; any other #PF
 * goes to the library's report stub for vector 14 (16 bytes per stub).
 */
asm(".pushsection .text\n"
    ".globl smp_pf_handler\n"
    "smp_pf_handler:\n"
    "	push %rax\n"
    "	push %rcx\n"
    "	lea smp_try_read(%rip), %rcx\n"
    "	cmp %rcx, 24(%rsp)\n"
    "	jne 1f\n"
    "	mov %rsp, %rax\n"
    "	sub $0x100000, %rax\n"
    "	shr $16, %rax\n"
    "	shl $5, %rax\n"
    "	lea smp_pf_rec(%rip), %rcx\n"
    "	add %rcx, %rax\n"
    "	mov %cr2, %rcx\n"
    "	mov %rcx, 8(%rax)\n"
    "	mov 16(%rsp), %rcx\n"
    "	mov %rcx, 16(%rax)\n"
    "	incq (%rax)\n"
    "	lea smp_try_fault(%rip), %rcx\n"
    "	mov %rcx, 24(%rsp)\n"
    "	pop %rcx\n"
    "	pop %rax\n"
    "	add $8, %rsp\n"
    "	iretq\n"
    "1:	pop %rcx\n"
    "	pop %rax\n"
    "	jmp guest_exception_stubs + 14 * 16\n"
    ".globl smp_try_read\n"
    "smp_try_read:\n"
    "	mov (%rdi), %rax\n"
    "	ret\n"
    "smp_try_fault:\n"
    "	mov $-1, %rax\n"
    "	ret\n"
    ".popsection\n");

extern char smp_pf_handler[];
uint64_t smp_try_read(uint64_t va);

/* Shared between the vCPUs. */
static volatile uint64_t generation;
static volatile uint64_t acked[NR_VCPUS];

static inline void invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void reload_cr3(void)
{
	asm volatile("mov %0, %%cr3" : : "r"(get_cr3()) : "memory");
}

static inline void cpu_relax(void)
{
	asm volatile("pause" : : : "memory");
}

static uint64_t vcpu_index(void)
{
	uint64_t rsp;

	asm volatile("mov %%rsp, %0" : "=r"(rsp));
	return (rsp - VM_STACKS_GPA) / VM_STACK_SIZE;
}

static void wait_acks(uint64_t g)
{
	unsigned int i;

	for (i = 1; i < NR_VCPUS; i++)
		while (acked[i] < g)
			cpu_relax();
}

/* ---- host side ------------------------------------------------------------ */

struct smp_setup {
	uint64_t pd, pt, pt2;
	uint64_t pages[NR_PAGES];
};

static uint64_t *gpa_ptr(struct kvm_vm *vm, uint64_t gpa)
{
	return addr_gpa2hva(vm, gpa);
}

/*
 * NR_VCPUS vCPUs at @guest_code; PML4[1] -> PDPT -> PD -> PT (PT2 spare),
 * data pages whose first word is MAGIC + their index.
 */
static struct kvm_vm *create_smp_vm(struct kvm_vcpu **vcpus, void *guest_code,
				    struct smp_setup *s)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);
	uint64_t *idt = gpa_ptr(vm, VM_IDT_GPA);
	uint64_t h = (uint64_t)(uintptr_t)smp_pf_handler;
	uint64_t pdpt = vm_alloc_zeroed(vm, PAGE_SIZE);
	unsigned int i;

	for (i = 0; i < NR_VCPUS; i++)
		vcpus[i] = vm_vcpu_add(vm, i, guest_code);
	idt[2 * PF_VECTOR] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
			     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
	idt[2 * PF_VECTOR + 1] = h >> 32;

	s->pd = vm_alloc_zeroed(vm, PAGE_SIZE);
	s->pt = vm_alloc_zeroed(vm, PAGE_SIZE);
	s->pt2 = vm_alloc_zeroed(vm, PAGE_SIZE);
	for (i = 0; i < NR_PAGES; i++) {
		s->pages[i] = vm_alloc_zeroed(vm, PAGE_SIZE);
		gpa_ptr(vm, s->pages[i])[0] = MAGIC + i;
	}
	gpa_ptr(vm, VM_PML4_GPA)[1] = pdpt | PTE_PRESENT | PTE_WRITABLE;
	gpa_ptr(vm, pdpt)[0] = s->pd | PTE_PRESENT | PTE_WRITABLE;
	gpa_ptr(vm, s->pd)[0] = s->pt | PTE_PRESENT | PTE_WRITABLE;
	return vm;
}

/* The setup, copied into the guest's memory at a page of its own. */
static uint64_t setup_to_guest(struct kvm_vm *vm, const struct smp_setup *s)
{
	uint64_t gpa = vm_alloc_zeroed(vm, PAGE_SIZE);

	memcpy(gpa_ptr(vm, gpa), s, sizeof(*s));
	return gpa;
}

static void run_smp(void *guest_code, void (*prepare)(struct kvm_vm *,
						       struct smp_setup *))
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct smp_setup s;
	struct kvm_vm *vm = create_smp_vm(vcpus, guest_code, &s);
	uint64_t arg;
	unsigned int i;

	if (prepare)
		prepare(vm, &s);
	arg = setup_to_guest(vm, &s);
	for (i = 0; i < NR_VCPUS; i++)
		vcpu_args_set(vcpus[i], 1, arg);
	vcpus_run_until_done(vcpus, NR_VCPUS);
	kvm_vm_free(vm);
}

/* ---- one PTE, changed under the readers ----------------------------------- */

/* Round g maps page g % NR_PAGES, or nothing every fifth round. */
static uint64_t round_value(uint64_t g)
{
	return (g % 5 == 4) ? READ_FAULTED : MAGIC + g % NR_PAGES;
}

static uint64_t round_pte(const struct smp_setup *s, uint64_t g)
{
	if (g % 5 == 4)
		return 0;
	return s->pages[g % NR_PAGES] | PTE_PRESENT | PTE_WRITABLE;
}

static void guest_pte_shootdown(const struct smp_setup *s)
{
	volatile uint64_t *pt = (uint64_t *)s->pt;
	uint64_t idx = vcpu_index(), g, v, faults;

	GUEST_ASSERT(idx < NR_VCPUS);
	if (idx == 0) {
		for (g = 1; g <= ROUNDS; g++) {
			pt[0] = round_pte(s, g);
			invlpg(TEST_VA);
			GUEST_ASSERT_EQ(smp_try_read(TEST_VA), round_value(g));
			generation = g;
			wait_acks(g);
		}
		GUEST_DONE();
	}

	/* Round g + 1 waits for this vCPU's ack of g: see table_swap. */
	for (g = 1; g <= ROUNDS; g++) {
		while (generation < g) {
			v = smp_try_read(TEST_VA);
			GUEST_ASSERT(v == round_value(g - 1) ||
				     v == round_value(g));
			cpu_relax();
		}
		invlpg(TEST_VA);
		faults = smp_pf_rec[idx].count;
		GUEST_ASSERT_EQ(smp_try_read(TEST_VA), round_value(g));
		if (round_value(g) == READ_FAULTED) {
			GUEST_ASSERT_EQ(smp_pf_rec[idx].count, faults + 1);
			GUEST_ASSERT_EQ(smp_pf_rec[idx].cr2, TEST_VA);
			GUEST_ASSERT_EQ(smp_pf_rec[idx].err, 0);
		}
		acked[idx] = g;
	}
	GUEST_DONE();
}

/* Round 0's mapping is the host's. */
static void prepare_pte_shootdown(struct kvm_vm *vm, struct smp_setup *s)
{
	gpa_ptr(vm, s->pt)[0] = round_pte(s, 0);
}

static void pte_shootdown(void)
{
	run_smp(guest_pte_shootdown, prepare_pte_shootdown);
	ktap_print("%d vCPUs, %d PTE changes", NR_VCPUS, ROUNDS);
}

/* ---- a whole page table replaced ------------------------------------------ */

/*
 * The PD entry alternates between two PTs; the writer edits the one not
 * in use, switches, and the readers reload CR3 (INVLPG need not drop a
 * cached upper-level entry on every processor).  PT and PT2 map TEST_VA +
 * 4 KiB * i to different pages, so a stale table is seen at once.
 */
static uint64_t table_value(uint64_t g, uint64_t i)
{
	return MAGIC + (g + i) % NR_PAGES;
}

static void fill_table(const struct smp_setup *s, uint64_t pt_gpa, uint64_t g)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;
	uint64_t i;

	for (i = 0; i < NR_PAGES; i++)
		pt[i] = s->pages[(g + i) % NR_PAGES] | PTE_PRESENT | PTE_WRITABLE;
}

static void check_table(uint64_t g)
{
	uint64_t i;

	for (i = 0; i < NR_PAGES; i++)
		GUEST_ASSERT_EQ(smp_try_read(TEST_VA + i * PAGE_SIZE),
				table_value(g, i));
}

static void guest_table_swap(const struct smp_setup *s)
{
	volatile uint64_t *pd = (uint64_t *)s->pd;
	uint64_t idx = vcpu_index(), g, v;

	if (idx == 0) {
		for (g = 1; g <= ROUNDS; g++) {
			uint64_t pt = (g & 1) ? s->pt2 : s->pt;

			fill_table(s, pt, g);
			pd[0] = pt | PTE_PRESENT | PTE_WRITABLE;
			reload_cr3();
			check_table(g);
			generation = g;
			wait_acks(g);
		}
		GUEST_DONE();
	}

	for (g = 1; g <= ROUNDS; g++) {
		/*
		 * Round g + 1 waits for this vCPU's ack of g: until the flush
		 * only the tables of g - 1 and g can be seen.
		 */
		while (generation < g) {
			v = smp_try_read(TEST_VA);
			GUEST_ASSERT(v == table_value(g - 1, 0) ||
				     v == table_value(g, 0));
			cpu_relax();
		}
		reload_cr3();
		check_table(g);
		acked[idx] = g;
	}
	GUEST_ASSERT_EQ(smp_pf_rec[idx].count, 0);
	GUEST_DONE();
}

/* Round 0's table is the host's. */
static void prepare_table_swap(struct kvm_vm *vm, struct smp_setup *s)
{
	uint64_t i;

	for (i = 0; i < NR_PAGES; i++)
		gpa_ptr(vm, s->pt)[i] = s->pages[i % NR_PAGES] | PTE_PRESENT |
					PTE_WRITABLE;
}

static void table_swap(void)
{
	run_smp(guest_table_swap, prepare_table_swap);
	ktap_print("%d vCPUs, %d page-table replacements", NR_VCPUS, ROUNDS);
}

/* ---- every vCPU edits its own entries of one shared PT --------------------- */

/*
 * vCPU i owns PTEs 2i and 2i+1 of the shared PT and flips them between its
 * two pages, INVLPG, checks, writes through them: concurrent writes to one
 * page-table page while the other vCPUs translate through it.
 */
static void guest_shared_pt(const struct smp_setup *s)
{
	volatile uint64_t *pt = (uint64_t *)s->pt;
	uint64_t idx = vcpu_index(), r, slot, va;

	GUEST_ASSERT(idx < NR_VCPUS && 2 * NR_VCPUS <= 64);
	for (r = 0; r < SLOT_ROUNDS; r++) {
		uint64_t page = (r + idx) % 2;

		slot = 2 * idx + (r & 1);
		va = TEST_VA + slot * PAGE_SIZE;
		pt[slot] = s->pages[page] | PTE_PRESENT | PTE_WRITABLE;
		invlpg(va);
		GUEST_ASSERT_EQ(smp_try_read(va) & 0xffff, page);
		/* Word idx + 1 of the page is this vCPU's. */
		((volatile uint64_t *)va)[idx + 1] += 1;
		pt[slot] = 0;
		invlpg(va);
		GUEST_ASSERT_EQ(smp_try_read(va), READ_FAULTED);
	}
	GUEST_DONE();
}

static void shared_pt(void)
{
	struct kvm_vcpu *vcpus[NR_VCPUS];
	struct smp_setup s;
	struct kvm_vm *vm = create_smp_vm(vcpus, guest_shared_pt, &s);
	uint64_t arg, sum;
	unsigned int i;

	arg = setup_to_guest(vm, &s);
	for (i = 0; i < NR_VCPUS; i++)
		vcpu_args_set(vcpus[i], 1, arg);
	vcpus_run_until_done(vcpus, NR_VCPUS);
	for (i = 0; i < NR_VCPUS; i++) {
		sum = gpa_ptr(vm, s.pages[0])[i + 1] +
		      gpa_ptr(vm, s.pages[1])[i + 1];
		TEST_ASSERT_EQ(sum, SLOT_ROUNDS);
	}
	ktap_print("%d vCPUs, %d PTE writes each to one shared PT",
		   NR_VCPUS, 2 * SLOT_ROUNDS);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(pte_shootdown),
		KTAP_CASE(table_swap),
		KTAP_CASE(shared_pt),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

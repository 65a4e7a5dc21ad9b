// SPDX-License-Identifier: GPL-2.0
/*
 * Guest paging as the architecture defines it, whatever the MMU behind it
 * (nested paging or shadow paging, npt=1 or npt=0): page-table writes,
 * INVLPG, CR3 switches among many address spaces, accessed/dirty bits, a
 * guest that edits its tables through a mapping of the tables themselves,
 * one page-table page used at two levels at once, and tables that point
 * outside guest memory.
 *
 * Each guest maps a test region at TEST_VA (PML4 slot 1) with 4 KiB pages
 * through tables the host allocates in memslot 0; the library's identity
 * map (PML4 slot 0) lets the guest edit those tables at their physical
 * address.  A #PF handler records CR2 and the error code and resumes at
 * the address the faulting helper left in pf_resume.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "guest_pf.h"

#define TEST_VA		0x8000000000ULL		/* PML4 index 1 */
#define PTE_USER	(1ULL << 2)
#define PTE_ACCESSED	(1ULL << 5)
#define PTE_DIRTY	(1ULL << 6)
#define PTE_ADDR	0x000ffffffffff000ULL

#define MAGIC_A		0xaaaa5555aaaa0001ULL
#define MAGIC_B		0xbbbb4444bbbb0002ULL

#define NR_SPACES	16
#define CR3_ROUNDS	12

static inline void invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void set_cr3(uint64_t v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

/* ---- host-side setup ------------------------------------------------------ */

struct test_tables {
	uint64_t pml4, pdpt, pd, pt;	/* guest-physical */
};

static uint64_t *gpa_ptr(struct kvm_vm *vm, uint64_t gpa)
{
	return addr_gpa2hva(vm, gpa);
}

/* PML4[1] of @pml4 -> PDPT -> PD -> an empty PT mapping TEST_VA. */
static void map_test_region(struct kvm_vm *vm, uint64_t pml4,
			    struct test_tables *t)
{
	t->pml4 = pml4;
	t->pdpt = vm_alloc_zeroed(vm, PAGE_SIZE);
	t->pd = vm_alloc_zeroed(vm, PAGE_SIZE);
	t->pt = vm_alloc_zeroed(vm, PAGE_SIZE);
	gpa_ptr(vm, pml4)[1] = t->pdpt | PTE_PRESENT | PTE_WRITABLE;
	gpa_ptr(vm, t->pdpt)[0] = t->pd | PTE_PRESENT | PTE_WRITABLE;
	gpa_ptr(vm, t->pd)[0] = t->pt | PTE_PRESENT | PTE_WRITABLE;
}

static uint64_t data_page(struct kvm_vm *vm, uint64_t value)
{
	uint64_t gpa = vm_alloc_zeroed(vm, PAGE_SIZE);

	gpa_ptr(vm, gpa)[0] = value;
	return gpa;
}

static struct kvm_vm *create_vm(struct kvm_vcpu **vcpu, void *guest_code,
				struct test_tables *t)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);

	vm_install_pf_handler(vm);
	map_test_region(vm, VM_PML4_GPA, t);
	return vm;
}

/* ---- page-table writes and INVLPG ---------------------------------------- */

static void guest_pte_changes(uint64_t pt_gpa, uint64_t page_a, uint64_t page_b)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;
	volatile uint64_t *a = (uint64_t *)page_a;

	/* Not present: a read fault, error code 0 (not present, read, CPL 0). */
	GUEST_EXPECT_PF(guest_try_read(TEST_VA), TEST_VA, 0);
	GUEST_EXPECT_PF(guest_try_write(TEST_VA, 1), TEST_VA, PFEC_W);

	/* Not present to present needs no flush: it takes effect at once. */
	pt[0] = page_a | PTE_PRESENT | PTE_WRITABLE;
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA), MAGIC_A);

	/* A different page, after INVLPG. */
	pt[0] = page_b | PTE_PRESENT | PTE_WRITABLE;
	invlpg(TEST_VA);
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA), MAGIC_B);

	/* Unmapped again, after INVLPG. */
	pt[0] = 0;
	invlpg(TEST_VA);
	GUEST_EXPECT_PF(guest_try_read(TEST_VA), TEST_VA, 0);

	/* Read-only: reads work, writes fault (CR0.WP=1) and change nothing. */
	pt[0] = page_a | PTE_PRESENT;
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA), MAGIC_A);
	GUEST_EXPECT_PF(guest_try_write(TEST_VA + 8, 7), TEST_VA + 8,
			PFEC_P | PFEC_W);
	GUEST_ASSERT_EQ(a[1], 0);

	/* Writable again: the write lands in page A. */
	pt[0] = page_a | PTE_PRESENT | PTE_WRITABLE;
	invlpg(TEST_VA);
	guest_try_write(TEST_VA + 8, 0x1234);
	GUEST_ASSERT_EQ(a[1], 0x1234);

	/* The same page at a second address sees the same data. */
	pt[5] = page_a | PTE_PRESENT;
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA + 5 * PAGE_SIZE + 8), 0x1234);
	GUEST_DONE();
}

static void pte_changes(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_vm(&vcpu, guest_pte_changes, &t);
	uint64_t a = data_page(vm, MAGIC_A), b = data_page(vm, MAGIC_B);

	vcpu_args_set(vcpu, 3, t.pt, a, b);
	vcpu_expect_done(vcpu);
	TEST_ASSERT_EQ(gpa_ptr(vm, a)[1], 0x1234);
	kvm_vm_free(vm);
}

/*
 * INVLPG of any address in a 2 MiB page invalidates the whole page's
 * translation, even where a shadow MMU split it in 4 KiB pieces.  The two
 * large pages are guest-physical [0, 2 MiB) and [2 MiB, 4 MiB); the host
 * left a marker at the same offset in each (scratch memory, and the stack
 * area of a vCPU index no test uses).
 */
#define LARGE_OFF	(VM_SCRATCH_GPA + 0x800)

static void guest_invlpg_large(uint64_t pd_gpa)
{
	volatile uint64_t *pd = (uint64_t *)pd_gpa;
	uint64_t va = TEST_VA + LARGE_PAGE_SIZE;

	pd[1] = 0 | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE;
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(va + LARGE_OFF), MAGIC_A);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(va + LARGE_OFF + PAGE_SIZE), 0);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(va + 0x1ff000), 0);

	pd[1] = LARGE_PAGE_SIZE | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE;
	invlpg(va + 0x1ff000);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)(va + LARGE_OFF), MAGIC_B);
	GUEST_DONE();
}

static void invlpg_large_page(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_vm(&vcpu, guest_invlpg_large, &t);

	TEST_ASSERT(VM_STACKS_GPA + vm->nr_vcpus * VM_STACK_SIZE <=
		    LARGE_PAGE_SIZE + LARGE_OFF, "marker inside a used stack");
	gpa_ptr(vm, LARGE_OFF)[0] = MAGIC_A;
	gpa_ptr(vm, LARGE_PAGE_SIZE + LARGE_OFF)[0] = MAGIC_B;
	vcpu_args_set(vcpu, 1, t.pd);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/*
 * Global pages (CR4.PGE): a CR3 load may keep their translations, so
 * nothing is asserted about that; INVLPG and a CR4.PGE toggle must drop
 * them, and a CR3 load must still drop the non-global ones.
 */
#define PTE_GLOBAL	(1ULL << 8)

static inline void set_cr4(uint64_t v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static void guest_global_pages(uint64_t pt_gpa, uint64_t page_a, uint64_t page_b)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;
	volatile uint64_t *g = (uint64_t *)TEST_VA;
	volatile uint64_t *ng = (uint64_t *)(TEST_VA + PAGE_SIZE);
	uint64_t cr4 = get_cr4();

	set_cr4(cr4 | X86_CR4_PGE);
	pt[0] = page_a | PTE_PRESENT | PTE_WRITABLE | PTE_GLOBAL;
	pt[1] = page_a | PTE_PRESENT | PTE_WRITABLE;
	GUEST_ASSERT_EQ(*g, MAGIC_A);
	GUEST_ASSERT_EQ(*ng, MAGIC_A);

	/* A CR3 load drops the non-global translation. */
	pt[0] = page_b | PTE_PRESENT | PTE_WRITABLE | PTE_GLOBAL;
	pt[1] = page_b | PTE_PRESENT | PTE_WRITABLE;
	set_cr3(get_cr3());
	GUEST_ASSERT_EQ(*ng, MAGIC_B);

	/* A CR4.PGE toggle drops the global one. */
	set_cr4(cr4);
	set_cr4(cr4 | X86_CR4_PGE);
	GUEST_ASSERT_EQ(*g, MAGIC_B);

	/* So does INVLPG. */
	pt[0] = page_a | PTE_PRESENT | PTE_WRITABLE | PTE_GLOBAL;
	invlpg(TEST_VA);
	GUEST_ASSERT_EQ(*g, MAGIC_A);

	/* And clearing CR4.PGE. */
	pt[0] = page_b | PTE_PRESENT | PTE_WRITABLE | PTE_GLOBAL;
	set_cr4(cr4);
	GUEST_ASSERT_EQ(*g, MAGIC_B);
	GUEST_DONE();
}

static void global_pages(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_vm(&vcpu, guest_global_pages, &t);
	uint64_t a = data_page(vm, MAGIC_A), b = data_page(vm, MAGIC_B);

	vcpu_args_set(vcpu, 3, t.pt, a, b);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- CR3 switches among many address spaces ---------------------------- */

/*
 * Address space i maps TEST_VA to one of two pages, chosen by the round
 * and written into its PT while another address space is loaded: a CR3
 * load must show the change.
 */
static void guest_cr3_switches(uint64_t spaces_gpa, uint64_t n, uint64_t rounds)
{
	const volatile uint64_t *s = (uint64_t *)spaces_gpa;	/* 4 per space */
	uint64_t home = get_cr3(), r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++) {
			volatile uint64_t *pt = (uint64_t *)s[4 * i + 1];
			uint64_t page = (r & 1) ? s[4 * i + 3] : s[4 * i + 2];

			pt[0] = page | PTE_PRESENT | PTE_WRITABLE;
			set_cr3(s[4 * i]);
			GUEST_ASSERT_EQ(get_cr3(), s[4 * i]);
			GUEST_ASSERT_EQ(*(volatile uint64_t *)TEST_VA,
					((r & 1) ? MAGIC_B : MAGIC_A) + i);
			*(volatile uint64_t *)(TEST_VA + 8) += 1;
		}
	}
	set_cr3(home);
	GUEST_DONE();
}

static void cr3_switches(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_vm(&vcpu, guest_cr3_switches, &t);
	uint64_t spaces = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t *s = gpa_ptr(vm, spaces);
	int i;

	for (i = 0; i < NR_SPACES; i++) {
		uint64_t pml4 = vm_alloc_zeroed(vm, PAGE_SIZE);

		/* The identity map (PML4 slot 0) is shared by all. */
		gpa_ptr(vm, pml4)[0] = gpa_ptr(vm, VM_PML4_GPA)[0];
		map_test_region(vm, pml4, &t);
		s[4 * i] = pml4;
		s[4 * i + 1] = t.pt;
		s[4 * i + 2] = data_page(vm, MAGIC_A + i);
		s[4 * i + 3] = data_page(vm, MAGIC_B + i);
	}
	vcpu_args_set(vcpu, 3, spaces, (uint64_t)NR_SPACES, (uint64_t)CR3_ROUNDS);
	vcpu_expect_done(vcpu);
	for (i = 0; i < NR_SPACES; i++) {
		TEST_ASSERT_EQ(gpa_ptr(vm, s[4 * i + 2])[1], CR3_ROUNDS / 2);
		TEST_ASSERT_EQ(gpa_ptr(vm, s[4 * i + 3])[1], CR3_ROUNDS / 2);
	}
	ktap_print("%d CR3 loads over %d address spaces",
		   NR_SPACES * CR3_ROUNDS, NR_SPACES);
	kvm_vm_free(vm);
}

/* ---- accessed and dirty bits --------------------------------------------- */

static void guest_accessed_dirty(uint64_t pt_gpa, uint64_t pd_gpa,
				 uint64_t pdpt_gpa, uint64_t page)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;
	volatile uint64_t *pd = (uint64_t *)pd_gpa;
	volatile uint64_t *pdpt = (uint64_t *)pdpt_gpa;
	volatile uint64_t *pml4 = (uint64_t *)VM_PML4_GPA;

	pt[0] = page | PTE_PRESENT | PTE_WRITABLE;
	pd[0] &= ~PTE_ACCESSED;
	pdpt[0] &= ~PTE_ACCESSED;
	pml4[1] &= ~PTE_ACCESSED;
	set_cr3(get_cr3());

	/* A read sets A at every level, and not D. */
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA), MAGIC_A);
	GUEST_ASSERT(pt[0] & PTE_ACCESSED);
	GUEST_ASSERT(!(pt[0] & PTE_DIRTY));
	GUEST_ASSERT(pd[0] & PTE_ACCESSED);
	GUEST_ASSERT(pdpt[0] & PTE_ACCESSED);
	GUEST_ASSERT(pml4[1] & PTE_ACCESSED);

	/* A write after that read sets D. */
	guest_try_write(TEST_VA + 8, 1);
	GUEST_ASSERT(pt[0] & PTE_DIRTY);

	/* Cleared and flushed: the next read sets A again, a write D again. */
	pt[0] &= ~(PTE_ACCESSED | PTE_DIRTY);
	invlpg(TEST_VA);
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA), MAGIC_A);
	GUEST_ASSERT_EQ(pt[0] & (PTE_ACCESSED | PTE_DIRTY), PTE_ACCESSED);
	guest_try_write(TEST_VA + 8, 2);
	GUEST_ASSERT_EQ(pt[0] & (PTE_ACCESSED | PTE_DIRTY),
			PTE_ACCESSED | PTE_DIRTY);

	/* A write as the first access sets both. */
	pt[1] = page | PTE_PRESENT | PTE_WRITABLE;
	guest_try_write(TEST_VA + PAGE_SIZE + 16, 3);
	GUEST_ASSERT_EQ(pt[1] & (PTE_ACCESSED | PTE_DIRTY),
			PTE_ACCESSED | PTE_DIRTY);

	/* A faulting write to a read-only page sets no D. */
	pt[2] = page | PTE_PRESENT;
	GUEST_EXPECT_PF(guest_try_write(TEST_VA + 2 * PAGE_SIZE, 4),
			TEST_VA + 2 * PAGE_SIZE, PFEC_P | PFEC_W);
	GUEST_ASSERT(!(pt[2] & PTE_DIRTY));
	GUEST_DONE();
}

static void accessed_dirty(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_vm(&vcpu, guest_accessed_dirty, &t);
	uint64_t page = data_page(vm, MAGIC_A);

	vcpu_args_set(vcpu, 4, t.pt, t.pd, t.pdpt, page);
	vcpu_expect_done(vcpu);
	TEST_ASSERT_EQ(gpa_ptr(vm, page)[1], 2);
	TEST_ASSERT_EQ(gpa_ptr(vm, page)[2], 3);
	kvm_vm_free(vm);
}

/* ---- a guest editing its tables through a mapping of them ------------------ */

/*
 * TEST_VA + 4 KiB maps the PT itself: entries are written through that
 * view.  Then the PD entry is pointed at a second PT, which also maps
 * itself there, and a CR3 reload makes the switch visible.
 */
static void guest_own_tables(uint64_t pt_gpa, uint64_t pd_gpa, uint64_t pt2,
			     uint64_t page_a, uint64_t page_b)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;
	volatile uint64_t *pd = (uint64_t *)pd_gpa;
	volatile uint64_t *view = (uint64_t *)(TEST_VA + PAGE_SIZE);

	pt[1] = pt_gpa | PTE_PRESENT | PTE_WRITABLE;
	GUEST_ASSERT_EQ(view[1] & PTE_ADDR, pt_gpa);

	/* Through the view: not present to present, at once. */
	view[0] = page_a | PTE_PRESENT | PTE_WRITABLE;
	GUEST_ASSERT_EQ(*(volatile uint64_t *)TEST_VA, MAGIC_A);

	/* Through the view: another page, after INVLPG. */
	view[0] = page_b | PTE_PRESENT | PTE_WRITABLE;
	invlpg(TEST_VA);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)TEST_VA, MAGIC_B);

	/* The view can take write access away from itself. */
	view[1] = pt_gpa | PTE_PRESENT;
	invlpg(TEST_VA + PAGE_SIZE);
	GUEST_EXPECT_PF(guest_try_write(TEST_VA + PAGE_SIZE + 16, 0),
			TEST_VA + PAGE_SIZE + 16, PFEC_P | PFEC_W);
	pt[1] = pt_gpa | PTE_PRESENT | PTE_WRITABLE;
	invlpg(TEST_VA + PAGE_SIZE);

	/* A new PT under the same PD entry: visible after a CR3 reload. */
	pd[0] = pt2 | PTE_PRESENT | PTE_WRITABLE;
	set_cr3(get_cr3());
	GUEST_ASSERT_EQ(view[1] & PTE_ADDR, pt2);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)TEST_VA, MAGIC_A);
	view[0] = page_b | PTE_PRESENT | PTE_WRITABLE;
	invlpg(TEST_VA);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)TEST_VA, MAGIC_B);
	GUEST_ASSERT_EQ(((volatile uint64_t *)pt2)[0] & PTE_ADDR, page_b);
	GUEST_DONE();
}

static void own_tables(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_vm(&vcpu, guest_own_tables, &t);
	uint64_t a = data_page(vm, MAGIC_A), b = data_page(vm, MAGIC_B);
	uint64_t pt2 = vm_alloc_zeroed(vm, PAGE_SIZE);

	gpa_ptr(vm, pt2)[0] = a | PTE_PRESENT | PTE_WRITABLE;
	gpa_ptr(vm, pt2)[1] = pt2 | PTE_PRESENT | PTE_WRITABLE;
	vcpu_args_set(vcpu, 5, t.pt, t.pd, pt2, a, b);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/*
 * A recursive mapping (PML4[2] points at the PML4 itself), the classic
 * way an OS reaches its own tables, and a loop for a walker that would
 * follow it: each use of slot 2 climbs one level less.  VA(2, 2, 2, i)
 * is PML4 entry i seen as data, VA(2, 1, 0, 0) the PT of TEST_VA.
 */
#define REC_VA(a, b, c, d) (((uint64_t)(a) << 39) | ((uint64_t)(b) << 30) | \
			    ((uint64_t)(c) << 21) | ((uint64_t)(d) << 12))

static void guest_recursive_tables(uint64_t pt_gpa, uint64_t pdpt_gpa,
				   uint64_t page_a)
{
	volatile uint64_t *pml4 = (uint64_t *)VM_PML4_GPA;
	volatile uint64_t *self = (uint64_t *)REC_VA(2, 2, 2, 2);
	volatile uint64_t *pdpt_view = (uint64_t *)REC_VA(2, 2, 2, 1);
	volatile uint64_t *pt_view = (uint64_t *)REC_VA(2, 1, 0, 0);

	pml4[2] = VM_PML4_GPA | PTE_PRESENT | PTE_WRITABLE;
	GUEST_ASSERT_EQ(self[2] & PTE_ADDR, VM_PML4_GPA);
	GUEST_ASSERT_EQ(self[1] & PTE_ADDR, pdpt_gpa);
	GUEST_ASSERT_EQ(pdpt_view[0] & PTE_ADDR,
			((volatile uint64_t *)pdpt_gpa)[0] & PTE_ADDR);

	/* Map TEST_VA by writing its PT through the recursive view. */
	pt_view[0] = page_a | PTE_PRESENT | PTE_WRITABLE;
	GUEST_ASSERT_EQ(((volatile uint64_t *)pt_gpa)[0] & PTE_ADDR, page_a);
	GUEST_ASSERT_EQ(*(volatile uint64_t *)TEST_VA, MAGIC_A);

	/* Take the recursive slot away: its addresses fault again. */
	pml4[2] = 0;
	set_cr3(get_cr3());
	GUEST_EXPECT_PF(guest_try_read(REC_VA(2, 2, 2, 2)), REC_VA(2, 2, 2, 2), 0);
	GUEST_DONE();
}

static void recursive_tables(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_vm(&vcpu, guest_recursive_tables, &t);
	uint64_t a = data_page(vm, MAGIC_A);

	vcpu_args_set(vcpu, 3, t.pt, t.pdpt, a);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- tables outside guest memory ----------------------------------------- */

static inline uint32_t guest_maxphyaddr(void)
{
	uint32_t eax = 0x80000008, ebx, ecx = 0, edx;

	asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	return eax & 0xff;
}

/*
 * A PD entry whose address has a bit at or above MAXPHYADDR set is
 * reserved: #PF with P and RSVD (SDM vol 3, 4.7; APM vol 2, 5.3.1).
 * Then a PT in guest-physical space that no memslot backs: see
 * check_hole_outcome() for what the guest's reads of TEST_VA give.
 */
#define HOLE_MMIO_DATA	0x1122334455667788ULL

static void guest_bad_tables(uint64_t pd_gpa, uint64_t pt_gpa, uint64_t hole)
{
	volatile uint64_t *pd = (uint64_t *)pd_gpa;
	uint32_t maxphy = guest_maxphyaddr();
	uint64_t v;

	GUEST_ASSERT(maxphy >= 36 && maxphy <= 52);
	if (maxphy < 52) {
		pd[0] = pt_gpa | (1ULL << maxphy) | PTE_PRESENT | PTE_WRITABLE;
		set_cr3(get_cr3());
		/*
		 * Hardware sets P with RSVD; the bed's nested-paging walker
		 * (QEMU TCG) leaves it clear: P is not checked.
		 */
		pf_err = 0;
		GUEST_EXPECT_PF(guest_try_read(TEST_VA), TEST_VA,
				(pf_err & PFEC_P) | PFEC_RSVD);
		GUEST_EXPECT_PF(guest_try_write(TEST_VA, 1), TEST_VA,
				(pf_err & PFEC_P) | PFEC_W | PFEC_RSVD);
	}
	GUEST_SYNC(maxphy);
	pd[0] = hole | PTE_PRESENT | PTE_WRITABLE;
	set_cr3(get_cr3());
	pf_count = 0;
	pf_err = ~0ULL;
	v = guest_try_read(TEST_VA);
	GUEST_SYNC(pf_count, pf_err, pf_cr2, v);
	/* At another page offset than TEST_VA's PTE: a fault everywhere. */
	GUEST_EXPECT_PF(guest_try_read(TEST_VA + 0x10), TEST_VA + 0x10, 0);
	GUEST_EXPECT_PF(guest_try_write(TEST_VA + 0x20, 1), TEST_VA + 0x20,
			PFEC_W);
	GUEST_DONE();
}

/* The guest's CPUID says what KVM supports, MAXPHYADDR included. */
static void set_supported_cpuid(struct kvm_vcpu *vcpu)
{
	static struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} cpuid;

	cpuid.c.nent = 100;
	kvm_ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, &cpuid);
}

/*
 * Where no memory backs a paging structure, shadow paging (npt=0) reports
 * an architected not-present #PF.  Nested paging (npt=1) takes a nested
 * page fault on the walk's read of the PTE and emulates the instruction;
 * upstream's emulator then sends the data access whose page offset is the
 * fault address's to that address without walking again: the read of
 * TEST_VA (offset 0, like its PTE's) becomes an MMIO read of the table's
 * address and returns what userspace answers.  ukvm does the same.
 */
static void check_hole_outcome(struct kvm_vcpu *vcpu, uint64_t hole)
{
	struct kvm_run *run = vcpu->run;
	int npt = kvm_backend_npt();
	struct ucall uc;
	char buf[256];

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_SYNC) {
		ktap_print("PT at 0x%llx (no memslot): #PF, error code 0x%llx",
			   (unsigned long long)hole,
			   (unsigned long long)uc.args[1]);
		TEST_ASSERT(npt != 1, "a #PF with npt=1: expected an MMIO read");
		TEST_ASSERT_EQ(uc.args[0], 1);
		TEST_ASSERT_EQ(uc.args[1], 0);
		TEST_ASSERT_EQ(uc.args[2], TEST_VA);
		TEST_ASSERT_EQ(uc.args[3], 0);
		vcpu_expect_done(vcpu);
		return;
	}
	vcpu_describe_exit(vcpu, buf, sizeof(buf));
	ktap_print("PT at 0x%llx (no memslot): exit %s",
		   (unsigned long long)hole, buf);
	TEST_ASSERT(npt != 0, "exit %s with npt=0: expected a #PF", buf);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(run->mmio.is_write, 0);
	TEST_ASSERT_EQ(run->mmio.phys_addr, hole);
	TEST_ASSERT_EQ(run->mmio.len, 8);
	memcpy(run->mmio.data, &(uint64_t){ HOLE_MMIO_DATA }, 8);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0);		/* no fault */
	TEST_ASSERT_EQ(uc.args[3], HOLE_MMIO_DATA);
	vcpu_expect_done(vcpu);
}

static void bad_tables(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_vm(&vcpu, guest_bad_tables, &t);
	/* Below 4 GiB (identity mapped) and far above memslot 0. */
	uint64_t hole = 3ULL << 30;
	struct ucall uc;

	set_supported_cpuid(vcpu);
	vcpu_args_set(vcpu, 3, t.pd, t.pt, hole);
	vcpu_expect_sync(vcpu, &uc);
	ktap_print("guest MAXPHYADDR %llu", (unsigned long long)uc.args[0]);
	check_hole_outcome(vcpu, hole);
	kvm_vm_free(vm);
}

/* ---- one page-table page at two levels ------------------------------------ */

/*
 * T is the PT of TEST_VA and the PD of TEST_VA + 1 GiB; T[1] = T, so T is
 * also the PT of TEST_VA + 1 GiB + 2 MiB.  Q (T[0]) is data at TEST_VA and
 * a PT at TEST_VA + 1 GiB.  Each write goes through one of those views and
 * must show in the others after a CR3 load: a shadow MMU holds T and Q in
 * several roles at once.
 */
#define TWO_LEVEL_PD_VA	(TEST_VA + (1ULL << 30))
#define TWO_LEVEL_PT_VA	(TWO_LEVEL_PD_VA + LARGE_PAGE_SIZE)

static uint64_t read_va(uint64_t va)
{
	return *(volatile uint64_t *)va;
}

static void write_va(uint64_t va, uint64_t v)
{
	*(volatile uint64_t *)va = v;
}

static void guest_table_two_levels(uint64_t t, uint64_t q, uint64_t r,
				   uint64_t d1, uint64_t d2)
{
	const uint64_t rw = PTE_PRESENT | PTE_WRITABLE;

	/* Q as data (word 0 is its PTE for D1), and as the PT mapping D1. */
	GUEST_ASSERT_EQ(read_va(TEST_VA) & PTE_ADDR, d1);
	GUEST_ASSERT_EQ(read_va(TWO_LEVEL_PD_VA), MAGIC_A);
	/* T as a PT seen through T: its entry 0 is Q, seen as data. */
	GUEST_ASSERT_EQ(read_va(TWO_LEVEL_PT_VA) & PTE_ADDR, d1);
	/* T as data through its own entry 1. */
	GUEST_ASSERT_EQ(read_va(TEST_VA + PAGE_SIZE) & PTE_ADDR, q);
	GUEST_ASSERT_EQ(read_va(TEST_VA + PAGE_SIZE + 8) & PTE_ADDR, t);

	/* Write Q as data: the PT of TWO_LEVEL_PD_VA changes. */
	write_va(TEST_VA, d2 | rw);
	set_cr3(get_cr3());
	GUEST_ASSERT_EQ(read_va(TWO_LEVEL_PD_VA), MAGIC_B);
	GUEST_ASSERT_EQ(read_va(TWO_LEVEL_PT_VA) & PTE_ADDR, d2);

	/* Write T through its self-map: T[0] = R at every level at once. */
	write_va(TEST_VA + PAGE_SIZE, r | rw);
	set_cr3(get_cr3());
	GUEST_ASSERT_EQ(read_va(TEST_VA) & PTE_ADDR, d1);	/* R[0] */
	GUEST_ASSERT_EQ(read_va(TWO_LEVEL_PD_VA), MAGIC_A);
	GUEST_ASSERT_EQ(((volatile uint64_t *)t)[0] & PTE_ADDR, r);

	/* Write R as data through the two-level view, read it as a PT. */
	write_va(TWO_LEVEL_PT_VA, d2 | rw);
	set_cr3(get_cr3());
	GUEST_ASSERT_EQ(read_va(TWO_LEVEL_PD_VA), MAGIC_B);
	GUEST_ASSERT_EQ(read_va(TEST_VA) & PTE_ADDR, d2);

	/* T loses entry 1: its self-maps fault. */
	write_va(TEST_VA + PAGE_SIZE + 8, 0);
	set_cr3(get_cr3());
	GUEST_EXPECT_PF(guest_try_read(TEST_VA + PAGE_SIZE + 8),
			TEST_VA + PAGE_SIZE + 8, 0);
	GUEST_EXPECT_PF(guest_try_read(TWO_LEVEL_PT_VA), TWO_LEVEL_PT_VA, 0);
	GUEST_ASSERT_EQ(read_va(TWO_LEVEL_PD_VA), MAGIC_B);
	GUEST_DONE();
}

static void table_two_levels(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables tt;
	struct kvm_vm *vm = create_vm(&vcpu, guest_table_two_levels, &tt);
	uint64_t d1 = data_page(vm, MAGIC_A), d2 = data_page(vm, MAGIC_B);
	uint64_t q = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t r = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t t = tt.pt, rw = PTE_PRESENT | PTE_WRITABLE;

	gpa_ptr(vm, tt.pdpt)[1] = t | rw;
	gpa_ptr(vm, t)[0] = q | rw;
	gpa_ptr(vm, t)[1] = t | rw;
	gpa_ptr(vm, q)[0] = d1 | rw;
	gpa_ptr(vm, r)[0] = d1 | rw;
	vcpu_args_set(vcpu, 5, t, q, r, d1, d2);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/*
 * Two address spaces sharing their PDPT, PD and PT (only the PML4s
 * differ): a change made in one is seen in the other after its CR3 load,
 * then the second one's PML4 slot moves to tables of its own.
 */
static void guest_shared_tables(uint64_t pml4_b, uint64_t pd_gpa,
				uint64_t pt_gpa, uint64_t pt2, uint64_t pdpt_b,
				uint64_t page_a_b)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;
	volatile uint64_t *pd = (uint64_t *)pd_gpa;
	uint64_t page_a = page_a_b & 0xffffffffULL, page_b = page_a_b >> 32;
	uint64_t pml4_a = get_cr3();
	const uint64_t rw = PTE_PRESENT | PTE_WRITABLE;

	pt[0] = page_a | rw;
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_A);
	set_cr3(pml4_b);
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_A);

	/* A PTE changed in B shows in A. */
	pt[0] = page_b | rw;
	invlpg(TEST_VA);
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_B);
	set_cr3(pml4_a);
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_B);

	/* A PD entry changed in A shows in B. */
	pd[0] = pt2 | rw;
	set_cr3(pml4_b);
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_A);

	/* B's slot 1 moves to its own tables; A keeps the shared ones. */
	((volatile uint64_t *)pml4_b)[1] = pdpt_b | rw;
	set_cr3(pml4_b);
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_B);
	set_cr3(pml4_a);
	GUEST_ASSERT_EQ(read_va(TEST_VA), MAGIC_A);
	GUEST_DONE();
}

static void shared_tables(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t, tb;
	struct kvm_vm *vm = create_vm(&vcpu, guest_shared_tables, &t);
	uint64_t a = data_page(vm, MAGIC_A), b = data_page(vm, MAGIC_B);
	uint64_t pml4_b = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t pml4_c = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t pt2 = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t rw = PTE_PRESENT | PTE_WRITABLE;

	TEST_ASSERT(a < (1ULL << 32) && b < (1ULL << 32), "pages above 4 GiB");
	gpa_ptr(vm, pml4_b)[0] = gpa_ptr(vm, VM_PML4_GPA)[0];
	gpa_ptr(vm, pml4_b)[1] = gpa_ptr(vm, VM_PML4_GPA)[1];
	gpa_ptr(vm, pt2)[0] = a | rw;
	/* B's own tables, built under a scratch PML4, map page B. */
	map_test_region(vm, pml4_c, &tb);
	gpa_ptr(vm, tb.pt)[0] = b | rw;
	vcpu_args_set(vcpu, 6, pml4_b, t.pd, t.pt, pt2, tb.pdpt, a | b << 32);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- 32-bit guests: 2-level and PAE paging -------------------------------- */

#define LEGACY_PORT	0xe0	/* an 8-bit port: OUT imm8 */
#define LEGACY_VA	0x40000000ULL	/* 1 GiB: its own PT */
#define LEGACY_LARGE_VA	(LEGACY_VA + (4ULL << 20))
#define LEGACY_IDENTITY	(16ULL << 20)	/* low 16 MiB identity-mapped */

/*
 * 32-bit code, entered in flat protected mode with paging on: EBX = the
 * PT, ESI/EDI = pages A/B, EDX = an address inside a large page.  Each
 * result goes to the host with OUT; the entries' low dwords have the same
 * layout in both formats, so one body serves 2-level and PAE paging.
 */
asm(".pushsection .text\n"
    ".code32\n"
    ".globl legacy_paging_code\n"
    "legacy_paging_code:\n"
    "	mov %esi, %eax\n"
    "	or $3, %eax\n"
    "	mov %eax, (%ebx)\n"		/* not present -> A: no flush */
    "	mov 0x40000000, %eax\n"
    "	out %eax, $0xe0\n"
    "	mov %edi, %eax\n"
    "	or $3, %eax\n"
    "	mov %eax, (%ebx)\n"		/* A -> B, then INVLPG */
    "	invlpg 0x40000000\n"
    "	mov 0x40000000, %eax\n"
    "	out %eax, $0xe0\n"
    "	mov (%ebx), %eax\n"		/* A set, D clear */
    "	out %eax, $0xe0\n"
    "	movl $5, 0x40000008\n"
    "	mov (%ebx), %eax\n"		/* D set */
    "	out %eax, $0xe0\n"
    "	mov (%edx), %eax\n"		/* through a large page */
    "	out %eax, $0xe0\n"
    "	movl $0, (%ebx)\n"		/* unmapped, CR3 reloaded, remapped */
    "	mov %cr3, %eax\n"
    "	mov %eax, %cr3\n"
    "	mov %esi, %eax\n"
    "	or $3, %eax\n"
    "	mov %eax, (%ebx)\n"
    "	mov 0x40000000, %eax\n"
    "	out %eax, $0xe0\n"
    "	hlt\n"
    ".code64\n"
    ".popsection\n");

extern char legacy_paging_code[];

static void flat32_segment(struct kvm_segment *s, uint8_t type, uint16_t sel)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->s = 1;
	s->present = 1;
	s->db = 1;
	s->g = 1;
}

static uint32_t legacy_expect_out(struct kvm_vcpu *vcpu)
{
	uint32_t v;

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, LEGACY_PORT);
	TEST_ASSERT_EQ(vcpu->run->io.size, 4);
	memcpy(&v, vcpu_io_data(vcpu), 4);
	return v;
}

/* Build the tables, enter the 32-bit code, check what it reports. */
static void legacy_paging(bool pae)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, NULL);
	uint64_t large = pae ? LARGE_PAGE_SIZE : 4ULL << 20;
	uint64_t a = data_page(vm, 0x1111aaaa), b = data_page(vm, 0x2222bbbb);
	uint64_t pt = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t root = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t code = (uint64_t)(uintptr_t)legacy_paging_code;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint64_t i, pte, flags = PTE_PRESENT | PTE_WRITABLE;

	TEST_ASSERT(vm->alloc_end <= LEGACY_IDENTITY && code < LEGACY_IDENTITY,
		    "memslot 0 beyond the 32-bit identity map");
	if (pae) {
		uint64_t pd0 = vm_alloc_zeroed(vm, PAGE_SIZE);
		uint64_t pd1 = vm_alloc_zeroed(vm, PAGE_SIZE);

		/* PDPTEs have P only (APM vol 2, 5.3.3). */
		gpa_ptr(vm, root)[0] = pd0 | PTE_PRESENT;
		gpa_ptr(vm, root)[1] = pd1 | PTE_PRESENT;
		for (i = 0; i < LEGACY_IDENTITY / large; i++)
			gpa_ptr(vm, pd0)[i] = i * large | flags | PTE_LARGE;
		gpa_ptr(vm, pd1)[0] = pt | flags;
		gpa_ptr(vm, pd1)[2] = (a & ~(large - 1)) | flags | PTE_LARGE;
	} else {
		uint32_t *pd = (uint32_t *)gpa_ptr(vm, root);

		for (i = 0; i < LEGACY_IDENTITY / large; i++)
			pd[i] = i * large | flags | PTE_LARGE;
		pd[LEGACY_VA >> 22] = pt | flags;
		pd[LEGACY_LARGE_VA >> 22] = (a & ~(large - 1)) | flags | PTE_LARGE;
	}

	vcpu_sregs_get(vcpu, &sregs);
	flat32_segment(&sregs.cs, 0xb, 0x08);
	flat32_segment(&sregs.ds, 0x3, 0x10);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP |
		    X86_CR0_PG;
	sregs.cr4 = pae ? X86_CR4_PAE : X86_CR4_PSE;
	sregs.efer = 0;
	sregs.cr3 = root;
	vcpu_sregs_set(vcpu, &sregs);
	memset(&regs, 0, sizeof(regs));
	regs.rip = code;
	regs.rflags = X86_EFLAGS_FIXED;
	regs.rbx = pt;
	regs.rsi = a;
	regs.rdi = b;
	regs.rdx = LEGACY_LARGE_VA + (a & (large - 1));
	vcpu_regs_set(vcpu, &regs);

	TEST_ASSERT_EQ(legacy_expect_out(vcpu), 0x1111aaaa);
	TEST_ASSERT_EQ(legacy_expect_out(vcpu), 0x2222bbbb);
	pte = legacy_expect_out(vcpu);
	TEST_ASSERT_EQ(pte & ~0xfffULL, b);
	TEST_ASSERT_EQ(pte & (PTE_ACCESSED | PTE_DIRTY), PTE_ACCESSED);
	pte = legacy_expect_out(vcpu);
	TEST_ASSERT_EQ(pte & (PTE_ACCESSED | PTE_DIRTY),
		       PTE_ACCESSED | PTE_DIRTY);
	TEST_ASSERT_EQ(legacy_expect_out(vcpu), 0x1111aaaa);
	TEST_ASSERT_EQ(legacy_expect_out(vcpu), 0x1111aaaa);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	TEST_ASSERT_EQ(gpa_ptr(vm, b)[1], 5);
	kvm_vm_free(vm);
}

static void legacy_2level(void)
{
	legacy_paging(false);
}

static void legacy_pae(void)
{
	legacy_paging(true);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(pte_changes),
		KTAP_CASE(invlpg_large_page),
		KTAP_CASE(global_pages),
		KTAP_CASE(cr3_switches),
		KTAP_CASE(accessed_dirty),
		KTAP_CASE(own_tables),
		KTAP_CASE(recursive_tables),
		KTAP_CASE(table_two_levels),
		KTAP_CASE(shared_tables),
		KTAP_CASE(bad_tables),
		KTAP_CASE(legacy_2level),
		KTAP_CASE(legacy_pae),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory backed by 2 MiB-aligned transparent huge pages and mapped
 * by the guest with 2 MiB (and, where CPUID offers them, 1 GiB) pages: the
 * case where a shadow MMU (npt=0) or a nested one (npt=1) may install
 * 2 MiB leaves.
 *
 * Cases: data through the large mappings (and fewer exits than over the
 * same memory backed by 4 KiB pages); guest page tables placed inside a
 * large-mapped range and edited, data beside them; the tables freed and
 * their frames used as data again; dirty logging of a large-mapped slot
 * (exactly the written 4 KiB pages, round after round); a flood of writes
 * to such a page table.
 *
 * Needs THP in L1 (madvise or always): each case skips, with the reason,
 * when the slot's memory is not backed by huge pages.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kvm_util.h"

#define MB		(1ULL << 20)
#define BIG_SLOT	1
#define BIG_GPA		(1ULL << 30)	/* 1 GiB aligned, 2 MiB-mapped by the library */
#define BIG_SIZE	(8 * MB)
#define BIG_PAGES	(BIG_SIZE / PAGE_SIZE)

/* pml4[1]: page tables of the test (inside BIG, or a 1 GiB PDPT). */
#define TEST_VA		0x8000000000ULL
/* With the 1 GiB PDPT in pml4[1]: entry 1 maps GPA 1 GiB here. */
#define GIG_VA		(TEST_VA + (1ULL << 30))

/* Tables placed inside the third 2 MiB of BIG. */
#define TBL_PDPT	(BIG_GPA + 4 * MB + 0x1000)
#define TBL_PD		(TBL_PDPT + 0x1000)
#define TBL_PT		(TBL_PD + 0x1000)
#define TBL_END		(TBL_PT + 0x1000)

enum { C_DATA, C_DATA_1G, C_PT, C_PT_FREED, C_DIRTY, C_FLOOD };

#define PTE_PS		PTE_LARGE
#define RW		(PTE_PRESENT | PTE_WRITABLE)
#define PTE_AD		(3ULL << 5)	/* accessed, dirty */

static uint64_t pat(uint64_t off, uint64_t round)
{
	return (off * 0x9e3779b97f4a7c15ULL) ^ (round << 56) ^ 0x5a5a5a5aULL;
}

static inline void invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void flush_all(void)
{
	uint64_t cr3 = get_cr3();

	asm volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

#define QW(a) (*(volatile uint64_t *)(uintptr_t)(a))

/* Both ends of each 4 KiB page of BIG through @base (a VA of its start). */
static void guest_fill(uint64_t base, uint64_t from, uint64_t to, uint64_t round)
{
	uint64_t i;

	for (i = from; i < to; i += PAGE_SIZE) {
		QW(base + i) = pat(i, round);
		QW(base + i + PAGE_SIZE - 8) = ~pat(i, round);
	}
}

static void guest_check(uint64_t base, uint64_t from, uint64_t to, uint64_t round)
{
	uint64_t i;

	for (i = from; i < to; i += PAGE_SIZE) {
		GUEST_ASSERT_EQ(QW(base + i), pat(i, round));
		GUEST_ASSERT_EQ(QW(base + i + PAGE_SIZE - 8), ~pat(i, round));
	}
}

static bool in_tables(uint64_t off)
{
	return BIG_GPA + off >= TBL_PDPT && BIG_GPA + off < TBL_END;
}

/* Fill BIG except the table pages, in round @round. */
static void guest_fill_beside(uint64_t round)
{
	uint64_t i;

	for (i = 0; i < BIG_SIZE; i += PAGE_SIZE)
		if (!in_tables(i))
			guest_fill(BIG_GPA, i, i + PAGE_SIZE, round);
}

static void guest_check_beside(uint64_t round)
{
	uint64_t i;

	for (i = 0; i < BIG_SIZE; i += PAGE_SIZE)
		if (!in_tables(i))
			guest_check(BIG_GPA, i, i + PAGE_SIZE, round);
}

/*
 * Build PDPT -> PD -> PT inside BIG (a range the guest maps with 2 MiB
 * pages and that may be shadowed by a 2 MiB leaf), hook it at pml4[1] and
 * use it: TEST_VA + n * 4 KiB -> BIG + 6 MiB + n * 4 KiB.
 */
static void guest_build_tables(void)
{
	volatile uint64_t *pml4 = (volatile uint64_t *)VM_PML4_GPA;
	uint64_t i;

	for (i = TBL_PDPT; i < TBL_END; i += 8)
		QW(i) = 0;
	QW(TBL_PDPT) = TBL_PD | RW;
	QW(TBL_PD) = TBL_PT | RW;
	for (i = 0; i < 4; i++)
		QW(TBL_PT + i * 8) = (BIG_GPA + 6 * MB + i * PAGE_SIZE) | RW;
	pml4[1] = TBL_PDPT | RW;
	flush_all();
	for (i = 0; i < 4; i++)
		GUEST_ASSERT_EQ(QW(TEST_VA + i * PAGE_SIZE), pat(6 * MB + i * PAGE_SIZE, 1));
}

/* The tables are in use (shadowed): edits must take effect. */
static void guest_edit_tables(void)
{
	QW(TBL_PT) = (BIG_GPA + 6 * MB + 8 * PAGE_SIZE) | RW;
	invlpg(TEST_VA);
	GUEST_ASSERT_EQ(QW(TEST_VA), pat(6 * MB + 8 * PAGE_SIZE, 1));
	/* A write through the new mapping lands in the right frame. */
	QW(TEST_VA + 16) = 0x1234;
	GUEST_ASSERT_EQ(QW(BIG_GPA + 6 * MB + 8 * PAGE_SIZE + 16), 0x1234);
	/* Not present, then present again at another frame. */
	QW(TBL_PT + 8) = 0;
	invlpg(TEST_VA + PAGE_SIZE);
	QW(TBL_PT + 8) = (BIG_GPA + 2 * MB + 3 * PAGE_SIZE) | RW;
	invlpg(TEST_VA + PAGE_SIZE);
	GUEST_ASSERT_EQ(QW(TEST_VA + PAGE_SIZE), pat(2 * MB + 3 * PAGE_SIZE, 1));
	/* A 2 MiB page in the PD inside BIG, then gone again. */
	QW(TBL_PD + 8) = (BIG_GPA + 2 * MB) | RW | PTE_PS;
	invlpg(TEST_VA + 2 * MB);
	GUEST_ASSERT_EQ(QW(TEST_VA + 2 * MB + 5 * PAGE_SIZE), pat(2 * MB + 5 * PAGE_SIZE, 1));
	QW(TBL_PD + 8) = 0;
	invlpg(TEST_VA + 2 * MB + 5 * PAGE_SIZE);
	/* Data beside the tables, in the same 2 MiB, rewritten and read back. */
	guest_fill_beside(2);
	guest_check_beside(2);
}

static void guest_flood(void)
{
	uint64_t round, e;

	for (round = 0; round < 16; round++) {
		for (e = 0; e < 512; e++)
			QW(TBL_PT + e * 8) =
				(BIG_GPA + ((e + round) % 1024) * PAGE_SIZE) | RW;
		flush_all();
		for (e = round; e < 512; e += 37)
			GUEST_ASSERT_EQ(QW(TEST_VA + e * PAGE_SIZE + PAGE_SIZE - 8),
					~pat(((e + round) % 1024) * PAGE_SIZE, 2));
		/* Data in the same 2 MiB as the table, between the edits. */
		QW(BIG_GPA + 4 * MB + (round + 8) * PAGE_SIZE) = round;
	}
	for (round = 0; round < 16; round++) {
		GUEST_ASSERT_EQ(QW(BIG_GPA + 4 * MB + (round + 8) * PAGE_SIZE), round);
		QW(BIG_GPA + 4 * MB + (round + 8) * PAGE_SIZE) =
			pat(4 * MB + (round + 8) * PAGE_SIZE, 2);
	}
}

/*
 * Pages the guest writes in dirty-log round @r (1 or 2).  One 2 MiB of the
 * four gets no write in each round.
 */
static uint64_t clean_2m(uint64_t r)
{
	return r == 1 ? 1 : 3;
}

static bool dirty_page(uint64_t page, uint64_t r)
{
	if (page / 512 == clean_2m(r))
		return false;
	if (r == 1)
		return page % 3 == 0 || page % 512 == 511;
	return page % 5 == 1 || page % 512 == 0;
}

static void guest_code(uint64_t which)
{
	uint64_t i, r;

	guest_fill(BIG_GPA, 0, BIG_SIZE, 1);
	guest_check(BIG_GPA, 0, BIG_SIZE, 1);
	GUEST_SYNC(1);

	switch (which) {
	case C_DATA:
		/* The host rewrote every page. */
		guest_check(BIG_GPA, 0, BIG_SIZE, 3);
		break;
	case C_DATA_1G:
		/* The same frames through the 1 GiB page. */
		guest_check(GIG_VA, 0, BIG_SIZE, 1);
		guest_fill(GIG_VA, 0, BIG_SIZE, 2);
		guest_check(BIG_GPA, 0, BIG_SIZE, 2);
		break;
	case C_PT:
	case C_PT_FREED:
	case C_FLOOD:
		guest_build_tables();
		guest_edit_tables();
		if (which == C_FLOOD)
			guest_flood();
		if (which == C_PT_FREED) {
			((volatile uint64_t *)VM_PML4_GPA)[1] = 0;
			flush_all();
			/* The table frames are data again. */
			guest_fill(BIG_GPA, TBL_PDPT - BIG_GPA, TBL_END - BIG_GPA, 2);
			for (r = 0; r < 64; r++)
				for (i = TBL_PDPT; i < TBL_END; i += 64)
					QW(i + 8) = r ^ i;
			for (i = TBL_PDPT; i < TBL_END; i += 64)
				GUEST_ASSERT_EQ(QW(i + 8), 63 ^ i);
			guest_fill(BIG_GPA, 0, BIG_SIZE, 2);
			guest_check(BIG_GPA, 0, BIG_SIZE, 2);
		}
		break;
	case C_DIRTY:
		/*
		 * The host turned dirty logging on (and read the log).  No
		 * reads while logging: kvm-amd's shadow MMU logs a page that
		 * a read maps writable (its guest PTE is dirty).
		 */
		for (r = 1; r <= 2; r++) {
			for (i = 0; i < BIG_PAGES; i++)
				if (dirty_page(i, r))
					QW(BIG_GPA + i * PAGE_SIZE + 8 * r) = pat(i, r);
			GUEST_SYNC(r + 1);
		}
		guest_check(BIG_GPA, 0, BIG_SIZE, 1);
		break;
	}
	GUEST_DONE();
}

struct big {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint8_t *raw, *mem;
};

/* AnonHugePages (kB) of the mapping that holds @addr. */
static long anon_huge_kb(void *addr)
{
	unsigned long lo, hi, a = (unsigned long)addr;
	char line[512];
	bool in = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	TEST_ASSERT(f, "/proc/self/smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		/* Field lines ("AnonHugePages: ...") never parse as a range. */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static void thp_setting(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	snprintf(buf, len, "none");
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/* A VM with BIG in slot 1: THP-backed (or 4 KiB-backed if !huge). */
static void big_create(struct big *b, uint64_t which, bool huge)
{
	char thp[128];
	long kb;

	b->vm = vm_create_with_one_vcpu(&b->vcpu, guest_code);
	vcpu_args_set(b->vcpu, 1, which);
	b->raw = mmap(NULL, BIG_SIZE + 2 * MB, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(b->raw != MAP_FAILED, "mmap: %s", strerror(errno));
	b->mem = (uint8_t *)(((uintptr_t)b->raw + 2 * MB - 1) & ~(2 * MB - 1));
	TEST_ASSERT_OK(madvise(b->mem, BIG_SIZE,
			       huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE));
	memset(b->mem, 0, BIG_SIZE);
	kb = anon_huge_kb(b->mem);
	if (huge && kb < (long)(BIG_SIZE >> 10)) {
		thp_setting(thp, sizeof(thp));
		ktap_skip("THP does not back the slot (AnonHugePages %ld kB of %llu; "
			  "transparent_hugepage/enabled: %s)", kb,
			  (unsigned long long)(BIG_SIZE >> 10), thp);
	}
	if (!huge)
		TEST_ASSERT_EQ(kb, 0);
	vm_set_user_memory_region(b->vm, BIG_SLOT, 0, BIG_GPA, BIG_SIZE, b->mem);
}

static void big_free(struct big *b)
{
	kvm_vm_free(b->vm);
	munmap(b->raw, BIG_SIZE + 2 * MB);
}

static void host_check(struct big *b, uint64_t from, uint64_t to, uint64_t round)
{
	uint64_t i;

	for (i = from; i < to; i += PAGE_SIZE) {
		TEST_ASSERT_EQ(*(uint64_t *)(b->mem + i), pat(i, round));
		TEST_ASSERT_EQ(*(uint64_t *)(b->mem + i + PAGE_SIZE - 8), ~pat(i, round));
	}
}

static uint64_t exits(struct kvm_vcpu *vcpu)
{
	uint64_t v;

	TEST_ASSERT(vcpu_stat_read(vcpu, "exits", &v), "no \"exits\" statistic");
	return v;
}

/* Run C_DATA over huge or 4 KiB backing; return the vCPU's exits. */
static uint64_t data_run(bool huge)
{
	struct ucall uc;
	struct big b;
	uint64_t i, n;

	big_create(&b, C_DATA, huge);
	vcpu_expect_sync(b.vcpu, &uc);
	host_check(&b, 0, BIG_SIZE, 1);
	for (i = 0; i < BIG_SIZE; i += PAGE_SIZE) {
		*(uint64_t *)(b.mem + i) = pat(i, 3);
		*(uint64_t *)(b.mem + i + PAGE_SIZE - 8) = ~pat(i, 3);
	}
	vcpu_expect_done(b.vcpu);
	n = exits(b.vcpu);
	big_free(&b);
	return n;
}

static void data_2m(void)
{
	uint64_t huge = data_run(true), small = data_run(false);

	ktap_print("exits: %llu over THP, %llu over 4 KiB pages",
		   (unsigned long long)huge, (unsigned long long)small);
	/* 2 MiB leaves (NPT or shadow): 4 first-touch faults, not 2048. */
	TEST_ASSERT(huge * 2 < small, "2 MiB leaves should save exits");
}

static void data_1g(void)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} cpuid;
	uint64_t *pdpt, pdpt_gpa;
	struct ucall uc;
	struct big b;
	bool gb = false;
	uint32_t i;

	big_create(&b, C_DATA_1G, true);
	cpuid.c.nent = 100;
	kvm_ioctl(b.vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid);
	for (i = 0; i < cpuid.c.nent; i++)
		if (cpuid.e[i].function == 0x80000001)
			gb = cpuid.e[i].edx & (1u << 26);
	TEST_REQUIRE(gb, "KVM does not offer 1 GiB pages (CPUID 0x80000001 EDX[26])");
	vcpu_ioctl(b.vcpu, KVM_SET_CPUID2, &cpuid);

	pdpt_gpa = vm_alloc_zeroed(b.vm, PAGE_SIZE);
	pdpt = addr_gpa2hva(b.vm, pdpt_gpa);
	pdpt[1] = BIG_GPA | RW | PTE_PS;
	((uint64_t *)addr_gpa2hva(b.vm, VM_PML4_GPA))[1] = pdpt_gpa | RW;

	vcpu_expect_sync(b.vcpu, &uc);
	host_check(&b, 0, BIG_SIZE, 1);
	vcpu_expect_done(b.vcpu);
	host_check(&b, 0, BIG_SIZE, 2);
	big_free(&b);
}

static void pt_case(uint64_t which)
{
	struct ucall uc;
	struct big b;
	uint64_t i;

	big_create(&b, which, true);
	vcpu_expect_sync(b.vcpu, &uc);
	vcpu_expect_done(b.vcpu);
	if (which == C_PT_FREED) {
		host_check(&b, 0, BIG_SIZE, 2);
	} else {
		/* The data beside the tables, as the guest left it. */
		for (i = 0; i < BIG_SIZE; i += PAGE_SIZE)
			if (!in_tables(i))
				host_check(&b, i, i + PAGE_SIZE, 2);
		/* The last PTE written (the walk may have set A and D). */
		TEST_ASSERT_EQ(*(uint64_t *)(b.mem + TBL_PT - BIG_GPA) & ~PTE_AD,
			       (uint64_t)(which == C_FLOOD ?
			       (BIG_GPA + 15 * PAGE_SIZE) :
			       (BIG_GPA + 6 * MB + 8 * PAGE_SIZE)) | RW);
	}
	big_free(&b);
}

static void pt_inside_2m(void)
{
	pt_case(C_PT);
}

static void pt_freed_reused(void)
{
	pt_case(C_PT_FREED);
}

static void write_flood(void)
{
	pt_case(C_FLOOD);
}

static void dirty_log_2m(void)
{
	uint64_t bitmap[BIG_PAGES / 64];
	struct kvm_dirty_log l = { .slot = BIG_SLOT, .dirty_bitmap = bitmap };
	struct ucall uc;
	struct big b;
	uint64_t i, r, extra;
	bool set;

	big_create(&b, C_DIRTY, true);
	/* The guest has written every page: large leaves are in place. */
	vcpu_expect_sync(b.vcpu, &uc);
	vm_set_user_memory_region(b.vm, BIG_SLOT, KVM_MEM_LOG_DIRTY_PAGES,
				  BIG_GPA, BIG_SIZE, b.mem);
	vm_ioctl(b.vm, KVM_GET_DIRTY_LOG, &l);
	for (i = 0; i < BIG_PAGES / 64; i++)
		TEST_ASSERT_EQ(bitmap[i], 0);
	for (r = 1; r <= 2; r++) {
		vcpu_expect_sync(b.vcpu, &uc);
		TEST_ASSERT_EQ(uc.args[0], r + 1);
		vm_ioctl(b.vm, KVM_GET_DIRTY_LOG, &l);
		extra = 0;
		for (i = 0; i < BIG_PAGES; i++) {
			set = bitmap[i / 64] & (1ULL << (i % 64));
			/*
			 * Every written page is logged; a 2 MiB without any
			 * access in the round logs nothing.  Unwritten pages
			 * of a written 2 MiB may be logged (a backend may map
			 * them writable early): counted, not failed.
			 */
			if ((!set && dirty_page(i, r)) ||
			    (set && i / 512 == clean_2m(r)))
				TEST_FAIL("round %llu: page %llu (GPA 0x%llx) %s",
					  (unsigned long long)r, (unsigned long long)i,
					  (unsigned long long)(BIG_GPA + i * PAGE_SIZE),
					  set ? "logged in a 2 MiB without writes" :
					  "written but not logged");
			extra += set && !dirty_page(i, r);
			if (dirty_page(i, r))
				TEST_ASSERT_EQ(*(uint64_t *)(b.mem + i * PAGE_SIZE + 8 * r),
					       pat(i, r));
		}
		ktap_print("round %llu: %llu unwritten pages logged too",
			   (unsigned long long)r, (unsigned long long)extra);
	}
	vcpu_expect_done(b.vcpu);
	big_free(&b);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(data_2m),
		KTAP_CASE(data_1g),
		KTAP_CASE(pt_inside_2m),
		KTAP_CASE(pt_freed_reused),
		KTAP_CASE(dirty_log_2m),
		KTAP_CASE(write_flood),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

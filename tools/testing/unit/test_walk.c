// SPDX-License-Identifier: GPL-2.0
/*
 * Guest page-table walker: every paging mode, page size, permission rule
 * and error-code bit, against hand-built page tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../arch/x86/kvm/mmu/walk.h"
#include "ktap.h"

#define MEM_SIZE	(1 << 22)
#define P		X86_PTE_P
#define RW		X86_PTE_RW
#define US		X86_PTE_US
#define PS		X86_PTE_PS
#define NX		X86_PTE_NX
#define A		X86_PTE_A
#define D		X86_PTE_D

static uint8_t *mem;
static int race_left;		/* make the next cmpxchg fail this many times */
static unsigned int failures;

static int read_pte(void *opaque, uint64_t gpa, uint64_t *pte,
		    unsigned int size)
{
	(void)opaque;
	if (gpa + size > MEM_SIZE)
		return -1;
	*pte = 0;
	memcpy(pte, mem + gpa, size);
	return 0;
}

static int cmpxchg_pte(void *opaque, uint64_t gpa, uint64_t old, uint64_t new,
		       unsigned int size)
{
	uint64_t cur = 0;

	(void)opaque;
	if (gpa + size > MEM_SIZE)
		return -1;
	memcpy(&cur, mem + gpa, size);
	if (race_left > 0) {
		race_left--;
		return 1;
	}
	if (cur != old)
		return 1;
	memcpy(mem + gpa, &new, size);
	return 0;
}

static const struct x86_walk_ops ops = { read_pte, cmpxchg_pte };

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, 8);
}

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(mem + gpa, &v, 4);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem + gpa, 8);
	return v;
}

#define EXPECT(cond, ...) do {						\
	if (!(cond)) {							\
		printf("# %s:%d: ", __func__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		failures++;						\
	}								\
} while (0)

static int walk(struct x86_walk_regs *r, uint64_t la, uint32_t acc,
		struct x86_walk_result *res)
{
	return x86_walk(&ops, NULL, r, la, acc, res);
}

static void expect_ok(struct x86_walk_regs *r, uint64_t la, uint32_t acc,
		      uint64_t gpa, int line)
{
	struct x86_walk_result res;
	int st = walk(r, la, acc, &res);

	if (st != X86_WALK_OK || res.gpa != gpa) {
		printf("# line %d: la %#llx acc %#x: status %d gpa %#llx, want %#llx\n",
		       line, (unsigned long long)la, acc, st,
		       (unsigned long long)res.gpa, (unsigned long long)gpa);
		failures++;
	}
}

static void expect_pf(struct x86_walk_regs *r, uint64_t la, uint32_t acc,
		      uint32_t pfec, int line)
{
	struct x86_walk_result res;
	int st = walk(r, la, acc, &res);

	if (st != X86_WALK_FAULT || res.pfec != pfec) {
		printf("# line %d: la %#llx acc %#x: status %d pfec %#x, want #PF %#x\n",
		       line, (unsigned long long)la, acc, st, res.pfec, pfec);
		failures++;
	}
}

#define OK(r, la, acc, gpa) expect_ok(r, la, acc, gpa, __LINE__)
#define PF(r, la, acc, ec) expect_pf(r, la, acc, ec, __LINE__)

#define W X86_WALK_WRITE
#define U X86_WALK_USER
#define F X86_WALK_FETCH
#define PFP X86_PF_PRESENT
#define PFW X86_PF_WRITE
#define PFU X86_PF_USER
#define PFR X86_PF_RSVD
#define PFI X86_PF_FETCH

static void test_no_paging(void)
{
	struct x86_walk_regs r = { 0 };

	OK(&r, 0x12345678, W | U, 0x12345678);
}

/* 2-level: PD at 0x1000, PT at 0x2000. */
static void test_legacy(void)
{
	struct x86_walk_regs r = { .cr0 = X86_CR0_PG, .cr3 = 0x1000 };
	struct x86_walk_result res;

	memset(mem, 0, 0x10000);
	put32(0x1000 + 4 * 1, 0x2000 | P | RW | US);	/* 4M..8M */
	put32(0x2000 + 4 * 5, 0x7000 | P | US);		/* 0x405000 RO user */
	put32(0x2000 + 4 * 6, 0x8000 | P | RW);		/* supervisor */
	OK(&r, 0x405123, U, 0x7123);
	PF(&r, 0x405123, W | U, PFP | PFW | PFU);
	OK(&r, 0x405123, W, 0x7123);			/* WP=0 */
	r.cr0 |= X86_CR0_WP;
	PF(&r, 0x405123, W, PFP | PFW);
	PF(&r, 0x406000, U, PFP | PFU);
	PF(&r, 0x407000, W | U, PFW | PFU);		/* not present */
	/* No NX in 2-level paging: fetch of any present page works. */
	OK(&r, 0x406000, F, 0x8000);
	/* A on PDE and PTE, D on the PTE of a write. */
	OK(&r, 0x406010, W, 0x8010);
	EXPECT((get64(0x2000 + 24) & 0xffffffff) == (0x8000 | P | RW | A | D),
	       "pte %#llx", (unsigned long long)get64(0x2000 + 24));
	EXPECT(mem[0x1004] & A, "pde accessed");

	/* 4 MiB page with PSE-36 bits 39:32 = 0x12. */
	put32(0x1000 + 4 * 2, 0x00800000 | (0x12 << 13) | P | RW | PS);
	/* Without CR4.PSE, PS is ignored: the "PT" lies outside RAM here. */
	EXPECT(walk(&r, 0x812345, 0, &res) == X86_WALK_ERROR, "PS w/o PSE");
	r.cr4 = X86_CR4_PSE;
	r.maxphyaddr = 40;
	OK(&r, 0x812345, W, 0x1200812345ULL);
	EXPECT(walk(&r, 0x812345, 0, &res) == X86_WALK_OK &&
	       res.page_size == (4 << 20), "4M page size");
	/* Bit 21 of a 4 MiB PDE is reserved. */
	put32(0x1000 + 4 * 3, 0x00c00000 | (1 << 21) | P | PS);
	PF(&r, 0xc00000, 0, PFP | PFR);
	/* PSE-36 bits beyond MAXPHYADDR are reserved. */
	r.maxphyaddr = 36;
	PF(&r, 0x812345, 0, PFP | PFR);
}

/* PAE: PDPT at 0x1000 (32-byte aligned), PD 0x2000, PT 0x3000. */
static void test_pae(void)
{
	struct x86_walk_regs r = { .cr0 = X86_CR0_PG | X86_CR0_WP,
				   .cr3 = 0x1000, .cr4 = X86_CR4_PAE,
				   .efer = X86_EFER_NXE };

	memset(mem, 0, 0x10000);
	put64(0x1000 + 8 * 1, 0x2000 | P);		/* 1G..2G */
	put64(0x2000 + 8 * 0, 0x3000 | P | RW | US);
	put64(0x3000 + 8 * 1, 0x9000 | P | RW | US | NX);
	put64(0x2000 + 8 * 1, 0x400000 | P | RW | PS);	/* 2M page */
	OK(&r, 0x40001234, U | W, 0x9234);
	PF(&r, 0x40001234, F, PFP | PFI);
	OK(&r, 0x40212345, W, 0x412345);
	PF(&r, 0x40212345, U, PFP | PFU);
	/* PDPTE bits 1/2 (RW/US) are reserved in PAE mode. */
	put64(0x1000 + 8 * 2, 0x2000 | P | RW);
	PF(&r, 0x80000000, 0, PFP | PFR);
	/* 2M page with bit 13 set is reserved. */
	put64(0x2000 + 8 * 2, 0x600000 | (1 << 13) | P | PS);
	PF(&r, 0x40400000, 0, PFP | PFR);
	/* NX with EFER.NXE clear is a reserved bit. */
	r.efer = 0;
	PF(&r, 0x40001234, 0, PFP | PFR);
}

/* 4-level: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000. */
static void build_long(void)
{
	memset(mem, 0, 0x10000);
	put64(0x1000, 0x2000 | P | RW | US);
	put64(0x2000, 0x3000 | P | RW | US);
	put64(0x3000, 0x4000 | P | RW | US);
	put64(0x4000 + 8 * 1, 0x5000 | P | RW | US);	/* 0x1000 user */
	put64(0x4000 + 8 * 2, 0x6000 | P | RW);		/* 0x2000 sup */
	put64(0x3000 + 8 * 1, 0x200000 | P | RW | US | PS);	/* 2M */
	put64(0x2000 + 8 * 1, 0x40000000 | P | RW | US | PS);	/* 1G */
}

static void test_long(void)
{
	struct x86_walk_regs r = { .cr0 = X86_CR0_PG | X86_CR0_WP,
				   .cr3 = 0x1000, .cr4 = X86_CR4_PAE,
				   .efer = X86_EFER_LMA | X86_EFER_NXE,
				   .maxphyaddr = 40 };
	struct x86_walk_result res;

	build_long();
	OK(&r, 0x1abc, U | W, 0x5abc);
	OK(&r, 0x212345, U, 0x212345);
	PF(&r, 0x40000000, 0, PFP | PFR);		/* no gbpages */
	r.gbpages = true;
	OK(&r, 0x40012345, U, 0x40012345);
	EXPECT(walk(&r, 0x40012345, U, &res) == X86_WALK_OK &&
	       res.page_size == (1ULL << 30) && res.levels == 2,
	       "1G page: size %#llx levels %u",
	       (unsigned long long)res.page_size, res.levels);
	/* Address bits above MAXPHYADDR are reserved. */
	put64(0x4000 + 8 * 3, (1ULL << 45) | P);
	PF(&r, 0x3000, W | U, PFP | PFR | PFW | PFU);
	/* PS in a PML4E is reserved. */
	put64(0x1000 + 8, 0x2000 | P | PS);
	PF(&r, 1ULL << 39, 0, PFP | PFR);
	/* Non-present at the PML4 level. */
	PF(&r, 2ULL << 39, F | U, PFU | PFI);
}

static void test_smep_smap(void)
{
	struct x86_walk_regs r = { .cr0 = X86_CR0_PG | X86_CR0_WP,
				   .cr3 = 0x1000, .cr4 = X86_CR4_PAE,
				   .efer = X86_EFER_LMA };

	build_long();
	OK(&r, 0x1000, F, 0x5000);			/* no SMEP */
	r.cr4 |= X86_CR4_SMEP;
	PF(&r, 0x1000, F, PFP | PFI);
	OK(&r, 0x2000, F, 0x6000);			/* supervisor page */
	OK(&r, 0x1000, 0, 0x5000);			/* no SMAP yet */
	r.cr4 |= X86_CR4_SMAP;
	PF(&r, 0x1000, 0, PFP);
	PF(&r, 0x1000, W, PFP | PFW);
	r.rflags = X86_RFLAGS_AC;
	OK(&r, 0x1000, W, 0x5000);
	PF(&r, 0x1000, X86_WALK_IMPLICIT, PFP);		/* AC does not help */
	OK(&r, 0x1000, U, 0x5000);			/* user access: fine */
}

static void test_ad_and_races(void)
{
	struct x86_walk_regs r = { .cr0 = X86_CR0_PG, .cr3 = 0x1000,
				   .cr4 = X86_CR4_PAE, .efer = X86_EFER_LMA };
	struct x86_walk_result res;

	build_long();
	OK(&r, 0x1000, X86_WALK_NO_AD, 0x5000);
	EXPECT(!(get64(0x4008) & A), "NO_AD set A");
	OK(&r, 0x1000, 0, 0x5000);
	EXPECT((get64(0x4008) & (A | D)) == A, "read: A only");
	EXPECT(get64(0x1000) & get64(0x2000) & get64(0x3000) & A,
	       "A on every level");
	race_left = 3;		/* the guest "changes" entries under us */
	OK(&r, 0x1000, W, 0x5000);
	EXPECT((get64(0x4008) & (A | D)) == (A | D), "write: D");
	race_left = 100;
	put64(0x4008, 0x5000 | P | RW | US);
	EXPECT(walk(&r, 0x1000, W, &res) == X86_WALK_ERROR,
	       "endless race must give up");
	race_left = 0;
	/* Paging structures outside guest RAM. */
	put64(0x4000 + 8 * 9, 0x5000 | P);
	r.cr3 = MEM_SIZE + 0x1000;
	EXPECT(walk(&r, 0x9000, 0, &res) == X86_WALK_ERROR, "cr3 in MMIO");
}

static void test_la57(void)
{
	struct x86_walk_regs r = { .cr0 = X86_CR0_PG, .cr3 = 0x8000,
				   .cr4 = X86_CR4_PAE | X86_CR4_LA57,
				   .efer = X86_EFER_LMA };

	build_long();
	put64(0x8000 + 8 * 1, 0x1000 | P | RW | US);	/* bit 48 = 1 */
	OK(&r, (1ULL << 48) | 0x1234, U, 0x5234);
	EXPECT(x86_walk_canonical(&r, 0xff00000000000000ULL), "57-bit canon");
	EXPECT(!x86_walk_canonical(&r, 0x0100000000000000ULL), "57-bit non");
	r.cr4 &= ~X86_CR4_LA57;
	EXPECT(!x86_walk_canonical(&r, 1ULL << 47), "48-bit non-canonical");
	EXPECT(x86_walk_canonical(&r, 0xffff800000000000ULL), "48-bit canon");
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "walk_no_paging", test_no_paging },
	{ "walk_legacy_2level_pse36", test_legacy },
	{ "walk_pae", test_pae },
	{ "walk_long_4level", test_long },
	{ "walk_smep_smap", test_smep_smap },
	{ "walk_accessed_dirty_races", test_ad_and_races },
	{ "walk_la57", test_la57 },
};

int main(void)
{
	unsigned int i, n = sizeof(tests) / sizeof(tests[0]);
	int fail = 0;

	mem = calloc(1, MEM_SIZE);
	if (!mem)
		return KSFT_SKIP;
	ktap_header(n);
	for (i = 0; i < n; i++) {
		failures = 0;
		tests[i].fn();
		if (failures) {
			fail = 1;
			ktap_fail(i + 1, "%s", tests[i].name);
		} else {
			ktap_pass(i + 1, "%s", tests[i].name);
		}
	}
	free(mem);
	return fail ? KSFT_FAIL : KSFT_PASS;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Emulator behaviour the differential test cannot see from user mode:
 * MMIO and port I/O round trips (including resumable REP string I/O),
 * architecturally right faults on bad input, segmentation, real mode and
 * the system instructions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../arch/x86/kvm/emulate.h"
#include "../../../arch/x86/kvm/mmu/walk.h"
#include "ktap.h"
#include "tvm.h"

#define CODE_LA		0x400000ULL
#define CODE_GPA	0x10000ULL
#define DATA_LA		0x600000ULL
#define DATA_GPA	0x20000ULL
#define MMIO_LA		0x700000ULL
#define STACK_LA	0x800000ULL
#define STACK_GPA	0x30000ULL
#define UW		(X86_PTE_P | X86_PTE_RW | X86_PTE_US)

static struct tvm *vm;
static unsigned int failures;

#define EXPECT(cond, ...) do {						\
	if (!(cond)) {							\
		printf("# %s:%d: ", __func__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		failures++;						\
	}								\
} while (0)

static void setup64(void)
{
	tvm_destroy(vm);
	vm = tvm_create(1 << 20);
	tvm_map(vm, CODE_LA, CODE_GPA, X86_PTE_P | X86_PTE_US);
	tvm_map(vm, DATA_LA, DATA_GPA, UW);
	tvm_map(vm, DATA_LA + 0x1000, DATA_GPA + 0x1000, UW);
	tvm_map(vm, MMIO_LA, vm->mmio_base, UW);
	tvm_map(vm, STACK_LA, STACK_GPA, UW);
	memset(&vm->c, 0, sizeof(vm->c));
}

/* Put @n code bytes at RIP and emulate with CPL @cpl. */
static int run_at(uint64_t rip, uint64_t gpa, const uint8_t *code,
		  unsigned int n, enum x86_cpu_mode mode, uint8_t cpl)
{
	memcpy(vm->mem + gpa, code, n);
	vm->c.rip = rip;
	tvm_prepare(vm, mode, cpl);
	return tvm_emulate(vm, 8);
}

#define RUN64(cpl, ...) ({						\
	static const uint8_t code_[] = { __VA_ARGS__ };			\
	run_at(CODE_LA, CODE_GPA, code_, sizeof(code_),			\
	       X86_MODE_LONG64, cpl);					\
})

static void expect_fault(int r, uint8_t vec, uint32_t ec, int line)
{
	if (r != X86EMUL_FAULT || vm->c.exc.vector != vec ||
	    (vm->c.exc.has_error_code && vm->c.exc.error_code != ec)) {
		printf("# line %d: result %d vector %u ec %#x, want vector %u ec %#x\n",
		       line, r, vm->c.exc.vector, vm->c.exc.error_code, vec, ec);
		failures++;
	}
}

#define FAULT(r, vec, ec) expect_fault(r, vec, ec, __LINE__)

static void test_mmio(void)
{
	uint32_t v = 0x11223344;
	int r;

	setup64();
	memcpy(vm->mmio + 0x10, &v, 4);
	vm->c.regs[X86_RBX] = 0xcafef00d;
	/* mov eax, [0x700010] */
	r = RUN64(3, 0x8b, 0x04, 0x25, 0x10, 0x00, 0x70, 0x00);
	EXPECT(r == X86EMUL_OK && vm->c.regs[X86_RAX] == v &&
	       vm->exits == 1 && vm->c.rip == CODE_LA + 7,
	       "mmio read: r %d rax %#llx exits %u", r,
	       (unsigned long long)vm->c.regs[X86_RAX], vm->exits);
	/* mov [0x700020], ebx */
	r = RUN64(3, 0x89, 0x1c, 0x25, 0x20, 0x00, 0x70, 0x00);
	EXPECT(r == X86EMUL_OK && vm->nlog == 1 && vm->log[0].len == 4 &&
	       vm->log[0].addr == vm->mmio_base + 0x20 &&
	       !memcmp(vm->log[0].data, "\x0d\xf0\xfe\xca", 4),
	       "mmio write: r %d nlog %u", r, vm->nlog);
	/* add dword [0x700010], 1: read, exit, re-execute, write. */
	r = RUN64(3, 0x83, 0x04, 0x25, 0x10, 0x00, 0x70, 0x00, 0x01);
	memcpy(&v, vm->mmio + 0x10, 4);
	EXPECT(r == X86EMUL_OK && v == 0x11223345, "mmio rmw: %#x", v);
	/* lock cmpxchg [0x700010], ecx with eax equal */
	vm->c.regs[X86_RAX] = 0x11223345;
	vm->c.regs[X86_RCX] = 7;
	r = RUN64(3, 0xf0, 0x0f, 0xb1, 0x0c, 0x25, 0x10, 0x00, 0x70, 0x00);
	memcpy(&v, vm->mmio + 0x10, 4);
	EXPECT(r == X86EMUL_OK && v == 7 && (vm->c.rflags & 0x40),
	       "mmio cmpxchg: %#x", v);
}

static void test_rep_movs_mmio(void)
{
	unsigned int rounds = 0;
	int r;

	setup64();
	memcpy(vm->mem + DATA_GPA, "abcdefgh", 8);
	vm->c.regs[X86_RSI] = DATA_LA;
	vm->c.regs[X86_RDI] = MMIO_LA;
	vm->c.regs[X86_RCX] = 5;
	/* rep movsb: every iteration goes to userspace, RIP stays put. */
	do {
		r = RUN64(3, 0xf3, 0xa4);
		rounds++;
	} while (r == X86EMUL_OK && vm->c.rip == CODE_LA && rounds < 20);
	EXPECT(r == X86EMUL_OK && rounds == 5 && vm->nlog == 5 &&
	       !memcmp(vm->mmio, "abcde", 5) && !vm->c.regs[X86_RCX] &&
	       vm->c.regs[X86_RDI] == MMIO_LA + 5 &&
	       vm->c.rip == CODE_LA + 2,
	       "rep movsb to mmio: r %d rounds %u log %u rcx %llu", r,
	       rounds, vm->nlog, (unsigned long long)vm->c.regs[X86_RCX]);

	/* rep movsw from MMIO to RAM backwards (DF=1). */
	setup64();
	memcpy(vm->mmio + 0x100, "0123456789", 10);
	vm->c.regs[X86_RSI] = MMIO_LA + 0x108;
	vm->c.regs[X86_RDI] = DATA_LA + 0x208;
	vm->c.regs[X86_RCX] = 4;
	vm->c.rflags = 0x400;
	rounds = 0;
	do {
		r = RUN64(3, 0x66, 0xf3, 0xa5);
		rounds++;
	} while (r == X86EMUL_OK && vm->c.rip == CODE_LA && rounds < 20);
	EXPECT(r == X86EMUL_OK && !memcmp(vm->mem + DATA_GPA + 0x202,
					  "23456789", 8) &&
	       vm->c.regs[X86_RSI] == MMIO_LA + 0x100,
	       "rep movsw from mmio, DF=1: r %d", r);
}

static void test_port_io(void)
{
	unsigned int rounds = 0;
	int r;

	setup64();
	vm->ports[0x60] = 0xab;
	vm->c.regs[X86_RDX] = 0x60;
	vm->c.regs[X86_RDI] = DATA_LA + 0x100;
	vm->c.regs[X86_RCX] = 3;
	do {
		r = RUN64(0, 0xf3, 0x6c);	/* rep insb */
		rounds++;
	} while (r == X86EMUL_OK && vm->c.rip == CODE_LA && rounds < 20);
	EXPECT(r == X86EMUL_OK && rounds == 3 &&
	       !memcmp(vm->mem + DATA_GPA + 0x100, "\xab\xab\xab", 3),
	       "rep insb: r %d rounds %u", r, rounds);
	vm->c.regs[X86_RAX] = 0x5a;
	r = RUN64(0, 0xe6, 0x80);		/* out 0x80, al */
	EXPECT(r == X86EMUL_OK && vm->nlog == 1 && vm->log[0].addr == 0x80 &&
	       vm->log[0].data[0] == 0x5a, "out");
	vm->ports[0x61] = 0x34;
	vm->ports[0x62] = 0x12;
	vm->c.regs[X86_RDX] = 0x61;
	vm->c.regs[X86_RAX] = ~0ULL;
	r = RUN64(0, 0x66, 0xed);		/* in ax, dx */
	EXPECT(r == X86EMUL_OK && vm->c.regs[X86_RAX] == 0xffffffffffff1234ULL,
	       "in ax,dx: %#llx", (unsigned long long)vm->c.regs[X86_RAX]);
}

static void test_bad_input(void)
{
	uint8_t code[32];
	int r;

	setup64();
	/* mov eax, imm32 straddling into an unmapped page: #PF on fetch. */
	memcpy(vm->mem + CODE_GPA + 0xffd, "\xb8\x01\x02", 3);
	vm->c.rip = CODE_LA + 0xffd;
	tvm_prepare(vm, X86_MODE_LONG64, 3);
	r = tvm_emulate(vm, 2);
	FAULT(r, X86_EXC_PF, X86_PF_USER | X86_PF_FETCH);
	EXPECT(vm->c.exc.cr2 == CODE_LA + 0x1000 && vm->c.rip == CODE_LA + 0xffd,
	       "cr2 %#llx", (unsigned long long)vm->c.exc.cr2);

	/* 15 bytes are fine, 16 are #GP(0). */
	memset(code, 0x66, sizeof(code));
	code[14] = 0x90;
	r = run_at(CODE_LA, CODE_GPA, code, 15, X86_MODE_LONG64, 3);
	EXPECT(r == X86EMUL_OK && vm->c.rip == CODE_LA + 15, "15 bytes: %d", r);
	code[14] = 0x66;
	code[15] = 0x90;
	r = run_at(CODE_LA, CODE_GPA, code, 16, X86_MODE_LONG64, 3);
	FAULT(r, X86_EXC_GP, 0);

	FAULT(RUN64(3, 0x0f, 0x0b), X86_EXC_UD, 0);		/* ud2 */
	FAULT(RUN64(3, 0x0f, 0x04), X86_EXC_UD, 0);
	FAULT(RUN64(3, 0xd6), X86_EXC_UD, 0);
	FAULT(RUN64(3, 0x06), X86_EXC_UD, 0);			/* push es */
	FAULT(RUN64(3, 0xf0, 0x01, 0xc0), X86_EXC_UD, 0);	/* lock add reg */
	FAULT(RUN64(3, 0xf0, 0x8b, 0x00), X86_EXC_UD, 0);	/* lock mov */
	FAULT(RUN64(3, 0xf0, 0x38, 0x00), X86_EXC_UD, 0);	/* lock cmp */
	FAULT(RUN64(3, 0x8d, 0xc0), X86_EXC_UD, 0);		/* lea reg */
	FAULT(RUN64(3, 0xfe, 0xd0), X86_EXC_UD, 0);		/* fe /2 */

	/* Valid but not emulated: report, never guess. */
	r = RUN64(3, 0x0f, 0xa2);				/* cpuid */
	EXPECT(r == X86EMUL_UNHANDLED && vm->c.insn.len == 2 &&
	       vm->c.insn.bytes[1] == 0xa2 && vm->c.rip == CODE_LA,
	       "cpuid: %d", r);
	r = RUN64(3, 0xc5, 0xf8, 0x77);				/* vzeroupper */
	EXPECT(r == X86EMUL_UNHANDLED && vm->c.insn.len == 3, "vex: %d", r);
	r = RUN64(3, 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x00);	/* vmovups zmm */
	EXPECT(r == X86EMUL_UNHANDLED && vm->c.insn.len == 6, "evex: %d", r);

	/* Single-stepping is left to the caller. */
	vm->c.rflags = 0x100;
	EXPECT(RUN64(3, 0x90) == X86EMUL_UNHANDLED, "TF");
	vm->c.rflags = 0;
}

static void test_faults(void)
{
	uint64_t before;
	int r;

	setup64();
	tvm_map(vm, DATA_LA, DATA_GPA, X86_PTE_P | X86_PTE_US);	/* RO */
	vm->c.regs[X86_RAX] = 1;
	r = RUN64(3, 0x89, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00);
	FAULT(r, X86_EXC_PF, X86_PF_PRESENT | X86_PF_WRITE | X86_PF_USER);
	EXPECT(vm->c.exc.cr2 == DATA_LA && vm->c.rip == CODE_LA, "cr2");
	/* Read-modify-write faults as a write even though it reads first. */
	r = RUN64(3, 0x83, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00, 0x01);
	FAULT(r, X86_EXC_PF, X86_PF_PRESENT | X86_PF_WRITE | X86_PF_USER);
	/* CPL0 with CR0.WP=0 may write it. */
	r = RUN64(0, 0x89, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00);
	EXPECT(r == X86EMUL_OK, "WP=0 supervisor write: %d", r);
	/* A page-crossing write faulting on the 2nd page writes nothing. */
	tvm_map(vm, DATA_LA, DATA_GPA, UW);
	tvm_map(vm, DATA_LA + 0x1000, DATA_GPA + 0x1000, X86_PTE_P | X86_PTE_US);
	memcpy(&before, vm->mem + DATA_GPA + 0xffc, 8);
	vm->c.regs[X86_RAX] = ~0ULL;
	r = RUN64(3, 0x48, 0x89, 0x04, 0x25, 0xfc, 0x0f, 0x60, 0x00);
	FAULT(r, X86_EXC_PF, X86_PF_PRESENT | X86_PF_WRITE | X86_PF_USER);
	EXPECT(vm->c.exc.cr2 == DATA_LA + 0x1000 &&
	       !memcmp(&before, vm->mem + DATA_GPA + 0xffc, 8),
	       "split write must be all or nothing");

	/* Non-canonical: #GP(0), or #SS(0) when based on rsp/rbp. */
	setup64();
	vm->c.regs[X86_RAX] = 0x0000800000000000ULL;
	FAULT(RUN64(3, 0x8b, 0x00), X86_EXC_GP, 0);
	vm->c.regs[X86_RBP] = 0x0000800000000000ULL;
	FAULT(RUN64(3, 0x8b, 0x45, 0x00), X86_EXC_SS, 0);
	/* SMAP: a CPL0 read of a user page. */
	vm->cr[4] |= X86_CR4_SMAP;
	FAULT(RUN64(0, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00),
	      X86_EXC_PF, X86_PF_PRESENT);
	vm->c.rflags = X86_RFLAGS_AC;
	EXPECT(RUN64(0, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00) ==
	       X86EMUL_OK, "SMAP with AC");
	vm->c.rflags = 0;
	/* SMEP: CPL0 fetching from a user page. */
	vm->cr[4] |= X86_CR4_SMEP;
	FAULT(RUN64(0, 0x90), X86_EXC_PF, X86_PF_PRESENT | X86_PF_FETCH);
	vm->cr[4] &= ~(X86_CR4_SMEP | X86_CR4_SMAP);
	/* #DE */
	vm->c.regs[X86_RCX] = 0;
	FAULT(RUN64(3, 0xf7, 0xf1), X86_EXC_DE, 0);
	/* Alignment check at CPL3 with CR0.AM and RFLAGS.AC. */
	vm->cr[0] |= 1ULL << 18;
	vm->c.rflags = X86_RFLAGS_AC;
	FAULT(RUN64(3, 0x8b, 0x04, 0x25, 0x01, 0x00, 0x60, 0x00),
	      X86_EXC_AC, 0);
	vm->c.rflags = 0;
}

static void test_real_mode(void)
{
	int r;

	tvm_destroy(vm);
	vm = tvm_create(1 << 20);
	memset(&vm->c, 0, sizeof(vm->c));
	tvm_set_mode(vm, X86_MODE_REAL);
	vm->seg[X86_SEG_CS].base = 0xf0000;
	vm->seg[X86_SEG_CS].selector = 0xf000;
	vm->seg[X86_SEG_DS].base = 0x1000;
	vm->seg[X86_SEG_DS].selector = 0x100;
	vm->seg[X86_SEG_ES].base = 0xb8000;
	vm->c.regs[X86_RBX] = 0xffff;
	vm->c.regs[X86_RSI] = 2;
	vm->c.regs[X86_RAX] = 0x4142;
	/* mov [bx+si], al: the 16-bit effective address wraps to 1. */
	r = run_at(0xfff0, 0xf0000 + 0xfff0, (const uint8_t *)"\x88\x00", 2,
		   X86_MODE_REAL, 0);
	EXPECT(r == X86EMUL_OK && vm->mem[0x1001] == 0x42 &&
	       vm->c.rip == 0xfff2, "real mode store: %d", r);
	/* mov ds, ax */
	r = run_at(0x100, 0xf0100, (const uint8_t *)"\x8e\xd8", 2,
		   X86_MODE_REAL, 0);
	EXPECT(r == X86EMUL_OK && vm->seg[X86_SEG_DS].base == 0x41420,
	       "mov ds: %#llx", (unsigned long long)vm->seg[X86_SEG_DS].base);
	/* rep stosw to es:di with di wrapping at 64K. */
	vm->c.regs[X86_RDI] = 0xfffe;
	vm->c.regs[X86_RCX] = 2;
	r = run_at(0x200, 0xf0200, (const uint8_t *)"\xf3\xab", 2,
		   X86_MODE_REAL, 0);
	EXPECT(r == X86EMUL_OK && vm->c.regs[X86_RDI] == 2 &&
	       vm->mem[0xb8000 + 0xfffe] == 0x42 && vm->mem[0xb8000] == 0x42,
	       "rep stosw wrap: %d di %#llx", r,
	       (unsigned long long)vm->c.regs[X86_RDI]);
	/* Past the 64K limit: #GP. */
	vm->c.regs[X86_RBX] = 0xffff;
	r = run_at(0x300, 0xf0300, (const uint8_t *)"\x8b\x07", 2,
		   X86_MODE_REAL, 0);
	FAULT(r, X86_EXC_GP, 0);
}

static void test_segments(void)
{
	int r;

	tvm_destroy(vm);
	vm = tvm_create(1 << 20);
	memset(&vm->c, 0, sizeof(vm->c));
	tvm_set_mode(vm, X86_MODE_PROT32);
	vm->seg[X86_SEG_DS].limit = 0xfff;
	vm->c.regs[X86_RAX] = 0xffe;
	r = run_at(0x1000, 0x1000, (const uint8_t *)"\x8b\x00", 2,
		   X86_MODE_PROT32, 0);			/* mov eax,[eax] */
	FAULT(r, X86_EXC_GP, 0);
	vm->seg[X86_SEG_SS].limit = 0xfff;
	vm->c.regs[X86_RBP] = 0x1000;
	r = run_at(0x1000, 0x1000, (const uint8_t *)"\x8b\x45\x00", 3,
		   X86_MODE_PROT32, 0);
	FAULT(r, X86_EXC_SS, 0);
	/* Writing through a read-only data segment. */
	vm->seg[X86_SEG_DS].limit = 0xfffff;
	vm->seg[X86_SEG_DS].type = 1;
	vm->c.regs[X86_RAX] = 0x2000;
	r = run_at(0x1000, 0x1000, (const uint8_t *)"\x89\x00", 2,
		   X86_MODE_PROT32, 0);
	FAULT(r, X86_EXC_GP, 0);
	/* Expand-down: offsets at or below the limit are outside. */
	vm->seg[X86_SEG_DS].type = 7;
	vm->seg[X86_SEG_DS].limit = 0x1fff;
	vm->c.regs[X86_RAX] = 0x1ffe;
	r = run_at(0x1000, 0x1000, (const uint8_t *)"\x89\x00", 2,
		   X86_MODE_PROT32, 0);
	FAULT(r, X86_EXC_GP, 0);
	vm->c.regs[X86_RAX] = 0x3000;
	r = run_at(0x1000, 0x1000, (const uint8_t *)"\x89\x00", 2,
		   X86_MODE_PROT32, 0);
	EXPECT(r == X86EMUL_OK, "expand-down inside: %d", r);
}

static void put_desc(uint64_t gpa, uint64_t base, uint32_t limit,
		     unsigned int type, bool s, unsigned int dpl)
{
	uint64_t d = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		     ((uint64_t)type << 40) | ((uint64_t)s << 44) |
		     ((uint64_t)dpl << 45) | (1ULL << 47) |
		     ((uint64_t)(limit >> 16 & 0xf) << 48) |
		     ((base >> 24 & 0xff) << 56);

	if (s)
		d |= 1ULL << 54;	/* D/B */
	memcpy(vm->mem + gpa, &d, 8);
	if (!s) {
		uint64_t hi = base >> 32;

		memcpy(vm->mem + gpa + 8, &hi, 8);
	}
}

static void test_system(void)
{
	uint8_t buf[10];
	uint64_t d;
	int r;

	setup64();
	vm->cr[0] |= 8;					/* TS */
	r = RUN64(0, 0x0f, 0x20, 0xc0);			/* mov rax, cr0 */
	EXPECT(r == X86EMUL_OK && vm->c.regs[X86_RAX] == vm->cr[0], "cr0");
	EXPECT(RUN64(0, 0x0f, 0x06) == X86EMUL_OK && !(vm->cr[0] & 8), "clts");
	FAULT(RUN64(3, 0x0f, 0x20, 0xc0), X86_EXC_GP, 0);
	FAULT(RUN64(0, 0x0f, 0x20, 0xe8), X86_EXC_UD, 0);	/* cr5 */
	vm->c.regs[X86_RCX] = 0x5000;
	vm->cr[4] |= 0x80;
	r = RUN64(0, 0x0f, 0x22, 0xd9);			/* mov cr3, rcx */
	EXPECT(r == X86EMUL_OK && vm->cr[3] == 0x5000, "mov cr3");
	vm->cr[3] = vm->c.cr3 = 0;
	setup64();
	vm->c.regs[X86_RAX] = 1ULL << 40;
	FAULT(RUN64(0, 0x0f, 0x22, 0xe0), X86_EXC_GP, 0);	/* cr4 rsvd */
	vm->c.regs[X86_RAX] = 0x400;
	EXPECT(RUN64(0, 0x0f, 0x23, 0xf8) == X86EMUL_OK && vm->dr[7] == 0x400,
	       "mov dr7");
	vm->c.regs[X86_RAX] = 1ULL << 32;
	FAULT(RUN64(0, 0x0f, 0x23, 0xf8), X86_EXC_GP, 0);

	/* lgdt [0x600000]; sgdt [0x600010] */
	memcpy(vm->mem + DATA_GPA, "\xff\x0f\x00\x10\x60\x00\x00\x00\x00\x00", 10);
	r = RUN64(0, 0x0f, 0x01, 0x14, 0x25, 0x00, 0x00, 0x60, 0x00);
	EXPECT(r == X86EMUL_OK && vm->dt[0].base == 0x601000 &&
	       vm->dt[0].limit == 0xfff, "lgdt");
	FAULT(RUN64(3, 0x0f, 0x01, 0x14, 0x25, 0x00, 0x00, 0x60, 0x00),
	      X86_EXC_GP, 0);
	r = RUN64(3, 0x0f, 0x01, 0x04, 0x25, 0x10, 0x00, 0x60, 0x00);
	memcpy(buf, vm->mem + DATA_GPA + 0x10, 10);
	EXPECT(r == X86EMUL_OK && !memcmp(buf, vm->mem + DATA_GPA, 10), "sgdt");
	vm->cr[4] |= 1 << 11;					/* UMIP */
	FAULT(RUN64(3, 0x0f, 0x01, 0x04, 0x25, 0x10, 0x00, 0x60, 0x00),
	      X86_EXC_GP, 0);
	vm->cr[4] &= ~(1ULL << 11);

	/* ltr: a 64-bit TSS descriptor at GDT index 2 becomes busy. */
	put_desc(DATA_GPA + 0x1000 + 0x10, 0xffffffff81000000ULL, 0x67, 9,
		 false, 0);
	vm->c.regs[X86_RAX] = 0x10;
	r = RUN64(0, 0x0f, 0x00, 0xd8);				/* ltr ax */
	memcpy(&d, vm->mem + DATA_GPA + 0x1010, 8);
	EXPECT(r == X86EMUL_OK && vm->seg[X86_SEG_TR].selector == 0x10 &&
	       vm->seg[X86_SEG_TR].base == 0xffffffff81000000ULL &&
	       vm->seg[X86_SEG_TR].type == 11 && ((d >> 40) & 0xf) == 11,
	       "ltr: r %d type %u base %#llx", r, vm->seg[X86_SEG_TR].type,
	       (unsigned long long)vm->seg[X86_SEG_TR].base);
	FAULT(RUN64(0, 0x0f, 0x00, 0xd8), X86_EXC_GP, 0x10);	/* busy now */
	vm->c.regs[X86_RAX] = 0;
	FAULT(RUN64(0, 0x0f, 0x00, 0xd8), X86_EXC_GP, 0);	/* null */
	vm->c.regs[X86_RAX] = 0x1000;
	FAULT(RUN64(0, 0x0f, 0x00, 0xd8), X86_EXC_GP, 0x1000);	/* > limit */
	/* lldt with an LDT descriptor at index 4, then a null one. */
	put_desc(DATA_GPA + 0x1000 + 0x20, 0x12345000, 0xff, 2, false, 0);
	vm->c.regs[X86_RAX] = 0x20;
	r = RUN64(0, 0x0f, 0x00, 0xd0);
	EXPECT(r == X86EMUL_OK && vm->seg[X86_SEG_LDTR].base == 0x12345000 &&
	       !vm->seg[X86_SEG_LDTR].unusable, "lldt");
	r = RUN64(0, 0x0f, 0x00, 0xc8);				/* str eax */
	EXPECT(r == X86EMUL_OK && vm->c.regs[X86_RAX] == 0x10, "str");
	/* invlpg, wbinvd, lmsw */
	r = RUN64(0, 0x0f, 0x01, 0x38);				/* invlpg [rax] */
	EXPECT(r == X86EMUL_OK && vm->invlpg_la == 0x10, "invlpg");
	EXPECT(RUN64(0, 0x0f, 0x09) == X86EMUL_OK && vm->wbinvd == 1, "wbinvd");
	vm->c.regs[X86_RAX] = 0xe;
	r = RUN64(0, 0x0f, 0x01, 0xf0);				/* lmsw ax */
	EXPECT(r == X86EMUL_OK && (vm->cr[0] & 0xf) == 0xf,
	       "lmsw cannot clear PE: cr0 %#llx", (unsigned long long)vm->cr[0]);
}

static void test_io_permission(void)
{
	int r;

	tvm_destroy(vm);
	vm = tvm_create(1 << 20);
	memset(&vm->c, 0, sizeof(vm->c));
	tvm_set_mode(vm, X86_MODE_PROT32);
	/* TSS at 0x5000 with its I/O bitmap at offset 0x68; port 0x71 denied. */
	vm->seg[X86_SEG_TR].base = 0x5000;
	vm->seg[X86_SEG_TR].limit = 0x68 + 0x2000;
	vm->mem[0x5066] = 0x68;
	vm->mem[0x5068 + 0x71 / 8] = 1 << (0x71 % 8);
	vm->c.regs[X86_RAX] = 0x12;
	r = run_at(0x1000, 0x1000, (const uint8_t *)"\xe6\x70", 2,
		   X86_MODE_PROT32, 3);
	EXPECT(r == X86EMUL_OK && vm->nlog == 1, "allowed port: %d", r);
	r = run_at(0x1000, 0x1000, (const uint8_t *)"\xe6\x71", 2,
		   X86_MODE_PROT32, 3);
	FAULT(r, X86_EXC_GP, 0);
	/* A word access to 0x70 also covers 0x71. */
	r = run_at(0x1000, 0x1000, (const uint8_t *)"\x66\xe7\x70", 3,
		   X86_MODE_PROT32, 3);
	FAULT(r, X86_EXC_GP, 0);
	/* IOPL 3 skips the bitmap. */
	vm->c.rflags = 3 << 12;
	r = run_at(0x1000, 0x1000, (const uint8_t *)"\xe6\x71", 2,
		   X86_MODE_PROT32, 3);
	EXPECT(r == X86EMUL_OK, "IOPL 3: %d", r);
}

static void test_format(void)
{
	static const struct {
		const char *bytes;
		unsigned int len;
		const char *text;
	} cases[] = {
		{ "\x48\x89\x04\x25\x10\x00\x70\x00", 8,
		  "mov    QWORD PTR ds:0x700010,rax" },
		{ "\xf3\xa4", 2, "movs   BYTE PTR es:[rdi],BYTE PTR ds:[rsi]" },
		{ "\x0f\xa2", 2, ".byte 0xf,0xa2" },
	};
	struct x86_exception exc;
	struct x86_insn insn;
	char buf[80];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x86_decode_bytes(&insn, X86_MODE_LONG64,
				 (const uint8_t *)cases[i].bytes, cases[i].len,
				 &exc);
		x86_insn_format(&insn, buf, sizeof(buf));
		EXPECT(!strcmp(buf, cases[i].text), "'%s' != '%s'", buf,
		       cases[i].text);
	}
	/* A short buffer truncates and terminates. */
	EXPECT(x86_insn_format(&insn, buf, 4) > 4 && strlen(buf) == 3,
	       "truncation");
	/* Too few bytes: the decoder asks for more. */
	EXPECT(x86_decode_bytes(&insn, X86_MODE_LONG64,
				(const uint8_t *)"\x48\x89", 2, &exc) ==
	       X86EMUL_IO_NEEDED, "short buffer");
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "emulate_mmio_read_write", test_mmio },
	{ "emulate_rep_movs_mmio_resumable", test_rep_movs_mmio },
	{ "emulate_port_io", test_port_io },
	{ "emulate_bad_input_faults", test_bad_input },
	{ "emulate_page_faults_and_checks", test_faults },
	{ "emulate_real_mode", test_real_mode },
	{ "emulate_segment_checks", test_segments },
	{ "emulate_system_insns", test_system },
	{ "emulate_io_permission_bitmap", test_io_permission },
	{ "emulate_format", test_format },
};

int main(void)
{
	unsigned int i, n = sizeof(tests) / sizeof(tests[0]);
	int fail = 0;

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
	tvm_destroy(vm);
	return fail ? KSFT_FAIL : KSFT_PASS;
}

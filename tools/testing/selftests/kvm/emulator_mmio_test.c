// SPDX-License-Identifier: GPL-2.0
/*
 * Every instruction form the emulator handles (Documentation/virt/
 * emulator.md), run by a 64-bit guest against ordinary RAM and against an
 * MMIO device served here from a byte array, must leave the same registers,
 * RFLAGS and memory.
 *
 * Each form is a small guest function (emulator_mmio_insns.h).  For one
 * (form, variant) the host draws random registers, flags and memory, then
 * runs the form on four targets, each a window of three pages around a base
 * address that RDI/RSI point into:
 *
 *   ram      all RAM (the reference; the CPU runs it natively)
 *   mmio     all MMIO: every access is a KVM_EXIT_MMIO
 *   split-lo the page below the base is RAM, the rest MMIO
 *   split-hi the base page and the one below are RAM, the one above MMIO
 *
 * Variants put RDI/RSI at page edges too, so accesses cross from RAM into
 * MMIO and back.  Pointers are compared relative to their base.
 *
 * Bad input: an instruction running into an unmapped page, accesses to
 * MMIO that run into an unmapped page, and undefined or illegally LOCKed
 * opcodes with MMIO operands give the architectural #PF/#UD through the
 * library's exception ucall.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kvm_util.h"
#include "emulator_mmio_insns.h"

#define RAM_GPA		0xa0000000ULL	/* slot 1: 2 MiB of RAM */
#define RAM_SIZE	0x200000ULL
#define SCRATCH_GPA	(RAM_GPA + 0x10000)	/* plain RAM for string ops */
#define CODE_GPA	(RAM_GPA + 0x20000)	/* bad-input instruction bytes */
#define SPLIT_GPA	0xbfffe000ULL	/* slot 2: two RAM pages below MMIO */
#define SPLIT_SIZE	0x2000ULL
#define MMIO_GPA	0xc0000000ULL	/* 4 MiB device, no memslot */
#define DEV_SIZE	0x400000ULL
/* 2 MiB guest pages left unmapped, right after RAM and after the device. */
#define UNMAPPED_RAM	(RAM_GPA + RAM_SIZE)
#define UNMAPPED_MMIO	(MMIO_GPA + DEV_SIZE)

#define VIEW_SIZE	(3 * PAGE_SIZE)	/* base - 1 page .. base + 2 pages */
#define SCRATCH_SIZE	PAGE_SIZE

#define NR_VARIANTS	4
#define MAX_REPORTS	40
/* No form needs more; beyond this the kernel is replaying an exit forever. */
#define MAX_EXITS_PER_RUN 1000

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
       R8, R9, R10, R11, R12, R13, R14, R15, NR_GPRS };

static const char *const gpr_names[NR_GPRS] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

struct emu_regs {
	uint64_t r[NR_GPRS];
	uint64_t rflags;
};

/* Shared with the guest: the job it runs next and what it left. */
struct emu_regs emu_in, emu_out;
void *volatile emu_fn;
uint64_t emu_saved_rsp;

/*
 * Guest: load every GPR (but RSP) and RFLAGS from emu_in, call emu_fn, store
 * them all to emu_out.  Only RIP-relative addressing, so no register is
 * needed to find the tables.
 */
#define LOAD(i) "movq emu_in+" #i "*8(%rip), %" 
#define STORE(r, i) "movq %" r ", emu_out+" #i "*8(%rip)\n"
asm(".pushsection .text\n"
    ".globl emu_tramp\n"
    "emu_tramp:\n"
    "	push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    "	movq %rsp, emu_saved_rsp(%rip)\n"
    "	pushq emu_in+16*8(%rip)\n"
    "	popfq\n"
    LOAD(0) "rax\n" LOAD(1) "rcx\n" LOAD(2) "rdx\n" LOAD(3) "rbx\n"
    LOAD(5) "rbp\n" LOAD(6) "rsi\n" LOAD(7) "rdi\n"
    LOAD(8) "r8\n" LOAD(9) "r9\n" LOAD(10) "r10\n" LOAD(11) "r11\n"
    LOAD(12) "r12\n" LOAD(13) "r13\n" LOAD(14) "r14\n" LOAD(15) "r15\n"
    "	call *emu_fn(%rip)\n"
    STORE("rax", 0) STORE("rcx", 1) STORE("rdx", 2) STORE("rbx", 3)
    STORE("rbp", 5) STORE("rsi", 6) STORE("rdi", 7)
    STORE("r8", 8) STORE("r9", 9) STORE("r10", 10) STORE("r11", 11)
    STORE("r12", 12) STORE("r13", 13) STORE("r14", 14) STORE("r15", 15)
    "	pushfq\n"
    "	popq emu_out+16*8(%rip)\n"
    "	cld\n"
    "	movq emu_saved_rsp(%rip), %rsp\n"
    "	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
    "	ret\n"
    ".popsection\n");
void emu_tramp(void);

/* The forms as guest functions. */
#define SNIP_ASM(n, body, ...)							\
	asm(".pushsection .text\n.globl snip_" #n "\nsnip_" #n ":\n\t"		\
	    body "\n\tret\n.popsection\n");
#define MOFFS_ASM(n, body)							\
	asm(".pushsection .text\n.globl snip_" #n "\nsnip_" #n ":\n\t"		\
	    body "\n.globl moffs_end_" #n "\nmoffs_end_" #n ":\n\tret\n"	\
	    ".popsection\n");
#define SNIP_DECL(n, ...) extern char snip_##n[];
#define MOFFS_DECL(n, body) extern char snip_##n[], moffs_end_##n[];

#define ALL_FORMS(X)								\
	MOV_FORMS(X) MOVX_FORMS(X) ALU_FORMS(X) UNARY_FORMS(X) XCHG_FORMS(X)	\
	BT_FORMS(X) STACK_FORMS(X) MOVBE_FORMS(X) SETCC_FORMS(X) MORE_FORMS(X)	\
	STRING_FORMS(X)

ALL_FORMS(SNIP_ASM)
ALL_FORMS(SNIP_DECL)
MOFFS_FORMS(MOFFS_ASM)
MOFFS_FORMS(MOFFS_DECL)

static void guest_loop(void)
{
	for (;;) {
		GUEST_SYNC(0);
		if (!emu_fn)
			break;
		emu_tramp();
	}
	GUEST_DONE();
}

/* ---- host side ----------------------------------------------------------- */

struct emu_case {
	const char *name;
	void *fn;
	uint64_t undef;		/* RFLAGS bits not compared */
	uint8_t *moffs_end;	/* patch base + RDI offset into the 8 bytes before */
	int strings;		/* STR_S | STR_D: string instruction */
	bool rep;		/* with a REP prefix: RCX counts */
	int rsi_ram, rdi_ram;	/* that pointer is in plain RAM, not the target */
	int count;		/* RCX of a string instruction */
	int df;
};

enum target { T_RAM, T_MMIO, T_SPLIT_LO, T_SPLIT_HI, NR_TARGETS };

static const char *const target_names[NR_TARGETS] = {
	"ram", "mmio", "split-lo", "split-hi",
};

static const uint64_t target_base[NR_TARGETS] = {
	[T_RAM] = RAM_GPA + PAGE_SIZE,
	[T_MMIO] = MMIO_GPA + PAGE_SIZE,
	[T_SPLIT_LO] = MMIO_GPA,
	[T_SPLIT_HI] = MMIO_GPA - PAGE_SIZE,
};

/* Offsets of RDI and RSI from the base, the index R15, the bit offset RDX. */
static const int64_t rdi_off[NR_VARIANTS] = { 0x100, 0x7f9, -3, 0xffd };
static const int64_t rsi_off[NR_VARIANTS] = { 0x300, 0x1204, 0xffe, -6 };
static const int64_t r15_idx[NR_VARIANTS] = { 0, 1, 5, -2 };
static const int64_t rdx_bit[NR_VARIANTS] = { 5, 0x1234, -77, 300 };

struct result {
	struct emu_regs regs;
	uint8_t view[VIEW_SIZE];
	uint8_t scratch[SCRATCH_SIZE];
	unsigned long mmio_exits;
};

struct bench {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint8_t *dev;		/* the MMIO device's memory */
	unsigned long mmio_exits;
	bool has_movbe;
	unsigned int failures;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rng_seed(uint64_t seed)
{
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 0x1234567;
	if (!rng_state)
		rng_state = 1;
	rng();
}

/* Host pointer for a guest physical byte: the device or a memslot. */
static uint8_t *gpa_ptr(struct bench *b, uint64_t gpa)
{
	if (gpa >= MMIO_GPA && gpa < MMIO_GPA + DEV_SIZE)
		return b->dev + (gpa - MMIO_GPA);
	return addr_gpa2hva(b->vm, gpa);
}

/* Copy a page-aligned range in or out, one page at a time. */
static void copy_guest(struct bench *b, uint64_t gpa, uint8_t *buf, uint64_t len,
		       bool to_guest)
{
	uint64_t off;

	for (off = 0; off < len; off += PAGE_SIZE) {
		uint8_t *p = gpa_ptr(b, gpa + off);

		if (to_guest)
			memcpy(p, buf + off, PAGE_SIZE);
		else
			memcpy(buf + off, p, PAGE_SIZE);
	}
}

static void unmap_2m(struct kvm_vm *vm, uint64_t gpa)
{
	uint64_t *pd = addr_gpa2hva(vm, VM_PD_GPA + (gpa >> 30) * PAGE_SIZE);

	pd[(gpa >> 21) & 511] = 0;
}

#define CPUID_1_ECX_MOVBE (1u << 22)

/* Give the guest the supported CPUID (MOVBE among it, if any). */
static bool set_cpuid_movbe(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid2 *c;
	bool movbe = false;
	uint32_t i;

	c = calloc(1, sizeof(*c) + 100 * sizeof(c->entries[0]));
	TEST_ASSERT(c, "out of memory");
	c->nent = 100;
	kvm_ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 1)
			movbe = c->entries[i].ecx & CPUID_1_ECX_MOVBE;
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, c);
	free(c);
	return movbe;
}

static void bench_init(struct bench *b, void *guest_code)
{
	if (!b->dev) {
		b->dev = calloc(1, DEV_SIZE);
		TEST_ASSERT(b->dev, "out of memory");
	}
	b->vm = vm_create_with_one_vcpu(&b->vcpu, guest_code);
	vm_add_memory(b->vm, 1, 0, RAM_GPA, RAM_SIZE);
	vm_add_memory(b->vm, 2, 0, SPLIT_GPA, SPLIT_SIZE);
	unmap_2m(b->vm, UNMAPPED_RAM);
	unmap_2m(b->vm, UNMAPPED_MMIO);
	b->has_movbe = set_cpuid_movbe(b->vcpu);
}

static void bench_start_loop(struct bench *b)
{
	struct ucall uc;

	bench_init(b, guest_loop);
	vcpu_expect_sync(b->vcpu, &uc);
}

static void bench_free(struct bench *b)
{
	kvm_vm_free(b->vm);
	b->vm = NULL;
}

/* Answer one KVM_EXIT_MMIO from the device array. */
static void serve_mmio(struct bench *b)
{
	struct kvm_run *run = b->vcpu->run;
	uint64_t gpa = run->mmio.phys_addr;

	TEST_ASSERT(run->mmio.len >= 1 && run->mmio.len <= 8 &&
		    gpa >= MMIO_GPA && gpa + run->mmio.len <= MMIO_GPA + DEV_SIZE,
		    "MMIO %s outside the device: gpa 0x%llx len %u",
		    run->mmio.is_write ? "write" : "read",
		    (unsigned long long)gpa, run->mmio.len);
	if (run->mmio.is_write)
		memcpy(b->dev + (gpa - MMIO_GPA), run->mmio.data, run->mmio.len);
	else
		memcpy(run->mmio.data, b->dev + (gpa - MMIO_GPA), run->mmio.len);
	b->mmio_exits++;
}

/*
 * Run the vCPU until it makes a ucall, serving MMIO on the way.  Returns the
 * ucall; a non-ucall exit is described into buf and gives UCALL_NONE.
 */
static uint64_t run_to_ucall(struct bench *b, struct ucall *uc, char *buf, size_t len)
{
	unsigned long exits = 0;

	for (;;) {
		vcpu_run(b->vcpu);
		if (b->vcpu->run->exit_reason == KVM_EXIT_MMIO) {
			if (++exits > MAX_EXITS_PER_RUN) {
				vcpu_describe_exit(b->vcpu, buf, len);
				snprintf(buf + strlen(buf), len - strlen(buf),
					 " repeated: more than %d MMIO exits",
					 MAX_EXITS_PER_RUN);
				return UCALL_NONE;
			}
			serve_mmio(b);
			continue;
		}
		if (get_ucall(b->vcpu, uc) == UCALL_NONE) {
			vcpu_describe_exit(b->vcpu, buf, len);
			return UCALL_NONE;
		}
		if (uc->cmd != UCALL_SYNC)
			ucall_str(uc, buf, len);
		return uc->cmd;
	}
}

static uint64_t ptr_base(const struct emu_case *c, enum target t, int reg)
{
	if ((reg == RSI && c->rsi_ram) || (reg == RDI && c->rdi_ram))
		return SCRATCH_GPA + SCRATCH_SIZE / 2;
	return target_base[t];
}

static bool is_ptr(int reg)
{
	return reg == RDI || reg == RSI;
}

/* Fill memory and registers for (case, variant) the same way on each target. */
static void prepare(struct bench *b, const struct emu_case *c, int ci, int v,
		    enum target t, struct emu_regs *in)
{
	static uint8_t buf[VIEW_SIZE + SCRATCH_SIZE];
	uint64_t i, flags;
	bool runs = c->strings && (v & 1);

	rng_seed((uint64_t)ci * NR_VARIANTS + v);
	for (i = 0; i < sizeof(buf); i++) {
		uint64_t r = rng();

		/* Mostly-equal bytes, so REPE/REPNE stop somewhere inside. */
		buf[i] = runs && (r >> 8) % 8 ? 0x5a : (uint8_t)r;
	}
	copy_guest(b, target_base[t] - PAGE_SIZE, buf, VIEW_SIZE, true);
	copy_guest(b, SCRATCH_GPA, buf + VIEW_SIZE, SCRATCH_SIZE, true);

	for (i = 0; i < NR_GPRS; i++)
		in->r[i] = rng();
	in->r[RSP] = 0;
	in->r[RDI] = ptr_base(c, t, RDI) + rdi_off[v];
	in->r[RSI] = ptr_base(c, t, RSI) + rsi_off[v];
	in->r[R15] = r15_idx[v];
	in->r[RDX] = rdx_bit[v];
	if (c->strings) {
		in->r[RCX] = c->count;
		if (runs)
			in->r[RAX] = 0x5a5a5a5a5a5a5a5aULL;
		if (c->df) {
			/* Walk down from the top half of the window. */
			in->r[RDI] += 0x400;
			in->r[RSI] += 0x400;
		}
	}
	flags = rng() & (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF);
	in->rflags = X86_EFLAGS_FIXED | flags | (c->df ? X86_EFLAGS_DF : 0);

	if (c->moffs_end) {
		uint64_t addr = in->r[RDI];

		memcpy(addr_gva2hva(b->vm, c->moffs_end - 8), &addr, 8);
	}
}

/* One run; false (with a report) if the guest did not come back cleanly. */
static bool run_one(struct bench *b, const struct emu_case *c, int ci, int v,
		    enum target t, struct result *res)
{
	struct emu_regs *in = addr_gva2hva(b->vm, &emu_in);
	struct ucall uc;
	char buf[512];
	int i;

	prepare(b, c, ci, v, t, in);
	*(void **)addr_gva2hva(b->vm, &emu_fn) = c->fn;
	b->mmio_exits = 0;
	if (run_to_ucall(b, &uc, buf, sizeof(buf)) != UCALL_SYNC) {
		ktap_print("%s variant %d on %s: %s", c->name, v, target_names[t], buf);
		return false;
	}
	res->regs = *(struct emu_regs *)addr_gva2hva(b->vm, &emu_out);
	for (i = 0; i < NR_GPRS; i++)
		if (is_ptr(i))
			res->regs.r[i] -= ptr_base(c, t, i);
	res->regs.r[RSP] = 0;
	copy_guest(b, target_base[t] - PAGE_SIZE, res->view, VIEW_SIZE, false);
	copy_guest(b, SCRATCH_GPA, res->scratch, SCRATCH_SIZE, false);
	res->mmio_exits = b->mmio_exits;
	return true;
}

static void report(struct bench *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct bench *b, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (++b->failures > MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ktap_print("%s", buf);
}

static void compare(struct bench *b, const struct emu_case *c, int v, enum target t,
		    const struct result *ref, const struct result *got)
{
	uint64_t mask = ~c->undef;
	size_t i;

	for (i = 0; i < NR_GPRS; i++)
		if (ref->regs.r[i] != got->regs.r[i])
			report(b, "%s variant %d on %s: %s expected 0x%llx (ram), got 0x%llx",
			       c->name, v, target_names[t], gpr_names[i],
			       (unsigned long long)ref->regs.r[i],
			       (unsigned long long)got->regs.r[i]);
	if ((ref->regs.rflags ^ got->regs.rflags) & mask)
		report(b, "%s variant %d on %s: rflags expected 0x%llx (ram), got 0x%llx (compared 0x%llx)",
		       c->name, v, target_names[t],
		       (unsigned long long)ref->regs.rflags,
		       (unsigned long long)got->regs.rflags,
		       (unsigned long long)(mask & 0xfff));
	for (i = 0; i < VIEW_SIZE; i++)
		if (ref->view[i] != got->view[i]) {
			report(b, "%s variant %d on %s: memory at base%+lld expected 0x%02x (ram), got 0x%02x",
			       c->name, v, target_names[t],
			       (long long)i - (long long)PAGE_SIZE, ref->view[i], got->view[i]);
			break;
		}
	for (i = 0; i < SCRATCH_SIZE; i++)
		if (ref->scratch[i] != got->scratch[i]) {
			report(b, "%s variant %d on %s: RAM buffer at %+lld expected 0x%02x, got 0x%02x",
			       c->name, v, target_names[t],
			       (long long)i - (long long)SCRATCH_SIZE / 2,
			       ref->scratch[i], got->scratch[i]);
			break;
		}
}

/* Touches the memory under test, so the mmio target must have exited. */
static bool touches_target(const struct emu_case *c)
{
	if (!c->strings)
		return true;
	if (c->rep && c->count == 0)
		return false;
	return ((c->strings & STR_S) && !c->rsi_ram) ||
	       ((c->strings & STR_D) && !c->rdi_ram);
}

static void run_cases(const struct emu_case *cases, size_t n)
{
	static struct result res[NR_TARGETS];
	struct bench b = { 0 };
	size_t ci;
	int v, t;

	bench_start_loop(&b);
	/* Past MAX_REPORTS the verdict is in: stop instead of grinding on. */
	for (ci = 0; ci < n && b.failures <= MAX_REPORTS; ci++) {
		const struct emu_case *c = &cases[ci];
		unsigned long exits = 0;

		for (v = 0; v < NR_VARIANTS; v++) {
			for (t = 0; t < NR_TARGETS; t++) {
				if (!run_one(&b, c, ci, v, t, &res[t])) {
					b.failures++;
					bench_free(&b);
					bench_start_loop(&b);
					break;
				}
				if (t == T_MMIO)
					exits += res[t].mmio_exits;
				if (t != T_RAM)
					compare(&b, c, v, t, &res[T_RAM], &res[t]);
			}
		}
		if (touches_target(c) && !exits)
			report(&b, "%s: no MMIO exit on the mmio target", c->name);
	}
	bench_free(&b);
	free(b.dev);
	if (b.failures > MAX_REPORTS)
		ktap_print("... more than %d differences: stopped at form %zu of %zu",
			   MAX_REPORTS, ci, n);
	TEST_ASSERT_EQ(b.failures, 0);
	ktap_print("%zu forms x %d variants x %d targets agree", n, NR_VARIANTS,
		   NR_TARGETS);
}

#define CASE_ROW(n, body, u, ...) { .name = #n, .fn = snip_##n, .undef = (u) },

static void mov(void)
{
	static const struct emu_case cases[] = {
		MOV_FORMS(CASE_ROW)
		MOVX_FORMS(CASE_ROW)
#define MOFFS_ROW(n, body) { .name = #n, .fn = snip_##n, .moffs_end = (uint8_t *)moffs_end_##n },
		MOFFS_FORMS(MOFFS_ROW)
	};

	run_cases(cases, ARRAY_SIZE(cases));
}

static void alu(void)
{
	static const struct emu_case cases[] = { ALU_FORMS(CASE_ROW) };

	run_cases(cases, ARRAY_SIZE(cases));
}

static void inc_dec_neg_not(void)
{
	static const struct emu_case cases[] = { UNARY_FORMS(CASE_ROW) };

	run_cases(cases, ARRAY_SIZE(cases));
}

static void xchg_cmpxchg_xadd(void)
{
	static const struct emu_case cases[] = { XCHG_FORMS(CASE_ROW) };

	run_cases(cases, ARRAY_SIZE(cases));
}

static void bit_test(void)
{
	static const struct emu_case cases[] = { BT_FORMS(CASE_ROW) };

	run_cases(cases, ARRAY_SIZE(cases));
}

static void push_pop(void)
{
	static const struct emu_case cases[] = { STACK_FORMS(CASE_ROW) };

	run_cases(cases, ARRAY_SIZE(cases));
}

static void setcc(void)
{
	static const struct emu_case cases[] = { SETCC_FORMS(CASE_ROW) };

	run_cases(cases, ARRAY_SIZE(cases));
}

static void cmov_mul_div_shift(void)
{
	static const struct emu_case cases[] = { MORE_FORMS(CASE_ROW) };

	run_cases(cases, ARRAY_SIZE(cases));
}

static void movbe(void)
{
	static const struct emu_case cases[] = { MOVBE_FORMS(CASE_ROW) };
	struct bench b = { 0 };
	bool has;

	bench_init(&b, guest_loop);
	has = b.has_movbe;
	bench_free(&b);
	free(b.dev);
	TEST_REQUIRE(has, "KVM_GET_SUPPORTED_CPUID has no MOVBE");
	run_cases(cases, ARRAY_SIZE(cases));
}

/* Every string form x RCX 0/1/3/17 x DF 0/1 x pointer placement. */
static void strings(void)
{
	static const struct { const char *name; void *fn; int uses; } forms[] = {
#define STR_ROW(n, body, u, uses) { #n, snip_##n, uses },
		STRING_FORMS(STR_ROW)
	};
	static const int counts[] = { 0, 1, 3, 17 };
	struct emu_case *cases;
	size_t f, n = 0, max;
	int k, df, place;

	max = ARRAY_SIZE(forms) * ARRAY_SIZE(counts) * 2 * 3;
	cases = calloc(max, sizeof(*cases));
	TEST_ASSERT(cases, "out of memory");
	for (f = 0; f < ARRAY_SIZE(forms); f++)
		for (k = 0; k < (int)ARRAY_SIZE(counts); k++)
			for (df = 0; df < 2; df++)
				for (place = 0; place < 3; place++) {
					struct emu_case *c = &cases[n];
					char *name;

					/* place 1: RSI in RAM; 2: RDI in RAM. */
					if (place && forms[f].uses != (STR_S | STR_D))
						continue;
					TEST_ASSERT(asprintf(&name, "%s rcx=%d df=%d%s",
							     forms[f].name, counts[k], df,
							     place == 1 ? " rsi=ram" :
							     place == 2 ? " rdi=ram" : "") > 0,
						    "out of memory");
					*c = (struct emu_case){
						.name = name, .fn = forms[f].fn,
						.strings = forms[f].uses,
						.rep = strstr(forms[f].name, "rep") != NULL,
						.rsi_ram = place == 1 || !(forms[f].uses & STR_S),
						.rdi_ram = place == 2 || !(forms[f].uses & STR_D),
						.count = counts[k], .df = df,
					};
					n++;
				}
	run_cases(cases, n);
}

/* ---- bad input ------------------------------------------------------------ */

/* Call code at `code` with RDI, RSI, RCX set; it is not expected to return. */
static void guest_call(uint64_t code, uint64_t rdi, uint64_t rsi, uint64_t rcx)
{
	asm volatile("call *%0"
		     : : "r"(code), "D"(rdi), "S"(rsi), "c"(rcx)
		     : "memory", "rax", "rdx", "r8", "r9", "r10", "r11");
	GUEST_DONE();
}

struct bad_input {
	const char *what;
	uint8_t bytes[8];
	int len;
	uint64_t rip;		/* where the bytes go */
	uint64_t rdi, rsi, rcx;
	uint64_t vector;
	uint64_t cr2;		/* for #PF */
	uint64_t err;		/* #PF error code bits P, W, U */
};

/* Run bi on b's fresh VM: the guest must report bi's exception. */
static void expect_fault_prepared(const struct bad_input *bi, struct bench *b,
				  struct ucall *uc)
{
	struct kvm_sregs sregs;
	char buf[512];
	uint64_t cmd;

	memcpy(gpa_ptr(b, bi->rip), bi->bytes, bi->len);
	vcpu_args_set(b->vcpu, 4, bi->rip, bi->rdi, bi->rsi, bi->rcx);
	b->mmio_exits = 0;
	cmd = run_to_ucall(b, uc, buf, sizeof(buf));
	TEST_ASSERT(cmd == UCALL_EXCEPTION, "%s: expected vector %llu, got %s", bi->what,
		    (unsigned long long)bi->vector,
		    cmd == UCALL_SYNC ? "GUEST_SYNC" : buf);
	ktap_print("%s: %s", bi->what, ucall_str(uc, buf, sizeof(buf)));
	TEST_ASSERT_EQ(uc->args[0], bi->vector);
	TEST_ASSERT_EQ(uc->args[2], bi->rip);
	if (bi->vector == 14) {
		vcpu_sregs_get(b->vcpu, &sregs);
		TEST_ASSERT_EQ(sregs.cr2, bi->cr2);
		TEST_ASSERT_EQ(uc->args[1] & 7, bi->err);
	}
}

static void expect_fault(const struct bad_input *bi, struct bench *b, struct ucall *uc)
{
	bench_init(b, guest_call);
	expect_fault_prepared(bi, b, uc);
}

static void undefined_opcodes(void)
{
	static const struct bad_input cases[] = {
#define UD(w, n, ...) { .what = w, .bytes = { __VA_ARGS__ }, .len = n }
		UD("lock mov to MMIO", 3, 0xf0, 0x89, 0x1f),
		UD("lock mov from MMIO", 3, 0xf0, 0x8b, 0x1f),
		UD("lock test with MMIO", 3, 0xf0, 0x85, 0x1f),
		UD("lock cmpxchg to a register", 4, 0xf0, 0x0f, 0xb1, 0xd8),
		UD("lea with a register operand", 3, 0x48, 0x8d, 0xc0),
		UD("ud2", 2, 0x0f, 0x0b),
		UD("ud0 with MMIO operand", 3, 0x0f, 0xff, 0x1f),
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bad_input bi = cases[i];
		struct bench b = { 0 };
		struct ucall uc;

		bi.rip = CODE_GPA;
		bi.rdi = MMIO_GPA + 0x100;
		bi.vector = 6;
		expect_fault(&bi, &b, &uc);
		TEST_ASSERT(b.mmio_exits == 0, "%s: %lu MMIO exits before #UD",
			    bi.what, b.mmio_exits);
		bench_free(&b);
		free(b.dev);
	}
}

/* mov 0x8(%rdi), %rax whose last 3 bytes are on the unmapped page. */
static void fetch_into_unmapped_page(void)
{
	struct bad_input bi = {
		.what = "instruction running into an unmapped page",
		.bytes = { 0x48, 0x8b, 0x87, 0x08, 0x00, 0x00, 0x00 }, .len = 4,
		.rip = UNMAPPED_RAM - 4, .rdi = MMIO_GPA, .vector = 14,
		.cr2 = UNMAPPED_RAM, .err = 0,
	};
	struct bench b = { 0 };
	struct ucall uc;

	/* Only the 4 bytes before the unmapped page are written. */
	expect_fault(&bi, &b, &uc);
	TEST_ASSERT(b.mmio_exits == 0, "%lu MMIO exits", b.mmio_exits);
	bench_free(&b);
	free(b.dev);
}

/* 8-byte accesses whose first half is MMIO and second half unmapped. */
static void mmio_access_into_unmapped_page(void)
{
	static const struct bad_input cases[] = {
		{ .what = "8-byte read from MMIO into an unmapped page",
		  .bytes = { 0x48, 0x8b, 0x07 }, .len = 3, .err = 0 },
		{ .what = "8-byte write to MMIO into an unmapped page",
		  .bytes = { 0x48, 0x89, 0x07 }, .len = 3, .err = 2 },
		{ .what = "add to MMIO into an unmapped page",
		  .bytes = { 0x48, 0x01, 0x07 }, .len = 3, .err = 2 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bad_input bi = cases[i];
		struct bench b = { 0 };
		struct ucall uc;

		bi.rip = CODE_GPA;
		bi.rdi = UNMAPPED_MMIO - 4;
		bi.vector = 14;
		bi.cr2 = UNMAPPED_MMIO;
		b.dev = calloc(1, DEV_SIZE);
		TEST_ASSERT(b.dev, "out of memory");
		memset(b.dev + DEV_SIZE - 4, 0x77, 4);
		expect_fault(&bi, &b, &uc);
		/* Nothing of a faulting write reaches the device. */
		TEST_ASSERT(!memcmp(b.dev + DEV_SIZE - 4, "\x77\x77\x77\x77", 4),
			    "%s: device bytes changed", bi.what);
		bench_free(&b);
		free(b.dev);
	}
}

/*
 * rep movsb between MMIO and RAM that runs into the unmapped page: the
 * iterations before the fault are kept (RCX=5, two bytes fit).
 */
static void rep_movs_into_unmapped_page(void)
{
	struct bad_input to_ram = {
		.what = "rep movsb from MMIO into an unmapped page",
		.bytes = { 0xf3, 0xa4 }, .len = 2,
		.rip = CODE_GPA, .rdi = UNMAPPED_RAM - 2, .rsi = MMIO_GPA + 0x100,
		.rcx = 5, .vector = 14, .cr2 = UNMAPPED_RAM, .err = 2,
	};
	struct bad_input from_ram = {
		.what = "rep movsb from RAM running into an unmapped page to MMIO",
		.bytes = { 0xf3, 0xa4 }, .len = 2,
		.rip = CODE_GPA, .rdi = MMIO_GPA + 0x200, .rsi = UNMAPPED_RAM - 2,
		.rcx = 5, .vector = 14, .cr2 = UNMAPPED_RAM, .err = 0,
	};
	struct bench b = { 0 };
	struct ucall uc;
	uint8_t *p;

	b.dev = calloc(1, DEV_SIZE);
	TEST_ASSERT(b.dev, "out of memory");
	memcpy(b.dev + 0x100, "\xa1\xb2\xc3\xd4\xe5", 5);
	expect_fault(&to_ram, &b, &uc);
	p = addr_gpa2hva(b.vm, UNMAPPED_RAM - 2);
	TEST_ASSERT(p[0] == 0xa1 && p[1] == 0xb2,
		    "bytes before the fault: 0x%02x 0x%02x, expected 0xa1 0xb2", p[0], p[1]);
	bench_free(&b);

	memset(b.dev + 0x200, 0, 8);
	bench_init(&b, guest_call);
	p = addr_gpa2hva(b.vm, UNMAPPED_RAM - 2);
	p[0] = 0x3c;
	p[1] = 0x4d;
	expect_fault_prepared(&from_ram, &b, &uc);
	TEST_ASSERT(b.dev[0x200] == 0x3c && b.dev[0x201] == 0x4d && b.dev[0x202] == 0,
		    "device bytes 0x%02x 0x%02x 0x%02x, expected 0x3c 0x4d 0",
		    b.dev[0x200], b.dev[0x201], b.dev[0x202]);
	bench_free(&b);
	free(b.dev);
}

/* With arguments, run only the cases named. */
int main(int argc, char **argv)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(mov),
		KTAP_CASE(alu),
		KTAP_CASE(inc_dec_neg_not),
		KTAP_CASE(xchg_cmpxchg_xadd),
		KTAP_CASE(bit_test),
		KTAP_CASE(push_pop),
		KTAP_CASE(setcc),
		KTAP_CASE(movbe),
		KTAP_CASE(cmov_mul_div_shift),
		KTAP_CASE(strings),
		KTAP_CASE(undefined_opcodes),
		KTAP_CASE(fetch_into_unmapped_page),
		KTAP_CASE(mmio_access_into_unmapped_page),
		KTAP_CASE(rep_movs_into_unmapped_page),
	};

	struct ktap_case chosen[ARRAY_SIZE(cases)];
	size_t i, n = 0;
	int a;

	if (argc < 2)
		return ktap_run(cases, ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		for (a = 1; a < argc; a++)
			if (!strcmp(argv[a], cases[i].name))
				chosen[n++] = cases[i];
	return ktap_run(chosen, n);
}

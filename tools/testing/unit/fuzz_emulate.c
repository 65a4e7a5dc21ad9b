// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target over the decoder and the emulator.
 *
 * Input: 4 configuration bytes (mode, CPL, paging and protection bits,
 * code placement), 16 register selector bytes, then instruction bytes.
 * The guest has RAM, an MMIO window and ports served through the
 * IO_NEEDED protocol, read-only/supervisor/NX pages and a code page whose
 * successor may be unmapped.  Besides ASan/UBSan, every result must obey
 * the API contract (see check_result()); violations abort.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../arch/x86/kvm/emulate.h"
#include "../../../arch/x86/kvm/mmu/walk.h"
#include "tvm.h"

#define MEM_SIZE	(512 * 1024)
#define CODE_LA64	0x400000ULL
#define DATA_LA64	0x600000ULL
#define MMIO_LA64	0x700000ULL
#define STACK_LA64	0x800000ULL
#define CODE_GPA	0x10000ULL
#define DATA_GPA	0x20000ULL
#define STACK_GPA	0x30000ULL
#define MMIO_LA32	0x00100000ULL	/* legacy paging: PDE 0 covers it */
#define PD32		0x70000ULL
#define PT32		0x71000ULL

static struct tvm *vm;

static void die(const char *what)
{
	fprintf(stderr, "contract violation: %s\n", what);
	abort();
}

static uint64_t reg_value(uint8_t b, bool long_mode)
{
	uint64_t data = long_mode ? DATA_LA64 : DATA_GPA;
	uint64_t mmio = long_mode ? MMIO_LA64 : MMIO_LA32;

	switch (b >> 6) {
	case 0:
		return data + (b & 63) * 64;
	case 1:
		return mmio + (b & 63) * 8;
	case 2:
		return b & 63;
	default:
		return (b & 1) ? ~0ULL - (b & 62) : 0x0000800000000000ULL + b;
	}
}

static void setup_long(uint8_t prot)
{
	uint64_t code = X86_PTE_P | X86_PTE_US | ((prot & 1) ? X86_PTE_NX : 0);
	uint64_t data = X86_PTE_P | ((prot & 2) ? 0 : X86_PTE_RW) |
			((prot & 4) ? 0 : X86_PTE_US);
	unsigned int i;

	tvm_set_mode(vm, X86_MODE_LONG64);
	tvm_map(vm, CODE_LA64, CODE_GPA, code);
	if (!(prot & 8))
		tvm_map(vm, CODE_LA64 + 0x1000, CODE_GPA + 0x1000, code);
	for (i = 0; i < 4; i++)
		tvm_map(vm, DATA_LA64 + i * 0x1000, DATA_GPA + i * 0x1000,
			i ? X86_PTE_P | X86_PTE_RW | X86_PTE_US : data);
	tvm_map(vm, MMIO_LA64, vm->mmio_base, X86_PTE_P | X86_PTE_RW |
		X86_PTE_US);
	tvm_map(vm, STACK_LA64, STACK_GPA, X86_PTE_P | X86_PTE_RW | X86_PTE_US);
	vm->dt[0].base = DATA_LA64 + 0x1000;
	vm->dt[0].limit = 0xfff;
}

/* Legacy modes: flat segments, optionally 2-level identity paging. */
static void setup_legacy(enum x86_cpu_mode mode, uint8_t prot)
{
	uint32_t *pd = (uint32_t *)(vm->mem + PD32);
	uint32_t *pt = (uint32_t *)(vm->mem + PT32);
	unsigned int i;

	tvm_set_mode(vm, mode);
	vm->dt[0].base = DATA_GPA + 0x1000;
	vm->dt[0].limit = 0xfff;
	if (mode == X86_MODE_REAL || !(prot & 16))
		return;
	memset(pd, 0, 4096);
	memset(pt, 0, 4096);
	pd[0] = PT32 | X86_PTE_P | X86_PTE_RW | X86_PTE_US;
	for (i = 0; i < MEM_SIZE / 4096; i++)
		pt[i] = (i << 12) | X86_PTE_P | X86_PTE_RW | X86_PTE_US;
	pt[(DATA_GPA >> 12)] &= ~((prot & 2) ? X86_PTE_RW : 0);
	if (prot & 8)
		pt[(CODE_GPA >> 12) + 1] = 0;
	pt[MMIO_LA32 >> 12] = (uint32_t)vm->mmio_base | X86_PTE_P |
			      X86_PTE_RW | X86_PTE_US;
	vm->cr[3] = PD32;
	vm->cr[0] |= X86_CR0_PG;
}

static void check_decode_consistency(const struct x86_insn *insn)
{
	struct x86_exception exc;
	struct x86_insn again;
	char buf[96];
	unsigned int n;

	if (insn->len == 0 || insn->len > X86_MAX_INSN_LEN)
		die("decoded length out of range");
	if (x86_decode_bytes(&again, insn->mode, insn->bytes, insn->len,
			     &exc) != X86EMUL_OK)
		die("bytes that decoded in guest memory do not decode alone");
	if (again.len != insn->len || again.kind != insn->kind ||
	    again.op_size != insn->op_size || again.imm != insn->imm ||
	    again.disp != insn->disp)
		die("decoding is not a pure function of the bytes");
	n = x86_insn_format(insn, buf, sizeof(buf));
	if (strlen(buf) >= sizeof(buf) || (n < sizeof(buf) && strlen(buf) != n))
		die("format length");
}

static void check_result(int r, uint64_t rip0)
{
	const struct x86_emul_ctxt *c = &vm->c;

	switch (r) {
	case X86EMUL_OK:
		check_decode_consistency(&c->insn);
		if (c->rip == rip0)
			break;		/* string insn made partial progress */
		if (c->mode == X86_MODE_LONG64 &&
		    c->rip != rip0 + c->insn.len)
			die("RIP not advanced by the instruction length");
		break;
	case X86EMUL_FAULT:
		if (c->rip != rip0)
			die("fault with RIP moved");
		switch (c->exc.vector) {
		case X86_EXC_DE: case X86_EXC_UD: case X86_EXC_NP:
		case X86_EXC_SS: case X86_EXC_GP: case X86_EXC_PF:
		case X86_EXC_AC:
			break;
		default:
			die("unexpected exception vector");
		}
		if (c->exc.vector == X86_EXC_PF && !c->exc.has_error_code)
			die("#PF without error code");
		break;
	case X86EMUL_UNHANDLED:
		if (c->rip != rip0)
			die("unhandled with RIP moved");
		break;
	default:
		die("bad result");
	}
}

/* Decoder alone, all modes, on the raw bytes. */
static void fuzz_decoder(const uint8_t *data, size_t size)
{
	static const enum x86_cpu_mode modes[] = {
		X86_MODE_REAL, X86_MODE_PROT16, X86_MODE_PROT32,
		X86_MODE_LONG64,
	};
	struct x86_exception exc;
	struct x86_insn insn;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		int r = x86_decode_bytes(&insn, modes[i], data, size, &exc);

		if (r == X86EMUL_OK)
			check_decode_consistency(&insn);
		else if (r == X86EMUL_FAULT && exc.vector != X86_EXC_UD &&
			 exc.vector != X86_EXC_GP)
			die("decoder fault vector");
		else if (r == X86EMUL_IO_NEEDED && size >= X86_MAX_INSN_LEN)
			die("decoder wants more than 15 bytes");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum x86_cpu_mode modes[8] = {
		X86_MODE_LONG64, X86_MODE_LONG64, X86_MODE_LONG64,
		X86_MODE_PROT32, X86_MODE_PROT32, X86_MODE_PROT16,
		X86_MODE_REAL, X86_MODE_VM86,
	};
	enum x86_cpu_mode mode;
	uint8_t cfg[4] = { 0 }, cpl;
	uint64_t rip, code_gpa;
	unsigned int i, n;
	bool lm;
	int r;

	if (!vm) {
		vm = tvm_create(MEM_SIZE);
		if (!vm)
			abort();
	}
	fuzz_decoder(data, size);
	for (i = 0; i < 4 && i < size; i++)
		cfg[i] = data[i];
	data += i;
	size -= i;

	mode = modes[cfg[0] & 7];
	lm = mode == X86_MODE_LONG64;
	cpl = mode == X86_MODE_REAL ? 0 : mode == X86_MODE_VM86 ? 3 :
	      (cfg[0] >> 3) & 3;
	memset(vm->mem, 0, MEM_SIZE);
	memset(vm->mmio, 0x5a, vm->mmio_size);
	memset(vm->ports, 0xa5, sizeof(vm->ports));
	vm->nlog = 0;
	vm->pending = false;
	memset(&vm->c, 0, sizeof(vm->c));
	if (lm)
		setup_long(cfg[2]);
	else
		setup_legacy(mode, cfg[2]);
	if (cfg[1] & 1)
		vm->cr[0] |= X86_CR0_WP;
	if (cfg[1] & 2)
		vm->cr[4] |= X86_CR4_SMEP;
	if (cfg[1] & 4)
		vm->cr[4] |= X86_CR4_SMAP;
	if (cfg[1] & 8)
		vm->cr[0] |= 1ULL << 18;		/* AM */
	vm->c.rflags = ((cfg[1] & 16) ? 0x400 : 0) |
		       ((cfg[1] & 32) ? X86_RFLAGS_AC : 0) |
		       ((cfg[1] & 64) ? 0x3000 : 0) | (cfg[0] & 0xc0 ? 0x8d5 : 0);
	/* Data pages: a pattern, so descriptors and operands vary. */
	for (i = 0; i < 4 * 4096; i++)
		vm->mem[DATA_GPA + i] = (uint8_t)(i * 131 + cfg[3]);

	for (i = 0; i < X86_NR_GPRS; i++) {
		uint8_t b = size ? *data : (uint8_t)(i * 37);

		if (size) {
			data++;
			size--;
		}
		vm->c.regs[i] = reg_value(b, lm);
	}
	vm->c.regs[X86_RSP] = lm ? STACK_LA64 + 0x800 : STACK_GPA + 0x800;

	/* Code near the end of its page, maybe crossing into the next. */
	rip = 0xff0 + (cfg[3] & 0xf);
	code_gpa = CODE_GPA + rip;
	if (lm)
		rip += CODE_LA64;
	else if (mode == X86_MODE_REAL || mode == X86_MODE_VM86)
		vm->seg[X86_SEG_CS].base = CODE_GPA;
	else
		rip += CODE_GPA;
	n = size > 32 ? 32 : size;
	memcpy(vm->mem + code_gpa, data, n);

	vm->c.rip = rip;
	tvm_prepare(vm, mode, cpl);
	vm->c.rep_budget = 1 + (cfg[3] >> 4);
	r = tvm_emulate(vm, 16);
	if (r == X86EMUL_IO_NEEDED)
		die("more userspace round trips than reads in one instruction");
	check_result(r, rip);
	return 0;
}

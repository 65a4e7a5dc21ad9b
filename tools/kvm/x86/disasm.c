// SPDX-License-Identifier: GPL-2.0
/*
 * Disassembly for `lkvm debug` and the dump on a crash.  The decoder is
 * the tree's own (arch/x86/kvm/emulate_decode.c, the same source as the
 * module's emulator); emulate_fmt.c names the instructions the emulator
 * implements, and this file names the common ones it does not (control
 * flow, system instructions the module intercepts), so a dump of a guest
 * stuck in a loop or at a HLT reads naturally.  Anything else prints as
 * ".byte" with the decoded length.
 */
#include <stdio.h>
#include <string.h>

#include "../../../arch/x86/kvm/emulate.h"
#include "kvm/debug.h"

#define X86_CR0_PE_BIT		(1ULL << 0)
#define X86_RFLAGS_VM_BIT	(1ULL << 17)
#define X86_EFER_LMA_BIT	(1ULL << 10)

static enum x86_cpu_mode disasm__mode(const struct kvm_sregs *s, u64 rflags)
{
	if (!(s->cr0 & X86_CR0_PE_BIT))
		return X86_MODE_REAL;
	if (rflags & X86_RFLAGS_VM_BIT)
		return X86_MODE_VM86;
	if ((s->efer & X86_EFER_LMA_BIT) && s->cs.l)
		return X86_MODE_LONG64;
	return s->cs.db ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

static const char *const cc[16] = {
	"o", "no", "b", "ae", "e", "ne", "be", "a",
	"s", "ns", "p", "np", "l", "ge", "le", "g",
};
static const char *const gpr64[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};
static const char *const gpr32[8] = {
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
};
static const char *const gpr16[8] = {
	"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
};

static const char *reg_name(unsigned int reg, unsigned int size, char *tmp)
{
	if (size == 8)
		return gpr64[reg & 15];
	if (reg >= 8) {
		snprintf(tmp, 8, "%s%s", gpr64[reg & 15], size == 4 ? "d" : "w");
		return tmp;
	}
	return size == 4 ? gpr32[reg] : gpr16[reg];
}

/* Target of a relative branch, wrapped to the operand size. */
static u64 rel_target(const struct x86_insn *insn, u64 rip)
{
	u64 t = rip + insn->len + insn->imm;

	if (insn->mode != X86_MODE_LONG64)
		t &= insn->op_size == 2 ? 0xffff : 0xffffffff;
	return t;
}

/* objdump's layout: the mnemonic padded to 6 columns, then operands. */
static void emit(char *buf, size_t size, const char *name, const char *ops)
{
	if (*ops)
		snprintf(buf, size, "%-6s %s", name, ops);
	else
		snprintf(buf, size, "%s", name);
}

static void emit_target(char *buf, size_t size, const char *name, u64 t)
{
	char ops[24];

	snprintf(ops, sizeof(ops), "0x%llx", (unsigned long long)t);
	emit(buf, size, name, ops);
}

/* The ModRM operand of an indirect jump/call: register or memory. */
static void fmt_rm(const struct x86_insn *insn, char *buf, size_t size)
{
	unsigned int op = insn->mode == X86_MODE_LONG64 ? 8 : insn->op_size;
	char t1[8], t2[8];
	int n = 0;

	if (!insn->mem) {
		snprintf(buf, size, "%s", reg_name(insn->rm, op, t1));
		return;
	}
	n += snprintf(buf + n, size - n, "%s PTR [",
		      op == 8 ? "QWORD" : op == 4 ? "DWORD" : "WORD");
	if (insn->rip_relative)
		n += snprintf(buf + n, size - n, "rip");
	if (insn->base != 0xff)
		n += snprintf(buf + n, size - n, "%s",
			      reg_name(insn->base, insn->addr_size, t1));
	if (insn->index != 0xff)
		n += snprintf(buf + n, size - n, "%s%s*%u",
			      insn->base != 0xff ? "+" : "",
			      reg_name(insn->index, insn->addr_size, t2),
			      insn->scale);
	if (insn->disp || (insn->base == 0xff && insn->index == 0xff &&
			   !insn->rip_relative))
		n += snprintf(buf + n, size - n, "%s0x%llx",
			      insn->disp < 0 ? "-" : "+",
			      (unsigned long long)(insn->disp < 0 ?
						  -insn->disp : insn->disp));
	snprintf(buf + n, size - n, "]");
}

static bool fmt_one_byte(const struct x86_insn *insn, u64 rip, char *buf,
			 size_t size)
{
	u8 op = insn->opcode;
	char rm[64];

	char name[8];

	if (op >= 0x70 && op <= 0x7f) {
		snprintf(name, sizeof(name), "j%s", cc[op & 15]);
		emit_target(buf, size, name, rel_target(insn, rip));
		return true;
	}
	switch (op) {
	case 0xe8: case 0xe9: case 0xeb:
	case 0xe0: case 0xe1: case 0xe2: case 0xe3: {
		static const char *const n[] = {
			[0xe0 - 0xe0] = "loopne", [0xe1 - 0xe0] = "loope",
			[0xe2 - 0xe0] = "loop", [0xe3 - 0xe0] = "jrcxz",
			[0xe8 - 0xe0] = "call", [0xe9 - 0xe0] = "jmp",
			[0xeb - 0xe0] = "jmp",
		};
		emit_target(buf, size, n[op - 0xe0], rel_target(insn, rip));
		return true;
	}
	case 0xc3: snprintf(buf, size, "ret"); return true;
	case 0xcb: snprintf(buf, size, "retf"); return true;
	case 0xc2: case 0xca:
		emit_target(buf, size, op == 0xc2 ? "ret" : "retf", insn->imm);
		return true;
	case 0xcf:
		snprintf(buf, size, "%s", insn->op_size == 8 ? "iretq" :
			 insn->op_size == 4 ? "iretd" : "iret");
		return true;
	case 0xcc: snprintf(buf, size, "int3"); return true;
	case 0xf1: snprintf(buf, size, "int1"); return true;
	case 0xce: snprintf(buf, size, "into"); return true;
	case 0xcd:
		emit_target(buf, size, "int", insn->imm);
		return true;
	case 0xf4: snprintf(buf, size, "hlt"); return true;
	case 0xfa: snprintf(buf, size, "cli"); return true;
	case 0xfb: snprintf(buf, size, "sti"); return true;
	case 0xc9: snprintf(buf, size, "leave"); return true;
	case 0x9c: snprintf(buf, size, "pushf"); return true;
	case 0x9d: snprintf(buf, size, "popf"); return true;
	case 0xff:
		if ((insn->reg & 7) != 2 && (insn->reg & 7) != 4)
			return false;
		fmt_rm(insn, rm, sizeof(rm));
		emit(buf, size, (insn->reg & 7) == 2 ? "call" : "jmp", rm);
		return true;
	}
	return false;
}

static bool fmt_0f(const struct x86_insn *insn, u64 rip, char *buf,
		   size_t size)
{
	static const struct { u8 modrm; const char *name; } grp7[] = {
		{ 0xc1, "vmcall" }, { 0xc8, "monitor" }, { 0xc9, "mwait" },
		{ 0xca, "clac" }, { 0xcb, "stac" }, { 0xd0, "xgetbv" },
		{ 0xd1, "xsetbv" }, { 0xd8, "vmrun" }, { 0xd9, "vmmcall" },
		{ 0xda, "vmload" }, { 0xdb, "vmsave" }, { 0xdc, "stgi" },
		{ 0xdd, "clgi" }, { 0xdf, "invlpga" }, { 0xee, "rdpkru" },
		{ 0xef, "wrpkru" }, { 0xf8, "swapgs" }, { 0xf9, "rdtscp" },
	};
	u8 op = insn->opcode;

	char name[8];

	if (op >= 0x80 && op <= 0x8f) {
		snprintf(name, sizeof(name), "j%s", cc[op & 15]);
		emit_target(buf, size, name, rel_target(insn, rip));
		return true;
	}
	switch (op) {
	case 0x05: snprintf(buf, size, "syscall"); return true;
	case 0x07: snprintf(buf, size, "sysret"); return true;
	case 0x34: snprintf(buf, size, "sysenter"); return true;
	case 0x35: snprintf(buf, size, "sysexit"); return true;
	case 0xa2: snprintf(buf, size, "cpuid"); return true;
	case 0x30: snprintf(buf, size, "wrmsr"); return true;
	case 0x31: snprintf(buf, size, "rdtsc"); return true;
	case 0x32: snprintf(buf, size, "rdmsr"); return true;
	case 0x33: snprintf(buf, size, "rdpmc"); return true;
	case 0x0b: snprintf(buf, size, "ud2"); return true;
	case 0x1f: snprintf(buf, size, "nop (multi-byte)"); return true;
	case 0x01:
		for (size_t i = 0; i < ARRAY_SIZE(grp7); i++)
			if (insn->has_modrm && insn->modrm == grp7[i].modrm) {
				snprintf(buf, size, "%s", grp7[i].name);
				return true;
			}
		return false;
	case 0xae:
		if (insn->has_modrm && insn->modrm >= 0xe8) {
			snprintf(buf, size, "%s", insn->modrm >= 0xf8 ? "sfence" :
				 insn->modrm >= 0xf0 ? "mfence" : "lfence");
			return true;
		}
		return false;
	}
	return false;
}

unsigned int disasm__one(const u8 *bytes, unsigned int len,
			 const struct kvm_sregs *s, u64 rflags, u64 rip,
			 char *buf, size_t size)
{
	struct x86_exception exc;
	struct x86_insn insn;
	int r;

	r = x86_decode_bytes(&insn, disasm__mode(s, rflags), bytes, len, &exc);
	if (r == X86EMUL_IO_NEEDED) {
		snprintf(buf, size, "(code not readable)");
		return 0;
	}
	if (r != X86EMUL_OK) {
		snprintf(buf, size, "(bad: #%s)", exc.vector == X86_EXC_UD ?
			 "UD" : "GP, longer than 15 bytes");
		return 0;
	}
	if (x86_insn_emulated(&insn) ||
	    !((insn.map == X86_MAP_ONE && fmt_one_byte(&insn, rip, buf, size)) ||
	      (insn.map == X86_MAP_0F && fmt_0f(&insn, rip, buf, size))))
		x86_insn_format(&insn, buf, size);
	return insn.len;
}

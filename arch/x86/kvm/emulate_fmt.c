// SPDX-License-Identifier: GPL-2.0
/*
 * Intel-syntax text for decoded instructions, in the style of binutils'
 * "objdump -M intel" so that the host test can compare operands with it
 * and lkvm's disassembler and emulation-failure reports read familiar.
 * Only emulated instructions get a mnemonic; others print as ".byte".
 */
#include "emulate_internal.h"

struct sbuf {
	char *p;
	unsigned int len, size;
};

static void put_c(struct sbuf *b, char ch)
{
	if (b->len + 1 < b->size)
		b->p[b->len] = ch;
	b->len++;
}

static void put_s(struct sbuf *b, const char *s)
{
	while (*s)
		put_c(b, *s++);
}

static void put_hex(struct sbuf *b, u64 v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;

	put_s(b, "0x");
	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	while (n)
		put_c(b, tmp[--n]);
}

static const char *const reg64[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};
static const char *const reg32[8] = {
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
};
static const char *const reg16[8] = {
	"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
};
static const char *const reg8[8] = {
	"al", "cl", "dl", "bl", "ah", "ch", "dh", "bh",
};
static const char *const reg8_rex[8] = {
	"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
};
static const char *const sreg_names[6] = { "es", "cs", "ss", "ds", "fs", "gs" };
static const char *const cc_names[16] = {
	"o", "no", "b", "ae", "e", "ne", "be", "a",
	"s", "ns", "p", "np", "l", "ge", "le", "g",
};
static const char *const shift_names[8] = {
	"rol", "ror", "rcl", "rcr", "shl", "shr", "shl", "sar",
};

static void put_reg(struct sbuf *b, const struct x86_insn *insn,
		    unsigned int reg, unsigned int size)
{
	if (size == 8) {
		put_s(b, reg64[reg & 15]);
		return;
	}
	if (reg >= 8) {
		put_s(b, reg64[reg & 15]);
		put_s(b, size == 4 ? "d" : size == 2 ? "w" : "b");
		return;
	}
	if (size == 4)
		put_s(b, reg32[reg]);
	else if (size == 2)
		put_s(b, reg16[reg]);
	else
		put_s(b, insn->rex ? reg8_rex[reg] : reg8[reg]);
}

static void put_addr_reg(struct sbuf *b, const struct x86_insn *insn,
			 unsigned int reg)
{
	put_reg(b, insn, reg, insn->addr_size);
}

static void put_size(struct sbuf *b, unsigned int size)
{
	switch (size) {
	case 1: put_s(b, "BYTE PTR "); break;
	case 2: put_s(b, "WORD PTR "); break;
	case 4: put_s(b, "DWORD PTR "); break;
	case 8: put_s(b, "QWORD PTR "); break;
	}
}

static void put_seg(struct sbuf *b, int seg)
{
	put_s(b, sreg_names[seg]);
	put_c(b, ':');
}

/* The ModRM memory operand; @size 0 omits "xxx PTR". */
static void put_mem(struct sbuf *b, const struct x86_insn *insn,
		    unsigned int size)
{
	u64 amask = x86_size_mask(insn->addr_size);
	bool base = insn->base != 0xff, index = insn->index != 0xff;
	bool eiz = false;
	s64 disp = insn->disp;

	put_size(b, size);
	/* objdump shows an index-less SIB as riz/eiz, except [rsp]. */
	if (insn->has_sib && !index &&
	    ((base && ((insn->base & 7) != 4 || insn->scale != 1)) ||
	     (!base && (insn->mode != X86_MODE_LONG64 ||
			insn->addr_size != 8 || insn->scale != 1))))
		eiz = true;
	if (!base && !index && !eiz && !insn->rip_relative) {
		put_seg(b, insn->seg == X86_SEG_NONE ? X86_SEG_DS : insn->seg);
		put_hex(b, (u64)disp & amask);
		return;
	}
	if (insn->seg != X86_SEG_NONE)
		put_seg(b, insn->seg);
	put_c(b, '[');
	if (insn->rip_relative)
		put_s(b, insn->addr_size == 8 ? "rip" : "eip");
	else if (base)
		put_addr_reg(b, insn, insn->base);
	if (index || eiz) {
		if (base)
			put_c(b, '+');
		if (eiz)
			put_s(b, insn->addr_size == 8 ? "riz" : "eiz");
		else
			put_addr_reg(b, insn, insn->index);
		if (insn->addr_size != 2) {
			put_c(b, '*');
			put_c(b, '0' + insn->scale);
		}
	}
	if (insn->rip_relative) {
		/* objdump prints the RIP displacement as an unsigned add. */
		put_c(b, '+');
		put_hex(b, (u64)disp);
	} else if (insn->disp_size) {
		if (disp < 0) {
			put_c(b, '-');
			put_hex(b, (u64)-disp & amask);
		} else {
			put_c(b, '+');
			put_hex(b, (u64)disp);
		}
	}
	put_c(b, ']');
}

static void put_rm(struct sbuf *b, const struct x86_insn *insn,
		   unsigned int size)
{
	if (insn->mem)
		put_mem(b, insn, size);
	else
		put_reg(b, insn, insn->rm, size);
}

static void put_imm(struct sbuf *b, u64 v, unsigned int size)
{
	put_hex(b, v & x86_size_mask(size));
}

static void put_comma(struct sbuf *b)
{
	put_c(b, ',');
}

/* String operands: es:[rdi] and seg:[rsi] (default ds:, shown). */
static void put_str_op(struct sbuf *b, const struct x86_insn *insn,
		       bool di, unsigned int size)
{
	put_size(b, size);
	if (di)
		put_seg(b, X86_SEG_ES);
	else
		put_seg(b, insn->seg == X86_SEG_NONE ? X86_SEG_DS : insn->seg);
	put_c(b, '[');
	put_addr_reg(b, insn, di ? X86_RDI : X86_RSI);
	put_c(b, ']');
}

static void put_mnemonic(struct sbuf *b, const char *m)
{
	unsigned int start = b->len;

	put_s(b, m);
	put_c(b, ' ');
	while (b->len - start < 7)
		put_c(b, ' ');
}

static void fmt_string(struct sbuf *b, const struct x86_insn *insn)
{
	static const char *const names[] = {
		[K_MOVS] = "movs", [K_CMPS] = "cmps", [K_STOS] = "stos",
		[K_LODS] = "lods", [K_SCAS] = "scas", [K_INS] = "ins",
		[K_OUTS] = "outs",
	};
	unsigned int size = insn->op_size;

	if (insn->kind == K_INS || insn->kind == K_OUTS)
		size = size > 4 ? 4 : size;
	put_mnemonic(b, names[insn->kind]);
	switch (insn->kind) {
	case K_MOVS:
		put_str_op(b, insn, true, size);
		put_comma(b);
		put_str_op(b, insn, false, size);
		break;
	case K_CMPS:
		put_str_op(b, insn, false, size);
		put_comma(b);
		put_str_op(b, insn, true, size);
		break;
	case K_STOS:
		put_str_op(b, insn, true, size);
		put_comma(b);
		put_reg(b, insn, X86_RAX, size);
		break;
	case K_LODS:
		put_reg(b, insn, X86_RAX, size);
		put_comma(b);
		put_str_op(b, insn, false, size);
		break;
	case K_SCAS:
		put_reg(b, insn, X86_RAX, size);
		put_comma(b);
		put_str_op(b, insn, true, size);
		break;
	case K_INS:
		put_str_op(b, insn, true, size);
		put_s(b, ",dx");
		break;
	case K_OUTS:
		put_s(b, "dx,");
		put_str_op(b, insn, false, size);
		break;
	}
}

/* Operands in the order the decode table's layout gives them. */
static void fmt_layout(struct sbuf *b, const struct x86_insn *insn)
{
	unsigned int size = insn->op_size;
	unsigned int oreg = (insn->opcode & 7) | ((insn->rex & 1) << 3);

	switch (insn_ops(insn)) {
	case OPS_E_G:
		put_rm(b, insn, size);
		put_comma(b);
		put_reg(b, insn, insn->reg, size);
		break;
	case OPS_G_E:
		put_reg(b, insn, insn->reg, size);
		put_comma(b);
		put_rm(b, insn, size);
		break;
	case OPS_ACC_I:
		put_reg(b, insn, X86_RAX, size);
		put_comma(b);
		put_imm(b, insn->imm, size);
		break;
	case OPS_E_I:
		put_rm(b, insn, size);
		put_comma(b);
		put_imm(b, insn->imm, insn->kind == K_SHIFT ||
			insn->kind == K_BT ? 1 : size);
		break;
	case OPS_E:
		put_rm(b, insn, size);
		break;
	case OPS_O:
		put_reg(b, insn, oreg, size);
		break;
	case OPS_O_I:
		put_reg(b, insn, oreg, size);
		put_comma(b);
		put_imm(b, insn->imm, size);
		break;
	case OPS_O_ACC:
		put_reg(b, insn, oreg, size);
		put_comma(b);
		put_reg(b, insn, X86_RAX, size);
		break;
	case OPS_ACC_M:
	case OPS_M_ACC:
		if (insn_ops(insn) == OPS_ACC_M) {
			put_reg(b, insn, X86_RAX, size);
			put_comma(b);
		}
		put_seg(b, insn->seg == X86_SEG_NONE ? X86_SEG_DS : insn->seg);
		put_hex(b, insn->imm & x86_size_mask(insn->addr_size));
		if (insn_ops(insn) == OPS_M_ACC) {
			put_comma(b);
			put_reg(b, insn, X86_RAX, size);
		}
		break;
	case OPS_I:
		put_imm(b, insn->imm, size);
		break;
	}
}

static const char *simple_name(const struct x86_insn *insn)
{
	static const char *const bt_names[4] = { "bt", "bts", "btr", "btc" };
	static const char *const cbw[3] = { "cbw", "cwde", "cdqe" };
	static const char *const cwd[3] = { "cwd", "cdq", "cqo" };
	unsigned int sz = insn->op_size == 2 ? 0 : insn->op_size == 4 ? 1 : 2;

	switch (insn->kind) {
	case K_ALU: return x86_alu_names[insn->sub];
	case K_TEST: return "test";
	case K_NOT: return "not";
	case K_NEG: return "neg";
	case K_INC: return "inc";
	case K_DEC: return "dec";
	case K_MOVZX: return "movzx";
	case K_MOVSX: return "movsx";
	case K_MOVSXD: return "movsxd";
	case K_LEA: return "lea";
	case K_XCHG: return "xchg";
	case K_CMPXCHG: return "cmpxchg";
	case K_XADD: return "xadd";
	case K_BT: return bt_names[insn->sub & 3];
	case K_PUSH: return "push";
	case K_POP: return "pop";
	case K_MOVBE: return "movbe";
	case K_MUL: return "mul";
	case K_IMUL1: case K_IMUL: return "imul";
	case K_DIV: return "div";
	case K_IDIV: return "idiv";
	case K_CBW: return cbw[sz];
	case K_CWD: return cwd[sz];
	case K_CLTS: return "clts";
	case K_WBINVD: return "wbinvd";
	case K_INVD: return "invd";
	case K_SLDT: return "sldt";
	case K_STR: return "str";
	case K_LLDT: return "lldt";
	case K_LTR: return "ltr";
	case K_SMSW: return "smsw";
	case K_LMSW: return "lmsw";
	case K_INVLPG: return "invlpg";
	case K_NOP: return "nop";
	}
	return NULL;
}

static void fmt_flags(struct sbuf *b, const struct x86_insn *insn)
{
	switch (insn->opcode) {
	case 0xf5: put_s(b, "cmc"); break;
	case 0xf8: put_s(b, "clc"); break;
	case 0xf9: put_s(b, "stc"); break;
	case 0xfc: put_s(b, "cld"); break;
	case 0xfd: put_s(b, "std"); break;
	}
}

static void fmt_crdr(struct sbuf *b, const struct x86_insn *insn)
{
	unsigned int size = insn->mode == X86_MODE_LONG64 ? 8 : 4;
	bool to = insn->kind == K_MOV_TO_CR || insn->kind == K_MOV_TO_DR;
	const char *kind = (insn->kind == K_MOV_TO_CR ||
			    insn->kind == K_MOV_FROM_CR) ? "cr" : "dr";
	unsigned int n = insn->reg;

	put_mnemonic(b, "mov");
	if (!to) {
		put_reg(b, insn, insn->rm, size);
		put_comma(b);
	}
	put_s(b, kind);
	if (n >= 10)
		put_c(b, '1');
	put_c(b, '0' + n % 10);
	if (to) {
		put_comma(b);
		put_reg(b, insn, insn->rm, size);
	}
}

static void fmt_dt(struct sbuf *b, const struct x86_insn *insn)
{
	static const char *const names[] = {
		[K_SGDT] = "sgdt", [K_SIDT] = "sidt",
		[K_LGDT] = "lgdt", [K_LIDT] = "lidt",
	};
	char m[8];
	unsigned int i;

	for (i = 0; names[insn->kind][i]; i++)
		m[i] = names[insn->kind][i];
	/* objdump marks the legacy-mode operand size: lgdtw/lgdtd. */
	if (insn->mode != X86_MODE_LONG64)
		m[i++] = insn->op_size == 2 ? 'w' : 'd';
	m[i] = 0;
	put_mnemonic(b, m);
	put_mem(b, insn, 0);
}

static void fmt_mov(struct sbuf *b, const struct x86_insn *insn)
{
	bool abs64 = insn->mode == X86_MODE_LONG64 &&
		     ((insn_ops(insn) == OPS_ACC_M ||
		       insn_ops(insn) == OPS_M_ACC) && insn->addr_size == 8);

	if (insn_ops(insn) == OPS_O_I && insn->imm_size == 8)
		abs64 = true;
	put_mnemonic(b, abs64 ? "movabs" : "mov");
	fmt_layout(b, insn);
}

static void fmt_sreg(struct sbuf *b, const struct x86_insn *insn)
{
	unsigned int sreg = (insn->modrm >> 3) & 7;
	unsigned int size = insn->mem ? 2 : insn->op_size;

	put_mnemonic(b, "mov");
	if (insn->kind == K_MOV_TO_SREG) {
		put_s(b, sreg < 6 ? sreg_names[sreg] : "?");
		put_comma(b);
		put_rm(b, insn, size);
	} else {
		put_rm(b, insn, size);
		put_comma(b);
		put_s(b, sreg < 6 ? sreg_names[sreg] : "?");
	}
}

static void fmt_other(struct sbuf *b, const struct x86_insn *insn)
{
	unsigned int size = insn->op_size;
	const char *name = simple_name(insn);

	switch (insn->kind) {
	case K_MOVZX:
	case K_MOVSX:
	case K_MOVSXD:
		put_mnemonic(b, name);
		put_reg(b, insn, insn->reg, size);
		put_comma(b);
		put_rm(b, insn, insn->kind == K_MOVSXD ? (size == 8 ? 4 : size) :
		       insn->sub);
		return;
	case K_LEA:
		put_mnemonic(b, name);
		put_reg(b, insn, insn->reg, size);
		put_comma(b);
		put_mem(b, insn, 0);
		return;
	case K_IMUL:
		put_mnemonic(b, name);
		put_reg(b, insn, insn->reg, size);
		put_comma(b);
		put_rm(b, insn, size);
		if (insn->imm_size) {
			put_comma(b);
			put_imm(b, insn->imm, size);
		}
		return;
	case K_SLDT: case K_STR: case K_SMSW:
		put_mnemonic(b, name);
		put_rm(b, insn, insn->mem ? 2 : size);
		return;
	case K_LLDT: case K_LTR: case K_LMSW:
		put_mnemonic(b, name);
		put_rm(b, insn, 2);
		return;
	case K_INVLPG:
		put_mnemonic(b, name);
		put_mem(b, insn, 1);
		return;
	case K_CBW: case K_CWD: case K_CLTS: case K_WBINVD: case K_INVD:
		put_s(b, name);
		return;
	case K_PUSH:
		/* objdump marks an immediate push of non-default size. */
		if (insn_ops(insn) == OPS_I && insn->opsize_prefix)
			name = size == 2 ? "pushw" : "pushd";
		break;
	}
	put_mnemonic(b, name);
	fmt_layout(b, insn);
}

unsigned int x86_insn_format(const struct x86_insn *insn, char *buf,
			     unsigned int size)
{
	struct sbuf b = { .p = buf, .size = size };
	unsigned int i;

	if (!x86_insn_emulated(insn)) {
		put_s(&b, ".byte ");
		for (i = 0; i < insn->len; i++) {
			if (i)
				put_c(&b, ',');
			put_hex(&b, insn->bytes[i]);
		}
	} else if (insn->kind >= K_MOVS && insn->kind <= K_OUTS) {
		fmt_string(&b, insn);
	} else if (insn->kind == K_MOV) {
		fmt_mov(&b, insn);
	} else if (insn->kind == K_MOV_FROM_SREG ||
		   insn->kind == K_MOV_TO_SREG) {
		fmt_sreg(&b, insn);
	} else if (insn->kind >= K_MOV_FROM_CR && insn->kind <= K_MOV_TO_DR) {
		fmt_crdr(&b, insn);
	} else if (insn->kind >= K_SGDT && insn->kind <= K_LIDT) {
		fmt_dt(&b, insn);
	} else if (insn->kind == K_SETCC || insn->kind == K_CMOVCC) {
		char m[8] = "set";
		const char *cc = cc_names[insn->opcode & 15];

		if (insn->kind == K_CMOVCC) {
			m[0] = 'c'; m[1] = 'm'; m[2] = 'o'; m[3] = 'v';
		}
		for (i = insn->kind == K_CMOVCC ? 4 : 3; *cc; cc++)
			m[i++] = *cc;
		m[i] = 0;
		put_mnemonic(&b, m);
		if (insn->kind == K_SETCC)
			put_rm(&b, insn, 1);
		else
			fmt_layout(&b, insn);
	} else if (insn->kind == K_SHIFT) {
		put_mnemonic(&b, shift_names[(insn->modrm >> 3) & 7]);
		put_rm(&b, insn, insn->op_size);
		put_comma(&b);
		if (insn->sub == 1)
			put_c(&b, '1');
		else if (insn->sub == 2)
			put_s(&b, "cl");
		else
			put_imm(&b, insn->imm, 1);
	} else if (insn->kind == K_IN || insn->kind == K_OUT) {
		unsigned int sz = insn->op_size > 4 ? 4 : insn->op_size;

		put_mnemonic(&b, insn->kind == K_IN ? "in" : "out");
		if (insn->kind == K_OUT) {
			if (insn->sub)
				put_s(&b, "dx");
			else
				put_imm(&b, insn->imm, 1);
			put_comma(&b);
		}
		put_reg(&b, insn, X86_RAX, sz);
		if (insn->kind == K_IN) {
			put_comma(&b);
			if (insn->sub)
				put_s(&b, "dx");
			else
				put_imm(&b, insn->imm, 1);
		}
	} else if (insn->kind == K_FLAGS) {
		fmt_flags(&b, insn);
	} else if (insn->kind == K_XCHG && insn->opcode == 0x90 &&
		   insn->map == X86_MAP_ONE && !(insn->rex & 1)) {
		if (insn->rep == 0xf3)
			put_s(&b, "pause");
		else if (insn->opsize_prefix || (insn->rex & 8)) {
			put_mnemonic(&b, "xchg");
			put_reg(&b, insn, X86_RAX, insn->op_size);
			put_comma(&b);
			put_reg(&b, insn, X86_RAX, insn->op_size);
		} else
			put_s(&b, "nop");
	} else {
		fmt_other(&b, insn);
	}
	/* Trim the mnemonic padding of operand-less forms. */
	while (b.len && b.len < b.size && buf[b.len - 1] == ' ')
		b.len--;
	if (size)
		buf[b.len < size ? b.len : size - 1] = 0;
	return b.len;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * x86 instruction decoder: prefixes, REX, VEX/EVEX/XOP (length only),
 * ModRM/SIB, displacements and immediates, in every processor mode.
 * Opcode facts: AMD APM vol 3, appendix A.
 *
 * The tables give, for every opcode, what the length decoder needs
 * (ModRM? immediate kind?) and, for emulated instructions, what the
 * executor does with it.  An opcode without a kind still decodes (so the
 * length is right and the caller can report it); an undefined one is #UD.
 */
#include "emulate_internal.h"

#define OP(fl, imm, ops, kind, sub) \
	{ (fl) | ((imm) << D_IMM_SHIFT) | ((ops) << D_OPS_SHIFT), kind, sub }
/* Decoded but not emulated. */
#define NE(fl, imm)	OP(fl, imm, OPS_NONE, K_NOT_EMULATED, 0)
#define UD		{ D_UD, 0, 0 }
#define PFX		{ 0, 0, 0 }	/* prefixes never reach the table */

#define M D_MODRM
#define B D_BYTE
#define R D_REGONLY

#define ALU_BLOCK(op, lk)						\
	OP(M | B | (lk), IMM_NONE, OPS_E_G, K_ALU, op),			\
	OP(M | (lk), IMM_NONE, OPS_E_G, K_ALU, op),			\
	OP(M | B, IMM_NONE, OPS_G_E, K_ALU, op),			\
	OP(M, IMM_NONE, OPS_G_E, K_ALU, op),				\
	OP(B, IMM_Z, OPS_ACC_I, K_ALU, op),				\
	OP(0, IMM_Z, OPS_ACC_I, K_ALU, op)


const char *const x86_alu_names[8] = {
	"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp",
};

/* Sub-codes for K_FLAGS (F5, F8-FD). */
enum { FL_CMC, FL_CLC, FL_STC, FL_CLI, FL_STI, FL_CLD, FL_STD };

static const struct opcode_desc one_byte[256] = {
	[0x00] = ALU_BLOCK(X86_ALU_ADD, D_LOCK),
	[0x06] = NE(D_INV64, IMM_NONE), [0x07] = NE(D_INV64, IMM_NONE),
	[0x08] = ALU_BLOCK(X86_ALU_OR, D_LOCK),
	[0x0e] = NE(D_INV64, IMM_NONE), [0x0f] = PFX,
	[0x10] = ALU_BLOCK(X86_ALU_ADC, D_LOCK),
	[0x16] = NE(D_INV64, IMM_NONE), [0x17] = NE(D_INV64, IMM_NONE),
	[0x18] = ALU_BLOCK(X86_ALU_SBB, D_LOCK),
	[0x1e] = NE(D_INV64, IMM_NONE), [0x1f] = NE(D_INV64, IMM_NONE),
	[0x20] = ALU_BLOCK(X86_ALU_AND, D_LOCK),
	[0x26] = PFX, [0x27] = NE(D_INV64, IMM_NONE),
	[0x28] = ALU_BLOCK(X86_ALU_SUB, D_LOCK),
	[0x2e] = PFX, [0x2f] = NE(D_INV64, IMM_NONE),
	[0x30] = ALU_BLOCK(X86_ALU_XOR, D_LOCK),
	[0x36] = PFX, [0x37] = NE(D_INV64, IMM_NONE),
	[0x38] = ALU_BLOCK(X86_ALU_CMP, 0),
	[0x3e] = PFX, [0x3f] = NE(D_INV64, IMM_NONE),
	[0x40 ... 0x47] = OP(0, IMM_NONE, OPS_O, K_INC, 0),
	[0x48 ... 0x4f] = OP(0, IMM_NONE, OPS_O, K_DEC, 0),
	[0x50 ... 0x57] = OP(D_DEF64, IMM_NONE, OPS_O, K_PUSH, 0),
	[0x58 ... 0x5f] = OP(D_DEF64, IMM_NONE, OPS_O, K_POP, 0),
	[0x60] = NE(D_INV64, IMM_NONE), [0x61] = NE(D_INV64, IMM_NONE),
	[0x62] = NE(M | D_MEM | D_INV64, IMM_NONE),	/* BOUND; EVEX */
	[0x63] = OP(M, IMM_NONE, OPS_G_E, K_MOVSXD, 0),	/* ARPL outside 64 */
	[0x64 ... 0x67] = PFX,
	[0x68] = OP(D_DEF64, IMM_Z, OPS_I, K_PUSH, 0),
	[0x69] = OP(M, IMM_Z, OPS_G_E, K_IMUL, 0),
	[0x6a] = OP(D_DEF64 | D_SEXT, IMM_B, OPS_I, K_PUSH, 0),
	[0x6b] = OP(M | D_SEXT, IMM_B, OPS_G_E, K_IMUL, 0),
	[0x6c] = OP(B, IMM_NONE, OPS_NONE, K_INS, 0),
	[0x6d] = OP(0, IMM_NONE, OPS_NONE, K_INS, 0),
	[0x6e] = OP(B, IMM_NONE, OPS_NONE, K_OUTS, 0),
	[0x6f] = OP(0, IMM_NONE, OPS_NONE, K_OUTS, 0),
	[0x70 ... 0x7f] = NE(0, IMM_REL8),
	[0x80] = OP(M | B | D_LOCK, IMM_Z, OPS_E_I, K_ALU, 0),
	[0x81] = OP(M | D_LOCK, IMM_Z, OPS_E_I, K_ALU, 0),
	[0x82] = OP(M | B | D_LOCK | D_INV64, IMM_Z, OPS_E_I, K_ALU, 0),
	[0x83] = OP(M | D_LOCK | D_SEXT, IMM_B, OPS_E_I, K_ALU, 0),
	[0x84] = OP(M | B, IMM_NONE, OPS_E_G, K_TEST, 0),
	[0x85] = OP(M, IMM_NONE, OPS_E_G, K_TEST, 0),
	[0x86] = OP(M | B | D_LOCK, IMM_NONE, OPS_E_G, K_XCHG, 0),
	[0x87] = OP(M | D_LOCK, IMM_NONE, OPS_E_G, K_XCHG, 0),
	[0x88] = OP(M | B, IMM_NONE, OPS_E_G, K_MOV, 0),
	[0x89] = OP(M, IMM_NONE, OPS_E_G, K_MOV, 0),
	[0x8a] = OP(M | B, IMM_NONE, OPS_G_E, K_MOV, 0),
	[0x8b] = OP(M, IMM_NONE, OPS_G_E, K_MOV, 0),
	[0x8c] = OP(M, IMM_NONE, OPS_E, K_MOV_FROM_SREG, 0),
	[0x8d] = OP(M | D_MEM, IMM_NONE, OPS_G_E, K_LEA, 0),
	[0x8e] = OP(M, IMM_NONE, OPS_E, K_MOV_TO_SREG, 0),
	[0x8f] = OP(M | D_DEF64, IMM_NONE, OPS_E, K_POP, 0), /* group 1a */
	[0x90 ... 0x97] = OP(0, IMM_NONE, OPS_O_ACC, K_XCHG, 0),
	[0x98] = OP(0, IMM_NONE, OPS_NONE, K_CBW, 0),
	[0x99] = OP(0, IMM_NONE, OPS_NONE, K_CWD, 0),
	[0x9a] = NE(D_INV64, IMM_PTR),
	[0x9b] = NE(0, IMM_NONE),
	[0x9c ... 0x9d] = NE(D_DEF64, IMM_NONE),
	[0x9e ... 0x9f] = NE(0, IMM_NONE),
	[0xa0] = OP(B, IMM_MOFFS, OPS_ACC_M, K_MOV, 0),
	[0xa1] = OP(0, IMM_MOFFS, OPS_ACC_M, K_MOV, 0),
	[0xa2] = OP(B, IMM_MOFFS, OPS_M_ACC, K_MOV, 0),
	[0xa3] = OP(0, IMM_MOFFS, OPS_M_ACC, K_MOV, 0),
	[0xa4] = OP(B, IMM_NONE, OPS_NONE, K_MOVS, 0),
	[0xa5] = OP(0, IMM_NONE, OPS_NONE, K_MOVS, 0),
	[0xa6] = OP(B, IMM_NONE, OPS_NONE, K_CMPS, 0),
	[0xa7] = OP(0, IMM_NONE, OPS_NONE, K_CMPS, 0),
	[0xa8] = OP(B, IMM_Z, OPS_ACC_I, K_TEST, 0),
	[0xa9] = OP(0, IMM_Z, OPS_ACC_I, K_TEST, 0),
	[0xaa] = OP(B, IMM_NONE, OPS_NONE, K_STOS, 0),
	[0xab] = OP(0, IMM_NONE, OPS_NONE, K_STOS, 0),
	[0xac] = OP(B, IMM_NONE, OPS_NONE, K_LODS, 0),
	[0xad] = OP(0, IMM_NONE, OPS_NONE, K_LODS, 0),
	[0xae] = OP(B, IMM_NONE, OPS_NONE, K_SCAS, 0),
	[0xaf] = OP(0, IMM_NONE, OPS_NONE, K_SCAS, 0),
	[0xb0 ... 0xb7] = OP(B, IMM_V, OPS_O_I, K_MOV, 0),
	[0xb8 ... 0xbf] = OP(0, IMM_V, OPS_O_I, K_MOV, 0),
	[0xc0] = OP(M | B, IMM_B, OPS_E_I, K_SHIFT, 0),
	[0xc1] = OP(M, IMM_B, OPS_E_I, K_SHIFT, 0),
	[0xc2] = NE(D_DEF64, IMM_W), [0xc3] = NE(D_DEF64, IMM_NONE),
	[0xc4 ... 0xc5] = NE(M | D_MEM | D_INV64, IMM_NONE), /* LES/LDS; VEX */
	[0xc6] = OP(M | B, IMM_Z, OPS_E_I, K_MOV, 0),	/* group 11 */
	[0xc7] = OP(M, IMM_Z, OPS_E_I, K_MOV, 0),
	[0xc8] = NE(D_DEF64, IMM_ENTER), [0xc9] = NE(D_DEF64, IMM_NONE),
	[0xca] = NE(0, IMM_W), [0xcb] = NE(0, IMM_NONE),
	[0xcc] = NE(0, IMM_NONE), [0xcd] = NE(0, IMM_B),
	[0xce] = NE(D_INV64, IMM_NONE), [0xcf] = NE(0, IMM_NONE),
	[0xd0] = OP(M | B, IMM_NONE, OPS_E, K_SHIFT, 1),
	[0xd1] = OP(M, IMM_NONE, OPS_E, K_SHIFT, 1),
	[0xd2] = OP(M | B, IMM_NONE, OPS_E, K_SHIFT, 2),
	[0xd3] = OP(M, IMM_NONE, OPS_E, K_SHIFT, 2),
	[0xd4 ... 0xd5] = NE(D_INV64, IMM_B),
	[0xd6] = UD,
	[0xd7] = NE(0, IMM_NONE),
	[0xd8 ... 0xdf] = NE(M, IMM_NONE),		/* x87 */
	[0xe0 ... 0xe3] = NE(D_DEF64, IMM_REL8),
	[0xe4] = OP(B, IMM_B, OPS_NONE, K_IN, 0),
	[0xe5] = OP(0, IMM_B, OPS_NONE, K_IN, 0),
	[0xe6] = OP(B, IMM_B, OPS_NONE, K_OUT, 0),
	[0xe7] = OP(0, IMM_B, OPS_NONE, K_OUT, 0),
	[0xe8 ... 0xe9] = NE(D_DEF64, IMM_RELZ),
	[0xea] = NE(D_INV64, IMM_PTR),
	[0xeb] = NE(D_DEF64, IMM_REL8),
	[0xec] = OP(B, IMM_NONE, OPS_NONE, K_IN, 1),
	[0xed] = OP(0, IMM_NONE, OPS_NONE, K_IN, 1),
	[0xee] = OP(B, IMM_NONE, OPS_NONE, K_OUT, 1),
	[0xef] = OP(0, IMM_NONE, OPS_NONE, K_OUT, 1),
	[0xf0] = PFX, [0xf1] = NE(0, IMM_NONE), [0xf2 ... 0xf3] = PFX,
	[0xf4] = NE(0, IMM_NONE),
	[0xf5] = OP(0, IMM_NONE, OPS_NONE, K_FLAGS, FL_CMC),
	[0xf6] = OP(M | B, IMM_NONE, OPS_E, K_NOT_EMULATED, 0), /* group 3 */
	[0xf7] = OP(M, IMM_NONE, OPS_E, K_NOT_EMULATED, 0),
	[0xf8] = OP(0, IMM_NONE, OPS_NONE, K_FLAGS, FL_CLC),
	[0xf9] = OP(0, IMM_NONE, OPS_NONE, K_FLAGS, FL_STC),
	[0xfa] = NE(0, IMM_NONE), [0xfb] = NE(0, IMM_NONE),
	[0xfc] = OP(0, IMM_NONE, OPS_NONE, K_FLAGS, FL_CLD),
	[0xfd] = OP(0, IMM_NONE, OPS_NONE, K_FLAGS, FL_STD),
	[0xfe] = OP(M | B, IMM_NONE, OPS_E, K_NOT_EMULATED, 0), /* group 4 */
	[0xff] = OP(M, IMM_NONE, OPS_E, K_NOT_EMULATED, 0),	/* group 5 */
};

/* Groups selected by ModRM.reg; flags are ORed into the opcode's. */
static const struct opcode_desc group3[8] = {
	OP(0, IMM_Z, OPS_E_I, K_TEST, 0), OP(0, IMM_Z, OPS_E_I, K_TEST, 0),
	OP(D_LOCK, IMM_NONE, OPS_E, K_NOT, 0),
	OP(D_LOCK, IMM_NONE, OPS_E, K_NEG, 0),
	OP(0, IMM_NONE, OPS_E, K_MUL, 0), OP(0, IMM_NONE, OPS_E, K_IMUL1, 0),
	OP(0, IMM_NONE, OPS_E, K_DIV, 0), OP(0, IMM_NONE, OPS_E, K_IDIV, 0),
};

static const struct opcode_desc group4[8] = {
	OP(D_LOCK, IMM_NONE, OPS_E, K_INC, 0),
	OP(D_LOCK, IMM_NONE, OPS_E, K_DEC, 0),
	UD, UD, UD, UD, UD, UD,
};

static const struct opcode_desc group5[8] = {
	OP(D_LOCK, IMM_NONE, OPS_E, K_INC, 0),
	OP(D_LOCK, IMM_NONE, OPS_E, K_DEC, 0),
	NE(D_DEF64, IMM_NONE), NE(D_MEM, IMM_NONE),
	NE(D_DEF64, IMM_NONE), NE(D_MEM, IMM_NONE),
	OP(D_DEF64, IMM_NONE, OPS_E, K_PUSH, 0),
	UD,
};

/* 0f 00 */
static const struct opcode_desc group6[8] = {
	OP(0, IMM_NONE, OPS_E, K_SLDT, 0), OP(0, IMM_NONE, OPS_E, K_STR, 0),
	OP(0, IMM_NONE, OPS_E, K_LLDT, 0), OP(0, IMM_NONE, OPS_E, K_LTR, 0),
	NE(0, IMM_NONE), NE(0, IMM_NONE), UD, UD,
};

/* 0f 01, memory forms; the register forms are system instructions. */
static const struct opcode_desc group7_mem[8] = {
	OP(0, IMM_NONE, OPS_E, K_SGDT, 0), OP(0, IMM_NONE, OPS_E, K_SIDT, 0),
	OP(0, IMM_NONE, OPS_E, K_LGDT, 0), OP(0, IMM_NONE, OPS_E, K_LIDT, 0),
	OP(0, IMM_NONE, OPS_E, K_SMSW, 0), NE(0, IMM_NONE),
	OP(0, IMM_NONE, OPS_E, K_LMSW, 0), OP(0, IMM_NONE, OPS_E, K_INVLPG, 0),
};

/* 0f ba */
static const struct opcode_desc group8[8] = {
	UD, UD, UD, UD,
	OP(0, IMM_B, OPS_E_I, K_BT, 0), OP(D_LOCK, IMM_B, OPS_E_I, K_BT, 1),
	OP(D_LOCK, IMM_B, OPS_E_I, K_BT, 2), OP(D_LOCK, IMM_B, OPS_E_I, K_BT, 3),
};

static const struct opcode_desc two_byte[256] = {
	[0x00] = OP(M, IMM_NONE, OPS_E, K_NOT_EMULATED, 0),	/* group 6 */
	[0x01] = OP(M, IMM_NONE, OPS_E, K_NOT_EMULATED, 0),	/* group 7 */
	[0x02 ... 0x03] = NE(M, IMM_NONE),
	[0x04] = UD,
	[0x05] = NE(0, IMM_NONE),
	[0x06] = OP(0, IMM_NONE, OPS_NONE, K_CLTS, 0),
	[0x07] = NE(0, IMM_NONE),
	[0x08] = OP(0, IMM_NONE, OPS_NONE, K_INVD, 0),
	[0x09] = OP(0, IMM_NONE, OPS_NONE, K_WBINVD, 0),
	[0x0a] = UD,
	[0x0b] = OP(0, IMM_NONE, OPS_NONE, K_UD, 0),		/* UD2 */
	[0x0c] = UD,
	[0x0d] = NE(M, IMM_NONE),				/* prefetch */
	[0x0e] = NE(0, IMM_NONE),				/* femms */
	[0x0f] = NE(M, IMM_B),					/* 3DNow! */
	[0x10 ... 0x17] = NE(M, IMM_NONE),
	[0x18 ... 0x1e] = NE(M, IMM_NONE),			/* hints */
	[0x1f] = OP(M, IMM_NONE, OPS_E, K_NOP, 0),
	/* MOV CR/DR: ModRM.mod is ignored (APM vol 3, MOV CRn) */
	[0x20] = OP(M | R, IMM_NONE, OPS_NONE, K_MOV_FROM_CR, 0),
	[0x21] = OP(M | R, IMM_NONE, OPS_NONE, K_MOV_FROM_DR, 0),
	[0x22] = OP(M | R, IMM_NONE, OPS_NONE, K_MOV_TO_CR, 0),
	[0x23] = OP(M | R, IMM_NONE, OPS_NONE, K_MOV_TO_DR, 0),
	[0x24] = NE(M | R, IMM_NONE), [0x25] = UD,	/* 386 MOV TR */
	[0x26] = NE(M | R, IMM_NONE), [0x27] = UD,
	[0x28 ... 0x2f] = NE(M, IMM_NONE),
	[0x30 ... 0x35] = NE(0, IMM_NONE),
	[0x36] = UD,
	[0x37] = NE(0, IMM_NONE),
	[0x38] = PFX, [0x39] = UD, [0x3a] = PFX,
	[0x3b ... 0x3f] = UD,
	[0x40 ... 0x4f] = OP(M, IMM_NONE, OPS_G_E, K_CMOVCC, 0),
	[0x50 ... 0x6f] = NE(M, IMM_NONE),
	[0x70 ... 0x73] = NE(M, IMM_B),
	[0x74 ... 0x76] = NE(M, IMM_NONE),
	[0x77] = NE(0, IMM_NONE),
	[0x78 ... 0x79] = NE(M, IMM_NONE),
	[0x7a ... 0x7b] = UD,
	[0x7c ... 0x7f] = NE(M, IMM_NONE),
	[0x80 ... 0x8f] = NE(D_DEF64, IMM_RELZ),
	[0x90 ... 0x9f] = OP(M | B, IMM_NONE, OPS_E, K_SETCC, 0),
	[0xa0 ... 0xa1] = NE(D_DEF64, IMM_NONE),
	[0xa2] = NE(0, IMM_NONE),
	[0xa3] = OP(M, IMM_NONE, OPS_E_G, K_BT, 0),
	[0xa4] = NE(M, IMM_B), [0xa5] = NE(M, IMM_NONE),
	[0xa6 ... 0xa7] = NE(M, IMM_NONE),			/* VIA PadLock */
	[0xa8 ... 0xa9] = NE(D_DEF64, IMM_NONE),
	[0xaa] = NE(0, IMM_NONE),
	[0xab] = OP(M | D_LOCK, IMM_NONE, OPS_E_G, K_BT, 1),
	[0xac] = NE(M, IMM_B), [0xad] = NE(M, IMM_NONE),
	[0xae] = NE(M, IMM_NONE),				/* group 15 */
	[0xaf] = OP(M, IMM_NONE, OPS_G_E, K_IMUL, 0),
	[0xb0] = OP(M | B | D_LOCK, IMM_NONE, OPS_E_G, K_CMPXCHG, 0),
	[0xb1] = OP(M | D_LOCK, IMM_NONE, OPS_E_G, K_CMPXCHG, 0),
	[0xb2] = NE(M | D_MEM, IMM_NONE),
	[0xb3] = OP(M | D_LOCK, IMM_NONE, OPS_E_G, K_BT, 2),
	[0xb4 ... 0xb5] = NE(M | D_MEM, IMM_NONE),
	[0xb6] = OP(M, IMM_NONE, OPS_G_E, K_MOVZX, 1),
	[0xb7] = OP(M, IMM_NONE, OPS_G_E, K_MOVZX, 2),
	[0xb8] = NE(M, IMM_NONE),
	[0xb9] = OP(M, IMM_NONE, OPS_NONE, K_UD, 0),		/* UD1 */
	[0xba] = OP(M, IMM_NONE, OPS_E_I, K_NOT_EMULATED, 0),	/* group 8 */
	[0xbb] = OP(M | D_LOCK, IMM_NONE, OPS_E_G, K_BT, 3),
	[0xbc ... 0xbd] = NE(M, IMM_NONE),
	[0xbe] = OP(M, IMM_NONE, OPS_G_E, K_MOVSX, 1),
	[0xbf] = OP(M, IMM_NONE, OPS_G_E, K_MOVSX, 2),
	[0xc0] = OP(M | B | D_LOCK, IMM_NONE, OPS_E_G, K_XADD, 0),
	[0xc1] = OP(M | D_LOCK, IMM_NONE, OPS_E_G, K_XADD, 0),
	[0xc2] = NE(M, IMM_B),
	[0xc3] = NE(M | D_MEM, IMM_NONE),
	[0xc4 ... 0xc6] = NE(M, IMM_B),
	[0xc7] = NE(M, IMM_NONE),				/* group 9 */
	[0xc8 ... 0xcf] = NE(0, IMM_NONE),
	[0xd0 ... 0xfe] = NE(M, IMM_NONE),
	[0xff] = OP(M, IMM_NONE, OPS_NONE, K_UD, 0),		/* UD0 */
};

#undef M
#undef B
#undef R

/* Where the bytes come from: guest memory (c != NULL) or a buffer. */
struct byte_src {
	struct x86_emul_ctxt *c;
	const u8 *buf;
	unsigned int avail;
	struct x86_exception *exc;
};

static int decode_fault(struct x86_exception *exc, u8 vector)
{
	exc->vector = vector;
	exc->has_error_code = vector == X86_EXC_GP;
	exc->error_code = 0;
	exc->cr2 = 0;
	return X86EMUL_FAULT;
}

/* Make byte @idx available; more than 15 bytes is #GP(0) (APM 3, 1.1). */
static int need(struct byte_src *s, struct x86_insn *insn, unsigned int idx)
{
	if (idx >= X86_MAX_INSN_LEN)
		return decode_fault(s->exc, X86_EXC_GP);
	if (s->c)
		return x86_fetch_insn_byte(s->c, idx);
	if (idx >= s->avail)
		return X86EMUL_IO_NEEDED;
	insn->bytes[idx] = s->buf[idx];
	return X86EMUL_OK;
}

static int next_byte(struct byte_src *s, struct x86_insn *insn, u8 *b)
{
	int r = need(s, insn, insn->len);

	if (r)
		return r;
	*b = insn->bytes[insn->len++];
	return X86EMUL_OK;
}

static int peek_byte(struct byte_src *s, struct x86_insn *insn, u8 *b)
{
	int r = need(s, insn, insn->len);

	if (r)
		return r;
	*b = insn->bytes[insn->len];
	return X86EMUL_OK;
}

/* Little-endian immediate or displacement of @n bytes, sign-extended. */
static int next_le(struct byte_src *s, struct x86_insn *insn, unsigned int n,
		   s64 *val)
{
	u64 v = 0;
	unsigned int i;
	int r;
	u8 b;

	for (i = 0; i < n; i++) {
		r = next_byte(s, insn, &b);
		if (r)
			return r;
		v |= (u64)b << (8 * i);
	}
	if (n && n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~0ULL << (8 * n);
	*val = (s64)v;
	return X86EMUL_OK;
}

static bool is_64(const struct x86_insn *insn)
{
	return insn->mode == X86_MODE_LONG64;
}

static int decode_prefixes(struct byte_src *s, struct x86_insn *insn)
{
	bool def32 = insn->mode == X86_MODE_PROT32 || is_64(insn);
	u8 b;
	int r;

	for (;;) {
		r = peek_byte(s, insn, &b);
		if (r)
			return r;
		switch (b) {
		case 0xf0:
			insn->lock = true;
			break;
		case 0xf2: case 0xf3:
			insn->rep = b;
			break;
		case 0x26: insn->seg = X86_SEG_ES; break;
		case 0x2e: insn->seg = X86_SEG_CS; break;
		case 0x36: insn->seg = X86_SEG_SS; break;
		case 0x3e: insn->seg = X86_SEG_DS; break;
		case 0x64: insn->seg = X86_SEG_FS; break;
		case 0x65: insn->seg = X86_SEG_GS; break;
		case 0x66:
			insn->opsize_prefix = true;
			break;
		case 0x67:
			insn->addrsize_prefix = true;
			break;
		default:
			if (is_64(insn) && (b & 0xf0) == 0x40) {
				/* REX counts only right before the opcode. */
				insn->rex = b;
				insn->len++;
				continue;
			}
			goto done;
		}
		insn->rex = 0;
		insn->len++;
	}
done:
	/* In 64-bit mode only FS and GS overrides have an effect. */
	if (is_64(insn) && insn->seg != X86_SEG_FS && insn->seg != X86_SEG_GS)
		insn->seg = X86_SEG_NONE;
	if (is_64(insn))
		insn->addr_size = insn->addrsize_prefix ? 4 : 8;
	else
		insn->addr_size = (def32 ^ insn->addrsize_prefix) ? 4 : 2;
	insn->op_size = (def32 ^ insn->opsize_prefix) ? 4 : 2;
	return X86EMUL_OK;
}

/* ModRM, SIB and displacement (APM vol 3, 1.4 and 1.5). */
static int decode_modrm(struct byte_src *s, struct x86_insn *insn)
{
	static const u8 base16[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP,
				      X86_RSI, X86_RDI, X86_RBP, X86_RBX };
	static const u8 index16[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI,
				       0xff, 0xff, 0xff, 0xff };
	u8 mod, rm;
	int r;

	r = next_byte(s, insn, &insn->modrm);
	if (r)
		return r;
	insn->has_modrm = true;
	mod = insn->modrm >> 6;
	rm = insn->modrm & 7;
	insn->reg = ((insn->modrm >> 3) & 7) | ((insn->rex & 4) << 1);
	insn->rm = rm | ((insn->rex & 1) << 3);
	insn->base = insn->index = 0xff;
	insn->scale = 1;
	if (mod == 3 || (insn->flags & D_REGONLY))
		return X86EMUL_OK;
	insn->mem = true;

	if (insn->addr_size == 2) {
		if (mod == 0 && rm == 6) {
			insn->disp_size = 2;
		} else {
			insn->base = base16[rm];
			insn->index = index16[rm];
			insn->disp_size = mod == 1 ? 1 : mod == 2 ? 2 : 0;
		}
		return next_le(s, insn, insn->disp_size, &insn->disp);
	}

	insn->disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (rm == 4) {
		u8 idx;

		r = next_byte(s, insn, &insn->sib);
		if (r)
			return r;
		insn->has_sib = true;
		insn->scale = 1 << (insn->sib >> 6);
		idx = ((insn->sib >> 3) & 7) | ((insn->rex & 2) << 2);
		if (idx != X86_RSP)
			insn->index = idx;
		if ((insn->sib & 7) == 5 && mod == 0)
			insn->disp_size = 4;
		else
			insn->base = (insn->sib & 7) | ((insn->rex & 1) << 3);
	} else if (rm == 5 && mod == 0) {
		insn->disp_size = 4;
		insn->rip_relative = is_64(insn);
	} else {
		insn->base = insn->rm;
	}
	return next_le(s, insn, insn->disp_size, &insn->disp);
}

static unsigned int imm_bytes(const struct x86_insn *insn, unsigned int kind)
{
	unsigned int z = insn->op_size == 1 ? 1 : insn->op_size == 2 ? 2 : 4;

	switch (kind) {
	case IMM_B: case IMM_REL8: return 1;
	case IMM_W: return 2;
	case IMM_Z: case IMM_RELZ: return z;
	case IMM_V: return insn->op_size;
	case IMM_MOFFS: return insn->addr_size;
	case IMM_D: return 4;
	}
	return 0;
}

static int decode_imm(struct byte_src *s, struct x86_insn *insn,
		      unsigned int kind)
{
	s64 v = 0, v2 = 0;
	int r;

	switch (kind) {
	case IMM_NONE:
		return X86EMUL_OK;
	case IMM_ENTER:
		r = next_le(s, insn, 2, &v);
		if (!r)
			r = next_le(s, insn, 1, &v2);
		insn->imm = (u16)v;
		insn->imm2 = (u8)v2;
		insn->imm_size = 3;
		return r;
	case IMM_B2:
		r = next_le(s, insn, 1, &v);
		if (!r)
			r = next_le(s, insn, 1, &v2);
		insn->imm = (u8)v;
		insn->imm2 = (u8)v2;
		insn->imm_size = 2;
		return r;
	case IMM_PTR:
		r = next_le(s, insn, insn->op_size == 2 ? 2 : 4, &v);
		if (!r)
			r = next_le(s, insn, 2, &v2);
		insn->imm = insn->op_size == 2 ? (u16)v : (u32)v;
		insn->imm2 = (u16)v2;
		insn->imm_size = (insn->op_size == 2 ? 2 : 4) + 2;
		return r;
	}
	insn->imm_size = imm_bytes(insn, kind);
	r = next_le(s, insn, insn->imm_size, &v);
	insn->imm = (u64)v;
	/* Only D_SEXT immediates and rel stay sign-extended. */
	if (!r && kind != IMM_REL8 && kind != IMM_RELZ &&
	    !(insn->flags & D_SEXT) && insn->imm_size < 8 &&
	    !(kind == IMM_Z && insn->op_size == 8))
		insn->imm &= (1ULL << (8 * insn->imm_size)) - 1;
	return r;
}

/*
 * VEX (c4/c5), EVEX (62) and XOP (8f): decoded for their length only, so
 * that they can be reported instead of emulated (APM vol 3, 1.8).
 */
static int decode_vex(struct byte_src *s, struct x86_insn *insn, u8 esc)
{
	unsigned int payload = esc == 0xc5 ? 1 : esc == 0x62 ? 3 : 2;
	unsigned int map, i, imm = IMM_NONE;
	u8 p[3], op;
	int r;

	for (i = 0; i < payload; i++) {
		r = next_byte(s, insn, &p[i]);
		if (r)
			return r;
	}
	if (esc == 0xc5)
		map = 1;
	else if (esc == 0x62)
		map = p[0] & 7;
	else
		map = p[0] & 0x1f;

	if (esc == 0x62 ? (map == 0 || map == 4 || map == 7) :
	    esc == 0x8f ? (map < 8 || map > 10) : (map < 1 || map > 3))
		return decode_fault(s->exc, X86_EXC_UD);
	/* EVEX payload fixed bits: P0[3] = 0, P1[2] = 1 (AVX-512 spec). */
	if (esc == 0x62 && ((p[0] & 0x08) || !(p[1] & 0x04)))
		return decode_fault(s->exc, X86_EXC_UD);

	r = next_byte(s, insn, &op);
	if (r)
		return r;
	insn->map = X86_MAP_VEX;
	insn->opcode = op;
	if (esc == 0x8f)
		imm = map == 8 ? IMM_B : map == 10 ? IMM_D : IMM_NONE;
	else if (map == 3)
		imm = IMM_B;
	else if (map == 1 && ((op >= 0x70 && op <= 0x73) || op == 0xc2 ||
			      (op >= 0xc4 && op <= 0xc6)))
		imm = IMM_B;

	/* VZEROUPPER/VZEROALL are the only VEX opcodes without ModRM. */
	if (!(esc != 0x62 && esc != 0x8f && map == 1 && op == 0x77)) {
		r = decode_modrm(s, insn);
		if (r)
			return r;
	}
	return decode_imm(s, insn, imm);
}

/* Pick the group entry selected by ModRM.reg, once ModRM is known. */
static const struct opcode_desc *group_entry(const struct x86_insn *insn)
{
	unsigned int reg = (insn->modrm >> 3) & 7;
	static const struct opcode_desc mov_ud = UD;

	if (insn->map == X86_MAP_ONE) {
		switch (insn->opcode) {
		case 0x80 ... 0x83:
			return NULL;	/* ALU op = reg, handled by caller */
		case 0x8f: case 0xc6: case 0xc7:
			return reg ? &mov_ud : NULL;
		case 0xf6: case 0xf7:
			return &group3[reg];
		case 0xfe:
			return &group4[reg];
		case 0xff:
			return &group5[reg];
		}
	} else if (insn->map == X86_MAP_0F) {
		switch (insn->opcode) {
		case 0x00:
			return &group6[reg];
		case 0x01:
			if (insn->mem)
				return &group7_mem[reg];
			if (reg == 4 || reg == 6)
				return &group7_mem[reg];	/* SMSW/LMSW */
			return NULL;
		case 0xba:
			return &group8[reg];
		}
	}
	return NULL;
}

static void apply_desc(struct x86_insn *insn, const struct opcode_desc *d,
		       bool group)
{
	insn->sub = d->sub;
	if (!group) {
		insn->flags = d->flags;
		insn->kind = d->kind;
		return;
	}
	/* Group entries refine the opcode: imm/ops come from the group. */
	if (d->flags & D_IMM_MASK)
		insn->flags = (insn->flags & ~D_IMM_MASK) |
			      (d->flags & D_IMM_MASK);
	if ((d->flags >> D_OPS_SHIFT) & 0xf)
		insn->flags = (insn->flags & ~(0xfU << D_OPS_SHIFT)) |
			      (d->flags & (0xfU << D_OPS_SHIFT));
	insn->flags |= d->flags & (D_LOCK | D_MEM | D_UD | D_DEF64);
	insn->flags &= (d->flags & D_LOCK) | ~D_LOCK;
	insn->kind = d->kind;
}

/* Table entry for the opcode byte(s) just read. */
static const struct opcode_desc *opcode_entry(struct x86_insn *insn,
					      struct opcode_desc *tmp)
{
	if (insn->map == X86_MAP_ONE)
		return &one_byte[insn->opcode];
	if (insn->map == X86_MAP_0F)
		return &two_byte[insn->opcode];
	/* 0f 38 and 0f 3a: SSE and friends; MOVBE is the one we emulate. */
	tmp->kind = K_NOT_EMULATED;
	tmp->sub = 0;
	tmp->flags = D_MODRM;
	if (insn->map == X86_MAP_0F3A)
		tmp->flags |= IMM_B << D_IMM_SHIFT;
	else if ((insn->opcode == 0xf0 || insn->opcode == 0xf1) && !insn->rep)
		*tmp = (struct opcode_desc)OP(D_MODRM | D_MEM, IMM_NONE,
					       insn->opcode == 0xf0 ?
					       OPS_G_E : OPS_E_G, K_MOVBE, 0);
	return tmp;
}

/* Operand size once the opcode is known (APM vol 3, 1.2.2 and 1.2.7). */
static void fix_op_size(struct x86_insn *insn)
{
	if (insn->flags & D_BYTE) {
		insn->op_size = 1;
		return;
	}
	if (!is_64(insn))
		return;
	if (insn->rex & 8)
		insn->op_size = 8;
	else if ((insn->flags & D_DEF64) && !insn->opsize_prefix)
		insn->op_size = 8;
}

/* c4/c5/62/8f: VEX/EVEX/XOP escape or the legacy instruction? */
static int is_vex_escape(struct byte_src *s, struct x86_insn *insn, u8 op,
			 bool *vex)
{
	u8 next;
	int r;

	*vex = false;
	if (insn->map != X86_MAP_ONE)
		return X86EMUL_OK;
	if (op != 0xc4 && op != 0xc5 && op != 0x62 && op != 0x8f)
		return X86EMUL_OK;
	if (insn->mode == X86_MODE_REAL || insn->mode == X86_MODE_VM86) {
		if (op != 0x8f)
			return X86EMUL_OK;
	}
	r = peek_byte(s, insn, &next);
	if (r)
		return r;
	if (op == 0x8f)
		*vex = (next & 0x38) != 0;
	else
		*vex = is_64(insn) || (next & 0xc0) == 0xc0;
	if (*vex && op == 0x8f && (insn->mode == X86_MODE_REAL ||
				   insn->mode == X86_MODE_VM86))
		return decode_fault(s->exc, X86_EXC_UD);
	return X86EMUL_OK;
}

/* 0f opcodes on which a F2/F3 prefix has no effect (APM vol 3, 1.2.6). */
static bool rep_ignored(u8 kind)
{
	switch (kind) {
	case K_MOVZX: case K_MOVSX: case K_BT: case K_CMPXCHG: case K_XADD:
	case K_SETCC: case K_CMOVCC: case K_MOV_FROM_CR: case K_MOV_TO_CR:
	case K_MOV_FROM_DR: case K_MOV_TO_DR: case K_IMUL:
		return true;
	}
	return false;
}

static int decode_opcode(struct byte_src *s, struct x86_insn *insn)
{
	const struct opcode_desc *d, *g;
	struct opcode_desc tmp;
	bool vex;
	u8 op;
	int r;

	r = next_byte(s, insn, &op);
	if (r)
		return r;
	insn->map = X86_MAP_ONE;
	if (op == 0x0f) {
		r = next_byte(s, insn, &op);
		if (r)
			return r;
		insn->map = X86_MAP_0F;
		if (op == 0x38 || op == 0x3a) {
			insn->map = op == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
			r = next_byte(s, insn, &op);
			if (r)
				return r;
		}
	}
	insn->opcode = op;

	r = is_vex_escape(s, insn, op, &vex);
	if (r)
		return r;
	if (vex)
		return decode_vex(s, insn, op);

	d = opcode_entry(insn, &tmp);
	apply_desc(insn, d, false);
	if (insn->flags & D_UD)
		return decode_fault(s->exc, X86_EXC_UD);
	if ((insn->flags & D_INV64) && is_64(insn))
		return decode_fault(s->exc, X86_EXC_UD);
	/*
	 * 63 is ARPL outside 64-bit mode; MOVSXD without REX.W has a source
	 * size the vendors disagree on, so it is not emulated.
	 */
	if (insn->map == X86_MAP_ONE && op == 0x63 &&
	    (!is_64(insn) || !(insn->rex & 8)))
		insn->kind = K_NOT_EMULATED;
	/* F2/F3 select other instructions for most 0f opcodes. */
	if (insn->map == X86_MAP_0F && insn->rep && !rep_ignored(insn->kind))
		insn->kind = K_NOT_EMULATED;
	/* Likewise 66 for the system instructions (e.g. 66 0f 09). */
	if (insn->map == X86_MAP_0F && insn->opsize_prefix &&
	    (insn->kind == K_WBINVD || insn->kind == K_INVD ||
	     insn->kind == K_CLTS))
		insn->kind = K_NOT_EMULATED;
	/* 0f 78 with 66/f2 is SSE4a EXTRQ/INSERTQ with two imm8. */
	if (insn->map == X86_MAP_0F && op == 0x78 &&
	    (insn->opsize_prefix || insn->rep == 0xf2) && insn->rep != 0xf3)
		insn->flags |= IMM_B2 << D_IMM_SHIFT;

	if (insn->flags & D_MODRM) {
		r = decode_modrm(s, insn);
		if (r)
			return r;
		g = group_entry(insn);
		if (g)
			apply_desc(insn, g, true);
		if (insn->flags & D_UD) {
			/* c6 f8 / c7 f8: XABORT ib / XBEGIN rel. */
			if (insn->map == X86_MAP_ONE && (op & 0xfe) == 0xc6 &&
			    insn->modrm == 0xf8) {
				insn->flags = D_MODRM | ((op == 0xc6 ? IMM_B :
					       IMM_RELZ) << D_IMM_SHIFT);
				insn->kind = K_NOT_EMULATED;
			} else {
				return decode_fault(s->exc, X86_EXC_UD);
			}
		}
		if (insn->map == X86_MAP_ONE && op >= 0x80 && op <= 0x83)
			insn->sub = (insn->modrm >> 3) & 7;
		if ((insn->flags & D_MEM) && !insn->mem)
			return decode_fault(s->exc, X86_EXC_UD);
		/* AMD AltMovCr8: LOCK adds 8 to the CR number (APM 3, MOV CRn). */
		if (insn->map == X86_MAP_0F && (op == 0x20 || op == 0x22) &&
		    insn->lock)
			insn->reg |= 8;
	}
	fix_op_size(insn);
	return decode_imm(s, insn, (insn->flags & D_IMM_MASK) >> D_IMM_SHIFT);
}

static void insn_reset(struct x86_insn *insn, enum x86_cpu_mode mode)
{
	unsigned int i;
	u8 *p = (u8 *)insn;

	for (i = 0; i < sizeof(*insn); i++)
		p[i] = 0;
	insn->mode = mode;
	insn->seg = X86_SEG_NONE;
	insn->base = insn->index = 0xff;
	insn->scale = 1;
}

static int decode(struct byte_src *s, struct x86_insn *insn,
		  enum x86_cpu_mode mode)
{
	int r;

	insn_reset(insn, mode);
	r = decode_prefixes(s, insn);
	if (!r)
		r = decode_opcode(s, insn);
	return r;
}

int x86_decode_bytes(struct x86_insn *insn, enum x86_cpu_mode mode,
		     const u8 *bytes, unsigned int len,
		     struct x86_exception *exc)
{
	struct byte_src s = { .buf = bytes, .avail = len, .exc = exc };

	return decode(&s, insn, mode);
}

int x86_decode(struct x86_emul_ctxt *c)
{
	struct byte_src s = { .c = c, .exc = &c->exc };

	x86_load_paging_state(c);
	c->fetched = 0;
	return decode(&s, &c->insn, c->mode);
}

bool x86_insn_emulated(const struct x86_insn *insn)
{
	return insn->kind != K_NOT_EMULATED && insn->kind != K_UD &&
	       insn->map != X86_MAP_VEX;
}

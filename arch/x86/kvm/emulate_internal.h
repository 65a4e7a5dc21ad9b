/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared between the emulator's own files only (decoder, executor,
 * formatter); not part of the API in emulate.h.
 */
#ifndef ARCH_X86_KVM_EMULATE_INTERNAL_H
#define ARCH_X86_KVM_EMULATE_INTERNAL_H

#include "emulate.h"

/* Decode table flags (struct x86_insn.flags). */
#define D_MODRM		0x0001	/* has a ModRM byte */
#define D_BYTE		0x0002	/* byte-sized operation */
#define D_INV64		0x0004	/* #UD in 64-bit mode */
#define D_UD		0x0008	/* undefined opcode: #UD */
#define D_DEF64		0x0010	/* operand size defaults to 64 in 64-bit mode */
#define D_LOCK		0x0020	/* LOCK allowed with a memory destination */
#define D_MEM		0x0040	/* ModRM must encode memory, else #UD */
#define D_SEXT		0x0080	/* immediate is sign-extended imm8 */
#define D_REGONLY	0x10000	/* ModRM.mod ignored: always registers */
#define D_IMM_SHIFT	8	/* 4 bits: enum imm_kind */
#define D_IMM_MASK	0x0f00
#define D_OPS_SHIFT	12	/* 4 bits: enum operand_layout */

enum imm_kind {
	IMM_NONE,
	IMM_B,		/* imm8 */
	IMM_W,		/* imm16 */
	IMM_Z,		/* imm16 or imm32 by operand size */
	IMM_V,		/* imm16, imm32 or imm64 by operand size */
	IMM_ENTER,	/* imm16 + imm8 */
	IMM_PTR,	/* far pointer: offset (z) + selector */
	IMM_MOFFS,	/* offset of address size */
	IMM_REL8,	/* rel8 */
	IMM_RELZ,	/* rel16 or rel32 */
	IMM_B2,		/* two imm8 (SSE4a EXTRQ/INSERTQ) */
	IMM_D,		/* imm32 (XOP map 0Ah) */
};

/* Operand layout of emulated instructions: destination, source. */
enum operand_layout {
	OPS_NONE,
	OPS_E_G,	/* r/m, reg */
	OPS_G_E,	/* reg, r/m */
	OPS_ACC_I,	/* AL/AX/EAX/RAX, imm */
	OPS_E_I,	/* r/m, imm */
	OPS_E,		/* r/m only */
	OPS_O,		/* register in the opcode's low bits */
	OPS_O_I,	/* opcode register, imm */
	OPS_ACC_M,	/* accumulator, moffs */
	OPS_M_ACC,	/* moffs, accumulator */
	OPS_O_ACC,	/* xchg opcode register with accumulator */
	OPS_I,		/* imm only */
};

/* What the executor does; 0 means "decoded but not emulated". */
enum insn_kind {
	K_NOT_EMULATED,
	K_ALU, K_TEST, K_NOT, K_NEG, K_INC, K_DEC,
	K_MOV, K_MOVZX, K_MOVSX, K_MOVSXD, K_MOV_FROM_SREG, K_MOV_TO_SREG,
	K_LEA, K_XCHG, K_CMPXCHG, K_XADD, K_BT, K_PUSH, K_POP, K_MOVBE,
	K_SETCC, K_CMOVCC,
	K_MOVS, K_CMPS, K_STOS, K_LODS, K_SCAS, K_INS, K_OUTS, K_IN, K_OUT,
	K_MOV_FROM_CR, K_MOV_TO_CR, K_MOV_FROM_DR, K_MOV_TO_DR,
	K_SGDT, K_SIDT, K_LGDT, K_LIDT, K_SMSW, K_LMSW, K_INVLPG,
	K_SLDT, K_STR, K_LLDT, K_LTR, K_CLTS, K_WBINVD, K_INVD,
	K_NOP, K_FLAGS, K_CBW, K_CWD, K_SHIFT, K_MUL, K_IMUL1, K_DIV,
	K_IDIV, K_IMUL, K_UD,
	K_NR_KINDS,
};

struct opcode_desc {
	u32 flags;
	u8 kind;
	u8 sub;		/* kind-specific: ALU op, BT variant, condition... */
};

static inline unsigned int insn_ops(const struct x86_insn *insn)
{
	return (insn->flags >> D_OPS_SHIFT) & 0xf;
}

extern const char *const x86_alu_names[8];

/* Fetch helper used by x86_decode(): ensure byte @idx is in insn->bytes. */
int x86_fetch_insn_byte(struct x86_emul_ctxt *c, unsigned int idx);

#endif /* ARCH_X86_KVM_EMULATE_INTERNAL_H */

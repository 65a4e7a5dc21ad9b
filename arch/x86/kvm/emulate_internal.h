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

/* RFLAGS bits (APM vol 2, 3.1.6). */
#define X86_FL_CF	0x0001ULL
#define X86_FL_FIXED	0x0002ULL	/* reserved, always 1 */
#define X86_FL_PF	0x0004ULL
#define X86_FL_AF	0x0010ULL
#define X86_FL_ZF	0x0040ULL
#define X86_FL_SF	0x0080ULL
#define X86_FL_TF	0x0100ULL
#define X86_FL_IF	0x0200ULL
#define X86_FL_DF	0x0400ULL
#define X86_FL_OF	0x0800ULL
#define X86_FL_VM	0x20000ULL
#define X86_FL_AC	0x40000ULL
#define X86_FL_ARITH	(X86_FL_CF | X86_FL_PF | X86_FL_AF | X86_FL_ZF | \
			 X86_FL_SF | X86_FL_OF)

enum { X86_ALU_ADD, X86_ALU_OR, X86_ALU_ADC, X86_ALU_SBB, X86_ALU_AND,
       X86_ALU_SUB, X86_ALU_XOR, X86_ALU_CMP };

/* emulate_alu.c: arithmetic with exact flags. */
u64 x86_size_mask(unsigned int size);
u64 x86_flags_szp(u64 res, unsigned int size);
u64 x86_alu(unsigned int op, unsigned int size, u64 a, u64 b, u64 *flags);
u64 x86_incdec(bool dec, unsigned int size, u64 a, u64 *flags);
u64 x86_neg(unsigned int size, u64 a, u64 *flags);
u64 x86_shift(unsigned int op, unsigned int size, u64 a, u8 count,
	      u64 *flags);
void x86_mul(bool sign, unsigned int size, u64 a, u64 b, u64 *lo, u64 *hi,
	     u64 *flags);
bool x86_div(bool sign, unsigned int size, u64 hi, u64 lo, u64 d, u64 *q,
	     u64 *r);
bool x86_cond(unsigned int cc, u64 flags);

/* emulate.c: CR0/CR3/CR4/EFER from the ops, for the page walks. */
void x86_load_paging_state(struct x86_emul_ctxt *c);

/* Fetch helper used by x86_decode(): ensure byte @idx is in insn->bytes. */
int x86_fetch_insn_byte(struct x86_emul_ctxt *c, unsigned int idx);

/* emulate.c: memory and registers for the instruction handlers. */

/* A memory operand, translated once and accessed possibly twice (RMW). */
struct x86_memref {
	u64 la;
	u64 gpa[2];		/* second page if the access crosses one */
	u8 len[2];
	u8 size;
};

#define X86_ACC_WRITE	1U	/* translate for writing (RMW too) */
#define X86_ACC_SYS	2U	/* implicit supervisor access (tables) */

int x86_raise(struct x86_emul_ctxt *c, u8 vector, bool has_ec, u32 ec);
static inline int x86_gp(struct x86_emul_ctxt *c, u32 ec)
{
	return x86_raise(c, X86_EXC_GP, true, ec);
}
static inline int x86_ud(struct x86_emul_ctxt *c)
{
	return x86_raise(c, X86_EXC_UD, false, 0);
}
int x86_seg_linear(struct x86_emul_ctxt *c, int seg, u64 ea,
		   unsigned int size, bool write, u64 *la);
int x86_memref_prepare_la(struct x86_emul_ctxt *c, u64 la, unsigned int size,
			  unsigned int acc, struct x86_memref *m);
int x86_memref_prepare(struct x86_emul_ctxt *c, int seg, u64 ea,
		       unsigned int size, unsigned int acc,
		       struct x86_memref *m);
int x86_memref_read(struct x86_emul_ctxt *c, const struct x86_memref *m,
		    void *val);
int x86_memref_write(struct x86_emul_ctxt *c, const struct x86_memref *m,
		     const void *val);
int x86_read_mem(struct x86_emul_ctxt *c, int seg, u64 ea, void *val,
		 unsigned int size);
int x86_write_mem(struct x86_emul_ctxt *c, int seg, u64 ea, const void *val,
		  unsigned int size);
u64 x86_reg_get(struct x86_emul_ctxt *c, unsigned int reg, unsigned int size);
void x86_reg_set(struct x86_emul_ctxt *c, unsigned int reg, unsigned int size,
		 u64 val);
u64 x86_ad_mask(const struct x86_insn *insn);
/* Effective address and segment of the ModRM memory operand. */
u64 x86_modrm_ea(struct x86_emul_ctxt *c);
int x86_modrm_seg(const struct x86_insn *insn);
/* Add @delta to register @reg, wrapping at the address size. */
void x86_reg_advance(struct x86_emul_ctxt *c, unsigned int reg, s64 delta);

/* emulate_string.c */
int x86_exec_string(struct x86_emul_ctxt *c);
int x86_exec_inout(struct x86_emul_ctxt *c);

/* emulate_sys.c */
int x86_exec_sys(struct x86_emul_ctxt *c);
int x86_exec_mov_sreg(struct x86_emul_ctxt *c, int seg, u16 sel);
bool x86_io_allowed(struct x86_emul_ctxt *c, u16 port, unsigned int size,
		    int *r);

#endif /* ARCH_X86_KVM_EMULATE_INTERNAL_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The instruction forms emulator_mmio_test.c runs against RAM and MMIO.
 *
 * Each X(name, "asm", undefined_flags) row becomes a guest function
 * snip_<name> (the asm, then RET).  The test calls it with every
 * general-purpose register and RFLAGS loaded from a table and saves them all
 * afterwards.  RDI and RSI point into the memory under test (RAM or MMIO),
 * R15 is a small index, RDX a bit offset for BT with a register operand;
 * every other register holds random data.  undefined_flags are the RFLAGS
 * bits the SDM leaves undefined for the form: they are not compared.
 */
#ifndef EMULATOR_MMIO_INSNS_H
#define EMULATOR_MMIO_INSNS_H

#define F_CF 0x001
#define F_PF 0x004
#define F_AF 0x010
#define F_ZF 0x040
#define F_SF 0x080
#define F_OF 0x800

/* SDM vol 2: AND/OR/XOR/TEST leave AF undefined. */
#define UNDEF_LOGIC F_AF
/* BT/BTS/BTR/BTC: OF, SF, AF, PF undefined. */
#define UNDEF_BT (F_OF | F_SF | F_AF | F_PF)
/* MUL/IMUL: SF, ZF, AF, PF undefined. */
#define UNDEF_MUL (F_SF | F_ZF | F_AF | F_PF)
/* DIV/IDIV: all six undefined. */
#define UNDEF_ALL (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
/* Shifts by 1: AF undefined; by more than 1: OF too. */
#define UNDEF_SHIFT1 F_AF
#define UNDEF_SHIFTN (F_AF | F_OF)

/* MOV in every direction, size and addressing form. */
#define MOV_FORMS(X)								\
	X(mov_m8_r8, "movb %bl, (%rdi)", 0)					\
	X(mov_m8_ah, "movb %ah, 1(%rdi)", 0)					\
	X(mov_m8_r9b, "movb %r9b, -1(%rdi)", 0)					\
	X(mov_m8_bpl, "movb %bpl, (%rdi)", 0)				\
	X(mov_m16_r16, "movw %bx, (%rdi)", 0)					\
	X(mov_m32_r32, "movl %ebx, (%rdi)", 0)					\
	X(mov_m64_r64, "movq %rbx, (%rdi)", 0)					\
	X(mov_m64_sib, "movq %r10, 0x10(%rdi,%r15,8)", 0)			\
	X(mov_m32_sib_disp32, "movl %r11d, 0x345(%rdi,%r15,4)", 0)		\
	X(mov_r8_m8, "movb (%rdi), %bl", 0)					\
	X(mov_ch_m8, "movb 3(%rdi), %ch", 0)					\
	X(mov_r12b_m8, "movb (%rdi), %r12b", 0)					\
	X(mov_r16_m16, "movw (%rdi), %bx", 0)					\
	X(mov_r32_m32, "movl (%rdi), %ebx", 0)					\
	X(mov_r64_m64, "movq (%rdi), %rbx", 0)					\
	X(mov_r64_disp8, "movq 0x7f(%rdi), %r11", 0)				\
	X(mov_r32_dispneg, "movl -0x80(%rdi), %r12d", 0)			\
	X(mov_r16_disp32, "movw 0x123(%rdi), %r13w", 0)				\
	X(mov_r64_sib, "movq -8(%rdi,%r15,2), %rax", 0)				\
	X(mov_m8_imm, "movb $0x5a, (%rdi)", 0)					\
	X(mov_m16_imm, "movw $0x1234, (%rdi)", 0)				\
	X(mov_m32_imm, "movl $0x89abcdef, (%rdi)", 0)				\
	X(mov_m64_imm, "movq $-0x12345678, (%rdi)", 0)				\
	X(mov_m32_imm_disp, "movl $7, 0x40(%rdi,%r15)", 0)			\
	X(mov_copy_mm, "movq (%rsi), %rax; movq %rax, (%rdi)", 0)

#define MOVX_FORMS(X)								\
	X(movzbw, "movzbw (%rdi), %bx", 0)					\
	X(movzbl, "movzbl (%rdi), %ebx", 0)					\
	X(movzbq, "movzbq (%rdi), %rbx", 0)					\
	X(movzwl, "movzwl (%rdi), %ebx", 0)					\
	X(movzwq, "movzwq (%rdi), %r9", 0)					\
	X(movsbw, "movsbw (%rdi), %bx", 0)					\
	X(movsbl, "movsbl (%rdi), %ebx", 0)					\
	X(movsbq, "movsbq (%rdi), %rbx", 0)					\
	X(movswl, "movswl (%rdi), %ebx", 0)					\
	X(movswq, "movswq (%rdi), %r10", 0)					\
	X(movslq, "movslq (%rdi), %rbx", 0)					\
	X(movzbl_ah, "movzbl 1(%rdi), %eax; movb (%rdi), %ah", 0)

/* One binary ALU op in all its memory forms. */
#define ALU_OP(X, op, u)							\
	X(op##_m8_r8, #op "b %bl, (%rdi)", u)					\
	X(op##_m16_r16, #op "w %bx, (%rdi)", u)					\
	X(op##_m32_r32, #op "l %ebx, (%rdi)", u)				\
	X(op##_m64_r64, #op "q %rbx, (%rdi)", u)				\
	X(op##_r8_m8, #op "b (%rdi), %bl", u)					\
	X(op##_r16_m16, #op "w (%rdi), %bx", u)					\
	X(op##_r32_m32, #op "l (%rdi), %ebx", u)				\
	X(op##_r64_m64, #op "q (%rdi), %rbx", u)				\
	X(op##_m8_imm8, #op "b $0x81, (%rdi)", u)				\
	X(op##_m16_imm16, #op "w $0x7ff1, (%rdi)", u)				\
	X(op##_m32_imm32, #op "l $0x80000001, (%rdi)", u)			\
	X(op##_m64_imm32, #op "q $-0x7ffffff0, (%rdi)", u)			\
	X(op##_m16_imm8, #op "w $-3, (%rdi)", u)				\
	X(op##_m32_imm8, #op "l $0x7f, (%rdi)", u)				\
	X(op##_m64_imm8, #op "q $-1, (%rdi)", u)

#define ALU_LOCK(X, op, u)							\
	X(lock_##op##_m8_r8, "lock " #op "b %bl, (%rdi)", u)			\
	X(lock_##op##_m32_imm8, "lock " #op "l $5, (%rdi)", u)			\
	X(lock_##op##_m64_r64, "lock " #op "q %rbx, (%rdi)", u)

#define ALU_FORMS(X)								\
	ALU_OP(X, add, 0) ALU_OP(X, or, UNDEF_LOGIC) ALU_OP(X, adc, 0)		\
	ALU_OP(X, sbb, 0) ALU_OP(X, and, UNDEF_LOGIC) ALU_OP(X, sub, 0)		\
	ALU_OP(X, xor, UNDEF_LOGIC) ALU_OP(X, cmp, 0)				\
	ALU_LOCK(X, add, 0) ALU_LOCK(X, or, UNDEF_LOGIC) ALU_LOCK(X, adc, 0)	\
	ALU_LOCK(X, sbb, 0) ALU_LOCK(X, and, UNDEF_LOGIC) ALU_LOCK(X, sub, 0)	\
	ALU_LOCK(X, xor, UNDEF_LOGIC)						\
	X(test_m8_r8, "testb %bl, (%rdi)", UNDEF_LOGIC)				\
	X(test_m16_r16, "testw %bx, (%rdi)", UNDEF_LOGIC)			\
	X(test_m32_r32, "testl %ebx, (%rdi)", UNDEF_LOGIC)			\
	X(test_m64_r64, "testq %rbx, (%rdi)", UNDEF_LOGIC)			\
	X(test_m8_imm, "testb $0x81, (%rdi)", UNDEF_LOGIC)			\
	X(test_m16_imm, "testw $0x8001, (%rdi)", UNDEF_LOGIC)			\
	X(test_m32_imm, "testl $0x80000100, (%rdi)", UNDEF_LOGIC)		\
	X(test_m64_imm, "testq $-0x100, (%rdi)", UNDEF_LOGIC)

#define UNARY_OP(X, op)								\
	X(op##_m8, #op "b (%rdi)", 0)						\
	X(op##_m16, #op "w (%rdi)", 0)						\
	X(op##_m32, #op "l (%rdi)", 0)						\
	X(op##_m64, #op "q (%rdi)", 0)						\
	X(lock_##op##_m32, "lock " #op "l (%rdi)", 0)

#define UNARY_FORMS(X)								\
	UNARY_OP(X, inc) UNARY_OP(X, dec) UNARY_OP(X, neg) UNARY_OP(X, not)

#define XCHG_FORMS(X)								\
	X(xchg_m8, "xchgb %bl, (%rdi)", 0)					\
	X(xchg_m16, "xchgw %bx, (%rdi)", 0)					\
	X(xchg_m32, "xchgl %ebx, (%rdi)", 0)					\
	X(xchg_m64, "xchgq %rbx, (%rdi)", 0)					\
	X(xchg_m64_rev, "xchgq (%rdi), %r13", 0)				\
	X(lock_xchg_m32, "lock xchgl %ebx, (%rdi)", 0)				\
	X(cmpxchg_m8_fail, "cmpxchgb %bl, (%rdi)", 0)				\
	X(cmpxchg_m16_fail, "cmpxchgw %bx, (%rdi)", 0)				\
	X(cmpxchg_m32_fail, "cmpxchgl %ebx, (%rdi)", 0)				\
	X(cmpxchg_m64_fail, "cmpxchgq %rbx, (%rdi)", 0)				\
	X(cmpxchg_m8_ok, "movb (%rdi), %al; cmpxchgb %bl, (%rdi)", 0)		\
	X(cmpxchg_m16_ok, "movw (%rdi), %ax; cmpxchgw %bx, (%rdi)", 0)		\
	X(cmpxchg_m32_ok, "movl (%rdi), %eax; cmpxchgl %ebx, (%rdi)", 0)	\
	X(cmpxchg_m64_ok, "movq (%rdi), %rax; cmpxchgq %rbx, (%rdi)", 0)	\
	X(lock_cmpxchg_m8_fail, "lock cmpxchgb %bl, (%rdi)", 0)			\
	X(lock_cmpxchg_m64_fail, "lock cmpxchgq %rbx, (%rdi)", 0)		\
	X(lock_cmpxchg_m16_ok, "movw (%rdi), %ax; lock cmpxchgw %bx, (%rdi)", 0) \
	X(lock_cmpxchg_m32_ok, "movl (%rdi), %eax; lock cmpxchgl %ebx, (%rdi)", 0) \
	X(lock_cmpxchg_m64_ok, "movq (%rdi), %rax; lock cmpxchgq %rbx, (%rdi)", 0) \
	X(xadd_m8, "xaddb %bl, (%rdi)", 0)					\
	X(xadd_m16, "xaddw %bx, (%rdi)", 0)					\
	X(xadd_m32, "xaddl %ebx, (%rdi)", 0)					\
	X(xadd_m64, "xaddq %rbx, (%rdi)", 0)					\
	X(lock_xadd_m32, "lock xaddl %ebx, (%rdi)", 0)				\
	X(lock_xadd_m64, "lock xaddq %rbx, (%rdi)", 0)

#define BT_OP(X, op)								\
	X(op##_m16_imm, #op "w $13, (%rdi)", UNDEF_BT)				\
	X(op##_m32_imm, #op "l $37, (%rdi)", UNDEF_BT)				\
	X(op##_m64_imm, #op "q $62, (%rdi)", UNDEF_BT)				\
	X(op##_m16_reg, #op "w %dx, (%rdi)", UNDEF_BT)				\
	X(op##_m32_reg, #op "l %edx, (%rdi)", UNDEF_BT)				\
	X(op##_m64_reg, #op "q %rdx, (%rdi)", UNDEF_BT)

#define BT_FORMS(X)								\
	BT_OP(X, bt) BT_OP(X, bts) BT_OP(X, btr) BT_OP(X, btc)			\
	X(lock_bts_m32_reg, "lock btsl %edx, (%rdi)", UNDEF_BT)			\
	X(lock_btr_m64_imm, "lock btrq $33, (%rdi)", UNDEF_BT)			\
	X(lock_btc_m16_reg, "lock btcw %dx, (%rdi)", UNDEF_BT)

/* The stack stays balanced: RET must find its return address. */
#define STACK_FORMS(X)								\
	X(push_m64, "pushq (%rdi); popq %rax", 0)				\
	X(push_m16, "pushw (%rdi); popw %ax", 0)				\
	X(push_m64_sib, "pushq 8(%rdi,%r15,8); popq %rbx", 0)			\
	X(pop_m64, "pushq %rbx; popq (%rdi)", 0)				\
	X(pop_m16, "pushw %bx; popw (%rdi)", 0)					\
	X(pop_m64_disp, "pushq %rcx; popq -0x20(%rdi)", 0)			\
	X(push_pop_mm, "pushq (%rsi); popq (%rdi)", 0)				\
	X(stack_in_mem, "xchgq %rsp, %rdi; pushq %rbx; pushq $-5; pushw %cx;"	\
	  " pushq (%rsi); popq %r8; popw %r9w; popq %r10; popq %r11;"		\
	  " xchgq %rsp, %rdi", 0)

/*
 * No 16-bit MOVBE: upstream KVM's emulator refuses the 66-prefixed form
 * (KVM_EXIT_INTERNAL_ERROR), so the oracle cannot pin it.
 */
#define MOVBE_FORMS(X)								\
	X(movbe_r32_m32, "movbel (%rdi), %ebx", 0)				\
	X(movbe_r64_m64, "movbeq (%rdi), %rbx", 0)				\
	X(movbe_m32_r32, "movbel %ebx, (%rdi)", 0)				\
	X(movbe_m64_r64, "movbeq %r9, (%rdi)", 0)

#define SETCC_FORMS(X)								\
	X(seto, "seto (%rdi)", 0) X(setno, "setno 1(%rdi)", 0)			\
	X(setb, "setb 2(%rdi)", 0) X(setae, "setae 3(%rdi)", 0)			\
	X(sete, "sete 4(%rdi)", 0) X(setne, "setne 5(%rdi)", 0)			\
	X(setbe, "setbe 6(%rdi)", 0) X(seta, "seta 7(%rdi)", 0)			\
	X(sets, "sets 8(%rdi)", 0) X(setns, "setns 9(%rdi)", 0)			\
	X(setp, "setp 10(%rdi)", 0) X(setnp, "setnp 11(%rdi)", 0)		\
	X(setl, "setl 12(%rdi)", 0) X(setge, "setge 13(%rdi)", 0)		\
	X(setle, "setle 14(%rdi)", 0) X(setg, "setg 15(%rdi)", 0)		\
	X(setne_r8, "setne (%rdi,%r15)", 0)

/* Emulated beyond the list: CMOVcc, MUL/DIV, shifts, rotates. */
#define MORE_FORMS(X)								\
	X(cmovz_r64_m64, "cmovzq (%rdi), %rbx", 0)				\
	X(cmovnc_r32_m32, "cmovncl (%rdi), %ebx", 0)				\
	X(cmovl_r16_m16, "cmovlw (%rdi), %bx", 0)				\
	X(mul_m8, "mulb (%rdi)", UNDEF_MUL)					\
	X(mul_m64, "mulq (%rdi)", UNDEF_MUL)					\
	X(imul_m32, "imull (%rdi)", UNDEF_MUL)					\
	X(imul_r64_m64, "imulq (%rdi), %rbx", UNDEF_MUL)			\
	X(imul_r16_m16_imm, "imulw $-77, (%rdi), %bx", UNDEF_MUL)		\
	X(div_m32, "movl $0, %edx; orl $1, (%rdi); divl (%rdi)", UNDEF_ALL)	\
	X(idiv_m16, "cwtd; andw $0x7fff, (%rdi); orw $0x4000, (%rdi);"	\
	  " idivw (%rdi)", UNDEF_ALL)	\
	X(shl1_m32, "shll (%rdi)", UNDEF_SHIFT1)				\
	X(shr1_m8, "shrb (%rdi)", UNDEF_SHIFT1)					\
	X(sar1_m64, "sarq (%rdi)", UNDEF_SHIFT1)				\
	X(shl_imm_m64, "shlq $5, (%rdi)", UNDEF_SHIFTN)				\
	X(sar_imm_m16, "sarw $3, (%rdi)", UNDEF_SHIFTN)				\
	X(shr_cl_m32, "movb $9, %cl; shrl %cl, (%rdi)", UNDEF_SHIFTN)		\
	X(rol1_m16, "rolw (%rdi)", 0)						\
	X(ror_imm_m32, "rorl $7, (%rdi)", F_OF)					\
	X(rcl_imm_m8, "rclb $3, (%rdi)", F_OF)					\
	X(rcr1_m64, "rcrq (%rdi)", 0)

/*
 * String instructions: X(name, "asm", undef, uses), where uses says which
 * of RSI (S) and RDI (D) address memory.  The test runs each with RCX 0, 1,
 * 3 and 17 and DF 0 and 1, with each pointer in the memory under test or in
 * plain RAM.
 */
#define STR_S 1
#define STR_D 2
#define STRING_FORMS(X)								\
	X(rep_movsb, "rep movsb", 0, STR_S | STR_D)				\
	X(rep_movsw, "rep movsw", 0, STR_S | STR_D)				\
	X(rep_movsl, "rep movsl", 0, STR_S | STR_D)				\
	X(rep_movsq, "rep movsq", 0, STR_S | STR_D)				\
	X(movsq, "movsq", 0, STR_S | STR_D)					\
	X(addr32_rep_movsw, "addr32 rep movsw", 0, STR_S | STR_D)		\
	X(rep_stosb, "rep stosb", 0, STR_D)					\
	X(rep_stosw, "rep stosw", 0, STR_D)					\
	X(rep_stosl, "rep stosl", 0, STR_D)					\
	X(rep_stosq, "rep stosq", 0, STR_D)					\
	X(stosl, "stosl", 0, STR_D)						\
	X(addr32_rep_stosb, "addr32 rep stosb", 0, STR_D)			\
	X(rep_lodsb, "rep lodsb", 0, STR_S)					\
	X(rep_lodsw, "rep lodsw", 0, STR_S)					\
	X(rep_lodsl, "rep lodsl", 0, STR_S)					\
	X(rep_lodsq, "rep lodsq", 0, STR_S)					\
	X(lodsw, "lodsw", 0, STR_S)						\
	X(repe_cmpsb, "repe cmpsb", 0, STR_S | STR_D)				\
	X(repe_cmpsw, "repe cmpsw", 0, STR_S | STR_D)				\
	X(repe_cmpsl, "repe cmpsl", 0, STR_S | STR_D)				\
	X(repe_cmpsq, "repe cmpsq", 0, STR_S | STR_D)				\
	X(repne_cmpsb, "repne cmpsb", 0, STR_S | STR_D)				\
	X(repne_cmpsq, "repne cmpsq", 0, STR_S | STR_D)				\
	X(cmpsl, "cmpsl", 0, STR_S | STR_D)					\
	X(repe_scasb, "repe scasb", 0, STR_D)					\
	X(repe_scasw, "repe scasw", 0, STR_D)					\
	X(repe_scasl, "repe scasl", 0, STR_D)					\
	X(repe_scasq, "repe scasq", 0, STR_D)					\
	X(repne_scasb, "repne scasb", 0, STR_D)					\
	X(repne_scasl, "repne scasl", 0, STR_D)					\
	X(scasq, "scasq", 0, STR_D)

/*
 * MOV with a 64-bit absolute address (moffs, opcodes A0-A3): the test
 * patches the address, the last 8 bytes of the instruction, before each run.
 */
#define MOFFS_FORMS(X)								\
	X(moffs_load8, "movabs 0x1122334455667788, %al")			\
	X(moffs_load16, "movabs 0x1122334455667788, %ax")			\
	X(moffs_load32, "movabs 0x1122334455667788, %eax")			\
	X(moffs_load64, "movabs 0x1122334455667788, %rax")			\
	X(moffs_store8, "movabs %al, 0x1122334455667788")			\
	X(moffs_store16, "movabs %ax, 0x1122334455667788")			\
	X(moffs_store32, "movabs %eax, 0x1122334455667788")			\
	X(moffs_store64, "movabs %rax, 0x1122334455667788")

#endif

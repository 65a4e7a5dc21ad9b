/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 instruction decoder and emulator.
 *
 * One source, three users: ukvm.ko (MMIO, string I/O and intercepted
 * instructions), the host unit tests and lkvm's disassembler.  Nothing
 * here depends on the kernel or libc; the user supplies struct
 * x86_emul_ops and fills struct x86_emul_ctxt.  See
 * Documentation/virt/emulator.md.
 *
 * Use:
 *	struct x86_emul_ctxt c;  (about 450 bytes; may live on the stack)
 *
 *	x86_emul_init(&c, &my_ops, my_vcpu, mode, cpl);
 *	copy GPRs into c.regs[], RIP into c.rip, RFLAGS into c.rflags;
 *	optionally set c.maxphyaddr, c.gbpages, c.rep_budget, c.fault_gpa;
 *	r = x86_emulate(&c);
 *	X86EMUL_OK, X86EMUL_FAULT: write c.regs/c.rip/c.rflags back;
 *		on FAULT also inject c.exc (RIP still points at the insn).
 *		A REP string insn may return OK with RIP unchanged: it made
 *		progress and the guest re-executing it resumes it.
 *	X86EMUL_IO_NEEDED: nothing changed; exit to userspace for the
 *		MMIO read / port input the ops reported, then run
 *		x86_emulate() again from scratch with the data available.
 *	X86EMUL_UNHANDLED: nothing changed; report an emulation failure
 *		(KVM_EXIT_INTERNAL_ERROR) with c.insn.bytes[0..c.insn.len).
 *
 * Re-execution contract: for one instruction the emulator issues the same
 * sequence of read_phys/pio_in calls every time it is run on the same
 * state.  The ops therefore keep the reads userspace completed for the
 * current instruction and hand them back, in order, on the next run (an
 * instruction may read MMIO more than once, e.g. CMPS); they drop them when
 * x86_emulate() returns anything but X86EMUL_IO_NEEDED.  Writes to MMIO
 * and port output are queued by the ops (X86EMUL_IO_QUEUED) and happen
 * once, after all reads; the caller exits to userspace after committing.
 *
 * Emulation never guesses: a valid instruction the emulator does not
 * implement gives X86EMUL_UNHANDLED, an undefined one #UD.
 */
#ifndef ARCH_X86_KVM_EMULATE_H
#define ARCH_X86_KVM_EMULATE_H

#include "emulate_types.h"

#define X86_MAX_INSN_LEN	15

enum x86_emul_result {
	X86EMUL_OK = 0,		/* done (or a string insn made progress) */
	X86EMUL_FAULT,		/* inject ctxt->exc */
	X86EMUL_IO_NEEDED,	/* an access needs userspace; retry later */
	X86EMUL_UNHANDLED,	/* not emulated: report to userspace */
	/*
	 * Returned by ops->write_phys/pio_out only: the access was queued
	 * for userspace.  The emulator finishes the current instruction
	 * (or string iteration), then stops and returns X86EMUL_OK.
	 */
	X86EMUL_IO_QUEUED,
};

/* CPU operating mode, as seen by the decoder. */
enum x86_cpu_mode {
	X86_MODE_REAL,		/* CR0.PE = 0 */
	X86_MODE_VM86,		/* RFLAGS.VM = 1 */
	X86_MODE_PROT16,	/* protected or compatibility mode, CS.D = 0 */
	X86_MODE_PROT32,	/* protected or compatibility mode, CS.D = 1 */
	X86_MODE_LONG64,	/* 64-bit mode (EFER.LMA = 1, CS.L = 1) */
};

enum x86_seg_reg {
	X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS,
	X86_SEG_TR, X86_SEG_LDTR, X86_NR_SEGS,
	X86_SEG_NONE = 0xff,
};

enum x86_gpr {
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI,
	X86_RDI, X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13,
	X86_R14, X86_R15, X86_NR_GPRS,
};

struct x86_segment {
	u64 base;
	u32 limit;		/* byte granular (G already applied) */
	u16 selector;
	u8 type;		/* descriptor type, 4 bits */
	u8 s:1, dpl:2, present:1, db:1, l:1, g:1, unusable:1;
};

struct x86_dtable {
	u64 base;
	u16 limit;
};

/* Exception vectors the emulator raises (APM vol 2, 8.2). */
#define X86_EXC_DE	0
#define X86_EXC_UD	6
#define X86_EXC_NM	7
#define X86_EXC_TS	10
#define X86_EXC_NP	11
#define X86_EXC_SS	12
#define X86_EXC_GP	13
#define X86_EXC_PF	14
#define X86_EXC_AC	17

struct x86_exception {
	u8 vector;
	bool has_error_code;
	u32 error_code;
	u64 cr2;		/* faulting linear address for #PF */
};

/* Decoded instruction.  Filled by x86_decode(). */
struct x86_insn {
	u8 bytes[X86_MAX_INSN_LEN];
	u8 len;
	u8 mode;		/* enum x86_cpu_mode */
	u8 op_size;		/* 1, 2, 4 or 8 */
	u8 addr_size;		/* 2, 4 or 8 */
	u8 map;			/* enum x86_opmap */
	u8 opcode;
	u8 modrm, sib;
	u8 rex;			/* REX byte in effect, or 0 */
	u8 rep;			/* 0, 0xf2 or 0xf3: the last of those seen */
	u8 seg;			/* segment override, or X86_SEG_NONE */
	u8 reg;			/* ModRM.reg, REX.R extended */
	u8 rm;			/* ModRM.rm, REX.B extended (register form) */
	u8 base, index;		/* memory operand registers, 0xff if none */
	u8 scale;		/* 1, 2, 4, 8 */
	u8 imm_size, disp_size;
	u8 kind;		/* internal: enum insn_kind */
	u8 sub;			/* internal: kind-specific sub-operation */
	u32 flags;		/* internal: decode table flags */
	bool has_modrm, has_sib, lock, opsize_prefix, addrsize_prefix;
	bool rip_relative;
	bool mem;		/* has a ModRM memory operand */
	s64 disp;
	u64 imm, imm2;		/* imm2: ENTER's second, far pointer selector */
};

enum x86_opmap {
	X86_MAP_ONE,		/* one-byte opcodes */
	X86_MAP_0F,
	X86_MAP_0F38,
	X86_MAP_0F3A,
	X86_MAP_3DNOW,		/* 0f 0f: opcode is the imm8 suffix */
	X86_MAP_VEX,		/* VEX/EVEX/XOP: decoded for length only */
};

struct x86_emul_ctxt;

/*
 * Every guest access goes through these.  Return X86EMUL_OK, or
 * X86EMUL_IO_NEEDED (read: data must come from userspace first),
 * X86EMUL_IO_QUEUED (write: handed to userspace, see above) or
 * X86EMUL_UNHANDLED (e.g. a page table in MMIO).
 */
struct x86_emul_ops {
	int (*read_phys)(struct x86_emul_ctxt *c, u64 gpa, void *val,
			 unsigned int len);
	int (*write_phys)(struct x86_emul_ctxt *c, u64 gpa, const void *val,
			  unsigned int len);
	/*
	 * Atomic compare-and-exchange of @len (1, 2, 4, 8) bytes in guest
	 * RAM.  Returns X86EMUL_OK if exchanged, X86EMUL_IO_QUEUED if
	 * @gpa is MMIO and the caller must fall back to read + write,
	 * X86EMUL_FAULT if memory did not hold @old.
	 */
	int (*cmpxchg_phys)(struct x86_emul_ctxt *c, u64 gpa, const void *old,
			    const void *new, unsigned int len);
	/*
	 * Optional: read a paging-structure entry, from guest RAM only.
	 * X86EMUL_OK, X86EMUL_FAULT if @gpa is not RAM (the walk ends in a
	 * not-present #PF, as the hardware's would after a nested page
	 * fault on the table), X86EMUL_UNHANDLED on other errors.  Without
	 * it the walker reads through read_phys, and a table outside RAM
	 * is X86EMUL_UNHANDLED.
	 */
	int (*read_pte)(struct x86_emul_ctxt *c, u64 gpa, void *val,
			unsigned int len);
	int (*pio_in)(struct x86_emul_ctxt *c, u16 port, void *val,
		      unsigned int size);
	int (*pio_out)(struct x86_emul_ctxt *c, u16 port, const void *val,
		       unsigned int size);

	u64 (*get_cr)(struct x86_emul_ctxt *c, int cr);
	/* Returns 0, or < 0 to make the instruction raise #GP(0). */
	int (*set_cr)(struct x86_emul_ctxt *c, int cr, u64 val);
	u64 (*get_dr)(struct x86_emul_ctxt *c, int dr);
	int (*set_dr)(struct x86_emul_ctxt *c, int dr, u64 val);
	/* Returns 0, or < 0 for #GP(0).  EFER is read through here too. */
	int (*get_msr)(struct x86_emul_ctxt *c, u32 msr, u64 *val);
	int (*set_msr)(struct x86_emul_ctxt *c, u32 msr, u64 val);

	void (*get_seg)(struct x86_emul_ctxt *c, int seg,
			struct x86_segment *s);
	void (*set_seg)(struct x86_emul_ctxt *c, int seg,
			const struct x86_segment *s);
	/* @idt: 0 = GDTR, 1 = IDTR */
	void (*get_dt)(struct x86_emul_ctxt *c, int idt, struct x86_dtable *dt);
	void (*set_dt)(struct x86_emul_ctxt *c, int idt,
		       const struct x86_dtable *dt);

	void (*invlpg)(struct x86_emul_ctxt *c, u64 la);
	void (*wbinvd)(struct x86_emul_ctxt *c);
};

#define X86_MSR_EFER		0xc0000080

struct x86_emul_ctxt {
	const struct x86_emul_ops *ops;
	void *opaque;			/* the user's vCPU */

	/* Input set by x86_emul_init(); the CPU state in and out. */
	u8 mode;			/* enum x86_cpu_mode */
	u8 cpl;
	u8 maxphyaddr;			/* 0 = 52 */
	bool gbpages;
	/* Max string iterations per call; 0 = default (1024). */
	u32 rep_budget;
	/*
	 * The guest-physical address of the nested page fault being
	 * emulated, if fault_gpa_valid.  A data access whose linear address
	 * has the same page offset goes there without a walk of the guest's
	 * tables, as upstream KVM does: that is where the hardware's
	 * translation led (or, for a fault on a page-table read, the table
	 * entry, which then serves the access).  Not for instruction
	 * fetches, implicit accesses and two-memory-operand string insns.
	 */
	u64 fault_gpa;
	bool fault_gpa_valid;
	u64 regs[X86_NR_GPRS];
	u64 rip;
	u64 rflags;

	/* Output. */
	struct x86_insn insn;
	struct x86_exception exc;

	/* Internal state of one x86_emulate() call. */
	u64 cr0, cr4, cr3, efer;
	u64 saved_regs[X86_NR_GPRS];	/* restored unless we commit */
	u64 saved_rip, saved_rflags;
	u8 fetched;
	bool io_queued;			/* an access went to userspace */
	bool partial;			/* string insn: keep finished iterations */
	bool hold_rip;			/* string insn not finished */
	bool walk_no_ram;		/* a walk met a table outside RAM */
};

void x86_emul_init(struct x86_emul_ctxt *c, const struct x86_emul_ops *ops,
		   void *opaque, enum x86_cpu_mode mode, u8 cpl);

/*
 * Decode the instruction at CS:RIP into c->insn, fetching through the
 * guest page tables; CR0, CR3, CR4 and EFER are read through the ops
 * first, so a caller only sets up mode, CPL, RIP and registers.  Returns X86EMUL_OK, X86EMUL_FAULT (#PF/#GP on the
 * fetch, #GP for more than 15 bytes, #UD for an undefined opcode) or
 * X86EMUL_IO_NEEDED/UNHANDLED if the code is not in guest RAM.
 */
int x86_decode(struct x86_emul_ctxt *c);

/* Decode and execute one instruction at CS:RIP.  See the top of this file. */
int x86_emulate(struct x86_emul_ctxt *c);

/*
 * Pure decoder over a byte buffer (disassemblers, tests): no memory
 * access.  Returns X86EMUL_OK, X86EMUL_FAULT with @exc set (#UD, or #GP
 * for more than 15 bytes), or X86EMUL_IO_NEEDED if @len bytes are not
 * enough to finish the instruction.
 */
int x86_decode_bytes(struct x86_insn *insn, enum x86_cpu_mode mode,
		     const u8 *bytes, unsigned int len,
		     struct x86_exception *exc);

/* True if x86_emulate() implements the decoded instruction. */
bool x86_insn_emulated(const struct x86_insn *insn);

/*
 * Intel-syntax text of a decoded instruction (for the emulated subset;
 * others print as ".byte ...").  Returns the string length; @buf is
 * always NUL terminated.  @rip is used for relative targets.
 */
unsigned int x86_insn_format(const struct x86_insn *insn, char *buf,
			     unsigned int size);

#endif /* ARCH_X86_KVM_EMULATE_H */

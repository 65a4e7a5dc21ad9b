// SPDX-License-Identifier: GPL-2.0
/*
 * String and port I/O instructions: MOVS CMPS STOS LODS SCAS INS OUTS with
 * REP/REPE/REPNE, and IN/OUT (APM vol 3, 1.2.6 and the instruction pages).
 *
 * A REP string instruction runs at most rep_budget iterations per call and
 * stops after any iteration that went to userspace (MMIO or port I/O).  If
 * the count is not exhausted RIP stays on the instruction: the guest simply
 * executes it again, which resumes it exactly where it stopped, the same
 * way an interrupt between iterations does on hardware.
 */
#include "emulate_internal.h"

#define DEFAULT_REP_BUDGET	1024

static unsigned int io_size(const struct x86_insn *insn)
{
	return insn->op_size > 4 ? 4 : insn->op_size;
}

static int src_seg(const struct x86_insn *insn)
{
	return insn->seg == X86_SEG_NONE ? X86_SEG_DS : insn->seg;
}

static int port_in(struct x86_emul_ctxt *c, u16 port, u64 *val,
		   unsigned int size)
{
	int r;

	*val = 0;
	if (!x86_io_allowed(c, port, size, &r))
		return r;
	return c->ops->pio_in(c, port, val, size);
}

static int port_out(struct x86_emul_ctxt *c, u16 port, u64 val,
		    unsigned int size)
{
	int r;

	if (!x86_io_allowed(c, port, size, &r))
		return r;
	r = c->ops->pio_out(c, port, &val, size);
	if (r == X86EMUL_IO_QUEUED) {
		c->io_queued = true;
		r = X86EMUL_OK;
	}
	return r;
}

/* One element; on success updates rSI/rDI and, for compares, RFLAGS. */
static int string_step(struct x86_emul_ctxt *c, unsigned int size)
{
	const struct x86_insn *insn = &c->insn;
	u64 mask = x86_ad_mask(insn), si = c->regs[X86_RSI] & mask;
	u64 di = c->regs[X86_RDI] & mask, a = 0, b = 0, flags = c->rflags;
	s64 delta = (c->rflags & X86_FL_DF) ? -(s64)size : (s64)size;
	bool use_si = false, use_di = false;
	struct x86_memref m;
	int r = X86EMUL_OK;

	switch (insn->kind) {
	case K_MOVS:
		r = x86_read_mem(c, src_seg(insn), si, &a, size);
		if (!r)
			r = x86_write_mem(c, X86_SEG_ES, di, &a, size);
		use_si = use_di = true;
		break;
	case K_CMPS:
		r = x86_read_mem(c, src_seg(insn), si, &a, size);
		if (!r)
			r = x86_read_mem(c, X86_SEG_ES, di, &b, size);
		if (!r)
			x86_alu(X86_ALU_CMP, size, a, b, &flags);
		use_si = use_di = true;
		break;
	case K_STOS:
		a = c->regs[X86_RAX];
		r = x86_write_mem(c, X86_SEG_ES, di, &a, size);
		use_di = true;
		break;
	case K_LODS:
		r = x86_read_mem(c, src_seg(insn), si, &a, size);
		if (!r)
			x86_reg_set(c, X86_RAX, size, a);
		use_si = true;
		break;
	case K_SCAS:
		r = x86_read_mem(c, X86_SEG_ES, di, &b, size);
		if (!r)
			x86_alu(X86_ALU_CMP, size, c->regs[X86_RAX], b, &flags);
		use_di = true;
		break;
	case K_INS:
		/* Check the destination before consuming port data. */
		r = x86_memref_prepare(c, X86_SEG_ES, di, size, X86_ACC_WRITE,
				       &m);
		if (!r)
			r = port_in(c, (u16)c->regs[X86_RDX], &a, size);
		if (!r)
			r = x86_memref_write(c, &m, &a);
		use_di = true;
		break;
	case K_OUTS:
		r = x86_read_mem(c, src_seg(insn), si, &a, size);
		if (!r)
			r = port_out(c, (u16)c->regs[X86_RDX], a, size);
		use_si = true;
		break;
	}
	if (r)
		return r;
	if (use_si)
		x86_reg_advance(c, X86_RSI, delta);
	if (use_di)
		x86_reg_advance(c, X86_RDI, delta);
	c->rflags = flags;
	return X86EMUL_OK;
}

int x86_exec_string(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	bool cmp = insn->kind == K_CMPS || insn->kind == K_SCAS;
	unsigned int size = insn->op_size, done = 0;
	unsigned int budget = c->rep_budget ? c->rep_budget :
			      DEFAULT_REP_BUDGET;
	u64 mask = x86_ad_mask(insn);
	int r;

	if (insn->lock)
		return x86_ud(c);
	if (insn->kind == K_INS || insn->kind == K_OUTS)
		size = io_size(insn);
	if (!insn->rep)
		return string_step(c, size);

	for (;;) {
		if (!(c->regs[X86_RCX] & mask))
			return X86EMUL_OK;
		r = string_step(c, size);
		if (r) {
			if (!done)
				return r;
			/* Keep the finished iterations. */
			c->partial = true;
			c->hold_rip = true;
			return r == X86EMUL_FAULT ? r : X86EMUL_OK;
		}
		x86_reg_advance(c, X86_RCX, -1);
		done++;
		if (!(c->regs[X86_RCX] & mask))
			return X86EMUL_OK;
		/* REPE stops on ZF=0, REPNE on ZF=1. */
		if (cmp && !!(c->rflags & X86_FL_ZF) != (insn->rep == 0xf3))
			return X86EMUL_OK;
		if (c->io_queued || done >= budget) {
			c->partial = true;
			c->hold_rip = true;
			return X86EMUL_OK;
		}
	}
}

int x86_exec_inout(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	unsigned int size = io_size(insn);
	u16 port = insn->sub ? (u16)c->regs[X86_RDX] : (u16)insn->imm;
	u64 val;
	int r;

	if (insn->lock)
		return x86_ud(c);
	if (insn->kind == K_OUT)
		return port_out(c, port, c->regs[X86_RAX], size);
	r = port_in(c, port, &val, size);
	if (!r)
		x86_reg_set(c, X86_RAX, size, val);
	return r;
}

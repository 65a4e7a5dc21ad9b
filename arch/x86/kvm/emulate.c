// SPDX-License-Identifier: GPL-2.0
/*
 * x86 instruction emulator: guest memory access (segmentation, paging,
 * page-crossing), instruction fetch, operands and the data-movement and
 * arithmetic instructions.  String/I-O instructions live in
 * emulate_string.c, system instructions in emulate_sys.c, flag arithmetic
 * in emulate_alu.c.  See emulate.h for the calling convention.
 */
#include "emulate_internal.h"
#include "mmu/walk.h"

#define PAGE_SIZE_4K	4096ULL
#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_AM	(1ULL << 18)

void x86_emul_init(struct x86_emul_ctxt *c, const struct x86_emul_ops *ops,
		   void *opaque, enum x86_cpu_mode mode, u8 cpl)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->opaque = opaque;
	c->mode = mode;
	c->cpl = cpl;
}

int x86_raise(struct x86_emul_ctxt *c, u8 vector, bool has_ec, u32 ec)
{
	c->exc.vector = vector;
	c->exc.has_error_code = has_ec;
	c->exc.error_code = ec;
	c->exc.cr2 = 0;
	return X86EMUL_FAULT;
}

/* ---- registers ---- */

u64 x86_ad_mask(const struct x86_insn *insn)
{
	return x86_size_mask(insn->addr_size);
}

/*
 * Byte registers 4-7 are AH, CH, DH, BH unless a REX prefix is present
 * (APM vol 3, 1.4.2).  Callers pass the register number as encoded.
 */
static bool high_byte(const struct x86_emul_ctxt *c, unsigned int reg,
		      unsigned int size)
{
	return size == 1 && !c->insn.rex && reg >= 4 && reg < 8;
}

u64 x86_reg_get(struct x86_emul_ctxt *c, unsigned int reg, unsigned int size)
{
	if (high_byte(c, reg, size))
		return (c->regs[reg - 4] >> 8) & 0xff;
	return c->regs[reg & 15] & x86_size_mask(size);
}

/* 32-bit writes zero-extend; 8- and 16-bit writes merge (APM 3, 3.1.2.3). */
void x86_reg_set(struct x86_emul_ctxt *c, unsigned int reg, unsigned int size,
		 u64 val)
{
	u64 *r;

	if (high_byte(c, reg, size)) {
		r = &c->regs[reg - 4];
		*r = (*r & ~0xff00ULL) | ((val & 0xff) << 8);
		return;
	}
	r = &c->regs[reg & 15];
	if (size >= 4)
		*r = val & x86_size_mask(size);
	else
		*r = (*r & ~x86_size_mask(size)) | (val & x86_size_mask(size));
}

void x86_reg_advance(struct x86_emul_ctxt *c, unsigned int reg, s64 delta)
{
	unsigned int as = c->insn.addr_size;

	x86_reg_set(c, reg, as, c->regs[reg] + (u64)delta);
}

/* ---- segmentation (APM vol 2, 4.12) ---- */

static bool canonical(struct x86_emul_ctxt *c, u64 la)
{
	struct x86_walk_regs wr = { .cr4 = c->cr4 };

	return x86_walk_canonical(&wr, la);
}

static int seg_fault(struct x86_emul_ctxt *c, int seg)
{
	return x86_raise(c, seg == X86_SEG_SS ? X86_EXC_SS : X86_EXC_GP,
			 true, 0);
}

int x86_seg_linear(struct x86_emul_ctxt *c, int seg, u64 ea,
		   unsigned int size, bool write, u64 *la)
{
	struct x86_segment s;
	u64 last = ea + size - 1, max;

	if (c->mode == X86_MODE_LONG64) {
		u64 base = 0;

		if (seg == X86_SEG_FS || seg == X86_SEG_GS) {
			c->ops->get_seg(c, seg, &s);
			base = s.base;
		}
		*la = base + ea;
		if (!canonical(c, *la) || !canonical(c, *la + size - 1))
			return seg_fault(c, seg);
		return X86EMUL_OK;
	}

	c->ops->get_seg(c, seg, &s);
	if (c->mode != X86_MODE_REAL && c->mode != X86_MODE_VM86) {
		if (s.unusable || !s.present)
			return seg_fault(c, seg);
		if (s.type & 8) {		/* code segment */
			if (write || !(s.type & 2))
				return seg_fault(c, seg);
		} else if (write && !(s.type & 2)) {
			return seg_fault(c, seg);
		}
	}
	if (!(s.type & 8) && (s.type & 4) && c->mode != X86_MODE_REAL &&
	    c->mode != X86_MODE_VM86) {
		/* Expand-down: valid offsets are limit+1 .. 64K-1 or 4G-1. */
		max = s.db ? 0xffffffffULL : 0xffffULL;
		if (ea <= s.limit || last > max)
			return seg_fault(c, seg);
	} else if (last > s.limit) {
		return seg_fault(c, seg);
	}
	*la = (s.base + ea) & 0xffffffffULL;
	return X86EMUL_OK;
}

/* ---- paging ---- */

static int walk_read_pte(void *opaque, u64 gpa, u64 *pte, unsigned int size)
{
	struct x86_emul_ctxt *c = opaque;
	int r;

	*pte = 0;
	if (!c->ops->read_pte)
		return c->ops->read_phys(c, gpa, pte, size) == X86EMUL_OK ? 0 : -1;
	r = c->ops->read_pte(c, gpa, pte, size);
	if (r == X86EMUL_FAULT)
		c->walk_no_ram = true;
	return r == X86EMUL_OK ? 0 : -1;
}

static int walk_cmpxchg_pte(void *opaque, u64 gpa, u64 old, u64 new,
			    unsigned int size)
{
	struct x86_emul_ctxt *c = opaque;
	int r = c->ops->cmpxchg_phys(c, gpa, &old, &new, size);

	if (r == X86EMUL_OK)
		return 0;
	return r == X86EMUL_FAULT ? 1 : -1;
}

static const struct x86_walk_ops walk_ops = {
	.read_pte = walk_read_pte,
	.cmpxchg_pte = walk_cmpxchg_pte,
};

/* May @la use c->fault_gpa instead of a walk?  See emulate.h. */
static bool use_fault_gpa(const struct x86_emul_ctxt *c, u64 la, u32 access)
{
	if (!c->fault_gpa_valid ||
	    (access & (X86_WALK_FETCH | X86_WALK_IMPLICIT)))
		return false;
	if (c->insn.kind == K_MOVS || c->insn.kind == K_CMPS)
		return false;
	return ((la ^ c->fault_gpa) & (PAGE_SIZE_4K - 1)) == 0;
}

/*
 * The error code of a not-present #PF for @access (APM vol 2, 8.4.2):
 * I/D only where NX or SMEP is in force.
 */
static u32 not_present_pfec(const struct x86_emul_ctxt *c, u32 access)
{
	u32 pfec = 0;

	if (access & X86_WALK_WRITE)
		pfec |= X86_PF_WRITE;
	if (access & X86_WALK_USER)
		pfec |= X86_PF_USER;
	if ((access & X86_WALK_FETCH) &&
	    (((c->efer & X86_EFER_NXE) && (c->cr4 & X86_CR4_PAE)) ||
	     (c->cr4 & X86_CR4_SMEP)))
		pfec |= X86_PF_FETCH;
	return pfec;
}

static int translate(struct x86_emul_ctxt *c, u64 la, u32 access, u64 *gpa)
{
	struct x86_walk_regs wr = {
		.cr0 = c->cr0, .cr3 = c->cr3, .cr4 = c->cr4, .efer = c->efer,
		.rflags = c->rflags, .maxphyaddr = c->maxphyaddr,
		.gbpages = c->gbpages,
	};
	struct x86_walk_result res;
	u32 pfec;

	if (c->cpl == 3 && !(access & X86_WALK_IMPLICIT))
		access |= X86_WALK_USER;
	if (use_fault_gpa(c, la, access)) {
		*gpa = c->fault_gpa;
		return X86EMUL_OK;
	}
	c->walk_no_ram = false;
	switch (x86_walk(&walk_ops, c, &wr, la, access, &res)) {
	case X86_WALK_OK:
		*gpa = res.gpa;
		return X86EMUL_OK;
	case X86_WALK_FAULT:
		pfec = res.pfec;
		break;
	default:
		/* A table outside RAM reads as not present (upstream KVM too). */
		if (!c->walk_no_ram)
			return X86EMUL_UNHANDLED;
		pfec = not_present_pfec(c, access);
		break;
	}
	x86_raise(c, X86_EXC_PF, true, pfec);
	c->exc.cr2 = la;
	return X86EMUL_FAULT;
}

static u64 la_wrap(const struct x86_emul_ctxt *c, u64 la)
{
	return c->mode == X86_MODE_LONG64 ? la : la & 0xffffffffULL;
}

/* Translate both pages of an access before touching either (APM 2, 8.2.15). */
int x86_memref_prepare_la(struct x86_emul_ctxt *c, u64 la, unsigned int size,
			  unsigned int acc, struct x86_memref *m)
{
	u32 access = 0;
	unsigned int first = PAGE_SIZE_4K - (la & (PAGE_SIZE_4K - 1));
	int r;

	if (acc & X86_ACC_WRITE)
		access |= X86_WALK_WRITE;
	if (acc & X86_ACC_SYS)
		access |= X86_WALK_IMPLICIT;
	m->la = la;
	m->size = size;
	m->len[0] = size < first ? size : first;
	m->len[1] = size - m->len[0];
	r = translate(c, la, access, &m->gpa[0]);
	if (!r && m->len[1])
		r = translate(c, la_wrap(c, la + m->len[0]), access,
			      &m->gpa[1]);
	return r;
}

int x86_memref_prepare(struct x86_emul_ctxt *c, int seg, u64 ea,
		       unsigned int size, unsigned int acc,
		       struct x86_memref *m)
{
	u64 la;
	int r;

	r = x86_seg_linear(c, seg, ea, size, acc & X86_ACC_WRITE, &la);
	if (r)
		return r;
	/* Alignment check (APM vol 2, 8.2.18). */
	if (c->cpl == 3 && (c->cr0 & X86_CR0_AM) && (c->rflags & X86_FL_AC) &&
	    size > 1 && (la & (size - 1)))
		return x86_raise(c, X86_EXC_AC, true, 0);
	return x86_memref_prepare_la(c, la, size, acc, m);
}

static int phys_done(struct x86_emul_ctxt *c, int r)
{
	if (r == X86EMUL_IO_QUEUED) {
		c->io_queued = true;
		return X86EMUL_OK;
	}
	return r;
}

int x86_memref_read(struct x86_emul_ctxt *c, const struct x86_memref *m,
		    void *val)
{
	u8 *p = val;
	int r;

	r = c->ops->read_phys(c, m->gpa[0], p, m->len[0]);
	if (!r && m->len[1])
		r = c->ops->read_phys(c, m->gpa[1], p + m->len[0], m->len[1]);
	return r;
}

int x86_memref_write(struct x86_emul_ctxt *c, const struct x86_memref *m,
		     const void *val)
{
	const u8 *p = val;
	int r;

	r = phys_done(c, c->ops->write_phys(c, m->gpa[0], p, m->len[0]));
	if (!r && m->len[1])
		r = phys_done(c, c->ops->write_phys(c, m->gpa[1],
						     p + m->len[0],
						     m->len[1]));
	return r;
}

int x86_read_mem(struct x86_emul_ctxt *c, int seg, u64 ea, void *val,
		 unsigned int size)
{
	struct x86_memref m;
	int r = x86_memref_prepare(c, seg, ea, size, 0, &m);

	return r ? r : x86_memref_read(c, &m, val);
}

int x86_write_mem(struct x86_emul_ctxt *c, int seg, u64 ea, const void *val,
		  unsigned int size)
{
	struct x86_memref m;
	int r = x86_memref_prepare(c, seg, ea, size, X86_ACC_WRITE, &m);

	return r ? r : x86_memref_write(c, &m, val);
}

/* ---- instruction fetch ---- */

int x86_fetch_insn_byte(struct x86_emul_ctxt *c, unsigned int idx)
{
	struct x86_segment cs;
	u64 la, gpa, n, limit_left = X86_MAX_INSN_LEN;
	int r;

	if (idx < c->fetched)
		return X86EMUL_OK;
	if (c->mode == X86_MODE_LONG64) {
		la = c->rip + idx;
		if (!canonical(c, la))
			return x86_gp(c, 0);
	} else {
		u64 eip = (c->rip + idx) & 0xffffffffULL;

		c->ops->get_seg(c, X86_SEG_CS, &cs);
		if (eip > cs.limit)
			return x86_gp(c, 0);
		limit_left = cs.limit - eip + 1;
		la = (cs.base + eip) & 0xffffffffULL;
	}
	r = translate(c, la, X86_WALK_FETCH, &gpa);
	if (r)
		return r;
	n = PAGE_SIZE_4K - (la & (PAGE_SIZE_4K - 1));
	if (n > X86_MAX_INSN_LEN - idx)
		n = X86_MAX_INSN_LEN - idx;
	if (n > limit_left)
		n = limit_left;
	r = c->ops->read_phys(c, gpa, &c->insn.bytes[idx], n);
	if (r)
		return X86EMUL_UNHANDLED;	/* executing from MMIO */
	c->fetched = idx + n;
	return X86EMUL_OK;
}

/* ---- operands ---- */

enum { OPT_NONE, OPT_REG, OPT_MEM, OPT_IMM };

struct operand {
	u8 type;
	u8 size;
	u8 reg;
	u8 seg;
	u64 ea;
	u64 val;
	struct x86_memref m;
};

int x86_modrm_seg(const struct x86_insn *insn)
{
	if (insn->seg != X86_SEG_NONE)
		return insn->seg;
	if (insn->base == X86_RSP || insn->base == X86_RBP)
		return X86_SEG_SS;
	return X86_SEG_DS;
}

u64 x86_modrm_ea(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	u64 ea = (u64)insn->disp;

	if (insn->rip_relative)
		return c->rip + insn->len + ea;
	if (insn->base != 0xff)
		ea += c->regs[insn->base];
	if (insn->index != 0xff)
		ea += c->regs[insn->index] * insn->scale;
	return ea & x86_ad_mask(insn);
}

/* The ModRM r/m operand, of @size bytes. */
static void op_rm(struct x86_emul_ctxt *c, struct operand *op,
		  unsigned int size)
{
	const struct x86_insn *insn = &c->insn;

	op->size = size;
	if (!insn->mem) {
		op->type = OPT_REG;
		op->reg = insn->rm;	/* x86_reg_get() maps AH..BH */
		return;
	}
	op->type = OPT_MEM;
	op->seg = x86_modrm_seg(insn);
	op->ea = x86_modrm_ea(c);
}

static void op_reg(struct x86_emul_ctxt *c, struct operand *op,
		   unsigned int reg, unsigned int size)
{
	op->type = OPT_REG;
	op->size = size;
	op->reg = reg;
	(void)c;
}

static void op_imm(struct operand *op, u64 val, unsigned int size)
{
	op->type = OPT_IMM;
	op->size = size;
	op->val = val & x86_size_mask(size);
}

/* Load op->val.  Memory destinations of RMW insns translate for writing. */
static int op_read(struct x86_emul_ctxt *c, struct operand *op, bool rmw)
{
	int r;

	switch (op->type) {
	case OPT_REG:
		op->val = x86_reg_get(c, op->reg, op->size);
		return X86EMUL_OK;
	case OPT_MEM:
		r = x86_memref_prepare(c, op->seg, op->ea, op->size,
				       rmw ? X86_ACC_WRITE : 0, &op->m);
		if (r)
			return r;
		op->val = 0;
		return x86_memref_read(c, &op->m, &op->val);
	}
	return X86EMUL_OK;
}

/* Store @val; a memory operand must have been prepared by op_read(). */
static int op_write_prepared(struct x86_emul_ctxt *c, struct operand *op,
			     u64 val)
{
	if (op->type == OPT_REG) {
		x86_reg_set(c, op->reg, op->size, val);
		return X86EMUL_OK;
	}
	return x86_memref_write(c, &op->m, &val);
}

static int op_write(struct x86_emul_ctxt *c, struct operand *op, u64 val)
{
	int r;

	if (op->type == OPT_MEM) {
		r = x86_memref_prepare(c, op->seg, op->ea, op->size,
				       X86_ACC_WRITE, &op->m);
		if (r)
			return r;
	}
	return op_write_prepared(c, op, val);
}

/*
 * Write back a read-modify-write destination.  With LOCK (or XCHG) on RAM
 * the update is a compare-and-exchange against the value read; if another
 * vCPU changed it we report X86EMUL_FAULT-free retry via *@retry.
 */
static int op_commit(struct x86_emul_ctxt *c, struct operand *op, u64 old,
		     u64 val, bool atomic, bool *retry)
{
	int r;

	*retry = false;
	if (op->type != OPT_MEM || !atomic || op->m.len[1])
		return op_write_prepared(c, op, val);
	r = c->ops->cmpxchg_phys(c, op->m.gpa[0], &old, &val, op->size);
	if (r == X86EMUL_FAULT) {
		*retry = true;
		return X86EMUL_OK;
	}
	if (r == X86EMUL_IO_QUEUED)	/* MMIO: no atomicity to keep */
		return op_write_prepared(c, op, val);
	return r;
}

/* ---- instruction handlers ---- */

struct two_ops {
	struct operand dst, src;
};

static unsigned int imm_op_size(const struct x86_insn *insn)
{
	return insn->op_size;
}

/* Build dst/src from the decode table's operand layout. */
static void layout_ops(struct x86_emul_ctxt *c, struct two_ops *o)
{
	const struct x86_insn *insn = &c->insn;
	unsigned int size = insn->op_size;

	__builtin_memset(o, 0, sizeof(*o));
	switch (insn_ops(insn)) {
	case OPS_E_G:
		op_rm(c, &o->dst, size);
		op_reg(c, &o->src, insn->reg, size);
		break;
	case OPS_G_E:
		op_reg(c, &o->dst, insn->reg, size);
		op_rm(c, &o->src, size);
		break;
	case OPS_ACC_I:
		op_reg(c, &o->dst, X86_RAX, size);
		op_imm(&o->src, insn->imm, imm_op_size(insn));
		break;
	case OPS_E_I:
		op_rm(c, &o->dst, size);
		op_imm(&o->src, insn->imm, imm_op_size(insn));
		break;
	case OPS_E:
		op_rm(c, &o->dst, size);
		break;
	case OPS_O:
	case OPS_O_I:
	case OPS_O_ACC:
		op_reg(c, &o->dst, (insn->opcode & 7) | ((insn->rex & 1) << 3),
		       size);
		if (insn_ops(insn) == OPS_O_I)
			op_imm(&o->src, insn->imm, size);
		else if (insn_ops(insn) == OPS_O_ACC)
			op_reg(c, &o->src, X86_RAX, size);
		break;
	case OPS_ACC_M:
	case OPS_M_ACC: {
		struct operand *m = insn_ops(insn) == OPS_ACC_M ?
				    &o->src : &o->dst;
		struct operand *a = m == &o->src ? &o->dst : &o->src;

		op_reg(c, a, X86_RAX, size);
		m->type = OPT_MEM;
		m->size = size;
		m->seg = insn->seg == X86_SEG_NONE ? X86_SEG_DS : insn->seg;
		m->ea = insn->imm & x86_ad_mask(insn);
		break;
	}
	case OPS_I:
		op_imm(&o->src, insn->imm, size);
		break;
	}
}

static bool lock_ok(const struct x86_emul_ctxt *c, const struct operand *dst)
{
	return !c->insn.lock ||
	       ((c->insn.flags & D_LOCK) && dst->type == OPT_MEM);
}

/* ALU, TEST, NOT, NEG, INC, DEC, XADD: read-modify-write with flags. */
static int exec_rmw(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	unsigned int tries;
	struct two_ops o;
	bool retry;
	int r;

	layout_ops(c, &o);
	if (!lock_ok(c, &o.dst) ||
	    (insn->lock && insn->kind == K_ALU && insn->sub == X86_ALU_CMP))
		return x86_ud(c);

	for (tries = 0; tries < 64; tries++) {
		bool write = true;
		u64 flags = c->rflags, res = 0, old;

		if (insn_ops(insn) != OPS_E && insn_ops(insn) != OPS_O) {
			r = op_read(c, &o.src, false);
			if (r)
				return r;
		}
		r = op_read(c, &o.dst, insn->kind != K_TEST &&
			    !(insn->kind == K_ALU && insn->sub == X86_ALU_CMP));
		if (r)
			return r;
		old = o.dst.val;
		switch (insn->kind) {
		case K_ALU:
			res = x86_alu(insn->sub, o.dst.size, o.dst.val,
				      o.src.val, &flags);
			write = insn->sub != X86_ALU_CMP;
			break;
		case K_TEST:
			x86_alu(X86_ALU_AND, o.dst.size, o.dst.val, o.src.val,
				&flags);
			write = false;
			break;
		case K_NOT:
			res = ~o.dst.val;
			break;
		case K_NEG:
			res = x86_neg(o.dst.size, o.dst.val, &flags);
			break;
		case K_INC:
		case K_DEC:
			res = x86_incdec(insn->kind == K_DEC, o.dst.size,
					 o.dst.val, &flags);
			break;
		case K_XADD:
			res = x86_alu(X86_ALU_ADD, o.dst.size, o.dst.val,
				      o.src.val, &flags);
			break;
		}
		/*
		 * XADD: the source register gets the old destination first,
		 * so that "xadd reg, reg" ends with the sum.  A failed
		 * commit below is undone by x86_emulate().
		 */
		if (insn->kind == K_XADD)
			x86_reg_set(c, o.src.reg, o.src.size, old);
		if (write) {
			r = op_commit(c, &o.dst, old, res, insn->lock, &retry);
			if (r)
				return r;
			if (retry) {
				if (insn->kind == K_XADD)
					x86_reg_set(c, o.src.reg, o.src.size,
						    o.src.val);
				continue;
			}
		}
		c->rflags = flags;
		return X86EMUL_OK;
	}
	return X86EMUL_UNHANDLED;	/* livelock against another vCPU */
}

static int exec_xchg(struct x86_emul_ctxt *c)
{
	unsigned int tries;
	struct two_ops o;
	bool retry;
	int r;

	/* 90 without REX.B is NOP (and F3 90 PAUSE), not xchg eax,eax. */
	if (c->insn.map == X86_MAP_ONE && c->insn.opcode == 0x90 &&
	    !(c->insn.rex & 1))
		return X86EMUL_OK;
	layout_ops(c, &o);
	if (c->insn.lock && o.dst.type != OPT_MEM)
		return x86_ud(c);
	for (tries = 0; tries < 64; tries++) {
		r = op_read(c, &o.src, false);
		if (!r)
			r = op_read(c, &o.dst, true);
		if (r)
			return r;
		/* XCHG with memory is always locked (APM vol 3, XCHG). */
		r = op_commit(c, &o.dst, o.dst.val, o.src.val, true, &retry);
		if (r)
			return r;
		if (retry)
			continue;
		x86_reg_set(c, o.src.reg, o.src.size, o.dst.val);
		return X86EMUL_OK;
	}
	return X86EMUL_UNHANDLED;
}

static int exec_cmpxchg(struct x86_emul_ctxt *c)
{
	unsigned int tries;
	struct two_ops o;
	bool retry;
	int r;

	layout_ops(c, &o);
	if (!lock_ok(c, &o.dst))
		return x86_ud(c);
	for (tries = 0; tries < 64; tries++) {
		u64 flags = c->rflags;
		u64 acc = x86_reg_get(c, X86_RAX, o.dst.size);

		r = op_read(c, &o.src, false);
		if (!r)
			r = op_read(c, &o.dst, true);
		if (r)
			return r;
		x86_alu(X86_ALU_CMP, o.dst.size, acc, o.dst.val, &flags);
		if (flags & X86_FL_ZF) {
			r = op_commit(c, &o.dst, o.dst.val, o.src.val,
				      c->insn.lock, &retry);
			if (r)
				return r;
			if (retry)
				continue;
		} else {
			x86_reg_set(c, X86_RAX, o.dst.size, o.dst.val);
		}
		c->rflags = flags;
		return X86EMUL_OK;
	}
	return X86EMUL_UNHANDLED;
}

static int exec_mov(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	struct two_ops o;
	unsigned int ssize = insn->op_size;
	u64 val;
	int r;

	if (insn->kind == K_MOVZX || insn->kind == K_MOVSX)
		ssize = insn->sub;
	else if (insn->kind == K_MOVSXD)
		ssize = insn->op_size == 8 ? 4 : insn->op_size;
	layout_ops(c, &o);
	if (insn->kind != K_MOV) {
		op_reg(c, &o.dst, insn->reg, insn->op_size);
		op_rm(c, &o.src, ssize);
	}
	r = op_read(c, &o.src, false);
	if (r)
		return r;
	val = o.src.val;
	if (insn->kind == K_MOVSX || insn->kind == K_MOVSXD) {
		unsigned int sh = 64 - 8 * ssize;

		val = (u64)((s64)(val << sh) >> sh);
	}
	return op_write(c, &o.dst, val);
}

static int exec_lea(struct x86_emul_ctxt *c)
{
	x86_reg_set(c, c->insn.reg, c->insn.op_size, x86_modrm_ea(c));
	return X86EMUL_OK;
}

static int exec_movbe(struct x86_emul_ctxt *c)
{
	unsigned int size = c->insn.op_size, i;
	struct two_ops o;
	u64 v, sw = 0;
	int r;

	layout_ops(c, &o);
	r = op_read(c, &o.src, false);
	if (r)
		return r;
	v = o.src.val;
	for (i = 0; i < size; i++)
		sw |= ((v >> (8 * i)) & 0xff) << (8 * (size - 1 - i));
	return op_write(c, &o.dst, sw);
}

static int exec_setcc_cmov(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	bool cond = x86_cond(insn->opcode & 0xf, c->rflags);
	struct two_ops o;
	int r;

	layout_ops(c, &o);
	if (insn->kind == K_SETCC)
		return op_write(c, &o.dst, cond);
	/* CMOVcc reads its source, and writes (zero-extends) regardless. */
	r = op_read(c, &o.src, false);
	if (r)
		return r;
	x86_reg_set(c, o.dst.reg, o.dst.size,
		    cond ? o.src.val : x86_reg_get(c, o.dst.reg, o.dst.size));
	return X86EMUL_OK;
}

/* BT/BTS/BTR/BTC (APM vol 3: bit string addressing with a register). */
static int exec_bt(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	unsigned int bits = 8 * insn->op_size, tries;
	struct two_ops o;
	u64 bit, flags;
	bool retry;
	int r;

	layout_ops(c, &o);
	if (!lock_ok(c, &o.dst) || (insn->lock && insn->sub == 0))
		return x86_ud(c);
	r = op_read(c, &o.src, false);
	if (r)
		return r;
	bit = o.src.val;
	if (o.src.type == OPT_REG && o.dst.type == OPT_MEM) {
		unsigned int sh = 64 - bits;
		s64 off = (s64)(bit << sh) >> sh;

		o.dst.ea = (o.dst.ea + (u64)((off >> (insn->op_size == 8 ? 6 :
				insn->op_size == 4 ? 5 : 4)) * insn->op_size)) &
			   x86_ad_mask(insn);
	}
	bit &= bits - 1;
	for (tries = 0; tries < 64; tries++) {
		u64 res;

		r = op_read(c, &o.dst, insn->sub != 0);
		if (r)
			return r;
		/* Only CF is defined; the other arithmetic flags are kept. */
		flags = c->rflags & ~X86_FL_CF;
		if ((o.dst.val >> bit) & 1)
			flags |= X86_FL_CF;
		switch (insn->sub) {
		case 1: res = o.dst.val | (1ULL << bit); break;
		case 2: res = o.dst.val & ~(1ULL << bit); break;
		case 3: res = o.dst.val ^ (1ULL << bit); break;
		default:
			c->rflags = flags;
			return X86EMUL_OK;
		}
		r = op_commit(c, &o.dst, o.dst.val, res, insn->lock, &retry);
		if (r)
			return r;
		if (retry)
			continue;
		c->rflags = flags;
		return X86EMUL_OK;
	}
	return X86EMUL_UNHANDLED;
}

/* Stack pointer size: 64 in 64-bit mode, else SS.B (APM vol 2, 4.7.3). */
static unsigned int stack_size(struct x86_emul_ctxt *c)
{
	struct x86_segment ss;

	if (c->mode == X86_MODE_LONG64)
		return 8;
	c->ops->get_seg(c, X86_SEG_SS, &ss);
	return ss.db ? 4 : 2;
}

static u64 sp_add(struct x86_emul_ctxt *c, unsigned int ssize, s64 delta)
{
	u64 m = x86_size_mask(ssize);

	return (c->regs[X86_RSP] & ~m) | ((c->regs[X86_RSP] + delta) & m);
}

static int exec_push(struct x86_emul_ctxt *c)
{
	unsigned int ssize = stack_size(c), size = c->insn.op_size;
	struct two_ops o;
	u64 nsp;
	int r;

	layout_ops(c, &o);
	if (o.dst.type == OPT_REG || o.dst.type == OPT_MEM) {
		o.dst.size = size;
		r = op_read(c, &o.dst, false);
		if (r)
			return r;
		o.src.val = o.dst.val;
	}
	nsp = sp_add(c, ssize, -(s64)size);
	r = x86_write_mem(c, X86_SEG_SS, nsp & x86_size_mask(ssize),
			  &o.src.val, size);
	if (r)
		return r;
	c->regs[X86_RSP] = nsp;
	return X86EMUL_OK;
}

static int exec_pop(struct x86_emul_ctxt *c)
{
	unsigned int ssize = stack_size(c), size = c->insn.op_size;
	u64 val = 0, old_sp = c->regs[X86_RSP];
	struct two_ops o;
	int r;

	r = x86_read_mem(c, X86_SEG_SS, old_sp & x86_size_mask(ssize), &val,
			 size);
	if (r)
		return r;
	/* The destination address is computed with the incremented rSP. */
	c->regs[X86_RSP] = sp_add(c, ssize, size);
	layout_ops(c, &o);
	o.dst.size = size;
	r = op_write(c, &o.dst, val);
	if (r)
		c->regs[X86_RSP] = old_sp;
	return r;
}

static int exec_shift(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	unsigned int op = (insn->modrm >> 3) & 7;
	struct two_ops o;
	u64 flags = c->rflags, res;
	u8 count;
	int r;

	layout_ops(c, &o);
	if (insn->lock)
		return x86_ud(c);
	count = insn->sub == 1 ? 1 : insn->sub == 2 ?
		(u8)c->regs[X86_RCX] : (u8)insn->imm;
	r = op_read(c, &o.dst, true);
	if (r)
		return r;
	res = x86_shift(op, o.dst.size, o.dst.val, count, &flags);
	/*
	 * A zero count leaves memory and flags alone, but a 32-bit register
	 * destination is still written, i.e. zero-extended.
	 */
	if (!(count & (o.dst.size == 8 ? 0x3f : 0x1f)) &&
	    o.dst.type == OPT_MEM)
		return X86EMUL_OK;
	r = op_write_prepared(c, &o.dst, res);
	if (r)
		return r;
	c->rflags = flags;
	return X86EMUL_OK;
}

static int exec_muldiv(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	unsigned int size = insn->op_size;
	u64 flags = c->rflags, lo, hi, a, d;
	struct two_ops o;
	int r;

	layout_ops(c, &o);
	if (insn->lock)
		return x86_ud(c);
	r = op_read(c, &o.dst, false);
	if (r)
		return r;
	if (size == 1) {
		a = c->regs[X86_RAX] & 0xff;
		d = (c->regs[X86_RAX] >> 8) & 0xff;
	} else {
		a = x86_reg_get(c, X86_RAX, size);
		d = x86_reg_get(c, X86_RDX, size);
	}
	if (insn->kind == K_MUL || insn->kind == K_IMUL1) {
		x86_mul(insn->kind == K_IMUL1, size, a, o.dst.val, &lo, &hi,
			&flags);
	} else {
		if (!x86_div(insn->kind == K_IDIV, size, d, a, o.dst.val,
			     &lo, &hi))
			return x86_raise(c, X86_EXC_DE, false, 0);
	}
	if (size == 1) {
		x86_reg_set(c, X86_RAX, 2, (hi << 8) | lo);
	} else {
		x86_reg_set(c, X86_RAX, size, lo);
		x86_reg_set(c, X86_RDX, size, hi);
	}
	c->rflags = flags;
	return X86EMUL_OK;
}

/* IMUL r, r/m (, imm): truncated two/three-operand form. */
static int exec_imul(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	u64 flags = c->rflags, lo, hi, b;
	struct two_ops o;
	int r;

	layout_ops(c, &o);
	if (insn->lock)
		return x86_ud(c);
	r = op_read(c, &o.src, false);
	if (r)
		return r;
	b = insn->imm_size ? insn->imm : x86_reg_get(c, insn->reg,
						       insn->op_size);
	x86_mul(true, insn->op_size, o.src.val, b, &lo, &hi, &flags);
	x86_reg_set(c, insn->reg, insn->op_size, lo);
	c->rflags = flags;
	return X86EMUL_OK;
}

static int exec_misc(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	unsigned int size = insn->op_size;
	u64 v;

	switch (insn->kind) {
	case K_CBW:
		v = x86_reg_get(c, X86_RAX, size / 2);
		v = (u64)((s64)(v << (64 - 4 * size)) >> (64 - 4 * size));
		x86_reg_set(c, X86_RAX, size, v);
		return X86EMUL_OK;
	case K_CWD:
		v = x86_reg_get(c, X86_RAX, size);
		v = (v >> (8 * size - 1)) & 1 ? ~0ULL : 0;
		x86_reg_set(c, X86_RDX, size, v);
		return X86EMUL_OK;
	case K_NOP:
		return X86EMUL_OK;
	case K_FLAGS:
		switch (insn->opcode) {
		case 0xf5: c->rflags ^= X86_FL_CF; break;
		case 0xf8: c->rflags &= ~X86_FL_CF; break;
		case 0xf9: c->rflags |= X86_FL_CF; break;
		case 0xfc: c->rflags &= ~X86_FL_DF; break;
		case 0xfd: c->rflags |= X86_FL_DF; break;
		}
		return X86EMUL_OK;
	case K_MOV_FROM_SREG: {
		struct x86_segment s;
		struct two_ops o;
		unsigned int sreg = (insn->modrm >> 3) & 7;

		if (sreg >= 6)
			return x86_ud(c);
		c->ops->get_seg(c, sreg, &s);
		layout_ops(c, &o);
		/* Memory destinations are always 16 bits wide. */
		o.dst.size = o.dst.type == OPT_MEM ? 2 : size;
		return op_write(c, &o.dst, s.selector);
	}
	case K_MOV_TO_SREG: {
		struct two_ops o;
		unsigned int sreg = (insn->modrm >> 3) & 7;
		int r;

		if (sreg >= 6 || sreg == X86_SEG_CS)
			return x86_ud(c);
		layout_ops(c, &o);
		o.dst.size = 2;
		r = op_read(c, &o.dst, false);
		if (r)
			return r;
		return x86_exec_mov_sreg(c, sreg, (u16)o.dst.val);
	}
	case K_UD:
		return x86_ud(c);
	}
	return X86EMUL_UNHANDLED;
}

static int execute(struct x86_emul_ctxt *c)
{
	switch (c->insn.kind) {
	case K_ALU: case K_TEST: case K_NOT: case K_NEG: case K_INC:
	case K_DEC: case K_XADD:
		return exec_rmw(c);
	case K_XCHG:
		return exec_xchg(c);
	case K_CMPXCHG:
		return exec_cmpxchg(c);
	case K_MOV: case K_MOVZX: case K_MOVSX: case K_MOVSXD:
		if (c->insn.lock)
			return x86_ud(c);
		return exec_mov(c);
	case K_LEA:
		return exec_lea(c);
	case K_MOVBE:
		return exec_movbe(c);
	case K_SETCC: case K_CMOVCC:
		return exec_setcc_cmov(c);
	case K_BT:
		return exec_bt(c);
	case K_PUSH:
		return exec_push(c);
	case K_POP:
		return exec_pop(c);
	case K_SHIFT:
		return exec_shift(c);
	case K_MUL: case K_IMUL1: case K_DIV: case K_IDIV:
		return exec_muldiv(c);
	case K_IMUL:
		return exec_imul(c);
	case K_MOVS: case K_CMPS: case K_STOS: case K_LODS: case K_SCAS:
	case K_INS: case K_OUTS:
		return x86_exec_string(c);
	case K_IN: case K_OUT:
		return x86_exec_inout(c);
	case K_MOV_FROM_CR: case K_MOV_TO_CR: case K_MOV_FROM_DR:
	case K_MOV_TO_DR: case K_SGDT: case K_SIDT: case K_LGDT: case K_LIDT:
	case K_SMSW: case K_LMSW: case K_INVLPG: case K_SLDT: case K_STR:
	case K_LLDT: case K_LTR: case K_CLTS: case K_WBINVD: case K_INVD:
		return x86_exec_sys(c);
	}
	return exec_misc(c);
}

void x86_load_paging_state(struct x86_emul_ctxt *c)
{
	c->cr0 = c->ops->get_cr(c, 0);
	c->cr3 = c->ops->get_cr(c, 3);
	c->cr4 = c->ops->get_cr(c, 4);
	if (c->ops->get_msr(c, X86_MSR_EFER, &c->efer))
		c->efer = 0;
}

static void save_state(struct x86_emul_ctxt *c)
{
	unsigned int i;

	for (i = 0; i < X86_NR_GPRS; i++)
		c->saved_regs[i] = c->regs[i];
	c->saved_rip = c->rip;
	c->saved_rflags = c->rflags;
}

static void restore_state(struct x86_emul_ctxt *c)
{
	unsigned int i;

	for (i = 0; i < X86_NR_GPRS; i++)
		c->regs[i] = c->saved_regs[i];
	c->rip = c->saved_rip;
	c->rflags = c->saved_rflags;
}

static void advance_rip(struct x86_emul_ctxt *c)
{
	u64 rip = c->rip + c->insn.len;

	if (c->mode != X86_MODE_LONG64)
		rip &= c->mode == X86_MODE_PROT32 ? 0xffffffffULL : 0xffffULL;
	c->rip = rip;
}

int x86_emulate(struct x86_emul_ctxt *c)
{
	int r;

	c->io_queued = false;
	c->partial = false;
	c->hold_rip = false;
	__builtin_memset(&c->exc, 0, sizeof(c->exc));
	/* Single-step traps after emulation are the caller's business. */
	if (c->rflags & X86_FL_TF)
		return X86EMUL_UNHANDLED;
	save_state(c);
	r = x86_decode(c);	/* loads CR0/CR3/CR4/EFER */
	if (r)
		return r;
	if (!x86_insn_emulated(&c->insn) && c->insn.kind != K_UD)
		return X86EMUL_UNHANDLED;
	r = execute(c);
	if (r == X86EMUL_OK) {
		if (!c->hold_rip)
			advance_rip(c);
		return r;
	}
	if (r == X86EMUL_FAULT && c->partial) {
		c->rip = c->saved_rip;
		return r;
	}
	restore_state(c);
	return r;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * System instructions: MOV to/from CR and DR, LGDT/LIDT/SGDT/SIDT,
 * LLDT/LTR/SLDT/STR, SMSW/LMSW, CLTS, INVLPG, WBINVD/INVD, segment
 * register loads, and the I/O permission check used by IN/OUT/INS/OUTS.
 * Facts: APM vol 2 ch. 4 (segments, descriptors) and vol 3 (instructions).
 */
#include "emulate_internal.h"

#define X86_CR0_TS	(1ULL << 3)
#define X86_CR4_DE	(1ULL << 3)
#define X86_CR4_UMIP	(1ULL << 11)
#define SEL_TI		4U	/* selector table indicator: LDT */
#define SEL_RPL		3U
#define DESC_TYPE_LDT	2
#define DESC_TSS16_AVL	1
#define DESC_TSS_AVL	9
#define DESC_TSS_BUSY	2	/* type bit set by LTR */
#define DESC_ACCESSED	1
#define TSS_IOMAP_OFF	0x66	/* 32/64-bit TSS: I/O map base field */
#define TSS_MIN_LIMIT	0x67

static bool real_or_vm86(const struct x86_emul_ctxt *c)
{
	return c->mode == X86_MODE_REAL || c->mode == X86_MODE_VM86;
}

static bool is_64(const struct x86_emul_ctxt *c)
{
	return c->mode == X86_MODE_LONG64;
}

#define rm_ea(c)	x86_modrm_ea(c)
#define rm_seg(insn)	x86_modrm_seg(insn)

static int read_rm16(struct x86_emul_ctxt *c, u16 *val)
{
	u64 v = 0;
	int r;

	if (!c->insn.mem) {
		*val = (u16)c->regs[c->insn.rm];
		return X86EMUL_OK;
	}
	r = x86_read_mem(c, rm_seg(&c->insn), rm_ea(c), &v, 2);
	*val = (u16)v;
	return r;
}

/* Store a selector or MSW: 16 bits to memory, op size to a register. */
static int write_rm_sel(struct x86_emul_ctxt *c, u64 val)
{
	if (!c->insn.mem) {
		x86_reg_set(c, c->insn.rm, c->insn.op_size, val);
		return X86EMUL_OK;
	}
	return x86_write_mem(c, rm_seg(&c->insn), rm_ea(c), &val, 2);
}

static int mov_cr(struct x86_emul_ctxt *c, bool to)
{
	const struct x86_insn *insn = &c->insn;
	unsigned int cr = insn->reg, size = is_64(c) ? 8 : 4;
	u64 val;

	if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
		return x86_ud(c);
	if (c->cpl)
		return x86_gp(c, 0);
	if (!to) {
		x86_reg_set(c, insn->rm, size, c->ops->get_cr(c, cr));
		return X86EMUL_OK;
	}
	val = c->regs[insn->rm] & x86_size_mask(size);
	if (c->ops->set_cr(c, cr, val) < 0)
		return x86_gp(c, 0);
	if (cr == 0)
		c->cr0 = c->ops->get_cr(c, 0);
	else if (cr == 3)
		c->cr3 = c->ops->get_cr(c, 3);
	else if (cr == 4)
		c->cr4 = c->ops->get_cr(c, 4);
	return X86EMUL_OK;
}

static int mov_dr(struct x86_emul_ctxt *c, bool to)
{
	const struct x86_insn *insn = &c->insn;
	unsigned int dr = insn->reg, size = is_64(c) ? 8 : 4;
	u64 val;

	if (insn->lock || dr > 7)
		return x86_ud(c);
	/* DR4/DR5 alias DR6/DR7 unless CR4.DE (APM vol 2, 13.1.1). */
	if (dr == 4 || dr == 5) {
		if (c->cr4 & X86_CR4_DE)
			return x86_ud(c);
		dr += 2;
	}
	if (c->cpl)
		return x86_gp(c, 0);
	if (!to) {
		x86_reg_set(c, insn->rm, size, c->ops->get_dr(c, dr));
		return X86EMUL_OK;
	}
	val = c->regs[insn->rm] & x86_size_mask(size);
	if ((dr == 6 || dr == 7) && (val >> 32))
		return x86_gp(c, 0);
	if (c->ops->set_dr(c, dr, val) < 0)
		return x86_gp(c, 0);
	return X86EMUL_OK;
}

/* SGDT/SIDT/SLDT/STR/SMSW are user-visible unless CR4.UMIP. */
static bool umip_blocks(const struct x86_emul_ctxt *c)
{
	return (c->cr4 & X86_CR4_UMIP) && c->cpl > 0;
}

static int store_dt(struct x86_emul_ctxt *c, int idt)
{
	struct x86_dtable dt;
	u8 buf[10];
	unsigned int i, n = is_64(c) ? 10 : 6;
	u64 base;

	if (!c->insn.mem)
		return x86_ud(c);
	if (umip_blocks(c))
		return x86_gp(c, 0);
	c->ops->get_dt(c, idt, &dt);
	base = dt.base;
	/* 16-bit operand size stores a 24-bit base (APM vol 3, SGDT). */
	if (!is_64(c) && c->insn.op_size == 2)
		base &= 0xffffff;
	buf[0] = dt.limit & 0xff;
	buf[1] = dt.limit >> 8;
	for (i = 2; i < n; i++)
		buf[i] = (base >> (8 * (i - 2))) & 0xff;
	return x86_write_mem(c, rm_seg(&c->insn), rm_ea(c), buf, n);
}

static int load_dt(struct x86_emul_ctxt *c, int idt)
{
	struct x86_dtable dt;
	unsigned int n = is_64(c) ? 10 : 6, i;
	u8 buf[10];
	u64 base = 0;
	int r;

	if (!c->insn.mem)
		return x86_ud(c);
	if (c->cpl)
		return x86_gp(c, 0);
	r = x86_read_mem(c, rm_seg(&c->insn), rm_ea(c), buf, n);
	if (r)
		return r;
	for (i = 2; i < n; i++)
		base |= (u64)buf[i] << (8 * (i - 2));
	if (!is_64(c) && c->insn.op_size == 2)
		base &= 0xffffff;
	if (is_64(c) && (u64)((s64)(base << 16) >> 16) != base)
		return x86_gp(c, 0);
	dt.base = base;
	dt.limit = buf[0] | (buf[1] << 8);
	c->ops->set_dt(c, idt, &dt);
	return X86EMUL_OK;
}

static void desc_to_seg(u64 d, u64 d_hi, u16 sel, struct x86_segment *s)
{
	s->selector = sel;
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s->limit = (d & 0xffff) | (((d >> 48) & 0xf) << 16);
	s->type = (d >> 40) & 0xf;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
	s->g = (d >> 55) & 1;
	s->unusable = 0;
	if (s->g)
		s->limit = (s->limit << 12) | 0xfff;
	if (!s->s)
		s->base |= d_hi << 32;	/* 16-byte system descriptor */
}

/*
 * Read the descriptor for @sel (8 bytes, 16 for system descriptors in
 * long mode) with an implicit supervisor access; *@la is its address.
 */
static int read_desc(struct x86_emul_ctxt *c, u16 sel, bool sys16, u64 *d,
		     u64 *d_hi, u64 *la)
{
	struct x86_dtable dt;
	struct x86_memref m;
	unsigned int size = sys16 ? 16 : 8;
	u64 buf[2] = { 0, 0 };
	int r;

	if (sel & SEL_TI) {
		struct x86_segment ldt;

		c->ops->get_seg(c, X86_SEG_LDTR, &ldt);
		if (ldt.unusable || !ldt.present)
			return x86_gp(c, sel & ~SEL_RPL);
		dt.base = ldt.base;
		dt.limit = ldt.limit;
	} else {
		c->ops->get_dt(c, 0, &dt);
	}
	if ((sel | 7U) + (sys16 ? 8U : 0U) > dt.limit)
		return x86_gp(c, sel & ~SEL_RPL);
	*la = dt.base + (sel & ~7U);
	if (!is_64(c))
		*la &= 0xffffffffULL;
	r = x86_memref_prepare_la(c, *la, size, X86_ACC_SYS, &m);
	if (!r)
		r = x86_memref_read(c, &m, buf);
	*d = buf[0];
	*d_hi = buf[1] & 0xffffffffULL;
	return r;
}

/* Set a bit in a descriptor's type field (accessed, TSS busy). */
static int desc_set_bit(struct x86_emul_ctxt *c, u64 la, u64 d, u64 bit)
{
	struct x86_memref m;
	int r;

	if (d & bit)
		return X86EMUL_OK;
	r = x86_memref_prepare_la(c, la, 8, X86_ACC_SYS | X86_ACC_WRITE, &m);
	if (r)
		return r;
	d |= bit;
	return x86_memref_write(c, &m, &d);
}

/* LLDT and LTR (APM vol 3). */
static int load_sys_seg(struct x86_emul_ctxt *c, bool tr)
{
	struct x86_segment s;
	u64 d, d_hi, la;
	u16 sel;
	int r;

	if (real_or_vm86(c))
		return x86_ud(c);
	if (c->cpl)
		return x86_gp(c, 0);
	r = read_rm16(c, &sel);
	if (r)
		return r;
	if (!(sel & ~SEL_RPL)) {
		if (tr)
			return x86_gp(c, 0);
		__builtin_memset(&s, 0, sizeof(s));
		s.selector = sel;
		s.unusable = 1;
		c->ops->set_seg(c, X86_SEG_LDTR, &s);
		return X86EMUL_OK;
	}
	if (sel & SEL_TI)
		return x86_gp(c, sel & ~SEL_RPL);
	r = read_desc(c, sel, is_64(c), &d, &d_hi, &la);
	if (r)
		return r;
	desc_to_seg(d, d_hi, sel, &s);
	if (s.s)
		return x86_gp(c, sel & ~SEL_RPL);
	if (tr ? !(s.type == DESC_TSS_AVL ||
		   (s.type == DESC_TSS16_AVL && !is_64(c))) :
	    s.type != DESC_TYPE_LDT)
		return x86_gp(c, sel & ~SEL_RPL);
	if (!s.present)
		return x86_raise(c, X86_EXC_NP, true, sel & ~SEL_RPL);
	if (is_64(c) && (u64)((s64)(s.base << 16) >> 16) != s.base)
		return x86_gp(c, sel & ~SEL_RPL);
	if (tr) {
		r = desc_set_bit(c, la, d, 1ULL << (40 + 1));
		if (r)
			return r;
		s.type |= DESC_TSS_BUSY;
	}
	c->ops->set_seg(c, tr ? X86_SEG_TR : X86_SEG_LDTR, &s);
	return X86EMUL_OK;
}

/*
 * MOV to DS/ES/FS/GS (SS is left to the caller: its interrupt shadow is
 * not ours to model).  APM vol 2, 4.10 for the checks.
 */
int x86_exec_mov_sreg(struct x86_emul_ctxt *c, int seg, u16 sel)
{
	struct x86_segment s;
	unsigned int rpl = sel & SEL_RPL;
	u64 d, d_hi, la;
	int r;

	if (seg == X86_SEG_SS)
		return X86EMUL_UNHANDLED;
	c->ops->get_seg(c, seg, &s);
	if (real_or_vm86(c)) {
		s.selector = sel;
		s.base = (u64)sel << 4;
		c->ops->set_seg(c, seg, &s);
		return X86EMUL_OK;
	}
	if (!(sel & ~SEL_RPL)) {
		__builtin_memset(&s, 0, sizeof(s));
		s.selector = sel;
		s.unusable = 1;
		c->ops->set_seg(c, seg, &s);
		return X86EMUL_OK;
	}
	r = read_desc(c, sel, false, &d, &d_hi, &la);
	if (r)
		return r;
	desc_to_seg(d, 0, sel, &s);
	/* Data, or readable code; DPL check unless conforming code. */
	if (!s.s || ((s.type & 8) && !(s.type & 2)))
		return x86_gp(c, sel & ~SEL_RPL);
	if ((!(s.type & 8) || !(s.type & 4)) &&
	    (s.dpl < c->cpl || s.dpl < rpl))
		return x86_gp(c, sel & ~SEL_RPL);
	if (!s.present)
		return x86_raise(c, X86_EXC_NP, true, sel & ~SEL_RPL);
	r = desc_set_bit(c, la, d, 1ULL << 40);
	if (r)
		return r;
	s.type |= DESC_ACCESSED;
	c->ops->set_seg(c, seg, &s);
	return X86EMUL_OK;
}

/* I/O permission: IOPL, then the TSS bitmap (APM vol 2, 13.3). */
bool x86_io_allowed(struct x86_emul_ctxt *c, u16 port, unsigned int size,
		    int *r)
{
	unsigned int iopl = (c->rflags >> 12) & 3;
	struct x86_segment tr;
	struct x86_memref m;
	u64 bits = 0;
	u16 iomap = 0;

	*r = X86EMUL_OK;
	if (c->mode == X86_MODE_REAL)
		return true;
	if (c->mode != X86_MODE_VM86 && c->cpl <= iopl)
		return true;
	c->ops->get_seg(c, X86_SEG_TR, &tr);
	/* Only a 32/64-bit TSS (type 9 or busy 11) has an I/O bitmap. */
	if (tr.unusable || !tr.present || (tr.type & 0xd) != DESC_TSS_AVL ||
	    tr.limit < TSS_MIN_LIMIT)
		goto fault;
	*r = x86_memref_prepare_la(c, tr.base + TSS_IOMAP_OFF, 2,
				   X86_ACC_SYS, &m);
	if (!*r)
		*r = x86_memref_read(c, &m, &iomap);
	if (*r)
		return false;
	if ((u32)iomap + port / 8 + 1 > tr.limit)
		goto fault;
	*r = x86_memref_prepare_la(c, tr.base + iomap + port / 8, 2,
				   X86_ACC_SYS, &m);
	if (!*r)
		*r = x86_memref_read(c, &m, &bits);
	if (*r)
		return false;
	if (!((bits >> (port & 7)) & ((1U << size) - 1)))
		return true;
fault:
	*r = x86_gp(c, 0);
	return false;
}

int x86_exec_sys(struct x86_emul_ctxt *c)
{
	const struct x86_insn *insn = &c->insn;
	struct x86_segment s;
	u16 v16;
	u64 la;
	int r;

	if (insn->lock && insn->kind != K_MOV_FROM_CR &&
	    insn->kind != K_MOV_TO_CR)
		return x86_ud(c);
	switch (insn->kind) {
	case K_MOV_FROM_CR:
	case K_MOV_TO_CR:
		return mov_cr(c, insn->kind == K_MOV_TO_CR);
	case K_MOV_FROM_DR:
	case K_MOV_TO_DR:
		return mov_dr(c, insn->kind == K_MOV_TO_DR);
	case K_SGDT:
	case K_SIDT:
		return store_dt(c, insn->kind == K_SIDT);
	case K_LGDT:
	case K_LIDT:
		return load_dt(c, insn->kind == K_LIDT);
	case K_SLDT:
	case K_STR:
		if (real_or_vm86(c))
			return x86_ud(c);
		if (umip_blocks(c))
			return x86_gp(c, 0);
		c->ops->get_seg(c, insn->kind == K_STR ? X86_SEG_TR :
				X86_SEG_LDTR, &s);
		return write_rm_sel(c, s.selector);
	case K_LLDT:
	case K_LTR:
		return load_sys_seg(c, insn->kind == K_LTR);
	case K_SMSW:
		if (umip_blocks(c))
			return x86_gp(c, 0);
		return write_rm_sel(c, c->ops->get_cr(c, 0));
	case K_LMSW:
		if (c->cpl)
			return x86_gp(c, 0);
		r = read_rm16(c, &v16);
		if (r)
			return r;
		/* Loads MP, EM, TS and can set but never clear PE. */
		if (c->ops->set_cr(c, 0, (c->cr0 & ~0xeULL) | (v16 & 0xf)) < 0)
			return x86_gp(c, 0);
		c->cr0 = c->ops->get_cr(c, 0);
		return X86EMUL_OK;
	case K_CLTS:
		if (c->cpl)
			return x86_gp(c, 0);
		if (c->ops->set_cr(c, 0, c->cr0 & ~X86_CR0_TS) < 0)
			return x86_gp(c, 0);
		c->cr0 = c->ops->get_cr(c, 0);
		return X86EMUL_OK;
	case K_INVLPG:
		if (!insn->mem)
			return x86_ud(c);
		if (c->cpl)
			return x86_gp(c, 0);
		/* No limit or canonical checks: INVLPG never faults on them. */
		if (is_64(c)) {
			la = rm_ea(c);
			if (rm_seg(insn) == X86_SEG_FS ||
			    rm_seg(insn) == X86_SEG_GS) {
				c->ops->get_seg(c, rm_seg(insn), &s);
				la += s.base;
			}
		} else {
			c->ops->get_seg(c, rm_seg(insn), &s);
			la = (s.base + rm_ea(c)) & 0xffffffffULL;
		}
		c->ops->invlpg(c, la);
		return X86EMUL_OK;
	case K_WBINVD:
	case K_INVD:
		if (c->cpl)
			return x86_gp(c, 0);
		/* INVD is done as WBINVD: dropping guest data is never safe. */
		c->ops->wbinvd(c);
		return X86EMUL_OK;
	}
	return X86EMUL_UNHANDLED;
}

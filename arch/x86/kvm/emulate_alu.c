// SPDX-License-Identifier: GPL-2.0
/*
 * Arithmetic with exact RFLAGS, written out in C so that the same code runs
 * in the kernel and on the host test bench, where it is compared against
 * the CPU (tools/testing/unit/test_diff.c).  Flag definitions: APM vol 3,
 * the "rFLAGS Affected" table of each instruction.  Flags the manual calls
 * undefined are computed deterministically (documented per operation).
 */
#include "emulate_internal.h"

u64 x86_size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static u64 sign_bit(unsigned int size)
{
	return 1ULL << (8 * size - 1);
}

static u64 parity(u64 v)
{
	unsigned int b = v & 0xff;

	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return (b & 1) ? 0 : X86_FL_PF;
}

/* ZF, SF and PF of @res. */
u64 x86_flags_szp(u64 res, unsigned int size)
{
	u64 f = parity(res);

	res &= x86_size_mask(size);
	if (!res)
		f |= X86_FL_ZF;
	if (res & sign_bit(size))
		f |= X86_FL_SF;
	return f;
}

static u64 add_flags(u64 a, u64 b, u64 r, unsigned int size)
{
	u64 carries = (a & b) | ((a | b) & ~r);
	u64 f = x86_flags_szp(r, size);

	if (carries & sign_bit(size))
		f |= X86_FL_CF;
	if ((a ^ b ^ r) & 0x10)
		f |= X86_FL_AF;
	if ((a ^ r) & (b ^ r) & sign_bit(size))
		f |= X86_FL_OF;
	return f;
}

static u64 sub_flags(u64 a, u64 b, u64 r, unsigned int size)
{
	u64 borrows = (~a & b) | (~(a ^ b) & r);
	u64 f = x86_flags_szp(r, size);

	if (borrows & sign_bit(size))
		f |= X86_FL_CF;
	if ((a ^ b ^ r) & 0x10)
		f |= X86_FL_AF;
	if ((a ^ b) & (a ^ r) & sign_bit(size))
		f |= X86_FL_OF;
	return f;
}

/*
 * ADD OR ADC SBB AND SUB XOR CMP (ALU_* order).  Updates the arithmetic
 * flags in *@flags and returns the result (CMP: the difference).  For the
 * logical operations AF is undefined; we clear it.
 */
u64 x86_alu(unsigned int op, unsigned int size, u64 a, u64 b, u64 *flags)
{
	u64 mask = x86_size_mask(size), cin = *flags & X86_FL_CF, r, f;

	a &= mask;
	b &= mask;
	if (op != X86_ALU_ADC && op != X86_ALU_SBB)
		cin = 0;
	switch (op) {
	case X86_ALU_ADD:
	case X86_ALU_ADC:
		r = (a + b + cin) & mask;
		f = add_flags(a, b, r, size);
		break;
	case X86_ALU_SUB:
	case X86_ALU_CMP:
	case X86_ALU_SBB:
		r = (a - b - cin) & mask;
		f = sub_flags(a, b, r, size);
		break;
	case X86_ALU_OR:
		r = a | b;
		f = x86_flags_szp(r, size);
		break;
	case X86_ALU_AND:
		r = a & b;
		f = x86_flags_szp(r, size);
		break;
	default:
		r = a ^ b;
		f = x86_flags_szp(r, size);
		break;
	}
	*flags = (*flags & ~X86_FL_ARITH) | f;
	return r;
}

/* INC/DEC: like ADD/SUB 1 but CF is preserved. */
u64 x86_incdec(bool dec, unsigned int size, u64 a, u64 *flags)
{
	u64 mask = x86_size_mask(size), r, f;

	a &= mask;
	r = (dec ? a - 1 : a + 1) & mask;
	f = dec ? sub_flags(a, 1, r, size) : add_flags(a, 1, r, size);
	*flags = (*flags & ~(X86_FL_ARITH & ~X86_FL_CF)) |
		 (f & ~X86_FL_CF);
	return r;
}

u64 x86_neg(unsigned int size, u64 a, u64 *flags)
{
	u64 mask = x86_size_mask(size), r = (0 - a) & mask;

	*flags = (*flags & ~X86_FL_ARITH) | sub_flags(0, a & mask, r, size);
	return r;
}

static u64 set_cf_of(u64 flags, bool cf, bool of)
{
	flags &= ~(X86_FL_CF | X86_FL_OF);
	if (cf)
		flags |= X86_FL_CF;
	if (of)
		flags |= X86_FL_OF;
	return flags;
}

/*
 * ROL ROR RCL RCR SHL SHR SAL SAR (ModRM.reg order).  A masked count of
 * zero changes nothing.  OF is architecturally defined for a count of 1
 * only; for larger counts we use the count-1 formula.  AF (shifts) is
 * undefined and cleared.
 */
u64 x86_shift(unsigned int op, unsigned int size, u64 a, u8 count,
	      u64 *flags)
{
	unsigned int bits = 8 * size, i;
	u64 mask = x86_size_mask(size), msb = sign_bit(size), r = a & mask;
	bool cf = *flags & X86_FL_CF;

	count &= size == 8 ? 0x3f : 0x1f;
	if (!count)
		return r;
	a = r;
	switch (op) {
	case 0: /* ROL */
		i = count % bits;
		r = i ? ((a << i) | (a >> (bits - i))) & mask : a;
		cf = r & 1;
		*flags = set_cf_of(*flags, cf, !!(r & msb) ^ cf);
		return r;
	case 1: /* ROR */
		i = count % bits;
		r = i ? ((a >> i) | (a << (bits - i))) & mask : a;
		*flags = set_cf_of(*flags, !!(r & msb),
				   !!(r & msb) ^ !!(r & (msb >> 1)));
		return r;
	case 2: /* RCL */
		i = size < 4 ? count % (bits + 1) : count;
		for (; i; i--) {
			bool out = r & msb;

			r = ((r << 1) | cf) & mask;
			cf = out;
		}
		*flags = set_cf_of(*flags, cf, !!(r & msb) ^ cf);
		return r;
	case 3: /* RCR */
		i = size < 4 ? count % (bits + 1) : count;
		*flags = set_cf_of(*flags, cf, !!(a & msb) ^ cf);
		for (; i; i--) {
			bool out = r & 1;

			r = (r >> 1) | (cf ? msb : 0);
			cf = out;
		}
		*flags = set_cf_of(*flags, cf, *flags & X86_FL_OF);
		return r;
	case 4: /* SHL */
	case 6: /* SAL */
		cf = count <= bits ? (a >> (bits - count)) & 1 : 0;
		r = count < bits ? (a << count) & mask : 0;
		*flags = set_cf_of(*flags, cf, !!(r & msb) ^ cf);
		break;
	case 5: /* SHR */
		cf = count <= bits ? (a >> (count - 1)) & 1 : 0;
		r = count < bits ? a >> count : 0;
		*flags = set_cf_of(*flags, cf, !!(a & msb));
		break;
	default: /* SAR */
		if (count < bits) {
			cf = (a >> (count - 1)) & 1;
			r = a >> count;
			if (a & msb)
				r |= mask & ~(mask >> count);
		} else {
			cf = !!(a & msb);
			r = cf ? mask : 0;
		}
		*flags = set_cf_of(*flags, cf, false);
		break;
	}
	*flags = (*flags & ~(X86_FL_ZF | X86_FL_SF | X86_FL_PF | X86_FL_AF)) |
		 x86_flags_szp(r, size);
	return r;
}

/* 64 x 64 -> 128 unsigned multiply without compiler runtime helpers. */
static void mul64(u64 a, u64 b, u64 *lo, u64 *hi)
{
	u64 al = (u32)a, ah = a >> 32, bl = (u32)b, bh = b >> 32;
	u64 ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	u64 mid = (ll >> 32) + (u32)lh + (u32)hl;

	*lo = (mid << 32) | (u32)ll;
	*hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

static u64 sext(u64 v, unsigned int size)
{
	unsigned int sh = 64 - 8 * size;

	return (u64)((s64)(v << sh) >> sh);
}

/*
 * MUL/IMUL: @hi:@lo = a * b at operand @size.  CF = OF = "the high half is
 * significant".  SF, ZF, AF, PF are undefined: SF/ZF/PF follow the low
 * half, AF is cleared.
 */
void x86_mul(bool sign, unsigned int size, u64 a, u64 b, u64 *lo, u64 *hi,
	     u64 *flags)
{
	u64 mask = x86_size_mask(size), l, h;
	bool ovf;

	if (size == 8) {
		mul64(a, b, &l, &h);
		if (sign) {
			if ((s64)a < 0)
				h -= b;
			if ((s64)b < 0)
				h -= a;
			ovf = h != (u64)((s64)l >> 63);
		} else {
			ovf = h != 0;
		}
	} else {
		u64 p;

		if (sign)
			p = (u64)((s64)sext(a, size) * (s64)sext(b, size));
		else
			p = (a & mask) * (b & mask);
		l = p & mask;
		h = (p >> (8 * size)) & mask;
		ovf = sign ? sext(p, size) != p : h != 0;
	}
	*lo = l;
	*hi = h;
	*flags = set_cf_of(*flags, ovf, ovf);
	*flags = (*flags & ~(X86_FL_ZF | X86_FL_SF | X86_FL_PF | X86_FL_AF)) |
		 x86_flags_szp(l, size);
}

/* 128 / 64 -> 64 unsigned division, restoring; false on overflow. */
static bool div128(u64 hi, u64 lo, u64 d, u64 *q, u64 *r)
{
	u64 rem = hi, quo = 0;
	int i;

	if (!d || hi >= d)
		return false;
	for (i = 63; i >= 0; i--) {
		bool top = rem >> 63;

		rem = (rem << 1) | ((lo >> i) & 1);
		quo <<= 1;
		if (top || rem >= d) {
			rem -= d;
			quo |= 1;
		}
	}
	*q = quo;
	*r = rem;
	return true;
}

/*
 * DIV/IDIV of @hi:@lo by @d at operand @size.  Returns false for #DE
 * (zero divisor or quotient overflow).  All flags are undefined and left
 * unchanged.
 */
bool x86_div(bool sign, unsigned int size, u64 hi, u64 lo, u64 d, u64 *q,
	     u64 *r)
{
	u64 mask = x86_size_mask(size), nh, nl, ad, uq, ur;
	bool nneg = false, dneg = false;

	d &= mask;
	if (!d)
		return false;
	if (size < 8) {
		/* Merge hi:lo into one 64-bit dividend (at most 2*32 bits). */
		nl = ((hi & mask) << (8 * size)) | (lo & mask);
		nh = 0;
		if (sign && (hi & sign_bit(size))) {
			nneg = true;
			nl = sext(nl, 2 * size);
			nl = 0 - nl;
		}
	} else {
		nh = hi;
		nl = lo;
		if (sign && (s64)hi < 0) {
			nneg = true;
			nl = 0 - lo;
			nh = ~hi + (lo == 0);
		}
	}
	ad = d;
	if (sign && (d & sign_bit(size))) {
		dneg = true;
		ad = (0 - sext(d, size)) & (size == 8 ? ~0ULL : ~0ULL);
	}
	if (!div128(nh, nl, ad, &uq, &ur))
		return false;
	if (!sign) {
		if (uq & ~mask)
			return false;
		*q = uq;
		*r = ur;
		return true;
	}
	/* Signed: |quotient| must fit, with one more on the negative side. */
	if (nneg != dneg) {
		if (uq > sign_bit(size))
			return false;
		*q = (0 - uq) & mask;
	} else {
		if (uq >= sign_bit(size))
			return false;
		*q = uq;
	}
	*r = (nneg ? 0 - ur : ur) & mask;
	return true;
}

/* Condition codes, in opcode order (Jcc/SETcc/CMOVcc low nibble). */
bool x86_cond(unsigned int cc, u64 f)
{
	bool r;

	switch (cc >> 1) {
	case 0: r = f & X86_FL_OF; break;
	case 1: r = f & X86_FL_CF; break;
	case 2: r = f & X86_FL_ZF; break;
	case 3: r = f & (X86_FL_CF | X86_FL_ZF); break;
	case 4: r = f & X86_FL_SF; break;
	case 5: r = f & X86_FL_PF; break;
	case 6: r = !(f & X86_FL_SF) != !(f & X86_FL_OF); break;
	default:
		r = (f & X86_FL_ZF) || (!(f & X86_FL_SF) != !(f & X86_FL_OF));
		break;
	}
	return (cc & 1) ? !r : r;
}

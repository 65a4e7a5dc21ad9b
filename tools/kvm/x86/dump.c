// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU dump of `lkvm debug --dump` and of a crash: see kvm/debug.h.
 * Guest page tables are walked by the tree's walker (arch/x86/kvm/mmu/
 * walk.c), over guest RAM as lkvm maps it, without setting A/D bits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../../../arch/x86/kvm/mmu/walk.h"
#include "kvm/debug.h"
#include "kvm/kvm-cpu.h"
#include "kvm/kvm.h"

#define CODE_BEFORE	16	/* code bytes shown before RIP */
#define CODE_AFTER	48
#define DISASM_INSNS	6	/* the instruction at RIP and the next ones */
#define STACK_WORDS	16

/* --- guest memory through the guest's page tables ------------------- */

static int dbg_read_pte(void *opaque, u64 gpa, u64 *pte, unsigned int size)
{
	void *p = guest_ptr(opaque, gpa, size);

	if (!p)
		return -1;
	*pte = 0;
	memcpy(pte, p, size);
	return 0;
}

static int dbg_cmpxchg_pte(void *opaque, u64 gpa, u64 old, u64 new,
			   unsigned int size)
{
	/* Never called: every walk here has X86_WALK_NO_AD. */
	(void)opaque; (void)gpa; (void)old; (void)new; (void)size;
	return -1;
}

static const struct x86_walk_ops dbg_walk_ops = {
	.read_pte = dbg_read_pte,
	.cmpxchg_pte = dbg_cmpxchg_pte,
};

static void walk_regs(const struct kvm_sregs *s, struct x86_walk_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->cr0 = s->cr0;
	r->cr3 = s->cr3;
	r->cr4 = s->cr4;
	r->efer = s->efer;
	/* AC set: a debugger may look at user pages despite SMAP. */
	r->rflags = X86_RFLAGS_AC;
	r->gbpages = true;
}

static enum x86_walk_status walk(struct kvm *kvm, const struct kvm_sregs *s,
				 u64 la, struct x86_walk_result *res)
{
	struct x86_walk_regs r;

	walk_regs(s, &r);
	memset(res, 0, sizeof(*res));
	if (!(s->cr0 & X86_CR0_PG)) {
		res->gpa = s->efer & X86_EFER_LMA ? la : (u32)la;
		res->page_size = 4096;
		return X86_WALK_OK;
	}
	return x86_walk(&dbg_walk_ops, kvm, &r, la, X86_WALK_NO_AD, res);
}

bool debug__translate(struct kvm *kvm, const struct kvm_sregs *s, u64 la,
		      u64 *gpa, u64 *page_left)
{
	struct x86_walk_result res;

	if (walk(kvm, s, la, &res) != X86_WALK_OK)
		return false;
	*gpa = res.gpa;
	*page_left = res.page_size - (res.gpa & (res.page_size - 1));
	return true;
}

static size_t copy_linear(struct kvm *kvm, const struct kvm_sregs *s, u64 la,
			  u8 *buf, size_t len, bool write)
{
	size_t done = 0;

	while (done < len) {
		u64 gpa, left;
		size_t n;
		u8 *p;

		if (!debug__translate(kvm, s, la + done, &gpa, &left))
			break;
		n = MIN(len - done, MIN(left, 4096 - (gpa & 4095)));
		p = guest_ptr(kvm, gpa, n);
		if (!p)
			break;
		if (write)
			memcpy(p, buf + done, n);
		else
			memcpy(buf + done, p, n);
		done += n;
	}
	return done;
}

size_t debug__read_linear(struct kvm *kvm, const struct kvm_sregs *s,
			  u64 la, void *buf, size_t len)
{
	return copy_linear(kvm, s, la, buf, len, false);
}

size_t debug__write_linear(struct kvm *kvm, const struct kvm_sregs *s,
			   u64 la, const void *buf, size_t len)
{
	return copy_linear(kvm, s, la, (u8 *)buf, len, true);
}

/* --- bit names ------------------------------------------------------- */

struct bit_name {
	u8 bit;
	const char *name;
};

static void put_bits(FILE *out, u64 v, const struct bit_name *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v & (1ULL << b[i].bit))
			fprintf(out, " %s", b[i].name);
}

/* APM vol 2, 3.1.6 */
static const struct bit_name rflags_bits[] = {
	{ 0, "CF" }, { 2, "PF" }, { 4, "AF" }, { 6, "ZF" }, { 7, "SF" },
	{ 8, "TF" }, { 9, "IF" }, { 10, "DF" }, { 11, "OF" }, { 14, "NT" },
	{ 16, "RF" }, { 17, "VM" }, { 18, "AC" }, { 19, "VIF" },
	{ 20, "VIP" }, { 21, "ID" },
};
/* APM vol 2, 3.1.1 */
static const struct bit_name cr0_bits[] = {
	{ 0, "PE" }, { 1, "MP" }, { 2, "EM" }, { 3, "TS" }, { 4, "ET" },
	{ 5, "NE" }, { 16, "WP" }, { 18, "AM" }, { 29, "NW" }, { 30, "CD" },
	{ 31, "PG" },
};
/* APM vol 2, 3.1.3 */
static const struct bit_name cr4_bits[] = {
	{ 0, "VME" }, { 1, "PVI" }, { 2, "TSD" }, { 3, "DE" }, { 4, "PSE" },
	{ 5, "PAE" }, { 6, "MCE" }, { 7, "PGE" }, { 8, "PCE" },
	{ 9, "OSFXSR" }, { 10, "OSXMMEXCPT" }, { 11, "UMIP" }, { 12, "LA57" },
	{ 13, "VMXE" }, { 14, "SMXE" }, { 16, "FSGSBASE" }, { 17, "PCIDE" },
	{ 18, "OSXSAVE" }, { 20, "SMEP" }, { 21, "SMAP" }, { 22, "PKE" },
	{ 23, "CET" },
};
/* APM vol 2, 3.1.7 */
static const struct bit_name efer_bits[] = {
	{ 0, "SCE" }, { 8, "LME" }, { 10, "LMA" }, { 11, "NXE" },
	{ 12, "SVME" }, { 13, "LMSLE" }, { 14, "FFXSR" }, { 15, "TCE" },
};
static const struct bit_name pte_bits[] = {
	{ 0, "P" }, { 1, "RW" }, { 2, "US" }, { 3, "PWT" }, { 4, "PCD" },
	{ 5, "A" }, { 6, "D" }, { 7, "PS" }, { 8, "G" }, { 63, "NX" },
};

/* --- registers ------------------------------------------------------- */

static void dump_regs(FILE *out, const struct kvm_regs *r)
{
	fprintf(out, "  rip %016llx  rflags %016llx [",
		r->rip, r->rflags);
	put_bits(out, r->rflags, rflags_bits, ARRAY_SIZE(rflags_bits));
	fprintf(out, " IOPL=%llu ]\n", (r->rflags >> 12) & 3);
	fprintf(out, "  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n"
		"  rsi %016llx  rdi %016llx  rbp %016llx  rsp %016llx\n"
		"  r8  %016llx  r9  %016llx  r10 %016llx  r11 %016llx\n"
		"  r12 %016llx  r13 %016llx  r14 %016llx  r15 %016llx\n",
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp,
		r->rsp, r->r8, r->r9, r->r10, r->r11, r->r12, r->r13,
		r->r14, r->r15);
}

static const char *seg_type(const struct kvm_segment *s, char *buf,
			    size_t size)
{
	/* APM vol 2, 4.7.2 (code/data) and 4.8.3 (system, long mode). */
	static const char *const sys[16] = {
		"reserved", "16-bit TSS (available)", "LDT",
		"16-bit TSS (busy)", "16-bit call gate", "task gate",
		"16-bit interrupt gate", "16-bit trap gate", "reserved",
		"TSS (available)", "reserved", "TSS (busy)", "call gate",
		"reserved", "interrupt gate", "trap gate",
	};

	if (!s->s)
		return sys[s->type & 15];
	if (s->type & 8)
		snprintf(buf, size, "code, execute%s%s%s",
			 s->type & 2 ? "/read" : "-only",
			 s->type & 4 ? ", conforming" : "",
			 s->type & 1 ? ", accessed" : "");
	else
		snprintf(buf, size, "data, read%s%s%s",
			 s->type & 2 ? "/write" : "-only",
			 s->type & 4 ? ", expand-down" : "",
			 s->type & 1 ? ", accessed" : "");
	return buf;
}

static void dump_seg(FILE *out, const char *name, const struct kvm_segment *s)
{
	char buf[64];

	fprintf(out, "  %-3s %04x base %016llx limit %08x ", name, s->selector,
		s->base, s->limit);
	if (s->unusable || !s->present) {
		fprintf(out, "%s\n", s->unusable ? "unusable" : "not present");
		return;
	}
	fprintf(out, "dpl %u %s%s%s%s\n", s->dpl, seg_type(s, buf, sizeof(buf)),
		s->l ? ", 64-bit" : "", s->db ? ", 32-bit (D/B)" : "",
		s->g ? ", 4K granular" : "");
}

static void dump_sregs(FILE *out, const struct kvm_sregs *s)
{
	dump_seg(out, "cs", &s->cs);
	dump_seg(out, "ss", &s->ss);
	dump_seg(out, "ds", &s->ds);
	dump_seg(out, "es", &s->es);
	dump_seg(out, "fs", &s->fs);
	dump_seg(out, "gs", &s->gs);
	dump_seg(out, "tr", &s->tr);
	dump_seg(out, "ldt", &s->ldt);
	fprintf(out, "  gdtr %016llx limit %04x   idtr %016llx limit %04x\n",
		s->gdt.base, s->gdt.limit, s->idt.base, s->idt.limit);
	fprintf(out, "  cr0 %016llx [", s->cr0);
	put_bits(out, s->cr0, cr0_bits, ARRAY_SIZE(cr0_bits));
	fprintf(out, " ]\n  cr2 %016llx\n  cr3 %016llx [ base %llx", s->cr2,
		s->cr3, s->cr3 & ~0xfffULL);
	/* CR4.PCIDE: the low 12 bits are the PCID, else PWT and PCD. */
	if (s->cr4 & (1 << 17))
		fprintf(out, " PCID %llu", s->cr3 & 0xfff);
	else
		fprintf(out, "%s%s", s->cr3 & 8 ? " PWT" : "",
			s->cr3 & 16 ? " PCD" : "");
	fprintf(out, " ]\n");
	fprintf(out, "  cr4 %016llx [", s->cr4);
	put_bits(out, s->cr4, cr4_bits, ARRAY_SIZE(cr4_bits));
	fprintf(out, " ]\n  cr8 %016llx (TPR %llu)\n  efer %016llx [",
		s->cr8, s->cr8 & 15, s->efer);
	put_bits(out, s->efer, efer_bits, ARRAY_SIZE(efer_bits));
	fprintf(out, " ]\n  apic_base %016llx [%s%s%s ]\n", s->apic_base,
		s->apic_base & (1 << 8) ? " BSP" : "",
		s->apic_base & (1 << 11) ? " enabled" : " disabled",
		s->apic_base & (1 << 10) ? " x2APIC" : "");
}

static void dump_dregs(FILE *out, int fd)
{
	struct kvm_debugregs d;
	static const char *const rw[4] = { "exec", "write", "io", "rw" };
	static const char *const len[4] = { "1", "2", "8", "4" };

	if (ioctl(fd, KVM_GET_DEBUGREGS, &d) < 0) {
		fprintf(out, "  debug registers: KVM_GET_DEBUGREGS: %s\n",
			strerror(errno));
		return;
	}
	fprintf(out, "  dr0 %016llx  dr1 %016llx  dr2 %016llx  dr3 %016llx\n"
		"  dr6 %016llx  dr7 %016llx [", d.db[0], d.db[1], d.db[2],
		d.db[3], d.dr6, d.dr7);
	/* APM vol 2, 13.1.1.5: L/G enables, R/W and LEN per breakpoint. */
	for (int i = 0; i < 4; i++)
		if (d.dr7 & (3ULL << (2 * i)))
			fprintf(out, " bp%d:%s%s,%s,len%s", i,
				d.dr7 & (1ULL << (2 * i)) ? "L" : "",
				d.dr7 & (2ULL << (2 * i)) ? "G" : "",
				rw[(d.dr7 >> (16 + 4 * i)) & 3],
				len[(d.dr7 >> (18 + 4 * i)) & 3]);
	fprintf(out, " ]\n");
}

static void dump_events(FILE *out, int fd)
{
	static const char *const mp[] = {
		[KVM_MP_STATE_RUNNABLE] = "runnable",
		[KVM_MP_STATE_UNINITIALIZED] = "uninitialized",
		[KVM_MP_STATE_INIT_RECEIVED] = "INIT received",
		[KVM_MP_STATE_HALTED] = "halted",
		[KVM_MP_STATE_SIPI_RECEIVED] = "SIPI received",
	};
	struct kvm_vcpu_events e;
	struct kvm_mp_state m;

	if (ioctl(fd, KVM_GET_MP_STATE, &m) == 0)
		fprintf(out, "  state: %s\n", m.mp_state < ARRAY_SIZE(mp) &&
			mp[m.mp_state] ? mp[m.mp_state] : "other");
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &e) < 0) {
		fprintf(out, "  events: KVM_GET_VCPU_EVENTS: %s\n",
			strerror(errno));
		return;
	}
	fprintf(out, "  exception: ");
	if (e.exception.injected || e.exception.pending)
		fprintf(out, "vector %u%s%s error %#x\n", e.exception.nr,
			e.exception.injected ? " injected" : "",
			e.exception.pending ? " pending" : "",
			e.exception.has_error_code ? e.exception.error_code : 0);
	else
		fprintf(out, "none\n");
	fprintf(out, "  interrupt: ");
	if (e.interrupt.injected)
		fprintf(out, "vector %u injected%s\n", e.interrupt.nr,
			e.interrupt.soft ? " (soft)" : "");
	else
		fprintf(out, "none\n");
	fprintf(out, "  interrupt shadow: %s%s%s\n",
		e.interrupt.shadow ? "" : "none",
		e.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS ? " MOV SS" : "",
		e.interrupt.shadow & KVM_X86_SHADOW_INT_STI ? " STI" : "");
	fprintf(out, "  nmi: %s%s%s%s\n",
		e.nmi.injected ? " injected" : "",
		e.nmi.pending ? " pending" : "",
		e.nmi.masked ? " masked (blocked)" : "",
		!e.nmi.injected && !e.nmi.pending && !e.nmi.masked ? "none" : "");
}

static u32 apic_reg(const struct kvm_lapic_state *l, unsigned int off)
{
	u32 v;

	memcpy(&v, l->regs + off, sizeof(v));
	return v;
}

/* The vectors set in an ISR/IRR/TMR bank (8 registers, 0x10 apart). */
static void apic_vectors(FILE *out, const struct kvm_lapic_state *l,
			 const char *name, unsigned int base)
{
	bool any = false;

	fprintf(out, "  %s:", name);
	for (unsigned int v = 0; v < 256; v++)
		if (apic_reg(l, base + (v / 32) * 0x10) & (1u << (v % 32))) {
			fprintf(out, " %#x", v);
			any = true;
		}
	fprintf(out, "%s\n", any ? "" : " none");
}

static void dump_lapic(FILE *out, struct kvm_cpu *cpu)
{
	/* Register offsets: APM vol 2, 16.3.2, table 16-2. */
	static const struct { unsigned int off; const char *name; } regs[] = {
		{ 0x20, "id" }, { 0x30, "version" }, { 0x80, "tpr" },
		{ 0xa0, "ppr" }, { 0xd0, "ldr" }, { 0xe0, "dfr" },
		{ 0xf0, "svr" }, { 0x280, "esr" }, { 0x300, "icr_lo" },
		{ 0x310, "icr_hi" }, { 0x320, "lvt_timer" },
		{ 0x330, "lvt_thermal" }, { 0x340, "lvt_perf" },
		{ 0x350, "lvt_lint0" }, { 0x360, "lvt_lint1" },
		{ 0x370, "lvt_error" }, { 0x380, "timer_initial" },
		{ 0x390, "timer_current" }, { 0x3e0, "timer_divide" },
	};
	struct kvm_lapic_state l;

	if (ioctl(cpu->fd, KVM_GET_LAPIC, &l) < 0) {
		fprintf(out, "  local APIC: KVM_GET_LAPIC: %s\n", strerror(errno));
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
		fprintf(out, "  %-13s %08x%s", regs[i].name,
			apic_reg(&l, regs[i].off), i % 4 == 3 ? "\n" : "");
	fprintf(out, "\n  software %s, timer mode %s\n",
		apic_reg(&l, 0xf0) & (1 << 8) ? "enabled" : "disabled",
		(apic_reg(&l, 0x320) >> 17 & 3) == 1 ? "periodic" :
		(apic_reg(&l, 0x320) >> 17 & 3) == 2 ? "TSC deadline" : "one-shot");
	apic_vectors(out, &l, "isr (in service)", 0x100);
	apic_vectors(out, &l, "irr (requested)", 0x200);
	apic_vectors(out, &l, "tmr (level)", 0x180);
}

/* --- code, stack, page tables ------------------------------------------ */

static u64 seg_base(const struct kvm_sregs *s, const struct kvm_segment *seg)
{
	/* 64-bit mode ignores CS/SS/DS/ES bases (APM vol 2, 4.12.2). */
	return (s->efer & X86_EFER_LMA) && s->cs.l ? 0 : seg->base;
}

static void dump_code(FILE *out, struct kvm *kvm, const struct kvm_sregs *s,
		      const struct kvm_regs *r)
{
	u64 la = seg_base(s, &s->cs) + r->rip;
	u8 code[CODE_BEFORE + CODE_AFTER];
	size_t before = 0, n;
	u64 rip = r->rip;

	/* As many of the bytes before RIP as are mapped. */
	for (size_t b = CODE_BEFORE; b > 0; b--)
		if (debug__read_linear(kvm, s, la - b, code, b) == b) {
			before = b;
			break;
		}
	n = debug__read_linear(kvm, s, la - before, code,
			       before + CODE_AFTER);
	if (n <= before) {
		fprintf(out, "  code at %#llx: not mapped or not RAM\n",
			(unsigned long long)la);
		return;
	}
	fprintf(out, "  code at %#llx:", (unsigned long long)(la - before));
	for (size_t i = 0; i < n; i++)
		fprintf(out, i == before ? " <%02x>" : " %02x", code[i]);
	fprintf(out, "\n");
	for (int i = 0, off = before; i < DISASM_INSNS && (size_t)off < n; i++) {
		char text[128];
		unsigned int len = disasm__one(code + off, n - off, s,
					       r->rflags, rip, text,
					       sizeof(text));

		fprintf(out, "  %s %016llx: ", i ? "  " : "=>",
			(unsigned long long)rip);
		for (unsigned int j = 0; j < 8; j++)
			fprintf(out, j < len ? "%02x " : "   ", code[off + j]);
		fprintf(out, "%s%s\n", len > 8 ? "... " : "", text);
		if (!len)
			break;
		off += len;
		rip += len;
	}
}

static void dump_stack(FILE *out, struct kvm *kvm, const struct kvm_sregs *s,
		       const struct kvm_regs *r)
{
	bool is64 = (s->efer & X86_EFER_LMA) && s->cs.l;
	unsigned int w = is64 ? 8 : s->ss.db ? 4 : 2;
	u64 la = seg_base(s, &s->ss) + (is64 ? r->rsp :
		 w == 4 ? (u32)r->rsp : (u16)r->rsp);
	u8 buf[STACK_WORDS * 8];
	size_t n = debug__read_linear(kvm, s, la, buf, STACK_WORDS * w);

	fprintf(out, "  stack at %#llx (%u-byte words):",
		(unsigned long long)la, w);
	if (!n)
		fprintf(out, " not mapped or not RAM");
	for (size_t i = 0; i + w <= n; i += w) {
		u64 v = 0;

		memcpy(&v, buf + i, w);
		if (i % (4 * w) == 0)
			fprintf(out, "\n   +%02zx:", i);
		fprintf(out, " %0*llx", (int)(2 * w), (unsigned long long)v);
	}
	fprintf(out, "\n");
}

static void dump_walk(FILE *out, struct kvm *kvm, const struct kvm_sregs *s,
		      const char *what, u64 la)
{
	static const char *const names4[] = { "PML5E", "PML4E", "PDPTE",
					      "PDE", "PTE" };
	struct x86_walk_result res;
	enum x86_walk_status st;
	int total, shift0, bits;

	fprintf(out, "  page walk of %s %#llx:", what, (unsigned long long)la);
	if (!(s->cr0 & X86_CR0_PG)) {
		fprintf(out, " paging off, physical = linear\n");
		return;
	}
	if (s->efer & X86_EFER_LMA)
		total = s->cr4 & X86_CR4_LA57 ? 5 : 4, bits = 9;
	else if (s->cr4 & X86_CR4_PAE)
		total = 3, bits = 9;
	else
		total = 2, bits = 10;
	fprintf(out, " %d-level, cr3 %#llx\n", total,
		(unsigned long long)(s->cr3 & ~0xfffULL));
	st = walk(kvm, s, la, &res);
	for (int i = 0; i < res.levels && i < X86_WALK_MAX_LEVELS; i++) {
		int level = total - i;	/* 1 = the PTE level */
		const char *name = names4[5 - level];
		u64 idx;

		if (total == 2)
			name = level == 2 ? "PDE" : "PTE";
		shift0 = 12 + bits * (level - 1);
		idx = (la >> shift0) & ((1u << bits) - 1);
		if (total == 3 && level == 3)
			idx = (la >> 30) & 3;
		fprintf(out, "    %-5s[%3llu] @%#011llx = %016llx [",
			name, (unsigned long long)idx,
			(unsigned long long)res.pte_gpa[i],
			(unsigned long long)res.pte[i]);
		put_bits(out, res.pte[i], pte_bits, ARRAY_SIZE(pte_bits));
		fprintf(out, " ]\n");
	}
	if (st == X86_WALK_OK)
		fprintf(out, "    -> physical %#llx (%llu KiB page%s%s%s)\n",
			(unsigned long long)res.gpa,
			(unsigned long long)(res.page_size >> 10),
			res.writable ? ", writable" : ", read-only",
			res.user ? ", user" : ", supervisor",
			res.nx ? ", no-execute" : "");
	else if (st == X86_WALK_FAULT)
		fprintf(out, "    -> #PF, error code %#x (not mapped%s)\n",
			res.pfec, res.pfec & X86_PF_RSVD ? ", reserved bit" : "");
	else
		fprintf(out, "    -> a paging structure is outside guest RAM\n");
}

void debug__dump_cpu(struct kvm_cpu *cpu, FILE *out)
{
	struct kvm *kvm = cpu->kvm;
	struct kvm_regs r;
	struct kvm_sregs s;

	fprintf(out, "vCPU %d\n", cpu->id);
	if (ioctl(cpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(cpu->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(out, "  cannot read registers: %s\n", strerror(errno));
		return;
	}
	dump_regs(out, &r);
	dump_sregs(out, &s);
	dump_dregs(out, cpu->fd);
	dump_events(out, cpu->fd);
	dump_lapic(out, cpu);
	dump_code(out, kvm, &s, &r);
	dump_stack(out, kvm, &s, &r);
	dump_walk(out, kvm, &s, "rip", seg_base(&s, &s.cs) + r.rip);
	dump_walk(out, kvm, &s, "rsp", seg_base(&s, &s.ss) + r.rsp);
}

void debug__dump_cpu_stderr(struct kvm_cpu *cpu)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return;
	debug__dump_cpu(cpu, out);
	fclose(out);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			fputc('\r', stderr);
		fputc(text[i], stderr);
	}
	free(text);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module's adapter for the instruction emulator (emulate.c): guest
 * memory through the memslots, MMIO and string port I/O as exits to
 * userspace, and the vCPU's registers in and out.
 *
 * Exits follow upstream KVM: an MMIO write or an OUTS element completes the
 * instruction (or string iteration) and then exits; an MMIO read or INS
 * exits first and the instruction is emulated again from scratch on the
 * next KVM_RUN with the data at hand.  INS reads ahead like upstream's
 * emulator: up to 1 KiB of elements per exit, never past the page end.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "x86.h"
#include "emulate.h"
#include "irq.h"
#include "mmu/shadow.h"

#define PIO_READAHEAD_BYTES	1024

/* What an emulator exit needs from userspace before emulating again. */
enum kvm_emul_io {
	EMUL_IO_NONE,		/* a write or OUTS: already complete */
	EMUL_IO_MMIO_READ,
	/*
	 * The same, in an instruction emulated for a nested page fault:
	 * the next run uses the fault's address again (see kvm_handle_mmio).
	 */
	EMUL_IO_MMIO_READ_NPF,
	EMUL_IO_PIO_IN,
};

static struct kvm_vcpu *ctxt_vcpu(struct x86_emul_ctxt *c)
{
	return c->opaque;
}

/* ---- guest memory and MMIO -------------------------------------------- */

/* Is @gpa ordinary guest RAM (for @write: writable RAM)? */
static bool gpa_is_ram(struct kvm_vcpu *vcpu, gpa_t gpa, bool write)
{
	struct kvm_memory_slot *slot;

	slot = kvm_vcpu_gfn_to_memslot(vcpu, gpa >> PAGE_SHIFT);
	return slot && !(write && (slot->flags & KVM_MEM_READONLY));
}

static int emul_read_phys(struct x86_emul_ctxt *c, u64 gpa, void *val,
			  unsigned int len)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);
	struct kvm_mmio_request *m = &vcpu->arch.mmio;
	struct kvm_run *run = vcpu->run;
	int r, i;

	down_read(&vcpu->kvm->slots_lock);
	if (gpa_is_ram(vcpu, gpa, false)) {
		r = kvm_vcpu_read_guest(vcpu, gpa, val, len);
		up_read(&vcpu->kvm->slots_lock);
		return r ? X86EMUL_UNHANDLED : X86EMUL_OK;
	}
	up_read(&vcpu->kvm->slots_lock);

	/* The local APIC, the IOAPIC, ioeventfds. */
	if (!kvm_irq_mmio_read(vcpu, gpa, len, val))
		return X86EMUL_OK;
	if (len > sizeof(m->pending.data))
		return X86EMUL_UNHANDLED;
	/* Reads userspace answered for this instruction, in order. */
	for (i = 0; i < m->nr_rd; i++) {
		if (m->rd[i].gpa == gpa && m->rd[i].len == len) {
			memcpy(val, m->rd[i].data, len);
			return X86EMUL_OK;
		}
	}
	if (vcpu->arch.emul_exit || m->nr_rd == KVM_MMIO_MAX_FRAGS)
		return X86EMUL_UNHANDLED;

	m->pending.gpa = gpa;
	m->pending.len = len;
	vcpu->stat.mmio_exits++;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = len;
	run->mmio.is_write = 0;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	vcpu->arch.emul_exit = true;
	vcpu->arch.emul_io = c->fault_gpa_valid ? EMUL_IO_MMIO_READ_NPF :
						  EMUL_IO_MMIO_READ;
	return X86EMUL_IO_NEEDED;
}

/* A paging-structure entry: from RAM, or the walk sees a hole. */
static int emul_read_pte(struct x86_emul_ctxt *c, u64 gpa, void *val,
			 unsigned int len)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);
	int r = X86EMUL_FAULT;

	down_read(&vcpu->kvm->slots_lock);
	if (gpa_is_ram(vcpu, gpa, false))
		r = kvm_vcpu_read_guest(vcpu, gpa, val, len) ?
			X86EMUL_UNHANDLED : X86EMUL_OK;
	up_read(&vcpu->kvm->slots_lock);
	return r;
}

static int emul_write_phys(struct x86_emul_ctxt *c, u64 gpa, const void *val,
			   unsigned int len)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);
	struct kvm_mmio_request *m = &vcpu->arch.mmio;
	struct kvm_mmio_frag *f;
	int r;

	down_read(&vcpu->kvm->slots_lock);
	if (gpa_is_ram(vcpu, gpa, true)) {
		r = kvm_vcpu_write_guest(vcpu, gpa, val, len);
		up_read(&vcpu->kvm->slots_lock);
		/* npt=0: it may be a guest page table (mmu/shadow.c). */
		if (!r && kvm_shadow_paging)
			kvm_shadow_guest_write(vcpu, gpa, len);
		return r ? X86EMUL_UNHANDLED : X86EMUL_OK;
	}
	up_read(&vcpu->kvm->slots_lock);

	if (!kvm_irq_mmio_write(vcpu, gpa, len, val))
		return X86EMUL_OK;
	if (len > sizeof(m->wr[0].data) || m->nr_wr == KVM_MMIO_MAX_FRAGS ||
	    (vcpu->arch.emul_exit && !m->nr_wr))
		return X86EMUL_UNHANDLED;
	f = &m->wr[m->nr_wr++];
	f->gpa = gpa;
	f->len = len;
	memcpy(f->data, val, len);
	vcpu->arch.emul_exit = true;
	vcpu->arch.emul_io = EMUL_IO_NONE;
	return X86EMUL_IO_QUEUED;
}

/* Put queued write fragment @m->wr_pos into kvm_run. */
static void mmio_write_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_mmio_request *m = &vcpu->arch.mmio;
	struct kvm_mmio_frag *f = &m->wr[m->wr_pos];
	struct kvm_run *run = vcpu->run;

	vcpu->stat.mmio_exits++;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = f->gpa;
	run->mmio.len = f->len;
	run->mmio.is_write = 1;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	memcpy(run->mmio.data, f->data, f->len);
}

static bool cmpxchg_sized(void *p, const void *old, const void *new,
			  unsigned int len)
{
	switch (len) {
	case 1:
		return cmpxchg((u8 *)p, *(u8 *)old, *(u8 *)new) == *(u8 *)old;
	case 2:
		return cmpxchg((u16 *)p, *(u16 *)old, *(u16 *)new) ==
		       *(u16 *)old;
	case 4:
		return cmpxchg((u32 *)p, *(u32 *)old, *(u32 *)new) ==
		       *(u32 *)old;
	default:
		return cmpxchg((u64 *)p, *(u64 *)old, *(u64 *)new) ==
		       *(u64 *)old;
	}
}

/* A LOCK CMPXCHG on guest RAM stays atomic against other vCPUs. */
static int emul_cmpxchg_phys(struct x86_emul_ctxt *c, u64 gpa,
			     const void *old, const void *new,
			     unsigned int len)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);
	struct kvm_memory_slot *slot;
	struct page *page;
	unsigned long hva;
	void *map;
	bool ok;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return X86EMUL_UNHANDLED;
	if (offset_in_page(gpa) + len > PAGE_SIZE || (gpa & (len - 1)))
		return X86EMUL_IO_QUEUED;	/* split: read + write */

	down_read(&vcpu->kvm->slots_lock);
	slot = kvm_vcpu_gfn_to_memslot(vcpu, gpa >> PAGE_SHIFT);
	if (!slot || (slot->flags & KVM_MEM_READONLY)) {
		up_read(&vcpu->kvm->slots_lock);
		return X86EMUL_IO_QUEUED;
	}
	hva = gfn_to_hva_memslot(slot, gpa >> PAGE_SHIFT);
	up_read(&vcpu->kvm->slots_lock);
	if (pin_user_pages_fast(hva, 1, FOLL_WRITE, &page) != 1)
		return X86EMUL_UNHANDLED;
	map = kmap_local_page(page);
	ok = cmpxchg_sized(map + offset_in_page(gpa), old, new, len);
	kunmap_local(map);
	unpin_user_pages_dirty_lock(&page, 1, true);
	if (ok) {	/* a write on the guest's behalf: dirty log */
		down_read(&vcpu->kvm->slots_lock);
		kvm_vcpu_mark_page_dirty(vcpu, gpa >> PAGE_SHIFT);
		up_read(&vcpu->kvm->slots_lock);
		if (kvm_shadow_paging)
			kvm_shadow_guest_write(vcpu, gpa, len);
	}
	return ok ? X86EMUL_OK : X86EMUL_FAULT;
}

/* ---- port I/O ----------------------------------------------------------- */

static void pio_request(struct kvm_vcpu *vcpu, u16 port, u8 size, bool in,
			u32 count)
{
	struct kvm_pio_request *p = &vcpu->arch.pio;

	p->port = port;
	p->size = size;
	p->in = in;
	p->count = count;
	kvm_pio_exit_emulated(vcpu, port, size, in, count);
	vcpu->arch.emul_exit = true;
	vcpu->arch.emul_io = in ? EMUL_IO_PIO_IN : EMUL_IO_NONE;
}

static int emul_pio_out(struct x86_emul_ctxt *c, u16 port, const void *val,
			unsigned int size)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);

	if (!kvm_irq_pio(vcpu, port, size, false, (void *)val))
		return X86EMUL_OK;
	if (vcpu->arch.emul_exit)
		return X86EMUL_UNHANDLED;
	memcpy(vcpu->pio_data, val, size);
	pio_request(vcpu, port, size, false, 1);
	return X86EMUL_IO_QUEUED;
}

/* Elements to read ahead for this INS (upstream's rule, bytes included). */
static u32 ins_batch(struct x86_emul_ctxt *c, unsigned int size)
{
	u64 mask = c->insn.addr_size == 8 ? ~0ULL :
		   (1ULL << (c->insn.addr_size * 8)) - 1;
	u64 di = c->regs[X86_RDI] & mask;
	u64 count = c->insn.rep ? c->regs[X86_RCX] & mask : 1;
	u64 in_page = (c->rflags & X86_EFLAGS_DF) ? offset_in_page(di) :
			PAGE_SIZE - offset_in_page(di);
	u64 n = min3(in_page, (u64)(PIO_READAHEAD_BYTES / size), count);

	return n ? n : 1;
}

static int emul_pio_in(struct x86_emul_ctxt *c, u16 port, void *val,
		       unsigned int size)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);
	struct kvm_pio_request *p = &vcpu->arch.pio;

	if (p->cached && p->port == port && p->size == size &&
	    p->pos < p->count) {
		memcpy(val, vcpu->pio_data + p->pos * size, size);
		if (++p->pos == p->count)
			p->cached = false;
		return X86EMUL_OK;
	}
	if (!kvm_irq_pio(vcpu, port, size, true, val))
		return X86EMUL_OK;
	if (vcpu->arch.emul_exit)
		return X86EMUL_UNHANDLED;
	p->cached = false;
	pio_request(vcpu, port, size, true, ins_batch(c, size));
	return X86EMUL_IO_NEEDED;
}

/* ---- registers -------------------------------------------------------- */

static u64 emul_get_cr(struct x86_emul_ctxt *c, int cr)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);

	switch (cr) {
	case 2:
		return vcpu->arch.cr2;
	case 8:
		return vcpu->arch.cr8;
	case 0:
	case 3:
	case 4:
		return kvm_x86_ops->get_cr(vcpu, cr);
	default:
		return 0;
	}
}

static int emul_set_cr(struct x86_emul_ctxt *c, int cr, u64 val)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);

	switch (cr) {
	case 2:
		vcpu->arch.cr2 = val;
		return 0;
	case 8:
		if (val & ~0xfULL)
			return -1;
		vcpu->arch.cr8 = val;
		return 0;
	case 0:
	case 3:
	case 4:
		return kvm_set_cr(vcpu, cr, val) ? -1 : 0;
	default:
		return -1;
	}
}

static u64 emul_get_dr(struct x86_emul_ctxt *c, int dr)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);

	if (dr < 4)
		return vcpu->arch.db[dr];
	return kvm_x86_ops->get_dr(vcpu, dr == 7 || dr == 5 ? 7 : 6);
}

static int emul_set_dr(struct x86_emul_ctxt *c, int dr, u64 val)
{
	struct kvm_vcpu *vcpu = ctxt_vcpu(c);

	if (dr < 4) {
		vcpu->arch.db[dr] = val;
		return 0;
	}
	if (val >> 32)
		return -1;
	kvm_x86_ops->set_dr(vcpu, dr == 7 || dr == 5 ? 7 : 6, val);
	return 0;
}

static int emul_get_msr(struct x86_emul_ctxt *c, u32 msr, u64 *val)
{
	return kvm_get_msr(ctxt_vcpu(c), msr, val, false) ? -1 : 0;
}

static int emul_set_msr(struct x86_emul_ctxt *c, u32 msr, u64 val)
{
	return kvm_set_msr(ctxt_vcpu(c), msr, val, false) ? -1 : 0;
}

/* enum x86_seg_reg and enum kvm_seg_reg share the hardware order. */
static void emul_get_seg(struct x86_emul_ctxt *c, int seg,
			 struct x86_segment *s)
{
	struct kvm_segment k;

	kvm_x86_ops->get_segment(ctxt_vcpu(c), &k, seg);
	memset(s, 0, sizeof(*s));
	s->base = k.base;
	s->limit = k.limit;
	s->selector = k.selector;
	s->type = k.type;
	s->s = k.s;
	s->dpl = k.dpl;
	s->present = k.present;
	s->db = k.db;
	s->l = k.l;
	s->g = k.g;
	s->unusable = k.unusable;
}

static void emul_set_seg(struct x86_emul_ctxt *c, int seg,
			 const struct x86_segment *s)
{
	struct kvm_segment k = {
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type, .s = s->s, .dpl = s->dpl,
		.present = s->present, .db = s->db, .l = s->l, .g = s->g,
		.unusable = s->unusable,
	};

	kvm_x86_ops->set_segment(ctxt_vcpu(c), &k, seg);
}

static void emul_get_dt(struct x86_emul_ctxt *c, int idt,
			struct x86_dtable *dt)
{
	struct kvm_dtable k;

	if (idt)
		kvm_x86_ops->get_idt(ctxt_vcpu(c), &k);
	else
		kvm_x86_ops->get_gdt(ctxt_vcpu(c), &k);
	dt->base = k.base;
	dt->limit = k.limit;
}

static void emul_set_dt(struct x86_emul_ctxt *c, int idt,
			const struct x86_dtable *dt)
{
	struct kvm_dtable k = { .base = dt->base, .limit = dt->limit };

	if (idt)
		kvm_x86_ops->set_idt(ctxt_vcpu(c), &k);
	else
		kvm_x86_ops->set_gdt(ctxt_vcpu(c), &k);
}

static void emul_invlpg(struct x86_emul_ctxt *c, u64 la)
{
	/* Shadow paging (npt=0) drops just that page's translations. */
	if (kvm_shadow_paging)
		kvm_shadow_invlpg(ctxt_vcpu(c), la);
	else
		kvm_make_request(KVM_REQ_TLB_FLUSH, ctxt_vcpu(c));
}

static void emul_wbinvd(struct x86_emul_ctxt *c)
{
	/* Guest memory is coherent: nothing to write back. */
}

static const struct x86_emul_ops kvm_emul_ops = {
	.read_phys	= emul_read_phys,
	.read_pte	= emul_read_pte,
	.write_phys	= emul_write_phys,
	.cmpxchg_phys	= emul_cmpxchg_phys,
	.pio_in		= emul_pio_in,
	.pio_out	= emul_pio_out,
	.get_cr		= emul_get_cr,
	.set_cr		= emul_set_cr,
	.get_dr		= emul_get_dr,
	.set_dr		= emul_set_dr,
	.get_msr	= emul_get_msr,
	.set_msr	= emul_set_msr,
	.get_seg	= emul_get_seg,
	.set_seg	= emul_set_seg,
	.get_dt		= emul_get_dt,
	.set_dt		= emul_set_dt,
	.invlpg		= emul_invlpg,
	.wbinvd		= emul_wbinvd,
};

/* ---- running the emulator ---------------------------------------------- */

static enum x86_cpu_mode kvm_cpu_mode(struct kvm_vcpu *vcpu)
{
	struct kvm_segment cs;

	if (!(kvm_x86_ops->get_cr(vcpu, 0) & X86_CR0_PE))
		return X86_MODE_REAL;
	if (kvm_x86_ops->get_rflags(vcpu) & X86_EFLAGS_VM)
		return X86_MODE_VM86;
	kvm_x86_ops->get_segment(vcpu, &cs, VCPU_SREG_CS);
	if (kvm_is_long_mode(vcpu) && cs.l)
		return X86_MODE_LONG64;
	return cs.db ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

static u8 guest_maxphyaddr(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 0x80000008, 0);

	return e && (e->eax & 0xff) ? e->eax & 0xff : host_maxphyaddr;
}

static void kvm_emul_setup(struct kvm_vcpu *vcpu, struct x86_emul_ctxt *c)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 0x80000001, 0);
	int i;

	x86_emul_init(c, &kvm_emul_ops, vcpu, kvm_cpu_mode(vcpu),
		      kvm_x86_ops->get_cpl(vcpu));
	c->maxphyaddr = guest_maxphyaddr(vcpu);
	/* CPUID 0x8000_0001 EDX[26]: 1 GiB pages. */
	c->gbpages = e && (e->edx & BIT(26));
	for (i = 0; i < X86_NR_GPRS; i++)
		c->regs[i] = kvm_reg_read(vcpu, i);
	c->rip = kvm_rip_read(vcpu);
	/* A trap after the instruction is ours to raise (kvm_emul_commit). */
	c->rflags = kvm_get_rflags(vcpu) & ~X86_EFLAGS_TF;
}

/* Returns true if the instruction completed (RIP moved past it). */
static bool kvm_emul_commit(struct kvm_vcpu *vcpu, struct x86_emul_ctxt *c)
{
	u64 tf = kvm_get_rflags(vcpu) & X86_EFLAGS_TF;
	bool moved = kvm_rip_read(vcpu) != c->rip;
	int i;

	for (i = 0; i < X86_NR_GPRS; i++)
		kvm_reg_write(vcpu, i, c->regs[i]);
	if (moved)
		kvm_x86_ops->set_interrupt_shadow(vcpu, 0);
	kvm_rip_write(vcpu, c->rip);
	kvm_set_rflags(vcpu, c->rflags | tf);
	return moved;
}

int kvm_emulation_failure(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.ndata = 0;
	run->emulation_failure.flags = 0;
	return EXIT_USER;
}

/* KVM_INTERNAL_ERROR_EMULATION with the instruction bytes, as upstream. */
static int kvm_emulation_failure_insn(struct kvm_vcpu *vcpu,
				      const struct x86_insn *insn)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = min_t(unsigned int, insn->len, X86_MAX_INSN_LEN);

	kvm_emulation_failure(vcpu);
	if (!len)
		return EXIT_USER;
	/* flags, then the insn_size/insn_bytes pair: 3 u64 of data. */
	run->emulation_failure.ndata = 3;
	run->emulation_failure.flags =
		KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run->emulation_failure.insn_size = len;
	memcpy(run->emulation_failure.insn_bytes, insn->bytes, len);
	return EXIT_USER;
}

static void kvm_emul_inject(struct kvm_vcpu *vcpu,
			    const struct x86_exception *exc)
{
	if (exc->vector == X86_EXC_PF)
		vcpu->arch.cr2 = exc->cr2;
	if (exc->has_error_code)
		kvm_queue_exception_e(vcpu, exc->vector, exc->error_code);
	else
		kvm_queue_exception(vcpu, exc->vector);
}

static int complete_emulated_io(struct kvm_vcpu *vcpu);

/* How the instruction being emulated started (see kvm_handle_mmio). */
struct kvm_emul_start {
	bool npf;
	gpa_t fault_gpa;
};

/* The instruction is over: forget its MMIO reads and read-ahead data. */
static void kvm_emul_done(struct kvm_vcpu *vcpu)
{
	vcpu->arch.mmio.nr_rd = 0;
	vcpu->arch.pio.cached = false;
}

/* Emulate the instruction at RIP; exits as described at the top. */
static int kvm_emulate_insn(struct kvm_vcpu *vcpu,
			    const struct kvm_emul_start *start)
{
	struct kvm_mmio_request *m = &vcpu->arch.mmio;
	struct x86_emul_ctxt c;
	int r;

	vcpu->arch.emul_exit = false;
	m->nr_wr = 0;
	m->wr_pos = 0;
	kvm_emul_setup(vcpu, &c);
	c.fault_gpa_valid = start->npf;
	c.fault_gpa = start->fault_gpa;
	r = x86_emulate(&c);
	switch (r) {
	case X86EMUL_OK:
		if (kvm_emul_commit(vcpu, &c) && !vcpu->arch.emul_exit) {
			kvm_emul_done(vcpu);
			return kvm_complete_singlestep(vcpu);
		}
		break;
	case X86EMUL_FAULT:
		kvm_emul_commit(vcpu, &c);
		kvm_emul_inject(vcpu, &c.exc);
		m->nr_wr = 0;
		break;
	case X86EMUL_IO_NEEDED:
		if (vcpu->arch.emul_exit && !m->nr_wr) {
			/* A read (MMIO or port) waits for userspace. */
			vcpu->arch.complete_userspace_io = complete_emulated_io;
			return EXIT_USER;
		}
		fallthrough;
	default:
		kvm_emul_done(vcpu);
		return kvm_emulation_failure_insn(vcpu, &c.insn);
	}
	kvm_emul_done(vcpu);
	if (m->nr_wr) {
		mmio_write_exit(vcpu);
		vcpu->arch.complete_userspace_io = complete_emulated_io;
		return EXIT_USER;
	}
	if (!vcpu->arch.emul_exit)
		return EXIT_RESUME;
	/* An OUTS element is with userspace. */
	vcpu->arch.complete_userspace_io = complete_emulated_io;
	return EXIT_USER;
}

/* Next KVM_RUN after an emulated exit: take the data, emulate again. */
static int complete_emulated_io(struct kvm_vcpu *vcpu)
{
	struct kvm_mmio_request *m = &vcpu->arch.mmio;
	struct kvm_run *run = vcpu->run;
	struct kvm_emul_start start = { };

	if (m->nr_wr) {
		/* The instruction is done: its write fragments go in turn */
		if (++m->wr_pos < m->nr_wr) {
			mmio_write_exit(vcpu);
			vcpu->arch.complete_userspace_io = complete_emulated_io;
			return EXIT_USER;
		}
		m->nr_wr = 0;
		return EXIT_RESUME;
	}
	switch (vcpu->arch.emul_io) {
	case EMUL_IO_MMIO_READ_NPF:
		/*
		 * The first read userspace answered for the instruction went
		 * where the fault's address led: to the fault's address, or
		 * (first half of a page-crossing access) where the walk led,
		 * which the fault's address would give again.
		 */
		start.npf = true;
		start.fault_gpa = m->nr_rd ? m->rd[0].gpa : m->pending.gpa;
		fallthrough;
	case EMUL_IO_MMIO_READ:
		m->pending.len = min_t(u8, m->pending.len,
				       sizeof(m->pending.data));
		memcpy(m->pending.data, run->mmio.data, m->pending.len);
		m->rd[m->nr_rd++] = m->pending;
		break;
	case EMUL_IO_PIO_IN:
		vcpu->arch.pio.cached = true;
		vcpu->arch.pio.pos = 0;
		break;
	default:
		return EXIT_RESUME;
	}
	return kvm_emulate_insn(vcpu, &start);
}

/*
 * A guest access to @gpa, outside RAM, faulted.  The emulator sends the
 * data access at @gpa's page offset to @gpa without walking the guest's
 * tables again (struct x86_emul_ctxt, fault_gpa), like upstream KVM: with
 * nested paging the fault may have been on a guest page-table read, and
 * then that access goes to the table's address, as upstream's does.
 */
int kvm_handle_mmio(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code)
{
	struct kvm_emul_start start = { .npf = true, .fault_gpa = gpa };

	/* Code in MMIO cannot be run by us (upstream cannot either). */
	if (error_code & PFERR_FETCH)
		return kvm_emulation_failure(vcpu);
	return kvm_emulate_insn(vcpu, &start);
}

int kvm_emulate_string_pio(struct kvm_vcpu *vcpu)
{
	struct kvm_emul_start start = { };

	return kvm_emulate_insn(vcpu, &start);
}

/* An intercepted instruction without decode assists (MOV to CR8). */
int kvm_emulate_instruction(struct kvm_vcpu *vcpu)
{
	struct kvm_emul_start start = { };

	return kvm_emulate_insn(vcpu, &start);
}

/*
 * Length of the instruction at RIP, for exits without a next-RIP from the
 * hardware.  Returns 0 if it cannot be decoded.
 */
unsigned int kvm_insn_len(struct kvm_vcpu *vcpu)
{
	struct x86_emul_ctxt c;

	kvm_emul_setup(vcpu, &c);
	vcpu->arch.emul_exit = false;
	if (x86_decode(&c) != X86EMUL_OK || vcpu->arch.emul_exit) {
		vcpu->arch.emul_exit = false;
		return 0;
	}
	return c.insn.len;
}

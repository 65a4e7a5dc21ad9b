// SPDX-License-Identifier: GPL-2.0
/* The test machine behind struct x86_emul_ops, see tvm.h. */
#include <stdlib.h>
#include <string.h>

#include "tvm.h"
#include "../../../arch/x86/kvm/mmu/walk.h"

#define PAGE 4096ULL

static struct tvm *to_vm(struct x86_emul_ctxt *c)
{
	return c->opaque;
}

static bool in_ram(struct tvm *vm, uint64_t gpa, unsigned int len)
{
	return gpa < vm->mem_size && len <= vm->mem_size - gpa;
}

static bool in_mmio(struct tvm *vm, uint64_t gpa, unsigned int len)
{
	return gpa >= vm->mmio_base && gpa - vm->mmio_base < vm->mmio_size &&
	       len <= vm->mmio_size - (gpa - vm->mmio_base);
}

static void log_io(struct tvm *vm, uint64_t addr, const void *val,
		   unsigned int len)
{
	struct tvm_io *e;

	if (vm->nlog == TVM_MMIO_MAX_LOG)
		return;
	e = &vm->log[vm->nlog++];
	e->addr = addr;
	e->len = len;
	memcpy(e->data, val, len > sizeof(e->data) ? sizeof(e->data) : len);
}

/*
 * A read userspace must serve: the first attempt exits; after completion
 * the instruction is re-executed and its reads are replayed in order.
 */
static int user_read(struct tvm *vm, bool pio, uint64_t addr, void *val,
		     unsigned int len)
{
	if (vm->next_done < vm->ndone) {
		struct tvm_io *d = &vm->done[vm->next_done];

		/* The emulator must repeat exactly the same accesses. */
		if (d->addr != addr || d->len != len ||
		    vm->done_pio[vm->next_done] != pio)
			return X86EMUL_UNHANDLED;
		memcpy(val, d->data, len);
		vm->next_done++;
		return X86EMUL_OK;
	}
	if (vm->ndone == sizeof(vm->done) / sizeof(vm->done[0]))
		return X86EMUL_UNHANDLED;
	vm->pending = true;
	vm->pending_pio = pio;
	vm->pend.addr = addr;
	vm->pend.len = len;
	return X86EMUL_IO_NEEDED;
}

static int read_phys(struct x86_emul_ctxt *c, uint64_t gpa, void *val,
		     unsigned int len)
{
	struct tvm *vm = to_vm(c);

	if (in_ram(vm, gpa, len)) {
		memcpy(val, vm->mem + gpa, len);
		return X86EMUL_OK;
	}
	if (in_mmio(vm, gpa, len))
		return user_read(vm, false, gpa, val, len);
	return X86EMUL_UNHANDLED;
}

static int write_phys(struct x86_emul_ctxt *c, uint64_t gpa, const void *val,
		      unsigned int len)
{
	struct tvm *vm = to_vm(c);

	if (in_ram(vm, gpa, len)) {
		memcpy(vm->mem + gpa, val, len);
		return X86EMUL_OK;
	}
	if (in_mmio(vm, gpa, len)) {
		memcpy(vm->mmio + (gpa - vm->mmio_base), val, len);
		log_io(vm, gpa, val, len);
		vm->exits++;
		return X86EMUL_IO_QUEUED;
	}
	return X86EMUL_UNHANDLED;
}

static int cmpxchg_phys(struct x86_emul_ctxt *c, uint64_t gpa,
			const void *old, const void *new, unsigned int len)
{
	struct tvm *vm = to_vm(c);

	if (in_mmio(vm, gpa, len))
		return X86EMUL_IO_QUEUED;
	if (!in_ram(vm, gpa, len))
		return X86EMUL_UNHANDLED;
	if (memcmp(vm->mem + gpa, old, len))
		return X86EMUL_FAULT;
	memcpy(vm->mem + gpa, new, len);
	return X86EMUL_OK;
}

static int pio_in(struct x86_emul_ctxt *c, uint16_t port, void *val,
		  unsigned int size)
{
	return user_read(to_vm(c), true, port, val, size);
}

static int pio_out(struct x86_emul_ctxt *c, uint16_t port, const void *val,
		   unsigned int size)
{
	struct tvm *vm = to_vm(c);

	log_io(vm, port, val, size);
	vm->exits++;
	return X86EMUL_IO_QUEUED;
}

static uint64_t get_cr(struct x86_emul_ctxt *c, int cr)
{
	return to_vm(c)->cr[cr];
}

static int set_cr(struct x86_emul_ctxt *c, int cr, uint64_t val)
{
	struct tvm *vm = to_vm(c);

	/* A tiny subset of the module's checks: reserved CR4/CR0 bits. */
	if (cr == 0 && (val >> 32))
		return -1;
	if (cr == 4 && (val & ~0x3fffffULL))
		return -1;
	vm->cr[cr] = val;
	return 0;
}

static uint64_t get_dr(struct x86_emul_ctxt *c, int dr)
{
	return to_vm(c)->dr[dr];
}

static int set_dr(struct x86_emul_ctxt *c, int dr, uint64_t val)
{
	to_vm(c)->dr[dr] = val;
	return 0;
}

static int get_msr(struct x86_emul_ctxt *c, uint32_t msr, uint64_t *val)
{
	if (msr != X86_MSR_EFER)
		return -1;
	*val = to_vm(c)->efer;
	return 0;
}

static int set_msr(struct x86_emul_ctxt *c, uint32_t msr, uint64_t val)
{
	if (msr != X86_MSR_EFER)
		return -1;
	to_vm(c)->efer = val;
	return 0;
}

static void get_seg(struct x86_emul_ctxt *c, int seg, struct x86_segment *s)
{
	*s = to_vm(c)->seg[seg];
}

static void set_seg(struct x86_emul_ctxt *c, int seg,
		    const struct x86_segment *s)
{
	to_vm(c)->seg[seg] = *s;
}

static void get_dt(struct x86_emul_ctxt *c, int idt, struct x86_dtable *dt)
{
	*dt = to_vm(c)->dt[idt];
}

static void set_dt(struct x86_emul_ctxt *c, int idt,
		   const struct x86_dtable *dt)
{
	to_vm(c)->dt[idt] = *dt;
}

static void invlpg(struct x86_emul_ctxt *c, uint64_t la)
{
	to_vm(c)->invlpg_la = la;
}

static void wbinvd(struct x86_emul_ctxt *c)
{
	to_vm(c)->wbinvd++;
}

const struct x86_emul_ops tvm_ops = {
	.read_phys = read_phys, .write_phys = write_phys,
	.cmpxchg_phys = cmpxchg_phys, .pio_in = pio_in, .pio_out = pio_out,
	.get_cr = get_cr, .set_cr = set_cr, .get_dr = get_dr,
	.set_dr = set_dr, .get_msr = get_msr, .set_msr = set_msr,
	.get_seg = get_seg, .set_seg = set_seg, .get_dt = get_dt,
	.set_dt = set_dt, .invlpg = invlpg, .wbinvd = wbinvd,
};

struct tvm *tvm_create(uint64_t mem_size)
{
	struct tvm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->mem = calloc(1, mem_size);
	vm->mmio_size = 2 * PAGE;
	vm->mmio = calloc(1, vm->mmio_size);
	if (!vm->mem || !vm->mmio) {
		tvm_destroy(vm);
		return NULL;
	}
	vm->mem_size = mem_size;
	vm->mmio_base = 0xfe000000ULL;
	vm->pt_next = mem_size;
	tvm_set_mode(vm, X86_MODE_LONG64);
	return vm;
}

void tvm_destroy(struct tvm *vm)
{
	if (!vm)
		return;
	free(vm->mem);
	free(vm->mmio);
	free(vm);
}

void tvm_set_mode(struct tvm *vm, enum x86_cpu_mode mode)
{
	bool real = mode == X86_MODE_REAL || mode == X86_MODE_VM86;
	int i;

	for (i = 0; i < X86_NR_SEGS; i++) {
		struct x86_segment *s = &vm->seg[i];

		memset(s, 0, sizeof(*s));
		s->limit = real ? 0xffff : 0xffffffffu;
		s->type = i == X86_SEG_CS ? 0xb : 0x3;	/* code RX / data RW */
		s->s = 1;
		s->present = 1;
		s->db = mode == X86_MODE_PROT32 ||
			(mode == X86_MODE_LONG64 && i != X86_SEG_CS);
		s->l = mode == X86_MODE_LONG64 && i == X86_SEG_CS;
		s->g = !real;
		s->dpl = mode == X86_MODE_VM86 ? 3 : 0;
	}
	vm->seg[X86_SEG_TR].s = 0;
	vm->seg[X86_SEG_TR].type = 0xb;
	vm->seg[X86_SEG_TR].limit = 0x67;
	vm->seg[X86_SEG_LDTR].unusable = 1;
	vm->cr[0] = real ? 0x10 : 0x11;		/* ET, PE */
	vm->cr[3] = 0;				/* fresh page tables */
	vm->cr[4] = 0;
	vm->pt_next = vm->mem_size;
	vm->efer = 0;
	if (mode == X86_MODE_LONG64)
		tvm_paging_long(vm);
}

static uint64_t alloc_pt(struct tvm *vm)
{
	vm->pt_next -= PAGE;
	memset(vm->mem + vm->pt_next, 0, PAGE);
	return vm->pt_next;
}

void tvm_paging_long(struct tvm *vm)
{
	if (!vm->cr[3])
		vm->cr[3] = alloc_pt(vm);
	vm->cr[0] |= X86_CR0_PG | 1;
	vm->cr[4] |= X86_CR4_PAE;
	vm->efer |= X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
}

void tvm_map(struct tvm *vm, uint64_t la, uint64_t gpa, uint64_t flags)
{
	uint64_t table = vm->cr[3] & ~0xfffULL;
	int level;

	for (level = 4; level > 1; level--) {
		uint64_t *e = (uint64_t *)(vm->mem + table) +
			      ((la >> (12 + 9 * (level - 1))) & 511);

		if (!(*e & X86_PTE_P))
			*e = alloc_pt(vm) | X86_PTE_P | X86_PTE_RW | X86_PTE_US;
		table = *e & 0x000ffffffffff000ULL;
	}
	((uint64_t *)(vm->mem + table))[(la >> 12) & 511] =
		(gpa & ~0xfffULL) | flags;
}

void tvm_prepare(struct tvm *vm, enum x86_cpu_mode mode, uint8_t cpl)
{
	struct x86_emul_ctxt *c = &vm->c;
	uint64_t regs[X86_NR_GPRS], rip = c->rip, rflags = c->rflags;

	memcpy(regs, c->regs, sizeof(regs));
	x86_emul_init(c, &tvm_ops, vm, mode, cpl);
	memcpy(c->regs, regs, sizeof(regs));
	c->rip = rip;
	c->rflags = rflags | 2;
}

int tvm_emulate(struct tvm *vm, unsigned int max_rounds)
{
	int r = X86EMUL_UNHANDLED;
	unsigned int i;

	vm->ndone = 0;
	for (i = 0; i < max_rounds; i++) {
		vm->next_done = 0;
		vm->pending = false;
		r = x86_emulate(&vm->c);
		if (r != X86EMUL_IO_NEEDED)
			break;
		/* "Userspace" completes the read, then we re-execute. */
		if (!vm->pending)
			return X86EMUL_UNHANDLED;
		if (vm->pending_pio)
			memcpy(vm->pend.data, vm->ports + vm->pend.addr,
			       vm->pend.len);
		else
			memcpy(vm->pend.data,
			       vm->mmio + (vm->pend.addr - vm->mmio_base),
			       vm->pend.len);
		vm->done[vm->ndone] = vm->pend;
		vm->done_pio[vm->ndone] = vm->pending_pio;
		vm->ndone++;
		vm->exits++;
	}
	vm->ndone = 0;
	return r;
}

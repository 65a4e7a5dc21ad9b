// SPDX-License-Identifier: GPL-2.0
/*
 * The little firmware a PC guest looks for: the BIOS data area, and for
 * the real-mode boot protocol the BIOS services the kernel's setup code
 * calls (memory map, video mode, keyboard, disks).
 *
 * Each interrupt vector points at a 4-byte stub "out BIOS_PORT, al;
 * iret".  The OUT exits to lkvm, which finds the vector from the stub's
 * address, performs the service on the vCPU's registers and returns the
 * carry flag through the FLAGS image the INT pushed on the stack.
 */
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/bus.h"
#include "kvm/init.h"
#include "kvm/kvm-cpu.h"
#include "kvm/x86.h"

#define BIOS_PORT		0xe0
#define BIOS_STUBS_ADDR		0xf8000
#define BIOS_SEG		0xf000
#define STUB_SIZE		4
#define NR_VECTORS		256

/* BIOS data area (IBM PC/AT Technical Reference, "BIOS Data Area"). */
#define BDA_EBDA_SEG		0x40e
#define BDA_BASE_MEM_KB		0x413

#define X86_EFLAGS_CF		0x0001
#define SMAP			0x534d4150	/* "SMAP" */
#define INT15_UNSUPPORTED	0x86

struct bios_call {
	struct kvm_cpu *cpu;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool carry;
};

static u16 ax(struct bios_call *c) { return c->regs.rax; }
static u8 ah(struct bios_call *c) { return c->regs.rax >> 8; }
static void set_ax(struct bios_call *c, u16 v) { c->regs.rax = (c->regs.rax & ~0xffffULL) | v; }
static void set_ah(struct bios_call *c, u8 v) { c->regs.rax = (c->regs.rax & ~0xff00ULL) | (u16)v << 8; }

/* INT 15h, AX=E820h: one memory map entry per call. */
static void int15_e820(struct bios_call *c)
{
	struct kvm *kvm = c->cpu->kvm;
	struct e820_entry map[E820_MAX];
	int nr = x86__e820_map(kvm, map, E820_MAX);
	u32 index = c->regs.rbx;
	u64 buf = c->sregs.es.base + (c->regs.rdi & 0xffff);
	void *dst;

	if ((u32)c->regs.rdx != SMAP || index >= (u32)nr ||
	    (u32)c->regs.rcx < sizeof(map[0]) ||
	    !(dst = guest_ptr(kvm, buf, sizeof(map[0])))) {
		c->carry = true;
		return;
	}
	memcpy(dst, &map[index], sizeof(map[0]));
	c->regs.rax = SMAP;
	c->regs.rcx = sizeof(map[0]);
	c->regs.rbx = index + 1 < (u32)nr ? index + 1 : 0;
}

static void int15(struct bios_call *c)
{
	u64 above_1m = c->cpu->kvm->ram_low - KERNEL_LOAD_ADDR;

	switch (ax(c)) {
	case 0xe820:
		int15_e820(c);
		return;
	case 0xe801:
		/* KiB in 1-16 MiB, then 64 KiB blocks above 16 MiB (< 4 GiB). */
		set_ax(c, MIN(above_1m / KiB, 15 * 1024));
		c->regs.rbx = above_1m > 15 * MiB ?
			MIN((above_1m - 15 * MiB) / (64 * KiB), 0xffff) : 0;
		c->regs.rcx = c->regs.rax & 0xffff;
		c->regs.rdx = c->regs.rbx;
		return;
	}
	if (ah(c) == 0x88) {
		set_ax(c, MIN(above_1m / KiB, 0xffff));
		return;
	}
	set_ah(c, INT15_UNSUPPORTED);
	c->carry = true;
}

static void int10(struct bios_call *c)
{
	/* AH=0Fh "get video mode": 80x25 colour text, page 0. */
	if (ah(c) == 0x0f) {
		c->regs.rax = (c->regs.rax & ~0xffffULL) | 80 << 8 | 0x03;
		c->regs.rbx &= ~0xff00ULL;
	}
	/* Everything else: no video hardware, registers unchanged. */
}

static void bios__call(struct bios_call *c, int vector)
{
	switch (vector) {
	case 0x10:
		int10(c);
		break;
	case 0x15:
		int15(c);
		break;
	case 0x13:	/* disk services (EDD): no disks */
		set_ah(c, 0x01);
		c->carry = true;
		break;
	case 0x16:	/* keyboard: no keys, no shift state */
		set_ax(c, 0);
		break;
	default:
		break;
	}
}

static void bios__io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
		     bool is_write, void *opaque)
{
	struct bios_call c = { .cpu = cpu };
	u64 linear, flags_addr;
	u16 *flags;
	int vector;

	(void)off;
	(void)len;
	(void)opaque;
	if (!is_write || !cpu) {
		data[0] = 0xff;
		return;
	}
	/* Finish the OUT so that the registers we read and write are final. */
	kvm_cpu__complete_io(cpu);
	if (ioctl(cpu->fd, KVM_GET_REGS, &c.regs) < 0 ||
	    ioctl(cpu->fd, KVM_GET_SREGS, &c.sregs) < 0)
		die_errno("BIOS call: cannot read registers");

	/* RIP is past the 2-byte OUT at the start of the vector's stub. */
	linear = c.sregs.cs.base + c.regs.rip - 2;
	if (linear < BIOS_STUBS_ADDR ||
	    linear >= BIOS_STUBS_ADDR + NR_VECTORS * STUB_SIZE)
		return;
	vector = (linear - BIOS_STUBS_ADDR) / STUB_SIZE;
	bios__call(&c, vector);

	/* INT pushed FLAGS, CS, IP: FLAGS is at SS:SP+4. */
	flags_addr = c.sregs.ss.base + ((c.regs.rsp + 4) & 0xffff);
	flags = guest_ptr(cpu->kvm, flags_addr, 2);
	if (flags)
		*flags = c.carry ? (*flags | X86_EFLAGS_CF) :
				   (*flags & ~X86_EFLAGS_CF);
	if (ioctl(cpu->fd, KVM_SET_REGS, &c.regs) < 0)
		die_errno("BIOS call: cannot write registers");
	pr_debug("BIOS int %#x ax=%#llx", vector,
		 (unsigned long long)c.regs.rax);
}

static int bios__init(struct kvm *kvm)
{
	u16 *ivt = guest_ptr(kvm, 0, NR_VECTORS * 4);
	u8 *stubs = guest_ptr(kvm, BIOS_STUBS_ADDR, NR_VECTORS * STUB_SIZE);
	u8 *bda = guest_ptr(kvm, 0x400, 0x100);

	for (int v = 0; v < NR_VECTORS; v++) {
		u8 *s = stubs + v * STUB_SIZE;

		s[0] = 0xe6;		/* out imm8, al */
		s[1] = BIOS_PORT;
		s[2] = 0xcf;		/* iret */
		s[3] = 0x90;		/* nop */
		ivt[2 * v] = BIOS_STUBS_ADDR - (BIOS_SEG << 4) + v * STUB_SIZE;
		ivt[2 * v + 1] = BIOS_SEG;
	}
	memset(bda, 0, 0x100);
	bda[BDA_EBDA_SEG - 0x400] = (EBDA_START >> 4) & 0xff;
	bda[BDA_EBDA_SEG - 0x400 + 1] = EBDA_START >> 12;
	bda[BDA_BASE_MEM_KB - 0x400] = (EBDA_START / KiB) & 0xff;
	bda[BDA_BASE_MEM_KB - 0x400 + 1] = (EBDA_START / KiB) >> 8;
	return bus__register(BUS_PIO, BIOS_PORT, 1, bios__io, NULL);
}
lkvm_init(INIT_FIRMWARE, bios__init);

// SPDX-License-Identifier: GPL-2.0
/*
 * The MP table (Intel MultiProcessor Specification 1.4, chapter 4): it
 * tells the guest how many CPUs there are, where the IOAPIC is and how
 * ISA and PCI interrupts reach it.  A guest booted with acpi=off (or any
 * OS without ACPI) reads this; with ACPI on, Linux reads the MADT that
 * acpi.c builds from the same facts.
 */
#include <string.h>

#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/pci.h"
#include "kvm/x86.h"

#define MP_FLOATING_ADDR	0xf0000	/* Linux scans 0xf0000-0xfffff */
#define MP_CONFIG_ADDR		(MP_FLOATING_ADDR + 0x10)
#define MP_MAX_SIZE		0x1000
#define MP_SPEC_REV		4	/* version 1.4 */

#define MP_PROCESSOR		0
#define MP_BUS			1
#define MP_IOAPIC		2
#define MP_INTSRC		3
#define MP_LINTSRC		4

#define CPU_ENABLED		0x01
#define CPU_BOOTPROCESSOR	0x02
#define APIC_VERSION		0x14
#define IOAPIC_VERSION		0x11

#define MP_INT			0
#define MP_NMI			1
#define MP_EXTINT		3
#define MP_IRQ_CONFORMS		0	/* polarity/trigger conform to the bus */
#define MP_ALL_LAPICS		0xff

#define BUS_ID_PCI		0
#define BUS_ID_ISA		1
#define ISA_IRQS		16

struct mpf_intel {
	char signature[4];		/* "_MP_" */
	u32 physptr;
	u8 length;			/* in 16-byte units */
	u8 specification;
	u8 checksum;
	u8 feature1;
	u8 feature2;
	u8 feature3[3];
} __attribute__((packed));

struct mpc_table {
	char signature[4];		/* "PCMP" */
	u16 length;
	u8 spec;
	u8 checksum;
	char oem[8];
	char productid[12];
	u32 oemptr;
	u16 oemsize;
	u16 oemcount;			/* number of entries */
	u32 lapic;
	u16 reserved_ext_len;
	u8 reserved_ext_sum;
	u8 reserved;
} __attribute__((packed));

struct mpc_cpu {
	u8 type;
	u8 apicid;
	u8 apicver;
	u8 cpuflag;
	u32 cpufeature;
	u32 featureflag;
	u32 reserved[2];
} __attribute__((packed));

struct mpc_bus {
	u8 type;
	u8 busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	u8 type;
	u8 apicid;
	u8 apicver;
	u8 flags;
	u32 apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	u8 type;
	u8 irqtype;
	u16 irqflag;
	u8 srcbus;
	u8 srcbusirq;
	u8 dstapic;
	u8 dstirq;
} __attribute__((packed));

static u8 checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

struct mp_writer {
	u8 *base, *cur;
	u16 count;
};

static void *mp_add(struct mp_writer *w, size_t size)
{
	void *p = w->cur;

	w->cur += size;
	w->count++;
	return p;
}

static void mp_add_intsrc(struct mp_writer *w, u8 type, u8 irqtype, u8 bus,
			  u8 busirq, u8 dst, u8 pin)
{
	struct mpc_intsrc *e = mp_add(w, sizeof(*e));

	*e = (struct mpc_intsrc){ .type = type, .irqtype = irqtype,
				  .irqflag = MP_IRQ_CONFORMS, .srcbus = bus,
				  .srcbusirq = busirq, .dstapic = dst,
				  .dstirq = pin };
}

static int mptable__init(struct kvm *kvm)
{
	struct mpf_intel *mpf = guest_ptr(kvm, MP_FLOATING_ADDR, sizeof(*mpf));
	struct mpc_table *mpc = guest_ptr(kvm, MP_CONFIG_ADDR, MP_MAX_SIZE);
	struct mp_writer w = { .base = (u8 *)mpc };
	u8 ioapic_id = X86_IOAPIC_ID(kvm);
	struct mpc_bus *bus;
	struct mpc_ioapic *io;

	memset(mpc, 0, MP_MAX_SIZE);
	w.cur = w.base + sizeof(*mpc);

	for (int i = 0; i < kvm->nr_cpus; i++) {
		struct mpc_cpu *c = mp_add(&w, sizeof(*c));

		c->type = MP_PROCESSOR;
		c->apicid = i;
		c->apicver = APIC_VERSION;
		c->cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0);
	}

	bus = mp_add(&w, sizeof(*bus));
	*bus = (struct mpc_bus){ MP_BUS, BUS_ID_PCI, "PCI   " };
	bus = mp_add(&w, sizeof(*bus));
	*bus = (struct mpc_bus){ MP_BUS, BUS_ID_ISA, "ISA   " };

	io = mp_add(&w, sizeof(*io));
	*io = (struct mpc_ioapic){ MP_IOAPIC, ioapic_id, IOAPIC_VERSION,
				   CPU_ENABLED, X86_IOAPIC_ADDR };

	/* ISA IRQ n is IOAPIC pin n: that is how KVM's irqchip routes GSIs. */
	for (int irq = 0; irq < ISA_IRQS; irq++)
		mp_add_intsrc(&w, MP_INTSRC, MP_INT, BUS_ID_ISA, irq,
			      ioapic_id, irq);

	/* PCI: source IRQ is (slot << 2) | (INTA# = 0). */
	for (int i = 0; i < pci__nr_devices(); i++) {
		struct pci_device *d = pci__device(i);

		if (!d->cfg[PCI_INTERRUPT_PIN])
			continue;
		mp_add_intsrc(&w, MP_INTSRC, MP_INT, BUS_ID_PCI, d->slot << 2,
			      ioapic_id, d->gsi);
	}

	mp_add_intsrc(&w, MP_LINTSRC, MP_EXTINT, BUS_ID_ISA, 0, MP_ALL_LAPICS, 0);
	mp_add_intsrc(&w, MP_LINTSRC, MP_NMI, BUS_ID_ISA, 0, MP_ALL_LAPICS, 1);

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = w.cur - w.base;
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "LKVM    ", 8);
	memcpy(mpc->productid, "LKVM        ", 12);
	mpc->oemcount = w.count;
	mpc->lapic = X86_LAPIC_ADDR;
	mpc->checksum = checksum(mpc, mpc->length);

	memset(mpf, 0, sizeof(*mpf));
	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = MP_CONFIG_ADDR;
	mpf->length = 1;
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return 0;
}
lkvm_init(INIT_FIRMWARE, mptable__init);

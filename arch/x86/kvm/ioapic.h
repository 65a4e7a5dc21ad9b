/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The I/O APIC model (Intel 82093AA datasheet): 24 redirection entries
 * behind an index/data register pair at 0xfec00000.
 */
#ifndef UKVM_X86_IOAPIC_H
#define UKVM_X86_IOAPIC_H

#include "irq.h"
#include "iobus.h"

#define IOAPIC_DEFAULT_BASE	0xfec00000ULL
#define IOAPIC_MEM_LENGTH	0x100

struct kvm_ioapic {
	struct kvm *kvm;
	struct kvm_io_device dev;
	spinlock_t lock;		/* protects everything below */
	u64 base;
	u32 ioregsel;
	u32 id;
	u32 irr;			/* asserted inputs */
	/* Which sources (KVM_*_IRQ_SOURCE_ID) drive each pin high. */
	unsigned long line[KVM_IOAPIC_NUM_PINS];
	u64 redirtbl[KVM_IOAPIC_NUM_PINS];
};

#endif /* UKVM_X86_IOAPIC_H */

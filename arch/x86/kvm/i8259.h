/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Two cascaded 8259A programmable interrupt controllers (Intel 8259A
 * datasheet), the slave on the master's IR2, as in every PC.
 */
#ifndef UKVM_X86_I8259_H
#define UKVM_X86_I8259_H

#include "irq.h"
#include "iobus.h"

#define PIC_MASTER_PORT		0x20
#define PIC_SLAVE_PORT		0xa0
#define PIC_ELCR_PORT		0x4d0	/* edge/level control, two bytes */
#define PIC_CASCADE_IR		2

struct kvm_pic {
	struct kvm *kvm;
	spinlock_t lock;		/* protects everything below */
	/* [0] master, [1] slave, in the KVM_GET_IRQCHIP layout. */
	struct kvm_pic_state chip[2];
	/* Which sources (KVM_*_IRQ_SOURCE_ID) drive each input high. */
	unsigned long line[KVM_PIC_NUM_PINS];
	bool output;			/* INT to the CPUs' LINT0 */
	u16 acked;			/* EOIs to report once unlocked */
	struct kvm_io_device dev_master;
	struct kvm_io_device dev_slave;
	struct kvm_io_device dev_elcr;
};

#endif /* UKVM_X86_I8259_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The 8254 programmable interval timer (Intel 8254 datasheet) at ports
 * 0x40-0x43, channel 0 wired to IRQ0, and the port 0x61 bits of its
 * channel 2 gate and output.
 */
#ifndef UKVM_X86_I8254_H
#define UKVM_X86_I8254_H

#include <linux/hrtimer.h>
#include <linux/workqueue.h>

#include "irq.h"
#include "iobus.h"

#define PIT_BASE_PORT		0x40
#define PIT_SPEAKER_PORT	0x61
#define PIT_FREQ_HZ		1193182

struct kvm_pit {
	struct kvm *kvm;
	spinlock_t lock;		/* protects @state and the timer setup */
	struct kvm_pit_state2 state;
	struct kvm_io_device dev;
	struct kvm_io_device speaker_dev;
	bool speaker;			/* KVM_PIT_SPEAKER_DUMMY: 0x61 is ours */

	/* Channel 0 ticks. */
	struct hrtimer timer;
	u64 period_ns;			/* 0: one-shot */
	struct work_struct inject;
	atomic_t pending;		/* ticks not yet delivered (reinject) */
	atomic_t irq_ack;		/* the last tick was acknowledged */
	bool reinject;
	struct kvm_irq_ack_notifier ack;
	bool ack_registered;		/* only touched by @inject */
};

#endif /* UKVM_X86_I8254_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The local APIC model (Intel SDM vol 3, chapter 10 "Advanced
 * Programmable Interrupt Controller"): one per vCPU once the VM has an
 * in-kernel irqchip.
 */
#ifndef UKVM_X86_LAPIC_H
#define UKVM_X86_LAPIC_H

#include <linux/hrtimer.h>
#include <asm/apicdef.h>

#include "irq.h"

/* Events another context posts for the vCPU thread (pending_events). */
enum {
	KVM_APIC_INIT,
	KVM_APIC_SIPI,
};

/* Timer modes, LVT timer bits 18:17 (SDM vol 3, 10.5.1). */
enum {
	APIC_TIMER_ONESHOT,
	APIC_TIMER_PERIODIC,
	APIC_TIMER_TSCDEADLINE,
};

struct kvm_lapic {
	struct kvm_vcpu *vcpu;
	/*
	 * The register page, laid out like the hardware's (and KVM_GET_LAPIC's)
	 * first KiB.  IRR and TMR bits are set atomically from any context;
	 * everything else is written by the vCPU thread only.
	 */
	void *regs;
	u64 base;			/* xAPIC MMIO base (IA32_APIC_BASE) */
	bool hw_enabled;		/* IA32_APIC_BASE.EN */
	bool x2apic;			/* IA32_APIC_BASE.EXTD */
	u32 esr_pending;		/* errors latched into ESR on next write */
	bool esr_irq;			/* a new error: raise LVT error once */
	u8 cr8_shadow;			/* what we last put in vcpu->arch.cr8 */

	/* The timer: hrtimer callbacks only count expiries. */
	struct hrtimer timer;
	u32 timer_mode;			/* the mode the hrtimer was armed for */
	u64 period_ns;			/* one-shot/periodic: TMICT in ns */
	u64 tscdeadline;		/* IA32_TSC_DEADLINE */
	atomic_t timer_pending;

	unsigned long pending_events;	/* KVM_APIC_INIT, KVM_APIC_SIPI */
	u8 sipi_vector;

	/*
	 * Halt polling (irq.c, vCPU thread only): how long this vCPU polls
	 * before it sleeps in HLT, grown and shrunk from how long its recent
	 * HLTs lasted.  Here because only a vCPU with an APIC sleeps in HLT.
	 */
	u32 halt_poll_ns;

	/*
	 * Split irqchip (vCPU thread): an EOI userspace's IOAPIC must hear
	 * (KVM_EXIT_IOAPIC_EOI), and the ExtINT vector of KVM_INTERRUPT;
	 * -1 for none.
	 */
	int pending_ioapic_eoi;
	int pending_extint;

	/* KVM_SET_VAPIC_ADDR: the TPR shadow in guest memory, 0 for none. */
	u64 vapic_addr;

	/* PV EOI: the guest's flag is set for @pv_eoi_vector (vCPU thread). */
	bool pv_eoi_pending;
	u8 pv_eoi_vector;
};

static inline u32 kvm_lapic_get_reg(struct kvm_lapic *apic, int reg)
{
	return READ_ONCE(*(u32 *)(apic->regs + reg));
}

static inline void kvm_lapic_set_reg(struct kvm_lapic *apic, int reg, u32 v)
{
	WRITE_ONCE(*(u32 *)(apic->regs + reg), v);
}

#endif /* UKVM_X86_LAPIC_H */

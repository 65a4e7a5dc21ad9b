// SPDX-License-Identifier: GPL-2.0-only
/*
 * The local APIC (Intel SDM vol 3, chapter 10): xAPIC registers through
 * MMIO at IA32_APIC_BASE, x2APIC registers through MSRs 0x800-0x8ff
 * (10.12), priorities (10.8.3.1), EOI (10.8.5), IPIs (10.6), the timer in
 * one-shot, periodic and TSC-deadline modes (10.5.4) on an hrtimer, and
 * INIT/SIPI (8.4).
 *
 * Other contexts (IOAPIC, other vCPUs, irqfds, the timer) only set IRR and
 * TMR bits atomically or post INIT/SIPI/timer events, then kick the vCPU;
 * its own thread does everything else.
 */
#include <linux/slab.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <asm/msr.h>

#include "lapic.h"
#include "kvm_para.h"
#include "smm.h"
#include "hyperv.h"

/* Version register: an integrated APIC, version 0x14, 6 LVT entries. */
#define APIC_VERSION_VALUE	(0x14 | ((6 - 1) << 16))
/* The APIC timer counts a 1 GHz "bus clock" divided by TDCR. */
#define APIC_BUS_CYCLE_NS	1
/* Periodic timers faster than this are slowed down (a storm guard). */
#define APIC_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)
/* Vectors 0-15 are reserved; delivering one is an "illegal vector". */
#define APIC_FIRST_VALID_VECTOR	16

#define LVT_MASK_BITS	(APIC_LVT_MASKED | APIC_VECTOR_MASK)
#define LINT_MASK_BITS	(LVT_MASK_BITS | APIC_MODE_MASK | APIC_INPUT_POLARITY | \
			 APIC_LVT_LEVEL_TRIGGER)
/* ICR destination shorthand, bits 19:18 (10.6.1). */
#define APIC_SHORT_MASK		0xc0000
#define LVT_TIMER_MODE_SHIFT	17
#define LVT_TIMER_MODE_MASK	(3 << LVT_TIMER_MODE_SHIFT)

/* The writable bits of each LVT, indexed from APIC_LVTT (10.5.1). */
static const u32 lvt_writable[] = {
	LVT_MASK_BITS | LVT_TIMER_MODE_MASK,		/* timer */
	LVT_MASK_BITS | APIC_MODE_MASK,			/* thermal */
	LVT_MASK_BITS | APIC_MODE_MASK,			/* perf counters */
	LINT_MASK_BITS,					/* LINT0 */
	LINT_MASK_BITS,					/* LINT1 */
	LVT_MASK_BITS,					/* error */
};
#define NR_LVT	ARRAY_SIZE(lvt_writable)

static struct kvm_lapic *vcpu_apic(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.apic;
}

/* ---- vector bitmaps: 8 registers of 32 bits, 16 bytes apart ---------- */

static unsigned long *vec_word(struct kvm_lapic *apic, int base, int vec)
{
	return (unsigned long *)(apic->regs + base + (vec >> 5) * 0x10);
}

static void vec_set(struct kvm_lapic *apic, int base, int vec)
{
	set_bit(vec & 31, vec_word(apic, base, vec));
}

static void vec_clear(struct kvm_lapic *apic, int base, int vec)
{
	clear_bit(vec & 31, vec_word(apic, base, vec));
}

static bool vec_test(struct kvm_lapic *apic, int base, int vec)
{
	return test_bit(vec & 31, vec_word(apic, base, vec));
}

/* Highest set vector of a bitmap, or -1. */
static int vec_highest(struct kvm_lapic *apic, int base)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 w = kvm_lapic_get_reg(apic, base + i * 0x10);

		if (w)
			return i * 32 + fls(w) - 1;
	}
	return -1;
}

static bool apic_sw_enabled(struct kvm_lapic *apic)
{
	return kvm_lapic_get_reg(apic, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

static bool apic_enabled(struct kvm_lapic *apic)
{
	return apic->hw_enabled && apic_sw_enabled(apic);
}

static u32 apic_id(struct kvm_lapic *apic)
{
	u32 id = kvm_lapic_get_reg(apic, APIC_ID);

	return apic->x2apic ? id : id >> 24;
}

/* ---- priorities (10.8.3.1) ------------------------------------------- */

static u32 apic_ppr(struct kvm_lapic *apic)
{
	u32 tpr = kvm_lapic_get_reg(apic, APIC_TASKPRI) & 0xff;
	int isr = vec_highest(apic, APIC_ISR);
	u32 isrv = isr < 0 ? 0 : isr;

	return (tpr & 0xf0) >= (isrv & 0xf0) ? tpr : isrv & 0xf0;
}

static void apic_update_ppr(struct kvm_lapic *apic)
{
	kvm_lapic_set_reg(apic, APIC_PROCPRI, apic_ppr(apic));
}

/* The vector the APIC would present to the core now, or -1. */
int kvm_lapic_has_interrupt(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	int irr;

	if (!apic || !apic->hw_enabled)
		return -1;
	irr = vec_highest(apic, APIC_IRR);
	if (irr < 0 || (irr & 0xf0) <= (apic_ppr(apic) & 0xf0))
		return -1;
	return irr;
}

/*
 * A pending vector held back only by the task priority: returns its
 * priority class, so the backend can exit when the guest lowers CR8.
 */
int kvm_lapic_tpr_blocked(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	int irr, isr;

	if (!apic || !apic->hw_enabled)
		return -1;
	irr = vec_highest(apic, APIC_IRR);
	isr = vec_highest(apic, APIC_ISR);
	if (irr < 0 || (isr >= 0 && (irr & 0xf0) <= (isr & 0xf0)))
		return -1;
	return irr >> 4;
}

static void apic_eoi(struct kvm_lapic *apic);

/* The core takes @vector: IRR to ISR (10.8.4). */
void kvm_lapic_ack_interrupt(struct kvm_vcpu *vcpu, int vector)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	vec_clear(apic, APIC_IRR, vector);
	vec_set(apic, APIC_ISR, vector);
	apic_update_ppr(apic);
	/* A Hyper-V auto-EOI SINT needs no EOI from the guest. */
	if (kvm_hv_synic_auto_eoi(vcpu, vector))
		apic_eoi(apic);
}

/* LINT0 programmed for ExtINT (or the APIC off) lets the 8259 through. */
bool kvm_lapic_accept_pic_intr(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	u32 lvt0;

	if (!apic || !apic->hw_enabled)
		return true;
	lvt0 = kvm_lapic_get_reg(apic, APIC_LVT0);
	return !(lvt0 & APIC_LVT_MASKED) &&
	       (lvt0 & APIC_MODE_MASK) == APIC_DM_EXTINT;
}

/* The ExtINT vector userspace's PIC gave with KVM_INTERRUPT (split irqchip). */
int *kvm_lapic_extint(struct kvm_vcpu *vcpu)
{
	return vcpu_apic(vcpu) ? &vcpu_apic(vcpu)->pending_extint : NULL;
}

/* The EOI to report with KVM_EXIT_IOAPIC_EOI, or -1. */
int kvm_lapic_take_ioapic_eoi(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	int vector;

	if (!apic || apic->pending_ioapic_eoi < 0)
		return -1;
	vector = apic->pending_ioapic_eoi;
	apic->pending_ioapic_eoi = -1;
	return vector;
}

/* ---- accepting interrupts (10.6, 10.8.1) ------------------------------ */

/* Any context: the vCPU thread raises the LVT error interrupt once. */
static void apic_error(struct kvm_lapic *apic, u32 bit)
{
	apic->esr_pending |= bit;
	WRITE_ONCE(apic->esr_irq, true);
}

/* Returns 1 if the APIC took the message, 0 if it dropped it. */
static int apic_accept_irq(struct kvm_lapic *apic,
			   const struct kvm_lapic_irq *irq)
{
	struct kvm_vcpu *vcpu = apic->vcpu;

	switch (irq->delivery_mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (!apic_enabled(apic))
			return 0;
		if (irq->vector < APIC_FIRST_VALID_VECTOR) {
			apic_error(apic, APIC_ESR_RECVILL);
			return 0;
		}
		if (irq->trig_level)
			vec_set(apic, APIC_TMR, irq->vector);
		else
			vec_clear(apic, APIC_TMR, irq->vector);
		vec_set(apic, APIC_IRR, irq->vector);
		break;
	case APIC_DM_NMI:
		atomic_inc(&vcpu->arch.nmi_pending);
		break;
	case APIC_DM_INIT:
		/* INIT level de-assert only resyncs arbitration IDs. */
		if (irq->trig_level && !irq->level)
			return 0;
		set_bit(KVM_APIC_INIT, &apic->pending_events);
		break;
	case APIC_DM_STARTUP:
		apic->sipi_vector = irq->vector;
		/* Vector before the event bit: pairs with test_and_clear. */
		smp_wmb();
		set_bit(KVM_APIC_SIPI, &apic->pending_events);
		break;
	case APIC_DM_SMI:
		if (!kvm_smm_post_smi(vcpu))
			return 0;
		break;
	default:
		/* ExtINT: only LINT0 carries it, see above. */
		return 0;
	}
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	kvm_vcpu_kick(vcpu);
	return 1;
}

static bool match_physical(struct kvm_lapic *apic, u32 dest, bool x2dest)
{
	if (apic->x2apic) {
		if (x2dest)
			return dest == 0xffffffff || dest == apic_id(apic);
		return dest == 0xff || dest == apic_id(apic);
	}
	dest &= 0xff;
	return dest == 0xff || dest == apic_id(apic);
}

/* Logical destinations: flat and cluster models (10.6.2.2, 10.12.10.2). */
static bool match_logical(struct kvm_lapic *apic, u32 dest, bool x2dest)
{
	u32 ldr = kvm_lapic_get_reg(apic, APIC_LDR);

	if (apic->x2apic) {
		if (!x2dest)
			return (dest & 0xff) == 0xff;
		if (dest == 0xffffffff)
			return true;
		return (ldr >> 16) == (dest >> 16) && (ldr & dest & 0xffff);
	}
	dest &= 0xff;
	ldr >>= 24;
	if (dest == 0xff)
		return true;
	if ((kvm_lapic_get_reg(apic, APIC_DFR) >> 28) == 0xf)
		return ldr & dest;
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);
}

static bool apic_match_dest(struct kvm_lapic *apic, struct kvm_lapic *src,
			    const struct kvm_lapic_irq *irq)
{
	switch (irq->shorthand) {
	case APIC_DEST_SELF:
		return apic == src;
	case APIC_DEST_ALLINC:
		return true;
	case APIC_DEST_ALLBUT:
		return apic != src;
	default:
		if (irq->logical)
			return match_logical(apic, irq->dest_id, irq->x2apic_dest);
		return match_physical(apic, irq->dest_id, irq->x2apic_dest);
	}
}

/* Is this vCPU's APIC a destination of @irq (no shorthand)? */
bool kvm_lapic_matches(struct kvm_vcpu *vcpu, const struct kvm_lapic_irq *irq)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	return apic && apic->hw_enabled && apic_match_dest(apic, NULL, irq);
}

/*
 * Deliver a message to every matching local APIC, or to one of them for
 * lowest priority (10.6.2.4: we rotate among those of lowest TPR).
 * Returns the number that accepted it, or -1 if none matched.
 * Any context; @src is the sending vCPU for IPIs, else NULL.
 */
int kvm_irq_delivery_to_apic(struct kvm *kvm, struct kvm_vcpu *src,
			     const struct kvm_lapic_irq *irq)
{
	struct kvm_lapic *src_apic = src ? vcpu_apic(src) : NULL;
	struct kvm_lapic *best = NULL;
	struct kvm_vcpu *vcpu;
	int i, n = 0, r = -1, start, nr;
	u32 best_tpr = ~0U;

	nr = atomic_read(&kvm->online_vcpus);
	if (!nr)
		return -1;
	start = irq->delivery_mode == APIC_DM_LOWEST ?
		(u32)atomic_inc_return(&kvm->arch.irqchip->lowest_prio_rr) % nr :
		0;
	for (n = 0; n < nr; n++) {
		struct kvm_lapic *apic;

		i = (start + n) % nr;
		vcpu = READ_ONCE(kvm->vcpus[i]);
		apic = vcpu ? vcpu_apic(vcpu) : NULL;
		if (!apic || !apic->hw_enabled ||
		    !apic_match_dest(apic, src_apic, irq))
			continue;
		if (irq->delivery_mode == APIC_DM_LOWEST) {
			u32 tpr = kvm_lapic_get_reg(apic, APIC_TASKPRI) & 0xf0;

			if (apic_sw_enabled(apic) && tpr < best_tpr) {
				best = apic;
				best_tpr = tpr;
			}
			continue;
		}
		r = (r < 0 ? 0 : r) + apic_accept_irq(apic, irq);
	}
	if (best)
		r = apic_accept_irq(best, irq);
	return r;
}

/* Interrupts from the APIC's own LVT entries (10.5.1). */
static void apic_local_deliver(struct kvm_lapic *apic, int lvt_reg)
{
	u32 lvt = kvm_lapic_get_reg(apic, lvt_reg);
	struct kvm_lapic_irq irq = {
		.vector = lvt & APIC_VECTOR_MASK,
		.delivery_mode = lvt & APIC_MODE_MASK,
		.level = true,
		.trig_level = lvt_reg != APIC_LVTT &&
			      (lvt & APIC_LVT_LEVEL_TRIGGER),
	};

	if (!apic->hw_enabled || (lvt & APIC_LVT_MASKED))
		return;
	if (irq.delivery_mode == APIC_DM_EXTINT)
		return;		/* the PIC path, kvm_lapic_accept_pic_intr() */
	apic_accept_irq(apic, &irq);
}

/* ---- EOI (10.8.5) ---------------------------------------------------- */

static void apic_eoi(struct kvm_lapic *apic)
{
	int vector = vec_highest(apic, APIC_ISR);

	if (vector < 0)
		return;
	vec_clear(apic, APIC_ISR, vector);
	apic_update_ppr(apic);
	/* A Hyper-V SINT's end: a timer message may wait for it. */
	kvm_hv_synic_eoi(apic->vcpu, vector);
	/* Split irqchip: userspace's IOAPIC hears it through an exit. */
	if (irqchip_split(apic->vcpu->kvm)) {
		if (kvm_split_eoi_exits(apic->vcpu, vector))
			apic->pending_ioapic_eoi = vector;
		kvm_make_request(KVM_REQ_EVENT, apic->vcpu);
		return;
	}
	/*
	 * The EOI broadcast (10.8.5) reaches the IOAPIC for level-triggered
	 * vectors; edge ones are passed too so the IOAPIC can tell the ack
	 * notifiers of its edge pins (PIT reinjection).
	 */
	kvm_ioapic_eoi(apic->vcpu->kvm, vector,
		       vec_test(apic, APIC_TMR, vector));
	kvm_make_request(KVM_REQ_EVENT, apic->vcpu);
}

/* ---- IPIs (10.6.1) ----------------------------------------------------- */

static void apic_send_ipi(struct kvm_lapic *apic, u32 icr_low, u32 dest)
{
	struct kvm_lapic_irq irq = {
		.vector = icr_low & APIC_VECTOR_MASK,
		.delivery_mode = icr_low & APIC_MODE_MASK,
		.logical = icr_low & APIC_DEST_LOGICAL,
		.level = icr_low & APIC_INT_ASSERT,
		.trig_level = icr_low & APIC_INT_LEVELTRIG,
		.shorthand = icr_low & APIC_SHORT_MASK,
		.dest_id = dest,
		.x2apic_dest = apic->x2apic,
	};

	/* Fixed IPIs with a reserved vector: "send illegal vector". */
	if ((irq.delivery_mode == APIC_DM_FIXED ||
	     irq.delivery_mode == APIC_DM_LOWEST) &&
	    irq.vector < APIC_FIRST_VALID_VECTOR) {
		apic_error(apic, APIC_ESR_SENDILL);
		return;
	}
	kvm_irq_delivery_to_apic(apic->vcpu->kvm, apic->vcpu, &irq);
}

/* ---- the timer (10.5.4) ------------------------------------------------ */

static u32 timer_divisor(struct kvm_lapic *apic)
{
	u32 tdcr = kvm_lapic_get_reg(apic, APIC_TDCR);
	u32 v = (tdcr & 3) | ((tdcr & 8) >> 1);

	/* 000 divides by 2 ... 110 by 128, 111 by 1 (figure 10-10). */
	return 1U << ((v + 1) & 7);
}

static u32 lvtt_mode(struct kvm_lapic *apic)
{
	return (kvm_lapic_get_reg(apic, APIC_LVTT) & LVT_TIMER_MODE_MASK) >>
	       LVT_TIMER_MODE_SHIFT;
}

static enum hrtimer_restart apic_timer_fn(struct hrtimer *t)
{
	struct kvm_lapic *apic = container_of(t, struct kvm_lapic, timer);

	atomic_inc(&apic->timer_pending);
	kvm_make_request(KVM_REQ_EVENT, apic->vcpu);
	kvm_vcpu_kick(apic->vcpu);
	if (apic->timer_mode == APIC_TIMER_PERIODIC) {
		hrtimer_add_expires_ns(t, apic->period_ns);
		return HRTIMER_RESTART;
	}
	return HRTIMER_NORESTART;
}

static void apic_timer_stop(struct kvm_lapic *apic)
{
	hrtimer_cancel(&apic->timer);
	atomic_set(&apic->timer_pending, 0);
}

/* TMICT written (or restored): count down from it. */
static void apic_timer_start_count(struct kvm_lapic *apic)
{
	u32 tmict = kvm_lapic_get_reg(apic, APIC_TMICT);
	u32 mode = lvtt_mode(apic);

	apic_timer_stop(apic);
	if (!tmict || mode == APIC_TIMER_TSCDEADLINE)
		return;
	apic->timer_mode = mode;
	apic->period_ns = (u64)tmict * APIC_BUS_CYCLE_NS * timer_divisor(apic);
	if (mode == APIC_TIMER_PERIODIC)
		apic->period_ns = max_t(u64, apic->period_ns,
					APIC_MIN_PERIOD_NS);
	hrtimer_start(&apic->timer, ktime_add_ns(ktime_get(), apic->period_ns),
		      HRTIMER_MODE_ABS_HARD);
}

static u64 guest_tsc(struct kvm_vcpu *vcpu)
{
	return rdtsc() + vcpu->arch.tsc_offset;
}

/* IA32_TSC_DEADLINE written (10.5.4.1): zero disarms. */
static void apic_timer_start_deadline(struct kvm_lapic *apic)
{
	struct kvm_vcpu *vcpu = apic->vcpu;
	u64 now = guest_tsc(vcpu), ns;

	apic_timer_stop(apic);
	if (!apic->tscdeadline || lvtt_mode(apic) != APIC_TIMER_TSCDEADLINE)
		return;
	apic->timer_mode = APIC_TIMER_TSCDEADLINE;
	if (apic->tscdeadline <= now || !vcpu->arch.tsc_khz) {
		atomic_inc(&apic->timer_pending);
		kvm_make_request(KVM_REQ_EVENT, vcpu);
		return;
	}
	ns = mul_u64_u32_div(apic->tscdeadline - now, NSEC_PER_MSEC,
			     vcpu->arch.tsc_khz);
	hrtimer_start(&apic->timer, ktime_add_ns(ktime_get(), ns),
		      HRTIMER_MODE_ABS_HARD);
}

/* TMCCT: what is left of the count (0 once a one-shot expired). */
static u32 apic_timer_current(struct kvm_lapic *apic)
{
	s64 left;

	if (!kvm_lapic_get_reg(apic, APIC_TMICT) ||
	    apic->timer_mode == APIC_TIMER_TSCDEADLINE ||
	    !hrtimer_active(&apic->timer))
		return 0;
	left = ktime_to_ns(hrtimer_get_remaining(&apic->timer));
	if (left < 0)
		left = 0;
	if (apic->timer_mode == APIC_TIMER_PERIODIC && apic->period_ns)
		left = (u64)left % apic->period_ns;
	return div_u64(left, APIC_BUS_CYCLE_NS * timer_divisor(apic));
}

/* ---- register access ---------------------------------------------------- */

/* Readable registers (table 10-1); others read as 0 or #GP in x2APIC. */
static bool apic_reg_readable(struct kvm_lapic *apic, u32 reg)
{
	switch (reg) {
	case APIC_ID: case APIC_LVR: case APIC_TASKPRI: case APIC_PROCPRI:
	case APIC_LDR: case APIC_SPIV: case APIC_ESR: case APIC_ICR:
	case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC: case APIC_LVT0:
	case APIC_LVT1: case APIC_LVTERR: case APIC_TMICT: case APIC_TMCCT:
	case APIC_TDCR:
		return true;
	case APIC_ISR ... APIC_IRR + 0x70:
		return !(reg & 0xf);
	case APIC_ARBPRI: case APIC_DFR: case APIC_ICR2:
		return !apic->x2apic;
	default:
		return false;
	}
}

static u32 apic_reg_read(struct kvm_lapic *apic, u32 reg)
{
	switch (reg) {
	case APIC_PROCPRI:
		return apic_ppr(apic);
	case APIC_TMCCT:
		return apic_timer_current(apic);
	case APIC_ARBPRI:
		return 0;
	default:
		return kvm_lapic_get_reg(apic, reg);
	}
}

static void apic_set_svr(struct kvm_lapic *apic, u32 val)
{
	int i;

	kvm_lapic_set_reg(apic, APIC_SPIV, val & 0x1ff);
	/* Software disable masks every LVT entry (10.4.7.2). */
	if (!(val & APIC_SPIV_APIC_ENABLED)) {
		for (i = 0; i < NR_LVT; i++) {
			u32 r = APIC_LVTT + 0x10 * i;

			kvm_lapic_set_reg(apic, r, kvm_lapic_get_reg(apic, r) |
					  APIC_LVT_MASKED);
		}
	}
}

static void apic_set_tpr(struct kvm_lapic *apic, u32 tpr)
{
	kvm_lapic_set_reg(apic, APIC_TASKPRI, tpr & 0xff);
	apic_update_ppr(apic);
	apic->cr8_shadow = (tpr & 0xff) >> 4;
	apic->vcpu->arch.cr8 = apic->cr8_shadow;
	kvm_make_request(KVM_REQ_EVENT, apic->vcpu);
}

static void apic_set_lvt(struct kvm_lapic *apic, u32 reg, u32 val)
{
	u32 idx = (reg - APIC_LVTT) >> 4;
	u32 old_mode = lvtt_mode(apic);

	val &= lvt_writable[idx];
	if (!apic_sw_enabled(apic))
		val |= APIC_LVT_MASKED;
	kvm_lapic_set_reg(apic, reg, val);
	/* A timer mode change disarms the timer (10.5.4.1). */
	if (reg == APIC_LVTT && old_mode != lvtt_mode(apic)) {
		apic_timer_stop(apic);
		kvm_lapic_set_reg(apic, APIC_TMICT, 0);
		apic->tscdeadline = 0;
	}
}

/* Returns 0, or 1 for a write the x2APIC would refuse with #GP. */
static int apic_reg_write(struct kvm_lapic *apic, u32 reg, u32 val)
{
	switch (reg) {
	case APIC_ID:
		if (apic->x2apic)
			return 1;
		kvm_lapic_set_reg(apic, APIC_ID, val & 0xff000000);
		break;
	case APIC_TASKPRI:
		apic_set_tpr(apic, val);
		break;
	case APIC_EOI:
		apic_eoi(apic);
		break;
	case APIC_LDR:
		if (apic->x2apic)
			return 1;
		kvm_lapic_set_reg(apic, APIC_LDR, val & APIC_LDR_MASK);
		break;
	case APIC_DFR:
		if (apic->x2apic)
			return 1;
		kvm_lapic_set_reg(apic, APIC_DFR, val | 0x0fffffff);
		break;
	case APIC_SPIV:
		apic_set_svr(apic, val);
		break;
	case APIC_ESR:
		/* A write latches the errors seen since (10.5.3). */
		kvm_lapic_set_reg(apic, APIC_ESR, apic->esr_pending);
		apic->esr_pending = 0;
		break;
	case APIC_ICR:
		kvm_lapic_set_reg(apic, APIC_ICR, val & ~APIC_ICR_BUSY);
		if (!apic->x2apic)
			apic_send_ipi(apic, val, kvm_lapic_get_reg(apic,
							APIC_ICR2) >> 24);
		break;
	case APIC_ICR2:
		if (apic->x2apic)
			return 1;
		kvm_lapic_set_reg(apic, APIC_ICR2, val & 0xff000000);
		break;
	case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC:
	case APIC_LVT0: case APIC_LVT1: case APIC_LVTERR:
		apic_set_lvt(apic, reg, val);
		break;
	case APIC_TMICT:
		if (lvtt_mode(apic) == APIC_TIMER_TSCDEADLINE)
			break;
		kvm_lapic_set_reg(apic, APIC_TMICT, val);
		apic_timer_start_count(apic);
		break;
	case APIC_TDCR:
		kvm_lapic_set_reg(apic, APIC_TDCR, val & 0xb);
		break;
	case APIC_SELF_IPI:
		if (!apic->x2apic)
			return 1;
		apic_send_ipi(apic, APIC_DEST_SELF | (val & APIC_VECTOR_MASK),
			      0);
		break;
	default:
		/* Read-only or reserved: ignored in xAPIC, #GP in x2APIC. */
		return apic->x2apic ? 1 : 0;
	}
	return 0;
}

static bool apic_mmio_in_range(struct kvm_lapic *apic, gpa_t gpa)
{
	return apic->hw_enabled && !apic->x2apic &&
	       gpa >= apic->base && gpa < apic->base + PAGE_SIZE;
}

/* xAPIC MMIO.  Returns 0 if @gpa is this vCPU's APIC page. */
int kvm_lapic_mmio_read(struct kvm_vcpu *vcpu, gpa_t gpa, int len, void *val)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	u32 off, reg, v = 0;

	if (!apic || !apic_mmio_in_range(apic, gpa))
		return -EOPNOTSUPP;
	off = gpa - apic->base;
	reg = off & ~0xf;
	/* Registers are 32 bits at 16-byte boundaries (10.4.1). */
	if (reg < KVM_APIC_REG_SIZE && (off & 0xf) + len <= 4 &&
	    apic_reg_readable(apic, reg))
		v = apic_reg_read(apic, reg) >> ((off & 3) * 8);
	memset(val, 0, len);
	memcpy(val, &v, min(len, 4));
	return 0;
}

int kvm_lapic_mmio_write(struct kvm_vcpu *vcpu, gpa_t gpa, int len,
			 const void *val)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	u32 off, v;

	if (!apic || !apic_mmio_in_range(apic, gpa))
		return -EOPNOTSUPP;
	off = gpa - apic->base;
	/* Only aligned 32-bit writes reach a register. */
	if (len != 4 || (off & 0xf) || off >= KVM_APIC_REG_SIZE)
		return 0;
	memcpy(&v, val, 4);
	apic_reg_write(apic, off, v);
	return 0;
}

/* ---- MSRs: x2APIC (10.12.1.2), IA32_APIC_BASE, IA32_TSC_DEADLINE ----- */

static bool guest_has_x2apic(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 1, 0);

	/* CPUID.01H:ECX[21] */
	return e && (e->ecx & BIT(21));
}

static void apic_set_x2apic_id(struct kvm_lapic *apic)
{
	u32 id = apic->vcpu->vcpu_id;

	kvm_lapic_set_reg(apic, APIC_ID, id);
	/* Logical ID: cluster in 31:16, one bit of 16 in 15:0 (10.12.10.2). */
	kvm_lapic_set_reg(apic, APIC_LDR, ((id >> 4) << 16) | (1 << (id & 0xf)));
}

static int apic_set_base(struct kvm_lapic *apic, u64 value, bool host)
{
	struct kvm_vcpu *vcpu = apic->vcpu;
	bool en = value & MSR_IA32_APICBASE_ENABLE;
	bool extd = value & X2APIC_ENABLE;
	u64 reserved = 0x2ff | (host_maxphyaddr < 64 ?
				~0ULL << host_maxphyaddr : 0);

	if (!guest_has_x2apic(vcpu))
		reserved |= X2APIC_ENABLE;
	if ((value & reserved) || (extd && !en))
		return 1;
	/* x2APIC to xAPIC and off to x2APIC are invalid (10.12.5). */
	if (!host && ((apic->x2apic && en && !extd) ||
		      (!apic->hw_enabled && extd)))
		return 1;

	vcpu->arch.apic_base = value;
	apic->base = value & MSR_IA32_APICBASE_BASE;
	if (en && !apic->hw_enabled)
		kvm_lapic_set_reg(apic, APIC_ID, vcpu->vcpu_id << 24);
	apic->hw_enabled = en;
	if (extd && !apic->x2apic)
		apic_set_x2apic_id(apic);
	else if (!extd && apic->x2apic)
		kvm_lapic_set_reg(apic, APIC_ID, vcpu->vcpu_id << 24);
	apic->x2apic = extd;
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	return 0;
}

/* Returns 0 if handled, 1 to raise #GP, -ENOENT if not an APIC MSR. */
int kvm_lapic_msr_read(struct kvm_vcpu *vcpu, u32 msr, u64 *data)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	u32 reg;

	if (!apic)
		return -ENOENT;
	if (msr == MSR_IA32_APICBASE) {
		*data = vcpu->arch.apic_base;
		return 0;
	}
	if (msr == MSR_IA32_TSC_DEADLINE) {
		*data = lvtt_mode(apic) == APIC_TIMER_TSCDEADLINE ?
			apic->tscdeadline : 0;
		return 0;
	}
	if (msr < APIC_BASE_MSR || msr > APIC_BASE_MSR + 0xff)
		return -ENOENT;
	reg = (msr - APIC_BASE_MSR) << 4;
	if (!apic->x2apic || !apic_reg_readable(apic, reg))
		return 1;
	*data = apic_reg_read(apic, reg);
	if (reg == APIC_ICR)
		*data |= (u64)kvm_lapic_get_reg(apic, APIC_ICR2) << 32;
	return 0;
}

int kvm_lapic_msr_write(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	u32 reg;

	if (!apic)
		return -ENOENT;
	if (msr == MSR_IA32_APICBASE)
		return apic_set_base(apic, data, host);
	if (msr == MSR_IA32_TSC_DEADLINE) {
		if (lvtt_mode(apic) != APIC_TIMER_TSCDEADLINE)
			return 0;
		apic->tscdeadline = data;
		apic_timer_start_deadline(apic);
		return 0;
	}
	if (msr < APIC_BASE_MSR || msr > APIC_BASE_MSR + 0xff)
		return -ENOENT;
	reg = (msr - APIC_BASE_MSR) << 4;
	if (!apic->x2apic)
		return 1;
	if (reg == APIC_ICR) {
		/* One 64-bit write: destination in 63:32 (10.12.9). */
		kvm_lapic_set_reg(apic, APIC_ICR2, data >> 32);
		kvm_lapic_set_reg(apic, APIC_ICR, (u32)data & ~APIC_ICR_BUSY);
		apic_send_ipi(apic, (u32)data, data >> 32);
		return 0;
	}
	/* Upper halves are reserved; EOI takes only 0 (10.12.1.2). */
	if ((data >> 32) || (reg == APIC_EOI && data))
		return 1;
	return apic_reg_write(apic, reg, data);
}

/* ---- Hyper-V's view of the APIC (hyperv.c) ----------------------------- */

/* HV_X64_MSR_APIC_FREQUENCY: the bus clock the timer counts. */
u64 kvm_lapic_bus_hz(void)
{
	return NSEC_PER_SEC / APIC_BUS_CYCLE_NS;
}

/* A fixed, edge-triggered @vector to @vcpu's own APIC.  Any context. */
bool kvm_lapic_deliver_fixed(struct kvm_vcpu *vcpu, u8 vector)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	struct kvm_lapic_irq irq = {
		.vector = vector,
		.delivery_mode = APIC_DM_FIXED,
		.level = true,
	};

	return apic && apic->hw_enabled && apic_accept_irq(apic, &irq);
}

/*
 * HV_X64_MSR_EOI/ICR/TPR (TLFS 10.3): the APIC register @reg in either
 * APIC mode; ICR takes the destination in bits 63:32 as ICR2 holds it.
 * Returns 0, or 1 for #GP (no in-kernel APIC).
 */
int kvm_lapic_hv_msr_read(struct kvm_vcpu *vcpu, u32 reg, u64 *data)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	if (!apic)
		return 1;
	*data = reg == APIC_EOI ? 0 : apic_reg_read(apic, reg);
	if (reg == APIC_ICR)
		*data |= (u64)kvm_lapic_get_reg(apic, APIC_ICR2) << 32;
	return 0;
}

int kvm_lapic_hv_msr_write(struct kvm_vcpu *vcpu, u32 reg, u64 data)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	if (!apic)
		return 1;
	if (reg == APIC_ICR) {
		if (apic->x2apic)
			return kvm_lapic_msr_write(vcpu, APIC_BASE_MSR +
						   (APIC_ICR >> 4), data, false);
		apic_reg_write(apic, APIC_ICR2, data >> 32);
	}
	return apic_reg_write(apic, reg, (u32)data);
}

/* ---- CR8 and the TPR (10.8.6.1: CR8[3:0] = TPR[7:4]) ----------------- */

/* Before entry: the backend loads vcpu->arch.cr8 into the guest's CR8. */
void kvm_lapic_cr8_to_guest(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	if (!apic)
		return;
	/* Someone else (KVM_SET_SREGS, the emulator) wrote CR8 meanwhile. */
	if (vcpu->arch.cr8 != apic->cr8_shadow)
		apic_set_tpr(apic, (vcpu->arch.cr8 & 0xf) << 4);
	apic->cr8_shadow = kvm_lapic_get_reg(apic, APIC_TASKPRI) >> 4;
	vcpu->arch.cr8 = apic->cr8_shadow;
}

/* ---- PV EOI (MSR_KVM_PV_EOI_EN) ------------------------------------------ */

/*
 * A guest that enabled PV EOI tests and clears bit 0 of its flag word
 * (KVM_PV_EOI_ENABLED) in its EOI routine and writes EOI only if the bit
 * was clear.  We set the flag when ending the one vector in service
 * needs nothing but clearing ISR: it is the only one, nothing waits in
 * IRR (that would need an exit to be injected anyway) and it is edge
 * triggered (a level one must reach the IOAPIC at once).  After the next
 * exit a cleared flag is the guest's EOI.
 */
static gpa_t pv_eoi_gpa(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.pv.pv_eoi_msr & ~(u64)KVM_MSR_ENABLED;
}

void kvm_lapic_set_pv_eoi(struct kvm_vcpu *vcpu, u64 data)
{
	vcpu->arch.pv.pv_eoi_msr = data;
	if (vcpu_apic(vcpu))
		vcpu_apic(vcpu)->pv_eoi_pending = false;
}

/* Exactly one vector in service (returns it), or -1. */
static int isr_single(struct kvm_lapic *apic)
{
	int i, vector = -1;

	for (i = 0; i < 8; i++) {
		u32 w = kvm_lapic_get_reg(apic, APIC_ISR + i * 0x10);

		if (!w)
			continue;
		if (vector >= 0 || (w & (w - 1)))
			return -1;
		vector = i * 32 + __ffs(w);
	}
	return vector;
}

static void apic_sync_to_vapic(struct kvm_lapic *apic);

/*
 * Before entry, after injection: set or clear the guest's flag (and
 * refresh the VAPIC page).
 */
void kvm_lapic_before_entry(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	int vector;
	u8 flag;

	if (apic && apic->vapic_addr && apic_enabled(apic))
		apic_sync_to_vapic(apic);
	if (!apic || !(vcpu->arch.pv.pv_eoi_msr & KVM_MSR_ENABLED))
		return;
	vector = isr_single(apic);
	if (vector >= 0 && (vec_highest(apic, APIC_IRR) >= 0 ||
			    vec_test(apic, APIC_TMR, vector) ||
			    (irqchip_split(vcpu->kvm) &&
			     kvm_split_eoi_exits(vcpu, vector))))
		vector = -1;
	if (vector < 0 && !apic->pv_eoi_pending)
		return;
	if (vector >= 0 && apic->pv_eoi_pending &&
	    apic->pv_eoi_vector == vector)
		return;
	flag = vector >= 0 ? KVM_PV_EOI_ENABLED : KVM_PV_EOI_DISABLED;
	if (kvm_pv_write_guest(vcpu->kvm, pv_eoi_gpa(vcpu), &flag,
			       sizeof(flag))) {
		apic->pv_eoi_pending = false;
		return;
	}
	apic->pv_eoi_pending = vector >= 0;
	apic->pv_eoi_vector = vector;
}

/* After an exit: did the guest end the vector through its flag? */
static void apic_pv_eoi_after_exit(struct kvm_lapic *apic)
{
	struct kvm_vcpu *vcpu = apic->vcpu;
	u8 flag;

	if (!apic->pv_eoi_pending)
		return;
	if (kvm_pv_read_guest(vcpu->kvm, pv_eoi_gpa(vcpu), &flag,
			      sizeof(flag)) ||
	    (flag & KVM_PV_EOI_ENABLED))
		return;
	apic->pv_eoi_pending = false;
	apic_eoi(apic);
}

/* ---- the VAPIC page (KVM_SET_VAPIC_ADDR) -------------------------------- */

/*
 * QEMU's TPR patching for old guests (kvmvapic) keeps the TPR in guest
 * memory: a u32 with the TPR in bits 7:0, the highest in-service
 * priority class in 15:8's high nibble and the highest requested vector
 * in 31:24, as upstream lays it out.  The guest writes the TPR byte.
 */
long kvm_lapic_set_vapic_addr(struct kvm_vcpu *vcpu, u64 addr)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	u32 v;

	if (!apic)
		return -EINVAL;
	if (addr && (offset_in_page(addr) + sizeof(v) > PAGE_SIZE ||
		     kvm_pv_read_guest(vcpu->kvm, addr, &v, sizeof(v))))
		return -EINVAL;
	apic->vapic_addr = addr;
	return 0;
}

static void apic_sync_to_vapic(struct kvm_lapic *apic)
{
	int isr = vec_highest(apic, APIC_ISR), irr = vec_highest(apic, APIC_IRR);
	u32 v = (kvm_lapic_get_reg(apic, APIC_TASKPRI) & 0xff) |
		((isr < 0 ? 0 : isr & 0xf0) << 8) |
		((u32)(irr < 0 ? 0 : irr) << 24);

	kvm_pv_write_guest(apic->vcpu->kvm, apic->vapic_addr, &v, sizeof(v));
}

static void apic_sync_from_vapic(struct kvm_lapic *apic)
{
	u32 v;

	if (!kvm_pv_read_guest(apic->vcpu->kvm, apic->vapic_addr, &v,
			       sizeof(v)) &&
	    (v & 0xff) != (kvm_lapic_get_reg(apic, APIC_TASKPRI) & 0xff))
		apic_set_tpr(apic, v & 0xff);
}

/* ---- after each exit ------------------------------------------------------ */

void kvm_lapic_after_exit(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	if (!apic)
		return;
	/* The guest may have written CR8 without exiting. */
	if (vcpu->arch.cr8 != apic->cr8_shadow)
		apic_set_tpr(apic, (vcpu->arch.cr8 & 0xf) << 4);
	if (apic->vapic_addr)
		apic_sync_from_vapic(apic);
	apic_pv_eoi_after_exit(apic);
}

/* ---- paravirtual IPIs and kicks (hypercall.c) ------------------------------ */

/* KVM_HC_KICK_CPU: the vCPU with APIC ID @id leaves its HLT. */
void kvm_pv_kick_cpu(struct kvm *kvm, u32 id)
{
	struct kvm_vcpu *vcpu;
	int i;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		struct kvm_lapic *apic = vcpu_apic(vcpu);

		if (!apic || apic_id(apic) != id)
			continue;
		WRITE_ONCE(vcpu->arch.pv.pv_unhalted, true);
		kvm_make_request(KVM_REQ_EVENT, vcpu);
		kvm_vcpu_kick(vcpu);
		return;
	}
}

/*
 * KVM_HC_SEND_IPI: @icr's vector and delivery mode to the APIC IDs
 * @min + n for every bit n of the 2 x 64 (32 outside 64-bit mode) bit
 * map @lo:@hi, physical destinations only.  Returns how many took it.
 */
long kvm_pv_send_ipi(struct kvm_vcpu *src, u64 lo, u64 hi, u32 min, u64 icr,
		     bool op64)
{
	struct kvm_lapic_irq irq = {
		.vector = icr & APIC_VECTOR_MASK,
		.delivery_mode = icr & APIC_MODE_MASK,
		.level = icr & APIC_INT_ASSERT,
		.trig_level = icr & APIC_INT_LEVELTRIG,
	};
	u32 bits = op64 ? 64 : 32;
	struct kvm_vcpu *vcpu;
	long n = 0;
	int i;

	if (icr & (APIC_DEST_LOGICAL | APIC_SHORT_MASK))
		return -KVM_EINVAL;
	kvm_for_each_vcpu(i, vcpu, src->kvm) {
		struct kvm_lapic *apic = vcpu_apic(vcpu);
		u32 off;
		bool hit;

		if (!apic || !apic->hw_enabled || apic_id(apic) < min)
			continue;
		off = apic_id(apic) - min;
		if (off < bits)
			hit = (lo >> off) & 1;
		else if (off < 2 * bits)
			hit = (hi >> (off - bits)) & 1;
		else
			hit = false;
		if (hit)
			n += apic_accept_irq(apic, &irq);
	}
	return n;
}

/* ---- events for the vCPU thread -------------------------------------- */

static void apic_timer_expired(struct kvm_lapic *apic)
{
	if (!atomic_xchg(&apic->timer_pending, 0))
		return;
	if (apic->timer_mode == APIC_TIMER_TSCDEADLINE)
		apic->tscdeadline = 0;
	apic_local_deliver(apic, APIC_LVTT);
}

/* INIT and SIPI (SDM vol 3, 8.4.4; 10.6.1 "Start-Up"). */
static void apic_accept_init_sipi(struct kvm_lapic *apic)
{
	struct kvm_vcpu *vcpu = apic->vcpu;
	struct kvm_segment cs;

	/* In SMM INIT stays latched until RSM; a SIPI meanwhile is lost. */
	if (kvm_smm_blocks_init(vcpu)) {
		clear_bit(KVM_APIC_SIPI, &apic->pending_events);
		return;
	}
	if (test_and_clear_bit(KVM_APIC_INIT, &apic->pending_events)) {
		kvm_x86_ops->vcpu_reset(vcpu);
		kvm_vcpu_reset_state(vcpu);
		kvm_smm_vcpu_reset(vcpu, true);
		kvm_lapic_reset(vcpu, true);
		kvm_pv_vcpu_reset(vcpu);
		atomic_set(&vcpu->arch.nmi_pending, 0);
		vcpu->arch.nmi_masked = false;
		vcpu->arch.nmi_iret = false;
		vcpu->arch.mp_state =
			vcpu->vcpu_id == vcpu->kvm->arch.bsp_vcpu_id ?
			KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
	}
	if (test_and_clear_bit(KVM_APIC_SIPI, &apic->pending_events)) {
		/* Pairs with the smp_wmb() in apic_accept_irq(). */
		smp_rmb();
		/* Only a CPU waiting for SIPI starts; others ignore it. */
		if (vcpu->arch.mp_state != KVM_MP_STATE_INIT_RECEIVED)
			return;
		kvm_x86_ops->get_segment(vcpu, &cs, VCPU_SREG_CS);
		cs.selector = apic->sipi_vector << 8;
		cs.base = (u64)apic->sipi_vector << 12;
		kvm_x86_ops->set_segment(vcpu, &cs, VCPU_SREG_CS);
		kvm_rip_write(vcpu, 0);
		vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
	}
}

/* KVM_GET/SET_VCPU_EVENTS' smi.latched_init: an INIT held back by SMM. */
bool kvm_lapic_init_latched(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	return apic && test_bit(KVM_APIC_INIT, &apic->pending_events);
}

void kvm_lapic_latch_init(struct kvm_vcpu *vcpu, bool latched)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	if (!apic)
		return;
	if (latched)
		set_bit(KVM_APIC_INIT, &apic->pending_events);
	else
		clear_bit(KVM_APIC_INIT, &apic->pending_events);
}

void kvm_lapic_process_events(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	if (!apic)
		return;
	apic_accept_init_sipi(apic);
	apic_timer_expired(apic);
	if (READ_ONCE(apic->esr_irq)) {
		WRITE_ONCE(apic->esr_irq, false);
		apic_local_deliver(apic, APIC_LVTERR);
	}
}

/* ---- state, reset, lifetime ------------------------------------------- */

/* Power-up and INIT state (10.4.7.1); INIT keeps the APIC base and ID. */
void kvm_lapic_reset(struct kvm_vcpu *vcpu, bool init)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	int i;

	if (!apic)
		return;
	apic_timer_stop(apic);
	if (!init) {
		memset(apic->regs, 0, PAGE_SIZE);
		apic->x2apic = false;
		apic->hw_enabled = false;
		apic_set_base(apic, vcpu->arch.apic_base, true);
	} else {
		u32 id = kvm_lapic_get_reg(apic, APIC_ID);
		u32 ldr = kvm_lapic_get_reg(apic, APIC_LDR);

		memset(apic->regs, 0, PAGE_SIZE);
		kvm_lapic_set_reg(apic, APIC_ID, id);
		if (apic->x2apic)
			kvm_lapic_set_reg(apic, APIC_LDR, ldr);
	}
	kvm_lapic_set_reg(apic, APIC_LVR, APIC_VERSION_VALUE);
	kvm_lapic_set_reg(apic, APIC_DFR, 0xffffffff);
	kvm_lapic_set_reg(apic, APIC_SPIV, 0xff);
	for (i = 0; i < NR_LVT; i++)
		kvm_lapic_set_reg(apic, APIC_LVTT + 0x10 * i, APIC_LVT_MASKED);
	/*
	 * The bootstrap processor comes up in virtual wire mode: LINT0 takes
	 * the 8259's ExtINT (MP spec 1.4, 3.6.2.2), as upstream KVM's
	 * LINT0_REENABLED quirk does, so PIC-only guests get interrupts.
	 */
	if (vcpu->vcpu_id == vcpu->kvm->arch.bsp_vcpu_id)
		kvm_lapic_set_reg(apic, APIC_LVT0, APIC_DM_EXTINT);
	apic->tscdeadline = 0;
	apic->esr_pending = 0;
	apic->esr_irq = false;
	apic->pending_ioapic_eoi = -1;
	apic->pending_extint = -1;
	if (!init)
		apic->vapic_addr = 0;
	apic->cr8_shadow = 0;
	vcpu->arch.cr8 = 0;
	apic->pending_events &= init ? BIT(KVM_APIC_SIPI) : 0;
}

int kvm_lapic_create(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic;

	apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);
	if (!apic)
		return -ENOMEM;
	apic->regs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!apic->regs) {
		kfree(apic);
		return -ENOMEM;
	}
	apic->vcpu = vcpu;
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = apic_timer_fn;
	vcpu->arch.apic = apic;
	kvm_lapic_reset(vcpu, false);
	return 0;
}

void kvm_lapic_free(struct kvm_vcpu *vcpu)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);

	if (!apic)
		return;
	hrtimer_cancel(&apic->timer);
	free_page((unsigned long)apic->regs);
	kfree(apic);
	vcpu->arch.apic = NULL;
}

/*
 * KVM_GET_LAPIC / KVM_SET_LAPIC: the register page.  Like upstream without
 * KVM_CAP_X2APIC_API, an x2APIC ID travels in the xAPIC position (31:24),
 * and TMCCT holds the current count.
 */
int kvm_lapic_get_state(struct kvm_vcpu *vcpu, struct kvm_lapic_state *s)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	u32 *id = (u32 *)(s->regs + APIC_ID);
	u32 *tmcct = (u32 *)(s->regs + APIC_TMCCT);
	u32 *ppr = (u32 *)(s->regs + APIC_PROCPRI);

	if (!apic)
		return -EINVAL;
	memcpy(s->regs, apic->regs, sizeof(s->regs));
	if (apic->x2apic)
		*id <<= 24;
	*tmcct = apic_timer_current(apic);
	*ppr = apic_ppr(apic);
	return 0;
}

int kvm_lapic_set_state(struct kvm_vcpu *vcpu, const struct kvm_lapic_state *s)
{
	struct kvm_lapic *apic = vcpu_apic(vcpu);
	u32 id;

	if (!apic)
		return -EINVAL;
	apic_timer_stop(apic);
	memcpy(apic->regs, s->regs, sizeof(s->regs));
	id = kvm_lapic_get_reg(apic, APIC_ID);
	if (apic->x2apic) {
		/* The x2APIC ID is not writable: only accept our own. */
		if ((id >> 24) != (vcpu->vcpu_id & 0xff))
			return -EINVAL;
		apic_set_x2apic_id(apic);
	}
	kvm_lapic_set_reg(apic, APIC_LVR, APIC_VERSION_VALUE);
	kvm_lapic_set_reg(apic, APIC_ICR, kvm_lapic_get_reg(apic, APIC_ICR) &
			  ~APIC_ICR_BUSY);
	apic_update_ppr(apic);
	apic->cr8_shadow = (kvm_lapic_get_reg(apic, APIC_TASKPRI) & 0xff) >> 4;
	vcpu->arch.cr8 = apic->cr8_shadow;
	apic->tscdeadline = 0;
	apic->timer_mode = lvtt_mode(apic);
	/* A running count restarts from TMICT, as upstream does. */
	apic_timer_start_count(apic);
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	return 0;
}

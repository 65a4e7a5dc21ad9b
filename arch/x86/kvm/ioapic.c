// SPDX-License-Identifier: GPL-2.0-only
/*
 * The I/O APIC (Intel 82093AA datasheet, section 3): IOREGSEL at offset
 * 0x00 and IOWIN at 0x10 reach the ID (0x00), version (0x01), arbitration
 * (0x02) and redirection table (0x10 + 2n, 64 bits per pin) registers.
 *
 * An edge-triggered pin delivers on a rising input; a level-triggered pin
 * delivers while its input is high and sets Remote IRR, which the local
 * APICs' EOI broadcast clears (3.2.4) so that a still-high input delivers
 * again.
 */
#include <linux/slab.h>
#include <asm/apicdef.h>

#include "ioapic.h"

#define IOAPIC_REG_SELECT	0x00
#define IOAPIC_REG_WINDOW	0x10

#define IOAPIC_ID		0x00
#define IOAPIC_VERSION		0x01
#define IOAPIC_ARB		0x02
#define IOAPIC_REDIR_BASE	0x10

/* Version 0x11, maximum redirection entry 23 (3.2.2). */
#define IOAPIC_VERSION_VALUE	(0x11 | ((KVM_IOAPIC_NUM_PINS - 1) << 16))

/* Redirection table entry bits (3.2.4). */
#define RTE_VECTOR		0xffULL
#define RTE_DELMODE_SHIFT	8
#define RTE_DELMODE_MASK	(7ULL << RTE_DELMODE_SHIFT)
#define RTE_DEST_LOGICAL	BIT_ULL(11)
#define RTE_DELIVS		BIT_ULL(12)
#define RTE_POLARITY		BIT_ULL(13)
#define RTE_REMOTE_IRR		BIT_ULL(14)
#define RTE_TRIG_LEVEL		BIT_ULL(15)
#define RTE_MASKED		BIT_ULL(16)
#define RTE_DEST_SHIFT		56
/* Bits software cannot write: delivery status and Remote IRR. */
#define RTE_RO_BITS		(RTE_DELIVS | RTE_REMOTE_IRR)

static struct kvm_ioapic *kvm_ioapic(struct kvm *kvm)
{
	return kvm->arch.irqchip ? kvm->arch.irqchip->ioapic : NULL;
}

/* Send pin @pin's message.  Returns what delivery returned, -1 if masked. */
static int ioapic_service(struct kvm_ioapic *ioapic, int pin)
{
	u64 e = ioapic->redirtbl[pin];
	struct kvm_lapic_irq irq = {
		.vector = e & RTE_VECTOR,
		.delivery_mode = ((e & RTE_DELMODE_MASK) >> RTE_DELMODE_SHIFT)
				 << 8,
		.logical = e & RTE_DEST_LOGICAL,
		.level = true,
		.trig_level = e & RTE_TRIG_LEVEL,
		.dest_id = e >> RTE_DEST_SHIFT,
	};
	int r;

	lockdep_assert_held(&ioapic->lock);
	if (e & RTE_MASKED)
		return -1;
	if (irq.trig_level && (e & RTE_REMOTE_IRR))
		return 0;
	r = kvm_irq_delivery_to_apic(ioapic->kvm, NULL, &irq);
	if (irq.trig_level && r > 0)
		ioapic->redirtbl[pin] |= RTE_REMOTE_IRR;
	/*
	 * A delivered edge is done with: like upstream, the next assertion is
	 * a new edge even if the line never went low in between.
	 */
	if (!irq.trig_level)
		ioapic->irr &= ~BIT(pin);
	return r;
}

/*
 * Drive pin @pin from @source.  Returns >0 delivered, 0 coalesced (the
 * pin was already asserted and not yet serviced), -1 masked.
 */
int kvm_ioapic_set_irq(struct kvm_ioapic *ioapic, u32 pin, int source,
		       int level)
{
	unsigned long flags;
	u32 bit = BIT(pin), old_irr;
	int r;

	if (pin >= KVM_IOAPIC_NUM_PINS)
		return -1;
	spin_lock_irqsave(&ioapic->lock, flags);
	if (level)
		__set_bit(source, &ioapic->line[pin]);
	else
		__clear_bit(source, &ioapic->line[pin]);
	if (!ioapic->line[pin]) {
		ioapic->irr &= ~bit;
		r = 1;
		goto out;
	}
	old_irr = ioapic->irr;
	ioapic->irr |= bit;
	if (!(ioapic->redirtbl[pin] & RTE_TRIG_LEVEL) && (old_irr & bit)) {
		r = 0;		/* an undelivered edge is still pending */
		goto out;
	}
	r = ioapic_service(ioapic, pin);
out:
	spin_unlock_irqrestore(&ioapic->lock, flags);
	return r;
}

/*
 * A local APIC EOI for @vector (level: its TMR bit was set).  Level pins
 * with that vector drop Remote IRR; every matching pin tells its ack
 * notifiers (irqfd resampling, PIT reinjection) with no lock held, and
 * a level input still high is delivered again.
 */
void kvm_ioapic_eoi(struct kvm *kvm, int vector, bool level)
{
	struct kvm_ioapic *ioapic = kvm_ioapic(kvm);
	unsigned long flags, pins = 0;
	int pin;

	if (!ioapic)
		return;
	spin_lock_irqsave(&ioapic->lock, flags);
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		u64 e = ioapic->redirtbl[pin];

		if ((e & RTE_VECTOR) != vector)
			continue;
		if (e & RTE_TRIG_LEVEL) {
			if (!level)
				continue;
			ioapic->redirtbl[pin] &= ~RTE_REMOTE_IRR;
		}
		__set_bit(pin, &pins);
	}
	spin_unlock_irqrestore(&ioapic->lock, flags);

	for_each_set_bit(pin, &pins, KVM_IOAPIC_NUM_PINS)
		kvm_notify_acked_irq(kvm, KVM_IRQCHIP_IOAPIC, pin);

	spin_lock_irqsave(&ioapic->lock, flags);
	for_each_set_bit(pin, &pins, KVM_IOAPIC_NUM_PINS) {
		if ((ioapic->redirtbl[pin] & RTE_TRIG_LEVEL) &&
		    (ioapic->irr & BIT(pin)))
			ioapic_service(ioapic, pin);
	}
	spin_unlock_irqrestore(&ioapic->lock, flags);
}

/* ---- registers ----------------------------------------------------------- */

static u32 ioapic_read_indirect(struct kvm_ioapic *ioapic)
{
	u32 reg = ioapic->ioregsel;

	switch (reg) {
	case IOAPIC_VERSION:
		return IOAPIC_VERSION_VALUE;
	case IOAPIC_ID:
	case IOAPIC_ARB:
		return (ioapic->id & 0xf) << 24;
	default:
		if (reg >= IOAPIC_REDIR_BASE &&
		    reg < IOAPIC_REDIR_BASE + 2 * KVM_IOAPIC_NUM_PINS) {
			u64 e = ioapic->redirtbl[(reg - IOAPIC_REDIR_BASE) / 2];

			return (reg & 1) ? e >> 32 : (u32)e;
		}
		return ~0U;
	}
}

static void ioapic_write_redir(struct kvm_ioapic *ioapic, u32 reg, u32 val)
{
	int pin = (reg - IOAPIC_REDIR_BASE) / 2;
	u64 e = ioapic->redirtbl[pin];
	u64 ro = e & RTE_RO_BITS;

	if (reg & 1)
		e = (e & 0xffffffffULL) | ((u64)val << 32);
	else
		e = (e & ~0xffffffffULL) | val;
	e = (e & ~RTE_RO_BITS) | ro;
	/* Remote IRR means nothing for an edge-triggered pin. */
	if (!(e & RTE_TRIG_LEVEL))
		e &= ~RTE_REMOTE_IRR;
	if ((ioapic->redirtbl[pin] & RTE_MASKED) && !(e & RTE_MASKED))
		kvm_notify_unmasked_irq(ioapic->kvm, KVM_IRQCHIP_IOAPIC, pin);
	ioapic->redirtbl[pin] = e;
	/* An unmasked level pin whose input is high fires now. */
	if ((e & RTE_TRIG_LEVEL) && !(e & RTE_MASKED) &&
	    (ioapic->irr & BIT(pin)))
		ioapic_service(ioapic, pin);
}

static void ioapic_write_indirect(struct kvm_ioapic *ioapic, u32 val)
{
	u32 reg = ioapic->ioregsel;

	if (reg == IOAPIC_ID)
		ioapic->id = (val >> 24) & 0xf;
	else if (reg >= IOAPIC_REDIR_BASE &&
		 reg < IOAPIC_REDIR_BASE + 2 * KVM_IOAPIC_NUM_PINS)
		ioapic_write_redir(ioapic, reg, val);
	/* Version and arbitration are read-only. */
}

static int ioapic_mmio_read(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			    u64 addr, int len, void *val)
{
	struct kvm_ioapic *ioapic = container_of(dev, struct kvm_ioapic, dev);
	u32 off = addr - ioapic->base, v = 0;
	u64 out;

	spin_lock_irq(&ioapic->lock);
	if ((off & ~3) == IOAPIC_REG_SELECT)
		v = ioapic->ioregsel;
	else if ((off & ~3) == IOAPIC_REG_WINDOW)
		v = ioapic_read_indirect(ioapic);
	spin_unlock_irq(&ioapic->lock);

	out = v >> ((off & 3) * 8);
	memset(val, 0, len);
	memcpy(val, &out, min(len, 8));
	return 0;
}

static int ioapic_mmio_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			     u64 addr, int len, const void *val)
{
	struct kvm_ioapic *ioapic = container_of(dev, struct kvm_ioapic, dev);
	u32 off = addr - ioapic->base, v = 0;

	memcpy(&v, val, min(len, 4));
	spin_lock_irq(&ioapic->lock);
	if (off == IOAPIC_REG_SELECT)
		ioapic->ioregsel = v & 0xff;
	else if (off == IOAPIC_REG_WINDOW && len == 4)
		ioapic_write_indirect(ioapic, v);
	spin_unlock_irq(&ioapic->lock);
	return 0;
}

static const struct kvm_io_device_ops ioapic_mmio_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

/* ---- state and lifetime ------------------------------------------------ */

static void ioapic_reset(struct kvm_ioapic *ioapic)
{
	int pin;

	ioapic->base = IOAPIC_DEFAULT_BASE;
	ioapic->ioregsel = 0;
	ioapic->id = 0;
	ioapic->irr = 0;
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		ioapic->redirtbl[pin] = RTE_MASKED;
		ioapic->line[pin] = 0;
	}
}

int kvm_ioapic_create(struct kvm *kvm)
{
	struct kvm_ioapic *ioapic;
	int r;

	ioapic = kzalloc(sizeof(*ioapic), GFP_KERNEL_ACCOUNT);
	if (!ioapic)
		return -ENOMEM;
	spin_lock_init(&ioapic->lock);
	ioapic->kvm = kvm;
	ioapic_reset(ioapic);
	ioapic->dev.ops = &ioapic_mmio_ops;
	mutex_lock(&kvm->io.lock);
	r = kvm_io_bus_register_dev(kvm, KVM_MMIO_BUS, ioapic->base,
				    IOAPIC_MEM_LENGTH, &ioapic->dev);
	mutex_unlock(&kvm->io.lock);
	if (r) {
		kfree(ioapic);
		return r;
	}
	kvm->arch.irqchip->ioapic = ioapic;
	return 0;
}

/* @unregister: leave the I/O bus (not needed when the VM goes). */
void kvm_ioapic_destroy(struct kvm *kvm, bool unregister)
{
	struct kvm_ioapic *ioapic = kvm_ioapic(kvm);

	if (!ioapic)
		return;
	if (unregister) {
		mutex_lock(&kvm->io.lock);
		kvm_io_bus_unregister_dev(kvm, KVM_MMIO_BUS, &ioapic->dev);
		mutex_unlock(&kvm->io.lock);
	}
	kvm->arch.irqchip->ioapic = NULL;
	kfree(ioapic);
}

void kvm_ioapic_get_state(struct kvm_ioapic *ioapic,
			  struct kvm_ioapic_state *s)
{
	int pin;

	spin_lock_irq(&ioapic->lock);
	s->base_address = ioapic->base;
	s->ioregsel = ioapic->ioregsel;
	s->id = ioapic->id;
	s->irr = ioapic->irr;
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++)
		s->redirtbl[pin].bits = ioapic->redirtbl[pin];
	spin_unlock_irq(&ioapic->lock);
}

/* The inputs restored as high are driven by userspace from now on. */
void kvm_ioapic_set_state(struct kvm_ioapic *ioapic,
			  const struct kvm_ioapic_state *s)
{
	int pin;

	spin_lock_irq(&ioapic->lock);
	ioapic->ioregsel = s->ioregsel;
	ioapic->id = s->id;
	ioapic->irr = s->irr & (BIT(KVM_IOAPIC_NUM_PINS) - 1);
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		ioapic->redirtbl[pin] = s->redirtbl[pin].bits;
		ioapic->line[pin] = (ioapic->irr & BIT(pin)) ?
				    BIT(KVM_USERSPACE_IRQ_SOURCE_ID) : 0;
	}
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		if ((ioapic->redirtbl[pin] & RTE_TRIG_LEVEL) &&
		    (ioapic->irr & BIT(pin)))
			ioapic_service(ioapic, pin);
	}
	spin_unlock_irq(&ioapic->lock);
}

/* A source went away (the PIT was destroyed): its inputs fall. */
void kvm_ioapic_clear_source(struct kvm_ioapic *ioapic, int source)
{
	int pin;

	spin_lock_irq(&ioapic->lock);
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		__clear_bit(source, &ioapic->line[pin]);
		if (!ioapic->line[pin])
			ioapic->irr &= ~BIT(pin);
	}
	spin_unlock_irq(&ioapic->lock);
}

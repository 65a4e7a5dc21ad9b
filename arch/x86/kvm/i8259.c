// SPDX-License-Identifier: GPL-2.0-only
/*
 * The 8259A PIC pair (Intel 8259A datasheet; ELCR from the PIIX/ICH
 * datasheets).  Initialization command words ICW1-ICW4, operation
 * command words OCW1 (mask), OCW2 (EOI and rotation), OCW3 (read
 * register, poll, special mask); fully nested priority with rotation,
 * auto-EOI, special fully nested mode on the master, and per-input
 * edge/level selection through the ELCR.
 *
 * The master's INT output goes to every local APIC whose LINT0 is
 * programmed for ExtINT; the CPU's interrupt acknowledge is
 * kvm_pic_read_irq().
 */
#include <linux/slab.h>

#include "i8259.h"

/* ICW1 (written to the command port with bit 4 set). */
#define ICW1_ICW4		BIT(0)
#define ICW1_INIT		BIT(4)
/* OCW3 (command port, bits 4:3 = 01). */
#define OCW3_SELECT		BIT(3)
#define OCW3_RIS		BIT(0)
#define OCW3_RR			BIT(1)
#define OCW3_POLL		BIT(2)
#define OCW3_SMM		BIT(5)
#define OCW3_ESMM		BIT(6)
/* OCW2 commands (bits 7:5). */
#define OCW2_ROTATE_AEOI_CLEAR	0
#define OCW2_NONSPECIFIC_EOI	1
#define OCW2_NOP		2
#define OCW2_SPECIFIC_EOI	3
#define OCW2_ROTATE_AEOI_SET	4
#define OCW2_ROTATE_NONSPEC_EOI	5
#define OCW2_SET_PRIORITY	6
#define OCW2_ROTATE_SPEC_EOI	7
/* ICW4 */
#define ICW4_AEOI		BIT(1)
#define ICW4_SFNM		BIT(4)

/* ELCR bits that exist: not IRQ0-2 (timer, keyboard, cascade), 8, 13. */
#define ELCR_MASK_MASTER	0xf8
#define ELCR_MASK_SLAVE		0xde

static struct kvm_pic *kvm_pic(struct kvm *kvm)
{
	return kvm->arch.irqchip ? kvm->arch.irqchip->pic : NULL;
}

static bool is_master(struct kvm_pic *pic, struct kvm_pic_state *s)
{
	return s == &pic->chip[0];
}

/* Remember an EOI of input @irq for the ack notifiers (run unlocked). */
static void pic_note_ack(struct kvm_pic *pic, struct kvm_pic_state *s,
			 int irq)
{
	pic->acked |= BIT(irq + (is_master(pic, s) ? 0 : 8));
}

/* Input @irq changed to @level.  Returns 0 if an edge was coalesced. */
static int pic_set_irq1(struct kvm_pic_state *s, int irq, int level)
{
	u8 mask = BIT(irq);
	int r = 1;

	if (s->elcr & mask) {
		/* Level-sensitive: IRR follows the input. */
		if (level) {
			s->irr |= mask;
			s->last_irr |= mask;
		} else {
			s->irr &= ~mask;
			s->last_irr &= ~mask;
		}
		return r;
	}
	/* Edge-sensitive: a low-to-high transition sets IRR. */
	if (level) {
		if (!(s->last_irr & mask)) {
			r = !(s->irr & mask);
			s->irr |= mask;
		}
		s->last_irr |= mask;
	} else {
		s->last_irr &= ~mask;
	}
	return r;
}

/* Priority rank of the highest bit of @mask (0 is highest), 8 if none. */
static int pic_priority(struct kvm_pic_state *s, u8 mask)
{
	int p;

	if (!mask)
		return 8;
	for (p = 0; !(mask & BIT((p + s->priority_add) & 7)); p++)
		;
	return p;
}

/* The request this chip would raise INT for now, or -1. */
static int pic_get_irq(struct kvm_pic *pic, struct kvm_pic_state *s)
{
	int p = pic_priority(s, s->irr & ~s->imr);
	u8 in_service = s->isr;

	if (p == 8)
		return -1;
	/* Special mask mode: masked levels do not block lower ones. */
	if (s->special_mask)
		in_service &= ~s->imr;
	/*
	 * Special fully nested mode: the slave may interrupt the master's
	 * service of another slave request.
	 */
	if (s->special_fully_nested_mode && is_master(pic, s))
		in_service &= ~BIT(PIC_CASCADE_IR);
	if (p < pic_priority(s, in_service))
		return (p + s->priority_add) & 7;
	return -1;
}

static void pic_kick(struct kvm_pic *pic)
{
	struct kvm_vcpu *vcpu;
	int i;

	kvm_for_each_vcpu(i, vcpu, pic->kvm) {
		if (kvm_lapic_accept_pic_intr(vcpu)) {
			kvm_make_request(KVM_REQ_EVENT, vcpu);
			kvm_vcpu_kick(vcpu);
		}
	}
}

/* Recompute the cascade and the master's output. */
static void pic_update_irq(struct kvm_pic *pic)
{
	bool was = pic->output;

	pic_set_irq1(&pic->chip[0], PIC_CASCADE_IR,
		     pic_get_irq(pic, &pic->chip[1]) >= 0);
	pic->output = pic_get_irq(pic, &pic->chip[0]) >= 0;
	if (pic->output && !was)
		pic_kick(pic);
}

static void pic_report_acks(struct kvm_pic *pic)
{
	u16 acked;
	int pin;

	spin_lock_irq(&pic->lock);
	acked = pic->acked;
	pic->acked = 0;
	spin_unlock_irq(&pic->lock);
	for (pin = 0; pin < KVM_PIC_NUM_PINS; pin++) {
		if (acked & BIT(pin))
			kvm_notify_acked_irq(pic->kvm, pin < 8 ?
					     KVM_IRQCHIP_PIC_MASTER :
					     KVM_IRQCHIP_PIC_SLAVE, pin & 7);
	}
}

int kvm_pic_set_irq(struct kvm_pic *pic, u32 pin, int source, int level)
{
	unsigned long flags;
	int r;

	if (pin >= KVM_PIC_NUM_PINS)
		return -1;
	spin_lock_irqsave(&pic->lock, flags);
	if (level)
		__set_bit(source, &pic->line[pin]);
	else
		__clear_bit(source, &pic->line[pin]);
	r = pic_set_irq1(&pic->chip[pin >> 3], pin & 7, pic->line[pin] != 0);
	pic_update_irq(pic);
	spin_unlock_irqrestore(&pic->lock, flags);
	return r;
}

bool kvm_pic_has_output(struct kvm_pic *pic)
{
	return pic && READ_ONCE(pic->output);
}

/* The CPU acknowledges (INTA): in service, out of IRR unless level. */
static void pic_intack(struct kvm_pic *pic, struct kvm_pic_state *s, int irq)
{
	if (s->auto_eoi) {
		if (s->rotate_on_auto_eoi)
			s->priority_add = (irq + 1) & 7;
		pic_note_ack(pic, s, irq);
	} else {
		s->isr |= BIT(irq);
	}
	if (!(s->elcr & BIT(irq)))
		s->irr &= ~BIT(irq);
}

/* The vector for the CPU's interrupt acknowledge cycle, or -1. */
int kvm_pic_read_irq(struct kvm *kvm)
{
	struct kvm_pic *pic = kvm_pic(kvm);
	int irq, irq2, vector;

	if (!pic)
		return -1;
	spin_lock_irq(&pic->lock);
	irq = pic_get_irq(pic, &pic->chip[0]);
	if (irq < 0) {
		/* The request went away: a spurious IRQ7 (datasheet). */
		vector = pic->chip[0].irq_base + 7;
	} else {
		pic_intack(pic, &pic->chip[0], irq);
		if (irq == PIC_CASCADE_IR) {
			irq2 = pic_get_irq(pic, &pic->chip[1]);
			if (irq2 >= 0)
				pic_intack(pic, &pic->chip[1], irq2);
			else
				irq2 = 7;
			vector = pic->chip[1].irq_base + irq2;
		} else {
			vector = pic->chip[0].irq_base + irq;
		}
	}
	pic_update_irq(pic);
	spin_unlock_irq(&pic->lock);
	pic_report_acks(pic);
	return vector;
}

/* ---- the ports ------------------------------------------------------- */

static void pic_icw1(struct kvm_pic *pic, struct kvm_pic_state *s, u8 val)
{
	int irq;

	/* Initialization clears the in-service levels: report them. */
	for (irq = 0; irq < 8; irq++)
		if (s->isr & BIT(irq))
			pic_note_ack(pic, s, irq);
	s->init4 = val & ICW1_ICW4;
	s->last_irr = 0;
	s->irr &= s->elcr;
	for (irq = 0; irq < 8; irq++)
		if (s->imr & BIT(irq))
			kvm_notify_unmasked_irq(pic->kvm, is_master(pic, s) ?
						KVM_IRQCHIP_PIC_MASTER :
						KVM_IRQCHIP_PIC_SLAVE, irq);
	s->imr = 0;
	s->isr = 0;
	s->priority_add = 0;
	s->special_mask = 0;
	s->read_reg_select = 0;
	s->poll = 0;
	if (!s->init4) {
		s->special_fully_nested_mode = 0;
		s->auto_eoi = 0;
	}
	s->init_state = 1;
}

static void pic_eoi(struct kvm_pic *pic, struct kvm_pic_state *s, int irq,
		    bool rotate)
{
	s->isr &= ~BIT(irq);
	if (rotate)
		s->priority_add = (irq + 1) & 7;
	pic_note_ack(pic, s, irq);
}

static void pic_ocw2(struct kvm_pic *pic, struct kvm_pic_state *s, u8 val)
{
	int cmd = val >> 5, p;

	switch (cmd) {
	case OCW2_ROTATE_AEOI_CLEAR:
	case OCW2_ROTATE_AEOI_SET:
		s->rotate_on_auto_eoi = cmd == OCW2_ROTATE_AEOI_SET;
		break;
	case OCW2_NONSPECIFIC_EOI:
	case OCW2_ROTATE_NONSPEC_EOI:
		p = pic_priority(s, s->isr);
		if (p != 8)
			pic_eoi(pic, s, (p + s->priority_add) & 7,
				cmd == OCW2_ROTATE_NONSPEC_EOI);
		break;
	case OCW2_SPECIFIC_EOI:
	case OCW2_ROTATE_SPEC_EOI:
		pic_eoi(pic, s, val & 7, cmd == OCW2_ROTATE_SPEC_EOI);
		break;
	case OCW2_SET_PRIORITY:
		s->priority_add = (val + 1) & 7;
		break;
	default:
		break;
	}
}

static void pic_write_cmd(struct kvm_pic *pic, struct kvm_pic_state *s, u8 val)
{
	if (val & ICW1_INIT) {
		pic_icw1(pic, s, val);
	} else if (val & OCW3_SELECT) {
		if (val & OCW3_POLL)
			s->poll = 1;
		if (val & OCW3_RR)
			s->read_reg_select = val & OCW3_RIS;
		if (val & OCW3_ESMM)
			s->special_mask = !!(val & OCW3_SMM);
	} else {
		pic_ocw2(pic, s, val);
	}
}

static void pic_write_data(struct kvm_pic *pic, struct kvm_pic_state *s,
			   u8 val)
{
	int irq;

	switch (s->init_state) {
	case 0:			/* OCW1: the mask */
		for (irq = 0; irq < 8; irq++)
			if ((s->imr & ~val) & BIT(irq))
				kvm_notify_unmasked_irq(pic->kvm,
					is_master(pic, s) ? KVM_IRQCHIP_PIC_MASTER :
					KVM_IRQCHIP_PIC_SLAVE, irq);
		s->imr = val;
		break;
	case 1:			/* ICW2: vector base */
		s->irq_base = val & 0xf8;
		s->init_state = 2;
		break;
	case 2:			/* ICW3: cascade wiring, fixed here */
		s->init_state = s->init4 ? 3 : 0;
		break;
	default:		/* ICW4 */
		s->special_fully_nested_mode = !!(val & ICW4_SFNM);
		s->auto_eoi = !!(val & ICW4_AEOI);
		s->init_state = 0;
		break;
	}
}

/*
 * Poll (OCW3 P=1): this read is the acknowledge.  Bit 7 says whether a
 * request was pending, bits 2:0 which; like upstream KVM the level is not
 * left in service.
 */
static u8 pic_poll(struct kvm_pic *pic, struct kvm_pic_state *s)
{
	int irq = pic_get_irq(pic, s);

	if (irq < 0)
		return 0;
	if (!is_master(pic, s)) {
		pic->chip[0].isr &= ~BIT(PIC_CASCADE_IR);
		pic->chip[0].irr &= ~BIT(PIC_CASCADE_IR);
	}
	s->irr &= ~BIT(irq);
	if (s->isr & BIT(irq))
		pic_eoi(pic, s, irq, false);
	return 0x80 | irq;
}

static int pic_port_read(struct kvm_pic *pic, struct kvm_pic_state *s,
			 u64 port, int len, void *val)
{
	u8 v;

	if (len != 1)
		return -EOPNOTSUPP;
	spin_lock_irq(&pic->lock);
	if (s->poll) {
		s->poll = 0;
		v = pic_poll(pic, s);
		pic_update_irq(pic);
	} else if (!(port & 1)) {
		v = s->read_reg_select ? s->isr : s->irr;
	} else {
		v = s->imr;
	}
	spin_unlock_irq(&pic->lock);
	pic_report_acks(pic);
	*(u8 *)val = v;
	return 0;
}

static int pic_port_write(struct kvm_pic *pic, struct kvm_pic_state *s,
			  u64 port, int len, const void *val)
{
	if (len != 1)
		return -EOPNOTSUPP;
	spin_lock_irq(&pic->lock);
	if (port & 1)
		pic_write_data(pic, s, *(const u8 *)val);
	else
		pic_write_cmd(pic, s, *(const u8 *)val);
	pic_update_irq(pic);
	spin_unlock_irq(&pic->lock);
	pic_report_acks(pic);
	return 0;
}

static int pic_master_read(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			   u64 port, int len, void *val)
{
	struct kvm_pic *pic = container_of(dev, struct kvm_pic, dev_master);

	return pic_port_read(pic, &pic->chip[0], port, len, val);
}

static int pic_master_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			    u64 port, int len, const void *val)
{
	struct kvm_pic *pic = container_of(dev, struct kvm_pic, dev_master);

	return pic_port_write(pic, &pic->chip[0], port, len, val);
}

static int pic_slave_read(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			  u64 port, int len, void *val)
{
	struct kvm_pic *pic = container_of(dev, struct kvm_pic, dev_slave);

	return pic_port_read(pic, &pic->chip[1], port, len, val);
}

static int pic_slave_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			   u64 port, int len, const void *val)
{
	struct kvm_pic *pic = container_of(dev, struct kvm_pic, dev_slave);

	return pic_port_write(pic, &pic->chip[1], port, len, val);
}

static int pic_elcr_read(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			 u64 port, int len, void *val)
{
	struct kvm_pic *pic = container_of(dev, struct kvm_pic, dev_elcr);

	if (len != 1)
		return -EOPNOTSUPP;
	*(u8 *)val = READ_ONCE(pic->chip[port & 1].elcr);
	return 0;
}

static int pic_elcr_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			  u64 port, int len, const void *val)
{
	struct kvm_pic *pic = container_of(dev, struct kvm_pic, dev_elcr);
	struct kvm_pic_state *s = &pic->chip[port & 1];

	if (len != 1)
		return -EOPNOTSUPP;
	spin_lock_irq(&pic->lock);
	s->elcr = *(const u8 *)val & s->elcr_mask;
	pic_update_irq(pic);
	spin_unlock_irq(&pic->lock);
	return 0;
}

static const struct kvm_io_device_ops pic_master_ops = {
	.read = pic_master_read,
	.write = pic_master_write,
};

static const struct kvm_io_device_ops pic_slave_ops = {
	.read = pic_slave_read,
	.write = pic_slave_write,
};

static const struct kvm_io_device_ops pic_elcr_ops = {
	.read = pic_elcr_read,
	.write = pic_elcr_write,
};

/* ---- state and lifetime ------------------------------------------------ */

int kvm_pic_create(struct kvm *kvm)
{
	struct kvm_pic *pic;
	int r;

	pic = kzalloc(sizeof(*pic), GFP_KERNEL_ACCOUNT);
	if (!pic)
		return -ENOMEM;
	spin_lock_init(&pic->lock);
	pic->kvm = kvm;
	pic->chip[0].elcr_mask = ELCR_MASK_MASTER;
	pic->chip[1].elcr_mask = ELCR_MASK_SLAVE;
	pic->dev_master.ops = &pic_master_ops;
	pic->dev_slave.ops = &pic_slave_ops;
	pic->dev_elcr.ops = &pic_elcr_ops;

	mutex_lock(&kvm->io.lock);
	r = kvm_io_bus_register_dev(kvm, KVM_PIO_BUS, PIC_MASTER_PORT, 2,
				    &pic->dev_master);
	if (!r)
		r = kvm_io_bus_register_dev(kvm, KVM_PIO_BUS, PIC_SLAVE_PORT,
					    2, &pic->dev_slave);
	if (!r)
		r = kvm_io_bus_register_dev(kvm, KVM_PIO_BUS, PIC_ELCR_PORT,
					    2, &pic->dev_elcr);
	if (r) {
		kvm_io_bus_unregister_dev(kvm, KVM_PIO_BUS, &pic->dev_master);
		kvm_io_bus_unregister_dev(kvm, KVM_PIO_BUS, &pic->dev_slave);
		mutex_unlock(&kvm->io.lock);
		kfree(pic);
		return r;
	}
	mutex_unlock(&kvm->io.lock);
	kvm->arch.irqchip->pic = pic;
	return 0;
}

/* @unregister: leave the I/O bus (not needed when the VM goes). */
void kvm_pic_destroy(struct kvm *kvm, bool unregister)
{
	struct kvm_pic *pic = kvm_pic(kvm);

	if (!pic)
		return;
	if (unregister) {
		mutex_lock(&kvm->io.lock);
		kvm_io_bus_unregister_dev(kvm, KVM_PIO_BUS, &pic->dev_master);
		kvm_io_bus_unregister_dev(kvm, KVM_PIO_BUS, &pic->dev_slave);
		kvm_io_bus_unregister_dev(kvm, KVM_PIO_BUS, &pic->dev_elcr);
		mutex_unlock(&kvm->io.lock);
	}
	kvm->arch.irqchip->pic = NULL;
	kfree(pic);
}

void kvm_pic_get_state(struct kvm_pic *pic, int chip, struct kvm_pic_state *s)
{
	spin_lock_irq(&pic->lock);
	*s = pic->chip[chip];
	spin_unlock_irq(&pic->lock);
}

void kvm_pic_set_state(struct kvm_pic *pic, int chip,
		       const struct kvm_pic_state *s)
{
	u8 mask;
	int i;

	spin_lock_irq(&pic->lock);
	mask = pic->chip[chip].elcr_mask;
	pic->chip[chip] = *s;
	pic->chip[chip].elcr_mask = mask;
	pic->chip[chip].elcr &= mask;
	/* Inputs restored as high belong to userspace from now on. */
	for (i = 0; i < 8; i++)
		pic->line[chip * 8 + i] = (s->last_irr & BIT(i)) ?
			BIT(KVM_USERSPACE_IRQ_SOURCE_ID) : 0;
	pic_update_irq(pic);
	spin_unlock_irq(&pic->lock);
}

void kvm_pic_clear_source(struct kvm_pic *pic, int source)
{
	int pin;

	spin_lock_irq(&pic->lock);
	for (pin = 0; pin < KVM_PIC_NUM_PINS; pin++)
		if (test_and_clear_bit(source, &pic->line[pin]) &&
		    !pic->line[pin])
			pic_set_irq1(&pic->chip[pin >> 3], pin & 7, 0);
	pic_update_irq(pic);
	spin_unlock_irq(&pic->lock);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The 8254 PIT (Intel 8254 datasheet): three 16-bit down counters at
 * 1.193182 MHz, modes 0-5, binary or BCD, counter latch and read-back
 * commands, LSB/MSB/word access, and status bytes.  Counts are computed
 * from the time since the count was loaded, so reads are exact without
 * ticking anything; channel 0 raises IRQ0 from an hrtimer.
 *
 * Reinjection (KVM_REINJECT_CONTROL, on by default like upstream): every
 * period is delivered, the next one only after the guest acknowledged the
 * previous one, so a guest that was not scheduled does not lose ticks.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/math64.h>

#include "i8254.h"

/* Control word (datasheet, "Control Word Format"). */
#define PIT_CW_SC_SHIFT		6
#define PIT_CW_RW_SHIFT		4
#define PIT_CW_MODE_SHIFT	1
#define PIT_SC_READBACK		3
#define PIT_RW_LATCH		0
/* Read-back: bit 5 clear latches counts, bit 4 clear latches status. */
#define PIT_RB_NO_COUNT		BIT(5)
#define PIT_RB_NO_STATUS	BIT(4)
/* Status byte: OUT and NULL COUNT over the control word bits. */
#define PIT_STATUS_OUT		BIT(7)

/* Access modes (rw_mode) and the byte sequence states. */
enum {
	RW_STATE_LSB = 1,
	RW_STATE_MSB = 2,
	RW_STATE_WORD0 = 3,
	RW_STATE_WORD1 = 4,
};

/* Port 0x61 (PC/AT system control port B). */
#define SPEAKER_GATE2		BIT(0)
#define SPEAKER_DATA		BIT(1)
#define SPEAKER_REFRESH		BIT(4)
#define SPEAKER_OUT2		BIT(5)

/* Reinjection never owes the guest more ticks than this. */
#define PIT_MAX_PENDING		1000

static struct kvm_pit *kvm_pit(struct kvm *kvm)
{
	/* Pairs with the smp_store_release() in kvm_create_pit(). */
	return smp_load_acquire(&kvm->arch.pit);
}

/*
 * A written 0 is the largest count: 2^16 (binary) or 10^4 (BCD).  Like
 * upstream, the state (KVM_GET_PIT2) holds it as 0x10000, never 0:
 * QEMU divides by it.
 */
#define PIT_COUNT_ZERO	0x10000

static u32 pit_count(struct kvm_pit_channel_state *c)
{
	if (c->count && c->count != PIT_COUNT_ZERO)
		return c->count;
	return c->bcd ? 10000 : PIT_COUNT_ZERO;
}

/* Input clock ticks since the count was loaded. */
static u64 pit_elapsed(struct kvm_pit_channel_state *c)
{
	s64 ns = ktime_to_ns(ktime_get()) - c->count_load_time;

	return ns <= 0 ? 0 : mul_u64_u32_div(ns, PIT_FREQ_HZ, NSEC_PER_SEC);
}

/* Channels 0 and 1 have their gate tied high; channel 2's is port 0x61. */
static u32 pit_current_count(struct kvm_pit_channel_state *c)
{
	u64 d = pit_elapsed(c);
	u32 n = pit_count(c);

	switch (c->mode) {
	case 2:
		return n - do_div(d, n);
	case 3:
		d *= 2;
		return n - do_div(d, n);
	default:
		/* Modes 0, 1, 4, 5 wrap around after reaching 0. */
		return (n - d) & 0xffff;
	}
}

static int pit_out(struct kvm_pit_channel_state *c)
{
	u64 d = pit_elapsed(c);
	u32 n = pit_count(c);

	switch (c->mode) {
	case 0:
	case 1:
		/* Low from the load (trigger) until terminal count. */
		return d >= n;
	case 2:
		/* High, low for the one clock before the reload. */
		return do_div(d, n) != n - 1;
	case 3:
		/* Square wave: high for the first half of the period. */
		return do_div(d, n) < (n + 1) / 2;
	default:
		/* Modes 4, 5: high, strobed low for one clock at zero. */
		return d != n;
	}
}

/* ---- channel 0 and IRQ0 ----------------------------------------------- */

static void pit_inject(struct work_struct *work)
{
	struct kvm_pit *pit = container_of(work, struct kvm_pit, inject);

	/*
	 * Acks come through the irqchip, which may have been created after
	 * us (upstream allows that order): listen once it exists.
	 */
	if (!pit->ack_registered && irqchip_in_kernel(pit->kvm)) {
		kvm_register_irq_ack_notifier(pit->kvm, &pit->ack);
		pit->ack_registered = true;
	}
	/* With reinjection, one tick at a time: wait for the ack. */
	if (READ_ONCE(pit->reinject) && pit->ack_registered &&
	    !atomic_xchg(&pit->irq_ack, 0))
		return;
	kvm_set_irq(pit->kvm, KVM_PIT_IRQ_SOURCE_ID, 0, 1);
	kvm_set_irq(pit->kvm, KVM_PIT_IRQ_SOURCE_ID, 0, 0);
}

static void pit_acked(struct kvm_irq_ack_notifier *kian)
{
	struct kvm_pit *pit = container_of(kian, struct kvm_pit, ack);

	atomic_set(&pit->irq_ack, 1);
	if (atomic_dec_if_positive(&pit->pending) > 0)
		queue_work(system_highpri_wq, &pit->inject);
}

void kvm_pit_unmasked(struct kvm *kvm)
{
	struct kvm_pit *pit = kvm_pit(kvm);

	if (!pit)
		return;
	atomic_set(&pit->pending, 0);
	atomic_set(&pit->irq_ack, 1);
}

static enum hrtimer_restart pit_timer_fn(struct hrtimer *t)
{
	struct kvm_pit *pit = container_of(t, struct kvm_pit, timer);

	if (READ_ONCE(pit->reinject)) {
		if (atomic_read(&pit->pending) < PIT_MAX_PENDING)
			atomic_inc(&pit->pending);
	}
	queue_work(system_highpri_wq, &pit->inject);
	if (pit->period_ns) {
		hrtimer_add_expires_ns(t, pit->period_ns);
		return HRTIMER_RESTART;
	}
	return HRTIMER_NORESTART;
}

/* Channel 0 got a new count: time its output's rising edges. */
static void pit_start_channel0(struct kvm_pit *pit)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[0];
	u64 ns = div_u64((u64)pit_count(c) * NSEC_PER_SEC, PIT_FREQ_HZ);

	hrtimer_cancel(&pit->timer);
	atomic_set(&pit->pending, 0);
	atomic_set(&pit->irq_ack, 1);
	/* Modes 1 and 5 need a gate edge, which channel 0 never sees. */
	if (c->mode == 1 || c->mode == 5)
		return;
	/* Modes 2 and 3 repeat; 0 and 4 fire once at terminal count. */
	pit->period_ns = (c->mode == 2 || c->mode == 3) ? ns : 0;
	hrtimer_start(&pit->timer, ktime_add_ns(ktime_get(), ns),
		      HRTIMER_MODE_ABS);
}

static void pit_load_count(struct kvm_pit *pit, int ch, u32 val)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];

	c->count = (val & 0xffff) ? (val & 0xffff) : PIT_COUNT_ZERO;
	c->count_load_time = ktime_to_ns(ktime_get());
	if (ch == 0)
		pit_start_channel0(pit);
}

/* ---- the ports ------------------------------------------------------- */

static void pit_latch_count(struct kvm_pit_channel_state *c)
{
	if (c->count_latched)
		return;
	c->latched_count = pit_current_count(c);
	c->count_latched = c->rw_mode;
}

static void pit_latch_status(struct kvm_pit_channel_state *c)
{
	if (c->status_latched)
		return;
	c->status = (pit_out(c) ? PIT_STATUS_OUT : 0) |
		    (c->rw_mode << PIT_CW_RW_SHIFT) |
		    (c->mode << PIT_CW_MODE_SHIFT) | c->bcd;
	c->status_latched = 1;
}

static void pit_write_control(struct kvm_pit *pit, u8 val)
{
	int sc = val >> PIT_CW_SC_SHIFT, rw = (val >> PIT_CW_RW_SHIFT) & 3;
	struct kvm_pit_channel_state *c;
	int ch;

	if (sc == PIT_SC_READBACK) {
		for (ch = 0; ch < 3; ch++) {
			if (!(val & BIT(ch + 1)))
				continue;
			c = &pit->state.channels[ch];
			if (!(val & PIT_RB_NO_COUNT))
				pit_latch_count(c);
			if (!(val & PIT_RB_NO_STATUS))
				pit_latch_status(c);
		}
		return;
	}
	c = &pit->state.channels[sc];
	if (rw == PIT_RW_LATCH) {
		pit_latch_count(c);
		return;
	}
	c->rw_mode = rw;
	c->read_state = rw;
	c->write_state = rw;
	c->mode = (val >> PIT_CW_MODE_SHIFT) & 7;
	/* Modes 6 and 7 are aliases of 2 and 3. */
	if (c->mode > 5)
		c->mode -= 4;
	c->bcd = val & 1;
}

static void pit_write_counter(struct kvm_pit *pit, int ch, u8 val)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];

	switch (c->write_state) {
	case RW_STATE_LSB:
		pit_load_count(pit, ch, val);
		break;
	case RW_STATE_MSB:
		pit_load_count(pit, ch, val << 8);
		break;
	case RW_STATE_WORD0:
		c->write_latch = val;
		c->write_state = RW_STATE_WORD1;
		break;
	default:
		pit_load_count(pit, ch, c->write_latch | (val << 8));
		c->write_state = RW_STATE_WORD0;
		break;
	}
}

/* One byte of a 16-bit value in access mode @state. */
static u8 pit_byte(u32 v, int *state, bool toggle)
{
	switch (*state) {
	case RW_STATE_LSB:
		return v & 0xff;
	case RW_STATE_MSB:
		return (v >> 8) & 0xff;
	case RW_STATE_WORD0:
		if (toggle)
			*state = RW_STATE_WORD1;
		return v & 0xff;
	default:
		if (toggle)
			*state = RW_STATE_WORD0;
		return (v >> 8) & 0xff;
	}
}

static u8 pit_read_counter(struct kvm_pit *pit, int ch)
{
	struct kvm_pit_channel_state *c = &pit->state.channels[ch];
	int state;
	u8 v;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		/* count_latched holds the access mode; WORD1 after a byte. */
		state = c->count_latched;
		v = pit_byte(c->latched_count, &state, true);
		c->count_latched = state == RW_STATE_WORD1 ? state : 0;
		return v;
	}
	state = c->read_state;
	v = pit_byte(pit_current_count(c), &state, true);
	c->read_state = state;
	return v;
}

static int pit_ioport_read(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			   u64 port, int len, void *val)
{
	struct kvm_pit *pit = container_of(dev, struct kvm_pit, dev);
	int ch = port - PIT_BASE_PORT;

	if (len != 1)
		return -EOPNOTSUPP;
	spin_lock(&pit->lock);
	/* The control register is write-only. */
	*(u8 *)val = ch == 3 ? 0xff : pit_read_counter(pit, ch);
	spin_unlock(&pit->lock);
	return 0;
}

static int pit_ioport_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			    u64 port, int len, const void *val)
{
	struct kvm_pit *pit = container_of(dev, struct kvm_pit, dev);
	int ch = port - PIT_BASE_PORT;

	if (len != 1)
		return -EOPNOTSUPP;
	spin_lock(&pit->lock);
	if (ch == 3)
		pit_write_control(pit, *(const u8 *)val);
	else
		pit_write_counter(pit, ch, *(const u8 *)val);
	spin_unlock(&pit->lock);
	return 0;
}

static int speaker_read(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			u64 port, int len, void *val)
{
	struct kvm_pit *pit = container_of(dev, struct kvm_pit, speaker_dev);
	struct kvm_pit_channel_state *c = &pit->state.channels[2];
	/* The refresh request bit toggles every 15 us or so. */
	bool refresh = (ktime_to_ns(ktime_get()) >> 14) & 1;
	u8 v;

	if (len != 1)
		return -EOPNOTSUPP;
	spin_lock(&pit->lock);
	v = (c->gate ? SPEAKER_GATE2 : 0) |
	    ((pit->state.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) ?
	     SPEAKER_DATA : 0) |
	    (refresh ? SPEAKER_REFRESH : 0) |
	    (pit_out(c) ? SPEAKER_OUT2 : 0);
	spin_unlock(&pit->lock);
	*(u8 *)val = v;
	return 0;
}

static int speaker_write(struct kvm_vcpu *vcpu, struct kvm_io_device *dev,
			 u64 port, int len, const void *val)
{
	struct kvm_pit *pit = container_of(dev, struct kvm_pit, speaker_dev);
	struct kvm_pit_channel_state *c = &pit->state.channels[2];
	u8 v = *(const u8 *)val;
	bool gate = v & SPEAKER_GATE2;

	if (len != 1)
		return -EOPNOTSUPP;
	spin_lock(&pit->lock);
	if (v & SPEAKER_DATA)
		pit->state.flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	else
		pit->state.flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	/*
	 * A rising gate (re)starts the count in modes 1, 2, 3 and 5; mode 0
	 * and 4 merely pause while the gate is low, which we approximate by
	 * restarting too (only channel 2 has a gate, and nobody counts on
	 * the pause).
	 */
	if (gate && !c->gate)
		c->count_load_time = ktime_to_ns(ktime_get());
	c->gate = gate;
	spin_unlock(&pit->lock);
	return 0;
}

static const struct kvm_io_device_ops pit_ops = {
	.read = pit_ioport_read,
	.write = pit_ioport_write,
};

static const struct kvm_io_device_ops speaker_ops = {
	.read = speaker_read,
	.write = speaker_write,
};

/* ---- ioctls ---------------------------------------------------------- */

/* Power-up: every channel in mode 0 with count 0, channel 0 silent. */
static void pit_reset(struct kvm_pit *pit)
{
	s64 now = ktime_to_ns(ktime_get());
	int ch;

	memset(&pit->state, 0, sizeof(pit->state));
	for (ch = 0; ch < 3; ch++) {
		struct kvm_pit_channel_state *c = &pit->state.channels[ch];

		c->gate = ch != 2;
		c->count = PIT_COUNT_ZERO;
		c->rw_mode = RW_STATE_WORD0;
		c->read_state = RW_STATE_WORD0;
		c->write_state = RW_STATE_WORD0;
		c->count_load_time = now;
	}
}

static long kvm_create_pit(struct kvm *kvm, void __user *argp)
{
	struct kvm_pit_config cfg;
	struct kvm_pit *pit;
	int r;

	if (copy_from_user(&cfg, argp, sizeof(cfg)))
		return -EFAULT;
	/* Like upstream: unknown flags are ignored, no irqchip needed. */
	mutex_lock(&kvm->lock);
	r = -EEXIST;
	if (kvm->arch.pit)
		goto out;
	r = -ENOMEM;
	pit = kzalloc(sizeof(*pit), GFP_KERNEL_ACCOUNT);
	if (!pit)
		goto out;
	pit->kvm = kvm;
	spin_lock_init(&pit->lock);
	hrtimer_init(&pit->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	pit->timer.function = pit_timer_fn;
	INIT_WORK(&pit->inject, pit_inject);
	atomic_set(&pit->irq_ack, 1);
	pit->reinject = true;
	pit_reset(pit);
	pit->dev.ops = &pit_ops;
	pit->speaker_dev.ops = &speaker_ops;
	pit->speaker = cfg.flags & KVM_PIT_SPEAKER_DUMMY;

	mutex_lock(&kvm->io.lock);
	r = kvm_io_bus_register_dev(kvm, KVM_PIO_BUS, PIT_BASE_PORT, 4,
				    &pit->dev);
	if (!r && pit->speaker) {
		r = kvm_io_bus_register_dev(kvm, KVM_PIO_BUS,
					    PIT_SPEAKER_PORT, 1,
					    &pit->speaker_dev);
		if (r)
			kvm_io_bus_unregister_dev(kvm, KVM_PIO_BUS, &pit->dev);
	}
	mutex_unlock(&kvm->io.lock);
	if (r) {
		kfree(pit);
		goto out;
	}
	pit->ack.gsi = 0;
	pit->ack.irq_acked = pit_acked;
	smp_store_release(&kvm->arch.pit, pit);
out:
	mutex_unlock(&kvm->lock);
	return r;
}

/* @unregister: leave the I/O bus (not needed when the VM goes). */
void kvm_pit_destroy(struct kvm *kvm, bool unregister)
{
	struct kvm_pit *pit = kvm_pit(kvm);

	if (!pit)
		return;
	hrtimer_cancel(&pit->timer);
	cancel_work_sync(&pit->inject);
	if (pit->ack_registered)
		kvm_unregister_irq_ack_notifier(kvm, &pit->ack);
	if (unregister) {
		mutex_lock(&kvm->io.lock);
		kvm_io_bus_unregister_dev(kvm, KVM_PIO_BUS, &pit->dev);
		if (pit->speaker)
			kvm_io_bus_unregister_dev(kvm, KVM_PIO_BUS,
						  &pit->speaker_dev);
		mutex_unlock(&kvm->io.lock);
	}
	kvm->arch.pit = NULL;
	kfree(pit);
}

static long kvm_pit_get_state(struct kvm_pit *pit, void __user *argp)
{
	struct kvm_pit_state2 s;

	spin_lock(&pit->lock);
	s = pit->state;
	spin_unlock(&pit->lock);
	return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
}

static long kvm_pit_set_state(struct kvm_pit *pit,
			      struct kvm_pit_state2 s)
{
	int ch;

	spin_lock(&pit->lock);
	for (ch = 0; ch < 3; ch++) {
		struct kvm_pit_channel_state *c = &s.channels[ch];

		/* Keep what the model relies on in range. */
		c->mode = c->mode > 5 ? c->mode - 4 : c->mode;
		c->mode &= 7;
		c->rw_mode &= 3;
		c->read_state = clamp_t(u8, c->read_state, RW_STATE_LSB,
					RW_STATE_WORD1);
		c->write_state = clamp_t(u8, c->write_state, RW_STATE_LSB,
					 RW_STATE_WORD1);
		if (c->count_latched > RW_STATE_WORD1)
			c->count_latched = RW_STATE_WORD0;
	}
	pit->state = s;
	/* Counts restart now, as upstream does. */
	for (ch = 0; ch < 3; ch++)
		pit_load_count(pit, ch, s.channels[ch].count);
	spin_unlock(&pit->lock);
	return 0;
}

long kvm_pit_vm_ioctl(struct kvm *kvm, unsigned int ioctl, void __user *argp)
{
	struct kvm_pit *pit = kvm_pit(kvm);
	struct kvm_reinject_control rc;
	struct kvm_pit_state2 s;

	/* As upstream, the setters read their argument before the PIT. */
	switch (ioctl) {
	case KVM_CREATE_PIT2:
		return kvm_create_pit(kvm, argp);
	case KVM_SET_PIT2:
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		break;
	case KVM_REINJECT_CONTROL:
		if (copy_from_user(&rc, argp, sizeof(rc)))
			return -EFAULT;
		break;
	}
	if (!pit)
		return -ENXIO;
	switch (ioctl) {
	case KVM_GET_PIT2:
		return kvm_pit_get_state(pit, argp);
	case KVM_SET_PIT2:
		return kvm_pit_set_state(pit, s);
	case KVM_REINJECT_CONTROL:
		WRITE_ONCE(pit->reinject, !!rc.pit_reinject);
		atomic_set(&pit->pending, 0);
		atomic_set(&pit->irq_ack, 1);
		return 0;
	default:
		return -ENOTTY;
	}
}

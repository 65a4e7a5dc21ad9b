// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel IOAPIC, PIC and PIT as a guest sees them, driven from the
 * host through KVM_IRQ_LINE, irqfds, GSI routing and KVM_SIGNAL_MSI;
 * ioeventfds on ports and MMIO; and save/restore of LAPIC, IOAPIC, PIC and
 * PIT state while the guest runs.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "irqchip.h"

#define EDGE_PIN	5
#define EDGE_VECTOR	0x61
#define LEVEL_PIN	9
#define LEVEL_VECTOR	0x62
#define MSI_GSI		30
#define MSI_VECTOR	0x70
#define SIGNAL_VECTOR	0x71
#define PIC_BASE	0x20	/* master 0x20-0x27, slave 0x28-0x2f */
#define TIMER_MASKED_LVTT	(0x40 | APIC_LVT_MASKED)

static void irq_line(struct kvm_vm *vm, uint32_t gsi, uint32_t level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	vm_ioctl(vm, KVM_IRQ_LINE, &l);
}

static int irq_line_status(struct kvm_vm *vm, uint32_t gsi, uint32_t level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	vm_ioctl(vm, KVM_IRQ_LINE_STATUS, &l);
	return l.status;
}

/* The BSP's LINT0 starts as ExtINT: close it, only the IOAPIC talks. */
static void xapic_enable(void)
{
	irq_eoi_mode = EOI_XAPIC;
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	xapic_write(APIC_LVT0, APIC_LVT_MASKED);
}

/* Physical destination APIC 0, fixed delivery. */
static void ioapic_route(int pin, uint32_t vector, uint32_t flags)
{
	ioapic_write(IOAPIC_REDIR(pin) + 1, 0);
	ioapic_write(IOAPIC_REDIR(pin), vector | flags);
}

/* ---- IOAPIC ------------------------------------------------------------- */

static void guest_ioapic(void)
{
	uint32_t e;

	xapic_enable();
	/* 82093AA 3.2.2: version 0x11, 24 entries. */
	GUEST_ASSERT_EQ(ioapic_read(1), 0x170011);
	ioapic_route(EDGE_PIN, EDGE_VECTOR, 0);
	GUEST_SYNC(1);			/* host: one edge */
	guest_wait_irqs(&irq_count[EDGE_VECTOR], 1);

	/* Level: Remote IRR holds until EOI; no EOI from the handler. */
	irq_eoi_mode = EOI_NONE;
	ioapic_route(LEVEL_PIN, LEVEL_VECTOR, IOAPIC_LEVEL);
	GUEST_SYNC(2);			/* host: raise the level */
	guest_wait_irqs(&irq_count[LEVEL_VECTOR], 1);
	e = ioapic_read(IOAPIC_REDIR(LEVEL_PIN));
	GUEST_ASSERT(e & IOAPIC_REMOTE_IRR);
	GUEST_ASSERT(xapic_read(APIC_TMR + (LEVEL_VECTOR / 32) * 0x10) &
		     (1u << (LEVEL_VECTOR % 32)));
	/* EOI with the line still high: delivered again. */
	xapic_write(APIC_EOI, 0);
	guest_wait_irqs(&irq_count[LEVEL_VECTOR], 2);
	GUEST_SYNC(3);			/* host: lower the level */
	xapic_write(APIC_EOI, 0);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDIR(LEVEL_PIN)) &
			IOAPIC_REMOTE_IRR, 0);
	guest_irq_window();
	GUEST_ASSERT_EQ(irq_count[LEVEL_VECTOR], 2);

	/* Masked pins deliver nothing. */
	ioapic_route(EDGE_PIN, EDGE_VECTOR, IOAPIC_MASKED);
	GUEST_SYNC(4);			/* host: an edge on a masked pin */
	guest_irq_window();
	GUEST_ASSERT_EQ(irq_count[EDGE_VECTOR], 1);
	GUEST_DONE();
}

static void ioapic_edge_level(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_ioapic);
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_GE(irq_line_status(vm, EDGE_PIN, 1), 1);
	irq_line(vm, EDGE_PIN, 0);
	vcpu_expect_sync(vcpu, &uc);
	irq_line(vm, LEVEL_PIN, 1);
	vcpu_expect_sync(vcpu, &uc);
	irq_line(vm, LEVEL_PIN, 0);
	vcpu_expect_sync(vcpu, &uc);
	irq_line(vm, EDGE_PIN, 1);
	irq_line(vm, EDGE_PIN, 0);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- PIC ----------------------------------------------------------------- */

static void pic_init(uint8_t master_mask, uint8_t slave_mask)
{
	/* ICW1 (edge, cascade, ICW4), ICW2 base, ICW3 wiring, ICW4 8086. */
	outb(0x20, 0x11);
	outb(0x21, PIC_BASE);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	outb(0xa0, 0x11);
	outb(0xa1, PIC_BASE + 8);
	outb(0xa1, 0x02);
	outb(0xa1, 0x01);
	outb(0x21, master_mask);
	outb(0xa1, slave_mask);
}

static void guest_pic(void)
{
	/* Virtual wire: LINT0 takes the 8259's ExtINT (MP spec 3.6.2.3). */
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	xapic_write(APIC_LVT0, APIC_DM_EXTINT);
	irq_eoi_mode = EOI_NONE;
	pic_init(~0x04 & 0xff, ~0x04 & 0xff);	/* cascade and IRQ10 open */
	GUEST_ASSERT_EQ(inb(0x21), 0xfb);
	GUEST_SYNC(1);				/* host: edge on GSI 10 */
	guest_wait_irqs(&irq_count[PIC_BASE + 10], 1);
	/* In service on both chips until EOI (OCW3: read ISR). */
	outb(0xa0, 0x0b);
	GUEST_ASSERT_EQ(inb(0xa0), 0x04);
	outb(0x20, 0x0b);
	GUEST_ASSERT_EQ(inb(0x20), 0x04);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	GUEST_ASSERT_EQ(inb(0xa0), 0);
	GUEST_ASSERT_EQ(inb(0x20), 0);

	/* Masked at the slave: stays in IRR (OCW3: read IRR). */
	outb(0xa1, 0xff);
	GUEST_SYNC(2);				/* host: another edge */
	outb(0xa0, 0x0a);
	GUEST_ASSERT_EQ(inb(0xa0), 0x04);
	guest_irq_window();
	GUEST_ASSERT_EQ(irq_count[PIC_BASE + 10], 1);
	/* Unmasked, it comes. */
	irq_eoi_mode = EOI_PIC;
	outb(0xa1, 0xfb);
	guest_wait_irqs(&irq_count[PIC_BASE + 10], 2);
	/* ELCR: IRQ0-2 are edge only; IRQ10 can be level (0x4d1 bit 2). */
	outb(0x4d0, 0xff);
	GUEST_ASSERT_EQ(inb(0x4d0), 0xf8);
	outb(0x4d0, 0);
	GUEST_DONE();
}

static void pic_cascade(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_pic);
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	irq_line(vm, 10, 1);
	irq_line(vm, 10, 0);
	vcpu_expect_sync(vcpu, &uc);
	irq_line(vm, 10, 1);
	irq_line(vm, 10, 0);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- PIT ----------------------------------------------------------------- */

#define PIT_TICKS	5
#define PIT_COUNT	11932		/* 100 Hz */

static void guest_pit(void)
{
	uint8_t lo, hi, st;
	uint16_t c1, c2;

	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	xapic_write(APIC_LVT0, APIC_DM_EXTINT);
	irq_eoi_mode = EOI_PIC;
	pic_init(0xfe, 0xff);			/* IRQ0 only */
	/* Channel 0, LSB then MSB, mode 2 (rate generator), binary. */
	outb(0x43, 0x34);
	outb(0x40, PIT_COUNT & 0xff);
	outb(0x40, PIT_COUNT >> 8);
	guest_wait_irqs(&irq_count[PIC_BASE], PIT_TICKS);

	/* Counter latch: two reads give a count within the period. */
	outb(0x43, 0x00);
	lo = inb(0x40);
	hi = inb(0x40);
	c1 = lo | (hi << 8);
	GUEST_ASSERT(c1 >= 1 && c1 <= PIT_COUNT);
	/* Read-back of channel 0's status: mode 2, LSB/MSB. */
	outb(0x43, 0xe2);
	st = inb(0x40);
	GUEST_ASSERT_EQ(st & 0x3f, 0x34);

	/* Channel 2 in mode 0 through port 0x61: OUT goes high. */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, 0x10);
	outb(0x42, 0x00);
	while (!(inb(0x61) & 0x20))
		;
	outb(0x43, 0x80);
	c2 = inb(0x42);
	c2 |= inb(0x42) << 8;
	/* Past terminal count a mode-0 counter wraps around below 0x10. */
	GUEST_ASSERT(c2 > 0x10 || c2 == 0);
	GUEST_DONE();
}

static void pit_mode2_periodic(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_pit_config cfg = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_vcpu *vcpu;

	TEST_REQUIRE_CAP(KVM_CAP_PIT2);
	vm_ioctl(vm, KVM_CREATE_PIT2, &cfg);
	vcpu = vm_irq_vcpu_add(vm, 0, guest_pit);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- irqfd, routing, MSI ------------------------------------------------- */

static void guest_irqfd(void)
{
	xapic_enable();
	ioapic_route(EDGE_PIN, EDGE_VECTOR, 0);
	ioapic_route(LEVEL_PIN, LEVEL_VECTOR, IOAPIC_LEVEL);
	GUEST_SYNC(1);			/* host: signal the edge irqfd */
	guest_wait_irqs(&irq_count[EDGE_VECTOR], 1);
	GUEST_SYNC(2);			/* host: the resampled irqfd */
	/* Our EOI deasserts the line and notifies the resample fd. */
	guest_wait_irqs(&irq_count[LEVEL_VECTOR], 1);
	GUEST_SYNC(3);			/* host: the MSI-routed irqfd */
	guest_wait_irqs(&irq_count[MSI_VECTOR], 1);
	GUEST_SYNC(4);			/* host: KVM_SIGNAL_MSI */
	guest_wait_irqs(&irq_count[SIGNAL_VECTOR], 1);
	GUEST_SYNC(5);
	guest_irq_window();
	GUEST_ASSERT_EQ(irq_count[LEVEL_VECTOR], 1);
	GUEST_DONE();
}

static void eventfd_signal(int fd)
{
	uint64_t one = 1;

	TEST_ASSERT_EQ(write(fd, &one, sizeof(one)), sizeof(one));
}

static void set_msi_route(struct kvm_vm *vm)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e[3];
	} r;

	memset(&r, 0, sizeof(r));
	r.hdr.nr = 3;
	r.e[0].gsi = EDGE_PIN;
	r.e[0].type = KVM_IRQ_ROUTING_IRQCHIP;
	r.e[0].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	r.e[0].u.irqchip.pin = EDGE_PIN;
	r.e[1].gsi = LEVEL_PIN;
	r.e[1].type = KVM_IRQ_ROUTING_IRQCHIP;
	r.e[1].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	r.e[1].u.irqchip.pin = LEVEL_PIN;
	r.e[2].gsi = MSI_GSI;
	r.e[2].type = KVM_IRQ_ROUTING_MSI;
	r.e[2].u.msi.address_lo = 0xfee00000;	/* APIC ID 0, physical */
	r.e[2].u.msi.data = MSI_VECTOR;
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, &r);
}

static void irqfd_and_msi(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_irqfd);
	int efd = eventfd(0, EFD_NONBLOCK), lfd = eventfd(0, EFD_NONBLOCK);
	int rfd = eventfd(0, EFD_NONBLOCK), mfd = eventfd(0, EFD_NONBLOCK);
	struct kvm_irqfd f;
	struct kvm_msi msi;
	struct ucall uc;
	uint64_t cnt;

	TEST_REQUIRE_CAP(KVM_CAP_IRQFD);
	TEST_REQUIRE_CAP(KVM_CAP_IRQFD_RESAMPLE);
	TEST_ASSERT(efd >= 0 && lfd >= 0 && rfd >= 0 && mfd >= 0, "eventfd");
	set_msi_route(vm);
	memset(&f, 0, sizeof(f));
	f.fd = efd;
	f.gsi = EDGE_PIN;
	vm_ioctl(vm, KVM_IRQFD, &f);
	/* One eventfd can drive only one irqfd. */
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IRQFD, &f), EBUSY);
	f.fd = lfd;
	f.gsi = LEVEL_PIN;
	f.flags = KVM_IRQFD_FLAG_RESAMPLE;
	f.resamplefd = rfd;
	vm_ioctl(vm, KVM_IRQFD, &f);
	memset(&f, 0, sizeof(f));
	f.fd = mfd;
	f.gsi = MSI_GSI;
	vm_ioctl(vm, KVM_IRQFD, &f);

	vcpu_expect_sync(vcpu, &uc);
	eventfd_signal(efd);
	vcpu_expect_sync(vcpu, &uc);
	eventfd_signal(lfd);
	vcpu_expect_sync(vcpu, &uc);
	/* The guest's EOI reached the resampler. */
	TEST_ASSERT_EQ(read(rfd, &cnt, sizeof(cnt)), sizeof(cnt));
	TEST_ASSERT_EQ(cnt, 1);
	eventfd_signal(mfd);
	vcpu_expect_sync(vcpu, &uc);
	memset(&msi, 0, sizeof(msi));
	msi.address_lo = 0xfee00000;
	msi.data = SIGNAL_VECTOR;
	TEST_ASSERT_EQ(__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi), 1);
	vcpu_expect_sync(vcpu, &uc);
	vcpu_expect_done(vcpu);

	/* Deassign; a second deassign finds nothing but is not an error. */
	memset(&f, 0, sizeof(f));
	f.fd = efd;
	f.gsi = EDGE_PIN;
	f.flags = KVM_IRQFD_FLAG_DEASSIGN;
	vm_ioctl(vm, KVM_IRQFD, &f);
	vm_ioctl(vm, KVM_IRQFD, &f);
	close(efd);
	close(lfd);
	close(rfd);
	/* Closing the eventfd of a live irqfd detaches it by itself. */
	close(mfd);
	kvm_vm_free(vm);
}

/* ---- ioeventfd ------------------------------------------------------------- */

#define IOEV_PORT	0x700
#define IOEV_MMIO	0xd0000000ULL

static void guest_ioeventfd(void)
{
	outb(IOEV_PORT, 0x41);			/* no match: exits */
	outb(IOEV_PORT, 0x42);			/* match: no exit */
	*(volatile uint32_t *)(uintptr_t)IOEV_MMIO = 0xdeadbeef;
	*(volatile uint32_t *)(uintptr_t)IOEV_MMIO = 0x12345678;
	GUEST_DONE();
}

static void ioeventfd_pio_mmio(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_ioeventfd);
	int pfd = eventfd(0, EFD_NONBLOCK), mfd = eventfd(0, EFD_NONBLOCK);
	struct kvm_ioeventfd io;
	uint64_t cnt;

	TEST_REQUIRE_CAP(KVM_CAP_IOEVENTFD);
	memset(&io, 0, sizeof(io));
	io.addr = IOEV_PORT;
	io.len = 1;
	io.fd = pfd;
	io.datamatch = 0x42;
	io.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH;
	vm_ioctl(vm, KVM_IOEVENTFD, &io);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IOEVENTFD, &io), EEXIST);
	memset(&io, 0, sizeof(io));
	io.addr = IOEV_MMIO;
	io.len = 4;
	io.fd = mfd;
	vm_ioctl(vm, KVM_IOEVENTFD, &io);

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, IOEV_PORT);
	TEST_ASSERT_EQ(*(uint8_t *)vcpu_io_data(vcpu), 0x41);
	TEST_ASSERT_EQ(read(pfd, &cnt, sizeof(cnt)), -1);
	vcpu_expect_done(vcpu);
	TEST_ASSERT_EQ(read(pfd, &cnt, sizeof(cnt)), sizeof(cnt));
	TEST_ASSERT_EQ(cnt, 1);
	TEST_ASSERT_EQ(read(mfd, &cnt, sizeof(cnt)), sizeof(cnt));
	TEST_ASSERT_EQ(cnt, 2);

	/* Deassign needs the same match; a second time it is gone. */
	io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
	vm_ioctl(vm, KVM_IOEVENTFD, &io);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IOEVENTFD, &io), ENOENT);
	close(pfd);
	close(mfd);
	kvm_vm_free(vm);
}

/* ---- save and restore ------------------------------------------------------ */

static void guest_state(void)
{
	xapic_enable();
	xapic_write(APIC_TPR, 0x20);
	xapic_write(APIC_LVTT, TIMER_MASKED_LVTT);
	ioapic_route(EDGE_PIN, EDGE_VECTOR, IOAPIC_MASKED);
	outb(0x43, 0x34);
	outb(0x40, 0x34);
	outb(0x40, 0x12);
	GUEST_SYNC(1);			/* host: save, change, restore */
	GUEST_ASSERT_EQ(xapic_read(APIC_TPR), 0x30);
	GUEST_ASSERT_EQ(ioapic_read(IOAPIC_REDIR(EDGE_PIN)), EDGE_VECTOR + 1);
	/* The host unmasked the pin and raised it in the restored state. */
	guest_wait_irqs(&irq_count[EDGE_VECTOR + 1], 1);
	GUEST_DONE();
}

static void save_restore(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_pit_config cfg = { 0 };
	struct kvm_vcpu *vcpu;
	struct kvm_lapic_state l;
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct ucall uc;

	vm_ioctl(vm, KVM_CREATE_PIT2, &cfg);
	vcpu = vm_irq_vcpu_add(vm, 0, guest_state);
	vcpu_expect_sync(vcpu, &uc);

	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &l);
	TEST_ASSERT_EQ(*(uint32_t *)&l.regs[APIC_TPR], 0x20);
	TEST_ASSERT_EQ(*(uint32_t *)&l.regs[APIC_LVTT], TIMER_MASKED_LVTT);
	*(uint32_t *)&l.regs[APIC_TPR] = 0x30;
	vcpu_ioctl(vcpu, KVM_SET_LAPIC, &l);

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	TEST_ASSERT_EQ(chip.chip.ioapic.redirtbl[EDGE_PIN].bits,
		       EDGE_VECTOR | IOAPIC_MASKED);
	chip.chip.ioapic.redirtbl[EDGE_PIN].bits = EDGE_VECTOR + 1;
	vm_ioctl(vm, KVM_SET_IRQCHIP, &chip);

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	vm_ioctl(vm, KVM_SET_IRQCHIP, &chip);

	vm_ioctl(vm, KVM_GET_PIT2, &pit);
	TEST_ASSERT_EQ(pit.channels[0].mode, 2);
	TEST_ASSERT_EQ(pit.channels[0].count, 0x1234);
	TEST_ASSERT_EQ(pit.channels[0].rw_mode, 3);
	vm_ioctl(vm, KVM_SET_PIT2, &pit);
	vm_ioctl(vm, KVM_GET_PIT2, &pit);
	TEST_ASSERT_EQ(pit.channels[0].count, 0x1234);

	irq_line(vm, EDGE_PIN, 1);
	irq_line(vm, EDGE_PIN, 0);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(ioapic_edge_level),
		KTAP_CASE(pic_cascade),
		KTAP_CASE(pit_mode2_periodic),
		KTAP_CASE(irqfd_and_msi),
		KTAP_CASE(ioeventfd_pio_mmio),
		KTAP_CASE(save_restore),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

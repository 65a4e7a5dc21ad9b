// SPDX-License-Identifier: GPL-2.0
/*
 * The irqchip ioctls' contracts: what each answers without an irqchip,
 * twice, or with bad arguments, and state round trips.  No guest runs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kvm_util.h"

static void capabilities(void)
{
	static const long caps[] = {
		KVM_CAP_IRQCHIP, KVM_CAP_PIT2, KVM_CAP_PIT_STATE2,
		KVM_CAP_IRQ_ROUTING, KVM_CAP_IRQ_INJECT_STATUS,
		KVM_CAP_SIGNAL_MSI, KVM_CAP_IRQFD, KVM_CAP_IRQFD_RESAMPLE,
		KVM_CAP_IOEVENTFD, KVM_CAP_REINJECT_CONTROL, KVM_CAP_USER_NMI,
		KVM_CAP_SET_BOOT_CPU_ID, KVM_CAP_TSC_DEADLINE_TIMER,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(caps); i++)
		TEST_ASSERT(kvm_check_cap(caps[i]) > 0, "capability %ld", caps[i]);
	/* It counts the GSIs: QEMU sizes its routing table by it. */
	TEST_ASSERT_GE(kvm_check_cap(KVM_CAP_IRQ_ROUTING), 24);
}

/* Everything that needs the irqchip says so when there is none. */
static void without_irqchip(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 0, NULL);
	struct kvm_irq_level line = { .irq = 1, .level = 1 };
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_irq_routing routing = { .nr = 0 };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x40 };
	struct kvm_irqfd irqfd = { .gsi = 1 };
	struct kvm_lapic_state lapic;
	struct kvm_pit_state2 pit;
	struct kvm_pit_config cfg = { 0 };
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_HALTED };
	int efd = eventfd(0, 0);

	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IRQ_LINE, &line), ENXIO);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_IRQCHIP, &chip), ENXIO);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SET_GSI_ROUTING, &routing), EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi), EINVAL);
	irqfd.fd = efd;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IRQFD, &irqfd), EINVAL);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic), EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_PIT2, &pit), ENXIO);
	/* A PIT needs no irqchip (it just has nowhere to send IRQ0). */
	TEST_ASSERT_EQ(__vm_ioctl(vm, KVM_CREATE_PIT2, &cfg), 0);
	vm_ioctl(vm, KVM_GET_PIT2, &pit);
	/* Without an in-kernel APIC a vCPU is always runnable. */
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_MP_STATE, &mp), EINVAL);
	/* KVM_CREATE_IRQCHIP after the first vCPU is refused. */
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL), EINVAL);
	close(efd);
	kvm_vm_free(vm);
}

static struct kvm_vm *vm_with_irqchip(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);

	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	return vm;
}

static void create_twice(void)
{
	struct kvm_vm *vm = vm_with_irqchip();
	struct kvm_pit_config cfg = { .flags = KVM_PIT_SPEAKER_DUMMY };

	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL), EEXIST);
	vm_ioctl(vm, KVM_CREATE_PIT2, &cfg);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_CREATE_PIT2, &cfg), EEXIST);
	kvm_vm_free(vm);
}

static int set_routes(struct kvm_vm *vm, const struct kvm_irq_routing_entry *e,
		      uint32_t nr, uint32_t flags)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e[4];
	} r;

	memset(&r, 0, sizeof(r));
	r.hdr.nr = nr;
	r.hdr.flags = flags;
	memcpy(r.e, e, nr * sizeof(*e));
	return __vm_ioctl(vm, KVM_SET_GSI_ROUTING, &r);
}

static struct kvm_irq_routing_entry chip_route(uint32_t gsi, uint32_t chip,
					       uint32_t pin)
{
	struct kvm_irq_routing_entry e;

	memset(&e, 0, sizeof(e));
	e.gsi = gsi;
	e.type = KVM_IRQ_ROUTING_IRQCHIP;
	e.u.irqchip.irqchip = chip;
	e.u.irqchip.pin = pin;
	return e;
}

static struct kvm_irq_routing_entry msi_route(uint32_t gsi)
{
	struct kvm_irq_routing_entry e;

	memset(&e, 0, sizeof(e));
	e.gsi = gsi;
	e.type = KVM_IRQ_ROUTING_MSI;
	e.u.msi.address_lo = 0xfee00000;
	e.u.msi.data = 0x40;
	return e;
}

static void gsi_routing(void)
{
	struct kvm_vm *vm = vm_with_irqchip();
	struct kvm_irq_routing_entry e[4];
	struct {
		struct kvm_irq_routing hdr;
	} big = { .hdr.nr = 4097 };

	/* Good: one GSI to a PIC input and an IOAPIC pin; an MSI. */
	e[0] = chip_route(3, KVM_IRQCHIP_PIC_MASTER, 3);
	e[1] = chip_route(3, KVM_IRQCHIP_IOAPIC, 3);
	e[2] = msi_route(40);
	TEST_ASSERT_EQ(set_routes(vm, e, 3, 0), 0);
	TEST_ASSERT_EQ(set_routes(vm, e, 0, 0), 0);

	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SET_GSI_ROUTING, &big), EINVAL);
	TEST_ASSERT_ERRNO(set_routes(vm, e, 1, 1), EINVAL);
	e[0] = chip_route(1, KVM_IRQCHIP_IOAPIC, KVM_IOAPIC_NUM_PINS);
	TEST_ASSERT_ERRNO(set_routes(vm, e, 1, 0), EINVAL);
	e[0] = chip_route(1, KVM_IRQCHIP_PIC_SLAVE, 8);
	TEST_ASSERT_ERRNO(set_routes(vm, e, 1, 0), EINVAL);
	e[0] = chip_route(1, 3, 0);
	TEST_ASSERT_ERRNO(set_routes(vm, e, 1, 0), EINVAL);
	e[0] = chip_route(4096, KVM_IRQCHIP_IOAPIC, 1);
	TEST_ASSERT_ERRNO(set_routes(vm, e, 1, 0), EINVAL);
	e[0] = chip_route(1, KVM_IRQCHIP_IOAPIC, 1);
	e[0].type = 99;
	TEST_ASSERT_ERRNO(set_routes(vm, e, 1, 0), EINVAL);
	/* One GSI, two pins of the same chip. */
	e[0] = chip_route(1, KVM_IRQCHIP_IOAPIC, 1);
	e[1] = chip_route(1, KVM_IRQCHIP_IOAPIC, 2);
	TEST_ASSERT_ERRNO(set_routes(vm, e, 2, 0), EINVAL);
	/* An MSI GSI cannot fan out. */
	e[0] = msi_route(5);
	e[1] = chip_route(5, KVM_IRQCHIP_IOAPIC, 5);
	TEST_ASSERT_ERRNO(set_routes(vm, e, 2, 0), EINVAL);
	kvm_vm_free(vm);
}

static void irqchip_state(void)
{
	struct kvm_vm *vm = vm_with_irqchip();
	struct kvm_irqchip chip, back;

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = 3;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_IRQCHIP, &chip), EINVAL);

	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	chip.chip.pic.imr = 0x5a;
	chip.chip.pic.irq_base = 0x30;
	vm_ioctl(vm, KVM_SET_IRQCHIP, &chip);
	memset(&back, 0, sizeof(back));
	back.chip_id = KVM_IRQCHIP_PIC_MASTER;
	vm_ioctl(vm, KVM_GET_IRQCHIP, &back);
	TEST_ASSERT_EQ(back.chip.pic.imr, 0x5a);
	TEST_ASSERT_EQ(back.chip.pic.irq_base, 0x30);

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	vm_ioctl(vm, KVM_GET_IRQCHIP, &chip);
	TEST_ASSERT_EQ(chip.chip.ioapic.base_address, 0xfec00000);
	/* Every pin comes up masked (82093AA 3.2.4). */
	TEST_ASSERT(chip.chip.ioapic.redirtbl[7].fields.mask, "pin 7 unmasked");
	chip.chip.ioapic.redirtbl[7].bits = 0x0300000000000045ULL;
	vm_ioctl(vm, KVM_SET_IRQCHIP, &chip);
	memset(&back, 0, sizeof(back));
	back.chip_id = KVM_IRQCHIP_IOAPIC;
	vm_ioctl(vm, KVM_GET_IRQCHIP, &back);
	TEST_ASSERT_EQ(back.chip.ioapic.redirtbl[7].bits, 0x0300000000000045ULL);
	kvm_vm_free(vm);
}

static void lapic_and_mp_state(void)
{
	struct kvm_vm *vm = vm_with_irqchip();
	struct kvm_vcpu *bsp = vm_vcpu_add(vm, 0, NULL);
	struct kvm_vcpu *ap = vm_vcpu_add(vm, 1, NULL);
	struct kvm_lapic_state s;
	struct kvm_mp_state mp;

	vcpu_ioctl(bsp, KVM_GET_MP_STATE, &mp);
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);
	vcpu_ioctl(ap, KVM_GET_MP_STATE, &mp);
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_UNINITIALIZED);
	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	vcpu_ioctl(ap, KVM_SET_MP_STATE, &mp);
	vcpu_ioctl(ap, KVM_GET_MP_STATE, &mp);
	TEST_ASSERT_EQ(mp.mp_state, KVM_MP_STATE_RUNNABLE);

	/* xAPIC ID = vCPU id in 31:24, version 0x14, SVR 0xff at reset. */
	vcpu_ioctl(ap, KVM_GET_LAPIC, &s);
	TEST_ASSERT_EQ(*(uint32_t *)&s.regs[0x20], 1u << 24);
	TEST_ASSERT_EQ(*(uint32_t *)&s.regs[0x30] & 0xff, 0x14);
	TEST_ASSERT_EQ(*(uint32_t *)&s.regs[0xf0], 0xff);
	*(uint32_t *)&s.regs[0x80] = 0x40;	/* TPR */
	vcpu_ioctl(ap, KVM_SET_LAPIC, &s);
	memset(&s, 0, sizeof(s));
	vcpu_ioctl(ap, KVM_GET_LAPIC, &s);
	TEST_ASSERT_EQ(*(uint32_t *)&s.regs[0x80], 0x40);
	/* KVM_NMI queues an NMI for the next entry. */
	TEST_ASSERT_EQ(__vcpu_ioctl(bsp, KVM_NMI, NULL), 0);
	kvm_vm_free(vm);
}

/*
 * The guest enables its APIC (SVR), then, like code patched by QEMU's
 * kvmvapic, raises its TPR by writing the VAPIC page, not the APIC.
 */
static void guest_set_tpr(uint64_t vapic)
{
	*(volatile uint32_t *)(uintptr_t)0xfee000f0ULL = 0x1ff;
	*(volatile uint8_t *)(uintptr_t)vapic = 0x50;
	/* A self-IPI (IF is clear: it stays in IRR) makes KVM look again. */
	*(volatile uint32_t *)(uintptr_t)0xfee00300ULL = (1u << 18) | 0x60;
	GUEST_DONE();
}

/*
 * KVM_SET_VAPIC_ADDR: QEMU clears it at every APIC reset.  With an
 * address, the TPR byte there is the guest's TPR after each exit, and the
 * TPR, highest in-service and requested vectors are written back when
 * events are looked at before an entry.
 */
static void vapic_addr(void)
{
	struct kvm_vapic_addr va = { .vapic_addr = 0 };
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 0, guest_set_tpr);
	struct kvm_lapic_state s;
	uint64_t page;

	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_VAPIC), 1);
	/* Only with an in-kernel local APIC. */
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &va), EINVAL);
	kvm_vm_free(vm);

	vm = vm_with_irqchip();
	vcpu = vm_vcpu_add(vm, 0, guest_set_tpr);
	page = vm_alloc(vm, PAGE_SIZE);
	vcpu_args_set(vcpu, 1, page);
	vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &va);
	/* Outside guest memory. */
	va.vapic_addr = 0xf0000000ULL;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &va), EINVAL);
	va.vapic_addr = page;
	vcpu_ioctl(vcpu, KVM_SET_VAPIC_ADDR, &va);
	vcpu_expect_done(vcpu);
	vcpu_ioctl(vcpu, KVM_GET_LAPIC, &s);
	TEST_ASSERT_EQ(*(uint32_t *)&s.regs[0x80], 0x50);
	/* TPR in 7:0, the highest requested vector in 31:24. */
	TEST_ASSERT_EQ(*(uint32_t *)addr_gpa2hva(vm, page), 0x60000050);
	kvm_vm_free(vm);
}

/* Like upstream, an unprogrammed channel's count reads 0x10000. */
static void pit_reset_state(void)
{
	struct kvm_pit_config cfg = { .flags = 0 };
	struct kvm_vm *vm = vm_with_irqchip();
	struct kvm_pit_state2 ps;
	int ch;

	vm_ioctl(vm, KVM_CREATE_PIT2, &cfg);
	vm_ioctl(vm, KVM_GET_PIT2, &ps);
	for (ch = 0; ch < 3; ch++)
		TEST_ASSERT_EQ(ps.channels[ch].count, 0x10000);
	kvm_vm_free(vm);
}

static void eventfd_errors(void)
{
	struct kvm_vm *vm = vm_with_irqchip();
	struct kvm_ioeventfd io;
	struct kvm_irqfd f;
	int efd = eventfd(0, 0), nfd = open("/dev/null", O_RDONLY);

	TEST_ASSERT(efd >= 0 && nfd >= 0, "eventfd, /dev/null");
	memset(&f, 0, sizeof(f));
	f.fd = efd;
	f.flags = 4;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IRQFD, &f), EINVAL);
	f.flags = 0;
	f.fd = nfd;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IRQFD, &f), EINVAL);
	f.fd = 1000;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IRQFD, &f), EBADF);

	memset(&io, 0, sizeof(io));
	io.fd = efd;
	io.addr = 0x1000;
	io.len = 3;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IOEVENTFD, &io), EINVAL);
	io.len = 4;
	io.flags = 1 << 5;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IOEVENTFD, &io), EINVAL);
	io.len = 0;
	io.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IOEVENTFD, &io), EINVAL);
	io.len = 4;
	io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IOEVENTFD, &io), ENOENT);
	io.flags = 0;
	io.fd = 1000;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IOEVENTFD, &io), EBADF);
	close(efd);
	close(nfd);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(capabilities),
		KTAP_CASE(without_irqchip),
		KTAP_CASE(create_twice),
		KTAP_CASE(gsi_routing),
		KTAP_CASE(irqchip_state),
		KTAP_CASE(lapic_and_mp_state),
		KTAP_CASE(eventfd_errors),
		KTAP_CASE(vapic_addr),
		KTAP_CASE(pit_reset_state),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

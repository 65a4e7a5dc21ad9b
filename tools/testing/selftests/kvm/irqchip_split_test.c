// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_SPLIT_IRQCHIP: local APICs in the kernel, PIC and IOAPIC in
 * userspace (what QEMU's microvm machine uses).  The capability's rules,
 * MSI routes standing in for userspace's IOAPIC pins, KVM_EXIT_IOAPIC_EOI
 * for level-triggered vectors of the reserved GSIs, ExtINT through
 * KVM_INTERRUPT, and IPIs between vCPUs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "irqchip.h"

#define RESERVED_PINS	24
#define LEVEL_GSI	5	/* a pin of userspace's IOAPIC */
#define OTHER_GSI	30	/* not reserved: no EOI exit */
#define LEVEL_VECTOR	0x40
#define EDGE_VECTOR	0x41
#define OTHER_VECTOR	0x42
#define EXTINT_VECTOR	0x30
#define IPI_VECTOR	0x50
#define MSI_ADDR	0xfee00000u	/* physical destination APIC 0 */
#define MSI_LEVEL	(1u << 15)
#define MSI_ASSERT	(1u << 14)

static int enable_split(struct kvm_vm *vm, uint64_t pins)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_SPLIT_IRQCHIP,
		.args[0] = pins,
	};

	return __vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
}

static struct kvm_vm *vm_create_split(void)
{
	struct kvm_vm *vm;

	TEST_REQUIRE_CAP(KVM_CAP_SPLIT_IRQCHIP);
	vm = vm_create(VM_MODE_LONG, 0);
	TEST_ASSERT_EQ(enable_split(vm, RESERVED_PINS), 0);
	return vm;
}

/* Routes: GSI -> MSI (address, data). */
static void set_msi_routes(struct kvm_vm *vm, unsigned int n,
			   const uint32_t (*r)[2], const uint32_t *gsi)
{
	struct kvm_irq_routing *t;
	unsigned int i;

	t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));
	TEST_ASSERT(t, "calloc");
	t->nr = n;
	for (i = 0; i < n; i++) {
		t->entries[i].gsi = gsi[i];
		t->entries[i].type = KVM_IRQ_ROUTING_MSI;
		t->entries[i].u.msi.address_lo = r[i][0];
		t->entries[i].u.msi.data = r[i][1];
	}
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, t);
	free(t);
}

static void irq_line(struct kvm_vm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	vm_ioctl(vm, KVM_IRQ_LINE, &l);
}

/* ---- the capability ------------------------------------------------- */

static void guest_nothing(void)
{
	GUEST_DONE();
}

static void split_api(void)
{
	struct kvm_irq_routing_entry e = {
		.gsi = 1, .type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = 1 },
	};
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e;
	} rt = { .hdr.nr = 1, .e = e };
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_irqfd f = { .gsi = LEVEL_GSI };
	struct kvm_vm *vm;
	int efd, rfd;

	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_SPLIT_IRQCHIP), 1);
	vm = vm_create(VM_MODE_LONG, 0);
	/* At most KVM_MAX_IRQ_ROUTES reserved pins. */
	TEST_ASSERT_ERRNO(enable_split(vm, 4097), EINVAL);
	TEST_ASSERT_EQ(enable_split(vm, RESERVED_PINS), 0);
	TEST_ASSERT_ERRNO(enable_split(vm, RESERVED_PINS), EEXIST);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL), EEXIST);
	/* No PIC or IOAPIC in the kernel to save or to route to. */
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_IRQCHIP, &chip), ENXIO);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SET_GSI_ROUTING, &rt), EINVAL);
	/* irqfds work, resampling (IOAPIC EOIs) does not. */
	efd = eventfd(0, 0);
	rfd = eventfd(0, 0);
	TEST_ASSERT(efd >= 0 && rfd >= 0, "eventfd");
	f.fd = efd;
	f.flags = KVM_IRQFD_FLAG_RESAMPLE;
	f.resamplefd = rfd;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IRQFD, &f), EINVAL);
	f.flags = 0;
	vm_ioctl(vm, KVM_IRQFD, &f);
	/* The vCPUs get local APICs. */
	vm_irq_vcpu_add(vm, 0, guest_nothing);
	vcpu_expect_done(vm->vcpus[0]);
	kvm_vm_free(vm);
	close(efd);
	close(rfd);

	/* Too late once the full irqchip or a vCPU exists. */
	vm = vm_create(VM_MODE_LONG, 0);
	vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
	TEST_ASSERT_ERRNO(enable_split(vm, RESERVED_PINS), EEXIST);
	kvm_vm_free(vm);
	vm = vm_create(VM_MODE_LONG, 0);
	vm_vcpu_add(vm, 0, guest_nothing);
	TEST_ASSERT_ERRNO(enable_split(vm, RESERVED_PINS), EEXIST);
	kvm_vm_free(vm);
}

/* ---- EOIs of userspace's IOAPIC -------------------------------------- */

static void guest_eoi(void)
{
	irq_eoi_mode = EOI_XAPIC;
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	GUEST_SYNC(0);
	guest_wait_irqs(&irq_count[LEVEL_VECTOR], 1);
	GUEST_SYNC(1);
	guest_wait_irqs(&irq_count[EDGE_VECTOR], 1);
	GUEST_SYNC(2);
	guest_wait_irqs(&irq_count[OTHER_VECTOR], 1);
	GUEST_SYNC(3);
	GUEST_DONE();
}

static void split_ioapic_eoi(void)
{
	static const uint32_t msi[][2] = {
		{ MSI_ADDR, LEVEL_VECTOR | MSI_LEVEL | MSI_ASSERT },
		{ MSI_ADDR, OTHER_VECTOR | MSI_LEVEL | MSI_ASSERT },
	};
	static const uint32_t gsi[] = { LEVEL_GSI, OTHER_GSI };
	struct kvm_vm *vm = vm_create_split();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_eoi);
	struct kvm_msi m = { .address_lo = MSI_ADDR, .data = EDGE_VECTOR };
	struct ucall uc;

	set_msi_routes(vm, 2, msi, gsi);
	vcpu_expect_sync(vcpu, &uc);
	/* A level-triggered interrupt of a reserved GSI: its EOI exits. */
	irq_line(vm, LEVEL_GSI, 1);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IOAPIC_EOI);
	TEST_ASSERT_EQ(vcpu->run->eoi.vector, LEVEL_VECTOR);
	irq_line(vm, LEVEL_GSI, 0);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	/* Edge: nothing to report. */
	TEST_ASSERT_EQ(__vm_ioctl(vm, KVM_SIGNAL_MSI, &m), 1);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 2);
	/* Level, but not one of userspace's IOAPIC pins. */
	irq_line(vm, OTHER_GSI, 1);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 3);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- ExtINT from userspace's PIC ------------------------------------------ */

static void guest_extint(void)
{
	irq_eoi_mode = EOI_NONE;
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	GUEST_SYNC(0);
	/* The BSP's LINT0 takes ExtINT from reset (virtual wire). */
	guest_wait_irqs(&irq_count[EXTINT_VECTOR], 1);
	GUEST_DONE();
}

static void split_extint(void)
{
	struct kvm_interrupt intr = { .irq = EXTINT_VECTOR };
	struct kvm_vm *vm = vm_create_split();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_extint);
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	vcpu_ioctl(vcpu, KVM_INTERRUPT, &intr);
	/* One at a time: the APIC has not acknowledged the first yet. */
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_INTERRUPT, &intr), EEXIST);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);

	/* With the PIC in the kernel, KVM_INTERRUPT is not for userspace. */
	vm = vm_create_irqchip();
	vcpu = vm_irq_vcpu_add(vm, 0, guest_extint);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_INTERRUPT, &intr), ENXIO);
	kvm_vm_free(vm);
}

/* ---- IPIs ------------------------------------------------------------------ */

static void guest_ipi(uint64_t id)
{
	irq_eoi_mode = EOI_XAPIC;
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	if (id == 0) {
		xapic_write(APIC_ICR2, 1u << 24);
		xapic_write(APIC_ICR, IPI_VECTOR);
		guest_wait_irqs(&irq_count[IPI_VECTOR + 1], 1);
	} else {
		guest_wait_irqs(&irq_count[IPI_VECTOR], 1);
		xapic_write(APIC_ICR2, 0);
		xapic_write(APIC_ICR, IPI_VECTOR + 1);
	}
	GUEST_DONE();
}

static void split_ipi(void)
{
	struct kvm_vm *vm = vm_create_split();
	struct kvm_vcpu *v0 = vm_irq_vcpu_add(vm, 0, guest_ipi);
	struct kvm_vcpu *v1 = vm_irq_vcpu_add(vm, 1, guest_ipi);

	vcpu_args_set(v0, 1, 0ULL);
	vcpu_args_set(v1, 1, 1ULL);
	vcpu_apic_sw_enable(v0);
	vcpu_apic_sw_enable(v1);
	vcpus_run_until_done((struct kvm_vcpu *[]){ v0, v1 }, 2);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(split_api),
		KTAP_CASE(split_ioapic_eoi),
		KTAP_CASE(split_extint),
		KTAP_CASE(split_ipi),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

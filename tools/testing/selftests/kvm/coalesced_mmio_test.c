// SPDX-License-Identifier: GPL-2.0
/*
 * Coalesced MMIO and PIO: guest writes into a KVM_REGISTER_COALESCED_MMIO
 * zone land, in order, in the ring at KVM_COALESCED_MMIO_PAGE_OFFSET of
 * the vCPU mmap instead of exiting; reads, writes outside the zone, writes
 * after KVM_UNREGISTER_COALESCED_MMIO (which removes the zones containing
 * the range it is given) and the write that finds the ring full exit as
 * usual.  (Where the ring counts as full differs: upstream's unsigned
 * arithmetic stops it early at some fill levels.)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>

#include "kvm_util.h"

#define ZONE_GPA	0xc0000000ULL	/* identity mapped, no memslot */
#define ZONE_SIZE	0x1000
#define OUTSIDE_GPA	(ZONE_GPA + ZONE_SIZE)
#define ZONE_PORT	0x600
#define OUTSIDE_PORT	0x604

enum { OP_MIXED, OP_FLOOD, OP_PIO, OP_READ };

static void guest_code(uint64_t op, uint64_t n)
{
	volatile uint8_t *p = (volatile uint8_t *)ZONE_GPA;
	uint64_t i;

	switch (op) {
	case OP_MIXED:
		*(volatile uint8_t *)(p + 1) = 0x11;
		*(volatile uint16_t *)(p + 2) = 0x2222;
		*(volatile uint32_t *)(p + 4) = 0x33333333;
		*(volatile uint64_t *)(p + 8) = 0x4444444444444444ULL;
		*(volatile uint32_t *)OUTSIDE_GPA = 0x55;	/* exits */
		*(volatile uint64_t *)(p + 0xff8) = 0x6666666666666666ULL;
		break;
	case OP_FLOOD:
		for (i = 0; i < n; i++)
			*(volatile uint64_t *)(p + 8 * (i % 512)) = i;
		break;
	case OP_PIO:
		outb(ZONE_PORT, 0x77);
		outb(ZONE_PORT + 3, 0x78);
		outb(OUTSIDE_PORT, 0x79);	/* exits */
		break;
	case OP_READ:
		GUEST_SYNC(*(volatile uint32_t *)(p + 0x10));
		break;
	}
	GUEST_DONE();
}

struct ring_view {
	struct kvm_coalesced_mmio_ring *ring;
	uint32_t max;
};

static struct ring_view ring_of(struct kvm_vcpu *vcpu)
{
	long off = kvm_check_cap(KVM_CAP_COALESCED_MMIO);
	struct ring_view v;

	TEST_REQUIRE(off > 0, "KVM_CAP_COALESCED_MMIO not offered");
	TEST_ASSERT_EQ(off, KVM_COALESCED_MMIO_PAGE_OFFSET);
	TEST_ASSERT((size_t)(off + 1) * PAGE_SIZE <= vcpu->run_size,
		    "KVM_GET_VCPU_MMAP_SIZE %zu leaves out the ring page",
		    vcpu->run_size);
	v.ring = (void *)((uint8_t *)vcpu->run + off * PAGE_SIZE);
	v.max = (PAGE_SIZE - sizeof(*v.ring)) / sizeof(v.ring->coalesced_mmio[0]);
	return v;
}

static void zone(struct kvm_vm *vm, unsigned long ioctl_nr, uint64_t addr,
		 uint32_t size, uint32_t pio)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size };

	z.pio = pio;
	vm_ioctl(vm, ioctl_nr, &z);
}

/* Pop one entry and check it. */
static void expect_entry(struct ring_view *v, uint64_t addr, uint32_t len,
			 uint64_t data, uint32_t pio)
{
	struct kvm_coalesced_mmio *e;
	uint64_t got = 0;

	TEST_ASSERT(v->ring->first != v->ring->last,
		    "ring empty, expected a write of 0x%llx at 0x%llx",
		    (unsigned long long)data, (unsigned long long)addr);
	e = &v->ring->coalesced_mmio[v->ring->first];
	TEST_ASSERT_EQ(e->phys_addr, addr);
	TEST_ASSERT_EQ(e->len, len);
	TEST_ASSERT_EQ(e->pio, pio);
	memcpy(&got, e->data, len);
	TEST_ASSERT_EQ(got, data);
	v->ring->first = (v->ring->first + 1) % v->max;
}

static void expect_mmio_write(struct kvm_vcpu *vcpu, uint64_t addr,
			      uint32_t len, uint64_t data)
{
	uint64_t got = 0;

	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(vcpu->run->mmio.phys_addr, addr);
	TEST_ASSERT_EQ(vcpu->run->mmio.len, len);
	TEST_ASSERT_EQ(vcpu->run->mmio.is_write, 1);
	memcpy(&got, vcpu->run->mmio.data, len);
	TEST_ASSERT_EQ(got, data);
}

static void bad_zones(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	struct kvm_coalesced_mmio_zone z = { .addr = ZONE_GPA, .size = 8 };

	ring_of(vcpu);
	z.pio = 2;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, &z), EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_UNREGISTER_COALESCED_MMIO, &z), EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, NULL), EFAULT);
	/* Unregistering what was never there is fine. */
	zone(vm, KVM_UNREGISTER_COALESCED_MMIO, ZONE_GPA, 8, 0);
	kvm_vm_free(vm);
}

/* Writes of every size, in order, around one that exits. */
static void writes_in_order(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	struct ring_view v = ring_of(vcpu);

	zone(vm, KVM_REGISTER_COALESCED_MMIO, ZONE_GPA, ZONE_SIZE, 0);
	vcpu_args_set(vcpu, 2, (uint64_t)OP_MIXED, 0);
	vcpu_run(vcpu);
	expect_mmio_write(vcpu, OUTSIDE_GPA, 4, 0x55);
	expect_entry(&v, ZONE_GPA + 1, 1, 0x11, 0);
	expect_entry(&v, ZONE_GPA + 2, 2, 0x2222, 0);
	expect_entry(&v, ZONE_GPA + 4, 4, 0x33333333, 0);
	expect_entry(&v, ZONE_GPA + 8, 8, 0x4444444444444444ULL, 0);
	TEST_ASSERT_EQ(v.ring->first, v.ring->last);
	vcpu_expect_done(vcpu);
	expect_entry(&v, ZONE_GPA + 0xff8, 8, 0x6666666666666666ULL, 0);
	TEST_ASSERT_EQ(v.ring->first, v.ring->last);
	kvm_vm_free(vm);
}

/* A full ring: the next write exits, and nothing is lost or reordered. */
static void ring_full(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	struct ring_view v = ring_of(vcpu);
	uint64_t n = 2 * v.max + 5, i = 0;
	struct ucall uc;

	zone(vm, KVM_REGISTER_COALESCED_MMIO, ZONE_GPA, ZONE_SIZE, 0);
	vcpu_args_set(vcpu, 2, (uint64_t)OP_FLOOD, n);
	for (;;) {
		vcpu_run(vcpu);
		if (get_ucall(vcpu, &uc) != UCALL_NONE)
			break;
		/* The exit came because the ring was full, not empty. */
		TEST_ASSERT(v.ring->first != v.ring->last,
			    "write %llu exited with an empty ring",
			    (unsigned long long)i);
		while (v.ring->first != v.ring->last) {
			expect_entry(&v, ZONE_GPA + 8 * (i % 512), 8, i, 0);
			i++;
		}
		expect_mmio_write(vcpu, ZONE_GPA + 8 * (i % 512), 8, i);
		i++;
	}
	TEST_ASSERT_EQ(uc.cmd, UCALL_DONE);
	while (v.ring->first != v.ring->last) {
		expect_entry(&v, ZONE_GPA + 8 * (i % 512), 8, i, 0);
		i++;
	}
	TEST_ASSERT_EQ(i, n);
	kvm_vm_free(vm);
}

/* Port writes into a PIO zone; another port still exits. */
static void pio_zone(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	struct ring_view v = ring_of(vcpu);

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_COALESCED_PIO) > 0,
		     "KVM_CAP_COALESCED_PIO not offered");
	zone(vm, KVM_REGISTER_COALESCED_MMIO, ZONE_PORT, 4, 1);
	vcpu_args_set(vcpu, 2, (uint64_t)OP_PIO, 0);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, OUTSIDE_PORT);
	expect_entry(&v, ZONE_PORT, 1, 0x77, 1);
	expect_entry(&v, ZONE_PORT + 3, 1, 0x78, 1);
	TEST_ASSERT_EQ(v.ring->first, v.ring->last);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* Reads exit; after unregistering, writes exit too. */
static void reads_and_unregister(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	struct ring_view v = ring_of(vcpu);
	uint32_t answer = 0xabcd1234;
	struct ucall uc;

	zone(vm, KVM_REGISTER_COALESCED_MMIO, ZONE_GPA, ZONE_SIZE, 0);
	vcpu_args_set(vcpu, 2, (uint64_t)OP_READ, 0);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(vcpu->run->mmio.is_write, 0);
	TEST_ASSERT_EQ(vcpu->run->mmio.phys_addr, ZONE_GPA + 0x10);
	memcpy(vcpu->run->mmio.data, &answer, sizeof(answer));
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], answer);
	vcpu_expect_done(vcpu);
	TEST_ASSERT_EQ(v.ring->first, v.ring->last);
	kvm_vm_free(vm);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	v = ring_of(vcpu);
	zone(vm, KVM_REGISTER_COALESCED_MMIO, ZONE_GPA, 8, 0);
	zone(vm, KVM_REGISTER_COALESCED_MMIO, ZONE_GPA + 8, 8, 0);
	/* A range no zone contains removes nothing; one inside a zone
	 * removes that zone. */
	zone(vm, KVM_UNREGISTER_COALESCED_MMIO, ZONE_GPA, ZONE_SIZE, 0);
	zone(vm, KVM_UNREGISTER_COALESCED_MMIO, ZONE_GPA + 1, 1, 0);
	vcpu_args_set(vcpu, 2, (uint64_t)OP_MIXED, 0);
	vcpu_run(vcpu);
	expect_mmio_write(vcpu, ZONE_GPA + 1, 1, 0x11);
	vcpu_run(vcpu);
	expect_mmio_write(vcpu, ZONE_GPA + 2, 2, 0x2222);
	vcpu_run(vcpu);
	expect_mmio_write(vcpu, ZONE_GPA + 4, 4, 0x33333333);
	vcpu_run(vcpu);
	expect_mmio_write(vcpu, OUTSIDE_GPA, 4, 0x55);
	expect_entry(&v, ZONE_GPA + 8, 8, 0x4444444444444444ULL, 0);
	TEST_ASSERT_EQ(v.ring->first, v.ring->last);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(bad_zones),
		KTAP_CASE(writes_in_order),
		KTAP_CASE(ring_full),
		KTAP_CASE(pio_zone),
		KTAP_CASE(reads_and_unregister),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

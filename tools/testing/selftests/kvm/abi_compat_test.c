// SPDX-License-Identifier: GPL-2.0
/*
 * The ABI against clients of other ages: a client that probes capabilities
 * in any order, calls the ioctls of features it never enabled, or passes
 * flags from a newer ABI gets upstream's errno, and nothing changes: the VM
 * still runs its guest afterwards.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "kvm_util.h"

/* Every capability number the header knows, and a few beyond. */
#define NR_PROBED_CAPS (KVM_CAP_DIRTY_LOG_RING_ACQ_REL + 16)

static void probe_all(int fd, const int *order, int *answer)
{
	int i;

	for (i = 0; i < NR_PROBED_CAPS; i++) {
		int cap = order[i];

		answer[cap] = ioctl(fd, KVM_CHECK_EXTENSION, cap);
		TEST_ASSERT(answer[cap] >= 0, "KVM_CHECK_EXTENSION(%d): %s", cap,
			    ktap_errno_name(errno));
	}
}

/* Probing is free of side effects: any order gives the same answers. */
static void probe_order(int fd, const char *what)
{
	int order[NR_PROBED_CAPS], first[NR_PROBED_CAPS], again[NR_PROBED_CAPS];
	int i, round;

	for (i = 0; i < NR_PROBED_CAPS; i++)
		order[i] = i;
	probe_all(fd, order, first);
	srand(1);
	for (round = 0; round < 3; round++) {
		/* Descending, then two shuffles (Fisher-Yates, fixed seed). */
		for (i = 0; i < NR_PROBED_CAPS; i++)
			order[i] = NR_PROBED_CAPS - 1 - i;
		if (round)
			for (i = NR_PROBED_CAPS - 1; i > 0; i--) {
				int j = rand() % (i + 1), t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
		probe_all(fd, order, again);
		for (i = 0; i < NR_PROBED_CAPS; i++)
			TEST_ASSERT(first[i] == again[i],
				    "%s: cap %d answered %d, then %d in round %d",
				    what, i, first[i], again[i], round);
	}
}

static void caps_any_order(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);

	probe_order(vm->kvm_fd, "/dev/kvm");
	probe_order(vm->fd, "VM fd");
	kvm_vm_free(vm);
}

static void guest_sync_twice(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_DONE();
}

/* The VM is unharmed: its guest runs to the end. */
static void expect_guest_runs(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 2);
	vcpu_expect_done(vcpu);
}

/* Flag bits no kernel defines yet are refused; nothing is half-done. */
static void newer_flags_vm(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_sync_twice);
	const uint64_t gpa = 0x40000000, size = 0x100000;
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MAX_VCPU_ID, .flags = 1,
				      .args = { 8 } };
	struct kvm_irqfd irqfd = { .gsi = 5, .flags = 1u << 7 };
	struct kvm_ioeventfd ioev = { .addr = 0x1234, .len = 2, .flags = 1u << 9 };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x30,
			       .flags = 1u << 4 };
	struct kvm_irq_routing routing = { .nr = 0, .flags = 1 };
	struct kvm_msr_filter filter = { .flags = 1u << 3 };
	int efd = eventfd(0, EFD_CLOEXEC);

	TEST_ASSERT(mem != MAP_FAILED && efd >= 0, "mmap/eventfd: %s", strerror(errno));
	irqfd.fd = efd;
	ioev.fd = efd;

	TEST_ASSERT_ERRNO(__vm_set_user_memory_region(vm, 5, 1u << 3, gpa, size, mem),
			  EINVAL);
	TEST_ASSERT_ERRNO(__vm_set_user_memory_region(vm, 5, 1u << 31, gpa, size, mem),
			  EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap), EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IRQFD, &irqfd), EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IOEVENTFD, &ioev), EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi), EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SET_GSI_ROUTING, &routing), EINVAL);
	if (vm_check_cap(vm, KVM_CAP_X86_MSR_FILTER) > 0)
		TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, &filter),
				  EINVAL);
	if (vm_check_cap(vm, KVM_CAP_ADJUST_CLOCK) > 0) {
		struct kvm_clock_data clock = { .flags = 1u << 20 };

		TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SET_CLOCK, &clock), EINVAL);
	}

	/* None of it took: slot 5 is still free. */
	vm_set_user_memory_region(vm, 5, 0, gpa, size, mem);
	expect_guest_runs(vcpu);
	close(efd);
	kvm_vm_free(vm);
	munmap(mem, size);
}

static void newer_flags_vcpu(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_sync_twice);
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HYPERV_SYNIC, .flags = 1 };
	struct kvm_vcpu_events events;

	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &cap), EINVAL);
	/*
	 * KVM_SET_GUEST_DEBUG is not tested here: kvm-amd of 6.1 accepts
	 * control bits it does not know.
	 */
	vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &events);
	events.flags |= 1u << 12;
	events.exception.injected = 1;
	events.exception.nr = 6;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &events), EINVAL);

	/* No #UD was queued: the guest runs normally. */
	expect_guest_runs(vcpu);
	kvm_vm_free(vm);
}

/* The ioctls of an in-kernel irqchip and PIT nobody created. */
static void never_enabled_irqchip(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_sync_twice);
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_irq_level line = { .irq = 4, .level = 1 };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x30 };
	struct kvm_irq_routing routing = { .nr = 0 };
	struct kvm_pit_state2 pit;
	struct kvm_lapic_state lapic;

	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_IRQCHIP, &chip), ENXIO);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SET_IRQCHIP, &chip), ENXIO);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_IRQ_LINE, &line), ENXIO);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_PIT2, &pit), ENXIO);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SIGNAL_MSI, &msi), EINVAL);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SET_GSI_ROUTING, &routing), EINVAL);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic), EINVAL);
	expect_guest_runs(vcpu);
	kvm_vm_free(vm);
}

/* Dirty logging on a slot that never asked for it; no ring enabled. */
static void never_enabled_dirty_log(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_sync_twice);
	static uint64_t bitmap[64];
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };

	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log), ENOENT);
	expect_guest_runs(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(caps_any_order),
		KTAP_CASE(newer_flags_vm),
		KTAP_CASE(newer_flags_vcpu),
		KTAP_CASE(never_enabled_irqchip),
		KTAP_CASE(never_enabled_dirty_log),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

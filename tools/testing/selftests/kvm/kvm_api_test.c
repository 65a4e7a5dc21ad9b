// SPDX-License-Identifier: GPL-2.0
/*
 * The system-fd basics: KVM_GET_API_VERSION, KVM_CHECK_EXTENSION on the
 * system and the VM fd, KVM_GET_VCPU_MMAP_SIZE, KVM_CREATE_VM arguments.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "kvm_util.h"

static void api_version(void)
{
	int fd = kvm_open();

	TEST_ASSERT_EQ(ioctl(fd, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	/* Upstream refuses a non-zero argument. */
	TEST_ASSERT_ERRNO(ioctl(fd, KVM_GET_API_VERSION, 1), EINVAL);
	close(fd);
}

/* What every x86 KVM that can run this tree's guests must offer. */
static void check_extension_required(void)
{
	static const struct { long cap; const char *name; } caps[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_NR_VCPUS, "KVM_CAP_NR_VCPUS" },
		{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS" },
		{ KVM_CAP_MAX_VCPUS, "KVM_CAP_MAX_VCPUS" },
		{ KVM_CAP_MAX_VCPU_ID, "KVM_CAP_MAX_VCPU_ID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_CHECK_EXTENSION_VM, "KVM_CAP_CHECK_EXTENSION_VM" },
		{ KVM_CAP_DESTROY_MEMORY_REGION_WORKS, "KVM_CAP_DESTROY_MEMORY_REGION_WORKS" },
		{ KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, "KVM_CAP_JOIN_MEMORY_REGIONS_WORKS" },
	};
	int fd = kvm_open();
	bool bad = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		int r = ioctl(fd, KVM_CHECK_EXTENSION, caps[i].cap);

		ktap_print("%s = %d", caps[i].name, r);
		if (r <= 0) {
			ktap_print("  expected > 0 (%s)", r < 0 ? ktap_errno_name(errno) : "absent");
			bad = true;
		}
	}
	TEST_ASSERT(!bad, "required capabilities missing");
	close(fd);
}

/* Numbers no kernel knows, and other architectures' capabilities: 0, no error. */
static void check_extension_unknown(void)
{
	static const long caps[] = {
		-1, 224, 1000, 0x7fffffff, 0x100000000L,
		KVM_CAP_S390_PSW, KVM_CAP_PPC_SEGSTATE, KVM_CAP_ARM_PSCI,
		KVM_CAP_MIPS_FPU, KVM_CAP_S390_UCONTROL, KVM_CAP_ARM_SVE,
	};
	int fd = kvm_open();
	size_t i;

	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		int r = ioctl(fd, KVM_CHECK_EXTENSION, caps[i]);

		TEST_ASSERT(r == 0, "KVM_CHECK_EXTENSION(%ld) = %d (%s), expected 0",
			    caps[i], r, r < 0 ? ktap_errno_name(errno) : "-");
	}
	close(fd);
}

static void check_extension_limits_consistent(void)
{
	int fd = kvm_open();
	int nr = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	int max = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	int max_id = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	int slots = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	ktap_print("NR_VCPUS %d MAX_VCPUS %d MAX_VCPU_ID %d NR_MEMSLOTS %d, %ld host CPUs",
		   nr, max, max_id, slots, cpus);
	TEST_ASSERT_GE(nr, 1);
	TEST_ASSERT_LE(nr, max);
	/* The recommended count is the online CPU count, capped at the max. */
	TEST_ASSERT_EQ(nr, cpus < max ? cpus : max);
	TEST_ASSERT_LE(max, max_id);
	/* Upstream has always offered at least 32 user memslots. */
	TEST_ASSERT_GE(slots, 32);
	TEST_ASSERT_LE(slots, 0x10000);
	close(fd);
}

/*
 * A VM fd answers like the system fd for everything x86 KVM knows; compare
 * every capability number defined by the ABI header.  KVM_CAP_X2APIC_API is
 * left out: newer kernels offer fewer of its flags on a VM without a split
 * irqchip than on the system fd.
 */
static void check_extension_vm_fd(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	int cap, diffs = 0;

	TEST_ASSERT_EQ(ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1);
	for (cap = 0; cap <= KVM_CAP_DIRTY_LOG_RING_ACQ_REL + 8; cap++) {
		int sys, vmr;

		if (cap == KVM_CAP_X2APIC_API)
			continue;
		sys = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap);
		vmr = ioctl(vm->fd, KVM_CHECK_EXTENSION, cap);

		TEST_ASSERT(sys >= 0 && vmr >= 0, "cap %d: system %d, VM %d (%s)",
			    cap, sys, vmr, ktap_errno_name(errno));
		if (sys != vmr) {
			ktap_print("cap %d: system fd %d, VM fd %d", cap, sys, vmr);
			diffs++;
		}
	}
	TEST_ASSERT_EQ(diffs, 0);
	kvm_vm_free(vm);
}

static void vcpu_mmap_size(void)
{
	int fd = kvm_open();
	int size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	long page = sysconf(_SC_PAGESIZE);

	ktap_print("KVM_GET_VCPU_MMAP_SIZE = %d", size);
	TEST_ASSERT(size > 0, "KVM_GET_VCPU_MMAP_SIZE: %s", ktap_errno_name(errno));
	TEST_ASSERT_EQ(size % page, 0);
	/* kvm_run, then the PIO data page. */
	TEST_ASSERT_GE(size, (KVM_PIO_PAGE_OFFSET + 1) * page);
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO) > 0)
		TEST_ASSERT_GE(size, (KVM_COALESCED_MMIO_PAGE_OFFSET + 1) * page);
	TEST_ASSERT_ERRNO(ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 1), EINVAL);
	close(fd);
}

static void create_vm_bad_type(void)
{
	int fd = kvm_open();

	/* x86 knows types 0 (default) and a few protected types; not these. */
	TEST_ASSERT_ERRNO(ioctl(fd, KVM_CREATE_VM, 0x80000000UL), EINVAL);
	TEST_ASSERT_ERRNO(ioctl(fd, KVM_CREATE_VM, 0xffUL), EINVAL);
	close(fd);
}

static void unknown_system_ioctl(void)
{
	int fd = kvm_open();

	/* A vCPU ioctl on the system fd, and a made-up number. */
	TEST_ASSERT_ERRNO(ioctl(fd, KVM_RUN, 0), EINVAL);
	TEST_ASSERT_ERRNO(ioctl(fd, _IO(KVMIO, 0x7f), 0), EINVAL);
	close(fd);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(api_version),
		KTAP_CASE(check_extension_required),
		KTAP_CASE(check_extension_unknown),
		KTAP_CASE(check_extension_limits_consistent),
		KTAP_CASE(check_extension_vm_fd),
		KTAP_CASE(vcpu_mmap_size),
		KTAP_CASE(create_vm_bad_type),
		KTAP_CASE(unknown_system_ioctl),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

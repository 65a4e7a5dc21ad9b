// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CREATE_VCPU against the advertised limits: KVM_CAP_NR_VCPUS (the
 * recommended count), KVM_CAP_MAX_VCPUS (vCPUs per VM) and
 * KVM_CAP_MAX_VCPU_ID (ids are below it), with upstream's errnos.
 *
 * vCPU fds are closed right after creation where many are made: a vCPU
 * lives as long as its VM, so this keeps the test within RLIMIT_NOFILE.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

#include "kvm_util.h"

static int create_vcpu(struct kvm_vm *vm, unsigned long id)
{
	return ioctl(vm->fd, KVM_CREATE_VCPU, id);
}

static void limits_reported(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	int nr = vm_check_cap(vm, KVM_CAP_NR_VCPUS);
	int max = vm_check_cap(vm, KVM_CAP_MAX_VCPUS);
	int max_id = vm_check_cap(vm, KVM_CAP_MAX_VCPU_ID);

	ktap_print("VM fd: NR_VCPUS %d, MAX_VCPUS %d, MAX_VCPU_ID %d", nr, max, max_id);
	TEST_ASSERT_GE(nr, 1);
	TEST_ASSERT_LE(nr, max);
	TEST_ASSERT_LE(max, max_id);
	TEST_ASSERT_EQ(nr, kvm_check_cap(KVM_CAP_NR_VCPUS));
	TEST_ASSERT_EQ(max, kvm_check_cap(KVM_CAP_MAX_VCPUS));
	TEST_ASSERT_EQ(max_id, kvm_check_cap(KVM_CAP_MAX_VCPU_ID));
	kvm_vm_free(vm);
}

static void vcpu_id_bounds(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	int max_id = vm_check_cap(vm, KVM_CAP_MAX_VCPU_ID);
	int fd;

	TEST_ASSERT_ERRNO(create_vcpu(vm, max_id), EINVAL);
	TEST_ASSERT_ERRNO(create_vcpu(vm, (unsigned long)max_id + 1), EINVAL);
	TEST_ASSERT_ERRNO(create_vcpu(vm, 0xffffffffUL), EINVAL);
	TEST_ASSERT_ERRNO(create_vcpu(vm, -1UL), EINVAL);

	fd = TEST_ASSERT_OK(create_vcpu(vm, max_id - 1));
	close(fd);
	fd = TEST_ASSERT_OK(create_vcpu(vm, 0));
	close(fd);
	kvm_vm_free(vm);
}

static void vcpu_id_duplicate(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	int fd;

	fd = TEST_ASSERT_OK(create_vcpu(vm, 3));
	TEST_ASSERT_ERRNO(create_vcpu(vm, 3), EEXIST);
	/* Closing the fd does not free the id: the vCPU lives on in the VM. */
	close(fd);
	TEST_ASSERT_ERRNO(create_vcpu(vm, 3), EEXIST);
	kvm_vm_free(vm);
}

/* Exactly KVM_CAP_MAX_VCPUS vCPUs fit in one VM, with sparse ids. */
static void max_vcpus_per_vm(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	int max = vm_check_cap(vm, KVM_CAP_MAX_VCPUS);
	int max_id = vm_check_cap(vm, KVM_CAP_MAX_VCPU_ID);
	int i, fd, stride = max_id / max;

	TEST_ASSERT_GE(stride, 1);
	for (i = 0; i < max; i++) {
		fd = create_vcpu(vm, (unsigned long)i * stride);
		TEST_ASSERT(fd >= 0, "vCPU %d of %d (id %d): %s", i + 1, max,
			    i * stride, ktap_errno_name(errno));
		close(fd);
	}
	/* One more, with an id not used yet, is refused. */
	TEST_ASSERT_ERRNO(create_vcpu(vm, (unsigned long)max * stride - 1), EINVAL);
	ktap_print("created %d vCPUs, ids 0..%d step %d", max, (max - 1) * stride, stride);
	kvm_vm_free(vm);
}

/* The recommended number of vCPUs can be created and run. */
static void guest_hello(uint64_t id)
{
	GUEST_SYNC(id);
	GUEST_DONE();
}

static void nr_vcpus_run(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);
	int nr = vm_check_cap(vm, KVM_CAP_NR_VCPUS);
	struct ucall uc;
	int i;

	if (nr > VM_MAX_VCPUS)
		nr = VM_MAX_VCPUS;
	for (i = 0; i < nr; i++) {
		struct kvm_vcpu *vcpu = vm_vcpu_add(vm, i, guest_hello);

		vcpu_args_set(vcpu, 1, i);
	}
	for (i = 0; i < nr; i++) {
		vcpu_expect_sync(vm->vcpus[i], &uc);
		TEST_ASSERT_EQ(uc.args[0], i);
		vcpu_expect_done(vm->vcpus[i]);
	}
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(limits_reported),
		KTAP_CASE(vcpu_id_bounds),
		KTAP_CASE(vcpu_id_duplicate),
		KTAP_CASE(max_vcpus_per_vm),
		KTAP_CASE(nr_vcpus_run),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

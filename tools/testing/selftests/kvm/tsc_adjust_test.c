// SPDX-License-Identifier: GPL-2.0
/*
 * IA32_TSC_ADJUST (SDM vol 3, 17.17.3) and the guest TSC offset, as
 * upstream 6.1 serves them:
 *   - KVM_GET_SUPPORTED_CPUID offers it (leaf 7.0 EBX[1]);
 *   - a guest write to TSC_ADJUST moves the guest TSC by the difference, a
 *     guest write to the TSC moves TSC_ADJUST by the jump;
 *   - a VMM's KVM_SET_MSRS of TSC_ADJUST restores the value without
 *     moving the TSC;
 *   - while the guest's CPUID does not offer it, writes are dropped;
 *   - the vCPU attribute KVM_VCPU_TSC_OFFSET (group KVM_VCPU_TSC_CTRL)
 *     reads and sets the offset; other attributes are ENXIO.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"

#define MSR_IA32_TSC		0x10
#define MSR_IA32_TSC_ADJUST	0x3b
#define CPUID7_EBX_TSC_ADJUST	(1U << 1)

/* Far beyond anything the run itself takes (TSC ticks). */
#define JUMP			(1ULL << 40)
/*
 * What a run of a few exits can take in the slow nested bed; also how far
 * kvm-amd lets a stopped vCPU's TSC drift back when the host TSC is
 * unstable (in the bed it is: L1 runs on hpet), as it adjusts the offset
 * at each vCPU load to hide the time the vCPU did not run.
 */
#define SLACK			(1ULL << 34)

static uint64_t distance(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
		     "d"((uint32_t)(v >> 32)) : "memory");
}

static struct {
	struct kvm_cpuid2 c;
	struct kvm_cpuid_entry2 e[256];
} cpuid;

static void get_supported(void)
{
	int kvm = kvm_open();

	cpuid.c.nent = 256;
	kvm_ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid);
	close(kvm);
}

static struct kvm_cpuid_entry2 *leaf7(void)
{
	uint32_t i;

	for (i = 0; i < cpuid.c.nent; i++)
		if (cpuid.e[i].function == 7 && cpuid.e[i].index == 0)
			return &cpuid.e[i];
	return NULL;
}

/* A vCPU running @code with the supported CPUID, TSC_ADJUST on or off. */
static struct kvm_vm *create(struct kvm_vcpu **vcpu, void *code, bool adjust)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, code);
	struct kvm_cpuid_entry2 *e;

	get_supported();
	e = leaf7();
	TEST_ASSERT(e, "no CPUID leaf 7 in KVM_GET_SUPPORTED_CPUID");
	if (!adjust)
		e->ebx &= ~CPUID7_EBX_TSC_ADJUST;
	vcpu_ioctl(*vcpu, KVM_SET_CPUID2, &cpuid);
	return vm;
}

static void supported_cpuid(void)
{
	struct kvm_cpuid_entry2 *e;

	get_supported();
	e = leaf7();
	TEST_ASSERT(e, "no CPUID leaf 7 in KVM_GET_SUPPORTED_CPUID");
	TEST_ASSERT(e->ebx & CPUID7_EBX_TSC_ADJUST,
		    "leaf 7 EBX 0x%x lacks TSC_ADJUST", e->ebx);
}

static void guest_writes_code(void)
{
	uint64_t t0, t1, adj;

	t0 = rdmsr(MSR_IA32_TSC);
	wrmsr(MSR_IA32_TSC_ADJUST, JUMP);
	t1 = rdmsr(MSR_IA32_TSC);
	adj = rdmsr(MSR_IA32_TSC_ADJUST);
	GUEST_SYNC(t0, t1, adj);
	/* Back by JUMP from t1: TSC_ADJUST takes the (negative) jump. */
	wrmsr(MSR_IA32_TSC, t1 - JUMP);
	t0 = rdmsr(MSR_IA32_TSC);
	adj = rdmsr(MSR_IA32_TSC_ADJUST);
	GUEST_SYNC(t1, t0, adj);
	GUEST_DONE();
}

static void guest_writes(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create(&vcpu, guest_writes_code, true);
	struct ucall uc;
	uint64_t before, after;

	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[2], JUMP);
	TEST_ASSERT_GE(uc.args[1] - uc.args[0], JUMP);
	TEST_ASSERT_LE(uc.args[1] - uc.args[0], JUMP + SLACK);

	vcpu_expect_sync(vcpu, &uc);
	/* TSC_ADJUST: JUMP - (JUMP + the time since t1): a little below 0. */
	TEST_ASSERT_LE(-uc.args[2], SLACK);
	TEST_ASSERT_GE(uc.args[1], uc.args[0] - JUMP);
	TEST_ASSERT_LE(uc.args[1], uc.args[0] - JUMP + SLACK);
	vcpu_expect_done(vcpu);

	/* The VMM restores TSC_ADJUST: the TSC does not move. */
	before = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	vcpu_set_msr(vcpu, MSR_IA32_TSC_ADJUST, 2 * JUMP);
	after = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_IA32_TSC_ADJUST), 2 * JUMP);
	TEST_ASSERT_LE(distance(after, before), SLACK);
	kvm_vm_free(vm);
}

static void guest_dropped_code(void)
{
	uint64_t t0, t1;

	t0 = rdmsr(MSR_IA32_TSC);
	wrmsr(MSR_IA32_TSC_ADJUST, JUMP);
	t1 = rdmsr(MSR_IA32_TSC);
	GUEST_SYNC(t0, t1, rdmsr(MSR_IA32_TSC_ADJUST));
	GUEST_DONE();
}

static void dropped_without_cpuid(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create(&vcpu, guest_dropped_code, false);
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[2], 0);
	TEST_ASSERT_LE(uc.args[1] - uc.args[0], SLACK);
	vcpu_expect_done(vcpu);
	vcpu_set_msr(vcpu, MSR_IA32_TSC_ADJUST, JUMP);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_IA32_TSC_ADJUST), 0);
	kvm_vm_free(vm);
}

static int tsc_attr(struct kvm_vcpu *vcpu, unsigned long ioctl_nr,
		    uint32_t group, uint64_t attr, uint64_t *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(unsigned long)val,
	};

	return __vcpu_ioctl(vcpu, ioctl_nr, &a);
}

static void guest_idle_code(void)
{
	GUEST_DONE();
}

static void tsc_offset_attr(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t off, check, before, after;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VCPU_ATTRIBUTES) > 0,
		     "no KVM_CAP_VCPU_ATTRIBUTES");
	vm = create(&vcpu, guest_idle_code, true);
	TEST_ASSERT_OK(tsc_attr(vcpu, KVM_HAS_DEVICE_ATTR, KVM_VCPU_TSC_CTRL,
				KVM_VCPU_TSC_OFFSET, NULL));
	TEST_ASSERT_ERRNO(tsc_attr(vcpu, KVM_HAS_DEVICE_ATTR,
				   KVM_VCPU_TSC_CTRL, 1, NULL), ENXIO);
	TEST_ASSERT_ERRNO(tsc_attr(vcpu, KVM_HAS_DEVICE_ATTR, 1,
				   KVM_VCPU_TSC_OFFSET, NULL), ENXIO);
	TEST_ASSERT_ERRNO(tsc_attr(vcpu, KVM_GET_DEVICE_ATTR,
				   KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET,
				   (uint64_t *)8), EFAULT);

	TEST_ASSERT_OK(tsc_attr(vcpu, KVM_GET_DEVICE_ATTR, KVM_VCPU_TSC_CTRL,
				KVM_VCPU_TSC_OFFSET, &off));
	before = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	off += JUMP;
	TEST_ASSERT_OK(tsc_attr(vcpu, KVM_SET_DEVICE_ATTR, KVM_VCPU_TSC_CTRL,
				KVM_VCPU_TSC_OFFSET, &off));
	after = vcpu_get_msr(vcpu, MSR_IA32_TSC);
	TEST_ASSERT_LE(distance(after - before, JUMP), SLACK);
	TEST_ASSERT_OK(tsc_attr(vcpu, KVM_GET_DEVICE_ATTR, KVM_VCPU_TSC_CTRL,
				KVM_VCPU_TSC_OFFSET, &check));
	TEST_ASSERT_LE(distance(check, off), SLACK);
	/* TSC_ADJUST is the guest's view, not moved by the VMM's offset. */
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_IA32_TSC_ADJUST), 0);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(supported_cpuid),
		KTAP_CASE(guest_writes),
		KTAP_CASE(dropped_without_cpuid),
		KTAP_CASE(tsc_offset_attr),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Machine-check architecture (KVM_CAP_MCE): the banks a VMM sizes with
 * KVM_X86_SETUP_MCE, their MSRs' rules through KVM_GET/SET_MSRS, and
 * KVM_X86_SET_MCE logging a corrected error, raising #MC for an
 * uncorrected one, and shutting the vCPU down when a machine check is
 * already in progress (SDM vol 3, 15.10.1; QEMU writes these MSRs at every
 * reset, so a VMM needs all of it).
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kvm_util.h"

#define MSR_MCG_CAP		0x179
#define MSR_MCG_STATUS		0x17a
#define MSR_MCG_CTL		0x17b
#define MSR_MC_CTL(b)		(0x400 + 4 * (b))
#define MSR_MC_STATUS(b)	(0x401 + 4 * (b))
#define MSR_MC_ADDR(b)		(0x402 + 4 * (b))
#define MSR_MC_MISC(b)		(0x403 + 4 * (b))

#define MCG_BANKCNT_MASK	0xffULL
#define MCG_CTL_P		(1ULL << 8)
#define MCG_EXT_CNT_MASK	0xff0000ULL
#define MCG_STATUS_RIPV		(1ULL << 0)
#define MCG_STATUS_MCIP		(1ULL << 2)
#define MCI_STATUS_VAL		(1ULL << 63)
#define MCI_STATUS_OVER		(1ULL << 62)
#define MCI_STATUS_UC		(1ULL << 61)
#define MCI_STATUS_EN		(1ULL << 60)
#define MCI_STATUS_PCC		(1ULL << 57)

#define MC_VECTOR		18
#define NR_BANKS		10
#define MAX_BANKS		32	/* the most KVM_X86_SETUP_MCE takes */

/* KVM_GET_MSRS/KVM_SET_MSRS of one MSR: returns the ioctl's count. */
static int msr_io(struct kvm_vcpu *vcpu, bool set, uint32_t index,
		  uint64_t *data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = *data };
	int r = vcpu_ioctl(vcpu, set ? KVM_SET_MSRS : KVM_GET_MSRS, &m);

	*data = m.e.data;
	return r;
}

static uint64_t get_msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	uint64_t v = 0;

	if (msr_io(vcpu, false, index, &v) != 1)
		TEST_FAIL("KVM_GET_MSRS refused MSR 0x%x", index);
	return v;
}

static bool set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t v)
{
	return msr_io(vcpu, true, index, &v) == 1;
}

static struct kvm_vm *mce_vm(struct kvm_vcpu **vcpu, void *guest_code)
{
	int banks = kvm_check_cap(KVM_CAP_MCE);

	TEST_REQUIRE(banks > 0, "KVM_CAP_MCE not offered");
	TEST_ASSERT_EQ(banks, MAX_BANKS);
	return vm_create_with_one_vcpu(vcpu, guest_code);
}

static void setup_mce(struct kvm_vcpu *vcpu, uint64_t cap)
{
	vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &cap);
}

/* KVM_X86_GET_MCE_CAP_SUPPORTED and KVM_X86_SETUP_MCE's validation. */
static void setup_validation(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = mce_vm(&vcpu, NULL);
	uint64_t supported = 0, cap, bit;

	kvm_ioctl(vm->kvm_fd, KVM_X86_GET_MCE_CAP_SUPPORTED, &supported);
	TEST_ASSERT(supported & MCG_CTL_P, "supported 0x%llx",
		    (unsigned long long)supported);

	/* Before any setup every bank is there and MCG_CTL is not. */
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MCG_CAP), MAX_BANKS);

	cap = MCG_CTL_P;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &cap), EINVAL);
	cap = MCG_CTL_P | (MAX_BANKS + 1);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &cap), EINVAL);
	for (bit = 1ULL << 8; bit; bit <<= 1) {
		if ((supported & bit) || (bit & MCG_EXT_CNT_MASK))
			continue;
		cap = bit | NR_BANKS;
		TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &cap),
				  EINVAL);
	}
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, (void *)8),
			  EFAULT);

	cap = MCG_CTL_P | MAX_BANKS;
	setup_mce(vcpu, cap);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MCG_CAP), cap);
	kvm_vm_free(vm);
}

/* After setup: reporting enabled everywhere; each MSR's write rules. */
static void bank_msrs(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = mce_vm(&vcpu, NULL);
	uint64_t v = 0;
	int b;

	setup_mce(vcpu, MCG_CTL_P | NR_BANKS);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MCG_CAP), MCG_CTL_P | NR_BANKS);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MCG_CTL), ~0ULL);
	for (b = 0; b < NR_BANKS; b++) {
		TEST_ASSERT_EQ(get_msr(vcpu, MSR_MC_CTL(b)), ~0ULL);
		TEST_ASSERT_EQ(get_msr(vcpu, MSR_MC_STATUS(b)), 0);
	}
	/* No bank NR_BANKS: the ioctl stops before it. */
	TEST_ASSERT_EQ(msr_io(vcpu, false, MSR_MC_CTL(NR_BANKS), &v), 0);
	TEST_ASSERT_EQ(msr_io(vcpu, true, MSR_MC_STATUS(NR_BANKS), &v), 0);

	/* MCG_CAP is read-only. */
	TEST_ASSERT(!set_msr(vcpu, MSR_MCG_CAP, MCG_CTL_P | 2), "MCG_CAP");
	/* MCG_CTL: all ones or zero. */
	TEST_ASSERT(!set_msr(vcpu, MSR_MCG_CTL, 0x1234), "MCG_CTL 0x1234");
	TEST_ASSERT(set_msr(vcpu, MSR_MCG_CTL, 0), "MCG_CTL 0");
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MCG_CTL), 0);
	/* MCi_CTL: zero or all ones, but bits 10 and 0 may be clear. */
	TEST_ASSERT(!set_msr(vcpu, MSR_MC_CTL(3), 0x5), "MC3_CTL 5");
	TEST_ASSERT(set_msr(vcpu, MSR_MC_CTL(4), ~0ULL & ~(1ULL << 10)),
		    "MC4_CTL without bit 10");
	TEST_ASSERT(set_msr(vcpu, MSR_MC_CTL(1), ~1ULL), "MC1_CTL without bit 0");
	TEST_ASSERT(set_msr(vcpu, MSR_MC_CTL(2), 0), "MC2_CTL 0");
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MC_CTL(4)), ~0ULL & ~(1ULL << 10));
	/* A VMM restores STATUS, ADDR and MISC as they were. */
	TEST_ASSERT(set_msr(vcpu, MSR_MC_STATUS(5), MCI_STATUS_VAL | 0x17),
		    "MC5_STATUS");
	TEST_ASSERT(set_msr(vcpu, MSR_MC_ADDR(5), 0xabcd000), "MC5_ADDR");
	TEST_ASSERT(set_msr(vcpu, MSR_MC_MISC(5), 0x86), "MC5_MISC");
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MC_STATUS(5)), MCI_STATUS_VAL | 0x17);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MC_ADDR(5)), 0xabcd000);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MC_MISC(5)), 0x86);
	TEST_ASSERT(set_msr(vcpu, MSR_MCG_STATUS, MCG_STATUS_RIPV), "MCG_STATUS");
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MCG_STATUS), MCG_STATUS_RIPV);
	kvm_vm_free(vm);
}

static void guest_read_bank(uint64_t bank)
{
	for (;;) {
		GUEST_SYNC(rdmsr(MSR_MCG_CAP), rdmsr(MSR_MC_STATUS(bank)),
			   rdmsr(MSR_MC_ADDR(bank)), rdmsr(MSR_MC_MISC(bank)));
	}
}

static void set_mce(struct kvm_vcpu *vcpu, uint8_t bank, uint64_t status,
		    uint64_t mcg_status, uint64_t addr, uint64_t misc)
{
	struct kvm_x86_mce mce = {
		.status = status, .addr = addr, .misc = misc,
		.mcg_status = mcg_status, .bank = bank,
	};

	vcpu_ioctl(vcpu, KVM_X86_SET_MCE, &mce);
}

/* A corrected error is only logged; a second one sets OVER. */
static void corrected_error(void)
{
	const uint64_t st = MCI_STATUS_VAL | MCI_STATUS_EN | 0x0135;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = mce_vm(&vcpu, guest_read_bank);
	struct kvm_x86_mce bad = { .status = st, .bank = NR_BANKS };
	struct ucall uc;

	setup_mce(vcpu, MCG_CTL_P | NR_BANKS);
	vcpu_args_set(vcpu, 1, 3);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_X86_SET_MCE, &bad), EINVAL);
	bad.bank = 3;
	bad.status = MCI_STATUS_EN;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_X86_SET_MCE, &bad), EINVAL);

	set_mce(vcpu, 3, st, 0, 0x1000, 0x86);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], MCG_CTL_P | NR_BANKS);
	TEST_ASSERT_EQ(uc.args[1], st);
	TEST_ASSERT_EQ(uc.args[2], 0x1000);
	TEST_ASSERT_EQ(uc.args[3], 0x86);

	set_mce(vcpu, 3, st, 0, 0x2000, 0x87);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[1], st | MCI_STATUS_OVER);
	TEST_ASSERT_EQ(uc.args[2], 0x2000);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MCG_STATUS), 0);
	kvm_vm_free(vm);
}

static void guest_enable_mce(void)
{
	asm volatile("mov %0, %%cr4" : : "r"(get_cr4() | X86_CR4_MCE));
	for (;;)
		GUEST_SYNC(1);
}

/* An uncorrected error with CR4.MCE set raises #MC in the guest. */
static void uncorrected_error(void)
{
	const uint64_t st = MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN |
			    MCI_STATUS_PCC | 0x0150;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = mce_vm(&vcpu, guest_enable_mce);
	struct ucall uc;

	setup_mce(vcpu, MCG_CTL_P | NR_BANKS);
	vcpu_expect_sync(vcpu, &uc);
	set_mce(vcpu, 7, st, MCG_STATUS_MCIP, 0x3000, 0x88);
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_EXCEPTION);
	TEST_ASSERT_EQ(uc.args[0], MC_VECTOR);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MC_STATUS(7)), st);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MC_ADDR(7)), 0x3000);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MCG_STATUS), MCG_STATUS_MCIP);
	kvm_vm_free(vm);
}

/* Reporting disabled in MCi_CTL: an uncorrected error is dropped. */
static void uncorrected_disabled(void)
{
	const uint64_t st = MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = mce_vm(&vcpu, guest_enable_mce);
	struct ucall uc;

	setup_mce(vcpu, MCG_CTL_P | NR_BANKS);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT(set_msr(vcpu, MSR_MC_CTL(2), 0), "MC2_CTL 0");
	set_mce(vcpu, 2, st, MCG_STATUS_MCIP, 0x3000, 0);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(get_msr(vcpu, MSR_MC_STATUS(2)), 0);
	kvm_vm_free(vm);
}

/* A machine check while one is in progress (MCIP) shuts the vCPU down. */
static void mcip_shutdown(void)
{
	const uint64_t st = MCI_STATUS_VAL | MCI_STATUS_UC | MCI_STATUS_EN;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = mce_vm(&vcpu, guest_enable_mce);
	struct ucall uc;

	setup_mce(vcpu, MCG_CTL_P | NR_BANKS);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT(set_msr(vcpu, MSR_MCG_STATUS, MCG_STATUS_MCIP), "MCIP");
	set_mce(vcpu, 1, st, MCG_STATUS_MCIP, 0, 0);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_SHUTDOWN);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(setup_validation),
		KTAP_CASE(bank_msrs),
		KTAP_CASE(corrected_error),
		KTAP_CASE(uncorrected_error),
		KTAP_CASE(uncorrected_disabled),
		KTAP_CASE(mcip_shutdown),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

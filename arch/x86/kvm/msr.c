// SPDX-License-Identifier: GPL-2.0-only
/*
 * Model-specific registers: the ones a guest may read and write, the index
 * lists, KVM_GET/SET_MSRS and the RDMSR/WRMSR exits.
 */
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <asm/msr.h>
#include <asm/tsc.h>
#include <asm/vmx.h>

#include "x86.h"
#include "irq.h"
#include "kvm_para.h"
#include "smm.h"
#include "hyperv.h"

/* Entries per KVM_GET/SET_MSRS call (upstream's MAX_IO_MSRS). */
#define KVM_MAX_MSRS_IOCTL	256

/* MTRRs (SDM vol 3, 11.11): 8 variable ranges, fixed ranges, WC. */
#define MSR_MTRR_VAR_FIRST	0x200
#define MSR_MTRR_VAR_LAST	0x20f
#define MTRR_CAP_VALUE		(BIT(10) | BIT(8) | 8)
#define MTRR_DEFTYPE_VALID	(0xffULL | BIT(10) | BIT(11))
/* Default value of IA32_MISC_ENABLE: BTS and PEBS unavailable. */
#define MISC_ENABLE_DEFAULT	(MSR_IA32_MISC_ENABLE_BTS_UNAVAIL |	\
				 MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL)
/* The microcode revision KVM reports to guests. */
#define UCODE_REV_DEFAULT	0x100000000ULL
#define APIC_DEFAULT_BASE	0xfee00000ULL

/*
 * KVM_GET_MSR_INDEX_LIST: the MSRs a VMM saves and restores, as upstream
 * lists them.  EFER, FS/GS base and APIC_BASE travel in SREGS; MTRRs are
 * saved by VMMs on their own; MTRRcap is read-only.
 */
static const u32 msrs_to_save[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_TSC, MSR_IA32_CR_PAT, MSR_TSC_AUX,
	MSR_IA32_TSC_ADJUST, MSR_IA32_ARCH_CAPABILITIES, MSR_IA32_MISC_ENABLE,
	MSR_IA32_POWER_CTL, MSR_IA32_TSC_DEADLINE, MSR_IA32_PERF_CAPABILITIES,
	MSR_PLATFORM_INFO, MSR_MISC_FEATURES_ENABLES,
	/* The paravirtual MSRs (kvm_para.c), as upstream lists them. */
	MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK,
	MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW,
	MSR_KVM_STEAL_TIME, MSR_KVM_PV_EOI_EN, MSR_KVM_POLL_CONTROL,
	MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL, MSR_IA32_UCODE_REV, MSR_K7_HWCR,
	MSR_IA32_SMBASE,
	/* Hyper-V's (hyperv.c), as upstream lists them. */
	HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL,
	HV_X64_MSR_TIME_REF_COUNT, HV_X64_MSR_REFERENCE_TSC,
	HV_X64_MSR_TSC_FREQUENCY, HV_X64_MSR_APIC_FREQUENCY,
	HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_P1, HV_X64_MSR_CRASH_P2,
	HV_X64_MSR_CRASH_P3, HV_X64_MSR_CRASH_P4, HV_X64_MSR_CRASH_CTL,
	HV_X64_MSR_RESET, HV_X64_MSR_VP_INDEX, HV_X64_MSR_VP_RUNTIME,
	HV_X64_MSR_SCONTROL, HV_X64_MSR_STIMER0_CONFIG,
	HV_X64_MSR_VP_ASSIST_PAGE, HV_X64_MSR_REENLIGHTENMENT_CONTROL,
	HV_X64_MSR_TSC_EMULATION_CONTROL, HV_X64_MSR_TSC_EMULATION_STATUS,
	HV_X64_MSR_SYNDBG_OPTIONS, HV_X64_MSR_SYNDBG_CONTROL,
	HV_X64_MSR_SYNDBG_STATUS, HV_X64_MSR_SYNDBG_SEND_BUFFER,
	HV_X64_MSR_SYNDBG_RECV_BUFFER, HV_X64_MSR_SYNDBG_PENDING_BUFFER,
};

static const u32 feature_msrs[] = {
	MSR_IA32_ARCH_CAPABILITIES, MSR_IA32_UCODE_REV,
	MSR_IA32_PERF_CAPABILITIES, MSR_AMD64_DE_CFG,
};

/* DE_CFG bit 1: LFENCE is dispatch serializing (APM vol 2, 7.6.4). */
#define DE_CFG_LFENCE_SERIALIZE	BIT_ULL(1)

/* The IA32_ARCH_CAPABILITIES bits a guest may be told (SDM vol 4, 2.1). */
#define ARCH_CAP_PASSED	(ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL |		\
			 ARCH_CAP_RSBA | ARCH_CAP_SKIP_VMENTRY_L1DFLUSH |	\
			 ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO |			\
			 ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TSX_CTRL_MSR |	\
			 ARCH_CAP_TAA_NO | ARCH_CAP_SBDR_SSDP_NO |		\
			 ARCH_CAP_FBSDP_NO | ARCH_CAP_PSDP_NO |			\
			 ARCH_CAP_FB_CLEAR | ARCH_CAP_RRSBA |			\
			 ARCH_CAP_PBRSB_NO | ARCH_CAP_GDS_NO |			\
			 ARCH_CAP_RFDS_NO | ARCH_CAP_RFDS_CLEAR |		\
			 ARCH_CAP_BHI_NO | ARCH_CAP_ITS_NO)

/*
 * The IA32_ARCH_CAPABILITIES a guest sees, as upstream computes it: the
 * host's own bits, plus a "not affected" bit for each flaw the host kernel
 * found it does not have.  A guest page-size change never machine-checks
 * (PSCHANGE_MC_NO); a guest hypervisor need not flush L1D on VM entry
 * unless the host was told never to (SKIP_VMENTRY_L1DFLUSH).
 */
static u64 kvm_arch_capabilities(void)
{
	u64 data = 0;

	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
		rdmsrl(MSR_IA32_ARCH_CAPABILITIES, data);
	data &= ARCH_CAP_PASSED;
	data |= ARCH_CAP_PSCHANGE_MC_NO;
	if (l1tf_vmx_mitigation != VMENTER_L1D_FLUSH_NEVER)
		data |= ARCH_CAP_SKIP_VMENTRY_L1DFLUSH;
	if (!boot_cpu_has_bug(X86_BUG_CPU_MELTDOWN))
		data |= ARCH_CAP_RDCL_NO;
	if (!boot_cpu_has_bug(X86_BUG_SPEC_STORE_BYPASS))
		data |= ARCH_CAP_SSB_NO;
	if (!boot_cpu_has_bug(X86_BUG_MDS))
		data |= ARCH_CAP_MDS_NO;
	if (!boot_cpu_has_bug(X86_BUG_RFDS))
		data |= ARCH_CAP_RFDS_NO;
	if (!boot_cpu_has(X86_FEATURE_RTM))
		data &= ~ARCH_CAP_TAA_NO;
	else if (!boot_cpu_has_bug(X86_BUG_TAA))
		data |= ARCH_CAP_TAA_NO;
	if (!boot_cpu_has_bug(X86_BUG_GDS) || gds_ucode_mitigated())
		data |= ARCH_CAP_GDS_NO;
	if (!boot_cpu_has_bug(X86_BUG_ITS))
		data |= ARCH_CAP_ITS_NO;
	return data;
}

/* The DE_CFG bits a guest may see set: only "LFENCE serializes". */
static u64 kvm_de_cfg_supported(void)
{
	return boot_cpu_has(X86_FEATURE_LFENCE_RDTSC) ?
	       DE_CFG_LFENCE_SERIALIZE : 0;
}

/*
 * MSRs a guest kernel touches while it brings the CPU up but which have no
 * function under ukvm (as under upstream KVM): reads give a fixed value,
 * writes are dropped (WR_IGNORE), kept in the vCPU (WR_KEEP, bits within
 * @mask, others #GP) or refused (WR_GP).
 */
enum { WR_GP, WR_IGNORE, WR_KEEP };

struct kvm_plain_msr {
	u32 index;
	u8 write;
	u64 mask;
};

/* HWCR bits a guest may set: McStatusWrEn (18), TscFreqSel (24). */
#define HWCR_WRITABLE	(BIT_ULL(18) | BIT_ULL(24))

static const struct kvm_plain_msr plain_msrs[] = {
	{ MSR_IA32_PLATFORM_ID, WR_GP },
	{ MSR_IA32_EBL_CR_POWERON, WR_GP },
	{ MSR_EBC_FREQUENCY_ID, WR_GP },
	{ MSR_IA32_UCODE_WRITE, WR_IGNORE },
	{ MSR_IA32_POWER_CTL, WR_KEEP, ~0ULL },
	{ MSR_IA32_BBL_CR_CTL3, WR_IGNORE },
	/* No LBR virtualisation: DEBUGCTL reads 0, writes are dropped. */
	{ MSR_IA32_DEBUGCTLMSR, WR_IGNORE },
	{ MSR_IA32_LASTBRANCHFROMIP, WR_GP },
	{ MSR_IA32_LASTBRANCHTOIP, WR_GP },
	{ MSR_IA32_LASTINTFROMIP, WR_GP },
	{ MSR_IA32_LASTINTTOIP, WR_GP },
	{ MSR_K7_HWCR, WR_KEEP, HWCR_WRITABLE },
	{ MSR_K7_CLK_CTL, WR_IGNORE },
	{ MSR_AMD64_NB_CFG, WR_IGNORE },
	{ MSR_K8_INT_PENDING_MSG, WR_IGNORE },
	{ MSR_FAM10H_MMIO_CONF_BASE, WR_IGNORE },
	{ MSR_AMD64_OSVW_ID_LENGTH, WR_IGNORE },
	{ MSR_AMD64_OSVW_STATUS, WR_IGNORE },
	{ MSR_AMD64_LS_CFG, WR_IGNORE },
	/* DE_CFG: kept here, checked in kvm_set_msr. */
	{ MSR_AMD64_DE_CFG, WR_KEEP, ~0ULL },
	{ MSR_AMD64_BU_CFG2, WR_IGNORE },
	{ MSR_VM_IGNNE, WR_IGNORE },
};

static const struct kvm_plain_msr *find_plain_msr(u32 index, int *slot)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(plain_msrs); i++) {
		if (plain_msrs[i].index == index) {
			*slot = i;
			return &plain_msrs[i];
		}
	}
	return NULL;
}

static int kvm_get_plain_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data)
{
	int slot;
	const struct kvm_plain_msr *m = find_plain_msr(index, &slot);

	if (!m)
		return KVM_MSR_RET_UNKNOWN;
	*data = m->write == WR_KEEP ? vcpu->arch.plain_msrs[slot] : 0;
	return 0;
}

static int kvm_set_plain_msr(struct kvm_vcpu *vcpu, u32 index, u64 data,
			     bool host)
{
	int slot;
	const struct kvm_plain_msr *m = find_plain_msr(index, &slot);

	if (!m)
		return KVM_MSR_RET_UNKNOWN;
	switch (m->write) {
	case WR_IGNORE:
		return 0;
	case WR_KEEP:
		if (data & ~m->mask)
			return 1;
		vcpu->arch.plain_msrs[slot] = data;
		return 0;
	default:
		/* Restoring the value we report is always fine. */
		return host && data == 0 ? 0 : 1;
	}
}

static const u32 mtrr_fixed_msrs[] = {
	MSR_MTRRfix64K_00000, MSR_MTRRfix16K_80000, MSR_MTRRfix16K_A0000,
	MSR_MTRRfix4K_C0000, MSR_MTRRfix4K_C8000, MSR_MTRRfix4K_D0000,
	MSR_MTRRfix4K_D8000, MSR_MTRRfix4K_E0000, MSR_MTRRfix4K_E8000,
	MSR_MTRRfix4K_F0000, MSR_MTRRfix4K_F8000,
};

long kvm_dev_ioctl_get_msr_index_list(struct kvm_msr_list __user *argp,
				      bool features)
{
	const u32 *list = features ? feature_msrs : msrs_to_save;
	u32 n = features ? ARRAY_SIZE(feature_msrs) : ARRAY_SIZE(msrs_to_save);
	struct kvm_msr_list hdr;

	u32 room;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	room = hdr.nmsrs;
	hdr.nmsrs = n;
	if (copy_to_user(argp, &hdr, sizeof(hdr)))
		return -EFAULT;
	if (room < n)
		return -E2BIG;
	if (copy_to_user(argp->indices, list, n * sizeof(u32)))
		return -EFAULT;
	return 0;
}

static int kvm_get_feature_msr(u32 index, u64 *data)
{
	switch (index) {
	case MSR_IA32_ARCH_CAPABILITIES:
		*data = kvm_arch_capabilities();
		return 0;
	case MSR_IA32_UCODE_REV:
		/* The host's (a vCPU starts with UCODE_REV_DEFAULT). */
		if (rdmsrl_safe(MSR_IA32_UCODE_REV, data))
			*data = 0;
		return 0;
	case MSR_IA32_PERF_CAPABILITIES:
		/* No PMU: no performance-monitoring capabilities. */
		*data = 0;
		return 0;
	case MSR_AMD64_DE_CFG:
		*data = kvm_de_cfg_supported();
		return 0;
	default:
		return 1;
	}
}

static bool is_noncanonical(u64 addr)
{
	/* 48-bit virtual addresses (no LA57 offered). */
	return (u64)((s64)(addr << 16) >> 16) != addr;
}

static bool valid_memtype(u8 t)
{
	/* UC, WC, WT, WP, WB (SDM vol 3, table 11-8); 7 is UC- for PAT only. */
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

static bool valid_pat(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (!valid_memtype(t) && t != 7)
			return false;
	}
	return true;
}

static bool valid_mtrr_types(u64 val)
{
	int i;

	for (i = 0; i < 8; i++)
		if (!valid_memtype(val >> (i * 8)))
			return false;
	return true;
}

static u64 *mtrr_slot(struct kvm_vcpu *vcpu, u32 index)
{
	int i;

	if (index >= MSR_MTRR_VAR_FIRST && index <= MSR_MTRR_VAR_LAST)
		return &vcpu->arch.mtrr_var[index - MSR_MTRR_VAR_FIRST];
	for (i = 0; i < ARRAY_SIZE(mtrr_fixed_msrs); i++)
		if (mtrr_fixed_msrs[i] == index)
			return &vcpu->arch.mtrr_fixed[i];
	if (index == MSR_MTRRdefType)
		return &vcpu->arch.mtrr_deftype;
	return NULL;
}

static bool guest_has_rdtscp(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 0x80000001, 0);

	/* CPUID 0x8000_0001 EDX[27]: RDTSCP. */
	return e && (e->edx & BIT(27));
}

static bool guest_has_tsc_adjust(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 7, 0);

	/* CPUID 7.0 EBX[1]: IA32_TSC_ADJUST. */
	return e && (e->ebx & BIT(1));
}

static bool guest_has_arch_capabilities(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 7, 0);

	/* CPUID 7.0 EDX[29]: IA32_ARCH_CAPABILITIES. */
	return e && (e->edx & BIT(29));
}

/* CPUID 0's vendor "GenuineIntel" (EBX holds "Genu"). */
static bool guest_cpuid_is_intel(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 0, 0);

	return e && e->ebx == 0x756e6547;
}

/*
 * SYSENTER_ESP/EIP: AMD implements no 64-bit SYSENTER and keeps only their
 * low 32 bits (so a non-canonical value is no error); for a guest that
 * claims to be Intel, as upstream, the value is made canonical instead.
 */
static u64 sysenter_value(struct kvm_vcpu *vcpu, u64 data)
{
	if (guest_cpuid_is_intel(vcpu))
		return (u64)((s64)(data << 16) >> 16);
	return (u32)data;
}

/*
 * Returns 0 on success, KVM_MSR_RET_INVALID when the access must fail (#GP
 * for the guest), KVM_MSR_RET_UNKNOWN for an MSR ukvm does not know.
 */
int kvm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	u64 *mtrr;
	int r;

	if (!kvm_x86_ops->get_msr(vcpu, index, data)) {
		if (index == MSR_IA32_SYSENTER_ESP ||
		    index == MSR_IA32_SYSENTER_EIP)
			*data = sysenter_value(vcpu, *data);
		return 0;
	}
	/* x2APIC registers, APIC_BASE, TSC_DEADLINE of the in-kernel APIC. */
	r = kvm_lapic_msr_read(vcpu, index, data);
	if (r != -ENOENT)
		return r;
	r = kvm_pv_msr_read(vcpu, index, data);
	if (r != -ENOENT)
		return r;
	r = kvm_mce_get_msr(vcpu, index, data, host);
	if (r != -ENOENT)
		return r;
	r = kvm_smm_get_msr(vcpu, index, data, host);
	if (r != -ENOENT)
		return r;
	r = kvm_hv_get_msr(vcpu, index, data, host);
	if (r != -ENOENT)
		return r;

	switch (index) {
	case MSR_EFER:
		*data = kvm_x86_ops->get_efer(vcpu);
		return 0;
	case MSR_IA32_TSC:
		*data = rdtsc() + vcpu->arch.tsc_offset;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		*data = vcpu->arch.tsc_adjust;
		return 0;
	case MSR_TSC_AUX:
		if (!host && !guest_has_rdtscp(vcpu))
			return 1;
		*data = vcpu->arch.tsc_aux;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->arch.misc_enable;
		return 0;
	case MSR_IA32_APICBASE:
		*data = vcpu->arch.apic_base;
		return 0;
	case MSR_MTRRcap:
		*data = MTRR_CAP_VALUE;
		return 0;
	case MSR_IA32_UCODE_REV:
		*data = UCODE_REV_DEFAULT;
		return 0;
	case MSR_IA32_ARCH_CAPABILITIES:
		/* The guest reads it when its CPUID offers it (7.0 EDX[29]). */
		if (!host && !guest_has_arch_capabilities(vcpu))
			return 1;
		*data = vcpu->arch.arch_capabilities;
		return 0;
	case MSR_IA32_PERF_CAPABILITIES:
		/* Guests would need CPUID.1.ECX[15] (PDCM), never offered. */
		if (!host)
			return 1;
		*data = 0;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		/* No in-kernel APIC (else lapic.c answered): no timer armed. */
		*data = 0;
		return 0;
	case MSR_PLATFORM_INFO:
		if (!host && vcpu->kvm->arch.platform_info_hidden)
			return 1;
		*data = vcpu->arch.platform_info;
		return 0;
	case MSR_MISC_FEATURES_ENABLES:
		*data = vcpu->arch.misc_features;
		return 0;
	}
	mtrr = mtrr_slot(vcpu, index);
	if (mtrr) {
		*data = *mtrr;
		return 0;
	}
	return kvm_get_plain_msr(vcpu, index, data);
}

/* Guest writes move TSC_ADJUST; VMM writes are matched (pvclock.c). */
static int kvm_set_tsc(struct kvm_vcpu *vcpu, u64 data, bool host)
{
	kvm_tsc_write(vcpu, data, host);
	return 0;
}

static int kvm_set_mtrr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	u64 *slot = mtrr_slot(vcpu, index);

	if (!slot)
		return 1;
	if (index == MSR_MTRRdefType) {
		if ((data & ~MTRR_DEFTYPE_VALID) || !valid_memtype(data & 0xff))
			return 1;
	} else if (index >= MSR_MTRR_VAR_FIRST && index <= MSR_MTRR_VAR_LAST) {
		/* Even MSRs are bases (type in 7:0), odd ones masks. */
		if (!(index & 1) && !valid_memtype(data & 0xff))
			return 1;
		if ((data >> host_maxphyaddr) || (data & 0x700))
			return 1;
	} else if (!valid_mtrr_types(data)) {
		return 1;
	}
	*slot = data;
	return 0;
}

static int kvm_set_canonical_msr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	if (is_noncanonical(data))
		return 1;
	return kvm_x86_ops->set_msr(vcpu, index, data) ? 1 : 0;
}

int kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	int r = kvm_lapic_msr_write(vcpu, index, data, host);

	if (r != -ENOENT)
		return r;
	r = kvm_pv_msr_write(vcpu, index, data, host);
	if (r != -ENOENT)
		return r;
	r = kvm_mce_set_msr(vcpu, index, data, host);
	if (r != -ENOENT)
		return r;
	r = kvm_smm_set_msr(vcpu, index, data, host);
	if (r != -ENOENT)
		return r;
	r = kvm_hv_set_msr(vcpu, index, data, host);
	if (r != -ENOENT)
		return r;
	switch (index) {
	case MSR_EFER:
		return kvm_set_efer(vcpu, data, host);
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
		return kvm_set_canonical_msr(vcpu, index, data);
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		return kvm_x86_ops->set_msr(vcpu, index,
					    sysenter_value(vcpu, data)) ? 1 : 0;
	case MSR_STAR:
	case MSR_IA32_SYSENTER_CS:
		return kvm_x86_ops->set_msr(vcpu, index, data) ? 1 : 0;
	case MSR_SYSCALL_MASK:
		if (data >> 32)
			return 1;
		return kvm_x86_ops->set_msr(vcpu, index, data) ? 1 : 0;
	case MSR_IA32_CR_PAT:
		if (!valid_pat(data))
			return 1;
		return kvm_x86_ops->set_msr(vcpu, index, data) ? 1 : 0;
	case MSR_IA32_TSC:
		return kvm_set_tsc(vcpu, data, host);
	case MSR_IA32_TSC_ADJUST:
		/*
		 * The guest's write moves its TSC; a VMM's restores state.  As
		 * upstream, writes are dropped while CPUID does not offer it.
		 */
		if (!guest_has_tsc_adjust(vcpu))
			return 0;
		if (!host)
			kvm_tsc_set_offset(vcpu, vcpu->arch.tsc_offset +
					   data - vcpu->arch.tsc_adjust);
		vcpu->arch.tsc_adjust = data;
		return 0;
	case MSR_IA32_ARCH_CAPABILITIES:
		if (!host)
			return 1;
		vcpu->arch.arch_capabilities = data;
		return 0;
	case MSR_MTRRcap:
		/* Read-only; a VMM restoring the value we report is fine. */
		return host && data == MTRR_CAP_VALUE ? 0 : 1;
	case MSR_TSC_AUX:
		if ((!host && !guest_has_rdtscp(vcpu)) || (data >> 32))
			return 1;
		vcpu->arch.tsc_aux = data;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		vcpu->arch.misc_enable = data;
		return 0;
	case MSR_IA32_APICBASE:
		/* Reserved: bits 0-7, 9, 10 and above MAXPHYADDR. */
		if ((data & 0x6ff) || (data >> host_maxphyaddr))
			return 1;
		vcpu->arch.apic_base = data;
		return 0;
	case MSR_IA32_UCODE_REV:
		return host ? 0 : 1;
	case MSR_IA32_PERF_CAPABILITIES:
		return host && !data ? 0 : 1;
	case MSR_IA32_TSC_DEADLINE:
		/* As upstream without an in-kernel APIC: dropped. */
		return 0;
	case MSR_PLATFORM_INFO:
		/*
		 * Read-only to the guest; a VMM may set any value, but not
		 * take CPUID faulting away while the guest has it on.
		 */
		if (!host || (!(data & MSR_PLATFORM_INFO_CPUID_FAULT) &&
			      kvm_cpuid_faulting(vcpu)))
			return 1;
		vcpu->arch.platform_info = data;
		return 0;
	case MSR_MISC_FEATURES_ENABLES:
		/* Bit 0: CPUID faulting, when PLATFORM_INFO offers it. */
		if ((data & ~MSR_MISC_FEATURES_ENABLES_CPUID_FAULT) ||
		    ((data & MSR_MISC_FEATURES_ENABLES_CPUID_FAULT) &&
		     !(vcpu->arch.platform_info &
		       MSR_PLATFORM_INFO_CPUID_FAULT)))
			return 1;
		vcpu->arch.misc_features = data;
		return 0;
	case MSR_AMD64_DE_CFG:
		/* Supported bits only; the guest may not change any. */
		if ((data & ~kvm_de_cfg_supported()) ||
		    (!host && data != kvm_de_cfg_supported()))
			return 1;
		return kvm_set_plain_msr(vcpu, index, data, host);
	default:
		if (mtrr_slot(vcpu, index))
			return kvm_set_mtrr(vcpu, index, data);
		return kvm_set_plain_msr(vcpu, index, data, host);
	}
}

void kvm_msr_vcpu_reset(struct kvm_vcpu *vcpu)
{
	BUILD_BUG_ON(ARRAY_SIZE(plain_msrs) >
		     ARRAY_SIZE(vcpu->arch.plain_msrs));
	vcpu->arch.misc_enable = MISC_ENABLE_DEFAULT;
	vcpu->arch.arch_capabilities = kvm_arch_capabilities();
	/* CPUID faulting is offered (SDM vol 3, 2.3.11 for the bits). */
	vcpu->arch.platform_info = MSR_PLATFORM_INFO_CPUID_FAULT;
	vcpu->arch.apic_base = APIC_DEFAULT_BASE | MSR_IA32_APICBASE_ENABLE;
	if (vcpu->vcpu_id == vcpu->kvm->arch.bsp_vcpu_id)
		vcpu->arch.apic_base |= MSR_IA32_APICBASE_BSP;
	/* A new vCPU's TSC is 0, matched with its siblings' (pvclock.c). */
	kvm_tsc_write(vcpu, 0, true);
}

long kvm_dev_ioctl_get_feature_msrs(struct kvm_msrs __user *argp)
{
	struct kvm_msrs hdr;
	struct kvm_msr_entry e;
	u32 i;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= KVM_MAX_MSRS_IOCTL)
		return -E2BIG;
	for (i = 0; i < hdr.nmsrs; i++) {
		if (copy_from_user(&e, &argp->entries[i], sizeof(e)))
			return -EFAULT;
		if (kvm_get_feature_msr(e.index, &e.data))
			break;
		if (copy_to_user(&argp->entries[i], &e, sizeof(e)))
			return -EFAULT;
	}
	return i;
}

/* Process entries in order, stop at the first failure, return the count. */
long kvm_vcpu_ioctl_msrs(struct kvm_vcpu *vcpu, struct kvm_msrs __user *argp,
			 bool set)
{
	struct kvm_msr_entry e;
	struct kvm_msrs hdr;
	u32 i;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= KVM_MAX_MSRS_IOCTL)
		return -E2BIG;
	for (i = 0; i < hdr.nmsrs; i++) {
		if (copy_from_user(&e, &argp->entries[i], sizeof(e)))
			return -EFAULT;
		if (set) {
			if (kvm_set_msr(vcpu, e.index, e.data, true))
				break;
			continue;
		}
		if (kvm_get_msr(vcpu, e.index, &e.data, true))
			break;
		if (copy_to_user(&argp->entries[i].data, &e.data,
				 sizeof(e.data)))
			return -EFAULT;
	}
	return i;
}

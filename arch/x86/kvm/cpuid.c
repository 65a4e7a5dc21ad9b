// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPUID: what ukvm can offer (KVM_GET_SUPPORTED_CPUID), what userspace
 * chose (KVM_SET_CPUID2), and what the guest sees on a CPUID exit.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/processor.h>
#include <asm/fpu/xcr.h>

#include "x86.h"
#include "kvm_para.h"
#include "hyperv.h"

#define KVM_MAX_CPUID_ENTRIES	256

/*
 * Feature words we pass through when the host has them: only features
 * that need no help from the hypervisor (bit numbers from SDM vol 2A,
 * CPUID, and APM vol 3, appendix E).
 */
#define F(bit) BIT(bit)
/*
 * Leaf 1 ECX: SSE3 PCLMULQDQ SSSE3 FMA CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES
 * XSAVE AVX F16C RDRAND.
 */
#define LEAF1_ECX (F(0) | F(1) | F(9) | F(12) | F(13) | F(19) | F(20) |	\
		   F(22) | F(23) | F(25) | F(26) | F(28) | F(29) | F(30))
/* Leaf 1 ECX: x2APIC, emulated by the in-kernel local APIC (lapic.c). */
#define LEAF1_ECX_X2APIC	F(21)
#define LEAF1_ECX_OSXSAVE	F(27)
#define LEAF1_ECX_HYPERVISOR	F(31)
/*
 * Leaf 1 EDX: FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV
 * PAT PSE36 CLFLUSH MMX FXSR SSE SSE2.
 */
#define LEAF1_EDX (F(0) | F(1) | F(2) | F(3) | F(4) | F(5) | F(6) | F(7) | \
		   F(8) | F(9) | F(11) | F(12) | F(13) | F(14) | F(15) |	\
		   F(16) | F(17) | F(19) | F(23) | F(24) | F(25) | F(26))
/*
 * Leaf 7.0 EBX: FSGSBASE BMI1 AVX2 SMEP BMI2 ERMS AVX512F AVX512DQ ADX SMAP
 * AVX512IFMA CLFLUSHOPT CLWB AVX512CD SHA AVX512BW AVX512VL.
 */
#define LEAF7_EBX (F(0) | F(3) | F(5) | F(7) | F(8) | F(9) | F(16) | F(17) | \
		   F(19) | F(20) | F(21) | F(23) | F(24) | F(28) | F(29) |	\
		   F(30) | F(31))
/*
 * Leaf 7.0 ECX: AVX512VBMI VAES VPCLMULQDQ AVX512VNNI AVX512BITALG
 * AVX512VPOPCNTDQ RDPID.
 */
#define LEAF7_ECX (F(1) | F(9) | F(10) | F(11) | F(12) | F(14) | F(22))
/* Leaf 7.0 EBX: IA32_TSC_ADJUST, emulated (msr.c, pvclock.c). */
#define LEAF7_EBX_TSC_ADJUST	F(1)
/* Leaf 7.0 EDX: IA32_ARCH_CAPABILITIES, emulated (msr.c). */
#define LEAF7_EDX_ARCH_CAP	F(29)
/* Leaf 6 EAX: the APIC timer always runs (ARAT): it is emulated. */
#define LEAF6_EAX_ARAT		F(2)
/* Leaf 0xd.1 EAX: XSAVEOPT XSAVEC XGETBV1 (not XSAVES: no IA32_XSS). */
#define LEAFD1_EAX (F(0) | F(1) | F(2))
/*
 * Leaf 0x8000_0001 ECX: LAHF CMPLEGACY ABM SSE4A MISALIGNSSE 3DNOWPREFETCH
 * FMA4 TBM.
 */
#define LEAF81_ECX (F(0) | F(1) | F(5) | F(6) | F(7) | F(8) | F(16) | F(21))
/*
 * Leaf 0x8000_0001 EDX: leaf 1's common bits plus SYSCALL NX MMXEXT
 * FXSR_OPT PDPE1GB RDTSCP LM.
 */
#define LEAF81_EDX (F(0) | F(1) | F(2) | F(3) | F(4) | F(5) | F(6) | F(7) | \
		    F(8) | F(9) | F(11) | F(12) | F(13) | F(14) | F(15) |	\
		    F(16) | F(17) | F(20) | F(22) | F(23) | F(24) | F(25) | \
		    F(26) | F(27) | F(29))
/* Leaf 0x8000_0007 EDX: invariant TSC. */
#define LEAF87_EDX F(8)
/* Leaf 0x8000_0008 ECX: keep NC (7:0) and ApicIdSize (15:12). */
#define LEAF88_ECX (GENMASK(7, 0) | GENMASK(15, 12))
/*
 * Leaf 0x8000_0021 EAX: behaviours of the hardware the guest runs on:
 * NoNestedDataBp, null selector clears base; LFENCE always serializing
 * when the host kernel found it so; NoSmmCtlMsr (ukvm has no SMM_CTL).
 * Offered whatever the host's maximum extended leaf, as upstream.
 */
#define LEAF821_EAX (F(0) | F(6))
#define LEAF821_EAX_LFENCE_RDTSC	F(2)
#define LEAF821_EAX_NO_SMM_CTL		F(9)

#define LEAF_MAX_BASIC	0xd
#define LEAF_MAX_EXT	0x80000021

static struct kvm_cpuid_entry2 *supported;
static int nr_supported;

static u32 xstate_size_compacted(u64 xcr0);

static struct kvm_cpuid_entry2 *add_leaf(u32 function, u32 index, u32 flags)
{
	struct kvm_cpuid_entry2 *e;

	if (nr_supported >= KVM_MAX_CPUID_ENTRIES)
		return NULL;
	e = &supported[nr_supported++];
	memset(e, 0, sizeof(*e));
	e->function = function;
	e->index = index;
	e->flags = flags;
	cpuid_count(function, index, &e->eax, &e->ebx, &e->ecx, &e->edx);
	return e;
}

static void mask_leaf(struct kvm_cpuid_entry2 *e)
{
	switch (e->function) {
	case 0:
		e->eax = min_t(u32, e->eax, LEAF_MAX_BASIC);
		break;
	case 1:
		/* HYPERVISOR is the VMM's to set, as upstream (lkvm does). */
		e->ecx = (e->ecx & LEAF1_ECX) | LEAF1_ECX_X2APIC;
		e->edx &= LEAF1_EDX;
		break;
	case 6:
		e->eax = LEAF6_EAX_ARAT;
		e->ebx = e->ecx = e->edx = 0;
		break;
	case 7:
		e->eax = 0;
		e->ebx = (e->ebx & LEAF7_EBX) | LEAF7_EBX_TSC_ADJUST;
		e->ecx &= LEAF7_ECX;
		e->edx = LEAF7_EDX_ARCH_CAP;
		break;
	case 4:
		/* Deterministic cache parameters: descriptive, the host's. */
		break;
	case 0xb:
		/*
		 * No topology (a valid one would show sub-leaf 1), as
		 * upstream: the VMM describes its own; EDX keeps an x2APIC ID.
		 */
		e->eax = e->ebx = e->ecx = 0;
		break;
	case 0xd:
		if (e->index == 0) {
			e->eax = (u32)kvm_supported_xcr0;
			e->edx = kvm_supported_xcr0 >> 32;
		} else if (e->index == 1) {
			e->eax &= LEAFD1_EAX;
			/* EBX: the compacted size, when XSAVEC is offered. */
			e->ebx = e->eax & F(1) ?
				 xstate_size_compacted(kvm_supported_xcr0) : 0;
			e->ecx = e->edx = 0;
		}
		break;
	case 0x80000000:
		e->eax = LEAF_MAX_EXT;
		break;
	case 0x80000001:
		e->ecx &= LEAF81_ECX;
		e->edx &= LEAF81_EDX;
		break;
	case 0x80000006:
		/* L2/L3 cache and TLB descriptions; 17:16 are reserved. */
		e->edx &= ~GENMASK(17, 16);
		break;
	case 0x80000007:
		e->eax = e->ebx = e->ecx = 0;
		e->edx &= LEAF87_EDX;
		break;
	case 0x80000008:
		e->ebx = 0;
		e->ecx &= LEAF88_ECX;
		e->edx = 0;
		break;
	case 0x8000001d:
		/* Cache topology: descriptive, the host's. */
		break;
	case 0x80000021:
		e->eax &= LEAF821_EAX;
		e->eax |= LEAF821_EAX_NO_SMM_CTL;
		if (boot_cpu_has(X86_FEATURE_LFENCE_RDTSC))
			e->eax |= LEAF821_EAX_LFENCE_RDTSC;
		e->ebx = e->ecx = e->edx = 0;
		break;
	default:
		/*
		 * Leaves listed but not offered (as upstream lists them):
		 * 2-5, 8-0xa, 0xc, 0x8000_0002-5 (brand, L1 cache), SVM
		 * (no nested SVM), and the rest up to 0x8000_0021.
		 */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	}
}

static void add_basic_leaves(void)
{
	u32 max = min_t(u32, cpuid_eax(0), LEAF_MAX_BASIC);
	u32 i, sub;

	for (i = 0; i <= max; i++) {
		/*
		 * Leaf 4 goes per sub-leaf, as upstream lists it: up to the
		 * first null cache type, that one included; 0xb has one.
		 */
		if (i == 4 || i == 0xb) {
			struct kvm_cpuid_entry2 *e;

			for (sub = 0; sub < 64; sub++) {
				e = add_leaf(i, sub,
					     KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
				if (!e || i == 0xb || !(e->eax & 0x1f))
					break;
			}
			continue;
		}
		if (i == 0xd) {
			add_leaf(0xd, 0, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
			add_leaf(0xd, 1, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
			for (sub = 2; sub < 64; sub++)
				if (kvm_supported_xcr0 & BIT_ULL(sub))
					add_leaf(0xd, sub,
						 KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
			continue;
		}
		add_leaf(i, 0, i == 7 ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0);
	}
}

/*
 * The KVM paravirtual leaves (Documentation/virt/kvm/x86/cpuid.rst
 * upstream): the signature, then what ukvm implements of the
 * paravirtual interface (kvm_para.c, pvclock.c).
 */
static void add_kvm_leaves(void)
{
	struct kvm_cpuid_entry2 *e;

	e = add_leaf(KVM_CPUID_SIGNATURE, 0, 0);
	if (!e)
		return;
	e->eax = KVM_CPUID_FEATURES;
	memcpy(&e->ebx, KVM_SIGNATURE, 4);
	memcpy(&e->ecx, KVM_SIGNATURE + 4, 4);
	memcpy(&e->edx, KVM_SIGNATURE + 8, 4);
	e = add_leaf(KVM_CPUID_FEATURES, 0, 0);
	if (!e)
		return;
	e->eax = kvm_pv_features();
	e->ebx = e->ecx = e->edx = 0;
}

static void add_ext_leaves(void)
{
	u32 max = min_t(u32, cpuid_eax(0x80000000), LEAF_MAX_EXT);
	struct kvm_cpuid_entry2 *e;
	u32 i, sub;

	for (i = 0x80000000; i <= LEAF_MAX_EXT; i++) {
		/* Past the host's last leaf (to reach 0x8000_0021): zeros. */
		if (i > max) {
			e = add_leaf(i, 0, 0);
			if (e)
				e->eax = e->ebx = e->ecx = e->edx = 0;
			continue;
		}
		if (i == 0x8000001d) {
			/* Cache levels, up to the first null one. */
			for (sub = 0; sub < 64; sub++) {
				e = add_leaf(i, sub,
					     KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
				if (!e || !(e->eax & 0x1f))
					break;
			}
			continue;
		}
		add_leaf(i, 0, 0);
	}
}

void kvm_cpuid_init(void)
{
	int i;

	supported = kcalloc(KVM_MAX_CPUID_ENTRIES, sizeof(*supported),
			    GFP_KERNEL);
	if (!supported)
		return;
	nr_supported = 0;
	add_basic_leaves();
	add_ext_leaves();
	for (i = 0; i < nr_supported; i++)
		mask_leaf(&supported[i]);
	/* Not host leaves: nothing of the host's to mask. */
	add_kvm_leaves();
}

void kvm_cpuid_exit(void)
{
	kfree(supported);
	supported = NULL;
	nr_supported = 0;
}

long kvm_dev_ioctl_get_supported_cpuid(struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (!supported)
		return -ENOMEM;
	if (hdr.nent < nr_supported)
		return -E2BIG;
	hdr.nent = nr_supported;
	if (copy_to_user(argp, &hdr, sizeof(hdr)) ||
	    copy_to_user(argp->entries, supported,
			 nr_supported * sizeof(*supported)))
		return -EFAULT;
	return 0;
}

static const struct kvm_cpuid_entry2 *
find_entry(const struct kvm_cpuid_entry2 *entries, int nent, u32 function,
	   u32 index)
{
	int i;

	for (i = 0; i < nent; i++) {
		const struct kvm_cpuid_entry2 *e = &entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e->index != index)
			continue;
		return e;
	}
	return NULL;
}

struct kvm_cpuid_entry2 *kvm_find_cpuid_entry(struct kvm_vcpu *vcpu,
					      u32 function, u32 index)
{
	return (struct kvm_cpuid_entry2 *)find_entry(vcpu->arch.cpuid_entries,
						     vcpu->arch.cpuid_nent,
						     function, index);
}

/* Clear feature bits userspace asked for but ukvm cannot provide. */
static void mask_to_supported(struct kvm_cpuid_entry2 *e)
{
	const struct kvm_cpuid_entry2 *s;

	s = find_entry(supported, nr_supported, e->function, e->index);
	switch (e->function) {
	case 1:
		e->ecx &= (s ? s->ecx : 0) | LEAF1_ECX_OSXSAVE |
			  LEAF1_ECX_HYPERVISOR;
		e->edx &= s ? s->edx : 0;
		break;
	case 7:
		if (e->index == 0) {
			e->ebx &= s ? s->ebx : 0;
			e->ecx &= s ? s->ecx : 0;
			e->edx &= s ? s->edx : 0;
		}
		break;
	case 0x80000001:
		e->ecx &= s ? s->ecx : 0;
		e->edx &= s ? s->edx : 0;
		break;
	}
}

static bool cpuid_equal(struct kvm_vcpu *vcpu, struct kvm_cpuid_entry2 *e,
			int nent)
{
	if (nent != vcpu->arch.cpuid_nent)
		return false;
	return !memcmp(e, vcpu->arch.cpuid_entries, nent * sizeof(*e));
}

/* Size of a standard-format XSAVE area for @xcr0 (SDM vol 1, 13.4). */
static u32 xstate_size(u64 xcr0)
{
	u32 size = 512 + 64, eax, ebx, ecx, edx;
	int i;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		size = max(size, eax + ebx);
	}
	return size;
}

/* Size of a compacted XSAVE area for @xcr0 (SDM vol 1, 13.4.3). */
static u32 xstate_size_compacted(u64 xcr0)
{
	u32 size = 512 + 64, eax, ebx, ecx, edx;
	int i;

	for (i = 2; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		/* ECX[1]: the component starts 64-byte aligned. */
		if (ecx & BIT(1))
			size = ALIGN(size, 64);
		size += eax;
	}
	return size;
}

/* Leaf 0xd.1 EAX[1]: XSAVEC. */
#define LEAFD1_EAX_XSAVEC	F(1)

/*
 * The bits of CPUID that follow guest state (SDM vol 2A, CPUID): OSXSAVE
 * mirrors CR4, leaf 0xd's EBX the XSAVE area size for the current XCR0.
 * Like upstream, they are kept in the table itself, so KVM_GET_CPUID2 and
 * the guest always agree.
 */
static void cpuid_update_runtime(struct kvm_vcpu *vcpu,
				 struct kvm_cpuid_entry2 *entries, int nent)
{
	struct kvm_cpuid_entry2 *e;
	u64 xcr0 = vcpu->arch.xcr0;

	e = (void *)find_entry(entries, nent, 1, 0);
	if (e) {
		if (kvm_x86_ops->get_cr(vcpu, 4) & X86_CR4_OSXSAVE)
			e->ecx |= LEAF1_ECX_OSXSAVE;
		else
			e->ecx &= ~LEAF1_ECX_OSXSAVE;
	}
	e = (void *)find_entry(entries, nent, 0xd, 0);
	if (e)
		e->ebx = xstate_size(xcr0);
	e = (void *)find_entry(entries, nent, 0xd, 1);
	if (e && (e->eax & LEAFD1_EAX_XSAVEC))
		e->ebx = xstate_size_compacted(xcr0);
}

/* Takes ownership of @e (kvmalloc'ed). */
static long kvm_set_cpuid(struct kvm_vcpu *vcpu, struct kvm_cpuid_entry2 *e,
			  int nent)
{
	int i;

	for (i = 0; i < nent; i++) {
		memset(e[i].padding, 0, sizeof(e[i].padding));
		mask_to_supported(&e[i]);
	}
	cpuid_update_runtime(vcpu, e, nent);
	/* Once the vCPU ran, CPUID may only be set again unchanged. */
	if (vcpu->cpu != -1) {
		bool same = cpuid_equal(vcpu, e, nent);

		kvfree(e);
		return same ? 0 : -EINVAL;
	}
	kvfree(vcpu->arch.cpuid_entries);
	vcpu->arch.cpuid_entries = e;
	vcpu->arch.cpuid_nent = nent;
	kvm_hv_set_cpuid(vcpu);
	return 0;
}

long kvm_vcpu_ioctl_set_cpuid2(struct kvm_vcpu *vcpu,
			       struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid_entry2 *e = NULL;
	struct kvm_cpuid2 hdr;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent > KVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (hdr.nent) {
		e = vmemdup_user(argp->entries, hdr.nent * sizeof(*e));
		if (IS_ERR(e))
			return PTR_ERR(e);
	}
	return kvm_set_cpuid(vcpu, e, hdr.nent);
}

/* The original KVM_SET_CPUID: no sub-leaf index, no flags. */
long kvm_vcpu_ioctl_set_cpuid(struct kvm_vcpu *vcpu,
			      struct kvm_cpuid __user *argp)
{
	struct kvm_cpuid_entry2 *e = NULL;
	struct kvm_cpuid_entry *e1;
	struct kvm_cpuid hdr;
	int i;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nent > KVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (hdr.nent) {
		e1 = vmemdup_user(argp->entries, hdr.nent * sizeof(*e1));
		if (IS_ERR(e1))
			return PTR_ERR(e1);
		e = kvcalloc(hdr.nent, sizeof(*e), GFP_KERNEL_ACCOUNT);
		if (!e) {
			kvfree(e1);
			return -ENOMEM;
		}
		for (i = 0; i < hdr.nent; i++) {
			e[i].function = e1[i].function;
			e[i].eax = e1[i].eax;
			e[i].ebx = e1[i].ebx;
			e[i].ecx = e1[i].ecx;
			e[i].edx = e1[i].edx;
		}
		kvfree(e1);
	}
	return kvm_set_cpuid(vcpu, e, hdr.nent);
}

long kvm_vcpu_ioctl_get_cpuid2(struct kvm_vcpu *vcpu,
			       struct kvm_cpuid2 __user *argp)
{
	struct kvm_cpuid2 hdr;
	int n = vcpu->arch.cpuid_nent;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	/* Too small: nothing is written back, nent included (as upstream). */
	if (hdr.nent < n)
		return -E2BIG;
	cpuid_update_runtime(vcpu, vcpu->arch.cpuid_entries, n);
	hdr.nent = n;
	if ((n && copy_to_user(argp->entries, vcpu->arch.cpuid_entries,
			       n * sizeof(struct kvm_cpuid_entry2))) ||
	    copy_to_user(argp, &hdr, sizeof(hdr)))
		return -EFAULT;
	return 0;
}

/* MSR_MISC_FEATURES_ENABLES bit 0: CPUID outside ring 0 raises #GP. */
bool kvm_cpuid_faulting(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.misc_features & MSR_MISC_FEATURES_ENABLES_CPUID_FAULT;
}

/* A CPUID that faults: #GP(0) queued, the instruction not executed. */
bool kvm_cpuid_fault(struct kvm_vcpu *vcpu)
{
	if (!kvm_cpuid_faulting(vcpu) || !kvm_x86_ops->get_cpl(vcpu))
		return false;
	kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
	return true;
}

int kvm_emulate_cpuid(struct kvm_vcpu *vcpu)
{
	u32 function = kvm_reg_read(vcpu, VCPU_REGS_RAX);
	u32 index = kvm_reg_read(vcpu, VCPU_REGS_RCX);
	const struct kvm_cpuid_entry2 *e;
	u32 eax = 0, ebx = 0, ecx = 0, edx = 0;

	cpuid_update_runtime(vcpu, vcpu->arch.cpuid_entries,
			     vcpu->arch.cpuid_nent);
	/* Leaves userspace did not set read as zero, as on AMD parts. */
	e = kvm_find_cpuid_entry(vcpu, function, index);
	if (e) {
		eax = e->eax;
		ebx = e->ebx;
		ecx = e->ecx;
		edx = e->edx;
	}
	kvm_reg_write(vcpu, VCPU_REGS_RAX, eax);
	kvm_reg_write(vcpu, VCPU_REGS_RBX, ebx);
	kvm_reg_write(vcpu, VCPU_REGS_RCX, ecx);
	kvm_reg_write(vcpu, VCPU_REGS_RDX, edx);
	return EXIT_RESUME;
}

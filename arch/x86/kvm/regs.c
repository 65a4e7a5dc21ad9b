// SPDX-License-Identifier: GPL-2.0-only
/*
 * vCPU register state ioctls: REGS, SREGS, FPU, XSAVE, XCRS, DEBUGREGS,
 * VCPU_EVENTS, MP_STATE, and the architectural reset state.
 */
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/debugreg.h>
#include <asm/processor-flags.h>

#include "x86.h"
#include "smm.h"
#include "lapic.h"
#include "irq.h"

#define X86_NMI_VECTOR	2

/* CR bits the guest may set (SDM vol 3, 2.5; APM vol 2, 3.1). */
#define CR0_VALID_BITS	(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | \
			 X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | \
			 X86_CR0_NW | X86_CR0_CD | X86_CR0_PG)
#define EFER_VALID_BITS	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)

static u64 kvm_cr4_valid_bits(void)
{
	u64 bits = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |
		   X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |
		   X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;

	if (boot_cpu_has(X86_FEATURE_XSAVE))
		bits |= X86_CR4_OSXSAVE;
	if (boot_cpu_has(X86_FEATURE_FSGSBASE))
		bits |= X86_CR4_FSGSBASE;
	if (boot_cpu_has(X86_FEATURE_SMEP))
		bits |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP))
		bits |= X86_CR4_SMAP;
	if (boot_cpu_has(X86_FEATURE_UMIP))
		bits |= X86_CR4_UMIP;
	if (boot_cpu_has(X86_FEATURE_PCID))
		bits |= X86_CR4_PCIDE;
	return bits;
}

static bool kvm_is_valid_cr0(u64 cr0)
{
	if (cr0 & ~CR0_VALID_BITS)
		return false;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return false;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return false;
	return true;
}

static bool kvm_is_valid_cr4(u64 cr4)
{
	return !(cr4 & ~kvm_cr4_valid_bits());
}

static bool kvm_is_illegal_gpa(u64 gpa)
{
	return gpa >> host_maxphyaddr;
}

int kvm_set_efer(struct kvm_vcpu *vcpu, u64 efer, bool host)
{
	u64 old = kvm_x86_ops->get_efer(vcpu);

	if (efer & ~EFER_VALID_BITS)
		return 1;
	if (!host) {
		/* APM vol 2, 14.6: LME cannot change while paging is on. */
		if ((kvm_x86_ops->get_cr(vcpu, 0) & X86_CR0_PG) &&
		    ((efer ^ old) & EFER_LME))
			return 1;
		/* LMA is read-only for the guest. */
		efer = (efer & ~EFER_LMA) | (old & EFER_LMA);
	}
	kvm_x86_ops->set_efer(vcpu, efer);
	return 0;
}

/*
 * A guest write of CR0, CR3 or CR4 (MOV to CR, emulated).  Returns 1 for
 * a value that must #GP (SDM vol 3, 2.5 and 4.1).
 */
int kvm_set_cr(struct kvm_vcpu *vcpu, int cr, u64 val)
{
	const struct kvm_x86_ops *ops = kvm_x86_ops;
	u64 efer = ops->get_efer(vcpu);
	u64 cr4 = ops->get_cr(vcpu, 4);

	switch (cr) {
	case 0:
		if (!kvm_is_valid_cr0(val))
			return 1;
		if ((val & X86_CR0_PG) && !(ops->get_cr(vcpu, 0) & X86_CR0_PG) &&
		    (efer & EFER_LME)) {
			if (!(cr4 & X86_CR4_PAE))
				return 1;
			ops->set_efer(vcpu, efer | EFER_LMA);
		} else if (!(val & X86_CR0_PG)) {
			ops->set_efer(vcpu, efer & ~EFER_LMA);
		}
		break;
	case 4:
		if (!kvm_is_valid_cr4(val))
			return 1;
		if ((efer & EFER_LMA) && !(val & X86_CR4_PAE))
			return 1;
		break;
	case 3:
		if (kvm_is_illegal_gpa(val & ~0xfffULL))
			return 1;
		break;
	default:
		return 1;
	}
	ops->set_cr(vcpu, cr, val);
	/* A CR3 load keeps global translations (SDM vol 3, 4.10.4.1). */
	kvm_make_request(cr == 3 ? KVM_REQ_TLB_FLUSH_CR3 : KVM_REQ_TLB_FLUSH,
			 vcpu);
	return 0;
}

/* ---- reset ----------------------------------------------------------- */

/* RESET/INIT state that the core holds (the backend resets its own). */
void kvm_vcpu_reset_state(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 1, 0);

	memset(vcpu->arch.regs, 0, sizeof(vcpu->arch.regs));
	/* SDM vol 3, 9.1.4: EDX holds the processor signature after RESET. */
	vcpu->arch.regs[VCPU_REGS_RDX] = e ? e->eax : 0x600;
	vcpu->arch.regs[VCPU_REGS_RIP] = 0xfff0;
	vcpu->arch.cr2 = 0;
	vcpu->arch.cr8 = 0;
	vcpu->arch.xcr0 = XFEATURE_MASK_FP;
	vcpu->arch.exception.pending = false;
	vcpu->arch.interrupt.injected = false;
	vcpu->arch.complete_userspace_io = NULL;
	vcpu->arch.db[0] = vcpu->arch.db[1] = 0;
	vcpu->arch.db[2] = vcpu->arch.db[3] = 0;
}

/* ---- REGS ------------------------------------------------------------ */

static long kvm_get_regs(struct kvm_vcpu *vcpu, void __user *argp)
{
	unsigned long *r = vcpu->arch.regs;
	struct kvm_regs regs = {
		.rax = r[VCPU_REGS_RAX], .rbx = r[VCPU_REGS_RBX],
		.rcx = r[VCPU_REGS_RCX], .rdx = r[VCPU_REGS_RDX],
		.rsi = r[VCPU_REGS_RSI], .rdi = r[VCPU_REGS_RDI],
		.rsp = r[VCPU_REGS_RSP], .rbp = r[VCPU_REGS_RBP],
		.r8 = r[VCPU_REGS_R8], .r9 = r[VCPU_REGS_R9],
		.r10 = r[VCPU_REGS_R10], .r11 = r[VCPU_REGS_R11],
		.r12 = r[VCPU_REGS_R12], .r13 = r[VCPU_REGS_R13],
		.r14 = r[VCPU_REGS_R14], .r15 = r[VCPU_REGS_R15],
		.rip = r[VCPU_REGS_RIP],
		.rflags = kvm_get_rflags(vcpu),
	};

	return copy_to_user(argp, &regs, sizeof(regs)) ? -EFAULT : 0;
}

static long kvm_set_regs(struct kvm_vcpu *vcpu, void __user *argp)
{
	unsigned long *r = vcpu->arch.regs;
	struct kvm_regs regs;

	if (copy_from_user(&regs, argp, sizeof(regs)))
		return -EFAULT;
	r[VCPU_REGS_RAX] = regs.rax; r[VCPU_REGS_RBX] = regs.rbx;
	r[VCPU_REGS_RCX] = regs.rcx; r[VCPU_REGS_RDX] = regs.rdx;
	r[VCPU_REGS_RSI] = regs.rsi; r[VCPU_REGS_RDI] = regs.rdi;
	r[VCPU_REGS_RSP] = regs.rsp; r[VCPU_REGS_RBP] = regs.rbp;
	r[VCPU_REGS_R8] = regs.r8; r[VCPU_REGS_R9] = regs.r9;
	r[VCPU_REGS_R10] = regs.r10; r[VCPU_REGS_R11] = regs.r11;
	r[VCPU_REGS_R12] = regs.r12; r[VCPU_REGS_R13] = regs.r13;
	r[VCPU_REGS_R14] = regs.r14; r[VCPU_REGS_R15] = regs.r15;
	r[VCPU_REGS_RIP] = regs.rip;
	kvm_set_rflags(vcpu, regs.rflags | X86_EFLAGS_FIXED);
	/* A new context: nothing in flight is still pending. */
	vcpu->arch.exception.pending = false;
	return 0;
}

/* ---- SREGS ----------------------------------------------------------- */

static const int kvm_sregs_order[] = {
	VCPU_SREG_CS, VCPU_SREG_DS, VCPU_SREG_ES, VCPU_SREG_FS,
	VCPU_SREG_GS, VCPU_SREG_SS, VCPU_SREG_TR, VCPU_SREG_LDTR,
};

static struct kvm_segment *kvm_sregs_seg(struct kvm_sregs *s, int i)
{
	struct kvm_segment *segs[] = {
		&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr,
		&s->ldt,
	};

	return segs[i];
}

static long kvm_get_sregs(struct kvm_vcpu *vcpu, void __user *argp)
{
	const struct kvm_x86_ops *ops = kvm_x86_ops;
	struct kvm_sregs s;
	int i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < ARRAY_SIZE(kvm_sregs_order); i++)
		ops->get_segment(vcpu, kvm_sregs_seg(&s, i),
				 kvm_sregs_order[i]);
	ops->get_gdt(vcpu, &s.gdt);
	ops->get_idt(vcpu, &s.idt);
	s.cr0 = ops->get_cr(vcpu, 0);
	s.cr2 = vcpu->arch.cr2;
	s.cr3 = ops->get_cr(vcpu, 3);
	s.cr4 = ops->get_cr(vcpu, 4);
	s.cr8 = vcpu->arch.cr8;
	s.efer = ops->get_efer(vcpu);
	s.apic_base = vcpu->arch.apic_base;
	if (vcpu->arch.interrupt.injected)
		s.interrupt_bitmap[vcpu->arch.interrupt.nr / 64] |=
			BIT_ULL(vcpu->arch.interrupt.nr % 64);
	return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
}

static bool kvm_is_valid_sregs(const struct kvm_sregs *s)
{
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		/* Long mode: PAE and LMA must be on. */
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return false;
		if (kvm_is_illegal_gpa(s->cr3))
			return false;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return false;
	}
	if (s->efer & ~EFER_VALID_BITS)
		return false;
	return kvm_is_valid_cr4(s->cr4) && kvm_is_valid_cr0(s->cr0);
}

static long kvm_set_sregs(struct kvm_vcpu *vcpu, void __user *argp)
{
	const struct kvm_x86_ops *ops = kvm_x86_ops;
	struct kvm_sregs s;
	int i;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (!kvm_is_valid_sregs(&s))
		return -EINVAL;
	if (kvm_set_msr(vcpu, MSR_IA32_APICBASE, s.apic_base, true))
		return -EINVAL;
	/* The first pending vector becomes the injected interrupt. */
	vcpu->arch.interrupt.injected = false;
	for (i = 0; i < KVM_NR_INTERRUPTS; i++) {
		if (s.interrupt_bitmap[i / 64] & BIT_ULL(i % 64)) {
			vcpu->arch.interrupt.injected = true;
			vcpu->arch.interrupt.nr = i;
			break;
		}
	}

	ops->set_gdt(vcpu, &s.gdt);
	ops->set_idt(vcpu, &s.idt);
	vcpu->arch.cr2 = s.cr2;
	vcpu->arch.cr8 = s.cr8;
	ops->set_cr(vcpu, 3, s.cr3);
	ops->set_efer(vcpu, s.efer);
	ops->set_cr(vcpu, 0, s.cr0);
	ops->set_cr(vcpu, 4, s.cr4);
	for (i = 0; i < ARRAY_SIZE(kvm_sregs_order); i++)
		ops->set_segment(vcpu, kvm_sregs_seg(&s, i),
				 kvm_sregs_order[i]);
	/* Paging state changed under the guest's feet. */
	kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
	return 0;
}

/* ---- FPU and XSAVE ---------------------------------------------------- */

/* Offsets in the legacy FXSAVE region (SDM vol 1, table 10-2). */
struct fxregs_legacy {
	u16 fcw;
	u16 fsw;
	u8 ftw;
	u8 pad1;
	u16 fop;
	u64 rip;
	u64 rdp;
	u32 mxcsr;
	u32 mxcsr_mask;
	u8 st[8][16];
	u8 xmm[16][16];
	u8 pad2[96];
} __packed;

static long kvm_get_xsave_buf(struct kvm_vcpu *vcpu, struct kvm_xsave *x)
{
	memset(x, 0, sizeof(*x));
	fpu_copy_guest_fpstate_to_uabi(&vcpu->arch.guest_fpu, x->region,
				       sizeof(x->region), kvm_supported_xcr0,
				       0);
	return 0;
}

static long kvm_get_fpu(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_xsave *x;
	struct fxregs_legacy *fx;
	struct kvm_fpu fpu;
	int i;

	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return -ENOMEM;
	kvm_get_xsave_buf(vcpu, x);
	fx = (void *)x->region;
	memset(&fpu, 0, sizeof(fpu));
	memcpy(fpu.fpr, fx->st, sizeof(fpu.fpr));
	fpu.fcw = fx->fcw;
	fpu.fsw = fx->fsw;
	fpu.ftwx = fx->ftw;
	fpu.last_opcode = fx->fop;
	fpu.last_ip = fx->rip;
	fpu.last_dp = fx->rdp;
	for (i = 0; i < 16; i++)
		memcpy(fpu.xmm[i], fx->xmm[i], 16);
	fpu.mxcsr = fx->mxcsr;
	kfree(x);
	return copy_to_user(argp, &fpu, sizeof(fpu)) ? -EFAULT : 0;
}

static long kvm_set_xsave_buf(struct kvm_vcpu *vcpu, struct kvm_xsave *x)
{
	u32 pkru = 0;

	return fpu_copy_uabi_to_guest_fpstate(&vcpu->arch.guest_fpu, x->region,
					      kvm_supported_xcr0, &pkru);
}

static long kvm_set_fpu(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct fxregs_legacy *fx;
	struct kvm_xsave *x;
	struct kvm_fpu fpu;
	long r;
	int i;

	if (copy_from_user(&fpu, argp, sizeof(fpu)))
		return -EFAULT;
	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return -ENOMEM;
	kvm_get_xsave_buf(vcpu, x);
	fx = (void *)x->region;
	memcpy(fx->st, fpu.fpr, sizeof(fpu.fpr));
	fx->fcw = fpu.fcw;
	fx->fsw = fpu.fsw;
	fx->ftw = fpu.ftwx;
	fx->fop = fpu.last_opcode;
	fx->rip = fpu.last_ip;
	fx->rdp = fpu.last_dp;
	for (i = 0; i < 16; i++)
		memcpy(fx->xmm[i], fpu.xmm[i], 16);
	/*
	 * Upstream's KVM_SET_FPU never takes MXCSR (KVM_SET_XSAVE does), so a
	 * VMM's garbage there is no error: the guest's MXCSR stays.
	 */
	r = kvm_set_xsave_buf(vcpu, x);
	kfree(x);
	return r;
}

static long kvm_xsave_ioctl(struct kvm_vcpu *vcpu, void __user *argp, bool set)
{
	struct kvm_xsave *x;
	long r = 0;

	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return -ENOMEM;
	if (set) {
		if (copy_from_user(x, argp, sizeof(*x)))
			r = -EFAULT;
		else
			r = kvm_set_xsave_buf(vcpu, x);
	} else {
		kvm_get_xsave_buf(vcpu, x);
		if (copy_to_user(argp, x, sizeof(*x)))
			r = -EFAULT;
	}
	kfree(x);
	return r;
}

static long kvm_get_xcrs(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_xcrs xcrs;

	memset(&xcrs, 0, sizeof(xcrs));
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		xcrs.nr_xcrs = 1;
		xcrs.xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
		xcrs.xcrs[0].value = vcpu->arch.xcr0;
	}
	return copy_to_user(argp, &xcrs, sizeof(xcrs)) ? -EFAULT : 0;
}

static long kvm_set_xcrs(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_xcrs xcrs;
	u64 xcr0;
	int i;

	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return -EINVAL;
	if (copy_from_user(&xcrs, argp, sizeof(xcrs)))
		return -EFAULT;
	if (xcrs.nr_xcrs > KVM_MAX_XCRS || xcrs.flags)
		return -EINVAL;
	for (i = 0; i < xcrs.nr_xcrs; i++) {
		if (xcrs.xcrs[i].xcr != XCR_XFEATURE_ENABLED_MASK)
			continue;
		xcr0 = xcrs.xcrs[i].value;
		if (!(xcr0 & XFEATURE_MASK_FP) || (xcr0 & ~kvm_supported_xcr0) ||
		    ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE)))
			return -EINVAL;
		vcpu->arch.xcr0 = xcr0;
	}
	return 0;
}

/* ---- debug registers and events --------------------------------------- */

static long kvm_get_debugregs(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_debugregs d;

	memset(&d, 0, sizeof(d));
	memcpy(d.db, vcpu->arch.db, sizeof(d.db));
	d.dr6 = kvm_x86_ops->get_dr(vcpu, 6);
	d.dr7 = kvm_x86_ops->get_dr(vcpu, 7);
	return copy_to_user(argp, &d, sizeof(d)) ? -EFAULT : 0;
}

static long kvm_set_debugregs(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_debugregs d;

	if (copy_from_user(&d, argp, sizeof(d)))
		return -EFAULT;
	if (d.flags)
		return -EINVAL;
	/* DR6 and DR7 are 32-bit registers (SDM vol 3, 17.2). */
	if ((d.dr6 >> 32) || (d.dr7 >> 32))
		return -EINVAL;
	memcpy(vcpu->arch.db, d.db, sizeof(d.db));
	kvm_x86_ops->set_dr(vcpu, 6, d.dr6);
	kvm_x86_ops->set_dr(vcpu, 7, d.dr7);
	return 0;
}

/* INT3 and INTO: RIP still points at them, they raise again (upstream too). */
static bool kvm_exception_is_soft(u8 vector)
{
	return vector == BP_VECTOR || vector == OF_VECTOR;
}

/*
 * As upstream 6.1 without KVM_CAP_EXCEPTION_PAYLOAD (which ukvm does not
 * offer): a pending and an injected exception are both "injected"; an
 * event in the backend's injection slot (a delivery an exit interrupted)
 * counts as injected, before one queued behind it.  nmi.pending is 0 or 1.
 */
static long kvm_get_vcpu_events(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception;
	struct kvm_queued_exception slot;
	struct kvm_vcpu_events e;
	int kind;

	memset(&e, 0, sizeof(e));
	kind = kvm_x86_ops->get_injection(vcpu, &slot);
	if (kind == KVM_INJ_EXCEPTION)
		ex = &slot;
	if ((ex == &slot || ex->pending) &&
	    !kvm_exception_is_soft(ex->vector)) {
		e.exception.injected = 1;
		e.exception.nr = ex->vector;
		e.exception.has_error_code = ex->has_error_code;
		e.exception.error_code = ex->error_code;
	}
	if (kind == KVM_INJ_IRQ) {
		e.interrupt.injected = 1;
		e.interrupt.nr = slot.vector;
	} else {
		e.interrupt.injected = vcpu->arch.interrupt.injected;
		e.interrupt.nr = vcpu->arch.interrupt.nr;
	}
	/* SVM has one shadow bit for both kinds: upstream reports both. */
	e.interrupt.shadow = kvm_x86_ops->get_interrupt_shadow(vcpu) ?
			     KVM_X86_SHADOW_INT_MOV_SS |
			     KVM_X86_SHADOW_INT_STI : 0;
	e.nmi.injected = kind == KVM_INJ_NMI;
	e.nmi.pending = atomic_read(&vcpu->arch.nmi_pending) != 0;
	e.nmi.masked = vcpu->arch.nmi_masked;
	/* sipi_vector is never reported, as upstream. */
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	kvm_smm_get_events(vcpu, &e);
	return copy_to_user(argp, &e, sizeof(e)) ? -EFAULT : 0;
}

#define KVM_VCPUEVENT_KNOWN (KVM_VCPUEVENT_VALID_NMI_PENDING |		\
			     KVM_VCPUEVENT_VALID_SIPI_VECTOR |		\
			     KVM_VCPUEVENT_VALID_SHADOW |		\
			     KVM_VCPUEVENT_VALID_SMM |			\
			     KVM_VCPUEVENT_VALID_PAYLOAD |		\
			     KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

/*
 * Upstream's checks and errnos, all before anything changes.
 * KVM_CAP_EXCEPTION_PAYLOAD and KVM_CAP_X86_TRIPLE_FAULT_EVENT are not
 * offered, so their flags cannot have been enabled: EINVAL.
 */
static int kvm_check_vcpu_events(struct kvm_vcpu *vcpu,
				 const struct kvm_vcpu_events *e)
{
	if (e->flags & ~KVM_VCPUEVENT_KNOWN)
		return -EINVAL;
	if (e->flags & (KVM_VCPUEVENT_VALID_PAYLOAD |
			KVM_VCPUEVENT_VALID_TRIPLE_FAULT))
		return -EINVAL;
	/* Vectors 0-31 only, and never NMI as an exception. */
	if (e->exception.injected &&
	    (e->exception.nr > 31 || e->exception.nr == X86_NMI_VECTOR))
		return -EINVAL;
	return kvm_smm_check_events(vcpu, e);
}

static long kvm_set_vcpu_events(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_queued_exception *ex = &vcpu->arch.exception;
	struct kvm_vcpu_events e;
	bool masked;
	int r;

	if (copy_from_user(&e, argp, sizeof(e)))
		return -EFAULT;
	r = kvm_check_vcpu_events(vcpu, &e);
	if (r)
		return r;

	/* What userspace passes replaces whatever was being delivered. */
	kvm_x86_ops->cancel_injection(vcpu);
	ex->pending = e.exception.injected;
	ex->vector = e.exception.nr;
	ex->has_error_code = e.exception.has_error_code;
	ex->error_code = e.exception.error_code;
	/* A soft interrupt: its INT n runs again from RIP, as after an exit. */
	vcpu->arch.interrupt.injected = e.interrupt.injected &&
					!e.interrupt.soft;
	vcpu->arch.interrupt.nr = e.interrupt.nr;
	if (e.flags & KVM_VCPUEVENT_VALID_SHADOW)
		kvm_x86_ops->set_interrupt_shadow(vcpu, e.interrupt.shadow);

	/* An NMI being delivered goes first; its handler masks NMIs. */
	masked = e.nmi.masked || e.nmi.injected;
	if (e.nmi.injected)
		kvm_x86_ops->inject_nmi(vcpu);
	if (e.flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		atomic_set(&vcpu->arch.nmi_pending, e.nmi.pending);
	vcpu->arch.nmi_masked = masked;
	kvm_nmi_collapse(vcpu);
	vcpu->arch.nmi_iret = false;
	kvm_x86_ops->set_iret_intercept(vcpu, masked);

	if ((e.flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR) && vcpu->arch.apic)
		vcpu->arch.apic->sipi_vector = e.sipi_vector;
	kvm_smm_set_events(vcpu, &e);
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	return 0;
}

static long kvm_mp_state_ioctl(struct kvm_vcpu *vcpu, void __user *argp,
			       bool set)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (!set)
		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	/* Without an in-kernel APIC every vCPU is always runnable. */
	return mp.mp_state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
}

long kvm_arch_vcpu_state_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			       void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_REGS:
		return kvm_get_regs(vcpu, argp);
	case KVM_SET_REGS:
		return kvm_set_regs(vcpu, argp);
	case KVM_GET_SREGS:
		return kvm_get_sregs(vcpu, argp);
	case KVM_SET_SREGS:
		return kvm_set_sregs(vcpu, argp);
	case KVM_GET_FPU:
		return kvm_get_fpu(vcpu, argp);
	case KVM_SET_FPU:
		return kvm_set_fpu(vcpu, argp);
	case KVM_GET_XSAVE:
		return kvm_xsave_ioctl(vcpu, argp, false);
	case KVM_SET_XSAVE:
		return kvm_xsave_ioctl(vcpu, argp, true);
	case KVM_GET_XCRS:
		return kvm_get_xcrs(vcpu, argp);
	case KVM_SET_XCRS:
		return kvm_set_xcrs(vcpu, argp);
	case KVM_GET_DEBUGREGS:
		return kvm_get_debugregs(vcpu, argp);
	case KVM_SET_DEBUGREGS:
		return kvm_set_debugregs(vcpu, argp);
	case KVM_GET_VCPU_EVENTS:
		return kvm_get_vcpu_events(vcpu, argp);
	case KVM_SET_VCPU_EVENTS:
		return kvm_set_vcpu_events(vcpu, argp);
	case KVM_GET_MP_STATE:
		return kvm_mp_state_ioctl(vcpu, argp, false);
	case KVM_SET_MP_STATE:
		return kvm_mp_state_ioctl(vcpu, argp, true);
	default:
		return -EINVAL;
	}
}

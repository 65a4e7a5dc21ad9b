// SPDX-License-Identifier: GPL-2.0-only
/*
 * System Management Mode, as upstream KVM offers it to AMD guests
 * (KVM_CAP_X86_SMM).  AMD64 APM vol 2, chapter 10.
 *
 * An SMI comes from KVM_SMI, from KVM_SET_VCPU_EVENTS (smi.pending) or
 * from the local APIC (ICR delivery mode SMI).  It is taken before the
 * next entry once no other event is in flight and the vCPU is not in SMM
 * already: the state goes to the state-save area at SMBASE + FE00h,
 * the vCPU switches to memslot address space 1 (SMRAM as userspace laid it
 * out there) and starts at CS:IP = SMBASE/16:8000h in a real-mode-like
 * state with 4 GiB limits.  RSM (intercepted) reads the area back, checks
 * what it loads as a MOV to CR / WRMSR would, and returns to address
 * space 0; a state it cannot load shuts the vCPU down, as the processor
 * does.  While in SMM, INIT waits (latched) and NMIs are blocked.
 *
 * The save area has the AMD64 format for a guest with long mode in CPUID,
 * the legacy 32-bit one otherwise, as upstream KVM chooses (so SMRAM
 * migrates between the two).  With npt=0 the shadow MMU keeps each address
 * space's shadow pages apart (mmu/shadow.c) and the switch's TLB flush
 * loads the other space's root.
 */
#include <linux/uaccess.h>
#include <asm/processor-flags.h>
#include <asm/debugreg.h>

#include "smm.h"
#include "lapic.h"

static_assert(sizeof(struct kvm_smram_amd64) == 512);

/* RFLAGS bits that exist (SDM vol 1, 3.4.3): ID down to CF. */
#define RFLAGS_DEFINED	0x3f7fd5ULL
/* DR6 and DR7 bits a MOV to DR keeps (SDM vol 3, 17.2.3 and 17.2.4). */
#define DR6_WRITABLE	0x0001e80fULL
#define DR6_ONES	0xfffe0ff0ULL
#define DR7_WRITABLE	0xffff2bffULL

/* A data segment of the SMM entry state: flat 4 GiB, read/write. */
#define SEG_TYPE_DATA_RWA	0x3
#define SEG_TYPE_CODE_RXA	0xb

/*
 * Segment attributes in the save area: descriptor bits 40-55 shifted down
 * by 8 (type, S, DPL, P, then AVL, L, D/B, G at 12-15).  That is upstream
 * KVM's encoding, kept so that SMRAM migrates between the two; a VMCB
 * packs the same bits into 12 (APM vol 2, 15.5.1).
 */
#define SMM_ATTR_S		BIT(4)
#define SMM_ATTR_DPL_SHIFT	5
#define SMM_ATTR_P		BIT(7)
#define SMM_ATTR_AVL		BIT(12)
#define SMM_ATTR_L		BIT(13)
#define SMM_ATTR_DB		BIT(14)
#define SMM_ATTR_G		BIT(15)

int kvm_arch_vcpu_as_id(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.smm.in_smm ? 1 : 0;
}

/* Not when hide_caps= makes ukvm an older kernel. */
bool kvm_smm_supported(void)
{
	return !kvm_cap_hidden(KVM_CAP_X86_SMM) &&
	       !kvm_cap_hidden(KVM_CAP_MULTI_ADDRESS_SPACE);
}

/* Switch the vCPU's view of memory; its TLB holds the other view's. */
static void kvm_smm_changed(struct kvm_vcpu *vcpu, bool entering)
{
	vcpu->arch.smm.in_smm = entering;
	if (!entering) {
		vcpu->arch.smm.inside_nmi = false;
		/* A latched INIT, a pending SMI or NMI may go now. */
		kvm_make_request(KVM_REQ_EVENT, vcpu);
	}
	kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
}

void kvm_smm_vcpu_reset(struct kvm_vcpu *vcpu, bool init)
{
	if (vcpu->arch.smm.in_smm)
		kvm_smm_changed(vcpu, false);
	vcpu->arch.smm.inside_nmi = false;
	/* INIT keeps SMBASE and a pending SMI (SDM vol 3, table 9-1). */
	if (!init) {
		vcpu->arch.smm.smbase = KVM_SMBASE_DEFAULT;
		vcpu->arch.smm.smi_pending = false;
		clear_bit(KVM_REQ_SMI, &vcpu->requests);
	}
}

long kvm_vcpu_ioctl_smi(struct kvm_vcpu *vcpu)
{
	/* What a kernel without SMM support answers. */
	if (!kvm_smm_supported())
		return -ENOTTY;
	vcpu->arch.smm.smi_pending = true;
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	return 0;
}

bool kvm_smm_post_smi(struct kvm_vcpu *vcpu)
{
	if (!kvm_smm_supported())
		return false;
	kvm_make_request(KVM_REQ_SMI, vcpu);
	return true;
}

void kvm_smm_check_request(struct kvm_vcpu *vcpu)
{
	if (kvm_check_request(KVM_REQ_SMI, vcpu))
		vcpu->arch.smm.smi_pending = true;
}

bool kvm_smm_wakes(struct kvm_vcpu *vcpu)
{
	return test_bit(KVM_REQ_SMI, &vcpu->requests) ||
	       (vcpu->arch.smm.smi_pending && !vcpu->arch.smm.in_smm);
}

/*
 * An SMI, or an unmasked NMI, that could go if no event were being
 * delivered: the backend then exits as soon as that delivery is done
 * instead of at the guest's next exit (svm_vcpu_run).
 */
bool kvm_smi_nmi_waiting(struct kvm_vcpu *vcpu)
{
	if (kvm_smm_wakes(vcpu))
		return true;
	return atomic_read(&vcpu->arch.nmi_pending) && !vcpu->arch.nmi_masked;
}

bool kvm_smm_blocks_init(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.smm.in_smm;
}

/* ---- the state-save area ------------------------------------------------ */

/* Both layouts, as read from or written to SMBASE + FE00h. */
union kvm_smram {
	struct kvm_smram_amd64 a64;
	struct kvm_smram_legacy l32;
};

static_assert(sizeof(struct kvm_smram_legacy) == 512);

/*
 * The layout depends on the guest's CPUID, as upstream's: AMD64 with long
 * mode (CPUID 8000_0001h EDX[29]), the legacy one without.
 */
static bool smm_guest_has_lm(struct kvm_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvm_find_cpuid_entry(vcpu, 0x80000001, 0);

	return e && (e->edx & BIT(29));
}

static u16 smm_seg_attr(const struct kvm_segment *var)
{
	return (var->type & 0xf) | (var->s ? SMM_ATTR_S : 0) |
	       ((var->dpl & 3) << SMM_ATTR_DPL_SHIFT) |
	       (var->present ? SMM_ATTR_P : 0) |
	       (var->avl ? SMM_ATTR_AVL : 0) | (var->l ? SMM_ATTR_L : 0) |
	       (var->db ? SMM_ATTR_DB : 0) | (var->g ? SMM_ATTR_G : 0);
}

static void smm_load_seg(struct kvm_vcpu *vcpu, int seg, u16 selector,
			 u16 attr, u32 limit, u64 base)
{
	struct kvm_segment var = {
		.base = base,
		.limit = limit,
		.selector = selector,
		.type = attr & 0xf,
		.s = !!(attr & SMM_ATTR_S),
		.dpl = (attr >> SMM_ATTR_DPL_SHIFT) & 3,
		.present = !!(attr & SMM_ATTR_P),
		.avl = !!(attr & SMM_ATTR_AVL),
		.l = !!(attr & SMM_ATTR_L),
		.db = !!(attr & SMM_ATTR_DB),
		.g = !!(attr & SMM_ATTR_G),
	};

	var.unusable = !var.present;
	kvm_x86_ops->set_segment(vcpu, &var, seg);
}

static void smm_save_seg64(struct kvm_vcpu *vcpu, struct kvm_smm_seg *s,
			   int seg)
{
	struct kvm_segment var;

	kvm_x86_ops->get_segment(vcpu, &var, seg);
	s->selector = var.selector;
	s->attrib = smm_seg_attr(&var);
	s->limit = var.limit;
	s->base = var.base;
}

static void smm_load_seg64(struct kvm_vcpu *vcpu, const struct kvm_smm_seg *s,
			   int seg)
{
	smm_load_seg(vcpu, seg, s->selector, s->attrib, s->limit, s->base);
}

/* Legacy flags are a descriptor's second dword: our attributes << 8. */
static u32 smm_save_seg32(struct kvm_vcpu *vcpu, struct kvm_smm_seg32 *s,
			  int seg)
{
	struct kvm_segment var;

	kvm_x86_ops->get_segment(vcpu, &var, seg);
	s->flags = (u32)smm_seg_attr(&var) << 8;
	s->limit = var.limit;
	s->base = var.base;
	return var.selector;
}

static void smm_load_seg32(struct kvm_vcpu *vcpu,
			   const struct kvm_smm_seg32 *s, u32 selector, int seg)
{
	smm_load_seg(vcpu, seg, selector, s->flags >> 8, s->limit, s->base);
}

static void smm_save_state64(struct kvm_vcpu *vcpu, struct kvm_smram_amd64 *sm)
{
	const struct kvm_x86_ops *ops = kvm_x86_ops;
	struct kvm_dtable dt;
	int i;

	for (i = 0; i < 16; i++)
		sm->gprs[15 - i] = kvm_reg_read(vcpu, i);
	sm->rip = kvm_rip_read(vcpu);
	sm->rflags = kvm_get_rflags(vcpu);
	sm->dr6 = ops->get_dr(vcpu, 6);
	sm->dr7 = ops->get_dr(vcpu, 7);
	sm->cr0 = ops->get_cr(vcpu, 0);
	sm->cr3 = ops->get_cr(vcpu, 3);
	sm->cr4 = ops->get_cr(vcpu, 4);
	sm->efer = ops->get_efer(vcpu);
	sm->smbase = vcpu->arch.smm.smbase;
	sm->smm_revision = KVM_SMM_REVISION_AMD64;
	sm->int_shadow = !!ops->get_interrupt_shadow(vcpu);

	smm_save_seg64(vcpu, &sm->es, VCPU_SREG_ES);
	smm_save_seg64(vcpu, &sm->cs, VCPU_SREG_CS);
	smm_save_seg64(vcpu, &sm->ss, VCPU_SREG_SS);
	smm_save_seg64(vcpu, &sm->ds, VCPU_SREG_DS);
	smm_save_seg64(vcpu, &sm->fs, VCPU_SREG_FS);
	smm_save_seg64(vcpu, &sm->gs, VCPU_SREG_GS);
	smm_save_seg64(vcpu, &sm->ldtr, VCPU_SREG_LDTR);
	smm_save_seg64(vcpu, &sm->tr, VCPU_SREG_TR);
	ops->get_gdt(vcpu, &dt);
	sm->gdtr.limit = dt.limit;
	sm->gdtr.base = dt.base;
	ops->get_idt(vcpu, &dt);
	sm->idtr.limit = dt.limit;
	sm->idtr.base = dt.base;
}

static const int smm_seg32_order[6] = {
	VCPU_SREG_ES, VCPU_SREG_CS, VCPU_SREG_SS,
	VCPU_SREG_DS, VCPU_SREG_FS, VCPU_SREG_GS,
};

static struct kvm_smm_seg32 *smm_seg32(struct kvm_smram_legacy *sm, int i)
{
	struct kvm_smm_seg32 *segs[6] = {
		&sm->es, &sm->cs, &sm->ss, &sm->ds, &sm->fs, &sm->gs,
	};

	return segs[i];
}

static void smm_save_state32(struct kvm_vcpu *vcpu,
			     struct kvm_smram_legacy *sm)
{
	const struct kvm_x86_ops *ops = kvm_x86_ops;
	struct kvm_dtable dt;
	int i;

	for (i = 0; i < 8; i++)
		sm->gprs[i] = kvm_reg_read(vcpu, i);
	sm->eip = kvm_rip_read(vcpu);
	sm->eflags = kvm_get_rflags(vcpu);
	sm->dr6 = ops->get_dr(vcpu, 6);
	sm->dr7 = ops->get_dr(vcpu, 7);
	sm->cr0 = ops->get_cr(vcpu, 0);
	sm->cr3 = ops->get_cr(vcpu, 3);
	sm->cr4 = ops->get_cr(vcpu, 4);
	sm->smbase = vcpu->arch.smm.smbase;
	sm->smm_revision = KVM_SMM_REVISION_LEGACY;
	sm->int_shadow = !!ops->get_interrupt_shadow(vcpu);

	for (i = 0; i < 6; i++)
		sm->sel[i] = smm_save_seg32(vcpu, smm_seg32(sm, i),
					    smm_seg32_order[i]);
	sm->ldtr_sel = smm_save_seg32(vcpu, &sm->ldtr, VCPU_SREG_LDTR);
	sm->tr_sel = smm_save_seg32(vcpu, &sm->tr, VCPU_SREG_TR);
	ops->get_gdt(vcpu, &dt);
	sm->gdtr.limit = dt.limit;
	sm->gdtr.base = dt.base;
	ops->get_idt(vcpu, &dt);
	sm->idtr.limit = dt.limit;
	sm->idtr.base = dt.base;
}

/* The processor state at the SMM entry point (APM vol 2, table 10-3). */
static void smm_entry_state(struct kvm_vcpu *vcpu, bool lm)
{
	const struct kvm_x86_ops *ops = kvm_x86_ops;
	u32 smbase = vcpu->arch.smm.smbase;	/* the save area keeps 32 bits */
	struct kvm_dtable idt = {};
	struct kvm_segment seg = {
		.limit = 0xffffffff,
		.type = SEG_TYPE_DATA_RWA,
		.s = 1,
		.present = 1,
		.g = 1,
	};

	kvm_set_rflags(vcpu, X86_EFLAGS_FIXED);
	kvm_rip_write(vcpu, KVM_SMM_ENTRY_IP);
	ops->set_interrupt_shadow(vcpu, 0);
	ops->set_cr(vcpu, 0, ops->get_cr(vcpu, 0) &
		    ~(X86_CR0_PE | X86_CR0_EM | X86_CR0_TS | X86_CR0_PG));
	ops->set_cr(vcpu, 4, 0);
	/*
	 * Without long mode in CPUID EFER has nothing that matters here, but
	 * a VMM can run a vCPU in long mode without CPUID saying so: paging
	 * is off now, so long mode is not active (APM vol 2, 14.6.1).  LME
	 * goes too, as upstream gives the hardware no LME without LMA: the
	 * bed's CPU hung in this real mode with EFER.LME still set.
	 */
	if (lm)
		ops->set_efer(vcpu, 0);
	else
		ops->set_efer(vcpu, ops->get_efer(vcpu) &
			      ~(EFER_LMA | EFER_LME));
	ops->set_idt(vcpu, &idt);
	ops->set_dr(vcpu, 7, DR7_FIXED_1);

	ops->set_segment(vcpu, &seg, VCPU_SREG_DS);
	ops->set_segment(vcpu, &seg, VCPU_SREG_ES);
	ops->set_segment(vcpu, &seg, VCPU_SREG_FS);
	ops->set_segment(vcpu, &seg, VCPU_SREG_GS);
	ops->set_segment(vcpu, &seg, VCPU_SREG_SS);
	seg.type = SEG_TYPE_CODE_RXA;
	seg.selector = (smbase >> 4) & 0xffff;
	seg.base = smbase;
	ops->set_segment(vcpu, &seg, VCPU_SREG_CS);
}

/* A state that cannot be entered or left: the processor shuts down. */
static int smm_shutdown(struct kvm_vcpu *vcpu)
{
	kvm_x86_ops->vcpu_reset(vcpu);
	return kvm_emulate_shutdown(vcpu);
}

static int kvm_enter_smm(struct kvm_vcpu *vcpu)
{
	bool lm = smm_guest_has_lm(vcpu);
	union kvm_smram sm;
	int r;

	memset(&sm, 0, sizeof(sm));
	if (lm)
		smm_save_state64(vcpu, &sm.a64);
	else
		smm_save_state32(vcpu, &sm.l32);
	vcpu->arch.smm.smi_pending = false;
	kvm_smm_changed(vcpu, true);
	/* SMRAM is what address space 1 maps there. */
	down_read(&vcpu->kvm->slots_lock);
	r = kvm_vcpu_write_guest(vcpu, vcpu->arch.smm.smbase +
				 KVM_SMRAM_SAVE_OFFSET, &sm, sizeof(sm));
	up_read(&vcpu->kvm->slots_lock);
	if (r)
		return smm_shutdown(vcpu);

	/* NMIs stay blocked until RSM (or an IRET in the handler). */
	if (vcpu->arch.nmi_masked)
		vcpu->arch.smm.inside_nmi = true;
	vcpu->arch.nmi_masked = true;
	vcpu->arch.nmi_iret = false;
	if (vcpu->arch.mp_state == KVM_MP_STATE_HALTED)
		vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
	smm_entry_state(vcpu, lm);
	return EXIT_RESUME;
}

int kvm_smm_inject(struct kvm_vcpu *vcpu)
{
	if (!vcpu->arch.smm.smi_pending || vcpu->arch.smm.in_smm)
		return EXIT_RESUME;
	return kvm_enter_smm(vcpu);
}

/* ---- RSM ------------------------------------------------------------------ */

/*
 * Leave whatever mode the handler set up for real mode, so that the saved
 * CR0, CR3, CR4 (and EFER) load through the checks of a guest write in a
 * safe order (paging off, then on with PAE and LME as saved).
 */
static void rsm_to_real_mode(struct kvm_vcpu *vcpu, bool lm)
{
	const struct kvm_x86_ops *ops = kvm_x86_ops;

	ops->set_cr(vcpu, 0, ops->get_cr(vcpu, 0) & ~(X86_CR0_PG | X86_CR0_PE));
	if (lm) {
		ops->set_cr(vcpu, 4, 0);
		ops->set_efer(vcpu, 0);
	}
}

static int rsm_load_control(struct kvm_vcpu *vcpu, u64 cr0, u64 cr3, u64 cr4)
{
	u64 pcid = 0;

	/* With CR4.PCIDE the low CR3 bits are the PCID; set it last. */
	if (cr4 & X86_CR4_PCIDE) {
		pcid = cr3 & 0xfff;
		cr3 &= ~0xfffULL;
	}
	if (kvm_set_cr(vcpu, 3, cr3) ||
	    kvm_set_cr(vcpu, 4, cr4 & ~X86_CR4_PCIDE) ||
	    kvm_set_cr(vcpu, 0, cr0))
		return -EINVAL;
	if (cr4 & X86_CR4_PCIDE) {
		if (kvm_set_cr(vcpu, 4, cr4) ||
		    kvm_set_cr(vcpu, 3, cr3 | pcid))
			return -EINVAL;
	}
	return 0;
}

/* What both layouts restore the same way. */
static void rsm_load_common(struct kvm_vcpu *vcpu, u64 rip, u64 rflags,
			    u64 dr6, u64 dr7, u32 smbase)
{
	kvm_rip_write(vcpu, rip);
	kvm_set_rflags(vcpu, (rflags & RFLAGS_DEFINED) | X86_EFLAGS_FIXED);
	kvm_x86_ops->set_dr(vcpu, 6, (dr6 & DR6_WRITABLE) | DR6_ONES);
	kvm_x86_ops->set_dr(vcpu, 7, (dr7 & DR7_WRITABLE) | DR7_FIXED_1);
	vcpu->arch.smm.smbase = smbase;
}

static void rsm_load_dt(struct kvm_vcpu *vcpu, bool gdt, u32 limit, u64 base)
{
	struct kvm_dtable dt = { .limit = limit, .base = base };

	if (gdt)
		kvm_x86_ops->set_gdt(vcpu, &dt);
	else
		kvm_x86_ops->set_idt(vcpu, &dt);
}

static int rsm_load_state64(struct kvm_vcpu *vcpu,
			    const struct kvm_smram_amd64 *sm)
{
	int i;

	for (i = 0; i < 16; i++)
		kvm_reg_write(vcpu, i, sm->gprs[15 - i]);
	rsm_load_common(vcpu, sm->rip, sm->rflags, sm->dr6, sm->dr7,
			sm->smbase);
	if (kvm_set_efer(vcpu, sm->efer & ~EFER_LMA, false) ||
	    rsm_load_control(vcpu, sm->cr0, sm->cr3, sm->cr4))
		return -EINVAL;

	smm_load_seg64(vcpu, &sm->tr, VCPU_SREG_TR);
	smm_load_seg64(vcpu, &sm->ldtr, VCPU_SREG_LDTR);
	rsm_load_dt(vcpu, false, sm->idtr.limit, sm->idtr.base);
	rsm_load_dt(vcpu, true, sm->gdtr.limit, sm->gdtr.base);
	smm_load_seg64(vcpu, &sm->es, VCPU_SREG_ES);
	smm_load_seg64(vcpu, &sm->cs, VCPU_SREG_CS);
	smm_load_seg64(vcpu, &sm->ss, VCPU_SREG_SS);
	smm_load_seg64(vcpu, &sm->ds, VCPU_SREG_DS);
	smm_load_seg64(vcpu, &sm->fs, VCPU_SREG_FS);
	smm_load_seg64(vcpu, &sm->gs, VCPU_SREG_GS);
	kvm_x86_ops->set_interrupt_shadow(vcpu, sm->int_shadow ? 1 : 0);
	return 0;
}

static int rsm_load_state32(struct kvm_vcpu *vcpu,
			    struct kvm_smram_legacy *sm)
{
	int i;

	for (i = 0; i < 8; i++)
		kvm_reg_write(vcpu, i, sm->gprs[i]);
	rsm_load_common(vcpu, sm->eip, sm->eflags, sm->dr6, sm->dr7,
			sm->smbase);
	if (rsm_load_control(vcpu, sm->cr0, sm->cr3, sm->cr4))
		return -EINVAL;

	smm_load_seg32(vcpu, &sm->tr, sm->tr_sel, VCPU_SREG_TR);
	smm_load_seg32(vcpu, &sm->ldtr, sm->ldtr_sel, VCPU_SREG_LDTR);
	rsm_load_dt(vcpu, false, sm->idtr.limit, sm->idtr.base);
	rsm_load_dt(vcpu, true, sm->gdtr.limit, sm->gdtr.base);
	for (i = 0; i < 6; i++)
		smm_load_seg32(vcpu, smm_seg32(sm, i), sm->sel[i],
			       smm_seg32_order[i]);
	kvm_x86_ops->set_interrupt_shadow(vcpu, sm->int_shadow ? 1 : 0);
	return 0;
}

/* The RSM intercept (APM vol 2, 10.4): #UD outside SMM. */
int kvm_emulate_rsm(struct kvm_vcpu *vcpu)
{
	bool lm = smm_guest_has_lm(vcpu);
	union kvm_smram sm;
	int r;

	if (!vcpu->arch.smm.in_smm) {
		kvm_queue_exception(vcpu, UD_VECTOR);
		return EXIT_RESUME;
	}
	down_read(&vcpu->kvm->slots_lock);
	r = kvm_vcpu_read_guest(vcpu, vcpu->arch.smm.smbase +
				KVM_SMRAM_SAVE_OFFSET, &sm, sizeof(sm));
	up_read(&vcpu->kvm->slots_lock);
	if (r)
		return smm_shutdown(vcpu);

	if (!vcpu->arch.smm.inside_nmi) {
		vcpu->arch.nmi_masked = false;
		vcpu->arch.nmi_iret = false;
	}
	kvm_smm_changed(vcpu, false);
	rsm_to_real_mode(vcpu, lm);
	r = lm ? rsm_load_state64(vcpu, &sm.a64) :
		 rsm_load_state32(vcpu, &sm.l32);
	if (r)
		return smm_shutdown(vcpu);
	return EXIT_RESUME;
}

/* ---- save and restore --------------------------------------------------- */

void kvm_smm_get_events(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *e)
{
	kvm_smm_check_request(vcpu);
	e->smi.smm = vcpu->arch.smm.in_smm;
	e->smi.pending = vcpu->arch.smm.smi_pending;
	e->smi.smm_inside_nmi = vcpu->arch.smm.inside_nmi;
	e->smi.latched_init = kvm_lapic_init_latched(vcpu);
	e->flags |= KVM_VCPUEVENT_VALID_SMM;
}

int kvm_smm_check_events(struct kvm_vcpu *vcpu,
			 const struct kvm_vcpu_events *e)
{
	if (!(e->flags & KVM_VCPUEVENT_VALID_SMM))
		return 0;
	if (!kvm_smm_supported() &&
	    (e->smi.smm || e->smi.pending || e->smi.smm_inside_nmi))
		return -EINVAL;
	/* INITs are latched in SMM: no vCPU is in SMM and waiting for SIPI. */
	if ((e->smi.smm || e->smi.pending) &&
	    vcpu->arch.mp_state == KVM_MP_STATE_INIT_RECEIVED)
		return -EINVAL;
	return 0;
}

void kvm_smm_set_events(struct kvm_vcpu *vcpu,
			const struct kvm_vcpu_events *e)
{
	if (!(e->flags & KVM_VCPUEVENT_VALID_SMM))
		return;
	if (vcpu->arch.smm.in_smm != !!e->smi.smm)
		kvm_smm_changed(vcpu, !!e->smi.smm);
	vcpu->arch.smm.smi_pending = !!e->smi.pending;
	if (e->smi.smm)
		vcpu->arch.smm.inside_nmi = !!e->smi.smm_inside_nmi;
	kvm_lapic_latch_init(vcpu, e->smi.latched_init);
	kvm_make_request(KVM_REQ_EVENT, vcpu);
}

/* KVM_SET_MP_STATE: a vCPU in SMM (or about to be) cannot wait for SIPI. */
bool kvm_smm_blocks_mp_state(struct kvm_vcpu *vcpu, u32 mp_state)
{
	return (vcpu->arch.smm.in_smm || vcpu->arch.smm.smi_pending) &&
	       (mp_state == KVM_MP_STATE_INIT_RECEIVED ||
		mp_state == KVM_MP_STATE_SIPI_RECEIVED);
}

/* ---- MSR_IA32_SMBASE ------------------------------------------------------ */

/* As upstream on AMD: only userspace reads and writes it, the guest #GPs. */
int kvm_smm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	if (index != MSR_IA32_SMBASE)
		return -ENOENT;
	if (!host)
		return KVM_MSR_RET_INVALID;
	*data = vcpu->arch.smm.smbase;
	return 0;
}

int kvm_smm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host)
{
	if (index != MSR_IA32_SMBASE)
		return -ENOENT;
	if (!host)
		return KVM_MSR_RET_INVALID;
	vcpu->arch.smm.smbase = data;
	return 0;
}

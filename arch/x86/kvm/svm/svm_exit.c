// SPDX-License-Identifier: GPL-2.0-only
/*
 * SVM exit handling: one table indexed by exit code, each row a short
 * handler returning EXIT_RESUME, EXIT_USER or a negative errno.
 */
#include <asm/irq_vectors.h>
#include <asm/processor-flags.h>

#include "svm.h"
#include "irq.h"
#include "kvm_para.h"
#include "smm.h"

/* Instruction lengths for exits without next-RIP save (no prefixes). */
#define LEN_CPUID		2	/* 0f a2 */
#define LEN_HLT			1	/* f4 */
#define LEN_RDMSR		2	/* 0f 32 / 0f 30 */
#define LEN_VMMCALL		3	/* 0f 01 d9 */
#define LEN_INVD		2	/* 0f 08 / 0f 09 */
#define LEN_MWAIT		3	/* 0f 01 c8 / c9 */
#define LEN_XSETBV		3	/* 0f 01 d1 */

/* Next RIP: from the hardware when it saves it, else from the length. */
static unsigned long svm_next_rip(struct kvm_vcpu *vcpu, int len)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	unsigned int decoded;

	if (svm_nrips && svm->vmcb->control.next_rip)
		return svm->vmcb->control.next_rip;
	/* Prefixes make it longer than the bare opcode: ask the decoder. */
	decoded = kvm_insn_len(vcpu);
	return kvm_rip_read(vcpu) + (decoded ? decoded : len);
}

static int svm_skip(struct kvm_vcpu *vcpu, int len)
{
	return kvm_skip_instruction(vcpu, svm_next_rip(vcpu, len));
}

static int handle_host_event(struct kvm_vcpu *vcpu)
{
	/* INTR/NMI/SMI/INIT: the host takes it once interrupts are on. */
	vcpu->stat.irq_exits++;
	return EXIT_RESUME;
}

static int handle_ud(struct kvm_vcpu *vcpu)
{
	kvm_queue_exception(vcpu, UD_VECTOR);
	return EXIT_RESUME;
}

static int handle_gp(struct kvm_vcpu *vcpu)
{
	kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
	return EXIT_RESUME;
}

/* #DB and #AC are intercepted only so a guest cannot hang the host
 * (the "benign exception" loops); hand them straight back.
 */
static int handle_db(struct kvm_vcpu *vcpu)
{
	return kvm_handle_db(vcpu, to_svm(vcpu)->vmcb->save.dr6);
}

/* DR6 bits of a single step and of breakpoints 0-3 (APM vol 2, 13.1.1.3). */
#define DR6_STEP	BIT(14)
#define DR6_BREAKPOINTS	0xfULL

/*
 * The single step for an NMI window ends with whatever exit came first.
 * A #DB that only our TF raised is not the guest's: drop it (true).  An
 * IRET stepped over loaded RFLAGS from its frame; its TF is dropped too
 * (a guest single-stepping out of an NMI handler is not supported).
 */
static bool svm_end_nmi_singlestep(struct vcpu_svm *svm)
{
	struct vmcb *vmcb = svm->vmcb;
	u64 dr6 = vmcb->save.dr6;

	if (!svm->nmi_singlestep)
		return false;
	svm->nmi_singlestep = false;
	vmcb->save.rflags &= ~X86_EFLAGS_TF;
	if (vmcb->control.exit_code != SVM_EXIT_EXCP_BASE + DB_VECTOR)
		return false;
	vmcb->save.dr6 = svm->nmi_step_dr6 | (dr6 & DR6_BREAKPOINTS);
	kvm_make_request(KVM_REQ_EVENT, svm->vcpu);
	return !(dr6 & DR6_BREAKPOINTS);
}

/*
 * An NMI waits for an interrupt shadow, for the IRET that ended the last
 * handler to complete (the IRET intercept exits before it runs), or for
 * EVENTINJ to be delivered.  The VINTR window would also wait for IF.
 * Without vNMI: single-step the guest one instruction (TF, #DB is always
 * intercepted); behind EVENTINJ, svm_vcpu_run exits right after the
 * delivery.  A TF already set is the guest's or the debugger's: its #DB
 * exits anyway.
 */
void svm_enable_nmi_window(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;

	if (vmcb->control.event_inj & SVM_EVTINJ_VALID)
		return;
	if (!svm->nmi_singlestep) {
		if (vmcb->save.rflags & X86_EFLAGS_TF)
			return;
		svm->nmi_singlestep = true;
		svm->nmi_step_dr6 = vmcb->save.dr6;
	}
	/* Again if KVM_SET_REGS dropped it meanwhile. */
	vmcb->save.rflags |= X86_EFLAGS_TF;
}

static int handle_bp(struct kvm_vcpu *vcpu)
{
	return kvm_handle_bp(vcpu);
}

/* The interrupt window opened: drop the fake V_IRQ we used to see it. */
static int handle_vintr(struct kvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	vcpu->stat.irq_window_exits++;
	c->int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK | V_INTR_PRIO_MASK);
	c->intercepts[INTERCEPT_WORD_3] &= ~INTERCEPT_VINTR;
	return EXIT_RESUME;
}

/* MOV to CR8 while an interrupt waits for the TPR to drop. */
static int handle_cr8_write(struct kvm_vcpu *vcpu)
{
	return kvm_emulate_instruction(vcpu);
}

/* The guest's NMI handler returns: NMIs are unblocked after this IRET. */
static int handle_iret(struct kvm_vcpu *vcpu)
{
	kvm_irq_nmi_iret(vcpu);
	return EXIT_RESUME;
}

static int handle_ac(struct kvm_vcpu *vcpu)
{
	kvm_queue_exception_e(vcpu, AC_VECTOR, 0);
	return EXIT_RESUME;
}

/*
 * First DR access: from now on DR0-3 are switched on every entry.  While a
 * debugger's hardware breakpoints own the registers, every access is
 * emulated against the guest's own values instead.
 */
static int handle_dr_access(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	if (vcpu->arch.guest_debug & KVM_GUESTDBG_USE_HW_BP)
		return kvm_emulate_instruction(vcpu);
	svm->guest_debugregs = true;
	svm_set_intercept_dr(svm, false);
	return EXIT_RESUME;
}

static int handle_cpuid(struct kvm_vcpu *vcpu)
{
	vcpu->stat.cpuid_exits++;
	if (kvm_cpuid_fault(vcpu))
		return EXIT_RESUME;
	kvm_emulate_cpuid(vcpu);
	return svm_skip(vcpu, LEN_CPUID);
}

static int handle_hlt(struct kvm_vcpu *vcpu)
{
	int r = svm_skip(vcpu, LEN_HLT);

	vcpu->stat.halt_exits++;
	return r == EXIT_RESUME ? kvm_emulate_halt(vcpu) : r;
}

static int handle_msr(struct kvm_vcpu *vcpu)
{
	unsigned long next_rip = svm_next_rip(vcpu, LEN_RDMSR);

	vcpu->stat.msr_exits++;
	if (to_svm(vcpu)->vmcb->control.exit_info_1)
		return kvm_emulate_wrmsr(vcpu, next_rip);
	return kvm_emulate_rdmsr(vcpu, next_rip);
}

static int handle_vmmcall(struct kvm_vcpu *vcpu)
{
	vcpu->stat.hypercalls++;
	return kvm_emulate_hypercall(vcpu, svm_next_rip(vcpu, LEN_VMMCALL));
}

/* #UD is intercepted for VMCALL, the Intel hypercall (hypercall.c). */
static int handle_ud_intercept(struct kvm_vcpu *vcpu)
{
	return kvm_handle_ud(vcpu);
}

static int handle_nop_insn(struct kvm_vcpu *vcpu)
{
	u64 code = to_svm(vcpu)->vmcb->control.exit_code;

	/* INVD/WBINVD: caches are coherent for the guest; MWAIT: a NOP. */
	if (code == SVM_EXIT_MONITOR || code == SVM_EXIT_MWAIT)
		return svm_skip(vcpu, LEN_MWAIT);
	return svm_skip(vcpu, LEN_INVD);
}

static int handle_xsetbv(struct kvm_vcpu *vcpu)
{
	if (kvm_emulate_xsetbv(vcpu))
		return EXIT_RESUME;
	return svm_skip(vcpu, LEN_XSETBV);
}

static int handle_ioio(struct kvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	u32 info = c->exit_info_1;
	struct kvm_pio_exit io = {
		.port = info >> SVM_IOIO_PORT_SHIFT,
		.in = info & SVM_IOIO_TYPE_IN,
		.string = info & SVM_IOIO_STR,
		.rep = info & SVM_IOIO_REP,
		/* One-hot fields: 1, 2, 4 bytes and 16, 32, 64 bits. */
		.size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT,
		.addr_size = ((info & SVM_IOIO_ASIZE_MASK) >>
			      SVM_IOIO_ASIZE_SHIFT) << 1,
		/* APM vol 2, 15.10.2: EXITINFO2 is the next instruction. */
		.next_rip = c->exit_info_2,
	};

	vcpu->stat.io_exits++;
	/*
	 * An instruction is at least one byte long: an EXITINFO2 that is not
	 * past RIP cannot be right, so do not trust it; ask the decoder.
	 */
	if (io.next_rip <= kvm_rip_read(vcpu)) {
		unsigned int len = kvm_insn_len(vcpu);

		if (!len)
			return kvm_emulation_failure(vcpu);
		io.next_rip = kvm_rip_read(vcpu) + len;
	}
	return kvm_handle_pio(vcpu, &io);
}

static int handle_npf(struct kvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	vcpu->stat.npf_exits++;
	return kvm_mmu_page_fault(vcpu, c->exit_info_2, c->exit_info_1);
}

/* The VMCB is undefined after a shutdown intercept (APM vol 2, 15.9). */
static int handle_shutdown(struct kvm_vcpu *vcpu)
{
	svm_init_vmcb(to_svm(vcpu));
	return kvm_emulate_shutdown(vcpu);
}

static int handle_task_switch(struct kvm_vcpu *vcpu)
{
	return kvm_emulation_failure(vcpu);
}

typedef int (*svm_exit_handler)(struct kvm_vcpu *vcpu);

static const svm_exit_handler svm_exit_handlers[SVM_EXIT_NR_CODES] = {
	[SVM_EXIT_READ_DR0 ... SVM_EXIT_WRITE_DR0 + 15]	= handle_dr_access,
	/* Intercepted only without nested paging (svm_shadow.c). */
	[SVM_EXIT_READ_CR0]			= svm_handle_shadow_insn,
	[SVM_EXIT_READ_CR0 + 3]			= svm_handle_shadow_insn,
	[SVM_EXIT_READ_CR0 + 4]			= svm_handle_shadow_insn,
	[SVM_EXIT_WRITE_CR0]			= svm_handle_shadow_insn,
	[SVM_EXIT_WRITE_CR0 + 3]		= svm_handle_shadow_insn,
	[SVM_EXIT_WRITE_CR0 + 4]		= svm_handle_shadow_insn,
	[SVM_EXIT_INVLPG]			= svm_handle_shadow_insn,
	[SVM_EXIT_EXCP_BASE + PF_VECTOR]	= svm_handle_shadow_pf,
	[SVM_EXIT_EXCP_BASE + DB_VECTOR]	= handle_db,
	[SVM_EXIT_EXCP_BASE + BP_VECTOR]	= handle_bp,
	[SVM_EXIT_EXCP_BASE + AC_VECTOR]	= handle_ac,
	[SVM_EXIT_EXCP_BASE + UD_VECTOR]	= handle_ud_intercept,
	[SVM_EXIT_VINTR]			= handle_vintr,
	[SVM_EXIT_INTR]				= handle_host_event,
	[SVM_EXIT_NMI]				= handle_host_event,
	[SVM_EXIT_SMI]				= handle_host_event,
	[SVM_EXIT_INIT]				= handle_host_event,
	[SVM_EXIT_RDPMC]			= handle_gp,
	[SVM_EXIT_CPUID]			= handle_cpuid,
	[SVM_EXIT_RSM]				= kvm_emulate_rsm,
	[SVM_EXIT_WRITE_CR8]			= handle_cr8_write,
	[SVM_EXIT_IRET]				= handle_iret,
	[SVM_EXIT_INVD]				= handle_nop_insn,
	[SVM_EXIT_HLT]				= handle_hlt,
	[SVM_EXIT_INVLPGA]			= handle_ud,
	[SVM_EXIT_IOIO]				= handle_ioio,
	[SVM_EXIT_MSR]				= handle_msr,
	[SVM_EXIT_TASK_SWITCH]			= handle_task_switch,
	[SVM_EXIT_SHUTDOWN]			= handle_shutdown,
	/* Nested SVM is not offered: its instructions are #UD. */
	[SVM_EXIT_VMRUN]			= handle_ud,
	[SVM_EXIT_VMMCALL]			= handle_vmmcall,
	[SVM_EXIT_VMLOAD]			= handle_ud,
	[SVM_EXIT_VMSAVE]			= handle_ud,
	[SVM_EXIT_STGI]				= handle_ud,
	[SVM_EXIT_CLGI]				= handle_ud,
	[SVM_EXIT_SKINIT]			= handle_ud,
	[SVM_EXIT_WBINVD]			= handle_nop_insn,
	[SVM_EXIT_MONITOR]			= handle_nop_insn,
	[SVM_EXIT_MWAIT]			= handle_nop_insn,
	[SVM_EXIT_XSETBV]			= handle_xsetbv,
	[SVM_EXIT_RDPRU]			= handle_ud,
};

/*
 * An exit that interrupted the delivery of an event (APM vol 2, 15.7.2:
 * EXITINTINFO) must deliver it again.  Software interrupts and INT3/INTO
 * are left out: RIP still points at the instruction, which re-executes.
 */
static void svm_reinject_event(struct vcpu_svm *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	u64 info = c->exit_int_info;
	u64 type = info & SVM_EVTINJ_TYPE_MASK;
	u8 vector = info & SVM_EVTINJ_VEC_MASK;

	if (!(info & SVM_EVTINJ_VALID))
		return;
	if (type == SVM_EVTINJ_TYPE_SOFT)
		return;
	if (type == SVM_EVTINJ_TYPE_EXEPT &&
	    (vector == BP_VECTOR || vector == OF_VECTOR))
		return;
	c->event_inj = info;
}

int svm_handle_exit(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	u64 code = svm->vmcb->control.exit_code;

	vcpu->stat.exits++;
	if (code == SVM_EXIT_ERR)
		return kvm_exit_fail_entry(vcpu, code);

	svm_reinject_event(svm);
	if (svm_end_nmi_singlestep(svm))
		return EXIT_RESUME;

	if (code == SVM_EXIT_NPF)
		return handle_npf(vcpu);
	if (code < SVM_EXIT_NR_CODES && svm_exit_handlers[code])
		return svm_exit_handlers[code](vcpu);
	return kvm_exit_unexpected(vcpu, code);
}

void svm_inject_irq(struct kvm_vcpu *vcpu, u8 vector)
{
	to_svm(vcpu)->vmcb->control.event_inj = vector | SVM_EVTINJ_VALID |
						SVM_EVTINJ_TYPE_INTR;
}

bool svm_event_pending(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->control.event_inj & SVM_EVTINJ_VALID;
}

bool svm_interrupt_allowed(struct kvm_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb;

	return (vmcb->save.rflags & X86_EFLAGS_IF) &&
	       !(vmcb->control.int_state & SVM_INTERRUPT_SHADOW) &&
	       !(vmcb->control.event_inj & SVM_EVTINJ_VALID);
}

/*
 * A virtual interrupt the guest can never take (VINTR is intercepted) makes
 * the hardware exit exactly when the guest opens its window (15.21.4).
 */
void svm_enable_irq_window(struct kvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	c->int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK | V_INTR_PRIO_MASK;
	c->intercepts[INTERCEPT_WORD_3] |= INTERCEPT_VINTR;
}

/*
 * NMIs stay blocked until the handler's IRET (APM vol 2, 8.2.2): watch for
 * it from the delivery on, or the mask would outlive the handler.
 */
void svm_inject_nmi(struct kvm_vcpu *vcpu)
{
	to_svm(vcpu)->vmcb->control.event_inj = NMI_VECTOR | SVM_EVTINJ_VALID |
						SVM_EVTINJ_TYPE_NMI;
	svm_set_iret_intercept(vcpu, true);
}

/*
 * KVM_GET_VCPU_EVENTS: the event in EVENTINJ (an interrupted delivery being
 * re-injected, or one set before an exit to userspace).  Software
 * interrupts and exceptions are never left there (svm_reinject_event).
 */
int svm_get_injection(struct kvm_vcpu *vcpu, struct kvm_queued_exception *ex)
{
	u64 inj = to_svm(vcpu)->vmcb->control.event_inj;

	if (!(inj & SVM_EVTINJ_VALID))
		return KVM_INJ_NONE;
	ex->vector = inj & SVM_EVTINJ_VEC_MASK;
	ex->has_error_code = inj & SVM_EVTINJ_VALID_ERR;
	ex->error_code = inj >> 32;
	switch (inj & SVM_EVTINJ_TYPE_MASK) {
	case SVM_EVTINJ_TYPE_EXEPT:
		return KVM_INJ_EXCEPTION;
	case SVM_EVTINJ_TYPE_INTR:
		return KVM_INJ_IRQ;
	case SVM_EVTINJ_TYPE_NMI:
		return KVM_INJ_NMI;
	}
	return KVM_INJ_NONE;
}

void svm_cancel_injection(struct kvm_vcpu *vcpu)
{
	to_svm(vcpu)->vmcb->control.event_inj = 0;
}

/* Without vNMI the only sign that an NMI handler ended is its IRET. */
void svm_set_iret_intercept(struct kvm_vcpu *vcpu, bool on)
{
	u32 *w = &to_svm(vcpu)->vmcb->control.intercepts[INTERCEPT_WORD_3];

	if (on)
		*w |= INTERCEPT_IRET;
	else
		*w &= ~INTERCEPT_IRET;
}

/*
 * A pending interrupt blocked by the task priority alone: CR8 writes
 * exit, so lowering the TPR delivers it (CR8 is otherwise V_TPR and
 * does not exit, APM vol 2, 15.21.2).  Bit 8 of the CR write intercepts
 * is CR8 (15.9).
 */
void svm_set_cr8_intercept(struct kvm_vcpu *vcpu, bool on)
{
	u32 *w = &to_svm(vcpu)->vmcb->control.intercepts[INTERCEPT_WORD_CR];

	if (on)
		*w |= BIT(16 + 8);
	else
		*w &= ~BIT(16 + 8);
}

void svm_update_exception_intercepts(struct kvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	if (vcpu->arch.guest_debug & KVM_GUESTDBG_USE_SW_BP)
		c->intercepts[INTERCEPT_WORD_EXC] |= BIT(BP_VECTOR);
	else
		c->intercepts[INTERCEPT_WORD_EXC] &= ~BIT(BP_VECTOR);
	/* The guest's DR accesses exit while a debugger holds the DRs; once
	 * it lets go they keep exiting until the guest's next first access. */
	if (vcpu->arch.guest_debug & KVM_GUESTDBG_USE_HW_BP) {
		to_svm(vcpu)->guest_debugregs = false;
		svm_set_intercept_dr(to_svm(vcpu), true);
	}
}

void svm_inject_exception(struct kvm_vcpu *vcpu,
			  const struct kvm_queued_exception *ex)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	c->event_inj = ex->vector | SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT;
	if (ex->has_error_code)
		c->event_inj |= SVM_EVTINJ_VALID_ERR |
				((u64)ex->error_code << 32);
}

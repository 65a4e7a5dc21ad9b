// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMCB clean bits (APM vol 2, 15.15.3): a set bit tells VMRUN that a group
 * of VMCB fields is unchanged since this VMCB last ran on this CPU, so the
 * processor may use the copy it cached instead of reading them again.
 *
 * A missed "this changed" would run the guest on stale state, and the
 * fields are written from many places (register ioctls, exit handlers, the
 * shadow MMU...).  So nobody marks anything: right after each #VMEXIT the
 * groups are snapshotted (the hardware's own writes at #VMEXIT are what it
 * cached), and right before the next VMRUN each group is compared with the
 * snapshot; only identical groups are declared clean.  Everything is dirty
 * on a VMCB's first run (a new vCPU whose VMCB reuses a freed one's page
 * has no snapshot yet), after it moved to another CPU, or when another
 * VMCB ran on this CPU in between.  Without the feature (QEMU's TCG lacks
 * it) clean stays 0, as before.
 */
#include <linux/percpu.h>
#include <asm/cpufeature.h>

#include "svm.h"

#define VMCB_CLEAN_I		BIT(0)	/* intercepts, pause filter, TSC offset */
#define VMCB_CLEAN_IOPM		BIT(1)	/* IOPM and MSRPM bases */
#define VMCB_CLEAN_ASID		BIT(2)
#define VMCB_CLEAN_TPR		BIT(3)	/* V_TPR, V_IRQ, V_INTR_*, int vector */
#define VMCB_CLEAN_NP		BIT(4)	/* nested paging: NP_ENABLE, nCR3, gPAT */
#define VMCB_CLEAN_CRX		BIT(5)	/* CR0, CR3, CR4, EFER */
#define VMCB_CLEAN_DRX		BIT(6)	/* DR6, DR7 */
#define VMCB_CLEAN_DT		BIT(7)	/* GDTR, IDTR */
#define VMCB_CLEAN_SEG		BIT(8)	/* CS, DS, ES, SS, CPL */
#define VMCB_CLEAN_CR2		BIT(9)
#define VMCB_CLEAN_LBR		BIT(10)	/* DbgCtl and the LBR MSRs */

static DEFINE_PER_CPU(struct vmcb *, svm_last_vmcb);
static bool svm_has_clean_bits;

void svm_clean_init(void)
{
	svm_has_clean_bits = boot_cpu_has(X86_FEATURE_VMCBCLEAN);
}

static void snap(const struct vmcb *vmcb, struct svm_clean_snap *s)
{
	const struct vmcb_control_area *c = &vmcb->control;
	const struct vmcb_save_area *v = &vmcb->save;

	memcpy(s->intercepts, c->intercepts, sizeof(s->intercepts));
	s->pause_filter_thresh = c->pause_filter_thresh;
	s->pause_filter_count = c->pause_filter_count;
	s->tsc_offset = c->tsc_offset;
	s->iopm_base_pa = c->iopm_base_pa;
	s->msrpm_base_pa = c->msrpm_base_pa;
	s->asid = c->asid;
	s->int_ctl = c->int_ctl;
	s->nested_ctl = c->nested_ctl;
	s->nested_cr3 = c->nested_cr3;
	s->g_pat = v->g_pat;
	s->cr0 = v->cr0;
	s->cr3 = v->cr3;
	s->cr4 = v->cr4;
	s->efer = v->efer;
	s->dr6 = v->dr6;
	s->dr7 = v->dr7;
	s->gdtr = v->gdtr;
	s->idtr = v->idtr;
	s->cs = v->cs;
	s->ds = v->ds;
	s->es = v->es;
	s->ss = v->ss;
	s->cpl = v->cpl;
	s->cr2 = v->cr2;
	s->dbgctl = v->dbgctl;
	s->br_from = v->br_from;
	s->br_to = v->br_to;
	s->last_excp_from = v->last_excp_from;
	s->last_excp_to = v->last_excp_to;
}

#define SAME(a, b, f) (!memcmp(&(a)->f, &(b)->f, sizeof((a)->f)))

static u32 unchanged_groups(const struct svm_clean_snap *a,
			    const struct svm_clean_snap *b)
{
	u32 clean = 0;

	if (SAME(a, b, intercepts) && SAME(a, b, pause_filter_thresh) &&
	    SAME(a, b, pause_filter_count) && SAME(a, b, tsc_offset))
		clean |= VMCB_CLEAN_I;
	if (SAME(a, b, iopm_base_pa) && SAME(a, b, msrpm_base_pa))
		clean |= VMCB_CLEAN_IOPM;
	if (SAME(a, b, asid))
		clean |= VMCB_CLEAN_ASID;
	if (SAME(a, b, int_ctl))
		clean |= VMCB_CLEAN_TPR;
	if (SAME(a, b, nested_ctl) && SAME(a, b, nested_cr3) &&
	    SAME(a, b, g_pat))
		clean |= VMCB_CLEAN_NP;
	if (SAME(a, b, cr0) && SAME(a, b, cr3) && SAME(a, b, cr4) &&
	    SAME(a, b, efer))
		clean |= VMCB_CLEAN_CRX;
	if (SAME(a, b, dr6) && SAME(a, b, dr7))
		clean |= VMCB_CLEAN_DRX;
	if (SAME(a, b, gdtr) && SAME(a, b, idtr))
		clean |= VMCB_CLEAN_DT;
	if (SAME(a, b, cs) && SAME(a, b, ds) && SAME(a, b, es) &&
	    SAME(a, b, ss) && SAME(a, b, cpl))
		clean |= VMCB_CLEAN_SEG;
	if (SAME(a, b, cr2))
		clean |= VMCB_CLEAN_CR2;
	if (SAME(a, b, dbgctl) && SAME(a, b, br_from) && SAME(a, b, br_to) &&
	    SAME(a, b, last_excp_from) && SAME(a, b, last_excp_to))
		clean |= VMCB_CLEAN_LBR;
	return clean;
}

/* Right before VMRUN, interrupts off, every VMCB write done. */
u32 svm_clean_before_run(struct vcpu_svm *svm, int cpu)
{
	struct svm_clean_snap now;
	u32 clean = 0;

	if (!svm_has_clean_bits)
		return 0;
	if (svm->snap_valid && svm->snap_cpu == cpu &&
	    __this_cpu_read(svm_last_vmcb) == svm->vmcb) {
		snap(svm->vmcb, &now);
		clean = unchanged_groups(&now, &svm->snap);
	}
	__this_cpu_write(svm_last_vmcb, svm->vmcb);
	return clean;
}

/* Right after #VMEXIT, before anyone writes the VMCB. */
void svm_clean_after_exit(struct vcpu_svm *svm, int cpu)
{
	if (!svm_has_clean_bits)
		return;
	snap(svm->vmcb, &svm->snap);
	svm->snap_valid = true;
	svm->snap_cpu = cpu;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The AMD SVM backend: per-CPU enablement, the VMCB of each vCPU, guest
 * entry, and the accessors behind struct kvm_x86_ops.
 */
#define pr_fmt(fmt) "ukvm: " fmt

#include <linux/cpu.h>
#include <linux/slab.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <asm/msr.h>
#include <asm/reboot.h>
#include <asm/debugreg.h>
#include <asm/hw_breakpoint.h>
#include <asm/processor.h>

#include "svm.h"
#include "mmu/shadow.h"
#include "smm.h"

/* CPUID Fn8000_0001 ECX[2] (APM vol 3, E.4.2): SVM is implemented. */
#define CPUID_8000_0001_ECX_SVM		BIT(2)
/* CPUID Fn8000_000A (APM vol 3, E.4.9): SVM revision and features. */
#define CPUID_SVM_FEATURES		0x8000000a
#define SVM_FEATURE_NPT			BIT(0)
#define SVM_FEATURE_NRIPS		BIT(3)
#define SVM_FEATURE_FLUSH_BY_ASID	BIT(6)
/* VM_CR MSR (APM vol 2, 15.30.1). */
#define VM_CR_SVMDIS			BIT(4)

/* MSR permission map: 2 bits per MSR, three 2 KiB ranges (15.11). */
#define MSRPM_SIZE			(2 * PAGE_SIZE)
#define MSRPM_ORDER			1
/* I/O permission map: 1 bit per port plus 3 bytes (15.10.1). */
#define IOPM_ORDER			2

/* DR7 L0-L3/G0-G3: any breakpoint enabled (SDM vol 3, 17.2.4). */
#define DR7_ENABLE_BITS			0xffULL

/* Default guest PAT at reset (SDM vol 3, 11.12.4). */
#define PAT_RESET			0x0007040600070406ULL

struct svm_cpu_data {
	struct page *hsave;		/* VM_HSAVE_PA: VMRUN's host state */
	struct vmcb *host_save;		/* our VMSAVE/VMLOAD host state */
	u64 host_save_pa;
	u32 next_asid;
	u32 max_asid;
	u64 asid_generation;
	bool enabled;
};

static DEFINE_PER_CPU(struct svm_cpu_data, svm_data);
static enum cpuhp_state svm_hp_state;
static unsigned long iopm_va;
static u64 iopm_pa;
static u32 svm_nr_asids;
static bool svm_flush_by_asid;
bool svm_nrips;

/* Nested paging if the CPU has it; npt=0 runs guests on shadow paging. */
static bool npt_enabled = true;
module_param_named(npt, npt_enabled, bool, 0444);
MODULE_PARM_DESC(npt, "use nested paging (default 1 where the CPU has it; 0: shadow paging)");

/* ---- per-CPU enablement ---------------------------------------------- */

static void svm_cpu_disable(void)
{
	u64 efer;

	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
}

/* Reboot, kexec and crash paths: leave SVM off so the next kernel boots. */
static void svm_emergency_disable(void)
{
	struct svm_cpu_data *sd = this_cpu_ptr(&svm_data);

	if (sd->enabled) {
		/* GIF may be clear if we crashed around VMRUN. */
		asm volatile("stgi");
		svm_cpu_disable();
		sd->enabled = false;
	}
}

static int svm_cpu_online(unsigned int cpu)
{
	struct svm_cpu_data *sd = per_cpu_ptr(&svm_data, cpu);
	u64 efer, vm_cr;

	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & VM_CR_SVMDIS) {
		pr_err("SVM is disabled by the BIOS on CPU %u (VM_CR.SVMDIS)\n",
		       cpu);
		return -EOPNOTSUPP;
	}
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_err("SVM is already in use on CPU %u by another hypervisor\n",
		       cpu);
		return -EBUSY;
	}

	sd->hsave = alloc_page(GFP_KERNEL | __GFP_ZERO);
	sd->host_save = (void *)get_zeroed_page(GFP_KERNEL);
	if (!sd->hsave || !sd->host_save) {
		__free_page(sd->hsave);
		free_page((unsigned long)sd->host_save);
		sd->hsave = NULL;
		sd->host_save = NULL;
		return -ENOMEM;
	}
	sd->host_save_pa = __pa(sd->host_save);
	sd->max_asid = svm_nr_asids - 1;
	sd->next_asid = sd->max_asid + 1;	/* forces a new generation */
	sd->asid_generation++;

	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sd->hsave));
	sd->enabled = true;
	return 0;
}

static int svm_cpu_offline(unsigned int cpu)
{
	struct svm_cpu_data *sd = per_cpu_ptr(&svm_data, cpu);

	if (!sd->enabled)
		return 0;
	sd->enabled = false;
	svm_cpu_disable();
	__free_page(sd->hsave);
	free_page((unsigned long)sd->host_save);
	sd->hsave = NULL;
	sd->host_save = NULL;
	return 0;
}

static int svm_check_support(void)
{
	u32 edx;

	if (boot_cpu_data.x86_vendor != X86_VENDOR_AMD &&
	    boot_cpu_data.x86_vendor != X86_VENDOR_HYGON) {
		pr_err("not an AMD CPU: SVM is unavailable\n");
		return -EOPNOTSUPP;
	}
	if (cpuid_eax(0x80000000) < CPUID_SVM_FEATURES ||
	    !(cpuid_ecx(0x80000001) & CPUID_8000_0001_ECX_SVM)) {
		pr_err("the CPU has no SVM (CPUID 8000_0001.ECX[2] is clear)\n");
		return -EOPNOTSUPP;
	}
	edx = cpuid_edx(CPUID_SVM_FEATURES);
	if (!(edx & SVM_FEATURE_NPT) && npt_enabled) {
		pr_info("the CPU's SVM has no nested paging: shadow paging\n");
		npt_enabled = false;
	}
	kvm_shadow_paging = !npt_enabled;
	svm_nrips = edx & SVM_FEATURE_NRIPS;
	svm_clean_init();
	svm_flush_by_asid = edx & SVM_FEATURE_FLUSH_BY_ASID;
	svm_nr_asids = cpuid_ebx(CPUID_SVM_FEATURES);
	if (svm_nr_asids < 2) {
		pr_err("the CPU's SVM offers no guest ASID\n");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int svm_hardware_setup(void)
{
	int r;

	r = svm_check_support();
	if (r)
		return r;

	/* Every port exits: PIO devices all live in userspace for now. */
	iopm_va = __get_free_pages(GFP_KERNEL, IOPM_ORDER);
	if (!iopm_va)
		return -ENOMEM;
	memset((void *)iopm_va, 0xff, PAGE_SIZE << IOPM_ORDER);
	iopm_pa = __pa(iopm_va);

	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "ukvm/svm:online",
			      svm_cpu_online, svm_cpu_offline);
	if (r < 0) {
		free_pages(iopm_va, IOPM_ORDER);
		return r;
	}
	svm_hp_state = r;
	cpu_emergency_register_virt_callback(svm_emergency_disable);
	return 0;
}

static void svm_hardware_unsetup(void)
{
	cpu_emergency_unregister_virt_callback(svm_emergency_disable);
	cpuhp_remove_state(svm_hp_state);
	free_pages(iopm_va, IOPM_ORDER);
}

static bool svm_has_nrips(void)
{
	return svm_nrips;
}

/* ---- the VMCB -------------------------------------------------------- */

/*
 * Intercept reads and/or writes of an MSR: two bits per MSR, read then
 * write, in one of three 2 KiB ranges (APM vol 2, 15.11, table 15-5).
 */
static void svm_set_msr_intercept(void *msrpm, u32 msr, bool read, bool write)
{
	u32 base, offset;
	u8 *bits = msrpm, *byte;

	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 0x800;
	else if (msr >= 0xc0010000 && msr <= 0xc0011fff)
		base = 0x1000;
	else
		return;
	offset = (msr & 0x1fff) * 2;
	byte = &bits[base + offset / 8];
	*byte &= ~(3 << (offset % 8));
	*byte |= ((read ? 1 : 0) | (write ? 2 : 0)) << (offset % 8);
}

static const u32 svm_direct_msrs[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/* MSRs the VMCB holds go straight to the guest unless the filter denies. */
static void svm_msr_filter_changed(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	int i;

	for (i = 0; i < ARRAY_SIZE(svm_direct_msrs); i++) {
		u32 msr = svm_direct_msrs[i];

		svm_set_msr_intercept(svm->msrpm, msr,
			!kvm_msr_allowed(vcpu, msr, KVM_MSR_FILTER_READ),
			!kvm_msr_allowed(vcpu, msr, KVM_MSR_FILTER_WRITE));
	}
}

static void svm_init_intercepts(struct vmcb_control_area *c)
{
	/* #UD: VMCALL is turned into VMMCALL (hypercall.c). */
	c->intercepts[INTERCEPT_WORD_EXC] = BIT(AC_VECTOR) | BIT(DB_VECTOR) |
					    BIT(UD_VECTOR);
	c->intercepts[INTERCEPT_WORD_3] = INTERCEPT_INTR | INTERCEPT_NMI |
		INTERCEPT_SMI | INTERCEPT_INIT | INTERCEPT_RDPMC |
		INTERCEPT_CPUID | INTERCEPT_RSM | INTERCEPT_INVD |
		INTERCEPT_HLT | INTERCEPT_INVLPGA | INTERCEPT_IOIO_PROT |
		INTERCEPT_MSR_PROT | INTERCEPT_TASK_SWITCH |
		INTERCEPT_SHUTDOWN;
	c->intercepts[INTERCEPT_WORD_4] = INTERCEPT_VMRUN | INTERCEPT_VMMCALL |
		INTERCEPT_VMLOAD | INTERCEPT_VMSAVE | INTERCEPT_STGI |
		INTERCEPT_CLGI | INTERCEPT_SKINIT | INTERCEPT_WBINVD |
		INTERCEPT_MONITOR | INTERCEPT_MWAIT | INTERCEPT_XSETBV |
		INTERCEPT_RDPRU;
}

void svm_set_intercept_dr(struct vcpu_svm *svm, bool on)
{
	svm->vmcb->control.intercepts[INTERCEPT_WORD_DR] = on ? ~0U : 0;
}

static void svm_init_seg(struct vmcb_seg *seg, u16 attrib)
{
	seg->selector = 0;
	seg->attrib = attrib;
	seg->limit = 0xffff;
	seg->base = 0;
}

/* The architectural RESET state (APM vol 2, 14.1.3, table 14-1). */
static void svm_init_save_area(struct vmcb_save_area *save)
{
	/* Present, S, read/write data, accessed. */
	svm_init_seg(&save->es, 0x93);
	svm_init_seg(&save->ss, 0x93);
	svm_init_seg(&save->ds, 0x93);
	svm_init_seg(&save->fs, 0x93);
	svm_init_seg(&save->gs, 0x93);
	/* Present, S, execute/read code, accessed. */
	svm_init_seg(&save->cs, 0x9b);
	save->cs.selector = 0xf000;
	save->cs.base = 0xffff0000;
	save->gdtr.limit = 0xffff;
	save->idtr.limit = 0xffff;
	svm_init_seg(&save->ldtr, 0x82);	/* present LDT */
	svm_init_seg(&save->tr, 0x8b);		/* present busy TSS */

	save->efer = EFER_SVME;
	save->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	save->dr6 = DR6_RESERVED;
	save->dr7 = DR7_FIXED_1;
	save->rflags = X86_EFLAGS_FIXED;
	save->rip = 0xfff0;
	save->g_pat = PAT_RESET;
}

void svm_init_vmcb(struct vcpu_svm *svm)
{
	struct vmcb *vmcb = svm->vmcb;
	struct vmcb_control_area *c = &vmcb->control;

	memset(vmcb, 0, sizeof(*vmcb));
	svm_init_intercepts(c);
	svm_set_intercept_dr(svm, true);
	svm->guest_debugregs = false;
	c->iopm_base_pa = iopm_pa;
	c->msrpm_base_pa = svm->msrpm_pa;
	/* The guest's IF masks only virtual interrupts, never the host's. */
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	svm_init_save_area(&vmcb->save);
	if (kvm_shadow_paging)
		svm_shadow_init_vmcb(svm);
	svm_update_exception_intercepts(svm->vcpu);
	svm->asid_generation = 0;	/* new ASID, new TLB on next entry */
}

static int svm_vcpu_create(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm;
	struct page *msrpm;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	svm->vmcb = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	msrpm = alloc_pages(GFP_KERNEL_ACCOUNT, MSRPM_ORDER);
	if (!svm->vmcb || !msrpm) {
		free_page((unsigned long)svm->vmcb);
		if (msrpm)
			__free_pages(msrpm, MSRPM_ORDER);
		kfree(svm);
		return -ENOMEM;
	}
	svm->msrpm = page_address(msrpm);
	memset(svm->msrpm, 0xff, MSRPM_SIZE);
	svm->msrpm_pa = __pa(svm->msrpm);
	svm->vmcb_pa = __pa(svm->vmcb);
	svm->vcpu = vcpu;
	svm->asid_cpu = -1;
	vcpu->arch.backend = svm;
	svm_msr_filter_changed(vcpu);
	svm_init_vmcb(svm);
	return 0;
}

static void svm_vcpu_free(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);

	free_page((unsigned long)svm->vmcb);
	free_pages((unsigned long)svm->msrpm, MSRPM_ORDER);
	kfree(svm);
	vcpu->arch.backend = NULL;
}

static void svm_vcpu_reset(struct kvm_vcpu *vcpu)
{
	svm_init_vmcb(to_svm(vcpu));
}

/* ---- guest entry ----------------------------------------------------- */

/*
 * ASIDs are handed out per physical CPU; a vCPU that moved, or whose CPU
 * recycled its ASIDs, gets a fresh one (APM vol 2, 15.16).
 */
static void svm_assign_asid(struct vcpu_svm *svm, struct svm_cpu_data *sd,
			    int cpu)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (svm->asid_cpu == cpu &&
	    svm->asid_generation == sd->asid_generation)
		return;
	if (sd->next_asid > sd->max_asid) {
		sd->asid_generation++;
		sd->next_asid = 1;
		c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	}
	c->asid = sd->next_asid++;
	svm->asid_cpu = cpu;
	svm->asid_generation = sd->asid_generation;
}

static void svm_flush_guest_tlb(struct kvm_vcpu *vcpu)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	if (c->tlb_ctl == TLB_CONTROL_FLUSH_ALL_ASID)
		return;
	c->tlb_ctl = svm_flush_by_asid ? TLB_CONTROL_FLUSH_ASID :
					 TLB_CONTROL_FLUSH_ALL_ASID;
}

static void svm_load_debugregs(const u64 *db)
{
	set_debugreg(db[0], 0);
	set_debugreg(db[1], 1);
	set_debugreg(db[2], 2);
	set_debugreg(db[3], 3);
}

static void svm_save_guest_debugregs(struct kvm_vcpu *vcpu)
{
	get_debugreg(vcpu->arch.db[0], 0);
	get_debugreg(vcpu->arch.db[1], 1);
	get_debugreg(vcpu->arch.db[2], 2);
	get_debugreg(vcpu->arch.db[3], 3);
}

static void svm_vcpu_run(struct kvm_vcpu *vcpu)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct svm_cpu_data *sd = this_cpu_ptr(&svm_data);
	struct vmcb *vmcb = svm->vmcb;
	unsigned long *regs = vcpu->arch.regs;
	int cpu = smp_processor_id();
	struct svm_shadow_regs guest_paging;
	bool dr_loaded, hw_bp;
	u64 guest_dr7 = 0;

	svm_assign_asid(svm, sd, cpu);
	/* The table of the memslot address space the vCPU is in (SMM's?). */
	vmcb->control.nested_cr3 = kvm_mmu_root_pa(vcpu);
	vmcb->control.tsc_offset = vcpu->arch.tsc_offset;
	vmcb->save.rax = regs[VCPU_REGS_RAX];
	vmcb->save.rsp = regs[VCPU_REGS_RSP];
	vmcb->save.rip = regs[VCPU_REGS_RIP];
	vmcb->save.cr2 = vcpu->arch.cr2;
	/* With V_INTR_MASKING the guest's CR8 is V_TPR (APM vol 2, 15.21.2). */
	vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) |
				(vcpu->arch.cr8 & 0xf);

	/*
	 * DR0-3 are the guest's once it used them or armed DR7 with them;
	 * a debugger's hardware breakpoints replace them and DR7 meanwhile
	 * (the guest's DR accesses are emulated then, see handle_dr_access).
	 */
	hw_bp = vcpu->arch.guest_debug & KVM_GUESTDBG_USE_HW_BP;
	if (hw_bp) {
		guest_dr7 = vmcb->save.dr7;
		vmcb->save.dr7 = vcpu->arch.dbg_dr7;
		svm_load_debugregs(vcpu->arch.dbg_db);
		dr_loaded = false;
	} else {
		dr_loaded = svm->guest_debugregs ||
			    (vmcb->save.dr7 & DR7_ENABLE_BITS);
		if (dr_loaded)
			svm_load_debugregs(vcpu->arch.db);
	}

	if (kvm_shadow_paging)
		svm_shadow_enter(svm, &guest_paging);
	vmcb->control.clean = svm_clean_before_run(svm, cpu);
	/*
	 * An SMI or NMI waits behind the event in EVENTINJ: exit as soon as
	 * it is delivered.  Interrupts are off, so a self-IPI stays pending
	 * through VMRUN and exits at the first guest instruction boundary,
	 * after the injection (APM vol 2, 15.20).
	 */
	if ((vmcb->control.event_inj & SVM_EVTINJ_VALID) &&
	    kvm_smi_nmi_waiting(vcpu))
		smp_send_reschedule(cpu);
	asm volatile("clgi" ::: "memory");
	__svm_vcpu_run(svm->vmcb_pa, regs, sd->host_save_pa);
	asm volatile("stgi" ::: "memory");
	svm_clean_after_exit(svm, cpu);
	if (kvm_shadow_paging)
		svm_shadow_exit(svm, &guest_paging);

	if (dr_loaded)
		svm_save_guest_debugregs(vcpu);
	if (hw_bp)
		vmcb->save.dr7 = guest_dr7;
	/* Never leave the guest's breakpoints armed in the host. */
	if (dr_loaded || hw_bp || (vmcb->save.dr7 & DR7_ENABLE_BITS)) {
		if (hw_breakpoint_active())
			hw_breakpoint_restore();
		else
			set_debugreg(__this_cpu_read(cpu_dr7), 7);
	}

	regs[VCPU_REGS_RAX] = vmcb->save.rax;
	regs[VCPU_REGS_RSP] = vmcb->save.rsp;
	regs[VCPU_REGS_RIP] = vmcb->save.rip;
	vcpu->arch.cr2 = vmcb->save.cr2;
	vcpu->arch.cr8 = vmcb->control.int_ctl & 0xf;
	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	vmcb->control.event_inj = 0;
}

/* ---- state accessors ------------------------------------------------- */

static struct vmcb_seg *svm_seg(struct vcpu_svm *svm, int seg)
{
	struct vmcb_save_area *save = &svm->vmcb->save;

	switch (seg) {
	case VCPU_SREG_CS: return &save->cs;
	case VCPU_SREG_DS: return &save->ds;
	case VCPU_SREG_ES: return &save->es;
	case VCPU_SREG_FS: return &save->fs;
	case VCPU_SREG_GS: return &save->gs;
	case VCPU_SREG_SS: return &save->ss;
	case VCPU_SREG_TR: return &save->tr;
	default: return &save->ldtr;
	}
}

/* VMCB attrib packs descriptor bits 40-47 and 52-55 (APM vol 2, 15.5.1). */
#define SEG_ATTR_TYPE_MASK	0xf
#define SEG_ATTR_S		BIT(4)
#define SEG_ATTR_DPL_SHIFT	5
#define SEG_ATTR_P		BIT(7)
#define SEG_ATTR_AVL		BIT(8)
#define SEG_ATTR_L		BIT(9)
#define SEG_ATTR_DB		BIT(10)
#define SEG_ATTR_G		BIT(11)

static void svm_get_segment(struct kvm_vcpu *vcpu, struct kvm_segment *var,
			    int seg)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb_seg *s = svm_seg(svm, seg);
	u16 a = s->attrib;

	memset(var, 0, sizeof(*var));
	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->type = a & SEG_ATTR_TYPE_MASK;
	var->s = !!(a & SEG_ATTR_S);
	var->dpl = (a >> SEG_ATTR_DPL_SHIFT) & 3;
	var->present = !!(a & SEG_ATTR_P);
	var->avl = !!(a & SEG_ATTR_AVL);
	var->l = !!(a & SEG_ATTR_L);
	var->db = !!(a & SEG_ATTR_DB);
	var->g = !!(a & SEG_ATTR_G);
	var->unusable = !var->present;
	/* On AMD the CPL lives in the VMCB, not in SS.DPL (15.5.1). */
	if (seg == VCPU_SREG_SS)
		var->dpl = svm->vmcb->save.cpl;
}

static void svm_set_segment(struct kvm_vcpu *vcpu,
			    const struct kvm_segment *var, int seg)
{
	struct vcpu_svm *svm = to_svm(vcpu);
	struct vmcb_seg *s = svm_seg(svm, seg);
	u16 a = 0;

	s->base = var->base;
	s->limit = var->limit;
	s->selector = var->selector;
	if (!var->unusable && var->present) {
		a = (var->type & SEG_ATTR_TYPE_MASK) |
		    (var->s ? SEG_ATTR_S : 0) |
		    ((var->dpl & 3) << SEG_ATTR_DPL_SHIFT) | SEG_ATTR_P |
		    (var->avl ? SEG_ATTR_AVL : 0) |
		    (var->l ? SEG_ATTR_L : 0) |
		    (var->db ? SEG_ATTR_DB : 0) |
		    (var->g ? SEG_ATTR_G : 0);
	}
	s->attrib = a;
	if (seg == VCPU_SREG_SS)
		svm->vmcb->save.cpl = var->dpl & 3;
}

static int svm_get_cpl(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.cpl;
}

static void svm_get_dt(struct vmcb_seg *s, struct kvm_dtable *dt)
{
	memset(dt, 0, sizeof(*dt));
	dt->limit = s->limit;
	dt->base = s->base;
}

static void svm_set_dt(struct vmcb_seg *s, const struct kvm_dtable *dt)
{
	s->limit = dt->limit;
	s->base = dt->base;
}

static void svm_get_idt(struct kvm_vcpu *vcpu, struct kvm_dtable *dt)
{
	svm_get_dt(&to_svm(vcpu)->vmcb->save.idtr, dt);
}

static void svm_set_idt(struct kvm_vcpu *vcpu, const struct kvm_dtable *dt)
{
	svm_set_dt(&to_svm(vcpu)->vmcb->save.idtr, dt);
}

static void svm_get_gdt(struct kvm_vcpu *vcpu, struct kvm_dtable *dt)
{
	svm_get_dt(&to_svm(vcpu)->vmcb->save.gdtr, dt);
}

static void svm_set_gdt(struct kvm_vcpu *vcpu, const struct kvm_dtable *dt)
{
	svm_set_dt(&to_svm(vcpu)->vmcb->save.gdtr, dt);
}

static u64 *svm_cr(struct vcpu_svm *svm, int cr)
{
	switch (cr) {
	case 0: return &svm->vmcb->save.cr0;
	case 3: return &svm->vmcb->save.cr3;
	default: return &svm->vmcb->save.cr4;
	}
}

static u64 svm_get_cr(struct kvm_vcpu *vcpu, int cr)
{
	return *svm_cr(to_svm(vcpu), cr);
}

static void svm_set_cr(struct kvm_vcpu *vcpu, int cr, u64 val)
{
	*svm_cr(to_svm(vcpu), cr) = val;
}

/* EFER.SVME must be set while the guest runs; the guest never sees it. */
static u64 svm_get_efer(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.efer & ~EFER_SVME;
}

static void svm_set_efer(struct kvm_vcpu *vcpu, u64 efer)
{
	to_svm(vcpu)->vmcb->save.efer = efer | EFER_SVME;
}

static u64 svm_get_rflags(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->save.rflags;
}

static void svm_set_rflags(struct kvm_vcpu *vcpu, u64 rflags)
{
	to_svm(vcpu)->vmcb->save.rflags = rflags;
}

static u64 svm_get_dr(struct kvm_vcpu *vcpu, int dr)
{
	struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;

	return dr == 6 ? save->dr6 : save->dr7;
}

static void svm_set_dr(struct kvm_vcpu *vcpu, int dr, u64 val)
{
	struct vmcb_save_area *save = &to_svm(vcpu)->vmcb->save;

	if (dr == 6)
		save->dr6 = val;
	else
		save->dr7 = val;
}

static u32 svm_get_interrupt_shadow(struct kvm_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->control.int_state & SVM_INTERRUPT_SHADOW;
}

static void svm_set_interrupt_shadow(struct kvm_vcpu *vcpu, u32 shadow)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;

	if (shadow)
		c->int_state |= SVM_INTERRUPT_SHADOW;
	else
		c->int_state &= ~SVM_INTERRUPT_SHADOW;
}

static u64 *svm_msr_slot(struct vcpu_svm *svm, u32 index)
{
	struct vmcb_save_area *save = &svm->vmcb->save;

	switch (index) {
	case MSR_FS_BASE:		return &save->fs.base;
	case MSR_GS_BASE:		return &save->gs.base;
	case MSR_KERNEL_GS_BASE:	return &save->kernel_gs_base;
	case MSR_STAR:			return &save->star;
	case MSR_LSTAR:			return &save->lstar;
	case MSR_CSTAR:			return &save->cstar;
	case MSR_SYSCALL_MASK:		return &save->sfmask;
	case MSR_IA32_SYSENTER_CS:	return &save->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:	return &save->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:	return &save->sysenter_eip;
	case MSR_IA32_CR_PAT:		return &save->g_pat;
	default:			return NULL;
	}
}

static int svm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data)
{
	u64 *slot = svm_msr_slot(to_svm(vcpu), index);

	if (!slot)
		return -ENOENT;
	*data = *slot;
	return 0;
}

static int svm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	u64 *slot = svm_msr_slot(to_svm(vcpu), index);

	if (!slot)
		return -ENOENT;
	*slot = data;
	return 0;
}

const struct kvm_x86_ops svm_x86_ops = {
	.name			= "svm",
	.hardware_setup		= svm_hardware_setup,
	.hardware_unsetup	= svm_hardware_unsetup,
	.has_nrips		= svm_has_nrips,
	.vcpu_create		= svm_vcpu_create,
	.vcpu_free		= svm_vcpu_free,
	.vcpu_reset		= svm_vcpu_reset,
	.run			= svm_vcpu_run,
	.handle_exit		= svm_handle_exit,
	.get_segment		= svm_get_segment,
	.set_segment		= svm_set_segment,
	.get_cpl		= svm_get_cpl,
	.get_idt		= svm_get_idt,
	.set_idt		= svm_set_idt,
	.get_gdt		= svm_get_gdt,
	.set_gdt		= svm_set_gdt,
	.get_cr			= svm_get_cr,
	.set_cr			= svm_set_cr,
	.get_efer		= svm_get_efer,
	.set_efer		= svm_set_efer,
	.get_rflags		= svm_get_rflags,
	.set_rflags		= svm_set_rflags,
	.get_dr			= svm_get_dr,
	.set_dr			= svm_set_dr,
	.get_interrupt_shadow	= svm_get_interrupt_shadow,
	.set_interrupt_shadow	= svm_set_interrupt_shadow,
	.get_msr		= svm_get_msr,
	.set_msr		= svm_set_msr,
	.inject_exception	= svm_inject_exception,
	.inject_irq		= svm_inject_irq,
	.event_pending		= svm_event_pending,
	.get_injection		= svm_get_injection,
	.cancel_injection	= svm_cancel_injection,
	.interrupt_allowed	= svm_interrupt_allowed,
	.enable_irq_window	= svm_enable_irq_window,
	.inject_nmi		= svm_inject_nmi,
	.enable_nmi_window	= svm_enable_nmi_window,
	.set_iret_intercept	= svm_set_iret_intercept,
	.set_cr8_intercept	= svm_set_cr8_intercept,
	.update_exception_intercepts = svm_update_exception_intercepts,
	.msr_filter_changed	= svm_msr_filter_changed,
	.flush_guest_tlb	= svm_flush_guest_tlb,
};

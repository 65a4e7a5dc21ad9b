/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86 state embedded in the core's struct kvm and struct kvm_vcpu.
 * Hardware-specific state (the SVM control block) lives in the backend and
 * is reached only through struct kvm_x86_ops (x86.h).
 */
#ifndef UKVM_X86_KVM_ARCH_H
#define UKVM_X86_KVM_ARCH_H

#include <linux/spinlock.h>
#include <linux/wait.h>
#include <asm/fpu/types.h>

#define KVM_ARCH_MAX_VCPUS	256
#define KVM_ARCH_MAX_VCPU_IDS	1024
#define KVM_MAX_MCE_BANKS	32	/* KVM_CAP_MCE */
/* Address space 1 is what a vCPU in System Management Mode sees (smm.c). */
#define KVM_ARCH_ADDRESS_SPACE_NUM	2

/* Indices into kvm_vcpu_arch.regs[], in the hardware's encoding order. */
enum kvm_reg {
	VCPU_REGS_RAX, VCPU_REGS_RCX, VCPU_REGS_RDX, VCPU_REGS_RBX,
	VCPU_REGS_RSP, VCPU_REGS_RBP, VCPU_REGS_RSI, VCPU_REGS_RDI,
	VCPU_REGS_R8, VCPU_REGS_R9, VCPU_REGS_R10, VCPU_REGS_R11,
	VCPU_REGS_R12, VCPU_REGS_R13, VCPU_REGS_R14, VCPU_REGS_R15,
	VCPU_REGS_RIP,
	NR_VCPU_REGS
};

/* vCPU request bits (struct kvm_vcpu.requests). */
enum {
	KVM_REQ_TLB_FLUSH,	/* guest translations changed: flush ASID */
	KVM_REQ_EVENT,		/* re-evaluate interrupts (irq.c) */
	KVM_REQ_MSR_FILTER_CHANGED, /* recompute the MSR intercepts */
	KVM_REQ_CLOCK_UPDATE,	/* rewrite the guest's kvmclock (pvclock.c) */
	KVM_REQ_TLB_FLUSH_CR3,	/* MOV to CR3: flush all but global pages */
	KVM_REQ_SMI,		/* an SMI arrived from the local APIC (smm.c) */
};

/* The nested page table root and what protects it. */
struct kvm_mmu {
	spinlock_t lock;	/* protects every NPT entry and the root */
	u64 *root;		/* top-level table (PML4), NULL until the first fault */
	u64 root_pa;
};

/*
 * kvmclock and TSC matching (pvclock.c).  kvmclock is one VM-wide clock:
 * @master_ns at host TSC @master_tsc, advancing with the host TSC.
 */
struct kvm_arch_clock {
	spinlock_t lock;	/* protects every field below */
	u64 master_tsc;
	u64 master_ns;
	u64 wall_clock_msr;	/* MSR_KVM_WALL_CLOCK(_NEW) as last written */
	/* The last TSC value a VMM wrote, to give matching writes one offset. */
	bool tsc_written;
	u64 last_tsc_write;	/* the guest TSC value written */
	u64 last_tsc_host;	/* the host TSC at that moment */
	u64 last_tsc_offset;
};

/* The paravirtual interfaces a guest enabled through KVM's MSRs. */
struct kvm_vcpu_pv {
	u64 system_time_msr;	/* MSR_KVM_SYSTEM_TIME(_NEW) as written */
	u32 pvclock_version;	/* of the record we write */
	bool guest_stopped;	/* KVM_KVMCLOCK_CTRL: tell the next update */
	u64 steal_msr;		/* MSR_KVM_STEAL_TIME */
	u64 last_steal;		/* run_delay already accounted */
	bool last_steal_valid;
	u64 pv_eoi_msr;		/* MSR_KVM_PV_EOI_EN */
	bool pv_unhalted;	/* KVM_HC_KICK_CPU arrived: HLT ends */
	bool enforce_cpuid;	/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID */
	u64 poll_control;	/* MSR_KVM_POLL_CONTROL: bit 0 = host may poll */
};

struct kvm_x86_irqchip;
struct kvm_msr_filter_set;
struct kvm_pit;
struct kvm_lapic;
struct kvm_shadow_mmu;
struct kvm_hv;
struct kvm_vcpu_hv;
struct kvm_shadow_vm;

struct kvm_arch {
	/* One nested page table per memslot address space; @mmu is the first. */
	union {
		struct kvm_mmu mmu;
		struct kvm_mmu as_mmu[KVM_ARCH_ADDRESS_SPACE_NUM];
	};
	/* KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2 (irq.c, i8254.c). */
	struct kvm_x86_irqchip *irqchip;
	struct kvm_pit *pit;
	u64 tss_addr;
	u64 identity_map_addr;
	u32 bsp_vcpu_id;
	u32 user_space_msr_mask;	/* KVM_MSR_EXIT_REASON_* sent to userspace */
	struct kvm_msr_filter_set __rcu *msr_filter;
	u32 max_vcpu_ids;	/* KVM_CAP_MAX_VCPU_ID as enabled, 0 = default */
	u32 n_mmu_pages;	/* KVM_SET_NR_MMU_PAGES: the shadow MMU's bound */
	/* npt=0: the shadow pages (mmu/shadow_cache.h), made on first entry. */
	struct kvm_shadow_vm *shadow;
	struct kvm_arch_clock clock;
	/* KVM_CAP_SPLIT_IRQCHIP: local APICs only, the rest in userspace. */
	bool irqchip_split;
	u32 nr_reserved_ioapic_pins;
	struct kvm_hv *hyperv;		/* Hyper-V partition state (hyperv.c) */
	/* KVM_CAP_MSR_PLATFORM_INFO disabled: guest reads of it #GP. */
	bool platform_info_hidden;
};

struct kvm_queued_exception {
	bool pending;
	bool has_error_code;
	u8 vector;
	u32 error_code;
};

/* A PIO exit in flight: completed on the next KVM_RUN. */
struct kvm_pio_request {
	u16 port;
	u8 size;
	u8 in;
	u32 count;		/* elements in this exit */
	bool cached;		/* INS: pio_data holds elements from @pos on */
	u32 pos;
};

/*
 * MMIO accesses of the instruction being emulated.  A page-crossing access
 * is split in fragments, each its own exit: reads answered by userspace are
 * kept until the instruction completes (it is emulated again from scratch
 * after each one), writes are queued and go out one exit at a time.
 */
#define KVM_MMIO_MAX_FRAGS	4

struct kvm_mmio_frag {
	gpa_t gpa;
	u8 len;
	u8 data[8];
};

struct kvm_mmio_request {
	struct kvm_mmio_frag rd[KVM_MMIO_MAX_FRAGS];
	u8 nr_rd;		/* answered reads */
	struct kvm_mmio_frag wr[KVM_MMIO_MAX_FRAGS];
	u8 nr_wr;		/* queued writes */
	u8 wr_pos;		/* the write userspace has now */
	struct kvm_mmio_frag pending;	/* the read userspace has now */
};

/*
 * System Management Mode (smm.c).  Only the vCPU's own thread changes it
 * (its run loop and ioctls); other CPUs post SMIs with KVM_REQ_SMI.
 */
struct kvm_vcpu_smm {
	bool in_smm;		/* memslot address space 1 is in force */
	bool inside_nmi;	/* entered with NMIs blocked: RSM keeps them so */
	bool smi_pending;	/* taken at the next instruction boundary */
	u64 smbase;		/* MSR_IA32_SMBASE */
};

struct kvm_cpuid_entry2;
struct kvm_vcpu;

struct kvm_vcpu_arch {
	unsigned long regs[NR_VCPU_REGS];
	u64 cr2;
	u64 cr8;
	u64 apic_base;
	u64 xcr0;

	/* Where to resume after a userspace exit, and the saved request. */
	int (*complete_userspace_io)(struct kvm_vcpu *vcpu);
	u64 pio_next_rip;
	u64 msr_next_rip;	/* RDMSR/WRMSR exit: where to resume */
	u64 pio_rip;
	struct kvm_pio_request pio;
	struct kvm_mmio_request mmio;
	bool emul_exit;		/* the emulator filled kvm_run for an exit */
	u8 emul_io;		/* enum kvm_emul_io: what that exit waits for */

	struct kvm_queued_exception exception;
	/* KVM_INTERRUPT: delivered on the next entry, whatever RFLAGS.IF. */
	struct {
		bool injected;
		u8 nr;
	} interrupt;

	u32 guest_debug;	/* KVM_GUESTDBG_* in force */
	bool tf_by_debugger;	/* RFLAGS.TF is ours, not the guest's */

	struct kvm_cpuid_entry2 *cpuid_entries;
	int cpuid_nent;

	u64 tsc_offset;
	u32 tsc_khz;
	u64 tsc_aux;
	u64 misc_enable;
	u64 tsc_adjust;
	u64 arch_capabilities;
	u64 platform_info;	/* MSR_PLATFORM_INFO (msr.c) */
	u64 misc_features;	/* MSR_MISC_FEATURES_ENABLES (CPUID faulting) */
	u64 mtrr_deftype;
	u64 mtrr_fixed[11];
	u64 mtrr_var[16];	/* base/mask pairs, 8 ranges */
	u64 plain_msrs[32];	/* WR_KEEP values of msr.c's plain_msrs[] */
	/* Machine-check MSRs (mce.c): CTL, STATUS, ADDR, MISC per bank. */
	u64 mcg_cap;
	u64 mcg_ctl;
	u64 mcg_status;
	u64 mce_banks[KVM_MAX_MCE_BANKS * 4];

	u64 db[4];		/* guest DR0-3 */
	/* KVM_GUESTDBG_USE_HW_BP: the debugger's DR0-3 and DR7, in force
	 * instead of the guest's while it is set. */
	u64 dbg_db[4];
	u64 dbg_dr7;
	u64 dr6;
	u64 dr7;

	struct fpu_guest guest_fpu;

	/* Page-table pages for the next nested page fault (mmu/npt.c). */
	void *npt_cache[3];
	int npt_cache_n;
	/* The shadow page tables with npt=0 (mmu/shadow.c), else NULL. */
	struct kvm_shadow_mmu *shadow;

	/* In-kernel irqchip state (irq.c, lapic.c). */
	struct kvm_lapic *apic;	/* NULL without KVM_CREATE_IRQCHIP */
	u32 mp_state;		/* KVM_MP_STATE_*: the vCPU thread's */
	wait_queue_head_t wq;	/* a halted vCPU sleeps here */
	atomic_t nmi_pending;	/* NMIs not yet injected */
	bool nmi_masked;	/* an NMI handler runs until its IRET */
	bool nmi_iret;		/* that IRET exited: unmask once past it */
	u64 nmi_iret_rip;

	struct kvm_vcpu_pv pv;	/* kvm_para.c, pvclock.c */
	struct kvm_vcpu_smm smm;
	struct kvm_vcpu_hv *hyperv;	/* Hyper-V state (hyperv.c) */

	void *backend;		/* hardware-specific vCPU state */
};

#endif /* UKVM_X86_KVM_ARCH_H */

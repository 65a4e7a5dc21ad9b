/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * System Management Mode for AMD guests (smm.c): SMIs, SMM entry through
 * the AMD64 state-save area, RSM, and the SMM memslot address space.
 */
#ifndef UKVM_X86_SMM_H
#define UKVM_X86_SMM_H

#include "x86.h"

/* SMBASE after RESET (APM vol 2, 10.2.3); INIT keeps it. */
#define KVM_SMBASE_DEFAULT	0x30000
/* The state-save area ends SMBASE + 64 KiB (APM vol 2, 10.2.3, 10.2.4). */
#define KVM_SMRAM_SAVE_OFFSET	0xfe00
/* The handler's entry point: CS base SMBASE, IP 8000h (APM vol 2, 10.3.2). */
#define KVM_SMM_ENTRY_IP	0x8000

/* A segment in the AMD64 save-state format (attributes: see smm.c). */
struct kvm_smm_seg {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
} __packed;

/*
 * The AMD64 SMM state-save area at SMBASE + FE00h (APM vol 2, table 10-2).
 * KVM's own uses of reserved bytes are kept where upstream keeps them:
 * the interrupt shadow at FECBh.
 */
struct kvm_smram_amd64 {
	struct kvm_smm_seg es, cs, ss, ds, fs, gs;	/* FE00h */
	struct kvm_smm_seg gdtr, ldtr, idtr, tr;	/* FE60h */
	u64 io_restart_rip;				/* FEA0h */
	u64 io_restart_rcx;
	u64 io_restart_rsi;
	u64 io_restart_rdi;
	u32 io_restart_dword;				/* FEC0h */
	u32 reserved1;
	u8 io_restart;					/* FEC8h */
	u8 auto_halt_restart;
	u8 nmi_mask;
	u8 int_shadow;
	u32 reserved2;
	u64 efer;					/* FED0h */
	u64 svm_guest;
	u64 svm_guest_vmcb_pa;
	u64 svm_guest_vintr;
	u32 reserved3[3];				/* FEF0h */
	u32 smm_revision;				/* FEFCh */
	u32 smbase;					/* FF00h */
	u32 reserved4[5];
	u64 ssp;					/* FF18h */
	u64 svm_guest_pat;
	u64 svm_host_efer;
	u64 svm_host_cr4;
	u64 svm_nested_cr3;
	u64 svm_host_cr0;
	u64 cr4;					/* FF48h */
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;					/* FF70h */
	u64 rip;
	u64 gprs[16];			/* FF80h: R15 first, RAX last */
} __packed;

/*
 * SMM revision identifier: AMD64 save-state format 64h, bit 17 = SMBASE
 * relocation supported (APM vol 2, 10.2.5).
 */
#define KVM_SMM_REVISION_AMD64	0x00020064

/* A segment in the legacy format: descriptor-style flags, limit, base. */
struct kvm_smm_seg32 {
	u32 flags;
	u32 limit;
	u32 base;
} __packed;

/*
 * The legacy (32-bit) state-save area at SMBASE + FE00h, for a guest
 * without long mode in CPUID, as upstream KVM lays it out (SDM vol 3,
 * table 34-3, with the selectors and descriptor caches where KVM puts
 * them; the interrupt shadow at FF1Ah).
 */
struct kvm_smram_legacy {
	u8 reserved1[0xf8];
	u32 smbase;					/* FEF8h */
	u32 smm_revision;				/* FEFCh */
	u16 io_restart;					/* FF00h */
	u16 auto_halt_restart;
	u32 io_restart_edi;
	u32 io_restart_ecx;
	u32 io_restart_esi;
	u32 io_restart_eip;
	u32 cr4;					/* FF14h */
	u16 reserved2;
	u8 int_shadow;					/* FF1Ah */
	u8 reserved3[17];
	struct kvm_smm_seg32 ds, fs, gs;		/* FF2Ch */
	struct kvm_smm_seg32 idtr, tr;			/* FF50h */
	u32 reserved4;
	struct kvm_smm_seg32 gdtr, ldtr;		/* FF6Ch */
	struct kvm_smm_seg32 es, cs, ss;		/* FF84h */
	u32 sel[6];			/* FFA8h: ES, CS, SS, DS, FS, GS */
	u32 ldtr_sel;
	u32 tr_sel;
	u32 dr7;					/* FFC8h */
	u32 dr6;
	u32 gprs[8];			/* FFD0h: EAX first */
	u32 eip;					/* FFF0h */
	u32 eflags;
	u32 cr3;
	u32 cr0;
} __packed;

#define KVM_SMM_REVISION_LEGACY	0x00020000

bool kvm_smm_supported(void);
void kvm_smm_vcpu_reset(struct kvm_vcpu *vcpu, bool init);
long kvm_vcpu_ioctl_smi(struct kvm_vcpu *vcpu);
/* The local APIC accepted an SMI (any context); false if SMM is absent. */
bool kvm_smm_post_smi(struct kvm_vcpu *vcpu);
/* Before entry: fold KVM_REQ_SMI into the pending SMI. */
void kvm_smm_check_request(struct kvm_vcpu *vcpu);
/* Before entry: take a pending SMI; EXIT_RESUME or a shutdown exit. */
int kvm_smm_inject(struct kvm_vcpu *vcpu);
/* Does a pending SMI end a HLT? */
bool kvm_smm_wakes(struct kvm_vcpu *vcpu);
bool kvm_smi_nmi_waiting(struct kvm_vcpu *vcpu);
/* INIT waits while the vCPU is in SMM (APM vol 2, 10.3.3). */
bool kvm_smm_blocks_init(struct kvm_vcpu *vcpu);
int kvm_emulate_rsm(struct kvm_vcpu *vcpu);

/* KVM_GET/SET_VCPU_EVENTS and KVM_SET_MP_STATE. */
void kvm_smm_get_events(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *e);
int kvm_smm_check_events(struct kvm_vcpu *vcpu,
			 const struct kvm_vcpu_events *e);
void kvm_smm_set_events(struct kvm_vcpu *vcpu,
			const struct kvm_vcpu_events *e);
bool kvm_smm_blocks_mp_state(struct kvm_vcpu *vcpu, u32 mp_state);

/* MSR_IA32_SMBASE; -ENOENT for other MSRs. */
int kvm_smm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvm_smm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host);

#endif /* UKVM_X86_SMM_H */

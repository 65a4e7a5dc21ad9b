/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtual machine control block, from AMD64 APM vol 2, appendix B
 * ("Layout of VMCB"), and the SVM exit codes (appendix C).  Offsets are
 * checked at build time in svm.c.
 */
#ifndef UKVM_SVM_VMCB_H
#define UKVM_SVM_VMCB_H

#include <linux/types.h>

/* Intercept vector words (APM vol 2, table B-1, offsets 0x00-0x14). */
enum {
	INTERCEPT_WORD_CR,	/* 15:0 reads, 31:16 writes */
	INTERCEPT_WORD_DR,	/* 15:0 reads, 31:16 writes */
	INTERCEPT_WORD_EXC,	/* one bit per exception vector */
	INTERCEPT_WORD_3,
	INTERCEPT_WORD_4,
	INTERCEPT_WORD_5,
	NR_INTERCEPT_WORDS
};

/* Word 3 (offset 0x0c). */
#define INTERCEPT_INTR		BIT(0)
#define INTERCEPT_NMI		BIT(1)
#define INTERCEPT_SMI		BIT(2)
#define INTERCEPT_INIT		BIT(3)
#define INTERCEPT_VINTR		BIT(4)
#define INTERCEPT_RDPMC		BIT(15)
#define INTERCEPT_CPUID		BIT(18)
#define INTERCEPT_IRET		BIT(20)
#define INTERCEPT_RSM		BIT(19)
#define INTERCEPT_INVD		BIT(22)
#define INTERCEPT_PAUSE		BIT(23)
#define INTERCEPT_HLT		BIT(24)
#define INTERCEPT_INVLPGA	BIT(26)
#define INTERCEPT_IOIO_PROT	BIT(27)
#define INTERCEPT_MSR_PROT	BIT(28)
#define INTERCEPT_TASK_SWITCH	BIT(29)
#define INTERCEPT_SHUTDOWN	BIT(31)

/* Word 4 (offset 0x10). */
#define INTERCEPT_VMRUN		BIT(0)
#define INTERCEPT_VMMCALL	BIT(1)
#define INTERCEPT_VMLOAD	BIT(2)
#define INTERCEPT_VMSAVE	BIT(3)
#define INTERCEPT_STGI		BIT(4)
#define INTERCEPT_CLGI		BIT(5)
#define INTERCEPT_SKINIT	BIT(6)
#define INTERCEPT_RDTSCP	BIT(7)
#define INTERCEPT_ICEBP		BIT(8)
#define INTERCEPT_WBINVD	BIT(9)
#define INTERCEPT_MONITOR	BIT(10)
#define INTERCEPT_MWAIT		BIT(11)
#define INTERCEPT_MWAIT_COND	BIT(12)
#define INTERCEPT_XSETBV	BIT(13)
#define INTERCEPT_RDPRU		BIT(14)

/* int_ctl (offset 0x60). */
#define V_TPR_MASK		0xffULL
#define V_IRQ_MASK		BIT_ULL(8)
#define V_INTR_PRIO_SHIFT	16
#define V_INTR_PRIO_MASK	(0xfULL << V_INTR_PRIO_SHIFT)
#define V_IGN_TPR_MASK		BIT_ULL(20)
#define V_INTR_MASKING_MASK	BIT_ULL(24)

/* int_state (offset 0x68). */
#define SVM_INTERRUPT_SHADOW	BIT_ULL(0)

/* tlb_ctl (offset 0x5c). */
#define TLB_CONTROL_DO_NOTHING		0
#define TLB_CONTROL_FLUSH_ALL_ASID	1
#define TLB_CONTROL_FLUSH_ASID		3

/* nested_ctl (offset 0x90). */
#define SVM_NESTED_CTL_NP_ENABLE	BIT_ULL(0)

/* event_inj and exit_int_info (APM vol 2, 15.20). */
#define SVM_EVTINJ_VEC_MASK		0xffULL
#define SVM_EVTINJ_TYPE_SHIFT		8
#define SVM_EVTINJ_TYPE_INTR		(0ULL << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_NMI		(2ULL << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_EXEPT		(3ULL << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_SOFT		(4ULL << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_TYPE_MASK		(7ULL << SVM_EVTINJ_TYPE_SHIFT)
#define SVM_EVTINJ_VALID_ERR		BIT_ULL(11)
#define SVM_EVTINJ_VALID		BIT_ULL(31)

/* IOIO intercept EXITINFO1 (APM vol 2, 15.10.2, figure 15-2). */
#define SVM_IOIO_TYPE_IN	BIT(0)
#define SVM_IOIO_STR		BIT(2)
#define SVM_IOIO_REP		BIT(3)
#define SVM_IOIO_SIZE_SHIFT	4
#define SVM_IOIO_SIZE_MASK	(7 << SVM_IOIO_SIZE_SHIFT)
#define SVM_IOIO_ASIZE_SHIFT	7
#define SVM_IOIO_ASIZE_MASK	(7 << SVM_IOIO_ASIZE_SHIFT)
#define SVM_IOIO_PORT_SHIFT	16

/* Exit codes (APM vol 2, appendix C). */
#define SVM_EXIT_READ_CR0	0x000
#define SVM_EXIT_WRITE_CR0	0x010
#define SVM_EXIT_WRITE_CR8	0x018
#define SVM_EXIT_READ_DR0	0x020
#define SVM_EXIT_WRITE_DR0	0x030
#define SVM_EXIT_EXCP_BASE	0x040
#define SVM_EXIT_INTR		0x060
#define SVM_EXIT_NMI		0x061
#define SVM_EXIT_SMI		0x062
#define SVM_EXIT_INIT		0x063
#define SVM_EXIT_VINTR		0x064
#define SVM_EXIT_RDTSC		0x06e
#define SVM_EXIT_RDPMC		0x06f
#define SVM_EXIT_CPUID		0x072
#define SVM_EXIT_RSM		0x073
#define SVM_EXIT_IRET		0x074
#define SVM_EXIT_INVD		0x076
#define SVM_EXIT_PAUSE		0x077
#define SVM_EXIT_HLT		0x078
#define SVM_EXIT_INVLPGA	0x07a
#define SVM_EXIT_IOIO		0x07b
#define SVM_EXIT_MSR		0x07c
#define SVM_EXIT_TASK_SWITCH	0x07d
#define SVM_EXIT_SHUTDOWN	0x07f
#define SVM_EXIT_VMRUN		0x080
#define SVM_EXIT_VMMCALL	0x081
#define SVM_EXIT_VMLOAD		0x082
#define SVM_EXIT_VMSAVE		0x083
#define SVM_EXIT_STGI		0x084
#define SVM_EXIT_CLGI		0x085
#define SVM_EXIT_SKINIT		0x086
#define SVM_EXIT_RDTSCP		0x087
#define SVM_EXIT_ICEBP		0x088
#define SVM_EXIT_WBINVD		0x089
#define SVM_EXIT_MONITOR	0x08a
#define SVM_EXIT_MWAIT		0x08b
#define SVM_EXIT_MWAIT_COND	0x08c
#define SVM_EXIT_XSETBV		0x08d
#define SVM_EXIT_RDPRU		0x08e
#define SVM_EXIT_NR_CODES	0x08f	/* table size for codes below NPF */
#define SVM_EXIT_NPF		0x400
#define SVM_EXIT_ERR		(-1ULL)	/* VMRUN consistency check failed */

/* NPF EXITINFO1: a #PF-style error code (APM vol 2, 15.25.6). */
#define NPF_PRESENT		BIT_ULL(0)
#define NPF_WRITE		BIT_ULL(1)
#define NPF_USER		BIT_ULL(2)
#define NPF_RSVD		BIT_ULL(3)
#define NPF_FETCH		BIT_ULL(4)

struct vmcb_seg {
	u16 selector;
	u16 attrib;
	u32 limit;
	u64 base;
} __packed;

struct vmcb_control_area {
	u32 intercepts[NR_INTERCEPT_WORDS];
	u8 reserved_1[0x3c - 0x18];
	u16 pause_filter_thresh;
	u16 pause_filter_count;
	u64 iopm_base_pa;
	u64 msrpm_base_pa;
	u64 tsc_offset;
	u32 asid;
	u8 tlb_ctl;
	u8 reserved_2[3];
	u64 int_ctl;
	u64 int_state;
	u64 exit_code;
	u64 exit_info_1;
	u64 exit_info_2;
	u64 exit_int_info;
	u64 nested_ctl;
	u64 avic_vapic_bar;
	u64 ghcb_gpa;
	u64 event_inj;
	u64 nested_cr3;
	u64 virt_ext;
	u32 clean;
	u32 reserved_3;
	u64 next_rip;
	u8 insn_len;
	u8 insn_bytes[15];
	u8 reserved_4[0x400 - 0xe0];
} __packed;

struct vmcb_save_area {
	struct vmcb_seg es, cs, ss, ds, fs, gs;
	struct vmcb_seg gdtr, ldtr, idtr, tr;
	u8 reserved_1[0xcb - 0xa0];
	u8 cpl;
	u32 reserved_2;
	u64 efer;
	u8 reserved_3[0x148 - 0xd8];
	u64 cr4;
	u64 cr3;
	u64 cr0;
	u64 dr7;
	u64 dr6;
	u64 rflags;
	u64 rip;
	u8 reserved_4[0x1d8 - 0x180];
	u64 rsp;
	u64 s_cet;
	u64 ssp;
	u64 isst_addr;
	u64 rax;
	u64 star;
	u64 lstar;
	u64 cstar;
	u64 sfmask;
	u64 kernel_gs_base;
	u64 sysenter_cs;
	u64 sysenter_esp;
	u64 sysenter_eip;
	u64 cr2;
	u8 reserved_5[0x268 - 0x248];
	u64 g_pat;
	u64 dbgctl;
	u64 br_from;
	u64 br_to;
	u64 last_excp_from;
	u64 last_excp_to;
} __packed;

struct vmcb {
	struct vmcb_control_area control;
	struct vmcb_save_area save;
} __packed;

#endif /* UKVM_SVM_VMCB_H */

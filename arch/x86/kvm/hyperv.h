/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hyper-V enlightenments (the Hyper-V Top-Level Functional Specification,
 * "TLFS", as upstream KVM serves it): the CPUID leaves 0x40000000.., the
 * synthetic MSRs, the hypercalls, the SynIC and its synthetic timers.
 * Numbers and layouts come from the kernel's <asm/hyperv-tlfs.h>.
 */
#ifndef UKVM_X86_HYPERV_H
#define UKVM_X86_HYPERV_H

#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/mutex.h>
#include <asm/hyperv-tlfs.h>

#include "x86.h"

/* Synthetic debugger leaves and MSRs (KVM's, not in hyperv-tlfs.h). */
#define HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS	0x40000080
#define HYPERV_CPUID_SYNDBG_INTERFACE			0x40000081
#define HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES	0x40000082
#define HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING	BIT(1)
#define HV_X64_MSR_SYNDBG_CONTROL		0x400000F1
#define HV_X64_MSR_SYNDBG_STATUS		0x400000F2
#define HV_X64_MSR_SYNDBG_SEND_BUFFER		0x400000F3
#define HV_X64_MSR_SYNDBG_RECV_BUFFER		0x400000F4
#define HV_X64_MSR_SYNDBG_PENDING_BUFFER	0x400000F5
#define HV_X64_MSR_SYNDBG_OPTIONS		0x400000FF
#define HV_X64_SYNDBG_OPTION_USE_HCALLS		BIT(2)

/* One synthetic timer (TLFS 12.4). */
struct kvm_hv_stimer {
	struct hrtimer timer;
	struct kvm_vcpu *vcpu;
	int index;
	union hv_stimer_config config;
	u64 count;		/* 100 ns units: period, or absolute expiry */
	u64 exp_time;		/* TIME_REF_COUNT of the armed expiry, 0 = not armed */
	bool msg_pending;	/* the expiry could not be delivered yet */
};

/* The SynIC of one vCPU (TLFS 11). */
struct kvm_hv_synic {
	bool active;		/* KVM_CAP_HYPERV_SYNIC(2) enabled */
	bool dont_zero_pages;	/* SYNIC2: SIMP/SIEFP pages are not cleared */
	u64 control;
	u64 evt_page;		/* SIEFP */
	u64 msg_page;		/* SIMP */
	atomic64_t sint[HV_SYNIC_SINT_COUNT];
};

/*
 * A userspace exit a guest MSR write asked for: taken before the next
 * entry, once the WRMSR has completed.
 */
enum {
	HV_EXIT_NONE,
	HV_EXIT_USER,		/* @exit holds a KVM_EXIT_HYPERV */
	HV_EXIT_RESET,		/* HV_X64_MSR_RESET */
	HV_EXIT_CRASH,		/* HV_X64_MSR_CRASH_CTL notify */
};

/* Per vCPU; every field is the vCPU thread's unless said otherwise. */
struct kvm_vcpu_hv {
	struct kvm_vcpu *vcpu;
	u32 vp_index;		/* HV_VP_INDEX_DEFAULT until a VMM sets it */
	bool enabled;		/* CPUID 0x40000001 EAX is "Hv#1" */
	bool enforce_cpuid;	/* KVM_CAP_HYPERV_ENFORCE_CPUID */
	/* The Hyper-V leaves of the guest's CPUID, as last set. */
	struct {
		u32 features_eax, features_ebx, features_edx;
		u32 enlightenments_eax, enlightenments_ebx;
		u32 syndbg_cap_eax;
	} cpuid;
	u64 vp_assist_page;
	s64 runtime_offset;	/* VP_RUNTIME minus the thread's runtime */
	struct kvm_hv_synic synic;
	struct kvm_hv_stimer stimer[HV_SYNIC_STIMER_COUNT];
	/* Timers whose state changed or expired: set from hrtimer context. */
	unsigned long stimer_pending;
	int pending_exit;
	struct kvm_hyperv_exit exit;
	unsigned long hcall_next_rip;	/* hypercall exit: where to resume */
};

/* Per VM: the partition-wide MSRs (under @lock) and the eventfds. */
struct kvm_hv {
	struct mutex lock;	/* protects the MSR values below */
	u64 guest_os_id;
	u64 hypercall;
	u64 tsc_ref;
	u32 tsc_sequence;	/* of the last valid TSC page written */
	/* The kvmclock and guest TSC offset that page was computed from. */
	u64 page_master_tsc, page_master_ns, page_tsc_offset;
	int page_writer;	/* vcpu_idx of the vCPU whose TSC it used */
	u64 crash_param[5];
	u64 crash_ctl;
	u64 reenlightenment_control;
	u64 tsc_emulation_control;
	u64 tsc_emulation_status;
	struct {
		u64 control, status, send_page, recv_page, pending_page;
		u64 options;
	} syndbg;
	struct mutex evt_lock;	/* serializes KVM_HYPERV_EVENTFD changes */
	struct idr conn_to_evt;	/* connection id -> eventfd ctx (RCU reads) */
};

static inline struct kvm_vcpu_hv *to_hv(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.hyperv;
}

static inline struct kvm_hv *to_kvm_hv(struct kvm *kvm)
{
	return kvm->arch.hyperv;
}

/*
 * HV_X64_MSR_VP_INDEX: by default, as upstream, the vCPU's creation index
 * (known only once the vCPU is published, after kvm_hv_vcpu_create).
 */
#define HV_VP_INDEX_DEFAULT	U32_MAX

static inline u32 hv_vp_index(struct kvm_vcpu *vcpu)
{
	u32 vp = vcpu->arch.hyperv->vp_index;

	return vp == HV_VP_INDEX_DEFAULT ? vcpu->vcpu_idx : vp;
}

/* The synthetic debugger is on (CPUID 0x40000082). */
static inline bool hv_syndbg_enabled(struct kvm_vcpu_hv *hv)
{
	return hv->cpuid.syndbg_cap_eax &
	       HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING;
}

/* hyperv.c */
int kvm_hv_init_vm(struct kvm *kvm);
void kvm_hv_destroy_vm(struct kvm *kvm);
int kvm_hv_vcpu_create(struct kvm_vcpu *vcpu);
void kvm_hv_vcpu_destroy(struct kvm_vcpu *vcpu);

long kvm_hv_check_extension(long ext);
long kvm_hv_get_supported_cpuid(struct kvm_vcpu *vcpu,
				struct kvm_cpuid2 __user *argp);
long kvm_hv_enable_cap(struct kvm_vcpu *vcpu, u32 cap, u64 arg0);
void kvm_hv_set_cpuid(struct kvm_vcpu *vcpu);

/* 0: done, 1: #GP, -ENOENT: not a Hyper-V MSR. */
int kvm_hv_get_msr(struct kvm_vcpu *vcpu, u32 msr, u64 *data, bool host);
int kvm_hv_set_msr(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host);

/* hyperv_hcall.c */
long kvm_hv_vm_ioctl_eventfd(struct kvm *kvm, void __user *argp);
bool kvm_hv_hypercall_enabled(struct kvm_vcpu *vcpu);
int kvm_hv_hypercall(struct kvm_vcpu *vcpu, unsigned long next_rip);

/* Before each entry and while halted, in the vCPU thread. */
int kvm_hv_before_entry(struct kvm_vcpu *vcpu);
void kvm_hv_process_timers(struct kvm_vcpu *vcpu);
bool kvm_hv_timers_pending(struct kvm_vcpu *vcpu);
/* The local APIC: an EOI of, or the acceptance of, a SINT vector. */
void kvm_hv_synic_eoi(struct kvm_vcpu *vcpu, int vector);
bool kvm_hv_synic_auto_eoi(struct kvm_vcpu *vcpu, int vector);
/* KVM_IRQ_ROUTING_HV_SINT: raise @sint on the vCPU with index @vcpu_id. */
int kvm_hv_synic_set_irq(struct kvm *kvm, u32 vcpu_id, u32 sint);

#endif /* UKVM_X86_HYPERV_H */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hyper-V hypercalls (TLFS 3): VMMCALL with the call code and counts in
 * RCX (64-bit) or EDX:EAX (32-bit), input and output GPAs or, for fast
 * calls, the input itself in RDX, R8 and XMM0-5.  hypercall.c sends a
 * guest here once it wrote GUEST_OS_ID; KVM_CAP_HYPERV_ENFORCE_CPUID
 * decides, as upstream, which calls its CPUID lets it make.  Also
 * KVM_HYPERV_EVENTFD, the eventfds HvSignalEvent signals.
 */
#include <linux/eventfd.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>

#include "hyperv.h"
#include "irq.h"
#include "kvm_para.h"

/* The largest sparse VP set a hypercall may name: 64 banks of 64. */
#define HV_MAX_SPARSE_BANKS	64

/* ---- KVM_HYPERV_EVENTFD ----------------------------------------------- */

long kvm_hv_vm_ioctl_eventfd(struct kvm *kvm, void __user *argp)
{
	struct kvm_hv *hv = to_kvm_hv(kvm);
	struct kvm_hyperv_eventfd args;
	struct eventfd_ctx *evt;
	int r;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if ((args.flags & ~KVM_HYPERV_EVENTFD_DEASSIGN) ||
	    (args.conn_id & ~KVM_HYPERV_CONN_ID_MASK))
		return -EINVAL;
	if (args.flags & KVM_HYPERV_EVENTFD_DEASSIGN) {
		mutex_lock(&hv->evt_lock);
		evt = idr_remove(&hv->conn_to_evt, args.conn_id);
		mutex_unlock(&hv->evt_lock);
		if (!evt)
			return -ENOENT;
		synchronize_rcu();
		eventfd_ctx_put(evt);
		return 0;
	}
	evt = eventfd_ctx_fdget(args.fd);
	if (IS_ERR(evt))
		return PTR_ERR(evt);
	mutex_lock(&hv->evt_lock);
	r = idr_alloc(&hv->conn_to_evt, evt, args.conn_id, args.conn_id + 1,
		      GFP_KERNEL_ACCOUNT);
	mutex_unlock(&hv->evt_lock);
	if (r >= 0)
		return 0;
	eventfd_ctx_put(evt);
	/* Upstream: a connection id already taken is -EEXIST. */
	return r == -ENOSPC ? -EEXIST : r;
}

/* ---- hypercalls (TLFS 3) ---------------------------------------------- */

struct hv_hcall {
	u64 param, ingpa, outgpa;
	u16 code;
	u16 var_cnt;
	u16 rep_cnt;
	u16 rep_idx;
	bool fast;
	bool rep;
	u64 xmm[HV_HYPERCALL_MAX_XMM_REGISTERS * 2];	/* fast input */
};

bool kvm_hv_hypercall_enabled(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);

	return hv && hv->enabled && READ_ONCE(to_kvm_hv(vcpu->kvm)->guest_os_id);
}

/* Upstream's table of which CPUID bit each hypercall needs. */
static bool hv_hcall_allowed(struct kvm_vcpu_hv *hv, u16 code)
{
	u32 enl = hv->cpuid.enlightenments_eax;

	if (!hv->enforce_cpuid)
		return true;
	switch (code) {
	case HVCALL_NOTIFY_LONG_SPIN_WAIT:
		return hv->cpuid.enlightenments_ebx &&
		       hv->cpuid.enlightenments_ebx != U32_MAX;
	case HVCALL_POST_MESSAGE:
		return hv->cpuid.features_ebx & HV_POST_MESSAGES;
	case HVCALL_SIGNAL_EVENT:
		return hv->cpuid.features_ebx & HV_SIGNAL_EVENTS;
	case HVCALL_POST_DEBUG_DATA:
	case HVCALL_RETRIEVE_DEBUG_DATA:
	case HVCALL_RESET_DEBUG_SESSION:
		/* Debugging off: the call does not exist (invalid code). */
		return !hv_syndbg_enabled(hv) ||
		       (hv->cpuid.features_ebx & HV_DEBUGGING);
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
		if (!(enl & HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED))
			return false;
		fallthrough;
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
		return enl & HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED;
	case HVCALL_SEND_IPI_EX:
		if (!(enl & HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED))
			return false;
		fallthrough;
	case HVCALL_SEND_IPI:
		return enl & HV_X64_CLUSTER_IPI_RECOMMENDED;
	}
	return true;
}

/* Hypercalls whose fast form takes its input in XMM0-5 too. */
static bool hv_hcall_xmm_input(u16 code)
{
	switch (code) {
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
	case HVCALL_SEND_IPI_EX:
		return true;
	}
	return false;
}

/*
 * The guest's XMM0-5.  Inside KVM_RUN the FPU registers hold the guest's
 * state (fpu_swap_kvm_fpstate), unless the thread was preempted since:
 * then they are reloaded first.
 */
static void hv_read_xmm(u64 *x)
{
	fpregs_lock();
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	asm volatile("movdqu %%xmm0, 0(%0)\n\t"
		     "movdqu %%xmm1, 16(%0)\n\t"
		     "movdqu %%xmm2, 32(%0)\n\t"
		     "movdqu %%xmm3, 48(%0)\n\t"
		     "movdqu %%xmm4, 64(%0)\n\t"
		     "movdqu %%xmm5, 80(%0)\n\t"
		     : : "r"(x) : "memory");
	fpregs_unlock();
}

/*
 * Input words of a hypercall after the fixed header of @hdr_words: from
 * guest memory, or for a fast call from RDX, R8 and the XMM registers.
 */
static int hv_hcall_read(struct kvm_vcpu *vcpu, struct hv_hcall *hc,
			 int offset_words, u64 *out, int nr_words)
{
	int i;

	if (!hc->fast)
		return kvm_pv_read_guest(vcpu->kvm, hc->ingpa + offset_words * 8,
					 out, nr_words * 8) ? -EFAULT : 0;
	for (i = 0; i < nr_words; i++) {
		int w = offset_words + i;

		if (w == 0)
			out[i] = hc->ingpa;
		else if (w == 1)
			out[i] = hc->outgpa;
		else if (w - 2 < ARRAY_SIZE(hc->xmm))
			out[i] = hc->xmm[w - 2];
		else
			return -EINVAL;
	}
	return 0;
}

/*
 * The vCPUs named by a processor mask (@sparse false: one 64-bit bank) or
 * a sparse VP set (TLFS 3.7.1: valid_bank_mask, then one word per valid
 * bank), by VP index, into @vcpus (indexed by vcpu_idx).
 */
static void hv_vp_set_to_vcpus(struct kvm *kvm, u64 valid_banks,
			       const u64 *banks, unsigned long *vcpus)
{
	struct kvm_vcpu *vcpu;
	int i;

	kvm_for_each_vcpu(i, vcpu, kvm) {
		u32 vp = hv_vp_index(vcpu);
		int bank = vp / 64;

		if (bank >= HV_MAX_SPARSE_BANKS || !(valid_banks & BIT_ULL(bank)))
			continue;
		/* Bank n's word is the n-th set bit's among valid banks. */
		if (banks[hweight64(valid_banks & (BIT_ULL(bank) - 1))] &
		    BIT_ULL(vp % 64))
			__set_bit(i, vcpus);
	}
}

/* Read a VP set (HV_GENERIC_SET_*) at input word @off into @vcpus. */
static u64 hv_read_vp_set(struct kvm_vcpu *vcpu, struct hv_hcall *hc, int off,
			  unsigned long *vcpus)
{
	u64 hdr[2], banks[HV_MAX_SPARSE_BANKS];

	if (hv_hcall_read(vcpu, hc, off, hdr, 2))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (hc->var_cnt != hweight64(hdr[1]))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (hdr[0] == HV_GENERIC_SET_ALL) {
		bitmap_fill(vcpus, KVM_MAX_VCPUS);
		return HV_STATUS_SUCCESS;
	}
	if (hdr[0] != HV_GENERIC_SET_SPARSE_4K)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (!hc->var_cnt)
		return HV_STATUS_SUCCESS;
	if (hv_hcall_read(vcpu, hc, off + 2, banks, hc->var_cnt))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	hv_vp_set_to_vcpus(vcpu->kvm, hdr[1], banks, vcpus);
	return HV_STATUS_SUCCESS;
}

static void hv_ack_ipi(void *info)
{
	/* Taking the IPI forced the vCPU out of the guest. */
}

/*
 * Flush the TLB of every vCPU in @vcpus and wait until none of them still
 * runs on translations from before the call.
 */
static void hv_flush_vcpus(struct kvm *kvm, const unsigned long *vcpus)
{
	struct kvm_vcpu *vcpu;
	cpumask_var_t cpus;
	int i, me, cpu;
	bool mask = zalloc_cpumask_var(&cpus, GFP_KERNEL);

	me = get_cpu();
	kvm_for_each_vcpu(i, vcpu, kvm) {
		if (!test_bit(i, vcpus))
			continue;
		kvm_make_request(KVM_REQ_TLB_FLUSH, vcpu);
		smp_mb__after_atomic();
		cpu = READ_ONCE(vcpu->cpu);
		if (mask && READ_ONCE(vcpu->mode) == IN_GUEST_MODE &&
		    cpu != me && cpu >= 0)
			cpumask_set_cpu(cpu, cpus);
	}
	if (mask)
		smp_call_function_many(cpus, hv_ack_ipi, NULL, 1);
	else
		smp_call_function(hv_ack_ipi, NULL, 1);
	put_cpu();
	if (mask)
		free_cpumask_var(cpus);
}

/*
 * HvFlushVirtualAddressSpace/List(Ex) (TLFS 3.7): the whole TLB of each
 * target is flushed, which covers any address list.  A rep call reports
 * all its reps done.
 */
static u64 hv_hcall_flush(struct kvm_vcpu *vcpu, struct hv_hcall *hc,
			  bool ex)
{
	DECLARE_BITMAP(vcpus, KVM_MAX_VCPUS);
	u64 hdr[3], r;

	bitmap_zero(vcpus, KVM_MAX_VCPUS);
	/* address_space, flags, then processor_mask or the VP set. */
	if (hv_hcall_read(vcpu, hc, 0, hdr, ex ? 2 : 3))
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (hdr[1] & HV_FLUSH_ALL_PROCESSORS) {
		bitmap_fill(vcpus, KVM_MAX_VCPUS);
	} else if (ex) {
		r = hv_read_vp_set(vcpu, hc, 2, vcpus);
		if (r != HV_STATUS_SUCCESS)
			return r;
	} else {
		hv_vp_set_to_vcpus(vcpu->kvm, BIT_ULL(0), &hdr[2], vcpus);
	}
	hv_flush_vcpus(vcpu->kvm, vcpus);
	return HV_STATUS_SUCCESS | ((u64)hc->rep_cnt << HV_HYPERCALL_REP_COMP_OFFSET);
}

/* HvCallSendSyntheticClusterIpi(Ex) (TLFS 10.5.2): fixed IPIs by VP index. */
static u64 hv_hcall_send_ipi(struct kvm_vcpu *vcpu, struct hv_hcall *hc,
			     bool ex)
{
	DECLARE_BITMAP(vcpus, KVM_MAX_VCPUS);
	struct kvm_vcpu *v;
	u64 hdr[2], r;
	u32 vector;
	int i;

	bitmap_zero(vcpus, KVM_MAX_VCPUS);
	if (ex) {
		if (hv_hcall_read(vcpu, hc, 0, hdr, 1))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		vector = (u32)hdr[0];
		r = hv_read_vp_set(vcpu, hc, 1, vcpus);
		if (r != HV_STATUS_SUCCESS)
			return r;
		/* An empty set sends nothing, whatever the vector. */
		if (bitmap_empty(vcpus, KVM_MAX_VCPUS))
			return HV_STATUS_SUCCESS;
	} else {
		/* Fast: the reserved upper half of the first word must be 0. */
		if (hc->fast && (hc->ingpa >> 32))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		if (hv_hcall_read(vcpu, hc, 0, hdr, 2))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		vector = (u32)hdr[0];
		hv_vp_set_to_vcpus(vcpu->kvm, BIT_ULL(0), &hdr[1], vcpus);
	}
	if (vector < HV_IPI_LOW_VECTOR || vector > HV_IPI_HIGH_VECTOR)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (!vcpu->arch.apic)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	kvm_for_each_vcpu(i, v, vcpu->kvm)
		if (test_bit(i, vcpus))
			kvm_lapic_deliver_fixed(v, vector);
	return HV_STATUS_SUCCESS;
}

/* HvSignalEvent (TLFS 11.10.2): an eventfd registered for the connection. */
static u64 hv_hcall_signal_event(struct kvm_vcpu *vcpu, struct hv_hcall *hc)
{
	struct kvm_hv *hv = to_kvm_hv(vcpu->kvm);
	struct eventfd_ctx *evt;
	u64 conn = hc->ingpa;

	if (!hc->fast) {
		if (!IS_ALIGNED(hc->ingpa, 8))
			return HV_STATUS_INVALID_ALIGNMENT;
		if (kvm_pv_read_guest(vcpu->kvm, hc->ingpa, &conn, 8))
			return HV_STATUS_INVALID_ALIGNMENT;
	}
	/* Bits 47:32 are the flag number: none is supported. */
	if (conn & 0xffff00000000ULL)
		return HV_STATUS_INVALID_PORT_ID;
	if (conn & ~(u64)KVM_HYPERV_CONN_ID_MASK)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	rcu_read_lock();
	evt = idr_find(&hv->conn_to_evt, conn);
	if (evt)
		eventfd_signal(evt, 1);
	rcu_read_unlock();
	return evt ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PORT_ID;
}

/* 64-bit mode: the 64-bit register convention (TLFS 3.6). */
static bool hv_hcall_64bit(struct kvm_vcpu *vcpu)
{
	struct kvm_segment cs;

	if (!kvm_is_long_mode(vcpu))
		return false;
	kvm_x86_ops->get_segment(vcpu, &cs, VCPU_SREG_CS);
	return cs.l;
}

static void hv_hcall_set_result(struct kvm_vcpu *vcpu, u64 result)
{
	if (hv_hcall_64bit(vcpu)) {
		kvm_reg_write(vcpu, VCPU_REGS_RAX, result);
	} else {
		kvm_reg_write(vcpu, VCPU_REGS_RDX, result >> 32);
		kvm_reg_write(vcpu, VCPU_REGS_RAX, (u32)result);
	}
}

/* KVM_RUN after a KVM_EXIT_HYPERV_HCALL: userspace's result, then on. */
static int hv_hcall_complete_user(struct kvm_vcpu *vcpu)
{
	hv_hcall_set_result(vcpu, vcpu->run->hyperv.u.hcall.result);
	return kvm_skip_instruction(vcpu, to_hv(vcpu)->hcall_next_rip);
}

static int hv_hcall_to_user(struct kvm_vcpu *vcpu, struct hv_hcall *hc,
			    unsigned long next_rip)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_HYPERV;
	memset(&run->hyperv, 0, sizeof(run->hyperv));
	run->hyperv.type = KVM_EXIT_HYPERV_HCALL;
	run->hyperv.u.hcall.input = hc->param;
	run->hyperv.u.hcall.params[0] = hc->ingpa;
	run->hyperv.u.hcall.params[1] = hc->outgpa;
	to_hv(vcpu)->hcall_next_rip = next_rip;
	vcpu->arch.complete_userspace_io = hv_hcall_complete_user;
	return EXIT_USER;
}

/* The registers of the calling convention (TLFS 3.6, 3.8). */
static void hv_hcall_decode(struct kvm_vcpu *vcpu, struct hv_hcall *hc)
{
	if (hv_hcall_64bit(vcpu)) {
		hc->param = kvm_reg_read(vcpu, VCPU_REGS_RCX);
		hc->ingpa = kvm_reg_read(vcpu, VCPU_REGS_RDX);
		hc->outgpa = kvm_reg_read(vcpu, VCPU_REGS_R8);
	} else {
		hc->param = ((u64)(u32)kvm_reg_read(vcpu, VCPU_REGS_RDX) << 32) |
			    (u32)kvm_reg_read(vcpu, VCPU_REGS_RAX);
		hc->ingpa = ((u64)(u32)kvm_reg_read(vcpu, VCPU_REGS_RBX) << 32) |
			    (u32)kvm_reg_read(vcpu, VCPU_REGS_RCX);
		hc->outgpa = ((u64)(u32)kvm_reg_read(vcpu, VCPU_REGS_RDI) << 32) |
			     (u32)kvm_reg_read(vcpu, VCPU_REGS_RSI);
	}
	hc->code = hc->param & 0xffff;
	hc->var_cnt = (hc->param & HV_HYPERCALL_VARHEAD_MASK) >>
		      HV_HYPERCALL_VARHEAD_OFFSET;
	hc->fast = !!(hc->param & HV_HYPERCALL_FAST_BIT);
	hc->rep_cnt = (hc->param >> HV_HYPERCALL_REP_COMP_OFFSET) & 0xfff;
	hc->rep_idx = (hc->param >> HV_HYPERCALL_REP_START_OFFSET) & 0xfff;
	hc->rep = hc->rep_cnt || hc->rep_idx;
}

static u64 hv_hcall_dispatch(struct kvm_vcpu *vcpu, struct hv_hcall *hc,
			     unsigned long next_rip, bool *user)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	u64 r;

	switch (hc->code) {
	case HVCALL_NOTIFY_LONG_SPIN_WAIT:
		if (hc->rep || hc->var_cnt)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		/*
		 * The spinning vCPU gives its host CPU away for a moment,
		 * maybe to the vCPU holding the lock.
		 */
		yield();
		return HV_STATUS_SUCCESS;
	case HVCALL_SIGNAL_EVENT:
		if (hc->rep || hc->var_cnt)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		r = hv_hcall_signal_event(vcpu, hc);
		if (r != HV_STATUS_INVALID_PORT_ID)
			return r;
		/* No eventfd for it: userspace may know the connection. */
		fallthrough;
	case HVCALL_POST_MESSAGE:
		if (hc->rep || hc->var_cnt || !hv->synic.active)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		*user = true;
		return hv_hcall_to_user(vcpu, hc, next_rip);
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
		if (!hc->rep_cnt || hc->rep_idx)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		return hv_hcall_flush(vcpu, hc,
			hc->code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX);
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
		if (hc->rep)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		return hv_hcall_flush(vcpu, hc,
			hc->code == HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX);
	case HVCALL_SEND_IPI:
		if (hc->rep)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		return hv_hcall_send_ipi(vcpu, hc, false);
	case HVCALL_SEND_IPI_EX:
		if (hc->fast || hc->rep)
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		return hv_hcall_send_ipi(vcpu, hc, true);
	case HVCALL_POST_DEBUG_DATA:
	case HVCALL_RETRIEVE_DEBUG_DATA:
		if (hc->fast)
			return HV_STATUS_INVALID_PARAMETER;
		fallthrough;
	case HVCALL_RESET_DEBUG_SESSION:
		if (!hv_syndbg_enabled(hv))
			return HV_STATUS_INVALID_HYPERCALL_CODE;
		if (!(to_kvm_hv(vcpu->kvm)->syndbg.options &
		      HV_X64_SYNDBG_OPTION_USE_HCALLS))
			return HV_STATUS_OPERATION_DENIED;
		*user = true;
		return hv_hcall_to_user(vcpu, hc, next_rip);
	}
	return HV_STATUS_INVALID_HYPERCALL_CODE;
}

/*
 * A Hyper-V hypercall (VMMCALL, or VMCALL rewritten by hypercall.c).
 * Returns what the exit handler returns; moves RIP to @next_rip unless a
 * fault was queued instead.
 */
int kvm_hv_hypercall(struct kvm_vcpu *vcpu, unsigned long next_rip)
{
	struct kvm_vcpu_hv *hv = to_hv(vcpu);
	struct hv_hcall hc = {};
	bool user = false;
	u64 r;

	/* #UD outside CPL 0 protected mode (TLFS 3.13). */
	if (kvm_x86_ops->get_cpl(vcpu) != 0 ||
	    !(kvm_x86_ops->get_cr(vcpu, 0) & X86_CR0_PE)) {
		kvm_queue_exception(vcpu, UD_VECTOR);
		return EXIT_RESUME;
	}
	hv_hcall_decode(vcpu, &hc);
	if (!hv_hcall_allowed(hv, hc.code)) {
		r = HV_STATUS_ACCESS_DENIED;
		goto done;
	}
	if (hc.param & HV_HYPERCALL_RSVD_MASK) {
		r = HV_STATUS_INVALID_HYPERCALL_INPUT;
		goto done;
	}
	if (hc.fast && hv_hcall_xmm_input(hc.code)) {
		/* XMM input not offered: #UD, as upstream. */
		if (hv->enforce_cpuid && !(hv->cpuid.features_edx &
					   HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE)) {
			kvm_queue_exception(vcpu, UD_VECTOR);
			return EXIT_RESUME;
		}
		hv_read_xmm(hc.xmm);
	}
	r = hv_hcall_dispatch(vcpu, &hc, next_rip, &user);
	if (user)
		return (int)r;
done:
	hv_hcall_set_result(vcpu, r);
	return kvm_skip_instruction(vcpu, next_rip);
}

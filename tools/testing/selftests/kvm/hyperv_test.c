// SPDX-License-Identifier: GPL-2.0
/*
 * Hyper-V enlightenments as a guest and its VMM see them: the capabilities
 * and KVM_GET_SUPPORTED_HV_CPUID, the hypercall page, TIME_REF_COUNT,
 * VP_INDEX, the rules of KVM_CAP_HYPERV_ENFORCE_CPUID for MSRs and
 * hypercalls, the reset and crash exits, a TLB flush and a cluster IPI by
 * hypercall, HvSignalEvent into an eventfd, HvPostMessage to userspace,
 * and synthetic timers delivering a SynIC message and a direct interrupt.
 * Numbers are the TLFS's (the kernel's <asm/hyperv-tlfs.h>).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "irqchip.h"

/* CPUID leaves and bits. */
#define HV_CPUID_VENDOR		0x40000000
#define HV_CPUID_INTERFACE	0x40000001
#define HV_CPUID_FEATURES	0x40000003
#define HV_CPUID_ENLIGHTMENT	0x40000004
#define HV_SIGNATURE_HV1	0x31237648	/* "Hv#1" */
#define HV_VP_RUNTIME_AVAIL	(1u << 0)
#define HV_TIME_REF_AVAIL	(1u << 1)
#define HV_SYNIC_AVAIL		(1u << 2)
#define HV_SYNTIMER_AVAIL	(1u << 3)
#define HV_HYPERCALL_AVAIL	(1u << 5)
#define HV_VP_INDEX_AVAIL	(1u << 6)
#define HV_CLUSTER_IPI_REC	(1u << 10)

/* MSRs. */
#define HV_MSR_GUEST_OS_ID	0x40000000
#define HV_MSR_HYPERCALL	0x40000001
#define HV_MSR_VP_INDEX		0x40000002
#define HV_MSR_RESET		0x40000003
#define HV_MSR_VP_RUNTIME	0x40000010
#define HV_MSR_TIME_REF_COUNT	0x40000020
#define HV_MSR_REFERENCE_TSC	0x40000021
#define HV_MSR_SCONTROL		0x40000080
#define HV_MSR_SIMP		0x40000083
#define HV_MSR_EOM		0x40000084
#define HV_MSR_SINT0		0x40000090
#define HV_MSR_STIMER0_CONFIG	0x400000B0
#define HV_MSR_STIMER0_COUNT	0x400000B1
#define HV_MSR_CRASH_P0		0x40000100
#define HV_MSR_CRASH_CTL	0x40000105
#define HV_CRASH_NOTIFY		(1ULL << 63)
#define LINUX_OS_ID		(0x8100ULL << 48)

/* Hypercalls and their status codes. */
#define HVCALL_FLUSH_SPACE	0x0002
#define HVCALL_FLUSH_LIST	0x0003
#define HVCALL_SEND_IPI		0x000b
#define HVCALL_FLUSH_SPACE_EX	0x0013
#define HVCALL_SEND_IPI_EX	0x0015
#define HVCALL_POST_MESSAGE	0x005c
#define HVCALL_SIGNAL_EVENT	0x005d
#define HV_FAST			(1ULL << 16)
#define HV_VARHEAD(n)		((uint64_t)(n) << 17)
#define HV_REP_COUNT(n)		((uint64_t)(n) << 32)
#define HV_RSVD_BIT		(1ULL << 27)
#define HV_STATUS_SUCCESS	0
#define HV_STATUS_INVALID_CODE	2
#define HV_STATUS_INVALID_INPUT	3
#define HV_STATUS_ACCESS_DENIED	6

/* SynIC and timers. */
#define HVMSG_TIMER_EXPIRED	0x80000010
#define STIMER_ENABLE		(1ULL << 0)
#define STIMER_PERIODIC		(1ULL << 1)
#define STIMER_DIRECT		(1ULL << 12)
#define STIMER_VECTOR(v)	((uint64_t)(v) << 4)
#define STIMER_SINT(s)		((uint64_t)(s) << 16)
#define TIMER_SINT		2
#define TIMER_VECTOR		0x60
#define DIRECT_VECTOR		0x61
#define ROUTE_SINT		3
#define ROUTE_VECTOR		0x62
#define ROUTE_GSI		100
#define IPI_VECTOR		0x50

#define GP_VECTOR		13
#define TEST_VA			0x8000000000ULL	/* PML4 index 1 */

/* ---- guest helpers --------------------------------------------------------- */

/* A hypercall through the hypercall page (@page) or VMMCALL (@page 0). */
static uint64_t hv_call(uint64_t page, uint64_t control, uint64_t in,
			uint64_t out)
{
	register uint64_t r8 asm("r8") = out;
	uint64_t status;

	if (page)
		asm volatile("call *%[p]"
			     : "=a"(status), "+c"(control), "+d"(in), "+r"(r8)
			     : [p] "r"(page) : "memory");
	else
		asm volatile("vmmcall"
			     : "=a"(status), "+c"(control), "+d"(in), "+r"(r8)
			     : : "memory");
	return status;
}

/* ---- host helpers ---------------------------------------------------------- */

static struct kvm_cpuid2 *cpuid_alloc(uint32_t n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	TEST_ASSERT(c, "calloc");
	c->nent = n;
	return c;
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn)
			return &c->entries[i];
	return NULL;
}

/*
 * The supported CPUID with the Hyper-V leaves in place of KVM's (as a VMM
 * offering Hyper-V does), @edit applied, set on @vcpu.
 */
static void vcpu_set_hv_cpuid(struct kvm_vcpu *vcpu,
			      void (*edit)(struct kvm_cpuid2 *))
{
	struct kvm_cpuid2 *sys = cpuid_alloc(100), *hv = cpuid_alloc(20);
	struct kvm_cpuid2 *c = cpuid_alloc(120);
	uint32_t i, n = 0;

	kvm_ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, sys);
	vcpu_ioctl(vcpu, KVM_GET_SUPPORTED_HV_CPUID, hv);
	for (i = 0; i < sys->nent; i++) {
		struct kvm_cpuid_entry2 *e = &sys->entries[i];

		if (e->function >= 0x40000000 && e->function < 0x40000100)
			continue;
		if (e->function == 1)
			e->ebx = (e->ebx & 0xffffff) | (vcpu->id << 24);
		c->entries[n++] = *e;
	}
	for (i = 0; i < hv->nent; i++)
		c->entries[n++] = hv->entries[i];
	c->nent = n;
	if (edit)
		edit(c);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, c);
	free(sys);
	free(hv);
	free(c);
}

static void vcpu_enable_cap(struct kvm_vcpu *vcpu, uint32_t cap, uint64_t arg)
{
	struct kvm_enable_cap c = { .cap = cap, .args[0] = arg };

	vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &c);
}

/* Run until a ucall, stepping over SynIC exits; returns the ucall. */
static uint64_t run_past_hv_exits(struct kvm_vcpu *vcpu, struct ucall *uc,
				  uint32_t *synic_msrs, int *nr)
{
	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason != KVM_EXIT_HYPERV)
			break;
		TEST_ASSERT_EQ(vcpu->run->hyperv.type, KVM_EXIT_HYPERV_SYNIC);
		if (synic_msrs)
			synic_msrs[(*nr)++] = vcpu->run->hyperv.u.synic.msr;
	}
	return get_ucall(vcpu, uc);
}

/* ---- capabilities and KVM_GET_SUPPORTED_HV_CPUID --------------------------- */

static void check_hv_cpuid(struct kvm_cpuid2 *c)
{
	struct kvm_cpuid_entry2 *e;
	uint32_t i, need = HV_HYPERCALL_AVAIL | HV_VP_INDEX_AVAIL |
			   HV_TIME_REF_AVAIL | HV_SYNIC_AVAIL | HV_SYNTIMER_AVAIL;

	TEST_ASSERT_EQ(c->nent, 10);
	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		TEST_ASSERT(e->function >= 0x40000000 && e->function <= 0x40000082,
			    "leaf 0x%x", e->function);
		TEST_ASSERT_EQ(e->index | e->flags | e->padding[0] |
			       e->padding[1] | e->padding[2], 0);
	}
	e = cpuid_find(c, HV_CPUID_VENDOR);
	TEST_ASSERT(e && !memcmp(&e->ebx, "Linu", 4) &&
		    !memcmp(&e->ecx, "x KV", 4) && !memcmp(&e->edx, "M Hv", 4),
		    "vendor leaf");
	TEST_ASSERT_EQ(e->eax, 0x40000082);
	e = cpuid_find(c, HV_CPUID_INTERFACE);
	TEST_ASSERT(e && e->eax == HV_SIGNATURE_HV1, "interface leaf");
	e = cpuid_find(c, HV_CPUID_FEATURES);
	TEST_ASSERT(e, "features leaf");
	TEST_ASSERT_EQ(e->eax & need, need);
}

static void caps_and_hv_cpuid(void)
{
	static const long caps[] = {
		KVM_CAP_HYPERV, KVM_CAP_HYPERV_VAPIC, KVM_CAP_HYPERV_SPIN,
		KVM_CAP_HYPERV_TIME, KVM_CAP_HYPERV_VP_INDEX,
		KVM_CAP_HYPERV_SYNIC, KVM_CAP_HYPERV_SYNIC2,
		KVM_CAP_HYPERV_EVENTFD, KVM_CAP_HYPERV_TLBFLUSH,
		KVM_CAP_HYPERV_SEND_IPI, KVM_CAP_HYPERV_CPUID,
		KVM_CAP_SYS_HYPERV_CPUID, KVM_CAP_HYPERV_ENFORCE_CPUID,
	};
	struct kvm_cpuid2 zero = { .nent = 0 }, *c = cpuid_alloc(64);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, NULL);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(caps); i++)
		TEST_ASSERT(kvm_check_cap(caps[i]) == 1, "capability %ld", caps[i]);

	/* Too small: E2BIG on /dev/kvm and on the vCPU. */
	TEST_ASSERT_ERRNO(__kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_HV_CPUID,
				      &zero), E2BIG);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_GET_SUPPORTED_HV_CPUID, &zero),
			  E2BIG);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_GET_SUPPORTED_HV_CPUID,
				       (void *)8), EFAULT);

	kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_HV_CPUID, c);
	check_hv_cpuid(c);
	c->nent = 64;
	vcpu_ioctl(vcpu, KVM_GET_SUPPORTED_HV_CPUID, c);
	check_hv_cpuid(c);
	free(c);
	kvm_vm_free(vm);
}

/* KVM_ENABLE_CAP on a vCPU: SynIC needs an in-kernel irqchip. */
static void enable_cap_errors(void)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HYPERV_SYNIC2 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, NULL);

	cap.args[0] = 1;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.args[0] = 0;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.cap = KVM_CAP_HYPERV_SYNIC;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.cap = KVM_CAP_HYPERV_ENFORCE_CPUID;
	cap.flags = 1;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.flags = 0;
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &cap));
	kvm_vm_free(vm);

	vm = vm_create_irqchip();
	vcpu = vm_vcpu_add(vm, 0, NULL);
	cap.cap = KVM_CAP_HYPERV_SYNIC2;
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_ENABLE_CAP, &cap));
	kvm_vm_free(vm);
}

/* ---- the hypercall page ------------------------------------------------- */

static void guest_hypercall_page(uint64_t page)
{
	wrmsr(HV_MSR_GUEST_OS_ID, LINUX_OS_ID);
	wrmsr(HV_MSR_HYPERCALL, page | 1);
	GUEST_ASSERT_EQ(rdmsr(HV_MSR_HYPERCALL), page | 1);
	/* Through the page: an unknown code, a reserved bit, no SynIC. */
	GUEST_ASSERT_EQ(hv_call(page, 0xbeef, 0, 0), HV_STATUS_INVALID_CODE);
	GUEST_ASSERT_EQ(hv_call(page, HVCALL_FLUSH_SPACE | HV_RSVD_BIT, 0, 0),
			HV_STATUS_INVALID_INPUT);
	GUEST_ASSERT_EQ(hv_call(page, HVCALL_POST_MESSAGE, page + 2048, 0),
			HV_STATUS_INVALID_INPUT);
	GUEST_SYNC(0);
	/* No identity, no hypercall page. */
	wrmsr(HV_MSR_GUEST_OS_ID, 0);
	GUEST_ASSERT_EQ(rdmsr(HV_MSR_HYPERCALL), page);
	GUEST_DONE();
}

static void hypercall_page(void)
{
	static const uint8_t code[] = { 0x0f, 0x01, 0xd9, 0xc3 };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_hypercall_page);
	uint64_t page = vm_alloc(vm, PAGE_SIZE);
	uint8_t *hva = addr_gpa2hva(vm, page);
	struct ucall uc;

	memset(hva, 0xcc, PAGE_SIZE);
	vcpu_set_hv_cpuid(vcpu, NULL);
	vcpu_args_set(vcpu, 1, page);
	vcpu_expect_sync(vcpu, &uc);
	ktap_print("hypercall page: %02x %02x %02x %02x", hva[0], hva[1],
		   hva[2], hva[3]);
	TEST_ASSERT(!memcmp(hva, code, sizeof(code)), "VMMCALL; RET expected");
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- TIME_REF_COUNT, VP_RUNTIME --------------------------------------- */

static void guest_time_ref(void)
{
	uint64_t a, b;
	int i;

	for (i = 0; i < 3; i++) {
		a = rdmsr(HV_MSR_TIME_REF_COUNT);
		GUEST_SYNC(a, rdmsr(HV_MSR_VP_RUNTIME));
		b = rdmsr(HV_MSR_TIME_REF_COUNT);
		GUEST_SYNC(b);
		GUEST_ASSERT(b > a);
	}
	GUEST_DONE();
}

static uint64_t kvmclock_100ns(struct kvm_vm *vm)
{
	struct kvm_clock_data d;

	memset(&d, 0, sizeof(d));
	vm_ioctl(vm, KVM_GET_CLOCK, &d);
	return d.clock / 100;
}

/* 100 ns units of kvmclock: between the host's reads around the guest's. */
static void time_ref_count(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_time_ref);
	/* Slack for two conversions of one TSC delta. */
	const uint64_t slack = 10;
	uint64_t before, after, runtime = 0;
	struct ucall uc;
	int i;

	vcpu_set_hv_cpuid(vcpu, NULL);
	for (i = 0; i < 3; i++) {
		before = kvmclock_100ns(vm);
		vcpu_expect_sync(vcpu, &uc);
		after = kvmclock_100ns(vm);
		TEST_ASSERT(uc.args[0] + slack >= before &&
			    uc.args[0] <= after + slack,
			    "TIME_REF_COUNT %llu outside [%llu, %llu]",
			    (unsigned long long)uc.args[0],
			    (unsigned long long)before,
			    (unsigned long long)after);
		TEST_ASSERT_GE(uc.args[1], runtime);
		runtime = uc.args[1];
		usleep(2000);
		vcpu_expect_sync(vcpu, &uc);
		/* 2 ms later at least. */
		TEST_ASSERT_GE(uc.args[0], after + 20000 - slack);
	}
	vcpu_expect_done(vcpu);
	/* Read-only for the guest; a VMM's write is accepted and ignored. */
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu, HV_MSR_TIME_REF_COUNT, 5), 1);
	TEST_ASSERT(vcpu_get_msr(vcpu, HV_MSR_TIME_REF_COUNT) > 5, "restored");
	ktap_print("VP_RUNTIME %llu (100 ns units)", (unsigned long long)runtime);
	kvm_vm_free(vm);
}

/* ---- MSRs a guest may not touch ------------------------------------------ */

struct msr_op {
	uint64_t index, write, value;
};

static void guest_msr_op(const struct msr_op *op)
{
	if (op->write)
		wrmsr(op->index, op->value);
	else
		GUEST_SYNC(rdmsr(op->index));
	GUEST_DONE();
}

/* Run one access; true if it completed, false if it raised #GP. */
static bool try_msr(struct kvm_vcpu *vcpu, uint64_t index, bool write,
		    uint64_t value)
{
	struct kvm_vm *vm = vcpu->vm;
	uint64_t gpa = vm_alloc(vm, PAGE_SIZE);
	struct msr_op *op = addr_gpa2hva(vm, gpa);
	struct ucall uc;
	uint64_t cmd;

	op->index = index;
	op->write = write;
	op->value = value;
	vcpu_args_set(vcpu, 1, gpa);
	vcpu_run(vcpu);
	cmd = get_ucall(vcpu, &uc);
	if (cmd == UCALL_EXCEPTION) {
		TEST_ASSERT_EQ(uc.args[0], GP_VECTOR);
		return false;
	}
	if (cmd == UCALL_SYNC)
		cmd = vcpu_run_ucall(vcpu, &uc);
	TEST_ASSERT_EQ(cmd, UCALL_DONE);
	return true;
}

static uint32_t feat_eax;
static uint32_t enl_eax;

static void edit_features(struct kvm_cpuid2 *c)
{
	cpuid_find(c, HV_CPUID_FEATURES)->eax = feat_eax;
	cpuid_find(c, HV_CPUID_ENLIGHTMENT)->eax = enl_eax;
}

/* A fresh vCPU: Hyper-V CPUID with FEATURES.EAX = @eax, enforced or not. */
static struct kvm_vm *hv_vm(struct kvm_vcpu **vcpu, void *code, bool enforce,
			    uint32_t eax, uint32_t enl)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, code);

	if (enforce)
		vcpu_enable_cap(*vcpu, KVM_CAP_HYPERV_ENFORCE_CPUID, 1);
	feat_eax = eax;
	enl_eax = enl;
	vcpu_set_hv_cpuid(*vcpu, edit_features);
	return vm;
}

static bool msr_ok(bool enforce, uint32_t eax, uint32_t index, bool write)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = hv_vm(&vcpu, guest_msr_op, enforce, eax, 0);
	bool ok = try_msr(vcpu, index, write, 0);

	kvm_vm_free(vm);
	return ok;
}

static void enforce_cpuid_msrs(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	/* Without "Hv#1" in CPUID no Hyper-V MSR exists. */
	vm = vm_create_with_one_vcpu(&vcpu, guest_msr_op);
	TEST_ASSERT(!try_msr(vcpu, HV_MSR_GUEST_OS_ID, false, 0), "no Hv#1");
	kvm_vm_free(vm);

	TEST_ASSERT(!msr_ok(true, 0, HV_MSR_TIME_REF_COUNT, false),
		    "TIME_REF_COUNT without its CPUID bit");
	TEST_ASSERT(msr_ok(true, HV_TIME_REF_AVAIL, HV_MSR_TIME_REF_COUNT, false),
		    "TIME_REF_COUNT with its CPUID bit");
	TEST_ASSERT(msr_ok(false, 0, HV_MSR_TIME_REF_COUNT, false),
		    "TIME_REF_COUNT not enforced");
	TEST_ASSERT(!msr_ok(true, HV_TIME_REF_AVAIL, HV_MSR_GUEST_OS_ID, false),
		    "GUEST_OS_ID without HYPERCALL_AVAILABLE");
	TEST_ASSERT(msr_ok(true, HV_HYPERCALL_AVAIL, HV_MSR_GUEST_OS_ID, true),
		    "GUEST_OS_ID with HYPERCALL_AVAILABLE");
	/* Read-only ones refuse a guest write even when offered. */
	TEST_ASSERT(!msr_ok(true, HV_VP_INDEX_AVAIL, HV_MSR_VP_INDEX, true),
		    "VP_INDEX write");
	TEST_ASSERT(!msr_ok(true, HV_VP_RUNTIME_AVAIL, HV_MSR_VP_RUNTIME, true),
		    "VP_RUNTIME write");
	/* The SynIC's MSRs need KVM_CAP_HYPERV_SYNIC(2) too. */
	TEST_ASSERT(!msr_ok(true, HV_SYNIC_AVAIL, HV_MSR_SCONTROL, false),
		    "SCONTROL without an active SynIC");
}

static void guest_hcall_status(uint64_t control, uint64_t in, uint64_t out)
{
	wrmsr(HV_MSR_GUEST_OS_ID, LINUX_OS_ID);
	GUEST_SYNC(hv_call(0, control, in, out));
	GUEST_DONE();
}

static uint64_t hcall_status(uint32_t enl, uint64_t control, uint64_t in,
			     uint64_t out)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = hv_vm(&vcpu, guest_hcall_status, true,
				  HV_HYPERCALL_AVAIL, enl);
	struct ucall uc;

	vcpu_args_set(vcpu, 3, control, in, out);
	vcpu_expect_sync(vcpu, &uc);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
	return uc.args[0];
}

static void enforce_cpuid_hypercalls(void)
{
	/* Fast SEND_IPI: vector in RDX, processor mask in R8. */
	TEST_ASSERT_EQ(hcall_status(0, HVCALL_SEND_IPI | HV_FAST, 1, 0),
		       HV_STATUS_ACCESS_DENIED);
	/* Offered: the call runs and refuses the reserved vector. */
	TEST_ASSERT_EQ(hcall_status(HV_CLUSTER_IPI_REC, HVCALL_SEND_IPI | HV_FAST,
				    1, 0), HV_STATUS_INVALID_INPUT);
	/* The reserved upper half of the fast input. */
	TEST_ASSERT_EQ(hcall_status(HV_CLUSTER_IPI_REC, HVCALL_SEND_IPI | HV_FAST,
				    (1ULL << 32) | IPI_VECTOR, 0),
		       HV_STATUS_INVALID_INPUT);
	TEST_ASSERT_EQ(hcall_status(0, HVCALL_FLUSH_SPACE, 0, 0),
		       HV_STATUS_ACCESS_DENIED);
}

/* ---- VP_INDEX ------------------------------------------------------------ */

static void guest_vp_index(void)
{
	GUEST_SYNC(rdmsr(HV_MSR_VP_INDEX));
	GUEST_SYNC(rdmsr(HV_MSR_VP_INDEX));
	GUEST_DONE();
}

static void vp_index(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);
	struct kvm_vcpu *v0 = vm_vcpu_add(vm, 0, guest_vp_index);
	struct kvm_vcpu *v1 = vm_vcpu_add(vm, 5, guest_vp_index);
	struct ucall uc;

	vcpu_set_hv_cpuid(v0, NULL);
	vcpu_set_hv_cpuid(v1, NULL);
	/* By default the creation index, not the vCPU id. */
	vcpu_expect_sync(v0, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0);
	vcpu_expect_sync(v1, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	TEST_ASSERT_EQ(__vcpu_set_msr(v1, HV_MSR_VP_INDEX, 7), 1);
	TEST_ASSERT_EQ(__vcpu_set_msr(v1, HV_MSR_VP_INDEX, 0xffffffffULL), 0);
	vcpu_expect_sync(v1, &uc);
	TEST_ASSERT_EQ(uc.args[0], 7);
	TEST_ASSERT_EQ(vcpu_get_msr(v1, HV_MSR_VP_INDEX), 7);
	kvm_vm_free(vm);
}

/* ---- reset and crash -------------------------------------------------- */

static void guest_crash_reset(void)
{
	wrmsr(HV_MSR_CRASH_P0, 0x1234);
	wrmsr(HV_MSR_CRASH_CTL, HV_CRASH_NOTIFY);
	GUEST_SYNC(0);
	wrmsr(HV_MSR_RESET, 1);
	GUEST_DONE();
}

static void reset_and_crash_exits(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_crash_reset);
	struct ucall uc;

	vcpu_set_hv_cpuid(vcpu, NULL);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_SYSTEM_EVENT);
	TEST_ASSERT_EQ(vcpu->run->system_event.type, KVM_SYSTEM_EVENT_CRASH);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, HV_MSR_CRASH_P0), 0x1234);
	/* The exit came after the WRMSR: the guest goes on. */
	vcpu_expect_sync(vcpu, &uc);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_SYSTEM_EVENT);
	TEST_ASSERT_EQ(vcpu->run->system_event.type, KVM_SYSTEM_EVENT_RESET);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- a cluster IPI ------------------------------------------------------ */

struct ex_input {
	uint32_t vector, reserved;
	uint64_t format, valid_banks, bank0;
};

static void guest_ipi(uint64_t id, uint64_t input)
{
	volatile struct ex_input *ex = (void *)input;

	/* Two vectors: two IPIs of one vector could merge in IRR. */
	if (id == 1) {
		guest_wait_irqs(&irq_count[IPI_VECTOR], 1);
		guest_wait_irqs(&irq_count[IPI_VECTOR + 1], 1);
		GUEST_DONE();
	}
	wrmsr(HV_MSR_GUEST_OS_ID, LINUX_OS_ID);
	/* Fast: vector, then the processor mask (VP 1). */
	GUEST_ASSERT_EQ(hv_call(0, HVCALL_SEND_IPI | HV_FAST, IPI_VECTOR, 2),
			HV_STATUS_SUCCESS);
	/* Ex, from memory: a sparse set, bank 0 = VP 1. */
	ex->vector = IPI_VECTOR + 1;
	ex->format = 0;
	ex->valid_banks = 1;
	ex->bank0 = 2;
	GUEST_ASSERT_EQ(hv_call(0, HVCALL_SEND_IPI_EX | HV_VARHEAD(1), input, 0),
			HV_STATUS_SUCCESS);
	/* The variable header must match the valid banks. */
	GUEST_ASSERT_EQ(hv_call(0, HVCALL_SEND_IPI_EX, input, 0),
			HV_STATUS_INVALID_INPUT);
	GUEST_DONE();
}

static void cluster_ipi(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpus[2];
	uint64_t input;
	int i;

	irq_eoi_mode = EOI_XAPIC;
	vm = vm_create_irqchip();
	input = vm_alloc(vm, PAGE_SIZE);
	for (i = 0; i < 2; i++) {
		vcpus[i] = vm_irq_vcpu_add(vm, i, guest_ipi);
		/* Enabled before anyone runs: no IPI may find it off. */
		vcpu_apic_sw_enable(vcpus[i]);
		vcpu_set_hv_cpuid(vcpus[i], NULL);
		vcpu_args_set(vcpus[i], 2, (uint64_t)i, input);
	}
	vcpus_run_until_done(vcpus, 2);
	TEST_ASSERT_EQ(guest_read(vm, irq_count[IPI_VECTOR]), 1);
	TEST_ASSERT_EQ(guest_read(vm, irq_count[IPI_VECTOR + 1]), 1);
	kvm_vm_free(vm);
}

/* ---- a TLB flush --------------------------------------------------------- */

#define FLUSH_ROUNDS	60
#define MAGIC		0x6876000000000000ULL

static volatile uint64_t flush_gen, flush_ack;

struct flush_setup {
	uint64_t pt, input, pages[2];
};

/*
 * vCPU 0 remaps TEST_VA and flushes both vCPUs by hypercall, no INVLPG;
 * vCPU 1 reads TEST_VA all the time and must see the new page as soon as
 * vCPU 0's hypercall returned.  Three flavours: a processor mask, a sparse
 * VP set, an address list.
 */
static void guest_flush(uint64_t id, const struct flush_setup *s)
{
	volatile uint64_t *pt = (uint64_t *)s->pt;
	volatile uint64_t *va = (uint64_t *)TEST_VA;
	uint64_t *in = (uint64_t *)s->input;
	uint64_t g, control, v;

	if (id == 1) {
		for (g = 1; g <= FLUSH_ROUNDS; g++) {
			while (flush_gen < g) {
				v = *va;
				GUEST_ASSERT(v == MAGIC + (g - 1) % 2 ||
					     v == MAGIC + g % 2);
			}
			GUEST_ASSERT_EQ(*va, MAGIC + g % 2);
			flush_ack = g;
		}
		GUEST_DONE();
	}
	wrmsr(HV_MSR_GUEST_OS_ID, LINUX_OS_ID);
	for (g = 1; g <= FLUSH_ROUNDS; g++) {
		pt[0] = s->pages[g % 2] | PTE_PRESENT | PTE_WRITABLE;
		in[0] = 0;	/* address space */
		in[1] = 0;	/* flags */
		switch (g % 3) {
		case 0:
			in[2] = 3;	/* VPs 0 and 1 */
			control = HVCALL_FLUSH_SPACE;
			break;
		case 1:
			in[2] = 0;	/* HV_GENERIC_SET_SPARSE_4K */
			in[3] = 1;	/* bank 0 */
			in[4] = 3;
			control = HVCALL_FLUSH_SPACE_EX | HV_VARHEAD(1);
			break;
		default:
			in[2] = 3;
			in[3] = TEST_VA;	/* one GVA */
			control = HVCALL_FLUSH_LIST | HV_REP_COUNT(1);
			break;
		}
		/* A rep call reports its reps done in bits 43:32. */
		GUEST_ASSERT_EQ(hv_call(0, control, s->input, 0),
				(g % 3 == 2) ? HV_REP_COUNT(1) : 0);
		GUEST_ASSERT_EQ(*va, MAGIC + g % 2);
		flush_gen = g;
		while (flush_ack < g)
			asm volatile("pause");
	}
	GUEST_DONE();
}

/*
 * A vCPU statistic (KVM_GET_STATS_FD).  "tlb_flush" counts the flushes a
 * vCPU did before entering, on both backends: the TLB of the bed's TCG is
 * flushed on every guest exit anyway, so stale reads alone prove nothing.
 */
static uint64_t vcpu_stat(struct kvm_vcpu *vcpu, const char *name)
{
	uint64_t val = 0;

	TEST_ASSERT(vcpu_stat_read(vcpu, name, &val),
		    "no \"%s\" vCPU statistic", name);
	return val;
}

static void edit_flush(struct kvm_cpuid2 *c)
{
	/* Remote flushes and the Ex forms are offered. */
	cpuid_find(c, HV_CPUID_ENLIGHTMENT)->eax |= (1u << 2) | (1u << 11);
}

static void flush_hypercall(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);
	struct kvm_vcpu *vcpus[2];
	struct flush_setup s;
	uint64_t pdpt, pd, arg, before[2];
	int i;

	for (i = 0; i < 2; i++)
		vcpus[i] = vm_vcpu_add(vm, i, guest_flush);
	pdpt = vm_alloc_zeroed(vm, PAGE_SIZE);
	pd = vm_alloc_zeroed(vm, PAGE_SIZE);
	s.pt = vm_alloc_zeroed(vm, PAGE_SIZE);
	s.input = vm_alloc_zeroed(vm, PAGE_SIZE);
	for (i = 0; i < 2; i++) {
		s.pages[i] = vm_alloc_zeroed(vm, PAGE_SIZE);
		*(uint64_t *)addr_gpa2hva(vm, s.pages[i]) = MAGIC + i;
	}
	((uint64_t *)addr_gpa2hva(vm, VM_PML4_GPA))[1] = pdpt | PTE_PRESENT |
							  PTE_WRITABLE;
	((uint64_t *)addr_gpa2hva(vm, pdpt))[0] = pd | PTE_PRESENT | PTE_WRITABLE;
	((uint64_t *)addr_gpa2hva(vm, pd))[0] = s.pt | PTE_PRESENT | PTE_WRITABLE;
	((uint64_t *)addr_gpa2hva(vm, s.pt))[0] = s.pages[0] | PTE_PRESENT |
						  PTE_WRITABLE;
	arg = vm_alloc_zeroed(vm, PAGE_SIZE);
	memcpy(addr_gpa2hva(vm, arg), &s, sizeof(s));
	for (i = 0; i < 2; i++) {
		vcpu_set_hv_cpuid(vcpus[i], edit_flush);
		vcpu_args_set(vcpus[i], 2, (uint64_t)i, arg);
	}
	for (i = 0; i < 2; i++)
		before[i] = vcpu_stat(vcpus[i], "tlb_flush");
	vcpus_run_until_done(vcpus, 2);
	/* Each round flushed both vCPUs. */
	for (i = 0; i < 2; i++)
		TEST_ASSERT_GE(vcpu_stat(vcpus[i], "tlb_flush") - before[i],
			       FLUSH_ROUNDS);
	ktap_print("%d remaps, each flushed by hypercall only", FLUSH_ROUNDS);
	kvm_vm_free(vm);
}

/* ---- HvSignalEvent and HvPostMessage ----------------------------------- */

#define CONN_ID		42

static void guest_events(uint64_t msg_page)
{
	wrmsr(HV_MSR_GUEST_OS_ID, LINUX_OS_ID);
	/* Fast: the connection id in RDX. */
	GUEST_ASSERT_EQ(hv_call(0, HVCALL_SIGNAL_EVENT | HV_FAST, CONN_ID, 0),
			HV_STATUS_SUCCESS);
	/* Userspace answers HvPostMessage. */
	GUEST_SYNC(hv_call(0, HVCALL_POST_MESSAGE, msg_page, 0));
	GUEST_DONE();
}

static void signal_event_and_post_message(void)
{
	struct kvm_hyperv_eventfd ev = { .conn_id = CONN_ID };
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 0, guest_events);
	uint64_t msg = vm_alloc(vm, PAGE_SIZE), count = 0;
	struct ucall uc;
	int fd = eventfd(0, EFD_NONBLOCK);

	TEST_ASSERT(fd >= 0, "eventfd");
	/* KVM_HYPERV_EVENTFD's errors, as upstream. */
	ev.fd = -1;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_HYPERV_EVENTFD, &ev), EBADF);
	ev.fd = fd;
	ev.flags = 2;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_HYPERV_EVENTFD, &ev), EINVAL);
	ev.flags = KVM_HYPERV_EVENTFD_DEASSIGN;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_HYPERV_EVENTFD, &ev), ENOENT);
	ev.flags = 0;
	ev.conn_id = KVM_HYPERV_CONN_ID_MASK + 1;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_HYPERV_EVENTFD, &ev), EINVAL);
	ev.conn_id = CONN_ID;
	TEST_ASSERT_OK(__vm_ioctl(vm, KVM_HYPERV_EVENTFD, &ev));
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_HYPERV_EVENTFD, &ev), EEXIST);

	vcpu_set_hv_cpuid(vcpu, NULL);
	vcpu_enable_cap(vcpu, KVM_CAP_HYPERV_SYNIC2, 0);
	vcpu_args_set(vcpu, 1, msg);
	vcpu_run(vcpu);
	/* HvPostMessage goes to userspace, which answers the status. */
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_HYPERV);
	TEST_ASSERT_EQ(vcpu->run->hyperv.type, KVM_EXIT_HYPERV_HCALL);
	TEST_ASSERT_EQ(vcpu->run->hyperv.u.hcall.input, HVCALL_POST_MESSAGE);
	TEST_ASSERT_EQ(vcpu->run->hyperv.u.hcall.params[0], msg);
	TEST_ASSERT_EQ(read(fd, &count, sizeof(count)), sizeof(count));
	TEST_ASSERT_EQ(count, 1);
	vcpu->run->hyperv.u.hcall.result = 0x1234;
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0x1234);
	vcpu_expect_done(vcpu);

	ev.flags = KVM_HYPERV_EVENTFD_DEASSIGN;
	TEST_ASSERT_OK(__vm_ioctl(vm, KVM_HYPERV_EVENTFD, &ev));
	close(fd);
	kvm_vm_free(vm);
}

/* ---- synthetic timers ------------------------------------------------------ */

struct hv_msg {
	uint32_t type;
	uint8_t size, flags, reserved[2];
	uint64_t sender;
	uint32_t timer_index, pad;
	uint64_t expiration, delivery;
} __attribute__((packed));

static void guest_stimer(uint64_t simp)
{
	volatile struct hv_msg *m = (void *)(simp + TIMER_SINT * 256);
	uint64_t now;

	wrmsr(HV_MSR_GUEST_OS_ID, LINUX_OS_ID);
	wrmsr(HV_MSR_SCONTROL, 1);
	wrmsr(HV_MSR_SIMP, simp | 1);
	wrmsr(HV_MSR_SINT0 + TIMER_SINT, TIMER_VECTOR);

	/* One-shot, message mode: expiry as an absolute reference time. */
	now = rdmsr(HV_MSR_TIME_REF_COUNT);
	wrmsr(HV_MSR_STIMER0_CONFIG, STIMER_ENABLE | STIMER_SINT(TIMER_SINT));
	wrmsr(HV_MSR_STIMER0_COUNT, now + 20000);
	guest_wait_irqs(&irq_count[TIMER_VECTOR], 1);
	GUEST_SYNC(m->type, m->timer_index, m->expiration, m->delivery,
		   now + 20000, rdmsr(HV_MSR_STIMER0_CONFIG));

	/*
	 * The slot still holds that message: the next expiry only flags it
	 * pending, and comes once the guest frees the slot and writes EOM.
	 */
	now = rdmsr(HV_MSR_TIME_REF_COUNT);
	wrmsr(HV_MSR_STIMER0_CONFIG, STIMER_ENABLE | STIMER_SINT(TIMER_SINT));
	wrmsr(HV_MSR_STIMER0_COUNT, now + 20000);
	sti();
	while (rdmsr(HV_MSR_TIME_REF_COUNT) < now + 60000)
		asm volatile("pause");
	cli();
	GUEST_SYNC(irq_count[TIMER_VECTOR], m->flags);
	m->type = 0;
	wrmsr(HV_MSR_EOM, 0);
	guest_wait_irqs(&irq_count[TIMER_VECTOR], 2);
	GUEST_SYNC(m->type, m->expiration - now);
	m->type = 0;
	wrmsr(HV_MSR_EOM, 0);

	/* Direct mode: the vector straight to the APIC. */
	now = rdmsr(HV_MSR_TIME_REF_COUNT);
	wrmsr(HV_MSR_STIMER0_CONFIG + 2, STIMER_ENABLE | STIMER_DIRECT |
	      STIMER_VECTOR(DIRECT_VECTOR));
	wrmsr(HV_MSR_STIMER0_COUNT + 2, now + 20000);
	guest_wait_irqs(&irq_count[DIRECT_VECTOR], 1);
	GUEST_SYNC(rdmsr(HV_MSR_TIME_REF_COUNT) - now);

	/* A GSI the VMM routed to this SINT (KVM_IRQ_ROUTING_HV_SINT). */
	wrmsr(HV_MSR_SINT0 + ROUTE_SINT, ROUTE_VECTOR);
	GUEST_SYNC(0);
	guest_wait_irqs(&irq_count[ROUTE_VECTOR], 1);
	GUEST_DONE();
}

static void route_gsi_to_sint(struct kvm_vm *vm)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e;
	} rt = {
		.hdr.nr = 1,
		.e.gsi = ROUTE_GSI,
		.e.type = KVM_IRQ_ROUTING_HV_SINT,
		.e.u.hv_sint = { .vcpu = 0, .sint = ROUTE_SINT },
	};
	struct kvm_irq_level line = { .irq = ROUTE_GSI, .level = 1 };

	vm_ioctl(vm, KVM_SET_GSI_ROUTING, &rt);
	vm_ioctl(vm, KVM_IRQ_LINE_STATUS, &line);
	/* One APIC took it. */
	TEST_ASSERT_EQ(line.status, 1);
}

static void synic_timers(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint32_t msrs[8];
	uint64_t simp;
	struct ucall uc;
	int nr = 0;

	irq_eoi_mode = EOI_XAPIC;
	vm = vm_create_irqchip();
	simp = vm_alloc(vm, PAGE_SIZE);
	vcpu = vm_irq_vcpu_add(vm, 0, guest_stimer);
	vcpu_apic_sw_enable(vcpu);
	vcpu_set_hv_cpuid(vcpu, NULL);
	vcpu_enable_cap(vcpu, KVM_CAP_HYPERV_SYNIC2, 0);
	vcpu_args_set(vcpu, 1, simp);
	/* SYNIC2: the guest's SIMP page is not cleared for it. */
	memset(addr_gpa2hva(vm, simp), 0, PAGE_SIZE);

	TEST_ASSERT_EQ(run_past_hv_exits(vcpu, &uc, msrs, &nr), UCALL_SYNC);
	/* SCONTROL and SIMP writes were reported to userspace. */
	TEST_ASSERT_EQ(nr, 2);
	TEST_ASSERT_EQ(msrs[0], HV_MSR_SCONTROL);
	TEST_ASSERT_EQ(msrs[1], HV_MSR_SIMP);
	ktap_print("timer message: type 0x%llx timer %llu expiry %llu delivered %llu",
		   (unsigned long long)uc.args[0], (unsigned long long)uc.args[1],
		   (unsigned long long)uc.args[2], (unsigned long long)uc.args[3]);
	TEST_ASSERT_EQ(uc.args[0], HVMSG_TIMER_EXPIRED);
	TEST_ASSERT_EQ(uc.args[1], 0);
	TEST_ASSERT_EQ(uc.args[2], uc.args[4]);
	TEST_ASSERT_GE(uc.args[3], uc.args[2]);
	/* A one-shot timer disables itself once delivered. */
	TEST_ASSERT_EQ(uc.args[5] & STIMER_ENABLE, 0);

	TEST_ASSERT_EQ(run_past_hv_exits(vcpu, &uc, NULL, NULL), UCALL_SYNC);
	/* No interrupt while the slot was busy, but the slot says pending. */
	TEST_ASSERT_EQ(uc.args[0], 1);
	TEST_ASSERT_EQ(uc.args[1] & 1, 1);
	TEST_ASSERT_EQ(run_past_hv_exits(vcpu, &uc, NULL, NULL), UCALL_SYNC);
	TEST_ASSERT_EQ(uc.args[0], HVMSG_TIMER_EXPIRED);
	TEST_ASSERT_EQ(uc.args[1], 20000);

	TEST_ASSERT_EQ(run_past_hv_exits(vcpu, &uc, NULL, NULL), UCALL_SYNC);
	TEST_ASSERT_GE(uc.args[0], 20000);
	TEST_ASSERT_EQ(run_past_hv_exits(vcpu, &uc, NULL, NULL), UCALL_SYNC);
	route_gsi_to_sint(vm);
	TEST_ASSERT_EQ(run_past_hv_exits(vcpu, &uc, NULL, NULL), UCALL_DONE);
	kvm_vm_free(vm);
}

/* A periodic timer: messages one period apart, each after an EOM. */
static void guest_periodic(uint64_t simp)
{
	volatile struct hv_msg *m = (void *)(simp + TIMER_SINT * 256);
	uint64_t exp[3];
	int i;

	wrmsr(HV_MSR_GUEST_OS_ID, LINUX_OS_ID);
	wrmsr(HV_MSR_SIMP, simp | 1);
	wrmsr(HV_MSR_SINT0 + TIMER_SINT, TIMER_VECTOR);
	wrmsr(HV_MSR_STIMER0_CONFIG + 2, STIMER_ENABLE | STIMER_PERIODIC |
	      STIMER_SINT(TIMER_SINT));
	wrmsr(HV_MSR_STIMER0_COUNT + 2, 20000);
	for (i = 0; i < 3; i++) {
		guest_wait_irqs(&irq_count[TIMER_VECTOR], i + 1);
		GUEST_ASSERT_EQ(m->type, HVMSG_TIMER_EXPIRED);
		GUEST_ASSERT_EQ(m->timer_index, 1);
		exp[i] = m->expiration;
		m->type = 0;
		wrmsr(HV_MSR_EOM, 0);
	}
	wrmsr(HV_MSR_STIMER0_CONFIG + 2, 0);
	GUEST_SYNC(exp[0], exp[1], exp[2]);
	GUEST_DONE();
}

static void periodic_timer(void)
{
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	uint64_t simp;
	struct ucall uc;

	irq_eoi_mode = EOI_XAPIC;
	vm = vm_create_irqchip();
	simp = vm_alloc(vm, PAGE_SIZE);
	vcpu = vm_irq_vcpu_add(vm, 0, guest_periodic);
	vcpu_apic_sw_enable(vcpu);
	vcpu_set_hv_cpuid(vcpu, NULL);
	/* SYNIC (not 2): enabling SIMP clears the page for the guest. */
	vcpu_enable_cap(vcpu, KVM_CAP_HYPERV_SYNIC, 0);
	vcpu_args_set(vcpu, 1, simp);
	memset(addr_gpa2hva(vm, simp), 0xff, PAGE_SIZE);

	TEST_ASSERT_EQ(run_past_hv_exits(vcpu, &uc, NULL, NULL), UCALL_SYNC);
	ktap_print("expiries %llu %llu %llu", (unsigned long long)uc.args[0],
		   (unsigned long long)uc.args[1], (unsigned long long)uc.args[2]);
	/* Later each time, by whole periods (missed ones are skipped). */
	TEST_ASSERT(uc.args[1] > uc.args[0] && uc.args[2] > uc.args[1],
		    "expiries not increasing");
	TEST_ASSERT_EQ((uc.args[1] - uc.args[0]) % 20000, 0);
	TEST_ASSERT_EQ((uc.args[2] - uc.args[1]) % 20000, 0);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- the TSC page -------------------------------------------------------- */

struct tsc_page {
	uint32_t sequence, reserved;
	uint64_t scale;
	int64_t offset;
};

static void guest_tsc_page(uint64_t page)
{
	volatile struct tsc_page *p = (void *)page;
	uint64_t seq, ref, msr;

	wrmsr(HV_MSR_REFERENCE_TSC, page | 1);
	seq = p->sequence;
	if (!seq)
		GUEST_SYNC(0, 0, 0);
	/* The TLFS's reader: ((TSC * scale) >> 64) + offset. */
	ref = (uint64_t)(((unsigned __int128)rdtsc() * p->scale) >> 64) +
	      p->offset;
	msr = rdmsr(HV_MSR_TIME_REF_COUNT);
	GUEST_ASSERT_EQ(p->sequence, seq);
	GUEST_SYNC(seq, ref, msr);
	GUEST_DONE();
}

/*
 * Valid exactly when kvmclock is (KVM_CLOCK_TSC_STABLE); then it agrees
 * with TIME_REF_COUNT.  The bed's L1 has an unstable TSC: sequence 0.
 */
static void tsc_page(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_tsc_page);
	uint64_t page = vm_alloc(vm, PAGE_SIZE);
	struct kvm_clock_data d;
	struct ucall uc;

	memset(addr_gpa2hva(vm, page), 0xff, PAGE_SIZE);
	memset(&d, 0, sizeof(d));
	vm_ioctl(vm, KVM_GET_CLOCK, &d);
	vcpu_set_hv_cpuid(vcpu, NULL);
	vcpu_args_set(vcpu, 1, page);
	vcpu_expect_sync(vcpu, &uc);
	ktap_print("TSC page sequence %llu, kvmclock %s", (unsigned long long)uc.args[0],
		   (d.flags & KVM_CLOCK_TSC_STABLE) ? "stable" : "not stable");
	TEST_ASSERT_EQ(!!uc.args[0], !!(d.flags & KVM_CLOCK_TSC_STABLE));
	if (uc.args[0]) {
		/* Read before the MSR: not after it, and within 1 ms. */
		TEST_ASSERT_LE(uc.args[1], uc.args[2] + 10);
		TEST_ASSERT_GE(uc.args[1] + 10000, uc.args[2]);
		vcpu_expect_done(vcpu);
	}
	kvm_vm_free(vm);
}

/* ---- the synthetic debugger ------------------------------------------------ */

#define HV_MSR_SYNDBG_CONTROL	0x400000F1
#define HV_MSR_SYNDBG_OPTIONS	0x400000FF
#define HVCALL_RESET_DEBUG	0x006b

static void guest_syndbg(void)
{
	wrmsr(HV_MSR_GUEST_OS_ID, LINUX_OS_ID);
	wrmsr(HV_MSR_SYNDBG_CONTROL, 5);
	/* Debug hypercalls need the "use hypercalls" option (bit 2). */
	GUEST_SYNC(hv_call(0, HVCALL_RESET_DEBUG, 0, 0));
	wrmsr(HV_MSR_SYNDBG_OPTIONS, 4);
	GUEST_SYNC(hv_call(0, HVCALL_RESET_DEBUG, 0, 0));
	GUEST_DONE();
}

static void syndbg_exits(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_syndbg);
	struct ucall uc;

	vcpu_set_hv_cpuid(vcpu, NULL);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_HYPERV);
	TEST_ASSERT_EQ(vcpu->run->hyperv.type, KVM_EXIT_HYPERV_SYNDBG);
	TEST_ASSERT_EQ(vcpu->run->hyperv.u.syndbg.msr, HV_MSR_SYNDBG_CONTROL);
	TEST_ASSERT_EQ(vcpu->run->hyperv.u.syndbg.control, 5);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 8);	/* HV_STATUS_OPERATION_DENIED */
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_HYPERV);
	TEST_ASSERT_EQ(vcpu->run->hyperv.type, KVM_EXIT_HYPERV_HCALL);
	TEST_ASSERT_EQ(vcpu->run->hyperv.u.hcall.input, HVCALL_RESET_DEBUG);
	vcpu->run->hyperv.u.hcall.result = HV_STATUS_SUCCESS;
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], HV_STATUS_SUCCESS);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(caps_and_hv_cpuid),
		KTAP_CASE(enable_cap_errors),
		KTAP_CASE(hypercall_page),
		KTAP_CASE(time_ref_count),
		KTAP_CASE(vp_index),
		KTAP_CASE(enforce_cpuid_msrs),
		KTAP_CASE(enforce_cpuid_hypercalls),
		KTAP_CASE(reset_and_crash_exits),
		KTAP_CASE(cluster_ipi),
		KTAP_CASE(flush_hypercall),
		KTAP_CASE(signal_event_and_post_message),
		KTAP_CASE(synic_timers),
		KTAP_CASE(periodic_timer),
		KTAP_CASE(tsc_page),
		KTAP_CASE(syndbg_exits),
	};

	if (!kvm_check_cap(KVM_CAP_HYPERV_CPUID)) {
		printf("TAP version 13\n1..0 # SKIP no KVM_CAP_HYPERV_CPUID\n");
		return KSFT_SKIP;
	}
	return ktap_run(cases, ARRAY_SIZE(cases));
}

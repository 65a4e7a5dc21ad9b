// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_VCPU_EVENTS / KVM_SET_VCPU_EVENTS.
 *
 * Round trips of every field as upstream 6.1 reports them (without
 * KVM_CAP_EXCEPTION_PAYLOAD or KVM_CAP_X86_TRIPLE_FAULT_EVENT enabled), the
 * errors of bad input, and the NMI state a VMM saves and restores: an NMI
 * made pending with SET reaches the guest's handler; an NMI queued while
 * the guest sits in its NMI handler survives GET -> new VM -> SET and is
 * delivered once that handler IRETs; nmi.masked holds NMIs back until the
 * guest executes an IRET; an interrupt shadow saved and restored still
 * holds an NMI back for one instruction.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "kvm_util.h"
#include "irqchip.h"

#define NMI_VECTOR		2
#define PORT_SHADOW		0x533	/* the OUT inside an STI shadow */
#define IN_HANDLER		0x4e4d49	/* GUEST_SYNC tag: in the NMI handler */

/* SVM's one interrupt-shadow bit, as upstream reports it. */
#define SVM_SHADOW		(KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI)

#define EVENTS_FLAGS_61		(KVM_VCPUEVENT_VALID_NMI_PENDING |	\
				 KVM_VCPUEVENT_VALID_SHADOW |		\
				 KVM_VCPUEVENT_VALID_SMM)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Guest state (the guest's copies, in guest memory). */
static volatile uint64_t nmi_count;
static volatile uint64_t nmi_rip;	/* where the last NMI interrupted */
static volatile uint64_t nmi_sync_first; /* report from inside the first */

/*
 * The NMI handler: the C body runs with the caller-saved registers and the
 * SSE state saved (the interrupted code may be anywhere), then IRETQ.
 */
asm(".pushsection .text\n"
    ".globl guest_nmi_entry\n"
    "guest_nmi_entry:\n"
    "	push %rbp\n"
    "	mov %rsp, %rbp\n"
    "	push %rax\n	push %rcx\n	push %rdx\n	push %rsi\n	push %rdi\n"
    "	push %r8\n	push %r9\n	push %r10\n	push %r11\n"
    "	and $-16, %rsp\n"
    "	sub $512, %rsp\n"
    "	fxsave64 (%rsp)\n"
    "	mov 8(%rbp), %rdi\n"	/* the interrupted RIP */
    "	call guest_nmi_body\n"
    "	fxrstor64 (%rsp)\n"
    "	lea -72(%rbp), %rsp\n"
    "	pop %r11\n	pop %r10\n	pop %r9\n	pop %r8\n"
    "	pop %rdi\n	pop %rsi\n	pop %rdx\n	pop %rcx\n	pop %rax\n"
    "	pop %rbp\n"
    "	iretq\n"
    ".popsection\n");

extern char guest_nmi_entry[], shadow_out_insn[], shadow_out_done[];

void guest_nmi_body(uint64_t rip);
void guest_nmi_body(uint64_t rip)
{
	nmi_rip = rip;
	nmi_count = nmi_count + 1;
	if (nmi_sync_first && nmi_count == 1)
		GUEST_SYNC(IN_HANDLER, nmi_count);
}

/* IRETQ to the next instruction: ends NMI blocking, nothing else. */
static inline void guest_iret_to_self(void)
{
	asm volatile("mov %%ss, %%ecx\n\t"
		     "mov %%rsp, %%rax\n\t"
		     "push %%rcx\n\t"
		     "push %%rax\n\t"
		     "pushfq\n\t"
		     "mov %%cs, %%ecx\n\t"
		     "push %%rcx\n\t"
		     "lea 1f(%%rip), %%rax\n\t"
		     "push %%rax\n\t"
		     "iretq\n"
		     "1:"
		     : : : "rax", "rcx", "memory");
}

/* IDT vector 2 -> guest_nmi_entry (64-bit interrupt gate, DPL 0). */
static void vm_install_nmi_handler(struct kvm_vm *vm)
{
	uint64_t *idt = addr_gpa2hva(vm, VM_IDT_GPA);
	uint64_t h = (uint64_t)(uintptr_t)guest_nmi_entry;

	idt[2 * NMI_VECTOR] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
			      (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
	idt[2 * NMI_VECTOR + 1] = h >> 32;
}

static struct kvm_vm *vm_create_nmi(struct kvm_vcpu **vcpu, void *guest_code)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);

	vm_install_nmi_handler(vm);
	return vm;
}

static void events_get(struct kvm_vcpu *vcpu, struct kvm_vcpu_events *e)
{
	memset(e, 0xaa, sizeof(*e));	/* every byte must be written */
	vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, e);
}

static void events_set(struct kvm_vcpu *vcpu, const struct kvm_vcpu_events *e)
{
	vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, e);
}

static void expect_sync(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	TEST_ASSERT_EQ(vcpu_run_ucall(vcpu, uc), UCALL_SYNC);
}

/* ---- round trips --------------------------------------------------------- */

static void guest_idle(void)
{
	GUEST_DONE();
}

static void reset_state(void)
{
	struct kvm_vcpu_events e;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	size_t i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_idle);
	events_get(vcpu, &e);
	TEST_ASSERT_EQ(e.flags, EVENTS_FLAGS_61);
	TEST_ASSERT_EQ(e.exception.injected, 0);
	TEST_ASSERT_EQ(e.exception.pending, 0);
	TEST_ASSERT_EQ(e.interrupt.injected, 0);
	TEST_ASSERT_EQ(e.interrupt.soft, 0);
	TEST_ASSERT_EQ(e.interrupt.shadow, 0);
	TEST_ASSERT_EQ(e.nmi.injected, 0);
	TEST_ASSERT_EQ(e.nmi.pending, 0);
	TEST_ASSERT_EQ(e.nmi.masked, 0);
	TEST_ASSERT_EQ(e.sipi_vector, 0);
	TEST_ASSERT_EQ(e.smi.smm, 0);
	TEST_ASSERT_EQ(e.smi.pending, 0);
	TEST_ASSERT_EQ(e.triple_fault.pending, 0);
	TEST_ASSERT_EQ(e.exception_has_payload, 0);
	TEST_ASSERT_EQ(e.exception_payload, 0);
	for (i = 0; i < sizeof(e.reserved); i++)
		TEST_ASSERT_EQ(e.reserved[i], 0);
	kvm_vm_free(vm);
}

static void roundtrip(void)
{
	struct kvm_vcpu_events e, g;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;

	vm = vm_create_with_one_vcpu(&vcpu, guest_idle);

	/* Everything at once (the vCPU never runs it). */
	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	e.exception.injected = 1;
	e.exception.nr = 13;
	e.exception.has_error_code = 1;
	e.exception.error_code = 0x1234;
	e.interrupt.injected = 1;
	e.interrupt.nr = 0x41;
	e.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
	e.nmi.pending = 1;
	e.nmi.masked = 1;
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.flags, EVENTS_FLAGS_61);
	TEST_ASSERT_EQ(g.exception.injected, 1);
	TEST_ASSERT_EQ(g.exception.pending, 0);
	TEST_ASSERT_EQ(g.exception.nr, 13);
	TEST_ASSERT_EQ(g.exception.has_error_code, 1);
	TEST_ASSERT_EQ(g.exception.error_code, 0x1234);
	TEST_ASSERT_EQ(g.interrupt.injected, 1);
	TEST_ASSERT_EQ(g.interrupt.nr, 0x41);
	TEST_ASSERT_EQ(g.interrupt.soft, 0);
	TEST_ASSERT_EQ(g.interrupt.shadow, SVM_SHADOW);
	TEST_ASSERT_EQ(g.nmi.injected, 0);
	TEST_ASSERT_EQ(g.nmi.pending, 1);
	TEST_ASSERT_EQ(g.nmi.masked, 1);
	TEST_ASSERT_EQ(g.sipi_vector, 0);

	/* Without the VALID flags, shadow and nmi.pending stay as they are. */
	memset(&e, 0, sizeof(e));
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.exception.injected, 0);
	TEST_ASSERT_EQ(g.interrupt.injected, 0);
	TEST_ASSERT_EQ(g.interrupt.shadow, SVM_SHADOW);
	TEST_ASSERT_EQ(g.nmi.pending, 1);
	TEST_ASSERT_EQ(g.nmi.masked, 0);

	/* SVM has one shadow bit: either shadow reads back as both. */
	e.flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING;
	e.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.interrupt.shadow, SVM_SHADOW);
	TEST_ASSERT_EQ(g.nmi.pending, 0);
	e.interrupt.shadow = 0;
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.interrupt.shadow, 0);

	/* Several pending NMIs read back as one: nmi.pending says "some". */
	e.nmi.pending = 2;
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.nmi.pending, 1);
	e.nmi.pending = 0;

	/* An NMI being delivered; its handler has NMIs masked. */
	e.nmi.injected = 1;
	e.nmi.masked = 1;
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.nmi.injected, 1);
	TEST_ASSERT_EQ(g.nmi.masked, 1);
	TEST_ASSERT_EQ(g.nmi.pending, 0);
	e.nmi.injected = 0;
	e.nmi.masked = 0;
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.nmi.injected, 0);
	TEST_ASSERT_EQ(g.nmi.masked, 0);

	/* A software interrupt is not reported: its INT n runs again. */
	e.interrupt.injected = 1;
	e.interrupt.soft = 1;
	e.interrupt.nr = 0x80;
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.interrupt.injected, 0);
	TEST_ASSERT_EQ(g.interrupt.soft, 0);
	e.interrupt.soft = 0;
	e.interrupt.injected = 0;

	/* An exception without error code; vector 31 is the last one. */
	e.exception.injected = 1;
	e.exception.nr = 31;
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.exception.injected, 1);
	TEST_ASSERT_EQ(g.exception.nr, 31);
	TEST_ASSERT_EQ(g.exception.has_error_code, 0);

	/* The SIPI vector is taken (for an in-kernel APIC), never reported. */
	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	e.sipi_vector = 0x12;
	events_set(vcpu, &e);
	events_get(vcpu, &g);
	TEST_ASSERT_EQ(g.flags, EVENTS_FLAGS_61);
	TEST_ASSERT_EQ(g.sipi_vector, 0);
	TEST_ASSERT_EQ(g.exception.injected, 0);
	kvm_vm_free(vm);
}

/* ---- bad input ----------------------------------------------------------- */

static void expect_unchanged(struct kvm_vcpu *vcpu,
			     const struct kvm_vcpu_events *before)
{
	struct kvm_vcpu_events g;

	events_get(vcpu, &g);
	TEST_ASSERT(!memcmp(&g, before, sizeof(g)),
		    "a refused KVM_SET_VCPU_EVENTS changed the state");
}

static void bad_input(void)
{
	struct kvm_vcpu_events e, before;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	void *ro;

	vm = vm_create_with_one_vcpu(&vcpu, guest_idle);
	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	e.nmi.pending = 1;
	e.nmi.masked = 1;
	events_set(vcpu, &e);
	events_get(vcpu, &before);

	/* Each of these would also clear the NMI state if it went through. */
	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | 0x80000000u;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e), EINVAL);
	expect_unchanged(vcpu, &before);

	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | (KVM_VCPUEVENT_VALID_TRIPLE_FAULT << 1);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e), EINVAL);
	expect_unchanged(vcpu, &before);

	/* KVM_CAP_EXCEPTION_PAYLOAD was not enabled. */
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_PAYLOAD;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e), EINVAL);
	expect_unchanged(vcpu, &before);

	/* Exceptions are vectors 0-31, and NMI is not one of them. */
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	e.exception.injected = 1;
	e.exception.nr = 32;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e), EINVAL);
	expect_unchanged(vcpu, &before);
	e.exception.nr = NMI_VECTOR;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e), EINVAL);
	expect_unchanged(vcpu, &before);
	e.exception.nr = 0xff;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e), EINVAL);
	expect_unchanged(vcpu, &before);

	/* Faulting pointers. */
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, (void *)8), EFAULT);
	expect_unchanged(vcpu, &before);
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, (void *)8), EFAULT);
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(ro != MAP_FAILED, "mmap");
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, ro), EFAULT);
	munmap(ro, 4096);

	/* The vector is only checked for an exception that is set. */
	e.exception.injected = 0;
	e.exception.nr = 0xff;
	TEST_ASSERT_OK(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e));

	/*
	 * KVM_CAP_X86_TRIPLE_FAULT_EVENT was not enabled either (upstream
	 * checks it last, after the rest went in: the state is not compared).
	 */
	e.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e), EINVAL);
	kvm_vm_free(vm);
}

/*
 * A kernel without SMM (ukvm with npt=0, or hide_caps=x86_smm or
 * multi_address_space): SMM state is refused, KVM_SMI is unknown, and
 * without address spaces a slot id naming address space 1 is EINVAL.
 */
static void without_smm(void)
{
	struct kvm_vcpu_events e, before;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	bool tested = false;
	void *mem;

	vm = vm_create_with_one_vcpu(&vcpu, guest_idle);
	if (!vm_check_cap(vm, KVM_CAP_X86_SMM)) {
		events_get(vcpu, &before);
		TEST_ASSERT_EQ(before.flags, EVENTS_FLAGS_61);
		TEST_ASSERT_EQ(before.smi.smm, 0);
		e = before;
		e.smi.smm = 1;
		TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e), EINVAL);
		e = before;
		e.smi.pending = 1;
		TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &e), EINVAL);
		expect_unchanged(vcpu, &before);
		/* All-zero SMM state is fine: it is what GET reports. */
		events_set(vcpu, &before);
		/*
		 * ENOTTY from a kernel built without SMM (6.4+), EINVAL (an
		 * unknown vCPU ioctl) from one older than SMM (4.5).
		 */
		TEST_ASSERT_EQ(__vcpu_ioctl(vcpu, KVM_SMI, NULL), -1);
		TEST_ASSERT(errno == ENOTTY || errno == EINVAL, "KVM_SMI: %s",
			    ktap_errno_name(errno));
		tested = true;
	}
	if (vm_check_cap(vm, KVM_CAP_MULTI_ADDRESS_SPACE) < 2) {
		mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		TEST_ASSERT(mem != MAP_FAILED, "mmap");
		TEST_ASSERT_ERRNO(__vm_set_user_memory_region(vm, (1u << 16) | 5, 0,
							      0x40000000ULL, 0x10000, mem),
				  EINVAL);
		vm_set_user_memory_region(vm, 5, 0, 0x40000000ULL, 0x10000, mem);
		tested = true;
	}
	kvm_vm_free(vm);
	TEST_REQUIRE(tested, "the backend has SMM and address spaces");
}

/* ---- NMIs ---------------------------------------------------------------- */

static void guest_report_nmis(void)
{
	GUEST_SYNC(nmi_count);
	GUEST_SYNC(nmi_count);
	GUEST_DONE();
}

/* nmi.pending from SET is injected on the next entry. */
static void nmi_set_pending(void)
{
	struct kvm_vcpu_events e;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create_nmi(&vcpu, guest_report_nmis);
	expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0);
	events_get(vcpu, &e);
	TEST_ASSERT_EQ(e.nmi.pending, 0);
	e.nmi.pending = 1;
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	events_set(vcpu, &e);
	expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	events_get(vcpu, &e);
	TEST_ASSERT_EQ(e.nmi.pending, 0);
	TEST_ASSERT_EQ(e.nmi.masked, 0);
	TEST_ASSERT_EQ(e.nmi.injected, 0);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void guest_masked(void)
{
	GUEST_SYNC(nmi_count);
	/* Masked by the host: no NMI so far, even across exits. */
	GUEST_SYNC(nmi_count);
	GUEST_SYNC(nmi_count);
	guest_iret_to_self();
	GUEST_SYNC(nmi_count);
	GUEST_DONE();
}

/* nmi.masked holds a pending NMI back until the guest's next IRET. */
static void nmi_masked_until_iret(void)
{
	struct kvm_vcpu_events e;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	vm = vm_create_nmi(&vcpu, guest_masked);
	expect_sync(vcpu, &uc);
	events_get(vcpu, &e);
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	e.nmi.pending = 1;
	e.nmi.masked = 1;
	events_set(vcpu, &e);
	expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0);
	/* One more from KVM_NMI: still one NMI pending, still masked. */
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	events_get(vcpu, &e);
	TEST_ASSERT_EQ(e.nmi.pending, 1);
	TEST_ASSERT_EQ(e.nmi.masked, 1);
	expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0);
	/* The guest's IRET: exactly one NMI (two collapse while blocked). */
	expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	events_get(vcpu, &e);
	TEST_ASSERT_EQ(e.nmi.pending, 0);
	TEST_ASSERT_EQ(e.nmi.masked, 0);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* What a VMM carries over: memory, registers, FPU, events. */
struct vcpu_image {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_vcpu_events events;
};

/*
 * Finish the exit userspace just handled without entering the guest, as a
 * VMM does before it saves a vCPU: KVM_RUN with immediate_exit.
 */
static void vcpu_complete_exit(struct kvm_vcpu *vcpu)
{
	vcpu->run->immediate_exit = 1;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_RUN, NULL), EINTR);
	vcpu->run->immediate_exit = 0;
}

static void vcpu_save(struct kvm_vcpu *vcpu, struct vcpu_image *img)
{
	vcpu_regs_get(vcpu, &img->regs);
	vcpu_sregs_get(vcpu, &img->sregs);
	vcpu_ioctl(vcpu, KVM_GET_FPU, &img->fpu);
	events_get(vcpu, &img->events);
}

/* Into a new VM of the same layout; its memory becomes the old one's. */
static struct kvm_vm *vm_restore(struct kvm_vm *src, const struct vcpu_image *img,
				 struct kvm_vcpu **vcpu)
{
	struct kvm_vm *vm = vm_create_nmi(vcpu, guest_idle);
	size_t i;

	for (i = 0; i < VM_MAX_REGIONS; i++) {
		const struct vm_region *s = &src->regions[i];
		struct vm_region *d = &vm->regions[i];

		if (!s->in_use)
			continue;
		TEST_ASSERT(d->in_use && d->slot == s->slot && d->gpa == s->gpa &&
			    d->size == s->size, "region %zu differs", i);
		memcpy(d->hva, s->hva, s->size);
	}
	vcpu_sregs_set(*vcpu, &img->sregs);
	vcpu_regs_set(*vcpu, &img->regs);
	vcpu_ioctl(*vcpu, KVM_SET_FPU, &img->fpu);
	events_set(*vcpu, &img->events);
	return vm;
}

static void guest_nmi_in_handler(void)
{
	nmi_sync_first = 1;
	GUEST_SYNC(nmi_count);
	/* Both NMIs ran by now: the second right after the first's IRET. */
	GUEST_SYNC(nmi_count);
	GUEST_DONE();
}

/*
 * The guest stops inside its NMI handler; a second NMI (KVM_NMI) waits for
 * that handler's IRET.  Saved there and restored into a new VM, the second
 * NMI must still come, right after the IRET.
 */
static void nmi_pending_survives_restore(void)
{
	struct kvm_vcpu *vcpu, *vcpu2;
	struct kvm_vm *vm, *vm2;
	struct vcpu_image img;
	struct ucall uc;

	vm = vm_create_nmi(&vcpu, guest_nmi_in_handler);
	expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 0);
	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], IN_HANDLER);
	TEST_ASSERT_EQ(uc.args[1], 1);

	vcpu_ioctl(vcpu, KVM_NMI, NULL);
	vcpu_complete_exit(vcpu);
	vcpu_save(vcpu, &img);
	TEST_ASSERT_EQ(img.events.nmi.pending, 1);
	TEST_ASSERT_EQ(img.events.nmi.masked, 1);
	TEST_ASSERT_EQ(img.events.nmi.injected, 0);
	TEST_ASSERT(img.events.flags & KVM_VCPUEVENT_VALID_NMI_PENDING,
		    "flags 0x%x", img.events.flags);

	vm2 = vm_restore(vm, &img, &vcpu2);
	kvm_vm_free(vm);
	expect_sync(vcpu2, &uc);
	TEST_ASSERT_EQ(uc.args[0], 2);
	vcpu_expect_done(vcpu2);
	kvm_vm_free(vm2);
}

static void guest_shadow(void)
{
	GUEST_SYNC(0);
	asm volatile("sti\n\t"
		     ".globl shadow_out_insn\n"
		     "shadow_out_insn:\n\t"
		     "outb %%al, %%dx\n\t"
		     ".globl shadow_out_done\n"
		     "shadow_out_done:\n\t"
		     "cli"
		     : : "d"(PORT_SHADOW), "a"(0) : "memory");
	GUEST_SYNC(nmi_count, nmi_rip);
	GUEST_DONE();
}

/*
 * The guest exits on an OUT inside an STI shadow.  Saved there and
 * restored into a new VM with an NMI pending, the shadow still holds the
 * NMI back: it interrupts after the OUT, not before it.
 */
static void shadow_survives_restore(void)
{
	struct kvm_vcpu *vcpu, *vcpu2;
	struct kvm_vm *vm, *vm2;
	struct vcpu_image img;
	struct ucall uc;

	vm = vm_create_nmi(&vcpu, guest_shadow);
	expect_sync(vcpu, &uc);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_SHADOW);
	vcpu_save(vcpu, &img);
	TEST_ASSERT_EQ(img.regs.rip, (uint64_t)(uintptr_t)shadow_out_insn);
	TEST_ASSERT_EQ(img.events.interrupt.shadow, SVM_SHADOW);

	img.events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
	img.events.nmi.pending = 1;
	vm2 = vm_restore(vm, &img, &vcpu2);
	kvm_vm_free(vm);
	/* The OUT runs again in the new VM, the NMI only after it. */
	vcpu_run(vcpu2);
	TEST_ASSERT_EXIT(vcpu2, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu2->run->io.port, PORT_SHADOW);
	expect_sync(vcpu2, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	/*
	 * Not before the OUT.  Right after it architecturally; kvm-amd takes
	 * it one instruction later (after the CLI: its single step over the
	 * shadow ends there, as the OUT exited instead of stepping).
	 */
	TEST_ASSERT_GE(uc.args[1], (uint64_t)(uintptr_t)shadow_out_done);
	TEST_ASSERT_LE(uc.args[1], (uint64_t)(uintptr_t)shadow_out_done + 1);
	vcpu_expect_done(vcpu2);
	kvm_vm_free(vm2);
}

/*
 * The #UD handler of nmi_behind_exception: its first instruction is where
 * the NMI must interrupt it.
 */
asm(".pushsection .text\n"
    ".globl guest_ud_entry\n"
    "guest_ud_entry:\n"
    "	nop\n"
    "	and $-16, %rsp\n"
    "	call guest_ud_body\n"
    "1:	hlt\n"
    "	jmp 1b\n"
    ".popsection\n");

extern char guest_ud_entry[];

void guest_ud_body(void);
void guest_ud_body(void)
{
	GUEST_SYNC(nmi_count, nmi_rip);
	GUEST_DONE();
}

static void guest_wait_for_ud(void)
{
	GUEST_SYNC(0);
	GUEST_ASSERT(0);	/* the host injects a #UD right here */
}

/*
 * An NMI pending while an exception is being injected must not wait for
 * the guest's next exit: it comes right after the delivery, at the first
 * instruction of the exception's handler.
 */
static void nmi_behind_exception(void)
{
	struct kvm_vcpu_events e;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t *idt;
	uint64_t h = (uint64_t)(uintptr_t)guest_ud_entry;

	vm = vm_create_nmi(&vcpu, guest_wait_for_ud);
	idt = addr_gpa2hva(vm, VM_IDT_GPA);
	idt[2 * 6] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
		     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
	idt[2 * 6 + 1] = h >> 32;
	expect_sync(vcpu, &uc);
	/* Let the OUT of that ucall complete first. */
	vcpu_complete_exit(vcpu);
	events_get(vcpu, &e);
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	e.exception.injected = 1;
	e.exception.nr = 6;
	e.nmi.pending = 1;
	events_set(vcpu, &e);
	expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 1);
	/*
	 * At the handler's first instruction (kvm-amd), or after it: in the
	 * bed ukvm's immediate exit (a self-IPI pending at VMRUN) lands one
	 * instruction late, for a reason not yet understood.  Waiting for
	 * the guest's next exit would put it in the ucall, much later.
	 */
	TEST_ASSERT_GE(uc.args[1], (uint64_t)(uintptr_t)guest_ud_entry);
	TEST_ASSERT_LE(uc.args[1], (uint64_t)(uintptr_t)guest_ud_entry + 1);
	kvm_vm_free(vm);
}

#define SMBASE_RESET		0x30000ULL	/* SMBASE after RESET */
#define SMRAM_SIZE		0x10000ULL
#define SMM_HANDLER		0x8000
/* RIP in the AMD64 save area (long mode in CPUID, APM vol 2, 10.2.3). */
#define SMM_SAVE_RIP		(0xfe00 + 0x178)
#define PORT_SMM		0x5e

/*
 * The same for an SMI (KVM_SMI): SMM is entered at the first instruction
 * of the exception's handler, which the state-save area records.  The SMI
 * handler only reports (OUT); the VM ends there.
 */
static void smi_behind_exception(void)
{
	static const uint8_t smm_code[] = {
		0xe6, PORT_SMM,		/* out %al, $PORT_SMM */
		0xf4,			/* hlt */
	};
	struct kvm_vcpu_events e;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	uint64_t *idt, rip;
	uint64_t h = (uint64_t)(uintptr_t)guest_ud_entry;
	uint8_t *smram;

	vm = vm_create_nmi(&vcpu, guest_wait_for_ud);
	TEST_REQUIRE(vm_check_cap(vm, KVM_CAP_X86_SMM), "no KVM_CAP_X86_SMM");
	/* Long mode in CPUID: the guest runs in it (AMD64 save area). */
	vcpu_set_cpuid(vcpu, 0);
	smram = mmap(NULL, SMRAM_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(smram != MAP_FAILED, "mmap");
	memcpy(smram + SMM_HANDLER, smm_code, sizeof(smm_code));
	vm_set_user_memory_region(vm, (1u << 16) | 1, 0, SMBASE_RESET,
				  SMRAM_SIZE, smram);
	idt = addr_gpa2hva(vm, VM_IDT_GPA);
	idt[2 * 6] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
		     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
	idt[2 * 6 + 1] = h >> 32;
	expect_sync(vcpu, &uc);
	vcpu_complete_exit(vcpu);
	events_get(vcpu, &e);
	e.flags = 0;
	e.exception.injected = 1;
	e.exception.nr = 6;
	events_set(vcpu, &e);
	vcpu_ioctl(vcpu, KVM_SMI, NULL);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_SMM);
	memcpy(&rip, smram + SMM_SAVE_RIP, sizeof(rip));
	/* As for the NMI: the bed may make ukvm one instruction late. */
	TEST_ASSERT_GE(rip, (uint64_t)(uintptr_t)guest_ud_entry);
	TEST_ASSERT_LE(rip, (uint64_t)(uintptr_t)guest_ud_entry + 1);
	kvm_vm_free(vm);
	munmap(smram, SMRAM_SIZE);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(reset_state),
		KTAP_CASE(roundtrip),
		KTAP_CASE(bad_input),
		KTAP_CASE(without_smm),
		KTAP_CASE(nmi_set_pending),
		KTAP_CASE(nmi_masked_until_iret),
		KTAP_CASE(nmi_pending_survives_restore),
		KTAP_CASE(shadow_survives_restore),
		KTAP_CASE(nmi_behind_exception),
		KTAP_CASE(smi_behind_exception),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

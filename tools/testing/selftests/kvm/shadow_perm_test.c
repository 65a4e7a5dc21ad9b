// SPDX-License-Identifier: GPL-2.0
/*
 * Page protection corner cases where a shadow MMU has to bend the guest's
 * rights to fit the hardware's and must not bend them too far: CR0.WP=0
 * with SMEP, SMAP with RFLAGS.AC both ways and implicit accesses (each
 * skipped, KTAP SKIP, when KVM does not offer the CPU feature), and
 * CR0.WP=0 seen from user mode.
 *
 * The guest maps a test region at TEST_VA (PML4 slot 1) through tables
 * the host builds, user-accessible at every level above the PT, so each
 * PT entry decides whether a page is a user or a supervisor page.  The
 * guest runs at CPL 0 except in wp0_user's user_blob.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "guest_pf.h"

#define TEST_VA		0x8000000000ULL		/* PML4 index 1 */
#define PTE_USER	(1ULL << 2)

struct test_tables {
	uint64_t pdpt, pd, pt;	/* guest-physical */
};

static uint64_t *gpa_ptr(struct kvm_vm *vm, uint64_t gpa)
{
	return addr_gpa2hva(vm, gpa);
}

static inline void set_cr4(uint64_t v)
{
	asm volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

#define X86_CR4_SMEP	(1ULL << 20)
#define X86_CR4_SMAP	(1ULL << 21)
#define CPUID7_EBX_SMEP	(1U << 7)	/* CPUID 7.0 EBX */
#define CPUID7_EBX_SMAP	(1U << 20)
#define RET_OPCODE	0xc3
#define CODE_OFF	0x100

static inline void set_cr0(uint64_t v)
{
	asm volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

/* Skip unless KVM offers the CPUID.7.0:EBX feature @bit (and set the guest's CPUID). */
static void require_cpuid7(struct kvm_vcpu *vcpu, uint32_t bit, const char *name)
{
	static struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} cpuid;
	uint32_t i;

	cpuid.c.nent = 100;
	kvm_ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid);
	for (i = 0; i < cpuid.c.nent; i++)
		if (cpuid.e[i].function == 7 && cpuid.e[i].index == 0 &&
		    (cpuid.e[i].ebx & bit))
			break;
	if (i == cpuid.c.nent)
		ktap_skip("%s not in KVM_GET_SUPPORTED_CPUID (leaf 7, EBX)", name);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, &cpuid);
}

/* PML4[1] -> PDPT -> PD -> an empty PT, U/S set above the PT. */
static struct kvm_vm *create_user_vm(struct kvm_vcpu **vcpu, void *guest_code,
				     struct test_tables *t)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_code);
	uint64_t flags = PTE_PRESENT | PTE_WRITABLE | PTE_USER;

	vm_install_pf_handler(vm);
	t->pdpt = vm_alloc_zeroed(vm, PAGE_SIZE);
	t->pd = vm_alloc_zeroed(vm, PAGE_SIZE);
	t->pt = vm_alloc_zeroed(vm, PAGE_SIZE);
	gpa_ptr(vm, VM_PML4_GPA)[1] = t->pdpt | flags;
	gpa_ptr(vm, t->pdpt)[0] = t->pd | flags;
	gpa_ptr(vm, t->pd)[0] = t->pt | flags;
	return vm;
}

/*
 * CR0.WP=0 lets supervisor writes through read-only pages, user or not
 * (APM vol 2, 5.6.4); SMEP still forbids supervisor fetches from user
 * pages (5.6.5).  A shadow MMU that makes such a page writable for the
 * supervisor must not make it executable.  Setting WP again takes effect
 * at once, with no flush.
 */
static void guest_wp0_smep(uint64_t pt_gpa, uint64_t user_page, uint64_t sup_page)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;
	uint64_t n = pf_count;

	pt[0] = user_page | PTE_PRESENT | PTE_USER;
	pt[1] = sup_page | PTE_PRESENT;
	set_cr4(get_cr4() | X86_CR4_SMEP);
	set_cr0(get_cr0() & ~X86_CR0_WP);

	guest_try_write(TEST_VA, 7);
	guest_try_write(TEST_VA + PAGE_SIZE, 8);
	GUEST_ASSERT_EQ(pf_count, n);
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA), 7);
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA + PAGE_SIZE), 8);

	GUEST_EXPECT_PF(guest_try_call(TEST_VA + CODE_OFF), TEST_VA + CODE_OFF,
			PFEC_P | PFEC_FETCH);
	/* Again, after one more supervisor write to the page. */
	guest_try_write(TEST_VA + 8, 9);
	GUEST_EXPECT_PF(guest_try_call(TEST_VA + CODE_OFF), TEST_VA + CODE_OFF,
			PFEC_P | PFEC_FETCH);

	/* Supervisor code runs from the supervisor page. */
	n = pf_count;
	guest_try_call(TEST_VA + PAGE_SIZE + CODE_OFF);
	GUEST_ASSERT_EQ(pf_count, n);

	set_cr0(get_cr0() | X86_CR0_WP);
	GUEST_EXPECT_PF(guest_try_write(TEST_VA, 1), TEST_VA, PFEC_P | PFEC_W);
	GUEST_EXPECT_PF(guest_try_write(TEST_VA + PAGE_SIZE, 1),
			TEST_VA + PAGE_SIZE, PFEC_P | PFEC_W);
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA), 7);
	GUEST_DONE();
}

static void wp0_smep(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_user_vm(&vcpu, guest_wp0_smep, &t);
	uint64_t u = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t s = vm_alloc_zeroed(vm, PAGE_SIZE);

	require_cpuid7(vcpu, CPUID7_EBX_SMEP, "SMEP");
	((uint8_t *)gpa_ptr(vm, u))[CODE_OFF] = RET_OPCODE;
	((uint8_t *)gpa_ptr(vm, s))[CODE_OFF] = RET_OPCODE;
	vcpu_args_set(vcpu, 3, t.pt, u, s);
	vcpu_expect_done(vcpu);
	TEST_ASSERT_EQ(gpa_ptr(vm, u)[0], 7);
	TEST_ASSERT_EQ(gpa_ptr(vm, u)[1], 9);
	TEST_ASSERT_EQ(gpa_ptr(vm, s)[0], 8);
	kvm_vm_free(vm);
}

/*
 * SMAP (APM vol 2, 5.6.6): supervisor data accesses to user pages fault
 * unless RFLAGS.AC is set; implicit supervisor accesses (here the GDT read
 * of a segment load, with the GDT's entry 3 in a user page) fault.  The GDT's entries 0-2 (null, code, data) stay in a supervisor
 * page so the #PF can be delivered and returned from.
 */
#define SMAP_SEL	0x18
#define SMAP_GDT_VA	(TEST_VA + 2 * PAGE_SIZE - SMAP_SEL)

struct __attribute__((packed)) dt_ptr {
	uint16_t limit;
	uint64_t base;
};

static inline void stac(void)
{
	asm volatile("stac" : : : "memory", "cc");
}

static inline void clac(void)
{
	asm volatile("clac" : : : "memory", "cc");
}

static void guest_smap(uint64_t pt_gpa, uint64_t user_page, uint64_t gdt_sup,
		       uint64_t gdt_user)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;
	struct dt_ptr test_gdt = { 4 * 8 - 1, SMAP_GDT_VA }, saved;
	uint64_t n;

	pt[0] = user_page | PTE_PRESENT | PTE_WRITABLE | PTE_USER;
	pt[1] = gdt_sup | PTE_PRESENT | PTE_WRITABLE;
	pt[2] = gdt_user | PTE_PRESENT | PTE_WRITABLE | PTE_USER;
	set_cr4(get_cr4() | X86_CR4_SMAP);

	/* Explicit accesses: AC decides. */
	clac();
	GUEST_EXPECT_PF(guest_try_read(TEST_VA), TEST_VA, PFEC_P);
	GUEST_EXPECT_PF(guest_try_write(TEST_VA, 1), TEST_VA, PFEC_P | PFEC_W);
	stac();
	n = pf_count;
	guest_try_write(TEST_VA, 5);
	GUEST_ASSERT_EQ(guest_try_read(TEST_VA), 5);
	GUEST_ASSERT_EQ(pf_count, n);
	clac();
	GUEST_EXPECT_PF(guest_try_read(TEST_VA), TEST_VA, PFEC_P);

	/*
	 * An implicit access with AC clear faults.  With AC set it should
	 * fault too (SDM vol 3, 4.6.1), but the bed's CPU (QEMU TCG) lets it
	 * through, under kvm-amd npt=1 and npt=0 alike: not tested.
	 */
	asm volatile("sgdt %0" : "=m"(saved));
	asm volatile("lgdt %0" : : "m"(test_gdt));
	GUEST_EXPECT_PF(guest_try_load_fs(SMAP_SEL), TEST_VA + 2 * PAGE_SIZE,
			PFEC_P);

	/* Without SMAP the same load works. */
	set_cr4(get_cr4() & ~X86_CR4_SMAP);
	n = pf_count;
	guest_try_load_fs(SMAP_SEL);
	GUEST_ASSERT_EQ(pf_count, n);
	asm volatile("lgdt %0" : : "m"(saved));
	guest_try_load_fs(GDT_SEL_DATA);
	GUEST_ASSERT_EQ(pf_count, n);
	GUEST_DONE();
}

static void smap(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_user_vm(&vcpu, guest_smap, &t);
	uint64_t u = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t gs = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t gu = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t *gdt = gpa_ptr(vm, VM_GDT_GPA);

	require_cpuid7(vcpu, CPUID7_EBX_SMAP, "SMAP");
	/* Entries 0-2 end the supervisor page, entry 3 starts the user one. */
	memcpy((uint8_t *)gpa_ptr(vm, gs) + PAGE_SIZE - SMAP_SEL, gdt, SMAP_SEL);
	gpa_ptr(vm, gu)[0] = gdt[GDT_SEL_DATA / 8];
	vcpu_args_set(vcpu, 4, t.pt, u, gs, gu);
	vcpu_expect_done(vcpu);
	TEST_ASSERT_EQ(gpa_ptr(vm, u)[0], 5);
	kvm_vm_free(vm);
}

/* ---- CR0.WP=0 seen from user mode ----------------------------------------- */

/*
 * A supervisor write with CR0.WP=0 to a read-only user page must not
 * change what user mode may do there: read, and fault on write.  A shadow
 * MMU that maps the page writable for the supervisor (and so not for the
 * user) has to let the user's read through after its fault.
 *
 * User mode runs user_blob, copied into a user page: three 3-byte
 * accesses, each of which may fault (the #PF handler for CPL 3 records
 * the fault and skips the instruction), then INT3, whose DPL-3 gate
 * returns to enter_user()'s caller.
 */
#define USER_DATA_SEL	(0x28 | 3)
#define USER_CODE_SEL	(0x30 | 3)
#define USER_GDT_LIMIT	(7 * 8 - 1)
#define BP_VECTOR	3
#define PF_VECTOR	14
#define TSS_RSP0_OFF	4
#define USER_INSN_LEN	3
#define MAX_USER_FAULTS	8

volatile uint64_t user_pf_count, user_pf_err[MAX_USER_FAULTS],
		  user_pf_cr2[MAX_USER_FAULTS], user_saved_rsp;

asm(".pushsection .text\n"
    ".globl user_blob\n"
    "user_blob:\n"
    "	mov (%rdi), %rax\n"		/* read the user page */
    "	mov %rax, (%rdi)\n"		/* write it */
    "	mov (%rsi), %rax\n"		/* read the supervisor page */
    "	int3\n"
    ".globl user_blob_end\n"
    "user_blob_end:\n"
    /* enter_user(rip, rdi, rsi, rsp): run user mode until its INT3. */
    ".globl enter_user\n"
    "enter_user:\n"
    "	push %rbx\n"
    "	push %rbp\n"
    "	push %r12\n"
    "	push %r13\n"
    "	push %r14\n"
    "	push %r15\n"
    "	mov %rsp, user_saved_rsp(%rip)\n"
    "	mov %rdi, %r8\n"
    "	mov %rsi, %rdi\n"
    "	mov %rdx, %rsi\n"
    "	pushq $0x2b\n"
    "	push %rcx\n"
    "	pushfq\n"
    "	pushq $0x33\n"
    "	push %r8\n"
    "	iretq\n"
    ".globl user_int3\n"
    "user_int3:\n"
    "	mov user_saved_rsp(%rip), %rsp\n"
    "	mov $0x10, %eax\n"
    "	mov %eax, %ss\n"
    "	mov %eax, %ds\n"
    "	mov %eax, %es\n"
    "	pop %r15\n"
    "	pop %r14\n"
    "	pop %r13\n"
    "	pop %r12\n"
    "	pop %rbp\n"
    "	pop %rbx\n"
    "	ret\n"
    /* #PF: CPL 3 faults are recorded and skipped, others go to guest_pf.c's. */
    ".globl user_pf_handler\n"
    "user_pf_handler:\n"
    "	testb $3, 16(%rsp)\n"
    "	jz test_pf_handler\n"
    "	push %rax\n"
    "	push %rcx\n"
    "	mov user_pf_count(%rip), %rcx\n"
    "	and $7, %rcx\n"
    "	lea user_pf_err(%rip), %rax\n"
    "	push %rdx\n"
    "	mov 24(%rsp), %rdx\n"
    "	mov %rdx, (%rax, %rcx, 8)\n"
    "	lea user_pf_cr2(%rip), %rax\n"
    "	mov %cr2, %rdx\n"
    "	mov %rdx, (%rax, %rcx, 8)\n"
    "	incq user_pf_count(%rip)\n"
    "	addq $3, 32(%rsp)\n"
    "	pop %rdx\n"
    "	pop %rcx\n"
    "	pop %rax\n"
    "	add $8, %rsp\n"
    "	iretq\n"
    ".popsection\n");

extern char user_blob[], user_blob_end[], user_int3[], user_pf_handler[];
void enter_user(uint64_t rip, uint64_t rdi, uint64_t rsi, uint64_t rsp);

#define U_VA		TEST_VA
#define S_VA		(TEST_VA + PAGE_SIZE)
#define CODE_VA		(TEST_VA + 2 * PAGE_SIZE)
#define STACK_VA	(TEST_VA + 3 * PAGE_SIZE)

static void run_user(void)
{
	enter_user(CODE_VA, U_VA, S_VA, STACK_VA + PAGE_SIZE);
}

/* The three faults-or-not of one user_blob run, from fault @first on. */
static void check_user_run(uint64_t first)
{
	GUEST_ASSERT_EQ(user_pf_count, first + 2);
	GUEST_ASSERT_EQ(user_pf_cr2[first], U_VA);
	GUEST_ASSERT_EQ(user_pf_err[first], PFEC_P | PFEC_W | PFEC_U);
	GUEST_ASSERT_EQ(user_pf_cr2[first + 1], S_VA);
	GUEST_ASSERT_EQ(user_pf_err[first + 1], PFEC_P | PFEC_U);
}

static void guest_wp0_user(uint64_t pt_gpa, uint64_t u, uint64_t s,
			   uint64_t code, uint64_t stack)
{
	volatile uint64_t *pt = (uint64_t *)pt_gpa;

	pt[0] = u | PTE_PRESENT | PTE_USER;
	pt[1] = s | PTE_PRESENT;
	pt[2] = code | PTE_PRESENT | PTE_USER;
	pt[3] = stack | PTE_PRESENT | PTE_WRITABLE | PTE_USER;

	/* Before any supervisor write: the user reads U, faults on the rest. */
	run_user();
	check_user_run(0);

	/* A supervisor write with WP=0, then user mode again: the same. */
	set_cr0(get_cr0() & ~X86_CR0_WP);
	guest_try_write(U_VA + 8, 0x77);
	GUEST_ASSERT_EQ(pf_count, 0);
	run_user();
	check_user_run(2);

	/* And once more, the supervisor writing after the user's read. */
	guest_try_write(U_VA + 16, 0x78);
	GUEST_ASSERT_EQ(pf_count, 0);
	run_user();
	check_user_run(4);

	/* WP=1: the supervisor's write faults again. */
	set_cr0(get_cr0() | X86_CR0_WP);
	GUEST_EXPECT_PF(guest_try_write(U_VA, 1), U_VA, PFEC_P | PFEC_W);
	GUEST_DONE();
}

static void wp0_user(void)
{
	struct kvm_vcpu *vcpu;
	struct test_tables t;
	struct kvm_vm *vm = create_user_vm(&vcpu, guest_wp0_user, &t);
	uint64_t u = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t sp = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t code = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t stack = vm_alloc_zeroed(vm, PAGE_SIZE);
	uint64_t kstack = vm_alloc(vm, 4 * PAGE_SIZE);
	uint64_t *gdt = gpa_ptr(vm, VM_GDT_GPA), *idt = gpa_ptr(vm, VM_IDT_GPA);
	uint64_t h, *tss_rsp0;
	struct kvm_sregs sregs;

	/* Flat 64-bit user code and data, DPL 3 (SDM vol 3, 3.4.5). */
	gdt[USER_DATA_SEL >> 3] = 0x00cff3000000ffffULL;
	gdt[USER_CODE_SEL >> 3] = 0x00affb000000ffffULL;
	vcpu_sregs_get(vcpu, &sregs);
	sregs.gdt.limit = USER_GDT_LIMIT;
	vcpu_sregs_set(vcpu, &sregs);
	/* The stack CPL 0 gets on a fault or INT3 in user mode. */
	tss_rsp0 = (uint64_t *)((uint8_t *)gpa_ptr(vm, VM_TSS_GPA) + TSS_RSP0_OFF);
	*tss_rsp0 = kstack + 4 * PAGE_SIZE;
	/* #PF: user_pf_handler; #BP: a DPL-3 gate to user_int3. */
	h = (uint64_t)(uintptr_t)user_pf_handler;
	idt[2 * PF_VECTOR] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
			     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
	idt[2 * PF_VECTOR + 1] = h >> 32;
	h = (uint64_t)(uintptr_t)user_int3;
	idt[2 * BP_VECTOR] = (h & 0xffff) | ((uint64_t)GDT_SEL_CODE64 << 16) |
			     (0xeeULL << 40) | (((h >> 16) & 0xffff) << 48);
	idt[2 * BP_VECTOR + 1] = h >> 32;

	memcpy(gpa_ptr(vm, code), user_blob, user_blob_end - user_blob);
	gpa_ptr(vm, u)[0] = 0x1234;
	vcpu_args_set(vcpu, 5, t.pt, u, sp, code, stack);
	vcpu_expect_done(vcpu);
	TEST_ASSERT_EQ(gpa_ptr(vm, u)[0], 0x1234);
	TEST_ASSERT_EQ(gpa_ptr(vm, u)[1], 0x77);
	TEST_ASSERT_EQ(gpa_ptr(vm, u)[2], 0x78);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(wp0_smep),
		KTAP_CASE(smap),
		KTAP_CASE(wp0_user),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

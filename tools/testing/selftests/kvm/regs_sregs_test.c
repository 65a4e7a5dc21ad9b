// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET/SET_REGS and KVM_GET/SET_SREGS: what is set is read back exactly,
 * is what the guest runs with, and what the guest leaves is what is read;
 * inconsistent control-register combinations are refused with EINVAL.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kvm_util.h"

static const char *const gpr_names[] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags",
};

static void compare_regs(const struct kvm_regs *want, const struct kvm_regs *got)
{
	const __u64 *w = &want->rax, *g = &got->rax;
	unsigned int i, bad = 0;

	for (i = 0; i < ARRAY_SIZE(gpr_names); i++) {
		if (w[i] != g[i]) {
			ktap_print("%s: set 0x%llx, got 0x%llx", gpr_names[i],
				   (unsigned long long)w[i], (unsigned long long)g[i]);
			bad++;
		}
	}
	TEST_ASSERT_EQ(bad, 0);
}

static void regs_roundtrip(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_REAL, 0);
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 0, NULL);
	struct kvm_regs set, got;
	__u64 *r = &set.rax;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gpr_names); i++)
		r[i] = 0x0101010101010101ULL * (i + 1) ^ (0xf0ULL << (i * 3));
	set.rip = 0x1234;
	/* Bit 1 is fixed to 1; CF, ZF, SF, OF, DF are ordinary state. */
	set.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_CF | X86_EFLAGS_ZF |
		     X86_EFLAGS_SF | X86_EFLAGS_OF | X86_EFLAGS_DF;
	vcpu_regs_set(vcpu, &set);
	vcpu_regs_get(vcpu, &got);
	compare_regs(&set, &got);

	/* Twice, with other values: nothing sticks from the first set. */
	for (i = 0; i < ARRAY_SIZE(gpr_names); i++)
		r[i] = ~r[i];
	set.rip = 0x5678;
	set.rflags = X86_EFLAGS_FIXED | X86_EFLAGS_PF;
	vcpu_regs_set(vcpu, &set);
	vcpu_regs_get(vcpu, &got);
	compare_regs(&set, &got);
	kvm_vm_free(vm);
}

/*
 * 64-bit guest code entered with registers set by the host: it combines
 * them and halts; the host reads the results with KVM_GET_REGS.
 */
asm(".pushsection .text\n"
    "guest_reg_ops:\n"
    "	add %rbx, %rax\n"
    "	xchg %rcx, %rdx\n"
    "	not %rsi\n"
    "	lea 1(%r15), %r15\n"
    "	shl $4, %r8\n"
    "	mov %r9, %r10\n"
    "	hlt\n"
    "guest_reg_ops_end:\n"
    ".popsection\n");
extern char guest_reg_ops[], guest_reg_ops_end[];

static void regs_used_by_guest(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_reg_ops);
	struct kvm_regs set, got, want;

	vcpu_regs_get(vcpu, &set);
	set.rax = 0x1000000000000001ULL;
	set.rbx = 0x0200000000000020ULL;
	set.rcx = 0xccccccccccccccccULL;
	set.rdx = 0xddddddddddddddddULL;
	set.rsi = 0x00ff00ff00ff00ffULL;
	set.r8 = 0x0123456789abcdefULL;
	set.r9 = 0x9999999999999999ULL;
	set.r10 = 0;
	set.r11 = 0x1111;
	set.r12 = 0x1212;
	set.r13 = 0x1313;
	set.r14 = 0x1414;
	set.r15 = 0x7fffffffffffffffULL;
	vcpu_regs_set(vcpu, &set);

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &got);

	want = set;
	want.rax = set.rax + set.rbx;
	want.rcx = set.rdx;
	want.rdx = set.rcx;
	want.rsi = ~set.rsi;
	want.r15 = set.r15 + 1;
	want.r8 = set.r8 << 4;
	want.r10 = set.r9;
	want.rip = (uint64_t)(uintptr_t)guest_reg_ops_end;
	/* The ADD and SHL leave flags; only compare the untouched ones. */
	want.rflags = got.rflags;
	compare_regs(&want, &got);
	TEST_ASSERT_EQ(got.rflags & X86_EFLAGS_FIXED, X86_EFLAGS_FIXED);
	kvm_vm_free(vm);
}

#define SEG_FIELDS(X) X(base) X(limit) X(selector) X(type) X(present) X(dpl) \
	X(db) X(s) X(l) X(g) X(avl) X(unusable)

static unsigned int compare_seg(const char *name, const struct kvm_segment *w,
				const struct kvm_segment *g)
{
	unsigned int bad = 0;

#define CMP_SEG_FIELD(f)							\
	if (w->f != g->f) {							\
		ktap_print("%s.%s: set 0x%llx, got 0x%llx", name, #f,		\
			   (unsigned long long)w->f, (unsigned long long)g->f);	\
		bad++;								\
	}
	SEG_FIELDS(CMP_SEG_FIELD)
#undef CMP_SEG_FIELD
	return bad;
}

static void compare_sregs(const struct kvm_sregs *w, const struct kvm_sregs *g)
{
	unsigned int bad = 0, i;

	bad += compare_seg("cs", &w->cs, &g->cs);
	bad += compare_seg("ds", &w->ds, &g->ds);
	bad += compare_seg("es", &w->es, &g->es);
	bad += compare_seg("fs", &w->fs, &g->fs);
	bad += compare_seg("gs", &w->gs, &g->gs);
	bad += compare_seg("ss", &w->ss, &g->ss);
	bad += compare_seg("tr", &w->tr, &g->tr);
	if (!w->ldt.unusable)
		bad += compare_seg("ldt", &w->ldt, &g->ldt);
#define CMP(f)									\
	if (w->f != g->f) {							\
		ktap_print("%s: set 0x%llx, got 0x%llx", #f,			\
			   (unsigned long long)w->f, (unsigned long long)g->f);	\
		bad++;								\
	}
	CMP(gdt.base) CMP(gdt.limit) CMP(idt.base) CMP(idt.limit)
	CMP(cr0) CMP(cr2) CMP(cr3) CMP(cr4) CMP(cr8) CMP(efer) CMP(apic_base)
	for (i = 0; i < 4; i++)
		CMP(interrupt_bitmap[i])
#undef CMP
	TEST_ASSERT_EQ(bad, 0);
}

/* Long-mode state with every field distinct and self-consistent. */
static void make_long_mode_sregs(struct kvm_vcpu *vcpu, struct kvm_sregs *s)
{
	vcpu_sregs_get(vcpu, s);
	s->cs = (struct kvm_segment){ .base = 0, .limit = 0xffffffff,
		.selector = 0x08, .type = 0xb, .present = 1, .s = 1, .l = 1, .g = 1 };
	s->ds = (struct kvm_segment){ .base = 0x1000, .limit = 0xfffff,
		.selector = 0x10, .type = 0x3, .present = 1, .s = 1, .db = 1 };
	s->es = s->ds;
	s->es.base = 0x2000;
	s->es.selector = 0x18;
	s->fs = s->ds;
	s->fs.base = 0x7f0000001000ULL;	/* 64-bit bases live in FS and GS */
	s->fs.selector = 0x20;
	s->gs = s->ds;
	s->gs.base = 0xffff800000002000ULL;
	s->gs.selector = 0x28;
	s->ss = s->ds;
	s->ss.base = 0;
	s->ss.selector = 0x30;
	s->tr = (struct kvm_segment){ .base = 0x3000, .limit = 0x67,
		.selector = 0x38, .type = 0xb, .present = 1 };
	s->gdt.base = 0x4000;
	s->gdt.limit = 0x3f;
	s->idt.base = 0x5000;
	s->idt.limit = 0xfff;
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP |
		 X86_CR0_AM | X86_CR0_PG;
	s->cr2 = 0xdead000;
	s->cr3 = 0x9000;
	s->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | X86_CR4_DE;
	s->cr8 = 5;
	s->efer = EFER_LME | EFER_LMA | EFER_SCE;
}

static void sregs_roundtrip(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_REAL, 0);
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 0, NULL);
	struct kvm_sregs set, got;

	make_long_mode_sregs(vcpu, &set);
	vcpu_sregs_set(vcpu, &set);
	vcpu_sregs_get(vcpu, &got);
	compare_sregs(&set, &got);

	/* And back to real mode. */
	vm_vcpu_add(vm, 1, NULL);
	vcpu_sregs_get(vm->vcpus[1], &set);
	set.cs.base = 0x10000;
	set.cs.selector = 0x1000;
	set.ds.base = 0x20000;
	set.ds.selector = 0x2000;
	set.cr2 = 0x55aa;
	vcpu_sregs_set(vcpu, &set);
	vcpu_sregs_get(vcpu, &got);
	compare_sregs(&set, &got);
	kvm_vm_free(vm);
}

/* A pending interrupt set through interrupt_bitmap is read back. */
static void sregs_interrupt_bitmap(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_REAL, 0);
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 0, NULL);
	struct kvm_sregs set, got;

	vcpu_sregs_get(vcpu, &set);
	TEST_ASSERT_EQ(set.interrupt_bitmap[0] | set.interrupt_bitmap[1] |
		       set.interrupt_bitmap[2] | set.interrupt_bitmap[3], 0);
	set.interrupt_bitmap[0x83 / 64] = 1ULL << (0x83 % 64);
	vcpu_sregs_set(vcpu, &set);
	vcpu_sregs_get(vcpu, &got);
	compare_sregs(&set, &got);
	kvm_vm_free(vm);
}

static void sregs_invalid(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_REAL, 0);
	struct kvm_vcpu *vcpu = vm_vcpu_add(vm, 0, NULL);
	struct kvm_sregs good, s, after;

	make_long_mode_sregs(vcpu, &good);
	vcpu_sregs_set(vcpu, &good);

	/* Paging without protection. */
	s = good;
	s.cr0 &= ~X86_CR0_PE;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_SREGS, &s), EINVAL);
	/* Not-write-through without cache-disable. */
	s = good;
	s.cr0 |= X86_CR0_NW;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_SREGS, &s), EINVAL);
	/* Long mode active without paging. */
	s = good;
	s.cr0 &= ~X86_CR0_PG;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_SREGS, &s), EINVAL);
	/* Long mode enabled with paging but without PAE. */
	s = good;
	s.cr4 &= ~X86_CR4_PAE;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_SREGS, &s), EINVAL);
	/* LMA without LME. */
	s = good;
	s.efer &= ~EFER_LME;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_SREGS, &s), EINVAL);
	/* A reserved CR4 bit (bit 63). */
	s = good;
	s.cr4 |= 1ULL << 63;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_SREGS, &s), EINVAL);

	/* None of the refused sets changed anything. */
	vcpu_sregs_get(vcpu, &after);
	compare_sregs(&good, &after);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(regs_roundtrip),
		KTAP_CASE(regs_used_by_guest),
		KTAP_CASE(sregs_roundtrip),
		KTAP_CASE(sregs_interrupt_bitmap),
		KTAP_CASE(sregs_invalid),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

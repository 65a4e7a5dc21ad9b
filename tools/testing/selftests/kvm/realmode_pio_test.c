// SPDX-License-Identifier: GPL-2.0
/*
 * Real-mode guests doing port I/O: every KVM_EXIT_IO field for OUT and IN of
 * each size, IN data completed on the next KVM_RUN, and the string forms
 * (`rep outsb`, `rep insb`) whose data may arrive over several exits.
 *
 * The guest code is 16-bit assembly kept in this binary and copied into the
 * guest at VM_REAL_MODE_LOAD_GPA; it sets DS/ES = CS so its data can be
 * addressed relative to its start.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "kvm_util.h"

#define PORT_OUT 0x500
#define PORT_IN 0x501
#define PORT_REPORT 0x502
#define PORT_OUTS 0x503
#define PORT_INS 0x504
#define PORT_ECHO 0x505

#define STR_LEN 5

asm(".pushsection .rodata.guest16, \"a\"\n"
    ".code16\n"

    /* OUT of each size, immediate and DX port forms. */
    "rm_out_start:\n"
    "	mov $0x42, %al\n"
    "	out %al, $0x80\n"
    "	mov $0x500, %dx\n"
    "	mov $0xbeef, %ax\n"
    "	out %ax, %dx\n"
    "	mov $0xdeadbeef, %eax\n"
    "	out %eax, %dx\n"
    "	hlt\n"
    "rm_out_end:\n"

    /* IN of each size; each value read is echoed back with OUT. */
    "rm_in_start:\n"
    "	mov $0x501, %dx\n"
    "	in %dx, %al\n"
    "	mov $0x502, %dx\n"
    "	out %al, %dx\n"
    "	mov $0x501, %dx\n"
    "	in %dx, %ax\n"
    "	mov $0x502, %dx\n"
    "	out %ax, %dx\n"
    "	mov $0x501, %dx\n"
    "	in %dx, %eax\n"
    "	mov $0x502, %dx\n"
    "	out %eax, %dx\n"
    "	hlt\n"
    "rm_in_end:\n"

    /* rep outsb of a 5-byte string. */
    "rm_outs_start:\n"
    "	push %cs\n"
    "	pop %ds\n"
    "	cld\n"
    "	mov $(rm_outs_buf - rm_outs_start), %si\n"
    "	mov $5, %cx\n"
    "	mov $0x503, %dx\n"
    "	rep outsb\n"
    "	hlt\n"
    "rm_outs_buf:\n"
    "	.ascii \"hello\"\n"
    "rm_outs_end:\n"

    /* rep insb into a buffer, then rep outsb of that buffer. */
    "rm_ins_start:\n"
    "	push %cs\n"
    "	pop %ds\n"
    "	push %cs\n"
    "	pop %es\n"
    "	cld\n"
    "	mov $(rm_ins_buf - rm_ins_start), %di\n"
    "	mov $5, %cx\n"
    "	mov $0x504, %dx\n"
    "	rep insb\n"
    "	mov $(rm_ins_buf - rm_ins_start), %si\n"
    "	mov $5, %cx\n"
    "	mov $0x505, %dx\n"
    "	rep outsb\n"
    "	hlt\n"
    "rm_ins_buf:\n"
    "	.fill 8, 1, 0\n"
    "rm_ins_end:\n"

    /* At the reset vector: OUT, then halt. */
    "rm_reset_start:\n"
    "	mov $0x77, %al\n"
    "	out %al, $0x81\n"
    "	hlt\n"
    "rm_reset_end:\n"
    ".code64\n"
    ".popsection\n");

extern const uint8_t rm_out_start[], rm_out_end[];
extern const uint8_t rm_in_start[], rm_in_end[];
extern const uint8_t rm_outs_start[], rm_outs_end[], rm_outs_buf[];
extern const uint8_t rm_ins_start[], rm_ins_end[], rm_ins_buf[];
extern const uint8_t rm_reset_start[], rm_reset_end[];

static struct kvm_vm *create(struct kvm_vcpu **vcpu, const uint8_t *start,
			     const uint8_t *end)
{
	return vm_create_real_mode(vcpu, start, end - start);
}

/* Run and check one KVM_EXIT_IO; return a pointer to its data. */
static void *expect_io(struct kvm_vcpu *vcpu, uint8_t dir, uint8_t size,
		       uint16_t port, uint32_t count)
{
	struct kvm_run *run = vcpu->run;

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(run->io.direction, dir);
	TEST_ASSERT_EQ(run->io.size, size);
	TEST_ASSERT_EQ(run->io.port, port);
	TEST_ASSERT_EQ(run->io.count, count);
	TEST_ASSERT_GE(run->io.data_offset, sizeof(*run));
	TEST_ASSERT_LE(run->io.data_offset + (uint64_t)size * count, vcpu->run_size);
	return vcpu_io_data(vcpu);
}

static void out_sizes(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create(&vcpu, rm_out_start, rm_out_end);
	struct kvm_regs regs;
	uint32_t v32;
	uint16_t v16;
	uint8_t *d;

	d = expect_io(vcpu, KVM_EXIT_IO_OUT, 1, 0x80, 1);
	TEST_ASSERT_EQ(d[0], 0x42);
	d = expect_io(vcpu, KVM_EXIT_IO_OUT, 2, PORT_OUT, 1);
	memcpy(&v16, d, 2);
	TEST_ASSERT_EQ(v16, 0xbeef);
	d = expect_io(vcpu, KVM_EXIT_IO_OUT, 4, PORT_OUT, 1);
	memcpy(&v32, d, 4);
	TEST_ASSERT_EQ(v32, 0xdeadbeef);

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	TEST_ASSERT_EQ(regs.rip, rm_out_end - rm_out_start);
	kvm_vm_free(vm);
}

static void in_completion(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create(&vcpu, rm_in_start, rm_in_end);
	static const uint32_t values[] = { 0x5a, 0x1234, 0x89abcdef };
	struct kvm_regs regs;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(values); i++) {
		uint8_t size = 1 << i;
		uint32_t echoed = 0;
		uint8_t *d;

		d = expect_io(vcpu, KVM_EXIT_IO_IN, size, PORT_IN, 1);
		memcpy(d, &values[i], size);
		/* The next KVM_RUN completes the IN, the guest echoes it. */
		d = expect_io(vcpu, KVM_EXIT_IO_OUT, size, PORT_REPORT, 1);
		memcpy(&echoed, d, size);
		TEST_ASSERT_EQ(echoed, values[i]);
	}
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	vcpu_regs_get(vcpu, &regs);
	TEST_ASSERT_EQ(regs.rip, rm_in_end - rm_in_start);
	TEST_ASSERT_EQ(regs.rax, values[2]);
	kvm_vm_free(vm);
}

/*
 * Collect a string OUT on `port` until the guest halts: the kernel may split
 * it over several exits (upstream does one element per exit for OUTS), but
 * each exit's count and data must add up to exactly what the guest wrote.
 */
static size_t collect_string_out(struct kvm_vcpu *vcpu, uint16_t port,
				 uint8_t *buf, size_t max, unsigned int *exits)
{
	struct kvm_run *run = vcpu->run;
	size_t got = 0;

	*exits = 0;
	for (;;) {
		vcpu_run(vcpu);
		if (run->exit_reason == KVM_EXIT_HLT)
			return got;
		TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
		TEST_ASSERT_EQ(run->io.direction, KVM_EXIT_IO_OUT);
		TEST_ASSERT_EQ(run->io.port, port);
		TEST_ASSERT_EQ(run->io.size, 1);
		TEST_ASSERT_GE(run->io.count, 1);
		TEST_ASSERT_LE(got + run->io.count, max);
		TEST_ASSERT_LE(run->io.data_offset + run->io.count, vcpu->run_size);
		memcpy(buf + got, vcpu_io_data(vcpu), run->io.count);
		got += run->io.count;
		(*exits)++;
	}
}

static void rep_outsb(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create(&vcpu, rm_outs_start, rm_outs_end);
	struct kvm_regs regs;
	unsigned int exits;
	uint8_t buf[16];
	size_t n;

	n = collect_string_out(vcpu, PORT_OUTS, buf, sizeof(buf), &exits);
	ktap_print("rep outsb: %zu bytes in %u exits", n, exits);
	TEST_ASSERT_EQ(n, STR_LEN);
	TEST_ASSERT(!memcmp(buf, "hello", STR_LEN), "got \"%.*s\"", (int)n, buf);
	vcpu_regs_get(vcpu, &regs);
	TEST_ASSERT_EQ(regs.rcx & 0xffff, 0);
	TEST_ASSERT_EQ(regs.rsi & 0xffff, rm_outs_buf - rm_outs_start + STR_LEN);
	TEST_ASSERT_EQ(regs.rip, rm_outs_buf - rm_outs_start);
	kvm_vm_free(vm);
}

static void rep_insb(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = create(&vcpu, rm_ins_start, rm_ins_end);
	static const char fill[] = "KVMio";
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	unsigned int exits = 0;
	uint8_t buf[16];
	size_t got = 0, n;

	/* Feed the IN string, however the kernel splits it. */
	while (got < STR_LEN) {
		vcpu_run(vcpu);
		TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
		TEST_ASSERT_EQ(run->io.direction, KVM_EXIT_IO_IN);
		TEST_ASSERT_EQ(run->io.port, PORT_INS);
		TEST_ASSERT_EQ(run->io.size, 1);
		TEST_ASSERT_GE(run->io.count, 1);
		TEST_ASSERT_LE(got + run->io.count, STR_LEN);
		memcpy(vcpu_io_data(vcpu), fill + got, run->io.count);
		got += run->io.count;
		exits++;
	}
	ktap_print("rep insb: %zu bytes in %u exits", got, exits);

	/* The guest then writes its buffer back out. */
	n = collect_string_out(vcpu, PORT_ECHO, buf, sizeof(buf), &exits);
	TEST_ASSERT_EQ(n, STR_LEN);
	TEST_ASSERT(!memcmp(buf, fill, STR_LEN), "echoed \"%.*s\"", (int)n, buf);
	TEST_ASSERT(!memcmp(addr_gpa2hva(vm, VM_REAL_MODE_LOAD_GPA +
					 (rm_ins_buf - rm_ins_start)), fill, STR_LEN),
		    "guest buffer does not hold the IN data");
	vcpu_regs_get(vcpu, &regs);
	TEST_ASSERT_EQ(regs.rcx & 0xffff, 0);
	TEST_ASSERT_EQ(regs.rdi & 0xffff, rm_ins_buf - rm_ins_start + STR_LEN);
	kvm_vm_free(vm);
}

/* A vCPU starts at the architectural reset vector, 0xfffffff0. */
static void reset_vector(void)
{
	const uint64_t bios_gpa = 0xffff0000ULL, bios_size = 0x10000;
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	struct kvm_vcpu *vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint8_t *bios, *d;

	bios = vm_add_memory(vm, 0, 0, bios_gpa, bios_size);
	memcpy(bios + 0xfff0, rm_reset_start, rm_reset_end - rm_reset_start);
	vcpu = vm_vcpu_add_bare(vm, 0);

	vcpu_regs_get(vcpu, &regs);
	vcpu_sregs_get(vcpu, &sregs);
	TEST_ASSERT_EQ(regs.rip, 0xfff0);
	TEST_ASSERT_EQ(regs.rflags, X86_EFLAGS_FIXED);
	TEST_ASSERT_EQ(sregs.cs.selector, 0xf000);
	TEST_ASSERT_EQ(sregs.cs.base, 0xffff0000);
	TEST_ASSERT_EQ(sregs.cr0 & (X86_CR0_PE | X86_CR0_PG), 0);

	d = expect_io(vcpu, KVM_EXIT_IO_OUT, 1, 0x81, 1);
	TEST_ASSERT_EQ(d[0], 0x77);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_HLT);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(out_sizes),
		KTAP_CASE(in_completion),
		KTAP_CASE(rep_outsb),
		KTAP_CASE(rep_insb),
		KTAP_CASE(reset_vector),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Port I/O exits.  IN/OUT go to userspace as KVM_EXIT_IO with the data in
 * the PIO page; RIP stays on the instruction until the next KVM_RUN
 * completes it, as upstream does.  INS/OUTS go through the emulator.
 */
#include "x86.h"
#include "irq.h"

static void kvm_pio_exit(struct kvm_vcpu *vcpu, u16 port, u8 size, bool in,
			 u32 count)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = port;
	run->io.count = count;
	run->io.data_offset = KVM_PIO_PAGE_OFFSET * PAGE_SIZE;
}

/* Userspace may have moved RIP (e.g. KVM_SET_REGS): then drop the I/O. */
static bool kvm_pio_rip_unchanged(struct kvm_vcpu *vcpu)
{
	return kvm_rip_read(vcpu) == vcpu->arch.pio_rip;
}

static int complete_fast_pio_out(struct kvm_vcpu *vcpu)
{
	if (!kvm_pio_rip_unchanged(vcpu))
		return EXIT_RESUME;
	return kvm_skip_instruction(vcpu, vcpu->arch.pio_next_rip);
}

static int complete_fast_pio_in(struct kvm_vcpu *vcpu)
{
	unsigned long rax = kvm_reg_read(vcpu, VCPU_REGS_RAX);
	u32 val = 0;

	if (!kvm_pio_rip_unchanged(vcpu))
		return EXIT_RESUME;
	memcpy(&val, vcpu->pio_data, vcpu->arch.pio.size);
	switch (vcpu->arch.pio.size) {
	case 1:
		rax = (rax & ~0xffUL) | (u8)val;
		break;
	case 2:
		rax = (rax & ~0xffffUL) | (u16)val;
		break;
	default:
		/* A 32-bit destination zero-extends (SDM vol 1, 3.4.1.1). */
		rax = val;
		break;
	}
	kvm_reg_write(vcpu, VCPU_REGS_RAX, rax);
	return kvm_skip_instruction(vcpu, vcpu->arch.pio_next_rip);
}

int kvm_handle_pio(struct kvm_vcpu *vcpu, const struct kvm_pio_exit *io)
{
	unsigned long rax = kvm_reg_read(vcpu, VCPU_REGS_RAX);

	if (io->string)
		return kvm_emulate_string_pio(vcpu);

	vcpu->arch.pio.port = io->port;
	vcpu->arch.pio.size = io->size;
	vcpu->arch.pio.in = io->in;
	vcpu->arch.pio.count = 1;
	vcpu->arch.pio_rip = kvm_rip_read(vcpu);
	vcpu->arch.pio_next_rip = io->next_rip;

	if (!io->in)
		memcpy(vcpu->pio_data, &rax, io->size);
	/* An in-kernel device (PIC, PIT, ioeventfd) completes it now. */
	if (!kvm_irq_pio(vcpu, io->port, io->size, io->in, vcpu->pio_data))
		return io->in ? complete_fast_pio_in(vcpu) :
				complete_fast_pio_out(vcpu);

	kvm_pio_exit(vcpu, io->port, io->size, io->in, 1);
	if (io->in)
		vcpu->arch.complete_userspace_io = complete_fast_pio_in;
	else
		vcpu->arch.complete_userspace_io = complete_fast_pio_out;
	return EXIT_USER;
}

/* The emulator's port accesses (INS/OUTS): see emul_glue.c. */
void kvm_pio_exit_emulated(struct kvm_vcpu *vcpu, u16 port, u8 size,
			   bool in, u32 count)
{
	kvm_pio_exit(vcpu, port, size, in, count);
}

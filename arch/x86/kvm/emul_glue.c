// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bridge between the run loop and the instruction emulator.
 * Until the emulator is wired in, anything that needs it is reported to
 * userspace as an emulation failure, never guessed.
 */
#include "x86.h"

int kvm_emulation_failure(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.ndata = 0;
	run->emulation_failure.flags = 0;
	return EXIT_USER;
}

int kvm_handle_mmio(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code)
{
	return kvm_emulation_failure(vcpu);
}

int kvm_emulate_string_pio(struct kvm_vcpu *vcpu)
{
	return kvm_emulation_failure(vcpu);
}

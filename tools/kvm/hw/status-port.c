// SPDX-License-Identifier: GPL-2.0
/*
 * The sandbox status port: lkvm's guest init writes the exit status of the
 * sandbox command (one byte) to LKVM_STATUS_PORT; lkvm stops the guest
 * and exits with that status.  Only present for lkvm sandbox.
 */
#include <string.h>

#include "kvm/bus.h"
#include "kvm/init.h"
#include "kvm/initramfs.h"

static void status_port__io(struct kvm_cpu *cpu, u64 offset, u8 *data,
			   u32 len, bool is_write, void *opaque)
{
	struct kvm *kvm = opaque;

	(void)cpu;
	(void)offset;
	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	atomic_store(&kvm->guest_status, data[0]);
	pr_debug("sandbox: the command exited with status %u", data[0]);
	/* The guest has synced; its power-off would only add messages. */
	kvm__request_stop(kvm, KVM_STOP_POWEROFF);
}

static int status_port__init(struct kvm *kvm)
{
	atomic_store(&kvm->guest_status, -1);
	if (!kvm->cfg->sandbox_argv)
		return 0;
	return bus__register(BUS_PIO, LKVM_STATUS_PORT, 1, status_port__io, kvm);
}
lkvm_init(INIT_DEV, status_port__init);

// SPDX-License-Identifier: GPL-2.0
/*
 * Two PC system ports that need an answer: 0x80, the POST code port the
 * kernel writes to for I/O delays, and 0x92, "system control port A",
 * whose bit 0 resets the machine (IBM PS/2 Hardware Interface Technical
 * Reference).
 */
#include "kvm/bus.h"
#include "kvm/init.h"
#include "kvm/kvm.h"

#define POST_PORT		0x80
#define SYSCTL_A_PORT		0x92
#define SYSCTL_A_FAST_RESET	0x01
#define SYSCTL_A_A20		0x02

static struct kvm *sysctl_kvm;

static void post_io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
		    bool is_write, void *opaque)
{
	(void)cpu;
	(void)off;
	(void)opaque;
	if (!is_write)
		bus__put(data, len, 0xffffffff);
}

static void sysctl_a_io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
			bool is_write, void *opaque)
{
	(void)cpu;
	(void)off;
	(void)len;
	(void)opaque;
	if (is_write && (data[0] & SYSCTL_A_FAST_RESET))
		kvm__request_stop(sysctl_kvm, KVM_STOP_REBOOT);
	else if (!is_write)
		data[0] = SYSCTL_A_A20;	/* A20 always enabled */
}

static int sysctl__init(struct kvm *kvm)
{
	int r;

	sysctl_kvm = kvm;
	r = bus__register(BUS_PIO, POST_PORT, 1, post_io, NULL);
	if (r < 0)
		return r;
	return bus__register(BUS_PIO, SYSCTL_A_PORT, 1, sysctl_a_io, NULL);
}
lkvm_init(INIT_DEV, sysctl__init);

// SPDX-License-Identifier: GPL-2.0-only
/*
 * hide_caps=: make ukvm answer like an older kernel that lacks some
 * capabilities, so clients' fallback paths can be tested against a module
 * that has everything.  A hidden capability reads 0 from KVM_CHECK_EXTENSION,
 * cannot be enabled with KVM_ENABLE_CAP, and the ioctls it introduced fail
 * the way an unknown ioctl does on that fd.
 *
 *	insmod ukvm.ko hide_caps=irqfd,ioeventfd,coalesced_mmio
 */
#define pr_fmt(fmt) "ukvm: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "ukvm.h"

struct hideable_cap {
	const char *name;		/* KVM_CAP_<NAME> in lower case */
	long cap;
	unsigned int ioctls[5];		/* what a kernel without it lacks */
};

static const struct hideable_cap hideable_caps[] = {
	{ "irqchip", KVM_CAP_IRQCHIP,
	  { KVM_CREATE_IRQCHIP, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS,
	    KVM_GET_IRQCHIP, KVM_SET_IRQCHIP } },
	{ "pit2", KVM_CAP_PIT2, { KVM_CREATE_PIT2, KVM_GET_PIT2, KVM_SET_PIT2 } },
	{ "irqfd", KVM_CAP_IRQFD, { KVM_IRQFD } },
	{ "ioeventfd", KVM_CAP_IOEVENTFD, { KVM_IOEVENTFD } },
	{ "signal_msi", KVM_CAP_SIGNAL_MSI, { KVM_SIGNAL_MSI } },
	{ "irq_routing", KVM_CAP_IRQ_ROUTING, { KVM_SET_GSI_ROUTING } },
	{ "split_irqchip", KVM_CAP_SPLIT_IRQCHIP, { } },
	{ "immediate_exit", KVM_CAP_IMMEDIATE_EXIT, { } },
	{ "set_tss_addr", KVM_CAP_SET_TSS_ADDR, { KVM_SET_TSS_ADDR } },
	{ "ext_cpuid", KVM_CAP_EXT_CPUID,
	  { KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2 } },
	{ "user_nmi", KVM_CAP_USER_NMI, { KVM_NMI } },
	{ "adjust_clock", KVM_CAP_ADJUST_CLOCK, { KVM_GET_CLOCK, KVM_SET_CLOCK } },
	{ "set_guest_debug", KVM_CAP_SET_GUEST_DEBUG, { KVM_SET_GUEST_DEBUG } },
	{ "coalesced_mmio", KVM_CAP_COALESCED_MMIO,
	  { KVM_REGISTER_COALESCED_MMIO, KVM_UNREGISTER_COALESCED_MMIO } },
	{ "manual_dirty_log_protect2", KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
	  { KVM_CLEAR_DIRTY_LOG } },
	{ "dirty_log_ring", KVM_CAP_DIRTY_LOG_RING, { KVM_RESET_DIRTY_RINGS } },
	{ "binary_stats_fd", KVM_CAP_BINARY_STATS_FD, { KVM_GET_STATS_FD } },
	{ "xsave", KVM_CAP_XSAVE, { KVM_GET_XSAVE, KVM_SET_XSAVE } },
	{ "xcrs", KVM_CAP_XCRS, { KVM_GET_XCRS, KVM_SET_XCRS } },
	{ "vcpu_events", KVM_CAP_VCPU_EVENTS,
	  { KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS } },
	{ "debugregs", KVM_CAP_DEBUGREGS, { KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS } },
	{ "mp_state", KVM_CAP_MP_STATE, { KVM_GET_MP_STATE, KVM_SET_MP_STATE } },
	{ "get_tsc_khz", KVM_CAP_GET_TSC_KHZ, { KVM_GET_TSC_KHZ } },
	{ "tsc_control", KVM_CAP_TSC_CONTROL, { KVM_SET_TSC_KHZ } },
	/*
	 * SMM came with address spaces (Linux 4.5): hiding either leaves
	 * none of it (kvm_smm_supported), and without address spaces a slot
	 * id naming address space 1 is EINVAL (kvm_address_spaces).
	 */
	{ "x86_smm", KVM_CAP_X86_SMM, { KVM_SMI } },
	{ "multi_address_space", KVM_CAP_MULTI_ADDRESS_SPACE, { } },
};

static DECLARE_BITMAP(hidden, ARRAY_SIZE(hideable_caps));

static int hide_caps_set(const char *val, const struct kernel_param *kp)
{
	DECLARE_BITMAP(want, ARRAY_SIZE(hideable_caps));
	char *list, *tok, *cur;
	int r = 0;
	size_t i;

	list = kstrdup(strim((char *)val), GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	bitmap_zero(want, ARRAY_SIZE(hideable_caps));
	cur = list;
	while ((tok = strsep(&cur, ",")) && !r) {
		if (!*tok)
			continue;
		for (i = 0; i < ARRAY_SIZE(hideable_caps); i++)
			if (!strcmp(tok, hideable_caps[i].name))
				break;
		if (i == ARRAY_SIZE(hideable_caps)) {
			pr_err("hide_caps: unknown capability '%s'\n", tok);
			r = -EINVAL;
		} else {
			__set_bit(i, want);
		}
	}
	kfree(list);
	if (!r)
		bitmap_copy(hidden, want, ARRAY_SIZE(hideable_caps));
	return r;
}

static int hide_caps_get(char *buf, const struct kernel_param *kp)
{
	int len = 0;
	size_t i;

	for_each_set_bit(i, hidden, ARRAY_SIZE(hideable_caps))
		len += scnprintf(buf + len, PAGE_SIZE - len, "%s%s",
				 len ? "," : "", hideable_caps[i].name);
	len += scnprintf(buf + len, PAGE_SIZE - len, "\n");
	return len;
}

static const struct kernel_param_ops hide_caps_ops = {
	.set = hide_caps_set,
	.get = hide_caps_get,
};
module_param_cb(hide_caps, &hide_caps_ops, NULL, 0444);
MODULE_PARM_DESC(hide_caps,
		 "comma-separated capabilities to hide, as an older kernel would (e.g. irqfd,ioeventfd)");

bool kvm_cap_hidden(long cap)
{
	size_t i;

	for_each_set_bit(i, hidden, ARRAY_SIZE(hideable_caps))
		if (hideable_caps[i].cap == cap)
			return true;
	return false;
}

/* How many memslot address spaces a slot id may name. */
int kvm_address_spaces(void)
{
	return kvm_cap_hidden(KVM_CAP_MULTI_ADDRESS_SPACE) ?
	       1 : KVM_ADDRESS_SPACE_NUM;
}

/*
 * Whether @ioctl belongs to a hidden capability.  KVM_ENABLE_CAP is
 * hidden when it names a hidden capability; a faulting argument is left
 * for the real handler to report.
 */
bool kvm_ioctl_hidden(unsigned int ioctl, unsigned long arg)
{
	struct kvm_enable_cap __user *ucap = (void __user *)arg;
	size_t i, j;
	__u32 cap;

	if (bitmap_empty(hidden, ARRAY_SIZE(hideable_caps)))
		return false;
	if (ioctl == KVM_ENABLE_CAP)
		return !get_user(cap, &ucap->cap) && kvm_cap_hidden(cap);
	for_each_set_bit(i, hidden, ARRAY_SIZE(hideable_caps))
		for (j = 0; j < ARRAY_SIZE(hideable_caps[i].ioctls); j++)
			if (hideable_caps[i].ioctls[j] == ioctl)
				return true;
	return false;
}

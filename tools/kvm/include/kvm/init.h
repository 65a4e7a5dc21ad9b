/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__INIT_H
#define KVM__INIT_H

struct kvm;

/*
 * Devices and machine parts register themselves: each file names its init
 * function with lkvm_init(LEVEL, fn) and builtin-run calls every level in
 * order.  An init function returns 0, or a negative value after printing
 * why it failed.  lkvm_exit(fn) functions run in reverse order at exit.
 */
enum init_level {
	INIT_MACHINE,		/* irqchip, memory map */
	INIT_DEV_BASE,		/* buses: PCI host bridge */
	INIT_DEV,		/* legacy devices */
	INIT_VIRTIO,		/* virtio devices */
	INIT_FIRMWARE,		/* MP table, BIOS: after every device exists */
	INIT_LATE,
	INIT_NR_LEVELS,
};

struct init_item {
	int level;			/* enum init_level, or -1 for exit */
	int (*fn)(struct kvm *kvm);
	const char *name;
};

#define __lkvm_item(lvl, f, tag)					\
	static const struct init_item __lkvm_##tag##_##f		\
	__attribute__((used, section("lkvm_init"), aligned(8))) =	\
		{ .level = (lvl), .fn = (f), .name = #f }

#define lkvm_init(level, fn)	__lkvm_item(level, fn, init)
#define lkvm_exit(fn)		__lkvm_item(-1, fn, exit)

int init__run_all(struct kvm *kvm);
void init__exit_all(struct kvm *kvm);

#endif

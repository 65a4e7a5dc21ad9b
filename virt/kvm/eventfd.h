/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * irqfd (an eventfd that raises a GSI) and ioeventfd (a guest write that
 * signals an eventfd), and what they need from the architecture's
 * interrupt routing.
 */
#ifndef UKVM_EVENTFD_H
#define UKVM_EVENTFD_H

#include <linux/list.h>
#include <linux/types.h>

struct kvm;
struct kvm_irqfd;
struct kvm_ioeventfd;

/* Who drives an interrupt line; a line's level is the OR of its sources. */
enum {
	KVM_USERSPACE_IRQ_SOURCE_ID,
	KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID,
	KVM_PIT_IRQ_SOURCE_ID,
	KVM_NR_IRQ_SOURCES
};

/*
 * Called (in any context, never with a device lock held) when the guest
 * acknowledged the interrupt of @gsi: an EOI reached the IOAPIC pin or
 * the PIC input that @gsi routes to.
 */
struct kvm_irq_ack_notifier {
	struct hlist_node link;
	u32 gsi;
	void (*irq_acked)(struct kvm_irq_ack_notifier *kian);
};

/* Provided by the architecture (arch/x86/kvm/irq.c). */
int kvm_set_irq(struct kvm *kvm, int source, u32 gsi, int level);
bool kvm_arch_irqfd_allowed(struct kvm *kvm, bool resample);
void kvm_register_irq_ack_notifier(struct kvm *kvm,
				   struct kvm_irq_ack_notifier *kian);
void kvm_unregister_irq_ack_notifier(struct kvm *kvm,
				     struct kvm_irq_ack_notifier *kian);

/* eventfd.c */
long kvm_irqfd(struct kvm *kvm, struct kvm_irqfd __user *argp);
long kvm_ioeventfd(struct kvm *kvm, struct kvm_ioeventfd __user *argp);
void kvm_eventfd_release(struct kvm *kvm);

#endif /* UKVM_EVENTFD_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The in-kernel irqchip: what the x86 core, the SVM backend and the
 * device models (lapic.c, ioapic.c, i8259.c, i8254.c) see of each other.
 *
 * Data flows one way: a device raises a GSI (kvm_set_irq), the routing
 * table (irq.c) turns it into a PIC input, an IOAPIC pin or an MSI, those
 * reach local APICs (lapic.c), and a local APIC makes its vCPU re-evaluate
 * its events (KVM_REQ_EVENT) and kicks it.  Only the vCPU's own thread
 * moves an interrupt from IRR to ISR and injects it.
 */
#ifndef UKVM_X86_IRQ_H
#define UKVM_X86_IRQ_H

#include "x86.h"
#include "eventfd.h"

#define KVM_MAX_IRQ_ROUTES	4096	/* upstream's limit on GSIs and routes */
#define KVM_PIC_NUM_PINS	16	/* two cascaded 8259As */

/* One routing entry, checked and decoded. */
struct kvm_irq_route {
	u32 gsi;
	u32 type;			/* KVM_IRQ_ROUTING_IRQCHIP, _MSI, _HV_SINT */
	union {
		struct {
			u32 chip;	/* KVM_IRQCHIP_* */
			u32 pin;
		} irqchip;
		struct {
			u32 address_lo;
			u32 address_hi;
			u32 data;
		} msi;
		struct {
			u32 vcpu;	/* Hyper-V VP index */
			u32 sint;
		} hv_sint;
	};
};

/* Immutable once published; replaced as a whole under RCU. */
struct kvm_irq_routing_table {
	struct rcu_head rcu;
	/* GSI of each irqchip pin, or -1: maps an EOI back to its GSI. */
	int chip[KVM_NR_IRQCHIPS][KVM_IOAPIC_NUM_PINS];
	u32 nr;
	struct kvm_irq_route entries[];	/* sorted by GSI */
};

struct kvm_pic;
struct kvm_ioapic;
struct kvm_pit;

struct kvm_x86_irqchip {
	struct mutex lock;		/* serializes routing changes */
	struct kvm_pic *pic;
	struct kvm_ioapic *ioapic;
	struct kvm_irq_routing_table __rcu *routing;
	spinlock_t notifier_lock;	/* protects changes to @ack_notifiers */
	struct hlist_head ack_notifiers;	/* RCU list */
	atomic_t lowest_prio_rr;	/* rotates lowest-priority delivery */
};

/* An interrupt message on its way to local APICs (SDM vol 3, 10.6.1). */
struct kvm_lapic_irq {
	u32 vector;
	u32 delivery_mode;		/* APIC_DM_* */
	bool logical;			/* destination mode */
	bool level;			/* assert (INIT de-assert is 0) */
	bool trig_level;		/* level-triggered */
	u32 shorthand;			/* APIC_DEST_NOSHORT/SELF/ALLINC/ALLBUT */
	u32 dest_id;
	bool x2apic_dest;		/* @dest_id is 32 bits (x2APIC ICR) */
};

static inline bool irqchip_in_kernel(struct kvm *kvm)
{
	/* Pairs with the smp_store_release() in KVM_CREATE_IRQCHIP. */
	return smp_load_acquire(&kvm->arch.irqchip) != NULL;
}

/*
 * KVM_CAP_SPLIT_IRQCHIP: the local APICs are in the kernel, the PIC and
 * IOAPIC in userspace (set before the irqchip is published).
 */
static inline bool irqchip_split(struct kvm *kvm)
{
	return irqchip_in_kernel(kvm) && kvm->arch.irqchip_split;
}

/* irq.c: routing, lines, MSIs, the VM ioctls, event injection. */
long kvm_irq_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg);
long kvm_irq_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			unsigned long arg);
long kvm_irq_check_extension(struct kvm *kvm, long ext);
long kvm_irq_enable_split(struct kvm *kvm, u64 nr_reserved_pins);
long kvm_irq_interrupt(struct kvm_vcpu *vcpu, u32 vector);
bool kvm_irq_accept_dm_intr(struct kvm_vcpu *vcpu);
bool kvm_split_eoi_exits(struct kvm_vcpu *vcpu, int vector);
void kvm_irq_destroy_vm(struct kvm *kvm);
int kvm_irq_vcpu_create(struct kvm_vcpu *vcpu);
void kvm_irq_vcpu_destroy(struct kvm_vcpu *vcpu);
void kvm_notify_acked_irq(struct kvm *kvm, u32 chip, u32 pin);
void kvm_notify_unmasked_irq(struct kvm *kvm, u32 chip, u32 pin);
int kvm_set_msi(struct kvm *kvm, u32 address_lo, u32 address_hi, u32 data);
void kvm_vcpu_kick(struct kvm_vcpu *vcpu);
int kvm_irq_inject(struct kvm_vcpu *vcpu, bool slot_busy);
bool kvm_irq_halt(struct kvm_vcpu *vcpu);
int kvm_irq_block(struct kvm_vcpu *vcpu);
bool kvm_vcpu_blocked(struct kvm_vcpu *vcpu);
void kvm_irq_nmi_iret(struct kvm_vcpu *vcpu);
void kvm_nmi_collapse(struct kvm_vcpu *vcpu);
int kvm_irq_mmio_read(struct kvm_vcpu *vcpu, gpa_t gpa, int len, void *val);
int kvm_irq_mmio_write(struct kvm_vcpu *vcpu, gpa_t gpa, int len,
		       const void *val);
int kvm_irq_pio(struct kvm_vcpu *vcpu, u16 port, int size, bool in,
		void *val);

/* lapic.c */
int kvm_lapic_create(struct kvm_vcpu *vcpu);
void kvm_lapic_free(struct kvm_vcpu *vcpu);
void kvm_lapic_reset(struct kvm_vcpu *vcpu, bool init);
int kvm_irq_delivery_to_apic(struct kvm *kvm, struct kvm_vcpu *src,
			     const struct kvm_lapic_irq *irq);
void kvm_lapic_process_events(struct kvm_vcpu *vcpu);
bool kvm_lapic_init_latched(struct kvm_vcpu *vcpu);
void kvm_lapic_latch_init(struct kvm_vcpu *vcpu, bool latched);
int kvm_lapic_has_interrupt(struct kvm_vcpu *vcpu);
int kvm_lapic_tpr_blocked(struct kvm_vcpu *vcpu);
void kvm_lapic_ack_interrupt(struct kvm_vcpu *vcpu, int vector);
bool kvm_lapic_accept_pic_intr(struct kvm_vcpu *vcpu);
bool kvm_lapic_matches(struct kvm_vcpu *vcpu, const struct kvm_lapic_irq *irq);
int kvm_lapic_take_ioapic_eoi(struct kvm_vcpu *vcpu);
int *kvm_lapic_extint(struct kvm_vcpu *vcpu);
void kvm_lapic_cr8_to_guest(struct kvm_vcpu *vcpu);
void kvm_lapic_after_exit(struct kvm_vcpu *vcpu);
void kvm_lapic_set_pv_eoi(struct kvm_vcpu *vcpu, u64 data);
void kvm_lapic_before_entry(struct kvm_vcpu *vcpu);
long kvm_lapic_set_vapic_addr(struct kvm_vcpu *vcpu, u64 addr);
void kvm_pv_kick_cpu(struct kvm *kvm, u32 apic_id);
long kvm_pv_send_ipi(struct kvm_vcpu *src, u64 lo, u64 hi, u32 min, u64 icr,
		     bool op64);
int kvm_lapic_mmio_read(struct kvm_vcpu *vcpu, gpa_t gpa, int len, void *val);
int kvm_lapic_mmio_write(struct kvm_vcpu *vcpu, gpa_t gpa, int len,
			 const void *val);
int kvm_lapic_msr_read(struct kvm_vcpu *vcpu, u32 msr, u64 *data);
int kvm_lapic_msr_write(struct kvm_vcpu *vcpu, u32 msr, u64 data, bool host);
int kvm_lapic_get_state(struct kvm_vcpu *vcpu, struct kvm_lapic_state *s);
u64 kvm_lapic_bus_hz(void);
bool kvm_lapic_deliver_fixed(struct kvm_vcpu *vcpu, u8 vector);
int kvm_lapic_hv_msr_read(struct kvm_vcpu *vcpu, u32 reg, u64 *data);
int kvm_lapic_hv_msr_write(struct kvm_vcpu *vcpu, u32 reg, u64 data);
int kvm_lapic_set_state(struct kvm_vcpu *vcpu, const struct kvm_lapic_state *s);

/* ioapic.c */
int kvm_ioapic_create(struct kvm *kvm);
void kvm_ioapic_destroy(struct kvm *kvm, bool unregister);
int kvm_ioapic_set_irq(struct kvm_ioapic *ioapic, u32 pin, int source,
		       int level);
void kvm_ioapic_eoi(struct kvm *kvm, int vector, bool level);
void kvm_ioapic_get_state(struct kvm_ioapic *ioapic,
			  struct kvm_ioapic_state *s);
void kvm_ioapic_set_state(struct kvm_ioapic *ioapic,
			  const struct kvm_ioapic_state *s);
void kvm_ioapic_clear_source(struct kvm_ioapic *ioapic, int source);

/* i8259.c */
int kvm_pic_create(struct kvm *kvm);
void kvm_pic_destroy(struct kvm *kvm, bool unregister);
int kvm_pic_set_irq(struct kvm_pic *pic, u32 pin, int source, int level);
bool kvm_pic_has_output(struct kvm_pic *pic);
int kvm_pic_read_irq(struct kvm *kvm);
void kvm_pic_get_state(struct kvm_pic *pic, int chip, struct kvm_pic_state *s);
void kvm_pic_set_state(struct kvm_pic *pic, int chip,
		       const struct kvm_pic_state *s);
void kvm_pic_clear_source(struct kvm_pic *pic, int source);

/* i8254.c */
long kvm_pit_vm_ioctl(struct kvm *kvm, unsigned int ioctl,
		      void __user *argp);
void kvm_pit_destroy(struct kvm *kvm, bool unregister);
void kvm_pit_unmasked(struct kvm *kvm);

#endif /* UKVM_X86_IRQ_H */

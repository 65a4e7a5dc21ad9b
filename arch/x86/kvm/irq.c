// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-kernel irqchip's glue: KVM_CREATE_IRQCHIP, GSI routing
 * (KVM_SET_GSI_ROUTING, KVM_IRQ_LINE, KVM_SIGNAL_MSI), ack notifiers,
 * the per-vCPU event injection before each entry (NMI, then the PIC's
 * ExtINT, then the local APIC, opening interrupt/NMI windows when the
 * guest cannot take them yet), HLT and wait-for-SIPI blocking, and kicks.
 */
#include <linux/module.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/sched/signal.h>
#include <asm/apicdef.h>

#include "irq.h"
#include "lapic.h"
#include "ioapic.h"
#include "hyperv.h"
#include "i8259.h"
#include "i8254.h"
#include "kvm_para.h"
#include "smm.h"

/* MSI address and data (SDM vol 3, 10.11.1 and 10.11.2). */
#define MSI_ADDR_DEST_SHIFT	12
#define MSI_ADDR_DEST_LOGICAL	BIT(2)
#define MSI_ADDR_REDIR_HINT	BIT(3)
#define MSI_DATA_VECTOR		0xff
#define MSI_DATA_DELMODE_MASK	0x700
#define MSI_DATA_TRIG_LEVEL	BIT(15)

#define NMI_VECTOR_NR		2

/* ---- routing ---------------------------------------------------------- */

static int route_cmp(const void *a, const void *b)
{
	const struct kvm_irq_route *x = a, *y = b;

	return x->gsi < y->gsi ? -1 : x->gsi > y->gsi;
}

static int route_decode(struct kvm *kvm, struct kvm_irq_route *e,
			const struct kvm_irq_routing_entry *ue)
{
	if (ue->gsi >= KVM_MAX_IRQ_ROUTES)
		return -EINVAL;
	e->gsi = ue->gsi;
	e->type = ue->type;
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		/* With a split irqchip the PIC and IOAPIC are userspace's. */
		if (ue->flags || kvm->arch.irqchip_split)
			return -EINVAL;
		e->irqchip.chip = ue->u.irqchip.irqchip;
		e->irqchip.pin = ue->u.irqchip.pin;
		switch (e->irqchip.chip) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			return e->irqchip.pin < 8 ? 0 : -EINVAL;
		case KVM_IRQCHIP_IOAPIC:
			return e->irqchip.pin < KVM_IOAPIC_NUM_PINS ? 0 : -EINVAL;
		default:
			return -EINVAL;
		}
	case KVM_IRQ_ROUTING_MSI:
		/* No KVM_CAP_MSI_DEVID on x86. */
		if (ue->flags)
			return -EINVAL;
		e->msi.address_lo = ue->u.msi.address_lo;
		e->msi.address_hi = ue->u.msi.address_hi;
		e->msi.data = ue->u.msi.data;
		return 0;
	case KVM_IRQ_ROUTING_HV_SINT:
		/* A Hyper-V SynIC interrupt source (hyperv.c). */
		if (ue->flags)
			return -EINVAL;
		e->hv_sint.vcpu = ue->u.hv_sint.vcpu;
		e->hv_sint.sint = ue->u.hv_sint.sint;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * A GSI may fan out to one pin of each irqchip; an MSI GSI has exactly one
 * route (upstream's rule).  @e is sorted by GSI.
 */
static int routes_check(const struct kvm_irq_route *e, u32 nr)
{
	u32 i, j, k;

	for (i = 0; i < nr; i = j) {
		for (j = i + 1; j < nr && e[j].gsi == e[i].gsi; j++)
			;
		if (j - i > KVM_NR_IRQCHIPS)
			return -EINVAL;
		for (k = i; k < j; k++) {
			u32 m;

			for (m = k + 1; m < j; m++) {
				if (e[k].type != KVM_IRQ_ROUTING_IRQCHIP ||
				    e[m].type != KVM_IRQ_ROUTING_IRQCHIP ||
				    e[k].irqchip.chip == e[m].irqchip.chip)
					return -EINVAL;
			}
		}
	}
	return 0;
}

static int kvm_set_routing(struct kvm *kvm,
			   const struct kvm_irq_routing_entry *ue, u32 nr)
{
	struct kvm_x86_irqchip *chip = kvm->arch.irqchip;
	struct kvm_irq_routing_table *new, *old;
	u32 i;
	int r;

	new = kvzalloc(struct_size(new, entries, nr), GFP_KERNEL_ACCOUNT);
	if (!new)
		return -ENOMEM;
	new->nr = nr;
	memset(new->chip, -1, sizeof(new->chip));
	for (i = 0; i < nr; i++) {
		r = route_decode(kvm, &new->entries[i], &ue[i]);
		if (r)
			goto fail;
	}
	sort(new->entries, nr, sizeof(new->entries[0]), route_cmp, NULL);
	r = routes_check(new->entries, nr);
	if (r)
		goto fail;
	for (i = 0; i < nr; i++) {
		struct kvm_irq_route *e = &new->entries[i];

		if (e->type == KVM_IRQ_ROUTING_IRQCHIP)
			new->chip[e->irqchip.chip][e->irqchip.pin] = e->gsi;
	}

	mutex_lock(&chip->lock);
	old = rcu_dereference_protected(chip->routing,
					lockdep_is_held(&chip->lock));
	rcu_assign_pointer(chip->routing, new);
	mutex_unlock(&chip->lock);
	synchronize_rcu();
	kvfree(old);
	return 0;
fail:
	kvfree(new);
	return r;
}

/*
 * The PC wiring (and upstream's default): GSI 0-15 go to the PIC input and
 * the IOAPIC pin of the same number, GSI 16-23 to the IOAPIC only.
 */
static int kvm_default_routing(struct kvm *kvm)
{
	struct kvm_irq_routing_entry *ue;
	u32 gsi, n = 0;
	int r;

	ue = kcalloc(KVM_PIC_NUM_PINS + KVM_IOAPIC_NUM_PINS, sizeof(*ue),
		     GFP_KERNEL);
	if (!ue)
		return -ENOMEM;
	for (gsi = 0; gsi < KVM_IOAPIC_NUM_PINS; gsi++) {
		if (gsi < KVM_PIC_NUM_PINS) {
			ue[n].gsi = gsi;
			ue[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			ue[n].u.irqchip.irqchip = gsi < 8 ?
				KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			ue[n++].u.irqchip.pin = gsi & 7;
		}
		ue[n].gsi = gsi;
		ue[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		ue[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		ue[n++].u.irqchip.pin = gsi;
	}
	r = kvm_set_routing(kvm, ue, n);
	kfree(ue);
	return r;
}

static long kvm_vm_ioctl_set_gsi_routing(struct kvm *kvm, void __user *argp)
{
	struct kvm_irq_routing hdr;
	struct kvm_irq_routing_entry *ue;
	long r;

	/* Upstream's order: the header is read before the irqchip is. */
	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (!irqchip_in_kernel(kvm))
		return -EINVAL;
	if (hdr.nr > KVM_MAX_IRQ_ROUTES || hdr.flags)
		return -EINVAL;
	ue = vmemdup_user(argp + sizeof(hdr), array_size(hdr.nr, sizeof(*ue)));
	if (IS_ERR(ue))
		return PTR_ERR(ue);
	r = kvm_set_routing(kvm, ue, hdr.nr);
	kvfree(ue);
	return r;
}

/* ---- raising interrupts ------------------------------------------------ */

static void msi_decode(struct kvm_lapic_irq *irq, u32 address_lo, u32 data)
{
	*irq = (struct kvm_lapic_irq) {
		.vector = data & MSI_DATA_VECTOR,
		.delivery_mode = data & MSI_DATA_DELMODE_MASK,
		.logical = address_lo & MSI_ADDR_DEST_LOGICAL,
		.level = true,
		.trig_level = data & MSI_DATA_TRIG_LEVEL,
		.dest_id = (address_lo >> MSI_ADDR_DEST_SHIFT) & 0xff,
	};
	/* Redirection hint with logical destinations: lowest priority. */
	if ((address_lo & MSI_ADDR_REDIR_HINT) && irq->logical &&
	    irq->delivery_mode == APIC_DM_FIXED)
		irq->delivery_mode = APIC_DM_LOWEST;
}

int kvm_set_msi(struct kvm *kvm, u32 address_lo, u32 address_hi, u32 data)
{
	struct kvm_lapic_irq irq;

	msi_decode(&irq, address_lo, data);
	return kvm_irq_delivery_to_apic(kvm, NULL, &irq);
}

/*
 * Split irqchip: userspace's IOAPIC reaches the local APICs through MSI
 * routes of the GSIs below the number it reserved (KVM_ENABLE_CAP's
 * args[0]).  Ending @vector on @vcpu must exit to it (KVM_EXIT_IOAPIC_EOI)
 * when one of those routes sends @vector level-triggered to this vCPU:
 * that pin's Remote IRR waits for it.
 */
bool kvm_split_eoi_exits(struct kvm_vcpu *vcpu, int vector)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_irq_routing_table *t;
	struct kvm_lapic_irq irq;
	bool hit = false;
	u32 i;

	rcu_read_lock();
	t = rcu_dereference(kvm->arch.irqchip->routing);
	for (i = 0; t && i < t->nr && !hit; i++) {
		const struct kvm_irq_route *e = &t->entries[i];

		/* Sorted by GSI: the reserved ones come first. */
		if (e->gsi >= kvm->arch.nr_reserved_ioapic_pins)
			break;
		if (e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		msi_decode(&irq, e->msi.address_lo, e->msi.data);
		hit = irq.vector == vector && irq.trig_level &&
		      kvm_lapic_matches(vcpu, &irq);
	}
	rcu_read_unlock();
	return hit;
}

static int route_set(struct kvm *kvm, const struct kvm_irq_route *e,
		     int source, int level)
{
	struct kvm_x86_irqchip *chip = kvm->arch.irqchip;

	switch (e->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		if (e->irqchip.chip == KVM_IRQCHIP_IOAPIC)
			return kvm_ioapic_set_irq(chip->ioapic, e->irqchip.pin,
						  source, level);
		return kvm_pic_set_irq(chip->pic, e->irqchip.pin +
				       (e->irqchip.chip ? 8 : 0),
				       source, level);
	case KVM_IRQ_ROUTING_HV_SINT:
		/* An edge, like an MSI. */
		if (!level)
			return -1;
		return kvm_hv_synic_set_irq(kvm, e->hv_sint.vcpu,
					    e->hv_sint.sint);
	default:
		/* An MSI is an edge: only the assertion sends it. */
		if (!level)
			return -1;
		return kvm_set_msi(kvm, e->msi.address_lo, e->msi.address_hi,
				   e->msi.data);
	}
}

/*
 * Drive GSI @gsi from @source, in any context.  Returns upstream's
 * status: the sum of the positive results of every route (deliveries),
 * 0 if coalesced, -1 if nothing took it (masked, or no route).
 */
int kvm_set_irq(struct kvm *kvm, int source, u32 gsi, int level)
{
	struct kvm_irq_routing_table *t;
	int ret = -1, r;
	u32 lo, hi;

	if (!irqchip_in_kernel(kvm))
		return -1;
	rcu_read_lock();
	t = rcu_dereference(kvm->arch.irqchip->routing);
	if (!t)
		goto out;
	/* First entry with this GSI: the table is sorted. */
	for (lo = 0, hi = t->nr; lo < hi;) {
		u32 mid = (lo + hi) / 2;

		if (t->entries[mid].gsi < gsi)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < t->nr && t->entries[lo].gsi == gsi; lo++) {
		r = route_set(kvm, &t->entries[lo], source, level);
		if (r >= 0)
			ret = r + (ret < 0 ? 0 : ret);
	}
out:
	rcu_read_unlock();
	return ret;
}

bool kvm_arch_irqfd_allowed(struct kvm *kvm, bool resample)
{
	/* Resampling listens to the in-kernel IOAPIC's EOIs: not split. */
	if (resample)
		return irqchip_in_kernel(kvm) && !irqchip_split(kvm);
	return irqchip_in_kernel(kvm);
}

/* ---- ack notifiers ----------------------------------------------------- */

void kvm_register_irq_ack_notifier(struct kvm *kvm,
				   struct kvm_irq_ack_notifier *kian)
{
	struct kvm_x86_irqchip *chip = kvm->arch.irqchip;

	spin_lock(&chip->notifier_lock);
	hlist_add_head_rcu(&kian->link, &chip->ack_notifiers);
	spin_unlock(&chip->notifier_lock);
}

void kvm_unregister_irq_ack_notifier(struct kvm *kvm,
				     struct kvm_irq_ack_notifier *kian)
{
	struct kvm_x86_irqchip *chip = kvm->arch.irqchip;

	spin_lock(&chip->notifier_lock);
	hlist_del_init_rcu(&kian->link);
	spin_unlock(&chip->notifier_lock);
	synchronize_rcu();
}

/* An EOI reached irqchip @chip's input @pin.  No device lock held. */
void kvm_notify_acked_irq(struct kvm *kvm, u32 chip, u32 pin)
{
	struct kvm_x86_irqchip *ic = kvm->arch.irqchip;
	struct kvm_irq_routing_table *t;
	struct kvm_irq_ack_notifier *kian;
	int gsi;

	rcu_read_lock();
	t = rcu_dereference(ic->routing);
	gsi = t ? t->chip[chip][pin] : -1;
	if (gsi >= 0) {
		hlist_for_each_entry_rcu(kian, &ic->ack_notifiers, link)
			if (kian->gsi == gsi)
				kian->irq_acked(kian);
	}
	rcu_read_unlock();
}

/*
 * Irqchip @chip's input @pin was unmasked (any context, device lock
 * possibly held).  The PIT's reinjection waits for an ack that a tick
 * sent while IRQ0 was masked will never get: start afresh (upstream does
 * the same through its mask notifiers).
 */
void kvm_notify_unmasked_irq(struct kvm *kvm, u32 chip, u32 pin)
{
	struct kvm_irq_routing_table *t;
	int gsi;

	rcu_read_lock();
	t = rcu_dereference(kvm->arch.irqchip->routing);
	gsi = t ? t->chip[chip][pin] : -1;
	rcu_read_unlock();
	if (gsi == 0)
		kvm_pit_unmasked(kvm);
}

/* ---- VM ioctls --------------------------------------------------------- */

static struct kvm_x86_irqchip *irqchip_alloc(void)
{
	struct kvm_x86_irqchip *chip;

	chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);
	if (!chip)
		return NULL;
	mutex_init(&chip->lock);
	spin_lock_init(&chip->notifier_lock);
	INIT_HLIST_HEAD(&chip->ack_notifiers);
	return chip;
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): local APICs only, with an
 * empty routing table; userspace may route only MSIs, and GSIs below
 * @nr_reserved_pins belong to its IOAPIC.  Upstream's checks and errnos.
 */
long kvm_irq_enable_split(struct kvm *kvm, u64 nr_reserved_pins)
{
	struct kvm_x86_irqchip *chip;
	long r;

	mutex_lock(&kvm->lock);
	r = -EINVAL;
	if (nr_reserved_pins > KVM_MAX_IRQ_ROUTES)
		goto out;
	r = -EEXIST;
	if (kvm->arch.irqchip || kvm->created_vcpus)
		goto out;
	r = -ENOMEM;
	chip = irqchip_alloc();
	if (!chip)
		goto out;
	kvm->arch.irqchip_split = true;
	kvm->arch.nr_reserved_ioapic_pins = nr_reserved_pins;
	smp_store_release(&kvm->arch.irqchip, chip);
	r = kvm_set_routing(kvm, NULL, 0);
	if (r) {
		kvm_irq_destroy_vm(kvm);
		kvm->arch.irqchip_split = false;
	}
out:
	mutex_unlock(&kvm->lock);
	return r;
}

static long kvm_create_irqchip(struct kvm *kvm)
{
	struct kvm_x86_irqchip *chip;
	long r;

	mutex_lock(&kvm->lock);
	r = -EEXIST;
	if (kvm->arch.irqchip)
		goto out;
	/* The vCPUs' local APICs are made with them. */
	r = -EINVAL;
	if (kvm->created_vcpus)
		goto out;
	r = -ENOMEM;
	chip = irqchip_alloc();
	if (!chip)
		goto out;
	/* Published now so the devices can find it; irqchip_in_kernel()
	 * callers only use it once the routing exists.
	 */
	smp_store_release(&kvm->arch.irqchip, chip);
	r = kvm_pic_create(kvm);
	if (!r)
		r = kvm_ioapic_create(kvm);
	if (!r)
		r = kvm_default_routing(kvm);
	if (r) {
		kvm_pic_destroy(kvm, true);
		kvm_ioapic_destroy(kvm, true);
		kvm_irq_destroy_vm(kvm);
		goto out;
	}
out:
	mutex_unlock(&kvm->lock);
	return r;
}

static long kvm_irq_line(struct kvm *kvm, void __user *argp, bool status)
{
	struct kvm_irq_level irq;

	if (copy_from_user(&irq, argp, sizeof(irq)))
		return -EFAULT;
	if (!irqchip_in_kernel(kvm))
		return -ENXIO;
	irq.status = kvm_set_irq(kvm, KVM_USERSPACE_IRQ_SOURCE_ID, irq.irq,
				 !!irq.level);
	if (status && copy_to_user(argp, &irq, sizeof(irq)))
		return -EFAULT;
	return 0;
}

static long kvm_signal_msi(struct kvm *kvm, void __user *argp)
{
	struct kvm_msi msi;

	if (copy_from_user(&msi, argp, sizeof(msi)))
		return -EFAULT;
	if (!irqchip_in_kernel(kvm) || (msi.flags & ~KVM_MSI_VALID_DEVID))
		return -EINVAL;
	/* Like upstream: the delivery count, or -1 if nobody took it. */
	return kvm_set_msi(kvm, msi.address_lo, msi.address_hi, msi.data);
}

static long kvm_irqchip_state(struct kvm *kvm, void __user *argp, bool set)
{
	struct kvm_x86_irqchip *ic = kvm->arch.irqchip;
	struct {
		struct kvm_irqchip c;	/* the ABI's, not ours */
	} *buf;
	long r = 0;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	if (copy_from_user(&buf->c, argp, sizeof(buf->c))) {
		r = -EFAULT;
		goto out;
	}
	/* With a split irqchip there is no PIC or IOAPIC here. */
	if (!irqchip_in_kernel(kvm) || irqchip_split(kvm)) {
		r = -ENXIO;
		goto out;
	}
	switch (buf->c.chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		if (set)
			kvm_pic_set_state(ic->pic, buf->c.chip_id,
					  &buf->c.chip.pic);
		else
			kvm_pic_get_state(ic->pic, buf->c.chip_id,
					  &buf->c.chip.pic);
		break;
	case KVM_IRQCHIP_IOAPIC:
		if (set)
			kvm_ioapic_set_state(ic->ioapic, &buf->c.chip.ioapic);
		else
			kvm_ioapic_get_state(ic->ioapic, &buf->c.chip.ioapic);
		break;
	default:
		r = -EINVAL;
		goto out;
	}
	if (!set && copy_to_user(argp, &buf->c, sizeof(buf->c)))
		r = -EFAULT;
out:
	kfree(buf);
	return r;
}

static long kvm_set_boot_cpu_id(struct kvm *kvm, unsigned long id)
{
	long r = 0;

	mutex_lock(&kvm->lock);
	if (kvm->created_vcpus)
		r = -EBUSY;
	else if (id >= KVM_MAX_VCPU_IDS)
		r = -EINVAL;
	else
		kvm->arch.bsp_vcpu_id = id;
	mutex_unlock(&kvm->lock);
	return r;
}

long kvm_irq_vm_ioctl(struct kvm *kvm, unsigned int ioctl, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (ioctl) {
	case KVM_CREATE_IRQCHIP:
		return kvm_create_irqchip(kvm);
	case KVM_IRQ_LINE:
		return kvm_irq_line(kvm, argp, false);
	case KVM_IRQ_LINE_STATUS:
		return kvm_irq_line(kvm, argp, true);
	case KVM_GET_IRQCHIP:
		return kvm_irqchip_state(kvm, argp, false);
	case KVM_SET_IRQCHIP:
		return kvm_irqchip_state(kvm, argp, true);
	case KVM_SET_GSI_ROUTING:
		return kvm_vm_ioctl_set_gsi_routing(kvm, argp);
	case KVM_SIGNAL_MSI:
		return kvm_signal_msi(kvm, argp);
	case KVM_SET_BOOT_CPU_ID:
		return kvm_set_boot_cpu_id(kvm, arg);
	case KVM_CREATE_PIT2:
	case KVM_GET_PIT2:
	case KVM_SET_PIT2:
	case KVM_REINJECT_CONTROL:
		return kvm_pit_vm_ioctl(kvm, ioctl, argp);
	default:
		return -ENOTTY;
	}
}

long kvm_irq_check_extension(struct kvm *kvm, long ext)
{
	switch (ext) {
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_REINJECT_CONTROL:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_SET_BOOT_CPU_ID:
	case KVM_CAP_TSC_DEADLINE_TIMER:
	case KVM_CAP_SPLIT_IRQCHIP:
	case KVM_CAP_VAPIC:
		return 1;
	case KVM_CAP_IRQ_ROUTING:
		/* The number of GSIs: QEMU sizes its routing table by it. */
		return KVM_MAX_IRQ_ROUTES;
	default:
		return 0;
	}
}

/* Before the vCPUs go: nothing may inject into their APICs any more. */
void kvm_arch_pre_destroy_vm(struct kvm *kvm)
{
	kvm_pit_destroy(kvm, false);
}

void kvm_irq_destroy_vm(struct kvm *kvm)
{
	struct kvm_x86_irqchip *chip = kvm->arch.irqchip;

	if (!chip)
		return;
	/* The buses go as a whole with the VM: no unregistering. */
	kvm_pic_destroy(kvm, false);
	kvm_ioapic_destroy(kvm, false);
	kvfree(rcu_dereference_protected(chip->routing, 1));
	kvm->arch.irqchip = NULL;
	kfree(chip);
}

/* ---- vCPUs ------------------------------------------------------------ */

int kvm_irq_vcpu_create(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;

	init_waitqueue_head(&vcpu->arch.wq);
	vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
	kvm_pv_vcpu_reset(vcpu);
	if (!irqchip_in_kernel(kvm))
		return 0;
	/* Application processors wait for INIT/SIPI (SDM vol 3, 8.4). */
	if (vcpu->vcpu_id != kvm->arch.bsp_vcpu_id)
		vcpu->arch.mp_state = KVM_MP_STATE_UNINITIALIZED;
	return kvm_lapic_create(vcpu);
}

void kvm_irq_vcpu_destroy(struct kvm_vcpu *vcpu)
{
	kvm_lapic_free(vcpu);
}

static long kvm_mp_state(struct kvm_vcpu *vcpu, void __user *argp, bool set)
{
	struct kvm_mp_state mp;

	if (!set) {
		kvm_lapic_process_events(vcpu);
		mp.mp_state = vcpu->arch.mp_state;
		/* A kicked HLT is over, as far as anyone can tell. */
		if (mp.mp_state == KVM_MP_STATE_HALTED &&
		    READ_ONCE(vcpu->arch.pv.pv_unhalted))
			mp.mp_state = KVM_MP_STATE_RUNNABLE;
		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	}
	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	if (!vcpu->arch.apic)
		return mp.mp_state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
	if (kvm_smm_blocks_mp_state(vcpu, mp.mp_state))
		return -EINVAL;
	switch (mp.mp_state) {
	case KVM_MP_STATE_SIPI_RECEIVED:
		/* Restore a SIPI in flight with the vector already set. */
		vcpu->arch.mp_state = KVM_MP_STATE_INIT_RECEIVED;
		set_bit(KVM_APIC_SIPI, &vcpu->arch.apic->pending_events);
		break;
	case KVM_MP_STATE_RUNNABLE:
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_INIT_RECEIVED:
	case KVM_MP_STATE_HALTED:
		vcpu->arch.mp_state = mp.mp_state;
		break;
	default:
		return -EINVAL;
	}
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	return 0;
}

long kvm_irq_vcpu_ioctl(struct kvm_vcpu *vcpu, unsigned int ioctl,
			unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct kvm_lapic_state *s;
	long r;

	switch (ioctl) {
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
		if (!vcpu->arch.apic)
			return -EINVAL;
		s = kzalloc(sizeof(*s), GFP_KERNEL);
		if (!s)
			return -ENOMEM;
		if (ioctl == KVM_GET_LAPIC) {
			r = kvm_lapic_get_state(vcpu, s);
			if (!r && copy_to_user(argp, s, sizeof(*s)))
				r = -EFAULT;
		} else {
			r = copy_from_user(s, argp, sizeof(*s)) ? -EFAULT :
			    kvm_lapic_set_state(vcpu, s);
		}
		kfree(s);
		return r;
	case KVM_SET_VAPIC_ADDR: {
		struct kvm_vapic_addr va;

		if (!vcpu->arch.apic)
			return -EINVAL;
		if (copy_from_user(&va, argp, sizeof(va)))
			return -EFAULT;
		return kvm_lapic_set_vapic_addr(vcpu, va.vapic_addr);
	}
	case KVM_NMI:
		atomic_inc(&vcpu->arch.nmi_pending);
		kvm_make_request(KVM_REQ_EVENT, vcpu);
		return 0;
	case KVM_GET_MP_STATE:
		return kvm_mp_state(vcpu, argp, false);
	case KVM_SET_MP_STATE:
		return kvm_mp_state(vcpu, argp, true);
	default:
		return -ENOTTY;
	}
}

/*
 * Make @vcpu look at its events soon: wake it if it sleeps in HLT, or
 * interrupt the guest with an IPI to its CPU (the host takes the IPI as
 * an INTR exit).  Any context; the caller set a request first.
 */
void kvm_vcpu_kick(struct kvm_vcpu *vcpu)
{
	int cpu, me;

	wake_up_interruptible(&vcpu->arch.wq);
	/* The request is visible before we look at the mode. */
	smp_mb();
	me = get_cpu();
	cpu = READ_ONCE(vcpu->cpu);
	if (cpu >= 0 && cpu != me && READ_ONCE(vcpu->mode) == IN_GUEST_MODE)
		smp_send_reschedule(cpu);
	put_cpu();
}

/* ---- injection before each entry ---------------------------------------- */

static bool kvm_cpu_has_extint(struct kvm_vcpu *vcpu)
{
	if (!kvm_lapic_accept_pic_intr(vcpu))
		return false;
	/* Split: userspace's PIC handed its vector over with KVM_INTERRUPT. */
	if (irqchip_split(vcpu->kvm))
		return *kvm_lapic_extint(vcpu) >= 0;
	return kvm_pic_has_output(vcpu->kvm->arch.irqchip->pic);
}

/*
 * KVM_INTERRUPT with an in-kernel irqchip: only a split one takes it, as
 * the ExtINT the local APIC acknowledges through LINT0 (upstream's
 * rules).  -ENOTTY: no in-kernel irqchip, the caller queues it.
 */
long kvm_irq_interrupt(struct kvm_vcpu *vcpu, u32 vector)
{
	int *extint;

	if (!vcpu->arch.apic)
		return -ENOTTY;
	if (!irqchip_split(vcpu->kvm))
		return -ENXIO;
	extint = kvm_lapic_extint(vcpu);
	if (*extint >= 0)
		return -EEXIST;
	*extint = vector;
	kvm_make_request(KVM_REQ_EVENT, vcpu);
	return 0;
}

/*
 * Could userspace hand over an ExtINT now (ready_for_interrupt_injection,
 * KVM_EXIT_IRQ_WINDOW_OPEN)?  Not while one waits, nor with LINT0 off.
 */
bool kvm_irq_accept_dm_intr(struct kvm_vcpu *vcpu)
{
	if (!vcpu->arch.apic)
		return true;
	return !kvm_cpu_has_extint(vcpu) && kvm_lapic_accept_pic_intr(vcpu);
}

static bool kvm_cpu_has_interrupt(struct kvm_vcpu *vcpu)
{
	if (!vcpu->arch.apic)
		return false;
	return kvm_cpu_has_extint(vcpu) || kvm_lapic_has_interrupt(vcpu) >= 0;
}

/* The interrupt acknowledge: ExtINT (the 8259) first, then the APIC. */
static int kvm_cpu_get_interrupt(struct kvm_vcpu *vcpu)
{
	int vector;

	if (kvm_cpu_has_extint(vcpu)) {
		int *extint = kvm_lapic_extint(vcpu);

		if (!irqchip_split(vcpu->kvm))
			return kvm_pic_read_irq(vcpu->kvm);
		vector = *extint;
		*extint = -1;
		return vector;
	}
	vector = kvm_lapic_has_interrupt(vcpu);
	if (vector >= 0)
		kvm_lapic_ack_interrupt(vcpu, vector);
	return vector;
}

static bool kvm_nmi_allowed(struct kvm_vcpu *vcpu)
{
	if (vcpu->arch.nmi_masked)
		return false;
	/* Unmasked by IRET only once the IRET itself has run. */
	if (vcpu->arch.nmi_iret) {
		if (kvm_rip_read(vcpu) == vcpu->arch.nmi_iret_rip)
			return false;
		vcpu->arch.nmi_iret = false;
	}
	return !kvm_x86_ops->get_interrupt_shadow(vcpu);
}

/*
 * NMIs that arrive while one is held back collapse (SDM vol 3, 6.7.1): one
 * waits behind a running handler; otherwise one goes now and one waits.
 * KVM_NMI and the APIC only count; upstream clamps the same way.
 */
void kvm_nmi_collapse(struct kvm_vcpu *vcpu)
{
	int limit = vcpu->arch.nmi_masked ? 1 : 2;
	int n = atomic_read(&vcpu->arch.nmi_pending);

	while (n > limit) {
		int old = atomic_cmpxchg(&vcpu->arch.nmi_pending, n, limit);

		if (old == n)
			break;
		n = old;
	}
}

/* An IRET exit while an NMI handler ran: NMIs unblock after it. */
void kvm_irq_nmi_iret(struct kvm_vcpu *vcpu)
{
	vcpu->arch.nmi_masked = false;
	vcpu->arch.nmi_iret = true;
	vcpu->arch.nmi_iret_rip = kvm_rip_read(vcpu);
	kvm_x86_ops->set_iret_intercept(vcpu, false);
	kvm_make_request(KVM_REQ_EVENT, vcpu);
}

static void kvm_request_windows(struct kvm_vcpu *vcpu)
{
	int prio;

	if (atomic_read(&vcpu->arch.nmi_pending)) {
		if (vcpu->arch.nmi_masked)
			kvm_x86_ops->set_iret_intercept(vcpu, true);
		else
			kvm_x86_ops->enable_nmi_window(vcpu);
	}
	if (kvm_cpu_has_interrupt(vcpu))
		kvm_x86_ops->enable_irq_window(vcpu);
	/*
	 * Held back by the TPR: make CR8 writes exit.  (Not a V_IRQ of that
	 * priority: QEMU's SVM aborts on a CR8 write with V_IRQ pending.)
	 */
	prio = vcpu->arch.apic ? kvm_lapic_tpr_blocked(vcpu) : -1;
	kvm_x86_ops->set_cr8_intercept(vcpu, prio >= 0);
}

/*
 * Called before each entry.  @busy: an event (re-injection, exception,
 * KVM_INTERRUPT) already occupies the injection slot, so only ask to
 * exit again once the guest could take ours.
 */
int kvm_irq_inject(struct kvm_vcpu *vcpu, bool busy)
{
	int vector;

	/* Split irqchip: an EOI userspace's IOAPIC waits for goes out first. */
	vector = kvm_lapic_take_ioapic_eoi(vcpu);
	if (vector >= 0) {
		vcpu->run->exit_reason = KVM_EXIT_IOAPIC_EOI;
		vcpu->run->eoi.vector = vector;
		return EXIT_USER;
	}
	kvm_lapic_process_events(vcpu);
	kvm_nmi_collapse(vcpu);
	if (busy)
		goto windows;

	if (atomic_read(&vcpu->arch.nmi_pending) && kvm_nmi_allowed(vcpu)) {
		atomic_dec(&vcpu->arch.nmi_pending);
		vcpu->arch.nmi_masked = true;
		kvm_x86_ops->inject_nmi(vcpu);
		goto windows;
	}
	if (kvm_cpu_has_interrupt(vcpu) &&
	    kvm_x86_ops->interrupt_allowed(vcpu)) {
		vector = kvm_cpu_get_interrupt(vcpu);
		if (vector >= 0)
			kvm_x86_ops->inject_irq(vcpu, vector);
	}
windows:
	kvm_request_windows(vcpu);
	kvm_lapic_before_entry(vcpu);
	return EXIT_RESUME;
}

/* ---- HLT and wait-for-SIPI ------------------------------------------------ */

/* HLT with an in-kernel irqchip: sleep in the kernel instead of exiting. */
bool kvm_irq_halt(struct kvm_vcpu *vcpu)
{
	if (!vcpu->arch.apic)
		return false;
	vcpu->arch.mp_state = KVM_MP_STATE_HALTED;
	return true;
}

bool kvm_vcpu_blocked(struct kvm_vcpu *vcpu)
{
	return vcpu->arch.mp_state != KVM_MP_STATE_RUNNABLE;
}

/* Can the vCPU run again?  Runs in its own thread. */
static bool kvm_vcpu_wakeup(struct kvm_vcpu *vcpu)
{
	kvm_check_request(KVM_REQ_EVENT, vcpu);
	kvm_lapic_process_events(vcpu);
	if (vcpu->arch.mp_state == KVM_MP_STATE_RUNNABLE)
		return true;
	if (vcpu->arch.mp_state != KVM_MP_STATE_HALTED)
		return false;	/* waiting for INIT/SIPI */
	/* KVM_HC_KICK_CPU ends a HLT whatever IF says (PV spinlocks). */
	if (READ_ONCE(vcpu->arch.pv.pv_unhalted)) {
		WRITE_ONCE(vcpu->arch.pv.pv_unhalted, false);
		vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
		return true;
	}
	if (atomic_read(&vcpu->arch.nmi_pending) || kvm_smm_wakes(vcpu) ||
	    (kvm_cpu_has_interrupt(vcpu) &&
	     (kvm_x86_ops->get_rflags(vcpu) & X86_EFLAGS_IF))) {
		vcpu->arch.mp_state = KVM_MP_STATE_RUNNABLE;
		return true;
	}
	return false;
}

/*
 * Halt polling: a halted vCPU may poll for a while before it sleeps, so
 * that a wake-up arriving soon costs no sleep and no IPI-driven wake-up.
 * halt_poll_ns (upstream's name and default) bounds the window; 0 turns
 * polling off.  As upstream's, the window adapts per vCPU: it starts at
 * 0, grows (HALT_POLL_START, then doubling) after an HLT that ended
 * within the bound, and drops to 0 after one that lasted longer, where a
 * poll could not have helped and would only have burnt the CPU that the
 * thread waking us needed.  A fixed 200 us poll on every HLT did exactly
 * that in the TCG bed (2 CPUs for the VMM thread and two vCPU threads).
 *
 * Time is ktime_get_ns() (the clocksource), not local_clock(): with an
 * unstable TSC (the bed's L1 marks it so), sched_clock is only kept within
 * a tick of the clocksource per CPU and can stand still for milliseconds,
 * so a local_clock() window could last a whole tick.
 */
static unsigned int halt_poll_ns = 200000;
module_param(halt_poll_ns, uint, 0644);
MODULE_PARM_DESC(halt_poll_ns, "max ns a halted vCPU polls before sleeping (0: never)");

#define HALT_POLL_START	10000	/* ns: the first non-zero window */

static bool kvm_irq_halt_poll(struct kvm_vcpu *vcpu, u64 start, u32 window)
{
	u64 end = start + window;

	do {
		if (kvm_vcpu_wakeup(vcpu) || kvm_hv_timers_pending(vcpu))
			return true;
		cpu_relax();
	} while (ktime_get_ns() < end && !need_resched() &&
		 !signal_pending(current));
	return false;
}

/* After an HLT that lasted @ns: the next window (at most @max). */
static u32 halt_poll_next(u32 window, u64 ns, u32 max)
{
	if (ns > max)
		return 0;
	if (ns <= window)
		return window;
	return window ? min_t(u64, (u64)window * 2, max) :
			min_t(u32, HALT_POLL_START, max);
}

static void kvm_irq_sleep(struct kvm_vcpu *vcpu, bool uninit)
{
	DEFINE_WAIT(wait);

	for (;;) {
		prepare_to_wait(&vcpu->arch.wq, &wait, TASK_INTERRUPTIBLE);
		/* An expired Hyper-V timer is processed by kvm_irq_block. */
		if (kvm_vcpu_wakeup(vcpu) || signal_pending(current) ||
		    (!uninit && kvm_hv_timers_pending(vcpu)) ||
		    (uninit &&
		     vcpu->arch.mp_state != KVM_MP_STATE_UNINITIALIZED))
			break;
		schedule();
	}
	finish_wait(&vcpu->arch.wq, &wait);
}

/*
 * Sleep until runnable or a signal comes; the caller checks signals.
 * Like upstream, an AP that was never initialized returns -EAGAIN to
 * userspace after the first event it accepted (typically the INIT).
 */
int kvm_irq_block(struct kvm_vcpu *vcpu)
{
	bool uninit = vcpu->arch.mp_state == KVM_MP_STATE_UNINITIALIZED;
	struct kvm_lapic *apic = vcpu->arch.apic;
	u32 max = READ_ONCE(halt_poll_ns);
	bool poll;
	u64 start;

	/* Expired Hyper-V timers become interrupts (guest memory: not asleep). */
	kvm_hv_process_timers(vcpu);

	/* MSR_KVM_POLL_CONTROL bit 0 clear: the guest polls itself. */
	poll = apic && max && vcpu->arch.mp_state == KVM_MP_STATE_HALTED &&
	       (vcpu->arch.pv.poll_control & 1);
	if (!poll) {
		if (apic)
			apic->halt_poll_ns = 0;
		kvm_irq_sleep(vcpu, uninit);
		goto out;
	}
	start = ktime_get_ns();
	if (apic->halt_poll_ns &&
	    kvm_irq_halt_poll(vcpu, start, min(apic->halt_poll_ns, max)))
		return EXIT_RESUME;
	kvm_irq_sleep(vcpu, false);
	/* A signal says nothing about when the next interrupt comes. */
	if (!signal_pending(current))
		apic->halt_poll_ns = halt_poll_next(apic->halt_poll_ns,
						    ktime_get_ns() - start, max);
out:
	if (uninit && !signal_pending(current))
		return -EAGAIN;
	return EXIT_RESUME;
}

/* ---- in-kernel MMIO and port I/O ------------------------------------------ */

/* 0: an in-kernel device (local APIC, IOAPIC, ioeventfd) served it. */
int kvm_irq_mmio_read(struct kvm_vcpu *vcpu, gpa_t gpa, int len, void *val)
{
	if (!kvm_lapic_mmio_read(vcpu, gpa, len, val))
		return 0;
	return kvm_io_bus_read(vcpu, KVM_MMIO_BUS, gpa, len, val);
}

int kvm_irq_mmio_write(struct kvm_vcpu *vcpu, gpa_t gpa, int len,
		       const void *val)
{
	if (!kvm_lapic_mmio_write(vcpu, gpa, len, val))
		return 0;
	return kvm_io_bus_write(vcpu, KVM_MMIO_BUS, gpa, len, val);
}

int kvm_irq_pio(struct kvm_vcpu *vcpu, u16 port, int size, bool in, void *val)
{
	if (in)
		return kvm_io_bus_read(vcpu, KVM_PIO_BUS, port, size, val);
	return kvm_io_bus_write(vcpu, KVM_PIO_BUS, port, size, val);
}

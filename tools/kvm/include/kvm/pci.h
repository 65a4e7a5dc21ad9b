/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__PCI_H
#define KVM__PCI_H

#include <pthread.h>

#include "kvm/bus.h"

struct kvm;

/* Configuration space offsets and bits (PCI Local Bus spec 3.0, 6.1). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_IO		0x1
#define  PCI_COMMAND_MEMORY	0x2
#define  PCI_COMMAND_MASTER	0x4
#define  PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS		0x06
#define  PCI_STATUS_CAP_LIST	0x10
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_ID_MSIX		0x11
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CFG_SPACE_SIZE	256
#define PCI_NR_BARS		6
#define PCI_BAR_IO		0x1
#define PCI_BAR_MEM_64		0x4

#define PCI_MAX_DEVICES		32	/* one bus, function 0 only */

/*
 * A PCI function on bus 0.  The core keeps the configuration space; a
 * device fills in its header and capabilities, says which bits of them
 * the guest may write (wmask), sizes its BARs and gives a handler per
 * BAR.  BARs are placed by lkvm at registration and follow the guest's
 * reprogramming; a BAR is on the bus while its decode bit is set.
 */
struct pci_device {
	u8 cfg[PCI_CFG_SPACE_SIZE];
	u8 wmask[PCI_CFG_SPACE_SIZE];
	u32 bar_size[PCI_NR_BARS];	/* power of two; 0 = unused */
	bus_handler_t bar_fn[PCI_NR_BARS];
	void *opaque;

	/* Called after the guest wrote config bytes [off, off + len). */
	void (*cfg_written)(struct pci_device *dev, u32 off, u32 len);
	/* Called when BAR bar moved to addr (0: no longer decoded). */
	void (*bar_moved)(struct pci_device *dev, int bar, u64 addr);

	/* Filled by the core. */
	int slot;
	int gsi;			/* INTA# routing (MP table) */
	u64 bar_mapped[PCI_NR_BARS];	/* address on the bus, or 0 */
	/* Protects cfg and the BAR mappings against concurrent access. */
	pthread_mutex_t lock;
};

int pci__register(struct kvm *kvm, struct pci_device *dev);
int pci__nr_devices(void);
struct pci_device *pci__device(int i);

/* Helpers for filling configuration space. */
static inline void pci__set16(struct pci_device *d, u32 off, u16 v)
{
	d->cfg[off] = v;
	d->cfg[off + 1] = v >> 8;
}

static inline void pci__set32(struct pci_device *d, u32 off, u32 v)
{
	pci__set16(d, off, v);
	pci__set16(d, off + 2, v >> 16);
}

static inline u32 pci__get32(struct pci_device *d, u32 off)
{
	return d->cfg[off] | d->cfg[off + 1] << 8 | d->cfg[off + 2] << 16 |
	       (u32)d->cfg[off + 3] << 24;
}

/* Assert or deassert the device's INTA#. */
void pci__irq_line(struct kvm *kvm, struct pci_device *dev, int level);

#endif

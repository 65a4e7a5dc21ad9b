// SPDX-License-Identifier: GPL-2.0
/*
 * PCI bus 0 through configuration mechanism #1 (PCI Local Bus spec 3.0,
 * 3.2.2.3.2): the address register at 0xcf8, the data window at 0xcfc.
 * Slot 0 is a host bridge so the guest recognises the bus.  Port 0xcf9,
 * inside the same range, is the PC reset control register.
 */
#include <errno.h>
#include <string.h>

#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/pci.h"

#define PCI_CONF1_PORT		0xcf8
#define PCI_CONF1_LEN		8
#define PCI_CONF1_ENABLE	0x80000000u
#define RESET_CONTROL_OFF	1		/* port 0xcf9 */
#define RESET_CONTROL_RESET	0x04

/* Where lkvm places BARs: inside the PCI hole, below the IOAPIC. */
#define PCI_MMIO_BASE		0xd0000000ULL
#define PCI_MMIO_END		0xfe000000ULL
#define PCI_IO_BASE		0x6200
#define PCI_IO_END		0x10000
/* INTA# of slot n goes to IOAPIC pin PCI_GSI_BASE + n % PCI_GSI_COUNT. */
#define PCI_GSI_BASE		16
#define PCI_GSI_COUNT		8

#define PCI_CLASS_BRIDGE_HOST	0x0600
#define LKVM_PCI_VENDOR		0x1b36	/* Red Hat, Inc. (QEMU devices) */
#define LKVM_PCI_HOST_DEVICE	0x0008	/* PCIe host bridge */

static struct pci_device *devices[PCI_MAX_DEVICES];
static int nr_devices;
static u64 next_mmio = PCI_MMIO_BASE;
static u64 next_io = PCI_IO_BASE;
/* The address latch is per machine, like on hardware. */
static _Atomic u32 conf1_addr;
static struct kvm *pci_kvm;

int pci__nr_devices(void)
{
	return nr_devices;
}

struct pci_device *pci__device(int i)
{
	return i < nr_devices ? devices[i] : NULL;
}

static bool bar_is_io(struct pci_device *dev, int bar)
{
	return dev->cfg[PCI_BAR0 + 4 * bar] & PCI_BAR_IO;
}

static u64 bar_addr(struct pci_device *dev, int bar)
{
	u32 v = pci__get32(dev, PCI_BAR0 + 4 * bar);

	return v & (bar_is_io(dev, bar) ? ~0x3u : ~0xfu);
}

/* Put each BAR on the bus where the guest wants it, if decode is on. */
static void pci__update_bars(struct pci_device *dev)
{
	u16 cmd = dev->cfg[PCI_COMMAND] | dev->cfg[PCI_COMMAND + 1] << 8;

	for (int i = 0; i < PCI_NR_BARS; i++) {
		bool io = bar_is_io(dev, i);
		enum bus_type type = io ? BUS_PIO : BUS_MMIO;
		u64 addr = bar_addr(dev, i), size = dev->bar_size[i];
		bool on = cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY);
		u64 limit = io ? 0x10000 : KVM_4G;

		if (!size)
			continue;
		if (!on || !addr || addr + size > limit)
			addr = 0;
		if (addr == dev->bar_mapped[i])
			continue;
		if (dev->bar_mapped[i])
			bus__unregister(type, dev->bar_mapped[i]);
		dev->bar_mapped[i] = 0;
		if (addr && bus__register(type, addr, size, dev->bar_fn[i],
					  dev->opaque) < 0) {
			pr_warn("PCI %02x.0 BAR%d at %#llx overlaps another "
				"device; left unmapped", dev->slot, i,
				(unsigned long long)addr);
			addr = 0;
		}
		dev->bar_mapped[i] = addr;
		if (dev->bar_moved)
			dev->bar_moved(dev, i, addr);
	}
}

static void pci__cfg_write(struct pci_device *dev, u32 off, const u8 *data,
			   u32 len)
{
	bool bars_touched = false;

	for (u32 i = 0; i < len; i++) {
		u32 o = off + i;

		if (o >= PCI_BAR0 && o < PCI_BAR0 + 4 * PCI_NR_BARS) {
			int bar = (o - PCI_BAR0) / 4;
			u32 size = dev->bar_size[bar];
			u8 flags = bar_is_io(dev, bar) ? 0x3 : 0xf;
			u32 mask = size ? ~(size - 1) : 0;
			u8 bmask = mask >> (8 * (o & 3));

			/* The low bits are read-only, returning the size. */
			if ((o & 3) == 0)
				bmask &= ~flags;
			dev->cfg[o] = (dev->cfg[o] & ~bmask) | (data[i] & bmask);
			bars_touched = true;
			continue;
		}
		dev->cfg[o] = (dev->cfg[o] & ~dev->wmask[o]) |
			      (data[i] & dev->wmask[o]);
	}
	if (bars_touched || (off <= PCI_COMMAND + 1 && off + len > PCI_COMMAND))
		pci__update_bars(dev);
	if (dev->cfg_written)
		dev->cfg_written(dev, off, len);
}

static void pci__data_access(u32 addr, u32 off, u8 *data, u32 len,
			     bool is_write)
{
	u32 bus = (addr >> 16) & 0xff, slot = (addr >> 11) & 0x1f;
	u32 fn = (addr >> 8) & 0x7, reg = (addr & 0xfc) + off;
	struct pci_device *dev = NULL;

	if (bus == 0 && fn == 0 && slot < (u32)nr_devices)
		dev = devices[slot];
	if (reg + len > PCI_CFG_SPACE_SIZE)
		len = PCI_CFG_SPACE_SIZE - reg;
	if (!dev) {
		/* No device: reads return all ones (master abort). */
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&dev->lock);
	if (is_write)
		pci__cfg_write(dev, reg, data, len);
	else
		memcpy(data, &dev->cfg[reg], len);
	pthread_mutex_unlock(&dev->lock);
}

static void pci__conf1_io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
			  bool is_write, void *opaque)
{
	u32 addr;

	(void)cpu;
	(void)opaque;
	if (off < 4) {
		if (off == RESET_CONTROL_OFF && len == 1) {
			if (is_write && (data[0] & RESET_CONTROL_RESET))
				kvm__request_stop(pci_kvm, KVM_STOP_REBOOT);
			else if (!is_write)
				data[0] = 0;
			return;
		}
		/* Only dword accesses reach the address register. */
		if (off != 0 || len != 4) {
			if (!is_write)
				memset(data, 0xff, len);
			return;
		}
		if (is_write)
			conf1_addr = bus__get(data, 4);
		else
			bus__put(data, 4, conf1_addr);
		return;
	}
	addr = conf1_addr;
	if (!(addr & PCI_CONF1_ENABLE)) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pci__data_access(addr, off - 4, data, len, is_write);
}

void pci__irq_line(struct kvm *kvm, struct pci_device *dev, int level)
{
	kvm__irq_line(kvm, dev->gsi, level);
}

int pci__register(struct kvm *kvm, struct pci_device *dev)
{
	(void)kvm;
	if (nr_devices == PCI_MAX_DEVICES) {
		pr_err("too many PCI devices (at most %d)", PCI_MAX_DEVICES);
		return -ENOSPC;
	}
	dev->slot = nr_devices;
	dev->gsi = PCI_GSI_BASE + dev->slot % PCI_GSI_COUNT;
	pthread_mutex_init(&dev->lock, NULL);
	dev->cfg[PCI_INTERRUPT_LINE] = dev->gsi;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	dev->wmask[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
				  PCI_COMMAND_MASTER;
	dev->wmask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;

	/* Place the BARs, naturally aligned, and enable decoding. */
	for (int i = 0; i < PCI_NR_BARS; i++) {
		u64 size = dev->bar_size[i], *next;
		u64 end;

		if (!size)
			continue;
		next = bar_is_io(dev, i) ? &next_io : &next_mmio;
		end = bar_is_io(dev, i) ? PCI_IO_END : PCI_MMIO_END;
		*next = ALIGN_UP(*next, size);
		if (*next + size > end) {
			pr_err("no room left for PCI BAR of %llu bytes",
			       (unsigned long long)size);
			return -ENOSPC;
		}
		pci__set32(dev, PCI_BAR0 + 4 * i,
			   *next | dev->cfg[PCI_BAR0 + 4 * i]);
		*next += size;
		dev->cfg[PCI_COMMAND] |= bar_is_io(dev, i) ? PCI_COMMAND_IO :
							     PCI_COMMAND_MEMORY;
	}
	devices[nr_devices++] = dev;
	pci__update_bars(dev);
	return 0;
}

static struct pci_device host_bridge;

static int pci__init(struct kvm *kvm)
{
	int r;

	pci_kvm = kvm;
	r = bus__register(BUS_PIO, PCI_CONF1_PORT, PCI_CONF1_LEN,
			  pci__conf1_io, NULL);
	if (r < 0)
		return r;
	pci__set16(&host_bridge, PCI_VENDOR_ID, LKVM_PCI_VENDOR);
	pci__set16(&host_bridge, PCI_DEVICE_ID, LKVM_PCI_HOST_DEVICE);
	pci__set16(&host_bridge, PCI_CLASS_DEVICE, PCI_CLASS_BRIDGE_HOST);
	return pci__register(kvm, &host_bridge);
}
lkvm_init(INIT_DEV_BASE, pci__init);

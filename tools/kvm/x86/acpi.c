// SPDX-License-Identifier: GPL-2.0
/*
 * Just enough ACPI for the guest to power itself off: RSDP -> RSDT ->
 * FADT (+ FACS, DSDT), MADT, and the PM1 register block the FADT points
 * at.  Once an RSDP exists Linux ignores the MP table unless a MADT is
 * present ("No APIC-table, disabling MPS"), so the MADT repeats what the
 * MP table says about CPUs and the IOAPIC.  The DSDT declares \_S5 (the
 * soft-off sleep type) and the PCI host bridge, because with ACPI enabled
 * Linux finds PCI root buses only through the namespace; the bridge's
 * _PRT routes each slot's INTA# to the IOAPIC pin the MP table names.
 *
 * Layouts: ACPI 1.0b, sections 5.2 (tables) and 4.7.3 (PM1 registers);
 * AML encoding: ACPI 5.0, chapter 20.
 */
#include <string.h>

#include "kvm/bus.h"
#include "kvm/init.h"
#include "kvm/kvm.h"
#include "kvm/pci.h"
#include "kvm/x86.h"

#define ACPI_RSDP_ADDR		0xe0000	/* Linux scans 0xe0000-0xfffff */
#define ACPI_RSDT_ADDR		0xe0040
#define ACPI_FADT_ADDR		0xe0100
#define ACPI_FACS_ADDR		0xe0200	/* 64-byte aligned */
#define ACPI_MADT_ADDR		0xe0400
#define ACPI_MADT_MAX		0x1000
#define ACPI_DSDT_ADDR		0xe2000
#define ACPI_DSDT_MAX		0x1000

#define ACPI_PM1_EVT_PORT	0x600	/* PM1_STS, PM1_EN: 2 bytes each */
#define ACPI_PM1_EVT_LEN	4
#define ACPI_PM1_CNT_PORT	0x604
#define ACPI_PM1_CNT_LEN	2
#define ACPI_SCI_IRQ		9

#define PM1_CNT_SCI_EN		0x0001
#define PM1_CNT_SLP_TYP_SHIFT	10
#define PM1_CNT_SLP_TYP_MASK	0x7
#define PM1_CNT_SLP_EN		0x2000
#define SLP_TYP_S5		5	/* our choice, published in \_S5 */

#define FADT_F_WBINVD		(1 << 0)
#define FADT_F_PROC_C1		(1 << 2)
#define FADT_F_PWR_BUTTON	(1 << 4)	/* no fixed power button */
#define FADT_F_SLP_BUTTON	(1 << 5)	/* no fixed sleep button */
#define C2_DISABLED_LATENCY	101
#define C3_DISABLED_LATENCY	1001

struct acpi_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	char creator_id[4];
	u32 creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];		/* "RSD PTR " */
	u8 checksum;
	char oem_id[6];
	u8 revision;			/* 0: ACPI 1.0 */
	u32 rsdt_address;
} __attribute__((packed));

struct acpi_rsdt {
	struct acpi_header h;
	u32 entry[2];
} __attribute__((packed));

/* MADT (ACPI 1.0b, 5.2.8) and the entries lkvm uses. */
struct acpi_madt {
	struct acpi_header h;
	u32 lapic_addr;
	u32 flags;
} __attribute__((packed));

#define MADT_PCAT_COMPAT	1	/* 8259s present (disabled by the OS) */
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_LAPIC_NMI		4
#define MADT_ENABLED		1
#define MADT_ALL_CPUS		0xff
#define MADT_LINT1		1

struct madt_lapic {
	u8 type, length, acpi_id, apic_id;
	u32 flags;
} __attribute__((packed));

struct madt_ioapic {
	u8 type, length, id, reserved;
	u32 address;
	u32 gsi_base;
} __attribute__((packed));

struct madt_lapic_nmi {
	u8 type, length, acpi_id;
	u16 flags;
	u8 lint;
} __attribute__((packed));

/* The ACPI 1.0 FADT, 116 bytes. */
struct acpi_fadt {
	struct acpi_header h;
	u32 firmware_ctrl;
	u32 dsdt;
	u8 int_model;
	u8 pm_profile;
	u16 sci_int;
	u32 smi_cmd;			/* 0: ACPI mode is always on */
	u8 acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	u32 pm1a_evt_blk, pm1b_evt_blk;
	u32 pm1a_cnt_blk, pm1b_cnt_blk;
	u32 pm2_cnt_blk, pm_tmr_blk;
	u32 gpe0_blk, gpe1_blk;
	u8 pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	u8 gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	u16 p_lvl2_lat, p_lvl3_lat;
	u16 flush_size, flush_stride;
	u8 duty_offset, duty_width, day_alrm, mon_alrm, century;
	u8 reserved[3];
	u32 flags;
} __attribute__((packed));

struct acpi_facs {
	char signature[4];
	u32 length;
	u32 hw_signature;
	u32 waking_vector;
	u32 global_lock;
	u32 flags;
	u8 reserved[40];
} __attribute__((packed));

/*
 * The DSDT body, built at start-up because _PRT lists the PCI slots:
 *   Name (_S5_, Package () { 5, 5, 0, 0 })
 *   Scope (\_SB_) {
 *     Device (PCI0) {
 *       Name (_HID, EisaId ("PNP0A03"))
 *       Name (_UID, Zero)
 *       Name (_PRT, Package () {
 *         Package () { 0xSSSSFFFF, Zero, Zero, GSI }, ...  one per slot
 *       })
 *     }
 *   }
 * Encoding: ACPI 5.0, 20.2 (opcodes) and 20.2.4 (PkgLength).
 */
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_DWORD_PREFIX	0x0c
#define AML_SCOPE_OP		0x10
#define AML_PACKAGE_OP		0x12
#define AML_ZERO_OP		0x00
#define AML_EXT_PREFIX		0x5b
#define AML_DEVICE_OP		0x82
#define AML_PRT_ALL_FUNCTIONS	0xffff

static const u8 aml_s5[] = {
	AML_NAME_OP, '_', 'S', '5', '_',
	AML_PACKAGE_OP, 0x08, 0x04,		/* PkgLength 8, 4 elements */
	AML_BYTE_PREFIX, SLP_TYP_S5, AML_BYTE_PREFIX, SLP_TYP_S5,
	AML_ZERO_OP, AML_ZERO_OP,
};

static const u8 aml_pci0_ids[] = {
	AML_NAME_OP, '_', 'H', 'I', 'D',
	AML_DWORD_PREFIX, 0x41, 0xd0, 0x0a, 0x03,	/* EisaId ("PNP0A03") */
	AML_NAME_OP, '_', 'U', 'I', 'D', AML_ZERO_OP,
};

/*
 * Turn buf[0, len) into "op PkgLength buf": a PkgLength counts itself
 * and what follows, in 1 to 3 bytes (bits 7-6 of the first byte say how
 * many follow; then the low 4 bits, then 8 bits per byte).
 */
static size_t aml_wrap(u8 *buf, size_t len, const u8 *op, size_t oplen)
{
	size_t n = len + 1 < 0x40 ? 1 : len + 2 < 0x1000 ? 2 : 3;
	size_t total = len + n;

	memmove(buf + oplen + n, buf, len);
	memcpy(buf, op, oplen);
	if (n == 1) {
		buf[oplen] = total;
	} else {
		buf[oplen] = (n - 1) << 6 | (total & 0xf);
		for (size_t i = 1; i < n; i++)
			buf[oplen + i] = total >> (4 + 8 * (i - 1));
	}
	return oplen + n + len;
}

/* Name (_PRT, Package () {...}) for every PCI function with INTA#. */
static size_t aml_prt(u8 *buf)
{
	static const u8 name[] = { AML_NAME_OP, '_', 'P', 'R', 'T' };
	static const u8 pkg_op[] = { AML_PACKAGE_OP };
	size_t len = 1;		/* NumElements, filled below */
	u8 count = 0;

	for (int i = 0; i < pci__nr_devices(); i++) {
		struct pci_device *d = pci__device(i);
		u32 addr = (u32)d->slot << 16 | AML_PRT_ALL_FUNCTIONS;
		u8 *e = buf + len;
		size_t elen = 0;

		if (!d->cfg[PCI_INTERRUPT_PIN])
			continue;
		e[elen++] = 4;				/* NumElements */
		e[elen++] = AML_DWORD_PREFIX;
		for (int b = 0; b < 4; b++)
			e[elen++] = addr >> (8 * b);
		e[elen++] = AML_ZERO_OP;		/* pin: INTA# */
		e[elen++] = AML_ZERO_OP;		/* source: a GSI */
		e[elen++] = AML_BYTE_PREFIX;
		e[elen++] = d->gsi;
		len += aml_wrap(e, elen, pkg_op, sizeof(pkg_op));
		count++;
	}
	buf[0] = count;
	len = aml_wrap(buf, len, pkg_op, sizeof(pkg_op));
	memmove(buf + sizeof(name), buf, len);
	memcpy(buf, name, sizeof(name));
	return len + sizeof(name);
}

/* Fills body (ACPI_DSDT_MAX bytes at least) and returns its length. */
static size_t acpi__build_dsdt_aml(u8 *body)
{
	static const u8 scope_op[] = { AML_SCOPE_OP };
	static const u8 device_op[] = { AML_EXT_PREFIX, AML_DEVICE_OP };
	u8 *dev = body + sizeof(aml_s5);
	size_t len;

	memcpy(body, aml_s5, sizeof(aml_s5));
	/* Innermost first: the device's name and objects, then wrap. */
	memcpy(dev, "PCI0", 4);
	memcpy(dev + 4, aml_pci0_ids, sizeof(aml_pci0_ids));
	len = 4 + sizeof(aml_pci0_ids);
	len += aml_prt(dev + len);
	len = aml_wrap(dev, len, device_op, sizeof(device_op));
	memmove(dev + 5, dev, len);
	memcpy(dev, "\\_SB_", 5);
	len = aml_wrap(dev, len + 5, scope_op, sizeof(scope_op));
	return sizeof(aml_s5) + len;
}

static struct kvm *acpi_kvm;

static u8 acpi_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum += *b++;
	return -sum;
}

static void acpi_fill_header(struct acpi_header *h, const char *sig, u32 len,
			     u8 rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, "LKVM  ", 6);
	memcpy(h->oem_table_id, "LKVMMACH", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "LKVM", 4);
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = acpi_checksum(h, len);
}

/*
 * PM1 status (bytes 0-1) and enable (bytes 2-3).  No event ever fires, so
 * status reads 0; enable bits read back as written.
 */
static _Atomic u16 pm1_enable;

static void pm1_evt_io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
		       bool is_write, void *opaque)
{
	u8 regs[ACPI_PM1_EVT_LEN] = { 0 };
	u16 en = pm1_enable;

	(void)cpu;
	(void)opaque;
	regs[2] = en;
	regs[3] = en >> 8;
	for (u32 i = 0; i < len && off + i < ACPI_PM1_EVT_LEN; i++) {
		if (!is_write)
			data[i] = regs[off + i];
		else if (off + i >= 2)
			regs[off + i] = data[i];
	}
	if (is_write)
		pm1_enable = regs[2] | regs[3] << 8;
}

static void pm1_cnt_io(struct kvm_cpu *cpu, u64 off, u8 *data, u32 len,
		       bool is_write, void *opaque)
{
	u16 v;

	(void)cpu;
	(void)opaque;
	if (!is_write) {
		bus__put(data, len, off == 0 ? PM1_CNT_SCI_EN : 0);
		return;
	}
	if (off != 0 || len != 2)
		return;
	v = bus__get(data, 2);
	if ((v & PM1_CNT_SLP_EN) &&
	    ((v >> PM1_CNT_SLP_TYP_SHIFT) & PM1_CNT_SLP_TYP_MASK) == SLP_TYP_S5)
		kvm__request_stop(acpi_kvm, KVM_STOP_POWEROFF);
}

static void acpi__build_madt(struct kvm *kvm)
{
	struct acpi_madt *madt = guest_ptr(kvm, ACPI_MADT_ADDR, ACPI_MADT_MAX);
	u8 *p = (u8 *)(madt + 1);
	struct madt_ioapic *io;
	struct madt_lapic_nmi *nmi;

	memset(madt, 0, ACPI_MADT_MAX);
	madt->lapic_addr = X86_LAPIC_ADDR;
	madt->flags = MADT_PCAT_COMPAT;
	for (int i = 0; i < kvm->nr_cpus; i++) {
		struct madt_lapic *l = (void *)p;

		*l = (struct madt_lapic){ MADT_LAPIC, sizeof(*l), i, i,
					  MADT_ENABLED };
		p += sizeof(*l);
	}
	io = (void *)p;
	*io = (struct madt_ioapic){ MADT_IOAPIC, sizeof(*io),
				    X86_IOAPIC_ID(kvm), 0, X86_IOAPIC_ADDR, 0 };
	p += sizeof(*io);
	nmi = (void *)p;
	*nmi = (struct madt_lapic_nmi){ MADT_LAPIC_NMI, sizeof(*nmi),
					MADT_ALL_CPUS, 0, MADT_LINT1 };
	p += sizeof(*nmi);
	acpi_fill_header(&madt->h, "APIC", p - (u8 *)madt, 1);
}

static int acpi__init(struct kvm *kvm)
{
	struct acpi_rsdp *rsdp = guest_ptr(kvm, ACPI_RSDP_ADDR, sizeof(*rsdp));
	struct acpi_rsdt *rsdt = guest_ptr(kvm, ACPI_RSDT_ADDR, sizeof(*rsdt));
	struct acpi_fadt *fadt = guest_ptr(kvm, ACPI_FADT_ADDR, sizeof(*fadt));
	struct acpi_facs *facs = guest_ptr(kvm, ACPI_FACS_ADDR, sizeof(*facs));
	struct acpi_header *dsdt = guest_ptr(kvm, ACPI_DSDT_ADDR, ACPI_DSDT_MAX);
	u32 dsdt_len;
	int r;

	acpi_kvm = kvm;

	/* 32 slots of 14 bytes each is well within ACPI_DSDT_MAX. */
	dsdt_len = sizeof(*dsdt) + acpi__build_dsdt_aml((u8 *)(dsdt + 1));
	acpi_fill_header(dsdt, "DSDT", dsdt_len, 1);

	memset(facs, 0, sizeof(*facs));
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);

	memset(fadt, 0, sizeof(*fadt));
	fadt->firmware_ctrl = ACPI_FACS_ADDR;
	fadt->dsdt = ACPI_DSDT_ADDR;
	fadt->sci_int = ACPI_SCI_IRQ;
	fadt->pm1a_evt_blk = ACPI_PM1_EVT_PORT;
	fadt->pm1_evt_len = ACPI_PM1_EVT_LEN;
	fadt->pm1a_cnt_blk = ACPI_PM1_CNT_PORT;
	fadt->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	fadt->p_lvl2_lat = C2_DISABLED_LATENCY;
	fadt->p_lvl3_lat = C3_DISABLED_LATENCY;
	fadt->century = 0x32;	/* CMOS century register, see hw/rtc.c */
	fadt->flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON |
		      FADT_F_SLP_BUTTON;
	acpi_fill_header(&fadt->h, "FACP", sizeof(*fadt), 1);

	acpi__build_madt(kvm);

	rsdt->entry[0] = ACPI_FADT_ADDR;
	rsdt->entry[1] = ACPI_MADT_ADDR;
	acpi_fill_header(&rsdt->h, "RSDT", sizeof(*rsdt), 1);

	memset(rsdp, 0, sizeof(*rsdp));
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, "LKVM  ", 6);
	rsdp->rsdt_address = ACPI_RSDT_ADDR;
	rsdp->checksum = acpi_checksum(rsdp, sizeof(*rsdp));

	r = bus__register(BUS_PIO, ACPI_PM1_EVT_PORT, ACPI_PM1_EVT_LEN,
			  pm1_evt_io, NULL);
	if (r < 0)
		return r;
	return bus__register(BUS_PIO, ACPI_PM1_CNT_PORT, ACPI_PM1_CNT_LEN,
			     pm1_cnt_io, NULL);
}
lkvm_init(INIT_FIRMWARE, acpi__init);

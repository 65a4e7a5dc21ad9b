// SPDX-License-Identifier: GPL-2.0
/*
 * Loading a bzImage by the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst in the kernel tree): the setup header,
 * the zero page (struct boot_params), the command line, the initrd and
 * the e820 map.  ELF images go to the PVH loader in pvh.c.
 */
#include <string.h>

#include "kvm/x86.h"

/* Offsets into the boot sector / zero page (boot protocol, "THE REAL-MODE KERNEL HEADER"). */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define HDR_SETUP_SECTS		0x1f1
#define HDR_SYSSIZE		0x1f4
#define HDR_VID_MODE		0x1fa
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200
#define HDR_HEADER		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_CODE32_START	0x214
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_HEAP_END_PTR	0x224
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_INIT_SIZE		0x260
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128

#define HDR_MAGIC		0x53726448	/* "HdrS" */
#define BOOT_FLAG_MAGIC		0xaa55
#define LOADFLAG_LOADED_HIGH	0x01
#define LOADFLAG_CAN_USE_HEAP	0x80
#define XLF_KERNEL_64		0x01
#define LOADER_TYPE_UNDEFINED	0xff
#define VID_MODE_NORMAL		0xffff
#define SECTOR			512

static u16 get16(const u8 *p, size_t off) { return p[off] | p[off + 1] << 8; }
static u32 get32(const u8 *p, size_t off) { return get16(p, off) | (u32)get16(p, off + 2) << 16; }
static void put16(u8 *p, size_t off, u16 v) { p[off] = v; p[off + 1] = v >> 8; }
static void put32(u8 *p, size_t off, u32 v) { put16(p, off, v); put16(p, off + 2, v >> 16); }

int x86__e820_map(struct kvm *kvm, struct e820_entry *map, int max)
{
	struct ram_range ram[2];
	int nr_ram = kvm__ram_ranges(kvm, ram, 2), n = 0;

	if (max < 4)
		return 0;
	/* Below 1 MiB: conventional memory, then EBDA, ROM and BIOS area. */
	map[n++] = (struct e820_entry){ 0, EBDA_START, E820_RAM };
	map[n++] = (struct e820_entry){ EBDA_START, KERNEL_LOAD_ADDR - EBDA_START,
					E820_RESERVED };
	map[n++] = (struct e820_entry){ KERNEL_LOAD_ADDR,
					ram[0].size - KERNEL_LOAD_ADDR, E820_RAM };
	if (nr_ram > 1)
		map[n++] = (struct e820_entry){ ram[1].start, ram[1].size,
						E820_RAM };
	return n;
}

static bool is_bzimage(const u8 *image, size_t size)
{
	return size >= 2 * SECTOR && get16(image, HDR_BOOT_FLAG) == BOOT_FLAG_MAGIC &&
	       get32(image, HDR_HEADER) == HDR_MAGIC;
}

/*
 * Place the initrd as high as the kernel allows, page aligned, above the
 * kernel's decompression area.  Returns its guest address.
 */
static u64 place_initrd(struct kvm *kvm, u64 kernel_end, u64 addr_max,
			size_t size, const char *path)
{
	u64 top = MIN(kvm->ram_low, addr_max + 1);
	u64 addr;

	if (size > top || ALIGN_DOWN(top - size, 4096) < kernel_end)
		die("initrd %s (%zu MiB) does not fit in guest memory below "
		    "%llu MiB next to the kernel; give more memory with -m",
		    path, (size_t)(size / MiB), (unsigned long long)(top / MiB));
	addr = ALIGN_DOWN(top - size, 4096);
	return addr;
}

static void write_cmdline(struct kvm *kvm, u32 max_len)
{
	const char *params = kvm->cfg->params ? kvm->cfg->params : "";
	size_t len = strlen(params);
	char *dst;

	if (len > max_len || len >= BOOT_CMDLINE_MAX)
		die("kernel command line is %zu bytes, this kernel takes at most %u",
		    len, MIN(max_len, BOOT_CMDLINE_MAX - 1));
	dst = guest_ptr(kvm, BOOT_CMDLINE_ADDR, len + 1);
	memcpy(dst, params, len + 1);
}

static void load_bzimage(struct kvm *kvm, const u8 *image, size_t size,
			 const u8 *initrd, size_t initrd_size)
{
	struct e820_entry e820[E820_MAX];
	u16 version = get16(image, HDR_VERSION);
	u32 setup_sects = image[HDR_SETUP_SECTS] ? image[HDR_SETUP_SECTS] : 4;
	size_t setup_size = (setup_sects + 1) * SECTOR;
	size_t hdr_end = HDR_HEADER + image[HDR_JUMP + 1];
	size_t kernel_size, need;
	u64 kernel_end, initrd_addr = 0;
	u32 init_size;
	u8 *bp, *dst;
	bool real = kvm->boot_mode == BOOT_MODE_REAL;
	int nr;

	if (version < 0x20a)
		die("kernel %s uses boot protocol %x.%02x, lkvm needs 2.10 or later",
		    kvm->cfg->kernel, version >> 8, version & 0xff);
	if (!real && !(get16(image, HDR_XLOADFLAGS) & XLF_KERNEL_64))
		die("kernel %s has no 64-bit entry point; try --boot-mode real",
		    kvm->cfg->kernel);
	if (setup_size >= size || hdr_end > setup_size ||
	    setup_size + (size_t)get32(image, HDR_SYSSIZE) * 16 > size)
		die("kernel %s is truncated (%zu bytes, its header says %zu)",
		    kvm->cfg->kernel, size,
		    setup_size + (size_t)get32(image, HDR_SYSSIZE) * 16);

	kernel_size = size - setup_size;
	init_size = version >= 0x20a ? get32(image, HDR_INIT_SIZE) : 0;
	need = MAX(kernel_size, init_size);
	kernel_end = KERNEL_LOAD_ADDR + need;
	if (kernel_end > kvm->ram_low)
		die("guest memory too small for kernel %s: it needs %llu MiB, "
		    "give more with -m", kvm->cfg->kernel,
		    (unsigned long long)(kernel_end / MiB + 1));
	dst = guest_ptr(kvm, KERNEL_LOAD_ADDR, kernel_size);
	memcpy(dst, image + setup_size, kernel_size);

	/*
	 * The zero page: for the 64-bit entry a fresh page holding a copy of
	 * the setup header; in real mode the setup code itself, whose first
	 * page becomes the zero page.
	 */
	if (real) {
		bp = guest_ptr(kvm, REAL_SETUP_ADDR, setup_size);
		memcpy(bp, image, setup_size);
		kvm->boot_info = REAL_SETUP_ADDR;
		kvm->boot_entry = REAL_SETUP_ADDR;
	} else {
		bp = guest_ptr(kvm, BOOT_ZERO_PAGE_ADDR, 4096);
		memset(bp, 0, 4096);
		memcpy(bp + HDR_SETUP_SECTS, image + HDR_SETUP_SECTS,
		       hdr_end - HDR_SETUP_SECTS);
		kvm->boot_info = BOOT_ZERO_PAGE_ADDR;
		/* The 64-bit entry sits 0x200 past the 32-bit one. */
		kvm->boot_entry = KERNEL_LOAD_ADDR + 0x200;
	}

	bp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
	bp[HDR_LOADFLAGS] |= LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP;
	put16(bp, HDR_VID_MODE, VID_MODE_NORMAL);
	put32(bp, HDR_CODE32_START, KERNEL_LOAD_ADDR);
	put16(bp, HDR_HEAP_END_PTR, REAL_STACK_TOP - 0x200);

	write_cmdline(kvm, get32(image, HDR_CMDLINE_SIZE));
	put32(bp, HDR_CMD_LINE_PTR, BOOT_CMDLINE_ADDR);

	if (initrd) {
		initrd_addr = place_initrd(kvm, kernel_end,
					   get32(image, HDR_INITRD_ADDR_MAX),
					   initrd_size, initrd_name(kvm->cfg));
		memcpy(guest_ptr(kvm, initrd_addr, initrd_size), initrd,
		       initrd_size);
		put32(bp, HDR_RAMDISK_IMAGE, (u32)initrd_addr);
		put32(bp, HDR_RAMDISK_SIZE, (u32)initrd_size);
	}

	/*
	 * In real mode the rest is done by the setup code (it asks the BIOS
	 * for the memory map), and bp past the header is its code.
	 */
	if (real)
		goto out;
	put32(bp, BP_EXT_RAMDISK_IMAGE, initrd_addr >> 32);
	put32(bp, BP_EXT_RAMDISK_SIZE, (u64)initrd_size >> 32);
	nr = x86__e820_map(kvm, e820, E820_MAX);
	bp[BP_E820_ENTRIES] = MIN(nr, BP_E820_MAX);
	memcpy(bp + BP_E820_TABLE, e820, nr * sizeof(e820[0]));
out:
	pr_debug("bzImage protocol %x.%02x, %zu KiB at %#x, entry %#llx, "
		 "initrd at %#llx", version >> 8, version & 0xff,
		 kernel_size / 1024, KERNEL_LOAD_ADDR,
		 (unsigned long long)kvm->boot_entry,
		 (unsigned long long)initrd_addr);
}

void x86__load_kernel(struct kvm *kvm)
{
	struct kvm_config *cfg = kvm->cfg;
	const u8 *image, *initrd = NULL;
	size_t size, initrd_size = 0;

	image = map_file(cfg->kernel, "kernel", &size);
	if (cfg->initrd) {
		initrd = map_file(cfg->initrd, "initrd", &initrd_size);
	} else if (cfg->initrd_data) {
		initrd = cfg->initrd_data;
		initrd_size = cfg->initrd_size;
	}

	kvm->boot_mode = cfg->boot_mode;
	if (is_bzimage(image, size)) {
		if (kvm->boot_mode == BOOT_MODE_PVH)
			die("kernel %s is a bzImage; the PVH entry needs an ELF "
			    "vmlinux", cfg->kernel);
		if (kvm->boot_mode == BOOT_MODE_AUTO)
			kvm->boot_mode = BOOT_MODE_64;
		load_bzimage(kvm, image, size, initrd, initrd_size);
	} else if (pvh__is_elf(image, size)) {
		if (kvm->boot_mode != BOOT_MODE_AUTO &&
		    kvm->boot_mode != BOOT_MODE_PVH)
			die("kernel %s is an ELF vmlinux, it boots only through "
			    "the PVH entry", cfg->kernel);
		kvm->boot_mode = BOOT_MODE_PVH;
		pvh__load(kvm, image, size, initrd, initrd_size);
	} else {
		die("%s is not a Linux kernel (neither a bzImage nor an ELF "
		    "vmlinux)", cfg->kernel);
	}
}

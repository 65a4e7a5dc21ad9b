// SPDX-License-Identifier: GPL-2.0
/*
 * Loading an uncompressed ELF vmlinux through the PVH entry: the kernel
 * advertises a 32-bit physical entry point in an ELF note (Xen's
 * XEN_ELFNOTE_PHYS32_ENTRY), is entered in flat 32-bit protected mode
 * without paging, with %ebx pointing at a struct hvm_start_info (Xen
 * public ABI, arch-x86/hvm/start_info.h) that carries the command line,
 * the initrd as module 0 and the memory map.
 */
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "kvm/x86.h"

#define XEN_ELFNOTE_PHYS32_ENTRY	18
#define HVM_START_MAGIC			0x336ec578
#define HVM_START_VERSION		1

struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;
	u32 memmap_entries;
	u32 reserved;
};

struct hvm_modlist_entry {
	u64 paddr;
	u64 size;
	u64 cmdline_paddr;
	u64 reserved;
};

struct hvm_memmap_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};

/* Where the pieces go inside the start-info page. */
#define PVH_MODLIST_OFF		0x100
#define PVH_MEMMAP_OFF		0x200

bool pvh__is_elf(const u8 *image, size_t size)
{
	return size >= SELFMAG && !memcmp(image, ELFMAG, SELFMAG);
}

static Elf *pvh__open(const char *path, const u8 *image, size_t size)
{
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		die("libelf: %s", elf_errmsg(-1));
	/* libelf wants a writable buffer type but does not write to it. */
	elf = elf_memory((char *)image, size);
	if (!elf || elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64)
		die("%s is not a 64-bit ELF file: %s", path, elf_errmsg(-1));
	return elf;
}

/* The PVH entry address from the notes, or 0 when there is none. */
static u64 pvh__find_entry(Elf *elf)
{
	size_t phnum;

	if (elf_getphdrnum(elf, &phnum))
		return 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz,
					    ELF_T_NHDR);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &name_off,
					   &desc_off)) > 0) {
			const u8 *desc = (const u8 *)data->d_buf + desc_off;
			u64 entry = 0;

			if (nh.n_type != XEN_ELFNOTE_PHYS32_ENTRY ||
			    nh.n_namesz != 4 ||
			    memcmp((const char *)data->d_buf + name_off, "Xen", 4))
				continue;
			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				continue;
			memcpy(&entry, desc, nh.n_descsz);
			return entry;
		}
	}
	return 0;
}

/* Copy the PT_LOAD segments to their physical addresses; returns the end. */
static u64 pvh__load_segments(struct kvm *kvm, Elf *elf, const u8 *image,
			      size_t size)
{
	const char *path = kvm->cfg->kernel;
	u64 end = 0;
	size_t phnum;

	if (elf_getphdrnum(elf, &phnum))
		die("%s: cannot read ELF program headers", path);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		u8 *dst;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset ||
		    ph.p_filesz > ph.p_memsz)
			die("%s is truncated: segment %zu lies past its end",
			    path, i);
		dst = guest_ptr(kvm, ph.p_paddr, ph.p_memsz);
		if (!dst || ph.p_paddr < KERNEL_LOAD_ADDR)
			die("%s: segment %zu at %#llx+%#llx is outside guest "
			    "memory; give more with -m", path, i,
			    (unsigned long long)ph.p_paddr,
			    (unsigned long long)ph.p_memsz);
		memcpy(dst, image + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		end = MAX(end, ph.p_paddr + ph.p_memsz);
	}
	if (!end)
		die("%s has no loadable segment", path);
	return end;
}

void pvh__load(struct kvm *kvm, const u8 *image, size_t size,
	       const u8 *initrd, size_t initrd_size)
{
	struct kvm_config *cfg = kvm->cfg;
	struct e820_entry e820[E820_MAX];
	struct hvm_start_info *si;
	struct hvm_memmap_entry *mm;
	struct hvm_modlist_entry *mod;
	const char *params = cfg->params ? cfg->params : "";
	u64 entry, kernel_end;
	Elf *elf;
	int nr;

	elf = pvh__open(cfg->kernel, image, size);
	entry = pvh__find_entry(elf);
	if (!entry)
		die("ELF kernel %s has no PVH entry note (needs CONFIG_PVH)",
		    cfg->kernel);
	kernel_end = pvh__load_segments(kvm, elf, image, size);
	elf_end(elf);

	if (strlen(params) >= BOOT_CMDLINE_MAX)
		die("kernel command line is longer than %d bytes",
		    BOOT_CMDLINE_MAX - 1);
	strcpy(guest_ptr(kvm, BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX), params);

	si = guest_ptr(kvm, BOOT_PVH_INFO_ADDR, 4096);
	memset(si, 0, 4096);
	si->magic = HVM_START_MAGIC;
	si->version = HVM_START_VERSION;
	si->cmdline_paddr = BOOT_CMDLINE_ADDR;

	nr = x86__e820_map(kvm, e820, E820_MAX);
	mm = (void *)((u8 *)si + PVH_MEMMAP_OFF);
	for (int i = 0; i < nr; i++)
		mm[i] = (struct hvm_memmap_entry){ e820[i].addr, e820[i].size,
						   e820[i].type, 0 };
	si->memmap_paddr = BOOT_PVH_INFO_ADDR + PVH_MEMMAP_OFF;
	si->memmap_entries = nr;

	if (initrd) {
		u64 top = MIN(kvm->ram_low, 4 * GiB);
		u64 addr;

		if (initrd_size > top ||
		    ALIGN_DOWN(top - initrd_size, 4096) < kernel_end)
			die("initrd %s (%zu MiB) does not fit in guest memory "
			    "next to the kernel; give more memory with -m",
			    initrd_name(cfg), (size_t)(initrd_size / MiB));
		addr = ALIGN_DOWN(top - initrd_size, 4096);
		memcpy(guest_ptr(kvm, addr, initrd_size), initrd, initrd_size);
		mod = (void *)((u8 *)si + PVH_MODLIST_OFF);
		mod->paddr = addr;
		mod->size = initrd_size;
		si->modlist_paddr = BOOT_PVH_INFO_ADDR + PVH_MODLIST_OFF;
		si->nr_modules = 1;
	}

	kvm->boot_entry = entry;
	kvm->boot_info = BOOT_PVH_INFO_ADDR;
	pr_debug("PVH entry %#llx, kernel ends at %#llx",
		 (unsigned long long)entry, (unsigned long long)kernel_end);
}

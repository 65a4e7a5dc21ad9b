// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal ELF64 relocatable writer so that objdump can disassemble a
 * million test instructions in one run: a symbol per instruction makes
 * it resynchronize at every one, whatever the previous bytes were.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfobj.h"

static const char shstrtab[] = "\0.text\0.symtab\0.strtab\0.shstrtab";
enum { SH_TEXT = 1, SH_SYMTAB, SH_STRTAB, SH_SHSTRTAB, SH_NUM };

int elfobj_write(const char *path, const uint8_t *text, size_t text_len,
		 const uint32_t *starts, size_t n)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Shdr sh[SH_NUM] = { 0 };
	Elf64_Sym *syms = calloc(n + 1, sizeof(*syms));
	char *strtab = malloc(n * 12 + 1);
	size_t strlen_ = 1, i, off;
	FILE *f;
	int ok;

	if (!syms || !strtab) {
		free(syms);
		free(strtab);
		return -1;
	}
	strtab[0] = 0;
	for (i = 0; i < n; i++) {
		size_t end = i + 1 < n ? starts[i + 1] : text_len;

		syms[i + 1].st_name = strlen_;
		syms[i + 1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
		syms[i + 1].st_shndx = SH_TEXT;
		syms[i + 1].st_value = starts[i];
		syms[i + 1].st_size = end - starts[i];
		strlen_ += sprintf(strtab + strlen_, "c%zu", i) + 1;
	}

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = SH_NUM;
	eh.e_shstrndx = SH_SHSTRTAB;

	off = sizeof(eh);
	sh[SH_TEXT] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_PROGBITS,
		.sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_offset = off,
		.sh_size = text_len, .sh_addralign = 1 };
	off += text_len;
	off = (off + 7) & ~7UL;
	sh[SH_SYMTAB] = (Elf64_Shdr){ .sh_name = 7, .sh_type = SHT_SYMTAB,
		.sh_offset = off, .sh_size = (n + 1) * sizeof(*syms),
		.sh_link = SH_STRTAB, .sh_info = 1, .sh_addralign = 8,
		.sh_entsize = sizeof(*syms) };
	off += (n + 1) * sizeof(*syms);
	sh[SH_STRTAB] = (Elf64_Shdr){ .sh_name = 15, .sh_type = SHT_STRTAB,
		.sh_offset = off, .sh_size = strlen_, .sh_addralign = 1 };
	off += strlen_;
	sh[SH_SHSTRTAB] = (Elf64_Shdr){ .sh_name = 23, .sh_type = SHT_STRTAB,
		.sh_offset = off, .sh_size = sizeof(shstrtab),
		.sh_addralign = 1 };
	off += sizeof(shstrtab);
	off = (off + 7) & ~7UL;
	eh.e_shoff = off;

	f = fopen(path, "wb");
	if (!f) {
		free(syms);
		free(strtab);
		return -1;
	}
	ok = fwrite(&eh, sizeof(eh), 1, f) == 1 &&
	     fwrite(text, 1, text_len, f) == text_len;
	for (i = sizeof(eh) + text_len; ok && i < sh[SH_SYMTAB].sh_offset; i++)
		ok = fputc(0, f) != EOF;
	ok = ok && fwrite(syms, sizeof(*syms), n + 1, f) == n + 1 &&
	     fwrite(strtab, 1, strlen_, f) == strlen_ &&
	     fwrite(shstrtab, 1, sizeof(shstrtab), f) == sizeof(shstrtab);
	for (i = sh[SH_SHSTRTAB].sh_offset + sizeof(shstrtab);
	     ok && i < eh.e_shoff; i++)
		ok = fputc(0, f) != EOF;
	ok = ok && fwrite(sh, sizeof(sh), 1, f) == 1;
	ok = (fclose(f) == 0) && ok;
	free(syms);
	free(strtab);
	return ok ? 0 : -1;
}

/* SPDX-License-Identifier: GPL-2.0 */
/* Write a relocatable x86-64 ELF file: one .text, one symbol per chunk. */
#ifndef UNIT_ELFOBJ_H
#define UNIT_ELFOBJ_H

#include <stddef.h>
#include <stdint.h>

/*
 * @text: the code; @starts: offsets of @n chunks (ascending), each one
 * gets a function symbol so objdump restarts decoding there.
 */
int elfobj_write(const char *path, const uint8_t *text, size_t text_len,
		 const uint32_t *starts, size_t n);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* The guest init program (guest/init, built from guest/init.c) as data in lkvm. */
	.section .rodata
	.balign 16
	.globl lkvm_guest_init, lkvm_guest_init_end
lkvm_guest_init:
	.incbin "guest/init"
lkvm_guest_init_end:
	.section .note.GNU-stack, "", @progbits

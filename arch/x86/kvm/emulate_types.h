/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fixed-width types for the instruction emulator and the guest page-table
 * walker.  These sources build unchanged in the kernel module, in the host
 * unit tests and in lkvm, so they include nothing but this file: the kernel
 * gets <linux/types.h>, everyone else the freestanding compiler headers.
 */
#ifndef ARCH_X86_KVM_EMULATE_TYPES_H
#define ARCH_X86_KVM_EMULATE_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
#endif

/*
 * A deliberate fall-through between case labels, as the kernel spells it
 * (its -Wimplicit-fallthrough=5 accepts only the attribute); the kernel
 * build already has the macro from <linux/compiler_attributes.h>.
 */
#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif

#endif /* ARCH_X86_KVM_EMULATE_TYPES_H */

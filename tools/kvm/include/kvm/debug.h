/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__DEBUG_H
#define KVM__DEBUG_H

#include <linux/kvm.h>
#include <stdio.h>

#include "kvm/util.h"

struct kvm;
struct kvm_cpu;

/*
 * The `lkvm debug --dump` text of one vCPU: registers with RFLAGS, segment
 * attributes, CR0/CR4/EFER decoded, GDTR/IDTR, debug registers, pending
 * events, interrupt shadow, local APIC, code bytes around RIP with the
 * instructions from RIP disassembled by the tree's decoder
 * (arch/x86/kvm/emulate*.c), the stack, and the page-table walks of RIP
 * and RSP (arch/x86/kvm/mmu/walk.c).  The vCPU must be out of KVM_RUN:
 * paused (kvm/pause.h) or its own thread.
 */
void debug__dump_cpu(struct kvm_cpu *cpu, FILE *out);

/*
 * The same dump on stderr, lines ending in CR LF (the terminal may be
 * raw): for a triple fault, an internal error, a failed entry.
 */
void debug__dump_cpu_stderr(struct kvm_cpu *cpu);

/* Guest state both the dump and the gdb stub need. */
struct debug_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

/*
 * Translate guest linear address la through the vCPU's page tables (no
 * A/D updates).  Returns true with *gpa set, false if it is not mapped
 * or a paging structure is not RAM.  *page_left = bytes to the end of
 * the page that translated it.
 */
bool debug__translate(struct kvm *kvm, const struct kvm_sregs *s, u64 la,
		      u64 *gpa, u64 *page_left);

/* Copy len bytes of guest linear memory; returns the bytes copied. */
size_t debug__read_linear(struct kvm *kvm, const struct kvm_sregs *s,
			  u64 la, void *buf, size_t len);
size_t debug__write_linear(struct kvm *kvm, const struct kvm_sregs *s,
			   u64 la, const void *buf, size_t len);

/*
 * Disassemble the instruction at bytes[0..len) (code address rip, mode
 * from the registers) into buf.  Returns its length, 0 if it does not
 * decode (buf says why).
 */
unsigned int disasm__one(const u8 *bytes, unsigned int len,
			 const struct kvm_sregs *s, u64 rflags, u64 rip,
			 char *buf, size_t size);

/* Serial console (hw/serial.c): a break condition, then key (magic SysRq). */
void serial__sysrq(u8 key);

#endif

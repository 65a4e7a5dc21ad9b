/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A test machine for the emulator: guest RAM, an MMIO window and ports
 * served "by userspace" (the IO_NEEDED/re-execute protocol the module
 * uses), segment/control state, and a page-table builder.
 */
#ifndef UNIT_TVM_H
#define UNIT_TVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../../arch/x86/kvm/emulate.h"

#define TVM_MMIO_MAX_LOG	64

struct tvm_io {
	uint64_t addr;		/* gpa or port */
	uint32_t len;
	uint8_t data[16];
};

struct tvm {
	uint8_t *mem;			/* guest RAM at gpa 0 */
	uint64_t mem_size;
	uint64_t mmio_base, mmio_size;	/* gpa window served by "userspace" */
	uint8_t *mmio;			/* its backing store */
	uint8_t ports[65536 + 4];	/* port input values */

	/*
	 * Userspace reads: one pending at a time (like KVM_EXIT_MMIO), and
	 * the completed ones of the current instruction, replayed in order
	 * when it is re-executed (an instruction may read MMIO twice).
	 */
	bool pending, pending_pio;
	struct tvm_io pend;
	struct tvm_io done[4];
	bool done_pio[4];
	unsigned int ndone, next_done;

	/* What the guest wrote to MMIO / ports, in order. */
	struct tvm_io log[TVM_MMIO_MAX_LOG];
	unsigned int nlog;
	unsigned int exits;		/* userspace round trips */

	struct x86_segment seg[X86_NR_SEGS];
	struct x86_dtable dt[2];
	uint64_t cr[9], dr[8], efer;
	uint64_t invlpg_la;
	unsigned int wbinvd;
	uint64_t pt_next;		/* page-table page allocator (gpa) */

	struct x86_emul_ctxt c;
};

/* RAM of @mem_size bytes; page tables are allocated downwards from the top. */
struct tvm *tvm_create(uint64_t mem_size);
void tvm_destroy(struct tvm *vm);

/*
 * Flat segments for @mode (base 0, 4 GiB limit or 64 KiB in real mode);
 * drops any page tables built so far (long mode gets a fresh root).
 */
void tvm_set_mode(struct tvm *vm, enum x86_cpu_mode mode);

/* Paging.  Root is allocated on first use; flags are PTE bits. */
void tvm_paging_long(struct tvm *vm);		/* 4-level, PAE, LMA */
void tvm_map(struct tvm *vm, uint64_t la, uint64_t gpa, uint64_t flags);

/* Load the CPU state into vm->c (keeps regs/rip/rflags set by the test). */
void tvm_prepare(struct tvm *vm, enum x86_cpu_mode mode, uint8_t cpl);

/*
 * Run x86_emulate() like the module does: satisfy IO_NEEDED from the MMIO
 * store/ports and re-run, up to @max_rounds times.  Returns the final
 * X86EMUL_* result.
 */
int tvm_emulate(struct tvm *vm, unsigned int max_rounds);

extern const struct x86_emul_ops tvm_ops;

#endif

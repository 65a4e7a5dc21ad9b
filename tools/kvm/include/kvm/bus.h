/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__BUS_H
#define KVM__BUS_H

#include "kvm/util.h"

struct kvm_cpu;

enum bus_type {
	BUS_PIO,
	BUS_MMIO,
	BUS_NR,
};

/*
 * A device's access handler.  offset is relative to the base the range
 * was registered at; data holds len bytes (little endian) to write, or is
 * to be filled for a read.  cpu is NULL for accesses not made by a vCPU.
 */
typedef void (*bus_handler_t)(struct kvm_cpu *cpu, u64 offset, u8 *data,
			      u32 len, bool is_write, void *opaque);

/* Claim [base, base + len); fails if it overlaps an existing range. */
int bus__register(enum bus_type type, u64 base, u64 len,
		  bus_handler_t fn, void *opaque);
int bus__unregister(enum bus_type type, u64 base);

/* Route one access; false if nothing claims it. */
bool bus__dispatch(struct kvm_cpu *cpu, enum bus_type type, u64 addr,
		   u8 *data, u32 len, bool is_write);

/*
 * Every range with the number of accesses routed to it (lkvm stat); the
 * count restarts when a range is registered again (a PCI BAR moving).
 */
void bus__for_each(enum bus_type type,
		   void (*fn)(u64 base, u64 len, u64 accesses, void *arg),
		   void *arg);

/* Little-endian helpers for handlers. */
static inline u64 bus__get(const u8 *data, u32 len)
{
	u64 v = 0;

	for (u32 i = 0; i < len && i < 8; i++)
		v |= (u64)data[i] << (8 * i);
	return v;
}

static inline void bus__put(u8 *data, u32 len, u64 v)
{
	for (u32 i = 0; i < len && i < 8; i++)
		data[i] = v >> (8 * i);
}

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * The PIO and MMIO buses: devices claim address ranges, vCPU exits are
 * routed to the claiming handler.  Ranges are kept sorted by base so a
 * lookup is a binary search.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/bus.h"

#define BUS_MAX_RANGES	128

struct bus_range {
	u64 base;
	u64 len;
	bus_handler_t fn;
	void *opaque;
	u64 accesses;		/* atomic adds under the read lock */
};

struct bus {
	/* Protects nr and ranges: PCI BAR moves change them at run time. */
	pthread_rwlock_t lock;
	int nr;
	struct bus_range ranges[BUS_MAX_RANGES];
};

static struct bus buses[BUS_NR] = {
	[BUS_PIO] = { .lock = PTHREAD_RWLOCK_INITIALIZER },
	[BUS_MMIO] = { .lock = PTHREAD_RWLOCK_INITIALIZER },
};

/* Index of the first range whose end is above addr. */
static int bus__search(struct bus *bus, u64 addr)
{
	int lo = 0, hi = bus->nr;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		struct bus_range *r = &bus->ranges[mid];

		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus__register(enum bus_type type, u64 base, u64 len,
		  bus_handler_t fn, void *opaque)
{
	struct bus *bus = &buses[type];
	int i, ret = 0;

	if (!len || base + len < base)
		return -EINVAL;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus__search(bus, base);
	if (bus->nr == BUS_MAX_RANGES) {
		ret = -ENOSPC;
	} else if (i < bus->nr && bus->ranges[i].base < base + len) {
		ret = -EBUSY;
	} else {
		memmove(&bus->ranges[i + 1], &bus->ranges[i],
			(bus->nr - i) * sizeof(bus->ranges[0]));
		bus->ranges[i] = (struct bus_range){ base, len, fn, opaque, 0 };
		bus->nr++;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus__unregister(enum bus_type type, u64 base)
{
	struct bus *bus = &buses[type];
	int i, ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus__search(bus, base);
	if (i < bus->nr && bus->ranges[i].base == base) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr - i - 1) * sizeof(bus->ranges[0]));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool bus__dispatch(struct kvm_cpu *cpu, enum bus_type type, u64 addr,
		   u8 *data, u32 len, bool is_write)
{
	struct bus *bus = &buses[type];
	struct bus_range r;
	bool found = false;
	int i;

	pthread_rwlock_rdlock(&bus->lock);
	i = bus__search(bus, addr);
	if (i < bus->nr && bus->ranges[i].base <= addr) {
		__atomic_fetch_add(&bus->ranges[i].accesses, 1,
				   __ATOMIC_RELAXED);
		r = bus->ranges[i];
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);

	if (!found)
		return false;
	/* An access straddling the end of a range is clipped to it. */
	if (addr + len > r.base + r.len)
		len = r.base + r.len - addr;
	r.fn(cpu, addr - r.base, data, len, is_write, r.opaque);
	return true;
}

void bus__for_each(enum bus_type type,
		   void (*fn)(u64 base, u64 len, u64 accesses, void *arg),
		   void *arg)
{
	struct bus *bus = &buses[type];

	pthread_rwlock_rdlock(&bus->lock);
	for (int i = 0; i < bus->nr; i++)
		fn(bus->ranges[i].base, bus->ranges[i].len,
		   __atomic_load_n(&bus->ranges[i].accesses, __ATOMIC_RELAXED),
		   arg);
	pthread_rwlock_unlock(&bus->lock);
}

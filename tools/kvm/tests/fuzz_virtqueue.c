// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the input is guest memory plus a few bytes choosing
 * the queue; the virtqueue core must never touch memory outside it, nor
 * crash, whatever the descriptors say.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/virtqueue.h"

#define MEM_SIZE	65536

struct fuzz_mem {
	const uint8_t *base;
	size_t size;
};

static void *xlate(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fuzz_mem *m = opaque;

	if (gpa + len < gpa || gpa + len > m->size)
		return NULL;
	return (void *)(m->base + gpa);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_chain chain;
	struct fuzz_mem m;
	struct virtqueue vq = { 0 };
	const char *why;
	uint8_t *mem;
	size_t sum = 0;

	if (size < 8)
		return 0;
	/* Header: queue size log2, flags, ring addresses (scaled). */
	vq.size = 1u << (data[0] % 10);
	vq.indirect_ok = data[1] & 1;
	vq.desc_gpa = (uint64_t)(data[2] | data[3] << 8) * 16 % MEM_SIZE;
	vq.avail_gpa = (uint64_t)(data[4] | data[5] << 8) * 2 % MEM_SIZE;
	vq.used_gpa = (uint64_t)(data[6] | data[7] << 8) * 4 % MEM_SIZE;
	data += 8;
	size -= 8;

	/* Exactly the input, in its own allocation, so ASan sees overruns. */
	mem = malloc(size ? size : 1);
	if (!mem)
		return 0;
	memcpy(mem, data, size);
	m = (struct fuzz_mem){ mem, size };
	vq.mem = (struct vq_mem){ xlate, &m };

	/* Every head of the table, directly. */
	for (uint32_t h = 0; h < vq.size; h++) {
		if (vq_parse_chain(&vq.mem, vq.desc_gpa, vq.size, h,
				   vq.indirect_ok, &chain, &why) == 0) {
			for (unsigned int i = 0; i < chain.nr_out + chain.nr_in; i++)
				sum += ((uint8_t *)chain.iov[i].iov_base)[0] +
				       ((uint8_t *)chain.iov[i].iov_base)
				       [chain.iov[i].iov_len - 1];
		}
	}
	/* Through the rings, as a device would. */
	if (vq_setup(&vq, &why) == 0) {
		for (int i = 0; i < 2 * (int)vq.size; i++) {
			int r = vq_pop(&vq, &chain, &why);

			if (r <= 0)
				break;
			vq_push(&vq, chain.head, chain.in_len);
			vq_should_signal(&vq);
		}
	}
	free(mem);
	return sum == 0xdeadbeef;	/* keep sum alive */
}

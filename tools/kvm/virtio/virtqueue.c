// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues: descriptor chains, available and used rings (virtio
 * 1.1, 2.6).  No lkvm dependency, see kvm/virtqueue.h.  Virtio 1.x is
 * little endian and so is every host lkvm runs on (x86-64), so ring
 * fields are used as they are.
 */
#include <errno.h>
#include <string.h>

#include "kvm/virtqueue.h"

#define DESC_SIZE	sizeof(struct vq_desc)

static int chain_fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

int vq_parse_chain(const struct vq_mem *mem, uint64_t desc_gpa,
		   uint16_t qsize, uint16_t head, bool indirect_ok,
		   struct vq_chain *c, const char **why)
{
	uint64_t table = desc_gpa, total = 0;
	uint32_t table_size = qsize, limit = qsize, visited = 0;
	bool indirect = false, seen_write = false;
	uint16_t idx = head;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	if (!qsize)
		return chain_fail(why, "queue has no descriptors", -EINVAL);

	for (;;) {
		struct vq_desc d;
		const void *p;
		void *buf;

		if (idx >= table_size)
			return chain_fail(why, "descriptor index out of range",
					  -EINVAL);
		/* More descriptors than the table holds: a loop. */
		if (++visited > limit)
			return chain_fail(why, "descriptor chain loops", -EINVAL);
		p = mem->xlate(mem->opaque, table + (uint64_t)idx * DESC_SIZE,
			       DESC_SIZE);
		if (!p)
			return chain_fail(why, "descriptor table outside RAM",
					  -EFAULT);
		/* One copy: the guest may change it while we look. */
		memcpy(&d, p, sizeof(d));

		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* virtio 1.1, 2.6.5.3.1: the driver requirements. */
			if (!indirect_ok)
				return chain_fail(why, "indirect descriptor not "
						  "negotiated", -EINVAL);
			if (indirect)
				return chain_fail(why, "nested indirect table",
						  -EINVAL);
			if (d.flags & VRING_DESC_F_NEXT)
				return chain_fail(why, "indirect descriptor "
						  "with NEXT", -EINVAL);
			if (!d.len || d.len % DESC_SIZE ||
			    d.len / DESC_SIZE > VQ_MAX_SEGS)
				return chain_fail(why, "bad indirect table "
						  "length", -EINVAL);
			if (!mem->xlate(mem->opaque, d.addr, d.len))
				return chain_fail(why, "indirect table outside "
						  "RAM", -EFAULT);
			indirect = true;
			table = d.addr;
			table_size = limit = d.len / DESC_SIZE;
			visited = 0;
			idx = 0;
			continue;
		}

		if (d.flags & VRING_DESC_F_WRITE)
			seen_write = true;
		else if (seen_write)
			return chain_fail(why, "readable buffer after a "
					  "writable one", -EINVAL);
		if (d.len) {
			unsigned int n = c->nr_out + c->nr_in;

			if (n == VQ_MAX_SEGS)
				return chain_fail(why, "chain too long", -EINVAL);
			total += d.len;
			if (total > VQ_MAX_CHAIN_BYTES)
				return chain_fail(why, "chain too large", -EINVAL);
			buf = mem->xlate(mem->opaque, d.addr, d.len);
			if (!buf)
				return chain_fail(why, "buffer outside RAM",
						  -EFAULT);
			c->iov[n].iov_base = buf;
			c->iov[n].iov_len = d.len;
			if (d.flags & VRING_DESC_F_WRITE) {
				c->nr_in++;
				c->in_len += d.len;
			} else {
				c->nr_out++;
				c->out_len += d.len;
			}
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int vq_setup(struct virtqueue *vq, const char **why)
{
	uint64_t n = vq->size;
	uint8_t *avail, *used;

	if (!n || n > VQ_MAX_SIZE || (n & (n - 1)))
		return chain_fail(why, "queue size not a power of two up to "
				  "the maximum", -EINVAL);
	/* Alignment: virtio 1.1, 2.6 table "Virtqueue Part Alignment". */
	if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4)
		return chain_fail(why, "misaligned ring", -EINVAL);
	if (!vq->mem.xlate(vq->mem.opaque, vq->desc_gpa, n * DESC_SIZE))
		return chain_fail(why, "descriptor table outside RAM", -EFAULT);
	avail = vq->mem.xlate(vq->mem.opaque, vq->avail_gpa, 6 + 2 * n);
	used = vq->mem.xlate(vq->mem.opaque, vq->used_gpa,
			     6 + sizeof(struct vq_used_elem) * n);
	if (!avail || !used)
		return chain_fail(why, "ring outside RAM", -EFAULT);

	vq->avail_flags = (volatile uint16_t *)avail;
	vq->avail_idx = (volatile uint16_t *)(avail + 2);
	vq->avail_ring = (volatile uint16_t *)(avail + 4);
	vq->used_flags = (volatile uint16_t *)used;
	vq->used_idx = (volatile uint16_t *)(used + 2);
	vq->used_ring = (volatile struct vq_used_elem *)(used + 4);
	vq->last_avail = 0;
	vq->used_next = 0;
	return 0;
}

int vq_pop(struct virtqueue *vq, struct vq_chain *c, const char **why)
{
	uint16_t avail, head;
	int r;

	/* Acquire: the ring entries are read after the index. */
	avail = __atomic_load_n(vq->avail_idx, __ATOMIC_ACQUIRE);
	if (avail == vq->last_avail)
		return 0;
	if ((uint16_t)(avail - vq->last_avail) > vq->size)
		return chain_fail(why, "available index ran ahead of the ring",
				  -EINVAL);
	head = vq->avail_ring[vq->last_avail % vq->size];
	vq->last_avail++;
	r = vq_parse_chain(&vq->mem, vq->desc_gpa, vq->size, head,
			   vq->indirect_ok, c, why);
	return r < 0 ? r : 1;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	volatile struct vq_used_elem *e;

	e = &vq->used_ring[vq->used_next % vq->size];
	e->id = head;
	e->len = len;
	vq->used_next++;
	/* Release: the element is visible before the index moves. */
	__atomic_store_n(vq->used_idx, vq->used_next, __ATOMIC_RELEASE);
}

bool vq_should_signal(struct virtqueue *vq)
{
	/* The used index store must be ordered before the flags load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(*vq->avail_flags & VRING_AVAIL_F_NO_INTERRUPT);
}

size_t iov_copy_from(const struct iovec *iov, unsigned int n, size_t off,
		     void *dst, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, chunk;

		if (off >= l) {
			off -= l;
			continue;
		}
		chunk = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)dst + done, (uint8_t *)iov[i].iov_base + off,
		       chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t iov_copy_to(const struct iovec *iov, unsigned int n, size_t off,
		   const void *src, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, chunk;

		if (off >= l) {
			off -= l;
			continue;
		}
		chunk = l - off < len - done ? l - off : len - done;
		memcpy((uint8_t *)iov[i].iov_base + off,
		       (const uint8_t *)src + done, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t off,
		       size_t len, struct iovec *out, unsigned int max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len && k < max; i++) {
		size_t l = iov[i].iov_len, chunk;

		if (off >= l) {
			off -= l;
			continue;
		}
		chunk = l - off < len ? l - off : len;
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = chunk;
		k++;
		len -= chunk;
		off = 0;
	}
	return k;
}

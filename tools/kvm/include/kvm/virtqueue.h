/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KVM__VIRTQUEUE_H
#define KVM__VIRTQUEUE_H

/*
 * Split virtqueues (virtio 1.1, 2.6).  This file and virtio/virtqueue.c
 * know nothing of lkvm: guest memory is reached only through a translate
 * callback, so the descriptor parser is a pure function of guest memory
 * that the host unit test and the fuzzer drive with a plain buffer.
 *
 * Everything read from the guest is untrusted.  A descriptor index out
 * of range, an address outside guest RAM, a loop, a nested indirect
 * table, a readable descriptor after a writable one or a chain longer
 * than VQ_MAX_SEGS makes the parser fail; the caller then marks the
 * device broken.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Descriptor flags (virtio 1.1, 2.6.5). */
#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	1

/* Most buffers one chain may have, direct and indirect together. */
#define VQ_MAX_SEGS		512
/* Largest queue lkvm offers; must be a power of two. */
#define VQ_MAX_SIZE		256
/* Most bytes a chain may describe (guards the u32 used length). */
#define VQ_MAX_CHAIN_BYTES	(1u << 30)

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};

/*
 * Host pointer for guest physical [gpa, gpa + len), or NULL if any of it
 * is not guest memory.
 */
typedef void *(*vq_xlate_t)(void *opaque, uint64_t gpa, uint64_t len);

struct vq_mem {
	vq_xlate_t xlate;
	void *opaque;
};

/*
 * A parsed chain: the device-readable buffers (out) come first in iov,
 * then the device-writable ones (in).  Zero-length descriptors are
 * dropped.
 */
struct vq_chain {
	uint16_t head;
	unsigned int nr_out, nr_in;
	size_t out_len, in_len;
	struct iovec iov[VQ_MAX_SEGS];
};

static inline struct iovec *vq_chain_in(struct vq_chain *c)
{
	return c->iov + c->nr_out;
}

/*
 * Parse the chain starting at descriptor head of the table at desc_gpa
 * (qsize entries).  Returns 0, or -EINVAL for a malformed chain and
 * -EFAULT for an address outside guest memory; *why then says what was
 * wrong (a static string).
 */
int vq_parse_chain(const struct vq_mem *mem, uint64_t desc_gpa,
		   uint16_t qsize, uint16_t head, bool indirect_ok,
		   struct vq_chain *c, const char **why);

/*
 * The state of one queue as the device sees it.  The three addresses
 * and size are what the driver programmed; vq_setup() checks them.
 */
struct virtqueue {
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool indirect_ok;		/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	struct vq_mem mem;

	/* Valid after vq_setup(). */
	volatile uint16_t *avail_flags, *avail_idx, *avail_ring;
	volatile uint16_t *used_flags, *used_idx;
	volatile struct vq_used_elem *used_ring;
	uint16_t last_avail;		/* next avail entry the device takes */
	uint16_t used_next;		/* next used index the device fills */
};

/* Check and map the rings; -EINVAL/-EFAULT with *why on bad values. */
int vq_setup(struct virtqueue *vq, const char **why);

/*
 * Take the next available chain.  Returns 1 with *c filled, 0 when the
 * ring is empty, or a negative error (*why set): the device is broken.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *c, const char **why);

/* Hand a chain back with len bytes written into its in buffers. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/* Does the driver want an interrupt for what was just pushed? */
bool vq_should_signal(struct virtqueue *vq);

/* Copy between a chain's buffers and a flat buffer, from byte off on. */
size_t iov_copy_from(const struct iovec *iov, unsigned int n, size_t off,
		     void *dst, size_t len);
size_t iov_copy_to(const struct iovec *iov, unsigned int n, size_t off,
		   const void *src, size_t len);
/* iov[off, off + len) as a new vector in out (at most max entries). */
unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t off,
		       size_t len, struct iovec *out, unsigned int max);

#endif

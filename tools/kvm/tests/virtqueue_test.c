// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of the virtqueue core (virtio/virtqueue.c): descriptor
 * chains good and malicious, ring setup, pop/push.  "Guest memory" is a
 * plain buffer; a second, huge region exists only as addresses so chain
 * size limits can be tested without allocating gigabytes.  Built with
 * ASan and UBSan by `make -C tools/kvm check`.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/virtqueue.h"
#include "ktap.h"

#define MEM_SIZE	(1 << 20)
#define HUGE_BASE	(1ULL << 40)	/* fake region: never dereferenced */
#define HUGE_SIZE	(1ULL << 40)
#define QSIZE		16
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define INDIRECT_GPA	0x8000
#define BUF_GPA		0x10000

static uint8_t *mem;
static uint8_t huge_byte;

static void *xlate(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	if (gpa + len < gpa)
		return NULL;
	if (gpa + len <= MEM_SIZE)
		return mem + gpa;
	if (gpa >= HUGE_BASE && gpa - HUGE_BASE + len <= HUGE_SIZE)
		return &huge_byte;
	return NULL;
}

static const struct vq_mem vmem = { xlate, NULL };
static struct vq_chain chain;
static const char *why;

static struct vq_desc *desc(uint64_t table, int i)
{
	return (struct vq_desc *)(mem + table) + i;
}

static void set_desc(uint64_t table, int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	*desc(table, i) = (struct vq_desc){ addr, len, flags, next };
}

static int parse(uint16_t head, bool indirect_ok)
{
	why = NULL;
	return vq_parse_chain(&vmem, DESC_GPA, QSIZE, head, indirect_ok,
			      &chain, &why);
}

static void reset_mem(void)
{
	memset(mem, 0, MEM_SIZE);
}

static void test_simple_chain(void)
{
	reset_mem();
	/* A block request: header out, data in, status in. */
	set_desc(DESC_GPA, 3, BUF_GPA, 16, VRING_DESC_F_NEXT, 7);
	set_desc(DESC_GPA, 7, BUF_GPA + 0x100, 512,
		 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(DESC_GPA, 1, BUF_GPA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	ktap_check(parse(3, false) == 0 && chain.head == 3 &&
		   chain.nr_out == 1 && chain.nr_in == 2 &&
		   chain.out_len == 16 && chain.in_len == 513 &&
		   chain.iov[0].iov_base == mem + BUF_GPA &&
		   vq_chain_in(&chain)[1].iov_base == mem + BUF_GPA + 0x400,
		   "three-descriptor chain: one out, two in");
}

static void test_bad_indices(void)
{
	reset_mem();
	ktap_check(parse(QSIZE, false) == -EINVAL,
		   "head index beyond the queue is refused (%s)", why);
	set_desc(DESC_GPA, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, QSIZE + 5);
	ktap_check(parse(0, false) == -EINVAL,
		   "next index beyond the queue is refused (%s)", why);
}

static void test_loops(void)
{
	reset_mem();
	set_desc(DESC_GPA, 0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
	ktap_check(parse(0, false) == -EINVAL, "two-descriptor loop is refused (%s)",
		   why);
	set_desc(DESC_GPA, 2, BUF_GPA, 8, VRING_DESC_F_NEXT, 2);
	ktap_check(parse(2, false) == -EINVAL, "self loop is refused (%s)", why);
	/* The longest legal chain: every descriptor once. */
	for (int i = 0; i < QSIZE; i++)
		set_desc(DESC_GPA, i, BUF_GPA, 8,
			 i < QSIZE - 1 ? VRING_DESC_F_NEXT : 0, i + 1);
	ktap_check(parse(0, false) == 0 && chain.nr_out == QSIZE,
		   "a chain using all %d descriptors is fine", QSIZE);
}

static void test_bad_addresses(void)
{
	reset_mem();
	set_desc(DESC_GPA, 0, MEM_SIZE - 4, 8, 0, 0);
	ktap_check(parse(0, false) == -EFAULT,
		   "buffer running off the end of RAM is refused (%s)", why);
	set_desc(DESC_GPA, 0, ~0ULL - 3, 8, 0, 0);
	ktap_check(parse(0, false) == -EFAULT,
		   "buffer whose end wraps around is refused (%s)", why);
	ktap_check(vq_parse_chain(&vmem, MEM_SIZE - 8, QSIZE, 1, false, &chain,
				  &why) == -EFAULT,
		   "descriptor table outside RAM is refused (%s)", why);
}

static void test_direction(void)
{
	reset_mem();
	set_desc(DESC_GPA, 0, BUF_GPA, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 8, 0, 0);
	ktap_check(parse(0, false) == -EINVAL,
		   "readable buffer after a writable one is refused (%s)", why);
	set_desc(DESC_GPA, 0, BUF_GPA, 0, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, BUF_GPA, 4, VRING_DESC_F_WRITE, 0);
	ktap_check(parse(0, false) == 0 && chain.nr_out == 0 &&
		   chain.nr_in == 1 && chain.in_len == 4,
		   "zero-length descriptors are dropped");
}

static void test_indirect(void)
{
	reset_mem();
	set_desc(INDIRECT_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	set_desc(INDIRECT_GPA, 2, BUF_GPA + 16, 100, VRING_DESC_F_NEXT, 1);
	set_desc(INDIRECT_GPA, 1, BUF_GPA + 200, 1, VRING_DESC_F_WRITE, 0);
	set_desc(DESC_GPA, 5, INDIRECT_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	ktap_check(parse(5, true) == 0 && chain.nr_out == 2 &&
		   chain.nr_in == 1 && chain.out_len == 116 &&
		   chain.in_len == 1,
		   "indirect table of three descriptors");
	ktap_check(parse(5, false) == -EINVAL,
		   "indirect descriptor without the feature is refused (%s)", why);

	/* A direct prefix before the indirect descriptor is allowed. */
	set_desc(DESC_GPA, 4, BUF_GPA, 8, VRING_DESC_F_NEXT, 5);
	ktap_check(parse(4, true) == 0 && chain.nr_out == 3,
		   "direct descriptor followed by an indirect table");

	set_desc(DESC_GPA, 5, INDIRECT_GPA, 3 * 16,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 6);
	ktap_check(parse(5, true) == -EINVAL,
		   "indirect descriptor with NEXT is refused (%s)", why);

	set_desc(DESC_GPA, 5, INDIRECT_GPA, 3 * 16 + 1, VRING_DESC_F_INDIRECT, 0);
	ktap_check(parse(5, true) == -EINVAL,
		   "indirect table length not a multiple of 16 is refused (%s)",
		   why);
	set_desc(DESC_GPA, 5, INDIRECT_GPA, 0, VRING_DESC_F_INDIRECT, 0);
	ktap_check(parse(5, true) == -EINVAL,
		   "empty indirect table is refused (%s)", why);
	set_desc(DESC_GPA, 5, MEM_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0);
	ktap_check(parse(5, true) == -EFAULT,
		   "indirect table outside RAM is refused (%s)", why);

	set_desc(DESC_GPA, 5, INDIRECT_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(INDIRECT_GPA, 1, INDIRECT_GPA, 48, VRING_DESC_F_INDIRECT, 0);
	ktap_check(parse(5, true) == -EINVAL,
		   "nested indirect table is refused (%s)", why);

	set_desc(INDIRECT_GPA, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
	ktap_check(parse(5, true) == -EINVAL,
		   "loop inside an indirect table is refused (%s)", why);

	set_desc(INDIRECT_GPA, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 3);
	ktap_check(parse(5, true) == -EINVAL,
		   "index beyond the indirect table is refused (%s)", why);
}

static void test_limits(void)
{
	const uint32_t n = VQ_MAX_SEGS;

	reset_mem();
	/* A full-size indirect table, plus direct ones: too many buffers. */
	for (uint32_t i = 0; i < n; i++)
		set_desc(INDIRECT_GPA, i, BUF_GPA, 8,
			 i < n - 1 ? VRING_DESC_F_NEXT : 0, i + 1);
	set_desc(DESC_GPA, 0, INDIRECT_GPA, n * 16, VRING_DESC_F_INDIRECT, 0);
	ktap_check(parse(0, true) == 0 && chain.nr_out == n,
		   "indirect table of VQ_MAX_SEGS (%u) buffers is fine", n);
	set_desc(DESC_GPA, 1, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
	ktap_check(parse(1, true) == -EINVAL,
		   "more than VQ_MAX_SEGS buffers is refused (%s)", why);
	set_desc(DESC_GPA, 0, INDIRECT_GPA, (n + 1) * 16,
		 VRING_DESC_F_INDIRECT, 0);
	ktap_check(parse(0, true) == -EINVAL,
		   "indirect table larger than VQ_MAX_SEGS is refused (%s)", why);

	/* Lengths adding up past the limit (huge region: no real memory). */
	set_desc(DESC_GPA, 0, HUGE_BASE, 0x30000000, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_GPA, 1, HUGE_BASE, 0x30000000, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_GPA, 2, HUGE_BASE, 0x30000000, 0, 0);
	ktap_check(parse(0, false) == -EINVAL,
		   "chain larger than VQ_MAX_CHAIN_BYTES is refused (%s)", why);
}

static struct virtqueue vq;

static void setup_vq(void)
{
	memset(&vq, 0, sizeof(vq));
	vq.size = QSIZE;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	vq.mem = vmem;
}

static void avail_add(uint16_t head)
{
	uint16_t *ring = (uint16_t *)(mem + AVAIL_GPA);
	uint16_t idx = ring[1];

	ring[2 + idx % QSIZE] = head;
	ring[1] = idx + 1;
}

static void test_setup(void)
{
	setup_vq();
	vq.size = 12;
	ktap_check(vq_setup(&vq, &why) == -EINVAL,
		   "queue size not a power of two is refused (%s)", why);
	setup_vq();
	vq.size = 2 * VQ_MAX_SIZE;
	ktap_check(vq_setup(&vq, &why) == -EINVAL,
		   "queue larger than VQ_MAX_SIZE is refused (%s)", why);
	setup_vq();
	vq.desc_gpa = DESC_GPA + 8;
	ktap_check(vq_setup(&vq, &why) == -EINVAL,
		   "misaligned descriptor table is refused (%s)", why);
	setup_vq();
	vq.used_gpa = MEM_SIZE - 8;
	ktap_check(vq_setup(&vq, &why) == -EFAULT,
		   "used ring outside RAM is refused (%s)", why);
	setup_vq();
	ktap_check(vq_setup(&vq, &why) == 0, "good rings are accepted");
}

static void test_pop_push(void)
{
	uint16_t *avail = (uint16_t *)(mem + AVAIL_GPA);
	uint16_t *used = (uint16_t *)(mem + USED_GPA);
	struct vq_used_elem *elem = (void *)(mem + USED_GPA + 4);
	int r1, r2, r3;

	reset_mem();
	setup_vq();
	vq_setup(&vq, &why);
	set_desc(DESC_GPA, 2, BUF_GPA, 8, 0, 0);
	set_desc(DESC_GPA, 9, BUF_GPA, 4, VRING_DESC_F_WRITE, 0);
	ktap_check(vq_pop(&vq, &chain, &why) == 0, "empty ring pops nothing");
	avail_add(2);
	avail_add(9);
	r1 = vq_pop(&vq, &chain, &why);
	r2 = chain.head;
	vq_push(&vq, chain.head, 0);
	r3 = vq_pop(&vq, &chain, &why);
	vq_push(&vq, chain.head, 4);
	ktap_check(r1 == 1 && r2 == 2 && r3 == 1 && chain.head == 9 &&
		   used[1] == 2 && elem[0].id == 2 && elem[0].len == 0 &&
		   elem[1].id == 9 && elem[1].len == 4,
		   "two chains pop in order and come back in the used ring");
	ktap_check(vq_should_signal(&vq), "interrupt wanted by default");
	avail[0] = VRING_AVAIL_F_NO_INTERRUPT;
	ktap_check(!vq_should_signal(&vq),
		   "no interrupt when the driver sets NO_INTERRUPT");
	avail[1] += QSIZE + 1;
	ktap_check(vq_pop(&vq, &chain, &why) == -EINVAL,
		   "available index more than a ring ahead is refused (%s)", why);
	avail[1] = vq.last_avail + 1;
	avail[2 + vq.last_avail % QSIZE] = QSIZE + 3;
	ktap_check(vq_pop(&vq, &chain, &why) == -EINVAL,
		   "out-of-range head in the available ring is refused (%s)", why);
}

static void test_iov(void)
{
	uint8_t a[5], b[3], out[8] = { 0 }, src[8] = "abcdefg";
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } }, s[4];
	size_t n;
	unsigned int k;

	n = iov_copy_to(iov, 2, 3, src, 8);
	ktap_check(n == 5 && !memcmp(a + 3, "ab", 2) && !memcmp(b, "cde", 3),
		   "iov_copy_to across buffers stops at the end");
	n = iov_copy_from(iov, 2, 4, out, sizeof(out));
	ktap_check(n == 4 && !memcmp(out, "bcde", 4),
		   "iov_copy_from from an offset across buffers");
	k = iov_slice(iov, 2, 4, 3, s, 4);
	ktap_check(k == 2 && s[0].iov_base == a + 4 && s[0].iov_len == 1 &&
		   s[1].iov_base == b && s[1].iov_len == 2,
		   "iov_slice takes the middle of a vector");
	ktap_check(iov_slice(iov, 2, 9, 3, s, 4) == 0,
		   "iov_slice beyond the end is empty");
}

int main(void)
{
	const int planned = 40;

	mem = calloc(1, MEM_SIZE);
	if (!mem)
		return 1;
	ktap_plan(planned);
	test_simple_chain();
	test_bad_indices();
	test_loops();
	test_bad_addresses();
	test_direction();
	test_indirect();
	test_limits();
	test_setup();
	test_pop_push();
	test_iov();
	free(mem);
	return ktap_exit(planned);
}

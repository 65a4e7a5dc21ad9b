// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-log costs on whatever /dev/kvm is loaded.  vCPUs write one word into
 * every page of a logging slot (each vCPU its own share), pass after pass;
 * the host collects the log between passes in three modes:
 *
 *   get    KVM_GET_DIRTY_LOG (fetch and write-protect)
 *   clear  manual protection: KVM_GET_DIRTY_LOG, then KVM_CLEAR_DIRTY_LOG
 *          of the whole slot
 *   ring   the per-vCPU dirty ring: harvest, then KVM_RESET_DIRTY_RINGS
 *
 * Rows (scripts/bench pairs them across backends), all scaled to 1 GiB:
 *
 *   BENCH dirty_first_pass_gib   <ns>   the guest dirties fresh memory
 *   BENCH dirty_later_pass_gib   <ns>   ...memory the log write-protected
 *   BENCH get_dirty_log_gib      <ns>   one GET after a full pass
 *   BENCH clear_dirty_log_gib    <ns>   one CLEAR of a fully dirty slot
 *   BENCH ring_reset_gib         <ns>   one RESET of a full pass's entries
 *   BENCH ring_later_pass_gib    <ns>   a later pass with the ring
 *
 * and a comment line with the pages tracked per second.  Nothing asserts
 * on time; the log contents are checked (every page of every pass).
 *
 * usage: dirty_bench [-m MiB] [-v vCPUs] [-p passes] [N]
 *   defaults 64 MiB, 1 vCPU, 3 passes; DIRTY_BENCH_MIB, DIRTY_BENCH_VCPUS and
 *   DIRTY_BENCH_PASSES set them too (make bench passes no options).  A bare
 *   number N (scripts/bench's iteration count for exit_bench) is ignored:
 *   this benchmark's work is sized by memory.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kvm_util.h"

#define SLOT 1
#define SLOT_GPA (1ULL << 30)
#define MAX_GPA_SPAN (3ULL << 30)	/* the guest identity-maps 4 GiB */
#define MAX_VCPUS 8
#define GIB (1ULL << 30)
#define RING_MAX_ENTRIES 65536

enum mode { MODE_GET, MODE_CLEAR, MODE_RING };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* One word per page of [base, base + npages pages), once per GUEST_SYNC. */
static void guest_dirty(uint64_t base, uint64_t npages, uint64_t passes)
{
	uint64_t pass, i;

	for (pass = 1; pass <= passes; pass++) {
		for (i = 0; i < npages; i++)
			*(volatile uint64_t *)(base + i * PAGE_SIZE) = pass;
		GUEST_SYNC(pass);
	}
	GUEST_DONE();
}

struct bench {
	enum mode mode;
	struct kvm_vm *vm;
	int nr_vcpus;
	uint64_t npages, passes;
	uint8_t *mem;
	uint64_t *bitmap;
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	struct kvm_dirty_gfn *rings[MAX_VCPUS];
	uint32_t fetch[MAX_VCPUS];
	uint32_t ring_entries;
	pthread_mutex_t ring_lock;	/* harvest + reset from vCPU threads */
	uint64_t ring_harvested;	/* entries since the last count */
};

static uint64_t bitmap_bytes(uint64_t npages)
{
	return (npages + 63) / 64 * 8;
}

static uint64_t count_bits(const uint64_t *map, uint64_t npages)
{
	uint64_t i, n = 0;

	for (i = 0; i < bitmap_bytes(npages) / 8; i++)
		n += __builtin_popcountll(map[i]);
	return n;
}

/* Harvest every ring and reset; returns the reset ioctl's time. */
static uint64_t ring_collect(struct bench *b)
{
	uint64_t t0, harvested = 0;
	int i, r;

	pthread_mutex_lock(&b->ring_lock);
	for (i = 0; i < b->nr_vcpus; i++) {
		for (;;) {
			struct kvm_dirty_gfn *e =
				&b->rings[i][b->fetch[i] & (b->ring_entries - 1)];

			if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) &
			      KVM_DIRTY_GFN_F_DIRTY))
				break;
			TEST_ASSERT(e->slot == SLOT && e->offset < b->npages,
				    "ring entry slot %u offset %llu", e->slot,
				    (unsigned long long)e->offset);
			__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET,
					 __ATOMIC_RELEASE);
			b->fetch[i]++;
			harvested++;
		}
	}
	t0 = now_ns();
	r = __vm_ioctl(b->vm, KVM_RESET_DIRTY_RINGS, NULL);
	t0 = now_ns() - t0;
	TEST_ASSERT(r >= 0 && (uint64_t)r == harvested,
		    "KVM_RESET_DIRTY_RINGS: %d (%s), %llu harvested", r,
		    r < 0 ? ktap_errno_name(errno) : "ok",
		    (unsigned long long)harvested);
	b->ring_harvested += harvested;
	pthread_mutex_unlock(&b->ring_lock);
	return t0;
}

struct runner {
	struct bench *b;
	struct kvm_vcpu *vcpu;
	pthread_t thread;
};

/* Run one vCPU to its next GUEST_SYNC (or GUEST_DONE). */
static void *run_pass(void *arg)
{
	struct runner *r = arg;
	char buf[512];
	struct ucall uc = { 0 };

	for (;;) {
		vcpu_run(r->vcpu);
		if (r->vcpu->run->exit_reason == KVM_EXIT_DIRTY_RING_FULL) {
			ring_collect(r->b);
			continue;
		}
		switch (get_ucall(r->vcpu, &uc)) {
		case UCALL_SYNC:
		case UCALL_DONE:
			return NULL;
		case UCALL_NONE:
			vcpu_describe_exit(r->vcpu, buf, sizeof(buf));
			TEST_FAIL("vCPU %u: %s", r->vcpu->id, buf);
		default:
			TEST_FAIL("vCPU %u: %s", r->vcpu->id, ucall_str(&uc, buf, sizeof(buf)));
		}
	}
}

/* One pass of every vCPU over its share; returns the wall time. */
static uint64_t pass(struct bench *b)
{
	struct runner r[MAX_VCPUS];
	uint64_t t0 = now_ns();
	int i;

	for (i = 0; i < b->nr_vcpus; i++) {
		r[i] = (struct runner){ .b = b, .vcpu = b->vcpus[i] };
		TEST_ASSERT_OK(pthread_create(&r[i].thread, NULL, run_pass, &r[i]));
	}
	for (i = 0; i < b->nr_vcpus; i++)
		pthread_join(r[i].thread, NULL);
	return now_ns() - t0;
}

static void setup(struct bench *b, enum mode mode, int nr_vcpus, uint64_t npages,
		  uint64_t passes)
{
	uint64_t share = npages / nr_vcpus;
	int i;

	memset(b, 0, sizeof(*b));
	b->mode = mode;
	b->nr_vcpus = nr_vcpus;
	b->npages = npages;
	b->passes = passes;
	pthread_mutex_init(&b->ring_lock, NULL);
	b->vm = vm_create(VM_MODE_LONG, 0);
	if (mode == MODE_RING) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_DIRTY_LOG_RING };
		int max = vm_check_cap(b->vm, KVM_CAP_DIRTY_LOG_RING);

		TEST_ASSERT(max > 0, "KVM_CAP_DIRTY_LOG_RING not supported");
		b->ring_entries = max / sizeof(struct kvm_dirty_gfn);
		if (b->ring_entries > RING_MAX_ENTRIES)
			b->ring_entries = RING_MAX_ENTRIES;
		cap.args[0] = b->ring_entries * sizeof(struct kvm_dirty_gfn);
		vm_ioctl(b->vm, KVM_ENABLE_CAP, &cap);
	} else if (mode == MODE_CLEAR) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
			.args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE },
		};

		vm_ioctl(b->vm, KVM_ENABLE_CAP, &cap);
	}
	b->mem = vm_add_memory(b->vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA,
			       npages * PAGE_SIZE);
	/* Host pages exist before the clock runs: only KVM's work is timed. */
	memset(b->mem, 0xff, npages * PAGE_SIZE);
	b->bitmap = calloc(1, bitmap_bytes(npages));
	TEST_ASSERT(b->bitmap, "out of memory");

	for (i = 0; i < nr_vcpus; i++) {
		uint64_t n = i == nr_vcpus - 1 ? npages - share * i : share;

		b->vcpus[i] = vm_vcpu_add(b->vm, i, guest_dirty);
		vcpu_args_set(b->vcpus[i], 3, SLOT_GPA + share * i * PAGE_SIZE, n,
			      passes);
		if (mode == MODE_RING) {
			size_t sz = b->ring_entries * sizeof(struct kvm_dirty_gfn);

			b->rings[i] = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED,
					   b->vcpus[i]->fd,
					   KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_SIZE);
			TEST_ASSERT(b->rings[i] != MAP_FAILED, "mmap(dirty ring): %s",
				    ktap_errno_name(errno));
		}
	}
}

static void teardown(struct bench *b)
{
	int i;

	for (i = 0; i < b->nr_vcpus; i++)
		if (b->rings[i])
			munmap(b->rings[i], b->ring_entries * sizeof(struct kvm_dirty_gfn));
	free(b->bitmap);
	kvm_vm_free(b->vm);
}

static void report(const char *row, double ns, uint64_t npages)
{
	/* Scale to 1 GiB of guest memory. */
	printf("BENCH %s %.0f 1\n", row, ns * (double)GIB / (npages * PAGE_SIZE));
	fflush(stdout);
}

/* Fetch the log; check that it holds every page; returns the fetch time. */
static uint64_t get_log(struct bench *b)
{
	struct kvm_dirty_log l = { .slot = SLOT, .dirty_bitmap = b->bitmap };
	uint64_t t0 = now_ns(), n;

	vm_ioctl(b->vm, KVM_GET_DIRTY_LOG, &l);
	t0 = now_ns() - t0;
	n = count_bits(b->bitmap, b->npages);
	TEST_ASSERT(n == b->npages, "%llu of %llu pages dirty after a full pass",
		    (unsigned long long)n, (unsigned long long)b->npages);
	return t0;
}

static uint64_t clear_log(struct bench *b)
{
	struct kvm_clear_dirty_log c = {
		.slot = SLOT, .first_page = 0, .num_pages = b->npages,
		.dirty_bitmap = b->bitmap,
	};
	uint64_t t0 = now_ns();

	vm_ioctl(b->vm, KVM_CLEAR_DIRTY_LOG, &c);
	return now_ns() - t0;
}

/*
 * The vCPU's "exits" counter from KVM_GET_STATS_FD (both backends have it),
 * or 0 if there is none: how many exits a pass cost, for the comment lines.
 */
static uint64_t vcpu_exits(struct kvm_vcpu *vcpu)
{
	struct kvm_stats_header h;
	uint64_t val = 0;
	size_t dsz;
	char *descs;
	uint32_t i;
	int fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);

	if (fd < 0)
		return 0;
	if (pread(fd, &h, sizeof(h), 0) != sizeof(h))
		goto out;
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(dsz * h.num_desc);
	if (descs && pread(fd, descs, dsz * h.num_desc, h.desc_offset) ==
		      (ssize_t)(dsz * h.num_desc)) {
		for (i = 0; i < h.num_desc; i++) {
			struct kvm_stats_desc *d = (void *)(descs + i * dsz);

			if (!strcmp(d->name, "exits") &&
			    pread(fd, &val, sizeof(val), h.data_offset + d->offset) !=
				    sizeof(val))
				val = 0;
		}
	}
	free(descs);
out:
	close(fd);
	return val;
}

static uint64_t all_exits(struct bench *b)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < b->nr_vcpus; i++)
		n += vcpu_exits(b->vcpus[i]);
	return n;
}

static void bench_bitmap(enum mode mode, int nr_vcpus, uint64_t npages,
			 uint64_t passes)
{
	uint64_t first, later = 0, get = 0, clear = 0, p, exits0, exits1, exits2;
	struct bench b;

	setup(&b, mode, nr_vcpus, npages, passes);
	exits0 = all_exits(&b);
	first = pass(&b);
	exits1 = all_exits(&b);
	get_log(&b);
	if (mode == MODE_CLEAR)
		clear_log(&b);
	for (p = 1; p < passes; p++) {
		later += pass(&b);
		exits2 = all_exits(&b);
		get += get_log(&b);
		if (mode == MODE_CLEAR)
			clear += clear_log(&b);
		if (p == 1)
			printf("# %s: exits per page: %.2f in the first pass, %.2f in the second\n",
			       mode == MODE_GET ? "get" : "clear",
			       (double)(exits1 - exits0) / npages,
			       (double)(exits2 - exits1) / npages);
	}
	pass(&b);	/* to GUEST_DONE */
	if (mode == MODE_GET) {
		report("dirty_first_pass_gib", first, npages);
		report("dirty_later_pass_gib", (double)later / (passes - 1), npages);
		report("get_dirty_log_gib", (double)get / (passes - 1), npages);
		printf("# get: %.0f pages tracked per second in later passes\n",
		       (double)npages * (passes - 1) * 1e9 / later);
	} else {
		report("clear_dirty_log_gib", (double)clear / (passes - 1), npages);
	}
	teardown(&b);
}

static void bench_ring(int nr_vcpus, uint64_t npages, uint64_t passes)
{
	uint64_t later = 0, reset = 0, p;
	struct bench b;

	setup(&b, MODE_RING, nr_vcpus, npages, passes);
	pass(&b);
	ring_collect(&b);
	for (p = 1; p < passes; p++) {
		b.ring_harvested = 0;
		later += pass(&b);
		reset += ring_collect(&b);
		TEST_ASSERT(b.ring_harvested >= npages,
			    "%llu ring entries for %llu pages written",
			    (unsigned long long)b.ring_harvested,
			    (unsigned long long)npages);
	}
	pass(&b);
	report("ring_later_pass_gib", (double)later / (passes - 1), npages);
	report("ring_reset_gib", (double)reset / (passes - 1), npages);
	printf("# ring: %.0f pages tracked per second in later passes\n",
	       (double)npages * (passes - 1) * 1e9 / later);
	teardown(&b);
}

static uint64_t env_or(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

int main(int argc, char **argv)
{
	uint64_t mib = env_or("DIRTY_BENCH_MIB", 64);
	uint64_t vcpus = env_or("DIRTY_BENCH_VCPUS", 1);
	uint64_t passes = env_or("DIRTY_BENCH_PASSES", 3);
	uint64_t npages;
	int c;

	while ((c = getopt(argc, argv, "m:v:p:")) != -1) {
		switch (c) {
		case 'm': mib = strtoull(optarg, NULL, 0); break;
		case 'v': vcpus = strtoull(optarg, NULL, 0); break;
		case 'p': passes = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: dirty_bench [-m MiB] [-v vCPUs] [-p passes]\n");
			return 2;
		}
	}
	if (!mib || mib * (1ULL << 20) > MAX_GPA_SPAN || !vcpus ||
	    vcpus > MAX_VCPUS || passes < 2) {
		fprintf(stderr, "dirty_bench: need 1 <= MiB <= %llu, 1 <= vCPUs <= %d, passes >= 2\n",
			MAX_GPA_SPAN >> 20, MAX_VCPUS);
		return 2;
	}
	npages = mib << 8;
	printf("# dirty_bench: %llu MiB, %llu vCPU(s), %llu passes\n",
	       (unsigned long long)mib, (unsigned long long)vcpus,
	       (unsigned long long)passes);
	bench_bitmap(MODE_GET, vcpus, npages, passes);
	bench_bitmap(MODE_CLEAR, vcpus, npages, passes);
	bench_ring(vcpus, npages, passes);
	return 0;
}

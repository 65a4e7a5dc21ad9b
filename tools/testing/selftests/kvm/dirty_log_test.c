// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty page tracking never misses a write.
 *
 * 1, 2 or 4 vCPUs write pseudo-random words into pseudo-random pages of a
 * test slot, tagged with the host's iteration number, while the host
 * collects the log in one of three modes: KVM_GET_DIRTY_LOG, GET plus
 * KVM_CLEAR_DIRTY_LOG in 64-page-aligned chunks (manual protection), or the
 * per-vCPU dirty ring with KVM_RESET_DIRTY_RINGS.  After each collection
 * the host compares every page with its copy from the previous round:
 *
 *   - while the vCPUs run, a page that changed must be in this round's log
 *     or, if it was written between the collection and the comparison, in
 *     the next round's;
 *   - every other round the vCPUs are paused first, and then every change
 *     must be in this round's log.
 *
 * Pages reported without a visible change are counted as spurious and
 * printed.  The guest first runs with logging off (so its mappings are
 * writable, and huge where the backing is), then logging is switched on,
 * off and on again, and the slot moves while logging.  The huge cases back
 * the slot with transparent huge pages.  Then the bad inputs: upstream's
 * errnos for slots without logging, misaligned clears, bitmaps in unmapped
 * memory, bad ring sizes, a ring after vCPUs exist; and a write the
 * instruction emulator makes (MOVS from MMIO into RAM) is logged too.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

#define TEST_SLOT 1
#define TEST_GPA (1ULL << 30)
#define TEST_GPA_MOVED (TEST_GPA + (512ULL << 20))
#define TEST_PAGES 2048			/* 8 MiB */
#define HUGE_SIZE (2ULL << 20)
#define MAX_WRITERS 4
#define GUEST_BATCH 32			/* writes between checks of the pause flag */
#define WARMUP_WRITES 4096
#define ROUND_WRITES 1024		/* per round, all vCPUs together */
#define ROUNDS_PER_PHASE 6
#define RING_BYTES 4096			/* the smallest ring: KVM_EXIT_DIRTY_RING_FULL happens */
#define MMIO_GPA 0xc0000000ULL		/* identity mapped, in no slot */
#define MAX_REPORTS 10

enum log_mode { MODE_GET, MODE_CLEAR, MODE_RING };
static const char *const mode_name[] = { "get", "clear", "ring" };

/* Shared with the guest through its copy of this binary (memslot 0). */
struct guest_shared {
	volatile uint64_t base;		/* GPA of the test slot */
	volatile uint64_t npages;
	volatile uint64_t iteration;
	volatile uint64_t pause_gen;	/* odd: the writers must stop */
	volatile uint64_t stop;
	volatile uint64_t ack[MAX_WRITERS];	/* pause_gen seen while stopped */
	volatile uint64_t writes[MAX_WRITERS];
};
static struct guest_shared shared;

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static void guest_writer(uint64_t idx)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (idx + 1), count = 0;
	uint64_t gen, iter, base, n, k, r;

	while (!shared.stop) {
		gen = shared.pause_gen;
		if (gen & 1) {
			shared.ack[idx] = gen;
			while (shared.pause_gen == gen && !shared.stop)
				;
			continue;
		}
		iter = shared.iteration;
		base = shared.base;
		n = shared.npages;
		for (k = 0; k < GUEST_BATCH; k++) {
			r = xorshift64(&rng);
			/* A word anywhere in the page, unique for this vCPU. */
			*(volatile uint64_t *)(base + (r % n) * PAGE_SIZE +
					       ((r >> 40) % (PAGE_SIZE / 8)) * 8) =
				(iter << 40) | (idx << 32) | (uint32_t)++count;
		}
		shared.writes[idx] += GUEST_BATCH;
	}
	GUEST_DONE();
}

struct writer {
	struct test *t;
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	struct kvm_dirty_gfn *ring;
	uint32_t fetch;			/* next ring entry to harvest */
};

struct test {
	enum log_mode mode;
	int nr_vcpus;
	bool huge;
	struct kvm_vm *vm;
	struct guest_shared *gs;	/* the guest's copy */
	struct writer w[MAX_WRITERS];
	uint8_t *mem;			/* the test slot */
	uint8_t *snap;			/* its content at the last comparison */
	uint64_t npages;
	uint64_t *log;			/* pages reported since the last comparison */
	uint64_t *buf;			/* KVM_GET_DIRTY_LOG's bitmap */
	uint8_t *pending;		/* changed, not yet reported */
	uint32_t flags;			/* of the test slot */
	uint64_t gpa;
	atomic_uint full_waiters;	/* vCPUs stopped by KVM_EXIT_DIRTY_RING_FULL */
	atomic_uint reset_gen;
	uint64_t rounds, reported, spurious, misses, ring_fulls;
};

static bool test_bit64(const uint64_t *map, uint64_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void set_bit64(uint64_t *map, uint64_t i)
{
	map[i / 64] |= 1ULL << (i % 64);
}

static uint64_t bitmap_words(uint64_t npages)
{
	return (npages + 63) / 64;
}

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	struct kvm_run *run = w->vcpu->run;
	struct ucall uc = { 0 };
	unsigned int gen;
	char buf[512];
	int r;

	for (;;) {
		r = __vcpu_run(w->vcpu);
		if (r < 0 && errno == EINTR)
			continue;
		TEST_ASSERT(r == 0, "KVM_RUN: %s", ktap_errno_name(errno));
		if (run->exit_reason == KVM_EXIT_DIRTY_RING_FULL) {
			TEST_ASSERT(w->t->mode == MODE_RING,
				    "KVM_EXIT_DIRTY_RING_FULL without a ring");
			gen = atomic_load(&w->t->reset_gen);
			atomic_fetch_add(&w->t->full_waiters, 1);
			while (atomic_load(&w->t->reset_gen) == gen)
				usleep(100);
			continue;
		}
		if (get_ucall(w->vcpu, &uc) == UCALL_DONE)
			return NULL;
		vcpu_describe_exit(w->vcpu, buf, sizeof(buf));
		TEST_FAIL("vCPU %u: %s", w->vcpu->id,
			  uc.cmd != UCALL_NONE ? ucall_str(&uc, buf, sizeof(buf)) : buf);
	}
}

/* ---- collecting the log ------------------------------------------------ */

static void collect_ring(struct test *t)
{
	uint32_t harvested = 0, size = RING_BYTES / sizeof(struct kvm_dirty_gfn);
	int i, r;

	for (i = 0; i < t->nr_vcpus; i++) {
		struct writer *w = &t->w[i];

		for (;;) {
			struct kvm_dirty_gfn *e = &w->ring[w->fetch & (size - 1)];

			if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) &
			      KVM_DIRTY_GFN_F_DIRTY))
				break;
			TEST_ASSERT(e->slot == TEST_SLOT && e->offset < t->npages,
				    "ring entry for slot %u offset 0x%llx", e->slot,
				    (unsigned long long)e->offset);
			set_bit64(t->log, e->offset);
			__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET,
					 __ATOMIC_RELEASE);
			w->fetch++;
			harvested++;
		}
	}
	r = __vm_ioctl(t->vm, KVM_RESET_DIRTY_RINGS, NULL);
	TEST_ASSERT(r >= 0, "KVM_RESET_DIRTY_RINGS: %s", ktap_errno_name(errno));
	TEST_ASSERT_EQ(r, harvested);
}

/* Clear what GET reported in chunks of 64, 128, 192... pages, tail last. */
static void clear_in_chunks(struct test *t)
{
	uint64_t first = 0, chunk = 64;
	struct kvm_clear_dirty_log c = { .slot = TEST_SLOT };

	while (first < t->npages) {
		uint64_t n = chunk < t->npages - first ? chunk : t->npages - first;

		c.first_page = first;
		c.num_pages = n;
		c.dirty_bitmap = t->buf + first / 64;
		vm_ioctl(t->vm, KVM_CLEAR_DIRTY_LOG, &c);
		first += n;
		chunk = chunk % 512 + 64;
	}
}

static void collect(struct test *t)
{
	struct kvm_dirty_log l = { .slot = TEST_SLOT, .dirty_bitmap = t->buf };
	uint64_t i;

	if (t->mode == MODE_RING) {
		collect_ring(t);
		return;
	}
	vm_ioctl(t->vm, KVM_GET_DIRTY_LOG, &l);
	for (i = 0; i < bitmap_words(t->npages); i++)
		t->log[i] |= t->buf[i];
	if (t->mode == MODE_CLEAR)
		clear_in_chunks(t);
}

/* Harvest full rings so that their vCPUs can go on. */
static void service_rings(struct test *t)
{
	if (t->mode != MODE_RING || !atomic_load(&t->full_waiters))
		return;
	t->ring_fulls += atomic_exchange(&t->full_waiters, 0);
	collect_ring(t);
	atomic_fetch_add(&t->reset_gen, 1);
}

/* ---- comparing ------------------------------------------------------------ */

/*
 * Compare every page with its last copy.  @strict: no vCPU wrote since the
 * log was collected, so every change must be in it; otherwise a change may
 * also show up in the next round's log.
 */
static void compare(struct test *t, bool strict)
{
	uint64_t p, reports = 0;

	for (p = 0; p < t->npages; p++) {
		uint8_t *cur = t->mem + p * PAGE_SIZE, *old = t->snap + p * PAGE_SIZE;
		bool changed = memcmp(cur, old, PAGE_SIZE) != 0;
		bool logged = test_bit64(t->log, p);

		if (changed)
			memcpy(old, cur, PAGE_SIZE);
		if (logged) {
			t->reported++;
			if (!changed && !t->pending[p])
				t->spurious++;
			t->pending[p] = 0;
			continue;
		}
		if (t->pending[p] || (changed && strict)) {
			t->misses++;
			if (reports++ < MAX_REPORTS)
				ktap_print("MISS: page %llu (gpa 0x%llx) changed in round %llu, never reported",
					   (unsigned long long)p,
					   (unsigned long long)(t->gpa + p * PAGE_SIZE),
					   (unsigned long long)t->rounds - t->pending[p]);
			t->pending[p] = 0;
			continue;
		}
		if (changed)
			t->pending[p] = 1;
	}
	memset(t->log, 0, bitmap_words(t->npages) * 8);
	t->rounds++;
}

/* ---- driving the writers -------------------------------------------------- */

static uint64_t total_writes(struct test *t)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < t->nr_vcpus; i++)
		n += t->gs->writes[i];
	return n;
}

static void wait_writes(struct test *t, uint64_t n)
{
	uint64_t start = total_writes(t);

	while (total_writes(t) - start < n) {
		service_rings(t);
		usleep(1000);
	}
}

static void pause_writers(struct test *t)
{
	uint64_t gen = t->gs->pause_gen + 1;
	int i;

	t->gs->pause_gen = gen;
	for (i = 0; i < t->nr_vcpus; i++) {
		while (t->gs->ack[i] != gen) {
			service_rings(t);
			usleep(1000);
		}
	}
}

static void resume_writers(struct test *t)
{
	t->gs->iteration++;
	t->gs->pause_gen++;
}

/* Writes from now on are what the next comparison looks at. */
static void start_comparing(struct test *t)
{
	memcpy(t->snap, t->mem, t->npages * PAGE_SIZE);
	memset(t->pending, 0, t->npages);
	memset(t->log, 0, bitmap_words(t->npages) * 8);
}

static void set_flags(struct test *t, uint32_t flags)
{
	t->flags = flags;
	vm_set_user_memory_region(t->vm, TEST_SLOT, flags, t->gpa,
				  t->npages * PAGE_SIZE, t->mem);
}

/* Rounds with the writers running; every other one paused (strict). */
static void run_rounds(struct test *t)
{
	int i;

	for (i = 0; i < ROUNDS_PER_PHASE; i++) {
		wait_writes(t, ROUND_WRITES);
		if (i & 1) {
			pause_writers(t);
			collect(t);
			compare(t, true);
			resume_writers(t);
		} else {
			collect(t);
			compare(t, false);
			t->gs->iteration++;
		}
	}
}

/* Pause, settle every pending change, then do @what with the writers stopped. */
static void settle(struct test *t)
{
	pause_writers(t);
	collect(t);
	compare(t, true);
}

/* ---- setup ----------------------------------------------------------------- */

/* THP-backed memory, 2 MiB aligned; returns how many kB of it are huge. */
static unsigned long map_huge(struct test *t, size_t size)
{
	uint8_t *p = mmap(NULL, size + HUGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	unsigned long kb = 0, start, end;
	char line[256];
	bool in = false;
	FILE *f;

	TEST_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	t->mem = (uint8_t *)(((uintptr_t)p + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
	if (madvise(t->mem, size, MADV_HUGEPAGE))
		return 0;
	memset(t->mem, 0, size);	/* fault it in, huge where possible */

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start <= (uintptr_t)t->mem && (uintptr_t)t->mem < end;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			break;
	}
	fclose(f);
	ktap_print("test slot backed by %lu kB of transparent huge pages", kb);
	return kb;
}

static void setup(struct test *t, enum log_mode mode, int nr_vcpus, bool huge)
{
	size_t size = TEST_PAGES * PAGE_SIZE;
	int i;

	memset(t, 0, sizeof(*t));
	t->mode = mode;
	t->nr_vcpus = nr_vcpus;
	t->npages = TEST_PAGES;
	t->gpa = TEST_GPA;
	t->vm = vm_create(VM_MODE_LONG, 0);

	if (mode == MODE_RING) {
		if (!vm_check_cap(t->vm, KVM_CAP_DIRTY_LOG_RING))
			ktap_skip("KVM_CAP_DIRTY_LOG_RING not supported");
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_DIRTY_LOG_RING, .args = { RING_BYTES },
		};
		vm_ioctl(t->vm, KVM_ENABLE_CAP, &cap);
	} else if (mode == MODE_CLEAR) {
		if (!(vm_check_cap(t->vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) &
		      KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
			ktap_skip("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 not supported");
		/* Every page starts out dirty: the first round reports all. */
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
			.args = { KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
				  KVM_DIRTY_LOG_INITIALLY_SET },
		};
		vm_ioctl(t->vm, KVM_ENABLE_CAP, &cap);
	}

	if (huge) {
		if (!map_huge(t, size))
			ktap_skip("no transparent huge pages for the test slot in this kernel");
	} else {
		t->mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		TEST_ASSERT(t->mem != MAP_FAILED, "mmap: %s", strerror(errno));
	}
	set_flags(t, 0);

	t->snap = calloc(t->npages, PAGE_SIZE);
	t->log = calloc(bitmap_words(t->npages), 8);
	t->buf = calloc(bitmap_words(t->npages), 8);
	t->pending = calloc(t->npages, 1);
	TEST_ASSERT(t->snap && t->log && t->buf && t->pending, "out of memory");

	t->gs = addr_gva2hva(t->vm, &shared);
	t->gs->base = t->gpa;
	t->gs->npages = t->npages;
	t->gs->iteration = 1;

	for (i = 0; i < nr_vcpus; i++) {
		struct writer *w = &t->w[i];

		w->t = t;
		w->vcpu = vm_vcpu_add(t->vm, i, guest_writer);
		vcpu_args_set(w->vcpu, 1, (uint64_t)i);
		if (mode == MODE_RING) {
			w->ring = mmap(NULL, RING_BYTES, PROT_READ | PROT_WRITE,
				       MAP_SHARED, w->vcpu->fd,
				       KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_SIZE);
			TEST_ASSERT(w->ring != MAP_FAILED, "mmap(dirty ring): %s",
				    ktap_errno_name(errno));
		}
	}
}

static void run_test(enum log_mode mode, int nr_vcpus, bool huge)
{
	struct test t;
	int i;

	setup(&t, mode, nr_vcpus, huge);
	for (i = 0; i < nr_vcpus; i++)
		TEST_ASSERT_OK(pthread_create(&t.w[i].thread, NULL, writer_thread, &t.w[i]));

	/* Mappings are writable (huge where possible) before logging starts. */
	wait_writes(&t, WARMUP_WRITES);
	pause_writers(&t);
	set_flags(&t, KVM_MEM_LOG_DIRTY_PAGES);
	start_comparing(&t);
	resume_writers(&t);
	run_rounds(&t);

	/* Logging off while writing, then on again. */
	settle(&t);
	set_flags(&t, 0);
	resume_writers(&t);
	wait_writes(&t, ROUND_WRITES);
	pause_writers(&t);
	set_flags(&t, KVM_MEM_LOG_DIRTY_PAGES);
	start_comparing(&t);
	resume_writers(&t);
	run_rounds(&t);

	/* The slot moves while it logs. */
	settle(&t);
	t.gpa = TEST_GPA_MOVED;
	vm_set_user_memory_region(t.vm, TEST_SLOT, t.flags, t.gpa,
				  t.npages * PAGE_SIZE, t.mem);
	t.gs->base = t.gpa;
	resume_writers(&t);
	run_rounds(&t);

	/* The end: every write is in. */
	t.gs->stop = 1;
	for (i = 0; i < nr_vcpus; i++) {
		while (pthread_tryjoin_np(t.w[i].thread, NULL)) {
			service_rings(&t);
			usleep(1000);
		}
	}
	collect(&t);
	compare(&t, true);

	ktap_print("%s, %d vCPU%s%s: %llu writes, %llu rounds, %llu pages reported, %llu spurious, %llu missed, %llu ring-full exits",
		   mode_name[mode], nr_vcpus, nr_vcpus > 1 ? "s" : "",
		   huge ? ", huge pages" : "",
		   (unsigned long long)total_writes(&t), (unsigned long long)t.rounds,
		   (unsigned long long)t.reported, (unsigned long long)t.spurious,
		   (unsigned long long)t.misses, (unsigned long long)t.ring_fulls);
	TEST_ASSERT_EQ(t.misses, 0);
	TEST_ASSERT(t.reported > 0, "nothing was ever reported");
	kvm_vm_free(t.vm);
}

static void get_1vcpu(void) { run_test(MODE_GET, 1, false); }
static void get_2vcpus(void) { run_test(MODE_GET, 2, false); }
static void get_4vcpus(void) { run_test(MODE_GET, 4, false); }
static void clear_1vcpu(void) { run_test(MODE_CLEAR, 1, false); }
static void clear_2vcpus(void) { run_test(MODE_CLEAR, 2, false); }
static void clear_4vcpus(void) { run_test(MODE_CLEAR, 4, false); }
static void ring_1vcpu(void) { run_test(MODE_RING, 1, false); }
static void ring_2vcpus(void) { run_test(MODE_RING, 2, false); }
static void ring_4vcpus(void) { run_test(MODE_RING, 4, false); }
static void get_huge(void) { run_test(MODE_GET, 2, true); }
static void clear_huge(void) { run_test(MODE_CLEAR, 2, true); }
static void ring_huge(void) { run_test(MODE_RING, 2, true); }

/* ---- huge mappings split and come back --------------------------------- */

/* One word per page, then GUEST_SYNC, forever. */
static void guest_sweep(uint64_t base, uint64_t npages)
{
	uint64_t pass, i;

	for (pass = 1;; pass++) {
		for (i = 0; i < npages; i++)
			*(volatile uint64_t *)(base + i * PAGE_SIZE) = pass;
		GUEST_SYNC(pass);
	}
}

/* The vCPU's "exits" statistic (KVM_GET_STATS_FD), which both backends keep. */
static uint64_t vcpu_exits(struct kvm_vcpu *vcpu)
{
	uint64_t val = 0;

	if (!vcpu_stat_read(vcpu, "exits", &val))
		ktap_skip("no \"exits\" vCPU statistic");
	return val;
}

/* Is nested paging off (npt=0 of kvm_amd or ukvm: shadow paging, 4 KiB)? */
static bool npt_disabled(void)
{
	static const char *const params[] = {
		"/sys/module/kvm_amd/parameters/npt",
		"/sys/module/ukvm/parameters/npt",
	};
	unsigned int i;
	char c = 0;

	for (i = 0; i < ARRAY_SIZE(params); i++) {
		FILE *f = fopen(params[i], "r");

		if (!f)
			continue;
		if (fread(&c, 1, 1, f) != 1)
			c = 0;
		fclose(f);
		if (c == 'N' || c == '0')
			return true;
	}
	return false;
}

/* Exits the guest takes to write every page of the slot once. */
static uint64_t sweep_exits(struct kvm_vcpu *vcpu)
{
	uint64_t before = vcpu_exits(vcpu);
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	return vcpu_exits(vcpu) - before;
}

/*
 * A THP-backed slot is mapped huge: a sweep costs a few exits.  Logging
 * splits the mappings and write-protects every page: a sweep costs an exit
 * per page, all reported.  When logging stops the 4 KiB mappings go, and
 * the next sweep faults once per 2 MiB to map them huge again; logging a
 * second time splits them again.
 */
static void huge_split_collapse(void)
{
	struct test t;
	struct kvm_vcpu *vcpu;
	uint64_t e, few = TEST_PAGES / 8, n;
	struct kvm_dirty_log l = { .slot = TEST_SLOT };

	if (npt_disabled())
		ktap_skip("nested paging is off (npt=0): guest memory is shadowed with 4 KiB pages");
	memset(&t, 0, sizeof(t));
	t.vm = vm_create(VM_MODE_LONG, 0);
	if (map_huge(&t, TEST_PAGES * PAGE_SIZE) < TEST_PAGES * PAGE_SIZE / 1024)
		ktap_skip("the test slot is not all transparent huge pages in this kernel");
	t.npages = TEST_PAGES;
	vm_set_user_memory_region(t.vm, TEST_SLOT, 0, TEST_GPA, TEST_PAGES * PAGE_SIZE,
				  t.mem);
	l.dirty_bitmap = calloc(bitmap_words(TEST_PAGES), 8);
	vcpu = vm_vcpu_add(t.vm, 0, guest_sweep);
	vcpu_args_set(vcpu, 2, TEST_GPA, (uint64_t)TEST_PAGES);

	e = sweep_exits(vcpu);
	ktap_print("huge, not logging: %llu exits for %d pages", (unsigned long long)e, TEST_PAGES);
	TEST_ASSERT(e < few, "%llu exits: the slot is not mapped huge", (unsigned long long)e);

	for (n = 0; n < 2; n++) {
		vm_set_user_memory_region(t.vm, TEST_SLOT, KVM_MEM_LOG_DIRTY_PAGES,
					  TEST_GPA, TEST_PAGES * PAGE_SIZE, t.mem);
		e = sweep_exits(vcpu);
		ktap_print("logging: %llu exits", (unsigned long long)e);
		TEST_ASSERT(e >= TEST_PAGES, "%llu exits: a huge writable mapping survived",
			    (unsigned long long)e);
		vm_ioctl(t.vm, KVM_GET_DIRTY_LOG, &l);
		for (uint64_t i = 0; i < bitmap_words(TEST_PAGES); i++)
			TEST_ASSERT(((uint64_t *)l.dirty_bitmap)[i] == ~0ULL,
				    "word %llu of the log: 0x%llx", (unsigned long long)i,
				    (unsigned long long)((uint64_t *)l.dirty_bitmap)[i]);

		vm_set_user_memory_region(t.vm, TEST_SLOT, 0, TEST_GPA,
					  TEST_PAGES * PAGE_SIZE, t.mem);
		e = sweep_exits(vcpu);
		ktap_print("logging stopped: %llu exits", (unsigned long long)e);
		TEST_ASSERT(e < few, "%llu exits: the mappings stayed 4 KiB read-only",
			    (unsigned long long)e);
		/* One fault per 2 MiB: they were taken away to come back huge. */
		TEST_ASSERT(e >= TEST_PAGES * PAGE_SIZE / HUGE_SIZE,
			    "%llu exits: the 4 KiB mappings stayed", (unsigned long long)e);
	}
	free(l.dirty_bitmap);
	kvm_vm_free(t.vm);
}

/* ---- bad input ------------------------------------------------------------- */

#define BAD_PAGES 200	/* not a multiple of 64 */

static void *unmapped_page(void)
{
	void *p = mmap(NULL, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	TEST_ASSERT_OK(munmap(p, PAGE_SIZE));
	return p;
}

static void get_log_errors(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	uint64_t bitmap[4];
	struct kvm_dirty_log l = { .dirty_bitmap = bitmap };

	vm_add_memory(vm, 1, 0, TEST_GPA, BAD_PAGES * PAGE_SIZE);
	vm_add_memory(vm, 2, KVM_MEM_LOG_DIRTY_PAGES, TEST_GPA_MOVED,
		      BAD_PAGES * PAGE_SIZE);

	l.slot = 1;		/* no KVM_MEM_LOG_DIRTY_PAGES */
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l), ENOENT);
	l.slot = 3;		/* no such slot */
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l), ENOENT);
	l.slot = vm_check_cap(vm, KVM_CAP_NR_MEMSLOTS);	/* beyond the last */
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l), EINVAL);
	l.slot = (1 << 16) | 2;	/* x86's second address space (SMM): no such slot */
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l), ENOENT);
	l.slot = (2 << 16) | 2;	/* no third address space */
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l), EINVAL);
	l.slot = 2;
	l.dirty_bitmap = unmapped_page();
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l), EFAULT);
	l.dirty_bitmap = bitmap;
	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l);
	/* No vCPU ran: nothing is dirty. */
	TEST_ASSERT(!bitmap[0] && !bitmap[1] && !bitmap[2] && !bitmap[3],
		    "dirty pages in a VM that never ran");
	/* Switching logging off takes the log away. */
	vm_set_user_memory_region(vm, 2, 0, TEST_GPA_MOVED, BAD_PAGES * PAGE_SIZE,
				  addr_gpa2hva(vm, TEST_GPA_MOVED));
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l), ENOENT);
	kvm_vm_free(vm);
}

static int clear_log(struct kvm_vm *vm, uint32_t slot, uint64_t first,
		     uint32_t num, void *bitmap)
{
	struct kvm_clear_dirty_log c = {
		.slot = slot, .first_page = first, .num_pages = num,
		.dirty_bitmap = bitmap,
	};

	return __vm_ioctl(vm, KVM_CLEAR_DIRTY_LOG, &c);
}

static void clear_log_errors(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	uint64_t bitmap[4] = { ~0ULL, ~0ULL, ~0ULL, ~0ULL };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };

	TEST_REQUIRE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	/* INITIALLY_SET needs MANUAL_PROTECT_ENABLE; no unknown bits or flags. */
	cap.args[0] = KVM_DIRTY_LOG_INITIALLY_SET;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.args[0] = 4;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;
	cap.flags = 1;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_ENABLE_CAP, &cap), EINVAL);
	cap.flags = 0;
	vm_ioctl(vm, KVM_ENABLE_CAP, &cap);

	vm_add_memory(vm, 1, 0, TEST_GPA, BAD_PAGES * PAGE_SIZE);
	vm_add_memory(vm, 2, KVM_MEM_LOG_DIRTY_PAGES, TEST_GPA_MOVED,
		      BAD_PAGES * PAGE_SIZE);

	TEST_ASSERT_ERRNO(clear_log(vm, 1, 0, 64, bitmap), ENOENT);
	TEST_ASSERT_ERRNO(clear_log(vm, vm_check_cap(vm, KVM_CAP_NR_MEMSLOTS), 0, 64, bitmap),
			  EINVAL);
	TEST_ASSERT_ERRNO(clear_log(vm, (1 << 16) | 2, 0, 64, bitmap), ENOENT);
	TEST_ASSERT_ERRNO(clear_log(vm, (2 << 16) | 2, 0, 64, bitmap), EINVAL);
	TEST_ASSERT_ERRNO(clear_log(vm, 2, 32, 64, bitmap), EINVAL);	/* first not aligned */
	TEST_ASSERT_ERRNO(clear_log(vm, 2, 0, 100, bitmap), EINVAL);	/* num not aligned, not the end */
	TEST_ASSERT_ERRNO(clear_log(vm, 2, 256, 64, bitmap), EINVAL);	/* beyond the slot */
	TEST_ASSERT_ERRNO(clear_log(vm, 2, 128, 128, bitmap), EINVAL);	/* past the end */
	TEST_ASSERT_ERRNO(clear_log(vm, 2, 0, 64, unmapped_page()), EFAULT);
	/* The tail may be unaligned when it ends the slot; zero pages is fine. */
	TEST_ASSERT_OK(clear_log(vm, 2, 128, BAD_PAGES - 128, bitmap));
	TEST_ASSERT_OK(clear_log(vm, 2, 0, 0, bitmap));
	TEST_ASSERT_OK(clear_log(vm, 2, 0, BAD_PAGES, bitmap));
	kvm_vm_free(vm);
}

static int enable_ring(struct kvm_vm *vm, uint64_t size)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_DIRTY_LOG_RING, .args = { size } };

	return __vm_ioctl(vm, KVM_ENABLE_CAP, &cap);
}

static void ring_errors(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	int max = vm_check_cap(vm, KVM_CAP_DIRTY_LOG_RING);
	struct kvm_vcpu *vcpu;
	uint64_t bitmap[4];
	struct kvm_dirty_log l = { .slot = 1, .dirty_bitmap = bitmap };
	void *p;

	if (!max)
		ktap_skip("KVM_CAP_DIRTY_LOG_RING not supported");
	ktap_print("KVM_CAP_DIRTY_LOG_RING: %d bytes at most", max);
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_RESET_DIRTY_RINGS, NULL), EINVAL);
	TEST_ASSERT_ERRNO(enable_ring(vm, 0), EINVAL);
	TEST_ASSERT_ERRNO(enable_ring(vm, 3 * PAGE_SIZE), EINVAL);	/* not a power of two */
	TEST_ASSERT_ERRNO(enable_ring(vm, PAGE_SIZE / 2), EINVAL);	/* less than a page */
	TEST_ASSERT_ERRNO(enable_ring(vm, 2ULL * max), E2BIG);
	TEST_ASSERT_OK(enable_ring(vm, PAGE_SIZE));
	TEST_ASSERT_ERRNO(enable_ring(vm, PAGE_SIZE), EINVAL);		/* only once */

	vm_add_memory(vm, 1, KVM_MEM_LOG_DIRTY_PAGES, TEST_GPA, BAD_PAGES * PAGE_SIZE);
	/* The ring replaces the bitmaps. */
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l), ENXIO);
	TEST_ASSERT_ERRNO(clear_log(vm, 1, 0, 64, bitmap), ENXIO);
	TEST_ASSERT_EQ(__vm_ioctl(vm, KVM_RESET_DIRTY_RINGS, NULL), 0);

	vcpu = vm_vcpu_add_bare(vm, 0);
	/* Shared and not executable only. */
	p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, vcpu->fd,
		 KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_SIZE);
	TEST_ASSERT(p == MAP_FAILED && errno == EINVAL,
		    "MAP_PRIVATE dirty ring: %s", p == MAP_FAILED ? ktap_errno_name(errno) : "mapped");
	p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, vcpu->fd,
		 KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_SIZE);
	TEST_ASSERT(p == MAP_FAILED && errno == EINVAL,
		    "executable dirty ring: %s", p == MAP_FAILED ? ktap_errno_name(errno) : "mapped");
	p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
		 KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_SIZE);
	TEST_ASSERT(p != MAP_FAILED, "mmap(dirty ring): %s", ktap_errno_name(errno));
	TEST_ASSERT_EQ(((struct kvm_dirty_gfn *)p)->flags, 0);
	munmap(p, PAGE_SIZE);
	kvm_vm_free(vm);

	/* Not once a vCPU exists. */
	vm = vm_create(VM_MODE_NONE, 0);
	vm_vcpu_add_bare(vm, 0);
	TEST_ASSERT_ERRNO(enable_ring(vm, PAGE_SIZE), EINVAL);
	kvm_vm_free(vm);
}

static void capabilities(void)
{
	int manual = kvm_check_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	int ring = kvm_check_cap(KVM_CAP_DIRTY_LOG_RING);
	int acq_rel = kvm_check_cap(KVM_CAP_DIRTY_LOG_RING_ACQ_REL);

	ktap_print("MANUAL_DIRTY_LOG_PROTECT2 %d, DIRTY_LOG_RING %d, DIRTY_LOG_RING_ACQ_REL %d, MANUAL_DIRTY_LOG_PROTECT %d",
		   manual, ring, acq_rel, kvm_check_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT));
	TEST_ASSERT_EQ(manual, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
			       KVM_DIRTY_LOG_INITIALLY_SET);
	/* A ring size: a power of two, at least a page. */
	TEST_ASSERT(ring >= (int)PAGE_SIZE && !(ring & (ring - 1)),
		    "KVM_CAP_DIRTY_LOG_RING %d", ring);
	TEST_ASSERT(!acq_rel || acq_rel == ring, "ACQ_REL %d vs %d", acq_rel, ring);
}

/* ---- the emulator's writes ------------------------------------------------ */

#define EMUL_VALUE 0x1122334455667788ULL

/* MOVSQ from MMIO into RAM: the emulator writes the RAM page. */
static void guest_movs(uint64_t dst)
{
	uint64_t src = MMIO_GPA;

	asm volatile("movsq" : "+S"(src), "+D"(dst) : : "memory");
	GUEST_DONE();
}

static void emulated_write(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);
	uint64_t dst = TEST_GPA + 5 * PAGE_SIZE + 16, bitmap[4] = { 0 };
	struct kvm_dirty_log l = { .slot = TEST_SLOT, .dirty_bitmap = bitmap };
	uint64_t *mem = vm_add_memory(vm, TEST_SLOT, KVM_MEM_LOG_DIRTY_PAGES,
				      TEST_GPA, BAD_PAGES * PAGE_SIZE);

	vcpu = vm_vcpu_add(vm, 0, guest_movs);
	vcpu_args_set(vcpu, 1, dst);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_MMIO);
	TEST_ASSERT_EQ(vcpu->run->mmio.phys_addr, MMIO_GPA);
	TEST_ASSERT_EQ(vcpu->run->mmio.is_write, 0);
	memcpy(vcpu->run->mmio.data, &(uint64_t){ EMUL_VALUE }, 8);
	vcpu_expect_done(vcpu);
	TEST_ASSERT_EQ(mem[(dst - TEST_GPA) / 8], EMUL_VALUE);
	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &l);
	TEST_ASSERT(bitmap[0] & (1ULL << 5), "the emulated write is not logged (bitmap 0x%llx)",
		    (unsigned long long)bitmap[0]);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(capabilities),
		KTAP_CASE(get_log_errors),
		KTAP_CASE(clear_log_errors),
		KTAP_CASE(ring_errors),
		KTAP_CASE(emulated_write),
		KTAP_CASE(get_1vcpu),
		KTAP_CASE(get_2vcpus),
		KTAP_CASE(get_4vcpus),
		KTAP_CASE(clear_1vcpu),
		KTAP_CASE(clear_2vcpus),
		KTAP_CASE(clear_4vcpus),
		KTAP_CASE(ring_1vcpu),
		KTAP_CASE(ring_2vcpus),
		KTAP_CASE(ring_4vcpus),
		KTAP_CASE(get_huge),
		KTAP_CASE(clear_huge),
		KTAP_CASE(ring_huge),
		KTAP_CASE(huge_split_collapse),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

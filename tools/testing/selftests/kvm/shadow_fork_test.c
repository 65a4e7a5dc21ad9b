// SPDX-License-Identifier: GPL-2.0
/*
 * A fork-heavy guest: the tiny kernel of lib/fork_os.c creates processes
 * by copying page tables, shares their pages read-only, copies them on
 * its own #PF, switches CR3 among them and exits them, reusing their
 * frames at once, so page tables become data and data become page tables.
 * After every step the running process must see exactly its own data, and
 * a freed frame must hold nothing (no write through a stale translation).
 *
 * What a shadow MMU must get right here: guest page-table writes to
 * tables not in use (fork, exit) taking effect at the next CR3 load, the
 * guest's own write-protection of its pages, INVLPG after the COW fix-up,
 * and forgetting a shadowed table once the guest uses its frame for data.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "fork_os.h"

#define POOL_FRAMES	256	/* >= FORK_OS_MAX_PROCS * (4 + FORK_OS_PAGES) */
#define MIX_STEPS	400
#define WAVES		6
/* KVM_SET_NR_MMU_PAGES's floor (upstream's KVM_MIN_ALLOC_MMU_PAGES). */
#define MIN_MMU_PAGES	64

_Static_assert(POOL_FRAMES >= FORK_OS_MAX_PROCS * (4 + FORK_OS_PAGES),
	       "pool too small for the worst-case copies");

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return rng_state >> 33;
}

static int random_alive(void)
{
	int pid;

	do
		pid = rng() % FORK_OS_MAX_PROCS;
	while (!fork_os_alive(pid));
	return pid;
}

static int nr_alive(void)
{
	int pid, n = 0;

	for (pid = 0; pid < FORK_OS_MAX_PROCS; pid++)
		n += fork_os_alive(pid);
	return n;
}

/* Run @pid: check its pages, write @nr of them, check again. */
static void run(int pid, unsigned int nr, uint64_t tag)
{
	unsigned int i;

	fork_os_switch(pid);
	fork_os_verify();
	for (i = 0; i < nr; i++)
		fork_os_write(rng() % FORK_OS_PAGES, tag << 16 | pid << 8 | i);
	fork_os_verify();
}

static void exit_all(void)
{
	int pid;

	for (pid = 0; pid < FORK_OS_MAX_PROCS; pid++)
		if (fork_os_alive(pid))
			fork_os_exit(pid);
}

static void report_stats(void)
{
	const struct fork_os_stats *s = fork_os_stats();

	GUEST_SYNC(s->forks, s->exits, s->switches, s->cow_copies,
		   s->cow_reuses, s->frames_free);
	GUEST_SYNC(s->data_to_table, s->table_to_data);
	GUEST_DONE();
}

/* Random forks, exits and runs, with up to FORK_OS_MAX_PROCS processes. */
static void guest_random_mix(uint64_t pool, uint64_t frames, uint64_t steps)
{
	uint64_t step;
	int parent, child;

	rng_state = 42;
	fork_os_init(pool, frames);
	run(fork_os_spawn(0x100000), FORK_OS_PAGES, 0);
	for (step = 1; step <= steps; step++) {
		unsigned int kind = rng() % 10;

		if (kind < 3) {
			parent = random_alive();
			child = fork_os_fork(parent);
			if (child < 0)
				continue;
			run(child, 1, step);
			/* The child's write is not the parent's. */
			run(parent, 0, step);
		} else if (kind < 5 && nr_alive() > 1) {
			fork_os_exit(random_alive());
		} else {
			run(random_alive(), 1 + rng() % 3, step);
		}
	}
	exit_all();
	report_stats();
}

/*
 * Waves: one process forks until the table is full (children fork from
 * children), every process writes half its pages, all exit but one.  Each
 * wave reuses the frames of the last.
 */
static void guest_waves(uint64_t pool, uint64_t frames, uint64_t waves)
{
	uint64_t w;
	int pid, child;

	rng_state = 7;
	fork_os_init(pool, frames);
	pid = fork_os_spawn(0x200000);
	run(pid, 0, 0);
	for (w = 1; w <= waves; w++) {
		while ((child = fork_os_fork(pid)) >= 0) {
			run(child, 0, w);
			pid = child;
		}
		for (pid = 0; pid < FORK_OS_MAX_PROCS; pid++)
			if (fork_os_alive(pid))
				run(pid, FORK_OS_PAGES / 2, w);
		for (pid = 0; pid < FORK_OS_MAX_PROCS; pid++)
			if (fork_os_alive(pid))
				run(pid, 0, w);
		pid = random_alive();
		for (child = 0; child < FORK_OS_MAX_PROCS; child++)
			if (child != pid && fork_os_alive(child))
				fork_os_exit(child);
		/* The survivor owns every frame it shares with nobody now. */
		fork_os_switch(pid);
		for (child = 0; child < FORK_OS_PAGES; child++)
			fork_os_write(child, w << 16 | child);
		fork_os_verify();
	}
	exit_all();
	report_stats();
}

static void run_fork_guest(void *guest_code, uint64_t rounds,
			   unsigned long mmu_pages)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 16ULL << 20);
	uint64_t pool;
	struct ucall uc;

	if (mmu_pages) {
		vm_ioctl(vm, KVM_SET_NR_MMU_PAGES, mmu_pages);
		TEST_ASSERT_EQ(ioctl(vm->fd, KVM_GET_NR_MMU_PAGES, 0), mmu_pages);
	}
	vcpu = vm_vcpu_add(vm, 0, guest_code);
	pool = fork_os_setup(vm, POOL_FRAMES);
	vcpu_args_set(vcpu, 3, pool, (uint64_t)POOL_FRAMES, rounds);
	vcpu_expect_sync(vcpu, &uc);
	ktap_print("%llu forks, %llu exits, %llu CR3 loads, %llu COW copies, "
		   "%llu COW reuses", (unsigned long long)uc.args[0],
		   (unsigned long long)uc.args[1], (unsigned long long)uc.args[2],
		   (unsigned long long)uc.args[3], (unsigned long long)uc.args[4]);
	TEST_ASSERT_EQ(uc.args[0], uc.args[1] - 1);	/* + the first process */
	TEST_ASSERT_GE(uc.args[0], 30);
	TEST_ASSERT_GE(uc.args[3], 30);
	TEST_ASSERT_GE(uc.args[4], 10);
	TEST_ASSERT_EQ(uc.args[5], POOL_FRAMES);	/* every frame back */
	vcpu_expect_sync(vcpu, &uc);
	ktap_print("frames reused: %llu data -> table, %llu table -> data",
		   (unsigned long long)uc.args[0], (unsigned long long)uc.args[1]);
	TEST_ASSERT_GE(uc.args[0], 10);
	TEST_ASSERT_GE(uc.args[1], 10);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void random_mix(void)
{
	run_fork_guest(guest_random_mix, MIX_STEPS, 0);
}

static void waves(void)
{
	run_fork_guest(guest_waves, WAVES, 0);
}

/*
 * The waves again with the fewest MMU pages KVM allows: 16 processes of 4
 * tables each, plus the kernel's, do not fit, so a shadow MMU reclaims
 * shadow pages of live address spaces and must rebuild them right.
 */
static void waves_small_mmu(void)
{
	TEST_REQUIRE_CAP(KVM_CAP_MMU_SHADOW_CACHE_CONTROL);
	run_fork_guest(guest_waves, WAVES, MIN_MMU_PAGES);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(random_mix),
		KTAP_CASE(waves),
		KTAP_CASE(waves_small_mmu),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

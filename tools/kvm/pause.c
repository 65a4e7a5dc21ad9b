// SPDX-License-Identifier: GPL-2.0
/*
 * Parking the vCPUs outside KVM_RUN: see kvm/pause.h.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "kvm/kvm-cpu.h"
#include "kvm/kvm.h"
#include "kvm/pause.h"

/* Parked vCPUs look at the stop cause this often (Ctrl-A x while paused). */
#define PARK_POLL_NS	(100 * 1000 * 1000L)

static struct {
	pthread_mutex_t lock;	/* protects everything below */
	pthread_cond_t cond;	/* parked/exited changed, or a release */
	int depth;		/* pauses in force; vCPUs run when 0 */
	int parked;		/* vCPU threads waiting in kvm_cpu__park() */
	int exited;		/* vCPU threads that left their loop */
	int self_depth;		/* pauses taken by kvm_cpu__pause_self() */
	bool clock_saved;
	struct kvm_clock_data clock;
} ps = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

/* Lock-free peek for the vCPU loop's fast path. */
static _Atomic int pause_depth;

static void timed_wait(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += PARK_POLL_NS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&ps.cond, &ps.lock, &ts);
}

static bool stopping(struct kvm *kvm)
{
	return kvm__stop_cause(kvm) != KVM_STOP_NONE;
}

static void kick_others(struct kvm *kvm)
{
	for (int i = 0; i < kvm->nr_cpus; i++) {
		struct kvm_cpu *cpu = kvm->cpus[i];

		if (cpu && cpu->started &&
		    !pthread_equal(cpu->thread, pthread_self()))
			pthread_kill(cpu->thread, SIGUSR1);
	}
}

static int nr_started(struct kvm *kvm)
{
	int n = 0;

	for (int i = 0; i < kvm->nr_cpus; i++)
		n += kvm->cpus[i] && kvm->cpus[i]->started;
	return n;
}

/* Called with the lock held: wait until no vCPU is in KVM_RUN. */
static bool wait_all_parked(struct kvm *kvm)
{
	while (ps.parked + ps.exited < nr_started(kvm) && !stopping(kvm))
		timed_wait();
	if (stopping(kvm))
		return false;
	if (!ps.clock_saved && kvm->caps.adjust_clock) {
		if (ioctl(kvm->vm_fd, KVM_GET_CLOCK, &ps.clock) < 0)
			pr_warn("KVM_GET_CLOCK: %s; guest time will jump over "
				"the pause", strerror(errno));
		else
			ps.clock_saved = true;
	}
	return true;
}

bool kvm__pause(struct kvm *kvm)
{
	bool ok;

	pthread_mutex_lock(&ps.lock);
	ps.depth++;
	atomic_store(&pause_depth, ps.depth);
	kick_others(kvm);
	ok = wait_all_parked(kvm);
	pthread_mutex_unlock(&ps.lock);
	return ok;
}

/* Called with the lock held: drop n pauses. */
static void resume_locked(struct kvm *kvm, int n)
{
	if (ps.depth > 0 && ps.depth <= n && ps.clock_saved) {
		/* flags 0: set exactly this value, no realtime correction. */
		struct kvm_clock_data c = { .clock = ps.clock.clock };

		if (ioctl(kvm->vm_fd, KVM_SET_CLOCK, &c) < 0)
			pr_warn("KVM_SET_CLOCK: %s; guest time jumps over the "
				"pause", strerror(errno));
		ps.clock_saved = false;
	}
	ps.depth = MAX(0, ps.depth - n);
	atomic_store(&pause_depth, ps.depth);
	pthread_cond_broadcast(&ps.cond);
}

void kvm__resume(struct kvm *kvm)
{
	pthread_mutex_lock(&ps.lock);
	resume_locked(kvm, 1);
	pthread_mutex_unlock(&ps.lock);
}

void kvm__release_self_pauses(struct kvm *kvm)
{
	pthread_mutex_lock(&ps.lock);
	resume_locked(kvm, ps.self_depth);
	ps.self_depth = 0;
	pthread_mutex_unlock(&ps.lock);
}

bool kvm__paused(struct kvm *kvm)
{
	(void)kvm;
	return atomic_load(&pause_depth) > 0;
}

/* Called with the lock held. */
static void park_locked(struct kvm_cpu *cpu)
{
	ps.parked++;
	pthread_cond_broadcast(&ps.cond);
	while (ps.depth > 0 && !stopping(cpu->kvm))
		timed_wait();
	ps.parked--;
}

void kvm_cpu__park(struct kvm_cpu *cpu)
{
	if (!atomic_load(&pause_depth))
		return;
	pthread_mutex_lock(&ps.lock);
	park_locked(cpu);
	pthread_mutex_unlock(&ps.lock);
}

void kvm_cpu__pause_self(struct kvm_cpu *cpu)
{
	pthread_mutex_lock(&ps.lock);
	ps.depth++;
	ps.self_depth++;
	atomic_store(&pause_depth, ps.depth);
	kick_others(cpu->kvm);
	/* Count ourselves as parked while the others are being stopped. */
	ps.parked++;
	wait_all_parked(cpu->kvm);
	ps.parked--;
	park_locked(cpu);
	pthread_mutex_unlock(&ps.lock);
}

void kvm_cpu__exited(struct kvm_cpu *cpu)
{
	(void)cpu;
	pthread_mutex_lock(&ps.lock);
	ps.exited++;
	pthread_cond_broadcast(&ps.cond);
	pthread_mutex_unlock(&ps.lock);
}

/* `lkvm pause`: the control thread is the only caller, no lock needed. */
static bool user_paused;

int kvm__user_pause(struct kvm *kvm)
{
	if (user_paused)
		return -EALREADY;
	if (!kvm__pause(kvm)) {
		kvm__resume(kvm);
		return -ESHUTDOWN;
	}
	user_paused = true;
	return 0;
}

int kvm__user_resume(struct kvm *kvm)
{
	if (!user_paused)
		return -EALREADY;
	user_paused = false;
	kvm__resume(kvm);
	return 0;
}

bool kvm__user_paused(void)
{
	return user_paused;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Kicking a vCPU thread out of KVM_RUN the way migration loops and upstream's
 * dirty_log_test do: the thread blocks SIGUSR1, KVM_SET_SIGNAL_MASK lets it
 * through while KVM_RUN runs, no handler is installed (the default action
 * terminates the process), another thread sends it with pthread_kill, and
 * the vCPU thread takes it with sigwait() after KVM_RUN failed with EINTR.
 * The process must survive every kick: while the guest runs, while the
 * thread is between two KVM_RUNs, and before the first one.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "kvm_util.h"

#define KICKS 200

static volatile int quit;
static volatile uint64_t eintrs, sigwaits;

static void guest_spin(void)
{
	for (;;)
		asm volatile("pause");
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct {
		struct kvm_signal_mask hdr;
		uint64_t set;	/* the kernel's sigset_t: 64 bits on x86_64 */
	} m = { .hdr.len = sizeof(uint64_t) };
	sigset_t set;
	int sig, r;

	TEST_ASSERT_EQ(pthread_sigmask(SIG_BLOCK, NULL, &set), 0);
	sigdelset(&set, SIGUSR1);
	memcpy(&m.set, &set, sizeof(m.set));
	vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, &m);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (!quit) {
		r = __vcpu_run(vcpu);
		if (r < 0) {
			TEST_ASSERT(errno == EINTR, "KVM_RUN: %s", ktap_errno_name(errno));
			TEST_ASSERT_EQ(vcpu->run->exit_reason, KVM_EXIT_INTR);
			eintrs++;
			/* The kick is still pending: KVM_RUN did not consume it. */
			TEST_ASSERT_EQ(sigwait(&set, &sig), 0);
			TEST_ASSERT_EQ(sig, SIGUSR1);
			sigwaits++;
			continue;
		}
		TEST_FAIL("KVM_RUN returned 0 with exit %s",
			  exit_reason_str(vcpu->run->exit_reason));
	}
	return NULL;
}

static void kicks_survive(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	sigset_t set;
	pthread_t t;
	int i;

	/* Blocked in every thread from the start, as a VMM does. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	TEST_ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	TEST_ASSERT(signal(SIGUSR1, SIG_DFL) != SIG_ERR, "signal: %s", strerror(errno));

	vm = vm_create_with_one_vcpu(&vcpu, guest_spin);
	TEST_ASSERT_EQ(pthread_create(&t, NULL, vcpu_thread, vcpu), 0);
	/* The first kick may land before the thread's first KVM_RUN. */
	for (i = 0; i < KICKS; i++) {
		TEST_ASSERT_EQ(pthread_kill(t, SIGUSR1), 0);
		usleep(i % 5 * 500);
	}
	quit = 1;
	TEST_ASSERT_EQ(pthread_kill(t, SIGUSR1), 0);
	TEST_ASSERT_EQ(pthread_join(t, NULL), 0);
	ktap_print("%d kicks: %llu EINTR, %llu taken by sigwait", KICKS + 1,
		   (unsigned long long)eintrs, (unsigned long long)sigwaits);
	/* Kicks sent while one is pending merge; at least one got through. */
	TEST_ASSERT(eintrs > 0 && eintrs == sigwaits, "%llu EINTR, %llu sigwait",
		    (unsigned long long)eintrs, (unsigned long long)sigwaits);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(kicks_survive),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

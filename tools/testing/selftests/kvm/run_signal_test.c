// SPDX-License-Identifier: GPL-2.0
/*
 * Leaving KVM_RUN without a guest exit: a signal makes KVM_RUN fail with
 * EINTR and exit_reason KVM_EXIT_INTR; kvm_run.immediate_exit makes it
 * return EINTR before entering the guest, after completing a pending IN;
 * KVM_SET_SIGNAL_MASK decides which signals interrupt the guest.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"

#define PORT_IN 0x520
#define PORT_OUT 0x521
#define EXIT_SENTINEL 0xffffu

static volatile sig_atomic_t got_signal;

static void on_sigusr1(int sig)
{
	(void)sig;
	got_signal++;
}

static void install_handler(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN is never restarted anyway. */
	TEST_ASSERT_OK(sigaction(SIGUSR1, &sa, NULL));
}

/* A guest that never exits on its own. */
static void guest_spin(void)
{
	for (;;)
		asm volatile("pause");
}

struct kicker {
	pthread_t target;
	unsigned int delay_ms;
};

static void *kick(void *arg)
{
	struct kicker *k = arg;
	struct timespec ts = { k->delay_ms / 1000, (k->delay_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	pthread_kill(k->target, SIGUSR1);
	return NULL;
}

static void signal_interrupts_run(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_spin);
	struct kicker k = { pthread_self(), 200 };
	pthread_t thread;
	int r, e, i;

	install_handler();
	for (i = 0; i < 3; i++) {
		got_signal = 0;
		vcpu->run->exit_reason = EXIT_SENTINEL;
		TEST_ASSERT_EQ(pthread_create(&thread, NULL, kick, &k), 0);
		r = __vcpu_run(vcpu);
		e = errno;
		pthread_join(thread, NULL);
		TEST_ASSERT_EQ(r, -1);
		TEST_ASSERT(e == EINTR, "errno %s", ktap_errno_name(e));
		TEST_ASSERT_EQ(vcpu->run->exit_reason, KVM_EXIT_INTR);
		TEST_ASSERT_EQ(got_signal, 1);
	}
	kvm_vm_free(vm);
}

/* 64-bit guest code: read a byte from PORT_IN, write it to PORT_OUT. */
asm(".pushsection .text\n"
    "guest_in_out:\n"
    "	mov $0x520, %dx\n"
    "	inb %dx, %al\n"
    "guest_in_out_after_in:\n"
    "	mov $0x521, %dx\n"
    "	outb %al, %dx\n"
    "	hlt\n"
    ".popsection\n");
extern char guest_in_out[], guest_in_out_after_in[];

static void immediate_exit_before_entry(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_in_out);
	struct kvm_regs before, after;
	int r, e;

	vcpu_regs_get(vcpu, &before);
	vcpu->run->immediate_exit = 1;
	r = __vcpu_run(vcpu);
	e = errno;
	TEST_ASSERT_EQ(r, -1);
	TEST_ASSERT(e == EINTR, "errno %s", ktap_errno_name(e));
	/* The guest did not run a single instruction. */
	vcpu_regs_get(vcpu, &after);
	TEST_ASSERT_EQ(after.rip, before.rip);

	/* Cleared, the guest runs to its first exit. */
	vcpu->run->immediate_exit = 0;
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_IN);
	kvm_vm_free(vm);
}

/* immediate_exit after an IN exit completes the IN, then returns EINTR. */
static void immediate_exit_completes_in(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_in_out);
	struct kvm_regs regs;
	int r, e;

	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.direction, KVM_EXIT_IO_IN);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_IN);
	*(uint8_t *)vcpu_io_data(vcpu) = 0x3c;

	vcpu->run->immediate_exit = 1;
	r = __vcpu_run(vcpu);
	e = errno;
	TEST_ASSERT_EQ(r, -1);
	TEST_ASSERT(e == EINTR, "errno %s", ktap_errno_name(e));
	vcpu_regs_get(vcpu, &regs);
	TEST_ASSERT_EQ(regs.rax & 0xff, 0x3c);
	/* RIP is past the IN. */
	TEST_ASSERT_EQ(regs.rip, (uint64_t)(uintptr_t)guest_in_out_after_in);

	vcpu->run->immediate_exit = 0;
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_OUT);
	TEST_ASSERT_EQ(*(uint8_t *)vcpu_io_data(vcpu), 0x3c);
	kvm_vm_free(vm);
}

/*
 * A signal blocked in the thread but unblocked by KVM_SET_SIGNAL_MASK
 * interrupts KVM_RUN as soon as it is pending; one blocked by the vCPU's
 * mask does not.  KVM_RUN restores the thread's own mask before returning,
 * so the signal is still pending (not delivered) afterwards.
 */
static void signal_mask(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_in_out);
	struct {
		struct kvm_signal_mask hdr;
		uint8_t set[8];	/* the kernel's sigset_t on x86-64 */
	} m;
	sigset_t block, pending;
	int r, e, sig;

	install_handler();
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	TEST_ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, NULL), 0);

	/* vCPU mask: nothing blocked; SIGUSR1 pending before KVM_RUN. */
	memset(&m, 0, sizeof(m));
	m.hdr.len = 8;
	vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, &m);
	got_signal = 0;
	raise(SIGUSR1);
	vcpu->run->exit_reason = EXIT_SENTINEL;
	r = __vcpu_run(vcpu);
	e = errno;
	TEST_ASSERT_EQ(r, -1);
	TEST_ASSERT(e == EINTR, "errno %s", ktap_errno_name(e));
	TEST_ASSERT_EQ(vcpu->run->exit_reason, KVM_EXIT_INTR);
	TEST_ASSERT_EQ(got_signal, 0);
	sigpending(&pending);
	TEST_ASSERT(sigismember(&pending, SIGUSR1), "SIGUSR1 no longer pending");
	TEST_ASSERT_EQ(sigwait(&block, &sig), 0);
	TEST_ASSERT_EQ(sig, SIGUSR1);

	/* vCPU mask blocks SIGUSR1: the guest runs despite the pending signal. */
	m.set[(SIGUSR1 - 1) / 8] |= 1 << ((SIGUSR1 - 1) % 8);
	vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, &m);
	raise(SIGUSR1);
	vcpu_run(vcpu);
	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_IN);
	sigpending(&pending);
	TEST_ASSERT(sigismember(&pending, SIGUSR1), "SIGUSR1 no longer pending");
	TEST_ASSERT_EQ(sigwait(&block, &sig), 0);

	/* A wrong sigset size is refused. */
	m.hdr.len = 4;
	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, &m), EINVAL);
	/* A NULL argument removes the mask. */
	vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, NULL);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(signal_interrupts_run),
		KTAP_CASE(immediate_exit_before_entry),
		KTAP_CASE(immediate_exit_completes_in),
		KTAP_CASE(signal_mask),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

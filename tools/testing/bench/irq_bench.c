// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupt costs on whatever /dev/kvm is loaded, with the in-kernel
 * irqchip.  One line per row (scripts/bench pairs them across backends):
 *
 *   BENCH ipi_round_trip    <ns> <n>  vCPU 0 IPIs vCPU 1, which IPIs
 *                                     back; both wait in HLT
 *   BENCH irqfd_to_handler  <ns> <n>  eventfd write on the host (MSI
 *                                     route) to the guest's PIO exit right
 *                                     after its handler ran
 *   BENCH ioeventfd_notify  <ns> <n>  one guest MMIO write that signals an
 *                                     ioeventfd (no exit to userspace)
 *   BENCH timer_irq         <ns> <n>  a TSC-deadline timer armed 10 us
 *                                     ahead, to its interrupt handled
 *
 * Nothing here asserts on time; counts are checked.
 *
 * usage: irq_bench [ITERATIONS]   (default 2000; the IPI, irqfd and timer
 *                                  rows use ITERATIONS/4: each is several
 *                                  exits)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "../selftests/kvm/irqchip.h"

#define IPI_VECTOR	0x50
#define REPLY_VECTOR	0x51
#define IRQFD_VECTOR	0x60
#define TIMER_VECTOR	0x70
#define IRQFD_GSI	40
#define HANDLER_PORT	0xe4
#define NOTIFY_GPA	0xd0000000ULL	/* identity mapped, no memslot */
#define MSI_ADDR	0xfee00000u	/* physical destination APIC 0 */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void report(const char *name, uint64_t ns, uint64_t n)
{
	printf("BENCH %s %llu %llu\n", name, (unsigned long long)(ns / n),
	       (unsigned long long)n);
	fflush(stdout);
}

static void *run_vcpu_done(void *arg)
{
	vcpu_expect_done(arg);
	return NULL;
}

static void guest_apic_on(void)
{
	irq_eoi_mode = EOI_XAPIC;
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
}

/* ---- IPI round trip ------------------------------------------------------ */

static void guest_ipi(uint64_t id, uint64_t n)
{
	uint64_t i;

	guest_apic_on();
	if (id == 1) {
		GUEST_SYNC(0);
		for (i = 1; i <= n; i++) {
			guest_wait_irqs(&irq_count[IPI_VECTOR], i);
			xapic_write(APIC_ICR2, 0);
			xapic_write(APIC_ICR, REPLY_VECTOR);
		}
		GUEST_DONE();
	}
	GUEST_SYNC(0);
	for (i = 1; i <= n; i++) {
		xapic_write(APIC_ICR2, 1u << 24);
		xapic_write(APIC_ICR, IPI_VECTOR);
		guest_wait_irqs(&irq_count[REPLY_VECTOR], i);
	}
	GUEST_DONE();
}

static void bench_ipi(uint64_t n)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *v0 = vm_irq_vcpu_add(vm, 0, guest_ipi);
	struct kvm_vcpu *v1 = vm_irq_vcpu_add(vm, 1, guest_ipi);
	struct ucall uc;
	pthread_t t;
	uint64_t t0;

	vcpu_args_set(v0, 2, 0ULL, n);
	vcpu_args_set(v1, 2, 1ULL, n);
	vcpu_apic_sw_enable(v0);
	vcpu_apic_sw_enable(v1);
	/* vCPU 1 is up first, then waits in HLT. */
	vcpu_expect_sync(v1, &uc);
	TEST_ASSERT_EQ(pthread_create(&t, NULL, run_vcpu_done, v1), 0);
	vcpu_expect_sync(v0, &uc);
	t0 = now_ns();
	vcpu_expect_done(v0);
	t0 = now_ns() - t0;
	pthread_join(t, NULL);
	report("ipi_round_trip", t0, n);
	kvm_vm_free(vm);
}

/* ---- irqfd to handler ------------------------------------------------------ */

static void guest_irqfd(uint64_t n)
{
	uint64_t i;

	guest_apic_on();
	GUEST_SYNC(0);
	for (i = 1; i <= n; i++) {
		guest_wait_irqs(&irq_count[IRQFD_VECTOR], i);
		outb(HANDLER_PORT, 0);
	}
	GUEST_DONE();
}

struct irqfd_run {
	struct kvm_vcpu *vcpu;
	volatile uint64_t seen;		/* handler exits so far */
	volatile uint64_t t_seen;	/* host time of the last one */
};

static void *run_irqfd_vcpu(void *arg)
{
	struct irqfd_run *r = arg;
	struct ucall uc;

	for (;;) {
		vcpu_run(r->vcpu);
		if (r->vcpu->run->exit_reason == KVM_EXIT_IO &&
		    r->vcpu->run->io.port == HANDLER_PORT) {
			r->t_seen = now_ns();
			__atomic_add_fetch(&r->seen, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (get_ucall(r->vcpu, &uc) == UCALL_DONE)
			return NULL;
		TEST_ASSERT(uc.cmd == UCALL_SYNC, "irqfd: unexpected %s",
			    exit_reason_str(r->vcpu->run->exit_reason));
	}
}

static void bench_irqfd(uint64_t n)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e;
	} rt = {
		.hdr.nr = 1,
		.e = { .gsi = IRQFD_GSI, .type = KVM_IRQ_ROUTING_MSI,
		       .u.msi = { .address_lo = MSI_ADDR,
				  .data = IRQFD_VECTOR } },
	};
	struct kvm_vm *vm = vm_create_irqchip();
	struct irqfd_run r = { .vcpu = vm_irq_vcpu_add(vm, 0, guest_irqfd) };
	int efd = eventfd(0, 0);
	struct kvm_irqfd f = { .fd = efd, .gsi = IRQFD_GSI };
	uint64_t i, t0, total = 0, one = 1;
	struct ucall uc;
	pthread_t t;

	TEST_ASSERT(efd >= 0, "eventfd");
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, &rt);
	vm_ioctl(vm, KVM_IRQFD, &f);
	vcpu_args_set(r.vcpu, 1, n);
	vcpu_expect_sync(r.vcpu, &uc);
	TEST_ASSERT_EQ(pthread_create(&t, NULL, run_irqfd_vcpu, &r), 0);
	for (i = 1; i <= n; i++) {
		/* Let the guest get back into HLT: latency from idle. */
		usleep(200);
		t0 = now_ns();
		TEST_ASSERT_EQ(write(efd, &one, sizeof(one)), sizeof(one));
		while (__atomic_load_n(&r.seen, __ATOMIC_SEQ_CST) < i)
			;
		total += r.t_seen - t0;
	}
	pthread_join(t, NULL);
	report("irqfd_to_handler", total, n);
	close(efd);
	kvm_vm_free(vm);
}

/* ---- ioeventfd ------------------------------------------------------------- */

static void guest_notify(uint64_t n)
{
	uint64_t i;

	GUEST_SYNC(0);
	for (i = 0; i < n; i++)
		*(volatile uint32_t *)(uintptr_t)NOTIFY_GPA = 1;
	GUEST_DONE();
}

static void bench_ioeventfd(uint64_t n)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_notify);
	int efd = eventfd(0, EFD_NONBLOCK);
	struct kvm_ioeventfd io = {
		.addr = NOTIFY_GPA, .len = 4, .fd = efd,
	};
	uint64_t t0, cnt = 0;
	struct ucall uc;

	TEST_ASSERT(efd >= 0, "eventfd");
	vm_ioctl(vm, KVM_IOEVENTFD, &io);
	vcpu_args_set(vcpu, 1, n);
	vcpu_expect_sync(vcpu, &uc);
	t0 = now_ns();
	vcpu_expect_done(vcpu);
	t0 = now_ns() - t0;
	TEST_ASSERT_EQ(read(efd, &cnt, sizeof(cnt)), sizeof(cnt));
	TEST_ASSERT_EQ(cnt, n);
	report("ioeventfd_notify", t0, n);
	close(efd);
	kvm_vm_free(vm);
}

/* ---- timer interrupts -------------------------------------------------------- */

static void guest_timer(uint64_t n, uint64_t ticks)
{
	uint64_t i;

	guest_apic_on();
	xapic_write(APIC_LVTT, TIMER_VECTOR | APIC_TIMER_TSCDEADLINE);
	GUEST_SYNC(0);
	for (i = 1; i <= n; i++) {
		wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + ticks);
		guest_wait_irqs(&irq_count[TIMER_VECTOR], i);
	}
	GUEST_DONE();
}

static void bench_timer(uint64_t n)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_timer);
	int khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);
	struct ucall uc;
	uint64_t t0;

	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ");
	vcpu_set_cpuid(vcpu, CPUID_1_ECX_TSC_DEADLINE);
	vcpu_args_set(vcpu, 2, n, (uint64_t)khz / 100);	/* 10 us */
	vcpu_expect_sync(vcpu, &uc);
	t0 = now_ns();
	vcpu_expect_done(vcpu);
	t0 = now_ns() - t0;
	report("timer_irq", t0, n);
	kvm_vm_free(vm);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 2000;

	if (!n)
		n = 1;
	bench_ipi(n / 4 ? n / 4 : 1);
	bench_irqfd(n / 4 ? n / 4 : 1);
	bench_ioeventfd(n);
	bench_timer(n / 4 ? n / 4 : 1);
	return 0;
}

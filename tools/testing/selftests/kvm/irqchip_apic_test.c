// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel local APIC seen from the guest: the timer in one-shot
 * and TSC-deadline modes, self-IPIs, task priority (TPR and
 * CR8), x2APIC mode, IPIs between vCPUs, and INIT/SIPI start-up of an
 * application processor.  Timing checks only ever bound from below: an
 * interrupt must never come early (SDM vol 3, 10.5.4).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

#include "irqchip.h"

#define TIMER_VECTOR	0x40
#define IPI_VECTOR	0x50
#define LOW_VECTOR	0x45
#define ONESHOT_NS	3000000ULL	/* 3 ms at the 1 GHz APIC bus clock */

static uint64_t host_tsc_khz(struct kvm_vcpu *vcpu)
{
	int khz = __vcpu_ioctl(vcpu, KVM_GET_TSC_KHZ, NULL);

	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ: %d", khz);
	return khz;
}

static void xapic_enable(void)
{
	irq_eoi_mode = EOI_XAPIC;
	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
}

/* ---- timer ----------------------------------------------------------- */

static void guest_oneshot(void)
{
	uint64_t t0;
	uint32_t cur;

	xapic_enable();
	xapic_write(APIC_TDCR, APIC_TDCR_DIV1);
	xapic_write(APIC_LVTT, TIMER_VECTOR);
	t0 = rdtsc();
	xapic_write(APIC_TMICT, ONESHOT_NS);
	/* Counting down (or already expired, on a slow bed). */
	cur = xapic_read(APIC_TMCCT);
	GUEST_ASSERT(cur <= ONESHOT_NS);
	guest_wait_irqs(&irq_count[TIMER_VECTOR], 1);
	/* Expired: the current count stays at 0, no second interrupt. */
	GUEST_ASSERT_EQ(xapic_read(APIC_TMCCT), 0);
	GUEST_SYNC(irq_tsc[TIMER_VECTOR] - t0);
	GUEST_ASSERT_EQ(irq_count[TIMER_VECTOR], 1);
	GUEST_DONE();
}

static void timer_oneshot(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_oneshot);
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	/* Information only: the bed's clocks are too unsteady to assert. */
	ktap_print("one-shot of %llu ns took %llu TSC ticks (%llu expected)",
		   (unsigned long long)ONESHOT_NS, (unsigned long long)uc.args[0],
		   (unsigned long long)(ONESHOT_NS * host_tsc_khz(vcpu) / 1000000));
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void guest_tsc_deadline(uint64_t ticks)
{
	uint64_t deadline, t0;

	xapic_enable();
	xapic_write(APIC_LVTT, TIMER_VECTOR | APIC_TIMER_TSCDEADLINE);
	/* Far away: it reads back as written. */
	deadline = rdtsc() + 1000 * ticks;
	wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), deadline);
	deadline = rdtsc() + ticks;
	wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	guest_wait_irqs(&irq_count[TIMER_VECTOR], 1);
	/* Never before the deadline; the MSR reads 0 once it fired. */
	GUEST_ASSERT(irq_tsc[TIMER_VECTOR] >= deadline);
	GUEST_ASSERT_EQ(rdmsr(MSR_IA32_TSC_DEADLINE), 0);

	/* A deadline in the past fires at once. */
	wrmsr(MSR_IA32_TSC_DEADLINE, 1);
	guest_wait_irqs(&irq_count[TIMER_VECTOR], 2);

	/* Writing 0 disarms. */
	deadline = rdtsc() + ticks;
	wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
	wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	sti();
	t0 = rdtsc();
	while (rdtsc() - t0 < 3 * ticks)
		;
	cli();
	GUEST_ASSERT_EQ(irq_count[TIMER_VECTOR], 2);
	GUEST_DONE();
}

static void timer_tsc_deadline(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_tsc_deadline);

	TEST_REQUIRE_CAP(KVM_CAP_TSC_DEADLINE_TIMER);
	vcpu_set_cpuid(vcpu, CPUID_1_ECX_TSC_DEADLINE);
	vcpu_args_set(vcpu, 1, host_tsc_khz(vcpu) * 2);	/* 2 ms */
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- IPIs to self, priorities ----------------------------------------- */

static void guest_self_ipi(void)
{
	xapic_enable();
	/* With IF clear the IPI waits in IRR. */
	xapic_write(APIC_ICR, APIC_DEST_SELF | IPI_VECTOR);
	GUEST_ASSERT(xapic_read(APIC_IRR + (IPI_VECTOR / 32) * 0x10) &
		     (1u << (IPI_VECTOR % 32)));
	GUEST_ASSERT_EQ(irq_count[IPI_VECTOR], 0);
	guest_wait_irqs(&irq_count[IPI_VECTOR], 1);
	GUEST_ASSERT_EQ(xapic_read(APIC_IRR + (IPI_VECTOR / 32) * 0x10) &
			(1u << (IPI_VECTOR % 32)), 0);

	/* A task priority at the vector's class holds it back. */
	xapic_write(APIC_TPR, IPI_VECTOR & 0xf0);
	xapic_write(APIC_ICR, APIC_DEST_SELF | LOW_VECTOR);
	guest_irq_window();
	GUEST_ASSERT_EQ(irq_count[LOW_VECTOR], 0);
	GUEST_ASSERT_EQ(xapic_read(APIC_PPR), IPI_VECTOR & 0xf0);
	xapic_write(APIC_TPR, 0);
	guest_wait_irqs(&irq_count[LOW_VECTOR], 1);

	/* The same through CR8 (SDM vol 3, 10.8.6.1), no APIC access. */
	asm volatile("mov %0, %%cr8" : : "r"((uint64_t)(LOW_VECTOR >> 4)));
	GUEST_ASSERT_EQ(xapic_read(APIC_TPR), LOW_VECTOR & 0xf0);
	xapic_write(APIC_ICR, APIC_DEST_SELF | LOW_VECTOR);
	guest_irq_window();
	GUEST_ASSERT_EQ(irq_count[LOW_VECTOR], 1);
	asm volatile("mov %0, %%cr8" : : "r"(0ULL));
	guest_irq_window();
	GUEST_ASSERT_EQ(irq_count[LOW_VECTOR], 2);
	GUEST_DONE();
}

static void self_ipi_and_tpr(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_self_ipi);

	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void guest_x2apic(void)
{
	irq_eoi_mode = EOI_X2APIC;
	wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) | APICBASE_EXTD);
	GUEST_ASSERT(rdmsr(MSR_IA32_APICBASE) & APICBASE_EXTD);
	/* x2APIC ID 0, logical ID cluster 0 bit 0 (10.12.10.2). */
	GUEST_ASSERT_EQ(rdmsr(MSR_X2APIC_BASE + (APIC_ID >> 4)), 0);
	GUEST_ASSERT_EQ(rdmsr(MSR_X2APIC_BASE + (APIC_LDR >> 4)), 1);
	wrmsr(MSR_X2APIC_BASE + (APIC_SVR >> 4), APIC_SVR_ENABLE | 0xff);
	wrmsr(MSR_X2APIC_BASE + (APIC_SELF_IPI >> 4), IPI_VECTOR);
	guest_wait_irqs(&irq_count[IPI_VECTOR], 1);
	/* A 64-bit ICR write, destination in the high half. */
	wrmsr(MSR_X2APIC_BASE + (APIC_ICR >> 4), IPI_VECTOR);
	guest_wait_irqs(&irq_count[IPI_VECTOR], 2);
	GUEST_DONE();
}

static void x2apic_mode(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_x2apic);

	vcpu_set_cpuid(vcpu, CPUID_1_ECX_X2APIC);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- IPIs between vCPUs -------------------------------------------------- */

#define MAX_CPUS	4
#define BCAST_VECTOR	0x60
#define REPLY_VECTOR	0x70	/* + the AP's id */

/*
 * vCPU 0 sends each AP its own vector; each AP answers on its own reply
 * vector (one shared vector would coalesce in vCPU 0's IRR, 10.8.4).
 * Then one all-but-self IPI reaches every AP, and each answers again.
 */
static void guest_ipi(uint64_t id, uint64_t nr)
{
	uint64_t i;

	xapic_enable();
	irq_percpu_vector = BCAST_VECTOR;
	if (id == 0) {
		for (i = 1; i < nr; i++) {
			xapic_write(APIC_ICR2, i << 24);
			xapic_write(APIC_ICR, IPI_VECTOR + i);
		}
		for (i = 1; i < nr; i++)
			guest_wait_irqs(&irq_count[REPLY_VECTOR + i], 1);
		xapic_write(APIC_ICR, APIC_DEST_ALLBUT | BCAST_VECTOR);
		for (i = 1; i < nr; i++)
			guest_wait_irqs(&irq_count[REPLY_VECTOR + i], 2);
		GUEST_ASSERT_EQ(irq_count[BCAST_VECTOR], nr - 1);
		GUEST_ASSERT_EQ(irq_percpu[0], 0);
	} else {
		guest_wait_irqs(&irq_count[IPI_VECTOR + id], 1);
		xapic_write(APIC_ICR2, 0);
		xapic_write(APIC_ICR, REPLY_VECTOR + id);
		/* Our own share of the broadcast. */
		guest_wait_irqs(&irq_percpu[id], 1);
		xapic_write(APIC_ICR2, 0);
		xapic_write(APIC_ICR, REPLY_VECTOR + id);
	}
	GUEST_DONE();
}

static void ipi_n(unsigned int nr)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu[MAX_CPUS];
	unsigned int i;

	for (i = 0; i < nr; i++) {
		vcpu[i] = vm_irq_vcpu_add(vm, i, guest_ipi);
		vcpu_args_set(vcpu[i], 2, (uint64_t)i, (uint64_t)nr);
		vcpu_apic_sw_enable(vcpu[i]);
	}
	vcpus_run_until_done(vcpu, nr);
	kvm_vm_free(vm);
}

static void ipi_2_vcpus(void)
{
	ipi_n(2);
}

static void ipi_4_vcpus(void)
{
	ipi_n(4);
}

/* ---- INIT/SIPI --------------------------------------------------------- */

#define SIPI_VECTOR	0x10	/* start at 0x10000 = VM_SCRATCH_GPA */
#define AP_PORT		0x90

static void guest_bsp_starts_ap(void)
{
	xapic_enable();
	/* INIT assert, INIT de-assert, then SIPI (SDM vol 3, 8.4.4.1). */
	xapic_write(APIC_ICR2, 1u << 24);
	xapic_write(APIC_ICR, APIC_DM_INIT | APIC_ICR_ASSERT | APIC_ICR_LEVEL);
	xapic_write(APIC_ICR2, 1u << 24);
	xapic_write(APIC_ICR, APIC_DM_INIT | APIC_ICR_LEVEL);
	xapic_write(APIC_ICR2, 1u << 24);
	xapic_write(APIC_ICR, APIC_DM_STARTUP | SIPI_VECTOR);
	GUEST_DONE();
}

/* Until the INIT, KVM_RUN of a never-started AP ends in EAGAIN. */
static void *run_ap(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	int r, tries = 0;

	do {
		r = __vcpu_run(vcpu);
	} while (r == -1 && errno == EAGAIN && ++tries < 10);
	TEST_ASSERT_EQ(r, 0);
	return NULL;
}

static void init_sipi(void)
{
	/* Real mode at CS = 0x1000: mov $0x1234, %ax; out %ax, $0x90; hlt */
	static const uint8_t ap_code[] = { 0xb8, 0x34, 0x12, 0x66, 0x90,
					   0xe7, AP_PORT, 0xf4 };
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *bsp = vm_irq_vcpu_add(vm, 0, guest_bsp_starts_ap);
	struct kvm_vcpu *ap = vm_vcpu_add(vm, 1, NULL);
	pthread_t thread;

	/* 0x66 0x90 is a NOP keeping the OUT aligned; harmless. */
	memcpy(addr_gpa2hva(vm, (uint64_t)SIPI_VECTOR << 12), ap_code,
	       sizeof(ap_code));
	TEST_ASSERT_EQ(vcpu_get_mp_state(bsp), KVM_MP_STATE_RUNNABLE);
	TEST_ASSERT_EQ(vcpu_get_mp_state(ap), KVM_MP_STATE_UNINITIALIZED);
	/* The AP's KVM_RUN sleeps in the kernel until the SIPI. */
	TEST_ASSERT_EQ(pthread_create(&thread, NULL, run_ap, ap), 0);
	vcpu_expect_done(bsp);
	pthread_join(thread, NULL);
	TEST_ASSERT_EXIT(ap, KVM_EXIT_IO);
	TEST_ASSERT_EQ(ap->run->io.port, AP_PORT);
	TEST_ASSERT_EQ(ap->run->io.size, 2);
	TEST_ASSERT_EQ(*(uint16_t *)vcpu_io_data(ap), 0x1234);
	TEST_ASSERT_EQ(vcpu_get_mp_state(ap), KVM_MP_STATE_RUNNABLE);
	kvm_vm_free(vm);
}

/* ---- HLT ------------------------------------------------------------------ */

static void guest_hlt_wakes(void)
{
	xapic_enable();
	xapic_write(APIC_TDCR, APIC_TDCR_DIV1);
	xapic_write(APIC_LVTT, TIMER_VECTOR);
	xapic_write(APIC_TMICT, ONESHOT_NS);
	/* One HLT: the timer interrupt must end it, in the kernel. */
	sti_hlt();
	cli();
	GUEST_ASSERT_EQ(irq_count[TIMER_VECTOR], 1);
	GUEST_DONE();
}

static void hlt_blocks_in_kernel(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_hlt_wakes);

	/* No KVM_EXIT_HLT: the next exit is the guest's ucall. */
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(timer_oneshot),
		KTAP_CASE(timer_tsc_deadline),
		KTAP_CASE(self_ipi_and_tpr),
		KTAP_CASE(x2apic_mode),
		KTAP_CASE(hlt_blocks_in_kernel),
		KTAP_CASE(ipi_2_vcpus),
		KTAP_CASE(ipi_4_vcpus),
		KTAP_CASE(init_sipi),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM paravirtual interface (<asm/kvm_para.h>, <asm/pvclock-abi.h>)
 * seen from a guest and from the VMM: the CPUID signature and feature
 * leaves, kvmclock (records, monotonic on every vCPU, consistent with
 * KVM_GET_CLOCK and moved by KVM_SET_CLOCK, KVM_KVMCLOCK_CTRL), the wall
 * clock, hypercalls (unknown numbers, VMCALL rewritten into VMMCALL,
 * PV send-IPI, PV unhalt), PV EOI, the MSRs' bad values, and matched TSC
 * offsets across vCPUs.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm_para.h>

#include "irqchip.h"

#define PVCLOCK_TSC_STABLE	(1u << 0)
#define PVCLOCK_GUEST_STOPPED	(1u << 1)
#define KVM_ENOSYS_RET		(-1000L)
#define KVM_EINVAL_RET		(-22L)
#define IPI_VECTOR		0x50
#define PV_EOI_VECTOR		0x60
#define MSR_IA32_TSC		0x10

/* struct pvclock_vcpu_time_info and struct pvclock_wall_clock. */
struct pvclock_rec {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

struct pvclock_wall {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __attribute__((packed));

/* One kvmclock record per vCPU, each in its own cache line. */
#define MAX_CPUS	4
static struct pvclock_rec pvclock[MAX_CPUS] __attribute__((aligned(64)));
static struct pvclock_wall wall __attribute__((aligned(64)));

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c,
		  uint32_t *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(0));
}

static long hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		      uint64_t a3)
{
	long ret;

	asm volatile("vmmcall" : "=a"(ret)
		     : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
	return ret;
}

/* The guest's kvmclock read (the pvclock ABI's arithmetic). */
static uint64_t pvclock_read(volatile struct pvclock_rec *p, uint8_t *flags)
{
	uint32_t v;
	uint64_t ns, delta;

	do {
		v = p->version;
		asm volatile("lfence" : : : "memory");
		delta = rdtsc() - p->tsc_timestamp;
		if (p->shift < 0)
			delta >>= -p->shift;
		else
			delta <<= p->shift;
		ns = p->system_time +
		     (uint64_t)(((unsigned __int128)delta * p->mul) >> 32);
		if (flags)
			*flags = p->flags;
		asm volatile("lfence" : : : "memory");
	} while ((v & 1) || v != p->version);
	return ns;
}

static uint64_t host_get_clock(struct kvm_vm *vm, uint32_t *flags)
{
	struct kvm_clock_data d;

	memset(&d, 0, sizeof(d));
	vm_ioctl(vm, KVM_GET_CLOCK, &d);
	if (flags)
		*flags = d.flags;
	return d.clock;
}

/* ---- CPUID ----------------------------------------------------------- */

static void guest_cpuid(void)
{
	uint32_t a, b, c, d;

	cpuid(KVM_CPUID_SIGNATURE, &a, &b, &c, &d);
	GUEST_ASSERT(a >= KVM_CPUID_FEATURES);
	GUEST_ASSERT_EQ(b, 0x4b4d564b);	/* "KVMK" */
	GUEST_ASSERT_EQ(c, 0x564b4d56);	/* "VMKV" */
	GUEST_ASSERT_EQ(d, 0x4d);		/* "M\0\0\0" */
	cpuid(KVM_CPUID_FEATURES, &a, &b, &c, &d);
	GUEST_SYNC(a);
	GUEST_DONE();
}

static void cpuid_leaves(void)
{
	uint32_t need = (1u << KVM_FEATURE_CLOCKSOURCE2) |
			(1u << KVM_FEATURE_PV_EOI) |
			(1u << KVM_FEATURE_PV_UNHALT) |
			(1u << KVM_FEATURE_PV_SEND_IPI) |
			(1u << KVM_FEATURE_POLL_CONTROL);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_cpuid);
	struct ucall uc;

	vcpu_set_cpuid(vcpu, 0);
	vcpu_expect_sync(vcpu, &uc);
	ktap_print("CPUID 0x40000001 EAX = 0x%llx",
		   (unsigned long long)uc.args[0]);
	TEST_ASSERT_EQ(uc.args[0] & need, need);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- kvmclock ------------------------------------------------------------ */

static volatile uint64_t clock_max;	/* the latest time any vCPU read */
static uint64_t clock_stable;	/* every read had the stable bit */

/*
 * Each vCPU reads its own record many times: its reads never go back;
 * with PVCLOCK_TSC_STABLE_BIT, not even behind what another vCPU read
 * before (clock_max was published before our read started).
 * Returns the number of cross-vCPU inversions seen.
 */
static uint64_t clock_loop(volatile struct pvclock_rec *p, int n)
{
	uint64_t last = 0, seen, t, bad = 0;
	uint8_t flags;
	int i;

	for (i = 0; i < n; i++) {
		seen = __atomic_load_n(&clock_max, __ATOMIC_SEQ_CST);
		t = pvclock_read(p, &flags);
		GUEST_ASSERT(t >= last);
		if (!(flags & PVCLOCK_TSC_STABLE))
			clock_stable = 0;
		if (t < seen)
			bad++;
		last = t;
		while (seen < t &&
		       !__atomic_compare_exchange_n(&clock_max, &seen, t, false,
						    __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST))
			;
	}
	return bad;
}

static void guest_kvmclock(uint64_t id, uint64_t n)
{
	volatile struct pvclock_rec *p = &pvclock[id];

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)p | 1);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_SYSTEM_TIME_NEW),
			(uint64_t)(uintptr_t)p | 1);
	GUEST_ASSERT_EQ(p->version & 1, 0);
	GUEST_ASSERT(p->mul != 0);
	GUEST_SYNC(clock_loop(p, n));
	GUEST_DONE();
}

static void *run_clock_vcpu(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	return (void *)(uintptr_t)uc.args[0];
}

static void kvmclock_n(unsigned int nr)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu[MAX_CPUS];
	pthread_t t[MAX_CPUS];
	uint64_t bad = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		vcpu[i] = vm_irq_vcpu_add(vm, i, guest_kvmclock);
		vcpu_args_set(vcpu[i], 2, (uint64_t)i, (uint64_t)20000);
	}
	clock_stable = 1;
	sync_global_to_guest(vm, clock_stable);
	for (i = 0; i < nr; i++)
		TEST_ASSERT_EQ(pthread_create(&t[i], NULL, run_clock_vcpu,
					      vcpu[i]), 0);
	for (i = 0; i < nr; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += (uintptr_t)r;
	}
	sync_global_from_guest(vm, clock_stable);
	ktap_print("%u vCPUs: %llu reads behind another vCPU's, stable bit %s",
		   nr, (unsigned long long)bad, clock_stable ? "set" : "clear");
	/* PVCLOCK_TSC_STABLE_BIT promises a clock monotonic across vCPUs. */
	if (clock_stable)
		TEST_ASSERT_EQ(bad, 0);
	for (i = 0; i < nr; i++)
		vcpu_expect_done(vcpu[i]);
	kvm_vm_free(vm);
}

static void kvmclock_monotonic_2_vcpus(void)
{
	kvmclock_n(2);
}

static void kvmclock_monotonic_4_vcpus(void)
{
	kvmclock_n(4);
}

/* The guest's clock and KVM_GET_CLOCK are one clock; KVM_SET_CLOCK moves it. */
static void guest_clock_vs_host(void)
{
	volatile struct pvclock_rec *p = &pvclock[0];
	uint8_t flags;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)(uintptr_t)p | 1);
	for (;;) {
		uint64_t t = pvclock_read(p, &flags);

		GUEST_SYNC(t, flags);
	}
}

static void kvmclock_get_set_clock(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_clock_vs_host);
	uint64_t host, ahead = 1000ULL * 1000000000ULL;	/* +1000 s */
	struct kvm_clock_data d;
	long cap = kvm_check_cap(KVM_CAP_ADJUST_CLOCK);
	uint32_t flags;
	struct ucall uc;

	/* Upstream answers the flags KVM_GET/SET_CLOCK know. */
	TEST_ASSERT_EQ(cap, KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME |
			    KVM_CLOCK_HOST_TSC);
	vcpu_expect_sync(vcpu, &uc);
	host = host_get_clock(vm, &flags);
	TEST_ASSERT_EQ(flags & ~cap, 0);
	/* The host reads after the guest did, and before it reads again. */
	TEST_ASSERT_GE(host, uc.args[0]);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_GE(uc.args[0], host);

	memset(&d, 0, sizeof(d));
	d.clock = host + ahead;
	vm_ioctl(vm, KVM_SET_CLOCK, &d);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_GE(uc.args[0], host + ahead);
	TEST_ASSERT_GE(host_get_clock(vm, NULL), uc.args[0]);

	/* KVM_KVMCLOCK_CTRL: the guest learns that it was stopped. */
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_KVMCLOCK_CTRL), 1);
	vcpu_ioctl(vcpu, KVM_KVMCLOCK_CTRL, NULL);
	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT(uc.args[1] & PVCLOCK_GUEST_STOPPED, "flags 0x%llx",
		    (unsigned long long)uc.args[1]);

	d.flags = 1u << 7;
	TEST_ASSERT_ERRNO(__vm_ioctl(vm, KVM_SET_CLOCK, &d), EINVAL);
	kvm_vm_free(vm);
}

static void kvmclock_ctrl_needs_kvmclock(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_cpuid);

	TEST_ASSERT_ERRNO(__vcpu_ioctl(vcpu, KVM_KVMCLOCK_CTRL, NULL), EINVAL);
	kvm_vm_free(vm);
}

static void guest_wall_clock(void)
{
	wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint64_t)(uintptr_t)&wall);
	GUEST_ASSERT_EQ(rdmsr(MSR_KVM_WALL_CLOCK_NEW),
			(uint64_t)(uintptr_t)&wall);
	GUEST_ASSERT_EQ(wall.version & 1, 0);
	GUEST_ASSERT(wall.version != 0);
	GUEST_SYNC(wall.sec);
	GUEST_DONE();
}

static void wall_clock(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_wall_clock);
	struct timespec now;
	uint64_t boot;
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	/* The real time at kvmclock 0: now less what kvmclock reads now. */
	clock_gettime(CLOCK_REALTIME, &now);
	boot = now.tv_sec - host_get_clock(vm, NULL) / 1000000000ULL;
	ktap_print("wall clock at kvmclock 0: %llu s, expected %llu s",
		   (unsigned long long)uc.args[0], (unsigned long long)boot);
	TEST_ASSERT(uc.args[0] + 5 >= boot && uc.args[0] <= boot + 5,
		    "wall clock %llu s, expected about %llu s",
		    (unsigned long long)uc.args[0], (unsigned long long)boot);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- MSRs ---------------------------------------------------------------- */

static void pv_msrs_bad_values(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_cpuid);

	/* Steal time: 64-byte aligned, reserved bits 1-5 (KVM_STEAL_*). */
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu, MSR_KVM_STEAL_TIME, 0x10000 | 1), 1);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_KVM_STEAL_TIME), 0x10001);
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu, MSR_KVM_STEAL_TIME, 0x10000 | 2), 0);
	/* PV EOI: the flag word is 4-byte aligned. */
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu, MSR_KVM_PV_EOI_EN, 0x10004 | 1), 1);
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu, MSR_KVM_PV_EOI_EN, 0x10002 | 1), 0);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_KVM_PV_EOI_EN), 0x10005);
	/* Poll control: bit 0 (the host may halt-poll), set at creation. */
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_KVM_POLL_CONTROL), 1);
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu, MSR_KVM_POLL_CONTROL, 2), 0);
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu, MSR_KVM_POLL_CONTROL, 0), 1);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_KVM_POLL_CONTROL), 0);
	/* kvmclock takes any value and reads it back. */
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu, MSR_KVM_SYSTEM_TIME, 0x10041), 1);
	TEST_ASSERT_EQ(vcpu_get_msr(vcpu, MSR_KVM_SYSTEM_TIME), 0x10041);
	/* Upstream x86 answers KVM_CAP_STEAL_TIME like arm64: 1. */
	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_STEAL_TIME), 1);
	kvm_vm_free(vm);
}

/* ---- hypercalls --------------------------------------------------------- */

/* VMCALL with RAX = @nr (the Intel instruction: #UD on AMD). */
long guest_vmcall(uint64_t nr);
asm(".pushsection .text\n"
    ".global guest_vmcall\n"
    "guest_vmcall:\n"
    "	push %rbx\n"
    "	mov %rdi, %rax\n"
    "	xor %ebx, %ebx\n"
    "	xor %ecx, %ecx\n"
    "	xor %edx, %edx\n"
    "	xor %esi, %esi\n"
    ".global guest_vmcall_site\n"
    "guest_vmcall_site:\n"
    "	vmcall\n"
    "	pop %rbx\n"
    "	ret\n"
    ".popsection\n");
extern char guest_vmcall_site[];

#define UNKNOWN_HC	0x1234

static void guest_hypercalls(void)
{
	GUEST_ASSERT_EQ(hypercall(UNKNOWN_HC, 0, 0, 0, 0), KVM_ENOSYS_RET);
	GUEST_ASSERT_EQ(hypercall(KVM_HC_VAPIC_POLL_IRQ, 0, 0, 0, 0), 0);
	/* Twice: the first one faults and is rewritten, the second exits. */
	GUEST_ASSERT_EQ(guest_vmcall(UNKNOWN_HC), KVM_ENOSYS_RET);
	GUEST_ASSERT_EQ(guest_vmcall(UNKNOWN_HC), KVM_ENOSYS_RET);
	/* PV IPIs take physical destinations only. */
	GUEST_ASSERT_EQ(hypercall(KVM_HC_SEND_IPI, 1, 0, 0,
				  IPI_VECTOR | (1u << 18)), KVM_EINVAL_RET);
	GUEST_DONE();
}

static void hypercalls(void)
{
	static const uint8_t vmmcall[] = { 0x0f, 0x01, 0xd9 };
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_hypercalls);

	vcpu_expect_done(vcpu);
	/* Like upstream on AMD, VMCALL was patched into VMMCALL. */
	TEST_ASSERT_EQ(memcmp(addr_gva2hva(vm, guest_vmcall_site), vmmcall, 3),
		       0);
	kvm_vm_free(vm);
}

/* vCPU 0 sends PV IPIs to APIC IDs 1..nr-1, in two bitmap layouts. */
static void guest_pv_ipi(uint64_t id, uint64_t nr)
{
	uint64_t map = 0, i;

	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	irq_eoi_mode = EOI_XAPIC;
	irq_percpu_vector = IPI_VECTOR;
	if (id) {
		guest_wait_irqs(&irq_percpu[id], 2);
		GUEST_DONE();
	}
	for (i = 1; i < nr; i++)
		map |= 1ull << i;
	GUEST_ASSERT_EQ(hypercall(KVM_HC_SEND_IPI, map, 0, 0, IPI_VECTOR),
			nr - 1);
	for (i = 1; i < nr; i++)
		guest_spin_irqs(&irq_percpu[i], 1);
	/* The same IDs as bits 0.. above min = 1. */
	GUEST_ASSERT_EQ(hypercall(KVM_HC_SEND_IPI, map >> 1, 0, 1, IPI_VECTOR),
			nr - 1);
	for (i = 1; i < nr; i++)
		guest_spin_irqs(&irq_percpu[i], 2);
	GUEST_ASSERT_EQ(irq_percpu[0], 0);
	GUEST_DONE();
}

static void pv_send_ipi(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu[MAX_CPUS];
	unsigned int i;

	for (i = 0; i < MAX_CPUS; i++) {
		vcpu[i] = vm_irq_vcpu_add(vm, i, guest_pv_ipi);
		vcpu_args_set(vcpu[i], 2, (uint64_t)i, (uint64_t)MAX_CPUS);
		vcpu_apic_sw_enable(vcpu[i]);
	}
	vcpus_run_until_done(vcpu, MAX_CPUS);
	kvm_vm_free(vm);
}

/* vCPU 1 halts with interrupts off; only KVM_HC_KICK_CPU can end that. */
static volatile uint64_t about_to_halt, woke;

static void guest_pv_unhalt(uint64_t id)
{
	if (id == 1) {
		cli();
		about_to_halt = 1;
		guest_hlt();
		woke = 1;
		GUEST_DONE();
	}
	while (!about_to_halt)
		asm volatile("pause");
	/* A kick before the HLT makes the HLT return at once: fine too. */
	GUEST_ASSERT_EQ(hypercall(KVM_HC_KICK_CPU, 0, 1, 0, 0), 0);
	while (!woke)
		asm volatile("pause");
	GUEST_DONE();
}

static void pv_unhalt(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *v0 = vm_irq_vcpu_add(vm, 0, guest_pv_unhalt);
	struct kvm_vcpu *v1 = vm_irq_vcpu_add(vm, 1, guest_pv_unhalt);

	vcpu_args_set(v0, 1, 0ULL);
	vcpu_args_set(v1, 1, 1ULL);
	/* As a guest's would be: enabled APICs (upstream routes by them). */
	vcpu_apic_sw_enable(v0);
	vcpu_apic_sw_enable(v1);
	vcpus_run_until_done((struct kvm_vcpu *[]){ v0, v1 }, 2);
	kvm_vm_free(vm);
}

/* ---- PV EOI ---------------------------------------------------------------- */

#define PV_EOI_ROUNDS	20

static void guest_pv_eoi(void)
{
	int i;

	xapic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
	pv_eoi_word = 0;
	wrmsr(MSR_KVM_PV_EOI_EN, (uint64_t)(uintptr_t)&pv_eoi_word | 1);
	irq_eoi_mode = EOI_PV;
	for (i = 1; i <= PV_EOI_ROUNDS; i++) {
		xapic_write(APIC_ICR, APIC_DEST_SELF | PV_EOI_VECTOR);
		/* A lost EOI would leave the vector in ISR: no second one. */
		guest_wait_irqs(&irq_count[PV_EOI_VECTOR], i);
	}
	/* Let the host see the last flag, then nothing is in service. */
	GUEST_SYNC(0);
	GUEST_ASSERT_EQ(xapic_read(APIC_ISR + (PV_EOI_VECTOR / 32) * 0x10), 0);
	GUEST_SYNC(pv_eoi_skipped);
	GUEST_DONE();
}

static void pv_eoi(void)
{
	struct kvm_vm *vm = vm_create_irqchip();
	struct kvm_vcpu *vcpu = vm_irq_vcpu_add(vm, 0, guest_pv_eoi);
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	vcpu_expect_sync(vcpu, &uc);
	ktap_print("%llu of %d EOIs through the PV EOI flag",
		   (unsigned long long)uc.args[0], PV_EOI_ROUNDS);
	/* A self-IPI alone in service, edge: the flag should have been set. */
	TEST_ASSERT(uc.args[0] > 0, "PV EOI never offered");
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

/* ---- TSC offsets -------------------------------------------------------- */

/*
 * TSC offsets.  vCPUs made, or written by a VMM, GAP_MS apart must still
 * show one TSC.  Read from one host CPU in quick succession, every vCPU's
 * TSC is within a fraction of the gap of vCPU 0's: unmatched offsets
 * would be whole gaps apart.  Only with a stable host TSC: upstream
 * otherwise restarts each vCPU's TSC from its last value whenever the vCPU
 * is loaded, so vCPUs idle for different times disagree by design (the TCG
 * bed's host clocksource is hpet).
 */
#define GAP_MS		200
#define TOLERANCE_MS	50

static void tsc_close(struct kvm_vcpu **vcpu, unsigned int nr, uint64_t khz,
		      const char *what)
{
	uint64_t t0 = vcpu_get_msr(vcpu[0], MSR_IA32_TSC), t, d;
	unsigned int i;

	for (i = 1; i < nr; i++) {
		t = vcpu_get_msr(vcpu[i], MSR_IA32_TSC);
		d = t > t0 ? t - t0 : t0 - t;
		TEST_ASSERT(d < TOLERANCE_MS * khz,
			    "%s: vCPU %u TSC %llu, vCPU 0's %llu (%llu ms apart)",
			    what, i, (unsigned long long)t,
			    (unsigned long long)t0,
			    (unsigned long long)(d / khz));
	}
}

static void host_tsc_required(void)
{
	char cs[64] = "";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/"
			"current_clocksource", "r");

	if (f) {
		if (!fgets(cs, sizeof(cs), f))
			cs[0] = 0;
		fclose(f);
	}
	cs[strcspn(cs, "\n")] = 0;
	if (strcmp(cs, "tsc"))
		ktap_skip("host clocksource is %s, not tsc: TSC offsets are only matched with a stable host TSC",
			  cs[0] ? cs : "unknown");
}

static void tsc_offsets_matched(void)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);
	struct kvm_vcpu *vcpu[MAX_CPUS];
	uint64_t far, t, khz;
	unsigned int i;
	cpu_set_t cpus;

	host_tsc_required();
	/* One host CPU reads them all (host TSCs may differ across CPUs). */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	TEST_ASSERT_EQ(sched_setaffinity(0, sizeof(cpus), &cpus), 0);
	for (i = 0; i < MAX_CPUS; i++) {
		vcpu[i] = vm_vcpu_add(vm, i, guest_cpuid);
		usleep(GAP_MS * 1000);
	}
	khz = __vcpu_ioctl(vcpu[0], KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ");
	tsc_close(vcpu, MAX_CPUS, khz, "after creation");
	/* A VMM writing one value to each, one after the other (reset). */
	for (i = 0; i < MAX_CPUS; i++) {
		vcpu_set_msr(vcpu[i], MSR_IA32_TSC, 1000000);
		usleep(GAP_MS * 1000);
	}
	tsc_close(vcpu, MAX_CPUS, khz, "after writing 1000000 to each");
	/* A write far from the others is its own clock. */
	far = vcpu_get_msr(vcpu[0], MSR_IA32_TSC) + (1ULL << 40);
	TEST_ASSERT_EQ(__vcpu_set_msr(vcpu[MAX_CPUS - 1], MSR_IA32_TSC, far), 1);
	t = vcpu_get_msr(vcpu[MAX_CPUS - 1], MSR_IA32_TSC);
	TEST_ASSERT(t >= far && vcpu_get_msr(vcpu[0], MSR_IA32_TSC) < far,
		    "a distant TSC write was matched");
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(cpuid_leaves),
		KTAP_CASE(kvmclock_monotonic_2_vcpus),
		KTAP_CASE(kvmclock_monotonic_4_vcpus),
		KTAP_CASE(kvmclock_get_set_clock),
		KTAP_CASE(kvmclock_ctrl_needs_kvmclock),
		KTAP_CASE(wall_clock),
		KTAP_CASE(pv_msrs_bad_values),
		KTAP_CASE(hypercalls),
		KTAP_CASE(pv_send_ipi),
		KTAP_CASE(pv_unhalt),
		KTAP_CASE(pv_eoi),
		KTAP_CASE(tsc_offsets_matched),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

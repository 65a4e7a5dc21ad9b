// SPDX-License-Identifier: GPL-2.0
/*
 * MSRs and debug registers a guest writes never reach the host, and the
 * host's never reach the guest.
 *
 * MSRs: the guest writes the syscall MSRs, KERNEL_GS_BASE, FS/GS base,
 * SYSENTER_* and TSC_AUX, exits to userspace, and reads them back after
 * each exit, also after the host moved the vCPU thread to another CPU.  The
 * host checks what it can see of its own: FS/GS base (arch_prctl and
 * RDFSBASE/RDGSBASE), TSC_AUX (RDTSCP's ECX, per CPU), and that system
 * calls still work (a guest STAR/LSTAR/SFMASK/KERNEL_GS_BASE left in place
 * would crash the host's next syscall or interrupt); KVM_GET_MSRS must
 * report the guest's values.
 *
 * Debug registers: the host arms a hardware write breakpoint (perf) on one
 * of its variables; the guest arms DR0-3/DR7 on its own variables.  After
 * every exit the host's breakpoint still fires (not under QEMU TCG, whose
 * L0 crashes on that); after every entry the guest's registers read back,
 * and its breakpoint fires in the guest, not in the host.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include <cpuid.h>
#include <asm/prctl.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

#include "kvm_util.h"

#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176

#define HWCAP2_FSGSBASE		(1 << 1)
#define CPUID_RDTSCP		(1U << 27)	/* CPUID 0x8000_0001 EDX */
#define HOST_GS_BASE		0x00007f1234560000ULL
#define DB_VECTOR		1
#define DR7_FIXED_1		0x400ULL
#define DR6_B(n)		(1ULL << (n))
/* DR7: local enable n, break on data writes (01), 8 bytes (10). */
#define DR7_WRITE8(n)		((1ULL << (2 * (n))) | (1ULL << (16 + 4 * (n))) | \
				 (2ULL << (18 + 4 * (n))))
#define ROUNDS			2

struct msr_val {
	uint32_t index;
	uint64_t value;
};

/* Values no host would have; all canonical where they must be. */
static struct msr_val guest_msrs[] = {
	{ MSR_STAR, 0x0023001012345678ULL },
	{ MSR_LSTAR, 0xffffffff8abc1230ULL },
	{ MSR_CSTAR, 0xffffffff8abc4560ULL },
	{ MSR_SYSCALL_MASK, 0x47700 },
	{ MSR_KERNEL_GS_BASE, 0xffff8880deadb000ULL },
	{ MSR_FS_BASE, 0x00007f00feed0000ULL },
	{ MSR_GS_BASE, 0x00007f00beef0000ULL },
	{ MSR_SYSENTER_CS, 0x10 },
	/* 32 bits: AMD CPUs keep only those (upstream truncates too). */
	{ MSR_SYSENTER_ESP, 0x80123000 },
	{ MSR_SYSENTER_EIP, 0x81345670 },
	{ MSR_TSC_AUX, 0x5a5a5 },	/* last: only with RDTSCP */
};

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
		     "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint32_t rdtscp_aux(void)
{
	uint32_t lo, hi, aux;

	asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	(void)lo;
	(void)hi;
	return aux;
}

static void guest_msr_code(uint64_t nr)
{
	uint64_t i, round;

	for (i = 0; i < nr; i++)
		wrmsr(guest_msrs[i].index, guest_msrs[i].value);
	for (round = 0; round < ROUNDS; round++) {
		GUEST_SYNC(round);
		for (i = 0; i < nr; i++)
			GUEST_ASSERT_EQ(rdmsr(guest_msrs[i].index),
					guest_msrs[i].value);
		if (guest_msrs[nr - 1].index == MSR_TSC_AUX)
			GUEST_ASSERT_EQ(rdtscp_aux(), guest_msrs[nr - 1].value);
	}
	GUEST_DONE();
}

/* The guest's CPUID as KVM supports it: RDTSCP, FSGSBASE... */
static bool setup_cpuid(struct kvm_vcpu *vcpu)
{
	static struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} cpuid = { .c.nent = 100 };
	bool rdtscp = false;
	uint32_t i;

	kvm_ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, &cpuid);
	for (i = 0; i < cpuid.c.nent; i++)
		if (cpuid.e[i].function == 0x80000001)
			rdtscp = cpuid.e[i].edx & CPUID_RDTSCP;
	return rdtscp;
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT_OK(sched_setaffinity(0, sizeof(set), &set));
}

static uint64_t get_base(int code)
{
	unsigned long v = 0;

	TEST_ASSERT_OK(syscall(SYS_arch_prctl, code, &v));
	return v;
}

/* What the host can see of its own MSRs, on the CPU it runs on. */
struct host_view {
	uint64_t fs, gs;
	uint32_t aux;
};

static void host_look(struct host_view *h, bool fsgsbase, bool rdtscp)
{
	h->fs = get_base(ARCH_GET_FS);
	h->gs = get_base(ARCH_GET_GS);
	if (fsgsbase) {
		uint64_t fs, gs;

		asm volatile("rdfsbase %0" : "=r"(fs));
		asm volatile("rdgsbase %0" : "=r"(gs));
		TEST_ASSERT_EQ(fs, h->fs);
		TEST_ASSERT_EQ(gs, h->gs);
	}
	h->aux = rdtscp ? rdtscp_aux() : 0;
}

static void expect_guest_msrs(struct kvm_vcpu *vcpu, uint64_t nr)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(guest_msrs)];
	} m;
	uint64_t i;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = nr;
	for (i = 0; i < nr; i++)
		m.e[i].index = guest_msrs[i].index;
	TEST_ASSERT_EQ(vcpu_ioctl(vcpu, KVM_GET_MSRS, &m), nr);
	for (i = 0; i < nr; i++)
		if (m.e[i].data != guest_msrs[i].value)
			TEST_FAIL("KVM_GET_MSRS: MSR 0x%x is 0x%llx, the guest wrote 0x%llx",
				  guest_msrs[i].index,
				  (unsigned long long)m.e[i].data,
				  (unsigned long long)guest_msrs[i].value);
}

/*
 * A VMM's 64-bit SYSENTER_EIP: an AMD guest keeps the low 32 bits (no
 * 64-bit SYSENTER on AMD), an Intel one a canonical value; never an error.
 */
static void sysenter_width(struct kvm_vcpu *vcpu)
{
	const uint64_t v = 0xfedcba9881345670ULL;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = MSR_SYSENTER_EIP, .e.data = v };
	uint32_t a, sig[3];
	bool intel;

	__cpuid(0, a, sig[0], sig[1], sig[2]);
	(void)a;
	intel = !memcmp(sig, "GenuntelineI", sizeof(sig));
	TEST_ASSERT_EQ(vcpu_ioctl(vcpu, KVM_SET_MSRS, &m), 1);
	m.e.data = 0;
	TEST_ASSERT_EQ(vcpu_ioctl(vcpu, KVM_GET_MSRS, &m), 1);
	TEST_ASSERT_EQ(m.e.data, intel ? 0xffffba9881345670ULL : (uint32_t)v);
}

static void msrs(void)
{
	bool fsgsbase = getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE;
	uint32_t a, b, c, d;
	struct host_view before[ROUNDS], after;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_msr_code);
	bool guest_rdtscp = setup_cpuid(vcpu);
	bool host_rdtscp;
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t nr = ARRAY_SIZE(guest_msrs) - !guest_rdtscp;
	struct ucall uc;
	int round;

	__cpuid(0x80000001, a, b, c, d);
	host_rdtscp = d & CPUID_RDTSCP;
	ktap_print("host: FS/GS base%s%s; guest TSC_AUX %s; %ld CPUs",
		   fsgsbase ? " (also RDFSBASE/RDGSBASE)" : "",
		   host_rdtscp ? ", TSC_AUX" : "",
		   guest_rdtscp ? "written" : "not offered", ncpus);
	TEST_ASSERT_OK(syscall(SYS_arch_prctl, ARCH_SET_GS, HOST_GS_BASE));
	for (round = 0; round < ROUNDS; round++) {
		pin_to(round % ncpus);
		host_look(&before[round], fsgsbase, host_rdtscp);
	}
	vcpu_args_set(vcpu, 1, nr);

	for (round = 0; round < ROUNDS; round++) {
		/* Round 1 runs on another CPU than round 0 where there is one. */
		pin_to(round % ncpus);
		vcpu_expect_sync(vcpu, &uc);
		TEST_ASSERT_EQ(uc.args[0], round);
		TEST_ASSERT_EQ(getpid(), syscall(SYS_getpid));
		host_look(&after, fsgsbase, host_rdtscp);
		TEST_ASSERT_EQ(after.fs, before[round].fs);
		TEST_ASSERT_EQ(after.gs, HOST_GS_BASE);
		TEST_ASSERT_EQ(after.aux, before[round].aux);
		expect_guest_msrs(vcpu, nr);
	}
	vcpu_expect_done(vcpu);
	sysenter_width(vcpu);
	TEST_ASSERT_OK(syscall(SYS_arch_prctl, ARCH_SET_GS, 0));
	kvm_vm_free(vm);
}

/* ---- debug registers -------------------------------------------------- */

static volatile uint64_t guest_targets[4];
static volatile uint64_t host_watched;

static void guest_dr_code(void)
{
	uint64_t dr[4], dr7 = 0;
	int i;

	asm volatile("mov %0, %%dr0" : : "r"(&guest_targets[0]));
	asm volatile("mov %0, %%dr1" : : "r"(&guest_targets[1]));
	asm volatile("mov %0, %%dr2" : : "r"(&guest_targets[2]));
	asm volatile("mov %0, %%dr3" : : "r"(&guest_targets[3]));
	for (i = 0; i < 4; i++)
		dr7 |= DR7_WRITE8(i);
	asm volatile("mov %0, %%dr7" : : "r"(dr7));
	for (i = 0; i < ROUNDS; i++) {
		GUEST_SYNC(i);
		asm volatile("mov %%dr0, %0" : "=r"(dr[0]));
		asm volatile("mov %%dr1, %0" : "=r"(dr[1]));
		asm volatile("mov %%dr2, %0" : "=r"(dr[2]));
		asm volatile("mov %%dr3, %0" : "=r"(dr[3]));
		asm volatile("mov %%dr7, %0" : "=r"(dr7));
		GUEST_SYNC(dr[0], dr[1], dr[2], dr[3], dr7);
	}
	/* Armed all along: this write traps in the guest. */
	guest_targets[2] = 1;
	GUEST_DONE();
}

static bool host_is_qemu_tcg(void)
{
	uint32_t a, sig[3];

	__cpuid(0x40000000, a, sig[0], sig[1], sig[2]);
	(void)a;
	return !memcmp(sig, "TCGTCGTCGTCG", sizeof(sig));
}

static int host_breakpoint(volatile uint64_t *addr)
{
	struct perf_event_attr pe = {
		.type = PERF_TYPE_BREAKPOINT,
		.size = sizeof(pe),
		.bp_type = HW_BREAKPOINT_W,
		.bp_addr = (uint64_t)(uintptr_t)addr,
		.bp_len = HW_BREAKPOINT_LEN_8,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};

	return syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
}

static uint64_t host_hits(int fd)
{
	uint64_t n;

	TEST_ASSERT_EQ(read(fd, &n, sizeof(n)), sizeof(n));
	return n;
}

static void debug_registers(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_dr_code);
	uint64_t dr7 = DR7_FIXED_1, hits = 0;
	struct kvm_debugregs dregs;
	struct ucall uc;
	int bp, i, round;

	if (host_is_qemu_tcg()) {
		/* QEMU 7.2's TCG (the bed's L0) segfaults on an L1 watchpoint
		 * around nested guest entries, on upstream KVM as on ukvm. */
		ktap_print("QEMU TCG: no host breakpoint, host side not checked");
		bp = -1;
	} else {
		bp = host_breakpoint(&host_watched);
		if (bp < 0)
			ktap_print("perf breakpoints unavailable (%s): host side not checked",
				   ktap_errno_name(errno));
	}
	for (i = 0; i < 4; i++)
		dr7 |= DR7_WRITE8(i);
	if (bp >= 0) {
		host_watched++;
		TEST_ASSERT_EQ(host_hits(bp), ++hits);
	}

	for (round = 0; round < ROUNDS; round++) {
		vcpu_expect_sync(vcpu, &uc);
		TEST_ASSERT_EQ(uc.args[0], round);
		/* The guest armed its DRs and left: ours are back. */
		if (bp >= 0) {
			host_watched++;
			TEST_ASSERT_EQ(host_hits(bp), ++hits);
		}
		vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, &dregs);
		for (i = 0; i < 4; i++)
			TEST_ASSERT_EQ(dregs.db[i],
				       (uint64_t)(uintptr_t)&guest_targets[i]);
		TEST_ASSERT_EQ(dregs.dr7, dr7);

		/* And the guest's are back after the entry. */
		vcpu_expect_sync(vcpu, &uc);
		for (i = 0; i < 4; i++)
			TEST_ASSERT_EQ(uc.args[i],
				       (uint64_t)(uintptr_t)&guest_targets[i]);
		TEST_ASSERT_EQ(uc.args[4], dr7);
		if (bp >= 0) {
			host_watched++;
			TEST_ASSERT_EQ(host_hits(bp), ++hits);
		}
	}
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_EXCEPTION);
	TEST_ASSERT_EQ(uc.args[0], DB_VECTOR);
	vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, &dregs);
	TEST_ASSERT_EQ(dregs.dr6 & 0xf, DR6_B(2));
	if (bp >= 0) {
		/* The guest's hit was not ours. */
		host_watched++;
		TEST_ASSERT_EQ(host_hits(bp), ++hits);
		close(bp);
	}
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(msrs),
		KTAP_CASE(debug_registers),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

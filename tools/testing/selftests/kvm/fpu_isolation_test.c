// SPDX-License-Identifier: GPL-2.0
/*
 * Host and guest SSE/AVX state never leak into each other.  The host loads
 * its own pattern into XMM0-15 (YMM0-15 with AVX) and MXCSR right before
 * the KVM_RUN syscall and stores them right after it, all in one asm block;
 * the guest does the same around an OUT that exits to userspace.  After
 * every exit, the host's registers must hold the host's pattern, and once
 * the guest resumes, its registers must hold the guest's; KVM_GET_FPU and
 * KVM_GET_XSAVE must show the guest's, and a guest without AVX must not
 * have the host's YMM upper halves in its state.  A run interrupted by a signal
 * (EINTR) is checked the same way.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <cpuid.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "kvm_util.h"

#define PORT_REGS	0x600
#define NR_VREGS	16
#define VREG_BYTES	32	/* YMM; XMM is the low half */
#define X86_CR4_OSXSAVE	(1ULL << 18)
#define XCR0_X87_SSE_AVX	0x7
#define MXCSR_DEFAULT	0x1f80
#define MXCSR_RC(rc)	(MXCSR_DEFAULT | ((rc) << 13))	/* rounding control */
/* XSAVE standard format (SDM vol 1, 13.4): YMM_Hi128 at byte 576. */
#define XSAVE_YMM_HI_OFFSET	576
#define XSAVE_HDR_OFFSET	512
#define XSAVE_MXCSR_OFFSET	24
#define XSAVE_XMM_OFFSET	160
#define XFEATURE_YMM		(1ULL << 2)
#define EINTR_ROUNDS		3

struct vstate {
	uint8_t v[NR_VREGS][VREG_BYTES];
	uint32_t mxcsr;
} __attribute__((aligned(32)));

/* Guest patterns in, guest registers out; go_flag ends the guest's spin. */
static struct vstate guest_in[2], guest_out[2];
static volatile uint8_t go_flag;
/* The guest side includes YMM (AVX usable in a guest here). */
static bool guest_avx;

#define LD(i) "vmovdqu " #i "*32(%[in]), %%ymm" #i "\n\t"
#define ST(i) "vmovdqu %%ymm" #i ", " #i "*32(%[out])\n\t"
#define LDX(i) "movdqu " #i "*32(%[in]), %%xmm" #i "\n\t"
#define STX(i) "movdqu %%xmm" #i ", " #i "*32(%[out])\n\t"
#define ALL16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) \
		 M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define VCLOBBERS "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", \
		  "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", \
		  "xmm14", "xmm15"

/*
 * Guest: load @in, exit to userspace with OUT (after spinning until
 * go_flag if @spin), and once resumed store the registers into @out.
 */
static void guest_cycle(const struct vstate *in, struct vstate *out,
			bool avx, bool spin)
{
	const volatile uint8_t *flag = spin ? &go_flag : NULL;

	if (avx)
		asm volatile("ldmxcsr %c[mx](%[in])\n\t" ALL16(LD)
			     "test %[flag], %[flag]\n\t"
			     "jz 2f\n\t"
			     "1: pause\n\t"
			     "cmpb $0, (%[flag])\n\t"
			     "je 1b\n\t"
			     "2: outb %%al, %w[port]\n\t"
			     ALL16(ST) "stmxcsr %c[mx](%[out])\n\t"
			     : : [in] "r"(in), [out] "r"(out), [flag] "r"(flag),
			       [port] "Nd"((uint16_t)PORT_REGS), "a"(0),
			       [mx] "i"(offsetof(struct vstate, mxcsr))
			     : "memory", VCLOBBERS);
	else
		asm volatile("ldmxcsr %c[mx](%[in])\n\t" ALL16(LDX)
			     "test %[flag], %[flag]\n\t"
			     "jz 2f\n\t"
			     "1: pause\n\t"
			     "cmpb $0, (%[flag])\n\t"
			     "je 1b\n\t"
			     "2: outb %%al, %w[port]\n\t"
			     ALL16(STX) "stmxcsr %c[mx](%[out])\n\t"
			     : : [in] "r"(in), [out] "r"(out), [flag] "r"(flag),
			       [port] "Nd"((uint16_t)PORT_REGS), "a"(0),
			       [mx] "i"(offsetof(struct vstate, mxcsr))
			     : "memory", VCLOBBERS);
}

static void guest_enable_avx(void)
{
	asm volatile("mov %0, %%cr4" : : "r"(get_cr4() | X86_CR4_OSXSAVE));
	asm volatile("xsetbv" : : "c"(0), "a"(XCR0_X87_SSE_AVX), "d"(0));
}

static void guest_code(uint64_t avx)
{
	if (avx)
		guest_enable_avx();
	guest_cycle(&guest_in[0], &guest_out[0], avx, false);
	GUEST_SYNC(1);
	guest_cycle(&guest_in[1], &guest_out[1], avx, true);
	GUEST_SYNC(2);
	GUEST_DONE();
}

/* Host: KVM_RUN with @in loaded, registers stored into @out right after. */
static long run_loaded(struct kvm_vcpu *vcpu, const struct vstate *in,
		       struct vstate *out, bool avx)
{
	const uint32_t mxcsr_default = MXCSR_DEFAULT;
	long ret = SYS_ioctl;

	if (avx)
		asm volatile("ldmxcsr %c[mx](%[in])\n\t" ALL16(LD)
			     "syscall\n\t"
			     ALL16(ST) "stmxcsr %c[mx](%[out])\n\t"
			     "vzeroupper\n\t"
			     : "+a"(ret)
			     : "D"((long)vcpu->fd), "S"((long)KVM_RUN), "d"(0L),
			       [in] "r"(in), [out] "r"(out),
			       [mx] "i"(offsetof(struct vstate, mxcsr))
			     : "rcx", "r11", "memory", VCLOBBERS);
	else
		asm volatile("ldmxcsr %c[mx](%[in])\n\t" ALL16(LDX)
			     "syscall\n\t"
			     ALL16(STX) "stmxcsr %c[mx](%[out])\n\t"
			     : "+a"(ret)
			     : "D"((long)vcpu->fd), "S"((long)KVM_RUN), "d"(0L),
			       [in] "r"(in), [out] "r"(out),
			       [mx] "i"(offsetof(struct vstate, mxcsr))
			     : "rcx", "r11", "memory", VCLOBBERS);
	asm volatile("ldmxcsr %0" : : "m"(mxcsr_default));
	return ret;
}

static void fill(struct vstate *s, uint8_t seed, uint32_t mxcsr)
{
	int i, j;

	for (i = 0; i < NR_VREGS; i++)
		for (j = 0; j < VREG_BYTES; j++)
			s->v[i][j] = seed + i * 7 + j * 13;
	s->mxcsr = mxcsr;
}

/* Compare the registers that were in play: XMM, plus YMM's upper halves. */
static void expect_same(const char *who, const struct vstate *want,
			const struct vstate *got, bool avx)
{
	int bytes = avx ? VREG_BYTES : 16;
	int i, j;

	for (i = 0; i < NR_VREGS; i++)
		for (j = 0; j < bytes; j++)
			if (want->v[i][j] != got->v[i][j])
				TEST_FAIL("%s: %cMM%d byte %d is 0x%02x, want 0x%02x",
					  who, j < 16 ? 'X' : 'Y', i, j,
					  got->v[i][j], want->v[i][j]);
	TEST_ASSERT(want->mxcsr == got->mxcsr, "%s: MXCSR 0x%x, want 0x%x",
		    who, got->mxcsr, want->mxcsr);
}

/* What KVM holds as the guest's state must be the guest's registers. */
static void expect_guest_state(struct kvm_vcpu *vcpu, const struct vstate *g,
			       bool avx)
{
	static struct kvm_xsave xs;
	const uint8_t *area = (const uint8_t *)xs.region;
	struct kvm_fpu fpu;
	struct vstate got;
	int i;

	/* KVM_GET_FPU has the XMM registers (upstream leaves its mxcsr 0). */
	memset(&got, 0, sizeof(got));
	vcpu_ioctl(vcpu, KVM_GET_FPU, &fpu);
	for (i = 0; i < NR_VREGS; i++)
		memcpy(got.v[i], fpu.xmm[i], 16);
	got.mxcsr = g->mxcsr;
	expect_same("KVM_GET_FPU", g, &got, false);

	vcpu_ioctl(vcpu, KVM_GET_XSAVE, &xs);
	memset(&got, 0, sizeof(got));
	for (i = 0; i < NR_VREGS; i++)
		memcpy(got.v[i], area + XSAVE_XMM_OFFSET + 16 * i, 16);
	memcpy(&got.mxcsr, area + XSAVE_MXCSR_OFFSET, sizeof(got.mxcsr));
	if (avx) {
		uint64_t xstate_bv;

		memcpy(&xstate_bv, area + XSAVE_HDR_OFFSET, sizeof(xstate_bv));
		TEST_ASSERT(xstate_bv & XFEATURE_YMM, "XSTATE_BV 0x%llx",
			    (unsigned long long)xstate_bv);
		for (i = 0; i < NR_VREGS; i++)
			memcpy(got.v[i] + 16, area + XSAVE_YMM_HI_OFFSET + 16 * i,
			       16);
	}
	expect_same("KVM_GET_XSAVE", g, &got, avx);
}

static void expect_regs_exit(struct kvm_vcpu *vcpu)
{
	struct ucall uc;
	char buf[256];

	TEST_ASSERT_EXIT(vcpu, KVM_EXIT_IO);
	if (get_ucall(vcpu, &uc) != UCALL_NONE)
		TEST_FAIL("expected the guest's OUT to 0x%x, got %s", PORT_REGS,
			  ucall_str(&uc, buf, sizeof(buf)));
	TEST_ASSERT_EQ(vcpu->run->io.port, PORT_REGS);
}

static void expect_sync(struct kvm_vcpu *vcpu, uint64_t n)
{
	struct ucall uc;
	char buf[256];

	if (get_ucall(vcpu, &uc) != UCALL_SYNC)
		TEST_FAIL("expected GUEST_SYNC(%llu), got %s",
			  (unsigned long long)n, ucall_str(&uc, buf, sizeof(buf)));
	TEST_ASSERT_EQ(uc.args[0], n);
}

/* Give the guest every feature KVM supports (XSAVE and AVX among them). */
static bool setup_cpuid(struct kvm_vcpu *vcpu)
{
	static struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} cpuid = { .c.nent = 100 };
	bool xsave = false, avx = false;
	uint32_t a, b, c, d;
	uint32_t i;

	kvm_ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid);
	vcpu_ioctl(vcpu, KVM_SET_CPUID2, &cpuid);
	for (i = 0; i < cpuid.c.nent; i++) {
		if (cpuid.e[i].function == 1) {
			xsave = cpuid.e[i].ecx & bit_XSAVE;
			avx = cpuid.e[i].ecx & bit_AVX;
		}
	}
	(void)a; (void)b; (void)c; (void)d;
	return xsave && avx;
}

/* Our own AVX state, enabled by our OS. */
static bool host_has_avx(void)
{
	uint32_t a, b, c, d;

	__cpuid(1, a, b, c, d);
	if (!(c & bit_AVX) || !(c & bit_OSXSAVE))
		return false;
	asm volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
	return (a & XCR0_X87_SSE_AVX) == XCR0_X87_SSE_AVX;
}

/*
 * QEMU's TCG (the test bed's L0) does not reliably let a nested guest run
 * VEX instructions after it enabled AVX: they raise #UD now and then, on
 * upstream KVM as on ukvm.  There the guest side is checked with SSE only.
 */
static bool host_is_qemu_tcg(void)
{
	uint32_t a, sig[3];

	__cpuid(0x40000000, a, sig[0], sig[1], sig[2]);
	(void)a;
	return !memcmp(sig, "TCGTCGTCGTCG", sizeof(sig));
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void set_timer(long usec)
{
	struct itimerval it = {
		.it_interval.tv_usec = usec, .it_value.tv_usec = usec,
	};

	TEST_ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
}

/* Run once with @host loaded; the host's registers must survive. */
static long run_check_host(struct kvm_vcpu *vcpu, uint8_t seed, uint32_t mxcsr,
			   bool hx, const char *when)
{
	struct vstate host, host_out;
	long r;

	fill(&host, seed, mxcsr);
	r = run_loaded(vcpu, &host, &host_out, hx);
	expect_same(when, &host, &host_out, hx);
	if (!hx)
		return r;
	/* A guest without AVX must not see our upper halves either. */
	if (!guest_avx) {
		static struct kvm_xsave xs;
		const uint8_t *hi = (const uint8_t *)xs.region +
				    XSAVE_YMM_HI_OFFSET;
		int i;

		vcpu_ioctl(vcpu, KVM_GET_XSAVE, &xs);
		for (i = 0; i < NR_VREGS; i++)
			TEST_ASSERT(memcmp(hi + 16 * i, host.v[i] + 16, 16),
				    "%s: the guest's YMM%d upper half is the host's",
				    when, i);
	}
	return r;
}

static void vector_registers(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	bool hx = host_has_avx();
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint8_t seed = 0x10;
	long r;
	int i;

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	guest_avx = setup_cpuid(vcpu) && hx;
	if (guest_avx && host_is_qemu_tcg()) {
		ktap_print("QEMU TCG: nested AVX unreliable, guest side SSE only");
		guest_avx = false;
	}
	ktap_print("host: XMM%s and MXCSR; guest: XMM%s and MXCSR",
		   hx ? ", YMM upper halves" : "",
		   guest_avx ? ", YMM upper halves" : "");
	fill(&guest_in[0], 0x40, MXCSR_RC(1));
	fill(&guest_in[1], 0x80, MXCSR_RC(2));
	sync_global_to_guest(vm, guest_in);
	vcpu_args_set(vcpu, 1, guest_avx);

	/* The guest loaded its pattern and exited to us. */
	r = run_check_host(vcpu, seed++, MXCSR_RC(3), hx,
			   "host after an exit to userspace");
	TEST_ASSERT_EQ(r, 0);
	expect_regs_exit(vcpu);
	expect_guest_state(vcpu, &guest_in[0], guest_avx);

	/* Back in, the guest stores what it has: its own pattern. */
	r = run_check_host(vcpu, seed++, MXCSR_RC(3), hx,
			   "host after the second exit");
	TEST_ASSERT_EQ(r, 0);
	expect_sync(vcpu, 1);
	sync_global_from_guest(vm, guest_out);
	expect_same("guest after an exit to userspace", &guest_in[0],
		    &guest_out[0], guest_avx);

	/* Signals interrupt the guest's spin with EINTR. */
	TEST_ASSERT_OK(sigaction(SIGALRM, &sa, NULL));
	set_timer(10000);
	for (i = 0; i < EINTR_ROUNDS; i++) {
		r = run_check_host(vcpu, seed++, MXCSR_RC(3), hx,
				   "host after EINTR");
		TEST_ASSERT_EQ(r, -EINTR);
		TEST_ASSERT_EXIT(vcpu, KVM_EXIT_INTR);
		expect_guest_state(vcpu, &guest_in[1], guest_avx);
	}
	set_timer(0);
	*(volatile uint8_t *)addr_gva2hva(vm, &go_flag) = 1;

	r = run_check_host(vcpu, seed++, MXCSR_RC(0), hx,
			   "host after the exit that ends the spin");
	TEST_ASSERT_EQ(r, 0);
	expect_regs_exit(vcpu);
	expect_guest_state(vcpu, &guest_in[1], guest_avx);

	r = run_check_host(vcpu, seed++, MXCSR_RC(3), hx,
			   "host after the last exit");
	TEST_ASSERT_EQ(r, 0);
	expect_sync(vcpu, 2);
	sync_global_from_guest(vm, guest_out);
	expect_same("guest after signals and exits", &guest_in[1],
		    &guest_out[1], guest_avx);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(vector_registers),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input at every ioctl: boundary cases with the errno upstream KVM
 * gives for them (where upstream is deterministic), then random and
 * boundary arguments (NULL, small and kernel pointers, unmapped and
 * read-only buffers, buffers ending at an unmapped page, counts of 0, 1,
 * 255, 256, 2^31-1 and 2^32-1, random bytes, random ioctl numbers) thrown
 * at every ioctl of /dev/kvm, a VM fd and a vCPU fd.  The random part
 * asserts only that every call returns (the bed's kernel-log check turns
 * an Oops or WARNING into a failure) and that VMs still run afterwards.
 *
 * Deterministic: the seed is printed, and KVM_FUZZ_SEED=N replays it;
 * KVM_FUZZ_ITERATIONS=N changes the bounded number of calls per fd;
 * KVM_FUZZ_TRACE=1 prints every call and its result, so that two backends'
 * runs of one seed can be compared line by line.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kvm_util.h"

#define DEFAULT_SEED		20261127
#define DEFAULT_ITERATIONS	3000
#define BUF_SIZE		(3 * 4096)
#define MAX_CREATE_VM		16	/* each is slow under TCG */
/* Upstream's nested state ioctls are left out: ukvm has no nested SVM and
 * upstream's checks of random nested state are not ours to fuzz. */
#define NR_GET_NESTED_STATE	0xbe
#define NR_SET_NESTED_STATE	0xbf
#define NR_RUN			0x80

enum fd_kind { DEV, VM, VCPU, NR_KINDS };
static const char *const kind_name[] = { "/dev/kvm", "VM", "vCPU" };

struct fuzz_ioctl {
	const char *name;
	unsigned long cmd;
	bool creates_fd;	/* returns a new fd: close it */
};

#define IOC(x) { #x, x, false }
#define IOC_FD(x) { #x, x, true }

static const struct fuzz_ioctl dev_ioctls[] = {
	IOC(KVM_GET_API_VERSION), IOC_FD(KVM_CREATE_VM),
	IOC(KVM_GET_MSR_INDEX_LIST), IOC(KVM_GET_MSR_FEATURE_INDEX_LIST),
	IOC(KVM_CHECK_EXTENSION), IOC(KVM_GET_VCPU_MMAP_SIZE),
	IOC(KVM_GET_SUPPORTED_CPUID), IOC(KVM_GET_EMULATED_CPUID),
	IOC(KVM_GET_MSRS), IOC(KVM_X86_GET_MCE_CAP_SUPPORTED),
	IOC(KVM_GET_DEVICE_ATTR), IOC(KVM_HAS_DEVICE_ATTR),
};

static const struct fuzz_ioctl vm_ioctls[] = {
	IOC_FD(KVM_CREATE_VCPU), IOC(KVM_SET_USER_MEMORY_REGION),
	IOC(KVM_GET_DIRTY_LOG), IOC(KVM_CLEAR_DIRTY_LOG),
	IOC(KVM_SET_TSS_ADDR), IOC(KVM_SET_IDENTITY_MAP_ADDR),
	IOC(KVM_CREATE_IRQCHIP), IOC(KVM_IRQ_LINE), IOC(KVM_IRQ_LINE_STATUS),
	IOC(KVM_GET_IRQCHIP), IOC(KVM_SET_IRQCHIP), IOC(KVM_CREATE_PIT2),
	IOC(KVM_GET_PIT2), IOC(KVM_SET_PIT2), IOC(KVM_SET_GSI_ROUTING),
	IOC(KVM_IRQFD), IOC(KVM_IOEVENTFD), IOC(KVM_SIGNAL_MSI),
	IOC(KVM_ENABLE_CAP), IOC(KVM_CHECK_EXTENSION), IOC(KVM_SET_BOOT_CPU_ID),
	IOC(KVM_X86_SET_MSR_FILTER), IOC(KVM_SET_NR_MMU_PAGES),
	IOC(KVM_GET_NR_MMU_PAGES), IOC(KVM_REINJECT_CONTROL),
	IOC(KVM_GET_CLOCK), IOC(KVM_SET_CLOCK),
	IOC(KVM_REGISTER_COALESCED_MMIO), IOC(KVM_UNREGISTER_COALESCED_MMIO),
	IOC(KVM_CREATE_DEVICE), IOC_FD(KVM_GET_STATS_FD),
	IOC(KVM_RESET_DIRTY_RINGS), IOC(KVM_SET_DEVICE_ATTR),
	IOC(KVM_GET_DEVICE_ATTR), IOC(KVM_HAS_DEVICE_ATTR),
};

static const struct fuzz_ioctl vcpu_ioctls[] = {
	IOC(KVM_RUN),	/* always with immediate_exit set */
	IOC(KVM_GET_REGS), IOC(KVM_SET_REGS), IOC(KVM_GET_SREGS),
	IOC(KVM_SET_SREGS), IOC(KVM_GET_SREGS2), IOC(KVM_SET_SREGS2),
	IOC(KVM_GET_FPU), IOC(KVM_SET_FPU), IOC(KVM_GET_XSAVE),
	IOC(KVM_SET_XSAVE), IOC(KVM_GET_XSAVE2), IOC(KVM_GET_XCRS),
	IOC(KVM_SET_XCRS), IOC(KVM_GET_MSRS), IOC(KVM_SET_MSRS),
	IOC(KVM_SET_CPUID), IOC(KVM_SET_CPUID2), IOC(KVM_GET_CPUID2),
	IOC(KVM_GET_VCPU_EVENTS), IOC(KVM_SET_VCPU_EVENTS),
	IOC(KVM_GET_DEBUGREGS), IOC(KVM_SET_DEBUGREGS),
	IOC(KVM_GET_MP_STATE), IOC(KVM_SET_MP_STATE), IOC(KVM_GET_LAPIC),
	IOC(KVM_SET_LAPIC), IOC(KVM_INTERRUPT), IOC(KVM_NMI),
	IOC(KVM_SET_GUEST_DEBUG), IOC(KVM_TRANSLATE), IOC(KVM_GET_TSC_KHZ),
	IOC(KVM_SET_TSC_KHZ), IOC(KVM_SET_SIGNAL_MASK),
	IOC(KVM_X86_SETUP_MCE), IOC(KVM_X86_SET_MCE), IOC(KVM_KVMCLOCK_CTRL),
	IOC(KVM_ENABLE_CAP), IOC(KVM_TPR_ACCESS_REPORTING),
	IOC(KVM_SET_VAPIC_ADDR), IOC_FD(KVM_GET_STATS_FD), IOC(KVM_SMI),
	IOC(KVM_SET_DEVICE_ATTR), IOC(KVM_GET_DEVICE_ATTR),
	IOC(KVM_HAS_DEVICE_ATTR),
};

static const struct {
	const struct fuzz_ioctl *list;
	size_t n;
} tables[NR_KINDS] = {
	[DEV] = { dev_ioctls, ARRAY_SIZE(dev_ioctls) },
	[VM] = { vm_ioctls, ARRAY_SIZE(vm_ioctls) },
	[VCPU] = { vcpu_ioctls, ARRAY_SIZE(vcpu_ioctls) },
};

/* xorshift64*: small, deterministic, good enough for argument soup. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

/* Buffers: a writable one, a read-only one, one ending at a hole. */
static uint8_t *rw_buf, *ro_buf, *edge_end, *hole;

static void map_buffers(void)
{
	uint8_t *p = mmap(NULL, 4 * BUF_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	rw_buf = p;
	ro_buf = p + BUF_SIZE;
	hole = p + 3 * BUF_SIZE;
	edge_end = hole;	/* [p + 2 * BUF_SIZE, hole) is writable */
	TEST_ASSERT_OK(mprotect(ro_buf, BUF_SIZE, PROT_READ));
	TEST_ASSERT_OK(munmap(hole, BUF_SIZE));
}

static const uint32_t boundary_counts[] = {
	0, 1, 2, 255, 256, 257, 4096, 0x7fffffff, 0x80000000, 0xffffffff,
};

static void fill_random(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = rnd();
}

static int last_arg_kind;	/* which case of make_arg(), for the trace */
static bool trace;

/* One argument: a value or a pointer, good or bad. */
static unsigned long make_arg(void)
{
	uint32_t count;

	last_arg_kind = rnd() % 12;
	switch (last_arg_kind) {
	case 0:
		return 0;
	case 1:
		return 1 + rnd() % 4095;
	case 2:
		return (unsigned long)hole + rnd() % BUF_SIZE;
	case 3:
		return 0xffffffff81000000UL + (rnd() % 4096);
	case 4:
		fill_random(rw_buf, BUF_SIZE);
		return (unsigned long)rw_buf;
	case 5:
		memset(rw_buf, 0, BUF_SIZE);
		return (unsigned long)rw_buf;
	case 6:
		memset(rw_buf, 0xff, BUF_SIZE);
		return (unsigned long)rw_buf;
	case 7:
		/* A count first (nent, nmsrs, nr...), the rest random. */
		fill_random(rw_buf, BUF_SIZE);
		count = boundary_counts[rnd() % ARRAY_SIZE(boundary_counts)];
		memcpy(rw_buf, &count, sizeof(count));
		return (unsigned long)rw_buf;
	case 8:
		/* A structure that runs into the unmapped page. */
		fill_random(edge_end - 4096, 4096);
		count = boundary_counts[rnd() % ARRAY_SIZE(boundary_counts)];
		memcpy(edge_end - 8 * (1 + rnd() % 64), &count, sizeof(count));
		return (unsigned long)(edge_end - 8 * (1 + rnd() % 64));
	case 9:
		return (unsigned long)ro_buf;
	case 10:
		return rnd() % 1024;
	default:
		return (unsigned long)rnd();
	}
}

static bool is_known(unsigned long cmd)
{
	size_t k, i;

	for (k = 0; k < NR_KINDS; k++)
		for (i = 0; i < tables[k].n; i++)
			if (tables[k].list[i].cmd == cmd)
				return true;
	return false;
}

static unsigned int nr_create_vm;

/* One call: a listed ioctl with a random argument, or a random number. */
static void fuzz_one(int fd, enum fd_kind kind, struct kvm_run *run)
{
	const struct fuzz_ioctl *io = NULL;
	unsigned long cmd, arg = make_arg();
	long r;

	if (rnd() % 8) {
		io = &tables[kind].list[rnd() % tables[kind].n];
		cmd = io->cmd;
	} else {
		unsigned int nr = rnd() % 256;

		cmd = _IOC(rnd() % 4, KVMIO, nr, rnd() % 0x4000);
		if (nr == NR_RUN || nr == NR_GET_NESTED_STATE ||
		    nr == NR_SET_NESTED_STATE || is_known(cmd))
			return;
	}
	if (cmd == KVM_CREATE_VM && nr_create_vm++ >= MAX_CREATE_VM)
		return;
	if (cmd == KVM_RUN)
		run->immediate_exit = 1;
	r = ioctl(fd, cmd, arg);
	if (trace)
		ktap_print("%s 0x%lx %s arg%d -> %ld %s", kind_name[kind], cmd,
			   io ? io->name : "-", last_arg_kind, r,
			   r < 0 ? ktap_errno_name(errno) : "");
	if (r >= 0 && io && io->creates_fd)
		close(r);
}

static void fuzz_fd(int fd, enum fd_kind kind, struct kvm_run *run,
		    uint64_t iterations)
{
	uint64_t i;

	for (i = 0; i < iterations; i++)
		fuzz_one(fd, kind, run);
}

static void guest_code(void)
{
	GUEST_SYNC(42);
	GUEST_DONE();
}

/* A fresh VM still runs guest code, start to end. */
static void expect_vm_runs(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	struct ucall uc;

	vcpu_expect_sync(vcpu, &uc);
	TEST_ASSERT_EQ(uc.args[0], 42);
	vcpu_expect_done(vcpu);
	kvm_vm_free(vm);
}

static void random_arguments(void)
{
	uint64_t seed = env_u64("KVM_FUZZ_SEED", DEFAULT_SEED);
	uint64_t iterations = env_u64("KVM_FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	int kind;

	ktap_print("seed %llu (KVM_FUZZ_SEED), %llu calls per fd (KVM_FUZZ_ITERATIONS)",
		   (unsigned long long)seed, (unsigned long long)iterations);
	rng_state = seed ? seed : 1;
	trace = env_u64("KVM_FUZZ_TRACE", 0);
	map_buffers();
	for (kind = 0; kind < NR_KINDS; kind++) {
		int fd = kind == DEV ? vm->kvm_fd : kind == VM ? vm->fd : vcpu->fd;

		fuzz_fd(fd, kind, vcpu->run, iterations);
		ktap_print("%s: %llu calls returned", kind_name[kind],
			   (unsigned long long)iterations);
	}
	/* The fuzzed fds still answer. */
	TEST_ASSERT_EQ(kvm_ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0), 12);
	TEST_ASSERT(vm_check_cap(vm, KVM_CAP_USER_MEMORY) > 0, "VM fd answers");
	kvm_vm_free(vm);
	expect_vm_runs();
}

/* ---- boundary cases with upstream's errno ---------------------------- */

struct errno_case {
	const char *what;
	enum fd_kind kind;
	unsigned long cmd;
	int arg_kind;		/* see errno_arg() */
	uint32_t count;		/* written first in the buffer */
	int err;
};

/*
 * A_COUNT_KEPT: as A_COUNT, and upstream leaves the count as it was.
 * A_IN: the bytes of inputs[count].
 */
enum { A_NULL, A_HOLE, A_RO, A_COUNT, A_VALUE, A_COUNT_KEPT, A_IN };

/* Deassigning looks the fd up before anything else: EBADF, not EINVAL. */
static const struct kvm_ioeventfd ioeventfd_bad_fd = {
	.addr = 0x1000, .len = 3, .fd = -1,
	.flags = KVM_IOEVENTFD_FLAG_DEASSIGN | KVM_IOEVENTFD_FLAG_PIO,
};

static const struct {
	const void *p;
	size_t size;
} inputs[] = {
	{ &ioeventfd_bad_fd, sizeof(ioeventfd_bad_fd) },
};

static const struct errno_case errno_cases[] = {
	{ "unknown /dev/kvm ioctl", DEV, _IO(KVMIO, 0xff), A_VALUE, 0, EINVAL },
	{ "unknown VM ioctl", VM, _IO(KVMIO, 0xff), A_VALUE, 0, ENOTTY },
	{ "unknown vCPU ioctl", VCPU, _IO(KVMIO, 0xff), A_VALUE, 0, EINVAL },
	{ "MSR index list at NULL", DEV, KVM_GET_MSR_INDEX_LIST, A_NULL, 0, EFAULT },
	{ "MSR index list, no room", DEV, KVM_GET_MSR_INDEX_LIST, A_COUNT, 0, E2BIG },
	{ "supported CPUID at NULL", DEV, KVM_GET_SUPPORTED_CPUID, A_NULL, 0, EFAULT },
	{ "supported CPUID, nent 0", DEV, KVM_GET_SUPPORTED_CPUID, A_COUNT, 0, E2BIG },
	{ "feature MSRs, 256 entries", DEV, KVM_GET_MSRS, A_COUNT, 256, E2BIG },
	{ "CREATE_VM type -1", DEV, KVM_CREATE_VM, A_VALUE, 0xffffffff, EINVAL },
	{ "emulated CPUID at NULL", DEV, KVM_GET_EMULATED_CPUID, A_NULL, 0, EFAULT },
	{ "emulated CPUID, nent 0", DEV, KVM_GET_EMULATED_CPUID, A_COUNT, 0, E2BIG },
	{ "XCOMP_GUEST_SUPP to NULL", DEV, KVM_GET_DEVICE_ATTR, A_COUNT, 0, EFAULT },
	{ "HAS_DEVICE_ATTR at NULL", DEV, KVM_HAS_DEVICE_ATTR, A_NULL, 0, EFAULT },
	{ "IDENTITY_MAP_ADDR after a vCPU", VM, KVM_SET_IDENTITY_MAP_ADDR, A_NULL, 0, EINVAL },
	{ "TSC rate of 1 kHz", VCPU, KVM_SET_TSC_KHZ, A_VALUE, 1, EINVAL },
	{ "memory region at NULL", VM, KVM_SET_USER_MEMORY_REGION, A_NULL, 0, EFAULT },
	{ "memory region in a hole", VM, KVM_SET_USER_MEMORY_REGION, A_HOLE, 0, EFAULT },
	{ "CREATE_VCPU id -1", VM, KVM_CREATE_VCPU, A_VALUE, 0xffffffff, EINVAL },
	{ "IRQ_LINE without irqchip", VM, KVM_IRQ_LINE, A_COUNT, 0, ENXIO },
	{ "GET_REGS to NULL", VCPU, KVM_GET_REGS, A_NULL, 0, EFAULT },
	{ "GET_REGS to read-only", VCPU, KVM_GET_REGS, A_RO, 0, EFAULT },
	{ "SET_REGS from a hole", VCPU, KVM_SET_REGS, A_HOLE, 0, EFAULT },
	{ "GET_SREGS to NULL", VCPU, KVM_GET_SREGS, A_NULL, 0, EFAULT },
	{ "SET_SREGS from a hole", VCPU, KVM_SET_SREGS, A_HOLE, 0, EFAULT },
	{ "GET_FPU to read-only", VCPU, KVM_GET_FPU, A_RO, 0, EFAULT },
	{ "GET_DEBUGREGS to NULL", VCPU, KVM_GET_DEBUGREGS, A_NULL, 0, EFAULT },
	{ "GET_MSRS, 256 entries", VCPU, KVM_GET_MSRS, A_COUNT, 256, E2BIG },
	{ "SET_MSRS, 2^32-1 entries", VCPU, KVM_SET_MSRS, A_COUNT, 0xffffffff, E2BIG },
	{ "SET_MSRS at NULL", VCPU, KVM_SET_MSRS, A_NULL, 0, EFAULT },
	{ "SET_CPUID2, 2^31-1 entries", VCPU, KVM_SET_CPUID2, A_COUNT, 0x7fffffff, E2BIG },
	{ "SIGNAL_MASK of 3 bytes", VCPU, KVM_SET_SIGNAL_MASK, A_COUNT, 3, EINVAL },
	{ "TRANSLATE at NULL", VCPU, KVM_TRANSLATE, A_NULL, 0, EFAULT },
	{ "INTERRUPT at NULL", VCPU, KVM_INTERRUPT, A_NULL, 0, EFAULT },
	/* Upstream copies in before it looks for the irqchip or the PIT. */
	{ "GSI routing at NULL, no irqchip", VM, KVM_SET_GSI_ROUTING, A_NULL, 0, EFAULT },
	{ "GSI routing, no irqchip", VM, KVM_SET_GSI_ROUTING, A_COUNT, 0, EINVAL },
	{ "SET_PIT2 at NULL, no PIT", VM, KVM_SET_PIT2, A_NULL, 0, EFAULT },
	{ "GET_PIT2 to NULL, no PIT", VM, KVM_GET_PIT2, A_NULL, 0, ENXIO },
	{ "REINJECT_CONTROL at NULL, no PIT", VM, KVM_REINJECT_CONTROL, A_NULL, 0, EFAULT },
	{ "SET_IRQCHIP at NULL, no irqchip", VM, KVM_SET_IRQCHIP, A_NULL, 0, EFAULT },
	{ "IOEVENTFD deassign, bad fd and len", VM, KVM_IOEVENTFD, A_IN, 0, EBADF },
	{ "GET_CPUID2, nent 0", VCPU, KVM_GET_CPUID2, A_COUNT_KEPT, 0, E2BIG },
	{ "GET_CPUID2, nent 1", VCPU, KVM_GET_CPUID2, A_COUNT_KEPT, 1, E2BIG },
};

static unsigned long errno_arg(const struct errno_case *c)
{
	switch (c->arg_kind) {
	case A_NULL:
		return 0;
	case A_HOLE:
		return (unsigned long)hole;
	case A_RO:
		return (unsigned long)ro_buf;
	case A_COUNT:
	case A_COUNT_KEPT:
		memset(rw_buf, 0, BUF_SIZE);
		memcpy(rw_buf, &c->count, sizeof(c->count));
		return (unsigned long)rw_buf;
	case A_IN:
		memset(rw_buf, 0, BUF_SIZE);
		memcpy(rw_buf, inputs[c->count].p, inputs[c->count].size);
		return (unsigned long)rw_buf;
	default:
		return c->count;
	}
}

/* Two CPUID entries, so that KVM_GET_CPUID2 has something to refuse. */
static void set_two_cpuid_entries(struct kvm_vcpu *vcpu)
{
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 e[2];
	} c = {
		.hdr.nent = 2,
		.e = { { .function = 0, .eax = 1 }, { .function = 1 } },
	};

	TEST_ASSERT_OK(ioctl(vcpu->fd, KVM_SET_CPUID2, &c));
}

static void boundary_errnos(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	int bad = 0;
	size_t i;

	map_buffers();
	set_two_cpuid_entries(vcpu);
	for (i = 0; i < ARRAY_SIZE(errno_cases); i++) {
		const struct errno_case *c = &errno_cases[i];
		int fd = c->kind == DEV ? vm->kvm_fd :
			 c->kind == VM ? vm->fd : vcpu->fd;
		long r = ioctl(fd, c->cmd, errno_arg(c));
		int e = errno;
		bool kept = c->arg_kind != A_COUNT_KEPT ||
			    !memcmp(rw_buf, &c->count, sizeof(c->count));
		uint32_t count_after;

		memcpy(&count_after, rw_buf, sizeof(count_after));
		if (r == -1 && e == c->err && kept)
			continue;
		if (!kept)
			ktap_print("%s: count %u written back as %u, upstream keeps it",
				   c->what, c->count, count_after);
		ktap_print("%s: got %ld/%s, upstream gives -1/%s", c->what, r,
			   r == -1 ? ktap_errno_name(e) : "-",
			   ktap_errno_name(c->err));
		bad++;
	}
	TEST_ASSERT(!bad, "%d of %zu cases differ", bad, ARRAY_SIZE(errno_cases));
	/* The same vCPU still runs after all of that. */
	kvm_vm_free(vm);
	expect_vm_runs();
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE(boundary_errnos),
		KTAP_CASE(random_arguments),
	};

	return ktap_run(cases, ARRAY_SIZE(cases));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Round-trip costs of the paths every guest takes, measured on whatever
 * /dev/kvm is loaded: exits handled in the kernel (CPUID, VMMCALL), exits to
 * userspace (PIO, MMIO), MMIO writes to a coalesced zone (a ring entry each,
 * an exit only when the ring is full), and the VM-level operations (VM
 * create/destroy, memslot add/delete). One line per row:
 *
 *   BENCH <name> <nanoseconds per operation> <operations>
 *
 * scripts/bench runs this once per backend in one test-bed boot and prints
 * the ratios. Nothing here asserts on time.
 *
 * usage: exit_bench [ITERATIONS]   (default 2000; VM rows use ITERATIONS/20)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kvm_util.h"

#define BENCH_PIO_PORT	0x0e0
#define BENCH_MMIO_GPA	0xc0000000ULL	/* identity mapped, no memslot */
#define BENCH_SLOT	5
#define BENCH_SLOT_GPA	0x40000000ULL
#define BENCH_SLOT_SIZE	0x200000ULL

enum bench_op { OP_CPUID, OP_VMMCALL, OP_PIO, OP_MMIO };

static void guest_code(uint64_t op, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint32_t a = 0, b, c = 0, d;
		uint64_t rax = ~0ULL;

		switch (op) {
		case OP_CPUID:
			asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
			break;
		case OP_VMMCALL:
			/* An unknown hypercall number: answered in the kernel. */
			asm volatile("vmmcall" : "+a"(rax) : : "rbx", "rcx", "rdx", "rsi", "memory");
			break;
		case OP_PIO:
			outb(BENCH_PIO_PORT, (uint8_t)i);
			break;
		case OP_MMIO:
			*(volatile uint32_t *)BENCH_MMIO_GPA = (uint32_t)i;
			break;
		}
	}
	GUEST_DONE();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void report(const char *name, uint64_t ns, uint64_t n)
{
	printf("BENCH %s %.0f %llu\n", name, (double)ns / n, (unsigned long long)n);
	fflush(stdout);
}

/* Run the guest loop for @op; userspace exits are answered and counted. */
static void bench_guest(const char *name, enum bench_op op, uint64_t n)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	uint64_t seen = 0, t0;
	struct ucall uc;

	vcpu_args_set(vcpu, 2, (uint64_t)op, n);
	t0 = now_ns();
	for (;;) {
		vcpu_run(vcpu);
		if (get_ucall(vcpu, &uc) != UCALL_NONE)
			break;
		if (vcpu->run->exit_reason == KVM_EXIT_IO &&
		    vcpu->run->io.port == BENCH_PIO_PORT)
			seen++;
		else if (vcpu->run->exit_reason == KVM_EXIT_MMIO &&
			 vcpu->run->mmio.phys_addr == BENCH_MMIO_GPA)
			seen++;
		else
			TEST_FAIL("%s: unexpected exit %s", name,
				  exit_reason_str(vcpu->run->exit_reason));
	}
	t0 = now_ns() - t0;
	TEST_ASSERT(uc.cmd == UCALL_DONE, "%s: guest stopped with ucall %llu",
		    name, (unsigned long long)uc.cmd);
	TEST_ASSERT((op != OP_PIO && op != OP_MMIO) || seen == n,
		    "%s: %llu userspace exits, expected %llu", name,
		    (unsigned long long)seen, (unsigned long long)n);
	report(name, t0, n);
	kvm_vm_free(vm);
}

/*
 * The MMIO row's writes into a KVM_REGISTER_COALESCED_MMIO zone: userspace
 * drains the ring whenever the vCPU exits (the ring is full, or the end).
 */
static void bench_coalesced_mmio(uint64_t n)
{
	struct kvm_coalesced_mmio_zone zone = {
		.addr = BENCH_MMIO_GPA, .size = 4096,
	};
	long off = kvm_check_cap(KVM_CAP_COALESCED_MMIO);
	struct kvm_coalesced_mmio_ring *ring;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint64_t seen = 0, t0;
	struct ucall uc;
	uint32_t max;

	if (off <= 0) {
		fprintf(stderr, "exit_bench: no KVM_CAP_COALESCED_MMIO, no mmio_coalesced row\n");
		return;
	}
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	TEST_ASSERT((size_t)(off + 1) * PAGE_SIZE <= vcpu->run_size,
		    "the ring page is beyond the vCPU mmap");
	ring = (void *)((uint8_t *)vcpu->run + off * PAGE_SIZE);
	max = (PAGE_SIZE - sizeof(*ring)) / sizeof(ring->coalesced_mmio[0]);
	vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, &zone);
	vcpu_args_set(vcpu, 2, (uint64_t)OP_MMIO, n);
	t0 = now_ns();
	for (;;) {
		vcpu_run(vcpu);
		while (ring->first != ring->last) {
			seen++;
			ring->first = (ring->first + 1) % max;
		}
		if (get_ucall(vcpu, &uc) != UCALL_NONE)
			break;
		if (vcpu->run->exit_reason == KVM_EXIT_MMIO &&
		    vcpu->run->mmio.phys_addr == BENCH_MMIO_GPA)
			seen++;
		else
			TEST_FAIL("mmio_coalesced: unexpected exit %s",
				  exit_reason_str(vcpu->run->exit_reason));
	}
	t0 = now_ns() - t0;
	TEST_ASSERT(uc.cmd == UCALL_DONE && seen == n,
		    "mmio_coalesced: %llu writes seen, expected %llu",
		    (unsigned long long)seen, (unsigned long long)n);
	report("mmio_coalesced", t0, n);
	kvm_vm_free(vm);
}

static void bench_vm_create(uint64_t n)
{
	int kvm = kvm_open();
	uint64_t i, t0 = now_ns();

	for (i = 0; i < n; i++) {
		int vm = ioctl(kvm, KVM_CREATE_VM, 0);

		TEST_ASSERT(vm >= 0, "KVM_CREATE_VM: %s", ktap_errno_name(errno));
		close(vm);
	}
	report("vm_create_destroy", now_ns() - t0, n);
	close(kvm);
}

static void bench_memslot(uint64_t n)
{
	struct kvm_vm *vm = vm_create(VM_MODE_NONE, 0);
	void *mem = mmap(NULL, BENCH_SLOT_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t i, t0;

	TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", ktap_errno_name(errno));
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		TEST_ASSERT_OK(__vm_set_user_memory_region(vm, BENCH_SLOT, 0,
				BENCH_SLOT_GPA, BENCH_SLOT_SIZE, mem));
		TEST_ASSERT_OK(__vm_set_user_memory_region(vm, BENCH_SLOT, 0,
				BENCH_SLOT_GPA, 0, mem));
	}
	report("memslot_add_delete", now_ns() - t0, n);
	munmap(mem, BENCH_SLOT_SIZE);
	kvm_vm_free(vm);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 2000;

	if (!n) {
		fprintf(stderr, "exit_bench: ITERATIONS must be a positive number\n");
		return 2;
	}
	bench_guest("cpuid_in_kernel", OP_CPUID, n);
	bench_guest("vmmcall_in_kernel", OP_VMMCALL, n);
	bench_guest("pio_exit_to_user", OP_PIO, n);
	bench_guest("mmio_exit_to_user", OP_MMIO, n);
	bench_coalesced_mmio(n);
	bench_vm_create(n / 20 ? n / 20 : 1);
	bench_memslot(n / 20 ? n / 20 : 1);
	return 0;
}

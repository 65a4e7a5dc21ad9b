/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KVM selftest library: VMs, memslots and vCPUs from one call, guests
 * in long mode (a C function of the test) or real mode (raw bytes).
 *
 * Guest memory model (long mode): memslot 0 starts at GPA 0 and holds the
 * library's GDT, IDT, TSS and page tables, one stack per vCPU, and a copy of
 * the test binary at its link address (tests are linked -no-pie).  The page
 * tables identity-map the low 4 GiB with 2 MiB pages, so a guest pointer is
 * its own physical address and any address outside a memslot is MMIO.
 */
#ifndef SELFTEST_KVM_UTIL_H
#define SELFTEST_KVM_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "ktap.h"
#include "processor.h"
#include "ucall.h"

#define KVM_DEV_PATH "/dev/kvm"

#define VM_MAX_VCPUS 32
#define VM_MAX_REGIONS 32

/* Fixed layout of memslot 0 in long-mode VMs (guest physical addresses). */
#define VM_GDT_GPA 0x1000ULL
#define VM_IDT_GPA 0x2000ULL
#define VM_TSS_GPA 0x3000ULL
#define VM_PML4_GPA 0x4000ULL
#define VM_PDPT_GPA 0x5000ULL
#define VM_PD_GPA 0x6000ULL	/* 4 pages: 0x6000-0x9fff */
#define VM_SCRATCH_GPA 0x10000ULL	/* free for tests, up to VM_STACKS_GPA */
#define VM_STACKS_GPA 0x100000ULL
#define VM_STACK_SIZE 0x10000ULL	/* per vCPU, VM_MAX_VCPUS of them */
#define VM_IDENTITY_MAP_SIZE (4ULL << 30)

/* Real-mode VMs: memslot 0 covers the first MiB. */
#define VM_REAL_MODE_MEM_SIZE (1ULL << 20)
#define VM_REAL_MODE_LOAD_GPA 0x1000ULL
#define VM_REAL_MODE_STACK 0xfff0ULL

enum vm_guest_mode {
	VM_MODE_NONE,		/* no memory, no guest setup */
	VM_MODE_REAL,		/* 1 MiB at GPA 0; vCPUs start in real mode */
	VM_MODE_LONG,		/* see above; vCPUs start in 64-bit mode */
};

struct vm_region {
	bool in_use;
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	void *hva;
	bool owned;		/* mapped by the library; unmapped at free */
};

struct kvm_vm;

struct kvm_vcpu {
	struct kvm_vm *vm;
	uint32_t id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
};

struct kvm_vm {
	int kvm_fd;
	int fd;
	enum vm_guest_mode mode;
	struct vm_region regions[VM_MAX_REGIONS];
	uint64_t alloc_next;	/* bump allocator inside memslot 0 */
	uint64_t alloc_end;
	struct kvm_vcpu *vcpus[VM_MAX_VCPUS];
	unsigned int nr_vcpus;
};

/* ioctl helpers: the raw forms return ioctl()'s result, errno kept. */
#define __kvm_ioctl(fd, cmd, arg) ioctl(fd, cmd, arg)
#define __vm_ioctl(vm, cmd, arg) ioctl((vm)->fd, cmd, arg)
#define __vcpu_ioctl(vcpu, cmd, arg) ioctl((vcpu)->fd, cmd, arg)

#define __ASSERTED_IOCTL(fd, cmd, arg)						\
	({									\
		int __ir = ioctl(fd, cmd, arg);					\
		if (__ir < 0)							\
			ktap_fail(__FILE__, __LINE__, "ioctl(%s) failed: %s",	\
				  #cmd, ktap_errno_name(errno));		\
		__ir;								\
	})
#define kvm_ioctl(fd, cmd, arg) __ASSERTED_IOCTL(fd, cmd, arg)
#define vm_ioctl(vm, cmd, arg) __ASSERTED_IOCTL((vm)->fd, cmd, arg)
#define vcpu_ioctl(vcpu, cmd, arg) __ASSERTED_IOCTL((vcpu)->fd, cmd, arg)

/* /dev/kvm; skips the current case when there is none. */
int kvm_open(void);
int kvm_check_cap(long cap);
/* The loaded backend's npt module parameter: 1, 0, or -1 if it has none. */
int kvm_backend_npt(void);
int vm_check_cap(struct kvm_vm *vm, long cap);
void kvm_require_cap(long cap, const char *name);
#define TEST_REQUIRE_CAP(cap) kvm_require_cap(cap, #cap)

/* VMs */
struct kvm_vm *vm_create(enum vm_guest_mode mode, uint64_t mem_size);
struct kvm_vm *vm_create_with_one_vcpu(struct kvm_vcpu **vcpu, void *guest_code);
struct kvm_vm *vm_create_real_mode(struct kvm_vcpu **vcpu, const void *code,
				   size_t len);
void kvm_vm_free(struct kvm_vm *vm);

/* Memory */
int __vm_set_user_memory_region(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
				uint64_t gpa, uint64_t size, void *hva);
void vm_set_user_memory_region(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
			       uint64_t gpa, uint64_t size, void *hva);
void *vm_add_memory(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size);
void vm_delete_memory(struct kvm_vm *vm, uint32_t slot);
void vm_move_memory(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa);
void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa);
uint64_t vm_alloc(struct kvm_vm *vm, uint64_t size);
/* The same, zeroed (guest page tables, data pages). */
uint64_t vm_alloc_zeroed(struct kvm_vm *vm, uint64_t size);

/* Identity mapping: a guest virtual address is its guest physical address. */
#define addr_gva2hva(vm, gva) addr_gpa2hva(vm, (uint64_t)(uintptr_t)(gva))
#define sync_global_to_guest(vm, g)						\
	memcpy(addr_gva2hva(vm, &(g)), &(g), sizeof(g))
#define sync_global_from_guest(vm, g)						\
	memcpy(&(g), addr_gva2hva(vm, &(g)), sizeof(g))

/* vCPUs */
struct kvm_vcpu *vm_vcpu_add(struct kvm_vm *vm, uint32_t id, void *guest_code);
/*
 * One MSR by KVM_GET_MSRS / KVM_SET_MSRS.  vcpu_get_msr() and
 * vcpu_set_msr() fail the test unless KVM takes it; __vcpu_set_msr()
 * returns the ioctl's result (1: set, 0: refused, -1: errno).
 */
uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index);
int __vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data);
void vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data);
/* The vCPU statistic @name (KVM_GET_STATS_FD) in *val; false if none. */
bool vcpu_stat_read(struct kvm_vcpu *vcpu, const char *name, uint64_t *val);
struct kvm_vcpu *vm_vcpu_add_bare(struct kvm_vm *vm, uint32_t id);
int __vcpu_run(struct kvm_vcpu *vcpu);
void vcpu_run(struct kvm_vcpu *vcpu);
void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs);
void vcpu_regs_set(struct kvm_vcpu *vcpu, const struct kvm_regs *regs);
void vcpu_sregs_get(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs);
void vcpu_sregs_set(struct kvm_vcpu *vcpu, const struct kvm_sregs *sregs);
void vcpu_args_set(struct kvm_vcpu *vcpu, unsigned int n, ...);
/* Point a real-mode vCPU at code loaded at gpa (CS base = gpa & ~0xf). */
void vcpu_set_real_mode_entry(struct kvm_vcpu *vcpu, uint64_t gpa);

/* Exits */
const char *exit_reason_str(uint32_t reason);
void vcpu_describe_exit(struct kvm_vcpu *vcpu, char *buf, size_t len);
#define TEST_ASSERT_EXIT(vcpu, reason)						\
	do {									\
		char __eb[256];							\
		if ((vcpu)->run->exit_reason != (reason)) {			\
			vcpu_describe_exit(vcpu, __eb, sizeof(__eb));		\
			ktap_fail(__FILE__, __LINE__, "expected exit %s, got %s", \
				  exit_reason_str(reason), __eb);		\
		}								\
	} while (0)
/* Data of a KVM_EXIT_IO exit. */
static inline void *vcpu_io_data(struct kvm_vcpu *vcpu)
{
	return (uint8_t *)vcpu->run + vcpu->run->io.data_offset;
}

/* ucall, host side */
uint64_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
/* Run; expect a ucall; fail the case on GUEST_ASSERT, an exception, a return. */
uint64_t vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc);
void vcpu_expect_sync(struct kvm_vcpu *vcpu, struct ucall *uc);
void vcpu_expect_done(struct kvm_vcpu *vcpu);
/*
 * Run vcpus[1..n-1] each in a thread of its own and vcpus[0] in the
 * calling thread, every one until GUEST_DONE; return when all are done.
 */
void vcpus_run_until_done(struct kvm_vcpu *const *vcpus, unsigned int n);
const char *ucall_str(struct ucall *uc, char *buf, size_t len);

/* Internal, shared between lib files. */
void vm_setup_long_mode(struct kvm_vm *vm);
void vcpu_setup_long_mode(struct kvm_vcpu *vcpu, void *guest_code);
bool host_string_ok(const char *s);

#endif

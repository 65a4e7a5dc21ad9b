// SPDX-License-Identifier: GPL-2.0
/*
 * VMs, memslots and vCPUs for the selftests.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"

int kvm_open(void)
{
	int fd = open(KVM_DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO ||
		    errno == EACCES)
			ktap_skip("cannot open %s: %s", KVM_DEV_PATH, strerror(errno));
		TEST_FAIL("cannot open %s: %s", KVM_DEV_PATH, ktap_errno_name(errno));
	}
	return fd;
}

int kvm_check_cap(long cap)
{
	int fd = kvm_open();
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	TEST_ASSERT(r >= 0, "KVM_CHECK_EXTENSION(%ld): %s", cap, ktap_errno_name(errno));
	close(fd);
	return r;
}

int kvm_backend_npt(void)
{
	static const char *const paths[] = {
		"/sys/module/kvm_amd/parameters/npt",
		"/sys/module/ukvm/parameters/npt",
	};
	unsigned int i;
	int c;

	for (i = 0; i < ARRAY_SIZE(paths); i++) {
		FILE *f = fopen(paths[i], "r");

		if (!f)
			continue;
		c = fgetc(f);
		fclose(f);
		return c == 'Y' || c == '1';
	}
	return -1;
}

int vm_check_cap(struct kvm_vm *vm, long cap)
{
	int r = ioctl(vm->fd, KVM_CHECK_EXTENSION, cap);

	TEST_ASSERT(r >= 0, "KVM_CHECK_EXTENSION(%ld) on VM: %s", cap,
		    ktap_errno_name(errno));
	return r;
}

void kvm_require_cap(long cap, const char *name)
{
	if (!kvm_check_cap(cap))
		ktap_skip("%s not supported", name);
}

static struct vm_region *region_find(struct kvm_vm *vm, uint32_t slot)
{
	int i;

	for (i = 0; i < VM_MAX_REGIONS; i++)
		if (vm->regions[i].in_use && vm->regions[i].slot == slot)
			return &vm->regions[i];
	return NULL;
}

int __vm_set_user_memory_region(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
				uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

void vm_set_user_memory_region(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
			       uint64_t gpa, uint64_t size, void *hva)
{
	int r = __vm_set_user_memory_region(vm, slot, flags, gpa, size, hva);

	TEST_ASSERT(r == 0, "KVM_SET_USER_MEMORY_REGION(slot %u, flags 0x%x, "
		    "gpa 0x%llx, size 0x%llx, hva %p): %s", slot, flags,
		    (unsigned long long)gpa, (unsigned long long)size, hva,
		    ktap_errno_name(errno));
}

/* Map fresh anonymous memory and make it memslot `slot`. */
void *vm_add_memory(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size)
{
	struct vm_region *reg = NULL;
	void *hva;
	int i;

	TEST_ASSERT(!region_find(vm, slot), "slot %u already used", slot);
	for (i = 0; i < VM_MAX_REGIONS && !reg; i++)
		if (!vm->regions[i].in_use)
			reg = &vm->regions[i];
	TEST_ASSERT(reg, "more than %d memslots in one test VM", VM_MAX_REGIONS);

	hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(hva != MAP_FAILED, "mmap(%llu): %s",
		    (unsigned long long)size, strerror(errno));
	vm_set_user_memory_region(vm, slot, flags, gpa, size, hva);

	*reg = (struct vm_region){
		.in_use = true, .slot = slot, .flags = flags, .gpa = gpa,
		.size = size, .hva = hva, .owned = true,
	};
	return hva;
}

void vm_delete_memory(struct kvm_vm *vm, uint32_t slot)
{
	struct vm_region *reg = region_find(vm, slot);

	TEST_ASSERT(reg, "slot %u not known", slot);
	vm_set_user_memory_region(vm, slot, reg->flags, reg->gpa, 0, reg->hva);
	if (reg->owned)
		munmap(reg->hva, reg->size);
	reg->in_use = false;
}

void vm_move_memory(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa)
{
	struct vm_region *reg = region_find(vm, slot);

	TEST_ASSERT(reg, "slot %u not known", slot);
	vm_set_user_memory_region(vm, slot, reg->flags, new_gpa, reg->size, reg->hva);
	reg->gpa = new_gpa;
}

void *addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < VM_MAX_REGIONS; i++) {
		struct vm_region *r = &vm->regions[i];

		/* Address space 0 only: slot bits 16+ select another one. */
		if (r->in_use && !(r->slot >> 16) &&
		    gpa >= r->gpa && gpa - r->gpa < r->size)
			return (uint8_t *)r->hva + (gpa - r->gpa);
	}
	TEST_FAIL("no memslot holds guest physical address 0x%llx",
		  (unsigned long long)gpa);
}

uint64_t vm_alloc(struct kvm_vm *vm, uint64_t size)
{
	uint64_t gpa = vm->alloc_next;

	size = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	TEST_ASSERT(vm->alloc_end - gpa >= size,
		    "guest memory exhausted (0x%llx wanted, 0x%llx left)",
		    (unsigned long long)size,
		    (unsigned long long)(vm->alloc_end - gpa));
	vm->alloc_next += size;
	return gpa;
}

uint64_t vm_alloc_zeroed(struct kvm_vm *vm, uint64_t size)
{
	uint64_t gpa = vm_alloc(vm, size);

	memset(addr_gpa2hva(vm, gpa), 0, size);
	return gpa;
}

struct kvm_vm *vm_create(enum vm_guest_mode mode, uint64_t mem_size)
{
	struct kvm_vm *vm = calloc(1, sizeof(*vm));

	TEST_ASSERT(vm, "out of memory");
	vm->kvm_fd = kvm_open();
	do {
		vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	} while (vm->fd < 0 && errno == EINTR);
	TEST_ASSERT(vm->fd >= 0, "KVM_CREATE_VM: %s", ktap_errno_name(errno));
	vm->mode = mode;

	switch (mode) {
	case VM_MODE_NONE:
		break;
	case VM_MODE_REAL:
		if (mem_size < VM_REAL_MODE_MEM_SIZE)
			mem_size = VM_REAL_MODE_MEM_SIZE;
		vm_add_memory(vm, 0, 0, 0, mem_size);
		vm->alloc_next = VM_REAL_MODE_MEM_SIZE;
		vm->alloc_end = mem_size;
		break;
	case VM_MODE_LONG:
		vm->alloc_end = mem_size;
		vm_setup_long_mode(vm);
		break;
	}
	return vm;
}

void kvm_vm_free(struct kvm_vm *vm)
{
	unsigned int i;

	if (!vm)
		return;
	for (i = 0; i < VM_MAX_VCPUS; i++) {
		struct kvm_vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		munmap(vcpu->run, vcpu->run_size);
		close(vcpu->fd);
		free(vcpu);
	}
	close(vm->fd);
	for (i = 0; i < VM_MAX_REGIONS; i++)
		if (vm->regions[i].in_use && vm->regions[i].owned)
			munmap(vm->regions[i].hva, vm->regions[i].size);
	close(vm->kvm_fd);
	free(vm);
}

struct kvm_vcpu *vm_vcpu_add_bare(struct kvm_vm *vm, uint32_t id)
{
	struct kvm_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int size;

	TEST_ASSERT(vcpu, "out of memory");
	TEST_ASSERT(vm->nr_vcpus < VM_MAX_VCPUS, "more than %d vCPUs in a test VM",
		    VM_MAX_VCPUS);
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	TEST_ASSERT(vcpu->fd >= 0, "KVM_CREATE_VCPU(%u): %s", id,
		    ktap_errno_name(errno));

	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	TEST_ASSERT(size >= (int)sizeof(struct kvm_run),
		    "KVM_GET_VCPU_MMAP_SIZE returned %d (%s)", size,
		    size < 0 ? ktap_errno_name(errno) : "too small");
	vcpu->run_size = size;
	vcpu->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap(vcpu fd): %s",
		    ktap_errno_name(errno));

	vm->vcpus[vm->nr_vcpus++] = vcpu;
	return vcpu;
}

struct kvm_vcpu *vm_vcpu_add(struct kvm_vm *vm, uint32_t id, void *guest_code)
{
	struct kvm_vcpu *vcpu = vm_vcpu_add_bare(vm, id);

	switch (vm->mode) {
	case VM_MODE_LONG:
		vcpu_setup_long_mode(vcpu, guest_code);
		break;
	case VM_MODE_REAL:
		vcpu_set_real_mode_entry(vcpu, VM_REAL_MODE_LOAD_GPA);
		break;
	case VM_MODE_NONE:
		break;
	}
	return vcpu;
}

struct kvm_vm *vm_create_with_one_vcpu(struct kvm_vcpu **vcpu, void *guest_code)
{
	struct kvm_vm *vm = vm_create(VM_MODE_LONG, 0);

	*vcpu = vm_vcpu_add(vm, 0, guest_code);
	return vm;
}

struct kvm_vm *vm_create_real_mode(struct kvm_vcpu **vcpu, const void *code,
				   size_t len)
{
	struct kvm_vm *vm = vm_create(VM_MODE_REAL, 0);

	TEST_ASSERT(len <= VM_REAL_MODE_STACK - 0x1000 - VM_REAL_MODE_LOAD_GPA,
		    "real-mode code too long (%zu bytes)", len);
	memcpy(addr_gpa2hva(vm, VM_REAL_MODE_LOAD_GPA), code, len);
	*vcpu = vm_vcpu_add(vm, 0, NULL);
	return vm;
}

void vcpu_set_real_mode_entry(struct kvm_vcpu *vcpu, uint64_t gpa)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint16_t sel = (uint16_t)(gpa >> 4);

	TEST_ASSERT(gpa < (1ULL << 20), "real-mode entry 0x%llx above 1 MiB",
		    (unsigned long long)gpa);
	vcpu_sregs_get(vcpu, &sregs);
	sregs.cs.selector = sel;
	sregs.cs.base = (uint64_t)sel << 4;
	sregs.ds.selector = sregs.es.selector = sregs.ss.selector = 0;
	sregs.ds.base = sregs.es.base = sregs.ss.base = 0;
	vcpu_sregs_set(vcpu, &sregs);

	memset(&regs, 0, sizeof(regs));
	regs.rip = gpa & 0xf;
	regs.rsp = VM_REAL_MODE_STACK;
	regs.rflags = X86_EFLAGS_FIXED;
	vcpu_regs_set(vcpu, &regs);
}

int __vcpu_run(struct kvm_vcpu *vcpu)
{
	return ioctl(vcpu->fd, KVM_RUN, 0);
}

void vcpu_run(struct kvm_vcpu *vcpu)
{
	int r;

	do {
		r = __vcpu_run(vcpu);
	} while (r < 0 && errno == EINTR);
	TEST_ASSERT(r == 0, "KVM_RUN: %s", ktap_errno_name(errno));
}

void vcpu_regs_get(struct kvm_vcpu *vcpu, struct kvm_regs *regs)
{
	vcpu_ioctl(vcpu, KVM_GET_REGS, regs);
}

void vcpu_regs_set(struct kvm_vcpu *vcpu, const struct kvm_regs *regs)
{
	vcpu_ioctl(vcpu, KVM_SET_REGS, regs);
}

void vcpu_sregs_get(struct kvm_vcpu *vcpu, struct kvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, KVM_GET_SREGS, sregs);
}

void vcpu_sregs_set(struct kvm_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	vcpu_ioctl(vcpu, KVM_SET_SREGS, sregs);
}

/* Set the first n integer arguments (System V order) of the guest function. */
void vcpu_args_set(struct kvm_vcpu *vcpu, unsigned int n, ...)
{
	struct kvm_regs regs;
	__u64 *slot[6];
	unsigned int i;
	va_list ap;

	TEST_ASSERT(n <= 6, "at most 6 guest arguments, not %u", n);
	vcpu_regs_get(vcpu, &regs);
	slot[0] = &regs.rdi;
	slot[1] = &regs.rsi;
	slot[2] = &regs.rdx;
	slot[3] = &regs.rcx;
	slot[4] = &regs.r8;
	slot[5] = &regs.r9;
	va_start(ap, n);
	for (i = 0; i < n; i++)
		*slot[i] = va_arg(ap, uint64_t);
	va_end(ap);
	vcpu_regs_set(vcpu, &regs);
}

const char *exit_reason_str(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
		[KVM_EXIT_IO] = "KVM_EXIT_IO",
		[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
		[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
		[KVM_EXIT_HLT] = "KVM_EXIT_HLT",
		[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
		[KVM_EXIT_INTR] = "KVM_EXIT_INTR",
		[KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
		[KVM_EXIT_NMI] = "KVM_EXIT_NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
		[KVM_EXIT_IOAPIC_EOI] = "KVM_EXIT_IOAPIC_EOI",
		[KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
		[KVM_EXIT_DIRTY_RING_FULL] = "KVM_EXIT_DIRTY_RING_FULL",
		[KVM_EXIT_X86_BUS_LOCK] = "KVM_EXIT_X86_BUS_LOCK",
		[KVM_EXIT_NOTIFY] = "KVM_EXIT_NOTIFY",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "(unknown exit reason)";
}

void vcpu_describe_exit(struct kvm_vcpu *vcpu, char *buf, size_t len)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	int n;

	n = snprintf(buf, len, "%s (%u)", exit_reason_str(run->exit_reason),
		     run->exit_reason);
	if (n < 0 || (size_t)n >= len)
		return;
	buf += n;
	len -= n;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		n = snprintf(buf, len, " %s port 0x%x size %u count %u",
			     run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			     run->io.port, run->io.size, run->io.count);
		break;
	case KVM_EXIT_MMIO:
		n = snprintf(buf, len, " %s gpa 0x%llx len %u",
			     run->mmio.is_write ? "write" : "read",
			     (unsigned long long)run->mmio.phys_addr, run->mmio.len);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		n = snprintf(buf, len, " hardware reason 0x%llx",
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		n = snprintf(buf, len, " suberror %u ndata %u",
			     run->internal.suberror, run->internal.ndata);
		break;
	default:
		n = 0;
		break;
	}
	if (n < 0 || (size_t)n >= len)
		return;
	buf += n;
	len -= n;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0)
		snprintf(buf, len, ", rip 0x%llx", (unsigned long long)regs.rip);
}

bool vcpu_stat_read(struct kvm_vcpu *vcpu, const char *name, uint64_t *val)
{
	int fd = __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, NULL);
	struct kvm_stats_header h;
	bool found = false;
	size_t dsz;
	char *descs;
	uint32_t i;

	TEST_ASSERT(fd >= 0, "KVM_GET_STATS_FD: %s", ktap_errno_name(errno));
	TEST_ASSERT(pread(fd, &h, sizeof(h), 0) == sizeof(h), "stats header");
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(dsz * h.num_desc);
	TEST_ASSERT(descs && pread(fd, descs, dsz * h.num_desc, h.desc_offset) ==
		    (ssize_t)(dsz * h.num_desc), "stats descriptors");
	for (i = 0; i < h.num_desc && !found; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsz);

		if (strcmp(d->name, name))
			continue;
		TEST_ASSERT(pread(fd, val, sizeof(*val), h.data_offset + d->offset) ==
			    sizeof(*val), "stats data");
		found = true;
	}
	free(descs);
	close(fd);
	return found;
}

struct one_msr {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e;
};

uint64_t vcpu_get_msr(struct kvm_vcpu *vcpu, uint32_t index)
{
	struct one_msr m = { .hdr.nmsrs = 1, .e.index = index };

	TEST_ASSERT(__vcpu_ioctl(vcpu, KVM_GET_MSRS, &m) == 1,
		    "KVM_GET_MSRS refused MSR 0x%x", index);
	return m.e.data;
}

int __vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	struct one_msr m = { .hdr.nmsrs = 1, .e.index = index, .e.data = data };

	return __vcpu_ioctl(vcpu, KVM_SET_MSRS, &m);
}

void vcpu_set_msr(struct kvm_vcpu *vcpu, uint32_t index, uint64_t data)
{
	TEST_ASSERT(__vcpu_set_msr(vcpu, index, data) == 1,
		    "KVM_SET_MSRS refused MSR 0x%x = 0x%llx", index,
		    (unsigned long long)data);
}

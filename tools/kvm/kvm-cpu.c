// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU threads.  The loop only runs the vCPU and dispatches its exits to
 * the PIO/MMIO buses; devices never appear here by name.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kvm/bus.h"
#include "kvm/debug.h"
#include "kvm/gdb.h"
#include "kvm/kvm-cpu.h"
#include "kvm/pause.h"

/* The vCPU this thread runs, for the kick signal handler. */
static __thread struct kvm_cpu *current_cpu;

/*
 * SIGUSR1 kicks a vCPU out of KVM_RUN.  Setting immediate_exit also covers
 * a signal arriving just before the thread enters KVM_RUN.
 */
static void kvm_cpu__kick_handler(int sig)
{
	(void)sig;
	if (current_cpu)
		current_cpu->run->immediate_exit = 1;
}

struct kvm_cpu *kvm_cpu__new(struct kvm *kvm, int id)
{
	struct kvm_cpu *cpu = xzalloc(sizeof(*cpu));

	cpu->id = id;
	cpu->kvm = kvm;
	cpu->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, id);
	if (cpu->fd < 0)
		die_errno("KVM_CREATE_VCPU %d", id);
	cpu->run = mmap(NULL, kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
			MAP_SHARED, cpu->fd, 0);
	if (cpu->run == MAP_FAILED)
		die_errno("cannot mmap vCPU %d", id);

	kvm_cpu__setup_cpuid(cpu);
	kvm_cpu__setup_msrs(cpu);
	kvm_cpu__setup_lapic(cpu);
	return cpu;
}

void kvm_cpu__complete_io(struct kvm_cpu *cpu)
{
	cpu->run->immediate_exit = 1;
	if (ioctl(cpu->fd, KVM_RUN, 0) == 0 || errno != EINTR)
		die("vCPU %d: KVM_RUN did not honour immediate_exit", cpu->id);
	cpu->run->immediate_exit = 0;
}

static void kvm_cpu__handle_io(struct kvm_cpu *cpu)
{
	struct kvm_run *run = cpu->run;
	/* Copied: a handler may complete the exit, which reuses kvm_run. */
	u8 *data = (u8 *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	u32 count = run->io.count, size = run->io.size;
	u16 port = run->io.port;

	if (run->io.data_offset + (u64)count * size >
	    (u64)cpu->kvm->vcpu_mmap_size)
		die("vCPU %d: KVM gave a PIO buffer outside kvm_run", cpu->id);
	/* String I/O comes as count back-to-back elements. */
	for (u32 i = 0; i < count; i++) {
		if (!bus__dispatch(cpu, BUS_PIO, port, data, size, is_write)) {
			/* Unclaimed ports read as all ones, like on a PC. */
			if (!is_write)
				memset(data, 0xff, size);
			pr_debug("vCPU %d: unclaimed %s port %#x", cpu->id,
				 is_write ? "write to" : "read from", port);
		}
		data += size;
	}
}

static void kvm_cpu__handle_mmio(struct kvm_cpu *cpu)
{
	struct kvm_run *run = cpu->run;
	u32 len = MIN(run->mmio.len, sizeof(run->mmio.data));

	if (!bus__dispatch(cpu, BUS_MMIO, run->mmio.phys_addr,
			   run->mmio.data, len, run->mmio.is_write)) {
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, len);
		pr_debug("vCPU %d: unclaimed MMIO %s at %#llx", cpu->id,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr);
	}
}

static void kvm_cpu__handle_system_event(struct kvm_cpu *cpu)
{
	switch (cpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		kvm__request_stop(cpu->kvm, KVM_STOP_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		kvm__request_stop(cpu->kvm, KVM_STOP_REBOOT);
		break;
	default:
		pr_err("vCPU %d: system event %u", cpu->id,
		       cpu->run->system_event.type);
		kvm__request_stop(cpu->kvm, KVM_STOP_CRASH);
	}
}

/* Returns false when the vCPU must stop. */
static bool kvm_cpu__handle_exit(struct kvm_cpu *cpu)
{
	struct kvm_run *run = cpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		kvm_cpu__handle_io(cpu);
		return true;
	case KVM_EXIT_MMIO:
		kvm_cpu__handle_mmio(cpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_DEBUG:
		gdb__debug_exit(cpu);	/* parks until gdb continues */
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		kvm_cpu__handle_system_event(cpu);
		return false;
	case KVM_EXIT_SHUTDOWN:
		pr_err("vCPU %d: triple fault, the guest shut down", cpu->id);
		kvm_cpu__dump_regs(cpu);
		kvm__request_stop(cpu->kvm, KVM_STOP_CRASH);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		pr_err("vCPU %d: VM entry failed, hardware reason %#llx",
		       cpu->id, (unsigned long long)
		       run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		pr_err("vCPU %d: KVM internal error, suberror %u", cpu->id,
		       run->internal.suberror);
		break;
	default:
		pr_err("vCPU %d: unexpected exit reason %u", cpu->id,
		       run->exit_reason);
		break;
	}
	kvm_cpu__dump_regs(cpu);
	kvm__request_stop(cpu->kvm, KVM_STOP_CRASH);
	return false;
}

static void *kvm_cpu__thread(void *arg)
{
	struct kvm_cpu *cpu = arg;
	char name[16];

	current_cpu = cpu;
	snprintf(name, sizeof(name), "vcpu%d", cpu->id);
	pthread_setname_np(pthread_self(), name);

	while (kvm__stop_cause(cpu->kvm) == KVM_STOP_NONE) {
		kvm_cpu__park(cpu);	/* lkvm pause, debug, gdb */
		if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				cpu->user_exits[KVM_EXIT_INTR]++;
				cpu->run->immediate_exit = 0;
				continue;
			}
			pr_err("vCPU %d: KVM_RUN: %s", cpu->id,
			       strerror(errno));
			kvm__request_stop(cpu->kvm, KVM_STOP_CRASH);
			break;
		}
		cpu->user_exits[MIN(cpu->run->exit_reason,
				    LKVM_NR_EXIT_COUNTS - 1)]++;
		if (!kvm_cpu__handle_exit(cpu))
			break;
	}
	kvm_cpu__exited(cpu);
	if (lkvm_debug)
		kvm_cpu__dump_regs(cpu);
	return NULL;
}

void kvm_cpu__start_all(struct kvm *kvm)
{
	struct sigaction sa = { .sa_handler = kvm_cpu__kick_handler };

	/* No SA_RESTART: the kick must interrupt KVM_RUN. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	for (int i = 0; i < kvm->nr_cpus; i++) {
		struct kvm_cpu *cpu = kvm->cpus[i];

		cpu->started = true;
		if (pthread_create(&cpu->thread, NULL, kvm_cpu__thread, cpu))
			die("cannot start the thread of vCPU %d", i);
	}
}

void kvm_cpu__join_all(struct kvm *kvm)
{
	for (int i = 0; i < kvm->nr_cpus; i++)
		pthread_join(kvm->cpus[i]->thread, NULL);
}

/* The full dump of lkvm debug (x86/dump.c), CR LF for a raw terminal. */
void kvm_cpu__dump_regs(struct kvm_cpu *cpu)
{
	debug__dump_cpu_stderr(cpu);
}

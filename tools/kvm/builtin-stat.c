// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm stat NAME [--all]: per-vCPU exit counts by reason, read from KVM's
 * binary statistics (KVM_GET_STATS_FD: a header, an id string, one
 * descriptor per counter and the u64 data, see struct kvm_stats_header),
 * and lkvm's own counters: returns to userspace by exit reason, and
 * accesses per device address range.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/builtin.h"
#include "kvm/bus.h"
#include "kvm/control.h"
#include "kvm/kvm-cpu.h"
#include "kvm/kvm.h"
#include "kvm/pause.h"

/* Bounds on what we accept from a stats fd (KVM's are far smaller). */
#define STATS_MAX_NAME		256
#define STATS_MAX_DESC		4096
#define STATS_MAX_DATA		(1u << 20)

struct stats_file {
	struct kvm_stats_header hdr;
	u8 *desc;		/* hdr.num_desc descriptors of desc_size */
	size_t desc_size;
	u64 *data;
	size_t nr_data;
};

static int stats__load(int fd, struct stats_file *sf)
{
	size_t desc_bytes;

	memset(sf, 0, sizeof(*sf));
	if (!pread_full(fd, &sf->hdr, sizeof(sf->hdr), 0))
		return -EIO;
	if (!sf->hdr.name_size || sf->hdr.name_size > STATS_MAX_NAME ||
	    sf->hdr.num_desc > STATS_MAX_DESC)
		return -EPROTO;
	sf->desc_size = sizeof(struct kvm_stats_desc) + sf->hdr.name_size;
	desc_bytes = sf->desc_size * sf->hdr.num_desc;
	sf->desc = xzalloc(desc_bytes + 1);
	if (!pread_full(fd, sf->desc, desc_bytes, sf->hdr.desc_offset))
		return -EIO;
	for (u32 i = 0; i < sf->hdr.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(sf->desc + i * sf->desc_size);
		size_t end = (size_t)d->offset / 8 + d->size;

		if (d->offset % 8 || !d->size || end > STATS_MAX_DATA / 8)
			return -EPROTO;
		/* Names must be terminated inside their field. */
		d->name[sf->hdr.name_size - 1] = '\0';
		sf->nr_data = MAX(sf->nr_data, end);
	}
	sf->data = xzalloc(sf->nr_data * sizeof(u64) + 1);
	if (!pread_full(fd, sf->data, sf->nr_data * sizeof(u64),
			sf->hdr.data_offset))
		return -EIO;
	return 0;
}

static void stats__free(struct stats_file *sf)
{
	free(sf->desc);
	free(sf->data);
}

static bool stats__is_exit(const char *name)
{
	size_t n = strlen(name);

	return !strcmp(name, "exits") || !strcmp(name, "hypercalls") ||
	       (n > 6 && !strcmp(name + n - 6, "_exits"));
}

static void stats__print(FILE *out, struct stats_file *sf, bool all)
{
	for (u32 i = 0; i < sf->hdr.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(sf->desc + i * sf->desc_size);
		u64 *v = sf->data + d->offset / 8;
		u32 type = d->flags & KVM_STATS_TYPE_MASK;

		if (!all && !stats__is_exit(d->name))
			continue;
		if (d->size == 1) {
			fprintf(out, "  %-28s %llu%s\n", d->name,
				(unsigned long long)*v,
				type == KVM_STATS_TYPE_PEAK ? " (peak)" :
				type == KVM_STATS_TYPE_INSTANT ? " (now)" : "");
			continue;
		}
		fprintf(out, "  %-28s", d->name);
		for (u32 j = 0; j < d->size; j++)
			fprintf(out, " %llu", (unsigned long long)v[j]);
		fprintf(out, " (histogram)\n");
	}
}

/* Stats fds are opened on first use and kept (-errno: the ioctl failed). */
static int vm_stats_fd = -1;
static int *vcpu_stats_fd;

static int stats__open(int owner_fd)
{
	int fd = ioctl(owner_fd, KVM_GET_STATS_FD, 0);

	return fd < 0 ? -errno : fd;
}

static void stats__dump_fd(FILE *out, const char *what, int fd, bool all)
{
	struct stats_file sf;
	int r;

	if (fd < 0) {
		fprintf(out, "%s: KVM_GET_STATS_FD: %s\n", what,
			strerror(-fd));
		return;
	}
	r = stats__load(fd, &sf);
	if (r)
		fprintf(out, "%s: unreadable stats: %s\n", what, strerror(-r));
	else
		stats__print(out, &sf, all);
	stats__free(&sf);
}

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "unknown", [KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io", [KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug", [KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio", [KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
	[KVM_EXIT_SHUTDOWN] = "shutdown", [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
	[KVM_EXIT_INTR] = "intr (signal, kick)",
	[KVM_EXIT_INTERNAL_ERROR] = "internal_error",
	[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	[KVM_EXIT_X86_RDMSR] = "x86_rdmsr", [KVM_EXIT_X86_WRMSR] = "x86_wrmsr",
};

static void stats__user_exits(FILE *out, struct kvm_cpu *cpu)
{
	for (int r = 0; r < LKVM_NR_EXIT_COUNTS; r++) {
		const char *name = (size_t)r < ARRAY_SIZE(exit_names) ?
				   exit_names[r] : NULL;

		if (!cpu->user_exits[r])
			continue;
		if (name)
			fprintf(out, "  %-28s %llu\n", name,
				(unsigned long long)cpu->user_exits[r]);
		else
			fprintf(out, "  exit reason %-16d %llu\n", r,
				(unsigned long long)cpu->user_exits[r]);
	}
}

static void stats__range(u64 base, u64 len, u64 accesses, void *arg)
{
	FILE *out = ((void **)arg)[0];
	const char *bus = ((void **)arg)[1];

	if (accesses)
		fprintf(out, "  %s %#llx-%#llx %*s %llu\n", bus,
			(unsigned long long)base,
			(unsigned long long)(base + len - 1),
			bus[0] == 'P' ? 12 : 0, "",
			(unsigned long long)accesses);
}

static int stat__serve(struct kvm *kvm, const struct ctl_msg *msg, FILE *out)
{
	bool all = msg->u.stat.flags & CTL_STAT_ALL;
	void *pio[] = { out, "PIO " }, *mmio[] = { out, "MMIO" };

	if (!vcpu_stats_fd && kvm->caps.binary_stats) {
		/*
		 * Upstream takes the vCPU mutex for KVM_GET_STATS_FD, which a
		 * vCPU holds for as long as it is in KVM_RUN (maybe halted):
		 * open them all once, with the vCPUs parked.  Reading the
		 * files later needs no lock.
		 */
		vcpu_stats_fd = xzalloc(kvm->nr_cpus * sizeof(int));
		if (!kvm__pause(kvm)) {
			kvm__resume(kvm);
			fprintf(out, "the guest is stopping");
			return ESHUTDOWN;
		}
		for (int i = 0; i < kvm->nr_cpus; i++)
			vcpu_stats_fd[i] = stats__open(kvm->cpus[i]->fd);
		vm_stats_fd = stats__open(kvm->vm_fd);
		kvm__resume(kvm);
	}
	fprintf(out, "guest %s: %d vCPU%s\n", ctl__guest_name(), kvm->nr_cpus,
		kvm->nr_cpus > 1 ? "s" : "");
	if (!kvm->caps.binary_stats) {
		fprintf(out, "KVM has no binary statistics "
			"(KVM_CAP_BINARY_STATS_FD): only lkvm's counters\n");
	} else {
		if (all) {
			fprintf(out, "VM (KVM statistics):\n");
			stats__dump_fd(out, "VM", vm_stats_fd, all);
		}
		for (int i = 0; i < kvm->nr_cpus; i++) {
			fprintf(out, "vCPU %d exits (KVM statistics):\n", i);
			stats__dump_fd(out, "vCPU", vcpu_stats_fd[i], all);
		}
	}
	for (int i = 0; i < kvm->nr_cpus; i++) {
		fprintf(out, "vCPU %d returns to lkvm by exit reason:\n", i);
		stats__user_exits(out, kvm->cpus[i]);
	}
	fprintf(out, "lkvm device accesses by address range:\n");
	bus__for_each(BUS_PIO, stats__range, pio);
	bus__for_each(BUS_MMIO, stats__range, mmio);
	return 0;
}
ctl_handler(CTL_STAT, stat__serve);

int cmd_stat(int argc, char **argv)
{
	struct ctl_stat st = { 0 };

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: lkvm stat NAME [--all]\n"
		       "  per-vCPU exit counts by reason (KVM's binary "
		       "statistics) and lkvm's own\n  per-device counters; "
		       "--all: every KVM statistic, VM and vCPU\n");
		return 0;
	}
	if (argc == 3 && !strcmp(argv[2], "--all"))
		st.flags |= CTL_STAT_ALL;
	else if (argc != 2)
		die("usage: lkvm stat NAME [--all]");
	return ctl__run_simple("stat", argv[1], CTL_STAT, &st, sizeof(st));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm debug NAME [--cpu N|--all] --dump | --nmi N | --sysrq C
 *
 * --dump parks every vCPU (kvm/pause.h), prints the chosen vCPUs' state
 * (x86/dump.c) and lets them go again.  --nmi injects an NMI into vCPU N
 * (KVM_NMI); --sysrq sends a break and the key on ttyS0 (magic SysRq);
 * --dirty-rate turns dirty logging on for a second (KVM_GET_DIRTY_LOG).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kvm/builtin.h"
#include "kvm/control.h"
#include "kvm/debug.h"
#include "kvm/kvm-cpu.h"
#include "kvm/kvm.h"
#include "kvm/pause.h"

/*
 * Dirty logging on every RAM slot, on or off.  Slot i is RAM range i, the
 * order kvm__init_ram() creates them in.
 */
static int dirty__set_logging(struct kvm *kvm, bool on)
{
	struct ram_range r[2];
	int n = kvm__ram_ranges(kvm, r, 2);

	for (int i = 0; i < n; i++) {
		struct kvm_userspace_memory_region m = {
			.slot = i,
			.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = r[i].start,
			.memory_size = r[i].size,
			.userspace_addr = (unsigned long)guest_ptr(kvm, r[i].start,
								   r[i].size),
		};

		if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0)
			return -errno;
	}
	return 0;
}

/* Fetch-and-clear every slot's dirty bitmap; returns the pages set. */
static long dirty__collect(struct kvm *kvm)
{
	struct ram_range r[2];
	int n = kvm__ram_ranges(kvm, r, 2);
	long pages = 0;

	for (int i = 0; i < n; i++) {
		/* Upstream sizes the bitmap in longs: round up to 64 pages. */
		size_t words = (r[i].size / 4096 + 63) / 64;
		u64 *bits = xzalloc(words * sizeof(u64));
		struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = bits };

		if (ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			int err = errno;

			free(bits);
			return -err;
		}
		for (size_t w = 0; w < words; w++)
			pages += __builtin_popcountll(bits[w]);
		free(bits);
	}
	return pages;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --dirty-rate: pages the guest dirties over DIRTY_SAMPLE_US. */
#define DIRTY_SAMPLE_US		1000000

static int debug__dirty_rate(struct kvm *kvm, FILE *out)
{
	double t0, t1;
	long pages;
	int r;

	r = dirty__set_logging(kvm, true);
	if (r) {
		fprintf(out, "cannot enable dirty logging: %s\n", strerror(-r));
		return -r;
	}
	/* The first call starts the window (and clears what came before). */
	pages = dirty__collect(kvm);
	t0 = now_s();
	if (pages >= 0) {
		usleep(DIRTY_SAMPLE_US);
		pages = dirty__collect(kvm);
	}
	t1 = now_s();
	r = dirty__set_logging(kvm, false);
	if (pages < 0) {
		fprintf(out, "KVM_GET_DIRTY_LOG: %s\n", strerror(-pages));
		return -pages;
	}
	if (r)
		fprintf(out, "warning: cannot disable dirty logging: %s\n",
			strerror(-r));
	fprintf(out, "dirty rate: %.2f MiB/s (%ld pages of 4 KiB in %.2f s)\n",
		pages * 4096.0 / MiB / (t1 - t0), pages, t1 - t0);
	return 0;
}

static int debug__serve(struct kvm *kvm, const struct ctl_msg *msg, FILE *out)
{
	const struct ctl_debug *d = &msg->u.debug;
	int err = 0;

	if (d->cpu >= kvm->nr_cpus) {
		fprintf(out, "no vCPU %d (the guest has %d)", d->cpu,
			kvm->nr_cpus);
		return EINVAL;
	}
	if ((d->what & CTL_DEBUG_NMI) && d->cpu < 0) {
		fprintf(out, "--nmi needs one vCPU");
		return EINVAL;
	}
	if ((d->what & CTL_DEBUG_NMI) && !kvm->caps.user_nmi) {
		fprintf(out, "KVM lacks KVM_CAP_USER_NMI");
		return EOPNOTSUPP;
	}
	if (d->what & (CTL_DEBUG_DUMP | CTL_DEBUG_NMI)) {
		/* Register state is exact, and KVM_NMI does not wait on KVM_RUN. */
		if (!kvm__pause(kvm)) {
			kvm__resume(kvm);
			fprintf(out, "the guest is stopping");
			return ESHUTDOWN;
		}
		for (int i = 0; i < kvm->nr_cpus && (d->what & CTL_DEBUG_DUMP); i++)
			if (d->cpu < 0 || d->cpu == i)
				debug__dump_cpu(kvm->cpus[i], out);
		if ((d->what & CTL_DEBUG_NMI) &&
		    ioctl(kvm->cpus[d->cpu]->fd, KVM_NMI) < 0) {
			err = errno;
			fprintf(out, "KVM_NMI: %s\n", strerror(err));
		} else if (d->what & CTL_DEBUG_NMI) {
			fprintf(out, "NMI injected into vCPU %d\n", d->cpu);
		}
		kvm__resume(kvm);
	}
	if (!err && (d->what & CTL_DEBUG_DIRTY_RATE))
		err = debug__dirty_rate(kvm, out);
	if (d->what & CTL_DEBUG_SYSRQ) {
		serial__sysrq(d->sysrq);
		fprintf(out, "SysRq '%c' sent on ttyS0\n", d->sysrq);
	}
	return err;
}
ctl_handler(CTL_DEBUG, debug__serve);

static const struct option debug_options[] = {
	{ "cpu",	required_argument, NULL, 'c' },
	{ "all",	no_argument,	   NULL, 'a' },
	{ "dump",	no_argument,	   NULL, 'd' },
	{ "nmi",	required_argument, NULL, 'n' },
	{ "sysrq",	required_argument, NULL, 's' },
	{ "dirty-rate",	no_argument,	   NULL, 'r' },
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void debug__usage(void)
{
	printf("usage: lkvm debug NAME [--cpu N|--all] --dump | --nmi N | --sysrq C |\n"
	       "       --dirty-rate\n"
	       "  --dump         registers, decoded control registers, events, local\n"
	       "                 APIC, code disassembled at RIP, stack, page walks\n"
	       "  --cpu N        only vCPU N (default: --all)\n"
	       "  --nmi N        inject an NMI into vCPU N\n"
	       "  --sysrq C      send magic SysRq C on the serial console\n"
	       "  --dirty-rate   the guest's dirty rate (MiB/s) over a second\n");
}

static u32 parse_cpu(const char *opt, const char *arg)
{
	u64 v;

	if (!parse_u64(arg, &v) || v > 1023)
		die("debug: %s: '%s' is not a vCPU number", opt, arg);
	return v;
}

int cmd_debug(int argc, char **argv)
{
	struct ctl_debug d = { .cpu = CTL_DEBUG_ALL_CPUS };
	const char *name = NULL;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", debug_options, NULL)) != -1) {
		switch (c) {
		case 'c': d.cpu = parse_cpu("--cpu", optarg); break;
		case 'a': d.cpu = CTL_DEBUG_ALL_CPUS; break;
		case 'd': d.what |= CTL_DEBUG_DUMP; break;
		case 'n':
			d.what |= CTL_DEBUG_NMI;
			d.cpu = parse_cpu("--nmi", optarg);
			break;
		case 's':
			if (strlen(optarg) != 1 || optarg[0] < 0x21 ||
			    optarg[0] > 0x7e)
				die("debug: --sysrq needs one printable character");
			d.what |= CTL_DEBUG_SYSRQ;
			d.sysrq = optarg[0];
			break;
		case 'r': d.what |= CTL_DEBUG_DIRTY_RATE; break;
		case 'h':
			debug__usage();
			return 0;
		case ':':
			die("debug: option %s needs an argument", argv[optind - 1]);
		default:
			die("debug: unknown option '%s' (try 'lkvm debug --help')",
			    argv[optind - 1]);
		}
	}
	if (optind == argc - 1)
		name = argv[optind];
	if (!name || !d.what)
		die("usage: lkvm debug NAME [--cpu N|--all] --dump | --nmi N | "
		    "--sysrq C");
	if ((d.what & CTL_DEBUG_NMI) && (d.what & CTL_DEBUG_DUMP))
		die("debug: --nmi and --dump go in separate calls");
	return ctl__run_simple("debug", name, CTL_DEBUG, &d, sizeof(d));
}

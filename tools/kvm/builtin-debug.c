// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm debug NAME [--cpu N|--all] --dump | --nmi N | --sysrq C
 *
 * --dump parks every vCPU (kvm/pause.h), prints the chosen vCPUs' state
 * (x86/dump.c) and lets them go again.  --nmi injects an NMI into vCPU N
 * (KVM_NMI); --sysrq sends a break and the key on ttyS0 (magic SysRq).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm/builtin.h"
#include "kvm/control.h"
#include "kvm/debug.h"
#include "kvm/kvm-cpu.h"
#include "kvm/kvm.h"
#include "kvm/pause.h"

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
	{ "help",	no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void debug__usage(void)
{
	printf("usage: lkvm debug NAME [--cpu N|--all] --dump | --nmi N | --sysrq C\n"
	       "  --dump         registers, decoded control registers, events, local\n"
	       "                 APIC, code disassembled at RIP, stack, page walks\n"
	       "  --cpu N        only vCPU N (default: --all)\n"
	       "  --nmi N        inject an NMI into vCPU N\n"
	       "  --sysrq C      send magic SysRq C on the serial console\n");
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
